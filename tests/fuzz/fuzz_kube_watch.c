/* Fuzz target for core/kube's watch stream parser (kube_watch_stream_*):
 * the line-delimited JSON events of a watch answer.
 *
 * Each input is fed twice: whole, and in pieces of random sizes (1 byte up
 * to a few hundred, from a generator seeded by the input) as a network
 * delivers them. Both must give the callback the same events in the same
 * order, stop at the same point with the same verdict, 410 flag, error
 * message and resourceVersion. Objects carrying "stop" end the watch
 * (KUBE_WATCH_STOP) and objects carrying "fail" fail it, so those paths run
 * too. Error messages must be free of control bytes a terminal acts on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_kube_watch: %s\n", what);
		abort();
	}
}

struct seen {
	uint64_t hash; /* FNV-1a of every event's type and printed object */
	size_t events;
};

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull;
}

static int on_event(const char *type, const cJSON *obj, void *arg, struct err *e)
{
	struct seen *s = arg;
	check(type != NULL && obj != NULL && cJSON_IsObject(obj), "an event without type or object");
	check(strcmp(type, "ERROR") != 0 && strcmp(type, "BOOKMARK") != 0,
	      "an ERROR or BOOKMARK reached the callback");
	char *text = cJSON_PrintUnformatted(obj);
	check(text != NULL, "print");
	s->hash = fnv(fnv(s->hash, type), text);
	s->events++;
	free(text);
	if (cJSON_GetObjectItemCaseSensitive(obj, "stop"))
		return KUBE_WATCH_STOP;
	if (cJSON_GetObjectItemCaseSensitive(obj, "fail"))
		return err_set(e, EXIT_CHECK, "failed on request");
	return 0;
}

struct outcome {
	struct seen seen;
	bool ok;
	int verdict;
	bool gone;
	char rv[128];
	struct err e;
};

static uint64_t rng;

static size_t next_piece(size_t left)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	size_t n = 1 + (size_t)(rng % ((rng >> 32) % 4 == 0 ? 300 : 8));
	return n < left ? n : left;
}

static void run(const uint8_t *data, size_t size, bool pieces, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	struct kube_watch_stream *s = kube_watch_stream_create(on_event, &o->seen);
	check(s != NULL, "create");
	check(kube_watch_stream_version(s)[0] == '\0', "a version before any event");
	o->ok = true;
	size_t at = 0;
	while (at < size && o->ok) {
		size_t n = pieces ? next_piece(size - at) : size - at;
		/* A private copy: the parser must not read past the piece. */
		char *piece = malloc(n);
		check(piece != NULL, "malloc");
		memcpy(piece, data + at, n);
		o->ok = kube_watch_stream_feed(s, piece, n, &o->e);
		free(piece);
		at += n;
	}
	if (o->ok)
		o->ok = kube_watch_stream_feed(s, "", 0, &o->e); /* an empty read */
	o->verdict = kube_watch_stream_verdict(s);
	o->gone = kube_watch_stream_gone(s);
	const char *rv = kube_watch_stream_version(s);
	check(strlen(rv) < sizeof o->rv, "a version longer than its buffer");
	snprintf(o->rv, sizeof o->rv, "%s", rv);
	kube_watch_stream_destroy(s);
	if (!o->ok) {
		check(o->verdict || o->gone || o->e.msg[0], "a stop without a reason");
		for (const char *p = o->e.msg; *p; p++)
			check((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "a control byte from the server reached the message");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	run(data, size, false, &whole);
	rng = 0x2545F4914F6CDD1Dull ^ (uint64_t)size;
	for (size_t i = 0; i < size && i < 64; i++)
		rng = (rng ^ data[i]) * 1099511628211ull;
	if (!rng)
		rng = 1;
	run(data, size, true, &split);
	check(whole.ok == split.ok, "pieces change whether the stream stops");
	check(whole.seen.events == split.seen.events && whole.seen.hash == split.seen.hash,
	      "pieces change the events");
	check(whole.verdict == split.verdict && whole.gone == split.gone,
	      "pieces change the verdict");
	check(strcmp(whole.rv, split.rv) == 0, "pieces change the resourceVersion");
	check(strcmp(whole.e.msg, split.e.msg) == 0, "pieces change the error");
	return 0;
}
