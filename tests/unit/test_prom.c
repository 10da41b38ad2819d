/* prom: parsing the HTTP API's answers (recorded from Prometheus 2.42 and
 * trimmed), its error shapes, the limits, and durations. The client on the
 * wire is covered by integration/prom_live_test.py against the real
 * server. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom.h"

static int parse(const char *body, long status, const struct prom_limits *lim,
		 struct prom_result *r, struct err *e)
{
	memset(e, 0, sizeof *e);
	return prom_parse(body, strlen(body), status, lim, r, e);
}

static void test_vector(void **state)
{
	(void)state;
	const char *body =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		"{\"metric\":{\"__name__\":\"model_performance_score\",\"deployment\":\"churn-prediction\","
		"\"namespace\":\"mlops-staging\",\"version\":\"1.2.0\"},\"value\":[1764185400.123,\"0.87\"]},"
		"{\"metric\":{},\"value\":[1764185400.123,\"NaN\"]},"
		"{\"value\":[1764185400,\"+Inf\"]},"
		"{\"metric\":{\"a\":\"b\"},\"value\":[1764185400,\"-Inf\"]},"
		"{\"metric\":{\"a\":\"c\"},\"value\":[1764185400,\"1e-3\"]}]}}";
	struct prom_result r;
	struct err e;
	assert_int_equal(parse(body, 200, NULL, &r, &e), 0);
	assert_int_equal(r.type, PROM_VECTOR);
	assert_int_equal(r.nseries, 5);
	assert_int_equal(r.series[0].nlabels, 4);
	assert_string_equal(prom_series_label(&r.series[0], "version"), "1.2.0");
	assert_null(prom_series_label(&r.series[0], "nope"));
	assert_true(fabs(r.series[0].samples[0].v - 0.87) < 1e-12);
	assert_true(fabs(r.series[0].samples[0].t - 1764185400.123) < 1e-6);
	assert_true(isnan(r.series[1].samples[0].v));
	assert_int_equal(r.series[2].nlabels, 0);
	assert_true(isinf(r.series[2].samples[0].v) && r.series[2].samples[0].v > 0);
	assert_true(isinf(r.series[3].samples[0].v) && r.series[3].samples[0].v < 0);
	assert_true(fabs(r.series[4].samples[0].v - 0.001) < 1e-15);
	prom_result_finish(&r);
	prom_result_finish(&r); /* finished twice is fine */
}

static void test_empty_vector(void **state)
{
	(void)state;
	struct prom_result r;
	struct err e;
	assert_int_equal(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
			       "\"result\":[]}}", 200, NULL, &r, &e), 0);
	assert_int_equal(r.nseries, 0);
	prom_result_finish(&r);
}

static void test_matrix_and_warnings(void **state)
{
	(void)state;
	const char *body =
		"{\"status\":\"success\",\"warnings\":[\"query has no data\"],\"data\":{"
		"\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"le\":\"0.5\"},\"values\":[[100,\"1\"],[115,\"2\"],[130,\"3\"]]},"
		"{\"metric\":{\"le\":\"1\"},\"values\":[]}]}}";
	struct prom_result r;
	struct err e;
	assert_int_equal(parse(body, 200, NULL, &r, &e), 0);
	assert_int_equal(r.type, PROM_MATRIX);
	assert_int_equal(r.nseries, 2);
	assert_int_equal(r.series[0].nsamples, 3);
	assert_true(r.series[0].samples[2].t == 130 && r.series[0].samples[2].v == 3);
	assert_int_equal(r.series[1].nsamples, 0);
	assert_int_equal(r.nwarnings, 1);
	assert_string_equal(r.warnings[0], "query has no data");
	prom_result_finish(&r);
}

static void test_scalar_and_string(void **state)
{
	(void)state;
	struct prom_result r;
	struct err e;
	assert_int_equal(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
			       "\"result\":[1764185400,\"42\"]}}", 200, NULL, &r, &e), 0);
	assert_int_equal(r.type, PROM_SCALAR);
	assert_int_equal(r.nseries, 1);
	assert_true(r.series[0].samples[0].v == 42);
	prom_result_finish(&r);
	assert_int_equal(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"string\","
			       "\"result\":[1764185400,\"hello\"]}}", 200, NULL, &r, &e), 0);
	assert_int_equal(r.type, PROM_STRING);
	assert_string_equal(r.string, "hello");
	prom_result_finish(&r);
}

/* Prometheus' own words come through: errorType and error. */
static void test_error_shapes(void **state)
{
	(void)state;
	struct prom_result r;
	struct err e;
	assert_int_equal(parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
			       "\"invalid parameter \\\"query\\\": 1:6: parse error: unexpected "
			       "right parenthesis ')'\"}", 400, NULL, &r, &e), EXIT_BACKEND);
	assert_string_equal(e.msg, "prometheus: bad_data: invalid parameter \"query\": 1:6: "
				   "parse error: unexpected right parenthesis ')'");
	assert_int_equal(r.nseries, 0);
	assert_int_equal(parse("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":"
			       "\"query processing would load too many samples into memory\"}",
			       422, NULL, &r, &e), EXIT_BACKEND);
	assert_string_equal(e.msg, "prometheus: execution: query processing would load too "
				   "many samples into memory");
	assert_int_equal(parse("{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":"
			       "\"query timed out in expression evaluation\"}", 503, NULL, &r, &e),
			 EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "timeout: query timed out"));
	/* Control characters in the error are escaped, never passed to a terminal. */
	assert_int_equal(parse("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":"
			       "\"x\\u001b[31my\"}", 400, NULL, &r, &e), EXIT_BACKEND);
	assert_null(strchr(e.msg, 0x1b));
	assert_non_null(strstr(e.msg, "\\x1b[31my"));
}

static void test_garbage(void **state)
{
	(void)state;
	struct prom_result r;
	struct err e;
	static const char *const bodies[] = {
		"", "<html><body>502 Bad Gateway</body></html>", "[1,2]", "{}",
		"{\"status\":\"success\"}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[1]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"value\":[1,2]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"value\":[1,\"abc\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"value\":[1,\" 1\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{\"a\":1},\"value\":[1,\"1\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
		"[{\"metric\":{},\"values\":[[1,\"1\"],[2]]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"histogram\":[1,{}]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"table\",\"result\":[]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
		"[{\"metric\":{},\"value\":[1,\"1\"]},",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		assert_int_equal(parse(bodies[i], 200, NULL, &r, &e), EXIT_BACKEND);
		assert_true(strncmp(e.msg, "prometheus: ", 12) == 0);
		assert_int_equal(r.nseries, 0);
		assert_null(r.series);
	}
	/* A proxy's HTML error page keeps its status in the message. */
	assert_int_equal(parse("<html>502 Bad Gateway</html>", 502, NULL, &r, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "HTTP 502"));
}

static void test_limits(void **state)
{
	(void)state;
	struct prom_limits lim = { .max_series = 2, .max_samples = 5, .max_labels = 2 };
	struct prom_result r;
	struct err e;
	const char *three = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			    "{\"value\":[1,\"1\"]},{\"value\":[1,\"1\"]},{\"value\":[1,\"1\"]}]}}";
	assert_int_equal(parse(three, 200, &lim, &r, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "3 series (the limit is 2)"));
	const char *many = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
			   "{\"values\":[[1,\"1\"],[2,\"1\"],[3,\"1\"]]},"
			   "{\"values\":[[1,\"1\"],[2,\"1\"],[3,\"1\"]]}]}}";
	assert_int_equal(parse(many, 200, &lim, &r, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "more than 5 samples"));
	const char *labels = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			     "{\"metric\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"},\"value\":[1,\"1\"]}]}}";
	assert_int_equal(parse(labels, 200, &lim, &r, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "3 labels"));
	/* At the limits exactly: accepted. */
	lim.max_samples = 6;
	assert_int_equal(parse(many, 200, &lim, &r, &e), 0);
	prom_result_finish(&r);
}

static void test_durations(void **state)
{
	(void)state;
	double s;
	assert_true(prom_parse_duration("30s", false, &s) && s == 30);
	assert_true(prom_parse_duration("1h30m", false, &s) && s == 5400);
	assert_true(prom_parse_duration("500ms", false, &s) && fabs(s - 0.5) < 1e-12);
	assert_true(prom_parse_duration("1m500ms", false, &s) && fabs(s - 60.5) < 1e-12);
	assert_true(prom_parse_duration("2d", false, &s) && s == 172800);
	assert_true(prom_parse_duration("1w", false, &s) && s == 604800);
	assert_true(prom_parse_duration("15", false, &s) && s == 15);
	assert_true(prom_parse_duration("0.5", false, &s) && s == 0.5);
	assert_true(prom_parse_duration("0s", true, &s) && s == 0);
	assert_false(prom_parse_duration("0s", false, &s));
	assert_false(prom_parse_duration("", true, &s));
	assert_true(prom_parse_duration("5", false, &s) && s == 5);
	assert_false(prom_parse_duration("m5", false, &s));
	assert_false(prom_parse_duration("5x", false, &s));
	assert_false(prom_parse_duration("30s1m", false, &s)); /* units largest first */
	assert_false(prom_parse_duration("1h1h", false, &s));
	assert_false(prom_parse_duration("-5s", false, &s));
	assert_false(prom_parse_duration("5 s", false, &s));
	char buf[32];
	prom_format_duration(5400, buf, sizeof buf);
	assert_string_equal(buf, "1h30m");
	prom_format_duration(0.25, buf, sizeof buf);
	assert_string_equal(buf, "250ms");
	prom_format_duration(0, buf, sizeof buf);
	assert_string_equal(buf, "0s");
	prom_format_duration(900, buf, sizeof buf);
	assert_string_equal(buf, "15m");
}

/* Found by fuzz_prom_answers (corpus/prom_answers/regress_duration_*): a
 * duration under half a millisecond, or one whose milliseconds pass long
 * long, was written as nothing. */
static void test_duration_edges(void **state)
{
	(void)state;
	char buf[32];
	double s;
	assert_true(prom_parse_duration("0.0004", false, &s));
	prom_format_duration(s, buf, sizeof buf);
	assert_string_equal(buf, "0s");
	assert_true(prom_parse_duration("9999999999999999999y", false, &s));
	prom_format_duration(s, buf, sizeof buf);
	assert_string_equal(buf, "3649999999999999475712d");
	prom_format_duration(86400.0 * 1e5 + 1, buf, sizeof buf);
	assert_string_equal(buf, "100000d1s");
	prom_format_duration(0.0005, buf, sizeof buf);
	assert_string_equal(buf, "1ms");
}

static void test_client_url(void **state)
{
	(void)state;
	struct err e = { 0 };
	struct prom_options o = { 0 };
	assert_null(prom_client_create(&o, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_non_null(strstr(e.msg, "PROMETHEUS_URL"));
	o.url = "ftp://x";
	assert_null(prom_client_create(&o, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	o.url = "http://user:secret@host:9090/";
	assert_null(prom_client_create(&o, &e));
	assert_null(strstr(e.msg, "secret"));
	o.url = "https://mon.example/prometheus///";
	struct prom_client *c = prom_client_create(&o, &e);
	assert_non_null(c);
	assert_string_equal(prom_client_url(c), "https://mon.example/prometheus");
	prom_client_destroy(c);
	prom_client_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_empty_vector),
		cmocka_unit_test(test_matrix_and_warnings),
		cmocka_unit_test(test_scalar_and_string),
		cmocka_unit_test(test_error_shapes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_duration_edges),
		cmocka_unit_test(test_client_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
