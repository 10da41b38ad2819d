/* train: from a labelled CSV to a model directory.
 *
 * One call does what `churnops train` promises: infer the schema, split off
 * a stratified hold-out set, cross-validate on the rest, fit the final model,
 * evaluate it on the hold-out set and write DIR/model.json, DIR/schema.json
 * and DIR/eval.json (DESIGN.md's data contract). All randomness (the split,
 * the folds, XGBoost's sampling) comes from one seed, so the same data,
 * options and seed give the same model file.
 */
#ifndef CHURNOPS_TRAIN_H
#define CHURNOPS_TRAIN_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "model.h"

struct train_opts {
	const char *data;       /* training CSV (read twice: not "-") */
	const char *target;     /* target column */
	const char *positive;   /* positive label; NULL: schema_infer()'s choice */
	const char *out_dir;    /* model directory to write */
	struct model_params params;
	double test_size;       /* hold-out fraction, in (0, 1) */
	int folds;              /* k of the k-fold CV; 0 or 1 = no CV */
	double threshold;       /* classification threshold, in [0, 1] */
	bool force;             /* replace an existing model directory */
};

/* Fills O with the documented defaults (and NULL paths): rounds 300,
 * max_depth 4, eta 0.05, subsample 0.8, colsample 0.8, min_child_weight 1,
 * scale_pos_weight 1, seed 42, early_stopping 0, threads 0, test_size 0.2,
 * folds 5, threshold 0.5, target "churn", positive "Yes", force false. */
void train_opts_defaults(struct train_opts *o);

/* Progress: PHASE is "reading data", "cv fold 2/5", "final fit",
 * "evaluating" or "writing DIR"; DONE of TOTAL steps (boosting rounds for
 * the fits, 0 or 1 otherwise; a fit stopped early ends below TOTAL). PHASE
 * is valid during the call only. */
typedef void (*train_progress_fn)(void *ud, const char *phase, int done,
				  int total);

/* Trains and writes the model directory O->out_dir.
 *
 * The hold-out split is stratified: O->test_size of each class, rounded,
 * and at least one row of each class on each side. Cross-validation is
 * stratified k-fold on the training part (each fold's ROC-AUC, their mean
 * and population standard deviation are reported); every fold and the final
 * fit use O->params. With params.early_stopping > 0 each fit stops early on
 * its held-out rows (the fold's, then the hold-out set) and keeps its best
 * iteration. The final model is fitted on the whole training part and
 * evaluated on the hold-out set at O->threshold.
 *
 * eval.json holds roc_auc, pr_auc, precision, recall, f1, threshold,
 * test_rows, train_rows, positive_rate (over all rows), confusion {tp, fp,
 * tn, fn}, cv {folds, roc_auc_mean, roc_auc_std, roc_auc: [per fold]} (folds
 * 0 and nulls without CV), params {...}, best_iteration (null without early
 * stopping), xgboost_version, data {path, rows, target, positive, features},
 * seed, created (ISO 8601 UTC) and train_seconds.
 *
 * The three files are written into a temporary sibling directory
 * "OUT.tmp-XXXXXX" which is renamed into place at the end, so a failed run
 * leaves nothing behind and a reader never sees half a model directory.
 * An existing OUT that is empty is replaced. One that is not is refused
 * (EXIT_INPUT "OUT: exists and is not empty (use --force)") unless O->force,
 * and even then only if it holds nothing but model.json, schema.json and
 * eval.json: the old directory is moved aside, the new one renamed in, the
 * old one deleted. These checks run before training as well, so a doomed
 * run fails at once.
 *
 * *EVAL, when EVAL is non-NULL, receives the eval.json tree (the caller frees
 * it with cJSON_Delete()); it is NULL on failure. */
int train_run(const struct train_opts *o, train_progress_fn progress, void *ud,
	      cJSON **eval, struct err *e);

#endif
