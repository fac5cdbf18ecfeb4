"""Parameter checks of the RPC actions the fake cloud models, from data/catalogue.json.

A modeled action refuses, with 400 InvalidParameter, a name its schema does not list (the
specs want a misspelt or wrongly encoded name to be seen, where the real gateway would often
ignore it), a name sent in the wrong place (a Query parameter in the form body or the other
way round), a value its kind cannot take (integer, boolean, json), and a request with another
API version than the action's own (400 InvalidVersion). ECS DescribeInstances also wants
InstanceIds as one JSON array text, as the real API does (InstanceIds.1 is an unknown name).
A modeled action without a handler of its own answers with what arrived where.
"""
import json
import os
import re
import threading

from fake_cloud import ApiError

CATALOGUE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                         "catalogue.json")

# action -> the product (catalogue package) it is modeled for
MODELED = {
    "DescribeRegions": "ecs", "DescribeInstances": "ecs", "RunInstances": "ecs",
    "CreateAutoProvisioningGroup": "ecs",       # structs beside flat dotted names, nested lists
    "RunCommand": "ecs",                        # a map
    "AttachApplication2Connector": "csas",      # Body parameters, one of them json
    "BatchPutDcdnKv": "dcdn",                   # a json list of structs in the body
    "GetMembers": "aliyuncvc", "ListMembers": "aliyuncvc",  # two versions in one product
}

# The protocol's own parameters (and the region): accepted anywhere.
PROTOCOL = set("""RegionId Action Version Format AccessKeyId SecurityToken BearerToken Signature
SignatureMethod SignatureVersion SignatureNonce SignatureType Timestamp""".split())

_lock = threading.Lock()
_actions = None     # action -> {"version": ..., "params": {name: entry}}


def _entry(p):
    e = {"name": p[0], "position": p[1], "kind": p[2]}
    if len(p) > 3:
        e["fields"] = {f[0]: _entry(f) for f in p[3]}
    return e


def actions():
    """The modeled actions' schemas, read from the catalogue on first use."""
    global _actions
    with _lock:
        if _actions is None:
            with open(CATALOGUE, encoding="utf-8") as f:
                products = json.load(f)["products"]
            out = {}
            for name, package in MODELED.items():
                a = products[package]["actions"][name]
                out[name] = {"version": a["version"],
                             "params": {p[0]: _entry(p) for p in a.get("params") or []}}
            _actions = out
        return _actions


def modeled(name):
    return name in MODELED


def _leaf(entry, rest):
    """The kind of the value at `rest` (the dotted name after entry's own), or None."""
    if not rest:
        return entry["kind"] if entry["kind"] not in ("list", "struct") else None
    kind, fields = entry["kind"], entry.get("fields")
    if kind == "map":
        return "string"
    if kind == "list":
        m = re.fullmatch(r"([1-9][0-9]*)(?:\.(.+))?", rest)
        if not m:
            return None
        if fields is None:
            return "string" if m.group(2) is None else None
        return _leaf({"kind": "struct", "fields": fields}, m.group(2)) if m.group(2) else None
    if kind == "struct" and fields:
        head, _, tail = rest.partition(".")
        f = fields.get(head)
        return _leaf(f, tail) if f else None
    return None


def _resolve(params, name):
    """(top-level entry, leaf kind) for a wire name, or (None, None)."""
    if name in params and params[name]["kind"] not in ("list", "struct", "map"):
        return params[name], params[name]["kind"]
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        e = params.get(head)
        if e:
            kind = _leaf(e, ".".join(parts[i:]))
            if kind:
                return e, kind
    return None, None


def _bad(name, why):
    raise ApiError(400, "InvalidParameter", 'The specified parameter "%s" is not valid: %s.'
                   % (name, why), Parameter=name)


def _check_value(name, kind, value):
    if kind == "integer" and not re.fullmatch(r"-?[0-9]+", value):
        _bad(name, "not an integer")
    if kind == "boolean" and value not in ("true", "false"):
        _bad(name, "not a boolean")
    if kind == "float":
        try:
            float(value)
        except ValueError:
            _bad(name, "not a number")
    if kind == "json":
        try:
            json.loads(value)
        except ValueError:
            _bad(name, "not JSON")


def check(req, name):
    """Raises ApiError when a modeled RPC action's request would be refused."""
    if name not in MODELED:
        return
    a = actions()[name]
    version = next((v for k, v in req.query + req.form if k == "Version"), None) \
        or req.header("x-acs-version")
    if version != a["version"]:
        raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
    for where, pairs in (("Query", req.query), ("Body", req.form)):
        for k, v in pairs:
            if k in PROTOCOL:
                continue
            entry, kind = _resolve(a["params"], k)
            if entry is None:
                _bad(k, "%s has no such parameter" % name)
            if entry["position"] != where:
                _bad(k, "it belongs in the %s" % ("request body" if entry["position"] == "Body"
                                                  else "query string"))
            _check_value(k, kind, v)
    if name == "DescribeInstances":
        ids = next((v for k, v in req.query if k == "InstanceIds"), None)
        if ids is not None:
            try:
                ok = isinstance(json.loads(ids), list)
            except ValueError:
                ok = False
            if not ok:
                raise ApiError(400, "InvalidInstanceIds.Malformed",
                               "The specified parameter InstanceIds is not valid.")


def echo(req, rid, name):
    """What a modeled action without a handler answers: what arrived where."""
    skip = PROTOCOL - {"RegionId"}
    return {"RequestId": rid, "Action": name,
            "Query": {k: v for k, v in req.query if k not in skip},
            "Form": {k: v for k, v in req.form if k not in skip},
            "ContentType": req.header("content-type")}

