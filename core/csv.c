#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct csv_reader {
	FILE *f;       /* the caller's stream (csv_reader_from_stream) */
	int fd;        /* or a descriptor: ours (csv_reader_open), or stdin */
	bool owns_fd;
	char *name;

	/* buf[pos, len) is unread input; buf[len] is always '\0', a sentinel
	 * that stops every scanning loop at the end of the data. */
	char *buf;
	size_t cap; /* allocated bytes, including the sentinel */
	size_t len;
	size_t pos;
	size_t consumed; /* bytes dropped from the front of buf so far */
	size_t block;
	bool eof;
	bool started;    /* the byte order mark has been looked for */
	bool pending_cr; /* the last line ended in CR: an LF next belongs to it */
	size_t line;     /* physical line at pos */

	size_t max_field;
	size_t max_record;

	/* Field starts of the record being read, as offsets from its first
	 * byte (so they survive the buffer moving), then as pointers. */
	size_t *off;
	char **fields;
	size_t fcap;

	bool failed;
	struct err saved;
};

/* Bytes that end an unquoted field's fast scan: delimiters, line ends, and
 * NUL (a real NUL byte, or the sentinel at the end of the data). */
static const unsigned char plain_stop[256] = {
	['\0'] = 1, [','] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Bytes that end a quoted field's fast scan: LF is counted for line numbers. */
static const unsigned char quoted_stop[256] = {
	['\0'] = 1, ['"'] = 1, ['\n'] = 1,
};

static struct csv_reader *reader_new(const char *name, struct err *e)
{
	struct csv_reader *r = calloc(1, sizeof *r);
	if (!r) {
		err_set(e, EXIT_INPUT, "%s: out of memory", name);
		return NULL;
	}
	r->name = strdup(name);
	if (!r->name) {
		free(r);
		err_set(e, EXIT_INPUT, "%s: out of memory", name);
		return NULL;
	}
	r->fd = -1;
	r->block = CSV_BLOCK;
	r->line = 1;
	r->max_field = CSV_MAX_FIELD_DEFAULT;
	r->max_record = CSV_MAX_RECORD_DEFAULT;
	return r;
}

struct csv_reader *csv_reader_open(const char *path, struct err *e)
{
	bool is_stdin = strcmp(path, "-") == 0;
	struct csv_reader *r = reader_new(is_stdin ? "standard input" : path, e);
	if (!r)
		return NULL;
	if (is_stdin) {
		r->fd = STDIN_FILENO;
		return r;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err_errno(e, EXIT_INPUT, errno, "%s", path);
		csv_reader_close(r);
		return NULL;
	}
	r->owns_fd = true;
	struct stat st;
	if (fstat(r->fd, &st) != 0)
		return r; /* read() will tell what is wrong */
	if (S_ISDIR(st.st_mode)) {
		err_set(e, EXIT_INPUT, "%s: is a directory", path);
		csv_reader_close(r);
		return NULL;
	}
	/* A small file needs no megabyte of buffer (should it grow while
	 * being read, the buffer grows too). */
	if (S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size < CSV_BLOCK)
		r->block = st.st_size < 4096 ? 4096 : (size_t)st.st_size + 1;
	return r;
}

struct csv_reader *csv_reader_from_stream(FILE *f, const char *name,
					  struct err *e)
{
	struct csv_reader *r = reader_new(name, e);
	if (r)
		r->f = f;
	return r;
}

void csv_reader_set_limits(struct csv_reader *r, size_t max_field,
			   size_t max_record)
{
	if (max_field)
		r->max_field = max_field;
	if (max_record)
		r->max_record = max_record;
}

void csv_reader_set_block_size(struct csv_reader *r, size_t block)
{
	if (!r->buf)
		r->block = block ? block : 1;
}

const char *csv_reader_name(const struct csv_reader *r)
{
	return r->name;
}

size_t csv_reader_offset(const struct csv_reader *r)
{
	return r->consumed + r->pos;
}

void csv_reader_close(struct csv_reader *r)
{
	if (!r)
		return;
	if (r->owns_fd && r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r->off);
	free(r->fields);
	free(r->name);
	free(r);
}

/* Stops the reader: the message is kept so later calls repeat it. */
static int fail(struct csv_reader *r, struct err *e)
{
	r->failed = true;
	r->saved = *e;
	return -1;
}

static int fail_at(struct csv_reader *r, struct err *e, size_t line,
		   size_t col, const char *what)
{
	err_set(e, EXIT_INPUT, "%s: line %zu, column %zu: %s", r->name, line,
		col, what);
	return fail(r, e);
}

/* Moves the unread input to the front of the buffer, grows the buffer when
 * little room is left, and reads up to one block after it. Returns the
 * number of bytes read (0 at end of input, which sets eof) or -1 with E set.
 * Positions the caller holds must be relative to r->pos, which becomes 0. */
static long refill(struct csv_reader *r, struct err *e)
{
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->consumed += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	size_t room = r->buf ? r->cap - 1 - r->len : 0;
	if (!r->buf || room == 0 || room < r->block / 2) {
		size_t want = r->len + r->block + 1;
		size_t ncap = r->cap * 2 > want ? r->cap * 2 : want;
		if (ncap < want) { /* overflow */
			err_set(e, EXIT_INPUT, "%s: out of memory", r->name);
			return -1;
		}
		char *nb = realloc(r->buf, ncap);
		if (!nb) {
			err_set(e, EXIT_INPUT, "%s: out of memory", r->name);
			return -1;
		}
		r->buf = nb;
		r->cap = ncap;
		room = ncap - 1 - r->len;
	}
	if (room > r->block)
		room = r->block;
	size_t got;
	if (r->f) {
		got = fread(r->buf + r->len, 1, room, r->f);
		if (got == 0 && ferror(r->f)) {
			err_errno(e, EXIT_INPUT, errno ? errno : EIO, "%s: read",
				  r->name);
			return -1;
		}
	} else {
		ssize_t n;
		do
			n = read(r->fd, r->buf + r->len, room);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			err_errno(e, EXIT_INPUT, errno, "%s: read", r->name);
			return -1;
		}
		got = (size_t)n;
	}
	r->len += got;
	r->buf[r->len] = '\0';
	if (got == 0)
		r->eof = true;
	return (long)got;
}

static int grow_fields(struct csv_reader *r, struct err *e)
{
	size_t ncap = r->fcap ? r->fcap * 2 : 64;
	size_t *no = realloc(r->off, ncap * sizeof *no);
	if (!no)
		return err_set(e, EXIT_INPUT, "%s: out of memory", r->name);
	r->off = no;
	char **nfld = realloc(r->fields, ncap * sizeof *nfld);
	if (!nfld)
		return err_set(e, EXIT_INPUT, "%s: out of memory", r->name);
	r->fields = nfld;
	r->fcap = ncap;
	return 0;
}

static inline int push_field(struct csv_reader *r, size_t nf, size_t start,
			     struct err *e)
{
	if (nf == r->fcap && grow_fields(r, e))
		return EXIT_INPUT;
	r->off[nf] = start;
	return 0;
}

/* Skips blank lines and the rest of a CRLF. Returns 1 when a record starts
 * at r->pos, 0 at the end of the input, -1 on a read error. */
static int find_record(struct csv_reader *r, struct err *e)
{
	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				return 0;
			if (refill(r, e) < 0)
				return -1;
			continue;
		}
		char c = r->buf[r->pos];
		if (c == '\n') {
			if (!r->pending_cr)
				r->line++;
			r->pending_cr = false;
			r->pos++;
		} else if (c == '\r') {
			r->line++;
			r->pending_cr = true;
			r->pos++;
		} else {
			r->pending_cr = false;
			return 1;
		}
	}
}

/* One pass over the record's bytes, splitting in place: an unquoted field
 * is NUL-terminated where its delimiter was; a quoted one is unescaped
 * towards its start (w trails p by one byte per "" seen) and terminated
 * there. When the scan reaches the end of the data before the end of the
 * record, refill() moves the record to the front of the buffer and reads
 * more, and the scan resumes where it stopped: every position is kept
 * relative to the record's first byte for that reason, and the fields
 * become pointers only once the record is complete. */
int csv_reader_next(struct csv_reader *r, struct csv_record *rec,
		    struct err *e)
{
	struct err local;
	if (!e)
		e = &local;
	if (r->failed) {
		*e = r->saved;
		return -1;
	}
	if (!r->started) {
		while (r->len - r->pos < 3 && !r->eof)
			if (refill(r, e) < 0)
				return fail(r, e);
		if (r->len - r->pos >= 3 &&
		    memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
			r->pos += 3;
		r->started = true;
	}
	int found = find_record(r, e);
	if (found <= 0)
		return found < 0 ? fail(r, e) : 0;

	/* Positions below are relative to the record's first byte, base. */
	char *base = r->buf + r->pos;
	size_t avail = r->len - r->pos;
	size_t line = r->line;
	const size_t rec_line = line;
	size_t p = 0, nf = 0;
	size_t fline = line; /* where the current field starts */
	char c;

next_field:
	if (p == avail && !r->eof) {
		/* Whether the field is quoted is in the next block. */
		if (p > r->max_record)
			goto record_too_long;
		if (refill(r, e) < 0)
			return fail(r, e);
		base = r->buf;
		avail = r->len;
		goto next_field;
	}
	fline = line;
	if (base[p] == '"')
		goto quoted;
	{
		size_t fs = p;
		for (;;) {
			while (!plain_stop[(unsigned char)base[p]])
				p++;
			c = base[p];
			if (c != '\0' || (p == avail && r->eof))
				break;
			if (p < avail)
				return fail_at(r, e, line, nf + 1, "NUL byte in the data");
			if (p - fs > r->max_field)
				goto field_too_long;
			if (p > r->max_record)
				goto record_too_long;
			if (refill(r, e) < 0)
				return fail(r, e);
			base = r->buf;
			avail = r->len;
		}
		if (p - fs > r->max_field)
			goto field_too_long;
		if (push_field(r, nf, fs, e))
			return fail(r, e);
		nf++;
		base[p] = '\0';
		if (c == ',') {
			p++;
			goto next_field;
		}
		goto end_record;
	}

quoted:
	{
		const size_t qline = fline;
		size_t fs = ++p, w = p, seg = p;
		for (;;) {
			while (!quoted_stop[(unsigned char)base[p]])
				p++;
			c = base[p];
			if (c == '\n') {
				line++;
				p++;
				continue;
			}
			/* A quote at the very end of the data needs the next
			 * byte to tell an escape from a closing quote. */
			bool need_more = c == '\0' ? p == avail
						   : p + 1 == avail && !r->eof;
			if (c == '\0' && p < avail)
				return fail_at(r, e, line, nf + 1, "NUL byte in the data");
			if (c == '\0' && r->eof) {
				char what[96];
				snprintf(what, sizeof what,
					 "unterminated quoted field (its quote opens on line %zu)",
					 qline);
				return fail_at(r, e, qline, nf + 1, what);
			}
			if (need_more) {
				if ((w - fs) + (p - seg) > r->max_field)
					goto field_too_long;
				if (p > r->max_record)
					goto record_too_long;
				if (refill(r, e) < 0)
					return fail(r, e);
				base = r->buf;
				avail = r->len;
				continue;
			}
			/* c == '"' with its next byte in the buffer (or at EOF) */
			if (w != seg)
				memmove(base + w, base + seg, p - seg);
			w += p - seg;
			if (base[p + 1] == '"') {
				base[w++] = '"';
				p += 2;
				seg = p;
				continue;
			}
			break;
		}
		if (w - fs > r->max_field)
			goto field_too_long;
		base[w] = '\0';
		if (push_field(r, nf, fs, e))
			return fail(r, e);
		nf++;
		c = base[++p];
		if (c == ',') {
			p++;
			goto next_field;
		}
		if (c == '\n' || c == '\r' || (c == '\0' && p == avail))
			goto end_record;
		if (c == '\0')
			return fail_at(r, e, line, nf, "NUL byte in the data");
		return fail_at(r, e, line, nf, "text after the closing quote of a quoted field");
	}

end_record:
	if (p > r->max_record)
		goto record_too_long;
	if (c == '\n' || c == '\r') {
		line++;
		r->pending_cr = c == '\r';
		p++;
	}
	for (size_t i = 0; i < nf; i++)
		r->fields[i] = base + r->off[i];
	r->pos += p;
	r->line = line;
	rec->fields = r->fields;
	rec->n = nf;
	rec->line = rec_line;
	return 1;

field_too_long:
	{
		char what[96];
		snprintf(what, sizeof what, "field longer than the limit of %zu bytes",
			 r->max_field);
		return fail_at(r, e, fline, nf + 1, what);
	}
record_too_long:
	{
		char what[96];
		snprintf(what, sizeof what, "record longer than the limit of %zu bytes",
			 r->max_record);
		return fail_at(r, e, rec_line, nf + 1, what);
	}
}

bool csv_is_missing(const char *cell)
{
	return !cell || cell[0] == '\0' ||
	       (cell[0] == 'N' && cell[1] == 'A' && cell[2] == '\0');
}

static bool needs_quotes(const char *s, size_t n)
{
	if (n == 0)
		return false;
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return true;
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		return true;
	return strpbrk(s, ",\"\r\n") != NULL;
}

/* The writer uses the unlocked stdio calls: one thread writes one stream. */
void csv_write_cell(FILE *f, const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (!needs_quotes(s, n)) {
		fwrite_unlocked(s, 1, n, f);
		return;
	}
	putc_unlocked('"', f);
	for (const char *q; (q = strchr(s, '"')); s = q + 1) {
		fwrite_unlocked(s, 1, (size_t)(q - s) + 1, f);
		putc_unlocked('"', f);
	}
	fputs_unlocked(s, f);
	putc_unlocked('"', f);
}

void csv_write_row(FILE *f, const char *const *cells, size_t n)
{
	if (n == 1 && (!cells[0] || cells[0][0] == '\0')) {
		fputs_unlocked("\"\"\n", f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc_unlocked(',', f);
		csv_write_cell(f, cells[i]);
	}
	putc_unlocked('\n', f);
}
