#include "whatif.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "num.h"
#include "score.h"

static int record_alloc(struct whatif_record *r, const struct schema *s,
			struct err *e)
{
	memset(r, 0, sizeof *r);
	r->schema = s;
	r->text = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *r->text);
	r->row = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *r->row);
	if (!r->text || !r->row) {
		free(r->text);
		free(r->row);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	return 0;
}

void whatif_record_finish(struct whatif_record *r)
{
	if (!r->schema)
		return;
	for (size_t i = 0; i < r->schema->nfeatures; i++)
		free(r->text[i]);
	free(r->text);
	free(r->row);
	memset(r, 0, sizeof *r);
}

static int levels_list(const struct schema_feature *f, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < f->nlevels && used < n; k++) {
		int w = snprintf(buf + used, n - used, "%s'%s'", k ? ", " : "",
				 f->levels[k]);
		if (w < 0)
			return -1;
		used += (size_t)w;
	}
	return 0;
}

int whatif_record_set_value(struct whatif_record *r, size_t i,
			    const char *value, struct err *e)
{
	const struct schema *s = r->schema;
	const struct schema_feature *f = &s->features[i];
	float v;
	if (value && !csv_is_missing(value)) {
		int rc = schema_encode_value(s, i, value, &v, e);
		if (rc < 0 || rc > 1)
			return rc;
		if (rc == 1 || (f->type == SCHEMA_CATEGORICAL && isnan(v))) {
			char levels[768];
			levels_list(f, levels, sizeof levels);
			return err_set(e, EXIT_INPUT,
				       "%s: '%s' is not a level the model knows (levels: %s)",
				       f->name, value, levels);
		}
	} else {
		value = NULL;
		v = NAN;
	}
	char *copy = NULL;
	if (value && !(copy = strdup(value)))
		return err_set(e, EXIT_INPUT, "out of memory");
	free(r->text[i]);
	r->text[i] = copy;
	r->row[i] = v;
	return 0;
}

int whatif_record_typical(struct whatif_record *r, const struct schema *s,
			  struct err *e)
{
	int rc = record_alloc(r, s, e);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		char num[64];
		const char *value;
		if (!f->has_typical) {
			whatif_record_finish(r);
			return err_set(e, EXIT_INPUT,
				       "feature '%s' has no typical value in the schema; "
				       "start from a row with --data and --row", f->name);
		}
		if (f->type == SCHEMA_CATEGORICAL) {
			value = f->typical_level;
		} else {
			snprintf(num, sizeof num, "%.10g", f->typical);
			value = num;
		}
		rc = whatif_record_set_value(r, i, value, e);
		if (rc) {
			err_prefix(e, "typical customer");
			whatif_record_finish(r);
			return rc;
		}
	}
	return 0;
}

int whatif_record_from_row(struct whatif_record *r, const struct schema *s,
			   const char *path, size_t n, struct err *e)
{
	if (n == 0)
		return err_set(e, EXIT_INPUT, "--row: rows are numbered from 1");
	struct csv_reader *rd = csv_reader_open(path, e);
	if (!rd)
		return e ? e->code : EXIT_INPUT;
	struct schema_binding b;
	bool bound = false;
	struct csv_record rec;
	int rc = 0;
	int got = csv_reader_next(rd, &rec, e);
	if (got < 0) {
		rc = e->code;
		goto out;
	}
	if (got == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: empty file (no header line)", path);
		goto out;
	}
	rc = schema_bind(&b, s, &rec, csv_reader_name(rd), e);
	if (rc)
		goto out;
	bound = true;
	size_t ncols = b.ncols;
	for (size_t k = 1; k <= n; k++) {
		got = csv_reader_next(rd, &rec, e);
		if (got < 0) {
			rc = e->code;
			goto out;
		}
		if (got == 0) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: --row %zu: the file has %zu data rows", path,
				     n, k - 1);
			goto out;
		}
	}
	if (rec.n != ncols) {
		rc = err_set(e, EXIT_INPUT, "%s: line %zu: %zu fields where the header has %zu",
			     csv_reader_name(rd), rec.line, rec.n, ncols);
		goto out;
	}
	rc = record_alloc(r, s, e);
	if (rc)
		goto out;
	for (size_t i = 0; i < s->nfeatures; i++) {
		rc = whatif_record_set_value(r, i, rec.fields[b.col[i]], e);
		if (rc) {
			err_prefix(e, "%s: line %zu, column %zu", csv_reader_name(rd),
				   rec.line, b.col[i] + 1);
			whatif_record_finish(r);
			goto out;
		}
	}
out:
	if (bound)
		schema_binding_finish(&b);
	csv_reader_close(rd);
	return rc;
}

int whatif_record_set(struct whatif_record *r, const char *assignment,
		      struct err *e)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment)
		return err_set(e, EXIT_INPUT,
			       "--set '%s': expected name=value", assignment);
	size_t len = (size_t)(eq - assignment);
	char name[256];
	if (len >= sizeof name)
		return err_set(e, EXIT_INPUT, "--set: feature name too long");
	memcpy(name, assignment, len);
	name[len] = '\0';
	long i = schema_find(r->schema, name);
	if (i < 0)
		return err_set(e, EXIT_INPUT,
			       "--set: the model has no feature '%s'", name);
	int rc = whatif_record_set_value(r, (size_t)i, eq + 1, e);
	if (rc)
		err_prefix(e, "--set");
	return rc;
}

static int by_magnitude(const void *a, const void *b)
{
	const struct whatif_contribution *x = a, *y = b;
	float ax = fabsf(x->contribution), ay = fabsf(y->contribution);
	if (ax != ay)
		return ax < ay ? 1 : -1;
	return x->feature < y->feature ? -1 : (x->feature > y->feature);
}

int whatif_score(struct model *m, const struct whatif_record *r,
		 struct whatif_result *res, struct err *e)
{
	size_t n = r->schema->nfeatures;
	memset(res, 0, sizeof *res);
	float *contrib = malloc((n + 1) * sizeof *contrib);
	res->contributions = malloc((n ? n : 1) * sizeof *res->contributions);
	if (!contrib || !res->contributions) {
		free(contrib);
		free(res->contributions);
		res->contributions = NULL;
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	float margin, prob;
	int rc = model_predict_margin(m, r->row, 1, n, &margin, e);
	if (!rc)
		rc = model_predict(m, r->row, 1, n, &prob, e);
	if (!rc)
		rc = model_explain(m, r->row, n, contrib, e);
	if (rc) {
		free(contrib);
		whatif_result_finish(res);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		res->contributions[i].feature = i;
		res->contributions[i].contribution = contrib[i];
	}
	qsort(res->contributions, n, sizeof *res->contributions, by_magnitude);
	res->ncontributions = n;
	res->base_value = contrib[n];
	res->margin = margin;
	res->probability = prob;
	free(contrib);
	return 0;
}

void whatif_result_finish(struct whatif_result *res)
{
	free(res->contributions);
	memset(res, 0, sizeof *res);
}

static cJSON *value_json(const struct whatif_record *r, size_t i)
{
	const char *t = r->text[i];
	if (!t)
		return cJSON_CreateNull();
	double d;
	if (r->schema->features[i].type == SCHEMA_NUMERIC && num_parse(t, &d))
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(t);
}

cJSON *whatif_to_json(const struct whatif_record *r,
		      const struct whatif_result *res, const char *version,
		      const char *model_path, const char *sha256,
		      double cut_low, double cut_high)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "model_version", version ? version : "");
	cJSON_AddStringToObject(o, "model", model_path ? model_path : "");
	cJSON_AddStringToObject(o, "sha256", sha256 ? sha256 : "");
	cJSON_AddNumberToObject(o, "probability", res->probability);
	cJSON_AddNumberToObject(o, "margin", res->margin);
	cJSON_AddNumberToObject(o, "base_value", res->base_value);
	cJSON_AddStringToObject(o, "risk_level",
				score_risk_level(res->probability, cut_low, cut_high));
	cJSON *arr = cJSON_AddArrayToObject(o, "contributions");
	for (size_t k = 0; arr && k < res->ncontributions; k++) {
		size_t i = res->contributions[k].feature;
		cJSON *c = cJSON_CreateObject();
		if (!c)
			break;
		cJSON_AddStringToObject(c, "feature", r->schema->features[i].name);
		cJSON_AddItemToObject(c, "value", value_json(r, i));
		cJSON_AddNumberToObject(c, "contribution",
					res->contributions[k].contribution);
		cJSON_AddItemToArray(arr, c);
	}
	return o;
}
