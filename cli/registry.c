/* churnops registry and churnops status: the model registry from the
 * command line (core/registry.h does the work).
 *
 *   registry list | show [V] | register --model DIR --version V
 *            | stage V STAGE | alias set NAME V | alias delete NAME
 *            | tag V KEY VALUE | history | rollback-target previous|rollback|V
 *   status
 *
 * The back end is the embedded store unless --backend mlflow (or
 * --tracking-uri) says otherwise; MLflow's URI and credentials come from
 * the conventional MLFLOW_TRACKING_* variables, the URI also from
 * --tracking-uri. Text that came from a server or a file is sanitised before
 * it is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "envs.h"
#include "fileio.h"
#include "json.h"
#include "kube.h"
#include "kubeconfig.h"
#include "lkg.h"
#include "model.h"
#include "registry.h"
#include "sanitize.h"
#include "schema.h"
#include "store.h"

#define COMMON_OPTIONS \
	{ "backend", "sqlite|mlflow", "registry back end (default mlflow when a tracking URI is known, else sqlite, the embedded store)" }, \
	{ "tracking-uri", "URI", "MLflow tracking server (default $MLFLOW_TRACKING_URI); implies --backend mlflow" }, \
	{ "name", "MODEL", "registered model name (default churn)" }, \
	{ "timeout", "SECONDS", "MLflow request timeout (default 30)" }, \
	{ "page-size", "N", "MLflow search page size (default 100)" }, \
	{ "json", NULL, "print JSON" }

static const struct cli_option registry_options[] = {
	COMMON_OPTIONS,
	{ "model", "DIR|FILE", "register: model directory, or model file with --schema" },
	{ "schema", "FILE", "register: the schema of a model file" },
	{ "version", "V", "register: the version label, e.g. 1.2.0" },
	{ "description", "TEXT", "register: a description" },
	{ "actor", "NAME", "who acts, for the history (default $CHURNOPS_ACTOR, else the OS user)" },
	{ "reason", "TEXT", "why, for the history" },
	{ "override", NULL, "stage production: allow a checklist verdict other than pass (needs --reason)" },
	{ NULL, NULL, NULL },
};

static const struct cli_option status_options[] = {
	COMMON_OPTIONS,
	{ "env", "ENV", "cluster: only this environment (default: all)" },
	{ "kubeconfig", "FILE", "cluster: kubeconfig (default $KUBECONFIG, else ~/.kube/config)" },
	{ "context", "NAME", "cluster: kubeconfig context (default: the current one)" },
	{ NULL, NULL, NULL },
};

static int run_registry(int argc, char **argv);
static int run_status(int argc, char **argv);

const struct cli_command cli_registry_command = {
	.name = "registry",
	.synopsis = "list | show [V] | register --model DIR --version V | stage V staging|production|archived"
		    " | alias set NAME V | alias delete NAME | tag V KEY VALUE | history"
		    " | rollback-target previous|rollback|V"
		    " [OPTIONS]",
	.summary = "the model registry: versions, stages, aliases, promotion history",
	.options = registry_options,
	.run = run_registry,
};

const struct cli_command cli_status_command = {
	.name = "status",
	.synopsis = "[OPTIONS]",
	.summary = "what production and staging hold, and what is safe to go back to",
	.options = status_options,
	.run = run_status,
};

struct opts {
	const char *backend, *tracking_uri, *name, *model, *schema, *version;
	const char *description, *actor, *reason;
	const char *env, *kubeconfig, *context;
	double timeout;
	long page_size;
	bool json, override;
	const char *pos[4];
	int npos;
};

/* Splits ARGV (after the command name and, for registry, the verb) into
 * positional words and options, parsing the options with the command's
 * table. Returns -1 after a usage error, 2 after --help, else 0. */
static int parse(const struct cli_command *cmd, int argc, char **argv, int first,
		 struct opts *o)
{
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	if (!rest)
		return -1;
	int nrest, rc = 0;
	int extra = cli_split_args(cmd, argc, argv, first, rest, &nrest, o->pos,
				   (int)(sizeof o->pos / sizeof o->pos[0]), &o->npos);
	if (extra) {
		cli_usage_error(cmd->name, "too many arguments ('%s')", argv[extra]);
		rc = -1;
		goto out;
	}
	struct cli_parser p;
	cli_parser_init(&p, cmd, nrest, rest);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "backend") == 0) o->backend = value;
		else if (strcmp(name, "tracking-uri") == 0) o->tracking_uri = value;
		else if (strcmp(name, "name") == 0) o->name = value;
		else if (strcmp(name, "model") == 0) o->model = value;
		else if (strcmp(name, "schema") == 0) o->schema = value;
		else if (strcmp(name, "version") == 0) o->version = value;
		else if (strcmp(name, "description") == 0) o->description = value;
		else if (strcmp(name, "actor") == 0) o->actor = value;
		else if (strcmp(name, "reason") == 0) o->reason = value;
		else if (strcmp(name, "env") == 0) o->env = value;
		else if (strcmp(name, "kubeconfig") == 0) o->kubeconfig = value;
		else if (strcmp(name, "context") == 0) o->context = value;
		else if (strcmp(name, "override") == 0) o->override = true;
		else if (strcmp(name, "json") == 0) o->json = true;
		else if (strcmp(name, "timeout") == 0) {
			if (!cli_double(cmd->name, name, value, 0.001, 3600, &o->timeout))
				r = -1;
		} else if (strcmp(name, "page-size") == 0) {
			if (!cli_int(cmd->name, name, value, 1, 1000, &o->page_size))
				r = -1;
		}
		if (r < 0)
			break;
	}
	rc = r < 0 ? -1 : r == 2 ? 2 : 0;
	if (!rc && o->backend && strcmp(o->backend, "sqlite") != 0 &&
	    strcmp(o->backend, "mlflow") != 0) {
		cli_usage_error(cmd->name, "--backend: '%s' is not sqlite or mlflow", o->backend);
		rc = -1;
	}
out:
	free(rest);
	return rc;
}

/* Opens the store and the chosen back end. */
static int open_registry(const struct opts *o, struct store **st, struct registry **r,
			 struct err *e)
{
	*r = NULL;
	*st = store_open(NULL, e);
	if (!*st)
		return e->code ? e->code : EXIT_INPUT;
	struct registry_choice ch = {
		.backend = o->backend,
		.tracking_uri = o->tracking_uri,
		.model = o->name,
		.timeout_ms = (long)(o->timeout * 1000),
		.page_size = (int)o->page_size,
	};
	*r = registry_open_configured(*st, config_current(), &ch, e);
	if (!*r) {
		store_close(*st);
		*st = NULL;
		return e->code ? e->code : EXIT_INPUT;
	}
	return 0;
}

static const char *actor(const struct opts *o)
{
	return config_actor(config_current(), o->actor);
}

/* Prints S with control characters escaped (server and file text). */
static void put_clean(const char *s)
{
	char *c = sanitize_dup(s ? s : "");
	fputs(c ? c : "?", stdout);
	free(c);
}

static void iso_time(long long ms, char *buf, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(buf, n, "-");
		return;
	}
	char tmp[32];
	strftime(tmp, sizeof tmp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03lldZ", tmp, ms % 1000);
}

/* The evaluation's headline metrics, or NULL when it has none. */
static cJSON *metrics_of(const struct registry_version *v)
{
	struct err pe;
	cJSON *ev = v->eval_json[0] ? json_parse(v->eval_json, strlen(v->eval_json),
						 "evaluation", &pe) : NULL;
	static const char *const keys[] = {"roc_auc", "pr_auc", "precision", "recall", "f1",
					   "threshold"};
	cJSON *m = cJSON_CreateObject();
	for (size_t i = 0; m && i < sizeof keys / sizeof keys[0]; i++)
		if (json_has_num(ev, keys[i]))
			cJSON_AddNumberToObject(m, keys[i], json_num(ev, keys[i], 0));
	cJSON_Delete(ev);
	return m;
}

static cJSON *version_json(const struct registry_version *v, bool full)
{
	cJSON *o = cJSON_CreateObject();
	char when[40];
	iso_time(v->created_ms, when, sizeof when);
	cJSON_AddStringToObject(o, "version", v->version);
	cJSON_AddStringToObject(o, "label", v->label);
	cJSON_AddStringToObject(o, "stage", registry_stage_name(v->stage));
	cJSON *al = cJSON_AddArrayToObject(o, "aliases");
	for (size_t i = 0; al && i < v->naliases; i++)
		cJSON_AddItemToArray(al, cJSON_CreateString(v->aliases[i]));
	cJSON_AddStringToObject(o, "status", v->status);
	cJSON_AddStringToObject(o, "sha256", v->sha256);
	cJSON_AddStringToObject(o, "source", v->source);
	cJSON_AddStringToObject(o, "verdict", v->verdict);
	cJSON_AddStringToObject(o, "creator", v->creator);
	cJSON_AddNumberToObject(o, "created_ms", (double)v->created_ms);
	cJSON_AddStringToObject(o, "created", when);
	cJSON_AddStringToObject(o, "description", v->description);
	cJSON_AddItemToObject(o, "metrics", metrics_of(v));
	cJSON *tags = cJSON_AddObjectToObject(o, "tags");
	for (size_t i = 0; tags && i < v->ntags; i++)
		cJSON_AddStringToObject(tags, v->tag_keys[i], v->tag_values[i]);
	if (full) {
		struct err pe;
		cJSON *s = json_parse(v->schema_json, strlen(v->schema_json), "schema", &pe);
		cJSON *ev = json_parse(v->eval_json, strlen(v->eval_json), "evaluation", &pe);
		cJSON_AddItemToObject(o, "schema", s ? s : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "evaluation", ev ? ev : cJSON_CreateNull());
	}
	return o;
}

static void print_json(cJSON *o)
{
	char *s = cJSON_Print(o);
	if (s)
		printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static void aliases_text(const struct registry_version *v, char *buf, size_t n)
{
	buf[0] = '\0';
	size_t used = 0;
	for (size_t i = 0; i < v->naliases && used + 1 < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "," : "",
					 v->aliases[i]);
	if (!v->naliases)
		snprintf(buf, n, "-");
}

static int cmd_list(struct registry *r, const struct opts *o, struct err *e)
{
	struct registry_version *v = NULL;
	size_t n = 0;
	int rc = registry_list(r, &v, &n, e);
	if (rc)
		return rc;
	if (o->json) {
		cJSON *root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "backend", registry_backend(r));
		cJSON_AddStringToObject(root, "model", registry_model(r));
		cJSON *arr = cJSON_AddArrayToObject(root, "versions");
		for (size_t i = 0; arr && i < n; i++)
			cJSON_AddItemToArray(arr, version_json(&v[i], false));
		print_json(root);
	} else {
		printf("%-8s %-12s %-11s %-28s %-8s %-8s %-24s %s\n", "VERSION", "LABEL",
		       "STAGE", "ALIASES", "ROC-AUC", "VERDICT", "CREATED", "CREATOR");
		for (size_t i = 0; i < n; i++) {
			char al[256], when[40], auc[16] = "-";
			aliases_text(&v[i], al, sizeof al);
			iso_time(v[i].created_ms, when, sizeof when);
			cJSON *m = metrics_of(&v[i]);
			if (json_has_num(m, "roc_auc"))
				snprintf(auc, sizeof auc, "%.4f", json_num(m, "roc_auc", 0));
			cJSON_Delete(m);
			printf("%-8s %-12s %-11s %-28s %-8s %-8s %-24s ", v[i].version, v[i].label,
			       registry_stage_name(v[i].stage), al, auc, v[i].verdict, when);
			put_clean(v[i].creator);
			putchar('\n');
		}
		if (!n)
			printf("(no versions of %s yet: churnops registry register --model DIR --version V)\n",
			       registry_model(r));
	}
	registry_versions_free(v, n);
	return 0;
}

static void print_version(const struct registry_version *v)
{
	char al[256], when[40];
	aliases_text(v, al, sizeof al);
	iso_time(v->created_ms, when, sizeof when);
	printf("version      %s\nlabel        %s\nstage        %s\naliases      %s\n"
	       "status       ", v->version, v->label, registry_stage_name(v->stage), al);
	put_clean(v->status);
	printf("\nsha256       %s\nartifact     ", v->sha256);
	put_clean(v->source);
	printf("\nverdict      ");
	put_clean(v->verdict);
	printf("\ncreated      %s\ncreator      ", when);
	put_clean(v->creator);
	printf("\ndescription  ");
	put_clean(v->description);
	putchar('\n');
	cJSON *m = metrics_of(v);
	const cJSON *it;
	cJSON_ArrayForEach(it, m)
		printf("%-12s %.4f\n", it->string, it->valuedouble);
	cJSON_Delete(m);
	for (size_t i = 0; i < v->ntags; i++) {
		printf("tag          ");
		put_clean(v->tag_keys[i]);
		putchar('=');
		put_clean(v->tag_values[i]);
		putchar('\n');
	}
}

static int cmd_show(struct registry *r, const struct opts *o, struct err *e)
{
	struct registry_version v = {0};
	int rc;
	if (o->npos > 1)
		return err_set(e, EXIT_INPUT, "registry show takes at most one VERSION");
	if (o->npos == 1) {
		rc = registry_get(r, o->pos[0], &v, e);
	} else {
		bool found = false;
		rc = registry_stage_holder(r, REGISTRY_STAGE_PRODUCTION, &v, &found, e);
		if (!rc && !found)
			rc = err_set(e, EXIT_INPUT,
				     "nothing of %s is in production: name a VERSION (churnops registry list)",
				     registry_model(r));
	}
	if (rc)
		return rc;
	if (o->json)
		print_json(version_json(&v, true));
	else
		print_version(&v);
	registry_version_finish(&v);
	return 0;
}

static char *path_join(const char *a, const char *b)
{
	char *p = NULL;
	return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

static int cmd_register(struct registry *r, const struct opts *o, struct err *e)
{
	if (!o->model || !o->version)
		return err_set(e, EXIT_INPUT, "registry register needs --model DIR and --version V");
	struct model *m = NULL;
	struct schema *s = NULL;
	char *loaded_version = NULL, *schema_text = NULL, *eval_text = NULL, *eval_path = NULL;
	size_t len;
	struct registry_version v = {0};
	int rc = cli_load_model(o->model, o->schema, &m, &s, &loaded_version, e);
	if (rc)
		return rc;
	cJSON *sj = schema_to_json(s);
	schema_text = sj ? cJSON_PrintUnformatted(sj) : NULL;
	cJSON_Delete(sj);
	if (!schema_text) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	struct stat sb;
	if (stat(o->model, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		eval_path = path_join(o->model, "eval.json");
		if (eval_path && fileio_exists(eval_path) &&
		    (rc = fileio_read_all(eval_path, JSON_MAX_FILE, &eval_text, &len, e)))
			goto out;
	}
	struct registry_new_version nv = {
		.label = o->version,
		.artifact_path = model_path(m),
		.sha256 = model_sha256(m),
		.schema_json = schema_text,
		.eval_json = eval_text,
		.description = o->description,
		.creator = actor(o),
	};
	if ((rc = registry_register(r, &nv, &v, e)))
		goto out;
	if (o->json)
		print_json(version_json(&v, false));
	else
		printf("registered %s version %s (%s) sha256 %s, verdict %s\n", registry_model(r),
		       v.label, v.version, v.sha256, v.verdict);
out:
	registry_version_finish(&v);
	model_destroy(m);
	schema_destroy(s);
	free(loaded_version);
	free(schema_text);
	free(eval_text);
	free(eval_path);
	return rc;
}

static int cmd_stage(struct registry *r, const struct opts *o, struct err *e)
{
	enum registry_stage stage;
	if (o->npos != 2)
		return err_set(e, EXIT_INPUT, "usage: churnops registry stage VERSION staging|production|archived");
	if (!registry_stage_parse(o->pos[1], &stage) || stage == REGISTRY_STAGE_NONE)
		return err_set(e, EXIT_INPUT, "stage '%s': use staging, production or archived",
			       o->pos[1]);
	struct registry_move mv = {.actor = actor(o), .reason = o->reason, .override = o->override};
	int rc = registry_set_stage(r, o->pos[0], stage, &mv, e);
	if (rc)
		return rc;
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "version", o->pos[0]);
		cJSON_AddStringToObject(j, "stage", registry_stage_name(stage));
		print_json(j);
	} else {
		printf("%s version %s is now in %s\n", registry_model(r), o->pos[0],
		       registry_stage_name(stage));
	}
	return 0;
}

static int cmd_alias(struct registry *r, const struct opts *o, struct err *e)
{
	struct registry_move mv = {.actor = actor(o), .reason = o->reason};
	int rc;
	if (o->npos == 3 && strcmp(o->pos[0], "set") == 0) {
		if ((rc = registry_set_alias(r, o->pos[1], o->pos[2], &mv, e)))
			return rc;
		if (!o->json)
			printf("%s alias %s -> version %s\n", registry_model(r), o->pos[1], o->pos[2]);
	} else if (o->npos == 2 && strcmp(o->pos[0], "delete") == 0) {
		if ((rc = registry_delete_alias(r, o->pos[1], &mv, e)))
			return rc;
		if (!o->json)
			printf("%s alias %s deleted\n", registry_model(r), o->pos[1]);
	} else {
		return err_set(e, EXIT_INPUT,
			       "usage: churnops registry alias set NAME VERSION | alias delete NAME");
	}
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "alias", o->pos[1]);
		if (o->npos == 3)
			cJSON_AddStringToObject(j, "version", o->pos[2]);
		else
			cJSON_AddNullToObject(j, "version");
		print_json(j);
	}
	return 0;
}

static int cmd_tag(struct registry *r, const struct opts *o, struct err *e)
{
	if (o->npos != 3)
		return err_set(e, EXIT_INPUT, "usage: churnops registry tag VERSION KEY VALUE");
	int rc = registry_set_tag(r, o->pos[0], o->pos[1], o->pos[2], e);
	if (rc)
		return rc;
	if (o->json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "version", o->pos[0]);
		cJSON_AddStringToObject(j, "key", o->pos[1]);
		cJSON_AddStringToObject(j, "value", o->pos[2]);
		print_json(j);
	} else {
		printf("%s version %s: tag ", registry_model(r), o->pos[0]);
		put_clean(o->pos[1]);
		printf(" set\n");
	}
	return 0;
}

static int cmd_history(struct registry *r, const struct opts *o, struct err *e)
{
	struct store_reg_event *ev = NULL;
	size_t n = 0;
	int rc = registry_history(r, &ev, &n, e);
	if (rc)
		return rc;
	if (o->json) {
		cJSON *root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "backend", registry_backend(r));
		cJSON_AddStringToObject(root, "registry", registry_location(r));
		cJSON_AddStringToObject(root, "model", registry_model(r));
		cJSON *arr = cJSON_AddArrayToObject(root, "history");
		for (size_t i = 0; arr && i < n; i++) {
			cJSON *h = cJSON_CreateObject();
			cJSON_AddNumberToObject(h, "id", (double)ev[i].id);
			cJSON_AddStringToObject(h, "at", ev[i].at);
			cJSON_AddStringToObject(h, "kind", ev[i].kind);
			cJSON_AddStringToObject(h, "name", ev[i].name);
			cJSON_AddStringToObject(h, "from", ev[i].from_version);
			cJSON_AddStringToObject(h, "to", ev[i].to_version);
			cJSON_AddStringToObject(h, "actor", ev[i].actor);
			cJSON_AddStringToObject(h, "reason", ev[i].reason);
			cJSON_AddItemToArray(arr, h);
		}
		print_json(root);
	} else {
		printf("%-24s %-6s %-16s %-8s %-8s %-12s %s\n", "AT", "KIND", "NAME", "FROM", "TO",
		       "ACTOR", "REASON");
		for (size_t i = 0; i < n; i++) {
			printf("%-24s %-6s %-16s %-8s %-8s ", ev[i].at, ev[i].kind, ev[i].name,
			       ev[i].from_version[0] ? ev[i].from_version : "-",
			       ev[i].to_version[0] ? ev[i].to_version : "-");
			char *a = sanitize_dup(ev[i].actor);
			printf("%-12s ", a ? a : "?");
			free(a);
			put_clean(ev[i].reason);
			putchar('\n');
		}
		if (!n)
			printf("(no stage or alias moves recorded for %s)\n", registry_model(r));
	}
	store_reg_events_free(ev, n);
	return 0;
}

static int cmd_rollback_target(struct registry *r, const struct opts *o, struct err *e)
{
	if (o->npos != 1)
		return err_set(e, EXIT_INPUT,
			       "usage: churnops registry rollback-target previous|rollback|VERSION");
	struct registry_version v = {0};
	int rc = registry_rollback_target(r, o->pos[0], &v, e);
	if (rc)
		return rc;
	if (o->json) {
		cJSON *j = version_json(&v, false);
		cJSON_AddStringToObject(j, "target", o->pos[0]);
		cJSON_AddBoolToObject(j, "sha256_verified", true);
		print_json(j);
	} else {
		printf("rollback target %s: %s version %s (label %s, sha256 verified)\n", o->pos[0],
		       registry_model(r), v.version, v.label);
	}
	registry_version_finish(&v);
	return 0;
}

static const struct {
	const char *verb;
	int (*run)(struct registry *r, const struct opts *o, struct err *e);
	int max_pos;
	bool mutating;
} verbs[] = {
	{ "list", cmd_list, 0, false },
	{ "show", cmd_show, 1, false },
	{ "register", cmd_register, 0, true },
	{ "stage", cmd_stage, 2, true },
	{ "alias", cmd_alias, 3, true },
	{ "tag", cmd_tag, 3, true },
	{ "history", cmd_history, 0, false },
	{ "rollback-target", cmd_rollback_target, 1, false },
};

static int run_registry(int argc, char **argv)
{
	const char *cmd = cli_registry_command.name;
	if (argc < 2) {
		cli_usage(&cli_registry_command, false);
		return EXIT_INPUT;
	}
	if (strcmp(argv[1], "--help") == 0) {
		cli_usage(&cli_registry_command, true);
		return EXIT_OK;
	}
	size_t which = sizeof verbs / sizeof verbs[0];
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(argv[1], verbs[i].verb) == 0)
			which = i;
	if (which == sizeof verbs / sizeof verbs[0])
		return cli_usage_error(cmd, "no verb '%s' (churnops registry --help lists them)",
				       argv[1]);
	struct opts o = {0};
	int p = parse(&cli_registry_command, argc, argv, 2, &o);
	if (p)
		return p == 2 ? EXIT_OK : EXIT_INPUT;
	if (o.npos > verbs[which].max_pos)
		return cli_usage_error(cmd, "%s: unexpected argument '%s'", verbs[which].verb,
				       o.pos[verbs[which].max_pos]);
	/* Read-only mode: the global setting for every move, and a stage's
	 * own environment for moves into it. */
	const char *env = verbs[which].run == cmd_stage && o.npos == 2 ? o.pos[1] : NULL;
	if (verbs[which].mutating && (config_read_only(config_current(), NULL) ||
				      (env && config_read_only(config_current(), env)))) {
		fprintf(stderr, "churnops registry %s: read-only mode: refused (nothing changed)\n",
			verbs[which].verb);
		return EXIT_CHECK;
	}
	struct err e = {0};
	struct store *st = NULL;
	struct registry *r = NULL;
	int rc = open_registry(&o, &st, &r, &e);
	if (!rc)
		rc = verbs[which].run(r, &o, &e);
	registry_destroy(r);
	store_close(st);
	return rc ? cli_fail(&e) : EXIT_OK;
}

/* One line (or JSON member) of status: what SLOT holds. */
struct slot {
	const char *key;
	bool found;
	struct registry_version v;
};

/* The cluster half of status: per environment, the rolling deployment's
 * image (and the model version in it), replicas and rollout state as
 * kubectl judges it; or why it could not be read. Never fails as a whole:
 * an unreachable cluster is part of the answer. NULL only when out of
 * memory. */
static cJSON *cluster_status(const struct opts *o)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	size_t n;
	const struct envs_env *envs = envs_defaults(&n);
	for (size_t i = 0; i < n; i++) {
		const struct envs_env *env = &envs[i];
		if (o->env && strcmp(o->env, env->name) != 0)
			continue;
		cJSON *j = cJSON_AddObjectToObject(root, env->name);
		struct err e = {0};
		struct kubeconfig_options ko = { .file = o->kubeconfig, .context = o->context };
		struct kubeconfig *kc = NULL;
		struct kube_client *k = NULL;
		struct kube_deployment d = {0};
		bool have_d = false;
		cJSON_AddStringToObject(j, "namespace", env->namespace);
		cJSON_AddStringToObject(j, "deployment", env->deployment);
		int rc = kubeconfig_load(&ko, &kc, &e);
		if (rc) {
			cJSON_AddBoolToObject(j, "configured", false);
			cJSON_AddStringToObject(j, "error", e.msg);
			continue;
		}
		cJSON_AddBoolToObject(j, "configured", true);
		rc = kube_client_create(kc, &k, &e);
		if (!rc)
			rc = kube_get_deployment(k, env->namespace, env->deployment, &d, &e);
		have_d = rc == 0;
		if (rc) {
			cJSON_AddStringToObject(j, "error", e.msg);
		} else {
			struct kube_rollout ro;
			kube_rollout_status(&d, 0, &ro);
			const char *image = d.ncontainers ? d.containers[0].image : "";
			for (size_t c = 0; c < d.ncontainers; c++)
				if (strcmp(d.containers[c].name, env->container) == 0)
					image = d.containers[c].image;
			char *version = envs_version_from_image(env->image_template, image);
			cJSON_AddStringToObject(j, "image", image);
			if (version)
				cJSON_AddStringToObject(j, "version", version);
			else
				cJSON_AddNullToObject(j, "version");
			free(version);
			cJSON_AddNumberToObject(j, "replicas", (double)d.spec_replicas);
			cJSON_AddNumberToObject(j, "ready", (double)d.ready);
			cJSON_AddNumberToObject(j, "revision", (double)d.revision);
			cJSON_AddStringToObject(j, "rollout", kube_rollout_state_name(ro.state));
			cJSON_AddStringToObject(j, "message", ro.message);
		}
		if (have_d)
			kube_deployment_finish(&d);
		kube_client_destroy(k); /* the client owns KC, created or not */
	}
	return root;
}

static void print_cluster(const cJSON *cluster)
{
	printf("cluster:\n");
	const cJSON *env;
	cJSON_ArrayForEach(env, cluster) {
		printf("  %-16s ", env->string);
		const char *error = json_str(env, "error");
		if (error) {
			printf("%s: ", cJSON_IsTrue(cJSON_GetObjectItem(env, "configured"))
				       ? "unreachable" : "not configured");
			put_clean(error);
			printf("\n");
			continue;
		}
		const char *version = json_str(env, "version");
		printf("%s/%s ", json_str(env, "namespace"), json_str(env, "deployment"));
		put_clean(version ? version : json_str(env, "image"));
		printf(", %.0f/%.0f ready, revision %.0f, rollout ", json_num(env, "ready", 0),
		       json_num(env, "replicas", 0), json_num(env, "revision", 0));
		put_clean(json_str(env, "rollout"));
		printf("\n");
	}
}

static int run_status(int argc, char **argv)
{
	struct opts o = {0};
	int p = parse(&cli_status_command, argc, argv, 1, &o);
	if (p)
		return p == 2 ? EXIT_OK : EXIT_INPUT;
	if (o.npos)
		return cli_usage_error("status", "unexpected argument '%s'", o.pos[0]);
	struct err e = {0};
	struct store *st = NULL;
	struct registry *r = NULL;
	struct slot slots[] = {
		{ "production", false, {0} },
		{ "staging", false, {0} },
		{ "last_known_good", false, {0} },
		{ "champion", false, {0} },
		{ "challenger", false, {0} },
	};
	size_t nslots = sizeof slots / sizeof slots[0];
	int rc = open_registry(&o, &st, &r, &e);
	if (!rc)
		rc = registry_stage_holder(r, REGISTRY_STAGE_PRODUCTION, &slots[0].v,
					   &slots[0].found, &e);
	if (!rc)
		rc = registry_stage_holder(r, REGISTRY_STAGE_STAGING, &slots[1].v,
					   &slots[1].found, &e);
	if (!rc)
		rc = registry_get_alias(r, REGISTRY_ALIAS_LKG, &slots[2].v, &slots[2].found, &e);
	if (!rc)
		rc = registry_get_alias(r, REGISTRY_ALIAS_CHAMPION, &slots[3].v, &slots[3].found, &e);
	if (!rc)
		rc = registry_get_alias(r, REGISTRY_ALIAS_CHALLENGER, &slots[4].v, &slots[4].found,
					&e);
	if (rc)
		goto out;
	static const char monitoring_note[] = "not configured";
	cJSON *cluster = cluster_status(&o);
	if (!cluster) {
		rc = err_set(&e, EXIT_INPUT, "out of memory");
		goto out;
	}
	/* A configured cluster that could not be read fails the command, as
	 * any unreachable backend does; the report says which. */
	const cJSON *ce;
	cJSON_ArrayForEach(ce, cluster) {
		if (!rc && cJSON_IsTrue(cJSON_GetObjectItem(ce, "configured")) &&
		    json_str(ce, "error"))
			rc = err_set(&e, EXIT_BACKEND, "cluster %s: %s", ce->string,
				     json_str(ce, "error"));
	}
	if (o.json) {
		cJSON *root = cJSON_CreateObject();
		cJSON *reg = cJSON_AddObjectToObject(root, "registry");
		cJSON_AddStringToObject(reg, "backend", registry_backend(r));
		cJSON_AddStringToObject(reg, "location", registry_location(r));
		cJSON_AddStringToObject(reg, "model", registry_model(r));
		for (size_t i = 0; i < nslots; i++)
			cJSON_AddItemToObject(reg, slots[i].key, slots[i].found
					      ? version_json(&slots[i].v, false) : cJSON_CreateNull());
		cJSON_AddItemToObject(root, "cluster", cluster);
		cluster = NULL; /* the report owns it now */
		cJSON *m = cJSON_AddObjectToObject(root, "monitoring");
		cJSON_AddStringToObject(m, "status", monitoring_note);
		print_json(root);
	} else {
		printf("registry: %s (%s), model %s\n", registry_backend(r), registry_location(r),
		       registry_model(r));
		for (size_t i = 0; i < nslots; i++) {
			printf("  %-16s ", slots[i].key);
			if (!slots[i].found) {
				printf("none\n");
				continue;
			}
			char when[40];
			iso_time(slots[i].v.created_ms, when, sizeof when);
			printf("%s (version %s, verdict %s, sha256 %.12s, created %s by ",
			       slots[i].v.label, slots[i].v.version, slots[i].v.verdict,
			       slots[i].v.sha256, when);
			put_clean(slots[i].v.creator);
			printf(")\n");
		}
		print_cluster(cluster);
		printf("monitoring: %s\n", monitoring_note);
	}
	cJSON_Delete(cluster);
out:
	for (size_t i = 0; i < nslots; i++)
		registry_version_finish(&slots[i].v);
	registry_destroy(r);
	store_close(st);
	return rc ? cli_fail(&e) : EXIT_OK;
}

cJSON *cli_lkg_check(struct store *st, struct prom_client *pc, const struct trigger_config *tc,
		     const struct trigger_env *env, double now)
{
	const struct config *c = config_current();
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	struct err e = {0};
	struct registry_choice ch = {0};
	struct registry *r = registry_open_configured(st, c, &ch, &e);
	struct lkg_verdict v;
	bool apply = !config_read_only(c, env->name);
	int rc = r ? lkg_check(r, st, pc, tc, env, config_lkg_after(c, env->name), now,
			       LKG_ALIAS_ACTOR, apply, &v, &e)
		   : (e.code ? e.code : EXIT_INPUT);
	registry_destroy(r);
	if (rc) {
		cJSON_AddStringToObject(o, "outcome", "error");
		cJSON_AddStringToObject(o, "why", e.msg);
		return o;
	}
	cJSON_AddStringToObject(o, "outcome", lkg_outcome_name(v.outcome));
	cJSON_AddStringToObject(o, "version", v.version);
	cJSON_AddStringToObject(o, "why", v.why);
	cJSON_AddBoolToObject(o, "applied", apply && v.outcome == LKG_SET);
	cJSON_AddNumberToObject(o, "held_s", v.held);
	cJSON_AddNumberToObject(o, "needed_s", v.needed);
	return o;
}
