/* widgets: the drawing parts views are made of.
 *
 * Everything here draws on stdscr with semantic roles (tui/theme.h) and only
 * ever runs on the UI thread. Text from outside is sanitised on the way
 * out (sanitize_display() in core/sanitize.h): a widget can be handed a raw
 * CSV cell, or a core error message that escaped a server's words already,
 * safely and without escaping those escapes twice.
 * Geometry comes from tui/layout.h, which is where the arithmetic is tested.
 *
 * A widget that keeps state between frames (table, form) is a struct the
 * view owns: _init/_finish when the view embeds it; key handlers return true
 * when they used the key and never draw.
 */
#ifndef CHURNOPS_TUI_WIDGETS_H
#define CHURNOPS_TUI_WIDGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "keymap.h"
#include "layout.h"
#include "theme.h"

/* True when the terminal's locale is UTF-8, so block and line characters
 * can be drawn (set once by the app; ASCII fallbacks otherwise). */
void widget_set_unicode(bool on);
bool widget_unicode(void);

/* Draws TEXT (raw: sanitised here) at Y, X, clipped to W columns, in ROLE.
 * Returns the columns used. */
int widget_text(int y, int x, int w, enum tui_role role, const char *text);

/* As widget_text() for text already sanitised (sanitize_display()), which
 * is drawn as it is. */
int widget_text_clean(int y, int x, int w, enum tui_role role, const char *clean);

/* As widget_text(), right-aligned in W columns. */
int widget_text_right(int y, int x, int w, enum tui_role role, const char *text);

/* printf into widget_text(). */
int widget_printf(int y, int x, int w, enum tui_role role, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Fills R with blanks in ROLE. */
void widget_clear(struct tui_rect r, enum tui_role role);

/* A border around R with TITLE on its top edge (highlighted when FOCUSED);
 * returns the inside rectangle. */
struct tui_rect widget_box(struct tui_rect r, const char *title, bool focused);

/* A table: rows and cells come from CELL(UD, row, col), any text. The
 * table keeps the filtered list of row indices, the selection and the
 * scroll offset. */
struct widget_table {
	size_t ncols;
	const char *const *headers;
	const char *(*cell)(void *ud, size_t row, size_t col);
	void *ud;
	size_t nrows;        /* rows behind the table */
	size_t *visible;     /* rows passing the filter, in order (owned) */
	size_t nvisible;
	size_t selected;     /* index into visible */
	size_t offset;       /* first visible index drawn */
	int *want;           /* per column: widest content (capped), owned */
	char filter[128];
	int page;            /* rows shown in the last frame */
};

void widget_table_init(struct widget_table *t, size_t ncols,
		       const char *const *headers,
		       const char *(*cell)(void *ud, size_t row, size_t col),
		       void *ud);
/* Sets the row count (rows are read through CELL), clears the filter and
 * measures the columns. Returns false when out of memory. */
bool widget_table_set_rows(struct widget_table *t, size_t nrows);
/* Keeps the rows where some cell contains TEXT (ASCII case-insensitive);
 * "" shows all. The selection stays on the same row when it still shows. */
void widget_table_filter(struct widget_table *t, const char *text);
/* The selected row (an index into the rows), or SIZE_MAX when none. */
size_t widget_table_current(const struct widget_table *t);
/* Movement keys (ACT_UP, ACT_PAGE_DOWN ...); true when used. */
bool widget_table_key(struct widget_table *t, enum keymap_action a);
void widget_table_draw(struct widget_table *t, struct tui_rect r, bool focused);
void widget_table_finish(struct widget_table *t);

/* A form: one line per field, label and value; categorical values show
 * arrows to say left/right cycle them. The owner keeps the values. */
struct widget_form_field {
	const char *label;
	const char *value;   /* NULL: missing */
	bool categorical;
	bool changed;        /* differs from the original: highlighted */
};

struct widget_form {
	size_t selected, offset;
	int page;
};

void widget_form_draw(struct widget_form *f, const struct widget_form_field *fields,
		      size_t n, struct tui_rect r, bool focused);
/* Up/down/page/home/end move the selection; true when used. */
bool widget_form_key(struct widget_form *f, enum keymap_action a, size_t n);

/* Signed horizontal bars around a centre line: one row per item, label on
 * the left, bar, then the value. Positive values draw in ROLE_BAR_POS to the
 * right, negative ones in ROLE_BAR_NEG to the left, scaled so that SCALE
 * (the largest |value| when 0) fills half the bar area. */
struct widget_bar_item {
	const char *label;
	double value;
};
void widget_bars(const struct widget_bar_item *items, size_t n, double scale,
		 struct tui_rect r);

/* A horizontal gauge: FRACTION of W cells filled in ROLE, TEXT after it. */
void widget_gauge(int y, int x, int w, double fraction, enum tui_role role,
		  const char *text);

/* A progress bar with a label: "LABEL [#####     ] 42%". */
void widget_progress(int y, int x, int w, const char *label, double fraction);

/* A sparkline of N values (non-finite ones are gaps) at Y, X. */
void widget_sparkline(int y, int x, const double *values, size_t n,
		      enum tui_role role);

/* A framed dialog centred in AREA with TITLE, wrapped TEXT (raw) starting
 * at line SCROLL, and a FOOTER line of key hints. Returns how many lines
 * the wrapped text has and stores in *SHOWN how many fit. */
size_t widget_dialog(struct tui_rect area, const char *title, const char *text,
		     const char *footer, size_t scroll, size_t *shown);

#endif
