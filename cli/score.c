/* churnops score: a CSV in, probabilities and risk levels out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "schema.h"
#include "score.h"

static const struct cli_option options[] = {
	{"model", "DIR|FILE", "model directory, or a model file with --schema"},
	{"schema", "FILE", "schema JSON (default: DIR/schema.json)"},
	{"data", "FILE", "CSV to score; - reads standard input"},
	{"out", "FILE", "output CSV; - (the default) writes standard output"},
	{"id", "COLUMN", "carry this input column through as the first column"},
	{"explain", NULL, "add the top contributing features of each row"},
	{"top", "K", "contributions per row with --explain (default 3)"},
	{"threads", "N", "prediction threads (default 0: all cores)"},
	{"cut-low", "P", "below this probability the risk is low (default 0.3)"},
	{"cut-high", "P", "from this probability the risk is high (default 0.6)"},
	{"quiet", NULL, "no summary on standard error"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_score_command = {
	.name = "score",
	.synopsis = "--model DIR|FILE --data FILE [--out FILE] [OPTIONS]",
	.summary = "Score a CSV file of customers with a model.",
	.options = options,
	.run = run,
};

static int run(int argc, char **argv)
{
	const char *cmd = cli_score_command.name;
	struct score_opts o;
	score_opts_defaults(&o);
	const char *model_arg = NULL, *schema_arg = NULL, *data = NULL;
	bool explain = false, quiet = false;
	long top = 3, threads = 0;
	struct cli_parser p;
	cli_parser_init(&p, &cli_score_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			model_arg = value;
		else if (!strcmp(name, "schema"))
			schema_arg = value;
		else if (!strcmp(name, "data"))
			data = value;
		else if (!strcmp(name, "out"))
			o.out = value;
		else if (!strcmp(name, "id"))
			o.id_col = value;
		else if (!strcmp(name, "explain"))
			explain = true;
		else if (!strcmp(name, "quiet"))
			quiet = true;
		else if (!strcmp(name, "top") && !cli_int(cmd, name, value, 1, 1000, &top))
			return EXIT_INPUT;
		else if (!strcmp(name, "threads") && !cli_int(cmd, name, value, 0, 1024, &threads))
			return EXIT_INPUT;
		else if (!strcmp(name, "cut-low") && !cli_double(cmd, name, value, 0, 1, &o.cut_low))
			return EXIT_INPUT;
		else if (!strcmp(name, "cut-high") && !cli_double(cmd, name, value, 0, 1, &o.cut_high))
			return EXIT_INPUT;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!model_arg)
		return cli_usage_error(cmd, "--model is required");
	if (!data)
		return cli_usage_error(cmd, "--data is required (- reads standard input)");
	if (o.cut_low > o.cut_high)
		return cli_usage_error(cmd, "--cut-low %g is above --cut-high %g",
				       o.cut_low, o.cut_high);
	o.data = data;
	o.explain_top = explain ? (int)top : 0;

	struct err e = {0};
	struct model *m = NULL;
	struct schema *s = NULL;
	char *version = NULL;
	struct score_stats st = {0};
	int rc = cli_load_model(model_arg, schema_arg, &m, &s, &version, &e);
	if (!rc)
		rc = model_set_threads(m, (int)threads, &e);
	if (!rc)
		rc = score_run(m, s, &o, &st, &e);
	if (rc) {
		cli_fail(&e);
	} else {
		for (char *line = st.unseen_report, *nl; line && *line; line = nl) {
			nl = strchr(line, '\n');
			int len = nl ? (int)(nl - line) : (int)strlen(line);
			fprintf(stderr, "churnops: warning: %.*s\n", len, line);
			nl = nl ? nl + 1 : line + len;
		}
		if (!quiet)
			fprintf(stderr, "scored %zu rows in %.2f s (%.0f rows/s) with %s; "
				"XGBoost predict %.2f s\n",
				st.rows, st.seconds,
				st.seconds > 0 ? (double)st.rows / st.seconds : 0.0,
				version, st.predict_seconds);
	}
	free(st.unseen_report);
	free(version);
	model_destroy(m);
	schema_destroy(s);
	return rc;
}
