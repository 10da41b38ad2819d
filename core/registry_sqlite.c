/* registry_sqlite: the embedded registry back end (see registry.h).
 *
 * Versions, stages and aliases live in the store (migration 2); a version's
 * id is its label. Artifacts are copied into ARTIFACTS/SHA256/model.json,
 * ARTIFACTS being the directory "artifacts" next to the store's file: content
 * addressed, so registering the same bytes twice stores them once, and a
 * registered artifact never changes under a later registration. The copy is
 * written atomically (fileio) before the row is inserted, so a row always
 * names a complete file.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "fileio.h"

struct sqlite_impl {
	struct store *st;
	char *model;
	char *artifacts; /* directory */
};

static int oom(struct err *e)
{
	return err_set(e, EXIT_INPUT, "out of memory");
}

static long long now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Fills OUT from a store row, taking its strings (ROW is left zeroed). */
static void from_row(struct store_model_version *row, struct registry_version *out)
{
	enum registry_stage stage = REGISTRY_STAGE_NONE;
	registry_stage_parse(row->stage, &stage);
	*out = (struct registry_version){
		.version = row->version,
		.label = strdup(row->version),
		.source = row->artifact,
		.sha256 = row->sha256,
		.schema_json = row->schema_json,
		.eval_json = row->eval_json,
		.verdict = row->verdict,
		.description = row->description,
		.creator = row->creator,
		.status = row->status,
		.created_ms = row->created_ms,
		.stage = stage,
	};
	free(row->model);
	free(row->stage);
	memset(row, 0, sizeof *row);
}

/* Attaches to V[0..N) the aliases pointing at them and their tags. */
static int attach_aliases(struct sqlite_impl *s, struct registry_version *v, size_t n,
			  struct err *e)
{
	struct store_alias *a = NULL;
	size_t na = 0;
	int rc = store_reg_list_aliases(s->st, s->model, &a, &na, e);
	for (size_t i = 0; !rc && i < na; i++)
		for (size_t j = 0; !rc && j < n; j++)
			if (strcmp(a[i].version, v[j].version) == 0)
				rc = registry_version_add_alias(&v[j], a[i].alias, e);
	store_reg_aliases_free(a, na);
	struct store_tag *t = NULL;
	size_t nt = 0;
	if (!rc)
		rc = store_reg_list_tags(s->st, s->model, &t, &nt, e);
	for (size_t i = 0; !rc && i < nt; i++)
		for (size_t j = 0; !rc && j < n; j++)
			if (strcmp(t[i].version, v[j].version) == 0)
				rc = registry_version_add_tag(&v[j], t[i].key, t[i].value, e);
	store_reg_tags_free(t, nt);
	return rc;
}

static int sq_get(void *impl, const char *v, struct registry_version *out,
		  bool *found, struct err *e)
{
	struct sqlite_impl *s = impl;
	struct store_model_version row = {0};
	int rc = store_reg_get_version(s->st, s->model, v, &row, found, e);
	if (rc || !*found)
		return rc;
	from_row(&row, out);
	if (!out->label)
		rc = oom(e);
	if (!rc)
		rc = attach_aliases(s, out, 1, e);
	if (rc) {
		registry_version_finish(out);
		*found = false;
	}
	return rc;
}

static int sq_list(void *impl, struct registry_version **out, size_t *n,
		   struct err *e)
{
	struct sqlite_impl *s = impl;
	struct store_model_version *rows = NULL;
	size_t nrows = 0;
	*out = NULL;
	*n = 0;
	int rc = store_reg_list_versions(s->st, s->model, &rows, &nrows, e);
	if (rc)
		return rc;
	struct registry_version *v = calloc(nrows ? nrows : 1, sizeof *v);
	if (!v) {
		store_model_versions_free(rows, nrows);
		return oom(e);
	}
	for (size_t i = 0; i < nrows; i++) {
		from_row(&rows[i], &v[i]);
		if (!v[i].label)
			rc = oom(e);
	}
	store_model_versions_free(rows, nrows);
	if (!rc)
		rc = attach_aliases(s, v, nrows, e);
	if (rc) {
		registry_versions_free(v, nrows);
		return rc;
	}
	*out = v;
	*n = nrows;
	return 0;
}

/* Looks up the version named by a query that yields a version id (alias or
 * stage holder). */
static int get_named(struct sqlite_impl *s, char *version, struct registry_version *out,
		     bool *found, struct err *e)
{
	*found = false;
	if (!version)
		return 0;
	int rc = sq_get(s, version, out, found, e);
	free(version);
	return rc;
}

static int sq_get_alias(void *impl, const char *alias, struct registry_version *out,
			bool *found, struct err *e)
{
	struct sqlite_impl *s = impl;
	char *version = NULL;
	*found = false;
	int rc = store_reg_get_alias(s->st, s->model, alias, &version, e);
	return rc ? rc : get_named(s, version, out, found, e);
}

static int sq_stage_holder(void *impl, enum registry_stage stage,
			   struct registry_version *out, bool *found, struct err *e)
{
	struct sqlite_impl *s = impl;
	char *version = NULL;
	*found = false;
	int rc = store_reg_stage_holder(s->st, s->model, registry_stage_name(stage),
					&version, e);
	return rc ? rc : get_named(s, version, out, found, e);
}

static int sq_set_stage(void *impl, const char *version, enum registry_stage stage,
			struct err *e)
{
	struct sqlite_impl *s = impl;
	bool exclusive = stage == REGISTRY_STAGE_STAGING || stage == REGISTRY_STAGE_PRODUCTION;
	return store_reg_set_stage(s->st, s->model, version, registry_stage_name(stage),
				   exclusive, e);
}

static int sq_set_alias(void *impl, const char *alias, const char *version,
			struct err *e)
{
	struct sqlite_impl *s = impl;
	return store_reg_set_alias(s->st, s->model, alias, version, e);
}

static int sq_delete_alias(void *impl, const char *alias, struct err *e)
{
	struct sqlite_impl *s = impl;
	bool found = false;
	int rc = store_reg_delete_alias(s->st, s->model, alias, &found, e);
	if (!rc && !found)
		rc = err_set(e, EXIT_INPUT, "model %s has no alias %s", s->model, alias);
	return rc;
}

static int sq_set_tag(void *impl, const char *version, const char *key,
		      const char *value, struct err *e)
{
	struct sqlite_impl *s = impl;
	return store_reg_set_tag(s->st, s->model, version, key, value, e);
}

static int sq_fetch(void *impl, const struct registry_version *v, char **data,
		    size_t *len, struct err *e)
{
	(void)impl;
	return fileio_read_all(v->source, REGISTRY_MAX_ARTIFACT, data, len, e);
}

static int sq_register(void *impl, const struct registry_new_version *nv,
		       const char *sha256, const char *verdict, const char *data,
		       size_t len, struct registry_version *out, struct err *e)
{
	struct sqlite_impl *s = impl;
	char *dir = NULL, *path = NULL;
	int rc = 0;
	if (asprintf(&dir, "%s/%s", s->artifacts, sha256) < 0) {
		dir = NULL;
		return oom(e);
	}
	if (asprintf(&path, "%s/model.json", dir) < 0) {
		path = NULL;
		rc = oom(e);
		goto out;
	}
	if ((rc = fileio_mkdirs(dir, e)))
		goto out;
	if (!fileio_exists(path) && (rc = fileio_write_all(path, data, len, e)))
		goto out;
	struct store_model_version row = {
		.model = s->model,
		.version = (char *)nv->label,
		.artifact = path,
		.sha256 = (char *)sha256,
		.schema_json = (char *)nv->schema_json,
		.eval_json = (char *)nv->eval_json,
		.verdict = (char *)verdict,
		.description = (char *)nv->description,
		.creator = (char *)(nv->creator ? nv->creator : "unknown"),
		.created_ms = now_ms(),
	};
	if ((rc = store_reg_add_model(s->st, s->model, e)) ||
	    (rc = store_reg_add_version(s->st, &row, e)))
		goto out;
	bool found = false;
	rc = sq_get(s, nv->label, out, &found, e);
	if (!rc && !found)
		rc = err_set(e, EXIT_INPUT, "version %s vanished after registering", nv->label);
out:
	free(dir);
	free(path);
	return rc;
}

static void sq_destroy(void *impl)
{
	struct sqlite_impl *s = impl;
	if (!s)
		return;
	free(s->model);
	free(s->artifacts);
	free(s);
}

static const struct registry_ops sqlite_ops = {
	.name = "sqlite",
	.in_store = true,
	.register_version = sq_register,
	.get = sq_get,
	.list = sq_list,
	.get_alias = sq_get_alias,
	.stage_holder = sq_stage_holder,
	.set_stage = sq_set_stage,
	.set_alias = sq_set_alias,
	.delete_alias = sq_delete_alias,
	.set_tag = sq_set_tag,
	.fetch_artifact = sq_fetch,
	.destroy = sq_destroy,
};

struct registry *registry_open_sqlite(struct store *st, const char *model,
				      struct err *e)
{
	struct sqlite_impl *s = calloc(1, sizeof *s);
	if (!s) {
		oom(e);
		return NULL;
	}
	s->st = st;
	s->model = strdup(model ? model : REGISTRY_DEFAULT_MODEL);
	const char *db = store_path(st);
	const char *slash = strrchr(db, '/');
	int n = slash ? (int)(slash - db) : 1;
	if (asprintf(&s->artifacts, "%.*s/artifacts", n, slash ? db : ".") < 0)
		s->artifacts = NULL;
	if (!s->model || !s->artifacts) {
		sq_destroy(s);
		oom(e);
		return NULL;
	}
	return registry_create(&sqlite_ops, s, st, s->model, "store", e);
}
