/* store: churnops' embedded database (SQLite), the only caller of SQLite.
 *
 * One file, by default DATA_DIR/churnops.db (see paths.h). Opening it turns
 * on WAL journaling (readers never block the one writer), foreign keys and a
 * busy timeout, so the console's workers and a CLI run at the same time wait
 * for each other instead of failing. The schema is versioned by PRAGMA
 * user_version: each migration runs once, in its own transaction, in order;
 * a database from a newer churnops (a version above ours) is refused rather
 * than guessed at.
 *
 * Migration 1: signoffs (manual checklist items signed off for one model
 * artifact, identified by its sha256, so a changed artifact has none) and
 * checklist_runs (each `validate` report, as JSON).
 *
 * Migration 2: the embedded registry (registry_sqlite.c): registered models,
 * their versions, aliases, version tags, and the promotion history (every
 * stage and alias
 * move, for every registry back end, keyed by back end and registry).
 *
 * Migration 3: the action journal (plans, and their steps with the intent
 * recorded before a step runs and the result after), one lock per
 * environment (owner, pid, host, started) and the audit log (who, when,
 * what, environment, version, outcome, detail; never credentials).
 *
 * Migration 4: the audit log's before and after versions and reason.
 *
 * Migration 5: trigger evaluations (core/triggers' states as `churnops
 * watch` and the console's metrics view evaluate them): environment,
 * metric, evaluation time, state, value, number of series and, when the
 * query failed, its error text; indexed by (environment, metric, time) and
 * by time for pruning.
 *
 * Times are ISO 8601 UTC with milliseconds ("2026-11-26T18:50:00.123Z"),
 * set by the database when a row is written.
 */
#ifndef CHURNOPS_STORE_H
#define CHURNOPS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define STORE_BUSY_TIMEOUT_MS 5000

struct store;

/* DATA_DIR/churnops.db, newly allocated (caller frees). */
char *store_default_path(struct err *e);

/* Opens (creating it and its directory if needed) the database at PATH, or
 * at store_default_path() when PATH is NULL, and brings it to the latest
 * schema version. Errors: EXIT_INPUT naming the file. The caller closes it
 * with store_close(). */
struct store *store_open(const char *path, struct err *e);

void store_close(struct store *st);   /* NULL ok */

/* The file the store was opened from; valid until store_close(). */
const char *store_path(const struct store *st);

/* The schema version (PRAGMA user_version) after opening. */
int store_schema_version(struct store *st);

/* The schema version this build migrates to. */
int store_latest_version(void);

struct store_signoff {
	long long id;
	char *model_sha256;
	char *item;
	char *by;
	char *note;  /* "" when none was given */
	char *at;
};

/* Records that BY signed off ITEM for the artifact SHA256 (NOTE may be
 * NULL). */
int store_add_signoff(struct store *st, const char *sha256, const char *item,
		      const char *by, const char *note, struct err *e);

/* Every sign-off for SHA256, oldest first, into a new array *OUT of *N
 * entries; free it with store_signoffs_free(). */
int store_list_signoffs(struct store *st, const char *sha256,
			struct store_signoff **out, size_t *n, struct err *e);

void store_signoffs_free(struct store_signoff *v, size_t n);   /* NULL ok */

struct store_checklist_run {
	long long id;
	char *model_sha256;
	char *verdict;
	char *report_json;
	char *at;
};

/* Appends a checklist run (REPORT_JSON as produced by checklist_to_json). */
int store_add_checklist_run(struct store *st, const char *sha256,
			    const char *verdict, const char *report_json,
			    struct err *e);

/* The latest run for SHA256 into *RUN (the caller zeroes it and frees it
 * with store_checklist_run_finish()); *FOUND says whether there was one. */
int store_last_checklist_run(struct store *st, const char *sha256,
			     struct store_checklist_run *run, bool *found,
			     struct err *e);

void store_checklist_run_finish(struct store_checklist_run *run);

/* ---- transactions -------------------------------------------------------
 * BEGIN IMMEDIATE takes the write lock at once (waiting up to the busy
 * timeout for another process's), so a read-then-write sequence inside it
 * sees no interleaved writer: two promotions at once serialise. A failed
 * commit rolls back; rollback is a no-op outside a transaction. */
int store_tx_begin(struct store *st, struct err *e);
int store_tx_commit(struct store *st, struct err *e);
void store_tx_rollback(struct store *st);

/* ---- the embedded registry (used by registry_sqlite.c) ------------------ */

/* One model version row. Strings are owned by the struct. stage is one of
 * "none", "staging", "production", "archived"; created_ms is Unix time in
 * milliseconds. */
struct store_model_version {
	char *model;
	char *version;
	char *artifact;    /* path of the stored copy */
	char *sha256;
	char *schema_json;
	char *eval_json;
	char *verdict;     /* checklist verdict at registration, "" if none */
	char *description;
	char *creator;
	long long created_ms;
	char *stage;
	char *status;      /* "READY" */
};

void store_model_version_finish(struct store_model_version *v);  /* NULL ok */
void store_model_versions_free(struct store_model_version *v, size_t n);

/* Adds the registered model NAME if it is not there yet. */
int store_reg_add_model(struct store *st, const char *name, struct err *e);

/* Adds a version (stage and status take their defaults; eval_json, verdict
 * and description may be NULL). A version already registered under that
 * model fails with EXIT_CHECK. */
int store_reg_add_version(struct store *st, const struct store_model_version *v,
			  struct err *e);

/* The version into *OUT (zeroed by the caller, freed with
 * store_model_version_finish); *FOUND says whether it exists. */
int store_reg_get_version(struct store *st, const char *model,
			  const char *version, struct store_model_version *out,
			  bool *found, struct err *e);

/* Every version of MODEL in registration order into a new array; free with
 * store_model_versions_free. */
int store_reg_list_versions(struct store *st, const char *model,
			    struct store_model_version **out, size_t *n,
			    struct err *e);

/* The (latest registered) version holding STAGE, newly allocated, or NULL in
 * *VERSION when none does. */
int store_reg_stage_holder(struct store *st, const char *model,
			   const char *stage, char **version, struct err *e);

/* Moves VERSION to STAGE; with ARCHIVE_EXISTING every other holder of STAGE
 * is archived first. Call inside a transaction to make the pair atomic.
 * EXIT_INPUT when the version does not exist. */
int store_reg_set_stage(struct store *st, const char *model,
			const char *version, const char *stage,
			bool archive_existing, struct err *e);

struct store_alias {
	char *alias;
	char *version;
};

/* The version ALIAS points at, newly allocated, or NULL when unset. */
int store_reg_get_alias(struct store *st, const char *model, const char *alias,
			char **version, struct err *e);

/* Points ALIAS at VERSION (moving it if set); the version must exist. */
int store_reg_set_alias(struct store *st, const char *model, const char *alias,
			const char *version, struct err *e);

int store_reg_delete_alias(struct store *st, const char *model,
			   const char *alias, bool *found, struct err *e);

/* Every alias of MODEL, sorted by name; free with store_reg_aliases_free. */
int store_reg_list_aliases(struct store *st, const char *model,
			   struct store_alias **out, size_t *n, struct err *e);
void store_reg_aliases_free(struct store_alias *v, size_t n);  /* NULL ok */

struct store_tag {
	char *version;
	char *key;
	char *value;
};

/* Sets (or replaces) a free-form tag on a version; the version must exist. */
int store_reg_set_tag(struct store *st, const char *model, const char *version,
		      const char *key, const char *value, struct err *e);

/* Every tag of every version of MODEL, by version and key; free with
 * store_reg_tags_free. */
int store_reg_list_tags(struct store *st, const char *model, struct store_tag **out,
			size_t *n, struct err *e);
void store_reg_tags_free(struct store_tag *v, size_t n);  /* NULL ok */

/* One promotion-history entry. kind is "stage" or "alias"; name is the
 * stage or alias; from/to are versions, "" for none. The registry names the
 * registry instance ("store" for the embedded one, the tracking URI for
 * MLflow) so histories of different servers never mix. at is set by the
 * store when appending. */
struct store_reg_event {
	long long id;
	char *backend;
	char *registry;
	char *model;
	char *kind;
	char *name;
	char *from_version;
	char *to_version;
	char *actor;
	char *reason;
	char *at;
};

/* Appends EV (id and at are ignored; from, to and reason may be NULL). */
int store_reg_add_event(struct store *st, const struct store_reg_event *ev,
			struct err *e);

/* The history of one model in one registry, oldest first; free with
 * store_reg_events_free. */
int store_reg_list_events(struct store *st, const char *backend,
			  const char *registry, const char *model,
			  struct store_reg_event **out, size_t *n, struct err *e);
void store_reg_events_free(struct store_reg_event *v, size_t n);  /* NULL ok */

/* ---- the action journal (core/actions) ----------------------------------- */

struct store_step {
	char *description;
	char *state;      /* pending, running, done, skipped, failed */
	char *intent_at;  /* "" until the step starts */
	char *result_at;  /* "" until it ends */
	char *result;
};

/* One journaled plan. kind is "promote" or "rollback"; state is running,
 * done, failed or abandoned; plan_json is the plan as core/actions wrote it.
 * Every string is owned by the struct. */
struct store_plan {
	long long id;
	char *env, *kind, *version, *strategy, *actor, *state;
	char *plan_json, *detail, *created, *updated;
	struct store_step *steps;
	size_t nsteps;
};

void store_plan_finish(struct store_plan *p);          /* NULL ok */
void store_plans_free(struct store_plan *v, size_t n); /* NULL ok */

/* Journals plan P (its env, kind, version, strategy, actor, plan_json are
 * read) with the step descriptions STEPS[0..NSTEPS), all pending, in one
 * transaction; *ID receives the plan's id. */
int store_plan_create(struct store *st, const struct store_plan *p,
		      const char *const *steps, size_t nsteps, long long *id,
		      struct err *e);
int store_plan_set_state(struct store *st, long long id, const char *state,
			 const char *detail, struct err *e);
int store_plan_set_json(struct store *st, long long id, const char *plan_json,
			struct err *e);
/* Before step IDX runs: state running, intent time now. */
int store_step_intent(struct store *st, long long plan, size_t idx, struct err *e);
/* After it ran: STATE (done, skipped, failed) and what happened. */
int store_step_result(struct store *st, long long plan, size_t idx,
		      const char *state, const char *result, struct err *e);
/* Plan ID with its steps into *P (zeroed by the caller); *FOUND. */
int store_plan_get(struct store *st, long long id, struct store_plan *p,
		   bool *found, struct err *e);
/* The latest LIMIT plans (0: all) in STATE (NULL: any), oldest first. */
int store_plan_list(struct store *st, const char *state, size_t limit,
		    struct store_plan **out, size_t *n, struct err *e);

/* One environment's lock: who holds it, since when (age_s seconds ago). */
struct store_lock {
	char *env;
	long long plan_id;
	char *owner;
	long pid;
	char *host;
	char *started;
	double age_s;
};

void store_lock_finish(struct store_lock *l); /* NULL ok */

int store_lock_get(struct store *st, const char *env, struct store_lock *l,
		   bool *found, struct err *e);
/* Takes WANT->env's lock for WANT (env, plan_id, owner, pid, host) in one
 * immediate transaction: *TAKEN true when it was free, or when it was held
 * by pid EXPECT_PID (> 0: a takeover of a lock the caller judged stale);
 * otherwise *TAKEN false and *HOLDER (zeroed by the caller; finish it)
 * receives the holder. */
int store_lock_take(struct store *st, const struct store_lock *want,
		    long expect_pid, struct store_lock *holder, bool *taken,
		    struct err *e);
int store_lock_set_plan(struct store *st, const char *env, long long plan_id,
			struct err *e);
/* Releases ENV's lock if PID holds it. */
int store_lock_release(struct store *st, const char *env, long pid, struct err *e);

/* One audit record. Nothing secret goes into it: callers write names,
 * versions and outcomes, never credentials. VERSION is the target; BEFORE
 * and AFTER what the environment held before and after the action (AFTER
 * is BEFORE again when it failed or was refused); REASON why it was done.
 * Records from before migration 4 have "" for the last three. */
struct store_audit {
	long long id;
	char *at, *actor, *action, *env, *version, *outcome, *detail;
	char *before, *after, *reason;
};

/* Appends A (id and at ignored; env, version, detail, before, after and
 * reason may be NULL). */
int store_audit_add(struct store *st, const struct store_audit *a, struct err *e);
/* The latest LIMIT records (0: all) for ENV (NULL: every), oldest first. */
int store_audit_list(struct store *st, const char *env, size_t limit,
		     struct store_audit **out, size_t *n, struct err *e);
void store_audit_free(struct store_audit *v, size_t n); /* NULL ok */

/* ---- trigger evaluations (core/triggers, cli/metrics.c, views/metrics.c) --
 * Every evaluation of a trigger is appended, so the history of its states
 * outlives the process that evaluated it. Rows older than the retention
 * (STORE_EVAL_RETENTION_S unless store_eval_set_retention says otherwise)
 * are deleted by store_eval_add itself, at most once every
 * STORE_EVAL_PRUNE_EVERY_S per connection: the index on time makes a prune
 * that finds nothing one index probe. Two processes (a watch and the
 * console) may append at once: each append is one write transaction
 * waiting out the busy timeout. */

#define STORE_EVAL_RETENTION_S (7 * 86400.0)
#define STORE_EVAL_PRUNE_EVERY_S 60.0
#define STORE_EVAL_ERROR_MAX 1000 /* bytes of error text kept */

/* One evaluation. at is the evaluation time in seconds since the epoch (the
 * evaluator's clock, not the time the row was written). state is a
 * triggers_state_name() ("nodata", "inactive", "pending", "firing"). value
 * means something only when has_value. error is "" unless the query failed
 * (the state is then the one the trigger kept); it holds the server's or
 * the network's words, never credentials (a Prometheus URL with userinfo
 * is refused by core/prom). prev_state is filled by
 * store_eval_transitions only: the metric's state before this row, "" when
 * the row is the first one kept. Strings are owned by the struct. */
struct store_eval {
	long long id;
	char *env;
	char *metric;
	double at;
	char *state;
	bool has_value;
	double value;
	long long nseries;
	char *error;
	char *prev_state;
};

/* Appends EV (id and prev_state are ignored; error may be NULL, and is cut
 * to STORE_EVAL_ERROR_MAX bytes), pruning first when a prune is due. A
 * non-finite value is stored as no value. */
int store_eval_add(struct store *st, const struct store_eval *ev, struct err *e);

/* The retention for this connection's pruning, in seconds (> 0). */
void store_eval_set_retention(struct store *st, double seconds);

/* Evaluations of ENV (NULL: every environment), only METRIC's when METRIC
 * is not NULL, with at >= SINCE, newest first, at most LIMIT (0: all), into
 * a new array; free it with store_evals_free. */
int store_eval_list(struct store *st, const char *env, const char *metric,
		    double since, size_t limit, struct store_eval **out, size_t *n,
		    struct err *e);

/* As store_eval_list, but only the transitions: the rows whose state
 * differs from the previous row of the same environment and metric (the
 * first row kept of a metric counts, with prev_state ""). A row at or after
 * SINCE is compared with the row before it even when that one is older than
 * SINCE, so the window does not invent a transition at its start. */
int store_eval_transitions(struct store *st, const char *env, const char *metric,
			   double since, size_t limit, struct store_eval **out,
			   size_t *n, struct err *e);

/* Deletes the evaluations with at < BEFORE; *REMOVED (may be NULL) receives
 * how many. */
int store_eval_prune(struct store *st, double before, long long *removed,
		     struct err *e);

void store_evals_free(struct store_eval *v, size_t n); /* NULL ok */

#endif
