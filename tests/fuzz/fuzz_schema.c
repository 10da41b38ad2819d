/* Fuzz target for core/schema (through core/json's parser).
 *
 * A schema that parses must survive its own JSON form unchanged, encode any
 * value without crashing (numeric features never report an unseen level,
 * categorical ones never a non-number, and a level encodes to its index),
 * clone into an equal schema, and bind to a header made of its feature names
 * in reverse order plus an extra column.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "num.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_schema: %s\n", what);
		abort();
	}
}

/* cJSON prints numbers with 15 significant digits: equal to that. */
static int near(double a, double b)
{
	if (a == b)
		return 1;
	double scale = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	return fabs(a - b) <= scale * 1e-14 || fabs(a - b) < 1e-300;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_equal(const struct schema *a, const struct schema *b)
{
	check(same_str(a->target, b->target), "target survives");
	check(same_str(a->positive, b->positive), "positive survives");
	check(a->nfeatures == b->nfeatures, "feature count survives");
	for (size_t i = 0; i < a->nfeatures; i++) {
		const struct schema_feature *f = &a->features[i], *g = &b->features[i];
		check(strcmp(f->name, g->name) == 0, "name survives");
		check(f->type == g->type, "type survives");
		check(f->nlevels == g->nlevels, "level count survives");
		for (size_t j = 0; j < f->nlevels; j++)
			check(strcmp(f->levels[j], g->levels[j]) == 0, "level survives");
		check(f->has_range == g->has_range, "range survives");
		if (f->has_range)
			check(near(f->min, g->min) && near(f->max, g->max), "range values survive");
		check(f->has_typical == g->has_typical, "typical survives");
		if (f->has_typical)
			check(near(f->typical, g->typical), "typical value survives");
		check(same_str(f->typical_level, g->typical_level), "typical level survives");
	}
}

static void check_encoding(struct schema *s)
{
	static const char *const values[] = {"", "NA", "0", "-1.5", " 7 ", "abc",
					     "1e39", "0x10", "nan", "zzz"};
	struct err e = {0};
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		for (size_t k = 0; k < sizeof values / sizeof *values; k++) {
			float out = 0;
			int rc = schema_encode_value(s, i, values[k], &out, &e);
			if (f->type == SCHEMA_NUMERIC)
				check(rc == 0 || rc == EXIT_INPUT, "numeric: 0 or an error");
			else
				check(rc == 0 || rc == 1, "categorical: never an error");
			if (rc == 1)
				check(isnan(out), "unseen level is NAN");
		}
		for (size_t j = 0; j < f->nlevels; j++) {
			float out = -1;
			int rc = schema_encode_value(s, i, f->levels[j], &out, &e);
			if (csv_is_missing(f->levels[j]))
				check(rc == 0 && isnan(out), "a missing-looking level is missing");
			else
				check(rc == 0 && out == (float)j, "a level encodes to its index");
			check(schema_level_code(f, f->levels[j]) == (long)j, "level code");
		}
		check(schema_find(s, f->name) == (long)i ||
			      strcmp(s->features[schema_find(s, f->name)].name, f->name) == 0,
		      "find by name");
	}
}

static void check_binding(struct schema *s)
{
	size_t n = s->nfeatures + 1;
	char **header = calloc(n, sizeof *header);
	char **row = calloc(n, sizeof *row);
	float *x = calloc(s->nfeatures, sizeof *x);
	check(header && row && x, "memory");
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		header[n - 2 - i] = f->name;
		row[n - 2 - i] = f->type == SCHEMA_CATEGORICAL ? f->levels[f->nlevels - 1]
							       : "1.25";
	}
	header[n - 1] = "fuzz-extra-column";
	row[n - 1] = "whatever";
	struct csv_record hrec = {.fields = header, .n = n, .line = 1};
	struct csv_record rrec = {.fields = row, .n = n, .line = 2};
	struct schema_binding b;
	struct err e = {0};
	if (schema_bind(&b, s, &hrec, "fuzz.csv", &e) == 0) {
		check(schema_encode(&b, &rrec, x, &e) == 0, "encode a valid row");
		for (size_t i = 0; i < s->nfeatures; i++) {
			const struct schema_feature *f = &s->features[i];
			if (f->type == SCHEMA_NUMERIC)
				check(x[i] == 1.25f, "numeric cell encoded");
			else if (!csv_is_missing(f->levels[f->nlevels - 1]))
				check(x[i] == (float)(f->nlevels - 1), "level cell encoded");
		}
		rrec.n = n - 1;
		check(schema_encode(&b, &rrec, x, &e) == EXIT_INPUT, "ragged row refused");
		char *report = schema_binding_unseen_report(&b);
		check(report == NULL, "no unseen levels");
		schema_binding_finish(&b);
	} else {
		/* only a feature named like the extra column can clash */
		check(strstr(e.msg, "appears twice") != NULL, "bind fails only on duplicates");
	}
	free(header);
	free(row);
	free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* every input is also a candidate number */
	if (size < 256) {
		char cell[256];
		memcpy(cell, data, size);
		cell[size] = '\0';
		double v;
		if (num_parse(cell, &v))
			check(isfinite(v), "num_parse gives a finite number");
	}

	/* every input is also a value to quote in a message */
	if (size < 512) {
		char value[512], shown[80];
		memcpy(value, data, size);
		value[size] = '\0';
		schema_quote_value(value, shown, sizeof shown);
		size_t n = strlen(shown);
		check(n < sizeof shown, "quoted value fits");
		for (size_t i = 0; i < n; i++)
			check((unsigned char)shown[i] >= 0x20 && shown[i] != 0x7f,
			      "no control byte in a quoted value");
	}

	struct err e = {0};
	cJSON *root = json_parse((const char *)data, size, "fuzz.json", &e);
	if (!root) {
		check(strncmp(e.msg, "fuzz.json: ", 11) == 0, "JSON error names its source");
		return 0;
	}
	struct schema *s = schema_parse(root, "fuzz.json", &e);
	cJSON_Delete(root);
	if (!s) {
		check(e.code == EXIT_INPUT, "schema errors are input errors");
		check(strncmp(e.msg, "fuzz.json: ", 11) == 0, "schema error names its source");
		return 0;
	}

	cJSON *j = schema_to_json(s);
	check(j != NULL, "to_json");
	char *text = cJSON_PrintUnformatted(j);
	check(text != NULL, "print");
	cJSON *j2 = json_parse(text, strlen(text), "round-trip", &e);
	check(j2 != NULL, "own JSON parses");
	struct schema *s2 = schema_parse(j2, "round-trip", &e);
	if (!s2)
		fprintf(stderr, "%s\n%s\n", e.msg, text);
	check(s2 != NULL, "own JSON is a valid schema");
	check_equal(s, s2);
	cJSON *j3 = schema_to_json(s2);
	char *text2 = cJSON_PrintUnformatted(j3);
	check(text2 && strcmp(text, text2) == 0, "JSON form is stable");

	struct schema *c = schema_clone(s);
	check(c != NULL, "clone");
	check_equal(s, c);
	for (size_t i = 0; i < s->nfeatures; i++)
		check(s->features[i].typical == c->features[i].typical &&
			      s->features[i].min == c->features[i].min,
		      "clone is exact");

	check_encoding(s);
	check_binding(s);

	free(text);
	free(text2);
	cJSON_Delete(j);
	cJSON_Delete(j2);
	cJSON_Delete(j3);
	schema_destroy(s);
	schema_destroy(s2);
	schema_destroy(c);
	return 0;
}
