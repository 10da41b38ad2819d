/* demo: the demo workspace, a place where everything can be seen working.
 *
 * The workspace is DATA_DIR/demo (see paths.h: $CHURNOPS_HOME/data/demo,
 * else $XDG_DATA_HOME/churnops/demo, else ~/.local/share/churnops/demo):
 *
 *   demo/data/telco_churn.csv       a copy of the demo data set
 *   demo/models/1.0.0/              model.json, schema.json, eval.json
 *   demo/models/1.1.0/              (eval.json carries "version")
 *   demo/models/1.2.0/
 *
 * The three versions are trained with different parameters (a small fast
 * model, the defaults, a deeper one), so comparing them shows something.
 * Versions already present are reused, so only the first run trains.
 */
#ifndef CHURNOPS_DEMO_H
#define CHURNOPS_DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct demo_version {
	const char *version;   /* "1.1.0" */
	const char *summary;   /* what is different about it */
	int rounds, max_depth;
	double eta;
};

/* The demo's versions, oldest first; *N receives their count. */
const struct demo_version *demo_versions(size_t *n);

#define DEMO_FOLDS 3
#define DEMO_DATA_FILE "telco_churn.csv"

struct demo_opts {
	const char *source_csv; /* the data set to copy in (data/telco_churn.csv) */
	bool reset;             /* delete the workspace first and start over */
	int threads;            /* XGBoost threads for training; 0 = all cores */
};

/* Progress: VERSION being trained (STEP of NSTEPS versions, counting from
 * 1), with train_run()'s PHASE, DONE and TOTAL. Strings are valid during the
 * call only. */
typedef void (*demo_progress_fn)(void *ud, const char *version, int step,
				 int nsteps, const char *phase, int done, int total);

/* The workspace directory, newly allocated (caller frees). */
char *demo_dir(struct err *e);

/* Makes sure the workspace is complete: copies the data set when missing,
 * trains every version whose directory is missing or incomplete. With
 * O->reset the whole workspace is deleted first. *DIR receives the
 * workspace directory (caller frees). PROGRESS may be NULL. */
int demo_ensure(const struct demo_opts *o, demo_progress_fn progress, void *ud,
		char **dir, struct err *e);

/* True when DIR holds model.json, schema.json and eval.json. */
bool demo_model_complete(const char *dir);

#endif
