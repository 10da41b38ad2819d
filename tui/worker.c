#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct queued {
	struct worker_job *job;
	struct queued *next;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t exited; /* signalled as each thread ends */
	int alive;             /* threads not yet ended */
	struct queued *head, *tail;
	bool stopping;
	pthread_t threads[16];
	int nthreads;
	int pipe_r, pipe_w;
	atomic_size_t busy;
	atomic_size_t background; /* of busy, the background jobs */
};

static void count_in(struct worker_pool *p, const struct worker_job *j)
{
	atomic_fetch_add(&p->busy, 1);
	if (j->background)
		atomic_fetch_add(&p->background, 1);
}

static void count_out(struct worker_pool *p, const struct worker_job *j)
{
	if (j->background)
		atomic_fetch_sub(&p->background, 1);
	atomic_fetch_sub(&p->busy, 1);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *up)
{
	struct worker_pool *p = up;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stopping) {
			p->alive--;
			pthread_cond_broadcast(&p->exited);
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		struct queued *q = p->head;
		p->head = q->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		struct worker_job *j = q->job;
		free(q);
		double t0 = now_seconds();
		err_clear(&j->err);
		j->result = j->run(j->arg, &j->err);
		j->seconds = now_seconds() - t0;
		if (j->free_arg)
			j->free_arg(j->arg);
		j->arg = NULL;
		/* A pointer is far below PIPE_BUF, so the write is atomic. */
		ssize_t w;
		do
			w = write(p->pipe_w, &j, sizeof j);
		while (w < 0 && errno == EINTR);
		if (w != (ssize_t)sizeof j) {
			count_out(p, j);
			worker_job_destroy(j);
		}
	}
}

struct worker_pool *worker_pool_create(int nthreads, struct err *e)
{
	if (nthreads < 1 || nthreads > 16) {
		err_set(e, EXIT_INPUT, "worker pool: %d threads (1..16)", nthreads);
		return NULL;
	}
	struct worker_pool *p = calloc(1, sizeof *p);
	if (!p) {
		err_set(e, EXIT_INPUT, "out of memory");
		return NULL;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		err_errno(e, EXIT_INPUT, errno, "worker pool: pipe");
		free(p);
		return NULL;
	}
	p->pipe_r = fds[0];
	p->pipe_w = fds[1];
	fcntl(p->pipe_r, F_SETFL, O_NONBLOCK);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->exited, NULL);
	atomic_init(&p->busy, 0);
	atomic_init(&p->background, 0);
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_lock(&p->lock);
		p->alive++;
		pthread_mutex_unlock(&p->lock);
		int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
		if (rc) {
			pthread_mutex_lock(&p->lock);
			p->alive--;
			pthread_mutex_unlock(&p->lock);
			err_errno(e, EXIT_INPUT, rc, "worker pool: starting thread %d", i + 1);
			worker_pool_destroy(p);
			return NULL;
		}
		p->nthreads++;
	}
	return p;
}

bool worker_pool_destroy_within(struct worker_pool *p, int timeout_ms)
{
	if (!p)
		return true;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	struct queued *q = p->head;
	p->head = p->tail = NULL;
	pthread_cond_broadcast(&p->cond);
	int rc = 0;
	while (p->alive > 0 && rc != ETIMEDOUT)
		rc = timeout_ms < 0 ? pthread_cond_wait(&p->exited, &p->lock)
				    : pthread_cond_timedwait(&p->exited, &p->lock, &deadline);
	bool all_ended = p->alive == 0;
	pthread_mutex_unlock(&p->lock);
	while (q) {
		struct queued *next = q->next;
		if (q->job->free_arg)
			q->job->free_arg(q->job->arg);
		free(q->job);
		free(q);
		q = next;
	}
	/* Finished jobs nobody will take: their results are nobody's. */
	struct worker_job *j;
	while ((j = worker_pool_take(p)))
		worker_job_destroy(j);
	if (!all_ended)
		return false;
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = worker_pool_take(p)))
		worker_job_destroy(j);
	close(p->pipe_r);
	close(p->pipe_w);
	pthread_cond_destroy(&p->exited);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return true;
}

void worker_pool_destroy(struct worker_pool *p)
{
	worker_pool_destroy_within(p, -1);
}

int worker_pool_submit(struct worker_pool *p, const struct worker_job *job,
		       struct err *e)
{
	struct worker_job *j = malloc(sizeof *j);
	struct queued *q = malloc(sizeof *q);
	if (!j || !q) {
		free(j);
		free(q);
		if (job->free_arg)
			job->free_arg(job->arg);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	*j = *job;
	j->result = NULL;
	err_clear(&j->err);
	j->seconds = 0;
	q->job = j;
	q->next = NULL;
	count_in(p, j);
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = q;
	else
		p->head = q;
	p->tail = q;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int worker_pool_post(struct worker_pool *p, const struct worker_job *msg,
		     struct err *e)
{
	struct worker_job *j = malloc(sizeof *j);
	if (!j) {
		if (msg->result && msg->free_result)
			msg->free_result(msg->result);
		return err_set(e, EXIT_INPUT, "out of memory");
	}
	*j = *msg;
	j->run = NULL;
	j->arg = NULL;
	j->free_arg = NULL;
	err_clear(&j->err);
	count_in(p, j);
	ssize_t w;
	do
		w = write(p->pipe_w, &j, sizeof j);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof j) {
		count_out(p, j);
		worker_job_destroy(j);
		return err_set(e, EXIT_INPUT, "worker pool: pipe write failed");
	}
	return 0;
}

int worker_pool_fd(const struct worker_pool *p)
{
	return p->pipe_r;
}

struct worker_job *worker_pool_take(struct worker_pool *p)
{
	struct worker_job *j;
	ssize_t r;
	do
		r = read(p->pipe_r, &j, sizeof j);
	while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof j)
		return NULL;
	count_out(p, j);
	return j;
}

size_t worker_pool_busy(const struct worker_pool *p)
{
	return atomic_load(&((struct worker_pool *)p)->busy);
}

size_t worker_pool_busy_foreground(const struct worker_pool *p)
{
	struct worker_pool *q = (struct worker_pool *)p;
	size_t busy = atomic_load(&q->busy), bg = atomic_load(&q->background);
	return busy > bg ? busy - bg : 0;
}

void worker_job_destroy(struct worker_job *j)
{
	if (!j)
		return;
	if (j->result && j->free_result)
		j->free_result(j->result);
	free(j);
}
