/* app: the console's runtime: terminal, event loop, views, modals.
 *
 * One thread, the UI thread, runs tui_app_run(): the only code that calls
 * initscr() and endwin() (this file's app.c) and the only thread that
 * touches curses. The loop polls the terminal, the worker pool's pipe and a
 * self-pipe for SIGWINCH, with a timeout for timers (toasts), and redraws
 * after anything changed. Views never draw on their own: key handlers and
 * snapshot handlers change state and return, the loop then draws the whole
 * frame (header, the view in front, status line, any modal).
 *
 * The terminal is restored on every way out: a normal return, exit() from
 * anywhere (atexit), and SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTERM,
 * SIGINT, SIGHUP and SIGQUIT, whose handler writes the terminal's own
 * restore sequences, puts back the saved termios, then re-raises the signal
 * with its default action.
 *
 * A view is data plus a few functions (struct view_ops); its state is the
 * view's own, passed back as STATE to every function. Results of worker
 * jobs submitted with tui_app_submit() come back to on_snapshot() on the UI
 * thread, in the order they finish.
 */
#ifndef CHURNOPS_TUI_APP_H
#define CHURNOPS_TUI_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "command.h"
#include "err.h"
#include "keymap.h"
#include "layout.h"
#include "theme.h"
#include "worker.h"

struct tui_app;

enum tui_result {
	TUI_IGNORED, /* not for this view: the app may use the key */
	TUI_HANDLED, /* used; nothing visible changed */
	TUI_REDRAW,  /* used; draw a new frame */
};

struct view_ops {
	const char *name;             /* "what-if": tab label and :view NAME */
	enum keymap_action jump;      /* global action showing it, or ACT_NONE */
	enum keymap_scope scope;      /* its key bindings */
	/* Called when the view comes to the front (also the first time). */
	void (*show)(void *state, struct tui_app *app);
	void (*draw)(void *state, struct tui_app *app, struct tui_rect area);
	enum tui_result (*handle_key)(void *state, struct tui_app *app,
				      enum keymap_action action);
	/* A job this view submitted has finished (or posted progress). The
	 * view may take JOB->result (then set it to NULL); the app destroys
	 * the job afterwards. */
	void (*on_snapshot)(void *state, struct tui_app *app, struct worker_job *job);
	/* `/` typed TEXT (live, as it is typed); NULL when the view has no
	 * table to filter. Returns whether anything changed. */
	bool (*set_filter)(void *state, struct tui_app *app, const char *text);
	/* "churn 1.2.0": the model and version in view, for the header;
	 * NULL when the view shows none. */
	const char *(*context)(void *state);
	/* About once a second, for every view (in front or not): for data
	 * that refreshes itself and ages ("read 4s ago"). Returns whether the
	 * frame should be drawn again. NULL: no timer. */
	bool (*tick)(void *state, struct tui_app *app);
	/* The app is closing: tell running jobs to give up (set their cancel
	 * flags). Called before the workers are waited for; NULL: nothing. */
	void (*stop)(void *state);
	void (*destroy)(void *state);
};

struct tui_app_opts {
	const char *theme;       /* name or path; NULL: "dark" (or mono with NO_COLOR) */
	const char *environment; /* header's environment, e.g. "local" */
	bool read_only;
	/* Endpoints whose TLS verification is turned off ("prometheus,
	 * kubernetes"), shown as a warning badge in the header; NULL: none. */
	const char *tls_insecure;
	const char *start_view;  /* name; NULL: the first view added */
	const struct tui_command *commands; /* sorted; see tui/command.h */
	size_t ncommands;
	void *command_ctx;
};

/* Creates the app (no terminal yet) and its worker pool. Loads the theme,
 * so an unknown --theme fails here, before the screen changes. */
struct tui_app *tui_app_create(const struct tui_app_opts *o, struct err *e);

/* Adds a view; the app calls ops->destroy(STATE) when it is destroyed, and
 * also right away when adding fails. */
int tui_app_add_view(struct tui_app *app, const struct view_ops *ops,
		     void *state, struct err *e);

/* Takes the terminal and runs until quit; restores the terminal. Returns 0,
 * or an exit code when the terminal could not be set up. */
int tui_app_run(struct tui_app *app, struct err *e);

/* Stops the workers, destroys the views. NULL ok. */
void tui_app_destroy(struct tui_app *app);

/* ---- for views ---- */

/* Submits JOB for the view whose state is OWNER. */
int tui_app_submit(struct tui_app *app, void *owner, const struct worker_job *job,
		   struct err *e);
/* The pool, for jobs that post progress (worker_pool_post). */
struct worker_pool *tui_app_pool(struct tui_app *app);

/* A message in the status line for a few seconds. */
void tui_app_toast(struct tui_app *app, enum tui_role role, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line across the top of every view, in ROLE, until it is replaced or
 * cleared (TEXT NULL or ""): for what must not be missed whichever view
 * is in front, such as a firing rollback trigger. TEXT (raw) is copied. */
void tui_app_banner(struct tui_app *app, enum tui_role role, const char *text);

/* What the banner's key (ACT_BANNER) does while a banner shows: FN(STATE,
 * APP), set by whoever set the banner; FN NULL: the key does nothing. */
void tui_app_banner_key(struct tui_app *app,
			void (*fn)(void *state, struct tui_app *app), void *state);

/* A modal dialog showing TEXT (copied) until Enter or Esc. */
void tui_app_dialog(struct tui_app *app, const char *title, const char *text);

/* A one-line prompt in the status line. DONE(STATE, APP, TEXT) gets the
 * line on Enter, or NULL on Esc. CHANGE, if non-NULL, gets it after every
 * edit (for live filtering). INITIAL is copied. */
void tui_app_prompt(struct tui_app *app, const char *label, const char *initial,
		    void *state,
		    void (*done)(void *state, struct tui_app *app, const char *text),
		    void (*change)(void *state, struct tui_app *app, const char *text));

/* Puts TEXT on the terminal's clipboard with OSC 52 (the terminal, or tmux
 * with set-clipboard on, decides whether to honour it). */
void tui_app_clipboard(struct tui_app *app, const char *text);

/* Brings the view named NAME to the front; false when there is none. */
bool tui_app_show_view(struct tui_app *app, const char *name);

/* Names of the views, in order, joined by ", " into BUF of N bytes. */
const char *tui_app_view_names(struct tui_app *app, char *buf, size_t n);

/* Switches the theme (name or path). */
int tui_app_set_theme(struct tui_app *app, const char *name, struct err *e);

/* The clock views schedule their refreshes by, in seconds since the epoch:
 * time(NULL), unless CHURNOPS_REFRESH_SPEED=N (1..1000) was set when the app
 * was created, in which case it runs N times as fast from then on (and the
 * views' tick() runs N times as often), so an hour of refreshes takes a
 * minute at N = 60. Only schedules use it: read times and ages stay real. */
time_t tui_app_clock(void);

bool tui_app_read_only(const struct tui_app *app);
void tui_app_quit(struct tui_app *app, bool confirm);

/* The palette's command table, for the help view. */
const struct tui_command *tui_app_commands(const struct tui_app *app, size_t *n);

#endif
