#!/usr/bin/python3
"""churnops promote and rollback with --registry-only (issue 5): the
registry moves (stage, aliases, history, audit, the action journal) and
the cluster is never reached. KUBECONFIG names a file that does not exist,
so any attempt to read it would fail the command."""

import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

MODEL = None


def setUpModule():
    global MODEL
    h.require_binary()
    d = h.tempdir("churnops-regonly-model-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 20, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))


class RegistryOnly(unittest.TestCase):
    def setUp(self):
        self.home = h.tempdir("churnops-regonly-home-")
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester",
                    "KUBECONFIG": os.path.join(self.home, "no-such-kubeconfig")}
        for v in ("1.0.0", "1.1.0", "1.2.0"):
            self.cli("registry", "register", "--model", MODEL, "--version", v)
        for v in ("1.0.0", "1.1.0"):
            self.cli("registry", "stage", v, "production", "--override", "--reason", "seed")
        sha = json.loads(self.cli("registry", "show", "1.2.0", "--json").stdout)["sha256"]
        with sqlite3.connect(os.path.join(self.home, "data", "churnops.db")) as c:
            c.execute("INSERT INTO checklist_runs (model_sha256, verdict, report_json) "
                      "VALUES (?, 'pass', '{}')", (sha,))

    def cli(self, *args, code=0):
        p = h.run(list(args), env=self.env)
        h.assert_no_crash(self, p)
        self.assertEqual(p.returncode, code, h.describe(p))
        return p

    def stages(self):
        doc = json.loads(self.cli("registry", "list", "--json").stdout)
        return {v["label"]: v["stage"] for v in doc["versions"]}

    def audit(self):
        return json.loads(self.cli("audit", "--json").stdout)

    def test_promote_then_rollback_moves_only_the_registry(self):
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                     "--registry-only", "--reason", "cluster moved by hand")
        self.assertIn("registry only", p.stdout)
        self.assertIn("the registry holds 1.1.0 now", p.stdout)
        self.assertNotIn("deployment", p.stdout)
        self.assertIn("done", p.stdout)
        self.assertEqual(self.stages(), {"1.0.0": "archived", "1.1.0": "archived",
                                         "1.2.0": "production"})
        shown = json.loads(self.cli("registry", "show", "1.1.0", "--json").stdout)
        self.assertIn("last-known-good", shown["aliases"])
        hist = json.loads(self.cli("registry", "history", "--json").stdout)["history"]
        last = [x for x in hist if x["kind"] == "stage" and x["name"] == "production"][-1]
        self.assertEqual((last["from"], last["to"], last["actor"], last["reason"]),
                         ("1.1.0", "1.2.0", "tester", "cluster moved by hand"))
        a = self.audit()[-1]
        self.assertEqual((a["actor"], a["action"], a["env"], a["version"], a["outcome"]),
                         ("tester", "promote (registry only)", "production", "1.2.0",
                          "succeeded"))
        self.assertIn("1.1.0 -> 1.2.0", a["detail"])
        self.assertEqual((a["before"], a["after"], a["reason"]),
                         ("1.1.0", "1.2.0", "cluster moved by hand"))
        plans = json.loads(self.cli("actions", "list", "--json").stdout)["plans"]
        steps = [s["description"] for s in plans[-1]["steps"]]
        self.assertEqual(len(steps), 2, steps)
        self.assertTrue(steps[0].startswith("registry checks for 1.2.0"), steps)
        self.assertTrue(steps[1].startswith("registry: 1.2.0 to production"), steps)

        self.cli("rollback", "--target", "previous", "--env", "production", "--yes",
                 "--registry-only")
        self.assertEqual(self.stages()["1.1.0"], "production")
        self.assertEqual(self.stages()["1.2.0"], "archived")
        a = self.audit()[-1]
        self.assertEqual((a["action"], a["version"], a["outcome"]),
                         ("rollback (registry only)", "1.1.0", "succeeded"))

    def test_staging(self):
        self.cli("promote", "--version", "1.2.0", "--env", "staging", "--registry-only")
        self.assertEqual(self.stages()["1.2.0"], "staging")
        self.assertEqual(self.stages()["1.1.0"], "production")

    def test_refusals_still_apply(self):
        p = self.cli("promote", "--version", "9.9.9", "--env", "production", "--yes",
                     "--registry-only", code=2)
        self.assertIn("9.9.9", p.stderr)
        # No last-known-good yet: nothing to roll back to.
        p = self.cli("rollback", "--target", "rollback", "--env", "production", "--yes",
                     "--registry-only", code=1)
        self.assertIn("last-known-good", p.stderr)
        self.assertEqual(self.stages()["1.1.0"], "production")

    def test_dry_run_changes_nothing(self):
        p = self.cli("promote", "--version", "1.2.0", "--env", "production",
                     "--registry-only", "--dry-run")
        self.assertIn("dry run", p.stdout)
        self.assertEqual(self.stages()["1.1.0"], "production")
        self.assertEqual(self.audit(), [])

    def test_read_only_refuses(self):
        self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                 "--registry-only", "--read-only", code=1)
        self.assertEqual(self.stages()["1.1.0"], "production")

    def test_strategy_does_not_apply(self):
        p = self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes",
                     "--registry-only", "--strategy", "canary", code=2)
        self.assertIn("--registry-only", p.stderr)

    def test_without_the_flag_the_cluster_is_needed(self):
        self.cli("promote", "--version", "1.2.0", "--env", "production", "--yes", code=2)
        self.assertEqual(self.stages()["1.1.0"], "production")


if __name__ == "__main__":
    unittest.main(verbosity=2)
