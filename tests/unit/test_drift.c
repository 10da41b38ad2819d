/* Unit tests for core/drift.c.
 *
 * Expected PSI values were computed with numpy 1.24 (Debian's python3) from
 * the definition in drift.h: numpy.percentile deciles, numpy.searchsorted
 * (side="left") for the bins, fractions clamped to 1e-4, e.g.
 *   r = np.maximum(r, 1e-4); c = np.maximum(c, 1e-4)
 *   np.sum((c - r) * np.log(c / r))
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drift.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static void psi_formula(void **state)
{
	(void)state;
	const double r1[] = {0.5, 0.5}, c1[] = {0.25, 0.75};
	assert_close(drift_psi(r1, c1, 2), 0.27465307216702739, 1e-12);
	/* An empty bin counts as 0.01 %. */
	const double r2[] = {1, 0}, c2[] = {0.5, 0.5};
	assert_close(drift_psi(r2, c2, 2), 4.604318466668949, 1e-12);
	/* Empty on both sides: nothing. */
	const double r3[] = {0, 1}, c3[] = {0, 1};
	assert_close(drift_psi(r3, c3, 2), 0, 0);
}

static void bands(void **state)
{
	(void)state;
	assert_int_equal(drift_band_of(0), DRIFT_STABLE);
	assert_int_equal(drift_band_of(0.0999), DRIFT_STABLE);
	assert_int_equal(drift_band_of(0.1), DRIFT_BAND_MODERATE);
	assert_int_equal(drift_band_of(0.25), DRIFT_BAND_MODERATE);
	assert_int_equal(drift_band_of(0.2501), DRIFT_BAND_SIGNIFICANT);
	assert_string_equal(drift_band_name(DRIFT_BAND_SIGNIFICANT), "significant");
}

static void numeric_deciles(void **state)
{
	(void)state;
	double ref[100], cur[100];
	for (int i = 0; i < 100; i++) {
		ref[i] = i + 1;
		cur[i] = i + 51;
	}
	struct drift_feature f;
	struct err e = {0};
	assert_int_equal(drift_numeric("x", ref, 100, ref, 100, 0, &f, &e), 0);
	assert_int_equal(f.nbins, 10);
	assert_close(f.psi, 0, 0);
	assert_string_equal(f.bins[0].label, "<= 10.9");
	assert_string_equal(f.bins[9].label, "> 90.1");
	drift_feature_finish(&f);

	/* Shifted by half the range: the open last bin takes everything above
	 * the reference. */
	assert_int_equal(drift_numeric("x", ref, 100, cur, 100, 0, &f, &e), 0);
	assert_int_equal(f.bins[9].cur_count, 60);
	assert_int_equal(f.bins[0].cur_count, 0);
	assert_close(f.psi, 4.3463034964656053, 1e-12);
	assert_int_equal(f.band, DRIFT_BAND_SIGNIFICANT);
	drift_feature_finish(&f);
}

/* Ties collapse duplicate edges; missing values get their own bin; cells
 * that were not numbers count in the current rows. */
static void numeric_ties_missing(void **state)
{
	(void)state;
	const double ref[] = {0, 0, 0, 0, 0, 0, 0, 1, 1, NAN};
	const double cur[] = {0, 1, 1, 1, NAN, NAN};
	struct drift_feature f;
	struct err e = {0};
	assert_int_equal(drift_numeric("b", ref, N(ref), cur, N(cur), 2, &f, &e), 0);
	/* Deciles of 0,0,0,0,0,0,0,1,1 are 0 (x7), 0.4, 1 -> edges {0, 0.4, 1}:
	 * bins <= 0, (0, 0.4], (0.4, 1], > 1, then missing, not a number. */
	assert_int_equal(f.nbins, 6);
	assert_string_equal(f.bins[1].label, "(0, 0.4]");
	assert_string_equal(f.bins[4].label, "missing");
	assert_string_equal(f.bins[5].label, "not a number");
	assert_int_equal(f.bins[0].ref_count, 7);
	assert_int_equal(f.bins[2].ref_count, 2);
	assert_int_equal(f.bins[2].cur_count, 3);
	assert_int_equal(f.bins[4].ref_count, 1);
	assert_int_equal(f.bins[4].cur_count, 2);
	assert_int_equal(f.bins[5].cur_count, 2);
	assert_int_equal(f.unseen, 2);
	assert_close(f.bins[5].cur_frac, 2.0 / 8.0, 1e-15);
	drift_feature_finish(&f);
}

static void categorical_unseen(void **state)
{
	(void)state;
	const char *ref[] = {"a", "a", "b", "c"};
	const char *cur[] = {"a", "d", "d", ""};
	struct drift_feature f;
	struct err e = {0};
	assert_int_equal(drift_categorical("k", NULL, 0, ref, 4, cur, 4, &f, &e), 0);
	assert_int_equal(f.nbins, 5);
	assert_string_equal(f.bins[3].label, "unseen");
	assert_string_equal(f.bins[4].label, "missing");
	assert_int_equal(f.bins[3].cur_count, 2);
	assert_int_equal(f.unseen, 2);
	assert_close(f.psi, 10.296718965867925, 1e-12);
	drift_feature_finish(&f);

	/* With levels given (a schema's), the reference's own extra value is
	 * unseen too. */
	const char *levels[] = {"a", "b"};
	assert_int_equal(drift_categorical("k", levels, 2, ref, 4, ref, 4, &f, &e), 0);
	assert_int_equal(f.nbins, 3);
	assert_int_equal(f.bins[2].ref_count, 1);
	assert_close(f.psi, 0, 0);
	drift_feature_finish(&f);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/churnops-drift-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Whole files: the target is left out, types come from the reference, and
 * the overall score is the largest feature PSI. */
static void compute_files(void **state)
{
	(void)state;
	char *a = write_tmp("churn,x,k\nNo,1,a\nYes,2,a\nNo,3,b\nNo,4,b\n");
	char *b = write_tmp("churn,k,x\nNo,a,1\nNo,a,2\nYes,a,3\nNo,zz,oops\n");
	const char *exclude[] = {"churn", NULL};
	struct drift_opts o = {.exclude = exclude};
	struct drift_report r;
	struct err e = {0};
	assert_int_equal(drift_compute(a, b, &o, &r, &e), 0);
	assert_int_equal(r.nfeatures, 2);
	assert_string_equal(r.features[0].name, "x");
	assert_false(r.features[0].categorical);
	assert_true(r.features[1].categorical);
	assert_int_equal(r.features[0].unseen, 1);
	assert_int_equal(r.features[1].unseen, 1);
	double mx = fmax(r.features[0].psi, r.features[1].psi);
	assert_close(r.overall, mx, 0);
	assert_close(r.mean_psi, (r.features[0].psi + r.features[1].psi) / 2, 1e-15);
	assert_false(r.has_score);
	cJSON *js = drift_report_to_json(&r);
	char *text = cJSON_PrintUnformatted(js);
	assert_non_null(strstr(text, "\"definition\":\"max feature PSI\""));
	assert_null(strstr(text, "nan"));
	free(text);
	cJSON_Delete(js);
	drift_report_finish(&r);

	/* A compared column missing from the current file names it. */
	char *c = write_tmp("churn,x\nNo,1\n");
	assert_int_equal(drift_compute(a, c, &o, &r, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "missing column 'k'"));
	unlink(a);
	unlink(b);
	unlink(c);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(psi_formula),
		cmocka_unit_test(bands),
		cmocka_unit_test(numeric_deciles),
		cmocka_unit_test(numeric_ties_missing),
		cmocka_unit_test(categorical_unseen),
		cmocka_unit_test(compute_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
