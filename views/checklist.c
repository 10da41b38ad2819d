/* checklist: the validation checklist of one model version, its evidence,
 * sign-off, and drift of the data file against the training data.
 *
 * Everything the view shows comes from worker jobs, one kind per source:
 *
 *   load     the artifact's sha256, its latest checklist run in the store
 *            (re-judged with today's sign-offs and operational items, as
 *            `churnops checklist show` does) and its sign-offs; with no
 *            stored run the view starts a run by itself
 *   run      `churnops validate` on the console's data file, reporting its
 *            stages as progress, recorded in the store (not with
 *            --read-only)
 *
 * Both judge the operational items (monitoring, rollback target, alert
 * thresholds) for production, as validate does by default: the job opens
 * its own Prometheus client and registry (core/checklist's context), with
 * short timeouts, so an absent or hung server only leaves those items
 * pending and never holds a key.
 *   sign-off a sign-off stored for the artifact's sha256, then the report
 *            re-judged; refused when model.json changed since it was judged
 *   drift    core/drift between the console's data file (current) and the
 *            version's training data (eval.json data.path; else the
 *            workspace's data file) as reference
 *
 * Each version keeps its own snapshots, so switching versions (v) shows
 * what was already read. Results carry a sequence number: a snapshot older
 * than the one shown is dropped, so a slow load never hides a newer run.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checklist.h"
#include "demo.h"
#include "drift.h"
#include "fileio.h"
#include "json.h"
#include "model.h"
#include "sanitize.h"
#include "schema.h"
#include "store.h"
#include "views.h"
#include "widgets.h"

#define DRIFT_SHOWN 32
#define EVIDENCE_LINES 256
#define OPS_TIMEOUT_MS 4000 /* per Prometheus or MLflow request */

enum job_kind {
	KIND_LOAD,
	KIND_RUN,
	KIND_PROGRESS,
	KIND_SIGNOFF,
	KIND_DRIFT,
};

/* The version index rides in the job's kind, above the kind itself. */
#define KIND_BITS 8
#define KIND_OF(k) ((k) & ((1 << KIND_BITS) - 1))
#define VERSION_OF(k) ((size_t)(k) >> KIND_BITS)

struct cl_item {
	char *id, *section, *title, *value, *threshold, *evidence;
	enum checklist_status status;
	bool manual;
};

struct cl_signoff {
	char *item, *by, *note, *at;
};

/* One checklist as the view shows it: immutable once built. */
struct cl_snapshot {
	char sha256[65];
	bool has_report;
	enum checklist_status verdict;
	char *source;      /* where the report came from, in words */
	char *data;        /* the report's test file */
	char *report_json; /* the report, for the model card */
	struct cl_item *items;
	size_t nitems;
	struct cl_signoff *so;
	size_t nso;
};

struct drift_row {
	char name[64];
	double psi;
	enum drift_band band;
	size_t unseen;
};

struct drift_snapshot {
	char *ref, *cur;
	char *ref_kind;  /* "training data of 1.2.0 (eval.json data.path)" */
	bool same_file;
	size_t ref_rows, cur_rows;
	double overall, mean;
	char overall_feature[64];
	size_t band_counts[3];
	size_t nfeatures;
	bool has_score;
	double score_psi;
	struct drift_row rows[DRIFT_SHOWN];
	size_t nrows;
};

struct progress_msg {
	char stage[96];
	int step, nsteps;
};

struct cl_version {
	struct cl_snapshot *snap;
	unsigned long snap_seq;  /* job that made snap */
	unsigned long load_seq, run_seq, sign_seq, drift_seq;
	bool loading, running, signing;
	bool auto_run_done;
	double run_started;
	struct progress_msg progress;
	char *error;             /* last load/run/sign-off failure */
	struct drift_snapshot *drift;
	bool drift_loading;
	char *drift_error;
};

struct checklist_view {
	struct console *c;
	struct cl_version *v;  /* one per console version */
	size_t cur;
	unsigned long seq;
	size_t sel;            /* selected item index */
	size_t list_offset;
	int focus;             /* 0 items, 1 evidence, 2 drift */
	size_t ev_scroll, drift_scroll;
	int ev_page;
	/* the sign-off dialog */
	bool dialog;
	char sign_item[64];
	char sign_title[128];
	char sign_by[256];
	char context[192];
};

/* ---- small helpers ---- */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static enum checklist_status status_of(const char *s)
{
	if (s && !strcmp(s, "pass"))
		return CHECKLIST_PASS;
	if (s && !strcmp(s, "fail"))
		return CHECKLIST_FAIL;
	if (s && !strcmp(s, "manual"))
		return CHECKLIST_MANUAL;
	return CHECKLIST_PENDING;
}

static enum tui_role status_role(enum checklist_status s)
{
	switch (s) {
	case CHECKLIST_PASS:
		return ROLE_OK;
	case CHECKLIST_FAIL:
		return ROLE_CRIT;
	case CHECKLIST_MANUAL:
		return ROLE_WARN;
	case CHECKLIST_PENDING:
		break;
	}
	return ROLE_STALE;
}

static const char *status_tag(enum checklist_status s)
{
	switch (s) {
	case CHECKLIST_PASS:
		return "PASS";
	case CHECKLIST_FAIL:
		return "FAIL";
	case CHECKLIST_MANUAL:
		return "MANUAL";
	case CHECKLIST_PENDING:
		break;
	}
	return "PENDING";
}

static enum tui_role band_role(enum drift_band b)
{
	return b == DRIFT_STABLE ? ROLE_OK : b == DRIFT_BAND_MODERATE ? ROLE_WARN : ROLE_CRIT;
}

static void snapshot_free(void *p)
{
	struct cl_snapshot *s = p;
	if (!s)
		return;
	for (size_t i = 0; i < s->nitems; i++) {
		struct cl_item *it = &s->items[i];
		free(it->id);
		free(it->section);
		free(it->title);
		free(it->value);
		free(it->threshold);
		free(it->evidence);
	}
	free(s->items);
	for (size_t i = 0; i < s->nso; i++) {
		free(s->so[i].item);
		free(s->so[i].by);
		free(s->so[i].note);
		free(s->so[i].at);
	}
	free(s->so);
	free(s->source);
	free(s->data);
	free(s->report_json);
	free(s);
}

static void drift_snapshot_free(void *p)
{
	struct drift_snapshot *d = p;
	if (!d)
		return;
	free(d->ref);
	free(d->cur);
	free(d->ref_kind);
	free(d);
}

/* A snapshot of REPORT (a checklist_to_json() tree, already re-judged) and
 * the artifact's sign-offs. NULL when out of memory (E set). */
static struct cl_snapshot *snapshot_of(const cJSON *report, const char *sha256,
				       const struct store_signoff *so, size_t nso,
				       const char *source, struct err *e)
{
	struct cl_snapshot *s = calloc(1, sizeof *s);
	if (!s)
		goto oom;
	snprintf(s->sha256, sizeof s->sha256, "%s", sha256);
	if (nso && !(s->so = calloc(nso, sizeof *s->so)))
		goto oom;
	for (size_t i = 0; i < nso; i++) {
		struct cl_signoff *o = &s->so[s->nso++];
		o->item = dup_or_empty(so[i].item);
		o->by = dup_or_empty(so[i].by);
		o->note = dup_or_empty(so[i].note);
		o->at = dup_or_empty(so[i].at);
		if (!o->item || !o->by || !o->note || !o->at)
			goto oom;
	}
	if (!(s->source = dup_or_empty(source)))
		goto oom;
	if (!report)
		return s;
	s->has_report = true;
	s->verdict = status_of(json_str(report, "verdict"));
	if (!(s->data = dup_or_empty(json_str(report, "data"))) ||
	    !(s->report_json = cJSON_PrintUnformatted(report)))
		goto oom;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(report, "items"), *it;
	size_t n = (size_t)cJSON_GetArraySize(items);
	if (n && !(s->items = calloc(n, sizeof *s->items)))
		goto oom;
	cJSON_ArrayForEach(it, items)
	{
		if (s->nitems == n)
			break;
		struct cl_item *ci = &s->items[s->nitems++];
		const char *id = json_str(it, "id");
		ci->status = status_of(json_str(it, "status"));
		long k = id ? checklist_find(id) : -1;
		ci->manual = k >= 0 && checklist_defs[k].manual;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
		const char *unit = json_str(it, "unit");
		if (cJSON_IsNumber(v))
			ci->value = dupf("%.4g%s%s", v->valuedouble, unit && *unit ? " " : "",
					 unit ? unit : "");
		else if (cJSON_IsString(v))
			ci->value = strdup(v->valuestring);
		else if (cJSON_IsBool(v))
			ci->value = strdup(cJSON_IsTrue(v) ? "true" : "false");
		else
			ci->value = strdup("-");
		ci->id = dup_or_empty(id);
		ci->section = dup_or_empty(json_str(it, "section"));
		ci->title = dup_or_empty(json_str(it, "title"));
		ci->threshold = dup_or_empty(json_str(it, "threshold"));
		ci->evidence = dup_or_empty(json_str(it, "evidence"));
		if (!ci->value || !ci->id || !ci->section || !ci->title || !ci->threshold ||
		    !ci->evidence)
			goto oom;
	}
	return s;
oom:
	snapshot_free(s);
	err_set(e, EXIT_INPUT, "out of memory");
	return NULL;
}

/* The artifact's sha256: the model loaded as scoring would load it. */
static int artifact_sha(const char *dir, char sha[65], struct err *e)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/schema.json", dir);
	struct schema *s = schema_load(path, e);
	if (!s)
		return e->code ? e->code : EXIT_INPUT;
	snprintf(path, sizeof path, "%s/model.json", dir);
	struct model *m = model_load(path, s, e);
	schema_destroy(s);
	if (!m)
		return e->code ? e->code : EXIT_INPUT;
	snprintf(sha, 65, "%s", model_sha256(m));
	model_destroy(m);
	return 0;
}

/* ---- job: load the stored checklist ---- */

struct load_arg {
	char *dir;
};

static void load_arg_free(void *p)
{
	struct load_arg *a = p;
	free(a->dir);
	free(a);
}

static void *load_run(void *arg, struct err *e)
{
	struct load_arg *a = arg;
	char sha[65];
	struct store *st = NULL;
	struct store_signoff *so = NULL;
	size_t nso = 0;
	struct store_checklist_run run = {0};
	bool found = false;
	cJSON *rep = NULL;
	struct cl_snapshot *s = NULL;
	struct checklist_context ctx = {0};
	if (artifact_sha(a->dir, sha, e) || !(st = store_open(NULL, e)) ||
	    store_list_signoffs(st, sha, &so, &nso, e) ||
	    store_last_checklist_run(st, sha, &run, &found, e))
		goto out;
	if (found) {
		rep = json_parse(run.report_json, strlen(run.report_json), store_path(st), e);
		if (!rep)
			goto out;
		struct checklist_context_opts co = {.store = st, .timeout_ms = OPS_TIMEOUT_MS};
		if (checklist_context_open(&ctx, &co, e))
			goto out;
		checklist_refresh_ops_json(rep, &ctx);
		checklist_refresh_json(rep, a->dir, sha, so, nso);
	}
	char source[128];
	snprintf(source, sizeof source, "stored run of %s", found ? run.at : "-");
	s = snapshot_of(rep, sha, so, nso, source, e);
out:
	cJSON_Delete(rep);
	store_checklist_run_finish(&run);
	store_signoffs_free(so, nso);
	checklist_context_close(&ctx);
	store_close(st);
	return s;
}

/* ---- job: run the checklist ---- */

struct run_arg {
	char *dir, *data;
	bool record;
	struct worker_pool *pool;
	void *owner;
	int kind;
	unsigned long seq;
};

static void run_arg_free(void *p)
{
	struct run_arg *a = p;
	free(a->dir);
	free(a->data);
	free(a);
}

static void post_progress(void *ud, const char *stage, int step, int nsteps)
{
	struct run_arg *a = ud;
	struct progress_msg *m = calloc(1, sizeof *m);
	if (!m)
		return;
	snprintf(m->stage, sizeof m->stage, "%s", stage);
	m->step = step;
	m->nsteps = nsteps;
	struct worker_job msg = {
		.owner = a->owner,
		.kind = (a->kind & ~((1 << KIND_BITS) - 1)) | KIND_PROGRESS,
		.seq = a->seq, .result = m, .free_result = free,
	};
	struct err ignored = {0};
	worker_pool_post(a->pool, &msg, &ignored);
}

static void *validate_run(void *arg, struct err *e)
{
	struct run_arg *a = arg;
	struct checklist_gates g;
	struct checklist_report rep = {0};
	struct store *st = NULL;
	cJSON *js = NULL;
	char *text = NULL;
	struct cl_snapshot *s = NULL;
	struct checklist_context ctx = {0};
	bool ran = false;
	checklist_gates_defaults(&g);
	double t0 = mono_now();
	if (!(st = store_open(NULL, e)))
		goto out;
	struct checklist_context_opts co = {.store = st, .timeout_ms = OPS_TIMEOUT_MS};
	if (checklist_context_open(&ctx, &co, e))
		goto out;
	struct checklist_opts o = {
		.model_dir = a->dir, .data = a->data, .gates = &g,
		.scorer_exe = "/proc/self/exe", .store = st,
		.progress = post_progress, .progress_ud = a,
		.context = &ctx,
	};
	if (checklist_run(&o, &rep, e))
		goto out;
	ran = true;
	if (!(js = checklist_to_json(&rep)) || !(text = cJSON_PrintUnformatted(js))) {
		err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (a->record && store_add_checklist_run(st, rep.sha256,
						 checklist_status_name(rep.verdict), text, e))
		goto out;
	char when[16], source[160];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%H:%M:%S", &tm);
	snprintf(source, sizeof source, "run here at %s in %.1f s%s", when, mono_now() - t0,
		 a->record ? ", recorded in the store" : " (read-only: not recorded)");
	s = snapshot_of(js, rep.sha256, rep.signoffs, rep.nsignoffs, source, e);
out:
	free(text);
	cJSON_Delete(js);
	if (ran)
		checklist_report_finish(&rep);
	checklist_context_close(&ctx);
	store_close(st);
	checklist_gates_finish(&g);
	return s;
}

/* ---- job: sign off ---- */

struct sign_arg {
	char *dir, *item, *by, *note, *report_json, *source;
	char sha[65];
};

static void sign_arg_free(void *p)
{
	struct sign_arg *a = p;
	free(a->dir);
	free(a->item);
	free(a->by);
	free(a->note);
	free(a->report_json);
	free(a->source);
	free(a);
}

static void *signoff_run(void *arg, struct err *e)
{
	struct sign_arg *a = arg;
	char now[65];
	struct store *st = NULL;
	struct store_signoff *so = NULL;
	size_t nso = 0;
	cJSON *rep = NULL;
	struct cl_snapshot *s = NULL;
	if (artifact_sha(a->dir, now, e))
		goto out;
	if (strcmp(now, a->sha) != 0) {
		err_set(e, EXIT_CHECK,
			"not signed: model.json changed since this checklist was judged "
			"(sha256 %.12s..., now %.12s...); press r to run it again",
			a->sha, now);
		goto out;
	}
	if (!(st = store_open(NULL, e)) ||
	    store_add_signoff(st, a->sha, a->item, a->by, a->note, e) ||
	    store_list_signoffs(st, a->sha, &so, &nso, e))
		goto out;
	if (a->report_json) {
		rep = json_parse(a->report_json, strlen(a->report_json), "the checklist", e);
		if (!rep)
			goto out;
		checklist_refresh_json(rep, a->dir, a->sha, so, nso);
	}
	s = snapshot_of(rep, a->sha, so, nso, a->source, e);
out:
	cJSON_Delete(rep);
	store_signoffs_free(so, nso);
	store_close(st);
	return s;
}

/* ---- job: drift ---- */

struct drift_arg {
	char *dir, *label, *cur, *fallback_ref;
};

static void drift_arg_free(void *p)
{
	struct drift_arg *a = p;
	free(a->dir);
	free(a->label);
	free(a->cur);
	free(a->fallback_ref);
	free(a);
}

static int by_psi(const void *x, const void *y)
{
	const struct drift_row *a = x, *b = y;
	return a->psi < b->psi ? 1 : a->psi > b->psi ? -1 : strcmp(a->name, b->name);
}

static void *drift_run(void *arg, struct err *e)
{
	struct drift_arg *a = arg;
	char path[PATH_MAX + 32];
	struct drift_snapshot *d = calloc(1, sizeof *d);
	cJSON *eval = NULL;
	struct schema *s = NULL;
	struct model *m = NULL;
	struct drift_report r = {0};
	bool computed = false;
	if (!d) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof path, "%s/eval.json", a->dir);
	if (fileio_exists(path) && !(eval = json_load_file(path, e)))
		goto fail;
	const char *train = json_str(cJSON_GetObjectItemCaseSensitive(eval, "data"), "path");
	if (train && fileio_exists(train)) {
		d->ref = strdup(train);
		d->ref_kind = dupf("training data of %s (eval.json data.path)", a->label);
	} else if (a->fallback_ref && fileio_exists(a->fallback_ref)) {
		d->ref = strdup(a->fallback_ref);
		d->ref_kind = dupf("the workspace's demo data (%s's training data %s)", a->label,
				   train ? "is gone" : "is not recorded");
	} else {
		err_set(e, EXIT_INPUT, "no reference: %s's training data %s%s and no demo data file",
			a->label, train ? train : "(not in eval.json)",
			train ? " is not there" : "");
		goto fail;
	}
	d->cur = strdup(a->cur);
	if (!d->ref || !d->ref_kind || !d->cur) {
		err_set(e, EXIT_INPUT, "out of memory");
		goto fail;
	}
	char *rr = realpath(d->ref, NULL), *rc = realpath(d->cur, NULL);
	d->same_file = rr && rc && !strcmp(rr, rc);
	free(rr);
	free(rc);
	snprintf(path, sizeof path, "%s/schema.json", a->dir);
	if (!(s = schema_load(path, e)))
		goto fail;
	snprintf(path, sizeof path, "%s/model.json", a->dir);
	if (!(m = model_load(path, s, e)))
		goto fail;
	struct drift_opts o = {.schema = s, .model = m};
	if (drift_compute(d->ref, d->cur, &o, &r, e))
		goto fail;
	computed = true;
	d->ref_rows = r.ref_rows;
	d->cur_rows = r.cur_rows;
	d->overall = r.overall;
	d->mean = r.mean_psi;
	memcpy(d->band_counts, r.band_counts, sizeof d->band_counts);
	d->nfeatures = r.nfeatures;
	if (r.nfeatures)
		snprintf(d->overall_feature, sizeof d->overall_feature, "%s",
			 r.features[r.overall_feature].name);
	d->has_score = r.has_score;
	d->score_psi = r.has_score ? r.score.psi : NAN;
	struct drift_row all[256];
	size_t n = 0;
	for (size_t i = 0; i < r.nfeatures && n < 256; i++, n++) {
		snprintf(all[n].name, sizeof all[n].name, "%s", r.features[i].name);
		all[n].psi = r.features[i].psi;
		all[n].band = r.features[i].band;
		all[n].unseen = r.features[i].unseen;
	}
	qsort(all, n, sizeof *all, by_psi);
	d->nrows = n < DRIFT_SHOWN ? n : DRIFT_SHOWN;
	memcpy(d->rows, all, d->nrows * sizeof *all);
	drift_report_finish(&r);
	model_destroy(m);
	schema_destroy(s);
	cJSON_Delete(eval);
	return d;
fail:
	if (computed)
		drift_report_finish(&r);
	model_destroy(m);
	schema_destroy(s);
	cJSON_Delete(eval);
	drift_snapshot_free(d);
	return NULL;
}

/* ---- submitting ---- */

static struct cl_version *current(struct checklist_view *o)
{
	return o->c->nversions ? &o->v[o->cur] : NULL;
}

static bool submit(struct checklist_view *o, struct tui_app *app, struct worker_job *j,
		   int kind, unsigned long *seq_out)
{
	j->kind = kind | (int)(o->cur << KIND_BITS);
	j->seq = ++o->seq;
	struct err e = {0};
	if (tui_app_submit(app, o, j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "checklist: %s", e.msg);
		return false;
	}
	*seq_out = j->seq;
	return true;
}

static void start_load(struct checklist_view *o, struct tui_app *app)
{
	struct cl_version *v = current(o);
	struct load_arg *a = calloc(1, sizeof *a);
	if (!a || !(a->dir = strdup(o->c->versions[o->cur].dir))) {
		free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	struct worker_job j = {.run = load_run, .free_arg = load_arg_free,
			       .free_result = snapshot_free, .arg = a};
	if (submit(o, app, &j, KIND_LOAD, &v->load_seq))
		v->loading = true;
}

static void start_run(struct checklist_view *o, struct tui_app *app)
{
	struct cl_version *v = current(o);
	if (!v)
		return;
	if (v->running) {
		tui_app_toast(app, ROLE_WARN, "the checklist is already running");
		return;
	}
	if (!o->c->data) {
		tui_app_toast(app, ROLE_WARN,
			      "no data file to run the checklist on: open the console with --data FILE");
		return;
	}
	struct run_arg *a = calloc(1, sizeof *a);
	if (!a || !(a->dir = strdup(o->c->versions[o->cur].dir)) ||
	    !(a->data = strdup(o->c->data))) {
		if (a)
			free(a->dir);
		free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	a->record = !tui_app_read_only(app);
	a->pool = tui_app_pool(app);
	a->owner = o;
	/* The job's kind and sequence number, known before submitting, so
	 * progress messages posted from the worker carry them. */
	a->kind = KIND_RUN | (int)(o->cur << KIND_BITS);
	a->seq = o->seq + 1;
	struct worker_job j = {.run = validate_run, .free_arg = run_arg_free,
			       .free_result = snapshot_free, .arg = a};
	if (submit(o, app, &j, KIND_RUN, &v->run_seq)) {
		v->running = true;
		v->run_started = mono_now();
		v->progress = (struct progress_msg){"starting", 0, CHECKLIST_STAGES};
		free(v->error);
		v->error = NULL;
	}
}

static void start_drift(struct checklist_view *o, struct tui_app *app)
{
	struct cl_version *v = current(o);
	if (!v || v->drift_loading || !o->c->data)
		return;
	struct drift_arg *a = calloc(1, sizeof *a);
	char *fallback = o->c->workspace ? dupf("%s/data/" DEMO_DATA_FILE, o->c->workspace) : NULL;
	if (!a || !(a->dir = strdup(o->c->versions[o->cur].dir)) ||
	    !(a->label = strdup(o->c->versions[o->cur].label)) || !(a->cur = strdup(o->c->data))) {
		if (a) {
			free(a->dir);
			free(a->label);
		}
		free(a);
		free(fallback);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	a->fallback_ref = fallback;
	struct worker_job j = {.run = drift_run, .free_arg = drift_arg_free,
			       .free_result = drift_snapshot_free, .arg = a};
	if (submit(o, app, &j, KIND_DRIFT, &v->drift_seq)) {
		v->drift_loading = true;
		free(v->drift_error);
		v->drift_error = NULL;
	}
}

/* Whatever the version in view still needs. */
static void ensure(struct checklist_view *o, struct tui_app *app)
{
	struct cl_version *v = current(o);
	if (!v)
		return;
	if (!v->snap && !v->loading && !v->running && !v->error)
		start_load(o, app);
	/* Never judged: judge it now, once, if there is a file to. */
	if (v->snap && !v->snap->has_report && !v->running && !v->auto_run_done && o->c->data) {
		v->auto_run_done = true;
		start_run(o, app);
	}
	if (!v->drift && !v->drift_loading && !v->drift_error && o->c->data)
		start_drift(o, app);
}

/* ---- the view ---- */

static void cl_show(void *state, struct tui_app *app)
{
	ensure(state, app);
}

static void replace_snapshot(struct cl_version *v, struct worker_job *j)
{
	if (j->seq < v->snap_seq)
		return;
	snapshot_free(v->snap);
	v->snap = j->result;
	v->snap_seq = j->seq;
	j->result = NULL;
}

static void cl_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct checklist_view *o = state;
	size_t vi = VERSION_OF(j->kind);
	if (vi >= o->c->nversions)
		return;
	struct cl_version *v = &o->v[vi];
	const char *label = o->c->versions[vi].label;
	switch (KIND_OF(j->kind)) {
	case KIND_LOAD:
		if (j->seq != v->load_seq)
			return;
		v->loading = false;
		if (!j->result) {
			free(v->error);
			v->error = strdup(j->err.msg);
			return;
		}
		replace_snapshot(v, j);
		if (vi == o->cur)
			ensure(o, app);
		return;
	case KIND_PROGRESS:
		if (j->seq == v->run_seq && v->running && j->result)
			v->progress = *(struct progress_msg *)j->result;
		return;
	case KIND_RUN:
		if (j->seq != v->run_seq)
			return;
		v->running = false;
		if (!j->result) {
			free(v->error);
			v->error = strdup(j->err.msg);
			tui_app_toast(app, ROLE_CRIT, "checklist of %s: %s", label, j->err.msg);
			return;
		}
		replace_snapshot(v, j);
		if (v->snap)
			tui_app_toast(app, status_role(v->snap->verdict), "checklist of %s: %s",
				      label, checklist_status_name(v->snap->verdict));
		return;
	case KIND_SIGNOFF:
		if (j->seq != v->sign_seq)
			return;
		v->signing = false;
		if (!j->result) {
			tui_app_toast(app, ROLE_CRIT, "%s", j->err.msg);
			return;
		}
		replace_snapshot(v, j);
		tui_app_toast(app, ROLE_OK, "signed off for %s (sha256 %.12s...)", label,
			      v->snap ? v->snap->sha256 : "?");
		return;
	case KIND_DRIFT:
		if (j->seq != v->drift_seq)
			return;
		v->drift_loading = false;
		if (!j->result) {
			free(v->drift_error);
			v->drift_error = strdup(j->err.msg);
			return;
		}
		drift_snapshot_free(v->drift);
		v->drift = j->result;
		j->result = NULL;
		return;
	}
}

static bool cl_tick(void *state, struct tui_app *app)
{
	struct checklist_view *o = state;
	(void)app;
	struct cl_version *v = current(o);
	return v && v->running;
}

/* ---- drawing ---- */

static void draw_verdict(struct checklist_view *o, struct tui_rect r)
{
	struct cl_version *v = current(o);
	const struct cl_snapshot *s = v->snap;
	int x = r.x;
	if (s && s->has_report) {
		char tag[32];
		snprintf(tag, sizeof tag, " verdict %s ", status_tag(s->verdict));
		x += widget_text(r.y, x, r.w, status_role(s->verdict), tag);
		char why[512] = "";
		size_t used = 0;
		bool fail = s->verdict == CHECKLIST_FAIL;
		if (s->verdict != CHECKLIST_PASS)
			used = (size_t)snprintf(why, sizeof why, fail ? " failed:" : " waiting for:");
		for (size_t i = 0; i < s->nitems && used < sizeof why; i++) {
			enum checklist_status st = s->items[i].status;
			if ((fail && st == CHECKLIST_FAIL) ||
			    (!fail && (st == CHECKLIST_PENDING || st == CHECKLIST_MANUAL)))
				used += (size_t)snprintf(why + used, sizeof why - used, " %s",
							 s->items[i].id);
		}
		if (s->verdict == CHECKLIST_PASS)
			snprintf(why, sizeof why, " every gate passed, every sign-off given");
		x += widget_text(r.y, x, r.x + r.w - x, ROLE_NORMAL, why);
	} else if (v->running || v->loading) {
		x += widget_text(r.y, x, r.w, ROLE_STALE, " verdict ... ");
	} else {
		x += widget_text(r.y, x, r.w, ROLE_STALE, " no verdict yet ");
	}
	/* Second line: what is being done, or where the report came from. */
	int y = r.y + 1;
	if (v->running) {
		char label[160];
		snprintf(label, sizeof label, "running validate: %s (%d/%d) %.1f s",
			 v->progress.stage, v->progress.step, v->progress.nsteps,
			 mono_now() - v->run_started);
		int w = r.w > 40 ? r.w : 40;
		double frac = v->progress.nsteps ? (double)v->progress.step / v->progress.nsteps : 0;
		widget_progress(y, r.x + 1, w - 2, label, frac);
	} else if (v->error) {
		widget_text(y, r.x + 1, r.w - 2, ROLE_CRIT, v->error);
	} else if (s && s->has_report) {
		char line[1024];
		snprintf(line, sizeof line, "%s, sha256 %.12s... (r runs again), on %s", s->source,
			 s->sha256, s->data);
		widget_text(y, r.x + 1, r.w - 2, ROLE_MUTED, line);
	} else if (v->loading) {
		widget_text(y, r.x + 1, r.w - 2, ROLE_STALE, "reading the store...");
	} else if (!o->c->data) {
		widget_text(y, r.x + 1, r.w - 2, ROLE_WARN,
			    "no data file: open the console with --data TEST.csv to run the checklist");
	}
}

/* The list's lines: a heading before each section, then its items. Line
 * L is item *ITEM (or a heading when *ITEM is SIZE_MAX). */
static size_t list_lines(const struct cl_snapshot *s, size_t l, size_t *item)
{
	size_t n = 0;
	*item = SIZE_MAX;
	for (size_t i = 0; i < s->nitems; i++) {
		if (i == 0 || strcmp(s->items[i].section, s->items[i - 1].section) != 0) {
			if (n++ == l)
				return n;
		}
		if (n++ == l) {
			*item = i;
			return n;
		}
	}
	return n;
}

static size_t line_of_item(const struct cl_snapshot *s, size_t want)
{
	size_t item;
	for (size_t l = 0;; l++) {
		size_t n = list_lines(s, l, &item);
		if (item == want || n <= l)
			return l;
	}
}

static void draw_items(struct checklist_view *o, struct tui_rect r)
{
	struct cl_version *v = current(o);
	const struct cl_snapshot *s = v->snap;
	char title[128];
	snprintf(title, sizeof title, "checklist churn %s", o->c->versions[o->cur].label);
	struct tui_rect in = widget_box(r, title, o->focus == 0);
	if (!s || !s->has_report) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_STALE,
			    v->running ? "running validate..." : v->loading ? "loading..."
				       : "no checklist run for this artifact yet (r runs it)");
		return;
	}
	size_t item, total = list_lines(s, SIZE_MAX, &item);
	size_t sel_line = line_of_item(s, o->sel);
	o->list_offset = layout_scroll(o->list_offset, sel_line, (size_t)in.h, total);
	for (int row = 0; row < in.h; row++) {
		size_t l = o->list_offset + (size_t)row;
		if (l >= total)
			break;
		list_lines(s, l, &item);
		int y = in.y + row;
		if (item == SIZE_MAX) {
			size_t next;
			list_lines(s, l + 1, &next);
			widget_text(y, in.x + 1, in.w - 2, ROLE_TITLE,
				    next < s->nitems ? s->items[next].section : "");
			continue;
		}
		const struct cl_item *it = &s->items[item];
		bool selected = item == o->sel;
		if (selected)
			widget_clear((struct tui_rect){y, in.x, 1, in.w},
				     o->focus == 0 ? ROLE_SELECTED : ROLE_FOCUS);
		enum tui_role base = selected ? (o->focus == 0 ? ROLE_SELECTED : ROLE_FOCUS)
					      : ROLE_NORMAL;
		int x = in.x + 2;
		char tag[16];
		snprintf(tag, sizeof tag, "%-8s", status_tag(it->status));
		x += widget_text(y, x, in.x + in.w - x, selected ? base : status_role(it->status), tag);
		char rest[512];
		snprintf(rest, sizeof rest, " %-21s %-12s %s", it->id, it->value, it->threshold);
		widget_text(y, x, in.x + in.w - x - 1, base, rest);
	}
}

/* Draws the wrapped TEXT from screen line *K on, skipping SKIP lines;
 * returns nothing, advances *K. */
static void put_wrapped(struct tui_rect in, const char *text, int indent, enum tui_role role,
			size_t skip, size_t *k)
{
	/* Evidence often holds a server's words core has escaped already:
	 * escaped for display only, so an ESC shows as \x1b, not \\x1b. */
	size_t need = sanitize_display(text, strlen(text), NULL, 0) + 1;
	char *clean = malloc(need);
	if (!clean)
		return;
	sanitize_display(text, strlen(text), clean, need);
	size_t starts[EVIDENCE_LINES], lens[EVIDENCE_LINES];
	int w = in.w - 2 - indent;
	size_t n = layout_wrap(clean, w > 8 ? w : 8, starts, lens, EVIDENCE_LINES);
	if (n > EVIDENCE_LINES)
		n = EVIDENCE_LINES;
	for (size_t i = 0; i < n; i++, (*k)++) {
		if (*k < skip || *k - skip >= (size_t)in.h)
			continue;
		char line[1024];
		size_t len = lens[i] < sizeof line - 1 ? lens[i] : sizeof line - 1;
		memcpy(line, clean + starts[i], len);
		line[len] = '\0';
		widget_text_clean(in.y + (int)(*k - skip), in.x + 1 + indent, in.w - 2 - indent,
				  role, line);
	}
	free(clean);
}

static void draw_evidence(struct checklist_view *o, struct tui_app *app, struct tui_rect r)
{
	struct cl_version *v = current(o);
	const struct cl_snapshot *s = v->snap;
	const struct cl_item *it = s && s->has_report && o->sel < s->nitems ? &s->items[o->sel]
									   : NULL;
	char title[128];
	snprintf(title, sizeof title, "evidence: %s", it ? it->id : "-");
	struct tui_rect in = widget_box(r, title, o->focus == 1);
	o->ev_page = in.h;
	if (!it)
		return;
	size_t k = 0, skip = o->ev_scroll;
	char line[1024];
	put_wrapped(in, it->title, 0, ROLE_TITLE, skip, &k);
	snprintf(line, sizeof line, "status     %s", status_tag(it->status));
	put_wrapped(in, line, 0, status_role(it->status), skip, &k);
	snprintf(line, sizeof line, "value      %s", it->value);
	put_wrapped(in, line, 0, ROLE_NORMAL, skip, &k);
	snprintf(line, sizeof line, "threshold  %s", it->threshold);
	put_wrapped(in, line, 0, ROLE_NORMAL, skip, &k);
	snprintf(line, sizeof line, "section    %s", it->section);
	put_wrapped(in, line, 0, ROLE_MUTED, skip, &k);
	k++;
	put_wrapped(in, "evidence", 0, ROLE_TITLE, skip, &k);
	/* "; " separates the parts of a long evidence text: one per line. */
	char *ev = strdup(it->evidence);
	for (char *p = ev, *next; p && *p; p = next) {
		char *semi = strstr(p, "; ");
		next = semi ? semi + 2 : NULL;
		if (semi)
			*semi = '\0';
		put_wrapped(in, p, 2, ROLE_NORMAL, skip, &k);
	}
	free(ev);
	if (it->manual) {
		k++;
		put_wrapped(in, "sign-offs of this artifact", 0, ROLE_TITLE, skip, &k);
		size_t mine = 0;
		for (size_t i = 0; i < s->nso; i++) {
			if (strcmp(s->so[i].item, it->id) != 0)
				continue;
			mine++;
			snprintf(line, sizeof line, "%s by %s%s%s", s->so[i].at, s->so[i].by,
				 s->so[i].note[0] ? ": " : "", s->so[i].note);
			put_wrapped(in, line, 2, ROLE_OK, skip, &k);
		}
		if (!mine)
			put_wrapped(in, "none", 2, ROLE_MUTED, skip, &k);
		put_wrapped(in,
			    tui_app_read_only(app)
				    ? "read-only: sign-off is refused"
				    : v->signing ? "signing off..." : "s signs off (name and note)",
			    0, tui_app_read_only(app) ? ROLE_STALE : ROLE_ACCENT, skip, &k);
	}
	if (k > (size_t)in.h && o->ev_scroll > k - (size_t)in.h)
		o->ev_scroll = k - (size_t)in.h;
}

static void draw_drift(struct checklist_view *o, struct tui_rect r)
{
	struct cl_version *v = current(o);
	const struct drift_snapshot *d = v->drift;
	char title[256];
	snprintf(title, sizeof title, "drift (PSI): data file vs %s's training data",
		 o->c->versions[o->cur].label);
	struct tui_rect in = widget_box(r, title, o->focus == 2);
	int y = in.y, x = in.x + 1, w = in.w - 2;
	if (!o->c->data) {
		widget_text(y, x, w, ROLE_MUTED, "no data file: nothing to compare");
		return;
	}
	if (v->drift_error) {
		widget_text(y, x, w, ROLE_CRIT, v->drift_error);
		return;
	}
	if (!d) {
		widget_text(y, x, w, ROLE_STALE, "computing drift...");
		return;
	}
	char line[1200];
	snprintf(line, sizeof line, "current    %s (%zu rows): the console's data file", d->cur,
		 d->cur_rows);
	widget_text(y++, x, w, ROLE_MUTED, line);
	if (d->same_file)
		snprintf(line, sizeof line, "reference  the same file, so nothing can have drifted: %s",
			 d->ref_kind);
	else
		snprintf(line, sizeof line, "reference  %s (%zu rows): %s", d->ref, d->ref_rows,
			 d->ref_kind);
	if (y < in.y + in.h)
		widget_text(y++, x, w, d->same_file ? ROLE_STALE : ROLE_MUTED, line);
	if (y < in.y + in.h) {
		enum drift_band b = drift_band_of(d->overall);
		int used = widget_printf(y, x, w, band_role(b), "overall %.4f %s", d->overall,
					 drift_band_name(b));
		char score[64] = "";
		if (d->has_score)
			snprintf(score, sizeof score, "; score PSI %.4f", d->score_psi);
		widget_printf(y++, x + used, w - used, ROLE_NORMAL,
			      " (largest: %s; mean %.4f; %zu features: %zu stable, %zu moderate, "
			      "%zu significant%s)",
			      d->overall_feature, d->mean, d->nfeatures, d->band_counts[0],
			      d->band_counts[1], d->band_counts[2], score);
	}
	int rows = in.y + in.h - y;
	if (rows <= 0 || !d->nrows)
		return;
	int ncol = w >= 120 ? 3 : w >= 80 ? 2 : 1;
	size_t per = (size_t)rows * (size_t)ncol;
	if (d->nrows <= per)
		o->drift_scroll = 0;
	else if (o->drift_scroll > d->nrows - per)
		o->drift_scroll = d->nrows - per;
	int cw = w / ncol;
	for (size_t i = o->drift_scroll; i < d->nrows && i - o->drift_scroll < per; i++) {
		size_t k = i - o->drift_scroll;
		int cy = y + (int)(k % (size_t)rows), cx = x + (int)(k / (size_t)rows) * cw;
		const struct drift_row *f = &d->rows[i];
		char cell[160];
		snprintf(cell, sizeof cell, "%-18.18s %.4f %-11s", f->name, f->psi,
			 drift_band_name(f->band));
		widget_text(cy, cx, cw - 1, band_role(f->band), cell);
	}
}

static void draw_sign_dialog(struct checklist_view *o, struct tui_rect area)
{
	struct cl_version *v = current(o);
	struct tui_rect r = layout_center(area, 9, 76);
	widget_clear(r, ROLE_DIALOG);
	struct tui_rect in = widget_box(r, "sign off", true);
	char line[512];
	int y = in.y, x = in.x + 1, w = in.w - 2;
	snprintf(line, sizeof line, "item      %s (%s)", o->sign_title, o->sign_item);
	widget_text(y++, x, w, ROLE_DIALOG, line);
	snprintf(line, sizeof line, "artifact  churn %s, sha256 %.24s...",
		 o->c->versions[o->cur].label, v->snap ? v->snap->sha256 : "?");
	widget_text(y++, x, w, ROLE_DIALOG, line);
	snprintf(line, sizeof line, "name      %s", o->sign_by[0] ? o->sign_by : "(type it below)");
	widget_text(y++, x, w, ROLE_DIALOG, line);
	snprintf(line, sizeof line, "note      %s", o->sign_by[0] ? "(type it below; may be empty)" : "");
	widget_text(y++, x, w, ROLE_DIALOG, line);
	y++;
	widget_text(y, x, w, ROLE_MUTED,
		    "Enter confirms each field, Esc cancels; kept with the time in the store");
}

static void cl_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct checklist_view *o = state;
	struct cl_version *v = current(o);
	if (!v) {
		widget_text(area.y, area.x + 1, area.w - 2, ROLE_WARN,
			    "no model versions found: run 'churnops demo', or open one with "
			    "'churnops --model DIR --data TEST.csv'");
		return;
	}
	draw_verdict(o, (struct tui_rect){area.y, area.x, 2, area.w});
	/* The drift panel shrinks to its summary, then goes, before the
	 * items do. */
	int drift_h = area.h >= 34 ? 10 : area.h >= 20 ? 5 : 0;
	struct tui_rect top = {area.y + 2, area.x, area.h - 2 - drift_h, area.w};
	struct tui_rect left, right;
	layout_split(top, 0.55, 46, 28, &left, &right);
	draw_items(o, left);
	draw_evidence(o, app, right);
	if (drift_h)
		draw_drift(o, (struct tui_rect){top.y + top.h, area.x, drift_h, area.w});
	if (o->dialog)
		draw_sign_dialog(o, area);
}

/* ---- keys ---- */

static void sign_note_done(void *state, struct tui_app *app, const char *text)
{
	struct checklist_view *o = state;
	struct cl_version *v = current(o);
	o->dialog = false;
	if (!text) {
		tui_app_toast(app, ROLE_MUTED, "sign-off cancelled");
		return;
	}
	if (!v || !v->snap) {
		tui_app_toast(app, ROLE_CRIT, "sign-off: the checklist is gone");
		return;
	}
	struct sign_arg *a = calloc(1, sizeof *a);
	if (!a || !(a->dir = strdup(o->c->versions[o->cur].dir)) ||
	    !(a->item = strdup(o->sign_item)) || !(a->by = strdup(o->sign_by)) ||
	    !(a->note = strdup(text)) || !(a->source = strdup(v->snap->source)) ||
	    (v->snap->report_json && !(a->report_json = strdup(v->snap->report_json)))) {
		if (a)
			sign_arg_free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	snprintf(a->sha, sizeof a->sha, "%s", v->snap->sha256);
	struct worker_job j = {.run = signoff_run, .free_arg = sign_arg_free,
			       .free_result = snapshot_free, .arg = a};
	if (submit(o, app, &j, KIND_SIGNOFF, &v->sign_seq))
		v->signing = true;
}

static void sign_name_done(void *state, struct tui_app *app, const char *text)
{
	struct checklist_view *o = state;
	if (!text) {
		o->dialog = false;
		tui_app_toast(app, ROLE_MUTED, "sign-off cancelled");
		return;
	}
	while (*text == ' ')
		text++;
	if (!*text) {
		o->dialog = false;
		tui_app_toast(app, ROLE_WARN, "not signed: a sign-off needs a name");
		return;
	}
	snprintf(o->sign_by, sizeof o->sign_by, "%s", text);
	tui_app_prompt(app, "note (optional): ", "", o, sign_note_done, NULL);
}

static void begin_signoff(struct checklist_view *o, struct tui_app *app)
{
	struct cl_version *v = current(o);
	const struct cl_snapshot *s = v ? v->snap : NULL;
	if (!s || !s->has_report || o->sel >= s->nitems) {
		tui_app_toast(app, ROLE_WARN, "no checklist to sign off yet");
		return;
	}
	const struct cl_item *it = &s->items[o->sel];
	if (tui_app_read_only(app)) {
		tui_app_toast(app, ROLE_CRIT,
			      "read-only: sign-off refused (the console was opened with --read-only)");
		return;
	}
	if (!it->manual) {
		char names[256] = "";
		size_t used = 0;
		for (size_t i = 0; i < CHECKLIST_NITEMS && used < sizeof names; i++)
			if (checklist_defs[i].manual)
				used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
							 used ? ", " : "", checklist_defs[i].id);
		tui_app_toast(app, ROLE_WARN, "%s is judged by validate; only manual items are "
			      "signed off (%s)", it->id, names);
		return;
	}
	if (v->signing) {
		tui_app_toast(app, ROLE_WARN, "a sign-off is being stored");
		return;
	}
	snprintf(o->sign_item, sizeof o->sign_item, "%s", it->id);
	snprintf(o->sign_title, sizeof o->sign_title, "%s", it->title);
	o->sign_by[0] = '\0';
	o->dialog = true;
	char label[96];
	snprintf(label, sizeof label, "sign off %s as (name): ", it->id);
	tui_app_prompt(app, label, "", o, sign_name_done, NULL);
}

static enum tui_result cl_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct checklist_view *o = state;
	struct cl_version *v = current(o);
	if (!v)
		return TUI_IGNORED;
	const struct cl_snapshot *s = v->snap && v->snap->has_report ? v->snap : NULL;
	size_t n = s ? s->nitems : 0;
	switch (a) {
	case ACT_NEXT_PANEL:
		o->focus = (o->focus + 1) % 3;
		return TUI_REDRAW;
	case ACT_PREV_PANEL:
		o->focus = (o->focus + 2) % 3;
		return TUI_REDRAW;
	case ACT_RUN_CHECKLIST:
		start_run(o, app);
		return TUI_REDRAW;
	case ACT_SIGN_OFF:
		begin_signoff(o, app);
		return TUI_REDRAW;
	case ACT_OPEN_CARD: {
		struct console_version *cv = &o->c->versions[o->cur];
		card_view_open(o->c->card, app, cv->dir, cv->label,
			       v->snap ? v->snap->report_json : NULL);
		tui_app_show_view(app, "card");
		return TUI_REDRAW;
	}
	case ACT_CHECKLIST_VERSION:
		o->cur = (o->cur + 1) % o->c->nversions;
		o->ev_scroll = o->drift_scroll = 0;
		ensure(o, app);
		return TUI_REDRAW;
	case ACT_DRIFT:
		if (!o->c->data) {
			tui_app_toast(app, ROLE_WARN, "no data file to compare");
			return TUI_HANDLED;
		}
		drift_snapshot_free(v->drift);
		v->drift = NULL;
		free(v->drift_error);
		v->drift_error = NULL;
		start_drift(o, app);
		return TUI_REDRAW;
	default:
		break;
	}
	if (o->focus == 1) {
		size_t page = o->ev_page > 1 ? (size_t)o->ev_page - 1 : 1;
		if (a == ACT_DOWN)
			o->ev_scroll++;
		else if (a == ACT_UP)
			o->ev_scroll = o->ev_scroll ? o->ev_scroll - 1 : 0;
		else if (a == ACT_PAGE_DOWN)
			o->ev_scroll += page;
		else if (a == ACT_PAGE_UP)
			o->ev_scroll = o->ev_scroll > page ? o->ev_scroll - page : 0;
		else if (a == ACT_HOME)
			o->ev_scroll = 0;
		else
			return TUI_IGNORED;
		return TUI_REDRAW;
	}
	if (o->focus == 2) {
		if (a == ACT_DOWN)
			o->drift_scroll++;
		else if (a == ACT_UP)
			o->drift_scroll = o->drift_scroll ? o->drift_scroll - 1 : 0;
		else
			return TUI_IGNORED;
		return TUI_REDRAW;
	}
	size_t before = o->sel;
	switch (a) {
	case ACT_UP:
		o->sel = layout_move(o->sel, -1, n);
		break;
	case ACT_DOWN:
		o->sel = layout_move(o->sel, 1, n);
		break;
	case ACT_PAGE_UP:
		o->sel = layout_move(o->sel, -8, n);
		break;
	case ACT_PAGE_DOWN:
		o->sel = layout_move(o->sel, 8, n);
		break;
	case ACT_HOME:
		o->sel = 0;
		break;
	case ACT_END:
		o->sel = n ? n - 1 : 0;
		break;
	case ACT_SELECT:
		o->focus = 1;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
	if (o->sel != before)
		o->ev_scroll = 0;
	return TUI_REDRAW;
}

static const char *cl_context(void *state)
{
	struct checklist_view *o = state;
	struct cl_version *v = current(o);
	if (!v)
		return NULL;
	const char *label = o->c->versions[o->cur].label;
	if (v->snap && v->snap->has_report)
		snprintf(o->context, sizeof o->context, "churn %s  verdict: %s", label,
			 status_tag(v->snap->verdict));
	else
		snprintf(o->context, sizeof o->context, "churn %s  verdict: %s", label,
			 v->running ? "running" : "-");
	return o->context;
}

static void cl_destroy(void *state)
{
	struct checklist_view *o = state;
	if (!o)
		return;
	for (size_t i = 0; i < o->c->nversions; i++) {
		snapshot_free(o->v[i].snap);
		drift_snapshot_free(o->v[i].drift);
		free(o->v[i].error);
		free(o->v[i].drift_error);
	}
	free(o->v);
	free(o);
}

void *checklist_view_create(struct console *c)
{
	struct checklist_view *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->c = c;
	o->v = calloc(c->nversions ? c->nversions : 1, sizeof *o->v);
	if (!o->v) {
		free(o);
		return NULL;
	}
	/* The newest version, as the overview selects it. */
	o->cur = c->nversions ? c->nversions - 1 : 0;
	return o;
}

const struct view_ops checklist_view_ops = {
	.name = "checklist",
	.jump = ACT_VIEW_CHECKLIST,
	.scope = KEYMAP_CHECKLIST,
	.show = cl_show,
	.draw = cl_draw,
	.handle_key = cl_key,
	.on_snapshot = cl_on_snapshot,
	.context = cl_context,
	.tick = cl_tick,
	.destroy = cl_destroy,
};
