/* kube: a Kubernetes API client for the few objects churnops runs on:
 * Deployments (status, rollout, revision history, writes), their ReplicaSets
 * and Pods, Services (the blue-green selector) and Istio VirtualServices
 * (canary weights). Protocol facts: shared/reference/kubernetes-api.md.
 *
 * A client owns its kubeconfig and one HTTP handle, so it belongs to one
 * thread at a time. Every error names the verb and the object, and carries
 * the server's Status message; a 403 says which verb on which resource the
 * credentials lack. Errors from the server are EXIT_BACKEND; a refused
 * action (paused deployment, unknown revision, rollout deadline exceeded) is
 * EXIT_CHECK.
 *
 * Returned structs are owned by the caller and freed with their _finish
 * function (safe on zeroed structs).
 */
#ifndef CHURNOPS_KUBE_H
#define CHURNOPS_KUBE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "kubeconfig.h"

struct kube_client;

/* Takes ownership of KC (destroyed with the client, even on failure). */
int kube_client_create(struct kubeconfig *kc, struct kube_client **out,
		       struct err *e);
void kube_client_destroy(struct kube_client *k);
const struct kubeconfig *kube_client_config(const struct kube_client *k);

/* See http_client_set_cancel: a true *CANCEL stops the client's requests and
 * watches, which then fail with EXIT_BACKEND "cancelled". */
void kube_client_set_cancel(struct kube_client *k, const atomic_bool *cancel);

/* One API call: PATH is "/apis/apps/v1/..." (query included). BODY may be
 * NULL. *OUT (may be NULL) receives the parsed answer. *STATUS (may be NULL)
 * receives the HTTP status (0 when none came back). Refreshes credentials
 * before the call and once more after a 401. */
int kube_call(struct kube_client *k, const char *method, const char *path,
	      const char *content_type, const cJSON *body, cJSON **out,
	      long *status, struct err *e);

/* The error kube_call reports for an HTTP error answer STATUS with BODY (a
 * Status, usually: its reason and message) to METHOD PATH on the cluster
 * WHERE names; 401 and 403 say what the credentials lack. Returns
 * EXIT_BACKEND. Also used by the fuzz tests. */
int kube_status_error(const char *method, const char *path, long status,
		      const char *body, size_t len, const char *where, struct err *e);

/* --- Deployments ---------------------------------------------------------- */

struct kube_container {
	char *name;
	char *image;
};

struct kube_condition {
	char *type;
	char *status;
	char *reason;
	char *message;
	char *last_update;
};

struct kube_deployment {
	char *name;
	char *namespace;
	char *uid;
	char *resource_version;
	char *created;
	long generation;
	long observed_generation; /* 0 when absent */
	bool has_spec_replicas;
	long spec_replicas;
	long replicas, updated, ready, available, unavailable;
	bool paused;
	long revision;            /* deployment.kubernetes.io/revision, 0 if none */
	char *change_cause;
	char *selector;           /* label selector text, "k=v,k2=v2" */
	struct kube_container *containers;
	size_t ncontainers;
	struct kube_condition *conditions;
	size_t nconditions;
	cJSON *raw;               /* the object as read */
};

/* Fills D from a Deployment object (which it copies). EXIT_BACKEND when the
 * object lacks metadata.name. */
int kube_deployment_from_json(const cJSON *obj, struct kube_deployment *d,
			      struct err *e);
void kube_deployment_finish(struct kube_deployment *d);
const struct kube_condition *kube_deployment_condition(const struct kube_deployment *d,
						       const char *type);

int kube_get_deployment(struct kube_client *k, const char *ns, const char *name,
			struct kube_deployment *d, struct err *e);

/* --- list and watch ---------------------------------------------------------- */

/* A watch callback gets every object of the list as "ADDED", then every
 * ADDED, MODIFIED and DELETED event; it returns 0 to go on, KUBE_WATCH_STOP
 * to end the watch successfully, or an exit code (with E set) to fail it. */
#define KUBE_WATCH_STOP (-1)
typedef int (*kube_watch_fn)(const char *type, const cJSON *obj, void *arg,
			     struct err *e);

/* client-go's reflector in miniature on COLLECTION ("/apis/apps/v1/
 * namespaces/NS/deployments") with QUERY ("labelSelector=..." escaped, or
 * ""): list, then watch from the list's resourceVersion; watch again from
 * the last version seen when the server ends the stream or the connection
 * breaks (giving up after a few breaks in a row without an event); list
 * again on 410 Gone. TIMEOUT_S > 0 ends it with EXIT_CHECK "timed out
 * waiting for the condition". */
int kube_watch(struct kube_client *k, const char *collection, const char *query,
	       long timeout_s, kube_watch_fn fn, void *arg, struct err *e);

/* The watch stream's parser, as kube_watch uses it (also used by the fuzz
 * tests): the bytes of a watch answer, fed in pieces of any size, are split
 * on newlines into events (one JSON object each), and every ADDED, MODIFIED
 * and DELETED event goes to FN; a BOOKMARK only moves the resourceVersion.
 * kube_watch_stream_feed returns false when the stream must end: FN returned
 * non-zero (kube_watch_stream_verdict), the server sent a 410 Gone ERROR
 * event (kube_watch_stream_gone), or an event was bad, an ERROR or over the
 * size cap (E says which). Create returns NULL when out of memory. */
struct kube_watch_stream;
struct kube_watch_stream *kube_watch_stream_create(kube_watch_fn fn, void *arg);
bool kube_watch_stream_feed(struct kube_watch_stream *s, const char *data, size_t len,
			    struct err *e);
int kube_watch_stream_verdict(const struct kube_watch_stream *s);
bool kube_watch_stream_gone(const struct kube_watch_stream *s);
/* The last resourceVersion seen ("" before any). */
const char *kube_watch_stream_version(const struct kube_watch_stream *s);
void kube_watch_stream_destroy(struct kube_watch_stream *s);

/* --- rollout status, judged exactly as `kubectl rollout status` ---------- */

enum kube_rollout_state {
	KUBE_ROLLOUT_COMPLETE,
	KUBE_ROLLOUT_WAIT_SPEC,        /* generation not yet observed */
	KUBE_ROLLOUT_WAIT_UPDATED,     /* N out of M new replicas updated */
	KUBE_ROLLOUT_WAIT_OLD,         /* K old replicas pending termination */
	KUBE_ROLLOUT_WAIT_AVAILABLE,   /* A of U updated replicas available */
	KUBE_ROLLOUT_DEADLINE_EXCEEDED,/* failure */
	KUBE_ROLLOUT_REVISION_MISMATCH,/* failure: --revision differs */
};

struct kube_rollout {
	enum kube_rollout_state state;
	bool done;         /* complete, or failed: stop waiting */
	bool failed;
	char message[256]; /* kubectl's words */
};

/* Judges D. WANT_REVISION > 0 requires that revision (kubectl --revision). */
void kube_rollout_status(const struct kube_deployment *d, long want_revision,
			 struct kube_rollout *r);
const char *kube_rollout_state_name(enum kube_rollout_state s);

/* Called for every judgement while waiting; return false to stop. */
typedef bool (*kube_rollout_fn)(const struct kube_deployment *d,
				const struct kube_rollout *r, void *arg);

/* Watches the deployment until the rollout completes (0), fails
 * (EXIT_CHECK: deadline exceeded, revision mismatch, deleted) or TIMEOUT_S
 * passes (EXIT_CHECK; 0 waits for ever). R receives the last judgement. */
int kube_rollout_wait(struct kube_client *k, const char *ns, const char *name,
		      long want_revision, long timeout_s, kube_rollout_fn fn,
		      void *arg, struct kube_rollout *r, struct err *e);

/* --- revision history ----------------------------------------------------- */

struct kube_revision {
	long revision;
	char *replicaset;
	char *images;       /* "name=image" for each container, comma-separated */
	char *change_cause; /* NULL when none */
	char *created;
	long replicas;      /* the ReplicaSet's spec.replicas */
	bool current;       /* its template is the deployment's */
	cJSON *template;    /* the ReplicaSet's pod template */
};

struct kube_history {
	struct kube_revision *revs; /* ascending revision */
	size_t n;
};

/* kubectl's listing: ReplicaSets selected by the deployment's selector and
 * controlled by its uid. */
int kube_history(struct kube_client *k, const struct kube_deployment *d,
		 struct kube_history *h, struct err *e);
/* The same from a ReplicaSetList object LIST already read (also used by the
 * fuzz tests). */
int kube_history_from_json(const struct kube_deployment *d, const cJSON *list,
			   struct kube_history *h, struct err *e);
void kube_history_finish(struct kube_history *h);

/* --- pods ------------------------------------------------------------------ */

struct kube_pod {
	char *name;
	char *phase;
	char *node;
	char *created;
	char *replicaset;  /* owner, or NULL */
	char *image;       /* first container's */
	bool ready;
	long restarts;
	long ready_containers, ncontainers;
};

struct kube_pods {
	struct kube_pod *pods;
	size_t n;
};

/* Pods matching SELECTOR (label selector text) in NS, sorted by name. */
int kube_list_pods(struct kube_client *k, const char *ns, const char *selector,
		   struct kube_pods *p, struct err *e);
/* The same from a PodList object LIST (also used by the fuzz tests): items
 * without metadata.name are left out. */
int kube_pods_from_json(const cJSON *list, struct kube_pods *p, struct err *e);
void kube_pods_finish(struct kube_pods *p);

/* --- Services and VirtualServices ----------------------------------------- */

/* The Service's selector as "k=v,..." (sorted) in *SELECTOR (caller frees);
 * when KEY is given, *VALUE receives that key's value or NULL. */
int kube_service_selector(struct kube_client *k, const char *ns, const char *svc,
			  char **selector, const char *key, char **value,
			  struct err *e);
/* The same from a Service object OBJ (also used by the fuzz tests). */
int kube_service_selector_from_json(const cJSON *obj, char **selector, const char *key,
				    char **value, struct err *e);

/* Switches one selector key (blue-green: "version" -> "green") by merge
 * patch, which keeps the other keys. */
int kube_service_switch(struct kube_client *k, const char *ns, const char *svc,
			const char *key, const char *value, struct err *e);

struct kube_route {
	size_t http_index, route_index;
	char *host;
	char *subset;  /* NULL when the destination has none */
	long weight;   /* -1 when not set */
};

struct kube_routes {
	struct kube_route *routes;
	size_t n;
	char *api_version; /* the served version that answered */
};

int kube_virtualservice_routes(struct kube_client *k, const char *ns,
			       const char *name, struct kube_routes *r,
			       struct err *e);
/* The routes of a VirtualService object VS (also used by the fuzz tests);
 * api_version stays NULL. */
int kube_routes_from_json(const cJSON *vs, struct kube_routes *r, struct err *e);
void kube_routes_finish(struct kube_routes *r);

/* Sets the weights of the destinations named by SUBSETS in http route
 * HTTP_INDEX with a JSON patch whose `test` ops guard the subsets' positions
 * and the resourceVersion; re-reads and retries a bounded number of times
 * when the object changed underneath. */
int kube_virtualservice_weights(struct kube_client *k, const char *ns,
				const char *name, size_t http_index,
				const char *const *subsets, const long *weights,
				size_t n, struct err *e);

/* --- writes on Deployments -------------------------------------------------- */

/* Sets CONTAINER's image by strategic merge patch and records
 * kubernetes.io/change-cause "churnops: set image CONTAINER=IMAGE (version
 * VERSION) by ACTOR". */
int kube_set_image(struct kube_client *k, const char *ns, const char *name,
		   const char *container, const char *image, const char *version,
		   const char *actor, struct err *e);

struct kube_undo_result {
	long from_revision; /* the deployment's before */
	long to_revision;   /* the revision whose template was restored */
	bool skipped;       /* the template already matched */
};

/* `kubectl rollout undo [--to-revision=N]` through the API: TO_REVISION 0
 * means the previous revision. Refuses a paused deployment (EXIT_CHECK),
 * an unknown revision (EXIT_CHECK); skips when the template already
 * matches. A 409 re-reads and retries a bounded number of times. */
int kube_undo(struct kube_client *k, const char *ns, const char *name,
	      long to_revision, struct kube_undo_result *res, struct err *e);

/* Merge patch on the scale subresource. */
int kube_scale(struct kube_client *k, const char *ns, const char *name,
	       long replicas, struct err *e);

/* kubectl rollout pause / resume. */
int kube_set_paused(struct kube_client *k, const char *ns, const char *name,
		    bool paused, struct err *e);

#endif
