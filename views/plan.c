/* plan: see plan.h. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "kube.h"
#include "kubeconfig.h"
#include "registry.h"
#include "store.h"
#include "widgets.h"

enum { KIND_BUILD = PLAN_KIND_BASE, KIND_RUN, KIND_PROGRESS };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *actor(void)
{
	const char *a = getenv("CHURNOPS_ACTOR");
	if (a && *a)
		return a;
	a = getenv("USER");
	return a && *a ? a : "console";
}

static const char *what(const struct plan_runner *r)
{
	return r->promote ? "promote" : "rollback";
}

/* What a job opens for the plan: everything its own, closed by session_close. */
struct session {
	struct store *st;
	struct registry *reg;
	struct kube_client *kube;
	struct kubeconfig *svc_kc;
	struct actions_ctx ctx;
};

static void session_close(struct session *s)
{
	kube_client_destroy(s->kube);
	kubeconfig_destroy(s->svc_kc);
	registry_destroy(s->reg);
	store_close(s->st);
}

static int session_open(struct session *s, const struct envs_env *env,
			const char *kubeconfig, struct err *e)
{
	memset(s, 0, sizeof *s);
	struct kubeconfig_options ko = {.file = kubeconfig};
	struct kubeconfig *kc = NULL;
	int rc;
	if (!(s->st = store_open(NULL, e)))
		return e->code ? e->code : EXIT_INPUT;
	if (!(s->reg = registry_open_sqlite(s->st, NULL, e)))
		return e->code ? e->code : EXIT_INPUT;
	if ((rc = kubeconfig_load(&ko, &kc, e)) || (rc = kube_client_create(kc, &s->kube, e)))
		return rc;
	if ((rc = kubeconfig_load(&ko, &s->svc_kc, e)))
		return rc;
	s->ctx.st = s->st;
	s->ctx.reg = s->reg;
	s->ctx.kube = s->kube;
	s->ctx.service_kc = s->svc_kc;
	s->ctx.env = env;
	s->ctx.owner = actor();
	return 0;
}

/* --- jobs --------------------------------------------------------------- */

struct job_arg {
	const struct envs_env *env;
	char *kubeconfig;
	struct actions_plan *plan;     /* run: the plan to execute */
	bool promote;
	char version[128];             /* promote: "" takes the staging holder */
	struct worker_pool *pool;
	void *owner;
	unsigned long seq;
};

static void job_arg_free(void *p)
{
	struct job_arg *a = p;
	free(a->kubeconfig);
	free(a->plan);
	free(a);
}

struct job_result {
	struct actions_plan plan;
	int rc;
	char msg[1024];
};

static void *build_run(void *arg, struct err *e)
{
	struct job_arg *a = arg;
	struct job_result *r = calloc(1, sizeof *r);
	if (!r) {
		err_set(e, EXIT_BACKEND, "out of memory");
		return NULL;
	}
	struct session s;
	struct err be = {0};
	r->rc = session_open(&s, a->env, a->kubeconfig, &be);
	if (!r->rc && a->promote && !a->version[0]) {
		struct registry_version v = {0};
		bool found = false;
		if (strcmp(a->env->name, "production") != 0)
			r->rc = err_set(&be, EXIT_INPUT, "type the version to promote to %s",
					a->env->name);
		else if (!(r->rc = registry_stage_holder(s.reg, REGISTRY_STAGE_STAGING, &v,
							  &found, &be)) && !found)
			r->rc = err_set(&be, EXIT_INPUT, "no version holds staging: type one");
		if (!r->rc)
			snprintf(a->version, sizeof a->version, "%s", v.label);
		registry_version_finish(&v);
	}
	if (!r->rc && a->promote)
		r->rc = actions_build_promote(&s.ctx, ACTIONS_ROLLING, a->version, actor(),
					      "console promote", false, &r->plan, &be);
	else if (!r->rc)
		r->rc = actions_build_rollback(&s.ctx, ACTIONS_ROLLING, "previous", actor(),
					       "console rollback", &r->plan, &be);
	if (r->rc)
		snprintf(r->msg, sizeof r->msg, "%s", be.msg);
	session_close(&s);
	return r;
}

static void post_progress(const struct actions_plan *p, size_t step, void *arg)
{
	struct job_arg *a = arg;
	(void)step;
	struct actions_plan *copy = malloc(sizeof *copy);
	if (!copy)
		return;
	memcpy(copy, p, sizeof *copy);
	struct worker_job msg = {
		.owner = a->owner, .kind = KIND_PROGRESS, .seq = a->seq,
		.result = copy, .free_result = free,
	};
	struct err ignored = {0};
	worker_pool_post(a->pool, &msg, &ignored);
}

static void *execute_run(void *arg, struct err *e)
{
	struct job_arg *a = arg;
	struct job_result *r = calloc(1, sizeof *r);
	if (!r) {
		err_set(e, EXIT_BACKEND, "out of memory");
		return NULL;
	}
	memcpy(&r->plan, a->plan, sizeof r->plan);
	struct session s;
	struct err xe = {0};
	r->rc = session_open(&s, a->env, a->kubeconfig, &xe);
	if (!r->rc) {
		s.ctx.progress = post_progress;
		s.ctx.progress_arg = a;
		r->rc = actions_execute(&s.ctx, &r->plan, &xe);
	}
	if (r->rc)
		snprintf(r->msg, sizeof r->msg, "%s", xe.msg[0] ? xe.msg : r->plan.outcome_detail);
	else if (s.ctx.notice[0])
		snprintf(r->msg, sizeof r->msg, "%s", s.ctx.notice);
	session_close(&s);
	return r;
}

static int submit(struct plan_runner *r, struct tui_app *app, int kind,
		  void *(*run)(void *, struct err *), struct actions_plan *plan)
{
	struct job_arg *a = calloc(1, sizeof *a);
	if (!a || (r->kubeconfig && !(a->kubeconfig = strdup(r->kubeconfig)))) {
		free(a);
		free(plan);
		tui_app_toast(app, ROLE_CRIT, "%s: out of memory", what(r));
		return -1;
	}
	a->env = r->env;
	a->plan = plan;
	a->promote = r->promote;
	snprintf(a->version, sizeof a->version, "%s", r->version);
	a->pool = tui_app_pool(app);
	a->owner = r->owner;
	a->seq = ++r->seq;
	struct worker_job j = {
		.run = run, .free_arg = job_arg_free, .free_result = free,
		.arg = a, .owner = r->owner, .kind = kind, .seq = a->seq,
	};
	struct err e = {0};
	if (tui_app_submit(app, r->owner, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "%s: %s", what(r), e.msg);
		return -1;
	}
	return 0;
}

/* --- confirmation ------------------------------------------------------- */

static void confirmed(void *state, struct tui_app *app, const char *text)
{
	struct plan_runner *r = state;
	r->confirming = false;
	bool prod = strcmp(r->env->name, "production") == 0;
	bool ok = text && (prod ? strcmp(text, r->env->name) == 0
				: (strcmp(text, "y") == 0 || strcmp(text, "") == 0));
	if (!ok) {
		snprintf(r->status, sizeof r->status, "%s", !text ? "cancelled: nothing changed"
			 : prod ? "refused: the environment's name was not typed exactly "
				  "(nothing changed)"
				: "refused: nothing changed");
		r->finished = true;
		tui_app_toast(app, ROLE_WARN, "%s %s", what(r), r->status);
		return;
	}
	struct actions_plan *copy = malloc(sizeof *copy);
	if (!copy) {
		tui_app_toast(app, ROLE_CRIT, "%s: out of memory", what(r));
		return;
	}
	memcpy(copy, r->plan, sizeof *copy);
	if (submit(r, app, KIND_RUN, execute_run, copy))
		return;
	r->running = true;
	r->started = now_s();
	snprintf(r->status, sizeof r->status, "running");
}

static void ask(struct plan_runner *r, struct tui_app *app)
{
	char label[160];
	if (strcmp(r->env->name, "production") == 0)
		snprintf(label, sizeof label, "type '%s' to %s %s (Esc cancels): ",
			 r->env->name, r->promote ? "promote to" : "roll back", r->env->name);
	else
		snprintf(label, sizeof label, "%s %s? Enter or y runs it, Esc cancels: ",
			 r->promote ? "promote to" : "roll back", r->env->name);
	r->confirming = true;
	tui_app_prompt(app, label, "", r, confirmed, NULL);
}

/* --- interface ---------------------------------------------------------- */

void plan_runner_init(struct plan_runner *r, void *owner, const char *kubeconfig)
{
	memset(r, 0, sizeof *r);
	r->owner = owner;
	r->kubeconfig = kubeconfig;
}

void plan_runner_finish(struct plan_runner *r)
{
	free(r->plan);
	r->plan = NULL;
}

bool plan_runner_active(const struct plan_runner *r)
{
	return r->plan || r->building;
}

bool plan_runner_close(struct plan_runner *r)
{
	if (r->running || r->building || r->confirming)
		return false;
	free(r->plan);
	r->plan = NULL;
	r->finished = r->failed = false;
	r->status[0] = '\0';
	return true;
}

static bool may_start(struct plan_runner *r, struct tui_app *app, bool promote)
{
	const char *w = promote ? "promote" : "rollback";
	if (tui_app_read_only(app)) {
		tui_app_toast(app, ROLE_WARN, "read-only mode: %s refused (nothing changed)", w);
		return false;
	}
	if (r->running || r->building || r->confirming) {
		tui_app_toast(app, ROLE_WARN, "a plan is already in progress");
		return false;
	}
	return true;
}

static void build(struct plan_runner *r, struct tui_app *app)
{
	if (submit(r, app, KIND_BUILD, build_run, NULL))
		return;
	r->building = true;
	snprintf(r->status, sizeof r->status, "building the %s plan of %s", what(r),
		 r->env->name);
}

void plan_runner_rollback(struct plan_runner *r, struct tui_app *app,
			  const struct envs_env *env)
{
	if (!may_start(r, app, false))
		return;
	plan_runner_close(r);
	r->env = env;
	r->promote = false;
	r->version[0] = '\0';
	build(r, app);
}

static void version_typed(void *state, struct tui_app *app, const char *text)
{
	struct plan_runner *r = state;
	r->confirming = false;
	if (!text)
		return;
	while (*text == ' ')
		text++;
	snprintf(r->version, sizeof r->version, "%s", text);
	r->version[strcspn(r->version, " ")] = '\0';
	build(r, app);
}

void plan_runner_promote(struct plan_runner *r, struct tui_app *app,
			 const struct envs_env *env)
{
	if (!may_start(r, app, true))
		return;
	plan_runner_close(r);
	r->env = env;
	r->promote = true;
	r->version[0] = '\0';
	char label[160];
	snprintf(label, sizeof label, "promote to %s, version%s: ", env->name,
		 strcmp(env->name, "production") == 0 ? " (Enter: staging's)" : "");
	r->confirming = true;
	tui_app_prompt(app, label, "", r, version_typed, NULL);
}

void plan_runner_on_snapshot(struct plan_runner *r, struct tui_app *app,
			     struct worker_job *j)
{
	if (j->seq != r->seq)
		return;
	if (j->kind == KIND_PROGRESS) {
		if (r->running && j->result && r->plan) {
			free(r->plan);
			r->plan = j->result;
			j->result = NULL;
		}
		return;
	}
	struct job_result *res = j->result;
	if (j->kind == KIND_BUILD) {
		r->building = false;
		if (!res || res->rc) {
			snprintf(r->status, sizeof r->status, "%s of %s: %.1000s", what(r), r->env->name,
				 res ? res->msg : j->err.msg);
			tui_app_toast(app, ROLE_CRIT, "%s", r->status);
			r->status[0] = '\0';
			return;
		}
		struct actions_plan *p = malloc(sizeof *p);
		if (!p)
			return;
		memcpy(p, &res->plan, sizeof *p);
		free(r->plan);
		r->plan = p;
		snprintf(r->status, sizeof r->status, "waiting for confirmation");
		ask(r, app);
		return;
	}
	if (j->kind != KIND_RUN)
		return;
	r->running = false;
	r->finished = true;
	r->took = now_s() - r->started;
	if (!res) {
		r->failed = true;
		snprintf(r->status, sizeof r->status, "failed: %s", j->err.msg);
	} else {
		if (r->plan)
			memcpy(r->plan, &res->plan, sizeof *r->plan);
		r->failed = res->rc != 0;
		if (r->failed)
			snprintf(r->status, sizeof r->status, "failed after %.1f s: %s", r->took,
				 res->msg);
		else
			snprintf(r->status, sizeof r->status, "done in %.1f s: %s serves %s%s%s",
				 r->took, r->env->name, res->plan.version,
				 res->msg[0] ? "; " : "", res->msg);
	}
	tui_app_toast(app, r->failed ? ROLE_CRIT : ROLE_OK, "%s %s", what(r), r->status);
}

static enum tui_role state_role(enum actions_step_state s)
{
	switch (s) {
	case ACTIONS_DONE: return ROLE_OK;
	case ACTIONS_SKIPPED: return ROLE_MUTED;
	case ACTIONS_RUNNING: return ROLE_ACCENT;
	case ACTIONS_FAILED: return ROLE_CRIT;
	default: return ROLE_NORMAL;
	}
}

void plan_runner_draw(struct plan_runner *r, struct tui_rect area)
{
	widget_clear(area, ROLE_NORMAL);
	struct tui_rect in = widget_box(area, r->promote ? "promote plan" : "rollback plan", true);
	int y = in.y, bottom = in.y + in.h;
	if (!r->plan) {
		widget_text(y, in.x, in.w, ROLE_MUTED, r->status);
		return;
	}
	const struct actions_plan *p = r->plan;
	widget_printf(y++, in.x, in.w, p->kind == ACTIONS_ROLLBACK ? ROLE_WARN : ROLE_ACCENT,
		      "%s %s (%s): %s -> %s, strategy %s", actions_kind_name(p->kind), p->env,
		      p->namespace, p->from_version[0] ? p->from_version : "?", p->version,
		      actions_strategy_name(p->strategy));
	enum tui_role role = r->failed ? ROLE_CRIT : r->finished ? ROLE_OK : ROLE_NORMAL;
	if (r->finished && !r->running && strncmp(r->status, "refused", 7) == 0)
		role = ROLE_WARN;
	widget_printf(y++, in.x, in.w, role, "state: %s%s", r->status,
		      r->finished ? "  (Esc closes)" : "");
	y++;
	for (size_t i = 0; i < p->nsteps && y < bottom; i++) {
		const struct actions_step *s = &p->steps[i];
		widget_printf(y, in.x, in.w, state_role(s->state), "%2zu %-8s %s", i + 1,
			      actions_step_state_name(s->state), s->description);
		y++;
		if (y < bottom && (s->state == ACTIONS_PENDING || s->state == ACTIONS_RUNNING) &&
		    !r->running && !r->finished) {
			widget_printf(y++, in.x + 12, in.w - 12, ROLE_MUTED, "pre: %s  check: %s",
				      s->precondition, s->check);
		} else if (y < bottom && s->result[0]) {
			widget_printf(y++, in.x + 12, in.w - 12, ROLE_MUTED, "%s", s->result);
		}
	}
}
