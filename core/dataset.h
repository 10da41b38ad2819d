/* dataset: a labelled CSV file loaded into memory as model rows.
 *
 * The rows are encoded through a schema binding (see schema.h), so columns
 * are found by name and categorical cells become level codes; the target
 * column becomes 1 for the schema's positive label and 0 for the other one.
 */
#ifndef CHURNOPS_DATASET_H
#define CHURNOPS_DATASET_H

#include <stddef.h>

#include "err.h"
#include "schema.h"

struct dataset {
	size_t nrows, ncols; /* ncols == schema->nfeatures */
	float *x;            /* row-major, nrows * ncols, NAN = missing */
	float *y;            /* 1 for positive, 0 otherwise */
};

/* Loads the labelled CSV at PATH ("-" for standard input) through S, which
 * must name its target and positive label. D is the caller's struct, filled
 * on success (release with dataset_finish()) and zeroed on failure.
 *
 * Errors (EXIT_INPUT), as schema_bind() and schema_encode() give them, plus:
 * the schema without a target or positive label, the target column absent
 * ("data.csv: line 1: missing target column 'churn'"), a target cell that is
 * missing or is neither the positive label nor the one other label seen
 * first ("data.csv: line 9, column 1 (churn): a third target value 'Maybe'
 * (expected 'Yes' or 'No')"), no data rows after the header. Levels not in
 * the schema are scored as missing (NAN), never an error. */
int dataset_load(const char *path, const struct schema *s, struct dataset *d,
		 struct err *e);

/* dataset_load(), and when UNSEEN_REPORT is non-NULL it receives the
 * binding's report of levels not in the schema (see
 * schema_binding_unseen_report(); NULL when there were none), which the
 * caller frees. */
int dataset_load_report(const char *path, const struct schema *s,
			struct dataset *d, char **unseen_report, struct err *e);

/* Frees the rows and zeroes D. Safe on a zeroed or finished dataset. */
void dataset_finish(struct dataset *d);

#endif
