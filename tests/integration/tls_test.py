#!/usr/bin/python3
"""TLS to every backend that takes it: a CA and a server certificate for
127.0.0.1 are made with openssl at test time; the MLflow double, a
Prometheus-shaped server (the fault server's "ok" mode) and the sandbox
cluster serve HTTPS with it.

For each: without the CA the server is refused (exit 3, the message says
certificate verification failed, and nothing is sent past the handshake);
with the CA it is accepted (MLFLOW_TRACKING_SERVER_CERT_PATH,
PROMETHEUS_CA_FILE, kubeconfig certificate-authority and
certificate-authority-data); with the endpoint's own insecure setting it is
accepted without the CA (MLFLOW_TRACKING_INSECURE_TLS, kubeconfig
insecure-skip-tls-verify). A name the certificate does not hold
(https://localhost) is refused even with the CA; a CA file that is not a
certificate is an error, not a silent fallback."""

import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import unittest
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402
import mlflow_double  # noqa: E402
from faultserver import FaultServer  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402

CA = CERT = KEY = OTHER_CA = None
VERIFY_WORDS = "certificate verification failed"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)


def make_pki(d):
    """A CA, a server certificate it signs for 127.0.0.1 (not localhost),
    and a second, unrelated CA."""
    ca, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
            "-days", "2", "-subj", "/CN=churnops test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    key, csr, cert = (os.path.join(d, n) for n in ("server.key", "server.csr", "server.crt"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
            "-subj", "/CN=127.0.0.1")
    ext = os.path.join(d, "server.ext")
    with open(ext, "w", encoding="utf-8") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", cert, "-days", "2", "-extfile", ext)
    other = os.path.join(d, "other-ca.crt")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", os.path.join(d, "other-ca.key"), "-out", other, "-days", "2",
            "-subj", "/CN=someone else's CA")
    return ca, cert, key, other


def server_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    return ctx


def setUpModule():
    global CA, CERT, KEY, OTHER_CA
    h.require_binary()
    CA, CERT, KEY, OTHER_CA = make_pki(h.tempdir("churnops-tls-pki-"))


def cli(tc, args, env, code):
    p = h.run(args, env=env, timeout=120)
    h.assert_no_crash(tc, p)
    tc.assertEqual(p.returncode, code, h.describe(p))
    return p


def assert_refused(tc, p, port):
    h.assert_exit(tc, p, 3)
    tc.assertIn(VERIFY_WORDS, p.stderr, h.describe(p))
    tc.assertIn("127.0.0.1:%d" % port, p.stderr, h.describe(p))


class MlflowTls(unittest.TestCase):
    """The MLflow double behind TLS, on its own socket (the handshake is
    made when a connection is accepted)."""

    def setUp(self):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), mlflow_double.Handler)
        srv.daemon_threads = True
        srv.state = mlflow_double.State("tls-token", None)
        srv.socket = server_context().wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.srv = srv
        self.port = srv.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.env = {"CHURNOPS_HOME": h.tempdir("churnops-tls-home-"),
                    "MLFLOW_TRACKING_URI": self.url, "MLFLOW_TRACKING_TOKEN": "tls-token",
                    "MLFLOW_TRACKING_SERVER_CERT_PATH": "", "MLFLOW_TRACKING_INSECURE_TLS": ""}

    def tearDown(self):
        self.srv.shutdown()
        self.srv.server_close()

    def listing(self, extra, code=0):
        env = dict(self.env, **extra)
        return cli(self, ["registry", "list", "--backend", "mlflow", "--json",
                          "--timeout", 10], env, code)

    def api_requests(self):
        return list(self.srv.state.requests)

    def test_unknown_ca_is_refused(self):
        p = h.run(["registry", "list", "--backend", "mlflow", "--timeout", 10], env=self.env)
        assert_refused(self, p, self.port)
        p = h.run(["registry", "list", "--backend", "mlflow", "--timeout", 10],
                  env=dict(self.env, MLFLOW_TRACKING_SERVER_CERT_PATH=OTHER_CA))
        assert_refused(self, p, self.port)
        self.assertEqual(self.api_requests(), [], "a request went past a refused handshake")

    def test_its_ca_is_accepted(self):
        doc = json.loads(self.listing({"MLFLOW_TRACKING_SERVER_CERT_PATH": CA}).stdout)
        self.assertEqual((doc["backend"], doc["versions"]), ("mlflow", []))
        self.assertTrue(self.api_requests())
        self.assertTrue(all(r["auth"] == "bearer" for r in self.api_requests()))

    def test_insecure_is_accepted(self):
        doc = json.loads(self.listing({"MLFLOW_TRACKING_INSECURE_TLS": "true"}).stdout)
        self.assertEqual(doc["backend"], "mlflow")

    def test_a_name_the_certificate_lacks_is_refused(self):
        env = dict(self.env, MLFLOW_TRACKING_URI="https://localhost:%d" % self.port,
                   MLFLOW_TRACKING_SERVER_CERT_PATH=CA)
        p = h.run(["registry", "list", "--backend", "mlflow", "--timeout", 10], env=env)
        h.assert_exit(self, p, 3)
        self.assertIn(VERIFY_WORDS, p.stderr, h.describe(p))

    def test_a_ca_file_that_is_no_certificate(self):
        bogus = os.path.join(h.tempdir("churnops-tls-bogus-"), "ca.pem")
        with open(bogus, "w", encoding="utf-8") as f:
            f.write("not a certificate\n")
        p = h.run(["registry", "list", "--backend", "mlflow", "--timeout", 10],
                  env=dict(self.env, MLFLOW_TRACKING_SERVER_CERT_PATH=bogus))
        # The user's own file is at fault: bad input (2), named.
        h.assert_exit(self, p, 2)
        self.assertIn("CA bundle %s cannot be used" % bogus, p.stderr, h.describe(p))
        self.assertEqual(self.api_requests(), [])
        missing = bogus + ".missing"
        p = h.run(["registry", "list", "--backend", "mlflow", "--timeout", 10],
                  env=dict(self.env, MLFLOW_TRACKING_SERVER_CERT_PATH=missing))
        h.assert_exit(self, p, 2)
        self.assertIn("CA bundle %s cannot be used" % missing, p.stderr, h.describe(p))


def prom_answer(method, path, headers, body):
    """Every query has one series; range queries a few points."""
    now = time.time()
    if path.startswith("/api/v1/query_range"):
        data = {"resultType": "matrix", "result": [
            {"metric": {}, "values": [[now - 60 * i, "0.9"] for i in range(5, -1, -1)]}]}
    elif path.startswith("/api/v1/query"):
        data = {"resultType": "vector", "result": [{"metric": {}, "value": [now, "0.9"]}]}
    else:
        return 404, "text/plain", b"not found\n"
    return 200, "application/json", json.dumps({"status": "success", "data": data}).encode()


class PrometheusTls(unittest.TestCase):
    def setUp(self):
        self.srv = FaultServer("ok", tls=server_context(), handler=prom_answer)
        self.env = {"CHURNOPS_HOME": h.tempdir("churnops-tls-home-"),
                    "PROMETHEUS_URL": self.srv.url, "PROMETHEUS_CA_FILE": ""}

    def tearDown(self):
        self.srv.stop()

    def test_unknown_ca_is_refused(self):
        for ca in ("", OTHER_CA):
            with self.subTest(ca=ca):
                for args in (["metrics", "--env", "production"],
                             ["watch", "--env", "production", "--once"]):
                    p = h.run(args, env=dict(self.env, PROMETHEUS_CA_FILE=ca))
                    assert_refused(self, p, self.srv.port)
        self.assertEqual(self.srv.requests, [])

    def test_its_ca_is_accepted(self):
        env = dict(self.env, PROMETHEUS_CA_FILE=CA)
        p = cli(self, ["metrics", "--env", "production", "--json"], env, 0)
        doc = json.loads(p.stdout)
        self.assertTrue(doc)
        self.assertTrue(any(r["path"].startswith("/api/v1/query") for r in self.srv.requests))
        p = h.run(["watch", "--env", "production", "--once"], env=env)
        h.assert_no_crash(self, p)
        self.assertIn(p.returncode, (0, 1), h.describe(p))
        self.assertNotIn(VERIFY_WORDS, p.stderr)

    def test_insecure_is_per_endpoint(self):
        """PROMETHEUS_INSECURE_TLS, or the configuration file's
        prometheus.insecure, skips verification for Prometheus only: the
        MLflow server with the same unknown CA is still refused."""
        for how in ("variable", "file"):
            with self.subTest(how=how):
                env = dict(self.env)
                if how == "variable":
                    env["PROMETHEUS_INSECURE_TLS"] = "true"
                else:
                    cfg = os.path.join(env["CHURNOPS_HOME"], "config")
                    os.makedirs(cfg, exist_ok=True)
                    with open(os.path.join(cfg, "config.json"), "w") as f:
                        json.dump({"prometheus": {"insecure": True}}, f)
                p = cli(self, ["metrics", "--env", "production", "--json"], env, 0)
                self.assertTrue(json.loads(p.stdout))
                mlflow = FaultServer("ok", tls=server_context(), handler=prom_answer)
                try:
                    p = h.run(["registry", "list", "--backend", "mlflow", "--tracking-uri",
                               mlflow.url], env=env)
                    assert_refused(self, p, mlflow.port)
                finally:
                    mlflow.stop()


class KubeTls(unittest.TestCase):
    """The sandbox cluster on HTTPS with the test CA's certificate."""

    @classmethod
    def setUpClass(cls):
        cls.sim = Kubesim(speed=20, tls=(CERT, KEY), token="kube-tls-token")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def kubeconfig(self, **kw):
        d = h.tempdir("churnops-tls-kube-")
        return self.sim.kubeconfig(os.path.join(d, "kubeconfig"), token="kube-tls-token", **kw)

    def pods(self, kc, code=0):
        env = {"CHURNOPS_HOME": h.tempdir("churnops-tls-home-"), "KUBECONFIG": kc}
        return cli(self, ["cluster", "pods", "--env", "staging", "--json"], env, code)

    def test_unknown_ca_is_refused(self):
        for kw in ({}, {"ca_file": OTHER_CA}):
            with self.subTest(**kw):
                p = h.run(["cluster", "pods", "--env", "staging"],
                          env={"CHURNOPS_HOME": h.tempdir("churnops-tls-home-"),
                               "KUBECONFIG": self.kubeconfig(**kw)})
                assert_refused(self, p, self.sim.port)
                self.assertNotIn("kube-tls-token", p.stderr + p.stdout)

    def test_certificate_authority_file(self):
        self.pods(self.kubeconfig(ca_file=CA))

    def test_certificate_authority_data(self):
        with open(CA, "rb") as f:
            self.pods(self.kubeconfig(ca_data=f.read()))

    def test_insecure_skip_tls_verify(self):
        self.pods(self.kubeconfig(insecure=True))

    def test_status_names_the_refusal(self):
        env = {"CHURNOPS_HOME": h.tempdir("churnops-tls-home-"),
               "KUBECONFIG": self.kubeconfig()}
        p = h.run(["status"], env=env)
        assert_refused(self, p, self.sim.port)

    def test_ca_data_that_is_not_base64_pem(self):
        kc = self.kubeconfig()
        with open(kc, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            b"not a certificate").decode()
        with open(kc, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        p = self.pods(kc, code=3)
        self.assertIn("TLS failed", p.stderr, h.describe(p))


if __name__ == "__main__":
    unittest.main(verbosity=2)
