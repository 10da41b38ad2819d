/* Unit tests for tui/layout: the geometry behind every widget, checked
 * without a terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <string.h>

#include "layout.h"

static void test_screen_parts(void **state)
{
	(void)state;
	struct layout_screen s = layout_screen(40, 120);
	assert_false(s.too_small);
	assert_int_equal(s.header.y, 0);
	assert_int_equal(s.header.h, 1);
	assert_int_equal(s.status.y, 39);
	assert_int_equal(s.body.y, 1);
	assert_int_equal(s.body.h, 38);
	assert_int_equal(s.body.w, 120);
	assert_false(layout_screen(15, 60).too_small);
	assert_true(layout_screen(14, 60).too_small);
	assert_true(layout_screen(15, 59).too_small);
	s = layout_screen(1, 1);
	assert_true(s.too_small);
}

static void test_split_side_by_side_and_stacked(void **state)
{
	(void)state;
	struct tui_rect l, r;
	layout_split((struct tui_rect){1, 0, 20, 101}, 0.5, 20, 20, &l, &r);
	assert_int_equal(l.w, 50);
	assert_int_equal(r.x, 51);
	assert_int_equal(r.w, 50);
	assert_int_equal(l.h, 20);
	/* Minimums win over the fraction. */
	layout_split((struct tui_rect){0, 0, 10, 60}, 0.1, 26, 30, &l, &r);
	assert_int_equal(l.w, 26);
	assert_int_equal(r.w, 33);
	layout_split((struct tui_rect){0, 0, 10, 60}, 0.9, 20, 30, &l, &r);
	assert_int_equal(r.w, 30);
	assert_int_equal(l.w + 1 + r.w, 60);
	/* Too narrow: stacked. */
	layout_split((struct tui_rect){2, 0, 10, 40}, 0.4, 26, 30, &l, &r);
	assert_int_equal(l.w, 40);
	assert_int_equal(l.h, 4);
	assert_int_equal(r.y, 6);
	assert_int_equal(r.h, 6);
}

static void test_center(void **state)
{
	(void)state;
	struct tui_rect c = layout_center((struct tui_rect){1, 0, 20, 80}, 10, 40);
	assert_int_equal(c.y, 6);
	assert_int_equal(c.x, 20);
	c = layout_center((struct tui_rect){1, 0, 5, 30}, 10, 40);
	assert_int_equal(c.h, 5);
	assert_int_equal(c.w, 30);
	assert_int_equal(c.y, 1);
}

static void test_scroll_keeps_selection_visible(void **state)
{
	(void)state;
	assert_int_equal(layout_scroll(0, 0, 10, 100), 0);
	assert_int_equal(layout_scroll(0, 9, 10, 100), 0);
	assert_int_equal(layout_scroll(0, 10, 10, 100), 1);
	assert_int_equal(layout_scroll(50, 20, 10, 100), 20);
	assert_int_equal(layout_scroll(0, 99, 10, 100), 90);
	/* No blank rows at the bottom after the list shrank. */
	assert_int_equal(layout_scroll(95, 97, 10, 100), 90);
	assert_int_equal(layout_scroll(5, 3, 10, 8), 0);
	assert_int_equal(layout_scroll(3, 0, 10, 0), 0);
	assert_int_equal(layout_scroll(3, 0, 0, 10), 0);
}

static void test_move_clamps(void **state)
{
	(void)state;
	assert_int_equal(layout_move(0, -1, 10), 0);
	assert_int_equal(layout_move(9, 1, 10), 9);
	assert_int_equal(layout_move(5, -20, 10), 0);
	assert_int_equal(layout_move(5, 2, 10), 7);
	assert_int_equal(layout_move(5, 1, 0), 0);
}

static void test_signed_bar(void **state)
{
	(void)state;
	bool neg;
	assert_int_equal(layout_signed_bar(1.0, 1.0, 20, &neg), 20);
	assert_false(neg);
	assert_int_equal(layout_signed_bar(-0.5, 1.0, 20, &neg), 10);
	assert_true(neg);
	/* Small but not zero: still one cell, so the sign shows. */
	assert_int_equal(layout_signed_bar(0.001, 1.0, 20, &neg), 1);
	assert_int_equal(layout_signed_bar(0.0, 1.0, 20, &neg), 0);
	/* Clamped to the half width; nonsense scale draws nothing. */
	assert_int_equal(layout_signed_bar(3.0, 1.0, 20, &neg), 20);
	assert_int_equal(layout_signed_bar(1.0, 0.0, 20, &neg), 0);
	assert_int_equal(layout_signed_bar(NAN, 1.0, 20, &neg), 0);
}

static void test_fill_in_eighths(void **state)
{
	(void)state;
	int e;
	assert_int_equal(layout_fill(0.5, 10, &e), 5);
	assert_int_equal(e, 0);
	assert_int_equal(layout_fill(0.55, 10, &e), 5);
	assert_int_equal(e, 4);
	assert_int_equal(layout_fill(1.5, 10, &e), 10);
	assert_int_equal(e, 0);
	assert_int_equal(layout_fill(-1, 10, &e), 0);
	assert_int_equal(layout_fill(NAN, 10, &e), 0);
	assert_int_equal(layout_fill(1, 0, &e), 0);
}

static void test_sparkline_levels(void **state)
{
	(void)state;
	double v[] = {1, 2, 3, NAN, 8};
	int lv[5];
	layout_sparkline(v, 5, lv);
	assert_int_equal(lv[0], 0);
	assert_int_equal(lv[1], 1);
	assert_int_equal(lv[2], 2);
	assert_int_equal(lv[3], -1);
	assert_int_equal(lv[4], 7);
	double flat[] = {0.85, 0.85};
	layout_sparkline(flat, 2, lv);
	assert_int_equal(lv[0], 3);
	assert_int_equal(lv[1], 3);
}

static void test_columns_cut_widest_first(void **state)
{
	(void)state;
	int want[] = {10, 40, 5};
	int got[3];
	/* Everything fits: 10 + 40 + 5 + 2 gaps. */
	assert_int_equal(layout_columns(want, 3, 80, 4, got), 57);
	assert_int_equal(got[1], 40);
	/* 47 columns: the widest gives up 10. */
	assert_int_equal(layout_columns(want, 3, 47, 4, got), 47);
	assert_int_equal(got[0], 10);
	assert_int_equal(got[1], 30);
	assert_int_equal(got[2], 5);
	/* Very narrow: nothing below the minimum, so it overflows. */
	int used = layout_columns(want, 3, 5, 4, got);
	assert_int_equal(got[0], 4);
	assert_int_equal(got[1], 4);
	assert_int_equal(got[2], 4);
	assert_int_equal(used, 14);
}

static void test_wrap(void **state)
{
	(void)state;
	size_t st[8], ln[8];
	const char *t = "churnops whatif --model m --json";
	size_t n = layout_wrap(t, 16, st, ln, 8);
	assert_int_equal(n, 2);
	assert_int_equal(st[0], 0);
	assert_int_equal(ln[0], 15); /* "churnops whatif" */
	assert_memory_equal(t + st[1], "--model m --json", ln[1]);
	n = layout_wrap("a\nb", 10, st, ln, 8);
	assert_int_equal(n, 2);
	assert_int_equal(ln[0], 1);
	assert_int_equal(st[1], 2);
	/* A word longer than the width is cut. */
	n = layout_wrap("abcdefghij", 4, st, ln, 8);
	assert_int_equal(n, 3);
	assert_int_equal(ln[2], 2);
	/* More lines than room: the count is still right. */
	assert_int_equal(layout_wrap("a b c d e f g h i j", 1, st, ln, 2), 10);
}

static void test_plot_dots(void **state)
{
	(void)state;
	int x = -1, y = -1;
	/* Corners: the start at the bottom left, the end at the top right. */
	assert_true(layout_plot_dot(100, 0.5, 100, 200, 0.5, 1.5, 20, 8, &x, &y));
	assert_int_equal(x, 0);
	assert_int_equal(y, 7);
	assert_true(layout_plot_dot(200, 1.5, 100, 200, 0.5, 1.5, 20, 8, &x, &y));
	assert_int_equal(x, 19);
	assert_int_equal(y, 0);
	/* The middle rounds to the nearest dot. */
	assert_true(layout_plot_dot(150, 1.0, 100, 200, 0.5, 1.5, 21, 9, &x, &y));
	assert_int_equal(x, 10);
	assert_int_equal(y, 4);
	/* Gaps, points outside and empty spans draw nothing. */
	x = y = -1;
	assert_false(layout_plot_dot(150, NAN, 100, 200, 0.5, 1.5, 20, 8, &x, &y));
	assert_false(layout_plot_dot(250, 1.0, 100, 200, 0.5, 1.5, 20, 8, &x, &y));
	assert_false(layout_plot_dot(150, 2.0, 100, 200, 0.5, 1.5, 20, 8, &x, &y));
	assert_false(layout_plot_dot(150, 1.0, 100, 100, 0.5, 1.5, 20, 8, &x, &y));
	assert_false(layout_plot_dot(150, 1.0, 100, 200, 1.0, 1.0, 20, 8, &x, &y));
	assert_int_equal(x, -1);
	assert_int_equal(y, -1);
	/* Braille: dots 1, 7, 4 and 8 at the corners; U+28FF is all eight. */
	assert_int_equal(layout_braille_bit(0, 0), 0x01);
	assert_int_equal(layout_braille_bit(0, 3), 0x40);
	assert_int_equal(layout_braille_bit(1, 0), 0x08);
	assert_int_equal(layout_braille_bit(1, 3), 0x80);
	unsigned all = 0;
	for (int dx = 0; dx < 2; dx++)
		for (int dy = 0; dy < 4; dy++)
			all |= layout_braille_bit(dx, dy);
	assert_int_equal(all, 0xff);
	assert_int_equal(layout_braille_bit(2, 0), 0);
}

int main(void)
{
	setlocale(LC_CTYPE, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_screen_parts),
		cmocka_unit_test(test_split_side_by_side_and_stacked),
		cmocka_unit_test(test_center),
		cmocka_unit_test(test_scroll_keeps_selection_visible),
		cmocka_unit_test(test_move_clamps),
		cmocka_unit_test(test_signed_bar),
		cmocka_unit_test(test_fill_in_eighths),
		cmocka_unit_test(test_sparkline_levels),
		cmocka_unit_test(test_plot_dots),
		cmocka_unit_test(test_columns_cut_widest_first),
		cmocka_unit_test(test_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
