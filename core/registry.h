/* registry: what is in production, what was before it, what is safe to go
 * back to. One interface, two back ends:
 *
 *   registry_sqlite.c  the embedded default, in churnops' store: versions,
 *                      stages and aliases in SQLite, artifacts copied into
 *                      the store's artifacts/ directory, named by sha256.
 *   registry_mlflow.c  an MLflow tracking server's Model Registry (REST 2.x),
 *                      reached through core/http.
 *
 * Both keep the same semantics (DESIGN.md, Registry semantics): a registered
 * model (default "churn") has versions with a label ("1.2.0"), an artifact and
 * its sha256, schema, evaluation, checklist verdict, creator and time. Stages
 * are staging, production and archived; a version entering staging or
 * production archives the one that held that stage, so each holds at most one.
 * Aliases are free names; champion follows production (a move to production
 * moves champion too), challenger and last-known-good are set by hand.
 * Versions also carry free-form tags.
 *
 * The code here, above the back ends, enforces the rules and keeps the
 * promotion history in the local store for both back ends (MLflow keeps
 * none): every stage and alias move appended with actor, time, reason, from
 * and to. For the embedded back end the move and its history entry share one
 * store transaction, so two processes promoting at once serialise and the
 * history's from/to chain stays consistent.
 *
 * Refusals (EXIT_CHECK, with a message saying why): a version whose status is
 * not READY; an artifact whose sha256 no longer matches the registered one
 * (checked before a version enters staging or production, gets an alias, or
 * is named as a rollback target); production for a version whose latest
 * checklist verdict in the store is not "pass", unless overridden with a
 * reason. A version or alias that does not exist is bad input (EXIT_INPUT);
 * an unreachable or failing server is EXIT_BACKEND.
 *
 * A registry handle is used by one thread at a time.
 */
#ifndef CHURNOPS_REGISTRY_H
#define CHURNOPS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "store.h"

#define REGISTRY_DEFAULT_MODEL "churn"
#define REGISTRY_ALIAS_CHAMPION "champion"
#define REGISTRY_ALIAS_CHALLENGER "challenger"
#define REGISTRY_ALIAS_LKG "last-known-good"

/* Artifacts larger than this are refused (the checklist gates at 500 MB). */
#define REGISTRY_MAX_ARTIFACT (1024ul << 20)

enum registry_stage {
	REGISTRY_STAGE_NONE,
	REGISTRY_STAGE_STAGING,
	REGISTRY_STAGE_PRODUCTION,
	REGISTRY_STAGE_ARCHIVED,
};

/* "none", "staging", "production", "archived". */
const char *registry_stage_name(enum registry_stage s);

/* Parses a stage name, case-insensitively ("Production" too). */
bool registry_stage_parse(const char *name, enum registry_stage *out);

/* One version. Every string is owned by the struct and never NULL once
 * filled ("" when the back end has no value). */
struct registry_version {
	char *version;     /* the back end's id: the label (embedded) or
			      MLflow's version number, a string */
	char *label;       /* "1.2.0" */
	char *source;      /* artifact path (embedded) or URI (MLflow) */
	char *sha256;
	char *schema_json;
	char *eval_json;
	char *verdict;     /* checklist verdict at registration */
	char *description;
	char *creator;
	char *status;      /* READY, PENDING_REGISTRATION, FAILED_REGISTRATION */
	long long created_ms;
	enum registry_stage stage;
	char **aliases;
	size_t naliases;
	char **tag_keys;   /* free-form tags (not churnops' own facts) */
	char **tag_values;
	size_t ntags;
};

/* Frees what V holds and zeroes it; safe on a zeroed struct. */
void registry_version_finish(struct registry_version *v);
void registry_versions_free(struct registry_version *v, size_t n); /* NULL ok */

/* A version to register. artifact_path is the model file (read, hashed
 * and stored by the back end); sha256, when set, must match what is read.
 * schema_json is required; the rest may be NULL. */
struct registry_new_version {
	const char *label;
	const char *artifact_path;
	const char *sha256;
	const char *schema_json;
	const char *eval_json;
	const char *description;
	const char *creator;
};

/* Who moves what, and why (recorded in the history). override allows
 * production for a version whose checklist verdict is not pass; it needs a
 * reason. */
struct registry_move {
	const char *actor;
	const char *reason;
	bool override;
};

/* MLflow connection. tracking_uri is required ("http://mlflow:5000"); the
 * credentials are either a bearer token or basic user and password. Nothing
 * here is ever put into a message. */
struct registry_mlflow_options {
	const char *tracking_uri;
	const char *token;
	const char *basic_user;
	const char *basic_password;
	const char *ca_file;
	bool insecure;
	long timeout_ms;   /* per request; 0: 30 s */
	int page_size;     /* search page size; 0: 100 */
};

struct registry;

/* The embedded registry in ST (which must outlive the handle), for the
 * registered model MODEL (NULL: "churn"). Artifacts go to the directory
 * "artifacts" next to the store's file. Free with registry_destroy. */
struct registry *registry_open_sqlite(struct store *st, const char *model,
				      struct err *e);

/* The MLflow registry described by O, with its history kept in ST (which
 * must outlive the handle). Nothing is sent until the first call. */
struct registry *registry_open_mlflow(struct store *st, const char *model,
				      const struct registry_mlflow_options *o,
				      struct err *e);

struct config;

/* Which registry a command asked for; NULL and zero fields take the
 * configuration's (core/config.h). */
struct registry_choice {
	const char *backend;      /* "sqlite", "mlflow" or NULL */
	const char *tracking_uri; /* an --tracking-uri option, or NULL */
	const char *model;        /* NULL: the configured one, else "churn" */
	long timeout_ms;
	int page_size;
};

/* Opens the registry CH and C describe: MLflow when the backend is
 * "mlflow", or when none is named and a tracking URI is known (option,
 * MLFLOW_TRACKING_URI, the file); else the embedded one. MLflow's
 * credentials come from the environment only (MLFLOW_TRACKING_TOKEN, or
 * MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD). */
struct registry *registry_open_configured(struct store *st, const struct config *c,
					  const struct registry_choice *ch, struct err *e);

void registry_destroy(struct registry *r); /* NULL ok */

/* "sqlite" or "mlflow"; where ("store" or the tracking URI); the model. All
 * owned by R. */
const char *registry_backend(const struct registry *r);
const char *registry_location(const struct registry *r);
const char *registry_model(const struct registry *r);

/* Registers a version under NV->label: refuses (EXIT_CHECK) a label already
 * registered; the registered model is created when missing; the verdict is
 * the store's latest checklist verdict for the artifact ("pending" when it
 * has none). *OUT (zeroed by the caller, may be NULL) receives the version. */
int registry_register(struct registry *r, const struct registry_new_version *nv,
		      struct registry_version *out, struct err *e);

/* The version named V: a version id or a label. EXIT_INPUT when there is
 * none. */
int registry_get(struct registry *r, const char *v, struct registry_version *out,
		 struct err *e);

/* Every version, oldest first, with its aliases; free with
 * registry_versions_free. */
int registry_list(struct registry *r, struct registry_version **out, size_t *n,
		  struct err *e);

/* The version ALIAS points at (or the one holding STAGE); *FOUND false and
 * *OUT untouched when there is none. */
int registry_get_alias(struct registry *r, const char *alias,
		       struct registry_version *out, bool *found, struct err *e);
int registry_stage_holder(struct registry *r, enum registry_stage stage,
			  struct registry_version *out, bool *found,
			  struct err *e);

/* Moves version V to STAGE, applying the refusals above, and appends the
 * move to the history (from: the version that held STAGE, if any). A move
 * to production also moves champion. Moving a version to the stage it
 * already has changes nothing and records nothing. */
int registry_set_stage(struct registry *r, const char *v,
		       enum registry_stage stage, const struct registry_move *m,
		       struct err *e);

/* Points ALIAS at version V (the version must be READY and its artifact
 * intact), or removes it (EXIT_INPUT when unset); both are recorded. */
int registry_set_alias(struct registry *r, const char *alias, const char *v,
		       const struct registry_move *m, struct err *e);
int registry_delete_alias(struct registry *r, const char *alias,
			  const struct registry_move *m, struct err *e);

/* Sets the free-form tag KEY (1 to 250 printable bytes, not starting with
 * "churnops.", which holds churnops' own facts) to VALUE (at most 5000
 * bytes) on version V. Tags are not stage or alias moves: no history. */
int registry_set_tag(struct registry *r, const char *v, const char *key,
		     const char *value, struct err *e);

/* This registry's promotion history for its model, oldest first; free with
 * store_reg_events_free. */
int registry_history(struct registry *r, struct store_reg_event **out,
		     size_t *n, struct err *e);

/* Resolves a rollback target: "previous" (what production held just before
 * the current holder, from the history), "rollback" (the last-known-good
 * alias) or a version. The target must be READY and its artifact intact;
 * EXIT_CHECK when there is no such target or it fails a check. */
int registry_rollback_target(struct registry *r, const char *target,
			     struct registry_version *out, struct err *e);

/* Fetches V's artifact and compares its sha256 with the registered one:
 * EXIT_CHECK on a mismatch, a missing artifact or a missing hash. */
int registry_verify(struct registry *r, const struct registry_version *v,
		    struct err *e);

/* ---- MLflow answers --------------------------------------------------------
 * The readers registry_mlflow.c applies to an MLflow server's answers,
 * exposed so that unit tests and fuzz targets run the very code the back end
 * runs. Nothing in an answer is trusted: any field may be missing, of another
 * type, repeated or huge. Parsed trees (ANSWER, MV) stay the caller's. */

/* Most versions one listing reads, over all its search pages. */
#define REGISTRY_MLFLOW_MAX_VERSIONS 100000
/* Size of the buffer for an error code. */
#define REGISTRY_MLFLOW_CODE_MAX 64

/* Fills *OUT from the ModelVersion object MV: churnops' own facts from its
 * "churnops." tags, its other tags as free-form tags, the version number as
 * the label when there is no label tag, "READY" when there is no status. On
 * success every string in *OUT is newly allocated and non-NULL, and the
 * caller finishes *OUT with registry_version_finish; on failure *OUT is left
 * zeroed. EXIT_BACKEND when MV has no version number (a string, or a
 * non-negative whole number below 2^53). */
int registry_mlflow_version_from_json(const cJSON *mv,
				      struct registry_version *out,
				      struct err *e);

/* Reads one model-versions/search ANSWER, which was asked for with the page
 * token ASKED (NULL for the first page): appends its model_versions[] to *V
 * (*N filled, *CAP allocated; *V is grown with realloc and stays the
 * caller's, to free with registry_versions_free(*V, *N), whether this
 * succeeds or not), and sets *NEXT to a new copy of next_page_token, or
 * NULL on the last page (the caller frees it). EXIT_BACKEND for an
 * unreadable version, more than REGISTRY_MLFLOW_MAX_VERSIONS in all, or a
 * next_page_token equal to ASKED (a server that would page forever). */
int registry_mlflow_search_page(const cJSON *answer, const char *asked,
				struct registry_version **v, size_t *n,
				size_t *cap, char **next, struct err *e);

/* Reads a registered-models/get ANSWER's registered_model.aliases[]
 * ({"alias", "version"}) and appends each alias to the version among
 * V[0..N) it names (copies; aliases naming no version there are skipped). */
int registry_mlflow_attach_aliases(const cJSON *answer,
				   struct registry_version *v, size_t n,
				   struct err *e);

/* Reads a failed call's answer: HTTP STATUS with BODY[0..LEN) (BODY may be
 * NULL). CODE (REGISTRY_MLFLOW_CODE_MAX bytes) receives the body's
 * error_code when the body is MLflow's JSON error, otherwise the code
 * MLflow's own client derives from STATUS; MSG (SIZE > 0 bytes) the server's
 * message (cut to fit). No control character from the body reaches either:
 * MLflow's words have them replaced by '?', other bodies are read by
 * http_server_message, which escapes them. Returns the
 * exit code the error maps to: EXIT_INPUT (RESOURCE_DOES_NOT_EXIST,
 * INVALID_PARAMETER_VALUE), EXIT_CHECK (RESOURCE_ALREADY_EXISTS) or
 * EXIT_BACKEND. */
int registry_mlflow_error(long status, const char *body, size_t len,
			  char *code, char *msg, size_t size);

/* Where a model-versions/get-download-uri ANSWER for version VERSION says
 * the artifact is. For an mlflow-artifacts:/ URI, *PROXY_PATH receives the
 * path under the server's artifact proxy (without leading '/'); for a
 * file:///PATH (or file://localhost/PATH) URI or an absolute path,
 * *FILE_PATH the local path; the other is set to NULL. Both point into
 * ANSWER and live as long as it. EXIT_BACKEND when there is no
 * artifact_uri, EXIT_CHECK for a URI that cannot be fetched (another scheme
 * or host, or a control character in it). */
int registry_mlflow_artifact_where(const cJSON *answer, const char *version,
				   const char **proxy_path,
				   const char **file_path, struct err *e);

/* ---- for the back ends only ---------------------------------------------
 * Each back end fills a struct registry_ops. Calls get the registry's
 * back-end state as IMPL. Versions are returned fully filled (strings never
 * NULL). */
struct registry_ops {
	const char *name;
	/* Stage and alias moves run inside a store transaction together with
	 * their history entry (the back end's data lives in the store). */
	bool in_store;
	int (*register_version)(void *impl, const struct registry_new_version *nv,
				const char *sha256, const char *verdict,
				const char *data, size_t len,
				struct registry_version *out, struct err *e);
	int (*get)(void *impl, const char *v, struct registry_version *out,
		   bool *found, struct err *e);
	int (*list)(void *impl, struct registry_version **out, size_t *n,
		    struct err *e);
	int (*get_alias)(void *impl, const char *alias,
			 struct registry_version *out, bool *found, struct err *e);
	int (*stage_holder)(void *impl, enum registry_stage stage,
			    struct registry_version *out, bool *found,
			    struct err *e);
	/* Moves the version, archiving other holders of staging/production. */
	int (*set_stage)(void *impl, const char *version, enum registry_stage stage,
			 struct err *e);
	int (*set_alias)(void *impl, const char *alias, const char *version,
			 struct err *e);
	int (*delete_alias)(void *impl, const char *alias, struct err *e);
	int (*set_tag)(void *impl, const char *version, const char *key,
		       const char *value, struct err *e);
	/* The artifact's bytes, newly allocated (NUL-terminated). */
	int (*fetch_artifact)(void *impl, const struct registry_version *v,
			      char **data, size_t *len, struct err *e);
	void (*destroy)(void *impl);
};

/* Wraps a back end: takes IMPL (freed with ops->destroy, also on failure). */
struct registry *registry_create(const struct registry_ops *ops, void *impl,
				 struct store *st, const char *model,
				 const char *location, struct err *e);

/* Copies S (NULL gives "") for filling versions; NULL when out of memory. */
char *registry_strdup(const char *s);

/* Appends a copy of ALIAS to V's aliases. */
int registry_version_add_alias(struct registry_version *v, const char *alias,
			       struct err *e);

/* Appends a copy of the tag KEY = VALUE to V's tags. */
int registry_version_add_tag(struct registry_version *v, const char *key,
			     const char *value, struct err *e);

/* Lowercase hex sha256 of DATA into OUT. */
int registry_sha256_hex(const void *data, size_t len, char out[65],
			struct err *e);

#endif
