#!/usr/bin/python3
"""The configuration file as the console sees it, in tmux.

A CONFIG_DIR/config.json that turns TLS verification off for Prometheus
puts a TLS UNVERIFIED badge naming it in the header, next to READ-ONLY
when the file asks for read-only mode; the same from
MLFLOW_TRACKING_INSECURE_TLS and a kubeconfig with
insecure-skip-tls-verify. A file with an unknown key stops the console
before the screen changes, naming the file and the key.

Environment (meson's test() sets both):
    CHURNOPS               the binary
    CHURNOPS_SOURCE_ROOT   the source tree
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import console_test as ct  # noqa: E402  (its Pane: one private tmux server)

HOME = None


def configure(doc):
    os.makedirs(os.path.join(HOME, "config"), exist_ok=True)
    with open(os.path.join(HOME, "config", "config.json"), "w") as f:
        json.dump(doc, f)


def setUpModule():
    global HOME
    harness.require_binary()
    if not ct.TMUX:
        raise RuntimeError("tmux is required for the console tests")
    HOME = harness.tempdir("churnops-config-home-")
    ct.HOME = HOME


class Header(unittest.TestCase):
    def setUp(self):
        self.pane = None

    def open(self, extra_env=None):
        self.pane = ct.Pane(150, 30, extra_env=extra_env)
        return self.pane

    def tearDown(self):
        if not self.pane:
            return
        try:
            reports = self.pane.sanitizer_reports()
        finally:
            self.pane.close()
        self.assertEqual(reports, [], "sanitizer reports:\n" + "\n".join(reports))

    def test_insecure_prometheus_and_read_only_from_the_file(self):
        configure({"read_only": True,
                   "prometheus": {"url": "https://127.0.0.1:9", "insecure": True}})
        pane = self.open({"KUBECONFIG": os.path.join(HOME, "none")})
        pane.run_console("console")
        s = pane.wait_for(r"1 overview")
        self.assertRegex(s, r"TLS UNVERIFIED: prometheus\s+READ-ONLY")
        self.assertNotIn("mlflow", s.splitlines()[0])
        pane.keys("q")
        pane.wait_for(ct.AT_PROMPT, timeout=10)

    def test_insecure_from_the_environment_and_the_kubeconfig(self):
        configure({})
        kc = os.path.join(HOME, "kubeconfig")
        with open(kc, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                    "clusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:9\n"
                    "    insecure-skip-tls-verify: true\n"
                    "users:\n- name: u\n  user:\n    token: abc\n"
                    "contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n")
        pane = self.open({"KUBECONFIG": kc, "MLFLOW_TRACKING_URI": "https://127.0.0.1:9",
                          "MLFLOW_TRACKING_INSECURE_TLS": "true"})
        pane.run_console("console")
        s = pane.wait_for(r"1 overview")
        self.assertIn("TLS UNVERIFIED: mlflow, kubernetes", s.splitlines()[0])
        self.assertNotIn("READ-ONLY", s.splitlines()[0])
        pane.keys("q")
        pane.wait_for(ct.AT_PROMPT, timeout=10)

    def test_a_bad_file_stops_the_console_first(self):
        configure({"prometheus": {"url": "http://127.0.0.1:9", "insecur": True}})
        pane = self.open({"KUBECONFIG": os.path.join(HOME, "none")})
        pane.run_console("console")
        s = pane.wait_for(r"unknown key", timeout=20)
        self.assertIn("config.json", s)
        self.assertIn('"insecur"', s)
        pane.wait_for(ct.AT_PROMPT, timeout=10)


if __name__ == "__main__":
    unittest.main(verbosity=2)
