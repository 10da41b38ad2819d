/* Unit tests for core/dataset: labelled files loaded through a schema, the
 * target's two labels, and the errors that name file, line and column. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "json.h"
#include "schema.h"

#define TELCO SOURCE_ROOT "/data/telco_churn.csv"

static char tmpdir[] = "/tmp/churnops-test-dataset-XXXXXX";

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

static struct schema *small_schema(const char *target, const char *positive)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "{%s%s%s%s%s%s \"features\": ["
		 "{\"name\": \"tenure\", \"type\": \"numeric\"},"
		 "{\"name\": \"contract\", \"type\": \"categorical\","
		 " \"levels\": [\"Month-to-month\", \"One year\", \"Two year\"]}]}",
		 target ? "\"target\": \"" : "", target ? target : "", target ? "\"," : "",
		 positive ? "\"positive\": \"" : "", positive ? positive : "",
		 positive ? "\"," : "");
	struct err e = {0};
	cJSON *root = json_parse(text, strlen(text), "schema.json", &e);
	assert_non_null(root);
	struct schema *s = schema_parse(root, "schema.json", &e);
	cJSON_Delete(root);
	if (!s)
		fail_msg("%s", e.msg);
	return s;
}

static void test_load_small(void **state)
{
	(void)state;
	struct schema *s = small_schema("churn", "Yes");
	const char *path = write_str("train.csv",
		"contract,churn,id,tenure\r\n"
		"One year,No,1,12\r\n"
		"Two year,Yes,2,NA\r\n"
		"\r\n"
		"Month-to-month,No,3,1.5\r\n"
		"Weekly,Yes,4,7\r\n");
	struct dataset d;
	struct err e = {0};
	char *report = NULL;
	if (dataset_load_report(path, s, &d, &report, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(d.nrows, 4);
	assert_int_equal(d.ncols, 2);
	const float want_y[] = {0, 1, 0, 1};
	for (size_t i = 0; i < 4; i++)
		assert_true(d.y[i] == want_y[i]);
	assert_true(d.x[0] == 12 && d.x[1] == 1);
	assert_true(isnan(d.x[2]) && d.x[3] == 2);
	assert_true(d.x[4] == 1.5f && d.x[5] == 0);
	assert_true(d.x[6] == 7 && isnan(d.x[7]));
	assert_non_null(report);
	assert_contains(report, "column 'contract': 1 cell with a level not in the schema (first: 'Weekly')");
	free(report);
	dataset_finish(&d);
	dataset_finish(&d);
	assert_null(d.x);

	/* the positive label need not come first; the other one is learnt */
	path = write_str("order.csv", "tenure,contract,churn\n1,One year,Gone\n2,One year,Stayed\n");
	free(s->positive);
	s->positive = strdup("Stayed");
	assert_int_equal(dataset_load(path, s, &d, &e), 0);
	assert_true(d.y[0] == 0 && d.y[1] == 1);
	dataset_finish(&d);
	schema_destroy(s);
}

static void assert_load_error(struct schema *s, const char *content,
			      const char *want1, const char *want2)
{
	const char *path = write_str("bad.csv", content);
	struct dataset d;
	struct err e = {0};
	assert_int_equal(dataset_load(path, s, &d, &e), EXIT_INPUT);
	assert_null(d.x);
	assert_null(d.y);
	assert_int_equal(d.nrows, 0);
	assert_contains(e.msg, want1);
	if (want2)
		assert_contains(e.msg, want2);
}

static void test_target_errors(void **state)
{
	(void)state;
	struct schema *s = small_schema("churn", "Yes");
	char path_prefix[600];
	snprintf(path_prefix, sizeof path_prefix, "%s/bad.csv", tmpdir);
	assert_load_error(s,
		"tenure,contract,churn\n1,One year,No\n2,One year,Yes\n3,One year,Maybe\n",
		path_prefix,
		"line 4, column 3 (churn): a third target value 'Maybe' (expected 'Yes' or 'No')");
	assert_load_error(s, "tenure,contract\n1,One year\n",
			  "bad.csv: line 1: missing target column 'churn'", NULL);
	assert_load_error(s, "tenure,contract,churn\n1,One year,No\n2,Two year,NA\n",
			  "bad.csv: line 3, column 3 (churn): the target is missing", NULL);
	assert_load_error(s, "tenure,contract,churn\n1,One year,\n",
			  "line 2, column 3 (churn): the target is missing", NULL);
	/* two labels but not the positive one: the second is a third value */
	assert_load_error(s, "tenure,contract,churn\n1,One year,No\n2,One year,no\n",
			  "line 3, column 3 (churn): a third target value 'no'", NULL);
	assert_load_error(s, "tenure,contract,churn\n", "bad.csv: no data rows", NULL);
	assert_load_error(s, "", "bad.csv: empty file", NULL);
	assert_load_error(s, "churn,tenure\nNo,1\n",
			  "bad.csv: line 1: missing column 'contract' required by the schema", NULL);
	assert_load_error(s, "tenure,contract,churn\n1,One year,No\nx,One year,No\n",
			  "bad.csv: line 3, column 1 (tenure): 'x' is not a number", NULL);
	assert_load_error(s, "tenure,contract,churn\n1,One year,No\n2,One year\n",
			  "bad.csv: line 3: 2 fields where the header has 3", NULL);
	assert_load_error(s, "tenure,contract,churn\n\"1,One year,No\n",
			  "bad.csv: line 2, column 1: unterminated quoted field", NULL);
	schema_destroy(s);

	struct dataset d;
	struct err e = {0};
	s = small_schema(NULL, NULL);
	assert_int_equal(dataset_load(TELCO, s, &d, &e), EXIT_INPUT);
	assert_contains(e.msg, "no target");
	schema_destroy(s);
	s = small_schema("churn", NULL);
	assert_int_equal(dataset_load(TELCO, s, &d, &e), EXIT_INPUT);
	assert_contains(e.msg, "no positive label");
	schema_destroy(s);

	char missing[600];
	snprintf(missing, sizeof missing, "%s/nope.csv", tmpdir);
	s = small_schema("churn", "Yes");
	assert_int_equal(dataset_load(missing, s, &d, &e), EXIT_INPUT);
	assert_contains(e.msg, "nope.csv");
	schema_destroy(s);
}

static void test_load_telco(void **state)
{
	(void)state;
	struct err e = {0};
	struct schema *s = schema_infer(TELCO, "churn", "Yes", &e);
	assert_non_null(s);
	struct dataset d;
	char *report = (char *)1;
	if (dataset_load_report(TELCO, s, &d, &report, &e))
		fail_msg("%s", e.msg);
	assert_null(report);
	assert_int_equal(d.nrows, 7043);
	assert_int_equal(d.ncols, 19);
	double pos = 0;
	for (size_t i = 0; i < d.nrows; i++)
		pos += d.y[i];
	assert_true(pos == 1869);
	const long tc = schema_find(s, "total_charges");
	const long ct = schema_find(s, "contract");
	size_t missing = 0;
	for (size_t i = 0; i < d.nrows; i++) {
		missing += isnan(d.x[i * d.ncols + tc]);
		float c = d.x[i * d.ncols + ct];
		assert_true(c == 0 || c == 1 || c == 2);
	}
	assert_int_equal(missing, 11);
	/* first row: "No",1,0,1,0,1,0,"No phone service","DSL",... 29.85,29.85 */
	assert_true(d.y[0] == 0);
	assert_true(d.x[tc] == 29.85f);
	assert_true(d.x[schema_find(s, "tenure")] == 1);
	dataset_finish(&d);
	schema_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_small),
		cmocka_unit_test(test_target_errors),
		cmocka_unit_test(test_load_telco),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
