/* prom: a client for the Prometheus HTTP API (/api/v1/query and
 * /api/v1/query_range), through core/http.
 *
 * A client holds one http client (timeouts, TLS with a CA bundle, bearer or
 * basic credentials, a response size cap) and the base URL of the server,
 * which may carry a path prefix ("https://mon.example/prometheus"). Queries
 * run one at a time, so a worker thread owns its own client.
 *
 * Answers are parsed into plain C structs with limits on the number of
 * series, samples and labels, so a runaway query cannot eat the machine. An
 * answer with "status": "error" fails with EXIT_BACKEND and a message that
 * carries Prometheus' own "errorType" and "error" words unchanged; so does
 * an unreachable server (the http layer's message) and an answer that is
 * not the API's shape.
 */
#ifndef CHURNOPS_PROM_H
#define CHURNOPS_PROM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Limits on one parsed answer. Zero fields take the defaults below. */
#define PROM_MAX_SERIES 10000
#define PROM_MAX_SAMPLES 2000000 /* over all series */
#define PROM_MAX_LABELS 64       /* per series */
#define PROM_MAX_RESPONSE (32u << 20)

struct prom_limits {
	size_t max_series;
	size_t max_samples;
	size_t max_labels;
};

struct prom_options {
	const char *url;            /* base URL, required */
	const char *bearer;         /* Authorization: Bearer, or NULL */
	const char *basic_user;     /* basic auth when set */
	const char *basic_password;
	const char *ca_file;        /* CA bundle for https, NULL: the system's */
	bool insecure;              /* skip TLS verification: only when asked */
	long timeout_ms;            /* whole request; 0: 10 s */
	size_t max_response;        /* body cap; 0: PROM_MAX_RESPONSE */
	struct prom_limits limits;
};

/* Fills O from the environment: PROMETHEUS_URL, PROMETHEUS_TOKEN (bearer),
 * PROMETHEUS_USER and PROMETHEUS_PASSWORD (basic), PROMETHEUS_CA_FILE.
 * Fields the environment does not set are left as they are; the strings
 * belong to the environment. */
void prom_options_from_env(struct prom_options *o);

enum prom_type {
	PROM_VECTOR,
	PROM_MATRIX,
	PROM_SCALAR,
	PROM_STRING,
};

struct prom_label {
	char *name;
	char *value;
};

/* Values are doubles as Prometheus writes them: "NaN", "+Inf" and "-Inf"
 * included. T is seconds since the epoch. */
struct prom_sample {
	double t;
	double v;
};

struct prom_series {
	struct prom_label *labels; /* sorted as the server sent them */
	size_t nlabels;
	struct prom_sample *samples; /* one for a vector, in time order */
	size_t nsamples;
};

/* A parsed answer. A scalar is one series without labels holding one
 * sample; a string result keeps its text in `string`. Warnings are the
 * server's, kept for display. Everything is owned by the struct and freed by
 * prom_result_finish (safe on a zeroed struct). */
struct prom_result {
	enum prom_type type;
	struct prom_series *series;
	size_t nseries;
	char *string;
	char **warnings;
	size_t nwarnings;
	double elapsed_ms; /* wall time of the request, 0 when parsed offline */
};
void prom_result_finish(struct prom_result *r);

/* "vector", "matrix", ... */
const char *prom_type_name(enum prom_type t);

/* The value of label NAME in S, or NULL. */
const char *prom_series_label(const struct prom_series *s, const char *name);

/* Parses an API answer: BODY (LEN bytes) as received with HTTP status
 * STATUS. Fails with EXIT_BACKEND for an error answer ("prometheus:
 * ERRORTYPE: ERROR"), a body that is not the API's JSON, or one over LIMITS
 * (NULL: defaults). Exposed for the tests and recorded fixtures. */
int prom_parse(const char *body, size_t len, long status,
	       const struct prom_limits *limits, struct prom_result *out,
	       struct err *e);

struct prom_client;

/* Creates a client; NULL with EXIT_INPUT for a missing or malformed URL,
 * EXIT_BACKEND when the http client cannot be made. Free with
 * prom_client_destroy (NULL is fine). */
struct prom_client *prom_client_create(const struct prom_options *o,
				       struct err *e);
void prom_client_destroy(struct prom_client *c);

/* The base URL without a trailing slash; lives as long as the client. */
const char *prom_client_url(const struct prom_client *c);

/* See http_client_set_cancel. */
void prom_client_set_cancel(struct prom_client *c, const atomic_bool *cancel);

/* Instant query at time AT (seconds since the epoch; 0: the server's now).
 * OUT is filled on success and must be finished by the caller either way. */
int prom_query(struct prom_client *c, const char *query, double at,
	       struct prom_result *out, struct err *e);

/* Range query from START to END every STEP seconds (STEP > 0; at most
 * 11000 points per series, as the server itself insists). */
int prom_query_range(struct prom_client *c, const char *query, double start,
		     double end, double step, struct prom_result *out,
		     struct err *e);

/* Parses a Prometheus duration ("30s", "1h30m", "500ms", "2d"; units ms, s,
 * m, h, d, w, y) into seconds. A bare number is taken as seconds. Returns
 * false for anything else, or for zero when ALLOW_ZERO is false. */
bool prom_parse_duration(const char *s, bool allow_zero, double *seconds);

/* Writes SECONDS as the shortest Prometheus duration ("90s" -> "1m30s") into
 * BUF, to the millisecond: "0s" for what rounds to nothing (zero, negative,
 * NaN, infinite, under half a millisecond), whole days beyond 9e15 s. */
void prom_format_duration(double seconds, char *buf, size_t size);

#endif
