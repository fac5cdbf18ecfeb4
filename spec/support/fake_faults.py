"""Transport fault modes for fake_cloud.py: what a flaky network or an overloaded gateway does
to an API response.  Asked for per request with the header `x-fake-fault: <mode>` (RPC v1 does
not sign headers, and a call can send `headers = {...}`), or per action / per N-th request
with an override field: `actions = { Name = { fault = "<mode>", times = n, every = k } }`.
An override's `fault` wins over the header.  A mode may take seconds: `body_delay:0.5`.
See spec/support/README.md, "Fault modes".
"""

import collections
import select
import socket
import struct
import threading
import time

import fake_cloud as fc

STALL_LIMIT = 600       # seconds a stall lasts at most, even if the client never gives up

# status faults: (HTTP status, error code, message)
STATUSES = {
    "500": (500, "InternalError", "The request processing has failed due to some unknown error."),
    "502": (502, "BadGateway", "The gateway got an invalid answer from the service."),
    "503": (503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
    "504": (504, "GatewayTimeout", "The gateway timed out waiting for the service."),
    "throttling": (400, "Throttling", "Request was denied due to request throttling."),
    "throttling_hint": (400, "Throttling.User", "Request was denied due to user flow control."),
}

# mode -> default seconds (None: the mode takes none)
MODES = {
    "delay": 1.0,                 # sleep before the status line (as x-fake-delay)
    "body_delay": 1.0,            # headers and half the body, pause, the rest
    "stall": None,                # never answer; ends when the client closes, on reset or stop
    "drop": None,                 # close (FIN) before anything is sent
    "close_after_headers": None,  # headers with Content-Length, then close without a body
    "reset": None,                # RST (SO_LINGER 0, close) before anything is sent
    "truncate": None,             # Content-Length of the whole body, half of it, then close
    "short_length": None,         # Content-Length of half the body, then the whole body
    "invalid_json": None,         # 200 with a body that is not JSON
    "throttling_hint": 0.2,       # 400 Throttling.User with x-ratelimit-user-api TimeLeft (s)
}
MODES.update({k: None for k in STATUSES if k not in MODES})


class FaultError(Exception):
    pass


def parse(spec):
    """'mode' or 'mode:seconds' -> (mode, seconds)."""
    mode, _, arg = str(spec).strip().partition(":")
    if mode not in MODES:
        raise FaultError("unknown fault mode %r (known: %s)" % (mode, ", ".join(sorted(MODES))))
    secs = MODES[mode]
    if arg:
        if secs is None:
            raise FaultError("fault mode %r takes no argument" % mode)
        try:
            secs = float(arg)
        except ValueError:
            raise FaultError("fault %r: %r is not a number of seconds" % (mode, arg)) from None
        if secs < 0:
            raise FaultError("fault %r: seconds must be >= 0" % mode)
    return mode, secs


# ---------------------------------------------------------------- socket-level helpers

def head(handler, status, headers, content_type, length):
    """Status line and headers announcing `length` body bytes; flushed."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for k, v in headers.items():
        handler.send_header(k, str(v))
    handler.send_header("Content-Length", str(length))
    handler.end_headers()
    handler.wfile.flush()


def write(handler, data):
    handler.wfile.write(data)
    handler.wfile.flush()


def hard_close(handler, rst):
    """Closes the connection now: with RST when rst (SO_LINGER 0), else a plain FIN."""
    handler.close_connection = True
    sock = handler.connection
    try:
        if rst:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    # socket.close() waits for the makefile() objects: close those first.
    for f in (handler.wfile, handler.rfile):
        try:
            f.close()
        except OSError:
            pass
    try:
        sock.close()
    except OSError:
        pass


def stall(handler):
    """Holds the request unanswered until the client gives up (its end becomes readable: EOF),
    a reset wakes us, or STALL_LIMIT passes. Never blocks other connections."""
    sock = handler.connection
    deadline = time.monotonic() + STALL_LIMIT
    while not handler.wake.is_set() and time.monotonic() < deadline:
        try:
            readable, _, _ = select.select([sock], [], [], 0.1)
        except (OSError, ValueError):
            break
        if readable:
            break
    hard_close(handler, rst=False)


# ---------------------------------------------------------------- the extension

class Faults(fc.Extension):
    action_fields = {"fault"}

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = collections.Counter()

    def stats(self):
        with self.lock:
            return {"faults": dict(self.counts)}

    def respond(self, handler, resp):
        spec = resp.override.get("fault") or resp.req.header("x-fake-fault")
        if not spec:
            return False
        try:
            mode, secs = parse(spec)
        except FaultError as e:
            fc.STATE.count("errors", "InvalidFault", handler)
            handler.send(400, fc.to_json({"RequestId": resp.request_id, "Code": "InvalidFault",
                                          "Message": str(e)}))
            return True
        if not fc.STATE.stale(handler):
            with self.lock:
                self.counts[mode] += 1
        if mode == "delay":
            resp.delay = secs
            return False                   # the normal path sleeps, then sends
        if mode in STATUSES:
            status, code, message = STATUSES[mode]
            fc.STATE.count("errors", code, handler)
            resp.status, resp.content_type = status, fc.JSON_TYPE
            resp.body = fc.to_json({
                "RequestId": resp.request_id, "HostId": resp.req.header("host") or "127.0.0.1",
                "Code": code, "Message": message,
                "Recommend": "https://api.aliyun.com/troubleshoot?q=%s" % code})
            if mode == "throttling_hint":
                resp.headers["x-ratelimit-user-api"] = "Limit:10,Remain:0,TimeLeft:%d,Reset:%d" % (
                    round(secs * 1000), int(time.time() + secs))
            return False
        if mode == "invalid_json":
            resp.status, resp.content_type = 200, fc.JSON_TYPE
            resp.body = ('{"RequestId":"%s","Regions":{"Region":[{"RegionId":"cn-hang'
                         % resp.request_id).encode()
            return False
        # The rest shape the bytes on the wire themselves.
        if not fc.STATE.sleep(handler, resp.delay):
            hard_close(handler, rst=False)
            return True
        body = resp.body
        half = len(body) // 2
        try:
            if mode == "stall":
                stall(handler)
            elif mode == "drop":
                hard_close(handler, rst=False)
            elif mode == "reset":
                hard_close(handler, rst=True)
            elif mode == "close_after_headers":
                head(handler, resp.status, resp.headers, resp.content_type, len(body))
                hard_close(handler, rst=False)
            elif mode == "truncate":
                head(handler, resp.status, resp.headers, resp.content_type, len(body))
                write(handler, body[:half])
                hard_close(handler, rst=False)
            elif mode == "short_length":
                head(handler, resp.status, resp.headers, resp.content_type, half)
                write(handler, body)
            elif mode == "body_delay":
                head(handler, resp.status, resp.headers, resp.content_type, len(body))
                write(handler, body[:half])
                if not fc.STATE.sleep(handler, secs):
                    hard_close(handler, rst=False)
                    return True
                write(handler, body[half:])
        except OSError:                    # the client went away first: fine
            handler.close_connection = True
        return True


FAULTS = Faults()
