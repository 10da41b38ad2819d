#!/usr/bin/python3
"""churnops registry and status on the embedded (SQLite) back end: register,
list, show, stages, aliases, the promotion history, rollback targets, the
refusals and their exit codes, and two processes promoting at once."""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

MODELS = {}


def setUpModule():
    h.require_binary()
    d = h.tempdir("churnops-registry-models-")
    for name, rounds in (("a", 40), ("b", 30)):
        out = os.path.join(d, name)
        p = h.run(["train", "--data", h.TELCO, "--out", out, "--rounds", rounds,
                   "--folds", 0])
        if p.returncode != 0:
            raise RuntimeError(h.describe(p))
        MODELS[name] = out


class Registry(unittest.TestCase):
    def setUp(self):
        self.home = h.tempdir("churnops-registry-home-")
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester"}

    def run_cli(self, *args, code=0, env=None):
        full = dict(self.env, **(env or {}))
        p = h.run(list(args), env=full)
        h.assert_no_crash(self, p)
        self.assertEqual(p.returncode, code, h.describe(p))
        return p

    def json_of(self, *args):
        return json.loads(self.run_cli(*args, "--json").stdout)

    def register(self, label, model="a", *extra):
        return self.run_cli("registry", "register", "--model", MODELS[model], "--version",
                            label, *extra)

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "data", "churnops.db"))

    def pass_checklist(self, label):
        sha = self.json_of("registry", "show", label)["sha256"]
        with self.db() as c:
            c.execute("INSERT INTO checklist_runs (model_sha256, verdict, report_json) "
                      "VALUES (?, 'pass', '{}')", (sha,))

    def test_register_list_show(self):
        self.register("1.0.0", "a", "--description", "first cut")
        self.register("1.1.0", "b")
        listing = self.json_of("registry", "list")
        self.assertEqual(listing["backend"], "sqlite")
        self.assertEqual(listing["model"], "churn")
        vs = listing["versions"]
        self.assertEqual([v["version"] for v in vs], ["1.0.0", "1.1.0"])
        evaluation = h.read_json(os.path.join(MODELS["a"], "eval.json"))
        self.assertAlmostEqual(vs[0]["metrics"]["roc_auc"], evaluation["roc_auc"], places=12)
        for v in vs:
            for key in ("version", "label", "stage", "aliases", "status", "sha256", "source",
                        "verdict", "creator", "created_ms", "created", "description",
                        "metrics"):
                self.assertIn(key, v)
            self.assertEqual(v["status"], "READY")
            self.assertEqual(v["stage"], "none")
            self.assertEqual(v["verdict"], "pending")
            self.assertEqual(v["creator"], "tester")
            self.assertTrue(os.path.isfile(v["source"]))
            self.assertIn(v["sha256"], v["source"])
        show = self.json_of("registry", "show", "1.0.0")
        self.assertEqual(show["description"], "first cut")
        self.assertEqual(show["schema"]["target"], "churn")
        self.assertEqual(show["evaluation"]["roc_auc"], evaluation["roc_auc"])
        with open(os.path.join(MODELS["a"], "model.json"), "rb") as f:
            self.assertEqual(show["sha256"], hashlib.sha256(f.read()).hexdigest())
        text = self.run_cli("registry", "list").stdout
        self.assertIn("1.1.0", text)
        self.assertIn("VERSION", text)
        with self.db() as c:
            self.assertGreaterEqual(c.execute("PRAGMA user_version").fetchone()[0], 2)

    def test_register_model_file_with_schema(self):
        model = os.path.join(MODELS["a"], "model.json")
        schema = os.path.join(MODELS["a"], "schema.json")
        self.run_cli("registry", "register", "--model", model, "--schema", schema,
                     "--version", "0.9.0")
        self.assertEqual(self.json_of("registry", "show", "0.9.0")["label"], "0.9.0")
        p = self.run_cli("registry", "register", "--model", model, "--version", "0.9.1",
                         code=2)
        self.assertIn("--schema", p.stderr)

    def test_refusals(self):
        self.register("1.0.0")
        p = self.run_cli("registry", "register", "--model", MODELS["b"], "--version",
                         "1.0.0", code=1)
        self.assertIn("already has a version 1.0.0", p.stderr)
        self.run_cli("registry", "register", "--model", MODELS["b"], "--version", "a/b",
                     code=2)
        self.run_cli("registry", "register", "--model", MODELS["b"], code=2)
        self.run_cli("registry", "frobnicate", code=2)
        self.run_cli("registry", code=2)
        self.run_cli("registry", "list", "--backend", "oracle", code=2)
        self.run_cli("registry", "list", "extra", code=2)
        p = self.run_cli("registry", "show", "4.0.0", code=2)
        self.assertIn("no version 4.0.0", p.stderr)
        self.run_cli("registry", "stage", "1.0.0", "prod", code=2)
        self.run_cli("registry", "stage", "1.0.0", code=2)
        self.run_cli("registry", "alias", "delete", "challenger", code=2)
        self.run_cli("registry", "alias", "frob", "x", code=2)
        # Production needs a passing checklist, or an override with a reason.
        p = self.run_cli("registry", "stage", "1.0.0", "production", code=1)
        self.assertIn("checklist verdict", p.stderr)
        self.run_cli("registry", "stage", "1.0.0", "production", "--override", code=2)
        self.run_cli("registry", "stage", "1.0.0", "production", "--override", "--reason",
                     "emergency fix, ticket 7")
        hist = self.json_of("registry", "history")["history"]
        self.assertEqual(hist[0]["reason"], "emergency fix, ticket 7")
        self.assertEqual(hist[0]["actor"], "tester")
        self.assertEqual(self.run_cli("registry", "--help").returncode, 0)

    def test_stages_aliases_history_status(self):
        for label, model in (("1.0.0", "a"), ("1.1.0", "b")):
            self.register(label, model)
            self.pass_checklist(label)
        status = self.json_of("status")
        self.assertIsNone(status["registry"]["production"])
        # No kubeconfig in the test's environment: each environment says so.
        for env in ("staging", "production"):
            self.assertFalse(status["cluster"][env]["configured"])
            self.assertIn("kubeconfig", status["cluster"][env]["error"])
        self.run_cli("registry", "stage", "1.0.0", "staging")
        self.run_cli("registry", "stage", "1.0.0", "production", "--reason", "first")
        self.run_cli("registry", "alias", "set", "last-known-good", "1.0.0")
        self.run_cli("registry", "stage", "1.1.0", "staging")
        self.run_cli("registry", "stage", "1.1.0", "production", "--actor", "carol")
        self.run_cli("registry", "alias", "set", "challenger", "1.0.0")
        self.run_cli("registry", "alias", "delete", "challenger")
        self.run_cli("registry", "tag", "1.1.0", "ticket", "CHURN-42")
        self.run_cli("registry", "tag", "1.1.0", "churnops.sha256", "forged", code=2)
        self.assertEqual(self.json_of("registry", "show", "1.1.0")["tags"],
                         {"ticket": "CHURN-42"})
        self.assertIn("ticket=CHURN-42", self.run_cli("registry", "show", "1.1.0").stdout)
        vs = {v["version"]: v for v in self.json_of("registry", "list")["versions"]}
        self.assertEqual(vs["1.0.0"]["stage"], "archived")
        self.assertEqual(vs["1.1.0"]["stage"], "production")
        self.assertEqual(vs["1.1.0"]["aliases"], ["champion"])
        self.assertEqual(vs["1.0.0"]["aliases"], ["last-known-good"])

        hist = self.json_of("registry", "history")["history"]
        moves = [(e["kind"], e["name"], e["from"], e["to"]) for e in hist]
        self.assertEqual(moves, [
            ("stage", "staging", "", "1.0.0"),
            ("stage", "production", "", "1.0.0"),
            ("alias", "champion", "", "1.0.0"),
            ("alias", "last-known-good", "", "1.0.0"),
            ("stage", "staging", "", "1.1.0"),
            ("stage", "production", "1.0.0", "1.1.0"),
            ("alias", "champion", "1.0.0", "1.1.0"),
            ("alias", "challenger", "", "1.0.0"),
            ("alias", "challenger", "1.0.0", ""),
        ])
        self.assertEqual(hist[5]["actor"], "carol")
        self.assertEqual(hist[1]["reason"], "first")

        status = self.json_of("status")["registry"]
        self.assertEqual(status["backend"], "sqlite")
        self.assertEqual(status["production"]["version"], "1.1.0")
        self.assertIsNone(status["staging"])
        self.assertEqual(status["last_known_good"]["version"], "1.0.0")
        self.assertEqual(status["champion"]["version"], "1.1.0")
        text = self.run_cli("status").stdout
        self.assertIn("production", text)
        self.assertIn("cluster:", text)
        self.assertIn("monitoring: not configured", text)

        for target, want in (("previous", "1.0.0"), ("rollback", "1.0.0"),
                             ("1.1.0", "1.1.0")):
            t = self.json_of("registry", "rollback-target", target)
            self.assertEqual(t["version"], want)
            self.assertTrue(t["sha256_verified"])

    def test_rollback_targets_refused(self):
        self.register("1.0.0")
        p = self.run_cli("registry", "rollback-target", "previous", code=1)
        self.assertIn("no previous production version", p.stderr)
        p = self.run_cli("registry", "rollback-target", "rollback", code=1)
        self.assertIn("last-known-good", p.stderr)
        self.run_cli("registry", "rollback-target", "8.8.8", code=2)
        # A stored artifact that changed is refused wherever it would be used.
        self.run_cli("registry", "alias", "set", "last-known-good", "1.0.0")
        src = self.json_of("registry", "show", "1.0.0")["source"]
        with open(src, "ab") as f:
            f.write(b" ")
        for args in (("registry", "rollback-target", "rollback"),
                     ("registry", "stage", "1.0.0", "staging"),
                     ("registry", "alias", "set", "challenger", "1.0.0")):
            p = self.run_cli(*args, code=1)
            self.assertIn("sha256", p.stderr)
        os.unlink(src)
        self.run_cli("registry", "rollback-target", "1.0.0", code=1)

    def test_two_processes_promote_at_once(self):
        for label, model in (("1.0.0", "a"), ("2.0.0", "b")):
            self.register(label, model)
            self.pass_checklist(label)
        script = ("import subprocess, sys\n"
                  "for i in range(8):\n"
                  "    v = sys.argv[2] if i %% 2 else sys.argv[1]\n"
                  "    r = subprocess.run([%r, 'registry', 'stage', v, 'production'],"
                  " capture_output=True, text=True)\n"
                  "    if r.returncode: print(r.stderr); sys.exit(1)\n") % h.CHURNOPS
        env = dict(os.environ, **self.env)
        procs = [subprocess.Popen([sys.executable, "-c", script, a, b], env=env,
                                  stdout=subprocess.PIPE, text=True)
                 for a, b in (("1.0.0", "2.0.0"), ("2.0.0", "1.0.0"))]
        for p in procs:
            out, _ = p.communicate(timeout=240)
            self.assertEqual(p.returncode, 0, out)
        hist = self.json_of("registry", "history")["history"]
        last = ""
        stage_moves = [e for e in hist if e["kind"] == "stage"]
        for e in stage_moves:
            self.assertEqual(e["from"], last, hist)
            self.assertNotEqual(e["to"], last)
            last = e["to"]
        champ = [e for e in hist if e["name"] == "champion"]
        self.assertEqual(len(champ), len(stage_moves))
        vs = self.json_of("registry", "list")["versions"]
        prod = [v["version"] for v in vs if v["stage"] == "production"]
        self.assertEqual(prod, [last])


if __name__ == "__main__":
    unittest.main(verbosity=2)
