/* command: the `:` palette's table and its completion.
 *
 * The console's commands are one sorted const table of name, usage, help
 * and function (tmux's cmd_entry); this module finds a command by name or
 * unique prefix and completes a partly typed line. The table itself lives
 * with the console's views, which know what the commands do.
 */
#ifndef CHURNOPS_TUI_COMMAND_H
#define CHURNOPS_TUI_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct tui_app;

struct tui_command {
	const char *name;
	const char *usage;  /* arguments, e.g. "NAME" ("" for none) */
	const char *help;
	/* Runs with ARGS (the rest of the line, spaces trimmed; "" when none).
	 * Returns 0 or an exit code with E set; the palette shows E. */
	int (*run)(struct tui_app *app, void *ctx, const char *args, struct err *e);
	bool mutating;      /* refused with --read-only */
};

/* True when T's names are strictly increasing (strcmp). */
bool command_table_sorted(const struct tui_command *t, size_t n);

/* The command named by the first LEN bytes of NAME: an exact match, else
 * the only command that starts with it. NULL when none, or when several
 * start with it (then *AMBIGUOUS is set, if non-NULL). */
const struct tui_command *command_find(const struct tui_command *t, size_t n,
				       const char *name, size_t len,
				       bool *ambiguous);

/* Completes the command name in LINE: writes into OUT (OUTSIZE bytes) the
 * line extended by the longest prefix all matching names share, plus a
 * space when exactly one matches. Returns how many names match (0: OUT is
 * LINE unchanged). Only the first word is completed. */
size_t command_complete(const struct tui_command *t, size_t n, const char *line,
			char *out, size_t outsize);

/* Runs LINE ("name args"): finds the command, refuses a mutating one when
 * READ_ONLY, passes the arguments. */
int command_run(const struct tui_command *t, size_t n, struct tui_app *app,
		void *ctx, const char *line, bool read_only, struct err *e);

#endif
