/* Unit tests for core/metrics.c.
 *
 * Expected values were computed with Debian's Python stack (scikit-learn
 * 1.2.1, numpy 1.24.2) on the same float32 scores, e.g.
 *   /usr/bin/python3 -c 'import numpy as np; from sklearn.metrics import \
 *     roc_auc_score as r; print(r(y, np.array(s, dtype=np.float32)))'
 * so a change in how ties, degenerate inputs or interpolation are handled
 * shows up as a disagreement with the reference tools.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "metrics.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static void simple(void **state)
{
	(void)state;
	const float y[] = {0, 0, 1, 1};
	const float s[] = {0.1f, 0.4f, 0.35f, 0.8f};
	assert_close(metrics_roc_auc(s, y, N(s)), 0.75, 1e-12);
	assert_close(metrics_pr_auc(s, y, N(s)), 0.8333333333333333, 1e-12);
}

/* Tied scores: a tie between a positive and a negative counts half, and a
 * tie group enters the precision-recall curve as one step. */
static void ties(void **state)
{
	(void)state;
	const float y[] = {1, 0, 1, 0, 1, 0, 0, 1, 1, 0};
	const float s[] = {0.5f, 0.5f, 0.7f, 0.2f, 0.5f,
			   0.7f, 0.1f, 0.9f, 0.2f, 0.2f};
	assert_close(metrics_roc_auc(s, y, N(s)), 0.74, 1e-12);
	assert_close(metrics_pr_auc(s, y, N(s)), 0.711111111111111, 1e-12);

	struct metrics_confusion c = metrics_confusion(s, y, N(s), 0.5);
	assert_int_equal(c.tp, 4);
	assert_int_equal(c.fp, 2);
	assert_int_equal(c.tn, 3);
	assert_int_equal(c.fn, 1);
	assert_close(metrics_precision(c), 0.6666666666666666, 1e-15);
	assert_close(metrics_recall(c), 0.8, 1e-15);
	assert_close(metrics_f1(c), 0.7272727272727272, 1e-15);
}

static void all_same_score(void **state)
{
	(void)state;
	const float y[] = {1, 0, 0, 1, 0, 0, 0};
	const float s[] = {0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f};
	assert_close(metrics_roc_auc(s, y, N(s)), 0.5, 1e-12);
	assert_close(metrics_pr_auc(s, y, N(s)), 0.2857142857142857, 1e-12);

	struct metrics_confusion c = metrics_confusion(s, y, N(s), 0.5);
	assert_int_equal(c.tp, 0);
	assert_int_equal(c.fp, 0);
	assert_int_equal(c.tn, 5);
	assert_int_equal(c.fn, 2);
	/* Nothing predicted positive: scikit-learn's zero_division=0. */
	assert_true(metrics_precision(c) == 0.0);
	assert_true(metrics_recall(c) == 0.0);
	assert_true(metrics_f1(c) == 0.0);
}

static const float random_y[] = {
	1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
	1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1,
	0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1,
};
static const float random_s[] = {
	0.5f, 0.4f, 0.3f, 0.4f, 0.6f, 0.4f, 0.5f, 0.0f, 0.4f, 0.1f,
	0.1f, 0.7f, 0.6f, 0.4f, 0.3f, 0.7f, 0.0f, 0.6f, 0.3f, 0.4f,
	0.5f, 0.3f, 0.0f, 0.2f, 0.5f, 0.1f, 0.7f, 0.2f, 0.5f, 0.6f,
	0.6f, 0.6f, 0.6f, 0.4f, 0.5f, 0.4f, 0.5f, 0.3f, 0.5f, 0.4f,
	0.3f, 0.2f, 0.7f, 0.3f, 0.4f, 0.7f, 0.5f, 0.5f, 0.3f, 0.1f,
	0.1f, 0.8f, 0.6f, 0.1f, 0.7f, 0.6f, 0.6f, 0.5f, 0.2f, 0.4f,
};

/* 60 rows with scores on a 0.1 grid: nearly every score is tied. */
static void many_ties(void **state)
{
	(void)state;
	size_t n = N(random_s);
	assert_close(metrics_roc_auc(random_s, random_y, n), 0.9117647058823529,
		     1e-12);
	assert_close(metrics_pr_auc(random_s, random_y, n), 0.9120856198453196,
		     1e-12);
	struct metrics_confusion c = metrics_confusion(random_s, random_y, n, 0.5);
	assert_int_equal(c.tp, 24);
	assert_int_equal(c.fp, 4);
	assert_int_equal(c.tn, 22);
	assert_int_equal(c.fn, 10);
	assert_close(metrics_precision(c), 0.8571428571428571, 1e-15);
	assert_close(metrics_recall(c), 0.7058823529411765, 1e-15);
	assert_close(metrics_f1(c), 0.7741935483870968, 1e-15);
}

/* The AUC against its definition, counted pair by pair, on rows in
 * reversed order: the sort inside must not depend on the input order. */
static void auc_matches_pair_count(void **state)
{
	(void)state;
	size_t n = N(random_s);
	float s[N(random_s)], y[N(random_y)];
	for (size_t i = 0; i < n; i++) {
		s[i] = random_s[n - 1 - i];
		y[i] = random_y[n - 1 - i];
	}
	double wins = 0, pairs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (y[i] == 1 && y[j] == 0) {
				pairs++;
				wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
			}
	assert_close(metrics_roc_auc(s, y, n), wins / pairs, 1e-15);
}

static void one_class(void **state)
{
	(void)state;
	const float neg[] = {0, 0, 0};
	const float pos[] = {1, 1};
	const float s[] = {0.1f, 0.2f, 0.3f};
	assert_true(isnan(metrics_roc_auc(s, neg, 3)));
	assert_true(isnan(metrics_roc_auc(s, pos, 2)));
	/* scikit-learn: no positive -> 0 (with a warning); all positive -> 1. */
	assert_true(metrics_pr_auc(s, neg, 3) == 0.0);
	assert_close(metrics_pr_auc(s, pos, 2), 1.0, 0);

	struct metrics_confusion c = metrics_confusion(s, neg, 3, 0.5);
	assert_true(metrics_recall(c) == 0.0);
}

static void degenerate_input(void **state)
{
	(void)state;
	const float y[] = {0, 1, 1};
	const float s[] = {0.1f, NAN, 0.3f};
	assert_true(isnan(metrics_roc_auc(s, y, 0)));
	assert_true(isnan(metrics_pr_auc(s, y, 0)));
	assert_true(isnan(metrics_roc_auc(s, y, 3)));
	assert_true(isnan(metrics_pr_auc(s, y, 3)));
	/* A NAN score is never >= the threshold. */
	struct metrics_confusion c = metrics_confusion(s, y, 3, 0.0);
	assert_int_equal(c.tp, 1);
	assert_int_equal(c.fn, 1);
	assert_int_equal(c.fp, 1);
}

static void threshold_is_inclusive(void **state)
{
	(void)state;
	const float y[] = {1, 0};
	const float s[] = {0.5f, 0.49999997f};
	struct metrics_confusion c = metrics_confusion(s, y, 2, 0.5);
	assert_int_equal(c.tp, 1);
	assert_int_equal(c.tn, 1);
	assert_int_equal(c.fp, 0);
	assert_int_equal(c.fn, 0);
}

static void mean_std(void **state)
{
	(void)state;
	const double v[] = {0.81, 0.83, 0.85, 0.84, 0.82};
	double mean, std;
	metrics_mean_std(v, N(v), &mean, &std);
	assert_close(mean, 0.8300000000000001, 1e-15);
	assert_close(std, 0.014142135623730933, 1e-15);

	metrics_mean_std(v, 1, &mean, &std);
	assert_close(mean, 0.81, 0);
	assert_close(std, 0, 0);
	metrics_mean_std(v, 0, &mean, &std);
	assert_true(isnan(mean) && isnan(std));
	metrics_mean_std(v, N(v), NULL, &std);
}

struct pct_case {
	double p, want;
};

/* numpy.percentile reference values, compared bit for bit. */
static void percentile(void **state)
{
	(void)state;
	const double a[] = {50, 20, 35, 15, 40};   /* unsorted on purpose */
	const struct pct_case ca[] = {
		{0, 15.0}, {5, 16.0}, {12.5, 17.5}, {30, 23.0},
		{33.3, 24.979999999999997}, {40, 29.0}, {50, 35.0},
		{66.6, 38.32}, {95, 48.0}, {99, 49.6},
		{99.9, 49.96000000000001}, {100, 50.0},
	};
	for (size_t i = 0; i < N(ca); i++) {
		double got = metrics_percentile(a, N(a), ca[i].p);
		if (got != ca[i].want)
			fail_msg("p%g: got %.17g, numpy %.17g", ca[i].p, got,
				 ca[i].want);
	}
	const double b[] = {1.5, 3.25, -2, 7.125, 0.1, 9.9, 4.4};
	const struct pct_case cb[] = {
		{0, -2.0}, {5, -1.3699999999999999}, {12.5, -0.42500000000000004},
		{30, 1.2199999999999998}, {33.3, 1.4971999999999996},
		{40, 2.2000000000000006}, {50, 3.25}, {66.6, 4.3953999999999995},
		{95, 9.067499999999999}, {99, 9.7335}, {99.9, 9.883350000000002},
		{100, 9.9},
	};
	for (size_t i = 0; i < N(cb); i++) {
		double got = metrics_percentile(b, N(b), cb[i].p);
		if (got != cb[i].want)
			fail_msg("p%g: got %.17g, numpy %.17g", cb[i].p, got,
				 cb[i].want);
	}
	/* The input is not reordered. */
	assert_true(a[0] == 50 && a[3] == 15);

	const double one[] = {3.5};
	assert_close(metrics_percentile(one, 1, 37), 3.5, 0);
	assert_true(isnan(metrics_percentile(a, 0, 50)));
	assert_true(isnan(metrics_percentile(a, N(a), -1)));
	assert_true(isnan(metrics_percentile(a, N(a), 100.5)));
	const double with_nan[] = {1, NAN, 3};
	assert_true(isnan(metrics_percentile(with_nan, 3, 50)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple),
		cmocka_unit_test(ties),
		cmocka_unit_test(all_same_score),
		cmocka_unit_test(many_ties),
		cmocka_unit_test(auc_matches_pair_count),
		cmocka_unit_test(one_class),
		cmocka_unit_test(degenerate_input),
		cmocka_unit_test(threshold_is_inclusive),
		cmocka_unit_test(mean_std),
		cmocka_unit_test(percentile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
