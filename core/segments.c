#include "segments.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const double tenure_bands[] = {12, 24, 48};

const struct segments_column segments_default_columns[] = {
	{"contract", NULL, 0},
	{"internet_service", NULL, 0},
	{"senior_citizen", NULL, 0},
	{"tenure", tenure_bands, sizeof tenure_bands / sizeof tenure_bands[0]},
};
const size_t segments_default_ncolumns =
	sizeof segments_default_columns / sizeof segments_default_columns[0];

const char *const segments_default_protected[] = {"senior_citizen", "female"};
const size_t segments_default_nprotected =
	sizeof segments_default_protected / sizeof segments_default_protected[0];

static int oom(struct err *e)
{
	return err_set(e, EXIT_INPUT, "out of memory");
}

/* A column cut into groups: labels and each row's group. */
struct split {
	char **labels;
	size_t nlabels;
	size_t *group;  /* per row */
};

static void split_finish(struct split *sp)
{
	for (size_t i = 0; i < sp->nlabels; i++)
		free(sp->labels[i]);
	free(sp->labels);
	free(sp->group);
	memset(sp, 0, sizeof *sp);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static char *band_label(const double *bands, size_t nb, size_t i)
{
	char buf[64];
	if (i == nb)
		snprintf(buf, sizeof buf, "%.10g+", bands[nb - 1] + 1);
	else
		snprintf(buf, sizeof buf, "%.10g-%.10g", i == 0 ? 0 : bands[i - 1] + 1,
			 bands[i]);
	return strdup(buf);
}

/* Assigns every row of column C to a group: levels, bands or distinct
 * values, then "missing" when any cell is missing. */
static int split_column(const struct schema *s, const float *x, size_t n,
			const struct segments_column *c, struct split *sp,
			struct err *e)
{
	memset(sp, 0, sizeof *sp);
	long fi = schema_find(s, c->name);
	if (fi < 0)
		return err_set(e, EXIT_INPUT, "segment column '%s' is not a feature of the model's schema",
			       c->name);
	const struct schema_feature *f = &s->features[fi];
	size_t nf = s->nfeatures;
	double values[SEGMENTS_MAX_VALUES];
	size_t nvalues = 0, nmissing = 0;
	if (f->type == SCHEMA_CATEGORICAL && c->nbands)
		return err_set(e, EXIT_INPUT, "segment column '%s' is categorical: it takes no bands",
			       c->name);
	if (c->nbands > SEGMENTS_MAX_BANDS)
		return err_set(e, EXIT_INPUT, "segment column '%s': more than %d bands",
			       c->name, SEGMENTS_MAX_BANDS);
	for (size_t i = 1; i < c->nbands; i++)
		if (!(c->bands[i] > c->bands[i - 1]))
			return err_set(e, EXIT_INPUT, "segment column '%s': bands must increase",
				       c->name);
	for (size_t r = 0; r < n; r++) {
		double v = x[r * nf + (size_t)fi];
		if (isnan(v)) {
			nmissing++;
			continue;
		}
		if (f->type == SCHEMA_CATEGORICAL || c->nbands)
			continue;
		bool seen = false;
		for (size_t k = 0; k < nvalues && !seen; k++)
			seen = values[k] == v;
		if (seen)
			continue;
		if (nvalues == SEGMENTS_MAX_VALUES)
			return err_set(e, EXIT_INPUT,
				       "segment column '%s' has more than %d distinct values: give it bands",
				       c->name, SEGMENTS_MAX_VALUES);
		values[nvalues++] = v;
	}
	qsort(values, nvalues, sizeof *values, cmp_double);
	size_t nbase = f->type == SCHEMA_CATEGORICAL ? f->nlevels
		       : c->nbands			 ? c->nbands + 1
							 : nvalues;
	sp->nlabels = nbase + (nmissing ? 1 : 0);
	sp->labels = calloc(sp->nlabels ? sp->nlabels : 1, sizeof *sp->labels);
	sp->group = malloc((n ? n : 1) * sizeof *sp->group);
	if (!sp->labels || !sp->group) {
		split_finish(sp);
		return oom(e);
	}
	for (size_t k = 0; k < nbase; k++) {
		char buf[64];
		if (f->type == SCHEMA_CATEGORICAL) {
			sp->labels[k] = strdup(f->levels[k]);
		} else if (c->nbands) {
			sp->labels[k] = band_label(c->bands, c->nbands, k);
		} else {
			snprintf(buf, sizeof buf, "%.10g", values[k]);
			sp->labels[k] = strdup(buf);
		}
	}
	if (nmissing)
		sp->labels[nbase] = strdup("missing");
	for (size_t k = 0; k < sp->nlabels; k++)
		if (!sp->labels[k]) {
			split_finish(sp);
			return oom(e);
		}
	for (size_t r = 0; r < n; r++) {
		double v = x[r * nf + (size_t)fi];
		size_t g;
		if (isnan(v)) {
			g = nbase;
		} else if (f->type == SCHEMA_CATEGORICAL) {
			g = (size_t)v;
		} else if (c->nbands) {
			g = 0;
			while (g < c->nbands && v > c->bands[g])
				g++;
		} else {
			g = 0;
			while (values[g] != v)
				g++;
		}
		sp->group[r] = g;
	}
	return 0;
}

void segments_report_finish(struct segments_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].column);
		free(r->groups[i].label);
	}
	free(r->groups);
	memset(r, 0, sizeof *r);
}

/* Appends SP's groups for column NAME to R with their figures. */
static int add_groups(struct segments_report *r, const char *name,
		      const struct split *sp, const float *y,
		      const float *score, size_t n, double threshold,
		      size_t min_size, struct err *e)
{
	struct segments_group *ng = realloc(r->groups, (r->ngroups + sp->nlabels + 1) *
							       sizeof *ng);
	float *gs = malloc((n ? n : 1) * sizeof *gs);
	float *gy = malloc((n ? n : 1) * sizeof *gy);
	int rc = 0;
	if (ng)
		r->groups = ng;
	if (!ng || !gs || !gy) {
		rc = oom(e);
		goto out;
	}
	for (size_t k = 0; k < sp->nlabels; k++) {
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (sp->group[i] == k) {
				gs[m] = score[i];
				gy[m] = y[i];
				m++;
			}
		struct segments_group *g = &r->groups[r->ngroups];
		memset(g, 0, sizeof *g);
		g->column = strdup(name);
		g->label = strdup(sp->labels[k]);
		if (!g->column || !g->label) {
			free(g->column);
			free(g->label);
			rc = oom(e);
			goto out;
		}
		r->ngroups++;
		struct metrics_confusion c = metrics_confusion(gs, gy, m, threshold);
		g->n = m;
		g->positives = c.tp + c.fn;
		g->true_positive = c.tp;
		g->predicted_positive = c.tp + c.fp;
		g->roc_auc = m ? metrics_roc_auc(gs, gy, m) : NAN;
		g->recall = g->positives ? (double)c.tp / (double)g->positives : NAN;
		g->positive_rate = m ? (double)g->predicted_positive / (double)m : NAN;
		g->judged = m >= min_size && !isnan(g->roc_auc);
	}
out:
	free(gs);
	free(gy);
	return rc;
}

int segments_compute(const struct schema *s, const float *x, const float *y,
		     const float *score, size_t n, double threshold,
		     const struct segments_column *cols, size_t ncols,
		     size_t min_size, struct segments_report *r,
		     struct err *e)
{
	memset(r, 0, sizeof *r);
	for (size_t c = 0; c < ncols; c++) {
		struct split sp;
		int rc = split_column(s, x, n, &cols[c], &sp, e);
		if (!rc)
			rc = add_groups(r, cols[c].name, &sp, y, score, n, threshold, min_size, e);
		split_finish(&sp);
		if (rc) {
			segments_report_finish(r);
			return rc;
		}
	}
	return 0;
}

void segments_fairness_finish(struct segments_fairness *f)
{
	if (!f)
		return;
	free(f->attribute);
	segments_report_finish(&f->groups);
	memset(f, 0, sizeof *f);
}

int segments_fairness(const struct schema *s, const float *x, const float *y,
		      const float *score, size_t n, double threshold,
		      const char *attribute, size_t min_size, double min_ratio,
		      struct segments_fairness *f, struct err *e)
{
	memset(f, 0, sizeof *f);
	f->attribute = strdup(attribute);
	if (!f->attribute)
		return oom(e);
	struct segments_column c = {attribute, NULL, 0};
	int rc = segments_compute(s, x, y, score, n, threshold, &c, 1, min_size,
				  &f->groups, e);
	if (rc) {
		segments_fairness_finish(f);
		return rc;
	}
	double rmin = INFINITY, rmax = -INFINITY, pmin = INFINITY, pmax = -INFINITY;
	bool recall_defined = true;
	for (size_t i = 0; i < f->groups.ngroups; i++) {
		const struct segments_group *g = &f->groups.groups[i];
		if (g->n < min_size)
			continue;
		f->judged_groups++;
		if (isnan(g->recall))
			recall_defined = false;
		else {
			rmin = fmin(rmin, g->recall);
			rmax = fmax(rmax, g->recall);
		}
		pmin = fmin(pmin, g->positive_rate);
		pmax = fmax(pmax, g->positive_rate);
	}
	f->recall_ratio = f->judged_groups >= 2 && recall_defined && rmax > 0 ? rmin / rmax : NAN;
	f->positive_rate_ratio = f->judged_groups >= 2 && pmax > 0 ? pmin / pmax : NAN;
	f->judged = !isnan(f->recall_ratio) && !isnan(f->positive_rate_ratio);
	f->pass = f->judged && f->recall_ratio >= min_ratio &&
		  f->positive_rate_ratio >= min_ratio;
	return 0;
}

void segments_business_defaults(struct segments_business_opts *o)
{
	o->top_k = 0.2;
	o->contact_cost = 10;
	o->acceptance_rate = 0.3;
	o->horizon_months = 12;
	o->value_column = "monthly_charges";
}

/* Highest score first; equal scores keep their original order. */
static int cmp_rank(const void *a, const void *b, void *ctx)
{
	const float *score = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	float x = score[i], y = score[j];
	if (x != y)
		return x > y ? -1 : 1;
	return (i > j) - (i < j);
}

int segments_business(const struct schema *s, const float *x, const float *y,
		      const float *score, size_t n,
		      const struct segments_business_opts *o,
		      struct segments_business *b, struct err *e)
{
	memset(b, 0, sizeof *b);
	b->opts = *o;
	long vi = schema_find(s, o->value_column);
	if (vi < 0 || s->features[vi].type != SCHEMA_NUMERIC)
		return err_set(e, EXIT_INPUT, "business impact: '%s' is not a numeric feature of the schema",
			       o->value_column);
	if (!(o->top_k > 0 && o->top_k <= 1) || !(o->acceptance_rate >= 0 && o->acceptance_rate <= 1) ||
	    !(o->contact_cost >= 0) || !(o->horizon_months > 0))
		return err_set(e, EXIT_INPUT,
			       "business impact: top_k must be in (0, 1], acceptance_rate in [0, 1], contact_cost >= 0, horizon_months > 0");
	if (n == 0)
		return err_set(e, EXIT_INPUT, "business impact: no rows");
	size_t *order = malloc(n * sizeof *order);
	if (!order)
		return oom(e);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, cmp_rank, (void *)score);

	size_t nf = s->nfeatures;
	double all_value = 0;
	b->rows = n;
	b->contacted = (size_t)floor(o->top_k * (double)n);
	double contacted_value = 0;
	for (size_t r = 0; r < n; r++) {
		size_t i = order[r];
		bool pos = y[i] > 0.5f;
		double v = x[i * nf + (size_t)vi];
		double value = isnan(v) ? 0 : v * o->horizon_months;
		if (pos) {
			b->positives++;
			all_value += value;
			if (r < b->contacted) {
				b->churners_contacted++;
				contacted_value += value;
			}
		}
		int d = (int)((r * 10) / n);
		b->decile_rows[d]++;
		b->decile_positives[d] += pos ? 1 : 0;
	}
	free(order);
	b->base_rate = (double)b->positives / (double)n;
	b->saved = o->acceptance_rate * contacted_value;
	b->cost = o->contact_cost * (double)b->contacted;
	b->net = b->saved - b->cost;
	b->random_net = (double)b->contacted / (double)n * o->acceptance_rate * all_value - b->cost;
	b->net_vs_random = b->net - b->random_net;
	size_t cum_rows = 0, cum_pos = 0;
	for (int d = 0; d < 10; d++) {
		cum_rows += b->decile_rows[d];
		cum_pos += b->decile_positives[d];
		if (b->positives == 0 || b->decile_rows[d] == 0) {
			b->decile_lift[d] = NAN;
		} else {
			b->decile_lift[d] = (double)b->decile_positives[d] /
					    (double)b->decile_rows[d] / b->base_rate;
		}
		if (b->positives == 0 || cum_rows == 0) {
			b->cumulative_lift[d] = NAN;
			b->cumulative_gain[d] = NAN;
		} else {
			b->cumulative_lift[d] = (double)cum_pos / (double)cum_rows / b->base_rate;
			b->cumulative_gain[d] = (double)cum_pos / (double)b->positives;
		}
	}
	return 0;
}

/* A number, or null for an undefined (NAN) one. */
static void add_num(cJSON *o, const char *key, double v)
{
	if (isnan(v) || isinf(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

cJSON *segments_group_to_json(const struct segments_group *g)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "column", g->column);
	cJSON_AddStringToObject(o, "segment", g->label);
	cJSON_AddNumberToObject(o, "rows", (double)g->n);
	cJSON_AddNumberToObject(o, "positives", (double)g->positives);
	add_num(o, "roc_auc", g->roc_auc);
	add_num(o, "recall", g->recall);
	add_num(o, "positive_rate", g->positive_rate);
	cJSON_AddBoolToObject(o, "judged", g->judged);
	return o;
}

cJSON *segments_report_to_json(const struct segments_report *r)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < r->ngroups; i++)
		cJSON_AddItemToArray(a, segments_group_to_json(&r->groups[i]));
	return a;
}

cJSON *segments_fairness_to_json(const struct segments_fairness *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "attribute", f->attribute);
	add_num(o, "recall_ratio", f->recall_ratio);
	add_num(o, "positive_rate_ratio", f->positive_rate_ratio);
	cJSON_AddBoolToObject(o, "judged", f->judged);
	cJSON_AddBoolToObject(o, "pass", f->pass);
	cJSON_AddItemToObject(o, "groups", segments_report_to_json(&f->groups));
	return o;
}

cJSON *segments_business_to_json(const struct segments_business *b)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *p = cJSON_AddObjectToObject(o, "parameters");
	cJSON_AddNumberToObject(p, "top_k", b->opts.top_k);
	cJSON_AddNumberToObject(p, "contact_cost", b->opts.contact_cost);
	cJSON_AddNumberToObject(p, "acceptance_rate", b->opts.acceptance_rate);
	cJSON_AddNumberToObject(p, "horizon_months", b->opts.horizon_months);
	cJSON_AddStringToObject(p, "value_column", b->opts.value_column);
	cJSON_AddNumberToObject(o, "rows", (double)b->rows);
	cJSON_AddNumberToObject(o, "positives", (double)b->positives);
	cJSON_AddNumberToObject(o, "contacted", (double)b->contacted);
	cJSON_AddNumberToObject(o, "churners_contacted", (double)b->churners_contacted);
	add_num(o, "saved", b->saved);
	add_num(o, "cost", b->cost);
	add_num(o, "net_value", b->net);
	add_num(o, "random_net_value", b->random_net);
	add_num(o, "net_vs_random", b->net_vs_random);
	add_num(o, "base_rate", b->base_rate);
	cJSON *lift = cJSON_AddArrayToObject(o, "lift");
	for (int d = 0; d < 10; d++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddNumberToObject(l, "decile", d + 1);
		cJSON_AddNumberToObject(l, "rows", (double)b->decile_rows[d]);
		cJSON_AddNumberToObject(l, "positives", (double)b->decile_positives[d]);
		add_num(l, "lift", b->decile_lift[d]);
		add_num(l, "cumulative_lift", b->cumulative_lift[d]);
		add_num(l, "cumulative_gain", b->cumulative_gain[d]);
		cJSON_AddItemToArray(lift, l);
	}
	return o;
}
