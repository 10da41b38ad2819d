/* service: a client of the model service a deployment runs.
 *
 * The service answers GET /health, GET /model/info and POST /predict (one
 * customer record as a JSON object, or an array of them; each answer holds
 * "churn_probability"). It is reached either through the Kubernetes API
 * server's service proxy (/api/v1/namespaces/NS/services/NAME:80/proxy/...,
 * with the kubeconfig's credentials, as `kubectl proxy` users do) or
 * directly at an endpoint URL.
 *
 * Answers are read with a size cap and parsed within limits; an error
 * carries the service's own words (its {"error": ...} or Status message).
 * A service handle owns one HTTP client, so it belongs to one thread.
 */
#ifndef CHURNOPS_SERVICE_H
#define CHURNOPS_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "http.h"
#include "kubeconfig.h"
#include "schema.h"

/* Answers to /health and /model/info are refused beyond this size. */
#define SERVICE_MAX_SMALL ((size_t)64 << 10)
/* Any answer is refused beyond this size. */
#define SERVICE_MAX_ANSWER ((size_t)8 << 20)
/* Records per /predict call: service_predict() splits larger sets. */
#define SERVICE_MAX_BATCH 1000
/* Most records read from a file. */
#define SERVICE_MAX_RECORDS 10000

struct service;

/* A service at URL (http or https, no trailing path needed: "/health" and
 * the others are appended). TIMEOUT_MS 0 means 10 s. */
int service_open_endpoint(const char *url, long timeout_ms,
			  struct service **out, struct err *e);

/* The service NAME in namespace NS through KC's API server proxy (port 80).
 * KC's credentials are refreshed first; KC is only read during the call. */
int service_open_kube(struct kubeconfig *kc, const char *ns, const char *name,
		      long timeout_ms, struct service **out, struct err *e);

void service_destroy(struct service *s); /* NULL ok */

/* The base URL (".../proxy" or the endpoint without a trailing '/'), owned
 * by S. */
const char *service_base_url(const struct service *s);

/* The HTTP client the service uses (for a load run on the same
 * credentials), owned by S. */
struct http_client *service_http(struct service *s);

struct service_health {
	char status[64];   /* the service's "status" ("healthy"), "" if none */
	bool model_loaded; /* "model_loaded" (true when absent) */
	char version[128]; /* "version", "" if none */
};

/* GET /health: 0 when the service answered 2xx with a JSON object whose
 * status, if given, is "healthy", "ok" or "up"; otherwise EXIT_BACKEND with
 * the reason (unreachable, HTTP status and the service's words, or
 * "unhealthy: STATUS"). H is filled as far as the answer went. */
int service_health(struct service *s, struct service_health *h, struct err *e);

struct service_info {
	char model[128];
	char version[128];
	char image[256];
};

/* GET /model/info: the served model's name, version and image. EXIT_BACKEND
 * when unreachable, an error status, or no "version" string. */
int service_model_info(struct service *s, struct service_info *i,
		       struct err *e);

/* POST /predict with RECORDS (a JSON array of N objects), in calls of at
 * most SERVICE_MAX_BATCH records; OUT receives N probabilities. EXIT_BACKEND when the answer is not an array of
 * N objects each with a churn_probability in [0, 1]. */
int service_predict(struct service *s, const cJSON *records, size_t n,
		    double *out, struct err *e);

/* The parsers behind the calls, for tests: BODY[0..LEN) is an answer. */
int service_parse_health(const char *body, size_t len,
			 struct service_health *h, struct err *e);
int service_parse_info(const char *body, size_t len, struct service_info *i,
		       struct err *e);
int service_parse_predictions(const char *body, size_t len, size_t n,
			      double *out, struct err *e);

/* Customer records from the CSV file PATH, at most MAX (<= SERVICE_MAX_RECORDS).
 * With a schema S, each record holds the schema's features only: a numeric
 * feature as a number, a categorical one as its text, a missing cell as
 * null; ROWS (may be NULL) then receives the same records encoded as the
 * model's rows (N x nfeatures floats, caller frees). Without a schema every
 * column is kept, as a number when it reads as one. *RECORDS (caller
 * cJSON_Deletes) is a JSON array; *N its length. EXIT_INPUT for an
 * unreadable or malformed file, naming file, line and column, or a file
 * with no records. */
int service_records_from_csv(const char *path, const struct schema *s,
			     size_t max, cJSON **records, float **rows,
			     size_t *n, struct err *e);

/* Records made from the schema alone, for a smoke test without data: the
 * typical customer (each feature's "typical", else the middle of its
 * range, else missing), then that customer with each categorical feature
 * set to each of its other levels in turn, up to MAX records. Same outputs
 * as service_records_from_csv. */
int service_records_from_schema(const struct schema *s, size_t max,
				cJSON **records, float **rows, size_t *n,
				struct err *e);

#endif
