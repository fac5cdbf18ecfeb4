#!/usr/bin/env python3
"""Fake Alibaba Cloud OpenAPI gateway for the alicloud specs and `make demo`.

A real HTTP/1.1 server (keep-alive, always Content-Length) on loopback that
verifies RPC v1, ROA and V3 signatures with its own implementation, written
from openapi-protocol.md and sharing nothing with the C signer, and serves a
few ECS (RPC) actions and CS (ROA) routes.  Unsigned control API under
/__fake/.  STS and the ECS instance metadata service live in fake_sts.py and
fake_metadata.py, fault modes (x-fake-fault) in fake_faults.py, plugged in as
extensions (see "extensions" below).  --tls adds HTTPS listeners.
Standard library only.  See spec/support/README.md.
"""

import argparse
import base64
import collections
import copy
import hashlib
import hmac
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote

DEFAULT_KEYS = {"ak-test": "secret-test", "ak-other": "secret-other"}
ECS_VERSION = "2014-05-26"
CS_VERSION = "2015-12-15"
MAX_SKEW = 15 * 60          # seconds a timestamp may be away from now
NONCE_MEMORY = 200_000      # how many nonces we remember
VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("[fake_cloud] %s\n" % msg)
        sys.stderr.flush()


class ApiError(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(code)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def missing(name):
    code = "MissingSignature" if name == "Signature" else "MissingParameter"
    return ApiError(400, code, 'The input parameter "%s" that is mandatory for '
                    "processing this request is not supplied." % name)


def not_matched(string_to_sign, **extra):
    return ApiError(400, "SignatureDoesNotMatch",
                    "Specified signature is not matched with our calculation. "
                    "server string to sign is:" + string_to_sign, **extra)


# ---------------------------------------------------------------- encoding

def pe(s):
    """RFC 3986 percent-encoding of UTF-8 (unreserved A-Za-z0-9-_.~ kept)."""
    return quote(s.encode("utf-8"), safe="")


def by_key(pairs):
    # Byte order of the UTF-8 key; stable, so duplicate keys keep wire order.
    return sorted(pairs, key=lambda kv: kv[0].encode("utf-8"))


def parse_pairs(text):
    return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace")


def b64_hmac_sha1(key, msg):
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha1).digest()).decode()


# ---------------------------------------------------------------- state

def default_config():
    cfg = {"delay": 0, "actions": {}, "keys": dict(DEFAULT_KEYS), "sts_tokens": {},
           "max_skew": MAX_SKEW, "idle_timeout": None, "throttle": None}
    for ext in EXTENSIONS:
        cfg.update(copy.deepcopy(ext.config))
    return cfg


class Extension:
    """A module that plugs into this server (fake_sts.py, fake_metadata.py). Each hook is
    a no-op here; an extension overrides what it needs and appends itself to EXTENSIONS."""
    config = {}                         # extra config keys and their defaults

    def merge_config(self, key, value, current):
        """New value of one of our config keys (raise ApiError when invalid)."""
        return value

    def reset(self):
        pass

    def stats(self):
        return {}

    def secret(self, key_id):
        """The secret of a key this extension issued, else None."""
        return None

    def check_token(self, key_id, token):
        """True when key_id is ours and token is right for it (raise ApiError if not)."""
        return False

    def serve(self, handler, req):
        """True when this extension answered the (unsigned, non-API) request itself."""
        return False

    action_fields = set()               # extra fields an `actions` override may carry

    def respond(self, handler, resp):
        """True when this extension sent (or withheld) the API response `resp` itself."""
        return False


EXTENSIONS = []
UNSIGNED_ACTIONS = set()    # RPC actions that are not signed (AssumeRoleWithOIDC)


ACTION_FIELDS = {"delay", "status", "code", "message", "body", "headers",
                 "content_type", "times", "every", "drop"}


def action_fields():
    return ACTION_FIELDS.union(*(ext.action_fields for ext in EXTENSIONS))


class State:
    """Everything shared between handler threads; guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.generation = 0
        self.wake = threading.Event()
        self.reset()

    def reset(self):
        with self.lock:
            # A new generation: requests that started before this reset (a sleeping delay, a
            # stall) are woken up, and no longer count in current / max_concurrent / errors.
            self.generation += 1
            self.wake.set()
            self.wake = threading.Event()
            self.config = default_config()
            self.every_seen = collections.Counter()
            self.nonces, self.nonce_order = set(), collections.deque()
            self.requests = 0
            self.current = 0
            self.max_concurrent = 0
            self.connections = 0
            self.by_action = collections.Counter()
            self.errors = collections.Counter()
            self.bucket = None          # [tokens, monotonic time] while "throttle" is set
        for ext in EXTENSIONS:
            ext.reset()

    def merge_config(self, patch):
        if not isinstance(patch, dict):
            raise ApiError(400, "InvalidConfig", "config must be a JSON object")
        with self.lock:
            cfg = copy.deepcopy(self.config)
            for k, v in patch.items():
                if k in ("delay", "max_skew"):
                    if not isinstance(v, (int, float)) or v < 0:
                        raise ApiError(400, "InvalidConfig", "%s must be a number >= 0" % k)
                    cfg[k] = v
                elif k == "throttle":
                    if v is not None and not (isinstance(v, dict) and set(v) <= {"rate", "burst"}
                                              and isinstance(v.get("rate"), (int, float)) and v["rate"] > 0
                                              and isinstance(v.get("burst", 1), (int, float))
                                              and v.get("burst", 1) >= 1):
                        raise ApiError(400, "InvalidConfig", "throttle must be {rate > 0, burst >= 1} or null")
                    cfg[k] = v
                    self.bucket = None
                elif k == "idle_timeout":
                    if v is not None and (not isinstance(v, (int, float)) or v <= 0):
                        raise ApiError(400, "InvalidConfig", "idle_timeout must be > 0 or null")
                    cfg[k] = v
                elif k in ("actions", "keys", "sts_tokens"):
                    if not isinstance(v, dict):
                        raise ApiError(400, "InvalidConfig", "%s must be an object" % k)
                    for name, val in v.items():   # null removes an entry
                        if val is None:
                            cfg[k].pop(name, None)
                        elif k == "actions":
                            if not isinstance(val, dict) or set(val) - action_fields():
                                raise ApiError(400, "InvalidConfig", "actions[%s]: unknown fields %s"
                                               % (name, sorted(set(val) - action_fields())))
                            every = val.get("every", 1)
                            if isinstance(every, bool) or not isinstance(every, int) or every < 1:
                                raise ApiError(400, "InvalidConfig", "actions[%s].every must be an "
                                               "integer >= 1" % name)
                            cfg[k][name] = val
                            self.every_seen.pop(name, None)
                        elif not isinstance(val, str):
                            raise ApiError(400, "InvalidConfig", "%s[%s] must be a string" % (k, name))
                        else:
                            cfg[k][name] = val
                else:
                    ext = next((e for e in EXTENSIONS if k in e.config), None)
                    if ext is None:
                        raise ApiError(400, "InvalidConfig", "unknown config key %r" % k)
                    cfg[k] = ext.merge_config(k, v, cfg[k])
            self.config = cfg
            return copy.deepcopy(cfg)

    def get(self, name):
        with self.lock:
            return self.config[name]

    def take_override(self, names):
        """First configured override among names; counts down its `times`. With `every = k`
        only each k-th matching request gets it (the others see no override)."""
        with self.lock:
            actions = self.config["actions"]
            for name in names:
                ov = actions.get(name)
                if ov is None:
                    continue
                if "every" in ov:
                    self.every_seen[name] += 1
                    if self.every_seen[name] % ov["every"]:
                        return None
                if "times" in ov:
                    if ov["times"] <= 1:
                        del actions[name]
                    else:
                        actions[name] = dict(ov, times=ov["times"] - 1)
                return ov
        return None

    def admit(self):
        """The gateway's flow control when config "throttle" is set: a token bucket of `rate`
        per second holding at most `burst`; a request finding it empty is refused."""
        with self.lock:
            t = self.config["throttle"]
            if not t:
                return
            now, burst = time.monotonic(), float(t.get("burst", 1))
            tokens, last = self.bucket or (burst, now)
            tokens = min(burst, tokens + (now - last) * t["rate"])
            if tokens < 1:
                self.bucket = [tokens, now]
                raise ApiError(400, "Throttling.User", "Request was denied due to user flow control.")
            self.bucket = [tokens - 1, now]

    def use_nonce(self, nonce):
        with self.lock:
            if nonce in self.nonces:
                raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self.nonces.add(nonce)
            self.nonce_order.append(nonce)
            if len(self.nonce_order) > NONCE_MEMORY:
                self.nonces.discard(self.nonce_order.popleft())

    def enter(self, handler):
        """Counts a starting API request; remembers its generation on the handler."""
        with self.lock:
            handler.generation, handler.wake = self.generation, self.wake
            self.requests += 1
            self.current += 1
            self.max_concurrent = max(self.max_concurrent, self.current)
            if handler.api_connection != self.generation:   # connections that carried API traffic
                handler.api_connection = self.generation
                self.connections += 1

    def leave(self, handler):
        with self.lock:
            if handler.generation == self.generation:       # else a reset already forgot it
                self.current -= 1

    def count(self, counter, name, handler=None):
        """counter is "by_action" or "errors" (or the Counter itself, counted unconditionally)."""
        with self.lock:
            if isinstance(counter, str):
                if handler is not None and handler.generation != self.generation:
                    return
                counter = getattr(self, counter)
            counter[name] += 1

    def sleep(self, handler, seconds):
        """Sleeps like time.sleep, but a reset wakes it up. False when woken (stale request)."""
        if seconds <= 0:
            return True
        return not handler.wake.wait(seconds)

    def stale(self, handler):
        return handler.generation != self.generation

    def stats(self):
        with self.lock:
            out = {"requests": self.requests, "current": self.current,
                   "max_concurrent": self.max_concurrent, "by_action": dict(self.by_action),
                   "connections": self.connections, "errors": dict(self.errors)}
        for ext in EXTENSIONS:
            out.update(ext.stats())
        return out


STATE = State()


# ---------------------------------------------------------------- request model

class Request:
    def __init__(self, handler, body):
        self.method = handler.command.upper()
        self.raw_path, _, self.raw_query = handler.path.partition("?")
        self.headers = handler.headers
        self.body = body
        self.query = parse_pairs(self.raw_query)
        ctype = self.header("content-type").lower()
        self.form = parse_pairs(body.decode("utf-8", "replace")) \
            if ctype.startswith("application/x-www-form-urlencoded") else []
        self.json = None
        if ctype.startswith("application/json") and body:
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def header(self, name):
        """All values of a header joined by ',' ('' when absent)."""
        values = self.headers.get_all(name) or []
        return ",".join(v.strip() for v in values)

    def has_header(self, name):
        return self.headers.get(name) is not None

    def params(self):
        """query ∪ form ∪ JSON-object body, later sources win."""
        out = dict(self.query)
        out.update(self.form)
        if isinstance(self.json, dict):
            out.update(self.json)
        return out


# ---------------------------------------------------------------- verification

def lookup_secret(key_id):
    secret = STATE.get("keys").get(key_id)
    for ext in EXTENSIONS:
        secret = secret or ext.secret(key_id)
    if secret is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    return secret


def check_time(dt):
    if abs(time.time() - dt.timestamp()) > STATE.get("max_skew"):
        raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def parse_iso(value):
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ApiError(400, "InvalidTimeStamp.Format",
                       "Specified time stamp or date value is not well formatted.") from None


def parse_http_date(value):
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        dt = None
    if dt is None or dt.tzinfo is None:
        raise ApiError(400, "InvalidTimeStamp.Format",
                       "Specified time stamp or date value is not well formatted.")
    return dt


def check_sts(key_id, token):
    """Hook for STS: a key id listed in sts_tokens needs exactly that token."""
    if any(ext.check_token(key_id, token) for ext in EXTENSIONS):
        return                      # issued by fake_sts: token and expiry checked there
    want = STATE.get("sts_tokens").get(key_id)
    if want is None:
        return                      # plain key: any (or no) token is accepted
    if not token:
        raise ApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this access key.")
    if token != want:
        raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                       "Specified SecurityToken mismatch with the AccessKey.")


def verify_rpc(req):
    pairs = req.query + req.form
    p = {}
    for k, v in pairs:
        p.setdefault(k, v)
    if "Signature" not in p:
        raise missing("Signature")
    for name in ("AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce",
                 "Timestamp", "Action", "Version"):
        if not p.get(name):
            raise missing(name)
    if p["SignatureMethod"] != "HMAC-SHA1":
        raise ApiError(400, "InvalidSignatureMethod", "Specified signature method is not supported.")
    if p["SignatureVersion"] != "1.0":
        raise ApiError(400, "InvalidSignatureVersion", "Specified signature version is not supported.")
    secret = lookup_secret(p["AccessKeyId"])
    check_time(parse_iso(p["Timestamp"]))
    canon = "&".join(pe(k) + "=" + pe(v) for k, v in by_key(pairs) if k != "Signature")
    sts = req.method + "&%2F&" + pe(canon)
    if not hmac.compare_digest(b64_hmac_sha1(secret + "&", sts).encode(), p["Signature"].encode()):
        raise not_matched(sts)
    check_sts(p["AccessKeyId"], p.get("SecurityToken"))
    STATE.use_nonce(p["SignatureNonce"])
    return "rpc"


def roa_candidates(req):
    """ROA strings-to-sign: the documented one first, then the variants the
    official SDKs disagree on (empty query value `k` vs `k=`, raw vs decoded
    path, TAB mapping in x-acs-* header values)."""
    head = "\n".join([req.method, req.header("accept"), req.header("content-md5"),
                      req.header("content-type"), req.header("date")]) + "\n"
    names = sorted({n.lower() for n in req.headers.keys() if n.lower().startswith("x-acs-")})
    header_forms = []
    for tabs in (False, True):
        lines = []
        for n in names:
            v = req.header(n)
            if tabs:
                v = re.sub(r"[\t\n\r\f]", " ", v).strip()
            lines.append("%s:%s\n" % (n, v))
        header_forms.append("".join(lines))
    decoded_path = unquote(req.raw_path)
    query = by_key(req.query)
    out = []
    for path in (decoded_path, req.raw_path):
        for bare_empty in (True, False):
            res = path
            if query:
                res += "?" + "&".join(k if (v == "" and bare_empty) else k + "=" + v for k, v in query)
            for hdrs in header_forms:
                s = head + hdrs + res
                if s not in out:
                    out.append(s)
    return out


def verify_roa(req, auth):
    m = re.fullmatch(r"acs ([^:\s]+):(\S+)", auth)
    if not m:
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    key_id, sig = m.groups()
    secret = lookup_secret(key_id)
    if not req.has_header("date"):
        raise missing("Date")
    check_time(parse_http_date(req.header("date")))
    md5 = req.header("content-md5")
    if md5 and md5 != base64.b64encode(hashlib.md5(req.body).digest()).decode():
        raise ApiError(400, "InvalidContentMD5", "Content-MD5 does not match the request body.")
    candidates = roa_candidates(req)
    if not any(hmac.compare_digest(b64_hmac_sha1(secret, s).encode(), sig.encode()) for s in candidates):
        raise not_matched(candidates[0])
    check_sts(key_id, req.header("x-acs-security-token"))
    if req.header("x-acs-signature-nonce"):   # optional in ROA (Go V1 never sends it)
        STATE.use_nonce(req.header("x-acs-signature-nonce"))
    return "roa"


V3_REQUIRED = ("host", "x-acs-action", "x-acs-version", "x-acs-date",
               "x-acs-signature-nonce", "x-acs-content-sha256")


def v3_string_to_sign(req, signed):
    query = "&".join(k + "=" + pe(v) for k, v in by_key(req.query))
    headers = "".join("%s:%s\n" % (n, ",".join(sorted(v.strip() for v in req.headers.get_all(n) or [])))
                      for n in signed)
    canonical = "\n".join([req.method, req.raw_path or "/", query, headers, ";".join(signed),
                           hashlib.sha256(req.body).hexdigest()])
    return canonical, "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()


def verify_v3(req, auth):
    fields = {}
    for part in auth[len("ACS3-HMAC-SHA256 "):].split(","):
        k, eq, v = part.strip().partition("=")
        if eq:
            fields[k] = v
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    for h in V3_REQUIRED:
        if not req.has_header(h):
            raise missing(h)
    signed = sorted({h.strip().lower() for h in fields["SignedHeaders"].split(";") if h.strip()})
    for h in V3_REQUIRED:
        if h not in signed:
            raise ApiError(400, "IncompleteSignature", 'Header "%s" must be in SignedHeaders.' % h)
    # a strict gateway: a content type sent but not signed could have been changed on the way
    if req.has_header("content-type") and "content-type" not in signed:
        raise ApiError(400, "IncompleteSignature", 'Header "content-type" must be in SignedHeaders.')
    secret = lookup_secret(fields["Credential"])
    check_time(parse_iso(req.header("x-acs-date")))
    if req.header("x-acs-content-sha256") != hashlib.sha256(req.body).hexdigest():
        raise ApiError(400, "InvalidContentSha256", "x-acs-content-sha256 does not match the request body.")
    canonical, sts = v3_string_to_sign(req, signed)
    want = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want.encode(), fields["Signature"].encode()):
        log("V3 canonical request:\n" + canonical)
        raise not_matched(sts, CanonicalRequest=canonical)
    check_sts(fields["Credential"], req.header("x-acs-security-token"))
    STATE.use_nonce(req.header("x-acs-signature-nonce"))
    return "v3"


def authenticate(req):
    auth = req.header("authorization")
    if auth.startswith("ACS3-HMAC-SHA256 "):
        return verify_v3(req, auth)
    if auth.startswith("acs "):
        return verify_roa(req, auth)
    return verify_rpc(req)


# ---------------------------------------------------------------- fake data

REGIONS = [
    ("cn-qingdao", "华北1（青岛）"), ("cn-beijing", "华北2（北京）"),
    ("cn-zhangjiakou", "华北3（张家口）"), ("cn-huhehaote", "华北5（呼和浩特）"),
    ("cn-hangzhou", "华东1（杭州）"), ("cn-shanghai", "华东2（上海）"),
    ("cn-shenzhen", "华南1（深圳）"), ("cn-chengdu", "西南1（成都）"),
    ("cn-hongkong", "中国香港"), ("ap-southeast-1", "新加坡"),
    ("us-west-1", "美国（硅谷）"), ("eu-central-1", "德国（法兰克福）"),
]
INSTANCE_TYPES = [("ecs.g7.large", 2, 8192), ("ecs.c7.xlarge", 4, 8192), ("ecs.r7.large", 2, 16384)]
INSTANCE_COUNT = 25

CLUSTERS = [
    {"cluster_id": "c-fake%016d" % i, "name": "fake-k8s-%d" % i, "region_id": "cn-hangzhou",
     "zone_id": "cn-hangzhou-h", "state": "running", "cluster_type": "ManagedKubernetes",
     "current_version": "1.30.1-aliyun.1", "size": 3 * i, "vpc_id": "vpc-fake%d" % i,
     "created": "2024-01-0%dT08:00:00+08:00" % i, "tags": [{"key": "env", "value": "test"}]}
    for i in (1, 2)
]


def ecs_version(req, p):
    version = p.get("Version") or req.header("x-acs-version")
    if version != ECS_VERSION:
        raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")


def int_param(p, name, default, lo, hi):
    raw = p.get(name, default)
    try:
        n = int(raw)
    except (TypeError, ValueError):
        n = None
    if n is None or not lo <= n <= hi:
        raise ApiError(400, "InvalidParameter", 'The specified parameter "%s" is not valid.' % name)
    return n


def describe_regions(req, rid):
    ecs_version(req, req.params())
    return {"RequestId": rid, "Regions": {"Region": [
        {"RegionId": r, "RegionEndpoint": "ecs.%s.aliyuncs.com" % r, "LocalName": name}
        for r, name in REGIONS]}}


def describe_instances(req, rid):
    p = req.params()
    ecs_version(req, p)
    page = int_param(p, "PageNumber", 1, 1, 10**9)
    size = int_param(p, "PageSize", 10, 1, 100)
    region = p.get("RegionId") or "cn-hangzhou"
    items = []
    for i in range((page - 1) * size + 1, min(page * size, INSTANCE_COUNT) + 1):
        itype, cpu, mem = INSTANCE_TYPES[i % len(INSTANCE_TYPES)]
        items.append({
            "InstanceId": "i-fake%06d" % i, "InstanceName": "fake-instance-%02d" % i,
            "Status": "Running", "RegionId": region, "ZoneId": region + "-" + "abc"[i % 3],
            "InstanceType": itype, "Cpu": cpu, "Memory": mem,
            "CreationTime": "2024-01-%02dT08:00Z" % min(i, 28),
            "Tags": {"Tag": [{"TagKey": "env", "TagValue": "test"},
                             {"TagKey": "index", "TagValue": str(i)}]}})
    return {"RequestId": rid, "TotalCount": INSTANCE_COUNT, "PageNumber": page,
            "PageSize": size, "Instances": {"Instance": items}}


def fake_echo(req, rid, style):
    headers = {}
    for k, v in req.headers.items():
        k = k.lower()
        headers[k] = headers[k] + ", " + v if k in headers else v
    return {"RequestId": rid, "Method": req.method, "Path": req.raw_path,
            "Query": dict(req.query), "Form": dict(req.form), "Headers": headers,
            "Body": req.body.decode("utf-8", "replace"), "Style": style}


def find_cluster(cid):
    for c in CLUSTERS:
        if c["cluster_id"] == cid:
            return c
    raise ApiError(404, "ErrorClusterNotFound", "The specified cluster %s is not found." % cid)


def cs_list(req, rid):
    return {"clusters": CLUSTERS, "request_id": rid,
            "page_info": {"page_number": 1, "page_size": 10, "total_count": len(CLUSTERS)}}


def cs_create(req, rid):
    try:
        body = json.loads(req.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
    return {"cluster_id": "c-fake" + uuid.uuid4().hex, "request_id": rid,
            "task_id": "T-" + uuid.uuid4().hex[:20]}


def cs_get(req, rid, cid):
    return dict(find_cluster(cid), request_id=rid)


def cs_attach(req, rid, cid):
    find_cluster(cid)
    return {"request_id": rid, "list": []}


RPC_ACTIONS = {"DescribeRegions": describe_regions, "DescribeInstances": describe_instances}
# (method, path regex, name used for stats/overrides, handler)
ROA_ROUTES = [
    ("GET", r"/clusters", "GET /clusters", cs_list),
    ("POST", r"/clusters", "POST /clusters", cs_create),
    ("GET", r"/clusters/([^/]+)", "GET /clusters/{id}", cs_get),
    ("POST", r"/clusters/([^/]+)/attach", "POST /clusters/{id}/attach", cs_attach),
]


class Route:
    """What a request is aiming at, known before authentication."""

    def __init__(self, req):
        self.product, self.args, self.run, self.unsigned = "Ecs", (), None, False
        auth = req.header("authorization")
        header_action = req.header("x-acs-action")
        if not auth.startswith(("ACS3-HMAC-SHA256 ", "acs ")):      # RPC
            self.name = next((v for k, v in req.query + req.form if k == "Action"), "") or "(none)"
        elif req.raw_path in ("", "/") or header_action == "FakeEcho":
            self.name = header_action or "(none)"
        else:
            self.product = "CS"
            self.name = "%s %s" % (req.method, req.raw_path)
            for method, pattern, name, fn in ROA_ROUTES:
                m = re.fullmatch(pattern, req.raw_path)
                if m and method == req.method:
                    self.name, self.args, self.run = name, m.groups(), fn
                    break
            self.override_names = [header_action, "%s %s" % (req.method, req.raw_path), self.name]
            return
        self.run = RPC_ACTIONS.get(self.name)
        self.unsigned = not auth and self.name in UNSIGNED_ACTIONS
        self.override_names = [self.name]

    def call(self, req, rid, style):
        if self.name == "FakeEcho":
            return fake_echo(req, rid, style)
        if self.product != "CS" and fake_params.modeled(self.name):
            fake_params.check(req, self.name)
            if self.run is None:
                return fake_params.echo(req, rid, self.name)
        if self.run is None:
            raise ApiError(404, "InvalidAction.NotFound",
                           "Specified api is not found, please check your url and method.")
        if self.product == "CS":
            version = req.header("x-acs-version")
            if version and version != CS_VERSION:
                raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        return self.run(req, rid, *self.args)


# ---------------------------------------------------------------- extensions

# fake_sts / fake_metadata import this module by name; when it runs as a script it is
# __main__, so alias it or they would get a second copy with its own STATE.
sys.modules.setdefault("fake_cloud", sys.modules[__name__])
import fake_sts        # noqa: E402  (STS AssumeRole / AssumeRoleWithOIDC)
import fake_metadata   # noqa: E402  (ECS instance metadata under /latest/)
import fake_faults     # noqa: E402  (transport fault modes: x-fake-fault, override `fault`)
import fake_params     # noqa: E402  (parameter checks of the modeled RPC actions)

EXTENSIONS.extend([fake_sts.STS, fake_metadata.METADATA, fake_faults.FAULTS])
import fake_instances  # noqa: E402  (a fleet: DescribeInstances, ListTagResources, Starting -> Running)
EXTENSIONS.append(fake_instances.INSTANCES)
STATE.reset()           # now with the extensions' config keys


# ---------------------------------------------------------------- HTTP

JSON_TYPE = "application/json;charset=utf-8"


def to_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seconds(value):
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 0.0


class Response:
    """The API response about to be sent; an extension's respond() may change or send it."""

    def __init__(self, req, rid, route, status, headers, content_type, body, delay, override):
        self.req, self.request_id, self.route = req, rid, route
        self.status, self.headers, self.content_type = status, headers, content_type
        self.body, self.delay, self.override = body, delay, override or {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAliyun/1.0"
    disable_nagle_algorithm = True   # headers and body are separate writes

    def setup(self):
        super().setup()
        self.api_connection = None      # the generation it last carried an API request in
        self.generation, self.wake = 0, threading.Event()
        idle = STATE.get("idle_timeout")
        if idle:
            self.connection.settimeout(idle)

    def log_message(self, fmt, *args):
        log("%s %s" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass            # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body, headers=None, content_type=JSON_TYPE):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def dispatch(self):
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.send(400, to_json({"Code": "BadRequest", "Message": "bad request body framing"}))
            return
        if self.path.startswith("/__fake/"):
            self.control(body)
            return
        req = Request(self, body)
        if any(ext.serve(self, req) for ext in EXTENSIONS):
            return
        STATE.enter(self)
        try:
            self.api(req)
        finally:
            STATE.leave(self)

    def control(self, body):
        path = self.path.partition("?")[0]
        try:
            if path == "/__fake/config" and self.command == "POST":
                try:
                    patch = json.loads(body or b"{}")
                except ValueError:
                    raise ApiError(400, "InvalidConfig", "body is not JSON") from None
                out = STATE.merge_config(patch)
            elif path == "/__fake/config" and self.command == "GET":
                out = STATE.merge_config({})
            elif path == "/__fake/reset" and self.command == "POST":
                STATE.reset()
                out = {"ok": True}
            elif path == "/__fake/stats" and self.command == "GET":
                out = STATE.stats()
            else:
                raise ApiError(404, "NotFound", "unknown control endpoint %s %s" % (self.command, path))
            self.send(200, to_json(out))
        except ApiError as e:
            self.send(e.status, to_json({"Code": e.code, "Message": e.message}))

    def api(self, req):
        rid = str(uuid.uuid4()).upper()
        route = Route(req)
        STATE.count("by_action", route.name, self)
        delay = seconds(req.header("x-fake-delay")) if req.has_header("x-fake-delay") \
            else seconds(STATE.get("delay"))
        status, headers, ctype, payload = 200, {}, JSON_TYPE, None
        ov = None
        try:
            style = "rpc" if route.unsigned else authenticate(req)
            STATE.admit()
            ov = STATE.take_override([n for n in route.override_names if n])
            if ov:
                if "delay" in ov:
                    delay = seconds(ov["delay"])
                headers.update(ov.get("headers") or {})
                ctype = ov.get("content_type") or ctype
                if ov.get("drop"):      # simulate a dead peer: no response at all
                    STATE.sleep(self, delay)
                    self.close_connection = True
                    return
                if "status" in ov and "body" not in ov:
                    raise ApiError(int(ov["status"]), ov.get("code") or "FakeError",
                                   ov.get("message") or "Injected by fake cloud.")
                if "body" in ov:
                    status = int(ov.get("status", 200))
                    payload = ov["body"].encode("utf-8")
                    if status >= 400 and ov.get("code"):
                        STATE.count("errors", ov["code"], self)
            if payload is None:
                payload = to_json(route.call(req, rid, style))
        except ApiError as e:
            STATE.count("errors", e.code, self)
            status, ctype = e.status, JSON_TYPE
            err = {"RequestId": rid, "HostId": req.header("host") or "127.0.0.1",
                   "Code": e.code, "Message": e.message,
                   "Recommend": "https://api.aliyun.com/troubleshoot?q=%s&product=%s" % (e.code, route.product)}
            err.update(e.extra)
            payload = to_json(err)
        except Exception as e:  # a bug here must not look like a hang to the client
            log("internal error: %r" % e)
            status, ctype = 500, JSON_TYPE
            STATE.count("errors", "InternalError", self)
            payload = to_json({"RequestId": rid, "Code": "InternalError", "Message": repr(e)})
        headers["x-acs-request-id"] = rid
        resp = Response(req, rid, route, status, headers, ctype, payload, delay, ov)
        if any(ext.respond(self, resp) for ext in EXTENSIONS):
            return
        if not STATE.sleep(self, resp.delay):
            self.close_connection = True    # a reset woke us: this request's test is over
            return
        self.send(resp.status, resp.body, resp.headers, resp.content_type)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    tls = None          # an ssl.SSLContext: this listener speaks HTTPS

    def finish_request(self, request, client_address):
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:       # the handshake runs in the connection's thread, never in accept()
            request.settimeout(10)
            conn = self.tls.wrap_socket(request, server_side=True)   # detaches `request`
            conn.settimeout(None)
        except (OSError, ssl.SSLError) as e:
            log("TLS handshake with %s failed: %s" % (client_address, e))
            request.close()
            return
        try:
            super().finish_request(conn, client_address)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        if VERBOSE:   # peers resetting keep-alive connections is normal in specs
            super().handle_error(request, client_address)


# ---------------------------------------------------------------- main

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"   # a zombie is gone
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="Fake Alibaba Cloud OpenAPI server for specs.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--parent-pid", type=int)
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls", nargs=3, action="append", default=[], metavar=("NAME", "CERT", "KEY"),
                    help="also serve the API over HTTPS on another free port with this "
                         "certificate chain and key (repeatable); its port file line is "
                         "'tls NAME PORT'")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose

    httpd = Server((args.host, args.port), Handler)
    port = httpd.server_address[1]
    listeners, lines = [httpd], ["%d" % port]
    for name, cert, key in args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv = Server((args.host, 0), Handler)
        srv.tls = ctx
        listeners.append(srv)
        lines.append("tls %s %d" % (name, srv.server_address[1]))
    # The modeled actions' schemas load beside start-up, not under the first request's timing
    # (reading the catalogue takes ~0.2 s, seconds on a loaded machine).
    threading.Thread(target=fake_params.actions, daemon=True).start()
    if args.port_file:   # tmp + rename so a poller never sees a half-written file
        tmp = "%s.%d.tmp" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, args.port_file)
    try:
        print("READY %d" % port, flush=True)
    except OSError:
        pass

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for srv in listeners:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    deadline = time.monotonic() + args.lifetime
    while not stop.wait(0.5):
        if time.monotonic() > deadline:
            log("lifetime reached")
            break
        if args.parent_pid and not alive(args.parent_pid):
            log("parent %d gone" % args.parent_pid)
            break
    STATE.reset()       # wakes sleeping and stalled handlers
    for srv in listeners:
        srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
