#include "service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "json.h"
#include "num.h"
#include "sanitize.h"

#define DEFAULT_TIMEOUT_MS 10000L

struct service {
	struct http_client *http;
	char *base;
};

static int service_create(const char *base, const struct http_options *o,
			  struct service **out, struct err *e)
{
	struct service *s = calloc(1, sizeof *s);
	*out = NULL;
	if (!s || !(s->base = strdup(base))) {
		free(s);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	size_t n = strlen(s->base);
	while (n > 0 && s->base[n - 1] == '/')
		s->base[--n] = '\0';
	s->http = http_client_create(o, e);
	if (!s->http) {
		service_destroy(s);
		return e && e->code ? e->code : EXIT_BACKEND;
	}
	*out = s;
	return 0;
}

int service_open_endpoint(const char *url, long timeout_ms,
			  struct service **out, struct err *e)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return err_set(e, EXIT_INPUT, "%s: the model service's URL must start "
			       "with http:// or https://", url);
	struct http_options o = {
		.timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS,
		.max_response = SERVICE_MAX_ANSWER,
	};
	return service_create(url, &o, out, e);
}

int service_open_kube(struct kubeconfig *kc, const char *ns, const char *name,
		      long timeout_ms, struct service **out, struct err *e)
{
	*out = NULL;
	int rc = kubeconfig_refresh(kc, false, NULL, e);
	if (rc)
		return rc;
	char *ns_esc = http_escape(ns), *name_esc = http_escape(name);
	char *base = NULL;
	if (!ns_esc || !name_esc ||
	    asprintf(&base, "%s/api/v1/namespaces/%s/services/%s:80/proxy",
		     kc->server, ns_esc, name_esc) < 0) {
		base = NULL;
		rc = err_set(e, EXIT_BACKEND, "out of memory");
		goto out;
	}
	struct http_options o;
	kubeconfig_http_options(kc, &o);
	o.timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	o.max_response = SERVICE_MAX_ANSWER;
	rc = service_create(base, &o, out, e);
out:
	free(ns_esc);
	free(name_esc);
	free(base);
	return rc;
}

void service_destroy(struct service *s)
{
	if (!s)
		return;
	http_client_destroy(s->http);
	free(s->base);
	free(s);
}

const char *service_base_url(const struct service *s)
{
	return s->base;
}

struct http_client *service_http(struct service *s)
{
	return s->http;
}

/* METHOD BASE+PATH; a 2xx answer's body stays in R for the caller. Errors
 * read "model service at URL: ...". */
static int call(struct service *s, const char *method, const char *path,
		const char *body, size_t max, struct http_response *r,
		struct err *e)
{
	char url[2048];
	if ((size_t)snprintf(url, sizeof url, "%s%s", s->base, path) >= sizeof url)
		return err_set(e, EXIT_INPUT, "model service URL too long");
	struct http_request req = {
		.method = method, .url = url, .body = body,
		.body_len = body ? strlen(body) : 0,
	};
	int rc = http_do(s->http, &req, r, e);
	if (rc)
		return err_prefix(e, "model service");
	if (r->len > max)
		return err_set(e, EXIT_BACKEND, "model service: %s %s: answer larger than %zu bytes",
			       method, url, max);
	return 0;
}

/* Copies the string KEY of OBJ into BUF, sanitised for a terminal; "" when
 * absent. */
static void copy_str(const cJSON *obj, const char *key, char *buf, size_t size)
{
	const char *v = json_str(obj, key);
	sanitize_text(v ? v : "", v ? strlen(v) : 0, buf, size);
}

int service_parse_health(const char *body, size_t len,
			 struct service_health *h, struct err *e)
{
	memset(h, 0, sizeof *h);
	h->model_loaded = true;
	cJSON *root = json_parse(body ? body : "", len, "/health answer", e);
	if (!root)
		return EXIT_BACKEND;
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		rc = err_set(e, EXIT_BACKEND, "/health answer: not a JSON object");
		goto out;
	}
	copy_str(root, "status", h->status, sizeof h->status);
	copy_str(root, "version", h->version, sizeof h->version);
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(root, "model_loaded");
	if (cJSON_IsBool(ml))
		h->model_loaded = cJSON_IsTrue(ml);
	if (h->status[0] && strcmp(h->status, "healthy") != 0 &&
	    strcmp(h->status, "ok") != 0 && strcmp(h->status, "up") != 0) {
		rc = err_set(e, EXIT_BACKEND, "/health: unhealthy: %s", h->status);
		goto out;
	}
	if (!h->model_loaded)
		rc = err_set(e, EXIT_BACKEND, "/health: the model is not loaded");
out:
	cJSON_Delete(root);
	return rc;
}

int service_parse_info(const char *body, size_t len, struct service_info *i,
		       struct err *e)
{
	memset(i, 0, sizeof *i);
	cJSON *root = json_parse(body ? body : "", len, "/model/info answer", e);
	if (!root)
		return EXIT_BACKEND;
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		rc = err_set(e, EXIT_BACKEND, "/model/info answer: not a JSON object");
		goto out;
	}
	copy_str(root, "model", i->model, sizeof i->model);
	copy_str(root, "version", i->version, sizeof i->version);
	copy_str(root, "image", i->image, sizeof i->image);
	if (!json_str(root, "version"))
		rc = err_set(e, EXIT_BACKEND, "/model/info answer: no \"version\" string");
out:
	cJSON_Delete(root);
	return rc;
}

int service_parse_predictions(const char *body, size_t len, size_t n,
			      double *out, struct err *e)
{
	cJSON *root = json_parse(body ? body : "", len, "/predict answer", e);
	if (!root)
		return EXIT_BACKEND;
	int rc = 0;
	const cJSON *arr = root;
	/* {"predictions": [...]} is accepted too, as some services wrap. */
	if (cJSON_IsObject(root) && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "predictions")))
		arr = cJSON_GetObjectItemCaseSensitive(root, "predictions");
	if (!cJSON_IsArray(arr)) {
		rc = err_set(e, EXIT_BACKEND, "/predict answer: not a JSON array");
		goto out;
	}
	size_t got = (size_t)cJSON_GetArraySize(arr);
	if (got != n) {
		rc = err_set(e, EXIT_BACKEND, "/predict answer: %zu predictions for %zu records",
			     got, n);
		goto out;
	}
	size_t k = 0;
	const cJSON *item;
	cJSON_ArrayForEach(item, arr) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(item, "churn_probability");
		if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0 && p->valuedouble <= 1)) {
			rc = err_set(e, EXIT_BACKEND, "/predict answer: [%zu]: no churn_probability "
				     "in [0, 1]", k);
			goto out;
		}
		out[k++] = p->valuedouble;
	}
out:
	cJSON_Delete(root);
	return rc;
}

int service_health(struct service *s, struct service_health *h, struct err *e)
{
	struct http_response r = {0};
	memset(h, 0, sizeof *h);
	int rc = call(s, "GET", "/health", NULL, SERVICE_MAX_SMALL, &r, e);
	if (rc == 0 && (rc = service_parse_health(r.body, r.len, h, e)))
		err_prefix(e, "model service at %s", s->base);
	http_response_finish(&r);
	return rc;
}

int service_model_info(struct service *s, struct service_info *i, struct err *e)
{
	struct http_response r = {0};
	memset(i, 0, sizeof *i);
	int rc = call(s, "GET", "/model/info", NULL, SERVICE_MAX_SMALL, &r, e);
	if (rc == 0 && (rc = service_parse_info(r.body, r.len, i, e)))
		err_prefix(e, "model service at %s", s->base);
	http_response_finish(&r);
	return rc;
}

int service_predict(struct service *s, const cJSON *records, size_t n,
		    double *out, struct err *e)
{
	if (!cJSON_IsArray(records) || (size_t)cJSON_GetArraySize(records) != n)
		return err_set(e, EXIT_INPUT, "predict: records must be an array of %zu", n);
	const cJSON *item = records->child;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < SERVICE_MAX_BATCH ? n - done : SERVICE_MAX_BATCH;
		cJSON *batch = cJSON_CreateArray();
		if (!batch)
			return err_set(e, EXIT_BACKEND, "out of memory");
		for (size_t j = 0; j < k; j++, item = item->next)
			cJSON_AddItemToArray(batch, cJSON_CreateObjectReference(item->child));
		char *body = cJSON_PrintUnformatted(batch);
		cJSON_Delete(batch);
		if (!body)
			return err_set(e, EXIT_BACKEND, "out of memory");
		struct http_response r = {0};
		int rc = call(s, "POST", "/predict", body, SERVICE_MAX_ANSWER, &r, e);
		free(body);
		if (rc == 0 && (rc = service_parse_predictions(r.body, r.len, k, out + done, e)))
			err_prefix(e, "model service at %s", s->base);
		http_response_finish(&r);
		if (rc)
			return rc;
		done += k;
	}
	return 0;
}

/* --- records --------------------------------------------------------------- */

static cJSON *cell_value(const char *v, bool numeric_hint, bool typed)
{
	if (!v || !*v || strcmp(v, "NA") == 0)
		return cJSON_CreateNull();
	double d;
	if ((!typed || numeric_hint) && num_parse(v, &d) && isfinite(d))
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(v);
}

int service_records_from_csv(const char *path, const struct schema *s,
			     size_t max, cJSON **records, float **rows,
			     size_t *n, struct err *e)
{
	struct csv_reader *rd = NULL;
	struct schema_binding b = {0};
	struct csv_record rec;
	char **names = NULL;
	size_t ncols = 0, count = 0;
	float *x = NULL;
	int rc = 0;

	*records = NULL;
	*n = 0;
	if (rows)
		*rows = NULL;
	if (max == 0 || max > SERVICE_MAX_RECORDS)
		max = SERVICE_MAX_RECORDS;
	cJSON *arr = cJSON_CreateArray();
	rd = csv_reader_open(path, e);
	if (!arr || !rd) {
		rc = rd ? err_set(e, EXIT_INPUT, "out of memory") : EXIT_INPUT;
		goto out;
	}
	int got = csv_reader_next(rd, &rec, e);
	if (got <= 0) {
		rc = got < 0 ? EXIT_INPUT : err_set(e, EXIT_INPUT, "%s: empty file", path);
		goto out;
	}
	if (s && (rc = schema_bind(&b, s, &rec, path, e)))
		goto out;
	ncols = rec.n;
	names = calloc(ncols, sizeof *names);
	if (!names) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	for (size_t j = 0; j < ncols; j++)
		if (!(names[j] = strdup(rec.fields[j]))) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	if (s && rows && !(x = malloc(max * s->nfeatures * sizeof *x))) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	while (count < max && (got = csv_reader_next(rd, &rec, e)) > 0) {
		if (rec.n != ncols) {
			rc = err_set(e, EXIT_INPUT, "%s: line %zu: %zu fields where the header has %zu",
				     path, rec.line, rec.n, ncols);
			goto out;
		}
		cJSON *obj = cJSON_CreateObject();
		if (!obj) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
		cJSON_AddItemToArray(arr, obj);
		if (s) {
			if (x && (rc = schema_encode(&b, &rec, x + count * s->nfeatures, e)))
				goto out;
			for (size_t i = 0; i < s->nfeatures; i++)
				cJSON_AddItemToObject(obj, s->features[i].name,
					cell_value(rec.fields[b.col[i]],
						   s->features[i].type == SCHEMA_NUMERIC, true));
		} else {
			for (size_t j = 0; j < ncols; j++)
				cJSON_AddItemToObject(obj, names[j],
						      cell_value(rec.fields[j], false, false));
		}
		count++;
	}
	if (got < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	if (count == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: no records after the header", path);
		goto out;
	}
	*records = arr;
	arr = NULL;
	*n = count;
	if (rows) {
		*rows = x;
		x = NULL;
	}
out:
	for (size_t j = 0; names && j < ncols; j++)
		free(names[j]);
	free(names);
	free(x);
	cJSON_Delete(arr);
	schema_binding_finish(&b);
	csv_reader_close(rd);
	return rc;
}

/* The typical value of feature F as a JSON value and a model input. */
static cJSON *typical_of(const struct schema_feature *f, float *code)
{
	if (f->type == SCHEMA_CATEGORICAL) {
		long c = f->has_typical ? schema_level_code(f, f->typical_level) : 0;
		if (c < 0 || (size_t)c >= f->nlevels)
			c = 0;
		*code = (float)c;
		return cJSON_CreateString(f->levels[c]);
	}
	double v = f->has_typical ? f->typical
		 : f->has_range ? (f->min + f->max) / 2 : NAN;
	if (isnan(v)) {
		*code = NAN;
		return cJSON_CreateNull();
	}
	*code = (float)v;
	return cJSON_CreateNumber(v);
}

int service_records_from_schema(const struct schema *s, size_t max,
				cJSON **records, float **rows, size_t *n,
				struct err *e)
{
	size_t nf = s->nfeatures, total = 1;
	*records = NULL;
	*n = 0;
	if (rows)
		*rows = NULL;
	for (size_t i = 0; i < nf; i++)
		if (s->features[i].type == SCHEMA_CATEGORICAL)
			total += s->features[i].nlevels - 1;
	if (max == 0 || max > SERVICE_MAX_RECORDS)
		max = SERVICE_MAX_RECORDS;
	if (total > max)
		total = max;
	float *x = malloc(total * nf * sizeof *x);
	cJSON *arr = cJSON_CreateArray();
	if (!x || !arr)
		goto oom;
	size_t count = 0;
	/* i = 0: the typical customer; then feature i - 1 at each level l. */
	for (size_t i = 0; i <= nf && count < total; i++) {
		const struct schema_feature *vf = i == 0 ? NULL : &s->features[i - 1];
		size_t nvar = !vf ? 1 : vf->type == SCHEMA_CATEGORICAL ? vf->nlevels : 0;
		for (size_t l = 0; l < nvar && count < total; l++) {
			cJSON *obj = cJSON_CreateObject();
			if (!obj)
				goto oom;
			cJSON_AddItemToArray(arr, obj);
			float *row = x + count * nf;
			bool same = false;
			for (size_t j = 0; j < nf; j++) {
				const struct schema_feature *f = &s->features[j];
				cJSON *v;
				if (vf && j == i - 1) {
					v = cJSON_CreateString(f->levels[l]);
					row[j] = (float)l;
					float t;
					cJSON_Delete(typical_of(f, &t));
					same = t == (float)l;
				} else {
					v = typical_of(f, &row[j]);
				}
				if (!v)
					goto oom;
				cJSON_AddItemToObject(obj, f->name, v);
			}
			if (same) {
				/* The typical customer already has this level. */
				cJSON_DeleteItemFromArray(arr, (int)count);
				continue;
			}
			count++;
		}
	}
	*records = arr;
	*n = count;
	if (rows)
		*rows = x;
	else
		free(x);
	return 0;
oom:
	free(x);
	cJSON_Delete(arr);
	return err_set(e, EXIT_INPUT, "out of memory");
}
