/* churnops console, churnops demo, churnops keys: the terminal console, the
 * demo workspace it opens on, and the key list the man page is built from. */
#include <locale.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "demo.h"
#include "fileio.h"
#include "json.h"
#include "keymap.h"
#include "kubeconfig.h"
#include "paths.h"
#include "prom.h"
#include "store.h"
#include "theme.h"
#include "views.h"

static int console_main(int argc, char **argv);
static int demo_main(int argc, char **argv);
static int keys_main(int argc, char **argv);

static const struct cli_option console_options[] = {
	{"model", "DIR", "open on this model directory only"},
	{"data", "FILE", "customer CSV for what-if (default: the workspace's)"},
	{"theme", "NAME", "dark (default), light, high-contrast, mono, or a .json file"},
	{"read-only", NULL, "hide and refuse every mutating action"},
	{"view", "NAME", "start in this view: overview, deployments, metrics, checklist, what-if, registry, help"},
	{"kubeconfig", "FILE", "kubeconfig for the cluster (default: $KUBECONFIG, ~/.kube/config)"},
	{0},
};

const struct cli_command cli_console_command = {
	.name = "console",
	.synopsis = "[--model DIR] [--data FILE] [--theme NAME] [--read-only] [--view NAME] "
		    "[--kubeconfig FILE]",
	.summary = "Open the terminal console (also what 'churnops' alone does).",
	.options = console_options,
	.run = console_main,
};

static const struct cli_option demo_options[] = {
	{"reset", NULL, "delete the demo workspace and train it again"},
	{"no-console", NULL, "prepare the workspace, print where it is, do not open the console"},
	{"theme", "NAME", "console theme"},
	{"read-only", NULL, "open the console read-only"},
	{"view", "NAME", "start in this view"},
	{0},
};

const struct cli_command cli_demo_command = {
	.name = "demo",
	.synopsis = "[--reset] [--no-console] [--theme NAME] [--read-only] [--view NAME]",
	.summary = "Create (or reuse) the demo workspace, start the sandbox cluster and open "
		   "the console on both.",
	.options = demo_options,
	.run = demo_main,
};

static const struct cli_option keys_options[] = {
	{"man", NULL, "print roff for the man page's KEYS section"},
	{0},
};

const struct cli_command cli_keys_command = {
	.name = "keys",
	.synopsis = "[--man]",
	.summary = "List the console's keys and palette commands.",
	.options = keys_options,
	.run = keys_main,
};

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* The source tree's copy of a file, if the binary knows one. */
static char *source_file(const char *rel)
{
	const char *root = getenv("CHURNOPS_SOURCE_ROOT");
#ifdef CHURNOPS_SOURCE_ROOT
	if (!root || !*root)
		root = CHURNOPS_SOURCE_ROOT;
#endif
	if (!root || !*root)
		return NULL;
	char *p = join(root, rel);
	if (p && !fileio_exists(p)) {
		free(p);
		p = NULL;
	}
	return p;
}

/* The demo data set to copy in: $CHURNOPS_DATA, the source tree's, or the
 * installed one. */
static char *demo_source_csv(void)
{
	const char *env = getenv("CHURNOPS_DATA");
	if (env && *env)
		return strdup(env);
	char *p = source_file("data/" DEMO_DATA_FILE);
	if (p)
		return p;
#ifdef CHURNOPS_DATADIR
	if (fileio_exists(CHURNOPS_DATADIR "/" DEMO_DATA_FILE))
		return strdup(CHURNOPS_DATADIR "/" DEMO_DATA_FILE);
#endif
	return NULL;
}

/* Curses needs the user's character set; numbers keep the C locale. A
 * terminal whose locale is not UTF-8 still gets UTF-8 when the C library
 * has C.UTF-8, since every terminal emulator in use speaks it. */
static void console_locale(void)
{
	setlocale(LC_CTYPE, "");
	const char *cs = nl_langinfo(CODESET);
	if (!cs || strcmp(cs, "UTF-8") != 0) {
		const char *lang = getenv("LC_ALL");
		if (!lang || !*lang)
			lang = getenv("LC_CTYPE");
		if (!lang || !*lang)
			lang = getenv("LANG");
		/* Only an unset or plain C/POSIX locale is upgraded: a user
		 * who chose another character set keeps it. */
		if (!lang || !*lang || !strcmp(lang, "C") || !strcmp(lang, "POSIX"))
			setlocale(LC_CTYPE, "C.UTF-8");
	}
}

/* The configured theme (core/config.h), or NULL. A theme that does not
 * load is an error naming the file: a typo should not silently fall back. */
static int config_theme(const char **theme, struct err *e)
{
	const struct config *c = config_current();
	*theme = c->theme;
	struct theme check;
	if (c->theme && theme_load(&check, c->theme, e))
		return err_prefix(e, "%s: \"theme\"", c->path ? c->path : "configuration");
	return 0;
}

/* The endpoints whose TLS verification is off, for the header: the
 * configured ones and the kubeconfig's cluster. */
static void tls_insecure_note(const char *kubeconfig, char *buf, size_t n)
{
	const struct config *c = config_current();
	struct prom_options po = {0};
	config_prom_options(c, &po);
	struct kubeconfig_options ko = {.file = kubeconfig};
	struct kubeconfig *kc = NULL;
	struct err ignored = {0};
	bool kube = kubeconfig_load(&ko, &kc, &ignored) == 0 && kc->tls.insecure;
	kubeconfig_destroy(kc);
	const struct {
		bool off;
		const char *name;
	} ends[] = {{config_mlflow(c).insecure, "mlflow"}, {po.insecure, "prometheus"},
		    {kube, "kubernetes"}};
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
		if (ends[i].off && used < n)
			used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
						 ends[i].name);
}

struct open_args {
	const char *model, *data, *theme, *view;
	const char *kubeconfig;   /* NULL: KUBECONFIG, ~/.kube/config */
	const char *cluster_note; /* no cluster, because of this */
	const char *metrics_note; /* no Prometheus, because of this */
	bool read_only;
};

/* Opens the console on WORKSPACE (its models/ and data/), or on --model. */
static int open_console(const struct open_args *a, const char *workspace)
{
	struct err e = {0};
	char *models_root = NULL, *data = NULL;
	int rc = 0;
	if (!a->model && workspace && !(models_root = join(workspace, "models")))
		return cli_fail(&(struct err){EXIT_INPUT, "out of memory"});
	if (a->data) {
		if (!fileio_exists(a->data)) {
			free(models_root);
			return cli_usage_error("console", "--data %s: no such file", a->data);
		}
		data = strdup(a->data);
	} else {
		char *ws_data = workspace ? join(workspace, "data/" DEMO_DATA_FILE) : NULL;
		if (ws_data && fileio_exists(ws_data)) {
			data = ws_data;
		} else {
			free(ws_data);
			data = source_file("data/" DEMO_DATA_FILE);
		}
	}
	/* --theme, else the configured theme, else the default (which
	 * NO_COLOR turns to monochrome). */
	const char *configured = NULL;
	if (!a->theme && (rc = config_theme(&configured, &e))) {
		free(models_root);
		free(data);
		return cli_fail(&e);
	}
	console_locale();
	char insecure[96];
	tls_insecure_note(a->kubeconfig, insecure, sizeof insecure);
	struct console_opts o = {
		.model_dir = a->model, .models_root = models_root, .data = data,
		.workspace = a->model ? NULL : workspace,
		.theme = a->theme ? a->theme : configured,
		.view = a->view,
		.read_only = a->read_only || config_read_only(config_current(), NULL),
		.kubeconfig = a->kubeconfig, .cluster_note = a->cluster_note,
		.metrics_note = a->metrics_note, .tls_insecure = insecure,
	};
	rc = console_run(&o, &e);
	if (rc)
		cli_fail(&e);
	free(models_root);
	free(data);
	return rc;
}

static int console_main(int argc, char **argv)
{
	struct open_args a = {0};
	struct cli_parser p;
	cli_parser_init(&p, &cli_console_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "model"))
			a.model = value;
		else if (!strcmp(name, "data"))
			a.data = value;
		else if (!strcmp(name, "theme"))
			a.theme = value;
		else if (!strcmp(name, "view"))
			a.view = value;
		else if (!strcmp(name, "kubeconfig"))
			a.kubeconfig = value;
		else if (!strcmp(name, "read-only"))
			a.read_only = true;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	if (a.kubeconfig && !fileio_exists(a.kubeconfig))
		return cli_usage_error("console", "--kubeconfig %s: no such file", a.kubeconfig);
	/* The user's own workspace is the data directory; until it holds
	 * models of its own, the demo workspace (if one was made) stands in. */
	struct err e = {0};
	char *workspace = NULL;
	if (!a.model) {
		workspace = paths_data_dir(&e);
		if (!workspace)
			return cli_fail(&e);
		char *models = join(workspace, "models");
		bool has_models = models && fileio_exists(models);
		free(models);
		char *demo = has_models ? NULL : demo_dir(&e);
		char *demo_models = demo ? join(demo, "models") : NULL;
		if (demo_models && fileio_exists(demo_models)) {
			free(workspace);
			workspace = demo;
			demo = NULL;
		}
		free(demo);
		free(demo_models);
	}
	int rc = open_console(&a, workspace);
	free(workspace);
	return rc;
}

struct progress {
	bool tty;
	char last[128];
};

static void demo_progress(void *ud, const char *version, int step, int nsteps,
			  const char *phase, int done, int total)
{
	struct progress *p = ud;
	char line[128];
	snprintf(line, sizeof line, "demo: training version %s (%d/%d): %s", version,
		 step, nsteps, phase);
	if (p->tty) {
		if (total > 1)
			fprintf(stderr, "\r\033[K%s %d/%d", line, done, total);
		else
			fprintf(stderr, "\r\033[K%s", line);
	} else if (strcmp(line, p->last) != 0) {
		fprintf(stderr, "%s\n", line);
	}
	snprintf(p->last, sizeof p->last, "%s", line);
}

/* The demo's sandbox, stopped by whichever way the process leaves: the
 * normal return, exit() from anywhere (atexit), and a crash or kill (the
 * child dies with us: PR_SET_PDEATHSIG). */
static struct demo_sandbox *demo_cluster;

static void stop_demo_cluster(void)
{
	demo_sandbox_stop(demo_cluster);
	demo_cluster = NULL;
}

/* Starts the sandbox cluster (sandbox/kubesim.py from the source tree or
 * the installed data directory) and writes DIR/kubeconfig for it. Returns
 * the kubeconfig's path, or NULL with NOTE saying why there is no cluster. */
static char *start_demo_cluster(const char *dir, char *note, size_t n)
{
	char *script = source_file("sandbox/kubesim.py");
#ifdef CHURNOPS_DATADIR
	if (!script && fileio_exists(CHURNOPS_DATADIR "/sandbox/kubesim.py"))
		script = strdup(CHURNOPS_DATADIR "/sandbox/kubesim.py");
#endif
	char *kubeconfig = join(dir, "kubeconfig");
	char *log = join(dir, "sandbox.log");
	struct err e = {0};
	if (!kubeconfig || !log) {
		snprintf(note, n, "out of memory");
	} else if (!script) {
		snprintf(note, n, "the demo's sandbox cluster (sandbox/kubesim.py) is not installed "
			 "with this churnops");
	} else if (demo_sandbox_start("python3", script, 5, kubeconfig, log, 30, &demo_cluster,
				      &e)) {
		snprintf(note, n, "the demo's sandbox cluster did not start: %.900s", e.msg);
	} else {
		atexit(stop_demo_cluster);
		free(script);
		free(log);
		return kubeconfig;
	}
	free(script);
	free(log);
	free(kubeconfig);
	return NULL;
}

/* The demo's versions in the embedded registry, staged as the sandbox runs
 * them (core/demo.h). A failure is said and the demo goes on: the console
 * shows the registry as it is. */
static void register_demo_versions(const char *dir)
{
	struct err e = {0};
	struct store *st = store_open(NULL, &e);
	if (!st || demo_register(dir, st, "churnops-demo", NULL, &e))
		fprintf(stderr, "churnops demo: the registry was left as it is: %s\n", e.msg);
	store_close(st);
}

/* The demo's Prometheus, stopped like its sandbox. */
static struct demo_prometheus *demo_prom;

static void stop_demo_prometheus(void)
{
	demo_prometheus_stop(demo_prom);
	demo_prom = NULL;
}

/* Starts Prometheus scraping the demo's sandbox (DIR/prometheus holds its
 * configuration, TSDB and log) and points the console at it through
 * PROMETHEUS_URL. $CHURNOPS_PROMETHEUS names the binary ("" for none);
 * otherwise the installed one. Without it, NOTE says how to install it and
 * false is returned; a server that fails to start is said in NOTE too. */
static bool start_demo_prometheus(const char *dir, char *note, size_t n)
{
	const char *bin = getenv("CHURNOPS_PROMETHEUS");
	if (!bin)
		bin = demo_prometheus_find();
	else if (!*bin || access(bin, X_OK) != 0)
		bin = NULL;
	if (!bin) {
		snprintf(note, n, "Prometheus is not installed: 'apt-get install prometheus', "
			 "then run churnops demo again for live metrics from the sandbox");
		return false;
	}
	const char *url = demo_sandbox_url(demo_cluster);
	const char *target = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
	char *pdir = join(dir, "prometheus");
	char *log = pdir ? join(pdir, "prometheus.log") : NULL;
	struct err e = {0};
	bool ok = false;
	if (!pdir || !log)
		snprintf(note, n, "out of memory");
	else if (demo_prometheus_start(bin, pdir, target, log, 30, &demo_prom, &e))
		snprintf(note, n, "the demo's Prometheus did not start: %.900s", e.msg);
	else if (setenv("PROMETHEUS_URL", demo_prometheus_url(demo_prom), 1) != 0)
		snprintf(note, n, "PROMETHEUS_URL could not be set");
	else
		ok = true;
	if (ok)
		atexit(stop_demo_prometheus);
	else
		stop_demo_prometheus();
	free(log);
	free(pdir);
	return ok;
}

static int demo_main(int argc, char **argv)
{
	struct open_args a = {0};
	bool reset = false, no_console = false;
	struct cli_parser p;
	cli_parser_init(&p, &cli_demo_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1) {
		if (!strcmp(name, "reset"))
			reset = true;
		else if (!strcmp(name, "no-console"))
			no_console = true;
		else if (!strcmp(name, "theme"))
			a.theme = value;
		else if (!strcmp(name, "view"))
			a.view = value;
		else if (!strcmp(name, "read-only"))
			a.read_only = true;
	}
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	char *src = demo_source_csv();
	struct demo_opts o = {.source_csv = src, .reset = reset, .threads = 0};
	struct progress pr = {.tty = isatty(STDERR_FILENO)};
	struct err e = {0};
	char *dir = NULL;
	int rc = demo_ensure(&o, demo_progress, &pr, &dir, &e);
	if (pr.tty && pr.last[0])
		fprintf(stderr, "\r\033[K");
	free(src);
	if (rc)
		return cli_fail(&e);
	register_demo_versions(dir);
	if (no_console) {
		printf("%s\n", dir);
	} else {
		char note[1024], prom_note[1024];
		char *kubeconfig = start_demo_cluster(dir, note, sizeof note);
		a.kubeconfig = kubeconfig;
		a.cluster_note = kubeconfig ? NULL : note;
		if (kubeconfig && !start_demo_prometheus(dir, prom_note, sizeof prom_note))
			a.metrics_note = prom_note;
		rc = open_console(&a, dir);
		stop_demo_prometheus();
		stop_demo_cluster();
		free(kubeconfig);
	}
	free(dir);
	return rc;
}

static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

static int keys_main(int argc, char **argv)
{
	bool man = false;
	struct cli_parser p;
	cli_parser_init(&p, &cli_keys_command, argc, argv);
	const char *name, *value;
	int r;
	while ((r = cli_next(&p, &name, &value)) == 1)
		if (!strcmp(name, "man"))
			man = true;
	if (r == 2)
		return EXIT_OK;
	if (r < 0)
		return EXIT_INPUT;
	size_t nk, nc;
	const struct keymap_entry *km = keymap_table(&nk);
	const struct tui_command *cmds = console_commands(&nc);
	if (man) {
		keymap_write_man(stdout);
		printf(".SS Palette commands\n");
		for (size_t i = 0; i < nc; i++) {
			printf(".TP\n.B :");
			roff(stdout, cmds[i].name);
			if (cmds[i].usage[0]) {
				printf(" \\fI");
				roff(stdout, cmds[i].usage);
				printf("\\fR");
			}
			printf("\n");
			roff(stdout, cmds[i].help);
			printf("\n");
		}
		return EXIT_OK;
	}
	for (int s = 0; s < KEYMAP_NSCOPES; s++) {
		printf("%s%s\n", s ? "\n" : "", keymap_scope_name((enum keymap_scope)s));
		for (size_t i = 0; i < nk; i++) {
			if ((int)km[i].scope != s)
				continue;
			char keys[64];
			printf("  %-18s %s\n", keymap_keys_text(&km[i], keys, sizeof keys),
			       km[i].help);
		}
	}
	printf("\nPalette commands (press :)\n");
	for (size_t i = 0; i < nc; i++) {
		char left[64];
		snprintf(left, sizeof left, ":%s %s", cmds[i].name, cmds[i].usage);
		printf("  %-24s %s\n", left, cmds[i].help);
	}
	return EXIT_OK;
}
