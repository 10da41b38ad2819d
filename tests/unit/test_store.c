/* Unit tests for core/store.c and core/paths.c: migrations, sign-offs keyed
 * by artifact hash, checklist runs, and where the files go. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"
#include "store.h"

static const char sha_a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char sha_b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static char *tmpdir(void)
{
	char *d = strdup("/tmp/churnops-store-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static char *join(const char *a, const char *b)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static void rm_rf(const char *d)
{
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", d) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void migrations_and_signoffs(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "sub/dir/churnops.db");
	struct err e = {0};
	struct store *st = store_open(path, &e);
	if (!st)
		fail_msg("%s", e.msg);
	assert_int_equal(store_schema_version(st), store_latest_version());
	assert_true(store_latest_version() >= 1);

	assert_int_equal(store_add_signoff(st, sha_a, "stakeholder_approval", "Ana", "ok", &e), 0);
	assert_int_equal(store_add_signoff(st, sha_a, "stakeholder_approval", "Bo", NULL, &e), 0);
	assert_int_equal(store_add_signoff(st, sha_b, "stakeholder_approval", "Cy", "b", &e), 0);
	/* The database refuses an empty name and a malformed hash. */
	assert_int_equal(store_add_signoff(st, sha_a, "stakeholder_approval", "", "x", &e),
			 EXIT_INPUT);
	assert_int_equal(store_add_signoff(st, "abc", "stakeholder_approval", "D", "x", &e),
			 EXIT_INPUT);
	store_close(st);

	/* Reopening keeps the data and runs no migration twice. */
	st = store_open(path, &e);
	assert_non_null(st);
	struct store_signoff *v;
	size_t n;
	assert_int_equal(store_list_signoffs(st, sha_a, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].by, "Ana");
	assert_string_equal(v[0].note, "ok");
	assert_string_equal(v[1].by, "Bo");
	assert_string_equal(v[1].note, "");
	assert_int_equal(strlen(v[0].at), strlen("2026-11-26T18:50:00.123Z"));
	assert_int_equal(v[0].at[strlen(v[0].at) - 1], 'Z');
	store_signoffs_free(v, n);

	/* Another artifact has its own. */
	assert_int_equal(store_list_signoffs(st, sha_b, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	store_signoffs_free(v, n);
	char sha_c[65];
	memset(sha_c, 'c', 64);
	sha_c[64] = '\0';
	assert_int_equal(store_list_signoffs(st, sha_c, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	store_signoffs_free(v, n);
	store_close(st);
	free(path);
	rm_rf(d);
	free(d);
}

static void checklist_runs(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "churnops.db");
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	struct store_checklist_run run = {0};
	bool found = true;
	assert_int_equal(store_last_checklist_run(st, sha_a, &run, &found, &e), 0);
	assert_false(found);
	assert_int_equal(store_add_checklist_run(st, sha_a, "fail", "{\"n\":1}", &e), 0);
	assert_int_equal(store_add_checklist_run(st, sha_a, "pending", "{\"n\":2}", &e), 0);
	assert_int_equal(store_add_checklist_run(st, sha_a, "maybe", "{}", &e), EXIT_INPUT);
	assert_int_equal(store_last_checklist_run(st, sha_a, &run, &found, &e), 0);
	assert_true(found);
	assert_string_equal(run.verdict, "pending");
	assert_string_equal(run.report_json, "{\"n\":2}");
	store_checklist_run_finish(&run);
	store_close(st);
	free(path);
	rm_rf(d);
	free(d);
}

/* A database from a newer churnops (user_version above ours) is refused.
 * The version is written into the file header directly (bytes 60-63, big
 * endian), so this test needs no SQLite of its own. */
static void newer_schema_refused(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "churnops.db");
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	store_close(st);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	const unsigned char v[4] = {0, 0, 0, 99};
	assert_int_equal(pwrite(fd, v, 4, 60), 4);
	close(fd);
	st = store_open(path, &e);
	assert_null(st);
	assert_non_null(strstr(e.msg, "99"));
	assert_non_null(strstr(e.msg, path));
	free(path);
	rm_rf(d);
	free(d);
}

static void unwritable(void **state)
{
	(void)state;
	struct err e = {0};
	assert_null(store_open("/proc/churnops-no/such.db", &e));
	assert_int_equal(e.code, EXIT_INPUT);
}

static void paths(void **state)
{
	(void)state;
	struct err e = {0};
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	setenv("CHURNOPS_HOME", "/srv/co", 1);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	char *p = paths_data_dir(&e);
	assert_string_equal(p, "/srv/co/data");
	free(p);
	p = paths_config_dir(&e);
	assert_string_equal(p, "/srv/co/config");
	free(p);
	p = paths_state_dir(&e);
	assert_string_equal(p, "/srv/co/state");
	free(p);
	p = store_default_path(&e);
	assert_string_equal(p, "/srv/co/data/churnops.db");
	free(p);

	unsetenv("CHURNOPS_HOME");
	p = paths_data_dir(&e);
	assert_string_equal(p, "/x/data/churnops");
	free(p);
	/* A relative XDG path is ignored, as the specification says. */
	setenv("XDG_DATA_HOME", "rel/data", 1);
	setenv("HOME", "/home/u", 1);
	p = paths_data_dir(&e);
	assert_string_equal(p, "/home/u/.local/share/churnops");
	free(p);
	p = paths_config_dir(&e);
	assert_string_equal(p, "/home/u/.config/churnops");
	free(p);
	p = paths_state_dir(&e);
	assert_string_equal(p, "/home/u/.local/state/churnops");
	free(p);
	unsetenv("HOME");
	unsetenv("XDG_DATA_HOME");
	assert_null(paths_data_dir(&e));
	assert_non_null(strstr(e.msg, "CHURNOPS_HOME"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(migrations_and_signoffs),
		cmocka_unit_test(checklist_runs),
		cmocka_unit_test(newer_schema_refused),
		cmocka_unit_test(unwritable),
		cmocka_unit_test(paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
