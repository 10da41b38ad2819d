#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fileio.h"
#include "paths.h"

struct store {
	sqlite3 *db;
	char *path;
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
