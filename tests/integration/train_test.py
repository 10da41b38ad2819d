#!/usr/bin/python3
"""churnops train: the model directory, its evaluation, determinism, and that
what it writes is a real XGBoost model Python agrees with."""

import json
import os
import re
import statistics
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, average_precision_score  # noqa: E402

import oracle  # noqa: E402

FEATURES = ["female", "senior_citizen", "partner", "dependents", "tenure", "phone_service",
            "multiple_lines", "internet_service", "online_security", "online_backup",
            "device_protection", "tech_support", "streaming_tv", "streaming_movies", "contract",
            "paperless_billing", "payment_method", "monthly_charges", "total_charges"]
CATEGORICAL = {"multiple_lines", "internet_service", "online_security", "online_backup",
               "device_protection", "tech_support", "streaming_tv", "streaming_movies",
               "contract", "payment_method"}


def setUpModule():
    h.require_binary()


def model_bytes(d):
    with open(os.path.join(d, "model.json"), "rb") as f:
        return f.read()


class ModelDirectory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.trained_model()
        cls.eval = h.read_json(os.path.join(cls.dir, "eval.json"))
        cls.schema = h.read_json(os.path.join(cls.dir, "schema.json"))

    def test_files(self):
        for name in ("model.json", "schema.json", "eval.json"):
            path = os.path.join(self.dir, name)
            self.assertTrue(os.path.isfile(path), name)
            self.assertGreater(os.path.getsize(path), 0, name)
        # Written through a temporary sibling renamed into place: nothing left over.
        parent = os.path.dirname(self.dir)
        self.assertEqual(os.listdir(parent), [os.path.basename(self.dir)])

    def test_eval_keys_design(self):
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "threshold", "test_rows"):
            self.assertIn(key, self.eval)
            self.assertIsInstance(self.eval[key], (int, float), key)
        for key in ("folds", "roc_auc_mean", "roc_auc_std"):
            self.assertIn(key, self.eval["cv"])

    def test_eval_keys_api(self):
        for key in ("train_rows", "positive_rate", "confusion", "params", "best_iteration",
                    "xgboost_version", "data", "seed", "created"):
            self.assertIn(key, self.eval)
        for key in ("tp", "fp", "tn", "fn"):
            self.assertIn(key, self.eval["confusion"])
        self.assertIn("roc_auc", self.eval["cv"])
        self.assertRegex(self.eval["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertEqual(self.eval["seed"], 42)
        self.assertEqual(self.eval["data"]["rows"], h.TELCO_ROWS)

    def test_eval_is_consistent(self):
        ev = self.eval
        self.assertEqual(ev["threshold"], 0.5)
        # 80/20 split of 7043 rows.
        self.assertLessEqual(abs(ev["test_rows"] - 0.2 * h.TELCO_ROWS), 2)
        self.assertEqual(ev["test_rows"] + ev["train_rows"], h.TELCO_ROWS)
        c = ev["confusion"]
        self.assertEqual(c["tp"] + c["fp"] + c["tn"] + c["fn"], ev["test_rows"])
        # Stratified: the hold-out keeps the 26.5 % positive rate.
        base = h.TELCO_POSITIVES / h.TELCO_ROWS
        self.assertAlmostEqual((c["tp"] + c["fn"]) / ev["test_rows"], base, delta=0.005)
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        self.assertAlmostEqual(ev["precision"], precision, places=6)
        self.assertAlmostEqual(ev["recall"], recall, places=6)
        self.assertAlmostEqual(ev["f1"], f1, places=6)
        cv = ev["cv"]
        self.assertEqual(cv["folds"], h.CACHED_FOLDS)
        self.assertEqual(len(cv["roc_auc"]), h.CACHED_FOLDS)
        self.assertAlmostEqual(cv["roc_auc_mean"], statistics.fmean(cv["roc_auc"]), places=6)
        self.assertAlmostEqual(cv["roc_auc_std"], statistics.pstdev(cv["roc_auc"]), places=6)
        self.assertEqual(ev["params"]["rounds"], h.CACHED_ROUNDS)
        import xgboost
        self.assertEqual(ev["xgboost_version"], xgboost.__version__)

    def test_metrics_in_expected_range(self):
        self.assertGreaterEqual(self.eval["roc_auc"], 0.80)
        self.assertLessEqual(self.eval["roc_auc"], 0.90)
        self.assertLess(self.eval["cv"]["roc_auc_std"], 0.05)
        self.assertGreater(self.eval["cv"]["roc_auc_mean"], 0.80)
        # PR-AUC must beat the base rate by a wide margin.
        self.assertGreater(self.eval["pr_auc"], 0.5)
        self.assertLess(self.eval["pr_auc"], self.eval["roc_auc"])

    def test_whole_file_scores_agree_with_sklearn(self):
        p = h.score(self.dir, h.TELCO)
        h.assert_ok(self, p)
        prob = np.array(h.probabilities(p.stdout))
        header, rows = h.telco()
        y = np.array([v == "Yes" for v in h.column(header, rows, "churn")], dtype=int)
        self.assertEqual(len(prob), len(y))
        self.assertGreater(roc_auc_score(y, prob), 0.8)
        self.assertGreater(average_precision_score(y, prob), 0.55)

    def test_schema(self):
        s = self.schema
        self.assertEqual(s["target"], "churn")
        self.assertEqual(s["positive"], "Yes")
        self.assertEqual([f["name"] for f in s["features"]], FEATURES)
        header, rows = h.telco()
        for f in s["features"]:
            with self.subTest(feature=f["name"]):
                values = [v for v in h.column(header, rows, f["name"]) if v not in ("", "NA")]
                if f["name"] in CATEGORICAL:
                    self.assertEqual(f["type"], "categorical")
                    levels = sorted(set(values), key=lambda v: v.encode())
                    self.assertEqual(f["levels"], levels)
                    counts = {lv: values.count(lv) for lv in levels}
                    best = max(counts.values())
                    typical = [lv for lv in levels if counts[lv] == best][0]
                    self.assertEqual(f["typical"], typical)
                else:
                    self.assertEqual(f["type"], "numeric")
                    self.assertNotIn("levels", f)
                    self.assertAlmostEqual(f["typical"],
                                           statistics.median(float(v) for v in values),
                                           places=6)

    def test_python_loads_model_and_predicts_identically(self):
        bst = oracle.booster(os.path.join(self.dir, "model.json"))
        self.assertEqual(bst.num_features(), len(FEATURES))
        self.assertEqual(bst.feature_names, FEATURES)
        self.assertEqual([t == "c" for t in bst.feature_types],
                         [f in CATEGORICAL for f in FEATURES])
        self.assertEqual(json.loads(bst.save_config())["learner"]["objective"]["name"],
                         "binary:logistic")
        df = oracle.read_frame(h.TELCO)
        expected = oracle.predict(bst, df, self.schema)
        p = h.score(self.dir, h.TELCO)
        h.assert_ok(self, p)
        got = np.array(h.probabilities(p.stdout))
        self.assertEqual(len(got), len(expected))
        diff = np.abs(got - expected)
        self.assertLess(diff.max(), h.PROB_TOL,
                        "worst row %d: churnops %.7f, python %.7f"
                        % (diff.argmax() + 1, got[diff.argmax()], expected[diff.argmax()]))

    def test_model_ubj_roundtrip_in_python(self):
        # The JSON churnops writes can be re-saved by Python and still scores the same.
        bst = oracle.booster(os.path.join(self.dir, "model.json"))
        d = h.tempdir()
        ubj = os.path.join(d, "model.ubj")
        bst.save_model(ubj)
        a = h.score(self.dir, h.TELCO)
        b = h.run(["score", "--model", ubj, "--schema", os.path.join(self.dir, "schema.json"),
                   "--data", h.TELCO, "--quiet"])
        h.assert_ok(self, a)
        h.assert_ok(self, b)
        self.assertEqual(a.stdout, b.stdout)


class Determinism(unittest.TestCase):
    def train(self, d, *extra):
        p = h.train(d, "--rounds", "25", "--folds", "0", *extra)
        h.assert_ok(self, p)
        return model_bytes(d)

    def test_same_seed_same_bytes(self):
        d = h.tempdir()
        a = self.train(os.path.join(d, "a"), "--seed", "11")
        b = self.train(os.path.join(d, "b"), "--seed", "11")
        self.assertEqual(a, b)
        sa = h.read_json(os.path.join(d, "a", "schema.json"))
        sb = h.read_json(os.path.join(d, "b", "schema.json"))
        self.assertEqual(sa, sb)
        ea = h.read_json(os.path.join(d, "a", "eval.json"))
        eb = h.read_json(os.path.join(d, "b", "eval.json"))
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "confusion"):
            self.assertEqual(ea[key], eb[key], key)

    def test_other_seed_differs(self):
        d = h.tempdir()
        a = self.train(os.path.join(d, "a"), "--seed", "11")
        b = self.train(os.path.join(d, "b"), "--seed", "12")
        self.assertNotEqual(a, b)

    def test_cv_does_not_change_final_model(self):
        # CV runs on the training part only; the final fit must not depend on it.
        d = h.tempdir()
        a = self.train(os.path.join(d, "a"))
        p = h.train(os.path.join(d, "b"), "--rounds", "25", "--folds", "3")
        h.assert_ok(self, p)
        self.assertEqual(a, model_bytes(os.path.join(d, "b")))


class OutputDirectory(unittest.TestCase):
    def test_refuses_non_empty_out(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        os.mkdir(out)
        keep = os.path.join(out, "precious.txt")
        with open(keep, "w") as f:
            f.write("do not delete\n")
        p = h.train(out, "--rounds", "5", "--folds", "0")
        h.assert_usage_error(self, p, out)
        self.assertEqual(os.listdir(out), ["precious.txt"])
        with open(keep) as f:
            self.assertEqual(f.read(), "do not delete\n")
        self.assertEqual(os.listdir(d), ["m"])

    def test_force_replaces(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        h.assert_ok(self, h.train(out, "--rounds", "5", "--folds", "0"))
        first = model_bytes(out)
        h.assert_usage_error(self, h.train(out, "--rounds", "6", "--folds", "0"))
        self.assertEqual(model_bytes(out), first)
        h.assert_ok(self, h.train(out, "--rounds", "6", "--folds", "0", "--force"))
        self.assertNotEqual(model_bytes(out), first)
        self.assertEqual(sorted(os.listdir(out)), ["eval.json", "model.json", "schema.json"])
        self.assertEqual(os.listdir(d), ["m"])

    def test_empty_existing_dir_is_fine(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        os.mkdir(out)
        h.assert_ok(self, h.train(out, "--rounds", "5", "--folds", "0"))
        self.assertTrue(os.path.isfile(os.path.join(out, "model.json")))

    def test_nested_out_is_created(self):
        d = h.tempdir()
        out = os.path.join(d, "a", "b", "m")
        h.assert_ok(self, h.train(out, "--rounds", "5", "--folds", "0"))
        self.assertTrue(os.path.isfile(os.path.join(out, "model.json")))


class Options(unittest.TestCase):
    def test_json_prints_eval(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        p = h.run(["train", "--data", h.TELCO, "--out", out, "--rounds", "10", "--folds", "2",
                   "--json"])
        h.assert_ok(self, p)
        self.assertEqual(json.loads(p.stdout), h.read_json(os.path.join(out, "eval.json")))

    def test_summary_and_quiet(self):
        d = h.tempdir()
        p = h.run(["train", "--data", h.TELCO, "--out", os.path.join(d, "a"), "--rounds", "10",
                   "--folds", "2"])
        h.assert_ok(self, p)
        for word in ("ROC-AUC", "PR-AUC", "recall", "F1"):
            self.assertIn(word.lower(), p.stdout.lower())
        ev = h.read_json(os.path.join(d, "a", "eval.json"))
        m = re.search(r"ROC-AUC\s+(\d\.\d+)", p.stdout)
        self.assertIsNotNone(m, "no ROC-AUC figure in the summary:\n" + p.stdout)
        self.assertAlmostEqual(float(m.group(1)), ev["roc_auc"], delta=0.0051)
        # stderr is not a terminal here: no progress bar escape codes.
        self.assertNotIn("\r", p.stderr)
        self.assertNotIn("\x1b", p.stderr + p.stdout)
        q = h.train(os.path.join(d, "b"), "--rounds", "10", "--folds", "2")
        h.assert_ok(self, q)
        self.assertEqual(q.stdout, "")
        self.assertEqual(q.stderr, "")

    def test_test_size_and_threshold(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        p = h.train(out, "--rounds", "10", "--folds", "0", "--test-size", "0.3",
                    "--threshold", "0.3")
        h.assert_ok(self, p)
        ev = h.read_json(os.path.join(out, "eval.json"))
        self.assertLessEqual(abs(ev["test_rows"] - 0.3 * h.TELCO_ROWS), 2)
        self.assertEqual(ev["threshold"], 0.3)

    def test_params_recorded(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        p = h.train(out, "--rounds", "12", "--max-depth", "3", "--eta", "0.2", "--folds", "0",
                    "--subsample", "0.9", "--colsample", "0.7", "--seed", "5")
        h.assert_ok(self, p)
        ev = h.read_json(os.path.join(out, "eval.json"))
        self.assertEqual(ev["params"]["rounds"], 12)
        self.assertEqual(ev["params"]["max_depth"], 3)
        self.assertAlmostEqual(ev["params"]["eta"], 0.2)
        self.assertEqual(ev["seed"], 5)
        bst = oracle.booster(os.path.join(out, "model.json"))
        self.assertEqual(bst.num_boosted_rounds(), 12)
        for dump in bst.get_dump(dump_format="json"):
            self.assertLessEqual(depth(json.loads(dump)), 3)

    def test_early_stopping(self):
        d = h.tempdir()
        out = os.path.join(d, "m")
        p = h.train(out, "--rounds", "400", "--eta", "0.3", "--folds", "0",
                    "--early-stopping", "10")
        h.assert_ok(self, p)
        ev = h.read_json(os.path.join(out, "eval.json"))
        self.assertIsInstance(ev["best_iteration"], int)
        self.assertGreaterEqual(ev["best_iteration"], 0)
        self.assertLess(ev["best_iteration"], 390, "eta 0.3 should stop well before 400 rounds")
        bst = oracle.booster(os.path.join(out, "model.json"))
        self.assertLess(bst.num_boosted_rounds(), 400)


def depth(node):
    kids = node.get("children")
    if not kids:
        return 0
    return 1 + max(depth(k) for k in kids)


if __name__ == "__main__":
    unittest.main(verbosity=2)
