/* smoke: is a deployed model service the model we think it is?
 *
 * Three checks, in order, each run even when an earlier one failed (a
 * report says everything that is wrong at once):
 *   health   GET /health answers healthy with the model loaded;
 *   version  GET /model/info names the expected version;
 *   predict  POST /predict on sample customers gives, for each, the local
 *            engine's probability for the same version's model to within
 *            SMOKE_TOLERANCE: a larger difference is serving skew (another
 *            model, another preprocessing, another library).
 */
#ifndef CHURNOPS_SMOKE_H
#define CHURNOPS_SMOKE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "model.h"
#include "schema.h"
#include "service.h"

#define SMOKE_TOLERANCE 1e-4

enum smoke_status { SMOKE_PASS, SMOKE_FAIL, SMOKE_SKIPPED };

struct smoke_check {
	const char *name;    /* "health", "version", "predict" */
	enum smoke_status status;
	char detail[512];    /* what was seen, or what went wrong (cut at 500 bytes) */
};

struct smoke_opts {
	const char *expected_version;
	struct model *model;        /* the local engine for that version */
	const struct schema *schema;
	const cJSON *records;       /* JSON array of customer records */
	const float *rows;          /* the same records as model rows */
	size_t nrecords;
	double tolerance;           /* <= 0: SMOKE_TOLERANCE */
};

struct smoke_result {
	struct smoke_check checks[3];
	size_t nchecks;
	char served_version[128];
	size_t rows;         /* records compared */
	size_t skewed;       /* records whose difference passed the tolerance */
	double max_diff;     /* largest |served - local| */
	size_t worst;        /* its record's index */
	double worst_served, worst_local;
	bool transport_error; /* a call could not reach the service at all */
	bool answered;        /* some call got a usable answer */
	bool pass;
};

/* Runs the checks against SVC and fills R. Returns 0 when every check
 * passed, EXIT_CHECK when one failed (E says which, first), EXIT_BACKEND
 * when the service could not be reached at all or gave no call a usable
 * answer (errors, garbage: the service is down, not wrong), EXIT_INPUT when
 * the local engine could not score the records. */
int smoke_run(struct service *svc, const struct smoke_opts *o,
	      struct smoke_result *r, struct err *e);

const char *smoke_status_name(enum smoke_status s);

#endif
