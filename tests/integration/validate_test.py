#!/usr/bin/python3
"""churnops validate, checklist, card and drift: the report's shape, its
metrics against scikit-learn (to 1e-9), PSI recomputed with numpy, gates and
exit codes, sign-offs bound to the artifact's sha256, and the model card."""

import json
import math
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

import numpy as np  # noqa: E402
import oracle  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import (average_precision_score, brier_score_loss,  # noqa: E402
                             f1_score, precision_score, recall_score, roc_auc_score)

ITEMS = ["roc_auc", "precision", "recall", "f1", "cv_stability", "latency", "memory",
         "artifact_size", "compatibility", "schema", "segments", "fairness",
         "business_impact", "stakeholder_approval", "model_card", "monitoring",
         "rollback_plan", "alert_thresholds"]
SECTIONS = {"performance", "technical", "business", "operational"}
STATUSES = {"pass", "fail", "pending", "manual"}
TOL = 1e-9
EPS = 1e-4

# Gates every item that can pass does pass with, so the verdict turns on
# sign-offs and the operational items alone.
EASY = {"roc_auc": {"min": 0}, "precision": {"min": 0}, "recall": {"min": 0},
        "f1": {"min": 0}, "segments": {"tolerance": 1}, "fairness": {"min": 0},
        "business_impact": {"min": -1e12}}


def setUpModule():
    h.require_binary()


def split_telco(d):
    """The first 80 % and the last 20 % of the Telco rows, as two files."""
    header, rows = h.telco()
    cut = int(len(rows) * 0.8)
    a, b = os.path.join(d, "head80.csv"), os.path.join(d, "tail20.csv")
    h.write_csv(a, header, rows[:cut])
    h.write_csv(b, header, rows[cut:])
    return a, b


def validate(model, data, *extra, home=None):
    # No Prometheus: monitoring is pending (checklist_ops_test.py has one).
    env = {"PROMETHEUS_URL": ""}
    if home:
        env["CHURNOPS_HOME"] = home
    return h.run(["validate", "--model", model, "--data", data] + list(extra), env=env)


def production_elsewhere(tc, model, home):
    """Puts another artifact of MODEL (one more byte) into production in
    HOME's embedded registry, so validating MODEL has a rollback target."""
    other = os.path.join(h.tempdir(), "other")
    shutil.copytree(model, other)
    with open(os.path.join(other, "model.json"), "a") as f:
        f.write("\n")
    env = {"CHURNOPS_HOME": home}
    h.assert_ok(tc, h.run(["registry", "register", "--model", other, "--version", "0.9.0"],
                          env=env))
    h.assert_ok(tc, h.run(["registry", "stage", "0.9.0", "production", "--override",
                           "--reason", "the version in production"], env=env))


def validate_json(tc, model, data, *extra, home=None, code=None):
    p = validate(model, data, "--json", *extra, home=home)
    h.assert_no_crash(tc, p)
    if code is not None:
        tc.assertEqual(p.returncode, code, h.describe(p))
    tc.assertNotIn("nan", p.stdout.lower().replace("nanoseconds", ""), h.describe(p))
    return p, json.loads(p.stdout)


def items(report):
    return {it["id"]: it for it in report["items"]}


class Report(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()
        cls.dir = h.tempdir()
        cls.head, cls.test = split_telco(cls.dir)
        cls.pred = os.path.join(cls.dir, "pred.csv")
        cls.home = h.tempdir("churnops-home-")
        p = validate(cls.model, cls.test, "--json", "--predictions", cls.pred, home=cls.home)
        if p.returncode not in (0, 1):
            raise RuntimeError(h.describe(p))
        cls.proc = p
        cls.report = json.loads(p.stdout)

    def test_shape(self):
        r = self.report
        self.assertIn(r["verdict"], ("pass", "fail", "pending"))
        self.assertEqual(self.proc.returncode, 0 if r["verdict"] == "pass" else 1)
        self.assertIn("verdict: " + r["verdict"], self.proc.stderr)
        self.assertEqual([it["id"] for it in r["items"]], ITEMS)
        for it in r["items"]:
            self.assertTrue({"id", "section", "title", "status", "value", "threshold",
                             "evidence"} <= set(it), it)
            self.assertIn(it["section"], SECTIONS)
            self.assertIn(it["status"], STATUSES)
            self.assertTrue(it["threshold"], it)
            self.assertTrue(it["evidence"], it)
        self.assertEqual(len(r["model"]["sha256"]), 64)
        for k in ("roc_auc", "pr_auc", "precision", "recall", "f1", "brier", "calibration",
                  "latency_ms", "peak_rss_mb", "segments", "fairness", "business_impact"):
            self.assertIn(k, r["metrics"])

    def test_items_as_designed(self):
        it = items(self.report)
        self.assertEqual(it["compatibility"]["status"], "pass", it["compatibility"])
        self.assertIn("binary:logistic", it["compatibility"]["evidence"])
        self.assertIn("feature names match", it["compatibility"]["evidence"])
        self.assertEqual(it["schema"]["status"], "pass", it["schema"])
        self.assertEqual(it["schema"]["value"], 0)
        self.assertEqual(it["latency"]["status"], "pass")
        self.assertGreater(it["latency"]["value"], 0)
        self.assertEqual(it["memory"]["status"], "pass", it["memory"])
        self.assertGreater(it["memory"]["value"], 1)
        self.assertLess(it["memory"]["value"], 2048)
        self.assertEqual(it["artifact_size"]["status"], "pass")
        self.assertAlmostEqual(it["artifact_size"]["value"] * 1024 * 1024,
                               os.path.getsize(os.path.join(self.model, "model.json")),
                               delta=1)
        self.assertEqual(it["cv_stability"]["value"],
                         h.read_json(os.path.join(self.model, "eval.json"))["cv"]["roc_auc_std"])
        self.assertEqual(it["stakeholder_approval"]["status"], "manual")
        self.assertEqual(it["model_card"]["status"], "pending")
        self.assertEqual(it["monitoring"]["status"], "pending")
        self.assertIn("no Prometheus configured for production", it["monitoring"]["evidence"])
        # An empty registry: nothing to roll back to.
        self.assertEqual(it["rollback_plan"]["status"], "fail")
        self.assertIn("first production version", it["rollback_plan"]["evidence"])
        self.assertEqual(it["alert_thresholds"]["status"], "pass")
        self.assertIn("built-in triggers", it["alert_thresholds"]["evidence"])
        for needle in ("roc_auc < ", "latency_p95 > ", "error_rate > ", "drift > "):
            self.assertIn(needle, it["alert_thresholds"]["evidence"])
        self.assertEqual(self.report["env"], "production")
        self.assertNotEqual(self.report["verdict"], "pass")

    def predictions(self):
        header, rows = h.read_csv(self.pred)
        self.assertEqual(header, ["churn_probability", "label"])
        s = np.array([np.float32(r[0]) for r in rows], dtype=np.float32)
        y = np.array([int(r[1]) for r in rows])
        return s, y

    def test_predictions_are_the_model(self):
        s, y = self.predictions()
        df = oracle.read_frame(self.test)
        self.assertEqual(list(y), [1 if v == "Yes" else 0 for v in df["churn"]])
        want = oracle.predict(oracle.booster(os.path.join(self.model, "model.json")), df,
                              h.model_schema(self.model))
        self.assertLess(float(np.max(np.abs(want - s))), 1e-6)

    def test_metrics_match_sklearn(self):
        s, y = self.predictions()
        m = self.report["metrics"]
        thr = m["threshold"]
        pred = (s >= thr).astype(int)
        self.assertEqual(m["rows"], len(y))
        self.assertEqual(m["positives"], int(y.sum()))
        self.assertAlmostEqual(m["roc_auc"], roc_auc_score(y, s), delta=TOL)
        self.assertAlmostEqual(m["pr_auc"], average_precision_score(y, s), delta=TOL)
        self.assertAlmostEqual(m["precision"], precision_score(y, pred, zero_division=0),
                               delta=TOL)
        self.assertAlmostEqual(m["recall"], recall_score(y, pred, zero_division=0), delta=TOL)
        self.assertAlmostEqual(m["f1"], f1_score(y, pred, zero_division=0), delta=TOL)
        self.assertAlmostEqual(m["brier"], brier_score_loss(y, s), delta=TOL)
        prob_true, prob_pred = calibration_curve(y, s, n_bins=10)
        bins = [b for b in m["calibration"] if b["count"] > 0]
        self.assertEqual(len(bins), len(prob_true))
        for b, t, p in zip(bins, prob_true, prob_pred):
            self.assertAlmostEqual(b["fraction_positive"], t, delta=TOL)
            self.assertAlmostEqual(b["mean_predicted"], p, delta=TOL)
        self.assertEqual(sum(b["count"] for b in m["calibration"]), len(y))
        it = items(self.report)
        self.assertEqual(it["roc_auc"]["value"], m["roc_auc"])
        self.assertEqual(it["roc_auc"]["status"], "pass" if m["roc_auc"] >= 0.85 else "fail")

    def test_segments_fairness_business(self):
        s, y = self.predictions()
        df = oracle.read_frame(self.test)
        m = self.report["metrics"]
        thr = m["threshold"]
        segs = {(g["column"], g["segment"]): g for g in m["segments"]}
        for level in ("Month-to-month", "One year", "Two year"):
            mask = (df["contract"] == level).to_numpy()
            g = segs[("contract", level)]
            self.assertEqual(g["rows"], int(mask.sum()))
            self.assertAlmostEqual(g["roc_auc"], roc_auc_score(y[mask], s[mask]), delta=TOL)
            self.assertAlmostEqual(g["recall"], recall_score(y[mask], s[mask] >= thr),
                                   delta=TOL)
            self.assertEqual(g["judged"], bool(mask.sum() >= 100))
        tenure = df["tenure"].astype(float).to_numpy()
        for label, lo, hi in (("0-12", -1, 12), ("13-24", 12, 24), ("25-48", 24, 48),
                              ("49+", 48, 1e9)):
            mask = (tenure > lo) & (tenure <= hi)
            self.assertEqual(segs[("tenure", label)]["rows"], int(mask.sum()))
        fair = {f["attribute"]: f for f in m["fairness"]}
        for attr in ("senior_citizen", "female"):
            col = df[attr].astype(int).to_numpy()
            rec = [recall_score(y[col == v], s[col == v] >= thr) for v in (0, 1)]
            rate = [float(np.mean(s[col == v] >= thr)) for v in (0, 1)]
            self.assertAlmostEqual(fair[attr]["recall_ratio"], min(rec) / max(rec), delta=TOL)
            self.assertAlmostEqual(fair[attr]["positive_rate_ratio"], min(rate) / max(rate),
                                   delta=TOL)
        b = m["business_impact"]
        n = len(y)
        k = int(math.floor(0.2 * n))
        order = np.argsort(-s, kind="stable")
        # Values are taken from the encoded (float32) rows, as segments.h says.
        value = df["monthly_charges"].astype(np.float32).astype(float).to_numpy() * 12
        top = order[:k]
        saved = 0.3 * float(np.sum(value[top] * y[top]))
        self.assertEqual(b["contacted"], k)
        self.assertAlmostEqual(b["saved"], saved, delta=1e-6)
        self.assertAlmostEqual(b["net_value"], saved - 10 * k, delta=1e-6)
        self.assertAlmostEqual(b["random_net_value"],
                               k / n * 0.3 * float(np.sum(value * y)) - 10 * k, delta=1e-6)
        rate = y.mean()
        first = order[:len([r for r in range(n) if (10 * r) // n == 0])]
        self.assertAlmostEqual(b["lift"][0]["lift"], y[first].mean() / rate, delta=TOL)
        self.assertAlmostEqual(b["lift"][9]["cumulative_gain"], 1.0, delta=TOL)

    def test_text_report(self):
        p = validate(self.model, self.test, home=self.home)
        h.assert_exit(self, p, 1)
        for word in ("performance", "technical", "business", "operational", "roc_auc",
                     "stakeholder_approval", "verdict: "):
            self.assertIn(word, p.stdout)
        if self.report["verdict"] == "pending":
            self.assertIn("waiting for", p.stdout)


class Gates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()
        cls.dir = h.tempdir()
        cls.head, cls.test = split_telco(cls.dir)

    def gates(self, obj, name="gates.json"):
        path = os.path.join(self.dir, name)
        if isinstance(obj, str):
            with open(path, "w") as f:
                f.write(obj)
        else:
            h.write_json(path, obj)
        return path

    def test_failing_gate_exits_1(self):
        g = dict(EASY, roc_auc={"min": 0.999})
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates(g), code=1)
        self.assertEqual(r["verdict"], "fail")
        self.assertEqual(items(r)["roc_auc"]["status"], "fail")
        self.assertEqual(items(r)["roc_auc"]["threshold"], ">= 0.999")
        self.assertIn("verdict: fail", p.stderr)
        self.assertIn("roc_auc", p.stderr)

    def test_pending_is_its_own_verdict(self):
        home = h.tempdir("churnops-home-")
        production_elsewhere(self, self.model, home)
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates(EASY),
                             home=home, code=1)
        self.assertEqual(r["verdict"], "pending")
        self.assertEqual(items(r)["rollback_plan"]["status"], "pass")
        self.assertIn("monitoring", p.stderr)
        self.assertNotIn("fail", [it["status"] for it in r["items"]], r["items"])
        self.assertIn("verdict: pending", p.stderr)
        self.assertIn("stakeholder_approval (sign-off)", p.stderr)

    def test_other_gates(self):
        g = dict(EASY, latency={"max": 0}, artifact_size={"max": 0.001})
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates(g), code=1)
        self.assertEqual(items(r)["latency"]["status"], "fail")
        self.assertEqual(items(r)["artifact_size"]["status"], "fail")
        g = dict(EASY, segments={"columns": [{"name": "tenure", "bands": [6, 60]}],
                                 "min_size": 10},
                 fairness={"attributes": ["partner"]},
                 business_impact={"top_k": 0.1, "contact_cost": 1e6})
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates(g), code=1)
        labels = [s["segment"] for s in r["metrics"]["segments"]]
        self.assertEqual(labels, ["0-6", "7-60", "61+"])
        self.assertEqual([f["attribute"] for f in r["metrics"]["fairness"]], ["partner"])
        self.assertEqual(items(r)["business_impact"]["status"], "fail")
        self.assertLess(r["metrics"]["business_impact"]["net_value"], 0)

    def test_bad_gates(self):
        cases = [({"roc_auk": {"min": 0.8}}, "unknown checklist item 'roc_auk'"),
                 ({"roc_auc": {"minimum": 0.8}}, "unknown setting 'minimum'"),
                 ({"recall": {"min": "high"}}, "recall.min"),
                 ({"segments": {"columns": ["no_such_column"]}}, "no_such_column"),
                 ("{not json", "gates.json")]
        for obj, needle in cases:
            p = validate(self.model, self.test, "--gates", self.gates(obj))
            h.assert_usage_error(self, p, needle)

    def test_bad_input(self):
        h.assert_usage_error(self, validate(self.model, "/no/such.csv"), "/no/such.csv")
        h.assert_usage_error(self, h.run(["validate", "--model", self.model]), "--data")
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w") as f:
            f.write("churn,tenure\nYes,abc\n")
        h.assert_usage_error(self, validate(self.model, bad), "bad.csv")

    def test_one_class_is_undefined(self):
        header, rows = h.telco()
        i = header.index("churn")
        path = os.path.join(self.dir, "no_churn.csv")
        h.write_csv(path, header, [r for r in rows[-2000:] if r[i] == "No"])
        p, r = validate_json(self, self.model, path, code=1)
        self.assertIsNone(r["metrics"]["roc_auc"])
        self.assertIsNone(r["metrics"]["pr_auc"])
        self.assertIn("roc_auc", r["metrics"]["undefined"])
        it = items(r)["roc_auc"]
        self.assertEqual(it["status"], "fail")
        self.assertEqual(it["value"], "undefined")
        self.assertIn("undefined", it["evidence"])
        self.assertIsNotNone(r["metrics"]["brier"])
        t = validate(self.model, path)
        self.assertIn("undefined", t.stdout)
        self.assertNotIn("nan", t.stdout.lower())

    def test_unseen_levels_fail_schema(self):
        header, rows = h.telco()
        i = header.index("contract")
        rows = rows[-500:]
        for r in rows[:7]:
            r[i] = "Three year"
        path = os.path.join(self.dir, "unseen.csv")
        h.write_csv(path, header, rows)
        p, r = validate_json(self, self.model, path, code=1)
        it = items(r)["schema"]
        self.assertEqual(it["status"], "fail")
        self.assertIn("Three year", it["evidence"])
        self.assertIn("contract", it["evidence"])


class Signoffs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.tempdir()
        cls.model = os.path.join(cls.dir, "model")
        shutil.copytree(h.trained_model(), cls.model)
        cls.head, cls.test = split_telco(cls.dir)
        cls.gates = os.path.join(cls.dir, "easy.json")
        h.write_json(cls.gates, EASY)

    def test_signoff_card_and_tampering(self):
        home = h.tempdir("churnops-home-")
        env = {"CHURNOPS_HOME": home}
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates, home=home,
                             code=1)
        self.assertEqual(items(r)["stakeholder_approval"]["status"], "manual")
        sha = r["model"]["sha256"]

        p = h.run(["checklist", "signoff", "--model", self.model, "--item",
                   "stakeholder_approval", "--by", "Ana Lead", "--note", "CAB-42"], env=env)
        h.assert_ok(self, p)
        self.assertIn(sha, p.stdout)
        self.assertTrue(os.path.isfile(os.path.join(home, "data", "churnops.db")))

        # show reflects the sign-off without another validate run.
        p = h.run(["checklist", "show", "--model", self.model, "--json"], env=env)
        h.assert_ok(self, p)
        shown = json.loads(p.stdout)
        self.assertEqual(items(shown)["stakeholder_approval"]["status"], "pass")
        self.assertEqual(shown["signoffs"][0]["by"], "Ana Lead")
        self.assertEqual(shown["signoffs"][0]["note"], "CAB-42")

        p, r = validate_json(self, self.model, self.test, "--gates", self.gates, home=home,
                             code=1)
        it = items(r)["stakeholder_approval"]
        self.assertEqual(it["status"], "pass")
        self.assertIn("Ana Lead", it["evidence"])
        self.assertIn("CAB-42", it["evidence"])

        # The card names the artifact and its sections; then model_card passes.
        card = os.path.join(self.model, "model_card.md")
        p = h.run(["card", "--model", self.model, "--output", card, "--model-version",
                   "1.2.0", "--model-type", "XGBoost Classifier"], env=env)
        h.assert_ok(self, p)
        with open(card) as f:
            text = f.read()
        for section in ("# Model card: XGBoost Classifier 1.2.0", "## Model details",
                        "## Intended use", "## Training data", "## Evaluation",
                        "### Calibration", "## Segments", "## Fairness",
                        "## Business impact", "## Drift at training time", "## Limitations",
                        "## Checklist"):
            self.assertIn(section, text)
        self.assertIn(sha, text)
        self.assertIn("Ana Lead", text)
        self.assertIn("Brier", text)
        self.assertIn("XGBoost 1.7", text)
        self.assertNotIn("nan", text.lower().replace("nant", ""))
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates, home=home,
                             code=1)
        self.assertEqual(items(r)["model_card"]["status"], "pass")
        # Not pass: no Prometheus (monitoring pending) and an empty
        # registry, so no rollback target for a first production version.
        self.assertEqual(items(r)["monitoring"]["status"], "pending")
        self.assertEqual(items(r)["rollback_plan"]["status"], "fail")
        self.assertEqual(r["verdict"], "fail")

        # Tampering with model.json changes its sha256: the sign-off and the
        # card no longer count.
        with open(os.path.join(self.model, "model.json"), "a") as f:
            f.write("\n")
        p, r = validate_json(self, self.model, self.test, "--gates", self.gates, home=home,
                             code=1)
        self.assertNotEqual(r["model"]["sha256"], sha)
        self.assertEqual(items(r)["stakeholder_approval"]["status"], "manual")
        self.assertEqual(items(r)["model_card"]["status"], "pending")
        self.assertEqual(r["signoffs"], [])
        p = h.run(["checklist", "show", "--model", self.model], env=env)
        h.assert_ok(self, p)
        self.assertIn("sign-offs: none", p.stdout)

    def test_signoff_errors(self):
        base = ["checklist", "signoff", "--model", self.model]
        h.assert_usage_error(self, h.run(base + ["--item", "nope", "--by", "x"]),
                             "unknown checklist item 'nope'")
        h.assert_usage_error(self, h.run(base + ["--item", "roc_auc", "--by", "x"]),
                             "'roc_auc' is judged by churnops validate")
        h.assert_usage_error(self, h.run(base + ["--item", "stakeholder_approval"]), "--by")
        h.assert_usage_error(self, h.run(["checklist", "frobnicate"]), "frobnicate")
        h.assert_usage_error(self, h.run(["checklist", "show"]), "--model")

    def test_card_from_given_results(self):
        home = h.tempdir("churnops-home-")
        env = {"CHURNOPS_HOME": home}
        p = validate(self.model, self.test, "--json", "--no-record", home=home)
        results = os.path.join(self.dir, "results.json")
        with open(results, "w") as f:
            f.write(p.stdout)
        drift = os.path.join(self.dir, "drift.json")
        q = h.run(["drift", "--reference", self.head, "--current", self.test, "--model",
                   self.model, "--json"])
        h.assert_ok(self, q)
        with open(drift, "w") as f:
            f.write(q.stdout)
        p = h.run(["card", "--model", self.model, "--evaluation-results", results,
                   "--drift", drift, "--output", "-"], env=env)
        h.assert_ok(self, p)
        self.assertIn("max feature PSI", p.stdout)
        self.assertIn("| tenure | numeric |", p.stdout)
        # Without any report the sections say so.
        p = h.run(["card", "--model", self.model, "--output", "-"], env=env)
        h.assert_ok(self, p)
        self.assertIn("No validation report", p.stdout)
        # A report for another artifact is refused.
        other = h.read_json(results)
        other["model"]["sha256"] = "0" * 64
        h.write_json(results, other)
        p = h.run(["card", "--model", self.model, "--evaluation-results", results,
                   "--output", "-"], env=env)
        h.assert_usage_error(self, p, "sha256")


def psi(r, c):
    r = np.maximum(np.asarray(r, dtype=float), EPS)
    c = np.maximum(np.asarray(c, dtype=float), EPS)
    return float(np.sum((c - r) * np.log(c / r)))


def is_number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def python_psi(ref, cur):
    """PSI of one column of strings, as drift.h defines it."""
    miss = lambda v: v in ("", "NA")  # noqa: E731
    rv = [v for v in ref if not miss(v)]
    if rv and all(is_number(v) for v in rv):
        vals = np.array([float(v) for v in rv])
        edges = []
        for q in np.percentile(vals, [10, 20, 30, 40, 50, 60, 70, 80, 90]):
            if not edges or q > edges[-1]:
                edges.append(q)
        edges = np.array(edges)

        def counts(col):
            out = np.zeros(len(edges) + 3)
            for v in col:
                if miss(v):
                    out[-2] += 1
                elif is_number(v):
                    out[np.searchsorted(edges, float(v), side="left")] += 1
                else:
                    out[-1] += 1
            return out
    else:
        levels = sorted(set(rv))
        index = {lv: i for i, lv in enumerate(levels)}

        def counts(col):
            out = np.zeros(len(levels) + 2)
            for v in col:
                if miss(v):
                    out[-1] += 1
                elif v in index:
                    out[index[v]] += 1
                else:
                    out[-2] += 1
            return out
    return psi(counts(ref) / len(ref), counts(cur) / len(cur))


class Drift(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.tempdir()
        cls.head, cls.tail = split_telco(cls.dir)
        header, rows = h.telco()
        cut = int(len(rows) * 0.8)
        cur = [list(r) for r in rows[cut:]]
        c, t = header.index("contract"), header.index("tenure")
        for k, r in enumerate(cur):
            if k % 2:
                r[c] = "Month-to-month"
            if k % 10 == 0:
                r[c] = "Three year"
            r[t] = str(int(r[t]) + 24)
        cls.shifted = os.path.join(cls.dir, "shifted.csv")
        h.write_csv(cls.shifted, header, cur)

    def drift(self, cur, *extra):
        p = h.run(["drift", "--reference", self.head, "--current", cur, "--json"] + list(extra))
        h.assert_ok(self, p)
        self.assertNotIn("nan", p.stdout.lower())
        return json.loads(p.stdout)

    def check_against_python(self, cur):
        r = self.drift(cur)
        ref_h, ref_rows = h.read_csv(self.head)
        cur_h, cur_rows = h.read_csv(cur)
        names = [f["name"] for f in r["features"]]
        self.assertEqual(names, [n for n in ref_h if n != "churn"])
        for f in r["features"]:
            want = python_psi(h.column(ref_h, ref_rows, f["name"]),
                              h.column(cur_h, cur_rows, f["name"]))
            self.assertAlmostEqual(f["psi"], want, delta=TOL, msg=f["name"])
            band = "stable" if want < 0.1 else ("moderate" if want <= 0.25 else "significant")
            self.assertEqual(f["band"], band, f["name"])
        psis = [f["psi"] for f in r["features"]]
        self.assertEqual(r["overall"]["score"], max(psis))
        self.assertEqual(r["overall"]["feature"], names[psis.index(max(psis))])
        self.assertAlmostEqual(r["overall"]["mean_psi"], float(np.mean(psis)), delta=TOL)
        return r

    def test_holdout_is_stable(self):
        r = self.check_against_python(self.tail)
        self.assertEqual(r["overall"]["band"], "stable")

    def test_shift_is_significant(self):
        r = self.check_against_python(self.shifted)
        f = {x["name"]: x for x in r["features"]}
        self.assertEqual(f["contract"]["band"], "significant")
        self.assertEqual(f["tenure"]["band"], "significant")
        self.assertGreater(f["contract"]["unseen"], 0)
        self.assertIn("unseen", [b["label"] for b in f["contract"]["bins"]])
        self.assertGreater(r["overall"]["score"], 0.25)

    def test_score_distribution(self):
        model = h.trained_model()
        same = self.drift(self.tail, "--model", model)
        shifted = self.drift(self.shifted, "--model", model)
        self.assertLess(same["score"]["psi"], 0.1)
        self.assertGreater(shifted["score"]["psi"], same["score"]["psi"])
        # Recomputed from xgboost's own predictions.
        schema = h.model_schema(model)
        bst = oracle.booster(os.path.join(model, "model.json"))
        ref = oracle.predict(bst, oracle.read_frame(self.head), schema).astype(float)
        cur = oracle.predict(bst, oracle.read_frame(self.shifted), schema).astype(float)
        want = python_psi([repr(v) for v in ref], [repr(v) for v in cur])
        self.assertAlmostEqual(shifted["score"]["psi"], want, delta=1e-3)

    def test_text_and_fail_above(self):
        p = h.run(["drift", "--reference", self.head, "--current", self.shifted])
        h.assert_ok(self, p)
        self.assertIn("overall drift score", p.stdout)
        self.assertIn("significant", p.stdout)
        p = h.run(["drift", "--reference", self.head, "--current", self.shifted,
                   "--fail-above", "0.2"])
        h.assert_exit(self, p, 1)
        p = h.run(["drift", "--reference", self.head, "--current", "/no/such.csv"])
        h.assert_usage_error(self, p, "/no/such.csv")


if __name__ == "__main__":
    unittest.main()
