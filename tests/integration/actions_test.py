#!/usr/bin/python3
"""churnops promote, rollback, actions and audit on the sandbox cluster
(--speed 20) with the embedded registry in a private CHURNOPS_HOME: each
strategy forwards and back, an image that never becomes ready, kill -9 in
the middle then resume and abandon, two promotions at once, read-only,
dry-run, the production confirmation, the audit log.

The seconds from starting a rollback to production serving the previous
version are printed per strategy (FIGURE lines on stderr)."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402

SPEED = 20
PROD = "mlops-production"
MODEL = None
MODELS = None


def setUpModule():
    global MODEL
    h.require_binary()
    d = h.tempdir("churnops-actions-model-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 20, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))
    # The sandbox serves each version with this model, so the smoke test's
    # predictions can be compared with the local engine's.
    global MODELS
    MODELS = os.path.join(d, "served")
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        os.makedirs(os.path.join(MODELS, v))
        for f in ("model.json", "schema.json"):
            os.symlink(os.path.join(MODEL, f), os.path.join(MODELS, v, f))


class Base(unittest.TestCase):
    def setUp(self):
        # The kill tests need a rollout slow enough to be killed in the
        # middle of: real time.
        self.sim = Kubesim(speed=1 if self._testMethodName.startswith("test_kill") else SPEED,
                           models=MODELS)
        self.home = h.tempdir("churnops-actions-home-")
        kc = self.sim.kubeconfig(os.path.join(self.home, "kubeconfig"), namespace=PROD)
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester",
                    "KUBECONFIG": kc}
        for v in ("1.0.0", "1.1.0", "1.2.0"):
            self.cli("registry", "register", "--model", MODEL, "--version", v)
        # Production held 1.0.0, then 1.1.0 (what the sandbox runs).
        for v in ("1.0.0", "1.1.0"):
            self.cli("registry", "stage", v, "production", "--override", "--reason", "seed")
        sha = json.loads(self.cli("registry", "show", "1.2.0", "--json").stdout)["sha256"]
        with self.db() as c:
            c.execute("INSERT INTO checklist_runs (model_sha256, verdict, report_json) "
                      "VALUES (?, 'pass', '{}')", (sha,))
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        self.sim.stop()

    # --- helpers ---

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "data", "churnops.db"))

    def cli(self, *args, code=0, env=None, timeout=180):
        p = h.run(list(args), env=dict(self.env, **(env or {})), timeout=timeout)
        h.assert_no_crash(self, p)
        self.assertEqual(p.returncode, code, h.describe(p))
        return p

    def spawn(self, *args):
        full = dict(os.environ, **self.env)
        full.setdefault("NO_COLOR", "1")
        p = subprocess.Popen([h.CHURNOPS] + [str(a) for a in args], env=full,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def get(self, path):
        status, body = self.sim.request("GET", path)
        self.assertEqual(status, 200, body)
        return body

    def image(self, dep):
        d = self.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (PROD, dep))
        return d["spec"]["template"]["spec"]["containers"][0]["image"]

    def replicas(self, dep):
        return self.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (PROD, dep))["spec"]["replicas"]

    def served(self, svc):
        """The version the Service answers with (through the API server proxy)."""
        status, body = self.sim.request(
            "GET", "/api/v1/namespaces/%s/services/%s:80/proxy/model/info" % (PROD, svc))
        return body.get("version") if status == 200 else None

    def served_all(self, svc, n=8):
        return {self.served(svc) for _ in range(n)}

    def colour(self):
        return self.get("/api/v1/namespaces/%s/services/churn-prediction-bg" % PROD)["spec"]["selector"]["version"]

    def weights(self):
        vs = self.get("/apis/networking.istio.io/v1/namespaces/%s/virtualservices/churn-prediction" % PROD)
        return {r["destination"]["subset"]: r.get("weight") for r in vs["spec"]["http"][0]["route"]}

    def production(self):
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        return [v["label"] for v in doc["versions"] if v["stage"] == "production"]

    def plans(self):
        return json.loads(self.cli("actions", "list", "--json").stdout)["plans"]

    def audit(self):
        return json.loads(self.cli("audit", "--json").stdout)

    def wait_plan_step(self, needle, bound=60):
        deadline = time.time() + bound
        while time.time() < deadline:
            for p in self.plans():
                for s in p["steps"]:
                    if needle in s["description"] and s["state"] == "running":
                        return p
            time.sleep(0.2)
        self.fail("no plan reached a running step with %r" % needle)

    def promote(self, *extra, code=0, env=None):
        return self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                        *extra, code=code, env=env)

    def timed_rollback(self, strategy, check):
        t0 = time.time()
        self.cli("rollback", "--target", "previous", "--env", "production", "--yes",
                 "--strategy", strategy)
        t1 = time.time()
        self.assertTrue(check(), "production does not serve 1.1.0 after the rollback")
        sys.stderr.write("FIGURE rollback %s: %.2f s at --speed %d\n" % (strategy, t1 - t0, SPEED))
        return t1 - t0



class Actions(Base):

    def test_rolling_promote_and_rollback(self):
        p = self.promote()
        self.assertIn("set image of deployment", p.stdout)
        self.assertIn("done", p.stdout)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.production(), ["1.2.0"])
        doc = json.loads(self.cli("registry", "show", "1.1.0", "--json").stdout)
        self.assertIn("last-known-good", doc["aliases"])
        self.timed_rollback("rolling",
                            lambda: self.image("churn-prediction") == "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.production(), ["1.1.0"])
        hist = self.get("/apis/apps/v1/namespaces/%s/deployments/churn-prediction" % PROD)
        self.assertIn("deployment.kubernetes.io/revision", hist["metadata"]["annotations"])
        plans = self.plans()
        self.assertEqual([(x["kind"], x["state"]) for x in plans],
                         [("promote", "done"), ("rollback", "done")])
        self.assertTrue(any("undo deployment" in s["description"] for s in plans[1]["steps"]),
                        plans[1])
        for s in plans[0]["steps"]:
            self.assertTrue(s["intent_at"] and s["result_at"], s)

    def test_blue_green_promote_and_rollback(self):
        self.assertEqual(self.colour(), "blue")
        self.promote("--strategy", "blue-green")
        self.assertEqual(self.colour(), "green")
        self.assertEqual(self.image("churn-prediction-green"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.image("churn-prediction-blue"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.served_all("churn-prediction-bg"), {"1.2.0"})
        smoke = [st for st in self.plans()[-1]["steps"] if "smoke test" in st["description"]]
        self.assertIn("predictions match the local engine", smoke[-1]["result"])
        self.timed_rollback("blue-green",
                            lambda: self.served_all("churn-prediction-bg") == {"1.1.0"})
        self.assertEqual(self.colour(), "blue")
        self.assertEqual(self.production(), ["1.1.0"])

    def test_skewed_service_fails_the_smoke_test(self):
        # Green answers with other probabilities than the model: serving skew.
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-green", "skew": 0.2})
        p = self.promote("--strategy", "blue-green", code=1)
        self.assertIn("smoke", p.stderr)
        self.assertIn("switched back to blue", p.stderr)
        self.assertEqual(self.colour(), "blue")
        self.assertEqual(self.served_all("churn-prediction-bg"), {"1.1.0"})
        self.assertEqual(self.production(), ["1.1.0"])

    def test_canary_promote_and_rollback(self):
        p = self.promote("--strategy", "canary", "--skip-analysis", "--analysis-interval", "0.3")
        self.assertIn("stable 90%, canary 10%", p.stdout)
        self.assertIn("stable 50%, canary 50%", p.stdout)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assertEqual(self.replicas("churn-prediction-canary"), 0)
        self.timed_rollback("canary",
                            lambda: self.served_all("churn-prediction") == {"1.1.0"})
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assertEqual(self.production(), ["1.1.0"])

    def test_canary_needs_prometheus_or_skip(self):
        p = self.promote("--strategy", "canary", code=2, )
        self.assertIn("Prometheus", p.stderr)

    def test_never_ready_keeps_old_version(self):
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction", "never_ready": True})
        p = self.promote("--timeout", "6", code=1)
        self.assertIn("rollout", p.stderr)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.served_all("churn-prediction"), {"1.1.0"})
        self.assertEqual(self.production(), ["1.1.0"])
        plan = self.plans()[-1]
        self.assertEqual(plan["state"], "failed")
        self.assertIn("set image back", plan["detail"])
        self.assertEqual(self.audit()[-1]["outcome"], "failed")

    def _killed_midway(self):
        proc = self.spawn("promote", "--version", "1.2.0", "--env", "production", "--yes",
                          "--timeout", "120")
        plan = self.wait_plan_step("wait for the rollout")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        listing = self.cli("actions", "list").stdout
        self.assertIn("that process is gone", listing)
        self.assertEqual(self.plans()[-1]["state"], "running")
        return plan["id"]

    def test_kill_then_resume(self):
        pid = self._killed_midway()
        # A new promotion takes over the dead process's lock, and says so;
        # but first, resume the interrupted one.
        p = self.cli("actions", "resume", pid, "--yes")
        self.assertIn("took over", p.stderr)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.production(), ["1.2.0"])
        plan = [x for x in self.plans() if x["id"] == pid][0]
        self.assertEqual(plan["state"], "done")
        self.assertEqual({st["state"] for st in plan["steps"]}, {"done"})
        self.assertIn("successfully rolled out", plan["steps"][2]["result"])

    def test_kill_then_abandon(self):
        pid = self._killed_midway()
        p = self.cli("actions", "abandon", pid)
        self.assertIn("released", p.stdout)
        plan = [x for x in self.plans() if x["id"] == pid][0]
        self.assertEqual(plan["state"], "abandoned")
        self.cli("actions", "resume", pid, "--yes", code=1)
        self.assertEqual(self.audit()[-1]["outcome"], "abandoned")
        # The environment is free again.
        self.cli("rollback", "--target", "1.1.0", "--env", "production", "--yes")
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")

    def test_two_promotions_at_once(self):
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction", "never_ready": True})
        first = self.spawn("promote", "--version", "1.2.0", "--env", "production", "--yes",
                           "--timeout", "120", "--actor", "alice")
        self.wait_plan_step("wait for the rollout")
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                     "--actor", "bob", code=1)
        self.assertIn("locked by alice", p.stderr)
        self.assertIn("pid %d" % first.pid, p.stderr)
        first.send_signal(signal.SIGTERM)
        first.wait()

    def test_read_only_refuses(self):
        p = self.promote(code=1, env={"CHURNOPS_READ_ONLY": "1"})
        self.assertIn("read-only", p.stderr)
        p = self.promote("--read-only", code=1)
        self.assertIn("read-only", p.stderr)
        self.cli("rollback", "--env", "production", "--yes", "--read-only", code=1)
        self.assertEqual(self.plans(), [])
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")

    def test_dry_run_prints_the_plan(self):
        for strategy, needle in (("rolling", "set image of deployment mlops-production/churn-prediction"),
                                 ("blue-green", "switch Service churn-prediction-bg to the green colour"),
                                 ("canary", "stable 50%, canary 50%")):
            p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--dry-run",
                         "--strategy", strategy, "--skip-analysis")
            self.assertIn(needle, p.stdout)
            self.assertIn("requires:", p.stdout)
            self.assertIn("checks:", p.stdout)
            self.assertIn("dry run: nothing changed", p.stdout)
        doc = json.loads(self.cli("rollback", "--env", "production", "--dry-run", "--json").stdout)
        self.assertEqual(doc["version"], "1.0.0")  # the holder before 1.1.0
        self.assertEqual(doc["from_version"], "1.1.0")
        self.assertTrue(doc["dry_run"])
        self.assertEqual(self.plans(), [])
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")

    def test_production_needs_yes_without_terminal(self):
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", code=1)
        self.assertIn("--yes", p.stderr)
        self.assertEqual(self.plans(), [])

    def _at_terminal(self, typed, *args):
        """Runs churnops with stdin on a pseudo-terminal where TYPED is typed."""
        master, slave = os.openpty()
        try:
            full = dict(os.environ, **self.env)
            proc = subprocess.Popen([h.CHURNOPS] + list(args), env=full, stdin=slave,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.write(master, typed.encode() + b"\n")
            out, err = proc.communicate(timeout=120)
        finally:
            os.close(master)
            os.close(slave)
        return proc.returncode, out.decode(), err.decode()

    def test_production_name_typed_at_a_terminal(self):
        rc, out, err = self._at_terminal("prod", "promote", "--version", "1.2.0",
                                         "--env", "production")
        self.assertEqual(rc, 1, err)
        self.assertIn("type the environment name (production)", err)
        self.assertIn("not confirmed", err)
        self.assertEqual(self.plans(), [])
        rc, out, err = self._at_terminal("production", "promote", "--version", "1.2.0",
                                         "--env", "production")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")

    def test_refusals_from_the_registry(self):
        self.cli("promote", "--version", "9.9.9", "--env", "production", "--yes", code=2)
        with self.db() as c:
            c.execute("DELETE FROM checklist_runs")
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes", code=1)
        self.assertIn("verdict", p.stderr)
        self.cli("promote", "--version", "1.2.0", "--env", "production", "--override", code=2)
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--dry-run",
                     "--override", "--reason", "hotfix")
        self.assertIn("overridden: hotfix", p.stdout)
        self.assertEqual(self.plans(), [])

    def test_audit_lists_the_actions(self):
        self.promote()
        self.cli("rollback", "--env", "production", "--yes")
        self.promote("--read-only", code=1)
        recs = self.audit()
        self.assertEqual([(r["action"], r["outcome"]) for r in recs],
                         [("promote (rolling)", "succeeded"), ("rollback (rolling)", "succeeded")])
        self.assertEqual({r["actor"] for r in recs}, {"tester"})
        self.assertEqual(recs[0]["version"], "1.2.0")
        self.assertEqual(recs[1]["version"], "1.1.0")
        self.assertIn("1.1.0 -> 1.2.0", recs[0]["detail"])
        text = self.cli("audit").stdout
        self.assertIn("promote (rolling)", text)
        self.assertEqual(len(self.audit()), 2)


class WithPrometheus(Base):
    """Canary analysis and watch under policy auto need the real Prometheus
    scraping the sandbox (prom_live_test's way of starting it)."""

    def setUp(self):
        import prom_live_test as pl
        if not os.path.exists(pl.PROMETHEUS):
            self.skipTest("prometheus not installed")
        super().setUp()
        d = h.tempdir("churnops-actions-prom-")
        rules = os.path.join(d, "rules.yml")
        with open(rules, "w") as f:
            f.write("groups: []\n")
        self.prom, self.prom_url = pl.start_prometheus(d, self.sim.port, rules)
        self.triggers = os.path.join(d, "triggers.json")
        with open(self.triggers, "w") as f:
            json.dump({"interval": "1s", "window": "10s",
                       "metrics": {n: {"for": "0s"} for n in
                                   ("roc_auc", "latency_p95", "error_rate", "drift")},
                       "environments": {"production": {"policy": "auto"}}}, f)
        self.env["PROMETHEUS_URL"] = self.prom_url
        # Rates need two scrapes in the window.
        deadline = time.time() + 60
        while time.time() < deadline:
            p = h.run(["metrics", "--env", "production", "--canary", "--json",
                       "--triggers", self.triggers], env=self.env)
            if p.returncode == 0:
                return
            time.sleep(1)
        self.fail("no canary metrics from Prometheus: " + h.describe(p))

    def tearDown(self):
        self.prom.terminate()
        self.prom.wait()
        super().tearDown()

    def test_canary_with_analysis(self):
        p = self.promote("--strategy", "canary", "--analysis-interval", "1",
                         "--triggers", self.triggers)
        self.assertIn("canary no worse than stable on", p.stdout)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})

    def test_failed_analysis_aborts(self):
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-canary",
                         "latency_ms": 400})
        time.sleep(4)
        p = self.promote("--strategy", "canary", "--analysis-interval", "3",
                         "--triggers", self.triggers, code=1)
        self.assertIn("analysis failed: latency_p95", p.stderr)
        self.assertIn("aborted: canary weight back to 0", p.stderr)
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.production(), ["1.1.0"])
        self.assertIn("analysis failed", self.plans()[-1]["detail"])

    def test_watch_auto_rolls_back(self):
        self.promote()
        self.assertEqual(self.production(), ["1.2.0"])
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction", "drift": 0.35})
        deadline = time.time() + 60
        while True:
            p = h.run(["watch", "--env", "production", "--once", "--json",
                       "--triggers", self.triggers], env=self.env, timeout=120)
            h.assert_no_crash(self, p)
            if p.returncode == 1 or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(p.returncode, 1, h.describe(p))
        doc = json.loads(p.stdout)
        self.assertIn("drift", doc["firing"])
        self.assertEqual(doc["action"], "rolled_back", p.stderr)
        self.assertIn("rolled back to 1.1.0 by trigger", p.stderr)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.production(), ["1.1.0"])
        rec = self.audit()[-1]
        self.assertEqual(rec["action"], "rollback by trigger (rolling)")
        self.assertEqual(rec["actor"], "churnops-watch")
        self.assertEqual(rec["outcome"], "succeeded")


if __name__ == "__main__":
    unittest.main(verbosity=2)
