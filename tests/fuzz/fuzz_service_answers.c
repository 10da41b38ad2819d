/* Fuzz target for core/service's readers of a model service's answers, the
 * ones smoke tests, load tests and the console's deployment panels rely on:
 * every input is read as
 *
 *   GET /health         service_parse_health
 *   GET /model/info     service_parse_info
 *   POST /predict       service_parse_predictions, for as many records as
 *                       the answer holds and for one more and one fewer
 *   an error answer     http_server_message (the service's {"error": ...})
 *
 * (The service's /metrics text is scraped by Prometheus, never read by
 * churnops, so it has no reader here.)
 *
 * What comes back must hold together: strings terminated and sanitised
 * (no control byte a terminal would act on), a healthy verdict only for a
 * healthy status with the model loaded, a version whenever /model/info is
 * accepted, every probability in [0, 1] and one per record, and every
 * failure EXIT_BACKEND with a message. ASan/UBSan watch the rest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_service_answers: %s\n", what);
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

static bool terminated(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

static void health(const char *body, size_t len)
{
	struct service_health h;
	memset(&h, 'X', sizeof h);
	struct err e = {0};
	int rc = service_parse_health(body, len, &h, &e);
	check(terminated(h.status, sizeof h.status) && terminated(h.version, sizeof h.version),
	      "a health field not terminated");
	check(no_controls(h.status) && no_controls(h.version), "a control byte in a health field");
	if (rc == 0) {
		check(h.model_loaded, "healthy without the model loaded");
		check(!h.status[0] || strcmp(h.status, "healthy") == 0 ||
			      strcmp(h.status, "ok") == 0 || strcmp(h.status, "up") == 0,
		      "healthy with another status");
	} else {
		check(rc == EXIT_BACKEND, "a failure not EXIT_BACKEND");
		check(e.msg[0] && no_controls(e.msg), "a bad failure message");
	}
}

static void info(const char *body, size_t len)
{
	struct service_info i;
	memset(&i, 'X', sizeof i);
	struct err e = {0};
	int rc = service_parse_info(body, len, &i, &e);
	check(terminated(i.model, sizeof i.model) && terminated(i.version, sizeof i.version) &&
		      terminated(i.image, sizeof i.image), "an info field not terminated");
	check(no_controls(i.model) && no_controls(i.version) && no_controls(i.image),
	      "a control byte in an info field");
	if (rc)
		check(rc == EXIT_BACKEND && e.msg[0] && no_controls(e.msg), "a bad failure");
}

static void predictions(const char *body, size_t len, const cJSON *root)
{
	size_t held = 0;
	if (cJSON_IsArray(root))
		held = (size_t)cJSON_GetArraySize(root);
	else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "predictions")))
		held = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "predictions"));
	size_t counts[] = {held, held + 1, held ? held - 1 : 0, 1};
	for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		size_t n = counts[k];
		/* exactly N slots, so a write past them is an ASan report */
		double *out = malloc((n ? n : 1) * sizeof *out);
		check(out != NULL, "malloc");
		for (size_t j = 0; j < n; j++)
			out[j] = -1;
		struct err e = {0};
		int rc = service_parse_predictions(body, len, n, out, &e);
		if (rc == 0) {
			check(n == held, "accepted for another number of records");
			for (size_t j = 0; j < n; j++)
				check(out[j] >= 0 && out[j] <= 1, "a probability outside [0, 1]");
		} else {
			check(rc == EXIT_BACKEND && e.msg[0] && no_controls(e.msg), "a bad failure");
		}
		free(out);
	}
}

static void error_body(const char *body, size_t len)
{
	static const size_t sizes[] = {1, 3, 9, 64};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char buf[64];
		memset(buf, 'X', sizeof buf);
		http_server_message(body, len, buf, sizes[i]);
		check(terminated(buf, sizes[i]) && no_controls(buf), "a bad server message");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated on purpose: the readers must keep within SIZE. */
	char *text = malloc(size ? size : 1);
	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	else
		text[0] = '\0';
	health(text, size);
	info(text, size);
	error_body(text, size);
	cJSON *root = json_parse(text, size, "answer", NULL);
	predictions(text, size, root);
	cJSON_Delete(root);
	free(text);
	return 0;
}
