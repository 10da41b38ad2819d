/* Unit tests for core/store.c and core/paths.c: migrations, sign-offs keyed
 * by artifact hash, checklist runs, trigger evaluations, and where the files
 * go. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

static void add_eval(struct store *st, const char *env, const char *metric, double at,
		     const char *state, double value)
{
	struct err e = {0};
	struct store_eval ev = {
		.env = (char *)env, .metric = (char *)metric, .at = at, .state = (char *)state,
		.has_value = !isnan(value), .value = value, .nseries = 1,
	};
	if (store_eval_add(st, &ev, &e))
		fail_msg("%s", e.msg);
}

static void evals_list_and_transitions(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "churnops.db");
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	assert_true(store_latest_version() >= 5);
	const double t0 = 1800000000;
	/* latency_p95: inactive, inactive, pending, firing, firing, inactive;
	 * error_rate: inactive throughout; production has its own rows. */
	const char *lat[] = {"inactive", "inactive", "pending", "firing", "firing", "inactive"};
	for (int i = 0; i < 6; i++) {
		add_eval(st, "staging", "latency_p95", t0 + i, lat[i], 0.1 * i);
		add_eval(st, "staging", "error_rate", t0 + i, "inactive", 0);
	}
	add_eval(st, "production", "latency_p95", t0 + 2, "nodata", NAN);
	/* A failed query: the state kept, no value, the reason. */
	struct store_eval bad = {
		.env = "staging", .metric = "error_rate", .at = t0 + 6, .state = "inactive",
		.has_value = true, .value = INFINITY, .error = "error_rate: prometheus: refused",
	};
	assert_int_equal(store_eval_add(st, &bad, &e), 0);
	/* The database refuses an unknown state and an empty name. */
	struct store_eval odd = {.env = "staging", .metric = "x", .at = t0, .state = "on"};
	assert_int_equal(store_eval_add(st, &odd, &e), EXIT_INPUT);
	odd.state = "inactive";
	odd.metric = "";
	assert_int_equal(store_eval_add(st, &odd, &e), EXIT_INPUT);

	struct store_eval *v;
	size_t n;
	assert_int_equal(store_eval_list(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 13);
	/* Newest first. */
	assert_true(v[0].at == t0 + 6);
	assert_string_equal(v[0].error, "error_rate: prometheus: refused");
	assert_false(v[0].has_value);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1].at >= v[i].at);
	store_evals_free(v, n);
	assert_int_equal(store_eval_list(st, "staging", "latency_p95", t0 + 3, 2, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].at == t0 + 5 && v[1].at == t0 + 4);
	assert_string_equal(v[0].state, "inactive");
	assert_true(v[0].has_value);
	assert_true(fabs(v[0].value - 0.5) < 1e-12);
	assert_int_equal(v[0].nseries, 1);
	assert_string_equal(v[0].error, "");
	store_evals_free(v, n);
	assert_int_equal(store_eval_list(st, NULL, NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 14);
	store_evals_free(v, n);
	assert_int_equal(store_eval_list(st, "production", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_false(v[0].has_value);
	assert_string_equal(v[0].state, "nodata");
	store_evals_free(v, n);

	/* Transitions: each metric's first row, then every change of state. */
	assert_int_equal(store_eval_transitions(st, "staging", "latency_p95", 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 4);
	const char *from[] = {"firing", "pending", "inactive", ""};
	const char *to[] = {"inactive", "firing", "pending", "inactive"};
	const double at[] = {t0 + 5, t0 + 3, t0 + 2, t0};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].prev_state, from[i]);
		assert_string_equal(v[i].state, to[i]);
		assert_true(v[i].at == at[i]);
	}
	store_evals_free(v, n);
	/* A window starting mid-way compares its first row with the one before:
	 * no transition is invented at its start. */
	assert_int_equal(store_eval_transitions(st, "staging", "latency_p95", t0 + 1, 0, &v, &n,
						&e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].prev_state, "inactive");
	assert_string_equal(v[2].state, "pending");
	store_evals_free(v, n);
	assert_int_equal(store_eval_transitions(st, "staging", "latency_p95", t0 + 4, 0, &v, &n,
						&e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].prev_state, "firing");
	store_evals_free(v, n);
	/* Every metric of staging, with a limit: the newest. */
	assert_int_equal(store_eval_transitions(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 5);
	store_evals_free(v, n);
	assert_int_equal(store_eval_transitions(st, "staging", NULL, 0, 1, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].metric, "latency_p95");
	store_evals_free(v, n);
	assert_int_equal(store_eval_transitions(st, NULL, "latency_p95", 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 5);
	store_evals_free(v, n);
	store_close(st);
	free(path);
	rm_rf(d);
	free(d);
}

static void evals_prune(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "churnops.db");
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	double now = (double)time(NULL);
	/* The first append on a connection prunes (before its row goes in);
	 * later ones within the minute do not. */
	add_eval(st, "staging", "drift", now - 9 * 86400, "inactive", 0.1);
	add_eval(st, "staging", "drift", now - 8 * 86400, "inactive", 0.1);
	add_eval(st, "staging", "drift", now - 3600, "pending", 0.3);
	struct store_eval *v;
	size_t n;
	assert_int_equal(store_eval_list(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	store_evals_free(v, n);
	store_close(st);
	/* A new connection's first append prunes beyond the retention (7 days
	 * by default). */
	st = store_open(path, &e);
	assert_non_null(st);
	add_eval(st, "staging", "drift", now, "firing", 0.3);
	assert_int_equal(store_eval_list(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_true(v[1].at == now - 3600);
	store_evals_free(v, n);
	/* An explicit prune, and a shorter retention on a new connection. */
	long long removed = -1;
	assert_int_equal(store_eval_prune(st, now - 1800, &removed, &e), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(store_eval_prune(st, now - 1800, &removed, &e), 0);
	assert_int_equal(removed, 0);
	add_eval(st, "staging", "drift", now - 600, "firing", 0.3);
	store_close(st);
	st = store_open(path, &e);
	assert_non_null(st);
	store_eval_set_retention(st, 60);
	add_eval(st, "staging", "drift", now + 1, "firing", 0.3);
	assert_int_equal(store_eval_list(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_true(v[0].at == now + 1 && v[1].at == now);
	store_evals_free(v, n);
	store_close(st);
	free(path);
	rm_rf(d);
	free(d);
}

/* Two connections (as a watch and the console's worker are) append to the
 * same file from two threads at once; both sets of rows arrive whole. */
struct appender {
	const char *path;
	const char *env;
	int rc;
	struct err err;
};

static void *append_many(void *arg)
{
	struct appender *a = arg;
	struct err e = {0};
	struct store *st = store_open(a->path, &e);
	if (!st) {
		a->rc = 1;
		a->err = e;
		return NULL;
	}
	double now = (double)time(NULL);
	for (int i = 0; i < 200 && !a->rc; i++) {
		struct store_eval ev = {
			.env = (char *)a->env, .metric = "latency_p95", .at = now + i * 0.01,
			.state = i % 50 < 25 ? "inactive" : "pending", .has_value = true,
			.value = i,
		};
		if (store_eval_add(st, &ev, &e)) {
			a->rc = 1;
			a->err = e;
		}
	}
	store_close(st);
	return NULL;
}

static void evals_two_connections(void **state)
{
	(void)state;
	char *d = tmpdir();
	char *path = join(d, "churnops.db");
	struct appender a = {.path = path, .env = "staging"};
	struct appender b = {.path = path, .env = "production"};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, append_many, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, append_many, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.rc || b.rc)
		fail_msg("%s%s", a.err.msg, b.err.msg);
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	struct store_eval *v;
	size_t n;
	assert_int_equal(store_eval_list(st, NULL, NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 400);
	store_evals_free(v, n);
	/* Per environment: the first row and a change every 25 rows. */
	assert_int_equal(store_eval_transitions(st, "staging", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 8);
	store_evals_free(v, n);
	assert_int_equal(store_eval_transitions(st, "production", NULL, 0, 0, &v, &n, &e), 0);
	assert_int_equal(n, 8);
	store_evals_free(v, n);
	store_close(st);
	free(path);
	rm_rf(d);
	free(d);
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
		cmocka_unit_test(evals_list_and_transitions),
		cmocka_unit_test(evals_prune),
		cmocka_unit_test(evals_two_connections),
		cmocka_unit_test(paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
