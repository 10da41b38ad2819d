/* theme: semantic colour roles and the JSON files that define them.
 *
 * Views never name a colour: they draw with a role (ROLE_OK, ROLE_CRIT,
 * ROLE_SELECTED ...) and the theme decides what that looks like. A theme is
 * a JSON file in themes/:
 *
 *   {"name": "dark", "roles": {"ok": {"fg": "green", "attrs": ["bold"]},
 *                              "selected": {"fg": 16, "bg": 39}, ...}}
 *
 * A colour is a name (default, black, red, green, yellow, blue, magenta,
 * cyan, white, or bright-NAME) or a number 0..255. On a terminal with fewer
 * colours a number is replaced by the nearest of the eight basic colours and
 * bright-NAME by NAME with bold, so every theme stays legible on an 8-colour
 * terminal. Attributes: bold, dim, underline, reverse, standout, italic.
 * Roles a file leaves out keep the monochrome defaults, which use attributes
 * only; the "mono" theme and NO_COLOR use those alone.
 *
 * Parsing (theme_load) needs no terminal; theme_apply() must run on the UI
 * thread after start_color().
 */
#ifndef CHURNOPS_TUI_THEME_H
#define CHURNOPS_TUI_THEME_H

#include <stdbool.h>

#include "err.h"

enum tui_role {
	ROLE_NORMAL,
	ROLE_HEADER,
	ROLE_TITLE,
	ROLE_BORDER,
	ROLE_MUTED,
	ROLE_ACCENT,
	ROLE_OK,
	ROLE_WARN,
	ROLE_CRIT,
	ROLE_STALE,
	ROLE_SELECTED,
	ROLE_FOCUS,
	ROLE_PRODUCTION,
	ROLE_STAGING,
	ROLE_BADGE,
	ROLE_BAR_POS,
	ROLE_BAR_NEG,
	ROLE_INPUT,
	ROLE_DIALOG,
	ROLE_COUNT
};

#define THEME_COLOR_DEFAULT (-1)
#define THEME_NAME_MAX 64

struct theme_style {
	short fg, bg;        /* 0..255, or THEME_COLOR_DEFAULT */
	bool fg_bright, bg_bright; /* named bright-* colour (8-colour fallback) */
	unsigned attrs;      /* THEME_ATTR_* */
};

enum {
	THEME_ATTR_BOLD = 1u << 0,
	THEME_ATTR_DIM = 1u << 1,
	THEME_ATTR_UNDERLINE = 1u << 2,
	THEME_ATTR_REVERSE = 1u << 3,
	THEME_ATTR_STANDOUT = 1u << 4,
	THEME_ATTR_ITALIC = 1u << 5,
};

struct theme {
	char name[THEME_NAME_MAX];
	struct theme_style role[ROLE_COUNT];
};

/* The JSON key of ROLE ("selected"); NULL for ROLE_COUNT. */
const char *theme_role_name(enum tui_role role);

/* The monochrome theme: attributes only, right on any terminal. */
void theme_mono(struct theme *t);

/* Reads a theme. NAME is a path when it contains '/' or ends in ".json";
 * otherwise NAME.json is looked for in, in order: $CHURNOPS_THEMES, the
 * config directory's themes/ (paths.h: $CHURNOPS_HOME/config/themes, else
 * $XDG_CONFIG_HOME/churnops/themes), the source tree's themes/ (when built
 * from one) and the installed data directory.
 * Unknown roles, colours or attributes fail with EXIT_INPUT naming the file
 * and the key. */
int theme_load(struct theme *t, const char *name, struct err *e);

/* Parses theme JSON TEXT of LEN bytes; SOURCE names it in messages. */
int theme_parse(struct theme *t, const char *text, size_t len,
		const char *source, struct err *e);

/* A colour a terminal with NCOLORS colours can show in place of C (a
 * 0..255 index): itself when it fits, else the nearest basic colour by the
 * xterm palette's RGB values. */
short theme_fit_color(short c, int ncolors);

/* Installs T's colour pairs (curses must be started; UI thread only).
 * USE_COLOR false means attributes only. */
void theme_apply(const struct theme *t, bool use_color);

/* The curses attributes (colour pair included) that draw ROLE. */
int theme_attr(enum tui_role role);

#endif
