#!/usr/bin/python3
"""churnops smoke and churnops loadtest against the sandbox cluster (issue 8).

The sandbox (sandbox/kubesim.py) runs with --models pointing at a directory
holding the test model as version 1.2.0, so staging's service scores with
that model in its pure-Python tree evaluator while churnops scores with
libxgboost: the smoke test compares two independent engines.

Asserted: smoke passes on a healthy staging (through the API server's
service proxy with a kubeconfig, and directly at the endpoint with real
customers); fails with exit 1 on injected serving skew and on the wrong
version (production runs 1.1.0); exit 3 when the service is unreachable.
loadtest runs a closed and an open loop in bounded time with the documented
JSON shape (the open loop sends exactly duration x rps requests); its gates
exit 1 under injected latency and errors, naming the gate and the service's
words; exit 3 when nothing answers; a non-loopback endpoint is refused before any request; the progress
bar appears on a terminal.
"""

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402

NS = "mlops-staging"
SIM = None
MODELS = None
MODEL = None        # the 1.2.0 directory, as staging serves it
KUBECONFIG = None
BASE = None         # staging's service through the proxy, as an --endpoint
LOAD_S = 2          # every load run is bounded by this (plus draining)

LATENCY_KEYS = {"p50", "p95", "p99", "max", "mean"}
LOADTEST_KEYS = {"target", "mode", "duration_s", "concurrency", "rps_target", "requests",
                 "ok", "errors", "unsent", "error_rate", "elapsed_s", "throughput_rps",
                 "latency_ms", "errors_by_kind", "first_error", "gates", "verdict"}


def setUpModule():
    global SIM, MODELS, MODEL, KUBECONFIG, BASE
    h.require_binary()
    MODELS = h.tempdir("churnops-models-")
    MODEL = os.path.join(MODELS, "1.2.0")
    shutil.copytree(h.trained_model(), MODEL)
    SIM = Kubesim(speed=5, models=MODELS)
    KUBECONFIG = SIM.kubeconfig(os.path.join(h.tempdir(), "kubeconfig"))
    BASE = "%s/api/v1/namespaces/%s/services/churn-prediction:80/proxy" % (SIM.url, NS)


def tearDownModule():
    if SIM:
        SIM.stop()


def run(*args, timeout=120):
    return h.run(list(args), timeout=timeout)


class Smoke(unittest.TestCase):
    def tearDown(self):
        SIM.reset()

    def smoke_json(self, *args, code=0):
        p = run("smoke", "--model", MODEL, "--json", *args)
        h.assert_exit(self, p, code)
        return json.loads(p.stdout), p

    def test_passes_on_a_healthy_deployment_through_the_proxy(self):
        r, _ = self.smoke_json("--env", "staging", "--kubeconfig", KUBECONFIG)
        self.assertEqual(r["verdict"], "pass")
        self.assertEqual(r["expected_version"], "1.2.0")
        self.assertEqual(r["served_version"], "1.2.0")
        self.assertEqual([c["name"] for c in r["checks"]], ["health", "version", "predict"])
        self.assertTrue(all(c["status"] == "pass" for c in r["checks"]), r)
        self.assertGreater(r["rows"], 5)
        self.assertLessEqual(r["max_diff"], 1e-4)
        self.assertEqual(r["tolerance"], 1e-4)
        self.assertEqual(r["env"], "staging")

    def test_passes_on_real_customers_at_an_endpoint(self):
        p = run("smoke", "--endpoint", BASE, "--model", MODEL, "--data", h.TELCO,
                "--rows", 500)
        h.assert_ok(self, p)
        self.assertIn("500 records within 0.0001", p.stdout)
        self.assertIn("verdict: pass", p.stdout)

    def test_fails_on_serving_skew(self):
        SIM.inject({"namespace": NS, "skew": 0.0005})
        r, p = self.smoke_json("--env", "staging", "--kubeconfig", KUBECONFIG, code=1)
        self.assertEqual(r["verdict"], "fail")
        pred = r["checks"][2]
        self.assertEqual(pred["status"], "fail")
        self.assertIn("serving skew", pred["detail"])
        self.assertEqual(r["skewed"], r["rows"])
        self.assertGreater(r["max_diff"], 4e-4)
        self.assertEqual(r["checks"][1]["status"], "pass")
        self.assertIn("serving skew", p.stderr)

    def test_fails_on_the_wrong_version(self):
        r, p = self.smoke_json("--env", "production", "--kubeconfig", KUBECONFIG, code=1)
        self.assertEqual(r["served_version"], "1.1.0")
        version = r["checks"][1]
        self.assertEqual(version["status"], "fail")
        self.assertIn("runs version 1.1.0, expected 1.2.0", version["detail"])
        self.assertIn("version", p.stderr)

    def test_unreachable_service_exits_3(self):
        p = run("smoke", "--endpoint", "http://127.0.0.1:1", "--model", MODEL)
        h.assert_exit(self, p, 3)
        self.assertIn("unreachable", p.stderr)

    def test_service_error_words(self):
        SIM.inject({"namespace": NS, "error_rate": 1.0})
        r, _ = self.smoke_json("--endpoint", BASE, code=1)
        self.assertIn("prediction failed (injected)", r["checks"][2]["detail"])

    def test_usage(self):
        h.assert_usage_error(self, run("smoke", "--model", MODEL), "--env", "--endpoint")
        h.assert_usage_error(self, run("smoke", "--endpoint", BASE), "--model")
        h.assert_usage_error(self, run("smoke", "--env", "nowhere", "--model", MODEL,
                                       "--kubeconfig", KUBECONFIG), "nowhere")


class Loadtest(unittest.TestCase):
    def tearDown(self):
        SIM.reset()

    def load_json(self, *args, code=0):
        t0 = time.time()
        p = run("loadtest", "--duration", LOAD_S, "--json", *args)
        took = time.time() - t0
        h.assert_exit(self, p, code)
        self.assertLess(took, LOAD_S + 12, "the run was not bounded by --duration")
        r = json.loads(p.stdout)
        self.assertEqual(set(r), LOADTEST_KEYS)
        self.assertEqual(set(r["latency_ms"]), LATENCY_KEYS)
        return r, p

    def test_closed_loop(self):
        r, _ = self.load_json("--endpoint", BASE, "--concurrency", 8)
        self.assertEqual(r["mode"], "closed")
        self.assertEqual(r["concurrency"], 8)
        self.assertIsNone(r["rps_target"])
        self.assertTrue(r["target"].endswith("/proxy/predict"))
        self.assertGreater(r["requests"], 50)
        self.assertEqual(r["ok"], r["requests"])
        self.assertEqual(r["errors"], 0)
        self.assertEqual(r["error_rate"], 0)
        lat = r["latency_ms"]
        self.assertTrue(0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"], lat)
        self.assertAlmostEqual(r["throughput_rps"], r["ok"] / r["elapsed_s"], places=6)
        self.assertEqual(r["gates"], [])
        self.assertEqual(r["verdict"], "pass")

    def test_open_loop_sends_duration_times_rate(self):
        r, _ = self.load_json("--endpoint", BASE, "--rps", 100, "--data", h.TELCO,
                              "--p99-ms", 5000, "--max-error-rate", 0.01)
        self.assertEqual(r["mode"], "open")
        self.assertEqual(r["rps_target"], 100)
        self.assertEqual(r["concurrency"], 64)
        self.assertEqual(r["requests"] + r["unsent"], 100 * LOAD_S)
        self.assertEqual(r["errors"], 0)
        self.assertGreater(r["throughput_rps"], 80)
        self.assertEqual([g["name"] for g in r["gates"]], ["p99_ms", "error_rate"])
        self.assertTrue(all(g["status"] == "pass" for g in r["gates"]))
        self.assertEqual(r["verdict"], "pass")

    def test_through_the_environment(self):
        r, _ = self.load_json("--env", "staging", "--kubeconfig", KUBECONFIG,
                              "--concurrency", 2)
        self.assertIn("/namespaces/mlops-staging/services/churn-prediction:80/proxy/predict",
                      r["target"])
        self.assertGreater(r["ok"], 10)

    def test_latency_gate_fails(self):
        SIM.inject({"namespace": NS, "latency_ms": 60})
        r, p = self.load_json("--endpoint", BASE, "--concurrency", 4, "--p99-ms", 40,
                              code=1)
        gate = r["gates"][0]
        self.assertEqual((gate["name"], gate["status"]), ("p99_ms", "fail"))
        self.assertGreater(gate["value"], 60)
        self.assertEqual(r["verdict"], "fail")
        self.assertIn("p99_ms", p.stderr)

    def test_error_gate_fails_with_the_services_words(self):
        SIM.inject({"namespace": NS, "error_rate": 0.5})
        r, p = self.load_json("--endpoint", BASE, "--rps", 50, "--max-error-rate", 0.05,
                              code=1)
        self.assertGreater(r["error_rate"], 0.2)
        self.assertEqual(r["errors_by_kind"], {"http status": r["errors"]})
        self.assertIn("prediction failed (injected)", r["first_error"])
        self.assertEqual(r["gates"][0]["name"], "error_rate")
        self.assertEqual(r["gates"][0]["status"], "fail")
        self.assertIn("error_rate", p.stderr)

    def test_text_report(self):
        p = run("loadtest", "--endpoint", BASE, "--duration", 1, "--p99-ms", 10000)
        h.assert_ok(self, p)
        self.assertIn("closed loop, 8 connections", p.stdout)
        self.assertRegex(p.stdout, r"latency ms  p50 [0-9.]+  p95 [0-9.]+  p99 [0-9.]+")
        self.assertIn("gate p99 < 10000 ms: pass", p.stdout)

    def test_nothing_answering_exits_3(self):
        r, p = self.load_json("--endpoint", "http://127.0.0.1:1", "--concurrency", 2, code=3)
        self.assertEqual(r["ok"], 0)
        self.assertEqual(r["error_rate"], 1)
        self.assertIsNone(r["latency_ms"]["p99"])
        self.assertEqual(set(r["errors_by_kind"]), {"refused"})
        self.assertEqual(r["verdict"], "fail")
        self.assertIn("no request succeeded", p.stderr)

    def test_non_loopback_endpoint_refused(self):
        t0 = time.time()
        p = run("loadtest", "--endpoint", "http://192.0.2.10:8080/", "--duration", 30,
                "--kubeconfig", KUBECONFIG)
        h.assert_exit(self, p, 1)
        self.assertLess(time.time() - t0, 5)
        self.assertIn("refusing to load-test http://192.0.2.10:8080/", p.stderr)
        self.assertIn("loopback", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_usage(self):
        h.assert_usage_error(self, run("loadtest", "--endpoint", BASE), "--duration")
        h.assert_usage_error(self, run("loadtest", "--duration", 1), "--env", "--endpoint")
        h.assert_usage_error(self, run("loadtest", "--endpoint", BASE, "--duration", 1,
                                       "--max-error-rate", 2), "--max-error-rate")

    def test_progress_bar_on_a_terminal(self):
        master, slave = pty.openpty()
        env = dict(os.environ, CHURNOPS_HOME=h.home())
        proc = subprocess.Popen([h.CHURNOPS, "loadtest", "--endpoint", BASE, "--duration", "1"],
                                stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        seen = b""
        deadline = time.time() + 30
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        out, _ = proc.communicate(timeout=30)
        os.close(master)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"[#", seen)
        self.assertIn(b"requests", seen)
        self.assertIn(b"verdict: pass", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
