#include "widgets.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "sanitize.h"

#define CELL_WANT_MAX 40
#define TEXT_MAX 4096

static bool unicode;

void widget_set_unicode(bool on)
{
	unicode = on;
}

bool widget_unicode(void)
{
	return unicode;
}

/* Draws already clean TEXT clipped to W columns. */
static int put_clean(int y, int x, int w, const char *text)
{
	if (w <= 0)
		return 0;
	int used;
	size_t n = sanitize_clip(text, w, &used);
	if (n)
		mvaddnstr(y, x, text, (int)n);
	return used;
}

int widget_text(int y, int x, int w, enum tui_role role, const char *text)
{
	char buf[TEXT_MAX];
	if (!text || w <= 0)
		return 0;
	sanitize_display(text, strlen(text), buf, sizeof buf);
	attrset(theme_attr(role));
	int used = put_clean(y, x, w, buf);
	attrset(theme_attr(ROLE_NORMAL));
	return used;
}

int widget_text_clean(int y, int x, int w, enum tui_role role, const char *clean)
{
	if (!clean || w <= 0)
		return 0;
	attrset(theme_attr(role));
	int used = put_clean(y, x, w, clean);
	attrset(theme_attr(ROLE_NORMAL));
	return used;
}

int widget_text_right(int y, int x, int w, enum tui_role role, const char *text)
{
	char buf[TEXT_MAX];
	if (!text || w <= 0)
		return 0;
	sanitize_display(text, strlen(text), buf, sizeof buf);
	int tw = sanitize_width(buf);
	int pad = tw < w ? w - tw : 0;
	attrset(theme_attr(role));
	int used = put_clean(y, x + pad, w - pad, buf);
	attrset(theme_attr(ROLE_NORMAL));
	return used;
}

int widget_printf(int y, int x, int w, enum tui_role role, const char *fmt, ...)
{
	char buf[TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return widget_text(y, x, w, role, buf);
}

void widget_clear(struct tui_rect r, enum tui_role role)
{
	attrset(theme_attr(role));
	for (int i = 0; i < r.h; i++)
		mvhline(r.y + i, r.x, ' ', r.w);
	attrset(theme_attr(ROLE_NORMAL));
}

struct tui_rect widget_box(struct tui_rect r, const char *title, bool focused)
{
	if (r.h < 2 || r.w < 2)
		return (struct tui_rect){r.y, r.x, 0, 0};
	attrset(theme_attr(focused ? ROLE_FOCUS : ROLE_BORDER));
	mvhline(r.y, r.x + 1, ACS_HLINE, r.w - 2);
	mvhline(r.y + r.h - 1, r.x + 1, ACS_HLINE, r.w - 2);
	mvvline(r.y + 1, r.x, ACS_VLINE, r.h - 2);
	mvvline(r.y + 1, r.x + r.w - 1, ACS_VLINE, r.h - 2);
	mvaddch(r.y, r.x, ACS_ULCORNER);
	mvaddch(r.y, r.x + r.w - 1, ACS_URCORNER);
	mvaddch(r.y + r.h - 1, r.x, ACS_LLCORNER);
	mvaddch(r.y + r.h - 1, r.x + r.w - 1, ACS_LRCORNER);
	attrset(theme_attr(ROLE_NORMAL));
	if (title && r.w > 6) {
		char t[256];
		snprintf(t, sizeof t, " %s ", title);
		widget_text(r.y, r.x + 2, r.w - 4, focused ? ROLE_FOCUS : ROLE_TITLE, t);
	}
	return (struct tui_rect){r.y + 1, r.x + 1, r.h - 2, r.w - 2};
}

/* ---- table ---- */

void widget_table_init(struct widget_table *t, size_t ncols,
		       const char *const *headers,
		       const char *(*cell)(void *ud, size_t row, size_t col),
		       void *ud)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->headers = headers;
	t->cell = cell;
	t->ud = ud;
}

void widget_table_finish(struct widget_table *t)
{
	free(t->visible);
	free(t->want);
	t->visible = NULL;
	t->want = NULL;
	t->nrows = t->nvisible = 0;
}

bool widget_table_set_rows(struct widget_table *t, size_t nrows)
{
	size_t *vis = malloc((nrows ? nrows : 1) * sizeof *vis);
	int *want = calloc(t->ncols ? t->ncols : 1, sizeof *want);
	if (!vis || !want) {
		free(vis);
		free(want);
		return false;
	}
	free(t->visible);
	free(t->want);
	t->visible = vis;
	t->want = want;
	t->nrows = nrows;
	for (size_t c = 0; c < t->ncols; c++) {
		int w = (int)strlen(t->headers[c]);
		t->want[c] = w < CELL_WANT_MAX ? w : CELL_WANT_MAX;
	}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cell(t->ud, r, c);
			/* Escapes widen a cell: measure what will be drawn. */
			int w = s ? (int)sanitize_display(s, strlen(s), NULL, 0) : 0;
			if (w > t->want[c])
				t->want[c] = w < CELL_WANT_MAX ? w : CELL_WANT_MAX;
		}
	}
	t->filter[0] = '\0';
	for (size_t r = 0; r < nrows; r++)
		vis[r] = r;
	t->nvisible = nrows;
	t->selected = t->offset = 0;
	return true;
}

static bool contains_nocase(const char *hay, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	for (; *hay; hay++) {
		size_t i = 0;
		while (i < nlen && hay[i] &&
		       tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
			i++;
		if (i == nlen)
			return true;
	}
	return false;
}

void widget_table_filter(struct widget_table *t, const char *text)
{
	size_t keep = widget_table_current(t);
	snprintf(t->filter, sizeof t->filter, "%s", text ? text : "");
	size_t nlen = strlen(t->filter);
	t->nvisible = 0;
	t->selected = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		bool hit = false;
		for (size_t c = 0; c < t->ncols && !hit; c++) {
			const char *s = t->cell(t->ud, r, c);
			hit = s && contains_nocase(s, t->filter, nlen);
		}
		if (!hit)
			continue;
		if (r == keep)
			t->selected = t->nvisible;
		t->visible[t->nvisible++] = r;
	}
	t->offset = layout_scroll(0, t->selected, (size_t)(t->page > 0 ? t->page : 1),
				  t->nvisible);
}

size_t widget_table_current(const struct widget_table *t)
{
	if (t->selected >= t->nvisible)
		return SIZE_MAX;
	return t->visible[t->selected];
}

static bool move_key(size_t *selected, enum keymap_action a, size_t n, int page)
{
	long p = page > 1 ? page - 1 : 1;
	switch (a) {
	case ACT_UP:
		*selected = layout_move(*selected, -1, n);
		return true;
	case ACT_DOWN:
		*selected = layout_move(*selected, 1, n);
		return true;
	case ACT_PAGE_UP:
		*selected = layout_move(*selected, -p, n);
		return true;
	case ACT_PAGE_DOWN:
		*selected = layout_move(*selected, p, n);
		return true;
	case ACT_HOME:
		*selected = 0;
		return true;
	case ACT_END:
		*selected = n ? n - 1 : 0;
		return true;
	default:
		return false;
	}
}

bool widget_table_key(struct widget_table *t, enum keymap_action a)
{
	return move_key(&t->selected, a, t->nvisible, t->page);
}

void widget_table_draw(struct widget_table *t, struct tui_rect r, bool focused)
{
	if (r.h < 2 || r.w < 4)
		return;
	int got[64];
	size_t ncols = t->ncols < 64 ? t->ncols : 64;
	layout_columns(t->want, ncols, r.w, 4, got);
	int x = r.x;
	for (size_t c = 0; c < ncols && x < r.x + r.w; c++) {
		widget_text(r.y, x, r.x + r.w - x < got[c] ? r.x + r.w - x : got[c],
			    ROLE_TITLE, t->headers[c]);
		x += got[c] + 1;
	}
	t->page = r.h - 1;
	t->offset = layout_scroll(t->offset, t->selected, (size_t)t->page, t->nvisible);
	for (int i = 0; i < t->page; i++) {
		size_t k = t->offset + (size_t)i;
		if (k >= t->nvisible)
			break;
		size_t row = t->visible[k];
		bool sel = k == t->selected;
		enum tui_role role = sel ? (focused ? ROLE_SELECTED : ROLE_FOCUS) : ROLE_NORMAL;
		if (sel)
			widget_clear((struct tui_rect){r.y + 1 + i, r.x, 1, r.w}, role);
		x = r.x;
		for (size_t c = 0; c < ncols && x < r.x + r.w; c++) {
			int w = r.x + r.w - x < got[c] ? r.x + r.w - x : got[c];
			widget_text(r.y + 1 + i, x, w, role, t->cell(t->ud, row, c));
			x += got[c] + 1;
		}
	}
	if (t->nvisible == 0)
		widget_text(r.y + 1, r.x, r.w, ROLE_MUTED,
			    t->filter[0] ? "no rows match the filter" : "no rows");
}

/* ---- form ---- */

bool widget_form_key(struct widget_form *f, enum keymap_action a, size_t n)
{
	return move_key(&f->selected, a, n, f->page);
}

void widget_form_draw(struct widget_form *f, const struct widget_form_field *fields,
		      size_t n, struct tui_rect r, bool focused)
{
	if (r.h < 1 || r.w < 10)
		return;
	int label_w = 0;
	for (size_t i = 0; i < n; i++) {
		int w = (int)strlen(fields[i].label);
		if (w > label_w)
			label_w = w;
	}
	if (label_w > r.w / 2)
		label_w = r.w / 2;
	f->page = r.h;
	if (f->selected >= n)
		f->selected = n ? n - 1 : 0;
	f->offset = layout_scroll(f->offset, f->selected, (size_t)r.h, n);
	for (int i = 0; i < r.h; i++) {
		size_t k = f->offset + (size_t)i;
		if (k >= n)
			break;
		const struct widget_form_field *fl = &fields[k];
		bool sel = k == f->selected;
		int y = r.y + i;
		if (sel)
			widget_clear((struct tui_rect){y, r.x, 1, r.w},
				     focused ? ROLE_SELECTED : ROLE_FOCUS);
		enum tui_role base = sel ? (focused ? ROLE_SELECTED : ROLE_FOCUS) : ROLE_NORMAL;
		widget_text(y, r.x, label_w, base, fl->label);
		int vx = r.x + label_w + 1, vw = r.w - label_w - 1;
		enum tui_role vrole = sel ? base : fl->changed ? ROLE_ACCENT
					: fl->value ? ROLE_NORMAL : ROLE_MUTED;
		char v[600];
		const char *shown = fl->value ? fl->value : "(missing)";
		/* The arrows are ours, not data: draw them unsanitised by
		 * sanitising the value alone. */
		char clean[512];
		sanitize_display(shown, strlen(shown), clean, sizeof clean);
		if (fl->categorical)
			snprintf(v, sizeof v, "%s %s %s", unicode ? "\u2039" : "<", clean,
				 unicode ? "\u203a" : ">");
		else
			snprintf(v, sizeof v, "%s", clean);
		attrset(theme_attr(vrole));
		put_clean(y, vx, vw, v);
		if (fl->changed && vw > 2) {
			attrset(theme_attr(sel ? base : ROLE_ACCENT));
			mvaddstr(y, r.x + r.w - 1, "*");
		}
		attrset(theme_attr(ROLE_NORMAL));
	}
}

/* ---- bars, gauge, progress, sparkline ---- */

static void hbar(int y, int x, int cells, enum tui_role role)
{
	attrset(theme_attr(role));
	for (int i = 0; i < cells; i++)
		mvaddstr(y, x + i, unicode ? "\u2588" : "#");
	attrset(theme_attr(ROLE_NORMAL));
}

void widget_bars(const struct widget_bar_item *items, size_t n, double scale,
		 struct tui_rect r)
{
	if (r.w < 20 || r.h < 1)
		return;
	if (!(scale > 0)) {
		scale = 0;
		for (size_t i = 0; i < n; i++)
			scale = fmax(scale, fabs(items[i].value));
	}
	int label_w = 0;
	for (size_t i = 0; i < n && (int)i < r.h; i++) {
		int w = (int)strlen(items[i].label);
		if (w > label_w)
			label_w = w;
	}
	if (label_w > r.w * 2 / 5)
		label_w = r.w * 2 / 5;
	int value_w = 8;
	int bar_w = r.w - label_w - value_w - 2;
	int half = bar_w / 2;
	int centre = r.x + label_w + 1 + half;
	for (size_t i = 0; i < n && (int)i < r.h; i++) {
		int y = r.y + (int)i;
		widget_text(y, r.x, label_w, ROLE_NORMAL, items[i].label);
		bool neg;
		int cells = layout_signed_bar(items[i].value, scale, half, &neg);
		attrset(theme_attr(ROLE_MUTED));
		mvaddch(y, centre, unicode ? ACS_VLINE : '|');
		attrset(theme_attr(ROLE_NORMAL));
		if (neg)
			hbar(y, centre - cells, cells, ROLE_BAR_NEG);
		else
			hbar(y, centre + 1, cells, ROLE_BAR_POS);
		widget_printf(y, r.x + r.w - value_w, value_w,
			      neg ? ROLE_BAR_NEG : ROLE_BAR_POS, "%+8.3f", items[i].value);
	}
}

static void fill_bar(int y, int x, int w, double fraction, enum tui_role role)
{
	static const char *const eighth[8] = {
		"", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589",
	};
	int rest;
	int full = layout_fill(fraction, w, &rest);
	hbar(y, x, full, role);
	attrset(theme_attr(ROLE_MUTED));
	for (int i = full; i < w; i++)
		mvaddstr(y, x + i, unicode ? "\u2591" : ".");
	if (full < w && rest) {
		attrset(theme_attr(role));
		mvaddstr(y, x + full, unicode ? eighth[rest] : "#");
	}
	attrset(theme_attr(ROLE_NORMAL));
}

void widget_gauge(int y, int x, int w, double fraction, enum tui_role role,
		  const char *text)
{
	int tw = text ? (int)strlen(text) + 1 : 0;
	int bw = w - tw;
	if (bw < 4) {
		widget_text(y, x, w, role, text);
		return;
	}
	fill_bar(y, x, bw, fraction, role);
	widget_text(y, x + bw + 1, tw - 1, role, text);
}

void widget_progress(int y, int x, int w, const char *label, double fraction)
{
	char pct[16];
	if (!isfinite(fraction))
		fraction = 0;
	snprintf(pct, sizeof pct, "%3.0f%%", fmin(fmax(fraction, 0), 1) * 100);
	int lw = widget_text(y, x, w / 3, ROLE_NORMAL, label);
	int bw = w - lw - 1 - 5;
	if (bw >= 4)
		fill_bar(y, x + lw + 1, bw, fraction, ROLE_ACCENT);
	widget_text(y, x + w - 4, 4, ROLE_NORMAL, pct);
}

void widget_sparkline(int y, int x, const double *values, size_t n,
		      enum tui_role role)
{
	static const char *const uni[8] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
	};
	static const char ascii[] = "_.-:=+*#";
	int levels[256];
	if (n > 256)
		n = 256;
	layout_sparkline(values, n, levels);
	attrset(theme_attr(role));
	for (size_t i = 0; i < n; i++) {
		if (levels[i] < 0)
			mvaddstr(y, x + (int)i, " ");
		else if (unicode)
			mvaddstr(y, x + (int)i, uni[levels[i]]);
		else
			mvaddch(y, x + (int)i, (chtype)ascii[levels[i]]);
	}
	attrset(theme_attr(ROLE_NORMAL));
}

/* ---- dialog ---- */

size_t widget_dialog(struct tui_rect area, const char *title, const char *text,
		     const char *footer, size_t scroll, size_t *shown)
{
	enum { MAXL = 512 };
	size_t starts[MAXL], lens[MAXL];
	const char *raw = text ? text : "";
	size_t need = sanitize_display(raw, strlen(raw), NULL, 0) + 1;
	char *clean = malloc(need);
	if (clean)
		sanitize_display(raw, strlen(raw), clean, need);
	if (!clean) {
		*shown = 0;
		return 0;
	}
	int w = area.w - 4 > 100 ? 100 : area.w - 4;
	size_t nl = layout_wrap(clean, w - 4, starts, lens, MAXL);
	size_t keep = nl < MAXL ? nl : MAXL;
	int h = (int)keep + 4 > area.h - 2 ? area.h - 2 : (int)keep + 4;
	struct tui_rect r = layout_center(area, h, w);
	widget_clear(r, ROLE_DIALOG);
	attrset(theme_attr(ROLE_DIALOG));
	struct tui_rect in = widget_box(r, title, true);
	int rows = in.h - 1;
	if (rows < 0)
		rows = 0;
	*shown = (size_t)rows;
	if (scroll > keep)
		scroll = keep;
	attrset(theme_attr(ROLE_DIALOG));
	for (int i = 0; i < rows && scroll + (size_t)i < keep; i++) {
		size_t k = scroll + (size_t)i;
		char line[1024];
		size_t len = lens[k] < sizeof line - 1 ? lens[k] : sizeof line - 1;
		memcpy(line, clean + starts[k], len);
		line[len] = '\0';
		attrset(theme_attr(ROLE_DIALOG));
		put_clean(in.y + i, in.x + 1, in.w - 2, line);
	}
	if (footer && in.h > 0)
		widget_text(in.y + in.h - 1, in.x + 1, in.w - 2, ROLE_MUTED, footer);
	attrset(theme_attr(ROLE_NORMAL));
	free(clean);
	return keep;
}
