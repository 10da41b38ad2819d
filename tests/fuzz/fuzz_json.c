/* Fuzz target for core/json (json_parse: its nesting limit, its error
 * positions, text after the value) and the lookups every parser uses.
 *
 * A document that parses must print (cJSON_PrintUnformatted, and formatted)
 * and parse again to a tree that prints the same: what churnops
 * writes (stores, reports, patches) must read back. A document that fails
 * must fail with EXIT_INPUT and a message naming the source and a line, or
 * the nesting limit; a document nested deeper than JSON_MAX_DEPTH must
 * fail, and so must a number beyond the range of a double. json_str, json_num and json_has_num are tried on every key of the
 * top-level object and must agree with the item's type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_json: %s\n", what);
		abort();
	}
}

/* Nesting of the text outside strings, as a reader counts it. */
static size_t depth_of(const char *s, size_t len)
{
	size_t depth = 0, max = 0;
	int in_str = 0;
	for (size_t i = 0; i < len; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"') {
			in_str = 1;
		} else if (s[i] == '[' || s[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if ((s[i] == ']' || s[i] == '}') && depth) {
			depth--;
		}
	}
	return max;
}

static void check_lookups(const cJSON *root)
{
	const cJSON *it;
	if (!cJSON_IsObject(root))
		return;
	cJSON_ArrayForEach(it, root) {
		check(it->string != NULL, "an object member without a key");
		/* the first member of that name is what lookups see */
		const cJSON *first = cJSON_GetObjectItemCaseSensitive(root, it->string);
		check(first != NULL, "a member's key finds no member");
		const char *s = json_str(root, it->string);
		check((s != NULL) == (cJSON_IsString(first) != 0), "json_str and the type disagree");
		check(json_has_num(root, it->string) == (cJSON_IsNumber(first) != 0),
		      "json_has_num and the type disagree");
		double d = json_num(root, it->string, 42.0);
		if (!cJSON_IsNumber(first))
			check(d == 42.0, "json_num of a non-number is not the default");
	}
	check(json_str(NULL, "x") == NULL && json_num(NULL, "x", 1.0) == 1.0 &&
		      !json_has_num(NULL, "x"), "lookups on NULL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Not NUL-terminated on purpose: json_parse must keep within LEN. */
	char *text = malloc(size ? size : 1);
	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	else
		text[0] = '\0';
	struct err e = {0};
	cJSON *root = json_parse(text, size, "fuzz.json", &e);
	if (!root) {
		check(e.code == EXIT_INPUT, "a failed parse is not EXIT_INPUT");
		check(strncmp(e.msg, "fuzz.json: ", 11) == 0, "the message does not name the source");
		check(strstr(e.msg, "line ") || strstr(e.msg, "nested deeper") ||
			      strstr(e.msg, "out of range"), "the message names no line");
		free(text);
		return 0;
	}
	check(depth_of(text, size) <= JSON_MAX_DEPTH, "a document deeper than the limit parsed");
	check_lookups(root);

	char *printed = cJSON_PrintUnformatted(root);
	check(printed != NULL, "a parsed tree does not print");
	size_t plen = strlen(printed);
	struct err e2 = {0};
	cJSON *again = json_parse(printed, plen, "printed", &e2);
	if (!again) {
		fprintf(stderr, "fuzz_json: %s\n--- printed:\n%s\n", e2.msg, printed);
		check(0, "what cJSON printed does not parse");
	}
	/* Trees are compared through their printed text: cJSON_Compare finds
	 * members by name, so it cannot compare objects with a repeated key. */
	char *printed2 = cJSON_PrintUnformatted(again);
	check(printed2 && strcmp(printed, printed2) == 0,
	      "the printed tree parses to another tree");
	check(cJSON_GetArraySize(root) == cJSON_GetArraySize(again) &&
		      (root->type & 0xff) == (again->type & 0xff),
	      "the printed tree parses to another tree");

	/* Formatted output (json_write_file's) must read back too. */
	char *pretty = cJSON_Print(root);
	check(pretty != NULL, "a parsed tree does not print formatted");
	cJSON *third = json_parse(pretty, strlen(pretty), "pretty", &e2);
	check(third != NULL, "the formatted tree does not parse");
	char *printed3 = cJSON_PrintUnformatted(third);
	check(printed3 && strcmp(printed, printed3) == 0,
	      "the formatted tree parses to another tree");
	free(printed3);

	cJSON_Delete(third);
	free(pretty);
	free(printed2);
	cJSON_Delete(again);
	free(printed);
	cJSON_Delete(root);
	free(text);
	return 0;
}
