/* registry_mlflow: the MLflow Model Registry back end (REST 2.x; see
 * shared/reference/mlflow-registry.md and registry.h).
 *
 * Mapping: a churnops version is an MLflow model version; its id is the
 * server's version number (a string in JSON) and its label, sha256, verdict,
 * creator, schema and evaluation are version tags under "churnops."; the
 * other version tags are the version's free-form tags. Stages
 * are MLflow's (None, Staging, Production, Archived), moved with
 * transition-stage and archive_existing_versions for staging and production.
 * Aliases are read with get-by-alias (search results are known to drop
 * them) or from the registered model's aliases[], never from a version found
 * by search.
 *
 * Artifacts: register uploads the model file through the artifact proxy
 * (PUT /api/2.0/mlflow-artifacts/artifacts/churnops/MODEL/SHA256/model.json)
 * and registers source "mlflow-artifacts:/churnops/MODEL/SHA256/model.json".
 * Verification asks get-download-uri for the artifact URI, fetches
 * mlflow-artifacts:/ URIs through the proxy path and local file URIs
 * (file:///PATH, file://localhost/PATH) or absolute paths from disk, then
 * hashes the bytes.
 *
 * Answers are read by the registry_mlflow_* readers declared in registry.h,
 * which trust nothing in them; a listing stops with an error past
 * REGISTRY_MLFLOW_MAX_VERSIONS versions or MAX_PAGES search pages, so a
 * server that pages forever cannot hang or exhaust the console.
 *
 * Errors: a non-2xx answer whose body is JSON with an error_code is mapped
 * by that code (RESOURCE_DOES_NOT_EXIST and INVALID_PARAMETER_VALUE are bad
 * input, RESOURCE_ALREADY_EXISTS a refusal, the rest a backend error); any
 * other error answer (a proxy's HTML page, a non-MLflow JSON) takes a code
 * derived from the HTTP status and is a backend error. Messages carry the
 * code and the server's message, never a credential.
 */
#include "registry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "http.h"
#include "json.h"

#define DEFAULT_PAGE 100
#define TAG_PREFIX "churnops."
/* MLflow 2.x guarantees 5000 characters for a tag value. */
#define TAG_VALUE_MAX 5000
#define ARTIFACT_PREFIX "mlflow-artifacts:/"
/* Search pages one listing follows at most. */
#define MAX_PAGES 10000

struct mlflow_impl {
	struct http_client *http;
	char *base;  /* tracking URI without a trailing slash */
	char *model;
	char *model_q; /* URL-escaped */
	int page;
};

static int oom(struct err *e)
{
	return err_set(e, EXIT_INPUT, "out of memory");
}

/* The code MLflow's own client derives from an HTTP status when the body is
 * not an MLflow error (ERROR_CODE_TO_HTTP_STATUS read backwards). */
static const char *code_for_status(long status)
{
	switch (status) {
	case 400: return "BAD_REQUEST";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "ENDPOINT_NOT_FOUND";
	case 409: return "RESOURCE_CONFLICT";
	case 429: return "REQUEST_LIMIT_EXCEEDED";
	case 501: return "NOT_IMPLEMENTED";
	case 503: return "TEMPORARILY_UNAVAILABLE";
	case 504: return "DEADLINE_EXCEEDED";
	default: return status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST";
	}
}

static int exit_for_code(const char *code)
{
	if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0 ||
	    strcmp(code, "INVALID_PARAMETER_VALUE") == 0)
		return EXIT_INPUT;
	if (strcmp(code, "RESOURCE_ALREADY_EXISTS") == 0)
		return EXIT_CHECK;
	return EXIT_BACKEND;
}

/* Copies S into BUF with control characters shown as '?', so a server's
 * text cannot drive the terminal. */
static void clean_copy(char *buf, size_t size, const char *s)
{
	size_t i = 0;
	for (; s && s[i] && i + 1 < size; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	buf[i] = '\0';
}

int registry_mlflow_error(long status, const char *body, size_t len,
			  char *code, char *msg, size_t size)
{
	struct err pe;
	cJSON *j = body && len ? json_parse(body, len, "MLflow error", &pe) : NULL;
	const char *jc = json_str(j, "error_code");
	int rc;
	if (jc && *jc) {
		clean_copy(code, REGISTRY_MLFLOW_CODE_MAX, jc);
		clean_copy(msg, size, json_str(j, "message"));
		rc = exit_for_code(code);
	} else {
		snprintf(code, REGISTRY_MLFLOW_CODE_MAX, "%s", code_for_status(status));
		http_server_message(body, len, msg, size);
		rc = EXIT_BACKEND;
	}
	cJSON_Delete(j);
	return rc;
}

/* One REST call: METHOD on /api/2.0/mlflow/PATH (QUERY, already escaped,
 * appended for GET), BODY as JSON for the others. *OUT (may be NULL) gets the
 * parsed answer. On an MLflow error CODE (REGISTRY_MLFLOW_CODE_MAX bytes, may
 * be NULL) receives the error_code, derived from the status when the body is
 * not MLflow's. */
static int call(struct mlflow_impl *m, const char *method, const char *path,
		const char *query, const cJSON *body, cJSON **out, char *code,
		struct err *e)
{
	char *url = NULL;
	cJSON *answer = NULL;
	struct http_response r = {0};
	if (code)
		code[0] = '\0';
	if (asprintf(&url, "%s/api/2.0/mlflow/%s%s%s", m->base, path, query ? "?" : "",
		     query ? query : "") < 0)
		return oom(e);
	struct err he = {0};
	int rc = http_json(m->http, method, url, body ? "application/json" : NULL, body,
			   &answer, &r, &he);
	if (rc && r.error == HTTP_ERR_STATUS) {
		char msg[512], ecode[REGISTRY_MLFLOW_CODE_MAX];
		rc = registry_mlflow_error(r.status, r.body, r.len, ecode, msg, sizeof msg);
		if (code)
			snprintf(code, REGISTRY_MLFLOW_CODE_MAX, "%s", ecode);
		err_set(e, rc, "MLflow at %s: %s /mlflow/%s: %s: %s (HTTP %ld)", m->base, method,
			path, ecode, msg, r.status);
	} else if (rc) {
		err_set(e, rc, "MLflow at %s: %s", m->base, he.msg);
	}
	http_response_finish(&r);
	free(url);
	if (!rc && out)
		*out = answer;
	else
		cJSON_Delete(answer);
	return rc;
}

static char *tag_value(const cJSON *tags, const char *key)
{
	const cJSON *t;
	cJSON_ArrayForEach(t, tags) {
		const char *k = json_str(t, "key");
		if (k && strcmp(k, key) == 0)
			return registry_strdup(json_str(t, "value"));
	}
	return registry_strdup("");
}

/* A version number as text: a string as it is; a whole number in [0, 2^53)
 * (tolerated, though the proto says string) written into NUM (SIZE bytes);
 * "" for anything else. */
static const char *version_text(const cJSON *ver, char *num, size_t size)
{
	num[0] = '\0';
	if (cJSON_IsString(ver))
		return ver->valuestring;
	if (cJSON_IsNumber(ver)) {
		double d = ver->valuedouble;
		if (d >= 0 && d < 9007199254740992.0 && (double)(long long)d == d)
			snprintf(num, size, "%lld", (long long)d);
	}
	return num;
}

/* A timestamp in milliseconds; one beyond long long (so beyond any real
 * time) reads as unknown, 0, rather than as an undefined conversion. */
static long long millis(const cJSON *obj, const char *key)
{
	double t = json_num(obj, key, 0);
	return t > -9.2e18 && t < 9.2e18 ? (long long)t : 0;
}

int registry_mlflow_version_from_json(const cJSON *mv,
				      struct registry_version *out,
				      struct err *e)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(mv, "tags");
	char num[32];
	const char *ver = version_text(cJSON_GetObjectItemCaseSensitive(mv, "version"), num,
				       sizeof num);
	enum registry_stage stage = REGISTRY_STAGE_NONE;
	const char *st = json_str(mv, "current_stage");
	if (st)
		registry_stage_parse(st, &stage);
	*out = (struct registry_version){
		.version = registry_strdup(ver),
		.label = tag_value(tags, TAG_PREFIX "label"),
		.source = registry_strdup(json_str(mv, "source")),
		.sha256 = tag_value(tags, TAG_PREFIX "sha256"),
		.schema_json = tag_value(tags, TAG_PREFIX "schema"),
		.eval_json = tag_value(tags, TAG_PREFIX "eval"),
		.verdict = tag_value(tags, TAG_PREFIX "verdict"),
		.description = registry_strdup(json_str(mv, "description")),
		.creator = tag_value(tags, TAG_PREFIX "creator"),
		.status = registry_strdup(json_str(mv, "status") ? json_str(mv, "status") : "READY"),
		.created_ms = millis(mv, "creation_timestamp"),
		.stage = stage,
	};
	if (!out->version || !out->label || !out->source || !out->sha256 ||
	    !out->schema_json || !out->eval_json || !out->verdict || !out->description ||
	    !out->creator || !out->status) {
		registry_version_finish(out);
		return oom(e);
	}
	if (!out->creator[0] && json_str(mv, "user_id")) {
		free(out->creator);
		out->creator = registry_strdup(json_str(mv, "user_id"));
		if (!out->creator) {
			registry_version_finish(out);
			return oom(e);
		}
	}
	const cJSON *t;
	cJSON_ArrayForEach(t, tags) {
		const char *k = json_str(t, "key");
		if (k && strncmp(k, TAG_PREFIX, strlen(TAG_PREFIX)) != 0 &&
		    registry_version_add_tag(out, k, json_str(t, "value") ? json_str(t, "value") : "",
					     e)) {
			registry_version_finish(out);
			return EXIT_INPUT;
		}
	}
	if (!out->version[0]) {
		registry_version_finish(out);
		return err_set(e, EXIT_BACKEND, "MLflow: a model version without a version number");
	}
	if (!out->label[0]) { /* registered by someone else: the number is its label */
		free(out->label);
		if (!(out->label = strdup(out->version))) {
			registry_version_finish(out);
			return oom(e);
		}
	}
	return 0;
}

int registry_mlflow_attach_aliases(const cJSON *answer,
				   struct registry_version *v, size_t n,
				   struct err *e)
{
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(answer, "registered_model");
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(model, "aliases")) {
		const char *name = json_str(a, "alias");
		char num[32];
		const char *vs = version_text(cJSON_GetObjectItemCaseSensitive(a, "version"), num,
					      sizeof num);
		if (!name || !*vs)
			continue;
		for (size_t i = 0; i < n; i++) {
			int rc;
			if (strcmp(v[i].version, vs) == 0 &&
			    (rc = registry_version_add_alias(&v[i], name, e)))
				return rc;
		}
	}
	return 0;
}

/* Attaches the registered model's aliases[] {alias, version} to V[0..N). A
 * model that does not exist yet has none. */
static int attach_aliases(struct mlflow_impl *m, struct registry_version *v, size_t n,
			  struct err *e)
{
	char *q = NULL;
	cJSON *rm = NULL;
	char code[REGISTRY_MLFLOW_CODE_MAX];
	if (asprintf(&q, "name=%s", m->model_q) < 0)
		return oom(e);
	struct err ce = {0};
	int rc = call(m, "GET", "registered-models/get", q, NULL, &rm, code, &ce);
	free(q);
	if (rc) {
		if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
			return 0;
		*e = ce;
		return rc;
	}
	rc = registry_mlflow_attach_aliases(rm, v, n, e);
	cJSON_Delete(rm);
	return rc;
}

/* Version numbers as numbers: "10" after "9". */
static int by_number(const void *a, const void *b)
{
	const struct registry_version *x = a, *y = b;
	size_t lx = strlen(x->version), ly = strlen(y->version);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->version, y->version);
}

int registry_mlflow_search_page(const cJSON *answer, const char *asked,
				struct registry_version **v, size_t *n,
				size_t *cap, char **next, struct err *e)
{
	*next = NULL;
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(answer, "model_versions");
	if (list && !cJSON_IsArray(list))
		return err_set(e, EXIT_BACKEND, "MLflow: the search's model_versions is not an array");
	const cJSON *mv;
	cJSON_ArrayForEach(mv, list) {
		if (*n >= REGISTRY_MLFLOW_MAX_VERSIONS)
			return err_set(e, EXIT_BACKEND, "MLflow: the search answers more than %d versions",
				       REGISTRY_MLFLOW_MAX_VERSIONS);
		if (*n == *cap) {
			size_t ncap = *cap ? 2 * *cap : 64;
			struct registry_version *nv = realloc(*v, ncap * sizeof *nv);
			if (!nv)
				return oom(e);
			*v = nv;
			*cap = ncap;
		}
		int rc = registry_mlflow_version_from_json(mv, &(*v)[*n], e);
		if (rc)
			return rc;
		(*n)++;
	}
	const char *token = json_str(answer, "next_page_token");
	if (!token || !*token)
		return 0;
	if (asked && strcmp(token, asked) == 0)
		return err_set(e, EXIT_BACKEND,
			       "MLflow: the search answers the same page token it was asked with");
	if (!(*next = strdup(token)))
		return oom(e);
	return 0;
}

/* Every version of the model, following next_page_token, oldest (lowest
 * number) first; the server's order is not relied on. */
static int ml_list(void *impl, struct registry_version **out, size_t *n,
		   struct err *e)
{
	struct mlflow_impl *m = impl;
	struct registry_version *v = NULL;
	size_t cnt = 0, cap = 0, pages = 0;
	char *token = NULL;
	int rc = 0;
	*out = NULL;
	*n = 0;
	char *filter = NULL, *filter_q = NULL;
	if (asprintf(&filter, "name='%s'", m->model) < 0)
		return oom(e);
	if (!(filter_q = http_escape(filter))) {
		free(filter);
		return oom(e);
	}
	do {
		if (++pages > MAX_PAGES) {
			rc = err_set(e, EXIT_BACKEND, "MLflow: the search runs past %d pages",
				     MAX_PAGES);
			break;
		}
		char *tok_q = token ? http_escape(token) : NULL, *q = NULL;
		cJSON *page = NULL;
		char *next = NULL;
		if ((token && !tok_q) ||
		    asprintf(&q, "filter=%s&max_results=%d%s%s",
			     filter_q, m->page, tok_q ? "&page_token=" : "", tok_q ? tok_q : "") < 0) {
			free(tok_q);
			rc = oom(e);
			break;
		}
		free(tok_q);
		rc = call(m, "GET", "model-versions/search", q, NULL, &page, NULL, e);
		free(q);
		if (rc)
			break;
		rc = registry_mlflow_search_page(page, token, &v, &cnt, &cap, &next, e);
		cJSON_Delete(page);
		free(token);
		token = next;
	} while (!rc && token);
	free(token);
	free(filter);
	free(filter_q);
	if (!rc)
		rc = attach_aliases(m, v, cnt, e);
	if (!rc && cnt > 1)
		qsort(v, cnt, sizeof *v, by_number);
	if (rc) {
		registry_versions_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* GETs one model version by number into OUT; *FOUND false when the server
 * says it does not exist. NUMBER may come from an earlier answer, so it is
 * escaped like any other text. */
static int get_number(struct mlflow_impl *m, const char *number,
		      struct registry_version *out, bool *found, struct err *e)
{
	char *number_q = http_escape(number), *q = NULL;
	cJSON *a = NULL;
	char code[REGISTRY_MLFLOW_CODE_MAX];
	*found = false;
	if (!number_q || asprintf(&q, "name=%s&version=%s", m->model_q, number_q) < 0) {
		free(number_q);
		return oom(e);
	}
	free(number_q);
	struct err ce = {0};
	int rc = call(m, "GET", "model-versions/get", q, NULL, &a, code, &ce);
	free(q);
	if (rc) {
		if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
			return 0;
		*e = ce;
		return rc;
	}
	rc = registry_mlflow_version_from_json(
		cJSON_GetObjectItemCaseSensitive(a, "model_version"), out, e);
	cJSON_Delete(a);
	if (!rc)
		rc = attach_aliases(m, out, 1, e);
	if (rc)
		registry_version_finish(out);
	*found = rc == 0;
	return rc;
}

/* A version named by number (all digits) is fetched directly; a label is
 * found among all versions. */
static int ml_get(void *impl, const char *v, struct registry_version *out,
		  bool *found, struct err *e)
{
	struct mlflow_impl *m = impl;
	*found = false;
	if (all_digits(v))
		return get_number(m, v, out, found, e);
	struct registry_version *all = NULL;
	size_t n = 0;
	int rc = ml_list(m, &all, &n, e);
	for (size_t i = 0; !rc && i < n; i++)
		if (strcmp(all[i].label, v) == 0) {
			*out = all[i];
			memset(&all[i], 0, sizeof all[i]);
			*found = true;
			break;
		}
	registry_versions_free(all, n);
	return rc;
}

/* Get-by-alias, then the version afresh by number so its aliases[] come
 * from the registered model. */
static int ml_get_alias(void *impl, const char *alias, struct registry_version *out,
			bool *found, struct err *e)
{
	struct mlflow_impl *m = impl;
	char *alias_q = http_escape(alias), *q = NULL;
	cJSON *a = NULL;
	char code[REGISTRY_MLFLOW_CODE_MAX];
	*found = false;
	if (!alias_q || asprintf(&q, "name=%s&alias=%s", m->model_q, alias_q) < 0) {
		free(alias_q);
		return oom(e);
	}
	free(alias_q);
	struct err ce = {0};
	int rc = call(m, "GET", "registered-models/alias", q, NULL, &a, code, &ce);
	free(q);
	if (rc) {
		if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
			return 0;
		*e = ce;
		return rc;
	}
	struct registry_version tmp = {0};
	rc = registry_mlflow_version_from_json(
		cJSON_GetObjectItemCaseSensitive(a, "model_version"), &tmp, e);
	cJSON_Delete(a);
	if (!rc)
		rc = get_number(m, tmp.version, out, found, e);
	registry_version_finish(&tmp);
	return rc;
}

static const char *mlflow_stage(enum registry_stage s)
{
	switch (s) {
	case REGISTRY_STAGE_STAGING: return "Staging";
	case REGISTRY_STAGE_PRODUCTION: return "Production";
	case REGISTRY_STAGE_ARCHIVED: return "Archived";
	case REGISTRY_STAGE_NONE: break;
	}
	return "None";
}

static int ml_stage_holder(void *impl, enum registry_stage stage,
			   struct registry_version *out, bool *found, struct err *e)
{
	struct mlflow_impl *m = impl;
	*found = false;
	cJSON *body = cJSON_CreateObject(), *a = NULL;
	cJSON *stages = cJSON_AddArrayToObject(body, "stages");
	if (!cJSON_AddStringToObject(body, "name", m->model) || !stages) {
		cJSON_Delete(body);
		return oom(e);
	}
	cJSON_AddItemToArray(stages, cJSON_CreateString(mlflow_stage(stage)));
	char code[REGISTRY_MLFLOW_CODE_MAX];
	struct err ce = {0};
	int rc = call(m, "POST", "registered-models/get-latest-versions", NULL, body, &a,
		      code, &ce);
	cJSON_Delete(body);
	if (rc) {
		if (strcmp(code, "RESOURCE_DOES_NOT_EXIST") == 0)
			return 0;
		*e = ce;
		return rc;
	}
	const cJSON *mv = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "model_versions"), 0);
	if (mv) {
		struct registry_version tmp = {0};
		rc = registry_mlflow_version_from_json(mv, &tmp, e);
		if (!rc)
			rc = get_number(m, tmp.version, out, found, e);
		registry_version_finish(&tmp);
	}
	cJSON_Delete(a);
	return rc;
}

static int ml_set_stage(void *impl, const char *version, enum registry_stage stage,
			struct err *e)
{
	struct mlflow_impl *m = impl;
	cJSON *body = cJSON_CreateObject();
	bool exclusive = stage == REGISTRY_STAGE_STAGING || stage == REGISTRY_STAGE_PRODUCTION;
	if (!body || !cJSON_AddStringToObject(body, "name", m->model) ||
	    !cJSON_AddStringToObject(body, "version", version) ||
	    !cJSON_AddStringToObject(body, "stage", mlflow_stage(stage)) ||
	    !cJSON_AddBoolToObject(body, "archive_existing_versions", exclusive)) {
		cJSON_Delete(body);
		return oom(e);
	}
	int rc = call(m, "POST", "model-versions/transition-stage", NULL, body, NULL, NULL, e);
	cJSON_Delete(body);
	return rc;
}

static int alias_call(struct mlflow_impl *m, const char *method, const char *alias,
		      const char *version, struct err *e)
{
	cJSON *body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "name", m->model) ||
	    !cJSON_AddStringToObject(body, "alias", alias) ||
	    (version && !cJSON_AddStringToObject(body, "version", version))) {
		cJSON_Delete(body);
		return oom(e);
	}
	int rc = call(m, method, "registered-models/alias", NULL, body, NULL, NULL, e);
	cJSON_Delete(body);
	return rc;
}

static int ml_set_alias(void *impl, const char *alias, const char *version,
			struct err *e)
{
	return alias_call(impl, "POST", alias, version, e);
}

static int ml_delete_alias(void *impl, const char *alias, struct err *e)
{
	return alias_call(impl, "DELETE", alias, NULL, e);
}

static int ml_set_tag(void *impl, const char *version, const char *key,
		      const char *value, struct err *e)
{
	struct mlflow_impl *m = impl;
	cJSON *body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "name", m->model) ||
	    !cJSON_AddStringToObject(body, "version", version) ||
	    !cJSON_AddStringToObject(body, "key", key) ||
	    !cJSON_AddStringToObject(body, "value", value)) {
		cJSON_Delete(body);
		return oom(e);
	}
	int rc = call(m, "POST", "model-versions/set-tag", NULL, body, NULL, NULL, e);
	cJSON_Delete(body);
	return rc;
}

/* GETs an absolute URL's body (binary) into *DATA. */
static int get_bytes(struct mlflow_impl *m, const char *url, char **data, size_t *len,
		     struct err *e)
{
	struct http_response r = {0};
	struct http_request req = {.url = url, .accept = "application/octet-stream"};
	struct err he = {0};
	int rc = http_do(m->http, &req, &r, &he);
	if (rc) {
		err_set(e, EXIT_BACKEND, "MLflow artifact: %s", he.msg);
		http_response_finish(&r);
		return rc;
	}
	*data = r.body;
	*len = r.len;
	r.body = NULL;
	if (!*data && !(*data = calloc(1, 1)))
		return oom(e);
	return 0;
}

int registry_mlflow_artifact_where(const cJSON *answer, const char *version,
				   const char **proxy_path,
				   const char **file_path, struct err *e)
{
	char shown_version[64];
	*proxy_path = NULL;
	*file_path = NULL;
	clean_copy(shown_version, sizeof shown_version, version);
	const char *uri = json_str(answer, "artifact_uri");
	if (!uri || !*uri)
		return err_set(e, EXIT_BACKEND, "MLflow: no artifact_uri for version %s",
			       shown_version);
	bool clean = true;
	for (const char *p = uri; *p; p++)
		if (iscntrl((unsigned char)*p))
			clean = false;
	if (clean && strncmp(uri, ARTIFACT_PREFIX, strlen(ARTIFACT_PREFIX)) == 0) {
		const char *path = uri + strlen(ARTIFACT_PREFIX);
		while (*path == '/')
			path++;
		if (*path) {
			*proxy_path = path;
			return 0;
		}
	} else if (clean && uri[0] == '/') {
		*file_path = uri;
		return 0;
	} else if (clean && strncmp(uri, "file://", 7) == 0) {
		const char *path = uri + 7;
		if (strncmp(path, "localhost/", 10) == 0)
			path += 9;
		if (path[0] == '/') {
			*file_path = path;
			return 0;
		}
	}
	char shown[256];
	clean_copy(shown, sizeof shown, uri);
	return err_set(e, EXIT_CHECK,
		       "version %s: artifact URI %s: only mlflow-artifacts:/ and local file paths "
		       "can be fetched", shown_version, shown);
}

static int ml_fetch(void *impl, const struct registry_version *v, char **data,
		    size_t *len, struct err *e)
{
	struct mlflow_impl *m = impl;
	char *version_q = http_escape(v->version), *q = NULL;
	cJSON *a = NULL;
	if (!version_q || asprintf(&q, "name=%s&version=%s", m->model_q, version_q) < 0) {
		free(version_q);
		return oom(e);
	}
	free(version_q);
	int rc = call(m, "GET", "model-versions/get-download-uri", q, NULL, &a, NULL, e);
	free(q);
	if (rc)
		return rc;
	const char *proxy_path, *file_path;
	rc = registry_mlflow_artifact_where(a, v->version, &proxy_path, &file_path, e);
	if (!rc && proxy_path) {
		char *url = NULL;
		if (asprintf(&url, "%s/api/2.0/mlflow-artifacts/artifacts/%s", m->base,
			     proxy_path) < 0)
			rc = oom(e);
		else
			rc = get_bytes(m, url, data, len, e);
		free(url);
	} else if (!rc) {
		rc = fileio_read_all(file_path, REGISTRY_MAX_ARTIFACT, data, len, e);
	}
	cJSON_Delete(a);
	return rc;
}

static int add_tag(cJSON *tags, const char *key, const char *value)
{
	cJSON *t = cJSON_CreateObject();
	if (!t || !cJSON_AddStringToObject(t, "key", key) ||
	    !cJSON_AddStringToObject(t, "value", value ? value : "")) {
		cJSON_Delete(t);
		return -1;
	}
	cJSON_AddItemToArray(tags, t);
	return 0;
}

/* JSON text compacted for a tag; when the whole does not fit the tag limit,
 * only its top-level numbers and strings (the evaluation's headline
 * metrics). Newly allocated. */
static char *compact_for_tag(const char *text)
{
	struct err pe;
	cJSON *j = text ? json_parse(text, strlen(text), "tag", &pe) : NULL;
	if (!j)
		return strdup("{}");
	char *s = cJSON_PrintUnformatted(j);
	if (s && strlen(s) > TAG_VALUE_MAX) {
		free(s);
		cJSON *small = cJSON_CreateObject();
		const cJSON *it;
		cJSON_ArrayForEach(it, j)
			if (cJSON_IsNumber(it) || cJSON_IsString(it))
				cJSON_AddItemToObject(small, it->string, cJSON_Duplicate(it, 0));
		s = cJSON_PrintUnformatted(small);
		cJSON_Delete(small);
		if (s && strlen(s) > TAG_VALUE_MAX) {
			free(s);
			s = strdup("{}");
		}
	}
	cJSON_Delete(j);
	return s;
}

static int ml_register(void *impl, const struct registry_new_version *nv,
		       const char *sha256, const char *verdict, const char *data,
		       size_t len, struct registry_version *out, struct err *e)
{
	struct mlflow_impl *m = impl;
	char code[REGISTRY_MLFLOW_CODE_MAX];
	char *url = NULL, *source = NULL, *schema = NULL, *eval = NULL;
	cJSON *body = NULL, *a = NULL;
	struct http_response r = {0};
	int rc;

	/* The registered model: created unless it exists. */
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "name", m->model)) {
		rc = oom(e);
		goto out;
	}
	struct err ce = {0};
	rc = call(m, "POST", "registered-models/create", NULL, body, NULL, code, &ce);
	cJSON_Delete(body);
	body = NULL;
	if (rc && strcmp(code, "RESOURCE_ALREADY_EXISTS") != 0) {
		*e = ce;
		goto out;
	}

	/* The artifact, through the proxy. */
	char *model_q = m->model_q;
	if (asprintf(&url, "%s/api/2.0/mlflow-artifacts/artifacts/churnops/%s/%s/model.json",
		     m->base, model_q, sha256) < 0 ||
	    asprintf(&source, ARTIFACT_PREFIX "churnops/%s/%s/model.json", m->model, sha256) < 0) {
		rc = oom(e);
		goto out;
	}
	struct http_request put = {.method = "PUT", .url = url,
				   .content_type = "application/octet-stream",
				   .body = data, .body_len = len};
	struct err he = {0};
	if ((rc = http_do(m->http, &put, &r, &he))) {
		err_set(e, EXIT_BACKEND, "MLflow artifact upload: %s", he.msg);
		goto out;
	}

	/* The version, with churnops' facts as tags. */
	schema = compact_for_tag(nv->schema_json);
	eval = compact_for_tag(nv->eval_json);
	body = cJSON_CreateObject();
	cJSON *tags = body ? cJSON_AddArrayToObject(body, "tags") : NULL;
	if (!schema || !eval || !tags || !cJSON_AddStringToObject(body, "name", m->model) ||
	    !cJSON_AddStringToObject(body, "source", source) ||
	    !cJSON_AddStringToObject(body, "description", nv->description ? nv->description : "") ||
	    add_tag(tags, TAG_PREFIX "label", nv->label) ||
	    add_tag(tags, TAG_PREFIX "sha256", sha256) ||
	    add_tag(tags, TAG_PREFIX "verdict", verdict) ||
	    add_tag(tags, TAG_PREFIX "creator", nv->creator ? nv->creator : "unknown") ||
	    add_tag(tags, TAG_PREFIX "schema", schema) ||
	    add_tag(tags, TAG_PREFIX "eval", eval)) {
		rc = oom(e);
		goto out;
	}
	if ((rc = call(m, "POST", "model-versions/create", NULL, body, &a, NULL, e)))
		goto out;
	rc = registry_mlflow_version_from_json(
		cJSON_GetObjectItemCaseSensitive(a, "model_version"), out, e);
out:
	http_response_finish(&r);
	cJSON_Delete(body);
	cJSON_Delete(a);
	free(url);
	free(source);
	free(schema);
	free(eval);
	return rc;
}

static void ml_destroy(void *impl)
{
	struct mlflow_impl *m = impl;
	if (!m)
		return;
	http_client_destroy(m->http);
	free(m->base);
	free(m->model);
	free(m->model_q);
	free(m);
}

static const struct registry_ops mlflow_ops = {
	.name = "mlflow",
	.in_store = false,
	.register_version = ml_register,
	.get = ml_get,
	.list = ml_list,
	.get_alias = ml_get_alias,
	.stage_holder = ml_stage_holder,
	.set_stage = ml_set_stage,
	.set_alias = ml_set_alias,
	.delete_alias = ml_delete_alias,
	.set_tag = ml_set_tag,
	.fetch_artifact = ml_fetch,
	.destroy = ml_destroy,
};

struct registry *registry_open_mlflow(struct store *st, const char *model,
				      const struct registry_mlflow_options *o,
				      struct err *e)
{
	if (!o->tracking_uri || !*o->tracking_uri) {
		err_set(e, EXIT_INPUT,
			"MLflow: no tracking URI (--tracking-uri or MLFLOW_TRACKING_URI)");
		return NULL;
	}
	if (strncmp(o->tracking_uri, "http://", 7) != 0 &&
	    strncmp(o->tracking_uri, "https://", 8) != 0) {
		err_set(e, EXIT_INPUT, "MLflow: tracking URI %s: only http:// and https:// are supported",
			o->tracking_uri);
		return NULL;
	}
	/* Credentials in the URI would end up in every message and listing. */
	const char *host = strstr(o->tracking_uri, "://") + 3;
	if (memchr(host, '@', strcspn(host, "/?#"))) {
		err_set(e, EXIT_INPUT, "MLflow: the tracking URI carries credentials: give them with "
				       "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or "
				       "MLFLOW_TRACKING_TOKEN) instead");
		return NULL;
	}
	struct mlflow_impl *m = calloc(1, sizeof *m);
	if (!m) {
		oom(e);
		return NULL;
	}
	m->page = o->page_size > 0 ? o->page_size : DEFAULT_PAGE;
	m->base = strdup(o->tracking_uri);
	m->model = strdup(model ? model : REGISTRY_DEFAULT_MODEL);
	m->model_q = m->model ? http_escape(m->model) : NULL;
	if (!m->base || !m->model || !m->model_q) {
		ml_destroy(m);
		oom(e);
		return NULL;
	}
	size_t n = strlen(m->base);
	while (n > 0 && m->base[n - 1] == '/')
		m->base[--n] = '\0';
	struct http_options ho = {
		.timeout_ms = o->timeout_ms,
		.max_response = REGISTRY_MAX_ARTIFACT,
		.tls = {.ca_file = o->ca_file, .insecure = o->insecure},
		.bearer = o->token && *o->token ? o->token : NULL,
		.basic_user = o->basic_user && *o->basic_user ? o->basic_user : NULL,
		.basic_password = o->basic_password,
	};
	m->http = http_client_create(&ho, e);
	if (!m->http) {
		ml_destroy(m);
		return NULL;
	}
	return registry_create(&mlflow_ops, m, st, m->model, m->base, e);
}
