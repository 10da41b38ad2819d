/* A small stand-in for libFuzzer's main(), so fuzz targets build and run
 * under any compiler and its sanitizers.
 *
 *     fuzz_x [-max_total_time=N] [-runs=N] [-seed=N] [-max_len=N]
 *            [-artifact_prefix=P] DIR_OR_FILE...
 *
 * Every file named, and every regular file in every directory named, is
 * replayed once. Then, when a time or run limit is given, inputs made by
 * mutating the corpus (bit flips, byte inserts and deletes, bytes and tokens
 * that matter to CSV and JSON parsers, splices of two entries) are run until
 * the limit. The mutations come from a seeded generator, so a run is
 * reproducible; there is no coverage feedback, but a pool of recent mutants
 * lets mutations stack. A crash (sanitizer report or fatal signal) leaves the
 * input that caused it in ARTIFACT_PREFIX "crash-<hash>" for the corpus.
 *
 * Prints "fuzz: N runs in S s, corpus M" and exits 0 when nothing crashed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present when a sanitizer runtime is linked in, NULL otherwise. */
extern void __sanitizer_set_death_callback(void (*cb)(void))
	__attribute__((weak));

/* UBSan only prints by default; a fuzzer must stop at the first report.
 * Aborting (rather than exiting) also brings the report to our SIGABRT
 * handler, which saves the input: with ASan linked in, gcc's runtime does not
 * run the death callback for UBSan reports. */
const char *__ubsan_default_options(void);
__attribute__((used, visibility("default")))
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:abort_on_error=1:print_stacktrace=1";
}

struct input {
	uint8_t *data;
	size_t len;
};

struct pool {
	struct input *v;
	size_t n, cap;
};

static struct pool corpus;
static struct pool mutants; /* recent mutants, so mutations can stack */

/* The input being run, for the crash handlers. */
static const uint8_t *volatile cur_data;
static volatile size_t cur_len;
static const char *artifact_prefix = "";

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes the current input to "PREFIXcrash-HASH" using only async-signal-safe
 * calls; the name's hash is FNV-1a of the bytes. */
static void dump_current(void)
{
	const uint8_t *d = cur_data;
	size_t n = cur_len;
	if (!d && n)
		return;
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 1099511628211ull;
	char path[4096];
	size_t plen = strlen(artifact_prefix);
	if (plen > sizeof path - 64)
		plen = 0;
	memcpy(path, artifact_prefix, plen);
	memcpy(path + plen, "crash-", 6);
	plen += 6;
	for (int k = 15; k >= 0; k--)
		path[plen++] = "0123456789abcdef"[(h >> (k * 4)) & 15];
	path[plen] = '\0';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(fd, d + off, n - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		close(fd);
	}
	static const char msg[] = "fuzz: crashing input written to ";
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0 ||
	    write(STDERR_FILENO, path, plen) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		return;
}

static void on_fatal_signal(int sig)
{
	dump_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handlers(void)
{
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(dump_current);
	/* Without AddressSanitizer nobody else reports a segfault. With it,
	 * its own handler gives the better report (and the death callback
	 * still saves the input). SIGABRT (assert, abort()) is ours either
	 * way. */
	int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	bool asan = false;
#if defined(__SANITIZE_ADDRESS__)
	asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	asan = true;
#endif
#endif
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		if (asan && sigs[i] != SIGABRT)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_fatal_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static void pool_add(struct pool *p, uint8_t *data, size_t len)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct input *nv = realloc(p->v, ncap * sizeof *nv);
		if (!nv) {
			fprintf(stderr, "fuzz: out of memory\n");
			exit(1);
		}
		p->v = nv;
		p->cap = ncap;
	}
	p->v[p->n++] = (struct input){data, len};
}

static void pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].data);
	free(p->v);
	memset(p, 0, sizeof *p);
}

static bool read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	bool ok = b && !ferror(f);
	fclose(f);
	if (!ok) {
		free(b);
		return false;
	}
	*data = b;
	*len = n;
	return true;
}

static int load_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		uint8_t *d;
		size_t n;
		if (!read_file(path, &d, &n)) {
			fprintf(stderr, "fuzz: %s: cannot read\n", path);
			return -1;
		}
		pool_add(&corpus, d, n);
		return 0;
	}
	struct dirent **names = NULL;
	int count = scandir(path, &names, NULL, alphasort);
	if (count < 0) {
		fprintf(stderr, "fuzz: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < count; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.') {
			snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
			    load_path(full) != 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* Runs one input from an exact-size heap copy, so any read past its end is
 * an AddressSanitizer report rather than a silent read of our buffer. */
static void run_one(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy) {
		fprintf(stderr, "fuzz: out of memory\n");
		exit(1);
	}
	if (len)
		memcpy(copy, data, len);
	cur_data = copy;
	cur_len = len;
	LLVMFuzzerTestOneInput(copy, len);
	cur_data = NULL;
	cur_len = 0;
	free(copy);
}

/* Bytes and tokens that steer CSV and JSON parsers into their corners. */
static const uint8_t interesting_bytes[] = {
	'"', ',', '\n', '\r', '\\', '{', '}', '[', ']', ':', '\0', ' ', '\t',
	'e', 'E', '.', '-', '+', '0', '9', 0xEF, 0xBB, 0xBF, 0xFF, 0x80, 0x7F,
};

static const char *const tokens[] = {
	"\"\"", "\"\"\"", "\r\n", "\n\n", ",,", "NA", "\xEF\xBB\xBF", "1e999",
	"-0", "0x10", "inf", "nan", "1.5", " 3 ", "null", "true", "false",
	"[]", "{}", "\"name\"", "\"type\"", "\"levels\"", "\"numeric\"",
	"\"categorical\"", "\"range\"", "\"typical\"", "\"target\"",
	"\"positive\"", "\"features\"", "\\u0000", "\\\"", "[[[[", "]]]]",
	"1e-400", "9007199254740993", "\"a\",\"b\"",
};

/* Shifts buf[at..len) right by n bytes; the caller made sure they fit. A
 * plain loop: inputs are small, and gcc's -Wstringop-overflow misjudges a
 * memmove here once the sanitizers instrument the code. */
static void open_gap(uint8_t *buf, size_t len, size_t at, size_t n)
{
	for (size_t i = len; i > at; i--)
		buf[i - 1 + n] = buf[i - 1];
}

static size_t mutate_once(uint8_t *buf, size_t len, size_t max_len)
{
	switch (rnd_below(10)) {
	case 0: /* flip a bit */
		if (len)
			buf[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
		break;
	case 1: /* set a random byte */
		if (len)
			buf[rnd_below(len)] = (uint8_t)rnd();
		break;
	case 2: /* set an interesting byte */
		if (len)
			buf[rnd_below(len)] =
				interesting_bytes[rnd_below(sizeof interesting_bytes)];
		break;
	case 3: /* insert a byte, random or interesting */
		if (len < max_len) {
			size_t at = rnd_below(len + 1);
			open_gap(buf, len, at, 1);
			buf[at] = rnd_below(2) ? (uint8_t)rnd()
					       : interesting_bytes[rnd_below(sizeof interesting_bytes)];
			len++;
		}
		break;
	case 4: /* delete a run of bytes */
		if (len) {
			size_t at = rnd_below(len);
			size_t n = 1 + rnd_below(len - at < 8 ? len - at : 8);
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 5: { /* insert a token */
		const char *t = tokens[rnd_below(sizeof tokens / sizeof *tokens)];
		size_t n = strlen(t);
		if (len + n <= max_len) {
			size_t at = rnd_below(len + 1);
			open_gap(buf, len, at, n);
			memcpy(buf + at, t, n);
			len += n;
		}
		break;
	}
	case 6: { /* splice: our head, another entry's tail */
		if (!corpus.n)
			break;
		const struct input *o = &corpus.v[rnd_below(corpus.n)];
		size_t head = rnd_below(len + 1);
		size_t from = rnd_below(o->len + 1);
		size_t n = o->len - from;
		if (head + n > max_len)
			n = max_len - head;
		memcpy(buf + head, o->data + from, n);
		len = head + n;
		break;
	}
	case 7: { /* insert a chunk of another entry */
		if (!corpus.n)
			break;
		const struct input *o = &corpus.v[rnd_below(corpus.n)];
		if (!o->len)
			break;
		size_t from = rnd_below(o->len);
		size_t n = 1 + rnd_below(o->len - from);
		if (len + n > max_len)
			break;
		size_t at = rnd_below(len + 1);
		open_gap(buf, len, at, n);
		memcpy(buf + at, o->data + from, n);
		len += n;
		break;
	}
	case 8: { /* repeat a chunk of ourselves */
		if (!len)
			break;
		size_t from = rnd_below(len);
		size_t n = 1 + rnd_below(len - from < 64 ? len - from : 64);
		if (len + n > max_len)
			break;
		size_t at = rnd_below(len + 1);
		open_gap(buf, len, at, n);
		memmove(buf + at, buf + from + (from >= at ? n : 0), n);
		len += n;
		break;
	}
	default: /* truncate */
		if (len)
			len = rnd_below(len + 1);
		break;
	}
	return len;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fuzz_x [-max_total_time=N] [-runs=N] [-seed=N] [-max_len=N]\n"
		"              [-artifact_prefix=P] DIR_OR_FILE...\n");
}

int main(int argc, char **argv)
{
	double max_time = -1;
	long long max_runs = -1;
	size_t max_len = 4096;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0') {
			if (load_path(a) != 0)
				rc = 2;
			continue;
		}
		const char *eq = strchr(a, '=');
		const char *val = eq ? eq + 1 : "";
		char *end = NULL;
		if (strncmp(a, "-max_total_time=", 16) == 0) {
			max_time = strtod(val, &end);
		} else if (strncmp(a, "-runs=", 6) == 0) {
			max_runs = strtoll(val, &end, 10);
		} else if (strncmp(a, "-seed=", 6) == 0) {
			unsigned long long s = strtoull(val, &end, 10);
			rng_state = s ? s : 0x9E3779B97F4A7C15ull;
		} else if (strncmp(a, "-max_len=", 9) == 0) {
			max_len = (size_t)strtoull(val, &end, 10);
		} else if (strncmp(a, "-artifact_prefix=", 17) == 0) {
			artifact_prefix = val;
			end = (char *)val + strlen(val);
		} else if (strcmp(a, "-help=1") == 0 || strcmp(a, "-h") == 0) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "fuzz: ignoring unknown flag %s\n", a);
			continue;
		}
		if (!end || *end != '\0' || end == val) {
			usage();
			return 2;
		}
	}
	if (rc) {
		pool_free(&corpus);
		return rc;
	}
	if (max_len == 0)
		max_len = 1;
	install_crash_handlers();

	const double start = now();
	unsigned long long runs = 0;
	for (size_t i = 0; i < corpus.n; i++, runs++)
		run_one(corpus.v[i].data, corpus.v[i].len);
	/* the empty input always deserves a run */
	run_one(NULL, 0);
	runs++;

	bool fuzzing = max_time > 0 || max_runs > 0;
	uint8_t *buf = fuzzing ? malloc(max_len) : NULL;
	if (fuzzing && !buf) {
		fprintf(stderr, "fuzz: out of memory\n");
		return 1;
	}
	const size_t pool_max = 256;
	while (fuzzing) {
		if (max_runs > 0 && runs >= (unsigned long long)max_runs)
			break;
		if (max_time > 0 && now() - start >= max_time)
			break;
		const struct input *base = NULL;
		if (mutants.n && rnd_below(3) == 0)
			base = &mutants.v[rnd_below(mutants.n)];
		else if (corpus.n)
			base = &corpus.v[rnd_below(corpus.n)];
		size_t len = base ? (base->len < max_len ? base->len : max_len) : 0;
		if (len)
			memcpy(buf, base->data, len);
		for (size_t k = 1 + rnd_below(4); k > 0; k--)
			len = mutate_once(buf, len, max_len);
		run_one(buf, len);
		runs++;
		if (rnd_below(8) == 0) {
			uint8_t *keep = malloc(len ? len : 1);
			if (keep) {
				if (len)
					memcpy(keep, buf, len);
				if (mutants.n < pool_max) {
					pool_add(&mutants, keep, len);
				} else {
					struct input *slot = &mutants.v[rnd_below(mutants.n)];
					free(slot->data);
					*slot = (struct input){keep, len};
				}
			}
		}
	}
	free(buf);
	printf("fuzz: %llu runs in %.1f s, corpus %zu\n", runs, now() - start,
	       corpus.n);
	pool_free(&corpus);
	pool_free(&mutants);
	return 0;
}
