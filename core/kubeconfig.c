#include "kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "fileio.h"
#include "json.h"

extern char **environ;

#define EXEC_TIMEOUT_MS 60000
/* Aliases let a small YAML file name a huge tree ("billion laughs"): the
 * conversion stops after this many nodes. */
#define YAML_MAX_NODES 100000
#define EXEC_OUTPUT_MAX (1u << 20)
#define MAX_FILES 32

/* --- YAML -> cJSON ------------------------------------------------------- */

/* YAML 1.1 booleans, as Go's yaml.v2 reads an unquoted scalar into a bool. */
static int yaml_bool(const char *s)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES",
					   "on", "On", "ON", "y", "Y" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO",
					  "off", "Off", "OFF", "n", "N" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strcmp(s, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strcmp(s, no[i]) == 0)
			return 0;
	return -1;
}

static cJSON *node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth,
			   size_t *budget)
{
	if (!node || depth > JSON_MAX_DEPTH || *budget == 0)
		return NULL;
	(*budget)--;
	switch (node->type) {
	case YAML_SCALAR_NODE: {
		const char *v = (const char *)node->data.scalar.value;
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			int b = yaml_bool(v);
			if (b >= 0)
				return cJSON_CreateBool(b);
			if (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
			    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)
				return cJSON_CreateNull();
		}
		return cJSON_CreateString(v);
	}
	case YAML_SEQUENCE_NODE: {
		cJSON *arr = cJSON_CreateArray();
		for (yaml_node_item_t *it = node->data.sequence.items.start;
		     arr && it < node->data.sequence.items.top; it++) {
			cJSON *child = node_to_json(doc, yaml_document_get_node(doc, *it), depth + 1,
						    budget);
			if (!child) {
				cJSON_Delete(arr);
				return NULL;
			}
			cJSON_AddItemToArray(arr, child);
		}
		return arr;
	}
	case YAML_MAPPING_NODE: {
		cJSON *obj = cJSON_CreateObject();
		for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
		     obj && p < node->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE) {
				cJSON_Delete(obj);
				return NULL;
			}
			cJSON *child = node_to_json(doc, yaml_document_get_node(doc, p->value),
						    depth + 1, budget);
			if (!child) {
				cJSON_Delete(obj);
				return NULL;
			}
			const char *key = (const char *)k->data.scalar.value;
			/* Duplicate keys: the last one wins, as in Go's decoder. */
			cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
			cJSON_AddItemToObject(obj, key, child);
		}
		return obj;
	}
	default:
		return NULL;
	}
}

/* Parses PATH as YAML (JSON being YAML too) into a cJSON tree. An empty file
 * is an empty object, as kubectl treats it. */
static cJSON *load_yaml_file(const char *path, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	if (fileio_read_all(path, KUBECONFIG_MAX_FILE, &text, &len, e) != 0) {
		err_prefix(e, "kubeconfig");
		return NULL;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	cJSON *root = NULL;
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		err_set(e, EXIT_INPUT, "%s: cannot start the YAML parser", path);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err_set(e, EXIT_INPUT, "kubeconfig %s: line %zu, column %zu: %s", path,
			parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "not valid YAML");
		goto out_parser;
	}
	yaml_node_t *top = yaml_document_get_root_node(&doc);
	if (!top) {
		root = cJSON_CreateObject();
	} else {
		size_t budget = YAML_MAX_NODES;
		root = node_to_json(&doc, top, 0, &budget);
		if (!root)
			err_set(e, EXIT_INPUT,
				"kubeconfig %s: unsupported YAML (non-scalar keys, nesting deeper than %d "
				"or more than %d nodes once aliases are expanded)",
				path, JSON_MAX_DEPTH, YAML_MAX_NODES);
		else if (!cJSON_IsObject(root)) {
			cJSON_Delete(root);
			root = NULL;
			err_set(e, EXIT_INPUT, "kubeconfig %s: the top level is not a mapping", path);
		}
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(text);
	return root;
}

/* --- small helpers ------------------------------------------------------- */

static const char *str_at(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static bool bool_at(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	return cJSON_IsString(v) && yaml_bool(v->valuestring) == 1;
}

static char *xstrdup(const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* PATH made absolute against the directory of the file that named it. */
static char *resolve_path(const char *file, const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/')
		return strdup(path);
	if (path[0] == '~' && path[1] == '/' && getenv("HOME")) {
		char *r = NULL;
		if (asprintf(&r, "%s%s", getenv("HOME"), path + 1) < 0)
			return NULL;
		return r;
	}
	char *dir = dir_of(file);
	char *r = NULL;
	if (dir && asprintf(&r, "%s/%s", dir, path) < 0)
		r = NULL;
	free(dir);
	return r;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static char *b64_encode(const char *p, size_t n)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)p[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)p[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* Standard base64 (whitespace ignored, padding optional). Returns a
 * NUL-terminated buffer the caller frees, or NULL if S is not base64. */
static char *b64_decode(const char *s, size_t *out_len)
{
	size_t n = strlen(s);
	char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		int v = b64_value(c);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* --- merging ------------------------------------------------------------- */

struct named {
	const char *name;
	const cJSON *body; /* the "cluster", "user" or "context" mapping */
	const char *file;
};

struct merged {
	cJSON *trees[MAX_FILES];
	char *files[MAX_FILES];
	size_t nfiles;
	const char *current;      /* current-context */
	const char *current_file;
	struct named *clusters, *users, *contexts;
	size_t nclusters, nusers, ncontexts;
};

static void merged_finish(struct merged *m)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		cJSON_Delete(m->trees[i]);
		free(m->files[i]);
	}
	free(m->clusters);
	free(m->users);
	free(m->contexts);
	memset(m, 0, sizeof *m);
}

static const struct named *find_named(const struct named *list, size_t n,
				      const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

/* Adds the entries of one file's LIST_KEY ("clusters") whose names are new:
 * the first file that defines a name wins. */
static int merge_list(struct named **list, size_t *n, const cJSON *tree,
		      const char *list_key, const char *body_key, const char *file,
		      struct err *e)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(tree, list_key);
	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return err_set(e, EXIT_INPUT, "kubeconfig %s: %s is not a list", file, list_key);
	const cJSON *item;
	cJSON_ArrayForEach(item, arr) {
		const char *name = str_at(item, "name");
		if (!name)
			return err_set(e, EXIT_INPUT, "kubeconfig %s: an entry of %s has no name",
				       file, list_key);
		if (find_named(*list, *n, name))
			continue;
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(item, body_key);
		struct named *nl = realloc(*list, (*n + 1) * sizeof **list);
		if (!nl)
			return err_set(e, EXIT_INPUT, "out of memory");
		*list = nl;
		nl[*n].name = name;
		nl[*n].body = cJSON_IsObject(body) ? body : NULL;
		nl[*n].file = file;
		(*n)++;
	}
	return 0;
}

static int merge_file(struct merged *m, const char *path, struct err *e)
{
	if (m->nfiles == MAX_FILES)
		return err_set(e, EXIT_INPUT, "KUBECONFIG: more than %d files", MAX_FILES);
	cJSON *tree = load_yaml_file(path, e);
	if (!tree)
		return e && e->code ? e->code : EXIT_INPUT;
	char *copy = strdup(path);
	if (!copy) {
		cJSON_Delete(tree);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	m->trees[m->nfiles] = tree;
	m->files[m->nfiles] = copy;
	m->nfiles++;
	if (!m->current) {
		m->current = str_at(tree, "current-context");
		if (m->current)
			m->current_file = copy;
	}
	int rc = merge_list(&m->clusters, &m->nclusters, tree, "clusters", "cluster", copy, e);
	if (!rc)
		rc = merge_list(&m->users, &m->nusers, tree, "users", "user", copy, e);
	if (!rc)
		rc = merge_list(&m->contexts, &m->ncontexts, tree, "contexts", "context", copy, e);
	return rc;
}

/* The files to read, in precedence order, per kubectl's loading rules. */
static int load_files(const struct kubeconfig_options *o, struct merged *m,
		      bool *none_found, struct err *e)
{
	*none_found = false;
	if (o->file) {
		if (!fileio_exists(o->file))
			return err_set(e, EXIT_INPUT, "--kubeconfig %s: no such file", o->file);
		return merge_file(m, o->file, e);
	}
	const char *env = getenv("KUBECONFIG");
	if (env && env[0]) {
		char *list = strdup(env);
		if (!list)
			return err_set(e, EXIT_INPUT, "out of memory");
		int rc = 0;
		char *save = NULL;
		for (char *p = strtok_r(list, ":", &save); p && !rc; p = strtok_r(NULL, ":", &save)) {
			bool dup = false;
			for (size_t i = 0; i < m->nfiles; i++)
				dup |= strcmp(m->files[i], p) == 0;
			if (!dup && fileio_exists(p))
				rc = merge_file(m, p, e);
		}
		free(list);
		if (rc)
			return rc;
		*none_found = m->nfiles == 0;
		return 0;
	}
	const char *home = getenv("HOME");
	if (home) {
		char *path = NULL;
		if (asprintf(&path, "%s/.kube/config", home) < 0)
			return err_set(e, EXIT_INPUT, "out of memory");
		int rc = 0;
		if (fileio_exists(path))
			rc = merge_file(m, path, e);
		free(path);
		if (rc)
			return rc;
	}
	*none_found = m->nfiles == 0;
	return 0;
}

/* --- resolution ---------------------------------------------------------- */

static void exec_free(struct kubeconfig_exec *x)
{
	if (!x)
		return;
	free(x->api_version);
	free(x->command);
	for (char **p = x->argv; p && *p; p++)
		free(*p);
	free(x->argv);
	for (char **p = x->env; p && *p; p++)
		free(*p);
	free(x->env);
	free(x->install_hint);
	free(x);
}

static void free_secret(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = '\0';
		free(s);
	}
}

static void tls_finish(struct http_tls *t)
{
	free((char *)t->ca_file);
	free((char *)t->ca_data);
	free((char *)t->cert_file);
	free((char *)t->cert_data);
	free((char *)t->key_file);
	if (t->key_data) {
		memset((char *)t->key_data, 0, t->key_len);
		free((char *)t->key_data);
	}
	memset(t, 0, sizeof *t);
}

void kubeconfig_destroy(struct kubeconfig *kc)
{
	if (!kc)
		return;
	free(kc->context);
	free(kc->file);
	free(kc->cluster);
	free(kc->user);
	free(kc->server);
	free(kc->namespace);
	tls_finish(&kc->tls);
	free_secret(kc->token);
	free(kc->token_file);
	free(kc->username);
	free_secret(kc->password);
	exec_free(kc->exec);
	free(kc);
}

const char *kubeconfig_where(const struct kubeconfig *kc, char *buf, size_t size)
{
	snprintf(buf, size, "context \"%s\" in %s", kc->context ? kc->context : "?",
		 kc->file ? kc->file : "?");
	return buf;
}

/* Reads a certificate or key: inline base64 DATA wins over a FILE. */
static int load_pem(const char *ctx, const char *file, const cJSON *body,
		    const char *data_key, const char *file_key, const char **out_data,
		    size_t *out_len, const char **out_file, struct err *e)
{
	const char *data = str_at(body, data_key);
	if (data) {
		size_t n = 0;
		char *dec = b64_decode(data, &n);
		if (!dec)
			return err_set(e, EXIT_INPUT,
				       "kubeconfig %s: context \"%s\": %s is not valid base64",
				       file, ctx, data_key);
		*out_data = dec;
		*out_len = n;
		return 0;
	}
	const char *path = str_at(body, file_key);
	if (path) {
		char *abs = resolve_path(file, path);
		if (!abs)
			return err_set(e, EXIT_INPUT, "out of memory");
		if (access(abs, R_OK) != 0) {
			int rc = err_errno(e, EXIT_INPUT, errno,
					   "kubeconfig %s: context \"%s\": %s %s", file, ctx,
					   file_key, abs);
			free(abs);
			return rc;
		}
		*out_file = abs;
	}
	return 0;
}

/* Reads a token file: the whole file, trailing whitespace trimmed. */
static int read_token_file(const char *path, char **out, const char *where,
			   struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	struct err fe;
	err_clear(&fe);
	if (fileio_read_all(path, 1u << 20, &text, &len, &fe) != 0)
		return err_set(e, EXIT_INPUT, "%s: token file: %s", where, fe.msg);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			   text[len - 1] == ' ' || text[len - 1] == '\t'))
		text[--len] = '\0';
	if (len == 0) {
		free(text);
		return err_set(e, EXIT_INPUT, "%s: token file %s is empty", where, path);
	}
	*out = text;
	return 0;
}

static char **string_list(const cJSON *arr, const char *first, bool *oom)
{
	size_t n = (size_t)cJSON_GetArraySize(arr) + (first ? 1 : 0);
	char **v = calloc(n + 1, sizeof *v);
	if (!v) {
		*oom = true;
		return NULL;
	}
	size_t i = 0;
	if (first)
		v[i++] = xstrdup(first, oom);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			v[i++] = xstrdup(it->valuestring, oom);
	return v;
}

static int parse_exec(struct kubeconfig *kc, const cJSON *x, struct err *e)
{
	char where[512];
	kubeconfig_where(kc, where, sizeof where);
	const char *api = str_at(x, "apiVersion");
	const char *cmd = str_at(x, "command");
	if (!cmd)
		return err_set(e, EXIT_INPUT, "kubeconfig %s: user \"%s\": exec has no command",
			       kc->file, kc->user);
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1") != 0))
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: user \"%s\": exec apiVersion %s%s%s is not supported "
			       "(client.authentication.k8s.io/v1 or v1beta1)",
			       kc->file, kc->user, api ? "\"" : "", api ? api : "missing",
			       api ? "\"" : "");
	bool oom = false;
	struct kubeconfig_exec *ex = calloc(1, sizeof *ex);
	if (!ex)
		return err_set(e, EXIT_INPUT, "out of memory");
	kc->exec = ex;
	ex->api_version = xstrdup(api, &oom);
	/* client-go resolves a command with a path separator against the
	 * kubeconfig's directory and leaves a bare name to PATH. */
	ex->command = strchr(cmd, '/') ? resolve_path(kc->file, cmd) : xstrdup(cmd, &oom);
	oom |= ex->command == NULL;
	ex->argv = string_list(cJSON_GetObjectItemCaseSensitive(x, "args"), ex->command, &oom);
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(x, "env");
	size_t nenv = (size_t)cJSON_GetArraySize(env);
	ex->env = calloc(nenv + 1, sizeof *ex->env);
	oom |= ex->env == NULL;
	size_t i = 0;
	const cJSON *it;
	if (ex->env) {
		cJSON_ArrayForEach(it, env) {
			const char *n = str_at(it, "name");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
			if (!n)
				return err_set(e, EXIT_INPUT,
					       "kubeconfig %s: user \"%s\": an exec env entry has no name",
					       kc->file, kc->user);
			if (asprintf(&ex->env[i], "%s=%s", n,
				     cJSON_IsString(v) ? v->valuestring : "") < 0) {
				ex->env[i] = NULL;
				oom = true;
				break;
			}
			i++;
		}
	}
	ex->install_hint = xstrdup(str_at(x, "installHint"), &oom);
	ex->provide_cluster_info = bool_at(x, "provideClusterInfo");
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	/* churnops never lends the plugin a terminal: the console owns it. */
	const char *mode = str_at(x, "interactiveMode");
	if (mode && strcmp(mode, "Always") == 0)
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: user \"%s\": exec plugin %s needs a terminal "
			       "(interactiveMode: Always), which churnops cannot give it; log in "
			       "with the plugin first or use a non-interactive mode",
			       kc->file, kc->user, ex->command);
	return 0;
}

static int resolve_context(struct kubeconfig *kc, const struct merged *m,
			   const char *name, struct err *e)
{
	bool oom = false;
	const struct named *ctx = find_named(m->contexts, m->ncontexts, name);
	if (!ctx) {
		if (m->nfiles == 1)
			return err_set(e, EXIT_INPUT, "kubeconfig %s: context \"%s\" not found",
				       m->files[0], name);
		return err_set(e, EXIT_INPUT,
			       "kubeconfig: context \"%s\" not found in any of %zu files (%s, ...)",
			       name, m->nfiles, m->files[0]);
	}
	kc->context = xstrdup(name, &oom);
	kc->file = xstrdup(ctx->file, &oom);
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	if (!ctx->body)
		return err_set(e, EXIT_INPUT, "kubeconfig %s: context \"%s\" has no settings",
			       ctx->file, name);
	const char *cname = str_at(ctx->body, "cluster");
	const char *uname = str_at(ctx->body, "user");
	if (!cname)
		return err_set(e, EXIT_INPUT, "kubeconfig %s: context \"%s\" names no cluster",
			       ctx->file, name);
	const struct named *cl = find_named(m->clusters, m->nclusters, cname);
	if (!cl || !cl->body)
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": cluster \"%s\" not found",
			       ctx->file, name, cname);
	kc->cluster = xstrdup(cname, &oom);
	kc->namespace = xstrdup(str_at(ctx->body, "namespace") ? str_at(ctx->body, "namespace")
				: "default", &oom);
	const char *server = str_at(cl->body, "server");
	if (!server)
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": cluster \"%s\" has no server",
			       cl->file, name, cname);
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": cluster \"%s\": server \"%s\" is not an http(s) URL",
			       cl->file, name, cname, server);
	kc->server = xstrdup(server, &oom);
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	size_t sl = strlen(kc->server);
	while (sl > 8 && kc->server[sl - 1] == '/')
		kc->server[--sl] = '\0';
	kc->plain_http = strncmp(server, "http://", 7) == 0;
	kc->tls.insecure = bool_at(cl->body, "insecure-skip-tls-verify");
	int rc = load_pem(name, cl->file, cl->body, "certificate-authority-data",
			  "certificate-authority", &kc->tls.ca_data, &kc->tls.ca_len,
			  &kc->tls.ca_file, e);
	if (rc)
		return rc;
	if (!uname)
		return 0; /* no credentials: anonymous, or kubectl proxy */
	const struct named *u = find_named(m->users, m->nusers, uname);
	if (!u)
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": user \"%s\" not found",
			       ctx->file, name, uname);
	kc->user = xstrdup(uname, &oom);
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	if (!u->body)
		return 0;
	rc = load_pem(name, u->file, u->body, "client-certificate-data", "client-certificate",
		      &kc->tls.cert_data, &kc->tls.cert_len, &kc->tls.cert_file, e);
	if (!rc)
		rc = load_pem(name, u->file, u->body, "client-key-data", "client-key",
			      &kc->tls.key_data, &kc->tls.key_len, &kc->tls.key_file, e);
	if (rc)
		return rc;
	if ((kc->tls.cert_data || kc->tls.cert_file) != (kc->tls.key_data || kc->tls.key_file))
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": user \"%s\" has a client certificate "
			       "without its key, or a key without its certificate",
			       u->file, name, uname);
	/* As in client-go, a tokenFile wins over a token: it is the one that
	 * rotates. */
	const char *token = str_at(u->body, "token");
	const char *token_file = str_at(u->body, "tokenFile");
	if (!token_file && token) {
		kc->token = xstrdup(token, &oom);
	} else if (token_file) {
		kc->token_file = resolve_path(u->file, token_file);
		oom |= kc->token_file == NULL;
		if (!oom) {
			char where[600];
			snprintf(where, sizeof where, "kubeconfig %s: context \"%s\": user \"%s\"",
				 u->file, name, uname);
			rc = read_token_file(kc->token_file, &kc->token, where, e);
			if (rc)
				return rc;
			kc->token_read = time(NULL);
		}
	}
	kc->username = xstrdup(str_at(u->body, "username"), &oom);
	kc->password = xstrdup(str_at(u->body, "password"), &oom);
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(u->body, "exec");
	if (cJSON_IsObject(x)) {
		char *saved = kc->file;
		kc->file = (char *)u->file; /* exec paths resolve against the user's file */
		rc = parse_exec(kc, x, e);
		kc->file = saved;
		if (rc)
			return rc;
	}
	if (cJSON_GetObjectItemCaseSensitive(u->body, "auth-provider"))
		return err_set(e, EXIT_INPUT,
			       "kubeconfig %s: context \"%s\": user \"%s\" uses an auth-provider, "
			       "which kubectl itself no longer supports; use an exec plugin",
			       u->file, name, uname);
	return 0;
}

static int load_in_cluster(struct kubeconfig *kc, const char *sa_dir, struct err *e)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	bool oom = false;
	kc->context = xstrdup("in-cluster", &oom);
	kc->file = xstrdup(sa_dir, &oom);
	if (oom)
		return err_set(e, EXIT_INPUT, "out of memory");
	/* An IPv6 host needs brackets in the URL. */
	bool v6 = strchr(host, ':') != NULL;
	if (asprintf(&kc->server, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
		     port) < 0) {
		kc->server = NULL;
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	kc->in_cluster = true;
	char *token_file = NULL, *ca_file = NULL;
	if (asprintf(&token_file, "%s/token", sa_dir) < 0)
		token_file = NULL;
	if (asprintf(&ca_file, "%s/ca.crt", sa_dir) < 0)
		ca_file = NULL;
	kc->token_file = token_file;
	kc->tls.ca_file = ca_file;
	if (!token_file || !ca_file)
		return err_set(e, EXIT_INPUT, "out of memory");
	char where[600];
	snprintf(where, sizeof where, "in-cluster service account %s", sa_dir);
	int rc = read_token_file(kc->token_file, &kc->token, where, e);
	if (rc)
		return rc;
	kc->token_read = time(NULL);
	if (access(kc->tls.ca_file, R_OK) != 0)
		return err_errno(e, EXIT_INPUT, errno, "%s: CA %s", where, kc->tls.ca_file);
	char *ns_path = NULL;
	char *ns = NULL;
	size_t len = 0;
	struct err ignored;
	if (asprintf(&ns_path, "%s/namespace", sa_dir) < 0)
		return err_set(e, EXIT_INPUT, "out of memory");
	if (fileio_read_all(ns_path, 4096, &ns, &len, &ignored) == 0) {
		while (len > 0 && (ns[len - 1] == '\n' || ns[len - 1] == ' '))
			ns[--len] = '\0';
	}
	free(ns_path);
	if (!ns || !ns[0]) {
		free(ns);
		ns = strdup("default");
	}
	kc->namespace = ns;
	return kc->namespace ? 0 : err_set(e, EXIT_INPUT, "out of memory");
}

int kubeconfig_load(const struct kubeconfig_options *o, struct kubeconfig **out,
		    struct err *e)
{
	struct merged m;
	memset(&m, 0, sizeof m);
	*out = NULL;
	struct kubeconfig *kc = calloc(1, sizeof *kc);
	if (!kc)
		return err_set(e, EXIT_INPUT, "out of memory");
	bool none = false;
	int rc = load_files(o, &m, &none, e);
	if (rc)
		goto out;
	if (none) {
		const char *sa_dir = o->sa_dir ? o->sa_dir : KUBECONFIG_SA_DIR;
		if (getenv("KUBERNETES_SERVICE_HOST") && getenv("KUBERNETES_SERVICE_PORT") &&
		    !o->context) {
			rc = load_in_cluster(kc, sa_dir, e);
			goto out;
		}
		const char *env = getenv("KUBECONFIG");
		rc = err_set(e, EXIT_INPUT,
			     "no kubeconfig: %s%s%s and not running in a cluster "
			     "(give --kubeconfig, set KUBECONFIG or create ~/.kube/config)",
			     env && env[0] ? "no file of KUBECONFIG=" : "~/.kube/config does not exist",
			     env && env[0] ? env : "", env && env[0] ? " exists" : "");
		goto out;
	}
	const char *name = o->context ? o->context : m.current;
	if (!name) {
		rc = err_set(e, EXIT_INPUT,
			     "kubeconfig %s%s: no current-context is set; pass --context "
			     "(kubectl config get-contexts lists them)",
			     m.files[0], m.nfiles > 1 ? " (and the other KUBECONFIG files)" : "");
		goto out;
	}
	rc = resolve_context(kc, &m, name, e);
out:
	merged_finish(&m);
	if (rc) {
		kubeconfig_destroy(kc);
		return rc;
	}
	*out = kc;
	return 0;
}

void kubeconfig_http_options(const struct kubeconfig *kc, struct http_options *o)
{
	o->tls = kc->tls;
	o->bearer = NULL;
	o->basic_user = NULL;
	o->basic_password = NULL;
	if (kc->plain_http) {
		/* kubectl sends no credentials over plain http, and neither do
		 * we: the typical plain-http server is kubectl proxy, which adds
		 * its own. */
		o->tls.cert_data = o->tls.cert_file = NULL;
		o->tls.key_data = o->tls.key_file = NULL;
		return;
	}
	if (kc->token)
		o->bearer = kc->token;
	else if (kc->username) {
		o->basic_user = kc->username;
		o->basic_password = kc->password;
	}
}

/* --- exec credential plugins --------------------------------------------- */

/* RFC 3339 to epoch seconds; fractional seconds are dropped. */
static bool parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	int consumed = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	const char *p = s + consumed;
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return false;
		offset = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	*out = timegm(&tm) - offset;
	return true;
}

/* Runs ARGV with ENV added to ours; collects stdout and stderr (each capped).
 * Returns 0 with *STATUS the exit status, or an errno. */
static int run_plugin(char **argv, char **env, char **out, size_t *out_len,
		      char **errout, int *status)
{
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	size_t nenv = 0, nadd = 0;
	while (environ[nenv])
		nenv++;
	while (env && env[nadd])
		nadd++;
	char **envp = calloc(nenv + nadd + 1, sizeof *envp);
	int rc = 0;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;
	*out = NULL;
	*errout = NULL;
	*out_len = 0;
	if (!envp)
		return ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++) {
		/* An entry the plugin config sets replaces ours. */
		bool shadowed = false;
		for (size_t j = 0; j < nadd && !shadowed; j++) {
			size_t nl = strcspn(env[j], "=");
			shadowed = strncmp(environ[i], env[j], nl) == 0 && environ[i][nl] == '=';
		}
		if (!shadowed)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < nadd; j++)
		envp[k++] = env[j];
	if (pipe2(op, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
		rc = errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	fa_init = true;
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	close(op[1]);
	close(ep[1]);
	op[1] = ep[1] = -1;
	if (rc != 0) {
		pid = -1;
		goto out;
	}
	char *bufs[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 };
	struct pollfd pf[2] = { { op[0], POLLIN, 0 }, { ep[0], POLLIN, 0 } };
	int open_fds = 2;
	long waited = 0;
	while (open_fds > 0) {
		int n = poll(pf, 2, 250);
		if (n < 0 && errno != EINTR) {
			rc = errno;
			break;
		}
		if (n == 0) {
			waited += 250;
			if (waited >= EXEC_TIMEOUT_MS) {
				kill(pid, SIGKILL);
				rc = ETIMEDOUT;
				break;
			}
			continue;
		}
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char chunk[4096];
			ssize_t got = read(pf[i].fd, chunk, sizeof chunk);
			if (got <= 0) {
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			if (lens[i] + (size_t)got > EXEC_OUTPUT_MAX)
				continue; /* keep draining, drop the excess */
			char *nb = realloc(bufs[i], lens[i] + (size_t)got + 1);
			if (!nb)
				continue;
			memcpy(nb + lens[i], chunk, (size_t)got);
			lens[i] += (size_t)got;
			nb[lens[i]] = '\0';
			bufs[i] = nb;
		}
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = st;
	*out = bufs[0];
	*out_len = lens[0];
	*errout = bufs[1];
out:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	free(envp);
	return rc;
}

/* The last non-empty line of a plugin's stderr, sanitised, for a message. */
static void last_line(const char *text, char *buf, size_t size)
{
	buf[0] = '\0';
	if (!text)
		return;
	const char *end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > text && start[-1] != '\n')
		start--;
	size_t o = 0;
	for (const char *p = start; p < end && o + 1 < size; p++)
		buf[o++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
	buf[o] = '\0';
}

/* "KUBERNETES_EXEC_INFO=..." for the plugin's environment: the protocol
 * version, that nobody can answer a prompt, and with provideClusterInfo the
 * cluster (server, CA, insecure flag) as client-go passes it. */
static char *exec_info(const struct kubeconfig *kc)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "apiVersion", kc->exec->api_version);
	cJSON_AddStringToObject(root, "kind", "ExecCredential");
	cJSON *spec = cJSON_AddObjectToObject(root, "spec");
	cJSON_AddBoolToObject(spec, "interactive", false);
	if (kc->exec->provide_cluster_info) {
		cJSON *cl = cJSON_AddObjectToObject(spec, "cluster");
		cJSON_AddStringToObject(cl, "server", kc->server);
		if (kc->tls.insecure)
			cJSON_AddBoolToObject(cl, "insecure-skip-tls-verify", true);
		char *ca = NULL, *b64 = NULL;
		size_t len = 0;
		struct err ignored;
		if (kc->tls.ca_data)
			b64 = b64_encode(kc->tls.ca_data, kc->tls.ca_len);
		else if (kc->tls.ca_file &&
			 fileio_read_all(kc->tls.ca_file, 1u << 20, &ca, &len, &ignored) == 0)
			b64 = b64_encode(ca, len);
		if (b64)
			cJSON_AddStringToObject(cl, "certificate-authority-data", b64);
		free(ca);
		free(b64);
	}
	char *json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	char *env = NULL;
	if (json && asprintf(&env, "KUBERNETES_EXEC_INFO=%s", json) < 0)
		env = NULL;
	free(json);
	return env;
}

static int run_exec(struct kubeconfig *kc, bool *changed, struct err *e)
{
	struct kubeconfig_exec *x = kc->exec;
	char where[600];
	snprintf(where, sizeof where, "kubeconfig %s: context \"%s\": user \"%s\": exec plugin %s",
		 kc->file, kc->context, kc->user, x->command);
	char *info = exec_info(kc);
	if (!info)
		return err_set(e, EXIT_BACKEND, "out of memory");
	size_t n = 0;
	while (x->env[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	if (!env) {
		free(info);
		return err_set(e, EXIT_BACKEND, "out of memory");
	}
	memcpy(env, x->env, n * sizeof *env);
	env[n] = info;
	char *out = NULL, *errout = NULL;
	size_t out_len = 0;
	int status = 0;
	int sys = run_plugin(x->argv, env, &out, &out_len, &errout, &status);
	free(env);
	free(info);
	int rc = 0;
	cJSON *cred = NULL;
	char tail[256];
	last_line(errout, tail, sizeof tail);
	if (sys == ENOENT) {
		rc = err_set(e, EXIT_BACKEND, "%s: command not found%s%s", where,
			     x->install_hint ? ": " : "", x->install_hint ? x->install_hint : "");
		goto out;
	}
	if (sys == ETIMEDOUT) {
		rc = err_set(e, EXIT_BACKEND, "%s: no answer within %d s", where,
			     EXEC_TIMEOUT_MS / 1000);
		goto out;
	}
	if (sys) {
		rc = err_errno(e, EXIT_BACKEND, sys, "%s", where);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		rc = err_set(e, EXIT_BACKEND, "%s: %s %d%s%s", where,
			     WIFEXITED(status) ? "exited with status" : "killed by signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			     tail[0] ? ": " : "", tail);
		goto out;
	}
	struct err pe;
	err_clear(&pe);
	cred = json_parse(out ? out : "", out_len, "ExecCredential", &pe);
	if (!cred) {
		rc = err_set(e, EXIT_BACKEND, "%s: its output is not an ExecCredential (%s)", where,
			     pe.msg);
		goto out;
	}
	const char *kind = json_str(cred, "kind");
	const char *api = json_str(cred, "apiVersion");
	if (!kind || strcmp(kind, "ExecCredential") != 0 || !api ||
	    strcmp(api, x->api_version) != 0) {
		rc = err_set(e, EXIT_BACKEND, "%s: answered kind %s, apiVersion %s; wanted "
			     "ExecCredential, %s", where, kind ? kind : "(none)", api ? api : "(none)",
			     x->api_version);
		goto out;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(cred, "status");
	const char *token = json_str(st, "token");
	const char *cert = json_str(st, "clientCertificateData");
	const char *key = json_str(st, "clientKeyData");
	const char *exp = json_str(st, "expirationTimestamp");
	if (!token && !(cert && key)) {
		rc = err_set(e, EXIT_BACKEND,
			     "%s: the ExecCredential has neither status.token nor "
			     "status.clientCertificateData and clientKeyData", where);
		goto out;
	}
	time_t expiry = 0;
	if (exp && !parse_rfc3339(exp, &expiry)) {
		rc = err_set(e, EXIT_BACKEND, "%s: expirationTimestamp \"%s\" is not RFC 3339",
			     where, exp);
		goto out;
	}
	bool differs = !kc->exec_done || (token && (!kc->token || strcmp(token, kc->token) != 0));
	if (token) {
		char *copy = strdup(token);
		if (!copy) {
			rc = err_set(e, EXIT_BACKEND, "out of memory");
			goto out;
		}
		free_secret(kc->token);
		kc->token = copy;
	}
	if (cert && key) {
		/* Plugin certificates are PEM text, not base64. */
		char *c2 = strdup(cert), *k2 = strdup(key);
		if (!c2 || !k2) {
			free(c2);
			free_secret(k2);
			rc = err_set(e, EXIT_BACKEND, "out of memory");
			goto out;
		}
		free((char *)kc->tls.cert_data);
		free((char *)kc->tls.cert_file);
		if (kc->tls.key_data)
			memset((char *)kc->tls.key_data, 0, kc->tls.key_len);
		free((char *)kc->tls.key_data);
		free((char *)kc->tls.key_file);
		kc->tls.cert_file = kc->tls.key_file = NULL;
		kc->tls.cert_data = c2;
		kc->tls.cert_len = strlen(c2);
		kc->tls.key_data = k2;
		kc->tls.key_len = strlen(k2);
		differs = true;
	}
	kc->token_expiry = expiry;
	kc->exec_done = true;
	if (changed)
		*changed = differs;
out:
	cJSON_Delete(cred);
	if (out) {
		memset(out, 0, out_len);
		free(out);
	}
	free(errout);
	return rc;
}

int kubeconfig_refresh(struct kubeconfig *kc, bool force, bool *changed,
		       struct err *e)
{
	if (changed)
		*changed = false;
	if (kc->plain_http)
		return 0;
	time_t now = time(NULL);
	if (kc->exec) {
		/* A token is used until a few seconds before it expires. */
		bool stale = !kc->exec_done || force ||
			     (kc->token_expiry && now + 10 >= kc->token_expiry);
		return stale ? run_exec(kc, changed, e) : 0;
	}
	if (kc->token_file &&
	    (force || now - kc->token_read >= KUBECONFIG_TOKEN_REREAD_SECONDS)) {
		char where[600];
		char *fresh = NULL;
		kubeconfig_where(kc, where, sizeof where);
		int rc = read_token_file(kc->token_file, &fresh, where, e);
		if (rc)
			return e ? (e->code = EXIT_BACKEND) : EXIT_BACKEND;
		kc->token_read = now;
		if (!kc->token || strcmp(fresh, kc->token) != 0) {
			free_secret(kc->token);
			kc->token = fresh;
			if (changed)
				*changed = true;
		} else {
			free_secret(fresh);
		}
	}
	return 0;
}
