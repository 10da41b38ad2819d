/* churnops promote, rollback, actions and audit: plans over the registry
 * and the cluster (core/actions), their journal and the audit log.
 *
 *   promote --version V --env ENV [--strategy S] [--dry-run] [--yes]
 *           [--override --reason T] [--registry-only]
 *   rollback --target previous|rollback|V --env ENV [...] [--registry-only]
 *   actions list | resume ID | abandon ID
 *   audit [--env ENV] [--limit N] [--json]
 *
 * --registry-only makes the plan the registry check and the registry move
 * alone (stage, aliases, history, audit); no kubeconfig is read and the
 * cluster is not touched.
 *
 * Mutating commands are refused in read-only mode (--read-only or
 * CHURNOPS_READ_ONLY=1). Production asks for its name to be typed when
 * stdin is a terminal; otherwise it needs --yes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "actions.h"
#include "cli.h"
#include "config.h"
#include "envs.h"
#include "kube.h"
#include "kubeconfig.h"
#include "prom.h"
#include "registry.h"
#include "sanitize.h"
#include "store.h"
#include "triggers.h"

#define CLUSTER_OPTIONS \
	{ "env", "ENV", "environment: staging or production" }, \
	{ "strategy", "rolling|blue-green|canary", "deployment strategy (default: the environment's configured one, else rolling)" }, \
	{ "kubeconfig", "FILE", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" }, \
	{ "context", "NAME", "kubeconfig context (default: its current-context)" }, \
	{ "timeout", "SECONDS", "give up on a rollout after this long (default 600)" }, \
	{ "backend", "sqlite|mlflow", "registry back end (default sqlite, the embedded store)" }, \
	{ "tracking-uri", "URI", "MLflow tracking server (default $MLFLOW_TRACKING_URI)" }, \
	{ "name", "MODEL", "registered model name (default churn)" }, \
	{ "actor", "NAME", "who acts (default $CHURNOPS_ACTOR, else the OS user)" }, \
	{ "reason", "TEXT", "why, for the history and the audit log" }, \
	{ "dry-run", NULL, "print the plan and change nothing" }, \
	{ "yes", NULL, "production without a terminal: proceed without typing its name" }, \
	{ "read-only", NULL, "refuse every change (also CHURNOPS_READ_ONLY=1)" }, \
	{ "json", NULL, "print JSON" }

static const struct cli_option promote_options[] = {
	CLUSTER_OPTIONS,
	{ "version", "V", "the registered version to promote" },
	{ "override", NULL, "production with a checklist verdict other than pass (needs --reason)" },
	{ "weights", "W,W,...", "canary: weight steps in percent (default 10,50,100)" },
	{ "analysis-interval", "SECONDS", "canary: wait before each analysis (default 60)" },
	{ "prometheus", "URL", "canary: Prometheus for the analysis (default $PROMETHEUS_URL)" },
	{ "triggers", "FILE", "canary: metric overrides (default CONFIG/triggers.json)" },
	{ "skip-analysis", NULL, "canary without Prometheus: wait and check the pods only" },
	{ "registry-only", NULL, "move only the registry (stage, aliases, history, audit), not the cluster" },
	{ NULL, NULL, NULL },
};

static const struct cli_option rollback_options[] = {
	CLUSTER_OPTIONS,
	{ "target", "previous|rollback|V", "what to go back to (default previous)" },
	{ "registry-only", NULL, "move only the registry (stage, aliases, history, audit), not the cluster" },
	{ NULL, NULL, NULL },
};

static const struct cli_option actions_options[] = {
	{ "kubeconfig", "FILE", "resume: kubeconfig file (default: $KUBECONFIG, ~/.kube/config)" },
	{ "context", "NAME", "resume: kubeconfig context" },
	{ "timeout", "SECONDS", "resume: give up on a rollout after this long (default 600)" },
	{ "actor", "NAME", "who resumes or abandons (default $CHURNOPS_ACTOR, else the OS user)" },
	{ "state", "STATE", "list: only plans in this state (running, done, failed, abandoned)" },
	{ "limit", "N", "list: the latest N plans (default 20)" },
	{ "yes", NULL, "resume in production without a terminal" },
	{ "read-only", NULL, "refuse resume and abandon (also CHURNOPS_READ_ONLY=1)" },
	{ "json", NULL, "print JSON" },
	{ NULL, NULL, NULL },
};

static const struct cli_option audit_options[] = {
	{ "env", "ENV", "only this environment's records" },
	{ "limit", "N", "the latest N records (default 50; 0: all)" },
	{ "json", NULL, "print JSON" },
	{ NULL, NULL, NULL },
};

static int run_promote(int argc, char **argv);
static int run_rollback(int argc, char **argv);
static int run_actions(int argc, char **argv);
static int run_audit(int argc, char **argv);

const struct cli_command cli_promote_command = {
	.name = "promote",
	.synopsis = "--version V --env ENV [--strategy S | --registry-only] [--dry-run] [--yes] [--override --reason T] [OPTIONS]",
	.summary = "promote a registered version to an environment as a plan of steps",
	.options = promote_options,
	.run = run_promote,
};

const struct cli_command cli_rollback_command = {
	.name = "rollback",
	.synopsis = "--target previous|rollback|V --env ENV [--strategy S | --registry-only] [--dry-run] [--yes] [OPTIONS]",
	.summary = "roll an environment back to the previous, last known good or a given version",
	.options = rollback_options,
	.run = run_rollback,
};

const struct cli_command cli_actions_command = {
	.name = "actions",
	.synopsis = "list | resume ID | abandon ID [OPTIONS]",
	.summary = "the action journal: plans, interrupted ones resumed or abandoned",
	.options = actions_options,
	.run = run_actions,
};

const struct cli_command cli_audit_command = {
	.name = "audit",
	.synopsis = "[--env ENV] [--limit N] [--json]",
	.summary = "the audit log: who did what, where, when, and how it ended",
	.options = audit_options,
	.run = run_audit,
};

struct opts {
	const char *env, *strategy, *kubeconfig, *context, *backend, *tracking_uri, *name;
	const char *actor, *reason, *version, *target, *weights, *prometheus, *triggers;
	const char *state;
	double timeout, interval;
	long limit;
	bool dry_run, yes, read_only, json, override, skip_analysis, registry_only;
	const char *pos[2];
	int npos;
};

static const char *actor_of(const char *given)
{
	return config_actor(config_current(), given);
}

static bool read_only_for(const struct opts *o, const char *env)
{
	return o->read_only || config_read_only(config_current(), env);
}

/* The strategy --strategy names, else the one configured for ENV, else
 * rolling. False after a usage error. */
static bool strategy_for(const char *cmd, const char *given, const char *env,
			 enum actions_strategy *out)
{
	*out = ACTIONS_ROLLING;
	const char *name = given ? given : config_strategy(config_current(), env);
	if (name && !actions_strategy_parse(name, out)) {
		cli_usage_error(cmd, "--strategy: '%s' is not rolling, blue-green or canary", name);
		return false;
	}
	return true;
}

/* Options from the table; up to two positional words (actions' verb and
 * ID). Returns 0, 1 after --help, or -1 after a usage error. */
static int parse(const struct cli_command *cmd, int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->limit = -1;
	char **rest = calloc((size_t)argc + 1, sizeof *rest);
	if (!rest)
		return -1;
	int nrest, rc = 0;
	int extra = cli_split_args(cmd, argc, argv, 1, rest, &nrest, o->pos,
				   cmd->run == run_actions ? 2 : 0, &o->npos);
	if (extra) {
		cli_usage_error(cmd->name, "unexpected argument '%s'", argv[extra]);
		rc = -1;
		goto out;
	}
	struct cli_parser p;
	cli_parser_init(&p, cmd, nrest, rest);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (strcmp(name, "env") == 0) o->env = value;
		else if (strcmp(name, "strategy") == 0) o->strategy = value;
		else if (strcmp(name, "kubeconfig") == 0) o->kubeconfig = value;
		else if (strcmp(name, "context") == 0) o->context = value;
		else if (strcmp(name, "backend") == 0) o->backend = value;
		else if (strcmp(name, "tracking-uri") == 0) o->tracking_uri = value;
		else if (strcmp(name, "name") == 0) o->name = value;
		else if (strcmp(name, "actor") == 0) o->actor = value;
		else if (strcmp(name, "reason") == 0) o->reason = value;
		else if (strcmp(name, "version") == 0) o->version = value;
		else if (strcmp(name, "target") == 0) o->target = value;
		else if (strcmp(name, "weights") == 0) o->weights = value;
		else if (strcmp(name, "prometheus") == 0) o->prometheus = value;
		else if (strcmp(name, "triggers") == 0) o->triggers = value;
		else if (strcmp(name, "state") == 0) o->state = value;
		else if (strcmp(name, "dry-run") == 0) o->dry_run = true;
		else if (strcmp(name, "yes") == 0) o->yes = true;
		else if (strcmp(name, "read-only") == 0) o->read_only = true;
		else if (strcmp(name, "json") == 0) o->json = true;
		else if (strcmp(name, "override") == 0) o->override = true;
		else if (strcmp(name, "skip-analysis") == 0) o->skip_analysis = true;
		else if (strcmp(name, "registry-only") == 0) o->registry_only = true;
		else if (strcmp(name, "timeout") == 0) {
			if (!cli_double(cmd->name, name, value, 0, 86400, &o->timeout)) {
				rc = -1;
				goto out;
			}
		} else if (strcmp(name, "analysis-interval") == 0) {
			if (!cli_double(cmd->name, name, value, 0, 86400, &o->interval)) {
				rc = -1;
				goto out;
			}
		} else if (strcmp(name, "limit") == 0) {
			if (!cli_int(cmd->name, name, value, 0, 1000000, &o->limit)) {
				rc = -1;
				goto out;
			}
		}
	}
	if (r < 0)
		rc = -1;
	else if (r == 2)
		rc = 1;
out:
	free(rest);
	return rc;
}

/* Everything a plan needs, opened from the options. */
struct session {
	struct store *st;
	struct registry *reg;
	struct kube_client *kube;
	struct kubeconfig *svc_kc;
	struct prom_client *prom;
	struct trigger_config tcfg;
	bool has_tcfg;
	long weights[16];
	size_t nweights;
	struct actions_ctx ctx;
};

static void session_close(struct session *s)
{
	kube_client_destroy(s->kube);
	kubeconfig_destroy(s->svc_kc);
	prom_client_destroy(s->prom);
	if (s->has_tcfg)
		triggers_config_finish(&s->tcfg);
	registry_destroy(s->reg);
	store_close(s->st);
	memset(s, 0, sizeof *s);
}

static int open_registry(const struct opts *o, struct session *s, struct err *e)
{
	s->st = store_open(NULL, e);
	if (!s->st)
		return e->code ? e->code : EXIT_INPUT;
	struct registry_choice ch = {
		.backend = o->backend, .tracking_uri = o->tracking_uri, .model = o->name,
	};
	s->reg = registry_open_configured(s->st, config_current(), &ch, e);
	return s->reg ? 0 : (e->code ? e->code : EXIT_INPUT);
}

static int open_triggers(const struct opts *o, struct session *s, struct err *e)
{
	char *path = o->triggers ? strdup(o->triggers) : triggers_default_path();
	int rc = triggers_config_load(&s->tcfg, path, e);
	free(path);
	if (rc)
		return rc;
	s->has_tcfg = true;
	const struct trigger_env *te = triggers_config_env(&s->tcfg, s->ctx.env->name);
	struct prom_options po = { .url = te ? te->prometheus_url : NULL };
	config_prom_options(config_current(), &po);
	if (o->prometheus)
		po.url = o->prometheus;
	if (!po.url)
		return 0;
	s->prom = prom_client_create(&po, e);
	return s->prom ? 0 : (e->code ? e->code : EXIT_BACKEND);
}

static void on_progress(const struct actions_plan *p, size_t i, void *arg)
{
	FILE *f = arg;
	const struct actions_step *s = &p->steps[i];
	char clean[600];
	if (s->state == ACTIONS_RUNNING) {
		sanitize_text(s->description, strlen(s->description), clean, sizeof clean);
		fprintf(f, "[%zu/%zu] %s ...\n", i + 1, p->nsteps, clean);
	} else {
		sanitize_text(s->result, strlen(s->result), clean, sizeof clean);
		fprintf(f, "[%zu/%zu] %s: %s\n", i + 1, p->nsteps,
			actions_step_state_name(s->state), clean);
	}
	fflush(f);
}

/* Opens the store, registry, cluster (unless --registry-only) and (canary)
 * Prometheus for ENV. */
static int session_open(const struct opts *o, const struct envs_env *env, bool canary,
			struct session *s, struct err *e)
{
	memset(s, 0, sizeof *s);
	int rc = open_registry(o, s, e);
	if (rc)
		return rc;
	if (!o->registry_only) {
		struct kubeconfig_options ko = { .file = o->kubeconfig, .context = o->context };
		struct kubeconfig *kc = NULL;
		if ((rc = kubeconfig_load(&ko, &kc, e)))
			return rc;
		if ((rc = kube_client_create(kc, &s->kube, e)))
			return rc;
		if ((rc = kubeconfig_load(&ko, &s->svc_kc, e)))
			return rc;
	}
	s->ctx.registry_only = o->registry_only;
	s->ctx.st = s->st;
	s->ctx.reg = s->reg;
	s->ctx.kube = s->kube;
	s->ctx.service_kc = s->svc_kc;
	s->ctx.env = env;
	s->ctx.timeout_s = (long)o->timeout;
	s->ctx.analysis_s = o->interval;
	s->ctx.skip_analysis = o->skip_analysis;
	s->ctx.read_only = read_only_for(o, s->ctx.env->name);
	s->ctx.owner = actor_of(o->actor);
	s->ctx.progress = on_progress;
	s->ctx.progress_arg = o->json ? stderr : stdout;
	if (canary) {
		if ((rc = open_triggers(o, s, e)))
			return rc;
		s->ctx.prom = s->prom;
		s->ctx.tcfg = &s->tcfg;
	}
	if (o->weights) {
		const char *p = o->weights;
		while (*p && s->nweights < 16) {
			char *end;
			long w = strtol(p, &end, 10);
			if (end == p || w < 1 || w > 100 ||
			    (s->nweights && w <= s->weights[s->nweights - 1]))
				return err_set(e, EXIT_INPUT, "--weights: '%s' is not an increasing "
					       "list of percentages in 1..100", o->weights);
			s->weights[s->nweights++] = w;
			p = *end == ',' ? end + 1 : end;
			if (*end && *end != ',')
				return err_set(e, EXIT_INPUT, "--weights: '%s': bad list", o->weights);
		}
		if (!s->nweights || s->weights[s->nweights - 1] != 100)
			return err_set(e, EXIT_INPUT, "--weights must end at 100");
		s->ctx.weights = s->weights;
		s->ctx.nweights = s->nweights;
	}
	return 0;
}

static void print_plan(const struct actions_plan *p, FILE *f)
{
	char a[300], b[300];
	sanitize_text(p->from_version, strlen(p->from_version), a, sizeof a);
	sanitize_text(p->version, strlen(p->version), b, sizeof b);
	fprintf(f, "plan: %s %s %s (%s) in %s: %s %s now, %s after\n",
		actions_kind_name(p->kind), b, p->kind == ACTIONS_PROMOTE ? "to" : "for",
		p->registry_only ? "registry only" : actions_strategy_name(p->strategy), p->env,
		p->registry_only ? "the registry holds" : "serving", a[0] ? a : "?", b);
	for (size_t i = 0; i < p->nsteps; i++) {
		const struct actions_step *s = &p->steps[i];
		char d[700];
		sanitize_text(s->description, strlen(s->description), d, sizeof d);
		fprintf(f, "  %2zu. %s\n", i + 1, d);
		sanitize_text(s->precondition, strlen(s->precondition), d, sizeof d);
		fprintf(f, "      requires: %s\n", d);
		sanitize_text(s->check, strlen(s->check), d, sizeof d);
		fprintf(f, "      checks:   %s\n", d);
		if (s->state != ACTIONS_PENDING) {
			sanitize_text(s->result, strlen(s->result), d, sizeof d);
			fprintf(f, "      %s: %s\n", actions_step_state_name(s->state), d);
		}
	}
	fprintf(f, "  then: audit record\n");
}

static void print_json(cJSON *o)
{
	char *t = cJSON_Print(o);
	if (t)
		printf("%s\n", t);
	free(t);
}

/* Production: the name typed at a terminal, or --yes. */
static int confirm(const char *cmd, const struct opts *o, const char *env)
{
	if (strcmp(env, "production") != 0 || o->yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "churnops %s: %s needs --yes when stdin is not a terminal\n", cmd,
			env);
		return EXIT_CHECK;
	}
	fprintf(stderr, "type the environment name (%s) to proceed: ", env);
	fflush(stderr);
	char line[128];
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, env) != 0) {
		fprintf(stderr, "churnops %s: not confirmed; nothing changed\n", cmd);
		return EXIT_CHECK;
	}
	return 0;
}

static int finish(const struct opts *o, struct session *s, struct actions_plan *p, int rc,
		  const struct err *e)
{
	if (s->ctx.notice[0])
		fprintf(stderr, "churnops: %s\n", s->ctx.notice);
	if (o->json) {
		cJSON *j = actions_plan_json(p);
		if (j) {
			cJSON_AddStringToObject(j, "outcome", rc ? "failed" : "succeeded");
			if (rc)
				cJSON_AddStringToObject(j, "error", e->msg);
			print_json(j);
			cJSON_Delete(j);
		}
	} else if (!rc) {
		printf("%s of %s to %s in %s: done (plan %lld)\n", actions_kind_name(p->kind),
		       p->env, p->version,
		       p->registry_only ? "the registry only" : actions_strategy_name(p->strategy),
		       p->id);
	}
	if (rc)
		cli_fail(e);
	return rc;
}

static int run_plan_command(const struct cli_command *cmd, int argc, char **argv,
			    bool promote)
{
	struct opts o;
	int pr = parse(cmd, argc, argv, &o);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	if (!o.env)
		return cli_usage_error(cmd->name, "--env is required");
	const struct envs_env *env = envs_find(o.env);
	if (!env)
		return cli_usage_error(cmd->name, "--env: unknown environment '%s'", o.env);
	if (promote && !o.version)
		return cli_usage_error(cmd->name, "--version is required");
	if (promote && o.override && (!o.reason || !*o.reason))
		return cli_usage_error(cmd->name, "--override needs --reason");
	enum actions_strategy strategy;
	if (!strategy_for(cmd->name, o.strategy, o.env, &strategy))
		return EXIT_INPUT;
	if (o.registry_only && o.strategy)
		return cli_usage_error(cmd->name, "--registry-only moves no workload: --strategy "
				       "does not apply");
	bool read_only = read_only_for(&o, o.env);
	if (read_only && !o.dry_run) {
		fprintf(stderr, "churnops %s: read-only mode: refused (nothing changed)\n",
			cmd->name);
		return EXIT_CHECK;
	}
	struct err e = {0};
	struct session s;
	struct actions_plan *p = calloc(1, sizeof *p);
	if (!p)
		return cli_fail(&(struct err){EXIT_BACKEND, "out of memory"});
	int rc = session_open(&o, env, strategy == ACTIONS_CANARY, &s, &e);
	if (!rc && promote && strategy == ACTIONS_CANARY && !s.prom && !o.skip_analysis)
		rc = err_set(&e, EXIT_INPUT, "canary analysis needs Prometheus (--prometheus or "
			     "PROMETHEUS_URL); --skip-analysis waits and checks the pods only");
	if (!rc) {
		const char *actor = actor_of(o.actor);
		rc = promote ? actions_build_promote(&s.ctx, strategy, o.version, actor, o.reason,
						     o.override, p, &e)
			     : actions_build_rollback(&s.ctx, strategy,
						      o.target ? o.target : "previous", actor,
						      o.reason, p, &e);
	}
	if (rc) {
		cli_fail(&e);
		goto out;
	}
	if (o.dry_run) {
		if (o.json) {
			cJSON *j = actions_plan_json(p);
			cJSON_AddBoolToObject(j, "dry_run", true);
			print_json(j);
			cJSON_Delete(j);
		} else {
			print_plan(p, stdout);
			printf("dry run: nothing changed\n");
		}
		goto out;
	}
	if (!o.json)
		print_plan(p, stdout);
	if ((rc = confirm(cmd->name, &o, env->name)))
		goto out;
	rc = actions_execute(&s.ctx, p, &e);
	rc = finish(&o, &s, p, rc, &e);
out:
	free(p);
	session_close(&s);
	return rc;
}

static int run_promote(int argc, char **argv)
{
	return run_plan_command(&cli_promote_command, argc, argv, true);
}

static int run_rollback(int argc, char **argv)
{
	return run_plan_command(&cli_rollback_command, argc, argv, false);
}

int cli_actions_auto_rollback(const char *env_name, const char *strategy_name,
			      const char *why, FILE *log)
{
	const struct envs_env *env = envs_find(env_name);
	enum actions_strategy strategy = ACTIONS_ROLLING;
	if (!env) {
		fprintf(log, "churnops watch: %s: no such deployment environment; "
			     "no automatic rollback\n", env_name);
		return EXIT_INPUT;
	}
	if (!strategy_name)
		strategy_name = config_strategy(config_current(), env_name);
	if (strategy_name && !actions_strategy_parse(strategy_name, &strategy)) {
		fprintf(log, "churnops watch: --strategy '%s' is not rolling, blue-green or canary\n",
			strategy_name);
		return EXIT_INPUT;
	}
	struct opts o;
	memset(&o, 0, sizeof o);
	o.yes = true;
	struct err e = {0};
	struct session s;
	struct actions_plan *p = calloc(1, sizeof *p);
	if (!p)
		return EXIT_BACKEND;
	int rc = session_open(&o, env, false, &s, &e);
	s.ctx.progress_arg = log;
	if (!rc && s.ctx.read_only)
		rc = err_set(&e, EXIT_CHECK, "read-only mode: automatic rollback refused");
	if (!rc) {
		char reason[400];
		snprintf(reason, sizeof reason, "trigger: %s", why);
		rc = actions_build_rollback(&s.ctx, strategy, "previous", "churnops-watch", reason,
					    p, &e);
	}
	if (!rc) {
		p->trigger = true;
		print_plan(p, log);
		rc = actions_execute(&s.ctx, p, &e);
	}
	if (s.ctx.notice[0])
		fprintf(log, "churnops watch: %s\n", s.ctx.notice);
	if (rc)
		fprintf(log, "churnops watch: automatic rollback of %s failed: %s\n", env_name,
			e.msg);
	else
		fprintf(log, "churnops watch: %s rolled back to %s by trigger (plan %lld)\n",
			env_name, p->version, p->id);
	free(p);
	session_close(&s);
	return rc;
}

/* --- actions list | resume | abandon ------------------------------------------------ */

static cJSON *stored_plan_json(const struct store_plan *sp)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", (double)sp->id);
	cJSON_AddStringToObject(o, "env", sp->env);
	cJSON_AddStringToObject(o, "kind", sp->kind);
	cJSON_AddStringToObject(o, "version", sp->version);
	cJSON_AddStringToObject(o, "strategy", sp->strategy);
	cJSON_AddStringToObject(o, "actor", sp->actor);
	cJSON_AddStringToObject(o, "state", sp->state);
	cJSON_AddStringToObject(o, "detail", sp->detail);
	cJSON_AddStringToObject(o, "created", sp->created);
	cJSON_AddStringToObject(o, "updated", sp->updated);
	cJSON *a = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; i < sp->nsteps; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "description", sp->steps[i].description);
		cJSON_AddStringToObject(x, "state", sp->steps[i].state);
		cJSON_AddStringToObject(x, "intent_at", sp->steps[i].intent_at);
		cJSON_AddStringToObject(x, "result_at", sp->steps[i].result_at);
		cJSON_AddStringToObject(x, "result", sp->steps[i].result);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

static int actions_list(struct store *st, const struct opts *o, struct err *e)
{
	struct store_plan *v = NULL;
	size_t n = 0;
	int rc = store_plan_list(st, o->state, o->limit < 0 ? 20 : (size_t)o->limit, &v, &n, e);
	if (rc)
		return rc;
	/* Each environment's lock, to show who holds it and whether it is stale. */
	if (o->json) {
		cJSON *root = cJSON_CreateObject();
		cJSON *a = cJSON_AddArrayToObject(root, "plans");
		for (size_t i = 0; i < n; i++) {
			cJSON *x = stored_plan_json(&v[i]);
			struct store_lock l = {0};
			bool found = false;
			if (strcmp(v[i].state, "running") == 0 &&
			    store_lock_get(st, v[i].env, &l, &found, NULL) == 0 && found &&
			    l.plan_id == v[i].id) {
				cJSON *lk = cJSON_AddObjectToObject(x, "lock");
				cJSON_AddStringToObject(lk, "owner", l.owner);
				cJSON_AddNumberToObject(lk, "pid", (double)l.pid);
				cJSON_AddStringToObject(lk, "host", l.host);
				cJSON_AddStringToObject(lk, "started", l.started);
				cJSON_AddNumberToObject(lk, "age_s", l.age_s);
				cJSON_AddBoolToObject(lk, "stale", actions_lock_stale(&l));
			}
			store_lock_finish(&l);
			cJSON_AddItemToArray(a, x);
		}
		print_json(root);
		cJSON_Delete(root);
	} else {
		if (!n)
			printf("no plans in the journal\n");
		for (size_t i = 0; i < n; i++) {
			const struct store_plan *sp = &v[i];
			size_t done = 0;
			for (size_t k = 0; k < sp->nsteps; k++)
				done += strcmp(sp->steps[k].state, "done") == 0 ||
					strcmp(sp->steps[k].state, "skipped") == 0;
			char d[600];
			sanitize_text(sp->detail, strlen(sp->detail), d, sizeof d);
			printf("%-5lld %-10s %-9s %-10s %-12s %-10s %zu/%zu steps  %s  by %s%s%s\n",
			       sp->id, sp->env, sp->kind, sp->version, sp->strategy, sp->state, done,
			       sp->nsteps, sp->created, sp->actor, d[0] ? "  " : "", d);
			if (strcmp(sp->state, "running") == 0) {
				struct store_lock l = {0};
				bool found = false;
				if (store_lock_get(st, sp->env, &l, &found, NULL) == 0 && found &&
				    l.plan_id == sp->id)
					printf("      lock held by %s (pid %ld on %s, %.0fs)%s\n",
					       l.owner, l.pid, l.host, l.age_s,
					       actions_lock_stale(&l)
						       ? ": that process is gone; resume or abandon" : "");
				else
					printf("      no process holds it: interrupted; resume or abandon\n");
				store_lock_finish(&l);
			}
		}
	}
	store_plans_free(v, n);
	return 0;
}

static int run_actions(int argc, char **argv)
{
	struct opts o;
	int pr = parse(&cli_actions_command, argc, argv, &o);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	const char *verb = o.npos ? o.pos[0] : "list";
	struct err e = {0};
	if (strcmp(verb, "list") == 0) {
		struct store *st = store_open(NULL, &e);
		if (!st)
			return cli_fail(&e);
		int rc = actions_list(st, &o, &e);
		store_close(st);
		return rc ? cli_fail(&e) : 0;
	}
	if (strcmp(verb, "resume") != 0 && strcmp(verb, "abandon") != 0)
		return cli_usage_error("actions", "'%s': expected list, resume ID or abandon ID", verb);
	if (o.npos < 2)
		return cli_usage_error("actions", "%s needs a plan ID", verb);
	char *end;
	long long id = strtoll(o.pos[1], &end, 10);
	if (*end || id <= 0)
		return cli_usage_error("actions", "'%s' is not a plan ID", o.pos[1]);
	if (read_only_for(&o, NULL)) {
		fprintf(stderr, "churnops actions: read-only mode: %s refused\n", verb);
		return EXIT_CHECK;
	}
	if (strcmp(verb, "abandon") == 0) {
		struct store *st = store_open(NULL, &e);
		if (!st)
			return cli_fail(&e);
		char notice[256] = "";
		int rc = actions_abandon(st, id, actor_of(o.actor), notice, sizeof notice, &e);
		store_close(st);
		if (rc)
			return cli_fail(&e);
		if (notice[0])
			printf("%s\n", notice);
		printf("plan %lld abandoned; the cluster was left as it is "
		       "(churnops cluster status shows it)\n", id);
		return 0;
	}
	/* resume: the plan names its environment and strategy. */
	struct actions_plan *p = calloc(1, sizeof *p);
	if (!p)
		return EXIT_BACKEND;
	struct store *st0 = store_open(NULL, &e);
	int rc = st0 ? actions_load(st0, id, p, NULL, 0, &e) : (e.code ? e.code : EXIT_INPUT);
	store_close(st0);
	const struct envs_env *env = rc ? NULL : envs_find(p->env);
	if (!rc && !env)
		rc = err_set(&e, EXIT_INPUT, "plan %lld: unknown environment %s", id, p->env);
	struct session s;
	memset(&s, 0, sizeof s);
	if (!rc) {
		o.env = env->name;
		o.skip_analysis = true;
		o.registry_only = p->registry_only;
		rc = session_open(&o, env, p->strategy == ACTIONS_CANARY, &s, &e);
		if (!rc && s.prom)
			s.ctx.skip_analysis = false;
	}
	if (!rc) {
		if (!o.json) {
			printf("resuming plan %lld:\n", id);
			print_plan(p, stdout);
		}
		if ((rc = confirm("actions", &o, env->name)))
			goto out;
		rc = actions_resume(&s.ctx, id, p, &e);
		rc = finish(&o, &s, p, rc, &e);
	} else {
		cli_fail(&e);
	}
out:
	free(p);
	session_close(&s);
	return rc;
}

/* --- audit ------------------------------------------------------------------------------ */

static int run_audit(int argc, char **argv)
{
	struct opts o;
	int pr = parse(&cli_audit_command, argc, argv, &o);
	if (pr)
		return pr > 0 ? EXIT_OK : EXIT_INPUT;
	struct err e = {0};
	struct store *st = store_open(NULL, &e);
	if (!st)
		return cli_fail(&e);
	struct store_audit *v = NULL;
	size_t n = 0;
	int rc = store_audit_list(st, o.env, o.limit < 0 ? 50 : (size_t)o.limit, &v, &n, &e);
	store_close(st);
	if (rc)
		return cli_fail(&e);
	if (o.json) {
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++) {
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "id", (double)v[i].id);
			cJSON_AddStringToObject(x, "at", v[i].at);
			cJSON_AddStringToObject(x, "actor", v[i].actor);
			cJSON_AddStringToObject(x, "action", v[i].action);
			cJSON_AddStringToObject(x, "env", v[i].env);
			cJSON_AddStringToObject(x, "version", v[i].version);
			cJSON_AddStringToObject(x, "outcome", v[i].outcome);
			cJSON_AddStringToObject(x, "detail", v[i].detail);
			cJSON_AddStringToObject(x, "before", v[i].before);
			cJSON_AddStringToObject(x, "after", v[i].after);
			cJSON_AddStringToObject(x, "reason", v[i].reason);
			cJSON_AddItemToArray(a, x);
		}
		print_json(a);
		cJSON_Delete(a);
	} else {
		if (!n)
			printf("the audit log is empty\n");
		for (size_t i = 0; i < n; i++) {
			char d[1100], r[1100], ba[300];
			sanitize_text(v[i].detail, strlen(v[i].detail), d, sizeof d);
			sanitize_text(v[i].reason, strlen(v[i].reason), r, sizeof r);
			snprintf(ba, sizeof ba, "%s -> %s", v[i].before[0] ? v[i].before : "-",
				 v[i].after[0] ? v[i].after : "-");
			printf("%s  %-12s %-28s %-10s %-10s %-10s %-17s %s%s%s\n", v[i].at,
			       v[i].actor, v[i].action, v[i].env, v[i].version, v[i].outcome, ba, d,
			       r[0] ? "; reason: " : "", r);
		}
	}
	store_audit_free(v, n);
	return 0;
}
