/* err: the error convention of core/.
 *
 * core/ never prints and never exits. A function that can fail takes a
 * `struct err *` as its last argument, returns 0 on success and, on failure,
 * returns one of the exit codes below and fills the message. The caller owns
 * the struct (usually on its stack); a NULL err is allowed and simply drops
 * the message.
 */
#ifndef CHURNOPS_ERR_H
#define CHURNOPS_ERR_H

#include <stddef.h>

/* Exit codes, shared by every subcommand (DESIGN.md). */
enum {
	EXIT_OK = 0,
	EXIT_CHECK = 1,   /* a check failed, an action was refused or failed */
	EXIT_INPUT = 2,   /* bad usage or bad input */
	EXIT_BACKEND = 3, /* a backend was unreachable or answered an error */
};

#define ERR_MSG_MAX 1024

struct err {
	int code;
	char msg[ERR_MSG_MAX];
};

/* Sets code and message (printf-style); returns code so callers can
 * `return err_set(e, EXIT_INPUT, "...")`. */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends "PREFIX: " to the message already set; returns the code. */
int err_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets code and a message ending in ": strerror(errnum)". */
int err_errno(struct err *e, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void err_clear(struct err *e);

#endif
