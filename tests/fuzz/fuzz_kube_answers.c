/* Fuzz target for core/kube's parsing of the API server's answers: every
 * input, as JSON, goes to each object kind's parser, and as a body of an
 * error answer to the Status error reader.
 *
 *   Deployment      kube_deployment_from_json, then kube_rollout_status
 *   ReplicaSetList  kube_history_from_json (for a fixed Deployment whose uid
 *                   is "fuzz-uid", and for the input itself when it is one)
 *   PodList         kube_pods_from_json
 *   Service         kube_service_selector_from_json
 *   VirtualService  kube_routes_from_json
 *   Status          kube_status_error for 401, 403 and 409, and
 *                   http_server_message with small buffers
 *
 * What comes back must hold together: counts within the items, lists in
 * their documented order, Status messages free of control bytes a
 * terminal would act on, every error with a message. ASan/UBSan watch the
 * rest (overflowing counts, out-of-range conversions, leaks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_kube_answers: %s\n", what);
		abort();
	}
}

/* No C0 control byte (ESC included) or DEL. */
static bool no_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static const char FIXED_DEPLOYMENT[] =
	"{\"metadata\":{\"name\":\"churn-prediction\",\"namespace\":\"mlops-staging\","
	"\"uid\":\"fuzz-uid\",\"resourceVersion\":\"1\"},"
	"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"churn-prediction\"}},"
	"\"template\":{\"metadata\":{\"labels\":{\"app\":\"churn-prediction\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"model\",\"image\":\"churn:1.2.0\"}]}}}}";

static void history(const struct kube_deployment *d, const cJSON *list)
{
	struct kube_history h;
	struct err e = {0};
	if (kube_history_from_json(d, list, &h, &e) == 0) {
		check(h.n <= (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(list, "items")),
		      "more revisions than ReplicaSets");
		for (size_t i = 0; i < h.n; i++) {
			check(i == 0 || h.revs[i - 1].revision <= h.revs[i].revision,
			      "revisions out of order");
			check(h.revs[i].images != NULL, "a revision without images");
		}
	} else {
		check(e.msg[0] != '\0', "a failure without a message");
	}
	kube_history_finish(&h);
}

static void deployment(const cJSON *obj)
{
	struct kube_deployment d;
	struct err e = {0};
	int rc = kube_deployment_from_json(obj, &d, &e);
	if (rc) {
		check(rc == EXIT_BACKEND && e.msg[0], "a failed Deployment without a message");
		kube_deployment_finish(&d);
		return;
	}
	check(d.name && d.selector && d.raw, "a Deployment without name, selector or copy");
	for (size_t i = 0; i < d.nconditions; i++)
		(void)kube_deployment_condition(&d, d.conditions[i].type ? d.conditions[i].type : "");
	struct kube_rollout r;
	kube_rollout_status(&d, 0, &r);
	check(memchr(r.message, '\0', sizeof r.message) != NULL && r.message[0],
	      "a judgement without words");
	check(!r.failed || r.done, "a failure that is not done");
	kube_rollout_status(&d, d.revision + 1, &r);
	check(r.state == KUBE_ROLLOUT_REVISION_MISMATCH || d.revision + 1 <= 0,
	      "another revision wanted and not a mismatch");
	(void)kube_rollout_state_name(r.state);
	/* The input as both the Deployment and the ReplicaSetList. */
	history(&d, obj);
	kube_deployment_finish(&d);
}

static void pods(const cJSON *list)
{
	struct kube_pods p;
	struct err e = {0};
	if (kube_pods_from_json(list, &p, &e) == 0) {
		for (size_t i = 0; i < p.n; i++) {
			check(p.pods[i].name != NULL, "a pod without a name");
			check(i == 0 || strcmp(p.pods[i - 1].name, p.pods[i].name) <= 0,
			      "pods not sorted by name");
			check(p.pods[i].ready_containers <= p.pods[i].ncontainers,
			      "more ready containers than containers");
		}
	}
	kube_pods_finish(&p);
}

static void service(const cJSON *obj)
{
	char *sel = NULL, *value = NULL;
	struct err e = {0};
	if (kube_service_selector_from_json(obj, &sel, "version", &value, &e) == 0)
		check(sel != NULL, "no selector text");
	free(sel);
	free(value);
}

static void routes(const cJSON *vs)
{
	struct kube_routes r;
	struct err e = {0};
	if (kube_routes_from_json(vs, &r, &e) == 0) {
		for (size_t i = 0; i < r.n; i++) {
			check(i == 0 || r.routes[i - 1].http_index <= r.routes[i].http_index,
			      "routes out of order");
		}
	}
	kube_routes_finish(&r);
}

static void status_errors(const char *body, size_t len)
{
	static const long codes[] = {401, 403, 409}; /* each branch of the reader */
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		struct err e = {0};
		int rc = kube_status_error("PATCH",
					   "/apis/apps/v1/namespaces/ns/deployments/m?fieldManager=x",
					   codes[i], body, len, "context \"sim\"", &e);
		check(rc == EXIT_BACKEND && e.code == EXIT_BACKEND, "a Status error is not EXIT_BACKEND");
		check(e.msg[0] != '\0', "a Status error without a message");
		check(no_controls(e.msg), "a control byte from the server reached the message");
	}
	/* http's reader of error bodies on its own, with small buffers */
	static const size_t sizes[] = {1, 2, 6, 7, 40};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char buf[40];
		memset(buf, 'X', sizeof buf);
		http_server_message(body, len, buf, sizes[i]);
		check(memchr(buf, '\0', sizes[i]) != NULL, "a server message not terminated");
		check(no_controls(buf), "a control byte in a server message");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	check(text != NULL, "malloc");
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	status_errors(text, size);
	status_errors(NULL, 0);

	cJSON *obj = json_parse(text, size, "answer", NULL);
	free(text);
	if (!obj)
		return 0;
	cJSON *fixed = json_parse(FIXED_DEPLOYMENT, sizeof FIXED_DEPLOYMENT - 1, "fixed", NULL);
	check(fixed != NULL, "the fixed Deployment");
	struct kube_deployment fd;
	struct err e = {0};
	check(kube_deployment_from_json(fixed, &fd, &e) == 0, "the fixed Deployment parses");
	history(&fd, obj);
	kube_deployment_finish(&fd);

	deployment(obj);
	pods(obj);
	service(obj);
	routes(obj);
	cJSON_Delete(fixed);
	cJSON_Delete(obj);
	return 0;
}
