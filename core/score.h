/* score: batch scoring of a CSV file through a model, in constant memory.
 *
 * Three stages run at once on fixed-size chunks of rows: a reader thread
 * parses and encodes chunk k+1 while the calling thread predicts chunk k and
 * a writer thread formats chunk k-1. A small ring of chunk buffers is
 * allocated up front, so memory does not grow with the size of the file.
 * Output goes through fileio_out: on any error nothing is left at --out.
 */
#ifndef CHURNOPS_SCORE_H
#define CHURNOPS_SCORE_H

#include <stddef.h>

#include "err.h"
#include "model.h"
#include "schema.h"

#define SCORE_CHUNK_ROWS 32768
#define SCORE_CUT_LOW 0.3
#define SCORE_CUT_HIGH 0.6

struct score_opts {
	const char *data;   /* input CSV; "-" is standard input */
	const char *out;    /* output CSV; "-" is standard output */
	const char *id_col; /* column carried through first, or NULL */
	int explain_top;    /* top contributions per row; 0 = none */
	double cut_low;     /* p < cut_low: low risk */
	double cut_high;    /* p < cut_high: medium risk; else high */
	size_t chunk_rows;  /* 0: SCORE_CHUNK_ROWS */
};

void score_opts_defaults(struct score_opts *o);

struct score_stats {
	size_t rows;
	double seconds;
	/* Of SECONDS, the time spent inside model_predict (and explanations):
	 * what libxgboost itself costs, the floor of this design. */
	double predict_seconds;
	/* One line per column that had levels the schema does not know
	 * (schema_binding_unseen_report); NULL if none. The caller frees it. */
	char *unseen_report;
};

/* Scores O->data with M under schema S and writes O->out. Fills ST (which
 * the caller zeroes). Errors are those of the reader and encoder (EXIT_INPUT
 * naming file, line, column and field) or of the output file. */
int score_run(struct model *m, const struct schema *s,
	      const struct score_opts *o, struct score_stats *st,
	      struct err *e);

/* "low", "medium" or "high" for probability P. */
const char *score_risk_level(double p, double cut_low, double cut_high);

#endif
