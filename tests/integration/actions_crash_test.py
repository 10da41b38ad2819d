#!/usr/bin/python3
"""kill -9 in the middle of a promote or a rollback, for each strategy, on
the sandbox cluster at --speed 1 (real time: a pod takes three seconds to
become ready, so a rollout is a window of several seconds), with the
embedded registry in a private CHURNOPS_HOME.

The process is killed when the journal in the store (tables plans and
plan_steps) shows the chosen step running. Then:

  - `churnops actions list` shows the unfinished plan and that its process
    is gone;
  - `churnops actions resume ID` reconciles each step with the cluster and
    finishes: production serves the intended version (the service proxy's
    /model/info) and the registry's production stage holds it;
  - or `churnops actions abandon ID` releases the lock, moves neither the
    registry nor the cluster, and the audit record says abandoned and what
    the steps that ran left behind.

A kill can also fall between a step's call and its result in the journal.
That window is too short to hit by timing, so those tests kill in the next
step and put the journal back to what such a kill leaves (the step
"running"): a resumed step whose effect already holds must be skipped
("already so"), not done twice.
"""

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

SPEED = 1
PROD = "mlops-production"
BOUND = 120  # seconds for anything that waits on the sandbox
MODEL = None
MODELS = None


def setUpModule():
    global MODEL, MODELS
    h.require_binary()
    d = h.tempdir("churnops-crash-model-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 20, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))
    MODELS = os.path.join(d, "served")
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        os.makedirs(os.path.join(MODELS, v))
        for f in ("model.json", "schema.json"):
            os.symlink(os.path.join(MODEL, f), os.path.join(MODELS, v, f))


class Crash(unittest.TestCase):
    def setUp(self):
        self.sim = Kubesim(speed=SPEED, models=MODELS)
        self.home = h.tempdir("churnops-crash-home-")
        kc = self.sim.kubeconfig(os.path.join(self.home, "kubeconfig"), namespace=PROD)
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester",
                    "KUBECONFIG": kc}
        for v in ("1.0.0", "1.1.0", "1.2.0"):
            self.cli("registry", "register", "--model", MODEL, "--version", v)
        # Production held 1.0.0, then 1.1.0 (what the sandbox runs), so
        # the rollback target "previous" is 1.0.0.
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

    # --- churnops ---

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "data", "churnops.db"), timeout=30)

    def cli(self, *args, code=0, timeout=300):
        p = h.run(list(args), env=self.env, timeout=timeout)
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

    def kill_at(self, proc, needle, state="running"):
        """SIGKILLs PROC once the journal shows a step whose description
        contains NEEDLE in STATE; returns the plan's id."""
        deadline = time.time() + BOUND
        while time.time() < deadline:
            with self.db() as c:
                row = c.execute(
                    "SELECT p.id FROM plans p JOIN plan_steps s ON s.plan_id = p.id "
                    "WHERE p.state = 'running' AND s.state = ? AND instr(s.description, ?) > 0",
                    (state, needle)).fetchone()
            if row:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return row[0]
            if proc.poll() is not None:
                self.fail("the plan ended before step %r was %s: %s" % (
                    needle, state, proc.stdout.read().decode(errors="replace")))
            time.sleep(0.1)
        self.fail("no step %r became %s" % (needle, state))

    def as_if_killed_inside(self, plan, needle):
        """Puts the journal back to what a kill between the call of step
        NEEDLE and its result leaves: that step running, the later ones
        pending."""
        with self.db() as c:
            idx = c.execute("SELECT idx FROM plan_steps WHERE plan_id = ? AND "
                            "instr(description, ?) > 0", (plan, needle)).fetchone()[0]
            c.execute("UPDATE plan_steps SET state = 'running', result = '', result_at = '' "
                      "WHERE plan_id = ? AND idx = ?", (plan, idx))
            c.execute("UPDATE plan_steps SET state = 'pending', intent_at = '', result = '', "
                      "result_at = '' WHERE plan_id = ? AND idx > ?", (plan, idx))

    def plan(self, pid):
        return [x for x in json.loads(self.cli("actions", "list", "--json").stdout)["plans"]
                if x["id"] == pid][0]

    def step(self, plan, needle):
        return [s for s in plan["steps"] if needle in s["description"]][0]

    def production(self):
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        return [v["label"] for v in doc["versions"] if v["stage"] == "production"]

    def audit(self):
        return json.loads(self.cli("audit", "--json").stdout)

    def lock(self):
        with self.db() as c:
            return c.execute("SELECT pid FROM env_locks WHERE env = 'production'").fetchone()

    def assert_interrupted(self, pid):
        text = self.cli("actions", "list").stdout
        line = [x for x in text.splitlines() if x.split()[:1] == [str(pid)]]
        self.assertTrue(line and " running " in line[0], text)
        self.assertIn("that process is gone; resume or abandon", text)
        p = self.plan(pid)
        self.assertEqual(p["state"], "running")
        self.assertTrue(p["lock"]["stale"], p)

    def resume(self, pid):
        p = self.cli("actions", "resume", pid, "--yes")
        self.assertIn("took over the production lock", p.stderr)
        plan = self.plan(pid)
        self.assertEqual(plan["state"], "done", plan)
        self.assertTrue({s["state"] for s in plan["steps"]} <= {"done", "skipped"}, plan)
        self.assertIsNone(self.lock())
        rec = self.audit()[-1]
        self.assertEqual(rec["outcome"], "succeeded", rec)
        return plan

    def abandon(self, pid):
        p = self.cli("actions", "abandon", pid)
        self.assertIn("released the production lock", p.stdout)
        self.assertEqual(self.plan(pid)["state"], "abandoned")
        self.assertIsNone(self.lock())
        self.cli("actions", "resume", pid, "--yes", code=1)
        rec = self.audit()[-1]
        self.assertEqual(rec["outcome"], "abandoned", rec)
        self.assertEqual(rec["actor"], "tester")
        self.assertIn("The registry was not moved: production stays as it was (1.1.0)", rec["detail"])
        return rec

    # --- the cluster ---

    def get(self, path):
        status, body = self.sim.request("GET", path)
        self.assertEqual(status, 200, body)
        return body

    def image(self, dep):
        d = self.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (PROD, dep))
        return d["spec"]["template"]["spec"]["containers"][0]["image"]

    def replicas(self, dep):
        return self.get("/apis/apps/v1/namespaces/%s/deployments/%s" % (PROD, dep))["spec"]["replicas"]

    def colour(self):
        return self.get("/api/v1/namespaces/%s/services/churn-prediction-bg" % PROD)["spec"]["selector"]["version"]

    def weights(self):
        vs = self.get("/apis/networking.istio.io/v1/namespaces/%s/virtualservices/churn-prediction" % PROD)
        return {r["destination"]["subset"]: r.get("weight") for r in vs["spec"]["http"][0]["route"]}

    def served(self, svc, dep=None, n=12):
        """Versions the Service answers /model/info with (through the API
        server's proxy), only from deployment DEP's pods when given: the
        sandbox's Service churn-prediction also reaches the canary's pods,
        which Istio's weights would keep from traffic in a real mesh."""
        seen = set()
        for _ in range(n):
            status, body = self.sim.request(
                "GET", "/api/v1/namespaces/%s/services/%s:80/proxy/model/info" % (PROD, svc))
            self.assertEqual(status, 200, body)
            if dep is None or body.get("deployment") == dep:
                seen.add(body.get("version"))
        return seen

    def wait_served(self, svc, version, dep=None):
        deadline = time.time() + BOUND
        while self.served(svc, dep) != {version}:
            if time.time() > deadline:
                self.fail("%s does not serve only %s: %s" % (svc, version, self.served(svc, dep)))
            time.sleep(0.5)

    # --- blue-green promote ---

    def start_bluegreen(self):
        return self.spawn("promote", "--version", "1.2.0", "--env", "production", "--yes",
                          "--strategy", "blue-green", "--timeout", BOUND)

    def test_bluegreen_promote_killed_in_rollout_resumed(self):
        pid = self.kill_at(self.start_bluegreen(), "wait for the rollout of churn-prediction-green")
        self.assert_interrupted(pid)
        self.assertEqual(self.colour(), "blue")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.1.0"})
        plan = self.resume(pid)
        self.assertIn("successfully rolled out",
                      self.step(plan, "wait for the rollout")["result"])
        self.assertEqual(self.colour(), "green")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.2.0"})
        self.assertEqual(self.image("churn-prediction-blue"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.production(), ["1.2.0"])

    def test_bluegreen_promote_killed_at_switch_resumed(self):
        # The smoke test after the switch is slowed down so that the kill
        # lands there; the journal is then put back to a kill inside the
        # switch (the Service already switched, the step not recorded).
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-green",
                         "latency_ms": 3000})
        pid = self.kill_at(self.start_bluegreen(), "smoke test through Service churn-prediction-bg")
        self.assertEqual(self.colour(), "green")
        self.as_if_killed_inside(pid, "switch Service churn-prediction-bg")
        self.sim.reset()
        self.assert_interrupted(pid)
        plan = self.resume(pid)
        switch = self.step(plan, "switch Service")
        self.assertEqual(switch["state"], "skipped", switch)
        self.assertIn("already so", switch["result"])
        self.assertEqual(self.colour(), "green")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.2.0"})
        self.assertEqual(self.production(), ["1.2.0"])
        self.assertIn("1.1.0 -> 1.2.0", self.audit()[-1]["detail"])

    def test_bluegreen_resumed_after_switch_fails_and_switches_back(self):
        # Killed inside the switch as above; on resume green answers with
        # skewed probabilities, so the smoke test fails: the Service must
        # go back to blue although this run found the switch already done.
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-green",
                         "latency_ms": 3000})
        pid = self.kill_at(self.start_bluegreen(), "smoke test through Service churn-prediction-bg")
        self.as_if_killed_inside(pid, "switch Service churn-prediction-bg")
        self.sim.reset()
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-green", "skew": 0.2})
        p = self.cli("actions", "resume", pid, "--yes", code=1)
        self.assertIn("switched back to blue", p.stderr)
        self.assertEqual(self.colour(), "blue")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.1.0"})
        self.assertEqual(self.production(), ["1.1.0"])
        self.assertEqual(self.plan(pid)["state"], "failed")
        self.assertEqual(self.audit()[-1]["outcome"], "failed")
        self.assertIsNone(self.lock())

    def test_failed_bluegreen_promote_resumed(self):
        # Not a crash: the smoke test fails and the Service switches back.
        # The switch is then pending again in the journal, so resuming
        # once green is fixed switches again instead of smoke-testing blue.
        self.sim.inject({"namespace": PROD, "deployment": "churn-prediction-green", "skew": 0.2})
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                     "--strategy", "blue-green", "--timeout", BOUND, code=1)
        self.assertIn("switched back to blue", p.stderr)
        self.assertEqual(self.colour(), "blue")
        pid = json.loads(self.cli("actions", "list", "--json").stdout)["plans"][-1]["id"]
        plan = self.plan(pid)
        self.assertEqual(plan["state"], "failed")
        switch = self.step(plan, "switch Service")
        self.assertEqual(switch["state"], "pending", switch)
        self.assertIn("undone after the failure: switched back to blue", switch["result"])
        self.assertEqual(self.step(plan, "set image of deployment")["state"], "done")
        self.sim.reset()
        self.cli("actions", "resume", pid, "--yes")
        plan = self.plan(pid)
        self.assertEqual(plan["state"], "done", plan)
        self.assertEqual(self.step(plan, "set image of deployment")["state"], "done")
        self.assertEqual(self.step(plan, "switch Service")["state"], "done")
        self.assertEqual(self.colour(), "green")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.2.0"})
        self.assertEqual(self.production(), ["1.2.0"])
        self.assertIsNone(self.lock())

    def test_bluegreen_promote_killed_then_abandoned(self):
        pid = self.kill_at(self.start_bluegreen(), "wait for the rollout of churn-prediction-green")
        rec = self.abandon(pid)
        self.assertIn("set image of deployment mlops-production/churn-prediction-green",
                      rec["detail"])
        self.assertEqual(rec["before"], "1.1.0")
        # Traffic never moved, and neither did the registry.
        self.assertEqual(self.colour(), "blue")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.1.0"})
        self.assertEqual(self.production(), ["1.1.0"])
        # The environment is free for the next plan.
        self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                 "--strategy", "blue-green")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.2.0"})

    # --- canary promote ---

    def start_canary(self):
        return self.spawn("promote", "--version", "1.2.0", "--env", "production", "--yes",
                          "--strategy", "canary", "--skip-analysis", "--analysis-interval", 3,
                          "--timeout", BOUND)

    def test_canary_promote_killed_between_weights_resumed(self):
        pid = self.kill_at(self.start_canary(), "analysis at 50%")
        self.assertEqual(self.weights(), {"stable": 50, "canary": 50})
        # As if killed inside the weight step: the VirtualService already
        # at 50, the journal not knowing.
        self.as_if_killed_inside(pid, "stable 50%, canary 50%")
        self.assert_interrupted(pid)
        plan = self.resume(pid)
        w = self.step(plan, "stable 50%, canary 50%")
        self.assertEqual(w["state"], "skipped", w)
        self.assertIn("already so: stable 50, canary 50", w["result"])
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.2.0")
        self.assertEqual(self.replicas("churn-prediction-canary"), 0)
        self.assertEqual(self.served("churn-prediction"), {"1.2.0"})
        self.assertEqual(self.production(), ["1.2.0"])

    def test_canary_promote_killed_in_rollout_then_abandoned(self):
        pid = self.kill_at(self.start_canary(), "wait for the rollout of churn-prediction-canary")
        rec = self.abandon(pid)
        self.assertIn("churn-prediction-canary", rec["detail"])
        # No traffic went to the canary; stable and the registry as before.
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.1.0")
        self.assertEqual(self.served("churn-prediction", dep="churn-prediction"), {"1.1.0"})
        self.assertEqual(self.production(), ["1.1.0"])

    # --- rollbacks ---

    def test_rolling_rollback_killed_in_rollout_resumed(self):
        proc = self.spawn("rollback", "--target", "previous", "--env", "production", "--yes",
                          "--timeout", BOUND)
        pid = self.kill_at(proc, "rollout of churn-prediction to complete")
        self.assert_interrupted(pid)
        self.assertEqual(self.production(), ["1.1.0"])
        self.resume(pid)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.0.0")
        self.wait_served("churn-prediction", "1.0.0", dep="churn-prediction")
        self.assertEqual(self.production(), ["1.0.0"])

    def test_canary_rollback_killed_in_rollout_resumed(self):
        # Production mid-canary: a tenth of the traffic on 1.2.0.
        status, body = self.sim.request(
            "PATCH", "/apis/networking.istio.io/v1/namespaces/%s/virtualservices/churn-prediction" % PROD,
            [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 90},
             {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 10}],
            headers={"Content-Type": "application/json-patch+json"})
        self.assertEqual(status, 200, body)
        proc = self.spawn("rollback", "--target", "previous", "--env", "production", "--yes",
                          "--strategy", "canary", "--timeout", BOUND)
        pid = self.kill_at(proc, "rollout of churn-prediction to complete")
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.assert_interrupted(pid)
        self.resume(pid)
        self.assertEqual(self.image("churn-prediction"), "customer-churn-mlops:v1.0.0")
        self.assertEqual(self.replicas("churn-prediction-canary"), 0)
        self.assertEqual(self.weights(), {"stable": 100, "canary": 0})
        self.wait_served("churn-prediction", "1.0.0")
        self.assertEqual(self.production(), ["1.0.0"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
