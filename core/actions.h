/* actions: promote and rollback as plans of steps over the registry, the
 * cluster and the model service, executed with a journal.
 *
 * A plan is built first (reading, never writing: the cluster's current
 * state picks the idle colour, the revision to undo to, the version served
 * now) and can be shown as it is (--dry-run, the console's confirmation).
 * Each step names its call, a precondition and a check of its effect.
 * Steps are idempotent: before a step's call, its check is tried, and a
 * step whose effect already holds is skipped ("already so"), so a plan
 * interrupted anywhere can be resumed from its journal and reconcile with
 * what the cluster actually is.
 *
 * Strategies (DESIGN.md, cluster model):
 *   rolling     set image, wait for the rollout as kubectl judges it, smoke;
 *               a failed rollout or smoke puts the old image back.
 *   blue-green  set the idle colour's image, wait, check its pods, switch
 *               the Service selector, verify through the Service (the old
 *               colour stays as it was, for an instant switch back); a
 *               failed verification switches back.
 *   canary      scale the canary up, set its image, wait, step the
 *               VirtualService weights 10 -> 50 -> 100 with an analysis
 *               interval after each (canary vs stable on the configured
 *               metrics through Prometheus); a failed analysis (or any
 *               later step) sets the canary's weight back to 0 and, once
 *               stable took the new image, stable's image back, and the
 *               plan says why; at 100 the stable deployment takes the
 *               image, traffic returns to stable and the canary is emptied
 *               (scaled to 0).
 * Rollback: rolling undoes to the revision that ran the target version (or
 * sets the image when no such revision remains); blue-green switches back to
 * the colour running it (updating the idle colour first when neither does);
 * canary puts every weight on stable, gives stable the target's image and
 * empties the canary. Then verify (smoke), and the registry moves.
 *
 * A failed step's compensation puts the steps whose effect it undid back to
 * pending (in the journal too), so that a failed plan resumed later does
 * them again. A scale-down step waits until the deployment's surplus pods
 * are gone: until then they are endpoints of the Services that select
 * them, which the smoke test goes through.
 *
 * Journal (core/store): the plan's steps are written before the first
 * runs; each step's intent before it runs and its result after. One plan
 * per environment at a time: a lock in the store with owner, pid, host and
 * start time. A lock whose pid is dead on this host may be taken over (the
 * notice says so); any other holder refuses the plan, naming it. Every plan
 * ends with an audit record (never credentials).
 *
 * core/: no printing. Progress goes to the context's callback.
 */
#ifndef CHURNOPS_ACTIONS_H
#define CHURNOPS_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "envs.h"
#include "err.h"
#include "kube.h"
#include "kubeconfig.h"
#include "prom.h"
#include "registry.h"
#include "store.h"
#include "triggers.h"

#define ACTIONS_MAX_STEPS 32
#define ACTIONS_SUBSET_STABLE "stable"
#define ACTIONS_SUBSET_CANARY "canary"

enum actions_kind { ACTIONS_PROMOTE, ACTIONS_ROLLBACK };
enum actions_strategy { ACTIONS_ROLLING, ACTIONS_BLUEGREEN, ACTIONS_CANARY };

enum actions_op {
	ACTIONS_OP_REGISTRY_CHECK, /* value: version; READY, sha256, verdict */
	ACTIONS_OP_SET_IMAGE,      /* target: deployment; value: image */
	ACTIONS_OP_UNDO,           /* target: deployment; number: revision; value: image */
	ACTIONS_OP_WAIT_ROLLOUT,   /* target: deployment; value: image */
	ACTIONS_OP_PODS_READY,     /* target: deployment; value: image */
	ACTIONS_OP_SMOKE,          /* target: Service; value: version; number: % */
	ACTIONS_OP_SWITCH,         /* target: Service; value: colour */
	ACTIONS_OP_WEIGHTS,        /* target: VirtualService; number: canary % */
	ACTIONS_OP_ANALYSIS,       /* target: canary deployment; number: seconds */
	ACTIONS_OP_SCALE,          /* target: deployment; number: replicas */
	ACTIONS_OP_REGISTRY_MOVE,  /* value: version to the environment's stage;
				      aux: version last-known-good points at */
};

enum actions_step_state {
	ACTIONS_PENDING,
	ACTIONS_RUNNING,
	ACTIONS_DONE,
	ACTIONS_SKIPPED,
	ACTIONS_FAILED,
};

struct actions_step {
	enum actions_op op;
	char target[128];
	char value[256];
	char aux[128];
	long number;
	char description[320];
	char precondition[200];
	char check[200];
	enum actions_step_state state;
	char result[512];
};

/* A plan: filled by actions_build_*, owned by the caller (no pointers). */
struct actions_plan {
	long long id;                 /* journal id; 0 until journaled */
	enum actions_kind kind;
	enum actions_strategy strategy;
	char env[64];
	char namespace[128];
	char version[128];            /* promote: V; rollback: the target */
	char target_arg[128];         /* rollback: previous|rollback|V as asked */
	char from_version[128];       /* what the environment serves now */
	char from_image[256];
	char image[256];              /* V's image */
	char actor[128];
	char reason[256];
	bool override;
	bool trigger;                 /* started by a rollback trigger */
	bool registry_only;           /* moves the registry, never the cluster */
	char outcome_detail[512];     /* why it failed (or "") */
	struct actions_step steps[ACTIONS_MAX_STEPS];
	size_t nsteps;
};

/* Called before and after each step (STEP is the plan's step). */
typedef void (*actions_progress_fn)(const struct actions_plan *p, size_t step,
				    void *arg);

/* What a plan runs on. Nothing here is owned by actions. */
struct actions_ctx {
	struct store *st;
	struct registry *reg;
	struct kube_client *kube;
	struct kubeconfig *service_kc;  /* for the service proxy (smoke) */
	const struct envs_env *env;
	struct prom_client *prom;       /* NULL: no canary analysis */
	const struct trigger_config *tcfg;
	bool skip_analysis;             /* canary without Prometheus: wait only */
	double analysis_s;              /* per weight step; 0: 60 */
	const long *weights;            /* canary steps; NULL: 10, 50, 100 */
	size_t nweights;
	long timeout_s;                 /* per rollout wait; 0: 600 */
	bool read_only;
	/* Build plans that move only the registry (stage, aliases, history,
	 * audit): what the environment holds "before" is the registry's stage
	 * holder, and kube and service_kc may be NULL. */
	bool registry_only;
	const char *owner;              /* who holds the lock */
	actions_progress_fn progress;
	void *progress_arg;
	char notice[512];               /* set by execute/resume: lock takeover */
};

const char *actions_kind_name(enum actions_kind k);
const char *actions_strategy_name(enum actions_strategy s);
bool actions_strategy_parse(const char *s, enum actions_strategy *out);
const char *actions_step_state_name(enum actions_step_state s);

/* The version an environment serves now by STRATEGY, from the cluster:
 * *VERSION and *IMAGE newly allocated (VERSION may be "" when the image
 * does not follow the template). */
int actions_serving(struct actions_ctx *c, enum actions_strategy s,
		    char **version, char **image, struct err *e);

/* The strategy of ENV's latest plan that finished in the cluster (state
 * done, not registry-only) among the journal's latest 100 plans: how the
 * environment was last deployed. *FOUND is false when there is none. */
int actions_last_strategy(struct store *st, const char *env, enum actions_strategy *out,
			  bool *found, struct err *e);

/* Builds the promotion of VERSION to the context's environment. Checks the
 * registry (EXIT_CHECK refusals as registry.h says, EXIT_INPUT for an
 * unknown version) and reads the cluster. P is filled. With the context's
 * registry_only, the plan is the registry check and the registry move
 * alone, and the cluster is neither read nor changed (both builders). */
int actions_build_promote(struct actions_ctx *c, enum actions_strategy s,
			  const char *version, const char *actor,
			  const char *reason, bool override,
			  struct actions_plan *p, struct err *e);

/* Builds the rollback of the context's environment to TARGET (previous,
 * rollback, or a version). */
int actions_build_rollback(struct actions_ctx *c, enum actions_strategy s,
			   const char *target, const char *actor,
			   const char *reason, struct actions_plan *p,
			   struct err *e);

/* Journals P (when P->id is 0), takes the environment's lock and runs the
 * steps not yet done, then the audit record; releases the lock. Returns 0
 * when the plan completed, EXIT_CHECK when refused (read-only, lock held:
 * E names the holder) or when a step failed (P's step says why, the plan
 * is journaled failed after its compensation ran), EXIT_BACKEND for an
 * unreachable backend. */
int actions_execute(struct actions_ctx *c, struct actions_plan *p, struct err *e);

/* Loads plan ID from the journal into *P (its steps' states included). */
int actions_load(struct store *st, long long id, struct actions_plan *p,
		 char *state, size_t state_size, struct err *e);

/* Resumes plan ID, which must be running (left by a killed process) or
 * failed: reconciles each step with the cluster and runs what remains. */
int actions_resume(struct actions_ctx *c, long long id, struct actions_plan *p,
		   struct err *e);

/* Marks plan ID abandoned (no cluster change), releases the lock it held
 * when its holder is gone, and audits. ACTOR is who abandons it. The audit
 * record says what is left: the cluster changes of the steps that ran
 * (they stay), the step a crash interrupted (it may or may not have taken
 * effect), and whether the registry move was reached; when it was not, the
 * record's "after" is the version the environment held before. NOTICE (its
 * text is appended to) says the same in short. */
int actions_abandon(struct store *st, long long id, const char *actor,
		    char *notice, size_t notice_size, struct err *e);

/* Whether the lock holder L is known dead: same host and no such pid. */
bool actions_lock_stale(const struct store_lock *l);

/* Takes ENV's lock for plan PLAN_ID: free, or held by a dead pid on this
 * host (NOTICE says so). Held: EXIT_CHECK naming owner, pid, host and age. */
int actions_lock(struct store *st, const char *env, long long plan_id,
		 const char *owner, char *notice, size_t notice_size,
		 struct err *e);
int actions_unlock(struct store *st, const char *env, struct err *e);

/* The plan as JSON (caller deletes), and back. */
cJSON *actions_plan_json(const struct actions_plan *p);
int actions_plan_from_json(const cJSON *o, struct actions_plan *p, struct err *e);

#endif
