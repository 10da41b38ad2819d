#!/usr/bin/python3
"""Bad input: every case exits 2 with a message naming the file and the line,
column or field; no partial output is left behind; nothing crashes."""

import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

TENURE_COLUMN = 6  # 1-based position of tenure in data/telco_churn.csv


def setUpModule():
    h.require_binary()


def telco_lines():
    with open(h.TELCO, encoding="utf-8", newline="") as f:
        return f.read().splitlines()


def write_lines(path, lines, end="\n"):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(end.join(lines) + end)
    return path


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = h.tempdir()

    def path(self, name):
        return os.path.join(self.dir, name)

    def score_bad(self, data, *needles, model=None, extra=(), input=None):
        """Scores DATA into an --out file that must not exist afterwards."""
        out = self.path("scores.csv")
        p = h.run(["score", "--model", model or h.trained_model(), "--data", data,
                   "--out", out, "--quiet"] + list(extra), input=input)
        h.assert_usage_error(self, p, *needles)
        self.assertFalse(os.path.exists(out), "partial output left behind")
        self.assertEqual(p.stdout, "")
        self.assertNoTempFiles()
        return p

    def train_bad(self, data, *needles, extra=()):
        out = self.path("model")
        p = h.run(["train", "--data", data, "--out", out, "--rounds", "5", "--folds", "0",
                   "--quiet"] + list(extra))
        h.assert_usage_error(self, p, *needles)
        self.assertFalse(os.path.exists(out), "partial model directory left behind")
        self.assertNoTempFiles()
        return p

    def assertNoTempFiles(self):
        left = [n for n in os.listdir(self.dir)
                if n.startswith(".") or n.endswith(".tmp") or "tmp" in n.lower()]
        self.assertEqual(left, [], "temporary files left behind")

    def edited_telco(self, name, line_no, edit):
        """Telco with physical line LINE_NO (1-based, header = 1) replaced by EDIT(line)."""
        lines = telco_lines()
        lines[line_no - 1] = edit(lines[line_no - 1])
        return write_lines(self.path(name), lines)


class MissingAndUnreadable(Base):
    def test_missing_file(self):
        path = self.path("nope.csv")
        self.score_bad(path, path)
        self.train_bad(path, path)

    def test_unreadable_file(self):
        if os.geteuid() == 0:
            # root reads anything: use a directory where a file is expected.
            path = self.path("adir.csv")
            os.mkdir(path)
        else:
            path = self.path("secret.csv")
            shutil.copy(h.TELCO, path)
            os.chmod(path, 0)
        self.score_bad(path, path)
        self.train_bad(path, path)

    def test_empty_file(self):
        path = self.path("empty.csv")
        open(path, "w").close()
        self.score_bad(path, path)
        self.train_bad(path, path)

    def test_header_only(self):
        path = write_lines(self.path("header.csv"), telco_lines()[:1])
        self.score_bad(path, path)
        self.train_bad(path, path)

    def test_blank_lines_only(self):
        path = write_lines(self.path("blank.csv"), ["", "", ""])
        self.score_bad(path, path)
        self.train_bad(path, path)


class CsvSyntax(Base):
    def test_ragged_row_short(self):
        path = self.edited_telco("short.csv", 6, lambda l: l.rsplit(",", 1)[0])
        p = self.score_bad(path, path, "line 6")
        self.assertRegex(p.stderr, r"19\b.*\b20\b|20\b.*\b19\b")
        self.train_bad(path, path, "line 6")

    def test_ragged_row_long(self):
        path = self.edited_telco("long.csv", 9, lambda l: l + ",42")
        self.score_bad(path, path, "line 9")
        self.train_bad(path, path, "line 9")

    def test_unterminated_quote(self):
        # A quote opens in the last field of line 8 and never closes (the lines
        # after it hold no quote character): the message names line 8.
        lines = telco_lines()[:8]
        lines[7] = lines[7].rsplit(",", 1)[0] + ',"1949.4'
        lines += ["1,2,3", "4,5,6"]
        path = write_lines(self.path("quote.csv"), lines)
        self.score_bad(path, path, "line 8")
        self.train_bad(path, path, "line 8")

    def test_text_after_closing_quote(self):
        path = self.edited_telco("after.csv", 5, lambda l: l.replace('"No"', '"No"x', 1))
        self.score_bad(path, path, "line 5")

    def test_nul_byte(self):
        lines = telco_lines()
        lines[10] = lines[10].replace(",", ",\0", 1)
        path = write_lines(self.path("nul.csv"), lines)
        self.score_bad(path, path, "line 11")

    def test_duplicate_header(self):
        lines = telco_lines()
        lines = [lines[0] + ',"tenure"'] + [l + ",1" for l in lines[1:]]
        path = write_lines(self.path("dup.csv"), lines)
        self.score_bad(path, path, "tenure")

    def test_error_from_stdin(self):
        lines = telco_lines()
        lines[3] = lines[3].replace(",", ",x,", 1)
        self.score_bad("-", "standard input", "line 4", input="\n".join(lines) + "\n")


class Values(Base):
    def test_non_number_in_numeric_column(self):
        def edit(line):
            cells = line.split(",")
            cells[TENURE_COLUMN - 1] = "abc"
            return ",".join(cells)
        path = self.edited_telco("nan.csv", 12, edit)
        self.score_bad(path, path, "line 12", "column %d" % TENURE_COLUMN, "tenure", "abc")

    def test_inf_and_hex_are_not_numbers(self):
        for bad in ("inf", "nan", "0x1A", "1e999", "12abc"):
            with self.subTest(value=bad):
                def edit(line, bad=bad):
                    cells = line.split(",")
                    cells[TENURE_COLUMN - 1] = bad
                    return ",".join(cells)
                path = self.edited_telco("num.csv", 3, edit)
                self.score_bad(path, path, "line 3", "tenure")

    def test_missing_feature_column(self):
        header, rows = h.telco()
        i = header.index("tenure")
        path = self.path("notenure.csv")
        h.write_csv(path, header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows])
        self.score_bad(path, path, "tenure")

    def test_target_third_label(self):
        path = self.edited_telco("third.csv", 20, lambda l: '"Maybe"' + l[l.index(","):])
        self.train_bad(path, path, "churn")

    def test_target_missing_value(self):
        path = self.edited_telco("notarget.csv", 20, lambda l: l[l.index(","):])
        self.train_bad(path, path, "churn")

    def test_target_column_absent(self):
        self.train_bad(h.TELCO, "no_such_target", extra=["--target", "no_such_target"])

    def test_positive_label_absent(self):
        self.train_bad(h.TELCO, "Perhaps", extra=["--positive", "Perhaps"])


class Models(Base):
    def model_dir(self, name, model_text=None, schema=None):
        d = self.path(name)
        os.mkdir(d)
        src = h.trained_model()
        if model_text is None:
            shutil.copy(os.path.join(src, "model.json"), d)
        else:
            with open(os.path.join(d, "model.json"), "w") as f:
                f.write(model_text)
        if schema is None:
            shutil.copy(os.path.join(src, "schema.json"), d)
        elif isinstance(schema, str):
            with open(os.path.join(d, "schema.json"), "w") as f:
                f.write(schema)
        else:
            h.write_json(os.path.join(d, "schema.json"), schema)
        return d

    def test_model_that_is_not_a_model(self):
        for name, text in (("text", "hello, I am a CSV file\n1,2,3\n"),
                           ("json", '{"learner": 42}\n'),
                           ("empty", ""),
                           ("array", "[1, 2, 3]")):
            with self.subTest(kind=name):
                d = self.model_dir("m-" + name, model_text=text)
                self.score_bad(h.TELCO, "model.json", model=d)
                p = h.run(["whatif", "--model", d])
                h.assert_usage_error(self, p, "model.json")

    def test_model_directory_without_model(self):
        d = self.path("nomodel")
        os.mkdir(d)
        shutil.copy(os.path.join(h.trained_model(), "schema.json"), d)
        self.score_bad(h.TELCO, d, model=d)

    def test_model_file_without_schema_file(self):
        p = h.run(["score", "--model", os.path.join(h.trained_model(), "model.json"),
                   "--schema", self.path("absent.json"), "--data", h.TELCO])
        h.assert_usage_error(self, p, "absent.json")

    def test_model_file_needs_schema(self):
        model = os.path.join(h.trained_model(), "model.json")
        self.score_bad(h.TELCO, "--schema", model=model)

    def test_feature_count_mismatch(self):
        schema = h.model_schema()
        schema["features"] = [f for f in schema["features"] if f["name"] != "tenure"]
        d = self.model_dir("fewer", schema=schema)
        p = self.score_bad(h.TELCO, "schema.json", model=d)
        self.assertRegex(p.stderr, r"\b19\b")
        self.assertRegex(p.stderr, r"\b18\b")
        p = h.run(["whatif", "--model", d])
        h.assert_usage_error(self, p)
        self.assertRegex(p.stderr, r"\b18\b")

    def test_bad_schema_json_names_line(self):
        text = json.dumps(h.model_schema(), indent=2).splitlines()
        # Break line 5 (a missing comma between two members).
        text[4] = text[4].rstrip(",") + " ]]"
        d = self.model_dir("badjson", schema="\n".join(text) + "\n")
        p = self.score_bad(h.TELCO, "schema.json", "line 5", model=d)
        self.assertNotIn("Traceback", p.stderr)

    def test_schema_semantic_errors(self):
        good = h.model_schema()
        cases = {}
        s = json.loads(json.dumps(good))
        c = next(f for f in s["features"] if f["name"] == "contract")
        c["levels"] = list(reversed(c["levels"]))
        cases["unsorted"] = (s, "levels")
        s = json.loads(json.dumps(good))
        c = next(f for f in s["features"] if f["name"] == "contract")
        c["levels"] = c["levels"] + [c["levels"][-1]]
        cases["duplicate-level"] = (s, "levels")
        s = json.loads(json.dumps(good))
        s["features"][1]["name"] = s["features"][0]["name"]
        cases["duplicate-feature"] = (s, s["features"][0]["name"])
        s = json.loads(json.dumps(good))
        s["features"][0]["type"] = "ordinal"
        cases["unknown-type"] = (s, "ordinal")
        s = json.loads(json.dumps(good))
        c = next(f for f in s["features"] if f["name"] == "contract")
        del c["levels"]
        cases["no-levels"] = (s, "levels")
        s = json.loads(json.dumps(good))
        del s["features"]
        cases["no-features"] = (s, "features")
        for name, (schema, needle) in cases.items():
            with self.subTest(case=name):
                d = self.model_dir("s-" + name, schema=schema)
                self.score_bad(h.TELCO, "schema.json", needle, model=d)


class LargeFile(Base):
    def test_error_in_the_middle(self):
        n = 200_000
        bad_line = 150_001
        big = h.grow_telco(self.path("big.csv"), n)
        with open(big, encoding="utf-8") as f:
            lines = f.read().splitlines()
        cells = lines[bad_line - 1].split(",")
        cells[TENURE_COLUMN - 1] = "oops"
        lines[bad_line - 1] = ",".join(cells)
        write_lines(big, lines)
        del lines
        self.score_bad(big, big, "line %d" % bad_line, "tenure", "oops")

        # An existing output file is left exactly as it was.
        out = self.path("keep.csv")
        with open(out, "w") as f:
            f.write("previous,results\n1,2\n")
        before = os.stat(out)
        p = h.run(["score", "--model", h.trained_model(), "--data", big, "--out", out,
                   "--quiet"])
        h.assert_usage_error(self, p, "line %d" % bad_line)
        with open(out) as f:
            self.assertEqual(f.read(), "previous,results\n1,2\n")
        self.assertEqual(os.stat(out).st_ino, before.st_ino)
        self.assertEqual(sorted(os.listdir(self.dir)), ["big.csv", "keep.csv"])


class UsageOfFiles(Base):
    def test_out_in_missing_directory(self):
        out = os.path.join(self.dir, "no", "such", "dir", "scores.csv")
        p = h.run(["score", "--model", h.trained_model(), "--data", h.TELCO, "--out", out])
        h.assert_no_crash(self, p)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("churnops:", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
