/* churnops validate: the pre-deployment checklist of a model on a test
 * file, as a report (text or JSON) and a verdict (the exit code).
 *
 * The checklist is judged for promotion to one environment (--env,
 * production by default): its operational items ask that environment's
 * Prometheus, the registry and the trigger configuration (core/checklist's
 * context). Only runs judged for production are recorded: the store's
 * latest verdict is what the production gate of the registry reads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checklist.h"
#include "cli.h"
#include "fileio.h"
#include "sanitize.h"
#include "store.h"

static const struct cli_option options[] = {
	{"model", "DIR", "model directory (model.json, schema.json, eval.json)"},
	{"data", "FILE", "labelled test file (CSV with the target column)"},
	{"gates", "FILE", "JSON of gate overrides keyed by item id, e.g. {\"roc_auc\": {\"min\": 0.8}}"},
	{"json", NULL, "print the report as JSON"},
	{"predictions", "FILE", "also write the test file's probabilities and labels (CSV)"},
	{"no-record", NULL, "do not record this run in the store"},
	{"env", "ENV", "judge for promotion to this environment (default production)"},
	{"prometheus", "URL", "Prometheus for the monitoring item (default: $PROMETHEUS_URL)"},
	{"triggers", "FILE", "trigger configuration (default: CONFIG/triggers.json)"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_validate_command = {
	.name = "validate",
	.synopsis = "--model DIR --data TEST.csv [--env ENV] [--gates FILE] [--json]",
	.summary = "Run the validation checklist; exit 0 on pass, 1 on fail or pending.",
	.options = options,
	.run = run,
};

/* A status as the text report shows it. */
static const char *status_tag(enum checklist_status s)
{
	switch (s) {
	case CHECKLIST_PASS:
		return "PASS";
	case CHECKLIST_FAIL:
		return "FAIL";
	case CHECKLIST_PENDING:
		return "PENDING";
	case CHECKLIST_MANUAL:
		return "MANUAL";
	}
	return "?";
}

static void print_value(const struct checklist_item *it, char *buf, size_t n)
{
	if (it->has_value)
		snprintf(buf, n, "%.4g%s%s", it->value, *it->def->unit ? " " : "", it->def->unit);
	else
		snprintf(buf, n, "%s", it->value_text ? it->value_text : "-");
}

static void print_text(const struct checklist_report *r)
{
	char *dir = sanitize_dup(r->model_dir), *data = sanitize_dup(r->data);
	char *env = sanitize_dup(r->env);
	printf("checklist for %s (sha256 %.16s...) on %s: %zu rows, %zu churned; judged for %s\n",
	       dir ? dir : "?", r->sha256, data ? data : "?", r->rows, r->positives,
	       env ? env : "?");
	free(dir);
	free(data);
	free(env);
	const char *section = "";
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++) {
		const struct checklist_item *it = &r->items[i];
		if (strcmp(section, it->def->section) != 0) {
			section = it->def->section;
			printf("\n%s\n", section);
		}
		char value[64];
		print_value(it, value, sizeof value);
		char *ev = sanitize_dup(it->evidence ? it->evidence : "");
		printf("  %-8s %-21s %-14s %s\n           %s\n", status_tag(it->status),
		       it->def->id, value, it->threshold ? it->threshold : "", ev ? ev : "");
		free(ev);
	}
	printf("\n");
}

/* The verdict line, on stdout for the text report and on stderr with
 * --json, so a script sees why the exit status is 1. */
static void print_verdict(FILE *f, const struct checklist_report *r)
{
	fprintf(f, "verdict: %s", checklist_status_name(r->verdict));
	enum checklist_status want = r->verdict == CHECKLIST_FAIL ? CHECKLIST_FAIL : CHECKLIST_PENDING;
	if (r->verdict == CHECKLIST_PASS) {
		fprintf(f, " (every gate passed, every sign-off given)\n");
		return;
	}
	fprintf(f, r->verdict == CHECKLIST_FAIL ? " (failed:" : " (nothing failed; waiting for:");
	const char *sep = " ";
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++) {
		enum checklist_status s = r->items[i].status;
		if (s == want || (want == CHECKLIST_PENDING && s == CHECKLIST_MANUAL)) {
			fprintf(f, "%s%s%s", sep, r->items[i].def->id,
				s == CHECKLIST_MANUAL ? " (sign-off)" : "");
			sep = ", ";
		}
	}
	fprintf(f, ")\n");
}

static int write_predictions(const char *path, const struct checklist_report *r,
			     struct err *e)
{
	struct fileio_out o;
	int rc = fileio_out_open(&o, path, e);
	if (rc)
		return rc;
	fprintf(o.f, "churn_probability,label\n");
	/* %.9g round-trips a float exactly. */
	for (size_t i = 0; i < r->rows; i++)
		fprintf(o.f, "%.9g,%d\n", (double)r->scores[i], r->labels[i] > 0.5f ? 1 : 0);
	rc = fileio_out_commit(&o, e);
	if (rc)
		fileio_out_abort(&o);
	return rc;
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_validate_command.name;
	const char *model = NULL, *data = NULL, *gates_path = NULL, *pred = NULL;
	const char *env = NULL, *prometheus = NULL, *triggers = NULL;
	bool json = false, record = true;
	struct cli_parser p;
	cli_parser_init(&p, &cli_validate_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			model = value;
		else if (!strcmp(name, "data"))
			data = value;
		else if (!strcmp(name, "gates"))
			gates_path = value;
		else if (!strcmp(name, "predictions"))
			pred = value;
		else if (!strcmp(name, "json"))
			json = true;
		else if (!strcmp(name, "no-record"))
			record = false;
		else if (!strcmp(name, "env"))
			env = value;
		else if (!strcmp(name, "prometheus"))
			prometheus = value;
		else if (!strcmp(name, "triggers"))
			triggers = value;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!model)
		return cli_usage_error(cmd, "--model is required");
	if (!data)
		return cli_usage_error(cmd, "--data is required (a labelled test file)");
	if (env && !*env)
		return cli_usage_error(cmd, "--env: give an environment name");

	struct err e = {0};
	struct checklist_gates g;
	struct checklist_report rep = {0};
	struct store *st = NULL;
	struct checklist_context ctx = {0};
	cJSON *js = NULL;
	int rc = 0;
	checklist_gates_defaults(&g);
	if (gates_path && (rc = checklist_gates_load(&g, gates_path, &e)))
		goto out;
	if (!(st = store_open(NULL, &e))) {
		rc = e.code ? e.code : EXIT_INPUT;
		goto out;
	}
	struct checklist_context_opts co = {
		.env = env, .triggers = triggers, .prometheus = prometheus, .store = st,
	};
	if ((rc = checklist_context_open(&ctx, &co, &e)))
		goto out;
	/* The production gate reads the latest recorded verdict, whatever it
	 * was judged for: a run for another environment must not feed it. */
	bool for_production = strcmp(ctx.env, CHECKLIST_DEFAULT_ENV) == 0;
	struct checklist_opts o = {
		.model_dir = model,
		.data = data,
		.gates = &g,
		.scorer_exe = "/proc/self/exe",
		.store = st,
		.context = &ctx,
	};
	rc = checklist_run(&o, &rep, &e);
	if (rc)
		goto out;
	if (pred && (rc = write_predictions(pred, &rep, &e)))
		goto out;
	js = checklist_to_json(&rep);
	char *text = js ? cJSON_PrintUnformatted(js) : NULL;
	if (!text) {
		rc = err_set(&e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (record && for_production)
		rc = store_add_checklist_run(st, rep.sha256, checklist_status_name(rep.verdict),
					     text, &e);
	free(text);
	if (rc)
		goto out;

	if (json) {
		char *pretty = cJSON_Print(js);
		if (pretty)
			printf("%s\n", pretty);
		free(pretty);
		print_verdict(stderr, &rep);
	} else {
		print_text(&rep);
		print_verdict(stdout, &rep);
	}
	if (record && !for_production) {
		char *clean = sanitize_dup(ctx.env);
		fprintf(json ? stderr : stdout,
			"judged for %s: not recorded (the store's verdicts gate production)\n",
			clean ? clean : "?");
		free(clean);
	}
	rc = rep.verdict == CHECKLIST_PASS ? EXIT_OK : EXIT_CHECK;
	cJSON_Delete(js);
	js = NULL;
	goto done;
out:
	cli_fail(&e);
done:
	cJSON_Delete(js);
	checklist_report_finish(&rep);
	checklist_context_close(&ctx);
	store_close(st);
	checklist_gates_finish(&g);
	return rc;
}
