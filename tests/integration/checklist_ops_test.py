#!/usr/bin/python3
"""The checklist's operational items against real back ends: monitoring
against Debian's Prometheus scraping the sandbox's /metrics, rollback_plan
against an embedded registry prepared with `churnops registry register` and
`stage`, alert_thresholds against the user's triggers file.

Prometheus runs on a free loopback port with a temporary TSDB, scraping the
sandbox (sandbox/kubesim.py at --speed 10) every second; a triggers file
shrinks the rate window to 10s so every trigger query has data within
seconds. Asserted: with Prometheus and data for every trigger query,
monitoring passes; with a trigger whose metric nobody exports it fails
naming the metric and its query; with none configured, or none answering,
it is pending and says which URL and why. rollback_plan fails for a first
production version, passes naming the version in production, fails for the
version already in production with nothing before it, and passes with the
previous one once there is one. `checklist show --env` judges the items
again now; `validate --env staging` is not recorded.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
BOUND = 90

SIM = None
PROM = None
PROM_URL = None
DIR = None
TRIGGERS = None
NODATA_TRIGGERS = None
GATES = None
TEST = None
MODEL = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_prometheus(d, target_port):
    """Starts Prometheus in D scraping 127.0.0.1:TARGET_PORT every second;
    returns (proc, url)."""
    cfg = os.path.join(d, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: sandbox\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % target_port)
    logpath = os.path.join(d, "prometheus.log")
    for _ in range(5):
        port = free_port()
        with open(logpath, "w") as log:
            proc = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + cfg,
                 "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                 "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, cwd=d)
        url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 30
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=5) as r:
                    if r.status == 200:
                        return proc, url
            except OSError:
                pass
            time.sleep(0.2)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    with open(logpath) as f:
        raise RuntimeError("prometheus did not start: " + f.read()[-2000:])


def setUpModule():
    global SIM, PROM, PROM_URL, DIR, TRIGGERS, NODATA_TRIGGERS, GATES, TEST, MODEL
    h.require_binary()
    if not os.path.exists(PROMETHEUS):
        raise RuntimeError("prometheus not found: apt-get install prometheus (the tests "
                           "need the real server)")
    DIR = h.tempdir("churnops-checklist-ops-")
    MODEL = h.trained_model()
    header, rows = h.telco()
    TEST = os.path.join(DIR, "test.csv")
    h.write_csv(TEST, header, rows[-600:])
    GATES = os.path.join(DIR, "gates.json")
    with open(GATES, "w") as f:
        json.dump({"latency": {"calls": 50}}, f)
    TRIGGERS = os.path.join(DIR, "triggers.json")
    with open(TRIGGERS, "w") as f:
        json.dump({"interval": "1s", "window": "10s"}, f)
    NODATA_TRIGGERS = os.path.join(DIR, "nodata.json")
    with open(NODATA_TRIGGERS, "w") as f:
        json.dump({"interval": "1s", "window": "10s", "metrics": {
            "queue_depth": {"title": "queue depth", "unit": "",
                            "query": 'max(churn_queue_depth{namespace="{namespace}"})',
                            "op": ">", "threshold": 100, "for": "1m"}}}, f)
    SIM = Kubesim(speed=10)
    try:
        PROM, PROM_URL = start_prometheus(DIR, SIM.port)
    except Exception:
        SIM.stop()
        raise
    # Wait until every production metric has a value (rates need two
    # scrapes of traffic in the window).
    deadline = time.time() + BOUND
    while time.time() < deadline:
        p = h.run(["metrics", "--env", "production", "--json", "--prometheus", PROM_URL,
                   "--triggers", TRIGGERS])
        if p.returncode == 0:
            vals = {m["name"]: m["value"] for m in json.loads(p.stdout)["metrics"]}
            if all(v is not None for v in vals.values()):
                return
        time.sleep(1)
    raise RuntimeError("no data from Prometheus within %ds" % BOUND)


def tearDownModule():
    if PROM and PROM.poll() is None:
        PROM.terminate()
        try:
            PROM.wait(timeout=10)
        except Exception:
            PROM.kill()
            PROM.wait()
    if SIM:
        SIM.stop()


def validate(tc, model, *extra, home, code=None, prometheus=None):
    """validate --json of MODEL on the test file; returns (process, report,
    items by id)."""
    env = {"CHURNOPS_HOME": home, "PROMETHEUS_URL": prometheus or ""}
    p = h.run(["validate", "--model", model, "--data", TEST, "--gates", GATES, "--json"]
              + list(extra), env=env, timeout=300)
    h.assert_no_crash(tc, p)
    if code is not None:
        tc.assertEqual(p.returncode, code, h.describe(p))
    else:
        tc.assertIn(p.returncode, (0, 1), h.describe(p))
    r = json.loads(p.stdout)
    return p, r, {it["id"]: it for it in r["items"]}


def copy_model(name, n):
    """A copy of the trained model with N newlines after its JSON, so each
    N gives another artifact (another sha256) of the same model."""
    d = os.path.join(DIR, name)
    shutil.copytree(MODEL, d)
    with open(os.path.join(d, "model.json"), "a") as f:
        f.write("\n" * n)
    return d


class Monitoring(unittest.TestCase):
    def setUp(self):
        self.home = h.tempdir("churnops-home-")

    def test_passes_when_every_trigger_query_has_data(self):
        _, r, it = validate(self, MODEL, "--triggers", TRIGGERS, "--prometheus", PROM_URL,
                            home=self.home)
        self.assertEqual(r["env"], "production")
        m = it["monitoring"]
        self.assertEqual(m["status"], "pass", m)
        self.assertEqual(m["value"], 4)
        self.assertIn(PROM_URL, m["evidence"])
        for name in ("roc_auc", "latency_p95", "error_rate", "drift"):
            self.assertIn(name, m["evidence"])
        self.assertEqual(it["alert_thresholds"]["status"], "pass")
        self.assertIn(TRIGGERS, it["alert_thresholds"]["evidence"])
        # PROMETHEUS_URL does as well as --prometheus.
        _, r, it = validate(self, MODEL, "--triggers", TRIGGERS, home=self.home,
                            prometheus=PROM_URL)
        self.assertEqual(it["monitoring"]["status"], "pass", it["monitoring"])

    def test_fails_naming_the_metric_without_data(self):
        _, r, it = validate(self, MODEL, "--triggers", NODATA_TRIGGERS, "--prometheus",
                            PROM_URL, home=self.home, code=1)
        m = it["monitoring"]
        self.assertEqual(m["status"], "fail", m)
        self.assertEqual(m["value"], 4)
        self.assertIn("1 of 5 trigger queries for production return no data", m["evidence"])
        self.assertIn("queue_depth", m["evidence"])
        self.assertIn('max(churn_queue_depth{namespace="mlops-production"})', m["evidence"])
        self.assertEqual(r["verdict"], "fail")
        self.assertIn("monitoring", verdict_line(self, NODATA_TRIGGERS))

    def test_pending_without_prometheus(self):
        _, r, it = validate(self, MODEL, "--triggers", TRIGGERS, home=self.home, code=1)
        m = it["monitoring"]
        self.assertEqual(m["status"], "pending", m)
        self.assertIsNone(m["value"])
        self.assertIn("no Prometheus configured for production", m["evidence"])
        self.assertNotEqual(r["verdict"], "pass")

    def test_pending_when_unreachable(self):
        url = "http://127.0.0.1:%d" % free_port()
        _, r, it = validate(self, MODEL, "--triggers", TRIGGERS, "--prometheus", url,
                            home=self.home, code=1)
        m = it["monitoring"]
        self.assertEqual(m["status"], "pending", m)
        self.assertIn("Prometheus at %s did not answer" % url, m["evidence"])

    def test_alert_thresholds_judge_the_users_file(self):
        config = os.path.join(self.home, "config")
        os.makedirs(config, exist_ok=True)
        with open(os.path.join(config, "triggers.json"), "w") as f:
            json.dump({"metrics": {"drift": {"trigger": False}}}, f)
        _, r, it = validate(self, MODEL, home=self.home, code=1)
        a = it["alert_thresholds"]
        self.assertEqual(a["status"], "fail", a)
        self.assertIn(os.path.join(config, "triggers.json"), a["evidence"])
        self.assertIn("asks for it: drift", a["evidence"])
        with open(os.path.join(config, "triggers.json"), "w") as f:
            f.write("{\"metrics\": 1}")
        _, r, it = validate(self, MODEL, home=self.home, code=1)
        self.assertEqual(it["alert_thresholds"]["status"], "fail")
        self.assertIn("triggers.json", it["alert_thresholds"]["evidence"])

    def test_unknown_environment_is_bad_usage(self):
        p = h.run(["validate", "--model", MODEL, "--data", TEST, "--env", "qa"],
                  env={"CHURNOPS_HOME": self.home, "PROMETHEUS_URL": ""})
        self.assertEqual(p.returncode, 2, h.describe(p))
        self.assertIn("unknown environment 'qa'", p.stderr)


def verdict_line(tc, triggers):
    """The verdict line of a text run, which names the failed items."""
    home = h.tempdir("churnops-home-")
    p = h.run(["validate", "--model", MODEL, "--data", TEST, "--gates", GATES,
               "--triggers", triggers, "--prometheus", PROM_URL, "--no-record"],
              env={"CHURNOPS_HOME": home, "PROMETHEUS_URL": ""}, timeout=300)
    h.assert_no_crash(tc, p)
    return [line for line in p.stdout.splitlines() if line.startswith("verdict:")][0]


class RollbackPlan(unittest.TestCase):
    def test_targets_from_the_embedded_registry(self):
        home = h.tempdir("churnops-home-")
        env = {"CHURNOPS_HOME": home, "PROMETHEUS_URL": ""}
        v1, v2 = copy_model("m100", 1), copy_model("m110", 2)

        # An empty registry: this would be the first production version.
        _, r, it = validate(self, v1, home=home, code=1)
        rb = it["rollback_plan"]
        self.assertEqual(rb["status"], "fail", rb)
        self.assertIn("first production version", rb["evidence"])

        for label, d in (("1.0.0", v1), ("1.1.0", v2)):
            h.assert_ok(self, h.run(["registry", "register", "--model", d, "--version", label],
                                    env=env))
        h.assert_ok(self, h.run(["registry", "stage", "1.0.0", "production", "--override",
                                 "--reason", "first release"], env=env))

        # 1.1.0 would replace 1.0.0, which is the way back.
        _, r, it = validate(self, v2, home=home)
        rb = it["rollback_plan"]
        self.assertEqual(rb["status"], "pass", rb)
        self.assertEqual(rb["value"], "1.0.0")
        self.assertIn("1.0.0, the current production version", rb["evidence"])

        # 1.0.0 is production itself, with nothing before it.
        _, r, it = validate(self, v1, home=home, code=1)
        rb = it["rollback_plan"]
        self.assertEqual(rb["status"], "fail", rb)
        self.assertIn("is the artifact being validated", rb["evidence"])

        # Once 1.1.0 is in production, it can go back to 1.0.0.
        h.assert_ok(self, h.run(["registry", "stage", "1.1.0", "production", "--override",
                                 "--reason", "second release"], env=env))
        _, r, it = validate(self, v2, home=home)
        rb = it["rollback_plan"]
        self.assertEqual(rb["status"], "pass", rb)
        self.assertEqual(rb["value"], "1.0.0")
        self.assertIn("previous production version", rb["evidence"])

        # checklist show judges the operational items again now: with
        # Prometheus named, monitoring turns pass in the stored run.
        p = h.run(["checklist", "show", "--model", v2, "--json"], env=env)
        h.assert_ok(self, p)
        shown = {it["id"]: it for it in json.loads(p.stdout)["items"]}
        self.assertEqual(shown["monitoring"]["status"], "pending")
        self.assertEqual(shown["rollback_plan"]["status"], "pass")
        p = h.run(["checklist", "show", "--model", v2, "--json", "--prometheus", PROM_URL,
                   "--triggers", TRIGGERS], env=env)
        h.assert_ok(self, p)
        shown = {it["id"]: it for it in json.loads(p.stdout)["items"]}
        self.assertEqual(shown["monitoring"]["status"], "pass", shown["monitoring"])

        # Staging has no version: judged for staging, nothing to go back
        # to, and the run is not recorded (the store's verdicts gate
        # production).
        before = json.loads(h.run(["checklist", "show", "--model", v2, "--json"],
                                  env=env).stdout)["recorded_at"]
        p, r, it = validate(self, v2, "--env", "staging", home=home, code=1)
        self.assertEqual(r["env"], "staging")
        self.assertEqual(it["rollback_plan"]["status"], "fail")
        self.assertIn("no staging version", it["rollback_plan"]["evidence"])
        self.assertIn("judged for staging: not recorded", p.stderr)
        after = json.loads(h.run(["checklist", "show", "--model", v2, "--json"],
                                 env=env).stdout)["recorded_at"]
        self.assertEqual(before, after)


if __name__ == "__main__":
    unittest.main(verbosity=2)
