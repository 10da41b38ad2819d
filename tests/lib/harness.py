"""Shared helpers for churnops' integration tests (standard library only).

The tests drive the real binary. Its path comes from the environment, as
meson's `test()` sets it:

    CHURNOPS               path of the churnops binary
    CHURNOPS_SOURCE_ROOT   the source tree (for data/telco_churn.csv)
    CHURNOPS_KEEP_TMP=1    keep temporary directories for a post-mortem

Without them (running a test file by hand from the source tree) the source
root is found from this file's location and the binary is looked for in
SOURCE_ROOT/build/cli/churnops.

Oracles that need pandas or xgboost live in oracle.py, so this module stays
importable anywhere.
"""

import atexit
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile

SOURCE_ROOT = os.path.abspath(
    os.environ.get("CHURNOPS_SOURCE_ROOT")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

CHURNOPS = os.path.abspath(
    os.environ.get("CHURNOPS")
    or os.path.join(SOURCE_ROOT, "build", "cli", "churnops"))

TELCO = os.path.join(SOURCE_ROOT, "data", "telco_churn.csv")
TELCO_ROWS = 7043
TELCO_POSITIVES = 1869
TARGET = "churn"

# Rounds and folds for the cached model: enough for a realistic model, small
# enough that every test file can afford to train its own.
CACHED_ROUNDS = 60
CACHED_FOLDS = 3

DEFAULT_TIMEOUT = 240

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                     "runtime error:", "ThreadSanitizer")

_tmp_dirs = []


def _cleanup():
    if os.environ.get("CHURNOPS_KEEP_TMP"):
        return
    for d in _tmp_dirs:
        # Tests chmod things; make sure we can delete them.
        for root, dirs, files in os.walk(d):
            for name in dirs + files:
                try:
                    os.chmod(os.path.join(root, name), 0o700)
                except OSError:
                    pass
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def tempdir(prefix="churnops-test-"):
    """A fresh directory removed when the process exits."""
    d = tempfile.mkdtemp(prefix=prefix)
    _tmp_dirs.append(d)
    return d


def binary_exists():
    return os.path.isfile(CHURNOPS) and os.access(CHURNOPS, os.X_OK)


def require_binary():
    """Call from setUpModule(): fail loudly (not skip) when the binary is absent."""
    if not binary_exists():
        raise RuntimeError(
            "churnops binary not found at %s (set CHURNOPS or build with "
            "`meson setup build && ninja -C build`)" % CHURNOPS)


_home = None


def home():
    """A private CHURNOPS_HOME for this test process."""
    global _home
    if _home is None:
        _home = tempdir("churnops-home-")
    return _home


def run(args, input=None, timeout=DEFAULT_TIMEOUT, env=None, cwd=None):
    """Runs churnops with ARGS (a list of str). INPUT is str or bytes for stdin.

    Returns a CompletedProcess with text stdout/stderr (bytes are decoded with
    errors="replace" so a garbled message still shows up in an assertion)."""
    if isinstance(input, str):
        input = input.encode()
    full_env = dict(os.environ)
    # Keep the tests hermetic: no user configuration leaks in.
    full_env.setdefault("CHURNOPS_HOME", home())
    full_env.setdefault("NO_COLOR", "1")
    if env:
        full_env.update(env)
    p = subprocess.run([CHURNOPS] + [str(a) for a in args], input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=full_env, cwd=cwd)
    return subprocess.CompletedProcess(
        p.args, p.returncode,
        p.stdout.decode("utf-8", errors="replace"),
        p.stderr.decode("utf-8", errors="replace"))


def describe(p):
    """A one-paragraph description of a CompletedProcess for assertion messages."""
    return "command: %s\nexit: %s\nstderr: %s\nstdout (first 800 chars): %s" % (
        " ".join(p.args), p.returncode, p.stderr.strip()[:2000], p.stdout[:800])


def assert_no_crash(tc, p):
    """The process ended by itself (no signal) and no sanitizer complained."""
    tc.assertGreaterEqual(p.returncode, 0, "killed by a signal\n" + describe(p))
    for marker in SANITIZER_MARKERS:
        tc.assertNotIn(marker, p.stderr, describe(p))


def assert_ok(tc, p):
    assert_no_crash(tc, p)
    tc.assertEqual(p.returncode, 0, describe(p))


def assert_exit(tc, p, code):
    assert_no_crash(tc, p)
    tc.assertEqual(p.returncode, code, describe(p))


def assert_usage_error(tc, p, *needles):
    """Exit 2 with a "churnops: " message on stderr that contains every NEEDLE."""
    assert_exit(tc, p, 2)
    tc.assertTrue(p.stderr.strip(), "no message on stderr\n" + describe(p))
    # "churnops: message" (notes/cli.md); "churnops CMD: message" is accepted too.
    tc.assertRegex(p.stderr, r"(?m)^churnops( [a-z]+)?: ", describe(p))
    for n in needles:
        n = str(n)
        if re.fullmatch(r"(line|column) \d+", n):
            # "line 6" must not be satisfied by "line 60".
            tc.assertRegex(p.stderr, r"\b%s\b" % n, describe(p))
        else:
            tc.assertIn(n, p.stderr, describe(p))


# --- CSV helpers -----------------------------------------------------------

def parse_csv(text):
    """(header, rows) from CSV text; rows are lists of str."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return parse_csv(f.read())


def write_csv(path, header, rows, quote_all=False):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n",
                       quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def telco():
    """(header, rows) of data/telco_churn.csv, cached."""
    global _telco
    if _telco is None:
        _telco = read_csv(TELCO)
    h, r = _telco
    return list(h), [list(x) for x in r]


_telco = None


def column(header, rows, name):
    i = header.index(name)
    return [r[i] for r in rows]


def probabilities(text):
    """The churn_probability column of churnops score output (CSV text) as floats."""
    header, rows = parse_csv(text)
    i = header.index("churn_probability")
    return [float(r[i]) for r in rows]


def file_probabilities(path):
    with open(path, newline="", encoding="utf-8") as f:
        return probabilities(f.read())


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def grow_telco(path, nrows):
    """Writes a CSV of NROWS rows: the Telco rows repeated in order, so row i
    is Telco row (i mod 7043). Returns PATH."""
    with open(TELCO, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    if not body[-1].endswith("\n"):
        body[-1] += "\n"
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(header)
        full, rest = divmod(nrows, len(body))
        for _ in range(full):
            out.writelines(body)
        out.writelines(body[:rest])
    return path


# --- the cached model ------------------------------------------------------

_model_dir = None


def train(out_dir, *extra, data=None):
    """Runs `churnops train` quietly into OUT_DIR; returns the CompletedProcess."""
    args = ["train", "--data", data or TELCO, "--out", out_dir, "--quiet"]
    args += list(extra)
    return run(args)


def trained_model():
    """Directory of a model trained once per process on the Telco data
    (--rounds 60 --folds 3, seed 42). Raises if training fails."""
    global _model_dir
    if _model_dir is None:
        d = os.path.join(tempdir("churnops-model-"), "telco-model")
        p = train(d, "--rounds", CACHED_ROUNDS, "--folds", CACHED_FOLDS)
        if p.returncode != 0 or not os.path.isfile(os.path.join(d, "model.json")):
            raise RuntimeError("training the shared test model failed\n" + describe(p))
        _model_dir = d
    return _model_dir


def model_schema(model_dir=None):
    return read_json(os.path.join(model_dir or trained_model(), "schema.json"))


def score(model, data, *extra, input=None):
    """Runs `churnops score --model MODEL --data DATA --quiet EXTRA...` to stdout."""
    return run(["score", "--model", model, "--data", data, "--quiet"] + list(extra),
               input=input)


def whatif_json(model, *extra):
    """Runs `churnops whatif --model MODEL --json EXTRA...`; returns (proc, parsed or None)."""
    p = run(["whatif", "--model", model, "--json"] + list(extra))
    obj = None
    if p.returncode == 0:
        try:
            obj = json.loads(p.stdout)
        except ValueError:
            obj = None
    return p, obj


# Probabilities are printed "%.6f": a value may be off by the rounding (5e-7)
# plus the tolerance we grant the engine itself.
PROB_TOL = 1e-6 + 5e-7
