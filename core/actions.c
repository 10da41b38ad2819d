/* actions: plans, their journal and their execution. See actions.h. */
#include "actions.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "model.h"
#include "schema.h"
#include "service.h"
#include "smoke.h"

static const long default_weights[] = {10, 50, 100};

/* snprintf into fixed fields, cut where they end (a step's texts are
 * descriptions, never parsed). */
__attribute__((format(printf, 3, 4)))
static void textf(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

const char *actions_kind_name(enum actions_kind k)
{
	return k == ACTIONS_PROMOTE ? "promote" : "rollback";
}

const char *actions_strategy_name(enum actions_strategy s)
{
	switch (s) {
	case ACTIONS_BLUEGREEN: return "blue-green";
	case ACTIONS_CANARY: return "canary";
	default: return "rolling";
	}
}

bool actions_strategy_parse(const char *s, enum actions_strategy *out)
{
	if (!s)
		return false;
	if (strcmp(s, "rolling") == 0)
		*out = ACTIONS_ROLLING;
	else if (strcmp(s, "blue-green") == 0 || strcmp(s, "bluegreen") == 0)
		*out = ACTIONS_BLUEGREEN;
	else if (strcmp(s, "canary") == 0)
		*out = ACTIONS_CANARY;
	else
		return false;
	return true;
}

static const char *const state_names[] = {"pending", "running", "done", "skipped", "failed"};

const char *actions_step_state_name(enum actions_step_state s)
{
	return (unsigned)s < 5 ? state_names[s] : "pending";
}

static const char *const op_names[] = {
	"registry-check", "set-image", "undo", "wait-rollout", "pods-ready", "smoke",
	"switch", "weights", "analysis", "scale", "registry-move",
};
#define NOPS (sizeof op_names / sizeof op_names[0])

/* --- building ---------------------------------------------------------------- */

static struct actions_step *add(struct actions_plan *p, enum actions_op op,
				const char *target, const char *value, long number)
{
	if (p->nsteps >= ACTIONS_MAX_STEPS)
		return NULL;
	struct actions_step *s = &p->steps[p->nsteps++];
	memset(s, 0, sizeof *s);
	s->op = op;
	textf(s->target, sizeof s->target, "%s", target ? target : "");
	textf(s->value, sizeof s->value, "%s", value ? value : "");
	s->number = number;
	return s;
}

#define SAY(field, ...) textf(s->field, sizeof s->field, __VA_ARGS__)

static void step_set_image(struct actions_plan *p, const char *dep, const char *ctr,
			   const char *image)
{
	struct actions_step *s = add(p, ACTIONS_OP_SET_IMAGE, dep, image, 0);
	if (!s)
		return;
	textf(s->aux, sizeof s->aux, "%s", ctr);
	SAY(description, "set image of deployment %s/%s to %s", p->namespace, dep, image);
	SAY(precondition, "deployment %s exists and is not paused", dep);
	SAY(check, "the pod template's container %s runs %s", ctr, image);
}

static void step_wait(struct actions_plan *p, const char *dep, const char *image)
{
	struct actions_step *s = add(p, ACTIONS_OP_WAIT_ROLLOUT, dep, image, 0);
	if (!s)
		return;
	SAY(description, "wait for the rollout of %s to complete (as kubectl rollout status)", dep);
	SAY(precondition, "the template runs %s", image);
	SAY(check, "rollout complete: all replicas updated and available");
}

static void step_smoke(struct actions_plan *p, const char *svc, const char *version,
		       long percent)
{
	struct actions_step *s = add(p, ACTIONS_OP_SMOKE, svc, version, percent);
	if (!s)
		return;
	SAY(description, "smoke test through Service %s: /health, /model/info names %s", svc,
	    version);
	SAY(precondition, "Service %s has ready endpoints", svc);
	SAY(check, "healthy, and at least %ld%% of answers name version %s", percent, version);
}

static void step_registry(struct actions_plan *p, const char *version, const char *lkg)
{
	struct actions_step *s = add(p, ACTIONS_OP_REGISTRY_MOVE, "", version, 0);
	if (!s)
		return;
	textf(s->aux, sizeof s->aux, "%s", lkg ? lkg : "");
	if (lkg && *lkg)
		SAY(description, "registry: %s to %s; last-known-good -> %s", version, p->env, lkg);
	else
		SAY(description, "registry: %s to %s (stage and aliases, with history)", version,
		    p->env);
	SAY(precondition, "version %s is READY with an intact artifact", version);
	SAY(check, "the registry's %s stage holds %s", p->env, version);
}

static void step_switch(struct actions_plan *p, const char *svc, const char *colour)
{
	struct actions_step *s = add(p, ACTIONS_OP_SWITCH, svc, colour, 0);
	if (!s)
		return;
	SAY(description, "switch Service %s to the %s colour", svc, colour);
	SAY(precondition, "deployment of colour %s is ready", colour);
	SAY(check, "the Service selects %s", colour);
}

static void step_weights(struct actions_plan *p, const char *vs, long canary)
{
	struct actions_step *s = add(p, ACTIONS_OP_WEIGHTS, vs, "", canary);
	if (!s)
		return;
	SAY(description, "VirtualService %s: stable %ld%%, canary %ld%%", vs, 100 - canary, canary);
	SAY(precondition, "routes name subsets stable and canary");
	SAY(check, "the weights read back as stable %ld, canary %ld", 100 - canary, canary);
}

static void step_scale(struct actions_plan *p, const char *dep, long n)
{
	struct actions_step *s = add(p, ACTIONS_OP_SCALE, dep, "", n);
	if (!s)
		return;
	SAY(description, "scale deployment %s to %ld replica%s", dep, n, n == 1 ? "" : "s");
	SAY(precondition, "deployment %s exists", dep);
	if (n == 0)
		SAY(check, "spec.replicas is 0 and its pods are gone");
	else
		SAY(check, "spec.replicas is %ld, no more pods than that", n);
}

static void colour_dep(const struct envs_env *env, const char *colour, char *buf, size_t n)
{
	textf(buf, n, "%s-%s", env->deployment, colour);
}

static void canary_dep(const struct envs_env *env, char *buf, size_t n)
{
	textf(buf, n, "%s-canary", env->deployment);
}

static enum registry_stage env_stage(const char *env)
{
	return strcmp(env, "production") == 0 ? REGISTRY_STAGE_PRODUCTION : REGISTRY_STAGE_STAGING;
}

/* The image deployment DEP's first container runs, newly allocated. */
static int dep_image(struct actions_ctx *c, const char *dep, char **image, struct err *e)
{
	struct kube_deployment d = {0};
	int rc = kube_get_deployment(c->kube, c->env->namespace, dep, &d, e);
	if (rc)
		return rc;
	const char *img = NULL;
	for (size_t i = 0; i < d.ncontainers; i++)
		if (strcmp(d.containers[i].name, c->env->container) == 0)
			img = d.containers[i].image;
	if (!img && d.ncontainers)
		img = d.containers[0].image;
	*image = strdup(img ? img : "");
	kube_deployment_finish(&d);
	return *image ? 0 : err_set(e, EXIT_BACKEND, "out of memory");
}

static int live_colour(struct actions_ctx *c, char **colour, struct err *e)
{
	char *sel = NULL;
	*colour = NULL;
	int rc = kube_service_selector(c->kube, c->env->namespace, c->env->service, &sel,
				       c->env->colour_key, colour, e);
	free(sel);
	if (!rc && !*colour)
		rc = err_set(e, EXIT_CHECK, "Service %s/%s has no '%s' key in its selector",
			     c->env->namespace, c->env->service, c->env->colour_key);
	return rc;
}

int actions_serving(struct actions_ctx *c, enum actions_strategy s, char **version,
		    char **image, struct err *e)
{
	*version = *image = NULL;
	char dep[160];
	int rc = 0;
	if (s == ACTIONS_BLUEGREEN) {
		char *colour = NULL;
		if ((rc = live_colour(c, &colour, e)))
			return rc;
		colour_dep(c->env, colour, dep, sizeof dep);
		free(colour);
	} else {
		textf(dep, sizeof dep, "%s", c->env->deployment);
	}
	if ((rc = dep_image(c, dep, image, e)))
		return rc;
	char *v = envs_version_from_image(c->env->image_template, *image);
	*version = v ? v : strdup("");
	if (!*version) {
		free(*image);
		*image = NULL;
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	return 0;
}

int actions_last_strategy(struct store *st, const char *env, enum actions_strategy *out,
			  bool *found, struct err *e)
{
	struct store_plan *v = NULL;
	size_t n = 0;
	*found = false;
	int rc = store_plan_list(st, "done", 100, &v, &n, e);
	for (size_t i = n; !rc && i-- > 0 && !*found;) {
		if (strcmp(v[i].env, env) != 0 || !actions_strategy_parse(v[i].strategy, out))
			continue;
		cJSON *o = json_parse(v[i].plan_json, strlen(v[i].plan_json), "journal", NULL);
		*found = o && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "registry_only"));
		cJSON_Delete(o);
	}
	store_plans_free(v, n);
	return rc;
}

/* Registry only: "before" is the version holding the environment's stage in
 * the registry ("" when none does); there is no image to speak of. */
static int registry_holder_label(struct actions_ctx *c, struct actions_plan *p,
				 struct err *e)
{
	struct registry_version cur = {0};
	bool found = false;
	int rc = registry_stage_holder(c->reg, env_stage(c->env->name), &cur, &found, e);
	if (!rc && found)
		textf(p->from_version, sizeof p->from_version, "%s",
		      cur.label[0] ? cur.label : cur.version);
	registry_version_finish(&cur);
	return rc;
}

static int plan_init(struct actions_ctx *c, struct actions_plan *p, enum actions_kind k,
		     enum actions_strategy s, const char *version, const char *actor,
		     const char *reason, struct err *e)
{
	memset(p, 0, sizeof *p);
	p->kind = k;
	p->strategy = s;
	textf(p->env, sizeof p->env, "%s", c->env->name);
	textf(p->namespace, sizeof p->namespace, "%s", c->env->namespace);
	textf(p->version, sizeof p->version, "%s", version);
	textf(p->actor, sizeof p->actor, "%s", actor ? actor : "unknown");
	textf(p->reason, sizeof p->reason, "%s", reason ? reason : "");
	char *img = envs_image_for(c->env->image_template, version);
	if (!img)
		return err_set(e, EXIT_BACKEND, "out of memory");
	textf(p->image, sizeof p->image, "%s", img);
	free(img);
	p->registry_only = c->registry_only;
	if (c->registry_only)
		return registry_holder_label(c, p, e);
	char *fv = NULL, *fi = NULL;
	int rc = actions_serving(c, s, &fv, &fi, e);
	if (rc)
		return err_prefix(e, "reading what %s serves", c->env->name);
	textf(p->from_version, sizeof p->from_version, "%s", fv);
	textf(p->from_image, sizeof p->from_image, "%s", fi);
	free(fv);
	free(fi);
	return 0;
}

/* The registry's refusals for V, before any cluster change. */
static int registry_checks(struct actions_ctx *c, const char *version, bool production,
			   bool override, const char *reason, char *detail, size_t n,
			   struct err *e)
{
	struct registry_version v = {0};
	int rc = registry_get(c->reg, version, &v, e);
	if (rc)
		return rc;
	if (strcmp(v.status, "READY") != 0) {
		rc = err_set(e, EXIT_CHECK, "version %s is %s, not READY", version, v.status);
		goto out;
	}
	if ((rc = registry_verify(c->reg, &v, e)))
		goto out;
	const char *verdict = v.verdict;
	struct store_checklist_run run = {0};
	bool found = false;
	if (store_last_checklist_run(c->st, v.sha256, &run, &found, e) == 0 && found)
		verdict = run.verdict;
	if (production && strcmp(verdict, "pass") != 0) {
		if (!override) {
			rc = err_set(e, EXIT_CHECK,
				     "version %s: checklist verdict is %s, not pass "
				     "(--override --reason TEXT to promote anyway)",
				     version, verdict[0] ? verdict : "none");
		} else if (!reason || !*reason) {
			rc = err_set(e, EXIT_CHECK, "--override needs a --reason");
		} else {
			textf(detail, n, "READY, sha256 %.12s intact, verdict %s overridden: %s",
				 v.sha256, verdict[0] ? verdict : "none", reason);
		}
	} else {
		textf(detail, n, "READY, sha256 %.12s intact, verdict %s", v.sha256,
			 verdict[0] ? verdict : "none");
	}
	store_checklist_run_finish(&run);
out:
	registry_version_finish(&v);
	return rc;
}

/* The cluster half of a promotion by strategy S (the registry move follows). */
static int promote_cluster_steps(struct actions_ctx *c, enum actions_strategy s,
				 struct actions_plan *p, struct err *e)
{
	int rc = 0;
	const struct envs_env *env = c->env;
	char dep[160];
	switch (s) {
	case ACTIONS_ROLLING:
		step_set_image(p, env->deployment, env->container, p->image);
		step_wait(p, env->deployment, p->image);
		step_smoke(p, env->deployment, p->version, 50);
		break;
	case ACTIONS_BLUEGREEN: {
		char *live = NULL;
		if ((rc = live_colour(c, &live, e)))
			return rc;
		const char *idle = strcmp(live, "blue") == 0 ? "green" : "blue";
		colour_dep(env, idle, dep, sizeof dep);
		step_set_image(p, dep, env->container, p->image);
		step_wait(p, dep, p->image);
		struct actions_step *x = add(p, ACTIONS_OP_PODS_READY, dep, p->image, 0);
		textf(x->description, sizeof x->description,
			 "smoke the idle colour %s: every pod of %s ready on %s "
			 "(no Service reaches it before the switch)", idle, dep, p->image);
		textf(x->precondition, sizeof x->precondition, "rollout of %s complete", dep);
		textf(x->check, sizeof x->check, "all pods ready, all on %s", p->image);
		step_switch(p, env->service, idle);
		step_smoke(p, env->service, p->version, 100);
		free(live);
		break;
	}
	case ACTIONS_CANARY: {
		canary_dep(env, dep, sizeof dep);
		const long *w = c->weights ? c->weights : default_weights;
		size_t nw = c->weights ? c->nweights : 3;
		double interval = c->analysis_s > 0 ? c->analysis_s : 60;
		step_weights(p, env->virtualservice, 0);
		step_scale(p, dep, 1);
		step_set_image(p, dep, env->container, p->image);
		step_wait(p, dep, p->image);
		for (size_t i = 0; i < nw; i++) {
			step_weights(p, env->virtualservice, w[i]);
			struct actions_step *x = add(p, ACTIONS_OP_ANALYSIS, dep, "",
						     (long)interval);
			if (!x)
				break;
			if (c->prom && !c->skip_analysis)
				textf(x->description, sizeof x->description,
					 "analysis at %ld%%: wait %.0f s, compare canary with "
					 "stable on the configured metrics", w[i], interval);
			else
				textf(x->description, sizeof x->description,
					 "analysis at %ld%%: wait %.0f s, canary pods stay ready "
					 "(no metric comparison: no Prometheus)", w[i], interval);
			textf(x->precondition, sizeof x->precondition, "canary serves %ld%%",
				 w[i]);
			textf(x->check, sizeof x->check,
				 "canary no worse than stable beyond each metric's margin");
		}
		step_set_image(p, env->deployment, env->container, p->image);
		step_wait(p, env->deployment, p->image);
		step_weights(p, env->virtualservice, 0);
		step_scale(p, dep, 0);
		step_smoke(p, env->deployment, p->version, 100);
		break;
	}
	}
	return 0;
}

int actions_build_promote(struct actions_ctx *c, enum actions_strategy s,
			  const char *version, const char *actor, const char *reason,
			  bool override, struct actions_plan *p, struct err *e)
{
	bool prod = env_stage(c->env->name) == REGISTRY_STAGE_PRODUCTION;
	char detail[300] = "";
	int rc = registry_checks(c, version, prod, override, reason, detail, sizeof detail, e);
	if (rc)
		return rc;
	struct registry_version rv = {0};
	if ((rc = registry_get(c->reg, version, &rv, e)))
		return rc;
	rc = plan_init(c, p, ACTIONS_PROMOTE, s, rv.label[0] ? rv.label : version, actor,
		       reason, e);
	registry_version_finish(&rv);
	if (rc)
		return rc;
	p->override = override;
	struct actions_step *st = add(p, ACTIONS_OP_REGISTRY_CHECK, "", p->version, 0);
	textf(st->description, sizeof st->description,
		 "registry checks for %s: READY, artifact sha256, checklist verdict%s",
		 p->version, override ? " (override)" : "");
	textf(st->precondition, sizeof st->precondition, "version %s is registered",
		 p->version);
	textf(st->check, sizeof st->check, "%s", detail);

	if (!c->registry_only && (rc = promote_cluster_steps(c, s, p, e)))
		return rc;
	step_registry(p, p->version,
		      prod && p->from_version[0] && strcmp(p->from_version, p->version) != 0
			      ? p->from_version : NULL);
	if (p->nsteps >= ACTIONS_MAX_STEPS)
		return err_set(e, EXIT_INPUT, "the plan has too many steps");
	return 0;
}

/* The newest revision of DEP (not the current one) whose template runs IMAGE. */
static int revision_running(struct actions_ctx *c, const char *dep, const char *image,
			    long *rev, struct err *e)
{
	*rev = 0;
	struct kube_deployment d = {0};
	int rc = kube_get_deployment(c->kube, c->env->namespace, dep, &d, e);
	if (rc)
		return rc;
	struct kube_history h = {0};
	rc = kube_history(c->kube, &d, &h, e);
	if (!rc) {
		size_t il = strlen(image);
		for (size_t i = 0; i < h.n; i++) {
			const char *imgs = h.revs[i].images ? h.revs[i].images : "";
			const char *eq = strchr(imgs, '=');
			const char *img = eq ? eq + 1 : imgs;
			if (!h.revs[i].current && strncmp(img, image, il) == 0 &&
			    (img[il] == '\0' || img[il] == ','))
				*rev = h.revs[i].revision;
		}
		kube_history_finish(&h);
	}
	kube_deployment_finish(&d);
	return rc;
}

/* "previous" for a stage other than production (the registry's rollback
 * targets are production's): the version that held STAGE just before its
 * current holder, from the promotion history. */
static int previous_holder(struct actions_ctx *c, enum registry_stage stage,
			   struct registry_version *out, struct err *e)
{
	const char *name = registry_stage_name(stage);
	struct registry_version cur = {0};
	bool found = false;
	int rc = registry_stage_holder(c->reg, stage, &cur, &found, e);
	if (rc)
		return rc;
	if (!found)
		return err_set(e, EXIT_CHECK, "no version holds %s: nothing to go back from", name);
	struct store_reg_event *ev = NULL;
	size_t n = 0;
	char *prev = NULL;
	rc = registry_history(c->reg, &ev, &n, e);
	for (size_t i = n; !rc && i-- > 0;) {
		if (strcmp(ev[i].kind, "stage") == 0 && strcmp(ev[i].name, name) == 0 &&
		    strcmp(ev[i].to_version, cur.version) == 0 && ev[i].from_version[0]) {
			prev = strdup(ev[i].from_version);
			break;
		}
	}
	store_reg_events_free(ev, n);
	registry_version_finish(&cur);
	if (rc)
		return rc;
	if (!prev)
		return err_set(e, EXIT_CHECK, "no previous %s version in the history", name);
	rc = registry_get(c->reg, prev, out, e);
	if (!rc)
		rc = registry_verify(c->reg, out, e);
	free(prev);
	return rc;
}

/* The cluster half of a rollback by strategy S (the registry move follows). */
static int rollback_cluster_steps(struct actions_ctx *c, enum actions_strategy s,
				  struct actions_plan *p, struct err *e)
{
	int rc = 0;
	const struct envs_env *env = c->env;
	char dep[160];
	switch (s) {
	case ACTIONS_ROLLING: {
		long rev = 0;
		if ((rc = revision_running(c, env->deployment, p->image, &rev, e)))
			return rc;
		if (rev > 0) {
			struct actions_step *x = add(p, ACTIONS_OP_UNDO, env->deployment, p->image,
						     rev);
			textf(x->description, sizeof x->description,
				 "undo deployment %s/%s to revision %ld (it ran %s)", p->namespace,
				 env->deployment, rev, p->image);
			textf(x->precondition, sizeof x->precondition,
				 "revision %ld still exists, deployment not paused", rev);
			textf(x->check, sizeof x->check, "the template runs %s", p->image);
		} else {
			step_set_image(p, env->deployment, env->container, p->image);
		}
		step_wait(p, env->deployment, p->image);
		step_smoke(p, env->deployment, p->version, 50);
		break;
	}
	case ACTIONS_BLUEGREEN: {
		char *live = NULL, *other_img = NULL;
		if ((rc = live_colour(c, &live, e)))
			return rc;
		const char *idle = strcmp(live, "blue") == 0 ? "green" : "blue";
		colour_dep(env, idle, dep, sizeof dep);
		rc = dep_image(c, dep, &other_img, e);
		if (!rc) {
			if (strcmp(other_img, p->image) != 0) {
				step_set_image(p, dep, env->container, p->image);
				step_wait(p, dep, p->image);
			}
			struct actions_step *x = add(p, ACTIONS_OP_PODS_READY, dep, p->image, 0);
			textf(x->description, sizeof x->description,
				 "the %s colour (%s) is ready on %s", idle, dep, p->image);
			textf(x->precondition, sizeof x->precondition, "deployment %s exists", dep);
			textf(x->check, sizeof x->check, "all pods ready on %s", p->image);
			step_switch(p, env->service, idle);
			step_smoke(p, env->service, p->version, 100);
		}
		free(live);
		free(other_img);
		if (rc)
			return rc;
		break;
	}
	case ACTIONS_CANARY:
		canary_dep(env, dep, sizeof dep);
		step_weights(p, env->virtualservice, 0);
		step_set_image(p, env->deployment, env->container, p->image);
		step_wait(p, env->deployment, p->image);
		step_scale(p, dep, 0);
		step_smoke(p, env->deployment, p->version, 100);
		break;
	}
	return 0;
}

int actions_build_rollback(struct actions_ctx *c, enum actions_strategy s,
			   const char *target, const char *actor, const char *reason,
			   struct actions_plan *p, struct err *e)
{
	struct registry_version tv = {0};
	int rc = env_stage(c->env->name) != REGISTRY_STAGE_PRODUCTION &&
			 strcmp(target, "previous") == 0
		 ? previous_holder(c, env_stage(c->env->name), &tv, e)
		 : registry_rollback_target(c->reg, target, &tv, e);
	if (rc)
		return rc;
	rc = plan_init(c, p, ACTIONS_ROLLBACK, s, tv.label[0] ? tv.label : tv.version, actor,
		       reason, e);
	registry_version_finish(&tv);
	if (rc)
		return rc;
	textf(p->target_arg, sizeof p->target_arg, "%s", target);
	p->override = true;
	if (!p->reason[0])
		textf(p->reason, sizeof p->reason, "rollback (%s) from %s", target,
			 p->from_version[0] ? p->from_version : "?");
	struct actions_step *st = add(p, ACTIONS_OP_REGISTRY_CHECK, "", p->version, 0);
	textf(st->description, sizeof st->description,
		 "registry: rollback target %s is %s (READY, artifact sha256 intact)", target,
		 p->version);
	textf(st->precondition, sizeof st->precondition, "version %s is registered", p->version);
	textf(st->check, sizeof st->check, "READY and intact");
	if (!c->registry_only && (rc = rollback_cluster_steps(c, s, p, e)))
		return rc;
	step_registry(p, p->version, NULL);
	return 0;
}

/* --- JSON ---------------------------------------------------------------------- */

cJSON *actions_plan_json(const struct actions_plan *p)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddNumberToObject(o, "id", (double)p->id);
	cJSON_AddStringToObject(o, "kind", actions_kind_name(p->kind));
	cJSON_AddStringToObject(o, "strategy", actions_strategy_name(p->strategy));
	cJSON_AddStringToObject(o, "env", p->env);
	cJSON_AddStringToObject(o, "namespace", p->namespace);
	cJSON_AddStringToObject(o, "version", p->version);
	cJSON_AddStringToObject(o, "target", p->target_arg);
	cJSON_AddStringToObject(o, "from_version", p->from_version);
	cJSON_AddStringToObject(o, "from_image", p->from_image);
	cJSON_AddStringToObject(o, "image", p->image);
	cJSON_AddStringToObject(o, "actor", p->actor);
	cJSON_AddStringToObject(o, "reason", p->reason);
	cJSON_AddBoolToObject(o, "override", p->override);
	cJSON_AddBoolToObject(o, "trigger", p->trigger);
	cJSON_AddBoolToObject(o, "registry_only", p->registry_only);
	cJSON_AddStringToObject(o, "detail", p->outcome_detail);
	cJSON *a = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; a && i < p->nsteps; i++) {
		const struct actions_step *s = &p->steps[i];
		cJSON *x = cJSON_CreateObject();
		if (!x)
			break;
		cJSON_AddStringToObject(x, "op", op_names[s->op]);
		cJSON_AddStringToObject(x, "target", s->target);
		cJSON_AddStringToObject(x, "value", s->value);
		cJSON_AddStringToObject(x, "aux", s->aux);
		cJSON_AddNumberToObject(x, "number", (double)s->number);
		cJSON_AddStringToObject(x, "description", s->description);
		cJSON_AddStringToObject(x, "precondition", s->precondition);
		cJSON_AddStringToObject(x, "check", s->check);
		cJSON_AddStringToObject(x, "state", actions_step_state_name(s->state));
		cJSON_AddStringToObject(x, "result", s->result);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

static void copy_str(char *dst, size_t n, const cJSON *o, const char *key)
{
	const char *v = json_str(o, key);
	textf(dst, n, "%s", v ? v : "");
}

int actions_plan_from_json(const cJSON *o, struct actions_plan *p, struct err *e)
{
	memset(p, 0, sizeof *p);
	const char *kind = json_str(o, "kind"), *strategy = json_str(o, "strategy");
	if (!kind || !strategy || !actions_strategy_parse(strategy, &p->strategy))
		return err_set(e, EXIT_INPUT, "journal: a plan without kind or strategy");
	p->kind = strcmp(kind, "rollback") == 0 ? ACTIONS_ROLLBACK : ACTIONS_PROMOTE;
	p->id = (long long)json_num(o, "id", 0);
	copy_str(p->env, sizeof p->env, o, "env");
	copy_str(p->namespace, sizeof p->namespace, o, "namespace");
	copy_str(p->version, sizeof p->version, o, "version");
	copy_str(p->target_arg, sizeof p->target_arg, o, "target");
	copy_str(p->from_version, sizeof p->from_version, o, "from_version");
	copy_str(p->from_image, sizeof p->from_image, o, "from_image");
	copy_str(p->image, sizeof p->image, o, "image");
	copy_str(p->actor, sizeof p->actor, o, "actor");
	copy_str(p->reason, sizeof p->reason, o, "reason");
	copy_str(p->outcome_detail, sizeof p->outcome_detail, o, "detail");
	p->override = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "override"));
	p->trigger = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "trigger"));
	p->registry_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "registry_only"));
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(o, "steps"), *x;
	cJSON_ArrayForEach(x, steps) {
		if (p->nsteps >= ACTIONS_MAX_STEPS)
			return err_set(e, EXIT_INPUT, "journal: too many steps");
		struct actions_step *s = &p->steps[p->nsteps];
		const char *op = json_str(x, "op");
		size_t k = 0;
		while (op && k < NOPS && strcmp(op_names[k], op) != 0)
			k++;
		if (!op || k == NOPS)
			return err_set(e, EXIT_INPUT, "journal: unknown step '%s'", op ? op : "");
		s->op = (enum actions_op)k;
		copy_str(s->target, sizeof s->target, x, "target");
		copy_str(s->value, sizeof s->value, x, "value");
		copy_str(s->aux, sizeof s->aux, x, "aux");
		/* The journal is our own, but a damaged one must not make the
		 * cast undefined: numbers outside long's range are refused. */
		double number = json_num(x, "number", 0);
		if (!(number >= -1e15 && number <= 1e15))
			return err_set(e, EXIT_INPUT, "journal: step number %g out of range", number);
		s->number = (long)number;
		copy_str(s->description, sizeof s->description, x, "description");
		copy_str(s->precondition, sizeof s->precondition, x, "precondition");
		copy_str(s->check, sizeof s->check, x, "check");
		copy_str(s->result, sizeof s->result, x, "result");
		const char *state = json_str(x, "state");
		for (int i = 0; state && i < 5; i++)
			if (strcmp(state_names[i], state) == 0)
				s->state = (enum actions_step_state)i;
		p->nsteps++;
	}
	return 0;
}

/* --- locks ----------------------------------------------------------------------- */

bool actions_lock_stale(const struct store_lock *l)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	if (strcmp(host, l->host) != 0 || l->pid <= 0)
		return false;
	return kill((pid_t)l->pid, 0) != 0 && errno == ESRCH;
}

static void human_age(double s, char *buf, size_t n)
{
	if (s < 120)
		textf(buf, n, "%.0fs", s);
	else if (s < 7200)
		textf(buf, n, "%.0fm", s / 60);
	else
		textf(buf, n, "%.1fh", s / 3600);
}

int actions_lock(struct store *st, const char *env, long long plan_id, const char *owner,
		 char *notice, size_t notice_size, struct err *e)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	struct store_lock want = {
		.env = (char *)env, .plan_id = plan_id, .owner = (char *)owner,
		.pid = (long)getpid(), .host = host,
	};
	long expect = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct store_lock holder = {0};
		bool taken = false;
		int rc = store_lock_take(st, &want, expect, &holder, &taken, e);
		if (rc)
			return rc;
		if (taken)
			return 0;
		char age[32];
		human_age(holder.age_s, age, sizeof age);
		if (holder.pid == (long)getpid() && strcmp(holder.host, host) == 0) {
			store_lock_finish(&holder);
			return 0;
		}
		if (attempt == 0 && actions_lock_stale(&holder)) {
			if (notice)
				textf(notice, notice_size,
					 "took over the %s lock of %s (pid %ld on %s, plan %lld, "
					 "started %s ago): that process is gone",
					 env, holder.owner, holder.pid, holder.host, holder.plan_id,
					 age);
			expect = holder.pid;
			store_lock_finish(&holder);
			continue;
		}
		rc = err_set(e, EXIT_CHECK,
			     "%s is locked by %s (pid %ld on %s, plan %lld, for %s); "
			     "one plan per environment at a time", env, holder.owner,
			     holder.pid, holder.host, holder.plan_id, age);
		store_lock_finish(&holder);
		return rc;
	}
	return err_set(e, EXIT_CHECK, "%s: could not take the lock", env);
}

int actions_unlock(struct store *st, const char *env, struct err *e)
{
	return store_lock_release(st, env, (long)getpid(), e);
}

/* --- executing -------------------------------------------------------------------- */

static void sleep_s(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int template_image(struct actions_ctx *c, const char *dep, char **image,
			  struct kube_deployment *out, struct err *e)
{
	struct kube_deployment d = {0};
	int rc = kube_get_deployment(c->kube, c->env->namespace, dep, &d, e);
	if (rc)
		return rc;
	const char *img = d.ncontainers ? d.containers[0].image : "";
	for (size_t i = 0; i < d.ncontainers; i++)
		if (strcmp(d.containers[i].name, c->env->container) == 0)
			img = d.containers[i].image;
	*image = strdup(img);
	if (out)
		*out = d;
	else
		kube_deployment_finish(&d);
	return *image ? 0 : err_set(e, EXIT_BACKEND, "out of memory");
}

static int do_set_image(struct actions_ctx *c, struct actions_plan *p,
			struct actions_step *s, struct err *e)
{
	char *cur = NULL;
	int rc = template_image(c, s->target, &cur, NULL, e);
	if (rc)
		return rc;
	bool same = strcmp(cur, s->value) == 0;
	free(cur);
	if (same) {
		textf(s->result, sizeof s->result, "already so: %s runs %s", s->target, s->value);
		return -1;
	}
	char *ver = envs_version_from_image(c->env->image_template, s->value);
	rc = kube_set_image(c->kube, c->env->namespace, s->target,
			    s->aux[0] ? s->aux : c->env->container, s->value,
			    ver ? ver : p->version, p->actor, e);
	free(ver);
	if (!rc)
		textf(s->result, sizeof s->result, "%s now runs %s", s->target, s->value);
	return rc;
}

static int do_undo(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	char *cur = NULL;
	int rc = template_image(c, s->target, &cur, NULL, e);
	if (rc)
		return rc;
	bool same = strcmp(cur, s->value) == 0;
	free(cur);
	if (same) {
		textf(s->result, sizeof s->result, "already so: %s runs %s", s->target, s->value);
		return -1;
	}
	struct kube_undo_result r = {0};
	struct err ue = {0};
	rc = kube_undo(c->kube, c->env->namespace, s->target, s->number, &r, &ue);
	if (rc == EXIT_CHECK) {
		/* The revision is gone (resumed after a rollout, history trimmed):
		 * setting the image has the same effect. */
		rc = kube_set_image(c->kube, c->env->namespace, s->target, c->env->container,
				    s->value, NULL, "churnops", e);
		if (!rc)
			textf(s->result, sizeof s->result,
				 "revision %ld gone (%s): set image %s instead", s->number,
				 ue.msg, s->value);
		return rc;
	}
	if (rc) {
		*e = ue;
		return rc;
	}
	textf(s->result, sizeof s->result, "undone from revision %ld to revision %ld",
		 r.from_revision, r.to_revision);
	return 0;
}

static int do_wait(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	char *cur = NULL;
	int rc = template_image(c, s->target, &cur, NULL, e);
	if (rc)
		return rc;
	bool same = strcmp(cur, s->value) == 0;
	if (!same) {
		rc = err_set(e, EXIT_CHECK, "%s runs %s, not %s", s->target, cur, s->value);
		free(cur);
		return rc;
	}
	free(cur);
	struct kube_rollout r = {0};
	rc = kube_rollout_wait(c->kube, c->env->namespace, s->target, 0,
			       c->timeout_s > 0 ? c->timeout_s : 600, NULL, NULL, &r, e);
	if (rc)
		return err_prefix(e, "rollout of %s", s->target);
	textf(s->result, sizeof s->result, "%s", r.message);
	return 0;
}

static int do_pods_ready(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	char *cur = NULL;
	struct kube_deployment d = {0};
	int rc = template_image(c, s->target, &cur, &d, e);
	if (rc)
		return rc;
	struct kube_pods pods = {0};
	if (strcmp(cur, s->value) != 0) {
		rc = err_set(e, EXIT_CHECK, "%s runs %s, not %s", s->target, cur, s->value);
		goto out;
	}
	if ((rc = kube_list_pods(c->kube, c->env->namespace, d.selector, &pods, e)))
		goto out;
	size_t ready = 0, on = 0;
	for (size_t i = 0; i < pods.n; i++) {
		if (pods.pods[i].image && strcmp(pods.pods[i].image, s->value) == 0) {
			on++;
			if (pods.pods[i].ready)
				ready++;
		}
	}
	long want = d.has_spec_replicas ? d.spec_replicas : 1;
	if ((long)ready < want || on != pods.n) {
		rc = err_set(e, EXIT_CHECK, "%s: %zu of %ld pods ready on %s (%zu pods in all)",
			     s->target, ready, want, s->value, pods.n);
		goto out;
	}
	textf(s->result, sizeof s->result, "%zu pods ready on %s", ready, s->value);
out:
	kube_pods_finish(&pods);
	kube_deployment_finish(&d);
	free(cur);
	return rc;
}

/* core/smoke's predict check through Service S->target against the local
 * engine for version S->value, when its artifact is a readable local file
 * (the embedded registry); otherwise NOTE says it was not run. */
static int predict_smoke(struct actions_ctx *c, struct actions_step *s, char *note,
			 size_t n, struct err *e)
{
	struct registry_version v = {0};
	struct schema *sch = NULL;
	struct model *m = NULL;
	struct service *svc = NULL;
	cJSON *records = NULL, *sj = NULL;
	float *rows = NULL;
	size_t nrec = 0;
	int rc = 0;
	if (!c->reg || registry_get(c->reg, s->value, &v, NULL) != 0 || !v.source[0] ||
	    access(v.source, R_OK) != 0 || !v.schema_json[0]) {
		textf(note, n, "predictions not compared (no local artifact for %s)", s->value);
		goto out;
	}
	if (!(sj = json_parse(v.schema_json, strlen(v.schema_json), "registry schema", e)) ||
	    !(sch = schema_parse(sj, "registry schema", e)) ||
	    !(m = model_load(v.source, sch, e))) {
		rc = e->code ? e->code : EXIT_INPUT;
		err_prefix(e, "smoke: the local engine for %s", s->value);
		goto out;
	}
	if ((rc = service_records_from_schema(sch, 20, &records, &rows, &nrec, e)))
		goto out;
	if ((rc = service_open_kube(c->service_kc, c->env->namespace, s->target, 10000, &svc, e)))
		goto out;
	struct smoke_opts o = {
		.expected_version = s->value, .model = m, .schema = sch, .records = records,
		.rows = rows, .nrecords = nrec,
	};
	struct smoke_result r;
	memset(&r, 0, sizeof r);
	rc = smoke_run(svc, &o, &r, e);
	if (rc)
		err_prefix(e, "smoke through Service %s", s->target);
	else
		textf(note, n, "%zu predictions match the local engine (max diff %.2g)", r.rows,
		      r.max_diff);
out:
	service_destroy(svc);
	cJSON_Delete(records);
	cJSON_Delete(sj);
	free(rows);
	model_destroy(m);
	schema_destroy(sch);
	registry_version_finish(&v);
	return rc;
}

/* The smoke test: health and version through the Service proxy, several
 * answers (a Service may spread requests over pods of several versions). */
static int do_smoke(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	if (!c->service_kc)
		return err_set(e, EXIT_INPUT, "smoke: no kubeconfig for the service proxy");
	struct service *svc = NULL;
	int rc = 0;
	size_t tries = 8, named = 0;
	char seen[128] = "";
	/* A fresh rollout may leave a moment without endpoints: retry briefly.
	 * The Service may also reach pods of another version, for a moment
	 * (terminating ones) or for good (a canary's, which the mesh keeps
	 * from traffic by weight but the API server's proxy does not): the
	 * answers are drawn at random, so a sample short of the share is
	 * drawn again, for about ten seconds (old pods of a finished rollout
	 * may take that long to go on a busy cluster), before the step
	 * fails. */
	for (int attempt = 0; attempt < 20; attempt++) {
		named = 0;
		rc = service_open_kube(c->service_kc, c->env->namespace, s->target, 5000, &svc, e);
		if (rc)
			return rc;
		for (size_t i = 0; i < tries && !rc; i++) {
			struct service_health h;
			struct service_info info;
			rc = service_health(svc, &h, e);
			if (!rc)
				rc = service_model_info(svc, &info, e);
			if (!rc) {
				if (strcmp(info.version, s->value) == 0)
					named++;
				else
					textf(seen, sizeof seen, "%s", info.version);
			}
		}
		service_destroy(svc);
		svc = NULL;
		if (!rc && ((long)(named * 100) >= s->number * (long)tries || attempt >= 19))
			break;
		sleep_s(0.5);
	}
	if (rc)
		return err_prefix(e, "smoke through Service %s", s->target);
	if ((long)(named * 100) < s->number * (long)tries)
		return err_set(e, EXIT_CHECK,
			       "smoke through Service %s: %zu of %zu answers named %s "
			       "(others: %s)", s->target, named, tries, s->value, seen);
	textf(s->result, sizeof s->result, "healthy; %zu of %zu answers named %s", named,
	      tries, s->value);
	if (named < tries) {
		size_t l = strlen(s->result);
		textf(s->result + l, sizeof s->result - l, "; predictions not compared: the "
		      "Service also reaches %s", seen);
		return 0;
	}
	/* Every answer is this version's: compare predictions with the local
	 * engine (core/smoke) when the registry's artifact is a local file. */
	char note[300] = "";
	/* Right after a rollout the Service may still reach a terminating
	 * pod of the old version for a moment: a version mismatch there is
	 * retried briefly, like the answers above; skew is not. */
	for (int attempt = 0; attempt < 20; attempt++) {
		rc = predict_smoke(c, s, note, sizeof note, e);
		if (rc != EXIT_CHECK || !strstr(e->msg, "the service runs version"))
			break;
		sleep_s(0.5);
	}
	size_t l = strlen(s->result);
	textf(s->result + l, sizeof s->result - l, "; %s", note);
	return rc;
}

static int do_switch(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	char *live = NULL;
	int rc = live_colour(c, &live, e);
	if (rc)
		return rc;
	bool same = strcmp(live, s->value) == 0;
	if (same) {
		textf(s->result, sizeof s->result, "already so: %s selects %s", s->target, live);
		free(live);
		return -1;
	}
	rc = kube_service_switch(c->kube, c->env->namespace, s->target, c->env->colour_key,
				 s->value, e);
	if (!rc)
		textf(s->result, sizeof s->result, "%s switched from %s to %s", s->target, live,
			 s->value);
	free(live);
	if (rc)
		return rc;
	/* The check: read it back. */
	if ((rc = live_colour(c, &live, e)))
		return rc;
	if (strcmp(live, s->value) != 0)
		rc = err_set(e, EXIT_CHECK, "%s still selects %s", s->target, live);
	free(live);
	return rc;
}

static int read_weights(struct actions_ctx *c, const char *vs, long *stable, long *canary,
			struct err *e)
{
	struct kube_routes r = {0};
	int rc = kube_virtualservice_routes(c->kube, c->env->namespace, vs, &r, e);
	if (rc)
		return rc;
	*stable = *canary = -2;
	for (size_t i = 0; i < r.n; i++) {
		if (r.routes[i].http_index != 0 || !r.routes[i].subset)
			continue;
		long w = r.routes[i].weight < 0 ? 100 : r.routes[i].weight;
		if (strcmp(r.routes[i].subset, ACTIONS_SUBSET_STABLE) == 0)
			*stable = w;
		else if (strcmp(r.routes[i].subset, ACTIONS_SUBSET_CANARY) == 0)
			*canary = w;
	}
	kube_routes_finish(&r);
	if (*stable == -2 || *canary == -2)
		return err_set(e, EXIT_CHECK, "VirtualService %s has no stable and canary subsets in "
			       "its first http route", vs);
	return 0;
}

static int do_weights(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	long st = 0, ca = 0;
	int rc = read_weights(c, s->target, &st, &ca, e);
	if (rc)
		return rc;
	if (ca == s->number && st == 100 - s->number) {
		textf(s->result, sizeof s->result, "already so: stable %ld, canary %ld", st, ca);
		return -1;
	}
	const char *subsets[] = {ACTIONS_SUBSET_STABLE, ACTIONS_SUBSET_CANARY};
	long w[] = {100 - s->number, s->number};
	if ((rc = kube_virtualservice_weights(c->kube, c->env->namespace, s->target, 0, subsets,
					      w, 2, e)))
		return rc;
	if ((rc = read_weights(c, s->target, &st, &ca, e)))
		return rc;
	if (ca != s->number)
		return err_set(e, EXIT_CHECK, "weights read back as stable %ld, canary %ld", st, ca);
	textf(s->result, sizeof s->result, "stable %ld, canary %ld", st, ca);
	return 0;
}

/* Until at most N pods of deployment DEP (its selector SEL) remain, or the
 * rollout timeout: a scaled-down deployment's pods are still endpoints of
 * the Services that select them until they are gone, and the smoke test
 * that follows goes through such a Service. */
static int wait_pods_at_most(struct actions_ctx *c, const char *dep, const char *sel, long n,
			     size_t *left, struct err *e)
{
	double limit = (double)(c->timeout_s > 0 ? c->timeout_s : 600);
	for (double waited = 0;; waited += 0.25) {
		struct kube_pods pods = {0};
		int rc = kube_list_pods(c->kube, c->env->namespace, sel, &pods, e);
		*left = pods.n;
		kube_pods_finish(&pods);
		if (rc || (long)*left <= n)
			return rc;
		if (waited >= limit)
			return err_set(e, EXIT_CHECK, "%s still has %zu pods after %.0f s (want %ld)",
				       dep, *left, limit, n);
		sleep_s(0.25);
	}
}

static int do_scale(struct actions_ctx *c, struct actions_step *s, struct err *e)
{
	struct kube_deployment d = {0};
	int rc = kube_get_deployment(c->kube, c->env->namespace, s->target, &d, e);
	if (rc)
		return rc;
	long cur = d.has_spec_replicas ? d.spec_replicas : 1;
	char *sel = d.selector ? strdup(d.selector) : NULL;
	kube_deployment_finish(&d);
	if (!sel)
		return err_set(e, EXIT_BACKEND, "deployment %s has no selector", s->target);
	size_t left = 0;
	if (cur != s->number)
		rc = kube_scale(c->kube, c->env->namespace, s->target, s->number, e);
	if (!rc)
		rc = wait_pods_at_most(c, s->target, sel, s->number, &left, e);
	free(sel);
	if (rc)
		return rc;
	if (cur == s->number) {
		textf(s->result, sizeof s->result, "already so: %ld replicas (%zu pods)", cur, left);
		return -1;
	}
	textf(s->result, sizeof s->result, "scaled from %ld to %ld (%zu pods)", cur, s->number,
	      left);
	return 0;
}

static int do_analysis(struct actions_ctx *c, struct actions_plan *p, struct actions_step *s,
		       struct err *e)
{
	sleep_s((double)s->number);
	if (!c->prom || c->skip_analysis || !c->tcfg) {
		struct actions_step probe = *s;
		textf(probe.value, sizeof probe.value, "%s", p->image);
		int rc = do_pods_ready(c, &probe, e);
		if (rc)
			return err_prefix(e, "analysis");
		textf(s->result, sizeof s->result, "%s (no metric comparison)", probe.result);
		return 0;
	}
	const struct trigger_env *tenv = triggers_config_env(c->tcfg, c->env->name);
	if (!tenv)
		return err_set(e, EXIT_INPUT, "analysis: no trigger environment %s", c->env->name);
	size_t compared = 0;
	for (size_t i = 0; i < c->tcfg->ndefs; i++) {
		const struct trigger_def *d = &c->tcfg->defs[i];
		if (d->canary_margin < 0 || !d->has_trigger)
			continue;
		struct canary_result r;
		int rc = triggers_canary_compare(c->prom, c->tcfg, d, tenv, p->version,
						 (double)time(NULL), &r, e);
		if (rc)
			return err_prefix(e, "analysis: %s", d->name);
		if (r.verdict == CANARY_WORSE)
			return err_set(e, EXIT_CHECK,
				       "analysis failed: %s canary %.4g vs stable %.4g "
				       "(margin %.4g)", d->name, r.canary, r.stable, r.margin);
		if (r.verdict == CANARY_NODATA)
			return err_set(e, EXIT_CHECK,
				       "analysis failed: %s has no data for %s%s",
				       d->name, r.has_stable ? "" : "stable",
				       r.has_canary ? "" : (r.has_stable ? "canary" : " and canary"));
		compared++;
	}
	textf(s->result, sizeof s->result, "canary no worse than stable on %zu metrics",
		 compared);
	return 0;
}

static int do_registry_move(struct actions_ctx *c, struct actions_plan *p,
			    struct actions_step *s, struct err *e)
{
	enum registry_stage stage = env_stage(p->env);
	struct registry_move m = {
		.actor = p->actor,
		.reason = p->reason[0] ? p->reason : actions_kind_name(p->kind),
		.override = p->override,
	};
	int rc = 0;
	if (s->aux[0]) {
		struct err ae = {0};
		/* The old production version is the last known good one; a
		 * version the registry does not know is left out (noted). */
		if (registry_set_alias(c->reg, REGISTRY_ALIAS_LKG, s->aux, &m, &ae))
			textf(s->result, sizeof s->result, "last-known-good not moved: %s; ",
				 ae.msg);
	}
	/* Resumed after a kill inside this step: the move may have happened. */
	struct registry_version v = {0};
	bool held = registry_get(c->reg, s->value, &v, NULL) == 0 && v.stage == stage;
	registry_version_finish(&v);
	if ((rc = registry_set_stage(c->reg, s->value, stage, &m, e)))
		return rc;
	size_t l = strlen(s->result);
	if (held) {
		textf(s->result + l, sizeof s->result - l, "already so: %s holds %s", s->value,
		      registry_stage_name(stage));
		return -1;
	}
	textf(s->result + l, sizeof s->result - l, "%s holds %s%s%s", s->value,
		 registry_stage_name(stage), s->aux[0] ? "; last-known-good " : "", s->aux);
	return 0;
}

/* Runs step S; returns 0 done, -1 skipped (already so), or an error. */
static int run_step(struct actions_ctx *c, struct actions_plan *p, struct actions_step *s,
		    struct err *e)
{
	switch (s->op) {
	case ACTIONS_OP_REGISTRY_CHECK: {
		char detail[300] = "";
		int rc = p->kind == ACTIONS_PROMOTE
				 ? registry_checks(c, s->value,
						   env_stage(p->env) == REGISTRY_STAGE_PRODUCTION,
						   p->override, p->reason, detail, sizeof detail, e)
				 : registry_checks(c, s->value, false, true, p->reason, detail,
						   sizeof detail, e);
		if (!rc)
			textf(s->result, sizeof s->result, "%s", detail);
		return rc;
	}
	case ACTIONS_OP_SET_IMAGE: return do_set_image(c, p, s, e);
	case ACTIONS_OP_UNDO: return do_undo(c, s, e);
	case ACTIONS_OP_WAIT_ROLLOUT: return do_wait(c, s, e);
	case ACTIONS_OP_PODS_READY: return do_pods_ready(c, s, e);
	case ACTIONS_OP_SMOKE: return do_smoke(c, s, e);
	case ACTIONS_OP_SWITCH: return do_switch(c, s, e);
	case ACTIONS_OP_WEIGHTS: return do_weights(c, s, e);
	case ACTIONS_OP_ANALYSIS: return do_analysis(c, p, s, e);
	case ACTIONS_OP_SCALE: return do_scale(c, s, e);
	case ACTIONS_OP_REGISTRY_MOVE: return do_registry_move(c, p, s, e);
	}
	return err_set(e, EXIT_INPUT, "unknown step");
}

static void journal_plan(struct actions_ctx *c, struct actions_plan *p)
{
	cJSON *o = actions_plan_json(p);
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	if (text)
		store_plan_set_json(c->st, p->id, text, NULL);
	free(text);
	cJSON_Delete(o);
}

/* Whether step I of P took effect in this run or an earlier one. */
static bool step_held(const struct actions_plan *p, size_t i)
{
	return p->steps[i].state == ACTIONS_DONE || p->steps[i].state == ACTIONS_SKIPPED;
}

/* After a failed step: put back what serves traffic, as far as the
 * strategy allows; the outcome says what was done. The steps whose effect
 * that undid are pending again, in the journal too, so that resuming the
 * failed plan does them again rather than trusting a "done" that no longer
 * holds (a resumed blue-green plan would otherwise smoke-test the old
 * colour). */
static void compensate(struct actions_ctx *c, struct actions_plan *p, size_t failed)
{
	struct actions_step undo;
	memset(&undo, 0, sizeof undo);
	struct err e = {0};
	int rc = 0;
	char what[300] = "";
	/* A registry-only plan changed nothing in the cluster (and has no
	 * client for it); its failed move left the registry as it was. */
	if (p->kind != ACTIONS_PROMOTE || p->registry_only)
		return;
	size_t image_at = failed, switch_at = failed, weight_at = failed;
	for (size_t i = 0; i < failed; i++) {
		const struct actions_step *s = &p->steps[i];
		if (s->op == ACTIONS_OP_SET_IMAGE && strcmp(s->target, c->env->deployment) == 0 &&
		    step_held(p, i) && image_at == failed)
			image_at = i;
		/* Skipped ("already so") is a switch too: a resumed plan finds
		 * the Service switched by the run that was killed. */
		if (s->op == ACTIONS_OP_SWITCH && step_held(p, i))
			switch_at = i;
		if (s->op == ACTIONS_OP_WEIGHTS && s->number > 0 && weight_at == failed)
			weight_at = i;
	}
	size_t reopen = failed;
	if (p->strategy == ACTIONS_ROLLING && p->from_image[0] && image_at < failed) {
		undo.op = ACTIONS_OP_SET_IMAGE;
		textf(undo.target, sizeof undo.target, "%s", c->env->deployment);
		textf(undo.value, sizeof undo.value, "%s", p->from_image);
		rc = do_set_image(c, p, &undo, &e);
		textf(what, sizeof what, "set image back to %s", p->from_image);
		reopen = image_at;
	} else if (p->strategy == ACTIONS_BLUEGREEN && switch_at < failed) {
		const char *other = strcmp(p->steps[switch_at].value, "blue") == 0 ? "green" : "blue";
		undo.op = ACTIONS_OP_SWITCH;
		textf(undo.target, sizeof undo.target, "%s", c->env->service);
		textf(undo.value, sizeof undo.value, "%s", other);
		rc = do_switch(c, &undo, &e);
		textf(what, sizeof what, "switched back to %s", undo.value);
		reopen = switch_at;
	} else if (p->strategy == ACTIONS_CANARY && weight_at < failed) {
		undo.op = ACTIONS_OP_WEIGHTS;
		textf(undo.target, sizeof undo.target, "%s", c->env->virtualservice);
		undo.number = 0;
		rc = do_weights(c, &undo, &e);
		textf(what, sizeof what, "aborted: canary weight back to 0");
		reopen = weight_at;
		/* Past the last weight step stable took the new image: it goes
		 * back too, or "aborted" would leave every request on it. */
		if (rc <= 0 && image_at < failed && p->from_image[0]) {
			memset(&undo, 0, sizeof undo);
			undo.op = ACTIONS_OP_SET_IMAGE;
			textf(undo.target, sizeof undo.target, "%s", c->env->deployment);
			textf(undo.value, sizeof undo.value, "%s", p->from_image);
			rc = do_set_image(c, p, &undo, &e);
			size_t l = strlen(what);
			textf(what + l, sizeof what - l, "; set image of %s back to %s",
			      c->env->deployment, p->from_image);
		}
	} else {
		return;
	}
	size_t l = strlen(p->outcome_detail);
	textf(p->outcome_detail + l, sizeof p->outcome_detail - l, "; %s%s%s", what,
		 rc > 0 ? " FAILED: " : "", rc > 0 ? e.msg : "");
	if (rc > 0)
		return;
	for (size_t i = reopen; i < failed; i++) {
		if (!step_held(p, i))
			continue;
		p->steps[i].state = ACTIONS_PENDING;
		textf(p->steps[i].result, sizeof p->steps[i].result, "undone after the failure: %s",
		      what);
		store_step_result(c->st, p->id, i, "pending", p->steps[i].result, NULL);
	}
}

static int audit(struct actions_ctx *c, const struct actions_plan *p, const char *outcome)
{
	char action[64];
	textf(action, sizeof action, "%s%s (%s)", actions_kind_name(p->kind),
		 p->trigger ? " by trigger" : "",
		 p->registry_only ? "registry only" : actions_strategy_name(p->strategy));
	char detail[1024];
	textf(detail, sizeof detail, "plan %lld: %s -> %s%s%s", p->id,
		 p->from_version[0] ? p->from_version : "?", p->version,
		 p->outcome_detail[0] ? ": " : "", p->outcome_detail);
	bool ok = strcmp(outcome, "succeeded") == 0;
	struct store_audit a = {
		.actor = (char *)p->actor, .action = action, .env = (char *)p->env,
		.version = (char *)p->version, .outcome = (char *)outcome, .detail = detail,
		.before = (char *)p->from_version,
		.after = (char *)(ok ? p->version : p->from_version),
		.reason = (char *)p->reason,
	};
	return store_audit_add(c->st, &a, NULL);
}

static int run_plan(struct actions_ctx *c, struct actions_plan *p, struct err *e)
{
	int rc = 0;
	size_t i;
	for (i = 0; i < p->nsteps; i++) {
		struct actions_step *s = &p->steps[i];
		if (s->state == ACTIONS_DONE || s->state == ACTIONS_SKIPPED)
			continue;
		s->state = ACTIONS_RUNNING;
		s->result[0] = '\0';
		if ((rc = store_step_intent(c->st, p->id, i, e)))
			return rc;
		if (c->progress)
			c->progress(p, i, c->progress_arg);
		struct err se = {0};
		int r = run_step(c, p, s, &se);
		if (r > 0) {
			s->state = ACTIONS_FAILED;
			textf(s->result, sizeof s->result, "%s", se.msg);
			textf(p->outcome_detail, sizeof p->outcome_detail, "step %zu (%s) failed: %s",
				 i + 1, op_names[s->op], se.msg);
			store_step_result(c->st, p->id, i, "failed", s->result, NULL);
			if (c->progress)
				c->progress(p, i, c->progress_arg);
			*e = se;
			rc = r;
			break;
		}
		s->state = r < 0 ? ACTIONS_SKIPPED : ACTIONS_DONE;
		store_step_result(c->st, p->id, i, actions_step_state_name(s->state), s->result,
				  NULL);
		journal_plan(c, p);
		if (c->progress)
			c->progress(p, i, c->progress_arg);
	}
	if (rc) {
		compensate(c, p, i);
		journal_plan(c, p);
		store_plan_set_state(c->st, p->id, "failed", p->outcome_detail, NULL);
		audit(c, p, "failed");
		err_set(e, rc, "%s", p->outcome_detail);
		return rc;
	}
	journal_plan(c, p);
	store_plan_set_state(c->st, p->id, "done", "", NULL);
	audit(c, p, "succeeded");
	return 0;
}

int actions_execute(struct actions_ctx *c, struct actions_plan *p, struct err *e)
{
	c->notice[0] = '\0';
	if (c->read_only)
		return err_set(e, EXIT_CHECK, "read-only mode: %s of %s refused",
			       actions_kind_name(p->kind), p->env);
	const char *owner = c->owner ? c->owner : p->actor;
	int rc = actions_lock(c->st, p->env, p->id, owner, c->notice, sizeof c->notice, e);
	if (rc) {
		struct store_audit a = {
			.actor = p->actor, .action = (char *)actions_kind_name(p->kind),
			.env = p->env, .version = p->version, .outcome = "refused",
			.detail = e->msg, .before = p->from_version, .after = p->from_version,
			.reason = p->reason,
		};
		store_audit_add(c->st, &a, NULL);
		return rc;
	}
	if (p->id == 0) {
		const char *descs[ACTIONS_MAX_STEPS];
		for (size_t i = 0; i < p->nsteps; i++)
			descs[i] = p->steps[i].description;
		cJSON *o = actions_plan_json(p);
		char *text = o ? cJSON_PrintUnformatted(o) : NULL;
		cJSON_Delete(o);
		if (!text) {
			actions_unlock(c->st, p->env, NULL);
			return err_set(e, EXIT_BACKEND, "out of memory");
		}
		struct store_plan sp = {
			.env = p->env, .kind = (char *)actions_kind_name(p->kind),
			.version = p->version, .strategy = (char *)actions_strategy_name(p->strategy),
			.actor = p->actor, .plan_json = text,
		};
		rc = store_plan_create(c->st, &sp, descs, p->nsteps, &p->id, e);
		free(text);
		if (rc) {
			actions_unlock(c->st, p->env, NULL);
			return rc;
		}
		store_lock_set_plan(c->st, p->env, p->id, NULL);
		journal_plan(c, p);
	}
	rc = run_plan(c, p, e);
	actions_unlock(c->st, p->env, NULL);
	return rc;
}

int actions_load(struct store *st, long long id, struct actions_plan *p, char *state,
		 size_t state_size, struct err *e)
{
	struct store_plan sp = {0};
	bool found = false;
	int rc = store_plan_get(st, id, &sp, &found, e);
	if (rc)
		return rc;
	if (!found)
		return err_set(e, EXIT_INPUT, "no plan %lld in the journal", id);
	cJSON *o = json_parse(sp.plan_json, strlen(sp.plan_json), "journal", e);
	if (!o) {
		store_plan_finish(&sp);
		return e->code ? e->code : EXIT_INPUT;
	}
	rc = actions_plan_from_json(o, p, e);
	cJSON_Delete(o);
	if (!rc) {
		p->id = id;
		/* The step table is written before and after each step; the
		 * plan's JSON only after: the table wins. */
		for (size_t i = 0; i < p->nsteps && i < sp.nsteps; i++) {
			for (int k = 0; k < 5; k++)
				if (strcmp(sp.steps[i].state, state_names[k]) == 0)
					p->steps[i].state = (enum actions_step_state)k;
			textf(p->steps[i].result, sizeof p->steps[i].result, "%s",
				 sp.steps[i].result);
		}
		if (state)
			textf(state, state_size, "%s", sp.state);
	}
	store_plan_finish(&sp);
	return rc;
}

int actions_resume(struct actions_ctx *c, long long id, struct actions_plan *p,
		   struct err *e)
{
	char state[32] = "";
	int rc = actions_load(c->st, id, p, state, sizeof state, e);
	if (rc)
		return rc;
	if (strcmp(state, "running") != 0 && strcmp(state, "failed") != 0)
		return err_set(e, EXIT_CHECK, "plan %lld is %s: nothing to resume", id, state);
	if (strcmp(p->env, c->env->name) != 0)
		return err_set(e, EXIT_INPUT, "plan %lld is for %s, not %s", id, p->env,
			       c->env->name);
	/* A step that was running when the process died: its call may or may
	 * not have happened; its check decides on the rerun. A failed plan is
	 * retried from its failed step. */
	for (size_t i = 0; i < p->nsteps; i++)
		if (p->steps[i].state == ACTIONS_RUNNING || p->steps[i].state == ACTIONS_FAILED)
			p->steps[i].state = ACTIONS_PENDING;
	p->outcome_detail[0] = '\0';
	store_plan_set_state(c->st, id, "running", "resumed", NULL);
	return actions_execute(c, p, e);
}

/* Whether step S changes the cluster (the others read it, or the registry). */
static bool changes_cluster(const struct actions_step *s)
{
	return s->op == ACTIONS_OP_SET_IMAGE || s->op == ACTIONS_OP_UNDO ||
	       s->op == ACTIONS_OP_SWITCH || s->op == ACTIONS_OP_WEIGHTS ||
	       s->op == ACTIONS_OP_SCALE;
}

/* What abandoned plan P leaves behind, for the audit record: abandoning
 * changes nothing, so the cluster keeps what the steps that ran did, a step
 * interrupted by the crash may or may not have taken effect, and the
 * registry holds what it held unless its move was reached. Returns whether
 * the registry move was reached (interrupted: it may have happened). */
static bool abandon_summary(const struct actions_plan *p, char *out, size_t n)
{
	size_t done = 0, l;
	bool any = false, moved = false;
	for (size_t i = 0; i < p->nsteps; i++)
		done += p->steps[i].state == ACTIONS_DONE || p->steps[i].state == ACTIONS_SKIPPED;
	textf(out, n, "plan %lld: %s -> %s abandoned after %zu of %zu steps; abandoning changed "
	      "nothing", p->id, p->from_version[0] ? p->from_version : "?", p->version, done,
	      p->nsteps);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct actions_step *s = &p->steps[i];
		l = strlen(out);
		if (s->op == ACTIONS_OP_REGISTRY_MOVE && s->state != ACTIONS_PENDING)
			moved = true;
		if (s->state == ACTIONS_DONE && changes_cluster(s)) {
			textf(out + l, n - l, "%s%s", any ? "; " : ". Left in place: ", s->description);
			any = true;
		} else if (s->state == ACTIONS_RUNNING || s->state == ACTIONS_FAILED) {
			textf(out + l, n - l, ". Step %zu (%s) was %s%s", i + 1, s->description,
			      s->state == ACTIONS_RUNNING ? "interrupted" : "failed",
			      s->state == ACTIONS_RUNNING && changes_cluster(s)
				      ? ": it may or may not have taken effect" : "");
		}
	}
	l = strlen(out);
	if (!any)
		textf(out + l, n - l, ". No step had changed the cluster");
	l = strlen(out);
	if (moved)
		textf(out + l, n - l, ". The registry move was reached: churnops registry list "
		      "shows whether %s holds %s", p->env, p->version);
	else
		textf(out + l, n - l, ". The registry was not moved: %s stays as it was%s%s",
		      p->env, p->from_version[0] ? " (" : "",
		      p->from_version[0] ? p->from_version : "");
	l = strlen(out);
	if (!moved && p->from_version[0])
		textf(out + l, n - l, ")");
	return moved;
}

int actions_abandon(struct store *st, long long id, const char *actor, char *notice,
		    size_t notice_size, struct err *e)
{
	struct actions_plan *p = calloc(1, sizeof *p);
	if (!p)
		return err_set(e, EXIT_BACKEND, "out of memory");
	char state[32] = "";
	int rc = actions_load(st, id, p, state, sizeof state, e);
	if (rc)
		goto out;
	if (strcmp(state, "running") != 0 && strcmp(state, "failed") != 0) {
		rc = err_set(e, EXIT_CHECK, "plan %lld is %s: nothing to abandon", id, state);
		goto out;
	}
	struct store_lock l = {0};
	bool found = false;
	if ((rc = store_lock_get(st, p->env, &l, &found, e)))
		goto out;
	if (found && l.plan_id == id) {
		if (!actions_lock_stale(&l) && l.pid != (long)getpid()) {
			rc = err_set(e, EXIT_CHECK, "plan %lld is still running (pid %ld on %s)", id,
				     l.pid, l.host);
			store_lock_finish(&l);
			goto out;
		}
		store_lock_release(st, p->env, l.pid, NULL);
		if (notice)
			textf(notice, notice_size, "released the %s lock of pid %ld on %s",
				 p->env, l.pid, l.host);
	}
	store_lock_finish(&l);
	char detail[128];
	textf(detail, sizeof detail, "abandoned by %s", actor);
	if ((rc = store_plan_set_state(st, id, "abandoned", detail, e)))
		goto out;
	char what[64];
	textf(what, sizeof what, "abandon %s plan %lld", actions_kind_name(p->kind), id);
	char left[2048];
	bool moved = abandon_summary(p, left, sizeof left);
	if (notice) {
		size_t done = 0, l0 = strlen(notice);
		for (size_t i = 0; i < p->nsteps; i++)
			done += p->steps[i].state == ACTIONS_DONE ||
				p->steps[i].state == ACTIONS_SKIPPED;
		textf(notice + l0, notice_size - l0, "%s%zu of %zu steps had run (the cluster "
		      "keeps what they did); the registry was %s", l0 ? "; " : "", done,
		      p->nsteps, moved ? "possibly moved (interrupted)" : "not moved");
	}
	struct store_audit a = {
		.actor = (char *)actor, .action = what, .env = p->env, .version = p->version,
		.outcome = "abandoned", .detail = left, .before = p->from_version,
		.after = moved ? "" : p->from_version,
	};
	rc = store_audit_add(st, &a, e);
out:
	free(p);
	return rc;
}
