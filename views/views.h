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
	char *kubeconfig;   /* --kubeconfig, or NULL: KUBECONFIG, ~/.kube/config */
	char *cluster_note; /* why there is no cluster (the demo's sandbox), or NULL */
	char *metrics_note; /* why there is no Prometheus (the demo's), or NULL */
	void *deployments;  /* the deployments view's state, for the overview */
	void *card;         /* the model card pager's state, for the checklist */
	void *registry;     /* the registry view's state, for the overview */
	void *metrics;      /* the metrics view's state, for the overview */
};

struct console_opts {
	const char *model_dir;   /* --model: just this directory */
	const char *models_root; /* else: every model directory in here */
	const char *data;        /* customer CSV; NULL: none */
	const char *workspace;   /* for display */
	const char *theme;
	const char *view;        /* start view name */
	const char *kubeconfig;  /* --kubeconfig; NULL: KUBECONFIG, ~/.kube/config */
	const char *cluster_note; /* set: no cluster, and this says why */
	const char *metrics_note; /* set: no Prometheus, and this says why */
	const char *tls_insecure; /* endpoints without TLS verification, or NULL */
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
extern const struct view_ops deployments_view_ops;
extern const struct view_ops checklist_view_ops;
extern const struct view_ops card_view_ops;
extern const struct view_ops help_view_ops;
extern const struct view_ops registry_view_ops;
extern const struct view_ops metrics_view_ops;
extern const struct view_ops audit_view_ops;

/* View states: created here, destroyed by the app through ops->destroy. */
void *overview_view_create(struct console *c);
void *whatif_view_create(struct console *c);
void *deployments_view_create(struct console *c);
void *checklist_view_create(struct console *c);
void *card_view_create(struct console *c);
void *registry_view_create(struct console *c);
void *metrics_view_create(struct console *c);
void *audit_view_create(struct console *c);

/* For the overview's backends panel: what the registry view last read
 * ("registry: production 1.2.0, staging 1.3.0, last-known-good 1.1.0 ...")
 * in BUF of N bytes, or why it cannot be read, and the role to draw it
 * in; false when no model version is registered (or nothing was read yet). */
bool registry_view_summary(void *state, char *buf, size_t n, enum tui_role *role);

/* The same for the metrics view: each environment's trigger states at a
 * glance; false when it has nothing to say (not read yet, or Prometheus
 * not configured). */
bool metrics_view_summary(void *state, char *buf, size_t n, enum tui_role *role);

/* For the overview's metric panel: one line per metric of one environment
 * (production when it has data, else the first that does) drawn in R: the
 * environment and metric, a sparkline of the chart's latest points, the
 * current value and the trigger state in its colour. Returns the lines
 * drawn; 0 when no environment has data yet. metrics_view_sparkline_rows
 * says beforehand how many lines that is. */
int metrics_view_sparklines(void *state, struct tui_rect r);
int metrics_view_sparkline_rows(void *state);

/* Loads the model card of the version in DIR (labelled LABEL) into the
 * card pager whose state is STATE: DIR/model_card.md when it is this
 * artifact's, else one rendered from REPORT_JSON (a checklist report; NULL:
 * the latest stored run). The caller then shows the "card" view. */
void card_view_open(void *state, struct tui_app *app, const char *dir, const char *label,
		    const char *report_json);

/* The deployments view's environments, for the overview's cluster panel:
 * how many, and environment I's health at a glance in BUF of N bytes
 * ("staging: ok - churn-prediction rev 3 1.2.0, 3/3 ready (2s ago)"), with
 * the role to draw it in. */
size_t deployments_env_count(void *state);
/* Brings up the rollback plan of environment NAME in the deployments view
 * whose state is STATE (as R there does) and shows that view. */
void deployments_view_rollback(void *state, struct tui_app *app, const char *name);
enum tui_role deployments_env_health(void *state, size_t i, char *buf, size_t n);
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
