#include "score.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "fileio.h"

#define NCHUNKS 4

struct chunk {
	size_t n;          /* rows filled */
	float *x;          /* cap * ncols */
	float *prob;       /* cap */
	float *contrib;    /* cap * (ncols + 1) with explain */
	char *ids;         /* NUL-separated id cells */
	size_t ids_len, ids_cap;
	size_t *id_off;    /* cap */
	bool last;         /* no chunk follows this one */
};

/* A blocking FIFO of chunk pointers. Closing it wakes every waiter; a pop
 * from a closed queue returns NULL, so any stage that fails can stop the
 * others without leaving one blocked. */
struct queue {
	struct chunk *items[NCHUNKS];
	size_t head, len;
	bool closed;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

struct pipeline {
	struct model *model;
	const struct schema *schema;
	const struct score_opts *opts;
	struct csv_reader *reader;
	struct schema_binding binding;
	long id_col;
	size_t ncols, cap;
	struct chunk chunks[NCHUNKS];
	struct queue free_q, read_q, done_q;
	FILE *out;
	size_t rows;
	double predict_seconds; /* the predicting stage's own time */
	/* First error of the reader and writer threads. */
	pthread_mutex_t err_mu;
	struct err err;
};

static void queue_init(struct queue *q)
{
	memset(q, 0, sizeof *q);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
}

static void queue_finish(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
}

static void queue_push(struct queue *q, struct chunk *c)
{
	pthread_mutex_lock(&q->mu);
	if (!q->closed && q->len < NCHUNKS) {
		q->items[(q->head + q->len) % NCHUNKS] = c;
		q->len++;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

static struct chunk *queue_pop(struct queue *q)
{
	struct chunk *c = NULL;
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->len > 0) {
		c = q->items[q->head];
		q->head = (q->head + 1) % NCHUNKS;
		q->len--;
	}
	pthread_mutex_unlock(&q->mu);
	return c;
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	q->len = 0;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void pipeline_fail(struct pipeline *p, const struct err *e)
{
	pthread_mutex_lock(&p->err_mu);
	if (!p->err.code)
		p->err = *e;
	pthread_mutex_unlock(&p->err_mu);
	queue_close(&p->free_q);
	queue_close(&p->read_q);
	queue_close(&p->done_q);
}

void score_opts_defaults(struct score_opts *o)
{
	memset(o, 0, sizeof *o);
	o->data = "-";
	o->out = "-";
	o->cut_low = SCORE_CUT_LOW;
	o->cut_high = SCORE_CUT_HIGH;
}

const char *score_risk_level(double p, double cut_low, double cut_high)
{
	if (p < cut_low)
		return "low";
	if (p < cut_high)
		return "medium";
	return "high";
}

static int chunk_add_id(struct chunk *c, const char *id)
{
	size_t len = strlen(id) + 1;
	if (c->ids_len + len > c->ids_cap) {
		size_t cap = c->ids_cap ? c->ids_cap : 4096;
		while (cap < c->ids_len + len)
			cap *= 2;
		char *n = realloc(c->ids, cap);
		if (!n)
			return -1;
		c->ids = n;
		c->ids_cap = cap;
	}
	c->id_off[c->n] = c->ids_len;
	memcpy(c->ids + c->ids_len, id, len);
	c->ids_len += len;
	return 0;
}

static void *reader_main(void *arg)
{
	struct pipeline *p = arg;
	struct err e = {0};
	for (;;) {
		struct chunk *c = queue_pop(&p->free_q);
		if (!c)
			return NULL;
		c->n = 0;
		c->ids_len = 0;
		c->last = false;
		while (c->n < p->cap) {
			struct csv_record rec;
			int r = csv_reader_next(p->reader, &rec, &e);
			if (r < 0) {
				pipeline_fail(p, &e);
				return NULL;
			}
			if (r == 0) {
				c->last = true;
				break;
			}
			if (schema_encode(&p->binding, &rec, c->x + c->n * p->ncols, &e)) {
				pipeline_fail(p, &e);
				return NULL;
			}
			if (p->id_col >= 0 &&
			    chunk_add_id(c, rec.fields[p->id_col]) != 0) {
				err_set(&e, EXIT_INPUT, "%s: out of memory",
					csv_reader_name(p->reader));
				pipeline_fail(p, &e);
				return NULL;
			}
			c->n++;
		}
		p->rows += c->n;
		if (c->last && p->rows == 0) {
			err_set(&e, EXIT_INPUT, "%s: no data rows after the header",
				csv_reader_name(p->reader));
			pipeline_fail(p, &e);
			return NULL;
		}
		bool last = c->last;
		queue_push(&p->read_q, c);
		if (last)
			return NULL;
	}
}

/* "%.6f" for a probability in [0, 1], without printf's cost per row. */
static size_t format_prob(char *buf, double v)
{
	if (!(v >= 0.0))
		v = 0.0;
	if (v > 1.0)
		v = 1.0;
	long long u = llround(v * 1e6);
	buf[0] = (char)('0' + u / 1000000);
	buf[1] = '.';
	long long frac = u % 1000000;
	for (int i = 7; i >= 2; i--) {
		buf[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	return 8;
}

struct ranked {
	size_t feature;
	float value;
};

static int by_magnitude(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	float ax = fabsf(x->value), ay = fabsf(y->value);
	if (ax != ay)
		return ax < ay ? 1 : -1;
	return x->feature < y->feature ? -1 : (x->feature > y->feature);
}

static void write_header(struct pipeline *p)
{
	FILE *f = p->out;
	if (p->id_col >= 0) {
		csv_write_cell(f, p->opts->id_col);
		fputc(',', f);
	}
	fputs("churn_probability,risk_level", f);
	for (int k = 1; k <= p->opts->explain_top; k++)
		fprintf(f, ",top%d_feature,top%d_contribution", k, k);
	fputc('\n', f);
}

static void write_chunk(struct pipeline *p, const struct chunk *c,
			struct ranked *rank)
{
	FILE *f = p->out;
	const struct score_opts *o = p->opts;
	char num[32];
	for (size_t i = 0; i < c->n; i++) {
		if (p->id_col >= 0) {
			csv_write_cell(f, c->ids + c->id_off[i]);
			fputc(',', f);
		}
		double prob = c->prob[i];
		fwrite(num, 1, format_prob(num, prob), f);
		fputc(',', f);
		fputs(score_risk_level(prob, o->cut_low, o->cut_high), f);
		if (o->explain_top > 0) {
			const float *ct = c->contrib + i * (p->ncols + 1);
			for (size_t j = 0; j < p->ncols; j++) {
				rank[j].feature = j;
				rank[j].value = ct[j];
			}
			qsort(rank, p->ncols, sizeof *rank, by_magnitude);
			for (int k = 0; k < o->explain_top; k++) {
				if ((size_t)k < p->ncols) {
					fputc(',', f);
					csv_write_cell(f, p->schema->features[rank[k].feature].name);
					fprintf(f, ",%.6f", (double)rank[k].value);
				} else {
					fputs(",,", f);
				}
			}
		}
		fputc('\n', f);
	}
}

static void *writer_main(void *arg)
{
	struct pipeline *p = arg;
	struct ranked *rank = NULL;
	if (p->opts->explain_top > 0) {
		rank = calloc(p->ncols, sizeof *rank);
		if (!rank) {
			struct err e;
			err_set(&e, EXIT_INPUT, "out of memory");
			pipeline_fail(p, &e);
			return NULL;
		}
	}
	for (;;) {
		struct chunk *c = queue_pop(&p->done_q);
		if (!c)
			break;
		write_chunk(p, c, rank);
		if (ferror(p->out)) {
			struct err e;
			err_set(&e, EXIT_INPUT, "%s: write error", p->opts->out);
			pipeline_fail(p, &e);
			break;
		}
		bool last = c->last;
		queue_push(&p->free_q, c);
		if (last)
			break;
	}
	free(rank);
	return NULL;
}

static int chunks_alloc(struct pipeline *p, struct err *e)
{
	for (int i = 0; i < NCHUNKS; i++) {
		struct chunk *c = &p->chunks[i];
		c->x = malloc(p->cap * p->ncols * sizeof *c->x);
		c->prob = malloc(p->cap * sizeof *c->prob);
		c->id_off = malloc(p->cap * sizeof *c->id_off);
		if (p->opts->explain_top > 0)
			c->contrib = malloc(p->cap * (p->ncols + 1) * sizeof *c->contrib);
		if (!c->x || !c->prob || !c->id_off ||
		    (p->opts->explain_top > 0 && !c->contrib))
			return err_set(e, EXIT_INPUT, "out of memory for %zu-row chunks",
				       p->cap);
	}
	return 0;
}

static void chunks_free(struct pipeline *p)
{
	for (int i = 0; i < NCHUNKS; i++) {
		struct chunk *c = &p->chunks[i];
		free(c->x);
		free(c->prob);
		free(c->contrib);
		free(c->ids);
		free(c->id_off);
	}
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The calling thread's stage: predictions (and explanations) per chunk. */
static void predict_loop(struct pipeline *p)
{
	struct err e = {0};
	for (;;) {
		struct chunk *c = queue_pop(&p->read_q);
		if (!c)
			return;
		double t0 = now_seconds();
		if (c->n > 0 &&
		    model_predict(p->model, c->x, c->n, p->ncols, c->prob, &e)) {
			pipeline_fail(p, &e);
			return;
		}
		if (c->n > 0 && p->opts->explain_top > 0 &&
		    model_explain_batch(p->model, c->x, c->n, p->ncols, c->contrib, &e)) {
			pipeline_fail(p, &e);
			return;
		}
		p->predict_seconds += now_seconds() - t0;
		bool last = c->last;
		queue_push(&p->done_q, c);
		if (last)
			return;
	}
}

int score_run(struct model *m, const struct schema *s,
	      const struct score_opts *o, struct score_stats *st,
	      struct err *e)
{
	double t0 = now_seconds();
	struct pipeline p;
	memset(&p, 0, sizeof p);
	p.model = m;
	p.schema = s;
	p.opts = o;
	p.ncols = s->nfeatures;
	p.cap = o->chunk_rows ? o->chunk_rows : SCORE_CHUNK_ROWS;
	p.id_col = -1;
	pthread_mutex_init(&p.err_mu, NULL);
	queue_init(&p.free_q);
	queue_init(&p.read_q);
	queue_init(&p.done_q);
	struct fileio_out out = {0};
	bool bound = false, out_open = false;
	int rc = 0;

	if (o->cut_low > o->cut_high) {
		rc = err_set(e, EXIT_INPUT,
			     "risk cut points: low %g is above high %g",
			     o->cut_low, o->cut_high);
		goto out;
	}
	p.reader = csv_reader_open(o->data, e);
	if (!p.reader) {
		rc = e ? e->code : EXIT_INPUT;
		goto out;
	}
	struct csv_record header;
	int r = csv_reader_next(p.reader, &header, e);
	if (r < 0) {
		rc = e->code;
		goto out;
	}
	if (r == 0) {
		rc = err_set(e, EXIT_INPUT, "%s: empty file (no header line)",
			     csv_reader_name(p.reader));
		goto out;
	}
	if (o->id_col) {
		for (size_t i = 0; i < header.n; i++)
			if (strcmp(header.fields[i], o->id_col) == 0)
				p.id_col = (long)i;
		if (p.id_col < 0) {
			rc = err_set(e, EXIT_INPUT,
				     "%s: line %zu: no column '%s' (given by --id)",
				     csv_reader_name(p.reader), header.line,
				     o->id_col);
			goto out;
		}
	}
	rc = schema_bind(&p.binding, s, &header, csv_reader_name(p.reader), e);
	if (rc)
		goto out;
	bound = true;
	rc = chunks_alloc(&p, e);
	if (rc)
		goto out;
	rc = fileio_out_open(&out, o->out, e);
	if (rc)
		goto out;
	out_open = true;
	p.out = out.f;
	write_header(&p);

	for (int i = 0; i < NCHUNKS; i++)
		queue_push(&p.free_q, &p.chunks[i]);
	pthread_t reader, writer;
	if (pthread_create(&reader, NULL, reader_main, &p) != 0) {
		rc = err_set(e, EXIT_INPUT, "cannot start the reader thread");
		goto out;
	}
	if (pthread_create(&writer, NULL, writer_main, &p) != 0) {
		struct err fail;
		err_set(&fail, EXIT_INPUT, "cannot start the writer thread");
		pipeline_fail(&p, &fail);
		pthread_join(reader, NULL);
		rc = err_set(e, EXIT_INPUT, "%s", fail.msg);
		goto out;
	}
	predict_loop(&p);
	pthread_join(reader, NULL);
	pthread_join(writer, NULL);
	if (p.err.code) {
		rc = p.err.code;
		if (e)
			*e = p.err;
		goto out;
	}
	rc = fileio_out_commit(&out, e);
	out_open = false;
	if (rc)
		goto out;
	st->rows = p.rows;
	st->predict_seconds = p.predict_seconds;
	st->unseen_report = schema_binding_unseen_report(&p.binding);
	st->seconds = now_seconds() - t0;
out:
	if (out_open)
		fileio_out_abort(&out);
	chunks_free(&p);
	if (bound)
		schema_binding_finish(&p.binding);
	csv_reader_close(p.reader);
	queue_finish(&p.free_q);
	queue_finish(&p.read_q);
	queue_finish(&p.done_q);
	pthread_mutex_destroy(&p.err_mu);
	return rc;
}
