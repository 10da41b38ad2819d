/* audit: the audit log as on-call reads it after the fact: every promote,
 * rollback, refusal and abandoned plan with who, when, what, where, the
 * target, what the environment held before and after, how it ended and why.
 *
 * A worker opens the store and reads the latest MAX_RECORDS records into one
 * immutable snapshot; the view reads again REFRESH_S seconds after each
 * answer (in front or not: a cheap local read, so the view is current
 * the moment it is shown). The table is
 * newest first and filterable with `/` over every column; the panel below
 * shows the selected record in full, its detail included. A failed read
 * keeps the last good one on screen, marked with its age, under the error.
 * Everything in the log came from users and servers: it is drawn through
 * the widgets, which sanitise it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "views.h"
#include "widgets.h"

#define REFRESH_S 3        /* seconds between an answer and the next read */
#define MAX_RECORDS 2000   /* the newest records read; older ones: churnops audit */
#define NCOLS 8
#define CELL 96

static const char *const headers[NCOLS] = {
	"when", "who", "action", "env", "target", "before -> after", "outcome", "reason",
};

struct audit_snapshot {
	char *error;               /* why the log could not be read, or NULL */
	struct store_audit *rec;   /* newest first */
	size_t n;
	char (*cells)[NCOLS][CELL];
	time_t read_at;
};

struct audit_view {
	struct console *console;
	struct audit_snapshot *snap; /* the latest read */
	struct audit_snapshot *good; /* the latest read without an error (may be SNAP) */
	bool busy, stopping;
	time_t next;
	unsigned long seq;
	struct widget_table table;
	char context[160];
};

static void snapshot_free(void *p)
{
	struct audit_snapshot *s = p;
	if (!s)
		return;
	free(s->error);
	store_audit_free(s->rec, s->n);
	free(s->cells);
	free(s);
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

static void fill_cells(const struct store_audit *a, char cells[NCOLS][CELL])
{
	/* "2026-11-26T20:38:21.676Z" as "2026-11-26 20:38:21". */
	snprintf(cells[0], CELL, "%.10s %.8s", a->at, strlen(a->at) > 11 ? a->at + 11 : "");
	snprintf(cells[1], CELL, "%s", dash(a->actor));
	snprintf(cells[2], CELL, "%s", dash(a->action));
	snprintf(cells[3], CELL, "%s", dash(a->env));
	snprintf(cells[4], CELL, "%s", dash(a->version));
	if (a->before[0] || a->after[0])
		snprintf(cells[5], CELL, "%s -> %s", dash(a->before), dash(a->after));
	else
		snprintf(cells[5], CELL, "-");
	snprintf(cells[6], CELL, "%s", dash(a->outcome));
	snprintf(cells[7], CELL, "%s", dash(a->reason));
}

static int read_log(struct audit_snapshot *s, struct err *e)
{
	struct store *st = store_open(NULL, e);
	if (!st)
		return e->code ? e->code : EXIT_INPUT;
	struct store_audit *rec = NULL;
	size_t n = 0;
	int rc = store_audit_list(st, NULL, MAX_RECORDS, &rec, &n, e);
	store_close(st);
	if (rc)
		return rc;
	/* The store answers oldest first; the view reads from the top. */
	for (size_t i = 0; i < n / 2; i++) {
		struct store_audit t = rec[i];
		rec[i] = rec[n - 1 - i];
		rec[n - 1 - i] = t;
	}
	s->rec = rec;
	s->n = n;
	if (!(s->cells = calloc(n ? n : 1, sizeof *s->cells)))
		return err_set(e, EXIT_INPUT, "out of memory");
	for (size_t i = 0; i < n; i++)
		fill_cells(&rec[i], s->cells[i]);
	return 0;
}

static void *read_run(void *arg, struct err *e)
{
	(void)arg;
	struct audit_snapshot *s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	struct err re = {0};
	if (read_log(s, &re))
		s->error = strdup(re.msg[0] ? re.msg : "the audit log could not be read");
	s->read_at = time(NULL);
	return s;
}

static void start_read(struct audit_view *v, struct tui_app *app)
{
	if (v->busy || v->stopping)
		return;
	struct worker_job j = {
		.run = read_run, .free_result = snapshot_free, .seq = ++v->seq,
		.background = true,
	};
	struct err e = {0};
	if (tui_app_submit(app, v, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "audit: %s", e.msg);
		v->next = tui_app_clock() + REFRESH_S;
		return;
	}
	v->busy = true;
}

static const char *cell(void *ud, size_t row, size_t col)
{
	struct audit_view *v = ud;
	const struct audit_snapshot *s = v->good;
	if (!s || row >= s->n || col >= NCOLS)
		return "";
	return s->cells[row][col];
}

static void av_show(void *state, struct tui_app *app)
{
	struct audit_view *v = state;
	if (!v->snap)
		start_read(v, app);
}

static bool av_tick(void *state, struct tui_app *app)
{
	struct audit_view *v = state;
	if (!v->busy && tui_app_clock() >= v->next)
		start_read(v, app);
	return true; /* ages on screen change every second */
}

static void av_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct audit_view *v = state;
	if (j->seq != v->seq)
		return;
	v->busy = false;
	v->next = tui_app_clock() + REFRESH_S;
	if (!j->result) {
		tui_app_toast(app, ROLE_CRIT, "audit: %s", j->err.msg);
		return;
	}
	struct audit_snapshot *s = j->result;
	j->result = NULL;
	if (s->error) {
		if (v->snap != v->good)
			snapshot_free(v->snap);
		v->snap = s;
		return;
	}
	/* The selection stays on the same record across reads, as new records
	 * arrive above it; on the newest, it follows the newest (as tail -f). */
	long long keep = -1;
	size_t cur = widget_table_current(&v->table);
	if (v->good && cur < v->good->n && v->table.selected > 0)
		keep = v->good->rec[cur].id;
	char filter[sizeof v->table.filter];
	snprintf(filter, sizeof filter, "%s", v->table.filter);
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
	v->table.selected = 0;
	for (size_t i = 0; keep >= 0 && i < v->table.nvisible; i++)
		if (s->rec[v->table.visible[i]].id == keep)
			v->table.selected = i;
}

static void av_stop(void *state)
{
	struct audit_view *v = state;
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

static enum tui_role outcome_role(const char *outcome)
{
	if (strcmp(outcome, "succeeded") == 0)
		return ROLE_OK;
	if (strcmp(outcome, "failed") == 0)
		return ROLE_CRIT;
	return ROLE_WARN; /* refused, abandoned */
}

static void draw_details(const struct audit_snapshot *s, size_t cur, struct tui_rect r)
{
	if (cur >= s->n) {
		widget_text(r.y, r.x, r.w, ROLE_MUTED, s->n ? "no record selected"
				: "nothing audited yet: promote, rollback and abandoned plans "
				  "are recorded here");
		return;
	}
	const struct store_audit *a = &s->rec[cur];
	char line[2048];
	int y = r.y, end = r.y + r.h;
	snprintf(line, sizeof line, "%s by %s at %s: %s", dash(a->action), dash(a->actor),
		 a->at, dash(a->outcome));
	if (y < end)
		widget_text(y++, r.x, r.w, outcome_role(a->outcome), line);
	snprintf(line, sizeof line, "environment %s   target %s   before %s   after %s",
		 dash(a->env), dash(a->version), dash(a->before), dash(a->after));
	if (y < end)
		widget_text(y++, r.x, r.w, ROLE_NORMAL, line);
	snprintf(line, sizeof line, "reason  %s", dash(a->reason));
	if (y < end)
		widget_text(y++, r.x, r.w, ROLE_NORMAL, line);
	/* The detail, wrapped: a failed step's message matters in full. */
	const char *d = a->detail[0] ? a->detail : "-";
	size_t len = strlen(d), w = r.w > 10 ? (size_t)r.w - 8 : 2;
	for (size_t off = 0; off < len && y < end; off += w) {
		snprintf(line, sizeof line, "%s%.*s", off ? "        " : "detail  ", (int)w, d + off);
		widget_text(y++, r.x, r.w, ROLE_MUTED, line);
	}
}

static void av_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct audit_view *v = state;
	(void)app;
	const struct audit_snapshot *s = v->good;
	char title[512], age[32];
	int err_h = v->snap && v->snap->error ? 2 : 0;
	int detail_h = area.h >= 24 ? 8 : 5;
	int table_h = area.h - err_h - detail_h;
	int y = area.y;
	if (err_h) {
		age_text(v->snap->read_at, age, sizeof age);
		widget_printf(y++, area.x + 1, area.w - 2, ROLE_CRIT, "audit log: %s (%s ago)",
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
		snprintf(title, sizeof title, "audit log: %zu record%s, newest first - read %s ago%s%s",
			 s->n, s->n == 1 ? "" : "s", age, v->table.filter[0] ? " - filter: " : "",
			 v->table.filter);
	} else {
		snprintf(title, sizeof title, "audit log");
	}
	struct tui_rect in = widget_box((struct tui_rect){y, area.x, table_h, area.w}, title, true);
	if (!s) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_STALE,
			    v->snap ? "the audit log could not be read" : "reading the audit log...");
		return;
	}
	if (s->n == 0)
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_MUTED,
			    "nothing audited yet: promote, rollback and abandoned plans are "
			    "recorded here");
	else
		widget_table_draw(&v->table, (struct tui_rect){in.y, in.x + 1, in.h, in.w - 2},
				  true);
	y += table_h;
	size_t cur = widget_table_current(&v->table);
	struct tui_rect di = widget_box((struct tui_rect){y, area.x, detail_h, area.w},
					"record", false);
	draw_details(s, cur, (struct tui_rect){di.y, di.x + 1, di.h, di.w - 2});
}

static enum tui_result av_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct audit_view *v = state;
	if (a == ACT_RELOAD_AUDIT) {
		start_read(v, app);
		tui_app_toast(app, ROLE_OK, "reading the audit log");
		return TUI_REDRAW;
	}
	return widget_table_key(&v->table, a) ? TUI_REDRAW : TUI_IGNORED;
}

static bool av_filter(void *state, struct tui_app *app, const char *text)
{
	struct audit_view *v = state;
	(void)app;
	widget_table_filter(&v->table, text);
	return true;
}

static const char *av_context(void *state)
{
	struct audit_view *v = state;
	size_t cur = widget_table_current(&v->table);
	if (!v->good || cur >= v->good->n)
		return NULL;
	const struct store_audit *a = &v->good->rec[cur];
	snprintf(v->context, sizeof v->context, "audit %s %s", dash(a->env), dash(a->version));
	return v->context;
}

static void av_destroy(void *state)
{
	struct audit_view *v = state;
	if (!v)
		return;
	widget_table_finish(&v->table);
	if (v->snap != v->good)
		snapshot_free(v->snap);
	snapshot_free(v->good);
	free(v);
}

void *audit_view_create(struct console *c)
{
	struct audit_view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->console = c;
	widget_table_init(&v->table, NCOLS, headers, cell, v);
	return v;
}

const struct view_ops audit_view_ops = {
	.name = "audit",
	.jump = ACT_VIEW_AUDIT,
	.scope = KEYMAP_AUDIT,
	.show = av_show,
	.draw = av_draw,
	.handle_key = av_key,
	.on_snapshot = av_on_snapshot,
	.set_filter = av_filter,
	.context = av_context,
	.tick = av_tick,
	.stop = av_stop,
	.destroy = av_destroy,
};
