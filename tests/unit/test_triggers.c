/* triggers: the alert-rule state machine in fake time (pending, firing,
 * reset, nodata, for: 0), replay of a recorded range answer, query
 * expansion, the override file, and evaluations recorded in the store. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "triggers.h"

static struct trigger_def latency(double for_s)
{
	struct trigger_def d = {
		.name = "latency_p95", .title = "p95 latency", .query = "q", .unit = "s",
		.has_trigger = true, .op = TRIGGER_ABOVE, .threshold = 0.5, .for_s = for_s,
	};
	return d;
}

/* Evaluations every 15 s with for: 1m: pending at the first breach, firing
 * once a minute has passed since then (t = 60, not before), back to
 * inactive at the first healthy evaluation, and pending afresh after. */
static void test_pending_then_firing(void **state)
{
	(void)state;
	struct trigger_def d = latency(60);
	struct trigger_status s;
	triggers_status_init(&s);
	assert_int_equal(s.state, TRIGGER_NODATA);
	triggers_step(&s, &d, 1000, true, 0.1);
	assert_int_equal(s.state, TRIGGER_INACTIVE);
	assert_true(s.since == 1000);
	triggers_step(&s, &d, 1015, true, 0.1);
	assert_true(s.since == 1000); /* unchanged state keeps its time */
	triggers_step(&s, &d, 1030, true, 0.7);
	assert_int_equal(s.state, TRIGGER_PENDING);
	assert_true(s.active_at == 1030 && s.since == 1030);
	for (double t = 1045; t < 1090; t += 15) {
		triggers_step(&s, &d, t, true, 0.8);
		assert_int_equal(s.state, TRIGGER_PENDING);
	}
	triggers_step(&s, &d, 1090, true, 0.6);
	assert_int_equal(s.state, TRIGGER_FIRING);
	assert_true(s.fired_at == 1090 && s.since == 1090 && s.active_at == 1030);
	assert_true(s.value == 0.6);
	triggers_step(&s, &d, 1105, true, 0.9);
	assert_int_equal(s.state, TRIGGER_FIRING);
	assert_true(s.since == 1090);
	/* Exactly at the threshold is not beyond it. */
	triggers_step(&s, &d, 1120, true, 0.5);
	assert_int_equal(s.state, TRIGGER_INACTIVE);
	assert_true(s.since == 1120 && s.active_at == 0 && s.fired_at == 0);
	triggers_step(&s, &d, 1135, true, 0.6);
	assert_int_equal(s.state, TRIGGER_PENDING);
	assert_true(s.active_at == 1135);
}

/* A dip below the threshold while pending resets the for: clock. */
static void test_reset_while_pending(void **state)
{
	(void)state;
	struct trigger_def d = latency(60);
	struct trigger_status s;
	triggers_status_init(&s);
	triggers_step(&s, &d, 0 + 100, true, 0.9);
	triggers_step(&s, &d, 145, true, 0.9);
	triggers_step(&s, &d, 150, true, 0.1);
	assert_int_equal(s.state, TRIGGER_INACTIVE);
	triggers_step(&s, &d, 165, true, 0.9);
	triggers_step(&s, &d, 200, true, 0.9);
	assert_int_equal(s.state, TRIGGER_PENDING); /* 35 s since 165, not 100 */
	triggers_step(&s, &d, 225, true, 0.9);
	assert_int_equal(s.state, TRIGGER_FIRING);
}

/* No data is its own state: never healthy, and it resets the clock. */
static void test_nodata(void **state)
{
	(void)state;
	struct trigger_def d = latency(30);
	struct trigger_status s;
	triggers_status_init(&s);
	triggers_step(&s, &d, 10, true, 0.9);
	triggers_step(&s, &d, 20, false, 0);
	assert_int_equal(s.state, TRIGGER_NODATA);
	assert_false(s.has_value);
	assert_true(s.since == 20 && s.active_at == 0);
	triggers_step(&s, &d, 30, true, NAN);
	assert_int_equal(s.state, TRIGGER_NODATA);
	assert_true(s.since == 20);
	triggers_step(&s, &d, 40, true, 0.9);
	assert_int_equal(s.state, TRIGGER_PENDING);
	assert_true(s.active_at == 40);
	triggers_step(&s, &d, 70, true, 0.9);
	assert_int_equal(s.state, TRIGGER_FIRING);
	triggers_step(&s, &d, 80, false, 0);
	assert_int_equal(s.state, TRIGGER_NODATA);
	assert_true(s.fired_at == 0);
}

/* for: 0 fires at the first breaching evaluation, as Prometheus does. */
static void test_for_zero(void **state)
{
	(void)state;
	struct trigger_def d = latency(0);
	d.op = TRIGGER_BELOW;
	d.threshold = 0.8;
	struct trigger_status s;
	triggers_status_init(&s);
	triggers_step(&s, &d, 5, true, 0.79);
	assert_int_equal(s.state, TRIGGER_FIRING);
	assert_true(s.active_at == 5 && s.fired_at == 5);
	triggers_step(&s, &d, 6, true, 0.81);
	assert_int_equal(s.state, TRIGGER_INACTIVE);
	/* +Inf (a quantile in the last bucket) is a value, and beyond. */
	d.op = TRIGGER_ABOVE;
	triggers_step(&s, &d, 7, true, INFINITY);
	assert_int_equal(s.state, TRIGGER_FIRING);
}

static void test_no_trigger(void **state)
{
	(void)state;
	struct trigger_def d = latency(0);
	d.has_trigger = false;
	struct trigger_status s;
	triggers_status_init(&s);
	triggers_step(&s, &d, 5, true, 1e9);
	assert_int_equal(s.state, TRIGGER_INACTIVE);
	assert_true(s.value == 1e9);
}

/* A recorded range answer with two series and a gap, replayed every 15 s:
 * the worst series counts, the gap is nodata and restarts the clock. */
static void test_replay(void **state)
{
	(void)state;
	const char *body =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"version\":\"1.1.0\"},\"values\":[[1000,\"0.1\"],[1015,\"0.1\"],"
		"[1030,\"0.1\"],[1045,\"0.1\"],[1060,\"0.1\"],[1090,\"0.1\"],[1105,\"0.1\"]]},"
		"{\"metric\":{\"version\":\"1.2.0\"},\"values\":[[1000,\"0.2\"],[1015,\"0.7\"],"
		"[1030,\"0.7\"],[1045,\"NaN\"],[1060,\"0.9\"],[1090,\"0.9\"],[1105,\"0.9\"],"
		"[1120,\"0.9\"]]}]}}";
	struct prom_result r;
	struct err e = { 0 };
	assert_int_equal(prom_parse(body, strlen(body), 200, NULL, &r, &e), 0);
	struct trigger_def d = latency(30);
	struct trigger_status s;
	double v;
	size_t n;
	assert_true(triggers_worst(&d, &r, 1015, &v, &n));
	assert_true(v == 0.7 && n == 2);
	assert_false(triggers_worst(&d, &r, 1075, &v, &n)); /* the gap */
	assert_int_equal(n, 0);
	triggers_status_init(&s);
	triggers_replay(&s, &d, &r, 1000, 1090, 15);
	/* 1015 pending, 1045 only the healthy 0.1 (the NaN is skipped): inactive;
	 * 1060 pending, 1075 nodata, 1090 pending again. */
	assert_int_equal(s.state, TRIGGER_PENDING);
	assert_true(s.active_at == 1090);
	triggers_replay(&s, &d, &r, 1105, 1120, 15);
	assert_int_equal(s.state, TRIGGER_FIRING);
	assert_true(s.fired_at == 1120 && s.active_at == 1090);
	assert_int_equal(s.nseries, 1);
	/* "<" takes the lowest series. */
	d.op = TRIGGER_BELOW;
	assert_true(triggers_worst(&d, &r, 1015, &v, &n) && v == 0.1);
	prom_result_finish(&r);
}

static void test_lookback(void **state)
{
	(void)state;
	struct trigger_def d = latency(300);
	assert_true(triggers_lookback(&d, 15) == 630);
	d.for_s = 0;
	assert_true(triggers_lookback(&d, 15) == 150);
}

static void test_defaults_and_expand(void **state)
{
	(void)state;
	struct trigger_config c;
	struct err e = { 0 };
	assert_int_equal(triggers_config_defaults(&c, &e), 0);
	assert_true(c.interval == 15);
	const char *names[] = { "roc_auc", "latency_p95", "error_rate", "drift", "throughput" };
	const double thresholds[] = { 0.80, 0.5, 0.05, 0.2, 0 };
	assert_int_equal(c.ndefs, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(c.defs[i].name, names[i]);
		assert_true(c.defs[i].threshold == thresholds[i]);
		assert_true(c.defs[i].has_trigger == (i < 4));
	}
	assert_int_equal(c.defs[0].op, TRIGGER_BELOW);
	const struct trigger_env *env = triggers_config_env(&c, "production");
	assert_non_null(env);
	assert_string_equal(env->namespace, "mlops-production");
	assert_int_equal(env->policy, POLICY_PROMPT);
	assert_null(triggers_config_env(&c, "qa"));
	char *q = triggers_expand(&c, &c.defs[1], env, NULL, &e);
	assert_string_equal(q, "histogram_quantile(0.95, sum by (le) (rate("
			       "prediction_latency_seconds_bucket{namespace=\"mlops-production\","
			       "deployment=\"churn-prediction\"}[5m])))");
	free(q);
	q = triggers_expand(&c, &c.defs[0], env, NULL, &e);
	assert_non_null(strstr(q, "metric_type=~\"roc_auc|\""));
	free(q);
	/* Values are escaped as PromQL strings; {version} needs a version. */
	struct trigger_def d = { .name = "v", .query = "x{version=\"{version}\",a=\"{namespace}\"} {other}" };
	struct trigger_env evil = { .name = "e", .namespace = "a\"b\\c", .deployment = "d" };
	assert_null(triggers_expand(&c, &d, &evil, NULL, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	q = triggers_expand(&c, &d, &evil, "1.2.0", &e);
	assert_string_equal(q, "x{version=\"1.2.0\",a=\"a\\\"b\\\\c\"} {other}");
	free(q);
	triggers_config_finish(&c);
	triggers_config_finish(&c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/test_triggers_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_override_file(void **state)
{
	(void)state;
	char *path = write_tmp(
		"{\"interval\": \"1s\", \"window\": \"20s\",\n"
		" \"metrics\": {\"latency_p95\": {\"threshold\": 0.3, \"for\": \"5s\", \"canary_margin\": 0.05},\n"
		"   \"drift\": {\"trigger\": false},\n"
		"   \"throughput\": {\"op\": \"<\", \"threshold\": 1, \"for\": 0},\n"
		"   \"queue\": {\"query\": \"up\", \"op\": \">\", \"threshold\": 3}},\n"
		" \"environments\": {\"staging\": {\"policy\": \"auto\"},\n"
		"   \"qa\": {\"namespace\": \"mlops-qa\", \"deployment\": \"churn\",\n"
		"          \"prometheus\": \"http://127.0.0.1:1\", \"policy\": \"off\",\n"
		"          \"canary_deployment\": \"churn-next\"}}}");
	struct trigger_config c;
	struct err e = { 0 };
	assert_int_equal(triggers_config_load(&c, path, &e), 0);
	unlink(path);
	assert_true(c.interval == 1);
	assert_string_equal(c.window, "20s");
	assert_true(c.defs[1].threshold == 0.3 && c.defs[1].for_s == 5);
	assert_true(c.defs[1].canary_margin == 0.05);
	assert_true(c.defs[0].canary_margin == 0.02);
	assert_false(c.defs[3].has_trigger);
	assert_true(c.defs[4].has_trigger && c.defs[4].op == TRIGGER_BELOW);
	assert_int_equal(c.ndefs, 6);
	assert_string_equal(c.defs[5].name, "queue");
	assert_string_equal(c.defs[5].title, "queue");
	assert_true(c.defs[5].has_trigger && c.defs[5].for_s == 0);
	assert_int_equal(triggers_config_env(&c, "staging")->policy, POLICY_AUTO);
	const struct trigger_env *qa = triggers_config_env(&c, "qa");
	assert_string_equal(qa->prometheus_url, "http://127.0.0.1:1");
	assert_int_equal(qa->policy, POLICY_OFF);
	assert_string_equal(qa->canary_deployment, "churn-next");
	assert_null(triggers_config_env(&c, "staging")->canary_deployment);
	assert_true(c.defs[5].canary_margin < 0);
	char *q = triggers_expand(&c, &c.defs[2], qa, NULL, &e);
	assert_non_null(strstr(q, "[20s]"));
	free(q);
	triggers_config_finish(&c);
}

static void test_override_errors(void **state)
{
	(void)state;
	static const struct { const char *text, *needle; } cases[] = {
		{ "[]", "must be a JSON object" },
		{ "{\"metricz\": {}}", "unknown key \"metricz\"" },
		{ "{\"metrics\": {\"roc_auc\": {\"treshold\": 1}}}", "metrics.roc_auc: unknown key \"treshold\"" },
		{ "{\"metrics\": {\"roc_auc\": {\"threshold\": \"high\"}}}", "metrics.roc_auc.threshold" },
		{ "{\"metrics\": {\"roc_auc\": {\"for\": \"5 minutes\"}}}", "not a duration" },
		{ "{\"metrics\": {\"roc_auc\": {\"op\": \">=\"}}}", "metrics.roc_auc.op" },
		{ "{\"metrics\": {\"new\": {\"threshold\": 1}}}", "needs a \"query\"" },
		{ "{\"metrics\": {\"new\": {\"query\": \"up\", \"threshold\": 1}}}", "needs \"op\" and \"threshold\"" },
		{ "{\"metrics\": {\"roc_auc\": {\"query\": \"\"}}}", "non-empty" },
		{ "{\"environments\": {\"staging\": {\"policy\": \"yolo\"}}}", "policy" },
		{ "{\"environments\": {\"qa\": {\"policy\": \"off\"}}}", "needs \"namespace\"" },
		{ "{\"interval\": \"0s\"}", "interval" },
		{ "{\"metrics\": {\"drift\": {\"canary_margin\": -1}}}", "canary_margin" },
		{ "{\"window\": \"300\"}", "window" },
		{ "{\"metrics\": ", "test_triggers_" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *path = write_tmp(cases[i].text);
		struct trigger_config c;
		struct err e = { 0 };
		assert_int_equal(triggers_config_load(&c, path, &e), EXIT_INPUT);
		unlink(path);
		if (!strstr(e.msg, cases[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, cases[i].needle);
		if (i > 0)
			assert_non_null(strstr(e.msg, "test_triggers_"));
		assert_int_equal(c.ndefs, 0);
	}
}

static void test_names(void **state)
{
	(void)state;
	enum trigger_policy p;
	assert_true(triggers_policy_parse("auto", &p) && p == POLICY_AUTO);
	assert_false(triggers_policy_parse("Auto", &p));
	assert_string_equal(triggers_state_name(TRIGGER_NODATA), "nodata");
	assert_string_equal(triggers_state_name(TRIGGER_FIRING), "firing");
	struct trigger_def d = latency(300);
	struct trigger_status s;
	triggers_status_init(&s);
	triggers_step(&s, &d, 100, true, 0.7);
	cJSON *o = triggers_status_json(&d, &s, "q");
	char *text = cJSON_PrintUnformatted(o);
	assert_string_equal(text, "{\"name\":\"latency_p95\",\"title\":\"p95 latency\",\"unit\":\"s\","
				  "\"query\":\"q\",\"state\":\"pending\",\"value\":0.7,\"op\":\">\","
				  "\"threshold\":0.5,\"for\":\"5m\",\"since\":100,\"active_at\":100,"
				  "\"fired_at\":null,\"evaluated_at\":100,\"series\":0}");
	free(text);
	cJSON_Delete(o);
}

static void test_render(void **state)
{
	(void)state;
	struct trigger_config c;
	struct err e = { 0 };
	assert_int_equal(triggers_config_defaults(&c, &e), 0);
	char *y = triggers_render_rules(&c, NULL, &e);
	assert_non_null(y);
	assert_non_null(strstr(y, "groups:\n  - name: \"churnops-staging\"\n    rules:\n"
				  "      - alert: ChurnopsRocAuc\n"));
	assert_non_null(strstr(y, "  - name: \"churnops-production\"\n"));
	assert_non_null(strstr(y, "      - alert: ChurnopsLatencyP95\n        expr: \"(histogram_quantile("
				  "0.95, sum by (le) (rate(prediction_latency_seconds_bucket{namespace="
				  "\\\"mlops-staging\\\",deployment=\\\"churn-prediction\\\"}[5m])))) > 0.5\"\n"
				  "        for: 5m\n"));
	assert_non_null(strstr(y, ")) < 0.8\"\n        for: 10m\n"));
	assert_non_null(strstr(y, "        for: 15m\n"));
	assert_null(strstr(y, "Throughput")); /* no trigger, no rule */
	free(y);
	/* One environment; hostile names stay inside their quotes. */
	free(c.envs[0].name);
	c.envs[0].name = strdup("st\"ag\ning");
	c.defs[1].name[0] = '9';
	y = triggers_render_rules(&c, &c.envs[0], &e);
	assert_non_null(y);
	assert_null(strstr(y, "production"));
	assert_non_null(strstr(y, "env: \"st\\\"ag\\ning\""));
	assert_non_null(strstr(y, "alert: Churnops9atencyP95\n"));
	free(y);
	triggers_config_finish(&c);
}

static void test_canary_judge(void **state)
{
	(void)state;
	struct trigger_def d = latency(0);
	d.canary_margin = 0.1;
	struct canary_result r;
	triggers_canary_judge(&d, true, 0.09, true, 0.18, &r);
	assert_int_equal(r.verdict, CANARY_OK);
	triggers_canary_judge(&d, true, 0.09, true, 0.2, &r);
	assert_int_equal(r.verdict, CANARY_WORSE);
	triggers_canary_judge(&d, true, 0.5, true, 0.01, &r); /* better is fine */
	assert_int_equal(r.verdict, CANARY_OK);
	triggers_canary_judge(&d, true, 0.09, false, 0, &r);
	assert_int_equal(r.verdict, CANARY_NODATA);
	triggers_canary_judge(&d, true, NAN, true, 0.1, &r);
	assert_int_equal(r.verdict, CANARY_NODATA);
	triggers_canary_judge(&d, true, 0.09, true, INFINITY, &r);
	assert_int_equal(r.verdict, CANARY_WORSE);
	/* "<" metrics: lower is worse. */
	d.op = TRIGGER_BELOW;
	d.canary_margin = 0.02;
	triggers_canary_judge(&d, true, 0.87, true, 0.86, &r);
	assert_int_equal(r.verdict, CANARY_OK);
	triggers_canary_judge(&d, true, 0.87, true, 0.84, &r);
	assert_int_equal(r.verdict, CANARY_WORSE);
	assert_string_equal(triggers_canary_verdict_name(CANARY_WORSE), "worse");
}

/* The state machine's evaluations, recorded as they happen, read back as
 * the transitions Prometheus' own alert would have gone through; a failed
 * evaluation keeps the state with its reason and no value. */
static void test_record_history(void **state)
{
	(void)state;
	enum trigger_state parsed;
	for (int i = TRIGGER_NODATA; i <= TRIGGER_FIRING; i++) {
		assert_true(triggers_state_parse(triggers_state_name(i), &parsed));
		assert_int_equal(parsed, i);
	}
	assert_false(triggers_state_parse("resolved", &parsed));
	assert_false(triggers_state_parse(NULL, &parsed));

	char dir[] = "/tmp/churnops-trig-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof path, "%s/churnops.db", dir);
	struct err e = {0};
	struct store *st = store_open(path, &e);
	assert_non_null(st);
	struct trigger_def d = latency(30);
	struct trigger_status s;
	triggers_status_init(&s);
	const double v[] = {0.1, 0.1, 0.8, 0.8, 0.9, 0.8, 0.2, 0.2};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		double t = 1800000000 + 15.0 * (double)i;
		triggers_step(&s, &d, t, true, v[i]);
		s.nseries = 2;
		assert_int_equal(triggers_record(st, "staging", &d, &s, t, NULL, &e), 0);
	}
	assert_int_equal(triggers_record(st, "staging", &d, &s, 1800000000 + 120, "latency_p95: "
					 "prometheus: connection refused", &e), 0);
	struct store_eval *tr;
	size_t n;
	assert_int_equal(store_eval_transitions(st, "staging", "latency_p95", 0, 0, &tr, &n, &e),
			 0);
	assert_int_equal(n, 4);
	assert_string_equal(tr[0].prev_state, "firing");
	assert_string_equal(tr[0].state, "inactive");
	assert_true(fabs(tr[0].value - 0.2) < 1e-12);
	assert_string_equal(tr[1].prev_state, "pending");
	assert_string_equal(tr[1].state, "firing");
	assert_true(tr[1].at == 1800000000 + 15.0 * 4);
	assert_true(fabs(tr[1].value - 0.9) < 1e-12);
	assert_int_equal(tr[1].nseries, 2);
	assert_string_equal(tr[2].state, "pending");
	assert_true(tr[2].at == 1800000000 + 15.0 * 2);
	assert_string_equal(tr[3].prev_state, "");
	assert_string_equal(tr[3].state, "inactive");
	store_evals_free(tr, n);
	assert_int_equal(store_eval_list(st, "staging", NULL, 0, 1, &tr, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(tr[0].state, "inactive");
	assert_false(tr[0].has_value);
	assert_int_equal(tr[0].nseries, 0);
	assert_string_equal(tr[0].error, "latency_p95: prometheus: connection refused");
	store_evals_free(tr, n);
	store_close(st);
	unlink(path);
	char side[80];
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pending_then_firing),
		cmocka_unit_test(test_reset_while_pending),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_for_zero),
		cmocka_unit_test(test_no_trigger),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_lookback),
		cmocka_unit_test(test_defaults_and_expand),
		cmocka_unit_test(test_override_file),
		cmocka_unit_test(test_override_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_canary_judge),
		cmocka_unit_test(test_record_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
