#include "schema.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "num.h"

#define QUOTE_MAX 80 /* buffer for one value quoted in a message */

/* ---------------------------------------------------------------- values */

/* The model reads float32: a number beyond that range cannot be a cell, a
 * typical value or a range bound (and stays clear of the 15 significant
 * digits cJSON prints, which would round DBL_MAX up to infinity). */
static bool fits_float(double v)
{
	return isfinite(v) && fabs(v) <= FLT_MAX;
}

/* Decodes one UTF-8 sequence at S (N > 0 bytes available) into *CP;
 * returns its length, or 0 when it is not valid, shortest-form UTF-8 of a
 * scalar value. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2, v = s[0] & 0x1F, min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3, v = s[0] & 0x0F, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

/* Code points that must not reach a terminal as they are: C1 controls and
 * the marks, embeddings, overrides and isolates that reorder text. */
static bool is_invisible_control(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9F) || cp == 0x061C || cp == 0x200E ||
	       cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

const char *schema_quote_value(const char *value, char *buf, size_t n)
{
	if (n < 5) {
		if (n)
			buf[0] = '\0';
		return buf;
	}
	const unsigned char *v = (const unsigned char *)(value ? value : "");
	const size_t vlen = strlen((const char *)v);
	const size_t limit = n - 4; /* room for "..." and the NUL */
	const size_t src_max = 60;
	size_t o = 0, i = 0;
	while (i < vlen) {
		char esc[8];
		size_t k, used;
		uint32_t cp;
		used = utf8_decode(v + i, vlen - i, &cp);
		if (used == 0) {
			k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", v[i]);
			used = 1;
		} else if (cp == '\n') {
			k = (size_t)snprintf(esc, sizeof esc, "\\n");
		} else if (cp == '\r') {
			k = (size_t)snprintf(esc, sizeof esc, "\\r");
		} else if (cp == '\t') {
			k = (size_t)snprintf(esc, sizeof esc, "\\t");
		} else if (cp == '\\' || cp == '\'') {
			k = (size_t)snprintf(esc, sizeof esc, "\\%c", (char)cp);
		} else if (cp < 0x20 || cp == 0x7F) {
			k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
		} else if (is_invisible_control(cp)) {
			k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
		} else {
			memcpy(esc, v + i, used);
			k = used;
		}
		if (i + used > src_max || o + k > limit) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, esc, k);
		o += k;
		i += used;
	}
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------------------- lifecycle */

static void feature_free(struct schema_feature *f)
{
	free(f->name);
	for (size_t j = 0; j < f->nlevels; j++)
		free(f->levels[j]);
	free(f->levels);
	free(f->typical_level);
}

void schema_destroy(struct schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfeatures; i++)
		feature_free(&s->features[i]);
	free(s->features);
	free(s->target);
	free(s->positive);
	free(s->source);
	free(s);
}

static char *dup_or_null(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

struct schema *schema_clone(const struct schema *s)
{
	bool ok = true;
	struct schema *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->target = dup_or_null(s->target, &ok);
	c->positive = dup_or_null(s->positive, &ok);
	c->source = dup_or_null(s->source, &ok);
	c->features = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *c->features);
	if (!c->features)
		ok = false;
	for (size_t i = 0; ok && i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		struct schema_feature *g = &c->features[i];
		c->nfeatures = i + 1;
		*g = *f;
		g->levels = NULL;
		g->nlevels = 0;
		g->name = dup_or_null(f->name, &ok);
		g->typical_level = dup_or_null(f->typical_level, &ok);
		if (f->nlevels) {
			g->levels = calloc(f->nlevels, sizeof *g->levels);
			if (!g->levels) {
				ok = false;
				break;
			}
			g->nlevels = f->nlevels;
			for (size_t j = 0; j < f->nlevels; j++)
				g->levels[j] = dup_or_null(f->levels[j], &ok);
		}
	}
	if (!ok) {
		schema_destroy(c);
		return NULL;
	}
	return c;
}

/* ----------------------------------------------------------------- parse */

/* "SOURCE: features[I].KEY: message" (KEY may be NULL). */
__attribute__((format(printf, 6, 7)))
static int feat_err(struct err *e, const char *source, size_t i,
		    const char *key, const char *name, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char q[QUOTE_MAX];
	char named[QUOTE_MAX + 16] = "";
	if (name)
		snprintf(named, sizeof named, " (feature '%s')",
			 schema_quote_value(name, q, sizeof q));
	return err_set(e, EXIT_INPUT, "%s: features[%zu]%s%s: %s%s", source, i,
		       key ? "." : "", key ? key : "", msg, named);
}

static int parse_optional_string(const cJSON *root, const char *key,
				 const char *source, char **out, struct err *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
	*out = NULL;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it) || !it->valuestring)
		return err_set(e, EXIT_INPUT, "%s: %s: not a string", source, key);
	if (it->valuestring[0] == '\0')
		return err_set(e, EXIT_INPUT, "%s: %s: empty", source, key);
	*out = strdup(it->valuestring);
	if (!*out)
		return err_set(e, EXIT_INPUT, "%s: out of memory", source);
	return 0;
}

static int parse_levels(struct schema_feature *f, const cJSON *levels,
			const char *source, size_t i, struct err *e)
{
	char q1[QUOTE_MAX], q2[QUOTE_MAX];
	if (!cJSON_IsArray(levels))
		return feat_err(e, source, i, "levels", f->name, "not an array");
	size_t n = (size_t)cJSON_GetArraySize(levels);
	if (n == 0)
		return feat_err(e, source, i, "levels", f->name,
				"empty (a categorical feature needs its levels)");
	if (n > SCHEMA_MAX_LEVELS)
		return feat_err(e, source, i, "levels", f->name,
				"%zu levels, more than the limit of %d", n,
				SCHEMA_MAX_LEVELS);
	f->levels = calloc(n, sizeof *f->levels);
	if (!f->levels)
		return err_set(e, EXIT_INPUT, "%s: out of memory", source);
	size_t j = 0;
	const cJSON *lv;
	cJSON_ArrayForEach(lv, levels) {
		if (!cJSON_IsString(lv) || !lv->valuestring) {
			char key[48];
			snprintf(key, sizeof key, "levels[%zu]", j);
			return feat_err(e, source, i, key, f->name, "not a string");
		}
		if (j > 0) {
			int c = strcmp(f->levels[j - 1], lv->valuestring);
			if (c == 0)
				return feat_err(e, source, i, "levels", f->name,
						"duplicate level '%s'",
						schema_quote_value(lv->valuestring, q1,
								   sizeof q1));
			if (c > 0)
				return feat_err(e, source, i, "levels", f->name,
						"not sorted ('%s' after '%s')",
						schema_quote_value(lv->valuestring, q1,
								   sizeof q1),
						schema_quote_value(f->levels[j - 1], q2,
								   sizeof q2));
		}
		f->levels[j] = strdup(lv->valuestring);
		if (!f->levels[j])
			return err_set(e, EXIT_INPUT, "%s: out of memory", source);
		f->nlevels = ++j;
	}
	return 0;
}

static int parse_feature(struct schema_feature *f, const cJSON *it,
			 const char *source, size_t i, struct err *e)
{
	char q[QUOTE_MAX];
	if (!cJSON_IsObject(it))
		return feat_err(e, source, i, NULL, NULL, "not an object");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
	if (!name)
		return feat_err(e, source, i, "name", NULL, "missing");
	if (!cJSON_IsString(name) || !name->valuestring)
		return feat_err(e, source, i, "name", NULL, "not a string");
	if (name->valuestring[0] == '\0')
		return feat_err(e, source, i, "name", NULL, "empty");
	f->name = strdup(name->valuestring);
	if (!f->name)
		return err_set(e, EXIT_INPUT, "%s: out of memory", source);

	const cJSON *type = cJSON_GetObjectItemCaseSensitive(it, "type");
	if (!type)
		return feat_err(e, source, i, "type", f->name, "missing");
	if (!cJSON_IsString(type) || !type->valuestring)
		return feat_err(e, source, i, "type", f->name, "not a string");
	if (strcmp(type->valuestring, "numeric") == 0)
		f->type = SCHEMA_NUMERIC;
	else if (strcmp(type->valuestring, "categorical") == 0)
		f->type = SCHEMA_CATEGORICAL;
	else
		return feat_err(e, source, i, "type", f->name,
				"unknown type '%s' (numeric or categorical)",
				schema_quote_value(type->valuestring, q, sizeof q));

	const cJSON *levels = cJSON_GetObjectItemCaseSensitive(it, "levels");
	if (levels && cJSON_IsNull(levels))
		levels = NULL;
	if (f->type == SCHEMA_CATEGORICAL) {
		if (!levels)
			return feat_err(e, source, i, "levels", f->name,
					"missing (a categorical feature needs its levels)");
		int rc = parse_levels(f, levels, source, i, e);
		if (rc)
			return rc;
	} else if (levels) {
		return feat_err(e, source, i, "levels", f->name,
				"only a categorical feature has levels");
	}

	const cJSON *range = cJSON_GetObjectItemCaseSensitive(it, "range");
	if (range && !cJSON_IsNull(range)) {
		if (f->type != SCHEMA_NUMERIC)
			return feat_err(e, source, i, "range", f->name,
					"only a numeric feature has a range");
		if (!cJSON_IsArray(range) || cJSON_GetArraySize(range) != 2 ||
		    !cJSON_IsNumber(range->child) ||
		    !cJSON_IsNumber(range->child->next))
			return feat_err(e, source, i, "range", f->name,
					"not an array of two numbers [min, max]");
		double lo = range->child->valuedouble;
		double hi = range->child->next->valuedouble;
		if (!fits_float(lo) || !fits_float(hi))
			return feat_err(e, source, i, "range", f->name,
					"beyond the range of a 32-bit float");
		if (lo > hi)
			return feat_err(e, source, i, "range", f->name,
					"min %.17g is above max %.17g", lo, hi);
		f->has_range = true;
		f->min = lo;
		f->max = hi;
	}

	const cJSON *typ = cJSON_GetObjectItemCaseSensitive(it, "typical");
	if (typ && !cJSON_IsNull(typ)) {
		if (f->type == SCHEMA_NUMERIC) {
			if (!cJSON_IsNumber(typ))
				return feat_err(e, source, i, "typical", f->name,
						"not a number");
			if (!fits_float(typ->valuedouble))
				return feat_err(e, source, i, "typical", f->name,
						"beyond the range of a 32-bit float");
			f->typical = typ->valuedouble;
		} else {
			if (!cJSON_IsString(typ) || !typ->valuestring)
				return feat_err(e, source, i, "typical", f->name,
						"not a string");
			long code = schema_level_code(f, typ->valuestring);
			if (code < 0)
				return feat_err(e, source, i, "typical", f->name,
						"'%s' is not one of the levels",
						schema_quote_value(typ->valuestring, q,
								   sizeof q));
			f->typical_level = strdup(typ->valuestring);
			if (!f->typical_level)
				return err_set(e, EXIT_INPUT, "%s: out of memory",
					       source);
			f->typical = (double)code;
		}
		f->has_typical = true;
	}
	return 0;
}

static int cmp_index_by_name(const void *a, const void *b, void *names)
{
	char *const *nm = names;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(nm[i], nm[j]);
	if (c)
		return c;
	return i < j ? -1 : i > j;
}

/* Sorts indices 0..n-1 by NAMES[i] (then by index). The caller frees. */
static size_t *sorted_index(char *const *names, size_t n)
{
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof *idx, cmp_index_by_name, (void *)names);
	return idx;
}

/* Position in the sorted index IDX of the first name equal to KEY, or -1. */
static long index_find(const size_t *idx, char *const *names, size_t n,
		       const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(names[idx[mid]], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && strcmp(names[idx[lo]], key) == 0)
		return (long)lo;
	return -1;
}

struct schema *schema_parse(const cJSON *root, const char *source,
			    struct err *e)
{
	char q[QUOTE_MAX];
	struct schema *s = NULL;
	char **names = NULL;
	size_t *idx = NULL;
	int rc = 0;

	if (!cJSON_IsObject(root)) {
		err_set(e, EXIT_INPUT, "%s: not a JSON object", source);
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "%s: out of memory", source);
		return NULL;
	}
	if ((rc = parse_optional_string(root, "target", source, &s->target, e)) ||
	    (rc = parse_optional_string(root, "positive", source, &s->positive, e)))
		goto out;

	const cJSON *feats = cJSON_GetObjectItemCaseSensitive(root, "features");
	if (!feats) {
		rc = err_set(e, EXIT_INPUT, "%s: features: missing", source);
		goto out;
	}
	if (!cJSON_IsArray(feats)) {
		rc = err_set(e, EXIT_INPUT, "%s: features: not an array", source);
		goto out;
	}
	size_t n = (size_t)cJSON_GetArraySize(feats);
	if (n == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: features: empty", source);
		goto out;
	}
	s->features = calloc(n, sizeof *s->features);
	if (!s->features) {
		rc = err_set(e, EXIT_INPUT, "%s: out of memory", source);
		goto out;
	}
	size_t i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, feats) {
		s->nfeatures = i + 1;
		if ((rc = parse_feature(&s->features[i], it, source, i, e)))
			goto out;
		if (s->target && strcmp(s->features[i].name, s->target) == 0) {
			rc = feat_err(e, source, i, "name", NULL,
				      "'%s' is the target, not a feature",
				      schema_quote_value(s->target, q, sizeof q));
			goto out;
		}
		i++;
	}

	names = malloc(n * sizeof *names);
	if (!names) {
		rc = err_set(e, EXIT_INPUT, "%s: out of memory", source);
		goto out;
	}
	for (i = 0; i < n; i++)
		names[i] = s->features[i].name;
	idx = sorted_index(names, n);
	if (!idx) {
		rc = err_set(e, EXIT_INPUT, "%s: out of memory", source);
		goto out;
	}
	for (i = 1; i < n; i++) {
		if (strcmp(names[idx[i - 1]], names[idx[i]]) == 0) {
			rc = feat_err(e, source, idx[i], "name", NULL,
				      "duplicate feature name '%s' (also features[%zu])",
				      schema_quote_value(names[idx[i]], q, sizeof q),
				      idx[i - 1]);
			goto out;
		}
	}
out:
	free(idx);
	free(names);
	if (rc) {
		schema_destroy(s);
		return NULL;
	}
	return s;
}

struct schema *schema_load(const char *path, struct err *e)
{
	cJSON *root = json_load_file(path, e);
	if (!root)
		return NULL;
	const char *source = strcmp(path, "-") ? path : "standard input";
	struct schema *s = schema_parse(root, source, e);
	cJSON_Delete(root);
	if (s && !(s->source = strdup(source))) {
		schema_destroy(s);
		err_set(e, EXIT_INPUT, "%s: out of memory", source);
		return NULL;
	}
	return s;
}

/* ------------------------------------------------------------- serialise */

cJSON *schema_to_json(const struct schema *s)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	if (s->target && !cJSON_AddStringToObject(root, "target", s->target))
		goto fail;
	if (s->positive && !cJSON_AddStringToObject(root, "positive", s->positive))
		goto fail;
	cJSON *feats = cJSON_AddArrayToObject(root, "features");
	if (!feats)
		goto fail;
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		cJSON *o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(feats, o)) {
			cJSON_Delete(o);
			goto fail;
		}
		if (!cJSON_AddStringToObject(o, "name", f->name) ||
		    !cJSON_AddStringToObject(o, "type",
					     f->type == SCHEMA_NUMERIC ? "numeric"
								       : "categorical"))
			goto fail;
		if (f->type == SCHEMA_CATEGORICAL) {
			cJSON *lv = cJSON_AddArrayToObject(o, "levels");
			if (!lv)
				goto fail;
			for (size_t j = 0; j < f->nlevels; j++) {
				cJSON *str = cJSON_CreateString(f->levels[j]);
				if (!str || !cJSON_AddItemToArray(lv, str)) {
					cJSON_Delete(str);
					goto fail;
				}
			}
		}
		if (f->has_range) {
			cJSON *r = cJSON_AddArrayToObject(o, "range");
			cJSON *lo = cJSON_CreateNumber(f->min);
			if (!r || !lo || !cJSON_AddItemToArray(r, lo)) {
				cJSON_Delete(lo);
				goto fail;
			}
			cJSON *hi = cJSON_CreateNumber(f->max);
			if (!hi || !cJSON_AddItemToArray(r, hi)) {
				cJSON_Delete(hi);
				goto fail;
			}
		}
		if (f->has_typical) {
			cJSON *t = f->type == SCHEMA_NUMERIC
					   ? cJSON_AddNumberToObject(o, "typical", f->typical)
					   : cJSON_AddStringToObject(o, "typical",
								     f->typical_level);
			if (!t)
				goto fail;
		}
	}
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

int schema_save(const struct schema *s, const char *path, struct err *e)
{
	cJSON *root = schema_to_json(s);
	if (!root)
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	int rc = json_write_file(path, root, e);
	cJSON_Delete(root);
	return rc;
}

/* ---------------------------------------------------------------- lookup */

long schema_find(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->nfeatures; i++)
		if (strcmp(s->features[i].name, name) == 0)
			return (long)i;
	return -1;
}

long schema_level_code(const struct schema_feature *f, const char *level)
{
	if (f->type != SCHEMA_CATEGORICAL || !level)
		return -1;
	size_t lo = 0, hi = f->nlevels;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->levels[mid], level);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Encodes one cell; on EXIT_INPUT writes the reason ("'abc' is not a
 * number") into WHY. */
static int encode_cell(const struct schema_feature *f, const char *value,
		       float *out, char *why, size_t nwhy)
{
	if (csv_is_missing(value)) {
		*out = NAN;
		return 0;
	}
	if (f->type == SCHEMA_CATEGORICAL) {
		long code = schema_level_code(f, value);
		if (code < 0) {
			*out = NAN;
			return 1;
		}
		*out = (float)code;
		return 0;
	}
	char q[QUOTE_MAX];
	double d;
	if (!num_parse(value, &d)) {
		snprintf(why, nwhy, "'%s' is not a number",
			 schema_quote_value(value, q, sizeof q));
		return EXIT_INPUT;
	}
	if (!fits_float(d)) {
		snprintf(why, nwhy, "'%s' is too large for the model (32-bit float)",
			 schema_quote_value(value, q, sizeof q));
		return EXIT_INPUT;
	}
	*out = (float)d;
	return 0;
}

int schema_encode_value(const struct schema *s, size_t i, const char *value,
			float *out, struct err *e)
{
	char q[QUOTE_MAX];
	if (i >= s->nfeatures)
		return err_set(e, EXIT_INPUT, "feature index %zu out of range (%zu features)",
			       i, s->nfeatures);
	char why[256];
	int rc = encode_cell(&s->features[i], value, out, why, sizeof why);
	if (rc > 1)
		return err_set(e, rc, "feature '%s': %s",
			       schema_quote_value(s->features[i].name, q, sizeof q),
			       why);
	return rc;
}

/* --------------------------------------------------------------- binding */

void schema_binding_finish(struct schema_binding *b)
{
	if (!b)
		return;
	if (b->unseen_example && b->schema)
		for (size_t i = 0; i < b->schema->nfeatures; i++)
			free(b->unseen_example[i]);
	free(b->unseen_example);
	free(b->unseen);
	free(b->col);
	free(b->source);
	memset(b, 0, sizeof *b);
	b->target_col = -1;
}

int schema_bind(struct schema_binding *b, const struct schema *s,
		const struct csv_record *header, const char *source,
		struct err *e)
{
	char q[QUOTE_MAX];
	int rc = 0;
	size_t *idx = NULL;
	memset(b, 0, sizeof *b);
	b->target_col = -1;
	b->schema = s;
	b->ncols = header->n;
	b->source = strdup(source);
	b->col = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *b->col);
	b->unseen = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *b->unseen);
	b->unseen_example = calloc(s->nfeatures ? s->nfeatures : 1,
				   sizeof *b->unseen_example);
	idx = sorted_index(header->fields, header->n);
	if (!b->source || !b->col || !b->unseen || !b->unseen_example || !idx) {
		rc = err_set(e, EXIT_INPUT, "%s: out of memory", source);
		goto out;
	}
	for (size_t k = 1; k < header->n; k++) {
		if (strcmp(header->fields[idx[k - 1]], header->fields[idx[k]]) == 0) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu: column '%s' appears twice (columns %zu and %zu)",
				     source, header->line,
				     schema_quote_value(header->fields[idx[k]], q, sizeof q),
				     idx[k - 1] + 1, idx[k] + 1);
			goto out;
		}
	}
	for (size_t i = 0; i < s->nfeatures; i++) {
		long at = index_find(idx, header->fields, header->n,
				     s->features[i].name);
		if (at < 0) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu: missing column '%s' required by the schema",
				     source, header->line,
				     schema_quote_value(s->features[i].name, q, sizeof q));
			goto out;
		}
		b->col[i] = idx[at];
	}
	if (s->target) {
		long at = index_find(idx, header->fields, header->n, s->target);
		if (at >= 0)
			b->target_col = (long)idx[at];
	}
out:
	free(idx);
	if (rc)
		schema_binding_finish(b);
	return rc;
}

int schema_encode(struct schema_binding *b, const struct csv_record *rec,
		  float *row, struct err *e)
{
	const struct schema *s = b->schema;
	if (rec->n != b->ncols)
		return err_set(e, EXIT_INPUT, "%s: line %zu: %zu field%s where the header has %zu",
			       b->source, rec->line, rec->n, rec->n == 1 ? "" : "s",
			       b->ncols);
	for (size_t i = 0; i < s->nfeatures; i++) {
		const char *v = rec->fields[b->col[i]];
		char why[256];
		int rc = encode_cell(&s->features[i], v, &row[i], why, sizeof why);
		if (rc == 1) {
			b->unseen[i]++;
			if (!b->unseen_example[i])
				b->unseen_example[i] = strdup(v);
		} else if (rc) {
			char q[QUOTE_MAX];
			return err_set(e, rc, "%s: line %zu, column %zu (%s): %s",
				       b->source, rec->line, b->col[i] + 1,
				       schema_quote_value(s->features[i].name, q, sizeof q),
				       why);
		}
	}
	return 0;
}

char *schema_binding_unseen_report(const struct schema_binding *b)
{
	if (!b->schema || !b->unseen)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	for (size_t i = 0; i < b->schema->nfeatures; i++) {
		if (!b->unseen[i])
			continue;
		if (!f && !(f = open_memstream(&text, &len)))
			return NULL;
		char q1[QUOTE_MAX], q2[QUOTE_MAX];
		fprintf(f, "%s: column '%s': %zu %s not in the schema (first: '%s'), scored as missing\n",
			b->source,
			schema_quote_value(b->schema->features[i].name, q1, sizeof q1),
			b->unseen[i],
			b->unseen[i] == 1 ? "cell with a level" : "cells with levels",
			schema_quote_value(b->unseen_example[i], q2, sizeof q2));
	}
	if (!f)
		return NULL;
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ------------------------------------------------------------- inference */

/* Distinct strings of one column with their counts: open addressing. */
struct level_set {
	struct level_entry {
		char *s;
		size_t count;
		uint64_t hash;
	} *slots;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void level_set_free(struct level_set *ls)
{
	for (size_t k = 0; k < ls->cap; k++)
		free(ls->slots[k].s);
	free(ls->slots);
	memset(ls, 0, sizeof *ls);
}

/* Counts S. Returns 0, or -1 when memory runs out. */
static int level_set_add(struct level_set *ls, const char *s)
{
	if ((ls->n + 1) * 4 > ls->cap * 3) {
		size_t ncap = ls->cap ? ls->cap * 2 : 16;
		struct level_entry *ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return -1;
		for (size_t k = 0; k < ls->cap; k++) {
			if (!ls->slots[k].s)
				continue;
			size_t at = ls->slots[k].hash & (ncap - 1);
			while (ns[at].s)
				at = (at + 1) & (ncap - 1);
			ns[at] = ls->slots[k];
		}
		free(ls->slots);
		ls->slots = ns;
		ls->cap = ncap;
	}
	uint64_t h = hash_str(s);
	size_t at = h & (ls->cap - 1);
	while (ls->slots[at].s) {
		if (ls->slots[at].hash == h && strcmp(ls->slots[at].s, s) == 0) {
			ls->slots[at].count++;
			return 0;
		}
		at = (at + 1) & (ls->cap - 1);
	}
	char *d = strdup(s);
	if (!d)
		return -1;
	ls->slots[at] = (struct level_entry){.s = d, .count = 1, .hash = h};
	ls->n++;
	return 0;
}

struct infer_col {
	bool numeric;         /* every non-missing cell so far is a number */
	bool late;            /* turned text after numbers: levels incomplete */
	bool levels_overflow; /* more distinct values than SCHEMA_MAX_LEVELS */
	double *vals;
	size_t nvals, cap;
	double min, max;
	struct level_set levels;
};

struct infer {
	const char *src;
	const char *target;
	size_t ncols, tcol, nrows;
	char **header;
	struct infer_col *cols;
	/* The input cannot be read twice (standard input): count the levels
	 * of every column from the first row, in case it turns out text. */
	bool hash_all;
	char *tval[2];
};

static void swap_double(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* Reorders V[0..n) so that V[k] is the k-th smallest, everything before it
 * no larger and everything after no smaller. Quickselect with a pseudo-random
 * pivot and a three-way partition: linear on average, whatever the order of
 * the data and however many values repeat (0/1 columns). */
static void select_kth(double *v, size_t n, size_t k)
{
	uint64_t seed = 0x853c49e6748fea9bull;
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		double pivot = v[lo + (size_t)(seed % (hi - lo))];
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			if (v[i] < pivot)
				swap_double(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap_double(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return;
	}
}

/* Median as numpy computes it: the middle value, or the mean of the two. */
static double median(double *v, size_t n)
{
	size_t m = n / 2;
	select_kth(v, n, m);
	if (n % 2)
		return v[m];
	double below = v[0];
	for (size_t i = 1; i < m; i++)
		if (v[i] > below)
			below = v[i];
	/* both within float range: the sum cannot overflow */
	return (below + v[m]) / 2;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct level_entry *)a)->s,
		      ((const struct level_entry *)b)->s);
}

/* Fills feature F (name already set) from the column's tallies. */
static int finish_feature(struct schema_feature *f, struct infer_col *c)
{
	if (c->numeric) {
		f->type = SCHEMA_NUMERIC;
		if (c->nvals == 0)
			return 0;
		f->typical = median(c->vals, c->nvals);
		f->has_typical = true;
		f->has_range = true;
		f->min = c->min;
		f->max = c->max;
		return 0;
	}
	f->type = SCHEMA_CATEGORICAL;
	struct level_set *ls = &c->levels;
	/* Compact the table into a sorted array, taking the strings over. */
	size_t n = 0;
	for (size_t k = 0; k < ls->cap; k++)
		if (ls->slots[k].s)
			ls->slots[n++] = ls->slots[k];
	for (size_t k = n; k < ls->cap; k++)
		ls->slots[k].s = NULL;
	qsort(ls->slots, n, sizeof *ls->slots, cmp_entry);
	f->levels = calloc(n ? n : 1, sizeof *f->levels);
	if (!f->levels)
		return -1;
	size_t best = 0;
	for (size_t k = 0; k < n; k++) {
		f->levels[k] = ls->slots[k].s;
		ls->slots[k].s = NULL;
		if (ls->slots[k].count > ls->slots[best].count)
			best = k;
	}
	f->nlevels = n;
	if (n) {
		f->typical_level = strdup(f->levels[best]);
		if (!f->typical_level)
			return -1;
		f->typical = (double)best;
		f->has_typical = true;
	}
	return 0;
}

static int infer_oom(struct infer *in, struct err *e)
{
	return err_set(e, EXIT_INPUT, "%s: out of memory", in->src);
}

/* Counts V among column J's levels; fails when a text column grows past
 * SCHEMA_MAX_LEVELS. A column still numeric just stops counting then: it
 * fails the same way if it later turns out text. */
static int count_level(struct infer *in, size_t j, const char *v, size_t line,
		       struct err *e)
{
	struct infer_col *c = &in->cols[j];
	if (!c->levels_overflow) {
		if (level_set_add(&c->levels, v))
			return infer_oom(in, e);
		if (c->levels.n > SCHEMA_MAX_LEVELS) {
			c->levels_overflow = true;
			level_set_free(&c->levels);
		}
	}
	if (c->levels_overflow && !c->numeric) {
		char q[QUOTE_MAX];
		return err_set(e, EXIT_INPUT,
			       "%s: line %zu, column %zu (%s): more than %d distinct values in a text column; an identifier? leave it out of the training data",
			       in->src, line, j + 1,
			       schema_quote_value(in->header[j], q, sizeof q),
			       SCHEMA_MAX_LEVELS);
	}
	return 0;
}

static int tally_cell(struct infer *in, size_t j, const char *v, size_t line,
		      struct err *e)
{
	struct infer_col *c = &in->cols[j];
	if (c->numeric) {
		double d;
		if (num_parse(v, &d)) {
			if (!fits_float(d)) {
				char q1[QUOTE_MAX], q2[QUOTE_MAX];
				return err_set(e, EXIT_INPUT,
					       "%s: line %zu, column %zu (%s): '%s' is too large for the model (32-bit float)",
					       in->src, line, j + 1,
					       schema_quote_value(in->header[j], q1, sizeof q1),
					       schema_quote_value(v, q2, sizeof q2));
			}
			if (c->nvals == c->cap) {
				size_t ncap = c->cap ? c->cap * 2 : 1024;
				double *nv = realloc(c->vals, ncap * sizeof *nv);
				if (!nv)
					return infer_oom(in, e);
				c->vals = nv;
				c->cap = ncap;
			}
			if (c->nvals == 0 || d < c->min)
				c->min = d;
			if (c->nvals == 0 || d > c->max)
				c->max = d;
			c->vals[c->nvals++] = d;
			return in->hash_all ? count_level(in, j, v, line, e) : 0;
		}
		c->numeric = false;
		c->late = c->nvals > 0 && !in->hash_all;
		free(c->vals);
		c->vals = NULL;
		c->nvals = c->cap = 0;
	}
	return c->late ? 0 : count_level(in, j, v, line, e);
}

static int tally_target(struct infer *in, const char *t, size_t line,
			struct err *e)
{
	char q1[QUOTE_MAX], q2[QUOTE_MAX], q3[QUOTE_MAX], q4[QUOTE_MAX];
	if (csv_is_missing(t))
		return err_set(e, EXIT_INPUT, "%s: line %zu, column %zu (%s): the target is missing",
			       in->src, line, in->tcol + 1,
			       schema_quote_value(in->target, q1, sizeof q1));
	for (int k = 0; k < 2; k++) {
		if (!in->tval[k]) {
			if (!(in->tval[k] = strdup(t)))
				return infer_oom(in, e);
			return 0;
		}
		if (strcmp(in->tval[k], t) == 0)
			return 0;
	}
	return err_set(e, EXIT_INPUT,
		       "%s: line %zu, column %zu (%s): a third target value '%s' (the others are '%s' and '%s')",
		       in->src, line, in->tcol + 1,
		       schema_quote_value(in->target, q1, sizeof q1),
		       schema_quote_value(t, q2, sizeof q2),
		       schema_quote_value(in->tval[0], q3, sizeof q3),
		       schema_quote_value(in->tval[1], q4, sizeof q4));
}

/* Takes the header: names present and distinct, the target among them. */
static int infer_header(struct infer *in, const struct csv_record *rec,
			struct err *e)
{
	char q[QUOTE_MAX];
	in->ncols = rec->n;
	in->header = calloc(in->ncols, sizeof *in->header);
	in->cols = calloc(in->ncols, sizeof *in->cols);
	if (!in->header || !in->cols)
		return infer_oom(in, e);
	for (size_t j = 0; j < in->ncols; j++) {
		if (rec->fields[j][0] == '\0')
			return err_set(e, EXIT_INPUT, "%s: line %zu, column %zu: empty column name",
				       in->src, rec->line, j + 1);
		if (!(in->header[j] = strdup(rec->fields[j])))
			return infer_oom(in, e);
		in->cols[j].numeric = true;
	}
	size_t *idx = sorted_index(in->header, in->ncols);
	if (!idx)
		return infer_oom(in, e);
	int rc = 0;
	for (size_t k = 1; k < in->ncols && !rc; k++)
		if (strcmp(in->header[idx[k - 1]], in->header[idx[k]]) == 0)
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu: column '%s' appears twice (columns %zu and %zu)",
				     in->src, rec->line,
				     schema_quote_value(in->header[idx[k]], q, sizeof q),
				     idx[k - 1] + 1, idx[k] + 1);
	long at = rc ? -1 : index_find(idx, in->header, in->ncols, in->target);
	if (!rc && at < 0)
		rc = err_set(e, EXIT_INPUT, "%s: line %zu: no column '%s' (the target)",
			     in->src, rec->line,
			     schema_quote_value(in->target, q, sizeof q));
	if (!rc) {
		in->tcol = idx[at];
		if (in->ncols < 2)
			rc = err_set(e, EXIT_INPUT, "%s: line %zu: no column besides the target '%s'",
				     in->src, rec->line,
				     schema_quote_value(in->target, q, sizeof q));
	}
	free(idx);
	return rc;
}

static int ragged(struct infer *in, const struct csv_record *rec,
		  struct err *e)
{
	return err_set(e, EXIT_INPUT, "%s: line %zu: %zu field%s where the header has %zu",
		       in->src, rec->line, rec->n, rec->n == 1 ? "" : "s",
		       in->ncols);
}

/* Second pass, for columns that turned out text after rows of numbers
 * (marked late): counts their levels again from the first row. */
static int recount_levels(struct infer *in, const char *path, struct err *e)
{
	struct csv_record rec;
	struct csv_reader *r = csv_reader_open(path, e);
	if (!r)
		return EXIT_INPUT;
	for (size_t j = 0; j < in->ncols; j++) {
		if (in->cols[j].late) {
			level_set_free(&in->cols[j].levels);
			in->cols[j].levels_overflow = false;
		}
	}
	int rc = 0;
	int got = csv_reader_next(r, &rec, e); /* the header */
	while (got == 1 && (got = csv_reader_next(r, &rec, e)) == 1) {
		if (rec.n != in->ncols) {
			rc = ragged(in, &rec, e);
			break;
		}
		for (size_t j = 0; j < in->ncols && !rc; j++)
			if (in->cols[j].late && !csv_is_missing(rec.fields[j]))
				rc = count_level(in, j, rec.fields[j], rec.line, e);
		if (rc)
			break;
	}
	if (!rc && got < 0)
		rc = EXIT_INPUT;
	csv_reader_close(r);
	return rc;
}

static struct schema *build_schema(struct infer *in, const char *positive,
				   struct err *e)
{
	char q1[QUOTE_MAX], q2[QUOTE_MAX], q3[QUOTE_MAX], q4[QUOTE_MAX];
	if (positive && strcmp(positive, in->tval[0]) != 0 &&
	    strcmp(positive, in->tval[1]) != 0) {
		err_set(e, EXIT_INPUT,
			"%s: positive label '%s' is not a value of column '%s' ('%s' or '%s')",
			in->src, schema_quote_value(positive, q1, sizeof q1),
			schema_quote_value(in->target, q2, sizeof q2),
			schema_quote_value(in->tval[0], q3, sizeof q3),
			schema_quote_value(in->tval[1], q4, sizeof q4));
		return NULL;
	}
	if (!positive)
		positive = strcmp(in->tval[0], in->tval[1]) > 0 ? in->tval[0]
							       : in->tval[1];
	struct schema *s = calloc(1, sizeof *s);
	if (!s || !(s->target = strdup(in->target)) ||
	    !(s->positive = strdup(positive)) ||
	    !(s->features = calloc(in->ncols - 1, sizeof *s->features)))
		goto oom;
	for (size_t j = 0; j < in->ncols; j++) {
		if (j == in->tcol)
			continue;
		struct schema_feature *f = &s->features[s->nfeatures++];
		f->name = in->header[j];
		in->header[j] = NULL;
		if (finish_feature(f, &in->cols[j]))
			goto oom;
	}
	return s;
oom:
	schema_destroy(s);
	infer_oom(in, e);
	return NULL;
}

struct schema *schema_infer(const char *csv_path, const char *target,
			    const char *positive, struct err *e)
{
	char q1[QUOTE_MAX], q2[QUOTE_MAX];
	struct infer in = {.target = target, .hash_all = strcmp(csv_path, "-") == 0};
	struct schema *s = NULL;
	struct csv_record rec;
	int rc = 0;

	struct csv_reader *r = csv_reader_open(csv_path, e);
	if (!r)
		return NULL;
	in.src = csv_reader_name(r);
	int got = csv_reader_next(r, &rec, e);
	if (got <= 0) {
		rc = got < 0 ? EXIT_INPUT : err_set(e, EXIT_INPUT, "%s: empty file", in.src);
		goto out;
	}
	if ((rc = infer_header(&in, &rec, e)))
		goto out;

	bool any_late = false;
	while ((got = csv_reader_next(r, &rec, e)) == 1) {
		in.nrows++;
		if (rec.n != in.ncols) {
			rc = ragged(&in, &rec, e);
			goto out;
		}
		if ((rc = tally_target(&in, rec.fields[in.tcol], rec.line, e)))
			goto out;
		for (size_t j = 0; j < in.ncols; j++) {
			if (j == in.tcol || csv_is_missing(rec.fields[j]))
				continue;
			if ((rc = tally_cell(&in, j, rec.fields[j], rec.line, e)))
				goto out;
			any_late |= in.cols[j].late;
		}
	}
	if (got < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	if (in.nrows == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: no data rows after the header", in.src);
		goto out;
	}
	if (!in.tval[1]) {
		rc = err_set(e, EXIT_INPUT,
			     "%s: column '%s' (the target) has a single value, '%s'; training needs two",
			     in.src, schema_quote_value(target, q1, sizeof q1),
			     schema_quote_value(in.tval[0], q2, sizeof q2));
		goto out;
	}
	if (any_late && (rc = recount_levels(&in, csv_path, e)))
		goto out;
	s = build_schema(&in, positive, e);
	if (!s)
		rc = EXIT_INPUT;
out:
	if (in.cols) {
		for (size_t j = 0; j < in.ncols; j++) {
			free(in.cols[j].vals);
			level_set_free(&in.cols[j].levels);
		}
		free(in.cols);
	}
	if (in.header) {
		for (size_t j = 0; j < in.ncols; j++)
			free(in.header[j]);
		free(in.header);
	}
	free(in.tval[0]);
	free(in.tval[1]);
	csv_reader_close(r);
	if (rc) {
		schema_destroy(s);
		return NULL;
	}
	return s;
}
