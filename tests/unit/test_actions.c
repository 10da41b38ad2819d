/* Unit tests for core/actions.c and the journal, lock and audit tables of
 * core/store.c, on real SQLite files: the plan's JSON round trip, the
 * journal's state machine (intent before, result after, load, abandon),
 * lock semantics (held, refused naming the holder, a dead holder's lock
 * taken over, another host's never), read-only refusal, the audit log.
 * Building plans against a cluster is covered by
 * tests/integration/actions_test.py on the sandbox. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "actions.h"
#include "envs.h"
#include "json.h"
#include "store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/churnops-actions-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/churnops.db", f->dir);
	struct err e = {0};
	f->st = store_open(f->path, &e);
	if (!f->st)
		fail_msg("%s", e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A plan as actions_build_promote would make it for rolling, by hand. */
static void sample_plan(struct actions_plan *p)
{
	memset(p, 0, sizeof *p);
	p->kind = ACTIONS_PROMOTE;
	p->strategy = ACTIONS_BLUEGREEN;
	snprintf(p->env, sizeof p->env, "production");
	snprintf(p->namespace, sizeof p->namespace, "mlops-production");
	snprintf(p->version, sizeof p->version, "1.2.0");
	snprintf(p->from_version, sizeof p->from_version, "1.1.0");
	snprintf(p->image, sizeof p->image, "customer-churn-mlops:v1.2.0");
	snprintf(p->actor, sizeof p->actor, "ana");
	snprintf(p->reason, sizeof p->reason, "quarterly \"refresh\"\n");
	static const enum actions_op ops[] = {
		ACTIONS_OP_REGISTRY_CHECK, ACTIONS_OP_SET_IMAGE, ACTIONS_OP_WAIT_ROLLOUT,
		ACTIONS_OP_PODS_READY, ACTIONS_OP_SWITCH, ACTIONS_OP_SMOKE,
		ACTIONS_OP_REGISTRY_MOVE,
	};
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		struct actions_step *s = &p->steps[p->nsteps++];
		s->op = ops[i];
		snprintf(s->target, sizeof s->target, "target-%zu", i);
		snprintf(s->value, sizeof s->value, "value-%zu", i);
		s->number = (long)i * 10;
		snprintf(s->description, sizeof s->description, "step %zu", i);
		snprintf(s->precondition, sizeof s->precondition, "pre %zu", i);
		snprintf(s->check, sizeof s->check, "check %zu", i);
	}
}

static void plan_json_round_trip(void **state)
{
	(void)state;
	struct actions_plan p, q;
	sample_plan(&p);
	p.steps[1].state = ACTIONS_DONE;
	snprintf(p.steps[1].result, sizeof p.steps[1].result, "ok");
	cJSON *o = actions_plan_json(&p);
	assert_non_null(o);
	struct err e = {0};
	assert_int_equal(actions_plan_from_json(o, &q, &e), 0);
	cJSON_Delete(o);
	assert_int_equal(q.kind, ACTIONS_PROMOTE);
	assert_int_equal(q.strategy, ACTIONS_BLUEGREEN);
	assert_string_equal(q.reason, p.reason);
	assert_int_equal(q.nsteps, p.nsteps);
	for (size_t i = 0; i < p.nsteps; i++) {
		assert_int_equal(q.steps[i].op, p.steps[i].op);
		assert_string_equal(q.steps[i].target, p.steps[i].target);
		assert_int_equal(q.steps[i].number, p.steps[i].number);
		assert_string_equal(q.steps[i].check, p.steps[i].check);
	}
	assert_int_equal(q.steps[1].state, ACTIONS_DONE);
	/* An unknown step is refused, not guessed at. */
	cJSON *bad = json_parse("{\"kind\":\"promote\",\"strategy\":\"rolling\","
				"\"steps\":[{\"op\":\"format-disk\"}]}", 70, "t", &e);
	assert_non_null(bad);
	assert_int_equal(actions_plan_from_json(bad, &q, &e), EXIT_INPUT);
	assert_non_null(strstr(e.msg, "format-disk"));
	cJSON_Delete(bad);
}

static void strategies_parse(void **state)
{
	(void)state;
	enum actions_strategy s;
	assert_true(actions_strategy_parse("rolling", &s) && s == ACTIONS_ROLLING);
	assert_true(actions_strategy_parse("blue-green", &s) && s == ACTIONS_BLUEGREEN);
	assert_true(actions_strategy_parse("canary", &s) && s == ACTIONS_CANARY);
	assert_false(actions_strategy_parse("yolo", &s));
	assert_false(actions_strategy_parse(NULL, &s));
	assert_string_equal(actions_strategy_name(ACTIONS_BLUEGREEN), "blue-green");
}

static long long journal_as(struct store *st, struct actions_plan *p, const char *strategy)
{
	const char *descs[ACTIONS_MAX_STEPS];
	for (size_t i = 0; i < p->nsteps; i++)
		descs[i] = p->steps[i].description;
	cJSON *o = actions_plan_json(p);
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	struct store_plan sp = {
		.env = p->env, .kind = "promote", .version = p->version, .strategy = (char *)strategy,
		.actor = p->actor, .plan_json = text,
	};
	long long id = 0;
	struct err e = {0};
	assert_int_equal(store_plan_create(st, &sp, descs, p->nsteps, &id, &e), 0);
	free(text);
	assert_true(id > 0);
	return id;
}

static long long journal(struct store *st, struct actions_plan *p)
{
	return journal_as(st, p, "blue-green");
}

static void journal_state_machine(void **state)
{
	struct fixture *f = *state;
	struct actions_plan p;
	sample_plan(&p);
	long long id = journal(f->st, &p);
	struct err e = {0};

	struct store_plan sp = {0};
	bool found = false;
	assert_int_equal(store_plan_get(f->st, id, &sp, &found, &e), 0);
	assert_true(found);
	assert_string_equal(sp.state, "running");
	assert_int_equal(sp.nsteps, p.nsteps);
	for (size_t i = 0; i < sp.nsteps; i++) {
		assert_string_equal(sp.steps[i].state, "pending");
		assert_string_equal(sp.steps[i].intent_at, "");
	}
	store_plan_finish(&sp);

	/* Step 0 done, step 1 started: then the process "dies". */
	assert_int_equal(store_step_intent(f->st, id, 0, &e), 0);
	assert_int_equal(store_step_result(f->st, id, 0, "done", "READY", &e), 0);
	assert_int_equal(store_step_intent(f->st, id, 1, &e), 0);
	assert_int_equal(store_plan_get(f->st, id, &sp, &found, &e), 0);
	assert_string_equal(sp.steps[0].state, "done");
	assert_true(sp.steps[0].intent_at[0] && sp.steps[0].result_at[0]);
	assert_string_equal(sp.steps[0].result, "READY");
	assert_string_equal(sp.steps[1].state, "running");
	assert_true(sp.steps[1].intent_at[0]);
	assert_string_equal(sp.steps[1].result_at, "");
	store_plan_finish(&sp);

	/* actions_load takes the step table's states over the plan JSON's. */
	struct actions_plan q;
	char st[32];
	assert_int_equal(actions_load(f->st, id, &q, st, sizeof st, &e), 0);
	assert_string_equal(st, "running");
	assert_int_equal(q.id, id);
	assert_int_equal(q.steps[0].state, ACTIONS_DONE);
	assert_int_equal(q.steps[1].state, ACTIONS_RUNNING);
	assert_int_equal(q.steps[2].state, ACTIONS_PENDING);

	/* Listing by state. */
	struct store_plan *v = NULL;
	size_t n = 0;
	assert_int_equal(store_plan_list(f->st, "running", 0, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	store_plans_free(v, n);
	assert_int_equal(store_plan_list(f->st, "done", 0, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	store_plans_free(v, n);

	/* Abandon: no lock held, so nothing to release; then it is final. */
	char notice[256] = "";
	assert_int_equal(actions_abandon(f->st, id, "bo", notice, sizeof notice, &e), 0);
	assert_non_null(strstr(notice, "1 of 7 steps had run"));
	assert_non_null(strstr(notice, "the registry was not moved"));
	assert_int_equal(actions_load(f->st, id, &q, st, sizeof st, &e), 0);
	assert_string_equal(st, "abandoned");
	assert_int_equal(actions_abandon(f->st, id, "bo", notice, sizeof notice, &e), EXIT_CHECK);
	assert_non_null(strstr(e.msg, "abandoned"));
	assert_int_equal(actions_load(f->st, id + 100, &q, st, sizeof st, &e), EXIT_INPUT);

	struct store_audit *a = NULL;
	assert_int_equal(store_audit_list(f->st, NULL, 0, &a, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].outcome, "abandoned");
	assert_string_equal(a[0].actor, "bo");
	assert_string_equal(a[0].env, "production");
	/* What the crash left, honestly: the step that was running may have
	 * changed the cluster; none had finished doing so; the registry did
	 * not move, so it still says what it said before. */
	assert_non_null(strstr(a[0].detail, "abandoned after 1 of 7 steps"));
	assert_non_null(strstr(a[0].detail, "Step 2 (step 1) was interrupted: it may or may not "
				"have taken effect"));
	assert_non_null(strstr(a[0].detail, "No step had changed the cluster"));
	assert_non_null(strstr(a[0].detail, "The registry was not moved: production stays as "
				"it was (1.1.0)"));
	assert_string_equal(a[0].before, "1.1.0");
	assert_string_equal(a[0].after, "1.1.0");
	store_audit_free(a, n);
}

/* The console preselects the strategy of the environment's latest plan done
 * in the cluster: failed plans, other environments and registry-only
 * plans do not count. */
static void last_strategy(void **state)
{
	struct fixture *f = *state;
	struct actions_plan p;
	struct err e = {0};
	enum actions_strategy s = ACTIONS_ROLLING;
	bool found = true;
	assert_int_equal(actions_last_strategy(f->st, "production", &s, &found, &e), 0);
	assert_false(found);

	sample_plan(&p);
	long long id = journal_as(f->st, &p, "blue-green");
	assert_int_equal(store_plan_set_state(f->st, id, "done", "", &e), 0);
	id = journal_as(f->st, &p, "canary");
	assert_int_equal(store_plan_set_state(f->st, id, "failed", "analysis", &e), 0);
	snprintf(p.env, sizeof p.env, "staging");
	id = journal_as(f->st, &p, "canary");
	assert_int_equal(store_plan_set_state(f->st, id, "done", "", &e), 0);
	snprintf(p.env, sizeof p.env, "production");
	p.registry_only = true;
	id = journal_as(f->st, &p, "rolling");
	assert_int_equal(store_plan_set_state(f->st, id, "done", "", &e), 0);

	assert_int_equal(actions_last_strategy(f->st, "production", &s, &found, &e), 0);
	assert_true(found);
	assert_int_equal(s, ACTIONS_BLUEGREEN);
	assert_int_equal(actions_last_strategy(f->st, "staging", &s, &found, &e), 0);
	assert_true(found);
	assert_int_equal(s, ACTIONS_CANARY);
}

static long dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (long)pid;
}

static void take_as(struct store *st, const char *env, const char *owner, long pid,
		    const char *host)
{
	struct store_lock want = {
		.env = (char *)env, .plan_id = 7, .owner = (char *)owner, .pid = pid,
		.host = (char *)host,
	};
	struct store_lock holder = {0};
	bool taken = false;
	struct err e = {0};
	assert_int_equal(store_lock_take(st, &want, 0, &holder, &taken, &e), 0);
	assert_true(taken);
}

static void locks(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	char notice[512] = "";

	/* Free: taken; taken again by the same process: fine; released. */
	assert_int_equal(actions_lock(f->st, "staging", 1, "ana", notice, sizeof notice, &e), 0);
	assert_int_equal(actions_lock(f->st, "staging", 1, "ana", notice, sizeof notice, &e), 0);
	struct store_lock l = {0};
	bool found = false;
	assert_int_equal(store_lock_get(f->st, "staging", &l, &found, &e), 0);
	assert_true(found);
	assert_string_equal(l.owner, "ana");
	assert_int_equal(l.pid, (long)getpid());
	assert_string_equal(l.host, host);
	assert_true(l.age_s >= 0 && l.age_s < 60);
	store_lock_finish(&l);
	assert_int_equal(actions_unlock(f->st, "staging", &e), 0);
	assert_int_equal(store_lock_get(f->st, "staging", &l, &found, &e), 0);
	assert_false(found);

	/* Held by a live process (our parent) on this host: refused, naming it. */
	take_as(f->st, "production", "bo", (long)getppid(), host);
	assert_int_equal(actions_lock(f->st, "production", 2, "ana", notice, sizeof notice, &e),
			 EXIT_CHECK);
	assert_non_null(strstr(e.msg, "locked by bo"));
	char want[64];
	snprintf(want, sizeof want, "pid %ld", (long)getppid());
	assert_non_null(strstr(e.msg, want));
	/* Our unlock does not release somebody else's lock. */
	assert_int_equal(actions_unlock(f->st, "production", &e), 0);
	assert_int_equal(store_lock_get(f->st, "production", &l, &found, &e), 0);
	assert_true(found);
	store_lock_finish(&l);

	/* Held by a dead pid on another host: not judged stale. */
	long dead = dead_pid();
	take_as(f->st, "qa", "cy", dead, "elsewhere.example");
	assert_int_equal(actions_lock(f->st, "qa", 3, "ana", notice, sizeof notice, &e),
			 EXIT_CHECK);
	assert_non_null(strstr(e.msg, "elsewhere.example"));

	/* Held by a dead pid on this host: taken over, and said so. */
	take_as(f->st, "dev", "dee", dead, host);
	notice[0] = '\0';
	assert_int_equal(actions_lock(f->st, "dev", 4, "ana", notice, sizeof notice, &e), 0);
	assert_non_null(strstr(notice, "took over"));
	assert_non_null(strstr(notice, "dee"));
	assert_int_equal(store_lock_get(f->st, "dev", &l, &found, &e), 0);
	assert_string_equal(l.owner, "ana");
	assert_int_equal(l.plan_id, 4);
	store_lock_finish(&l);
}

static void locks_across_connections(void **state)
{
	/* Two store handles on one file, as two processes would have. */
	struct fixture *f = *state;
	struct err e = {0};
	struct store *other = store_open(f->path, &e);
	assert_non_null(other);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	take_as(other, "production", "bo", (long)getppid(), host);
	char notice[128];
	assert_int_equal(actions_lock(f->st, "production", 1, "ana", notice, sizeof notice, &e),
			 EXIT_CHECK);
	assert_int_equal(store_lock_release(other, "production", (long)getppid(), &e), 0);
	assert_int_equal(actions_lock(f->st, "production", 1, "ana", notice, sizeof notice, &e), 0);
	store_close(other);
}

static void abandon_respects_a_live_holder(void **state)
{
	struct fixture *f = *state;
	struct actions_plan p;
	sample_plan(&p);
	long long id = journal(f->st, &p);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	struct store_lock want = {
		.env = "production", .plan_id = id, .owner = "bo", .pid = (long)getppid(),
		.host = host,
	};
	struct store_lock holder = {0};
	bool taken = false;
	struct err e = {0};
	assert_int_equal(store_lock_take(f->st, &want, 0, &holder, &taken, &e), 0);
	char notice[256] = "";
	assert_int_equal(actions_abandon(f->st, id, "ana", notice, sizeof notice, &e), EXIT_CHECK);
	assert_non_null(strstr(e.msg, "still running"));
	/* Once that process is gone, the plan can be abandoned and its lock goes. */
	want.pid = dead_pid();
	assert_int_equal(store_lock_take(f->st, &want, (long)getppid(), &holder, &taken, &e), 0);
	assert_true(taken);
	assert_int_equal(actions_abandon(f->st, id, "ana", notice, sizeof notice, &e), 0);
	assert_non_null(strstr(notice, "released"));
	bool found = true;
	struct store_lock l = {0};
	assert_int_equal(store_lock_get(f->st, "production", &l, &found, &e), 0);
	assert_false(found);
}

static void read_only_refuses(void **state)
{
	struct fixture *f = *state;
	struct actions_plan p;
	sample_plan(&p);
	struct actions_ctx c = {
		.st = f->st, .env = envs_find("production"), .read_only = true, .owner = "ana",
	};
	struct err e = {0};
	assert_int_equal(actions_execute(&c, &p, &e), EXIT_CHECK);
	assert_non_null(strstr(e.msg, "read-only"));
	struct store_plan *v = NULL;
	size_t n = 9;
	assert_int_equal(store_plan_list(f->st, NULL, 0, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	bool found = true;
	struct store_lock l = {0};
	assert_int_equal(store_lock_get(f->st, "production", &l, &found, &e), 0);
	assert_false(found);
}

static void audit_log(void **state)
{
	struct fixture *f = *state;
	struct err e = {0};
	struct store_audit a = {
		.actor = "ana", .action = "promote (rolling)", .env = "production",
		.version = "1.2.0", .outcome = "succeeded", .detail = "plan 1: 1.1.0 -> 1.2.0",
		.before = "1.1.0", .after = "1.2.0", .reason = "fixes churn on annual plans",
	};
	assert_int_equal(store_audit_add(f->st, &a, &e), 0);
	a.env = "staging";
	a.outcome = "failed";
	assert_int_equal(store_audit_add(f->st, &a, &e), 0);
	a.env = NULL;
	a.detail = NULL;
	a.version = NULL;
	assert_int_equal(store_audit_add(f->st, &a, &e), 0);
	struct store_audit *v = NULL;
	size_t n = 0;
	assert_int_equal(store_audit_list(f->st, NULL, 0, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].outcome, "succeeded");
	assert_string_equal(v[2].env, "");
	assert_true(v[0].at[0] != '\0');
	assert_string_equal(v[0].before, "1.1.0");
	assert_string_equal(v[0].after, "1.2.0");
	assert_string_equal(v[0].reason, "fixes churn on annual plans");
	store_audit_free(v, n);
	assert_int_equal(store_audit_list(f->st, "staging", 0, &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].outcome, "failed");
	store_audit_free(v, n);
	assert_int_equal(store_audit_list(f->st, NULL, 2, &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].env, "staging"); /* the latest two, oldest first */
	store_audit_free(v, n);
	/* The audit log came with migration 4; later ones may follow. */
	assert_true(store_schema_version(f->st) >= 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_json_round_trip),
		cmocka_unit_test(strategies_parse),
		cmocka_unit_test_setup_teardown(journal_state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(last_strategy, setup, teardown),
		cmocka_unit_test_setup_teardown(locks, setup, teardown),
		cmocka_unit_test_setup_teardown(locks_across_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(abandon_respects_a_live_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(audit_log, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
