#!/usr/bin/python3
"""A small MLflow Model Registry REST double (Python standard library only).

It follows shared/reference/mlflow-registry.md: paths under /api/2.0/mlflow,
GET arguments in the query string and JSON bodies (Content-Type checked) for
POST, PATCH and DELETE; versions are strings, timestamps integer
milliseconds; errors are {"error_code", "message"} with the reference's HTTP
statuses (RESOURCE_ALREADY_EXISTS is 400); search pages with max_results and
an opaque next_page_token; aliases move when set again; transition-stage
honours archive_existing_versions; search results carry empty version
aliases, as MLflow 3.1.1 does, so a client must use get-by-alias. Artifacts
are kept in memory behind the mlflow-artifacts proxy path.

Test controls, outside the API, under /double/:
  POST /double/fault   {"status", "body", "content_type", "delay_ms", "count"}
                       the next COUNT API requests (default 1) sleep
                       delay_ms, then (when status is set) answer it with body
  POST /double/status  {"name", "version", "status"}  set a version's status
  POST /double/artifact {"path", "text"}  overwrite a stored artifact
  GET  /double/requests  every API request seen: [{"method", "path", "query",
                       "auth"}] (auth: "bearer", "basic" or "")

Use from a test: `server, url = mlflow_double.start(token="t")` (or
basic=("user", "password")), then
`server.shutdown()`. Or run it: `mlflow_double.py [--port N] [--token T]`.
"""

import argparse
import base64
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = "/api/2.0/mlflow/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/"
STAGES = {"none": "None", "staging": "Staging", "production": "Production",
          "archived": "Archived"}
STATUS = {"INVALID_PARAMETER_VALUE": 400, "BAD_REQUEST": 400,
          "RESOURCE_ALREADY_EXISTS": 400, "UNAUTHENTICATED": 401,
          "PERMISSION_DENIED": 403, "RESOURCE_DOES_NOT_EXIST": 404,
          "ENDPOINT_NOT_FOUND": 404, "INTERNAL_ERROR": 500}


class MlflowError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def now_ms():
    return int(time.time() * 1000)


def required(args, key):
    v = args.get(key)
    if v is None or v == "":
        raise MlflowError("INVALID_PARAMETER_VALUE",
                          "Missing value for required parameter '%s'." % key)
    return v


class Registry:
    def __init__(self):
        self.lock = threading.Lock()
        self.models = {}      # name -> dict
        self.versions = {}    # name -> [dict]
        self.artifacts = {}   # path -> bytes

    def model(self, name):
        m = self.models.get(name)
        if m is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                              "Registered Model with name=%s not found" % name)
        return m

    def version(self, name, version):
        self.model(name)
        for v in self.versions[name]:
            if v["version"] == str(version):
                return v
        raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                          "Model Version (name=%s, version=%s) not found" % (name, version))

    def model_json(self, name):
        m = self.models[name]
        latest = {}
        for v in self.versions[name]:
            latest[v["current_stage"]] = v
        return {
            "name": m["name"], "creation_timestamp": m["creation_timestamp"],
            "last_updated_timestamp": m["last_updated_timestamp"],
            "description": m["description"], "tags": m["tags"],
            "latest_versions": [self.version_json(v, False) for v in latest.values()],
            "aliases": [{"alias": a, "version": ver}
                        for a, ver in sorted(m["aliases"].items())]}

    def version_json(self, v, with_aliases=True):
        out = {k: v[k] for k in ("name", "version", "creation_timestamp",
                                 "last_updated_timestamp", "user_id", "current_stage",
                                 "description", "source", "run_id", "status",
                                 "status_message", "run_link")}
        out["tags"] = [{"key": k, "value": val} for k, val in v["tags"].items()]
        aliases = [a for a, ver in self.models[v["name"]]["aliases"].items()
                   if ver == v["version"]]
        out["aliases"] = sorted(aliases) if with_aliases else []
        return out


def page(items, args, default, maximum):
    try:
        n = int(args.get("max_results") or default)
    except ValueError:
        raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid value for max_results")
    if n < 1 or n > maximum:
        raise MlflowError("INVALID_PARAMETER_VALUE",
                          "Invalid value for max_results: %d, must be in [1, %d]" % (n, maximum))
    start = 0
    tok = args.get("page_token")
    if tok:
        try:
            start = int(json.loads(base64.b64decode(tok))["offset"])
        except Exception:
            raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid page token")
    chunk = items[start:start + n]
    nxt = None
    if start + n < len(items):
        nxt = base64.b64encode(json.dumps({"offset": start + n}).encode()).decode()
    return chunk, nxt


NAME_FILTER = re.compile(r"""^\s*name\s*=\s*(['"])(.*)\1\s*$""")
LIKE_FILTER = re.compile(r"""^\s*name\s+(I?LIKE)\s*(['"])(.*)\2\s*$""", re.I)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mlflow-double/1"
    # Headers and body go out in two writes; with Nagle on, a keep-alive
    # client waits for its delayed ACK on every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----------------------------------------------------------
    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def error(self, code, message):
        self.send(STATUS.get(code, 500), {"error_code": code, "message": message})

    def body_bytes(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def args(self, query, raw):
        if self.command == "GET":
            out = {}
            for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
                if k in out:
                    out[k] = out[k] if isinstance(out[k], list) else [out[k]]
                    out[k].append(v)
                else:
                    out[k] = v
            return out
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            raise MlflowError("BAD_REQUEST",
                              "Bad Request. Content-Type must be application/json, got %r"
                              % ctype)
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise MlflowError("MALFORMED_REQUEST", "Malformed JSON body")
        if not isinstance(data, dict):
            raise MlflowError("MALFORMED_REQUEST", "Malformed JSON body")
        return data

    def authorised(self):
        st = self.server.state
        auth = self.headers.get("Authorization") or ""
        kind = auth.split(" ")[0].lower() if auth else ""
        if st.basic is not None:
            want = base64.b64encode(("%s:%s" % st.basic).encode()).decode()
            return kind, auth == "Basic " + want
        return kind, (st.token is None or auth == "Bearer " + st.token)

    def take_fault(self):
        st = self.server.state
        with st.lock:
            if not st.fault or st.fault.get("count", 1) <= 0:
                return None
            st.fault["count"] = st.fault.get("count", 1) - 1
            return dict(st.fault)

    def handle_any(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        raw = self.body_bytes()
        if url.path.startswith("/double/"):
            return self.control(url.path, raw)
        kind, ok = self.authorised()
        with st.lock:
            st.requests.append({"method": self.command, "path": url.path,
                                "query": url.query, "auth": kind})
        fault = self.take_fault()
        if fault:
            time.sleep(fault.get("delay_ms", 0) / 1000.0)
            if fault.get("status"):
                return self.send(fault["status"], fault.get("body", ""),
                                 fault.get("content_type", "text/html"))
        if not ok:
            return self.error("UNAUTHENTICATED", "Missing or invalid bearer token")
        try:
            if url.path.startswith(ARTIFACTS):
                return self.artifact(url.path[len(ARTIFACTS):], raw)
            if not url.path.startswith(API):
                raise MlflowError("ENDPOINT_NOT_FOUND", "No endpoint %s" % url.path)
            route = (self.command, url.path[len(API):])
            fn = ROUTES.get(route)
            if fn is None:
                raise MlflowError("ENDPOINT_NOT_FOUND",
                                  "No %s endpoint %s" % (self.command, url.path))
            args = self.args(url.query, raw)
            with st.registry.lock:
                out = fn(st.registry, args)
            self.send(200, out)
        except MlflowError as e:
            self.error(e.code, e.message)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = handle_any

    def artifact(self, path, raw):
        reg = self.server.state.registry
        if self.command == "PUT":
            with reg.lock:
                reg.artifacts[path] = raw
            return self.send(200, {})
        if self.command == "GET":
            with reg.lock:
                data = reg.artifacts.get(path)
            if data is None:
                raise MlflowError("RESOURCE_DOES_NOT_EXIST", "No artifact %s" % path)
            return self.send(200, data, "application/octet-stream")
        raise MlflowError("ENDPOINT_NOT_FOUND", "No artifact method %s" % self.command)

    def control(self, path, raw):
        st = self.server.state
        data = json.loads(raw or b"{}") if self.command == "POST" else {}
        if path == "/double/fault":
            with st.lock:
                st.fault = dict(data, count=data.get("count", 1))
            return self.send(200, {})
        if path == "/double/requests":
            with st.lock:
                return self.send(200, list(st.requests))
        if path == "/double/status":
            with st.registry.lock:
                st.registry.version(data["name"], data["version"])["status"] = data["status"]
            return self.send(200, {})
        if path == "/double/artifact":
            with st.registry.lock:
                st.registry.artifacts[data["path"]] = data["text"].encode()
            return self.send(200, {})
        return self.send(404, "no such control", "text/plain")


# ---- the API ----------------------------------------------------------------

def rm_create(reg, a):
    name = required(a, "name")
    if name in reg.models:
        raise MlflowError("RESOURCE_ALREADY_EXISTS",
                          "Registered Model (name=%s) already exists." % name)
    t = now_ms()
    reg.models[name] = {"name": name, "creation_timestamp": t, "last_updated_timestamp": t,
                        "description": a.get("description", ""), "tags": a.get("tags", []),
                        "aliases": {}, "next": 1}
    reg.versions[name] = []
    return {"registered_model": reg.model_json(name)}


def rm_get(reg, a):
    name = required(a, "name")
    reg.model(name)
    return {"registered_model": reg.model_json(name)}


def rm_search(reg, a):
    names = sorted(reg.models)
    f = a.get("filter")
    if f:
        m = LIKE_FILTER.match(f)
        if not m:
            raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid filter '%s'" % f)
        pat = "^" + re.escape(m.group(3)).replace("%", ".*").replace("_", ".") + "$"
        flags = re.I if m.group(1).upper() == "ILIKE" else 0
        names = [n for n in names if re.match(pat, n, flags)]
    chunk, nxt = page(names, a, 100, 1000)
    out = {"registered_models": [reg.model_json(n) for n in chunk]}
    if nxt:
        out["next_page_token"] = nxt
    return out


def rm_latest(reg, a):
    name = required(a, "name")
    reg.model(name)
    stages = a.get("stages") or []
    if isinstance(stages, str):
        stages = [stages]
    wanted = {STAGES.get(s.lower(), s) for s in stages} if stages else None
    latest = {}
    for v in reg.versions[name]:
        if v["status"] == "READY" and (wanted is None or v["current_stage"] in wanted):
            latest[v["current_stage"]] = v
    return {"model_versions": [reg.version_json(v) for v in latest.values()]}


def alias_set(reg, a):
    name, alias, version = required(a, "name"), required(a, "alias"), required(a, "version")
    if not re.match(r"^[\w\-]+$", alias) or re.match(r"^v\d+$", alias, re.I):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid alias name: '%s'." % alias)
    reg.version(name, version)
    reg.models[name]["aliases"][alias] = str(version)
    return {}


def alias_delete(reg, a):
    name, alias = required(a, "name"), required(a, "alias")
    reg.model(name)
    reg.models[name]["aliases"].pop(alias, None)
    return {}


def alias_get(reg, a):
    name, alias = required(a, "name"), required(a, "alias")
    version = reg.model(name)["aliases"].get(alias)
    if version is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST",
                          "Registered model alias %s not found." % alias)
    return {"model_version": reg.version_json(reg.version(name, version))}


def mv_create(reg, a):
    name, source = required(a, "name"), required(a, "source")
    m = reg.model(name)
    t = now_ms()
    v = {"name": name, "version": str(m["next"]), "creation_timestamp": t,
         "last_updated_timestamp": t, "user_id": "", "current_stage": "None",
         "description": a.get("description", ""), "source": source,
         "run_id": a.get("run_id", ""), "status": "READY", "status_message": "",
         "run_link": a.get("run_link", ""),
         "tags": {tg["key"]: tg.get("value", "") for tg in a.get("tags", [])}}
    m["next"] += 1
    reg.versions[name].append(v)
    return {"model_version": reg.version_json(v)}


def mv_get(reg, a):
    return {"model_version": reg.version_json(
        reg.version(required(a, "name"), required(a, "version")))}


def mv_search(reg, a):
    items = [v for vs in reg.versions.values() for v in vs]
    f = a.get("filter")
    if f:
        m = NAME_FILTER.match(f)
        if not m:
            raise MlflowError("INVALID_PARAMETER_VALUE", "Invalid filter '%s'" % f)
        items = [v for v in items if v["name"] == m.group(2)]
    # Newest first, as MLflow's default order is; clients must not rely on it.
    items.sort(key=lambda v: (v["name"], -int(v["version"])))
    chunk, nxt = page(items, a, 200000, 200000)
    # Search results carry no version aliases (mlflow/mlflow#16734).
    out = {"model_versions": [reg.version_json(v, with_aliases=False) for v in chunk]}
    if nxt:
        out["next_page_token"] = nxt
    return out


def mv_transition(reg, a):
    name, version, stage = required(a, "name"), required(a, "version"), required(a, "stage")
    if "archive_existing_versions" not in a:
        raise MlflowError("INVALID_PARAMETER_VALUE",
                          "Missing value for required parameter 'archive_existing_versions'.")
    canon = STAGES.get(str(stage).lower())
    if canon is None:
        raise MlflowError("INVALID_PARAMETER_VALUE",
                          "Invalid Model Version stage: %s. Value must be one of None, "
                          "Staging, Production, Archived." % stage)
    v = reg.version(name, version)
    if a["archive_existing_versions"] is True and canon in ("Staging", "Production"):
        for other in reg.versions[name]:
            if other is not v and other["current_stage"] == canon:
                other["current_stage"] = "Archived"
                other["last_updated_timestamp"] = now_ms()
    v["current_stage"] = canon
    v["last_updated_timestamp"] = now_ms()
    return {"model_version": reg.version_json(v)}


def mv_update(reg, a):
    v = reg.version(required(a, "name"), required(a, "version"))
    if "description" in a:
        v["description"] = a["description"]
    v["last_updated_timestamp"] = now_ms()
    return {"model_version": reg.version_json(v)}


def mv_set_tag(reg, a):
    v = reg.version(required(a, "name"), required(a, "version"))
    v["tags"][required(a, "key")] = a.get("value", "")
    return {}


def mv_download_uri(reg, a):
    v = reg.version(required(a, "name"), required(a, "version"))
    return {"artifact_uri": v["source"]}


ROUTES = {
    ("POST", "registered-models/create"): rm_create,
    ("GET", "registered-models/get"): rm_get,
    ("GET", "registered-models/search"): rm_search,
    ("POST", "registered-models/get-latest-versions"): rm_latest,
    ("GET", "registered-models/get-latest-versions"): rm_latest,
    ("POST", "registered-models/alias"): alias_set,
    ("DELETE", "registered-models/alias"): alias_delete,
    ("GET", "registered-models/alias"): alias_get,
    ("POST", "model-versions/create"): mv_create,
    ("GET", "model-versions/get"): mv_get,
    ("GET", "model-versions/search"): mv_search,
    ("POST", "model-versions/transition-stage"): mv_transition,
    ("PATCH", "model-versions/update"): mv_update,
    ("POST", "model-versions/set-tag"): mv_set_tag,
    ("GET", "model-versions/get-download-uri"): mv_download_uri,
}


class State:
    def __init__(self, token, basic):
        self.lock = threading.Lock()
        self.registry = Registry()
        self.token = token
        self.basic = basic
        self.fault = None
        self.requests = []


def start(token=None, port=0, basic=None):
    """Starts the double on 127.0.0.1 in a daemon thread; returns (server, url).
    TOKEN requires that bearer token; BASIC, a (user, password) pair,
    requires HTTP basic authentication instead."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.state = State(token, basic)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=5000)
    ap.add_argument("--token")
    args = ap.parse_args()
    server, url = start(args.token, args.port)
    print(url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
