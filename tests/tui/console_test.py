"""Console tests: the real churnops binary driven in tmux.

Each test starts the console in a fresh tmux session on a private server
(-L NAME, -f /dev/null, so no user configuration leaks in), sends keys with
send-keys and reads the screen with capture-pane, waiting by polling the
screen for what it expects, never by sleeping a fixed time.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree (data/telco_churn.csv, themes/)
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402

TMUX = shutil.which("tmux")
PROMPT = "console-test$ "
# capture-pane drops trailing spaces.
PROMPT_RX = re.escape(PROMPT.strip())
AT_PROMPT = PROMPT_RX + r"\s*\Z"
WAIT = 90.0 if os.environ.get("CHURNOPS_SLOW") else 30.0

# Filled by setUpModule: one demo workspace for every test.
HOME = None
WORKSPACE = None


def setUpModule():
    global HOME, WORKSPACE
    harness.require_binary()
    if not TMUX:
        raise RuntimeError("tmux is required for the console tests")
    HOME = harness.tempdir("churnops-console-home-")
    p = harness.run(["demo", "--no-console"], env={"CHURNOPS_HOME": HOME}, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("churnops demo --no-console failed:\n" + harness.describe(p))
    WORKSPACE = p.stdout.strip()


class Pane:
    """One tmux server with one session running a shell we type into."""

    def __init__(self, cols=120, rows=40, term="tmux-256color", extra_env=None):
        self.socket = "churnops-test-%d-%d" % (os.getpid(), time.monotonic_ns())
        self.asan_dir = harness.tempdir("churnops-console-asan-")
        env = {
            "CHURNOPS_HOME": HOME,
            "LANG": "C.UTF-8",
            "PS1": PROMPT,
            "ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=1" % self.asan_dir,
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir,
        }
        env.update(extra_env or {})
        # -u then the assignments: NO_COLOR only when a test sets it.
        args = ["env", "-u", "NO_COLOR"] + ["%s=%s" % kv for kv in env.items()] + ["sh"]
        # Options first, so the session's pane gets the terminal type.
        self.tmux("-f", "/dev/null", "start-server", ";",
                  "set", "-g", "default-terminal", term, ";",
                  "set", "-g", "set-clipboard", "on", ";",
                  "set", "-g", "status", "off", ";",
                  "new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "t",
                  " ".join(shlex.quote(a) for a in args))
        self.wait_for(PROMPT_RX)

    def tmux(self, *args, check=True):
        p = subprocess.run([TMUX, "-L", self.socket] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError("tmux %s: %s" % (" ".join(args), p.stderr.decode()))
        return p.stdout.decode("utf-8", errors="replace")

    def close(self):
        self.tmux("kill-server", check=False)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", "t"]
        if escapes:
            args.append("-e")
        return self.tmux(*args)

    def keys(self, *keys, literal=False):
        args = ["send-keys", "-t", "t"]
        if literal:
            args.append("-l")
        self.tmux(*(args + list(keys)))

    def run_console(self, *args):
        cmd = " ".join(shlex.quote(a) for a in [harness.CHURNOPS] + list(args))
        self.keys("clear; " + cmd, literal=True)
        self.keys("Enter")

    def wait_for(self, pattern, timeout=WAIT, gone=False):
        """Polls the screen until PATTERN (a regex) shows (or, with GONE, no
        longer shows); returns the screen."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            s = self.screen()
            if bool(rx.search(s)) != gone:
                return s
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %r%s; screen:\n%s"
                                     % (pattern, " to go" if gone else "", s))
            time.sleep(0.03)

    def wait_stable(self, timeout=WAIT):
        """Waits until two captures 100 ms apart are equal; returns it."""
        deadline = time.monotonic() + timeout
        last = self.screen()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            s = self.screen()
            if s == last:
                return s
            last = s
        raise AssertionError("screen never settled:\n" + last)

    def resize(self, cols, rows):
        self.tmux("resize-window", "-t", "t", "-x", str(cols), "-y", str(rows))

    def sanitizer_reports(self):
        out = []
        for name in os.listdir(self.asan_dir):
            with open(os.path.join(self.asan_dir, name), errors="replace") as f:
                out.append(f.read())
        return out


class ConsoleTest(unittest.TestCase):
    cols, rows = 120, 40
    term = "tmux-256color"
    extra_env = None

    def setUp(self):
        self.pane = Pane(self.cols, self.rows, self.term, self.extra_env)

    def tearDown(self):
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    # -- helpers --

    def start_demo(self, *extra):
        self.pane.run_console("demo", *extra)
        self.pane.wait_for(r"model versions \(local, 3\) - read")
        # The demo's cluster has been read once, so the screen settles.
        return self.pane.wait_for(r"cluster production: (?!reading)")

    def quit(self):
        self.pane.keys("q")
        return self.pane.wait_for(AT_PROMPT)

    def open_whatif(self):
        self.pane.keys("5")
        return self.pane.wait_for(r"probability \d\.\d{6}  margin")

    def probability(self, screen, nth=0):
        found = re.findall(r"probability (\d\.\d{6})  margin", screen)
        self.assertTrue(found, screen)
        return float(found[nth])

    def cli_probability(self, version, sets, row=1, compare=None):
        model = os.path.join(WORKSPACE, "models", version)
        args = ["whatif", "--model", model, "--data",
                os.path.join(WORKSPACE, "data", "telco_churn.csv"), "--row", str(row), "--json"]
        for s in sets:
            args += ["--set", s]
        p = harness.run(args, env={"CHURNOPS_HOME": HOME})
        self.assertEqual(p.returncode, 0, harness.describe(p))
        return json.loads(p.stdout)["probability"]

    def assert_no_garbage(self):
        """What is on the screen equals a full redraw of it (C-l), but for
        the data's ages, which may tick over between the two."""
        def ages_masked(text):
            text = re.sub(r"read \d+\S*", "read N", text)
            return re.sub(r"\d+[smhd] ago", "N ago", text)
        before = self.pane.wait_stable()
        self.pane.keys("C-l")
        after = self.pane.wait_stable()
        self.assertEqual(ages_masked(before), ages_masked(after))
        return after


class StartAndViews(ConsoleTest):
    def test_overview_first(self):
        s = self.start_demo()
        self.assertIn("env: local", s)
        self.assertIn("model: churn 1.2.0", s)
        for v in ("1.0.0", "1.1.0", "1.2.0"):
            self.assertRegex(s, r"%s\s+0\.\d{4}\s+0\.\d{4}" % re.escape(v))
        # The demo registers its versions as the sandbox runs them.
        s = self.pane.wait_for(r"registry: production 1\.1\.0, staging 1\.2\.0")
        # And starts Prometheus, when it is installed, scraping its sandbox.
        if os.access("/usr/bin/prometheus", os.X_OK) or shutil.which("prometheus"):
            self.assertRegex(s, r"metrics: (PROMETHEUS_URL is set|staging )")
        else:
            self.assertIn("metrics: not configured - see churnops(1) CONFIGURATION", s)
        # The demo's sandbox cluster (tests/tui/deployments_view_test.py).
        self.assertRegex(s, r"cluster staging: (reading|ok)")
        self.assertNotIn("READ-ONLY", s)
        # The figures are eval.json's, not invented.
        with open(os.path.join(WORKSPACE, "models", "1.1.0", "eval.json")) as f:
            ev = json.load(f)
        self.assertIn("%.4f" % ev["roc_auc"], s)
        self.quit()

    def test_every_view_and_back(self):
        self.start_demo()
        s = self.open_whatif()
        self.assertIn("features (19)", s)
        self.assertIn("customer: row 1 of", s)
        self.pane.keys("?")
        # Wait for the whole frame, not just its title: a capture can land
        # while the help is still being written over the what-if view.
        s = self.pane.wait_for("pick a customer from the data file")
        self.assertIn("help: keys and commands", s)
        self.assertIn("pick a customer from the data file", s)
        self.pane.keys("?")  # back where we were
        self.pane.wait_for("features \\(19\\)")
        self.pane.keys("1")
        self.pane.wait_for("model versions")
        self.pane.keys(":")
        self.pane.keys("vi", literal=True)
        self.pane.keys("Tab")
        self.pane.wait_for(r"(?m)^:view\s*$")
        self.pane.keys("help", literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for("help: keys and commands")
        self.quit()

    def test_help_lists_the_whole_keymap(self):
        # Tall enough for every key and command without scrolling.
        self.pane.resize(200, 90)
        self.start_demo()
        self.pane.keys("?")
        self.pane.wait_for("help: keys and commands")
        s = self.pane.wait_stable()
        p = harness.run(["keys"], env={"CHURNOPS_HOME": HOME})
        self.assertEqual(p.returncode, 0, harness.describe(p))
        for line in p.stdout.splitlines():
            if line.startswith("  "):
                help_text = re.split(r"\s{2,}", line.strip(), maxsplit=1)[-1]
                self.assertIn(help_text, s)
        self.quit()

    def test_no_subcommand_with_model_and_data(self):
        # `churnops --model DIR --data F` is the console on that model alone.
        self.pane.run_console("--model", os.path.join(WORKSPACE, "models", "1.1.0"),
                              "--data", os.path.join(WORKSPACE, "data", "telco_churn.csv"))
        s = self.pane.wait_for(r"model versions \(local, 1\) - read")
        self.assertIn("model: churn 1.1.0", s)
        s = self.open_whatif()
        self.assertAlmostEqual(self.probability(s), self.cli_probability("1.1.0", []), places=6)
        self.quit()

    def test_read_only_badge(self):
        s = self.start_demo("--read-only")
        self.assertIn("READ-ONLY", s.splitlines()[0])
        self.quit()


class WhatIf(ConsoleTest):
    def test_edit_matches_cli(self):
        self.start_demo()
        s = self.open_whatif()
        self.assertAlmostEqual(self.probability(s), self.cli_probability("1.2.0", []), places=6)
        # tenure is the 5th feature: down 4, then two steps right.
        self.pane.keys("j", "j", "j", "j", "Right", "Right")
        s = self.pane.wait_for(r"tenure\s+3\s")
        s = self.pane.wait_stable()
        self.assertAlmostEqual(self.probability(s), self.cli_probability("1.2.0", ["tenure=3"]),
                               places=6)
        # contract (15th): cycle to the next level.
        for _ in range(10):
            self.pane.keys("j")
        self.pane.keys("Right")
        self.pane.wait_for("One year")
        s = self.pane.wait_stable()
        self.assertIn("2 edited", s)
        self.assertAlmostEqual(
            self.probability(s),
            self.cli_probability("1.2.0", ["tenure=3", "contract=One year"]), places=6)
        # Typing a number.
        self.pane.keys("g", "j", "j", "j", "j", "Enter")
        self.pane.wait_for(r"tenure \(a number")
        self.pane.keys("C-u")
        self.pane.keys("42", literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for(r"tenure\s+42\s")
        s = self.pane.wait_stable()
        self.assertAlmostEqual(
            self.probability(s),
            self.cli_probability("1.2.0", ["tenure=42", "contract=One year"]), places=6)
        # The copied command line reproduces it (OSC 52 lands in tmux's buffer).
        self.pane.keys("Y")
        self.pane.wait_for("command line")
        cmd = self.pane.tmux("show-buffer")
        argv = shlex.split(cmd)
        self.assertEqual(argv[:2], ["churnops", "whatif"])
        p = harness.run(argv[1:], env={"CHURNOPS_HOME": HOME})
        self.assertEqual(p.returncode, 0, harness.describe(p))
        self.assertAlmostEqual(json.loads(p.stdout)["probability"], self.probability(s), places=6)
        self.pane.keys("Escape")
        self.pane.wait_for("command line", gone=True)
        # Reset goes back to the row.
        self.pane.keys("r")
        self.pane.wait_for("edited", gone=True)
        s = self.pane.wait_stable()
        self.assertAlmostEqual(self.probability(s), self.cli_probability("1.2.0", []), places=6)
        self.quit()

    def test_copy_json_and_compare(self):
        self.start_demo()
        self.open_whatif()
        self.pane.keys("V")  # compare with 1.0.0
        s = self.pane.wait_for(r"1\.0\.0 \(compare\)[\s\S]*probability \d\.\d{6}[\s\S]*change vs")
        self.assertIn("model: churn 1.2.0 vs 1.0.0", s)
        self.pane.keys("y")
        self.pane.wait_for("record as JSON")
        data = json.loads(self.pane.tmux("show-buffer"))
        self.assertEqual([d["model_version"] for d in data], ["1.2.0", "1.0.0"])
        self.assertAlmostEqual(data[1]["probability"], self.cli_probability("1.0.0", []), places=6)
        total = data[0]["base_value"] + sum(c["contribution"] for c in data[0]["contributions"])
        self.assertAlmostEqual(total, data[0]["margin"], places=4)
        self.pane.keys("Escape")
        self.quit()

    def test_pick_customer_by_search(self):
        self.start_demo()
        self.open_whatif()
        self.pane.keys("/")
        self.pane.keys("Two year", literal=True)
        s = self.pane.wait_for(r"pick a customer: \d+ of 7043 rows, filter: Two year")
        self.pane.keys("Enter")  # keep the filter
        self.pane.keys("j", "Enter")
        s = self.pane.wait_for(r"customer: row \d+ of")
        row = int(re.search(r"customer: row (\d+) of", s).group(1))
        # The header can change a frame before the form replaces the picker.
        s = self.pane.wait_stable()
        self.assertIn("Two year", s)
        self.assertAlmostEqual(self.probability(s), self.cli_probability("1.2.0", [], row=row),
                               places=6)
        self.quit()


class Resize(ConsoleTest):
    def test_minimum_and_large(self):
        self.start_demo()
        self.open_whatif()
        self.pane.resize(60, 15)
        s = self.pane.wait_for("features")
        self.assertNotIn("too small", s)
        self.assert_no_garbage()
        self.pane.keys("1")
        self.pane.wait_for("model versions")
        self.assert_no_garbage()
        self.pane.resize(200, 60)
        s = self.pane.wait_for("workspace: ")
        self.assert_no_garbage()
        self.pane.keys("5")
        self.pane.wait_for("features")
        s = self.assert_no_garbage()
        self.assertEqual(len(s.splitlines()), 60)
        self.quit()

    def test_too_small_says_so(self):
        self.start_demo()
        self.pane.resize(50, 12)
        s = self.pane.wait_for("Terminal too small")
        self.assertIn("60x15", s.replace("\n", " "))
        self.pane.resize(80, 24)
        self.pane.wait_for("model versions")
        self.quit()


class Terminal(ConsoleTest):
    def test_quit_restores_the_terminal(self):
        self.start_demo()
        self.quit()
        s = self.pane.screen()
        self.assertNotIn("model versions", s)  # the alternate screen is gone
        self.pane.keys("stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon | tr '\\n' ,; echo",
                       literal=True)
        self.pane.keys("Enter")
        self.pane.wait_for("echo,icanon,|icanon,echo,")

    def test_quit_asks_while_a_job_runs(self):
        # A job runs when the data file is big: score it from a FIFO that
        # never ends, so the loading job stays busy.
        fifo = os.path.join(harness.tempdir(), "customers.csv")
        os.mkfifo(fifo)
        src = os.path.join(WORKSPACE, "data", "telco_churn.csv")
        # One writer holds the FIFO open after the data, so the reader
        # never sees its end; exec makes it the process we kill.
        writer = subprocess.Popen(["sh", "-c", 'exec 3>"$1"; cat "$2" >&3; exec sleep 600',
                                   "sh", fifo, src])
        try:
            self.pane.run_console("console", "--data", fifo, "--view", "what-if")
            self.pane.wait_for("working")
            self.pane.keys("q")
            self.pane.wait_for("Quit anyway")
            self.pane.keys("n")
            self.pane.wait_for("Quit anyway", gone=True)
            self.pane.keys("q")
            self.pane.wait_for("Quit anyway")
            self.pane.keys("y")
            self.pane.wait_for(AT_PROMPT)
        finally:
            writer.kill()
            writer.wait()

    def test_signals_restore_the_terminal(self):
        # A crash (SEGV, ABRT) or being told to stop (TERM, INT, HUP): each
        # leaves a working terminal behind and dies of the signal.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGSEGV,
                    signal.SIGABRT):
            with self.subTest(signal=sig.name):
                self.start_demo()
                shell = self.pane.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").strip()
                child = subprocess.run(["pgrep", "-P", shell],
                                       stdout=subprocess.PIPE).stdout.split()
                self.assertEqual(len(child), 1)
                os.kill(int(child[0]), sig)
                s = self.pane.wait_for(AT_PROMPT)
                self.assertNotIn("model versions", s)
                self.pane.keys("clear; stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon "
                               "| tr '\\n' ,; echo", literal=True)
                self.pane.keys("Enter")
                self.pane.wait_for("echo,icanon,|icanon,echo,")


class NoColor(ConsoleTest):
    extra_env = {"NO_COLOR": "1"}

    def test_no_colour_escapes(self):
        s = self.start_demo()
        self.open_whatif()
        s = self.pane.screen(escapes=True)
        sgr = re.findall(r"\x1b\[([0-9;]*)m", s)
        self.assertTrue(sgr)  # attributes are still used
        colour = {str(n) for n in list(range(30, 39)) + list(range(40, 49)) +
                  list(range(90, 98)) + list(range(100, 108))}
        for params in sgr:
            for p in params.split(";"):
                self.assertNotIn(p, colour, "colour in SGR %r under NO_COLOR" % params)
        self.quit()


class Colours(ConsoleTest):
    def test_256_colours(self):
        self.start_demo()
        s = self.pane.screen(escapes=True)
        self.assertRegex(s, r"\x1b\[[0-9;]*38;5;\d+")
        self.quit()


class ConfiguredTheme(ConsoleTest):
    def setUp(self):
        home = harness.tempdir("churnops-console-config-")
        os.makedirs(os.path.join(home, "config"))
        with open(os.path.join(home, "config", "config.json"), "w") as f:
            json.dump({"theme": "light"}, f)
        self.extra_env = {"CHURNOPS_HOME": home}
        super().setUp()

    def test_config_theme_and_override(self):
        model = os.path.join(WORKSPACE, "models", "1.0.0")
        self.pane.run_console("--model", model)
        self.pane.wait_for(r"model versions \(local, 1\) - read")
        # The light theme's header background, then --theme wins.
        self.assertIn("48;5;153", self.pane.screen(escapes=True))
        self.quit()
        self.pane.run_console("--model", model, "--theme", "dark")
        self.pane.wait_for(r"model versions \(local, 1\) - read")
        self.assertIn("48;5;24", self.pane.screen(escapes=True))
        self.quit()


class DemoPrometheus(ConsoleTest):
    """The demo starts Prometheus when it is installed and says how to
    install it when it is not ($CHURNOPS_PROMETHEUS empty: none)."""

    def test_without_prometheus_the_metrics_view_says_how_to_install(self):
        self.pane.close()
        self.pane = Pane(self.cols, self.rows, self.term, {"CHURNOPS_PROMETHEUS": ""})
        self.start_demo()
        self.pane.keys("3")
        self.pane.wait_for(r"Prometheus is not installed: 'apt-get install prometheus'")
        self.quit()

    @unittest.skipUnless(os.access("/usr/bin/prometheus", os.X_OK) or shutil.which("prometheus"),
                         "prometheus is not installed")
    def test_with_prometheus_the_metrics_view_reads_it(self):
        self.start_demo()
        self.pane.keys("3")
        s = self.pane.wait_for(r"policy \w+ - http://127\.0\.0\.1:\d+ - range")
        url = re.search(r"http://127\.0\.0\.1:\d+", s).group(0)
        tsdb = os.path.join(WORKSPACE, "prometheus", "tsdb")
        self.assertTrue(os.path.isdir(tsdb), tsdb)
        self.quit()
        # Stopped with the console.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).close()
            except OSError:
                break
            time.sleep(0.2)
        else:
            self.fail("the demo's Prometheus still answers at " + url)


class EightColours(ConsoleTest):
    term = "screen"

    def test_8_colours_and_every_theme(self):
        self.start_demo()
        s = self.pane.screen(escapes=True)
        self.assertNotRegex(s, r"38;5;")
        self.assertRegex(s, r"\x1b\[[0-9;]*3[0-7]m")
        for theme in ("light", "high-contrast", "mono", "dark"):
            self.pane.keys(":")
            self.pane.keys("theme " + theme, literal=True)
            self.pane.keys("Enter")
            self.pane.wait_for("theme " + theme)
        self.quit()


class Escapes(ConsoleTest):
    cols, rows = 200, 50

    def test_csv_cell_with_escape_sequence_is_drawn_escaped(self):
        src = os.path.join(WORKSPACE, "data", "telco_churn.csv")
        path = os.path.join(harness.tempdir(), "evil.csv")
        with open(src, newline="") as f:
            lines = f.read().splitlines()
        evil = "EVIL\x1b[31mRED\x1b]0;pwned\x07\u202e"
        out = ['"id",' + lines[0]]
        out.append('"%s",' % evil + lines[1])
        for i, line in enumerate(lines[2:50]):
            out.append('"C%d",' % i + line)
        with open(path, "w", newline="") as f:
            f.write("\n".join(out) + "\n")
        self.pane.run_console("console", "--model", os.path.join(WORKSPACE, "models", "1.0.0"),
                              "--data", path, "--view", "what-if")
        self.pane.wait_for(r"probability \d\.\d{6}")
        self.pane.keys("c")
        self.pane.wait_for("pick a customer")
        s = self.pane.wait_stable()
        self.assertIn("EVIL\\x1b[31mRED", s)
        raw = self.pane.screen(escapes=True)
        self.assertNotIn("pwned", self.pane.tmux("display-message", "-p", "#{pane_title}"))
        self.assertNotIn("\x1b[31mRED", raw)
        self.pane.keys("Escape")
        self.quit()


if __name__ == "__main__":
    unittest.main(verbosity=2)
