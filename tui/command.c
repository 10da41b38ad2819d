#include "command.h"

#include <stdio.h>
#include <string.h>

bool command_table_sorted(const struct tui_command *t, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(t[i - 1].name, t[i].name) >= 0)
			return false;
	return true;
}

const struct tui_command *command_find(const struct tui_command *t, size_t n,
				       const char *name, size_t len,
				       bool *ambiguous)
{
	const struct tui_command *found = NULL;
	size_t matches = 0;
	if (ambiguous)
		*ambiguous = false;
	if (len == 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(t[i].name, name, len) != 0)
			continue;
		if (strlen(t[i].name) == len)
			return &t[i];
		found = &t[i];
		matches++;
	}
	if (matches > 1) {
		if (ambiguous)
			*ambiguous = true;
		return NULL;
	}
	return found;
}

size_t command_complete(const struct tui_command *t, size_t n, const char *line,
			char *out, size_t outsize)
{
	snprintf(out, outsize, "%s", line);
	while (*line == ' ')
		line++;
	size_t len = strlen(line);
	if (strchr(line, ' '))
		return 0;
	const char *first = NULL;
	size_t common = 0, matches = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(t[i].name, line, len) != 0)
			continue;
		if (!first) {
			first = t[i].name;
			common = strlen(first);
		} else {
			size_t k = 0;
			while (k < common && first[k] == t[i].name[k])
				k++;
			common = k;
		}
		matches++;
	}
	if (matches == 0)
		return 0;
	snprintf(out, outsize, "%.*s%s", (int)common, first, matches == 1 ? " " : "");
	return matches;
}

int command_run(const struct tui_command *t, size_t n, struct tui_app *app,
		void *ctx, const char *line, bool read_only, struct err *e)
{
	while (*line == ' ')
		line++;
	size_t len = strcspn(line, " ");
	if (len == 0)
		return err_set(e, EXIT_INPUT, "type a command; Tab completes, ? lists keys");
	bool ambiguous;
	const struct tui_command *c = command_find(t, n, line, len, &ambiguous);
	if (!c)
		return err_set(e, EXIT_INPUT, "%s command '%.*s'",
			       ambiguous ? "ambiguous" : "no", (int)len, line);
	if (c->mutating && read_only)
		return err_set(e, EXIT_CHECK, "%s: refused, the console is read-only", c->name);
	const char *args = line + len;
	while (*args == ' ')
		args++;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", args);
	size_t bl = strlen(buf);
	while (bl > 0 && buf[bl - 1] == ' ')
		buf[--bl] = '\0';
	return c->run(app, ctx, buf, e);
}
