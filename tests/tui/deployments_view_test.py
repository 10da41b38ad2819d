"""The deployments view (key 2) and the demo's sandbox cluster, in tmux.

`churnops demo` starts sandbox/kubesim.py, writes DATA_DIR/demo/kubeconfig
for it and opens the console on it. These tests check what the view shows
against the real kubectl and `churnops cluster`, break the cluster on
purpose (a rollout whose pods never become ready, a killed sandbox, an API
server that stops answering) and check that the view says so while the
keys keep working and q quits at once, and that the sandbox is stopped
whichever way the console ends.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)

KUBECTL = shutil.which("kubectl")
HOME = None
KUBECONFIG = None
ENVS = (("staging", "mlops-staging"), ("production", "mlops-production"))


def setUpModule():
    global HOME, KUBECONFIG
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    HOME = harness.tempdir("churnops-deploy-home-")
    p = harness.run(["demo", "--no-console"], env={"CHURNOPS_HOME": HOME}, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("churnops demo --no-console failed:\n" + harness.describe(p))
    KUBECONFIG = os.path.join(p.stdout.strip(), "kubeconfig")
    ct.HOME = HOME  # the panes' CHURNOPS_HOME


def descendants(pid):
    """Process ids below PID, from /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class DeploymentsView(unittest.TestCase):
    def setUp(self):
        self.pane = ct.Pane(120, 40)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
            running = self.sandboxes()
        finally:
            # Closing the pane hangs the console up; its sandbox must go too.
            self.pane.close()
        deadline = time.monotonic() + 10
        while any("kubesim.py" in cmdline(p) for p in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in running if "kubesim.py" in cmdline(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))
        self.assertEqual(left, [], "the sandbox outlived the console")

    # -- helpers --

    def shell_pid(self):
        return int(self.pane.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").split()[0])

    def sandboxes(self):
        return [p for p in descendants(self.shell_pid()) if "kubesim.py" in cmdline(p)]

    def start(self, *args, prefix=""):
        cmd = " ".join(shlex.quote(a) for a in [harness.CHURNOPS, "demo", "--view",
                                                 "deployments"] + list(args))
        self.pane.keys("clear; " + prefix + cmd, literal=True)
        self.pane.keys("Enter")

    def start_ok(self):
        self.start()
        return self.pane.wait_for(r"staging \(mlops-staging\) - ok - read.*"
                                  r"[\s\S]*production \(mlops-production\) - ok - read")

    def url(self):
        with open(KUBECONFIG) as f:
            return json.load(f)["clusters"][0]["cluster"]["server"]

    def inject(self, faults):
        req = urllib.request.Request(self.url() + "/sandbox/inject",
                                     data=json.dumps(faults).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def kubectl(self, *args):
        p = subprocess.run([KUBECTL] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60,
                           env=dict(os.environ, KUBECONFIG=KUBECONFIG))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p.stdout.decode()

    def cli(self, *args):
        p = harness.run(list(args) + ["--kubeconfig", KUBECONFIG],
                        env={"CHURNOPS_HOME": HOME})
        return p

    def panels(self, screen):
        """The staging and the production panel's text."""
        i = screen.index("production (mlops-production)")
        return {"staging": screen[:i], "production": screen[i:]}

    def quit_promptly(self, limit=3.0):
        t0 = time.monotonic()
        self.pane.keys("q")
        self.pane.wait_for(ct.AT_PROMPT, timeout=10)
        took = time.monotonic() - t0
        self.assertLess(took, limit, "q took %.1f s" % took)

    # -- tests --

    def test_environments_match_kubectl_and_cli(self):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        s = self.start_ok()
        self.assertEqual(len(self.sandboxes()), 1)
        panels = self.panels(s)
        for env, ns in ENVS:
            text = panels[env]
            # kubectl get deploy -o wide: NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR
            images = {}
            for line in self.kubectl("get", "deploy", "-n", ns, "-o", "wide").splitlines()[1:]:
                f = line.split()
                images[f[0]] = f[6]
            st = self.cli("cluster", "status", "--env", env, "--json")
            self.assertEqual(st.returncode, 0, harness.describe(st))
            status = json.loads(st.stdout)
            image = status["containers"][0]["image"]
            self.assertEqual(image, images["churn-prediction"])
            self.assertRegex(text, r"churn-prediction revision %d  %s" % (
                status["revision"], re.escape(image)))
            self.assertIn("%d/%d ready" % (status["replicas"]["ready"],
                                          status["replicas"]["desired"]), text)
            self.assertIn("live blue %s" % images["churn-prediction-blue"], text)
            self.assertIn("idle green %s" % images["churn-prediction-green"], text)
            self.assertIn("stable 100%% %s" % image, text)
            self.assertIn("canary 0%% %s" % images["churn-prediction-canary"], text)
            # The revisions and the pods, as kubectl lists them.
            hist = json.loads(self.cli("cluster", "history", "--env", env, "--json").stdout)
            for r in hist["revisions"]:
                img = r["images"].split("=", 1)[1]
                self.assertRegex(text, r"\b%d\*?\s+\S+\s+%s" % (r["revision"], re.escape(img)))
            # kubectl get pods -o wide: NAME READY STATUS RESTARTS AGE IP NODE
            for line in self.kubectl("get", "pods", "-n", ns, "-o", "wide", "-l",
                                     "app=churn-prediction,track=stable").splitlines()[1:]:
                f = line.split()
                self.assertRegex(text, r"%s %s\s+%s\s+%s .* %s" % (
                    re.escape(f[0]), re.escape(f[1]), f[2], f[3], re.escape(f[6])))
        # The overview: each environment at a glance.
        self.pane.keys("1")
        s = self.pane.wait_for(r"cluster staging: ok - churn-prediction rev \d+ 1\.2\.0")
        self.assertRegex(s, r"cluster production: ok - churn-prediction rev \d+ 1\.1\.0")
        self.quit_promptly()
        self.assertEqual(self.sandboxes(), [])

    def test_stuck_rollout_shows_failed(self):
        if not KUBECTL:
            self.skipTest("kubectl is not installed")
        self.start_ok()
        self.inject({"namespace": "mlops-staging", "deployment": "churn-prediction",
                     "never_ready": True})
        # A short progress deadline (10 simulated seconds, 2 s at --speed 5),
        # so the rollout fails within the test.
        self.kubectl("-n", "mlops-staging", "patch", "deployment", "churn-prediction",
                     "-p", '{"spec":{"progressDeadlineSeconds":10}}')
        p = self.cli("cluster", "set-image", "--env", "staging", "--version", "1.3.0")
        self.assertEqual(p.returncode, 0, harness.describe(p))
        s = self.pane.wait_for(r"rollout    failed: deployment \"churn-prediction\" "
                               r"exceeded its progress deadline")
        staging = self.panels(s)["staging"]
        self.assertIn("staging (mlops-staging) - failed", staging)
        self.assertIn("customer-churn-mlops:v1.3.0", staging)
        self.assertRegex(staging, r"churn-prediction-\S+ 0/1 ")  # the pod never ready
        self.assertIn("production (mlops-production) - ok", s)
        st = self.cli("cluster", "status", "--env", "staging", "--json")
        self.assertTrue(json.loads(st.stdout)["rollout"]["failed"], st.stdout)
        self.pane.keys("1")
        self.pane.wait_for(r"cluster staging: failed")
        self.quit_promptly()

    def test_killed_sandbox_shows_error_keys_work_and_q_quits(self):
        self.start_ok()
        pids = self.sandboxes()
        self.assertEqual(len(pids), 1)
        os.kill(pids[0], signal.SIGKILL)
        s = self.pane.wait_for(r"staging \(mlops-staging\) - unreachable[\s\S]*"
                               r"production \(mlops-production\) - unreachable")
        self.assertIn("cannot read the cluster", s)
        self.assertIn("as last read", s)
        # Keys still work: other views, back, help.
        self.pane.keys("1")
        self.pane.wait_for(r"cluster staging: unreachable")
        self.pane.keys("2")
        self.pane.wait_for(r"staging \(mlops-staging\) - unreachable")
        self.pane.keys("r")
        self.pane.wait_for(r"reading the cluster")
        self.quit_promptly()

    def test_hung_api_server_is_reported_and_never_blocks_quit(self):
        self.start_ok()
        self.inject({"api_delay_ms": 120000})
        s = self.pane.wait_for(r"did not answer within \d+ s", timeout=40)
        self.assertIn("cannot read the cluster", s)
        self.pane.keys("1")
        self.pane.wait_for(r"model versions \(local, 3\)")
        # A read is hanging right now (the view re-reads every few seconds).
        self.pane.keys("2")
        self.pane.keys("r")
        self.quit_promptly()

    def test_demo_without_python_says_why_there_is_no_cluster(self):
        empty = harness.tempdir("churnops-nopython-")
        self.start(prefix="PATH=%s " % shlex.quote(empty))
        s = self.pane.wait_for(r"no cluster:")
        self.assertIn("needs python3", s)
        self.pane.keys("1")
        self.pane.wait_for(r"cluster staging: no cluster")
        self.quit_promptly()


if __name__ == "__main__":
    unittest.main(verbosity=2)
