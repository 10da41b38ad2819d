#include "model.h"

#include <ctype.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <xgboost/c_api.h>

#include "fileio.h"
#include "json.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FLOAT32_TYPESTR ">f4"
#else
#define FLOAT32_TYPESTR "<f4"
#endif

/* Prediction configurations, as XGBoosterPredictFromDMatrix documents them.
 * In-place prediction also needs "missing" (XGBoost's JSON reader takes the
 * NaN literal, as Python's json.dumps writes it) and "cache_id", which 1.7
 * reads unconditionally. */
#define PREDICT_DENSE_CONFIG                                                   \
	"{\"type\":%d,\"training\":false,\"iteration_begin\":0,"               \
	"\"iteration_end\":0,\"strict_shape\":false,\"missing\":NaN,"          \
	"\"cache_id\":0}"
#define PREDICT_CONTRIB_CONFIG                                                 \
	"{\"type\":2,\"training\":false,\"iteration_begin\":0,"                \
	"\"iteration_end\":0,\"strict_shape\":false}"

enum predict_type { PREDICT_PROBABILITY = 0, PREDICT_MARGIN = 1 };

/* XGBoost's CPU predictor hands out rows in blocks of 64, one block per
 * thread, so a call with fewer rows keeps one thread busy whatever nthread
 * says, while the rest of the OpenMP team is still woken and waited for. */
#define SMALL_BATCH 64

struct model {
	pthread_mutex_t mu;      /* held around every use of booster */
	BoosterHandle booster;
	size_t nfeatures;
	char *path;              /* NULL until loaded from or saved to a file */
	char sha256[65];
	char objective[64];
	int threads;             /* nthread asked for by model_set_threads() */
	int active_threads;      /* nthread the booster is configured with */
};

struct model_train_set {
	DMatrixHandle dm;
	size_t nrows, ncols;
	char **names;            /* ncols copies, or NULL for unnamed features */
	const char **types;      /* ncols static strings "q"/"c", or NULL */
};

/* ---- XGBoost's conventions ------------------------------------------- */

static void discard_log(const char *msg)
{
	(void)msg;
}

/* XGBoost writes warnings and notes straight to stderr, which would tear
 * through the console's screen, and core/ never prints. Its log callback is
 * registered per thread (the registry is thread-local in XGBoost), so every
 * entry point calls this first; errors still reach us through
 * XGBGetLastError(). */
static void xgb_enter(void)
{
	static _Thread_local bool quiet;
	if (!quiet) {
		XGBRegisterLogCallback(discard_log);
		quiet = true;
	}
}

/* XGBoost's last error reduced to what a user can act on: the first line,
 * without the "[12:00:00] ./src/learner.cc:1017: " prefix and without the
 * stack trace that follows, control characters replaced. */
static void xgb_error_text(char *buf, size_t n)
{
	const char *p = XGBGetLastError();
	if (!p || !*p) {
		snprintf(buf, n, "unknown XGBoost error");
		return;
	}
	if (*p == '[') {
		const char *close = strchr(p, ']');
		if (close && close - p < 32)
			p = close + 1;
		while (*p == ' ')
			p++;
	}
	const char *sep = strstr(p, ": ");
	if (sep) {
		const char *d = sep;
		while (d > p && isdigit((unsigned char)d[-1]))
			d--;
		if (d < sep && d > p && d[-1] == ':' &&
		    !memchr(p, ' ', (size_t)(sep - p)))
			p = sep + 2;
	}
	size_t len = strcspn(p, "\n");
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\r'))
		len--;
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = iscntrl((unsigned char)p[i]) ? '?' : p[i];
	buf[len] = '\0';
}

/* Fills E with "CONTEXT: <XGBoost's message>" and returns CODE. */
static int xgb_fail(struct err *e, int code, const char *context)
{
	char msg[512];
	xgb_error_text(msg, sizeof msg);
	return err_set(e, code, "%s: %s", context, msg);
}

/* The C locale, for numbers exchanged with XGBoost: the console calls
 * setlocale() for wide characters, and a decimal comma must never reach
 * XGBoost's parameter parser nor ours of its evaluation text. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double parse_double(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale)
		return strtod_l(s, end, c_locale);
	return strtod(s, end);
}

/* Shortest of %.15g..%.17g that reads back as V, as Python's repr() gives,
 * so parameters reach XGBoost exactly as the Python package sends them. */
static void format_double(char *buf, size_t n, double v)
{
	pthread_once(&c_locale_once, c_locale_init);
	locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (c_locale)
		uselocale(old);
}

static int sha256_hex(const void *data, size_t len, char out[65],
		      struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return err_set(e, EXIT_INPUT, "sha256: OpenSSL digest failed");
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

static const char *model_name(const struct model *m)
{
	return m->path ? m->path : "model";
}

static struct model *model_create(struct err *e)
{
	struct model *m = calloc(1, sizeof *m);
	if (!m) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		free(m);
		err_set(e, EXIT_INPUT, "cannot create a mutex");
		return NULL;
	}
	xgb_enter();
	if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
		xgb_fail(e, EXIT_INPUT, "creating an XGBoost booster");
		pthread_mutex_destroy(&m->mu);
		free(m);
		return NULL;
	}
	return m;
}

void model_destroy(struct model *m)
{
	if (!m)
		return;
	if (m->booster)
		XGBoosterFree(m->booster);
	pthread_mutex_destroy(&m->mu);
	free(m->path);
	free(m);
}

/* Reads what the rest of the module caches about a freshly loaded booster:
 * its feature count and its objective (from the configuration XGBoost
 * reports, which UBJSON models need as much as JSON ones). */
static int model_describe(struct model *m, const char *source, struct err *e)
{
	bst_ulong nf = 0;
	if (XGBoosterGetNumFeature(m->booster, &nf) != 0)
		return xgb_fail(e, EXIT_INPUT, source);
	m->nfeatures = (size_t)nf;

	bst_ulong len = 0;
	const char *text = NULL;
	if (XGBoosterSaveJsonConfig(m->booster, &len, &text) != 0)
		return xgb_fail(e, EXIT_INPUT, source);
	cJSON *cfg = json_parse(text, (size_t)len, "XGBoost configuration", e);
	if (!cfg)
		return err_prefix(e, "%s", source);
	const cJSON *learner = cJSON_GetObjectItemCaseSensitive(cfg, "learner");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(learner, "objective");
	const char *name = json_str(obj, "name");
	snprintf(m->objective, sizeof m->objective, "%s", name ? name : "");
	cJSON_Delete(cfg);
	return 0;
}

/* The model must read rows laid out by the schema: same count, and where
 * the model knows its feature names (churnops and pandas record them), the
 * same names in the same order. A feature the model splits as categorical
 * must be categorical in the schema, or numbers would be read as level
 * codes. (A numeric feature in the model over a categorical one in the
 * schema is allowed: such a model was trained on the codes themselves.) */
static int model_check_schema(struct model *m, const struct schema *s,
			      const char *path, struct err *e)
{
	if (m->nfeatures != s->nfeatures)
		return err_set(e, EXIT_INPUT,
			       "%s has %zu features, %s has %zu", path,
			       m->nfeatures, s->source ? s->source : "the schema",
			       s->nfeatures);
	bst_ulong n = 0;
	const char **names = NULL;
	if (XGBoosterGetStrFeatureInfo(m->booster, "feature_name", &n, &names) != 0)
		return xgb_fail(e, EXIT_INPUT, path);
	if (n == s->nfeatures) {
		for (size_t i = 0; i < s->nfeatures; i++)
			if (strcmp(names[i], s->features[i].name) != 0)
				return err_set(e, EXIT_INPUT,
					       "%s: feature %zu is '%s' where the schema has '%s'",
					       path, i + 1, names[i],
					       s->features[i].name);
	}
	const char **types = NULL;
	if (XGBoosterGetStrFeatureInfo(m->booster, "feature_type", &n, &types) != 0)
		return xgb_fail(e, EXIT_INPUT, path);
	if (n == s->nfeatures) {
		for (size_t i = 0; i < s->nfeatures; i++)
			if (strcmp(types[i], "c") == 0 &&
			    s->features[i].type != SCHEMA_CATEGORICAL)
				return err_set(e, EXIT_INPUT,
					       "%s: feature '%s' is categorical in the model but numeric in the schema",
					       path, s->features[i].name);
	}
	return 0;
}

struct model *model_load(const char *path, const struct schema *s,
			 struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	struct model *m = NULL;
	if (fileio_read_all(path, MODEL_MAX_FILE, &buf, &len, e))
		return NULL;

	/* JSON and UBJSON models both open an object with '{'. XGBoost takes
	 * pretty-printed JSON but not leading white space; anything else
	 * would go to its legacy binary reader, which we do not support. */
	size_t skip = 0;
	while (skip < len && (buf[skip] == ' ' || buf[skip] == '\t' ||
			      buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	if (skip == len) {
		err_set(e, EXIT_INPUT, "%s: not an XGBoost model: %s", path,
			len ? "only white space" : "empty file");
		goto fail;
	}
	if (buf[skip] != '{') {
		err_set(e, EXIT_INPUT,
			"%s: not an XGBoost model: expected XGBoost JSON or UBJSON",
			path);
		goto fail;
	}

	m = model_create(e);
	if (!m)
		goto fail;
	m->path = strdup(path);
	if (!m->path) {
		err_set(e, EXIT_INPUT, "%s: out of memory", path);
		goto fail;
	}
	if (XGBoosterLoadModelFromBuffer(m->booster, buf + skip,
					 (bst_ulong)(len - skip)) != 0) {
		char context[ERR_MSG_MAX];
		snprintf(context, sizeof context, "%s: not an XGBoost model", path);
		xgb_fail(e, EXIT_INPUT, context);
		goto fail;
	}
	if (model_describe(m, path, e))
		goto fail;
	if (sha256_hex(buf, len, m->sha256, e))
		goto fail;
	if (s && model_check_schema(m, s, path, e))
		goto fail;
	free(buf);
	return m;
fail:
	model_destroy(m);
	free(buf);
	return NULL;
}

size_t model_num_features(const struct model *m)
{
	return m->nfeatures;
}

const char *model_sha256(const struct model *m)
{
	return m->sha256;
}

const char *model_path(const struct model *m)
{
	return m->path;
}

const char *model_objective(const struct model *m)
{
	return m->objective;
}

void model_library_version(char *buf, size_t n)
{
	int major = 0, minor = 0, patch = 0;
	XGBoostVersion(&major, &minor, &patch);
	snprintf(buf, n, "%d.%d.%d", major, minor, patch);
}

/* Reconfigures the booster's nthread only when it changes (the caller holds
 * the lock). Small calls run on one thread: waking a team of OpenMP threads
 * for a single block of rows costs more than the work, and on a busy machine
 * (threads spinning at barriers while others want the cores) it made a
 * one-row prediction a hundred times slower. Results do not depend on the
 * thread count: each row is computed by one thread either way. */
static int use_threads(struct model *m, int threads, struct err *e)
{
	if (m->active_threads == threads)
		return 0;
	char v[16];
	snprintf(v, sizeof v, "%d", threads);
	if (XGBoosterSetParam(m->booster, "nthread", v) != 0)
		return xgb_fail(e, EXIT_INPUT, model_name(m));
	m->active_threads = threads;
	return 0;
}

int model_set_threads(struct model *m, int threads, struct err *e)
{
	if (threads < 0)
		return err_set(e, EXIT_INPUT,
			       "threads: %d is negative (0 means all cores)",
			       threads);
	pthread_mutex_lock(&m->mu);
	xgb_enter();
	int rc = use_threads(m, threads, e);
	if (!rc)
		m->threads = threads;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int check_rows(const struct model *m, const float *rows, size_t ncols,
		      const void *out, struct err *e)
{
	if (!rows || !out)
		return err_set(e, EXIT_INPUT, "%s: no rows or no output buffer",
			       model_name(m));
	if (ncols != m->nfeatures)
		return err_set(e, EXIT_INPUT,
			       "rows have %zu features, the model expects %zu",
			       ncols, m->nfeatures);
	return 0;
}

/* XGBoost's result shape, checked against the element count we expect
 * before anything is copied out of its buffer. */
static bool shape_is(const bst_ulong *shape, bst_ulong dim, size_t want)
{
	size_t total = 1;
	for (bst_ulong i = 0; i < dim; i++)
		total *= (size_t)shape[i];
	return dim > 0 && total == want;
}

/* In-place prediction: XGBoost reads the caller's array through an
 * __array_interface__ description, so a batch is never copied; the result
 * lives in XGBoost's per-thread buffer and is copied out before the caller
 * releases the lock. */
static int predict_locked(struct model *m, const float *rows, size_t nrows,
			  size_t ncols, float *out, enum predict_type type,
			  struct err *e)
{
	char iface[192], config[192];
	snprintf(iface, sizeof iface,
		 "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu,%zu],"
		 "\"typestr\":\"" FLOAT32_TYPESTR "\",\"version\":3}",
		 (uintptr_t)rows, nrows, ncols);
	snprintf(config, sizeof config, PREDICT_DENSE_CONFIG, (int)type);

	int rc = use_threads(m, nrows < SMALL_BATCH ? 1 : m->threads, e);
	if (rc)
		return rc;
	const bst_ulong *shape = NULL;
	bst_ulong dim = 0;
	const float *res = NULL;
	if (XGBoosterPredictFromDense(m->booster, iface, config, NULL, &shape,
				      &dim, &res) != 0) {
		char context[ERR_MSG_MAX];
		snprintf(context, sizeof context, "%s: prediction failed",
			 model_name(m));
		return xgb_fail(e, EXIT_INPUT, context);
	}
	if (!shape_is(shape, dim, nrows))
		return err_set(e, EXIT_INPUT,
			       "%s: XGBoost returned predictions of an unexpected shape (is this a multi-output model?)",
			       model_name(m));
	memcpy(out, res, nrows * sizeof *out);
	return 0;
}

static int predict_dense(struct model *m, const float *rows, size_t nrows,
			 size_t ncols, float *out, enum predict_type type,
			 struct err *e)
{
	if (nrows == 0)
		return 0;
	int rc = check_rows(m, rows, ncols, out, e);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->mu);
	xgb_enter();
	rc = predict_locked(m, rows, nrows, ncols, out, type, e);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int model_predict(struct model *m, const float *rows, size_t nrows,
		  size_t ncols, float *out, struct err *e)
{
	return predict_dense(m, rows, nrows, ncols, out, PREDICT_PROBABILITY, e);
}

int model_predict_margin(struct model *m, const float *rows, size_t nrows,
			 size_t ncols, float *out, struct err *e)
{
	return predict_dense(m, rows, nrows, ncols, out, PREDICT_MARGIN, e);
}

/* TreeSHAP spreads rows, not blocks, over threads: only a single row is
 * better off on one. */
static int explain_locked(struct model *m, DMatrixHandle dm, size_t nrows,
			  size_t ncols, float *contrib, struct err *e)
{
	int rc = use_threads(m, nrows == 1 ? 1 : m->threads, e);
	if (rc)
		return rc;
	const bst_ulong *shape = NULL;
	bst_ulong dim = 0;
	const float *res = NULL;
	if (XGBoosterPredictFromDMatrix(m->booster, dm, PREDICT_CONTRIB_CONFIG,
					&shape, &dim, &res) != 0) {
		char context[ERR_MSG_MAX];
		snprintf(context, sizeof context, "%s: explanation failed",
			 model_name(m));
		return xgb_fail(e, EXIT_INPUT, context);
	}
	if (!shape_is(shape, dim, nrows * (ncols + 1)))
		return err_set(e, EXIT_INPUT,
			       "%s: XGBoost returned contributions of an unexpected shape (is this a multi-output model?)",
			       model_name(m));
	memcpy(contrib, res, nrows * (ncols + 1) * sizeof *contrib);
	return 0;
}

int model_explain_batch(struct model *m, const float *rows, size_t nrows,
			size_t ncols, float *contrib, struct err *e)
{
	if (nrows == 0)
		return 0;
	int rc = check_rows(m, rows, ncols, contrib, e);
	if (rc)
		return rc;
	if (nrows > SIZE_MAX / sizeof *contrib / (ncols + 1))
		return err_set(e, EXIT_INPUT,
			       "%s: %zu rows are too many to explain at once",
			       model_name(m), nrows);
	xgb_enter();
	DMatrixHandle dm = NULL;
	if (XGDMatrixCreateFromMat(rows, (bst_ulong)nrows, (bst_ulong)ncols,
				   NAN, &dm) != 0)
		return xgb_fail(e, EXIT_INPUT, "explaining a prediction");
	pthread_mutex_lock(&m->mu);
	xgb_enter();
	rc = explain_locked(m, dm, nrows, ncols, contrib, e);
	pthread_mutex_unlock(&m->mu);
	XGDMatrixFree(dm);
	return rc;
}

int model_explain(struct model *m, const float *row, size_t ncols,
		  float *contrib, struct err *e)
{
	return model_explain_batch(m, row, 1, ncols, contrib, e);
}

int model_save(struct model *m, const char *path, struct err *e)
{
	size_t plen = strlen(path);
	bool ubj = plen >= 4 && strcmp(path + plen - 4, ".ubj") == 0;
	char *copy = strdup(path);
	if (!copy)
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);

	/* Serialised to memory and written through fileio rather than with
	 * XGBoosterSaveModel: the bytes hashed are then exactly the bytes
	 * written, and the file appears whole (fsync, rename) or not at all.
	 * XGBoosterSaveModel produces the same bytes for the same format. */
	int rc = 0;
	bst_ulong len = 0;
	const char *buf = NULL;
	char sha[65];
	pthread_mutex_lock(&m->mu);
	xgb_enter();
	if (XGBoosterSaveModelToBuffer(m->booster,
				       ubj ? "{\"format\":\"ubj\"}"
					   : "{\"format\":\"json\"}",
				       &len, &buf) != 0) {
		char context[ERR_MSG_MAX];
		snprintf(context, sizeof context, "%s: saving the model", path);
		rc = xgb_fail(e, EXIT_INPUT, context);
	} else if (!(rc = fileio_write_all(path, buf, (size_t)len, e)) &&
		   !(rc = sha256_hex(buf, (size_t)len, sha, e))) {
		memcpy(m->sha256, sha, sizeof sha);
		free(m->path);
		m->path = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&m->mu);
	free(copy);
	return rc;
}

/* ---- training ------------------------------------------------------------ */

void model_train_set_destroy(struct model_train_set *t)
{
	if (!t)
		return;
	if (t->dm)
		XGDMatrixFree(t->dm);
	if (t->names)
		for (size_t i = 0; i < t->ncols; i++)
			free(t->names[i]);
	free(t->names);
	free(t->types);
	free(t);
}

/* Labels must be 0 or 1 and a categorical value a level code of the
 * schema (or missing): XGBoost would reject a negative code with a message
 * about its internals, and silently train on a code past the levels. */
static int check_train_values(const float *x, size_t nrows, size_t ncols,
			      const float *y, const struct schema *s,
			      struct err *e)
{
	for (size_t r = 0; r < nrows; r++) {
		if (y[r] != 0.0f && y[r] != 1.0f)
			return err_set(e, EXIT_INPUT,
				       "training row %zu: label %g is not 0 or 1",
				       r + 1, (double)y[r]);
	}
	if (!s)
		return 0;
	for (size_t c = 0; c < ncols; c++) {
		const struct schema_feature *f = &s->features[c];
		if (f->type != SCHEMA_CATEGORICAL)
			continue;
		for (size_t r = 0; r < nrows; r++) {
			float v = x[r * ncols + c];
			if (isnan(v))
				continue;
			if (!(v >= 0.0f) || v != floorf(v) ||
			    (double)v >= (double)f->nlevels)
				return err_set(e, EXIT_INPUT,
					       "training row %zu, feature '%s': %g is not a level code of the schema",
					       r + 1, f->name, (double)v);
		}
	}
	return 0;
}

struct model_train_set *model_train_set_create(const float *x, size_t nrows,
					       size_t ncols, const float *y,
					       const struct schema *s,
					       struct err *e)
{
	if (!x || !y || nrows == 0 || ncols == 0) {
		err_set(e, EXIT_INPUT, "training set: no rows or no features");
		return NULL;
	}
	if (s && s->nfeatures != ncols) {
		err_set(e, EXIT_INPUT,
			"training set: rows have %zu features, the schema has %zu",
			ncols, s->nfeatures);
		return NULL;
	}
	if (check_train_values(x, nrows, ncols, y, s, e))
		return NULL;

	struct model_train_set *t = calloc(1, sizeof *t);
	if (!t) {
		err_set(e, EXIT_INPUT, "training set: out of memory");
		return NULL;
	}
	t->nrows = nrows;
	t->ncols = ncols;
	xgb_enter();
	if (XGDMatrixCreateFromMat(x, (bst_ulong)nrows, (bst_ulong)ncols, NAN,
				   &t->dm) != 0) {
		xgb_fail(e, EXIT_INPUT, "training set");
		goto fail;
	}
	if (XGDMatrixSetFloatInfo(t->dm, "label", y, (bst_ulong)nrows) != 0) {
		xgb_fail(e, EXIT_INPUT, "training set: labels");
		goto fail;
	}
	if (!s)
		return t;

	t->names = calloc(ncols, sizeof *t->names);
	t->types = calloc(ncols, sizeof *t->types);
	if (!t->names || !t->types) {
		err_set(e, EXIT_INPUT, "training set: out of memory");
		goto fail;
	}
	for (size_t i = 0; i < ncols; i++) {
		t->names[i] = strdup(s->features[i].name);
		if (!t->names[i]) {
			err_set(e, EXIT_INPUT, "training set: out of memory");
			goto fail;
		}
		t->types[i] = s->features[i].type == SCHEMA_CATEGORICAL ? "c" : "q";
	}
	if (XGDMatrixSetStrFeatureInfo(t->dm, "feature_name",
				       (const char **)t->names,
				       (bst_ulong)ncols) != 0 ||
	    XGDMatrixSetStrFeatureInfo(t->dm, "feature_type", t->types,
				       (bst_ulong)ncols) != 0) {
		xgb_fail(e, EXIT_INPUT, "training set: feature names and types");
		goto fail;
	}
	return t;
fail:
	model_train_set_destroy(t);
	return NULL;
}

static int check_params(const struct model_params *p, struct err *e)
{
	if (p->rounds < 1)
		return err_set(e, EXIT_INPUT, "rounds: %d is not at least 1",
			       p->rounds);
	if (p->max_depth < 0)
		return err_set(e, EXIT_INPUT, "max_depth: %d is negative",
			       p->max_depth);
	if (p->threads < 0)
		return err_set(e, EXIT_INPUT,
			       "threads: %d is negative (0 means all cores)",
			       p->threads);
	if (p->early_stopping < 0)
		return err_set(e, EXIT_INPUT,
			       "early_stopping: %d is negative (0 means off)",
			       p->early_stopping);
	if (!(p->eta > 0 && isfinite(p->eta)))
		return err_set(e, EXIT_INPUT, "eta: %g is not a positive number",
			       p->eta);
	if (!(p->subsample > 0 && p->subsample <= 1))
		return err_set(e, EXIT_INPUT, "subsample: %g is not in (0, 1]",
			       p->subsample);
	if (!(p->colsample > 0 && p->colsample <= 1))
		return err_set(e, EXIT_INPUT, "colsample: %g is not in (0, 1]",
			       p->colsample);
	if (!(p->min_child_weight >= 0 && isfinite(p->min_child_weight)))
		return err_set(e, EXIT_INPUT,
			       "min_child_weight: %g is not a number >= 0",
			       p->min_child_weight);
	if (!(p->scale_pos_weight > 0 && isfinite(p->scale_pos_weight)))
		return err_set(e, EXIT_INPUT,
			       "scale_pos_weight: %g is not a positive number",
			       p->scale_pos_weight);
	return 0;
}

static int set_params(BoosterHandle b, const struct model_params *p,
		      struct err *e)
{
	char depth[16], eta[32], sub[32], col[32], mcw[32], spw[32], seed[24],
		threads[16];
	snprintf(depth, sizeof depth, "%d", p->max_depth);
	format_double(eta, sizeof eta, p->eta);
	format_double(sub, sizeof sub, p->subsample);
	format_double(col, sizeof col, p->colsample);
	format_double(mcw, sizeof mcw, p->min_child_weight);
	format_double(spw, sizeof spw, p->scale_pos_weight);
	snprintf(seed, sizeof seed, "%lu", p->seed);
	snprintf(threads, sizeof threads, "%d", p->threads);
	const char *kv[][2] = {
		{"objective", "binary:logistic"},
		{"eval_metric", "logloss"},
		{"tree_method", "hist"},
		{"max_depth", depth},
		{"eta", eta},
		{"subsample", sub},
		{"colsample_bytree", col},
		{"min_child_weight", mcw},
		{"scale_pos_weight", spw},
		{"seed", seed},
		{"nthread", threads},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
		if (XGBoosterSetParam(b, kv[i][0], kv[i][1]) != 0) {
			char context[64];
			snprintf(context, sizeof context, "training parameter %s",
				 kv[i][0]);
			return xgb_fail(e, EXIT_INPUT, context);
		}
	}
	return 0;
}

/* The logloss out of XGBoosterEvalOneIter's text, "[12]\tvalid-logloss:0.41". */
static int parse_logloss(const char *text, double *out, struct err *e)
{
	static const char key[] = "valid-logloss:";
	const char *p = text ? strstr(text, key) : NULL;
	char *end = NULL;
	if (p) {
		p += sizeof key - 1;
		*out = parse_double(p, &end);
	}
	if (!p || end == p)
		return err_set(e, EXIT_INPUT,
			       "training: unexpected evaluation output from XGBoost: '%.80s'",
			       text ? text : "");
	return 0;
}

/* Early stopping keeps the trees up to the best round: the booster is
 * sliced so predictions use the best model everywhere (here, in the saved
 * file, in Python), and the attributes Python's xgb.train sets record it. */
static int keep_best(BoosterHandle *b, int best, double best_score,
		     struct err *e)
{
	int done = 0;
	if (XGBoosterBoostedRounds(*b, &done) != 0)
		return xgb_fail(e, EXIT_INPUT, "training");
	if (best + 1 < done) {
		BoosterHandle sliced = NULL;
		if (XGBoosterSlice(*b, 0, best + 1, 1, &sliced) != 0)
			return xgb_fail(e, EXIT_INPUT,
					"training: keeping the best iteration");
		XGBoosterFree(*b);
		*b = sliced;
	}
	char it[16], score[32];
	snprintf(it, sizeof it, "%d", best);
	format_double(score, sizeof score, best_score);
	if (XGBoosterSetAttr(*b, "best_iteration", it) != 0 ||
	    XGBoosterSetAttr(*b, "best_score", score) != 0)
		return xgb_fail(e, EXIT_INPUT, "training");
	return 0;
}

/* The trained booster still refers to its training configuration and data
 * caches; a model reloaded from the JSON serialisation is what the saved
 * file will be, so scoring right after training and scoring the file agree
 * to the bit. */
static struct model *detach(BoosterHandle b, int threads, struct err *e)
{
	bst_ulong len = 0;
	const char *buf = NULL;
	if (XGBoosterSaveModelToBuffer(b, "{\"format\":\"json\"}", &len, &buf) != 0) {
		xgb_fail(e, EXIT_INPUT, "training: serialising the model");
		return NULL;
	}
	char *copy = malloc((size_t)len ? (size_t)len : 1);
	if (!copy) {
		err_set(e, EXIT_INPUT, "training: out of memory");
		return NULL;
	}
	memcpy(copy, buf, (size_t)len);
	struct model *m = model_create(e);
	if (!m)
		goto fail;
	if (XGBoosterLoadModelFromBuffer(m->booster, copy, len) != 0) {
		xgb_fail(e, EXIT_INPUT, "training: reloading the model");
		goto fail;
	}
	if (sha256_hex(copy, (size_t)len, m->sha256, e) ||
	    model_describe(m, "trained model", e) ||
	    model_set_threads(m, threads, e))
		goto fail;
	free(copy);
	return m;
fail:
	model_destroy(m);
	free(copy);
	return NULL;
}

struct model *model_train(const struct model_params *p,
			  struct model_train_set *train,
			  struct model_train_set *valid, int *best_iteration,
			  void (*progress)(void *ud, int round, int total),
			  void *ud, struct err *e)
{
	if (best_iteration)
		*best_iteration = -1;
	if (check_params(p, e))
		return NULL;
	if (!train) {
		err_set(e, EXIT_INPUT, "training: no training set");
		return NULL;
	}
	if (valid && valid->ncols != train->ncols) {
		err_set(e, EXIT_INPUT,
			"training: the validation set has %zu features, the training set %zu",
			valid->ncols, train->ncols);
		return NULL;
	}

	xgb_enter();
	bool early = valid && p->early_stopping > 0;
	DMatrixHandle cache[2] = {train->dm, valid ? valid->dm : NULL};
	BoosterHandle b = NULL;
	struct model *m = NULL;
	if (XGBoosterCreate(cache, valid ? 2 : 1, &b) != 0) {
		xgb_fail(e, EXIT_INPUT, "training");
		return NULL;
	}
	if (set_params(b, p, e))
		goto out;
	if (train->names &&
	    (XGBoosterSetStrFeatureInfo(b, "feature_name",
					(const char **)train->names,
					(bst_ulong)train->ncols) != 0 ||
	     XGBoosterSetStrFeatureInfo(b, "feature_type", train->types,
					(bst_ulong)train->ncols) != 0)) {
		xgb_fail(e, EXIT_INPUT, "training: feature names and types");
		goto out;
	}

	int best = -1;
	double best_score = INFINITY;
	for (int i = 0; i < p->rounds; i++) {
		if (XGBoosterUpdateOneIter(b, i, train->dm) != 0) {
			char context[64];
			snprintf(context, sizeof context, "training round %d", i + 1);
			xgb_fail(e, EXIT_INPUT, context);
			goto out;
		}
		if (progress)
			progress(ud, i + 1, p->rounds);
		if (!early)
			continue;
		const char *names[] = {"valid"};
		const char *text = NULL;
		double score = 0;
		if (XGBoosterEvalOneIter(b, i, &valid->dm, names, 1, &text) != 0) {
			xgb_fail(e, EXIT_INPUT, "training: validation");
			goto out;
		}
		if (parse_logloss(text, &score, e))
			goto out;
		if (score < best_score) {
			best_score = score;
			best = i;
		}
		if (i - best >= p->early_stopping)
			break;
	}
	if (early) {
		if (best < 0) {
			err_set(e, EXIT_INPUT,
				"training: the validation logloss is not a number");
			goto out;
		}
		if (keep_best(&b, best, best_score, e))
			goto out;
		if (best_iteration)
			*best_iteration = best;
	}
	m = detach(b, p->threads, e);
out:
	XGBoosterFree(b);
	return m;
}
