#include "http.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "json.h"

#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RESPONSE ((size_t)16 << 20)
/* A request that moves fewer than LOW_SPEED_BYTES a second for a third of
 * its timeout (LOW_SPEED_MIN_S at least) has stalled and is given up: a
 * hung or trickling server fails in seconds instead of holding a command for
 * its whole timeout, while a caller who allows a slow server a long timeout
 * allows it a long pause too. Streams (watches) are idle by nature: they
 * have their total timeout, and must only begin their answer within
 * LOW_SPEED_MIN_S. */
#define LOW_SPEED_BYTES 64L
#define LOW_SPEED_MIN_S 10L
/* Credentials shorter than this are not scrubbed from answers: they would
 * match ordinary text. */
#define SCRUB_MIN 6
/* An error body is kept to this size even when streaming. */
#define ERROR_BODY_MAX ((size_t)64 << 10)

struct http_client {
	CURL *curl;
	long connect_ms;
	long timeout_ms;
	size_t max_response;
	char *user_agent;
	struct http_tls tls; /* owned copies */
	char *bearer;
	char *basic_user;
	char *basic_password;
	char *basic_b64;    /* base64 of "user:password", as the header carries it */
	const atomic_bool *cancel;
	char curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *http_error_name(enum http_error code)
{
	switch (code) {
	case HTTP_OK: return "ok";
	case HTTP_ERR_REFUSED: return "refused";
	case HTTP_ERR_TIMEOUT: return "timeout";
	case HTTP_ERR_TLS: return "tls";
	case HTTP_ERR_STATUS: return "http status";
	case HTTP_ERR_TOO_LARGE: return "too large";
	case HTTP_ERR_BAD_JSON: return "bad json";
	case HTTP_ERR_CLOSED: return "closed";
	case HTTP_ERR_ABORTED: return "aborted";
	case HTTP_ERR_OTHER: break;
	}
	return "error";
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *dup_mem(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* Overwrites a secret before freeing it, so it does not linger in the heap. */
static void free_secret(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = '\0';
		free(s);
	}
}

static void tls_free(struct http_tls *t)
{
	free((char *)t->ca_file);
	free((char *)t->ca_data);
	free((char *)t->cert_file);
	free((char *)t->cert_data);
	free((char *)t->key_file);
	if (t->key_data) {
		memset((char *)t->key_data, 0, t->key_len);
		free((char *)t->key_data);
	}
	memset(t, 0, sizeof *t);
}

static bool tls_copy(struct http_tls *d, const struct http_tls *s)
{
	memset(d, 0, sizeof *d);
	d->insecure = s->insecure;
	d->ca_len = s->ca_len;
	d->cert_len = s->cert_len;
	d->key_len = s->key_len;
	bool ok = true;
#define COPY_STR(f) if (s->f && !(d->f = strdup(s->f))) ok = false
#define COPY_MEM(f, n) if (s->f && !(d->f = dup_mem(s->f, s->n))) ok = false
	COPY_STR(ca_file);
	COPY_STR(cert_file);
	COPY_STR(key_file);
	COPY_MEM(ca_data, ca_len);
	COPY_MEM(cert_data, cert_len);
	COPY_MEM(key_data, key_len);
#undef COPY_STR
#undef COPY_MEM
	return ok;
}

/* The base64 of "USER:PASSWORD" that an Authorization: Basic header
 * carries, newly allocated (NULL when out of memory): a server echoing the
 * header back must have it scrubbed too. */
static char *basic_header_value(const char *user, const char *password)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t nu = strlen(user), np = strlen(password), n = nu + 1 + np;
	unsigned char *in = malloc(n);
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	memcpy(in, user, nu);
	in[nu] = ':';
	memcpy(in + nu + 1, password, np);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = digits[v >> 18 & 63];
		out[o++] = digits[v >> 12 & 63];
		out[o++] = i + 1 < n ? digits[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? digits[v & 63] : '=';
	}
	out[o] = '\0';
	memset(in, 0, n);
	free(in);
	return out;
}

struct http_client *http_client_create(const struct http_options *o,
				       struct err *e)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		err_set(e, EXIT_BACKEND, "libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	struct http_client *c = calloc(1, sizeof *c);
	if (!c) {
		err_set(e, EXIT_BACKEND, "out of memory");
		return NULL;
	}
	c->curl = curl_easy_init();
	c->connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_response = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
	c->user_agent = strdup(o->user_agent ? o->user_agent : "churnops");
	bool ok = c->curl && c->user_agent && tls_copy(&c->tls, &o->tls);
	if (ok && o->bearer)
		ok = (c->bearer = strdup(o->bearer)) != NULL;
	if (ok && o->basic_user) {
		c->basic_user = strdup(o->basic_user);
		c->basic_password = dup_or_null(o->basic_password ? o->basic_password : "");
		ok = c->basic_user && c->basic_password &&
		     (c->basic_b64 = basic_header_value(c->basic_user, c->basic_password));
	}
	if (!ok) {
		http_client_destroy(c);
		err_set(e, EXIT_BACKEND, "out of memory");
		return NULL;
	}
	return c;
}

void http_client_destroy(struct http_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->user_agent);
	tls_free(&c->tls);
	free_secret(c->bearer);
	free(c->basic_user);
	free_secret(c->basic_password);
	free_secret(c->basic_b64);
	free(c);
}

void http_client_set_cancel(struct http_client *c, const atomic_bool *cancel)
{
	c->cancel = cancel;
}

int http_client_set_bearer(struct http_client *c, const char *token,
			   struct err *e)
{
	char *copy = NULL;
	if (token && !(copy = strdup(token)))
		return err_set(e, EXIT_BACKEND, "out of memory");
	free_secret(c->bearer);
	c->bearer = copy;
	return 0;
}

void http_response_finish(struct http_response *r)
{
	if (r) {
		free(r->body);
		r->body = NULL;
		r->len = 0;
	}
}

/* --- the transfer -------------------------------------------------------- */

struct transfer {
	struct http_client *c;
	struct http_response *r;
	size_t cap;
	size_t alloc; /* bytes allocated for r->body */
	bool too_large;
	/* streaming */
	http_data_fn on_data;
	void *arg;
	struct err *e;
	bool aborted;
	long status; /* known once the first body byte arrives */
	double started;
	bool answering; /* the status line has come */
	bool stalled;   /* a stream had no answer in time */
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libcurl calls this about once a second, and on every read: nonzero aborts
 * the transfer. It stops a request when the cancel flag (if any) is set,
 * and a stream whose answer has not begun within LOW_SPEED_MIN_S: a watch
 * may be idle for minutes once it runs, but its status line comes at once
 * from a server that is there. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	struct transfer *t = arg;
	if (t->c->cancel && atomic_load(t->c->cancel))
		return 1;
	if (t->on_data && !t->answering) {
		long code = 0;
		curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code) {
			t->answering = true;
		} else if (mono_now() - t->started > (double)LOW_SPEED_MIN_S) {
			t->stalled = true;
			return 1;
		}
	}
	return 0;
}

static bool append(struct transfer *t, const char *p, size_t n, size_t cap)
{
	struct http_response *r = t->r;
	if (n > cap || r->len > cap - n) {
		t->too_large = true;
		return false;
	}
	/* Doubling keeps a large answer linear in its size. */
	if (!r->body || r->len + n + 1 > t->alloc) {
		size_t want = t->alloc ? t->alloc : 4096;
		while (want < r->len + n + 1)
			want *= 2;
		if (want > cap + 1)
			want = cap + 1;
		char *nb = realloc(r->body, want);
		if (!nb)
			return false;
		r->body = nb;
		t->alloc = want;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return true;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	if (t->on_data) {
		if (t->status == 0)
			curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &t->status);
		if (t->status >= 200 && t->status < 300) {
			if (!t->on_data(p, n, t->arg, t->e)) {
				t->aborted = true;
				return 0;
			}
			return n;
		}
		return append(t, p, n, ERROR_BODY_MAX) ? n : 0;
	}
	return append(t, p, n, t->cap) ? n : 0;
}

/* Overwrites every copy of SECRET in BUF with '*'. */
static void scrub(char *buf, size_t len, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	if (!buf || n < SCRUB_MIN)
		return;
	char *p = buf;
	while ((p = memmem(p, len - (size_t)(p - buf), secret, n))) {
		memset(p, '*', n);
		p += n;
	}
}

/* A server that echoes the request's credentials (a debugging proxy's error
 * page, a misconfigured gateway) must not put them into messages, the audit
 * log or a terminal: every caller reads the body, so the body is cleaned. */
static void scrub_credentials(const struct http_client *c, struct http_response *r)
{
	scrub(r->body, r->len, c->bearer);
	scrub(r->body, r->len, c->basic_password);
	scrub(r->body, r->len, c->basic_b64);
}

void http_server_message(const char *body, size_t len, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	if (!body || len == 0)
		return;
	cJSON *root = json_parse(body, len, "response", NULL);
	if (root) {
		const char *m = json_str(root, "message");
		if (!m)
			m = json_str(root, "error");
		if (!m) {
			/* MLflow and others nest: {"error": {"message": ...}} */
			const cJSON *inner = cJSON_GetObjectItemCaseSensitive(root, "error");
			m = json_str(inner, "message");
		}
		if (m)
			snprintf(buf, size, "%s", m);
		cJSON_Delete(root);
		if (m) {
			/* Sanitise the server's words too. */
			for (char *q = buf; *q; q++)
				if ((unsigned char)*q < 0x20 || *q == 0x7f)
					*q = ' ';
			return;
		}
	}
	size_t o = 0;
	for (size_t i = 0; i < len && o + 5 < size && i < 200; i++) {
		unsigned char ch = (unsigned char)body[i];
		if (ch == '\n' || ch == '\r' || ch == '\t') {
			buf[o++] = ' ';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	while (o > 0 && buf[o - 1] == ' ')
		o--;
	buf[o] = '\0';
}

static enum http_error map_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_ERR_REFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return HTTP_ERR_TLS;
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return HTTP_ERR_CLOSED;
	case CURLE_FILESIZE_EXCEEDED:
		return HTTP_ERR_TOO_LARGE;
	default:
		return HTTP_ERR_OTHER;
	}
}

/* What a transport failure means, for messages: "unreachable (libcurl's
 * words)". */
static const char *failure_words(enum http_error code)
{
	switch (code) {
	case HTTP_ERR_REFUSED: return "unreachable";
	case HTTP_ERR_TIMEOUT: return "timed out";
	case HTTP_ERR_TLS: return "TLS failed";
	case HTTP_ERR_CLOSED: return "connection closed";
	default: return "failed";
	}
}

/* Said before libcurl's words when the peer's certificate was refused:
 * "unable to get local issuer certificate" alone does not tell a user that
 * a CA file or an insecure setting is what they need. */
static const char *verify_words(CURLcode cc)
{
	return cc == CURLE_PEER_FAILED_VERIFICATION ? "certificate verification failed: " : "";
}

static bool set_stall_limit(CURL *h, long timeout_ms)
{
	long s = timeout_ms / 3000;
	if (s < LOW_SPEED_MIN_S)
		s = LOW_SPEED_MIN_S;
	return curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES) == CURLE_OK &&
	       curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, s) == CURLE_OK;
}

static bool setup_tls_on(CURL *h, const struct http_tls *t)
{
	bool ok = true;
	if (t->insecure) {
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
	} else {
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	}
	if (t->ca_data) {
		struct curl_blob b = { (void *)t->ca_data, t->ca_len, CURL_BLOB_COPY };
		ok &= curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b) == CURLE_OK;
	} else if (t->ca_file) {
		ok &= curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file) == CURLE_OK;
	}
	if (t->cert_data) {
		struct curl_blob b = { (void *)t->cert_data, t->cert_len, CURL_BLOB_COPY };
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
	} else if (t->cert_file) {
		ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, t->cert_file) == CURLE_OK;
	}
	if (t->key_data) {
		struct curl_blob b = { (void *)t->key_data, t->key_len, CURL_BLOB_COPY };
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
	} else if (t->key_file) {
		ok &= curl_easy_setopt(h, CURLOPT_SSLKEY, t->key_file) == CURLE_OK;
	}
	return ok;
}

static bool setup_tls(struct http_client *c)
{
	return setup_tls_on(c->curl, &c->tls);
}

/* Queries can be long and the path says what was asked. */
void http_url_redact(const char *url, char *buf, size_t size)
{
	size_t n = strcspn(url, "?#");
	size_t head = n, tail = n; /* url[0, head) and url[tail, n) are shown */
	const char *sep = strstr(url, "://");
	if (sep && (size_t)(sep - url) < n) {
		const char *host = sep + 3;
		const char *at = memchr(host, '@', strcspn(host, "/?#"));
		if (at) {
			head = (size_t)(host - url);
			tail = (size_t)(at + 1 - url);
		}
	}
	snprintf(buf, size, "%.*s%.*s", (int)head, url, (int)(n - tail), url + tail);
}

static int perform(struct http_client *c, const struct http_request *req,
		   struct transfer *t, struct err *e)
{
	CURL *h = c->curl;
	struct http_response *r = t->r;
	const char *method = req->method ? req->method : "GET";
	struct curl_slist *headers = NULL;
	char line[256];
	int rc = 0;

	curl_easy_reset(h);
	c->curl_err[0] = '\0';
	bool ok = true;
	ok &= curl_easy_setopt(h, CURLOPT_URL, req->url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_err) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, t) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	if (!t->on_data) {
		/* A declared length over the cap fails before the body is read. */
		ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->cap) == CURLE_OK;
		ok &= set_stall_limit(h, timeout_ms);
	}
	if (c->cancel || t->on_data) {
		ok &= curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_XFERINFODATA, t) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
	}
	ok &= setup_tls(c);
	if (c->bearer) {
		ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->bearer) == CURLE_OK;
	} else if (c->basic_user) {
		ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_USERNAME, c->basic_user) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_PASSWORD, c->basic_password) == CURLE_OK;
	}
	snprintf(line, sizeof line, "Accept: %s",
		 req->accept ? req->accept : "application/json");
	headers = curl_slist_append(headers, line);
	if (req->body || strcmp(method, "GET") != 0) {
		snprintf(line, sizeof line, "Content-Type: %s",
			 req->content_type ? req->content_type : "application/json");
		headers = curl_slist_append(headers, line);
		ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)(req->body ? req->body_len : 0)) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "") == CURLE_OK;
	}
	/* curl would send "Expect: 100-continue" for larger bodies and wait. */
	headers = curl_slist_append(headers, "Expect:");
	ok &= headers != NULL;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		ok &= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
	else if (strcmp(method, "GET") == 0)
		ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	char where[512];
	http_url_redact(req->url, where, sizeof where);
	if (!ok) {
		r->error = HTTP_ERR_OTHER;
		rc = err_set(e, EXIT_BACKEND, "%s %s: cannot set up the request", method, where);
		goto out;
	}

	t->started = mono_now();
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	scrub_credentials(c, r);
	if (t->too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		r->error = HTTP_ERR_TOO_LARGE;
		rc = err_set(e, EXIT_BACKEND, "%s %s: answer larger than %zu bytes",
			     method, where, t->on_data ? ERROR_BODY_MAX : t->cap);
		goto out;
	}
	if (t->aborted) {
		/* The callback's own message and code stand. */
		r->error = HTTP_ERR_ABORTED;
		if (e && e->code)
			rc = e->code;
		else
			rc = err_set(e, EXIT_BACKEND, "%s %s: stopped", method, where);
		goto out;
	}
	if (t->stalled) {
		r->error = HTTP_ERR_TIMEOUT;
		rc = err_set(e, EXIT_BACKEND, "%s %s: timed out (no answer within %ld s)",
			     method, where, LOW_SPEED_MIN_S);
		goto out;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		r->error = HTTP_ERR_ABORTED;
		rc = err_set(e, EXIT_BACKEND, "%s %s: cancelled", method, where);
		goto out;
	}
	if (cc != CURLE_OK) {
		r->error = map_curl(cc);
		const char *what = c->curl_err[0] ? c->curl_err : curl_easy_strerror(cc);
		/* A CA bundle or client certificate that cannot be used is the
		 * user's file, not the server's fault: bad input, named. */
		if (cc == CURLE_SSL_CACERT_BADFILE && c->tls.ca_file)
			rc = err_set(e, EXIT_INPUT, "%s %s: CA bundle %s cannot be used (%s)", method,
				     where, c->tls.ca_file, what);
		else
			rc = err_set(e, EXIT_BACKEND, "%s %s: %s (%s%s)", method, where,
				     failure_words(r->error), verify_words(cc), what);
		goto out;
	}
	if (r->status >= 400 || r->status < 200) {
		char msg[512];
		r->error = HTTP_ERR_STATUS;
		http_server_message(r->body, r->len, msg, sizeof msg);
		rc = err_set(e, EXIT_BACKEND, "%s %s: HTTP %ld%s%s", method, where,
			     r->status, msg[0] ? ": " : "", msg);
		goto out;
	}
	r->error = HTTP_OK;
out:
	/* The token lives in the handle's options: drop it until the next use. */
	curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, NULL);
	curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
	curl_slist_free_all(headers);
	return rc;
}

int http_do(struct http_client *c, const struct http_request *req,
	    struct http_response *r, struct err *e)
{
	memset(r, 0, sizeof *r);
	size_t cap = c->max_response;
	if (req->max_response && req->max_response < cap)
		cap = req->max_response;
	struct transfer t = { .c = c, .r = r, .cap = cap };
	return perform(c, req, &t, e);
}

int http_stream(struct http_client *c, const struct http_request *req,
		http_data_fn on_data, void *arg, struct http_response *r,
		struct err *e)
{
	memset(r, 0, sizeof *r);
	if (e)
		err_clear(e);
	struct transfer t = { .c = c, .r = r, .cap = c->max_response,
			      .on_data = on_data, .arg = arg, .e = e };
	return perform(c, req, &t, e);
}

int http_json(struct http_client *c, const char *method, const char *url,
	      const char *content_type, const cJSON *body, cJSON **out,
	      struct http_response *resp, struct err *e)
{
	struct http_response local;
	struct http_response *r = resp ? resp : &local;
	char *text = NULL;
	int rc;
	*out = NULL;
	if (body && !(text = cJSON_PrintUnformatted(body))) {
		memset(r, 0, sizeof *r);
		r->error = HTTP_ERR_OTHER;
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	struct http_request req = {
		.method = method, .url = url, .content_type = content_type,
		.body = text, .body_len = text ? strlen(text) : 0,
		.max_response = JSON_MAX_FILE,
	};
	rc = http_do(c, &req, r, e);
	if (rc == 0) {
		struct err pe;
		err_clear(&pe);
		*out = json_parse(r->body ? r->body : "", r->len, "response", &pe);
		if (!*out) {
			char where[512];
			http_url_redact(url, where, sizeof where);
			r->error = HTTP_ERR_BAD_JSON;
			rc = err_set(e, EXIT_BACKEND, "%s %s: the answer is not JSON (%s)",
				     method ? method : "GET", where, pe.msg);
		}
	}
	free(text);
	if (r == &local)
		http_response_finish(&local);
	return rc;
}

char *http_escape(const char *s)
{
	pthread_once(&global_once, global_init);
	char *esc = curl_easy_escape(NULL, s, 0);
	if (!esc)
		return NULL;
	char *copy = strdup(esc);
	curl_free(esc);
	return copy;
}

/* --- load generation ------------------------------------------------------ */

/* One connection's worth of state: an easy handle reused for request after
 * request (so its connection is kept alive), and the answer being read. */
struct load_slot {
	CURL *h;
	struct http_response r;
	struct transfer t;
	char curl_err[CURL_ERROR_SIZE];
	double due;     /* seconds from the start */
	bool busy;
};


/* Options that stay the same for every request on the slot's handle. */
static bool load_slot_setup(struct http_client *c, const struct http_load_opts *o,
			    struct load_slot *s, struct curl_slist *headers)
{
	CURL *h = s->h;
	bool ok = true;
	s->t.c = c;
	s->t.r = &s->r;
	s->t.cap = c->max_response;
	ok &= curl_easy_setopt(h, CURLOPT_URL, o->url) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->curl_err) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	long timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : c->timeout_ms;
	ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, &s->t) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_PRIVATE, s) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->t.cap) == CURLE_OK;
	ok &= set_stall_limit(h, timeout_ms);
	ok &= setup_tls_on(h, &c->tls);
	if (c->bearer) {
		ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->bearer) == CURLE_OK;
	} else if (c->basic_user) {
		ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_USERNAME, c->basic_user) == CURLE_OK;
		ok &= curl_easy_setopt(h, CURLOPT_PASSWORD, c->basic_password) == CURLE_OK;
	}
	return ok;
}

static bool load_start(CURLM *m, struct load_slot *s, const struct http_load_opts *o,
		       size_t k, double due)
{
	size_t i = k % o->nbodies;
	http_response_finish(&s->r);
	memset(&s->r, 0, sizeof s->r);
	s->t.alloc = 0;
	s->t.too_large = false;
	s->curl_err[0] = '\0';
	s->due = due;
	bool ok = curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t)o->body_lens[i]) == CURLE_OK;
	ok &= curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, o->bodies[i]) == CURLE_OK;
	if (!ok || curl_multi_add_handle(m, s->h) != CURLM_OK)
		return false;
	s->busy = true;
	return true;
}

/* Turns a finished transfer into a sample, as perform() judges answers. */
static void load_finish(CURLM *m, struct load_slot *s, CURLcode cc, double now,
			http_load_sample_fn on_sample, void *arg)
{
	char msg[512] = "";
	struct http_load_sample smp = { .due_s = s->due, .latency_s = now - s->due };
	curl_multi_remove_handle(m, s->h);
	s->busy = false;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &smp.status);
	scrub_credentials(s->t.c, &s->r);
	if (s->t.too_large || cc == CURLE_FILESIZE_EXCEEDED) {
		smp.error = HTTP_ERR_TOO_LARGE;
		snprintf(msg, sizeof msg, "answer larger than %zu bytes", s->t.cap);
	} else if (cc != CURLE_OK) {
		smp.error = map_curl(cc);
		snprintf(msg, sizeof msg, "%s (%s%s)", failure_words(smp.error), verify_words(cc),
			 s->curl_err[0] ? s->curl_err : curl_easy_strerror(cc));
	} else if (smp.status < 200 || smp.status >= 400) {
		smp.error = HTTP_ERR_STATUS;
		char words[400];
		http_server_message(s->r.body, s->r.len, words, sizeof words);
		snprintf(msg, sizeof msg, "HTTP %ld%s%s", smp.status,
			 words[0] ? ": " : "", words);
	}
	smp.message = msg;
	smp.body = s->r.body;
	smp.body_len = s->r.len;
	if (on_sample)
		on_sample(&smp, arg);
}

int http_load_run(struct http_client *c, const struct http_load_opts *o,
		  http_load_sample_fn on_sample, http_load_tick_fn tick,
		  void *arg, struct http_load_stats *st, struct err *e)
{
	struct load_slot *slots = NULL;
	struct curl_slist *headers = NULL;
	CURLM *m = NULL;
	char line[256];
	int rc = 0;

	memset(st, 0, sizeof *st);
	if (!o->url || o->nbodies == 0 || o->concurrency == 0 || !(o->duration_s > 0))
		return err_set(e, EXIT_INPUT, "load run: a URL, a body, a concurrency of "
			       "at least 1 and a positive duration are needed");
	char where[512];
	http_url_redact(o->url, where, sizeof where);
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return err_set(e, EXIT_BACKEND, "libcurl: %s", curl_easy_strerror(global_rc));
	m = curl_multi_init();
	slots = calloc(o->concurrency, sizeof *slots);
	snprintf(line, sizeof line, "Content-Type: %s",
		 o->content_type ? o->content_type : "application/json");
	headers = curl_slist_append(headers, line);
	if (headers)
		headers = curl_slist_append(headers, "Accept: application/json");
	if (headers)
		headers = curl_slist_append(headers, "Expect:");
	if (!m || !slots || !headers) {
		rc = err_set(e, EXIT_BACKEND, "load run: out of memory");
		goto out;
	}
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->concurrency);
	for (unsigned i = 0; i < o->concurrency; i++) {
		slots[i].h = curl_easy_init();
		if (!slots[i].h || !load_slot_setup(c, o, &slots[i], headers)) {
			rc = err_set(e, EXIT_BACKEND, "POST %s: cannot set up the request", where);
			goto out;
		}
	}

	bool open_loop = o->rps > 0;
	double start = mono_now(), last_tick = 0, last_end = 0;
	size_t next = 0;      /* requests started */
	size_t in_flight = 0;
	bool last_pass = false;
	for (;;) {
		double t = mono_now() - start;
		bool cancelled = c->cancel && atomic_load(c->cancel);
		bool launching = t < o->duration_s && !cancelled;
		/* Open loop: once the time is up, requests that fell due inside
		 * it and find a free connection still go (the loop may simply have
		 * woken late); the rest are unsent. */
		bool late = open_loop && !launching && !cancelled && !last_pass;
		if (late)
			last_pass = true;
		if (launching || late) {
			for (unsigned i = 0; i < o->concurrency; i++) {
				if (slots[i].busy)
					continue;
				double due = t;
				if (open_loop) {
					due = (double)next / o->rps;
					if (due > t || due >= o->duration_s)
						break;
				}
				if (!load_start(m, &slots[i], o, next, due)) {
					rc = err_set(e, EXIT_BACKEND, "POST %s: cannot start a request",
						     where);
					goto out;
				}
				next++;
				in_flight++;
			}
		}
		if (in_flight == 0 && !launching)
			break;

		int running = 0;
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			void *priv = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
			struct load_slot *s = priv;
			CURLcode cc = msg->data.result;
			double now = mono_now() - start;
			load_finish(m, s, cc, now, on_sample, arg);
			last_end = now;
			in_flight--;
		}
		t = mono_now() - start;
		if (tick && t - last_tick >= 0.1) {
			last_tick = t;
			tick(t, arg);
		}
		/* Sleep until a socket is ready, the next request is due, or the
		 * next tick. */
		double wait = 0.1;
		if (open_loop && launching) {
			double due = (double)next / o->rps - t;
			if (due < wait)
				wait = due;
		}
		if (!open_loop && launching && in_flight < o->concurrency)
			wait = 0;
		if (wait > 0)
			curl_multi_poll(m, NULL, 0, (int)(wait * 1000) + 1, NULL);
	}
	st->sent = next;
	if (open_loop) {
		double due_total = floor(o->duration_s * o->rps - 1e-9) + 1;
		st->unsent = due_total > (double)next ? (size_t)(due_total - (double)next) : 0;
	}
	st->elapsed_s = last_end > o->duration_s ? last_end : o->duration_s;
	if (c->cancel && atomic_load(c->cancel))
		rc = err_set(e, EXIT_BACKEND, "POST %s: cancelled", where);
out:
	for (unsigned i = 0; slots && i < o->concurrency; i++) {
		if (slots[i].h) {
			if (slots[i].busy)
				curl_multi_remove_handle(m, slots[i].h);
			curl_easy_setopt(slots[i].h, CURLOPT_XOAUTH2_BEARER, NULL);
			curl_easy_setopt(slots[i].h, CURLOPT_PASSWORD, NULL);
			curl_easy_cleanup(slots[i].h);
		}
		http_response_finish(&slots[i].r);
	}
	free(slots);
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(headers);
	return rc;
}
