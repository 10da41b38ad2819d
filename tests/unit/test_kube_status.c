/* kube_rollout_status judges a Deployment exactly as `kubectl rollout
 * status` does (shared/reference/kubernetes-api.md, section 3): the checks
 * run in kubectl's order and print kubectl's words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
