/* Fuzz target for core/checklist's gates file (checklist_gates_load).
 *
 * Each input is loaded as a gates file over the defaults, and then once
 * more over what the first load left, as a second file would be (the
 * replacement paths for columns, attributes and value_column run then). A
 * load that succeeds leaves every setting within its documented range,
 * every column and attribute named, and bands inside the gates' own band
 * storage; one that fails does so with EXIT_INPUT and a message naming the
 * file. checklist_gates_finish must release everything (LeakSanitizer).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checklist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_gates: %s\n", what);
		abort();
	}
}

static bool within(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

static void check_gates(const struct checklist_gates *g)
{
	check(within(g->roc_auc_min, 0, 1) && within(g->precision_min, 0, 1) &&
		      within(g->recall_min, 0, 1) && within(g->f1_min, 0, 1) &&
		      within(g->cv_std_max, 0, 1), "a performance gate out of range");
	check(within(g->latency_max_ms, 0, 1e7) && g->latency_calls >= 10 &&
		      g->latency_calls <= 10000000, "latency out of range");
	check(within(g->memory_max_mb, 0, 1e9) && within(g->artifact_max_mb, 0, 1e9),
	      "a size gate out of range");
	check(within(g->segment_tolerance, 0, 1) && g->segment_min_size >= 1,
	      "segments out of range");
	check(within(g->fairness_min, 0, 1), "fairness out of range");
	check(isfinite(g->business_min) && g->business.top_k > 0 && g->business.top_k <= 1 &&
		      within(g->business.acceptance_rate, 0, 1) &&
		      g->business.horizon_months > 0 && isfinite(g->business.contact_cost),
	      "business out of range");
	check(g->columns != NULL || g->ncolumns == 0, "columns");
	for (size_t i = 0; i < g->ncolumns; i++) {
		check(g->columns[i].name && g->columns[i].name[0], "a column without a name");
		if (g->columns_configured && g->columns[i].nbands) {
			check(g->band_storage && g->columns[i].bands >= g->band_storage,
			      "bands outside their storage");
			volatile double last = g->columns[i].bands[g->columns[i].nbands - 1];
			(void)last; /* ASan: the last band is inside the storage */
		}
	}
	for (size_t i = 0; i < g->nattributes; i++)
		check(g->attributes[i] && g->attributes[i][0], "an attribute without a name");
	if (g->value_column)
		check(g->business.value_column == g->value_column, "value_column not in use");
}

static void load(struct checklist_gates *g, const char *path)
{
	struct err e = {0};
	int rc = checklist_gates_load(g, path, &e);
	if (rc) {
		check(rc == EXIT_INPUT, "a failed load is not EXIT_INPUT");
		check(strstr(e.msg, path) != NULL || strstr(e.msg, "out of memory"),
		      "the message does not name the file");
	}
	check_gates(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("gates.json", 0);
	check(fd >= 0, "memfd_create");
	check(write(fd, data, size) == (ssize_t)size, "write");
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct checklist_gates g;
	checklist_gates_defaults(&g);
	check_gates(&g);
	load(&g, path);
	load(&g, path);
	checklist_gates_finish(&g);
	close(fd);
	return 0;
}
