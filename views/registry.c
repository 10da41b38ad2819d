/* registry: the model registry as on-call reads it: which version holds
 * production and staging, what the aliases point at, and every stage and
 * alias move with who made it, when and why.
 *
 * The registry is the embedded store's (core/registry_sqlite) unless
 * MLFLOW_TRACKING_URI names an MLflow server (core/registry_mlflow, with the
 * MLFLOW_TRACKING_* credentials the CLI reads). A worker opens the store and
 * the registry, lists the versions and the promotion history and builds one
 * immutable snapshot; the view reads again REFRESH_S seconds after each
 * answer, also while another view is in front, because the overview's
 * backends panel shows what production, staging and last-known-good hold
 * (registry_view_summary). A failed read keeps the last good one on screen,
 * marked with its age, under the error. Server and file text (creators,
 * reasons, descriptions) is drawn through the widgets, which sanitise it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "json.h"
#include "registry.h"
#include "store.h"
#include "views.h"
#include "widgets.h"

#define REFRESH_S 5       /* seconds between an answer and the next read */
#define MLFLOW_TIMEOUT_MS 5000
#define NCOLS 7
#define CELL 80

static const char *const headers[NCOLS] = {
	"version", "stage", "aliases", "sha256", "created", "creator", "ROC-AUC",
};

struct reg_snapshot {
	char *error;              /* why the registry could not be read, or NULL */
	char *backend, *location, *model;
	struct registry_version *v; /* oldest first */
	size_t n;
	char (*cells)[NCOLS][CELL];
	struct store_reg_event *ev; /* oldest first */
	size_t nev;
	time_t read_at;
};

struct registry_view {
	struct console *console;
	struct reg_snapshot *snap; /* the latest read */
	struct reg_snapshot *good; /* the latest read without an error (may be SNAP) */
	bool busy, stopping;
	time_t next;
	unsigned long seq;
	struct widget_table table;
	int focus;                 /* 0 versions, 1 history */
	size_t hist_offset;        /* history lines scrolled, newest first */
	char context[128];
};

static void snapshot_free(void *p)
{
	struct reg_snapshot *s = p;
	if (!s)
		return;
	free(s->error);
	free(s->backend);
	free(s->location);
	free(s->model);
	registry_versions_free(s->v, s->n);
	free(s->cells);
	store_reg_events_free(s->ev, s->nev);
	free(s);
}

static void iso_minute(long long ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || !gmtime_r(&t, &tm))
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%d %H:%MZ", &tm);
}

static void fill_cells(const struct registry_version *v, char cells[NCOLS][CELL])
{
	snprintf(cells[0], CELL, "%s", v->label);
	snprintf(cells[1], CELL, "%s", registry_stage_name(v->stage));
	size_t used = 0;
	cells[2][0] = '\0';
	for (size_t i = 0; i < v->naliases && used + 1 < CELL; i++) {
		int w = snprintf(cells[2] + used, CELL - used, "%s%s", i ? "," : "", v->aliases[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (!v->naliases)
		snprintf(cells[2], CELL, "-");
	snprintf(cells[3], CELL, "%.12s", v->sha256[0] ? v->sha256 : "-");
	iso_minute(v->created_ms, cells[4], CELL);
	snprintf(cells[5], CELL, "%s", v->creator[0] ? v->creator : "-");
	struct err pe = {0};
	cJSON *ev = v->eval_json[0] ? json_parse(v->eval_json, strlen(v->eval_json),
						 "evaluation", &pe) : NULL;
	if (json_has_num(ev, "roc_auc"))
		snprintf(cells[6], CELL, "%.4f", json_num(ev, "roc_auc", 0));
	else
		snprintf(cells[6], CELL, "-");
	cJSON_Delete(ev);
}

static int read_registry(struct reg_snapshot *s, struct err *e)
{
	struct store *st = store_open(NULL, e);
	struct registry *r = NULL;
	int rc = 0;
	if (!st)
		return e->code ? e->code : EXIT_INPUT;
	struct registry_choice ch = {.timeout_ms = MLFLOW_TIMEOUT_MS};
	r = registry_open_configured(st, config_current(), &ch, e);
	if (!r) {
		rc = e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	s->backend = strdup(registry_backend(r));
	s->location = strdup(registry_location(r));
	s->model = strdup(registry_model(r));
	if ((rc = registry_list(r, &s->v, &s->n, e)) ||
	    (rc = registry_history(r, &s->ev, &s->nev, e)))
		goto out;
	if (!(s->cells = calloc(s->n ? s->n : 1, sizeof *s->cells))) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++)
		fill_cells(&s->v[i], s->cells[i]);
out:
	registry_destroy(r);
	store_close(st);
	return rc;
}

static void *read_run(void *arg, struct err *e)
{
	(void)arg;
	struct reg_snapshot *s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	struct err re = {0};
	if (read_registry(s, &re))
		s->error = strdup(re.msg[0] ? re.msg : "the registry could not be read");
	s->read_at = time(NULL);
	return s;
}

static void start_read(struct registry_view *v, struct tui_app *app)
{
	if (v->busy || v->stopping)
		return;
	struct worker_job j = {
		.run = read_run, .free_result = snapshot_free, .seq = ++v->seq,
		.background = true,
	};
	struct err e = {0};
	if (tui_app_submit(app, v, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "registry: %s", e.msg);
		v->next = tui_app_clock() + REFRESH_S;
		return;
	}
	v->busy = true;
}

static const char *cell(void *ud, size_t row, size_t col)
{
	struct registry_view *v = ud;
	const struct reg_snapshot *s = v->good;
	if (!s || row >= s->n || col >= NCOLS)
		return "";
	return s->cells[row][col];
}

static void rv_show(void *state, struct tui_app *app)
{
	struct registry_view *v = state;
	if (!v->snap)
		start_read(v, app);
}

static bool rv_tick(void *state, struct tui_app *app)
{
	struct registry_view *v = state;
	if (!v->busy && tui_app_clock() >= v->next)
		start_read(v, app);
	return true; /* ages on screen change every second */
}

static void rv_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct registry_view *v = state;
	if (j->seq != v->seq)
		return;
	v->busy = false;
	v->next = tui_app_clock() + REFRESH_S;
	if (!j->result) {
		tui_app_toast(app, ROLE_CRIT, "registry: %s", j->err.msg);
		return;
	}
	struct reg_snapshot *s = j->result;
	j->result = NULL;
	if (s->error) {
		if (v->snap != v->good)
			snapshot_free(v->snap);
		v->snap = s;
		return;
	}
	/* The selection stays on the same version across reads. */
	char keep[CELL] = "";
	size_t cur = widget_table_current(&v->table);
	if (v->good && cur < v->good->n)
		snprintf(keep, sizeof keep, "%s", v->good->v[cur].label);
	char filter[sizeof v->table.filter];
	snprintf(filter, sizeof filter, "%s", v->table.filter);
	bool first = !v->good;
	if (v->snap != v->good)
		snapshot_free(v->snap);
	snapshot_free(v->good);
	v->snap = v->good = s;
	if (!widget_table_set_rows(&v->table, s->n)) {
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	if (filter[0])
		widget_table_filter(&v->table, filter);
	/* Else production's holder, else the newest version. */
	size_t want = SIZE_MAX;
	for (size_t i = 0; i < v->table.nvisible; i++) {
		const struct registry_version *rv = &s->v[v->table.visible[i]];
		if (keep[0] ? strcmp(rv->label, keep) == 0 : rv->stage == REGISTRY_STAGE_PRODUCTION)
			want = i;
	}
	if (want == SIZE_MAX && v->table.nvisible)
		want = !first && cur < v->table.nvisible ? cur : v->table.nvisible - 1;
	if (want != SIZE_MAX)
		v->table.selected = want;
}

static void rv_stop(void *state)
{
	struct registry_view *v = state;
	v->stopping = true;
}

/* --- drawing ------------------------------------------------------------ */

static void age_text(time_t t, char *buf, size_t n)
{
	long s = (long)difftime(time(NULL), t);
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, n, "%lds", s);
	else if (s < 7200)
		snprintf(buf, n, "%ldm", s / 60);
	else
		snprintf(buf, n, "%ldh", s / 3600);
}

static const struct registry_version *find_label(const struct reg_snapshot *s,
						  const char *version)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i].version, version) == 0 || strcmp(s->v[i].label, version) == 0)
			return &s->v[i];
	return NULL;
}

/* A history entry's version as its label (MLflow ids are numbers). */
static const char *label_of(const struct reg_snapshot *s, const char *version)
{
	if (!version || !version[0])
		return "-";
	const struct registry_version *v = find_label(s, version);
	return v ? v->label : version;
}

static void draw_details(const struct reg_snapshot *s, size_t cur, struct tui_rect r)
{
	if (cur >= s->n) {
		widget_text(r.y, r.x, r.w, ROLE_MUTED, s->n ? "no version selected"
				: "no versions registered yet: churnops registry register "
				  "--model DIR --version V");
		return;
	}
	const struct registry_version *v = &s->v[cur];
	char line[1024], when[40];
	iso_minute(v->created_ms, when, sizeof when);
	int y = r.y, end = r.y + r.h;
	snprintf(line, sizeof line, "version %s (id %s)  stage %s  status %s  verdict %s",
		 v->label, v->version, registry_stage_name(v->stage), v->status,
		 v->verdict[0] ? v->verdict : "-");
	if (y < end)
		widget_text(y++, r.x, r.w, v->stage == REGISTRY_STAGE_PRODUCTION ? ROLE_PRODUCTION
					  : v->stage == REGISTRY_STAGE_STAGING ? ROLE_STAGING
					  : ROLE_NORMAL, line);
	snprintf(line, sizeof line, "sha256  %s", v->sha256[0] ? v->sha256 : "-");
	if (y < end)
		widget_text(y++, r.x, r.w, ROLE_NORMAL, line);
	snprintf(line, sizeof line, "created %s by %s   artifact %s", when,
		 v->creator[0] ? v->creator : "-", v->source[0] ? v->source : "-");
	if (y < end)
		widget_text(y++, r.x, r.w, ROLE_NORMAL, line);
	struct err pe = {0};
	cJSON *ev = v->eval_json[0] ? json_parse(v->eval_json, strlen(v->eval_json),
						 "evaluation", &pe) : NULL;
	static const char *const keys[] = {"roc_auc", "pr_auc", "precision", "recall", "f1"};
	size_t off = (size_t)snprintf(line, sizeof line, "evaluation");
	for (size_t i = 0; i < sizeof keys / sizeof keys[0] && off < sizeof line; i++)
		if (json_has_num(ev, keys[i]))
			off += (size_t)snprintf(line + off, sizeof line - off, "  %s %.4f", keys[i],
						json_num(ev, keys[i], 0));
	if (!ev)
		snprintf(line, sizeof line, "evaluation  none registered");
	cJSON_Delete(ev);
	if (y < end)
		widget_text(y++, r.x, r.w, ROLE_NORMAL, line);
	if (y < end && v->description[0]) {
		snprintf(line, sizeof line, "description %s", v->description);
		widget_text(y++, r.x, r.w, ROLE_MUTED, line);
	}
	for (size_t i = 0; i < v->ntags && y < end; i++) {
		snprintf(line, sizeof line, "tag %s = %s", v->tag_keys[i], v->tag_values[i]);
		widget_text(y++, r.x, r.w, ROLE_MUTED, line);
	}
}

static void draw_history(struct registry_view *v, const struct reg_snapshot *s,
			 struct tui_rect r)
{
	char head[160];
	snprintf(head, sizeof head, "%-19s %-12s %-6s %-16s %-17s %s", "WHEN", "WHO", "KIND",
		 "NAME", "FROM -> TO", "REASON");
	widget_text(r.y, r.x, r.w, ROLE_MUTED, head);
	if (!s->nev) {
		widget_text(r.y + 1, r.x, r.w, ROLE_MUTED,
			    "no stage or alias moves recorded yet");
		return;
	}
	if (v->hist_offset >= s->nev)
		v->hist_offset = s->nev - 1;
	int y = r.y + 1;
	/* Newest first: a timeline read from the top. */
	for (size_t k = v->hist_offset; k < s->nev && y < r.y + r.h; k++) {
		const struct store_reg_event *e = &s->ev[s->nev - 1 - k];
		char when[20], move[64], line[1024];
		snprintf(when, sizeof when, "%.10s %.8s", e->at, strlen(e->at) > 11 ? e->at + 11 : "");
		snprintf(move, sizeof move, "%s -> %s", label_of(s, e->from_version),
			 label_of(s, e->to_version));
		snprintf(line, sizeof line, "%-19s %-12s %-6s %-16s %-17s %s", when, e->actor,
			 e->kind, e->name, move, e->reason[0] ? e->reason : "-");
		bool prod = strcmp(e->name, "production") == 0;
		widget_text(y++, r.x, r.w, prod ? ROLE_ACCENT : ROLE_NORMAL, line);
	}
}

static void rv_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct registry_view *v = state;
	(void)app;
	const struct reg_snapshot *s = v->good;
	char title[512], age[32];
	int err_h = v->snap && v->snap->error ? 2 : 0;
	int detail_h = area.h >= 24 ? 8 : 5;
	int rest = area.h - err_h - detail_h;
	/* The table as tall as its rows (within half the room), the history
	 * the rest. */
	int table_h = s ? (int)s->n + 3 : 5;
	if (table_h > rest / 2)
		table_h = rest / 2;
	if (table_h < 5)
		table_h = 5;
	int hist_h = rest - table_h;
	int y = area.y;
	if (err_h) {
		age_text(v->snap->read_at, age, sizeof age);
		widget_printf(y++, area.x + 1, area.w - 2, ROLE_CRIT, "registry: %s (%s ago)",
			      v->snap->error, age);
		if (s) {
			age_text(s->read_at, age, sizeof age);
			widget_printf(y, area.x + 1, area.w - 2, ROLE_STALE,
				      "as last read %s ago (may be out of date):", age);
		}
		y++;
	}
	if (s) {
		age_text(s->read_at, age, sizeof age);
		snprintf(title, sizeof title, "registry %s: %s (%s), %zu versions - read %s ago%s%s",
			 s->model, s->backend, s->location, s->n, age,
			 v->table.filter[0] ? " - filter: " : "", v->table.filter);
	} else {
		snprintf(title, sizeof title, "registry");
	}
	struct tui_rect top = {y, area.x, table_h, area.w};
	struct tui_rect in = widget_box(top, title, v->focus == 0);
	if (!s) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_STALE,
			    v->snap ? "the registry could not be read" : "reading the registry...");
		return;
	}
	if (s->n == 0)
		widget_printf(in.y, in.x + 1, in.w - 2, ROLE_MUTED,
			      "no versions of %s registered yet: churnops registry register "
			      "--model DIR --version V", s->model);
	else
		widget_table_draw(&v->table, (struct tui_rect){in.y, in.x + 1, in.h, in.w - 2},
				  v->focus == 0);
	y += table_h;
	size_t cur = widget_table_current(&v->table);
	char dt[128];
	snprintf(dt, sizeof dt, "version %s", cur < s->n ? s->v[cur].label : "-");
	struct tui_rect di = widget_box((struct tui_rect){y, area.x, detail_h, area.w}, dt, false);
	draw_details(s, cur, (struct tui_rect){di.y, di.x + 1, di.h, di.w - 2});
	y += detail_h;
	snprintf(title, sizeof title, "promotion history (%zu moves, newest first)", s->nev);
	struct tui_rect hi = widget_box((struct tui_rect){y, area.x, hist_h, area.w}, title,
					v->focus == 1);
	draw_history(v, s, (struct tui_rect){hi.y, hi.x + 1, hi.h, hi.w - 2});
}

static enum tui_result rv_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct registry_view *v = state;
	switch (a) {
	case ACT_NEXT_PANEL:
	case ACT_PREV_PANEL:
		v->focus = !v->focus;
		return TUI_REDRAW;
	case ACT_RELOAD_REGISTRY:
		start_read(v, app);
		tui_app_toast(app, ROLE_OK, "reading the registry");
		return TUI_REDRAW;
	default:
		break;
	}
	if (v->focus == 0)
		return widget_table_key(&v->table, a) ? TUI_REDRAW : TUI_IGNORED;
	size_t n = v->good ? v->good->nev : 0;
	switch (a) {
	case ACT_DOWN:
		if (v->hist_offset + 1 < n)
			v->hist_offset++;
		return TUI_REDRAW;
	case ACT_UP:
		if (v->hist_offset)
			v->hist_offset--;
		return TUI_REDRAW;
	case ACT_HOME:
		v->hist_offset = 0;
		return TUI_REDRAW;
	case ACT_END:
		v->hist_offset = n ? n - 1 : 0;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}

static bool rv_filter(void *state, struct tui_app *app, const char *text)
{
	struct registry_view *v = state;
	(void)app;
	widget_table_filter(&v->table, text);
	return true;
}

static const char *rv_context(void *state)
{
	struct registry_view *v = state;
	size_t cur = widget_table_current(&v->table);
	if (!v->good || cur >= v->good->n)
		return NULL;
	snprintf(v->context, sizeof v->context, "%s %s", v->good->model, v->good->v[cur].label);
	return v->context;
}

static void rv_destroy(void *state)
{
	struct registry_view *v = state;
	if (!v)
		return;
	widget_table_finish(&v->table);
	if (v->snap != v->good)
		snapshot_free(v->snap);
	snapshot_free(v->good);
	free(v);
}

void *registry_view_create(struct console *c)
{
	struct registry_view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->console = c;
	widget_table_init(&v->table, NCOLS, headers, cell, v);
	return v;
}

static const char *holder(const struct reg_snapshot *s, enum registry_stage stage)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].stage == stage)
			return s->v[i].label;
	return "none";
}

static const char *alias_holder(const struct reg_snapshot *s, const char *alias)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->v[i].naliases; k++)
			if (strcmp(s->v[i].aliases[k], alias) == 0)
				return s->v[i].label;
	return "none";
}

bool registry_view_summary(void *state, char *buf, size_t n, enum tui_role *role)
{
	struct registry_view *v = state;
	const struct reg_snapshot *s = v ? v->good : NULL;
	if (!s && v && v->snap && v->snap->error) {
		snprintf(buf, n, "registry: cannot be read - %s", v->snap->error);
		*role = ROLE_CRIT;
		return true;
	}
	if (!s || s->n == 0)
		return false;
	char age[32];
	age_text(s->read_at, age, sizeof age);
	bool failing = v->snap && v->snap->error;
	snprintf(buf, n, "registry: production %s, staging %s, last-known-good %s "
		 "(%s %s, read %s ago%s)", holder(s, REGISTRY_STAGE_PRODUCTION),
		 holder(s, REGISTRY_STAGE_STAGING), alias_holder(s, REGISTRY_ALIAS_LKG),
		 s->backend, s->model, age, failing ? ", now failing" : "");
	*role = failing ? ROLE_STALE : ROLE_NORMAL;
	return true;
}

const struct view_ops registry_view_ops = {
	.name = "registry",
	.jump = ACT_VIEW_REGISTRY,
	.scope = KEYMAP_REGISTRY,
	.show = rv_show,
	.draw = rv_draw,
	.handle_key = rv_key,
	.on_snapshot = rv_on_snapshot,
	.set_filter = rv_filter,
	.context = rv_context,
	.tick = rv_tick,
	.stop = rv_stop,
	.destroy = rv_destroy,
};
