#include "config.h"

#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "json.h"
#include "paths.h"
#include "prom.h"

#define MAX_ENVS 64

static const char *const credential_keys[] = { "token", "password", "secret", "api_key",
					       "client_key", NULL };

/* Fails for a key of OBJ that is not in ALLOWED; keys that look like
 * credentials get a hint about where those belong instead. */
static int check_keys(const cJSON *obj, const char *const *allowed, const char *source,
		      const char *where, struct err *e)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = strcmp(it->string, allowed[i]) == 0;
		if (ok)
			continue;
		for (size_t i = 0; credential_keys[i]; i++)
			if (strstr(it->string, credential_keys[i]))
				return err_set(e, EXIT_INPUT,
					       "%s: %s\"%s\": credentials are not read from the "
					       "configuration file; use the environment "
					       "(churnops(1) ENVIRONMENT)",
					       source, where, it->string);
		return err_set(e, EXIT_INPUT, "%s: %sunknown key \"%s\"", source, where,
			       it->string);
	}
	return 0;
}

static int get_string(const cJSON *obj, const char *key, char **out, const char *source,
		      const char *where, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 4096)
		return err_set(e, EXIT_INPUT, "%s: %s\"%s\": must be a non-empty string", source,
			       where, key);
	free(*out);
	if (!(*out = strdup(v->valuestring)))
		return err_set(e, EXIT_INPUT, "out of memory");
	return 0;
}

static int get_bool(const cJSON *obj, const char *key, bool *out, const char *source,
		    const char *where, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return err_set(e, EXIT_INPUT, "%s: %s\"%s\": must be true or false", source,
			       where, key);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A duration as a Prometheus string ("24h") or seconds; zero is allowed
 * (it turns the setting off). */
static int get_duration(const cJSON *obj, const char *key, double *out, const char *source,
			const char *where, struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		return 0;
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    v->valuedouble <= 366.0 * 86400) {
		*out = v->valuedouble;
		return 0;
	}
	double s;
	if (cJSON_IsString(v) && prom_parse_duration(v->valuestring, true, &s) &&
	    s <= 366.0 * 86400) {
		*out = s;
		return 0;
	}
	return err_set(e, EXIT_INPUT,
		       "%s: %s\"%s\": not a duration (like \"6h\" or \"24h\", at most a year)",
		       source, where, key);
}

static bool strategy_known(const char *s)
{
	return strcmp(s, "rolling") == 0 || strcmp(s, "blue-green") == 0 ||
	       strcmp(s, "canary") == 0;
}

static bool name_ok(const char *s)
{
	if (!s[0] || strlen(s) > 63)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

static bool url_ok(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

/* An endpoint object O (named WHERE in messages): its URL under URL_KEY,
 * "ca_file" and "insecure"; the object's other keys are ALLOWED (a NULL
 * terminated list that names the three too) or refused. */
static int load_endpoint(const cJSON *o, const char *url_key, const char *const *allowed,
			 struct config_endpoint *ep, const char *source, const char *where,
			 struct err *e)
{
	int rc;
	if ((rc = check_keys(o, allowed, source, where, e)) ||
	    (rc = get_string(o, url_key, &ep->url, source, where, e)) ||
	    (rc = get_string(o, "ca_file", &ep->ca_file, source, where, e)) ||
	    (rc = get_bool(o, "insecure", &ep->insecure, source, where, e)))
		return rc;
	if (ep->url && !url_ok(ep->url))
		return err_set(e, EXIT_INPUT, "%s: %s\"%s\": must start with http:// or https://",
			       source, where, url_key);
	return 0;
}

/* ROOT's object KEY, or NULL (*RC set when it is there but no object). */
static const cJSON *section(const cJSON *root, const char *key, const char *source, int *rc,
			    struct err *e)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
	*rc = o && !cJSON_IsObject(o)
		      ? err_set(e, EXIT_INPUT, "%s: \"%s\": must be an object", source, key)
		      : 0;
	return *rc ? NULL : o;
}

static int load_prometheus(const cJSON *root, struct config *c, const char *source,
			   struct err *e)
{
	static const char *const keys[] = { "url", "ca_file", "insecure", NULL };
	int rc;
	const cJSON *o = section(root, "prometheus", source, &rc, e);
	return o ? load_endpoint(o, "url", keys, &c->prometheus, source, "prometheus: ", e) : rc;
}

static int load_registry(const cJSON *root, struct config *c, const char *source,
			 struct err *e)
{
	static const char *const keys[] = { "tracking_uri", "ca_file", "insecure", "backend",
					    "model", "last_known_good_after", NULL };
	static const char *const where = "registry: ";
	int rc;
	const cJSON *o = section(root, "registry", source, &rc, e);
	if (!o)
		return rc;
	/* The MLflow endpoint is the registry's: "tracking_uri" is its URL, as
	 * MLflow users name it; "url" is refused to keep one spelling. */
	if (cJSON_GetObjectItemCaseSensitive(o, "url"))
		return err_set(e, EXIT_INPUT, "%s: registry: unknown key \"url\" (the MLflow "
					      "server is \"tracking_uri\")", source);
	if ((rc = load_endpoint(o, "tracking_uri", keys, &c->mlflow, source, where, e)) ||
	    (rc = get_string(o, "backend", &c->registry_backend, source, where, e)) ||
	    (rc = get_string(o, "model", &c->registry_model, source, where, e)) ||
	    (rc = get_duration(o, "last_known_good_after", &c->lkg_after, source, where, e)))
		return rc;
	if (c->registry_backend && strcmp(c->registry_backend, "sqlite") != 0 &&
	    strcmp(c->registry_backend, "mlflow") != 0)
		return err_set(e, EXIT_INPUT, "%s: registry: \"backend\": \"%s\" is not sqlite or "
					      "mlflow", source, c->registry_backend);
	if (c->registry_backend && strcmp(c->registry_backend, "mlflow") == 0 && !c->mlflow.url &&
	    !getenv("MLFLOW_TRACKING_URI"))
		return err_set(e, EXIT_INPUT, "%s: registry: backend mlflow needs \"tracking_uri\" "
					      "(or MLFLOW_TRACKING_URI)", source);
	return 0;
}

static int load_envs(const cJSON *root, struct config *c, const char *source, struct err *e)
{
	static const char *const keys[] = { "read_only", "strategy", "last_known_good_after",
					    NULL };
	int rc;
	const cJSON *o = section(root, "environments", source, &rc, e);
	if (!o)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(o);
	if (n > MAX_ENVS)
		return err_set(e, EXIT_INPUT, "%s: \"environments\": more than %d", source,
			       MAX_ENVS);
	if (n && !(c->envs = calloc(n, sizeof *c->envs)))
		return err_set(e, EXIT_INPUT, "out of memory");
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		char where[96];
		snprintf(where, sizeof where, "environments: %.63s: ", it->string);
		if (!name_ok(it->string))
			return err_set(e, EXIT_INPUT, "%s: environments: \"%.63s\": a name is "
						      "lowercase letters, digits, - and _", source,
				       it->string);
		if (!cJSON_IsObject(it))
			return err_set(e, EXIT_INPUT, "%s: %smust be an object", source, where);
		if (config_env(c, it->string))
			return err_set(e, EXIT_INPUT, "%s: %sgiven twice", source, where);
		struct config_env *v = &c->envs[c->nenvs++];
		v->lkg_after = -1;
		if (!(v->name = strdup(it->string)))
			return err_set(e, EXIT_INPUT, "out of memory");
		if ((rc = check_keys(it, keys, source, where, e)) ||
		    (rc = get_bool(it, "read_only", &v->read_only, source, where, e)) ||
		    (rc = get_string(it, "strategy", &v->strategy, source, where, e)) ||
		    (rc = get_duration(it, "last_known_good_after", &v->lkg_after, source, where,
				       e)))
			return rc;
		if (v->strategy && !strategy_known(v->strategy))
			return err_set(e, EXIT_INPUT, "%s: %s\"strategy\": \"%s\" is not rolling, "
						      "blue-green or canary", source, where,
				       v->strategy);
	}
	return 0;
}

static int load_endpoints(const cJSON *root, struct config *c, const char *source,
			  struct err *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "loadtest_endpoints");
	if (!a)
		return 0;
	int n = cJSON_GetArraySize(a);
	if (!cJSON_IsArray(a) || n > 64)
		return err_set(e, EXIT_INPUT, "%s: \"loadtest_endpoints\": must be a list of at "
					      "most 64 URLs", source);
	if (n && !(c->loadtest_endpoints = calloc((size_t)n, sizeof *c->loadtest_endpoints)))
		return err_set(e, EXIT_INPUT, "out of memory");
	const cJSON *it;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it) || !url_ok(it->valuestring))
			return err_set(e, EXIT_INPUT, "%s: \"loadtest_endpoints\": item %zu: must be "
						      "an http:// or https:// URL", source,
				       c->nloadtest_endpoints + 1);
		if (!(c->loadtest_endpoints[c->nloadtest_endpoints++] = strdup(it->valuestring)))
			return err_set(e, EXIT_INPUT, "out of memory");
	}
	return 0;
}

static void defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	c->lkg_after = CONFIG_LKG_AFTER_DEFAULT;
}

int config_parse(struct config *c, const char *text, size_t len, const char *source,
		 struct err *e)
{
	static const char *const keys[] = { "actor", "theme", "read_only", "registry",
					    "prometheus", "environments", "loadtest_endpoints",
					    NULL };
	defaults(c);
	cJSON *root = json_parse(text, len, source, e);
	if (!root)
		return e->code ? e->code : EXIT_INPUT;
	int rc;
	if (!cJSON_IsObject(root)) {
		rc = err_set(e, EXIT_INPUT, "%s: must be a JSON object", source);
		goto out;
	}
	if ((rc = check_keys(root, keys, source, "", e)) ||
	    (rc = get_string(root, "actor", &c->actor, source, "", e)) ||
	    (rc = get_string(root, "theme", &c->theme, source, "", e)) ||
	    (rc = get_bool(root, "read_only", &c->read_only, source, "", e)) ||
	    (rc = load_registry(root, c, source, e)) ||
	    (rc = load_prometheus(root, c, source, e)) ||
	    (rc = load_envs(root, c, source, e)) ||
	    (rc = load_endpoints(root, c, source, e)))
		goto out;
	if (c->actor && strlen(c->actor) > 128) {
		rc = err_set(e, EXIT_INPUT, "%s: \"actor\": longer than 128 bytes", source);
		goto out;
	}
	if (!(c->path = strdup(source)))
		rc = err_set(e, EXIT_INPUT, "out of memory");
out:
	cJSON_Delete(root);
	if (rc)
		config_finish(c);
	return rc;
}

int config_load_file(struct config *c, const char *path, bool must_exist, struct err *e)
{
	defaults(c);
	if (!path || (!must_exist && !fileio_exists(path)))
		return 0;
	char *text = NULL;
	size_t len = 0;
	int rc = fileio_read_all(path, 1u << 20, &text, &len, e);
	if (rc)
		return rc;
	rc = config_parse(c, text, len, path, e);
	free(text);
	return rc;
}

static void endpoint_finish(struct config_endpoint *ep)
{
	free(ep->url);
	free(ep->ca_file);
}

void config_finish(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->actor);
	free(c->theme);
	free(c->registry_backend);
	free(c->registry_model);
	endpoint_finish(&c->mlflow);
	endpoint_finish(&c->prometheus);
	for (size_t i = 0; i < c->nloadtest_endpoints; i++)
		free(c->loadtest_endpoints[i]);
	free(c->loadtest_endpoints);
	for (size_t i = 0; i < c->nenvs; i++) {
		free(c->envs[i].name);
		free(c->envs[i].strategy);
	}
	free(c->envs);
	defaults(c);
}

static const char *explicit_file;
static struct config current;
static bool current_ready;
static pthread_once_t current_once = PTHREAD_ONCE_INIT;
static struct err current_err;

void config_set_file(const char *path)
{
	explicit_file = path;
}

static const char *getenv_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Leaves CURRENT at the defaults whatever fails (config_load_file does). */
static void load_current(void)
{
	struct err *e = &current_err;
	const char *file = explicit_file ? explicit_file : getenv_set("CHURNOPS_CONFIG");
	char *path = NULL;
	defaults(&current);
	if (!file) {
		struct err ignored = {0};
		char *dir = paths_config_dir(&ignored);
		if (!dir) {
			current_ready = true; /* no directory: nothing configured */
			return;
		}
		if (asprintf(&path, "%s/config.json", dir) < 0)
			path = NULL;
		free(dir);
		if (!path) {
			err_set(e, EXIT_INPUT, "out of memory");
			return;
		}
	}
	current_ready = config_load_file(&current, file ? file : path, file != NULL, e) == 0;
	free(path);
}

int config_init(struct err *e)
{
	pthread_once(&current_once, load_current);
	if (current_ready)
		return 0;
	*e = current_err;
	return e->code ? e->code : EXIT_INPUT;
}

const struct config *config_current(void)
{
	pthread_once(&current_once, load_current);
	return &current;
}

const struct config_env *config_env(const struct config *c, const char *env)
{
	for (size_t i = 0; env && i < c->nenvs; i++)
		if (strcmp(c->envs[i].name, env) == 0)
			return &c->envs[i];
	return NULL;
}

const char *config_actor(const struct config *c, const char *given)
{
	if (given && *given)
		return given;
	const char *a = getenv_set("CHURNOPS_ACTOR");
	if (!a)
		a = c->actor;
	if (!a)
		a = getenv_set("USER");
	if (!a) {
		struct passwd *pw = getpwuid(getuid());
		a = pw && pw->pw_name ? pw->pw_name : "unknown";
	}
	return a;
}

bool config_read_only(const struct config *c, const char *env)
{
	const char *v = getenv_set("CHURNOPS_READ_ONLY");
	if (v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0)
		return true;
	if (c->read_only)
		return true;
	const struct config_env *ce = config_env(c, env);
	return ce && ce->read_only;
}

const char *config_strategy(const struct config *c, const char *env)
{
	const struct config_env *ce = config_env(c, env);
	return ce ? ce->strategy : NULL;
}

double config_lkg_after(const struct config *c, const char *env)
{
	const struct config_env *ce = config_env(c, env);
	return ce && ce->lkg_after >= 0 ? ce->lkg_after : c->lkg_after;
}

static bool env_true(const char *name)
{
	const char *v = getenv_set(name);
	return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

struct config_endpoint config_mlflow(const struct config *c)
{
	struct config_endpoint ep = c->mlflow;
	const char *v;
	if ((v = getenv_set("MLFLOW_TRACKING_URI")))
		ep.url = (char *)v;
	if ((v = getenv_set("MLFLOW_TRACKING_SERVER_CERT_PATH")))
		ep.ca_file = (char *)v;
	ep.insecure = ep.insecure || env_true("MLFLOW_TRACKING_INSECURE_TLS");
	return ep;
}

void config_prom_options(const struct config *c, struct prom_options *o)
{
	prom_options_from_env(o);
	if (!o->url)
		o->url = c->prometheus.url;
	if (!o->ca_file)
		o->ca_file = c->prometheus.ca_file;
	o->insecure = o->insecure || c->prometheus.insecure ||
		      env_true("PROMETHEUS_INSECURE_TLS");
}
