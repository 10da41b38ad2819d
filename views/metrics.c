/* metrics: the model's live metrics from Prometheus and the rollback
 * triggers on them, per environment (core/prom, core/triggers).
 *
 * Each environment (staging, production, or those of the triggers file,
 * CONFIG_DIR/triggers.json as `churnops metrics` reads it) gets a panel: per
 * metric its current value, its trigger (condition, state and since when)
 * and a chart of the range in view with the threshold drawn across it, in
 * braille dots on a UTF-8 terminal, else in ASCII.
 *
 * One worker job reads every environment in turn (so a hung Prometheus
 * holds one worker, not one per environment) and builds an immutable
 * snapshot; the view starts the next one an evaluation interval after the
 * answer, also while another view is in front. Trigger states carry over
 * from one job to the next (the job gets the last states and returns the
 * new ones): the first evaluation rebuilds them from history, as
 * `churnops alerts` does, the later ones step them with an instant query,
 * as Prometheus' rule evaluation does. Every request has a timeout and the
 * job a cancel flag, set when it runs past READ_LIMIT_S and when the
 * console quits, so neither a key nor q ever waits for Prometheus.
 *
 * Every evaluation is recorded in the store (core/store's trigger
 * evaluations, as `churnops watch` records its own) by the worker, on its
 * own store connection; the same job reads back each trigger's state
 * transitions of the last HISTORY_WINDOW_S, and the focused environment
 * shows the selected metric's as a timeline: when each state began, its
 * value then, and how long it lasted.
 *
 * A firing trigger puts a banner across every view (tui_app_banner). The
 * banner names the trigger; taking the rollback from it belongs to the
 * actions (promote and rollback) and has no key here yet.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "prom.h"
#include "sanitize.h"
#include "store.h"
#include "triggers.h"
#include "views.h"
#include "widgets.h"

#define MAX_ENVS 4
#define MAX_DEFS 12
#define READ_LIMIT_S 10     /* a job still running after this is cancelled */
#define REQUEST_TIMEOUT_MS 4000
#define CHART_POINTS 120    /* samples per range query */
#define HISTORY_WINDOW_S 86400.0 /* the timeline's reach */
#define HISTORY_MAX 12      /* transitions kept per metric */

static const double ranges[] = {60, 300, 900, 3600, 21600, 86400};
#define NRANGES (sizeof ranges / sizeof ranges[0])
#define DEFAULT_RANGE 2     /* 15m */

struct metric_snap {
	bool has_status;          /* ST holds an evaluation (this one or carried) */
	struct trigger_status st;
	char *error;              /* this metric's query failed: why */
	char *query;              /* expanded, or NULL */
	double *t, *v;            /* the chart: the series with most samples */
	size_t npts;
	struct store_eval *hist;  /* recorded transitions, newest first */
	size_t nhist;
	double last_recorded;     /* the newest recorded evaluation, 0: none */
};

struct env_snap {
	char *name, *namespace, *deployment, *url;
	enum trigger_policy policy;
	bool configured;          /* has a Prometheus URL */
	char *error;              /* the environment could not be read */
	time_t stale_at;          /* 0, or when the data shown (carried) was read */
	struct metric_snap m[MAX_DEFS];
};

struct metrics_snapshot {
	struct trigger_config cfg;
	char *error;              /* the triggers file could not be loaded */
	char *store_error;        /* evaluations neither recorded nor read: why */
	size_t nenvs, ndefs;
	struct env_snap env[MAX_ENVS];
	bool any_configured;
	double start, end, range;
	time_t read_at;
};

struct metrics_view {
	struct console *console;
	struct metrics_snapshot *snap;
	atomic_bool cancel;
	bool busy, stopping, timed_out;
	time_t started, next;
	unsigned long seq;
	size_t range;             /* index into ranges */
	size_t focus;             /* environment */
	size_t selected;          /* metric */
	char banner[512];
	char firing_env[64];  /* the first environment firing, for the banner key */
};

/* --- snapshots ---------------------------------------------------------- */

static void metric_finish(struct metric_snap *m)
{
	free(m->error);
	free(m->query);
	free(m->t);
	free(m->v);
	store_evals_free(m->hist, m->nhist);
	memset(m, 0, sizeof *m);
}

static void env_finish(struct env_snap *e)
{
	free(e->name);
	free(e->namespace);
	free(e->deployment);
	free(e->url);
	free(e->error);
	for (size_t i = 0; i < MAX_DEFS; i++)
		metric_finish(&e->m[i]);
}

static void snapshot_free(void *p)
{
	struct metrics_snapshot *s = p;
	if (!s)
		return;
	for (size_t i = 0; i < MAX_ENVS; i++)
		env_finish(&s->env[i]);
	triggers_config_finish(&s->cfg);
	free(s->error);
	free(s->store_error);
	free(s);
}

struct read_arg {
	atomic_bool *cancel;
	double range;
	/* The last states, by environment and metric name. */
	bool have_prev;
	char prev_names[MAX_ENVS][MAX_DEFS][64];
	char prev_envs[MAX_ENVS][64];
	struct trigger_status prev[MAX_ENVS][MAX_DEFS];
	bool prev_has[MAX_ENVS][MAX_DEFS];
};

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct trigger_status *previous(const struct read_arg *a, const char *env,
					     const char *def)
{
	if (!a->have_prev)
		return NULL;
	for (size_t i = 0; i < MAX_ENVS; i++) {
		if (strcmp(a->prev_envs[i], env) != 0)
			continue;
		for (size_t k = 0; k < MAX_DEFS; k++)
			if (a->prev_has[i][k] && strcmp(a->prev_names[i][k], def) == 0)
				return &a->prev[i][k];
	}
	return NULL;
}

/* The chart of DEF: a range query, keeping the series with most samples. */
static int read_chart(struct prom_client *pc, const char *q, const struct metrics_snapshot *s,
		      struct metric_snap *m, struct err *e)
{
	double step = s->range / CHART_POINTS;
	if (step < 1)
		step = 1;
	struct prom_result r = {0};
	int rc = prom_query_range(pc, q, s->start, s->end, step, &r, e);
	if (!rc) {
		const struct prom_series *best = NULL;
		for (size_t i = 0; i < r.nseries; i++)
			if (!best || r.series[i].nsamples > best->nsamples)
				best = &r.series[i];
		if (best && best->nsamples) {
			m->t = malloc(best->nsamples * sizeof *m->t);
			m->v = malloc(best->nsamples * sizeof *m->v);
			if (!m->t || !m->v) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
			} else {
				for (size_t i = 0; i < best->nsamples; i++) {
					m->t[i] = best->samples[i].t;
					m->v[i] = best->samples[i].v;
				}
				m->npts = best->nsamples;
			}
		}
	}
	prom_result_finish(&r);
	return rc;
}

/* Records M's evaluation (ERROR: why it failed, or NULL) of a trigger. A
 * store that refuses is said once per job, in the snapshot. */
static void record(struct store *st, struct metrics_snapshot *s, const struct trigger_env *te,
		   const struct trigger_def *d, const struct metric_snap *m, const char *error)
{
	if (!st || !d->has_trigger || s->store_error)
		return;
	struct err e = {0};
	if (triggers_record(st, te->name, d, &m->st, s->end, error, &e))
		s->store_error = strdup(e.msg);
}

/* Each trigger's recorded transitions over the last HISTORY_WINDOW_S and
 * its newest recorded evaluation, by whichever process recorded them. */
static void read_history(struct store *st, struct metrics_snapshot *s, size_t k,
			 const struct trigger_env *te)
{
	for (size_t i = 0; st && !s->store_error && i < s->ndefs; i++) {
		const struct trigger_def *d = &s->cfg.defs[i];
		struct metric_snap *m = &s->env[k].m[i];
		if (!d->has_trigger)
			continue;
		struct err e = {0};
		struct store_eval *last = NULL;
		size_t nlast = 0;
		if (store_eval_transitions(st, te->name, d->name, s->end - HISTORY_WINDOW_S,
					   HISTORY_MAX, &m->hist, &m->nhist, &e) ||
		    store_eval_list(st, te->name, d->name, 0, 1, &last, &nlast, &e)) {
			s->store_error = strdup(e.msg);
			return;
		}
		m->last_recorded = nlast ? last[0].at : 0;
		store_evals_free(last, nlast);
	}
}

static void read_env(const struct read_arg *a, struct metrics_snapshot *s, size_t k,
		     const struct trigger_env *te, struct store *st)
{
	struct env_snap *es = &s->env[k];
	es->name = strdup(te->name);
	es->namespace = strdup(te->namespace);
	es->deployment = strdup(te->deployment);
	es->policy = te->policy;
	struct prom_options po = {.url = te->prometheus_url, .timeout_ms = REQUEST_TIMEOUT_MS};
	config_prom_options(config_current(), &po);
	if (!po.url || !*po.url)
		return;
	es->configured = true;
	s->any_configured = true;
	es->url = strdup(po.url);
	struct err e = {0};
	struct prom_client *pc = prom_client_create(&po, &e);
	if (!pc) {
		es->error = strdup(e.msg);
		return;
	}
	prom_client_set_cancel(pc, a->cancel);
	size_t ok = 0;
	for (size_t i = 0; i < s->ndefs; i++) {
		const struct trigger_def *d = &s->cfg.defs[i];
		struct metric_snap *m = &s->env[k].m[i];
		const struct trigger_status *prev = previous(a, te->name, d->name);
		if (prev) {
			m->st = *prev;
			m->has_status = true;
		} else {
			triggers_status_init(&m->st);
		}
		if (atomic_load(a->cancel)) {
			es->error = strdup("cancelled");
			break;
		}
		struct err me = {0};
		m->query = triggers_expand(&s->cfg, d, te, NULL, &me);
		if (!m->query) {
			m->error = strdup(me.msg);
			record(st, s, te, d, m, me.msg);
			continue;
		}
		int rc = prev || !d->has_trigger
				 ? triggers_evaluate(pc, &s->cfg, d, te, NULL, s->end, &m->st, NULL, &me)
				 : triggers_evaluate_history(pc, &s->cfg, d, te, NULL, s->end, &m->st,
							     NULL, &me);
		record(st, s, te, d, m, rc ? me.msg : NULL);
		if (!rc)
			rc = read_chart(pc, m->query, s, m, &me);
		if (rc) {
			/* Nothing answered yet: the server, not the query, is the
			 * problem; do not wait for a timeout per metric. */
			if (!ok) {
				es->error = strdup(me.msg);
				break;
			}
			m->error = strdup(me.msg);
			continue;
		}
		m->has_status = true;
		ok++;
	}
	prom_client_destroy(pc);
}

static void *read_run(void *arg, struct err *e)
{
	struct read_arg *a = arg;
	struct metrics_snapshot *s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	s->range = a->range;
	s->end = floor(wall_now());
	s->start = s->end - s->range;
	char *path = triggers_default_path();
	struct err ce = {0};
	if (triggers_config_load(&s->cfg, path, &ce)) {
		s->error = strdup(ce.msg);
		free(path);
		s->read_at = time(NULL);
		return s;
	}
	free(path);
	s->ndefs = s->cfg.ndefs < MAX_DEFS ? s->cfg.ndefs : MAX_DEFS;
	s->nenvs = s->cfg.nenvs < MAX_ENVS ? s->cfg.nenvs : MAX_ENVS;
	/* This job's own connection: the UI thread never touches the store. */
	struct store *st = NULL;
	for (size_t k = 0; k < s->nenvs; k++) {
		struct prom_options po = {.url = s->cfg.envs[k].prometheus_url};
		config_prom_options(config_current(), &po);
		if (po.url && *po.url) {
			struct err se = {0};
			if (!(st = store_open(NULL, &se)))
				s->store_error = strdup(se.msg);
			break;
		}
	}
	for (size_t k = 0; k < s->nenvs; k++) {
		read_env(a, s, k, &s->cfg.envs[k], st);
		if (s->env[k].configured)
			read_history(st, s, k, &s->cfg.envs[k]);
	}
	store_close(st);
	s->read_at = time(NULL);
	return s;
}

/* --- jobs --------------------------------------------------------------- */

static void start_read(struct metrics_view *v, struct tui_app *app)
{
	if (v->busy || v->stopping)
		return;
	struct read_arg *a = calloc(1, sizeof *a);
	if (!a)
		return;
	a->cancel = &v->cancel;
	a->range = ranges[v->range];
	const struct metrics_snapshot *s = v->snap;
	if (s && !s->error) {
		a->have_prev = true;
		for (size_t k = 0; k < s->nenvs; k++) {
			snprintf(a->prev_envs[k], sizeof a->prev_envs[k], "%s", s->env[k].name);
			for (size_t i = 0; i < s->ndefs; i++) {
				snprintf(a->prev_names[k][i], sizeof a->prev_names[k][i], "%s",
					 s->cfg.defs[i].name);
				a->prev[k][i] = s->env[k].m[i].st;
				a->prev_has[k][i] = s->env[k].m[i].has_status;
			}
		}
	}
	atomic_store(&v->cancel, false);
	v->timed_out = false;
	struct worker_job j = {
		.run = read_run, .free_arg = free, .free_result = snapshot_free,
		.arg = a, .seq = ++v->seq, .background = true,
	};
	struct err e = {0};
	if (tui_app_submit(app, v, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "metrics: %s", e.msg);
		v->next = tui_app_clock() + 5;
		return;
	}
	v->busy = true;
	v->started = time(NULL);
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

/* The banner's text for the firing triggers of S, or "" when none fires.
 * An environment Prometheus no longer answers for keeps its last known
 * firing triggers in the banner, said to be last known: monitoring going
 * down is no reason to stop showing an alarm. */
static void banner_text(const struct metrics_snapshot *s, bool read_only, char *buf,
			size_t n, char *env, size_t env_size)
{
	size_t used = 0, count = 0;
	buf[0] = '\0';
	env[0] = '\0';
	for (size_t k = 0; k < s->nenvs; k++) {
		const struct env_snap *es = &s->env[k];
		if (es->error && !es->stale_at)
			continue;
		for (size_t i = 0; i < s->ndefs && used + 1 < n; i++) {
			const struct trigger_def *d = &s->cfg.defs[i];
			const struct metric_snap *m = &es->m[i];
			if (!d->has_trigger || !m->has_status || m->st.state != TRIGGER_FIRING)
				continue;
			char val[48], cond[96], since[16];
			triggers_format_value(d, m->st.has_value, m->st.value, val, sizeof val);
			triggers_format_condition(d, "no trigger", cond, sizeof cond);
			fmt_clock(m->st.fired_at, since, sizeof since);
			int w = snprintf(buf + used, n - used, "%s%s: %s %s %s, firing since %s "
					 "(policy %s)%s", count ? "; " : "TRIGGER FIRING  ", es->name,
					 d->title, val, cond, since, triggers_policy_name(es->policy),
					 es->error ? " - last known, Prometheus not answering" : "");
			if (w < 0)
				break;
			if (!count)
				snprintf(env, env_size, "%s", es->name);
			used += (size_t)w;
			count++;
		}
	}
	if (count && used + 1 < n)
		snprintf(buf + used, n - used, "  [3: metrics view%s]",
			 read_only ? "" : ", !: rollback plan");
}

/* The banner's key: the rollback plan of the (first) firing environment. */
static void on_banner_key(void *state, struct tui_app *app)
{
	struct metrics_view *v = state;
	if (v->console->deployments)
		deployments_view_rollback(v->console->deployments, app, v->firing_env);
}

static void mv_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct metrics_view *v = state;
	if (j->seq != v->seq)
		return;
	v->busy = false;
	if (!j->result) {
		v->next = tui_app_clock() + 5;
		tui_app_toast(app, ROLE_CRIT, "metrics: %s", j->err.msg);
		return;
	}
	struct metrics_snapshot *s = j->result;
	j->result = NULL;
	double interval = s->error ? 5 : s->cfg.interval;
	if (interval < 1)
		interval = 1;
	if (interval > 15)
		interval = 15;
	v->next = tui_app_clock() + (time_t)interval;
	for (size_t k = 0; k < s->nenvs; k++) {
		struct env_snap *es = &s->env[k];
		if (v->timed_out && es->error && strstr(es->error, "cancel")) {
			char *msg = NULL;
			if (asprintf(&msg, "Prometheus did not answer within %d s (%s)",
				     READ_LIMIT_S, es->error) >= 0) {
				free(es->error);
				es->error = msg;
			}
		}
		/* A failed read keeps the last charts on screen, marked stale. */
		struct env_snap *old = v->snap && !v->snap->error && k < v->snap->nenvs
					       ? &v->snap->env[k] : NULL;
		if (es->error && old && (!old->error || old->stale_at) &&
		    strcmp(old->name, es->name) == 0 && v->snap->ndefs == s->ndefs) {
			for (size_t i = 0; i < s->ndefs; i++) {
				struct metric_snap tmp = es->m[i];
				es->m[i] = old->m[i];
				old->m[i] = tmp;
				/* The recorded history is this read's, from the store. */
				store_evals_free(es->m[i].hist, es->m[i].nhist);
				es->m[i].hist = tmp.hist;
				es->m[i].nhist = tmp.nhist;
				es->m[i].last_recorded = tmp.last_recorded;
				old->m[i].hist = NULL;
				old->m[i].nhist = 0;
			}
			es->stale_at = old->stale_at ? old->stale_at : v->snap->read_at;
		}
	}
	snapshot_free(v->snap);
	v->snap = s;
	if (v->focus >= s->nenvs)
		v->focus = 0;
	if (v->selected >= s->ndefs)
		v->selected = 0;
	banner_text(s, tui_app_read_only(app), v->banner, sizeof v->banner, v->firing_env,
		    sizeof v->firing_env);
	tui_app_banner(app, ROLE_CRIT, v->banner);
	tui_app_banner_key(app, v->firing_env[0] ? on_banner_key : NULL, v);
}

static void mv_show(void *state, struct tui_app *app)
{
	struct metrics_view *v = state;
	if (!v->snap)
		start_read(v, app);
}

static bool mv_tick(void *state, struct tui_app *app)
{
	struct metrics_view *v = state;
	time_t now = time(NULL);
	if (v->busy && !v->timed_out && now - v->started >= READ_LIMIT_S) {
		v->timed_out = true;
		atomic_store(&v->cancel, true);
	} else if (!v->busy && tui_app_clock() >= v->next) {
		start_read(v, app);
	}
	return true;
}

static void mv_stop(void *state)
{
	struct metrics_view *v = state;
	v->stopping = true;
	atomic_store(&v->cancel, true);
}

/* --- drawing ------------------------------------------------------------ */

static enum tui_role state_role(enum trigger_state s)
{
	switch (s) {
	case TRIGGER_INACTIVE:
		return ROLE_OK;
	case TRIGGER_PENDING:
		return ROLE_WARN;
	case TRIGGER_FIRING:
		return ROLE_CRIT;
	default:
		return ROLE_STALE;
	}
}

/* A chart of M over [START, END] in R: braille dots (2 x 4 per cell) on a
 * UTF-8 terminal, '*' otherwise; the threshold of D, when it has one, as a
 * dotted line in ROLE_CRIT; values beyond it drawn in ROLE_CRIT too. The
 * vertical scale covers the data and the threshold, so the line shows. */
static void draw_chart(const struct trigger_def *d, const struct metric_snap *m,
		       double start, double end, struct tui_rect r)
{
	if (r.h < 1 || r.w < 12)
		return;
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < m->npts; i++) {
		if (isfinite(m->v[i])) {
			lo = fmin(lo, m->v[i]);
			hi = fmax(hi, m->v[i]);
		}
	}
	if (d->has_trigger) {
		lo = fmin(lo, d->threshold);
		hi = fmax(hi, d->threshold);
	}
	if (!(lo <= hi)) {
		widget_text(r.y, r.x, r.w, ROLE_STALE, "no data in the range");
		return;
	}
	if (hi - lo < 1e-12) {
		double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
		lo -= pad;
		hi += pad;
	}
	/* Axis labels on the left: the top and bottom of the scale. */
	int lw = 12;
	char lab[48];
	triggers_format_value(d, true, hi, lab, sizeof lab);
	widget_text_right(r.y, r.x, lw - 1, ROLE_MUTED, lab);
	triggers_format_value(d, true, lo, lab, sizeof lab);
	widget_text_right(r.y + r.h - 1, r.x, lw - 1, ROLE_MUTED, lab);
	int cw = r.w - lw, ch = r.h;
	bool uni = widget_unicode();
	int xdots = uni ? 2 : 1, ydots = uni ? 4 : 1;
	int W = cw * xdots, H = ch * ydots;
	unsigned *cells = calloc((size_t)cw * (size_t)ch, sizeof *cells);
	unsigned char *beyond = calloc((size_t)cw * (size_t)ch, 1);
	if (!cells || !beyond) {
		free(cells);
		free(beyond);
		return;
	}
	int thr = -1, ignored;
	if (!d->has_trigger || !layout_plot_dot(start, d->threshold, start, end, lo, hi, W, H,
						&ignored, &thr))
		thr = -1;
	for (size_t i = 0; i < m->npts; i++) {
		int px, py;
		if (!layout_plot_dot(m->t[i], m->v[i], start, end, lo, hi, W, H, &px, &py))
			continue;
		size_t c = (size_t)(py / ydots) * (size_t)cw + (size_t)(px / xdots);
		cells[c] |= uni ? layout_braille_bit(px % 2, py % 4) : 1u;
		if (d->has_trigger && triggers_condition(d, m->v[i]))
			beyond[c] = 1;
	}
	for (int row = 0; row < ch; row++) {
		for (int col = 0; col < cw; col++) {
			size_t c = (size_t)row * (size_t)cw + (size_t)col;
			unsigned bits = cells[c];
			bool on_thr = thr >= 0 && thr / ydots == row;
			char s[8];
			enum tui_role role = beyond[c] ? ROLE_CRIT : ROLE_ACCENT;
			if (uni) {
				if (on_thr && !bits)
					role = ROLE_CRIT;
				if (on_thr && (col % 2 == 0 || bits))
					bits |= layout_braille_bit(0, thr % 4) |
						(col % 2 ? layout_braille_bit(1, thr % 4) : 0);
				if (!bits)
					continue;
				unsigned cp = 0x2800 + bits;
				s[0] = (char)(0xE0 | (cp >> 12));
				s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
				s[2] = (char)(0x80 | (cp & 0x3F));
				s[3] = '\0';
			} else {
				if (bits)
					snprintf(s, sizeof s, "*");
				else if (on_thr)
					snprintf(s, sizeof s, "-"), role = ROLE_CRIT;
				else
					continue;
			}
			widget_text_clean(r.y + row, r.x + lw + col, 1, role, s);
		}
	}
	free(cells);
	free(beyond);
}

static void age_text(time_t t, char *buf, size_t n)
{
	long s = (long)difftime(time(NULL), t);
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, n, "%lds", s);
	else if (s < 7200)
		snprintf(buf, n, "%ldm", s / 60);
	else
		snprintf(buf, n, "%ldh", s / 3600);
}

/* The timeline of metric I of environment K in R: a header with how old
 * the newest recorded evaluation is, then one line per state, newest
 * first: when it began, the state in its role, the value then and how
 * long it held (the newest: so far). */
static void draw_history(const struct metrics_snapshot *s, size_t k, size_t i,
			 struct tui_rect r)
{
	const struct trigger_def *d = &s->cfg.defs[i];
	const struct metric_snap *m = &s->env[k].m[i];
	int y = r.y, end = r.y + r.h;
	if (r.h < 1 || r.w < 12)
		return;
	widget_printf(y++, r.x, r.w, ROLE_TITLE, "%s: state history", d->title);
	if (y >= end)
		return;
	if (!d->has_trigger) {
		widget_text(y, r.x, r.w, ROLE_MUTED, "no trigger: nothing recorded");
		return;
	}
	if (s->store_error) {
		widget_printf(y, r.x, r.w, ROLE_CRIT, "store: %s", s->store_error);
		return;
	}
	if (!m->nhist) {
		widget_text(y, r.x, r.w, ROLE_MUTED, "nothing recorded in the last 24h");
		return;
	}
	char age[32];
	age_text((time_t)m->last_recorded, age, sizeof age);
	widget_printf(y++, r.x, r.w, ROLE_MUTED, "%zu change%s in 24h, evaluated %s ago",
		      m->nhist, m->nhist == 1 ? "" : "s", age);
	for (size_t j = 0; j < m->nhist && y < end; j++) {
		const struct store_eval *h = &m->hist[j];
		enum trigger_state st;
		enum tui_role role = triggers_state_parse(h->state, &st) ? state_role(st) : ROLE_STALE;
		char clock[16], val[48], held[32];
		fmt_clock(h->at, clock, sizeof clock);
		triggers_format_value(d, h->has_value, h->value, val, sizeof val);
		double until = j ? m->hist[j - 1].at : s->end;
		prom_format_duration(round(until - h->at), held, sizeof held);
		int used = widget_printf(y, r.x, r.w, ROLE_MUTED, "%s ", clock);
		used += widget_printf(y, r.x + used, r.w - used, role, "%-9s", h->state);
		used += widget_printf(y, r.x + used, r.w - used, ROLE_NORMAL, "%-11s", val);
		widget_printf(y, r.x + used, r.w - used, ROLE_MUTED, "%s%s", held, j ? "" : "+");
		y++;
	}
}

static void draw_env(struct metrics_view *v, size_t k, struct tui_rect box)
{
	const struct metrics_snapshot *s = v->snap;
	const struct env_snap *es = &s->env[k];
	char title[512], age[32], range[32];
	age_text(s->read_at, age, sizeof age);
	prom_format_duration(s->range, range, sizeof range);
	snprintf(title, sizeof title, "%s (%s/%s) - policy %s - %s - range %s - read %s ago%s",
		 es->name, es->namespace, es->deployment, triggers_policy_name(es->policy),
		 es->url ? es->url : "no Prometheus", range, age,
		 v->busy && time(NULL) - v->started >= 2 ? ", reading..." : "");
	struct tui_rect in = widget_box(box, title, v->focus == k);
	int x = in.x + 1, w = in.w - 2, y = in.y, end = in.y + in.h;
	if (in.h < 1 || w < 12)
		return;
	if (!es->configured) {
		widget_text(y, x, w, ROLE_MUTED, "metrics: not configured (PROMETHEUS_URL)");
		return;
	}
	if (es->error) {
		/* Wrapped over up to six lines (at most half the panel): the
		 * server's words matter. */
		char raw[1024], msg[4096];
		size_t starts[6], lens[6];
		size_t maxl = (size_t)(in.h / 2 > 6 ? 6 : in.h / 2 < 3 ? 3 : in.h / 2);
		snprintf(raw, sizeof raw, "Prometheus: %s", es->error);
		sanitize_display(raw, strlen(raw), msg, sizeof msg);
		size_t nl = layout_wrap(msg, w, starts, lens, 6);
		for (size_t i = 0; i < nl && i < maxl && y < end; i++) {
			char line[4096];
			memcpy(line, msg + starts[i], lens[i]);
			line[lens[i]] = '\0';
			widget_text_clean(y++, x, w, ROLE_CRIT, line);
		}
		if (!es->stale_at)
			return;
		age_text(es->stale_at, age, sizeof age);
		if (y < end)
			widget_printf(y++, x, w, ROLE_STALE, "as last read %s ago (may be out of date):",
				      age);
	}
	/* The focused environment gives the selected metric's timeline a
	 * column on the right when the panel is wide, else its last rows. */
	if (v->focus == k && v->selected < s->ndefs) {
		if (w >= 100) {
			int hw = 38;
			draw_history(s, k, v->selected, (struct tui_rect){y, x + w - hw, end - y, hw});
			w -= hw + 2;
		} else if (end - y >= 12) {
			int hh = (end - y) / 3;
			draw_history(s, k, v->selected, (struct tui_rect){end - hh, x, hh, w});
			end -= hh;
		}
	}
	int per = (end - y) / (int)(s->ndefs ? s->ndefs : 1);
	for (size_t i = 0; i < s->ndefs && y < end; i++) {
		const struct trigger_def *d = &s->cfg.defs[i];
		const struct metric_snap *m = &es->m[i];
		char val[48], cond[96], since[16], line[512];
		triggers_format_value(d, m->has_status && m->st.has_value, m->st.value, val, sizeof val);
		triggers_format_condition(d, "no trigger", cond, sizeof cond);
		bool sel = v->focus == k && v->selected == i;
		int used = widget_printf(y, x, w, sel ? ROLE_SELECTED : ROLE_TITLE, "%s%-13s",
					 sel ? ">" : " ", d->title);
		enum tui_role vrole = !m->has_status || !m->st.has_value ? ROLE_STALE
				      : d->has_trigger && triggers_condition(d, m->st.value) ? ROLE_CRIT
				      : ROLE_NORMAL;
		used += widget_printf(y, x + used, w - used, vrole, " %-12s", val);
		used += widget_printf(y, x + used, w - used, ROLE_MUTED, " %-22s", cond);
		if (m->error) {
			widget_text(y, x + used, w - used, ROLE_CRIT, m->error);
		} else if (d->has_trigger && m->has_status) {
			fmt_clock(m->st.since, since, sizeof since);
			snprintf(line, sizeof line, " %s since %s", triggers_state_name(m->st.state),
				 since);
			widget_text(y, x + used, w - used, state_role(m->st.state), line);
		}
		y++;
		int ch = per - 1 > 4 ? 4 : per - 1;
		if (ch > 0 && y < end) {
			if (ch > end - y)
				ch = end - y;
			if (m->npts)
				draw_chart(d, m, s->start, s->end, (struct tui_rect){y, x, ch, w});
			y += ch;
		}
	}
}

static void mv_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct metrics_view *v = state;
	(void)app;
	const struct metrics_snapshot *s = v->snap;
	if (!s) {
		struct tui_rect in = widget_box(area, "metrics", true);
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_STALE, "reading Prometheus...");
		return;
	}
	if (s->error || !s->any_configured) {
		struct tui_rect in = widget_box(area, "metrics", true);
		if (s->error) {
			widget_printf(in.y, in.x + 1, in.w - 2, ROLE_CRIT, "triggers file: %s", s->error);
			return;
		}
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_WARN,
			    "metrics: not configured (PROMETHEUS_URL)");
		widget_text(in.y + 1, in.x + 1, in.w - 2, ROLE_MUTED,
			    "set PROMETHEUS_URL, or \"prometheus\" per environment in the triggers "
			    "file - see churnops(1) CONFIGURATION");
		if (v->console->metrics_note)
			widget_text(in.y + 3, in.x + 1, in.w - 2, ROLE_WARN,
				    v->console->metrics_note);
		return;
	}
	if (s->nenvs == 0)
		return;
	int each = area.h / (int)s->nenvs;
	bool side = area.w >= 150 || each < 4 + 2 * (int)s->ndefs;
	if (side && s->nenvs > 1) {
		int cw = area.w / (int)s->nenvs;
		for (size_t k = 0; k < s->nenvs; k++) {
			int w = k + 1 == s->nenvs ? area.w - cw * (int)k : cw;
			draw_env(v, k, (struct tui_rect){area.y, area.x + cw * (int)k, area.h, w});
		}
		return;
	}
	for (size_t k = 0; k < s->nenvs; k++) {
		int h = k + 1 == s->nenvs ? area.h - each * (int)k : each;
		draw_env(v, k, (struct tui_rect){area.y + each * (int)k, area.x, h, area.w});
	}
}

static enum tui_result mv_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct metrics_view *v = state;
	const struct metrics_snapshot *s = v->snap;
	size_t nenvs = s ? s->nenvs : 0, ndefs = s ? s->ndefs : 0;
	switch (a) {
	case ACT_NEXT_PANEL:
		if (nenvs)
			v->focus = (v->focus + 1) % nenvs;
		return TUI_REDRAW;
	case ACT_PREV_PANEL:
		if (nenvs)
			v->focus = (v->focus + nenvs - 1) % nenvs;
		return TUI_REDRAW;
	case ACT_DOWN:
		if (v->selected + 1 < ndefs)
			v->selected++;
		return TUI_REDRAW;
	case ACT_UP:
		if (v->selected)
			v->selected--;
		return TUI_REDRAW;
	case ACT_RELOAD_METRICS:
		start_read(v, app);
		tui_app_toast(app, ROLE_OK, "querying Prometheus");
		return TUI_REDRAW;
	case ACT_METRICS_RANGE: {
		v->range = (v->range + 1) % NRANGES;
		char r[32];
		prom_format_duration(ranges[v->range], r, sizeof r);
		tui_app_toast(app, ROLE_OK, "range %s (from the next read)", r);
		if (!v->busy)
			start_read(v, app);
		return TUI_REDRAW;
	}
	case ACT_SHOW_QUERY: {
		if (!s || v->focus >= nenvs || v->selected >= ndefs)
			return TUI_HANDLED;
		const struct trigger_def *d = &s->cfg.defs[v->selected];
		const struct metric_snap *m = &s->env[v->focus].m[v->selected];
		char cond[96], title[160], *text = NULL;
		triggers_format_condition(d, "no trigger", cond, sizeof cond);
		snprintf(title, sizeof title, "%s - %s", s->env[v->focus].name, d->title);
		if (asprintf(&text, "%s\n\ntrigger: %s\nPrometheus: %s", m->query ? m->query : d->query,
			     cond, s->env[v->focus].url ? s->env[v->focus].url : "-") >= 0) {
			tui_app_dialog(app, title, text);
			free(text);
		}
		return TUI_REDRAW;
	}
	default:
		return TUI_IGNORED;
	}
}

static void mv_destroy(void *state)
{
	struct metrics_view *v = state;
	if (!v)
		return;
	snapshot_free(v->snap);
	free(v);
}

void *metrics_view_create(struct console *c)
{
	struct metrics_view *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->console = c;
	v->range = DEFAULT_RANGE;
	atomic_init(&v->cancel, false);
	return v;
}

/* The newest recorded change of state of any trigger in S (not a metric's
 * first evaluation), or NULL; *ENV and *DEF say whose. */
static const struct store_eval *last_change(const struct metrics_snapshot *s, size_t *env,
					    size_t *def)
{
	const struct store_eval *best = NULL;
	for (size_t k = 0; k < s->nenvs; k++) {
		for (size_t i = 0; i < s->ndefs; i++) {
			const struct metric_snap *m = &s->env[k].m[i];
			for (size_t j = 0; j < m->nhist; j++) {
				if (!m->hist[j].prev_state[0])
					continue;
				if (!best || m->hist[j].at > best->at) {
					best = &m->hist[j];
					*env = k;
					*def = i;
				}
				break;
			}
		}
	}
	return best;
}

/* Counts that are zero are left out, so that two environments, the data's
 * age and the last change fit a 120-column line. */
bool metrics_view_summary(void *state, char *buf, size_t n, enum tui_role *role)
{
	static const struct {
		enum trigger_state state;
		const char *name;
	} order[] = {
		{TRIGGER_FIRING, "firing"}, {TRIGGER_PENDING, "pending"},
		{TRIGGER_INACTIVE, "inactive"}, {TRIGGER_NODATA, "no data"},
	};
	struct metrics_view *v = state;
	const struct metrics_snapshot *s = v ? v->snap : NULL;
	if (!s || s->error || !s->any_configured)
		return false;
	size_t used = (size_t)snprintf(buf, n, "metrics:");
	enum tui_role worst = ROLE_OK;
	for (size_t k = 0; k < s->nenvs && used + 1 < n; k++) {
		const struct env_snap *es = &s->env[k];
		int w;
		if (!es->configured) {
			w = snprintf(buf + used, n - used, " %s not configured;", es->name);
		} else if (es->error) {
			w = snprintf(buf + used, n - used, " %s unreachable;", es->name);
			worst = ROLE_CRIT;
		} else {
			size_t counts[4] = {0};
			for (size_t i = 0; i < s->ndefs; i++)
				if (s->cfg.defs[i].has_trigger && es->m[i].has_status)
					counts[es->m[i].st.state]++;
			char list[128] = "";
			size_t lu = 0;
			for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
				if (!counts[order[o].state] || lu + 1 >= sizeof list)
					continue;
				int lw = snprintf(list + lu, sizeof list - lu, "%s%zu %s", lu ? ", " : "",
						  counts[order[o].state], order[o].name);
				if (lw > 0)
					lu += (size_t)lw;
			}
			w = snprintf(buf + used, n - used, " %s %s;", es->name,
				     lu ? list : "no triggers");
			if (counts[TRIGGER_FIRING])
				worst = ROLE_CRIT;
			else if ((counts[TRIGGER_PENDING] || counts[TRIGGER_NODATA]) && worst != ROLE_CRIT)
				worst = ROLE_WARN;
		}
		if (w < 0 || (size_t)w >= n - used) {
			used = n - 1;
			break;
		}
		used += (size_t)w;
	}
	char age[32];
	age_text(s->read_at, age, sizeof age);
	int w = used + 1 < n ? snprintf(buf + used, n - used, " read %s ago", age) : -1;
	if (w > 0 && (size_t)w < n - used)
		used += (size_t)w;
	size_t k = 0, i = 0;
	const struct store_eval *c = last_change(s, &k, &i);
	if (c && used + 1 < n) {
		char ago[32];
		age_text((time_t)c->at, ago, sizeof ago);
		snprintf(buf + used, n - used, "; last: %s %s %s->%s %s ago", s->env[k].name,
			 s->cfg.defs[i].title, c->prev_state, c->state, ago);
	}
	*role = worst;
	return true;
}

/* The environment the overview's sparklines show. */
static const struct env_snap *spark_env(const struct metrics_snapshot *s)
{
	const struct env_snap *pick = NULL;
	for (size_t k = 0; k < s->nenvs; k++) {
		const struct env_snap *es = &s->env[k];
		if (!es->configured || es->error)
			continue;
		if (!pick || strcmp(es->name, "production") == 0)
			pick = es;
	}
	return pick;
}

int metrics_view_sparkline_rows(void *state)
{
	struct metrics_view *v = state;
	const struct metrics_snapshot *s = v ? v->snap : NULL;
	return s && !s->error && spark_env(s) ? (int)s->ndefs : 0;
}

int metrics_view_sparklines(void *state, struct tui_rect r)
{
	struct metrics_view *v = state;
	const struct metrics_snapshot *s = v ? v->snap : NULL;
	const struct env_snap *es = s && !s->error ? spark_env(s) : NULL;
	if (!es || r.h < 1 || r.w < 40)
		return 0;
	int label_w = 28, value_w = 12;
	int spark_w = r.w - label_w - value_w - 12;
	if (spark_w > 40)
		spark_w = 40;
	if (spark_w < 4)
		spark_w = 4;
	int y = 0;
	for (size_t i = 0; i < s->ndefs && y < r.h; i++, y++) {
		const struct trigger_def *d = &s->cfg.defs[i];
		const struct metric_snap *m = &es->m[i];
		char label[64], value[32];
		snprintf(label, sizeof label, "%s %s", es->name, d->title);
		widget_text(r.y + y, r.x, label_w - 1, ROLE_MUTED, label);
		size_t n = m->npts > (size_t)spark_w ? (size_t)spark_w : m->npts;
		enum tui_role role = m->has_status ? state_role(m->st.state) : ROLE_STALE;
		if (!d->has_trigger && m->has_status && m->st.has_value)
			role = ROLE_NORMAL;
		if (n)
			widget_sparkline(r.y + y, r.x + label_w, m->v + (m->npts - n), n, role);
		else
			widget_text(r.y + y, r.x + label_w, spark_w, ROLE_STALE, "no data");
		triggers_format_value(d, m->has_status && m->st.has_value, m->st.value, value,
				      sizeof value);
		int vx = r.x + label_w + spark_w + 1;
		widget_text(r.y + y, vx, value_w, role, value);
		if (d->has_trigger)
			widget_text(r.y + y, vx + value_w, r.w - (vx + value_w - r.x), role,
				    m->has_status ? triggers_state_name(m->st.state) : "not read");
	}
	return y;
}

const struct view_ops metrics_view_ops = {
	.name = "metrics",
	.jump = ACT_VIEW_METRICS,
	.scope = KEYMAP_METRICS,
	.show = mv_show,
	.draw = mv_draw,
	.handle_key = mv_key,
	.on_snapshot = mv_on_snapshot,
	.tick = mv_tick,
	.stop = mv_stop,
	.destroy = mv_destroy,
};
