/* worker: a small thread pool whose results come back through a pipe.
 *
 * The UI thread never blocks on scoring, files or (later) the network: it
 * submits a job and goes back to its poll() loop, which watches
 * worker_pool_fd() next to the terminal. A worker runs the job's function,
 * which builds a new, immutable result (the snapshot), and writes a pointer
 * to the finished job into the pipe; the UI thread takes it with
 * worker_pool_take() and from then on owns the snapshot alone, so no lock
 * is ever held while drawing.
 *
 * Ownership: the pool owns ARG from worker_pool_submit() on and frees it with
 * FREE_ARG (after the job ran, or when the pool is destroyed before it ran).
 * The snapshot belongs to the finished job until the taker clears
 * job->result; worker_job_destroy() frees what is left with FREE_RESULT.
 */
#ifndef CHURNOPS_TUI_WORKER_H
#define CHURNOPS_TUI_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct worker_pool;

struct worker_job {
	/* Set by the submitter. */
	void *(*run)(void *arg, struct err *e); /* NULL result = failure (e set) */
	void (*free_arg)(void *arg);            /* NULL: nothing to free */
	void (*free_result)(void *result);      /* NULL: nothing to free */
	void *arg;
	void *owner;      /* who gets the result (a view) */
	int kind;         /* owner's job kind */
	unsigned long seq; /* owner's sequence number, to drop stale results */
	/* A refresh nobody asked for (polling a cluster): quitting neither
	 * asks about it nor counts it as work in progress. */
	bool background;
	/* Set by the worker. */
	void *result;
	struct err err;
	double seconds;   /* how long run() took */
};

/* Starts NTHREADS workers (1..16). */
struct worker_pool *worker_pool_create(int nthreads, struct err *e);

/* Stops the pool: queued jobs are dropped (their args freed), running ones
 * are waited for, finished ones not yet taken are destroyed. NULL ok. */
void worker_pool_destroy(struct worker_pool *p);

/* As worker_pool_destroy(), but waits at most TIMEOUT_MS (negative: for
 * ever) for running jobs. Returns false when one is still running: the
 * pool is then left alive (its threads keep their arguments and may still
 * post to the pipe), the caller must keep everything a job may touch, and
 * the process is expected to exit. A job stuck on a hung file or server
 * must not keep the user from quitting. */
bool worker_pool_destroy_within(struct worker_pool *p, int timeout_ms);

/* Queues a copy of JOB (its result fields are ignored). Returns 0, or
 * EXIT_INPUT when out of memory (then ARG has been freed). */
int worker_pool_submit(struct worker_pool *p, const struct worker_job *job,
		       struct err *e);

/* The descriptor that becomes readable when a job has finished. */
int worker_pool_fd(const struct worker_pool *p);

/* A finished job, or NULL when none is waiting; never blocks. The caller
 * owns it and frees it with worker_job_destroy(). */
struct worker_job *worker_pool_take(struct worker_pool *p);

/* Hands MSG (a copy: owner, kind, seq, result, free_result) to the UI
 * thread as if a job had finished: for progress reports from inside a
 * running job's function. Safe from any thread. */
int worker_pool_post(struct worker_pool *p, const struct worker_job *msg,
		     struct err *e);

/* Jobs submitted and not yet taken (queued, running or finished). */
size_t worker_pool_busy(const struct worker_pool *p);
/* As worker_pool_busy(), without background jobs. */
size_t worker_pool_busy_foreground(const struct worker_pool *p);

/* Frees the job, its remaining result and nothing else. NULL ok. */
void worker_job_destroy(struct worker_job *j);

#endif
