/* http: the one libcurl user. A client is one easy handle with its TLS
 * settings, credentials, timeouts and a response size cap; requests on it
 * run one at a time, so a worker thread owns its own client.
 *
 * TLS peer and host verification are on unless the endpoint explicitly asks
 * for `insecure`. Credentials (bearer token, basic password, client key)
 * never appear in error messages, and a bearer token or password (of six
 * characters or more) that a server echoes back is overwritten with '*' in
 * the answer before anyone reads it. Errors map onto one enum and, for an HTTP
 * error status, the message carries the server's own words: the `message`
 * of a Kubernetes Status or an {"error": ...} / {"message": ...} body, else
 * the start of the body with control characters escaped.
 */
#ifndef CHURNOPS_HTTP_H
#define CHURNOPS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

enum http_error {
	HTTP_OK = 0,
	HTTP_ERR_REFUSED,   /* connection refused, host not found */
	HTTP_ERR_TIMEOUT,   /* connect or total timeout, or a stalled answer */
	HTTP_ERR_TLS,       /* handshake, verification, certificate files */
	HTTP_ERR_STATUS,    /* the server answered >= 400 */
	HTTP_ERR_TOO_LARGE, /* the body passed max_response */
	HTTP_ERR_BAD_JSON,  /* a JSON helper got a body that is not JSON */
	HTTP_ERR_CLOSED,    /* the connection dropped mid-answer */
	HTTP_ERR_ABORTED,   /* a stream callback or the cancel flag stopped it */
	HTTP_ERR_OTHER,
};

/* "refused", "timeout", ... for messages and JSON output. */
const char *http_error_name(enum http_error code);

/* Certificates come from a file or from memory (PEM); when both are given
 * the memory copy wins. The client copies everything it is given. */
struct http_tls {
	const char *ca_file;
	const char *ca_data;
	size_t ca_len;
	const char *cert_file;
	const char *cert_data;
	size_t cert_len;
	const char *key_file;
	const char *key_data;
	size_t key_len;
	bool insecure; /* skip peer and host verification: only when asked */
};

struct http_options {
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;         /* whole request; 0: 30 s. Besides, a request
				  * (not a stream) that moves under 64 bytes a
				  * second for a third of its timeout (10 s at
				  * least) has stalled and fails */
	size_t max_response;     /* body cap in bytes; 0: 16 MiB */
	const char *user_agent;  /* NULL: "churnops" */
	struct http_tls tls;
	const char *bearer;      /* Authorization: Bearer, or NULL */
	const char *basic_user;  /* basic auth when set */
	const char *basic_password;
};

struct http_client;

/* Creates a client; NULL with EXIT_BACKEND on failure. Free with
 * http_client_destroy (NULL is fine). */
struct http_client *http_client_create(const struct http_options *o,
				       struct err *e);
void http_client_destroy(struct http_client *c);

/* While *CANCEL (owned by the caller, NULL for none) is true, requests on
 * this client stop within about a second with HTTP_ERR_ABORTED: a console
 * worker blocked on a slow server or a long watch can be told to give up
 * from another thread. */
void http_client_set_cancel(struct http_client *c, const atomic_bool *cancel);

/* Replaces the bearer token (NULL removes it): credential plugins and
 * rotated service-account tokens call this. */
int http_client_set_bearer(struct http_client *c, const char *token,
			   struct err *e);

struct http_request {
	const char *method;       /* NULL: GET */
	const char *url;
	const char *accept;       /* NULL: application/json */
	const char *content_type; /* for a body */
	const char *body;
	size_t body_len;
	long timeout_ms;          /* 0: the client's */
	size_t max_response;      /* a lower cap for this answer; 0: the client's */
};

/* A finished response. body is NUL-terminated and owned by the struct;
 * http_response_finish frees it (safe on a zeroed struct). */
struct http_response {
	long status;
	char *body;
	size_t len;
	enum http_error error;
};
void http_response_finish(struct http_response *r);

/* Runs one request. Returns 0 for a 2xx answer; otherwise EXIT_BACKEND with
 * r->error set and a message "METHOD URL: what went wrong" (the URL without
 * its query or any user:password@). The body of an error answer is kept in
 * r so callers can read a Status. An answer over the cap fails as soon as
 * its Content-Length says so, or when the bytes read pass it. */
int http_do(struct http_client *c, const struct http_request *req,
	    struct http_response *r, struct err *e);

/* Streams a 2xx body to ON_DATA as it arrives (watch). ON_DATA returns false
 * to stop (the request then fails with HTTP_ERR_ABORTED and the message ON_DATA
 * left in E, if any). An error answer is collected in r as with http_do.
 * The body may pause for as long as the timeout allows, but a status line
 * that has not come within 10 s fails with HTTP_ERR_TIMEOUT. Returns 0 when
 * the server ended the body cleanly. */
typedef bool (*http_data_fn)(const char *data, size_t len, void *arg,
			     struct err *e);
int http_stream(struct http_client *c, const struct http_request *req,
		http_data_fn on_data, void *arg, struct http_response *r,
		struct err *e);

/* JSON request and response: BODY (may be NULL) is sent with CONTENT_TYPE
 * (NULL: application/json); *OUT receives the parsed answer, which the caller
 * frees with cJSON_Delete. R (may be NULL) receives the status and error.
 * The answer is capped at JSON_MAX_FILE even when the client's cap is
 * larger (a client that also downloads artifacts). */
int http_json(struct http_client *c, const char *method, const char *url,
	      const char *content_type, const cJSON *body, cJSON **out,
	      struct http_response *r, struct err *e);

/* The server's message in an error body: a Status .message, an "error" or
 * "message" string, or the start of the text with control characters
 * escaped. Writes at most SIZE bytes into BUF. */
void http_server_message(const char *body, size_t len, char *buf, size_t size);

/* URL as messages show it, into BUF (SIZE bytes): without its query,
 * fragment or any user:password@, which belong in no message. */
void http_url_redact(const char *url, char *buf, size_t size);

/* URL-escapes S for a query value; the caller frees the result. NULL when
 * out of memory. */
char *http_escape(const char *s);

/* --- load generation (libcurl's multi interface) ------------------------- */

/* A load run POSTs BODIES (cycled, in order) to URL with the client's TLS
 * settings, credentials and response cap, over up to CONCURRENCY
 * connections driven by one thread.
 *
 * Closed loop (RPS <= 0): CONCURRENCY requests are always in flight; each
 * answer starts the next request. Latency runs from sending to the end of
 * the answer.
 *
 * Open loop (RPS > 0): request k is due at k / RPS seconds, whatever the
 * answers do, with at most CONCURRENCY in flight. A request that waits for
 * a free connection is sent late but its latency still runs from when it
 * was due, so a slow server cannot hide its queueing (no coordinated
 * omission). Requests still waiting when the duration ends are not sent and
 * are counted in UNSENT. */
struct http_load_opts {
	const char *url;
	const char *const *bodies;
	const size_t *body_lens;
	size_t nbodies;            /* >= 1 */
	const char *content_type;  /* NULL: application/json */
	unsigned concurrency;      /* >= 1 */
	double rps;                /* > 0: open loop */
	double duration_s;         /* > 0: no request is started after it */
	long timeout_ms;           /* per request; 0: the client's */
};

/* One finished request. MESSAGE and BODY (valid during the callback only)
 * say what went wrong: the server's words for an error status, libcurl's
 * otherwise; "" on success; and what the server answered (NULL when
 * nothing). */
struct http_load_sample {
	double due_s;     /* when it was due, seconds from the start */
	double latency_s;
	long status;      /* 0 when no answer came */
	enum http_error error;
	const char *message;
	const char *body;
	size_t body_len;
};

struct http_load_stats {
	size_t sent;
	size_t unsent;    /* open loop: due but never sent */
	double elapsed_s; /* from the start to the last answer */
};

/* Called for every finished request, and TICK about ten times a second
 * with the seconds elapsed (either may be NULL). */
typedef void (*http_load_sample_fn)(const struct http_load_sample *s, void *arg);
typedef void (*http_load_tick_fn)(double elapsed_s, void *arg);

/* Runs the load. Returns 0 when the run completed, whatever the requests'
 * outcomes (those go to ON_SAMPLE); EXIT_BACKEND when libcurl could not be
 * set up, EXIT_INPUT for options out of range, EXIT_BACKEND "cancelled"
 * when the client's cancel flag stopped it (ST then covers what ran). */
int http_load_run(struct http_client *c, const struct http_load_opts *o,
		  http_load_sample_fn on_sample, http_load_tick_fn tick,
		  void *arg, struct http_load_stats *st, struct err *e);

#endif
