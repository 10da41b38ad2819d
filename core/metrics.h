/* metrics: model quality and latency figures, computed the way the
 * reference tools compute them.
 *
 * Classification metrics take SCORE (higher means more likely positive) and
 * Y (a label > 0.5 is positive, anything else negative) for N rows, and
 * agree with scikit-learn 1.2 (roc_auc_score, average_precision_score,
 * precision/recall/f1 with zero_division=0); percentiles agree with numpy's
 * default "linear" method. Nothing here allocates except
 * metrics_percentile() and the sort inside the AUCs, and nothing keeps a
 * pointer to its arguments.
 */
#ifndef CHURNOPS_METRICS_H
#define CHURNOPS_METRICS_H

#include <stddef.h>

/* Area under the ROC curve, tied scores counted as half a win (the
 * Mann-Whitney U statistic, equal to scikit-learn's trapezoidal area).
 * NAN when Y holds only one class, when N is 0, when a score is NAN or
 * when memory runs out. */
double metrics_roc_auc(const float *score, const float *y, size_t n);

/* Average precision, as scikit-learn's average_precision_score: the sum over
 * distinct score thresholds, from high to low, of the recall gained times
 * the precision at that threshold (rows with tied scores enter together).
 * 0 when there is no positive row (scikit-learn warns and returns 0); NAN
 * when N is 0, a score is NAN or memory runs out. */
double metrics_pr_auc(const float *score, const float *y, size_t n);

struct metrics_confusion {
	size_t tp, fp, tn, fn;
};

/* Counts at THRESHOLD: score >= threshold predicts positive (a NAN score
 * predicts negative). */
struct metrics_confusion metrics_confusion(const float *score, const float *y,
					   size_t n, double threshold);

/* tp / (tp + fp); 0 when nothing was predicted positive. */
double metrics_precision(struct metrics_confusion c);
/* tp / (tp + fn); 0 when there is no positive row. */
double metrics_recall(struct metrics_confusion c);
/* 2 tp / (2 tp + fp + fn); 0 when that is 0 / 0. */
double metrics_f1(struct metrics_confusion c);

/* Mean and population standard deviation (ddof 0, as numpy.std) of N
 * values; both NAN when N is 0. MEAN or STD may be NULL. */
void metrics_mean_std(const double *v, size_t n, double *mean, double *std);

/* The P-th percentile (P in [0, 100]) of N values with numpy's linear
 * interpolation, bit for bit (numpy.percentile, numpy 1.22 and later).
 * Sorts a copy; V is untouched. NAN when N is 0, P is out of range, a value
 * is NAN or memory runs out. */
double metrics_percentile(const double *v, size_t n, double p);

/* One reliability bin: predictions in (lo, hi] (the first bin also holds
 * lo itself), how many there were, their mean prediction and the fraction
 * that were positive. Bins without predictions have count 0 and NAN means. */
struct metrics_calibration_bin {
	double lo, hi;
	size_t count;
	double mean_predicted;
	double fraction_positive;
};

/* Fills BINS[0..NBINS) with NBINS uniform bins over [0, 1], exactly as
 * scikit-learn's calibration_curve(y, score, n_bins=NBINS,
 * strategy="uniform") assigns them: edges i/NBINS as numpy.linspace computes
 * them, a score equal to an inner edge goes to the lower bin. scikit-learn
 * drops empty bins; here they stay, with count 0. Scores outside [0, 1] are
 * not expected (they are counted in the end bins). */
void metrics_calibration(const float *score, const float *y, size_t n,
			 struct metrics_calibration_bin *bins, size_t nbins);

/* Mean squared difference between score and label (scikit-learn's
 * brier_score_loss); defined for one class too; NAN when N is 0. */
double metrics_brier(const float *score, const float *y, size_t n);

#endif
