/* plan: see plan.h. */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "config.h"
#include "kube.h"
#include "kubeconfig.h"
#include "prom.h"
#include "registry.h"
#include "store.h"
#include "triggers.h"
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
	return config_actor(config_current(), NULL);
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
	struct prom_client *prom;
	struct trigger_config tcfg;
	bool has_tcfg;
	struct actions_ctx ctx;
};

static void session_close(struct session *s)
{
	prom_client_destroy(s->prom);
	if (s->has_tcfg)
		triggers_config_finish(&s->tcfg);
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
	struct registry_choice ch = {0};
	if (!(s->reg = registry_open_configured(s->st, config_current(), &ch, e)))
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
	s->ctx.read_only = config_read_only(config_current(), env->name);
	return 0;
}

/* A canary's analysis, as `churnops promote` does it: the trigger
 * configuration (CONFIG/triggers.json when it exists) and Prometheus (the
 * environment's URL there, else the configured one). Without Prometheus the
 * plan waits and checks the canary's pods, and its steps say so. */
static int session_canary(struct session *s, struct err *e)
{
	char *path = triggers_default_path();
	int rc = triggers_config_load(&s->tcfg, path, e);
	free(path);
	if (rc)
		return rc;
	s->has_tcfg = true;
	const struct trigger_env *te = triggers_config_env(&s->tcfg, s->ctx.env->name);
	struct prom_options po = {.url = te ? te->prometheus_url : NULL};
	config_prom_options(config_current(), &po);
	if (!po.url) {
		s->ctx.skip_analysis = true;
		return 0;
	}
	if (!(s->prom = prom_client_create(&po, e)))
		return e->code ? e->code : EXIT_BACKEND;
	s->ctx.prom = s->prom;
	s->ctx.tcfg = &s->tcfg;
	return 0;
}

/* --- jobs --------------------------------------------------------------- */

struct job_arg {
	const struct envs_env *env;
	char *kubeconfig;
	struct actions_plan *plan;     /* run: the plan to execute */
	bool promote;
	enum actions_strategy strategy;
	bool preselect;                /* pick the strategy (plan.h's order) */
	bool hinted;
	enum actions_strategy hint;
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
	char why[128];                 /* build: why this strategy */
};

/* The strategy for A's plan in the order plan.h gives; WHY says which. */
static enum actions_strategy pick_strategy(struct session *s, const struct job_arg *a,
					   char *why, size_t n)
{
	enum actions_strategy st = a->strategy;
	bool found = false;
	if (!a->preselect) {
		snprintf(why, n, "chosen");
		return st;
	}
	const char *conf = config_strategy(config_current(), a->env->name);
	if (conf && actions_strategy_parse(conf, &st)) {
		snprintf(why, n, "configured for %s", a->env->name);
		return st;
	}
	if (a->hinted) {
		snprintf(why, n, "the cluster shows a %s in progress", actions_strategy_name(a->hint));
		return a->hint;
	}
	if (actions_last_strategy(s->st, a->env->name, &st, &found, NULL) == 0 && found) {
		snprintf(why, n, "the last plan done in %s used it", a->env->name);
		return st;
	}
	snprintf(why, n, "the default");
	return ACTIONS_ROLLING;
}

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
	enum actions_strategy st = a->strategy;
	if (!r->rc)
		st = pick_strategy(&s, a, r->why, sizeof r->why);
	if (!r->rc && st == ACTIONS_CANARY && a->promote)
		r->rc = session_canary(&s, &be);
	if (!r->rc && a->promote)
		r->rc = actions_build_promote(&s.ctx, st, a->version, actor(), "console promote",
					      false, &r->plan, &be);
	else if (!r->rc)
		r->rc = actions_build_rollback(&s.ctx, st, "previous", actor(),
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
	if (!r->rc && a->plan->strategy == ACTIONS_CANARY && a->plan->kind == ACTIONS_PROMOTE)
		r->rc = session_canary(&s, &xe);
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
	a->strategy = r->strategy;
	a->preselect = r->preselect;
	a->hinted = r->hinted;
	a->hint = r->hint;
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
	r->executed = true;
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
	return r->plan || r->building || r->open;
}

bool plan_runner_close(struct plan_runner *r)
{
	if (r->running || r->building || r->confirming)
		return false;
	free(r->plan);
	r->plan = NULL;
	r->finished = r->failed = r->executed = r->open = false;
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
	if (r->preselect)
		snprintf(r->status, sizeof r->status, "building the %s plan of %s", what(r),
			 r->env->name);
	else
		snprintf(r->status, sizeof r->status, "building the %s %s plan of %s",
			 actions_strategy_name(r->strategy), what(r), r->env->name);
}

/* A new plan for ENV: the strategy is picked by the build (plan.h). */
static void start(struct plan_runner *r, const struct envs_env *env, bool promote,
		  const enum actions_strategy *hint)
{
	plan_runner_close(r);
	r->env = env;
	r->promote = promote;
	r->version[0] = '\0';
	r->why[0] = '\0';
	r->strategy = ACTIONS_ROLLING;
	r->preselect = true;
	r->hinted = hint != NULL;
	r->hint = hint ? *hint : ACTIONS_ROLLING;
}

void plan_runner_rollback(struct plan_runner *r, struct tui_app *app,
			  const struct envs_env *env, const enum actions_strategy *hint)
{
	if (!may_start(r, app, false))
		return;
	start(r, env, false, hint);
	build(r, app);
}

bool plan_runner_next_strategy(struct plan_runner *r, struct tui_app *app)
{
	if (!r->env || r->executed || r->building || r->running || r->confirming)
		return false;
	if (!r->plan && !r->open)
		return false;
	static const enum actions_strategy order[] = {ACTIONS_ROLLING, ACTIONS_BLUEGREEN,
						      ACTIONS_CANARY};
	size_t i = 0;
	while (i < 3 && order[i] != r->strategy)
		i++;
	r->strategy = order[(i + 1) % 3];
	r->preselect = false;
	free(r->plan);
	r->plan = NULL;
	r->finished = r->failed = false;
	r->open = true;
	build(r, app);
	return true;
}

bool plan_runner_confirm(struct plan_runner *r, struct tui_app *app)
{
	if (!r->plan || r->executed || r->building || r->running || r->confirming)
		return false;
	r->finished = false;
	snprintf(r->status, sizeof r->status, "waiting for confirmation");
	ask(r, app);
	return true;
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
			 const struct envs_env *env, const enum actions_strategy *hint)
{
	if (!may_start(r, app, true))
		return;
	start(r, env, true, hint);
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
			snprintf(r->status, sizeof r->status, "%s of %s%s%s: %.1000s", what(r),
				 r->env->name, r->open ? " by " : "",
				 r->open ? actions_strategy_name(r->strategy) : "",
				 res ? res->msg : j->err.msg);
			tui_app_toast(app, ROLE_CRIT, "%s", r->status);
			/* A rebuild for another strategy keeps the panel, so
			 * that s can try the next one. */
			if (r->open) {
				r->finished = r->failed = true;
				return;
			}
			r->status[0] = '\0';
			return;
		}
		r->strategy = res->plan.strategy;
		snprintf(r->why, sizeof r->why, "%s", res->why);
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

/* The strategies, the chosen one in brackets, why, and what keys do now. */
static int draw_strategy(const struct plan_runner *r, int y, struct tui_rect in)
{
	static const enum actions_strategy all[] = {ACTIONS_ROLLING, ACTIONS_BLUEGREEN,
						    ACTIONS_CANARY};
	int x = in.x + widget_text(y, in.x, in.w, ROLE_MUTED, "strategy ");
	for (size_t i = 0; i < 3 && x < in.x + in.w; i++) {
		bool on = all[i] == r->strategy && !(r->building && r->preselect);
		char item[32];
		snprintf(item, sizeof item, on ? "[%s] " : " %s  ", actions_strategy_name(all[i]));
		x += widget_text(y, x, in.x + in.w - x, on ? ROLE_SELECTED : ROLE_NORMAL, item);
	}
	if (r->why[0] && !r->building && x < in.x + in.w)
		widget_printf(y, x + 1, in.x + in.w - x - 1, ROLE_MUTED, "(%s)", r->why);
	y++;
	const char *keys = NULL;
	if (r->confirming && r->plan)
		keys = "Esc, then s: build it for the next strategy";
	else if (!r->executed && !r->building && r->plan && r->finished)
		keys = "s: the next strategy   Enter: ask again to run this plan   Esc: close";
	else if (!r->executed && !r->building && r->open && !r->plan)
		keys = "s: the next strategy   Esc: close";
	if (keys)
		widget_text(y++, in.x, in.w, ROLE_MUTED, keys);
	return y;
}

void plan_runner_draw(struct plan_runner *r, struct tui_rect area)
{
	widget_clear(area, ROLE_NORMAL);
	struct tui_rect in = widget_box(area, r->promote ? "promote plan" : "rollback plan", true);
	int y = in.y, bottom = in.y + in.h;
	enum tui_role role = r->failed ? ROLE_CRIT : r->finished ? ROLE_OK : ROLE_NORMAL;
	if (r->finished && !r->running && (strncmp(r->status, "refused", 7) == 0 ||
					   strncmp(r->status, "cancelled", 9) == 0))
		role = ROLE_WARN;
	if (!r->plan) {
		widget_text(y++, in.x, in.w, r->failed ? ROLE_CRIT : ROLE_MUTED, r->status);
		if (r->open && y + 2 <= bottom)
			draw_strategy(r, y + 1, in);
		return;
	}
	const struct actions_plan *p = r->plan;
	widget_printf(y++, in.x, in.w, p->kind == ACTIONS_ROLLBACK ? ROLE_WARN : ROLE_ACCENT,
		      "%s %s (%s): %s -> %s, strategy %s", actions_kind_name(p->kind), p->env,
		      p->namespace, p->from_version[0] ? p->from_version : "?", p->version,
		      actions_strategy_name(p->strategy));
	widget_printf(y++, in.x, in.w, role, "state: %s%s", r->status,
		      r->finished ? "  (Esc closes)" : "");
	if (y + 2 < bottom)
		y = draw_strategy(r, y, in);
	y++;
	for (size_t i = 0; i < p->nsteps && y < bottom; i++) {
		const struct actions_step *s = &p->steps[i];
		widget_printf(y, in.x, in.w, state_role(s->state), "%2zu %-8s %s", i + 1,
			      actions_step_state_name(s->state), s->description);
		y++;
		if (y < bottom && (s->state == ACTIONS_PENDING || s->state == ACTIONS_RUNNING) &&
		    !r->executed) {
			widget_printf(y++, in.x + 12, in.w - 12, ROLE_MUTED, "pre: %s  check: %s",
				      s->precondition, s->check);
		} else if (y < bottom && s->result[0]) {
			widget_printf(y++, in.x + 12, in.w - 12, ROLE_MUTED, "%s", s->result);
		}
	}
}
