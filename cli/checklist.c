/* churnops checklist: sign-offs of manual checklist items, and the latest
 * checklist of an artifact as the store holds it, with what changes without
 * the artifact changing judged again now: the sign-offs, the model card and
 * the operational items (monitoring, rollback target, alert thresholds) for
 * the environment of --env. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checklist.h"
#include "cli.h"
#include "json.h"
#include "model.h"
#include "sanitize.h"
#include "schema.h"
#include "store.h"

static const struct cli_option signoff_options[] = {
	{"model", "DIR", "model directory; the sign-off holds for its model.json's sha256"},
	{"item", "ID", "the checklist item (a manual one: stakeholder_approval)"},
	{"by", "NAME", "who signs off"},
	{"note", "TEXT", "what was agreed, ticket, conditions"},
	{0},
};

static const struct cli_option show_options[] = {
	{"model", "DIR", "model directory"},
	{"json", NULL, "print JSON"},
	{"env", "ENV", "judge the operational items for this environment (default production)"},
	{"prometheus", "URL", "Prometheus for the monitoring item (default: $PROMETHEUS_URL)"},
	{"triggers", "FILE", "trigger configuration (default: CONFIG/triggers.json)"},
	{0},
};

static int run(int argc, char **argv);

static const struct cli_option no_options[] = {{0}};

const struct cli_command cli_checklist_command = {
	.name = "checklist",
	.synopsis = "signoff --model DIR --item ID --by NAME [--note TEXT] | show --model DIR [--env ENV] [--json]",
	.summary = "Sign off manual checklist items; show an artifact's latest checklist.",
	.options = no_options,
	.run = run,
};

/* The subcommands share the name "checklist", so their messages read
 * "churnops checklist: ..." like every other command's. */
static const struct cli_command signoff_command = {
	.name = "checklist",
	.synopsis = "signoff --model DIR --item ID --by NAME [--note TEXT]",
	.summary = "Record a sign-off for this model artifact (its sha256) in the store.",
	.options = signoff_options,
	.run = NULL,
};

static const struct cli_command show_command = {
	.name = "checklist",
	.synopsis = "show --model DIR [--env ENV] [--json]",
	.summary = "Show the latest validate run of this artifact with today's sign-offs "
		   "and operational items.",
	.options = show_options,
	.run = NULL,
};

/* The artifact's sha256 (newly allocated) of model directory DIR. */
static int artifact_sha(const char *dir, char **sha, struct err *e)
{
	struct model *m = NULL;
	struct schema *s = NULL;
	char *version = NULL;
	int rc = cli_load_model(dir, NULL, &m, &s, &version, e);
	if (!rc) {
		*sha = strdup(model_sha256(m));
		if (!*sha)
			rc = err_set(e, EXIT_INPUT, "out of memory");
	}
	model_destroy(m);
	schema_destroy(s);
	free(version);
	return rc;
}

static int signoff(int argc, char **argv)
{
	const char *cmd = signoff_command.name;
	const char *model = NULL, *item = NULL, *by = NULL, *note = NULL;
	struct cli_parser p;
	cli_parser_init(&p, &signoff_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			model = value;
		else if (!strcmp(name, "item"))
			item = value;
		else if (!strcmp(name, "by"))
			by = value;
		else if (!strcmp(name, "note"))
			note = value;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!model || !item || !by)
		return cli_usage_error(cmd, "--model, --item and --by are required");
	if (!*by)
		return cli_usage_error(cmd, "--by: a sign-off needs a name");
	if (checklist_find(item) < 0) {
		fprintf(stderr, "churnops %s: unknown checklist item '%s'; items:", cmd, item);
		for (size_t i = 0; i < CHECKLIST_NITEMS; i++)
			fprintf(stderr, " %s", checklist_defs[i].id);
		fprintf(stderr, "\n");
		return EXIT_INPUT;
	}
	if (!checklist_signable(item)) {
		fprintf(stderr, "churnops %s: '%s' is judged by churnops validate, not signed off; "
				"items to sign off:", cmd, item);
		for (size_t i = 0; i < CHECKLIST_NITEMS; i++)
			if (checklist_defs[i].manual)
				fprintf(stderr, " %s", checklist_defs[i].id);
		fprintf(stderr, "\n");
		return EXIT_INPUT;
	}
	struct err e = {0};
	char *sha = NULL;
	struct store *st = NULL;
	int rc = artifact_sha(model, &sha, &e);
	if (!rc && !(st = store_open(NULL, &e)))
		rc = e.code ? e.code : EXIT_INPUT;
	if (!rc)
		rc = store_add_signoff(st, sha, item, by, note, &e);
	if (rc) {
		cli_fail(&e);
	} else {
		char *who = sanitize_dup(by);
		printf("signed off %s for sha256 %s by %s\n", item, sha, who ? who : "?");
		free(who);
	}
	store_close(st);
	free(sha);
	return rc;
}

static void print_report_text(const cJSON *rep, const char *at)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(rep, "items"), *it;
	char *data = sanitize_dup(json_str(rep, "data") ? json_str(rep, "data") : "?");
	char *env = sanitize_dup(json_str(rep, "env") ? json_str(rep, "env") : "?");
	printf("latest validate run: %s on %s; operational items judged now for %s\n", at,
	       data ? data : "?", env ? env : "?");
	free(data);
	free(env);
	const char *section = "";
	cJSON_ArrayForEach(it, items)
	{
		const char *sec = json_str(it, "section");
		if (sec && strcmp(sec, section) != 0) {
			section = sec;
			printf("\n%s\n", section);
		}
		char value[64];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "value");
		const char *unit = json_str(it, "unit");
		if (cJSON_IsNumber(v))
			snprintf(value, sizeof value, "%.4g%s%s", v->valuedouble,
				 unit && *unit ? " " : "", unit ? unit : "");
		else
			snprintf(value, sizeof value, "%s", cJSON_IsString(v) ? v->valuestring : "-");
		char *ev = sanitize_dup(json_str(it, "evidence") ? json_str(it, "evidence") : "");
		char status[16];
		snprintf(status, sizeof status, "%s", json_str(it, "status") ? json_str(it, "status") : "?");
		for (char *c = status; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		char *val = sanitize_dup(value);
		printf("  %-8s %-21s %-14s %s\n           %s\n", status,
		       json_str(it, "id") ? json_str(it, "id") : "?", val ? val : "?",
		       json_str(it, "threshold") ? json_str(it, "threshold") : "", ev ? ev : "");
		free(ev);
		free(val);
	}
	printf("\nverdict: %s\n", json_str(rep, "verdict") ? json_str(rep, "verdict") : "?");
}

static int show(int argc, char **argv)
{
	const char *cmd = show_command.name;
	const char *model = NULL, *env = NULL, *prometheus = NULL, *triggers = NULL;
	bool json = false;
	struct cli_parser p;
	cli_parser_init(&p, &show_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			model = value;
		else if (!strcmp(name, "json"))
			json = true;
		else if (!strcmp(name, "env"))
			env = value;
		else if (!strcmp(name, "prometheus"))
			prometheus = value;
		else if (!strcmp(name, "triggers"))
			triggers = value;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (!model)
		return cli_usage_error(cmd, "--model is required");
	if (env && !*env)
		return cli_usage_error(cmd, "--env: give an environment name");
	struct err e = {0};
	char *sha = NULL;
	struct store *st = NULL;
	struct store_signoff *so = NULL;
	size_t nso = 0;
	struct store_checklist_run run = {0};
	struct checklist_context ctx = {0};
	bool found = false;
	cJSON *rep = NULL;
	int rc = artifact_sha(model, &sha, &e);
	if (!rc && !(st = store_open(NULL, &e)))
		rc = e.code ? e.code : EXIT_INPUT;
	struct checklist_context_opts co = {
		.env = env, .triggers = triggers, .prometheus = prometheus, .store = st,
	};
	if (!rc)
		rc = checklist_context_open(&ctx, &co, &e);
	if (!rc)
		rc = store_list_signoffs(st, sha, &so, &nso, &e);
	if (!rc)
		rc = store_last_checklist_run(st, sha, &run, &found, &e);
	if (!rc && found &&
	    !(rep = json_parse(run.report_json, strlen(run.report_json), store_path(st), &e)))
		rc = e.code ? e.code : EXIT_INPUT;
	if (rc) {
		cli_fail(&e);
		goto out;
	}
	if (rep) {
		checklist_refresh_ops_json(rep, &ctx);
		checklist_refresh_json(rep, model, sha, so, nso);
		cJSON_AddStringToObject(rep, "recorded_at", run.at);
	} else {
		/* No run: the same shape, with what can be known without one. */
		rep = cJSON_CreateObject();
		cJSON_AddNullToObject(rep, "verdict");
		cJSON *m = cJSON_AddObjectToObject(rep, "model");
		cJSON_AddStringToObject(m, "dir", model);
		cJSON_AddStringToObject(m, "sha256", sha);
		cJSON_AddArrayToObject(rep, "items");
		cJSON_AddNullToObject(rep, "recorded_at");
		checklist_refresh_json(rep, model, sha, so, nso);
		cJSON_ReplaceItemInObjectCaseSensitive(rep, "verdict", cJSON_CreateNull());
	}
	if (json) {
		char *text = cJSON_Print(rep);
		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		char *dir = sanitize_dup(model);
		printf("checklist of %s (sha256 %s)\n", dir ? dir : "?", sha);
		free(dir);
		if (found)
			print_report_text(rep, run.at);
		else
			printf("no validate run recorded for this artifact: churnops validate --model DIR --data TEST.csv\n");
		printf("\nsign-offs:%s\n", nso ? "" : " none");
		for (size_t i = 0; i < nso; i++) {
			char *by = sanitize_dup(so[i].by), *note = sanitize_dup(so[i].note);
			printf("  %s  %s by %s%s%s\n", so[i].at, so[i].item, by ? by : "?",
			       note && *note ? ": " : "", note ? note : "");
			free(by);
			free(note);
		}
	}
out:
	cJSON_Delete(rep);
	store_checklist_run_finish(&run);
	store_signoffs_free(so, nso);
	checklist_context_close(&ctx);
	store_close(st);
	free(sha);
	return rc;
}

static int run(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (sub && !strcmp(sub, "signoff"))
		return signoff(argc - 1, argv + 1);
	if (sub && !strcmp(sub, "show"))
		return show(argc - 1, argv + 1);
	if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"))) {
		cli_usage(&signoff_command, true);
		printf("\n");
		cli_usage(&show_command, true);
		return EXIT_OK;
	}
	if (!sub)
		return cli_usage_error("checklist", "give a subcommand: signoff or show");
	return cli_usage_error("checklist", "unknown subcommand '%s' (signoff or show)", sub);
}
