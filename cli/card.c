/* churnops card: the model card (Markdown) of a model directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card.h"
#include "checklist.h"
#include "cli.h"
#include "fileio.h"
#include "json.h"
#include "model.h"
#include "schema.h"
#include "store.h"

static const struct cli_option options[] = {
	{"model", "DIR", "model directory (model.json, schema.json, eval.json)"},
	{"evaluation-results", "FILE",
	 "a `validate --json` report (default: the latest run in the store), or an eval.json"},
	{"drift", "FILE", "a `drift --json` report for the drift section"},
	{"output", "FILE", "where to write the card; - for standard output"},
	{"model-version", "V", "version shown (default: eval.json's version or the directory name)"},
	{"model-type", "TEXT", "model type shown (default \"XGBoost Classifier\")"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_card_command = {
	.name = "card",
	.synopsis = "--model DIR --output FILE.md [--evaluation-results FILE] [--model-version V] "
		    "[--model-type TEXT] [--drift FILE]",
	.summary = "Write the model card (Markdown) from eval.json, a validation report and sign-offs.",
	.options = options,
	.run = run,
};

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_card_command.name;
	const char *model_arg = NULL, *results = NULL, *drift_path = NULL, *output = NULL;
	const char *version_arg = NULL, *type = "XGBoost Classifier";
	struct cli_parser p;
	cli_parser_init(&p, &cli_card_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			model_arg = value;
		else if (!strcmp(name, "evaluation-results"))
			results = value;
		else if (!strcmp(name, "drift"))
			drift_path = value;
		else if (!strcmp(name, "output"))
			output = value;
		else if (!strcmp(name, "model-version"))
			version_arg = value;
		else if (!strcmp(name, "model-type"))
			type = value;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!model_arg)
		return cli_usage_error(cmd, "--model is required");
	if (!output)
		return cli_usage_error(cmd, "--output is required (- writes standard output)");

	struct err e = {0};
	struct model *m = NULL;
	struct schema *s = NULL;
	char *version = NULL, *eval_path = NULL, *text = NULL;
	cJSON *eval = NULL, *given = NULL, *report = NULL, *drift = NULL;
	struct store *st = NULL;
	struct store_signoff *so = NULL;
	size_t nso = 0;
	struct store_checklist_run last = {0};
	const char *source = NULL;
	int rc = cli_load_model(model_arg, NULL, &m, &s, &version, &e);
	if (rc)
		goto fail;
	eval_path = join(model_arg, "eval.json");
	if (!eval_path) {
		rc = err_set(&e, EXIT_INPUT, "out of memory");
		goto fail;
	}
	if (fileio_exists(eval_path) && !(eval = json_load_file(eval_path, &e)))
		goto fail_code;
	if (!(st = store_open(NULL, &e)))
		goto fail_code;
	if ((rc = store_list_signoffs(st, model_sha256(m), &so, &nso, &e)))
		goto fail;
	if (results) {
		if (!(given = json_load_file(results, &e)))
			goto fail_code;
		if (cJSON_GetObjectItemCaseSensitive(given, "items")) {
			report = given;
			source = results;
			const cJSON *gm = cJSON_GetObjectItemCaseSensitive(given, "model");
			const char *gsha = json_str(gm, "sha256");
			if (gsha && strcmp(gsha, model_sha256(m)) != 0) {
				rc = err_set(&e, EXIT_INPUT,
					     "%s: the report is for sha256 %.16s..., --model %s is %.16s...",
					     results, gsha, model_arg, model_sha256(m));
				goto fail;
			}
		} else if (json_has_num(given, "roc_auc")) {
			cJSON_Delete(eval);
			eval = given;
		} else {
			rc = err_set(&e, EXIT_INPUT,
				     "%s: neither a validate report (no \"items\") nor evaluation results (no \"roc_auc\")",
				     results);
			goto fail;
		}
		given = NULL;
	} else {
		bool found = false;
		if ((rc = store_last_checklist_run(st, model_sha256(m), &last, &found, &e)))
			goto fail;
		if (found) {
			if (!(report = json_parse(last.report_json, strlen(last.report_json),
						  store_path(st), &e)))
				goto fail_code;
			source = "latest churnops validate run";
		}
	}
	if (report)
		checklist_refresh_json(report, model_arg, model_sha256(m), so, nso);
	if (drift_path && !(drift = json_load_file(drift_path, &e)))
		goto fail_code;
	char lib[32];
	model_library_version(lib, sizeof lib);
	struct card_input in = {
		.model_dir = model_arg,
		.version = version_arg ? version_arg : version,
		.model_type = type,
		.sha256 = model_sha256(m),
		.library_version = lib,
		.objective = model_objective(m),
		.schema = s,
		.eval = eval,
		.report = report,
		.report_source = source,
		.drift = drift,
		.signoffs = so,
		.nsignoffs = nso,
	};
	if ((rc = card_render(&in, &text, &e)) ||
	    (rc = fileio_write_all(output, text, strlen(text), &e)))
		goto fail;
	if (strcmp(output, "-") != 0)
		fprintf(stderr, "wrote the model card of sha256 %.16s... to %s\n", model_sha256(m),
			output);
	goto out;
fail_code:
	rc = e.code ? e.code : EXIT_INPUT;
fail:
	cli_fail(&e);
out:
	free(text);
	cJSON_Delete(drift);
	if (report != given)
		cJSON_Delete(report);
	cJSON_Delete(given);
	cJSON_Delete(eval);
	store_checklist_run_finish(&last);
	store_signoffs_free(so, nso);
	store_close(st);
	free(eval_path);
	free(version);
	model_destroy(m);
	schema_destroy(s);
	return rc;
}
