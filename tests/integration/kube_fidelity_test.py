"""The Kubernetes client against the sandbox cluster, with the machine's real
kubectl as the judge of faithfulness (issue 6).

kubectl and churnops run side by side against sandbox/kubesim.py: what one
writes the other reads, and after a churnops undo `kubectl rollout history`
shows what kubectl's own undo produces on an identical sandbox. Also: TLS
with token auth (refused without the CA, accepted with it), an exec
credential plugin, a 403 for a read-only token, a watch broken mid-stream.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402
from kubesim_launcher import Kubesim, client_certificate, self_signed  # noqa: E402

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
NS = "mlops-staging"


def setUpModule():
    harness.require_binary()
    if not os.path.exists(KUBECTL):
        raise RuntimeError("kubectl not found: the fidelity tests need the real client")


class Cluster:
    """One sandbox with a kubeconfig, and helpers to run both clients on it."""

    def __init__(self, speed=5.0, **kw):
        self.dir = harness.tempdir("churnops-kube-")
        self.sim = Kubesim(speed=speed, **kw)
        self.cache = os.path.join(self.dir, "kubectl-cache")
        self.config = self.sim.kubeconfig(os.path.join(self.dir, "kubeconfig"))

    def stop(self):
        self.sim.stop()

    def kubectl(self, *args, config=None, timeout=120):
        env = dict(os.environ, HOME=self.dir)
        env.pop("KUBECONFIG", None)
        p = subprocess.run([KUBECTL, "--kubeconfig", config or self.config,
                            "--cache-dir", self.cache, "-n", NS] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env)
        return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(),
                                           p.stderr.decode())

    def churnops(self, *args, config=None, timeout=120):
        return harness.run(["cluster"] + list(args) + ["--kubeconfig", config or self.config],
                           timeout=timeout, env={"KUBECONFIG": ""})

    def churnops_json(self, tc, *args, config=None):
        p = self.churnops(*args, "--json", config=config)
        harness.assert_ok(tc, p)
        return json.loads(p.stdout)


def kdesc(p):
    return "command: %s\nexit: %s\nstderr: %s\nstdout: %s" % (
        " ".join(p.args), p.returncode, p.stderr[-2000:], p.stdout[-2000:])


def history_table(c):
    """kubectl rollout history as [(revision, cause)]."""
    p = c.kubectl("rollout", "history", "deployment/churn-prediction")
    assert p.returncode == 0, kdesc(p)
    rows = []
    for line in p.stdout.splitlines():
        parts = line.split(None, 1)
        if parts and parts[0].isdigit():
            rows.append((int(parts[0]), parts[1].strip() if len(parts) > 1 else ""))
    return rows


class ReadTest(unittest.TestCase):
    """Reads agree with kubectl's on an untouched sandbox."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def test_status_agrees_with_kubectl_get(self):
        p = self.c.kubectl("get", "deployment", "churn-prediction", "-o", "json")
        self.assertEqual(p.returncode, 0, kdesc(p))
        k = json.loads(p.stdout)
        s = self.c.churnops_json(self, "status", "--env", "staging")
        self.assertEqual(s["deployment"], "churn-prediction")
        self.assertEqual(s["namespace"], NS)
        self.assertEqual(s["replicas"]["desired"], k["spec"]["replicas"])
        self.assertEqual(s["replicas"]["available"], k["status"].get("availableReplicas", 0))
        self.assertEqual(s["replicas"]["updated"], k["status"].get("updatedReplicas", 0))
        self.assertEqual(s["generation"], k["metadata"]["generation"])
        self.assertEqual(s["revision"],
                         int(k["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
        self.assertEqual(s["containers"][0]["image"],
                         k["spec"]["template"]["spec"]["containers"][0]["image"])
        self.assertEqual(s["containers"][0]["version"], "1.2.0")
        self.assertEqual(s["rollout"]["state"], "complete")
        conds = {c["type"]: c["reason"] for c in s["conditions"]}
        self.assertEqual(conds, {c["type"]: c["reason"] for c in k["status"]["conditions"]})

    def test_kubectl_get_table_and_describe(self):
        p = self.c.kubectl("get", "deployments")
        self.assertEqual(p.returncode, 0, kdesc(p))
        self.assertRegex(p.stdout, r"NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE")
        self.assertRegex(p.stdout, r"churn-prediction\s+3/3\s+3\s+3")
        for name in ("churn-prediction-blue", "churn-prediction-green", "churn-prediction-canary"):
            self.assertIn(name, p.stdout)
        p = self.c.kubectl("describe", "deployment", "churn-prediction")
        self.assertEqual(p.returncode, 0, kdesc(p))
        self.assertIn("customer-churn-mlops:v1.2.0", p.stdout)
        self.assertIn("NewReplicaSetAvailable", p.stdout)
        self.assertIn("MinimumReplicasAvailable", p.stdout)
        p = self.c.kubectl("get", "svc,vs,rs,pods")
        self.assertEqual(p.returncode, 0, kdesc(p))
        self.assertIn("churn-prediction-bg", p.stdout)

    def test_history_agrees(self):
        rows = history_table(self.c)
        h = self.c.churnops_json(self, "history", "--env", "staging")
        self.assertEqual([(r["revision"], r["change_cause"] or "<none>") for r in h["revisions"]],
                         rows)
        self.assertEqual([r["revision"] for r in h["revisions"]], [1, 2, 3])
        self.assertTrue(h["revisions"][-1]["current"])
        self.assertIn("v1.0.0", h["revisions"][0]["images"])

    def test_pods_agree(self):
        p = self.c.kubectl("get", "pods", "-l", "app=churn-prediction,track=stable", "-o", "json")
        self.assertEqual(p.returncode, 0, kdesc(p))
        want = sorted(i["metadata"]["name"] for i in json.loads(p.stdout)["items"])
        got = self.c.churnops_json(self, "pods", "--env", "staging")["pods"]
        self.assertEqual([x["name"] for x in got], want)
        self.assertTrue(all(x["ready"] and x["phase"] == "Running" for x in got))
        text = self.c.churnops("pods", "--env", "staging")
        harness.assert_ok(self, text)
        self.assertRegex(text.stdout, r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+NODE")

    def test_traffic(self):
        t = self.c.churnops_json(self, "traffic", "--env", "production")
        self.assertEqual(t["service"]["live"], "blue")
        self.assertEqual(t["virtualservice"]["api_version"], "v1")
        self.assertEqual([(r["subset"], r["weight"]) for r in t["virtualservice"]["routes"]],
                         [("stable", 100), ("canary", 0)])

    def test_model_service_through_the_proxy(self):
        base = "/api/v1/namespaces/%s/services/churn-prediction-bg:80/proxy" % NS
        status, body = self.c.sim.request("GET", base + "/health")
        self.assertEqual(status, 200, body)
        status, info = self.c.sim.request("GET", base + "/model/info")
        self.assertEqual(info["version"], "1.2.0")   # blue runs 1.2.0 in staging
        status, pred = self.c.sim.request("POST", base + "/predict",
                                          {"tenure": 2, "contract": "Month-to-month"})
        self.assertEqual(status, 200, pred)
        self.assertTrue(0 <= pred["churn_probability"] <= 1)
        status, text = self.c.sim.request("GET", base + "/metrics")
        self.assertIn("prediction_latency_seconds_bucket{", text)
        self.assertIn('deployment="churn-prediction-blue"', text)
        status, text = self.c.sim.request("GET", "/metrics")
        for m in ("predictions_total", "prediction_errors_total", "model_performance_score",
                  "data_drift_score"):
            self.assertIn(m + "{namespace=\"mlops-production\"", text)
        # Prometheus text format: comments, or NAME{LABELS} VALUE.
        sample = re.compile(r'^[a-z_]+\{(?:[a-z_]+="[^"]*",?)+\} [-+0-9.eE]+$')
        for line in text.splitlines():
            if not line.startswith("# "):
                self.assertRegex(line, sample)
        # Injected faults show in the gauges.
        self.c.sim.inject({"namespace": "mlops-production", "deployment": "churn-prediction",
                           "roc_auc": 0.71, "drift": 0.35})
        try:
            status, text = self.c.sim.request("GET", "/metrics")
            self.assertRegex(text, r'model_performance_score\{namespace="mlops-production",'
                                   r'deployment="churn-prediction",version="1.1.0"\} 0.71')
            self.assertRegex(text, r'data_drift_score\{namespace="mlops-production",'
                                   r'deployment="churn-prediction",version="1.1.0"\} 0.35')
        finally:
            self.c.sim.reset()

    def test_injected_model_faults(self):
        base = "/api/v1/namespaces/mlops-production/services/churn-prediction-bg:80/proxy"
        self.c.sim.inject({"namespace": "mlops-production", "deployment": "churn-prediction-blue",
                           "latency_ms": 250, "error_rate": 1.0})
        try:
            t = time.time()
            status, body = self.c.sim.request("POST", base + "/predict", {"tenure": 1})
            self.assertGreaterEqual(time.time() - t, 0.25)
            self.assertEqual(status, 500, body)
            status, text = self.c.sim.request("GET", base + "/metrics")
            m = re.search(r'prediction_errors_total\{[^}]*deployment="churn-prediction-blue"[^}]*\} '
                          r'(\d+)', text)
            self.assertTrue(m and int(m.group(1)) >= 1, text)
        finally:
            self.c.sim.reset()
        status, body = self.c.sim.request("POST", base + "/predict", {"tenure": 1})
        self.assertEqual(status, 200, body)

    def test_errors_carry_the_server_message(self):
        p = self.c.churnops("status", "--env", "staging", "--deployment", "nope")
        harness.assert_exit(self, p, 3)
        self.assertIn('deployments.apps "nope" not found', p.stderr)
        self.assertIn("NotFound", p.stderr)
        p = self.c.churnops("status", "--env", "staging", "--context", "ghost")
        harness.assert_exit(self, p, 2)
        self.assertIn('context "ghost" not found', p.stderr)
        self.assertIn(self.c.config, p.stderr)
        p = self.c.churnops("status", "--env", "staging", "--deployment", "../../api/v1/secrets")
        harness.assert_exit(self, p, 2)
        self.assertIn("not a valid Kubernetes object path", p.stderr)

    def test_unreachable_server(self):
        c = Cluster()
        c.stop()
        p = c.churnops("status", "--env", "staging")
        harness.assert_exit(self, p, 3)
        self.assertIn("unreachable", p.stderr)
        self.assertIn('context "sandbox"', p.stderr)


class WriteTest(unittest.TestCase):
    """Writes by one client are what the other reads."""

    def setUp(self):
        self.c = Cluster(speed=8)

    def tearDown(self):
        self.c.stop()

    def test_kubectl_set_image_then_churnops_status(self):
        p = self.c.kubectl("set", "image", "deployment/churn-prediction",
                           "churn-prediction=customer-churn-mlops:v1.3.0")
        self.assertEqual(p.returncode, 0, kdesc(p))
        p = self.c.kubectl("rollout", "status", "deployment/churn-prediction", "--timeout=90s")
        self.assertEqual(p.returncode, 0, kdesc(p))
        self.assertIn('deployment "churn-prediction" successfully rolled out', p.stdout)
        s = self.c.churnops_json(self, "status", "--env", "staging")
        self.assertEqual(s["containers"][0]["version"], "1.3.0")
        self.assertEqual(s["revision"], 4)
        self.assertEqual(s["rollout"]["state"], "complete")

    def test_churnops_set_image_then_kubectl(self):
        p = self.c.churnops("set-image", "--env", "staging", "--version", "1.3.0",
                            "--actor", "alice", "--wait", "--timeout", "90")
        harness.assert_ok(self, p)
        self.assertIn("1 out of 3 new replicas have been updated", p.stdout)
        self.assertIn('deployment "churn-prediction" successfully rolled out', p.stdout)
        p = self.c.kubectl("rollout", "status", "deployment/churn-prediction", "--timeout=30s")
        self.assertEqual(p.returncode, 0, kdesc(p))
        rows = history_table(self.c)
        self.assertEqual(rows[-1][0], 4)
        for word in ("churnops", "1.3.0", "alice"):
            self.assertIn(word, rows[-1][1])
        p = self.c.kubectl("get", "deployment", "churn-prediction", "-o",
                           "jsonpath={.spec.template.spec.containers[0].image}")
        self.assertEqual(p.stdout, "customer-churn-mlops:v1.3.0")

    def test_undo_matches_kubectl_undo(self):
        twin = Cluster(speed=8)
        try:
            for c in (self.c, twin):
                p = c.churnops("set-image", "--env", "staging", "--version", "1.3.0",
                               "--actor", "ci", "--wait", "--timeout", "90")
                harness.assert_ok(self, p)
            # To the previous revision: churnops on one, kubectl on the twin.
            p = self.c.churnops("undo", "--env", "staging", "--wait", "--timeout", "90")
            harness.assert_ok(self, p)
            self.assertIn("rolled back to revision 3", p.stdout)
            p = twin.kubectl("rollout", "undo", "deployment/churn-prediction")
            self.assertEqual(p.returncode, 0, kdesc(p))
            p = twin.kubectl("rollout", "status", "deployment/churn-prediction", "--timeout=90s")
            self.assertEqual(p.returncode, 0, kdesc(p))
            self.assertEqual(history_table(self.c), history_table(twin))
            self.assertEqual([r[0] for r in history_table(twin)], [1, 2, 4, 5])
            # To a given revision.
            p = self.c.churnops("undo", "--env", "staging", "--to-revision", "1", "--wait")
            harness.assert_ok(self, p)
            p = twin.kubectl("rollout", "undo", "deployment/churn-prediction", "--to-revision=1")
            self.assertEqual(p.returncode, 0, kdesc(p))
            p = twin.kubectl("rollout", "status", "deployment/churn-prediction", "--timeout=90s")
            self.assertEqual(p.returncode, 0, kdesc(p))
            self.assertEqual(history_table(self.c), history_table(twin))
            ours = self.c.churnops_json(self, "history", "--env", "staging")["revisions"]
            theirs = twin.churnops_json(self, "history", "--env", "staging")["revisions"]
            self.assertEqual([(r["revision"], r["images"], r["current"]) for r in ours],
                             [(r["revision"], r["images"], r["current"]) for r in theirs])
            self.assertIn("v1.0.0", ours[-1]["images"])
            # To the revision that is already current: both skip.
            cur = ours[-1]["revision"]
            p = twin.kubectl("rollout", "undo", "deployment/churn-prediction",
                             "--to-revision=%d" % cur)
            self.assertIn("skipped rollback", p.stdout + p.stderr)
            u = self.c.churnops_json(self, "undo", "--env", "staging", "--to-revision", str(cur))
            self.assertTrue(u["skipped"])
            self.assertEqual(history_table(self.c), history_table(twin))
            # A revision that does not exist.
            p = self.c.churnops("undo", "--env", "staging", "--to-revision", "99")
            harness.assert_exit(self, p, 1)
            self.assertIn("unable to find specified revision 99 in history", p.stderr)
        finally:
            twin.stop()

    def test_conflicts_are_retried_a_bounded_number_of_times(self):
        self.c.sim.conflict(2)
        p = self.c.churnops("undo", "--env", "staging")
        harness.assert_ok(self, p)
        self.assertIn("rolled back to revision 2", p.stdout)
        self.c.sim.conflict(2)
        p = self.c.churnops("weights", "--env", "staging", "--weights", "stable=80,canary=20")
        harness.assert_ok(self, p)
        self.c.sim.conflict(50)
        p = self.c.churnops("undo", "--env", "staging", "--to-revision", "1")
        harness.assert_exit(self, p, 3)
        self.assertIn("gave up after 4 attempts", p.stderr)
        self.assertIn('Operation cannot be fulfilled on deployments.apps "churn-prediction"',
                      p.stderr)
        self.c.sim.conflict(0)

    def test_injected_api_errors(self):
        self.c.sim.inject({"namespace": NS, "api_status": 500})
        p = self.c.churnops("status", "--env", "staging")
        harness.assert_exit(self, p, 3)
        self.assertIn("InternalError: sandbox: injected API error 500", p.stderr)
        p = self.c.churnops("status", "--env", "production")
        harness.assert_ok(self, p)
        self.c.sim.reset()
        harness.assert_ok(self, self.c.churnops("status", "--env", "staging"))

    def test_undo_refuses_paused(self):
        harness.assert_ok(self, self.c.churnops("pause", "--env", "staging"))
        p = self.c.kubectl("get", "deployment", "churn-prediction", "-o", "jsonpath={.spec.paused}")
        self.assertEqual(p.stdout, "true")
        p = self.c.churnops("undo", "--env", "staging")
        harness.assert_exit(self, p, 1)
        self.assertIn("cannot rollback a paused deployment", p.stderr)
        p = self.c.kubectl("rollout", "undo", "deployment/churn-prediction")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("paused", p.stderr)
        harness.assert_ok(self, self.c.churnops("resume", "--env", "staging"))
        p = self.c.kubectl("get", "deployment", "churn-prediction", "-o", "jsonpath={.spec.paused}")
        self.assertEqual(p.stdout, "")

    def test_scale_both_ways(self):
        p = self.c.churnops("scale", "--env", "staging", "--replicas", "5", "--wait")
        harness.assert_ok(self, p)
        p = self.c.kubectl("get", "deployment", "churn-prediction", "-o",
                           "jsonpath={.spec.replicas} {.status.readyReplicas}")
        self.assertEqual(p.stdout, "5 5")
        p = self.c.kubectl("scale", "deployment/churn-prediction", "--replicas=2")
        self.assertEqual(p.returncode, 0, kdesc(p))
        s = self.c.churnops_json(self, "status", "--env", "staging")
        self.assertEqual(s["replicas"]["desired"], 2)

    def test_service_selector_both_ways(self):
        p = self.c.churnops("switch", "--env", "staging", "--live", "green")
        harness.assert_ok(self, p)
        p = self.c.kubectl("get", "svc", "churn-prediction-bg", "-o", "json")
        sel = json.loads(p.stdout)["spec"]["selector"]
        self.assertEqual(sel, {"app": "churn-prediction-bg", "version": "green"})
        base = "/api/v1/namespaces/%s/services/churn-prediction-bg:80/proxy" % NS
        self.assertEqual(self.c.sim.request("GET", base + "/model/info")[1]["version"], "1.1.0")
        p = self.c.kubectl("patch", "svc", "churn-prediction-bg", "-p",
                           '{"spec":{"selector":{"version":"blue"}}}')
        self.assertEqual(p.returncode, 0, kdesc(p))
        t = self.c.churnops_json(self, "traffic", "--env", "staging")
        self.assertEqual(t["service"]["live"], "blue")

    def test_virtualservice_weights_both_ways(self):
        p = self.c.churnops("weights", "--env", "staging", "--weights", "stable=90,canary=10")
        harness.assert_ok(self, p)
        p = self.c.kubectl("get", "vs", "churn-prediction", "-o",
                           "jsonpath={.spec.http[0].route[*].weight}")
        self.assertEqual(p.stdout, "90 10")
        p = self.c.kubectl("patch", "vs", "churn-prediction", "--type=json", "-p",
                           '[{"op":"test","path":"/spec/http/0/route/1/destination/subset",'
                           '"value":"canary"},'
                           '{"op":"replace","path":"/spec/http/0/route/0/weight","value":50},'
                           '{"op":"replace","path":"/spec/http/0/route/1/weight","value":50}]')
        self.assertEqual(p.returncode, 0, kdesc(p))
        t = self.c.churnops_json(self, "traffic", "--env", "staging")
        self.assertEqual([r["weight"] for r in t["virtualservice"]["routes"]], [50, 50])
        # A custom resource takes no strategic merge patch (kubectl's default).
        p = self.c.kubectl("patch", "vs", "churn-prediction", "-p", '{"spec":{}}')
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("application/json-patch+json, application/merge-patch+json", p.stderr)
        p = self.c.churnops("weights", "--env", "staging", "--weights", "stable=50,blue=50")
        harness.assert_exit(self, p, 1)
        self.assertIn('no destination with subset "blue"', p.stderr)

    def test_progress_deadline_is_a_failure_for_both(self):
        c = self.c
        p = c.kubectl("patch", "deployment", "churn-prediction", "--type=merge", "-p",
                      '{"spec":{"progressDeadlineSeconds":20}}')
        self.assertEqual(p.returncode, 0, kdesc(p))
        c.sim.inject({"namespace": NS, "deployment": "churn-prediction", "never_ready": True})
        p = c.churnops("set-image", "--env", "staging", "--version", "9.9.9", "--wait",
                       "--timeout", "60")
        harness.assert_exit(self, p, 1)
        self.assertIn('deployment "churn-prediction" exceeded its progress deadline', p.stderr)
        p = c.kubectl("rollout", "status", "deployment/churn-prediction", "--timeout=30s")
        self.assertEqual(p.returncode, 1, kdesc(p))
        self.assertIn("exceeded its progress deadline", p.stderr)
        s = c.churnops("status", "--env", "staging")
        harness.assert_exit(self, s, 1)
        self.assertIn("deadline-exceeded", s.stdout)
        # Rolling back is how one gets out of it.
        c.sim.reset()
        p = c.churnops("undo", "--env", "staging", "--wait", "--timeout", "60")
        harness.assert_ok(self, p)


class WatchTest(unittest.TestCase):
    def test_watch_survives_breaks_and_gone(self):
        c = Cluster(speed=1)
        try:
            proc = subprocess.Popen(
                [harness.CHURNOPS, "cluster", "set-image", "--env", "staging", "--version",
                 "1.3.0", "--wait", "--timeout", "120", "--kubeconfig", c.config],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=dict(os.environ, CHURNOPS_HOME=harness.tempdir()))
            time.sleep(2)
            for _ in range(3):
                c.sim.break_watches()
                time.sleep(1.5)
            # History forgotten: the next watch from an old version gets 410
            # and the client lists again.
            c.sim.compact()
            c.sim.break_watches()
            out, err = proc.communicate(timeout=120)
            out, err = out.decode(), err.decode()
            self.assertEqual(proc.returncode, 0, out + err)
            self.assertIn('deployment "churn-prediction" successfully rolled out', out)
            for marker in harness.SANITIZER_MARKERS:
                self.assertNotIn(marker, err)
        finally:
            c.stop()


class AuthTest(unittest.TestCase):
    """TLS with bearer tokens, where kubectl sends credentials."""

    @classmethod
    def setUpClass(cls):
        d = harness.tempdir("churnops-tls-")
        cls.cert, cls.key = self_signed(d)
        with open(cls.cert, "rb") as f:
            cls.ca = f.read()
        cls.client_ca, cls.admin_cert, cls.admin_key = client_certificate(d, "admin")
        _, cls.viewer_cert, cls.viewer_key = client_certificate(d, "viewer")
        cls.c = Cluster(speed=8, tls=(cls.cert, cls.key), token="admin-token",
                        read_only_token="viewer-token", client_ca=cls.client_ca)
        cls.dir = cls.c.dir

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def config(self, name, **kw):
        return self.c.sim.kubeconfig(os.path.join(self.dir, name), **kw)

    def test_refused_without_the_ca(self):
        cfg = self.config("noca", token="admin-token")
        p = self.c.churnops("status", "--env", "staging", config=cfg)
        harness.assert_exit(self, p, 3)
        self.assertIn("TLS", p.stderr)
        self.assertNotIn("admin-token", p.stderr)
        k = self.c.kubectl("get", "deployments", config=cfg)
        self.assertNotEqual(k.returncode, 0)
        self.assertIn("certificate", k.stderr)

    def test_accepted_with_the_ca(self):
        for cfg in (self.config("cadata", token="admin-token", ca_data=self.ca),
                    self.config("cafile", token="admin-token", ca_file=self.cert)):
            s = self.c.churnops_json(self, "status", "--env", "staging", config=cfg)
            self.assertEqual(s["rollout"]["state"], "complete")
            k = self.c.kubectl("get", "deployments", config=cfg)
            self.assertEqual(k.returncode, 0, kdesc(k))
        cfg = self.config("insecure", token="admin-token", insecure=True)
        self.c.churnops_json(self, "pods", "--env", "staging", config=cfg)

    def test_client_certificates(self):
        for data in (True, False):
            cfg = self.config("cert-%s" % data, ca_data=self.ca, client_cert=self.admin_cert,
                              client_key=self.admin_key, client_data=data)
            p = self.c.churnops("scale", "--env", "staging", "--replicas", "3", config=cfg)
            harness.assert_ok(self, p)
            k = self.c.kubectl("scale", "deployment/churn-prediction", "--replicas=3", config=cfg)
            self.assertEqual(k.returncode, 0, kdesc(k))
        cfg = self.config("cert-viewer", ca_data=self.ca, client_cert=self.viewer_cert,
                          client_key=self.viewer_key, client_data=True)
        self.c.churnops_json(self, "status", "--env", "staging", config=cfg)
        p = self.c.churnops("pause", "--env", "staging", config=cfg)
        harness.assert_exit(self, p, 3)
        self.assertIn("may not patch deployments.apps in namespace mlops-staging", p.stderr)
        # An exec plugin may answer with a certificate instead of a token.
        cred = os.path.join(self.dir, "cert-cred.json")
        with open(self.admin_cert) as c, open(self.admin_key) as k, open(cred, "w") as out:
            json.dump({"apiVersion": "client.authentication.k8s.io/v1beta1",
                       "kind": "ExecCredential",
                       "status": {"clientCertificateData": c.read(),
                                  "clientKeyData": k.read()}}, out)
        plugin = os.path.join(self.dir, "cert-plugin.sh")
        with open(plugin, "w") as f:
            f.write('#!/bin/sh\ncat "%s"\n' % cred)
        os.chmod(plugin, 0o700)
        cfg = self.config("cert-exec", ca_data=self.ca, exec_={
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": plugin})
        harness.assert_ok(self, self.c.churnops("resume", "--env", "staging", config=cfg))
        # A certificate without its key is a configuration error.
        cfg = self.config("cert-nokey", ca_data=self.ca, client_cert=self.admin_cert)
        p = self.c.churnops("status", "--env", "staging", config=cfg)
        harness.assert_exit(self, p, 2)
        self.assertIn("client certificate without its key", p.stderr)

    def test_wrong_token_is_unauthorized(self):
        cfg = self.config("badtoken", token="wrong", ca_data=self.ca)
        p = self.c.churnops("status", "--env", "staging", config=cfg)
        harness.assert_exit(self, p, 3)
        self.assertIn("unauthorized", p.stderr)
        self.assertNotIn("wrong", p.stderr.replace("unauthorized", ""))
        k = self.c.kubectl("get", "deployments", config=cfg)
        self.assertNotEqual(k.returncode, 0)

    def test_read_only_token_gets_403_naming_verb_and_resource(self):
        cfg = self.config("viewer", token="viewer-token", ca_data=self.ca)
        self.c.churnops_json(self, "status", "--env", "staging", config=cfg)
        p = self.c.churnops("scale", "--env", "staging", "--replicas", "4", config=cfg)
        harness.assert_exit(self, p, 3)
        for needle in ("forbidden", "may not patch deployments.apps/scale",
                       "namespace mlops-staging", 'context "sandbox"'):
            self.assertIn(needle, p.stderr)
        self.assertNotIn("viewer-token", p.stderr)
        k = self.c.kubectl("scale", "deployment/churn-prediction", "--replicas=4", config=cfg)
        self.assertNotEqual(k.returncode, 0)
        self.assertIn("Forbidden", k.stderr)

    def test_exec_plugin(self):
        plugin = os.path.join(self.dir, "get-token.sh")
        count = plugin + ".count"
        with open(plugin, "w") as f:
            f.write('#!/bin/sh\n'
                    'n=$(cat "%s" 2>/dev/null || echo 0); echo $((n+1)) > "%s"\n'
                    'printf \'{"apiVersion":"client.authentication.k8s.io/v1",'
                    '"kind":"ExecCredential","status":{"token":"%%s",'
                    '"expirationTimestamp":"2099-01-01T00:00:00Z"}}\' "$SIM_TOKEN"\n'
                    % (count, count))
        os.chmod(plugin, 0o700)
        cfg = self.config("exec", ca_data=self.ca, exec_={
            "apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
            "args": ["--cluster", "sandbox"], "env": [{"name": "SIM_TOKEN", "value": "admin-token"}],
            "interactiveMode": "Never"})
        p = self.c.churnops("scale", "--env", "staging", "--replicas", "3", "--wait", config=cfg)
        harness.assert_ok(self, p)
        with open(count) as f:
            self.assertEqual(f.read().strip(), "1", "the token is cached until it expires")
        k = self.c.kubectl("get", "deployments", config=cfg)
        self.assertEqual(k.returncode, 0, kdesc(k))


class TimingTest(unittest.TestCase):
    def test_pods_wall_time(self):
        """Not a gate: prints churnops cluster pods against kubectl get pods."""
        c = Cluster()
        try:
            c.kubectl("get", "pods")  # warm kubectl's discovery cache

            def best(fn):
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t)
                return min(times)
            ours = best(lambda: c.churnops("pods", "--env", "staging"))
            theirs = best(lambda: c.kubectl("get", "pods", "-l",
                                            "app=churn-prediction,track=stable"))
            sys.stderr.write("\nchurnops cluster pods: %.0f ms, kubectl get pods: %.0f ms "
                             "(best of 5)\n" % (ours * 1000, theirs * 1000))
        finally:
            c.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
