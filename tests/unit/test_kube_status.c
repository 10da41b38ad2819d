/* kube_rollout_status judges a Deployment exactly as `kubectl rollout
 * status` does (shared/reference/kubernetes-api.md, section 3): the checks
 * run in kubectl's order and print kubectl's words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "kube.h"

/* Judges the Deployment in TEXT (JSON) with WANT_REVISION. */
static struct kube_rollout judge(const char *text, long want_revision)
{
	struct err e = {0};
	cJSON *obj = json_parse(text, strlen(text), "test", &e);
	assert_non_null(obj);
	struct kube_deployment d;
	assert_int_equal(kube_deployment_from_json(obj, &d, &e), 0);
	struct kube_rollout r;
	kube_rollout_status(&d, want_revision, &r);
	kube_deployment_finish(&d);
	cJSON_Delete(obj);
	return r;
}

#define DEPLOY(gen, spec, status) \
	"{\"metadata\":{\"name\":\"model\",\"namespace\":\"ns\",\"generation\":" #gen "," \
	"\"annotations\":{\"deployment.kubernetes.io/revision\":\"4\"}}," \
	"\"spec\":{" spec "\"selector\":{\"matchLabels\":{\"app\":\"model\"}}}," \
	"\"status\":{" status "}}"

#define DEADLINE_COND \
	"\"conditions\":[{\"type\":\"Available\",\"status\":\"True\",\"reason\":\"MinimumReplicasAvailable\"}," \
	"{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]"

static void test_spec_not_observed_comes_first(void **state)
{
	(void)state;
	/* Even with the deadline exceeded: generation > observed wins. */
	struct kube_rollout r = judge(DEPLOY(3, "\"replicas\":3,",
					     "\"observedGeneration\":2,\"replicas\":3,"
					     "\"updatedReplicas\":3,\"availableReplicas\":3," DEADLINE_COND), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_SPEC);
	assert_false(r.done);
	assert_string_equal(r.message, "Waiting for deployment spec update to be observed...");
}

static void test_missing_observed_generation_is_zero(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(1, "\"replicas\":1,", "\"replicas\":1"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_SPEC);
}

static void test_deadline_exceeded_fails(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":3,",
					     "\"observedGeneration\":2,\"replicas\":4,"
					     "\"updatedReplicas\":1,\"availableReplicas\":3," DEADLINE_COND), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_DEADLINE_EXCEEDED);
	assert_true(r.done);
	assert_true(r.failed);
	assert_string_equal(r.message, "deployment \"model\" exceeded its progress deadline");
}

static void test_deadline_reason_only_on_progressing(void **state)
{
	(void)state;
	/* The same reason on another condition type is not a failure. */
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":1,",
					     "\"observedGeneration\":2,\"replicas\":1,"
					     "\"updatedReplicas\":1,\"availableReplicas\":1,"
					     "\"conditions\":[{\"type\":\"Available\",\"status\":\"False\","
					     "\"reason\":\"ProgressDeadlineExceeded\"}]"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_COMPLETE);
}

static void test_updating(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":3,",
					     "\"observedGeneration\":2,\"replicas\":4,"
					     "\"updatedReplicas\":1,\"readyReplicas\":3,"
					     "\"availableReplicas\":3"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_UPDATED);
	assert_false(r.done);
	assert_string_equal(r.message, "Waiting for deployment \"model\" rollout to finish: "
				       "1 out of 3 new replicas have been updated...");
}

static void test_old_pending(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":3,",
					     "\"observedGeneration\":2,\"replicas\":4,"
					     "\"updatedReplicas\":3,\"availableReplicas\":3"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_OLD);
	assert_string_equal(r.message, "Waiting for deployment \"model\" rollout to finish: "
				       "1 old replicas are pending termination...");
}

static void test_no_spec_replicas_skips_updated_check(void **state)
{
	(void)state;
	/* Without spec.replicas, kubectl skips the "new replicas" test. */
	struct kube_rollout r = judge(DEPLOY(2, "",
					     "\"observedGeneration\":2,\"replicas\":2,"
					     "\"updatedReplicas\":0"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_OLD);
	assert_string_equal(r.message, "Waiting for deployment \"model\" rollout to finish: "
				       "2 old replicas are pending termination...");
}

static void test_available_pending(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":3,",
					     "\"observedGeneration\":2,\"replicas\":3,"
					     "\"updatedReplicas\":3,\"availableReplicas\":2"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_AVAILABLE);
	assert_string_equal(r.message, "Waiting for deployment \"model\" rollout to finish: "
				       "2 of 3 updated replicas are available...");
}

static void test_complete(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(5, "\"replicas\":3,",
					     "\"observedGeneration\":5,\"replicas\":3,"
					     "\"updatedReplicas\":3,\"readyReplicas\":3,"
					     "\"availableReplicas\":3"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_COMPLETE);
	assert_true(r.done);
	assert_false(r.failed);
	assert_string_equal(r.message, "deployment \"model\" successfully rolled out");
}

static void test_scaled_to_zero_is_complete(void **state)
{
	(void)state;
	/* Zero counts are omitted by the API server (omitempty). */
	struct kube_rollout r = judge(DEPLOY(3, "\"replicas\":0,", "\"observedGeneration\":3"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_COMPLETE);
}

static void test_observed_ahead_is_fine(void **state)
{
	(void)state;
	struct kube_rollout r = judge(DEPLOY(2, "\"replicas\":1,",
					     "\"observedGeneration\":3,\"replicas\":1,"
					     "\"updatedReplicas\":1,\"availableReplicas\":1"), 0);
	assert_int_equal(r.state, KUBE_ROLLOUT_COMPLETE);
}

static void test_revision_mismatch(void **state)
{
	(void)state;
	const char *d = DEPLOY(2, "\"replicas\":1,",
			       "\"observedGeneration\":2,\"replicas\":1,"
			       "\"updatedReplicas\":1,\"availableReplicas\":1");
	struct kube_rollout r = judge(d, 3);
	assert_int_equal(r.state, KUBE_ROLLOUT_REVISION_MISMATCH);
	assert_true(r.failed);
	assert_string_equal(r.message,
			    "desired revision (3) is different from the running revision (4)");
	r = judge(d, 4);
	assert_int_equal(r.state, KUBE_ROLLOUT_COMPLETE);
}

static void test_parse_fields(void **state)
{
	(void)state;
	const char *text =
		"{\"metadata\":{\"name\":\"m\",\"namespace\":\"ns\",\"uid\":\"u-1\","
		"\"resourceVersion\":\"77\",\"generation\":4,"
		"\"annotations\":{\"deployment.kubernetes.io/revision\":\"9\","
		"\"kubernetes.io/change-cause\":\"churnops: set image\"}},"
		"\"spec\":{\"replicas\":2,\"paused\":true,"
		"\"selector\":{\"matchLabels\":{\"track\":\"stable\",\"app\":\"m\"},"
		"\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]}]},"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"img:v1\"},"
		"{\"name\":\"c2\",\"image\":\"side:v2\"}]}}},"
		"\"status\":{\"observedGeneration\":4}}";
	struct err e = {0};
	cJSON *obj = json_parse(text, strlen(text), "test", &e);
	struct kube_deployment d;
	assert_int_equal(kube_deployment_from_json(obj, &d, &e), 0);
	assert_string_equal(d.uid, "u-1");
	assert_string_equal(d.resource_version, "77");
	assert_int_equal(d.revision, 9);
	assert_true(d.paused);
	assert_string_equal(d.change_cause, "churnops: set image");
	/* Requirements sorted by key, as apimachinery builds them. */
	assert_string_equal(d.selector, "app=m,tier in (a,b),track=stable");
	assert_int_equal(d.ncontainers, 2);
	assert_string_equal(d.containers[1].image, "side:v2");
	kube_deployment_finish(&d);
	cJSON_Delete(obj);

	cJSON *bad = json_parse("{\"metadata\":{}}", 15, "test", &e);
	assert_int_not_equal(kube_deployment_from_json(bad, &d, &e), 0);
	cJSON_Delete(bad);
}

/* Found by fuzz_kube_answers / fuzz_kube_watch: a Status reason or a
 * watch ERROR message from the server must not bring control bytes (an
 * escape sequence) into the message a terminal shows. */
static bool has_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void test_status_error_words(void **state)
{
	(void)state;
	struct err e = {0};
	const char *body = "{\"kind\":\"Status\",\"reason\":\"Conf\\u001b[2Jlict\","
			   "\"message\":\"the object\\nhas been modified\",\"code\":409}";
	assert_int_equal(kube_status_error("PATCH", "/apis/apps/v1/namespaces/ns/deployments/m",
					   409, body, strlen(body), "context \"sim\"", &e),
			 EXIT_BACKEND);
	assert_false(has_controls(e.msg));
	assert_string_equal(e.msg, "patch deployments.apps \"m\" in namespace ns: "
			    "Conf [2Jlict: the object has been modified (HTTP 409)");
	assert_int_equal(kube_status_error("GET", "/api/v1/namespaces/ns/pods", 403, body,
					   strlen(body), "context \"sim\"", &e), EXIT_BACKEND);
	assert_non_null(strstr(e.msg, "forbidden: the credentials of context \"sim\" may not "
				      "list pods in namespace ns"));
}

/* Found by fuzz_kube_watch under clang's UBSan: a number beyond LONG_MAX
 * (a Status code, a count) was cast to long. Such numbers are clamped now,
 * and a pod's restarts saturate instead of overflowing. */
static void test_numbers_beyond_long(void **state)
{
	(void)state;
	struct err e = {0};
	const char *text = "{\"metadata\":{\"name\":\"m\",\"generation\":1e300},"
			   "\"spec\":{\"replicas\":-1e300},\"status\":{\"observedGeneration\":1e300,"
			   "\"replicas\":1e19,\"updatedReplicas\":-1e19}}";
	cJSON *obj = json_parse(text, strlen(text), "test", &e);
	assert_non_null(obj);
	struct kube_deployment d;
	assert_int_equal(kube_deployment_from_json(obj, &d, &e), 0);
	assert_true(d.generation > 0 && d.generation == d.observed_generation);
	assert_true(d.spec_replicas < 0 && d.replicas > 0);
	struct kube_rollout r;
	kube_rollout_status(&d, 0, &r); /* replicas - updated must not overflow */
	assert_int_equal(r.state, KUBE_ROLLOUT_WAIT_OLD);
	kube_deployment_finish(&d);
	cJSON_Delete(obj);

	char list[4096];
	size_t o = (size_t)snprintf(list, sizeof list, "{\"items\":[{\"metadata\":{\"name\":\"p\"},"
				    "\"status\":{\"containerStatuses\":[");
	for (int i = 0; i < 40; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%s{\"restartCount\":9e18}",
				      i ? "," : "");
	snprintf(list + o, sizeof list - o, "]}}]}");
	obj = json_parse(list, strlen(list), "test", &e);
	assert_non_null(obj);
	struct kube_pods p;
	assert_int_equal(kube_pods_from_json(obj, &p, &e), 0);
	assert_int_equal(p.n, 1);
	assert_true(p.pods[0].restarts > 0);
	assert_int_equal(p.pods[0].ncontainers, 40);
	kube_pods_finish(&p);
	cJSON_Delete(obj);
}

/* Found with fuzz_kube_answers: "matchLabels" (or a Service's selector) as
 * an array has members without keys, which the selector text sorted by key
 * (a NULL strcmp). They are skipped now. */
static void test_selector_array(void **state)
{
	(void)state;
	struct err e = {0};
	const char *text = "{\"metadata\":{\"name\":\"m\"},\"spec\":{\"selector\":"
			   "{\"matchLabels\":[\"a\",\"b\"],\"matchExpressions\":"
			   "[{\"key\":\"k\",\"operator\":\"Exists\"}]}}}";
	cJSON *obj = json_parse(text, strlen(text), "test", &e);
	struct kube_deployment d;
	assert_int_equal(kube_deployment_from_json(obj, &d, &e), 0);
	assert_string_equal(d.selector, "k");
	kube_deployment_finish(&d);
	cJSON_Delete(obj);
	text = "{\"spec\":{\"selector\":[\"app\",\"version\"]}}";
	obj = json_parse(text, strlen(text), "test", &e);
	char *sel = NULL, *value = NULL;
	assert_int_equal(kube_service_selector_from_json(obj, &sel, "version", &value, &e), 0);
	assert_string_equal(sel, "");
	assert_null(value);
	free(sel);
	cJSON_Delete(obj);
}

struct events {
	int n;
	char last[32];
};

static int count_event(const char *type, const cJSON *obj, void *arg, struct err *e)
{
	(void)obj;
	(void)e;
	struct events *ev = arg;
	ev->n++;
	snprintf(ev->last, sizeof ev->last, "%s", type);
	return 0;
}

static void test_watch_stream(void **state)
{
	(void)state;
	const char *text =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"5\"}}}\n"
		"\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
		"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"message\":\"in\\ttern\\u001bal\","
		"\"code\":500}}\n";
	struct events ev = {0};
	struct kube_watch_stream *s = kube_watch_stream_create(count_event, &ev);
	assert_non_null(s);
	struct err e = {0};
	bool ok = true;
	/* byte by byte, as a slow network delivers it */
	for (size_t i = 0; text[i] && ok; i++)
		ok = kube_watch_stream_feed(s, text + i, 1, &e);
	assert_false(ok);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.last, "DELETED");
	assert_string_equal(kube_watch_stream_version(s), "9");
	assert_false(kube_watch_stream_gone(s));
	assert_false(has_controls(e.msg));
	assert_string_equal(e.msg, "watch: the server sent an error: in tern al (code 500)");
	kube_watch_stream_destroy(s);

	s = kube_watch_stream_create(count_event, &ev);
	const char *gone = "{\"type\":\"ERROR\",\"object\":{\"code\":410}}\n";
	assert_false(kube_watch_stream_feed(s, gone, strlen(gone), &e));
	assert_true(kube_watch_stream_gone(s));
	kube_watch_stream_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_not_observed_comes_first),
		cmocka_unit_test(test_missing_observed_generation_is_zero),
		cmocka_unit_test(test_deadline_exceeded_fails),
		cmocka_unit_test(test_deadline_reason_only_on_progressing),
		cmocka_unit_test(test_updating),
		cmocka_unit_test(test_old_pending),
		cmocka_unit_test(test_no_spec_replicas_skips_updated_check),
		cmocka_unit_test(test_available_pending),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_scaled_to_zero_is_complete),
		cmocka_unit_test(test_observed_ahead_is_fine),
		cmocka_unit_test(test_revision_mismatch),
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_status_error_words),
		cmocka_unit_test(test_watch_stream),
		cmocka_unit_test(test_numbers_beyond_long),
		cmocka_unit_test(test_selector_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
