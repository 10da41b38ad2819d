#include "lkg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prometheus answers at most 11000 points per series. */
#define MAX_STEPS 10000

const char *lkg_outcome_name(enum lkg_outcome o)
{
	switch (o) {
	case LKG_NOT_DUE: return "not-due";
	case LKG_ALREADY: return "already";
	case LKG_NOT_QUIET: return "not-quiet";
	case LKG_UNKNOWN: return "unknown";
	case LKG_SET: return "set";
	}
	return "?";
}

double lkg_parse_time(const char *iso)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!iso)
		return 0;
	const char *rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return 0;
	double frac = 0;
	if (*rest == '.') {
		char *end;
		frac = strtod(rest, &end);
		rest = end;
	}
	if (*rest != 'Z' || rest[1])
		return 0;
	time_t t = timegm(&tm);
	return t < 0 ? 0 : (double)t + frac;
}

/* When V last entered production, from the promotion history; 0 when the
 * history has no such move. */
static int entered_production(struct registry *r, const char *v, double *since,
			      struct err *e)
{
	struct store_reg_event *ev = NULL;
	size_t n = 0;
	*since = 0;
	int rc = registry_history(r, &ev, &n, e);
	if (rc)
		return rc;
	for (size_t i = n; i-- > 0;) {
		if (strcmp(ev[i].kind, "stage") == 0 && strcmp(ev[i].name, "production") == 0 &&
		    strcmp(ev[i].to_version, v) == 0) {
			*since = lkg_parse_time(ev[i].at);
			break;
		}
	}
	store_reg_events_free(ev, n);
	return 0;
}

/* Replays DEF over [START, NOW] from Prometheus' history. *QUIET false
 * with WHY filled when it fired or lacked data. */
static int judge_trigger(struct prom_client *pc, const struct trigger_config *tc,
			 const struct trigger_def *def, const struct trigger_env *env,
			 const char *label, double start, double now, bool *quiet, char *why,
			 size_t nwhy, struct err *e)
{
	*quiet = false;
	char *q = triggers_expand(tc, def, env, label, e);
	if (!q)
		return e->code ? e->code : EXIT_INPUT;
	double step = tc->interval > 0 ? tc->interval : 15;
	if ((now - start) / step > MAX_STEPS)
		step = ceil((now - start) / MAX_STEPS);
	struct prom_result res;
	int rc = prom_query_range(pc, q, start, now, step, &res, e);
	free(q);
	if (rc) {
		err_prefix(e, "last-known-good: %s", def->name);
		return rc;
	}
	struct trigger_status s;
	triggers_status_init(&s);
	long steps = (long)floor((now - start) / step + 1e-9), with = 0;
	double fired_at = 0;
	bool last_has = false;
	for (long k = 0; k <= steps; k++) {
		double t = start + (double)k * step, v = 0;
		size_t ns = 0;
		bool has = triggers_worst(def, &res, t, &v, &ns);
		triggers_step(&s, def, t, has, v);
		with += has;
		last_has = has;
		if (s.state == TRIGGER_FIRING && !fired_at)
			fired_at = t;
	}
	prom_result_finish(&res);
	double coverage = (double)with / (double)(steps + 1);
	if (fired_at > 0) {
		char held[32];
		prom_format_duration(floor(fired_at - start), held, sizeof held);
		snprintf(why, nwhy, "%s fired %s after the version entered production", def->name,
			 held);
	} else if (!last_has) {
		snprintf(why, nwhy, "%s has no data now", def->name);
	} else if (coverage < LKG_MIN_COVERAGE) {
		snprintf(why, nwhy, "%s had data for only %.0f%% of the period (%.0f%% needed)",
			 def->name, coverage * 100, LKG_MIN_COVERAGE * 100);
	} else {
		*quiet = true;
	}
	return 0;
}

static void record_audit(struct store *st, const struct trigger_env *env,
			 const struct lkg_verdict *out, const char *before, const char *actor)
{
	if (!st)
		return;
	struct err ignored = {0};
	struct store_audit a = {
		.actor = (char *)actor, .action = (char *)"last-known-good",
		.env = env->name, .version = (char *)out->version, .outcome = (char *)"done",
		.detail = (char *)out->why, .before = (char *)before,
		.after = (char *)out->version, .reason = (char *)"quiet period",
	};
	store_audit_add(st, &a, &ignored);
}

int lkg_check(struct registry *r, struct store *st, struct prom_client *pc,
	      const struct trigger_config *tc, const struct trigger_env *env,
	      double quiet, double now, const char *actor, bool apply,
	      struct lkg_verdict *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	out->needed = quiet;
	if (!(quiet > 0)) {
		snprintf(out->why, sizeof out->why, "automatic last-known-good is turned off");
		return 0;
	}
	if (strcmp(env->name, "production") != 0) {
		snprintf(out->why, sizeof out->why, "last-known-good follows production only");
		return 0;
	}
	struct registry_version holder = {0}, lkg = {0};
	bool has_holder = false, has_lkg = false;
	int rc = registry_stage_holder(r, REGISTRY_STAGE_PRODUCTION, &holder, &has_holder, e);
	if (rc)
		return rc;
	if (!has_holder) {
		snprintf(out->why, sizeof out->why, "no version is in production");
		return 0;
	}
	snprintf(out->version, sizeof out->version, "%s", holder.version);
	const char *label = holder.label[0] ? holder.label : holder.version;
	if ((rc = registry_get_alias(r, REGISTRY_ALIAS_LKG, &lkg, &has_lkg, e)))
		goto out;
	if (has_lkg && strcmp(lkg.version, holder.version) == 0) {
		out->outcome = LKG_ALREADY;
		snprintf(out->why, sizeof out->why, "%s is already last-known-good", label);
		goto out;
	}
	if ((rc = entered_production(r, holder.version, &out->since, e)))
		goto out;
	if (!(out->since > 0)) {
		out->outcome = LKG_UNKNOWN;
		snprintf(out->why, sizeof out->why, "the promotion history has no move of %s to "
			 "production, so how long it has held it is unknown", label);
		goto out;
	}
	out->held = now - out->since;
	char held[32], need[32];
	prom_format_duration(floor(out->held), held, sizeof held);
	prom_format_duration(quiet, need, sizeof need);
	if (out->held < quiet) {
		snprintf(out->why, sizeof out->why, "%s has held production %s of %s", label, held,
			 need);
		goto out;
	}
	if (!pc) {
		out->outcome = LKG_UNKNOWN;
		snprintf(out->why, sizeof out->why, "%s has held production %s, but without "
			 "Prometheus no quiet period can be shown", label, held);
		goto out;
	}
	size_t judged = 0;
	for (size_t i = 0; i < tc->ndefs; i++) {
		const struct trigger_def *d = &tc->defs[i];
		if (!d->has_trigger)
			continue;
		bool ok;
		char why[256];
		if ((rc = judge_trigger(pc, tc, d, env, label, out->since, now, &ok, why, sizeof why,
					e)))
			goto out;
		if (!ok) {
			out->outcome = LKG_NOT_QUIET;
			snprintf(out->why, sizeof out->why, "%s has held production %s, not quietly: "
				 "%s", label, held, why);
			goto out;
		}
		judged++;
	}
	if (!judged) {
		out->outcome = LKG_UNKNOWN;
		snprintf(out->why, sizeof out->why, "no rollback trigger is configured, so no quiet "
			 "period can be shown");
		goto out;
	}
	out->outcome = LKG_SET;
	snprintf(out->why, sizeof out->why, "%s held production %s with no trigger firing "
		 "(%zu triggers, data for at least %.0f%% of the period)", label, held, judged,
		 LKG_MIN_COVERAGE * 100);
	if (apply) {
		struct registry_move m = {.actor = actor ? actor : LKG_ALIAS_ACTOR,
					  .reason = out->why};
		if ((rc = registry_set_alias(r, REGISTRY_ALIAS_LKG, holder.version, &m, e)))
			goto out;
		record_audit(st, env, out, has_lkg ? lkg.version : NULL, m.actor);
	}
out:
	registry_version_finish(&holder);
	registry_version_finish(&lkg);
	return rc;
}
