/* card: a model card in a pager, searchable with `/`.
 *
 * Opened from the checklist view (c) for one version. A worker reads
 * DIR/model_card.md when it is there and names the artifact's sha256 (the
 * card `churnops card` wrote for this very artifact); otherwise it renders
 * one in memory through core/card from eval.json, the checklist the view
 * showed (or the latest stored run) and the sign-offs, and says that it was
 * not saved. The text is split into lines and sanitised once, in the
 * worker; the view wraps them to the window's width when that changes.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "card.h"
#include "checklist.h"
#include "fileio.h"
#include "json.h"
#include "model.h"
#include "sanitize.h"
#include "schema.h"
#include "store.h"
#include "views.h"
#include "widgets.h"

#define CARD_MAX_BYTES (4u << 20)
#define WRAP_MAX 64

struct card_snapshot {
	char *source;  /* where the text came from, in words */
	char **lines;  /* sanitised, one per line of the text */
	size_t nlines;
};

struct card_view {
	struct console *c;
	char *dir, *label;
	struct card_snapshot *snap;
	bool loading;
	char *error;
	unsigned long seq;
	/* wrapped rows, for the width they were made for */
	int wrap_width;
	size_t *row_line, *row_start, *row_len;
	size_t nrows;
	size_t scroll;
	int page;
	/* search */
	char search[128];
	size_t *match_rows;
	size_t nmatch;
	size_t cur_match;
	char context[128];
};

static void snapshot_free(void *p)
{
	struct card_snapshot *s = p;
	if (!s)
		return;
	for (size_t i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	free(s->lines);
	free(s->source);
	free(s);
}

/* ---- the job ---- */

struct card_arg {
	char *dir, *label, *report_json;
};

static void card_arg_free(void *p)
{
	struct card_arg *a = p;
	free(a->dir);
	free(a->label);
	free(a->report_json);
	free(a);
}

static int split_lines(struct card_snapshot *s, const char *text, struct err *e)
{
	size_t n = 1;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	if (!(s->lines = calloc(n, sizeof *s->lines)))
		return err_set(e, EXIT_INPUT, "out of memory");
	for (const char *p = text; *p || s->nlines == 0;) {
		size_t len = strcspn(p, "\n");
		size_t need = sanitize_display(p, len, NULL, 0) + 1;
		char *line = malloc(need);
		if (!line)
			return err_set(e, EXIT_INPUT, "out of memory");
		sanitize_display(p, len, line, need);
		s->lines[s->nlines++] = line;
		p += len;
		if (!*p)
			break;
		p++;
	}
	return 0;
}

static void *card_run(void *arg, struct err *e)
{
	struct card_arg *a = arg;
	char path[PATH_MAX + 32];
	struct card_snapshot *s = calloc(1, sizeof *s);
	struct schema *sc = NULL;
	struct model *m = NULL;
	cJSON *eval = NULL, *report = NULL;
	struct store *st = NULL;
	struct store_signoff *so = NULL;
	size_t nso = 0;
	struct store_checklist_run last = {0};
	char *text = NULL;
	bool ok = false;
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof path, "%s/schema.json", a->dir);
	if (!(sc = schema_load(path, e)))
		goto out;
	snprintf(path, sizeof path, "%s/model.json", a->dir);
	if (!(m = model_load(path, sc, e)))
		goto out;
	const char *sha = model_sha256(m);
	snprintf(path, sizeof path, "%s/model_card.md", a->dir);
	bool stale = false;
	if (fileio_exists(path)) {
		size_t len;
		if (fileio_read_all(path, CARD_MAX_BYTES, &text, &len, e))
			goto out;
		if (strstr(text, sha)) {
			s->source = strdup(path);
			ok = s->source && !split_lines(s, text, e);
			goto out;
		}
		stale = true;
		free(text);
		text = NULL;
	}
	snprintf(path, sizeof path, "%s/eval.json", a->dir);
	if (fileio_exists(path) && !(eval = json_load_file(path, e)))
		goto out;
	if (!(st = store_open(NULL, e)) || store_list_signoffs(st, sha, &so, &nso, e))
		goto out;
	const char *source = "the checklist in the console";
	if (a->report_json) {
		if (!(report = json_parse(a->report_json, strlen(a->report_json), source, e)))
			goto out;
	} else {
		bool found = false;
		if (store_last_checklist_run(st, sha, &last, &found, e))
			goto out;
		source = "latest churnops validate run";
		if (found && !(report = json_parse(last.report_json, strlen(last.report_json),
						   store_path(st), e)))
			goto out;
	}
	if (report)
		checklist_refresh_json(report, a->dir, sha, so, nso);
	char lib[32];
	model_library_version(lib, sizeof lib);
	struct card_input in = {
		.model_dir = a->dir, .version = a->label, .model_type = "XGBoost Classifier",
		.sha256 = sha, .library_version = lib, .objective = model_objective(m),
		.schema = sc, .eval = eval, .report = report,
		.report_source = report ? source : NULL,
		.signoffs = so, .nsignoffs = nso,
	};
	if (card_render(&in, &text, e))
		goto out;
	if (asprintf(&s->source, "generated now, not saved%s (churnops card --model DIR "
		     "--output DIR/model_card.md saves it)",
		     stale ? "; DIR/model_card.md is for another artifact" : "") < 0) {
		s->source = NULL;
		err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	ok = !split_lines(s, text, e);
out:
	free(text);
	store_checklist_run_finish(&last);
	store_signoffs_free(so, nso);
	store_close(st);
	cJSON_Delete(report);
	cJSON_Delete(eval);
	model_destroy(m);
	schema_destroy(sc);
	if (!ok) {
		snapshot_free(s);
		return NULL;
	}
	return s;
}

/* ---- wrapping and search ---- */

static void clear_rows(struct card_view *v)
{
	free(v->row_line);
	free(v->row_start);
	free(v->row_len);
	v->row_line = v->row_start = v->row_len = NULL;
	v->nrows = 0;
	v->wrap_width = 0;
}

static bool wrap(struct card_view *v, int width)
{
	clear_rows(v);
	if (!v->snap)
		return true;
	size_t cap = v->snap->nlines + 16;
	v->row_line = malloc(cap * sizeof *v->row_line);
	v->row_start = malloc(cap * sizeof *v->row_start);
	v->row_len = malloc(cap * sizeof *v->row_len);
	if (!v->row_line || !v->row_start || !v->row_len)
		goto oom;
	for (size_t l = 0; l < v->snap->nlines; l++) {
		size_t starts[WRAP_MAX], lens[WRAP_MAX];
		size_t n = layout_wrap(v->snap->lines[l], width, starts, lens, WRAP_MAX);
		if (n == 0) {
			n = 1;
			starts[0] = lens[0] = 0;
		}
		if (n > WRAP_MAX)
			n = WRAP_MAX;
		if (v->nrows + n > cap) {
			cap = (v->nrows + n) * 2;
			size_t *a = realloc(v->row_line, cap * sizeof *a);
			if (a)
				v->row_line = a;
			size_t *b = realloc(v->row_start, cap * sizeof *b);
			if (b)
				v->row_start = b;
			size_t *c = realloc(v->row_len, cap * sizeof *c);
			if (c)
				v->row_len = c;
			if (!a || !b || !c)
				goto oom;
		}
		for (size_t i = 0; i < n; i++) {
			v->row_line[v->nrows] = l;
			v->row_start[v->nrows] = starts[i];
			v->row_len[v->nrows] = lens[i];
			v->nrows++;
		}
	}
	v->wrap_width = width;
	return true;
oom:
	clear_rows(v);
	return false;
}

/* ASCII case-insensitive search of NEEDLE in HAY. */
static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	if (!n)
		return false;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* The rows (first row of each matching line) that match the search. */
static void find_matches(struct card_view *v)
{
	free(v->match_rows);
	v->match_rows = NULL;
	v->nmatch = 0;
	v->cur_match = 0;
	if (!v->search[0] || !v->snap || !v->nrows)
		return;
	v->match_rows = malloc(v->nrows * sizeof *v->match_rows);
	if (!v->match_rows)
		return;
	for (size_t r = 0; r < v->nrows; r++) {
		size_t l = v->row_line[r];
		if ((r == 0 || v->row_line[r - 1] != l) && contains(v->snap->lines[l], v->search))
			v->match_rows[v->nmatch++] = r;
	}
}

static bool row_matches(const struct card_view *v, size_t r)
{
	return v->search[0] && v->snap && contains(v->snap->lines[v->row_line[r]], v->search);
}

/* Scrolls so match I is in view, a few rows below the top. */
static void goto_match(struct card_view *v, size_t i)
{
	if (i >= v->nmatch)
		return;
	v->cur_match = i;
	size_t r = v->match_rows[i];
	v->scroll = r > 2 ? r - 2 : 0;
}

/* ---- the view ---- */

static void card_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct card_view *v = state;
	(void)app;
	if (j->seq != v->seq)
		return;
	v->loading = false;
	if (!j->result) {
		free(v->error);
		v->error = strdup(j->err.msg);
		return;
	}
	snapshot_free(v->snap);
	v->snap = j->result;
	j->result = NULL;
	clear_rows(v);
	v->scroll = 0;
}

static void card_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct card_view *v = state;
	(void)app;
	char title[512];
	snprintf(title, sizeof title, "model card churn %s%s%s", v->label ? v->label : "-",
		 v->snap ? " - " : "", v->snap ? v->snap->source : "");
	struct tui_rect in = widget_box(area, title, true);
	int x = in.x + 1, w = in.w - 2;
	if (in.h < 2 || w < 10)
		return;
	if (!v->dir) {
		widget_text(in.y, x, w, ROLE_MUTED, "open a card with c in the checklist view");
		return;
	}
	if (v->error) {
		widget_text(in.y, x, w, ROLE_CRIT, v->error);
		return;
	}
	if (v->loading || !v->snap) {
		widget_text(in.y, x, w, ROLE_STALE, "preparing the model card...");
		return;
	}
	if (v->wrap_width != w) {
		if (!wrap(v, w)) {
			widget_text(in.y, x, w, ROLE_CRIT, "out of memory");
			return;
		}
		find_matches(v);
	}
	int body = in.h - 1;
	v->page = body;
	if (v->nrows <= (size_t)body)
		v->scroll = 0;
	else if (v->scroll > v->nrows - (size_t)body)
		v->scroll = v->nrows - (size_t)body;
	size_t cur_row = v->nmatch ? v->match_rows[v->cur_match] : SIZE_MAX;
	for (int i = 0; i < body && v->scroll + (size_t)i < v->nrows; i++) {
		size_t r = v->scroll + (size_t)i;
		const char *line = v->snap->lines[v->row_line[r]];
		char part[1024];
		size_t len = v->row_len[r] < sizeof part - 1 ? v->row_len[r] : sizeof part - 1;
		memcpy(part, line + v->row_start[r], len);
		part[len] = '\0';
		enum tui_role role = ROLE_NORMAL;
		if (r == cur_row)
			role = ROLE_SELECTED;
		else if (row_matches(v, r))
			role = ROLE_ACCENT;
		else if (line[0] == '#')
			role = ROLE_TITLE;
		widget_text_clean(in.y + i, x, w, role, part);
	}
	char foot[256];
	size_t last = v->scroll + (size_t)body < v->nrows ? v->scroll + (size_t)body : v->nrows;
	int used = snprintf(foot, sizeof foot, "rows %zu-%zu of %zu", v->nrows ? v->scroll + 1 : 0,
			    last, v->nrows);
	if (v->search[0] && used > 0 && (size_t)used < sizeof foot) {
		if (v->nmatch)
			snprintf(foot + used, sizeof foot - (size_t)used,
				 "   /%s: match %zu of %zu (n next, N previous)", v->search,
				 v->cur_match + 1, v->nmatch);
		else
			snprintf(foot + used, sizeof foot - (size_t)used, "   /%s: no match",
				 v->search);
	}
	widget_text(in.y + in.h - 1, x, w, v->search[0] && !v->nmatch ? ROLE_WARN : ROLE_MUTED,
		    foot);
}

static enum tui_result card_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct card_view *v = state;
	(void)app;
	size_t page = v->page > 1 ? (size_t)v->page - 1 : 1;
	switch (a) {
	case ACT_DOWN:
		v->scroll++;
		return TUI_REDRAW;
	case ACT_UP:
		v->scroll = v->scroll ? v->scroll - 1 : 0;
		return TUI_REDRAW;
	case ACT_PAGE_DOWN:
		v->scroll += page;
		return TUI_REDRAW;
	case ACT_PAGE_UP:
		v->scroll = v->scroll > page ? v->scroll - page : 0;
		return TUI_REDRAW;
	case ACT_HOME:
		v->scroll = 0;
		return TUI_REDRAW;
	case ACT_END:
		v->scroll = v->nrows;
		return TUI_REDRAW;
	case ACT_SEARCH_NEXT:
		if (v->nmatch)
			goto_match(v, (v->cur_match + 1) % v->nmatch);
		return TUI_REDRAW;
	case ACT_SEARCH_PREV:
		if (v->nmatch)
			goto_match(v, (v->cur_match + v->nmatch - 1) % v->nmatch);
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}

/* `/` searches: every edit finds the matches again and shows the first one
 * at or below the top row; Esc (an empty text) clears the highlight. */
static bool card_search(void *state, struct tui_app *app, const char *text)
{
	struct card_view *v = state;
	(void)app;
	snprintf(v->search, sizeof v->search, "%s", text);
	find_matches(v);
	for (size_t i = 0; i < v->nmatch; i++) {
		if (v->match_rows[i] >= v->scroll) {
			goto_match(v, i);
			return true;
		}
	}
	if (v->nmatch)
		goto_match(v, 0);
	return true;
}

static const char *card_context(void *state)
{
	struct card_view *v = state;
	if (!v->label)
		return NULL;
	snprintf(v->context, sizeof v->context, "churn %s", v->label);
	return v->context;
}

static void card_destroy(void *state)
{
	struct card_view *v = state;
	if (!v)
		return;
	snapshot_free(v->snap);
	clear_rows(v);
	free(v->match_rows);
	free(v->dir);
	free(v->label);
	free(v->error);
	free(v);
}

void card_view_open(void *state, struct tui_app *app, const char *dir, const char *label,
		    const char *report_json)
{
	struct card_view *v = state;
	struct card_arg *a = calloc(1, sizeof *a);
	char *d = strdup(dir), *l = strdup(label);
	if (!a || !d || !l || !(a->dir = strdup(dir)) || !(a->label = strdup(label)) ||
	    (report_json && !(a->report_json = strdup(report_json)))) {
		if (a)
			card_arg_free(a);
		free(d);
		free(l);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	free(v->dir);
	free(v->label);
	v->dir = d;
	v->label = l;
	free(v->error);
	v->error = NULL;
	snapshot_free(v->snap);
	v->snap = NULL;
	clear_rows(v);
	free(v->match_rows);
	v->match_rows = NULL;
	v->nmatch = 0;
	v->search[0] = '\0';
	v->scroll = 0;
	struct worker_job j = {.run = card_run, .free_arg = card_arg_free,
			       .free_result = snapshot_free, .arg = a, .seq = ++v->seq};
	struct err e = {0};
	if (tui_app_submit(app, v, &j, &e))
		tui_app_toast(app, ROLE_CRIT, "model card: %s", e.msg);
	else
		v->loading = true;
}

void *card_view_create(struct console *c)
{
	struct card_view *v = calloc(1, sizeof *v);
	if (v)
		v->c = c;
	return v;
}

const struct view_ops card_view_ops = {
	.name = "card",
	.jump = ACT_NONE,
	.scope = KEYMAP_PAGER,
	.draw = card_draw,
	.handle_key = card_key,
	.on_snapshot = card_on_snapshot,
	.set_filter = card_search,
	.context = card_context,
	.destroy = card_destroy,
};
