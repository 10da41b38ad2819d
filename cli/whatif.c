/* churnops whatif: one customer, its probability and what drives it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "schema.h"
#include "score.h"
#include "whatif.h"

#define MAX_SETS 256

static const struct cli_option options[] = {
	{"model", "DIR|FILE", "model directory, or a model file with --schema"},
	{"schema", "FILE", "schema JSON (default: DIR/schema.json)"},
	{"compare", "DIR", "score the same customer with a second model"},
	{"data", "FILE", "CSV holding the customer (with --row)"},
	{"row", "N", "data row to start from (1 is the line after the header)"},
	{"set", "NAME=VALUE", "change a feature (repeatable; empty or NA: missing)"},
	{"top", "K", "contributions shown (default: all)"},
	{"json", NULL, "print JSON"},
	{0},
};

static int run(int argc, char **argv);

const struct cli_command cli_whatif_command = {
	.name = "whatif",
	.synopsis = "--model DIR [--data FILE --row N] [--set NAME=VALUE ...] [--compare DIR2] [--json]",
	.summary = "Score one customer and show each feature's contribution.",
	.options = options,
	.run = run,
};

struct side {
	const char *arg;
	struct model *model;
	struct schema *schema;
	char *version;
	struct whatif_record rec;
	struct whatif_result res;
	bool has_rec, has_res;
};

struct request {
	const char *schema_arg, *data;
	long row;
	const char *sets[MAX_SETS];
	size_t nsets;
};

static int side_run(struct side *s, const struct request *q, struct err *e)
{
	int rc = cli_load_model(s->arg, q->schema_arg, &s->model, &s->schema,
				&s->version, e);
	if (rc)
		return rc;
	rc = q->data ? whatif_record_from_row(&s->rec, s->schema, q->data,
					      (size_t)q->row, e)
		     : whatif_record_typical(&s->rec, s->schema, e);
	if (rc)
		return rc;
	s->has_rec = true;
	for (size_t i = 0; i < q->nsets; i++) {
		rc = whatif_record_set(&s->rec, q->sets[i], e);
		if (rc)
			return rc;
	}
	rc = whatif_score(s->model, &s->rec, &s->res, e);
	if (!rc)
		s->has_res = true;
	return rc;
}

static void side_finish(struct side *s)
{
	if (s->has_res)
		whatif_result_finish(&s->res);
	if (s->has_rec)
		whatif_record_finish(&s->rec);
	model_destroy(s->model);
	schema_destroy(s->schema);
	free(s->version);
}

static void print_bar(double c, double scale)
{
	int width = 20;
	int n = scale > 0 ? (int)lround(fabs(c) / scale * width) : 0;
	if (n > width)
		n = width;
	char buf[32];
	for (int i = 0; i < n; i++)
		buf[i] = c >= 0 ? '+' : '-';
	buf[n] = '\0';
	printf(" %-20s", buf);
}

static void print_value(const struct whatif_record *r, size_t i)
{
	printf("%-20.20s", r->text[i] ? r->text[i] : "(missing)");
}

static void print_one(const struct side *s, long top)
{
	const struct whatif_result *res = &s->res;
	printf("model %s: churn probability %.4f (%s risk)\n", s->version,
	       res->probability,
	       score_risk_level(res->probability, SCORE_CUT_LOW, SCORE_CUT_HIGH));
	printf("margin %.4f = base value %.4f + contributions %.4f (log-odds)\n\n",
	       res->margin, res->base_value, res->margin - res->base_value);
	double scale = 0;
	for (size_t k = 0; k < res->ncontributions; k++)
		scale = fmax(scale, fabs(res->contributions[k].contribution));
	printf("%-20s %-20s %12s\n", "feature", "value", "contribution");
	for (size_t k = 0; k < res->ncontributions && (top <= 0 || (long)k < top); k++) {
		size_t i = res->contributions[k].feature;
		printf("%-20.20s ", s->schema->features[i].name);
		print_value(&s->rec, i);
		printf(" %+12.4f", res->contributions[k].contribution);
		print_bar(res->contributions[k].contribution, scale);
		printf("\n");
	}
}

static float contribution_of(const struct whatif_result *res, size_t feature)
{
	for (size_t k = 0; k < res->ncontributions; k++)
		if (res->contributions[k].feature == feature)
			return res->contributions[k].contribution;
	return 0;
}

/* Side by side, rows in the first model's order. Features are matched by
 * name, since the two models may have different schemas. */
static void print_compare(const struct side *a, const struct side *b, long top)
{
	printf("%-20s %14s %14s %10s\n", "", a->version, b->version, "change");
	printf("%-20s %14.4f %14.4f %+10.4f\n", "churn probability",
	       a->res.probability, b->res.probability,
	       b->res.probability - a->res.probability);
	printf("%-20s %14.4f %14.4f %+10.4f\n", "margin", a->res.margin,
	       b->res.margin, b->res.margin - a->res.margin);
	printf("%-20s %14.4f %14.4f %+10.4f\n\n", "base value",
	       a->res.base_value, b->res.base_value,
	       b->res.base_value - a->res.base_value);
	printf("%-20s %-20s %14s %14s\n", "feature", "value", "contribution", "contribution");
	for (size_t k = 0; k < a->res.ncontributions && (top <= 0 || (long)k < top); k++) {
		size_t i = a->res.contributions[k].feature;
		const char *name = a->schema->features[i].name;
		printf("%-20.20s ", name);
		print_value(&a->rec, i);
		printf(" %+14.4f", a->res.contributions[k].contribution);
		long j = schema_find(b->schema, name);
		if (j >= 0)
			printf(" %+14.4f\n", contribution_of(&b->res, (size_t)j));
		else
			printf(" %14s\n", "(not used)");
	}
}

static cJSON *side_json(const struct side *s)
{
	return whatif_to_json(&s->rec, &s->res, s->version, s->arg,
			      model_sha256(s->model), SCORE_CUT_LOW, SCORE_CUT_HIGH);
}

static int run(int argc, char **argv)
{
	const char *cmd = cli_whatif_command.name;
	struct request q = {.row = 0};
	struct side sides[2] = {{0}};
	bool json = false;
	long top = 0;
	struct cli_parser p;
	cli_parser_init(&p, &cli_whatif_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			sides[0].arg = value;
		else if (!strcmp(name, "compare"))
			sides[1].arg = value;
		else if (!strcmp(name, "schema"))
			q.schema_arg = value;
		else if (!strcmp(name, "data"))
			q.data = value;
		else if (!strcmp(name, "json"))
			json = true;
		else if (!strcmp(name, "row")) {
			if (!cli_int(cmd, name, value, 1, 2147483647L, &q.row))
				return EXIT_INPUT;
		} else if (!strcmp(name, "top")) {
			if (!cli_int(cmd, name, value, 1, 100000, &top))
				return EXIT_INPUT;
		} else if (!strcmp(name, "set")) {
			if (q.nsets == MAX_SETS)
				return cli_usage_error(cmd, "at most %d --set options", MAX_SETS);
			q.sets[q.nsets++] = value;
		}
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!sides[0].arg)
		return cli_usage_error(cmd, "--model is required");
	if ((q.data != NULL) != (q.row > 0))
		return cli_usage_error(cmd, "--data and --row go together");

	struct err e = {0};
	int n = sides[1].arg ? 2 : 1;
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		/* --schema belongs to --model; the comparison reads its own. */
		struct request qi = q;
		if (i == 1)
			qi.schema_arg = NULL;
		rc = side_run(&sides[i], &qi, &e);
		if (rc && i == 1)
			err_prefix(&e, "--compare %s", sides[1].arg);
	}
	if (rc) {
		cli_fail(&e);
	} else if (json) {
		cJSON *out = n == 1 ? side_json(&sides[0]) : cJSON_CreateArray();
		if (n == 2 && out) {
			cJSON_AddItemToArray(out, side_json(&sides[0]));
			cJSON_AddItemToArray(out, side_json(&sides[1]));
		}
		char *text = out ? cJSON_Print(out) : NULL;
		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(out);
	} else if (n == 1) {
		print_one(&sides[0], top);
	} else {
		print_compare(&sides[0], &sides[1], top);
	}
	for (int i = 0; i < 2; i++)
		side_finish(&sides[i]);
	return rc;
}
