/* what-if: one customer, edited feature by feature, scored on every change.
 *
 * The record is the UI thread's; every change submits a scoring job that
 * receives a copy of the record's values and hands back a snapshot (the
 * records as the model saw them, the probability, margin and contributions,
 * for one or two versions). Results older than the one shown are dropped,
 * so fast typing never shows a stale score last. Models and the data file
 * are loaded by workers too; the view draws whatever has arrived.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "model.h"
#include "num.h"
#include "sanitize.h"
#include "schema.h"
#include "score.h"
#include "views.h"
#include "whatif.h"
#include "widgets.h"

#define MAX_DATA_ROWS 1000000
#define PROGRESS_EVERY 8192

enum job_kind {
	KIND_MODEL,
	KIND_DATA,
	KIND_DATA_PROGRESS,
	KIND_SCORE,
};

struct loaded_model {
	struct model *m;
	struct schema *s;
	char *error;
	bool loading;
};

/* The customer file, as text: the picker shows it and a picked row becomes
 * the record. */
struct data_table {
	size_t ncols, nrows;
	char **header;  /* ncols strings */
	char **cells;   /* nrows * ncols, pointing into rows' blocks */
	char **blocks;  /* one allocation per row */
	bool truncated; /* more than MAX_DATA_ROWS rows */
};

struct score_snapshot {
	int n;
	size_t version[2];
	struct whatif_record rec[2];
	struct whatif_result res[2];
	bool ok[2];
	char err[2][ERR_MSG_MAX];
};

struct whatif {
	struct console *c;
	struct loaded_model *models;
	size_t cur;
	long cmp; /* -1: no comparison */

	bool have_record;
	struct whatif_record rec; /* schema: models[cur].s */
	char **orig;              /* original values, aligned with rec */
	size_t origin_row;        /* 1-based data row; 0: typical customer */

	unsigned long score_seq;  /* last submitted */
	struct score_snapshot *shown;
	unsigned long shown_seq;

	struct data_table *data;
	bool data_loading;
	double data_progress;
	char *data_error;
	unsigned long data_seq;

	bool picking;
	struct widget_table picker;
	const char **picker_headers;
	char rowbuf[24];

	struct widget_form form;
	struct widget_form_field *fields;
	size_t nfields;
	int focus; /* 0 form, 1 contributions */
	size_t contrib_scroll;
	char context[160];
};

static bool text_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* An empty record for S (every value missing); the struct is whatif.h's,
 * which whatif_record_finish() frees. */
static bool record_init(struct whatif_record *r, const struct schema *s)
{
	size_t n = s->nfeatures ? s->nfeatures : 1;
	r->schema = s;
	r->text = calloc(n, sizeof *r->text);
	r->row = malloc(n * sizeof *r->row);
	if (!r->text || !r->row) {
		free(r->text);
		free(r->row);
		r->schema = NULL;
		return false;
	}
	for (size_t i = 0; i < s->nfeatures; i++)
		r->row[i] = NAN;
	return true;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- jobs: loading a model ---- */

struct model_arg {
	char *dir;
};

struct model_result {
	struct model *m;
	struct schema *s;
};

static void model_arg_free(void *p)
{
	struct model_arg *a = p;
	free(a->dir);
	free(a);
}

static void model_result_free(void *p)
{
	struct model_result *r = p;
	model_destroy(r->m);
	schema_destroy(r->s);
	free(r);
}

static void *model_run(void *arg, struct err *e)
{
	struct model_arg *a = arg;
	char path[4200];
	struct model_result *r = calloc(1, sizeof *r);
	if (!r) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	snprintf(path, sizeof path, "%s/schema.json", a->dir);
	r->s = schema_load(path, e);
	if (r->s) {
		snprintf(path, sizeof path, "%s/model.json", a->dir);
		r->m = model_load(path, r->s, e);
		/* One thread per scoring call: a single row gains nothing from
		 * more, and the pool already runs jobs side by side. */
		if (r->m && model_set_threads(r->m, 1, e) != 0) {
			model_destroy(r->m);
			r->m = NULL;
		}
	}
	if (!r->m) {
		model_result_free(r);
		return NULL;
	}
	return r;
}

static void load_model(struct whatif *w, struct tui_app *app, size_t i)
{
	struct loaded_model *lm = &w->models[i];
	if (lm->m || lm->loading)
		return;
	struct model_arg *a = calloc(1, sizeof *a);
	if (!a || !(a->dir = strdup(w->c->versions[i].dir))) {
		free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	free(lm->error);
	lm->error = NULL;
	struct worker_job j = {
		.run = model_run, .free_arg = model_arg_free,
		.free_result = model_result_free, .arg = a, .kind = KIND_MODEL, .seq = i,
	};
	struct err e = {0};
	if (tui_app_submit(app, w, &j, &e))
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
	else
		lm->loading = true;
}

/* ---- jobs: loading the data file ---- */

struct data_arg {
	char *path;
	struct worker_pool *pool;
	void *owner;
	unsigned long seq;
};

static void data_arg_free(void *p)
{
	struct data_arg *a = p;
	free(a->path);
	free(a);
}

static void data_free(void *p)
{
	struct data_table *d = p;
	if (!d)
		return;
	strv_free(d->header, d->ncols);
	strv_free(d->blocks, d->nrows);
	free(d->cells);
	free(d);
}

static void post_progress(struct data_arg *a, double fraction)
{
	double *f = malloc(sizeof *f);
	if (!f)
		return;
	*f = fraction;
	struct worker_job msg = {
		.owner = a->owner, .kind = KIND_DATA_PROGRESS, .seq = a->seq,
		.result = f, .free_result = free,
	};
	worker_pool_post(a->pool, &msg, NULL);
}

/* Copies a record's fields into one block; missing trailing fields of a
 * short row read as "". */
static char *row_block(const struct csv_record *rec, size_t ncols, char **cells)
{
	size_t total = 0;
	for (size_t k = 0; k < ncols; k++)
		total += (k < rec->n ? strlen(rec->fields[k]) : 0) + 1;
	char *b = malloc(total);
	if (!b)
		return NULL;
	char *p = b;
	for (size_t k = 0; k < ncols; k++) {
		const char *f = k < rec->n ? rec->fields[k] : "";
		size_t len = strlen(f);
		memcpy(p, f, len + 1);
		cells[k] = p;
		p += len + 1;
	}
	return b;
}

static void *data_run(void *arg, struct err *e)
{
	struct data_arg *a = arg;
	struct stat st;
	double size = stat(a->path, &st) == 0 && st.st_size > 0 ? (double)st.st_size : 0;
	struct csv_reader *rd = csv_reader_open(a->path, e);
	if (!rd)
		return NULL;
	struct data_table *d = calloc(1, sizeof *d);
	size_t cap = 0;
	struct csv_record rec;
	int got = d ? csv_reader_next(rd, &rec, e) : -1;
	if (!d) {
		err_set(e, EXIT_INPUT, "out of memory");
		goto fail;
	}
	if (got <= 0) {
		if (got == 0)
			err_set(e, EXIT_INPUT, "%s: empty file (no header line)", a->path);
		goto fail;
	}
	d->header = calloc(rec.n, sizeof *d->header);
	if (!d->header)
		goto oom;
	d->ncols = rec.n;
	for (size_t k = 0; k < rec.n; k++)
		if (!(d->header[k] = strdup(rec.fields[k])))
			goto oom;
	while ((got = csv_reader_next(rd, &rec, e)) == 1) {
		if (d->nrows == MAX_DATA_ROWS) {
			d->truncated = true;
			break;
		}
		if (d->nrows == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			char **nb = realloc(d->blocks, ncap * sizeof *nb);
			if (!nb)
				goto oom;
			d->blocks = nb;
			char **nc = realloc(d->cells, ncap * d->ncols * sizeof *nc);
			if (!nc)
				goto oom;
			d->cells = nc;
			cap = ncap;
		}
		char *b = row_block(&rec, d->ncols, d->cells + d->nrows * d->ncols);
		if (!b)
			goto oom;
		d->blocks[d->nrows++] = b;
		if (size > 0 && d->nrows % PROGRESS_EVERY == 0)
			post_progress(a, (double)csv_reader_offset(rd) / size);
	}
	if (got < 0)
		goto fail;
	csv_reader_close(rd);
	return d;
oom:
	err_set(e, EXIT_INPUT, "%s: out of memory", a->path);
fail:
	csv_reader_close(rd);
	data_free(d);
	return NULL;
}

static const char *picker_cell(void *ud, size_t row, size_t col)
{
	struct whatif *w = ud;
	if (col == 0) {
		snprintf(w->rowbuf, sizeof w->rowbuf, "%zu", row + 1);
		return w->rowbuf;
	}
	return w->data->cells[row * w->data->ncols + col - 1];
}

static void load_data(struct whatif *w, struct tui_app *app)
{
	if (!w->c->data || w->data || w->data_loading)
		return;
	struct data_arg *a = calloc(1, sizeof *a);
	if (!a || !(a->path = strdup(w->c->data))) {
		free(a);
		return;
	}
	a->pool = tui_app_pool(app);
	a->owner = w;
	a->seq = ++w->data_seq;
	struct worker_job j = {
		.run = data_run, .free_arg = data_arg_free, .free_result = data_free,
		.arg = a, .kind = KIND_DATA, .seq = a->seq,
	};
	struct err e = {0};
	if (tui_app_submit(app, w, &j, &e)) {
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
		return;
	}
	w->data_loading = true;
	w->data_progress = 0;
}

/* ---- jobs: scoring ---- */

struct score_arg {
	int n;
	size_t version[2];
	struct model *m[2];
	const struct schema *s[2];
	const struct schema *src; /* the schema the values are aligned with */
	char **text;
	size_t ntext;
};

static void score_arg_free(void *p)
{
	struct score_arg *a = p;
	strv_free(a->text, a->ntext);
	free(a);
}

static void score_snapshot_free(void *p)
{
	struct score_snapshot *s = p;
	if (!s)
		return;
	for (int k = 0; k < 2; k++) {
		if (s->ok[k])
			whatif_result_finish(&s->res[k]);
		if (s->rec[k].schema)
			whatif_record_finish(&s->rec[k]);
	}
	free(s);
}

/* The values, matched to S by feature name: a feature the source schema
 * lacks takes S's typical value, or is missing. */
static int fill_record(struct whatif_record *r, const struct score_arg *a,
		       const struct schema *s, struct err *e)
{
	if (!record_init(r, s))
		return err_set(e, EXIT_INPUT, "out of memory");
	for (size_t i = 0; i < s->nfeatures; i++) {
		const struct schema_feature *f = &s->features[i];
		long src = s == a->src ? (long)i : schema_find(a->src, f->name);
		char num[64];
		const char *v = NULL;
		if (src >= 0) {
			v = a->text[src];
		} else if (f->has_typical) {
			snprintf(num, sizeof num, "%.17g", f->typical);
			v = f->type == SCHEMA_CATEGORICAL ? f->typical_level : num;
		}
		int rc = whatif_record_set_value(r, i, v, e);
		if (rc)
			return rc;
	}
	return 0;
}

static void *scoring_run(void *arg, struct err *e)
{
	struct score_arg *a = arg;
	struct score_snapshot *s = calloc(1, sizeof *s);
	if (!s) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	s->n = a->n;
	for (int k = 0; k < a->n; k++) {
		struct err ek = {0};
		s->version[k] = a->version[k];
		int rc = fill_record(&s->rec[k], a, a->s[k], &ek);
		if (!rc)
			rc = whatif_score(a->m[k], &s->rec[k], &s->res[k], &ek);
		s->ok[k] = rc == 0;
		if (rc)
			snprintf(s->err[k], sizeof s->err[k], "%s", ek.msg);
	}
	return s;
}

static void rescore(struct whatif *w, struct tui_app *app)
{
	struct loaded_model *p = &w->models[w->cur];
	/* A version still loading is scored when it arrives. */
	if (!w->have_record || !p->m)
		return;
	struct score_arg *a = calloc(1, sizeof *a);
	size_t n = w->rec.schema->nfeatures;
	if (!a || !(a->text = calloc(n ? n : 1, sizeof *a->text))) {
		free(a);
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	a->ntext = n;
	for (size_t i = 0; i < n; i++) {
		if (w->rec.text[i] && !(a->text[i] = strdup(w->rec.text[i]))) {
			score_arg_free(a);
			tui_app_toast(app, ROLE_CRIT, "out of memory");
			return;
		}
	}
	a->src = w->rec.schema;
	a->n = 1;
	a->version[0] = w->cur;
	a->m[0] = p->m;
	a->s[0] = p->s;
	if (w->cmp >= 0 && w->models[w->cmp].m) {
		a->n = 2;
		a->version[1] = (size_t)w->cmp;
		a->m[1] = w->models[w->cmp].m;
		a->s[1] = w->models[w->cmp].s;
	}
	struct worker_job j = {
		.run = scoring_run, .free_arg = score_arg_free,
		.free_result = score_snapshot_free, .arg = a, .kind = KIND_SCORE,
		.seq = ++w->score_seq,
	};
	struct err e = {0};
	if (tui_app_submit(app, w, &j, &e))
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
}

/* ---- the record ---- */

static void set_origin_values(struct whatif *w)
{
	size_t n = w->rec.schema->nfeatures;
	for (size_t i = 0; i < n; i++) {
		free(w->orig[i]);
		w->orig[i] = w->rec.text[i] ? strdup(w->rec.text[i]) : NULL;
	}
}

static bool record_fresh(struct whatif *w, const struct schema *s)
{
	if (w->have_record) {
		strv_free(w->orig, w->rec.schema->nfeatures);
		whatif_record_finish(&w->rec);
		w->orig = NULL;
		w->have_record = false;
	}
	if (!record_init(&w->rec, s))
		return false;
	w->orig = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *w->orig);
	if (!w->orig) {
		whatif_record_finish(&w->rec);
		return false;
	}
	w->have_record = true;
	return true;
}

/* Row ROW (0-based) of the data file becomes the record. Values the model
 * cannot take (a level it never saw) become missing, and the user is told. */
static void record_from_row(struct whatif *w, struct tui_app *app, size_t row)
{
	const struct schema *s = w->models[w->cur].s;
	const struct data_table *d = w->data;
	if (!record_fresh(w, s)) {
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		return;
	}
	size_t bad = 0;
	const char *first_bad = NULL;
	for (size_t i = 0; i < s->nfeatures; i++) {
		const char *v = NULL;
		for (size_t k = 0; k < d->ncols; k++) {
			if (strcmp(d->header[k], s->features[i].name) == 0) {
				v = d->cells[row * d->ncols + k];
				break;
			}
		}
		struct err e = {0};
		if (whatif_record_set_value(&w->rec, i, v, &e)) {
			bad++;
			if (!first_bad)
				first_bad = s->features[i].name;
		}
	}
	w->origin_row = row + 1;
	set_origin_values(w);
	w->form.selected = 0;
	if (bad)
		tui_app_toast(app, ROLE_WARN,
			      "row %zu: %zu value(s) the model cannot take (first: %s) set to missing",
			      row + 1, bad, first_bad);
	rescore(w, app);
}

static int record_typical(struct whatif *w, struct tui_app *app, struct err *e)
{
	const struct schema *s = w->models[w->cur].s;
	struct whatif_record r;
	int rc = whatif_record_typical(&r, s, e);
	if (rc)
		return rc;
	if (w->have_record) {
		strv_free(w->orig, w->rec.schema->nfeatures);
		whatif_record_finish(&w->rec);
	}
	w->rec = r;
	w->orig = calloc(s->nfeatures ? s->nfeatures : 1, sizeof *w->orig);
	if (!w->orig) {
		whatif_record_finish(&w->rec);
		w->have_record = false;
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	w->have_record = true;
	w->origin_row = 0;
	set_origin_values(w);
	rescore(w, app);
	return 0;
}

/* Moves the record (and its original values) to the schema of version I,
 * by feature name. */
static void record_convert(struct whatif *w, struct tui_app *app, size_t i)
{
	const struct schema *to = w->models[i].s;
	if (!w->have_record || w->rec.schema == to)
		return;
	struct whatif_record old = w->rec;
	char **old_orig = w->orig;
	const struct schema *from = old.schema;
	w->have_record = false;
	if (!record_fresh(w, to)) {
		tui_app_toast(app, ROLE_CRIT, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < to->nfeatures; k++) {
		long j = schema_find(from, to->features[k].name);
		struct err e = {0};
		if (j < 0)
			continue;
		whatif_record_set_value(&w->rec, k, old.text[j], &e);
		if (old_orig[j])
			w->orig[k] = strdup(old_orig[j]);
	}
out:
	strv_free(old_orig, from->nfeatures);
	whatif_record_finish(&old);
}

/* Builds the first record once the model (and the data, if any) are in. */
static void maybe_start(struct whatif *w, struct tui_app *app)
{
	if (w->have_record || !w->c->nversions || !w->models[w->cur].m)
		return;
	if (w->c->data && !w->data && !w->data_error)
		return;
	if (w->data && w->data->nrows > 0) {
		record_from_row(w, app, 0);
		return;
	}
	struct err e = {0};
	if (record_typical(w, app, &e))
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
}

static void change_value(struct whatif *w, struct tui_app *app, size_t i,
			 const char *v)
{
	struct err e = {0};
	if (whatif_record_set_value(&w->rec, i, v, &e)) {
		tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
		return;
	}
	rescore(w, app);
}

/* Left/right: the previous or next level (wrapping), or a number minus or
 * plus one, kept inside the feature's range when it has one. */
static void step_value(struct whatif *w, struct tui_app *app, int dir)
{
	size_t i = w->form.selected;
	const struct schema_feature *f = &w->rec.schema->features[i];
	const char *cur = w->rec.text[i];
	char buf[64];
	if (f->type == SCHEMA_CATEGORICAL) {
		if (f->nlevels == 0)
			return;
		long code = cur ? schema_level_code(f, cur) : -1;
		long n = (long)f->nlevels;
		code = code < 0 ? (dir > 0 ? 0 : n - 1) : ((code + dir) % n + n) % n;
		change_value(w, app, i, f->levels[code]);
		return;
	}
	double v;
	if (!cur || !num_parse(cur, &v))
		v = f->has_typical ? f->typical : 0;
	else
		v += dir;
	if (f->has_range)
		v = fmin(fmax(v, f->min), f->max);
	snprintf(buf, sizeof buf, "%.10g", v);
	change_value(w, app, i, buf);
}

static void edit_done(void *state, struct tui_app *app, const char *text)
{
	struct whatif *w = state;
	if (!text || !w->have_record)
		return;
	change_value(w, app, w->form.selected, text);
}

/* ---- copying ---- */

static void shell_quote(char **buf, size_t *len, size_t *cap, const char *s)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%",
			    *p))
			plain = false;
	size_t need = *len + strlen(s) * 4 + 4;
	if (need > *cap) {
		size_t ncap = need * 2;
		char *nb = realloc(*buf, ncap);
		if (!nb)
			return;
		*buf = nb;
		*cap = ncap;
	}
	char *o = *buf + *len;
	if (plain) {
		o += sprintf(o, "%s", s);
	} else {
		*o++ = '\'';
		for (const char *p = s; *p; p++) {
			if (*p == '\'') {
				memcpy(o, "'\\''", 4);
				o += 4;
			} else {
				*o++ = *p;
			}
		}
		*o++ = '\'';
		*o = '\0';
	}
	*len = (size_t)(o - *buf);
}

static void append(char **buf, size_t *len, size_t *cap, const char *word, bool quote)
{
	if (*len) {
		char sp[] = " ";
		size_t l = *len;
		if (l + 2 > *cap) {
			char *nb = realloc(*buf, *cap * 2 + 2);
			if (!nb)
				return;
			*buf = nb;
			*cap = *cap * 2 + 2;
		}
		memcpy(*buf + l, sp, 2);
		(*len)++;
	}
	if (quote) {
		shell_quote(buf, len, cap, word);
	} else {
		size_t n = strlen(word);
		if (*len + n + 1 > *cap) {
			char *nb = realloc(*buf, (*len + n + 1) * 2);
			if (!nb)
				return;
			*buf = nb;
			*cap = (*len + n + 1) * 2;
		}
		memcpy(*buf + *len, word, n + 1);
		*len += n;
	}
}

/* `churnops whatif` reproducing the record: the model, the starting row
 * (or the typical customer), and a --set for each changed feature. */
static char *command_line(const struct whatif *w)
{
	size_t len = 0, cap = 256;
	char *b = malloc(cap);
	if (!b)
		return NULL;
	b[0] = '\0';
	append(&b, &len, &cap, "churnops whatif --model", false);
	append(&b, &len, &cap, w->c->versions[w->cur].dir, true);
	if (w->origin_row) {
		char row[32];
		snprintf(row, sizeof row, "%zu", w->origin_row);
		append(&b, &len, &cap, "--data", false);
		append(&b, &len, &cap, w->c->data, true);
		append(&b, &len, &cap, "--row", false);
		append(&b, &len, &cap, row, false);
	}
	const struct schema *s = w->rec.schema;
	for (size_t i = 0; i < s->nfeatures; i++) {
		if (text_eq(w->rec.text[i], w->orig[i]))
			continue;
		size_t n = strlen(s->features[i].name) + (w->rec.text[i] ? strlen(w->rec.text[i]) : 0) + 2;
		char *set = malloc(n);
		if (!set)
			continue;
		snprintf(set, n, "%s=%s", s->features[i].name, w->rec.text[i] ? w->rec.text[i] : "");
		append(&b, &len, &cap, "--set", false);
		append(&b, &len, &cap, set, true);
		free(set);
	}
	if (w->cmp >= 0) {
		append(&b, &len, &cap, "--compare", false);
		append(&b, &len, &cap, w->c->versions[w->cmp].dir, true);
	}
	append(&b, &len, &cap, "--json", false);
	return b;
}

static char *json_text(const struct whatif *w, struct err *e)
{
	const struct score_snapshot *s = w->shown;
	if (!s || w->shown_seq != w->score_seq) {
		err_set(e, EXIT_CHECK, "still scoring; copy again in a moment");
		return NULL;
	}
	cJSON *arr = s->n > 1 ? cJSON_CreateArray() : NULL;
	cJSON *one = NULL;
	for (int k = 0; k < s->n; k++) {
		if (!s->ok[k]) {
			cJSON_Delete(arr);
			err_set(e, EXIT_CHECK, "%s", s->err[k]);
			return NULL;
		}
		const struct console_version *v = &w->c->versions[s->version[k]];
		one = whatif_to_json(&s->rec[k], &s->res[k], v->label, v->dir,
				     model_sha256(w->models[s->version[k]].m),
				     SCORE_CUT_LOW, SCORE_CUT_HIGH);
		if (arr)
			cJSON_AddItemToArray(arr, one);
	}
	char *text = cJSON_Print(arr ? arr : one);
	cJSON_Delete(arr ? arr : one);
	if (!text)
		err_set(e, EXIT_INPUT, "out of memory");
	return text;
}

int whatif_cmd_copy(void *state, struct tui_app *app, const char *what,
		    struct err *e)
{
	struct whatif *w = state;
	if (!w->have_record)
		return err_set(e, EXIT_CHECK, "what-if has no customer yet");
	bool json = strcmp(what, "json") == 0;
	if (!json && strcmp(what, "command") != 0)
		return err_set(e, EXIT_INPUT, "copy json|command");
	char *text = json ? json_text(w, e) : command_line(w);
	if (!text)
		return e->code ? e->code : err_set(e, EXIT_INPUT, "out of memory");
	tui_app_clipboard(app, text);
	tui_app_dialog(app, json ? "record as JSON (copied to the clipboard)"
				 : "command line (copied to the clipboard)", text);
	free(text);
	return 0;
}

/* ---- commands ---- */

static long version_index(const struct whatif *w, const char *label)
{
	for (size_t i = 0; i < w->c->nversions; i++)
		if (strcmp(w->c->versions[i].label, label) == 0)
			return (long)i;
	return -1;
}

static void use_version(struct whatif *w, struct tui_app *app, size_t i)
{
	w->cur = i;
	if (w->cmp == (long)i)
		w->cmp = -1;
	if (w->models[i].m) {
		record_convert(w, app, i);
		maybe_start(w, app);
		rescore(w, app);
	} else {
		load_model(w, app, i);
	}
}

int whatif_cmd_version(void *state, struct tui_app *app, const char *label,
		       struct err *e)
{
	struct whatif *w = state;
	long i = version_index(w, label);
	if (i < 0)
		return err_set(e, EXIT_INPUT, "no version '%s'", label);
	use_version(w, app, (size_t)i);
	return 0;
}

static void use_compare(struct whatif *w, struct tui_app *app, long i)
{
	w->cmp = i;
	if (i < 0) {
		rescore(w, app);
		return;
	}
	if (w->models[i].m)
		rescore(w, app);
	else
		load_model(w, app, (size_t)i);
}

int whatif_cmd_compare(void *state, struct tui_app *app, const char *label,
		       struct err *e)
{
	struct whatif *w = state;
	if (strcmp(label, "off") == 0 || !*label) {
		use_compare(w, app, -1);
		return 0;
	}
	long i = version_index(w, label);
	if (i < 0)
		return err_set(e, EXIT_INPUT, "no version '%s'", label);
	if ((size_t)i == w->cur)
		return err_set(e, EXIT_INPUT, "%s is the version in view already", label);
	use_compare(w, app, i);
	return 0;
}

int whatif_cmd_customer(void *state, struct tui_app *app, const char *row,
			struct err *e)
{
	struct whatif *w = state;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(row, &end, 10);
	if (!*row || *end || errno || n == 0)
		return err_set(e, EXIT_INPUT, "customer ROW: a data row number from 1");
	if (!w->c->nversions)
		return err_set(e, EXIT_CHECK, "no model to score with");
	if (!w->data)
		return err_set(e, EXIT_CHECK, "%s", w->c->data ? "the data file is still loading"
						: "no data file (open the console with --data FILE)");
	if (n > w->data->nrows)
		return err_set(e, EXIT_INPUT, "the data file has %zu rows", w->data->nrows);
	if (!w->models[w->cur].m)
		return err_set(e, EXIT_CHECK, "the model is still loading");
	record_from_row(w, app, (size_t)n - 1);
	w->picking = false;
	return 0;
}

int whatif_cmd_typical(void *state, struct tui_app *app, struct err *e)
{
	struct whatif *w = state;
	if (!w->c->nversions || !w->models[w->cur].m)
		return err_set(e, EXIT_CHECK, "the model is still loading");
	return record_typical(w, app, e);
}

/* ---- the view ---- */

static void wi_show(void *state, struct tui_app *app)
{
	struct whatif *w = state;
	if (!w->c->nversions)
		return;
	load_model(w, app, w->cur);
	load_data(w, app);
}

static void wi_on_snapshot(void *state, struct tui_app *app, struct worker_job *j)
{
	struct whatif *w = state;
	switch ((enum job_kind)j->kind) {
	case KIND_MODEL: {
		struct loaded_model *lm = &w->models[j->seq];
		lm->loading = false;
		if (!j->result) {
			free(lm->error);
			lm->error = strdup(j->err.msg);
			tui_app_toast(app, ROLE_CRIT, "%s", j->err.msg);
			return;
		}
		struct model_result *r = j->result;
		lm->m = r->m;
		lm->s = r->s;
		free(r);
		j->result = NULL;
		if (j->seq == w->cur) {
			record_convert(w, app, w->cur);
			if (w->have_record)
				rescore(w, app);
			else
				maybe_start(w, app);
		} else if ((long)j->seq == w->cmp) {
			rescore(w, app);
		}
		return;
	}
	case KIND_DATA_PROGRESS:
		if (j->seq == w->data_seq && j->result)
			w->data_progress = *(double *)j->result;
		return;
	case KIND_DATA:
		if (j->seq != w->data_seq)
			return;
		w->data_loading = false;
		if (!j->result) {
			free(w->data_error);
			w->data_error = strdup(j->err.msg);
			tui_app_toast(app, ROLE_CRIT, "%s", j->err.msg);
		} else {
			w->data = j->result;
			j->result = NULL;
			free(w->picker_headers);
			w->picker_headers = calloc(w->data->ncols + 1, sizeof *w->picker_headers);
			if (w->picker_headers) {
				w->picker_headers[0] = "row";
				for (size_t k = 0; k < w->data->ncols; k++)
					w->picker_headers[k + 1] = w->data->header[k];
				widget_table_init(&w->picker, w->data->ncols + 1,
						  w->picker_headers, picker_cell, w);
				widget_table_set_rows(&w->picker, w->data->nrows);
			}
			if (w->data->truncated)
				tui_app_toast(app, ROLE_WARN, "%s: only the first %d rows are searchable",
					      w->c->data, MAX_DATA_ROWS);
		}
		maybe_start(w, app);
		return;
	case KIND_SCORE:
		if (j->seq < w->shown_seq)
			return;
		score_snapshot_free(w->shown);
		w->shown = j->result;
		w->shown_seq = j->seq;
		j->result = NULL;
		return;
	}
}

static enum tui_role risk_role(double p)
{
	const char *r = score_risk_level(p, SCORE_CUT_LOW, SCORE_CUT_HIGH);
	return strcmp(r, "low") == 0 ? ROLE_OK : strcmp(r, "medium") == 0 ? ROLE_WARN : ROLE_CRIT;
}

static void draw_result(struct whatif *w, int k, struct tui_rect r)
{
	const struct score_snapshot *s = w->shown;
	size_t v = s && k < s->n ? s->version[k] : (k == 0 ? w->cur : (size_t)w->cmp);
	char title[128];
	snprintf(title, sizeof title, "%s%s", w->c->versions[v].label,
		 k == 0 ? "" : " (compare)");
	struct tui_rect in = widget_box(r, title, k == 0 ? w->focus == 1 : false);
	if (in.h < 1)
		return;
	if (!s || k >= s->n) {
		const struct loaded_model *lm = &w->models[v];
		widget_text(in.y, in.x + 1, in.w - 2, lm->error ? ROLE_CRIT : ROLE_STALE,
			    lm->error ? lm->error : "scoring...");
		return;
	}
	if (!s->ok[k]) {
		widget_text(in.y, in.x + 1, in.w - 2, ROLE_CRIT, s->err[k]);
		return;
	}
	const struct whatif_result *res = &s->res[k];
	char text[64];
	const char *risk = score_risk_level(res->probability, SCORE_CUT_LOW, SCORE_CUT_HIGH);
	snprintf(text, sizeof text, "%.4f %s", res->probability, risk);
	widget_gauge(in.y, in.x + 1, in.w - 2, res->probability, risk_role(res->probability),
		     text);
	bool stale = w->shown_seq != w->score_seq;
	if (in.h > 1)
		widget_printf(in.y + 1, in.x + 1, in.w - 2, stale ? ROLE_STALE : ROLE_NORMAL,
			      "probability %.6f  margin %+.4f  base %+.4f%s", res->probability,
			      res->margin, res->base_value, stale ? "  (scoring...)" : "");
	if (k == 1 && s->ok[0] && in.h > 2)
		widget_printf(in.y + 2, in.x + 1, in.w - 2, ROLE_ACCENT,
			      "change vs %s: %+.6f", w->c->versions[s->version[0]].label,
			      res->probability - s->res[0].probability);
	int top = in.y + (k == 1 ? 3 : 2);
	if (in.y + in.h - top < 2)
		return;
	widget_text(top, in.x + 1, in.w - 2, ROLE_TITLE,
		    "contributions (log-odds; + raises the churn risk)");
	struct widget_bar_item items[256];
	char labels[256][64];
	size_t rows = (size_t)(in.y + in.h - top - 1);
	size_t n = 0;
	if (w->contrib_scroll >= res->ncontributions)
		w->contrib_scroll = res->ncontributions ? res->ncontributions - 1 : 0;
	for (size_t c = w->contrib_scroll; c < res->ncontributions && n < rows && n < 256; c++) {
		size_t fi = res->contributions[c].feature;
		const char *val = s->rec[k].text[fi];
		snprintf(labels[n], sizeof labels[n], "%s=%s", s->rec[k].schema->features[fi].name,
			 val ? val : "NA");
		items[n].label = labels[n];
		items[n].value = res->contributions[c].contribution;
		n++;
	}
	double scale = 0;
	for (size_t c = 0; c < res->ncontributions; c++)
		scale = fmax(scale, fabs(res->contributions[c].contribution));
	widget_bars(items, n, scale, (struct tui_rect){top + 1, in.x + 1, (int)rows, in.w - 2});
}

static void draw_picker(struct whatif *w, struct tui_rect area)
{
	char title[256];
	snprintf(title, sizeof title, "pick a customer: %zu of %zu rows%s%s - Enter picks, Esc back",
		 w->picker.nvisible, w->data->nrows, w->picker.filter[0] ? ", filter: " : "",
		 w->picker.filter);
	struct tui_rect in = widget_box(area, title, true);
	/* The columns are cut to fit; the selected row is spelled out whole
	 * on the last lines. */
	int detail = in.h >= 8 ? 2 : 0;
	widget_table_draw(&w->picker,
			  (struct tui_rect){in.y, in.x + 1, in.h - detail, in.w - 2}, true);
	size_t row = widget_table_current(&w->picker);
	if (!detail || row == SIZE_MAX)
		return;
	char line[2048];
	size_t used = (size_t)snprintf(line, sizeof line, "row %zu:", row + 1);
	for (size_t k = 0; k < w->data->ncols && used < sizeof line; k++)
		used += (size_t)snprintf(line + used, sizeof line - used, " %s=%s",
					 w->data->header[k], w->data->cells[row * w->data->ncols + k]);
	char clean[4096];
	sanitize_display(line, strlen(line), clean, sizeof clean);
	size_t starts[2], lens[2];
	size_t nl = layout_wrap(clean, in.w - 2, starts, lens, 2);
	for (size_t i = 0; i < nl && i < 2; i++) {
		char part[2048];
		size_t len = lens[i] < sizeof part - 1 ? lens[i] : sizeof part - 1;
		memcpy(part, clean + starts[i], len);
		part[len] = '\0';
		/* Already sanitised: widget_text() would escape the escapes. */
		widget_text_clean(in.y + in.h - detail + (int)i, in.x + 1, in.w - 2, ROLE_MUTED, part);
	}
}

static void wi_draw(void *state, struct tui_app *app, struct tui_rect area)
{
	struct whatif *w = state;
	(void)app;
	if (!w->c->nversions) {
		widget_text(area.y + 1, area.x + 2, area.w - 4, ROLE_WARN,
			    "no model to score with: run 'churnops demo', or open one with "
			    "'churnops --model DIR'");
		return;
	}
	if (w->picking && w->data) {
		draw_picker(w, area);
		return;
	}
	const struct loaded_model *lm = &w->models[w->cur];
	if (!w->have_record) {
		int y = area.y + 1;
		if (lm->error)
			widget_text(y++, area.x + 2, area.w - 4, ROLE_CRIT, lm->error);
		else if (!lm->m)
			widget_printf(y++, area.x + 2, area.w - 4, ROLE_STALE,
				      "loading model %s...", w->c->versions[w->cur].label);
		if (w->data_loading)
			widget_progress(y++, area.x + 2, area.w - 4, "reading customers",
					w->data_progress);
		if (w->data_error)
			widget_text(y++, area.x + 2, area.w - 4, ROLE_CRIT, w->data_error);
		return;
	}
	/* The line saying who this customer is. */
	size_t n = w->rec.schema->nfeatures, changed = 0;
	for (size_t i = 0; i < n; i++)
		changed += !text_eq(w->rec.text[i], w->orig[i]);
	char who[512];
	if (w->origin_row)
		snprintf(who, sizeof who, "customer: row %zu of %s", w->origin_row, w->c->data);
	else
		snprintf(who, sizeof who, "customer: the typical customer (schema's typical values)");
	int x = area.x + 1 + widget_text(area.y, area.x + 1, area.w - 2, ROLE_TITLE, who);
	if (changed)
		widget_printf(area.y, x, area.x + area.w - x, ROLE_ACCENT, "  %zu edited", changed);

	struct tui_rect body = {area.y + 1, area.x, area.h - 1, area.w};
	struct tui_rect left, right;
	layout_split(body, 0.38, 24, 35, &left, &right);
	char ftitle[64];
	snprintf(ftitle, sizeof ftitle, "features (%zu)", n);
	struct tui_rect fin = widget_box(left, ftitle, w->focus == 0);
	if (n > w->nfields) {
		struct widget_form_field *nf = realloc(w->fields, n * sizeof *nf);
		if (!nf)
			return;
		w->fields = nf;
		w->nfields = n;
	}
	for (size_t i = 0; i < n; i++) {
		w->fields[i].label = w->rec.schema->features[i].name;
		w->fields[i].value = w->rec.text[i];
		w->fields[i].categorical = w->rec.schema->features[i].type == SCHEMA_CATEGORICAL;
		w->fields[i].changed = !text_eq(w->rec.text[i], w->orig[i]);
	}
	widget_form_draw(&w->form, w->fields, n,
			 (struct tui_rect){fin.y, fin.x + 1, fin.h, fin.w - 2}, w->focus == 0);
	if (w->cmp >= 0) {
		struct tui_rect a, b;
		layout_split(right, 0.5, 34, 34, &a, &b);
		draw_result(w, 0, a);
		draw_result(w, 1, b);
	} else {
		draw_result(w, 0, right);
	}
}

static enum tui_result picker_key(struct whatif *w, struct tui_app *app,
				  enum keymap_action a)
{
	if (a == ACT_CANCEL) {
		w->picking = false;
		return TUI_REDRAW;
	}
	if (a == ACT_SELECT) {
		size_t row = widget_table_current(&w->picker);
		if (row != SIZE_MAX && w->models[w->cur].m) {
			record_from_row(w, app, row);
			w->picking = false;
		}
		return TUI_REDRAW;
	}
	if (widget_table_key(&w->picker, a))
		return TUI_REDRAW;
	return a == ACT_LEFT || a == ACT_RIGHT ? TUI_HANDLED : TUI_IGNORED;
}

static enum tui_result wi_key(void *state, struct tui_app *app, enum keymap_action a)
{
	struct whatif *w = state;
	struct err e = {0};
	if (!w->c->nversions)
		return TUI_IGNORED;
	if (w->picking && w->data)
		return picker_key(w, app, a);
	switch (a) {
	case ACT_PICK_CUSTOMER:
		if (!w->data) {
			tui_app_toast(app, ROLE_WARN, "%s",
				      w->c->data ? "the data file is still loading"
						 : "no data file: open the console with --data FILE");
			return TUI_REDRAW;
		}
		w->picking = true;
		return TUI_REDRAW;
	case ACT_NEXT_VERSION:
		if (w->c->nversions > 1) {
			use_version(w, app, (w->cur + 1) % w->c->nversions);
			tui_app_toast(app, ROLE_ACCENT, "version %s", w->c->versions[w->cur].label);
		}
		return TUI_REDRAW;
	case ACT_COMPARE: {
		if (w->c->nversions < 2)
			return TUI_HANDLED;
		/* Cycle through the other versions, then off. */
		long next = w->cmp + 1;
		if (next == (long)w->cur)
			next++;
		use_compare(w, app, next >= (long)w->c->nversions ? -1 : next);
		return TUI_REDRAW;
	}
	default:
		break;
	}
	if (!w->have_record)
		return TUI_IGNORED;
	size_t n = w->rec.schema->nfeatures;
	switch (a) {
	case ACT_NEXT_PANEL:
	case ACT_PREV_PANEL:
		w->focus = !w->focus;
		return TUI_REDRAW;
	case ACT_LEFT:
	case ACT_RIGHT:
		if (w->focus == 0)
			step_value(w, app, a == ACT_RIGHT ? 1 : -1);
		return TUI_REDRAW;
	case ACT_SELECT:
	case ACT_EDIT: {
		char label[160];
		size_t i = w->form.selected;
		const struct schema_feature *f = &w->rec.schema->features[i];
		snprintf(label, sizeof label, "%s (%s) = ", f->name,
			 f->type == SCHEMA_CATEGORICAL ? "a level" : "a number; empty: missing");
		tui_app_prompt(app, label, w->rec.text[i], w, edit_done, NULL);
		return TUI_REDRAW;
	}
	case ACT_TYPICAL:
		if (whatif_cmd_typical(w, app, &e))
			tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
		return TUI_REDRAW;
	case ACT_RESET:
		for (size_t i = 0; i < n; i++) {
			struct err ei = {0};
			whatif_record_set_value(&w->rec, i, w->orig[i], &ei);
		}
		rescore(w, app);
		tui_app_toast(app, ROLE_OK, "reset to %s",
			      w->origin_row ? "the original row" : "the typical customer");
		return TUI_REDRAW;
	case ACT_COPY_JSON:
	case ACT_COPY_COMMAND:
		if (whatif_cmd_copy(w, app, a == ACT_COPY_JSON ? "json" : "command", &e))
			tui_app_toast(app, ROLE_CRIT, "%s", e.msg);
		return TUI_REDRAW;
	default:
		if (w->focus == 0 && widget_form_key(&w->form, a, n))
			return TUI_REDRAW;
		if (w->focus == 1) {
			if (a == ACT_DOWN)
				w->contrib_scroll++;
			else if (a == ACT_UP && w->contrib_scroll > 0)
				w->contrib_scroll--;
			else if (a == ACT_HOME)
				w->contrib_scroll = 0;
			else
				return TUI_IGNORED;
			return TUI_REDRAW;
		}
		return TUI_IGNORED;
	}
}

static bool wi_filter(void *state, struct tui_app *app, const char *text)
{
	struct whatif *w = state;
	if (!w->data) {
		tui_app_toast(app, ROLE_WARN, "%s",
			      w->c->data ? "the data file is still loading" : "no data file to search");
		return true;
	}
	w->picking = true;
	widget_table_filter(&w->picker, text);
	return true;
}

static const char *wi_context(void *state)
{
	struct whatif *w = state;
	if (!w->c->nversions)
		return NULL;
	snprintf(w->context, sizeof w->context, "churn %s%s%s", w->c->versions[w->cur].label,
		 w->cmp >= 0 ? " vs " : "", w->cmp >= 0 ? w->c->versions[w->cmp].label : "");
	return w->context;
}

static void wi_destroy(void *state)
{
	struct whatif *w = state;
	if (!w)
		return;
	if (w->have_record) {
		strv_free(w->orig, w->rec.schema->nfeatures);
		whatif_record_finish(&w->rec);
	}
	score_snapshot_free(w->shown);
	for (size_t i = 0; i < w->c->nversions; i++) {
		model_destroy(w->models[i].m);
		schema_destroy(w->models[i].s);
		free(w->models[i].error);
	}
	free(w->models);
	widget_table_finish(&w->picker);
	free(w->picker_headers);
	data_free(w->data);
	free(w->data_error);
	free(w->fields);
	free(w);
}

void *whatif_view_create(struct console *c)
{
	struct whatif *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->c = c;
	w->cmp = -1;
	w->cur = c->nversions ? c->nversions - 1 : 0;
	w->models = calloc(c->nversions ? c->nversions : 1, sizeof *w->models);
	if (!w->models) {
		free(w);
		return NULL;
	}
	widget_table_init(&w->picker, 0, NULL, picker_cell, w);
	return w;
}

const struct view_ops whatif_view_ops = {
	.name = "what-if",
	.jump = ACT_VIEW_WHATIF,
	.scope = KEYMAP_WHATIF,
	.show = wi_show,
	.draw = wi_draw,
	.handle_key = wi_key,
	.on_snapshot = wi_on_snapshot,
	.set_filter = wi_filter,
	.context = wi_context,
	.destroy = wi_destroy,
};
