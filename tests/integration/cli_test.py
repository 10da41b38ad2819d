#!/usr/bin/python3
"""Command-line surface: version, help, usage errors, option syntax (notes/cli.md)."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness as h  # noqa: E402

FLAGS = {
    "train": ["--data", "--target", "--positive", "--out", "--rounds", "--max-depth", "--eta",
              "--subsample", "--colsample", "--min-child-weight", "--scale-pos-weight", "--seed",
              "--early-stopping", "--folds", "--test-size", "--threshold", "--threads", "--force",
              "--json", "--quiet"],
    "score": ["--model", "--schema", "--data", "--out", "--id", "--explain", "--top", "--threads",
              "--cut-low", "--cut-high", "--quiet"],
    "whatif": ["--model", "--schema", "--compare", "--data", "--row", "--set", "--json", "--top"],
}


def setUpModule():
    h.require_binary()


def project_version():
    with open(os.path.join(h.SOURCE_ROOT, "meson.build"), encoding="utf-8") as f:
        m = re.search(r"version:\s*'([^']+)'", f.read())
    return m.group(1)


class Version(unittest.TestCase):
    def test_version(self):
        p = h.run(["--version"])
        h.assert_ok(self, p)
        m = re.fullmatch(r"churnops (\S+) \(xgboost (\d+\.\d+\.\d+)\)\n", p.stdout)
        self.assertIsNotNone(m, "unexpected --version output: %r" % p.stdout)
        self.assertEqual(m.group(1), project_version())
        import xgboost  # the library the binary links is the one Python uses on Debian
        self.assertEqual(m.group(2), xgboost.__version__)
        self.assertEqual(p.stderr, "")


class Help(unittest.TestCase):
    def test_top_level_help_lists_commands(self):
        for args in (["--help"], ["help"]):
            with self.subTest(args=args):
                p = h.run(args)
                h.assert_ok(self, p)
                for cmd in FLAGS:
                    self.assertRegex(p.stdout, r"\b%s\b" % cmd)
                self.assertEqual(p.stderr, "")

    def test_command_help_documents_every_flag(self):
        for cmd, flags in FLAGS.items():
            for args in (["help", cmd], [cmd, "--help"]):
                with self.subTest(args=args):
                    p = h.run(args)
                    h.assert_ok(self, p)
                    for flag in flags:
                        self.assertRegex(p.stdout, re.escape(flag) + r"(?![\w-])",
                                         "%s missing from `%s`" % (flag, " ".join(args)))

    def test_help_forms_agree(self):
        for cmd in FLAGS:
            with self.subTest(cmd=cmd):
                self.assertEqual(h.run(["help", cmd]).stdout, h.run([cmd, "--help"]).stdout)

    def test_help_for_unknown_command(self):
        h.assert_usage_error(self, h.run(["help", "frobnicate"]), "frobnicate")


class UsageErrors(unittest.TestCase):
    def test_unknown_command(self):
        p = h.run(["frobnicate"])
        h.assert_usage_error(self, p, "frobnicate")
        self.assertTrue(p.stderr.startswith("churnops: "), p.stderr)
        self.assertEqual(p.stdout, "")

    def test_unknown_flag(self):
        for cmd in FLAGS:
            with self.subTest(cmd=cmd):
                p = h.run([cmd, "--frobnicate"])
                h.assert_usage_error(self, p, "--frobnicate")
                self.assertEqual(p.stdout, "")

    def test_unknown_global_flag(self):
        h.assert_usage_error(self, h.run(["--frobnicate"]), "--frobnicate")

    def test_flag_without_value(self):
        model = h.trained_model()
        p = h.run(["score", "--model", model, "--data"])
        h.assert_usage_error(self, p, "--data")

    def test_missing_required(self):
        d = h.tempdir()
        h.assert_usage_error(self, h.run(["train", "--out", os.path.join(d, "m")]), "--data")
        h.assert_usage_error(self, h.run(["train", "--data", h.TELCO]), "--out")
        h.assert_usage_error(self, h.run(["score", "--data", h.TELCO]), "--model")
        h.assert_usage_error(self, h.run(["score", "--model", h.trained_model()]), "--data")
        h.assert_usage_error(self, h.run(["whatif", "--json"]), "--model")
        self.assertFalse(os.path.exists(os.path.join(d, "m")))

    def test_bad_numbers_in_flags(self):
        d = h.tempdir()
        model = h.trained_model()
        cases = [
            ["train", "--data", h.TELCO, "--out", os.path.join(d, "m"), "--rounds", "abc"],
            ["train", "--data", h.TELCO, "--out", os.path.join(d, "m"), "--eta", "0.1x"],
            ["train", "--data", h.TELCO, "--out", os.path.join(d, "m"), "--test-size", "1.5"],
            ["score", "--model", model, "--data", h.TELCO, "--top", "many"],
            ["score", "--model", model, "--data", h.TELCO, "--cut-low", "low"],
            ["whatif", "--model", model, "--data", h.TELCO, "--row", "first"],
        ]
        for args in cases:
            with self.subTest(args=args[-2:]):
                p = h.run(args)
                h.assert_usage_error(self, p, args[-2])
                self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(d, "m")))


class OptionSyntax(unittest.TestCase):
    def test_equals_form_trains_the_same_model(self):
        d = h.tempdir()
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        pa = h.run(["train", "--data", h.TELCO, "--out", a, "--rounds", "10", "--folds", "0",
                    "--seed", "7", "--quiet"])
        pb = h.run(["train", "--data=" + h.TELCO, "--out=" + b, "--rounds=10", "--folds=0",
                    "--seed=7", "--quiet"])
        h.assert_ok(self, pa)
        h.assert_ok(self, pb)
        with open(os.path.join(a, "model.json"), "rb") as fa, \
                open(os.path.join(b, "model.json"), "rb") as fb:
            self.assertEqual(fa.read(), fb.read())

    def test_equals_form_scores_the_same(self):
        model = h.trained_model()
        pa = h.run(["score", "--model", model, "--data", h.TELCO, "--cut-low", "0.2", "--quiet"])
        pb = h.run(["score", "--model=" + model, "--data=" + h.TELCO, "--cut-low=0.2", "--quiet"])
        h.assert_ok(self, pa)
        h.assert_ok(self, pb)
        self.assertEqual(pa.stdout, pb.stdout)
        self.assertGreater(len(pa.stdout.splitlines()), h.TELCO_ROWS)

    def test_equals_form_with_empty_value_in_set(self):
        # --set=name= is "name" set to missing, not a syntax error.
        model = h.trained_model()
        p, obj = h.whatif_json(model, "--set=total_charges=")
        h.assert_ok(self, p)
        values = {c["feature"]: c["value"] for c in obj["contributions"]}
        self.assertIsNone(values["total_charges"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
