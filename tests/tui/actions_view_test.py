"""The console's rollback and promote (keys R and P in the deployments view),
in tmux.

The sandbox cluster (tests/lib/kubesim_launcher.py) runs 1.1.0 in production;
the embedded registry in a private CHURNOPS_HOME holds 1.0.0 and 1.1.0, both
once staged to production, so "previous" is 1.0.0. R on production builds
the plan and shows it; a wrongly typed name is refused and changes nothing;
"production" runs it, its steps go done on screen, and `churnops cluster
status` then shows 1.0.0. P promotes the version holding staging (Enter at
the version prompt) the same way. --read-only refuses both before anything
is read.

The seconds from confirming R to the plan done with production serving the
previous version are printed (FIGURE line on stderr); the sandbox's speed
is CHURNOPS_TEST_SPEED (default 20; 1 is real time).

The plan dialog offers the three strategies: the rollback is built for the
preselected one (rolling in a fresh home), Esc at the confirmation goes back
to the plan, `s` builds it again for blue-green, which then runs after
production's name is typed; the Service switches to the green colour (which
runs 1.0.0) and the next R preselects blue-green, the strategy of the last
plan done; a canary the cluster shows taking traffic preselects canary. A
canary rollback chosen the same way puts every weight on stable, gives it
1.0.0 and empties the canary. Each rollback's seconds from the confirming
Enter to the plan done (its smoke test through the Service included) is a
FIGURE line; CHURNOPS_TEST_SPEED=1 gives real-time figures.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
"""

import json
import os
import re
import sqlite3
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)
from kubesim_launcher import Kubesim  # noqa: E402

SPEED = float(os.environ.get("CHURNOPS_TEST_SPEED", "20"))
PROD = "mlops-production"
MODEL = None
MODELS = None


def setUpModule():
    global MODEL, MODELS
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    d = harness.tempdir("churnops-actions-view-model-")
    MODEL = os.path.join(d, "m")
    p = harness.run(["train", "--data", harness.TELCO, "--out", MODEL, "--rounds", 20,
                     "--folds", 0, "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(harness.describe(p))
    MODELS = os.path.join(d, "served")
    for v in ("1.0.0", "1.1.0"):
        os.makedirs(os.path.join(MODELS, v))
        for f in ("model.json", "schema.json"):
            os.symlink(os.path.join(MODEL, f), os.path.join(MODELS, v, f))


class RollbackView(unittest.TestCase):
    def setUp(self):
        self.sim = Kubesim(speed=SPEED, models=MODELS)
        self.home = harness.tempdir("churnops-actions-view-home-")
        self.kc = self.sim.kubeconfig(os.path.join(self.home, "kubeconfig"), namespace=PROD)
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester"}
        for v in ("1.0.0", "1.1.0"):
            self.cli("registry", "register", "--model", MODEL, "--version", v)
        for v in ("1.0.0", "1.1.0"):
            self.cli("registry", "stage", v, "production", "--override", "--reason", "seed")
        self.pane = ct.Pane(140, 45, extra_env=self.env)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
            self.sim.stop()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    def cli(self, *args, code=0):
        p = harness.run(list(args), env=self.env, timeout=180)
        harness.assert_no_crash(self, p)
        self.assertEqual(p.returncode, code, harness.describe(p))
        return p

    def status(self):
        p = self.cli("cluster", "status", "--env", "production", "--kubeconfig", self.kc,
                     "--json")
        return json.loads(p.stdout)["containers"][0]["image"]

    def open(self, *extra):
        self.pane.run_console("console", "--kubeconfig", self.kc, "--view", "deployments",
                              *extra)
        self.pane.wait_for(r"production \(mlops-production\) - ok - read")
        self.pane.keys("Tab")

    def test_rollback_production(self):
        self.assertEqual(self.status(), "customer-churn-mlops:v1.1.0")
        self.open()
        self.pane.wait_for(r"production \(mlops-production\) - ok - read.* - P promote, R rollback")
        self.pane.keys("R")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"rollback production \(mlops-production\): 1\.1\.0 -> 1\.0\.0")
        self.assertRegex(s, r"pending")
        self.assertIn("pre: ", s)

        # A wrong name: refused, nothing runs.
        self.pane.keys("prod", literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for(r"refused: the environment's name was not typed exactly")
        time.sleep(1)
        self.assertEqual(self.status(), "customer-churn-mlops:v1.1.0")
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)

        self.pane.keys("R")
        self.pane.wait_for(r"type 'production' to roll back")
        self.pane.keys("production", literal=True)
        t0 = time.monotonic()
        self.pane.keys("Enter")
        self.pane.wait_for(r"running", timeout=30)
        s = self.pane.wait_for(r"state: (done|failed)", timeout=600 / SPEED + 120)
        t1 = time.monotonic()
        self.assertRegex(s, r"state: done in [0-9.]+ s: production serves 1\.0\.0", s)
        steps = re.findall(r"^\W*\d+ (pending|running|done|skipped|failed) ", s, re.M)
        self.assertTrue(steps, s)
        self.assertTrue(set(steps) <= {"done", "skipped"}, s)
        self.assertIn("done", steps)
        self.assertEqual(self.status(), "customer-churn-mlops:v1.0.0")
        sys.stderr.write("FIGURE console rollback rolling: %.2f s at --speed %g\n"
                         % (t1 - t0, SPEED))
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        self.assertEqual([v["label"] for v in doc["versions"] if v["stage"] == "production"],
                         ["1.0.0"])
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT)

    def served(self, svc):
        """The versions Service SVC answers /model/info with (API server proxy)."""
        seen = set()
        for _ in range(12):
            status, body = self.sim.request(
                "GET", "/api/v1/namespaces/%s/services/%s:80/proxy/model/info" % (PROD, svc))
            self.assertEqual(status, 200, body)
            seen.add(body["version"])
        return seen

    def colour(self):
        status, body = self.sim.request(
            "GET", "/api/v1/namespaces/%s/services/churn-prediction-bg" % PROD)
        self.assertEqual(status, 200, body)
        return body["spec"]["selector"]["version"]

    def test_blue_green_rollback_chosen_in_the_dialog(self):
        self.assertEqual(self.served("churn-prediction-bg"), {"1.1.0"})
        self.open()
        self.pane.wait_for(r"production \(mlops-production\) - ok - read.* - P promote, R rollback")
        self.pane.keys("R")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"strategy\s+\[rolling\]\s+blue-green\s+canary\s+\(the default\)")
        self.assertIn("Esc, then s: build it for the next strategy", s)
        self.assertIn("undo deployment mlops-production/churn-prediction", s)
        # Back to the plan, then the next strategy: built again, asked again.
        self.pane.keys("Escape")
        s = self.pane.wait_for(r"s: the next strategy\s+Enter: ask again")
        self.assertIn("cancelled: nothing changed", s)
        self.pane.keys("s")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"strategy\s+rolling\s+\[blue-green\]\s+canary\s+\(chosen\)")
        self.assertRegex(s, r"rollback production \(mlops-production\): 1\.1\.0 -> 1\.0\.0, "
                            r"strategy blue-green")
        self.assertIn("switch Service churn-prediction-bg to the green colour", s)
        self.assertNotIn("undo deployment", s)
        self.pane.keys("production", literal=True)
        t0 = time.monotonic()
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"state: (done|failed)", timeout=600 / SPEED + 120)
        t1 = time.monotonic()
        self.assertRegex(s, r"state: done in [0-9.]+ s: production serves 1\.0\.0", s)
        self.assertEqual(self.colour(), "green")
        self.assertEqual(self.served("churn-prediction-bg"), {"1.0.0"})
        sys.stderr.write("FIGURE console rollback blue-green: %.2f s at --speed %g\n"
                         % (t1 - t0, SPEED))
        # The rolling deployment was not touched.
        self.assertEqual(self.status(), "customer-churn-mlops:v1.1.0")
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        self.assertEqual([v["label"] for v in doc["versions"] if v["stage"] == "production"],
                         ["1.0.0"])
        rec = json.loads(self.cli("audit", "--json").stdout)[-1]
        self.assertEqual((rec["action"], rec["outcome"]), ("rollback (blue-green)", "succeeded"))
        # After the run, s no longer rebuilds: Esc closes.
        self.pane.keys("s")
        time.sleep(0.5)
        self.assertIn("state: done", self.pane.screen())
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)
        # The next R preselects blue-green: the last plan done used it.
        self.pane.keys("R")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"\[blue-green\]\s+canary\s+\(the last plan done in production "
                            r"used it\)")
        self.assertIn("switch Service churn-prediction-bg to the blue colour", s)
        # After blue-green comes canary: every weight on stable, which
        # takes the target's image, and the canary emptied.
        self.pane.keys("Escape")
        self.pane.wait_for(r"cancelled: nothing changed")
        self.pane.keys("s")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"\[canary\]\s+\(chosen\)")
        self.assertIn("VirtualService churn-prediction: stable 100%, canary 0%", s)
        self.assertIn("scale deployment churn-prediction-canary to 0 replicas", s)
        self.pane.keys("Escape")
        self.pane.wait_for(r"cancelled: nothing changed")
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)
        self.assertEqual(self.colour(), "green")
        # A canary taking traffic, as the view reads it, comes before the
        # journal: R preselects canary.
        status, body = self.sim.request(
            "PATCH", "/apis/networking.istio.io/v1/namespaces/%s/virtualservices/churn-prediction"
            % PROD,
            [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 90},
             {"op": "replace", "path": "/spec/http/0/route/1/weight", "value": 10}],
            headers={"Content-Type": "application/json-patch+json"})
        self.assertEqual(status, 200, body)
        self.pane.keys("r")
        self.pane.wait_for(r"stable 90%.*canary 10%")
        self.pane.keys("R")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"\[canary\]\s+\(the cluster shows a canary in progress\)")
        self.pane.keys("Escape")
        self.pane.wait_for(r"cancelled: nothing changed")
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT)

    def test_canary_rollback_chosen_in_the_dialog(self):
        self.open()
        self.pane.wait_for(r"production \(mlops-production\) - ok - read.* - P promote, R rollback")
        self.pane.keys("R")
        for _ in range(2):
            self.pane.wait_for(r"type 'production' to roll back")
            self.pane.keys("Escape")
            self.pane.wait_for(r"s: the next strategy")
            self.pane.keys("s")
        s = self.pane.wait_for(r"type 'production' to roll back")
        self.assertRegex(s, r"rollback production \(mlops-production\): 1\.1\.0 -> 1\.0\.0, "
                            r"strategy canary")
        self.pane.keys("production", literal=True)
        t0 = time.monotonic()
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"state: (done|failed)", timeout=600 / SPEED + 120)
        t1 = time.monotonic()
        self.assertRegex(s, r"state: done in [0-9.]+ s: production serves 1\.0\.0", s)
        sys.stderr.write("FIGURE console rollback canary: %.2f s at --speed %g\n"
                         % (t1 - t0, SPEED))
        self.assertEqual(self.status(), "customer-churn-mlops:v1.0.0")
        status, vs = self.sim.request(
            "GET", "/apis/networking.istio.io/v1/namespaces/%s/virtualservices/churn-prediction"
            % PROD)
        self.assertEqual({r["destination"]["subset"]: r["weight"] for r in vs["spec"]["http"][0]["route"]},
                         {"stable": 100, "canary": 0})
        # The canary is emptied: the Service reaches stable's pods alone.
        self.assertEqual(self.served("churn-prediction"), {"1.0.0"})
        self.pane.keys("Escape")
        self.pane.wait_for(r"rollback plan", gone=True)
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT)

    def test_promote_staging_holder(self):
        # 1.0.0 holds staging and passed its checklist: P then Enter takes it.
        self.cli("registry", "stage", "1.0.0", "staging", "--override", "--reason", "test")
        sha = json.loads(self.cli("registry", "show", "1.0.0", "--json").stdout)["sha256"]
        with sqlite3.connect(os.path.join(self.home, "data", "churnops.db")) as c:
            c.execute("INSERT INTO checklist_runs (model_sha256, verdict, report_json) "
                      "VALUES (?, 'pass', '{}')", (sha,))
        self.open()
        self.pane.wait_for(r"production \(mlops-production\) - ok - read.* - P promote")
        self.pane.keys("P")
        self.pane.wait_for(r"promote to production, version \(Enter: staging's\)")
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"type 'production' to promote to production")
        self.assertRegex(s, r"promote production \(mlops-production\): 1\.1\.0 -> 1\.0\.0")
        self.pane.keys("production", literal=True)
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"state: (done|failed)", timeout=600 / SPEED + 120)
        self.assertRegex(s, r"state: done in [0-9.]+ s: production serves 1\.0\.0", s)
        self.assertEqual(self.status(), "customer-churn-mlops:v1.0.0")
        self.pane.keys("Escape")
        self.pane.wait_for(r"promote plan", gone=True)
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT)

    def test_read_only_refuses(self):
        self.open("--read-only")
        s = self.pane.wait_for(r"production \(mlops-production\) - ok - read")
        self.assertNotIn("R rollback", s)
        self.pane.keys("R")
        self.pane.wait_for(r"read-only mode: rollback refused")
        self.pane.keys("P")
        self.pane.wait_for(r"read-only mode: promote refused")
        self.assertNotIn("rollback plan", self.pane.screen())
        self.assertEqual(self.status(), "customer-churn-mlops:v1.1.0")
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
