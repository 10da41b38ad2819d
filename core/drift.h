/* drift: how far a current data set has moved from a reference one.
 *
 * Population Stability Index per feature, over bins taken from the
 * reference:
 *
 *   numeric      the reference's deciles (numpy.percentile at 10, 20, ...,
 *                90, linear interpolation, over its non-missing values;
 *                duplicate edges merged) cut the line into bins
 *                (-inf, e1], (e1, e2], ..., (ek, +inf): open at both ends,
 *                so current values outside the reference's range still land
 *                in the first or last bin;
 *   categorical  one bin per level (the schema's levels when a model is
 *                given, else the reference's distinct values), plus an
 *                "unseen" bin for values that are not among them;
 *   both         plus a "missing" bin for empty and NA cells, and, for a
 *                numeric column of a file read without a schema, a
 *                "not a number" bin for current cells that do not parse.
 *
 * With r and c the fractions of the reference's and the current rows in a
 * bin (denominators: all rows, missing included),
 *
 *   PSI = sum over bins of (c' - r') * ln(c' / r'),  x' = max(x, DRIFT_EPSILON)
 *
 * The epsilon stands in for an empty bin, whose log ratio would otherwise be
 * infinite: a bin empty on one side contributes as if it held 0.01 % of the
 * rows; a bin empty on both sides contributes 0. Bands: PSI < 0.1 stable,
 * 0.1 <= PSI <= 0.25 moderate, > 0.25 significant.
 *
 * Overall drift score: the largest feature PSI (which feature is reported).
 * The maximum, not the mean, because one feature moving a lot is already a
 * reason to look (a mean over twenty features would hide a contract mix
 * turned upside down), and because it is what the rollback trigger "drift
 * > 0.2" compares against. The mean is reported too.
 *
 * With a model, the score distribution's PSI (the model's probabilities on
 * both sets, binned by the reference's deciles as a numeric feature) is
 * reported beside the features; it is not part of the overall score.
 */
#ifndef CHURNOPS_DRIFT_H
#define CHURNOPS_DRIFT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "model.h"
#include "schema.h"

#define DRIFT_EPSILON 1e-4
#define DRIFT_MODERATE 0.1
#define DRIFT_SIGNIFICANT 0.25

enum drift_band { DRIFT_STABLE, DRIFT_BAND_MODERATE, DRIFT_BAND_SIGNIFICANT };

struct drift_bin {
	char *label;       /* "<= 9", "(9, 29]", "> 60", a level, "unseen",
			      "missing", "not a number" */
	size_t ref_count, cur_count;
	double ref_frac, cur_frac;
};

struct drift_feature {
	char *name;
	bool categorical;
	double psi;
	enum drift_band band;
	struct drift_bin *bins;
	size_t nbins;
	size_t unseen;     /* current cells in the unseen or not-a-number bin */
};

struct drift_report {
	size_t ref_rows, cur_rows;
	struct drift_feature *features;
	size_t nfeatures;
	double overall;        /* max feature PSI; 0 with no features */
	size_t overall_feature; /* index of that feature */
	double mean_psi;
	size_t band_counts[3]; /* features per band */
	bool has_score;
	struct drift_feature score; /* "churn_probability", when has_score */
};

/* Sum of (c' - r') ln(c' / r') over N bins, x' = max(x, DRIFT_EPSILON). */
double drift_psi(const double *ref_frac, const double *cur_frac, size_t n);

enum drift_band drift_band_of(double psi);
const char *drift_band_name(enum drift_band b);   /* "stable", ... */

/* PSI of a numeric column: REF[0..NREF) and CUR[0..NCUR), NAN = missing;
 * CUR_INVALID more current rows held cells that were not numbers (counted
 * in the current rows). Fills F (the caller's; release with
 * drift_feature_finish()). */
int drift_numeric(const char *name, const double *ref, size_t nref,
		  const double *cur, size_t ncur, size_t cur_invalid,
		  struct drift_feature *f, struct err *e);

/* PSI of a categorical column of cells (NULL, "" or "NA" = missing).
 * LEVELS[0..NLEVELS) are the bins; when LEVELS is NULL they are the
 * reference's distinct values in strcmp order. A cell of either set that is
 * not a level goes to the unseen bin. */
int drift_categorical(const char *name, const char *const *levels,
		      size_t nlevels, const char *const *ref, size_t nref,
		      const char *const *cur, size_t ncur,
		      struct drift_feature *f, struct err *e);

void drift_feature_finish(struct drift_feature *f);

struct drift_opts {
	/* With a schema, its features are compared (columns found by name,
	 * types and levels from the schema, a non-number in a numeric feature
	 * is an error). Without, every column of the reference but those in
	 * EXCLUDE is compared: numeric when each non-missing reference cell is
	 * a number, else categorical. */
	const struct schema *schema;
	struct model *model;   /* needs schema; adds the score PSI */
	const char *const *exclude;  /* column names, NULL-terminated; may be NULL */
};

/* Reads both CSV files (whole, into memory) and fills R (the caller zeroes
 * it; release with drift_report_finish()). Errors (EXIT_INPUT, naming file
 * and line): unreadable or empty files, a compared column absent from
 * either, a ragged row, a non-number where the schema wants a number. */
int drift_compute(const char *ref_path, const char *cur_path,
		  const struct drift_opts *o, struct drift_report *r,
		  struct err *e);

void drift_report_finish(struct drift_report *r);

/* {"reference_rows", "current_rows", "epsilon", "overall": {"score",
 * "definition", "feature", "band", "mean_psi"}, "bands": {"stable",
 * "moderate", "significant"}, "features": [{"name", "type", "psi", "band",
 * "unseen", "bins": [{"label", "reference", "current",
 * "reference_fraction", "current_fraction"}]}], "score": {...} | null}.
 * The caller frees the tree. */
cJSON *drift_report_to_json(const struct drift_report *r);

/* The same for one feature (an element of "features"). */
cJSON *drift_feature_to_json(const struct drift_feature *f);

#endif
