/* overview: the first screen: what is known locally, and plainly which
 * backends are not there yet.
 *
 * The model versions and their hold-out and cross-validation figures come
 * from each version's eval.json, read by a worker. Panels whose backend is
 * not configured say so and where to read about it; no number is shown
 * that was not read from somewhere.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "json.h"
#include "prom.h"
#include "views.h"
#include "widgets.h"

#define NCOLS 8
#define MAX_FOLDS 32

struct version_figures {
	char *label, *dir;
	char *error;          /* why eval.json could not be read, or NULL */
	char cells[NCOLS][48];
	double folds[MAX_FOLDS];
	size_t nfolds;
	char detail[1024];
};

/* The snapshot a load job hands over: immutable once built. */
struct overview_snapshot {
	struct version_figures *v;
	size_t n;
	time_t read_at;
};

struct overview {
	struct console *console;
	struct overview_snapshot *snap;
	bool loading;
	unsigned long seq;
	struct widget_table table;
	int focus; /* 0 versions, 1 details */
	char context[128];
};

static const char *const headers[NCOLS] = {
	"version", "ROC-AUC", "PR-AUC", "precision", "recall", "F1", "CV ROC-AUC", "created",
};

static void snapshot_free(void *p)
{
	struct overview_snapshot *s = p;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].label);
		free(s->v[i].dir);
		free(s->v[i].error);
	}
	free(s->v);
	free(s);
}

static void fmt_metric(char *buf, size_t n, const cJSON *o, const char *key)
{
	if (json_has_num(o, key))
		snprintf(buf, n, "%.4f", json_num(o, key, NAN));
	else
		snprintf(buf, n, "-");
}

static void read_version(struct version_figures *f)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/eval.json", f->dir);
	struct err e = {0};
	cJSON *ev = json_load_file(path, &e);
	snprintf(f->cells[0], sizeof f->cells[0], "%s", f->label);
	if (!ev) {
		f->error = strdup(e.msg);
		for (int c = 1; c < NCOLS; c++)
			snprintf(f->cells[c], sizeof f->cells[c], "-");
		return;
	}
	fmt_metric(f->cells[1], sizeof f->cells[1], ev, "roc_auc");
	fmt_metric(f->cells[2], sizeof f->cells[2], ev, "pr_auc");
	fmt_metric(f->cells[3], sizeof f->cells[3], ev, "precision");
	fmt_metric(f->cells[4], sizeof f->cells[4], ev, "recall");
	fmt_metric(f->cells[5], sizeof f->cells[5], ev, "f1");
	const cJSON *cv = cJSON_GetObjectItemCaseSensitive(ev, "cv");
	if (json_has_num(cv, "roc_auc_mean"))
		snprintf(f->cells[6], sizeof f->cells[6], "%.4f \u00b1 %.4f",
			 json_num(cv, "roc_auc_mean", NAN), json_num(cv, "roc_auc_std", NAN));
	else
		snprintf(f->cells[6], sizeof f->cells[6], "no CV");
	const cJSON *folds = cJSON_GetObjectItemCaseSensitive(cv, "roc_auc");
	const cJSON *it;
	cJSON_ArrayForEach(it, folds)
	{
		if (f->nfolds < MAX_FOLDS)
			f->folds[f->nfolds++] = cJSON_IsNumber(it) ? it->valuedouble : NAN;
	}
	const char *created = json_str(ev, "created");
	snprintf(f->cells[7], sizeof f->cells[7], "%.16s", created ? created : "-");

	const cJSON *conf = cJSON_GetObjectItemCaseSensitive(ev, "confusion");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(ev, "params");
	snprintf(f->detail, sizeof f->detail,
		 "directory  %s\n"
		 "hold-out   %.0f rows, threshold %.2f\n"
		 "confusion  tp %.0f  fp %.0f  tn %.0f  fn %.0f\n"
		 "params     rounds %.0f, max_depth %.0f, eta %g, subsample %g\n"
		 "xgboost    %s",
		 f->dir, json_num(ev, "test_rows", NAN), json_num(ev, "threshold", NAN),
		 json_num(conf, "tp", NAN), json_num(conf, "fp", NAN),
		 json_num(conf, "tn", NAN), json_num(conf, "fn", NAN),
		 json_num(params, "rounds", NAN), json_num(params, "max_depth", NAN),
		 json_num(params, "eta", NAN), json_num(params, "subsample", NAN),
		 json_str(ev, "xgboost_version") ? json_str(ev, "xgboost_version") : "-");
	cJSON_Delete(ev);
}

struct load_arg {
	struct console_version *v; /* copies */
	size_t n;
};

static void load_arg_free(void *p)
{
	struct load_arg *a = p;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].label);
		free(a->v[i].dir);
	}
	free(a->v);
	free(a);
}

static void *load_run(void *arg, struct err *e)
{
	struct load_arg *a = arg;
	struct overview_snapshot *s = calloc(1, sizeof *s);
	if (!s || !(s->v = calloc(a->n ? a->n : 1, sizeof *s->v))) {
		free(s);
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	s->n = a->n;
	for (size_t i = 0; i < a->n; i++) {
		/* The strings move from the argument to the snapshot. */
		s->v[i].label = a->v[i].label;
		s->v[i].dir = a->v[i].dir;
		a->v[i].label = a->v[i].dir = NULL;
		read_version(&s->v[i]);
	}
	s->read_at = time(NULL);
	return s;
}

static const char *cell(void *ud, size_t row, size_t col)
{
	struct overview *o = ud;
	if (!o->snap || row >= o->snap->n || col >= NCOLS)
		return "";
	return o->snap->v[row].cells[col];
}

static void start_load(struct overview *o, struct tui_app *app)
{
	struct console *c = o->console;
	struct load_arg *a = calloc(1, sizeof *a);
	if (a)
		a->v = calloc(c->nversions ? c->nversions : 1, sizeof *a->v);
	if (!a || !a->v) {
		free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	a->n = c->nversions;
	for (size_t i = 0; i < c->nversions; i++) {
		a->v[i].label = strdup(c->versions[i].label);
		a->v[i].dir = strdup(c->versions[i].dir);
	}
	struct worker_job j = {
		.run = load_run, .free_arg = load_arg_free, .free_result = snapshot_free,
		.arg = a, .seq = ++o->seq,
	};
	struct err e = {0};
	if (tui_app_submit(app, o, &j, &e))
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
	else
		o->loading = true;
}

static void ov_show(void *state, struct tui_app *app)
{
	struct overview *o = state;
	if (!o->snap && !o->loading)
		start_load(o, app);
}

static void ov_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct overview *o = state;
	if (j->seq != o->seq)
		return;
	o->loading = false;
	if (!j->result) {
		tui_app_toast(app, ROLE_CRIT, "overview: %s", j->err.msg);
		return;
	}
	size_t keep = o->table.selected;
	char filter[sizeof o->table.filter];
	snprintf(filter, sizeof filter, "%s", o->table.filter);
	snapshot_free(o->snap);
	o->snap = j->result;
	j->result = NULL;
	if (!widget_table_set_rows(&o->table, o->snap->n)) {
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	/* Newest version first is what on-call wants to see selected. */
	o->table.selected = o->snap->n ? o->snap->n - 1 : 0;
	if (keep < o->snap->n && o->seq > 1)
		o->table.selected = keep;
	if (filter[0])
		widget_table_filter(&o->table, filter);
}

/* One line per backend: the cluster's environments at a glance (from the
 * deployments view's latest reads), then the registry and the metrics as
 * their views last read them, or that they are not configured.
 * Returns the lines used. */
static int draw_backends(struct console *c, struct tui_rect r)
{
	/* Where the registry and Prometheus are, as the configuration
	 * (core/config.h: file and environment) says; NULL: not configured. */
	const struct config *cfg = config_current();
	struct prom_options po = {0};
	config_prom_options(cfg, &po);
	static const char *const panels[] = {"registry", "metrics"};
	static const char *const vars[] = {"MLFLOW_TRACKING_URI", "PROMETHEUS_URL"};
	const char *where[] = {config_mlflow(cfg).url, po.url};
	int y = 0;
	size_t nenv = deployments_env_count(c->deployments);
	for (size_t i = 0; i < nenv && y < r.h; i++) {
		char line[1024];
		enum tui_role role = deployments_env_health(c->deployments, i, line, sizeof line);
		int used = widget_text(r.y + y, r.x, r.w, ROLE_MUTED, "cluster ");
		widget_text(r.y + y++, r.x + used, r.w - used, role, line);
	}
	for (size_t i = 0; i < 2 && y < r.h; i++) {
		const char *v = where[i], *by_env = NULL;
		char line[1024], set[64];
		if (getenv(vars[i]) && *getenv(vars[i])) {
			snprintf(set, sizeof set, "%s is set", vars[i]);
			by_env = set;
		}
		enum tui_role role = ROLE_NORMAL;
		/* What the registry and metrics views last read, when they have
		 * something to say. */
		if (i == 0 ? registry_view_summary(c->registry, line, sizeof line, &role)
			   : metrics_view_summary(c->metrics, line, sizeof line, &role))
			widget_text(r.y + y++, r.x, r.w, role, line);
		else if (v && *v)
			widget_printf(r.y + y++, r.x, r.w, ROLE_STALE,
				      "%s: %s - nothing read from it yet", panels[i],
				      by_env ? by_env : "configured in the file");
		else
			widget_printf(r.y + y++, r.x, r.w, ROLE_MUTED,
				      "%s: not configured - see churnops(1) CONFIGURATION",
				      panels[i]);
	}
	return y;
}

static void ov_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct overview *o = state;
	struct console *c = o->console;
	(void)app;
	/* The metric sparklines, when the screen has room for them and
	 * Prometheus has answered. */
	int spark_h = area.h >= 34 ? metrics_view_sparkline_rows(c->metrics) : 0;
	int backends_h = 3 + (int)deployments_env_count(c->deployments) + 2 + spark_h;
	int detail_h = area.h >= 24 ? 9 : 0;
	struct tui_rect top = {area.y, area.x, area.h - backends_h - detail_h, area.w};
	char title[256];
	if (o->snap) {
		char when[16];
		struct tm tm;
		localtime_r(&o->snap->read_at, &tm);
		strftime(when, sizeof when, "%H:%M:%S", &tm);
		snprintf(title, sizeof title, "model versions (local, %zu) - read %s%s%s",
			 o->snap->n, when, o->table.filter[0] ? " - filter: " : "",
			 o->table.filter);
	} else {
		snprintf(title, sizeof title, "model versions (local)");
	}
	struct tui_rect in = widget_box(top, title, o->focus == 0);
	if (c->nversions == 0) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_WARN,
			    "no model versions found locally");
		widget_printf(in.y + 1, in.x + 1, in.w - 2, ROLE_MUTED, "looked in %s",
			      c->models_root ? c->models_root : "(nowhere)");
		widget_text(in.y + 2, in.x + 1, in.w - 2, ROLE_MUTED,
			    "run 'churnops demo' for a demo workspace, or open a model "
			    "with 'churnops --model DIR'");
	} else if (!o->snap) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_STALE, "reading eval.json files...");
	} else {
		widget_table_draw(&o->table, (struct tui_rect){in.y, in.x + 1, in.h, in.w - 2},
				  o->focus == 0);
	}
	size_t cur = widget_table_current(&o->table);
	int y = top.y + top.h;
	if (detail_h) {
		struct tui_rect d = {y, area.x, detail_h, area.w};
		char dt[96];
		const struct version_figures *f = o->snap && cur < o->snap->n ? &o->snap->v[cur] : NULL;
		snprintf(dt, sizeof dt, "version %s", f ? f->label : "-");
		struct tui_rect di = widget_box(d, dt, o->focus == 1);
		if (f && f->error) {
			widget_text(di.y, di.x + 1, di.w - 2, ROLE_CRIT, f->error);
		} else if (f) {
			size_t starts[8], lens[8];
			size_t nl = layout_wrap(f->detail, di.w - 2, starts, lens, 8);
			for (size_t i = 0; i < nl && i < 8 && (int)i < di.h - 1; i++) {
				char line[1024];
				memcpy(line, f->detail + starts[i], lens[i]);
				line[lens[i]] = '\0';
				widget_text(di.y + (int)i, di.x + 1, di.w - 2, ROLE_NORMAL, line);
			}
			if (f->nfolds) {
				int yy = di.y + di.h - 1;
				int x = di.x + 1 + widget_text(yy, di.x + 1, di.w - 2, ROLE_MUTED,
							       "CV folds ROC-AUC ");
				widget_sparkline(yy, x, f->folds, f->nfolds, ROLE_ACCENT);
				char range[64];
				double lo = INFINITY, hi = -INFINITY;
				for (size_t k = 0; k < f->nfolds; k++) {
					lo = fmin(lo, f->folds[k]);
					hi = fmax(hi, f->folds[k]);
				}
				snprintf(range, sizeof range, " %zu folds, %.4f..%.4f", f->nfolds, lo, hi);
				widget_text(yy, x + (int)f->nfolds, di.w - 2 - (x - di.x) - (int)f->nfolds,
					    ROLE_MUTED, range);
			}
		}
		y += detail_h;
	}
	struct tui_rect b = {y, area.x, backends_h, area.w};
	struct tui_rect bi = widget_box(b, "backends", false);
	int used = draw_backends(c, (struct tui_rect){bi.y, bi.x + 1, bi.h - spark_h, bi.w - 2});
	if (spark_h)
		used += metrics_view_sparklines(c->metrics, (struct tui_rect){bi.y + used, bi.x + 1,
									   spark_h, bi.w - 2});
	if (bi.h > used) {
		char ws[512];
		snprintf(ws, sizeof ws, "workspace: %s   data: %s",
			 c->workspace ? c->workspace : "-", c->data ? c->data : "none");
		widget_text(bi.y + used, bi.x + 1, bi.w - 2, ROLE_MUTED, ws);
	}
}

static enum tui_result ov_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct overview *o = state;
	switch (a) {
	case ACT_NEXT_PANEL:
	case ACT_PREV_PANEL:
		o->focus = !o->focus;
		return TUI_REDRAW;
	case ACT_SELECT: {
		size_t cur = widget_table_current(&o->table);
		if (!o->snap || cur >= o->snap->n)
			return TUI_HANDLED;
		struct err e = {0};
		if (whatif_cmd_version(o->console->whatif, app, o->snap->v[cur].label, &e))
			tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
		else
			tui_app_show_view(app, "what-if");
		return TUI_REDRAW;
	}
	default:
		if (o->focus == 0 && widget_table_key(&o->table, a))
			return TUI_REDRAW;
		return TUI_IGNORED;
	}
}

static bool ov_filter(void *state, struct tui_app *app, const char *text)
{
	struct overview *o = state;
	(void)app;
	widget_table_filter(&o->table, text);
	return true;
}

static const char *ov_context(void *state)
{
	struct overview *o = state;
	size_t cur = widget_table_current(&o->table);
	if (!o->snap || cur >= o->snap->n)
		return NULL;
	snprintf(o->context, sizeof o->context, "churn %s", o->snap->v[cur].label);
	return o->context;
}

static void ov_destroy(void *state)
{
	struct overview *o = state;
	if (!o)
		return;
	widget_table_finish(&o->table);
	snapshot_free(o->snap);
	free(o);
}

void *overview_view_create(struct console *c)
{
	struct overview *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->console = c;
	widget_table_init(&o->table, NCOLS, headers, cell, o);
	return o;
}

const struct view_ops overview_view_ops = {
	.name = "overview",
	.jump = ACT_VIEW_OVERVIEW,
	.scope = KEYMAP_LIST,
	.show = ov_show,
	.draw = ov_draw,
	.handle_key = ov_key,
	.on_snapshot = ov_on_snapshot,
	.set_filter = ov_filter,
	.context = ov_context,
	.destroy = ov_destroy,
};
