/* churnops cluster: the deployment as Kubernetes sees it, and the few
 * writes a runbook needs (set image, undo, scale, pause, resume), through
 * core/kube. Environments are core/envs' built-in ones (DESIGN.md's cluster
 * model) until the configuration file exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "config.h"
#include "envs.h"
#include "kube.h"
#include "kubeconfig.h"
#include "sanitize.h"

static const struct cli_option options[] = {
	{ "env", "ENV", "environment: staging or production" },
	{ "kubeconfig", "FILE", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" },
	{ "context", "NAME", "kubeconfig context (default: its current-context)" },
	{ "namespace", "NS", "namespace (default: the environment's, else the context's)" },
	{ "deployment", "NAME", "deployment (default: churn-prediction)" },
	{ "container", "NAME", "container for set-image (default: churn-prediction)" },
	{ "version", "VERSION", "set-image: model version, put into the image template" },
	{ "image", "IMAGE", "set-image: the full image instead of --version" },
	{ "actor", "NAME", "set-image: who asks, for the change-cause (default: $USER)" },
	{ "to-revision", "N", "undo: revision to restore (default: the previous one)" },
	{ "revision", "N", "wait: fail unless this revision is the one rolling out" },
	{ "replicas", "N", "scale: desired replicas" },
	{ "timeout", "SECONDS", "wait: give up after this long (default 600; 0 waits for ever)" },
	{ "service", "NAME", "traffic, switch: blue-green Service (default churn-prediction-bg)" },
	{ "live", "COLOUR", "switch: the colour the Service should select (version=COLOUR)" },
	{ "virtualservice", "NAME", "traffic, weights: Istio VirtualService (default churn-prediction)" },
	{ "weights", "SUBSET=W,...", "weights: e.g. stable=90,canary=10" },
	{ "route", "N", "weights: index of the http route (default 0)" },
	{ "wait", NULL, "set-image, undo, scale: wait for the rollout as wait does" },
	{ "json", NULL, "print JSON" },
	{ NULL, NULL, NULL },
};

static int run(int argc, char **argv);

const struct cli_command cli_cluster_command = {
	.name = "cluster",
	.synopsis = "status|history|pods|wait|traffic|set-image|undo|scale|pause|resume|switch|weights [OPTIONS]",
	.summary = "the model's deployment on Kubernetes: status, revisions, pods, rollouts",
	.options = options,
	.run = run,
};

struct args {
	const char *action;
	const struct envs_env *env;
	const char *kubeconfig, *context, *namespace, *deployment, *container;
	const char *version, *image, *actor;
	const char *service, *live, *virtualservice, *weights;
	long to_revision, revision, replicas, timeout, route;
	bool has_replicas, wait, json;
};

/* The environment whose object names apply: --env's, else the first
 * built-in one (the names are the same in every built-in environment; only
 * the namespace differs, and without --env it comes from the context). */
static const struct envs_env *names_of(const struct args *a)
{
	size_t n;
	return a->env ? a->env : &envs_defaults(&n)[0];
}

/* --- output helpers ----------------------------------------------------------- */

/* kubectl's HumanDuration for an RFC 3339 timestamp: "45s", "3m20s", "5h". */
static void age_of(const char *ts, char *buf, size_t size)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, size, "<unknown>");
		return;
	}
	long s = (long)difftime(time(NULL), timegm(&tm));
	if (s < 0)
		s = 0;
	long m = s / 60, h = m / 60;
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (m < 10 && s % 60)
		snprintf(buf, size, "%ldm%lds", m, s % 60);
	else if (m < 180)
		snprintf(buf, size, "%ldm", m);
	else if (h < 8 && m % 60)
		snprintf(buf, size, "%ldh%ldm", h, m % 60);
	else if (h < 48)
		snprintf(buf, size, "%ldh", h);
	else
		snprintf(buf, size, "%ldd", h / 24);
}

/* Text from the server made safe for the terminal (core/sanitize), in one
 * of a few rotating buffers: enough for the arguments of one printf. */
static const char *safe(const char *s)
{
	enum { NBUF = 8, BUFSIZE = 1024 };
	static char bufs[NBUF][BUFSIZE];
	static unsigned next;
	char *b = bufs[next++ % NBUF];
	if (!s)
		s = "";
	sanitize_text(s, strlen(s), b, BUFSIZE);
	return b;
}

static void print_json(cJSON *root)
{
	char *text = cJSON_Print(root);
	if (text) {
		printf("%s\n", text);
		free(text);
	}
	cJSON_Delete(root);
}

/* --- actions ------------------------------------------------------------------- */

static cJSON *deployment_json(const struct kube_deployment *d, const struct kube_rollout *r,
			      const struct args *a, const struct kubeconfig *kc)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "context", kc->context);
	cJSON_AddStringToObject(o, "server", kc->server);
	cJSON_AddStringToObject(o, "namespace", d->namespace ? d->namespace : "");
	cJSON_AddStringToObject(o, "deployment", d->name);
	if (a->env)
		cJSON_AddStringToObject(o, "env", a->env->name);
	cJSON_AddNumberToObject(o, "generation", (double)d->generation);
	cJSON_AddNumberToObject(o, "observed_generation", (double)d->observed_generation);
	cJSON_AddNumberToObject(o, "revision", (double)d->revision);
	cJSON_AddBoolToObject(o, "paused", d->paused);
	if (d->change_cause)
		cJSON_AddStringToObject(o, "change_cause", d->change_cause);
	else
		cJSON_AddNullToObject(o, "change_cause");
	cJSON *rep = cJSON_AddObjectToObject(o, "replicas");
	cJSON_AddNumberToObject(rep, "desired", (double)d->spec_replicas);
	cJSON_AddNumberToObject(rep, "current", (double)d->replicas);
	cJSON_AddNumberToObject(rep, "updated", (double)d->updated);
	cJSON_AddNumberToObject(rep, "ready", (double)d->ready);
	cJSON_AddNumberToObject(rep, "available", (double)d->available);
	cJSON_AddNumberToObject(rep, "unavailable", (double)d->unavailable);
	cJSON *cs = cJSON_AddArrayToObject(o, "containers");
	const char *tmpl = names_of(a)->image_template;
	for (size_t i = 0; i < d->ncontainers; i++) {
		cJSON *c = cJSON_CreateObject();
		char *v = envs_version_from_image(tmpl, d->containers[i].image);
		cJSON_AddStringToObject(c, "name", d->containers[i].name ? d->containers[i].name : "");
		cJSON_AddStringToObject(c, "image", d->containers[i].image ? d->containers[i].image : "");
		if (v)
			cJSON_AddStringToObject(c, "version", v);
		else
			cJSON_AddNullToObject(c, "version");
		free(v);
		cJSON_AddItemToArray(cs, c);
	}
	cJSON *conds = cJSON_AddArrayToObject(o, "conditions");
	for (size_t i = 0; i < d->nconditions; i++) {
		const struct kube_condition *k = &d->conditions[i];
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "type", k->type ? k->type : "");
		cJSON_AddStringToObject(c, "status", k->status ? k->status : "");
		cJSON_AddStringToObject(c, "reason", k->reason ? k->reason : "");
		cJSON_AddStringToObject(c, "message", k->message ? k->message : "");
		cJSON_AddItemToArray(conds, c);
	}
	cJSON *ro = cJSON_AddObjectToObject(o, "rollout");
	cJSON_AddStringToObject(ro, "state", kube_rollout_state_name(r->state));
	cJSON_AddBoolToObject(ro, "done", r->done);
	cJSON_AddBoolToObject(ro, "failed", r->failed);
	cJSON_AddStringToObject(ro, "message", r->message);
	return o;
}

static int do_status(struct kube_client *k, const struct args *a, const char *ns,
		     struct err *e)
{
	struct kube_deployment d;
	int rc = kube_get_deployment(k, ns, a->deployment, &d, e);
	if (rc)
		return rc;
	struct kube_rollout r;
	kube_rollout_status(&d, 0, &r);
	const struct kubeconfig *kc = kube_client_config(k);
	if (a->json) {
		print_json(deployment_json(&d, &r, a, kc));
	} else {
		const char *tmpl = names_of(a)->image_template;
		printf("deployment %s in %s (context %s, %s)\n", safe(d.name), safe(ns),
		       safe(kc->context), safe(kc->server));
		for (size_t i = 0; i < d.ncontainers; i++) {
			char *v = envs_version_from_image(tmpl, d.containers[i].image);
			printf("  image       %s=%s", safe(d.containers[i].name),
			       safe(d.containers[i].image));
			if (v)
				printf(" (version %s)", safe(v));
			printf("\n");
			free(v);
		}
		printf("  replicas    %ld desired, %ld current, %ld updated, %ld ready, %ld available\n",
		       d.spec_replicas, d.replicas, d.updated, d.ready, d.available);
		printf("  revision    %ld (generation %ld, observed %ld)%s\n", d.revision,
		       d.generation, d.observed_generation, d.paused ? ", paused" : "");
		printf("  cause       %s\n", d.change_cause ? safe(d.change_cause) : "<none>");
		printf("  rollout     %s: %s\n", kube_rollout_state_name(r.state), safe(r.message));
		for (size_t i = 0; i < d.nconditions; i++) {
			const struct kube_condition *c = &d.conditions[i];
			printf("  condition   %s=%s %s: %s\n", safe(c->type), safe(c->status),
			       safe(c->reason), safe(c->message));
		}
	}
	rc = r.failed ? EXIT_CHECK : 0;
	if (r.failed)
		err_set(e, EXIT_CHECK, "%s", r.message);
	kube_deployment_finish(&d);
	return rc;
}

static int do_history(struct kube_client *k, const struct args *a, const char *ns,
		      struct err *e)
{
	struct kube_deployment d;
	struct kube_history h;
	int rc = kube_get_deployment(k, ns, a->deployment, &d, e);
	if (rc)
		return rc;
	rc = kube_history(k, &d, &h, e);
	if (rc) {
		kube_deployment_finish(&d);
		return rc;
	}
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", ns);
		cJSON_AddStringToObject(o, "deployment", d.name);
		cJSON *arr = cJSON_AddArrayToObject(o, "revisions");
		for (size_t i = 0; i < h.n; i++) {
			const struct kube_revision *r = &h.revs[i];
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "revision", (double)r->revision);
			cJSON_AddStringToObject(x, "replicaset", r->replicaset ? r->replicaset : "");
			cJSON_AddStringToObject(x, "images", r->images ? r->images : "");
			if (r->change_cause)
				cJSON_AddStringToObject(x, "change_cause", r->change_cause);
			else
				cJSON_AddNullToObject(x, "change_cause");
			cJSON_AddStringToObject(x, "created", r->created ? r->created : "");
			cJSON_AddNumberToObject(x, "replicas", (double)r->replicas);
			cJSON_AddBoolToObject(x, "current", r->current);
			cJSON_AddItemToArray(arr, x);
		}
		print_json(o);
	} else if (h.n == 0) {
		printf("No rollout history found.\n");
	} else {
		printf("%-9s %-8s %-6s %-46s %s\n", "REVISION", "REPLICAS", "AGE", "IMAGES",
		       "CHANGE-CAUSE");
		for (size_t i = 0; i < h.n; i++) {
			const struct kube_revision *r = &h.revs[i];
			char age[32];
			age_of(r->created, age, sizeof age);
			printf("%-9ld %-8ld %-6s %-46s %s%s\n", r->revision, r->replicas, age,
			       safe(r->images), r->change_cause ? safe(r->change_cause) : "<none>",
			       r->current ? "  (current)" : "");
		}
	}
	kube_history_finish(&h);
	kube_deployment_finish(&d);
	return 0;
}

static int do_pods(struct kube_client *k, const struct args *a, const char *ns,
		   struct err *e)
{
	struct kube_deployment d;
	struct kube_pods p;
	int rc = kube_get_deployment(k, ns, a->deployment, &d, e);
	if (rc)
		return rc;
	rc = kube_list_pods(k, ns, d.selector, &p, e);
	kube_deployment_finish(&d);
	if (rc)
		return rc;
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", ns);
		cJSON_AddStringToObject(o, "deployment", a->deployment);
		cJSON *arr = cJSON_AddArrayToObject(o, "pods");
		for (size_t i = 0; i < p.n; i++) {
			const struct kube_pod *x = &p.pods[i];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "name", x->name);
			cJSON_AddStringToObject(j, "phase", x->phase ? x->phase : "");
			cJSON_AddBoolToObject(j, "ready", x->ready);
			cJSON_AddNumberToObject(j, "ready_containers", (double)x->ready_containers);
			cJSON_AddNumberToObject(j, "containers", (double)x->ncontainers);
			cJSON_AddNumberToObject(j, "restarts", (double)x->restarts);
			cJSON_AddStringToObject(j, "node", x->node ? x->node : "");
			cJSON_AddStringToObject(j, "replicaset", x->replicaset ? x->replicaset : "");
			cJSON_AddStringToObject(j, "image", x->image ? x->image : "");
			cJSON_AddStringToObject(j, "created", x->created ? x->created : "");
			cJSON_AddItemToArray(arr, j);
		}
		print_json(o);
	} else if (p.n == 0) {
		printf("No pods found in namespace %s for deployment %s.\n", ns, a->deployment);
	} else {
		printf("%-44s %-6s %-10s %-9s %-7s %s\n", "NAME", "READY", "STATUS", "RESTARTS",
		       "AGE", "NODE");
		for (size_t i = 0; i < p.n; i++) {
			const struct kube_pod *x = &p.pods[i];
			char ready[32], age[32];
			snprintf(ready, sizeof ready, "%ld/%ld", x->ready_containers, x->ncontainers);
			age_of(x->created, age, sizeof age);
			printf("%-44s %-6s %-10s %-9ld %-7s %s\n", safe(x->name), ready,
			       safe(x->phase), x->restarts, age, safe(x->node));
		}
	}
	kube_pods_finish(&p);
	return 0;
}

struct wait_print {
	char last[256];
	bool json;
};

static bool on_progress(const struct kube_deployment *d, const struct kube_rollout *r, void *arg)
{
	(void)d;
	struct wait_print *w = arg;
	if (!w->json && !r->failed && strcmp(w->last, r->message) != 0) {
		printf("%s\n", safe(r->message));
		fflush(stdout);
	}
	snprintf(w->last, sizeof w->last, "%s", r->message);
	return true;
}

static int do_wait(struct kube_client *k, const struct args *a, const char *ns,
		   struct err *e)
{
	struct wait_print w = { "", a->json };
	struct kube_rollout r;
	int rc = kube_rollout_wait(k, ns, a->deployment, a->revision, a->timeout, on_progress,
				   &w, &r, e);
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", ns);
		cJSON_AddStringToObject(o, "deployment", a->deployment);
		cJSON_AddStringToObject(o, "state", kube_rollout_state_name(r.state));
		cJSON_AddBoolToObject(o, "done", r.done && !r.failed && rc == 0);
		cJSON_AddStringToObject(o, "message", rc && e->msg[0] ? e->msg : r.message);
		print_json(o);
	}
	return rc;
}

static const char *actor_name(const struct args *a)
{
	return config_actor(config_current(), a->actor);
}

static int do_set_image(struct kube_client *k, const struct args *a, const char *ns,
			struct err *e)
{
	const char *tmpl = names_of(a)->image_template;
	char *image = a->image ? strdup(a->image) : envs_image_for(tmpl, a->version);
	char *version = a->version ? strdup(a->version) : envs_version_from_image(tmpl, a->image);
	int rc;
	if (!image) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	rc = kube_set_image(k, ns, a->deployment, a->container, image, version, actor_name(a), e);
	if (!rc && !a->json)
		printf("deployment.apps/%s image updated: %s=%s\n", safe(a->deployment),
		       safe(a->container), safe(image));
	if (!rc && a->wait)
		rc = do_wait(k, a, ns, e);
out:
	free(image);
	free(version);
	return rc;
}

static int do_undo(struct kube_client *k, const struct args *a, const char *ns,
		   struct err *e)
{
	struct kube_undo_result res;
	int rc = kube_undo(k, ns, a->deployment, a->to_revision, &res, e);
	if (rc)
		return rc;
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", ns);
		cJSON_AddStringToObject(o, "deployment", a->deployment);
		cJSON_AddNumberToObject(o, "from_revision", (double)res.from_revision);
		cJSON_AddNumberToObject(o, "to_revision", (double)res.to_revision);
		cJSON_AddBoolToObject(o, "skipped", res.skipped);
		print_json(o);
	} else if (res.skipped) {
		printf("deployment.apps/%s skipped rollback (current template already matches revision %ld)\n",
		       a->deployment, res.to_revision);
	} else {
		printf("deployment.apps/%s rolled back to revision %ld\n", a->deployment,
		       res.to_revision);
	}
	return a->wait && !res.skipped ? do_wait(k, a, ns, e) : 0;
}

static int do_scale(struct kube_client *k, const struct args *a, const char *ns,
		    struct err *e)
{
	int rc = kube_scale(k, ns, a->deployment, a->replicas, e);
	if (!rc && !a->json)
		printf("deployment.apps/%s scaled to %ld\n", a->deployment, a->replicas);
	return !rc && a->wait ? do_wait(k, a, ns, e) : rc;
}

static int do_pause(struct kube_client *k, const struct args *a, const char *ns,
		    struct err *e)
{
	bool pause = strcmp(a->action, "pause") == 0;
	int rc = kube_set_paused(k, ns, a->deployment, pause, e);
	if (!rc && !a->json)
		printf("deployment.apps/%s %s\n", a->deployment, pause ? "paused" : "resumed");
	return rc;
}

/* Blue-green and canary state: the Service's selector and the
 * VirtualService's weights. A missing object is reported, not fatal, so a
 * cluster with only one of the two strategies still answers. */
static int do_traffic(struct kube_client *k, const struct args *a, const char *ns,
		      struct err *e)
{
	char *selector = NULL, *live = NULL;
	struct kube_routes routes;
	struct err se, ve;
	err_clear(&se);
	err_clear(&ve);
	int src = kube_service_selector(k, ns, a->service, &selector, "version", &live, &se);
	int vrc = kube_virtualservice_routes(k, ns, a->virtualservice, &routes, &ve);
	if (a->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "namespace", ns);
		cJSON *s = cJSON_AddObjectToObject(o, "service");
		cJSON_AddStringToObject(s, "name", a->service);
		if (src) {
			cJSON_AddStringToObject(s, "error", se.msg);
		} else {
			cJSON_AddStringToObject(s, "selector", selector);
			if (live)
				cJSON_AddStringToObject(s, "live", live);
			else
				cJSON_AddNullToObject(s, "live");
		}
		cJSON *v = cJSON_AddObjectToObject(o, "virtualservice");
		cJSON_AddStringToObject(v, "name", a->virtualservice);
		if (vrc) {
			cJSON_AddStringToObject(v, "error", ve.msg);
		} else {
			cJSON_AddStringToObject(v, "api_version", routes.api_version);
			cJSON *arr = cJSON_AddArrayToObject(v, "routes");
			for (size_t i = 0; i < routes.n; i++) {
				const struct kube_route *r = &routes.routes[i];
				cJSON *x = cJSON_CreateObject();
				cJSON_AddNumberToObject(x, "http", (double)r->http_index);
				cJSON_AddNumberToObject(x, "route", (double)r->route_index);
				cJSON_AddStringToObject(x, "host", r->host ? r->host : "");
				if (r->subset)
					cJSON_AddStringToObject(x, "subset", r->subset);
				else
					cJSON_AddNullToObject(x, "subset");
				if (r->weight >= 0)
					cJSON_AddNumberToObject(x, "weight", (double)r->weight);
				else
					cJSON_AddNullToObject(x, "weight");
				cJSON_AddItemToArray(arr, x);
			}
		}
		print_json(o);
	} else {
		if (src)
			printf("service %s: %s\n", a->service, se.msg);
		else
			printf("service %s selects %s (live: %s)\n", safe(a->service), safe(selector),
			       live ? safe(live) : "<none>");
		if (vrc) {
			printf("virtualservice %s: %s\n", a->virtualservice, ve.msg);
		} else {
			printf("virtualservice %s (networking.istio.io/%s)\n", a->virtualservice,
			       routes.api_version);
			for (size_t i = 0; i < routes.n; i++) {
				const struct kube_route *r = &routes.routes[i];
				printf("  http[%zu] %s/%s weight %ld\n", r->http_index,
				       safe(r->host), r->subset ? safe(r->subset) : "-",
				       r->weight < 0 ? 100 : r->weight);
			}
		}
	}
	free(selector);
	free(live);
	if (!vrc)
		kube_routes_finish(&routes);
	if (src && vrc) {
		*e = se;
		return src;
	}
	return 0;
}

static int do_switch(struct kube_client *k, const struct args *a, const char *ns,
		     struct err *e)
{
	int rc = kube_service_switch(k, ns, a->service, "version", a->live, e);
	if (!rc && !a->json)
		printf("service/%s now selects version=%s\n", a->service, a->live);
	return rc;
}

/* --weights stable=90,canary=10 */
static int do_weights(struct kube_client *k, const struct args *a, const char *ns,
		      struct err *e)
{
	enum { MAX_SUBSETS = 16 };
	char *copy = strdup(a->weights);
	const char *subsets[MAX_SUBSETS];
	long weights[MAX_SUBSETS];
	size_t n = 0;
	int rc = 0;
	if (!copy)
		return err_set(e, EXIT_INPUT, "out of memory");
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		char *end = NULL;
		long w = eq ? strtol(eq + 1, &end, 10) : -1;
		if (!eq || eq == t || !end || end == eq + 1 || *end || w < 0 || w > 100 ||
		    n == MAX_SUBSETS) {
			rc = err_set(e, EXIT_INPUT, "--weights: '%s' is not SUBSET=WEIGHT (0-100)", t);
			goto out;
		}
		*eq = '\0';
		subsets[n] = t;
		weights[n++] = w;
	}
	if (n == 0) {
		rc = err_set(e, EXIT_INPUT, "--weights: no SUBSET=WEIGHT given");
		goto out;
	}
	rc = kube_virtualservice_weights(k, ns, a->virtualservice, (size_t)a->route, subsets,
					 weights, n, e);
	if (!rc && !a->json)
		printf("virtualservice/%s weights set: %s\n", a->virtualservice, a->weights);
out:
	free(copy);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct kube_client *, const struct args *, const char *, struct err *);
	bool mutating;
} actions[] = {
	{ "history", do_history, false },
	{ "pause", do_pause, true },
	{ "pods", do_pods, false },
	{ "resume", do_pause, true },
	{ "scale", do_scale, true },
	{ "set-image", do_set_image, true },
	{ "status", do_status, false },
	{ "switch", do_switch, true },
	{ "traffic", do_traffic, false },
	{ "undo", do_undo, true },
	{ "wait", do_wait, false },
	{ "weights", do_weights, true },
};

/* --- arguments ------------------------------------------------------------------ */

static int parse(int argc, char **argv, struct args *a)
{
	const char *cmd = cli_cluster_command.name;
	memset(a, 0, sizeof *a);
	a->timeout = 600;
	if (argc < 2 || strncmp(argv[1], "--", 2) == 0) {
		if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
			cli_usage(&cli_cluster_command, true);
			return -1;
		}
		return cli_usage_error(cmd, "which action? status, history, pods, wait, traffic, "
				       "set-image, undo, scale, pause, resume, switch or weights "
				       "(churnops cluster --help)");
	}
	a->action = argv[1];
	struct cli_parser p;
	cli_parser_init(&p, &cli_cluster_command, argc - 1, argv + 1);
	const char *name, *value;
	int r;
	const char *env_name = NULL;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "env") == 0)
			env_name = value;
		else if (strcmp(name, "kubeconfig") == 0)
			a->kubeconfig = value;
		else if (strcmp(name, "context") == 0)
			a->context = value;
		else if (strcmp(name, "namespace") == 0)
			a->namespace = value;
		else if (strcmp(name, "deployment") == 0)
			a->deployment = value;
		else if (strcmp(name, "container") == 0)
			a->container = value;
		else if (strcmp(name, "version") == 0)
			a->version = value;
		else if (strcmp(name, "image") == 0)
			a->image = value;
		else if (strcmp(name, "actor") == 0)
			a->actor = value;
		else if (strcmp(name, "service") == 0)
			a->service = value;
		else if (strcmp(name, "live") == 0)
			a->live = value;
		else if (strcmp(name, "virtualservice") == 0)
			a->virtualservice = value;
		else if (strcmp(name, "weights") == 0)
			a->weights = value;
		else if (strcmp(name, "route") == 0) {
			if (!cli_int(cmd, name, value, 0, 1000, &a->route))
				return EXIT_INPUT;
		}
		else if (strcmp(name, "to-revision") == 0) {
			if (!cli_int(cmd, name, value, 0, 1L << 30, &a->to_revision))
				return EXIT_INPUT;
		} else if (strcmp(name, "revision") == 0) {
			if (!cli_int(cmd, name, value, 1, 1L << 30, &a->revision))
				return EXIT_INPUT;
		} else if (strcmp(name, "replicas") == 0) {
			if (!cli_int(cmd, name, value, 0, 10000, &a->replicas))
				return EXIT_INPUT;
			a->has_replicas = true;
		} else if (strcmp(name, "timeout") == 0) {
			if (!cli_int(cmd, name, value, 0, 86400, &a->timeout))
				return EXIT_INPUT;
		} else if (strcmp(name, "wait") == 0)
			a->wait = true;
		else if (strcmp(name, "json") == 0)
			a->json = true;
	}
	if (r == 2)
		return -1;
	if (r < 0)
		return EXIT_INPUT;
	bool known = false;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		known |= strcmp(actions[i].name, a->action) == 0;
	if (!known)
		return cli_usage_error(cmd, "unknown action '%s' (status, history, pods, wait, "
				       "traffic, set-image, undo, scale, pause, resume, switch, weights)",
				       a->action);
	if (env_name) {
		a->env = envs_find(env_name);
		if (!a->env)
			return cli_usage_error(cmd, "--env: unknown environment '%s' (staging or production)",
					       env_name);
	}
	if (!a->deployment)
		a->deployment = names_of(a)->deployment;
	if (!a->container)
		a->container = names_of(a)->container;
	if (!a->service)
		a->service = names_of(a)->service;
	if (!a->virtualservice)
		a->virtualservice = names_of(a)->virtualservice;
	if (strcmp(a->action, "switch") == 0 && !a->live)
		return cli_usage_error(cmd, "switch needs --live COLOUR");
	if (strcmp(a->action, "weights") == 0 && !a->weights)
		return cli_usage_error(cmd, "weights needs --weights SUBSET=WEIGHT,...");
	if (strcmp(a->action, "set-image") == 0 && !a->version == !a->image)
		return cli_usage_error(cmd, "set-image needs --version or --image (one of them)");
	if (strcmp(a->action, "scale") == 0 && !a->has_replicas)
		return cli_usage_error(cmd, "scale needs --replicas");
	return 0;
}

static int run(int argc, char **argv)
{
	struct args a;
	struct err e;
	err_clear(&e);
	int rc = parse(argc, argv, &a);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcmp(actions[i].name, a.action) == 0 && actions[i].mutating &&
		    config_read_only(config_current(), a.env ? a.env->name : NULL)) {
			fprintf(stderr, "churnops cluster %s: read-only mode: refused (nothing "
					"changed)\n", a.action);
			return EXIT_CHECK;
		}
	struct kubeconfig_options ko = { .file = a.kubeconfig, .context = a.context };
	struct kubeconfig *kc = NULL;
	rc = kubeconfig_load(&ko, &kc, &e);
	if (rc)
		return cli_fail(&e);
	/* Namespace: --namespace, else the environment's, else the context's. */
	char *ns = strdup(a.namespace ? a.namespace : a.env ? a.env->namespace : kc->namespace);
	struct kube_client *k = NULL;
	rc = ns ? kube_client_create(kc, &k, &e) : err_set(&e, EXIT_BACKEND, "out of memory");
	if (!rc) {
		for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
			if (strcmp(actions[i].name, a.action) == 0)
				rc = actions[i].fn(k, &a, ns, &e);
	} else if (!ns) {
		kubeconfig_destroy(kc);
	}
	kube_client_destroy(k);
	free(ns);
	if (rc)
		return cli_fail(&e);
	return EXIT_OK;
}
