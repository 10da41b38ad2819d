/* churnops train: the model directory from a labelled CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "train.h"

static const struct cli_option options[] = {
	{"data", "FILE", "labelled training CSV"},
	{"target", "COLUMN", "target column (default churn)"},
	{"positive", "VALUE", "the target's positive label (default Yes)"},
	{"out", "DIR", "model directory to write"},
	{"force", NULL, "replace an existing model directory"},
	{"rounds", "N", "boosting rounds (default 300)"},
	{"max-depth", "N", "tree depth (default 4)"},
	{"eta", "X", "learning rate (default 0.05)"},
	{"subsample", "X", "row subsample per tree (default 0.8)"},
	{"colsample", "X", "column subsample per tree (default 0.8)"},
	{"min-child-weight", "X", "minimum hessian per leaf (default 1)"},
	{"scale-pos-weight", "X", "weight of positive rows (default 1)"},
	{"seed", "N", "seed of the split, the folds and XGBoost (default 42)"},
	{"early-stopping", "N", "stop after N rounds without hold-out improvement (default 0: off)"},
	{"folds", "K", "cross-validation folds (default 5; 0: none)"},
	{"test-size", "X", "hold-out fraction (default 0.2)"},
	{"threshold", "P", "classification threshold for the metrics (default 0.5)"},
	{"threads", "N", "training threads (default 0: all cores)"},
	{"json", NULL, "print eval.json instead of the summary"},
	{"quiet", NULL, "no progress and no summary"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_train_command = {
	.name = "train",
	.synopsis = "--data FILE --out DIR [--target COLUMN] [--positive VALUE] [OPTIONS]",
	.summary = "Train a model with cross-validation and write its model directory.",
	.options = options,
	.run = run,
};

struct progress {
	bool tty;
	int last_width;
};

static void show_progress(void *ud, const char *phase, int done, int total)
{
	struct progress *p = ud;
	if (!p->tty)
		return;
	int width = 30;
	int filled = total > 0 ? done * width / total : 0;
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < filled ? '#' : '.';
	bar[width] = '\0';
	int w = fprintf(stderr, "\r%-24s [%s] %3d%%", phase, bar,
			total > 0 ? done * 100 / total : 0);
	if (w < p->last_width)
		fprintf(stderr, "%*s", p->last_width - w, "");
	p->last_width = w;
	fflush(stderr);
}

static void summary(const cJSON *eval, const char *out_dir)
{
	const cJSON *cv = cJSON_GetObjectItemCaseSensitive(eval, "cv");
	printf("model      %s\n", out_dir);
	printf("rows       %.0f train, %.0f test (positive rate %.1f %%)\n",
	       json_num(eval, "train_rows", 0), json_num(eval, "test_rows", 0),
	       100 * json_num(eval, "positive_rate", 0));
	printf("ROC-AUC    %.4f\n", json_num(eval, "roc_auc", 0));
	printf("PR-AUC     %.4f\n", json_num(eval, "pr_auc", 0));
	printf("precision  %.4f  recall %.4f  F1 %.4f  at threshold %.2f\n",
	       json_num(eval, "precision", 0), json_num(eval, "recall", 0),
	       json_num(eval, "f1", 0), json_num(eval, "threshold", 0));
	if (cv && json_num(cv, "folds", 0) > 1)
		printf("CV         ROC-AUC %.4f +/- %.4f over %.0f folds\n",
		       json_num(cv, "roc_auc_mean", 0), json_num(cv, "roc_auc_std", 0),
		       json_num(cv, "folds", 0));
	double best = json_num(eval, "best_iteration", -1);
	if (best >= 0)
		printf("stopped    early, best iteration %.0f\n", best);
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_train_command.name;
	struct train_opts o;
	train_opts_defaults(&o);
	o.target = "churn";
	o.positive = "Yes";
	bool json = false, quiet = false;
	struct cli_parser p;
	cli_parser_init(&p, &cli_train_command, argc, argv);
	const char *name, *value;
	long n;
	double x;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "data"))
			o.data = value;
		else if (!strcmp(name, "target"))
			o.target = value;
		else if (!strcmp(name, "positive"))
			o.positive = value;
		else if (!strcmp(name, "out"))
			o.out_dir = value;
		else if (!strcmp(name, "force"))
			o.force = true;
		else if (!strcmp(name, "json"))
			json = true;
		else if (!strcmp(name, "quiet"))
			quiet = true;
		else if (!strcmp(name, "rounds")) {
			if (!cli_int(cmd, name, value, 1, 100000, &n))
				return EXIT_INPUT;
			o.params.rounds = (int)n;
		} else if (!strcmp(name, "max-depth")) {
			if (!cli_int(cmd, name, value, 1, 64, &n))
				return EXIT_INPUT;
			o.params.max_depth = (int)n;
		} else if (!strcmp(name, "seed")) {
			if (!cli_int(cmd, name, value, 0, 2147483647L, &n))
				return EXIT_INPUT;
			o.params.seed = (unsigned long)n;
		} else if (!strcmp(name, "early-stopping")) {
			if (!cli_int(cmd, name, value, 0, 100000, &n))
				return EXIT_INPUT;
			o.params.early_stopping = (int)n;
		} else if (!strcmp(name, "folds")) {
			if (!cli_int(cmd, name, value, 0, 100, &n))
				return EXIT_INPUT;
			o.folds = (int)n;
		} else if (!strcmp(name, "threads")) {
			if (!cli_int(cmd, name, value, 0, 1024, &n))
				return EXIT_INPUT;
			o.params.threads = (int)n;
		} else if (!strcmp(name, "eta")) {
			if (!cli_double(cmd, name, value, 1e-6, 1, &o.params.eta))
				return EXIT_INPUT;
		} else if (!strcmp(name, "subsample")) {
			if (!cli_double(cmd, name, value, 1e-6, 1, &o.params.subsample))
				return EXIT_INPUT;
		} else if (!strcmp(name, "colsample")) {
			if (!cli_double(cmd, name, value, 1e-6, 1, &o.params.colsample))
				return EXIT_INPUT;
		} else if (!strcmp(name, "min-child-weight")) {
			if (!cli_double(cmd, name, value, 0, 1e9, &o.params.min_child_weight))
				return EXIT_INPUT;
		} else if (!strcmp(name, "scale-pos-weight")) {
			if (!cli_double(cmd, name, value, 1e-9, 1e9, &o.params.scale_pos_weight))
				return EXIT_INPUT;
		} else if (!strcmp(name, "test-size")) {
			if (!cli_double(cmd, name, value, 0.01, 0.9, &x))
				return EXIT_INPUT;
			o.test_size = x;
		} else if (!strcmp(name, "threshold")) {
			if (!cli_double(cmd, name, value, 0, 1, &o.threshold))
				return EXIT_INPUT;
		}
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!o.data)
		return cli_usage_error(cmd, "--data is required");
	if (!o.out_dir)
		return cli_usage_error(cmd, "--out is required");
	if (o.folds == 1)
		return cli_usage_error(cmd, "--folds: give 0 (no cross-validation) or at least 2");

	struct progress prog = {.tty = !quiet && isatty(STDERR_FILENO)};
	struct err e = {0};
	cJSON *eval = NULL;
	int rc = train_run(&o, show_progress, &prog, &eval, &e);
	if (prog.tty && prog.last_width)
		fprintf(stderr, "\r%*s\r", prog.last_width, "");
	if (rc) {
		cJSON_Delete(eval);
		return cli_fail(&e);
	}
	if (json) {
		char *text = cJSON_Print(eval);
		if (text)
			printf("%s\n", text);
		free(text);
	} else if (!quiet) {
		summary(eval, o.out_dir);
	}
	cJSON_Delete(eval);
	return EXIT_OK;
}
