/* Unit tests for core/sanitize: what outside text looks like once it is safe
 * to draw, and how wide it is. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

static void expect(const char *in, const char *want)
{
	char *got = sanitize_dup(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	/* Safe to draw: no C0 control, DEL or ESC byte left. */
	for (const char *p = got; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	assert_int_equal(sanitize_is_clean(in), strcmp(in, want) == 0);
	free(got);
}

static void test_plain_text_unchanged(void **state)
{
	(void)state;
	expect("", "");
	expect("Month-to-month", "Month-to-month");
	expect("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac");
}

static void test_controls_escaped(void **state)
{
	(void)state;
	expect("a\tb\nc\rd", "a\\x09b\\x0ac\\x0dd");
	expect("\x7f", "\\x7f");
	expect("nul\x01", "nul\\x01");
	/* The whole escape sequence is harmless once its ESC is shown. */
	expect("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	expect("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07");
	/* C1 controls, e.g. CSI as U+009B. */
	expect("\xc2\x9b" "2J", "\\u009b2J");
}

static void test_bidi_escaped(void **state)
{
	(void)state;
	expect("abc\xe2\x80\xae" "def", "abc\\u202edef");
	expect("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");
	expect("\xe2\x80\x8f", "\\u200f");
}

static void test_zero_width_escaped(void **state)
{
	(void)state;
	/* "prod" and "pr<ZWSP>od" must not look alike. */
	expect("pr\xe2\x80\x8bod", "pr\\u200bod");
	expect("a\xe2\x80\x8d" "b\xe2\x81\xa0" "c", "a\\u200db\\u2060c");
	expect("\xef\xbb\xbfid", "\\ufeffid");
}

static void test_invalid_utf8_escaped(void **state)
{
	(void)state;
	expect("\xff", "\\xff");
	expect("a\xc3", "a\\xc3");              /* truncated */
	expect("\xc0\xaf", "\\xc0\\xaf");        /* overlong '/' */
	expect("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	expect("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
}

static void test_backslash_doubled(void **state)
{
	(void)state;
	expect("C:\\x1b", "C:\\\\x1b");
}

static void test_display_keeps_backslashes(void **state)
{
	(void)state;
	/* A message escaped once (by core) is drawn as it is, while what a
	 * terminal would interpret is still escaped. */
	char out[64];
	const char *in = "err \\x1b[2J and \x1b]0;t\x07";
	size_t need = sanitize_display(in, strlen(in), out, sizeof out);
	assert_string_equal(out, "err \\x1b[2J and \\x1b]0;t\\x07");
	assert_int_equal(need, strlen(out));
}

static void test_truncation_at_boundaries(void **state)
{
	(void)state;
	char out[6];
	/* "\x1b" needs 4 bytes: "ab" + 4 would need 7 with the NUL. */
	size_t need = sanitize_text("ab\x1b" "c", 4, out, sizeof out);
	assert_int_equal(need, 7);
	assert_string_equal(out, "ab");
	/* A UTF-8 sequence is never split. */
	need = sanitize_text("abcd\xc3\xa9", 6, out, sizeof out);
	assert_int_equal(need, 6);
	assert_string_equal(out, "abcd");
	assert_int_equal(sanitize_text("x", 1, NULL, 0), 1);
}

static void test_width_and_clip(void **state)
{
	(void)state;
	assert_int_equal(sanitize_width("abc"), 3);
	assert_int_equal(sanitize_width("caf\xc3\xa9"), 4);
	assert_int_equal(sanitize_width("\xe6\x97\xa5\xe6\x9c\xac"), 4); /* two wide */
	int w;
	/* A wide character that would straddle the edge is left out. */
	assert_int_equal(sanitize_clip("a\xe6\x97\xa5" "b", 2, &w), 1);
	assert_int_equal(w, 1);
	assert_int_equal(sanitize_clip("a\xe6\x97\xa5" "b", 3, &w), 4);
	assert_int_equal(w, 3);
	assert_int_equal(sanitize_clip("hello", 0, &w), 0);
	assert_int_equal(sanitize_clip("hello", 99, &w), 5);
	assert_int_equal(w, 5);
}

int main(void)
{
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		return 77; /* widths need a UTF-8 locale: skip */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_unchanged),
		cmocka_unit_test(test_controls_escaped),
		cmocka_unit_test(test_bidi_escaped),
		cmocka_unit_test(test_zero_width_escaped),
		cmocka_unit_test(test_invalid_utf8_escaped),
		cmocka_unit_test(test_backslash_doubled),
		cmocka_unit_test(test_display_keeps_backslashes),
		cmocka_unit_test(test_truncation_at_boundaries),
		cmocka_unit_test(test_width_and_clip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
