/* Unit tests for core/model.c, against the real libxgboost.
 *
 * A small synthetic churn set (a numeric, a categorical and a numeric feature
 * with missing values) is trained once in the group set-up; the tests then
 * check the promises of model.h: batch and single-row scoring agree, SHAP
 * contributions add up to the margin, saving and loading (JSON and UBJSON)
 * keeps predictions bit for bit, bad files and mismatched schemas fail with
 * EXIT_INPUT and a message naming the file, early stopping keeps the best
 * trees, training is deterministic for a seed.
 *
 * The last tests run core/train.c's train_run() on the real Telco data
 * (SOURCE_ROOT/data/telco_churn.csv) with few rounds: the model directory it
 * writes, and how it treats an existing one.
 */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fileio.h"
#include "json.h"
#include "model.h"
#include "schema.h"
#include "train.h"

#define NROWS 800
#define NCOLS 3

static char *contract_levels[] = {"Month-to-month", "One year", "Two year"};
static struct schema_feature features[NCOLS] = {
	{.name = "tenure", .type = SCHEMA_NUMERIC},
	{.name = "contract", .type = SCHEMA_CATEGORICAL,
	 .levels = contract_levels, .nlevels = 3},
	{.name = "monthly_charges", .type = SCHEMA_NUMERIC},
};
static struct schema schema = {
	.target = "churn", .positive = "Yes",
	.features = features, .nfeatures = NCOLS,
};

struct fixture {
	char dir[64];
	float x[NROWS * NCOLS];
	float y[NROWS];
	struct model_train_set *train;
	struct model_train_set *valid;   /* the last quarter of the rows */
	struct model *model;     /* trained in set-up, saved as m.json */
	char trained_sha[65];    /* its sha256 before it was saved */
};

static struct fixture fx;

static uint64_t rng_state;

static double uniform(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* Churn falls with tenure and longer contracts and rises with charges,
 * with noise; one charge in 13 is missing. */
static void make_data(float *x, float *y, size_t n)
{
	rng_state = 12345;
	for (size_t i = 0; i < n; i++) {
		double tenure = floor(uniform() * 72);
		double contract = floor(uniform() * 3);
		double charges = 20 + uniform() * 100;
		double logit = 1.0 - tenure / 20 - 1.2 * contract +
			       (charges - 70) / 40 + (uniform() - 0.5) * 2;
		x[i * NCOLS + 0] = (float)tenure;
		x[i * NCOLS + 1] = (float)contract;
		x[i * NCOLS + 2] = i % 13 == 0 ? NAN : (float)charges;
		y[i] = uniform() < 1 / (1 + exp(-logit)) ? 1.0f : 0.0f;
	}
}

static struct model_params params(void)
{
	return (struct model_params){
		.rounds = 40, .max_depth = 3, .threads = 0, .eta = 0.2,
		.subsample = 0.8, .colsample = 1.0, .min_child_weight = 1,
		.scale_pos_weight = 1, .seed = 7, .early_stopping = 0,
	};
}

static char *path_in(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", fx.dir, name);
	return p;
}

static int setup(void **state)
{
	(void)state;
	struct err e = {0};
	snprintf(fx.dir, sizeof fx.dir, "/tmp/test_model.XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	make_data(fx.x, fx.y, NROWS);
	size_t ntrain = NROWS * 3 / 4;
	fx.train = model_train_set_create(fx.x, ntrain, NCOLS, fx.y, &schema, &e);
	fx.valid = model_train_set_create(fx.x + ntrain * NCOLS, NROWS - ntrain,
					  NCOLS, fx.y + ntrain, &schema, &e);
	if (!fx.train || !fx.valid) {
		fprintf(stderr, "set-up: %s\n", e.msg);
		return -1;
	}
	struct model_params p = params();
	int best = 123;
	fx.model = model_train(&p, fx.train, NULL, &best, NULL, NULL, &e);
	if (!fx.model || best != -1) {
		fprintf(stderr, "set-up: %s\n", e.msg);
		return -1;
	}
	if (model_path(fx.model) != NULL)
		return -1;
	memcpy(fx.trained_sha, model_sha256(fx.model), sizeof fx.trained_sha);
	if (model_save(fx.model, path_in("m.json"), &e)) {
		fprintf(stderr, "set-up: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static int teardown(void **state)
{
	(void)state;
	model_destroy(fx.model);
	model_train_set_destroy(fx.train);
	model_train_set_destroy(fx.valid);
	nftw(fx.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void assert_msg_contains(const struct err *e, const char *part)
{
	if (!strstr(e->msg, part))
		fail_msg("message '%s' does not contain '%s'", e->msg, part);
}

static void describes_itself(void **state)
{
	(void)state;
	assert_int_equal(model_num_features(fx.model), NCOLS);
	assert_string_equal(model_objective(fx.model), "binary:logistic");
	assert_int_equal(strlen(model_sha256(fx.model)), 64);
	assert_int_equal(strspn(model_sha256(fx.model), "0123456789abcdef"), 64);
	assert_string_equal(model_path(fx.model), path_in("m.json"));
	char v[32];
	model_library_version(v, sizeof v);
	assert_string_equal(v, "1.7.4");
}

static void batch_equals_single_rows(void **state)
{
	(void)state;
	struct err e = {0};
	float batch[NROWS], margin[NROWS];
	assert_int_equal(model_predict(fx.model, fx.x, NROWS, NCOLS, batch, &e), 0);
	assert_int_equal(model_predict_margin(fx.model, fx.x, NROWS, NCOLS, margin,
					      &e), 0);
	for (size_t i = 0; i < NROWS; i++) {
		float one, one_margin;
		assert_int_equal(model_predict(fx.model, fx.x + i * NCOLS, 1, NCOLS,
					       &one, &e), 0);
		assert_int_equal(model_predict_margin(fx.model, fx.x + i * NCOLS, 1,
						      NCOLS, &one_margin, &e), 0);
		assert_true(one == batch[i]);
		assert_true(one_margin == margin[i]);
		assert_true(batch[i] > 0 && batch[i] < 1);
		double sigmoid = 1 / (1 + exp(-(double)margin[i]));
		assert_true(fabs(sigmoid - batch[i]) < 1e-6);
	}
	/* The model learnt something: mean probability of positives above that
	 * of negatives. */
	double pos = 0, neg = 0;
	size_t npos = 0;
	for (size_t i = 0; i < NROWS; i++) {
		if (fx.y[i] > 0.5f) {
			pos += batch[i];
			npos++;
		} else {
			neg += batch[i];
		}
	}
	assert_true(pos / (double)npos > neg / (double)(NROWS - npos) + 0.2);

	/* Zero rows is a no-op. */
	assert_int_equal(model_predict(fx.model, fx.x, 0, NCOLS, batch, &e), 0);
}

static void explain_sums_to_margin(void **state)
{
	(void)state;
	struct err e = {0};
	enum { K = 50 };
	float margin[K], batch[K * (NCOLS + 1)];
	assert_int_equal(model_predict_margin(fx.model, fx.x, K, NCOLS, margin, &e),
			 0);
	assert_int_equal(model_explain_batch(fx.model, fx.x, K, NCOLS, batch, &e),
			 0);
	for (size_t i = 0; i < K; i++) {
		float c[NCOLS + 1];
		assert_int_equal(model_explain(fx.model, fx.x + i * NCOLS, NCOLS, c,
					       &e), 0);
		double sum = 0;
		for (size_t j = 0; j <= NCOLS; j++) {
			sum += c[j];
			assert_true(c[j] == batch[i * (NCOLS + 1) + j]);
		}
		if (fabs(sum - margin[i]) > 1e-4)
			fail_msg("row %zu: contributions sum to %g, margin %g", i,
				 sum, (double)margin[i]);
	}
	/* The categorical feature matters in this data, so some row must have a
	 * non-zero contribution from it: its splits were used. */
	bool used = false;
	for (size_t i = 0; i < K; i++)
		used |= batch[i * (NCOLS + 1) + 1] != 0;
	assert_true(used);
}

static void predict_all(struct model *m, float *out)
{
	struct err e = {0};
	if (model_predict(m, fx.x, NROWS, NCOLS, out, &e))
		fail_msg("%s", e.msg);
}

static void save_load_round_trip(void **state)
{
	(void)state;
	struct err e = {0};
	const char *path = path_in("m.json");
	/* The hash of a trained model is that of its JSON file. */
	assert_string_equal(model_sha256(fx.model), fx.trained_sha);

	struct model *m = model_load(path, &schema, &e);
	if (!m)
		fail_msg("%s", e.msg);
	assert_string_equal(model_sha256(m), fx.trained_sha);
	assert_string_equal(model_objective(m), "binary:logistic");
	float a[NROWS], b[NROWS];
	predict_all(fx.model, a);
	predict_all(m, b);
	assert_memory_equal(a, b, sizeof a);
	model_destroy(m);

	/* The file is XGBoost JSON with the schema's names and types, so
	 * Python's Booster reads it with the same feature names. (Searched as
	 * text: XGBoost writes NaN split conditions for categorical splits,
	 * which strict JSON parsers such as cJSON refuse.) */
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_all(path, 1 << 24, &text, &len, &e), 0);
	assert_non_null(strstr(text,
		"\"feature_names\":[\"tenure\",\"contract\",\"monthly_charges\"]"));
	assert_non_null(strstr(text, "\"feature_types\":[\"q\",\"c\",\"q\"]"));
	assert_non_null(strstr(text, "\"objective\":{\"name\":\"binary:logistic\""));
	free(text);
}

static void ubjson_round_trip(void **state)
{
	(void)state;
	struct err e = {0};
	struct model *m = model_load(path_in("m.json"), &schema, &e);
	if (!m)
		fail_msg("%s", e.msg);
	const char *ubj = path_in("m.ubj");
	assert_int_equal(model_save(m, ubj, &e), 0);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_all(ubj, 1 << 24, &buf, &len, &e), 0);
	/* UBJSON: an object marker, then a length-prefixed key, not a quote. */
	assert_true(len > 2 && buf[0] == '{' && buf[1] != '"');
	free(buf);

	struct model *u = model_load(ubj, &schema, &e);
	if (!u)
		fail_msg("%s", e.msg);
	assert_string_equal(model_sha256(u), model_sha256(m));
	assert_string_not_equal(model_sha256(u), model_sha256(fx.model));
	assert_string_equal(model_objective(u), "binary:logistic");
	float a[NROWS], b[NROWS];
	predict_all(m, a);
	predict_all(u, b);
	assert_memory_equal(a, b, sizeof a);
	model_destroy(u);
	model_destroy(m);
}

static void write_file(const char *path, const char *text, size_t len)
{
	struct err e = {0};
	if (fileio_write_all(path, text, len, &e))
		fail_msg("%s", e.msg);
}

static void expect_not_a_model(const char *name, const char *text, size_t len)
{
	struct err e = {0};
	const char *path = path_in(name);
	write_file(path, text, len);
	struct model *m = model_load(path, NULL, &e);
	if (m)
		fail_msg("%s loaded as a model", name);
	assert_int_equal(e.code, EXIT_INPUT);
	char want[256];
	snprintf(want, sizeof want, "%s: not an XGBoost model: ", path);
	if (strncmp(e.msg, want, strlen(want)) != 0)
		fail_msg("message '%s' does not start with '%s'", e.msg, want);
	/* One line, no C++ stack trace. */
	assert_null(strchr(e.msg, '\n'));
	assert_null(strstr(e.msg, "Stack trace"));
	assert_true(strlen(e.msg) > strlen(want));
}

static void bad_files(void **state)
{
	(void)state;
	expect_not_a_model("text.txt", "churn,tenure\nYes,1\n", 19);
	expect_not_a_model("empty.json", "", 0);
	expect_not_a_model("object.json", "{\"hello\": 1}", 12);
	expect_not_a_model("zeros.bin", "\0\0\0\0\0\0\0\0", 8);

	struct err e = {0};
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_all(path_in("m.json"), 1 << 24, &buf, &len,
					 &e), 0);
	expect_not_a_model("truncated.json", buf, len / 2);

	/* Leading white space is fine: the first non-space byte decides. */
	char *spaced = malloc(len + 3);
	assert_non_null(spaced);
	memcpy(spaced, " \n\t", 3);
	memcpy(spaced + 3, buf, len);
	write_file(path_in("spaced.json"), spaced, len + 3);
	struct model *m = model_load(path_in("spaced.json"), &schema, &e);
	if (!m)
		fail_msg("%s", e.msg);
	model_destroy(m);
	free(spaced);
	free(buf);

	assert_null(model_load(path_in("missing.json"), NULL, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_msg_contains(&e, "missing.json");
}

static void schema_mismatch(void **state)
{
	(void)state;
	struct err e = {0};
	const char *path = path_in("m.json");

	struct schema two = schema;
	two.nfeatures = 2;
	assert_null(model_load(path, &two, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	char want[256];
	snprintf(want, sizeof want, "%s has 3 features, the schema has 2", path);
	assert_string_equal(e.msg, want);

	struct schema_feature renamed[NCOLS];
	memcpy(renamed, features, sizeof renamed);
	renamed[2].name = "total_charges";
	struct schema other = schema;
	other.features = renamed;
	assert_null(model_load(path, &other, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_msg_contains(&e, "feature 3 is 'monthly_charges' where the schema has 'total_charges'");

	memcpy(renamed, features, sizeof renamed);
	renamed[1].type = SCHEMA_NUMERIC;
	assert_null(model_load(path, &other, &e));
	assert_msg_contains(&e, "'contract' is categorical in the model but numeric in the schema");

	/* Rows of the wrong width are refused before XGBoost sees them. */
	float out[2];
	assert_int_equal(model_predict(fx.model, fx.x, 2, NCOLS - 1, out, &e),
			 EXIT_INPUT);
	assert_string_equal(e.msg, "rows have 2 features, the model expects 3");
	float c[NCOLS + 2];
	assert_int_equal(model_explain(fx.model, fx.x, NCOLS + 1, c, &e),
			 EXIT_INPUT);
	assert_string_equal(e.msg, "rows have 4 features, the model expects 3");
}

static int progress_calls, progress_last;

static void count_progress(void *ud, int round, int total)
{
	(void)ud;
	progress_calls++;
	progress_last = round;
	assert_true(round >= 1 && round <= total);
}

/* Early stopping stops after `early_stopping` rounds without a better
 * validation logloss and keeps only the trees up to the best round, with
 * Python's attributes recorded. */
static void early_stopping(void **state)
{
	(void)state;
	struct err e = {0};
	struct model_params p = params();
	p.rounds = 400;
	p.eta = 0.5;
	p.max_depth = 6;
	p.early_stopping = 5;
	int best = -1;
	progress_calls = 0;
	struct model *m = model_train(&p, fx.train, fx.valid, &best,
				      count_progress, NULL, &e);
	if (!m)
		fail_msg("%s", e.msg);
	assert_true(best >= 0 && best < 390);
	assert_int_equal(progress_calls, best + 1 + p.early_stopping);
	assert_int_equal(progress_last, best + 1 + p.early_stopping);
	assert_int_equal(model_save(m, path_in("es.json"), &e), 0);
	model_destroy(m);

	char *text = NULL;
	size_t len = 0;
	assert_int_equal(fileio_read_all(path_in("es.json"), 1 << 24, &text, &len,
					 &e), 0);
	char want[64];
	snprintf(want, sizeof want, "\"best_iteration\":\"%d\"", best);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "\"best_score\":\"0."));
	snprintf(want, sizeof want, "\"num_trees\":\"%d\"", best + 1);
	assert_non_null(strstr(text, want));
	free(text);

	/* Without a validation set the early-stopping setting has no effect. */
	p.rounds = 12;
	m = model_train(&p, fx.train, NULL, &best, NULL, NULL, &e);
	assert_non_null(m);
	assert_int_equal(best, -1);
	model_destroy(m);
}

static void deterministic_for_a_seed(void **state)
{
	(void)state;
	struct err e = {0};
	struct model_params p = params();
	struct model *a = model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e);
	p.threads = 1;
	struct model *b = model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e);
	p.seed = 8;
	struct model *c = model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_string_equal(model_sha256(a), fx.trained_sha);
	/* The thread count does not change the model. */
	assert_string_equal(model_sha256(a), model_sha256(b));
	/* subsample < 1: another seed draws other rows. */
	assert_string_not_equal(model_sha256(a), model_sha256(c));
	model_destroy(a);
	model_destroy(b);
	model_destroy(c);
}

static void bad_parameters(void **state)
{
	(void)state;
	struct err e = {0};
	struct model_params p = params();
	p.rounds = 0;
	assert_null(model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_msg_contains(&e, "rounds");
	p = params();
	p.subsample = 1.5;
	assert_null(model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e));
	assert_msg_contains(&e, "subsample");
	p = params();
	p.eta = NAN;
	assert_null(model_train(&p, fx.train, NULL, NULL, NULL, NULL, &e));
	assert_msg_contains(&e, "eta");

	/* A categorical value that is not a level code, and a label that is
	 * not 0 or 1. */
	float x[2 * NCOLS] = {1, 0, 30, 2, 3, 40};
	float y[2] = {0, 1};
	assert_null(model_train_set_create(x, 2, NCOLS, y, &schema, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_msg_contains(&e, "row 2, feature 'contract': 3 is not a level code");
	x[4] = 1;
	y[0] = 2;
	assert_null(model_train_set_create(x, 2, NCOLS, y, &schema, &e));
	assert_msg_contains(&e, "label 2 is not 0 or 1");
	y[0] = 0;
	assert_null(model_train_set_create(x, 2, NCOLS - 1, y, &schema, &e));
	assert_msg_contains(&e, "rows have 2 features, the schema has 3");
}

struct worker {
	struct model *m;
	float out[NROWS];
	int rc;
};

static void *predict_thread(void *arg)
{
	struct worker *w = arg;
	struct err e = {0};
	for (int i = 0; i < 10 && !w->rc; i++)
		w->rc = model_predict(w->m, fx.x, NROWS, NCOLS, w->out, &e);
	return NULL;
}

/* One model shared by several threads: calls are serialised inside and
 * each caller gets its own, correct, result. */
static void threads(void **state)
{
	(void)state;
	struct err e = {0};
	float serial[NROWS];
	predict_all(fx.model, serial);
	assert_int_equal(model_set_threads(fx.model, 1, &e), 0);
	assert_int_equal(model_set_threads(fx.model, -1, &e), EXIT_INPUT);

	enum { T = 4 };
	static struct worker w[T];
	pthread_t tid[T];
	for (int i = 0; i < T; i++) {
		w[i].m = fx.model;
		w[i].rc = 0;
		assert_int_equal(pthread_create(&tid[i], NULL, predict_thread, &w[i]),
				 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].rc, 0);
		assert_memory_equal(w[i].out, serial, sizeof serial);
	}
	assert_int_equal(model_set_threads(fx.model, 0, &e), 0);
}

/* ---- train_run ------------------------------------------------------------ */

#define TELCO SOURCE_ROOT "/data/telco_churn.csv"
#define TELCO_ROWS 7043

static struct train_opts telco_opts(const char *out)
{
	struct train_opts o;
	train_opts_defaults(&o);
	o.data = TELCO;
	o.out_dir = out;
	o.params.rounds = 60;
	o.params.eta = 0.2;
	/* One thread: on a loaded machine OpenMP teams waiting at barriers
	 * make these fits many times slower, and the model does not depend on
	 * the thread count (deterministic_for_a_seed checks that). */
	o.params.threads = 1;
	o.folds = 3;
	return o;
}

static int phases_seen;

static void note_phase(void *ud, const char *phase, int done, int total)
{
	(void)ud;
	assert_true(done >= 0 && done <= total);
	if (strcmp(phase, "cv fold 3/3") == 0 && done == total)
		phases_seen |= 1;
	if (strcmp(phase, "final fit") == 0 && done == total)
		phases_seen |= 2;
}

/* Entries of the test directory whose name starts with PREFIX: temporary
 * and moved-aside siblings must never be left behind. */
static int siblings(const char *prefix)
{
	DIR *d = opendir(fx.dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *ent;
	while ((ent = readdir(d)))
		n += strncmp(ent->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static double eval_num(const cJSON *ev, const char *obj, const char *key)
{
	const cJSON *o = obj ? cJSON_GetObjectItemCaseSensitive(ev, obj) : ev;
	if (!json_has_num(o, key))
		fail_msg("eval.json has no number %s%s%s", obj ? obj : "",
			 obj ? "." : "", key);
	return json_num(o, key, NAN);
}

static void train_run_writes_model_directory(void **state)
{
	(void)state;
	struct err e = {0};
	const char *out = path_in("telco");
	struct train_opts o = telco_opts(out);
	cJSON *ev = NULL;
	phases_seen = 0;
	if (train_run(&o, note_phase, NULL, &ev, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(phases_seen, 3);
	assert_non_null(ev);

	double auc = eval_num(ev, NULL, "roc_auc");
	assert_true(auc > 0.78 && auc < 0.92);
	assert_true(eval_num(ev, NULL, "pr_auc") > 0.5);
	/* Stratified: round(0.2 * 1869) positives + round(0.2 * 5174)
	 * negatives. */
	assert_int_equal(eval_num(ev, NULL, "test_rows"), 374 + 1035);
	assert_int_equal(eval_num(ev, NULL, "train_rows"), TELCO_ROWS - 1409);
	assert_int_equal(eval_num(ev, "data", "rows"), TELCO_ROWS);
	assert_int_equal(eval_num(ev, "confusion", "tp") +
			 eval_num(ev, "confusion", "fn"), 374);
	assert_int_equal(eval_num(ev, "confusion", "fp") +
			 eval_num(ev, "confusion", "tn"), 1035);
	assert_int_equal(eval_num(ev, "cv", "folds"), 3);
	double mean = eval_num(ev, "cv", "roc_auc_mean");
	assert_true(mean > 0.78 && mean < 0.92);
	assert_true(eval_num(ev, "cv", "roc_auc_std") < 0.05);
	const cJSON *cv = cJSON_GetObjectItemCaseSensitive(ev, "cv");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cv, "roc_auc")), 3);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(ev, "best_iteration")));
	assert_string_equal(json_str(ev, "xgboost_version"), "1.7.4");
	assert_int_equal(strlen(json_str(ev, "created")), 20);

	/* What was returned is what was written, and the directory loads. */
	char path[256];
	snprintf(path, sizeof path, "%s/eval.json", out);
	cJSON *disk = json_load_file(path, &e);
	assert_non_null(disk);
	/* (cJSON prints 15 significant digits when they read back within an
	 * epsilon, so the last bit may differ.) */
	assert_true(fabs(eval_num(disk, NULL, "roc_auc") - auc) < 1e-12);
	cJSON_Delete(disk);
	snprintf(path, sizeof path, "%s/schema.json", out);
	struct schema *s = schema_load(path, &e);
	if (!s)
		fail_msg("%s", e.msg);
	assert_int_equal(s->nfeatures, 19);
	snprintf(path, sizeof path, "%s/model.json", out);
	struct model *m = model_load(path, s, &e);
	if (!m)
		fail_msg("%s", e.msg);
	model_destroy(m);
	schema_destroy(s);
	cJSON_Delete(ev);
	assert_int_equal(siblings("telco."), 0);
}

static char *file_sha(const char *dir)
{
	char path[256];
	struct err e = {0};
	snprintf(path, sizeof path, "%s/model.json", dir);
	struct model *m = model_load(path, NULL, &e);
	if (!m)
		fail_msg("%s", e.msg);
	char *sha = strdup(model_sha256(m));
	model_destroy(m);
	return sha;
}

static void train_run_existing_directory(void **state)
{
	(void)state;
	struct err e = {0};
	const char *out = path_in("telco2");
	struct train_opts o = telco_opts(out);
	o.folds = 0;
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), 0);
	char *first = file_sha(out);

	/* Same seed, same model file. Refused without force, untouched. */
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), EXIT_INPUT);
	char want[256];
	snprintf(want, sizeof want, "%s: exists and is not empty (use --force)",
		 out);
	assert_string_equal(e.msg, want);

	/* Replaced with force: another seed, another model. */
	o.force = true;
	o.params.seed = 43;
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), 0);
	char *second = file_sha(out);
	assert_string_not_equal(first, second);
	assert_int_equal(siblings("telco2."), 0);

	/* And back to seed 42: the first model again, bit for bit. */
	o.params.seed = 42;
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), 0);
	char *third = file_sha(out);
	assert_string_equal(first, third);

	/* A file that is not ours is never deleted, even with force. */
	char path[256];
	snprintf(path, sizeof path, "%s/notes.txt", out);
	assert_int_equal(fileio_write_all(path, "keep\n", 5, &e), 0);
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), EXIT_INPUT);
	assert_msg_contains(&e, "holds 'notes.txt'");
	assert_true(fileio_exists(path));
	free(first);
	free(second);
	free(third);
}

static void train_run_failure_leaves_nothing(void **state)
{
	(void)state;
	struct err e = {0};
	const char *out = path_in("telco3");
	struct train_opts o = telco_opts(out);
	o.target = "no_such_column";
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), EXIT_INPUT);
	assert_msg_contains(&e, "no_such_column");
	assert_false(fileio_exists(out));

	o = telco_opts(out);
	o.test_size = 1.5;
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), EXIT_INPUT);
	assert_msg_contains(&e, "test size");
	o = telco_opts(out);
	o.params.subsample = 0;
	assert_int_equal(train_run(&o, NULL, NULL, NULL, &e), EXIT_INPUT);
	assert_msg_contains(&e, "subsample");
	assert_false(fileio_exists(out));
	assert_int_equal(siblings("telco3"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describes_itself),
		cmocka_unit_test(batch_equals_single_rows),
		cmocka_unit_test(explain_sums_to_margin),
		cmocka_unit_test(save_load_round_trip),
		cmocka_unit_test(ubjson_round_trip),
		cmocka_unit_test(bad_files),
		cmocka_unit_test(schema_mismatch),
		cmocka_unit_test(early_stopping),
		cmocka_unit_test(deterministic_for_a_seed),
		cmocka_unit_test(bad_parameters),
		cmocka_unit_test(threads),
		cmocka_unit_test(train_run_writes_model_directory),
		cmocka_unit_test(train_run_existing_directory),
		cmocka_unit_test(train_run_failure_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
