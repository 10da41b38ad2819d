#!/usr/bin/python3
"""last-known-good set automatically after a quiet period in production
(issue 5), judged from a real Prometheus' history.

Debian's Prometheus scrapes the sandbox every second; the triggers file
shrinks the rate window to 10s and every `for:` to 2s, and the
configuration file (CONFIG_DIR/config.json) sets the quiet period to a few
seconds. Asserted: `watch --once` says the version is not due before the
period is over; after it, with no trigger firing, the alias moves to the
production version, recorded in the promotion history and the audit log
with the quiet-period actor, and the next check says it already is; a
trigger that fired during the period keeps the alias where it was and says
which; read-only mode judges but does not move; a period of 0 turns it off;
a configuration file with an unknown key stops the command naming the key.
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402
import prom_live_test as live  # noqa: E402

QUIET_S = 8
BOUND = 60
NS = "mlops-production"
DEP = "churn-prediction"

MODEL = None
SIM = None
PROM = None
PROM_URL = None
TRIGGERS = None


def setUpModule():
    global MODEL, SIM, PROM, PROM_URL, TRIGGERS
    h.require_binary()
    if not os.path.exists(live.PROMETHEUS):
        raise RuntimeError("prometheus not found: apt-get install prometheus")
    d = h.tempdir("churnops-lkg-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 20, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))
    TRIGGERS = os.path.join(d, "triggers.json")
    metrics = {name: {"for": "2s"} for name in ("roc_auc", "latency_p95", "error_rate", "drift")}
    with open(TRIGGERS, "w") as f:
        json.dump({"interval": "1s", "window": "10s", "metrics": metrics,
                   "environments": {"production": {"policy": "off"}}}, f)
    rules = os.path.join(d, "rules.yml")
    with open(rules, "w") as f:
        f.write("groups: []\n")
    SIM = Kubesim(speed=10)
    try:
        PROM, PROM_URL = live.start_prometheus(d, SIM.port, rules)
    except Exception:
        SIM.stop()
        raise
    deadline = time.time() + BOUND
    while time.time() < deadline:
        p = h.run(["metrics", "--env", "production", "--json", "--triggers", TRIGGERS],
                  env={"PROMETHEUS_URL": PROM_URL})
        if p.returncode == 0:
            vals = {m["name"]: m["value"] for m in json.loads(p.stdout)["metrics"]}
            if all(v is not None for v in vals.values()):
                return
        time.sleep(1)
    raise RuntimeError("no production data from Prometheus within %ds" % BOUND)


def tearDownModule():
    if PROM and PROM.poll() is None:
        PROM.terminate()
        PROM.wait(timeout=10)
    if SIM:
        SIM.stop()


class QuietPeriod(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.home = h.tempdir("churnops-lkg-home-")
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester",
                    "PROMETHEUS_URL": PROM_URL}
        self.configure({"registry": {"last_known_good_after": "%ds" % QUIET_S}})
        for v in ("1.0.0", "1.1.0"):
            self.cli("registry", "register", "--model", MODEL, "--version", v)
            self.cli("registry", "stage", v, "production", "--override", "--reason", "seed")
        self.staged_at = time.time()

    def tearDown(self):
        SIM.reset()

    def configure(self, doc):
        os.makedirs(os.path.join(self.home, "config"), exist_ok=True)
        with open(os.path.join(self.home, "config", "config.json"), "w") as f:
            json.dump(doc, f)

    def cli(self, *args, code=0, env=None):
        e = dict(self.env)
        e.update(env or {})
        p = h.run(list(args), env=e)
        h.assert_no_crash(self, p)
        if code is not None:
            self.assertEqual(p.returncode, code, h.describe(p))
        return p

    def watch(self, code=0, env=None):
        p = self.cli("watch", "--env", "production", "--once", "--json", "--triggers", TRIGGERS,
                     code=code, env=env)
        return json.loads(p.stdout)["last_known_good"]

    def lkg(self):
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        return [v["label"] for v in doc["versions"] if "last-known-good" in v["aliases"]]

    def wait_out_the_period(self):
        left = self.staged_at + QUIET_S + 1.5 - time.time()
        if left > 0:
            time.sleep(left)

    def test_quiet_production_becomes_last_known_good(self):
        early = self.watch()
        self.assertEqual(early["outcome"], "not-due", early)
        self.assertEqual(early["version"], "1.1.0")
        self.assertIn("has held production", early["why"])
        self.assertNotEqual(self.lkg(), ["1.1.0"])
        self.wait_out_the_period()
        got = self.watch()
        self.assertEqual(got["outcome"], "set", got)
        self.assertTrue(got["applied"])
        self.assertIn("with no trigger firing", got["why"])
        self.assertEqual(self.lkg(), ["1.1.0"])
        hist = json.loads(self.cli("registry", "history", "--json").stdout)["history"]
        last = hist[-1]
        self.assertEqual((last["kind"], last["name"], last["to"], last["actor"]),
                         ("alias", "last-known-good", "1.1.0", "churnops (quiet period)"))
        audit = json.loads(self.cli("audit", "--json").stdout)
        a = [x for x in audit if x["action"] == "last-known-good"]
        self.assertEqual(len(a), 1, audit)
        self.assertEqual((a[0]["env"], a[0]["after"], a[0]["actor"]),
                         ("production", "1.1.0", "churnops (quiet period)"))
        again = self.watch()
        self.assertEqual(again["outcome"], "already", again)
        self.assertEqual(len([x for x in json.loads(self.cli("audit", "--json").stdout)
                              if x["action"] == "last-known-good"]), 1)
        # `rollback` now resolves to the version that earned it.
        p = self.cli("registry", "rollback-target", "rollback", "--json")
        self.assertEqual(json.loads(p.stdout)["label"], "1.1.0")

    def test_a_firing_trigger_keeps_the_alias(self):
        before = self.lkg()
        SIM.inject({"namespace": NS, "deployment": DEP, "latency_ms": 900})
        deadline = time.time() + BOUND
        fired = False
        while time.time() < deadline and not fired:
            p = self.cli("alerts", "--env", "production", "--json", "--triggers", TRIGGERS,
                         code=0)
            states = {t["name"]: t["state"] for t in json.loads(p.stdout)["triggers"]}
            fired = states["latency_p95"] == "firing"
            time.sleep(0.5)
        self.assertTrue(fired, "latency_p95 never fired")
        SIM.reset()
        self.wait_out_the_period()
        # Recovered now: watch exits 0 once the latency is back, but the
        # period still holds the firing.
        deadline = time.time() + BOUND
        while True:
            p = self.cli("watch", "--env", "production", "--once", "--json", "--triggers",
                         TRIGGERS, code=None)
            if p.returncode == 0 or time.time() > deadline:
                break
            time.sleep(1)
        got = json.loads(p.stdout)["last_known_good"]
        self.assertEqual(got["outcome"], "not-quiet", got)
        self.assertIn("latency_p95 fired", got["why"])
        self.assertFalse(got["applied"])
        self.assertEqual(self.lkg(), before)

    def test_read_only_judges_without_moving(self):
        self.wait_out_the_period()
        got = self.watch(env={"CHURNOPS_READ_ONLY": "1"})
        self.assertEqual(got["outcome"], "set", got)
        self.assertFalse(got["applied"])
        self.assertNotEqual(self.lkg(), ["1.1.0"])

    def test_zero_turns_it_off(self):
        self.configure({"registry": {"last_known_good_after": 0}})
        self.wait_out_the_period()
        got = self.watch()
        self.assertEqual(got["outcome"], "not-due", got)
        self.assertIn("turned off", got["why"])
        self.assertNotEqual(self.lkg(), ["1.1.0"])

    def test_a_bad_configuration_stops_the_command(self):
        self.configure({"registry": {"last_known_good_afer": "1h"}})
        p = self.cli("watch", "--env", "production", "--once", "--triggers", TRIGGERS, code=2)
        self.assertIn("config.json", p.stderr)
        self.assertIn("last_known_good_afer", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
