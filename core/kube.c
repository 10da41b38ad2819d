#include "kube.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "json.h"

#define KUBE_MAX_RESPONSE ((size_t)32 << 20)
#define KUBE_MAX_EVENT ((size_t)4 << 20)
#define KUBE_WRITE_ATTEMPTS 4   /* a write that meets a 409 is tried this often */
#define KUBE_WATCH_FAILURES 5   /* consecutive broken watches before giving up */
#define KUBE_WATCH_SECONDS 300  /* one watch request; renewed when it ends */

static const char *const SKIP_ANNOTATIONS[] = {
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
	"deployment.kubernetes.io/revision-history",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"deprecated.deployment.rollback.to",
};

struct kube_client {
	struct kubeconfig *kc;
	struct http_client *http;
	const atomic_bool *cancel;
};

/* Copies the server's text SRC into DST (SIZE bytes) with every control
 * byte (ESC included) and DEL made a space, as http_server_message does:
 * words from a server must not reach a terminal as escape sequences. */
static void server_words(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
	for (char *q = dst; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
}

/* --- the client ------------------------------------------------------------ */

static int make_http(struct kube_client *k, struct err *e)
{
	struct http_options o;
	memset(&o, 0, sizeof o);
	o.max_response = KUBE_MAX_RESPONSE;
	o.user_agent = "churnops/0.1 (kubernetes client)";
	kubeconfig_http_options(k->kc, &o);
	struct http_client *h = http_client_create(&o, e);
	if (!h)
		return e && e->code ? e->code : EXIT_BACKEND;
	http_client_destroy(k->http);
	k->http = h;
	http_client_set_cancel(h, k->cancel);
	return 0;
}

int kube_client_create(struct kubeconfig *kc, struct kube_client **out,
		       struct err *e)
{
	*out = NULL;
	struct kube_client *k = calloc(1, sizeof *k);
	if (!k) {
		kubeconfig_destroy(kc);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	k->kc = kc;
	int rc = kubeconfig_refresh(kc, false, NULL, e);
	if (!rc)
		rc = make_http(k, e);
	if (rc) {
		kube_client_destroy(k);
		return rc;
	}
	*out = k;
	return 0;
}

void kube_client_destroy(struct kube_client *k)
{
	if (!k)
		return;
	http_client_destroy(k->http);
	kubeconfig_destroy(k->kc);
	free(k);
}

const struct kubeconfig *kube_client_config(const struct kube_client *k)
{
	return k->kc;
}

void kube_client_set_cancel(struct kube_client *k, const atomic_bool *cancel)
{
	k->cancel = cancel;
	http_client_set_cancel(k->http, cancel);
}

/* Brings credentials up to date; a changed token or certificate means a new
 * HTTP handle (TLS settings are fixed per handle). */
static int refresh(struct kube_client *k, bool force, struct err *e)
{
	bool changed = false;
	int rc = kubeconfig_refresh(k->kc, force, &changed, e);
	if (rc)
		return rc;
	return changed ? make_http(k, e) : 0;
}

/* What a request path asks for, in RBAC terms: the verb, the resource
 * ("deployments.apps", "deployments.apps/scale"), the namespace and name. */
struct request_desc {
	char verb[16];
	char resource[128];
	char ns[128];
	char name[256];
};

static void describe_request(const char *method, const char *path,
			     struct request_desc *d)
{
	memset(d, 0, sizeof *d);
	char p[1024];
	snprintf(p, sizeof p, "%s", path);
	char *q = strchr(p, '?');
	bool watch = q && (strstr(q, "watch=true") || strstr(q, "watch=1"));
	if (q)
		*q = '\0';
	const char *group = "";
	char *parts[12];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(p, "/", &save); t && n < 12; t = strtok_r(NULL, "/", &save))
		parts[n++] = t;
	size_t i = 0;
	if (n > 0 && strcmp(parts[0], "api") == 0) {
		i = 2;
	} else if (n > 2 && strcmp(parts[0], "apis") == 0) {
		group = parts[1];
		i = 3;
	}
	if (i + 1 < n && strcmp(parts[i], "namespaces") == 0) {
		snprintf(d->ns, sizeof d->ns, "%s", parts[i + 1]);
		i += 2;
	}
	const char *res = i < n ? parts[i] : "";
	const char *name = i + 1 < n ? parts[i + 1] : NULL;
	const char *sub = i + 2 < n ? parts[i + 2] : NULL;
	snprintf(d->resource, sizeof d->resource, "%s%s%s%s%s", res, group[0] ? "." : "",
		 group, sub ? "/" : "", sub ? sub : "");
	if (name)
		snprintf(d->name, sizeof d->name, "%s", name);
	const char *verb = "get";
	if (strcmp(method, "GET") == 0)
		verb = name ? "get" : watch ? "watch" : "list";
	else if (strcmp(method, "PATCH") == 0)
		verb = "patch";
	else if (strcmp(method, "PUT") == 0)
		verb = "update";
	else if (strcmp(method, "POST") == 0)
		verb = "create";
	else if (strcmp(method, "DELETE") == 0)
		verb = "delete";
	snprintf(d->verb, sizeof d->verb, "%s", verb);
}

/* kube_status_error, with the API SERVER's URL (may be NULL) named after the
 * status: "(HTTP 500 from https://host:6443)". */
static int status_error(const char *method, const char *path, long status,
			const char *body, size_t len, const char *where,
			const char *server, struct err *e)
{
	struct request_desc d;
	describe_request(method, path, &d);
	char object[640];
	snprintf(object, sizeof object, "%s%s%s%s%s%s", d.resource, d.name[0] ? " \"" : "",
		 d.name, d.name[0] ? "\"" : "", d.ns[0] ? " in namespace " : "", d.ns);
	char reason[64] = "";
	char msg[700] = "";
	cJSON *st = body ? json_parse(body, len, "Status", NULL) : NULL;
	if (st && json_str(st, "reason"))
		server_words(reason, sizeof reason, json_str(st, "reason"));
	cJSON_Delete(st);
	http_server_message(body, len, msg, sizeof msg);
	const char *from = server ? " from " : "";
	if (!server)
		server = "";
	if (status == 403)
		return err_set(e, EXIT_BACKEND,
			       "forbidden: the credentials of %s may not %s %s%s%s (server%s%s: %s)",
			       where, d.verb, d.resource, d.ns[0] ? " in namespace " : "", d.ns,
			       server[0] ? " " : "", server, msg[0] ? msg : "Forbidden");
	if (status == 401)
		return err_set(e, EXIT_BACKEND,
			       "unauthorized: the server refused the credentials of %s (%s %s%s%s)",
			       where, d.verb, object, from, server);
	return err_set(e, EXIT_BACKEND, "%s %s: %s%s%s (HTTP %ld%s%s)", d.verb, object,
		       reason[0] ? reason : "", reason[0] ? ": " : "",
		       msg[0] ? msg : "no message", status, from, server);
}

int kube_status_error(const char *method, const char *path, long status,
		      const char *body, size_t len, const char *where, struct err *e)
{
	return status_error(method, path, status, body, len, where, NULL, e);
}

/* Rewrites E after a failed call: the verb and object first, the server's
 * reason and message after, and for 401/403 what the user lacks. */
static int explain_failure(struct kube_client *k, const char *method,
			   const char *path, const struct http_response *r,
			   struct err *e)
{
	struct request_desc d;
	describe_request(method, path, &d);
	char where[600];
	kubeconfig_where(k->kc, where, sizeof where);
	char object[640];
	snprintf(object, sizeof object, "%s%s%s%s%s%s", d.resource, d.name[0] ? " \"" : "",
		 d.name, d.name[0] ? "\"" : "", d.ns[0] ? " in namespace " : "", d.ns);
	if (r->error != HTTP_ERR_STATUS) {
		/* Transport errors: http's message names the URL and what failed. */
		return err_prefix(e, "%s %s (%s)", d.verb, object, where);
	}
	return status_error(method, path, r->status, r->body, r->len, where,
			    k->kc->server, e);
}

/* Object names reach the URL unescaped, so the path (before any query) may
 * only hold what Kubernetes names can: this refuses "../" and friends coming
 * from a configuration or a command line. */
static bool safe_path(const char *path)
{
	if (strstr(path, "..") || strstr(path, "//"))
		return false;
	for (const char *p = path; *p && *p != '?'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '.' || c == '-' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

static bool can_refresh(const struct kubeconfig *kc)
{
	return !kc->plain_http && (kc->exec || kc->token_file);
}

int kube_call(struct kube_client *k, const char *method, const char *path,
	      const char *content_type, const cJSON *body, cJSON **out,
	      long *status, struct err *e)
{
	cJSON *ignored = NULL;
	cJSON **dst = out ? out : &ignored;
	struct http_response r;
	memset(&r, 0, sizeof r);
	*dst = NULL;
	if (status)
		*status = 0;
	if (!safe_path(path)) {
		size_t n = strcspn(path, "?");
		return err_set(e, EXIT_INPUT, "%.*s: not a valid Kubernetes object path "
			       "(names are lowercase letters, digits, '-' and '.')", (int)n, path);
	}
	int rc = refresh(k, false, e);
	if (rc)
		return rc;
	char *url = NULL;
	if (asprintf(&url, "%s%s", k->kc->server, path) < 0)
		return err_set(e, EXIT_BACKEND, "out of memory");
	rc = http_json(k->http, method, url, content_type, body, dst, &r, e);
	if (rc && r.error == HTTP_ERR_STATUS && r.status == 401 && can_refresh(k->kc)) {
		http_response_finish(&r);
		rc = refresh(k, true, e);
		if (!rc)
			rc = http_json(k->http, method, url, content_type, body, dst, &r, e);
	}
	if (status)
		*status = r.status;
	if (rc)
		rc = explain_failure(k, method, path, &r, e);
	http_response_finish(&r);
	free(url);
	cJSON_Delete(ignored);
	return rc;
}

/* --- parsing --------------------------------------------------------------- */

static char *dup_str(const cJSON *obj, const char *key)
{
	const char *s = json_str(obj, key);
	return s ? strdup(s) : NULL;
}

static const cJSON *at(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Counts, generations, codes and weights are int32 or int64 in the API. A
 * server's number beyond +-KUBE_NUM_MAX is clamped rather than cast (a cast
 * past LONG_MAX is undefined), which also leaves room to add and subtract
 * them. */
#define KUBE_NUM_MAX 1e15

static long num_at(const cJSON *obj, const char *key)
{
	double v = json_num(obj, key, 0);
	if (!(v >= -KUBE_NUM_MAX))
		v = v != v ? 0 : -KUBE_NUM_MAX;
	else if (v > KUBE_NUM_MAX)
		v = KUBE_NUM_MAX;
	return (long)v;
}

static const char *annotation(const cJSON *obj, const char *key)
{
	return json_str(at(at(obj, "metadata"), "annotations"), key);
}

static long revision_of(const cJSON *obj, bool *ok)
{
	const char *s = annotation(obj, "deployment.kubernetes.io/revision");
	*ok = true;
	if (!s)
		return 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end)
		*ok = false;
	return v;
}

struct req { char *key; char *text; };

static int req_cmp(const void *a, const void *b)
{
	return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

/* A LabelSelector as text, requirements sorted by key as apimachinery does. */
static char *selector_text(const cJSON *sel)
{
	const cJSON *ml = at(sel, "matchLabels");
	const cJSON *me = at(sel, "matchExpressions");
	size_t n = (size_t)cJSON_GetArraySize(ml) + (size_t)cJSON_GetArraySize(me);
	struct req *reqs = calloc(n + 1, sizeof *reqs);
	char *out = NULL;
	size_t i = 0, total = 1;
	if (!reqs)
		return NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, ml) {
		/* a label is a string member: "matchLabels": ["a"] has no keys */
		if (!cJSON_IsString(it) || !it->string)
			continue;
		reqs[i].key = it->string;
		if (asprintf(&reqs[i].text, "%s=%s", it->string, it->valuestring) < 0) {
			reqs[i].text = NULL;
			goto out;
		}
		total += strlen(reqs[i++].text) + 1;
	}
	cJSON_ArrayForEach(it, me) {
		const char *key = json_str(it, "key");
		const char *op = json_str(it, "operator");
		if (!key || !op)
			continue;
		char vals[512] = "";
		size_t o = 0;
		const cJSON *v;
		cJSON_ArrayForEach(v, at(it, "values"))
			if (cJSON_IsString(v) && o < sizeof vals)
				o += (size_t)snprintf(vals + o, sizeof vals - o, "%s%s", o ? "," : "",
						      v->valuestring);
		reqs[i].key = (char *)key;
		int w;
		if (strcmp(op, "In") == 0)
			w = asprintf(&reqs[i].text, "%s in (%s)", key, vals);
		else if (strcmp(op, "NotIn") == 0)
			w = asprintf(&reqs[i].text, "%s notin (%s)", key, vals);
		else if (strcmp(op, "Exists") == 0)
			w = asprintf(&reqs[i].text, "%s", key);
		else
			w = asprintf(&reqs[i].text, "!%s", key);
		if (w < 0) {
			reqs[i].text = NULL;
			goto out;
		}
		total += strlen(reqs[i++].text) + 1;
	}
	qsort(reqs, i, sizeof *reqs, req_cmp);
	out = malloc(total);
	if (out) {
		out[0] = '\0';
		for (size_t j = 0; j < i; j++) {
			if (j)
				strcat(out, ",");
			strcat(out, reqs[j].text);
		}
	}
out:
	for (size_t j = 0; j < n; j++)
		free(reqs[j].text);
	free(reqs);
	return out;
}

void kube_deployment_finish(struct kube_deployment *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->namespace);
	free(d->uid);
	free(d->resource_version);
	free(d->created);
	free(d->change_cause);
	free(d->selector);
	for (size_t i = 0; i < d->ncontainers; i++) {
		free(d->containers[i].name);
		free(d->containers[i].image);
	}
	free(d->containers);
	for (size_t i = 0; i < d->nconditions; i++) {
		free(d->conditions[i].type);
		free(d->conditions[i].status);
		free(d->conditions[i].reason);
		free(d->conditions[i].message);
		free(d->conditions[i].last_update);
	}
	free(d->conditions);
	cJSON_Delete(d->raw);
	memset(d, 0, sizeof *d);
}

int kube_deployment_from_json(const cJSON *obj, struct kube_deployment *d,
			      struct err *e)
{
	memset(d, 0, sizeof *d);
	const cJSON *md = at(obj, "metadata");
	const cJSON *spec = at(obj, "spec");
	const cJSON *st = at(obj, "status");
	if (!json_str(md, "name"))
		return err_set(e, EXIT_BACKEND, "the server sent a Deployment without metadata.name");
	d->raw = cJSON_Duplicate(obj, true);
	d->name = dup_str(md, "name");
	d->namespace = dup_str(md, "namespace");
	d->uid = dup_str(md, "uid");
	d->resource_version = dup_str(md, "resourceVersion");
	d->created = dup_str(md, "creationTimestamp");
	d->generation = num_at(md, "generation");
	d->observed_generation = num_at(st, "observedGeneration");
	d->has_spec_replicas = json_has_num(spec, "replicas");
	d->spec_replicas = d->has_spec_replicas ? num_at(spec, "replicas") : 1;
	d->replicas = num_at(st, "replicas");
	d->updated = num_at(st, "updatedReplicas");
	d->ready = num_at(st, "readyReplicas");
	d->available = num_at(st, "availableReplicas");
	d->unavailable = num_at(st, "unavailableReplicas");
	d->paused = cJSON_IsTrue(at(spec, "paused"));
	bool ok;
	d->revision = revision_of(obj, &ok);
	const char *cause = annotation(obj, "kubernetes.io/change-cause");
	d->change_cause = cause ? strdup(cause) : NULL;
	d->selector = selector_text(at(spec, "selector"));
	bool oom = !d->raw || !d->name || !d->selector;
	const cJSON *cs = at(at(at(spec, "template"), "spec"), "containers");
	size_t nc = (size_t)cJSON_GetArraySize(cs);
	if (nc) {
		d->containers = calloc(nc, sizeof *d->containers);
		oom |= !d->containers;
		const cJSON *c;
		cJSON_ArrayForEach(c, cs) {
			if (!d->containers)
				break;
			d->containers[d->ncontainers].name = dup_str(c, "name");
			d->containers[d->ncontainers].image = dup_str(c, "image");
			d->ncontainers++;
		}
	}
	const cJSON *conds = at(st, "conditions");
	size_t nd = (size_t)cJSON_GetArraySize(conds);
	if (nd) {
		d->conditions = calloc(nd, sizeof *d->conditions);
		oom |= !d->conditions;
		const cJSON *c;
		cJSON_ArrayForEach(c, conds) {
			if (!d->conditions)
				break;
			struct kube_condition *k = &d->conditions[d->nconditions++];
			k->type = dup_str(c, "type");
			k->status = dup_str(c, "status");
			k->reason = dup_str(c, "reason");
			k->message = dup_str(c, "message");
			k->last_update = dup_str(c, "lastUpdateTime");
		}
	}
	if (oom) {
		kube_deployment_finish(d);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	return 0;
}

const struct kube_condition *kube_deployment_condition(const struct kube_deployment *d,
						       const char *type)
{
	for (size_t i = 0; i < d->nconditions; i++)
		if (d->conditions[i].type && strcmp(d->conditions[i].type, type) == 0)
			return &d->conditions[i];
	return NULL;
}

static char *path_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *path_fmt(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		p = NULL;
	va_end(ap);
	return p;
}

static int get_json(struct kube_client *k, const char *path, cJSON **out, struct err *e)
{
	if (!path)
		return err_set(e, EXIT_BACKEND, "out of memory");
	return kube_call(k, "GET", path, NULL, NULL, out, NULL, e);
}

int kube_get_deployment(struct kube_client *k, const char *ns, const char *name,
			struct kube_deployment *d, struct err *e)
{
	memset(d, 0, sizeof *d);
	char *path = path_fmt("/apis/apps/v1/namespaces/%s/deployments/%s", ns, name);
	cJSON *obj = NULL;
	int rc = get_json(k, path, &obj, e);
	free(path);
	if (!rc)
		rc = kube_deployment_from_json(obj, d, e);
	cJSON_Delete(obj);
	return rc;
}

/* --- rollout status --------------------------------------------------------- */

const char *kube_rollout_state_name(enum kube_rollout_state s)
{
	switch (s) {
	case KUBE_ROLLOUT_COMPLETE: return "complete";
	case KUBE_ROLLOUT_WAIT_SPEC: return "waiting-spec";
	case KUBE_ROLLOUT_WAIT_UPDATED: return "updating";
	case KUBE_ROLLOUT_WAIT_OLD: return "terminating-old";
	case KUBE_ROLLOUT_WAIT_AVAILABLE: return "waiting-available";
	case KUBE_ROLLOUT_DEADLINE_EXCEEDED: return "deadline-exceeded";
	case KUBE_ROLLOUT_REVISION_MISMATCH: return "revision-mismatch";
	}
	return "unknown";
}

/* kubectl's DeploymentStatusViewer.Status, check for check and word for
 * word: the order matters (the deadline is only judged once the controller
 * has observed the current generation). */
void kube_rollout_status(const struct kube_deployment *d, long want_revision,
			 struct kube_rollout *r)
{
	memset(r, 0, sizeof *r);
	if (want_revision > 0 && d->revision != want_revision) {
		r->state = KUBE_ROLLOUT_REVISION_MISMATCH;
		r->done = r->failed = true;
		snprintf(r->message, sizeof r->message,
			 "desired revision (%ld) is different from the running revision (%ld)",
			 want_revision, d->revision);
		return;
	}
	if (d->generation > d->observed_generation) {
		r->state = KUBE_ROLLOUT_WAIT_SPEC;
		snprintf(r->message, sizeof r->message,
			 "Waiting for deployment spec update to be observed...");
		return;
	}
	const struct kube_condition *c = kube_deployment_condition(d, "Progressing");
	if (c && c->reason && strcmp(c->reason, "ProgressDeadlineExceeded") == 0) {
		r->state = KUBE_ROLLOUT_DEADLINE_EXCEEDED;
		r->done = r->failed = true;
		snprintf(r->message, sizeof r->message,
			 "deployment \"%s\" exceeded its progress deadline", d->name);
		return;
	}
	if (d->has_spec_replicas && d->updated < d->spec_replicas) {
		r->state = KUBE_ROLLOUT_WAIT_UPDATED;
		snprintf(r->message, sizeof r->message,
			 "Waiting for deployment \"%s\" rollout to finish: %ld out of %ld new replicas have been updated...",
			 d->name, d->updated, d->spec_replicas);
		return;
	}
	if (d->replicas > d->updated) {
		r->state = KUBE_ROLLOUT_WAIT_OLD;
		snprintf(r->message, sizeof r->message,
			 "Waiting for deployment \"%s\" rollout to finish: %ld old replicas are pending termination...",
			 d->name, d->replicas - d->updated);
		return;
	}
	if (d->available < d->updated) {
		r->state = KUBE_ROLLOUT_WAIT_AVAILABLE;
		snprintf(r->message, sizeof r->message,
			 "Waiting for deployment \"%s\" rollout to finish: %ld of %ld updated replicas are available...",
			 d->name, d->available, d->updated);
		return;
	}
	r->state = KUBE_ROLLOUT_COMPLETE;
	r->done = true;
	snprintf(r->message, sizeof r->message, "deployment \"%s\" successfully rolled out",
		 d->name);
}

/* --- list and watch --------------------------------------------------------- */

/* KUBE_WATCH_STOP is negative because EXIT_CHECK, a failure, is 1. */
#define WATCH_STOP KUBE_WATCH_STOP
typedef kube_watch_fn watch_fn;

struct watch_state {
	watch_fn fn;
	void *arg;
	char *line;     /* bytes of an event not yet ended by '\n' */
	size_t len, cap;
	char rv[128];   /* last resourceVersion seen */
	bool gone;      /* 410: list again */
	int verdict;    /* what fn said last */
	bool events;    /* at least one event arrived on this stream */
};

static int handle_event(struct watch_state *w, const char *text, size_t len,
			struct err *e)
{
	cJSON *ev = json_parse(text, len, "watch event", e);
	if (!ev)
		return EXIT_BACKEND;
	int rc = 0;
	const char *type = json_str(ev, "type");
	const cJSON *obj = at(ev, "object");
	if (!type || !cJSON_IsObject(obj)) {
		rc = err_set(e, EXIT_BACKEND, "watch: an event without type or object");
		goto out;
	}
	if (strcmp(type, "ERROR") == 0) {
		long code = num_at(obj, "code");
		if (code == 410) {
			w->gone = true;
			rc = WATCH_STOP;
			goto out;
		}
		const char *m = json_str(obj, "message");
		char words[700];
		server_words(words, sizeof words, m ? m : "no message");
		rc = err_set(e, EXIT_BACKEND, "watch: the server sent an error: %s (code %ld)",
			     words, code);
		goto out;
	}
	const char *rv = json_str(at(obj, "metadata"), "resourceVersion");
	if (rv)
		snprintf(w->rv, sizeof w->rv, "%s", rv);
	w->events = true;
	if (strcmp(type, "BOOKMARK") == 0)
		goto out;
	rc = w->fn(type, obj, w->arg, e);
	w->verdict = rc;
out:
	cJSON_Delete(ev);
	return rc;
}

/* Splits the stream on newlines: an event may come in pieces, or several
 * in one read. */
static bool on_watch_data(const char *data, size_t len, void *arg, struct err *e)
{
	struct watch_state *w = arg;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (w->len + 1 >= w->cap) {
				if (w->cap >= KUBE_MAX_EVENT) {
					err_set(e, EXIT_BACKEND, "watch: an event larger than %zu bytes",
						KUBE_MAX_EVENT);
					return false;
				}
				size_t nc = w->cap ? w->cap * 2 : 8192;
				char *nl = realloc(w->line, nc);
				if (!nl) {
					err_set(e, EXIT_BACKEND, "out of memory");
					return false;
				}
				w->line = nl;
				w->cap = nc;
			}
			w->line[w->len++] = data[i];
			continue;
		}
		size_t n = w->len;
		w->len = 0;
		if (n == 0)
			continue;
		int rc = handle_event(w, w->line, n, e);
		if (rc)
			return false;
	}
	return true;
}

struct kube_watch_stream {
	struct watch_state w;
};

struct kube_watch_stream *kube_watch_stream_create(kube_watch_fn fn, void *arg)
{
	struct kube_watch_stream *s = calloc(1, sizeof *s);
	if (s) {
		s->w.fn = fn;
		s->w.arg = arg;
	}
	return s;
}

bool kube_watch_stream_feed(struct kube_watch_stream *s, const char *data, size_t len,
			    struct err *e)
{
	return on_watch_data(data, len, &s->w, e);
}

int kube_watch_stream_verdict(const struct kube_watch_stream *s)
{
	return s->w.verdict;
}

bool kube_watch_stream_gone(const struct kube_watch_stream *s)
{
	return s->w.gone;
}

const char *kube_watch_stream_version(const struct kube_watch_stream *s)
{
	return s->w.rv;
}

void kube_watch_stream_destroy(struct kube_watch_stream *s)
{
	if (!s)
		return;
	free(s->w.line);
	free(s);
}

/* Sleeps FAILURES * 500 ms in short steps, so a cancel is noticed. */
static void backoff(const struct kube_client *k, int failures)
{
	for (int i = 0; i < failures * 5; i++) {
		if (k->cancel && atomic_load(k->cancel))
			return;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* The reflector loop behind kube_watch (see kube.h). */
static int list_watch(struct kube_client *k, const char *collection,
		      const char *selector_query, long timeout_s, watch_fn fn,
		      void *arg, struct err *e)
{
	struct watch_state w;
	memset(&w, 0, sizeof w);
	w.fn = fn;
	w.arg = arg;
	time_t deadline = timeout_s > 0 ? time(NULL) + timeout_s : 0;
	int failures = 0;
	char last_failure[ERR_MSG_MAX] = ""; /* while failures > 0 */
	int rc = 0;
	bool need_list = true;
	const char *sep = selector_query[0] ? "&" : "";
	for (;;) {
		if (k->cancel && atomic_load(k->cancel)) {
			rc = err_set(e, EXIT_BACKEND, "watch %s: cancelled", collection);
			goto out;
		}
		if (need_list) {
			cJSON *list = NULL;
			char *path = path_fmt("%s?%s", collection, selector_query);
			rc = get_json(k, path, &list, e);
			free(path);
			if (rc)
				goto out;
			const char *rv = json_str(at(list, "metadata"), "resourceVersion");
			snprintf(w.rv, sizeof w.rv, "%s", rv ? rv : "");
			const cJSON *item;
			rc = 0;
			cJSON_ArrayForEach(item, at(list, "items")) {
				rc = fn("ADDED", item, arg, e);
				if (rc)
					break;
			}
			cJSON_Delete(list);
			if (rc == WATCH_STOP) {
				rc = 0;
				goto out;
			}
			if (rc)
				goto out;
			need_list = false;
		}
		long left = deadline ? (long)(deadline - time(NULL)) : KUBE_WATCH_SECONDS;
		if (deadline && left <= 0) {
			/* A deadline spent on a failing server is the server's failure,
			 * not a rollout that took too long. */
			if (failures > 0)
				rc = err_set(e, EXIT_BACKEND, "timed out waiting for the condition: "
					     "watch %s: %s", collection, last_failure);
			else
				rc = err_set(e, EXIT_CHECK, "timed out waiting for the condition");
			goto out;
		}
		long secs = left < KUBE_WATCH_SECONDS ? left : KUBE_WATCH_SECONDS;
		char *rv_esc = http_escape(w.rv);
		char *path = rv_esc ? path_fmt("%s?%s%swatch=true&allowWatchBookmarks=true"
					       "&resourceVersion=%s&timeoutSeconds=%ld",
					       collection, selector_query, sep, rv_esc, secs)
				    : NULL;
		free(rv_esc);
		if (path && !safe_path(path)) {
			rc = err_set(e, EXIT_INPUT, "%s: not a valid Kubernetes object path", collection);
			free(path);
			goto out;
		}
		char *url = path ? path_fmt("%s%s", k->kc->server, path) : NULL;
		if (!url) {
			free(path);
			rc = err_set(e, EXIT_BACKEND, "out of memory");
			goto out;
		}
		rc = refresh(k, false, e);
		if (rc) {
			free(path);
			free(url);
			goto out;
		}
		struct http_request req = { .method = "GET", .url = url,
					    .timeout_ms = (secs + 30) * 1000 };
		struct http_response r;
		w.gone = false;
		w.verdict = 0;
		w.events = false;
		w.len = 0;
		rc = http_stream(k->http, &req, on_watch_data, &w, &r, e);
		free(url);
		if (rc == 0 || w.gone || w.verdict) {
			/* A clean end (the server's timeout) or an answer we asked for. */
			http_response_finish(&r);
			free(path);
			failures = 0;
			if (w.verdict) {
				rc = w.verdict == WATCH_STOP ? 0 : w.verdict;
				if (rc && e)
					e->code = rc; /* the stream's abort said EXIT_BACKEND */
				goto out;
			}
			need_list = w.gone;
			err_clear(e);
			continue;
		}
		if (r.error == HTTP_ERR_STATUS && r.status == 410) {
			http_response_finish(&r);
			free(path);
			need_list = true;
			err_clear(e);
			continue;
		}
		if (r.error == HTTP_ERR_STATUS && r.status == 401 && can_refresh(k->kc)) {
			http_response_finish(&r);
			free(path);
			rc = refresh(k, true, e);
			if (rc)
				goto out;
			if (++failures >= KUBE_WATCH_FAILURES) {
				rc = err_set(e, EXIT_BACKEND, "watch %s: unauthorized", collection);
				goto out;
			}
			continue;
		}
		if (r.error == HTTP_ERR_CLOSED || r.error == HTTP_ERR_TIMEOUT ||
		    r.error == HTTP_ERR_REFUSED) {
			/* The connection broke mid-stream, or the server is restarting:
			 * watch again from the last version seen, after a pause that
			 * grows. Only repeated failures without progress count. */
			http_response_finish(&r);
			free(path);
			failures = w.events ? 0 : failures + 1;
			if (failures >= KUBE_WATCH_FAILURES) {
				rc = err_prefix(e, "watch %s: failed %d times in a row", collection,
						failures);
				goto out;
			}
			snprintf(last_failure, sizeof last_failure, "%s", e ? e->msg : "failed");
			err_clear(e);
			backoff(k, failures);
			continue;
		}
		if (r.error == HTTP_ERR_ABORTED) {
			/* on_watch_data refused the data and left its reason in E. */
			http_response_finish(&r);
			free(path);
			rc = e && e->code ? e->code : EXIT_BACKEND;
			goto out;
		}
		rc = explain_failure(k, "GET", path, &r, e);
		http_response_finish(&r);
		free(path);
		goto out;
	}
out:
	free(w.line);
	return rc;
}

int kube_watch(struct kube_client *k, const char *collection, const char *query,
	       long timeout_s, kube_watch_fn fn, void *arg, struct err *e)
{
	return list_watch(k, collection, query ? query : "", timeout_s, fn, arg, e);
}

struct rollout_wait {
	long want_revision;
	kube_rollout_fn fn;
	void *arg;
	struct kube_rollout *r;
	bool stopped;
};

static int on_rollout_event(const char *type, const cJSON *obj, void *arg,
			    struct err *e)
{
	struct rollout_wait *w = arg;
	if (strcmp(type, "DELETED") == 0) {
		w->r->done = w->r->failed = true;
		snprintf(w->r->message, sizeof w->r->message, "object has been deleted");
		return err_set(e, EXIT_CHECK, "object has been deleted");
	}
	struct kube_deployment d;
	int rc = kube_deployment_from_json(obj, &d, e);
	if (rc)
		return rc;
	kube_rollout_status(&d, w->want_revision, w->r);
	if (w->fn && !w->fn(&d, w->r, w->arg))
		w->stopped = true;
	kube_deployment_finish(&d);
	if (w->r->failed)
		return err_set(e, EXIT_CHECK, "%s", w->r->message);
	return w->r->done || w->stopped ? WATCH_STOP : 0;
}

int kube_rollout_wait(struct kube_client *k, const char *ns, const char *name,
		      long want_revision, long timeout_s, kube_rollout_fn fn,
		      void *arg, struct kube_rollout *r, struct err *e)
{
	struct kube_rollout local;
	struct rollout_wait w = { want_revision, fn, arg, r ? r : &local, false };
	memset(w.r, 0, sizeof *w.r);
	char *collection = path_fmt("/apis/apps/v1/namespaces/%s/deployments", ns);
	char *fs = path_fmt("metadata.name=%s", name);
	char *fs_esc = fs ? http_escape(fs) : NULL;
	char *query = fs_esc ? path_fmt("fieldSelector=%s", fs_esc) : NULL;
	int rc;
	if (!collection || !query)
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	else
		rc = list_watch(k, collection, query, timeout_s, on_rollout_event, &w, e);
	if (!rc && !w.r->done && !w.stopped)
		rc = err_set(e, EXIT_CHECK, "deployment \"%s\" not found in namespace %s", name, ns);
	free(collection);
	free(fs);
	free(fs_esc);
	free(query);
	return rc;
}

/* --- revision history -------------------------------------------------------- */

void kube_history_finish(struct kube_history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->revs[i].replicaset);
		free(h->revs[i].images);
		free(h->revs[i].change_cause);
		free(h->revs[i].created);
		cJSON_Delete(h->revs[i].template);
	}
	free(h->revs);
	memset(h, 0, sizeof *h);
}

static bool controlled_by(const cJSON *obj, const char *uid)
{
	const cJSON *ref;
	cJSON_ArrayForEach(ref, at(at(obj, "metadata"), "ownerReferences")) {
		const char *u = json_str(ref, "uid");
		if (u && uid && strcmp(u, uid) == 0 && cJSON_IsTrue(at(ref, "controller")))
			return true;
	}
	return false;
}

/* A pod template with the pod-template-hash label and the always-null
 * creationTimestamp removed, for comparison and for undo. */
static cJSON *template_without_hash(const cJSON *tmpl)
{
	cJSON *t = cJSON_Duplicate(tmpl, true);
	if (!t)
		return NULL;
	cJSON *md = cJSON_GetObjectItemCaseSensitive(t, "metadata");
	cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
	cJSON_DeleteItemFromObjectCaseSensitive(labels, "pod-template-hash");
	cJSON_DeleteItemFromObjectCaseSensitive(md, "creationTimestamp");
	return t;
}

static bool templates_equal(const cJSON *a, const cJSON *b)
{
	cJSON *x = template_without_hash(a), *y = template_without_hash(b);
	bool eq = x && y && cJSON_Compare(x, y, true);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}

static int rev_cmp(const void *a, const void *b)
{
	long x = ((const struct kube_revision *)a)->revision;
	long y = ((const struct kube_revision *)b)->revision;
	return (x > y) - (x < y);
}

static char *images_of(const cJSON *tmpl)
{
	char buf[2048] = "";
	size_t o = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, at(at(tmpl, "spec"), "containers")) {
		const char *n = json_str(c, "name"), *img = json_str(c, "image");
		if (o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s=%s", o ? "," : "",
					      n ? n : "?", img ? img : "?");
	}
	return strdup(buf);
}

int kube_history(struct kube_client *k, const struct kube_deployment *d,
		 struct kube_history *h, struct err *e)
{
	memset(h, 0, sizeof *h);
	char *sel = http_escape(d->selector ? d->selector : "");
	char *path = sel ? path_fmt("/apis/apps/v1/namespaces/%s/replicasets?labelSelector=%s",
				    d->namespace, sel) : NULL;
	free(sel);
	cJSON *list = NULL;
	int rc = get_json(k, path, &list, e);
	free(path);
	if (rc)
		return rc;
	rc = kube_history_from_json(d, list, h, e);
	cJSON_Delete(list);
	return rc;
}

int kube_history_from_json(const struct kube_deployment *d, const cJSON *list,
			   struct kube_history *h, struct err *e)
{
	memset(h, 0, sizeof *h);
	const cJSON *tmpl = at(at(d->raw, "spec"), "template");
	const cJSON *rs;
	size_t cap = (size_t)cJSON_GetArraySize(at(list, "items"));
	h->revs = calloc(cap ? cap : 1, sizeof *h->revs);
	if (!h->revs)
		return err_set(e, EXIT_BACKEND, "out of memory");
	cJSON_ArrayForEach(rs, at(list, "items")) {
		if (!controlled_by(rs, d->uid))
			continue;
		bool ok;
		long rev = revision_of(rs, &ok);
		if (!ok)
			continue; /* kubectl skips a revision it cannot parse */
		struct kube_revision *r = &h->revs[h->n++];
		const cJSON *md = at(rs, "metadata");
		const cJSON *t = at(at(rs, "spec"), "template");
		const char *cause = annotation(rs, "kubernetes.io/change-cause");
		r->revision = rev;
		r->replicaset = dup_str(md, "name");
		r->created = dup_str(md, "creationTimestamp");
		r->change_cause = cause && cause[0] ? strdup(cause) : NULL;
		r->images = images_of(t);
		r->replicas = num_at(at(rs, "spec"), "replicas");
		r->current = templates_equal(t, tmpl);
		r->template = cJSON_Duplicate(t, true);
	}
	qsort(h->revs, h->n, sizeof *h->revs, rev_cmp);
	return 0;
}

/* --- pods ----------------------------------------------------------------------- */

void kube_pods_finish(struct kube_pods *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->pods[i].name);
		free(p->pods[i].phase);
		free(p->pods[i].node);
		free(p->pods[i].created);
		free(p->pods[i].replicaset);
		free(p->pods[i].image);
	}
	free(p->pods);
	memset(p, 0, sizeof *p);
}

static int pod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kube_pod *)a)->name, ((const struct kube_pod *)b)->name);
}

int kube_list_pods(struct kube_client *k, const char *ns, const char *selector,
		   struct kube_pods *p, struct err *e)
{
	memset(p, 0, sizeof *p);
	char *sel = http_escape(selector ? selector : "");
	char *path = sel ? path_fmt("/api/v1/namespaces/%s/pods?labelSelector=%s", ns, sel) : NULL;
	free(sel);
	cJSON *list = NULL;
	int rc = get_json(k, path, &list, e);
	free(path);
	if (rc)
		return rc;
	rc = kube_pods_from_json(list, p, e);
	cJSON_Delete(list);
	return rc;
}

int kube_pods_from_json(const cJSON *list, struct kube_pods *p, struct err *e)
{
	memset(p, 0, sizeof *p);
	size_t cap = (size_t)cJSON_GetArraySize(at(list, "items"));
	p->pods = calloc(cap ? cap : 1, sizeof *p->pods);
	if (!p->pods)
		return err_set(e, EXIT_BACKEND, "out of memory");
	const cJSON *pod;
	cJSON_ArrayForEach(pod, at(list, "items")) {
		const cJSON *md = at(pod, "metadata"), *st = at(pod, "status");
		if (!json_str(md, "name"))
			continue;
		struct kube_pod *x = &p->pods[p->n++];
		x->name = dup_str(md, "name");
		x->created = dup_str(md, "creationTimestamp");
		x->phase = dup_str(st, "phase");
		x->node = dup_str(at(pod, "spec"), "nodeName");
		const cJSON *ref;
		cJSON_ArrayForEach(ref, at(md, "ownerReferences"))
			if (cJSON_IsTrue(at(ref, "controller")) && !x->replicaset)
				x->replicaset = dup_str(ref, "name");
		const cJSON *c;
		cJSON_ArrayForEach(c, at(st, "conditions")) {
			const char *t = json_str(c, "type"), *s = json_str(c, "status");
			if (t && s && strcmp(t, "Ready") == 0)
				x->ready = strcmp(s, "True") == 0;
		}
		cJSON_ArrayForEach(c, at(st, "containerStatuses")) {
			x->ncontainers++;
			x->ready_containers += cJSON_IsTrue(at(c, "ready"));
			long restarts = num_at(c, "restartCount");
			/* saturate: a hostile list can repeat a huge count */
			if (restarts > 0)
				x->restarts = x->restarts > LONG_MAX - restarts ? LONG_MAX
										: x->restarts + restarts;
		}
		const cJSON *first = cJSON_GetArrayItem(at(at(pod, "spec"), "containers"), 0);
		x->image = dup_str(first, "image");
		if (!x->ncontainers)
			x->ncontainers = cJSON_GetArraySize(at(at(pod, "spec"), "containers"));
	}
	qsort(p->pods, p->n, sizeof *p->pods, pod_cmp);
	return 0;
}

/* --- Services and VirtualServices --------------------------------------------- */

int kube_service_selector(struct kube_client *k, const char *ns, const char *svc,
			  char **selector, const char *key, char **value,
			  struct err *e)
{
	*selector = NULL;
	if (value)
		*value = NULL;
	char *path = path_fmt("/api/v1/namespaces/%s/services/%s", ns, svc);
	cJSON *obj = NULL;
	int rc = get_json(k, path, &obj, e);
	free(path);
	if (rc)
		return rc;
	rc = kube_service_selector_from_json(obj, selector, key, value, e);
	cJSON_Delete(obj);
	return rc;
}

int kube_service_selector_from_json(const cJSON *obj, char **selector, const char *key,
				    char **value, struct err *e)
{
	*selector = NULL;
	if (value)
		*value = NULL;
	cJSON *wrap = cJSON_CreateObject();
	const cJSON *sel = at(at(obj, "spec"), "selector");
	if (wrap && sel)
		cJSON_AddItemToObject(wrap, "matchLabels", cJSON_Duplicate(sel, true));
	*selector = wrap ? selector_text(wrap) : NULL;
	if (key && value) {
		const char *v = json_str(sel, key);
		*value = v ? strdup(v) : NULL;
	}
	cJSON_Delete(wrap);
	return *selector ? 0 : err_set(e, EXIT_BACKEND, "out of memory");
}

int kube_service_switch(struct kube_client *k, const char *ns, const char *svc,
			const char *key, const char *value, struct err *e)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(body, "spec");
	cJSON *sel = cJSON_AddObjectToObject(spec, "selector");
	char *path = path_fmt("/api/v1/namespaces/%s/services/%s?fieldManager=churnops", ns, svc);
	int rc;
	if (!sel || !cJSON_AddStringToObject(sel, key, value) || !path)
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	else
		rc = kube_call(k, "PATCH", path, "application/merge-patch+json", body, NULL, NULL, e);
	free(path);
	cJSON_Delete(body);
	return rc;
}

void kube_routes_finish(struct kube_routes *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->routes[i].host);
		free(r->routes[i].subset);
	}
	free(r->routes);
	free(r->api_version);
	memset(r, 0, sizeof *r);
}

/* Reads the VirtualService, trying networking.istio.io/v1 and then v1beta1
 * (meshes before Istio 1.22 serve no v1). */
static int get_virtualservice(struct kube_client *k, const char *ns, const char *name,
			      cJSON **obj, const char **version, struct err *e)
{
	static const char *const versions[] = { "v1", "v1beta1" };
	int rc = 0;
	for (size_t i = 0; i < 2; i++) {
		char *path = path_fmt("/apis/networking.istio.io/%s/namespaces/%s/virtualservices/%s",
				      versions[i], ns, name);
		long status = 0;
		if (!path)
			return err_set(e, EXIT_BACKEND, "out of memory");
		rc = kube_call(k, "GET", path, NULL, NULL, obj, &status, e);
		free(path);
		*version = versions[i];
		/* A 404 for the version itself says "the server could not find the
		 * requested resource"; a missing object names the object. */
		if (rc == 0 || status != 404 || (e && strstr(e->msg, "not found")))
			return rc;
	}
	return rc;
}

static int routes_from(const cJSON *vs, struct kube_routes *r)
{
	size_t cap = 0;
	const cJSON *http;
	cJSON_ArrayForEach(http, at(at(vs, "spec"), "http"))
		cap += (size_t)cJSON_GetArraySize(at(http, "route"));
	r->routes = calloc(cap ? cap : 1, sizeof *r->routes);
	if (!r->routes)
		return -1;
	size_t hi = 0;
	cJSON_ArrayForEach(http, at(at(vs, "spec"), "http")) {
		size_t ri = 0;
		const cJSON *route;
		cJSON_ArrayForEach(route, at(http, "route")) {
			struct kube_route *x = &r->routes[r->n++];
			const cJSON *dst = at(route, "destination");
			x->http_index = hi;
			x->route_index = ri++;
			x->host = dup_str(dst, "host");
			x->subset = dup_str(dst, "subset");
			x->weight = json_has_num(route, "weight") ? num_at(route, "weight") : -1;
		}
		hi++;
	}
	return 0;
}

int kube_routes_from_json(const cJSON *vs, struct kube_routes *r, struct err *e)
{
	memset(r, 0, sizeof *r);
	if (routes_from(vs, r) != 0) {
		kube_routes_finish(r);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	return 0;
}

int kube_virtualservice_routes(struct kube_client *k, const char *ns,
			       const char *name, struct kube_routes *r,
			       struct err *e)
{
	memset(r, 0, sizeof *r);
	cJSON *vs = NULL;
	const char *version = NULL;
	int rc = get_virtualservice(k, ns, name, &vs, &version, e);
	if (!rc && (routes_from(vs, r) != 0 || !(r->api_version = strdup(version))))
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	cJSON_Delete(vs);
	if (rc)
		kube_routes_finish(r);
	return rc;
}

static cJSON *patch_op(const char *op, const char *path, cJSON *value)
{
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", op) ||
	    !cJSON_AddStringToObject(o, "path", path)) {
		cJSON_Delete(o);
		cJSON_Delete(value);
		return NULL;
	}
	cJSON_AddItemToObject(o, "value", value);
	return o;
}

/* The JSON-patch op that turns the patch into an optimistic-concurrency
 * write: the patched object carries the resourceVersion we read, so the API
 * server answers 409 Conflict if the object changed since. */
static cJSON *rv_guard(const char *rv)
{
	return patch_op("replace", "/metadata/resourceVersion", cJSON_CreateString(rv));
}

int kube_virtualservice_weights(struct kube_client *k, const char *ns,
				const char *name, size_t http_index,
				const char *const *subsets, const long *weights,
				size_t n, struct err *e)
{
	int rc = 0;
	for (int attempt = 1; attempt <= KUBE_WRITE_ATTEMPTS; attempt++) {
		cJSON *vs = NULL;
		const char *version = NULL;
		struct kube_routes routes;
		memset(&routes, 0, sizeof routes);
		rc = get_virtualservice(k, ns, name, &vs, &version, e);
		if (rc)
			return rc;
		cJSON *ops = cJSON_CreateArray();
		const char *rv = json_str(at(vs, "metadata"), "resourceVersion");
		if (!ops || routes_from(vs, &routes) != 0 || !rv) {
			cJSON_Delete(ops);
			cJSON_Delete(vs);
			kube_routes_finish(&routes);
			return err_set(e, EXIT_BACKEND, "virtualservice %s/%s: out of memory or no resourceVersion",
				       ns, name);
		}
		cJSON_AddItemToArray(ops, rv_guard(rv));
		for (size_t i = 0; i < n && !rc; i++) {
			const struct kube_route *hit = NULL;
			for (size_t j = 0; j < routes.n; j++)
				if (routes.routes[j].http_index == http_index && routes.routes[j].subset &&
				    strcmp(routes.routes[j].subset, subsets[i]) == 0)
					hit = &routes.routes[j];
			if (!hit) {
				rc = err_set(e, EXIT_CHECK,
					     "virtualservice %s in namespace %s: http route %zu has no "
					     "destination with subset \"%s\"", name, ns, http_index, subsets[i]);
				break;
			}
			char p[128];
			snprintf(p, sizeof p, "/spec/http/%zu/route/%zu/destination/subset",
				 http_index, hit->route_index);
			cJSON_AddItemToArray(ops, patch_op("test", p, cJSON_CreateString(subsets[i])));
			snprintf(p, sizeof p, "/spec/http/%zu/route/%zu/weight", http_index,
				 hit->route_index);
			/* "add" sets the weight whether or not it was there. */
			cJSON_AddItemToArray(ops, patch_op("add", p, cJSON_CreateNumber((double)weights[i])));
		}
		kube_routes_finish(&routes);
		cJSON_Delete(vs);
		if (rc) {
			cJSON_Delete(ops);
			return rc;
		}
		char *path = path_fmt("/apis/networking.istio.io/%s/namespaces/%s/virtualservices/%s"
				      "?fieldManager=churnops", version, ns, name);
		long status = 0;
		rc = path ? kube_call(k, "PATCH", path, "application/json-patch+json", ops, NULL,
				      &status, e)
			  : err_set(e, EXIT_BACKEND, "out of memory");
		free(path);
		cJSON_Delete(ops);
		/* 409: changed since we read it; 422: a test op failed because the
		 * routes moved. Both mean read again. */
		if (!rc || (status != 409 && status != 422))
			return rc;
	}
	return err_prefix(e, "gave up after %d attempts", KUBE_WRITE_ATTEMPTS);
}

/* --- writes on Deployments ------------------------------------------------------ */

static char *deployment_path(const char *ns, const char *name, const char *suffix)
{
	return path_fmt("/apis/apps/v1/namespaces/%s/deployments/%s%s", ns, name, suffix);
}

int kube_set_image(struct kube_client *k, const char *ns, const char *name,
		   const char *container, const char *image, const char *version,
		   const char *actor, struct err *e)
{
	struct kube_deployment d;
	int rc = kube_get_deployment(k, ns, name, &d, e);
	if (rc)
		return rc;
	bool found = false;
	char names[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < d.ncontainers; i++) {
		found |= d.containers[i].name && strcmp(d.containers[i].name, container) == 0;
		if (o < sizeof names)
			o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i ? ", " : "",
					      d.containers[i].name ? d.containers[i].name : "?");
	}
	if (!found) {
		kube_deployment_finish(&d);
		return err_set(e, EXIT_INPUT, "deployment %s in namespace %s has no container \"%s\" (it has: %s)",
			       name, ns, container, names);
	}
	/* The body kubectl set image sends, plus the change-cause annotation. */
	cJSON *body = cJSON_CreateObject();
	cJSON *ann = cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "metadata"), "annotations");
	char cause[768];
	snprintf(cause, sizeof cause, "churnops: set image %s=%s (version %s) by %s", container,
		 image, version ? version : "unknown", actor ? actor : "unknown");
	cJSON_AddStringToObject(ann, "kubernetes.io/change-cause", cause);
	cJSON *pspec = cJSON_AddObjectToObject(
		cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "spec"), "template"), "spec");
	cJSON *order = cJSON_AddArrayToObject(pspec, "$setElementOrder/containers");
	for (size_t i = 0; i < d.ncontainers; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", d.containers[i].name ? d.containers[i].name : "");
		cJSON_AddItemToArray(order, c);
	}
	cJSON *cs = cJSON_AddArrayToObject(pspec, "containers");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "image", image);
	cJSON_AddStringToObject(c, "name", container);
	cJSON_AddItemToArray(cs, c);
	char *path = deployment_path(ns, name, "?fieldManager=churnops");
	if (!path || !cs || !ann)
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	else
		rc = kube_call(k, "PATCH", path, "application/strategic-merge-patch+json", body,
			       NULL, NULL, e);
	free(path);
	cJSON_Delete(body);
	kube_deployment_finish(&d);
	return rc;
}

static bool skipped_annotation(const char *key)
{
	for (size_t i = 0; i < sizeof SKIP_ANNOTATIONS / sizeof SKIP_ANNOTATIONS[0]; i++)
		if (strcmp(key, SKIP_ANNOTATIONS[i]) == 0)
			return true;
	return false;
}

/* One attempt of kubectl's rollback (polymorphichelpers/rollback.go). */
static int undo_once(struct kube_client *k, const char *ns, const char *name,
		     long to_revision, struct kube_undo_result *res, long *status,
		     struct err *e)
{
	struct kube_deployment d;
	struct kube_history h;
	memset(&h, 0, sizeof h);
	*status = 0;
	int rc = kube_get_deployment(k, ns, name, &d, e);
	if (rc)
		return rc;
	res->from_revision = d.revision;
	rc = kube_history(k, &d, &h, e);
	if (rc)
		goto out;
	/* The target: the given revision, or the second-highest of all. */
	const struct kube_revision *target = NULL;
	if (to_revision > 0) {
		for (size_t i = 0; i < h.n; i++)
			if (h.revs[i].revision == to_revision)
				target = &h.revs[i];
		if (!target) {
			rc = err_set(e, EXIT_CHECK, "unable to find specified revision %ld in history",
				     to_revision);
			goto out;
		}
	} else {
		if (h.n < 2) {
			rc = err_set(e, EXIT_CHECK, "no rollout history found for deployment \"%s\"",
				     name);
			goto out;
		}
		target = &h.revs[h.n - 2];
	}
	if (d.paused) {
		rc = err_set(e, EXIT_CHECK,
			     "you cannot rollback a paused deployment; resume it first with "
			     "'churnops cluster resume' (or 'kubectl rollout resume deployment/%s') "
			     "and try again", name);
		goto out;
	}
	res->to_revision = target->revision;
	const cJSON *current = at(at(d.raw, "spec"), "template");
	if (templates_equal(target->template, current)) {
		res->skipped = true;
		goto out;
	}
	/* Annotations: the deployment's skip-list keys, then every other
	 * annotation of the ReplicaSet (the change-cause travels this way). */
	cJSON *anns = cJSON_CreateObject();
	const cJSON *a;
	cJSON_ArrayForEach(a, at(at(d.raw, "metadata"), "annotations"))
		if (skipped_annotation(a->string))
			cJSON_AddItemToObject(anns, a->string, cJSON_Duplicate(a, true));
	char *rs_path = path_fmt("/apis/apps/v1/namespaces/%s/replicasets/%s", ns,
				 target->replicaset);
	cJSON *rs = NULL;
	rc = get_json(k, rs_path, &rs, e);
	free(rs_path);
	if (rc) {
		cJSON_Delete(anns);
		goto out;
	}
	cJSON_ArrayForEach(a, at(at(rs, "metadata"), "annotations"))
		if (!skipped_annotation(a->string))
			cJSON_AddItemToObject(anns, a->string, cJSON_Duplicate(a, true));
	cJSON *tmpl = template_without_hash(at(at(rs, "spec"), "template"));
	cJSON_Delete(rs);
	cJSON *ops = cJSON_CreateArray();
	cJSON_AddItemToArray(ops, rv_guard(d.resource_version ? d.resource_version : ""));
	cJSON_AddItemToArray(ops, patch_op("replace", "/spec/template", tmpl));
	cJSON_AddItemToArray(ops, patch_op("replace", "/metadata/annotations", anns));
	char *path = deployment_path(ns, name, "");
	rc = path ? kube_call(k, "PATCH", path, "application/json-patch+json", ops, NULL, status, e)
		  : err_set(e, EXIT_BACKEND, "out of memory");
	free(path);
	cJSON_Delete(ops);
out:
	kube_history_finish(&h);
	kube_deployment_finish(&d);
	return rc;
}

int kube_undo(struct kube_client *k, const char *ns, const char *name,
	      long to_revision, struct kube_undo_result *res, struct err *e)
{
	if (to_revision < 0)
		return err_set(e, EXIT_INPUT, "revision must be a positive integer: %ld", to_revision);
	int rc = 0;
	for (int attempt = 1; attempt <= KUBE_WRITE_ATTEMPTS; attempt++) {
		long status = 0;
		memset(res, 0, sizeof *res);
		rc = undo_once(k, ns, name, to_revision, res, &status, e);
		if (rc == 0 || status != 409)
			return rc;
	}
	return err_prefix(e, "gave up after %d attempts", KUBE_WRITE_ATTEMPTS);
}

int kube_scale(struct kube_client *k, const char *ns, const char *name,
	       long replicas, struct err *e)
{
	if (replicas < 0)
		return err_set(e, EXIT_INPUT, "replicas must be 0 or more, not %ld", replicas);
	cJSON *body = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(body, "spec");
	char *path = deployment_path(ns, name, "/scale");
	int rc;
	if (!spec || !cJSON_AddNumberToObject(spec, "replicas", (double)replicas) || !path)
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	else
		rc = kube_call(k, "PATCH", path, "application/merge-patch+json", body, NULL, NULL, e);
	free(path);
	cJSON_Delete(body);
	return rc;
}

int kube_set_paused(struct kube_client *k, const char *ns, const char *name,
		    bool paused, struct err *e)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *spec = cJSON_AddObjectToObject(body, "spec");
	char *path = deployment_path(ns, name, "?fieldManager=churnops");
	int rc;
	/* kubectl sends true to pause and null (remove the field) to resume. */
	cJSON *v = paused ? cJSON_CreateTrue() : cJSON_CreateNull();
	if (!spec || !v || !path) {
		cJSON_Delete(v);
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	} else {
		cJSON_AddItemToObject(spec, "paused", v);
		rc = kube_call(k, "PATCH", path, "application/strategic-merge-patch+json", body,
			       NULL, NULL, e);
	}
	free(path);
	cJSON_Delete(body);
	return rc;
}
