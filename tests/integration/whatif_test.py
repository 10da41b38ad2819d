#!/usr/bin/python3
"""churnops whatif: JSON shape, additivity of contributions, agreement with
score and with XGBoost's own SHAP values, --set, --compare, and errors."""

import hashlib
import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

import oracle  # noqa: E402

KEYS = {"model_version", "model", "sha256", "probability", "margin", "base_value",
        "contributions", "risk_level"}


def setUpModule():
    h.require_binary()


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def by_feature(obj):
    return {c["feature"]: c for c in obj["contributions"]}


class Shape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()
        cls.schema = h.model_schema(cls.model)
        cls.names = [f["name"] for f in cls.schema["features"]]

    def check_object(self, obj, model_dir):
        self.assertEqual(set(obj), KEYS)
        self.assertEqual(obj["model_version"], os.path.basename(model_dir))
        with open(os.path.join(model_dir, "model.json"), "rb") as f:
            self.assertEqual(obj["sha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertIsInstance(obj["model"], str)
        self.assertTrue(obj["model"])
        self.assertEqual(sorted(c["feature"] for c in obj["contributions"]), sorted(self.names))
        for c in obj["contributions"]:
            self.assertEqual(set(c), {"feature", "value", "contribution"})
            self.assertIsInstance(c["contribution"], (int, float))
        mags = [abs(c["contribution"]) for c in obj["contributions"]]
        self.assertEqual(mags, sorted(mags, reverse=True))
        total = obj["base_value"] + sum(c["contribution"] for c in obj["contributions"])
        self.assertAlmostEqual(total, obj["margin"], delta=1e-4)
        self.assertAlmostEqual(obj["probability"], sigmoid(obj["margin"]), delta=1e-6)
        p = obj["probability"]
        self.assertEqual(obj["risk_level"], "low" if p < 0.3 else "medium" if p < 0.6 else "high")

    def test_typical_customer(self):
        p, obj = h.whatif_json(self.model)
        h.assert_ok(self, p)
        self.check_object(obj, self.model)
        values = {c["feature"]: c["value"] for c in obj["contributions"]}
        for f in self.schema["features"]:
            if f["type"] == "categorical":
                self.assertEqual(values[f["name"]], f["typical"])
            else:
                self.assertAlmostEqual(values[f["name"]], f["typical"], places=5)
        bst = oracle.booster(os.path.join(self.model, "model.json"))
        expected = oracle.predict(bst, oracle.typical_frame(self.schema), self.schema)[0]
        self.assertAlmostEqual(obj["probability"], float(expected), delta=1e-6)

    def test_rows_match_score_and_data(self):
        scores = h.parse_csv(h.score(self.model, h.TELCO).stdout)[1]
        header, rows = h.telco()
        ti = header.index("total_charges")
        missing_row = 1 + next(k for k, r in enumerate(rows) if r[ti] == "")
        for n in (1, 2, 1000, missing_row, 7043):
            with self.subTest(row=n):
                p, obj = h.whatif_json(self.model, "--data", h.TELCO, "--row", n)
                h.assert_ok(self, p)
                self.check_object(obj, self.model)
                self.assertAlmostEqual(obj["probability"], float(scores[n - 1][0]),
                                       delta=h.PROB_TOL)
                self.assertEqual(obj["risk_level"], scores[n - 1][1])
                values = {c["feature"]: c["value"] for c in obj["contributions"]}
                for f in self.schema["features"]:
                    cell = rows[n - 1][header.index(f["name"])]
                    if cell in ("", "NA"):
                        self.assertIsNone(values[f["name"]], f["name"])
                    elif f["type"] == "categorical":
                        self.assertEqual(values[f["name"]], cell)
                    else:
                        self.assertAlmostEqual(values[f["name"]], float(cell), places=4)

    def test_python_shap_oracle(self):
        bst = oracle.booster(os.path.join(self.model, "model.json"))
        df = oracle.read_frame(h.TELCO)
        for n in (1, 5, 77, 4000, 7043):
            with self.subTest(row=n):
                p, obj = h.whatif_json(self.model, "--data", h.TELCO, "--row", n)
                h.assert_ok(self, p)
                frame = df.iloc[[n - 1]]
                contrib = oracle.contributions(bst, frame, self.schema)[0]
                margin = float(oracle.margin(bst, frame, self.schema)[0])
                got = by_feature(obj)
                for j, name in enumerate(self.names):
                    self.assertAlmostEqual(got[name]["contribution"], float(contrib[j]),
                                           delta=1e-4, msg=name)
                self.assertAlmostEqual(obj["base_value"], float(contrib[-1]), delta=1e-4)
                self.assertAlmostEqual(obj["margin"], margin, delta=1e-4)

    def test_set_changes_value(self):
        base_p, base = h.whatif_json(self.model, "--data", h.TELCO, "--row", "1")
        h.assert_ok(self, base_p)
        self.assertEqual(by_feature(base)["contract"]["value"], "Month-to-month")
        p, obj = h.whatif_json(self.model, "--data", h.TELCO, "--row", "1",
                               "--set", "contract=Two year", "--set", "tenure=60",
                               "--set", "total_charges=")
        h.assert_ok(self, p)
        self.check_object(obj, self.model)
        got = by_feature(obj)
        self.assertEqual(got["contract"]["value"], "Two year")
        self.assertEqual(got["tenure"]["value"], 60)
        self.assertIsNone(got["total_charges"]["value"])
        # Unchanged features keep the row's values.
        self.assertEqual(got["internet_service"]["value"], by_feature(base)["internet_service"]["value"])
        # A two-year contract with 5 years' tenure lowers churn risk.
        self.assertLess(obj["probability"], base["probability"])
        # And the result is what Python says for the edited row.
        bst = oracle.booster(os.path.join(self.model, "model.json"))
        frame = oracle.read_frame(h.TELCO).iloc[[0]].copy()
        frame["contract"] = "Two year"
        frame["tenure"] = "60"
        frame["total_charges"] = float("nan")
        expected = float(oracle.predict(bst, frame, self.schema)[0])
        self.assertAlmostEqual(obj["probability"], expected, delta=1e-6)

    def test_set_na_is_missing(self):
        a_p, a = h.whatif_json(self.model, "--set", "contract=NA")
        b_p, b = h.whatif_json(self.model, "--set", "contract=")
        h.assert_ok(self, a_p)
        h.assert_ok(self, b_p)
        self.assertIsNone(by_feature(a)["contract"]["value"])
        self.assertEqual(a["probability"], b["probability"])

    def test_later_set_wins(self):
        a_p, a = h.whatif_json(self.model, "--set", "tenure=5", "--set", "tenure=50")
        b_p, b = h.whatif_json(self.model, "--set", "tenure=50")
        h.assert_ok(self, a_p)
        h.assert_ok(self, b_p)
        self.assertEqual(a["probability"], b["probability"])

    def test_text_output(self):
        p = h.run(["whatif", "--model", self.model, "--data", h.TELCO, "--row", "1"])
        h.assert_ok(self, p)
        _, obj = h.whatif_json(self.model, "--data", h.TELCO, "--row", "1")
        for name in self.names:
            self.assertIn(name, p.stdout)
        top = obj["contributions"][0]["feature"]
        q = h.run(["whatif", "--model", self.model, "--data", h.TELCO, "--row", "1",
                   "--top", "3"])
        h.assert_ok(self, q)
        self.assertIn(top, q.stdout)
        self.assertLess(len(q.stdout.splitlines()), len(p.stdout.splitlines()))


class Compare(unittest.TestCase):
    def test_compare_two_models(self):
        a = h.trained_model()
        b = os.path.join(h.tempdir(), "challenger")
        h.assert_ok(self, h.train(b, "--rounds", "30", "--folds", "0", "--seed", "9",
                                  "--max-depth", "3"))
        p, arr = h.whatif_json(a, "--compare", b, "--data", h.TELCO, "--row", "3")
        h.assert_ok(self, p)
        self.assertIsInstance(arr, list)
        self.assertEqual(len(arr), 2)
        self.assertEqual(arr[0]["model_version"], "telco-model")
        self.assertEqual(arr[1]["model_version"], "challenger")
        _, single_a = h.whatif_json(a, "--data", h.TELCO, "--row", "3")
        _, single_b = h.whatif_json(b, "--data", h.TELCO, "--row", "3")
        self.assertEqual(arr[0], single_a)
        self.assertEqual(arr[1], single_b)
        self.assertNotEqual(arr[0]["sha256"], arr[1]["sha256"])
        self.assertNotEqual(arr[0]["probability"], arr[1]["probability"])

    def test_compare_text(self):
        a = h.trained_model()
        p = h.run(["whatif", "--model", a, "--compare", a])
        h.assert_ok(self, p)
        self.assertTrue(p.stdout.strip())

    def test_version_from_eval(self):
        import shutil
        d = os.path.join(h.tempdir(), "dirname")
        shutil.copytree(h.trained_model(), d)
        ev = h.read_json(os.path.join(d, "eval.json"))
        ev["version"] = "1.2.0"
        h.write_json(os.path.join(d, "eval.json"), ev)
        p, obj = h.whatif_json(d)
        h.assert_ok(self, p)
        self.assertEqual(obj["model_version"], "1.2.0")


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()

    def test_unknown_feature(self):
        p = h.run(["whatif", "--model", self.model, "--set", "shoe_size=42"])
        h.assert_usage_error(self, p, "shoe_size")
        self.assertEqual(p.stdout, "")

    def test_bad_number(self):
        p = h.run(["whatif", "--model", self.model, "--set", "tenure=twelve"])
        h.assert_usage_error(self, p, "tenure", "twelve")
        self.assertEqual(p.stdout, "")

    def test_unknown_level(self):
        p = h.run(["whatif", "--model", self.model, "--set", "contract=Three year"])
        h.assert_usage_error(self, p, "contract", "Three year", "Month-to-month", "One year",
                             "Two year")
        self.assertEqual(p.stdout, "")

    def test_set_without_equals(self):
        h.assert_usage_error(self, h.run(["whatif", "--model", self.model, "--set", "tenure"]),
                             "tenure")

    def test_row_out_of_range(self):
        for n in ("7044", "100000", "0", "-1"):
            with self.subTest(row=n):
                p = h.run(["whatif", "--model", self.model, "--data", h.TELCO, "--row", n])
                h.assert_usage_error(self, p)
                self.assertEqual(p.stdout, "")
        p = h.run(["whatif", "--model", self.model, "--data", h.TELCO, "--row", "7044"])
        self.assertIn("telco_churn.csv", p.stderr)

    def test_row_without_data(self):
        h.assert_usage_error(self, h.run(["whatif", "--model", self.model, "--row", "3"]))

    def test_bad_cell_in_row(self):
        header, rows = h.telco()
        rows[4][header.index("tenure")] = "abc"
        path = os.path.join(h.tempdir(), "bad.csv")
        h.write_csv(path, header, rows)
        h.assert_usage_error(self, h.run(["whatif", "--model", self.model, "--data", path,
                                          "--row", "5"]), "bad.csv", "tenure", "abc")

    def test_missing_compare_model(self):
        p = h.run(["whatif", "--model", self.model, "--compare", "/nonexistent/model"])
        h.assert_usage_error(self, p, "/nonexistent/model")


if __name__ == "__main__":
    unittest.main(verbosity=2)
