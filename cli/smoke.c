/* churnops smoke: is the deployed service the model we have? Health, the
 * served version, and the service's probabilities against the local
 * engine's on sample customers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "model.h"
#include "sanitize.h"
#include "schema.h"
#include "service.h"
#include "smoke.h"
#include "target.h"

#define DEFAULT_ROWS 20

static int run(int argc, char **argv);

static const struct cli_option options[] = {
	{ "env", "ENV", "environment whose service to test (staging or production), "
	  "through the API server's service proxy" },
	{ "endpoint", "URL", "test the model service at URL instead" },
	{ "model", "DIR", "model directory of the version that should be serving (required)" },
	{ "data", "FILE", "sample customers from this CSV (default: made from the schema)" },
	{ "rows", "N", "compare at most N customers (default 20)" },
	{ "service", "NAME", "with --env: the Service (default: the environment's deployment name)" },
	{ "kubeconfig", "FILE", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" },
	{ "context", "NAME", "kubeconfig context (default: its current-context)" },
	{ "json", NULL, "print the report as JSON" },
	{ 0 },
};

const struct cli_command cli_smoke_command = {
	.name = "smoke",
	.synopsis = "--env ENV | --endpoint URL --model DIR [--data FILE] [--rows N] [--json]",
	.summary = "smoke-test a model service: health, version, serving skew",
	.options = options,
	.run = run,
};

static void print_text(const char *where, const char *expected,
		       const struct smoke_result *r)
{
	char *w = sanitize_dup(where);
	printf("smoke test of %s, expecting version %s\n", w ? w : "?", expected);
	free(w);
	for (size_t i = 0; i < r->nchecks; i++) {
		char *d = sanitize_dup(r->checks[i].detail);
		printf("  %-8s %-7s %s\n", r->checks[i].name,
		       smoke_status_name(r->checks[i].status), d ? d : "");
		free(d);
	}
	printf("verdict: %s\n", r->pass ? "pass" : "fail");
}

static void print_json(const char *where, const char *env, const char *expected,
		       const struct smoke_result *r, double tolerance)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "target", where);
	if (env)
		cJSON_AddStringToObject(o, "env", env);
	else
		cJSON_AddNullToObject(o, "env");
	cJSON_AddStringToObject(o, "expected_version", expected);
	cJSON_AddStringToObject(o, "served_version", r->served_version);
	cJSON *checks = cJSON_AddArrayToObject(o, "checks");
	for (size_t i = 0; i < r->nchecks; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", r->checks[i].name);
		cJSON_AddStringToObject(c, "status", smoke_status_name(r->checks[i].status));
		cJSON_AddStringToObject(c, "detail", r->checks[i].detail);
		cJSON_AddItemToArray(checks, c);
	}
	cJSON_AddNumberToObject(o, "rows", (double)r->rows);
	cJSON_AddNumberToObject(o, "skewed", (double)r->skewed);
	cJSON_AddNumberToObject(o, "max_diff", r->max_diff);
	cJSON_AddNumberToObject(o, "tolerance", tolerance);
	cJSON_AddStringToObject(o, "verdict", r->pass ? "pass" : "fail");
	char *text = cJSON_Print(o);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_smoke_command.name;
	struct cli_target t = {0};
	const char *model_dir = NULL, *data = NULL;
	long rows = DEFAULT_ROWS;
	bool json = false;
	struct cli_parser p;
	const char *name, *value;
	int r;
	cli_parser_init(&p, &cli_smoke_command, argc, argv);
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "env") == 0)
			t.env = value;
		else if (strcmp(name, "endpoint") == 0)
			t.endpoint = value;
		else if (strcmp(name, "model") == 0)
			model_dir = value;
		else if (strcmp(name, "data") == 0)
			data = value;
		else if (strcmp(name, "rows") == 0) {
			if (!cli_int(cmd, name, value, 1, SERVICE_MAX_RECORDS, &rows))
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
	if (!model_dir)
		return cli_usage_error(cmd, "--model DIR is required: the version that should be serving");
	if (!t.env == !t.endpoint)
		return cli_usage_error(cmd, "give --env ENV or --endpoint URL (one of them)");

	struct err e;
	err_clear(&e);
	struct model *m = NULL;
	struct schema *s = NULL;
	char *version = NULL;
	struct service *svc = NULL;
	cJSON *records = NULL;
	float *x = NULL;
	size_t n = 0;
	int rc = cli_load_model(model_dir, NULL, &m, &s, &version, &e);
	if (rc)
		goto out;
	rc = data ? service_records_from_csv(data, s, (size_t)rows, &records, &x, &n, &e)
		  : service_records_from_schema(s, (size_t)rows, &records, &x, &n, &e);
	if (rc)
		goto out;
	rc = cli_target_open(cmd, &t, &svc, NULL, &e);
	if (rc)
		goto out;
	struct smoke_opts so = {
		.expected_version = version, .model = m, .schema = s,
		.records = records, .rows = x, .nrecords = n,
	};
	struct smoke_result res;
	rc = smoke_run(svc, &so, &res, &e);
	if (rc == EXIT_INPUT)
		goto out;
	if (json)
		print_json(service_base_url(svc), t.env, version, &res, SMOKE_TOLERANCE);
	else
		print_text(service_base_url(svc), version, &res);
out:
	if (rc && e.msg[0])
		cli_fail(&e);
	service_destroy(svc);
	cJSON_Delete(records);
	free(x);
	free(version);
	model_destroy(m);
	schema_destroy(s);
	return rc;
}
