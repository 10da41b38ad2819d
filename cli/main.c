/* churnops: the command-line entry point. Each subcommand lives in its own
 * file and is listed in one table here; `churnops help` is generated from
 * that table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "model.h"

#define CHURNOPS_VERSION "0.1.0"


static const struct cli_command *const commands[] = {
	&cli_train_command,
	&cli_score_command,
	&cli_whatif_command,
	&cli_validate_command,
	&cli_checklist_command,
	&cli_card_command,
	&cli_drift_command,
	&cli_cluster_command,
	&cli_registry_command,
	&cli_status_command,
	&cli_metrics_command,
	&cli_alerts_command,
	&cli_watch_command,
	&cli_smoke_command,
	&cli_loadtest_command,
	&cli_promote_command,
	&cli_rollback_command,
	&cli_actions_command,
	&cli_audit_command,
	&cli_console_command,
	&cli_demo_command,
	&cli_keys_command,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: churnops [--version] [--help] [--config FILE] COMMAND [OPTIONS]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\n'churnops COMMAND --help' shows a command's options; "
		   "man churnops has the whole story.\n");
}

static const struct cli_command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* Loads the configuration file before any command runs, so a broken file
 * is reported once, up front, rather than half-way through an action. */
static int load_config(void)
{
	struct err e = {0};
	if (config_init(&e) == 0)
		return 0;
	fprintf(stderr, "churnops: %s\n", e.msg);
	return e.code ? e.code : EXIT_INPUT;
}

int main(int argc, char **argv)
{
	/* The one global option: --config FILE (or --config=FILE) before the
	 * command. */
	if (argc >= 2 && strncmp(argv[1], "--config", 8) == 0 &&
	    (argv[1][8] == '\0' || argv[1][8] == '=')) {
		const char *file = argv[1][8] == '=' ? argv[1] + 9 : argc >= 3 ? argv[2] : NULL;
		if (!file || !*file) {
			fprintf(stderr, "churnops: --config needs a file\n");
			return EXIT_INPUT;
		}
		config_set_file(file);
		int drop = argv[1][8] == '=' ? 1 : 2;
		argv[drop] = argv[0];
		argv += drop;
		argc -= drop;
	}
	int rc = 0;
	/* No command, or options only ("churnops --model DIR --data F"):
	 * the console. */
	if (argc < 2 || (strncmp(argv[1], "--", 2) == 0 && strcmp(argv[1], "--help") != 0 &&
			 strcmp(argv[1], "--version") != 0))
		return (rc = load_config()) ? rc : cli_console_command.run(argc, argv);
	const char *a = argv[1];
	if (strcmp(a, "--version") == 0 || strcmp(a, "version") == 0) {
		char v[64];
		model_library_version(v, sizeof v);
		printf("churnops %s (xgboost %s)\n", CHURNOPS_VERSION, v);
		return EXIT_OK;
	}
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(a, "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return EXIT_OK;
		}
		const struct cli_command *c = find(argv[2]);
		if (!c) {
			fprintf(stderr, "churnops: no command '%s' (churnops --help lists them)\n",
				argv[2]);
			return EXIT_INPUT;
		}
		cli_usage(c, true);
		return EXIT_OK;
	}
	const struct cli_command *c = find(a);
	if (!c) {
		fprintf(stderr, "churnops: no command '%s' (churnops --help lists them)\n", a);
		return EXIT_INPUT;
	}
	if (c != &cli_keys_command && (rc = load_config()))
		return rc;
	return c->run(argc - 1, argv + 1);
}
