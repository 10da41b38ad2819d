/* churnops drift: PSI per feature between a reference and a current data
 * set, the overall drift score, and with a model the score distribution's
 * PSI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "drift.h"
#include "model.h"
#include "sanitize.h"
#include "schema.h"

static const struct cli_option options[] = {
	{"reference", "FILE", "the reference CSV (e.g. the training data)"},
	{"current", "FILE", "the current CSV (e.g. last week's requests)"},
	{"model", "DIR", "compare the model's features and its score distribution"},
	{"target", "COLUMN", "column left out without --model (default churn)"},
	{"fail-above", "PSI", "exit 1 when the overall drift score is above PSI"},
	{"json", NULL, "print the report as JSON"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_drift_command = {
	.name = "drift",
	.synopsis = "--reference A.csv --current B.csv [--model DIR] [--json]",
	.summary = "Population Stability Index per feature and overall (max feature PSI).",
	.options = options,
	.run = run,
};

static void print_feature(const struct drift_feature *f)
{
	char *name = sanitize_dup(f->name);
	printf("  %-22s %-12s %8.4f  %s", name ? name : "?",
	       f->categorical ? "categorical" : "numeric", f->psi, drift_band_name(f->band));
	if (f->unseen)
		printf(" (%zu current cells unseen in the reference)", f->unseen);
	printf("\n");
	free(name);
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_drift_command.name;
	const char *ref = NULL, *cur = NULL, *model_arg = NULL, *target = "churn";
	bool json = false, fail_set = false;
	double fail_above = 0;
	struct cli_parser p;
	cli_parser_init(&p, &cli_drift_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "reference"))
			ref = value;
		else if (!strcmp(name, "current"))
			cur = value;
		else if (!strcmp(name, "model"))
			model_arg = value;
		else if (!strcmp(name, "target"))
			target = value;
		else if (!strcmp(name, "json"))
			json = true;
		else if (!strcmp(name, "fail-above")) {
			if (!cli_double(cmd, name, value, 0, 1e9, &fail_above))
				return EXIT_INPUT;
			fail_set = true;
		}
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!ref || !cur)
		return cli_usage_error(cmd, "--reference and --current are required");

	struct err e = {0};
	struct model *m = NULL;
	struct schema *s = NULL;
	char *version = NULL;
	struct drift_report rep = {0};
	int rc = 0;
	if (model_arg && (rc = cli_load_model(model_arg, NULL, &m, &s, &version, &e)))
		goto fail;
	const char *exclude[] = {target, NULL};
	struct drift_opts o = {.schema = s, .model = m, .exclude = exclude};
	rc = drift_compute(ref, cur, &o, &rep, &e);
	if (rc)
		goto fail;
	if (json) {
		cJSON *js = drift_report_to_json(&rep);
		char *text = js ? cJSON_Print(js) : NULL;
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(js);
	} else {
		printf("drift of %zu current rows against %zu reference rows (PSI; < %g stable, "
		       "%g-%g moderate, > %g significant)\n\n",
		       rep.cur_rows, rep.ref_rows, DRIFT_MODERATE, DRIFT_MODERATE, DRIFT_SIGNIFICANT,
		       DRIFT_SIGNIFICANT);
		for (size_t i = 0; i < rep.nfeatures; i++)
			print_feature(&rep.features[i]);
		if (rep.nfeatures) {
			char *worst = sanitize_dup(rep.features[rep.overall_feature].name);
			printf("\noverall drift score %.4f (%s; max feature PSI, in '%s'); mean PSI %.4f; "
			       "%zu stable, %zu moderate, %zu significant\n",
			       rep.overall, drift_band_name(drift_band_of(rep.overall)),
			       worst ? worst : "?", rep.mean_psi, rep.band_counts[0],
			       rep.band_counts[1], rep.band_counts[2]);
			free(worst);
		}
		if (rep.has_score)
			printf("score distribution PSI %.4f (%s) for %s\n", rep.score.psi,
			       drift_band_name(rep.score.band), version);
	}
	rc = fail_set && rep.overall > fail_above ? EXIT_CHECK : EXIT_OK;
	if (rc && !json)
		printf("drift score %.4f is above --fail-above %g\n", rep.overall, fail_above);
	goto out;
fail:
	cli_fail(&e);
out:
	drift_report_finish(&rep);
	model_destroy(m);
	schema_destroy(s);
	free(version);
	return rc;
}
