#include "registry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "config.h"
#include "fileio.h"

struct registry {
	const struct registry_ops *ops;
	void *impl;
	struct store *st;
	char *model;
	char *location;
};

static const char *const stage_names[] = {
	[REGISTRY_STAGE_NONE] = "none",
	[REGISTRY_STAGE_STAGING] = "staging",
	[REGISTRY_STAGE_PRODUCTION] = "production",
	[REGISTRY_STAGE_ARCHIVED] = "archived",
};

const char *registry_stage_name(enum registry_stage s)
{
	return (unsigned)s < sizeof stage_names / sizeof stage_names[0] ? stage_names[s]
									  : "none";
}

bool registry_stage_parse(const char *name, enum registry_stage *out)
{
	for (size_t i = 0; i < sizeof stage_names / sizeof stage_names[0]; i++)
		if (strcasecmp(name, stage_names[i]) == 0) {
			*out = (enum registry_stage)i;
			return true;
		}
	return false;
}

char *registry_strdup(const char *s)
{
	return strdup(s ? s : "");
}

void registry_version_finish(struct registry_version *v)
{
	if (!v)
		return;
	free(v->version);
	free(v->label);
	free(v->source);
	free(v->sha256);
	free(v->schema_json);
	free(v->eval_json);
	free(v->verdict);
	free(v->description);
	free(v->creator);
	free(v->status);
	for (size_t i = 0; i < v->naliases; i++)
		free(v->aliases[i]);
	free(v->aliases);
	for (size_t i = 0; i < v->ntags; i++) {
		free(v->tag_keys[i]);
		free(v->tag_values[i]);
	}
	free(v->tag_keys);
	free(v->tag_values);
	memset(v, 0, sizeof *v);
}

void registry_versions_free(struct registry_version *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		registry_version_finish(&v[i]);
	free(v);
}

int registry_version_add_alias(struct registry_version *v, const char *alias,
			       struct err *e)
{
	char **na = realloc(v->aliases, (v->naliases + 1) * sizeof *na);
	if (!na)
		return err_set(e, EXIT_INPUT, "out of memory");
	v->aliases = na;
	if (!(na[v->naliases] = strdup(alias)))
		return err_set(e, EXIT_INPUT, "out of memory");
	v->naliases++;
	return 0;
}

int registry_version_add_tag(struct registry_version *v, const char *key,
			     const char *value, struct err *e)
{
	char **nk = realloc(v->tag_keys, (v->ntags + 1) * sizeof *nk);
	if (!nk)
		return err_set(e, EXIT_INPUT, "out of memory");
	v->tag_keys = nk;
	char **nv = realloc(v->tag_values, (v->ntags + 1) * sizeof *nv);
	if (!nv)
		return err_set(e, EXIT_INPUT, "out of memory");
	v->tag_values = nv;
	char *k = strdup(key), *val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	nk[v->ntags] = k;
	nv[v->ntags] = val;
	v->ntags++;
	return 0;
}

int registry_sha256_hex(const void *data, size_t len, char out[65], struct err *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return err_set(e, EXIT_INPUT, "sha256: OpenSSL digest failed");
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

struct registry *registry_create(const struct registry_ops *ops, void *impl,
				 struct store *st, const char *model,
				 const char *location, struct err *e)
{
	struct registry *r = calloc(1, sizeof *r);
	if (r) {
		r->model = strdup(model ? model : REGISTRY_DEFAULT_MODEL);
		r->location = strdup(location);
	}
	if (!r || !r->model || !r->location) {
		if (r) {
			free(r->model);
			free(r->location);
			free(r);
		}
		ops->destroy(impl);
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	r->ops = ops;
	r->impl = impl;
	r->st = st;
	return r;
}

void registry_destroy(struct registry *r)
{
	if (!r)
		return;
	r->ops->destroy(r->impl);
	free(r->model);
	free(r->location);
	free(r);
}

const char *registry_backend(const struct registry *r)
{
	return r->ops->name;
}

const char *registry_location(const struct registry *r)
{
	return r->location;
}

const char *registry_model(const struct registry *r)
{
	return r->model;
}

/* Labels and aliases end up in file names, URLs and tags: keep them to
 * letters, digits and . _ - + (what semantic versions and the standard
 * aliases use), 1 to 64 characters. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-+", *p))
			return false;
	return true;
}

int registry_get(struct registry *r, const char *v, struct registry_version *out,
		 struct err *e)
{
	bool found = false;
	int rc = r->ops->get(r->impl, v, out, &found, e);
	if (!rc && !found)
		rc = err_set(e, EXIT_INPUT, "model %s has no version %s", r->model, v);
	return rc;
}

int registry_list(struct registry *r, struct registry_version **out, size_t *n,
		  struct err *e)
{
	return r->ops->list(r->impl, out, n, e);
}

int registry_get_alias(struct registry *r, const char *alias,
		       struct registry_version *out, bool *found, struct err *e)
{
	return r->ops->get_alias(r->impl, alias, out, found, e);
}

int registry_stage_holder(struct registry *r, enum registry_stage stage,
			  struct registry_version *out, bool *found,
			  struct err *e)
{
	return r->ops->stage_holder(r->impl, stage, out, found, e);
}

int registry_history(struct registry *r, struct store_reg_event **out,
		     size_t *n, struct err *e)
{
	return store_reg_list_events(r->st, r->ops->name, r->location, r->model,
				     out, n, e);
}

int registry_verify(struct registry *r, const struct registry_version *v,
		    struct err *e)
{
	if (strlen(v->sha256) != 64)
		return err_set(e, EXIT_CHECK,
			       "version %s has no recorded sha256: its artifact cannot be verified",
			       v->label[0] ? v->label : v->version);
	char *data = NULL;
	size_t len = 0;
	int rc = r->ops->fetch_artifact(r->impl, v, &data, &len, e);
	if (rc == EXIT_INPUT) { /* a missing or unreadable artifact is a refusal */
		err_prefix(e, "version %s: cannot verify its artifact",
			   v->label[0] ? v->label : v->version);
		if (e)
			e->code = EXIT_CHECK;
		return EXIT_CHECK;
	}
	if (rc)
		return rc;
	char sha[65];
	rc = registry_sha256_hex(data, len, sha, e);
	free(data);
	if (!rc && strcasecmp(sha, v->sha256) != 0)
		rc = err_set(e, EXIT_CHECK,
			     "version %s: artifact %s has sha256 %s, registered as %s: refusing to use it",
			     v->label[0] ? v->label : v->version, v->source, sha, v->sha256);
	return rc;
}

/* The checks every version passes before it is moved or named: READY and
 * an intact artifact. */
static int check_usable(struct registry *r, const struct registry_version *v,
			struct err *e)
{
	if (strcmp(v->status, "READY") != 0)
		return err_set(e, EXIT_CHECK, "version %s is %s, not READY: refusing to use it",
			       v->label[0] ? v->label : v->version, v->status);
	return registry_verify(r, v, e);
}

int registry_register(struct registry *r, const struct registry_new_version *nv,
		      struct registry_version *out, struct err *e)
{
	if (!nv->label || !valid_name(nv->label))
		return err_set(e, EXIT_INPUT,
			       "version label '%s': use 1 to 64 letters, digits and . _ - +",
			       nv->label ? nv->label : "");
	if (!nv->schema_json)
		return err_set(e, EXIT_INPUT, "version %s: a schema is required", nv->label);
	struct registry_version existing = {0};
	bool found = false;
	int rc = r->ops->get(r->impl, nv->label, &existing, &found, e);
	registry_version_finish(&existing);
	if (rc)
		return rc;
	if (found)
		return err_set(e, EXIT_CHECK, "model %s already has a version %s", r->model,
			       nv->label);

	char *data = NULL;
	size_t len = 0;
	struct store_checklist_run run = {0};
	bool have_run = false;
	char sha[65];
	if ((rc = fileio_read_all(nv->artifact_path, REGISTRY_MAX_ARTIFACT, &data, &len, e)) ||
	    (rc = registry_sha256_hex(data, len, sha, e)))
		goto out;
	if (nv->sha256 && strcasecmp(nv->sha256, sha) != 0) {
		rc = err_set(e, EXIT_CHECK, "%s changed while being registered (sha256 %s, expected %s)",
			     nv->artifact_path, sha, nv->sha256);
		goto out;
	}
	if ((rc = store_last_checklist_run(r->st, sha, &run, &have_run, e)))
		goto out;
	struct registry_version tmp = {0};
	rc = r->ops->register_version(r->impl, nv, sha, have_run ? run.verdict : "pending",
				      data, len, out ? out : &tmp, e);
	registry_version_finish(&tmp);
out:
	store_checklist_run_finish(&run);
	free(data);
	return rc;
}

int registry_set_tag(struct registry *r, const char *v, const char *key,
		     const char *value, struct err *e)
{
	size_t klen = strlen(key);
	bool printable = klen > 0 && klen <= 250;
	for (const char *p = key; printable && *p; p++)
		printable = !iscntrl((unsigned char)*p);
	if (!printable)
		return err_set(e, EXIT_INPUT, "tag key '%s': use 1 to 250 printable bytes", key);
	if (strncmp(key, "churnops.", 9) == 0)
		return err_set(e, EXIT_INPUT,
			       "tag key '%s': keys under churnops. hold churnops' own facts", key);
	if (strlen(value) > 5000)
		return err_set(e, EXIT_INPUT, "tag %s: the value is longer than 5000 bytes", key);
	struct registry_version ver = {0};
	int rc = registry_get(r, v, &ver, e);
	if (!rc)
		rc = r->ops->set_tag(r->impl, ver.version, key, value, e);
	registry_version_finish(&ver);
	return rc;
}

/* Appends one history entry. */
static int record(struct registry *r, const char *kind, const char *name,
		  const char *from, const char *to, const struct registry_move *m,
		  struct err *e)
{
	struct store_reg_event ev = {
		.backend = (char *)r->ops->name, .registry = r->location,
		.model = r->model, .kind = (char *)kind, .name = (char *)name,
		.from_version = (char *)from, .to_version = (char *)to,
		.actor = (char *)(m && m->actor && *m->actor ? m->actor : "unknown"),
		.reason = (char *)(m ? m->reason : NULL),
	};
	return store_reg_add_event(r->st, &ev, e);
}

/* Starts the store transaction that makes a move and its history entry one
 * unit, for the back end that lives in the store. MLflow's moves happen on
 * the server, outside any transaction of ours; their entries are appended
 * right after the server confirmed. */
static int begin(struct registry *r, struct err *e)
{
	return r->ops->in_store ? store_tx_begin(r->st, e) : 0;
}

static int end(struct registry *r, int rc, struct err *e)
{
	if (!r->ops->in_store)
		return rc;
	if (rc) {
		store_tx_rollback(r->st);
		return rc;
	}
	return store_tx_commit(r->st, e);
}

/* Refuses production for a version whose latest checklist verdict in the
 * store is not pass, unless overridden with a reason. */
static int check_verdict(struct registry *r, const struct registry_version *v,
			 const struct registry_move *m, struct err *e)
{
	struct store_checklist_run run = {0};
	bool found = false;
	int rc = store_last_checklist_run(r->st, v->sha256, &run, &found, e);
	if (rc)
		return rc;
	const char *verdict = found ? run.verdict : "none";
	if (strcmp(verdict, "pass") != 0) {
		if (m && m->override && m->reason && *m->reason)
			rc = 0;
		else if (m && m->override)
			rc = err_set(e, EXIT_INPUT, "--override needs --reason TEXT");
		else
			rc = err_set(e, EXIT_CHECK,
				     "version %s: checklist verdict is %s, not pass: refusing production "
				     "(run churnops validate, or --override --reason TEXT)",
				     v->label[0] ? v->label : v->version, verdict);
	}
	store_checklist_run_finish(&run);
	return rc;
}

/* Moves ALIAS to V inside the caller's transaction, recording it; nothing
 * happens when it already points there. */
static int move_alias(struct registry *r, const char *alias, const char *version,
		      const struct registry_move *m, struct err *e)
{
	struct registry_version cur = {0};
	bool found = false;
	int rc = r->ops->get_alias(r->impl, alias, &cur, &found, e);
	if (!rc && !(found && strcmp(cur.version, version) == 0)) {
		rc = r->ops->set_alias(r->impl, alias, version, e);
		if (!rc)
			rc = record(r, "alias", alias, found ? cur.version : "", version, m, e);
	}
	registry_version_finish(&cur);
	return rc;
}

int registry_set_stage(struct registry *r, const char *v,
		       enum registry_stage stage, const struct registry_move *m,
		       struct err *e)
{
	struct registry_version ver = {0}, holder = {0};
	bool found = false;
	int rc = registry_get(r, v, &ver, e);
	if (rc)
		goto out;
	if (ver.stage == stage)
		goto out;
	bool entering = stage == REGISTRY_STAGE_STAGING || stage == REGISTRY_STAGE_PRODUCTION;
	if (entering && (rc = check_usable(r, &ver, e)))
		goto out;
	if (stage == REGISTRY_STAGE_PRODUCTION && (rc = check_verdict(r, &ver, m, e)))
		goto out;
	if ((rc = begin(r, e)))
		goto out;
	/* Read again under the lock: another process may have moved it since. */
	struct registry_version now = {0};
	bool still = false;
	rc = r->ops->get(r->impl, ver.version, &now, &still, e);
	bool moved = still && now.stage == stage;
	registry_version_finish(&now);
	if (!rc && !still)
		rc = err_set(e, EXIT_INPUT, "model %s has no version %s", r->model, v);
	if (rc || moved) {
		rc = end(r, rc, e);
		goto out;
	}
	if (entering)
		rc = r->ops->stage_holder(r->impl, stage, &holder, &found, e);
	if (!rc)
		rc = r->ops->set_stage(r->impl, ver.version, stage, e);
	if (!rc)
		rc = record(r, "stage", registry_stage_name(stage), found ? holder.version : "",
			    ver.version, m, e);
	if (!rc && stage == REGISTRY_STAGE_PRODUCTION)
		rc = move_alias(r, REGISTRY_ALIAS_CHAMPION, ver.version, m, e);
	rc = end(r, rc, e);
out:
	registry_version_finish(&ver);
	registry_version_finish(&holder);
	return rc;
}

int registry_set_alias(struct registry *r, const char *alias, const char *v,
		       const struct registry_move *m, struct err *e)
{
	if (!valid_name(alias))
		return err_set(e, EXIT_INPUT,
			       "alias '%s': use 1 to 64 letters, digits and . _ - +", alias);
	struct registry_version ver = {0};
	int rc = registry_get(r, v, &ver, e);
	if (!rc)
		rc = check_usable(r, &ver, e);
	if (!rc && !(rc = begin(r, e)))
		rc = end(r, move_alias(r, alias, ver.version, m, e), e);
	registry_version_finish(&ver);
	return rc;
}

int registry_delete_alias(struct registry *r, const char *alias,
			  const struct registry_move *m, struct err *e)
{
	struct registry_version cur = {0};
	bool found = false;
	int rc = begin(r, e);
	if (rc)
		return rc;
	rc = r->ops->get_alias(r->impl, alias, &cur, &found, e);
	if (!rc && !found)
		rc = err_set(e, EXIT_INPUT, "model %s has no alias %s", r->model, alias);
	if (!rc)
		rc = r->ops->delete_alias(r->impl, alias, e);
	if (!rc)
		rc = record(r, "alias", alias, cur.version, "", m, e);
	rc = end(r, rc, e);
	registry_version_finish(&cur);
	return rc;
}

/* What production held just before its current holder: the "from" of the
 * latest move into production of the current holder. With nothing in
 * production, the last version that was. Newly allocated, or NULL in *OUT
 * when the history has no answer. */
static int previous_production(struct registry *r, char **out, struct err *e)
{
	*out = NULL;
	struct registry_version cur = {0};
	bool have_cur = false;
	struct store_reg_event *ev = NULL;
	size_t n = 0;
	int rc = r->ops->stage_holder(r->impl, REGISTRY_STAGE_PRODUCTION, &cur, &have_cur, e);
	if (!rc)
		rc = registry_history(r, &ev, &n, e);
	for (size_t i = n; !rc && i-- > 0;) {
		if (strcmp(ev[i].kind, "stage") != 0 || strcmp(ev[i].name, "production") != 0)
			continue;
		const char *answer = have_cur ? (strcmp(ev[i].to_version, cur.version) == 0
						 ? ev[i].from_version : NULL)
					      : ev[i].to_version;
		if (!answer)
			continue;
		if (*answer && !(*out = strdup(answer)))
			rc = err_set(e, EXIT_INPUT, "out of memory");
		break;
	}
	store_reg_events_free(ev, n);
	registry_version_finish(&cur);
	return rc;
}

int registry_rollback_target(struct registry *r, const char *target,
			     struct registry_version *out, struct err *e)
{
	int rc;
	if (strcmp(target, "previous") == 0) {
		char *prev = NULL;
		if ((rc = previous_production(r, &prev, e)))
			return rc;
		if (!prev)
			return err_set(e, EXIT_CHECK,
				       "no previous production version of %s in the promotion history",
				       r->model);
		rc = registry_get(r, prev, out, e);
		free(prev);
	} else if (strcmp(target, "rollback") == 0) {
		bool found = false;
		if ((rc = r->ops->get_alias(r->impl, REGISTRY_ALIAS_LKG, out, &found, e)))
			return rc;
		if (!found)
			return err_set(e, EXIT_CHECK,
				       "model %s has no %s version to roll back to (churnops registry alias set %s VERSION)",
				       r->model, REGISTRY_ALIAS_LKG, REGISTRY_ALIAS_LKG);
	} else {
		rc = registry_get(r, target, out, e);
	}
	if (!rc && (rc = check_usable(r, out, e)))
		registry_version_finish(out);
	return rc;
}

struct registry *registry_open_configured(struct store *st, const struct config *c,
					  const struct registry_choice *ch, struct err *e)
{
	struct config_endpoint ep = config_mlflow(c);
	const char *uri = ch->tracking_uri ? ch->tracking_uri : ep.url;
	const char *backend = ch->backend ? ch->backend : c->registry_backend;
	const char *model = ch->model ? ch->model : c->registry_model;
	bool mlflow = backend ? strcmp(backend, "mlflow") == 0 : uri != NULL;
	if (!mlflow)
		return registry_open_sqlite(st, model, e);
	const char *token = getenv("MLFLOW_TRACKING_TOKEN");
	const char *user = getenv("MLFLOW_TRACKING_USERNAME");
	const char *password = getenv("MLFLOW_TRACKING_PASSWORD");
	struct registry_mlflow_options mo = {
		.tracking_uri = uri,
		.token = token && *token ? token : NULL,
		.basic_user = user && *user ? user : NULL,
		.basic_password = password,
		.ca_file = ep.ca_file,
		.insecure = ep.insecure,
		.timeout_ms = ch->timeout_ms,
		.page_size = ch->page_size,
	};
	return registry_open_mlflow(st, model, &mo, e);
}
