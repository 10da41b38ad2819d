/* config: the configuration file, and the settings read from it together
 * with the environment.
 *
 * The file is CONFIG_DIR/config.json (core/paths.h), or the one named by
 * `churnops --config FILE` or CHURNOPS_CONFIG. No file at all is the normal
 * case: every setting has a default. A file that exists must parse and hold
 * only known keys with values of the right kind; anything else fails with
 * EXIT_INPUT naming the file and the key, since a typo in an operations
 * tool's configuration should never be silently ignored.
 *
 *   {"actor": "alice",                  who audit records name
 *    "theme": "dark",                   the console's theme
 *    "read_only": false,                refuse every mutating action
 *    "registry": {"backend": "sqlite" | "mlflow", "model": "churn",
 *                 "tracking_uri": "https://mlflow.example",
 *                 "ca_file": "/etc/ssl/mlflow-ca.pem", "insecure": false,
 *                 "last_known_good_after": "24h"},
 *    "prometheus": {"url": "https://prom.example", "ca_file": "...",
 *                   "insecure": false},
 *    "loadtest_endpoints": ["https://churn.staging.example"],
 *    "environments": {"production": {"read_only": true,
 *                                    "strategy": "rolling" | "blue-green" | "canary",
 *                                    "last_known_good_after": "6h"}}}
 *
 * Credentials never live in this file (tokens and passwords come from the
 * environment: MLFLOW_TRACKING_TOKEN, PROMETHEUS_TOKEN, ...), so keys such
 * as "token" or "password" are refused like any unknown key, with a hint.
 *
 * Precedence, highest first: a command-line option, the environment
 * variable, this file, the default. The process loads the file once
 * (config_current); the result is immutable afterwards, so any thread may
 * read it.
 */
#ifndef CHURNOPS_CONFIG_H
#define CHURNOPS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* How long production must be held with no trigger firing before the
 * version becomes last-known-good, unless configured. */
#define CONFIG_LKG_AFTER_DEFAULT (24.0 * 3600.0)

struct config_endpoint {
	char *url;      /* NULL: not set here */
	char *ca_file;  /* NULL: the system's CA bundle */
	bool insecure;  /* skip TLS verification for this endpoint only */
};

struct config_env {
	char *name;
	bool read_only;
	char *strategy;      /* NULL: not set (rolling) */
	double lkg_after;    /* seconds; < 0: the registry's setting */
};

/* Owned by the struct; config_finish frees it (safe when zeroed). */
struct config {
	char *path;           /* the file read, NULL when there was none */
	char *actor;
	char *theme;
	bool read_only;
	char *registry_backend; /* "sqlite", "mlflow" or NULL (mlflow when a
				   tracking URI is known, else sqlite) */
	char *registry_model;   /* NULL: "churn" */
	struct config_endpoint mlflow;
	struct config_endpoint prometheus;
	double lkg_after;     /* seconds; 0 turns the automatic alias off */
	char **loadtest_endpoints; /* URLs besides loopback a load test may hit */
	size_t nloadtest_endpoints;
	struct config_env *envs;
	size_t nenvs;
};

/* Reads the file at PATH into C (C is overwritten). PATH NULL, or a path
 * that does not exist when MUST_EXIST is false, gives the defaults. */
int config_load_file(struct config *c, const char *path, bool must_exist, struct err *e);

/* Parses TEXT (LEN bytes) as the configuration; SOURCE names it in
 * messages. */
int config_parse(struct config *c, const char *text, size_t len, const char *source,
		 struct err *e);

void config_finish(struct config *c);

/* The file `--config` named; it must exist. Call before config_init. */
void config_set_file(const char *path);

/* Loads the process's configuration once: the file set with
 * config_set_file, else CHURNOPS_CONFIG (must exist), else
 * CONFIG_DIR/config.json when it exists. Later calls return the first
 * result. */
int config_init(struct err *e);

/* The process's configuration: what config_init loaded, or the defaults
 * when it was never called or failed. Never NULL; lives until exit. */
const struct config *config_current(void);

/* ENV's settings, or NULL when the file says nothing about it. */
const struct config_env *config_env(const struct config *c, const char *env);

/* Who an audit record names: GIVEN (an --actor option) when set, else
 * CHURNOPS_ACTOR, else the file's "actor", else the OS user. The pointer
 * lives as long as C and the environment. */
const char *config_actor(const struct config *c, const char *given);

/* True when mutating actions on ENV must be refused: the
 * CHURNOPS_READ_ONLY variable (anything but "", "0" or "false"), the
 * file's "read_only", or ENV's own setting (ENV NULL: the first two only,
 * for actions that belong to no environment). */
bool config_read_only(const struct config *c, const char *env);

/* The strategy configured for ENV, or NULL. */
const char *config_strategy(const struct config *c, const char *env);

/* Seconds production must be held quietly in ENV before its version
 * becomes last-known-good; 0 when that is turned off. */
double config_lkg_after(const struct config *c, const char *env);

/* The MLflow endpoint with the environment applied over the file:
 * MLFLOW_TRACKING_URI, MLFLOW_TRACKING_SERVER_CERT_PATH,
 * MLFLOW_TRACKING_INSECURE_TLS ("true"). Strings belong to C or the
 * environment. */
struct config_endpoint config_mlflow(const struct config *c);

struct prom_options;

/* Fills O for Prometheus: prom_options_from_env (PROMETHEUS_URL, the
 * credentials, PROMETHEUS_CA_FILE) over what O already holds, then the
 * file's URL and CA bundle where still unset; insecure when the file or
 * PROMETHEUS_INSECURE_TLS ("true") asks for it. */
void config_prom_options(const struct config *c, struct prom_options *o);

#endif
