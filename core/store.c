#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "fileio.h"
#include "paths.h"

struct store {
	sqlite3 *db;
	char *path;
	double eval_retention;  /* seconds */
	double eval_pruned_at;  /* wall clock of this connection's last prune */
};

/* Migration N (1-based) is migrations[N - 1]. Append only: a released
 * migration is never edited, since databases out there have run it. */
static const char *const migrations[] = {
	"CREATE TABLE signoffs ("
	"  id INTEGER PRIMARY KEY,"
	"  model_sha256 TEXT NOT NULL CHECK (length(model_sha256) = 64),"
	"  item TEXT NOT NULL,"
	"  by TEXT NOT NULL CHECK (by <> ''),"
	"  note TEXT NOT NULL DEFAULT '',"
	"  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
	");"
	"CREATE INDEX signoffs_model ON signoffs (model_sha256, item);"
	"CREATE TABLE checklist_runs ("
	"  id INTEGER PRIMARY KEY,"
	"  model_sha256 TEXT NOT NULL CHECK (length(model_sha256) = 64),"
	"  verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail', 'pending')),"
	"  report_json TEXT NOT NULL,"
	"  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
	");"
	"CREATE INDEX checklist_runs_model ON checklist_runs (model_sha256, id);",

	/* 2: the embedded registry (registered models, their versions, aliases,
	 * free-form version tags) and the promotion history, which every back
	 * end appends to. */
	"CREATE TABLE reg_models ("
	"  name TEXT PRIMARY KEY CHECK (name <> ''),"
	"  created_ms INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))"
	");"
	"CREATE TABLE reg_versions ("
	"  id INTEGER PRIMARY KEY,"
	"  model TEXT NOT NULL REFERENCES reg_models (name),"
	"  version TEXT NOT NULL CHECK (version <> ''),"
	"  artifact TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),"
	"  schema_json TEXT NOT NULL,"
	"  eval_json TEXT NOT NULL DEFAULT '{}',"
	"  verdict TEXT NOT NULL DEFAULT '',"
	"  description TEXT NOT NULL DEFAULT '',"
	"  creator TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  stage TEXT NOT NULL DEFAULT 'none'"
	"    CHECK (stage IN ('none', 'staging', 'production', 'archived')),"
	"  status TEXT NOT NULL DEFAULT 'READY',"
	"  UNIQUE (model, version)"
	");"
	"CREATE INDEX reg_versions_stage ON reg_versions (model, stage);"
	"CREATE TABLE reg_aliases ("
	"  model TEXT NOT NULL,"
	"  alias TEXT NOT NULL CHECK (alias <> ''),"
	"  version TEXT NOT NULL,"
	"  PRIMARY KEY (model, alias),"
	"  FOREIGN KEY (model, version) REFERENCES reg_versions (model, version)"
	");"
	"CREATE TABLE reg_history ("
	"  id INTEGER PRIMARY KEY,"
	"  backend TEXT NOT NULL,"
	"  registry TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('stage', 'alias')),"
	"  name TEXT NOT NULL,"
	"  from_version TEXT NOT NULL DEFAULT '',"
	"  to_version TEXT NOT NULL DEFAULT '',"
	"  actor TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
	");"
	"CREATE INDEX reg_history_model ON reg_history (backend, registry, model, id);"
	"CREATE TABLE reg_tags ("
	"  model TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  key TEXT NOT NULL CHECK (key <> ''),"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (model, version, key),"
	"  FOREIGN KEY (model, version) REFERENCES reg_versions (model, version)"
	");",
	/* 3: the action journal, environment locks and the audit log. */
	"CREATE TABLE plans ("
	"  id INTEGER PRIMARY KEY,"
	"  env TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('promote', 'rollback')),"
	"  version TEXT NOT NULL DEFAULT '',"
	"  strategy TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'running'"
	"    CHECK (state IN ('running', 'done', 'failed', 'abandoned')),"
	"  plan_json TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
	");"
	"CREATE TABLE plan_steps ("
	"  plan_id INTEGER NOT NULL REFERENCES plans (id),"
	"  idx INTEGER NOT NULL,"
	"  description TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending'"
	"    CHECK (state IN ('pending', 'running', 'done', 'skipped', 'failed')),"
	"  intent_at TEXT NOT NULL DEFAULT '',"
	"  result_at TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (plan_id, idx)"
	");"
	"CREATE TABLE env_locks ("
	"  env TEXT PRIMARY KEY,"
	"  plan_id INTEGER NOT NULL DEFAULT 0,"
	"  owner TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  host TEXT NOT NULL,"
	"  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
	");"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  env TEXT NOT NULL DEFAULT '',"
	"  version TEXT NOT NULL DEFAULT '',"
	"  outcome TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT ''"
	");",
	/* 4: the audit log's before and after (versions) and reason. */
	"ALTER TABLE audit ADD COLUMN before_version TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE audit ADD COLUMN after_version TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE audit ADD COLUMN reason TEXT NOT NULL DEFAULT '';",
	/* 5: trigger evaluations, by environment, metric and time. */
	"CREATE TABLE trigger_evals ("
	"  id INTEGER PRIMARY KEY,"
	"  env TEXT NOT NULL CHECK (env <> ''),"
	"  metric TEXT NOT NULL CHECK (metric <> ''),"
	"  at REAL NOT NULL,"
	"  state TEXT NOT NULL"
	"    CHECK (state IN ('nodata', 'inactive', 'pending', 'firing')),"
	"  has_value INTEGER NOT NULL DEFAULT 0 CHECK (has_value IN (0, 1)),"
	"  value REAL,"
	"  nseries INTEGER NOT NULL DEFAULT 0,"
	"  error TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX trigger_evals_metric ON trigger_evals (env, metric, at);"
	"CREATE INDEX trigger_evals_at ON trigger_evals (at);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int store_latest_version(void)
{
	return NMIGRATIONS;
}

static int db_error(struct store *st, struct err *e, const char *what)
{
	return err_set(e, EXIT_INPUT, "%s: %s: %s", st->path, what,
		       sqlite3_errmsg(st->db));
}

static int exec(struct store *st, const char *sql, const char *what,
		struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, EXIT_INPUT, "%s: %s: %s", st->path, what,
			msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return EXIT_INPUT;
	}
	return 0;
}

int store_schema_version(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* Runs every migration above the file's user_version, each in an immediate
 * transaction that also bumps user_version, so two processes opening a new
 * database at once cannot both run the same migration: the second waits
 * for the lock, then sees the new version. */
static int migrate(struct store *st, struct err *e)
{
	for (;;) {
		int rc = exec(st, "BEGIN IMMEDIATE", "starting a migration", e);
		if (rc)
			return rc;
		int v = store_schema_version(st);
		if (v < 0) {
			rc = db_error(st, e, "reading the schema version");
			goto rollback;
		}
		if (v > NMIGRATIONS) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: schema version %d is newer than this churnops knows (%d); use a newer churnops",
				     st->path, v, NMIGRATIONS);
			goto rollback;
		}
		if (v == NMIGRATIONS)
			return exec(st, "COMMIT", "finishing migrations", e);
		char what[64], bump[64];
		snprintf(what, sizeof what, "migration %d", v + 1);
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		rc = exec(st, migrations[v], what, e);
		if (!rc)
			rc = exec(st, bump, what, e);
		if (!rc)
			rc = exec(st, "COMMIT", what, e);
		if (rc)
			goto rollback;
	}
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return EXIT_INPUT;
}

char *store_default_path(struct err *e)
{
	char *dir = paths_data_dir(e);
	if (!dir)
		return NULL;
	size_t n = strlen(dir) + sizeof "/churnops.db";
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/churnops.db", dir);
	else
		err_set(e, EXIT_INPUT, "out of memory");
	free(dir);
	return p;
}

struct store *store_open(const char *path, struct err *e)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	st->path = path ? strdup(path) : store_default_path(e);
	if (!st->path) {
		if (path)
			err_set(e, EXIT_INPUT, "out of memory");
		goto fail;
	}
	char *slash = strrchr(st->path, '/');
	if (slash && slash != st->path) {
		*slash = '\0';
		int rc = fileio_mkdirs(st->path, e);
		*slash = '/';
		if (rc)
			goto fail;
	}
	if (sqlite3_open_v2(st->path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		if (st->db)
			db_error(st, e, "cannot open the store");
		else
			err_set(e, EXIT_INPUT, "%s: cannot open the store: out of memory",
				st->path);
		goto fail;
	}
	st->eval_retention = STORE_EVAL_RETENTION_S;
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* WAL may be refused (a file system without shared memory); the store
	 * still works in the default rollback journal mode then. */
	sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (exec(st, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
		 "configuring the store", e) ||
	    migrate(st, e))
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

/* Prepares SQL and binds the text arguments ARGS[0..N) (NULL binds NULL). */
static sqlite3_stmt *prepare(struct store *st, const char *sql,
			     const char *const *args, int n, struct err *e)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_error(st, e, "preparing a query");
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		int rc = args[i] ? sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_TRANSIENT)
				 : sqlite3_bind_null(q, i + 1);
		if (rc != SQLITE_OK) {
			db_error(st, e, "binding a query");
			sqlite3_finalize(q);
			return NULL;
		}
	}
	return q;
}

static int run_insert(struct store *st, const char *sql,
		      const char *const *args, int n, const char *what,
		      struct err *e)
{
	sqlite3_stmt *q = prepare(st, sql, args, n, e);
	if (!q)
		return EXIT_INPUT;
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_error(st, e, what);
	sqlite3_finalize(q);
	return rc;
}

static char *col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return strdup(t ? (const char *)t : "");
}

int store_add_signoff(struct store *st, const char *sha256, const char *item,
		      const char *by, const char *note, struct err *e)
{
	const char *args[] = {sha256, item, by, note ? note : ""};
	return run_insert(st,
			  "INSERT INTO signoffs (model_sha256, item, by, note) VALUES (?, ?, ?, ?)",
			  args, 4, "recording the sign-off", e);
}

void store_signoffs_free(struct store_signoff *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].model_sha256);
		free(v[i].item);
		free(v[i].by);
		free(v[i].note);
		free(v[i].at);
	}
	free(v);
}

int store_list_signoffs(struct store *st, const char *sha256,
			struct store_signoff **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {sha256};
	sqlite3_stmt *q = prepare(st,
				  "SELECT id, model_sha256, item, by, note, at FROM signoffs "
				  "WHERE model_sha256 = ? ORDER BY id",
				  args, 1, e);
	if (!q)
		return EXIT_INPUT;
	struct store_signoff *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct store_signoff *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_signoff *s = &v[cnt++];
		s->id = sqlite3_column_int64(q, 0);
		s->model_sha256 = col_dup(q, 1);
		s->item = col_dup(q, 2);
		s->by = col_dup(q, 3);
		s->note = col_dup(q, 4);
		s->at = col_dup(q, 5);
		if (!s->model_sha256 || !s->item || !s->by || !s->note || !s->at) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading sign-offs");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_signoffs_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_add_checklist_run(struct store *st, const char *sha256,
			    const char *verdict, const char *report_json,
			    struct err *e)
{
	const char *args[] = {sha256, verdict, report_json};
	return run_insert(st,
			  "INSERT INTO checklist_runs (model_sha256, verdict, report_json) "
			  "VALUES (?, ?, ?)",
			  args, 3, "recording the checklist run", e);
}

void store_checklist_run_finish(struct store_checklist_run *run)
{
	if (!run)
		return;
	free(run->model_sha256);
	free(run->verdict);
	free(run->report_json);
	free(run->at);
	memset(run, 0, sizeof *run);
}

int store_last_checklist_run(struct store *st, const char *sha256,
			     struct store_checklist_run *run, bool *found,
			     struct err *e)
{
	*found = false;
	const char *args[] = {sha256};
	sqlite3_stmt *q = prepare(st,
				  "SELECT id, model_sha256, verdict, report_json, at FROM checklist_runs "
				  "WHERE model_sha256 = ? ORDER BY id DESC LIMIT 1",
				  args, 1, e);
	if (!q)
		return EXIT_INPUT;
	int rc = 0;
	int step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		run->id = sqlite3_column_int64(q, 0);
		run->model_sha256 = col_dup(q, 1);
		run->verdict = col_dup(q, 2);
		run->report_json = col_dup(q, 3);
		run->at = col_dup(q, 4);
		if (!run->model_sha256 || !run->verdict || !run->report_json || !run->at) {
			store_checklist_run_finish(run);
			rc = err_set(e, EXIT_INPUT, "out of memory");
		} else {
			*found = true;
		}
	} else if (step != SQLITE_DONE) {
		rc = db_error(st, e, "reading checklist runs");
	}
	sqlite3_finalize(q);
	return rc;
}

/* ---- transactions ------------------------------------------------------- */

int store_tx_begin(struct store *st, struct err *e)
{
	return exec(st, "BEGIN IMMEDIATE", "starting a transaction", e);
}

int store_tx_commit(struct store *st, struct err *e)
{
	int rc = exec(st, "COMMIT", "committing", e);
	if (rc)
		store_tx_rollback(st);
	return rc;
}

void store_tx_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- the embedded registry ---------------------------------------------- */

/* Runs a statement that returns no rows; *CHANGES (may be NULL) receives the
 * number of rows it changed. A constraint violation fails with
 * CONSTRAINT_CODE so callers can tell "exists already" from a broken file. */
static int run_change(struct store *st, const char *sql,
		      const char *const *args, int n, const char *what,
		      int constraint_code, int *changes, struct err *e)
{
	sqlite3_stmt *q = prepare(st, sql, args, n, e);
	if (!q)
		return EXIT_INPUT;
	int step = sqlite3_step(q);
	int rc = 0;
	if (step == SQLITE_DONE) {
		if (changes)
			*changes = sqlite3_changes(st->db);
	} else if ((step & 0xff) == SQLITE_CONSTRAINT) {
		rc = err_set(e, constraint_code, "%s: %s", what, sqlite3_errmsg(st->db));
	} else {
		rc = db_error(st, e, what);
	}
	sqlite3_finalize(q);
	return rc;
}

/* The first column of the first row as a new string into *OUT (NULL when
 * there is no row). */
static int query_text(struct store *st, const char *sql,
		      const char *const *args, int n, const char *what,
		      char **out, struct err *e)
{
	*out = NULL;
	sqlite3_stmt *q = prepare(st, sql, args, n, e);
	if (!q)
		return EXIT_INPUT;
	int rc = 0;
	int step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		*out = col_dup(q, 0);
		if (!*out)
			rc = err_set(e, EXIT_INPUT, "out of memory");
	} else if (step != SQLITE_DONE) {
		rc = db_error(st, e, what);
	}
	sqlite3_finalize(q);
	return rc;
}

int store_reg_add_model(struct store *st, const char *name, struct err *e)
{
	const char *args[] = {name};
	return run_change(st, "INSERT OR IGNORE INTO reg_models (name) VALUES (?)",
			  args, 1, "registering the model", EXIT_INPUT, NULL, e);
}

void store_model_version_finish(struct store_model_version *v)
{
	if (!v)
		return;
	free(v->model);
	free(v->version);
	free(v->artifact);
	free(v->sha256);
	free(v->schema_json);
	free(v->eval_json);
	free(v->verdict);
	free(v->description);
	free(v->creator);
	free(v->stage);
	free(v->status);
	memset(v, 0, sizeof *v);
}

void store_model_versions_free(struct store_model_version *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		store_model_version_finish(&v[i]);
	free(v);
}

int store_reg_add_version(struct store *st, const struct store_model_version *v,
			  struct err *e)
{
	char created[32];
	snprintf(created, sizeof created, "%lld", v->created_ms);
	const char *args[] = {v->model, v->version, v->artifact, v->sha256,
			      v->schema_json, v->eval_json ? v->eval_json : "{}",
			      v->verdict ? v->verdict : "",
			      v->description ? v->description : "", v->creator,
			      created};
	return run_change(st,
			  "INSERT INTO reg_versions (model, version, artifact, sha256, schema_json, "
			  "eval_json, verdict, description, creator, created_ms) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER))",
			  args, 10, "registering the version", EXIT_CHECK, NULL, e);
}

#define VERSION_COLUMNS \
	"model, version, artifact, sha256, schema_json, eval_json, verdict, " \
	"description, creator, created_ms, stage, status"

static int version_from_row(sqlite3_stmt *q, struct store_model_version *v,
			    struct err *e)
{
	v->model = col_dup(q, 0);
	v->version = col_dup(q, 1);
	v->artifact = col_dup(q, 2);
	v->sha256 = col_dup(q, 3);
	v->schema_json = col_dup(q, 4);
	v->eval_json = col_dup(q, 5);
	v->verdict = col_dup(q, 6);
	v->description = col_dup(q, 7);
	v->creator = col_dup(q, 8);
	v->created_ms = sqlite3_column_int64(q, 9);
	v->stage = col_dup(q, 10);
	v->status = col_dup(q, 11);
	if (!v->model || !v->version || !v->artifact || !v->sha256 || !v->schema_json ||
	    !v->eval_json || !v->verdict || !v->description || !v->creator ||
	    !v->stage || !v->status) {
		store_model_version_finish(v);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	return 0;
}

int store_reg_get_version(struct store *st, const char *model,
			  const char *version, struct store_model_version *out,
			  bool *found, struct err *e)
{
	*found = false;
	const char *args[] = {model, version};
	sqlite3_stmt *q = prepare(st, "SELECT " VERSION_COLUMNS " FROM reg_versions "
				  "WHERE model = ? AND version = ?", args, 2, e);
	if (!q)
		return EXIT_INPUT;
	int rc = 0;
	int step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		rc = version_from_row(q, out, e);
		*found = rc == 0;
	} else if (step != SQLITE_DONE) {
		rc = db_error(st, e, "reading a version");
	}
	sqlite3_finalize(q);
	return rc;
}

int store_reg_list_versions(struct store *st, const char *model,
			    struct store_model_version **out, size_t *n,
			    struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {model};
	sqlite3_stmt *q = prepare(st, "SELECT " VERSION_COLUMNS " FROM reg_versions "
				  "WHERE model = ? ORDER BY id", args, 1, e);
	if (!q)
		return EXIT_INPUT;
	struct store_model_version *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_model_version *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		memset(&v[cnt], 0, sizeof v[cnt]);
		if ((rc = version_from_row(q, &v[cnt], e)))
			goto out;
		cnt++;
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading versions");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_model_versions_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_reg_stage_holder(struct store *st, const char *model,
			   const char *stage, char **version, struct err *e)
{
	const char *args[] = {model, stage};
	return query_text(st, "SELECT version FROM reg_versions WHERE model = ? AND stage = ? "
			  "ORDER BY id DESC LIMIT 1", args, 2, "reading stages", version, e);
}

int store_reg_set_stage(struct store *st, const char *model,
			const char *version, const char *stage,
			bool archive_existing, struct err *e)
{
	int rc = 0;
	if (archive_existing) {
		const char *args[] = {model, stage, version};
		rc = run_change(st, "UPDATE reg_versions SET stage = 'archived' "
				"WHERE model = ? AND stage = ? AND version <> ?",
				args, 3, "archiving the stage's holder", EXIT_INPUT, NULL, e);
		if (rc)
			return rc;
	}
	const char *args[] = {stage, model, version};
	int changes = 0;
	rc = run_change(st, "UPDATE reg_versions SET stage = ? WHERE model = ? AND version = ?",
			args, 3, "moving the version", EXIT_INPUT, &changes, e);
	if (!rc && changes == 0)
		rc = err_set(e, EXIT_INPUT, "model %s has no version %s", model, version);
	return rc;
}

int store_reg_get_alias(struct store *st, const char *model, const char *alias,
			char **version, struct err *e)
{
	const char *args[] = {model, alias};
	return query_text(st, "SELECT version FROM reg_aliases WHERE model = ? AND alias = ?",
			  args, 2, "reading an alias", version, e);
}

int store_reg_set_alias(struct store *st, const char *model, const char *alias,
			const char *version, struct err *e)
{
	const char *args[] = {model, alias, version};
	return run_change(st, "INSERT INTO reg_aliases (model, alias, version) VALUES (?, ?, ?) "
			  "ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version",
			  args, 3, "setting the alias", EXIT_INPUT, NULL, e);
}

int store_reg_delete_alias(struct store *st, const char *model,
			   const char *alias, bool *found, struct err *e)
{
	const char *args[] = {model, alias};
	int changes = 0;
	int rc = run_change(st, "DELETE FROM reg_aliases WHERE model = ? AND alias = ?",
			    args, 2, "deleting the alias", EXIT_INPUT, &changes, e);
	*found = changes > 0;
	return rc;
}

void store_reg_aliases_free(struct store_alias *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].alias);
		free(v[i].version);
	}
	free(v);
}

int store_reg_list_aliases(struct store *st, const char *model,
			   struct store_alias **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {model};
	sqlite3_stmt *q = prepare(st, "SELECT alias, version FROM reg_aliases WHERE model = ? "
				  "ORDER BY alias", args, 1, e);
	if (!q)
		return EXIT_INPUT;
	struct store_alias *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			struct store_alias *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt].alias = col_dup(q, 0);
		v[cnt].version = col_dup(q, 1);
		cnt++;
		if (!v[cnt - 1].alias || !v[cnt - 1].version) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading aliases");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_reg_aliases_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_reg_add_event(struct store *st, const struct store_reg_event *ev,
			struct err *e)
{
	const char *args[] = {ev->backend, ev->registry, ev->model, ev->kind, ev->name,
			      ev->from_version ? ev->from_version : "",
			      ev->to_version ? ev->to_version : "", ev->actor,
			      ev->reason ? ev->reason : ""};
	return run_change(st,
			  "INSERT INTO reg_history (backend, registry, model, kind, name, "
			  "from_version, to_version, actor, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  args, 9, "recording the promotion history", EXIT_INPUT, NULL, e);
}

void store_reg_events_free(struct store_reg_event *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].backend);
		free(v[i].registry);
		free(v[i].model);
		free(v[i].kind);
		free(v[i].name);
		free(v[i].from_version);
		free(v[i].to_version);
		free(v[i].actor);
		free(v[i].reason);
		free(v[i].at);
	}
	free(v);
}

int store_reg_list_events(struct store *st, const char *backend,
			  const char *registry, const char *model,
			  struct store_reg_event **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {backend, registry, model};
	sqlite3_stmt *q = prepare(st,
				  "SELECT id, backend, registry, model, kind, name, from_version, "
				  "to_version, actor, reason, at FROM reg_history "
				  "WHERE backend = ? AND registry = ? AND model = ? ORDER BY id",
				  args, 3, e);
	if (!q)
		return EXIT_INPUT;
	struct store_reg_event *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_reg_event *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_reg_event *ev = &v[cnt++];
		ev->id = sqlite3_column_int64(q, 0);
		char **f[] = {&ev->backend, &ev->registry, &ev->model, &ev->kind, &ev->name,
			      &ev->from_version, &ev->to_version, &ev->actor, &ev->reason,
			      &ev->at};
		bool oom = false;
		for (int i = 0; i < 10; i++) {
			*f[i] = col_dup(q, i + 1);
			oom |= !*f[i];
		}
		if (oom) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading the promotion history");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_reg_events_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int store_reg_set_tag(struct store *st, const char *model, const char *version,
		      const char *key, const char *value, struct err *e)
{
	const char *args[] = {model, version, key, value};
	return run_change(st, "INSERT INTO reg_tags (model, version, key, value) VALUES (?, ?, ?, ?) "
			  "ON CONFLICT (model, version, key) DO UPDATE SET value = excluded.value",
			  args, 4, "setting the tag", EXIT_INPUT, NULL, e);
}

void store_reg_tags_free(struct store_tag *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].version);
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

int store_reg_list_tags(struct store *st, const char *model, struct store_tag **out,
			size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {model};
	sqlite3_stmt *q = prepare(st, "SELECT version, key, value FROM reg_tags WHERE model = ? "
				  "ORDER BY version, key", args, 1, e);
	if (!q)
		return EXIT_INPUT;
	struct store_tag *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct store_tag *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_tag *t = &v[cnt++];
		t->version = col_dup(q, 0);
		t->key = col_dup(q, 1);
		t->value = col_dup(q, 2);
		if (!t->version || !t->key || !t->value) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading tags");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_reg_tags_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- the action journal, environment locks, the audit log -------------- */

static int bind_all(struct store *st, sqlite3_stmt *q, const char *const *args,
		    int n, struct err *e);

int store_plan_create(struct store *st, const struct store_plan *p,
		      const char *const *steps, size_t nsteps, long long *id,
		      struct err *e)
{
	int rc = store_tx_begin(st, e);
	if (rc)
		return rc;
	const char *args[] = {p->env, p->kind, p->version ? p->version : "", p->strategy,
			      p->actor, p->plan_json};
	rc = run_insert(st, "INSERT INTO plans (env, kind, version, strategy, actor, plan_json) "
			    "VALUES (?, ?, ?, ?, ?, ?)", args, 6, "journaling the plan", e);
	if (rc)
		goto fail;
	*id = (long long)sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < nsteps; i++) {
		sqlite3_stmt *q = prepare(st, "INSERT INTO plan_steps (plan_id, idx, description) "
					  "VALUES (?, ?, ?)", NULL, 0, e);
		if (!q) {
			rc = EXIT_INPUT;
			goto fail;
		}
		sqlite3_bind_int64(q, 1, *id);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
		sqlite3_bind_text(q, 3, steps[i], -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_error(st, e, "journaling a step");
		sqlite3_finalize(q);
		if (rc)
			goto fail;
	}
	return store_tx_commit(st, e);
fail:
	store_tx_rollback(st);
	return rc;
}

static int run_id_change(struct store *st, const char *sql, long long id,
			 const char *const *args, int n, const char *what,
			 int *changes, struct err *e)
{
	sqlite3_stmt *q = prepare(st, sql, NULL, 0, e);
	if (!q)
		return EXIT_INPUT;
	int rc = bind_all(st, q, args, n, e);
	if (!rc && sqlite3_bind_int64(q, n + 1, id) != SQLITE_OK)
		rc = db_error(st, e, "binding a query");
	if (!rc)
		rc = sqlite3_step(q) == SQLITE_DONE ? 0 : db_error(st, e, what);
	if (!rc && changes)
		*changes = sqlite3_changes(st->db);
	sqlite3_finalize(q);
	return rc;
}

static int bind_all(struct store *st, sqlite3_stmt *q, const char *const *args,
		    int n, struct err *e)
{
	for (int i = 0; i < n; i++) {
		int rc = args[i] ? sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_TRANSIENT)
				 : sqlite3_bind_null(q, i + 1);
		if (rc != SQLITE_OK)
			return db_error(st, e, "binding a query");
	}
	return 0;
}

int store_plan_set_state(struct store *st, long long id, const char *state,
			 const char *detail, struct err *e)
{
	const char *args[] = {state, detail ? detail : ""};
	int changes = 0;
	int rc = run_id_change(st, "UPDATE plans SET state = ?, detail = ?, "
			       "updated = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
			       id, args, 2, "updating the plan", &changes, e);
	if (!rc && changes == 0)
		rc = err_set(e, EXIT_INPUT, "no plan %lld in the journal", id);
	return rc;
}

int store_plan_set_json(struct store *st, long long id, const char *plan_json,
			struct err *e)
{
	const char *args[] = {plan_json};
	return run_id_change(st, "UPDATE plans SET plan_json = ?, "
			     "updated = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
			     id, args, 1, "updating the plan", NULL, e);
}

int store_step_intent(struct store *st, long long plan, size_t idx, struct err *e)
{
	char ix[32];
	snprintf(ix, sizeof ix, "%zu", idx);
	const char *args[] = {ix};
	return run_id_change(st, "UPDATE plan_steps SET state = 'running', "
			     "intent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), result = '' "
			     "WHERE idx = ? AND plan_id = ?", plan, args, 1,
			     "journaling a step's intent", NULL, e);
}

int store_step_result(struct store *st, long long plan, size_t idx,
		      const char *state, const char *result, struct err *e)
{
	char ix[32];
	snprintf(ix, sizeof ix, "%zu", idx);
	const char *args[] = {state, result ? result : "", ix};
	return run_id_change(st, "UPDATE plan_steps SET state = ?, result = ?, "
			     "result_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
			     "WHERE idx = ? AND plan_id = ?", plan, args, 3,
			     "journaling a step's result", NULL, e);
}

void store_plan_finish(struct store_plan *p)
{
	if (!p)
		return;
	free(p->env);
	free(p->kind);
	free(p->version);
	free(p->strategy);
	free(p->actor);
	free(p->state);
	free(p->plan_json);
	free(p->detail);
	free(p->created);
	free(p->updated);
	for (size_t i = 0; i < p->nsteps; i++) {
		free(p->steps[i].description);
		free(p->steps[i].state);
		free(p->steps[i].intent_at);
		free(p->steps[i].result_at);
		free(p->steps[i].result);
	}
	free(p->steps);
	memset(p, 0, sizeof *p);
}

void store_plans_free(struct store_plan *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		store_plan_finish(&v[i]);
	free(v);
}

#define PLAN_COLUMNS "id, env, kind, version, strategy, actor, state, plan_json, detail, " \
		     "created, updated"

static int plan_from_row(sqlite3_stmt *q, struct store_plan *p)
{
	p->id = sqlite3_column_int64(q, 0);
	p->env = col_dup(q, 1);
	p->kind = col_dup(q, 2);
	p->version = col_dup(q, 3);
	p->strategy = col_dup(q, 4);
	p->actor = col_dup(q, 5);
	p->state = col_dup(q, 6);
	p->plan_json = col_dup(q, 7);
	p->detail = col_dup(q, 8);
	p->created = col_dup(q, 9);
	p->updated = col_dup(q, 10);
	return p->env && p->kind && p->version && p->strategy && p->actor && p->state &&
	       p->plan_json && p->detail && p->created && p->updated ? 0 : -1;
}

static int load_steps(struct store *st, struct store_plan *p, struct err *e)
{
	sqlite3_stmt *q = prepare(st, "SELECT description, state, intent_at, result_at, result "
				  "FROM plan_steps WHERE plan_id = ? ORDER BY idx", NULL, 0, e);
	if (!q)
		return EXIT_INPUT;
	sqlite3_bind_int64(q, 1, p->id);
	int rc = 0, step;
	size_t cap = 0;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (p->nsteps == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_step *nv = realloc(p->steps, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			p->steps = nv;
			cap = ncap;
		}
		struct store_step *s = &p->steps[p->nsteps++];
		s->description = col_dup(q, 0);
		s->state = col_dup(q, 1);
		s->intent_at = col_dup(q, 2);
		s->result_at = col_dup(q, 3);
		s->result = col_dup(q, 4);
		if (!s->description || !s->state || !s->intent_at || !s->result_at || !s->result) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading the plan's steps");
out:
	sqlite3_finalize(q);
	return rc;
}

int store_plan_get(struct store *st, long long id, struct store_plan *p,
		   bool *found, struct err *e)
{
	*found = false;
	sqlite3_stmt *q = prepare(st, "SELECT " PLAN_COLUMNS " FROM plans WHERE id = ?",
				  NULL, 0, e);
	if (!q)
		return EXIT_INPUT;
	sqlite3_bind_int64(q, 1, id);
	int rc = 0, step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		if (plan_from_row(q, p))
			rc = err_set(e, EXIT_INPUT, "out of memory");
		else
			*found = true;
	} else if (step != SQLITE_DONE) {
		rc = db_error(st, e, "reading the plan");
	}
	sqlite3_finalize(q);
	if (!rc && *found)
		rc = load_steps(st, p, e);
	if (rc) {
		store_plan_finish(p);
		*found = false;
	}
	return rc;
}

int store_plan_list(struct store *st, const char *state, size_t limit,
		    struct store_plan **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	char lim[32];
	snprintf(lim, sizeof lim, "%zu", limit ? limit : (size_t)1000000);
	const char *args[] = {state, state, lim};
	sqlite3_stmt *q = prepare(st, "SELECT * FROM (SELECT " PLAN_COLUMNS " FROM plans "
				  "WHERE ? IS NULL OR state = ? ORDER BY id DESC LIMIT ?) "
				  "ORDER BY id", args, 3, e);
	if (!q)
		return EXIT_INPUT;
	struct store_plan *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct store_plan *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_plan *p = &v[cnt++];
		memset(p, 0, sizeof *p);
		if (plan_from_row(q, p)) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading the journal");
	for (size_t i = 0; !rc && i < cnt; i++)
		rc = load_steps(st, &v[i], e);
out:
	sqlite3_finalize(q);
	if (rc) {
		store_plans_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

void store_lock_finish(struct store_lock *l)
{
	if (!l)
		return;
	free(l->env);
	free(l->owner);
	free(l->host);
	free(l->started);
	memset(l, 0, sizeof *l);
}

static int lock_read(struct store *st, const char *env, struct store_lock *l,
		     bool *found, struct err *e)
{
	*found = false;
	const char *args[] = {env};
	sqlite3_stmt *q = prepare(st, "SELECT env, plan_id, owner, pid, host, started, "
				  "(julianday('now') - julianday(started)) * 86400.0 "
				  "FROM env_locks WHERE env = ?", args, 1, e);
	if (!q)
		return EXIT_INPUT;
	int rc = 0, step = sqlite3_step(q);
	if (step == SQLITE_ROW) {
		l->env = col_dup(q, 0);
		l->plan_id = sqlite3_column_int64(q, 1);
		l->owner = col_dup(q, 2);
		l->pid = (long)sqlite3_column_int64(q, 3);
		l->host = col_dup(q, 4);
		l->started = col_dup(q, 5);
		l->age_s = sqlite3_column_double(q, 6);
		if (!l->env || !l->owner || !l->host || !l->started) {
			store_lock_finish(l);
			rc = err_set(e, EXIT_INPUT, "out of memory");
		} else {
			*found = true;
		}
	} else if (step != SQLITE_DONE) {
		rc = db_error(st, e, "reading the lock");
	}
	sqlite3_finalize(q);
	return rc;
}

int store_lock_get(struct store *st, const char *env, struct store_lock *l,
		   bool *found, struct err *e)
{
	return lock_read(st, env, l, found, e);
}

int store_lock_take(struct store *st, const struct store_lock *want,
		    long expect_pid, struct store_lock *holder, bool *taken,
		    struct err *e)
{
	*taken = false;
	int rc = store_tx_begin(st, e);
	if (rc)
		return rc;
	bool found = false;
	struct store_lock cur = {0};
	rc = lock_read(st, want->env, &cur, &found, e);
	if (rc)
		goto fail;
	if (found && !(expect_pid > 0 && cur.pid == expect_pid)) {
		store_tx_rollback(st);
		*holder = cur;
		return 0;
	}
	store_lock_finish(&cur);
	char pid[32], plan[32];
	snprintf(pid, sizeof pid, "%ld", want->pid);
	snprintf(plan, sizeof plan, "%lld", want->plan_id);
	const char *args[] = {want->env, plan, want->owner, pid, want->host};
	rc = run_insert(st, "INSERT OR REPLACE INTO env_locks (env, plan_id, owner, pid, host) "
			    "VALUES (?, ?, ?, ?, ?)", args, 5, "taking the lock", e);
	if (rc)
		goto fail;
	rc = store_tx_commit(st, e);
	if (!rc)
		*taken = true;
	return rc;
fail:
	store_tx_rollback(st);
	return rc;
}

int store_lock_set_plan(struct store *st, const char *env, long long plan_id,
			struct err *e)
{
	const char *args[] = {env};
	return run_id_change(st, "UPDATE env_locks SET plan_id = ?2 WHERE env = ?1",
			     plan_id, args, 1, "updating the lock", NULL, e);
}

int store_lock_release(struct store *st, const char *env, long pid, struct err *e)
{
	const char *args[] = {env};
	return run_id_change(st, "DELETE FROM env_locks WHERE env = ?1 AND pid = ?2",
			     (long long)pid, args, 1, "releasing the lock", NULL, e);
}

int store_audit_add(struct store *st, const struct store_audit *a, struct err *e)
{
	const char *args[] = {a->actor, a->action, a->env ? a->env : "",
			      a->version ? a->version : "", a->outcome,
			      a->detail ? a->detail : "", a->before ? a->before : "",
			      a->after ? a->after : "", a->reason ? a->reason : ""};
	return run_insert(st, "INSERT INTO audit (actor, action, env, version, outcome, detail, "
			      "before_version, after_version, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", args, 9,
			  "writing the audit log", e);
}

void store_audit_free(struct store_audit *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].at);
		free(v[i].actor);
		free(v[i].action);
		free(v[i].env);
		free(v[i].version);
		free(v[i].outcome);
		free(v[i].detail);
		free(v[i].before);
		free(v[i].after);
		free(v[i].reason);
	}
	free(v);
}

int store_audit_list(struct store *st, const char *env, size_t limit,
		     struct store_audit **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	char lim[32];
	snprintf(lim, sizeof lim, "%zu", limit ? limit : (size_t)1000000);
	const char *args[] = {env, env, lim};
	sqlite3_stmt *q = prepare(st, "SELECT * FROM (SELECT id, at, actor, action, env, version, "
				  "outcome, detail, before_version, after_version, reason "
				  "FROM audit "
				  "WHERE ? IS NULL OR env = ? "
				  "ORDER BY id DESC LIMIT ?) ORDER BY id", args, 3, e);
	if (!q)
		return EXIT_INPUT;
	struct store_audit *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_audit *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_audit *a = &v[cnt++];
		a->id = sqlite3_column_int64(q, 0);
		a->at = col_dup(q, 1);
		a->actor = col_dup(q, 2);
		a->action = col_dup(q, 3);
		a->env = col_dup(q, 4);
		a->version = col_dup(q, 5);
		a->outcome = col_dup(q, 6);
		a->detail = col_dup(q, 7);
		a->before = col_dup(q, 8);
		a->after = col_dup(q, 9);
		a->reason = col_dup(q, 10);
		if (!a->at || !a->actor || !a->action || !a->env || !a->version ||
		    !a->outcome || !a->detail || !a->before || !a->after || !a->reason) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading the audit log");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_audit_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- trigger evaluations ------------------------------------------------- */

void store_eval_set_retention(struct store *st, double seconds)
{
	if (seconds > 0)
		st->eval_retention = seconds;
}

static double wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int eval_delete_before(struct store *st, double before, long long *removed,
			      struct err *e)
{
	sqlite3_stmt *q = prepare(st, "DELETE FROM trigger_evals WHERE at < ?", NULL, 0, e);
	if (!q)
		return EXIT_INPUT;
	sqlite3_bind_double(q, 1, before);
	int rc = sqlite3_step(q) == SQLITE_DONE ? 0
						 : db_error(st, e, "pruning trigger evaluations");
	if (!rc && removed)
		*removed = sqlite3_changes(st->db);
	sqlite3_finalize(q);
	return rc;
}

int store_eval_prune(struct store *st, double before, long long *removed,
		     struct err *e)
{
	if (removed)
		*removed = 0;
	return eval_delete_before(st, before, removed, e);
}

static int eval_insert(struct store *st, const struct store_eval *ev, struct err *e)
{
	char error[STORE_EVAL_ERROR_MAX + 1] = "";
	if (ev->error) {
		size_t n = strlen(ev->error);
		if (n > STORE_EVAL_ERROR_MAX) {
			/* Cut on a character boundary: no half UTF-8 sequence. */
			n = STORE_EVAL_ERROR_MAX;
			while (n > 0 && ((unsigned char)ev->error[n] & 0xC0) == 0x80)
				n--;
		}
		memcpy(error, ev->error, n);
		error[n] = '\0';
	}
	const char *args[] = {ev->env, ev->metric};
	sqlite3_stmt *q = prepare(st, "INSERT INTO trigger_evals (env, metric, at, state, "
				  "has_value, value, nseries, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				  args, 2, e);
	if (!q)
		return EXIT_INPUT;
	bool has = ev->has_value && isfinite(ev->value);
	int rc = sqlite3_bind_double(q, 3, ev->at) != SQLITE_OK ||
		 sqlite3_bind_text(q, 4, ev->state, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
		 sqlite3_bind_int(q, 5, has) != SQLITE_OK ||
		 (has ? sqlite3_bind_double(q, 6, ev->value) : sqlite3_bind_null(q, 6)) != SQLITE_OK ||
		 sqlite3_bind_int64(q, 7, ev->nseries) != SQLITE_OK ||
		 sqlite3_bind_text(q, 8, error, -1, SQLITE_TRANSIENT) != SQLITE_OK
		 ? db_error(st, e, "binding a query") : 0;
	if (!rc && sqlite3_step(q) != SQLITE_DONE)
		rc = db_error(st, e, "recording the trigger evaluation");
	sqlite3_finalize(q);
	return rc;
}

int store_eval_add(struct store *st, const struct store_eval *ev, struct err *e)
{
	double now = wall_clock();
	if (now - st->eval_pruned_at < STORE_EVAL_PRUNE_EVERY_S)
		return eval_insert(st, ev, e);
	/* The prune and the append share one write transaction: one lock, one
	 * sync. */
	int rc = store_tx_begin(st, e);
	if (rc)
		return rc;
	if ((rc = eval_delete_before(st, now - st->eval_retention, NULL, e)) ||
	    (rc = eval_insert(st, ev, e))) {
		store_tx_rollback(st);
		return rc;
	}
	rc = store_tx_commit(st, e);
	if (!rc)
		st->eval_pruned_at = now;
	return rc;
}

void store_evals_free(struct store_eval *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i].env);
		free(v[i].metric);
		free(v[i].state);
		free(v[i].error);
		free(v[i].prev_state);
	}
	free(v);
}

/* Runs Q (whose columns are id, env, metric, at, state, has_value, value,
 * nseries, error, prev_state) into a new array. Finalizes Q. */
static int eval_rows(struct store *st, sqlite3_stmt *q, struct store_eval **out, size_t *n,
		     struct err *e)
{
	struct store_eval *v = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0, step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		if (cnt == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct store_eval *nv = realloc(v, ncap * sizeof *nv);
			if (!nv) {
				rc = err_set(e, EXIT_INPUT, "out of memory");
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		struct store_eval *r = &v[cnt++];
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(q, 0);
		r->env = col_dup(q, 1);
		r->metric = col_dup(q, 2);
		r->at = sqlite3_column_double(q, 3);
		r->state = col_dup(q, 4);
		r->has_value = sqlite3_column_int(q, 5) != 0 &&
			       sqlite3_column_type(q, 6) != SQLITE_NULL;
		r->value = r->has_value ? sqlite3_column_double(q, 6) : 0;
		r->nseries = sqlite3_column_int64(q, 7);
		r->error = col_dup(q, 8);
		r->prev_state = col_dup(q, 9);
		if (!r->env || !r->metric || !r->state || !r->error || !r->prev_state) {
			rc = err_set(e, EXIT_INPUT, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE)
		rc = db_error(st, e, "reading trigger evaluations");
out:
	sqlite3_finalize(q);
	if (rc) {
		store_evals_free(v, cnt);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int eval_query(struct store *st, const char *sql, const char *env,
		      const char *metric, double since, size_t limit,
		      struct store_eval **out, size_t *n, struct err *e)
{
	*out = NULL;
	*n = 0;
	const char *args[] = {env, metric};
	sqlite3_stmt *q = prepare(st, sql, args, 2, e);
	if (!q)
		return EXIT_INPUT;
	if (sqlite3_bind_double(q, 3, since) != SQLITE_OK ||
	    sqlite3_bind_int64(q, 4, limit ? (sqlite3_int64)limit : -1) != SQLITE_OK) {
		sqlite3_finalize(q);
		return db_error(st, e, "binding a query");
	}
	return eval_rows(st, q, out, n, e);
}

int store_eval_list(struct store *st, const char *env, const char *metric,
		    double since, size_t limit, struct store_eval **out, size_t *n,
		    struct err *e)
{
	return eval_query(st,
			  "SELECT id, env, metric, at, state, has_value, value, nseries, error, '' "
			  "FROM trigger_evals "
			  "WHERE (?1 IS NULL OR env = ?1) AND (?2 IS NULL OR metric = ?2) "
			  "AND at >= ?3 ORDER BY at DESC, id DESC LIMIT ?4",
			  env, metric, since, limit, out, n, e);
}

/* The previous state comes from the window's own rows (LAG), and for the
 * first row of each metric in the window from the newest row before SINCE,
 * found through the (env, metric, at) index. */
int store_eval_transitions(struct store *st, const char *env, const char *metric,
			   double since, size_t limit, struct store_eval **out,
			   size_t *n, struct err *e)
{
	return eval_query(st,
			  "SELECT id, env, metric, at, state, has_value, value, nseries, error, prev "
			  "FROM (SELECT t.*, COALESCE("
			  "  LAG(t.state) OVER (PARTITION BY t.env, t.metric ORDER BY t.at, t.id),"
			  "  (SELECT p.state FROM trigger_evals p WHERE p.env = t.env "
			  "   AND p.metric = t.metric AND p.at < ?3 ORDER BY p.at DESC, p.id DESC "
			  "   LIMIT 1), '') AS prev "
			  " FROM trigger_evals t "
			  " WHERE (?1 IS NULL OR t.env = ?1) AND (?2 IS NULL OR t.metric = ?2) "
			  " AND t.at >= ?3) "
			  "WHERE prev <> state ORDER BY at DESC, id DESC LIMIT ?4",
			  env, metric, since, limit, out, n, e);
}
