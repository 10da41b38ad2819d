/* Unit tests for tui/theme: the shipped themes parse, bad files are named
 * precisely, and 256-colour themes fall back sensibly on 8 colours. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theme.h"

static void test_shipped_themes_parse(void **state)
{
	(void)state;
	static const char *const names[] = {"dark", "light", "high-contrast", "mono"};
	for (size_t i = 0; i < 4; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/themes/%s.json", SOURCE_ROOT, names[i]);
		struct theme t;
		struct err e = {0};
		if (theme_load(&t, path, &e))
			fail_msg("%s: %s", names[i], e.msg);
		assert_string_equal(t.name, names[i]);
		/* Selection must be visible in every theme. */
		assert_true(t.role[ROLE_SELECTED].attrs || t.role[ROLE_SELECTED].bg >= 0);
	}
}

static void expect_error(const char *json, const char *needle)
{
	struct theme t;
	struct err e = {0};
	assert_int_equal(theme_parse(&t, json, strlen(json), "t.json", &e), EXIT_INPUT);
	if (!strstr(e.msg, needle))
		fail_msg("'%s' does not mention '%s'", e.msg, needle);
}

static void test_errors_name_the_key(void **state)
{
	(void)state;
	expect_error("{\"roles\": {\"oops\": {}}}", "roles.oops: unknown role");
	expect_error("{\"roles\": {\"ok\": {\"fg\": \"pink\"}}}", "roles.ok.fg: unknown colour 'pink'");
	expect_error("{\"roles\": {\"ok\": {\"fg\": 256}}}", "roles.ok.fg: 256 is not a colour");
	expect_error("{\"roles\": {\"ok\": {\"attrs\": [\"blink\"]}}}", "roles.ok.attrs: unknown attribute");
	expect_error("{\"roles\": {\"ok\": {\"bold\": true}}}", "roles.ok.bold: unknown key");
	expect_error("{\"roles\": []}", "\"roles\" must be an object");
	expect_error("{\"roles\": ", "t.json");
}

static void test_parse_fills_roles(void **state)
{
	(void)state;
	const char *json = "{\"name\": \"x\", \"roles\": {\"crit\": {\"fg\": \"bright-red\", "
			   "\"bg\": 17, \"attrs\": [\"bold\", \"underline\"]}}}";
	struct theme t;
	struct err e = {0};
	assert_int_equal(theme_parse(&t, json, strlen(json), "t.json", &e), 0);
	assert_string_equal(t.name, "x");
	assert_int_equal(t.role[ROLE_CRIT].fg, 9);
	assert_true(t.role[ROLE_CRIT].fg_bright);
	assert_int_equal(t.role[ROLE_CRIT].bg, 17);
	assert_int_equal(t.role[ROLE_CRIT].attrs, THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE);
	/* Roles left out keep the monochrome defaults. */
	assert_int_equal(t.role[ROLE_SELECTED].attrs, THEME_ATTR_REVERSE);
	assert_int_equal(t.role[ROLE_SELECTED].fg, THEME_COLOR_DEFAULT);
}

static void test_fit_color(void **state)
{
	(void)state;
	assert_int_equal(theme_fit_color(117, 256), 117);
	assert_int_equal(theme_fit_color(THEME_COLOR_DEFAULT, 8), THEME_COLOR_DEFAULT);
	assert_int_equal(theme_fit_color(9, 8), 1);     /* bright red -> red */
	assert_int_equal(theme_fit_color(196, 8), 1);   /* #ff0000 -> red */
	assert_int_equal(theme_fit_color(46, 8), 2);    /* #00ff00 -> green */
	assert_int_equal(theme_fit_color(21, 8), 4);    /* #0000ff -> blue */
	assert_int_equal(theme_fit_color(231, 8), 7);   /* white */
	assert_int_equal(theme_fit_color(16, 8), 0);    /* black */
	assert_int_equal(theme_fit_color(214, 8), 3);   /* orange -> yellow */
	assert_int_equal(theme_fit_color(236, 8), 0);   /* dark grey -> black */
	assert_int_equal(theme_fit_color(254, 8), 7);   /* light grey -> white */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_themes_parse),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_parse_fills_roles),
		cmocka_unit_test(test_fit_color),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
