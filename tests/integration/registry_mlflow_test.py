#!/usr/bin/python3
"""churnops registry and status against the MLflow REST double
(tests/mlflow_double.py): string version numbers, paging, aliases read with
get-by-alias, transition-stage archiving, the local promotion history,
artifacts through the proxy with the sha256 check, error mapping (MLflow
error_code, a 500, a non-JSON error page, a slow answer past the timeout, an
unreachable server) and the bearer token, which must never be shown."""

import json
import os
import socket
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness as h  # noqa: E402
import mlflow_double  # noqa: E402

TOKEN = "s3cr3t-token-value-9f8e"
MODELS = {}


def setUpModule():
    h.require_binary()
    d = h.tempdir("churnops-mlflow-models-")
    for name, rounds in (("a", 40), ("b", 30)):
        out = os.path.join(d, name)
        p = h.run(["train", "--data", h.TELCO, "--out", out, "--rounds", rounds,
                   "--folds", 0])
        if p.returncode != 0:
            raise RuntimeError(h.describe(p))
        MODELS[name] = out


class Mlflow(unittest.TestCase):
    def setUp(self):
        self.server, self.url = mlflow_double.start(token=TOKEN)
        self.home = h.tempdir("churnops-mlflow-home-")
        self.env = {"CHURNOPS_HOME": self.home, "CHURNOPS_ACTOR": "tester",
                    "MLFLOW_TRACKING_TOKEN": TOKEN, "MLFLOW_TRACKING_URI": self.url}

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def run_cli(self, *args, code=0, env=None, backend=True):
        full = dict(self.env, **(env or {}))
        extra = ["--backend", "mlflow"] if backend else []
        p = h.run(list(args) + extra, env=full)
        h.assert_no_crash(self, p)
        self.assertNotIn(TOKEN, p.stdout + p.stderr)
        self.assertEqual(p.returncode, code, h.describe(p))
        return p

    def json_of(self, *args):
        return json.loads(self.run_cli(*args, "--json").stdout)

    def control(self, path, body=None):
        req = urllib.request.Request(self.url + "/double/" + path,
                                     data=json.dumps(body).encode() if body is not None
                                     else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read() or b"null")

    def requests(self):
        return self.control("requests")

    def register(self, label, model="a"):
        self.run_cli("registry", "register", "--model", MODELS[model], "--version", label)

    def test_register_list_show_by_number_and_label(self):
        self.register("1.0.0")
        self.register("1.1.0", "b")
        listing = self.json_of("registry", "list")
        self.assertEqual(listing["backend"], "mlflow")
        vs = listing["versions"]
        self.assertEqual([(v["version"], v["label"]) for v in vs],
                         [("1", "1.0.0"), ("2", "1.1.0")])
        for v in vs:
            self.assertIsInstance(v["version"], str)
            self.assertEqual(v["status"], "READY")
            self.assertTrue(v["source"].startswith("mlflow-artifacts:/churnops/churn/"))
            self.assertGreater(v["created_ms"], 1.6e12)
            self.assertEqual(v["creator"], "tester")
        by_number = self.json_of("registry", "show", "2")
        by_label = self.json_of("registry", "show", "1.1.0")
        self.assertEqual(by_number["sha256"], by_label["sha256"])
        self.assertEqual(by_number["schema"]["target"], "churn")
        self.assertIn("roc_auc", by_number["metrics"])
        reqs = self.requests()
        puts = [r for r in reqs if r["method"] == "PUT"]
        self.assertEqual(len(puts), 2)
        self.assertTrue(all(r["auth"] == "bearer" for r in reqs))
        self.assertTrue(all(TOKEN not in r["query"] for r in reqs))
        p = self.run_cli("registry", "register", "--model", MODELS["a"], "--version",
                         "1.0.0", code=1)
        self.assertIn("already has a version", p.stderr)
        p = self.run_cli("registry", "show", "99", code=2)
        self.assertIn("no version 99", p.stderr)

    def test_paging(self):
        for i in range(5):
            self.register("0.%d.0" % i, "ab"[i % 2])
        before = len(self.requests())
        vs = self.json_of("registry", "list", "--page-size", "2")["versions"]
        self.assertEqual([v["version"] for v in vs], ["1", "2", "3", "4", "5"])
        searches = [r for r in self.requests()[before:]
                    if r["path"].endswith("model-versions/search")]
        self.assertEqual(len(searches), 3)
        self.assertEqual(sum("page_token=" in r["query"] for r in searches), 2)
        self.assertTrue(all("max_results=2" in r["query"] for r in searches))

    def test_stages_aliases_history_status(self):
        self.register("1.0.0")
        self.register("1.1.0", "b")
        self.run_cli("registry", "stage", "1", "staging")
        p = self.run_cli("registry", "stage", "1", "production", code=1)
        self.assertIn("checklist verdict", p.stderr)
        self.run_cli("registry", "stage", "1", "production", "--override", "--reason", "r1")
        self.run_cli("registry", "alias", "set", "last-known-good", "1.0.0")
        self.run_cli("registry", "stage", "1.1.0", "production", "--override", "--reason",
                     "r2")
        vs = {v["version"]: v for v in self.json_of("registry", "list")["versions"]}
        self.assertEqual(vs["1"]["stage"], "archived")
        self.assertEqual(vs["2"]["stage"], "production")
        # Aliases come from the registered model, not from search results
        # (which the double, like MLflow 3.1.1, returns empty).
        self.assertEqual(vs["2"]["aliases"], ["champion"])
        self.assertEqual(vs["1"]["aliases"], ["last-known-good"])

        before = len(self.requests())
        status = self.json_of("status")["registry"]
        self.assertEqual(status["backend"], "mlflow")
        self.assertEqual(status["location"], self.url)
        self.assertEqual(status["production"]["label"], "1.1.0")
        self.assertEqual(status["last_known_good"]["version"], "1")
        self.assertEqual(status["champion"]["version"], "2")
        self.assertIsNone(status["challenger"])
        paths = [r["path"] for r in self.requests()[before:]]
        self.assertIn("/api/2.0/mlflow/registered-models/alias", paths)

        hist = self.json_of("registry", "history")
        self.assertEqual(hist["registry"], self.url)
        moves = [(e["kind"], e["name"], e["from"], e["to"], e["reason"])
                 for e in hist["history"]]
        self.assertEqual(moves, [
            ("stage", "staging", "", "1", ""),
            ("stage", "production", "", "1", "r1"),
            ("alias", "champion", "", "1", "r1"),
            ("alias", "last-known-good", "", "1", ""),
            ("stage", "production", "1", "2", "r2"),
            ("alias", "champion", "1", "2", "r2"),
        ])
        # The embedded registry's history is separate.
        self.assertEqual(json.loads(self.run_cli("registry", "history", "--json",
                                                 "--backend", "sqlite",
                                                 backend=False).stdout)["history"], [])
        self.assertEqual(self.json_of("registry", "rollback-target", "previous")["version"], "1")
        self.assertEqual(self.json_of("registry", "rollback-target", "rollback")["label"],
                         "1.0.0")
        self.run_cli("registry", "alias", "delete", "last-known-good")
        self.run_cli("registry", "rollback-target", "rollback", code=1)
        self.run_cli("registry", "tag", "1.1.0", "ticket", "CHURN-42")
        shown = self.json_of("registry", "show", "2")
        self.assertEqual(shown["tags"], {"ticket": "CHURN-42"})
        self.assertEqual(shown["label"], "1.1.0")
        # The server's own validation (aliases like v1 are reserved) is bad
        # input, with MLflow's code and message.
        p = self.run_cli("registry", "alias", "set", "v1", "1.1.0", code=2)
        self.assertIn("INVALID_PARAMETER_VALUE", p.stderr)
        self.assertIn("Invalid alias name", p.stderr)

    def test_refusals_not_ready_and_tampered(self):
        self.register("1.0.0")
        self.register("1.1.0", "b")
        self.control("status", {"name": "churn", "version": "1",
                                "status": "PENDING_REGISTRATION"})
        p = self.run_cli("registry", "stage", "1", "staging", code=1)
        self.assertIn("not READY", p.stderr)
        src = self.json_of("registry", "show", "2")["source"]
        self.control("artifact", {"path": src[len("mlflow-artifacts:/"):],
                                  "text": "{\"tampered\": true}"})
        p = self.run_cli("registry", "stage", "2", "staging", code=1)
        self.assertIn("sha256", p.stderr)
        self.run_cli("registry", "rollback-target", "2", code=1)

    def test_errors_are_mapped(self):
        self.register("1.0.0")
        cases = [
            ({"status": 500, "content_type": "application/json",
              "body": json.dumps({"error_code": "INTERNAL_ERROR",
                                  "message": "database is locked"})},
             3, ["INTERNAL_ERROR", "database is locked"]),
            ({"status": 502, "content_type": "text/html",
              "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"},
             3, ["HTTP 502", "INTERNAL_ERROR"]),
            ({"status": 403, "content_type": "application/json",
              "body": json.dumps({"detail": "forbidden by proxy"})},
             3, ["PERMISSION_DENIED"]),
            ({"status": 400, "content_type": "application/json",
              "body": json.dumps({"error_code": "INVALID_PARAMETER_VALUE",
                                  "message": "Invalid value \x1b[31m"})},
             2, ["INVALID_PARAMETER_VALUE"]),
        ]
        for fault, code, needles in cases:
            with self.subTest(fault=fault["status"]):
                self.control("fault", fault)
                p = self.run_cli("registry", "list", code=code)
                for n in needles:
                    self.assertIn(n, p.stderr)
                self.assertNotIn("\x1b", p.stderr)

        p = self.run_cli("registry", "list", env={"MLFLOW_TRACKING_TOKEN": "wrong"}, code=3)
        self.assertIn("UNAUTHENTICATED", p.stderr)
        self.assertNotIn("wrong", p.stderr.replace("wrong bearer", ""))

        self.control("fault", {"delay_ms": 4000})
        t0 = time.monotonic()
        p = self.run_cli("registry", "list", "--timeout", "1", code=3)
        self.assertLess(time.monotonic() - t0, 3.5)
        self.assertIn("timed out", p.stderr.lower())

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        p = self.run_cli("status", "--tracking-uri", "http://127.0.0.1:%d" % port, code=3,
                         backend=False)
        self.assertIn("127.0.0.1:%d" % port, p.stderr)
        self.run_cli("registry", "list", env={"MLFLOW_TRACKING_URI": ""}, code=2)


class BasicAuth(unittest.TestCase):
    def test_basic_credentials_from_the_environment(self):
        server, url = mlflow_double.start(basic=("ops", "pa55-w0rd-x"))
        try:
            env = {"CHURNOPS_HOME": h.tempdir("churnops-mlflow-home-"),
                   "MLFLOW_TRACKING_URI": url}
            p = h.run(["registry", "list", "--backend", "mlflow"], env=env)
            h.assert_no_crash(self, p)
            self.assertEqual(p.returncode, 3, h.describe(p))
            self.assertIn("UNAUTHENTICATED", p.stderr)
            env.update(MLFLOW_TRACKING_USERNAME="ops", MLFLOW_TRACKING_PASSWORD="pa55-w0rd-x")
            p = h.run(["registry", "register", "--backend", "mlflow", "--model", MODELS["a"],
                       "--version", "1.0.0"], env=env)
            self.assertEqual(p.returncode, 0, h.describe(p))
            p = h.run(["status", "--backend", "mlflow", "--json"], env=env)
            self.assertEqual(p.returncode, 0, h.describe(p))
            self.assertNotIn("pa55-w0rd-x", p.stdout + p.stderr)
        finally:
            server.shutdown()
            server.server_close()

if __name__ == "__main__":
    unittest.main(verbosity=2)
