/* http against a one-shot server on loopback: each test forks a child that
 * accepts one connection, records the request and answers with a canned
 * response (in pieces, late, or not at all), so error mapping, the size cap,
 * streaming and credentials are checked on the wire. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"

struct server {
	int fd;
	int port;
	pid_t child;
	char request_file[64];
};

/* One piece of the answer: bytes, then a pause in milliseconds. */
struct piece {
	const char *data;
	int pause_ms;
};

static void serve_once(int lfd, const char *record, const struct piece *pieces)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	char buf[65536];
	size_t len = 0;
	/* Headers, then the body by Content-Length. */
	while (len < sizeof buf - 1) {
		ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			char *cl = strcasestr(buf, "Content-Length:");
			size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
			if (len >= want)
				break;
		}
	}
	FILE *f = fopen(record, "w");
	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
	}
	for (const struct piece *p = pieces; p && p->data; p++) {
		if (write(c, p->data, strlen(p->data)) < 0)
			break;
		if (p->pause_ms)
			usleep((useconds_t)p->pause_ms * 1000);
	}
	close(c);
	_exit(0);
}

static void start(struct server *s, const struct piece *pieces)
{
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	socklen_t al = sizeof a;
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	snprintf(s->request_file, sizeof s->request_file, "/tmp/churnops-http-req-%d", (int)getpid());
	s->child = fork();
	assert_true(s->child >= 0);
	if (s->child == 0)
		serve_once(s->fd, s->request_file, pieces);
}

static char *stop(struct server *s)
{
	kill(s->child, SIGTERM);
	waitpid(s->child, NULL, 0);
	close(s->fd);
	static char req[65536];
	req[0] = '\0';
	FILE *f = fopen(s->request_file, "r");
	if (f) {
		size_t n = fread(req, 1, sizeof req - 1, f);
		req[n] = '\0';
		fclose(f);
	}
	unlink(s->request_file);
	return req;
}

static struct http_client *client(const char *bearer, long timeout_ms, size_t cap)
{
	struct http_options o;
	memset(&o, 0, sizeof o);
	o.bearer = bearer;
	o.timeout_ms = timeout_ms;
	o.max_response = cap;
	struct err e = {0};
	struct http_client *c = http_client_create(&o, &e);
	assert_non_null(c);
	return c;
}

static void url_of(const struct server *s, const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", s->port, path);
}

static void test_json_round_trip_and_bearer(void **state)
{
	(void)state;
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
		  "Connection: close\r\n\r\n{\"kind\":\"Scale\"}\n", 0 },
		{ NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client("s3cret-token", 0, 0);
	char url[128];
	url_of(&s, "/apis/x?y=1", url, sizeof url);
	cJSON *body = cJSON_Parse("{\"spec\":{\"replicas\":2}}");
	cJSON *out = NULL;
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_json(c, "PATCH", url, "application/merge-patch+json", body, &out, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(cJSON_GetObjectItem(out, "kind")->valuestring, "Scale");
	http_response_finish(&r);
	cJSON_Delete(out);
	cJSON_Delete(body);
	http_client_destroy(c);
	char *req = stop(&s);
	assert_non_null(strstr(req, "PATCH /apis/x?y=1 HTTP/1.1"));
	assert_non_null(strstr(req, "Authorization: Bearer s3cret-token"));
	assert_non_null(strstr(req, "Content-Type: application/merge-patch+json"));
	assert_non_null(strstr(req, "{\"spec\":{\"replicas\":2}}"));
}

static void test_status_message_without_the_token(void **state)
{
	(void)state;
	const char *status = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			     "\"message\":\"deployments.apps \\\"nope\\\" not found\","
			     "\"reason\":\"NotFound\",\"code\":404}";
	char head[256];
	snprintf(head, sizeof head, "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(status));
	struct piece p[] = { { head, 0 }, { status, 0 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client("s3cret-token", 0, 0);
	char url[128];
	url_of(&s, "/apis/apps/v1/namespaces/ns/deployments/nope", url, sizeof url);
	cJSON *out = NULL;
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_json(c, "GET", url, NULL, NULL, &out, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_STATUS);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(e.msg, "HTTP 404: deployments.apps \"nope\" not found"));
	assert_null(strstr(e.msg, "s3cret"));
	assert_non_null(r.body); /* kept for the caller to read the Status */
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static void test_size_cap_aborts(void **state)
{
	(void)state;
	static char big[8192];
	memset(big, 'x', sizeof big - 1);
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8191\r\n"
		  "Connection: close\r\n\r\n", 0 },
		{ big, 0 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 0, 1024);
	char url[128];
	url_of(&s, "/big", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_TOO_LARGE);
	assert_non_null(strstr(e.msg, "larger than 1024 bytes"));
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A Content-Length over the cap fails at once, before any of the body. */
static void test_declared_length_over_the_cap(void **state)
{
	(void)state;
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Content-Length: 104857600\r\nConnection: close\r\n\r\n[", 5000 },
		{ NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 0, 1024);
	char url[128];
	url_of(&s, "/huge", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	double t0 = seconds();
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_true(seconds() - t0 < 3);
	assert_int_equal(r.error, HTTP_ERR_TOO_LARGE);
	assert_non_null(strstr(e.msg, "larger than 1024 bytes"));
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

/* Without a length (chunked), the bytes read are counted against the cap. */
static void test_chunked_over_the_cap(void **state)
{
	(void)state;
	static char chunk[1100];
	snprintf(chunk, 8, "200\r\n");
	memset(chunk + 5, 'x', 0x200);
	memcpy(chunk + 5 + 0x200, "\r\n", 3);
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n", 0 },
		{ chunk, 0 }, { chunk, 0 }, { chunk, 0 }, { "0\r\n\r\n", 0 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 0, 1024);
	char url[128];
	url_of(&s, "/chunked", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_TOO_LARGE);
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

/* A server that echoes the token in its error: the body and the message
 * carry asterisks instead. */
static void test_echoed_token_is_scrubbed(void **state)
{
	(void)state;
	const char *body = "{\"message\":\"bad token: Bearer s3cret-token-42 (and again "
			   "s3cret-token-42)\"}";
	char head[256];
	snprintf(head, sizeof head, "HTTP/1.1 401 Unauthorized\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 strlen(body));
	struct piece p[] = { { head, 0 }, { body, 0 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client("s3cret-token-42", 0, 0);
	char url[128];
	url_of(&s, "/echo", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.status, 401);
	assert_null(strstr(e.msg, "s3cret"));
	assert_null(strstr(r.body, "s3cret"));
	assert_non_null(strstr(e.msg, "bad token: Bearer *************** (and again"));
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static void test_url_redact(void **state)
{
	(void)state;
	char buf[128];
	http_url_redact("https://user:pw@host:8443/api/v1?token=x#f", buf, sizeof buf);
	assert_string_equal(buf, "https://host:8443/api/v1");
	http_url_redact("http://127.0.0.1:1/a@b?q", buf, sizeof buf);
	assert_string_equal(buf, "http://127.0.0.1:1/a@b");
	http_url_redact("http://host", buf, sizeof buf);
	assert_string_equal(buf, "http://host");
	http_url_redact("http://u@host/x", buf, 12);
	assert_string_equal(buf, "http://host");
}

static void test_bad_json(void **state)
{
	(void)state;
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n"
		  "Connection: close\r\n\r\n<html>", 0 },
		{ NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 0, 0);
	char url[128];
	url_of(&s, "/x", url, sizeof url);
	cJSON *out = NULL;
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_json(c, "GET", url, NULL, NULL, &out, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_BAD_JSON);
	assert_null(out);
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static void test_timeout_and_refused(void **state)
{
	(void)state;
	struct piece p[] = { { "", 3000 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 300, 0);
	char url[128];
	url_of(&s, "/slow", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_TIMEOUT);
	assert_non_null(strstr(e.msg, "timed out"));
	http_response_finish(&r);
	stop(&s);
	/* Nobody listens on the port any more. */
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_REFUSED);
	assert_non_null(strstr(e.msg, "unreachable"));
	http_response_finish(&r);
	http_client_destroy(c);
}

struct lines {
	char text[4096];
	size_t len;
	int calls;
};

static bool collect(const char *data, size_t len, void *arg, struct err *e)
{
	(void)e;
	struct lines *l = arg;
	l->calls++;
	if (l->len + len < sizeof l->text) {
		memcpy(l->text + l->len, data, len);
		l->len += len;
		l->text[l->len] = '\0';
	}
	return true;
}

static void test_stream_in_pieces_and_broken(void **state)
{
	(void)state;
	/* A chunked body whose event is split across chunks and reads, and
	 * which then breaks off mid-chunk. */
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n", 50 },
		{ "8\r\n{\"type\":\r\n", 50 },
		{ "d\r\n\"ADDED\"}\n{\"ty\r\n", 50 },
		{ "40\r\npe\":\"MOD", 50 },
		{ NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 5000, 0);
	char url[128];
	url_of(&s, "/watch", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	struct lines l = { .len = 0 };
	assert_int_equal(http_stream(c, &req, collect, &l, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.error, HTTP_ERR_CLOSED);
	assert_true(l.calls >= 2);
	assert_int_equal(strncmp(l.text, "{\"type\":\"ADDED\"}\n{\"ty", 21), 0);
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static void *cancel_later(void *arg)
{
	usleep(300 * 1000);
	atomic_store((atomic_bool *)arg, true);
	return NULL;
}

static void test_cancel_from_another_thread(void **state)
{
	(void)state;
	/* The server sends headers and then nothing for 5 s, like a quiet
	 * watch; another thread sets the flag. */
	struct piece p[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 5000 },
		{ NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_client *c = client(NULL, 30000, 0);
	atomic_bool cancel = false;
	http_client_set_cancel(c, &cancel);
	char url[128];
	url_of(&s, "/watch", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	struct err e = {0};
	struct lines l = { .len = 0 };
	pthread_t t;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&t, NULL, cancel_later, &cancel);
	assert_int_equal(http_stream(c, &req, collect, &l, &r, &e), EXIT_BACKEND);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	assert_int_equal(r.error, HTTP_ERR_ABORTED);
	assert_non_null(strstr(e.msg, "cancelled"));
	assert_true(t1.tv_sec - t0.tv_sec < 3);
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

static void test_server_message_sanitised(void **state)
{
	(void)state;
	char buf[64];
	http_server_message("oops\x1b[31m red\nline", 18, buf, sizeof buf);
	assert_string_equal(buf, "oops\\x1b[31m red line");
	http_server_message("{\"error\":{\"message\":\"no such model\"}}", 37, buf, sizeof buf);
	assert_string_equal(buf, "no such model");
	assert_string_equal(http_error_name(HTTP_ERR_TLS), "tls");
	char *q = http_escape("metadata.name=a b");
	assert_string_equal(q, "metadata.name%3Da%20b");
	free(q);
}

/* An echoed Authorization: Basic header carries base64 of user:password:
 * it is scrubbed like the password itself. "alice:hunter2-pw" encodes to
 * YWxpY2U6aHVudGVyMi1wdw==. */
static void test_echoed_basic_header_is_scrubbed(void **state)
{
	(void)state;
	const char *body = "{\"message\":\"denied: Authorization: Basic YWxpY2U6aHVudGVyMi1wdw==\"}";
	char head[256];
	snprintf(head, sizeof head, "HTTP/1.1 403 Forbidden\r\nContent-Type: "
		 "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 strlen(body));
	struct piece p[] = { { head, 0 }, { body, 0 }, { NULL, 0 } };
	struct server s;
	start(&s, p);
	struct http_options o;
	memset(&o, 0, sizeof o);
	o.basic_user = "alice";
	o.basic_password = "hunter2-pw";
	struct err e = {0};
	struct http_client *c = http_client_create(&o, &e);
	assert_non_null(c);
	char url[128];
	url_of(&s, "/echo", url, sizeof url);
	struct http_request req = { .url = url };
	struct http_response r;
	assert_int_equal(http_do(c, &req, &r, &e), EXIT_BACKEND);
	assert_int_equal(r.status, 403);
	assert_null(strstr(r.body, "YWxpY2U6aHVudGVyMi1wdw=="));
	assert_null(strstr(e.msg, "YWxpY2U6aHVudGVyMi1wdw=="));
	assert_non_null(strstr(e.msg, "Basic ************************"));
	http_response_finish(&r);
	http_client_destroy(c);
	stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip_and_bearer),
		cmocka_unit_test(test_status_message_without_the_token),
		cmocka_unit_test(test_size_cap_aborts),
		cmocka_unit_test(test_declared_length_over_the_cap),
		cmocka_unit_test(test_chunked_over_the_cap),
		cmocka_unit_test(test_echoed_token_is_scrubbed),
		cmocka_unit_test(test_echoed_basic_header_is_scrubbed),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_timeout_and_refused),
		cmocka_unit_test(test_stream_in_pieces_and_broken),
		cmocka_unit_test(test_cancel_from_another_thread),
		cmocka_unit_test(test_server_message_sanitised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
