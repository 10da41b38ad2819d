#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "A/B" or "A/B/C" (C may be NULL), newly allocated. */
static char *join(const char *a, const char *b, const char *c, struct err *e)
{
	size_t n = strlen(a) + strlen(b) + (c ? strlen(c) + 1 : 0) + 2;
	char *p = malloc(n);
	if (!p) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
	return p;
}

/* The directory for one kind of file: HOME_SUB under CHURNOPS_HOME, else
 * "churnops" under the XDG variable, else FALLBACK under HOME. */
static char *resolve(const char *home_sub, const char *xdg_var,
		     const char *fallback, struct err *e)
{
	const char *ch = getenv("CHURNOPS_HOME");
	if (ch && *ch)
		return join(ch, home_sub, NULL, e);
	const char *x = getenv(xdg_var);
	if (x && x[0] == '/')
		return join(x, "churnops", NULL, e);
	const char *home = getenv("HOME");
	if (!home || home[0] != '/') {
		err_set(e, EXIT_INPUT,
			"cannot tell where to keep churnops' files: set CHURNOPS_HOME, %s or HOME",
			xdg_var);
		return NULL;
	}
	return join(home, fallback, "churnops", e);
}

char *paths_data_dir(struct err *e)
{
	return resolve("data", "XDG_DATA_HOME", ".local/share", e);
}

char *paths_config_dir(struct err *e)
{
	return resolve("config", "XDG_CONFIG_HOME", ".config", e);
}

char *paths_state_dir(struct err *e)
{
	return resolve("state", "XDG_STATE_HOME", ".local/state", e);
}
