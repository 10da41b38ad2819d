/* console: puts the views together: finds the model versions, builds the
 * shared struct console, the palette's command table, and runs the app. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json.h"
#include "views.h"

static int cmd_compare(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	struct console *c = ctx;
	int rc = whatif_cmd_compare(c->whatif, app, args, e);
	if (!rc)
		tui_app_show_view(app, "what-if");
	return rc;
}

static int cmd_copy(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	struct console *c = ctx;
	return whatif_cmd_copy(c->whatif, app, args, e);
}

static int cmd_customer(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	struct console *c = ctx;
	int rc = whatif_cmd_customer(c->whatif, app, args, e);
	if (!rc)
		tui_app_show_view(app, "what-if");
	return rc;
}

static int cmd_help(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	(void)ctx;
	(void)args;
	(void)e;
	tui_app_show_view(app, "help");
	return 0;
}

static int cmd_quit(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	(void)ctx;
	(void)e;
	tui_app_quit(app, strcmp(args, "!") != 0);
	return 0;
}

static int cmd_theme(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	(void)ctx;
	if (!*args)
		return err_set(e, EXIT_INPUT, "theme NAME (dark, light, high-contrast, mono)");
	int rc = tui_app_set_theme(app, args, e);
	if (!rc)
		tui_app_toast(app, ROLE_OK, "theme %s", args);
	return rc;
}

static int cmd_typical(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	struct console *c = ctx;
	(void)args;
	int rc = whatif_cmd_typical(c->whatif, app, e);
	if (!rc)
		tui_app_show_view(app, "what-if");
	return rc;
}

static int cmd_version(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	struct console *c = ctx;
	int rc = whatif_cmd_version(c->whatif, app, args, e);
	if (!rc)
		tui_app_show_view(app, "what-if");
	return rc;
}

static int cmd_view(struct tui_app *app, void *ctx, const char *args, struct err *e)
{
	(void)ctx;
	char names[256];
	if (!tui_app_show_view(app, args))
		return err_set(e, EXIT_INPUT, "no view '%s' (%s)", args,
			       tui_app_view_names(app, names, sizeof names));
	return 0;
}

/* Sorted by name: command_find() and the palette's list rely on it. */
static const struct tui_command commands[] = {
	{"compare", "VERSION|off", "what-if: compare with another version side by side",
	 cmd_compare, false},
	{"copy", "json|command", "what-if: copy the record as JSON or a command line",
	 cmd_copy, false},
	{"customer", "ROW", "what-if: start from data row ROW (1 = first after the header)",
	 cmd_customer, false},
	{"help", "", "show the keys and commands", cmd_help, false},
	{"quit", "[!]", "quit (! without asking while a job runs)", cmd_quit, false},
	{"theme", "NAME", "switch theme: dark, light, high-contrast, mono or a file",
	 cmd_theme, false},
	{"typical", "", "what-if: start from the typical customer", cmd_typical, false},
	{"version", "VERSION", "what-if: score with VERSION", cmd_version, false},
	{"view", "NAME", "show a view: overview, deployments, metrics, checklist, what-if, registry, audit, card, help", cmd_view, false},
};

const struct tui_command *console_commands(size_t *n)
{
	*n = sizeof commands / sizeof commands[0];
	return commands;
}

static int by_version(const void *a, const void *b)
{
	const struct console_version *x = a, *y = b;
	return strverscmp(x->label, y->label);
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* The version label of model directory DIR: eval.json's "version", else
 * the directory's own name (as `churnops whatif` names it). */
static char *label_of(const char *dir, const char *name)
{
	char *path = join(dir, "eval.json");
	char *label = NULL;
	if (path && fileio_exists(path)) {
		struct err ignored = {0};
		cJSON *ev = json_load_file(path, &ignored);
		const char *v = json_str(ev, "version");
		if (v)
			label = strdup(v);
		cJSON_Delete(ev);
	}
	free(path);
	return label ? label : strdup(name);
}

static int add_version(struct console *c, const char *dir, const char *name,
		       struct err *e)
{
	struct console_version *nv =
		realloc(c->versions, (c->nversions + 1) * sizeof *nv);
	if (!nv)
		return err_set(e, EXIT_INPUT, "out of memory");
	c->versions = nv;
	struct console_version *v = &c->versions[c->nversions];
	v->dir = strdup(dir);
	v->label = label_of(dir, name);
	if (!v->dir || !v->label) {
		free(v->dir);
		free(v->label);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	c->nversions++;
	return 0;
}

static int find_versions(struct console *c, const char *root, struct err *e)
{
	DIR *d = opendir(root);
	if (!d)
		return 0; /* nothing there yet: the overview says so */
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *dir = join(root, de->d_name);
		char *model = dir ? join(dir, "model.json") : NULL;
		if (!dir || !model)
			rc = err_set(e, EXIT_INPUT, "out of memory");
		else if (fileio_exists(model))
			rc = add_version(c, dir, de->d_name, e);
		free(model);
		free(dir);
	}
	closedir(d);
	if (!rc)
		qsort(c->versions, c->nversions, sizeof *c->versions, by_version);
	return rc;
}

static void console_finish(struct console *c)
{
	for (size_t i = 0; i < c->nversions; i++) {
		free(c->versions[i].label);
		free(c->versions[i].dir);
	}
	free(c->versions);
	free(c->models_root);
	free(c->data);
	free(c->workspace);
	free(c->kubeconfig);
	free(c->cluster_note);
	free(c->metrics_note);
}

static int add(struct tui_app *app, const struct view_ops *ops, void *state,
	       struct err *e)
{
	if (!state)
		return err_set(e, EXIT_INPUT, "out of memory");
	return tui_app_add_view(app, ops, state, e);
}

int console_run(const struct console_opts *o, struct err *e)
{
	struct console c = {0};
	struct tui_app *app = NULL;
	int rc = 0;
	if (o->model_dir) {
		char *model = join(o->model_dir, "model.json");
		bool ok = model && fileio_exists(model);
		free(model);
		if (!ok) {
			rc = err_set(e, EXIT_INPUT, "--model %s: no model.json there (a model "
				     "directory holds model.json, schema.json and eval.json)",
				     o->model_dir);
			goto out;
		}
		const char *slash = strrchr(o->model_dir, '/');
		rc = add_version(&c, o->model_dir, slash && slash[1] ? slash + 1 : o->model_dir, e);
	} else if (o->models_root) {
		if (!(c.models_root = strdup(o->models_root)))
			rc = err_set(e, EXIT_INPUT, "out of memory");
		else
			rc = find_versions(&c, o->models_root, e);
	}
	if (rc)
		goto out;
	if ((o->data && !(c.data = strdup(o->data))) ||
	    (o->workspace && !(c.workspace = strdup(o->workspace))) ||
	    (o->kubeconfig && !(c.kubeconfig = strdup(o->kubeconfig))) ||
	    (o->cluster_note && !(c.cluster_note = strdup(o->cluster_note))) ||
	    (o->metrics_note && !(c.metrics_note = strdup(o->metrics_note)))) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	size_t ncmd;
	const struct tui_command *cmds = console_commands(&ncmd);
	struct tui_app_opts ao = {
		.theme = o->theme, .environment = "local", .read_only = o->read_only,
		.tls_insecure = o->tls_insecure,
		.start_view = o->view, .commands = cmds, .ncommands = ncmd,
		.command_ctx = &c,
	};
	app = tui_app_create(&ao, e);
	if (!app) {
		rc = e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	c.whatif = whatif_view_create(&c);
	c.deployments = deployments_view_create(&c);
	c.card = card_view_create(&c);
	c.registry = registry_view_create(&c);
	c.metrics = metrics_view_create(&c);
	if ((rc = add(app, &overview_view_ops, overview_view_create(&c), e)) ||
	    (rc = add(app, &deployments_view_ops, c.deployments, e)) ||
	    (rc = add(app, &metrics_view_ops, c.metrics, e)) ||
	    (rc = add(app, &checklist_view_ops, checklist_view_create(&c), e)) ||
	    (rc = add(app, &whatif_view_ops, c.whatif, e)) ||
	    (rc = add(app, &registry_view_ops, c.registry, e)) ||
	    (rc = add(app, &audit_view_ops, audit_view_create(&c), e)) ||
	    (rc = add(app, &card_view_ops, c.card, e)) ||
	    (rc = add(app, &help_view_ops, help_view_create(), e)))
		goto out;
	rc = tui_app_run(app, e);
out:
	tui_app_destroy(app);
	console_finish(&c);
	return rc;
}
