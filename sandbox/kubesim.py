#!/usr/bin/env python3
"""kubesim: a small simulated Kubernetes cluster for churnops' demo, drills and tests.

    python3 sandbox/kubesim.py --port N [--tls CERT KEY --token T]
                               [--read-only-token R] [--client-ca CA] [--speed X]
                               [--models DIR]

It prints "ready" once it listens on 127.0.0.1:N and then serves the subset of
the Kubernetes API that churnops and kubectl use (shared/reference/
kubernetes-api.md): discovery, Deployments with a deployment controller that
rolls out over simulated time, ReplicaSets, Pods, Services, the Istio
VirtualService custom resource, watch, patch (strategic merge, merge, JSON),
Status errors and resourceVersion conflicts. Standard library only.

Time: the controller runs on the wall clock, but every duration the
simulation owns (a pod becoming ready, the progress deadline, the model
service's traffic) is divided by --speed, so --speed 10 rolls out ten times
faster. Timestamps stay real so kubectl's ages make sense.

Each deployment also answers as the model service it runs, through the API
server's service proxy: /api/v1/namespaces/NS/services/NAME:80/proxy/{health,
model/info,predict,metrics}. The sandbox's own /metrics serves every
deployment's metrics for Prometheus.

/predict scores with the real model of the version a deployment runs when
--models DIR holds DIR/VERSION/model.json and schema.json (a churnops model
directory): a small pure-Python evaluator of XGBoost's JSON trees
(binary:logistic, numeric and categorical splits), so a smoke test can
compare the service with the local engine. A version without a directory
gets a stand-in logistic of a few telco fields.

Control endpoints (never authenticated; this is a sandbox):
    POST /sandbox/inject   {"namespace", "deployment", "latency_ms", "error_rate",
                            "roc_auc", "drift", "never_ready", "api_status",
                            "api_delay_ms", "skew"}  (any subset; "skew" is
                            added to every probability /predict answers)
    POST /sandbox/reset    clears every fault
    POST /sandbox/break-watches   drops every open watch mid-stream
    POST /sandbox/compact  forgets the event history (old resourceVersions get 410)
    POST /sandbox/conflict {"count": N}: the next N writes answer 409 Conflict,
                           as if another client had written first
    POST /sandbox/hostile  {"namespace", "deployment", "text"}: one of the
                           deployment's pods is renamed TEXT, and TEXT becomes
                           its node, phase, a label and an annotation, and the
                           deployment's change-cause (lone surrogates U+DC80..
                           U+DCFF in TEXT are served as the raw bytes 80..FF:
                           invalid UTF-8), so tests can check that a client
                           never lets a server's text drive its terminal
"""

import argparse
import copy
import datetime
import hashlib
import http.server
import json
import math
import os
import random
import re
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
POD_READY_SECONDS = 3.0        # simulated seconds from creation to Ready
TICK_SECONDS = 0.5             # simulated seconds between controller passes
EVENT_HISTORY = 5000           # watch events kept for resumption
MAX_BODY = 4 << 20

SKIP_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
}

# resource -> (group, versions, kind, namespaced, short names)
RESOURCES = {
    "deployments": ("apps", ["v1"], "Deployment", ["deploy"]),
    "replicasets": ("apps", ["v1"], "ReplicaSet", ["rs"]),
    "pods": ("", ["v1"], "Pod", ["po"]),
    "services": ("", ["v1"], "Service", ["svc"]),
    "events": ("", ["v1"], "Event", ["ev"]),
    "virtualservices": ("networking.istio.io", ["v1", "v1beta1"], "VirtualService", ["vs"]),
}
GROUP_NAME = {"deployments": "deployments.apps", "replicasets": "replicasets.apps",
              "pods": "pods", "services": "services", "events": "events",
              "virtualservices": "virtualservices.networking.istio.io"}

# Strategic merge patch: lists merged element by element on these keys.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name",
              "volumes": "name", "volumeMounts": "mountPath", "ports": "containerPort",
              "conditions": "type", "imagePullSecrets": "name"}

HIST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def now_iso(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def human_age(seconds):
    """kubectl's HumanDuration, close enough for a table cell."""
    s = max(0, int(seconds))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    return "%dd" % (h // 24)


def short_hash(obj):
    digest = int(hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest(), 16)
    out = ""
    for _ in range(10):
        digest, r = divmod(digest, len(ALPHABET))
        out += ALPHABET[r]
    return out


def status_obj(code, reason, message, name=None, resource=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if name is not None or resource is not None:
        group, _, kind = "", "", resource or ""
        if resource in RESOURCES:
            group = RESOURCES[resource][0]
        s["details"] = {"name": name or "", "group": group, "kind": kind}
    return s


class ApiError(Exception):
    def __init__(self, code, reason, message, name=None, resource=None):
        super().__init__(message)
        self.status = status_obj(code, reason, message, name, resource)
        self.code = code


def not_found(resource, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (GROUP_NAME.get(resource, resource), name),
                    name, resource)


def conflict(resource, name):
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    "please apply your changes to the latest version and try again"
                    % (GROUP_NAME.get(resource, resource), name), name, resource)


# --- label and field selectors ---------------------------------------------

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def split_selector(text):
    """Splits on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for c in text:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur)
    return parts


def label_matcher(text):
    if not text:
        return lambda labels: True
    reqs = []
    for part in split_selector(text):
        part = part.strip()
        m = _SET_RE.match(part)
        if m:
            vals = {v.strip() for v in m.group(3).split(",")}
            if m.group(2) == "in":
                reqs.append(lambda l, k=m.group(1), v=vals: l.get(k) in v)
            else:
                reqs.append(lambda l, k=m.group(1), v=vals: l.get(k) not in v)
        elif "!=" in part:
            k, v = part.split("!=", 1)
            reqs.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) != v)
        elif "=" in part:
            k, v = part.replace("==", "=").split("=", 1)
            reqs.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) == v)
        elif part.startswith("!"):
            reqs.append(lambda l, k=part[1:].strip(): k not in l)
        else:
            reqs.append(lambda l, k=part: k in l)
    return lambda labels: all(r(labels or {}) for r in reqs)


def field_matcher(text):
    if not text:
        return lambda obj: True
    reqs = []
    for part in split_selector(text):
        neg = "!=" in part
        k, v = part.split("!=" if neg else "=", 1)
        k = k.strip().lstrip("=")
        v = v.strip().lstrip("=")

        def get(obj, path=k):
            cur = obj
            for p in path.split("."):
                cur = cur.get(p) if isinstance(cur, dict) else None
            return "" if cur is None else str(cur)
        reqs.append(lambda o, g=get, v=v, neg=neg: (g(o) != v) if neg else (g(o) == v))
    return lambda obj: all(r(obj) for r in reqs)


# --- patches ----------------------------------------------------------------

def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge(target, patch):
    """Kubernetes strategic merge patch for the fields this cluster has:
    lists in MERGE_KEYS merge on their key, $patch/$setElementOrder/$retainKeys
    directives are honoured or dropped, other lists are replaced."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            out[field] = [x for x in out.get(field, []) if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and k in MERGE_KEYS and isinstance(out.get(k), list):
            key = MERGE_KEYS[k]
            merged = [copy.deepcopy(x) for x in out[k]]
            for item in v:
                if not isinstance(item, dict) or key not in item:
                    raise ApiError(400, "BadRequest", "map: %s has no merge key %s" % (k, key))
                idx = next((i for i, x in enumerate(merged) if x.get(key) == item[key]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        merged.pop(idx)
                elif idx is None:
                    merged.append({a: b for a, b in item.items() if a != "$patch"})
                else:
                    merged[idx] = strategic_merge(merged[idx], item)
            out[k] = merged
        elif isinstance(v, dict):
            res = strategic_merge(out.get(k), v)
            if res is None:
                out.pop(k, None)
            else:
                out[k] = res
        else:
            out[k] = copy.deepcopy(v)
    return out


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        elif isinstance(cur, dict):
            cur = cur[p]
        else:
            raise KeyError(p)
    return cur


def json_patch(doc, ops):
    """RFC 6902: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    for op in ops:
        name = op.get("op")
        try:
            parts = _pointer(op.get("path", ""))
            if name == "test":
                try:
                    cur = _walk(doc, parts)
                except (KeyError, IndexError, ValueError):
                    cur = None
                if cur != op.get("value"):
                    raise ApiError(422, "Invalid",
                                   "the server rejected our request due to an error in our request: "
                                   "testing value %s failed: test failed" % op.get("path"))
                continue
            if name in ("move", "copy"):
                src = _walk(doc, _pointer(op["from"]))
                value = copy.deepcopy(src)
                if name == "move":
                    fparts = _pointer(op["from"])
                    parent = _walk(doc, fparts[:-1])
                    if isinstance(parent, list):
                        parent.pop(int(fparts[-1]))
                    else:
                        del parent[fparts[-1]]
                name = "add"
            else:
                value = copy.deepcopy(op.get("value"))
            if not parts:
                doc = value
                continue
            parent = _walk(doc, parts[:-1])
            last = parts[-1]
            if isinstance(parent, list):
                if name == "add":
                    parent.insert(len(parent) if last == "-" else int(last), value)
                elif name == "remove":
                    parent.pop(int(last))
                elif name == "replace":
                    parent[int(last)]  # must exist
                    parent[int(last)] = value
                else:
                    raise ApiError(400, "BadRequest", "Unexpected kind: %s" % name)
            else:
                if name == "add":
                    parent[last] = value
                elif name == "remove":
                    del parent[last]
                elif name == "replace":
                    if last not in parent:
                        raise KeyError(last)
                    parent[last] = value
                else:
                    raise ApiError(400, "BadRequest", "Unexpected kind: %s" % name)
        except ApiError:
            raise
        except (KeyError, IndexError, ValueError, TypeError) as ex:
            raise ApiError(422, "Invalid",
                           "the server rejected our request due to an error in our request: "
                           "%s operation does not apply: doc is missing path: %s (%s)"
                           % (name, op.get("path"), ex))
    return doc


# --- the cluster ------------------------------------------------------------

class Cluster:
    """All state, guarded by one condition variable that watchers wait on."""

    def __init__(self, speed):
        self.speed = speed
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects = {}          # (resource, ns, name) -> dict
        self.events = []           # (rv int, resource, ns, type, object)
        self.oldest_rv = self.rv   # events at or below this are gone
        self.faults = {}           # (ns, deployment or "") -> dict
        self.metrics = {}          # (ns, deployment) -> dict of counters
        self.watch_epoch = 0
        self.conflicts = 0         # writes still to refuse with 409
        self.started = time.time()
        self.rand = random.Random(42)

    # Durations the simulation owns, in real seconds.
    def sim(self, seconds):
        return seconds / self.speed

    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, resource, obj, etype):
        """Stores OBJ with a fresh resourceVersion and records the event.
        Caller holds the lock."""
        md = obj["metadata"]
        md["resourceVersion"] = str(self.next_rv())
        key = (resource, md.get("namespace", ""), md["name"])
        if etype == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.events.append((self.rv, resource, key[1], etype, copy.deepcopy(obj)))
        if len(self.events) > EVENT_HISTORY:
            drop = len(self.events) - EVENT_HISTORY
            self.oldest_rv = self.events[drop - 1][0]
            del self.events[:drop]
        self.cond.notify_all()

    def create(self, resource, obj):
        md = obj.setdefault("metadata", {})
        md.setdefault("uid", str(uuid.UUID(int=self.rand.getrandbits(128))))
        md.setdefault("creationTimestamp", now_iso())
        md.setdefault("generation", 1)
        self.put(resource, obj, "ADDED")
        return obj

    def get(self, resource, ns, name):
        return self.objects.get((resource, ns, name))

    def list(self, resource, ns=None):
        return [o for (r, n, _), o in sorted(self.objects.items()) if r == resource
                and (ns is None or n == ns)]

    def fault(self, ns, dep):
        f = {}
        f.update(self.faults.get((ns, ""), {}))
        f.update(self.faults.get((ns, dep), {}))
        return f

    # --- the initial layout ---

    def seed(self):
        with self.cond:
            for ns, stable, history, blue, green in (
                    ("mlops-staging", "1.2.0", ["1.0.0", "1.1.0", "1.2.0"], "1.2.0", "1.1.0"),
                    ("mlops-production", "1.1.0", ["1.0.0", "1.1.0"], "1.1.0", "1.0.0")):
                self.seed_deployment(ns, "churn-prediction",
                                     {"app": "churn-prediction", "track": "stable"}, history, 3)
                self.seed_deployment(ns, "churn-prediction-canary",
                                     {"app": "churn-prediction", "track": "canary"}, [stable], 1)
                self.seed_deployment(ns, "churn-prediction-blue",
                                     {"app": "churn-prediction-bg", "version": "blue"}, [blue], 2)
                self.seed_deployment(ns, "churn-prediction-green",
                                     {"app": "churn-prediction-bg", "version": "green"}, [green], 2)
                self.seed_service(ns, "churn-prediction", {"app": "churn-prediction"})
                self.seed_service(ns, "churn-prediction-bg",
                                  {"app": "churn-prediction-bg", "version": "blue"})
                self.create("virtualservices", {
                    "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                    "metadata": {"name": "churn-prediction", "namespace": ns},
                    "spec": {"hosts": ["churn-prediction"], "http": [{"route": [
                        {"destination": {"host": "churn-prediction", "subset": "stable"},
                         "weight": 100},
                        {"destination": {"host": "churn-prediction", "subset": "canary"},
                         "weight": 0}]}]}})

    def seed_deployment(self, ns, name, labels, versions, replicas):
        dep = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels),
                         "annotations": {}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": dict(labels)},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": dict(labels)}, "spec": {}},
            },
            "status": {},
        }
        # Each version was rolled out an hour apart, the last one an hour ago.
        start = time.time() - 3600 * (len(versions) + 1)
        dep["metadata"]["creationTimestamp"] = now_iso(start)
        self.create("deployments", dep)
        for i, v in enumerate(versions):
            d = self.get("deployments", ns, name)
            d = copy.deepcopy(d)
            d["spec"]["template"]["spec"] = {"containers": [{
                "name": "churn-prediction", "image": "customer-churn-mlops:v" + v,
                "ports": [{"containerPort": 8000, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}],
                "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst"}
            d["metadata"]["annotations"]["kubernetes.io/change-cause"] = (
                "churnops: deploy v%s (seed)" % v)
            d["metadata"]["generation"] += 1
            self.put("deployments", d, "MODIFIED")
            for _ in range(12):
                self.reconcile(now=start + 3600 * (i + 1), settle=True)

    def seed_service(self, ns, name, selector):
        self.create("services", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": dict(selector), "type": "ClusterIP",
                     "clusterIP": "10.96.%d.%d" % (self.rand.randint(0, 255), self.rand.randint(1, 254)),
                     "ports": [{"name": "http", "port": 80, "targetPort": 8000,
                                "protocol": "TCP"}]}})

    # --- controllers ---

    def owned(self, resource, owner):
        uid = owner["metadata"]["uid"]
        return [o for o in self.list(resource, owner["metadata"]["namespace"])
                if any(r.get("uid") == uid and r.get("controller")
                       for r in o["metadata"].get("ownerReferences", []))]

    def mark_ready(self, pod, t):
        changed = False
        for c in pod["status"].get("conditions", []):
            if c["type"] in ("Ready", "ContainersReady") and c["status"] != "True":
                c["status"] = "True"
                c["lastTransitionTime"] = now_iso(t)
                changed = True
        for cs in pod["status"].get("containerStatuses", []):
            if not cs["ready"]:
                cs["ready"] = True
                changed = True
        return changed

    def reconcile(self, now=None, settle=False):
        """One pass of the deployment and ReplicaSet controllers. Caller holds
        the lock. SETTLE makes pods ready at once (seeding)."""
        now = time.time() if now is None else now
        for dep in self.list("deployments"):
            self.sync_deployment(dep, now)
        for rs in self.list("replicasets"):
            self.sync_replicaset(rs, now, settle)
        for dep in self.list("deployments"):
            self.sync_status(dep, now)

    @staticmethod
    def template_key(tmpl):
        t = copy.deepcopy(tmpl)
        t.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
        t.get("metadata", {}).pop("creationTimestamp", None)
        return json.dumps(t, sort_keys=True)

    @staticmethod
    def revision(obj):
        try:
            return int(obj["metadata"].get("annotations", {}).get(
                "deployment.kubernetes.io/revision", "0"))
        except ValueError:
            return 0

    @staticmethod
    def resolve(value, total, round_up):
        if isinstance(value, str) and value.endswith("%"):
            x = total * int(value[:-1]) / 100.0
            return int(math.ceil(x) if round_up else math.floor(x))
        return int(value or 0)

    def fenceposts(self, dep):
        ru = dep["spec"].get("strategy", {}).get("rollingUpdate", {})
        n = dep["spec"].get("replicas", 1)
        surge = self.resolve(ru.get("maxSurge", "25%"), n, True)
        unavail = self.resolve(ru.get("maxUnavailable", "25%"), n, False)
        if surge == 0 and unavail == 0:
            unavail = 1
        return surge, unavail

    def sync_deployment(self, dep, now):
        ns = dep["metadata"]["namespace"]
        name = dep["metadata"]["name"]
        rss = self.owned("replicasets", dep)
        key = self.template_key(dep["spec"]["template"])
        matching = sorted((r for r in rss if self.template_key(r["spec"]["template"]) == key),
                          key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"]))
        new = matching[0] if matching else None
        olds = [r for r in rss if r is not new]
        paused = bool(dep["spec"].get("paused"))
        if paused:
            return
        max_old = max([self.revision(r) for r in olds] or [0])
        dep_ann = dep["metadata"].setdefault("annotations", {})
        copied = {k: v for k, v in dep_ann.items() if k not in SKIP_ANNOTATIONS}
        replicas = dep["spec"].get("replicas", 1)
        surge, unavail = self.fenceposts(dep)
        if new is None:
            tmpl = copy.deepcopy(dep["spec"]["template"])
            h = short_hash(tmpl)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(dep["spec"]["selector"])
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            ann = dict(copied)
            ann.update({"deployment.kubernetes.io/revision": str(max_old + 1),
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + surge)})
            labels = dict(tmpl["metadata"]["labels"])
            new = self.create("replicasets", {
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "%s-%s" % (name, h), "namespace": ns,
                             "labels": labels, "annotations": ann,
                             "creationTimestamp": now_iso(now),
                             "ownerReferences": [{
                                 "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                 "uid": dep["metadata"]["uid"], "controller": True,
                                 "blockOwnerDeletion": True}]},
                "spec": {"replicas": 0, "selector": sel, "template": tmpl},
                "status": {"replicas": 0, "observedGeneration": 1}})
            self.set_progressing(dep, "True", "NewReplicaSetCreated",
                                 'Created new replica set "%s"' % new["metadata"]["name"], now)
        else:
            want = dict(new["metadata"].get("annotations", {}))
            rev = self.revision(new)
            if rev <= max_old:
                hist = want.get("deployment.kubernetes.io/revision-history")
                want["deployment.kubernetes.io/revision-history"] = (
                    hist + "," + str(rev) if hist else str(rev))
                want["deployment.kubernetes.io/revision"] = str(max_old + 1)
            for k in list(want):
                if k not in SKIP_ANNOTATIONS and k not in copied:
                    del want[k]
            want.update(copied)
            want["deployment.kubernetes.io/desired-replicas"] = str(replicas)
            want["deployment.kubernetes.io/max-replicas"] = str(replicas + surge)
            if want != new["metadata"].get("annotations"):
                new = copy.deepcopy(new)
                new["metadata"]["annotations"] = want
                self.put("replicasets", new, "MODIFIED")
        if dep_ann.get("deployment.kubernetes.io/revision") != \
                new["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
            dep_ann["deployment.kubernetes.io/revision"] = \
                new["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
            self.put("deployments", dep, "MODIFIED")

        # Rolling update arithmetic (rolling.go).
        def spec_of(r):
            return r["spec"].get("replicas", 0)

        def avail_of(r):
            return r["status"].get("availableReplicas", 0)
        if not olds or all(spec_of(r) == 0 for r in olds):
            self.scale_rs(new, replicas)
        else:
            total = sum(spec_of(r) for r in rss)
            if total < replicas + surge and spec_of(new) < replicas:
                self.scale_rs(new, min(replicas, spec_of(new) + replicas + surge - total))
            elif spec_of(new) > replicas:
                self.scale_rs(new, replicas)
            total = sum(spec_of(r) for r in self.owned("replicasets", dep))
            min_avail = replicas - unavail
            new_unavail = spec_of(new) - avail_of(new)
            max_down = total - min_avail - new_unavail
            if max_down > 0:
                # Unhealthy old pods first, then by availability, oldest first.
                old_sorted = sorted((self.get("replicasets", ns, r["metadata"]["name"]) for r in olds),
                                    key=lambda r: r["metadata"]["creationTimestamp"])
                for r in old_sorted:
                    bad = spec_of(r) - avail_of(r)
                    take = min(max_down, max(0, bad))
                    if take:
                        self.scale_rs(r, spec_of(r) - take)
                        max_down -= take
                all_avail = sum(avail_of(r) for r in self.owned("replicasets", dep))
                can = min(max_down, all_avail - min_avail)
                for r in old_sorted:
                    r = self.get("replicasets", ns, r["metadata"]["name"])
                    if can <= 0:
                        break
                    take = min(can, spec_of(r))
                    if take:
                        self.scale_rs(r, spec_of(r) - take)
                        can -= take
        # Old ReplicaSets beyond the history limit go, oldest revision first.
        limit = dep["spec"].get("revisionHistoryLimit", 10)
        dead = sorted((r for r in self.owned("replicasets", dep)
                       if r["metadata"]["name"] != new["metadata"]["name"]
                       and spec_of(r) == 0 and r["status"].get("replicas", 0) == 0),
                      key=self.revision)
        for r in dead[:max(0, len(dead) - limit)]:
            self.put("replicasets", r, "DELETED")

    def scale_rs(self, rs, n):
        rs = self.get("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        if rs["spec"].get("replicas", 0) != n:
            rs = copy.deepcopy(rs)
            rs["spec"]["replicas"] = n
            rs["metadata"]["generation"] = rs["metadata"].get("generation", 1) + 1
            self.put("replicasets", rs, "MODIFIED")

    def dep_of(self, obj, resource):
        """The deployment owning an RS (or a pod's RS)."""
        if resource == "pods":
            refs = obj["metadata"].get("ownerReferences", [])
            if not refs:
                return None
            obj = self.get("replicasets", obj["metadata"]["namespace"], refs[0]["name"])
            if obj is None:
                return None
        refs = obj["metadata"].get("ownerReferences", [])
        if not refs:
            return None
        return self.get("deployments", obj["metadata"]["namespace"], refs[0]["name"])

    def sync_replicaset(self, rs, now, settle):
        ns = rs["metadata"]["namespace"]
        pods = self.owned("pods", rs)
        want = rs["spec"].get("replicas", 0)
        dep = self.dep_of(rs, "replicasets")
        dep_name = dep["metadata"]["name"] if dep else ""
        never = bool(self.fault(ns, dep_name).get("never_ready"))
        while len(pods) < want:
            pods.append(self.create_pod(rs, now, never and not settle))
        if len(pods) > want:
            # Not-ready pods go first, then the newest.
            pods.sort(key=lambda p: (self.pod_ready(p), p["metadata"]["creationTimestamp"]))
            for p in pods[:len(pods) - want]:
                self.put("pods", p, "DELETED")
            pods = pods[len(pods) - want:]
        for p in pods:
            if p.get("_never_ready"):
                continue
            created = parse_iso(p["metadata"]["creationTimestamp"])
            if (settle or now - created >= self.sim(POD_READY_SECONDS)) and not self.pod_ready(p):
                p = copy.deepcopy(p)
                self.mark_ready(p, now)
                self.put("pods", p, "MODIFIED")
        pods = self.owned("pods", rs)
        ready = sum(1 for p in pods if self.pod_ready(p))
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                  "readyReplicas": ready, "availableReplicas": ready,
                  "observedGeneration": rs["metadata"].get("generation", 1)}
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        if status != rs.get("status"):
            rs = copy.deepcopy(self.get("replicasets", ns, rs["metadata"]["name"]))
            rs["status"] = status
            self.put("replicasets", rs, "MODIFIED")

    @staticmethod
    def pod_ready(p):
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in p["status"].get("conditions", []))

    def create_pod(self, rs, now, never_ready):
        tmpl = rs["spec"]["template"]
        suffix = "".join(self.rand.choice(ALPHABET) for _ in range(5))
        containers = tmpl.get("spec", {}).get("containers", [])
        ts = now_iso(now)
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "%s-%s" % (rs["metadata"]["name"], suffix),
                         "namespace": rs["metadata"]["namespace"],
                         "labels": dict(tmpl.get("metadata", {}).get("labels", {})),
                         "creationTimestamp": ts,
                         "ownerReferences": [{
                             "apiVersion": "apps/v1", "kind": "ReplicaSet",
                             "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"],
                             "controller": True, "blockOwnerDeletion": True}]},
            "spec": dict(copy.deepcopy(tmpl.get("spec", {})), nodeName="sandbox-node-%d" % (
                self.rand.randint(1, 3))),
            "status": {
                "phase": "Running", "startTime": ts,
                "podIP": "10.244.%d.%d" % (self.rand.randint(0, 3), self.rand.randint(2, 250)),
                "conditions": [
                    {"type": "Initialized", "status": "True", "lastTransitionTime": ts},
                    {"type": "Ready", "status": "False", "lastTransitionTime": ts},
                    {"type": "ContainersReady", "status": "False", "lastTransitionTime": ts},
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts}],
                "containerStatuses": [{"name": c.get("name", ""), "image": c.get("image", ""),
                                       "ready": False, "restartCount": 0, "started": True,
                                       "state": {"running": {"startedAt": ts}}}
                                      for c in containers]},
        }
        if never_ready:
            pod["_never_ready"] = True
        return self.create("pods", pod)

    def set_progressing(self, dep, status, reason, message, now):
        conds = dep["status"].setdefault("conditions", [])
        c = next((c for c in conds if c["type"] == "Progressing"), None)
        ts = now_iso(now)
        if c is None:
            c = {"type": "Progressing", "lastTransitionTime": ts}
            conds.append(c)
        if c.get("status") != status:
            c["lastTransitionTime"] = ts
        c.update({"status": status, "reason": reason, "message": message, "lastUpdateTime": ts})

    def sync_status(self, dep, now):
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        dep = copy.deepcopy(self.get("deployments", ns, name))
        old_status = copy.deepcopy(dep.get("status", {}))
        rss = self.owned("replicasets", dep)
        key = self.template_key(dep["spec"]["template"])
        new = next((r for r in sorted(rss, key=lambda r: r["metadata"]["creationTimestamp"])
                    if self.template_key(r["spec"]["template"]) == key), None)
        replicas = dep["spec"].get("replicas", 1)
        _, unavail = self.fenceposts(dep)
        st = dep.setdefault("status", {})
        st["observedGeneration"] = dep["metadata"].get("generation", 1)
        tot = sum(r["status"].get("replicas", 0) for r in rss)
        upd = new["status"].get("replicas", 0) if new else 0
        ready = sum(r["status"].get("readyReplicas", 0) for r in rss)
        avail = sum(r["status"].get("availableReplicas", 0) for r in rss)
        for k, v in (("replicas", tot), ("updatedReplicas", upd), ("readyReplicas", ready),
                     ("availableReplicas", avail),
                     ("unavailableReplicas", max(0, sum(r["spec"].get("replicas", 0) for r in rss) - avail))):
            if v:
                st[k] = v
            else:
                st.pop(k, None)
        conds = st.setdefault("conditions", [])
        ts = now_iso(now)
        ok = avail >= replicas - unavail
        a = next((c for c in conds if c["type"] == "Available"), None)
        want = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.") if ok \
            else ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        if a is None:
            a = {"type": "Available", "lastTransitionTime": ts, "lastUpdateTime": ts}
            conds.insert(0, a)
        if (a.get("status"), a.get("reason")) != want[:2]:
            a.update({"status": want[0], "reason": want[1], "message": want[2],
                      "lastTransitionTime": ts, "lastUpdateTime": ts})
        prog = next((c for c in conds if c["type"] == "Progressing"), None)
        if dep["spec"].get("paused"):
            if prog is None or prog.get("reason") not in ("DeploymentPaused", "ProgressDeadlineExceeded"):
                self.set_progressing(dep, "Unknown", "DeploymentPaused", "Deployment is paused", now)
        elif new is not None:
            rsname = new["metadata"]["name"]
            complete = (upd == replicas and tot == replicas and avail == replicas)
            progressed = (st.get("updatedReplicas", 0) > old_status.get("updatedReplicas", 0)
                          or st.get("readyReplicas", 0) > old_status.get("readyReplicas", 0)
                          or st.get("availableReplicas", 0) > old_status.get("availableReplicas", 0)
                          or st.get("replicas", 0) < old_status.get("replicas", 0))
            if prog is not None and prog.get("reason") == "DeploymentPaused":
                self.set_progressing(dep, "Unknown", "DeploymentResumed", "Deployment is resumed", now)
                prog = next(c for c in conds if c["type"] == "Progressing")
            if complete:
                if prog is None or prog.get("reason") != "NewReplicaSetAvailable":
                    self.set_progressing(dep, "True", "NewReplicaSetAvailable",
                                         'ReplicaSet "%s" has successfully progressed.' % rsname, now)
            elif progressed or prog is None or '"%s"' % rsname not in prog.get("message", ""):
                # A new rollout (another ReplicaSet than the condition names)
                # restarts the progress deadline, as the deployment controller does.
                self.set_progressing(dep, "True", "ReplicaSetUpdated",
                                     'ReplicaSet "%s" is progressing.' % rsname, now)
            elif prog.get("reason") not in ("ProgressDeadlineExceeded",):
                deadline = dep["spec"].get("progressDeadlineSeconds", 600)
                if now - parse_iso(prog["lastUpdateTime"]) > self.sim(deadline):
                    self.set_progressing(dep, "False", "ProgressDeadlineExceeded",
                                         'ReplicaSet "%s" has timed out progressing.' % rsname, now)
        conds.sort(key=lambda c: c["type"] != "Available")
        if st != old_status:
            self.put("deployments", dep, "MODIFIED")

    # --- the model service ---

    def model_metrics(self, ns, dep):
        m = self.metrics.get((ns, dep))
        if m is None:
            m = {"buckets": [0] * (len(HIST_BUCKETS) + 1), "sum": 0.0, "count": 0,
                 "errors": 0, "frac": 0.0}
            self.metrics[(ns, dep)] = m
        return m

    def observe(self, ns, dep, latency, error):
        m = self.model_metrics(ns, dep)
        for i, b in enumerate(HIST_BUCKETS):
            if latency <= b:
                m["buckets"][i] += 1
        m["buckets"][-1] += 1
        m["sum"] += latency
        m["count"] += 1
        if error:
            m["errors"] += 1

    def traffic(self, dt):
        """Background traffic so rates exist: 5 requests per ready pod per
        simulated second."""
        for dep in self.list("deployments"):
            ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
            ready = dep["status"].get("readyReplicas", 0)
            m = self.model_metrics(ns, name)
            m["frac"] += ready * 5 * dt * self.speed
            n = int(m["frac"])
            m["frac"] -= n
            f = self.fault(ns, name)
            for _ in range(min(n, 2000)):
                lat = self.rand.uniform(0.015, 0.09) + f.get("latency_ms", 0) / 1000.0
                self.observe(ns, name, lat, self.rand.random() < f.get("error_rate", 0.0))

    def version_of(self, dep):
        cs = dep["spec"]["template"].get("spec", {}).get("containers", [])
        image = cs[0].get("image", "") if cs else ""
        m = re.search(r":v?([^:@/]+)$", image)
        return (m.group(1) if m else "unknown"), image

    def metrics_text(self, only=None):
        lines = [
            "# HELP prediction_latency_seconds Time to answer one prediction.",
            "# TYPE prediction_latency_seconds histogram"]
        deps = self.list("deployments")
        if only:
            deps = [d for d in deps if (d["metadata"]["namespace"], d["metadata"]["name"]) == only]
        rows = []
        for d in deps:
            ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
            ver, _ = self.version_of(d)
            lab = 'namespace="%s",deployment="%s",version="%s"' % (ns, name, ver)
            rows.append((ns, name, lab, self.model_metrics(ns, name), self.fault(ns, name)))
        for _, _, lab, m, _ in rows:
            for b, c in zip(HIST_BUCKETS, m["buckets"]):
                lines.append('prediction_latency_seconds_bucket{%s,le="%g"} %d' % (lab, b, c))
            lines.append('prediction_latency_seconds_bucket{%s,le="+Inf"} %d' % (lab, m["buckets"][-1]))
            lines.append("prediction_latency_seconds_sum{%s} %.6f" % (lab, m["sum"]))
            lines.append("prediction_latency_seconds_count{%s} %d" % (lab, m["count"]))
        for metric, help_, typ, fn in (
                ("predictions_total", "Predictions answered.", "counter", lambda m, f: m["count"]),
                ("prediction_errors_total", "Predictions that failed.", "counter", lambda m, f: m["errors"]),
                ("model_performance_score", "ROC-AUC measured on labelled traffic.", "gauge",
                 lambda m, f: f.get("roc_auc", 0.87)),
                ("data_drift_score", "Overall input drift (PSI).", "gauge",
                 lambda m, f: f.get("drift", 0.04))):
            lines.append("# HELP %s %s" % (metric, help_))
            lines.append("# TYPE %s %s" % (metric, typ))
            for _, _, lab, m, f in rows:
                lines.append("%s{%s} %s" % (metric, lab, repr(float(fn(m, f))) if typ == "gauge"
                                            else "%d" % fn(m, f)))
        return "\n".join(lines) + "\n"

    def run_controller(self):
        last = time.time()
        while True:
            time.sleep(max(0.02, self.sim(TICK_SECONDS)))
            with self.cond:
                now = time.time()
                self.reconcile(now)
                self.traffic(now - last)
                last = now


# --- HTTP -------------------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim/1.0"
    cluster = None          # set in main()
    tls_context = None
    token = None
    read_only_token = None
    client_certs = False    # --client-ca: a verified client certificate authenticates
    models = None           # --models: version -> ServedModel

    def setup(self):
        # Headers and body go out in two writes; without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to every answer on
        # a kept-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls_context is not None:
            self.request.settimeout(10)
            self.request = self.tls_context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()

    def log_message(self, fmt, *args):  # quiet: tests read stderr for errors only
        pass

    # --- responses ---

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogateescape")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_text(self, code, text, ctype="text/plain; version=0.0.4; charset=utf-8"):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_error_status(self, ex):
        self.send_json(ex.code, ex.status)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large")
        data = self.rfile.read(n) if n else b""
        return data

    def json_body(self):
        data = self.read_body()
        try:
            return json.loads(data or b"null")
        except ValueError as ex:
            raise ApiError(400, "BadRequest", "the body of the request could not be decoded: %s" % ex)

    # --- dispatch ---

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        try:
            if path.startswith("/sandbox/"):
                return self.control(path)
            if path == "/metrics":
                with self.cluster.cond:
                    text = self.cluster.metrics_text()
                return self.send_text(200, text)
            if path in ("/healthz", "/readyz", "/livez"):
                return self.send_text(200, "ok", "text/plain")
            user = self.authenticate()
            self.api_faults(path)
            if path == "/version":
                return self.send_json(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-kubesim",
                                            "platform": "linux/amd64"})
            if path in ("/api", "/apis") or path.startswith("/api/v1") and path.count("/") == 2 \
                    or path.startswith("/apis/") and path.count("/") <= 3:
                disc = self.discovery(path)
                if disc is not None:
                    return self.send_json(200, disc)
            m = re.match(r"^/api/v1/namespaces/([^/]+)/services/([^/:]+)(?::([^/]+))?/proxy(/.*)?$", path)
            if m:
                return self.service_proxy(m.group(1), m.group(2), m.group(4) or "/", q)
            return self.resource(path, q, user)
        except ApiError as ex:
            self.read_rest()
            self.send_error_status(ex)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def read_rest(self):
        # A request refused before its body was read must still consume it,
        # or the next request on the connection would start mid-body.
        if not getattr(self, "_body_read", False) and self.command in ("POST", "PUT", "PATCH"):
            try:
                n = int(self.headers.get("Content-Length") or 0)
                if 0 < n <= MAX_BODY:
                    self.rfile.read(n)
            except (OSError, ValueError):
                pass

    def authenticate(self):
        if self.token is None and self.read_only_token is None and not self.client_certs:
            return "admin"
        if self.client_certs:
            # The certificate's common name is the user: "admin" may do
            # anything, any other name may only read.
            cert = self.connection.getpeercert() or {}
            cn = [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"]
            if cn:
                return "admin" if cn[0] == "admin" else "read-only"
        auth = self.headers.get("Authorization", "")
        if self.token and auth == "Bearer " + self.token:
            return "admin"
        if self.read_only_token and auth == "Bearer " + self.read_only_token:
            return "read-only"
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def api_faults(self, path):
        with self.cluster.cond:
            faults = list(self.cluster.faults.items())
        for (ns, dep), f in faults:
            if ns and "/namespaces/%s/" % ns not in path + "/":
                continue
            if dep and dep not in path.split("/"):
                continue
            if f.get("api_delay_ms"):
                time.sleep(f["api_delay_ms"] / 1000.0)
            if f.get("api_status"):
                code = int(f["api_status"])
                reason = {500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
                          429: "TooManyRequests", 403: "Forbidden"}.get(code, "InternalError")
                raise ApiError(code, reason, "sandbox: injected API error %d" % code)

    def control(self, path):
        c = self.cluster
        if self.command != "POST":
            raise ApiError(405, "MethodNotAllowed", "use POST")
        # Always read the body: closing a connection with unread input makes
        # TCP reset it, and the client can lose our answer.
        body = self.json_body()
        self._body_read = True
        with c.cond:
            if path == "/sandbox/inject":
                if not isinstance(body, dict):
                    raise ApiError(400, "BadRequest", "inject: body must be a JSON object")
                allowed = {"namespace", "deployment", "latency_ms", "error_rate", "roc_auc",
                           "drift", "never_ready", "api_status", "api_delay_ms", "skew"}
                bad = sorted(set(body) - allowed)
                if bad:
                    raise ApiError(400, "BadRequest", "inject: unknown field %s" % bad[0])
                key = (body.get("namespace", ""), body.get("deployment", ""))
                f = c.faults.setdefault(key, {})
                f.update({k: v for k, v in body.items() if k not in ("namespace", "deployment")})
                return self.send_json(200, {"faults": [dict(namespace=k[0], deployment=k[1], **v)
                                                       for k, v in c.faults.items()]})
            if path == "/sandbox/reset":
                c.faults.clear()
                return self.send_json(200, {"faults": []})
            if path == "/sandbox/break-watches":
                c.watch_epoch += 1
                c.cond.notify_all()
                return self.send_json(200, {"epoch": c.watch_epoch})
            if path == "/sandbox/conflict":
                n = body.get("count") if isinstance(body, dict) else None
                if not isinstance(n, int) or n < 0:
                    raise ApiError(400, "BadRequest", 'conflict: body must be {"count": N}')
                c.conflicts = n
                return self.send_json(200, {"count": n})
            if path == "/sandbox/compact":
                c.oldest_rv = c.rv
                c.events.clear()
                return self.send_json(200, {"resourceVersion": str(c.rv)})
            if path == "/sandbox/hostile":
                return self.hostile(body)
        raise ApiError(404, "NotFound", "no such sandbox endpoint")

    def hostile(self, body):
        """POST /sandbox/hostile. Caller holds the lock."""
        c = self.cluster
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise ApiError(400, "BadRequest", 'hostile: body must be {"text": "..."}')
        ns = body.get("namespace", "mlops-staging")
        name = body.get("deployment", "churn-prediction")
        dep = c.get("deployments", ns, name)
        if dep is None:
            raise not_found("deployments", name)
        dep = copy.deepcopy(dep)
        dep["metadata"].setdefault("annotations", {})["kubernetes.io/change-cause"] = text
        c.put("deployments", dep, "MODIFIED")
        pods = [p for rs in c.owned("replicasets", dep) for p in c.owned("pods", rs)]
        if not pods:
            raise ApiError(409, "Conflict", "hostile: %s has no pods yet" % name)
        pod = copy.deepcopy(pods[0])
        c.put("pods", pods[0], "DELETED")
        md = pod["metadata"]
        md["name"] = text
        md["uid"] = str(uuid.UUID(int=c.rand.getrandbits(128)))
        md.setdefault("labels", {})["hostile"] = text
        md.setdefault("annotations", {})["hostile"] = text
        pod["spec"]["nodeName"] = text
        pod["status"]["phase"] = text
        c.put("pods", pod, "ADDED")
        return self.send_json(200, {"pod": len(text)})

    # --- discovery ---

    def discovery(self, path):
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                    "serverAddress": "127.0.0.1"}]}
        groups = {}
        for r, (g, vs, _, _) in RESOURCES.items():
            if g:
                groups.setdefault(g, vs)
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}}
                for g, vs in groups.items()]}
        if path == "/api/v1":
            gv, want = "v1", ""
        elif path.startswith("/apis/") and path.count("/") == 3:
            gv = path[len("/apis/"):]
            want = gv.split("/")[0]
            if want not in groups or gv.split("/")[1] not in groups[want]:
                return None
        elif path.startswith("/apis/") and path.count("/") == 2:
            g = path[len("/apis/"):]
            if g not in groups:
                return None
            vs = groups[g]
            return {"kind": "APIGroup", "apiVersion": "v1", "name": g,
                    "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
                    "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}}
        else:
            return None
        res = []
        for r, (g, vs, kind, short) in RESOURCES.items():
            if g != want:
                continue
            res.append({"name": r, "singularName": kind.lower(), "namespaced": True, "kind": kind,
                        "verbs": verbs, "shortNames": short,
                        **({"categories": ["all"]} if r in ("deployments", "pods", "replicasets",
                                                            "services") else {})})
            if r == "deployments":
                res.append({"name": "deployments/scale", "singularName": "", "namespaced": True,
                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                            "verbs": ["get", "patch", "update"]})
                res.append({"name": "deployments/status", "singularName": "", "namespaced": True,
                            "kind": "Deployment", "verbs": ["get", "patch", "update"]})
        if want == "":
            res.append({"name": "namespaces", "singularName": "namespace", "namespaced": False,
                        "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}

    # --- resources ---

    def resource(self, path, q, user):
        c = self.cluster
        m = re.match(r"^/api/v1/namespaces(?:/([^/]+))?$", path)
        if m:
            names = sorted({ns for (_, ns, _) in c.objects if ns})
            items = [{"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": n, "uid": "ns-" + n,
                                   "creationTimestamp": now_iso(c.started)},
                      "status": {"phase": "Active"}} for n in names]
            if m.group(1):
                it = next((i for i in items if i["metadata"]["name"] == m.group(1)), None)
                if it is None:
                    raise not_found("namespaces", m.group(1))
                return self.send_json(200, it)
            return self.send_json(200, {"kind": "NamespaceList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(c.rv)}, "items": items})
        m = re.match(r"^/(?:api/(v1)|apis/([^/]+)/([^/]+))(?:/namespaces/([^/]+))?/([^/]+)"
                     r"(?:/([^/]+))?(?:/([^/]+))?$", path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        version = m.group(1) or m.group(3)
        group = m.group(2) or ""
        ns, resource, name, sub = m.group(4), m.group(5), m.group(6), m.group(7)
        spec = RESOURCES.get(resource)
        if spec is None or spec[0] != group or version not in spec[1]:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub not in (None, "scale", "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        verb = {"GET": "get" if name else ("watch" if q.get("watch") in ("1", "true") else "list"),
                "PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}[self.command]
        if user == "read-only" and verb not in ("get", "list", "watch"):
            raise ApiError(403, "Forbidden",
                           '%s "%s" is forbidden: User "system:serviceaccount:%s:churnops-viewer" cannot %s '
                           'resource "%s%s" in API group "%s" in the namespace "%s"'
                           % (GROUP_NAME[resource], name or "", ns or "default", verb, resource,
                              "/" + sub if sub else "", group, ns or ""), name, resource)
        if resource == "events" and self.command == "GET":
            return self.send_json(200, {"kind": "EventList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": str(c.rv)}, "items": []})
        if name is None:
            if self.command != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            if verb == "watch":
                return self.watch(resource, ns, q)
            return self.list_objects(resource, ns, q, version)
        if self.command == "GET":
            with c.cond:
                obj = c.get(resource, ns, name)
                if obj is None:
                    raise not_found(resource, name)
                obj = copy.deepcopy(obj)
            if sub == "scale":
                return self.send_json(200, self.scale_of(obj))
            return self.send_json(200, self.outward(obj, resource, version))
        if self.command == "PATCH":
            return self.patch(resource, ns, name, sub, version)
        if self.command == "PUT":
            return self.put(resource, ns, name, sub, version)
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    def outward(obj, resource, version=None):
        obj = {k: v for k, v in obj.items() if not k.startswith("_")}
        if resource == "virtualservices" and version:
            obj["apiVersion"] = "networking.istio.io/" + version
        return obj

    @staticmethod
    def scale_of(dep):
        md = dep["metadata"]
        sel = ",".join("%s=%s" % kv for kv in sorted(dep["spec"]["selector"].get("matchLabels", {}).items()))
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"],
                             "resourceVersion": md["resourceVersion"],
                             "creationTimestamp": md["creationTimestamp"]},
                "spec": {"replicas": dep["spec"].get("replicas", 1)},
                "status": {"replicas": dep["status"].get("replicas", 0), "selector": sel}}

    def list_objects(self, resource, ns, q, version):
        c = self.cluster
        lm = label_matcher(q.get("labelSelector", ""))
        fm = field_matcher(q.get("fieldSelector", ""))
        with c.cond:
            items = [self.outward(copy.deepcopy(o), resource, version) for o in c.list(resource, ns)
                     if lm(o["metadata"].get("labels")) and fm(o)]
            rv = str(c.rv)
        kind = RESOURCES[resource][2]
        api_version = (RESOURCES[resource][0] + "/" if RESOURCES[resource][0] else "") + version
        if "as=Table" in self.headers.get("Accept", ""):
            return self.send_json(200, self.table(resource, items, rv))
        for it in items:
            it.pop("kind", None)
            it.pop("apiVersion", None)
        return self.send_json(200, {"kind": kind + "List", "apiVersion": api_version,
                                    "metadata": {"resourceVersion": rv}, "items": items})

    def table(self, resource, items, rv):
        now = time.time()

        def age(o):
            return human_age(now - parse_iso(o["metadata"]["creationTimestamp"]))

        def col(name, typ="string", fmt="", priority=0):
            return {"name": name, "type": typ, "format": fmt, "description": "",
                    "priority": priority}

        def containers(o):
            return o["spec"].get("template", {}).get("spec", {}).get("containers", [])
        if resource == "deployments":
            # Priority 1 columns are the ones `kubectl get -o wide` adds.
            cols = [col("Name", fmt="name"), col("Ready"), col("Up-to-date", "integer"),
                    col("Available", "integer"), col("Age"), col("Containers", priority=1),
                    col("Images", priority=1), col("Selector", priority=1)]
            rows = [[o["metadata"]["name"], "%d/%d" % (o["status"].get("readyReplicas", 0),
                                                       o["spec"].get("replicas", 1)),
                     o["status"].get("updatedReplicas", 0), o["status"].get("availableReplicas", 0),
                     age(o), ",".join(c["name"] for c in containers(o)),
                     ",".join(c.get("image", "") for c in containers(o)),
                     ",".join("%s=%s" % kv for kv in sorted(
                         o["spec"].get("selector", {}).get("matchLabels", {}).items()))]
                    for o in items]
        elif resource == "pods":
            cols = [col("Name", fmt="name"), col("Ready"), col("Status"), col("Restarts", "string"),
                    col("Age"), col("IP", priority=1), col("Node", priority=1)]
            rows = []
            for o in items:
                cs = o["status"].get("containerStatuses", [])
                rows.append([o["metadata"]["name"],
                             "%d/%d" % (sum(1 for x in cs if x["ready"]), len(cs)),
                             o["status"].get("phase", ""),
                             str(sum(x.get("restartCount", 0) for x in cs)), age(o),
                             o["status"].get("podIP", "<none>"),
                             o["spec"].get("nodeName", "<none>")])
        elif resource == "replicasets":
            cols = [col("Name", fmt="name"), col("Desired", "integer"), col("Current", "integer"),
                    col("Ready", "integer"), col("Age")]
            rows = [[o["metadata"]["name"], o["spec"].get("replicas", 0),
                     o["status"].get("replicas", 0), o["status"].get("readyReplicas", 0), age(o)]
                    for o in items]
        elif resource == "services":
            cols = [col("Name", fmt="name"), col("Type"), col("Cluster-IP"), col("External-IP"),
                    col("Port(s)"), col("Age")]
            rows = [[o["metadata"]["name"], o["spec"].get("type", "ClusterIP"),
                     o["spec"].get("clusterIP", ""), "<none>",
                     ",".join("%d/%s" % (p["port"], p.get("protocol", "TCP"))
                              for p in o["spec"].get("ports", [])), age(o)] for o in items]
        else:
            cols = [col("Name", fmt="name"), col("Age")]
            rows = [[o["metadata"]["name"], age(o)] for o in items]
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                "metadata": {"resourceVersion": rv}, "columnDefinitions": cols,
                "rows": [{"cells": r, "object": {"kind": "PartialObjectMetadata",
                                                 "apiVersion": "meta.k8s.io/v1",
                                                 "metadata": o["metadata"]}}
                         for r, o in zip(rows, items)]}

    def watch(self, resource, ns, q):
        c = self.cluster
        lm = label_matcher(q.get("labelSelector", ""))
        fm = field_matcher(q.get("fieldSelector", ""))
        try:
            timeout = float(q.get("timeoutSeconds") or 1800)
        except ValueError:
            timeout = 1800
        deadline = time.time() + timeout
        rv_text = q.get("resourceVersion", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True

        def send(etype, obj):
            line = (json.dumps({"type": etype, "object": obj}) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        def matches(r, n, obj):
            return (r == resource and (ns is None or n == ns)
                    and lm(obj["metadata"].get("labels")) and fm(obj))
        with c.cond:
            epoch = c.watch_epoch
            if rv_text in ("", "0"):
                initial = [copy.deepcopy(o) for o in c.list(resource, ns)
                           if matches(resource, o["metadata"].get("namespace"), o)]
                last = c.rv
            else:
                try:
                    last = int(rv_text)
                except ValueError:
                    last = -1
                initial = []
                if last < c.oldest_rv:
                    gone = status_obj(410, "Expired", "too old resource version: %s (%d)"
                                      % (rv_text, c.oldest_rv + 1))
                    send("ERROR", gone)
                    self.wfile.write(b"0\r\n\r\n")
                    return
        for o in initial:
            send("ADDED", self.outward(o, resource))
        while True:
            with c.cond:
                pending = [e for e in c.events if e[0] > last]
                while not pending and c.watch_epoch == epoch and time.time() < deadline:
                    c.cond.wait(min(1.0, max(0.01, deadline - time.time())))
                    pending = [e for e in c.events if e[0] > last]
                broken = c.watch_epoch != epoch
            if broken:
                # Mid-stream break: no terminating chunk, the connection just drops.
                try:
                    self.wfile.write(b"40\r\n{\"type\":\"MODIFIED\",\"obj")
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            for rv, r, n, etype, obj in pending:
                last = rv
                if matches(r, n, obj):
                    send(etype, self.outward(obj, resource))
            if time.time() >= deadline:
                self.wfile.write(b"0\r\n\r\n")
                return

    def patch(self, resource, ns, name, sub, version):
        c = self.cluster
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        body = self.json_body()
        self._body_read = True
        allowed = ["application/json-patch+json", "application/merge-patch+json",
                   "application/apply-patch+yaml"]
        if resource != "virtualservices":
            allowed.insert(2, "application/strategic-merge-patch+json")
        if ctype not in allowed or ctype == "application/apply-patch+yaml":
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types "
                           "include: " + ", ".join(allowed))
        with c.cond:
            cur = c.get(resource, ns, name)
            if cur is None:
                raise not_found(resource, name)
            base = self.scale_of(cur) if sub == "scale" else self.outward(copy.deepcopy(cur), resource, version)
            if ctype == "application/json-patch+json":
                out = json_patch(base, body)
            elif ctype == "application/merge-patch+json":
                out = merge_patch(base, body)
            else:
                out = strategic_merge(base, body)
            return self.store_update(resource, ns, name, sub, cur, out, version)

    def put(self, resource, ns, name, sub, version):
        c = self.cluster
        body = self.json_body()
        self._body_read = True
        with c.cond:
            cur = c.get(resource, ns, name)
            if cur is None:
                raise not_found(resource, name)
            if not isinstance(body, dict) or not body.get("metadata", {}).get("resourceVersion"):
                raise ApiError(422, "Invalid", '%s "%s" is invalid: metadata.resourceVersion: Invalid '
                               'value: 0x0: must be specified for an update' % (RESOURCES[resource][2], name))
            return self.store_update(resource, ns, name, sub, cur, body, version)

    def store_update(self, resource, ns, name, sub, cur, out, version):
        """Checks and stores an updated object. Caller holds the lock."""
        c = self.cluster
        if c.conflicts > 0:
            c.conflicts -= 1
            raise conflict(resource, name)
        if not isinstance(out, dict):
            raise ApiError(400, "BadRequest", "the patched object is not a JSON object")
        rv = out.get("metadata", {}).get("resourceVersion")
        if rv and rv != cur["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        if sub == "scale":
            n = out.get("spec", {}).get("replicas")
            if not isinstance(n, int) or n < 0:
                raise ApiError(422, "Invalid", 'Scale.autoscaling "%s" is invalid: spec.replicas: '
                               'Invalid value: %r: must be greater than or equal to 0' % (name, n))
            new = copy.deepcopy(cur)
            if new["spec"].get("replicas") != n:
                new["spec"]["replicas"] = n
                new["metadata"]["generation"] += 1
                c.put(resource, new, "MODIFIED")
            return self.send_json(200, self.scale_of(new))
        new = copy.deepcopy(cur)
        md_in = out.get("metadata", {})
        if sub == "status":
            new["status"] = out.get("status", {})
        else:
            if md_in.get("name", name) != name:
                raise ApiError(422, "Invalid", "metadata.name: Invalid value: field is immutable")
            for k in ("labels", "annotations"):
                if md_in.get(k) is None:
                    new["metadata"].pop(k, None)
                else:
                    new["metadata"][k] = md_in[k]
            new["spec"] = out.get("spec", {})
            if resource == "deployments":
                self.validate_deployment(name, new)
        changed = json.dumps(new, sort_keys=True) != json.dumps(cur, sort_keys=True)
        if changed:
            if resource == "deployments" and (new["spec"] != cur["spec"] or
                                              new["metadata"].get("annotations") != cur["metadata"].get("annotations")):
                new["metadata"]["generation"] = cur["metadata"].get("generation", 1) + 1
            elif resource != "deployments" and new.get("spec") != cur.get("spec"):
                new["metadata"]["generation"] = cur["metadata"].get("generation", 1) + 1
            c.put(resource, new, "MODIFIED")
        return self.send_json(200, self.outward(copy.deepcopy(new), resource, version))

    @staticmethod
    def validate_deployment(name, dep):
        spec = dep["spec"]
        errs = []
        r = spec.get("replicas", 1)
        if not isinstance(r, int) or r < 0:
            errs.append("spec.replicas: Invalid value: %r: must be greater than or equal to 0" % (r,))
        sel = spec.get("selector", {}).get("matchLabels", {})
        labels = spec.get("template", {}).get("metadata", {}).get("labels", {}) or {}
        if any(labels.get(k) != v for k, v in sel.items()):
            errs.append("spec.template.metadata.labels: Invalid value: %s: `selector` does not match "
                        "template `labels`" % json.dumps(labels))
        cs = spec.get("template", {}).get("spec", {}).get("containers")
        if not cs:
            errs.append("spec.template.spec.containers: Required value")
        for i, ctr in enumerate(cs or []):
            if not ctr.get("image"):
                errs.append("spec.template.spec.containers[%d].image: Required value" % i)
        if errs:
            raise ApiError(422, "Invalid", 'Deployment.apps "%s" is invalid: %s'
                           % (name, ", ".join(errs)), name, "deployments")

    # --- the model service, through the service proxy ---

    def service_proxy(self, ns, svc_name, sub, q):
        c = self.cluster
        with c.cond:
            svc = c.get("services", ns, svc_name)
            if svc is None:
                raise not_found("services", svc_name)
            lm = label_matcher(",".join("%s=%s" % kv for kv in sorted(svc["spec"]["selector"].items())))
            pods = [p for p in c.list("pods", ns) if lm(p["metadata"].get("labels"))
                    and c.pod_ready(p)]
            if not pods:
                raise ApiError(503, "ServiceUnavailable",
                               'no endpoints available for service "%s"' % svc_name)
            pod = c.rand.choice(pods)
            dep = c.dep_of(pod, "pods")
            dep_name = dep["metadata"]["name"]
            # A pod answers with the image it runs, not with its deployment's
            # template: mid-rollout, the old pods still serve the old version.
            version, image = c.version_of({"spec": {"template": {"spec": pod.get("spec", {})}}})
            f = c.fault(ns, dep_name)
        if sub in ("/health", "/healthz"):
            return self.send_json(200, {"status": "healthy", "model_loaded": True,
                                        "version": version, "pod": pod["metadata"]["name"]})
        if sub == "/model/info":
            return self.send_json(200, {"model": "churn", "version": version, "image": image,
                                        "namespace": ns, "deployment": dep_name,
                                        "pod": pod["metadata"]["name"]})
        if sub == "/metrics":
            with c.cond:
                text = c.metrics_text(only=(ns, dep_name))
            return self.send_text(200, text)
        if sub == "/predict":
            if self.command != "POST":
                raise ApiError(405, "MethodNotAllowed", "POST a JSON customer record to /predict")
            body = self.json_body()
            self._body_read = True
            delay = f.get("latency_ms", 0) / 1000.0
            start = time.time()
            if delay:
                time.sleep(delay)
            failed = c.rand.random() < f.get("error_rate", 0.0)
            records = body if isinstance(body, list) else [body]
            if not all(isinstance(r, dict) for r in records):
                raise ApiError(400, "BadRequest", "predict: the body must be a JSON object or an array of them")
            lat = time.time() - start + c.rand.uniform(0.005, 0.02)
            with c.cond:
                c.observe(ns, dep_name, lat, failed)
            if failed:
                return self.send_json(500, {"error": "prediction failed (injected)", "version": version})
            model = self.models.get(version) if self.models else None
            out = [model.score(r, version) if model else self.score(r, version)
                   for r in records]
            skew = float(f.get("skew", 0.0))
            if skew:
                for o in out:
                    p = min(1.0, max(0.0, o["churn_probability"] + skew))
                    o["churn_probability"] = round(p, 6)
                    o["prediction"] = "Yes" if p >= 0.5 else "No"
            return self.send_json(200, out if isinstance(body, list) else out[0])
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    @staticmethod
    def score(rec, version):
        """A stand-in score: a logistic of a few telco fields. The sandbox
        simulates a service; it is not the model."""
        def num(k, d):
            try:
                return float(rec.get(k, d))
            except (TypeError, ValueError):
                return d
        z = 0.8 - 0.05 * num("tenure", 12) + 0.02 * num("monthly_charges", 65)
        contract = str(rec.get("contract", "Month-to-month"))
        z -= {"One year": 1.2, "Two year": 2.4}.get(contract, 0.0)
        p = 1.0 / (1.0 + math.exp(-z))
        return {"churn_probability": round(p, 6), "prediction": "Yes" if p >= 0.5 else "No",
                "model_version": version}


class ServedModel:
    """A churnops model directory scored in pure Python: XGBoost's JSON trees
    (binary:logistic) with numeric splits (value < condition goes left) and
    categorical ones (a category in the node's set goes right, as XGBoost's
    Decision() has it), missing values following default_left. Records are
    encoded as churnops does: a categorical level becomes its index in the
    schema's sorted levels, an unknown level or empty cell is missing."""

    def __init__(self, directory):
        with open(directory + "/model.json", encoding="utf-8") as f:
            m = json.load(f)
        with open(directory + "/schema.json", encoding="utf-8") as f:
            self.features = json.load(f)["features"]
        learner = m["learner"]
        obj = learner["objective"]["name"]
        if obj != "binary:logistic":
            raise ValueError("%s: objective %s is not supported" % (directory, obj))
        base = float(learner["learner_model_param"]["base_score"])
        self.base_margin = math.log(base / (1.0 - base))
        self.trees = []
        for t in learner["gradient_booster"]["model"]["trees"]:
            cats = {}
            for node, beg, size in zip(t["categories_nodes"], t["categories_segments"],
                                       t["categories_sizes"]):
                cats[node] = set(t["categories"][beg:beg + size])
            # XGBoost compares 32-bit floats; so must we, or a value equal
            # to a threshold in float lands on the other side of it.
            conds = [struct.unpack("f", struct.pack("f", c))[0] for c in t["split_conditions"]]
            self.trees.append((t["left_children"], t["right_children"], t["split_indices"],
                               conds, t["default_left"], t["split_type"], cats))

    def encode(self, rec):
        row = []
        for ft in self.features:
            v = rec.get(ft["name"])
            if v is None or v == "" or v == "NA":
                row.append(None)
            elif ft.get("type") == "categorical":
                levels = ft.get("levels", [])
                row.append(levels.index(str(v)) if str(v) in levels else None)
            else:
                try:
                    x = float(v)
                    # The model sees a 32-bit float: compare what it compares.
                    x = struct.unpack("f", struct.pack("f", x))[0] if abs(x) < 3.4e38 else x
                    row.append(None if math.isnan(x) else x)
                except (TypeError, ValueError):
                    raise ApiError(400, "BadRequest", "predict: feature '%s': %r is not a number"
                                   % (ft["name"], v))
        return row

    def score(self, rec, version):
        row = self.encode(rec)
        margin = self.base_margin
        for left, right, idx, cond, dleft, stype, cats in self.trees:
            n = 0
            while left[n] != -1:
                x = row[idx[n]]
                if x is None:
                    go_left = bool(dleft[n])
                elif stype[n] == 1:
                    go_left = int(x) not in cats.get(n, ())
                else:
                    go_left = x < cond[n]
                n = left[n] if go_left else right[n]
            margin += cond[n]
        p = 1.0 / (1.0 + math.exp(-margin))
        return {"churn_probability": round(p, 6), "prediction": "Yes" if p >= 0.5 else "No",
                "model_version": version}


def load_models(directory):
    """version -> ServedModel for every DIRECTORY/VERSION holding a model."""
    out = {}
    for name in sorted(os.listdir(directory)):
        d = os.path.join(directory, name)
        if os.path.isfile(os.path.join(d, "model.json")) and \
                os.path.isfile(os.path.join(d, "schema.json")):
            out[name] = ServedModel(d)
    return out


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a load test's
    # burst of connections, and each dropped one costs a 1 s retransmit.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        ex = sys.exc_info()[1]
        if isinstance(ex, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
            return  # a client that refused our certificate, or went away
        super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="a simulated Kubernetes cluster for churnops")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this pair")
    ap.add_argument("--token", help="bearer token with full access")
    ap.add_argument("--read-only-token", help="bearer token allowed get, list and watch only")
    ap.add_argument("--client-ca", metavar="CA",
                    help="accept client certificates signed by CA (CN admin: full access, "
                         "any other CN: read-only)")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    ap.add_argument("--models", metavar="DIR",
                    help="score /predict with DIR/VERSION/{model.json,schema.json} "
                         "for the version a deployment runs")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive")
    if (args.token or args.read_only_token) and not args.tls:
        print("kubesim: warning: tokens over plain HTTP (kubectl will not send them)",
              file=sys.stderr)
    cluster = Cluster(args.speed)
    cluster.seed()
    Handler.cluster = cluster
    Handler.token = args.token
    Handler.read_only_token = args.read_only_token
    if args.models:
        Handler.models = load_models(args.models)
    if args.client_ca and not args.tls:
        ap.error("--client-ca needs --tls")
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_OPTIONAL
            Handler.client_certs = True
        Handler.tls_context = ctx
    server = Server(("127.0.0.1", args.port), Handler)
    threading.Thread(target=cluster.run_controller, daemon=True).start()
    print("ready %s://127.0.0.1:%d" % ("https" if args.tls else "http", server.server_address[1]),
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
