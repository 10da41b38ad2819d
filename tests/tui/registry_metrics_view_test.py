"""The registry view (key 6) and the metrics view (key 3), in tmux.

Registry: two versions registered and staged with `churnops registry` in a
private CHURNOPS_HOME must show in view 6 with their stage, aliases,
sha256, ROC-AUC and creator, the selected version's details and the
promotion history, newest first; a move made by the CLI while the console
is open shows on the next read; text from the store (a reason holding an
escape sequence) is shown escaped; the overview names what production,
staging and last-known-good hold.

Metrics: a real Prometheus (Debian's /usr/bin/prometheus, a temporary TSDB)
scrapes sandbox/kubesim.py's /metrics every second, as in
tests/integration/prom_live_test.py, with a triggers file that shrinks the
rate window to 10s and every `for:` to 4s. View 3 must show the values the
sandbox serves, charts, and the triggers inactive; a latency fault injected
through POST /sandbox/inject takes p95 latency pending, then firing, and a
banner appears across every view; after a reset it clears, and the
selected metric's state history, which the view records in the store as it
evaluates, shows as a timeline: back to inactive, firing, pending, newest
first, each with its value and how long it held. A Prometheus
stopped with SIGSTOP (hung) and then killed is reported in the view while
keys keep working, and q still quits at once.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)
import prom_live_test as pl  # noqa: E402  (start_prometheus)
from kubesim_launcher import Kubesim  # noqa: E402

HOME = None
VERSIONS = {}  # label -> `registry list --json` entry
EVALS = {}     # label -> eval.json
SIM = None
PROM = None
PROM_URL = None
NS = "mlops-staging"
DEP = "churn-prediction"
BOUND = 60
ESCAPED_REASON = "hotfix \x1b[31mred"


def cli(*args, env=None):
    e = {"CHURNOPS_HOME": HOME, "CHURNOPS_ACTOR": "alice"}
    e.update(env or {})
    p = harness.run(list(args), env=e)
    if p.returncode != 0:
        raise AssertionError(harness.describe(p))
    return p


def setUpModule():
    global HOME
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    # The panes inherit the environment: no outside Prometheus or MLflow.
    for var in ("PROMETHEUS_URL", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    HOME = harness.tempdir("churnops-regmet-home-")
    ct.HOME = HOME
    models = harness.tempdir("churnops-regmet-models-")
    for label, rounds in (("1.0.0", 10), ("1.1.0", 14)):
        d = os.path.join(models, label)
        p = harness.train(d, "--rounds", rounds, "--folds", 2)
        if p.returncode != 0:
            raise RuntimeError("training failed:\n" + harness.describe(p))
        with open(os.path.join(d, "eval.json")) as f:
            EVALS[label] = json.load(f)
        cli("registry", "register", "--model", d, "--version", label,
            "--description", "rounds %d" % rounds)
    cli("registry", "stage", "1.0.0", "production", "--override", "--reason", "first release")
    cli("registry", "stage", "1.1.0", "staging", "--reason", "candidate",
        env={"CHURNOPS_ACTOR": "bob"})
    cli("registry", "alias", "set", "last-known-good", "1.0.0", "--reason", "held a week")
    for v in json.loads(cli("registry", "list", "--json").stdout)["versions"]:
        VERSIONS[v["label"]] = v


def tearDownModule():
    stop_servers()


def start_servers():
    """The sandbox and a real Prometheus scraping it; a triggers file in
    CONFIG_DIR that the console reads as `churnops metrics` does."""
    global SIM, PROM, PROM_URL
    if PROM:
        return
    if not os.path.exists(pl.PROMETHEUS):
        raise unittest.SkipTest("prometheus not installed: apt-get install prometheus")
    d = harness.tempdir("churnops-regmet-prom-")
    rules = os.path.join(d, "rules.yml")
    with open(rules, "w") as f:
        f.write("groups: []\n")
    config = os.path.join(HOME, "config")
    os.makedirs(config, exist_ok=True)
    metrics = {name: {"for": "4s"} for name in ("roc_auc", "latency_p95", "error_rate", "drift")}
    with open(os.path.join(config, "triggers.json"), "w") as f:
        json.dump({"interval": "1s", "window": "10s", "metrics": metrics}, f)
    SIM = Kubesim(speed=10)
    PROM, PROM_URL = pl.start_prometheus(d, SIM.port, rules)
    deadline = time.time() + BOUND
    while time.time() < deadline:
        p = harness.run(["metrics", "--env", "staging", "--json"],
                        env={"CHURNOPS_HOME": HOME, "PROMETHEUS_URL": PROM_URL})
        if p.returncode == 0:
            vals = [m["value"] for m in json.loads(p.stdout)["metrics"]]
            if all(v is not None for v in vals):
                return
        time.sleep(1)
    raise RuntimeError("no data from Prometheus within %ds" % BOUND)


def stop_servers():
    if PROM and PROM.poll() is None:
        try:
            PROM.send_signal(signal.SIGCONT)
        except OSError:
            pass
        PROM.kill()
        PROM.wait()
    if SIM:
        SIM.stop()


class ViewTest(unittest.TestCase):
    extra_env = None

    def setUp(self):
        self.pane = ct.Pane(120, 40, extra_env=self.extra_env)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    def start(self, view, *extra):
        self.pane.run_console("console", "--view", view, *extra)

    def quit_promptly(self, bound=3.0):
        t0 = time.monotonic()
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT, timeout=10)
        took = time.monotonic() - t0
        self.assertLess(took, bound, "q took %.1f s" % took)

    def section(self, screen, start, end=None):
        """The lines of SCREEN from the one matching START to the one
        matching END (excluded)."""
        lines = screen.splitlines()
        out, on = [], False
        for line in lines:
            if re.search(start, line):
                on = True
            elif end and on and re.search(end, line):
                break
            if on:
                out.append(line)
        return "\n".join(out)


class RegistryView(ViewTest):
    def row(self, label, stage, aliases):
        v = VERSIONS[label]
        return (r"%s\s+%s\s+%s\s+%s\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+alice\s+%.4f" %
                (re.escape(label), stage, re.escape(aliases), v["sha256"][:12],
                 EVALS[label]["roc_auc"]))

    def test_1_versions_details_history(self):
        self.start("registry")
        self.pane.wait_for(r"registry churn: sqlite \(store\), 2 versions - read \d+s ago")
        # The history's oldest line is drawn last: then the frame is whole.
        s = self.pane.wait_for(r"stage\s+production\s+- -> 1\.0\.0\s+first release")
        self.assertRegex(s, self.row("1.0.0", "production", "champion,last-known-good"))
        self.assertRegex(s, self.row("1.1.0", "staging", "-"))
        self.assertIn("model: churn 1.0.0", s)
        # Production's holder is selected: its details, full sha256.
        self.assertIn("version 1.0.0 (id 1.0.0)  stage production  status READY", s)
        self.assertIn("sha256  " + VERSIONS["1.0.0"]["sha256"], s)
        self.assertIn("description rounds 10", s)
        self.assertRegex(s, r"evaluation  roc_auc %.4f" % EVALS["1.0.0"]["roc_auc"])
        # The history, newest first: who, kind, name, from -> to, reason.
        hist = self.section(s, r"promotion history \(4 moves, newest first\)")
        self.assertTrue(hist, s)
        lines = [l for l in hist.splitlines()[2:] if re.search(r"\d\d:\d\d:\d\d", l)]
        self.assertEqual(len(lines), 4, hist)
        self.assertRegex(lines[0], r"alice\s+alias\s+last-known-good\s+- -> 1\.0\.0\s+held a week")
        self.assertRegex(lines[1], r"bob\s+stage\s+staging\s+- -> 1\.1\.0\s+candidate")
        self.assertRegex(lines[2], r"alice\s+alias\s+champion\s+- -> 1\.0\.0\s+first release")
        self.assertRegex(lines[3], r"alice\s+stage\s+production\s+- -> 1\.0\.0\s+first release")
        # Moving the selection changes the details.
        self.pane.keys("j")
        s = self.pane.wait_for(r"version 1\.1\.0 \(id 1\.1\.0\)  stage staging")
        self.assertIn("model: churn 1.1.0", s)
        # The overview says what each slot holds.
        self.pane.keys("1")
        s = self.pane.wait_for(r"registry: production 1\.0\.0, staging 1\.1\.0, "
                               r"last-known-good 1\.0\.0 \(sqlite churn")
        # The metrics view without Prometheus says so.
        self.pane.keys("3")
        self.pane.wait_for(r"metrics: not configured \(PROMETHEUS_URL\)")
        self.pane.keys("6")
        self.pane.wait_for(r"2 versions - read")
        self.quit_promptly()

    def test_2_a_move_shows_on_the_next_read(self):
        self.start("registry")
        self.pane.wait_for(r"2 versions - read")
        cli("registry", "stage", "1.1.0", "production", "--override", "--reason",
            ESCAPED_REASON, env={"CHURNOPS_ACTOR": "carol"})
        try:
            s = self.pane.wait_for(r"carol\s+stage\s+production\s+1\.0\.0 -> 1\.1\.0", timeout=20)
            # The store's text is shown escaped, never interpreted.
            self.assertIn(r"hotfix \x1b[31mred", s)
            self.assertRegex(s, self.row("1.1.0", "production", "champion"))
            self.assertRegex(s, self.row("1.0.0", "archived", "last-known-good"))
            self.assertIn("promotion history (6 moves, newest first)", s)
            self.pane.keys("1")
            self.pane.wait_for(r"registry: production 1\.1\.0, staging none, "
                               r"last-known-good 1\.0\.0")
            self.quit_promptly()
        finally:
            # Back as setUpModule left it, for the other test.
            cli("registry", "stage", "1.0.0", "production", "--override", "--reason", "back")
            cli("registry", "stage", "1.1.0", "staging", "--reason", "candidate",
                env={"CHURNOPS_ACTOR": "bob"})


class MetricsView(ViewTest):
    @classmethod
    def setUpClass(cls):
        start_servers()
        cls.extra_env = {"PROMETHEUS_URL": PROM_URL}

    def setUp(self):
        SIM.reset()
        super().setUp()

    def tearDown(self):
        SIM.reset()
        super().tearDown()

    def panel(self, screen, env):
        other = "production" if env == "staging" else "staging"
        return self.section(screen, r"%s \(mlops-%s/" % (env, env), r"%s \(mlops-%s/" % (other, other))

    def test_a_values_then_a_latency_trigger_fires(self):
        self.start("metrics")
        s = self.pane.wait_for(r"staging \(mlops-staging/churn-prediction\) - policy prompt - "
                               + re.escape(PROM_URL) + r" - range 15m - read")
        s = self.pane.wait_for(r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+inactive since "
                               r"\d\d:\d\d:\d\dZ[\s\S]*production \(mlops-production[\s\S]*"
                               r"throughput")
        staging = self.panel(s, "staging")
        # The values the sandbox serves (prom_live_test checks them against
        # the CLI): ROC-AUC 0.87, drift 0.04, no errors, some traffic.
        self.assertRegex(staging, r"ROC-AUC\s+0\.870\s+< 0\.800 for 4s\s+inactive since")
        self.assertRegex(staging, r"drift score\s+0\.040\s+> 0\.200 for 4s\s+inactive since")
        self.assertRegex(staging, r"error rate\s+0\.00 %\s+> 5\.00 % for 4s\s+inactive since")
        self.assertRegex(staging, r"throughput\s+\d+\.\d req/s\s+no trigger")
        # Charts in braille dots, with the threshold's value on the scale.
        self.assertRegex(s, "[\u2801-\u28ff]")
        self.assertRegex(staging, r"500\.0 ms [\u2800-\u28ff ]")
        self.assertNotIn("TRIGGER FIRING", s)
        # The query behind a metric, on demand.
        self.pane.keys("j")
        self.pane.keys("x")
        s = self.pane.wait_for(r"histogram_quantile\(0\.95[\s\S]*Enter/Esc close")
        self.assertIn('namespace="mlops-staging"', s)
        self.pane.keys("Escape")
        self.pane.wait_for(r"histogram_quantile", gone=True)

        SIM.inject({"namespace": NS, "deployment": DEP, "latency_ms": 800})
        s = self.pane.wait_for(r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+(pending|firing) since",
                               timeout=BOUND)
        self.assertRegex(self.panel(s, "staging"), r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+pending since",
                         "the trigger skipped pending")
        s = self.pane.wait_for(r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+firing since"
                               r"[\s\S]*production \(mlops-production[\s\S]*throughput", timeout=BOUND)
        lines = s.splitlines()
        # The banner: the line under the header, across the screen.
        self.assertRegex(lines[1], r"TRIGGER FIRING  staging: p95 latency \d+\.\d ms > 500\.0 ms "
                                   r"for 4s, firing since \d\d:\d\d:\d\dZ \(policy prompt\)")
        staging = self.panel(s, "staging")
        value = float(re.search(r"p95 latency\s+(\d+\.\d) ms", staging).group(1))
        self.assertGreater(value, 500)
        # Production is another deployment: healthy.
        self.assertRegex(self.panel(s, "production"),
                         r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+inactive since")
        # The banner stays in every view; the overview counts the triggers.
        for key, what in (("6", r"2 versions - read"), ("1", r"metrics: staging 1 firing")):
            self.pane.keys(key)
            s = self.pane.wait_for(what)
            self.assertIn("TRIGGER FIRING  staging: p95 latency", s.splitlines()[1])
        # The banner's key opens staging's rollback plan in the deployments
        # view (built, then confirmed or cancelled there).
        self.pane.keys("!")
        s = self.pane.wait_for(r"roll back staging\? Enter or y runs it|rollback of staging: ",
                               timeout=BOUND)
        self.assertRegex(s, r"\d deployments")
        if "roll back staging?" in s:
            self.assertRegex(s, r"rollback staging \(mlops-staging\)")
            self.pane.keys("Escape")
            self.pane.wait_for(r"cancelled: nothing changed")
            self.pane.keys("Escape")
            self.pane.wait_for(r"rollback plan", gone=True)
        self.pane.keys("3")
        SIM.reset()
        self.pane.wait_for(r"TRIGGER FIRING", gone=True, timeout=BOUND)
        s = self.pane.wait_for(r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+inactive since")
        # The selected metric's (p95 latency's) recorded history, in a
        # column of the focused panel, newest first.
        s = self.pane.wait_for(r"p95 latency: state history[\s\S]*\d+ changes in 24h, "
                               r"evaluated \d+s ago[\s\S]*production \(mlops-production")
        staging = self.panel(s, "staging")
        rows = re.findall(r"(\d\d:\d\d:\d\dZ) (inactive|pending|firing|nodata)\s+"
                          r"(\d+\.\d) ms\s+(\d\S*)", staging)
        self.assertEqual([r[1] for r in rows][:3], ["inactive", "firing", "pending"], staging)
        self.assertGreater(float(rows[1][2]), 500)
        self.assertLess(float(rows[0][2]), 500)
        self.assertTrue(rows[0][3].endswith("+"), rows[0])  # still holding
        # Pending held at least the `for:` (4s) before it fired.
        self.assertRegex(rows[2][3], r"^([4-9]|\d\d+)(\.\d+)?s$|m")
        # The other environment's panel has no timeline (not focused).
        self.assertNotIn("state history", self.panel(s, "production"))
        # The overview names the last change.
        self.pane.keys("1")
        self.pane.wait_for(r"metrics: staging 4 inactive; production 4 inactive; read \d+s ago; "
                           r"last: staging p95 latency firing->inactive \d+s ago")
        self.quit_promptly()

    def test_z_hung_then_killed_prometheus(self):
        """Last: it stops the server for good."""
        self.start("metrics")
        self.pane.wait_for(r"p95 latency\s+\d+\.\d ms\s+> 500\.0 ms for 4s\s+inactive since")
        PROM.send_signal(signal.SIGSTOP)
        try:
            # Hung: every key still answers at once while reads wait.
            for key, what in (("6", r"2 versions - read"), ("3", r"staging \(mlops-staging/"),
                              ("1", r"model versions"), ("3", r"staging \(mlops-staging/")):
                t0 = time.monotonic()
                self.pane.keys(key)
                self.pane.wait_for(what, timeout=5)
                self.assertLess(time.monotonic() - t0, 2.0)
            s = self.pane.wait_for(r"Prometheus: [\s\S]*(timeout|timed out|did not answer)",
                                   timeout=BOUND)
            self.assertIn("as last read", s)
        finally:
            PROM.kill()
            PROM.wait()
        # Gone: the refused connection is said, the last data kept, marked.
        s = self.pane.wait_for(r"Prometheus: [\s\S]*(refused|connect|unreachable)", timeout=BOUND)
        self.assertRegex(s, r"as last read \d+s ago \(may be out of date\)")
        self.assertIn(PROM_URL, s)
        self.quit_promptly()


if __name__ == "__main__":
    unittest.main(verbosity=2)
