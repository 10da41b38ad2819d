/* Unit tests for core/segments.c on a hand-made set of eight customers,
 * small enough that every figure below was worked out by hand from the
 * definitions in segments.h. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "schema.h"
#include "segments.h"

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static const char schema_json[] =
	"{\"target\": \"churn\", \"positive\": \"Yes\", \"features\": ["
	"{\"name\": \"contract\", \"type\": \"categorical\", \"levels\": [\"A\", \"B\"]},"
	"{\"name\": \"tenure\", \"type\": \"numeric\"},"
	"{\"name\": \"senior\", \"type\": \"numeric\"},"
	"{\"name\": \"monthly_charges\", \"type\": \"numeric\"}]}";

#define ROWS 8
/* contract code, tenure, senior, monthly charges */
static const float x[ROWS * 4] = {
	0, 5, 0, 10,
	0, 20, 0, 20,
	0, 30, 1, 30,
	1, 60, 1, 40,
	1, 12, 0, 50,
	1, 13, 1, 60,
	NAN, 49, 0, NAN,
	0, NAN, 1, 80,
};
static const float y[ROWS] = {1, 0, 1, 0, 1, 0, 0, 1};
static const float score[ROWS] = {0.9f, 0.8f, 0.7f, 0.6f, 0.4f, 0.3f, 0.2f, 0.1f};

static struct schema *schema(void)
{
	struct err e = {0};
	cJSON *j = json_parse(schema_json, strlen(schema_json), "test", &e);
	assert_non_null(j);
	struct schema *s = schema_parse(j, "test", &e);
	cJSON_Delete(j);
	if (!s)
		fail_msg("%s", e.msg);
	return s;
}

static const struct segments_group *find(const struct segments_report *r, const char *col,
					 const char *label)
{
	for (size_t i = 0; i < r->ngroups; i++)
		if (!strcmp(r->groups[i].column, col) && !strcmp(r->groups[i].label, label))
			return &r->groups[i];
	fail_msg("no segment %s=%s", col, label);
	return NULL;
}

static void segments(void **state)
{
	(void)state;
	struct schema *s = schema();
	static const double bands[] = {12, 24, 48};
	const struct segments_column cols[] = {
		{"contract", NULL, 0},
		{"tenure", bands, 3},
		{"senior", NULL, 0},
	};
	struct segments_report r;
	struct err e = {0};
	assert_int_equal(segments_compute(s, x, y, score, ROWS, 0.5, cols, 3, 3, &r, &e), 0);
	/* contract: A, B, missing; tenure: 4 bands + missing; senior: 0, 1. */
	assert_int_equal(r.ngroups, 3 + 5 + 2);

	const struct segments_group *a = find(&r, "contract", "A");
	assert_int_equal(a->n, 4);
	assert_int_equal(a->positives, 3);
	assert_close(a->roc_auc, 1.0 / 3.0, 1e-15);
	assert_close(a->recall, 2.0 / 3.0, 1e-15);
	assert_close(a->positive_rate, 0.75, 1e-15);
	assert_true(a->judged);

	const struct segments_group *b = find(&r, "contract", "B");
	assert_close(b->roc_auc, 0.5, 1e-15);
	assert_close(b->recall, 0, 0);
	assert_true(b->judged);

	const struct segments_group *m = find(&r, "contract", "missing");
	assert_int_equal(m->n, 1);
	assert_true(isnan(m->roc_auc));
	assert_true(isnan(m->recall));
	assert_false(m->judged);

	assert_int_equal(find(&r, "tenure", "0-12")->n, 2);
	assert_int_equal(find(&r, "tenure", "13-24")->n, 2);
	assert_int_equal(find(&r, "tenure", "25-48")->n, 1);
	assert_int_equal(find(&r, "tenure", "49+")->n, 2);
	assert_int_equal(find(&r, "tenure", "missing")->n, 1);
	assert_int_equal(find(&r, "senior", "1")->n, 4);

	cJSON *js = segments_report_to_json(&r);
	char *text = cJSON_PrintUnformatted(js);
	assert_null(strstr(text, "nan"));
	assert_non_null(strstr(text, "\"roc_auc\":null"));
	free(text);
	cJSON_Delete(js);
	segments_report_finish(&r);

	/* Errors name the column. */
	const struct segments_column bad[] = {{"nope", NULL, 0}};
	assert_int_equal(segments_compute(s, x, y, score, ROWS, 0.5, bad, 1, 3, &r, &e),
			 EXIT_INPUT);
	assert_non_null(strstr(e.msg, "'nope'"));
	const struct segments_column cat_bands[] = {{"contract", bands, 3}};
	assert_int_equal(segments_compute(s, x, y, score, ROWS, 0.5, cat_bands, 1, 3, &r, &e),
			 EXIT_INPUT);
	const struct segments_column many[] = {{"monthly_charges", NULL, 0}};
	assert_int_equal(segments_compute(s, x, y, score, ROWS, 0.5, many, 1, 3, &r, &e), 0);
	segments_report_finish(&r);
	schema_destroy(s);
}

static void fairness(void **state)
{
	(void)state;
	struct schema *s = schema();
	struct segments_fairness f;
	struct err e = {0};
	/* senior 0: recall 1/2, positive rate 2/4; senior 1: the same. */
	assert_int_equal(segments_fairness(s, x, y, score, ROWS, 0.5, "senior", 3, 0.8, &f, &e), 0);
	assert_int_equal(f.judged_groups, 2);
	assert_close(f.recall_ratio, 1, 1e-15);
	assert_close(f.positive_rate_ratio, 1, 1e-15);
	assert_true(f.pass);
	segments_fairness_finish(&f);

	/* contract A: recall 2/3, rate 3/4; B: recall 0, rate 1/3; the one
	 * missing row is below the minimum size and left out. */
	assert_int_equal(segments_fairness(s, x, y, score, ROWS, 0.5, "contract", 3, 0.8, &f, &e), 0);
	assert_int_equal(f.judged_groups, 2);
	assert_close(f.recall_ratio, 0, 0);
	assert_close(f.positive_rate_ratio, (1.0 / 3.0) / 0.75, 1e-15);
	assert_true(f.judged);
	assert_false(f.pass);
	segments_fairness_finish(&f);

	/* Groups too small to judge. */
	assert_int_equal(segments_fairness(s, x, y, score, ROWS, 0.5, "senior", 5, 0.8, &f, &e), 0);
	assert_false(f.judged);
	assert_true(isnan(f.recall_ratio));
	cJSON *js = segments_fairness_to_json(&f);
	char *text = cJSON_PrintUnformatted(js);
	assert_non_null(strstr(text, "\"recall_ratio\":null"));
	free(text);
	cJSON_Delete(js);
	segments_fairness_finish(&f);
	schema_destroy(s);
}

static void business(void **state)
{
	(void)state;
	struct schema *s = schema();
	struct segments_business_opts o;
	segments_business_defaults(&o);
	assert_string_equal(o.value_column, "monthly_charges");
	o.top_k = 0.25;
	struct segments_business b;
	struct err e = {0};
	assert_int_equal(segments_business(s, x, y, score, ROWS, &o, &b, &e), 0);
	/* floor(0.25 x 8) = 2 contacted: rows 0 (churner, 10/month) and 1. */
	assert_int_equal(b.contacted, 2);
	assert_int_equal(b.churners_contacted, 1);
	assert_close(b.saved, 0.3 * 10 * 12, 1e-9);
	assert_close(b.cost, 20, 0);
	assert_close(b.net, 36 - 20, 1e-9);
	/* Churners are worth (10 + 30 + 50 + 80) x 12 = 2040. */
	assert_close(b.random_net, 2.0 / 8.0 * 0.3 * 2040 - 20, 1e-9);
	assert_close(b.net_vs_random, 16 - 133, 1e-9);
	assert_close(b.base_rate, 0.5, 0);
	/* Rank r goes to decile floor(10 r / 8): 0,1,2,3,5,6,7,8. */
	assert_int_equal(b.decile_rows[0], 1);
	assert_int_equal(b.decile_rows[4], 0);
	assert_int_equal(b.decile_rows[9], 0);
	assert_close(b.decile_lift[0], 2, 1e-15);
	assert_true(isnan(b.decile_lift[4]));
	assert_close(b.cumulative_gain[0], 0.25, 1e-15);
	assert_close(b.cumulative_gain[9], 1, 1e-15);
	assert_close(b.cumulative_lift[9], 1, 1e-15);

	o.value_column = "contract";
	assert_int_equal(segments_business(s, x, y, score, ROWS, &o, &b, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "'contract'"));
	o.value_column = "monthly_charges";
	o.top_k = 0;
	assert_int_equal(segments_business(s, x, y, score, ROWS, &o, &b, &e), EXIT_INPUT);
	schema_destroy(s);
}

/* Equal scores keep file order when ranking. */
static void ties_keep_order(void **state)
{
	(void)state;
	struct schema *s = schema();
	const float flat[ROWS] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
	struct segments_business_opts o;
	segments_business_defaults(&o);
	o.top_k = 0.25;
	struct segments_business b;
	struct err e = {0};
	assert_int_equal(segments_business(s, x, y, flat, ROWS, &o, &b, &e), 0);
	assert_int_equal(b.churners_contacted, 1);
	assert_close(b.saved, 0.3 * 120, 1e-9);
	schema_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(segments),
		cmocka_unit_test(fairness),
		cmocka_unit_test(business),
		cmocka_unit_test(ties_keep_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
