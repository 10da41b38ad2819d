#include "card.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Text from files and people goes into Markdown table cells and lines:
 * pipes are escaped, line breaks and other control characters become
 * spaces, so a cell cannot break the table or inject markup lines. */
static void md(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '|')
			fputs("\\|", f);
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', f);
		else
			fputc(c, f);
	}
}

/* A number of OBJ[KEY] with %.4f, or "undefined" when null or absent. */
static void num(FILE *f, const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		fprintf(f, "%.4f", v->valuedouble);
	else
		fputs("undefined", f);
}

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static void details(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Model details\n\n| | |\n|---|---|\n");
	fprintf(f, "| Type | ");
	md(f, in->model_type);
	fprintf(f, " |\n| Version | ");
	md(f, in->version);
	fprintf(f, " |\n| Artifact | `");
	md(f, in->model_dir);
	fprintf(f, "/model.json` |\n| sha256 | `%s` |\n", in->sha256);
	fprintf(f, "| Library | XGBoost %s (libxgboost, C API) |\n", in->library_version);
	fprintf(f, "| Objective | ");
	md(f, in->objective ? in->objective : "unknown");
	fprintf(f, " |\n| Created | ");
	md(f, json_str(in->eval, "created") ? json_str(in->eval, "created") : "unknown");
	fprintf(f, " |\n");
	if (json_has_num(in->eval, "best_iteration"))
		fprintf(f, "| Best iteration | %g |\n", json_num(in->eval, "best_iteration", 0));
	const cJSON *params = get(in->eval, "params"), *p;
	if (cJSON_IsObject(params)) {
		fprintf(f, "\nTraining parameters: ");
		bool first = true;
		cJSON_ArrayForEach(p, params)
		{
			fprintf(f, "%s`", first ? "" : ", ");
			md(f, p->string);
			if (cJSON_IsNumber(p))
				fprintf(f, "=%g`", p->valuedouble);
			else if (cJSON_IsString(p)) {
				fputc('=', f);
				md(f, p->valuestring);
				fputc('`', f);
			} else
				fputc('`', f);
			first = false;
		}
		fprintf(f, ".\n");
	}
	if (in->schema) {
		fprintf(f, "\nFeatures (%zu, in model order): ", in->schema->nfeatures);
		for (size_t i = 0; i < in->schema->nfeatures; i++) {
			const struct schema_feature *sf = &in->schema->features[i];
			fprintf(f, "%s`", i ? ", " : "");
			md(f, sf->name);
			if (sf->type == SCHEMA_CATEGORICAL)
				fprintf(f, "` (%zu levels)", sf->nlevels);
			else
				fprintf(f, "`");
		}
		fprintf(f, ".\n");
	}
	fprintf(f, "\n");
}

static void intended_use(FILE *f)
{
	fprintf(f,
		"## Intended use\n\n"
		"Estimates the probability that an existing subscription customer cancels "
		"(churns), from account, contract, service and billing attributes, so that "
		"retention teams can rank customers for proactive offers.\n\n"
		"- Intended users: retention and CRM teams, analysts planning campaigns, the "
		"operations team that serves the model.\n"
		"- Intended decisions: who to contact first, and how large a campaign pays.\n"
		"- Out of scope: decisions with legal or similarly significant effects on a "
		"person (credit, pricing, termination, eligibility); individual adverse actions "
		"without human review; populations unlike the training data (other markets, "
		"products or eras).\n\n");
}

static void training_data(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Training data\n\n");
	const cJSON *data = get(in->eval, "data");
	if (!in->eval) {
		fprintf(f, "No eval.json in the model directory: the training data is not recorded.\n\n");
		return;
	}
	fprintf(f, "- Source: `");
	md(f, json_str(data, "path") ? json_str(data, "path") : "unknown");
	fprintf(f, "`");
	if (json_has_num(data, "rows"))
		fprintf(f, ", %g rows", json_num(data, "rows", 0));
	fprintf(f, "\n");
	if (in->schema && in->schema->target) {
		fprintf(f, "- Target: `");
		md(f, in->schema->target);
		fprintf(f, "`, positive label `");
		md(f, in->schema->positive ? in->schema->positive : "?");
		fprintf(f, "`\n");
	}
	if (json_has_num(in->eval, "train_rows"))
		fprintf(f, "- Split: %g training rows, %g hold-out rows (stratified)\n",
			json_num(in->eval, "train_rows", 0), json_num(in->eval, "test_rows", 0));
	if (json_has_num(in->eval, "positive_rate"))
		fprintf(f, "- Churn rate: %.4f\n", json_num(in->eval, "positive_rate", 0));
	fprintf(f, "\n");
}

static void evaluation(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Evaluation\n\n");
	if (in->eval) {
		fprintf(f, "Hold-out set (eval.json, %g rows), threshold %g:\n\n",
			json_num(in->eval, "test_rows", 0), json_num(in->eval, "threshold", 0.5));
		fprintf(f, "| ROC-AUC | PR-AUC | Precision | Recall | F1 |\n|---|---|---|---|---|\n| ");
		num(f, in->eval, "roc_auc");
		fprintf(f, " | ");
		num(f, in->eval, "pr_auc");
		fprintf(f, " | ");
		num(f, in->eval, "precision");
		fprintf(f, " | ");
		num(f, in->eval, "recall");
		fprintf(f, " | ");
		num(f, in->eval, "f1");
		fprintf(f, " |\n\n");
		const cJSON *cv = get(in->eval, "cv");
		if (cJSON_IsObject(cv) && json_num(cv, "folds", 0) >= 2) {
			fprintf(f, "Cross-validation: %g folds, ROC-AUC ", json_num(cv, "folds", 0));
			num(f, cv, "roc_auc_mean");
			fprintf(f, " ± ");
			num(f, cv, "roc_auc_std");
			fprintf(f, " (population std).\n\n");
		} else {
			fprintf(f, "Cross-validation: not run.\n\n");
		}
	}
	const cJSON *m = get(in->report, "metrics");
	if (!m) {
		fprintf(f, "No validation report: test-set metrics and calibration were not "
			   "measured (churnops validate --model DIR --data TEST.csv --json > "
			   "report.json, then --evaluation-results report.json).\n\n");
		return;
	}
	fprintf(f, "Test set `");
	md(f, json_str(in->report, "data") ? json_str(in->report, "data") : "?");
	fprintf(f, "` (%g rows, %g churned; from ", json_num(m, "rows", 0), json_num(m, "positives", 0));
	md(f, in->report_source ? in->report_source : "a validate report");
	fprintf(f, "), threshold %g:\n\n", json_num(m, "threshold", 0.5));
	fprintf(f, "| ROC-AUC | PR-AUC | Precision | Recall | F1 | Brier |\n"
		   "|---|---|---|---|---|---|\n| ");
	const char *keys[] = {"roc_auc", "pr_auc", "precision", "recall", "f1", "brier"};
	for (size_t i = 0; i < 6; i++) {
		num(f, m, keys[i]);
		fprintf(f, " |%s", i < 5 ? " " : "\n\n");
	}
	const cJSON *u = get(m, "undefined"), *x;
	cJSON_ArrayForEach(x, u)
	{
		fprintf(f, "- `%s` is undefined: ", x->string);
		md(f, cJSON_IsString(x) ? x->valuestring : "");
		fprintf(f, "\n");
	}
	if (cJSON_GetArraySize(u))
		fprintf(f, "\n");
	fprintf(f, "### Calibration\n\nReliability over ten equal-width bins of the predicted "
		   "probability (a calibrated model has observed ≈ predicted); Brier score ");
	num(f, m, "brier");
	fprintf(f, ".\n\n| Bin | Rows | Mean predicted | Observed churn rate |\n|---|---|---|---|\n");
	const cJSON *b;
	cJSON_ArrayForEach(b, get(m, "calibration"))
	{
		fprintf(f, "| %.1f-%.1f | %g | ", json_num(b, "lo", 0), json_num(b, "hi", 0),
			json_num(b, "count", 0));
		if (json_num(b, "count", 0) > 0) {
			num(f, b, "mean_predicted");
			fprintf(f, " | ");
			num(f, b, "fraction_positive");
		} else {
			fprintf(f, "- | -");
		}
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void segments(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Segments\n\n");
	const cJSON *segs = get(get(in->report, "metrics"), "segments"), *g;
	if (!cJSON_IsArray(segs)) {
		fprintf(f, "Not measured (needs a validation report).\n\n");
		return;
	}
	fprintf(f, "| Column | Segment | Rows | Churned | ROC-AUC | Recall | Judged |\n"
		   "|---|---|---|---|---|---|---|\n");
	cJSON_ArrayForEach(g, segs)
	{
		fprintf(f, "| ");
		md(f, json_str(g, "column"));
		fprintf(f, " | ");
		md(f, json_str(g, "segment"));
		fprintf(f, " | %g | %g | ", json_num(g, "rows", 0), json_num(g, "positives", 0));
		num(f, g, "roc_auc");
		fprintf(f, " | ");
		num(f, g, "recall");
		fprintf(f, " | %s |\n", cJSON_IsTrue(get(g, "judged")) ? "yes" : "no (too small or one class)");
	}
	fprintf(f, "\n");
}

static void fairness(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Fairness\n\n");
	const cJSON *fa = get(get(in->report, "metrics"), "fairness"), *a;
	if (!cJSON_IsArray(fa)) {
		fprintf(f, "Not measured (needs a validation report).\n\n");
		return;
	}
	fprintf(f, "Ratios of the lowest to the highest group value among groups of a protected "
		   "attribute; the four-fifths rule asks for at least 0.8.\n\n"
		   "| Attribute | Recall ratio | Positive-rate ratio | Four-fifths rule |\n"
		   "|---|---|---|---|\n");
	cJSON_ArrayForEach(a, fa)
	{
		fprintf(f, "| ");
		md(f, json_str(a, "attribute"));
		fprintf(f, " | ");
		num(f, a, "recall_ratio");
		fprintf(f, " | ");
		num(f, a, "positive_rate_ratio");
		fprintf(f, " | %s |\n", !cJSON_IsTrue(get(a, "judged")) ? "not judged"
					: cJSON_IsTrue(get(a, "pass")) ? "met"
								       : "NOT met");
	}
	fprintf(f, "\n");
}

static void business(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Business impact\n\n");
	const cJSON *b = get(get(in->report, "metrics"), "business_impact");
	if (!cJSON_IsObject(b)) {
		fprintf(f, "Not simulated (needs a validation report).\n\n");
		return;
	}
	const cJSON *p = get(b, "parameters");
	fprintf(f, "A retention campaign contacting the top %g %% of customers by score (%g of %g), "
		   "each contact costing %g, with %g %% of contacted churners accepting the offer "
		   "and staying, a customer being worth `",
		json_num(p, "top_k", 0) * 100, json_num(b, "contacted", 0), json_num(b, "rows", 0),
		json_num(p, "contact_cost", 0), json_num(p, "acceptance_rate", 0) * 100);
	md(f, json_str(p, "value_column"));
	fprintf(f, "` × %g months:\n\n", json_num(p, "horizon_months", 0));
	fprintf(f, "| Expected saved | Cost | Net value | Net, random targeting | Net vs random |\n"
		   "|---|---|---|---|---|\n| ");
	const char *keys[] = {"saved", "cost", "net_value", "random_net_value", "net_vs_random"};
	for (size_t i = 0; i < 5; i++) {
		num(f, b, keys[i]);
		fprintf(f, " |%s", i < 4 ? " " : "\n\n");
	}
	fprintf(f, "Contacting nobody is worth 0.\n\n| Decile | Rows | Churned | Lift | Cumulative lift | "
		   "Cumulative gain |\n|---|---|---|---|---|---|\n");
	const cJSON *l;
	cJSON_ArrayForEach(l, get(b, "lift"))
	{
		fprintf(f, "| %g | %g | %g | ", json_num(l, "decile", 0), json_num(l, "rows", 0),
			json_num(l, "positives", 0));
		num(f, l, "lift");
		fprintf(f, " | ");
		num(f, l, "cumulative_lift");
		fprintf(f, " | ");
		num(f, l, "cumulative_gain");
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static void drift(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Drift at training time\n\n");
	if (!in->drift) {
		fprintf(f, "Not given (churnops drift --reference TRAIN.csv --current TEST.csv "
			   "--model DIR --json > drift.json, then --drift drift.json).\n\n");
		return;
	}
	const cJSON *ov = get(in->drift, "overall");
	fprintf(f, "Population Stability Index of each feature between %g reference and %g "
		   "current rows. Overall drift score (max feature PSI): ",
		json_num(in->drift, "reference_rows", 0), json_num(in->drift, "current_rows", 0));
	num(f, ov, "score");
	fprintf(f, " (");
	md(f, json_str(ov, "band"));
	fprintf(f, "); mean PSI ");
	num(f, ov, "mean_psi");
	fprintf(f, ".\n\n| Feature | Type | PSI | Band |\n|---|---|---|---|\n");
	const cJSON *x;
	cJSON_ArrayForEach(x, get(in->drift, "features"))
	{
		fprintf(f, "| ");
		md(f, json_str(x, "name"));
		fprintf(f, " | ");
		md(f, json_str(x, "type"));
		fprintf(f, " | ");
		num(f, x, "psi");
		fprintf(f, " | ");
		md(f, json_str(x, "band"));
		fprintf(f, " |\n");
	}
	const cJSON *sc = get(in->drift, "score");
	if (cJSON_IsObject(sc)) {
		fprintf(f, "| *score distribution* | | ");
		num(f, sc, "psi");
		fprintf(f, " | ");
		md(f, json_str(sc, "band"));
		fprintf(f, " |\n");
	}
	fprintf(f, "\n");
}

static const cJSON *find_item(const cJSON *report, const char *id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, get(report, "items"))
	{
		const char *x = json_str(it, "id");
		if (x && strcmp(x, id) == 0)
			return it;
	}
	return NULL;
}

static void limitations(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Limitations\n\n"
		   "- Trained on one historical snapshot; customer behaviour, prices and offers "
		   "change, so performance must be watched (drift and ROC-AUC triggers) and the "
		   "model retrained.\n"
		   "- Scores rank customers by risk; they are not causal: a high score does not say "
		   "an offer will change the outcome.\n"
		   "- Levels not seen in training (a new contract type, a new payment method) are "
		   "scored as missing.\n"
		   "- The business simulation's cost, acceptance rate and customer value are "
		   "assumptions, not measurements.\n");
	const char *flagged[] = {"segments", "fairness", "roc_auc", "recall", "precision"};
	for (size_t i = 0; i < sizeof flagged / sizeof flagged[0]; i++) {
		const cJSON *it = find_item(in->report, flagged[i]);
		const char *st = json_str(it, "status");
		if (st && strcmp(st, "fail") == 0) {
			fprintf(f, "- Validation found `%s` below its gate: ", flagged[i]);
			md(f, json_str(it, "evidence"));
			fprintf(f, "\n");
		}
	}
	const cJSON *u = get(get(in->report, "metrics"), "undefined");
	if (cJSON_GetArraySize(u))
		fprintf(f, "- Some metrics are undefined on the test set (one class only): the "
			   "evaluation above cannot vouch for ranking quality.\n");
	fprintf(f, "\n");
}

static void checklist(FILE *f, const struct card_input *in)
{
	fprintf(f, "## Checklist\n\n");
	const cJSON *items = get(in->report, "items"), *it;
	if (!cJSON_IsArray(items)) {
		fprintf(f, "No validation report for this artifact yet.\n\n");
	} else {
		fprintf(f, "Verdict: **%s** (", json_str(in->report, "verdict") ? json_str(in->report, "verdict") : "?");
		md(f, in->report_source ? in->report_source : "validate report");
		fprintf(f, ").\n\n| Item | Section | Status | Value | Threshold |\n|---|---|---|---|---|\n");
		cJSON_ArrayForEach(it, items)
		{
			const char *id = json_str(it, "id");
			bool self = id && strcmp(id, "model_card") == 0;
			fprintf(f, "| ");
			md(f, id);
			fprintf(f, " | ");
			md(f, json_str(it, "section"));
			fprintf(f, " | %s | ", self ? "this card" : json_str(it, "status") ? json_str(it, "status") : "?");
			const cJSON *v = get(it, "value");
			if (cJSON_IsNumber(v))
				fprintf(f, "%.4g %s", v->valuedouble, json_str(it, "unit") ? json_str(it, "unit") : "");
			else if (cJSON_IsString(v))
				md(f, v->valuestring);
			else
				fputs("-", f);
			fprintf(f, " | ");
			md(f, json_str(it, "threshold"));
			fprintf(f, " |\n");
		}
		fprintf(f, "\n");
	}
	fprintf(f, "Sign-offs for sha256 `%s`:%s\n", in->sha256, in->nsignoffs ? "\n" : " none.");
	for (size_t i = 0; i < in->nsignoffs; i++) {
		const struct store_signoff *s = &in->signoffs[i];
		fprintf(f, "- `");
		md(f, s->item);
		fprintf(f, "` signed off by ");
		md(f, s->by);
		fprintf(f, " at %s", s->at);
		if (*s->note) {
			fprintf(f, ": ");
			md(f, s->note);
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
}

int card_render(const struct card_input *in, char **out, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return err_set(e, EXIT_INPUT, "out of memory");
	fprintf(f, "# Model card: ");
	md(f, in->model_type);
	fprintf(f, " ");
	md(f, in->version);
	fprintf(f, "\n\nsha256 `%s`\n\n", in->sha256);
	details(f, in);
	intended_use(f);
	training_data(f, in);
	evaluation(f, in);
	segments(f, in);
	fairness(f, in);
	business(f, in);
	drift(f, in);
	limitations(f, in);
	checklist(f, in);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	*out = buf;
	return 0;
}
