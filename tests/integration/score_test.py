#!/usr/bin/python3
"""churnops score: output shape, ids, explanations, stdin/stdout, risk levels,
threads, unseen levels, and a large file."""

import math
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402


def setUpModule():
    h.require_binary()


def risk(p, low, high):
    return "low" if p < low else ("medium" if p < high else "high")


class Basics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()
        p = h.score(cls.model, h.TELCO)
        if p.returncode != 0:
            raise RuntimeError(h.describe(p))
        cls.out = p.stdout

    def test_header_and_rows(self):
        header, rows = h.parse_csv(self.out)
        self.assertEqual(header, ["churn_probability", "risk_level"])
        self.assertEqual(len(rows), h.TELCO_ROWS)
        for r in rows:
            self.assertEqual(len(r), 2)
            self.assertRegex(r[0], r"^[01]\.\d{6}$")
            self.assertIn(r[1], ("low", "medium", "high"))
        self.assertTrue(self.out.endswith("\n"))
        self.assertNotIn("\r", self.out)

    def test_default_risk_cuts(self):
        header, rows = h.parse_csv(self.out)
        levels = set()
        for r in rows:
            p = float(r[0])
            levels.add(r[1])
            if min(abs(p - 0.3), abs(p - 0.6)) > 1e-6:
                self.assertEqual(r[1], risk(p, 0.3, 0.6), r)
        self.assertEqual(levels, {"low", "medium", "high"})

    def test_summary_on_stderr(self):
        p = h.run(["score", "--model", self.model, "--data", h.TELCO])
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)
        self.assertRegex(p.stderr, r"scored 7043 rows in \d+\.\d\d s \(\d+(\.\d+)? rows/s\)")
        q = h.score(self.model, h.TELCO)
        self.assertEqual(q.stderr, "")

    def test_out_file(self):
        d = h.tempdir()
        path = os.path.join(d, "scores.csv")
        p = h.score(self.model, h.TELCO, "--out", path)
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, "")
        with open(path, newline="") as f:
            self.assertEqual(f.read(), self.out)
        self.assertEqual(os.listdir(d), ["scores.csv"])
        # Overwrites an existing file.
        p = h.score(self.model, h.TELCO, "--out", path, "--cut-low", "0.1")
        h.assert_ok(self, p)
        with open(path, newline="") as f:
            self.assertNotEqual(f.read(), self.out)

    def test_out_dash_is_stdout(self):
        p = h.score(self.model, h.TELCO, "--out", "-")
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)

    def test_stdin(self):
        with open(h.TELCO, "rb") as f:
            data = f.read()
        p = h.score(self.model, "-", input=data)
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)

    def test_threads(self):
        one = h.score(self.model, h.TELCO, "--threads", "1")
        two = h.score(self.model, h.TELCO, "--threads", "2")
        default = h.score(self.model, h.TELCO, "--threads", "0")
        for p in (one, two, default):
            h.assert_ok(self, p)
        self.assertEqual(one.stdout, self.out)
        self.assertEqual(two.stdout, self.out)
        self.assertEqual(default.stdout, self.out)

    def test_cut_points(self):
        p = h.score(self.model, h.TELCO, "--cut-low", "0.15", "--cut-high", "0.45")
        h.assert_ok(self, p)
        header, rows = h.parse_csv(p.stdout)
        _, default_rows = h.parse_csv(self.out)
        changed = 0
        for r, d in zip(rows, default_rows):
            self.assertEqual(r[0], d[0])
            prob = float(r[0])
            if min(abs(prob - 0.15), abs(prob - 0.45)) > 1e-6:
                self.assertEqual(r[1], risk(prob, 0.15, 0.45), r)
            changed += r[1] != d[1]
        self.assertGreater(changed, 100)

    def test_cut_points_everything_high_or_low(self):
        p = h.score(self.model, h.TELCO, "--cut-low", "0", "--cut-high", "0")
        h.assert_ok(self, p)
        self.assertEqual({r[1] for r in h.parse_csv(p.stdout)[1]}, {"high"})
        p = h.score(self.model, h.TELCO, "--cut-low", "1", "--cut-high", "1")
        h.assert_ok(self, p)
        self.assertEqual({r[1] for r in h.parse_csv(p.stdout)[1]}, {"low"})

    def test_inverted_cut_points_refused(self):
        p = h.score(self.model, h.TELCO, "--cut-low", "0.7", "--cut-high", "0.4")
        h.assert_usage_error(self, p, "cut")
        self.assertEqual(p.stdout, "")

    def test_column_order_and_extra_columns(self):
        header, rows = h.telco()
        order = list(reversed(range(len(header))))
        path = os.path.join(h.tempdir(), "reordered.csv")
        h.write_csv(path, ["note"] + [header[i] for i in order],
                    [["x, \"quoted\""] + [r[i] for i in order] for r in rows])
        p = h.score(self.model, path)
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)

    def test_crlf_bom_and_quoting(self):
        header, rows = h.telco()
        path = os.path.join(h.tempdir(), "crlf.csv")
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            import csv
            w = csv.writer(f, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
            w.writerow(header)
            w.writerows(rows)
        p = h.score(self.model, path)
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)

    def test_na_is_missing(self):
        header, rows = h.telco()
        i = header.index("total_charges")
        empty = [r for r in rows if r[i] == ""]
        self.assertEqual(len(empty), 11)
        for r in rows:
            if r[i] == "":
                r[i] = "NA"
        path = os.path.join(h.tempdir(), "na.csv")
        h.write_csv(path, header, rows)
        p = h.score(self.model, path)
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)
        self.assertEqual(p.stderr, "")

    def test_schema_override(self):
        # --schema wins over DIR/schema.json.
        import shutil
        d = os.path.join(h.tempdir(), "m")
        shutil.copytree(self.model, d)
        with open(os.path.join(d, "schema.json"), "w") as f:
            f.write("{ this is not json")
        p = h.score(d, h.TELCO, "--schema", os.path.join(self.model, "schema.json"))
        h.assert_ok(self, p)
        self.assertEqual(p.stdout, self.out)


class Ids(unittest.TestCase):
    def test_id_carried_through(self):
        model = h.trained_model()
        header, rows = h.telco()
        ids = ["C%05d" % i for i in range(len(rows))]
        # Awkward ids must survive CSV quoting.
        ids[0], ids[1], ids[2], ids[3] = "A,1", 'say "hi"', "two\nlines", " padded "
        mid = len(header) // 2
        path = os.path.join(h.tempdir(), "ids.csv")
        h.write_csv(path, header[:mid] + ["customer_id"] + header[mid:],
                    [r[:mid] + [ids[k]] + r[mid:] for k, r in enumerate(rows)])
        p = h.score(model, path, "--id", "customer_id")
        h.assert_ok(self, p)
        out_header, out_rows = h.parse_csv(p.stdout)
        self.assertEqual(out_header, ["customer_id", "churn_probability", "risk_level"])
        self.assertEqual([r[0] for r in out_rows], ids)
        plain = h.score(model, h.TELCO)
        self.assertEqual([r[1:] for r in out_rows], h.parse_csv(plain.stdout)[1])

    def test_id_can_be_a_feature(self):
        model = h.trained_model()
        p = h.score(model, h.TELCO, "--id", "contract")
        h.assert_ok(self, p)
        header, rows = h.parse_csv(p.stdout)
        self.assertEqual(header[0], "contract")
        self.assertEqual([r[0] for r in rows], h.column(*h.telco(), "contract"))

    def test_missing_id_column(self):
        d = h.tempdir()
        out = os.path.join(d, "o.csv")
        p = h.score(h.trained_model(), h.TELCO, "--id", "customer_id", "--out", out)
        h.assert_usage_error(self, p, "customer_id")
        self.assertFalse(os.path.exists(out))


class Explain(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = h.trained_model()
        cls.features = [f["name"] for f in h.model_schema(cls.model)["features"]]

    def test_header(self):
        for k in (1, 3, 5):
            with self.subTest(top=k):
                args = ["--explain"] + ([] if k == 3 else ["--top", str(k)])
                p = h.score(self.model, h.TELCO, *args)
                h.assert_ok(self, p)
                header, rows = h.parse_csv(p.stdout)
                expected = ["churn_probability", "risk_level"]
                for i in range(1, k + 1):
                    expected += ["top%d_feature" % i, "top%d_contribution" % i]
                self.assertEqual(header, expected)
                self.assertEqual(len(rows), h.TELCO_ROWS)
                for r in rows:
                    self.assertEqual(len(r), len(expected))
                    vals = [float(r[3 + 2 * i]) for i in range(k)]
                    for i in range(k):
                        self.assertIn(r[2 + 2 * i], self.features)
                        self.assertRegex(r[3 + 2 * i], r"^-?\d+\.\d{6}$")
                    self.assertEqual(len(set(r[2::2])), k, "a feature repeated: %r" % r)
                    mags = [abs(v) for v in vals]
                    for a, b in zip(mags, mags[1:]):
                        self.assertGreaterEqual(a + 1e-6, b, "not sorted by |value|: %r" % r)

    def test_probabilities_unchanged_by_explain(self):
        a = h.score(self.model, h.TELCO)
        b = h.score(self.model, h.TELCO, "--explain")
        self.assertEqual([r[:2] for r in h.parse_csv(b.stdout)[1]], h.parse_csv(a.stdout)[1])

    def test_matches_whatif(self):
        p = h.score(self.model, h.TELCO, "--explain", "--top", "4")
        h.assert_ok(self, p)
        _, rows = h.parse_csv(p.stdout)
        for n in (1, 2, 3, 100, 2500, 7043):
            with self.subTest(row=n):
                q, obj = h.whatif_json(self.model, "--data", h.TELCO, "--row", n)
                h.assert_ok(self, q)
                r = rows[n - 1]
                self.assertAlmostEqual(float(r[0]), obj["probability"], delta=h.PROB_TOL)
                total = obj["base_value"] + sum(c["contribution"] for c in obj["contributions"])
                self.assertAlmostEqual(total, obj["margin"], delta=1e-4)
                self.assertAlmostEqual(1 / (1 + math.exp(-total)), float(r[0]), delta=1e-5)
                contrib = {c["feature"]: c["contribution"] for c in obj["contributions"]}
                ranked = sorted(contrib.values(), key=abs, reverse=True)
                for i in range(4):
                    name, val = r[2 + 2 * i], float(r[3 + 2 * i])
                    self.assertAlmostEqual(val, contrib[name], delta=2e-6)
                    self.assertAlmostEqual(abs(val), abs(ranked[i]), delta=2e-6,
                                           msg="position %d is not the %d-th largest" % (i, i))


class UnseenLevels(unittest.TestCase):
    def test_unseen_level_scored_as_missing(self):
        model = h.trained_model()
        header, rows = h.telco()
        ci, pi = header.index("contract"), header.index("payment_method")
        changed = [4, 17, 300]
        unseen = [list(r) for r in rows]
        blank = [list(r) for r in rows]
        for k in changed:
            unseen[k][ci] = "Three year"
            blank[k][ci] = ""
        unseen[9][pi] = "Bitcoin"
        blank[9][pi] = ""
        d = h.tempdir()
        pu, pb = os.path.join(d, "unseen.csv"), os.path.join(d, "blank.csv")
        h.write_csv(pu, header, unseen)
        h.write_csv(pb, header, blank)
        a = h.run(["score", "--model", model, "--data", pu])
        b = h.score(model, pb)
        h.assert_ok(self, a)
        h.assert_ok(self, b)
        self.assertEqual(a.stdout, b.stdout)
        plain = h.score(model, h.TELCO)
        self.assertNotEqual(h.parse_csv(a.stdout)[1][4], h.parse_csv(plain.stdout)[1][4])
        warnings = [l for l in a.stderr.splitlines() if not re.search(r"scored \d+ rows in", l)]
        self.assertEqual(len(warnings), 2, "one warning line per column:\n" + a.stderr)
        contract = [l for l in warnings if "contract" in l]
        payment = [l for l in warnings if "payment_method" in l]
        self.assertEqual(len(contract), 1, a.stderr)
        self.assertEqual(len(payment), 1, a.stderr)
        self.assertRegex(contract[0], r"\b3\b")
        self.assertIn("Three year", contract[0])
        self.assertRegex(payment[0], r"\b1\b")
        self.assertIn("unseen.csv", contract[0])
        # --quiet drops the summary, not the warnings.
        q = h.score(model, pu)
        self.assertEqual(sorted(q.stderr.splitlines()), sorted(warnings))


class LargeFile(unittest.TestCase):
    def test_100k_rows(self):
        model = h.trained_model()
        n = 100_000
        d = h.tempdir()
        big = h.grow_telco(os.path.join(d, "big.csv"), n)
        out = os.path.join(d, "big-scores.csv")
        p = h.run(["score", "--model", model, "--data", big, "--out", out])
        h.assert_ok(self, p)
        self.assertRegex(p.stderr, r"scored %d rows in " % n)
        small = h.parse_csv(h.score(model, h.TELCO).stdout)[1]
        header, rows = h.read_csv(out)
        self.assertEqual(header, ["churn_probability", "risk_level"])
        self.assertEqual(len(rows), n)
        for i in range(0, n, 997):
            self.assertEqual(rows[i], small[i % h.TELCO_ROWS], "row %d" % (i + 1))
        self.assertEqual(rows[-1], small[(n - 1) % h.TELCO_ROWS])


if __name__ == "__main__":
    unittest.main(verbosity=2)
