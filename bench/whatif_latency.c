/* whatif-latency: how long one what-if answer takes, in microseconds.
 *
 *     whatif-latency MODEL_DIR [--iterations N]
 *
 * Loads MODEL_DIR/schema.json and MODEL_DIR/model.json through core/, builds
 * the schema's typical customer (each feature's "typical", encoded with
 * schema_encode_value() exactly as a --set would be), then times N
 * single-row predictions, and N single-row predictions with SHAP
 * explanations, each call on its own (the what-if view's unit of work). It
 * prints p50, p99 and max for both; the targets (bench/README.md) are p99
 * below 100 µs without explanation and below 2 ms with.
 *
 * The first calls are run untimed: XGBoost allocates its per-thread
 * prediction caches lazily and the what-if view pays that once per model,
 * not per keystroke.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "metrics.h"
#include "model.h"
#include "schema.h"

#define WARMUP 200

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: whatif-latency MODEL_DIR [--iterations N]\n");
}

/* The typical customer as a model row; features without a typical value are
 * missing, as they are for `churnops whatif` without --data. */
static int typical_row(const struct schema *s, float *row, struct err *e)
{
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		char num[64];
		const char *value = NULL;
		if (f->has_typical && f->type == SCHEMA_CATEGORICAL) {
			value = f->typical_level;
		} else if (f->has_typical) {
			snprintf(num, sizeof num, "%.17g", f->typical);
			value = num;
		}
		int rc = schema_encode_value(s, i, value, &row[i], e);
		if (rc == 1)
			return err_set(e, EXIT_INPUT, "feature '%s': typical level not in the schema",
				       f->name);
		if (rc)
			return rc;
	}
	return 0;
}

static void report(const char *what, double *t, size_t n)
{
	printf("%-24s p50 %9.1f us   p99 %9.1f us   max %9.1f us\n", what,
	       metrics_percentile(t, n, 50), metrics_percentile(t, n, 99),
	       metrics_percentile(t, n, 100));
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	long iterations = 10000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
			char *end;
			errno = 0;
			iterations = strtol(argv[++i], &end, 10);
			if (errno || *end || iterations < 1 || iterations > 100000000) {
				fprintf(stderr, "whatif-latency: --iterations: '%s' is not a count\n",
					argv[i]);
				return EXIT_INPUT;
			}
		} else if (!strncmp(argv[i], "--iterations=", 13)) {
			char *end;
			errno = 0;
			iterations = strtol(argv[i] + 13, &end, 10);
			if (errno || *end || iterations < 1 || iterations > 100000000) {
				fprintf(stderr, "whatif-latency: --iterations: '%s' is not a count\n",
					argv[i] + 13);
				return EXIT_INPUT;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || dir) {
			usage(stderr);
			return EXIT_INPUT;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		usage(stderr);
		return EXIT_INPUT;
	}

	int rc = 0;
	struct err e = {0};
	struct schema *s = NULL;
	struct model *m = NULL;
	float *row = NULL, *contrib = NULL;
	double *plain = NULL, *explained = NULL;
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/schema.json", dir);
	s = schema_load(path, &e);
	if (!s) {
		rc = e.code ? e.code : EXIT_INPUT;
		goto out;
	}
	snprintf(path, sizeof path, "%s/model.json", dir);
	m = model_load(path, s, &e);
	if (!m) {
		rc = e.code ? e.code : EXIT_INPUT;
		goto out;
	}

	size_t n = s->nfeatures;
	row = malloc(n * sizeof *row);
	contrib = malloc((n + 1) * sizeof *contrib);
	plain = malloc((size_t)iterations * sizeof *plain);
	explained = malloc((size_t)iterations * sizeof *explained);
	if (!row || !contrib || !plain || !explained) {
		rc = err_set(&e, EXIT_CHECK, "out of memory");
		goto out;
	}
	if ((rc = typical_row(s, row, &e)))
		goto out;
	/* One what-if row is far too small to spread over threads. */
	if ((rc = model_set_threads(m, 1, &e)))
		goto out;

	float p = 0;
	for (int i = 0; i < WARMUP; i++) {
		if ((rc = model_predict(m, row, 1, n, &p, &e)) ||
		    (rc = model_explain(m, row, n, contrib, &e)))
			goto out;
	}
	for (long i = 0; i < iterations; i++) {
		double t0 = now_us();
		rc = model_predict(m, row, 1, n, &p, &e);
		plain[i] = now_us() - t0;
		if (rc)
			goto out;
	}
	for (long i = 0; i < iterations; i++) {
		double t0 = now_us();
		rc = model_predict(m, row, 1, n, &p, &e);
		if (!rc)
			rc = model_explain(m, row, n, contrib, &e);
		explained[i] = now_us() - t0;
		if (rc)
			goto out;
	}

	double sum = contrib[n];
	for (size_t i = 0; i < n; i++)
		sum += contrib[i];
	printf("model %s: %zu features, typical customer p = %.6f (margin %.6f)\n",
	       path, n, (double)p, sum);
	printf("%ld iterations each, single row, 1 thread\n", iterations);
	report("predict", plain, (size_t)iterations);
	report("predict + explain", explained, (size_t)iterations);
	double p99_plain = metrics_percentile(plain, (size_t)iterations, 99);
	double p99_expl = metrics_percentile(explained, (size_t)iterations, 99);
	printf("target: p99 < 100 us without explanation: %s; < 2000 us with: %s\n",
	       p99_plain < 100 ? "met" : "MISSED", p99_expl < 2000 ? "met" : "MISSED");

out:
	if (rc)
		fprintf(stderr, "whatif-latency: %s\n", e.msg[0] ? e.msg : "failed");
	free(explained);
	free(plain);
	free(contrib);
	free(row);
	model_destroy(m);
	schema_destroy(s);
	return rc;
}
