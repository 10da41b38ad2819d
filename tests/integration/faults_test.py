#!/usr/bin/python3
"""Failing neighbours: every backend (the Kubernetes API, MLflow, Prometheus,
the model service) behind the fault server (tests/lib/faultserver.py) in
every way it can fail: nothing listening, a reset mid-body, a hang, HTTP 500
with a page or with JSON, garbage, truncated JSON, an answer far over the
size cap (declared or chunked without end), one byte a second.

Each command must exit 3 with a message naming the server and the failure
(the server's own words for a JSON error), within a bound (hangs and
trickles are cut by the client's timeouts), without a sanitizer report or
a raw escape sequence from the server, and leave its store whole: PRAGMA
integrity_check passes and no plan or step is left 'running'.

Then promote against a cluster whose API fails in the middle of the plan
(the fault server passing the other requests on to the sandbox): the
journal shows the failed step, the audit log the failure, and the registry
has not moved."""

import concurrent.futures
import json
import os
import re
import shutil
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402
from faultserver import ERROR_WORDS, FaultServer  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402

FAULTS = ("refused", "reset", "hang", "500-html", "500-json", "garbage", "truncated",
          "huge", "endless", "trickle")
SLOW = ("hang", "trickle")

# What the message must say for each fault (a regular expression).
WORDS = {
    "refused": r"unreachable",
    "reset": r"connection closed \(.*reset",
    "hang": r"timed out",
    "500-html": r"HTTP 500.*upstream exploded|upstream exploded.*HTTP 500",
    "500-json": re.escape(ERROR_WORDS),
    "garbage": r"not (valid )?JSON|not the API's JSON",
    "truncated": r"connection closed \(transfer closed",
    "huge": r"larger than \d+ bytes",
    "endless": r"larger than \d+ bytes",
    "trickle": r"timed out",
}

# Seconds a request may take before the client's stall limit cuts it, plus
# the sanitizers' start-up on a loaded machine.
STALL = 10
SLACK = 25

MODEL = None
SERVERS = {}
RESULTS = {}


def kubeconfig(path, server):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "faulty",
           "clusters": [{"name": "faulty", "cluster": {"server": server}}],
           "users": [{"name": "u", "user": {"token": "kube-token"}}],
           "contexts": [{"name": "faulty", "context": {"cluster": "faulty", "user": "u"}}]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f)
    return path


# backend -> [(name, argv, environment maker, requests a hang costs)]
def cases(url, home):
    kc = kubeconfig(os.path.join(home, "kubeconfig"), url)
    kube = {"KUBECONFIG": kc}
    ml = {"MLFLOW_TRACKING_URI": url}
    prom = {"PROMETHEUS_URL": url}
    return {
        "kube": [
            ("cluster pods", ["cluster", "pods", "--env", "staging"], kube, 1),
            ("status", ["status"], kube, 2),
        ],
        "mlflow": [
            ("registry list", ["registry", "list", "--backend", "mlflow", "--timeout", 5],
             ml, 0.5),
        ],
        "prometheus": [
            ("metrics", ["metrics", "--env", "production"], prom, 1),
            ("watch", ["watch", "--env", "production", "--once"], prom, 1),
        ],
        "service": [
            ("smoke", ["smoke", "--endpoint", url, "--model", MODEL], {}, 3),
            ("loadtest", ["loadtest", "--endpoint", url, "--duration", 2,
                          "--concurrency", 2], {}, 1.3),
        ],
    }


def run_case(mode, backend, name, args, env, home):
    t0 = time.monotonic()
    full = {"CHURNOPS_HOME": home, "KUBECONFIG": os.path.join(home, "no-kubeconfig")}
    full.update(env)
    p = h.run(args, env=full, timeout=180)
    return p, time.monotonic() - t0


def setUpModule():
    global MODEL
    h.require_binary()
    d = h.tempdir("churnops-faults-model-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 10, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))
    for mode in FAULTS:
        SERVERS[mode] = FaultServer(mode)
    # Every case at once: the slow ones mostly wait on their timeouts.
    jobs = []
    for mode in FAULTS:
        srv = SERVERS[mode]
        for backend, cs in cases(srv.url, h.tempdir("churnops-faults-kc-")).items():
            for name, args, env, calls in cs:
                home = h.tempdir("churnops-faults-home-")
                jobs.append((mode, backend, name, args, env, calls, home))
    jobs.sort(key=lambda j: j[0] not in SLOW)
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as ex:
        futures = {ex.submit(run_case, m, b, n, a, e, home): (m, b, n, c, home)
                   for m, b, n, a, e, c, home in jobs}
        for f in concurrent.futures.as_completed(futures):
            m, b, n, c, home = futures[f]
            p, elapsed = f.result()
            RESULTS[(m, b, n)] = (p, elapsed, c, home)


def tearDownModule():
    for srv in SERVERS.values():
        srv.stop()


def check_store(tc, home, what):
    """The store under HOME (if the command made one) is whole and no plan or
    step is left running."""
    db = os.path.join(home, "data", "churnops.db")
    if not os.path.exists(db):
        return
    with sqlite3.connect(db) as c:
        tc.assertEqual(c.execute("PRAGMA integrity_check").fetchall(), [("ok",)], what)
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "plans" in tables:
            tc.assertEqual(c.execute("SELECT count(*) FROM plans WHERE state = 'running'")
                           .fetchone()[0], 0, what)
            tc.assertEqual(c.execute("SELECT count(*) FROM plan_steps WHERE state = 'running'")
                           .fetchone()[0], 0, what)


class Faults(unittest.TestCase):
    def check_backend(self, backend):
        names = sorted({k[2] for k in RESULTS if k[1] == backend})
        self.assertTrue(names)
        for mode in FAULTS:
            port = SERVERS[mode].port
            for name in names:
                with self.subTest(fault=mode, command=name):
                    p, elapsed, calls, home = RESULTS[(mode, backend, name)]
                    what = "%s against %s\n%s" % (mode, backend, h.describe(p))
                    h.assert_no_crash(self, p)
                    self.assertEqual(p.returncode, 3, what)
                    self.assertRegex(p.stderr, r"(?m)^churnops: ", what)
                    self.assertIn("127.0.0.1:%d" % port, p.stderr, what)
                    self.assertRegex(p.stderr, WORDS[mode], what)
                    for text in (p.stdout, p.stderr):
                        self.assertNotIn("\x1b", text, what)
                        self.assertNotIn("\x00", text, what)
                    bound = SLACK + (STALL * calls if mode in SLOW else 0)
                    self.assertLess(elapsed, bound, what)
                    check_store(self, home, what)

    def test_kubernetes_api(self):
        self.check_backend("kube")

    def test_mlflow(self):
        self.check_backend("mlflow")

    def test_prometheus(self):
        self.check_backend("prometheus")

    def test_model_service(self):
        self.check_backend("service")

    def test_hang_is_cut_by_the_stall_limit_not_the_total_timeout(self):
        # The Kubernetes client's total timeout is 30 s: a hang ends at the
        # 10 s stall limit instead.
        p, elapsed, _, _ = RESULTS[("hang", "kube", "cluster pods")]
        self.assertIn("too slow", p.stderr, h.describe(p))
        self.assertLess(elapsed, STALL + SLACK)

    def test_answers_over_the_cap_are_refused_early(self):
        # A declared Content-Length over the cap is refused before the
        # body is read: no time passes reading 100 MB.
        for backend, name in (("kube", "cluster pods"), ("prometheus", "metrics"),
                              ("mlflow", "registry list")):
            p, elapsed, _, _ = RESULTS[("huge", backend, name)]
            self.assertLess(elapsed, 15, h.describe(p))

    def test_loadtest_counts_garbage_as_errors(self):
        p, _, _, _ = RESULTS[("garbage", "service", "loadtest")]
        self.assertIn("no request succeeded", p.stderr)
        self.assertIn("not JSON", p.stderr)
        self.assertRegex(p.stdout, r"ok 0\b", h.describe(p))


class PromoteAgainstFaults(unittest.TestCase):
    """promote --env staging while the API server fails part-way; the
    other requests reach the sandbox through the fault server."""

    @classmethod
    def setUpClass(cls):
        cls.template = h.tempdir("churnops-faults-promote-")
        env = {"CHURNOPS_HOME": cls.template, "CHURNOPS_ACTOR": "tester",
               "KUBECONFIG": os.path.join(cls.template, "no-kubeconfig")}
        for args in (["registry", "register", "--model", MODEL, "--version", "1.0.0"],
                     ["registry", "register", "--model", MODEL, "--version", "1.1.0"],
                     ["registry", "stage", "1.0.0", "staging"]):
            p = h.run(args, env=env)
            if p.returncode != 0:
                raise RuntimeError(h.describe(p))

    def setUp(self):
        self.sim = Kubesim(speed=20)
        self.home = os.path.join(h.tempdir("churnops-faults-promote-"), "home")
        shutil.copytree(self.template, self.home)

    def tearDown(self):
        self.sim.stop()

    def promote(self, srv):
        kc = kubeconfig(os.path.join(self.home, "kubeconfig"), srv.url)
        env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester", "KUBECONFIG": kc}
        t0 = time.monotonic()
        p = h.run(["promote", "--version", "1.1.0", "--env", "staging", "--yes",
                   "--timeout", 20], env=env, timeout=180)
        elapsed = time.monotonic() - t0
        h.assert_no_crash(self, p)
        self.assertEqual(p.returncode, 3, h.describe(p))
        self.assertIn("127.0.0.1:%d" % srv.port, p.stderr, h.describe(p))
        self.assertLess(elapsed, 60, h.describe(p))
        stages = {v["label"]: v["stage"] for v in json.loads(
            h.run(["registry", "list", "--json"], env=env).stdout)["versions"]}
        self.assertEqual(stages, {"1.0.0": "staging", "1.1.0": "none"}, "the registry moved")
        check_store(self, self.home, h.describe(p))
        return p

    def journal(self):
        with sqlite3.connect(os.path.join(self.home, "data", "churnops.db")) as c:
            plans = c.execute("SELECT id, state, detail FROM plans ORDER BY id").fetchall()
            steps = c.execute("SELECT plan_id, idx, description, state, result "
                              "FROM plan_steps ORDER BY plan_id, idx").fetchall()
            audit = c.execute("SELECT action, outcome, detail FROM audit ORDER BY id").fetchall()
        return plans, steps, audit

    def check_failed_step(self, mode, step_prefix):
        plans, steps, audit = self.journal()
        self.assertEqual(len(plans), 1, plans)
        self.assertEqual(plans[0][1], "failed", plans)
        failed = [s for s in steps if s[3] == "failed"]
        self.assertEqual(len(failed), 1, steps)
        self.assertTrue(failed[0][2].startswith(step_prefix), failed)
        self.assertRegex(failed[0][4], WORDS[mode], failed)
        after = [s for s in steps if s[1] > failed[0][1]]
        self.assertTrue(after and all(s[3] == "pending" for s in after), steps)
        # Steps before it ran, or were undone after the failure (and say so).
        before = [s for s in steps if s[1] < failed[0][1]]
        self.assertTrue(all(s[3] == "done" or (s[3] == "pending" and "undone" in s[4])
                            for s in before), steps)
        self.assertEqual(audit[-1][1], "failed", audit)
        self.assertRegex(audit[-1][2], WORDS[mode], audit)

    def test_set_image_fails(self):
        for mode in ("500-json", "reset", "hang"):
            with self.subTest(fault=mode):
                shutil.rmtree(self.home)
                shutil.copytree(self.template, self.home)
                with FaultServer(mode, upstream=self.sim.url,
                                 fault_if=lambda method, path: method == "PATCH") as srv:
                    p = self.promote(srv)
                self.assertIn("set-image", p.stderr)
                self.check_failed_step(mode, "set image of deployment")

    def test_rollout_watch_fails(self):
        # A watch that never begins its answer is cut as a hang: the step
        # fails as the server's failure (3), not as a slow rollout (1).
        for mode in ("500-html", "truncated", "hang"):
            with self.subTest(fault=mode):
                shutil.rmtree(self.home)
                shutil.copytree(self.template, self.home)
                with FaultServer(mode, upstream=self.sim.url,
                                 fault_if=lambda method, path: "watch=true" in path) as srv:
                    p = self.promote(srv)
                self.assertIn("wait-rollout", p.stderr)
                self.check_failed_step(mode, "wait for the rollout")

    def test_api_down_before_the_plan(self):
        # Nothing could be read: no plan was made, nothing was journalled
        # as running, and the registry stays.
        for mode in ("refused", "garbage"):
            with self.subTest(fault=mode):
                shutil.rmtree(self.home)
                shutil.copytree(self.template, self.home)
                with FaultServer(mode) as srv:
                    p = self.promote(srv)
                self.assertRegex(p.stderr, WORDS[mode])
                plans, steps, _ = self.journal()
                self.assertFalse([s for s in steps if s[3] in ("running", "done")
                                  and not s[2].startswith("registry checks")], steps)
                self.assertFalse([x for x in plans if x[1] == "running"], plans)


if __name__ == "__main__":
    unittest.main(verbosity=2)
