/* Fuzz target for core/prom's reader of the Prometheus HTTP API's answers
 * (prom_parse): every input is read as the body of a 200, a 400 and a 503
 * answer (an instant or range query's vector, matrix, scalar or string
 * result, or a status:error body), with the default limits and with small
 * ones so the limit paths run too. Durations are read from the same bytes
 * (prom_parse_duration) and written back (prom_format_duration).
 *
 * What comes back must hold together: a result of a known type within the
 * limits, a scalar as one sample, a string result with its text, every
 * label named and valued, sample values that are numbers (NaN and the
 * infinities as Prometheus writes them), and on failure EXIT_BACKEND with a
 * message starting "prometheus" and free of control bytes a terminal would
 * act on. ASan/UBSan watch the rest.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_prom_answers: %s\n", what);
		abort();
	}
}

/* No C0 control byte (ESC included) or DEL. */
static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void check_result(const struct prom_result *r, const struct prom_limits *lim)
{
	size_t max_series = lim && lim->max_series ? lim->max_series : PROM_MAX_SERIES;
	size_t max_samples = lim && lim->max_samples ? lim->max_samples : PROM_MAX_SAMPLES;
	size_t max_labels = lim && lim->max_labels ? lim->max_labels : PROM_MAX_LABELS;
	check(strcmp(prom_type_name(r->type), "?") != 0, "a result of no known type");
	check(r->elapsed_ms == 0, "time spent on an offline parse");
	switch (r->type) {
	case PROM_SCALAR:
		check(r->nseries == 1 && r->series[0].nsamples == 1 && r->series[0].nlabels == 0,
		      "a scalar is not one unlabelled sample");
		break;
	case PROM_STRING:
		check(r->string != NULL && r->nseries == 0, "a string result without its text");
		break;
	case PROM_VECTOR:
	case PROM_MATRIX:
		check(r->string == NULL, "a series result with a string");
		break;
	}
	check(r->nseries <= max_series, "more series than the limit");
	size_t total = 0;
	for (size_t i = 0; i < r->nseries; i++) {
		const struct prom_series *s = &r->series[i];
		check(s->nlabels <= max_labels, "more labels than the limit");
		check(r->type != PROM_VECTOR || s->nsamples == 1, "a vector series without its sample");
		for (size_t j = 0; j < s->nlabels; j++) {
			check(s->labels[j].name && s->labels[j].value, "a label without name or value");
			check(prom_series_label(s, s->labels[j].name) != NULL, "a label not found");
		}
		for (size_t j = 0; j < s->nsamples; j++)
			check(isfinite(s->samples[j].t), "a sample time that is not a number");
		total += s->nsamples;
	}
	check(total <= max_samples, "more samples than the limit");
	for (size_t i = 0; i < r->nwarnings; i++)
		check(r->warnings[i] != NULL, "a NULL warning");
	check(r->nwarnings <= 100, "more warnings than kept");
}

static void parse(const char *body, size_t len, long status, const struct prom_limits *lim)
{
	struct prom_result r;
	memset(&r, 0xA5, sizeof r); /* prom_parse must not rely on a zeroed OUT */
	struct err e = {0};
	int rc = prom_parse(body, len, status, lim, &r, &e);
	if (rc == 0) {
		check_result(&r, lim);
	} else {
		check(rc == EXIT_BACKEND && e.code == EXIT_BACKEND, "a failure not EXIT_BACKEND");
		check(strncmp(e.msg, "prometheus", 10) == 0 || strcmp(e.msg, "out of memory") == 0,
		      "a failure message not naming prometheus");
		check(no_controls(e.msg), "a control byte from the server reached the message");
		check(r.nseries == 0 && r.series == NULL && r.string == NULL && r.nwarnings == 0,
		      "a failed parse left something");
	}
	prom_result_finish(&r);
}

static void durations(const char *text, size_t len)
{
	char s[64];
	if (len >= sizeof s || memchr(text, '\0', len))
		return;
	memcpy(s, text, len);
	s[len] = '\0';
	double secs = -1;
	if (!prom_parse_duration(s, true, &secs))
		return;
	check(secs >= 0 && !isnan(secs), "a negative or NaN duration");
	double nz;
	if (prom_parse_duration(s, false, &nz))
		check(nz > 0 && nz == secs, "the zero flag changed the value");
	else
		check(secs == 0, "a non-zero duration refused without zero allowed");
	char out[64];
	prom_format_duration(secs, out, sizeof out);
	check(out[0] != '\0', "a duration written as nothing");
	for (size_t n = 0; n < 8; n++) {
		char small[8];
		memset(small, 'X', sizeof small);
		prom_format_duration(secs, small, n);
		check(n == 0 || memchr(small, '\0', n) != NULL, "a duration not terminated");
	}
	/* What is written reads back, to the millisecond, while it is exact. */
	double again;
	if (secs >= 0.001 && secs < 1e12) {
		check(prom_parse_duration(out, true, &again), "a written duration does not read");
		check(fabs(again - secs) <= 0.0005 + secs * 1e-12,
		      "a written duration reads as another");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated on purpose: prom_parse must keep within SIZE. */
	char *text = malloc(size ? size : 1);
	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	else
		text[0] = '\0';
	static const struct prom_limits small = {.max_series = 2, .max_samples = 3,
						 .max_labels = 2};
	parse(text, size, 200, NULL);
	parse(text, size, 200, &small);
	parse(text, size, 400, NULL);
	parse(text, size, 503, &small);
	parse(NULL, 0, 0, NULL);
	durations(text, size);
	free(text);
	return 0;
}
