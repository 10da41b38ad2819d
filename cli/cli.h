/* cli: what every subcommand shares: option parsing from a table, usage
 * text generated from that table, number arguments, and messages.
 *
 * A subcommand declares its options as a const table; the same table parses
 * argv and prints `--help`, so the two cannot drift apart.
 */
#ifndef CHURNOPS_CLI_H
#define CHURNOPS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "err.h"

struct cli_option {
	const char *name;  /* without the leading "--" */
	const char *arg;   /* metavariable ("FILE"), or NULL for a flag */
	const char *help;
};

struct cli_command {
	const char *name;
	const char *synopsis; /* after "churnops NAME " */
	const char *summary;
	const struct cli_option *options; /* ends with a zeroed entry */
	int (*run)(int argc, char **argv);
};

struct cli_parser {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	int next;
};

void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd,
		     int argc, char **argv);

/* Next option: returns 1 and sets *NAME (the table's name) and *VALUE (NULL
 * for flags), 0 when the arguments are used up, or -1 after printing a usage
 * error. "--help" prints the usage and returns 2 (the caller exits 0).
 * Accepts "--name value" and "--name=value". Positional arguments are
 * refused. */
int cli_next(struct cli_parser *p, const char **name, const char **value);

void cli_usage(const struct cli_command *cmd, bool to_stdout);

/* For commands that take positional words as well as options: copies
 * ARGV[0] and the options of ARGV[FIRST..] (each with its value, per CMD's
 * table) into REST, which has room for ARGC pointers, for cli_parser_init(),
 * and up to MAXPOS positional words into POS. Returns 0, or the index in
 * ARGV of the first positional word beyond MAXPOS, which the caller
 * refuses in its own words. */
int cli_split_args(const struct cli_command *cmd, int argc, char **argv, int first,
		   char **rest, int *nrest, const char **pos, int maxpos, int *npos);

/* Number arguments: print "churnops CMD: --NAME: ..." and return false on a
 * value that is not a number in [MIN, MAX]. */
bool cli_int(const char *cmd, const char *name, const char *value, long min,
	     long max, long *out);
bool cli_double(const char *cmd, const char *name, const char *value,
		double min, double max, double *out);

/* "churnops: MESSAGE" on stderr; returns the error's code. */
int cli_fail(const struct err *e);

/* "churnops CMD: MESSAGE" on stderr for usage errors; returns EXIT_INPUT. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The model to use: DIR (model.json + schema.json, eval.json optional) or a
 * model FILE with SCHEMA. VERSION receives the eval.json "version" or the
 * directory's base name (or the file's). Caller frees everything returned
 * (model_destroy, schema_destroy, free). */
struct model;
struct schema;
int cli_load_model(const char *model_arg, const char *schema_arg,
		   struct model **m, struct schema **s, char **version,
		   struct err *e);

extern const struct cli_command cli_train_command;
extern const struct cli_command cli_score_command;
extern const struct cli_command cli_whatif_command;
extern const struct cli_command cli_validate_command;
extern const struct cli_command cli_checklist_command;
extern const struct cli_command cli_card_command;
extern const struct cli_command cli_drift_command;
extern const struct cli_command cli_cluster_command;
extern const struct cli_command cli_console_command;
extern const struct cli_command cli_demo_command;
extern const struct cli_command cli_keys_command;
extern const struct cli_command cli_registry_command;
extern const struct cli_command cli_status_command;
extern const struct cli_command cli_metrics_command;
extern const struct cli_command cli_alerts_command;
extern const struct cli_command cli_watch_command;
extern const struct cli_command cli_smoke_command;
extern const struct cli_command cli_loadtest_command;
extern const struct cli_command cli_promote_command;
extern const struct cli_command cli_rollback_command;
extern const struct cli_command cli_actions_command;
extern const struct cli_command cli_audit_command;

/* Policy auto (churnops watch): builds and executes the rollback of ENV to
 * the previous version with STRATEGY (NULL: rolling), recorded as done by a
 * trigger, WHY naming the firing triggers; progress goes to LOG. Returns
 * 0 when production was rolled back. */
int cli_actions_auto_rollback(const char *env, const char *strategy, const char *why,
			      FILE *log);

struct store;
struct prom_client;
struct trigger_config;
struct trigger_env;

/* churnops watch, after each evaluation: whether production's version in
 * ENV has earned last-known-good (core/lkg.h), over the configured registry
 * with its history in ST. The alias moves unless read-only mode is on. The
 * decision as JSON: {"outcome", "version", "why", "applied", "held_s",
 * "needed_s"}, or {"outcome": "error", "why"} when the registry or
 * Prometheus failed; NULL only when out of memory. */
cJSON *cli_lkg_check(struct store *st, struct prom_client *pc, const struct trigger_config *tc,
		     const struct trigger_env *env, double now);

#endif
