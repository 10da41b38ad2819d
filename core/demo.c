#include "demo.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "train.h"

#define DEMO_MAX_DATA (64u << 20)

static const struct demo_version versions[] = {
	{"1.0.0", "baseline: 60 shallow trees (depth 3), eta 0.1", 60, 3, 0.1},
	{"1.1.0", "more, deeper trees: 150 rounds, depth 4, eta 0.05", 150, 4, 0.05},
	{"1.2.0", "deeper still: 200 rounds, depth 6, eta 0.03", 200, 6, 0.03},
};

const struct demo_version *demo_versions(size_t *n)
{
	*n = sizeof versions / sizeof versions[0];
	return versions;
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *demo_dir(struct err *e)
{
	char *data = paths_data_dir(e);
	if (!data)
		return NULL;
	char *d = join(data, "demo");
	free(data);
	if (!d)
		err_set(e, EXIT_INPUT, "out of memory");
	return d;
}

bool demo_model_complete(const char *dir)
{
	static const char *const files[] = {"model.json", "schema.json", "eval.json"};
	for (size_t i = 0; i < 3; i++) {
		char *p = join(dir, files[i]);
		bool ok = p && fileio_exists(p);
		free(p);
		if (!ok)
			return false;
	}
	return true;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

static int copy_data(const char *src, const char *dst, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = fileio_read_all(src, DEMO_MAX_DATA, &buf, &len, e);
	if (!rc)
		rc = fileio_write_all(dst, buf, len, e);
	if (rc)
		err_prefix(e, "copying the demo data set");
	free(buf);
	return rc;
}

/* eval.json gets the version label, so every reader (whatif's
 * model_version, the console) names the model the same way. */
static int stamp_version(const char *model_dir, const char *version, struct err *e)
{
	char *path = join(model_dir, "eval.json");
	if (!path)
		return err_set(e, EXIT_INPUT, "out of memory");
	int rc = 0;
	cJSON *eval = json_load_file(path, e);
	if (!eval) {
		rc = e && e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	const char *have = json_str(eval, "version");
	if (have && strcmp(have, version) == 0)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(eval, "version");
	if (!cJSON_AddStringToObject(eval, "version", version)) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	rc = json_write_file(path, eval, e);
out:
	cJSON_Delete(eval);
	free(path);
	return rc;
}

struct progress_ctx {
	demo_progress_fn fn;
	void *ud;
	const char *version;
	int step, nsteps;
};

static void on_train_progress(void *ud, const char *phase, int done, int total)
{
	struct progress_ctx *p = ud;
	p->fn(p->ud, p->version, p->step, p->nsteps, phase, done, total);
}

int demo_ensure(const struct demo_opts *o, demo_progress_fn progress, void *ud,
		char **dir_out, struct err *e)
{
	*dir_out = NULL;
	char *dir = demo_dir(e);
	if (!dir)
		return EXIT_INPUT;
	char *data_dir = join(dir, "data");
	char *models_dir = join(dir, "models");
	char *data = data_dir ? join(data_dir, DEMO_DATA_FILE) : NULL;
	int rc = 0;
	if (!data_dir || !models_dir || !data) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (o->reset && fileio_exists(dir) &&
	    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		rc = err_errno(e, EXIT_INPUT, errno, "removing the demo workspace %s", dir);
		goto out;
	}
	if ((rc = fileio_mkdirs(data_dir, e)) || (rc = fileio_mkdirs(models_dir, e)))
		goto out;
	if (!fileio_exists(data)) {
		if (!o->source_csv) {
			rc = err_set(e, EXIT_INPUT,
				     "the demo data set was not found: set CHURNOPS_DATA to "
				     "data/telco_churn.csv");
			goto out;
		}
		rc = copy_data(o->source_csv, data, e);
		if (rc)
			goto out;
	}
	size_t n;
	const struct demo_version *v = demo_versions(&n);
	for (size_t i = 0; i < n; i++) {
		char *out = join(models_dir, v[i].version);
		if (!out) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
		if (!demo_model_complete(out)) {
			struct train_opts t;
			train_opts_defaults(&t);
			t.data = data;
			t.out_dir = out;
			t.folds = DEMO_FOLDS;
			t.params.rounds = v[i].rounds;
			t.params.max_depth = v[i].max_depth;
			t.params.eta = v[i].eta;
			t.params.threads = o->threads;
			/* A directory left incomplete by an older run is ours
			 * to replace. */
			t.force = true;
			struct progress_ctx pc = {progress, ud, v[i].version, (int)i + 1, (int)n};
			rc = train_run(&t, progress ? on_train_progress : NULL, &pc, NULL, e);
			if (rc) {
				err_prefix(e, "demo version %s", v[i].version);
				free(out);
				goto out;
			}
		}
		rc = stamp_version(out, v[i].version, e);
		free(out);
		if (rc)
			goto out;
	}
	*dir_out = dir;
	dir = NULL;
out:
	free(dir);
	free(data_dir);
	free(models_dir);
	free(data);
	return rc;
}
