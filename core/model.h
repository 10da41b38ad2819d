/* model: the one wrapper around libxgboost.
 *
 * Nothing else in the project calls XGBoost: loading, scoring, explaining and
 * training all go through here, and XGBoost's error convention (-1 plus a
 * thread-local message with a C++ stack trace) is translated into ours
 * (an exit code plus one line naming the file and what went wrong).
 *
 * A struct model owns one XGBoost booster. Every call that touches the
 * booster holds a mutex inside the struct, so any number of threads may share
 * one model; their calls simply run one at a time. XGBoost itself
 * parallelises each call over its own threads (model_set_threads()).
 *
 * Rows are row-major arrays of floats, one per feature in the schema's order;
 * NAN is a missing value and a categorical feature holds its level's code (its
 * index in the schema's sorted levels), as DESIGN.md prescribes.
 */
#ifndef CHURNOPS_MODEL_H
#define CHURNOPS_MODEL_H

#include <stddef.h>

#include "err.h"
#include "schema.h"

/* Model files larger than this are refused when loading (the validation
 * checklist gates artifacts at 500 MB). */
#define MODEL_MAX_FILE (1024ul << 20)

struct model;

/* Loads an XGBoost model file, JSON (first non-space byte '{') or UBJSON,
 * through XGBoosterLoadModelFromBuffer. Anything else, or a file XGBoost
 * rejects, fails with EXIT_INPUT "PATH: not an XGBoost model: REASON".
 *
 * When S is non-NULL the model must fit it: the same feature count
 * ("PATH has 19 features, the schema has 20") and, when the model records
 * feature names and types (models from churnops and from pandas do), the
 * same names in the same order and categorical where the schema says so.
 * S is only read during the call.
 *
 * The file's sha256 is computed from the bytes loaded, so it describes
 * exactly what is scored. The model keeps a copy of PATH. The caller owns
 * the result and frees it with model_destroy(). */
struct model *model_load(const char *path, const struct schema *s,
			 struct err *e);

void model_destroy(struct model *m);   /* NULL ok */

size_t model_num_features(const struct model *m);

/* The artifact's sha256 as 64 lowercase hex characters. For a model fresh
 * from model_train() and not yet saved, the hash of its JSON serialisation,
 * which is what model_save() writes to a .json path. Owned by M; rewritten by
 * model_save(). */
const char *model_sha256(const struct model *m);

/* The path the model was loaded from or last saved to; NULL for a trained
 * model not yet saved. Owned by M; rewritten by model_save(). */
const char *model_path(const struct model *m);

/* The objective from the booster's configuration, e.g. "binary:logistic";
 * "" if XGBoost did not report one. Owned by M. */
const char *model_objective(const struct model *m);

/* Writes the linked library's version, "1.7.4", into BUF of N bytes. */
void model_library_version(char *buf, size_t n);

/* Sets XGBoost's nthread for this booster's predictions: 0 means all cores
 * (the default). Calls of fewer than 64 rows, and explanations of a single
 * row, run on one thread whatever this says: a team of threads only slows
 * them down. Results never depend on the thread count. Negative counts fail
 * with EXIT_INPUT. */
int model_set_threads(struct model *m, int threads, struct err *e);

/* Probabilities for NROWS rows of NCOLS floats into OUT (NROWS floats).
 * Uses XGBoost's in-place prediction on the caller's array, so no copy of the
 * rows is made. NCOLS must equal the model's feature count, or EXIT_INPUT
 * "rows have 3 features, the model expects 20". NROWS == 0 is a no-op. */
int model_predict(struct model *m, const float *rows, size_t nrows,
		  size_t ncols, float *out, struct err *e);

/* As model_predict(), but the margin (log-odds) instead of the probability. */
int model_predict_margin(struct model *m, const float *rows, size_t nrows,
			 size_t ncols, float *out, struct err *e);

/* SHAP contributions (TreeSHAP, exact) for one row: CONTRIB receives
 * NCOLS + 1 floats, one per feature and last the bias (base value), and
 * their sum is the row's margin. */
int model_explain(struct model *m, const float *row, size_t ncols,
		  float *contrib, struct err *e);

/* model_explain() for NROWS rows at once, which amortises XGBoost's per-call
 * set-up: CONTRIB receives NROWS * (NCOLS + 1) floats, row-major. The rows are
 * copied into one XGBoost DMatrix (contributions are not available through
 * in-place prediction in XGBoost 1.7). */
int model_explain_batch(struct model *m, const float *rows, size_t nrows,
			size_t ncols, float *contrib, struct err *e);

/* A training or validation set: an XGBoost DMatrix holding a copy of X
 * (NROWS x NCOLS, NAN missing) and the labels Y (1 positive, 0 negative),
 * with the schema's feature names and types ("q" numeric, "c" categorical,
 * whose values are level codes) so XGBoost splits categorical features
 * natively and the saved model records both. S must have NCOLS features;
 * NULL gives unnamed numeric features. X, Y and S are only read during the
 * call. Free with model_train_set_destroy(). */
struct model_train_set;
struct model_train_set *model_train_set_create(const float *x, size_t nrows,
					       size_t ncols, const float *y,
					       const struct schema *s,
					       struct err *e);
void model_train_set_destroy(struct model_train_set *t);   /* NULL ok */

struct model_params {
	int rounds;            /* boosting rounds, >= 1 */
	int max_depth;         /* >= 0 (0: no limit) */
	int threads;           /* nthread, 0 = all cores */
	double eta;            /* learning rate, > 0 */
	double subsample;      /* row sampling per tree, (0, 1] */
	double colsample;      /* colsample_bytree, (0, 1] */
	double min_child_weight; /* >= 0 */
	double scale_pos_weight; /* > 0 */
	unsigned long seed;    /* XGBoost's seed; the same seed, data and
				  parameters give the same model */
	int early_stopping;    /* rounds without improvement; 0 = off */
};

/* Trains binary:logistic with tree_method hist on TRAIN (eval_metric
 * logloss, categorical features split natively, XGBoost's default
 * max_cat_to_onehot). Parameters out of range fail with EXIT_INPUT naming
 * the parameter.
 *
 * When VALID is non-NULL and p->early_stopping > 0, the validation logloss is
 * computed after every round and training stops once it has not improved
 * (strictly decreased) for early_stopping rounds, as Python's xgb.train does.
 * The returned model then holds only the trees up to and including the best
 * round, so every prediction uses the best model, and it records the
 * attributes "best_iteration" and "best_score" as Python does;
 * *BEST_ITERATION (if non-NULL) receives that 0-based round. Otherwise
 * *BEST_ITERATION is -1 and all rounds are kept.
 *
 * PROGRESS(UD, ROUND, TOTAL), if non-NULL, is called after each round with
 * ROUND counted from 1. TRAIN and VALID stay owned by the caller and may be
 * destroyed as soon as this returns: the returned model is detached from
 * them (it is reloaded from its own JSON serialisation, so it predicts
 * exactly as the saved file will). */
struct model *model_train(const struct model_params *p,
			  struct model_train_set *train,
			  struct model_train_set *valid, int *best_iteration,
			  void (*progress)(void *ud, int round, int total),
			  void *ud, struct err *e);

/* Saves the model to PATH atomically (temporary file in the same directory,
 * fsync, rename): UBJSON when PATH ends in ".ubj", XGBoost JSON otherwise.
 * On success the model's path and sha256 describe the new file. */
int model_save(struct model *m, const char *path, struct err *e);

#endif
