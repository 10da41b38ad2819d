#include "keymap.h"

#include <stdio.h>
#include <string.h>

#include <curses.h>

#define CTRL(c) ((c) & 0x1f)
#define KEY_ESC 27
#define KEY_TAB '\t'
#define KEY_ENTER_LF '\n'
#define KEY_ENTER_CR '\r'

static const struct keymap_entry table[] = {
	{ACT_QUIT, KEYMAP_GLOBAL, "quit", {'q', CTRL('c')},
	 "quit (asks first while a job is running)"},
	{ACT_HELP, KEYMAP_GLOBAL, "help", {'?', KEY_F(1)},
	 "help: this list of keys"},
	{ACT_PALETTE, KEYMAP_GLOBAL, "palette", {':'},
	 "command palette (Tab completes, Enter runs)"},
	{ACT_FILTER, KEYMAP_GLOBAL, "filter", {'/'},
	 "filter the table in view (Enter keeps, Esc clears)"},
	{ACT_NEXT_PANEL, KEYMAP_GLOBAL, "next-panel", {KEY_TAB},
	 "focus the next panel"},
	{ACT_PREV_PANEL, KEYMAP_GLOBAL, "prev-panel", {KEY_BTAB},
	 "focus the previous panel"},
	{ACT_VIEW_OVERVIEW, KEYMAP_GLOBAL, "overview", {'1'},
	 "overview: model versions, evaluation, backends"},
	{ACT_VIEW_DEPLOYMENTS, KEYMAP_GLOBAL, "deployments", {'2'},
	 "deployments: rollouts, strategies, revisions and pods per environment"},
	{ACT_VIEW_METRICS, KEYMAP_GLOBAL, "metrics", {'3'},
	 "metrics: live series from Prometheus, thresholds, trigger states"},
	{ACT_VIEW_CHECKLIST, KEYMAP_GLOBAL, "checklist", {'4'},
	 "checklist: validation items, evidence, sign-off, drift"},
	{ACT_VIEW_WHATIF, KEYMAP_GLOBAL, "what-if", {'5'},
	 "what-if: score and explain one customer"},
	{ACT_VIEW_REGISTRY, KEYMAP_GLOBAL, "registry", {'6'},
	 "registry: versions, stages, aliases, promotion history"},
	{ACT_VIEW_AUDIT, KEYMAP_GLOBAL, "audit", {'7'},
	 "audit: every action with who, when, where, before and after, outcome, reason"},
	{ACT_REDRAW, KEYMAP_GLOBAL, "redraw", {CTRL('l')},
	 "redraw the screen"},
	{ACT_CANCEL, KEYMAP_GLOBAL, "cancel", {KEY_ESC},
	 "close a dialog, prompt or picker"},

	{ACT_BANNER, KEYMAP_GLOBAL, "banner-action", {'!'},
	 "act on the banner: with a rollback trigger firing, open the rollback plan of its "
	 "environment (not with --read-only)"},
	{ACT_UP, KEYMAP_LIST, "up", {KEY_UP, 'k'}, "move up"},
	{ACT_DOWN, KEYMAP_LIST, "down", {KEY_DOWN, 'j'}, "move down"},
	{ACT_LEFT, KEYMAP_LIST, "left", {KEY_LEFT, 'h'},
	 "previous level; a number: minus one step"},
	{ACT_RIGHT, KEYMAP_LIST, "right", {KEY_RIGHT, 'l'},
	 "next level; a number: plus one step"},
	{ACT_PAGE_UP, KEYMAP_LIST, "page-up", {KEY_PPAGE, CTRL('b')},
	 "one page up"},
	{ACT_PAGE_DOWN, KEYMAP_LIST, "page-down", {KEY_NPAGE, CTRL('f')},
	 "one page down"},
	{ACT_HOME, KEYMAP_LIST, "first", {KEY_HOME, 'g'}, "first row"},
	{ACT_END, KEYMAP_LIST, "last", {KEY_END, 'G'}, "last row"},
	{ACT_SELECT, KEYMAP_LIST, "select", {KEY_ENTER_CR, KEY_ENTER_LF, KEY_ENTER},
	 "choose the selected row; in a form, type a new value"},

	{ACT_EDIT, KEYMAP_WHATIF, "edit", {'e'},
	 "type a new value for the selected feature (empty: missing)"},
	{ACT_PICK_CUSTOMER, KEYMAP_WHATIF, "customer", {'c'},
	 "pick a customer from the data file (/ searches every column)"},
	{ACT_TYPICAL, KEYMAP_WHATIF, "typical", {'t'},
	 "start from the typical customer"},
	{ACT_RESET, KEYMAP_WHATIF, "reset", {'r'},
	 "reset the record to the original row"},
	{ACT_NEXT_VERSION, KEYMAP_WHATIF, "version", {'v'},
	 "score with the next model version"},
	{ACT_COMPARE, KEYMAP_WHATIF, "compare", {'V'},
	 "compare side by side with another version (cycles, then off)"},
	{ACT_COPY_JSON, KEYMAP_WHATIF, "copy-json", {'y'},
	 "copy the record and its score as JSON (dialog and clipboard)"},
	{ACT_COPY_COMMAND, KEYMAP_WHATIF, "copy-command", {'Y'},
	 "copy the record as a 'churnops whatif' command line"},

	{ACT_REFRESH, KEYMAP_DEPLOYMENTS, "refresh", {'r'},
	 "read the cluster again now (it is also re-read every few seconds)"},
	{ACT_ROLLBACK, KEYMAP_DEPLOYMENTS, "rollback", {'R'},
	 "roll the selected environment back to its previous version: shows the plan, "
	 "asks (production: type its name), runs it live (not with --read-only)"},
	{ACT_PROMOTE, KEYMAP_DEPLOYMENTS, "promote", {'P'},
	 "promote a version to the selected environment (asks which; production: Enter "
	 "takes staging's): plan, confirmation, live run as for R (not with --read-only)"},
	{ACT_STRATEGY, KEYMAP_DEPLOYMENTS, "strategy", {'s'},
	 "plan not yet run: build it for the next strategy (rolling, blue-green, canary); "
	 "Esc first while it asks; Enter asks again"},

	{ACT_RUN_CHECKLIST, KEYMAP_CHECKLIST, "run", {'r'},
	 "run the checklist (validate) for this version on the data file"},
	{ACT_SIGN_OFF, KEYMAP_CHECKLIST, "sign-off", {'s'},
	 "sign off the selected manual item (asks name and note; not with --read-only)"},
	{ACT_OPEN_CARD, KEYMAP_CHECKLIST, "card", {'c'},
	 "open this version's model card in the pager"},
	{ACT_CHECKLIST_VERSION, KEYMAP_CHECKLIST, "next-version", {'v'},
	 "show the next model version's checklist"},
	{ACT_DRIFT, KEYMAP_CHECKLIST, "drift", {'d'},
	 "compute drift again: the data file against the version's training data"},

	{ACT_SEARCH_NEXT, KEYMAP_PAGER, "search-next", {'n'},
	 "next match of the / search"},
	{ACT_SEARCH_PREV, KEYMAP_PAGER, "search-prev", {'N'},
	 "previous match of the / search"},

	{ACT_RELOAD_METRICS, KEYMAP_METRICS, "reload-metrics", {'r'},
	 "query Prometheus again now (it is also queried every evaluation interval)"},
	{ACT_METRICS_RANGE, KEYMAP_METRICS, "range", {'t'},
	 "chart range: 1m, 5m, 15m, 1h, 6h, 24h, then 1m again"},
	{ACT_SHOW_QUERY, KEYMAP_METRICS, "query", {'x'},
	 "show the PromQL query behind the selected metric"},

	{ACT_RELOAD_REGISTRY, KEYMAP_REGISTRY, "reload-registry", {'r'},
	 "read the registry again now (it is also re-read every few seconds)"},

	{ACT_RELOAD_AUDIT, KEYMAP_AUDIT, "reload-audit", {'r'},
	 "read the audit log again now (it is also re-read every few seconds)"},
};

#define NTABLE (sizeof table / sizeof table[0])

const struct keymap_entry *keymap_table(size_t *n)
{
	*n = NTABLE;
	return table;
}

static enum keymap_action find_in(enum keymap_scope scope, int key)
{
	for (size_t i = 0; i < NTABLE; i++) {
		if (table[i].scope != scope)
			continue;
		for (int k = 0; k < KEYMAP_MAX_KEYS && table[i].keys[k]; k++)
			if (table[i].keys[k] == key)
				return table[i].action;
	}
	return ACT_NONE;
}

enum keymap_action keymap_lookup(enum keymap_scope scope, int key)
{
	enum keymap_action a = ACT_NONE;
	if (scope != KEYMAP_GLOBAL && scope != KEYMAP_LIST)
		a = find_in(scope, key);
	if (a == ACT_NONE)
		a = find_in(KEYMAP_LIST, key);
	if (a == ACT_NONE)
		a = find_in(KEYMAP_GLOBAL, key);
	return a;
}

const struct keymap_entry *keymap_entry_of(enum keymap_action action)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].action == action)
			return &table[i];
	return NULL;
}

const char *keymap_key_name(int key, char *buf, size_t n)
{
	static const struct {
		int key;
		const char *name;
	} names[] = {
		{KEY_UP, "Up"}, {KEY_DOWN, "Down"}, {KEY_LEFT, "Left"},
		{KEY_RIGHT, "Right"}, {KEY_PPAGE, "PgUp"}, {KEY_NPAGE, "PgDn"},
		{KEY_HOME, "Home"}, {KEY_END, "End"}, {KEY_BTAB, "S-Tab"},
		{KEY_ENTER, "KP-Enter"}, {KEY_TAB, "Tab"}, {KEY_ENTER_CR, "Enter"},
		{KEY_ENTER_LF, "C-j"}, {KEY_ESC, "Esc"}, {' ', "Space"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (names[i].key == key) {
			snprintf(buf, n, "%s", names[i].name);
			return buf;
		}
	}
	if (key >= KEY_F(1) && key <= KEY_F(12))
		snprintf(buf, n, "F%d", key - KEY_F0);
	else if (key > 0 && key < 32)
		snprintf(buf, n, "C-%c", key + 'a' - 1);
	else if (key > 32 && key < 127)
		snprintf(buf, n, "%c", key);
	else
		snprintf(buf, n, "key-%d", key);
	return buf;
}

const char *keymap_keys_text(const struct keymap_entry *e, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int k = 0; k < KEYMAP_MAX_KEYS && e->keys[k] && used < n; k++) {
		char name[32];
		keymap_key_name(e->keys[k], name, sizeof name);
		int w = snprintf(buf + used, n - used, "%s%s", k ? ", " : "", name);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

const char *keymap_scope_name(enum keymap_scope scope)
{
	switch (scope) {
	case KEYMAP_GLOBAL:
		return "Everywhere";
	case KEYMAP_LIST:
		return "Tables, lists and forms";
	case KEYMAP_WHATIF:
		return "What-if view";
	case KEYMAP_DEPLOYMENTS:
		return "Deployments view";
	case KEYMAP_CHECKLIST:
		return "Checklist view";
	case KEYMAP_PAGER:
		return "Model card pager";
	case KEYMAP_METRICS:
		return "Metrics view";
	case KEYMAP_REGISTRY:
		return "Registry view";
	case KEYMAP_AUDIT:
		return "Audit view";
	case KEYMAP_NSCOPES:
		break;
	}
	return "?";
}

/* roff needs a backslash doubled and a leading dot or quote protected. */
static void roff_text(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void keymap_write_man(FILE *f)
{
	for (int s = 0; s < KEYMAP_NSCOPES; s++) {
		fputs(".SS ", f);
		roff_text(f, keymap_scope_name((enum keymap_scope)s));
		fputc('\n', f);
		for (size_t i = 0; i < NTABLE; i++) {
			if ((int)table[i].scope != s)
				continue;
			char keys[128];
			keymap_keys_text(&table[i], keys, sizeof keys);
			fputs(".TP\n.B ", f);
			roff_text(f, keys);
			fputc('\n', f);
			roff_text(f, table[i].help);
			fputc('\n', f);
		}
	}
}
