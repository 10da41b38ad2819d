#include "drift.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "metrics.h"
#include "num.h"

double drift_psi(const double *ref_frac, const double *cur_frac, size_t n)
{
	double psi = 0;
	for (size_t i = 0; i < n; i++) {
		double r = ref_frac[i] > DRIFT_EPSILON ? ref_frac[i] : DRIFT_EPSILON;
		double c = cur_frac[i] > DRIFT_EPSILON ? cur_frac[i] : DRIFT_EPSILON;
		psi += (c - r) * log(c / r);
	}
	return psi;
}

enum drift_band drift_band_of(double psi)
{
	if (psi < DRIFT_MODERATE)
		return DRIFT_STABLE;
	return psi <= DRIFT_SIGNIFICANT ? DRIFT_BAND_MODERATE : DRIFT_BAND_SIGNIFICANT;
}

const char *drift_band_name(enum drift_band b)
{
	switch (b) {
	case DRIFT_STABLE:
		return "stable";
	case DRIFT_BAND_MODERATE:
		return "moderate";
	case DRIFT_BAND_SIGNIFICANT:
		return "significant";
	}
	return "?";
}

void drift_feature_finish(struct drift_feature *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nbins; i++)
		free(f->bins[i].label);
	free(f->bins);
	free(f->name);
	memset(f, 0, sizeof *f);
}

static int oom(struct err *e)
{
	return err_set(e, EXIT_INPUT, "out of memory");
}

/* Allocates NBINS bins and the name; labels are set by the caller. */
static int feature_init(struct drift_feature *f, const char *name,
			bool categorical, size_t nbins, struct err *e)
{
	memset(f, 0, sizeof *f);
	f->name = strdup(name);
	f->bins = calloc(nbins ? nbins : 1, sizeof *f->bins);
	if (!f->name || !f->bins) {
		drift_feature_finish(f);
		return oom(e);
	}
	f->nbins = nbins;
	f->categorical = categorical;
	return 0;
}

/* Fractions from counts, then the PSI and band. Labels must all be set. */
static int feature_close(struct drift_feature *f, size_t nref, size_t ncur,
			 struct err *e)
{
	double *r = malloc((f->nbins ? f->nbins : 1) * sizeof *r);
	double *c = malloc((f->nbins ? f->nbins : 1) * sizeof *c);
	int rc = 0;
	if (!r || !c) {
		rc = oom(e);
		goto out;
	}
	for (size_t i = 0; i < f->nbins; i++) {
		if (!f->bins[i].label) {
			rc = oom(e);
			goto out;
		}
		f->bins[i].ref_frac = nref ? (double)f->bins[i].ref_count / (double)nref : 0;
		f->bins[i].cur_frac = ncur ? (double)f->bins[i].cur_count / (double)ncur : 0;
		r[i] = f->bins[i].ref_frac;
		c[i] = f->bins[i].cur_frac;
	}
	f->psi = drift_psi(r, c, f->nbins);
	f->band = drift_band_of(f->psi);
out:
	free(r);
	free(c);
	if (rc)
		drift_feature_finish(f);
	return rc;
}

/* The label of value bin B of NEDGES + 1. */
static char *bin_label(const double *edges, size_t nedges, size_t b)
{
	char buf[96];
	if (nedges == 0)
		snprintf(buf, sizeof buf, "all values");
	else if (b == 0)
		snprintf(buf, sizeof buf, "<= %.6g", edges[0]);
	else if (b == nedges)
		snprintf(buf, sizeof buf, "> %.6g", edges[b - 1]);
	else
		snprintf(buf, sizeof buf, "(%.6g, %.6g]", edges[b - 1], edges[b]);
	return strdup(buf);
}

/* Number of edges strictly below V: its bin among (-inf, e1], (e1, e2], ...
 * (numpy.searchsorted(edges, v, side="left")). */
static size_t bin_of(const double *edges, size_t nedges, double v)
{
	size_t lo = 0, hi = nedges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (edges[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int drift_numeric(const char *name, const double *ref, size_t nref,
		  const double *cur, size_t ncur, size_t cur_invalid,
		  struct drift_feature *f, struct err *e)
{
	double *vals = malloc((nref ? nref : 1) * sizeof *vals);
	if (!vals)
		return oom(e);
	size_t nvals = 0, ref_missing = 0, cur_missing = 0;
	for (size_t i = 0; i < nref; i++) {
		if (isnan(ref[i]))
			ref_missing++;
		else
			vals[nvals++] = ref[i];
	}
	for (size_t i = 0; i < ncur; i++)
		cur_missing += isnan(cur[i]) ? 1 : 0;

	double edges[9];
	size_t nedges = 0;
	for (int k = 1; nvals && k <= 9; k++) {
		double q = metrics_percentile(vals, nvals, 10.0 * k);
		if (isnan(q)) {
			free(vals);
			return oom(e);
		}
		if (nedges == 0 || q > edges[nedges - 1])
			edges[nedges++] = q;
	}
	free(vals);

	/* Value bins exist when the reference has values; the missing and
	 * not-a-number bins only when something is in them. */
	size_t nvalue = nvals ? nedges + 1 : 0;
	bool has_missing = ref_missing || cur_missing;
	size_t nbins = nvalue + (has_missing ? 1 : 0) + (cur_invalid ? 1 : 0);
	int rc = feature_init(f, name, false, nbins, e);
	if (rc)
		return rc;
	for (size_t b = 0; b < nvalue; b++)
		f->bins[b].label = bin_label(edges, nedges, b);
	size_t missing_bin = nvalue, invalid_bin = nvalue + (has_missing ? 1 : 0);
	if (has_missing)
		f->bins[missing_bin].label = strdup("missing");
	if (cur_invalid) {
		f->bins[invalid_bin].label = strdup("not a number");
		f->bins[invalid_bin].cur_count = cur_invalid;
	}
	for (size_t i = 0; i < nref; i++) {
		if (isnan(ref[i]))
			f->bins[missing_bin].ref_count++;
		else
			f->bins[bin_of(edges, nedges, ref[i])].ref_count++;
	}
	for (size_t i = 0; i < ncur; i++) {
		if (isnan(cur[i]))
			f->bins[missing_bin].cur_count++;
		else if (nvalue)
			f->bins[bin_of(edges, nedges, cur[i])].cur_count++;
	}
	/* A reference without any value leaves the current values nowhere:
	 * they are as unexpected as an unseen level. */
	size_t stray = 0;
	for (size_t i = 0; !nvalue && i < ncur; i++)
		stray += isnan(cur[i]) ? 0 : 1;
	if (stray) {
		drift_feature_finish(f);
		return err_set(e, EXIT_INPUT,
			       "column '%s': the reference has no values to compare %zu current values with",
			       name, stray);
	}
	f->unseen = cur_invalid;
	return feature_close(f, nref, ncur + cur_invalid, e);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool missing(const char *s)
{
	return !s || csv_is_missing(s);
}

/* Index of S in the sorted LEVELS, or -1. */
static long level_index(const char *const *levels, size_t n, const char *s)
{
	const char *const *hit = bsearch(&s, levels, n, sizeof *levels, cmp_str);
	return hit ? (long)(hit - levels) : -1;
}

int drift_categorical(const char *name, const char *const *levels,
		      size_t nlevels, const char *const *ref, size_t nref,
		      const char *const *cur, size_t ncur,
		      struct drift_feature *f, struct err *e)
{
	const char **own = NULL;
	int rc = 0;
	if (!levels) {
		own = malloc((nref ? nref : 1) * sizeof *own);
		if (!own)
			return oom(e);
		size_t n = 0;
		for (size_t i = 0; i < nref; i++)
			if (!missing(ref[i]))
				own[n++] = ref[i];
		qsort(own, n, sizeof *own, cmp_str);
		nlevels = 0;
		for (size_t i = 0; i < n; i++)
			if (nlevels == 0 || strcmp(own[i], own[nlevels - 1]) != 0)
				own[nlevels++] = own[i];
		levels = own;
	}
	size_t ref_unseen = 0, cur_unseen = 0, ref_missing = 0, cur_missing = 0;
	for (size_t i = 0; i < nref; i++) {
		if (missing(ref[i]))
			ref_missing++;
		else if (level_index(levels, nlevels, ref[i]) < 0)
			ref_unseen++;
	}
	for (size_t i = 0; i < ncur; i++) {
		if (missing(cur[i]))
			cur_missing++;
		else if (level_index(levels, nlevels, cur[i]) < 0)
			cur_unseen++;
	}
	bool has_unseen = ref_unseen || cur_unseen;
	bool has_missing = ref_missing || cur_missing;
	size_t nbins = nlevels + (has_unseen ? 1 : 0) + (has_missing ? 1 : 0);
	rc = feature_init(f, name, true, nbins, e);
	if (rc)
		goto out;
	for (size_t b = 0; b < nlevels; b++)
		f->bins[b].label = strdup(levels[b]);
	size_t unseen_bin = nlevels, missing_bin = nlevels + (has_unseen ? 1 : 0);
	if (has_unseen) {
		f->bins[unseen_bin].label = strdup("unseen");
		f->bins[unseen_bin].ref_count = ref_unseen;
		f->bins[unseen_bin].cur_count = cur_unseen;
	}
	if (has_missing) {
		f->bins[missing_bin].label = strdup("missing");
		f->bins[missing_bin].ref_count = ref_missing;
		f->bins[missing_bin].cur_count = cur_missing;
	}
	for (size_t i = 0; i < nref; i++) {
		long k = missing(ref[i]) ? -1 : level_index(levels, nlevels, ref[i]);
		if (k >= 0)
			f->bins[k].ref_count++;
	}
	for (size_t i = 0; i < ncur; i++) {
		long k = missing(cur[i]) ? -1 : level_index(levels, nlevels, cur[i]);
		if (k >= 0)
			f->bins[k].cur_count++;
	}
	f->unseen = cur_unseen;
	rc = feature_close(f, nref, ncur, e);
out:
	free(own);
	return rc;
}

/* A whole CSV file in memory: a header and rows of owned cells. */
struct table {
	const char *path;
	size_t ncols, nrows, cap;
	char **names;
	char **cells;   /* row-major, nrows * ncols */
	size_t *lines;  /* each row's line in the file */
};

static void table_finish(struct table *t)
{
	for (size_t i = 0; t->names && i < t->ncols; i++)
		free(t->names[i]);
	for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->names);
	free(t->cells);
	free(t->lines);
	memset(t, 0, sizeof *t);
}

static int table_load(const char *path, struct table *t, struct err *e)
{
	memset(t, 0, sizeof *t);
	t->path = path;
	struct csv_reader *r = csv_reader_open(path, e);
	if (!r)
		return e && e->code ? e->code : EXIT_INPUT;
	struct csv_record rec;
	int rc = 0, got = csv_reader_next(r, &rec, e);
	if (got < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	if (got == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: empty file (no header)", path);
		goto out;
	}
	t->ncols = rec.n;
	t->names = calloc(rec.n, sizeof *t->names);
	if (!t->names) {
		rc = oom(e);
		goto out;
	}
	for (size_t i = 0; i < rec.n; i++)
		if (!(t->names[i] = strdup(rec.fields[i]))) {
			rc = oom(e);
			goto out;
		}
	while ((got = csv_reader_next(r, &rec, e)) == 1) {
		if (rec.n != t->ncols) {
			rc = err_set(e, EXIT_INPUT, "%s: line %zu: %zu fields where the header has %zu",
				     path, rec.line, rec.n, t->ncols);
			goto out;
		}
		if (t->nrows == t->cap) {
			size_t ncap = t->cap ? 2 * t->cap : 1024;
			char **nc = realloc(t->cells, ncap * t->ncols * sizeof *nc);
			if (!nc) {
				rc = oom(e);
				goto out;
			}
			t->cells = nc;
			size_t *nl = realloc(t->lines, ncap * sizeof *nl);
			if (!nl) {
				rc = oom(e);
				goto out;
			}
			t->lines = nl;
			t->cap = ncap;
		}
		char **row = t->cells + t->nrows * t->ncols;
		for (size_t i = 0; i < t->ncols; i++) {
			row[i] = strdup(rec.fields[i]);
			if (!row[i]) {
				for (size_t k = 0; k < i; k++)
					free(row[k]);
				rc = oom(e);
				goto out;
			}
		}
		t->lines[t->nrows++] = rec.line;
	}
	if (got < 0)
		rc = EXIT_INPUT;
	else if (t->nrows == 0)
		rc = err_set(e, EXIT_INPUT, "%s: no data rows after the header", path);
out:
	csv_reader_close(r);
	if (rc)
		table_finish(t);
	return rc;
}

static long table_col(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->names[i], name) == 0)
			return (long)i;
	return -1;
}

/* Column COL of T as a pointer array (borrowed cells). */
static const char **table_column(const struct table *t, size_t col)
{
	const char **v = malloc((t->nrows ? t->nrows : 1) * sizeof *v);
	for (size_t i = 0; v && i < t->nrows; i++)
		v[i] = t->cells[i * t->ncols + col];
	return v;
}

/* Parses column COL as numbers: NAN for missing cells; a non-number is an
 * error when STRICT (the schema says numeric), else counted in *INVALID and
 * left out of the values. */
static int table_numbers(const struct table *t, size_t col, bool strict,
			 double **out, size_t *n, size_t *invalid,
			 struct err *e)
{
	double *v = malloc((t->nrows ? t->nrows : 1) * sizeof *v);
	if (!v)
		return oom(e);
	size_t k = 0;
	*invalid = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		const char *c = t->cells[i * t->ncols + col];
		double x;
		if (missing(c)) {
			v[k++] = NAN;
		} else if (num_parse(c, &x)) {
			v[k++] = x;
		} else if (strict) {
			char q[80];
			free(v);
			return err_set(e, EXIT_INPUT, "%s: line %zu, column %zu (%s): %s is not a number",
				       t->path, t->lines[i], col + 1, t->names[col],
				       schema_quote_value(c, q, sizeof q));
		} else {
			(*invalid)++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static bool column_is_numeric(const struct table *t, size_t col)
{
	bool any = false;
	for (size_t i = 0; i < t->nrows; i++) {
		const char *c = t->cells[i * t->ncols + col];
		double x;
		if (missing(c))
			continue;
		if (!num_parse(c, &x))
			return false;
		any = true;
	}
	return any;
}

static int compare_column(const struct table *ref, const struct table *cur,
			  const char *name, int type, const struct schema_feature *sf,
			  struct drift_feature *f, struct err *e)
{
	long rc_col = table_col(ref, name), cc_col = table_col(cur, name);
	if (rc_col < 0)
		return err_set(e, EXIT_INPUT, "%s: line 1: missing column '%s'", ref->path, name);
	if (cc_col < 0)
		return err_set(e, EXIT_INPUT, "%s: line 1: missing column '%s'", cur->path, name);
	bool numeric = type >= 0 ? type == 1 : column_is_numeric(ref, (size_t)rc_col);
	int rc;
	if (numeric) {
		double *rv = NULL, *cv = NULL;
		size_t nr, nc, rinv, cinv;
		rc = table_numbers(ref, (size_t)rc_col, true, &rv, &nr, &rinv, e);
		if (!rc)
			rc = table_numbers(cur, (size_t)cc_col, type == 1, &cv, &nc, &cinv, e);
		if (!rc)
			rc = drift_numeric(name, rv, nr, cv, nc, cinv, f, e);
		free(rv);
		free(cv);
		return rc;
	}
	const char **rv = table_column(ref, (size_t)rc_col);
	const char **cv = table_column(cur, (size_t)cc_col);
	if (!rv || !cv)
		rc = oom(e);
	else
		rc = drift_categorical(name, sf ? (const char *const *)sf->levels : NULL,
				       sf ? sf->nlevels : 0, rv, ref->nrows, cv, cur->nrows, f, e);
	free(rv);
	free(cv);
	return rc;
}

/* The model's probabilities for every row of T, encoded through S. */
static int score_table(const struct table *t, const struct schema *s,
		       struct model *m, double **out, struct err *e)
{
	size_t nf = s->nfeatures;
	float *x = malloc((t->nrows ? t->nrows : 1) * nf * sizeof *x);
	float *p = malloc((t->nrows ? t->nrows : 1) * sizeof *p);
	double *d = malloc((t->nrows ? t->nrows : 1) * sizeof *d);
	size_t *cols = malloc((nf ? nf : 1) * sizeof *cols);
	int rc = 0;
	if (!x || !p || !d || !cols) {
		rc = oom(e);
		goto out;
	}
	for (size_t j = 0; j < nf; j++) {
		long c = table_col(t, s->features[j].name);
		if (c < 0) {
			rc = err_set(e, EXIT_INPUT, "%s: line 1: missing column '%s' required by the schema",
				     t->path, s->features[j].name);
			goto out;
		}
		cols[j] = (size_t)c;
	}
	for (size_t i = 0; i < t->nrows; i++) {
		for (size_t j = 0; j < nf; j++) {
			int r = schema_encode_value(s, j, t->cells[i * t->ncols + cols[j]],
						    &x[i * nf + j], e);
			if (r > 1) {
				rc = err_prefix(e, "%s: line %zu", t->path, t->lines[i]);
				goto out;
			}
		}
	}
	rc = model_predict(m, x, t->nrows, nf, p, e);
	if (rc)
		goto out;
	for (size_t i = 0; i < t->nrows; i++)
		d[i] = p[i];
out:
	free(x);
	free(p);
	free(cols);
	if (rc)
		free(d);
	else
		*out = d;
	return rc;
}

static bool excluded(const struct drift_opts *o, const char *name)
{
	for (const char *const *x = o->exclude; x && *x; x++)
		if (strcmp(*x, name) == 0)
			return true;
	return false;
}

void drift_report_finish(struct drift_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfeatures; i++)
		drift_feature_finish(&r->features[i]);
	free(r->features);
	if (r->has_score)
		drift_feature_finish(&r->score);
	memset(r, 0, sizeof *r);
}

int drift_compute(const char *ref_path, const char *cur_path,
		  const struct drift_opts *o, struct drift_report *r,
		  struct err *e)
{
	struct table ref, cur;
	memset(r, 0, sizeof *r);
	if (o->model && !o->schema)
		return err_set(e, EXIT_INPUT, "drift: a model needs its schema");
	int rc = table_load(ref_path, &ref, e);
	if (rc)
		return rc;
	rc = table_load(cur_path, &cur, e);
	if (rc) {
		table_finish(&ref);
		return rc;
	}
	r->ref_rows = ref.nrows;
	r->cur_rows = cur.nrows;
	size_t n = o->schema ? o->schema->nfeatures : ref.ncols;
	r->features = calloc(n ? n : 1, sizeof *r->features);
	if (!r->features) {
		rc = oom(e);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct schema_feature *sf = o->schema ? &o->schema->features[i] : NULL;
		const char *name = sf ? sf->name : ref.names[i];
		if (!sf && excluded(o, name))
			continue;
		int type = sf ? (sf->type == SCHEMA_NUMERIC ? 1 : 0) : -1;
		rc = compare_column(&ref, &cur, name, type, sf, &r->features[r->nfeatures], e);
		if (rc)
			goto out;
		r->nfeatures++;
	}
	double sum = 0;
	for (size_t i = 0; i < r->nfeatures; i++) {
		const struct drift_feature *f = &r->features[i];
		sum += f->psi;
		r->band_counts[f->band]++;
		if (i == 0 || f->psi > r->overall) {
			r->overall = f->psi;
			r->overall_feature = i;
		}
	}
	r->mean_psi = r->nfeatures ? sum / (double)r->nfeatures : 0;
	if (o->model) {
		double *rs = NULL, *cs = NULL;
		rc = score_table(&ref, o->schema, o->model, &rs, e);
		if (!rc)
			rc = score_table(&cur, o->schema, o->model, &cs, e);
		if (!rc)
			rc = drift_numeric("churn_probability", rs, ref.nrows, cs, cur.nrows, 0,
					   &r->score, e);
		free(rs);
		free(cs);
		if (rc)
			goto out;
		r->has_score = true;
	}
out:
	table_finish(&ref);
	table_finish(&cur);
	if (rc)
		drift_report_finish(r);
	return rc;
}

cJSON *drift_feature_to_json(const struct drift_feature *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", f->name);
	cJSON_AddStringToObject(o, "type", f->categorical ? "categorical" : "numeric");
	cJSON_AddNumberToObject(o, "psi", f->psi);
	cJSON_AddStringToObject(o, "band", drift_band_name(f->band));
	cJSON_AddNumberToObject(o, "unseen", (double)f->unseen);
	cJSON *bins = cJSON_AddArrayToObject(o, "bins");
	for (size_t i = 0; i < f->nbins; i++) {
		cJSON *b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "label", f->bins[i].label);
		cJSON_AddNumberToObject(b, "reference", (double)f->bins[i].ref_count);
		cJSON_AddNumberToObject(b, "current", (double)f->bins[i].cur_count);
		cJSON_AddNumberToObject(b, "reference_fraction", f->bins[i].ref_frac);
		cJSON_AddNumberToObject(b, "current_fraction", f->bins[i].cur_frac);
		cJSON_AddItemToArray(bins, b);
	}
	return o;
}

cJSON *drift_report_to_json(const struct drift_report *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "reference_rows", (double)r->ref_rows);
	cJSON_AddNumberToObject(o, "current_rows", (double)r->cur_rows);
	cJSON_AddNumberToObject(o, "epsilon", DRIFT_EPSILON);
	cJSON *ov = cJSON_AddObjectToObject(o, "overall");
	cJSON_AddNumberToObject(ov, "score", r->overall);
	cJSON_AddStringToObject(ov, "definition", "max feature PSI");
	if (r->nfeatures)
		cJSON_AddStringToObject(ov, "feature", r->features[r->overall_feature].name);
	else
		cJSON_AddNullToObject(ov, "feature");
	cJSON_AddStringToObject(ov, "band", drift_band_name(drift_band_of(r->overall)));
	cJSON_AddNumberToObject(ov, "mean_psi", r->mean_psi);
	cJSON *bands = cJSON_AddObjectToObject(o, "bands");
	for (int b = 0; b < 3; b++)
		cJSON_AddNumberToObject(bands, drift_band_name((enum drift_band)b),
					(double)r->band_counts[b]);
	cJSON *fs = cJSON_AddArrayToObject(o, "features");
	for (size_t i = 0; i < r->nfeatures; i++)
		cJSON_AddItemToArray(fs, drift_feature_to_json(&r->features[i]));
	if (r->has_score)
		cJSON_AddItemToObject(o, "score", drift_feature_to_json(&r->score));
	else
		cJSON_AddNullToObject(o, "score");
	return o;
}
