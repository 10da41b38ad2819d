/* Unit tests for core/checklist.c (and the calibration measures it
 * reports): gates files, a whole run on a small model trained on the Telco
 * data, degenerate test sets, sign-offs, and the operational items' judges
 * on recorded Prometheus answers and made-up registry facts.
 *
 * Calibration expectations come from scikit-learn 1.2.1
 * (calibration_curve(y, s, n_bins=10), brier_score_loss(y, s)) on the same
 * float32 scores. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "checklist.h"
#include "fileio.h"
#include "metrics.h"
#include "prom.h"
#include "store.h"
#include "train.h"
#include "triggers.h"

#define TELCO SOURCE_ROOT "/data/telco_churn.csv"

static void assert_close(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

static char *dir;       /* temporary directory of the group */
static char *model_dir; /* a model trained once for the group */

static char *path_in(const char *name)
{
	char *p = NULL;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Writes the Telco header and the rows for which KEEP(line, index) is true,
 * after EDIT (may be NULL) rewrote the line in place. */
static char *telco_subset(const char *name, bool (*keep)(const char *line, size_t i),
			  void (*edit)(char *line))
{
	FILE *in = fopen(TELCO, "r");
	assert_non_null(in);
	char *out_path = path_in(name);
	FILE *out = fopen(out_path, "w");
	assert_non_null(out);
	char *line = NULL;
	size_t cap = 0, i = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, in)) > 0) {
		if (i == 0 || keep(line, i)) {
			if (i && edit)
				edit(line);
			fputs(line, out);
		}
		i++;
	}
	free(line);
	fclose(in);
	fclose(out);
	return out_path;
}

static bool last_rows(const char *line, size_t i)
{
	(void)line;
	return i > 5600;
}

static bool no_churn(const char *line, size_t i)
{
	return i > 5000 && strncmp(line, "\"No\"", 4) == 0;
}

static void three_year(char *line)
{
	char *p = strstr(line, "\"Two year\"");
	if (p)
		memcpy(p, "\"Twx year\"", 10);
}

static int group_setup(void **state)
{
	(void)state;
	dir = strdup("/tmp/churnops-checklist-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	model_dir = path_in("model");
	struct train_opts o;
	train_opts_defaults(&o);
	o.data = TELCO;
	o.target = "churn";
	o.positive = "Yes";
	o.out_dir = model_dir;
	o.params.rounds = 20;
	o.folds = 3;
	struct err e = {0};
	if (train_run(&o, NULL, NULL, NULL, &e) != 0) {
		fprintf(stderr, "training failed: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", dir) > 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
	free(model_dir);
	free(dir);
	return 0;
}

static char *write_file(const char *name, const char *text)
{
	char *p = path_in(name);
	struct err e = {0};
	assert_int_equal(fileio_write_all(p, text, strlen(text), &e), 0);
	return p;
}

static void calibration(void **state)
{
	(void)state;
	const float y[] = {0, 0, 1, 1, 0, 1, 1, 0, 1, 0};
	const float s[] = {0.05f, 0.1f, 0.1f, 0.35f, 0.3f, 0.6f, 0.95f, 0.7f, 1.0f, 0.0f};
	struct metrics_calibration_bin b[10];
	metrics_calibration(s, y, 10, b, 10);
	/* 0.1f is a hair above 0.1, so it lands in the second bin, as in
	 * numpy.searchsorted on the float64 edges. */
	const size_t count[10] = {2, 2, 0, 2, 0, 0, 2, 0, 0, 2};
	const double pred[] = {0.02500000037252903, 0.10000000149011612, 0.32500000298023224,
			       0.6500000059604645, 0.9749999940395355};
	const double obs[] = {0.0, 0.5, 0.5, 0.5, 1.0};
	size_t k = 0;
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(b[i].count, count[i]);
		assert_close(b[i].lo, i / 10.0, 1e-15);
		if (!count[i]) {
			assert_true(isnan(b[i].mean_predicted));
			continue;
		}
		assert_close(b[i].mean_predicted, pred[k], 1e-15);
		assert_close(b[i].fraction_positive, obs[k], 1e-15);
		k++;
	}
	assert_close(b[9].hi, 1, 0);
	assert_close(metrics_brier(s, y, 10), 0.19874999780207883, 1e-15);
	/* One class: still defined. */
	const float y0[] = {0, 0};
	const float s0[] = {0.5f, 0.25f};
	assert_close(metrics_brier(s0, y0, 2), (0.25 + 0.0625) / 2, 1e-15);
	assert_true(isnan(metrics_brier(s0, y0, 0)));
}

static void gates(void **state)
{
	(void)state;
	struct checklist_gates g;
	checklist_gates_defaults(&g);
	assert_close(g.roc_auc_min, 0.85, 0);
	assert_close(g.precision_min, 0.75, 0);
	assert_close(g.recall_min, 0.70, 0);
	assert_close(g.f1_min, 0.72, 0);
	assert_close(g.cv_std_max, 0.05, 0);
	assert_close(g.latency_max_ms, 300, 0);
	assert_close(g.memory_max_mb, 2048, 0);
	assert_close(g.artifact_max_mb, 500, 0);
	assert_close(g.fairness_min, 0.8, 0);
	assert_int_equal(g.segment_min_size, 100);
	assert_int_equal(g.ncolumns, 4);

	struct err e = {0};
	char *f = write_file("gates.json",
			     "{\"roc_auc\": {\"min\": 0.8}, \"latency\": {\"max\": 50, \"calls\": 100},"
			     " \"segments\": {\"tolerance\": 0.1, \"columns\": [\"contract\","
			     " {\"name\": \"tenure\", \"bands\": [6, 60]}]},"
			     " \"fairness\": {\"attributes\": [\"female\"]},"
			     " \"business_impact\": {\"top_k\": 0.1, \"value_column\": \"total_charges\"},"
			     " \"monitoring\": {}}");
	assert_int_equal(checklist_gates_load(&g, f, &e), 0);
	assert_close(g.roc_auc_min, 0.8, 0);
	assert_int_equal(g.latency_calls, 100);
	assert_close(g.segment_tolerance, 0.1, 0);
	assert_int_equal(g.ncolumns, 2);
	assert_string_equal(g.columns[1].name, "tenure");
	assert_int_equal(g.columns[1].nbands, 2);
	assert_close(g.columns[1].bands[1], 60, 0);
	assert_int_equal(g.nattributes, 1);
	assert_close(g.business.top_k, 0.1, 0);
	assert_string_equal(g.business.value_column, "total_charges");
	checklist_gates_finish(&g);
	free(f);

	const struct {
		const char *json, *needle;
	} bad[] = {
		{"{\"roc_auk\": {\"min\": 0.8}}", "unknown checklist item 'roc_auk'"},
		{"{\"roc_auc\": {\"mni\": 0.8}}", "roc_auc: unknown setting 'mni'"},
		{"{\"roc_auc\": {\"min\": \"high\"}}", "roc_auc.min"},
		{"{\"roc_auc\": {\"min\": 2}}", "roc_auc.min"},
		{"{\"roc_auc\": 0.8}", "roc_auc: expected an object"},
		{"{\"latency\": {\"calls\": 10.5}}", "latency.calls"},
		{"{\"model_card\": {\"min\": 1}}", "this item takes none"},
		{"{\"segments\": {\"columns\": [1]}}", "segments.columns[0]"},
		{"[1]", "expected an object"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		checklist_gates_defaults(&g);
		f = write_file("bad.json", bad[i].json);
		assert_int_equal(checklist_gates_load(&g, f, &e), EXIT_INPUT);
		if (!strstr(e.msg, bad[i].needle) || !strstr(e.msg, "bad.json"))
			fail_msg("'%s' gave '%s'", bad[i].json, e.msg);
		checklist_gates_finish(&g);
		free(f);
	}
}

static const struct checklist_item *item(const struct checklist_report *r, const char *id)
{
	long i = checklist_find(id);
	assert_true(i >= 0);
	return &r->items[i];
}

/* Records the stages checklist_run() reports. */
struct stages {
	int steps[16];
	int n;
};

static void record_stage(void *ud, const char *stage, int step, int nsteps)
{
	struct stages *s = ud;
	assert_non_null(stage);
	assert_true(strlen(stage) > 0);
	assert_int_equal(nsteps, CHECKLIST_STAGES);
	if (s->n < 16)
		s->steps[s->n++] = step;
}

static void full_run(void **state)
{
	(void)state;
	char *test = telco_subset("test.csv", last_rows, NULL);
	char *db = path_in("store.db");
	struct err e = {0};
	struct store *st = store_open(db, &e);
	assert_non_null(st);
	struct checklist_gates g;
	checklist_gates_defaults(&g);
	g.latency_calls = 50;
	struct stages stages = {0};
	struct checklist_opts o = {.model_dir = model_dir, .data = test, .gates = &g, .store = st,
				   .progress = record_stage, .progress_ud = &stages};
	struct checklist_report r;
	if (checklist_run(&o, &r, &e))
		fail_msg("%s", e.msg);
	/* Every stage once, in order. */
	assert_int_equal(stages.n, CHECKLIST_STAGES);
	for (int i = 0; i < stages.n; i++)
		assert_int_equal(stages.steps[i], i + 1);
	assert_int_equal(r.rows, 1443);
	assert_int_equal(strlen(r.sha256), 64);
	for (size_t i = 0; i < CHECKLIST_NITEMS; i++) {
		assert_ptr_equal(r.items[i].def, &checklist_defs[i]);
		assert_non_null(r.items[i].threshold);
		assert_non_null(r.items[i].evidence);
	}
	assert_false(isnan(r.roc_auc));
	assert_true(item(&r, "roc_auc")->has_value);
	assert_int_equal(item(&r, "compatibility")->status, CHECKLIST_PASS);
	assert_int_equal(item(&r, "schema")->status, CHECKLIST_PASS);
	assert_int_equal(item(&r, "artifact_size")->status, CHECKLIST_PASS);
	assert_int_equal(item(&r, "latency")->status, CHECKLIST_PASS);
	assert_int_equal(item(&r, "memory")->status, CHECKLIST_PENDING);
	assert_int_equal(item(&r, "stakeholder_approval")->status, CHECKLIST_MANUAL);
	assert_int_equal(item(&r, "model_card")->status, CHECKLIST_PENDING);
	assert_int_equal(item(&r, "monitoring")->status, CHECKLIST_PENDING);
	assert_int_equal(item(&r, "rollback_plan")->status, CHECKLIST_PENDING);
	assert_int_equal(item(&r, "alert_thresholds")->status, CHECKLIST_PASS);
	assert_int_equal(item(&r, "cv_stability")->status, CHECKLIST_PASS);
	assert_true(r.segments.ngroups >= 12);
	assert_int_equal(r.nfairness, 2);
	assert_true(r.has_business);
	assert_int_not_equal(r.verdict, CHECKLIST_PASS);
	size_t total = 0;
	for (size_t i = 0; i < CHECKLIST_CAL_BINS; i++)
		total += r.calibration[i].count;
	assert_int_equal(total, r.rows);

	cJSON *js = checklist_to_json(&r);
	char *text = cJSON_PrintUnformatted(js);
	assert_non_null(strstr(text, "\"verdict\":"));
	assert_non_null(strstr(text, "\"items\":[{\"id\":\"roc_auc\",\"section\":\"performance\""));
	assert_null(strstr(text, "nan"));
	free(text);

	/* A sign-off given after the run shows when the stored report is
	 * refreshed, and only for this artifact's hash. */
	assert_int_equal(store_add_signoff(st, r.sha256, "stakeholder_approval", "Ana", "go", &e), 0);
	struct store_signoff *so;
	size_t n;
	assert_int_equal(store_list_signoffs(st, r.sha256, &so, &n, &e), 0);
	checklist_refresh_json(js, model_dir, r.sha256, so, n);
	text = cJSON_PrintUnformatted(js);
	assert_non_null(strstr(text, "signed off by Ana"));
	free(text);
	store_signoffs_free(so, n);
	cJSON_Delete(js);
	checklist_report_finish(&r);

	/* Gates everyone passes: the verdict is pending (sign-off, card,
	 * monitoring, rollback target), never pass. */
	char *f = write_file("easy.json",
			     "{\"roc_auc\": {\"min\": 0}, \"precision\": {\"min\": 0},"
			     " \"recall\": {\"min\": 0}, \"f1\": {\"min\": 0},"
			     " \"segments\": {\"tolerance\": 1}, \"fairness\": {\"min\": 0},"
			     " \"business_impact\": {\"min\": -1e12}}");
	assert_int_equal(checklist_gates_load(&g, f, &e), 0);
	assert_int_equal(checklist_run(&o, &r, &e), 0);
	assert_int_equal(r.verdict, CHECKLIST_PENDING);
	assert_int_equal(item(&r, "stakeholder_approval")->status, CHECKLIST_PASS);
	assert_non_null(strstr(item(&r, "stakeholder_approval")->evidence, "Ana"));
	checklist_report_finish(&r);
	free(f);

	/* A strict gate fails. */
	f = write_file("strict.json", "{\"roc_auc\": {\"min\": 0.999}}");
	assert_int_equal(checklist_gates_load(&g, f, &e), 0);
	assert_int_equal(checklist_run(&o, &r, &e), 0);
	assert_int_equal(item(&r, "roc_auc")->status, CHECKLIST_FAIL);
	assert_int_equal(r.verdict, CHECKLIST_FAIL);
	checklist_report_finish(&r);
	free(f);

	checklist_gates_finish(&g);
	store_close(st);
	free(db);
	free(test);
}

static void one_class(void **state)
{
	(void)state;
	char *test = telco_subset("negatives.csv", no_churn, NULL);
	struct checklist_gates g;
	checklist_gates_defaults(&g);
	g.latency_calls = 20;
	struct checklist_opts o = {.model_dir = model_dir, .data = test, .gates = &g};
	struct checklist_report r;
	struct err e = {0};
	if (checklist_run(&o, &r, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(r.positives, 0);
	assert_true(isnan(r.roc_auc));
	assert_int_equal(item(&r, "roc_auc")->status, CHECKLIST_FAIL);
	assert_false(item(&r, "roc_auc")->has_value);
	assert_non_null(strstr(item(&r, "roc_auc")->evidence, "undefined"));
	assert_int_equal(r.verdict, CHECKLIST_FAIL);
	cJSON *js = checklist_to_json(&r);
	char *text = cJSON_PrintUnformatted(js);
	assert_null(strstr(text, "nan"));
	assert_non_null(strstr(text, "\"roc_auc\":null"));
	assert_non_null(strstr(text, "\"undefined\":{\"roc_auc\":"));
	free(text);
	cJSON_Delete(js);
	checklist_report_finish(&r);
	checklist_gates_finish(&g);
	free(test);
}

static void unseen_levels(void **state)
{
	(void)state;
	char *test = telco_subset("unseen.csv", last_rows, three_year);
	struct checklist_gates g;
	checklist_gates_defaults(&g);
	g.latency_calls = 20;
	struct checklist_opts o = {.model_dir = model_dir, .data = test, .gates = &g};
	struct checklist_report r;
	struct err e = {0};
	assert_int_equal(checklist_run(&o, &r, &e), 0);
	const struct checklist_item *it = item(&r, "schema");
	assert_int_equal(it->status, CHECKLIST_FAIL);
	assert_non_null(strstr(it->evidence, "contract"));
	assert_non_null(strstr(it->evidence, "Twx year"));
	checklist_report_finish(&r);

	/* A test file that does not encode at all is bad input. */
	char *bad = write_file("bad.csv", "churn,tenure\nYes,abc\n");
	o.data = bad;
	assert_int_equal(checklist_run(&o, &r, &e), EXIT_INPUT);
	checklist_gates_finish(&g);
	free(bad);
	free(test);
}

static void signable(void **state)
{
	(void)state;
	assert_true(checklist_signable("stakeholder_approval"));
	assert_false(checklist_signable("roc_auc"));
	assert_false(checklist_signable("nope"));
	assert_int_equal(checklist_find("alert_thresholds"), CL_ALERT_THRESHOLDS);
	assert_int_equal(CHECKLIST_NITEMS, 18);
}

/* ---- the operational items' judges ---- */

/* A recorded answer of Prometheus' /api/v1/query, parsed. */
static void parse_answer(const char *body, struct prom_result *r)
{
	struct err e = {0};
	if (prom_parse(body, strlen(body), 200, NULL, r, &e))
		fail_msg("%s", e.msg);
}

static void series_with_data(void **state)
{
	(void)state;
	struct prom_result r = {0};
	/* Two series, one of them NaN (a histogram_quantile over no requests). */
	parse_answer("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
		     "{\"metric\":{\"deployment\":\"churn-prediction\"},\"value\":[1700000000,\"0.91\"]},"
		     "{\"metric\":{\"deployment\":\"churn-prediction-canary\"},\"value\":[1700000000,\"NaN\"]}]}}",
		     &r);
	assert_int_equal(checklist_series_with_data(&r), 1);
	prom_result_finish(&r);
	parse_answer("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", &r);
	assert_int_equal(checklist_series_with_data(&r), 0);
	prom_result_finish(&r);
	parse_answer("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		     "\"result\":[1700000000,\"NaN\"]}}",
		     &r);
	assert_int_equal(checklist_series_with_data(&r), 0);
	prom_result_finish(&r);
	parse_answer("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		     "{\"metric\":{},\"values\":[[1700000000,\"NaN\"],[1700000015,\"0.02\"]]}]}}",
		     &r);
	assert_int_equal(checklist_series_with_data(&r), 1);
	prom_result_finish(&r);
}

static void judge_monitoring(void **state)
{
	(void)state;
	struct checklist_item it = {0};
	struct checklist_probe p[3] = {
		{"roc_auc", "min(model_performance_score{namespace=\"ns\"})", NULL, 1},
		{"latency_p95", "histogram_quantile(0.95, x)", NULL, 2},
		{"error_rate", "sum(rate(prediction_errors_total[5m]))", NULL, 1},
	};
	checklist_judge_monitoring(&it, "production", "http://prom:9090", NULL, p, 3);
	assert_ptr_equal(it.def, &checklist_defs[CL_MONITORING]);
	assert_int_equal(it.status, CHECKLIST_PASS);
	assert_true(it.has_value);
	assert_close(it.value, 3, 0);
	assert_non_null(strstr(it.evidence, "http://prom:9090"));
	assert_non_null(strstr(it.evidence, "latency_p95 (2 series)"));

	/* Reachable, but one query has no data and one was refused. */
	p[1].nseries = 0;
	p[2].error = "prometheus: bad_data: parse error";
	checklist_judge_monitoring(&it, "production", "http://prom:9090", NULL, p, 3);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_close(it.value, 1, 0);
	assert_non_null(strstr(it.evidence, "2 of 3 trigger queries for production return no data"));
	assert_non_null(strstr(it.evidence, "latency_p95, error_rate"));
	assert_non_null(strstr(it.evidence, "histogram_quantile(0.95, x)"));
	assert_non_null(strstr(it.evidence, "bad_data"));
	assert_null(strstr(it.evidence, "roc_auc:"));

	/* Not there at all: pending, with the reason as evidence. */
	checklist_judge_monitoring(&it, "production", "http://prom:9090",
				   "Prometheus at http://prom:9090 did not answer: refused", p, 3);
	assert_int_equal(it.status, CHECKLIST_PENDING);
	assert_false(it.has_value);
	assert_string_equal(it.evidence, "Prometheus at http://prom:9090 did not answer: refused");
	assert_non_null(strstr(it.threshold, "Prometheus reachable"));

	/* No trigger query at all is nothing watched. */
	checklist_judge_monitoring(&it, "staging", "http://prom:9090", NULL, NULL, 0);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_non_null(strstr(it.evidence, "nothing to watch"));
	checklist_item_finish(&it);
}

static void judge_rollback(void **state)
{
	(void)state;
	const char *self = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	struct checklist_item it = {0};
	struct checklist_rollback_candidate c[3] = {
		{"the current production version", "1.1.0", other, NULL},
		{"the last-known-good version", "1.0.0", other, NULL},
	};
	checklist_judge_rollback(&it, "production", "the sqlite registry (store)", self, NULL, c,
				 2);
	assert_ptr_equal(it.def, &checklist_defs[CL_ROLLBACK_PLAN]);
	assert_int_equal(it.status, CHECKLIST_PASS);
	assert_string_equal(it.value_text, "1.1.0");
	assert_non_null(strstr(it.evidence, "1.1.0, the current production version"));

	/* The current version is this artifact, the alias's artifact is
	 * broken: the previous production version serves. */
	c[0].sha256 = self;
	c[1].problem = "artifact sha256 mismatch";
	c[2] = (struct checklist_rollback_candidate){"the previous production version", "0.9.0",
						     other, NULL};
	checklist_judge_rollback(&it, "production", "the registry", self, NULL, c, 3);
	assert_int_equal(it.status, CHECKLIST_PASS);
	assert_string_equal(it.value_text, "0.9.0");
	assert_non_null(strstr(it.evidence, "1.1.0: is the artifact being validated"));
	assert_non_null(strstr(it.evidence, "1.0.0: artifact sha256 mismatch"));

	/* Nothing else to go back to. */
	c[2] = (struct checklist_rollback_candidate){"the previous production version", NULL, NULL,
						     "no previous production version"};
	checklist_judge_rollback(&it, "production", "the registry", self, NULL, c, 3);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_null(it.value_text);
	assert_non_null(strstr(it.evidence, "no previous production version"));

	/* An empty registry: the first production version. */
	checklist_judge_rollback(&it, "production", "the registry", self, NULL, NULL, 0);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_non_null(strstr(it.evidence, "first production version"));

	checklist_judge_rollback(&it, "production", "", self, "no registry could be opened: x",
				 NULL, 0);
	assert_int_equal(it.status, CHECKLIST_PENDING);
	assert_string_equal(it.evidence, "no registry could be opened: x");
	checklist_item_finish(&it);
}

static void judge_thresholds(void **state)
{
	(void)state;
	struct trigger_config c;
	struct err e = {0};
	struct checklist_item it = {0};
	assert_int_equal(triggers_config_defaults(&c, &e), 0);
	checklist_judge_thresholds(&it, &c, NULL, NULL);
	assert_ptr_equal(it.def, &checklist_defs[CL_ALERT_THRESHOLDS]);
	assert_int_equal(it.status, CHECKLIST_PASS);
	assert_close(it.value, 4, 0);
	assert_string_equal(it.threshold, "every trigger has a threshold (4 of 4)");
	assert_non_null(strstr(it.evidence, "built-in triggers"));
	assert_non_null(strstr(it.evidence, "roc_auc < "));
	assert_non_null(strstr(it.evidence, "drift > "));
	assert_non_null(strstr(it.evidence, "Monitored without a trigger: throughput"));
	triggers_config_finish(&c);

	/* The user's file: a new trigger counts, a guide trigger switched off
	 * fails. */
	char *f = write_file("triggers.json",
			     "{\"metrics\": {\"drift\": {\"trigger\": false},"
			     " \"queue\": {\"query\": \"queue_depth\", \"op\": \">\","
			     " \"threshold\": 10, \"for\": \"1m\"}}}");
	assert_int_equal(triggers_config_load(&c, f, &e), 0);
	checklist_judge_thresholds(&it, &c, f, NULL);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_non_null(strstr(it.evidence, f));
	assert_non_null(strstr(it.evidence, "queue > "));
	assert_non_null(strstr(it.evidence, "asks for it: drift"));
	triggers_config_finish(&c);
	free(f);

	checklist_judge_thresholds(&it, NULL, NULL, "triggers.json: metrics: must be an object");
	assert_int_equal(it.status, CHECKLIST_FAIL);
	assert_non_null(strstr(it.evidence, "must be an object"));
	checklist_item_finish(&it);
}

/* The context as the CLI opens it, without Prometheus: monitoring pending
 * with the reason; an empty embedded registry: rollback_plan fails. */
static void context(void **state)
{
	(void)state;
	char *home = path_in("home");
	setenv("CHURNOPS_HOME", home, 1);
	unsetenv("PROMETHEUS_URL");
	unsetenv("MLFLOW_TRACKING_URI");
	char *db = path_in("context.db");
	struct err e = {0};
	struct store *st = store_open(db, &e);
	assert_non_null(st);
	struct checklist_context x;
	struct checklist_context_opts o = {.store = st};
	if (checklist_context_open(&x, &o, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(x.env, "production");
	assert_null(x.prom);
	assert_non_null(x.reg);
	assert_null(x.triggers_path);

	cJSON *rep = cJSON_Parse(
		"{\"verdict\": \"pass\", \"model\": {\"sha256\": \"abc\"}, \"items\": ["
		"{\"id\": \"roc_auc\", \"status\": \"pass\"},"
		"{\"id\": \"monitoring\", \"status\": \"pass\"},"
		"{\"id\": \"rollback_plan\", \"status\": \"pass\"},"
		"{\"id\": \"alert_thresholds\", \"status\": \"pass\"}]}");
	checklist_refresh_ops_json(rep, &x);
	const cJSON *items = cJSON_GetObjectItem(rep, "items");
	const cJSON *mon = cJSON_GetArrayItem(items, 1), *rb = cJSON_GetArrayItem(items, 2),
		    *thr = cJSON_GetArrayItem(items, 3);
	assert_string_equal(cJSON_GetObjectItem(mon, "status")->valuestring, "pending");
	assert_non_null(strstr(cJSON_GetObjectItem(mon, "evidence")->valuestring,
			       "no Prometheus configured for production"));
	assert_string_equal(cJSON_GetObjectItem(rb, "status")->valuestring, "fail");
	assert_non_null(strstr(cJSON_GetObjectItem(rb, "evidence")->valuestring,
			       "first production version"));
	assert_string_equal(cJSON_GetObjectItem(thr, "status")->valuestring, "pass");
	assert_string_equal(cJSON_GetObjectItem(rep, "verdict")->valuestring, "fail");
	assert_string_equal(cJSON_GetObjectItem(rep, "env")->valuestring, "production");
	cJSON_Delete(rep);
	checklist_context_close(&x);

	/* A broken CONFIG/triggers.json fails alert_thresholds; the same file
	 * named with --triggers is refused outright. */
	char *cfg = path_in("home/config");
	assert_int_equal(fileio_mkdirs(cfg, &e), 0);
	char *tf = write_file("home/config/triggers.json", "{\"metrics\": 1}");
	if (checklist_context_open(&x, &o, &e))
		fail_msg("%s", e.msg);
	assert_non_null(x.triggers_error);
	struct checklist_item it = {0};
	checklist_judge_thresholds(&it, x.has_triggers ? &x.triggers : NULL, x.triggers_path,
				   x.triggers_error);
	assert_int_equal(it.status, CHECKLIST_FAIL);
	checklist_item_finish(&it);
	checklist_context_close(&x);
	o.triggers = tf;
	assert_int_equal(checklist_context_open(&x, &o, &e), EXIT_INPUT);
	unlink(tf);

	/* Unknown environments and bad URLs asked for by name are refused. */
	o.triggers = NULL;
	o.env = "qa";
	assert_int_equal(checklist_context_open(&x, &o, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "unknown environment 'qa'"));
	o.env = "staging";
	o.prometheus = "prom:9090";
	assert_int_equal(checklist_context_open(&x, &o, &e), EXIT_INPUT);
	o.prometheus = "http://127.0.0.1:9";
	assert_int_equal(checklist_context_open(&x, &o, &e), 0);
	assert_non_null(x.prom);
	checklist_context_close(&x);
	store_close(st);
	unsetenv("CHURNOPS_HOME");
	free(tf);
	free(cfg);
	free(db);
	free(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(calibration),
		cmocka_unit_test(gates),
		cmocka_unit_test(signable),
		cmocka_unit_test(full_run),
		cmocka_unit_test(one_class),
		cmocka_unit_test(unseen_levels),
		cmocka_unit_test(series_with_data),
		cmocka_unit_test(judge_monitoring),
		cmocka_unit_test(judge_rollback),
		cmocka_unit_test(judge_thresholds),
		cmocka_unit_test(context),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
