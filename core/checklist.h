/* checklist: the pre-deployment validation checklist of DESIGN.md.
 *
 * Every item has an id, a section, a title, a status, the measured value,
 * the threshold it was judged against and the evidence, in words, that a
 * reader (or the console's checklist view) shows. Statuses:
 *
 *   pass     measured and within its gate
 *   fail     measured and outside its gate (or not measurable: a metric
 *            that is undefined on the test set cannot pass)
 *   pending  cannot be measured yet; the evidence says why
 *   manual   needs a person's sign-off, which this artifact does not have
 *
 * Verdict: fail if any item fails; else pending if any item is pending or
 * manual; else pass.
 *
 * Sign-offs belong to one artifact: they are looked up by the model file's
 * sha256, so a retrained or edited model.json starts unsigned.
 *
 * What is measured, and how:
 *   roc_auc, precision, recall, f1   on the test file, at eval.json's
 *        threshold (0.5 without one), as metrics.h computes them; ROC-AUC
 *        with one class and PR-AUC without churners are undefined (NAN
 *        here, null in JSON, "undefined" in text), and an undefined
 *        ROC-AUC fails its gate
 *   cv_stability     the population std of the fold ROC-AUCs in eval.json
 *   latency          p99 of LATENCY_CALLS single-row model_predict() calls
 *        (one prediction thread, as a request worker runs), cycling over the
 *        test rows; the endpoint's latency joins when one is configured
 *   memory           peak RSS (ru_maxrss from wait4) of a child process
 *        running `SCORER score --model DIR --data TEST --out /dev/null
 *        --quiet`; without a scorer binary the item is pending
 *   artifact_size    the size of DIR/model.json
 *   compatibility    objective binary:logistic, the model's feature count
 *        and names equal the schema's, the model was saved by an XGBoost no
 *        newer (major.minor) than the one linked
 *   schema           the test file's levels are all in the schema and every
 *        output is a probability in [0, 1] (rows that do not encode at all
 *        are bad input: checklist_run fails with EXIT_INPUT)
 *   segments, fairness, business_impact   see segments.h
 *   model_card       DIR/model_card.md exists and names the artifact's sha256
 *   monitoring, rollback_plan, alert_thresholds   judged for a target
 *        environment (production unless told otherwise) against an
 *        operational context (struct checklist_context): the trigger
 *        configuration, a Prometheus client and a registry, each of which
 *        may be missing, which leaves its item pending with the reason
 *        monitoring       every trigger query, expanded for the environment,
 *        answers an instant query with at least one series whose value is
 *        not NaN; no data for some query fails; no Prometheus, or one that
 *        does not answer, is pending
 *   rollback_plan    the registry holds a version other than this artifact
 *        to go back to: the environment's current version (what a rollback
 *        after promoting this one returns to), else the last-known-good
 *        alias, else (this artifact already holds the stage) the previous
 *        production version; the target's artifact must still match its
 *        sha256. None at all (a first production version) fails
 *   alert_thresholds every configured trigger has a finite threshold, and
 *        the deployment guide's triggers (roc_auc, latency_p95, error_rate,
 *        drift) have not been switched off
 */
#ifndef CHURNOPS_CHECKLIST_H
#define CHURNOPS_CHECKLIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "metrics.h"
#include "prom.h"
#include "registry.h"
#include "segments.h"
#include "store.h"
#include "triggers.h"

enum checklist_status {
	CHECKLIST_PASS,
	CHECKLIST_FAIL,
	CHECKLIST_PENDING,
	CHECKLIST_MANUAL,
};

enum checklist_item_id {
	CL_ROC_AUC,
	CL_PRECISION,
	CL_RECALL,
	CL_F1,
	CL_CV_STABILITY,
	CL_LATENCY,
	CL_MEMORY,
	CL_ARTIFACT_SIZE,
	CL_COMPATIBILITY,
	CL_SCHEMA,
	CL_SEGMENTS,
	CL_FAIRNESS,
	CL_BUSINESS_IMPACT,
	CL_STAKEHOLDER_APPROVAL,
	CL_MODEL_CARD,
	CL_MONITORING,
	CL_ROLLBACK_PLAN,
	CL_ALERT_THRESHOLDS,
	CHECKLIST_NITEMS
};

/* What an item is, independent of any run. */
struct checklist_def {
	const char *id;       /* "roc_auc" */
	const char *section;  /* "performance", "technical", "business",
				 "operational" */
	const char *title;
	const char *unit;     /* of the value: "", "ms", "MB", ... */
	bool manual;          /* judged by sign-off */
};

extern const struct checklist_def checklist_defs[CHECKLIST_NITEMS];

/* The item index for ID, or -1. */
long checklist_find(const char *id);

const char *checklist_status_name(enum checklist_status s);

/* The checklist's gates and parameters: defaults from DESIGN.md, each
 * overridable by a gates file. */
struct checklist_gates {
	double roc_auc_min, precision_min, recall_min, f1_min;
	double cv_std_max;
	double latency_max_ms;
	long latency_calls;
	double memory_max_mb, artifact_max_mb;
	double segment_tolerance;
	long segment_min_size;
	struct segments_column *columns; /* owned when columns_configured */
	size_t ncolumns;
	bool columns_configured;
	double fairness_min;
	char **attributes;               /* owned when attributes_configured */
	size_t nattributes;
	bool attributes_configured;
	double business_min;             /* net value must exceed this */
	struct segments_business_opts business;
	char *value_column;              /* owned copy when configured */
	double *band_storage;            /* owned */
};

void checklist_gates_defaults(struct checklist_gates *g);

/* Overrides G from the JSON file at PATH: an object whose keys are item ids
 * and whose values are objects of that item's settings:
 *
 *   roc_auc, precision, recall, f1   {"min"}
 *   cv_stability                     {"max"}            (std of fold AUCs)
 *   latency                          {"max", "calls"}   (ms; calls >= 10)
 *   memory, artifact_size            {"max"}            (MB)
 *   segments    {"tolerance", "min_size", "columns": ["contract",
 *                {"name": "tenure", "bands": [12, 24, 48]}]}
 *   fairness    {"min", "attributes": ["senior_citizen"]}
 *   business_impact  {"min", "top_k", "contact_cost", "acceptance_rate",
 *                "horizon_months", "value_column"}
 *   the other items take no settings ({}).
 *
 * Errors (EXIT_INPUT) name the file and the key: an unknown item, an
 * unknown setting, a value of the wrong type or out of range. */
int checklist_gates_load(struct checklist_gates *g, const char *path,
			 struct err *e);

void checklist_gates_finish(struct checklist_gates *g);

struct checklist_item {
	const struct checklist_def *def;
	enum checklist_status status;
	bool has_value;
	double value;     /* in def->unit, when has_value */
	char *value_text; /* when the value is not a number, or NULL */
	char *threshold;  /* ">= 0.85" style text, owned */
	char *evidence;   /* owned */
};

/* The environment the checklist is judged for when none is named. */
#define CHECKLIST_DEFAULT_ENV "production"

/* Where the operational context comes from. */
struct checklist_context_opts {
	const char *env;        /* target environment; NULL: production */
	const char *triggers;   /* triggers file (must load); NULL: the
				   configuration directory's triggers.json when
				   it exists, else the built-in triggers */
	const char *prometheus; /* NULL: PROMETHEUS_URL, else the environment's
				   "prometheus" in the triggers file */
	long timeout_ms;        /* per Prometheus or MLflow request; 0: 5000 */
	/* The embedded registry lives here, and MLflow's history; NULL: no
	 * registry. Must outlive the context. */
	struct store *store;
	const atomic_bool *cancel; /* stops Prometheus requests; NULL: none */
};

/* What the operational items are judged against. Everything is owned by
 * the struct and released by checklist_context_close() (safe when zeroed).
 * A missing part leaves its item pending, the matching note saying why. The
 * handles are used by one thread at a time, like the clients themselves. */
struct checklist_context {
	char *env;
	struct trigger_config triggers;
	bool has_triggers;
	char *triggers_path;   /* the file loaded; NULL: built-in triggers */
	char *triggers_error;  /* the default file did not load: why */
	const struct trigger_env *tenv; /* ENV in triggers, or NULL */
	struct prom_client *prom;
	char *prom_note;       /* no client: why */
	struct registry *reg;
	char *reg_note;        /* no registry: why */
};

/* Builds X for O: loads the triggers, makes a Prometheus client (no request
 * is sent yet) and opens the registry (MLflow when MLFLOW_TRACKING_URI is
 * set, as the console's registry view does, else the embedded one in
 * O->store). Fails (EXIT_INPUT) only for what the caller asked for by name:
 * an unknown environment, an unreadable O->triggers, a malformed
 * O->prometheus URL; every other problem becomes a note. */
int checklist_context_open(struct checklist_context *x,
			   const struct checklist_context_opts *o, struct err *e);
void checklist_context_close(struct checklist_context *x);

struct checklist_opts {
	const char *model_dir;   /* model.json, schema.json, eval.json */
	const char *data;        /* the labelled test file */
	const struct checklist_gates *gates;
	/* The churnops binary, run to measure peak RSS; NULL leaves memory
	 * pending (unit tests, where /proc/self/exe is the test binary). */
	const char *scorer_exe;
	/* Where sign-offs are read from (for this artifact's sha256); NULL:
	 * none. The run itself is not recorded here: see
	 * store_add_checklist_run(). */
	struct store *store;
	/* Called on the calling thread as each stage of the run begins
	 * (STAGE in words, STEP of CHECKLIST_STAGES counting from 1), for a
	 * progress display; NULL: not called. STAGE lives for the call. */
	void (*progress)(void *ud, const char *stage, int step, int nsteps);
	void *progress_ud;
	/* The operational context, borrowed for the run; NULL: monitoring and
	 * rollback_plan pending, alert_thresholds judged on the built-in
	 * triggers, for production. */
	struct checklist_context *context;
};

/* How many stages checklist_run() reports through progress. */
#define CHECKLIST_STAGES 7

#define CHECKLIST_CAL_BINS 10

struct checklist_report {
	char sha256[65];
	char *model_dir, *data;
	char *env;      /* the environment judged for */
	char library_version[32];
	char *objective;
	struct checklist_item items[CHECKLIST_NITEMS];
	enum checklist_status verdict; /* PASS, FAIL or PENDING */

	/* The measurements, for reports and views. NAN = undefined. */
	size_t rows, positives;
	double threshold;
	double roc_auc, pr_auc, precision, recall, f1, brier;
	struct metrics_confusion confusion;
	struct metrics_calibration_bin calibration[CHECKLIST_CAL_BINS];
	double latency_p50_ms, latency_p95_ms, latency_p99_ms;
	long latency_calls;
	double peak_rss_mb;     /* NAN when not measured */
	long long artifact_bytes;
	double score_min, score_max;
	struct segments_report segments;
	struct segments_fairness *fairness;
	size_t nfairness;
	struct segments_business business;
	bool has_business;
	float *scores;  /* rows probabilities, test file order, owned */
	float *labels;  /* rows labels (1 = churned), owned */
	struct store_signoff *signoffs; /* this artifact's, owned */
	size_t nsignoffs;
};

/* Runs every item for O into R (the caller's; zeroed here; release with
 * checklist_report_finish()). Fails (EXIT_INPUT) only when the inputs cannot
 * be read at all: the model directory, its schema or model, the test file
 * (unreadable, a row that does not encode, no rows), or the store. Everything
 * else is an item's status. */
int checklist_run(const struct checklist_opts *o, struct checklist_report *r,
		  struct err *e);

void checklist_report_finish(struct checklist_report *r);

/* The report as DESIGN.md's JSON: {"verdict", "env", "model": {"dir",
 * "sha256", "xgboost"}, "data", "metrics": {...}, "items": [{"id", "section",
 * "title", "status", "value", "threshold", "unit", "evidence"}],
 * "signoffs": [{"item", "by", "note", "at"}]}; undefined numbers are null and named in
 * metrics.undefined. The caller frees the tree. */
cJSON *checklist_to_json(const struct checklist_report *r);

/* Re-judges the items that do not need the test data: stakeholder_approval
 * from SIGNOFFS, model_card from MODEL_DIR, and then the verdict, in a report
 * tree made by checklist_to_json() (e.g. read back from the store), so a
 * sign-off given after the run shows without running it again. */
void checklist_refresh_json(cJSON *report, const char *model_dir,
			    const char *sha256,
			    const struct store_signoff *signoffs, size_t n);

/* Re-judges monitoring, rollback_plan and alert_thresholds now against X
 * (NULL: as checklist_run does without one), then the verdict, in a report
 * tree made by checklist_to_json(), for the artifact named in its
 * model.sha256; "env" becomes X's environment. The operational items change
 * with the world, not the artifact, so a stored run shows them as they
 * are. */
void checklist_refresh_ops_json(cJSON *report, struct checklist_context *x);

/* ---- the operational items' judges ------------------------------------
 * Pure functions of already-gathered facts, used by checklist_run() and by
 * the tests with recorded answers. Each fills IT (its def included) with
 * owned strings; release them with checklist_item_finish(). */

/* One trigger query as monitoring saw it. */
struct checklist_probe {
	const char *metric; /* the trigger's name */
	const char *query;  /* expanded, or NULL when it could not be */
	const char *error;  /* no answer (failed, not expandable): why; or NULL */
	size_t nseries;     /* series in the answer with a non-NaN value */
};

/* Series of R holding at least one sample whose value is not NaN. */
size_t checklist_series_with_data(const struct prom_result *r);

/* monitoring for ENV: pending with UNAVAILABLE (no Prometheus, none
 * answering: which URL and why) when that is set; else pass when every
 * probe answered with data, fail naming the metrics and queries that did
 * not (or when there is no trigger query at all). */
void checklist_judge_monitoring(struct checklist_item *it, const char *env,
				const char *url, const char *unavailable,
				const struct checklist_probe *p, size_t n);

/* A version the environment could roll back to. */
struct checklist_rollback_candidate {
	const char *role;    /* "current production version", ... */
	const char *label;   /* NULL: no version in this role */
	const char *sha256;
	const char *problem; /* it cannot serve as a target: why; or NULL */
};

/* rollback_plan for ENV and the artifact SHA256: pending with UNAVAILABLE
 * (no registry, or it did not answer) when that is set; else pass on the
 * first candidate that is another artifact without a problem, fail when
 * there is none (saying so when the registry holds no version of ENV at
 * all). REGISTRY names the registry in the evidence. */
void checklist_judge_rollback(struct checklist_item *it, const char *env,
			      const char *registry, const char *sha256,
			      const char *unavailable,
			      const struct checklist_rollback_candidate *c, size_t n);

/* alert_thresholds on the trigger configuration C, loaded from SOURCE (NULL:
 * the built-in triggers); C NULL with ERROR (why it did not load) fails. */
void checklist_judge_thresholds(struct checklist_item *it,
				const struct trigger_config *c,
				const char *source, const char *error);

void checklist_item_finish(struct checklist_item *it);

/* Whether item ID may be signed off (only manual items may). */
bool checklist_signable(const char *id);

#endif
