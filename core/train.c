#include "train.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "fileio.h"
#include "json.h"
#include "metrics.h"
#include "schema.h"

/* The only files train_run() writes, and so the only ones --force may
 * replace. */
static const char *const model_files[] = {"model.json", "schema.json",
					  "eval.json"};
#define NMODEL_FILES (sizeof model_files / sizeof model_files[0])

void train_opts_defaults(struct train_opts *o)
{
	*o = (struct train_opts){
		.target = "churn",
		.positive = "Yes",
		.params = {
			.rounds = 300,
			.max_depth = 4,
			.threads = 0,
			.eta = 0.05,
			.subsample = 0.8,
			.colsample = 0.8,
			.min_child_weight = 1,
			.scale_pos_weight = 1,
			.seed = 42,
			.early_stopping = 0,
		},
		.test_size = 0.2,
		.folds = 5,
		.threshold = 0.5,
		.force = false,
	};
}

/* ---- deterministic randomness ------------------------------------------ */

/* splitmix64: tiny, fast, and the same sequence on every platform, which is
 * all a reproducible split needs. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), without modulo bias. */
static size_t below(uint64_t *state, size_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t r;
	do
		r = splitmix64(state);
	while (r >= limit);
	return (size_t)(r % n);
}

static void shuffle(size_t *a, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = below(state, i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static int by_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return (x > y) - (x < y);
}

/* ---- the run's state ------------------------------------------------------ */

struct run {
	const struct train_opts *o;
	train_progress_fn progress;
	void *ud;
	const char *phase;       /* for model_train()'s per-round callback */

	struct schema *schema;
	struct dataset d;
	size_t npos;             /* positive rows in the whole data */

	size_t *train, *test;    /* row indices, ascending */
	size_t ntrain, ntest;
	int *fold;               /* per row: CV fold of a training row, -1 */

	double *fold_auc;
	int nfolds;              /* folds actually run (0 without CV) */
	struct model *model;
	int best_iteration;
	float *test_prob;
};

static void report(struct run *r, const char *phase, int done, int total)
{
	if (r->progress)
		r->progress(r->ud, phase, done, total);
}

static void on_round(void *ud, int round, int total)
{
	struct run *r = ud;
	report(r, r->phase, round, total);
}

static void run_finish(struct run *r)
{
	schema_destroy(r->schema);
	dataset_finish(&r->d);
	free(r->train);
	free(r->test);
	free(r->fold);
	free(r->fold_auc);
	model_destroy(r->model);
	free(r->test_prob);
}

static int check_opts(const struct train_opts *o, struct err *e)
{
	if (!o->data || !*o->data)
		return err_set(e, EXIT_INPUT, "no training data given");
	if (strcmp(o->data, "-") == 0)
		return err_set(e, EXIT_INPUT,
			       "training data cannot be standard input: it is read twice");
	if (!o->target || !*o->target)
		return err_set(e, EXIT_INPUT, "no target column given");
	if (!o->out_dir || !*o->out_dir)
		return err_set(e, EXIT_INPUT, "no output directory given");
	if (!(o->test_size > 0 && o->test_size < 1))
		return err_set(e, EXIT_INPUT, "test size: %g is not in (0, 1)",
			       o->test_size);
	if (o->folds < 0)
		return err_set(e, EXIT_INPUT,
			       "folds: %d is negative (0 means no cross-validation)",
			       o->folds);
	if (!(o->threshold >= 0 && o->threshold <= 1))
		return err_set(e, EXIT_INPUT, "threshold: %g is not in [0, 1]",
			       o->threshold);
	return 0;
}

/* ---- the model directory ------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static bool is_model_file(const char *name)
{
	for (size_t i = 0; i < NMODEL_FILES; i++)
		if (strcmp(name, model_files[i]) == 0)
			return true;
	return false;
}

/* What may happen to an existing OUT. The first entry that is not one of
 * ours is named in the refusal so the user sees what would have been lost. */
static int check_out_dir(const char *out, bool force, struct err *e)
{
	struct stat st;
	if (stat(out, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(e, EXIT_INPUT, errno, "%s", out);
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(e, EXIT_INPUT,
			       "%s: exists and is not a directory", out);
	DIR *dir = opendir(out);
	if (!dir)
		return err_errno(e, EXIT_INPUT, errno, "%s", out);
	int rc = 0;
	bool empty = true;
	struct dirent *ent;
	while ((ent = readdir(dir))) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		empty = false;
		if (!force)
			break;
		if (!is_model_file(ent->d_name)) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: holds '%s', which is not part of a model directory; not replacing it",
				     out, ent->d_name);
			break;
		}
	}
	closedir(dir);
	if (!rc && !empty && !force)
		rc = err_set(e, EXIT_INPUT,
			     "%s: exists and is not empty (use --force)", out);
	return rc;
}

/* Removes our files from DIR and DIR itself; anything else stays, and with
 * it the directory. */
static void remove_model_dir(const char *dir)
{
	for (size_t i = 0; i < NMODEL_FILES; i++) {
		char *p = path_join(dir, model_files[i]);
		if (p)
			unlink(p);
		free(p);
	}
	rmdir(dir);
}

static void fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* A sibling of OUT named OUT.SUFFIX-XXXXXX, created empty by mkdtemp(), so
 * that renames between it and OUT stay on one file system and the name
 * cannot collide with another run's. */
static char *make_sibling_dir(const char *out, const char *suffix,
			      struct err *e)
{
	size_t n = strlen(out) + strlen(suffix) + 16;
	char *p = malloc(n);
	if (!p) {
		err_set(e, EXIT_INPUT, "%s: out of memory", out);
		return NULL;
	}
	snprintf(p, n, "%s.%s-XXXXXX", out, suffix);
	if (!mkdtemp(p)) {
		err_errno(e, EXIT_INPUT, errno, "%s: creating %s", out, p);
		free(p);
		return NULL;
	}
	/* mkdtemp() makes it private (0700); a model directory is read by
	 * other users and services, as the files in it are (0644). */
	chmod(p, 0755);
	return p;
}

/* Moves the finished TMP directory to OUT. An empty or absent OUT is
 * replaced by one rename. An OUT holding an old model is first renamed
 * aside, so at every moment OUT is either the old model or the new one,
 * and is deleted only once the new one is in place. */
static int install_dir(const char *tmp, const char *out, bool force,
		       struct err *e)
{
	int rc = check_out_dir(out, force, e);
	if (rc)
		return rc;
	if (rename(tmp, out) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return err_errno(e, EXIT_INPUT, errno, "%s: renaming %s", out, tmp);

	char *old = make_sibling_dir(out, "old", e);
	if (!old)
		return e ? e->code : EXIT_INPUT;
	if (rename(out, old) != 0) {
		rc = err_errno(e, EXIT_INPUT, errno, "%s: moving it aside", out);
		rmdir(old);
	} else if (rename(tmp, out) != 0) {
		rc = err_errno(e, EXIT_INPUT, errno, "%s: renaming %s", out, tmp);
		rename(old, out);
	} else {
		remove_model_dir(old);
	}
	free(old);
	return rc;
}

/* OUT without trailing slashes ("dir/" and "dir" are the same directory,
 * but "dir/.tmp-XXXXXX" would not be a sibling). */
static char *normalise_out(const char *out, struct err *e)
{
	char *p = strdup(out);
	if (!p) {
		err_set(e, EXIT_INPUT, "%s: out of memory", out);
		return NULL;
	}
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (strcmp(p, "/") == 0 || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
		err_set(e, EXIT_INPUT, "%s: not usable as a model directory", out);
		free(p);
		return NULL;
	}
	return p;
}

/* The directory holding OUT: "." for a bare name, "/" for "/name". */
static char *parent_of(const char *out)
{
	const char *slash = strrchr(out, '/');
	if (!slash)
		return strdup(".");
	if (slash == out)
		return strdup("/");
	return strndup(out, (size_t)(slash - out));
}

static int write_model_dir(struct run *r, const char *out, const cJSON *ev,
			   struct err *e)
{
	char *parent = parent_of(out);
	if (!parent)
		return err_set(e, EXIT_INPUT, "%s: out of memory", out);
	char *tmp = NULL;
	char *paths[NMODEL_FILES] = {0};
	int rc = fileio_mkdirs(parent, e);
	if (rc)
		goto out;
	tmp = make_sibling_dir(out, "tmp", e);
	if (!tmp) {
		rc = e ? e->code : EXIT_INPUT;
		goto out;
	}
	for (size_t i = 0; i < NMODEL_FILES; i++) {
		paths[i] = path_join(tmp, model_files[i]);
		if (!paths[i]) {
			rc = err_set(e, EXIT_INPUT, "%s: out of memory", out);
			goto out;
		}
	}
	if ((rc = model_save(r->model, paths[0], e)) ||
	    (rc = schema_save(r->schema, paths[1], e)) ||
	    (rc = json_write_file(paths[2], ev, e)))
		goto out;
	fsync_path(tmp);
	if ((rc = install_dir(tmp, out, r->o->force, e)))
		goto out;
	fsync_path(parent);
out:
	if (rc && tmp)
		remove_model_dir(tmp);
	for (size_t i = 0; i < NMODEL_FILES; i++)
		free(paths[i]);
	free(tmp);
	free(parent);
	return rc;
}

/* ---- split, folds, fits --------------------------------------------------- */

/* Stratified hold-out split: each class is shuffled on its own and its first
 * round(test_size * count) rows (at least one, and at least one left for
 * training) go to the test set. Then the training rows of each class are
 * shuffled again and dealt round-robin into the folds, the negatives
 * continuing where the positives stopped, so fold sizes differ by at most one
 * and every fold holds both classes. Index lists are kept in file order so a
 * fit sees its rows in the order of the data. */
static int split(struct run *r, struct err *e)
{
	const struct dataset *d = &r->d;
	size_t npos = r->npos, nneg = d->nrows - npos;
	if (npos < 2 || nneg < 2)
		return err_set(e, EXIT_INPUT,
			       "%s: %zu positive and %zu negative rows; a hold-out split needs at least 2 of each",
			       r->o->data, npos, nneg);
	size_t *pos = malloc(npos * sizeof *pos);
	size_t *neg = malloc(nneg * sizeof *neg);
	r->train = malloc(d->nrows * sizeof *r->train);
	r->test = malloc(d->nrows * sizeof *r->test);
	r->fold = malloc(d->nrows * sizeof *r->fold);
	int rc = 0;
	if (!pos || !neg || !r->train || !r->test || !r->fold) {
		rc = err_set(e, EXIT_INPUT, "out of memory for %zu rows",
			     d->nrows);
		goto out;
	}
	for (size_t i = 0, p = 0, q = 0; i < d->nrows; i++) {
		if (d->y[i] > 0.5f)
			pos[p++] = i;
		else
			neg[q++] = i;
		r->fold[i] = -1;
	}

	uint64_t state = (uint64_t)r->o->params.seed;
	shuffle(pos, npos, &state);
	shuffle(neg, nneg, &state);
	size_t tpos = (size_t)llround(r->o->test_size * (double)npos);
	size_t tneg = (size_t)llround(r->o->test_size * (double)nneg);
	tpos = tpos < 1 ? 1 : tpos > npos - 1 ? npos - 1 : tpos;
	tneg = tneg < 1 ? 1 : tneg > nneg - 1 ? nneg - 1 : tneg;

	r->ntest = 0;
	r->ntrain = 0;
	for (size_t i = 0; i < tpos; i++)
		r->test[r->ntest++] = pos[i];
	for (size_t i = 0; i < tneg; i++)
		r->test[r->ntest++] = neg[i];

	int k = r->o->folds > 1 ? r->o->folds : 0;
	if (k > 0 && (npos - tpos < (size_t)k || nneg - tneg < (size_t)k)) {
		rc = err_set(e, EXIT_INPUT,
			     "%s: %zu positive and %zu negative training rows; %d-fold cross-validation needs at least %d of each (use fewer folds, or 0)",
			     r->o->data, npos - tpos, nneg - tneg, k, k);
		goto out;
	}
	shuffle(pos + tpos, npos - tpos, &state);
	shuffle(neg + tneg, nneg - tneg, &state);
	size_t dealt = 0;
	for (size_t i = tpos; i < npos; i++, dealt++) {
		r->train[r->ntrain++] = pos[i];
		r->fold[pos[i]] = k ? (int)(dealt % (size_t)k) : 0;
	}
	for (size_t i = tneg; i < nneg; i++, dealt++) {
		r->train[r->ntrain++] = neg[i];
		r->fold[neg[i]] = k ? (int)(dealt % (size_t)k) : 0;
	}
	qsort(r->train, r->ntrain, sizeof *r->train, by_index);
	qsort(r->test, r->ntest, sizeof *r->test, by_index);
	r->nfolds = k;
out:
	free(pos);
	free(neg);
	return rc;
}

/* Copies the rows IDX[0..N) of the data into fresh arrays. */
static int gather(const struct dataset *d, const size_t *idx, size_t n,
		  float **x, float **y, struct err *e)
{
	*x = malloc(n * d->ncols * sizeof **x);
	*y = malloc(n * sizeof **y);
	if (!*x || !*y) {
		free(*x);
		free(*y);
		*x = *y = NULL;
		return err_set(e, EXIT_INPUT, "out of memory for %zu rows", n);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(*x + i * d->ncols, d->x + idx[i] * d->ncols,
		       d->ncols * sizeof **x);
		(*y)[i] = d->y[idx[i]];
	}
	return 0;
}

/* Fits on the rows FIT and, when ON is non-NULL, scores the rows ON (and
 * early-stops on them when asked): *M receives the model (or NULL if the
 * caller does not want it) and PROB the probabilities for ON. */
static int fit(struct run *r, const char *phase, const size_t *fit_rows,
	       size_t nfit, const size_t *on, size_t non, struct model **m_out,
	       int *best, float **prob, float **on_y, struct err *e)
{
	const struct dataset *d = &r->d;
	float *fx = NULL, *fy = NULL, *ox = NULL, *oy = NULL, *p = NULL;
	struct model_train_set *ts = NULL, *vs = NULL;
	struct model *m = NULL;
	int rc;
	if ((rc = gather(d, fit_rows, nfit, &fx, &fy, e)))
		goto out;
	ts = model_train_set_create(fx, nfit, d->ncols, fy, r->schema, e);
	if (!ts) {
		rc = e ? e->code : EXIT_INPUT;
		goto out;
	}
	if (on) {
		if ((rc = gather(d, on, non, &ox, &oy, e)))
			goto out;
		if (r->o->params.early_stopping > 0) {
			vs = model_train_set_create(ox, non, d->ncols, oy,
						    r->schema, e);
			if (!vs) {
				rc = e ? e->code : EXIT_INPUT;
				goto out;
			}
		}
	}
	r->phase = phase;
	report(r, phase, 0, r->o->params.rounds);
	m = model_train(&r->o->params, ts, vs, best, on_round, r, e);
	if (!m) {
		rc = e ? e->code : EXIT_INPUT;
		goto out;
	}
	if (on) {
		p = malloc(non * sizeof *p);
		if (!p) {
			rc = err_set(e, EXIT_INPUT, "out of memory for %zu rows", non);
			goto out;
		}
		if ((rc = model_predict(m, ox, non, d->ncols, p, e)))
			goto out;
		*prob = p;
		p = NULL;
		if (on_y) {
			*on_y = oy;
			oy = NULL;
		}
	}
	if (m_out) {
		*m_out = m;
		m = NULL;
	}
out:
	model_destroy(m);
	model_train_set_destroy(ts);
	model_train_set_destroy(vs);
	free(fx);
	free(fy);
	free(ox);
	free(oy);
	free(p);
	return rc;
}

static int cross_validate(struct run *r, struct err *e)
{
	if (r->nfolds == 0)
		return 0;
	int k = r->nfolds;
	r->fold_auc = calloc((size_t)k, sizeof *r->fold_auc);
	size_t *fit_rows = malloc(r->ntrain * sizeof *fit_rows);
	size_t *held = malloc(r->ntrain * sizeof *held);
	int rc = 0;
	if (!r->fold_auc || !fit_rows || !held) {
		rc = err_set(e, EXIT_INPUT, "out of memory for %zu rows", r->ntrain);
		goto out;
	}
	for (int f = 0; f < k && !rc; f++) {
		size_t nfit = 0, nheld = 0;
		for (size_t i = 0; i < r->ntrain; i++) {
			size_t row = r->train[i];
			if (r->fold[row] == f)
				held[nheld++] = row;
			else
				fit_rows[nfit++] = row;
		}
		char phase[48];
		snprintf(phase, sizeof phase, "cv fold %d/%d", f + 1, k);
		float *prob = NULL, *y = NULL;
		rc = fit(r, phase, fit_rows, nfit, held, nheld, NULL, NULL, &prob,
			 &y, e);
		if (!rc)
			r->fold_auc[f] = metrics_roc_auc(prob, y, nheld);
		free(prob);
		free(y);
		if (rc)
			err_prefix(e, "cross-validation fold %d of %d", f + 1, k);
	}
out:
	free(fit_rows);
	free(held);
	return rc;
}

/* ---- eval.json --------------------------------------------------------- */

/* eval.json is built with these, which note any allocation failure in
 * *OK instead of checking every call. An undefined metric (NAN) is null,
 * never a number. */
static void put_num(cJSON *o, const char *key, double v, bool *ok)
{
	cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
	if (!o || !item || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		*ok = false;
	}
}

static void put_str(cJSON *o, const char *key, const char *v, bool *ok)
{
	cJSON *item = v ? cJSON_CreateString(v) : cJSON_CreateNull();
	if (!o || !item || !cJSON_AddItemToObject(o, key, item)) {
		cJSON_Delete(item);
		*ok = false;
	}
}

static cJSON *put_obj(cJSON *o, const char *key, bool *ok)
{
	cJSON *item = o ? cJSON_AddObjectToObject(o, key) : NULL;
	if (!item)
		*ok = false;
	return item;
}

static void iso8601_now(char *buf, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static cJSON *eval_json(struct run *r, const float *test_y, double elapsed)
{
	const struct train_opts *o = r->o;
	const struct model_params *p = &o->params;
	struct metrics_confusion c =
		metrics_confusion(r->test_prob, test_y, r->ntest, o->threshold);
	bool ok = true;
	cJSON *ev = cJSON_CreateObject();
	put_num(ev, "roc_auc", metrics_roc_auc(r->test_prob, test_y, r->ntest), &ok);
	put_num(ev, "pr_auc", metrics_pr_auc(r->test_prob, test_y, r->ntest), &ok);
	put_num(ev, "precision", metrics_precision(c), &ok);
	put_num(ev, "recall", metrics_recall(c), &ok);
	put_num(ev, "f1", metrics_f1(c), &ok);
	put_num(ev, "threshold", o->threshold, &ok);
	put_num(ev, "test_rows", (double)r->ntest, &ok);
	put_num(ev, "train_rows", (double)r->ntrain, &ok);
	put_num(ev, "positive_rate", (double)r->npos / (double)r->d.nrows, &ok);

	cJSON *conf = put_obj(ev, "confusion", &ok);
	put_num(conf, "tp", (double)c.tp, &ok);
	put_num(conf, "fp", (double)c.fp, &ok);
	put_num(conf, "tn", (double)c.tn, &ok);
	put_num(conf, "fn", (double)c.fn, &ok);

	cJSON *cv = put_obj(ev, "cv", &ok);
	double mean = NAN, std = NAN;
	if (r->nfolds > 0)
		metrics_mean_std(r->fold_auc, (size_t)r->nfolds, &mean, &std);
	put_num(cv, "folds", r->nfolds, &ok);
	put_num(cv, "roc_auc_mean", mean, &ok);
	put_num(cv, "roc_auc_std", std, &ok);
	cJSON *list = cv ? cJSON_AddArrayToObject(cv, "roc_auc") : NULL;
	ok = ok && list;
	for (int f = 0; list && f < r->nfolds; f++) {
		double v = r->fold_auc[f];
		cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
		if (!item || !cJSON_AddItemToArray(list, item)) {
			cJSON_Delete(item);
			ok = false;
		}
	}

	cJSON *pj = put_obj(ev, "params", &ok);
	put_str(pj, "objective", "binary:logistic", &ok);
	put_str(pj, "tree_method", "hist", &ok);
	put_str(pj, "eval_metric", "logloss", &ok);
	put_num(pj, "rounds", p->rounds, &ok);
	put_num(pj, "max_depth", p->max_depth, &ok);
	put_num(pj, "eta", p->eta, &ok);
	put_num(pj, "subsample", p->subsample, &ok);
	put_num(pj, "colsample_bytree", p->colsample, &ok);
	put_num(pj, "min_child_weight", p->min_child_weight, &ok);
	put_num(pj, "scale_pos_weight", p->scale_pos_weight, &ok);
	put_num(pj, "early_stopping", p->early_stopping, &ok);
	put_num(pj, "test_size", o->test_size, &ok);
	put_num(pj, "folds", o->folds, &ok);
	put_num(ev, "best_iteration",
		r->best_iteration >= 0 ? r->best_iteration : NAN, &ok);

	char version[32];
	model_library_version(version, sizeof version);
	put_str(ev, "xgboost_version", version, &ok);

	cJSON *data = put_obj(ev, "data", &ok);
	put_str(data, "path", o->data, &ok);
	put_num(data, "rows", (double)r->d.nrows, &ok);
	put_str(data, "target", r->schema->target, &ok);
	put_str(data, "positive", r->schema->positive, &ok);
	put_num(data, "features", (double)r->schema->nfeatures, &ok);

	put_num(ev, "seed", (double)p->seed, &ok);
	char created[32];
	iso8601_now(created, sizeof created);
	put_str(ev, "created", created, &ok);
	put_num(ev, "train_seconds", round(elapsed * 1000) / 1000, &ok);
	if (!ok) {
		cJSON_Delete(ev);
		return NULL;
	}
	return ev;
}

/* ---- the whole run ------------------------------------------------------- */

int train_run(const struct train_opts *o, train_progress_fn progress, void *ud,
	      cJSON **eval, struct err *e)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (eval)
		*eval = NULL;
	int rc = check_opts(o, e);
	if (rc)
		return rc;
	char *out = normalise_out(o->out_dir, e);
	if (!out)
		return e ? e->code : EXIT_INPUT;

	struct run r = {.o = o, .progress = progress, .ud = ud,
			.best_iteration = -1};
	float *test_y = NULL;
	cJSON *ev = NULL;
	if ((rc = check_out_dir(out, o->force, e)))
		goto out;

	report(&r, "reading data", 0, 1);
	r.schema = schema_infer(o->data, o->target, o->positive, e);
	if (!r.schema) {
		rc = e ? e->code : EXIT_INPUT;
		goto out;
	}
	if ((rc = dataset_load(o->data, r.schema, &r.d, e)))
		goto out;
	for (size_t i = 0; i < r.d.nrows; i++)
		r.npos += r.d.y[i] > 0.5f;
	report(&r, "reading data", 1, 1);

	if ((rc = split(&r, e)) || (rc = cross_validate(&r, e)))
		goto out;
	if ((rc = fit(&r, "final fit", r.train, r.ntrain, r.test, r.ntest,
		      &r.model, &r.best_iteration, &r.test_prob, &test_y, e)))
		goto out;

	report(&r, "evaluating", 0, 1);
	ev = eval_json(&r, test_y, seconds_since(&t0));
	if (!ev) {
		rc = err_set(e, EXIT_INPUT, "out of memory for the evaluation");
		goto out;
	}
	report(&r, "evaluating", 1, 1);

	char phase[64];
	snprintf(phase, sizeof phase, "writing %.54s", out);
	report(&r, phase, 0, 1);
	if ((rc = write_model_dir(&r, out, ev, e)))
		goto out;
	report(&r, phase, 1, 1);
	if (eval) {
		*eval = ev;
		ev = NULL;
	}
out:
	cJSON_Delete(ev);
	free(test_y);
	run_finish(&r);
	free(out);
	return rc;
}
