"""A misbehaving HTTP server on loopback, for testing how clients fail.

    srv = FaultServer("hang")            # starts at once, in daemon threads
    srv.url                              # "http://127.0.0.1:PORT"
    srv.requests                         # [{"method", "path", "headers",
                                         #   "faulted"}] seen
    srv.stop()

or, with `with FaultServer("reset") as srv: ...`. Run as a program
(`faultserver.py MODE [--port N]`) it prints "ready URL" and serves until
killed.

Modes (MODES lists them):

    refused       nothing listens: the port was bound, then closed
    reset         headers and part of the body, then a TCP reset (SO_LINGER 0)
    hang          accepts, reads the request, never answers
    500-html      HTTP 500 with an HTML page
    500-json      HTTP 500 with a JSON error body (ERROR_BODY, or json_body=)
    garbage       HTTP 200, Content-Type JSON, a body that is not JSON
                  (with terminal escape sequences in it)
    truncated     HTTP 200 with a Content-Length larger than the JSON sent,
                  then a clean close
    huge          HTTP 200, Content-Length HUGE_BYTES, streamed as fast as the
                  client reads
    endless       HTTP 200, chunked, chunks for ever
    trickle       the whole answer (status line included) one byte a second
    ok            answers every request with handler(method, path, headers,
                  body) -> (status, content_type, body bytes); the default
                  handler answers {"status": "success"} (a Prometheus shape)

tls=ssl.SSLContext serves HTTPS instead (the handshake happens in the
connection's thread, so a client that refuses the certificate disturbs no
one).

upstream="http://127.0.0.1:PORT" with fault_if(method, path) -> bool makes a
fault in the middle of a flow: requests for which fault_if is false are
passed to the upstream server (byte for byte, streams included, one request
per connection), the others get MODE. Standard library only.
"""

import json
import select
import socket
import ssl
import struct
import sys
import threading
import time

MODES = ("refused", "reset", "hang", "500-html", "500-json", "garbage", "truncated",
         "huge", "endless", "trickle", "ok")

# The server's own words in a JSON error body, in the shapes the backends
# use: a Kubernetes Status ("message"), MLflow ({"error_code", "message"}) and
# Prometheus ({"status": "error", "error"}).
ERROR_WORDS = "fault server says the disk is on fire"
ERROR_BODY = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
              "message": ERROR_WORDS, "reason": "InternalError", "code": 500,
              "error_code": "INTERNAL_ERROR", "errorType": "internal", "error": ERROR_WORDS}

HTML_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body>"
             b"<h1>Bad Gateway</h1><p>upstream exploded</p></body></html>\n")
GARBAGE = b"<<not json>> \x1b[31mred\x1b[0m \x00\x01 }{][\n"
TRUNCATED = b'{"kind": "List", "items": [{"metadata": {"name": "a"'
HUGE_BYTES = 100 * 1024 * 1024


def default_handler(method, path, headers, body):
    return 200, "application/json", json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": []}}).encode()


class FaultServer:
    def __init__(self, mode, port=0, tls=None, handler=None, json_body=None,
                 upstream=None, fault_if=None):
        if mode not in MODES:
            raise ValueError("unknown mode %r (one of %s)" % (mode, ", ".join(MODES)))
        self.mode = mode
        self.tls = tls
        self.handler = handler or default_handler
        self.upstream = upstream
        self.fault_if = fault_if or (lambda method, path: True)
        self.json_body = json.dumps(json_body if json_body is not None
                                    else ERROR_BODY).encode()
        self.requests = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._conns = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        scheme = "https" if tls else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        if mode == "refused":
            self.sock.close()
            self.sock = None
            return
        self.sock.listen(64)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stopping.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.close()
            except OSError:
                pass

    # --- plumbing ---------------------------------------------------------

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._conns.append(conn)
            while not self._stopping.is_set():
                req = self._read_request(conn)
                if req is None:
                    return
                faulted = not self.upstream or self.fault_if(req[0], req[1])
                with self._lock:
                    self.requests.append({"method": req[0], "path": req[1],
                                          "headers": req[2], "faulted": faulted})
                if not faulted:
                    self._forward(conn, *req)
                    return
                if not self._answer(conn, *req):
                    return
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, conn, method, path, headers, body):
        """Passes one request to the upstream and its answer back, then
        closes (Connection: close keeps the next request ours to judge)."""
        host, _, port = self.upstream.split("://", 1)[1].rstrip("/").partition(":")
        up = socket.create_connection((host, int(port or 80)), timeout=30)
        try:
            lines = ["%s %s HTTP/1.1" % (method, path)]
            for k, v in headers.items():
                if k not in ("connection", "keep-alive"):
                    lines.append("%s: %s" % (k, v))
            lines.append("Connection: close")
            up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            while not self._stopping.is_set():
                r, _, _ = select.select([up], [], [], 0.5)
                if not r:
                    continue
                chunk = up.recv(65536)
                if not chunk:
                    break
                conn.sendall(chunk)
        finally:
            up.close()

    @staticmethod
    def _read_request(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > 1 << 20:
                return None
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = int(headers.get("content-length") or 0)
        while len(rest) < want:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return method, path, headers, rest[:want]

    @staticmethod
    def _head(status, reason, ctype, length=None, extra=""):
        h = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n" % (status, reason, ctype)
        if length is not None:
            h += "Content-Length: %d\r\n" % length
        return (h + extra + "\r\n").encode()

    def _answer(self, conn, method, path, headers, body):
        """Answers one request; True to keep the connection for another."""
        m = self.mode
        if m == "ok":
            status, ctype, out = self.handler(method, path, headers, body)
            conn.sendall(self._head(status, "OK" if status < 400 else "Error", ctype,
                                    len(out)) + out)
            return True
        if m == "hang":
            self._stopping.wait(600)
            return False
        if m == "500-html":
            conn.sendall(self._head(500, "Internal Server Error", "text/html",
                                    len(HTML_PAGE), "Connection: close\r\n") + HTML_PAGE)
            return False
        if m == "500-json":
            conn.sendall(self._head(500, "Internal Server Error", "application/json",
                                    len(self.json_body), "Connection: close\r\n")
                         + self.json_body)
            return False
        if m == "garbage":
            conn.sendall(self._head(200, "OK", "application/json", len(GARBAGE),
                                    "Connection: close\r\n") + GARBAGE)
            return False
        if m == "truncated":
            conn.sendall(self._head(200, "OK", "application/json", len(TRUNCATED) + 4096)
                         + TRUNCATED)
            conn.shutdown(socket.SHUT_WR)
            return False
        if m == "reset":
            conn.sendall(self._head(200, "OK", "application/json", 65536)
                         + b'{"items": [' + b" " * 200)
            time.sleep(0.1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if m == "huge":
            conn.sendall(self._head(200, "OK", "application/json", HUGE_BYTES) + b"[")
            block = b"0," * 32768
            sent = 1
            while sent < HUGE_BYTES - len(block) and not self._stopping.is_set():
                conn.sendall(block)
                sent += len(block)
            return False
        if m == "endless":
            conn.sendall(self._head(200, "OK", "application/json", None,
                                    "Transfer-Encoding: chunked\r\n") + b"1\r\n[\r\n")
            block = b"0," * 32768
            chunk = b"%x\r\n" % len(block) + block + b"\r\n"
            while not self._stopping.is_set():
                conn.sendall(chunk)
            return False
        if m == "trickle":
            out = (self._head(200, "OK", "application/json", 4096)
                   + b'{"items": [' + b" " * 4096)
            for i in range(len(out)):
                if self._stopping.wait(1.0 if i else 0):
                    break
                conn.sendall(out[i:i + 1])
            return False
        raise ValueError(m)


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=MODES)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = FaultServer(args.mode, port=args.port)
    print("ready " + srv.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
