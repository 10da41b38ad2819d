/* lkg: the last-known-good alias, earned rather than assumed.
 *
 * A version becomes last-known-good once it has held production for a quiet
 * period (config_lkg_after, 24 h by default) during which no rollback
 * trigger fired. The judgement comes from Prometheus' own history, not from
 * whoever happened to be watching: for every trigger, a range query over the
 * whole period since the version entered production, replayed through the
 * same state machine as live evaluation (core/triggers). The period is quiet
 * when, for every trigger, no step was firing, the query had data at no
 * fewer than LKG_MIN_COVERAGE of the steps (no data is never taken as
 * healthy), and it had data at the last step.
 *
 * When it entered production comes from the promotion history in the store
 * (kept for both registry back ends); a version with no production move in
 * the history (moved by another tool) is never made last-known-good here.
 */
#ifndef CHURNOPS_LKG_H
#define CHURNOPS_LKG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "prom.h"
#include "registry.h"
#include "store.h"
#include "triggers.h"

#define LKG_MIN_COVERAGE 0.9
#define LKG_ALIAS_ACTOR "churnops (quiet period)"

enum lkg_outcome {
	LKG_NOT_DUE,     /* no production version, or held too briefly */
	LKG_ALREADY,     /* the alias already names the production version */
	LKG_NOT_QUIET,   /* a trigger fired, or data was missing */
	LKG_UNKNOWN,     /* cannot be judged: no Prometheus, no history */
	LKG_SET,         /* the alias was moved (or would be, with !apply) */
};

struct lkg_verdict {
	enum lkg_outcome outcome;
	char version[128];  /* production's holder, "" when none */
	double since;       /* when it entered production (epoch seconds), 0 */
	double held;        /* seconds it has held production */
	double needed;      /* the quiet period asked for */
	char why[768];      /* the decision in words, for logs and the console */
};

const char *lkg_outcome_name(enum lkg_outcome o);

/* Decides whether production's version in ENV has earned last-known-good
 * by NOW after QUIET seconds (0: turned off, LKG_NOT_DUE), querying PC
 * (NULL: LKG_UNKNOWN) with the triggers in TC. With APPLY, a LKG_SET
 * verdict moves the alias through R (recorded in the promotion history
 * with ACTOR) and appends an audit record to ST. Errors (EXIT_BACKEND for
 * Prometheus or the registry) leave the alias as it was. */
int lkg_check(struct registry *r, struct store *st, struct prom_client *pc,
	      const struct trigger_config *tc, const struct trigger_env *env,
	      double quiet, double now, const char *actor, bool apply,
	      struct lkg_verdict *out, struct err *e);

/* The time in an ISO 8601 UTC stamp as the store writes it
 * ("2026-11-26T21:00:00.123Z"), in seconds since the epoch; 0 when it does
 * not parse. */
double lkg_parse_time(const char *iso);

#endif
