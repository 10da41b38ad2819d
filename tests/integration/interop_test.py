#!/usr/bin/python3
"""A model trained in Python (pandas categoricals, XGBoost 1.7) scores in churnops
exactly as in Python, from JSON and UBJSON, whatever the CSV's column order."""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402

import oracle  # noqa: E402


def setUpModule():
    h.require_binary()


def python_model(d, max_cat_to_onehot=4, rounds=80):
    """Trains the way a data scientist would: astype("category"), hist, native categoricals.
    Returns (booster, schema, X)."""
    df = oracle.read_frame(h.TELCO)
    y = (df["churn"] == "Yes").astype(int)
    X = df.drop(columns=["churn"])
    for col in X.columns:
        as_num = pd.to_numeric(X[col], errors="coerce")
        if as_num.notna().sum() == X[col].notna().sum():
            X[col] = as_num.astype("float64")
        else:
            X[col] = X[col].astype("category")
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 5,
              "eta": 0.1, "subsample": 0.8, "colsample_bytree": 0.8, "seed": 3,
              "max_cat_to_onehot": max_cat_to_onehot}
    bst = xgb.train(params, xgb.DMatrix(X, label=y, enable_categorical=True), rounds)
    features = []
    for col in X.columns:
        if isinstance(X[col].dtype, pd.CategoricalDtype):
            levels = [str(c) for c in X[col].cat.categories]
            features.append({"name": col, "type": "categorical", "levels": levels})
        else:
            features.append({"name": col, "type": "numeric"})
    schema = {"target": "churn", "positive": "Yes", "features": features}
    bst.save_model(os.path.join(d, "model.json"))
    bst.save_model(os.path.join(d, "model.ubj"))
    h.write_json(os.path.join(d, "schema.json"), schema)
    return bst, schema, X


class PythonTrainedModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.tempdir()
        cls.bst, cls.schema, X = python_model(cls.dir)
        cls.expected = cls.bst.predict(xgb.DMatrix(X, enable_categorical=True))
        # Our schema's levels are pandas' category order: they must be sorted.
        for f in cls.schema["features"]:
            if f["type"] == "categorical":
                assert f["levels"] == sorted(f["levels"], key=lambda s: s.encode()), f

    def check(self, p):
        h.assert_ok(self, p)
        header, rows = h.parse_csv(p.stdout)
        self.assertEqual(header, ["churn_probability", "risk_level"])
        got = np.array([float(r[0]) for r in rows])
        self.assertEqual(len(got), len(self.expected))
        diff = np.abs(got - self.expected)
        worst = int(diff.argmax())
        self.assertLess(diff[worst], h.PROB_TOL,
                        "row %d: churnops %.7f, python %.7f (%d rows differ)"
                        % (worst + 1, got[worst], self.expected[worst],
                           int((diff >= h.PROB_TOL).sum())))

    def score(self, model_file, data=h.TELCO, schema=None):
        return h.run(["score", "--model", os.path.join(self.dir, model_file), "--schema",
                      schema or os.path.join(self.dir, "schema.json"), "--data", data,
                      "--quiet"])

    def test_json_model(self):
        self.check(self.score("model.json"))

    def test_ubj_model(self):
        self.check(self.score("model.ubj"))

    def test_model_directory(self):
        # The directory contract: model.json + schema.json side by side.
        self.check(h.score(self.dir, h.TELCO))

    def test_shuffled_columns(self):
        header, rows = h.telco()
        order = list(range(len(header)))
        random.Random(5).shuffle(order)
        self.assertNotEqual(order, sorted(order))
        path = os.path.join(h.tempdir(), "shuffled.csv")
        h.write_csv(path, [header[i] for i in order], [[r[i] for i in order] for r in rows])
        self.check(self.score("model.json", data=path))
        self.check(self.score("model.ubj", data=path))

    def test_reversed_columns_without_target(self):
        header, rows = h.telco()
        keep = [i for i in reversed(range(len(header))) if header[i] != "churn"]
        path = os.path.join(h.tempdir(), "reversed.csv")
        h.write_csv(path, [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
        self.check(self.score("model.json", data=path))

    def test_scoring_only_schema(self):
        # A schema without target/positive is enough to score.
        schema = {"features": self.schema["features"]}
        path = os.path.join(h.tempdir(), "schema.json")
        h.write_json(path, schema)
        self.check(self.score("model.json", schema=path))

    def test_whatif_matches_python(self):
        df = oracle.read_frame(h.TELCO)
        for row in (1, 2, 489, 7043):
            with self.subTest(row=row):
                p, obj = h.whatif_json(os.path.join(self.dir, "model.ubj"), "--schema",
                                       os.path.join(self.dir, "schema.json"),
                                       "--data", h.TELCO, "--row", row)
                h.assert_ok(self, p)
                self.assertAlmostEqual(obj["probability"], float(self.expected[row - 1]),
                                       delta=1e-6)
                contrib = oracle.contributions(self.bst, df.iloc[[row - 1]], self.schema)[0]
                got = {c["feature"]: c["contribution"] for c in obj["contributions"]}
                for j, f in enumerate(self.schema["features"]):
                    self.assertAlmostEqual(got[f["name"]], float(contrib[j]), delta=1e-4,
                                           msg=f["name"])
                self.assertAlmostEqual(obj["base_value"], float(contrib[-1]), delta=1e-4)


class OneHotCategoricals(unittest.TestCase):
    """max_cat_to_onehot large: every categorical split is one-hot style."""

    def test_scores_match(self):
        d = h.tempdir()
        bst, schema, X = python_model(d, max_cat_to_onehot=64, rounds=40)
        expected = bst.predict(xgb.DMatrix(X, enable_categorical=True))
        p = h.score(d, h.TELCO)
        h.assert_ok(self, p)
        got = np.array(h.probabilities(p.stdout))
        self.assertLess(np.abs(got - expected).max(), h.PROB_TOL)


class NumericOnlyModelWithoutNames(unittest.TestCase):
    """A model trained on a bare float matrix (no feature names or types) and a
    schema that names its columns: features are bound by schema order."""

    def test_scores_match(self):
        d = h.tempdir()
        df = oracle.read_frame(h.TELCO)
        cols = ["tenure", "monthly_charges", "total_charges", "senior_citizen"]
        X = df[cols].apply(pd.to_numeric).to_numpy(dtype=np.float32)
        y = (df["churn"] == "Yes").to_numpy(dtype=np.float32)
        bst = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 3},
                        xgb.DMatrix(X, label=y), 30)
        bst.save_model(os.path.join(d, "model.json"))
        h.write_json(os.path.join(d, "schema.json"),
                     {"features": [{"name": c, "type": "numeric"} for c in cols]})
        expected = bst.predict(xgb.DMatrix(X))
        p = h.score(d, h.TELCO)
        h.assert_ok(self, p)
        got = np.array(h.probabilities(p.stdout))
        self.assertLess(np.abs(got - expected).max(), h.PROB_TOL)


if __name__ == "__main__":
    unittest.main(verbosity=2)
