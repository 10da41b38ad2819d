#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "json.h"
#include "model.h"
#include "num.h"
#include "schema.h"

void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd,
		     int argc, char **argv)
{
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	p->next = 1;
}

void cli_usage(const struct cli_command *cmd, bool to_stdout)
{
	FILE *f = to_stdout ? stdout : stderr;
	fprintf(f, "usage: churnops %s %s\n\n%s\n\noptions:\n", cmd->name,
		cmd->synopsis, cmd->summary);
	for (const struct cli_option *o = cmd->options; o->name; o++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-24s %s\n", left, o->help);
	}
	fprintf(f, "  %-24s %s\n", "--help", "show this help");
}

/* Whether the option ARG ("--name", not "--name=value") takes a value. */
static bool takes_value(const struct cli_command *cmd, const char *arg)
{
	const char *a = arg + 2;
	if (strchr(a, '='))
		return false;
	for (const struct cli_option *o = cmd->options; o->name; o++)
		if (strcmp(o->name, a) == 0)
			return o->arg != NULL;
	return false;
}

int cli_split_args(const struct cli_command *cmd, int argc, char **argv, int first,
		   char **rest, int *nrest, const char **pos, int maxpos, int *npos)
{
	*nrest = 0;
	rest[(*nrest)++] = argv[0];
	for (int i = first; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
			rest[(*nrest)++] = argv[i];
			if (takes_value(cmd, argv[i]) && i + 1 < argc)
				rest[(*nrest)++] = argv[++i];
		} else if (*npos < maxpos) {
			pos[(*npos)++] = argv[i];
		} else {
			return i;
		}
	}
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "churnops %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_INPUT;
}

int cli_next(struct cli_parser *p, const char **name, const char **value)
{
	if (p->next >= p->argc)
		return 0;
	const char *a = p->argv[p->next++];
	const char *cmd = p->cmd->name;
	if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
		cli_usage_error(cmd, "unexpected argument '%s' (churnops %s --help lists the options)",
				a, cmd);
		return -1;
	}
	a += 2;
	const char *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	if (len == 4 && strncmp(a, "help", 4) == 0) {
		cli_usage(p->cmd, true);
		return 2;
	}
	for (const struct cli_option *o = p->cmd->options; o->name; o++) {
		if (strlen(o->name) != len || strncmp(o->name, a, len) != 0)
			continue;
		*name = o->name;
		if (!o->arg) {
			if (eq) {
				cli_usage_error(cmd, "--%s takes no value", o->name);
				return -1;
			}
			*value = NULL;
		} else if (eq) {
			*value = eq + 1;
		} else if (p->next < p->argc) {
			*value = p->argv[p->next++];
		} else {
			cli_usage_error(cmd, "--%s needs a value (%s)", o->name, o->arg);
			return -1;
		}
		return 1;
	}
	cli_usage_error(cmd, "unknown option '--%.*s' (churnops %s --help lists the options)",
			(int)len, a, cmd);
	return -1;
}

bool cli_int(const char *cmd, const char *name, const char *value, long min,
	     long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max) {
		cli_usage_error(cmd, "--%s: '%s' is not a whole number from %ld to %ld",
				name, value, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_double(const char *cmd, const char *name, const char *value,
		double min, double max, double *out)
{
	double v;
	if (!num_parse(value, &v) || v < min || v > max) {
		cli_usage_error(cmd, "--%s: '%s' is not a number from %g to %g", name,
				value, min, max);
		return false;
	}
	*out = v;
	return true;
}

int cli_fail(const struct err *e)
{
	fprintf(stderr, "churnops: %s\n", e->msg[0] ? e->msg : "failed");
	return e->code ? e->code : EXIT_CHECK;
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* eval.json's "version" if the directory has one, else its base name. */
static char *version_of(const char *model_arg, bool is_dir, struct err *e)
{
	if (is_dir) {
		char *eval_path = path_join(model_arg, "eval.json");
		if (eval_path && fileio_exists(eval_path)) {
			struct err ignored;
			cJSON *eval = json_load_file(eval_path, &ignored);
			const char *v = json_str(eval, "version");
			char *copy = v ? strdup(v) : NULL;
			cJSON_Delete(eval);
			if (copy) {
				free(eval_path);
				return copy;
			}
		}
		free(eval_path);
	}
	char *tmp = strdup(model_arg);
	if (!tmp) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	char *v = strdup(basename(tmp));
	free(tmp);
	if (!v)
		err_set(e, EXIT_INPUT, "out of memory");
	return v;
}

int cli_load_model(const char *model_arg, const char *schema_arg,
		   struct model **m, struct schema **s, char **version,
		   struct err *e)
{
	struct stat st;
	*m = NULL;
	*s = NULL;
	*version = NULL;
	if (stat(model_arg, &st) != 0)
		return err_errno(e, EXIT_INPUT, errno, "--model %s", model_arg);
	bool is_dir = S_ISDIR(st.st_mode);
	char *model_path = is_dir ? path_join(model_arg, "model.json") : strdup(model_arg);
	char *schema_path = schema_arg ? strdup(schema_arg)
			  : is_dir ? path_join(model_arg, "schema.json") : NULL;
	int rc = 0;
	if (!model_path || (!schema_path && (schema_arg || is_dir))) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	if (!schema_path) {
		rc = err_set(e, EXIT_INPUT,
			     "--model %s is a model file: give its schema with --schema",
			     model_arg);
		goto out;
	}
	*s = schema_load(schema_path, e);
	if (!*s) {
		rc = e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	*m = model_load(model_path, *s, e);
	if (!*m) {
		rc = e->code ? e->code : EXIT_INPUT;
		goto out;
	}
	*version = version_of(model_arg, is_dir, e);
	if (!*version)
		rc = EXIT_INPUT;
out:
	if (rc) {
		model_destroy(*m);
		schema_destroy(*s);
		*m = NULL;
		*s = NULL;
	}
	free(model_path);
	free(schema_path);
	return rc;
}
