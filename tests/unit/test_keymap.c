/* Unit tests for tui/keymap and the palette's command table: every action
 * bound and documented, no key bound twice where both could apply, and the
 * command table sorted so lookup and completion work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "keymap.h"
#include "views.h"

/* Two scopes conflict when a view could see both: global and list apply
 * everywhere, so they conflict with each other and with every view scope. */
static bool scopes_overlap(enum keymap_scope a, enum keymap_scope b)
{
	return a == b || a == KEYMAP_GLOBAL || b == KEYMAP_GLOBAL || a == KEYMAP_LIST ||
	       b == KEYMAP_LIST;
}

static void test_no_duplicate_keys(void **state)
{
	(void)state;
	size_t n;
	const struct keymap_entry *t = keymap_table(&n);
	for (size_t i = 0; i < n; i++) {
		for (int ki = 0; ki < KEYMAP_MAX_KEYS && t[i].keys[ki]; ki++) {
			for (size_t j = i; j < n; j++) {
				if (!scopes_overlap(t[i].scope, t[j].scope))
					continue;
				for (int kj = j == i ? ki + 1 : 0;
				     kj < KEYMAP_MAX_KEYS && t[j].keys[kj]; kj++) {
					if (t[i].keys[ki] != t[j].keys[kj])
						continue;
					char name[32];
					fail_msg("key %s bound to both '%s' and '%s'",
						 keymap_key_name(t[i].keys[ki], name, sizeof name),
						 t[i].name, t[j].name);
				}
			}
		}
	}
}

static void test_every_action_bound_and_documented(void **state)
{
	(void)state;
	size_t n;
	const struct keymap_entry *t = keymap_table(&n);
	for (int a = ACT_NONE + 1; a < ACT_COUNT; a++) {
		int found = 0;
		for (size_t i = 0; i < n; i++) {
			if ((int)t[i].action != a)
				continue;
			found++;
			assert_non_null(t[i].name);
			assert_true(strlen(t[i].name) > 0);
			assert_non_null(t[i].help);
			assert_true(strlen(t[i].help) >= 5);
			assert_true(t[i].keys[0] != 0);
		}
		if (found != 1)
			fail_msg("action %d has %d entries in the keymap", a, found);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(t[i].name, t[j].name);
}

static void test_lookup_by_scope(void **state)
{
	(void)state;
	assert_int_equal(keymap_lookup(KEYMAP_LIST, 'q'), ACT_QUIT);
	assert_int_equal(keymap_lookup(KEYMAP_WHATIF, 'j'), ACT_DOWN);
	assert_int_equal(keymap_lookup(KEYMAP_WHATIF, 'y'), ACT_COPY_JSON);
	/* What-if keys do not leak into other views. */
	assert_int_equal(keymap_lookup(KEYMAP_LIST, 'y'), ACT_NONE);
	assert_int_equal(keymap_lookup(KEYMAP_LIST, '5'), ACT_VIEW_WHATIF);
	/* The checklist's and the pager's keys stay in their views. */
	assert_int_equal(keymap_lookup(KEYMAP_LIST, '4'), ACT_VIEW_CHECKLIST);
	assert_int_equal(keymap_lookup(KEYMAP_CHECKLIST, 's'), ACT_SIGN_OFF);
	assert_int_equal(keymap_lookup(KEYMAP_CHECKLIST, 'c'), ACT_OPEN_CARD);
	assert_int_equal(keymap_lookup(KEYMAP_WHATIF, 'c'), ACT_PICK_CUSTOMER);
	assert_int_equal(keymap_lookup(KEYMAP_LIST, 's'), ACT_NONE);
	assert_int_equal(keymap_lookup(KEYMAP_PAGER, 'n'), ACT_SEARCH_NEXT);
	assert_int_equal(keymap_lookup(KEYMAP_PAGER, 'j'), ACT_DOWN);
	/* The metrics and registry views: their own keys, the list's too. */
	assert_int_equal(keymap_lookup(KEYMAP_LIST, '3'), ACT_VIEW_METRICS);
	assert_int_equal(keymap_lookup(KEYMAP_LIST, '6'), ACT_VIEW_REGISTRY);
	assert_int_equal(keymap_lookup(KEYMAP_METRICS, 'x'), ACT_SHOW_QUERY);
	assert_int_equal(keymap_lookup(KEYMAP_METRICS, 'r'), ACT_RELOAD_METRICS);
	assert_int_equal(keymap_lookup(KEYMAP_REGISTRY, 'r'), ACT_RELOAD_REGISTRY);
	assert_int_equal(keymap_lookup(KEYMAP_REGISTRY, 'j'), ACT_DOWN);
	assert_int_equal(keymap_lookup(KEYMAP_LIST, '7'), ACT_VIEW_AUDIT);
	assert_int_equal(keymap_lookup(KEYMAP_AUDIT, 'r'), ACT_RELOAD_AUDIT);
	assert_int_equal(keymap_lookup(KEYMAP_AUDIT, '/'), ACT_FILTER);
	assert_int_equal(keymap_lookup(KEYMAP_LIST, 'x'), ACT_NONE);
}

static void test_man_output(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	keymap_write_man(f);
	fclose(f);
	size_t n;
	keymap_table(&n);
	/* One .TP paragraph per entry, one .SS per scope. */
	size_t tp = 0, ss = 0;
	for (const char *p = buf; (p = strstr(p, ".TP\n")); p++)
		tp++;
	for (const char *p = buf; (p = strstr(p, ".SS ")); p++)
		ss++;
	assert_int_equal(tp, n);
	assert_int_equal(ss, KEYMAP_NSCOPES);
	assert_non_null(strstr(buf, "\\-"));  /* hyphens escaped for roff */
	free(buf);
}

static int nop(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	(void)app;
	(void)e;
	*(const char **)ctx = args;
	return 0;
}

static void test_command_find_and_complete(void **state)
{
	(void)state;
	static const struct tui_command t[] = {
		{"compare", "V", "help text", nop, false},
		{"copy", "W", "help text", nop, false},
		{"quit", "", "help text", nop, false},
		{"theme", "N", "help text", nop, true},
	};
	assert_true(command_table_sorted(t, 4));
	bool amb;
	assert_ptr_equal(command_find(t, 4, "q", 1, &amb), &t[2]);
	assert_null(command_find(t, 4, "co", 2, &amb));
	assert_true(amb);
	assert_ptr_equal(command_find(t, 4, "copy", 4, &amb), &t[1]);
	char out[64];
	assert_int_equal(command_complete(t, 4, "c", out, sizeof out), 2);
	assert_string_equal(out, "co");
	assert_int_equal(command_complete(t, 4, "com", out, sizeof out), 1);
	assert_string_equal(out, "compare ");
	assert_int_equal(command_complete(t, 4, "x", out, sizeof out), 0);
	assert_string_equal(out, "x");
	const char *args = NULL;
	struct err e = {0};
	assert_int_equal(command_run(t, 4, NULL, &args, "  compare  1.0.0  ", false, &e), 0);
	assert_string_equal(args, "1.0.0");
	assert_int_equal(command_run(t, 4, NULL, &args, "theme mono", true, &e), EXIT_CHECK);
	assert_non_null(strstr(e.msg, "read-only"));
	assert_int_equal(command_run(t, 4, NULL, &args, "nope", false, &e), EXIT_INPUT);
}

static void test_console_commands_sorted_and_documented(void **state)
{
	(void)state;
	size_t n;
	const struct tui_command *t = console_commands(&n);
	assert_true(n > 0);
	assert_true(command_table_sorted(t, n));
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].usage);
		assert_true(strlen(t[i].help) >= 5);
		assert_non_null(t[i].run);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_duplicate_keys),
		cmocka_unit_test(test_every_action_bound_and_documented),
		cmocka_unit_test(test_lookup_by_scope),
		cmocka_unit_test(test_man_output),
		cmocka_unit_test(test_command_find_and_complete),
		cmocka_unit_test(test_console_commands_sorted_and_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
