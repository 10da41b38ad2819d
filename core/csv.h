/* csv: a streaming RFC 4180 reader and writer.
 *
 * The reader pulls large blocks (CSV_BLOCK bytes) from a stream and splits
 * records in place: a field is a pointer into the reader's buffer, NUL-
 * terminated where its delimiter was, so reading a well-formed file costs no
 * allocation per field or per record. Quoted fields are unescaped in place
 * ("" becomes "), which only ever shortens them. A record that runs past the
 * end of the buffer is moved to the front and the buffer grows, up to the
 * record limit, so records larger than a block are read whole.
 *
 * Everything the reader holds is bounded when it is created: a field may not
 * exceed max_field bytes and a record max_record bytes (both after the
 * defaults below, changeable with csv_reader_set_limits()).
 *
 * Errors name the source, the physical line and the 1-based field number:
 * "data.csv: line 12, column 6: unterminated quoted field (its quote opens
 * on line 12)".
 */
#ifndef CHURNOPS_CSV_H
#define CHURNOPS_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

#define CSV_MAX_FIELD_DEFAULT (1u << 20)  /* 1 MiB */
#define CSV_MAX_RECORD_DEFAULT (8u << 20) /* 8 MiB */
#define CSV_BLOCK (1u << 20)              /* bytes asked of the stream per read */

struct csv_record {
	char **fields; /* NUL-terminated, valid until the next csv_reader_next() */
	size_t n;
	size_t line;   /* 1-based physical line where the record starts */
};

struct csv_reader;

/* Opens PATH for reading; "-" reads standard input. The name used in
 * messages is the path ("standard input" for "-"). The reader owns the
 * file it opened and closes it in csv_reader_close(). Files are read with
 * read(2), standard input too (descriptor 0, never closed): anything stdio
 * has already buffered from stdin is not seen. Returns NULL with E set
 * (EXIT_INPUT, "PATH: No such file or directory") on failure. */
struct csv_reader *csv_reader_open(const char *path, struct err *e);

/* Reads from an already-open stream F; the caller keeps ownership of F, which
 * must outlive the reader and is not closed by it. NAME (copied) names the
 * input in messages. */
struct csv_reader *csv_reader_from_stream(FILE *f, const char *name,
					  struct err *e);

/* Sets the field and record limits, in bytes (0 keeps the current value).
 * A field is measured after unescaping, a record as the raw bytes from its
 * first character to its line end. Call before the first csv_reader_next(). */
void csv_reader_set_limits(struct csv_reader *r, size_t max_field,
			   size_t max_record);

/* Reads the next record into REC. Returns 1 for a record, 0 at the end of
 * the input, -1 on error (E set to EXIT_INPUT, "NAME: line L, column C: ...").
 *
 * Handles RFC 4180 quotes, "" escapes, CR and LF inside quotes, CRLF, LF and
 * lone-CR line ends, a UTF-8 byte order mark at the very start, and a final
 * line without a line end. A physical line with nothing on it is skipped (a
 * record with one empty field is written as ""). A quote inside an unquoted
 * field is kept as a literal character.
 *
 * Errors: an unterminated quoted field (naming the line where it opened),
 * text after a closing quote, a field over max_field, a record over
 * max_record, a NUL byte, a read error. After an error the reader is spent:
 * every later call returns -1 with the same message.
 *
 * REC's pointers belong to the reader and stay valid until the next call to
 * csv_reader_next() or csv_reader_close(); the fields may be modified in
 * place (e.g. trimmed) but not past their terminating NUL. */
int csv_reader_next(struct csv_reader *r, struct csv_record *rec,
		    struct err *e);

/* The name given at creation; valid as long as the reader. */
const char *csv_reader_name(const struct csv_reader *r);

/* Sets how many bytes each read asks of the stream (default CSV_BLOCK; at
 * least 1). Only tests and fuzz targets need this: a tiny block makes every
 * record cross a buffer boundary. Call before the first csv_reader_next(). */
void csv_reader_set_block_size(struct csv_reader *r, size_t block);

/* Input bytes consumed so far, through the end of the last record returned
 * (the byte order mark included), for progress reports. */
size_t csv_reader_offset(const struct csv_reader *r);

/* Frees the reader and closes the stream if csv_reader_open() opened it
 * (never standard input). NULL is fine. */
void csv_reader_close(struct csv_reader *r);

/* True for a missing cell: "" or "NA". */
bool csv_is_missing(const char *cell);

/* Writes one cell to F, quoted (RFC 4180, " doubled) only when it must be:
 * when it holds , " CR or LF, starts or ends with a space or tab, or starts
 * with a UTF-8 byte order mark. NULL writes an empty cell. Write errors are
 * left on F for the caller's ferror()/fflush() check. */
void csv_write_cell(FILE *f, const char *s);

/* Writes N cells separated by ',' and a '\n'. A row of one empty cell is
 * written as "" so that it is not read back as a blank line. */
void csv_write_row(FILE *f, const char *const *cells, size_t n);

#endif
