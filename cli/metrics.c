/* churnops metrics, alerts and watch: the model's live metrics from
 * Prometheus and the rollback triggers on them (core/prom, core/triggers).
 *
 *   metrics  the key series now and, with --range, over a range
 *   alerts   each trigger's state, rebuilt from the range it needs
 *   alerts history
 *            the state transitions recorded in the store, newest first
 *   watch    evaluates the triggers every interval, recording each
 *            evaluation in the store; when one fires it says what the
 *            environment's policy would do and exits 1
 *
 * Under policy auto, watch executes the rollback plan itself when a trigger
 * fires (cli/actions.c: rollback to the previous version with --strategy,
 * journaled and audited as done by a trigger), then exits 1 as for any
 * firing trigger.
 * Prometheus comes from --prometheus, PROMETHEUS_URL or the environment's
 * "prometheus" in the triggers file (in that order); the triggers file is
 * --triggers or CONFIG_DIR/triggers.json when it exists.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "fileio.h"
#include "json.h"
#include "prom.h"
#include "sanitize.h"
#include "store.h"
#include "triggers.h"

#define COMMON_OPTIONS                                                                  \
	{ "env", "ENV", "environment: staging, production or one from the triggers file" }, \
	{ "prometheus", "URL", "Prometheus base URL (default: $PROMETHEUS_URL)" },        \
	{ "triggers", "FILE", "metric and trigger overrides (default: CONFIG/triggers.json)" }, \
	{ "version", "V", "model version, for queries that use {version}" },              \
	{ "json", NULL, "print JSON instead of text" }

static const struct cli_option metrics_options[] = {
	COMMON_OPTIONS,
	{ "range", "DURATION", "also fetch each series over this range (like 1h)" },
	{ "step", "DURATION", "resolution of --range (default: range / 60)" },
	{ "canary", NULL, "compare the canary with stable (exit 1 when it is worse)" },
	{ NULL, NULL, NULL },
};

static const struct cli_option alerts_options[] = {
	COMMON_OPTIONS,
	{ NULL, NULL, NULL },
};

static const struct cli_option render_options[] = {
	{ "env", "ENV", "only this environment's rules (default: every environment)" },
	{ "triggers", "FILE", "metric and trigger overrides (default: CONFIG/triggers.json)" },
	{ "out", "FILE", "write the rules here (default: standard output)" },
	{ NULL, NULL, NULL },
};

static const struct cli_option history_options[] = {
	{ "env", "ENV", "only this environment (default: every environment)" },
	{ "metric", "NAME", "only this metric (its name, like latency_p95)" },
	{ "since", "DURATION", "only transitions in this past duration (like 1h)" },
	{ "triggers", "FILE", "metric and trigger overrides, for the values' units" },
	{ "json", NULL, "print JSON instead of text" },
	{ NULL, NULL, NULL },
};

static const struct cli_option watch_options[] = {
	COMMON_OPTIONS,
	{ "once", NULL, "evaluate once and exit (1 when a trigger fires)" },
	{ "strategy", "rolling|blue-green|canary", "policy auto: the rollback's strategy (default: the configured one, else rolling)" },
	{ "interval", "DURATION", "evaluation interval (default: the file's, else 15s)" },
	{ NULL, NULL, NULL },
};

static int run_metrics(int argc, char **argv);
static int run_alerts(int argc, char **argv);
static int run_watch(int argc, char **argv);
static int run_render(int argc, char **argv);
static int run_history(int argc, char **argv);

const struct cli_command cli_metrics_command = {
	.name = "metrics",
	.synopsis = "--env ENV [--range 1h [--step 30s]] [--canary] [--json]",
	.summary = "Show the model's live metrics from Prometheus.",
	.options = metrics_options,
	.run = run_metrics,
};

const struct cli_command cli_alerts_command = {
	.name = "alerts",
	.synopsis = "--env ENV [--json]  |  churnops alerts render [--env ENV] [--out FILE]"
		    "  |  churnops alerts history [--env ENV] [--metric NAME] [--since 1h] [--json]",
	.summary = "Show the rollback triggers' states or their recorded history, or render "
		   "them as Prometheus rules.",
	.options = alerts_options,
	.run = run_alerts,
};

static const struct cli_command render_command = {
	.name = "alerts render",
	.synopsis = "[--env ENV] [--triggers FILE] [--out FILE]",
	.summary = "Write Prometheus alerting rules (YAML) equivalent to the configured triggers.",
	.options = render_options,
	.run = run_render,
};

static const struct cli_command history_command = {
	.name = "alerts history",
	.synopsis = "[--env ENV] [--metric NAME] [--since DURATION] [--json]",
	.summary = "Show the triggers' state transitions recorded by watch and the console, "
		   "newest first.",
	.options = history_options,
	.run = run_history,
};

const struct cli_command cli_watch_command = {
	.name = "watch",
	.synopsis = "--env ENV [--once] [--interval 15s] [--json]",
	.summary = "Evaluate the rollback triggers repeatedly; exit 1 when one fires.",
	.options = watch_options,
	.run = run_watch,
};

struct args {
	const char *env, *prometheus, *triggers, *version, *out, *strategy, *metric;
	bool json, once, canary;
	double range, step, interval, since;
};

/* Everything the three commands share once the arguments are in. */
struct ctx {
	struct trigger_config cfg;
	const struct trigger_env *env;
	struct prom_client *pc;
	char *config_path; /* the triggers file used, or NULL */
	struct store *store; /* watch: where evaluations are recorded, or NULL */
	bool record_failing; /* the last recording failed (said once) */
	double lkg_next;     /* watch: when last-known-good is judged next */
	char *lkg_said;      /* watch: the last judgement printed */
};

static void ctx_finish(struct ctx *x)
{
	free(x->lkg_said);
	store_close(x->store);
	prom_client_destroy(x->pc);
	triggers_config_finish(&x->cfg);
	free(x->config_path);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns -1 when parsing ended with a message printed, 1 for --help. */
static int parse_args(const struct cli_command *cmd, int argc, char **argv,
		      struct args *a)
{
	memset(a, 0, sizeof *a);
	struct cli_parser p;
	cli_parser_init(&p, cmd, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "env") == 0)
			a->env = value;
		else if (strcmp(name, "prometheus") == 0)
			a->prometheus = value;
		else if (strcmp(name, "triggers") == 0)
			a->triggers = value;
		else if (strcmp(name, "version") == 0)
			a->version = value;
		else if (strcmp(name, "json") == 0)
			a->json = true;
		else if (strcmp(name, "once") == 0)
			a->once = true;
		else if (strcmp(name, "canary") == 0)
			a->canary = true;
		else if (strcmp(name, "out") == 0)
			a->out = value;
		else if (strcmp(name, "strategy") == 0)
			a->strategy = value;
		else if (strcmp(name, "metric") == 0)
			a->metric = value;
		else {
			double *slot = strcmp(name, "range") == 0 ? &a->range
				     : strcmp(name, "step") == 0 ? &a->step
				     : strcmp(name, "since") == 0 ? &a->since : &a->interval;
			if (!prom_parse_duration(value, false, slot)) {
				cli_usage_error(cmd->name, "--%s: '%s' is not a duration like 30s, 5m or 1h",
						name, value);
				return -1;
			}
		}
	}
	if (r == 2)
		return 1;
	if (r < 0)
		return -1;
	if (!a->env && cmd != &render_command && cmd != &history_command) {
		cli_usage_error(cmd->name, "--env is required (staging or production)");
		return -1;
	}
	if (a->step && !a->range) {
		cli_usage_error(cmd->name, "--step needs --range");
		return -1;
	}
	return 0;
}

static int setup(const char *cmd, const struct args *a, struct ctx *x, struct err *e)
{
	memset(x, 0, sizeof *x);
	x->config_path = a->triggers ? strdup(a->triggers) : triggers_default_path();
	int rc = triggers_config_load(&x->cfg, x->config_path, e);
	if (rc)
		return rc;
	if (a->interval)
		x->cfg.interval = a->interval;
	/* render: every environment; history: whatever environments the store
	 * holds; neither needs Prometheus. */
	if (!a->env || strcmp(cmd, history_command.name) == 0)
		return 0;
	x->env = triggers_config_env(&x->cfg, a->env);
	if (!x->env) {
		char names[256] = "";
		for (size_t i = 0; i < x->cfg.nenvs; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 i ? ", " : "", x->cfg.envs[i].name);
		err_clear(e);
		return cli_usage_error(cmd, "--env: unknown environment '%s' (%s)", a->env, names);
	}
	if (strcmp(cmd, render_command.name) == 0)
		return 0;
	struct prom_options po = { .url = x->env->prometheus_url };
	config_prom_options(config_current(), &po);
	if (a->prometheus)
		po.url = a->prometheus;
	x->pc = prom_client_create(&po, e);
	return x->pc ? 0 : (e->code ? e->code : EXIT_BACKEND);
}

static void fmt_clock(double t, char *buf, size_t size)
{
	if (t <= 0) {
		snprintf(buf, size, "-");
		return;
	}
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(buf, size, "%H:%M:%SZ", &tm);
}

/* Text from the configuration file may hold anything: shown escaped. */
static void put_clean(const char *s, int width)
{
	char clean[512];
	sanitize_text(s, strlen(s), clean, sizeof clean);
	printf("%-*s", width, clean);
}

static void print_header(const struct ctx *x, double now, const char *what)
{
	char when[32];
	time_t s = (time_t)now;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
	put_clean(x->env->name, 0);
	printf(" (");
	put_clean(x->env->namespace, 0);
	printf("/");
	put_clean(x->env->deployment, 0);
	printf(") %s from ", what);
	put_clean(prom_client_url(x->pc), 0);
	printf(" at %s\n", when);
}

static cJSON *env_json(const struct ctx *x, double now)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "env", x->env->name);
	cJSON_AddStringToObject(o, "namespace", x->env->namespace);
	cJSON_AddStringToObject(o, "deployment", x->env->deployment);
	cJSON_AddStringToObject(o, "policy", triggers_policy_name(x->env->policy));
	cJSON_AddStringToObject(o, "prometheus", prom_client_url(x->pc));
	cJSON_AddNumberToObject(o, "time", now);
	return o;
}

static void print_json(cJSON *o, bool pretty)
{
	char *s = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	if (s)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

/* One row of block characters for the samples, NaN as a blank. */
static void sparkline(const struct prom_series *s, double lo, double hi)
{
	static const char *const blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	size_t n = s->nsamples, width = 40;
	for (size_t i = 0; i < width && n; i++) {
		const struct prom_sample *p = &s->samples[i * n / width];
		if (!isfinite(p->v)) {
			fputs(" ", stdout);
			continue;
		}
		int k = hi > lo ? (int)((p->v - lo) / (hi - lo) * 7.999) : 0;
		fputs(blocks[k < 0 ? 0 : k > 7 ? 7 : k], stdout);
	}
}

/* The canary against stable, metric by metric: adds "canary" to each
 * metric in OUT and "canary_ok" overall; prints a table unless --json. */
static int compare_canary(struct ctx *x, const struct args *a, double now, cJSON *out,
			  struct err *e)
{
	bool ok = true;
	cJSON *list = cJSON_GetObjectItem(out, "metrics");
	if (!a->json)
		printf("\n%-14s %-14s %-14s %-14s %s\n", "canary", "stable", "canary",
		       "margin", "verdict");
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		const struct trigger_def *d = &x->cfg.defs[i];
		if (!d->has_trigger || d->canary_margin < 0)
			continue;
		struct canary_result cr;
		int rc = triggers_canary_compare(x->pc, &x->cfg, d, x->env, a->version, now, &cr, e);
		if (rc)
			return rc;
		ok &= cr.verdict == CANARY_OK;
		cJSON *m = cJSON_GetArrayItem(list, (int)i);
		cJSON *c = cJSON_AddObjectToObject(m, "canary");
		if (cr.has_stable && isfinite(cr.stable))
			cJSON_AddNumberToObject(c, "stable", cr.stable);
		else
			cJSON_AddNullToObject(c, "stable");
		if (cr.has_canary && isfinite(cr.canary))
			cJSON_AddNumberToObject(c, "canary", cr.canary);
		else
			cJSON_AddNullToObject(c, "canary");
		cJSON_AddNumberToObject(c, "margin", cr.margin);
		cJSON_AddStringToObject(c, "verdict", triggers_canary_verdict_name(cr.verdict));
		if (!a->json) {
			char st[48], ca[48], mg[48];
			triggers_format_value(d, cr.has_stable, cr.stable, st, sizeof st);
			triggers_format_value(d, cr.has_canary, cr.canary, ca, sizeof ca);
			triggers_format_value(d, true, cr.margin, mg, sizeof mg);
			put_clean(d->title, 14);
			printf(" %-14s %-14s %-14s %s\n", st, ca, mg,
			       triggers_canary_verdict_name(cr.verdict));
		}
	}
	cJSON_AddBoolToObject(out, "canary_ok", ok);
	if (!a->json && !ok)
		printf("the canary is worse than stable, or has no data: not ready to promote\n");
	return 0;
}

static int run_metrics(int argc, char **argv)
{
	struct args a;
	int pr = parse_args(&cli_metrics_command, argc, argv, &a);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = { 0 };
	struct ctx x;
	cJSON *out = NULL;
	char *q = NULL;
	int rc = setup("metrics", &a, &x, &e);
	if (rc)
		goto out;
	double now = wall_now();
	double step = a.step ? a.step : a.range / 60;
	if (a.range && step < 1)
		step = 1;
	if (a.range && a.range / step > 10000) {
		rc = cli_usage_error("metrics", "--range %g s every %g s is more than 10000 points: "
				     "use a larger --step", a.range, step);
		goto out;
	}
	bool tty = isatty(STDOUT_FILENO);
	out = env_json(&x, now);
	cJSON *list = cJSON_AddArrayToObject(out, "metrics");
	if (a.range) {
		cJSON_AddNumberToObject(out, "range", a.range);
		cJSON_AddNumberToObject(out, "step", step);
	}
	if (!a.json) {
		print_header(&x, now, "metrics");
		printf("%-14s %-14s %-22s%s\n", "metric", "now", "trigger",
		       a.range ? "  min .. max over the range" : "");
	}
	for (size_t i = 0; i < x.cfg.ndefs; i++) {
		const struct trigger_def *d = &x.cfg.defs[i];
		free(q);
		if (!(q = triggers_expand(&x.cfg, d, x.env, a.version, &e))) {
			rc = e.code;
			goto out;
		}
		struct prom_result r;
		if ((rc = prom_query(x.pc, q, now, &r, &e))) {
			prom_result_finish(&r);
			err_prefix(&e, "%s", d->name);
			goto out;
		}
		double v = 0;
		size_t nser = 0;
		bool has = triggers_worst(d, &r, now, &v, &nser);
		double ms = r.elapsed_ms;
		prom_result_finish(&r);
		struct trigger_status st;
		triggers_status_init(&st);
		triggers_step(&st, d, now, has, v);
		st.nseries = nser;
		cJSON *m = triggers_status_json(d, &st, q);
		cJSON_DeleteItemFromObject(m, "since");
		cJSON_DeleteItemFromObject(m, "active_at");
		cJSON_DeleteItemFromObject(m, "fired_at");
		cJSON_DeleteItemFromObject(m, "evaluated_at");
		cJSON_DeleteItemFromObject(m, "state");
		cJSON_AddBoolToObject(m, "beyond_threshold", has && triggers_condition(d, v));
		cJSON_AddNumberToObject(m, "query_ms", ms);
		cJSON_AddItemToArray(list, m);
		char val[48], cond[96];
		triggers_format_value(d, has, v, val, sizeof val);
		triggers_format_condition(d, "-", cond, sizeof cond);
		if (!a.json) {
			put_clean(d->title, 14);
			printf(" %-14s %-22s", val, cond);
		}
		if (a.range) {
			struct prom_result rr;
			if ((rc = prom_query_range(x.pc, q, now - a.range, now, step, &rr, &e))) {
				prom_result_finish(&rr);
				err_prefix(&e, "%s", d->name);
				goto out;
			}
			/* The worst series is the one that matters; one row per metric. */
			const struct prom_series *s = NULL;
			double lo = INFINITY, hi = -INFINITY;
			cJSON *pts = cJSON_AddArrayToObject(m, "series");
			for (size_t k = 0; k < rr.nseries; k++)
				if (!s || rr.series[k].nsamples > s->nsamples)
					s = &rr.series[k];
			for (size_t k = 0; s && k < s->nsamples; k++) {
				const struct prom_sample *p = &s->samples[k];
				cJSON *pt = cJSON_CreateArray();
				cJSON_AddItemToArray(pt, cJSON_CreateNumber(p->t));
				cJSON_AddItemToArray(pt, isfinite(p->v) ? cJSON_CreateNumber(p->v)
									: cJSON_CreateNull());
				cJSON_AddItemToArray(pts, pt);
				if (isfinite(p->v)) {
					lo = fmin(lo, p->v);
					hi = fmax(hi, p->v);
				}
			}
			cJSON_AddNumberToObject(m, "range_query_ms", rr.elapsed_ms);
			if (!a.json) {
				char l[48], h[48];
				triggers_format_value(d, lo <= hi, lo, l, sizeof l);
				triggers_format_value(d, lo <= hi, hi, h, sizeof h);
				printf("  %s .. %s", l, h);
				if (tty && s && lo <= hi) {
					printf("  ");
					sparkline(s, lo, hi);
				}
			}
			prom_result_finish(&rr);
		}
		if (!a.json)
			printf("\n");
	}
	if (a.canary && (rc = compare_canary(&x, &a, now, out, &e)))
		goto out;
	if (a.json)
		print_json(out, true);
	if (a.canary && !cJSON_IsTrue(cJSON_GetObjectItem(out, "canary_ok")))
		rc = EXIT_CHECK;
out:
	free(q);
	cJSON_Delete(out);
	if (rc && e.msg[0])
		cli_fail(&e);
	ctx_finish(&x);
	return rc;
}

/* Records D's evaluation at NOW (ERROR: why it failed, or NULL) when the
 * context has a store (watch). A failure to record never stops a watch: it
 * is said on stderr, once until recording works again. */
static void record(struct ctx *x, const struct trigger_def *d, const struct trigger_status *s,
		   double now, const char *error)
{
	if (!x->store)
		return;
	struct err re = { 0 };
	if (triggers_record(x->store, x->env->name, d, s, now, error, &re)) {
		if (!x->record_failing)
			fprintf(stderr, "churnops watch: evaluation not recorded in the store: %s\n",
				re.msg);
		x->record_failing = true;
	} else {
		x->record_failing = false;
	}
}

/* Evaluates every trigger: from history the first time (HISTORY), then
 * with one instant query each, recording each evaluation (see record()).
 * MS receives the slowest query's latency. */
static int evaluate_all(struct ctx *x, const char *version, bool history, double now,
			struct trigger_status *st, double *ms, struct err *e)
{
	*ms = 0;
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		const struct trigger_def *d = &x->cfg.defs[i];
		if (!d->has_trigger)
			continue;
		double q_ms = 0;
		int rc = history ? triggers_evaluate_history(x->pc, &x->cfg, d, x->env, version,
							     now, &st[i], &q_ms, e)
				 : triggers_evaluate(x->pc, &x->cfg, d, x->env, version, now,
						     &st[i], &q_ms, e);
		record(x, d, &st[i], now, rc ? e->msg : NULL);
		if (rc)
			return rc;
		if (q_ms > *ms)
			*ms = q_ms;
	}
	return 0;
}

static cJSON *states_json(const struct ctx *x, const struct trigger_status *st,
			  const char *version, double now)
{
	cJSON *o = env_json(x, now);
	char dur[32];
	prom_format_duration(x->cfg.interval, dur, sizeof dur);
	cJSON_AddStringToObject(o, "interval", dur);
	cJSON *list = cJSON_AddArrayToObject(o, "triggers");
	cJSON *firing = cJSON_CreateArray();
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		const struct trigger_def *d = &x->cfg.defs[i];
		if (!d->has_trigger)
			continue;
		struct err ignored;
		char *q = triggers_expand(&x->cfg, d, x->env, version, &ignored);
		cJSON_AddItemToArray(list, triggers_status_json(d, &st[i], q));
		free(q);
		if (st[i].state == TRIGGER_FIRING)
			cJSON_AddItemToArray(firing, cJSON_CreateString(d->name));
	}
	cJSON_AddItemToObject(o, "firing", firing);
	return o;
}

static void print_states(const struct ctx *x, const struct trigger_status *st)
{
	printf("%-14s %-9s %-12s %-22s %-10s %s\n", "trigger", "state", "value", "condition",
	       "since", "active since");
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		const struct trigger_def *d = &x->cfg.defs[i];
		if (!d->has_trigger)
			continue;
		char val[48], cond[96], since[16], active[16];
		triggers_format_value(d, st[i].has_value, st[i].value, val, sizeof val);
		triggers_format_condition(d, "-", cond, sizeof cond);
		fmt_clock(st[i].since, since, sizeof since);
		fmt_clock(st[i].active_at, active, sizeof active);
		put_clean(d->title, 14);
		printf(" %-9s %-12s %-22s %-10s %s\n", triggers_state_name(st[i].state), val, cond,
		       since, active);
	}
}

/* N fresh trigger states (nodata, never evaluated); NULL when out of
 * memory. */
static struct trigger_status *new_statuses(size_t n)
{
	struct trigger_status *st = calloc(n ? n : 1, sizeof *st);
	for (size_t i = 0; st && i < n; i++)
		triggers_status_init(&st[i]);
	return st;
}

static int run_alerts(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "render") == 0)
		return run_render(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "history") == 0)
		return run_history(argc - 1, argv + 1);
	struct args a;
	int pr = parse_args(&cli_alerts_command, argc, argv, &a);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = { 0 };
	struct ctx x;
	struct trigger_status *st = NULL;
	int rc = setup("alerts", &a, &x, &e);
	if (rc)
		goto out;
	if (!(st = new_statuses(x.cfg.ndefs))) {
		rc = err_set(&e, EXIT_BACKEND, "out of memory");
		goto out;
	}
	double now = wall_now(), ms;
	if ((rc = evaluate_all(&x, a.version, true, now, st, &ms, &e)))
		goto out;
	if (a.json) {
		cJSON *o = states_json(&x, st, a.version, now);
		cJSON_AddNumberToObject(o, "query_ms", ms);
		print_json(o, true);
		cJSON_Delete(o);
	} else {
		char dur[32];
		prom_format_duration(x.cfg.interval, dur, sizeof dur);
		print_header(&x, now, "triggers");
		printf("policy %s, evaluated every %s\n", triggers_policy_name(x.env->policy), dur);
		print_states(&x, st);
	}
out:
	free(st);
	if (rc && e.msg[0])
		cli_fail(&e);
	ctx_finish(&x);
	return rc;
}

/* What the environment's policy does about the firing triggers. Says it on
 * stderr, where the JSON lines on stdout stay machine-readable. */
static void announce(const struct ctx *x, const struct trigger_status *st, cJSON *o,
		     const char *strategy)
{
	char names[512] = "";
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		if (!x->cfg.defs[i].has_trigger || st[i].state != TRIGGER_FIRING)
			continue;
		char clean[128];
		sanitize_text(x->cfg.defs[i].title, strlen(x->cfg.defs[i].title), clean,
			      sizeof clean);
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			 names[0] ? ", " : "", clean);
	}
	const char *action;
	FILE *f = o ? stderr : stdout;
	switch (x->env->policy) {
	case POLICY_AUTO:
		fprintf(f, "churnops watch: %s: firing: %s: policy auto: rolling back %s/%s "
			   "to the previous version\n",
			x->env->name, names, x->env->namespace, x->env->deployment);
		fflush(f);
		action = cli_actions_auto_rollback(x->env->name, strategy, names, f) == 0
				 ? "rolled_back" : "rollback_failed";
		break;
	case POLICY_PROMPT:
		action = "prompt";
		fprintf(f, "churnops watch: %s: firing: %s: policy prompt: an operator decides "
			   "on the rollback\n", x->env->name, names);
		break;
	default:
		action = "none";
		fprintf(f, "churnops watch: %s: firing: %s: policy off: no rollback\n",
			x->env->name, names);
		break;
	}
	if (o)
		cJSON_AddStringToObject(o, "action", action);
}

/* One cycle of watch, at NOW: evaluates every trigger (from history while
 * *HISTORY, which the first answered cycle clears), records each evaluation,
 * prints the states and, when one fires, what the policy does about it.
 * Returns 0 to go on, EXIT_CHECK when a trigger fired, or another code (E
 * set) when the watch must stop; an unreachable Prometheus is said and
 * outlived (0) unless A->once. */
/* Whether production's version has earned last-known-good (core/lkg.h):
 * judged on the first cycle and then at most once a minute, since the
 * judgement replays the whole quiet period. Text output says a judgement
 * when it differs from the last one said; JSON carries it every cycle it
 * was made. */
static void last_known_good(struct ctx *x, const struct args *a, double now, cJSON *o)
{
	if (!x->store || now < x->lkg_next)
		return;
	x->lkg_next = now + 60;
	cJSON *v = cli_lkg_check(x->store, x->pc, &x->cfg, x->env, now);
	if (!v)
		return;
	const char *why = json_str(v, "why");
	if (!a->json && why && (!x->lkg_said || strcmp(x->lkg_said, why) != 0)) {
		char clean[800];
		sanitize_text(why, strlen(why), clean, sizeof clean);
		printf("last-known-good: %s%s\n", clean,
		       cJSON_IsTrue(cJSON_GetObjectItem(v, "applied")) ? " (alias moved)" : "");
		free(x->lkg_said);
		x->lkg_said = strdup(why);
	}
	if (o)
		cJSON_AddItemToObject(o, "last_known_good", v);
	else
		cJSON_Delete(v);
}

static int watch_cycle(struct ctx *x, const struct args *a, struct trigger_status *st,
		       bool *history, double now, struct err *e)
{
	double ms;
	int rc = evaluate_all(x, a->version, *history, now, st, &ms, e);
	if (rc == EXIT_INPUT || (rc && a->once))
		return rc;
	if (rc) {
		/* A watch outlives a Prometheus restart: say so and retry. */
		cli_fail(e);
		err_clear(e);
		return 0;
	}
	*history = false;
	bool fire = false;
	for (size_t i = 0; i < x->cfg.ndefs; i++)
		fire |= x->cfg.defs[i].has_trigger && st[i].state == TRIGGER_FIRING;
	cJSON *o = a->json ? states_json(x, st, a->version, now) : NULL;
	if (o)
		cJSON_AddNumberToObject(o, "query_ms", ms);
	if (!a->json) {
		char clock[16];
		fmt_clock(now, clock, sizeof clock);
		printf("\n%s\n", clock);
		print_states(x, st);
	}
	if (fire)
		announce(x, st, o, a->strategy);
	last_known_good(x, a, now, o);
	if (o) {
		print_json(o, false);
		cJSON_Delete(o);
	}
	fflush(stdout);
	return fire ? EXIT_CHECK : 0;
}

static int run_watch(int argc, char **argv)
{
	struct args a;
	int pr = parse_args(&cli_watch_command, argc, argv, &a);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = { 0 };
	struct ctx x;
	struct trigger_status *st = NULL;
	int rc = setup("watch", &a, &x, &e);
	if (rc)
		goto out;
	if (!(st = new_statuses(x.cfg.ndefs))) {
		rc = err_set(&e, EXIT_BACKEND, "out of memory");
		goto out;
	}
	/* The history of evaluations is worth having, not worth stopping a
	 * watch for: without a store the watch goes on unrecorded. */
	struct err se = { 0 };
	if (!(x.store = store_open(NULL, &se)))
		fprintf(stderr, "churnops watch: evaluations will not be recorded: %s\n", se.msg);
	bool history = true;
	if (!a.json) {
		char dur[32];
		prom_format_duration(x.cfg.interval, dur, sizeof dur);
		print_header(&x, wall_now(), "triggers");
		printf("policy %s, evaluated every %s\n", triggers_policy_name(x.env->policy), dur);
	}
	for (;;) {
		double now = wall_now();
		if ((rc = watch_cycle(&x, &a, st, &history, now, &e)) || a.once)
			break;
		double wait = x.cfg.interval - (wall_now() - now);
		if (wait > 0) {
			struct timespec ts = { (time_t)wait,
					       (long)((wait - floor(wait)) * 1e9) };
			nanosleep(&ts, NULL);
		}
	}
out:
	free(st);
	if (rc && rc != EXIT_CHECK && e.msg[0])
		cli_fail(&e);
	ctx_finish(&x);
	return rc;
}

static int run_render(int argc, char **argv)
{
	struct args a;
	int pr = parse_args(&render_command, argc, argv, &a);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = { 0 };
	struct ctx x;
	char *yaml = NULL;
	int rc = setup(render_command.name, &a, &x, &e);
	if (rc)
		goto out;
	if (!(yaml = triggers_render_rules(&x.cfg, x.env, &e))) {
		rc = e.code ? e.code : EXIT_INPUT;
		goto out;
	}
	rc = fileio_write_all(a.out ? a.out : "-", yaml, strlen(yaml), &e);
out:
	free(yaml);
	if (rc && e.msg[0])
		cli_fail(&e);
	ctx_finish(&x);
	return rc;
}

/* T as ISO 8601 UTC with milliseconds, as the store writes its times. */
static void fmt_time(double t, char *buf, size_t size)
{
	time_t s = (time_t)floor(t);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	int ms = (int)((t - floor(t)) * 1000);
	snprintf(buf + n, size - n, ".%03dZ", ms > 999 ? 999 : ms);
}

/* A recorded value in its metric's unit when the configuration knows the
 * metric, else as a plain number. */
static void fmt_recorded(const struct ctx *x, const struct store_eval *ev, char *buf,
			 size_t size)
{
	for (size_t i = 0; i < x->cfg.ndefs; i++) {
		if (strcmp(x->cfg.defs[i].name, ev->metric) == 0) {
			triggers_format_value(&x->cfg.defs[i], ev->has_value, ev->value, buf, size);
			return;
		}
	}
	if (ev->has_value)
		snprintf(buf, size, "%g", ev->value);
	else
		snprintf(buf, size, "no data");
}

static cJSON *history_json(const struct ctx *x, const struct args *a, struct store *store,
			   double since, const struct store_eval *tr, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "store", store_path(store));
	if (a->env)
		cJSON_AddStringToObject(o, "env", a->env);
	else
		cJSON_AddNullToObject(o, "env");
	if (a->metric)
		cJSON_AddStringToObject(o, "metric", a->metric);
	else
		cJSON_AddNullToObject(o, "metric");
	if (a->since)
		cJSON_AddNumberToObject(o, "since", since);
	else
		cJSON_AddNullToObject(o, "since");
	cJSON *list = cJSON_AddArrayToObject(o, "transitions");
	for (size_t i = 0; i < n; i++) {
		char when[40], val[48];
		fmt_time(tr[i].at, when, sizeof when);
		fmt_recorded(x, &tr[i], val, sizeof val);
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "time", when);
		cJSON_AddNumberToObject(t, "at", tr[i].at);
		cJSON_AddStringToObject(t, "env", tr[i].env);
		cJSON_AddStringToObject(t, "metric", tr[i].metric);
		if (tr[i].prev_state[0])
			cJSON_AddStringToObject(t, "from", tr[i].prev_state);
		else
			cJSON_AddNullToObject(t, "from");
		cJSON_AddStringToObject(t, "to", tr[i].state);
		if (tr[i].has_value)
			cJSON_AddNumberToObject(t, "value", tr[i].value);
		else
			cJSON_AddNullToObject(t, "value");
		cJSON_AddStringToObject(t, "value_text", val);
		cJSON_AddNumberToObject(t, "series", (double)tr[i].nseries);
		if (tr[i].error[0])
			cJSON_AddStringToObject(t, "error", tr[i].error);
		else
			cJSON_AddNullToObject(t, "error");
		cJSON_AddItemToArray(list, t);
	}
	return o;
}

static void print_history(const struct ctx *x, const struct store_eval *tr, size_t n)
{
	printf("%-24s %-12s %-14s %-21s %s\n", "time", "env", "metric", "from -> to", "value");
	for (size_t i = 0; i < n; i++) {
		char when[40], val[48], move[48];
		fmt_time(tr[i].at, when, sizeof when);
		fmt_recorded(x, &tr[i], val, sizeof val);
		snprintf(move, sizeof move, "%s -> %s", tr[i].prev_state[0] ? tr[i].prev_state : "-",
			 tr[i].state);
		printf("%-24s ", when);
		put_clean(tr[i].env, 12);
		printf(" ");
		put_clean(tr[i].metric, 14);
		printf(" %-21s %s", move, val);
		if (tr[i].error[0]) {
			printf("  (");
			put_clean(tr[i].error, 0);
			printf(")");
		}
		printf("\n");
	}
}

static int run_history(int argc, char **argv)
{
	struct args a;
	int pr = parse_args(&history_command, argc, argv, &a);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = { 0 };
	struct ctx x;
	struct store *store = NULL;
	struct store_eval *tr = NULL;
	size_t n = 0;
	int rc = setup(history_command.name, &a, &x, &e);
	if (rc)
		goto out;
	if (!(store = store_open(NULL, &e))) {
		rc = e.code ? e.code : EXIT_INPUT;
		goto out;
	}
	double since = a.since ? wall_now() - a.since : 0;
	if ((rc = store_eval_transitions(store, a.env, a.metric, since, 0, &tr, &n, &e)))
		goto out;
	if (a.json) {
		cJSON *o = history_json(&x, &a, store, since, tr, n);
		print_json(o, true);
		cJSON_Delete(o);
	} else if (n) {
		print_history(&x, tr, n);
	} else {
		printf("no trigger state changes recorded (churnops watch and the console's "
		       "metrics view record them)\n");
	}
out:
	store_evals_free(tr, n);
	store_close(store);
	if (rc && e.msg[0])
		cli_fail(&e);
	ctx_finish(&x);
	return rc;
}
