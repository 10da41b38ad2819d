/* help: every key and every palette command, generated from the keymap
 * and the command table, so it cannot disagree with what the keys do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "views.h"
#include "widgets.h"

struct help {
	size_t scroll;
	int page;
};

/* Line I of the help text into BUF; returns false past the end. Built on
 * the fly: the keymap and command tables are const, so nothing to cache. */
static bool help_line(struct tui_app *app, size_t i, char *buf, size_t n,
		      enum tui_role *role)
{
	size_t nk, nc, k = 0;
	const struct keymap_entry *km = keymap_table(&nk);
	const struct tui_command *cmds = tui_app_commands(app, &nc);
	*role = ROLE_NORMAL;
	for (int s = 0; s < KEYMAP_NSCOPES; s++) {
		if (k++ == i) {
			snprintf(buf, n, "%s", keymap_scope_name((enum keymap_scope)s));
			*role = ROLE_TITLE;
			return true;
		}
		for (size_t e = 0; e < nk; e++) {
			if ((int)km[e].scope != s)
				continue;
			if (k++ == i) {
				char keys[64];
				keymap_keys_text(&km[e], keys, sizeof keys);
				snprintf(buf, n, "  %-18s %s", keys, km[e].help);
				return true;
			}
		}
		if (k++ == i) {
			buf[0] = '\0';
			return true;
		}
	}
	if (k++ == i) {
		snprintf(buf, n, "Commands (press : then type; Tab completes)");
		*role = ROLE_TITLE;
		return true;
	}
	for (size_t c = 0; c < nc; c++) {
		if (k++ == i) {
			char left[64];
			snprintf(left, sizeof left, ":%s %s", cmds[c].name, cmds[c].usage);
			snprintf(buf, n, "  %-24s %s%s", left, cmds[c].help,
				 cmds[c].mutating ? " (not with --read-only)" : "");
			return true;
		}
	}
	return false;
}

/* The column where the help text of an entry ("  keys   text") starts:
 * continuation lines of a wrapped entry are indented to it. */
static int text_column(const char *line)
{
	if (strncmp(line, "  ", 2) != 0)
		return 0;
	const char *gap = strstr(line + 2, "  ");
	if (!gap)
		return 0;
	while (*gap == ' ')
		gap++;
	return (int)(gap - line);
}

/* Wraps the help text to WIDTH columns and calls EMIT for screen lines
 * FIRST to FIRST + MAX - 1 (none when MAX is 0); returns how many screen
 * lines the whole text takes. */
static size_t help_layout(struct tui_app *app, int width, size_t first, size_t max,
			  void (*emit)(void *ud, size_t k, const char *text, enum tui_role role),
			  void *ud)
{
	size_t n = 0;
	char line[512];
	enum tui_role role;
	for (size_t i = 0; help_line(app, i, line, sizeof line, &role); i++) {
		const char *rest = line;
		int column = text_column(line);
		bool cont = false;
		do {
			bool indent = cont && width - column >= 10;
			int avail = indent ? width - column : width;
			size_t take = sanitize_clip(rest, avail, NULL);
			/* Break at a space when the entry goes on. */
			if (rest[take]) {
				size_t sp = take;
				while (sp > 0 && rest[sp] != ' ')
					sp--;
				if (sp > 0)
					take = sp;
			}
			if (take == 0)
				take = strlen(rest);
			if (max && n >= first && n < first + max) {
				char part[600];
				snprintf(part, sizeof part, "%*s%.*s", indent ? column : 0, "",
					 (int)take, rest);
				emit(ud, n - first, part, role);
			}
			n++;
			rest += take;
			while (*rest == ' ')
				rest++;
			cont = true;
		} while (*rest);
	}
	return n;
}

static void emit_line(void *ud, size_t k, const char *text, enum tui_role role)
{
	const struct tui_rect *in = ud;
	widget_text(in->y + (int)k, in->x + 1, in->w - 2, role, text);
}

static void help_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct help *h = state;
	struct tui_rect in = widget_box(area, "help: keys and commands (Up/Down scroll, ? or Esc back)",
					true);
	if (in.h < 1 || in.w < 4)
		return;
	h->page = in.h;
	size_t total = help_layout(app, in.w - 2, 0, 0, NULL, NULL);
	if (total <= (size_t)in.h)
		h->scroll = 0;
	else if (h->scroll > total - (size_t)in.h)
		h->scroll = total - (size_t)in.h;
	help_layout(app, in.w - 2, h->scroll, (size_t)in.h, emit_line, &in);
}

static enum tui_result help_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct help *h = state;
	(void)app;
	size_t page = h->page > 1 ? (size_t)h->page - 1 : 1;
	switch (a) {
	case ACT_DOWN:
		h->scroll++;
		return TUI_REDRAW;
	case ACT_UP:
		if (h->scroll)
			h->scroll--;
		return TUI_REDRAW;
	case ACT_PAGE_DOWN:
		h->scroll += page;
		return TUI_REDRAW;
	case ACT_PAGE_UP:
		h->scroll = h->scroll > page ? h->scroll - page : 0;
		return TUI_REDRAW;
	case ACT_HOME:
		h->scroll = 0;
		return TUI_REDRAW;
	case ACT_END:
		h->scroll = (size_t)-1 / 2;
		return TUI_REDRAW;
	default:
		return TUI_IGNORED;
	}
}

static void help_destroy(void *state)
{
	free(state);
}

void *help_view_create(void)
{
	return calloc(1, sizeof(struct help));
}

const struct view_ops help_view_ops = {
	.name = "help",
	.jump = ACT_HELP, /* the app toggles it; the header shows its key */
	.scope = KEYMAP_LIST,
	.draw = help_draw,
	.handle_key = help_key,
	.destroy = help_destroy,
};
