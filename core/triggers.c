#include "triggers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "store.h"

/* Label matchers every default query shares. */
#define SEL "namespace=\"{namespace}\",deployment=\"{deployment}\""

/* The guide's metrics. model_performance_score is matched with
 * metric_type "roc_auc" or without the label at all, since some exporters
 * (the sandbox among them) publish only the one score. */
static const struct {
	const char *name, *title, *query, *unit;
	bool has_trigger;
	enum trigger_op op;
	double threshold, for_s, canary_margin;
} default_defs[] = {
	{ "roc_auc", "ROC-AUC",
	  "min(model_performance_score{" SEL ",metric_type=~\"roc_auc|\"})",
	  "score", true, TRIGGER_BELOW, 0.80, 600, 0.02 },
	{ "latency_p95", "p95 latency",
	  "histogram_quantile(0.95, sum by (le) (rate(prediction_latency_seconds_bucket{"
	  SEL "}[{window}])))",
	  "s", true, TRIGGER_ABOVE, 0.5, 300, 0.1 },
	{ "error_rate", "error rate",
	  "sum(rate(prediction_errors_total{" SEL "}[{window}])) / "
	  "sum(rate(predictions_total{" SEL "}[{window}]))",
	  "ratio", true, TRIGGER_ABOVE, 0.05, 300, 0.01 },
	{ "drift", "drift score",
	  "max(data_drift_score{" SEL "})",
	  "score", true, TRIGGER_ABOVE, 0.2, 900, 0.05 },
	{ "throughput", "throughput",
	  "sum(rate(predictions_total{" SEL "}[{window}]))",
	  "req/s", false, TRIGGER_ABOVE, 0, 0, -1 },
};

static const struct {
	const char *name, *namespace, *deployment;
} default_envs[] = {
	{ "staging", "mlops-staging", "churn-prediction" },
	{ "production", "mlops-production", "churn-prediction" },
};

#define N_DEFAULT_DEFS (sizeof default_defs / sizeof default_defs[0])
#define N_DEFAULT_ENVS (sizeof default_envs / sizeof default_envs[0])

static void def_finish(struct trigger_def *d)
{
	free(d->name);
	free(d->title);
	free(d->query);
	free(d->unit);
}

static void env_finish(struct trigger_env *v)
{
	free(v->name);
	free(v->namespace);
	free(v->deployment);
	free(v->prometheus_url);
	free(v->canary_deployment);
}

void triggers_config_finish(struct trigger_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ndefs; i++)
		def_finish(&c->defs[i]);
	for (size_t i = 0; i < c->nenvs; i++)
		env_finish(&c->envs[i]);
	free(c->defs);
	free(c->envs);
	free(c->window);
	memset(c, 0, sizeof *c);
}

/* Replaces *SLOT with a copy of S; false when out of memory. */
static bool set_str(char **slot, const char *s)
{
	char *copy = s ? strdup(s) : NULL;
	if (s && !copy)
		return false;
	free(*slot);
	*slot = copy;
	return true;
}

static struct trigger_def *add_def(struct trigger_config *c, const char *name)
{
	struct trigger_def *nd = realloc(c->defs, (c->ndefs + 1) * sizeof *nd);
	if (!nd)
		return NULL;
	c->defs = nd;
	struct trigger_def *d = &nd[c->ndefs];
	memset(d, 0, sizeof *d);
	if (!(d->name = strdup(name)))
		return NULL;
	c->ndefs++;
	return d;
}

static struct trigger_env *add_env(struct trigger_config *c, const char *name)
{
	struct trigger_env *nv = realloc(c->envs, (c->nenvs + 1) * sizeof *nv);
	if (!nv)
		return NULL;
	c->envs = nv;
	struct trigger_env *v = &nv[c->nenvs];
	memset(v, 0, sizeof *v);
	v->policy = POLICY_PROMPT;
	if (!(v->name = strdup(name)))
		return NULL;
	c->nenvs++;
	return v;
}

int triggers_config_defaults(struct trigger_config *c, struct err *e)
{
	memset(c, 0, sizeof *c);
	c->interval = 15;
	if (!(c->window = strdup("5m")))
		goto oom;
	for (size_t i = 0; i < N_DEFAULT_DEFS; i++) {
		struct trigger_def *d = add_def(c, default_defs[i].name);
		if (!d || !set_str(&d->title, default_defs[i].title) ||
		    !set_str(&d->query, default_defs[i].query) ||
		    !set_str(&d->unit, default_defs[i].unit))
			goto oom;
		d->has_trigger = default_defs[i].has_trigger;
		d->op = default_defs[i].op;
		d->threshold = default_defs[i].threshold;
		d->for_s = default_defs[i].for_s;
		d->canary_margin = default_defs[i].canary_margin;
	}
	for (size_t i = 0; i < N_DEFAULT_ENVS; i++) {
		struct trigger_env *v = add_env(c, default_envs[i].name);
		if (!v || !set_str(&v->namespace, default_envs[i].namespace) ||
		    !set_str(&v->deployment, default_envs[i].deployment))
			goto oom;
	}
	return 0;
oom:
	triggers_config_finish(c);
	return err_set(e, EXIT_INPUT, "out of memory");
}

const struct trigger_env *triggers_config_env(const struct trigger_config *c,
					      const char *name)
{
	for (size_t i = 0; i < c->nenvs; i++)
		if (strcmp(c->envs[i].name, name) == 0)
			return &c->envs[i];
	return NULL;
}

static struct trigger_def *find_def(struct trigger_config *c, const char *name)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (strcmp(c->defs[i].name, name) == 0)
			return &c->defs[i];
	return NULL;
}

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(key, *allowed) == 0)
			return true;
	return false;
}

/* Fails on the first key of OBJ not in ALLOWED. */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *path,
		      const char *where, struct err *e)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		if (!key_allowed(it->string, allowed))
			return err_set(e, EXIT_INPUT, "%s: %s: unknown key \"%s\"", path, where,
				       it->string);
	}
	return 0;
}

/* A duration given as a Prometheus string ("5m") or a number of seconds. */
static int get_duration(const cJSON *v, bool allow_zero, const char *path,
			const char *where, double *out, struct err *e)
{
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    (allow_zero || v->valuedouble > 0)) {
		*out = v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && prom_parse_duration(v->valuestring, allow_zero, out))
		return 0;
	return err_set(e, EXIT_INPUT, "%s: %s: not a duration (like \"30s\" or \"5m\")", path,
		       where);
}

static int load_metric(struct trigger_config *c, const cJSON *m, const char *path,
		       struct err *e)
{
	static const char *const keys[] = { "title", "query", "unit", "trigger", "op",
					     "threshold", "for", "canary_margin", NULL };
	char where[160];
	snprintf(where, sizeof where, "metrics.%s", m->string);
	if (!cJSON_IsObject(m))
		return err_set(e, EXIT_INPUT, "%s: %s: must be an object", path, where);
	int rc = check_keys(m, keys, path, where, e);
	if (rc)
		return rc;
	struct trigger_def *d = find_def(c, m->string);
	bool is_new = !d;
	if (is_new) {
		if (!json_str(m, "query"))
			return err_set(e, EXIT_INPUT, "%s: %s: a new metric needs a \"query\"",
				       path, where);
		if (!(d = add_def(c, m->string)) || !set_str(&d->title, m->string) ||
		    !set_str(&d->unit, ""))
			return err_set(e, EXIT_INPUT, "out of memory");
		d->canary_margin = -1;
	}
	const cJSON *cm = cJSON_GetObjectItemCaseSensitive(m, "canary_margin");
	if (cm) {
		if (!cJSON_IsNumber(cm) || !isfinite(cm->valuedouble) || cm->valuedouble < 0)
			return err_set(e, EXIT_INPUT,
				       "%s: %s.canary_margin: must be a number >= 0", path, where);
		d->canary_margin = cm->valuedouble;
	}
	bool had_trigger = d->has_trigger;
	static const char *const strs[] = { "title", "query", "unit" };
	char **slots[] = { &d->title, &d->query, &d->unit };
	for (size_t i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, strs[i]);
		if (!v)
			continue;
		if (!cJSON_IsString(v) || (i == 1 && !*v->valuestring))
			return err_set(e, EXIT_INPUT, "%s: %s.%s: must be a%s string", path, where,
				       strs[i], i == 1 ? " non-empty" : "");
		if (!set_str(slots[i], v->valuestring))
			return err_set(e, EXIT_INPUT, "out of memory");
	}
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(m, "op");
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(m, "threshold");
	const cJSON *fr = cJSON_GetObjectItemCaseSensitive(m, "for");
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(m, "trigger");
	if (op) {
		if (!cJSON_IsString(op) || (strcmp(op->valuestring, ">") != 0 &&
					    strcmp(op->valuestring, "<") != 0))
			return err_set(e, EXIT_INPUT, "%s: %s.op: must be \">\" or \"<\"", path,
				       where);
		d->op = op->valuestring[0] == '>' ? TRIGGER_ABOVE : TRIGGER_BELOW;
	}
	if (th) {
		if (!cJSON_IsNumber(th) || !isfinite(th->valuedouble))
			return err_set(e, EXIT_INPUT, "%s: %s.threshold: must be a number", path,
				       where);
		d->threshold = th->valuedouble;
	}
	if (fr && (rc = get_duration(fr, true, path, where, &d->for_s, e)))
		return rc;
	if (tr) {
		if (!cJSON_IsBool(tr))
			return err_set(e, EXIT_INPUT, "%s: %s.trigger: must be true or false",
				       path, where);
		d->has_trigger = cJSON_IsTrue(tr);
	} else if (th) {
		d->has_trigger = true;
	}
	if (d->has_trigger && !had_trigger && (!op || !th))
		return err_set(e, EXIT_INPUT, "%s: %s: a new trigger needs \"op\" and \"threshold\"",
			       path, where);
	return 0;
}

static int load_env(struct trigger_config *c, const cJSON *o, const char *path,
		    struct err *e)
{
	static const char *const keys[] = { "namespace", "deployment", "policy",
					     "prometheus", "canary_deployment", NULL };
	char where[160];
	snprintf(where, sizeof where, "environments.%s", o->string);
	if (!cJSON_IsObject(o))
		return err_set(e, EXIT_INPUT, "%s: %s: must be an object", path, where);
	int rc = check_keys(o, keys, path, where, e);
	if (rc)
		return rc;
	struct trigger_env *v = (struct trigger_env *)triggers_config_env(c, o->string);
	if (!v) {
		if (!json_str(o, "namespace") || !json_str(o, "deployment"))
			return err_set(e, EXIT_INPUT,
				       "%s: %s: a new environment needs \"namespace\" and \"deployment\"",
				       path, where);
		if (!(v = add_env(c, o->string)))
			return err_set(e, EXIT_INPUT, "out of memory");
	}
	static const char *const strs[] = { "namespace", "deployment", "prometheus",
					    "canary_deployment" };
	char **slots[] = { &v->namespace, &v->deployment, &v->prometheus_url,
			   &v->canary_deployment };
	for (size_t i = 0; i < 4; i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, strs[i]);
		if (!it)
			continue;
		if (!cJSON_IsString(it) || !*it->valuestring)
			return err_set(e, EXIT_INPUT, "%s: %s.%s: must be a non-empty string", path,
				       where, strs[i]);
		if (!set_str(slots[i], it->valuestring))
			return err_set(e, EXIT_INPUT, "out of memory");
	}
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "policy");
	if (p && (!cJSON_IsString(p) || !triggers_policy_parse(p->valuestring, &v->policy)))
		return err_set(e, EXIT_INPUT, "%s: %s.policy: must be \"off\", \"prompt\" or \"auto\"",
			       path, where);
	return 0;
}

char *triggers_default_path(void)
{
	struct err ignored = {0};
	char *dir = paths_config_dir(&ignored);
	char *p = NULL;
	if (dir && asprintf(&p, "%s/triggers.json", dir) < 0)
		p = NULL;
	free(dir);
	if (p && !fileio_exists(p)) {
		free(p);
		p = NULL;
	}
	return p;
}

int triggers_config_load(struct trigger_config *c, const char *path,
			 struct err *e)
{
	int rc = triggers_config_defaults(c, e);
	if (rc || !path)
		return rc;
	cJSON *root = json_load_file(path, e);
	if (!root) {
		triggers_config_finish(c);
		return e && e->code ? e->code : EXIT_INPUT;
	}
	static const char *const keys[] = { "interval", "window", "metrics", "environments",
					     NULL };
	if (!cJSON_IsObject(root)) {
		rc = err_set(e, EXIT_INPUT, "%s: must be a JSON object", path);
		goto out;
	}
	if ((rc = check_keys(root, keys, path, "top level", e)))
		goto out;
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, "interval");
	if (it && (rc = get_duration(it, false, path, "interval", &c->interval, e)))
		goto out;
	it = cJSON_GetObjectItemCaseSensitive(root, "window");
	if (it) {
		double secs;
		if (!cJSON_IsString(it) || !prom_parse_duration(it->valuestring, false, &secs) ||
		    strspn(it->valuestring, "0123456789") == strlen(it->valuestring)) {
			rc = err_set(e, EXIT_INPUT, "%s: window: must be a PromQL duration like \"5m\"",
				     path);
			goto out;
		}
		if (!set_str(&c->window, it->valuestring)) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	const char *sections[] = { "metrics", "environments" };
	for (size_t s = 0; s < 2; s++) {
		const cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, sections[s]);
		if (!sec)
			continue;
		if (!cJSON_IsObject(sec)) {
			rc = err_set(e, EXIT_INPUT, "%s: %s: must be an object", path, sections[s]);
			goto out;
		}
		cJSON_ArrayForEach(it, sec) {
			rc = s == 0 ? load_metric(c, it, path, e) : load_env(c, it, path, e);
			if (rc)
				goto out;
		}
	}
out:
	cJSON_Delete(root);
	if (rc)
		triggers_config_finish(c);
	return rc;
}

/* Appends LEN bytes of S to the growing string in *BUF. */
static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 256);
		while (nc < *len + n + 1)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return false;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* Appends S escaped for the inside of a PromQL double-quoted string. */
static bool append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
	for (; *s; s++) {
		char esc[2] = { '\\', *s };
		bool ok = (*s == '"' || *s == '\\') ? append(buf, len, cap, esc, 2)
			: *s == '\n' ? append(buf, len, cap, "\\n", 2)
			: append(buf, len, cap, s, 1);
		if (!ok)
			return false;
	}
	return true;
}

char *triggers_expand(const struct trigger_config *c, const struct trigger_def *def,
		      const struct trigger_env *env, const char *version,
		      struct err *e)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *p = def->query;
	while (*p) {
		const char *open = strchr(p, '{');
		const char *close = open ? strchr(open, '}') : NULL;
		const char *value = NULL;
		bool quoted = true;
		if (open && close) {
			size_t n = (size_t)(close - open - 1);
			if (n == 9 && strncmp(open + 1, "namespace", 9) == 0)
				value = env->namespace;
			else if (n == 10 && strncmp(open + 1, "deployment", 10) == 0)
				value = env->deployment;
			else if (n == 6 && strncmp(open + 1, "window", 6) == 0) {
				value = c->window;
				quoted = false;
			} else if (n == 7 && strncmp(open + 1, "version", 7) == 0) {
				if (!version) {
					free(buf);
					err_set(e, EXIT_INPUT,
						"the %s query uses {version}: give --version", def->name);
					return NULL;
				}
				value = version;
			}
		}
		if (!value) {
			/* Not a placeholder (a label matcher's brace): copy through it. */
			size_t n = open ? (size_t)(open - p) + 1 : strlen(p);
			if (!append(&buf, &len, &cap, p, n))
				goto oom;
			p += n;
			continue;
		}
		if (!append(&buf, &len, &cap, p, (size_t)(open - p)) ||
		    !(quoted ? append_quoted(&buf, &len, &cap, value)
			     : append(&buf, &len, &cap, value, strlen(value))))
			goto oom;
		p = close + 1;
	}
	if (!buf && !append(&buf, &len, &cap, "", 0))
		goto oom;
	return buf;
oom:
	free(buf);
	err_set(e, EXIT_INPUT, "out of memory");
	return NULL;
}

const char *triggers_state_name(enum trigger_state s)
{
	switch (s) {
	case TRIGGER_NODATA: return "nodata";
	case TRIGGER_INACTIVE: return "inactive";
	case TRIGGER_PENDING: return "pending";
	case TRIGGER_FIRING: return "firing";
	}
	return "?";
}

bool triggers_state_parse(const char *name, enum trigger_state *out)
{
	static const enum trigger_state all[] = {TRIGGER_NODATA, TRIGGER_INACTIVE,
						 TRIGGER_PENDING, TRIGGER_FIRING};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (name && strcmp(name, triggers_state_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

int triggers_record(struct store *st, const char *env, const struct trigger_def *def,
		    const struct trigger_status *s, double at, const char *error,
		    struct err *e)
{
	struct store_eval ev = {
		.env = (char *)env,
		.metric = def->name,
		.at = at,
		.state = (char *)triggers_state_name(s->state),
		.has_value = !error && s->has_value,
		.value = s->value,
		.nseries = error ? 0 : (long long)s->nseries,
		.error = (char *)error,
	};
	return store_eval_add(st, &ev, e);
}

const char *triggers_policy_name(enum trigger_policy p)
{
	switch (p) {
	case POLICY_OFF: return "off";
	case POLICY_PROMPT: return "prompt";
	case POLICY_AUTO: return "auto";
	}
	return "?";
}

bool triggers_policy_parse(const char *s, enum trigger_policy *out)
{
	static const enum trigger_policy all[] = { POLICY_OFF, POLICY_PROMPT, POLICY_AUTO };
	for (size_t i = 0; i < 3; i++)
		if (strcmp(s, triggers_policy_name(all[i])) == 0) {
			*out = all[i];
			return true;
		}
	return false;
}

const char *triggers_op_symbol(enum trigger_op op)
{
	return op == TRIGGER_BELOW ? "<" : ">";
}

void triggers_status_init(struct trigger_status *s)
{
	memset(s, 0, sizeof *s);
	s->state = TRIGGER_NODATA;
}

bool triggers_condition(const struct trigger_def *def, double value)
{
	if (!def->has_trigger || isnan(value))
		return false;
	return def->op == TRIGGER_BELOW ? value < def->threshold : value > def->threshold;
}

static void move_to(struct trigger_status *s, enum trigger_state st, double now)
{
	if (s->state != st || s->since == 0)
		s->since = now;
	s->state = st;
}

/* Prometheus' rules/alerting.go, one evaluation: a new active alert is
 * pending with activeAt = now; a pending one whose activeAt is at least
 * `for` ago fires (in the same evaluation when `for` is zero); one whose
 * condition no longer holds is resolved. */
void triggers_step(struct trigger_status *s, const struct trigger_def *def,
		   double now, bool has_value, double value)
{
	s->last_eval = now;
	if (!has_value || isnan(value)) {
		s->has_value = false;
		s->active_at = 0;
		s->fired_at = 0;
		move_to(s, TRIGGER_NODATA, now);
		return;
	}
	s->has_value = true;
	s->value = value;
	if (!triggers_condition(def, value)) {
		s->active_at = 0;
		s->fired_at = 0;
		move_to(s, TRIGGER_INACTIVE, now);
		return;
	}
	if (s->state != TRIGGER_PENDING && s->state != TRIGGER_FIRING) {
		s->active_at = now;
		move_to(s, TRIGGER_PENDING, now);
	}
	if (s->state == TRIGGER_PENDING && now - s->active_at >= def->for_s) {
		s->fired_at = now;
		move_to(s, TRIGGER_FIRING, now);
	}
}

bool triggers_worst(const struct trigger_def *def, const struct prom_result *r,
		    double t, double *value, size_t *nseries)
{
	bool found = false;
	double worst = 0;
	size_t n = 0;
	for (size_t i = 0; i < r->nseries; i++) {
		const struct prom_series *s = &r->series[i];
		const struct prom_sample *hit = NULL;
		if (r->type != PROM_MATRIX) {
			hit = s->nsamples ? &s->samples[0] : NULL;
		} else {
			for (size_t j = 0; j < s->nsamples; j++)
				if (fabs(s->samples[j].t - t) < 0.001) {
					hit = &s->samples[j];
					break;
				}
		}
		if (!hit)
			continue;
		n++;
		if (isnan(hit->v))
			continue;
		bool worse = def->op == TRIGGER_BELOW ? hit->v < worst : hit->v > worst;
		if (!found || worse)
			worst = hit->v;
		found = true;
	}
	if (nseries)
		*nseries = n;
	if (found)
		*value = worst;
	return found;
}

void triggers_replay(struct trigger_status *s, const struct trigger_def *def,
		     const struct prom_result *r, double start, double end,
		     double step)
{
	if (!(step > 0))
		return;
	long steps = (long)floor((end - start) / step + 1e-9);
	for (long k = 0; k <= steps; k++) {
		double t = start + (double)k * step;
		double v = 0;
		size_t n = 0;
		bool has = triggers_worst(def, r, t, &v, &n);
		triggers_step(s, def, t, has, v);
		s->nseries = n;
	}
}

double triggers_lookback(const struct trigger_def *def, double interval)
{
	double lb = 2 * def->for_s + 2 * interval;
	if (lb < 10 * interval)
		lb = 10 * interval;
	/* Stay under the server's 11000 points per series. */
	if (lb / interval > 10000)
		lb = 10000 * interval;
	return lb;
}

int triggers_evaluate(struct prom_client *pc, const struct trigger_config *c,
		      const struct trigger_def *def, const struct trigger_env *env,
		      const char *version, double now, struct trigger_status *s,
		      double *ms, struct err *e)
{
	char *q = triggers_expand(c, def, env, version, e);
	if (!q)
		return EXIT_INPUT;
	struct prom_result r;
	int rc = prom_query(pc, q, now, &r, e);
	if (!rc) {
		double v = 0;
		size_t n = 0;
		bool has = triggers_worst(def, &r, now, &v, &n);
		triggers_step(s, def, now, has, v);
		s->nseries = n;
		if (ms)
			*ms = r.elapsed_ms;
	} else {
		err_prefix(e, "%s", def->name);
	}
	prom_result_finish(&r);
	free(q);
	return rc;
}

int triggers_evaluate_history(struct prom_client *pc, const struct trigger_config *c,
			      const struct trigger_def *def,
			      const struct trigger_env *env, const char *version,
			      double now, struct trigger_status *s, double *ms,
			      struct err *e)
{
	char *q = triggers_expand(c, def, env, version, e);
	if (!q)
		return EXIT_INPUT;
	double step = c->interval;
	/* Evaluation times count back from NOW, so the last one is NOW itself
	 * and matches what an instant query would say. */
	double end = now;
	double start = end - floor(triggers_lookback(def, step) / step) * step;
	struct prom_result r;
	int rc = prom_query_range(pc, q, start, end, step, &r, e);
	if (!rc) {
		triggers_status_init(s);
		triggers_replay(s, def, &r, start, end, step);
		if (ms)
			*ms = r.elapsed_ms;
	} else {
		err_prefix(e, "%s", def->name);
	}
	prom_result_finish(&r);
	free(q);
	return rc;
}

static void add_time(cJSON *o, const char *key, double t)
{
	if (t > 0)
		cJSON_AddNumberToObject(o, key, t);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *triggers_status_json(const struct trigger_def *def,
			    const struct trigger_status *s, const char *query)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	char dur[32];
	cJSON_AddStringToObject(o, "name", def->name);
	cJSON_AddStringToObject(o, "title", def->title);
	cJSON_AddStringToObject(o, "unit", def->unit);
	if (query)
		cJSON_AddStringToObject(o, "query", query);
	cJSON_AddStringToObject(o, "state", triggers_state_name(s->state));
	if (s->has_value && isfinite(s->value))
		cJSON_AddNumberToObject(o, "value", s->value);
	else
		cJSON_AddNullToObject(o, "value");
	if (def->has_trigger) {
		cJSON_AddStringToObject(o, "op", triggers_op_symbol(def->op));
		cJSON_AddNumberToObject(o, "threshold", def->threshold);
		prom_format_duration(def->for_s, dur, sizeof dur);
		cJSON_AddStringToObject(o, "for", dur);
	}
	add_time(o, "since", s->since);
	add_time(o, "active_at", s->active_at);
	add_time(o, "fired_at", s->fired_at);
	add_time(o, "evaluated_at", s->last_eval);
	cJSON_AddNumberToObject(o, "series", (double)s->nseries);
	return o;
}

/* S as a YAML double-quoted scalar: JSON's string syntax is a subset of
 * YAML's, and cJSON escapes every control character. */
static bool append_yaml_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	cJSON *str = cJSON_CreateString(s);
	char *text = str ? cJSON_PrintUnformatted(str) : NULL;
	bool ok = text && append(buf, len, cap, text, strlen(text));
	free(text);
	cJSON_Delete(str);
	return ok;
}

static bool appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < sizeof tmp && append(buf, len, cap, tmp, (size_t)n);
}

/* "latency_p95" -> "ChurnopsLatencyP95": a valid alert name whatever the
 * configured name holds. */
static void alert_name(const char *name, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "Churnops");
	bool upper = true;
	for (const char *p = name; *p && n + 1 < size; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9'))) {
			upper = true;
			continue;
		}
		out[n++] = upper && ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : (char)ch;
		upper = false;
	}
	out[n] = '\0';
}

static bool render_env(const struct trigger_config *c, const struct trigger_env *env,
		       char **buf, size_t *len, size_t *cap, struct err *e)
{
	size_t gn = strlen(env->name) + sizeof "churnops-";
	char *group = malloc(gn);
	if (!group)
		return false;
	snprintf(group, gn, "churnops-%s", env->name);
	bool ok = append(buf, len, cap, "  - name: ", 10) &&
		  append_yaml_str(buf, len, cap, group);
	free(group);
	bool any = false;
	for (size_t i = 0; i < c->ndefs; i++)
		any |= c->defs[i].has_trigger;
	if (!ok || !appendf(buf, len, cap, "\n    rules:%s\n", any ? "" : " []"))
		return false;
	for (size_t i = 0; i < c->ndefs; i++) {
		const struct trigger_def *d = &c->defs[i];
		if (!d->has_trigger)
			continue;
		char *q = triggers_expand(c, d, env, NULL, e);
		if (!q)
			return false;
		char expr_tail[64], name[128], dur[32], num[40];
		/* The shortest text that reads back as the same double. */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof num, "%.*g", prec, d->threshold);
			if (strtod(num, NULL) == d->threshold)
				break;
		}
		snprintf(expr_tail, sizeof expr_tail, ") %s %s", triggers_op_symbol(d->op), num);
		alert_name(d->name, name, sizeof name);
		prom_format_duration(d->for_s, dur, sizeof dur);
		size_t elen = strlen(q) + strlen(expr_tail) + 2;
		char *expr = malloc(elen);
		if (!expr) {
			free(q);
			return false;
		}
		snprintf(expr, elen, "(%s%s", q, expr_tail);
		char summary[512];
		char th[64];
		snprintf(th, sizeof th, "%g", d->threshold);
		snprintf(summary, sizeof summary, "%s %s %s for %s in %s (%s/%s)", d->title,
			 triggers_op_symbol(d->op), th, dur, env->name, env->namespace,
			 env->deployment);
		bool wrote = appendf(buf, len, cap, "      - alert: %s\n        expr: ", name) &&
			  append_yaml_str(buf, len, cap, expr) &&
			  appendf(buf, len, cap, "\n        for: %s\n        labels:\n"
				  "          severity: critical\n          env: ", dur) &&
			  append_yaml_str(buf, len, cap, env->name) &&
			  appendf(buf, len, cap, "\n          trigger: ") &&
			  append_yaml_str(buf, len, cap, d->name) &&
			  appendf(buf, len, cap, "\n        annotations:\n          summary: ") &&
			  append_yaml_str(buf, len, cap, summary) &&
			  appendf(buf, len, cap, "\n          rollback_policy: %s\n",
				  triggers_policy_name(env->policy));
		free(expr);
		free(q);
		if (!wrote)
			return false;
	}
	return true;
}

char *triggers_render_rules(const struct trigger_config *c,
			    const struct trigger_env *env, struct err *e)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct err ex = { 0 };
	if (!appendf(&buf, &len, &cap, "# Prometheus alerting rules for churnops' rollback "
		     "triggers (churnops alerts render).\ngroups:\n"))
		goto fail;
	for (size_t i = 0; i < c->nenvs; i++) {
		if (env && strcmp(env->name, c->envs[i].name) != 0)
			continue;
		if (!render_env(c, &c->envs[i], &buf, &len, &cap, &ex))
			goto fail;
	}
	return buf;
fail:
	free(buf);
	if (ex.code)
		err_set(e, ex.code, "%s", ex.msg);
	else
		err_set(e, EXIT_INPUT, "out of memory");
	return NULL;
}

const char *triggers_canary_verdict_name(enum canary_verdict v)
{
	switch (v) {
	case CANARY_OK: return "ok";
	case CANARY_WORSE: return "worse";
	case CANARY_NODATA: return "nodata";
	}
	return "?";
}

void triggers_canary_judge(const struct trigger_def *def, bool has_stable,
			   double stable, bool has_canary, double canary,
			   struct canary_result *out)
{
	memset(out, 0, sizeof *out);
	out->has_stable = has_stable && !isnan(stable);
	out->has_canary = has_canary && !isnan(canary);
	out->stable = stable;
	out->canary = canary;
	out->margin = def->canary_margin;
	if (!out->has_stable || !out->has_canary) {
		out->verdict = CANARY_NODATA;
		return;
	}
	double worse_by = def->op == TRIGGER_BELOW ? stable - canary : canary - stable;
	/* An infinite canary against a finite stable is worse; inf - inf is not. */
	out->verdict = worse_by > def->canary_margin ? CANARY_WORSE : CANARY_OK;
}

int triggers_canary_compare(struct prom_client *pc, const struct trigger_config *c,
			    const struct trigger_def *def,
			    const struct trigger_env *env, const char *version,
			    double now, struct canary_result *out, struct err *e)
{
	size_t n = strlen(env->deployment) + sizeof "-canary";
	char *canary_name = env->canary_deployment ? strdup(env->canary_deployment) : malloc(n);
	if (!canary_name)
		return err_set(e, EXIT_INPUT, "out of memory");
	if (!env->canary_deployment)
		snprintf(canary_name, n, "%s-canary", env->deployment);
	struct trigger_env canary_env = *env;
	canary_env.deployment = canary_name;
	const struct trigger_env *sides[2] = { env, &canary_env };
	bool has[2] = { false, false };
	double v[2] = { 0, 0 };
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		char *q = triggers_expand(c, def, sides[i], version, e);
		if (!q) {
			rc = EXIT_INPUT;
			break;
		}
		struct prom_result r;
		rc = prom_query(pc, q, now, &r, e);
		if (!rc)
			has[i] = triggers_worst(def, &r, now, &v[i], NULL);
		else
			err_prefix(e, "%s (%s)", def->name, sides[i]->deployment);
		prom_result_finish(&r);
		free(q);
	}
	if (!rc)
		triggers_canary_judge(def, has[0], v[0], has[1], v[1], out);
	free(canary_name);
	return rc;
}

void triggers_format_value(const struct trigger_def *d, bool has, double v, char *buf,
			   size_t size)
{
	if (!has)
		snprintf(buf, size, "no data");
	else if (!isfinite(v))
		snprintf(buf, size, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
	else if (strcmp(d->unit, "s") == 0)
		snprintf(buf, size, "%.1f ms", v * 1000);
	else if (strcmp(d->unit, "ratio") == 0)
		snprintf(buf, size, "%.2f %%", v * 100);
	else if (strcmp(d->unit, "req/s") == 0)
		snprintf(buf, size, "%.1f req/s", v);
	else
		snprintf(buf, size, "%.3f", v);
}

void triggers_format_condition(const struct trigger_def *d, const char *none, char *buf,
			       size_t size)
{
	if (!d->has_trigger) {
		snprintf(buf, size, "%s", none);
		return;
	}
	char th[48], dur[32];
	triggers_format_value(d, true, d->threshold, th, sizeof th);
	prom_format_duration(d->for_s, dur, sizeof dur);
	snprintf(buf, size, "%s %s for %s", triggers_op_symbol(d->op), th, dur);
}
