"""The man page cannot drift from the binary: every command is documented,
the key list is the one the console generates, and groff reads it cleanly."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

MAN = os.path.join(harness.SOURCE_ROOT, "man", "churnops.1")


def section(text, name):
    m = re.search(r'^\.SH "?%s"?\n(.*?)(?=^\.SH )' % re.escape(name), text, re.S | re.M)
    return m.group(1) if m else ""


class ManPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(MAN, encoding="utf-8") as f:
            cls.text = f.read()

    def test_every_command_has_a_section(self):
        out = harness.run(["--help"]).stdout
        commands = re.findall(r"^  (\S+)\s", out.split("commands:", 1)[1], re.M)
        self.assertGreater(len(commands), 5)
        for c in commands:
            with self.subTest(command=c):
                self.assertTrue(re.search(r'\.SS "churnops %s' % re.escape(c), self.text),
                                "man/churnops.1 has no section for churnops %s" % c)

    def test_every_option_is_documented(self):
        out = harness.run(["--help"]).stdout
        commands = re.findall(r"^  (\S+)\s", out.split("commands:", 1)[1], re.M)
        for c in commands:
            usage = harness.run([c, "--help"]).stdout
            for opt in re.findall(r"^  --([a-z0-9-]+)", usage, re.M):
                if opt == "help":
                    continue
                with self.subTest(command=c, option=opt):
                    self.assertTrue("\\-\\-" + opt.replace("-", "\\-") in self.text,
                                    "man/churnops.1 never mentions --%s of churnops %s" % (opt, c))

    def test_console_keys_are_generated(self):
        keys = harness.run(["keys", "--man"]).stdout
        self.assertIn(".TP", keys)
        self.assertIn(keys.strip(), section(self.text, "CONSOLE KEYS"),
                      "man/churnops.1 CONSOLE KEYS differs from 'churnops keys --man'")

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed")
    def test_groff_has_no_warnings(self):
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
