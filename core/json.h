/* json: the one place that parses JSON (cJSON underneath).
 *
 * Parsed trees are plain cJSON trees: the caller owns them and frees them
 * with cJSON_Delete(). Building and walking trees with cJSON's own functions
 * is fine anywhere; parsing goes through here so every parse has a size and
 * a nesting limit and an error naming the source and line.
 */
#ifndef CHURNOPS_JSON_H
#define CHURNOPS_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

#define JSON_MAX_DEPTH 64
#define JSON_MAX_FILE (64u << 20)

/* Parses LEN bytes of TEXT. SOURCE names it in messages ("schema.json").
 * Fails with EXIT_INPUT naming the line and column of the first error, or
 * when nesting is deeper than JSON_MAX_DEPTH, or when a number is beyond
 * the range of a double (cJSON would make it infinite). */
cJSON *json_parse(const char *text, size_t len, const char *source,
		  struct err *e);

/* Reads and parses a file of at most JSON_MAX_FILE bytes. */
cJSON *json_load_file(const char *path, struct err *e);

/* Writes the tree, formatted, atomically (see fileio). */
int json_write_file(const char *path, const cJSON *root, struct err *e);

/* Lookups that return NULL / the default when the key is absent or of
 * another type. Returned strings belong to the tree. */
const char *json_str(const cJSON *obj, const char *key);
double json_num(const cJSON *obj, const char *key, double dflt);
bool json_has_num(const cJSON *obj, const char *key);

#endif
