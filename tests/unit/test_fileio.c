/* fileio and json: outputs appear whole or not at all; parse errors name
 * the line and column; nesting and size limits hold. */
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

#include "fileio.h"
#include "json.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/churnops-fileio-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_entries(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void test_abort_leaves_nothing(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/out.csv", dir);
	struct fileio_out o;
	struct err e = {0};
	assert_int_equal(fileio_out_open(&o, path, &e), 0);
	fputs("half,written\n", o.f);
	fileio_out_abort(&o);
	assert_false(fileio_exists(path));
	assert_int_equal(count_entries(), 0);
}

static void test_abort_keeps_old_file(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/keep.csv", dir);
	struct err e = {0};
	assert_int_equal(fileio_write_all(path, "old\n", 4, &e), 0);
	struct fileio_out o;
	assert_int_equal(fileio_out_open(&o, path, &e), 0);
	fputs("new\n", o.f);
	fileio_out_abort(&o);
	char *buf;
	size_t len;
	assert_int_equal(fileio_read_all(path, 100, &buf, &len, &e), 0);
	assert_string_equal(buf, "old\n");
	free(buf);
	unlink(path);
}

static void test_commit_replaces(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/new.csv", dir);
	struct err e = {0};
	assert_int_equal(fileio_write_all(path, "a\n", 2, &e), 0);
	assert_int_equal(fileio_write_all(path, "bb\n", 3, &e), 0);
	char *buf;
	size_t len;
	assert_int_equal(fileio_read_all(path, 100, &buf, &len, &e), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "bb\n");
	free(buf);
	unlink(path);
	assert_int_equal(count_entries(), 0);
}

static void test_read_limit(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/big", dir);
	struct err e = {0};
	char data[10000];
	memset(data, 'x', sizeof data);
	assert_int_equal(fileio_write_all(path, data, sizeof data, &e), 0);
	char *buf = NULL;
	size_t len;
	assert_int_equal(fileio_read_all(path, 5000, &buf, &len, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "limit"));
	assert_int_equal(fileio_read_all(path, 10000, &buf, &len, &e), 0);
	assert_int_equal(len, 10000);
	free(buf);
	unlink(path);
}

static void test_directory_is_not_an_output(void **state)
{
	(void)state;
	struct fileio_out o;
	struct err e = {0};
	assert_int_equal(fileio_out_open(&o, dir, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "directory"));
}

static void test_json_error_position(void **state)
{
	(void)state;
	struct err e = {0};
	const char *text = "{\n  \"a\": 1,\n  \"b\": ]\n}";
	assert_null(json_parse(text, strlen(text), "x.json", &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_non_null(strstr(e.msg, "x.json: line 3"));
	text = "{\"a\": 1} trailing";
	assert_null(json_parse(text, strlen(text), "y.json", &e));
	assert_non_null(strstr(e.msg, "after the JSON value"));
	assert_null(json_parse("", 0, "z.json", &e));
	assert_non_null(strstr(e.msg, "empty"));
}

static void test_json_depth_limit(void **state)
{
	(void)state;
	char deep[2 * (JSON_MAX_DEPTH + 1) + 1];
	for (int i = 0; i <= JSON_MAX_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * (JSON_MAX_DEPTH + 1) - 1 - i] = ']';
	}
	deep[2 * (JSON_MAX_DEPTH + 1)] = '\0';
	struct err e = {0};
	assert_null(json_parse(deep, strlen(deep), "deep.json", &e));
	assert_non_null(strstr(e.msg, "nested"));
	/* Brackets inside strings do not count. */
	const char *s = "{\"k\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
	cJSON *ok = json_parse(s, strlen(s), "s.json", &e);
	assert_non_null(ok);
	cJSON_Delete(ok);
}

/* Found by fuzz_json: cJSON makes 1e400 infinite, which prints back as
 * null and is undefined when cast to an integer; json_parse refuses it. */
static void test_json_number_range(void **state)
{
	(void)state;
	struct err e = {0};
	const char *text = "{\"replicas\": [1, -1e400]}";
	assert_null(json_parse(text, strlen(text), "big.json", &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_non_null(strstr(e.msg, "big.json: a number out of range"));
	text = "[1.7976931348623157e308, 1e-400]";
	cJSON *ok = json_parse(text, strlen(text), "max.json", &e);
	assert_non_null(ok);
	cJSON_Delete(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_abort_keeps_old_file),
		cmocka_unit_test(test_commit_replaces),
		cmocka_unit_test(test_read_limit),
		cmocka_unit_test(test_directory_is_not_an_output),
		cmocka_unit_test(test_json_error_position),
		cmocka_unit_test(test_json_depth_limit),
		cmocka_unit_test(test_json_number_range),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
