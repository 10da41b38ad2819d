"""churnops status: the registry half and the cluster half side by side, the
cluster read as kubectl reads it; an unreachable cluster is reported and
fails the command with exit 3."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402
from kubesim_launcher import Kubesim  # noqa: E402


class Status(unittest.TestCase):
    def setUp(self):
        self.dir = harness.tempdir()
        self.env = dict(os.environ, CHURNOPS_HOME=os.path.join(self.dir, "home"))
        self.env.pop("KUBECONFIG", None)
        self.sim = Kubesim(speed=10)
        self.addCleanup(self.sim.stop)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.sim.kubeconfig(self.kubeconfig)

    def status(self, *args):
        return harness.run(["status", "--kubeconfig", self.kubeconfig] + list(args),
                           env=self.env)

    def test_cluster_half_matches_kubectl(self):
        p = self.status("--json")
        harness.assert_ok(self, p)
        cluster = json.loads(p.stdout)["cluster"]
        for env, ns in (("staging", "mlops-staging"), ("production", "mlops-production")):
            self.assertTrue(cluster[env]["configured"])
            self.assertEqual(cluster[env]["namespace"], ns)
            self.assertEqual(cluster[env]["rollout"], "complete")
            if shutil.which("kubectl"):
                image = subprocess.run(
                    ["kubectl", "--kubeconfig", self.kubeconfig, "-n", ns, "get",
                     "deployment", "churn-prediction", "-o",
                     "jsonpath={.spec.template.spec.containers[0].image}"],
                    capture_output=True, text=True, check=True).stdout
                self.assertEqual(cluster[env]["image"], image)
            self.assertEqual("customer-churn-mlops:v" + cluster[env]["version"],
                             cluster[env]["image"])

    def test_one_environment_and_text(self):
        p = self.status("--env", "production")
        harness.assert_ok(self, p)
        self.assertIn("mlops-production/churn-prediction", p.stdout)
        self.assertNotIn("mlops-staging", p.stdout)
        self.assertIn("rollout complete", p.stdout)

    def test_unreachable_cluster_fails_with_exit_3(self):
        self.sim.stop()
        p = self.status("--json")
        harness.assert_exit(self, p, 3)
        cluster = json.loads(p.stdout)["cluster"]
        self.assertIn("unreachable", cluster["staging"]["error"])
        self.assertIn("cluster staging", p.stderr)

    def test_no_kubeconfig_is_not_an_error(self):
        env = dict(self.env, HOME=self.dir)
        p = harness.run(["status", "--json"], env=env)
        harness.assert_ok(self, p)
        self.assertFalse(json.loads(p.stdout)["cluster"]["staging"]["configured"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
