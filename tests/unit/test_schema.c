/* Unit tests for core/schema: JSON round trip and errors naming the field,
 * inference from real files (the Telco data among them), binding a header
 * by name, and encoding records with the errors and warnings users see. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "json.h"
#include "schema.h"

#define TELCO SOURCE_ROOT "/data/telco_churn.csv"

static char tmpdir[] = "/tmp/churnops-test-schema-XXXXXX";

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[sizeof tmpdir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_str(const char *name, const char *data)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void assert_contains(const char *msg, const char *want)
{
	if (!strstr(msg, want))
		fail_msg("'%s' not in message: %s", want, msg);
}

static struct schema *parse_text(const char *text, struct err *e)
{
	cJSON *root = json_parse(text, strlen(text), "schema.json", e);
	assert_non_null(root);
	struct schema *s = schema_parse(root, "schema.json", e);
	cJSON_Delete(root);
	return s;
}

static const char *FULL =
	"{\"target\": \"churn\", \"positive\": \"Yes\", \"features\": ["
	"{\"name\": \"tenure\", \"type\": \"numeric\", \"range\": [0, 72], \"typical\": 29},"
	"{\"name\": \"contract\", \"type\": \"categorical\","
	" \"levels\": [\"Month-to-month\", \"One year\", \"Two year\"], \"typical\": \"One year\"},"
	"{\"name\": \"monthly_charges\", \"type\": \"numeric\", \"typical\": 70.35, \"note\": \"ignored\"},"
	"{\"name\": \"Zé\", \"type\": \"categorical\", \"levels\": [\"\", \"A\", \"B\", \"a\", \"é\"]}"
	"]}";

static void assert_schemas_equal(const struct schema *a, const struct schema *b)
{
	assert_string_equal(a->target, b->target);
	assert_string_equal(a->positive, b->positive);
	assert_int_equal(a->nfeatures, b->nfeatures);
	for (size_t i = 0; i < a->nfeatures; i++) {
		const struct schema_feature *f = &a->features[i], *g = &b->features[i];
		assert_string_equal(f->name, g->name);
		assert_int_equal(f->type, g->type);
		assert_int_equal(f->nlevels, g->nlevels);
		for (size_t j = 0; j < f->nlevels; j++)
			assert_string_equal(f->levels[j], g->levels[j]);
		assert_int_equal(f->has_range, g->has_range);
		if (f->has_range) {
			assert_true(f->min == g->min);
			assert_true(f->max == g->max);
		}
		assert_int_equal(f->has_typical, g->has_typical);
		if (f->has_typical)
			assert_true(f->typical == g->typical);
		if (f->typical_level || g->typical_level)
			assert_string_equal(f->typical_level, g->typical_level);
	}
}

static void test_parse_and_round_trip(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = parse_text(FULL, &e);
	if (!s)
		fail_msg("%s", e.msg);
	assert_string_equal(s->target, "churn");
	assert_string_equal(s->positive, "Yes");
	assert_int_equal(s->nfeatures, 4);
	assert_int_equal(s->features[0].type, SCHEMA_NUMERIC);
	assert_true(s->features[0].has_range);
	assert_true(s->features[0].max == 72);
	assert_true(s->features[0].typical == 29);
	assert_int_equal(s->features[1].type, SCHEMA_CATEGORICAL);
	assert_int_equal(s->features[1].nlevels, 3);
	assert_string_equal(s->features[1].typical_level, "One year");
	assert_true(s->features[1].typical == 1);
	assert_false(s->features[2].has_range);
	assert_false(s->features[3].has_typical);

	/* to JSON text and back: the same schema, the same text */
	cJSON *j1 = schema_to_json(s);
	assert_non_null(j1);
	char *t1 = cJSON_PrintUnformatted(j1);
	struct schema *s2 = parse_text(t1, &e);
	if (!s2)
		fail_msg("%s", e.msg);
	assert_schemas_equal(s, s2);
	cJSON *j2 = schema_to_json(s2);
	char *t2 = cJSON_PrintUnformatted(j2);
	assert_string_equal(t1, t2);
	assert_null(strstr(t1, "note"));

	/* through a file */
	char path[600];
	snprintf(path, sizeof path, "%s/schema.json", tmpdir);
	assert_int_equal(schema_save(s, path, &e), 0);
	struct schema *s3 = schema_load(path, &e);
	assert_non_null(s3);
	assert_schemas_equal(s, s3);

	struct schema *c = schema_clone(s);
	assert_non_null(c);
	assert_schemas_equal(s, c);
	assert_ptr_not_equal(c->features[1].levels[0], s->features[1].levels[0]);

	free(t1);
	free(t2);
	cJSON_Delete(j1);
	cJSON_Delete(j2);
	schema_destroy(s);
	schema_destroy(s2);
	schema_destroy(s3);
	schema_destroy(c);
	schema_destroy(NULL);
}

static void test_scoring_only_schema(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = parse_text(
		"{\"features\": [{\"name\": \"x\", \"type\": \"numeric\"}]}", &e);
	assert_non_null(s);
	assert_null(s->target);
	assert_null(s->positive);
	cJSON *j = schema_to_json(s);
	assert_null(cJSON_GetObjectItem(j, "target"));
	cJSON_Delete(j);
	schema_destroy(s);
	s = parse_text("{\"target\": null, \"features\": [{\"name\": \"x\", \"type\": \"numeric\"}]}", &e);
	assert_non_null(s);
	schema_destroy(s);
}

static void assert_parse_error(const char *text, const char *want1,
			       const char *want2)
{
	struct err e = {0};
	struct schema *s = parse_text(text, &e);
	if (s)
		fail_msg("accepted: %s", text);
	assert_int_equal(e.code, EXIT_INPUT);
	assert_contains(e.msg, "schema.json: ");
	assert_contains(e.msg, want1);
	if (want2)
		assert_contains(e.msg, want2);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_parse_error("[]", "not a JSON object", NULL);
	assert_parse_error("{}", "features: missing", NULL);
	assert_parse_error("{\"features\": {}}", "features: not an array", NULL);
	assert_parse_error("{\"features\": []}", "features: empty", NULL);
	assert_parse_error("{\"target\": 3, \"features\": [{\"name\":\"x\",\"type\":\"numeric\"}]}",
			   "target: not a string", NULL);
	assert_parse_error("{\"features\": [1]}", "features[0]: not an object", NULL);
	assert_parse_error("{\"features\": [{\"type\": \"numeric\"}]}",
			   "features[0].name: missing", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"\", \"type\": \"numeric\"}]}",
			   "features[0].name: empty", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"a\"}]}",
			   "features[0].type: missing", "'a'");
	assert_parse_error("{\"features\": [{\"name\": \"a\", \"type\": \"numeric\"},"
			   "{\"name\": \"b\", \"type\": \"float\"}]}",
			   "features[1].type: unknown type 'float'", "feature 'b'");
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\"}]}",
			   "features[0].levels: missing", "feature 'c'");
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\", \"levels\": []}]}",
			   "features[0].levels: empty", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"a\", \"type\": \"numeric\"},"
			   "{\"name\": \"b\", \"type\": \"numeric\"},"
			   "{\"name\": \"c\", \"type\": \"numeric\"},"
			   "{\"name\": \"contract\", \"type\": \"categorical\","
			   " \"levels\": [\"Month-to-month\", \"Two year\", \"One year\"]}]}",
			   "features[3].levels: not sorted ('One year' after 'Two year')",
			   "feature 'contract'");
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\","
			   " \"levels\": [\"a\", \"b\", \"b\"]}]}",
			   "features[0].levels: duplicate level 'b'", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\","
			   " \"levels\": [\"a\", 2]}]}",
			   "features[0].levels[1]: not a string", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\", \"levels\": [\"a\"]}]}",
			   "features[0].levels: only a categorical feature has levels", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\", \"range\": [1]}]}",
			   "features[0].range: not an array of two numbers", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\", \"range\": [5, 1]}]}",
			   "features[0].range: min 5 is above max 1", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\","
			   " \"levels\": [\"a\"], \"range\": [0, 1]}]}",
			   "features[0].range: only a numeric feature has a range", NULL);
	/* beyond float32, and beyond what cJSON's 15 digits print back
	 * (found by fuzz_schema: 1.7976931348623157e308 came back as inf) */
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\","
			   " \"range\": [0, 1.7976931348623157e308]}]}",
			   "features[0].range: beyond the range of a 32-bit float", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\", \"typical\": -1e39}]}",
			   "features[0].typical: beyond the range of a 32-bit float", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"n\", \"type\": \"numeric\", \"typical\": \"x\"}]}",
			   "features[0].typical: not a number", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"c\", \"type\": \"categorical\","
			   " \"levels\": [\"a\"], \"typical\": \"z\"}]}",
			   "features[0].typical: 'z' is not one of the levels", NULL);
	assert_parse_error("{\"features\": [{\"name\": \"x\", \"type\": \"numeric\"},"
			   "{\"name\": \"y\", \"type\": \"numeric\"},"
			   "{\"name\": \"x\", \"type\": \"categorical\", \"levels\": [\"a\"]}]}",
			   "features[2].name: duplicate feature name 'x' (also features[0])", NULL);
	assert_parse_error("{\"target\": \"churn\", \"features\": [{\"name\": \"churn\", \"type\": \"numeric\"}]}",
			   "features[0].name: 'churn' is the target", NULL);
	/* values from the file are escaped in messages */
	assert_parse_error("{\"features\": [{\"name\": \"a\", \"type\": \"\\u001b[31m\"}]}",
			   "unknown type '\\x1b[31m'", NULL);
}

static void test_lookup_and_encode_value(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = parse_text(FULL, &e);
	assert_non_null(s);
	assert_int_equal(schema_find(s, "contract"), 1);
	assert_int_equal(schema_find(s, "nope"), -1);
	const struct schema_feature *z = &s->features[3];
	assert_int_equal(schema_level_code(z, ""), 0);
	assert_int_equal(schema_level_code(z, "A"), 1);
	assert_int_equal(schema_level_code(z, "a"), 3);
	assert_int_equal(schema_level_code(z, "é"), 4);
	assert_int_equal(schema_level_code(z, "C"), -1);
	assert_int_equal(schema_level_code(&s->features[0], "1"), -1);

	float v = 0;
	assert_int_equal(schema_encode_value(s, 0, " 12.5 ", &v, &e), 0);
	assert_true(v == 12.5f);
	assert_int_equal(schema_encode_value(s, 0, "", &v, &e), 0);
	assert_true(isnan(v));
	v = 0;
	assert_int_equal(schema_encode_value(s, 0, "NA", &v, &e), 0);
	assert_true(isnan(v));
	assert_int_equal(schema_encode_value(s, 1, "Two year", &v, &e), 0);
	assert_true(v == 2);
	assert_int_equal(schema_encode_value(s, 1, "NA", &v, &e), 0);
	assert_true(isnan(v));
	v = 0;
	assert_int_equal(schema_encode_value(s, 1, "Three year", &v, &e), 1);
	assert_true(isnan(v));
	assert_int_equal(schema_encode_value(s, 1, "two year", &v, &e), 1);
	assert_int_equal(schema_encode_value(s, 0, "abc", &v, &e), EXIT_INPUT);
	assert_contains(e.msg, "feature 'tenure'");
	assert_contains(e.msg, "'abc' is not a number");
	assert_int_equal(schema_encode_value(s, 0, "1e39", &v, &e), EXIT_INPUT);
	assert_contains(e.msg, "too large");
	assert_int_equal(schema_encode_value(s, 0, "inf", &v, &e), EXIT_INPUT);
	assert_int_equal(schema_encode_value(s, 9, "1", &v, &e), EXIT_INPUT);
	schema_destroy(s);
}

static void test_quote_value(void **state)
{
	(void)state;
	char buf[80];
	assert_string_equal(schema_quote_value("plain", buf, sizeof buf), "plain");
	assert_string_equal(schema_quote_value("a\nb\x1b[0m'\\", buf, sizeof buf),
			    "a\\nb\\x1b[0m\\'\\\\");
	char longv[200];
	memset(longv, 'x', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	schema_quote_value(longv, buf, sizeof buf);
	assert_true(strlen(buf) < sizeof buf);
	assert_non_null(strstr(buf, "..."));
	/* a cut never splits a UTF-8 character */
	char utf[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(utf, "é");
	schema_quote_value(utf, buf, sizeof buf);
	size_t n = strlen(buf) - 3;
	assert_string_equal(buf + n, "...");
	assert_int_equal(n % 2, 0);
	assert_string_equal(schema_quote_value(NULL, buf, sizeof buf), "");
	/* C1 controls, bidi overrides and broken UTF-8 are shown escaped */
	assert_string_equal(schema_quote_value("a\xc2\x9b" "b\xe2\x80\xae" "c\xff\xc3", buf,
					       sizeof buf),
			    "a\\u009bb\\u202ec\\xff\\xc3");
	assert_string_equal(schema_quote_value("\xed\xa0\x80\xc0\xaf", buf, sizeof buf),
			    "\\xed\\xa0\\x80\\xc0\\xaf");
	assert_string_equal(schema_quote_value("é✓😀", buf, sizeof buf), "é✓😀");
	/* tiny buffers */
	char tiny[5];
	assert_string_equal(schema_quote_value("abcdef", tiny, sizeof tiny), "a...");
	assert_string_equal(schema_quote_value("a", tiny, sizeof tiny), "a");
}

/* --- inference --- */

static void test_infer_telco(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = schema_infer(TELCO, "churn", "Yes", &e);
	if (!s)
		fail_msg("%s", e.msg);
	assert_string_equal(s->target, "churn");
	assert_string_equal(s->positive, "Yes");
	assert_int_equal(s->nfeatures, 19);
	assert_string_equal(s->features[0].name, "female");
	assert_string_equal(s->features[18].name, "total_charges");

	long c = schema_find(s, "contract");
	assert_int_equal(c, 14);
	const struct schema_feature *f = &s->features[c];
	assert_int_equal(f->type, SCHEMA_CATEGORICAL);
	assert_int_equal(f->nlevels, 3);
	assert_string_equal(f->levels[0], "Month-to-month");
	assert_string_equal(f->levels[1], "One year");
	assert_string_equal(f->levels[2], "Two year");
	assert_string_equal(f->typical_level, "Month-to-month");

	f = &s->features[schema_find(s, "payment_method")];
	assert_int_equal(f->nlevels, 4);
	assert_string_equal(f->levels[0], "Bank transfer (automatic)");
	assert_string_equal(f->typical_level, "Electronic check");

	f = &s->features[schema_find(s, "total_charges")];
	assert_int_equal(f->type, SCHEMA_NUMERIC); /* despite 11 empty cells */
	assert_true(f->has_typical);
	assert_true(f->typical == 1397.475);
	assert_true(f->min == 18.8 && f->max == 8684.8);

	f = &s->features[schema_find(s, "tenure")];
	assert_int_equal(f->type, SCHEMA_NUMERIC);
	assert_true(f->typical == 29);
	assert_true(f->min == 0 && f->max == 72);
	f = &s->features[schema_find(s, "monthly_charges")];
	assert_true(f->typical == 70.35);
	assert_int_equal(s->features[schema_find(s, "senior_citizen")].type,
			 SCHEMA_NUMERIC);

	/* the inferred schema survives its own JSON */
	cJSON *j = schema_to_json(s);
	struct schema *back = schema_parse(j, "x", &e);
	assert_non_null(back);
	assert_schemas_equal(s, back);
	cJSON_Delete(j);
	schema_destroy(back);
	schema_destroy(s);

	/* no positive given: the second value in sort order */
	s = schema_infer(TELCO, "churn", NULL, &e);
	assert_non_null(s);
	assert_string_equal(s->positive, "Yes");
	schema_destroy(s);
}

static void test_infer_types_and_typicals(void **state)
{
	(void)state;
	const char *path = write_str("small.csv",
		"num,mixed,y,cat,empty,even\n"
		"1,1,b,z,,1\n"
		"NA,2,a,y,NA,2\n"
		"3, x ,a,y,,3\n"
		" 10 ,2,b,z,,4\n"
		"2.5,,a,x,,\n");
	struct err e = {0};
	struct schema *s = schema_infer(path, "y", NULL, &e);
	if (!s)
		fail_msg("%s", e.msg);
	assert_string_equal(s->positive, "b");
	assert_int_equal(s->nfeatures, 5);

	const struct schema_feature *f = &s->features[0];
	assert_string_equal(f->name, "num");
	assert_int_equal(f->type, SCHEMA_NUMERIC);
	assert_true(f->typical == 2.75); /* median of 1, 2.5, 3, 10 */
	assert_true(f->min == 1 && f->max == 10);

	f = &s->features[1];
	assert_string_equal(f->name, "mixed");
	assert_int_equal(f->type, SCHEMA_CATEGORICAL);
	assert_int_equal(f->nlevels, 3);
	assert_string_equal(f->levels[0], " x ");
	assert_string_equal(f->levels[1], "1");
	assert_string_equal(f->levels[2], "2");
	assert_string_equal(f->typical_level, "2");
	assert_true(f->typical == 2);

	f = &s->features[2];
	assert_string_equal(f->name, "cat");
	assert_int_equal(f->nlevels, 3);
	/* y and z both twice: the first in sort order wins */
	assert_string_equal(f->typical_level, "y");

	f = &s->features[3];
	assert_string_equal(f->name, "empty");
	assert_int_equal(f->type, SCHEMA_NUMERIC);
	assert_false(f->has_typical);
	assert_false(f->has_range);

	f = &s->features[4];
	assert_true(f->typical == 2.5); /* even count: mean of 2 and 3 */
	schema_destroy(s);
}

/* Standard input cannot be read twice: levels are counted from the start
 * in one pass, with the same result as the two passes over a file. */
static void test_infer_standard_input(void **state)
{
	(void)state;
	const char *path = write_str("stdin.csv",
		"id,y,mixed\n1,a,1\n2,b,2\n3,a,x\n4,b,1\n");
	struct err e = {0};
	struct schema *from_file = schema_infer(path, "y", NULL, &e);
	assert_non_null(from_file);
	int saved = dup(0);
	assert_true(saved >= 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_true(dup2(fileno(f), 0) == 0);
	struct schema *from_stdin = schema_infer("-", "y", NULL, &e);
	assert_true(dup2(saved, 0) == 0);
	close(saved);
	fclose(f);
	if (!from_stdin)
		fail_msg("%s", e.msg);
	assert_schemas_equal(from_file, from_stdin);
	const struct schema_feature *m = &from_stdin->features[1];
	assert_int_equal(m->type, SCHEMA_CATEGORICAL);
	assert_int_equal(m->nlevels, 3);
	assert_string_equal(m->levels[0], "1");
	assert_string_equal(m->levels[2], "x");
	assert_string_equal(m->typical_level, "1");
	schema_destroy(from_file);
	schema_destroy(from_stdin);

	/* messages name standard input */
	int null_fd = open("/dev/null", O_RDONLY);
	saved = dup(0);
	assert_true(null_fd >= 0 && saved >= 0 && dup2(null_fd, 0) == 0);
	assert_null(schema_infer("-", "y", NULL, &e));
	assert_true(dup2(saved, 0) == 0);
	close(saved);
	close(null_fd);
	assert_string_equal(e.msg, "standard input: empty file");
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median (quickselect inside) against a full sort, on columns with
 * many repeats, sorted and reversed runs, odd and even counts. */
static void test_infer_median(void **state)
{
	(void)state;
	const size_t sizes[] = {1, 2, 3, 4, 5, 100, 1001, 4000};
	uint64_t x = 88172645463325252ull;
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		size_t n = sizes[k];
		double *v = malloc(n * 3 * sizeof *v);
		assert_non_null(v);
		char path[600];
		snprintf(path, sizeof path, "%s/median.csv", tmpdir);
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("y,rand,few,sorted\n", f);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			v[i] = (double)(x % 100000) / 100;
			v[n + i] = (double)(x % 3);
			v[2 * n + i] = (double)(i < n / 2 ? i : n - i);
			fprintf(f, "%s,%.2f,%g,%g\n", i % 2 ? "a" : "b", v[i], v[n + i],
				v[2 * n + i]);
		}
		fputs(n == 1 ? "a,,,\n" : "", f);
		assert_int_equal(fclose(f), 0);
		struct err e = {0};
		struct schema *s = schema_infer(path, "y", NULL, &e);
		if (!s)
			fail_msg("n=%zu: %s", n, e.msg);
		for (size_t c = 0; c < 3; c++) {
			double *col = v + c * n;
			qsort(col, n, sizeof *col, cmp_d);
			double want = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2;
			const struct schema_feature *ft = &s->features[c];
			if (ft->typical != want)
				fail_msg("n=%zu column %s: median %.17g, want %.17g", n,
					 ft->name, ft->typical, want);
			assert_true(ft->min == col[0] && ft->max == col[n - 1]);
		}
		schema_destroy(s);
		free(v);
	}
}

static void assert_infer_error(const char *content, const char *target,
			       const char *positive, const char *want1,
			       const char *want2)
{
	const char *path = write_str("bad.csv", content);
	struct err e = {0};
	struct schema *s = schema_infer(path, target, positive, &e);
	if (s)
		fail_msg("accepted: %s", content);
	assert_int_equal(e.code, EXIT_INPUT);
	assert_contains(e.msg, "bad.csv");
	assert_contains(e.msg, want1);
	if (want2)
		assert_contains(e.msg, want2);
}

static void test_infer_errors(void **state)
{
	(void)state;
	struct err e = {0};
	char missing[600];
	snprintf(missing, sizeof missing, "%s/missing.csv", tmpdir);
	assert_null(schema_infer(missing, "y", NULL, &e));
	assert_contains(e.msg, "missing.csv");

	assert_infer_error("", "y", NULL, "empty file", NULL);
	assert_infer_error("a,y\n", "y", NULL, "no data rows", NULL);
	assert_infer_error("a,b\n1,2\n", "y", NULL, "line 1: no column 'y'", NULL);
	assert_infer_error("a,y\n1,0\n2\n", "y", NULL, "line 3: 1 field where the header has 2", NULL);
	assert_infer_error("a,y\n1,0\n2,1,3\n", "y", NULL, "line 3: 3 fields", NULL);
	assert_infer_error("a,y\n1,0\n2,\n", "y", NULL, "line 3, column 2 (y): the target is missing", NULL);
	assert_infer_error("a,y\n1,0\n2,1\n3,2\n", "y", NULL,
			   "line 4, column 2 (y): a third target value '2'", NULL);
	assert_infer_error("a,y\n1,0\n2,0\n", "y", NULL, "a single value, '0'", NULL);
	assert_infer_error("a,y\n1,No\n2,Yes\n", "y", "yes",
			   "positive label 'yes' is not a value of column 'y'", NULL);
	assert_infer_error("a,y,a\n1,0,1\n", "y", NULL, "column 'a' appears twice (columns 1 and 3)", NULL);
	assert_infer_error("a,,y\n1,0,1\n", "y", NULL, "line 1, column 2: empty column name", NULL);
	assert_infer_error("y\n1\n0\n", "y", NULL, "no column besides the target", NULL);
	assert_infer_error("a,y\n1,0\n1e300,1\n", "y", NULL,
			   "line 3, column 1 (a): '1e300' is too large for the model", NULL);
	assert_infer_error("a,y\n\"open,1\n", "y", NULL, "line 2, column 1: unterminated", NULL);
}

/* --- binding and encoding --- */

static struct schema *small_schema(void)
{
	struct err e = {0};
	struct schema *s = parse_text(
		"{\"target\": \"churn\", \"positive\": \"Yes\", \"features\": ["
		"{\"name\": \"tenure\", \"type\": \"numeric\"},"
		"{\"name\": \"contract\", \"type\": \"categorical\","
		" \"levels\": [\"Month-to-month\", \"One year\", \"Two year\"]},"
		"{\"name\": \"paperless\", \"type\": \"categorical\", \"levels\": [\"No\", \"Yes\"]}]}",
		&e);
	assert_non_null(s);
	return s;
}

static struct csv_reader *open_text(const char *name, const char *text,
				    struct csv_record *header)
{
	const char *path = write_str(name, text);
	struct err e = {0};
	struct csv_reader *r = csv_reader_open(path, &e);
	assert_non_null(r);
	assert_int_equal(csv_reader_next(r, header, &e), 1);
	return r;
}

static void test_bind_any_order_extra_columns(void **state)
{
	(void)state;
	struct schema *s = small_schema();
	struct csv_record rec;
	struct csv_reader *r = open_text("order.csv",
		"id,paperless,extra,contract,tenure\n"
		"7,Yes,zz,Two year,12\n"
		"8,No,,Month-to-month,NA\n", &rec);
	struct schema_binding b;
	struct err e = {0};
	assert_int_equal(schema_bind(&b, s, &rec, "order.csv", &e), 0);
	assert_int_equal(b.ncols, 5);
	assert_int_equal(b.col[0], 4);
	assert_int_equal(b.col[1], 3);
	assert_int_equal(b.col[2], 1);
	assert_int_equal(b.target_col, -1);
	float row[3];
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(schema_encode(&b, &rec, row, &e), 0);
	assert_true(row[0] == 12 && row[1] == 2 && row[2] == 1);
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(schema_encode(&b, &rec, row, &e), 0);
	assert_true(isnan(row[0]) && row[1] == 0 && row[2] == 0);
	assert_null(schema_binding_unseen_report(&b));
	schema_binding_finish(&b);
	schema_binding_finish(&b);
	csv_reader_close(r);

	/* with the target present, its column is found too */
	r = open_text("target.csv", "tenure,contract,churn,paperless\n", &rec);
	assert_int_equal(schema_bind(&b, s, &rec, "target.csv", &e), 0);
	assert_int_equal(b.target_col, 2);
	schema_binding_finish(&b);
	csv_reader_close(r);
	schema_destroy(s);
}

static void test_bind_errors(void **state)
{
	(void)state;
	struct schema *s = small_schema();
	struct csv_record rec;
	struct schema_binding b;
	struct err e = {0};
	struct csv_reader *r = open_text("miss.csv", "paperless,contract,churn\n", &rec);
	assert_int_equal(schema_bind(&b, s, &rec, "miss.csv", &e), EXIT_INPUT);
	assert_string_equal(e.msg,
			    "miss.csv: line 1: missing column 'tenure' required by the schema");
	schema_binding_finish(&b);
	csv_reader_close(r);

	r = open_text("dup.csv", "tenure,contract,paperless,contract\n", &rec);
	assert_int_equal(schema_bind(&b, s, &rec, "dup.csv", &e), EXIT_INPUT);
	assert_contains(e.msg, "dup.csv: line 1: column 'contract' appears twice (columns 2 and 4)");
	csv_reader_close(r);

	/* names are matched exactly: case and spaces matter */
	r = open_text("case.csv", "Tenure,contract,paperless\n", &rec);
	assert_int_equal(schema_bind(&b, s, &rec, "case.csv", &e), EXIT_INPUT);
	assert_contains(e.msg, "missing column 'tenure'");
	csv_reader_close(r);
	schema_destroy(s);
}

static void test_encode_errors_and_unseen(void **state)
{
	(void)state;
	struct schema *s = small_schema();
	struct csv_record rec;
	struct schema_binding b;
	struct err e = {0};
	struct csv_reader *r = open_text("data.csv",
		"customer,contract,tenure,paperless\n"
		"a,Three year,1,Maybe\n"
		"b,Three year,2,No\n"
		"c,Weekly,3,Yes\n"
		"d,One year,abc,No\n"
		"e,One year,4\n", &rec);
	assert_int_equal(schema_bind(&b, s, &rec, "data.csv", &e), 0);
	float row[3];
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(schema_encode(&b, &rec, row, &e), 0);
	assert_true(row[0] == 1 && isnan(row[1]) && isnan(row[2]));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(csv_reader_next(r, &rec, &e), 1);
		assert_int_equal(schema_encode(&b, &rec, row, &e), 0);
		assert_true(isnan(row[1]));
	}
	assert_int_equal(b.unseen[1], 3);
	assert_string_equal(b.unseen_example[1], "Three year");
	assert_int_equal(b.unseen[2], 1);

	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(schema_encode(&b, &rec, row, &e), EXIT_INPUT);
	assert_string_equal(e.msg, "data.csv: line 5, column 3 (tenure): 'abc' is not a number");

	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(schema_encode(&b, &rec, row, &e), EXIT_INPUT);
	assert_string_equal(e.msg, "data.csv: line 6: 3 fields where the header has 4");

	/* one line per column, each named once */
	char *report = schema_binding_unseen_report(&b);
	assert_non_null(report);
	assert_string_equal(report,
			    "data.csv: column 'contract': 3 cells with levels not in the schema"
			    " (first: 'Three year'), scored as missing\n"
			    "data.csv: column 'paperless': 1 cell with a level not in the schema"
			    " (first: 'Maybe'), scored as missing\n");
	free(report);
	schema_binding_finish(&b);
	csv_reader_close(r);
	schema_destroy(s);
}

/* Telco data bound to its own inferred schema: codes match the levels. */
static void test_encode_telco(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = schema_infer(TELCO, "churn", "Yes", &e);
	assert_non_null(s);
	struct csv_reader *r = csv_reader_open(TELCO, &e);
	assert_non_null(r);
	struct csv_record rec;
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	struct schema_binding b;
	assert_int_equal(schema_bind(&b, s, &rec, csv_reader_name(r), &e), 0);
	assert_int_equal(b.target_col, 0);
	float row[19];
	size_t n = 0, nan_total = 0;
	const long tc = schema_find(s, "total_charges");
	const long ct = schema_find(s, "contract");
	while (csv_reader_next(r, &rec, &e) == 1) {
		assert_int_equal(schema_encode(&b, &rec, row, &e), 0);
		if (n == 1) { /* second data row: One year, 1889.5 */
			assert_true(row[ct] == 1);
			assert_true(row[tc] == 1889.5f);
		}
		nan_total += isnan(row[tc]);
		n++;
	}
	assert_int_equal(n, 7043);
	assert_int_equal(nan_total, 11);
	assert_null(schema_binding_unseen_report(&b));
	schema_binding_finish(&b);
	csv_reader_close(r);
	schema_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_round_trip),
		cmocka_unit_test(test_scoring_only_schema),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_lookup_and_encode_value),
		cmocka_unit_test(test_quote_value),
		cmocka_unit_test(test_infer_telco),
		cmocka_unit_test(test_infer_types_and_typicals),
		cmocka_unit_test(test_infer_errors),
		cmocka_unit_test(test_infer_standard_input),
		cmocka_unit_test(test_infer_median),
		cmocka_unit_test(test_bind_any_order_extra_columns),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_encode_errors_and_unseen),
		cmocka_unit_test(test_encode_telco),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
