#include "theme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "fileio.h"
#include "json.h"
#include "paths.h"

#define THEME_MAX_FILE (256u << 10)

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_NORMAL] = "normal",
	[ROLE_HEADER] = "header",
	[ROLE_TITLE] = "title",
	[ROLE_BORDER] = "border",
	[ROLE_MUTED] = "muted",
	[ROLE_ACCENT] = "accent",
	[ROLE_OK] = "ok",
	[ROLE_WARN] = "warn",
	[ROLE_CRIT] = "crit",
	[ROLE_STALE] = "stale",
	[ROLE_SELECTED] = "selected",
	[ROLE_FOCUS] = "focus",
	[ROLE_PRODUCTION] = "production",
	[ROLE_STAGING] = "staging",
	[ROLE_BADGE] = "badge",
	[ROLE_BAR_POS] = "bar-positive",
	[ROLE_BAR_NEG] = "bar-negative",
	[ROLE_INPUT] = "input",
	[ROLE_DIALOG] = "dialog",
};

static const char *const color_names[8] = {
	"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
};

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{"bold", THEME_ATTR_BOLD}, {"dim", THEME_ATTR_DIM},
	{"underline", THEME_ATTR_UNDERLINE}, {"reverse", THEME_ATTR_REVERSE},
	{"standout", THEME_ATTR_STANDOUT}, {"italic", THEME_ATTR_ITALIC},
};

/* Curses attributes per role, filled by theme_apply(). */
static int role_attr[ROLE_COUNT];

const char *theme_role_name(enum tui_role role)
{
	return role < ROLE_COUNT ? role_names[role] : NULL;
}

void theme_mono(struct theme *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "mono");
	for (int r = 0; r < ROLE_COUNT; r++)
		t->role[r].fg = t->role[r].bg = THEME_COLOR_DEFAULT;
	t->role[ROLE_HEADER].attrs = THEME_ATTR_REVERSE;
	t->role[ROLE_TITLE].attrs = THEME_ATTR_BOLD;
	t->role[ROLE_MUTED].attrs = THEME_ATTR_DIM;
	t->role[ROLE_ACCENT].attrs = THEME_ATTR_BOLD;
	t->role[ROLE_WARN].attrs = THEME_ATTR_BOLD;
	t->role[ROLE_CRIT].attrs = THEME_ATTR_BOLD | THEME_ATTR_REVERSE;
	t->role[ROLE_STALE].attrs = THEME_ATTR_DIM;
	t->role[ROLE_SELECTED].attrs = THEME_ATTR_REVERSE;
	t->role[ROLE_FOCUS].attrs = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE;
	t->role[ROLE_PRODUCTION].attrs = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE;
	t->role[ROLE_STAGING].attrs = THEME_ATTR_UNDERLINE;
	t->role[ROLE_BADGE].attrs = THEME_ATTR_BOLD | THEME_ATTR_REVERSE;
	t->role[ROLE_BAR_NEG].attrs = THEME_ATTR_DIM;
	t->role[ROLE_INPUT].attrs = THEME_ATTR_UNDERLINE;
}

static int parse_color(const cJSON *v, short *out, bool *bright,
		       const char *where, struct err *e)
{
	*bright = false;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d < 0 || d > 255 || d != (double)(int)d)
			return err_set(e, EXIT_INPUT, "%s: %g is not a colour 0..255",
				       where, d);
		*out = (short)d;
		return 0;
	}
	if (!cJSON_IsString(v))
		return err_set(e, EXIT_INPUT, "%s: a colour is a name or 0..255", where);
	const char *s = v->valuestring;
	if (strcmp(s, "default") == 0) {
		*out = THEME_COLOR_DEFAULT;
		return 0;
	}
	if (strncmp(s, "bright-", 7) == 0) {
		*bright = true;
		s += 7;
	}
	for (short c = 0; c < 8; c++) {
		if (strcmp(s, color_names[c]) == 0) {
			*out = (short)(*bright ? c + 8 : c);
			return 0;
		}
	}
	return err_set(e, EXIT_INPUT,
		       "%s: unknown colour '%s' (default, black, red, green, yellow, blue, "
		       "magenta, cyan, white, bright-NAME or 0..255)", where, v->valuestring);
}

static int parse_style(struct theme_style *st, const cJSON *o,
		       const char *where, struct err *e)
{
	char key[160];
	if (!cJSON_IsObject(o))
		return err_set(e, EXIT_INPUT, "%s: expected an object", where);
	for (const cJSON *it = o->child; it; it = it->next) {
		snprintf(key, sizeof key, "%s.%s", where, it->string);
		if (strcmp(it->string, "fg") == 0) {
			if (parse_color(it, &st->fg, &st->fg_bright, key, e))
				return EXIT_INPUT;
		} else if (strcmp(it->string, "bg") == 0) {
			if (parse_color(it, &st->bg, &st->bg_bright, key, e))
				return EXIT_INPUT;
		} else if (strcmp(it->string, "attrs") == 0) {
			if (!cJSON_IsArray(it))
				return err_set(e, EXIT_INPUT, "%s: expected an array", key);
			st->attrs = 0;
			for (const cJSON *a = it->child; a; a = a->next) {
				size_t k;
				for (k = 0; k < sizeof attr_names / sizeof attr_names[0]; k++)
					if (cJSON_IsString(a) &&
					    strcmp(a->valuestring, attr_names[k].name) == 0)
						break;
				if (k == sizeof attr_names / sizeof attr_names[0])
					return err_set(e, EXIT_INPUT,
						       "%s: unknown attribute (bold, dim, underline, "
						       "reverse, standout, italic)", key);
				st->attrs |= attr_names[k].bit;
			}
		} else {
			return err_set(e, EXIT_INPUT, "%s: unknown key (fg, bg, attrs)", key);
		}
	}
	return 0;
}

int theme_parse(struct theme *t, const char *text, size_t len,
		const char *source, struct err *e)
{
	cJSON *root = json_parse(text, len, source, e);
	if (!root)
		return EXIT_INPUT;
	int rc = 0;
	theme_mono(t);
	const char *name = json_str(root, "name");
	snprintf(t->name, sizeof t->name, "%s", name ? name : source);
	const cJSON *roles = cJSON_GetObjectItemCaseSensitive(root, "roles");
	if (!cJSON_IsObject(roles)) {
		rc = err_set(e, EXIT_INPUT, "%s: \"roles\" must be an object", source);
		goto out;
	}
	for (const cJSON *it = roles->child; it; it = it->next) {
		int r;
		for (r = 0; r < ROLE_COUNT; r++)
			if (strcmp(it->string, role_names[r]) == 0)
				break;
		char where[128];
		snprintf(where, sizeof where, "%s: roles.%s", source, it->string);
		if (r == ROLE_COUNT) {
			rc = err_set(e, EXIT_INPUT, "%s: unknown role", where);
			goto out;
		}
		struct theme_style st = {THEME_COLOR_DEFAULT, THEME_COLOR_DEFAULT,
					 false, false, 0};
		rc = parse_style(&st, it, where, e);
		if (rc)
			goto out;
		t->role[r] = st;
	}
out:
	cJSON_Delete(root);
	return rc;
}

static bool try_file(struct theme *t, const char *path, int *rc, struct err *e)
{
	if (!fileio_exists(path))
		return false;
	char *buf = NULL;
	size_t len = 0;
	*rc = fileio_read_all(path, THEME_MAX_FILE, &buf, &len, e);
	if (!*rc)
		*rc = theme_parse(t, buf, len, path, e);
	free(buf);
	return true;
}

int theme_load(struct theme *t, const char *name, struct err *e)
{
	int rc = 0;
	size_t n = strlen(name);
	if (strchr(name, '/') || (n > 5 && strcmp(name + n - 5, ".json") == 0)) {
		if (!try_file(t, name, &rc, e))
			return err_set(e, EXIT_INPUT, "theme file %s does not exist", name);
		return rc;
	}
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_'))
			return err_set(e, EXIT_INPUT,
				       "theme name '%s': use letters, digits, - and _", name);
	const char *dirs[5] = {0};
	char user_dir[4096] = "";
	size_t nd = 0;
	if (getenv("CHURNOPS_THEMES") && *getenv("CHURNOPS_THEMES"))
		dirs[nd++] = getenv("CHURNOPS_THEMES");
	struct err ignored = {0};
	char *config = paths_config_dir(&ignored);
	if (config) {
		snprintf(user_dir, sizeof user_dir, "%s/themes", config);
		dirs[nd++] = user_dir;
		free(config);
	}
#ifdef CHURNOPS_SOURCE_ROOT
	dirs[nd++] = CHURNOPS_SOURCE_ROOT "/themes";
#endif
#ifdef CHURNOPS_DATADIR
	dirs[nd++] = CHURNOPS_DATADIR "/themes";
#endif
	for (size_t i = 0; i < nd; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s.json", dirs[i], name);
		if (try_file(t, path, &rc, e))
			return rc;
	}
	return err_set(e, EXIT_INPUT, "no theme '%s' (looked for %s.json in %zu places; "
		       "see churnops(1) THEMES)", name, name, nd);
}

/* xterm's 256-colour palette as RGB. */
static void xterm_rgb(int c, int rgb[3])
{
	static const int basic[16][3] = {
		{0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0},
		{0, 0, 238}, {205, 0, 205}, {0, 205, 205}, {229, 229, 229},
		{127, 127, 127}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0},
		{92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
	};
	if (c < 16) {
		memcpy(rgb, basic[c], sizeof basic[c]);
	} else if (c < 232) {
		static const int level[6] = {0, 95, 135, 175, 215, 255};
		c -= 16;
		rgb[0] = level[c / 36];
		rgb[1] = level[(c / 6) % 6];
		rgb[2] = level[c % 6];
	} else {
		rgb[0] = rgb[1] = rgb[2] = 8 + (c - 232) * 10;
	}
}

short theme_fit_color(short c, int ncolors)
{
	if (c < 0 || c < ncolors)
		return c;
	if (c < 16)
		return (short)(c - 8);
	int rgb[3];
	xterm_rgb(c, rgb);
	/* Nearest of the eight basic colours, judged on the saturated
	 * versions so mid-greys map to black or white, not to a hue. */
	short best = 0;
	long best_d = -1;
	for (short k = 0; k < 8; k++) {
		int ref[3] = {k & 1 ? 255 : 0, k & 2 ? 255 : 0, k & 4 ? 255 : 0};
		long d = 0;
		for (int i = 0; i < 3; i++)
			d += (long)(rgb[i] - ref[i]) * (rgb[i] - ref[i]);
		if (best_d < 0 || d < best_d) {
			best_d = d;
			best = k;
		}
	}
	return best;
}

static int curses_attrs(unsigned a)
{
	int r = 0;
	if (a & THEME_ATTR_BOLD)
		r |= A_BOLD;
	if (a & THEME_ATTR_DIM)
		r |= A_DIM;
	if (a & THEME_ATTR_UNDERLINE)
		r |= A_UNDERLINE;
	if (a & THEME_ATTR_REVERSE)
		r |= A_REVERSE;
	if (a & THEME_ATTR_STANDOUT)
		r |= A_STANDOUT;
	if (a & THEME_ATTR_ITALIC)
		r |= (int)A_ITALIC;
	return r;
}

void theme_apply(const struct theme *t, bool use_color)
{
	bool color = use_color && has_colors();
	int ncolors = color ? COLORS : 0;
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct theme_style *st = &t->role[r];
		int attrs = curses_attrs(st->attrs);
		if (color && (st->fg != THEME_COLOR_DEFAULT || st->bg != THEME_COLOR_DEFAULT)) {
			short fg = theme_fit_color(st->fg, ncolors);
			short bg = theme_fit_color(st->bg, ncolors);
			if (st->fg_bright && st->fg >= ncolors)
				attrs |= A_BOLD;
			init_pair((short)(r + 1), fg, bg);
			attrs |= COLOR_PAIR(r + 1);
		}
		role_attr[r] = attrs;
	}
	/* The normal role is the window's background, so areas never drawn
	 * explicitly still take the theme's colours. */
	bkgdset((chtype)' ' | (chtype)role_attr[ROLE_NORMAL]);
}

int theme_attr(enum tui_role role)
{
	return role < ROLE_COUNT ? role_attr[role] : 0;
}
