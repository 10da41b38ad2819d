#!/usr/bin/python3
"""Secrets never leak. Distinctive values are given for every credential
churnops takes (MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_PASSWORD,
PROMETHEUS_TOKEN, PROMETHEUS_PASSWORD, a kubeconfig user token, a
kubeconfig client key, as a file and inline) and a broad flow runs with
them: the registry against the MLflow double (which checks the bearer or
basic credentials), metrics and watch against a Prometheus-shaped server
(which checks them too), status, promote and rollback on the sandbox
cluster, smoke through the API server's proxy, with --json where the command
has it; then the failing variants: wrong credentials (401), a read-only
token (403), a Prometheus that echoes the Authorization header it was sent
in its error, credentials written into the tracking URI.

Afterwards every stdout and stderr, and every file under CHURNOPS_HOME (the
SQLite database's bytes included: registry, audit log, journal, trigger
history), is searched for each secret: none may appear."""

import base64
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402
import mlflow_double  # noqa: E402
from faultserver import FaultServer  # noqa: E402
from kubesim_launcher import Kubesim, client_certificate, self_signed  # noqa: E402

MLFLOW_TOKEN = "mlflowTOKEN-5f1c9a77e2"
MLFLOW_USER = "alice"
MLFLOW_PASSWORD = "mlflowPASS-8d3b0c41f6"
PROM_TOKEN = "promTOKEN-2a7e66d0b9"
PROM_USER = "prom-reader"
PROM_PASSWORD = "promPASS-c90f13e55a"
KUBE_TOKEN = "kubeTOKEN-41be07c3d8"
KUBE_RO_TOKEN = "kubeROTOKEN-77a0c2f1e4"
WRONG = {
    "mlflow token": "wrongMLTOKEN-0b6d4e2a91",
    "mlflow password": "wrongMLPASS-31c8f07d5e",
    "prom token": "wrongPROMTOKEN-9e2a6c0f17",
    "prom password": "wrongPROMPASS-4f71b3d09c",
    "kube token": "wrongKUBETOKEN-c3d5a8e120",
    "uri password": "uriPASS-6a0e9d2b7f",
}
SECRETS = {
    "MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN,
    "MLFLOW_TRACKING_PASSWORD": MLFLOW_PASSWORD,
    "PROMETHEUS_TOKEN": PROM_TOKEN,
    "PROMETHEUS_PASSWORD": PROM_PASSWORD,
    "kubeconfig token": KUBE_TOKEN,
    "kubeconfig read-only token": KUBE_RO_TOKEN,
}
SECRETS.update(("wrong " + k, v) for k, v in WRONG.items())

MODEL = None


def prometheus(token=None, basic=None):
    """A Prometheus-shaped answer for the right credentials; for wrong ones a
    401 whose error echoes the Authorization header it got, as a careless
    proxy might."""
    want = ("Bearer " + token if token else
            "Basic " + base64.b64encode(("%s:%s" % basic).encode()).decode())

    def handler(method, path, headers, body):
        auth = headers.get("authorization", "")
        if auth != want:
            err = {"status": "error", "errorType": "unauthorized",
                   "error": "bad credentials: got %r" % auth}
            return 401, "application/json", json.dumps(err).encode()
        now = time.time()
        if path.startswith("/api/v1/query_range"):
            data = {"resultType": "matrix", "result": [
                {"metric": {}, "values": [[now - 30 * i, "0.9"] for i in range(4, -1, -1)]}]}
        else:
            data = {"resultType": "vector", "result": [{"metric": {}, "value": [now, "0.9"]}]}
        return 200, "application/json", json.dumps({"status": "success", "data": data}).encode()
    return handler


def setUpModule():
    global MODEL
    h.require_binary()
    d = h.tempdir("churnops-secrets-model-")
    MODEL = os.path.join(d, "m")
    p = h.run(["train", "--data", h.TELCO, "--out", MODEL, "--rounds", 10, "--folds", 0,
               "--quiet"])
    if p.returncode != 0:
        raise RuntimeError(h.describe(p))


class Secrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.tempdir("churnops-secrets-")
        cls.home = os.path.join(cls.dir, "home")
        os.makedirs(cls.home)
        # The sandbox serves every version with the test model, so the
        # promote's smoke step compares like with like.
        served = os.path.join(cls.dir, "served")
        cls.v110 = os.path.join(served, "1.1.0")
        for v in ("1.0.0", "1.1.0", "1.2.0"):
            os.makedirs(os.path.join(served, v))
            for f in ("model.json", "schema.json"):
                os.symlink(os.path.join(MODEL, f), os.path.join(served, v, f))
        pki = os.path.join(cls.dir, "pki")
        os.makedirs(pki)
        cert, key = self_signed(pki)
        client_ca, client_cert, client_key = client_certificate(pki, "admin")
        with open(client_key, "rb") as f:
            key_pem = f.read()
        # The key's own lines, and its base64 as client-key-data carries it.
        lines = [ln for ln in key_pem.decode().splitlines() if ln and "-----" not in ln]
        SECRETS["client key (a line of the PEM)"] = lines[len(lines) // 2]
        SECRETS["client key (client-key-data)"] = base64.b64encode(key_pem).decode()[100:160]
        cls.sim = Kubesim(speed=20, tls=(cert, key), token=KUBE_TOKEN,
                          read_only_token=KUBE_RO_TOKEN, client_ca=client_ca, models=served)
        kc = os.path.join(cls.dir, "kube")
        os.makedirs(kc)
        cls.kc_token = cls.sim.kubeconfig(os.path.join(kc, "token"), token=KUBE_TOKEN,
                                          ca_file=cert)
        cls.kc_ro = cls.sim.kubeconfig(os.path.join(kc, "ro"), token=KUBE_RO_TOKEN,
                                       ca_file=cert)
        cls.kc_wrong = cls.sim.kubeconfig(os.path.join(kc, "wrong"), token=WRONG["kube token"],
                                          ca_file=cert)
        cls.kc_key_file = cls.sim.kubeconfig(os.path.join(kc, "keyfile"), ca_file=cert,
                                             client_cert=client_cert, client_key=client_key)
        cls.kc_key_data = cls.sim.kubeconfig(os.path.join(kc, "keydata"), ca_file=cert,
                                             client_cert=client_cert, client_key=client_key,
                                             client_data=True)
        cls.ml, cls.ml_url = mlflow_double.start(token=MLFLOW_TOKEN)
        cls.ml_basic, cls.ml_basic_url = mlflow_double.start(
            basic=(MLFLOW_USER, MLFLOW_PASSWORD))
        cls.prom = FaultServer("ok", handler=prometheus(token=PROM_TOKEN))
        cls.prom_basic = FaultServer("ok", handler=prometheus(basic=(PROM_USER, PROM_PASSWORD)))
        cls.base = {
            "CHURNOPS_HOME": cls.home, "CHURNOPS_ACTOR": "tester",
            "KUBECONFIG": cls.kc_token,
            "MLFLOW_TRACKING_URI": cls.ml_url, "MLFLOW_TRACKING_TOKEN": MLFLOW_TOKEN,
            "MLFLOW_TRACKING_USERNAME": "", "MLFLOW_TRACKING_PASSWORD": "",
            "PROMETHEUS_URL": cls.prom.url, "PROMETHEUS_TOKEN": PROM_TOKEN,
            "PROMETHEUS_USER": "", "PROMETHEUS_PASSWORD": "",
        }
        cls.outputs = []
        cls.flow()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()
        for s in (cls.ml, cls.ml_basic):
            s.shutdown()
            s.server_close()
        cls.prom.stop()
        cls.prom_basic.stop()

    @classmethod
    def cli(cls, *args, codes=(0,), **env):
        p = h.run(list(args), env=dict(cls.base, **env), timeout=180)
        cls.outputs.append((p, codes))
        return p

    @classmethod
    def flow(cls):
        c = cls.cli
        model = MODEL
        # The registry on MLflow (bearer), then basic authentication.
        c("registry", "register", "--backend", "mlflow", "--model", model, "--version", "1.0.0")
        c("registry", "list", "--backend", "mlflow", "--json")
        c("registry", "show", "1.0.0", "--backend", "mlflow", "--json")
        c("registry", "stage", "1.0.0", "staging", "--backend", "mlflow")
        c("registry", "history", "--backend", "mlflow", "--json")
        c("registry", "list", "--backend", "mlflow", "--json",
          MLFLOW_TRACKING_URI=cls.ml_basic_url, MLFLOW_TRACKING_TOKEN="",
          MLFLOW_TRACKING_USERNAME=MLFLOW_USER, MLFLOW_TRACKING_PASSWORD=MLFLOW_PASSWORD)
        # The embedded registry, for the cluster actions.
        sq = ("--backend", "sqlite")
        for v in ("1.0.0", "1.1.0"):
            c("registry", "register", "--model", model, "--version", v, *sq)
        c("registry", "stage", "1.0.0", "staging", *sq)
        # Prometheus, bearer then basic.
        c("metrics", "--env", "production", "--json")
        c("metrics", "--env", "production")
        c("watch", "--env", "production", "--once", "--json", codes=(0, 1))
        c("alerts", "--env", "production", "--json", codes=(0, 1))
        c("metrics", "--env", "production", "--json", PROMETHEUS_URL=cls.prom_basic.url,
          PROMETHEUS_TOKEN="", PROMETHEUS_USER=PROM_USER, PROMETHEUS_PASSWORD=PROM_PASSWORD)
        # The cluster: status, promote and rollback, smoke, pods with a
        # client key from a file and inline.
        c("status", "--json")
        c("status")
        c("promote", "--version", "1.1.0", "--env", "staging", "--yes", "--json", *sq)
        # The sandbox's old pods may still answer for a moment (exit 1).
        c("smoke", "--env", "staging", "--model", cls.v110, "--json", codes=(0, 1))
        # Its smoke step may catch the sandbox's old pods still answering
        # (exit 1); what matters here is what it prints and records.
        c("rollback", "--env", "staging", "--yes", "--json", *sq, codes=(0, 1))
        c("actions", "list", "--json")
        c("audit", "--json")
        c("cluster", "pods", "--env", "staging", "--json", KUBECONFIG=cls.kc_key_file)
        c("cluster", "status", "--env", "staging", KUBECONFIG=cls.kc_key_data)
        # Failing variants.
        cls.fail_ml_token = c("registry", "list", "--backend", "mlflow",
                              MLFLOW_TRACKING_TOKEN=WRONG["mlflow token"], codes=(3,))
        cls.fail_ml_basic = c("registry", "list", "--backend", "mlflow",
                              MLFLOW_TRACKING_URI=cls.ml_basic_url, MLFLOW_TRACKING_TOKEN="",
                              MLFLOW_TRACKING_USERNAME=MLFLOW_USER,
                              MLFLOW_TRACKING_PASSWORD=WRONG["mlflow password"], codes=(3,))
        cls.fail_ml_uri = c("registry", "list", "--backend", "mlflow",
                            MLFLOW_TRACKING_URI=cls.ml_url.replace(
                                "://", "://%s:%s@" % (MLFLOW_USER, WRONG["uri password"])),
                            codes=(2,))
        cls.fail_prom_token = c("metrics", "--env", "production",
                                PROMETHEUS_TOKEN=WRONG["prom token"], codes=(3,))
        cls.fail_prom_watch = c("watch", "--env", "production", "--once",
                                PROMETHEUS_TOKEN=WRONG["prom token"], codes=(3,))
        cls.fail_prom_basic = c("metrics", "--env", "production", "--json",
                                PROMETHEUS_URL=cls.prom_basic.url, PROMETHEUS_TOKEN="",
                                PROMETHEUS_USER=PROM_USER,
                                PROMETHEUS_PASSWORD=WRONG["prom password"], codes=(3,))
        cls.fail_kube = c("cluster", "pods", "--env", "staging", KUBECONFIG=cls.kc_wrong,
                          codes=(3,))
        cls.fail_kube_status = c("status", KUBECONFIG=cls.kc_wrong, codes=(3,))
        cls.fail_kube_ro = c("promote", "--version", "1.1.0", "--env", "staging", "--yes",
                             *sq, KUBECONFIG=cls.kc_ro, codes=(3,))
        c("audit", "--json")
        c("actions", "list", "--json")

    def test_every_command_ran_as_expected(self):
        for p, codes in self.outputs:
            with self.subTest(command=" ".join(p.args[1:])):
                h.assert_no_crash(self, p)
                self.assertIn(p.returncode, codes, h.describe(p))

    def test_the_servers_saw_the_credentials(self):
        reqs = self.ml.state.requests
        self.assertTrue(reqs and all(r["auth"] == "bearer" for r in reqs))
        self.assertTrue(any(r["auth"] == "basic" for r in self.ml_basic.state.requests))
        self.assertTrue(self.prom.requests)
        self.assertTrue(self.prom_basic.requests)

    def test_failures_say_what_was_refused(self):
        self.assertIn("UNAUTHENTICATED", self.fail_ml_token.stderr)
        self.assertIn("HTTP 401", self.fail_ml_token.stderr)
        self.assertIn("HTTP 401", self.fail_ml_basic.stderr)
        self.assertIn("carries credentials", self.fail_ml_uri.stderr)
        for p in (self.fail_prom_token, self.fail_prom_watch, self.fail_prom_basic):
            self.assertIn("unauthorized", p.stderr, h.describe(p))
            self.assertIn("bad credentials", p.stderr, h.describe(p))
        # The echoed header reached the message with its secret blotted out.
        self.assertIn("Bearer *****", self.fail_prom_token.stderr)
        self.assertIn("unauthorized", self.fail_kube.stderr)
        self.assertIn("unauthorized", self.fail_kube_status.stderr)
        self.assertIn("forbidden", self.fail_kube_ro.stderr)

    def test_no_secret_in_any_output(self):
        for p, _ in self.outputs:
            for name, secret in SECRETS.items():
                for stream, text in (("stdout", p.stdout), ("stderr", p.stderr)):
                    self.assertNotIn(secret, text, "%s in the %s of %s" % (
                        name, stream, " ".join(p.args[1:])))

    def test_no_secret_in_any_file_of_the_home(self):
        files = []
        for root, _, names in os.walk(self.home):
            for n in names:
                files.append(os.path.join(root, n))
        self.assertTrue(any(f.endswith("churnops.db") for f in files), files)
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for name, secret in SECRETS.items():
                self.assertFalse(secret.encode() in data, "%s in %s" % (name, path))

    def test_the_store_holds_what_happened(self):
        # The search above means something only if the store recorded the
        # failures (their messages are where a secret would have gone).
        audit = json.loads(h.run(["audit", "--json"], env=self.base).stdout)
        outcomes = [(a["action"], a["outcome"]) for a in audit]
        self.assertIn(("promote (rolling)", "succeeded"), outcomes)
        self.assertTrue(any(o == "failed" for _, o in outcomes), outcomes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
