/* Fuzz target for the MLflow back end's readers of a tracking server's
 * answers (registry.h, "MLflow answers"): every input, as JSON, goes to each
 * reader, and as raw bytes to the error reader.
 *
 *   ModelVersion          registry_mlflow_version_from_json on the answer's
 *                         model_version (get, create, get-by-alias), on each
 *                         of its model_versions[] (get-latest-versions) and
 *                         on the answer itself
 *   search page           registry_mlflow_search_page, first page and with
 *                         a page token asked for; then, with the versions it
 *                         read, the answer as a registered model
 *   RegisteredModel       registry_mlflow_attach_aliases
 *   get-download-uri      registry_mlflow_artifact_where
 *   error answer          registry_mlflow_error for 400, 404, 500 and 502,
 *                         with small message buffers
 *
 * What comes back must hold together: every string of a version filled and
 * its version number not empty, counts within the answer, aliases only on
 * the version they name, error codes and messages terminated, without
 * control bytes, and mapped to one of the three backend exit codes.
 * ASan/UBSan watch the rest (out-of-range conversions, leaks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_mlflow_answers: %s\n", what);
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

static void check_version(const struct registry_version *v)
{
	check(v->version && v->label && v->source && v->sha256 && v->schema_json &&
		      v->eval_json && v->verdict && v->description && v->creator && v->status,
	      "a version with a NULL string");
	check(v->version[0] != '\0', "a version without a number");
	check(v->label[0] != '\0', "a version without a label");
	for (size_t i = 0; i < v->ntags; i++) {
		check(v->tag_keys[i] && v->tag_values[i], "a NULL tag");
		check(strncmp(v->tag_keys[i], "churnops.", 9) != 0,
		      "churnops' own fact among the free-form tags");
	}
	for (size_t i = 0; i < v->naliases; i++)
		check(v->aliases[i] != NULL, "a NULL alias");
}

static void one_version(const cJSON *mv)
{
	struct registry_version v;
	memset(&v, 0xA5, sizeof v); /* the reader must not rely on a zeroed OUT */
	struct err e = {0};
	int rc = registry_mlflow_version_from_json(mv, &v, &e);
	if (rc == 0) {
		check_version(&v);
	} else {
		check(rc == EXIT_BACKEND || rc == EXIT_INPUT, "an unexpected exit code");
		check(e.msg[0] != '\0', "a failure without a message");
		check(v.version == NULL && v.naliases == 0, "a failed read left something");
	}
	registry_version_finish(&v);
}

/* Versions before an alias is attached, to see that nothing else moved. */
static size_t *alias_counts(const struct registry_version *v, size_t n)
{
	size_t *c = malloc((n ? n : 1) * sizeof *c);
	check(c != NULL, "malloc");
	for (size_t i = 0; i < n; i++)
		c[i] = v[i].naliases;
	return c;
}

static void aliases(const cJSON *answer, struct registry_version *v, size_t n)
{
	size_t *before = alias_counts(v, n);
	struct err e = {0};
	int rc = registry_mlflow_attach_aliases(answer, v, n, &e);
	check(rc == 0 || e.msg[0], "a failure without a message");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(answer, "registered_model"), "aliases");
	size_t listed = (size_t)cJSON_GetArraySize(list);
	for (size_t i = 0; i < n; i++) {
		check(v[i].naliases >= before[i], "aliases lost");
		check(v[i].naliases - before[i] <= listed, "more aliases than the answer lists");
	}
	free(before);
}

static void search(const cJSON *answer)
{
	static const char *const asked[] = {NULL, "tok"};
	for (size_t k = 0; k < sizeof asked / sizeof asked[0]; k++) {
		struct registry_version *v = NULL;
		size_t n = 0, cap = 0;
		char *next = (char *)"not set";
		struct err e = {0};
		int rc = registry_mlflow_search_page(answer, asked[k], &v, &n, &cap, &next, &e);
		check(n <= cap, "more versions than room");
		check(n <= (size_t)cJSON_GetArraySize(
				  cJSON_GetObjectItemCaseSensitive(answer, "model_versions")),
		      "more versions than the page holds");
		for (size_t i = 0; i < n; i++)
			check_version(&v[i]);
		if (rc == 0) {
			check(next == NULL || (next[0] && (!asked[k] || strcmp(next, asked[k]) != 0)),
			      "an empty or repeated next page token");
			/* A second page appended to the first. */
			char *next2 = NULL;
			size_t n1 = n;
			if (registry_mlflow_search_page(answer, next ? next : "other", &v, &n, &cap,
							&next2, &e) == 0)
				check(n == 2 * n1, "a second page did not append");
			free(next2);
			aliases(answer, v, n);
		} else {
			check(e.msg[0] != '\0', "a failure without a message");
			check(next == NULL, "a failure with a next token");
		}
		free(next);
		registry_versions_free(v, n);
	}
}

static void download_uri(const cJSON *answer)
{
	const char *proxy = (const char *)1, *file = (const char *)1;
	struct err e = {0};
	int rc = registry_mlflow_artifact_where(answer, "7\x1b[2J", &proxy, &file, &e);
	if (rc == 0) {
		check((proxy == NULL) != (file == NULL), "not exactly one place");
		if (proxy)
			check(proxy[0] && proxy[0] != '/' && no_controls(proxy),
			      "a proxy path empty, absolute or with control bytes");
		if (file)
			check(file[0] == '/' && no_controls(file),
			      "a file path not absolute or with control bytes");
	} else {
		check(rc == EXIT_BACKEND || rc == EXIT_CHECK, "an unexpected exit code");
		check(proxy == NULL && file == NULL, "a failure with a place");
		check(e.msg[0] && no_controls(e.msg), "a bad failure message");
	}
}

static void error_answers(const char *body, size_t len)
{
	static const long statuses[] = {400, 404, 500, 502};
	static const size_t sizes[] = {1, 2, 16, 512};
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		size_t size = sizes[i];
		char code[REGISTRY_MLFLOW_CODE_MAX], msg[512];
		memset(code, 'X', sizeof code);
		memset(msg, 'X', sizeof msg);
		int rc = registry_mlflow_error(statuses[i], body, len, code, msg, size);
		check(rc == EXIT_INPUT || rc == EXIT_CHECK || rc == EXIT_BACKEND,
		      "an unexpected exit code");
		check(memchr(code, '\0', sizeof code) != NULL && code[0],
		      "an error code empty or not terminated");
		check(memchr(msg, '\0', size) != NULL, "a message not terminated");
		check(no_controls(code) && no_controls(msg), "a control byte from the server");
		if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
			check(rc == EXIT_INPUT, "RESOURCE_DOES_NOT_EXIST is not bad input");
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
	error_answers(text, size);
	error_answers(NULL, 0);

	cJSON *answer = json_parse(text, size, "answer", NULL);
	free(text);
	if (!answer)
		return 0;
	one_version(cJSON_GetObjectItemCaseSensitive(answer, "model_version"));
	one_version(answer);
	const cJSON *mv;
	cJSON_ArrayForEach(mv, cJSON_GetObjectItemCaseSensitive(answer, "model_versions"))
		one_version(mv);
	search(answer);
	download_uri(answer);
	cJSON_Delete(answer);
	return 0;
}
