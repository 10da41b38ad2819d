/* Unit tests for core/csv and core/num: the reader on real temporary files
 * (quotes, escapes, line ends, byte order mark, limits, block boundaries),
 * the writer's quoting by round trip, and number parsing in any locale. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "num.h"

static char tmpdir[] = "/tmp/churnops-test-csv-XXXXXX";

static int group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[sizeof tmpdir + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes LEN bytes to a fresh file in tmpdir; returns its path (static). */
static const char *write_file(const char *name, const char *data, size_t len)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *write_str(const char *name, const char *data)
{
	return write_file(name, data, strlen(data));
}

/* Reads the whole file with block size BLOCK (0: default) and renders it:
 * each record as "LINE:f1|f2|...\n". Returns a malloc'd string, or NULL on a
 * reader error with *E set. */
static char *render(const char *path, size_t block, size_t max_field,
		    size_t max_record, struct err *e)
{
	struct csv_reader *r = csv_reader_open(path, e);
	assert_non_null(r);
	if (block)
		csv_reader_set_block_size(r, block);
	csv_reader_set_limits(r, max_field, max_record);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	assert_non_null(m);
	struct csv_record rec;
	int got;
	while ((got = csv_reader_next(r, &rec, e)) == 1) {
		fprintf(m, "%zu:", rec.line);
		for (size_t i = 0; i < rec.n; i++)
			fprintf(m, "%s%s", i ? "|" : "", rec.fields[i]);
		fputc('\n', m);
	}
	fclose(m);
	csv_reader_close(r);
	if (got < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void assert_renders(const char *content, const char *expected)
{
	const char *path = write_str("render.csv", content);
	struct err e = {0};
	/* The same answer whatever the block size: every record crosses a
	 * buffer boundary at some byte for the small sizes. */
	const size_t blocks[] = {0, 1, 2, 3, 5, 7, 64};
	for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
		char *got = render(path, blocks[k], 0, 0, &e);
		if (!got)
			fail_msg("block %zu: %s", blocks[k], e.msg);
		if (strcmp(got, expected) != 0)
			fail_msg("block %zu:\n got: %s\nwant: %s", blocks[k], got,
				 expected);
		free(got);
	}
}

/* Expects reading CONTENT to fail with a message containing every one of
 * the NULL-terminated strings that follow. */
static void assert_fails(const char *content, size_t len, size_t max_field,
			 size_t max_record, ...)
{
	const char *path = write_file("bad.csv", content, len);
	const size_t blocks[] = {0, 1, 4};
	for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
		struct err e = {0};
		char *got = render(path, blocks[k], max_field, max_record, &e);
		if (got)
			fail_msg("block %zu: expected an error, read:\n%s", blocks[k], got);
		assert_int_equal(e.code, EXIT_INPUT);
		assert_non_null(strstr(e.msg, path));
		va_list ap;
		va_start(ap, max_record);
		for (const char *want; (want = va_arg(ap, const char *));)
			if (!strstr(e.msg, want))
				fail_msg("block %zu: '%s' not in message: %s", blocks[k],
					 want, e.msg);
		va_end(ap);
	}
}

static void test_plain(void **state)
{
	(void)state;
	assert_renders("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
	assert_renders("a,,c\n,,\n", "1:a||c\n2:||\n");
	/* spaces are data; a quote inside an unquoted field is literal */
	assert_renders(" a , b\nx\"y,z\n", "1: a | b\n2:x\"y|z\n");
}

static void test_quotes_and_escapes(void **state)
{
	(void)state;
	assert_renders("\"a,b\",\"say \"\"hi\"\"\",c\n",
		       "1:a,b|say \"hi\"|c\n");
	assert_renders("\"\",\"\"\"\"\n", "1:|\"\n");
	assert_renders("\"\"\"\"\"\"\n", "1:\"\"\n");
	/* a line holding only "" is a record of one empty field */
	assert_renders("x\n\"\"\ny\n", "1:x\n2:\n3:y\n");
}

static void test_embedded_newlines(void **state)
{
	(void)state;
	assert_renders("\"line1\nline2\",x\nnext,y\n",
		       "1:line1\nline2|x\n3:next|y\n");
	assert_renders("\"a\r\nb\",\"c\rd\"\r\ne,f\r\n",
		       "1:a\r\nb|c\rd\n3:e|f\n");
	assert_renders("\"\n\n\n\",z\nw\n", "1:\n\n\n|z\n5:w\n");
}

static void test_line_ends(void **state)
{
	(void)state;
	assert_renders("a,b\r\nc,d\r\n", "1:a|b\n2:c|d\n");
	assert_renders("a,b\rc,d\r", "1:a|b\n2:c|d\n");
	assert_renders("\"a\"\r\n\"b\"\r\n", "1:a\n2:b\n");
	assert_renders("a,b\r\n\r\nc\r\n", "1:a|b\n3:c\n");
}

static void test_bom(void **state)
{
	(void)state;
	assert_renders("\xEF\xBB\xBFid,v\n1,2\n", "1:id|v\n2:1|2\n");
	assert_renders("\xEF\xBB\xBF\"id\",v\n", "1:id|v\n");
	/* only at the very start */
	assert_renders("a\n\xEF\xBB\xBF" "b\n", "1:a\n2:\xEF\xBB\xBF" "b\n");
	assert_renders("\xEF\xBB\xBF", "");
	assert_renders("\xEF\xBB", "1:\xEF\xBB\n");
}

static void test_blank_lines(void **state)
{
	(void)state;
	assert_renders("a\n\n\r\n\nb\n", "1:a\n5:b\n");
	assert_renders("\n\n", "");
	assert_renders("", "");
	assert_renders("\n\na,b\n\n", "3:a|b\n");
}

static void test_final_line_without_newline(void **state)
{
	(void)state;
	assert_renders("a,b\nc,d", "1:a|b\n2:c|d\n");
	assert_renders("a,b\nc,", "1:a|b\n2:c|\n");
	assert_renders("a,\"b\"", "1:a|b\n");
	assert_renders("x", "1:x\n");
}

static void test_missing_cells(void **state)
{
	(void)state;
	assert_true(csv_is_missing(""));
	assert_true(csv_is_missing("NA"));
	assert_true(csv_is_missing(NULL));
	assert_false(csv_is_missing("na"));
	assert_false(csv_is_missing(" "));
	assert_false(csv_is_missing("NaN"));
	assert_false(csv_is_missing("N/A"));
	assert_false(csv_is_missing("NAN"));
	assert_false(csv_is_missing("0"));
}

static void test_unterminated_quote(void **state)
{
	(void)state;
	const char *c = "a,b\nc,\"open\nmore\nrest\n";
	assert_fails(c, strlen(c), 0, 0, "line 2, column 2",
		     "unterminated quoted field", "opens on line 2", NULL);
	c = "\"";
	assert_fails(c, strlen(c), 0, 0, "line 1, column 1", "unterminated", NULL);
}

static void test_text_after_quote(void **state)
{
	(void)state;
	const char *c = "a,b\n\"x\"y,z\n";
	assert_fails(c, strlen(c), 0, 0, "line 2, column 1",
		     "text after the closing quote", NULL);
	c = "a,\"x\" \n";
	assert_fails(c, strlen(c), 0, 0, "line 1, column 2",
		     "text after the closing quote", NULL);
}

static void test_nul_byte(void **state)
{
	(void)state;
	assert_fails("a,b\nc,d\0e\n", 10, 0, 0, "line 2, column 2", "NUL", NULL);
	assert_fails("\"a\0\"\n", 5, 0, 0, "line 1, column 1", "NUL", NULL);
	assert_fails("\"a\"\0\n", 5, 0, 0, "line 1, column 1", "NUL", NULL);
}

static void test_field_cap(void **state)
{
	(void)state;
	struct err e = {0};
	const char *path = write_str("cap.csv", "12345678,x\n\"1234\"\"678\"\n");
	char *got = render(path, 3, 8, 0, &e);
	assert_non_null(got);
	assert_string_equal(got, "1:12345678|x\n2:1234\"678\n");
	free(got);
	const char *c = "ok\n123456789,x\n";
	assert_fails(c, strlen(c), 8, 0, "line 2, column 1",
		     "field longer than the limit of 8 bytes", NULL);
	c = "ok,\"12345\"\"6789\"\n";
	assert_fails(c, strlen(c), 8, 0, "line 1, column 2", "field longer", NULL);
	/* an endless unquoted field is refused at the limit, not at EOF */
	c = "a,\"abcdefghijklmnopqrstuvwxyz";
	assert_fails(c, strlen(c), 8, 0, "column 2", "field longer", NULL);
}

static void test_record_cap(void **state)
{
	(void)state;
	struct err e = {0};
	const char *path = write_str("rcap.csv", "aaaa,bbbb,cccc\n");
	char *got = render(path, 2, 0, 14, &e);
	assert_non_null(got);
	free(got);
	const char *c = "x\naaaa,bbbb,cccc,d\n";
	assert_fails(c, strlen(c), 0, 14, "line 2", "record longer than the limit of 14 bytes",
		     NULL);
	c = "\"a\nb\nc\nd\ne\nf\ng\nh\",x\n";
	assert_fails(c, strlen(c), 0, 10, "line 1", "record longer", NULL);
}

static void test_sticky_error(void **state)
{
	(void)state;
	const char *path = write_str("sticky.csv", "a\n\"x\"y\nb\n");
	struct err e = {0};
	struct csv_reader *r = csv_reader_open(path, &e);
	assert_non_null(r);
	struct csv_record rec;
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(csv_reader_next(r, &rec, &e), -1);
	char first[ERR_MSG_MAX];
	strcpy(first, e.msg);
	err_clear(&e);
	assert_int_equal(csv_reader_next(r, &rec, &e), -1);
	assert_string_equal(e.msg, first);
	assert_int_equal(csv_reader_next(r, &rec, NULL), -1);
	csv_reader_close(r);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct err e = {0};
	char path[600];
	snprintf(path, sizeof path, "%s/no-such.csv", tmpdir);
	assert_null(csv_reader_open(path, &e));
	assert_int_equal(e.code, EXIT_INPUT);
	assert_non_null(strstr(e.msg, path));
	assert_non_null(strstr(e.msg, "No such file"));
	assert_null(csv_reader_open(tmpdir, &e));
	assert_non_null(strstr(e.msg, "is a directory"));
	csv_reader_close(NULL);
}

static void test_from_stream(void **state)
{
	(void)state;
	char text[] = "h1,h2\n\"v,1\",2\n";
	FILE *f = fmemopen(text, strlen(text), "r");
	assert_non_null(f);
	struct err e = {0};
	struct csv_reader *r = csv_reader_from_stream(f, "memory", &e);
	assert_non_null(r);
	assert_string_equal(csv_reader_name(r), "memory");
	struct csv_record rec;
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	assert_int_equal(rec.n, 2);
	assert_string_equal(rec.fields[0], "v,1");
	assert_int_equal(csv_reader_next(r, &rec, &e), 0);
	assert_int_equal(csv_reader_offset(r), strlen(text));
	csv_reader_close(r);
	/* the stream is still the caller's */
	assert_int_equal(fclose(f), 0);
}

/* Records much larger than the block: the buffer grows and nothing is lost. */
static void test_records_larger_than_block(void **state)
{
	(void)state;
	const size_t big = 3 * CSV_BLOCK + 12345;
	size_t cap = 3 * big;
	char *data = malloc(cap);
	assert_non_null(data);
	size_t n = 0;
	n += (size_t)sprintf(data + n, "id,text,tail\n1,\"");
	for (size_t i = 0; i < big; i++)
		data[n++] = i % 1000 == 999 ? '\n' : i % 500 == 7 ? '"' : 'a' + i % 26;
	/* every '"' above must be doubled: rewrite them */
	size_t start = strlen("id,text,tail\n1,\"");
	char *esc = malloc(cap);
	assert_non_null(esc);
	size_t m = 0;
	memcpy(esc, data, start);
	m = start;
	for (size_t i = start; i < n; i++) {
		esc[m++] = data[i];
		if (data[i] == '"')
			esc[m++] = '"';
	}
	m += (size_t)sprintf(esc + m, "\",end\n2,");
	for (size_t i = 0; i < big; i++)
		esc[m++] = 'z';
	m += (size_t)sprintf(esc + m, ",last");
	const char *path = write_file("big.csv", esc, m);

	const size_t blocks[] = {0, 4096, 65536 + 3};
	for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
		struct err e = {0};
		struct csv_reader *r = csv_reader_open(path, &e);
		assert_non_null(r);
		if (blocks[k])
			csv_reader_set_block_size(r, blocks[k]);
		csv_reader_set_limits(r, 4 * CSV_BLOCK, 16 * CSV_BLOCK);
		struct csv_record rec;
		assert_int_equal(csv_reader_next(r, &rec, &e), 1);
		assert_int_equal(csv_reader_next(r, &rec, &e), 1);
		assert_int_equal(rec.n, 3);
		assert_int_equal(rec.line, 2);
		assert_string_equal(rec.fields[0], "1");
		assert_int_equal(strlen(rec.fields[1]), big);
		assert_memory_equal(rec.fields[1], data + start, big);
		assert_string_equal(rec.fields[2], "end");
		assert_int_equal(csv_reader_next(r, &rec, &e), 1);
		assert_int_equal(rec.line, 3 + big / 1000);
		assert_int_equal(strlen(rec.fields[1]), big);
		assert_string_equal(rec.fields[2], "last");
		assert_int_equal(csv_reader_next(r, &rec, &e), 0);
		csv_reader_close(r);
	}
	/* with the default limits the 3 MiB field is refused by name */
	struct err e = {0};
	char *got = render(path, 0, 0, 0, &e);
	assert_null(got);
	assert_non_null(strstr(e.msg, "line 2, column 2: field longer"));
	free(esc);
	free(data);
}

/* Many ordinary records: the block boundary falls everywhere. */
static void test_many_records(void **state)
{
	(void)state;
	char path[600];
	snprintf(path, sizeof path, "%s/many.csv", tmpdir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	const size_t rows = 200000;
	fputs("id,name,note\r\n", f);
	for (size_t i = 0; i < rows; i++)
		fprintf(f, "%zu,\"n%zu\",\"a \"\"q\"\" %zu\"\r\n", i, i, i % 7);
	assert_int_equal(fclose(f), 0);
	struct err e = {0};
	struct csv_reader *r = csv_reader_open(path, &e);
	assert_non_null(r);
	struct csv_record rec;
	assert_int_equal(csv_reader_next(r, &rec, &e), 1);
	for (size_t i = 0; i < rows; i++) {
		char want[64];
		assert_int_equal(csv_reader_next(r, &rec, &e), 1);
		assert_int_equal(rec.n, 3);
		assert_int_equal(rec.line, i + 2);
		assert_int_equal(strtoul(rec.fields[0], NULL, 10), i);
		snprintf(want, sizeof want, "a \"q\" %zu", i % 7);
		assert_string_equal(rec.fields[2], want);
	}
	assert_int_equal(csv_reader_next(r, &rec, &e), 0);
	csv_reader_close(r);
}

static char *write_rows(const char *const *cells, size_t rows, size_t cols)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	assert_non_null(m);
	for (size_t i = 0; i < rows; i++)
		csv_write_row(m, cells + i * cols, cols);
	assert_int_equal(fclose(m), 0);
	return out;
}

static void test_writer_quoting(void **state)
{
	(void)state;
	const char *row[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r",
			     " lead", "trail ", "", "NA", "x\"", "\357\273\277bom",
			     "in side", "tab\t"};
	char *text = write_rows(row, 1, sizeof row / sizeof *row);
	assert_string_equal(text,
			    "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\","
			    "\" lead\",\"trail \",,NA,\"x\"\"\",\"\xEF\xBB\xBF" "bom\","
			    "in side,\"tab\t\"\n");
	free(text);
	const char *one[] = {""};
	text = write_rows(one, 1, 1);
	assert_string_equal(text, "\"\"\n");
	free(text);
}

static void test_writer_round_trip(void **state)
{
	(void)state;
	const char *cells[] = {
		"\357\273\277first", "a,b", "\"", "", "x",
		"", "", "", "", "",
		"multi\r\nline\n", "\"\"\"", " ", ",", "NA",
		"é ü", "trailing,", "\r", "\n", "end",
	};
	const size_t cols = 5, rows = sizeof cells / sizeof *cells / cols;
	char *text = write_rows(cells, rows, cols);
	const char *path = write_str("round.csv", text);
	free(text);
	const size_t blocks[] = {0, 1, 3};
	for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
		struct err e = {0};
		struct csv_reader *r = csv_reader_open(path, &e);
		assert_non_null(r);
		if (blocks[k])
			csv_reader_set_block_size(r, blocks[k]);
		struct csv_record rec;
		for (size_t i = 0; i < rows; i++) {
			assert_int_equal(csv_reader_next(r, &rec, &e), 1);
			assert_int_equal(rec.n, cols);
			for (size_t j = 0; j < cols; j++)
				assert_string_equal(rec.fields[j], cells[i * cols + j]);
		}
		assert_int_equal(csv_reader_next(r, &rec, &e), 0);
		csv_reader_close(r);
	}
	/* single-column rows with empty cells survive too */
	const char *single[] = {"a", "", "NA", "", "b"};
	text = write_rows(single, 5, 1);
	path = write_str("single.csv", text);
	free(text);
	struct err e = {0};
	char *got = render(path, 0, 0, 0, &e);
	assert_string_equal(got, "1:a\n2:\n3:NA\n4:\n5:b\n");
	free(got);
}

static void test_num_parse(void **state)
{
	(void)state;
	struct {
		const char *s;
		double v;
	} ok[] = {
		{"0", 0},          {"42", 42},          {"-7", -7},
		{"+3.5", 3.5},     {"29.85", 29.85},    {"1889.5", 1889.5},
		{".5", 0.5},       {"5.", 5},           {"1e3", 1000},
		{"1E-3", 1e-3},    {"2.5e+2", 250},     {"  12 ", 12},
		{"\t-0.25\t", -0.25},
		{"0.1", 0.1},      {"0.3", 0.3},        {"123456789012345678901234567890", 1.2345678901234568e29},
		{"9007199254740993", 9007199254740992.0}, /* ties to even */
		{"0.000000000000000000000000000001", 1e-30},
		{"1.7976931348623157e308", 1.7976931348623157e308},
		{"4.9e-324", 4.9e-324},
		{"1e-400", 0},
		{"00012", 12},
		{"3.14159265358979323846264338327950288", 3.141592653589793},
		{"2.2250738585072011e-308", 2.2250738585072011e-308},
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		double v = -12345;
		if (!num_parse(ok[i].s, &v))
			fail_msg("'%s' rejected", ok[i].s);
		if (v != ok[i].v)
			fail_msg("'%s' -> %.17g, want %.17g", ok[i].s, v, ok[i].v);
		assert_true(v == strtod(ok[i].s, NULL));
	}
	double z = 1;
	assert_true(num_parse("-0", &z));
	assert_true(z == 0 && signbit(z));

	const char *bad[] = {"", " ", "abc", "1,5", "1.2.3", "0x10", "0X1p3", "inf",
			     "-inf", "Infinity", "nan", "NaN", "NA", "1e", "1e+", "e5",
			     ".", "-", "+", "1 2", "12abc", "1e999", "-1e400", "--1",
			     "1_000", "١٢", "1\n", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		double v = 99;
		if (num_parse(bad[i], &v))
			fail_msg("'%s' accepted as %.17g", bad[i] ? bad[i] : "(null)", v);
		assert_true(v == 99);
	}
}

/* A program may call setlocale(LC_ALL, "") in a locale whose decimal point
 * is a comma; cells are still read with a point. */
static void test_num_parse_locale(void **state)
{
	(void)state;
	const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "de_DE"};
	bool set = false;
	for (size_t i = 0; i < sizeof names / sizeof *names && !set; i++)
		set = setlocale(LC_ALL, names[i]) != NULL;
	if (!set) {
		/* Build one: the locale sources ship with libc-bin. */
		char dir[600], cmd[1400];
		snprintf(dir, sizeof dir, "%s/locales", tmpdir);
		snprintf(cmd, sizeof cmd,
			 "mkdir -p '%s' && localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
			 dir, dir);
		if (system(cmd) == 0) {
			setenv("LOCPATH", dir, 1);
			set = setlocale(LC_ALL, "de_DE.UTF-8") != NULL;
		}
	}
	if (!set)
		skip();
	assert_string_equal(localeconv()->decimal_point, ",");
	double v = 0;
	assert_true(num_parse("29.85", &v));
	assert_true(v == 29.85);
	assert_true(num_parse("1.5e300", &v)); /* the strtod path */
	assert_true(v == 1.5e300);
	assert_true(num_parse("3.14159265358979323846", &v));
	assert_true(v == 3.141592653589793);
	assert_false(num_parse("29,85", &v));
	setlocale(LC_ALL, "C");
	unsetenv("LOCPATH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quotes_and_escapes),
		cmocka_unit_test(test_embedded_newlines),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_final_line_without_newline),
		cmocka_unit_test(test_missing_cells),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_text_after_quote),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_field_cap),
		cmocka_unit_test(test_record_cap),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_from_stream),
		cmocka_unit_test(test_records_larger_than_block),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_writer_quoting),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_num_parse),
		cmocka_unit_test(test_num_parse_locale),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
