#include "checklist.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dataset.h"
#include "fileio.h"
#include "json.h"
#include "model.h"
#include "schema.h"

const struct checklist_def checklist_defs[CHECKLIST_NITEMS] = {
	[CL_ROC_AUC] = {"roc_auc", "performance", "ROC-AUC on the test set", "", false},
	[CL_PRECISION] = {"precision", "performance", "Precision at the threshold", "", false},
	[CL_RECALL] = {"recall", "performance", "Recall at the threshold", "", false},
	[CL_F1] = {"f1", "performance", "F1 at the threshold", "", false},
	[CL_CV_STABILITY] = {"cv_stability", "performance",
			     "Cross-validation stability (std of fold ROC-AUC)", "", false},
	[CL_LATENCY] = {"latency", "technical", "Inference latency (p99, single row)", "ms", false},
	[CL_MEMORY] = {"memory", "technical", "Memory while scoring the test set (peak RSS)", "MB",
		       false},
	[CL_ARTIFACT_SIZE] = {"artifact_size", "technical", "Model artifact size", "MB", false},
	[CL_COMPATIBILITY] = {"compatibility", "technical",
			      "Compatible with serving (objective, features, library)", "", false},
	[CL_SCHEMA] = {"schema", "technical",
		       "Input/output schema validation (test data conforms, outputs in [0,1])",
		       "violations", false},
	[CL_SEGMENTS] = {"segments", "business", "Performance on key segments (worst ROC-AUC)", "",
			 false},
	[CL_FAIRNESS] = {"fairness", "business",
			 "Bias and fairness (recall and positive-rate ratios)", "", false},
	[CL_BUSINESS_IMPACT] = {"business_impact", "business",
				"Business impact simulation (retention campaign net value)", "",
				false},
	[CL_STAKEHOLDER_APPROVAL] = {"stakeholder_approval", "business", "Stakeholder approval", "",
				     true},
	[CL_MODEL_CARD] = {"model_card", "operational", "Model card completed", "", false},
	[CL_MONITORING] = {"monitoring", "operational", "Monitoring configured", "", false},
	[CL_ROLLBACK_PLAN] = {"rollback_plan", "operational", "Rollback plan documented", "", false},
	[CL_ALERT_THRESHOLDS] = {"alert_thresholds", "operational", "Alert thresholds defined", "",
				 false},
};

/* The deployment guide's rollback triggers: switching one off leaves the
 * model without an alert the guide asks for. */
static const char *const guide_triggers[] = {"roc_auc", "latency_p95", "error_rate", "drift"};

long checklist_find(const char *id)
{
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++)
		if (strcmp(checklist_defs[i].id, id) == 0)
			return (long)i;
	return -1;
}

const char *checklist_status_name(enum checklist_status s)
{
	switch (s) {
	case CHECKLIST_PASS:
		return "pass";
	case CHECKLIST_FAIL:
		return "fail";
	case CHECKLIST_PENDING:
		return "pending";
	case CHECKLIST_MANUAL:
		return "manual";
	}
	return "?";
}

bool checklist_signable(const char *id)
{
	long i = checklist_find(id);
	return i >= 0 && checklist_defs[i].manual;
}

/* --- gates ------------------------------------------------------------ */

void checklist_gates_defaults(struct checklist_gates *g)
{
	memset(g, 0, sizeof *g);
	g->roc_auc_min = 0.85;
	g->precision_min = 0.75;
	g->recall_min = 0.70;
	g->f1_min = 0.72;
	g->cv_std_max = 0.05;
	g->latency_max_ms = 300;
	g->latency_calls = 2000;
	g->memory_max_mb = 2048;
	g->artifact_max_mb = 500;
	g->segment_tolerance = SEGMENTS_TOLERANCE;
	g->segment_min_size = SEGMENTS_MIN_SIZE;
	g->columns = (struct segments_column *)segments_default_columns;
	g->ncolumns = segments_default_ncolumns;
	g->fairness_min = SEGMENTS_FAIRNESS_MIN;
	g->attributes = (char **)segments_default_protected;
	g->nattributes = segments_default_nprotected;
	g->business_min = 0;
	segments_business_defaults(&g->business);
}

void checklist_gates_finish(struct checklist_gates *g)
{
	if (!g)
		return;
	if (g->columns_configured) {
		for (size_t i = 0; i < g->ncolumns; i++)
			free((char *)g->columns[i].name);
		free(g->columns);
	}
	if (g->attributes_configured) {
		for (size_t i = 0; i < g->nattributes; i++)
			free(g->attributes[i]);
		free(g->attributes);
	}
	free(g->value_column);
	free(g->band_storage);
	checklist_gates_defaults(g);
}

/* A setting of an item: its key and where the value goes. */
struct setting {
	const char *key;
	double *num;
	long *whole;
	double min, max;
};

static int set_number(const char *path, const char *item, const struct setting *s,
		      const cJSON *v, struct err *e)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= s->min && v->valuedouble <= s->max))
		return err_set(e, EXIT_INPUT, "%s: %s.%s: expected a number from %g to %g", path,
			       item, s->key, s->min, s->max);
	if (s->whole) {
		if (v->valuedouble != floor(v->valuedouble))
			return err_set(e, EXIT_INPUT, "%s: %s.%s: expected a whole number", path,
				       item, s->key);
		*s->whole = (long)v->valuedouble;
	} else {
		*s->num = v->valuedouble;
	}
	return 0;
}

static int load_columns(struct checklist_gates *g, const char *path, const cJSON *v,
			struct err *e)
{
	if (!cJSON_IsArray(v))
		return err_set(e, EXIT_INPUT, "%s: segments.columns: expected an array", path);
	size_t n = (size_t)cJSON_GetArraySize(v), nbands = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, v)
	{
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(c, "bands");
		nbands += cJSON_IsArray(b) ? (size_t)cJSON_GetArraySize(b) : 0;
	}
	struct segments_column *cols = calloc(n ? n : 1, sizeof *cols);
	double *bands = malloc((nbands ? nbands : 1) * sizeof *bands);
	if (!cols || !bands) {
		free(cols);
		free(bands);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	size_t i = 0, k = 0;
	int rc = 0;
	cJSON_ArrayForEach(c, v)
	{
		const char *name = NULL;
		const cJSON *b = NULL;
		if (cJSON_IsString(c)) {
			name = c->valuestring;
		} else if (cJSON_IsObject(c)) {
			name = json_str(c, "name");
			b = cJSON_GetObjectItemCaseSensitive(c, "bands");
			const cJSON *x;
			cJSON_ArrayForEach(x, c)
			{
				if (strcmp(x->string, "name") && strcmp(x->string, "bands")) {
					rc = err_set(e, EXIT_INPUT,
						     "%s: segments.columns[%zu]: unknown key '%s' (allowed: name, bands)",
						     path, i, x->string);
					goto out;
				}
			}
		}
		if (!name || !*name || (b && !cJSON_IsArray(b))) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: segments.columns[%zu]: expected a column name or {\"name\", \"bands\": [numbers]}",
				     path, i);
			goto out;
		}
		cols[i].name = strdup(name);
		if (!cols[i].name) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
		cols[i].bands = b ? bands + k : NULL;
		const cJSON *x;
		cJSON_ArrayForEach(x, b)
		{
			if (!cJSON_IsNumber(x)) {
				rc = err_set(e, EXIT_INPUT, "%s: segments.columns[%zu].bands: expected numbers",
					     path, i);
				goto out;
			}
			bands[k++] = x->valuedouble;
			cols[i].nbands++;
		}
		i++;
	}
out:
	if (rc) {
		for (size_t j = 0; j < n; j++)
			free((char *)cols[j].name);
		free(cols);
		free(bands);
		return rc;
	}
	if (g->columns_configured) {
		for (size_t j = 0; j < g->ncolumns; j++)
			free((char *)g->columns[j].name);
		free(g->columns);
	}
	free(g->band_storage);
	g->columns = cols;
	g->ncolumns = n;
	g->band_storage = bands;
	g->columns_configured = true;
	return 0;
}

static int load_attributes(struct checklist_gates *g, const char *path, const cJSON *v,
			   struct err *e)
{
	if (!cJSON_IsArray(v))
		return err_set(e, EXIT_INPUT, "%s: fairness.attributes: expected an array of column names",
			       path);
	size_t n = (size_t)cJSON_GetArraySize(v), i = 0;
	char **a = calloc(n ? n : 1, sizeof *a);
	if (!a)
		return err_set(e, EXIT_INPUT, "out of memory");
	const cJSON *x;
	cJSON_ArrayForEach(x, v)
	{
		if (!cJSON_IsString(x) || !*x->valuestring || !(a[i] = strdup(x->valuestring))) {
			for (size_t j = 0; j < i; j++)
				free(a[j]);
			free(a);
			return err_set(e, EXIT_INPUT, "%s: fairness.attributes[%zu]: expected a column name",
				       path, i);
		}
		i++;
	}
	if (g->attributes_configured) {
		for (size_t j = 0; j < g->nattributes; j++)
			free(g->attributes[j]);
		free(g->attributes);
	}
	g->attributes = a;
	g->nattributes = n;
	g->attributes_configured = true;
	return 0;
}

static int load_item(struct checklist_gates *g, const char *path, long id, const cJSON *obj,
		     struct err *e)
{
	const char *item = checklist_defs[id].id;
	struct setting s[8];
	size_t ns = 0;
	switch ((enum checklist_item_id)id) {
	case CL_ROC_AUC:
		s[ns++] = (struct setting){"min", &g->roc_auc_min, NULL, 0, 1};
		break;
	case CL_PRECISION:
		s[ns++] = (struct setting){"min", &g->precision_min, NULL, 0, 1};
		break;
	case CL_RECALL:
		s[ns++] = (struct setting){"min", &g->recall_min, NULL, 0, 1};
		break;
	case CL_F1:
		s[ns++] = (struct setting){"min", &g->f1_min, NULL, 0, 1};
		break;
	case CL_CV_STABILITY:
		s[ns++] = (struct setting){"max", &g->cv_std_max, NULL, 0, 1};
		break;
	case CL_LATENCY:
		s[ns++] = (struct setting){"max", &g->latency_max_ms, NULL, 0, 1e7};
		s[ns++] = (struct setting){"calls", NULL, &g->latency_calls, 10, 1e7};
		break;
	case CL_MEMORY:
		s[ns++] = (struct setting){"max", &g->memory_max_mb, NULL, 0, 1e9};
		break;
	case CL_ARTIFACT_SIZE:
		s[ns++] = (struct setting){"max", &g->artifact_max_mb, NULL, 0, 1e9};
		break;
	case CL_SEGMENTS:
		s[ns++] = (struct setting){"tolerance", &g->segment_tolerance, NULL, 0, 1};
		s[ns++] = (struct setting){"min_size", NULL, &g->segment_min_size, 1, 1e12};
		break;
	case CL_FAIRNESS:
		s[ns++] = (struct setting){"min", &g->fairness_min, NULL, 0, 1};
		break;
	case CL_BUSINESS_IMPACT:
		s[ns++] = (struct setting){"min", &g->business_min, NULL, -1e15, 1e15};
		s[ns++] = (struct setting){"top_k", &g->business.top_k, NULL, 1e-9, 1};
		s[ns++] = (struct setting){"contact_cost", &g->business.contact_cost, NULL, 0, 1e9};
		s[ns++] = (struct setting){"acceptance_rate", &g->business.acceptance_rate, NULL, 0,
					   1};
		s[ns++] = (struct setting){"horizon_months", &g->business.horizon_months, NULL, 1e-9,
					   1200};
		break;
	default:
		break;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, obj)
	{
		if (id == CL_SEGMENTS && strcmp(v->string, "columns") == 0) {
			int rc = load_columns(g, path, v, e);
			if (rc)
				return rc;
			continue;
		}
		if (id == CL_FAIRNESS && strcmp(v->string, "attributes") == 0) {
			int rc = load_attributes(g, path, v, e);
			if (rc)
				return rc;
			continue;
		}
		if (id == CL_BUSINESS_IMPACT && strcmp(v->string, "value_column") == 0) {
			if (!cJSON_IsString(v) || !*v->valuestring)
				return err_set(e, EXIT_INPUT, "%s: %s.value_column: expected a column name",
					       path, item);
			free(g->value_column);
			g->value_column = strdup(v->valuestring);
			if (!g->value_column)
				return err_set(e, EXIT_INPUT, "out of memory");
			g->business.value_column = g->value_column;
			continue;
		}
		size_t k = 0;
		while (k < ns && strcmp(s[k].key, v->string) != 0)
			k++;
		if (k == ns) {
			char allowed[256] = "";
			for (size_t j = 0; j < ns; j++)
				snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed),
					 "%s%s", j ? ", " : "", s[j].key);
			const char *extra = id == CL_SEGMENTS	     ? ", columns"
					    : id == CL_FAIRNESS	     ? ", attributes"
					    : id == CL_BUSINESS_IMPACT ? ", value_column"
								       : "";
			return err_set(e, EXIT_INPUT, "%s: %s: unknown setting '%s' (%s%s%s)", path,
				       item, v->string, ns ? "allowed: " : "this item takes none",
				       allowed, ns ? extra : "");
		}
		int rc = set_number(path, item, &s[k], v, e);
		if (rc)
			return rc;
	}
	return 0;
}

int checklist_gates_load(struct checklist_gates *g, const char *path, struct err *e)
{
	cJSON *root = json_load_file(path, e);
	if (!root)
		return e && e->code ? e->code : EXIT_INPUT;
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		rc = err_set(e, EXIT_INPUT, "%s: expected an object whose keys are checklist item ids",
			     path);
		goto out;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, root)
	{
		long id = checklist_find(v->string);
		if (id < 0) {
			rc = err_set(e, EXIT_INPUT, "%s: unknown checklist item '%s'", path, v->string);
			goto out;
		}
		if (!cJSON_IsObject(v)) {
			rc = err_set(e, EXIT_INPUT, "%s: %s: expected an object of settings", path,
				     v->string);
			goto out;
		}
		rc = load_item(g, path, id, v, e);
		if (rc)
			goto out;
	}
out:
	cJSON_Delete(root);
	return rc;
}

/* --- items ------------------------------------------------------------ */

/* printf into a new string; NULL when memory runs out. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void set_item(struct checklist_report *r, enum checklist_item_id id,
		     enum checklist_status st, double value, char *threshold, char *evidence)
{
	struct checklist_item *it = &r->items[id];
	it->status = st;
	it->has_value = !isnan(value);
	it->value = value;
	free(it->threshold);
	free(it->evidence);
	it->threshold = threshold;
	it->evidence = evidence;
}

static void set_text(struct checklist_report *r, enum checklist_item_id id, const char *text)
{
	free(r->items[id].value_text);
	r->items[id].value_text = text ? strdup(text) : NULL;
}

static const char *undefined_text(double v, char *buf, size_t n)
{
	if (isnan(v))
		snprintf(buf, n, "undefined");
	else
		snprintf(buf, n, "%.4f", v);
	return buf;
}

/* A memstream collecting evidence text. */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

static bool text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	return t->f != NULL;
}

/* Closes the stream and hands over its text (NULL when memory ran out). */
static char *text_take(struct text *t)
{
	if (!t->f)
		return NULL;
	bool ok = !ferror(t->f);
	fclose(t->f);
	t->f = NULL;
	if (!ok) {
		free(t->buf);
		return NULL;
	}
	return t->buf;
}

static void judge_min(struct checklist_report *r, enum checklist_item_id id, double v,
		      double min, const char *undefined_reason)
{
	char *thr = fmt(">= %g", min);
	char *ev;
	if (isnan(v)) {
		ev = fmt("undefined: %s", undefined_reason);
		set_item(r, id, CHECKLIST_FAIL, NAN, thr, ev);
		set_text(r, id, "undefined");
		return;
	}
	struct metrics_confusion c = r->confusion;
	if (id == CL_ROC_AUC)
		ev = fmt("ROC-AUC %.4f on %zu rows (%zu churned); PR-AUC %s", v, r->rows,
			 r->positives, undefined_text(r->pr_auc, (char[32]){0}, 32));
	else
		ev = fmt("%.4f at threshold %g on %zu rows: tp %zu, fp %zu, tn %zu, fn %zu", v,
			 r->threshold, r->rows, c.tp, c.fp, c.tn, c.fn);
	set_item(r, id, v >= min ? CHECKLIST_PASS : CHECKLIST_FAIL, v, thr, ev);
}

static void item_cv(struct checklist_report *r, const cJSON *eval, const struct checklist_gates *g)
{
	char *thr = fmt("< %g", g->cv_std_max);
	const cJSON *cv = cJSON_GetObjectItemCaseSensitive(eval, "cv");
	if (!cv || !json_has_num(cv, "roc_auc_std") || json_num(cv, "folds", 0) < 2) {
		set_item(r, CL_CV_STABILITY, CHECKLIST_PENDING, NAN, thr,
			 fmt("%s", eval ? "eval.json records no cross-validation (trained with --folds 0?)"
					: "no eval.json in the model directory"));
		return;
	}
	double sd = json_num(cv, "roc_auc_std", NAN), mean = json_num(cv, "roc_auc_mean", NAN);
	struct text t;
	if (text_open(&t)) {
		fprintf(t.f, "%g-fold CV ROC-AUC %.4f +- %.4f (population std)",
			json_num(cv, "folds", 0), mean, sd);
		const cJSON *folds = cJSON_GetObjectItemCaseSensitive(cv, "roc_auc"), *x;
		if (cJSON_IsArray(folds)) {
			fprintf(t.f, "; folds:");
			cJSON_ArrayForEach(x, folds) fprintf(t.f, " %.4f", x->valuedouble);
		}
	}
	set_item(r, CL_CV_STABILITY, sd < g->cv_std_max ? CHECKLIST_PASS : CHECKLIST_FAIL, sd, thr,
		 text_take(&t));
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int item_latency(struct checklist_report *r, struct model *m, const struct dataset *d,
			const struct checklist_gates *g, struct err *e)
{
	size_t calls = (size_t)g->latency_calls;
	double *ms = malloc(calls * sizeof *ms);
	if (!ms)
		return err_set(e, EXIT_INPUT, "out of memory");
	int rc = model_set_threads(m, 1, e);
	for (size_t i = 0; !rc && i < calls; i++) {
		float p;
		double t0 = now_ms();
		rc = model_predict(m, d->x + (i % d->nrows) * d->ncols, 1, d->ncols, &p, e);
		ms[i] = now_ms() - t0;
	}
	if (!rc)
		rc = model_set_threads(m, 0, e);
	if (rc) {
		free(ms);
		return rc;
	}
	r->latency_calls = (long)calls;
	r->latency_p50_ms = metrics_percentile(ms, calls, 50);
	r->latency_p95_ms = metrics_percentile(ms, calls, 95);
	r->latency_p99_ms = metrics_percentile(ms, calls, 99);
	free(ms);
	double p99 = r->latency_p99_ms;
	set_item(r, CL_LATENCY, p99 < g->latency_max_ms ? CHECKLIST_PASS : CHECKLIST_FAIL, p99,
		 fmt("< %g ms", g->latency_max_ms),
		 fmt("p50 %.3f ms, p95 %.3f ms, p99 %.3f ms over %zu single-row predictions "
		     "(one thread, in process); no serving endpoint configured",
		     r->latency_p50_ms, r->latency_p95_ms, p99, calls));
	return 0;
}

/* Runs EXE score on the test file in a child and reads its peak RSS. The
 * child is started with posix_spawn (no fork of this possibly threaded
 * process) with its standard streams on /dev/null. */
static void item_memory(struct checklist_report *r, const struct checklist_opts *o)
{
	const struct checklist_gates *g = o->gates;
	char *thr = fmt("< %g MB", g->memory_max_mb);
	r->peak_rss_mb = NAN;
	if (!o->scorer_exe) {
		set_item(r, CL_MEMORY, CHECKLIST_PENDING, NAN, thr,
			 fmt("no churnops binary given to measure scoring with"));
		return;
	}
	char *argv[] = {(char *)"churnops", (char *)"score", (char *)"--model",
			(char *)o->model_dir, (char *)"--data", (char *)o->data,
			(char *)"--out", (char *)"/dev/null", (char *)"--quiet", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int err = posix_spawn(&pid, o->scorer_exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		set_item(r, CL_MEMORY, CHECKLIST_FAIL, NAN, thr,
			 fmt("could not run %s: %s", o->scorer_exe, strerror(err)));
		return;
	}
	int status;
	struct rusage ru;
	pid_t w;
	do
		w = wait4(pid, &status, 0, &ru);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		set_item(r, CL_MEMORY, CHECKLIST_FAIL, NAN, thr,
			 w < 0 ? fmt("waiting for the scorer: %s", strerror(errno))
			 : WIFEXITED(status)
				 ? fmt("churnops score failed on the test file (exit %d)",
				       WEXITSTATUS(status))
				 : fmt("churnops score was killed by signal %d", WTERMSIG(status)));
		return;
	}
	double mb = (double)ru.ru_maxrss / 1024.0;
	r->peak_rss_mb = mb;
	set_item(r, CL_MEMORY, mb < g->memory_max_mb ? CHECKLIST_PASS : CHECKLIST_FAIL, mb, thr,
		 fmt("peak RSS %.1f MB (%ld KiB) of `churnops score` over the %zu test rows",
		     mb, (long)ru.ru_maxrss, r->rows));
}

/* "1.7.4" or [1, 7, 4] into MAJOR and MINOR. */
static bool parse_version(const char *s, int *major, int *minor)
{
	return sscanf(s, "%d.%d", major, minor) == 2;
}

/* The JSON array that follows KEY in TEXT (its first occurrence, or its
 * last when LAST), parsed; NULL when absent or not an array. Quotes and
 * escapes are followed, so a ']' inside a name does not end the array. */
static cJSON *array_after(const char *text, const char *key, bool last)
{
	if (!text)
		return NULL;
	const char *at = NULL;
	for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
		at = p;
		if (!last)
			break;
	}
	if (!at)
		return NULL;
	const char *a = at + strlen(key);
	while (*a == ' ' || *a == '\n' || *a == '\t' || *a == '\r')
		a++;
	if (*a != '[')
		return NULL;
	bool quoted = false;
	int depth = 0;
	for (const char *p = a; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']' && --depth == 0) {
			struct err ignored = {0};
			return json_parse(a, (size_t)(p - a + 1), "model.json", &ignored);
		}
	}
	return NULL;
}

static void item_compatibility(struct checklist_report *r, struct model *m,
			       const struct schema *s, const char *model_path)
{
	struct text t;
	bool ok = true;
	if (!text_open(&t)) {
		set_item(r, CL_COMPATIBILITY, CHECKLIST_FAIL, NAN, fmt("all true"), NULL);
		return;
	}
	const char *obj = model_objective(m);
	free(r->objective);
	r->objective = strdup(obj ? obj : "");
	bool obj_ok = obj && strcmp(obj, "binary:logistic") == 0;
	ok &= obj_ok;
	fprintf(t.f, "objective %s (%s)", obj ? obj : "unknown",
		obj_ok ? "supported" : "not supported: the service serves binary:logistic");
	size_t nf = model_num_features(m);
	bool count_ok = nf == s->nfeatures;
	ok &= count_ok;
	fprintf(t.f, "; %zu features in the model, %zu in schema.json", nf, s->nfeatures);

	/* XGBoost writes NaN into split conditions, which is not JSON, so
	 * the file cannot be parsed whole: the two arrays needed are cut out
	 * of its text. model_load() has already refused names that differ
	 * from the schema's; this says whether there were names to compare. */
	char *text = NULL;
	size_t len = 0;
	struct err ignored = {0};
	if (fileio_read_all(model_path, MODEL_MAX_FILE, &text, &len, &ignored) != 0)
		text = NULL;
	cJSON *names = array_after(text, "\"feature_names\":", false);
	cJSON *ver = array_after(text, "\"version\":", true);
	free(text);
	if (cJSON_IsArray(names) && cJSON_GetArraySize(names) > 0) {
		size_t i = 0;
		const cJSON *x;
		const char *bad = NULL;
		cJSON_ArrayForEach(x, names)
		{
			if (!bad && (i >= s->nfeatures || !cJSON_IsString(x) ||
				     strcmp(x->valuestring, s->features[i].name) != 0))
				bad = cJSON_IsString(x) ? x->valuestring : "?";
			i++;
		}
		bool names_ok = !bad && i == s->nfeatures;
		ok &= names_ok;
		if (names_ok)
			fprintf(t.f, "; feature names match schema.json in order");
		else
			fprintf(t.f, "; feature names differ from schema.json (first: '%s')",
				bad ? bad : "count");
	} else {
		fprintf(t.f, "; the model records no feature names (count checked only)");
	}
	int lmaj, lmin;
	bool lib_ok = parse_version(r->library_version, &lmaj, &lmin);
	if (cJSON_IsArray(ver) && cJSON_GetArraySize(ver) >= 2 && lib_ok) {
		int mmaj = cJSON_GetArrayItem(ver, 0)->valueint;
		int mmin = cJSON_GetArrayItem(ver, 1)->valueint;
		int mpatch = cJSON_GetArraySize(ver) > 2 ? cJSON_GetArrayItem(ver, 2)->valueint : 0;
		bool v_ok = mmaj < lmaj || (mmaj == lmaj && mmin <= lmin);
		ok &= v_ok;
		fprintf(t.f, "; saved by XGBoost %d.%d.%d, linked %s%s", mmaj, mmin, mpatch,
			r->library_version, v_ok ? "" : " (older than the model: may not load in serving)");
	} else {
		fprintf(t.f, "; linked XGBoost %s (the model file records no version)",
			r->library_version);
	}
	cJSON_Delete(names);
	cJSON_Delete(ver);
	set_item(r, CL_COMPATIBILITY, ok ? CHECKLIST_PASS : CHECKLIST_FAIL, NAN, fmt("all true"),
		 text_take(&t));
	set_text(r, CL_COMPATIBILITY, ok ? "true" : "false");
}

static void item_schema(struct checklist_report *r, const float *p, size_t n,
			const char *unseen_report)
{
	size_t unseen = 0, out_of_range = 0;
	r->score_min = INFINITY;
	r->score_max = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (!(p[i] >= 0 && p[i] <= 1))
			out_of_range++;
		if (!isnan(p[i])) {
			r->score_min = fmin(r->score_min, p[i]);
			r->score_max = fmax(r->score_max, p[i]);
		}
	}
	/* The report holds one line per column; count cells from it would
	 * mean parsing it, so count lines (columns) and show the text. */
	for (const char *c = unseen_report; c && *c; c++)
		unseen += *c == '\n';
	struct text t;
	if (text_open(&t)) {
		fprintf(t.f, "%zu rows encoded through schema.json", n);
		if (unseen) {
			fprintf(t.f, "; %zu column%s with levels not in the schema: ", unseen,
				unseen == 1 ? "" : "s");
			for (const char *c = unseen_report; *c; c++) {
				if (*c != '\n')
					fputc(*c, t.f);
				else if (c[1])
					fputs("; ", t.f);
			}
		} else {
			fprintf(t.f, "; every level known");
		}
		fprintf(t.f, "; outputs %s [0, 1]", out_of_range ? "outside" : "within");
		if (n)
			fprintf(t.f, " (min %.6f, max %.6f)", r->score_min, r->score_max);
		if (out_of_range)
			fprintf(t.f, ": %zu outputs are not probabilities", out_of_range);
	}
	double v = (double)(unseen + out_of_range);
	set_item(r, CL_SCHEMA, v == 0 ? CHECKLIST_PASS : CHECKLIST_FAIL, v, fmt("0 violations"),
		 text_take(&t));
}

/* Default segment columns the schema lacks are skipped (another data set);
 * configured ones must exist. */
static int item_segments(struct checklist_report *r, const struct schema *s,
			 const struct dataset *d, const float *p, const struct checklist_gates *g,
			 struct err *e)
{
	struct segments_column *cols = malloc((g->ncolumns ? g->ncolumns : 1) * sizeof *cols);
	size_t ncols = 0;
	struct text skipped;
	if (!cols || !text_open(&skipped)) {
		free(cols);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	for (size_t i = 0; i < g->ncolumns; i++) {
		if (!g->columns_configured && schema_find(s, g->columns[i].name) < 0) {
			fprintf(skipped.f, "%s'%s'", ftell(skipped.f) ? ", " : "", g->columns[i].name);
			continue;
		}
		cols[ncols++] = g->columns[i];
	}
	char *skip = text_take(&skipped);
	int rc = segments_compute(s, d->x, d->y, p, d->nrows, r->threshold, cols, ncols,
				  (size_t)g->segment_min_size, &r->segments, e);
	free(cols);
	if (rc) {
		free(skip);
		return rc;
	}
	double gate = g->roc_auc_min - g->segment_tolerance;
	double worst = NAN;
	size_t judged = 0, failed = 0;
	struct text t;
	if (!text_open(&t)) {
		free(skip);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	for (size_t i = 0; i < r->segments.ngroups; i++) {
		const struct segments_group *sg = &r->segments.groups[i];
		char auc[32], rec[32];
		fprintf(t.f, "%s%s=%s: %zu rows, %zu churned, ROC-AUC %s, recall %s", i ? "; " : "",
			sg->column, sg->label, sg->n, sg->positives,
			undefined_text(sg->roc_auc, auc, sizeof auc),
			undefined_text(sg->recall, rec, sizeof rec));
		if (!sg->judged) {
			fprintf(t.f, " (not judged: %s)",
				sg->n < (size_t)g->segment_min_size ? "too few rows" : "one class");
			continue;
		}
		judged++;
		if (isnan(worst) || sg->roc_auc < worst)
			worst = sg->roc_auc;
		if (sg->roc_auc < gate) {
			failed++;
			fprintf(t.f, " BELOW GATE");
		}
	}
	if (skip && *skip)
		fprintf(t.f, "%sdefault columns not in the schema, skipped: %s", r->segments.ngroups ? "; " : "",
			skip);
	free(skip);
	char *thr = fmt(">= %g (roc_auc gate %g - tolerance %g) in each segment of >= %ld rows",
			gate, g->roc_auc_min, g->segment_tolerance, g->segment_min_size);
	enum checklist_status st = judged == 0 ? CHECKLIST_PENDING
				   : failed    ? CHECKLIST_FAIL
					       : CHECKLIST_PASS;
	if (judged == 0)
		fprintf(t.f, "; no segment large enough to judge");
	set_item(r, CL_SEGMENTS, st, worst, thr, text_take(&t));
	return 0;
}

static int item_fairness(struct checklist_report *r, const struct schema *s,
			 const struct dataset *d, const float *p, const struct checklist_gates *g,
			 struct err *e)
{
	r->fairness = calloc(g->nattributes ? g->nattributes : 1, sizeof *r->fairness);
	if (!r->fairness)
		return err_set(e, EXIT_INPUT, "out of memory");
	struct text t;
	if (!text_open(&t))
		return err_set(e, EXIT_INPUT, "out of memory");
	double worst = NAN;
	size_t judged = 0, failed = 0;
	for (size_t i = 0; i < g->nattributes; i++) {
		const char *a = g->attributes[i];
		if (!g->attributes_configured && schema_find(s, a) < 0) {
			fprintf(t.f, "%s%s: not in the schema, skipped", ftell(t.f) ? "; " : "", a);
			continue;
		}
		struct segments_fairness *f = &r->fairness[r->nfairness];
		int rc = segments_fairness(s, d->x, d->y, p, d->nrows, r->threshold, a,
					   (size_t)g->segment_min_size, g->fairness_min, f, e);
		if (rc) {
			free(text_take(&t));
			return rc;
		}
		r->nfairness++;
		char rr[32], pr[32];
		fprintf(t.f, "%s%s: recall ratio %s, positive-rate ratio %s over", ftell(t.f) ? "; " : "",
			a, undefined_text(f->recall_ratio, rr, sizeof rr),
			undefined_text(f->positive_rate_ratio, pr, sizeof pr));
		for (size_t k = 0; k < f->groups.ngroups; k++) {
			const struct segments_group *sg = &f->groups.groups[k];
			char rec[32];
			fprintf(t.f, "%s %s=%s (%zu rows, recall %s, positive rate %.4f)", k ? "," : "",
				a, sg->label, sg->n, undefined_text(sg->recall, rec, sizeof rec),
				sg->positive_rate);
		}
		if (!f->judged) {
			fprintf(t.f, " (not judged: fewer than two groups of >= %ld rows with churners)",
				g->segment_min_size);
			continue;
		}
		judged++;
		double m = fmin(f->recall_ratio, f->positive_rate_ratio);
		if (isnan(worst) || m < worst)
			worst = m;
		if (!f->pass) {
			failed++;
			fprintf(t.f, " BELOW %g", g->fairness_min);
		}
	}
	enum checklist_status st = judged == 0 ? CHECKLIST_PENDING
				   : failed    ? CHECKLIST_FAIL
					       : CHECKLIST_PASS;
	set_item(r, CL_FAIRNESS, st, worst,
		 fmt(">= %g for both ratios (four-fifths rule)", g->fairness_min), text_take(&t));
	return 0;
}

static void item_business(struct checklist_report *r, const struct schema *s,
			  const struct dataset *d, const float *p, const struct checklist_gates *g)
{
	struct err be = {0};
	char *thr = fmt("net value > %g", g->business_min);
	if (segments_business(s, d->x, d->y, p, d->nrows, &g->business, &r->business, &be)) {
		/* The default value column missing means another data set:
		 * pending until configured; a configured one is wrong. */
		set_item(r, CL_BUSINESS_IMPACT, g->value_column ? CHECKLIST_FAIL : CHECKLIST_PENDING,
			 NAN, thr, fmt("not simulated: %s", be.msg));
		return;
	}
	r->has_business = true;
	const struct segments_business *b = &r->business;
	char l1[32];
	set_item(r, CL_BUSINESS_IMPACT, b->net > g->business_min ? CHECKLIST_PASS : CHECKLIST_FAIL,
		 b->net, thr,
		 fmt("contacting the top %g %% by score (%zu of %zu, %zu of them churners) at %g "
		     "each, %g %% accepting, value = %s x %g months: expected saved %.2f, cost "
		     "%.2f, net %.2f vs 0 contacting nobody and %.2f targeting at random (%+.2f); "
		     "lift in the top decile %s",
		     b->opts.top_k * 100, b->contacted, b->rows, b->churners_contacted,
		     b->opts.contact_cost, b->opts.acceptance_rate * 100, b->opts.value_column,
		     b->opts.horizon_months, b->saved, b->cost, b->net, b->random_net,
		     b->net_vs_random, undefined_text(b->decile_lift[0], l1, sizeof l1)));
}

/* stakeholder_approval from the sign-offs: pass when there is one. */
static void judge_manual(enum checklist_status *st, char **evidence,
			 const struct store_signoff *v, size_t n, const char *id)
{
	struct text t;
	size_t count = 0;
	if (!text_open(&t)) {
		*st = CHECKLIST_MANUAL;
		*evidence = NULL;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].item, id) != 0)
			continue;
		fprintf(t.f, "%ssigned off by %s at %s%s%s", count ? "; " : "", v[i].by, v[i].at,
			*v[i].note ? ": " : "", v[i].note);
		count++;
	}
	if (!count)
		fprintf(t.f, "not signed off for this artifact: churnops checklist signoff --model DIR --item %s --by NAME",
			id);
	*st = count ? CHECKLIST_PASS : CHECKLIST_MANUAL;
	*evidence = text_take(&t);
}

/* model_card: DIR/model_card.md names SHA256. */
static void judge_card(enum checklist_status *st, char **evidence, const char *dir,
		       const char *sha256)
{
	char *path = fmt("%s/model_card.md", dir);
	char *text = NULL;
	size_t len;
	struct err ignored = {0};
	if (!path || !fileio_exists(path) ||
	    fileio_read_all(path, 16u << 20, &text, &len, &ignored) != 0) {
		*st = CHECKLIST_PENDING;
		*evidence = fmt("no %s: churnops card --model DIR --output DIR/model_card.md",
				path ? path : "model_card.md");
	} else if (!strstr(text, sha256)) {
		*st = CHECKLIST_PENDING;
		*evidence = fmt("%s does not name this artifact's sha256 (written for another "
				"version?): generate it again",
				path);
	} else {
		*st = CHECKLIST_PASS;
		*evidence = fmt("%s names sha256 %.12s...", path, sha256);
	}
	free(path);
	free(text);
}

static void items_static(struct checklist_report *r, const struct checklist_opts *o)
{
	enum checklist_status st;
	char *ev;
	judge_manual(&st, &ev, r->signoffs, r->nsignoffs, "stakeholder_approval");
	set_item(r, CL_STAKEHOLDER_APPROVAL, st, NAN, fmt("signed off with name, time, note"), ev);
	judge_card(&st, &ev, o->model_dir, r->sha256);
	set_item(r, CL_MODEL_CARD, st, NAN, fmt("card exists for this version"), ev);
}

/* --- operational items ------------------------------------------------ */

void checklist_item_finish(struct checklist_item *it)
{
	if (!it)
		return;
	free(it->value_text);
	free(it->threshold);
	free(it->evidence);
	it->value_text = it->threshold = it->evidence = NULL;
	it->has_value = false;
}

static void fill_item(struct checklist_item *it, enum checklist_item_id id,
		      enum checklist_status st, double value, char *threshold, char *evidence)
{
	checklist_item_finish(it);
	it->def = &checklist_defs[id];
	it->status = st;
	it->has_value = !isnan(value);
	it->value = value;
	it->threshold = threshold;
	it->evidence = evidence;
}

size_t checklist_series_with_data(const struct prom_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nseries; i++) {
		const struct prom_series *s = &r->series[i];
		for (size_t k = 0; k < s->nsamples; k++) {
			if (!isnan(s->samples[k].v)) {
				n++;
				break;
			}
		}
	}
	return n;
}

#define MONITORING_GATE "Prometheus reachable and each trigger query returns data"

void checklist_judge_monitoring(struct checklist_item *it, const char *env, const char *url,
				const char *unavailable, const struct checklist_probe *p,
				size_t n)
{
	if (unavailable) {
		fill_item(it, CL_MONITORING, CHECKLIST_PENDING, NAN, fmt(MONITORING_GATE),
			  fmt("%s", unavailable));
		return;
	}
	size_t with = 0;
	for (size_t i = 0; i < n; i++)
		with += !p[i].error && p[i].nseries > 0;
	struct text t;
	if (!text_open(&t)) {
		fill_item(it, CL_MONITORING, CHECKLIST_FAIL, NAN, NULL, NULL);
		return;
	}
	if (n == 0) {
		fprintf(t.f, "Prometheus at %s, but no trigger is configured for %s: nothing to watch",
			url, env);
	} else if (with == n) {
		fprintf(t.f, "Prometheus at %s answers every trigger query for %s:", url, env);
		for (size_t i = 0; i < n; i++)
			fprintf(t.f, "%s %s (%zu series)", i ? "," : "", p[i].metric, p[i].nseries);
	} else {
		fprintf(t.f, "Prometheus at %s answers, but %zu of %zu trigger queries for %s return no data:",
			url, n - with, n, env);
		const char *sep = " ";
		for (size_t i = 0; i < n; i++) {
			if (!p[i].error && p[i].nseries > 0)
				continue;
			fprintf(t.f, "%s%s", sep, p[i].metric);
			sep = ", ";
		}
		for (size_t i = 0; i < n; i++) {
			if (!p[i].error && p[i].nseries > 0)
				continue;
			fprintf(t.f, "; %s: %s", p[i].metric,
				p[i].error ? p[i].error : "no series with a value (nothing, or only NaN)");
			if (p[i].query)
				fprintf(t.f, " (query: %s)", p[i].query);
		}
	}
	fill_item(it, CL_MONITORING, n && with == n ? CHECKLIST_PASS : CHECKLIST_FAIL,
		  (double)with, fmt(MONITORING_GATE " (%zu of %zu)", n, n), text_take(&t));
}

void checklist_judge_rollback(struct checklist_item *it, const char *env, const char *registry,
			      const char *sha256, const char *unavailable,
			      const struct checklist_rollback_candidate *c, size_t n)
{
	static const char gate[] = "a rollback target exists in the registry";
	if (unavailable) {
		fill_item(it, CL_ROLLBACK_PLAN, CHECKLIST_PENDING, NAN, fmt("%s", gate),
			  fmt("%s", unavailable));
		return;
	}
	const struct checklist_rollback_candidate *pick = NULL;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		any |= c[i].label != NULL;
		if (!pick && c[i].label && !c[i].problem &&
		    strcasecmp(c[i].sha256 ? c[i].sha256 : "", sha256) != 0)
			pick = &c[i];
	}
	struct text t;
	if (!text_open(&t)) {
		fill_item(it, CL_ROLLBACK_PLAN, CHECKLIST_FAIL, NAN, NULL, NULL);
		return;
	}
	if (pick) {
		fprintf(t.f, "rollback target for %s in %s: %s, %s (sha256 %.12s...)", env, registry,
			pick->label, pick->role, pick->sha256 ? pick->sha256 : "");
	} else if (!any) {
		fprintf(t.f, "no rollback target in %s: it holds no %s version, so this would be the "
			"first %s version, with nothing to roll back to", registry, env, env);
	} else {
		fprintf(t.f, "no rollback target in %s for %s", registry, env);
	}
	for (size_t i = 0; i < n; i++) {
		if (&c[i] == pick)
			break;
		bool self = c[i].label && strcasecmp(c[i].sha256 ? c[i].sha256 : "", sha256) == 0;
		if (!pick && !any && !c[i].problem)
			continue;
		fprintf(t.f, "; %s%s%s: %s", c[i].role, c[i].label ? " " : "",
			c[i].label ? c[i].label : "",
			self ? "is the artifact being validated"
			     : c[i].problem ? c[i].problem : "not usable");
	}
	fill_item(it, CL_ROLLBACK_PLAN, pick ? CHECKLIST_PASS : CHECKLIST_FAIL, NAN,
		  fmt("%s", gate), text_take(&t));
	if (pick && pick->label)
		it->value_text = strdup(pick->label);
}

void checklist_judge_thresholds(struct checklist_item *it, const struct trigger_config *c,
				const char *source, const char *error)
{
	if (!c) {
		fill_item(it, CL_ALERT_THRESHOLDS, CHECKLIST_FAIL, NAN,
			  fmt("every trigger has a threshold"),
			  fmt("%s", error ? error : "no trigger configuration"));
		return;
	}
	size_t ntrig = 0, with = 0, noff = 0;
	for (size_t i = 0; i < c->ndefs; i++) {
		ntrig += c->defs[i].has_trigger;
		with += c->defs[i].has_trigger && isfinite(c->defs[i].threshold);
	}
	struct text t;
	if (!text_open(&t)) {
		fill_item(it, CL_ALERT_THRESHOLDS, CHECKLIST_FAIL, NAN, NULL, NULL);
		return;
	}
	if (source)
		fprintf(t.f, "triggers of %s:", source);
	else
		fprintf(t.f, "built-in triggers:");
	const char *sep = " ";
	for (size_t i = 0; i < c->ndefs; i++) {
		const struct trigger_def *d = &c->defs[i];
		if (!d->has_trigger)
			continue;
		char cond[128];
		triggers_format_condition(d, "", cond, sizeof cond);
		fprintf(t.f, "%s%s %s%s", sep, d->name, isfinite(d->threshold) ? cond : "",
			isfinite(d->threshold) ? "" : "without a threshold");
		sep = "; ";
	}
	if (!ntrig)
		fprintf(t.f, " none");
	for (size_t g = 0; g < sizeof guide_triggers / sizeof guide_triggers[0]; g++) {
		bool on = false;
		for (size_t i = 0; i < c->ndefs; i++)
			on |= c->defs[i].has_trigger && strcmp(c->defs[i].name, guide_triggers[g]) == 0;
		if (!on)
			fprintf(t.f, "%s%s", noff++ ? ", " : ". Switched off, though the deployment guide "
							      "asks for it: ",
				guide_triggers[g]);
	}
	sep = ". Monitored without a trigger: ";
	for (size_t i = 0; i < c->ndefs; i++) {
		if (c->defs[i].has_trigger)
			continue;
		fprintf(t.f, "%s%s", sep, c->defs[i].name);
		sep = ", ";
	}
	bool ok = ntrig > 0 && with == ntrig && noff == 0;
	fill_item(it, CL_ALERT_THRESHOLDS, ok ? CHECKLIST_PASS : CHECKLIST_FAIL, (double)with,
		  fmt("every trigger has a threshold (%zu of %zu)", ntrig, ntrig), text_take(&t));
}

void checklist_context_close(struct checklist_context *x)
{
	if (!x)
		return;
	registry_destroy(x->reg);
	prom_client_destroy(x->prom);
	triggers_config_finish(&x->triggers);
	free(x->env);
	free(x->triggers_path);
	free(x->triggers_error);
	free(x->prom_note);
	free(x->reg_note);
	memset(x, 0, sizeof *x);
}

int checklist_context_open(struct checklist_context *x, const struct checklist_context_opts *o,
			   struct err *e)
{
	memset(x, 0, sizeof *x);
	struct err le = {0};
	int rc = 0;
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	x->env = strdup(o->env ? o->env : CHECKLIST_DEFAULT_ENV);
	x->triggers_path = o->triggers ? strdup(o->triggers) : triggers_default_path();
	if (!x->env || (o->triggers && !x->triggers_path)) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (triggers_config_load(&x->triggers, x->triggers_path, &le) == 0) {
		x->has_triggers = true;
	} else if (o->triggers) {
		rc = err_set(e, le.code ? le.code : EXIT_INPUT, "%s", le.msg);
		goto out;
	} else {
		/* The environments still resolve, by their built-in names. */
		x->triggers_error = strdup(le.msg);
		triggers_config_finish(&x->triggers);
		if ((rc = triggers_config_defaults(&x->triggers, e)))
			goto out;
	}
	x->tenv = triggers_config_env(&x->triggers, x->env);
	if (!x->tenv) {
		char names[256] = "";
		for (size_t i = 0; i < x->triggers.nenvs; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 i ? ", " : "", x->triggers.envs[i].name);
		rc = err_set(e, EXIT_INPUT, "unknown environment '%s' (%s)", x->env, names);
		goto out;
	}

	struct prom_options po = {.url = x->tenv->prometheus_url, .timeout_ms = timeout};
	config_prom_options(config_current(), &po);
	if (o->prometheus)
		po.url = o->prometheus;
	err_clear(&le);
	if (!po.url || !*po.url) {
		x->prom_note = fmt("no Prometheus configured for %s: set PROMETHEUS_URL, give "
				   "--prometheus URL or the environment's \"prometheus\" in the "
				   "triggers file",
				   x->env);
	} else if (!(x->prom = prom_client_create(&po, &le))) {
		if (o->prometheus) {
			rc = err_set(e, le.code ? le.code : EXIT_INPUT, "%s", le.msg);
			goto out;
		}
		x->prom_note = fmt("no usable Prometheus for %s: %s", x->env, le.msg);
	} else if (o->cancel) {
		prom_client_set_cancel(x->prom, o->cancel);
	}

	err_clear(&le);
	if (!o->store) {
		x->reg_note = fmt("no registry to ask (no store open)");
	} else {
		struct registry_choice ch = {.timeout_ms = timeout};
		x->reg = registry_open_configured(o->store, config_current(), &ch, &le);
	}
	if (o->store && !x->reg)
		x->reg_note = fmt("no registry could be opened: %s", le.msg);
out:
	if (rc)
		checklist_context_close(x);
	return rc;
}

/* rollback_plan: asks X's registry for the candidates in the order
 * checklist_judge_rollback() weighs them. *CURRENT receives the label of the
 * version X's environment holds now (newly allocated), or NULL. */
static void gather_rollback(struct checklist_item *it, struct checklist_context *x,
			    const char *sha256, char **current)
{
	*current = NULL;
	const char *env = x ? x->env : CHECKLIST_DEFAULT_ENV;
	if (!x || !x->reg) {
		checklist_judge_rollback(it, env, "", sha256,
					 x ? x->reg_note : "no registry given to the checklist",
					 NULL, 0);
		return;
	}
	char *where = fmt("the %s registry (%s)", registry_backend(x->reg),
			  registry_location(x->reg));
	char *unavailable = NULL;
	char *problem[3] = {0};
	struct registry_version v[3] = {{0}};
	struct checklist_rollback_candidate c[3];
	size_t n = 0;
	struct err le = {0};
	enum registry_stage stage;
	bool found = false;
	if (!registry_stage_parse(x->env, &stage) ||
	    (stage != REGISTRY_STAGE_STAGING && stage != REGISTRY_STAGE_PRODUCTION)) {
		unavailable = fmt("%s has stages staging and production, none for the environment %s",
				  where, x->env);
		goto judge;
	}
	bool prod = stage == REGISTRY_STAGE_PRODUCTION;
	if (registry_stage_holder(x->reg, stage, &v[0], &found, &le)) {
		unavailable = fmt("%s did not answer: %s", where, le.msg);
		goto judge;
	}
	bool holds_self = false;
	if (found) {
		*current = strdup(v[0].label[0] ? v[0].label : v[0].version);
		holds_self = strcasecmp(v[0].sha256, sha256) == 0;
		if (!holds_self && registry_verify(x->reg, &v[0], &le))
			problem[0] = strdup(le.msg);
		c[n++] = (struct checklist_rollback_candidate){
			prod ? "the current production version" : "the current staging version",
			v[0].label[0] ? v[0].label : v[0].version, v[0].sha256, problem[0]};
	}
	if (prod) {
		err_clear(&le);
		if (registry_get_alias(x->reg, REGISTRY_ALIAS_LKG, &v[1], &found, &le)) {
			unavailable = fmt("%s did not answer: %s", where, le.msg);
			goto judge;
		}
		if (found) {
			if (strcasecmp(v[1].sha256, sha256) != 0 && registry_verify(x->reg, &v[1], &le))
				problem[1] = strdup(le.msg);
			c[n++] = (struct checklist_rollback_candidate){
				"the last-known-good version", v[1].label[0] ? v[1].label : v[1].version,
				v[1].sha256, problem[1]};
		}
	}
	if (prod && holds_self) {
		err_clear(&le);
		int rc = registry_rollback_target(x->reg, "previous", &v[2], &le);
		if (rc == EXIT_BACKEND) {
			unavailable = fmt("%s did not answer: %s", where, le.msg);
			goto judge;
		}
		if (rc)
			problem[2] = strdup(le.msg);
		c[n++] = (struct checklist_rollback_candidate){
			"the previous production version",
			rc ? NULL : v[2].label[0] ? v[2].label : v[2].version, v[2].sha256,
			problem[2]};
	}
judge:
	checklist_judge_rollback(it, x->env, where ? where : "the registry", sha256, unavailable,
				 c, n);
	for (size_t i = 0; i < 3; i++) {
		free(problem[i]);
		registry_version_finish(&v[i]);
	}
	free(unavailable);
	free(where);
}

/* monitoring: every trigger query of X's environment as an instant query.
 * A first query that gets no answer at all (the http layer's words, "POST
 * URL: ...", rather than Prometheus' own error) means the server is not
 * there: no point waiting for the rest. */
static void gather_monitoring(struct checklist_item *it, struct checklist_context *x,
			      const char *version)
{
	if (!x || !x->prom) {
		checklist_judge_monitoring(it, x ? x->env : CHECKLIST_DEFAULT_ENV, "",
					   x ? x->prom_note : "no Prometheus given to the checklist",
					   NULL, 0);
		return;
	}
	const char *url = prom_client_url(x->prom);
	if (!x->has_triggers) {
		char *why = fmt("Prometheus at %s, but the triggers file did not load, so there are "
				"no trigger queries to run: %s",
				url, x->triggers_error ? x->triggers_error : "");
		checklist_judge_monitoring(it, x->env, url, why ? why : "no triggers", NULL, 0);
		free(why);
		return;
	}
	size_t n = 0, nd = x->triggers.ndefs;
	struct checklist_probe *p = calloc(nd ? nd : 1, sizeof *p);
	char **queries = calloc(nd ? nd : 1, sizeof *queries);
	char **errors = calloc(nd ? nd : 1, sizeof *errors);
	char *unavailable = NULL;
	bool answered = false;
	if (!p || !queries || !errors) {
		unavailable = fmt("out of memory");
		goto judge;
	}
	for (size_t i = 0; i < nd; i++) {
		const struct trigger_def *d = &x->triggers.defs[i];
		if (!d->has_trigger)
			continue;
		struct err le = {0};
		struct checklist_probe *q = &p[n++];
		q->metric = d->name;
		if (!(queries[i] = triggers_expand(&x->triggers, d, x->tenv, version, &le))) {
			q->error = errors[i] = strdup(le.msg);
			continue;
		}
		q->query = queries[i];
		struct prom_result r = {0};
		if (prom_query(x->prom, queries[i], 0, &r, &le) == 0) {
			answered = true;
			q->nseries = checklist_series_with_data(&r);
		} else if (!answered && strncmp(le.msg, "prometheus: POST ", 17) == 0) {
			unavailable = fmt("Prometheus at %s did not answer: %s", url, le.msg);
		} else {
			q->error = errors[i] = strdup(le.msg);
		}
		prom_result_finish(&r);
		if (unavailable)
			break;
	}
judge:
	checklist_judge_monitoring(it, x->env, url, unavailable, p, n);
	for (size_t i = 0; queries && errors && i < nd; i++) {
		free(queries[i]);
		free(errors[i]);
	}
	free(queries);
	free(errors);
	free(p);
	free(unavailable);
}

/* The three operational items of the artifact SHA256 against X (NULL: no
 * context). */
static void judge_operational(struct checklist_item *mon, struct checklist_item *rb,
			      struct checklist_item *thr, struct checklist_context *x,
			      const char *sha256)
{
	char *current = NULL;
	gather_rollback(rb, x, sha256, &current);
	gather_monitoring(mon, x, current);
	free(current);
	if (x) {
		checklist_judge_thresholds(thr, x->has_triggers ? &x->triggers : NULL,
					   x->triggers_path, x->triggers_error);
		return;
	}
	struct trigger_config c;
	struct err le = {0};
	if (triggers_config_defaults(&c, &le) == 0)
		checklist_judge_thresholds(thr, &c, NULL, NULL);
	else
		checklist_judge_thresholds(thr, NULL, NULL, le.msg);
	triggers_config_finish(&c);
}

static enum checklist_status verdict_of(const enum checklist_status *st, size_t n)
{
	bool pending = false;
	for (size_t i = 0; i < n; i++) {
		if (st[i] == CHECKLIST_FAIL)
			return CHECKLIST_FAIL;
		pending |= st[i] != CHECKLIST_PASS;
	}
	return pending ? CHECKLIST_PENDING : CHECKLIST_PASS;
}

void checklist_report_finish(struct checklist_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++) {
		free(r->items[i].value_text);
		free(r->items[i].threshold);
		free(r->items[i].evidence);
	}
	free(r->model_dir);
	free(r->data);
	free(r->env);
	free(r->objective);
	segments_report_finish(&r->segments);
	for (size_t i = 0; i < r->nfairness; i++)
		segments_fairness_finish(&r->fairness[i]);
	free(r->fairness);
	free(r->scores);
	free(r->labels);
	store_signoffs_free(r->signoffs, r->nsignoffs);
	memset(r, 0, sizeof *r);
}

static void stage(const struct checklist_opts *o, const char *what, int step)
{
	if (o->progress)
		o->progress(o->progress_ud, what, step, CHECKLIST_STAGES);
}

int checklist_run(const struct checklist_opts *o, struct checklist_report *r, struct err *e)
{
	memset(r, 0, sizeof *r);
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++) {
		r->items[i].def = &checklist_defs[i];
		r->items[i].status = CHECKLIST_PENDING;
	}
	r->model_dir = strdup(o->model_dir);
	r->data = strdup(o->data);
	r->env = strdup(o->context ? o->context->env : CHECKLIST_DEFAULT_ENV);
	r->peak_rss_mb = NAN;
	model_library_version(r->library_version, sizeof r->library_version);
	char *schema_path = fmt("%s/schema.json", o->model_dir);
	char *model_path = fmt("%s/model.json", o->model_dir);
	char *eval_path = fmt("%s/eval.json", o->model_dir);
	struct schema *s = NULL;
	struct model *m = NULL;
	cJSON *eval = NULL;
	struct dataset d = {0};
	char *unseen = NULL;
	float *p = NULL;
	int rc = 0;
	if (!r->model_dir || !r->data || !r->env || !schema_path || !model_path || !eval_path) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	const struct checklist_gates *g = o->gates;
	stage(o, "loading the model and the test file", 1);
	if (!(s = schema_load(schema_path, e)) || !(m = model_load(model_path, s, e))) {
		rc = e && e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	snprintf(r->sha256, sizeof r->sha256, "%s", model_sha256(m));
	if (o->store && (rc = store_list_signoffs(o->store, r->sha256, &r->signoffs,
						  &r->nsignoffs, e)))
		goto out;
	if (fileio_exists(eval_path) && !(eval = json_load_file(eval_path, e))) {
		rc = e && e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	rc = dataset_load_report(o->data, s, &d, &unseen, e);
	if (rc)
		goto out;
	p = malloc(d.nrows * sizeof *p);
	if (!p) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	stage(o, "scoring the test file", 2);
	rc = model_predict(m, d.x, d.nrows, d.ncols, p, e);
	if (rc)
		goto out;

	r->rows = d.nrows;
	r->threshold = json_num(eval, "threshold", 0.5);
	r->roc_auc = metrics_roc_auc(p, d.y, d.nrows);
	r->pr_auc = metrics_pr_auc(p, d.y, d.nrows);
	r->confusion = metrics_confusion(p, d.y, d.nrows, r->threshold);
	r->positives = r->confusion.tp + r->confusion.fn;
	/* scikit-learn returns 0 (with a warning) for average precision
	 * without positives; a ranking of no churners has no precision to
	 * average, so the report says undefined. */
	if (r->positives == 0)
		r->pr_auc = NAN;
	r->precision = metrics_precision(r->confusion);
	r->recall = metrics_recall(r->confusion);
	r->f1 = metrics_f1(r->confusion);
	r->brier = metrics_brier(p, d.y, d.nrows);
	metrics_calibration(p, d.y, d.nrows, r->calibration, CHECKLIST_CAL_BINS);
	const char *one_class = r->positives ? "the test set has churners only"
					     : "the test set has no churners";
	judge_min(r, CL_ROC_AUC, r->roc_auc, g->roc_auc_min, one_class);
	judge_min(r, CL_PRECISION, r->precision, g->precision_min, "");
	judge_min(r, CL_RECALL, r->recall, g->recall_min, "");
	judge_min(r, CL_F1, r->f1, g->f1_min, "");
	item_cv(r, eval, g);
	stage(o, "measuring single-row latency", 3);
	rc = item_latency(r, m, &d, g, e);
	if (rc)
		goto out;
	stage(o, "measuring peak memory (a child process scores the file)", 4);
	item_memory(r, o);
	struct stat st;
	if (stat(model_path, &st) == 0) {
		r->artifact_bytes = (long long)st.st_size;
		double mb = (double)st.st_size / (1024.0 * 1024.0);
		set_item(r, CL_ARTIFACT_SIZE, mb < g->artifact_max_mb ? CHECKLIST_PASS : CHECKLIST_FAIL,
			 mb, fmt("< %g MB", g->artifact_max_mb),
			 fmt("%s: %lld bytes", model_path, (long long)st.st_size));
	} else {
		set_item(r, CL_ARTIFACT_SIZE, CHECKLIST_FAIL, NAN, fmt("< %g MB", g->artifact_max_mb),
			 fmt("%s: %s", model_path, strerror(errno)));
	}
	stage(o, "checking compatibility and the schema", 5);
	item_compatibility(r, m, s, model_path);
	item_schema(r, p, d.nrows, unseen);
	stage(o, "segments, fairness and business impact", 6);
	rc = item_segments(r, s, &d, p, g, e);
	if (!rc)
		rc = item_fairness(r, s, &d, p, g, e);
	if (rc)
		goto out;
	item_business(r, s, &d, p, g);
	items_static(r, o);
	stage(o, "checking monitoring, the rollback target and the triggers", 7);
	judge_operational(&r->items[CL_MONITORING], &r->items[CL_ROLLBACK_PLAN],
			  &r->items[CL_ALERT_THRESHOLDS], o->context, r->sha256);
	enum checklist_status sts[CHECKLIST_NITEMS];
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++)
		sts[i] = r->items[i].status;
	r->verdict = verdict_of(sts, CHECKLIST_NITEMS);
	r->scores = p;
	r->labels = d.y;
	p = NULL;
	d.y = NULL;
out:
	free(schema_path);
	free(model_path);
	free(eval_path);
	free(unseen);
	free(p);
	dataset_finish(&d);
	cJSON_Delete(eval);
	model_destroy(m);
	schema_destroy(s);
	if (rc)
		checklist_report_finish(r);
	return rc;
}

/* --- JSON ------------------------------------------------------------- */

static void add_num(cJSON *o, const char *key, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

static cJSON *metrics_json(const struct checklist_report *r)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "rows", (double)r->rows);
	cJSON_AddNumberToObject(m, "positives", (double)r->positives);
	cJSON_AddNumberToObject(m, "threshold", r->threshold);
	add_num(m, "roc_auc", r->roc_auc);
	add_num(m, "pr_auc", r->pr_auc);
	add_num(m, "precision", r->precision);
	add_num(m, "recall", r->recall);
	add_num(m, "f1", r->f1);
	cJSON *c = cJSON_AddObjectToObject(m, "confusion");
	cJSON_AddNumberToObject(c, "tp", (double)r->confusion.tp);
	cJSON_AddNumberToObject(c, "fp", (double)r->confusion.fp);
	cJSON_AddNumberToObject(c, "tn", (double)r->confusion.tn);
	cJSON_AddNumberToObject(c, "fn", (double)r->confusion.fn);
	add_num(m, "brier", r->brier);
	cJSON *cal = cJSON_AddArrayToObject(m, "calibration");
	for (size_t i = 0; i < CHECKLIST_CAL_BINS; i++) {
		const struct metrics_calibration_bin *b = &r->calibration[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "lo", b->lo);
		cJSON_AddNumberToObject(o, "hi", b->hi);
		cJSON_AddNumberToObject(o, "count", (double)b->count);
		add_num(o, "mean_predicted", b->mean_predicted);
		add_num(o, "fraction_positive", b->fraction_positive);
		cJSON_AddItemToArray(cal, o);
	}
	cJSON *lat = cJSON_AddObjectToObject(m, "latency_ms");
	add_num(lat, "p50", r->latency_p50_ms);
	add_num(lat, "p95", r->latency_p95_ms);
	add_num(lat, "p99", r->latency_p99_ms);
	cJSON_AddNumberToObject(lat, "calls", (double)r->latency_calls);
	add_num(m, "peak_rss_mb", r->peak_rss_mb);
	cJSON_AddNumberToObject(m, "artifact_bytes", (double)r->artifact_bytes);
	add_num(m, "score_min", r->rows ? r->score_min : NAN);
	add_num(m, "score_max", r->rows ? r->score_max : NAN);
	cJSON_AddItemToObject(m, "segments", segments_report_to_json(&r->segments));
	cJSON *fa = cJSON_AddArrayToObject(m, "fairness");
	for (size_t i = 0; i < r->nfairness; i++)
		cJSON_AddItemToArray(fa, segments_fairness_to_json(&r->fairness[i]));
	if (r->has_business)
		cJSON_AddItemToObject(m, "business_impact", segments_business_to_json(&r->business));
	else
		cJSON_AddNullToObject(m, "business_impact");
	cJSON *u = cJSON_AddObjectToObject(m, "undefined");
	const char *why = r->positives ? "only one class (all churned) in the test set"
				       : "only one class (none churned) in the test set";
	if (isnan(r->roc_auc))
		cJSON_AddStringToObject(u, "roc_auc", why);
	if (isnan(r->pr_auc))
		cJSON_AddStringToObject(u, "pr_auc", why);
	return m;
}

static cJSON *item_json(const struct checklist_item *it)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", it->def->id);
	cJSON_AddStringToObject(o, "section", it->def->section);
	cJSON_AddStringToObject(o, "title", it->def->title);
	cJSON_AddStringToObject(o, "status", checklist_status_name(it->status));
	if (it->has_value)
		cJSON_AddNumberToObject(o, "value", it->value);
	else if (it->value_text)
		cJSON_AddStringToObject(o, "value", it->value_text);
	else
		cJSON_AddNullToObject(o, "value");
	cJSON_AddStringToObject(o, "threshold", it->threshold ? it->threshold : "");
	cJSON_AddStringToObject(o, "unit", it->def->unit);
	cJSON_AddStringToObject(o, "evidence", it->evidence ? it->evidence : "");
	return o;
}

static cJSON *signoffs_json(const struct store_signoff *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "item", v[i].item);
		cJSON_AddStringToObject(o, "by", v[i].by);
		cJSON_AddStringToObject(o, "note", v[i].note);
		cJSON_AddStringToObject(o, "at", v[i].at);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

cJSON *checklist_to_json(const struct checklist_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "verdict", checklist_status_name(r->verdict));
	cJSON_AddStringToObject(o, "env", r->env ? r->env : CHECKLIST_DEFAULT_ENV);
	cJSON *m = cJSON_AddObjectToObject(o, "model");
	cJSON_AddStringToObject(m, "dir", r->model_dir ? r->model_dir : "");
	cJSON_AddStringToObject(m, "sha256", r->sha256);
	cJSON_AddStringToObject(m, "xgboost", r->library_version);
	cJSON_AddStringToObject(m, "objective", r->objective ? r->objective : "");
	cJSON_AddStringToObject(o, "data", r->data ? r->data : "");
	cJSON_AddItemToObject(o, "metrics", metrics_json(r));
	cJSON *items = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++)
		cJSON_AddItemToArray(items, item_json(&r->items[i]));
	cJSON_AddItemToObject(o, "signoffs", signoffs_json(r->signoffs, r->nsignoffs));
	return o;
}

static void replace_string(cJSON *obj, const char *key, const char *value)
{
	cJSON *s = cJSON_CreateString(value ? value : "");
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, s);
	else
		cJSON_AddItemToObject(obj, key, s);
}

/* The status named S ("pass", ...), pending for anything else. */
static enum checklist_status status_named(const char *s)
{
	for (int k = 0; k < 4; k++)
		if (s && strcmp(s, checklist_status_name((enum checklist_status)k)) == 0)
			return (enum checklist_status)k;
	return CHECKLIST_PENDING;
}

/* The verdict of REPORT's items as they now stand. */
static void rejudge_verdict(cJSON *report)
{
	enum checklist_status sts[CHECKLIST_NITEMS * 2];
	size_t nst = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(report, "items"))
	{
		if (nst < CHECKLIST_NITEMS * 2)
			sts[nst++] = status_named(json_str(it, "status"));
	}
	replace_string(report, "verdict", checklist_status_name(verdict_of(sts, nst)));
}

void checklist_refresh_json(cJSON *report, const char *model_dir, const char *sha256,
			    const struct store_signoff *signoffs, size_t n)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(report, "items");
	cJSON *it;
	cJSON_ArrayForEach(it, items)
	{
		const char *id = json_str(it, "id");
		enum checklist_status st = CHECKLIST_PENDING;
		char *ev = NULL;
		if (id && strcmp(id, "stakeholder_approval") == 0)
			judge_manual(&st, &ev, signoffs, n, id);
		else if (id && strcmp(id, "model_card") == 0)
			judge_card(&st, &ev, model_dir, sha256);
		else
			continue;
		replace_string(it, "status", checklist_status_name(st));
		replace_string(it, "evidence", ev);
		free(ev);
	}
	rejudge_verdict(report);
	cJSON_DeleteItemFromObjectCaseSensitive(report, "signoffs");
	cJSON_AddItemToObject(report, "signoffs", signoffs_json(signoffs, n));
}

void checklist_refresh_ops_json(cJSON *report, struct checklist_context *x)
{
	const char *sha = json_str(cJSON_GetObjectItemCaseSensitive(report, "model"), "sha256");
	struct checklist_item fresh[3] = {{0}};
	const enum checklist_item_id ids[3] = {CL_MONITORING, CL_ROLLBACK_PLAN,
					       CL_ALERT_THRESHOLDS};
	judge_operational(&fresh[0], &fresh[1], &fresh[2], x, sha ? sha : "");
	cJSON *items = cJSON_GetObjectItemCaseSensitive(report, "items");
	for (int i = cJSON_GetArraySize(items) - 1; i >= 0; i--) {
		const char *id = json_str(cJSON_GetArrayItem(items, i), "id");
		for (size_t k = 0; k < 3; k++) {
			if (id && strcmp(id, checklist_defs[ids[k]].id) == 0) {
				cJSON_ReplaceItemInArray(items, i, item_json(&fresh[k]));
				break;
			}
		}
	}
	for (size_t k = 0; k < 3; k++)
		checklist_item_finish(&fresh[k]);
	replace_string(report, "env", x ? x->env : CHECKLIST_DEFAULT_ENV);
	rejudge_verdict(report);
}
