/* Fuzz target for core/csv (and num_parse on every cell), and through it
 * for schema inference and dataset loading.
 *
 * Each input is read twice, once with a tiny block so that every record
 * crosses buffer boundaries and once whole, with small limits so the field
 * and record caps trigger. Both reads must return the same records and both
 * must fail or neither. The records read are then written with
 * csv_write_row() and read back: the writer's quoting must give back every
 * field exactly. Finally the input, as a file, goes to schema_infer() with
 * its first column as the target; a schema inferred from a file must load
 * that same file as a dataset, every row, with no level unseen.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv.h"
#include "dataset.h"
#include "num.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELD 64
#define MAX_RECORD 256

struct capture {
	char *flat; /* records, each "n\0" then its fields, NUL-terminated */
	size_t len;
	char *csv; /* the records written back as CSV */
	size_t csv_len;
	size_t nrec;
	int status; /* 0 end of input, -1 error */
	char msg[ERR_MSG_MAX];
};

static void capture_free(struct capture *c)
{
	free(c->flat);
	free(c->csv);
}

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_csv: %s\n", what);
		abort();
	}
}

/* Reads TEXT[0..len) from a memory stream with the given block size and
 * limits (0: defaults); fills C. */
static void capture(const void *text, size_t len, size_t block, size_t max_field,
		    size_t max_record, struct capture *c)
{
	memset(c, 0, sizeof *c);
	static const char empty[1] = "";
	FILE *in = fmemopen(len ? (void *)text : (void *)empty, len ? len : 1, "r");
	check(in != NULL, "fmemopen");
	if (!len)
		fgetc(in); /* an empty stream: consume the placeholder byte */
	struct err e = {0};
	struct csv_reader *r = csv_reader_from_stream(in, "fuzz.csv", &e);
	check(r != NULL, "reader");
	csv_reader_set_block_size(r, block);
	csv_reader_set_limits(r, max_field, max_record);
	FILE *flat = open_memstream(&c->flat, &c->len);
	FILE *csv = open_memstream(&c->csv, &c->csv_len);
	check(flat && csv, "open_memstream");
	struct csv_record rec;
	int got;
	while ((got = csv_reader_next(r, &rec, &e)) == 1) {
		check(rec.n > 0, "a record has a field");
		check(rec.line >= 1, "lines count from 1");
		fprintf(flat, "%zu", rec.n);
		fputc('\0', flat);
		for (size_t i = 0; i < rec.n; i++) {
			size_t n = strlen(rec.fields[i]);
			if (max_field)
				check(n <= max_field, "field within its limit");
			fwrite(rec.fields[i], 1, n + 1, flat);
			double v;
			if (num_parse(rec.fields[i], &v))
				check(v == v && v - v == 0, "num_parse gives a finite number");
			(void)csv_is_missing(rec.fields[i]);
		}
		csv_write_row(csv, (const char *const *)rec.fields, rec.n);
		c->nrec++;
	}
	c->status = got;
	if (got < 0) {
		check(strncmp(e.msg, "fuzz.csv: line ", 15) == 0, "error names source and line");
		memcpy(c->msg, e.msg, sizeof c->msg);
		/* the reader is spent */
		check(csv_reader_next(r, &rec, &e) == -1, "error is sticky");
	}
	fclose(flat);
	fclose(csv);
	csv_reader_close(r);
	fclose(in);
}

static void check_inference(const uint8_t *data, size_t size,
			    const struct capture *c)
{
	if (c->status != 0 || c->nrec < 2)
		return;
	const char *target = c->flat + strlen(c->flat) + 1; /* first header cell */
	int fd = memfd_create("fuzz.csv", 0);
	check(fd >= 0, "memfd_create");
	check(write(fd, data, size) == (ssize_t)size, "write memfd");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct err e = {0};
	struct schema *s = schema_infer(path, target, NULL, &e);
	if (s) {
		struct dataset d;
		char *report = NULL;
		if (dataset_load_report(path, s, &d, &report, &e) != 0) {
			fprintf(stderr, "fuzz_csv: %s\n", e.msg);
			check(0, "a file loads through the schema inferred from it");
		}
		check(report == NULL, "no level unseen in the file it came from");
		check(d.nrows == c->nrec - 1 && d.ncols == s->nfeatures, "every row loaded");
		for (size_t i = 0; i < d.nrows; i++) {
			check(d.y[i] == 0 || d.y[i] == 1, "labels are 0 or 1");
			for (size_t j = 0; j < d.ncols; j++) {
				float x = d.x[i * d.ncols + j];
				const struct schema_feature *f = &s->features[j];
				if (f->type == SCHEMA_CATEGORICAL)
					check(isnan(x) || (x >= 0 && x < (float)f->nlevels &&
							   x == floorf(x)),
					      "codes index the levels");
				else
					check(isnan(x) || isfinite(x), "numbers are finite");
			}
		}
		dataset_finish(&d);
		schema_destroy(s);
	} else {
		check(e.code == EXIT_INPUT, "inference fails as bad input");
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture tiny, whole, again;
	capture(data, size, 1 + size % 5, MAX_FIELD, MAX_RECORD, &tiny);
	capture(data, size, 4096, MAX_FIELD, MAX_RECORD, &whole);
	check(tiny.status == whole.status, "same outcome whatever the block size");
	check(tiny.nrec == whole.nrec && tiny.len == whole.len &&
		      memcmp(tiny.flat, whole.flat, tiny.len) == 0,
	      "same records whatever the block size");

	/* what the writer wrote reads back as the same records */
	capture(whole.csv, whole.csv_len, 7, 0, 0, &again);
	check(again.status == 0, "written CSV reads back without error");
	check(again.nrec == whole.nrec && again.len == whole.len &&
		      memcmp(again.flat, whole.flat, whole.len) == 0,
	      "written CSV reads back as the same records");

	check_inference(data, size, &whole);

	capture_free(&tiny);
	capture_free(&whole);
	capture_free(&again);
	return 0;
}
