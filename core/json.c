#include "json.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* Nesting depth of the text, counted outside strings, so deep input is
 * refused before cJSON's recursive descent sees it. */
static size_t nesting_depth(const char *s, size_t len)
{
	size_t depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

static void position_of(const char *text, const char *at, size_t *line,
			size_t *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* True when every number in the tree is finite: cJSON turns 1e400 into
 * infinity, which no caller expects (casting it to an integer is undefined)
 * and which cJSON would print back as null. */
static bool numbers_finite(const cJSON *it)
{
	for (; it; it = it->next) {
		if (cJSON_IsNumber(it) && !isfinite(it->valuedouble))
			return false;
		if (it->child && !numbers_finite(it->child))
			return false;
	}
	return true;
}

cJSON *json_parse(const char *text, size_t len, const char *source,
		  struct err *e)
{
	if (nesting_depth(text, len) > JSON_MAX_DEPTH) {
		err_set(e, EXIT_INPUT, "%s: JSON nested deeper than %d levels",
			source, JSON_MAX_DEPTH);
		return NULL;
	}
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t line, col;
		const char *at = end ? end : text;
		if (at < text || at > text + len)
			at = text;
		position_of(text, at, &line, &col);
		err_set(e, EXIT_INPUT, "%s: line %zu, column %zu: %s", source,
			line, col, len == 0 ? "empty document" : "not valid JSON");
		return NULL;
	}
	if (!numbers_finite(root)) {
		cJSON_Delete(root);
		err_set(e, EXIT_INPUT, "%s: a number out of range (beyond %g)", source, DBL_MAX);
		return NULL;
	}
	if (end) {
		const char *p = end;
		while (p < text + len && (*p == ' ' || *p == '\n' || *p == '\r' ||
					  *p == '\t' || *p == '\0'))
			p++;
		if (p < text + len) {
			size_t line, col;
			position_of(text, p, &line, &col);
			cJSON_Delete(root);
			err_set(e, EXIT_INPUT,
				"%s: line %zu, column %zu: text after the JSON value",
				source, line, col);
			return NULL;
		}
	}
	return root;
}

cJSON *json_load_file(const char *path, struct err *e)
{
	char *buf = NULL;
	size_t len = 0;
	if (fileio_read_all(path, JSON_MAX_FILE, &buf, &len, e))
		return NULL;
	cJSON *root = json_parse(buf, len, path, e);
	free(buf);
	return root;
}

int json_write_file(const char *path, const cJSON *root, struct err *e)
{
	char *text = cJSON_Print(root);
	if (!text)
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	size_t n = strlen(text);
	char *withnl = realloc(text, n + 2);
	if (!withnl) {
		free(text);
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	}
	withnl[n] = '\n';
	withnl[n + 1] = '\0';
	int rc = fileio_write_all(path, withnl, n + 1, e);
	free(withnl);
	return rc;
}

const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

double json_num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

bool json_has_num(const cJSON *obj, const char *key)
{
	return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, key));
}
