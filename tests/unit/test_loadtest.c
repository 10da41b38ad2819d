/* Unit tests for core/loadtest.c and core/service.c: where load may go,
 * percentiles and gates, the service's answers, sample records, and the
 * load generator itself against a tiny HTTP server on loopback.
 *
 * Percentiles are numpy's: np.percentile(np.arange(1, 101), [50, 95, 99])
 * is [50.5, 95.05, 99.01].
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "json.h"
#include "loadtest.h"
#include "schema.h"
#include "service.h"

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

/* --- targets --------------------------------------------------------------- */

static void url_host(void **state)
{
	(void)state;
	char h[64];
	assert_int_equal(loadtest_url_host("http://127.0.0.1:8080/x", h, sizeof h, NULL), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(loadtest_url_host("https://user:pw@LocalHost/p", h, sizeof h, NULL), 0);
	assert_string_equal(h, "LocalHost");
	assert_int_equal(loadtest_url_host("http://[::1]:9/p", h, sizeof h, NULL), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(loadtest_url_host("http://example.com?q", h, sizeof h, NULL), 0);
	assert_string_equal(h, "example.com");
	assert_int_equal(loadtest_url_host("ftp://127.0.0.1/", h, sizeof h, NULL), EXIT_INPUT);
	assert_int_equal(loadtest_url_host("http:///nohost", h, sizeof h, NULL), EXIT_INPUT);
	assert_int_equal(loadtest_url_host("http://[::1/", h, sizeof h, NULL), EXIT_INPUT);
}

static void loopback(void **state)
{
	(void)state;
	assert_true(loadtest_host_is_loopback("127.0.0.1"));
	assert_true(loadtest_host_is_loopback("127.200.3.4"));
	assert_true(loadtest_host_is_loopback("localhost"));
	assert_true(loadtest_host_is_loopback("::1"));
	assert_true(loadtest_host_is_loopback("::ffff:127.0.0.1"));
	assert_false(loadtest_host_is_loopback("128.0.0.1"));
	assert_false(loadtest_host_is_loopback("10.0.0.1"));
	assert_false(loadtest_host_is_loopback("::2"));
	assert_false(loadtest_host_is_loopback("localhost.example.com"));
	assert_false(loadtest_host_is_loopback("127.0.0.1.nip.io"));
}

static void check_target(void **state)
{
	(void)state;
	struct err e;
	const char *allowed[] = { "https://k8s.example.com", "http://svc.example.com:8080/base" };
	assert_int_equal(loadtest_check_target("http://127.0.0.1:1/predict", NULL, 0, &e), 0);
	assert_int_equal(loadtest_check_target("https://k8s.example.com:443/api/v1/x", allowed, 2, &e), 0);
	assert_int_equal(loadtest_check_target("https://K8S.example.com/y", allowed, 2, &e), 0);
	assert_int_equal(loadtest_check_target("http://svc.example.com:8080/other", allowed, 2, &e), 0);
	/* Same host, another port or scheme: not what was configured. */
	assert_int_equal(loadtest_check_target("http://svc.example.com/other", allowed, 2, &e),
			 EXIT_CHECK);
	assert_int_equal(loadtest_check_target("http://k8s.example.com/", allowed, 2, &e),
			 EXIT_CHECK);
	assert_int_equal(loadtest_check_target("http://203.0.113.9/predict", allowed, 2, &e),
			 EXIT_CHECK);
	assert_non_null(strstr(e.msg, "refusing to load-test http://203.0.113.9/predict"));
	assert_non_null(strstr(e.msg, "loopback"));
}

/* --- figures and gates ----------------------------------------------------- */

static void summarise(void **state)
{
	(void)state;
	double lat[100];
	for (int i = 0; i < 100; i++)
		lat[i] = 100 - i; /* unsorted on purpose */
	struct loadtest_result r = { .requests = 110, .ok = 100, .errors = 10,
				     .unsent = 10, .elapsed_s = 4 };
	loadtest_summarise(&r, lat, 100);
	assert_close(r.p50_ms, 50.5, 1e-12);
	assert_close(r.p95_ms, 95.05, 1e-9);
	assert_close(r.p99_ms, 99.01, 1e-9);
	assert_close(r.max_ms, 100, 0);
	assert_close(r.mean_ms, 50.5, 1e-12);
	assert_close(r.error_rate, 20.0 / 120.0, 1e-15); /* unsent count as failures */
	assert_close(r.throughput_rps, 25, 1e-12);

	struct loadtest_result none = { .requests = 3, .errors = 3, .elapsed_s = 1 };
	loadtest_summarise(&none, NULL, 0);
	assert_true(isnan(none.p99_ms));
	assert_close(none.error_rate, 1, 0);
	assert_close(none.throughput_rps, 0, 0);
}

static void gates(void **state)
{
	(void)state;
	struct loadtest_result r = { .p99_ms = 120, .error_rate = 0.01 };
	loadtest_judge(&r, NAN, NAN);
	assert_int_equal(r.ngates, 0);
	assert_true(r.pass);

	loadtest_judge(&r, 300, 0.05);
	assert_int_equal(r.ngates, 2);
	assert_true(r.pass);
	assert_string_equal(r.gates[0].name, "p99_ms");
	assert_string_equal(r.gates[1].name, "error_rate");

	loadtest_judge(&r, 120, NAN); /* strictly below */
	assert_false(r.pass);
	assert_false(r.gates[0].pass);

	loadtest_judge(&r, NAN, 0.01); /* at most */
	assert_true(r.pass);
	loadtest_judge(&r, NAN, 0.009);
	assert_false(r.pass);

	struct loadtest_result dead = { .p99_ms = NAN, .error_rate = 1 };
	loadtest_judge(&dead, 1e9, NAN); /* no success: no latency to vouch for */
	assert_false(dead.pass);
}

/* --- the service's answers ------------------------------------------------- */

#define S(text) text, strlen(text)

static void parse_health(void **state)
{
	(void)state;
	struct service_health h;
	struct err e;
	assert_int_equal(service_parse_health(S("{\"status\":\"healthy\",\"model_loaded\":true,"
						"\"version\":\"1.2.0\"}"), &h, &e), 0);
	assert_string_equal(h.version, "1.2.0");
	assert_true(h.model_loaded);
	assert_int_equal(service_parse_health(S("{}"), &h, &e), 0);
	assert_int_equal(service_parse_health(S("{\"status\":\"degraded\"}"), &h, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "unhealthy: degraded"));
	assert_int_equal(service_parse_health(S("{\"status\":\"ok\",\"model_loaded\":false}"), &h, &e),
			 EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "not loaded"));
	assert_int_equal(service_parse_health(S("[1]"), &h, &e), EXIT_BACKEND);
	assert_int_equal(service_parse_health(S("<html>"), &h, &e), EXIT_BACKEND);
	/* Text from the server is made safe for a terminal. */
	assert_int_equal(service_parse_health(S("{\"version\":\"1\\u001b[31m\"}"), &h, &e), 0);
	assert_null(strchr(h.version, 0x1b));
}

static void parse_info(void **state)
{
	(void)state;
	struct service_info i;
	struct err e;
	assert_int_equal(service_parse_info(S("{\"model\":\"churn\",\"version\":\"1.1.0\","
					      "\"image\":\"customer-churn-mlops:v1.1.0\"}"), &i, &e), 0);
	assert_string_equal(i.model, "churn");
	assert_string_equal(i.version, "1.1.0");
	assert_string_equal(i.image, "customer-churn-mlops:v1.1.0");
	assert_int_equal(service_parse_info(S("{\"version\":110}"), &i, &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "version"));
}

static void parse_predictions(void **state)
{
	(void)state;
	double p[3];
	struct err e;
	assert_int_equal(service_parse_predictions(S("[{\"churn_probability\":0.25},"
						     "{\"churn_probability\":1},"
						     "{\"churn_probability\":0}]"), 3, p, &e), 0);
	assert_close(p[0], 0.25, 0);
	assert_close(p[1], 1, 0);
	assert_int_equal(service_parse_predictions(S("{\"predictions\":[{\"churn_probability\":0.5}]}"),
						   1, p, &e), 0);
	assert_close(p[0], 0.5, 0);
	assert_int_equal(service_parse_predictions(S("[{\"churn_probability\":0.5}]"), 2, p, &e),
			 EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "1 predictions for 2 records"));
	assert_int_equal(service_parse_predictions(S("[{\"churn_probability\":1.5}]"), 1, p, &e),
			 EXIT_BACKEND);
	assert_int_equal(service_parse_predictions(S("[{\"churn_probability\":\"0.5\"}]"), 1, p, &e),
			 EXIT_BACKEND);
	assert_int_equal(service_parse_predictions(S("[{}]"), 1, p, &e), EXIT_BACKEND);
	assert_int_equal(service_parse_predictions(S("{\"error\":\"x\"}"), 1, p, &e), EXIT_BACKEND);
	assert_int_equal(service_parse_predictions(S(""), 1, p, &e), EXIT_BACKEND);
}

/* --- sample records -------------------------------------------------------- */

static struct schema *small_schema(void)
{
	const char *text =
		"{\"target\":\"churn\",\"features\":["
		"{\"name\":\"tenure\",\"type\":\"numeric\",\"range\":[0,72],\"typical\":29},"
		"{\"name\":\"charges\",\"type\":\"numeric\",\"range\":[10,110]},"
		"{\"name\":\"contract\",\"type\":\"categorical\",\"levels\":"
		"[\"Month-to-month\",\"One year\",\"Two year\"],\"typical\":\"One year\"}]}";
	cJSON *root = json_parse(text, strlen(text), "schema", NULL);
	struct schema *s = schema_parse(root, "schema", NULL);
	cJSON_Delete(root);
	assert_non_null(s);
	return s;
}

static void records_from_schema(void **state)
{
	(void)state;
	struct schema *s = small_schema();
	cJSON *recs;
	float *rows;
	size_t n;
	assert_int_equal(service_records_from_schema(s, 20, &recs, &rows, &n, NULL), 0);
	/* The typical customer, then the two other contracts. */
	assert_int_equal(n, 3);
	assert_int_equal(cJSON_GetArraySize(recs), 3);
	const cJSON *r0 = cJSON_GetArrayItem(recs, 0);
	assert_close(json_num(r0, "tenure", -1), 29, 0);
	assert_close(json_num(r0, "charges", -1), 60, 0);
	assert_string_equal(json_str(r0, "contract"), "One year");
	assert_string_equal(json_str(cJSON_GetArrayItem(recs, 1), "contract"), "Month-to-month");
	assert_string_equal(json_str(cJSON_GetArrayItem(recs, 2), "contract"), "Two year");
	assert_close(rows[0], 29, 0);
	assert_close(rows[2], 1, 0);
	assert_close(rows[3 + 2], 0, 0);
	assert_close(rows[6 + 2], 2, 0);
	cJSON_Delete(recs);
	free(rows);

	assert_int_equal(service_records_from_schema(s, 2, &recs, NULL, &n, NULL), 0);
	assert_int_equal(n, 2);
	cJSON_Delete(recs);
	schema_destroy(s);
}

static void records_from_csv(void **state)
{
	(void)state;
	char path[] = "/tmp/churnops-test-records-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *csv = "contract,extra,tenure,charges\n"
			  "Two year,x,5,20.5\n"
			  "Three year,y,,abc\n";
	assert_int_equal(write(fd, csv, strlen(csv)), (ssize_t)strlen(csv));
	close(fd);

	cJSON *recs;
	float *rows;
	size_t n;
	struct err e;
	/* Without a schema: every column, numbers where they read as numbers. */
	assert_int_equal(service_records_from_csv(path, NULL, 0, &recs, NULL, &n, &e), 0);
	assert_int_equal(n, 2);
	const cJSON *r1 = cJSON_GetArrayItem(recs, 1);
	assert_string_equal(json_str(r1, "extra"), "y");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r1, "tenure")));
	assert_string_equal(json_str(r1, "charges"), "abc");
	cJSON_Delete(recs);

	/* With one: its features only, typed; a non-number is bad input. */
	struct schema *s = small_schema();
	assert_int_equal(service_records_from_csv(path, s, 1, &recs, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	const cJSON *r0 = cJSON_GetArrayItem(recs, 0);
	assert_null(cJSON_GetObjectItem(r0, "extra"));
	assert_close(json_num(r0, "charges", -1), 20.5, 0);
	assert_close(rows[0], 5, 0);
	assert_close(rows[2], 2, 0);
	cJSON_Delete(recs);
	free(rows);
	assert_int_equal(service_records_from_csv(path, s, 0, &recs, &rows, &n, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "line 3"));
	schema_destroy(s);
	unlink(path);

	assert_int_equal(service_records_from_csv("/nonexistent/x.csv", NULL, 0, &recs, NULL,
						  &n, &e), EXIT_INPUT);
}

/* --- the load generator against a tiny server ------------------------------ */

/* Answers every request on a kept-alive connection; every fourth request
 * (by arrival, over all connections) gets a 500 with an {"error"} body. */
static int listen_fd = -1;
static int served;
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;

static void *connection(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	size_t have = 0;
	for (;;) {
		char *end;
		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			ssize_t k = read(fd, buf + have, sizeof buf - have);
			if (k <= 0)
				goto out;
			have += (size_t)k;
		}
		size_t head = (size_t)(end + 4 - buf), body = 0;
		char *cl = memmem(buf, head, "Content-Length:", 15);
		if (cl)
			body = strtoul(cl + 15, NULL, 10);
		while (have < head + body) {
			ssize_t k = read(fd, buf + have, sizeof buf - have);
			if (k <= 0)
				goto out;
			have += (size_t)k;
		}
		memmove(buf, buf + head + body, have - head - body);
		have -= head + body;
		pthread_mutex_lock(&served_lock);
		int nth = ++served;
		pthread_mutex_unlock(&served_lock);
		const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 27\r\n\r\n{\"churn_probability\": 0.25}";
		const char *bad = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
				  "application/json\r\nContent-Length: 17\r\n\r\n{\"error\": \"boom\"}";
		const char *a = nth % 4 == 0 ? bad : ok;
		if (write(fd, a, strlen(a)) < 0)
			goto out;
	}
out:
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_t t;
		pthread_create(&t, NULL, connection, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static int start_server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(listen_fd >= 0);
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(listen_fd, 64), 0);
	assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&a, &len), 0);
	pthread_t t;
	pthread_create(&t, NULL, acceptor, NULL);
	pthread_detach(t);
	return ntohs(a.sin_port);
}

static void run_load(double rps, unsigned concurrency, struct loadtest_result *r)
{
	static int port;
	if (!port)
		port = start_server();
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/predict", port);
	const char *bodies[] = { "{\"tenure\": 1}", "{\"tenure\": 2}" };
	const size_t lens[] = { strlen(bodies[0]), strlen(bodies[1]) };
	struct http_options ho = {0};
	struct err e;
	struct http_client *c = http_client_create(&ho, &e);
	assert_non_null(c);
	struct loadtest_opts o = {
		.url = url, .duration_s = 0.5, .concurrency = concurrency, .rps = rps,
		.bodies = bodies, .body_lens = lens, .nbodies = 2,
		.gate_p99_ms = 5000, .gate_error_rate = 0.1,
	};
	pthread_mutex_lock(&served_lock);
	served = 0;
	pthread_mutex_unlock(&served_lock);
	int rc = loadtest_run(c, &o, r, &e);
	/* A quarter of the answers are errors: the error gate fails. */
	assert_int_equal(rc, EXIT_CHECK);
	assert_non_null(strstr(e.msg, "error_rate"));
	http_client_destroy(c);
	assert_int_equal(r->requests, r->ok + r->errors);
	assert_int_equal(r->errors, r->by_kind[HTTP_ERR_STATUS]);
	assert_string_equal(r->first_error, "HTTP 500: boom");
	assert_true(r->gates[0].pass);
	assert_false(r->gates[1].pass);
	assert_false(r->pass);
}

static void closed_loop(void **state)
{
	(void)state;
	struct loadtest_result r;
	run_load(0, 4, &r);
	assert_false(r.open_loop);
	assert_true(r.requests > 20);
	assert_close((double)r.errors / (double)r.requests, 0.25, 0.05);
	assert_false(isnan(r.p99_ms));
}

static void open_loop(void **state)
{
	(void)state;
	struct loadtest_result r;
	run_load(200, 8, &r);
	assert_true(r.open_loop);
	/* Request k is due at k / 200 s: exactly 100 in half a second. */
	assert_int_equal(r.requests + r.unsent, 100);
	assert_int_equal(r.unsent, 0);
	assert_close(r.error_rate, 0.25, 1e-12);
	assert_close(r.throughput_rps, 150, 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(url_host),
		cmocka_unit_test(loopback),
		cmocka_unit_test(check_target),
		cmocka_unit_test(summarise),
		cmocka_unit_test(gates),
		cmocka_unit_test(parse_health),
		cmocka_unit_test(parse_info),
		cmocka_unit_test(parse_predictions),
		cmocka_unit_test(records_from_schema),
		cmocka_unit_test(records_from_csv),
		cmocka_unit_test(closed_loop),
		cmocka_unit_test(open_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
