#include "layout.h"

#include <math.h>
#include <string.h>

#include "sanitize.h"

struct layout_screen layout_screen(int rows, int cols)
{
	struct layout_screen s;
	memset(&s, 0, sizeof s);
	s.too_small = rows < LAYOUT_MIN_ROWS || cols < LAYOUT_MIN_COLS;
	if (rows < 3 || cols < 1) {
		s.body = (struct tui_rect){0, 0, rows > 0 ? rows : 0, cols > 0 ? cols : 0};
		return s;
	}
	s.header = (struct tui_rect){0, 0, 1, cols};
	s.status = (struct tui_rect){rows - 1, 0, 1, cols};
	s.body = (struct tui_rect){1, 0, rows - 2, cols};
	return s;
}

void layout_split(struct tui_rect r, double frac, int min_left, int min_right,
		  struct tui_rect *left, struct tui_rect *right)
{
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	*left = r;
	*right = r;
	if (r.w >= min_left + min_right + 1) {
		int lw = (int)lround((r.w - 1) * frac);
		if (lw < min_left)
			lw = min_left;
		if (r.w - 1 - lw < min_right)
			lw = r.w - 1 - min_right;
		left->w = lw;
		right->x = r.x + lw + 1;
		right->w = r.w - lw - 1;
	} else {
		int lh = (int)lround(r.h * frac);
		if (lh > r.h)
			lh = r.h;
		left->h = lh;
		right->y = r.y + lh;
		right->h = r.h - lh;
	}
}

struct tui_rect layout_center(struct tui_rect r, int h, int w)
{
	if (h > r.h)
		h = r.h;
	if (w > r.w)
		w = r.w;
	if (h < 0)
		h = 0;
	if (w < 0)
		w = 0;
	return (struct tui_rect){r.y + (r.h - h) / 2, r.x + (r.w - w) / 2, h, w};
}

size_t layout_scroll(size_t offset, size_t selected, size_t visible,
		     size_t count)
{
	if (count == 0 || visible == 0)
		return 0;
	if (selected >= count)
		selected = count - 1;
	if (selected < offset)
		offset = selected;
	else if (selected >= offset + visible)
		offset = selected - visible + 1;
	/* No empty rows at the bottom while there are rows above. */
	if (count > visible && offset > count - visible)
		offset = count - visible;
	if (count <= visible)
		offset = 0;
	return offset;
}

size_t layout_move(size_t selected, long delta, size_t count)
{
	if (count == 0)
		return 0;
	long s = (long)selected + delta;
	if (s < 0)
		s = 0;
	if ((size_t)s >= count)
		s = (long)count - 1;
	return (size_t)s;
}

int layout_signed_bar(double value, double scale, int half, bool *negative)
{
	*negative = value < 0;
	if (half <= 0 || !isfinite(value) || !(fabs(scale) > 0))
		return 0;
	double cells = fabs(value) / fabs(scale) * half;
	int n = (int)lround(cells);
	if (n == 0 && value != 0)
		n = 1;
	if (n > half)
		n = half;
	return n;
}

int layout_fill(double fraction, int width, int *eighths)
{
	if (!isfinite(fraction) || fraction < 0)
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	if (width < 0)
		width = 0;
	long total = lround(fraction * width * 8);
	if (eighths)
		*eighths = (int)(total % 8);
	return (int)(total / 8);
}

void layout_sparkline(const double *values, size_t n, int *levels)
{
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]))
			continue;
		lo = fmin(lo, values[i]);
		hi = fmax(hi, values[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i]))
			levels[i] = -1;
		else if (!(hi > lo))
			levels[i] = 3;
		else
			levels[i] = (int)lround((values[i] - lo) / (hi - lo) * 7);
	}
}

bool layout_plot_dot(double t, double v, double t0, double t1, double lo, double hi,
		     int w, int h, int *x, int *y)
{
	if (!isfinite(t) || !isfinite(v) || !(t1 > t0) || !(hi > lo) || w < 1 || h < 1)
		return false;
	if (t < t0 || t > t1 || v < lo || v > hi)
		return false;
	*x = (int)lround((t - t0) / (t1 - t0) * (w - 1));
	*y = (int)lround((hi - v) / (hi - lo) * (h - 1));
	return true;
}

unsigned layout_braille_bit(int dx, int dy)
{
	/* Unicode numbers a cell's dots 1-2-3 down the left, 4-5-6 down the
	 * right, then 7 and 8 along the bottom. */
	static const unsigned bits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
	if (dx < 0 || dx > 1 || dy < 0 || dy > 3)
		return 0;
	return bits[dx][dy];
}

int layout_columns(const int *want, size_t n, int total, int minw, int *got)
{
	if (n == 0)
		return 0;
	int used = (int)n - 1;
	for (size_t i = 0; i < n; i++) {
		got[i] = want[i] > 0 ? want[i] : 0;
		used += got[i];
	}
	while (used > total) {
		size_t widest = n;
		for (size_t i = 0; i < n; i++)
			if (got[i] > minw && (widest == n || got[i] > got[widest]))
				widest = i;
		if (widest == n)
			break;
		/* Cut the widest column down to the next widest, or just
		 * enough, whichever is less. */
		int next = minw;
		for (size_t i = 0; i < n; i++)
			if (i != widest && got[i] < got[widest] && got[i] > next)
				next = got[i];
		int cut = got[widest] - next;
		if (cut > used - total)
			cut = used - total;
		if (cut < 1)
			cut = 1;
		got[widest] -= cut;
		used -= cut;
	}
	return used;
}

size_t layout_wrap(const char *text, int width, size_t *starts, size_t *lens,
		   size_t max)
{
	size_t nlines = 0, i = 0, len = strlen(text);
	if (width < 1)
		width = 1;
	while (i <= len) {
		const char *line = text + i;
		const char *nl = strchr(line, '\n');
		size_t avail = nl ? (size_t)(nl - line) : len - i;
		size_t take;
		/* Measure the longest prefix that fits, without copying:
		 * sanitize_clip() stops at the NUL, so clip a bounded copy of
		 * at most the line's bytes. */
		char buf[1024];
		size_t n = avail < sizeof buf - 1 ? avail : sizeof buf - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
		take = sanitize_clip(buf, width, NULL);
		size_t next_skip = 0;
		if (take < avail) {
			size_t sp = take;
			while (sp > 0 && line[sp] != ' ')
				sp--;
			if (sp > 0) {
				take = sp;
				next_skip = 1;
			} else if (take == 0) {
				take = 1;
			}
		} else {
			next_skip = nl ? 1 : 0;
		}
		if (nlines < max) {
			starts[nlines] = i;
			lens[nlines] = take;
		}
		nlines++;
		i += take + next_skip;
		if (take >= avail && !nl)
			break;
	}
	return nlines;
}
