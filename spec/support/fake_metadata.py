"""Fake ECS instance metadata service for fake_cloud.py, served on the same port under
/latest/ (unsigned, as on 100.100.100.200): IMDSv2 session tokens, the RAM role name and the
role's temporary credentials (issued by fake_sts.py, so the fake's API endpoints accept them).
Counters in stats()["metadata"]; behaviour under config["metadata"].  See
spec/support/README.md, "Instance metadata".
"""

import copy
import secrets
import threading
import time

import fake_cloud as fc
import fake_sts

PREFIX = "/latest/"
TOKEN_PATH = "/latest/api/token"
ROLES_PATH = "/latest/meta-data/ram/security-credentials/"
TOKEN_TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"
TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
TEXT = "text/plain;charset=utf-8"

DEFAULTS = {
    "role": "fake-ecs-role",   # the attached RAM role (null: none attached)
    "v2": "optional",          # "optional" | "required" (v1 refused) | "disabled" (no token API)
    "duration": 21600,         # seconds the role's credentials live
}
COUNTERS = ("requests", "token_requests", "role_requests", "credential_requests",
            "v1_requests", "rejected")


class MetadataError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class Metadata(fc.Extension):
    config = {"metadata": dict(DEFAULTS)}

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.tokens = {}                          # token -> expires_at
            self.counts = dict.fromkeys(COUNTERS, 0)

    def merge_config(self, key, value, current):
        if not isinstance(value, dict):
            raise fc.ApiError(400, "InvalidConfig", "metadata must be an object")
        out = copy.deepcopy(current)
        for k, v in value.items():
            if k not in DEFAULTS:
                raise fc.ApiError(400, "InvalidConfig", "metadata: unknown key %r" % k)
            if v is None and k != "role":
                v = DEFAULTS[k]                           # null restores the default
            if k == "role" and v is not None and (not isinstance(v, str) or not v):
                raise fc.ApiError(400, "InvalidConfig", "metadata.role must be a name or null")
            if k == "v2" and v not in ("optional", "required", "disabled"):
                raise fc.ApiError(400, "InvalidConfig",
                                  "metadata.v2 must be optional, required or disabled")
            if k == "duration" and (not isinstance(v, (int, float)) or v < 1):
                raise fc.ApiError(400, "InvalidConfig", "metadata.duration must be >= 1")
            out[k] = v
        return out

    def stats(self):
        with self.lock:
            return {"metadata": dict(self.counts)}

    def count(self, name):
        with self.lock:
            self.counts[name] += 1

    # ------------------------------------------------------------ serving

    def serve(self, handler, req):
        if not req.raw_path.startswith(PREFIX):
            return False
        self.count("requests")
        cfg = fc.STATE.get("metadata")
        path = req.raw_path
        if req.method == "PUT" and path == TOKEN_PATH:
            name, run = "PUT " + TOKEN_PATH, self.token
        elif req.method == "GET" and path == ROLES_PATH:
            name, run = "GET " + ROLES_PATH, self.role_name
        elif req.method == "GET" and path.startswith(ROLES_PATH) and "/" not in path[len(ROLES_PATH):]:
            name, run = "GET " + ROLES_PATH + "{role}", self.credentials
        else:
            name, run = None, None
        status, ctype, headers = 200, TEXT, {}
        try:
            ov = fc.STATE.take_override([req.method + " " + path, name]) if name else None
            if ov:
                time.sleep(fc.seconds(ov.get("delay", 0)))
                headers.update(ov.get("headers") or {})
                if ov.get("drop"):
                    handler.close_connection = True
                    return True
                if "status" in ov or "body" in ov:
                    status = int(ov.get("status", 200))
                    body = ov.get("body", ov.get("message") or "injected by fake metadata")
                    handler.send(status, body.encode("utf-8"), headers,
                                 ov.get("content_type") or TEXT)
                    return True
            if run is None:
                raise MetadataError(404, "Not Found")
            body, ctype = run(req, cfg)
        except MetadataError as e:
            status, body = e.status, e.message
            if status == 401:
                self.count("rejected")
        handler.send(status, body.encode("utf-8"), headers, ctype)
        return True

    def token(self, req, cfg):
        self.count("token_requests")
        if cfg["v2"] == "disabled":
            raise MetadataError(404, "Not Found")
        try:
            ttl = int(req.header(TOKEN_TTL_HEADER))
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= 21600:
            raise MetadataError(400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1-21600")
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = time.time() + ttl
        return token, TEXT

    def authorize(self, req, cfg):
        token = req.header(TOKEN_HEADER)
        if not token:
            self.count("v1_requests")
            if cfg["v2"] == "required":
                raise MetadataError(401, "Unauthorized: an IMDSv2 token is required")
            return
        with self.lock:
            expires = self.tokens.get(token)
        if cfg["v2"] == "disabled" or expires is None or time.time() >= expires:
            raise MetadataError(401, "Unauthorized: invalid or expired metadata token")

    def role_name(self, req, cfg):
        self.count("role_requests")
        self.authorize(req, cfg)
        if cfg["role"] is None:
            raise MetadataError(404, "Not Found")
        return cfg["role"], TEXT

    def credentials(self, req, cfg):
        self.count("credential_requests")
        self.authorize(req, cfg)
        role = req.raw_path[len(ROLES_PATH):]
        if cfg["role"] is None or role != cfg["role"]:
            raise MetadataError(404, "Not Found")
        doc = fake_sts.STS.issue(cfg["duration"])
        doc.update(Code="Success", LastUpdated=fake_sts.iso(time.time()))
        return fc.to_json(doc).decode("utf-8"), fc.JSON_TYPE


METADATA = Metadata()
