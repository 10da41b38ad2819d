#!/usr/bin/python3
"""The audit view (key 7), in tmux.

Two versions registered in a private CHURNOPS_HOME, 1.0.0 in production. With
the console open, `churnops promote --registry-only` (a reason holding an
escape sequence) and `churnops rollback --registry-only` by two actors must
show in view 7 on the next read, newest first, with who, action, environment,
target, before -> after, outcome and reason, the escape shown escaped; `/`
filters the rows; the selected record's details show below.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)

HOME = None
REASON = "hotfix \x1b[31mred"


def cli(*args, actor="alice", code=0):
    p = harness.run(list(args), env={"CHURNOPS_HOME": HOME, "CHURNOPS_ACTOR": actor,
                                     "KUBECONFIG": os.path.join(HOME, "none")})
    if p.returncode != code:
        raise AssertionError(harness.describe(p))
    return p


def setUpModule():
    global HOME
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    HOME = harness.tempdir("churnops-audit-home-")
    ct.HOME = HOME
    d = os.path.join(harness.tempdir("churnops-audit-model-"), "m")
    p = harness.train(d, "--rounds", 10, "--folds", 2)
    if p.returncode != 0:
        raise RuntimeError("training failed:\n" + harness.describe(p))
    for v in ("1.0.0", "1.1.0"):
        cli("registry", "register", "--model", d, "--version", v)
    cli("registry", "stage", "1.0.0", "production", "--override", "--reason", "first")


class AuditView(unittest.TestCase):
    def setUp(self):
        self.pane = ct.Pane(150, 40)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    def test_actions_show_and_filter(self):
        self.pane.run_console("console")
        self.pane.wait_for(r"1 overview")
        self.pane.keys("7")
        self.pane.wait_for(r"nothing audited yet")
        cli("promote", "--version", "1.1.0", "--env", "production", "--yes", "--registry-only",
            "--override", "--reason", REASON, actor="carol")
        s = self.pane.wait_for(r"carol\s+promote \(registry only\)", timeout=20)
        self.assertRegex(s, r"carol\s+promote \(registry only\)\s+production\s+1\.1\.0\s+"
                            r"1\.0\.0 -> 1\.1\.0\s+succeeded\s+hotfix \\x1b\[31mred")
        self.assertNotIn("\x1b", s)
        self.assertIn("audit log: 1 record, newest first", s)
        cli("rollback", "--target", "previous", "--env", "production", "--yes",
            "--registry-only", actor="dave")
        s = self.pane.wait_for(r"dave\s+rollback \(registry only\)", timeout=20)
        self.assertRegex(s, r"dave\s+rollback \(registry only\)\s+production\s+1\.0\.0\s+"
                            r"1\.1\.0 -> 1\.0\.0\s+succeeded")
        # Newest first, and the selection stays on the newest.
        self.assertLess(s.index("dave"), s.index("carol"))
        self.assertRegex(s, r"rollback \(registry only\) by dave at \S+: succeeded")
        self.assertRegex(s, r"environment production\s+target 1\.0\.0\s+before 1\.1\.0\s+"
                            r"after 1\.0\.0")
        # Filter on the actor.
        self.pane.keys("/")
        self.pane.keys("carol", literal=True)
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"filter: carol")
        self.assertIn("carol", s)
        self.assertNotRegex(s, r"dave\s+rollback")
        self.assertRegex(s, r"promote \(registry only\) by carol at \S+: succeeded")
        # Esc in the filter prompt clears it.
        self.pane.keys("/")
        self.pane.keys("Escape")
        s = self.pane.wait_for(r"dave\s+rollback")
        # Key 7 from another view comes back here.
        self.pane.keys("1")
        self.pane.wait_for(r"model versions", timeout=10)
        self.pane.keys("7")
        self.pane.wait_for(r"audit log: 2 records")
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT, timeout=10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
