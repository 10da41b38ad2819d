/* fileio: whole-file reads with a size cap, and output files that appear
 * whole or not at all.
 *
 * An output opened with fileio_out_open() is written to a temporary file in
 * the same directory and renamed over the destination by fileio_out_commit(),
 * so a failed run never leaves a half-written file behind. The path "-" means
 * standard output; a path naming a character device or FIFO (/dev/null, a
 * pipe) is written in place, since it cannot be renamed over.
 */
#ifndef CHURNOPS_FILEIO_H
#define CHURNOPS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* Reads the whole of PATH ("-" is standard input) into a NUL-terminated
 * buffer the caller frees. Fails with EXIT_INPUT if the file is larger than
 * MAX bytes. */
int fileio_read_all(const char *path, size_t max, char **buf, size_t *len,
		    struct err *e);

struct fileio_out {
	FILE *f;      /* write here */
	char *path;   /* destination */
	char *tmp;    /* temporary name, NULL when written in place */
	bool is_stdout;
};

int fileio_out_open(struct fileio_out *o, const char *path, struct err *e);

/* Flushes, fsyncs and renames into place. Closes the stream either way. */
int fileio_out_commit(struct fileio_out *o, struct err *e);

/* Closes and removes the temporary file; safe on a zeroed or committed
 * struct. */
void fileio_out_abort(struct fileio_out *o);

/* Writes TEXT to PATH through fileio_out. */
int fileio_write_all(const char *path, const char *text, size_t len,
		     struct err *e);

/* mkdir -p; existing directories are fine. */
int fileio_mkdirs(const char *path, struct err *e);

bool fileio_exists(const char *path);

#endif
