"""Starts and stops sandbox/kubesim.py for tests, and talks to it.

    sim = Kubesim(speed=5)              # plain http, no auth
    sim = Kubesim(tls=(cert, key), token="t", read_only_token="r")
    sim = Kubesim(models=DIR)           # /predict scores DIR/VERSION's model
    sim.url                             # "http://127.0.0.1:PORT"
    sim.kubeconfig(path, ...)           # writes a kubeconfig for it
    sim.inject({"namespace": ..., "never_ready": True})
    sim.stop()

kubesim picks a free port itself (--port 0) and prints "ready URL", so there
is no race between choosing a port and binding it. Standard library only.
"""

import base64
import json
import os
import select
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

SOURCE_ROOT = os.path.abspath(
    os.environ.get("CHURNOPS_SOURCE_ROOT")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KUBESIM = os.path.join(SOURCE_ROOT, "sandbox", "kubesim.py")


class Kubesim:
    def __init__(self, speed=1.0, tls=None, token=None, read_only_token=None,
                 client_ca=None, python=None, startup_timeout=30, models=None):
        args = [python or sys.executable, KUBESIM, "--port", "0", "--speed", str(speed)]
        if tls:
            args += ["--tls", tls[0], tls[1]]
        if token:
            args += ["--token", token]
        if read_only_token:
            args += ["--read-only-token", read_only_token]
        if client_ca:
            args += ["--client-ca", client_ca]
        if models:
            args += ["--models", models]
        self.tls = tls
        self.token = token
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + startup_timeout
        line = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        text = line.decode(errors="replace").strip()
        if not text.startswith("ready "):
            if self.proc.poll() is None:
                self.proc.kill()
            err = self.proc.stderr.read()
            self.proc.stdout.close()
            self.proc.stderr.close()
            raise RuntimeError("kubesim did not start: %r %s" % (text, err.decode(errors="replace")))
        self.url = text.split(" ", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- talking to it ---

    def _context(self):
        if not self.tls:
            return None
        ctx = ssl.create_default_context(cafile=self.tls[0])
        return ctx

    def request(self, method, path, body=None, headers=None, token=None):
        """(status, parsed JSON or text) for METHOD PATH."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        tok = token or self.token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self._context()) as resp:
                status, raw = resp.status, resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as ex:
            status, raw = ex.code, ex.read()
            ctype = ex.headers.get("Content-Type", "")
        text = raw.decode(errors="replace")
        return status, (json.loads(text) if "json" in ctype and text else text)

    def inject(self, faults):
        return self.request("POST", "/sandbox/inject", faults)

    def reset(self):
        return self.request("POST", "/sandbox/reset", {})

    def break_watches(self):
        return self.request("POST", "/sandbox/break-watches", {})

    def conflict(self, count):
        return self.request("POST", "/sandbox/conflict", {"count": count})

    def compact(self):
        return self.request("POST", "/sandbox/compact", {})

    def kubeconfig(self, path, namespace="mlops-staging", token=None, ca_data=None,
                   ca_file=None, exec_=None, context="sandbox", insecure=False,
                   client_cert=None, client_key=None, client_data=False):
        """Writes a kubeconfig for this sandbox; returns PATH. kubeconfig is
        YAML, and JSON is YAML, so it is written as JSON."""
        cluster = {"server": self.url}
        if ca_data:
            cluster["certificate-authority-data"] = base64.b64encode(ca_data).decode()
        if ca_file:
            cluster["certificate-authority"] = ca_file
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        user = {}
        if token:
            user["token"] = token
        if exec_:
            user["exec"] = exec_
        for kind, pem in (("certificate", client_cert), ("key", client_key)):
            if not pem:
                continue
            if client_data:
                with open(pem, "rb") as f:
                    user["client-%s-data" % kind] = base64.b64encode(f.read()).decode()
            else:
                user["client-%s" % kind] = pem
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "sandbox", "cluster": cluster}],
            "users": [{"name": "sandbox-user", "user": user}],
            "contexts": [{"name": context, "context": {
                "cluster": "sandbox", "user": "sandbox-user", "namespace": namespace}}],
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
        return path


def client_certificate(directory, cn):
    """A client CA and a certificate for CN signed by it; returns
    (ca, cert, key) paths."""
    ca, ca_key = os.path.join(directory, "client-ca.crt"), os.path.join(directory, "client-ca.key")
    if not os.path.exists(ca):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=client-ca"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cert, key = (os.path.join(directory, cn + ".crt"), os.path.join(directory, cn + ".key"))
    csr = os.path.join(directory, cn + ".csr")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", csr, "-subj", "/CN=" + cn],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-out", cert, "-days", "2"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ca, cert, key


def self_signed(directory):
    """A self-signed certificate for 127.0.0.1 made with openssl; returns
    (cert, key) paths."""
    cert = os.path.join(directory, "server.crt")
    key = os.path.join(directory, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=kubesim",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key
