/* config: the file's settings, refusals that name the key, precedence of
 * the environment over the file; lkg's time stamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "lkg.h"
#include "prom.h"

static int parse(struct config *c, const char *text, struct err *e)
{
	memset(e, 0, sizeof *e);
	return config_parse(c, text, strlen(text), "config.json", e);
}

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	struct err e = {0};
	assert_int_equal(config_load_file(&c, NULL, false, &e), 0);
	assert_null(c.path);
	assert_false(c.read_only);
	assert_true(c.lkg_after == CONFIG_LKG_AFTER_DEFAULT);
	assert_int_equal(config_load_file(&c, "/nonexistent/config.json", false, &e), 0);
	assert_int_not_equal(config_load_file(&c, "/nonexistent/config.json", true, &e), 0);
	config_finish(&c);
}

static void test_full_file(void **state)
{
	(void)state;
	struct config c;
	struct err e;
	const char *text =
		"{\"actor\": \"alice\", \"theme\": \"light\", \"read_only\": false,"
		" \"registry\": {\"backend\": \"mlflow\", \"model\": \"churn-eu\","
		"  \"tracking_uri\": \"https://mlflow.example\", \"ca_file\": \"/ca.pem\","
		"  \"insecure\": true, \"last_known_good_after\": \"6h\"},"
		" \"prometheus\": {\"url\": \"http://prom:9090\", \"insecure\": true},"
		" \"loadtest_endpoints\": [\"https://churn.staging.example\"],"
		" \"environments\": {\"production\": {\"read_only\": true, \"strategy\": \"canary\","
		"  \"last_known_good_after\": 3600}, \"staging\": {}}}";
	assert_int_equal(parse(&c, text, &e), 0);
	assert_string_equal(c.path, "config.json");
	assert_string_equal(c.actor, "alice");
	assert_string_equal(c.registry_backend, "mlflow");
	assert_string_equal(c.registry_model, "churn-eu");
	assert_string_equal(c.mlflow.url, "https://mlflow.example");
	assert_true(c.mlflow.insecure);
	assert_true(c.lkg_after == 6 * 3600);
	assert_int_equal(c.nloadtest_endpoints, 1);
	assert_string_equal(c.loadtest_endpoints[0], "https://churn.staging.example");
	assert_true(config_lkg_after(&c, "production") == 3600);
	assert_true(config_lkg_after(&c, "staging") == 6 * 3600);
	assert_string_equal(config_strategy(&c, "production"), "canary");
	assert_null(config_strategy(&c, "staging"));
	unsetenv("CHURNOPS_READ_ONLY");
	assert_true(config_read_only(&c, "production"));
	assert_false(config_read_only(&c, "staging"));
	assert_false(config_read_only(&c, NULL));
	config_finish(&c);
}

/* Every refusal is EXIT_INPUT and names the file and the key. */
static void test_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *text, *says;
	} cases[] = {
		{"{\"actr\": \"x\"}", "unknown key \"actr\""},
		{"{\"prometheus\": {\"token\": \"s3cret\"}}", "credentials are not read"},
		{"{\"registry\": {\"password\": \"s3cret\"}}", "credentials are not read"},
		{"{\"registry\": {\"backend\": \"etcd\"}}", "\"etcd\" is not sqlite or mlflow"},
		{"{\"registry\": {\"url\": \"http://x\"}}", "tracking_uri"},
		{"{\"read_only\": \"yes\"}", "\"read_only\": must be true or false"},
		{"{\"prometheus\": {\"url\": \"ftp://x\"}}", "must start with http"},
		{"{\"environments\": {\"prod\": {\"strategy\": \"big-bang\"}}}",
		 "\"big-bang\" is not rolling"},
		{"{\"environments\": {\"Prod Env\": {}}}", "a name is lowercase"},
		{"{\"registry\": {\"last_known_good_after\": \"soon\"}}", "not a duration"},
		{"{\"registry\": {\"last_known_good_after\": -5}}", "not a duration"},
		{"[1, 2]", "must be a JSON object"},
		{"{\"loadtest_endpoints\": [\"churn.example\"]}", "item 1: must be an http"},
		{"{\"environments\": {\"a\": {}, \"a\": {}}}", "given twice"},
		{"{\"actor\": ", "config.json"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config c;
		struct err e;
		assert_int_equal(parse(&c, cases[i].text, &e), EXIT_INPUT);
		if (!strstr(e.msg, cases[i].says) || !strstr(e.msg, "config.json"))
			fail_msg("case %zu: %s", i, e.msg);
		/* Credentials are never echoed back. */
		assert_null(strstr(e.msg, "s3cret"));
		assert_null(c.actor);
	}
}

static void test_environment_wins(void **state)
{
	(void)state;
	struct config c;
	struct err e;
	assert_int_equal(parse(&c, "{\"actor\": \"file-actor\", \"prometheus\": "
				   "{\"url\": \"http://file:9090\", \"ca_file\": \"/file.pem\"}}",
			       &e),
			 0);
	setenv("CHURNOPS_ACTOR", "env-actor", 1);
	assert_string_equal(config_actor(&c, NULL), "env-actor");
	assert_string_equal(config_actor(&c, "flag-actor"), "flag-actor");
	unsetenv("CHURNOPS_ACTOR");
	assert_string_equal(config_actor(&c, NULL), "file-actor");

	unsetenv("PROMETHEUS_URL");
	unsetenv("PROMETHEUS_CA_FILE");
	unsetenv("PROMETHEUS_INSECURE_TLS");
	struct prom_options po = {0};
	config_prom_options(&c, &po);
	assert_string_equal(po.url, "http://file:9090");
	assert_string_equal(po.ca_file, "/file.pem");
	assert_false(po.insecure);
	setenv("PROMETHEUS_URL", "http://env:9090", 1);
	setenv("PROMETHEUS_INSECURE_TLS", "true", 1);
	memset(&po, 0, sizeof po);
	config_prom_options(&c, &po);
	assert_string_equal(po.url, "http://env:9090");
	assert_true(po.insecure);
	unsetenv("PROMETHEUS_URL");
	unsetenv("PROMETHEUS_INSECURE_TLS");

	setenv("CHURNOPS_READ_ONLY", "1", 1);
	assert_true(config_read_only(&c, NULL));
	setenv("CHURNOPS_READ_ONLY", "false", 1);
	assert_false(config_read_only(&c, NULL));
	unsetenv("CHURNOPS_READ_ONLY");
	config_finish(&c);
}

static void test_lkg_time(void **state)
{
	(void)state;
	assert_true(lkg_parse_time("1970-01-01T00:01:00.500Z") == 60.5);
	assert_true(lkg_parse_time("2026-11-26T21:00:00Z") == 1795726800.0);
	assert_true(lkg_parse_time("2026-11-26 21:00:00") == 0);
	assert_true(lkg_parse_time("2026-11-26T21:00:00.1Zjunk") == 0);
	assert_true(lkg_parse_time(NULL) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_environment_wins),
		cmocka_unit_test(test_lkg_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
