/* triggers: the model's key metrics as PromQL queries, and the rollback
 * triggers on them, evaluated the way Prometheus evaluates alert rules.
 *
 * A metric is a query template with placeholders {namespace}, {deployment},
 * {version} and {window} (the rate window, "5m" by default), an optional
 * trigger (a comparison with a threshold) and a `for:` duration. Defaults
 * follow the deployment guide:
 *
 *   roc_auc      model_performance_score{metric_type="roc_auc"}   < 0.80 for 10m
 *   latency_p95  histogram_quantile(0.95, ...)                     > 0.5 s for 5m
 *   error_rate   errors over predictions                           > 0.05 for 5m
 *   drift        data_drift_score                                  > 0.2 for 15m
 *   throughput   predictions per second                            (no trigger)
 *
 * A canary may be worse than stable by at most: ROC-AUC 0.02, p95 latency
 * 100 ms, error rate 1 point, drift 0.05 (throughput is not compared).
 *
 * A trigger's state follows Prometheus' alerting rules: when the condition
 * first holds it becomes pending (active since that evaluation), it fires
 * once it has held for the `for:` duration (at once when that is zero), and
 * any evaluation where it does not hold resets it to inactive. An evaluation
 * that finds no data (no series, or only NaN) is its own state, nodata: it is
 * shown, never taken as healthy, and like a cleared condition it resets the
 * pending clock. When a query returns several series, the worst value
 * counts (the lowest for "<", the highest for ">").
 *
 * Environments map a name (staging, production) to the namespace and
 * deployment whose metrics count, a rollback policy (off, prompt, auto) and
 * optionally their own Prometheus URL. Everything can be overridden by a
 * JSON file (see triggers_config_load).
 */
#ifndef CHURNOPS_TRIGGERS_H
#define CHURNOPS_TRIGGERS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "prom.h"

enum trigger_op {
	TRIGGER_ABOVE, /* fires when value > threshold */
	TRIGGER_BELOW, /* fires when value < threshold */
};

enum trigger_state {
	TRIGGER_NODATA,
	TRIGGER_INACTIVE,
	TRIGGER_PENDING,
	TRIGGER_FIRING,
};

enum trigger_policy {
	POLICY_OFF,
	POLICY_PROMPT,
	POLICY_AUTO,
};

struct trigger_def {
	char *name;  /* "latency_p95": stable, used in JSON and overrides */
	char *title; /* "p95 latency" */
	char *query; /* template */
	char *unit;  /* "s", "ratio", "score", "req/s" */
	bool has_trigger;
	enum trigger_op op;
	double threshold;
	double for_s; /* seconds */
	double canary_margin; /* how much worse a canary may be; < 0: not compared */
};

struct trigger_env {
	char *name;
	char *namespace;
	char *deployment;
	enum trigger_policy policy;
	char *prometheus_url; /* NULL: PROMETHEUS_URL */
	char *canary_deployment; /* NULL: DEPLOYMENT-canary */
};

/* Owned by the struct; triggers_config_finish frees it (safe when zeroed). */
struct trigger_config {
	struct trigger_def *defs;
	size_t ndefs;
	struct trigger_env *envs;
	size_t nenvs;
	double interval; /* evaluation interval in seconds (15 s) */
	char *window;    /* {window}: "5m" */
};

/* Fills C with the defaults. */
int triggers_config_defaults(struct trigger_config *c, struct err *e);

/* Loads the defaults, then applies the JSON file PATH over them:
 *
 *   {"interval": "15s", "window": "5m",
 *    "metrics": {"latency_p95": {"threshold": 0.3, "for": "1m",
 *                                "canary_margin": 0.05},
 *                "drift": {"trigger": false},
 *                "queue": {"title": "...", "query": "...", "unit": "",
 *                          "op": ">", "threshold": 10, "for": "0s"}},
 *    "environments": {"production": {"namespace": "...", "deployment": "...",
 *                     "policy": "off"|"prompt"|"auto", "prometheus": "URL",
 *                     "canary_deployment": "..."}}}
 *
 * A new metric needs a query; a new trigger needs op and threshold. Unknown
 * keys and bad values fail with EXIT_INPUT naming the file and the key.
 * PATH NULL just loads the defaults. */
/* CONFIG_DIR/triggers.json (core/paths.h) when it exists, newly allocated;
 * NULL when there is none (or no configuration directory at all). */
char *triggers_default_path(void);

int triggers_config_load(struct trigger_config *c, const char *path,
			 struct err *e);
void triggers_config_finish(struct trigger_config *c);

const struct trigger_env *triggers_config_env(const struct trigger_config *c,
					      const char *name);

/* The query of DEF for ENV with its placeholders filled; the caller frees
 * it. A template using {version} needs VERSION (EXIT_INPUT otherwise).
 * Values are inserted as PromQL string contents, with quotes and
 * backslashes escaped. */
char *triggers_expand(const struct trigger_config *c, const struct trigger_def *def,
		      const struct trigger_env *env, const char *version,
		      struct err *e);

const char *triggers_state_name(enum trigger_state s);
const char *triggers_policy_name(enum trigger_policy p);
bool triggers_policy_parse(const char *s, enum trigger_policy *out);
const char *triggers_op_symbol(enum trigger_op op);

/* D's value V in its unit into BUF: seconds as milliseconds, ratios as
 * percentages, "no data" when !HAS, NaN and infinities named. */
void triggers_format_value(const struct trigger_def *d, bool has, double v, char *buf,
			   size_t size);

/* D's trigger condition ("< 0.80 for 10m") into BUF, or NONE when D has
 * no trigger. */
void triggers_format_condition(const struct trigger_def *d, const char *none, char *buf,
			       size_t size);

/* Where one trigger stands. Times are seconds since the epoch; 0 when not
 * applicable. */
struct trigger_status {
	enum trigger_state state;
	double since;      /* when the current state began */
	double active_at;  /* pending or firing: when the condition began to hold */
	double fired_at;   /* firing: when it started firing */
	double last_eval;
	bool has_value;
	double value;      /* the worst value at the last evaluation */
	size_t nseries;    /* series the last evaluation returned */
};

/* A fresh status: nodata, never evaluated. */
void triggers_status_init(struct trigger_status *s);

/* True when VALUE meets DEF's firing condition. */
bool triggers_condition(const struct trigger_def *def, double value);

/* One evaluation at time NOW: the state machine, nothing else. HAS_VALUE
 * false (or a NaN value) means no data. A definition without a trigger only
 * records the value (inactive or nodata). */
void triggers_step(struct trigger_status *s, const struct trigger_def *def,
		   double now, bool has_value, double value);

/* The worst non-NaN value across R's series at time T (matrix: the sample
 * whose time is T within a millisecond; vector or scalar: the one sample).
 * Returns false when there is none. */
bool triggers_worst(const struct trigger_def *def, const struct prom_result *r,
		    double t, double *value, size_t *nseries);

/* Replays a range answer R (START to END every STEP) through the state
 * machine, as if the trigger had been evaluated at every step. */
void triggers_replay(struct trigger_status *s, const struct trigger_def *def,
		     const struct prom_result *r, double start, double end,
		     double step);

/* How far back triggers_evaluate_history looks for DEF: twice the `for:`
 * duration plus two intervals, at least ten intervals. */
double triggers_lookback(const struct trigger_def *def, double interval);

/* Evaluates DEF once at NOW with an instant query (the query's latency in
 * milliseconds goes to *MS when MS is not NULL). */
int triggers_evaluate(struct prom_client *pc, const struct trigger_config *c,
		      const struct trigger_def *def, const struct trigger_env *env,
		      const char *version, double now, struct trigger_status *s,
		      double *ms, struct err *e);

/* Rebuilds DEF's state at NOW from history: a range query over
 * triggers_lookback() every c->interval, replayed. The state is what a
 * rule evaluated every interval would show; a state that already held at
 * the start of the lookback shows that start as its `since`. */
int triggers_evaluate_history(struct prom_client *pc, const struct trigger_config *c,
			      const struct trigger_def *def,
			      const struct trigger_env *env, const char *version,
			      double now, struct trigger_status *s, double *ms,
			      struct err *e);

/* Prometheus alerting rules equivalent to the configured triggers, as YAML
 * for a rule_files entry: one group per environment ("churnops-ENV"), or
 * only ENV's when ENV is not NULL. Each trigger becomes an alert named
 * Churnops + its name in CamelCase ("ChurnopsLatencyP95") whose expr is the
 * expanded query compared with the threshold, with the same `for:`, and
 * labels env, trigger and severity "critical". Strings are written as YAML
 * double-quoted scalars (JSON string syntax), so any text is safe. The
 * caller frees the result. */
char *triggers_render_rules(const struct trigger_config *c,
			    const struct trigger_env *env, struct err *e);

/* ---- the evaluations' history (core/store) ------------------------------ */

struct store;

/* Whether NAME is a state's triggers_state_name(); the state into *OUT. */
bool triggers_state_parse(const char *name, enum trigger_state *out);

/* Appends one evaluation of DEF in environment ENV at AT to the store: S's
 * state, value and number of series; or, when ERROR is not NULL (the query
 * failed), the state S kept, no value, and ERROR as the reason. */
int triggers_record(struct store *st, const char *env, const struct trigger_def *def,
		    const struct trigger_status *s, double at, const char *error,
		    struct err *e);

/* Canary comparison: the same metric for the stable deployment and its
 * canary (the environment's canary_deployment, "DEPLOYMENT-canary" by
 * default). The canary is worse when it is beyond stable by more than the
 * metric's canary_margin in the trigger's bad direction (higher for ">",
 * lower for "<"). No data on either side is not a pass. */
enum canary_verdict {
	CANARY_OK,
	CANARY_WORSE,
	CANARY_NODATA,
};

struct canary_result {
	enum canary_verdict verdict;
	bool has_stable, has_canary;
	double stable, canary;
	double margin;
};

const char *triggers_canary_verdict_name(enum canary_verdict v);

/* The verdict for values already fetched (pure: the tests use it). */
void triggers_canary_judge(const struct trigger_def *def, bool has_stable,
			   double stable, bool has_canary, double canary,
			   struct canary_result *out);

/* Queries DEF at NOW for ENV's deployment and its canary and judges. */
int triggers_canary_compare(struct prom_client *pc, const struct trigger_config *c,
			    const struct trigger_def *def,
			    const struct trigger_env *env, const char *version,
			    double now, struct canary_result *out, struct err *e);

/* The status as JSON: {"name", "title", "query", "state", "value",
 * "threshold", "op", "for", "since", "active_at", "fired_at", "series"}.
 * QUERY may be NULL. The caller owns the object. */
cJSON *triggers_status_json(const struct trigger_def *def,
			    const struct trigger_status *s, const char *query);

#endif
