/* loadtest: how fast, and how reliably, a model service answers /predict.
 *
 * A run drives the HTTP load generator (http_load_run: libcurl's multi
 * interface, one thread) in a closed loop (CONCURRENCY requests always in
 * flight) or an open loop (a fixed RPS, latency counted from when each
 * request was due), then reports latency percentiles (numpy's linear
 * method, over the successful requests), the error rate, the throughput
 * and the verdict of the configured gates.
 *
 * Load is only ever aimed where the operator has said it may go: a
 * loopback address, or an endpoint the configuration names
 * (loadtest_check_target). A mistyped URL must not load-test a stranger.
 */
#ifndef CHURNOPS_LOADTEST_H
#define CHURNOPS_LOADTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "http.h"

/* Most latencies kept for the percentiles; later ones are only counted. */
#define LOADTEST_MAX_SAMPLES ((size_t)10 << 20)

struct loadtest_opts {
	const char *url;             /* the /predict URL */
	double duration_s;           /* > 0 */
	unsigned concurrency;        /* >= 1; the cap on in-flight requests in an open loop */
	double rps;                  /* > 0: open loop at this rate */
	const char *const *bodies;   /* JSON request bodies, cycled */
	const size_t *body_lens;
	size_t nbodies;
	long timeout_ms;             /* per request; 0: the client's */
	double gate_p99_ms;          /* p99 must be below this; NAN: no gate */
	double gate_error_rate;      /* error rate must not pass this; NAN: no gate */
	/* Called about ten times a second (may be NULL). */
	void (*progress)(double elapsed_s, double duration_s, size_t done,
			 size_t errors, void *arg);
	void *arg;
};

struct loadtest_gate {
	const char *name;  /* "p99_ms", "error_rate" */
	double threshold;
	double value;
	bool pass;
};

struct loadtest_result {
	bool open_loop;
	unsigned concurrency;
	double rps_target;
	double duration_s;
	size_t requests;        /* finished */
	size_t ok;
	size_t errors;          /* finished with an error */
	size_t unsent;          /* open loop: due but never sent (all connections busy) */
	size_t by_kind[HTTP_ERR_OTHER + 1]; /* errors by http_error */
	double elapsed_s;
	double throughput_rps;  /* successful answers per second */
	double error_rate;      /* (errors + unsent) / (requests + unsent) */
	double p50_ms, p95_ms, p99_ms, max_ms, mean_ms; /* NAN without a success */
	char first_error[256];  /* the first error's words, "" if none */
	struct loadtest_gate gates[2];
	size_t ngates;
	bool pass;
};

/* Writes URL's host (without brackets for IPv6) into HOST. EXIT_INPUT when
 * URL is not http(s)://HOST... */
int loadtest_url_host(const char *url, char *host, size_t size, struct err *e);

/* True for localhost, 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
bool loadtest_host_is_loopback(const char *host);

/* 0 when URL may be load-tested: its host is a loopback address, or its
 * scheme, host and port are those of one of the NALLOWED configured URLs.
 * Otherwise EXIT_CHECK with a message saying why and what is allowed. */
int loadtest_check_target(const char *url, const char *const *allowed,
			  size_t nallowed, struct err *e);

/* Fills R's latency figures from the N successful latencies LAT_MS (which
 * it may reorder) and its rates from its counts. */
void loadtest_summarise(struct loadtest_result *r, double *lat_ms, size_t n);

/* Judges R against the gates (NAN: none) and sets R->gates and R->pass. */
void loadtest_judge(struct loadtest_result *r, double gate_p99_ms,
		    double gate_error_rate);

/* Runs the load with C's TLS settings and credentials and fills R. Returns
 * 0 when the run completed and the gates passed, EXIT_CHECK when a gate
 * failed (E names it), EXIT_BACKEND when not one request succeeded (R is
 * filled, its verdict a failure) or the generator could not run,
 * EXIT_INPUT for bad options. */
int loadtest_run(struct http_client *c, const struct loadtest_opts *o,
		 struct loadtest_result *r, struct err *e);

#endif
