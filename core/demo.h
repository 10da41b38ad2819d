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

struct store;

/* The reason recorded for the demo's own stage moves. */
#define DEMO_REASON "demo workspace"

/* Registers the demo's versions from workspace DIR in the embedded registry
 * of ST (model "churn"), as ACTOR, and stages them as the sandbox cluster
 * runs them: 1.0.0 then 1.1.0 into production (so 1.1.0 holds it and 1.0.0
 * is the previous version, as in the sandbox's revision history) and 1.2.0
 * into staging, with the checklist override and the reason DEMO_REASON.
 * Idempotent: a label already registered is left as it is, and the stages
 * are set only while no version holds production (staging: staging), so
 * moves made since are never undone. *CHANGED (may be NULL) says whether
 * anything was registered or moved. */
int demo_register(const char *dir, struct store *st, const char *actor, bool *changed,
		  struct err *e);

/* True when DIR holds model.json, schema.json and eval.json. */
bool demo_model_complete(const char *dir);

/* The demo's cluster: sandbox/kubesim.py run as a child process.
 *
 * demo_sandbox_start() runs `PYTHON SCRIPT --port 0 --speed SPEED` (PYTHON
 * found on PATH) in its own process group, with its stderr in LOG (NULL:
 * discarded), waits up to TIMEOUT_S for its "ready URL" line and writes
 * KUBECONFIG, a kubeconfig whose current context "churnops-demo" points at
 * it (namespace mlops-staging). The child is told to die with us
 * (PR_SET_PDEATHSIG), so even a crash does not leave it behind;
 * demo_sandbox_stop() kills it and waits for it. Fails with EXIT_BACKEND
 * and a message saying what is missing (python3, the script) or what the
 * sandbox said. */
struct demo_sandbox;

int demo_sandbox_start(const char *python, const char *script, double speed,
		       const char *kubeconfig, const char *log, int timeout_s,
		       struct demo_sandbox **out, struct err *e);
/* "http://127.0.0.1:PORT"; valid until demo_sandbox_stop(). */
const char *demo_sandbox_url(const struct demo_sandbox *s);
/* The sandbox's process id. */
int demo_sandbox_pid(const struct demo_sandbox *s);
/* Kills the sandbox (SIGTERM, then SIGKILL after a second), waits for it
 * and frees S. NULL ok. */
void demo_sandbox_stop(struct demo_sandbox *s);

/* The demo's Prometheus: the installed server (Debian's /usr/bin/prometheus
 * or `prometheus` on PATH) scraping the sandbox's /metrics every second.
 *
 * demo_prometheus_find() returns the binary's path (static storage) or NULL
 * when Prometheus is not installed. demo_prometheus_start() writes
 * DIR/prometheus.yml (DIR created when missing) with TARGET
 * ("127.0.0.1:PORT") as the one scrape target, keeps the TSDB in DIR/tsdb
 * (one day's retention), picks a free loopback port (binding port 0, as
 * Prometheus has no such option), runs BINARY there in its own process
 * group with its output in LOG (NULL: discarded) and waits up to TIMEOUT_S
 * for /-/ready to answer 200. The child dies with us (PR_SET_PDEATHSIG);
 * demo_prometheus_stop() kills it, waits for it and frees P (NULL ok).
 * Fails with EXIT_BACKEND and what went wrong (LOG holds the server's own
 * words). */
struct demo_prometheus;

const char *demo_prometheus_find(void);
int demo_prometheus_start(const char *binary, const char *dir, const char *target,
			  const char *log, int timeout_s, struct demo_prometheus **out,
			  struct err *e);
/* "http://127.0.0.1:PORT"; valid until demo_prometheus_stop(). */
const char *demo_prometheus_url(const struct demo_prometheus *p);
void demo_prometheus_stop(struct demo_prometheus *p);

#endif
