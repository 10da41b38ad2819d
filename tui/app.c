#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "sanitize.h"
#include "widgets.h"

#define MAX_VIEWS 16
#define WORKERS 3
#define TOAST_SECONDS 4.0
#define PROMPT_MAX 512
#define PALETTE_ROWS 8
/* How often views' tick() runs (divided by the refresh speed). */
#define TICK_SECONDS 1.0
#define REFRESH_SPEED_MAX 1000.0
/* How long quitting waits for running jobs before leaving them behind. */
#define QUIT_WAIT_MS 1000
/* Keys beyond ASCII are kept apart from curses' KEY_* codes (which overlap
 * U+0100..U+01FF) by this bit; the keymap binds only ASCII and KEY_*. */
#define KEY_WIDE 0x40000000

enum modal {
	MODAL_NONE,
	MODAL_DIALOG,
	MODAL_PROMPT,
	MODAL_CONFIRM_QUIT,
};

struct app_view {
	const struct view_ops *ops;
	void *state;
};

struct tui_app {
	struct app_view views[MAX_VIEWS];
	size_t nviews, current, previous;
	bool started; /* the first view has been shown */

	struct theme theme;
	bool use_color;
	const char *environment;
	bool read_only;
	char tls_insecure[96];
	char *start_view;
	const struct tui_command *commands;
	size_t ncommands;
	void *command_ctx;

	struct worker_pool *pool;

	enum modal modal;
	char *dialog_title, *dialog_text;
	size_t dialog_scroll, dialog_lines, dialog_shown;

	char prompt_label[64];
	char prompt[PROMPT_MAX];
	bool prompt_palette;
	void *prompt_state;
	void (*prompt_done)(void *state, struct tui_app *app, const char *text);
	void (*prompt_change)(void *state, struct tui_app *app, const char *text);

	char toast[256];
	enum tui_role toast_role;
	double toast_until;
	char banner[512];        /* across every view; "" when none */
	enum tui_role banner_role;
	void (*banner_fn)(void *state, struct tui_app *app); /* ACT_BANNER */
	void *banner_state;

	bool quit;
	bool dirty;
	FILE *bench;
};

/* ---- terminal restore, reachable from signal handlers ---- */

static volatile sig_atomic_t curses_on;
static struct termios saved_tio;
static bool have_tio;
static char restore_seq[256];
static size_t restore_len;
static int sig_pipe[2] = {-1, -1};
static bool atexit_done;

static const int fatal_signals[] = {
	SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
};

/* Async-signal-safe: write() and tcsetattr() only. */
static void restore_terminal_raw(void)
{
	if (!curses_on)
		return;
	curses_on = 0;
	if (restore_len) {
		ssize_t w = write(STDOUT_FILENO, restore_seq, restore_len);
		(void)w;
	}
	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static void on_fatal_signal(int sig)
{
	restore_terminal_raw();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_winch(int sig)
{
	(void)sig;
	int saved = errno;
	char c = 'w';
	if (sig_pipe[1] >= 0) {
		ssize_t w = write(sig_pipe[1], &c, 1);
		(void)w;
	}
	errno = saved;
}

static void restore_at_exit(void)
{
	if (curses_on) {
		/* As stop_terminal(); the raw sequence would clear the main
		 * screen once endwin() has left the alternate one. */
		erase();
		refresh();
		endwin();
		curses_on = 0;
		if (have_tio)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
}

static void append_cap(const char *name)
{
	char *s = tigetstr(name);
	if (!s || s == (char *)-1)
		return;
	size_t n = strlen(s);
	if (restore_len + n < sizeof restore_seq) {
		memcpy(restore_seq + restore_len, s, n);
		restore_len += n;
	}
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal_signal;
	for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
		sigaction(fatal_signals[i], &sa, NULL);
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
}

static void uninstall_signals(void)
{
	for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
		signal(fatal_signals[i], SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
}

/* ---- time and the frame log ---- */

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CHURNOPS_BENCH_FRAMES=FILE logs every key and every frame with wall-clock
 * microseconds, for bench/console: "key US" and "frame US BUSY" where BUSY is
 * the count of unfinished jobs (0: the frame shows everything asked for), and
 * "job US VIEW" when a job of the VIEW'th view (from 0, in the order they were
 * added) hands over its result, so a soak test can count refreshes. */
static void bench_log(struct tui_app *app, const char *what, long extra)
{
	if (!app->bench)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (extra >= 0)
		fprintf(app->bench, "%s %lld %ld\n", what, us, extra);
	else
		fprintf(app->bench, "%s %lld\n", what, us);
	fflush(app->bench);
}

/* CHURNOPS_REFRESH_SPEED: the schedules' clock runs this many times as fast
 * as the wall clock from CLOCK_BASE (wall) and CLOCK_MONO (monotonic) on. */
static double refresh_speed = 1.0;
static time_t clock_base;
static double clock_mono;

static void read_refresh_speed(void)
{
	const char *s = getenv("CHURNOPS_REFRESH_SPEED");
	char *end;
	double v = s && *s ? strtod(s, &end) : 1.0;
	if (!s || !*s || *end || !(v >= 1.0))
		v = 1.0;
	refresh_speed = v < REFRESH_SPEED_MAX ? v : REFRESH_SPEED_MAX;
	clock_base = time(NULL);
	clock_mono = mono_now();
}

time_t tui_app_clock(void)
{
	if (refresh_speed == 1.0)
		return time(NULL);
	return clock_base + (time_t)((mono_now() - clock_mono) * refresh_speed);
}

/* ---- creation ---- */

struct tui_app *tui_app_create(const struct tui_app_opts *o, struct err *e)
{
	struct tui_app *app = calloc(1, sizeof *app);
	if (!app) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	read_refresh_speed();
	app->environment = o->environment ? o->environment : "local";
	app->read_only = o->read_only;
	if (o->tls_insecure && *o->tls_insecure)
		snprintf(app->tls_insecure, sizeof app->tls_insecure, " TLS UNVERIFIED: %s ",
			 o->tls_insecure);
	app->commands = o->commands;
	app->ncommands = o->ncommands;
	app->command_ctx = o->command_ctx;
	if (o->start_view && !(app->start_view = strdup(o->start_view)))
		goto oom;
	const char *nc = getenv("NO_COLOR");
	bool no_color = nc && *nc;
	/* An explicit --theme wins over NO_COLOR, as no-color.org asks of
	 * per-invocation options. */
	app->use_color = !no_color || o->theme;
	if (o->theme || !no_color) {
		if (theme_load(&app->theme, o->theme ? o->theme : "dark", e))
			goto fail;
		if (strcmp(app->theme.name, "mono") == 0)
			app->use_color = false;
	} else {
		theme_mono(&app->theme);
	}
	app->pool = worker_pool_create(WORKERS, e);
	if (!app->pool)
		goto fail;
	const char *bench = getenv("CHURNOPS_BENCH_FRAMES");
	if (bench && *bench && !(app->bench = fopen(bench, "a"))) {
		err_errno(e, EXIT_INPUT, errno, "CHURNOPS_BENCH_FRAMES %s", bench);
		goto fail;
	}
	return app;
oom:
	err_set(e, EXIT_INPUT, "out of memory");
fail:
	tui_app_destroy(app);
	return NULL;
}

int tui_app_add_view(struct tui_app *app, const struct view_ops *ops,
		     void *state, struct err *e)
{
	if (app->nviews == MAX_VIEWS) {
		if (ops->destroy)
			ops->destroy(state);
		return err_set(e, EXIT_INPUT, "too many views");
	}
	app->views[app->nviews++] = (struct app_view){ops, state};
	return 0;
}

/* An app whose workers did not stop: kept reachable, never freed, since a
 * stuck job may still use a view's state until the process exits. Volatile:
 * nothing reads it, and the compiler would otherwise drop the store, leaving
 * LeakSanitizer a leak to report at exit. */
static struct tui_app *volatile abandoned;

void tui_app_destroy(struct tui_app *app)
{
	if (!app)
		return;
	/* Workers first: a job may use a view's state (a model). Views tell
	 * their jobs to give up, so a hung server does not hold the exit. */
	for (size_t i = 0; i < app->nviews; i++)
		if (app->views[i].ops->stop)
			app->views[i].ops->stop(app->views[i].state);
	if (!worker_pool_destroy_within(app->pool, QUIT_WAIT_MS)) {
		abandoned = app;
		return;
	}
	for (size_t i = 0; i < app->nviews; i++)
		if (app->views[i].ops->destroy)
			app->views[i].ops->destroy(app->views[i].state);
	if (app->bench)
		fclose(app->bench);
	free(app->dialog_title);
	free(app->dialog_text);
	free(app->start_view);
	free(app);
}

/* ---- services for views ---- */

int tui_app_submit(struct tui_app *app, void *owner, const struct worker_job *job,
		   struct err *e)
{
	struct worker_job j = *job;
	j.owner = owner;
	return worker_pool_submit(app->pool, &j, e);
}

struct worker_pool *tui_app_pool(struct tui_app *app)
{
	return app->pool;
}

void tui_app_toast(struct tui_app *app, enum tui_role role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(app->toast, sizeof app->toast, fmt, ap);
	va_end(ap);
	app->toast_role = role;
	app->toast_until = mono_now() + TOAST_SECONDS;
	app->dirty = true;
}

void tui_app_banner(struct tui_app *app, enum tui_role role, const char *text)
{
	const char *now = text ? text : "";
	if (strcmp(app->banner, now) == 0 && app->banner_role == role)
		return;
	snprintf(app->banner, sizeof app->banner, "%s", now);
	app->banner_role = role;
	app->dirty = true;
}

void tui_app_banner_key(struct tui_app *app,
			void (*fn)(void *state, struct tui_app *app), void *state)
{
	app->banner_fn = fn;
	app->banner_state = state;
}

void tui_app_dialog(struct tui_app *app, const char *title, const char *text)
{
	free(app->dialog_title);
	free(app->dialog_text);
	app->dialog_title = strdup(title ? title : "");
	app->dialog_text = strdup(text ? text : "");
	app->dialog_scroll = 0;
	app->modal = MODAL_DIALOG;
	app->dirty = true;
}

void tui_app_prompt(struct tui_app *app, const char *label, const char *initial,
		    void *state,
		    void (*done)(void *state, struct tui_app *app, const char *text),
		    void (*change)(void *state, struct tui_app *app, const char *text))
{
	snprintf(app->prompt_label, sizeof app->prompt_label, "%s", label);
	snprintf(app->prompt, sizeof app->prompt, "%s", initial ? initial : "");
	app->prompt_state = state;
	app->prompt_done = done;
	app->prompt_change = change;
	app->prompt_palette = false;
	app->modal = MODAL_PROMPT;
	app->dirty = true;
}

void tui_app_clipboard(struct tui_app *app, const char *text)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	(void)app;
	size_t n = strlen(text);
	size_t out_len = 4 * ((n + 2) / 3);
	char *buf = malloc(out_len + 16);
	if (!buf)
		return;
	size_t k = 0;
	memcpy(buf, "\033]52;c;", 7);
	k = 7;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)text[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)text[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)text[i + 2];
		buf[k++] = b64[(v >> 18) & 63];
		buf[k++] = b64[(v >> 12) & 63];
		buf[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		buf[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	buf[k++] = '\a';
	/* Curses has flushed its own output at the last refresh; the sequence
	 * does not move the cursor, so writing it directly is safe. */
	fflush(stdout);
	size_t off = 0;
	while (off < k) {
		ssize_t w = write(STDOUT_FILENO, buf + off, k - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(buf);
}

static void show_index(struct tui_app *app, size_t i)
{
	if (i >= app->nviews)
		return;
	if (i != app->current || !app->started) {
		if (app->started)
			app->previous = app->current;
		app->current = i;
		app->started = true;
		if (app->views[i].ops->show)
			app->views[i].ops->show(app->views[i].state, app);
	}
	app->dirty = true;
}

bool tui_app_show_view(struct tui_app *app, const char *name)
{
	for (size_t i = 0; i < app->nviews; i++) {
		if (strcmp(app->views[i].ops->name, name) == 0) {
			show_index(app, i);
			return true;
		}
	}
	return false;
}

const char *tui_app_view_names(struct tui_app *app, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < app->nviews && used < n; i++) {
		int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
				 app->views[i].ops->name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

int tui_app_set_theme(struct tui_app *app, const char *name, struct err *e)
{
	struct theme t;
	int rc = theme_load(&t, name, e);
	if (rc)
		return rc;
	app->theme = t;
	app->use_color = strcmp(t.name, "mono") != 0;
	if (curses_on) {
		if (app->use_color && has_colors()) {
			start_color();
			use_default_colors();
		}
		theme_apply(&app->theme, app->use_color);
		clearok(curscr, TRUE);
	}
	app->dirty = true;
	return 0;
}

bool tui_app_read_only(const struct tui_app *app)
{
	return app->read_only;
}

const struct tui_command *tui_app_commands(const struct tui_app *app, size_t *n)
{
	*n = app->ncommands;
	return app->commands;
}

void tui_app_quit(struct tui_app *app, bool confirm)
{
	if (confirm && worker_pool_busy_foreground(app->pool) > 0) {
		app->modal = MODAL_CONFIRM_QUIT;
		app->dirty = true;
		return;
	}
	app->quit = true;
}

/* ---- drawing ---- */

static void draw_too_small(int rows, int cols)
{
	char msg[256];
	snprintf(msg, sizeof msg,
		 "Terminal too small (%dx%d): churnops needs at least %dx%d. "
		 "Enlarge the window, or press q to quit.",
		 cols, rows, LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS);
	size_t starts[16], lens[16];
	size_t n = layout_wrap(msg, cols > 2 ? cols - 2 : 1, starts, lens, 16);
	if (n > 16)
		n = 16;
	int y0 = rows > (int)n ? (rows - (int)n) / 2 : 0;
	for (size_t i = 0; i < n && (int)i < rows; i++) {
		char line[256];
		memcpy(line, msg + starts[i], lens[i]);
		line[lens[i]] = '\0';
		int x = cols > (int)lens[i] ? (cols - (int)lens[i]) / 2 : 0;
		widget_text(y0 + (int)i, x, cols - x, ROLE_WARN, line);
	}
}

static void draw_header(struct tui_app *app, struct tui_rect r)
{
	widget_clear(r, ROLE_HEADER);
	char left[128];
	snprintf(left, sizeof left, " churnops  env: %s ", app->environment);
	int x = r.x + widget_text(r.y, r.x, r.w, ROLE_HEADER, left);

	const struct app_view *cur = &app->views[app->current];
	const char *ctx = cur->ops->context ? cur->ops->context(cur->state) : NULL;
	/* The context is outside text (a version label, a directory's name):
	 * measured as drawn, and given at most a third of the line, so it
	 * never crowds out the tabs. */
	char raw[160], right[640];
	snprintf(raw, sizeof raw, " model: %s ", ctx ? ctx : "-");
	sanitize_display(raw, strlen(raw), right, sizeof right);
	int cw = sanitize_width(right), cmax = r.w / 3 > 30 ? r.w / 3 : 30;
	if (cw > cmax)
		cw = cmax;
	const char *badge = app->read_only ? " READ-ONLY " : "";
	int bw = (int)strlen(badge);
	/* Unverified TLS is a standing risk: its badge is never the one
	 * clipped away. */
	int tw = sanitize_width(app->tls_insecure);
	if (tw > r.w - x - bw)
		tw = r.w - x - bw > 0 ? r.w - x - bw : 0;
	int rw = cw + bw + tw;
	if (rw > r.w - x)
		rw = r.w - x;
	int rx = r.x + r.w - rw;
	widget_text_clean(r.y, rx, rw - tw - bw > 0 ? rw - tw - bw : 0, ROLE_HEADER, right);
	if (tw)
		widget_text(r.y, r.x + r.w - bw - tw, tw, ROLE_CRIT, app->tls_insecure);
	if (bw)
		widget_text(r.y, r.x + r.w - bw, bw, ROLE_BADGE, badge);

	/* Tabs in the room left between the two. */
	for (size_t i = 0; i < app->nviews && x < rx - 1; i++) {
		const struct view_ops *ops = app->views[i].ops;
		char tab[64], key[16] = "";
		const struct keymap_entry *ke = ops->jump ? keymap_entry_of(ops->jump) : NULL;
		if (ke)
			keymap_key_name(ke->keys[0], key, sizeof key);
		snprintf(tab, sizeof tab, " %s%s%s ", key, key[0] ? " " : "", ops->name);
		x += widget_text(r.y, x, rx - 1 - x,
				 i == app->current ? ROLE_SELECTED : ROLE_HEADER, tab);
	}
}

static void draw_palette_list(struct tui_app *app, struct tui_rect body)
{
	const char *line = app->prompt;
	while (*line == ' ')
		line++;
	size_t len = strcspn(line, " ");
	bool args = line[len] == ' ';
	int shown = 0;
	int y = body.y + body.h - 1;
	for (size_t i = app->ncommands; i-- > 0 && shown < PALETTE_ROWS;) {
		const struct tui_command *c = &app->commands[i];
		if (strncmp(c->name, line, len) != 0)
			continue;
		if (args && strlen(c->name) != len)
			continue;
		char text[256];
		snprintf(text, sizeof text, " %s %s  %s%s", c->name, c->usage, c->help,
			 c->mutating && app->read_only ? " (refused: read-only)" : "");
		widget_clear((struct tui_rect){y - shown, body.x, 1, body.w}, ROLE_DIALOG);
		widget_text(y - shown, body.x, body.w, ROLE_DIALOG, text);
		shown++;
	}
}

static void draw_status(struct tui_app *app, struct tui_rect r)
{
	widget_clear(r, ROLE_NORMAL);
	if (app->modal == MODAL_PROMPT) {
		int x = r.x + widget_text(r.y, r.x, r.w, ROLE_ACCENT, app->prompt_label);
		char clean[PROMPT_MAX * 4];
		sanitize_display(app->prompt, strlen(app->prompt), clean, sizeof clean);
		/* Show the end of a long line: the cursor is there. Whole
		 * characters are dropped from the left, and the text, already
		 * clean, is drawn as it is (escaping it again would double every
		 * backslash). */
		const char *p = clean;
		int avail = r.x + r.w - x - 1;
		int w = sanitize_width(p);
		while (w > avail && *p) {
			char one[8];
			size_t n = 1;
			while (n < 4 && ((unsigned char)p[n] & 0xc0) == 0x80)
				n++;
			memcpy(one, p, n);
			one[n] = '\0';
			w -= sanitize_width(one);
			p += n;
		}
		x += widget_text_clean(r.y, x, avail, ROLE_INPUT, p);
		move(r.y, x);
		return;
	}
	size_t busy = worker_pool_busy(app->pool);
	int right = 0;
	if (busy) {
		char b[48];
		snprintf(b, sizeof b, " working (%zu) ", busy);
		right = (int)strlen(b);
		widget_text_right(r.y, r.x + r.w - right, right, ROLE_WARN, b);
	}
	if (app->toast[0] && mono_now() < app->toast_until) {
		widget_text(r.y, r.x, r.w - right, app->toast_role, app->toast);
		return;
	}
	app->toast[0] = '\0';
	widget_text(r.y, r.x, r.w - right, ROLE_MUTED,
		    " ? help  : commands  / filter  Tab panel  q quit");
}

static void draw_frame(struct tui_app *app)
{
	erase();
	int rows = LINES, cols = COLS;
	struct layout_screen s = layout_screen(rows, cols);
	curs_set(0);
	if (s.too_small) {
		draw_too_small(rows, cols);
		refresh();
		return;
	}
	draw_header(app, s.header);
	if (app->banner[0] && s.body.h > 2) {
		struct tui_rect line = {s.body.y, s.body.x, 1, s.body.w};
		widget_clear(line, app->banner_role);
		widget_text(line.y, line.x + 1, line.w - 2, app->banner_role, app->banner);
		s.body.y++;
		s.body.h--;
	}
	const struct app_view *v = &app->views[app->current];
	v->ops->draw(v->state, app, s.body);
	if (app->modal == MODAL_DIALOG) {
		app->dialog_lines = widget_dialog(s.body, app->dialog_title, app->dialog_text,
						  "Up/Down scroll  Enter/Esc close",
						  app->dialog_scroll, &app->dialog_shown);
	} else if (app->modal == MODAL_CONFIRM_QUIT) {
		size_t shown;
		widget_dialog(s.body, "Quit?",
			      "A job is still running. Quit anyway? Its result will be lost.",
			      "y quit  n stay", 0, &shown);
	} else if (app->modal == MODAL_PROMPT && app->prompt_palette) {
		draw_palette_list(app, s.body);
	}
	draw_status(app, s.status);
	if (app->modal == MODAL_PROMPT)
		curs_set(1);
	refresh();
}

/* ---- keys ---- */

static void prompt_finish(struct tui_app *app, bool ok)
{
	void (*done)(void *, struct tui_app *, const char *) = app->prompt_done;
	void *state = app->prompt_state;
	char text[PROMPT_MAX];
	snprintf(text, sizeof text, "%s", app->prompt);
	app->modal = MODAL_NONE;
	app->prompt_palette = false;
	app->dirty = true;
	if (done)
		done(state, app, ok ? text : NULL);
}

static void palette_done(void *state, struct tui_app *app, const char *text)
{
	(void)state;
	if (!text)
		return;
	struct err e = {0};
	if (command_run(app->commands, app->ncommands, app, app->command_ctx, text,
			app->read_only, &e))
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
}

static void utf8_pop(char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		n--;
		if (((unsigned char)s[n] & 0xc0) != 0x80)
			break;
	}
	s[n] = '\0';
}

static void prompt_key(struct tui_app *app, int key)
{
	size_t n = strlen(app->prompt);
	bool changed = false;
	if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		prompt_finish(app, true);
		return;
	}
	if (key == 27) {
		prompt_finish(app, false);
		return;
	}
	if (key == '\t' && app->prompt_palette) {
		char out[PROMPT_MAX];
		command_complete(app->commands, app->ncommands, app->prompt, out, sizeof out);
		snprintf(app->prompt, sizeof app->prompt, "%s", out);
		changed = true;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		if (n == 0 && app->prompt_palette) {
			prompt_finish(app, false);
			return;
		}
		utf8_pop(app->prompt);
		changed = true;
	} else if (key == 21) { /* C-u */
		app->prompt[0] = '\0';
		changed = true;
	} else if (key == 23) { /* C-w */
		while (n > 0 && app->prompt[n - 1] == ' ')
			app->prompt[--n] = '\0';
		while (n > 0 && app->prompt[n - 1] != ' ')
			app->prompt[--n] = '\0';
		changed = true;
	} else if ((key >= 32 && key < 127) || (key & KEY_WIDE)) {
		wchar_t wc = (wchar_t)(key & ~KEY_WIDE);
		char mb[MB_LEN_MAX];
		mbstate_t ps;
		memset(&ps, 0, sizeof ps);
		size_t len = wcrtomb(mb, wc, &ps);
		if (len != (size_t)-1 && n + len < sizeof app->prompt) {
			memcpy(app->prompt + n, mb, len);
			app->prompt[n + len] = '\0';
			changed = true;
		}
	}
	if (changed) {
		app->dirty = true;
		if (app->prompt_change)
			app->prompt_change(app->prompt_state, app, app->prompt);
	}
}

static void filter_change(void *state, struct tui_app *app, const char *text)
{
	(void)state;
	const struct app_view *v = &app->views[app->current];
	if (v->ops->set_filter && v->ops->set_filter(v->state, app, text))
		app->dirty = true;
}

static void filter_done(void *state, struct tui_app *app, const char *text)
{
	if (!text)
		filter_change(state, app, "");
}

static void modal_key(struct tui_app *app, int key)
{
	switch (app->modal) {
	case MODAL_PROMPT:
		prompt_key(app, key);
		return;
	case MODAL_CONFIRM_QUIT:
		if (key == 'y' || key == 'Y')
			app->quit = true;
		else if (key == 'n' || key == 'N' || key == 27 || key == 'q')
			app->modal = MODAL_NONE;
		app->dirty = true;
		return;
	case MODAL_DIALOG: {
		enum keymap_action a = keymap_lookup(KEYMAP_LIST, key);
		size_t max = app->dialog_lines > app->dialog_shown
				     ? app->dialog_lines - app->dialog_shown : 0;
		if (a == ACT_SELECT || a == ACT_CANCEL || key == 'q')
			app->modal = MODAL_NONE;
		else if (a == ACT_DOWN && app->dialog_scroll < max)
			app->dialog_scroll++;
		else if (a == ACT_UP && app->dialog_scroll > 0)
			app->dialog_scroll--;
		else if (a == ACT_PAGE_DOWN)
			app->dialog_scroll = app->dialog_scroll + app->dialog_shown < max
						     ? app->dialog_scroll + app->dialog_shown : max;
		else if (a == ACT_PAGE_UP)
			app->dialog_scroll = app->dialog_scroll > app->dialog_shown
						     ? app->dialog_scroll - app->dialog_shown : 0;
		app->dirty = true;
		return;
	}
	case MODAL_NONE:
		break;
	}
}

static bool is_app_action(enum keymap_action a)
{
	switch (a) {
	case ACT_QUIT:
	case ACT_HELP:
	case ACT_PALETTE:
	case ACT_FILTER:
	case ACT_REDRAW:
	case ACT_VIEW_OVERVIEW:
	case ACT_VIEW_DEPLOYMENTS:
	case ACT_VIEW_METRICS:
	case ACT_VIEW_CHECKLIST:
	case ACT_VIEW_WHATIF:
	case ACT_VIEW_REGISTRY:
	case ACT_VIEW_AUDIT:
	case ACT_BANNER:
		return true;
	default:
		return false;
	}
}

static void app_action(struct tui_app *app, enum keymap_action a)
{
	switch (a) {
	case ACT_QUIT:
		tui_app_quit(app, true);
		return;
	case ACT_BANNER:
		if (app->banner[0] && app->banner_fn)
			app->banner_fn(app->banner_state, app);
		else
			tui_app_toast(app, ROLE_MUTED, "no banner to act on");
		app->dirty = true;
		return;
	case ACT_HELP:
		if (strcmp(app->views[app->current].ops->name, "help") == 0)
			show_index(app, app->previous);
		else if (!tui_app_show_view(app, "help"))
			tui_app_toast(app, ROLE_WARN, "no help view");
		return;
	case ACT_PALETTE:
		tui_app_prompt(app, ":", "", NULL, palette_done, NULL);
		app->prompt_palette = true;
		return;
	case ACT_FILTER: {
		const struct app_view *v = &app->views[app->current];
		if (!v->ops->set_filter) {
			tui_app_toast(app, ROLE_WARN, "nothing to filter in %s", v->ops->name);
			return;
		}
		tui_app_prompt(app, "/", "", NULL, filter_done, filter_change);
		return;
	}
	case ACT_REDRAW:
		clearok(curscr, TRUE);
		app->dirty = true;
		return;
	default:
		for (size_t i = 0; i < app->nviews; i++)
			if (app->views[i].ops->jump == a)
				show_index(app, i);
		return;
	}
}

static void handle_key(struct tui_app *app, int key)
{
	if (key == KEY_RESIZE) {
		app->dirty = true;
		return;
	}
	if (app->modal != MODAL_NONE) {
		modal_key(app, key);
		return;
	}
	struct layout_screen s = layout_screen(LINES, COLS);
	const struct app_view *v = &app->views[app->current];
	enum keymap_action a = keymap_lookup(v->ops->scope, key);
	if (s.too_small) {
		/* Nothing else is visible, so only quitting makes sense. */
		if (a == ACT_QUIT)
			tui_app_quit(app, true);
		return;
	}
	if (a == ACT_NONE)
		return;
	if (!is_app_action(a)) {
		enum tui_result r = v->ops->handle_key(v->state, app, a);
		if (r == TUI_REDRAW)
			app->dirty = true;
		if (r != TUI_IGNORED)
			return;
		if (a == ACT_CANCEL && app->previous != app->current) {
			show_index(app, app->previous);
			return;
		}
		return;
	}
	app_action(app, a);
}

static void dispatch_jobs(struct tui_app *app)
{
	struct worker_job *j;
	while ((j = worker_pool_take(app->pool))) {
		for (size_t i = 0; i < app->nviews; i++) {
			if (app->views[i].state == j->owner) {
				bench_log(app, "job", (long)i);
				if (app->views[i].ops->on_snapshot)
					app->views[i].ops->on_snapshot(app->views[i].state, app, j);
				break;
			}
		}
		worker_job_destroy(j);
		app->dirty = true;
	}
}

static void handle_resize(struct tui_app *app)
{
	char buf[64];
	while (read(sig_pipe[0], buf, sizeof buf) > 0)
		;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	app->dirty = true;
}

/* ---- the loop ---- */

/* Runs every view's tick(). What a tick asks to redraw (ages on screen)
 * changes once a real second, however fast the refresh clock runs, so such
 * a frame is drawn at most every TICK_SECONDS. */
static void tick_views(struct tui_app *app, double *last_frame)
{
	bool redraw = false;
	for (size_t i = 0; i < app->nviews; i++)
		if (app->views[i].ops->tick &&
		    app->views[i].ops->tick(app->views[i].state, app))
			redraw = true;
	double now = mono_now();
	if (redraw && now - *last_frame >= TICK_SECONDS * 0.99) {
		*last_frame = now;
		app->dirty = true;
	}
}

static int start_terminal(struct tui_app *app, struct err *e)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return err_set(e, EXIT_INPUT,
			       "the console needs a terminal (for scripts, use the subcommands: "
			       "churnops --help)");
	have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	const char *cs = nl_langinfo(CODESET);
	widget_set_unicode(cs && strcmp(cs, "UTF-8") == 0);
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return err_errno(e, EXIT_INPUT, errno, "pipe");
	set_escdelay(25);
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		sig_pipe[0] = sig_pipe[1] = -1;
		const char *t = getenv("TERM");
		return err_set(e, EXIT_INPUT, "cannot use the terminal (TERM=%s)",
			       t ? t : "(unset)");
	}
	set_term(scr);
	/* The alternate screen is cleared before it is left: a terminal that
	 * was enlarged meanwhile (tmux) keeps what lies beyond the main screen's
	 * old size, which would otherwise be the last frame. */
	restore_len = 0;
	append_cap("sgr0");
	append_cap("cnorm");
	append_cap("rmkx");
	append_cap("clear");
	append_cap("rmcup");
	curses_on = 1;
	if (!atexit_done) {
		atexit(restore_at_exit);
		atexit_done = true;
	}
	install_signals();
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	if (app->use_color && has_colors()) {
		start_color();
		use_default_colors();
	}
	theme_apply(&app->theme, app->use_color);
	return 0;
}

static void stop_terminal(void)
{
	if (!curses_on)
		return;
	erase();
	refresh();
	endwin();
	SCREEN *scr = set_term(NULL);
	curses_on = 0;
	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	uninstall_signals();
	if (scr)
		delscreen(scr);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
}

static void read_keys(struct tui_app *app)
{
	wint_t ch;
	int r;
	while (!app->quit && (r = get_wch(&ch)) != ERR) {
		int key = r == KEY_CODE_YES ? (int)ch : ch < 128 ? (int)ch : (int)(ch | KEY_WIDE);
		bench_log(app, "key", -1);
		handle_key(app, key);
	}
}

int tui_app_run(struct tui_app *app, struct err *e)
{
	if (app->nviews == 0)
		return err_set(e, EXIT_INPUT, "no views");
	size_t first = 0;
	if (app->start_view) {
		size_t i;
		for (i = 0; i < app->nviews; i++)
			if (strcmp(app->views[i].ops->name, app->start_view) == 0)
				break;
		if (i == app->nviews) {
			char names[256];
			return err_set(e, EXIT_INPUT, "--view %s: no such view (%s)",
				       app->start_view,
				       tui_app_view_names(app, names, sizeof names));
		}
		first = i;
	}
	int rc = start_terminal(app, e);
	if (rc)
		return rc;
	show_index(app, first);
	app->previous = first;
	app->dirty = true;
	double next_tick = 0, tick_frame = 0;
	for (size_t i = 0; i < app->nviews; i++)
		if (app->views[i].ops->tick)
			next_tick = mono_now() + TICK_SECONDS / refresh_speed;
	while (!app->quit) {
		if (app->dirty) {
			app->dirty = false;
			draw_frame(app);
			bench_log(app, "frame", (long)worker_pool_busy(app->pool));
		}
		int timeout = next_tick > 0 ? (int)((next_tick - mono_now()) * 1000) + 1 : -1;
		if (timeout < 0 && next_tick > 0)
			timeout = 0;
		if (app->toast[0]) {
			double left = app->toast_until - mono_now();
			int t = left > 0 ? (int)(left * 1000) + 1 : 0;
			if (timeout < 0 || t < timeout)
				timeout = t;
		}
		struct pollfd fds[3] = {
			{.fd = STDIN_FILENO, .events = POLLIN},
			{.fd = worker_pool_fd(app->pool), .events = POLLIN},
			{.fd = sig_pipe[0], .events = POLLIN},
		};
		int n = poll(fds, 3, timeout);
		if (n < 0 && errno != EINTR) {
			rc = err_errno(e, EXIT_INPUT, errno, "poll");
			break;
		}
		if (next_tick > 0 && mono_now() >= next_tick) {
			next_tick = mono_now() + TICK_SECONDS / refresh_speed;
			tick_views(app, &tick_frame);
		}
		if (n == 0 && app->toast[0]) {
			app->dirty = true;
			continue;
		}
		if (fds[2].revents & POLLIN)
			handle_resize(app);
		if (fds[1].revents & POLLIN)
			dispatch_jobs(app);
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (fds[0].revents & (POLLHUP | POLLERR) && !(fds[0].revents & POLLIN))
				break; /* the terminal went away */
			read_keys(app);
		}
	}
	stop_terminal();
	return rc;
}
