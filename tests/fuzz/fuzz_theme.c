/* Fuzz target for tui/theme's parser (theme_parse: the JSON of a theme
 * file, which a user may download or hand-edit).
 *
 * A theme that parses has every colour DEFAULT or 0..255, only known
 * attribute bits and a NUL-terminated name, and every colour fits an
 * 8-colour and a 16-colour terminal (theme_fit_color). A theme that fails
 * fails with EXIT_INPUT and a message naming the source, and leaves no
 * half-made theme that could not be drawn either. No terminal is needed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_theme: %s\n", what);
		abort();
	}
}

static void check_color(short c, bool bright)
{
	check(c == THEME_COLOR_DEFAULT || (c >= 0 && c <= 255), "a colour out of range");
	if (bright)
		check(c >= 8 && c < 16, "a bright colour outside 8..15");
	short f8 = theme_fit_color(c, 8), f16 = theme_fit_color(c, 16);
	check(c < 0 ? f8 == c : (f8 >= 0 && f8 < 8), "no fit on 8 colours");
	check(c < 0 ? f16 == c : (f16 >= 0 && f16 < 16), "no fit on 16 colours");
	check(theme_fit_color(c, 256) == c, "a colour changed on 256 colours");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	else
		text[0] = '\0';
	struct theme t;
	memset(&t, 0xa5, sizeof t);
	struct err e = {0};
	int rc = theme_parse(&t, text, size, "fuzz.json", &e);
	free(text);
	if (rc) {
		check(rc == EXIT_INPUT, "a failed parse is not EXIT_INPUT");
		check(strstr(e.msg, "fuzz.json") != NULL, "the message does not name the source");
		return 0;
	}
	check(memchr(t.name, '\0', sizeof t.name) != NULL, "the name is not terminated");
	unsigned all = THEME_ATTR_BOLD | THEME_ATTR_DIM | THEME_ATTR_UNDERLINE |
		       THEME_ATTR_REVERSE | THEME_ATTR_STANDOUT | THEME_ATTR_ITALIC;
	for (int r = 0; r < ROLE_COUNT; r++) {
		check(theme_role_name((enum tui_role)r) != NULL, "a role without a name");
		check((t.role[r].attrs & ~all) == 0, "unknown attribute bits");
		check_color(t.role[r].fg, t.role[r].fg_bright);
		check_color(t.role[r].bg, t.role[r].bg_bright);
	}
	return 0;
}
