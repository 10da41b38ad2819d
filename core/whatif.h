/* whatif: one customer, scored and explained.
 *
 * A record holds one value per schema feature, both as text (what the user
 * typed or the file held; NULL when missing) and encoded for the model. It
 * starts from the schema's typical customer or from a row of a file, and is
 * edited one feature at a time; every edit is validated against the schema,
 * so an unknown feature, a non-number or a level the model never saw is an
 * error naming it rather than a silent missing value.
 */
#ifndef CHURNOPS_WHATIF_H
#define CHURNOPS_WHATIF_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "model.h"
#include "schema.h"

struct whatif_record {
	const struct schema *schema; /* borrowed; must outlive the record */
	char **text;                 /* nfeatures values, owned; NULL = missing */
	float *row;                  /* nfeatures encoded values */
};

/* The schema's typical customer: each feature's "typical" value. Fails
 * (EXIT_INPUT) naming the first feature that has none. */
int whatif_record_typical(struct whatif_record *r, const struct schema *s,
			  struct err *e);

/* Row N (1-based; row 1 is the line after the header) of the CSV at PATH.
 * Levels the schema does not know are an error here, not a missing value. */
int whatif_record_from_row(struct whatif_record *r, const struct schema *s,
			   const char *path, size_t n, struct err *e);

/* Applies "name=value" (value "" or NA: missing). */
int whatif_record_set(struct whatif_record *r, const char *assignment,
		      struct err *e);

/* Sets feature I to VALUE (NULL or missing text: missing). */
int whatif_record_set_value(struct whatif_record *r, size_t i,
			    const char *value, struct err *e);

void whatif_record_finish(struct whatif_record *r);

struct whatif_contribution {
	size_t feature;
	float contribution;
};

struct whatif_result {
	double probability;
	double margin;
	double base_value;
	/* nfeatures entries, sorted by |contribution|, largest first. */
	struct whatif_contribution *contributions;
	size_t ncontributions;
};

/* Scores and explains R with M. The caller frees RES with
 * whatif_result_finish(). */
int whatif_score(struct model *m, const struct whatif_record *r,
		 struct whatif_result *res, struct err *e);

void whatif_result_finish(struct whatif_result *res);

/* The DESIGN.md JSON object: model_version, model, sha256, probability,
 * margin, base_value, risk_level, contributions[{feature, value,
 * contribution}]. VERSION and MODEL_PATH are copied. */
cJSON *whatif_to_json(const struct whatif_record *r,
		      const struct whatif_result *res, const char *version,
		      const char *model_path, const char *sha256,
		      double cut_low, double cut_high);

#endif
