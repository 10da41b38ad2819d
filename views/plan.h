/* plan: the console's promote and rollback, as plans built, confirmed and
 * run live.
 *
 * A plan runner belongs to one view (the deployments view embeds it). `R`
 * builds the rollback of the selected environment to its previous version,
 * `P` the promotion of a version (asked in the status line; Enter takes
 * the registry's staging holder for production) to it (core/actions), in
 * a worker job; the runner shows the plan (each step's description,
 * precondition and check) in a panel over the view, and asks for
 * confirmation in the status line: production's name must be typed
 * exactly, staging takes y.
 *
 * The plan is built for one strategy, rolling, blue-green or canary,
 * preselected in this order: the one configured for the environment
 * (core/config), a canary the cluster shows taking traffic (the view's
 * hint), the strategy of the environment's latest plan done in the cluster
 * (the journal), else rolling; the panel says which and why. Until the
 * plan runs, `s` (Esc first when the confirmation is being asked) builds
 * it again for the next strategy and asks again, and Enter asks again for
 * the plan shown. A canary promotion's analysis compares canary with
 * stable through Prometheus when one is configured (CONFIG/triggers.json,
 * the configuration, PROMETHEUS_URL), as `churnops promote` does; without
 * one, its steps say that they wait and check the canary's pods only.
 *
 * The plan then runs in a worker job that posts a copy of the plan after
 * every step, so the panel shows each step's state (pending, running,
 * done, skipped, failed) as it happens, then the result.
 * The run is a foreground job: quitting while it runs asks first. With
 * --read-only the runner refuses before reading anything.
 *
 * Each job opens its own store, registry and cluster client (nothing is
 * shared with the UI thread); the runner owns the plan copies it shows.
 */
#ifndef CHURNOPS_VIEWS_PLAN_H
#define CHURNOPS_VIEWS_PLAN_H

#include <stdbool.h>

#include "actions.h"
#include "app.h"
#include "envs.h"

/* Job kinds at and above this are the runner's (views keep theirs below). */
#define PLAN_KIND_BASE 0x100

struct plan_runner {
	struct actions_plan *plan;  /* shown; NULL: no panel (owned) */
	const struct envs_env *env;
	const char *kubeconfig;     /* the console's, or NULL; not owned */
	void *owner;                /* the view whose jobs these are */
	unsigned long seq;
	bool building, running, confirming;
	bool finished, failed;
	bool promote;               /* the plan is a promotion (else a rollback) */
	bool executed;              /* confirmed: the plan ran or runs */
	bool open;                  /* the panel stays up without a plan (a
				       rebuild failed: s tries the next) */
	enum actions_strategy strategy; /* the plan's, or the next build's */
	bool preselect;             /* the next build picks the strategy */
	bool hinted;                /* HINT holds the view's hint */
	enum actions_strategy hint;
	char why[128];              /* why the strategy was picked */
	char version[128];          /* promote: as typed ("": the default) */
	char status[2048];           /* the last outcome or refusal */
	double started;             /* monotonic seconds when the run began */
	double took;                /* seconds the run took */
};

void plan_runner_init(struct plan_runner *r, void *owner, const char *kubeconfig);
void plan_runner_finish(struct plan_runner *r);

/* Starts building the rollback of ENV. HINT, when not NULL, is the
 * strategy the view sees the cluster run (see above). Refuses (a toast)
 * with --read-only or while a plan is already building or running. */
void plan_runner_rollback(struct plan_runner *r, struct tui_app *app,
			  const struct envs_env *env, const enum actions_strategy *hint);

/* Asks which version to promote to ENV, then builds that plan; HINT and
 * refusals as for plan_runner_rollback(). */
void plan_runner_promote(struct plan_runner *r, struct tui_app *app,
			 const struct envs_env *env, const enum actions_strategy *hint);

/* `s`: builds the plan shown again for the next strategy (rolling,
 * blue-green, canary, rolling...) and asks again. False (nothing done)
 * once the plan was confirmed, or while it builds or asks. */
bool plan_runner_next_strategy(struct plan_runner *r, struct tui_app *app);

/* Enter: asks again to run the plan shown (after a cancelled or refused
 * confirmation). False when there is nothing to ask about. */
bool plan_runner_confirm(struct plan_runner *r, struct tui_app *app);

/* Whether the panel is up (it then takes the view's area). */
bool plan_runner_active(const struct plan_runner *r);

/* Closes a finished (or refused) plan's panel; false while it runs. */
bool plan_runner_close(struct plan_runner *r);

/* A job of kind >= PLAN_KIND_BASE came back to the owner. */
void plan_runner_on_snapshot(struct plan_runner *r, struct tui_app *app,
			     struct worker_job *j);

void plan_runner_draw(struct plan_runner *r, struct tui_rect area);

#endif
