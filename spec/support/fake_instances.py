"""A fleet of ECS instances for fake_cloud.py, for the paging and waiter specs.

Config key `instances` (null: the core's 25 instances, served as before) sets a fleet of
`count` instances `i-fake000001`...; their `status` ("Running" by default); with `status` =
"Starting" and `running_after` = S they turn "Running" S seconds after the config was set.
`page_delay` makes each paged request take that long inside the handler, so that a spec can
see how many were in flight at once: stats()["instances"]["max_in_flight"] per action, and
"served", the pages each action served in the order they were asked for.

Actions: DescribeInstances (the core's handler validates and parses PageNumber/PageSize, this
module picks the fleet's page, filtered by `InstanceIds` (a JSON array, as on ECS) and
`Status`), and ListTagResources (token-paged by NextToken, 50 tag resources a page, as ECS).
See spec/support/README.md, "Instances, pages and waiters".
"""

import copy
import json
import threading
import time

import fake_cloud as fc

DEFAULTS = {"count": 25, "status": "Running", "running_after": None, "page_delay": 0}
STATUSES = ("Pending", "Running", "Starting", "Stopping", "Stopped")
MAX_COUNT = 100000
TAG_PAGE = 50            # ListTagResources answers at most 50 tag resources a page
RESOURCE_TYPES = ("instance", "disk", "snapshot", "image", "securitygroup", "volume", "eni",
                  "ddh", "keypair", "launchtemplate", "reservedinstance", "snapshotpolicy")


def invalid(name):
    return fc.ApiError(400, "InvalidParameter", 'The specified parameter "%s" is not valid.' % name)


def number(v, name, allow_none=False):
    if v is None and allow_none:
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise fc.ApiError(400, "InvalidConfig", "instances.%s must be a number >= 0" % name)
    return v


class Instances(fc.Extension):
    config = {"instances": None}

    def __init__(self):
        self.lock = threading.Lock()
        self.since = time.monotonic()
        self.generation = 0
        self.reset()

    def reset(self):
        with self.lock:
            self.in_flight, self.max_in_flight, self.served = {}, {}, {}

    def stats(self):
        with self.lock:
            return {"instances": {"max_in_flight": dict(self.max_in_flight),
                                  "served": copy.deepcopy(self.served)}}

    def merge_config(self, key, value, current):
        if value is None:
            return None
        if not isinstance(value, dict):
            raise fc.ApiError(400, "InvalidConfig", "instances must be an object or null")
        out = dict(current or DEFAULTS)
        for k, v in value.items():
            if k not in DEFAULTS:
                raise fc.ApiError(400, "InvalidConfig", "instances: unknown key %r" % k)
            if k == "count":
                if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNT:
                    raise fc.ApiError(400, "InvalidConfig", "instances.count must be 0..%d" % MAX_COUNT)
            elif k == "status":
                if v not in STATUSES:
                    raise fc.ApiError(400, "InvalidConfig", "instances.status must be one of %s"
                                      % ", ".join(STATUSES))
            else:
                number(v, k, allow_none=(k == "running_after"))
            out[k] = v
        with self.lock:                 # a new fleet: its clock starts now, old tokens lapse
            self.since = time.monotonic()
            self.generation += 1
        return out

    # ------------------------------------------------------------ the fleet

    def fleet(self):
        """The configured fleet's settings and how long ago they were set, or None."""
        cfg = fc.STATE.get("instances")
        if cfg is None:
            return None, 0, self.generation
        with self.lock:
            return cfg, time.monotonic() - self.since, self.generation

    @staticmethod
    def status(cfg, age):
        if cfg["status"] == "Starting" and cfg["running_after"] is not None \
                and age >= cfg["running_after"]:
            return "Running"
        return cfg["status"]

    @staticmethod
    def instance(i, region, status):
        itype, cpu, mem = fc.INSTANCE_TYPES[i % len(fc.INSTANCE_TYPES)]
        return {
            "InstanceId": "i-fake%06d" % i, "InstanceName": "fake-instance-%02d" % i,
            "Status": status, "RegionId": region, "ZoneId": region + "-" + "abc"[i % 3],
            "InstanceType": itype, "Cpu": cpu, "Memory": mem,
            "CreationTime": "2024-01-%02dT08:00Z" % min(i, 28),
            "Tags": {"Tag": [{"TagKey": "env", "TagValue": "test"},
                             {"TagKey": "index", "TagValue": str(i)}]}}

    def paged(self, action, label, cfg, fn):
        """Runs fn() as one paged request: counted in flight, held `page_delay` seconds."""
        with self.lock:
            n = self.in_flight.get(action, 0) + 1
            self.in_flight[action] = n
            self.max_in_flight[action] = max(n, self.max_in_flight.get(action, 0))
            self.served.setdefault(action, []).append(label)
            wake = fc.STATE.wake        # a reset wakes the pause, as STATE.sleep does
        try:
            delay = cfg["page_delay"] if cfg else 0
            if delay:
                wake.wait(delay)
            return fn()
        finally:
            with self.lock:
                self.in_flight[action] -= 1

    # ------------------------------------------------------------ actions

    def describe_instances(self, req, rid):
        out = BASE_DESCRIBE_INSTANCES(req, rid)     # version and paging parameters checked
        cfg, age, _ = self.fleet()
        page, size = out["PageNumber"], out["PageSize"]

        def answer():
            if cfg is None:
                return out
            p = req.params()
            wanted = None
            if p.get("InstanceIds"):
                try:
                    wanted = json.loads(p["InstanceIds"])
                except ValueError:
                    wanted = None
                if not isinstance(wanted, list) or len(wanted) > 100 \
                        or not all(isinstance(x, str) for x in wanted):
                    raise fc.ApiError(400, "InvalidInstanceIds.Malformed",
                                      "The specified parameter InstanceIds is not valid.")
                wanted = set(wanted)
            status = self.status(cfg, age)
            region = p.get("RegionId") or "cn-hangzhou"
            chosen = [i for i in range(1, cfg["count"] + 1)
                      if (wanted is None or "i-fake%06d" % i in wanted)
                      and (not p.get("Status") or p["Status"] == status)]
            items = [self.instance(i, region, status) for i in chosen[(page - 1) * size:page * size]]
            return {"RequestId": rid, "TotalCount": len(chosen), "PageNumber": page,
                    "PageSize": size, "Instances": {"Instance": items}}

        return self.paged("DescribeInstances", page, cfg, answer)

    def list_tag_resources(self, req, rid):
        p = req.params()
        fc.ecs_version(req, p)
        rtype = p.get("ResourceType")
        if not rtype:
            raise fc.missing("ResourceType")
        if rtype.lower() not in RESOURCE_TYPES:
            raise invalid("ResourceType")
        cfg, _, generation = self.fleet()
        count = cfg["count"] if cfg else fc.INSTANCE_COUNT
        ids = {v for k, v in p.items() if k.startswith("ResourceId.")}
        if len(ids) > 50:
            raise invalid("ResourceId")
        tags = {}
        for k, v in p.items():
            if k.startswith("Tag.") and k.endswith(".Key"):
                tags[v] = p.get(k[:-len("Key")] + "Value")
        if len(tags) > 20:
            raise invalid("Tag")
        token = p.get("NextToken") or ""
        start = 0
        if token:
            prefix = "tk%08x" % generation
            try:
                if not token.startswith(prefix):
                    raise ValueError(token)
                start = int(token[len(prefix):], 16)
            except ValueError:
                raise invalid("NextToken") from None

        def answer():
            rows = []
            if rtype.lower() == "instance":
                for i in range(1, count + 1):
                    rid_ = "i-fake%06d" % i
                    own = {"env": "test", "index": str(i)}
                    if ids and rid_ not in ids:
                        continue
                    if not all(k in own and (v is None or own[k] == v) for k, v in tags.items()):
                        continue
                    for k, v in own.items():
                        rows.append({"ResourceId": rid_, "ResourceType": "instance",
                                     "TagKey": k, "TagValue": v})
            page = rows[start:start + TAG_PAGE]
            more = start + TAG_PAGE < len(rows)
            return {"RequestId": rid,
                    "NextToken": "tk%08x%08x" % (generation, start + TAG_PAGE) if more else "",
                    "TagResources": {"TagResource": page}}

        return self.paged("ListTagResources", token, cfg, answer)


INSTANCES = Instances()
BASE_DESCRIBE_INSTANCES = fc.RPC_ACTIONS["DescribeInstances"]
fc.RPC_ACTIONS["DescribeInstances"] = INSTANCES.describe_instances
fc.RPC_ACTIONS["ListTagResources"] = INSTANCES.list_tag_resources
