/* layout: the geometry of the console and its widgets, with no curses.
 *
 * Every decision about where things go and how much of a bar is filled is
 * made here, as plain arithmetic on integers and doubles, so it can be unit
 * tested without a terminal; tui/widgets.c only turns the answers into
 * curses calls.
 */
#ifndef CHURNOPS_TUI_LAYOUT_H
#define CHURNOPS_TUI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

/* Below this size the console shows only a message asking for more room. */
#define LAYOUT_MIN_COLS 60
#define LAYOUT_MIN_ROWS 15

struct tui_rect {
	int y, x, h, w;
};

/* The screen's fixed parts: a header line at the top, a status line at the
 * bottom and the body between them. */
struct layout_screen {
	struct tui_rect header, body, status;
	bool too_small; /* below LAYOUT_MIN_COLS x LAYOUT_MIN_ROWS */
};

struct layout_screen layout_screen(int rows, int cols);

/* Splits R side by side: the left part gets FRAC of the width (at least
 * MIN_LEFT columns when there is room), the right part the rest minus a
 * one-column gap. When R is narrower than MIN_LEFT + MIN_RIGHT + 1 the split
 * is vertical instead (left on top, right below, FRAC of the height). */
void layout_split(struct tui_rect r, double frac, int min_left, int min_right,
		  struct tui_rect *left, struct tui_rect *right);

/* A rectangle of at most H x W centred in R (clamped to R). */
struct tui_rect layout_center(struct tui_rect r, int h, int w);

/* The first visible row of a list of COUNT rows, VISIBLE at a time, so that
 * SELECTED is visible, moving OFFSET as little as possible. */
size_t layout_scroll(size_t offset, size_t selected, size_t visible,
		     size_t count);

/* Moves a selection by DELTA within [0, COUNT), clamped; 0 when empty. */
size_t layout_move(size_t selected, long delta, size_t count);

/* A signed horizontal bar around a centre line. The bar for VALUE, scaled so
 * that |SCALE| fills HALF cells, extends left (negative) or right (positive)
 * of the centre by the returned number of cells (0..HALF, rounded; a
 * non-zero value never rounds to an empty bar when HALF > 0). */
int layout_signed_bar(double value, double scale, int half, bool *negative);

/* Cells of a WIDTH-wide gauge or progress bar filled for FRACTION in [0, 1]
 * (clamped), in eighths of a cell: returns whole cells and stores the
 * remaining eighths (0..7) in *EIGHTHS if non-NULL. */
int layout_fill(double fraction, int width, int *eighths);

/* A sparkline level 0..7 for each of N values between their minimum and
 * maximum (all 3 when they are equal). Non-finite values get -1. */
void layout_sparkline(const double *values, size_t n, int *levels);

/* The dot of a W x H dot plot (column 0 on the left, row 0 at the top)
 * for the point (T, V) of a chart spanning times T0..T1 and values LO (the
 * bottom row) .. HI (the top row), rounded to the nearest dot. Returns false,
 * storing nothing, when the point is not finite, falls outside, or the
 * spans are empty. */
bool layout_plot_dot(double t, double v, double t0, double t1, double lo, double hi,
		     int w, int h, int *x, int *y);

/* The bit of the dot in column DX (0, 1) and row DY (0 at the top .. 3) of
 * a braille cell: the character is U+2800 plus the bits of its dots. */
unsigned layout_braille_bit(int dx, int dy);

/* Shares TOTAL columns between N columns whose content wants WANT[i]
 * columns, with one column of gap between neighbours: every column gets at
 * least MIN(WANT[i], MINW); columns that want more are cut, widest first,
 * until the row fits. Writes GOT[i]; returns the width used. */
int layout_columns(const int *want, size_t n, int total, int minw, int *got);

/* Word-wraps the clean (sanitised) TEXT to WIDTH display columns: stores in
 * STARTS/LENS up to MAX lines and returns how many lines the whole text
 * needs. Long words are cut. Newlines force a break. */
size_t layout_wrap(const char *text, int width, size_t *starts, size_t *lens,
		   size_t max);

#endif
