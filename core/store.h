/* store: churnops' embedded database (SQLite), the only caller of SQLite.
 *
 * One file, by default DATA_DIR/churnops.db (see paths.h). Opening it turns
 * on WAL journaling (readers never block the one writer), foreign keys and a
 * busy timeout, so the console's workers and a CLI run at the same time wait
 * for each other instead of failing. The schema is versioned by PRAGMA
 * user_version: each migration runs once, in its own transaction, in order;
 * a database from a newer churnops (a version above ours) is refused rather
 * than guessed at.
 *
 * Migration 1: signoffs (manual checklist items signed off for one model
 * artifact, identified by its sha256, so a changed artifact has none) and
 * checklist_runs (each `validate` report, as JSON).
 *
 * Times are ISO 8601 UTC with milliseconds ("2026-11-26T18:50:00.123Z"),
 * set by the database when a row is written.
 */
#ifndef CHURNOPS_STORE_H
#define CHURNOPS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define STORE_BUSY_TIMEOUT_MS 5000

struct store;

/* DATA_DIR/churnops.db, newly allocated (caller frees). */
char *store_default_path(struct err *e);

/* Opens (creating it and its directory if needed) the database at PATH, or
 * at store_default_path() when PATH is NULL, and brings it to the latest
 * schema version. Errors: EXIT_INPUT naming the file. The caller closes it
 * with store_close(). */
struct store *store_open(const char *path, struct err *e);

void store_close(struct store *st);   /* NULL ok */

/* The file the store was opened from; valid until store_close(). */
const char *store_path(const struct store *st);

/* The schema version (PRAGMA user_version) after opening. */
int store_schema_version(struct store *st);

/* The schema version this build migrates to. */
int store_latest_version(void);

struct store_signoff {
	long long id;
	char *model_sha256;
	char *item;
	char *by;
	char *note;  /* "" when none was given */
	char *at;
};

/* Records that BY signed off ITEM for the artifact SHA256 (NOTE may be
 * NULL). */
int store_add_signoff(struct store *st, const char *sha256, const char *item,
		      const char *by, const char *note, struct err *e);

/* Every sign-off for SHA256, oldest first, into a new array *OUT of *N
 * entries; free it with store_signoffs_free(). */
int store_list_signoffs(struct store *st, const char *sha256,
			struct store_signoff **out, size_t *n, struct err *e);

void store_signoffs_free(struct store_signoff *v, size_t n);   /* NULL ok */

struct store_checklist_run {
	long long id;
	char *model_sha256;
	char *verdict;
	char *report_json;
	char *at;
};

/* Appends a checklist run (REPORT_JSON as produced by checklist_to_json). */
int store_add_checklist_run(struct store *st, const char *sha256,
			    const char *verdict, const char *report_json,
			    struct err *e);

/* The latest run for SHA256 into *RUN (the caller zeroes it and frees it
 * with store_checklist_run_finish()); *FOUND says whether there was one. */
int store_last_checklist_run(struct store *st, const char *sha256,
			     struct store_checklist_run *run, bool *found,
			     struct err *e);

void store_checklist_run_finish(struct store_checklist_run *run);

#endif
