#include "prom.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "json.h"
#include "sanitize.h"

/* Prometheus refuses range queries with more points per series than this. */
#define PROM_MAX_POINTS 11000

struct prom_client {
	struct http_client *http;
	char *base;
	struct prom_limits limits;
};

void prom_options_from_env(struct prom_options *o)
{
	const char *v;
	if ((v = getenv("PROMETHEUS_URL")) && *v)
		o->url = v;
	if ((v = getenv("PROMETHEUS_TOKEN")) && *v)
		o->bearer = v;
	if ((v = getenv("PROMETHEUS_USER")) && *v)
		o->basic_user = v;
	if ((v = getenv("PROMETHEUS_PASSWORD")))
		o->basic_password = v;
	if ((v = getenv("PROMETHEUS_CA_FILE")) && *v)
		o->ca_file = v;
}

const char *prom_type_name(enum prom_type t)
{
	switch (t) {
	case PROM_VECTOR: return "vector";
	case PROM_MATRIX: return "matrix";
	case PROM_SCALAR: return "scalar";
	case PROM_STRING: return "string";
	}
	return "?";
}

static void series_finish(struct prom_series *s)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
	free(s->samples);
}

void prom_result_finish(struct prom_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nseries; i++)
		series_finish(&r->series[i]);
	free(r->series);
	free(r->string);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	memset(r, 0, sizeof *r);
}

const char *prom_series_label(const struct prom_series *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

/* Prometheus writes sample values as strings in Go's formatting: decimal
 * numbers, exponents, "NaN", "+Inf", "-Inf". */
static bool parse_value(const char *s, double *out)
{
	if (strcmp(s, "NaN") == 0) {
		*out = NAN;
		return true;
	}
	if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
		*out = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*out = -INFINITY;
		return true;
	}
	if (!*s || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) || (errno == ERANGE && fabs(v) > 1))
		return false;
	*out = v;
	return true;
}

/* A [time, "value"] pair. */
static int parse_pair(const cJSON *pair, struct prom_sample *out, struct err *e)
{
	const cJSON *t = cJSON_GetArrayItem(pair, 0);
	const cJSON *v = cJSON_GetArrayItem(pair, 1);
	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(t) ||
	    !cJSON_IsString(v) || !isfinite(t->valuedouble))
		return err_set(e, EXIT_BACKEND,
			       "prometheus: a sample is not [time, \"value\"]");
	if (!parse_value(v->valuestring, &out->v)) {
		char clean[64];
		sanitize_text(v->valuestring, strlen(v->valuestring), clean, sizeof clean);
		return err_set(e, EXIT_BACKEND, "prometheus: sample value '%s' is not a number",
			       clean);
	}
	out->t = t->valuedouble;
	return 0;
}

static int parse_labels(const cJSON *metric, const struct prom_limits *lim,
			struct prom_series *s, struct err *e)
{
	if (!metric)
		return 0; /* an empty label set may be left out */
	if (!cJSON_IsObject(metric))
		return err_set(e, EXIT_BACKEND, "prometheus: a series' \"metric\" is not an object");
	size_t n = (size_t)cJSON_GetArraySize(metric);
	if (n > lim->max_labels)
		return err_set(e, EXIT_BACKEND,
			       "prometheus: a series has %zu labels (the limit is %zu)", n,
			       lim->max_labels);
	if (n == 0)
		return 0;
	s->labels = calloc(n, sizeof *s->labels);
	if (!s->labels)
		return err_set(e, EXIT_BACKEND, "out of memory");
	const cJSON *l;
	cJSON_ArrayForEach(l, metric) {
		if (!cJSON_IsString(l) || !l->string)
			return err_set(e, EXIT_BACKEND, "prometheus: a label value is not a string");
		struct prom_label *dst = &s->labels[s->nlabels++];
		dst->name = strdup(l->string);
		dst->value = strdup(l->valuestring);
		if (!dst->name || !dst->value)
			return err_set(e, EXIT_BACKEND, "out of memory");
	}
	return 0;
}

static int parse_series_list(const cJSON *result, bool matrix,
			     const struct prom_limits *lim, struct prom_result *out,
			     struct err *e)
{
	if (!cJSON_IsArray(result))
		return err_set(e, EXIT_BACKEND, "prometheus: \"result\" is not an array");
	size_t n = (size_t)cJSON_GetArraySize(result);
	if (n > lim->max_series)
		return err_set(e, EXIT_BACKEND,
			       "prometheus: the answer has %zu series (the limit is %zu): "
			       "narrow the query", n, lim->max_series);
	if (n == 0)
		return 0;
	out->series = calloc(n, sizeof *out->series);
	if (!out->series)
		return err_set(e, EXIT_BACKEND, "out of memory");
	size_t total = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, result) {
		if (!cJSON_IsObject(item))
			return err_set(e, EXIT_BACKEND, "prometheus: a series is not an object");
		struct prom_series *s = &out->series[out->nseries++];
		int rc = parse_labels(cJSON_GetObjectItemCaseSensitive(item, "metric"), lim, s, e);
		if (rc)
			return rc;
		const char *key = matrix ? "values" : "value";
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(item, key);
		if (!vals) {
			if (cJSON_HasObjectItem(item, matrix ? "histograms" : "histogram"))
				return err_set(e, EXIT_BACKEND,
					       "prometheus: the query returns native histograms; "
					       "ask for a quantile or a rate instead");
			return err_set(e, EXIT_BACKEND, "prometheus: a series has no \"%s\"", key);
		}
		size_t m = matrix ? (size_t)cJSON_GetArraySize(vals) : 1;
		if (matrix && !cJSON_IsArray(vals))
			return err_set(e, EXIT_BACKEND, "prometheus: \"values\" is not an array");
		if (m > lim->max_samples - total)
			return err_set(e, EXIT_BACKEND,
				       "prometheus: the answer has more than %zu samples: "
				       "use a larger step or a shorter range", lim->max_samples);
		total += m;
		if (m == 0)
			continue;
		s->samples = calloc(m, sizeof *s->samples);
		if (!s->samples)
			return err_set(e, EXIT_BACKEND, "out of memory");
		if (!matrix) {
			if ((rc = parse_pair(vals, &s->samples[0], e)))
				return rc;
			s->nsamples = 1;
			continue;
		}
		const cJSON *pair;
		cJSON_ArrayForEach(pair, vals) {
			if ((rc = parse_pair(pair, &s->samples[s->nsamples], e)))
				return rc;
			s->nsamples++;
		}
	}
	return 0;
}

/* Copies Prometheus' words into the message with control characters
 * escaped: they reach a terminal. */
static int prom_error(struct err *e, const char *type, const char *text)
{
	char ctype[64], ctext[700];
	sanitize_text(type ? type : "error", strlen(type ? type : "error"), ctype, sizeof ctype);
	sanitize_text(text ? text : "", strlen(text ? text : ""), ctext, sizeof ctext);
	return err_set(e, EXIT_BACKEND, "prometheus: %s: %s", ctype, ctext);
}

int prom_parse(const char *body, size_t len, long status,
	       const struct prom_limits *limits, struct prom_result *out,
	       struct err *e)
{
	struct prom_limits lim = {
		.max_series = limits && limits->max_series ? limits->max_series : PROM_MAX_SERIES,
		.max_samples = limits && limits->max_samples ? limits->max_samples : PROM_MAX_SAMPLES,
		.max_labels = limits && limits->max_labels ? limits->max_labels : PROM_MAX_LABELS,
	};
	memset(out, 0, sizeof *out);
	struct err perr;
	cJSON *root = json_parse(body ? body : "", body ? len : 0, "prometheus answer", &perr);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		char msg[300];
		http_server_message(body ? body : "", body ? len : 0, msg, sizeof msg);
		if (status >= 400 || status == 0)
			return err_set(e, EXIT_BACKEND, "prometheus: HTTP %ld: %s", status,
				       msg[0] ? msg : "(empty answer)");
		return err_set(e, EXIT_BACKEND,
			       "prometheus: the answer is not the API's JSON (HTTP %ld): %s",
			       status, msg[0] ? msg : "(empty answer)");
	}
	int rc = 0;
	const char *st = json_str(root, "status");
	if (!st || strcmp(st, "success") != 0) {
		const char *etext = json_str(root, "error");
		if (etext || (st && strcmp(st, "error") == 0))
			rc = prom_error(e, json_str(root, "errorType"),
					etext ? etext : "(no error text)");
		else
			rc = err_set(e, EXIT_BACKEND,
				     "prometheus: the answer has no \"status\" (HTTP %ld)", status);
		goto out;
	}
	const cJSON *warn = cJSON_GetObjectItemCaseSensitive(root, "warnings");
	if (cJSON_IsArray(warn) && cJSON_GetArraySize(warn) > 0) {
		size_t n = (size_t)cJSON_GetArraySize(warn);
		if (n > 100)
			n = 100;
		out->warnings = calloc(n, sizeof *out->warnings);
		if (!out->warnings) {
			rc = err_set(e, EXIT_BACKEND, "out of memory");
			goto out;
		}
		const cJSON *w;
		cJSON_ArrayForEach(w, warn) {
			if (out->nwarnings == n)
				break;
			if (cJSON_IsString(w) && !(out->warnings[out->nwarnings++] = strdup(w->valuestring))) {
				rc = err_set(e, EXIT_BACKEND, "out of memory");
				goto out;
			}
		}
	}
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	const char *type = json_str(data, "resultType");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
	if (!cJSON_IsObject(data) || !type || !result) {
		rc = err_set(e, EXIT_BACKEND,
			     "prometheus: the answer has no data.resultType and data.result");
		goto out;
	}
	if (strcmp(type, "vector") == 0 || strcmp(type, "matrix") == 0) {
		bool matrix = type[0] == 'm';
		out->type = matrix ? PROM_MATRIX : PROM_VECTOR;
		rc = parse_series_list(result, matrix, &lim, out, e);
	} else if (strcmp(type, "scalar") == 0) {
		out->type = PROM_SCALAR;
		out->series = calloc(1, sizeof *out->series);
		if (!out->series || !(out->series->samples = calloc(1, sizeof(struct prom_sample)))) {
			rc = err_set(e, EXIT_BACKEND, "out of memory");
			goto out;
		}
		out->nseries = 1;
		if (!(rc = parse_pair(result, out->series->samples, e)))
			out->series->nsamples = 1;
	} else if (strcmp(type, "string") == 0) {
		out->type = PROM_STRING;
		const cJSON *s = cJSON_GetArrayItem(result, 1);
		if (!cJSON_IsArray(result) || !cJSON_IsString(s))
			rc = err_set(e, EXIT_BACKEND, "prometheus: a string result is not [time, \"text\"]");
		else if (!(out->string = strdup(s->valuestring)))
			rc = err_set(e, EXIT_BACKEND, "out of memory");
	} else {
		char clean[64];
		sanitize_text(type, strlen(type), clean, sizeof clean);
		rc = err_set(e, EXIT_BACKEND, "prometheus: unknown resultType '%s'", clean);
	}
out:
	cJSON_Delete(root);
	if (rc)
		prom_result_finish(out);
	return rc;
}

struct prom_client *prom_client_create(const struct prom_options *o,
				       struct err *e)
{
	if (!o->url || !*o->url) {
		err_set(e, EXIT_INPUT,
			"no Prometheus configured: set PROMETHEUS_URL or give --prometheus URL");
		return NULL;
	}
	if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
		err_set(e, EXIT_INPUT, "Prometheus URL '%s' must start with http:// or https://",
			o->url);
		return NULL;
	}
	/* Credentials in the URL would end up in every error message. */
	const char *host = strstr(o->url, "://") + 3;
	const char *at = strchr(host, '@');
	const char *slash = strchr(host, '/');
	if (at && (!slash || at < slash)) {
		err_set(e, EXIT_INPUT, "the Prometheus URL carries credentials: give them with "
				       "PROMETHEUS_USER and PROMETHEUS_PASSWORD instead");
		return NULL;
	}
	struct prom_client *c = calloc(1, sizeof *c);
	if (!c || !(c->base = strdup(o->url))) {
		free(c);
		err_set(e, EXIT_BACKEND, "out of memory");
		return NULL;
	}
	size_t n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->limits = o->limits;
	struct http_options ho = {
		.connect_timeout_ms = 5000,
		.timeout_ms = o->timeout_ms ? o->timeout_ms : 10000,
		.max_response = o->max_response ? o->max_response : PROM_MAX_RESPONSE,
		.tls = { .ca_file = o->ca_file, .insecure = o->insecure },
		.bearer = o->bearer,
		.basic_user = o->basic_user,
		.basic_password = o->basic_password,
	};
	c->http = http_client_create(&ho, e);
	if (!c->http) {
		prom_client_destroy(c);
		return NULL;
	}
	return c;
}

void prom_client_destroy(struct prom_client *c)
{
	if (!c)
		return;
	http_client_destroy(c->http);
	free(c->base);
	free(c);
}

const char *prom_client_url(const struct prom_client *c)
{
	return c->base;
}

void prom_client_set_cancel(struct prom_client *c, const atomic_bool *cancel)
{
	http_client_set_cancel(c->http, cancel);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends "&NAME=VALUE" (URL-escaped) to the form body in BUF. */
static int form_add(char **buf, size_t *len, const char *name, const char *value,
		    struct err *e)
{
	char *esc = http_escape(value);
	if (!esc)
		return err_set(e, EXIT_BACKEND, "out of memory");
	size_t add = strlen(name) + strlen(esc) + 2;
	char *nb = realloc(*buf, *len + add + 1);
	if (!nb) {
		free(esc);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	*buf = nb;
	*len += (size_t)snprintf(nb + *len, add + 1, "%s%s=%s", *len ? "&" : "", name, esc);
	free(esc);
	return 0;
}

/* POSTs the form to ENDPOINT: POST keeps long queries out of the URL (and
 * out of error messages), and both query endpoints accept it. An error
 * status with an API error body is reported in Prometheus' words; anything
 * else keeps the http layer's message. */
static int post_query(struct prom_client *c, const char *endpoint, const char *form,
		      size_t form_len, struct prom_result *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	size_t ulen = strlen(c->base) + strlen(endpoint) + 1;
	char *url = malloc(ulen);
	if (!url)
		return err_set(e, EXIT_BACKEND, "out of memory");
	snprintf(url, ulen, "%s%s", c->base, endpoint);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.content_type = "application/x-www-form-urlencoded",
		.body = form,
		.body_len = form_len,
	};
	struct http_response r = { 0 };
	double t0 = now_seconds();
	int rc = http_do(c->http, &req, &r, e);
	double elapsed = (now_seconds() - t0) * 1000.0;
	if (rc && r.error == HTTP_ERR_STATUS && r.body && r.len) {
		struct err pe;
		struct prom_result ignored;
		/* An API error body wins over the bare status line. */
		if (prom_parse(r.body, r.len, r.status, &c->limits, &ignored, &pe) &&
		    strncmp(pe.msg, "prometheus: HTTP", 16) != 0 &&
		    strncmp(pe.msg, "prometheus: the answer", 22) != 0)
			rc = err_set(e, EXIT_BACKEND, "%s (POST %s: HTTP %ld)", pe.msg, url,
				     r.status);
		else
			err_prefix(e, "prometheus");
		prom_result_finish(&ignored);
	} else if (!rc) {
		rc = prom_parse(r.body, r.len, r.status, &c->limits, out, e);
		out->elapsed_ms = elapsed;
		if (rc && e) {
			/* The parser's words, and which server said them. */
			char words[ERR_MSG_MAX];
			snprintf(words, sizeof words, "%s", e->msg);
			err_set(e, rc, "%s (POST %s)", words, url);
		}
	} else {
		err_prefix(e, "prometheus");
	}
	http_response_finish(&r);
	free(url);
	return rc;
}

static void fmt_time(double t, char *buf, size_t size)
{
	snprintf(buf, size, "%.3f", t);
}

int prom_query(struct prom_client *c, const char *query, double at,
	       struct prom_result *out, struct err *e)
{
	char *form = NULL;
	size_t len = 0;
	int rc = form_add(&form, &len, "query", query, e);
	if (!rc && at > 0) {
		char t[64];
		fmt_time(at, t, sizeof t);
		rc = form_add(&form, &len, "time", t, e);
	}
	if (!rc)
		rc = post_query(c, "/api/v1/query", form, len, out, e);
	else
		memset(out, 0, sizeof *out);
	free(form);
	return rc;
}

int prom_query_range(struct prom_client *c, const char *query, double start,
		     double end, double step, struct prom_result *out,
		     struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!(step > 0) || !(end >= start))
		return err_set(e, EXIT_INPUT, "a range query needs start <= end and a step > 0");
	if ((end - start) / step + 1 > PROM_MAX_POINTS)
		return err_set(e, EXIT_INPUT,
			       "a range of %.0f s every %g s has more than %d points: "
			       "use a larger step", end - start, step, PROM_MAX_POINTS);
	char *form = NULL;
	size_t len = 0;
	char t[64];
	int rc = form_add(&form, &len, "query", query, e);
	fmt_time(start, t, sizeof t);
	if (!rc)
		rc = form_add(&form, &len, "start", t, e);
	fmt_time(end, t, sizeof t);
	if (!rc)
		rc = form_add(&form, &len, "end", t, e);
	snprintf(t, sizeof t, "%g", step);
	if (!rc)
		rc = form_add(&form, &len, "step", t, e);
	if (!rc)
		rc = post_query(c, "/api/v1/query_range", form, len, out, e);
	free(form);
	return rc;
}

bool prom_parse_duration(const char *s, bool allow_zero, double *seconds)
{
	if (!s || !*s)
		return false;
	char *end;
	/* A bare number: seconds, as the API's step parameter allows. */
	if (isdigit((unsigned char)*s) || *s == '.') {
		errno = 0;
		double v = strtod(s, &end);
		if (*end == '\0' && !errno && isfinite(v) && v >= 0 && (allow_zero || v > 0)) {
			*seconds = v;
			return true;
		}
	}
	static const struct { const char *unit; double secs; } units[] = {
		{ "y", 365 * 86400.0 }, { "w", 7 * 86400.0 }, { "d", 86400.0 },
		{ "h", 3600.0 }, { "m", 60.0 }, { "s", 1.0 }, { "ms", 0.001 },
	};
	const size_t nunits = sizeof units / sizeof units[0];
	double total = 0;
	size_t next = 0; /* units must come largest first, each at most once */
	const char *p = s;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return false;
		errno = 0;
		unsigned long long n = strtoull(p, &end, 10);
		if (errno || end == p)
			return false;
		p = end;
		size_t u;
		for (u = next; u < nunits; u++) {
			size_t ul = strlen(units[u].unit);
			/* "m" must not swallow the "m" of "ms" */
			if (strncmp(p, units[u].unit, ul) == 0 &&
			    !(ul == 1 && p[0] == 'm' && p[1] == 's'))
				break;
		}
		if (u == nunits)
			return false;
		total += (double)n * units[u].secs;
		p += strlen(units[u].unit);
		next = u + 1;
	}
	if (!allow_zero && total <= 0)
		return false;
	*seconds = total;
	return true;
}

void prom_format_duration(double seconds, char *buf, size_t size)
{
	if (size == 0)
		return;
	if (!(seconds > 0) || !isfinite(seconds)) {
		snprintf(buf, size, "0s");
		return;
	}
	/* Milliseconds beyond long long (some 290 million years) have no
	 * llround: such a span is written in whole days. */
	if (seconds >= 9e15) {
		snprintf(buf, size, "%.0fd", floor(seconds / 86400.0));
		return;
	}
	long long ms = llround(seconds * 1000.0);
	if (ms == 0) { /* under half a millisecond */
		snprintf(buf, size, "0s");
		return;
	}
	static const struct { const char *unit; long long ms; } units[] = {
		{ "d", 86400000LL }, { "h", 3600000LL }, { "m", 60000LL }, { "s", 1000LL },
		{ "ms", 1LL },
	};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0] && ms > 0; i++) {
		long long n = ms / units[i].ms;
		if (n == 0)
			continue;
		ms -= n * units[i].ms;
		int w = snprintf(buf + used, size - used, "%lld%s", n, units[i].unit);
		if (w < 0 || (size_t)w >= size - used)
			break;
		used += (size_t)w;
	}
}
