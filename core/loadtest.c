#include "loadtest.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "metrics.h"

int loadtest_url_host(const char *url, char *host, size_t size, struct err *e)
{
	const char *p;
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return err_set(e, EXIT_INPUT, "%s: not an http:// or https:// URL", url);
	size_t auth = strcspn(p, "/?#");
	const char *at = memchr(p, '@', auth);
	if (at) {
		auth -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t n;
	if (*p == '[') {
		const char *close = memchr(p, ']', auth);
		if (!close)
			return err_set(e, EXIT_INPUT, "%s: unterminated [IPv6 address]", url);
		p++;
		n = (size_t)(close - p);
	} else {
		const char *colon = memchr(p, ':', auth);
		n = colon ? (size_t)(colon - p) : auth;
	}
	if (n == 0 || n >= size)
		return err_set(e, EXIT_INPUT, "%s: no host, or a host too long", url);
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

bool loadtest_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		return memcmp(a6.s6_addr, v4mapped, 12) == 0 && a6.s6_addr[12] == 127;
	}
	return false;
}

/* scheme://authority of URL, lowercased, with the scheme's default port
 * made explicit, into BUF. */
static bool origin(const char *url, char *buf, size_t size)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return false;
	size_t n = (size_t)(sep - url) + 3;
	n += strcspn(url + n, "/?#");
	if (n + 8 >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] + 32 : url[i]);
	buf[n] = '\0';
	const char *auth = buf + (sep - url) + 3;
	const char *last = strrchr(auth, ':');
	const char *bracket = strrchr(auth, ']');
	if (!last || (bracket && last < bracket))
		strcat(buf, strncmp(buf, "https", 5) == 0 ? ":443" : ":80");
	return true;
}

int loadtest_check_target(const char *url, const char *const *allowed,
			  size_t nallowed, struct err *e)
{
	char host[256], mine[512], theirs[512];
	int rc = loadtest_url_host(url, host, sizeof host, e);
	if (rc)
		return rc;
	if (loadtest_host_is_loopback(host))
		return 0;
	if (origin(url, mine, sizeof mine))
		for (size_t i = 0; i < nallowed; i++)
			if (allowed[i] && origin(allowed[i], theirs, sizeof theirs) &&
			    strcmp(mine, theirs) == 0)
				return 0;
	return err_set(e, EXIT_CHECK,
		       "refusing to load-test %s: %s is neither a loopback address nor "
		       "an endpoint the configuration names (use --env ENV for a "
		       "configured environment, or a 127.0.0.1 / localhost URL)",
		       url, host);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void loadtest_summarise(struct loadtest_result *r, double *lat_ms, size_t n)
{
	r->p50_ms = r->p95_ms = r->p99_ms = r->max_ms = r->mean_ms = NAN;
	if (n > 0) {
		qsort(lat_ms, n, sizeof *lat_ms, cmp_double);
		r->p50_ms = metrics_percentile(lat_ms, n, 50);
		r->p95_ms = metrics_percentile(lat_ms, n, 95);
		r->p99_ms = metrics_percentile(lat_ms, n, 99);
		r->max_ms = lat_ms[n - 1];
		metrics_mean_std(lat_ms, n, &r->mean_ms, NULL);
	}
	size_t attempted = r->requests + r->unsent;
	r->error_rate = attempted ? (double)(r->errors + r->unsent) / (double)attempted : 0;
	r->throughput_rps = r->elapsed_s > 0 ? (double)r->ok / r->elapsed_s : 0;
}

void loadtest_judge(struct loadtest_result *r, double gate_p99_ms,
		    double gate_error_rate)
{
	r->ngates = 0;
	r->pass = true;
	if (!isnan(gate_p99_ms)) {
		struct loadtest_gate *g = &r->gates[r->ngates++];
		g->name = "p99_ms";
		g->threshold = gate_p99_ms;
		g->value = r->p99_ms;
		/* No successful answer: no latency to vouch for. */
		g->pass = !isnan(r->p99_ms) && r->p99_ms < gate_p99_ms;
		r->pass &= g->pass;
	}
	if (!isnan(gate_error_rate)) {
		struct loadtest_gate *g = &r->gates[r->ngates++];
		g->name = "error_rate";
		g->threshold = gate_error_rate;
		g->value = r->error_rate;
		g->pass = r->error_rate <= gate_error_rate;
		r->pass &= g->pass;
	}
}

struct collect {
	const struct loadtest_opts *o;
	struct loadtest_result *r;
	double *lat;
	size_t n, cap;
	bool oom;
};

/* A 2xx answer counts only when it is JSON: a proxy's page or a broken
 * service's garbage is an error, however fast it came. */
static bool answer_is_json(const struct http_load_sample *s, char *why, size_t size)
{
	struct err pe = {0};
	cJSON *j = json_parse(s->body ? s->body : "", s->body ? s->body_len : 0, "answer", &pe);
	if (!j) {
		snprintf(why, size, "HTTP %ld: the answer is not JSON (%.160s)", s->status, pe.msg);
		return false;
	}
	cJSON_Delete(j);
	return true;
}

static void on_sample(const struct http_load_sample *s, void *arg)
{
	struct collect *c = arg;
	struct loadtest_result *r = c->r;
	char why[256];
	enum http_error error = s->error;
	const char *message = s->message;
	if (error == HTTP_OK && !answer_is_json(s, why, sizeof why)) {
		error = HTTP_ERR_BAD_JSON;
		message = why;
	}
	r->requests++;
	if (error != HTTP_OK) {
		r->errors++;
		r->by_kind[error]++;
		if (!r->first_error[0])
			snprintf(r->first_error, sizeof r->first_error, "%s",
				 message && message[0] ? message : http_error_name(error));
		return;
	}
	r->ok++;
	if (c->n == c->cap) {
		if (c->cap >= LOADTEST_MAX_SAMPLES)
			return;
		size_t cap = c->cap ? c->cap * 2 : 4096;
		double *nl = realloc(c->lat, cap * sizeof *nl);
		if (!nl) {
			c->oom = true;
			return;
		}
		c->lat = nl;
		c->cap = cap;
	}
	c->lat[c->n++] = s->latency_s * 1000.0;
}

static void on_tick(double elapsed_s, void *arg)
{
	struct collect *c = arg;
	if (c->o->progress)
		c->o->progress(elapsed_s, c->o->duration_s, c->r->requests,
			       c->r->errors, c->o->arg);
}

int loadtest_run(struct http_client *c, const struct loadtest_opts *o,
		 struct loadtest_result *r, struct err *e)
{
	memset(r, 0, sizeof *r);
	r->open_loop = o->rps > 0;
	r->concurrency = o->concurrency;
	r->rps_target = o->rps > 0 ? o->rps : 0;
	r->duration_s = o->duration_s;
	r->p50_ms = r->p95_ms = r->p99_ms = r->max_ms = r->mean_ms = NAN;

	struct collect col = { .o = o, .r = r };
	struct http_load_opts lo = {
		.url = o->url, .bodies = o->bodies, .body_lens = o->body_lens,
		.nbodies = o->nbodies, .concurrency = o->concurrency, .rps = o->rps,
		.duration_s = o->duration_s, .timeout_ms = o->timeout_ms,
	};
	struct http_load_stats st;
	int rc = http_load_run(c, &lo, on_sample, on_tick, &col, &st, e);
	if (rc == 0 && col.oom)
		rc = err_set(e, EXIT_BACKEND, "load test: out of memory for latencies");
	if (rc == 0) {
		r->unsent = st.unsent;
		r->elapsed_s = st.elapsed_s;
		loadtest_summarise(r, col.lat, col.n);
		loadtest_judge(r, o->gate_p99_ms, o->gate_error_rate);
		if (r->ok == 0) {
			/* Nothing answered: figures about nothing, whatever the gates. */
			char where[512];
			http_url_redact(o->url, where, sizeof where);
			r->pass = false;
			rc = err_set(e, EXIT_BACKEND, "load test: no request succeeded (POST %s: %s)",
				     where, r->first_error[0] ? r->first_error : "none was sent");
		}
		for (size_t i = 0; rc == 0 && i < r->ngates; i++)
			if (!r->gates[i].pass) {
				rc = err_set(e, EXIT_CHECK, "load test gate failed: %s %g (limit %g)",
					     r->gates[i].name, r->gates[i].value,
					     r->gates[i].threshold);
				break;
			}
	}
	free(col.lat);
	return rc;
}
