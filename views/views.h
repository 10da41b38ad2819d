/* views: the console's views and what they share.
 *
 * Each view is a `const struct view_ops` (tui/app.h) plus its state. They
 * share one struct console: the model versions known locally and the
 * customer data file, found once when the console opens. Views read files
 * and score only through worker jobs; the UI thread draws snapshots.
 */
#ifndef CHURNOPS_VIEWS_H
#define CHURNOPS_VIEWS_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "err.h"

/* A model version known locally: a model directory. */
struct console_version {
	char *label; /* eval.json "version", else the directory's name */
	char *dir;
};

struct console {
	struct console_version *versions; /* sorted by version (strverscmp) */
	size_t nversions;
	char *models_root;  /* where versions were found, or NULL (--model) */
	char *data;         /* customer CSV, or NULL */
	char *workspace;    /* shown in the overview, or NULL */
	void *whatif;       /* the what-if view's state, for palette commands */
};

struct console_opts {
	const char *model_dir;   /* --model: just this directory */
	const char *models_root; /* else: every model directory in here */
	const char *data;        /* customer CSV; NULL: none */
	const char *workspace;   /* for display */
	const char *theme;
	const char *view;        /* start view name */
	bool read_only;
};

/* Opens the console and runs it until the user quits. Errors (no terminal,
 * unknown theme or view, an unreadable --model) return an exit code with E
 * set, and leave the terminal as it was. */
int console_run(const struct console_opts *o, struct err *e);

/* The command palette's table (sorted by name), for `churnops keys`. */
const struct tui_command *console_commands(size_t *n);

extern const struct view_ops overview_view_ops;
extern const struct view_ops whatif_view_ops;
extern const struct view_ops help_view_ops;

/* View states: created here, destroyed by the app through ops->destroy. */
void *overview_view_create(struct console *c);
void *whatif_view_create(struct console *c);
void *help_view_create(void);

/* What-if operations behind palette commands; each returns 0 or an exit
 * code with E set. */
int whatif_cmd_version(void *state, struct tui_app *app, const char *label,
		       struct err *e);
int whatif_cmd_compare(void *state, struct tui_app *app, const char *label,
		       struct err *e);
int whatif_cmd_customer(void *state, struct tui_app *app, const char *row,
			struct err *e);
int whatif_cmd_typical(void *state, struct tui_app *app, struct err *e);
int whatif_cmd_copy(void *state, struct tui_app *app, const char *what,
		    struct err *e);

#endif
