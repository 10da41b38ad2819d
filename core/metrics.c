#include "metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct scored {
	float score;
	bool positive;
};

static int by_score_ascending(const void *a, const void *b)
{
	float x = ((const struct scored *)a)->score;
	float y = ((const struct scored *)b)->score;
	return (x > y) - (x < y);
}

/* The rows as (score, label) pairs sorted by ascending score, and the class
 * counts; NULL when N is 0, a score is NAN or memory runs out. Ties are
 * handled by the callers, group by group, so the order within a tie does
 * not matter and qsort's instability is harmless. */
static struct scored *sorted_rows(const float *score, const float *y, size_t n,
				  size_t *npos)
{
	if (n == 0)
		return NULL;
	struct scored *r = malloc(n * sizeof *r);
	if (!r)
		return NULL;
	*npos = 0;
	for (size_t i = 0; i < n; i++) {
		if (isnan(score[i])) {
			free(r);
			return NULL;
		}
		r[i].score = score[i];
		r[i].positive = y[i] > 0.5f;
		*npos += r[i].positive;
	}
	qsort(r, n, sizeof *r, by_score_ascending);
	return r;
}

/* Mann-Whitney: each (positive, negative) pair scores 1 when the positive
 * is ranked above, 1/2 when tied. Walking the tie groups from the lowest
 * score, a group's positives beat every negative below it and tie with the
 * group's own negatives. The sum is a multiple of 1/2 held exactly in a
 * double up to 2^52 pairs, so only the final division rounds. */
double metrics_roc_auc(const float *score, const float *y, size_t n)
{
	size_t npos = 0;
	struct scored *r = sorted_rows(score, y, n, &npos);
	if (!r)
		return NAN;
	size_t nneg = n - npos;
	if (npos == 0 || nneg == 0) {
		free(r);
		return NAN;
	}
	double u = 0, neg_below = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, p = 0, q = 0;
		for (; j < n && r[j].score == r[i].score; j++) {
			if (r[j].positive)
				p++;
			else
				q++;
		}
		u += (double)p * (neg_below + (double)q / 2);
		neg_below += (double)q;
		i = j;
	}
	free(r);
	return u / ((double)npos * (double)nneg);
}

/* scikit-learn's step-wise sum: thresholds from the highest score down,
 * each tie group entering at once; precision and recall are taken at each
 * threshold as precision_recall_curve computes them. */
double metrics_pr_auc(const float *score, const float *y, size_t n)
{
	size_t npos = 0;
	struct scored *r = sorted_rows(score, y, n, &npos);
	if (!r)
		return NAN;
	if (npos == 0) {
		free(r);
		return 0.0;
	}
	double ap = 0, prev_recall = 0;
	size_t tp = 0, fp = 0;
	for (size_t j = n; j > 0;) {
		size_t i = j;
		for (; i > 0 && r[i - 1].score == r[j - 1].score; i--) {
			if (r[i - 1].positive)
				tp++;
			else
				fp++;
		}
		double recall = (double)tp / (double)npos;
		double precision = (double)tp / (double)(tp + fp);
		ap += (recall - prev_recall) * precision;
		prev_recall = recall;
		j = i;
	}
	free(r);
	return ap;
}

struct metrics_confusion metrics_confusion(const float *score, const float *y,
					   size_t n, double threshold)
{
	struct metrics_confusion c = {0};
	for (size_t i = 0; i < n; i++) {
		bool predicted = (double)score[i] >= threshold;
		bool actual = y[i] > 0.5f;
		if (predicted && actual)
			c.tp++;
		else if (predicted)
			c.fp++;
		else if (actual)
			c.fn++;
		else
			c.tn++;
	}
	return c;
}

double metrics_precision(struct metrics_confusion c)
{
	size_t d = c.tp + c.fp;
	return d ? (double)c.tp / (double)d : 0.0;
}

double metrics_recall(struct metrics_confusion c)
{
	size_t d = c.tp + c.fn;
	return d ? (double)c.tp / (double)d : 0.0;
}

/* scikit-learn 1.2 computes F1 as (1 + beta^2) tp / (beta^2 (tp + fn) +
 * tp + fp), not from the rounded precision and recall; so do we. */
double metrics_f1(struct metrics_confusion c)
{
	size_t d = 2 * c.tp + c.fp + c.fn;
	return d ? 2.0 * (double)c.tp / (double)d : 0.0;
}

/* Two passes (mean, then squared deviations from it), which keeps the
 * variance of values far from zero accurate where the one-pass formula
 * cancels catastrophically. */
void metrics_mean_std(const double *v, size_t n, double *mean, double *std)
{
	double m = NAN, s = NAN;
	if (n > 0) {
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += v[i];
		m = sum / (double)n;
		double ss = 0;
		for (size_t i = 0; i < n; i++)
			ss += (v[i] - m) * (v[i] - m);
		s = sqrt(ss / (double)n);
	}
	if (mean)
		*mean = m;
	if (std)
		*std = s;
}

static int by_value_ascending(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* numpy's "linear" method: virtual index h = (n - 1) * p / 100 between
 * neighbours a = v[floor h] and b = v[floor h + 1], then numpy's _lerp,
 * which interpolates from b when the weight is >= 1/2 so the result is
 * monotone and exact at the ends. */
double metrics_percentile(const double *v, size_t n, double p)
{
	if (n == 0 || !(p >= 0 && p <= 100))
		return NAN;
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return NAN;
	double *a = malloc(n * sizeof *a);
	if (!a)
		return NAN;
	memcpy(a, v, n * sizeof *a);
	qsort(a, n, sizeof *a, by_value_ascending);

	double h = (double)(n - 1) * (p / 100);
	double result;
	if (h >= (double)(n - 1)) {
		result = a[n - 1];
	} else {
		double lo = floor(h);
		size_t i = (size_t)lo;
		double t = h - lo;
		double diff = a[i + 1] - a[i];
		result = t >= 0.5 ? a[i + 1] - diff * (1 - t) : a[i] + diff * t;
	}
	free(a);
	return result;
}

void metrics_calibration(const float *score, const float *y, size_t n,
			 struct metrics_calibration_bin *bins, size_t nbins)
{
	if (nbins == 0)
		return;
	double step = 1.0 / (double)nbins;
	for (size_t b = 0; b < nbins; b++) {
		bins[b].lo = (double)b * step;
		bins[b].hi = b + 1 == nbins ? 1.0 : (double)(b + 1) * step;
		bins[b].count = 0;
		bins[b].mean_predicted = 0;
		bins[b].fraction_positive = 0;
	}
	for (size_t i = 0; i < n; i++) {
		double p = score[i];
		/* numpy.searchsorted(inner_edges, p, side="left"): the number of
		 * inner edges strictly below p. */
		size_t b = 0;
		while (b + 1 < nbins && bins[b].hi < p)
			b++;
		bins[b].count++;
		bins[b].mean_predicted += p;
		bins[b].fraction_positive += y[i] > 0.5f ? 1.0 : 0.0;
	}
	for (size_t b = 0; b < nbins; b++) {
		if (bins[b].count == 0) {
			bins[b].mean_predicted = NAN;
			bins[b].fraction_positive = NAN;
			continue;
		}
		bins[b].mean_predicted /= (double)bins[b].count;
		bins[b].fraction_positive /= (double)bins[b].count;
	}
}

double metrics_brier(const float *score, const float *y, size_t n)
{
	if (n == 0)
		return NAN;
	double s = 0;
	for (size_t i = 0; i < n; i++) {
		double d = (double)(y[i] > 0.5f ? 1 : 0) - (double)score[i];
		s += d * d;
	}
	return s / (double)n;
}
