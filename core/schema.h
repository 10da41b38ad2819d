/* schema: the model's features, and how a CSV record becomes a model row.
 *
 * A schema lists the features in the model's column order, each numeric or
 * categorical. A categorical feature's levels are sorted bytewise (strcmp)
 * and a level's code is its index: pandas' sorted-category convention, so a
 * model trained in Python with astype("category") on the same levels scores
 * identically here.
 *
 * JSON form (schema.json in a model directory):
 *
 *     {"target": "churn", "positive": "Yes",
 *      "features": [{"name": "tenure", "type": "numeric",
 *                    "range": [0, 72], "typical": 29},
 *                   {"name": "contract", "type": "categorical",
 *                    "levels": ["Month-to-month", "One year", "Two year"],
 *                    "typical": "Month-to-month"}]}
 *
 * Reading data goes through a binding: the header of a CSV file is matched
 * to the schema by column name, in any order, and each record is then
 * encoded into a row of floats (NAN for missing). A level the schema does not
 * know is scored as missing and counted, never mapped to another level.
 */
#ifndef CHURNOPS_SCHEMA_H
#define CHURNOPS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "csv.h"
#include "err.h"

/* Most levels a categorical feature may have: codes must be exact floats,
 * and a feature this wide is almost surely an identifier column. */
#define SCHEMA_MAX_LEVELS 65536

enum schema_type { SCHEMA_NUMERIC, SCHEMA_CATEGORICAL };

struct schema_feature {
	char *name;
	enum schema_type type;
	char **levels; /* categorical: sorted by strcmp (bytewise), no duplicates */
	size_t nlevels;
	bool has_range; /* optional "range": [min, max], numeric only */
	double min, max;
	/* optional "typical": a number for a numeric feature; for a
	 * categorical one typical_level is the level (owned) and typical
	 * its code */
	bool has_typical;
	double typical;
	char *typical_level;
};

struct schema {
	char *target;   /* may be NULL for a scoring-only schema */
	char *positive; /* may be NULL */
	struct schema_feature *features;
	size_t nfeatures;
	char *source;   /* the file it was loaded from, for messages; may be NULL */
};

/* Builds a schema from a parsed JSON tree (the shape above); ROOT stays the
 * caller's, the result is the caller's to schema_destroy(). SOURCE names the
 * input in messages, which also name the offending field:
 * "schema.json: features[3].levels: not sorted ('One year' after 'Two year')".
 * Rejects (EXIT_INPUT): a missing or empty feature list, a feature without a
 * name or with a duplicate name, a feature named like the target, an unknown
 * type, a categorical feature without levels, levels unsorted or duplicated,
 * levels or a range on the wrong type, a range that is not two numbers in
 * order, a number beyond the range of a 32-bit float (the model's input), a
 * typical value of the wrong kind or not among the levels. Unknown keys are
 * ignored. */
struct schema *schema_parse(const cJSON *root, const char *source,
			    struct err *e);

/* Reads and parses the JSON file PATH ("-" for standard input). */
struct schema *schema_load(const char *path, struct err *e);

/* The JSON form of S, the caller's to cJSON_Delete(); schema_parse() of it
 * gives back an equal schema, except that cJSON prints numbers (range and
 * typical) with 15 significant digits, so a value needing 17 comes back
 * rounded at the 15th. NULL when memory runs out. */
cJSON *schema_to_json(const struct schema *s);

/* Writes the JSON form to PATH atomically. */
int schema_save(const struct schema *s, const char *path, struct err *e);

/* Frees S and everything in it. NULL is fine. */
void schema_destroy(struct schema *s);

/* A deep copy, the caller's to schema_destroy(); NULL when memory runs out. */
struct schema *schema_clone(const struct schema *s);

/* Index of the feature called NAME, or -1. */
long schema_find(const struct schema *s, const char *name);

/* Code of LEVEL (its index in f->levels, by binary search), or -1 when the
 * level is not in the schema or F is not categorical. */
long schema_level_code(const struct schema_feature *f, const char *level);

/* Encodes VALUE for feature I into *OUT: a number for a numeric feature, the
 * level's code for a categorical one, NAN for a missing cell ("", "NA" or
 * NULL). Returns 0; 1 for a level not in the schema (*OUT = NAN, the caller
 * may count and warn); EXIT_INPUT for a numeric feature's value that is not a
 * number or does not fit a float (E: "feature 'tenure': 'abc' is not a
 * number"). */
int schema_encode_value(const struct schema *s, size_t i, const char *value,
			float *out, struct err *e);

/* Infers a schema from the training CSV at CSV_PATH. Every column but
 * TARGET becomes a feature, in file order: numeric when every non-missing
 * cell is a number (num_parse), categorical otherwise, with its distinct
 * values as sorted levels. Numeric features get their observed range and,
 * as typical, the median (the mean of the two middle values for an even
 * count); categorical ones the most frequent level (ties: the first in sort
 * order). A column with no value at all is numeric, without range or
 * typical. POSITIVE may be NULL: the positive label is then the second of the
 * two target values in sort order ("Yes" of No/Yes, "1" of 0/1), as
 * scikit-learn orders classes. The file is read twice (types, then levels).
 *
 * Errors (EXIT_INPUT, naming file, line and column where there is one): the
 * file missing or unreadable, empty, a header only, a duplicate or empty
 * column name, a ragged row, the target column absent, a target cell missing,
 * a third target value, a single target value, POSITIVE not among the target
 * values, a number beyond the range of a 32-bit float, a categorical column
 * with more than SCHEMA_MAX_LEVELS levels. */
struct schema *schema_infer(const char *csv_path, const char *target,
			    const char *positive, struct err *e);

/* A CSV header bound to a schema: maps each feature to its column by name,
 * whatever the order. Initialised by schema_bind(), released by
 * schema_binding_finish(); the schema must outlive the binding. */
struct schema_binding {
	const struct schema *schema;
	char *source;          /* file name for messages */
	size_t ncols;          /* header's column count */
	size_t *col;           /* col[i] = column index of feature i */
	long target_col;       /* -1 when the header has no target column */
	size_t *unseen;        /* per feature: count of cells with a level not in the schema */
	char **unseen_example; /* per feature: first such value (owned), or NULL */
};

/* Binds HEADER (a CSV record, usually the first) to S. Extra columns are
 * ignored. Errors (EXIT_INPUT): a column the schema needs is absent
 * ("data.csv: line 1: missing column 'tenure' required by the schema"), two
 * columns with the same name. On error B is left empty (finish is safe). */
int schema_bind(struct schema_binding *b, const struct schema *s,
		const struct csv_record *header, const char *source,
		struct err *e);

/* Encodes REC into ROW[0..nfeatures). Errors (EXIT_INPUT):
 * a ragged row: "data.csv: line 7: 19 fields where the header has 20";
 * a non-number: "data.csv: line 7, column 6 (tenure): 'abc' is not a number".
 * Unseen levels become NAN and are counted in B. */
int schema_encode(struct schema_binding *b, const struct csv_record *rec,
		  float *row, struct err *e);

/* One line per feature with unseen levels, each ending in '\n':
 * "data.csv: column 'contract': 12 cells with levels not in the schema
 * (first: 'Three year'), scored as missing". NULL when there were none (or
 * memory ran out). The caller frees the string. */
char *schema_binding_unseen_report(const struct schema_binding *b);

/* Frees what schema_bind() allocated and zeroes B. Safe on a zeroed or
 * already finished binding. */
void schema_binding_finish(struct schema_binding *b);

/* Writes VALUE into BUF (size N > 4) for a message, so that text from a file
 * can reach a terminal: control characters as \n, \r, \t or \xNN, C1
 * controls and bidirectional marks as \uNNNN, bytes that are not valid UTF-8
 * as \xNN, a backslash or quote as \\ or \'. At most 60 bytes of VALUE are
 * shown, cut between characters and followed by "..." when cut. The result
 * does not depend on the locale. Returns BUF. */
const char *schema_quote_value(const char *value, char *buf, size_t n);

#endif
