#!/usr/bin/python3
"""Hardening: hostile text, broken servers, tiny terminals and a long session,
the real console driven in tmux.

Hostile text: escape sequences (clear screen, OSC 52 clipboard, OSC 8
hyperlink, OSC 0 title), C0 and C1 controls, a right-to-left override,
zero-width characters, invalid UTF-8 and 10 000-character strings, placed
where outside text reaches the screen: a pod's name, node, phase, labels and
annotations and the deployment's change-cause as the sandbox cluster serves
them (POST /sandbox/hostile), a registry version's description, tag and
promotion reason, an audit record's reason, a Prometheus error message and
CSV cells in the what-if picker. The terminal must never interpret them: the
screen is not cleared, the pane title and tmux's paste buffer are untouched,
the capture with attributes (capture-pane -e) holds no sequence but SGR, the
text shows in core/sanitize.c's notation and stays inside its panel, and the
keys still work afterwards.

Broken servers: Prometheus and the Kubernetes API on a server that accepts
and never answers, then on a dead port. Every view key (1..7, ?) redraws
promptly (measured from the key to the frame, in the console's frame log and
end to end on the tmux screen), the panels say the source timed out or is
unreachable, and q exits at once with the terminal restored. Tiny terminals
(20x6, 40x10) and resizing while data refreshes never crash it.

Long session: CHURNOPS_REFRESH_SPEED runs an hour of refresh cycles for
every view against the sandbox (and a real Prometheus when installed) in
about a minute and a half; the console's VmRSS after warm-up and at the end
must differ by less than RSS_BOUND, and, in a sanitizer build,
LeakSanitizer checks the exit.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
    CHURNOPS_SOAK_SECONDS  the long session's wall-clock length (default 90)
"""

import http.server
import json
import os
import re
import shlex
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)
import prom_live_test as pl  # noqa: E402  (start_prometheus)
from kubesim_launcher import Kubesim  # noqa: E402

# Every kind of hostile text at once. Lone surrogates U+DC80..U+DCFF stand
# for raw bytes (Python's surrogateescape): invalid UTF-8 on the wire.
HOSTILE = ("EVIL\x1b[2J\x1b[H"                                 # clear, home
           "\x1b]0;pwned-title\x07"                            # window title
           "\x1b]52;c;cHduZWQ=\x07"                            # clipboard: "pwned"
           "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"  # hyperlink
           "\x01\x08\x0d\x0a\x7f"                              # C0, DEL
           "\u009b31m\u0085"                                   # C1: CSI, NEL
           "\u202egnp.exe"                                     # right-to-left override
           "\u200b\u200d\ufeff"                                # zero-width
           "\udcff\udcc3("                                     # invalid UTF-8
           "END")
LONG = HOSTILE + "x" * 10000 + "TAIL"
ENVS = (("staging", "mlops-staging"), ("production", "mlops-production"))
WAIT = ct.WAIT
RSS_BOUND_KIB = 5 * 1024
SOAK_SECONDS = float(os.environ.get("CHURNOPS_SOAK_SECONDS") or 90)
SOAK_SPEED = 40

HOME = None
MODEL = None
KUBECONFIG = None
SIM = None
PROM = None
PROM_URL = None


def escaped(text):
    """TEXT as the console shows it (sanitize_display() in core/sanitize.c:
    a backslash stays as it is)."""
    out = []
    for ch in text:
        cp = ord(ch)
        if 0xdc80 <= cp <= 0xdcff:
            out.append("\\x%02x" % (cp - 0xdc00))
        elif cp < 0x20 or cp == 0x7f:
            out.append("\\x%02x" % cp)
        elif (0x80 <= cp <= 0x9f or cp in (0x061c, 0x180e, 0xfeff) or 0x200b <= cp <= 0x200f
              or 0x202a <= cp <= 0x202e or 0x2060 <= cp <= 0x2064 or 0x2066 <= cp <= 0x2069):
            out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return "".join(out)


SHOWN = escaped(HOSTILE)


def cli(*args, env=None, actor="alice"):
    e = {"CHURNOPS_HOME": HOME, "CHURNOPS_ACTOR": actor,
         "KUBECONFIG": os.path.join(HOME, "none")}
    e.update(env or {})
    p = harness.run(list(args), env=e)
    if p.returncode != 0:
        raise AssertionError(harness.describe(p))
    return p


def setUpModule():
    global HOME, MODEL, KUBECONFIG, SIM
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    for var in ("PROMETHEUS_URL", "MLFLOW_TRACKING_URI", "KUBECONFIG"):
        os.environ.pop(var, None)
    HOME = harness.tempdir("churnops-hardening-home-")
    ct.HOME = HOME
    MODEL = os.path.join(harness.tempdir("churnops-hardening-model-"), "m")
    p = harness.train(MODEL, "--rounds", 10, "--folds", 2)
    if p.returncode != 0:
        raise RuntimeError("training failed:\n" + harness.describe(p))
    # The registry's outside text: a description, a tag, a stage reason
    # and an audited promotion's reason.
    cli("registry", "register", "--model", MODEL, "--version", "1.0.0",
        "--description", LONG)
    cli("registry", "register", "--model", MODEL, "--version", "1.1.0",
        "--description", "plain")
    # Tag values are capped at 5000 bytes (MLflow's limit).
    cli("registry", "tag", "1.0.0", "note", HOSTILE + "t" * 4000)
    cli("registry", "stage", "1.0.0", "production", "--override", "--reason", HOSTILE)
    cli("promote", "--version", "1.1.0", "--env", "production", "--yes", "--registry-only",
        "--override", "--reason", LONG, actor="mallory")
    cli("rollback", "--target", "previous", "--env", "production", "--yes",
        "--registry-only", "--reason", "back", actor="mallory")
    SIM = Kubesim(speed=10)
    KUBECONFIG = SIM.kubeconfig(os.path.join(HOME, "sandbox.kubeconfig"))


def tearDownModule():
    global PROM
    if PROM and PROM.poll() is None:
        PROM.kill()
        PROM.wait()
    if SIM:
        SIM.stop()


# --- servers that misbehave ------------------------------------------------

class HungServer:
    """Accepts connections and never answers (nor closes them)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


def dead_url():
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


class ErrorProm(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """A Prometheus whose every query answers status "error" with TEXT."""
    daemon_threads = True

    def __init__(self, text):
        self.text = text

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(h):
                self.answer(h)

            def do_POST(h):
                n = int(h.headers.get("Content-Length") or 0)
                h.rfile.read(n)
                self.answer(h)

            def log_message(h, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def answer(self, h):
        body = json.dumps({"status": "error", "errorType": "bad_data", "error": self.text},
                          ensure_ascii=False).encode("utf-8", "surrogateescape")
        h.send_response(400)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def stop(self):
        self.shutdown()
        self.server_close()


def kubeconfig_for(url, name):
    path = os.path.join(HOME, name + ".kubeconfig")
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": name,
           "clusters": [{"name": name, "cluster": {"server": url}}],
           "users": [{"name": name, "user": {}}],
           "contexts": [{"name": name, "context": {"cluster": name, "user": name,
                                                   "namespace": "mlops-staging"}}]}
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


# --- the console -----------------------------------------------------------

# Each view's key and what only that view shows (in this module's setup:
# a registry, no local model directories).
VIEW_MARKS = (
    ("1", r"model versions \(local"),
    ("2", r"staging \(mlops-staging\)"),
    ("3", r"staging \(mlops-staging/churn-prediction\)"),
    ("4", r"no model versions found: run"),
    ("5", r"no model to score with"),
    ("6", r"registry churn: sqlite|reading the registry"),
    ("7", r"audit log"),
    ("?", r"help: keys and commands"),
)


def shell_pid(pane):
    return int(pane.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").split()[0])


def console_pid(pane):
    """The churnops process under the pane's shell."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = subprocess.run(["pgrep", "-P", str(shell_pid(pane))],
                             stdout=subprocess.PIPE).stdout.split()
        if len(out) == 1:
            return int(out[0])
        time.sleep(0.05)
    raise AssertionError("no single console process under the shell")


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def sanitized_build(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def frame_latencies(log):
    """Seconds from each key to the next frame, from a CHURNOPS_BENCH_FRAMES log."""
    out, key = [], None
    with open(log) as f:
        for line in f:
            p = line.split()
            if p[0] == "key" and key is None:
                key = int(p[1])
            elif p[0] == "frame" and key is not None:
                out.append((int(p[1]) - key) / 1e6)
                key = None
    return out


class HardeningTest(unittest.TestCase):
    cols, rows = 160, 48
    extra_env = None

    def setUp(self):
        self.pane = ct.Pane(self.cols, self.rows, extra_env=self.extra_env)
        self.pane.tmux("delete-buffer", check=False)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    def start(self, *args, env=None):
        pre = " ".join("%s=%s" % (k, v) for k, v in (env or {}).items())
        cmd = " ".join(shlex.quote(a)
                       for a in [harness.CHURNOPS, "console"] + list(args))
        self.pane.keys("clear; " + (pre + " " if pre else "") + cmd, literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for(r"1 overview")

    def quit_promptly(self, bound=3.0):
        t0 = time.monotonic()
        self.pane.keys("q")
        s = self.pane.wait_for(ct.AT_PROMPT, timeout=15)
        took = time.monotonic() - t0
        self.assertLess(took, bound, "q took %.1f s" % took)
        # Nothing of the last frame is left behind, even in a pane that
        # was enlarged while the console ran.
        self.assertNotIn("\u2502", s)
        # The terminal is back as it was: line editing and echo on.
        self.pane.keys("clear; stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon "
                       "| tr '\\n' ,; echo", literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for("echo,icanon,|icanon,echo,")
        return took

    def assert_not_interpreted(self, screen):
        """Nothing of HOSTILE reached the terminal as a sequence."""
        title = self.pane.tmux("display-message", "-p", "-t", "t", "#{pane_title}")
        self.assertNotIn("pwned", title)
        buffers = self.pane.tmux("list-buffers", check=False)
        self.assertNotIn("pwned", buffers)
        self.assertNotIn("cHduZWQ", buffers)
        # The frame is still there: the header line, not a cleared screen.
        self.assertRegex(screen.splitlines()[0], r"churnops\s+env: ")
        raw = self.pane.screen(escapes=True)
        # Only SGR (attributes) in tmux's rendering of the pane: no OSC,
        # no cursor movement, no hyperlink.
        seqs = re.findall(r"\x1b(\[[0-9;:?]*[A-Za-z]|\][^\x07\x1b]*|.)", raw)
        for s in seqs:
            self.assertRegex(s, r"^\[[0-9;:]*m$", "a sequence other than SGR: %r" % s)
        self.assertNotIn("\u202e", raw)
        self.assertNotIn("\u200b", raw)
        self.assertNotIn("\ufeff", raw)

    def assert_inside_box(self, screen, needle):
        """Every line showing NEEDLE (below a panel's top edge) has the
        panels' side edges where that top edge has its corners: no text ran
        over a border."""
        lines = screen.splitlines()
        hits = [i for i, l in enumerate(lines) if needle in l]
        self.assertTrue(hits, "%r not on the screen:\n%s" % (needle, screen))
        for i in hits:
            line = lines[i]
            self.assertLessEqual(len(line), self.cols, line)
            if i == 0:
                continue  # the header: one line, clipped to the screen
            if line.lstrip().startswith("\u250c"):
                # A panel's title: every top-left corner keeps its top-right.
                self.assertEqual(line.count("\u250c"), line.count("\u2510"), line)
                continue
            tops = [l for l in lines[:i] if l.lstrip().startswith("\u250c")]
            self.assertTrue(tops, "no panel above %r" % line)
            edges = [k for k, ch in enumerate(tops[-1]) if ch in "\u250c\u2510"]
            for k in edges:
                self.assertEqual(line[k:k + 1], "\u2502",
                                 "text ran over a panel's edge at column %d: %r" % (k, line))

    def still_responds(self):
        for key, mark in (("6", r"registry churn"), ("7", r"audit log"),
                          ("1", r"model versions \(local")):
            self.pane.keys(key)
            self.pane.wait_for(mark, timeout=WAIT)


class HostileText(HardeningTest):
    def test_cluster_text(self):
        SIM.reset()
        for _, ns in ENVS:
            SIM.request("POST", "/sandbox/hostile",
                        {"namespace": ns, "deployment": "churn-prediction", "text": LONG})
        self.start("--kubeconfig", KUBECONFIG, "--view", "deployments")
        s = self.pane.wait_for(r"(?s)staging \(mlops-staging\) - \w+ - read.*EVIL", timeout=WAIT)
        s = self.pane.wait_stable()
        self.assertIn("EVIL\\x1b[2J\\x1b[H", s)
        self.assert_not_interpreted(s)
        self.assert_inside_box(s, "EVIL\\x1b")
        # The pod's name and phase stay in their columns: READY and RST show.
        self.assertRegex(s, r"EVIL\\x1b\[2J\\x1b\[H\S* 1/1\s+EVIL\\x1b\[ 0\s+\S+\s+EVIL")
        # The overview's cluster lines, then the keys still work.
        self.pane.keys("1")
        s = self.pane.wait_for(r"cluster staging: ")
        self.assert_not_interpreted(s)
        self.still_responds()
        self.quit_promptly()

    def test_registry_and_audit_text(self):
        self.start("--view", "registry")
        s = self.pane.wait_for(r"registry churn: sqlite")
        # Production's holder is selected: 1.0.0, whose texts are hostile.
        self.pane.keys("j", "k")
        s = self.pane.wait_for(r"description EVIL")
        s = self.pane.wait_stable()
        self.assertIn("description " + SHOWN[:60], s)
        self.assertIn("tag note = " + SHOWN[:60], s)
        self.assertIn(SHOWN[:40], s.split("promotion history")[1])
        self.assert_not_interpreted(s)
        self.assert_inside_box(s, "EVIL\\x1b")
        self.pane.keys("7")
        s = self.pane.wait_for(r"mallory\s+promote")
        s = self.pane.wait_stable()
        self.assertIn("EVIL\\x1b[2J", s)
        self.assert_not_interpreted(s)
        self.assert_inside_box(s, "EVIL\\x1b")
        # Selecting the record shows its details, long reason and all.
        self.pane.keys("j")
        s = self.pane.wait_stable()
        self.assert_not_interpreted(s)
        self.still_responds()
        self.quit_promptly()

    def test_prometheus_error_text(self):
        prom = ErrorProm(LONG)
        try:
            self.start("--view", "metrics", env={"PROMETHEUS_URL": prom.url})
            s = self.pane.wait_for(r"Prometheus: [\s\S]*EVIL", timeout=WAIT)
            s = self.pane.wait_stable()
            self.assertIn("EVIL\\x1b[2J\\x1b[H\\x1b]0;pwned-title\\x07", s)
            self.assert_not_interpreted(s)
            self.assert_inside_box(s, "EVIL\\x1b")
            self.still_responds()
            self.quit_promptly()
        finally:
            prom.stop()

    def test_csv_cells(self):
        src = harness.TELCO
        path = os.path.join(harness.tempdir(), "hostile.csv")
        with open(src, newline="", encoding="utf-8") as f:
            lines = f.read().splitlines()

        def q(text):
            return '"%s"' % text.replace('"', '""')
        out = ["id," + lines[0], q(HOSTILE) + "," + lines[1], q(LONG) + "," + lines[2]]
        out += ["C%d," % i + line for i, line in enumerate(lines[3:40])]
        with open(path, "w", newline="", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(out) + "\n")
        self.start("--model", MODEL, "--data", path, "--view", "what-if")
        self.pane.wait_for(r"probability \d\.\d{6}")
        self.pane.keys("c")
        self.pane.wait_for("pick a customer")
        s = self.pane.wait_stable()
        self.assertIn("EVIL\\x1b[2J", s)
        self.assert_not_interpreted(s)
        self.assert_inside_box(s, "EVIL\\x1b")
        # The long row selected: its detail line, clipped.
        self.pane.keys("j")
        s = self.pane.wait_stable()
        self.assert_not_interpreted(s)
        self.pane.keys("Escape")
        self.pane.wait_for("pick a customer", gone=True)
        self.quit_promptly()

    def test_model_directory_and_eval_json(self):
        # A workspace whose model directory's name and eval.json are hostile.
        home = harness.tempdir("churnops-hardening-home2-")
        name = ("EVIL\x1b[2J\x1b]0;pwned-title\x07\x1b]52;c;cHduZWQ=\x07\u202e\u200b"
                "\udcff" + "v" * 150)
        d = os.path.join(home, "data", "models", name)
        os.makedirs(d)
        for f in ("model.json", "schema.json"):
            shutil.copy(os.path.join(MODEL, f), d)
        with open(os.path.join(MODEL, "eval.json")) as f:
            ev = json.load(f)
        ev.update({"created": HOSTILE, "xgboost_version": LONG})
        with open(os.path.join(d, "eval.json"), "w", encoding="utf-8",
                  errors="surrogateescape") as f:
            json.dump(ev, f, ensure_ascii=False)
        self.start(env={"CHURNOPS_HOME": home})
        s = self.pane.wait_for(r"model versions \(local, 1\) - read")
        s = self.pane.wait_stable()
        self.assertIn("EVIL\\x1b[2J\\x1b]0;pwned-title\\x07", s)
        # eval.json's "created", cut to its 16 bytes, then escaped.
        self.assertIn("EVIL\\x1b[2J\\x1b[H\\x1b]0;p", s)
        self.assert_not_interpreted(s)
        self.assert_inside_box(s, "EVIL\\x1b")
        for key, mark in (("5", r"probability \d\.\d{6}"), ("4", r"verdict|checklist \("),
                          ("1", r"model versions \(local")):
            self.pane.keys(key)
            s = self.pane.wait_for(mark, timeout=WAIT)
            self.assert_not_interpreted(self.pane.wait_stable())
        self.quit_promptly()

    def test_prompt_shows_what_was_typed(self):
        self.start("--view", "registry")
        self.pane.wait_for(r"registry churn: sqlite")
        self.pane.keys("/")
        self.pane.keys("a\\b\u202ec", literal=True)
        s = self.pane.wait_for(r"filter: ")
        # What was typed, a backslash as it is, the override escaped.
        self.assertRegex(s.splitlines()[-1], r"^/a\\b\\u202ec\s*$")
        self.pane.keys("Escape")
        self.quit_promptly()


class BrokenServers(HardeningTest):
    def run_against(self, url, why):
        """The console with Prometheus and the Kubernetes API at URL:
        returns the key-to-redraw figures."""
        log = os.path.join(harness.tempdir(), "frames.log")
        kc = kubeconfig_for(url, "broken")
        self.start("--kubeconfig", kc, env={"PROMETHEUS_URL": url, "CHURNOPS_BENCH_FRAMES": log})
        # Every view once, so each has asked its server, then every key
        # timed while the reads hang or fail.
        for key, mark in VIEW_MARKS:
            self.pane.keys(key)
            self.pane.wait_for(mark, timeout=WAIT)
        taken = []
        for _ in range(2):
            for key, mark in VIEW_MARKS:
                self.assertNotRegex(self.pane.screen(), mark)
                t0 = time.monotonic()
                self.pane.keys(key)
                self.pane.wait_for(mark, timeout=10)
                taken.append(time.monotonic() - t0)
        inner = frame_latencies(log)
        self.assertLess(max(taken), 2.0, "key to screen: %s" % taken)
        self.assertLess(max(inner), 0.5, "key to frame: %s" % inner)
        # Each panel says plainly what is wrong.
        self.pane.keys("2")
        s = self.pane.wait_for(r"cannot read the cluster[\s\S]*%s" % why, timeout=WAIT)
        self.assertIn(url, s)
        self.pane.keys("3")
        s = self.pane.wait_for(r"Prometheus: [\s\S]*%s" % why, timeout=WAIT)
        self.pane.keys("1")
        s = self.pane.wait_for(r"cluster staging: (unreachable|failed)", timeout=WAIT)
        quit_s = self.quit_promptly()
        return taken, inner, quit_s

    def report(self, what, taken, inner, quit_s):
        sys.stderr.write("\n%s: key to screen median %.0f ms, max %.0f ms; key to frame "
                         "median %.1f ms, max %.1f ms (%d keys); q took %.2f s\n"
                         % (what, statistics.median(taken) * 1e3, max(taken) * 1e3,
                            statistics.median(inner) * 1e3, max(inner) * 1e3, len(inner),
                            quit_s))

    def test_hung_server(self):
        hung = HungServer()
        try:
            figures = self.run_against(hung.url, r"(timed out|timeout|did not answer)")
            self.report("hung server", *figures)
        finally:
            hung.stop()

    def test_dead_port(self):
        url = dead_url()
        figures = self.run_against(url, r"(refused|unreachable|connect)")
        self.report("dead port", *figures)


class TinyTerminal(HardeningTest):
    cols, rows = 20, 6

    def test_tiny_then_resized_while_refreshing(self):
        self.pane.keys("clear; CHURNOPS_REFRESH_SPEED=20 %s console --kubeconfig %s"
                       % (harness.CHURNOPS, KUBECONFIG), literal=True)
        self.pane.keys("Enter")
        s = self.pane.wait_for(r"Terminal")
        self.assertIn("small", s.replace("\n", " "))
        self.pane.resize(40, 10)
        s = self.pane.wait_for(r"40x10")
        self.assertIn("60x15", s.replace("\n", " "))
        # A storm of sizes while every view refreshes twenty times as often.
        self.pane.resize(120, 40)
        self.pane.wait_for(r"model versions")
        for key in "23671":
            self.pane.keys(key)
        sizes = [(20, 6), (61, 15), (200, 60), (40, 10), (80, 24), (60, 15), (133, 41)]
        for i in range(42):
            w, h = sizes[i % len(sizes)]
            self.pane.resize(w, h)
            if i % 5 == 0:
                self.pane.keys("23671"[(i // 5) % 5])
            time.sleep(0.03)
        self.pane.resize(120, 40)
        # tmux may hand over a key before it resizes the pane, and a key
        # read while the terminal is too small is ignored: ask until seen.
        deadline = time.monotonic() + WAIT
        while True:
            self.pane.keys("2")
            try:
                self.pane.wait_for(r"staging \(mlops-staging\) - ok", timeout=2)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        self.still_responds()
        self.quit_promptly()


class LongSession(HardeningTest):
    def test_an_hour_of_refreshes_in_flat_memory(self):
        global PROM, PROM_URL
        env = {"CHURNOPS_REFRESH_SPEED": str(SOAK_SPEED)}
        if os.path.exists(pl.PROMETHEUS) and not PROM:
            d = harness.tempdir("churnops-hardening-prom-")
            rules = os.path.join(d, "rules.yml")
            with open(rules, "w") as f:
                f.write("groups: []\n")
            PROM, PROM_URL = pl.start_prometheus(d, SIM.port, rules)
        if PROM_URL:
            env["PROMETHEUS_URL"] = PROM_URL
        SIM.reset()
        log = os.path.join(harness.tempdir(), "frames.log")
        env["CHURNOPS_BENCH_FRAMES"] = log
        ldd = subprocess.run(["ldd", harness.CHURNOPS], stdout=subprocess.PIPE).stdout
        if b"libasan" in ldd:
            # AddressSanitizer keeps freed memory in quarantine (256 MiB by
            # default), which would be most of what VmRSS measures.
            env["ASAN_OPTIONS"] = ("log_path=%s/asan:detect_leaks=1:quarantine_size_mb=0:"
                                   "thread_local_quarantine_size_kb=0" % self.pane.asan_dir)
        self.start("--kubeconfig", KUBECONFIG, env=env)
        pid = console_pid(self.pane)
        for key, mark in VIEW_MARKS[:7]:
            self.pane.keys(key)
            self.pane.wait_for(mark, timeout=WAIT)
        t0 = time.monotonic()
        warm = SOAK_SECONDS * 0.25
        samples = []
        keys = "12367"
        k = 0
        while time.monotonic() - t0 < SOAK_SECONDS:
            time.sleep(1.0)
            self.pane.keys(keys[k % len(keys)])
            k += 1
            samples.append((time.monotonic() - t0, vm_rss_kib(pid)))
        asan = sanitized_build(pid)
        self.pane.keys("2")
        s = self.pane.wait_for(r"staging \(mlops-staging\) - ok - read")
        elapsed = time.monotonic() - t0
        after = [r for t, r in samples if t >= warm]
        start, end = after[0], after[-1]
        jobs = {}
        with open(log) as f:
            for line in f:
                p = line.split()
                if p[0] == "job":
                    jobs[int(p[2])] = jobs.get(int(p[2]), 0) + 1
        names = ["overview", "deployments", "metrics", "checklist", "what-if", "registry",
                 "audit"]
        counts = ", ".join("%s %d" % (names[i] if i < len(names) else i, n)
                           for i, n in sorted(jobs.items()))
        sys.stderr.write(
            "\nlong session: %.0f s wall at speed %d = %.0f simulated s (%s Prometheus%s); "
            "results per view: %s; VmRSS %d KiB at %.0f s, %d KiB at the end, growth %d KiB "
            "(first sample %d KiB)\n"
            % (elapsed, SOAK_SPEED, elapsed * SOAK_SPEED, "with" if PROM_URL else "without",
               ", sanitizer build" if asan else "", counts, start, warm, end, end - start,
               samples[0][1]))
        self.quit_promptly(bound=5.0)
        self.assertLess(end - start, RSS_BOUND_KIB,
                        "VmRSS grew from %d to %d KiB: %s" % (start, end, samples))
        # An hour of the deployments view's refreshes (3 s apart) is 1200
        # reads per environment: most must have happened.
        self.assertGreater(sum(jobs.values()), 600, counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
