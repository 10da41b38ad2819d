"""Console tests of the checklist view (4), its sign-off dialog, the drift
panel and the model card pager: the real churnops binary in tmux.

The tmux helpers (a private server per test, keys in, screens out, waiting
by polling) are console_test.py's; this file runs on a demo workspace of
its own, so sign-offs given here never reach the other console tests.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree (data/telco_churn.csv, themes/)
"""

import json
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_test  # noqa: E402
from console_test import AT_PROMPT, ConsoleTest, harness  # noqa: E402

HOME = None
WORKSPACE = None

# A list row of the checklist view: "│  PASS     roc_auc   0.9084 ...".
ITEM_RX = re.compile(r"^│\s+(PASS|FAIL|PENDING|MANUAL)\s+([a-z_0-9]+)\s", re.M)
VERDICT_RX = r"verdict (PASS|FAIL|PENDING) "
# stakeholder_approval's and monitoring's places among the items
# (checklist order).
STAKEHOLDER_INDEX = 13
MONITORING_INDEX = 15


def setUpModule():
    global HOME, WORKSPACE
    harness.require_binary()
    if not console_test.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    HOME = harness.tempdir("churnops-checklist-home-")
    p = harness.run(["demo", "--no-console"], env={"CHURNOPS_HOME": HOME}, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("churnops demo --no-console failed:\n" + harness.describe(p))
    WORKSPACE = p.stdout.strip()
    # console_test's Pane puts its module's HOME into the console's
    # environment.
    console_test.HOME = HOME
    console_test.WORKSPACE = WORKSPACE


def model_dir(version):
    return os.path.join(WORKSPACE, "models", version)


def data_file():
    return os.path.join(WORKSPACE, "data", "telco_churn.csv")


class ChecklistView(ConsoleTest):
    cols, rows = 130, 42
    # The console's demo would start Prometheus and judge monitoring against
    # it, while the CLI runs compared with the view have none: without it
    # both see monitoring pending.
    extra_env = {"CHURNOPS_PROMETHEUS": "", "PROMETHEUS_URL": ""}

    def open_checklist(self, *console_args):
        """Starts the console with CONSOLE_ARGS, shows the checklist and
        waits for a verdict; returns the screen."""
        self.pane.run_console(*console_args)
        self.pane.wait_for(r"model versions \(local, \d\) - read")
        self.pane.keys("4")
        self.pane.wait_for(VERDICT_RX)
        return self.pane.wait_for(r"running validate", gone=True)

    def statuses(self, screen):
        return {item: status.lower() for status, item in ITEM_RX.findall(screen)}

    def cli(self, *args):
        p = harness.run(list(args), env={"CHURNOPS_HOME": HOME, "PROMETHEUS_URL": ""},
                        timeout=300)
        self.assertIn(p.returncode, (0, 1), harness.describe(p))
        return json.loads(p.stdout)

    def select_stakeholder(self):
        self.pane.keys("g")
        for _ in range(STAKEHOLDER_INDEX):
            self.pane.keys("j")
        return self.pane.wait_for(r"evidence: stakeholder_approval")

    def test_statuses_match_validate(self):
        s = self.open_checklist("demo")
        shown = self.statuses(s)
        rep = self.cli("validate", "--model", model_dir("1.2.0"), "--data", data_file(),
                       "--json", "--no-record")
        want = {it["id"]: it["status"] for it in rep["items"]}
        self.assertEqual(shown, want, s)
        verdict = rep["verdict"].upper()
        self.assertRegex(s, r"verdict %s " % verdict)
        # The header carries the verdict of the version in view.
        self.assertIn("model: churn 1.2.0  verdict: %s" % verdict, s.splitlines()[0])
        # Sections group the items, in the checklist's order.
        body = "\n".join(s.splitlines()[3:])
        order = [m.group(1) for m in re.finditer(
            r"^│ (performance|technical|business|operational)\s", body, re.M)]
        self.assertEqual(order, ["performance", "technical", "business", "operational"])
        # The selected item's evidence, value and threshold.
        self.assertIn("evidence: roc_auc", s)
        self.assertRegex(s, r"threshold\s+>= 0\.85")
        self.assertRegex(s, r"ROC-AUC 0\.\d{4} on 7043 rows")
        # The run was recorded: churnops checklist show sees it.
        shown_store = self.cli("checklist", "show", "--model", model_dir("1.2.0"), "--json")
        self.assertEqual({it["id"]: it["status"] for it in shown_store["items"]}, want)
        # The drift panel says what it compares.
        s = self.pane.wait_for(
            r"current\s+\S+telco_churn\.csv \(7043 rows\): the console's data file")
        self.assertIn("training data of 1.2.0", s)
        self.assertIn("reference  the same file, so nothing can have drifted", s)
        self.quit()

    def test_sign_off_turns_the_item_pass(self):
        s = self.open_checklist("--model", model_dir("1.0.0"), "--data", data_file())
        self.assertEqual(self.statuses(s)["stakeholder_approval"], "manual")
        self.select_stakeholder()
        self.pane.keys("s")
        self.pane.wait_for(r"sign off stakeholder_approval as \(name\):")
        self.pane.wait_for(r"item\s+Stakeholder approval \(stakeholder_approval\)")
        self.pane.keys("Grace Hopper", literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for(r"note \(optional\):")
        self.pane.keys("CAB-7 approved", literal=True)
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"PASS\s+stakeholder_approval")
        # The item's evidence names who signed (the note may wrap).
        self.pane.wait_for(r"signed off by Grace Hopper")
        rep = self.cli("checklist", "show", "--model", model_dir("1.0.0"), "--json")
        items = {it["id"]: it["status"] for it in rep["items"]}
        self.assertEqual(items["stakeholder_approval"], "pass")
        self.assertIn(("stakeholder_approval", "Grace Hopper", "CAB-7 approved"),
                      [(x["item"], x["by"], x["note"]) for x in rep["signoffs"]])
        # validate agrees with what the view shows.
        s = self.pane.wait_stable()
        rep = self.cli("validate", "--model", model_dir("1.0.0"), "--data", data_file(),
                       "--json", "--no-record")
        self.assertEqual(self.statuses(s), {it["id"]: it["status"] for it in rep["items"]})
        self.quit()

    def test_sign_off_only_for_manual_items_and_cancel(self):
        self.open_checklist("--model", model_dir("1.0.0"), "--data", data_file())
        self.pane.keys("s")  # roc_auc is selected
        self.pane.wait_for(r"roc_auc is judged by validate; only manual items are signed off")
        self.select_stakeholder()
        self.pane.keys("s")
        self.pane.wait_for(r"sign off stakeholder_approval as \(name\):")
        self.pane.keys("Escape")
        self.pane.wait_for(r"sign-off cancelled")
        self.quit()

    def test_read_only_refuses_sign_off(self):
        before = self.cli("checklist", "show", "--model", model_dir("1.1.0"), "--json")
        s = self.open_checklist("--model", model_dir("1.1.0"), "--data", data_file(),
                                "--read-only")
        self.assertIn("READ-ONLY", s.splitlines()[0])
        self.pane.keys("r")  # runs (again), without recording
        self.pane.wait_for(r"running validate")
        self.pane.wait_for(r"read-only: not recorded")
        self.select_stakeholder()
        s = self.pane.wait_for(r"read-only: sign-off is refused")
        self.pane.keys("s")
        self.pane.wait_for(r"read-only: sign-off refused")
        self.assertNotRegex(self.pane.screen(), r"sign off stakeholder_approval as")
        rep = self.cli("checklist", "show", "--model", model_dir("1.1.0"), "--json")
        self.assertEqual(rep["signoffs"], [])
        # The run the view made was not recorded either.
        self.assertEqual(rep["recorded_at"], before["recorded_at"])
        self.quit()

    def test_card_pager_and_search(self):
        self.open_checklist("demo")
        self.pane.keys("c")
        s = self.pane.wait_for(r"# Model card")
        self.assertIn("model card churn 1.2.0", s)
        self.assertIn("generated now, not saved", s)
        self.pane.keys("/")
        self.pane.keys("fairness", literal=True)
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"/fairness: match 1 of (\d+)")
        total = int(re.search(r"/fairness: match 1 of (\d+)", s).group(1))
        self.assertGreaterEqual(total, 2)
        self.pane.keys("n")
        self.pane.wait_for(r"/fairness: match 2 of %d" % total)
        self.pane.keys("N")
        self.pane.wait_for(r"/fairness: match 1 of %d" % total)
        self.pane.keys("G")
        self.pane.wait_for(r"rows \d+-(\d+) of \1\b")
        self.pane.keys("Escape")
        self.pane.wait_for(VERDICT_RX)
        self.quit()

    def test_saved_card_is_shown(self):
        out = os.path.join(model_dir("1.1.0"), "model_card.md")
        p = harness.run(["card", "--model", model_dir("1.1.0"), "--output", out],
                        env={"CHURNOPS_HOME": HOME})
        self.assertEqual(p.returncode, 0, harness.describe(p))
        try:
            self.open_checklist("--model", model_dir("1.1.0"), "--data", data_file())
            self.pane.keys("c")
            s = self.pane.wait_for(r"# Model card")
            self.assertIn(out, s)
            self.assertNotIn("generated now", s)
            self.pane.keys("Escape")
            self.quit()
        finally:
            os.unlink(out)

    def test_drift_against_training_data(self):
        # Month-to-month customers only: the contract mix has moved.
        header, rows = harness.telco()
        contract = header.index("contract")
        subset = [r for r in rows if r[contract] == "Month-to-month"]
        path = os.path.join(harness.tempdir(), "month_to_month.csv")
        harness.write_csv(path, header, subset)
        self.open_checklist("--model", model_dir("1.2.0"), "--data", path)
        s = self.pane.wait_for(r"contract\s+\d+\.\d{4} significant")
        self.assertRegex(s, r"current\s+\S+month_to_month\.csv \(%d rows\)" % len(subset))
        self.assertRegex(s, r"reference\s+\S+telco_churn\.csv \(7043 rows\): training data of 1\.2\.0")
        self.assertRegex(s, r"overall \d+\.\d{4} significant \(largest: contract")
        self.quit()


@unittest.skipUnless(os.access("/usr/bin/prometheus", os.X_OK) or shutil.which("prometheus"),
                     "prometheus is not installed")
class ChecklistViewPrometheus(ConsoleTest):
    """The demo starts Prometheus: the view's worker asks it for the
    monitoring item, which is then judged (pass, or fail while the first
    scrapes are missing), never left pending."""
    cols, rows = 130, 42
    extra_env = {"PROMETHEUS_URL": ""}
    open_checklist = ChecklistView.open_checklist
    statuses = ChecklistView.statuses

    def test_monitoring_asks_the_demos_prometheus(self):
        s = self.open_checklist("demo")
        self.assertIn(self.statuses(s).get("monitoring"), ("pass", "fail"), s)
        self.pane.keys("g")
        for _ in range(MONITORING_INDEX):
            self.pane.keys("j")
        s = self.pane.wait_for(r"evidence: monitoring")
        self.assertRegex(s, r"Prometheus at http://127\.0\.0\.1:\d+")
        # The metrics view keeps reading the demo's Prometheus: q may find a
        # job running and ask.
        self.pane.keys("q")
        s = self.pane.wait_for(r"Quit anyway|" + AT_PROMPT)
        if "Quit anyway" in s:
            self.pane.keys("y")
            self.pane.wait_for(AT_PROMPT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
