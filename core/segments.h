/* segments: how a model does on parts of the population, whether it treats
 * protected groups alike, and what a retention campaign built on it is
 * worth.
 *
 * All three work on one scored, labelled set: the rows X (encoded through
 * the schema, as dataset.h loads them), the labels Y (1 = churned), the
 * model's probabilities SCORE, and the decision threshold (score >=
 * threshold means "predicted to churn").
 *
 * Segments. A segment column is a schema feature. A categorical one gives a
 * segment per level; a numeric one a segment per band when bands are given
 * (upper bounds b1 < b2 < ...: v <= b1, b1 < v <= b2, ..., v > bk, labelled
 * "0-12", "13-24", "25-48", "49+" for bounds 12, 24, 48: integer bounds are
 * assumed for the labels), else a segment per distinct value (at most
 * SEGMENTS_MAX_VALUES). Missing cells form a "missing" segment. For each:
 * rows, positives, ROC-AUC (undefined with one class), recall at the
 * threshold (undefined without positives), positive-prediction rate. A
 * segment with fewer than MIN_SIZE rows is reported but not judged; neither
 * is one whose ROC-AUC is undefined.
 *
 * Fairness, per protected attribute (a segment column): among its groups of
 * at least MIN_SIZE rows, the ratio of the lowest to the highest recall and
 * of the lowest to the highest positive-prediction rate. The four-fifths
 * rule asks both to be >= 0.8. Judged only with two or more such groups.
 *
 * Business impact, a retention campaign: rank the rows by score (highest
 * first; equal scores keep file order) and contact the first
 * floor(top_k x rows). Each contact costs CONTACT_COST; a contacted churner
 * accepts the offer with probability ACCEPTANCE_RATE and is then kept, which
 * is worth their customer value, VALUE_COLUMN (monthly charges) x
 * HORIZON_MONTHS (a missing value counts as 0; values come from the
 * encoded rows, so they are float32: money figures agree with a float64
 * computation to about 1e-7 relative). Non-churners gain nothing
 * from the offer. Expected figures:
 *
 *   saved      = acceptance_rate x sum of values of contacted churners
 *   cost       = contact_cost x contacted
 *   net        = saved - cost         (against contacting nobody, worth 0)
 *   random_net = contacted / rows x acceptance_rate x sum of values of all
 *                churners - cost      (the same number contacted at random)
 *
 * Lift curve: the ranked rows cut in ten deciles, the row of rank r (0 for
 * the highest score) in decile floor(10 r / n) + 1; per decile its churn rate / the
 * overall churn rate (lift), and cumulatively the lift and the share of all
 * churners captured (gain).
 */
#ifndef CHURNOPS_SEGMENTS_H
#define CHURNOPS_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "schema.h"

#define SEGMENTS_MIN_SIZE 100
#define SEGMENTS_TOLERANCE 0.05
#define SEGMENTS_FAIRNESS_MIN 0.8
#define SEGMENTS_MAX_VALUES 20
#define SEGMENTS_MAX_BANDS 16

/* One segment column: a feature name and, for a numeric one, optional band
 * upper bounds (strictly increasing). */
struct segments_column {
	const char *name;
	const double *bands;
	size_t nbands;
};

/* The Telco defaults: contract, internet_service, senior_citizen, tenure in
 * bands 0-12, 13-24, 25-48, 49+. */
extern const struct segments_column segments_default_columns[];
extern const size_t segments_default_ncolumns;

/* The Telco defaults for fairness: senior_citizen, female. */
extern const char *const segments_default_protected[];
extern const size_t segments_default_nprotected;

struct segments_group {
	char *column;
	char *label;
	size_t n, positives, predicted_positive, true_positive;
	double roc_auc;        /* NAN: undefined (one class) */
	double recall;         /* NAN: no positives */
	double positive_rate;  /* predicted positive / n */
	bool judged;           /* n >= min_size and roc_auc defined */
};

struct segments_report {
	struct segments_group *groups;
	size_t ngroups;
};

/* The segments of every column in COLS[0..NCOLS), in column order, each
 * column's segments in level, band or value order, "missing" last. Errors
 * (EXIT_INPUT): a column not in the schema, bands on a categorical column or
 * not increasing, a numeric column without bands holding more than
 * SEGMENTS_MAX_VALUES distinct values. R is the caller's (release with
 * segments_report_finish()). */
int segments_compute(const struct schema *s, const float *x, const float *y,
		     const float *score, size_t n, double threshold,
		     const struct segments_column *cols, size_t ncols,
		     size_t min_size, struct segments_report *r,
		     struct err *e);

void segments_report_finish(struct segments_report *r);

struct segments_fairness {
	char *attribute;
	struct segments_report groups; /* the attribute's segments */
	size_t judged_groups;          /* groups with >= min_size rows */
	double recall_ratio;           /* NAN when undefined */
	double positive_rate_ratio;    /* NAN when undefined */
	bool judged;                   /* >= 2 groups and both ratios defined */
	bool pass;                     /* judged and both ratios >= min_ratio */
};

/* Fairness for protected attribute ATTRIBUTE (a segment column without
 * bands). F is the caller's (release with segments_fairness_finish()). */
int segments_fairness(const struct schema *s, const float *x, const float *y,
		      const float *score, size_t n, double threshold,
		      const char *attribute, size_t min_size, double min_ratio,
		      struct segments_fairness *f, struct err *e);

void segments_fairness_finish(struct segments_fairness *f);

struct segments_business_opts {
	double top_k;            /* share contacted, (0, 1]; default 0.2 */
	double contact_cost;     /* per contact; default 10 */
	double acceptance_rate;  /* [0, 1]; default 0.3 */
	double horizon_months;   /* default 12 */
	const char *value_column; /* default "monthly_charges" */
};

void segments_business_defaults(struct segments_business_opts *o);

struct segments_business {
	struct segments_business_opts opts;
	size_t rows, positives, contacted, churners_contacted;
	double saved, cost, net, random_net, net_vs_random;
	double base_rate;
	double decile_lift[10], cumulative_lift[10], cumulative_gain[10];
	size_t decile_rows[10], decile_positives[10];
};

/* The campaign for O. Errors (EXIT_INPUT): VALUE_COLUMN not a numeric
 * feature, parameters out of range, no rows. */
int segments_business(const struct schema *s, const float *x, const float *y,
		      const float *score, size_t n,
		      const struct segments_business_opts *o,
		      struct segments_business *b, struct err *e);

/* JSON forms, for reports and views (caller frees). Undefined figures are
 * null, never NaN. */
cJSON *segments_group_to_json(const struct segments_group *g);
cJSON *segments_report_to_json(const struct segments_report *r);
cJSON *segments_fairness_to_json(const struct segments_fairness *f);
cJSON *segments_business_to_json(const struct segments_business *b);

#endif
