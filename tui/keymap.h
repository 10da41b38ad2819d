/* keymap: every key binding of the console, in one const table.
 *
 * Each entry names an action, the scope it works in, its default keys and
 * one line of help. The event loop looks keys up here, the `?` help view is
 * generated from the table and so is the man page's key list
 * (`churnops keys --man`), so the three cannot drift apart.
 *
 * Scopes: global keys work everywhere; list keys move selections in any
 * view; what-if keys only in the what-if view. A key is bound at most once
 * in the global and list scopes together, and a view scope may not reuse a
 * key of either (tests/unit/test_keymap.c checks it).
 */
#ifndef CHURNOPS_TUI_KEYMAP_H
#define CHURNOPS_TUI_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum keymap_action {
	ACT_NONE,
	/* global */
	ACT_QUIT,
	ACT_HELP,
	ACT_PALETTE,
	ACT_FILTER,
	ACT_NEXT_PANEL,
	ACT_PREV_PANEL,
	ACT_VIEW_OVERVIEW,
	ACT_VIEW_DEPLOYMENTS,
	ACT_VIEW_METRICS,
	ACT_VIEW_CHECKLIST,
	ACT_VIEW_WHATIF,
	ACT_VIEW_REGISTRY,
	ACT_VIEW_AUDIT,
	ACT_REDRAW,
	ACT_CANCEL,
	ACT_BANNER,
	/* list */
	ACT_UP,
	ACT_DOWN,
	ACT_LEFT,
	ACT_RIGHT,
	ACT_PAGE_UP,
	ACT_PAGE_DOWN,
	ACT_HOME,
	ACT_END,
	ACT_SELECT,
	/* what-if */
	ACT_EDIT,
	ACT_PICK_CUSTOMER,
	ACT_TYPICAL,
	ACT_RESET,
	ACT_NEXT_VERSION,
	ACT_COMPARE,
	ACT_COPY_JSON,
	ACT_COPY_COMMAND,
	/* deployments */
	ACT_REFRESH,
	ACT_ROLLBACK,
	ACT_PROMOTE,
	ACT_STRATEGY,
	/* checklist */
	ACT_RUN_CHECKLIST,
	ACT_SIGN_OFF,
	ACT_OPEN_CARD,
	ACT_CHECKLIST_VERSION,
	ACT_DRIFT,
	/* pager */
	ACT_SEARCH_NEXT,
	ACT_SEARCH_PREV,
	/* metrics */
	ACT_RELOAD_METRICS,
	ACT_METRICS_RANGE,
	ACT_SHOW_QUERY,
	/* registry */
	ACT_RELOAD_REGISTRY,
	/* audit */
	ACT_RELOAD_AUDIT,
	ACT_COUNT
};

enum keymap_scope {
	KEYMAP_GLOBAL,
	KEYMAP_LIST,
	KEYMAP_WHATIF,
	KEYMAP_DEPLOYMENTS,
	KEYMAP_CHECKLIST,
	KEYMAP_PAGER,
	KEYMAP_METRICS,
	KEYMAP_REGISTRY,
	KEYMAP_AUDIT,
	KEYMAP_NSCOPES
};

#define KEYMAP_MAX_KEYS 4

struct keymap_entry {
	enum keymap_action action;
	enum keymap_scope scope;
	const char *name;                 /* "quit": also the palette's word */
	int keys[KEYMAP_MAX_KEYS];        /* curses key codes, 0-terminated */
	const char *help;
};

/* The table, in the order the help view shows it; *N receives its length. */
const struct keymap_entry *keymap_table(size_t *n);

/* The action KEY triggers in a view of scope SCOPE: that scope's bindings
 * first, then the list and global ones. ACT_NONE when unbound. */
enum keymap_action keymap_lookup(enum keymap_scope scope, int key);

/* The entry of ACTION, or NULL. */
const struct keymap_entry *keymap_entry_of(enum keymap_action action);

/* A key's printable name ("q", "Tab", "Up", "C-l", "PgDn") in BUF of N
 * bytes; returns BUF. */
const char *keymap_key_name(int key, char *buf, size_t n);

/* "q, C-c": all keys of E joined, in BUF of N bytes; returns BUF. */
const char *keymap_keys_text(const struct keymap_entry *e, char *buf, size_t n);

/* The scope's heading in the help view and the man page. */
const char *keymap_scope_name(enum keymap_scope scope);

/* Writes the key list as roff (.TP paragraphs under one .SS per scope) for
 * the man page's KEYS section. */
void keymap_write_man(FILE *f);

#endif
