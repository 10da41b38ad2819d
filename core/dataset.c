#include "dataset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

void dataset_finish(struct dataset *d)
{
	if (!d)
		return;
	free(d->x);
	free(d->y);
	memset(d, 0, sizeof *d);
}

/* Makes room for one more row: doubling, with overflow checks. */
static int grow(struct dataset *d, size_t *cap, const char *src,
		struct err *e)
{
	if (d->nrows < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024;
	size_t ncols = d->ncols ? d->ncols : 1;
	if (ncap < *cap || ncap > SIZE_MAX / sizeof(float) / ncols)
		return err_set(e, EXIT_INPUT, "%s: too many rows", src);
	float *nx = realloc(d->x, ncap * ncols * sizeof *nx);
	if (!nx)
		return err_set(e, EXIT_INPUT, "%s: out of memory at row %zu", src,
			       d->nrows + 1);
	d->x = nx;
	float *ny = realloc(d->y, ncap * sizeof *ny);
	if (!ny)
		return err_set(e, EXIT_INPUT, "%s: out of memory at row %zu", src,
			       d->nrows + 1);
	d->y = ny;
	*cap = ncap;
	return 0;
}

int dataset_load_report(const char *path, const struct schema *s,
			struct dataset *d, char **unseen_report, struct err *e)
{
	char q1[80], q2[80], q3[80], q4[80];
	struct schema_binding b;
	struct csv_record rec;
	struct csv_reader *r = NULL;
	char *negative = NULL;
	size_t cap = 0;
	int rc = 0;

	memset(d, 0, sizeof *d);
	memset(&b, 0, sizeof b);
	if (unseen_report)
		*unseen_report = NULL;
	if (!s->target || !s->positive)
		return err_set(e, EXIT_INPUT,
			       "%s: the schema names no %s, so it cannot load labelled data",
			       path, s->target ? "positive label" : "target");
	r = csv_reader_open(path, e);
	if (!r)
		return EXIT_INPUT;
	const char *src = csv_reader_name(r);
	int got = csv_reader_next(r, &rec, e);
	if (got <= 0) {
		rc = got < 0 ? EXIT_INPUT
			     : err_set(e, EXIT_INPUT, "%s: empty file", src);
		goto out;
	}
	if ((rc = schema_bind(&b, s, &rec, src, e)))
		goto out;
	if (b.target_col < 0) {
		rc = err_set(e, EXIT_INPUT, "%s: line %zu: missing target column '%s'",
			     src, rec.line, schema_quote_value(s->target, q1, sizeof q1));
		goto out;
	}
	const size_t tcol = (size_t)b.target_col;
	d->ncols = s->nfeatures;
	while ((got = csv_reader_next(r, &rec, e)) == 1) {
		if ((rc = grow(d, &cap, src, e)))
			goto out;
		if ((rc = schema_encode(&b, &rec, d->x + d->nrows * d->ncols, e)))
			goto out;
		const char *t = rec.fields[tcol];
		float y;
		if (csv_is_missing(t)) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu, column %zu (%s): the target is missing",
				     src, rec.line, tcol + 1,
				     schema_quote_value(s->target, q1, sizeof q1));
			goto out;
		}
		if (strcmp(t, s->positive) == 0) {
			y = 1;
		} else if (negative && strcmp(t, negative) == 0) {
			y = 0;
		} else if (!negative) {
			if (!(negative = strdup(t))) {
				rc = err_set(e, EXIT_INPUT, "%s: out of memory", src);
				goto out;
			}
			y = 0;
		} else {
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu, column %zu (%s): a third target value '%s' (expected '%s' or '%s')",
				     src, rec.line, tcol + 1,
				     schema_quote_value(s->target, q1, sizeof q1),
				     schema_quote_value(t, q2, sizeof q2),
				     schema_quote_value(s->positive, q3, sizeof q3),
				     schema_quote_value(negative, q4, sizeof q4));
			goto out;
		}
		d->y[d->nrows++] = y;
	}
	if (got < 0) {
		rc = EXIT_INPUT;
		goto out;
	}
	if (d->nrows == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: no data rows after the header", src);
		goto out;
	}
	if (unseen_report)
		*unseen_report = schema_binding_unseen_report(&b);
out:
	free(negative);
	schema_binding_finish(&b);
	csv_reader_close(r);
	if (rc)
		dataset_finish(d);
	return rc;
}

int dataset_load(const char *path, const struct schema *s, struct dataset *d,
		 struct err *e)
{
	return dataset_load_report(path, s, d, NULL, e);
}
