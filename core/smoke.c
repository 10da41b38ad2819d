#include "smoke.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *smoke_status_name(enum smoke_status s)
{
	switch (s) {
	case SMOKE_PASS: return "pass";
	case SMOKE_FAIL: return "fail";
	case SMOKE_SKIPPED: break;
	}
	return "skipped";
}

static struct smoke_check *add(struct smoke_result *r, const char *name)
{
	struct smoke_check *c = &r->checks[r->nchecks++];
	c->name = name;
	c->status = SMOKE_PASS;
	c->detail[0] = '\0';
	return c;
}

/* A failed call: its message becomes the check's detail. An error that never
 * reached the service (refused, timeout, TLS) is noted for the exit code. */
static void failed(struct smoke_result *r, struct smoke_check *c,
		   const struct err *ce)
{
	c->status = SMOKE_FAIL;
	snprintf(c->detail, sizeof c->detail, "%.500s", ce->msg);
	if (strstr(ce->msg, ": unreachable (") || strstr(ce->msg, ": timed out (") ||
	    strstr(ce->msg, ": TLS failed ("))
		r->transport_error = true;
}

static int compare(struct service *svc, const struct smoke_opts *o,
		   struct smoke_result *r, struct smoke_check *c, struct err *e)
{
	size_t n = o->nrecords;
	double *served = malloc((n ? n : 1) * sizeof *served);
	float *local = malloc((n ? n : 1) * sizeof *local);
	struct err ce = {0};
	int rc = 0;
	if (!served || !local) {
		rc = err_set(e, EXIT_INPUT, "out of memory");
		goto out;
	}
	rc = model_predict(o->model, o->rows, n, o->schema->nfeatures, local, e);
	if (rc)
		goto out;
	if (service_predict(svc, o->records, n, served, &ce)) {
		failed(r, c, &ce);
		goto out;
	}
	r->answered = true;
	double tol = o->tolerance > 0 ? o->tolerance : SMOKE_TOLERANCE;
	r->rows = n;
	for (size_t i = 0; i < n; i++) {
		double d = fabs(served[i] - (double)local[i]);
		if (d > tol)
			r->skewed++;
		if (i == 0 || d > r->max_diff) {
			r->max_diff = d;
			r->worst = i;
			r->worst_served = served[i];
			r->worst_local = local[i];
		}
	}
	if (r->skewed) {
		c->status = SMOKE_FAIL;
		snprintf(c->detail, sizeof c->detail,
			 "serving skew: %zu of %zu records differ by more than %g "
			 "(largest %.6g at record %zu: service %.6f, local %.6f)",
			 r->skewed, n, tol, r->max_diff, r->worst + 1, r->worst_served,
			 r->worst_local);
	} else {
		snprintf(c->detail, sizeof c->detail,
			 "%zu records within %g of the local engine (largest difference %.3g)",
			 n, tol, r->max_diff);
	}
out:
	free(served);
	free(local);
	return rc;
}

int smoke_run(struct service *svc, const struct smoke_opts *o,
	      struct smoke_result *r, struct err *e)
{
	struct err ce = {0};
	memset(r, 0, sizeof *r);

	struct smoke_check *c = add(r, "health");
	struct service_health h;
	if (service_health(svc, &h, &ce)) {
		failed(r, c, &ce);
	} else {
		r->answered = true;
		snprintf(c->detail, sizeof c->detail, "%s%s%s",
			 h.status[0] ? h.status : "answered",
			 h.version[0] ? ", version " : "", h.version);
	}

	c = add(r, "version");
	struct service_info info;
	err_clear(&ce);
	if (service_model_info(svc, &info, &ce)) {
		failed(r, c, &ce);
	} else {
		r->answered = true;
		snprintf(r->served_version, sizeof r->served_version, "%s", info.version);
		if (strcmp(info.version, o->expected_version) != 0) {
			c->status = SMOKE_FAIL;
			snprintf(c->detail, sizeof c->detail,
				 "the service runs version %s, expected %.120s",
				 info.version, o->expected_version);
		} else {
			snprintf(c->detail, sizeof c->detail, "version %s", info.version);
		}
	}

	c = add(r, "predict");
	if (o->nrecords == 0) {
		c->status = SMOKE_SKIPPED;
		snprintf(c->detail, sizeof c->detail, "no sample records");
	} else {
		int rc = compare(svc, o, r, c, e);
		if (rc)
			return rc;
	}

	r->pass = true;
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i].status == SMOKE_FAIL)
			r->pass = false;
	if (r->pass)
		return 0;
	int code = r->transport_error || !r->answered ? EXIT_BACKEND : EXIT_CHECK;
	for (size_t i = 0; i < r->nchecks; i++)
		if (r->checks[i].status == SMOKE_FAIL)
			return err_set(e, code, "smoke test failed: %s: %s",
				       r->checks[i].name, r->checks[i].detail);
	return code;
}
