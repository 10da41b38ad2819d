/* churnops loadtest: latency, errors and throughput of a model service's
 * /predict under a closed or an open loop, with gates for CI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "config.h"
#include "loadtest.h"
#include "sanitize.h"
#include "service.h"
#include "target.h"

#define DEFAULT_CONCURRENCY 8
#define DEFAULT_OPEN_CONCURRENCY 64
#define DEFAULT_ROWS 1000
#define REQUEST_TIMEOUT_MS 10000L

/* A telco customer, for a run without --data. */
static const char sample_record[] =
	"{\"female\":1,\"senior_citizen\":0,\"partner\":1,\"dependents\":0,"
	"\"tenure\":12,\"phone_service\":1,\"multiple_lines\":\"No\","
	"\"internet_service\":\"Fiber optic\",\"online_security\":\"No\","
	"\"online_backup\":\"Yes\",\"device_protection\":\"No\",\"tech_support\":\"No\","
	"\"streaming_tv\":\"Yes\",\"streaming_movies\":\"No\",\"contract\":\"Month-to-month\","
	"\"paperless_billing\":1,\"payment_method\":\"Electronic check\","
	"\"monthly_charges\":79.85,\"total_charges\":958.2}";

static int run(int argc, char **argv);

static const struct cli_option options[] = {
	{ "endpoint", "URL", "the model service (its /predict is loaded); "
	  "loopback or the kubeconfig's API server only" },
	{ "env", "ENV", "load the environment's service through the API server's proxy" },
	{ "duration", "S", "seconds of load (required)" },
	{ "concurrency", "N", "connections: requests in flight (default 8); with --rps "
	  "the most in flight (default 64)" },
	{ "rps", "R", "open loop: send R requests a second whatever the answers do" },
	{ "data", "FILE", "request bodies: one customer per CSV record, cycled "
	  "(default: a built-in customer)" },
	{ "rows", "N", "read at most N records from --data (default 1000)" },
	{ "p99-ms", "X", "gate: fail unless the p99 latency is below X ms" },
	{ "max-error-rate", "X", "gate: fail when the error rate passes X (0 to 1)" },
	{ "service", "NAME", "with --env: the Service (default: the environment's deployment name)" },
	{ "kubeconfig", "FILE", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" },
	{ "context", "NAME", "kubeconfig context (default: its current-context)" },
	{ "json", NULL, "print the report as JSON" },
	{ 0 },
};

const struct cli_command cli_loadtest_command = {
	.name = "loadtest",
	.synopsis = "--endpoint URL | --env ENV --duration S [--concurrency N] [--rps R] "
		    "[--data FILE] [--p99-ms X] [--max-error-rate X] [--json]",
	.summary = "load-test a model service: latency percentiles, errors, throughput",
	.options = options,
	.run = run,
};

static void progress(double elapsed, double duration, size_t done, size_t errors,
		     void *arg)
{
	(void)arg;
	int width = 30;
	double f = elapsed / duration;
	if (f > 1)
		f = 1;
	int fill = (int)(f * width);
	fprintf(stderr, "\r[%.*s%*s] %5.1f/%.1f s  %zu requests  %zu errors\033[K",
		fill, "##############################", width - fill, "", elapsed,
		duration, done, errors);
	fflush(stderr);
}

static void json_num_or_null(cJSON *o, const char *key, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

static void print_json(const char *url, const struct loadtest_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "target", url);
	cJSON_AddStringToObject(o, "mode", r->open_loop ? "open" : "closed");
	cJSON_AddNumberToObject(o, "duration_s", r->duration_s);
	cJSON_AddNumberToObject(o, "concurrency", r->concurrency);
	json_num_or_null(o, "rps_target", r->open_loop ? r->rps_target : NAN);
	cJSON_AddNumberToObject(o, "requests", (double)r->requests);
	cJSON_AddNumberToObject(o, "ok", (double)r->ok);
	cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	cJSON_AddNumberToObject(o, "unsent", (double)r->unsent);
	cJSON_AddNumberToObject(o, "error_rate", r->error_rate);
	cJSON_AddNumberToObject(o, "elapsed_s", r->elapsed_s);
	cJSON_AddNumberToObject(o, "throughput_rps", r->throughput_rps);
	cJSON *lat = cJSON_AddObjectToObject(o, "latency_ms");
	json_num_or_null(lat, "p50", r->p50_ms);
	json_num_or_null(lat, "p95", r->p95_ms);
	json_num_or_null(lat, "p99", r->p99_ms);
	json_num_or_null(lat, "max", r->max_ms);
	json_num_or_null(lat, "mean", r->mean_ms);
	cJSON *kinds = cJSON_AddObjectToObject(o, "errors_by_kind");
	for (int k = HTTP_ERR_REFUSED; k <= HTTP_ERR_OTHER; k++)
		if (r->by_kind[k])
			cJSON_AddNumberToObject(kinds, http_error_name((enum http_error)k),
						(double)r->by_kind[k]);
	if (r->first_error[0])
		cJSON_AddStringToObject(o, "first_error", r->first_error);
	else
		cJSON_AddNullToObject(o, "first_error");
	cJSON *gates = cJSON_AddArrayToObject(o, "gates");
	for (size_t i = 0; i < r->ngates; i++) {
		cJSON *g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "name", r->gates[i].name);
		cJSON_AddNumberToObject(g, "threshold", r->gates[i].threshold);
		json_num_or_null(g, "value", r->gates[i].value);
		cJSON_AddStringToObject(g, "status", r->gates[i].pass ? "pass" : "fail");
		cJSON_AddItemToArray(gates, g);
	}
	cJSON_AddStringToObject(o, "verdict", r->pass ? "pass" : "fail");
	char *text = cJSON_Print(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static void print_text(const char *url, const struct loadtest_result *r)
{
	char *u = sanitize_dup(url);
	if (r->open_loop)
		printf("loadtest %s: open loop at %g requests/s (at most %u in flight), %g s\n",
		       u ? u : "?", r->rps_target, r->concurrency, r->duration_s);
	else
		printf("loadtest %s: closed loop, %u connections, %g s\n", u ? u : "?",
		       r->concurrency, r->duration_s);
	free(u);
	printf("requests %zu  ok %zu  errors %zu", r->requests, r->ok, r->errors);
	if (r->unsent)
		printf("  unsent %zu", r->unsent);
	printf(" (error rate %.4f)  throughput %.1f/s\n", r->error_rate, r->throughput_rps);
	if (r->ok)
		printf("latency ms  p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n", r->p50_ms,
		       r->p95_ms, r->p99_ms, r->max_ms);
	else
		printf("latency ms  none: no request succeeded\n");
	if (r->first_error[0]) {
		char *f = sanitize_dup(r->first_error);
		printf("first error: %s\n", f ? f : "?");
		free(f);
	}
	for (size_t i = 0; i < r->ngates; i++) {
		const struct loadtest_gate *g = &r->gates[i];
		if (strcmp(g->name, "p99_ms") == 0)
			printf("gate p99 < %g ms: %s (%.2f)\n", g->threshold,
			       g->pass ? "pass" : "fail", g->value);
		else
			printf("gate error rate <= %g: %s (%.4f)\n", g->threshold,
			       g->pass ? "pass" : "fail", g->value);
	}
	printf("verdict: %s\n", r->pass ? "pass" : "fail");
}

/* URL/predict, unless URL already ends in /predict. */
static char *predict_url(const char *base)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	char *u = NULL;
	if (n >= 8 && strncmp(base + n - 8, "/predict", 8) == 0)
		return strndup(base, n);
	if (asprintf(&u, "%.*s/predict", (int)n, base) < 0)
		return NULL;
	return u;
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_loadtest_command.name;
	struct cli_target t = { .timeout_ms = REQUEST_TIMEOUT_MS };
	const char *data = NULL;
	double duration = 0, rps = 0, p99 = NAN, max_err = NAN;
	long concurrency = 0, rows = DEFAULT_ROWS;
	bool json = false;
	struct cli_parser p;
	const char *name, *value;
	int r;
	cli_parser_init(&p, &cli_loadtest_command, argc, argv);
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "env") == 0)
			t.env = value;
		else if (strcmp(name, "endpoint") == 0)
			t.endpoint = value;
		else if (strcmp(name, "duration") == 0) {
			if (!cli_double(cmd, name, value, 0.001, 86400, &duration))
				return EXIT_INPUT;
		} else if (strcmp(name, "concurrency") == 0) {
			if (!cli_int(cmd, name, value, 1, 1024, &concurrency))
				return EXIT_INPUT;
		} else if (strcmp(name, "rps") == 0) {
			if (!cli_double(cmd, name, value, 0.001, 1e6, &rps))
				return EXIT_INPUT;
		} else if (strcmp(name, "data") == 0)
			data = value;
		else if (strcmp(name, "rows") == 0) {
			if (!cli_int(cmd, name, value, 1, SERVICE_MAX_RECORDS, &rows))
				return EXIT_INPUT;
		} else if (strcmp(name, "p99-ms") == 0) {
			if (!cli_double(cmd, name, value, 0.001, 1e7, &p99))
				return EXIT_INPUT;
		} else if (strcmp(name, "max-error-rate") == 0) {
			if (!cli_double(cmd, name, value, 0, 1, &max_err))
				return EXIT_INPUT;
		} else if (strcmp(name, "service") == 0)
			t.service = value;
		else if (strcmp(name, "kubeconfig") == 0)
			t.kubeconfig = value;
		else if (strcmp(name, "context") == 0)
			t.context = value;
		else if (strcmp(name, "json") == 0)
			json = true;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (duration <= 0)
		return cli_usage_error(cmd, "--duration S is required");
	if (concurrency == 0)
		concurrency = rps > 0 ? DEFAULT_OPEN_CONCURRENCY : DEFAULT_CONCURRENCY;
	if (!t.env == !t.endpoint)
		return cli_usage_error(cmd, "give --env ENV or --endpoint URL (one of them)");

	struct err e;
	err_clear(&e);
	struct service *svc = NULL;
	cJSON *records = NULL;
	char **bodies = NULL;
	size_t *lens = NULL, n = 0;
	char *url = NULL, *server = NULL;
	int rc = 0;

	/* Where the load may go: refuse before reading anything else. */
	if (t.endpoint) {
		/* The cluster's API server (its service proxy) and the
		 * configured endpoints. */
		const struct config *c = config_current();
		server = cli_target_kube_server(&t);
		const char *allowed[65];
		size_t na = 0;
		if (server)
			allowed[na++] = server;
		for (size_t i = 0; i < c->nloadtest_endpoints && na < 65; i++)
			allowed[na++] = c->loadtest_endpoints[i];
		rc = loadtest_check_target(t.endpoint, allowed, na, &e);
		if (rc)
			goto out;
	}
	if (data) {
		rc = service_records_from_csv(data, NULL, (size_t)rows, &records, NULL, &n, &e);
		if (rc)
			goto out;
	} else {
		n = 1;
	}
	bodies = calloc(n, sizeof *bodies);
	lens = calloc(n, sizeof *lens);
	if (!bodies || !lens) {
		rc = err_set(&e, EXIT_INPUT, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bodies[i] = records ? cJSON_PrintUnformatted(cJSON_GetArrayItem(records, (int)i))
			  : strdup(sample_record);
		if (!bodies[i]) {
			rc = err_set(&e, EXIT_INPUT, "out of memory");
			goto out;
		}
		lens[i] = strlen(bodies[i]);
	}
	rc = cli_target_open(cmd, &t, &svc, NULL, &e);
	if (rc)
		goto out;
	url = predict_url(service_base_url(svc));
	if (!url) {
		rc = err_set(&e, EXIT_INPUT, "out of memory");
		goto out;
	}
	bool bar = isatty(STDERR_FILENO);
	struct loadtest_opts lo = {
		.url = url, .duration_s = duration, .concurrency = (unsigned)concurrency,
		.rps = rps, .bodies = (const char *const *)bodies, .body_lens = lens,
		.nbodies = n, .timeout_ms = REQUEST_TIMEOUT_MS, .gate_p99_ms = p99,
		.gate_error_rate = max_err, .progress = bar ? progress : NULL,
	};
	struct loadtest_result res;
	rc = loadtest_run(service_http(svc), &lo, &res, &e);
	if (bar)
		fprintf(stderr, "\r\033[K");
	if (rc == 0 || rc == EXIT_CHECK || res.requests + res.unsent > 0) {
		if (json)
			print_json(url, &res);
		else
			print_text(url, &res);
	}
out:
	if (rc && e.msg[0])
		cli_fail(&e);
	for (size_t i = 0; bodies && i < n; i++)
		free(bodies[i]);
	free(bodies);
	free(lens);
	free(url);
	free(server);
	cJSON_Delete(records);
	service_destroy(svc);
	return rc;
}
