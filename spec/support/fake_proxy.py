#!/usr/bin/env python3
"""A small HTTP proxy on loopback for the alicloud specs: CONNECT tunnels (what libcurl uses for
https:// through a proxy) and absolute-form requests (`POST http://127.0.0.1:port/?... HTTP/1.1`,
what libcurl sends for http:// through a proxy), forwarded to the origin.  It counts both, so a
spec can prove that a call went through it, or did not.  It only ever connects to loopback:
127.0.0.1, localhost and *.localhost; any other target gets 403.  Standard library only.

Control (origin-form requests to the proxy itself, unsigned JSON):
  GET  /__proxy/stats   {"tunnels", "forwarded", "by_target", "refused", "connections"}
  POST /__proxy/reset   clears the counters and closes every other client connection (open
                        tunnels, kept-alive connections), so a test never inherits one
See spec/support/README.md, "Proxy".
"""

import argparse
import collections
import json
import os
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit

VERBOSE = False
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "upgrade", "transfer-encoding"}


def log(msg):
    if VERBOSE:
        sys.stderr.write("[fake_proxy] %s\n" % msg)
        sys.stderr.flush()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.open = set()           # client sockets being served
        self.reset()

    def reset(self, keep=None):
        with self.lock:
            for sock in self.open - {keep}:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.tunnels = 0
            self.forwarded = 0
            self.refused = 0
            self.connections = 0
            self.by_target = collections.Counter()

    def add(self, field, target=None):
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)
            if target:
                self.by_target[target] += 1

    def snapshot(self):
        with self.lock:
            return {"tunnels": self.tunnels, "forwarded": self.forwarded, "refused": self.refused,
                    "connections": self.connections, "by_target": dict(self.by_target)}


STATS = Stats()


def loopback(host):
    """The address to connect to for host, or None when it is not a loopback name."""
    host = host.strip("[]").lower()
    if host in ("127.0.0.1", "localhost") or host.endswith(".localhost"):
        return "127.0.0.1"
    return None


class BadRequest(Exception):
    pass


def read_head(rfile):
    """(first line, [(name, value)]) of an HTTP message, or None at EOF."""
    line = rfile.readline(65537)
    while line in (b"\r\n", b"\n"):          # tolerate stray CRLF between messages
        line = rfile.readline(65537)
    if not line:
        return None
    headers = []
    while True:
        h = rfile.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        headers.append((name.strip(), value.strip()))
    return line.decode("latin-1").rstrip("\r\n"), headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def read_body(rfile, headers):
    if "chunked" in (header(headers, "transfer-encoding") or "").lower():
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(read_exact(rfile, size))
            rfile.readline()
    return read_exact(rfile, int(header(headers, "content-length") or 0))


def read_exact(rfile, n):
    out = []
    while n > 0:
        chunk = rfile.read(n)
        if not chunk:
            raise BadRequest("body ended early")
        out.append(chunk)
        n -= len(chunk)
    return b"".join(out)


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 0        # unbuffered: a tunnel must not leave client bytes in a buffer

    def setup(self):
        super().setup()
        STATS.add("connections")
        with STATS.lock:
            STATS.open.add(self.connection)

    def finish(self):
        with STATS.lock:
            STATS.open.discard(self.connection)
        super().finish()

    def reply(self, status, reason, body=b"", ctype="application/json", close=False):
        head = "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
            status, reason, ctype, len(body))
        if close:
            head += "Connection: close\r\n"
        self.wfile.write(head.encode() + b"\r\n" + body)
        self.wfile.flush()

    def handle(self):
        try:
            while self.one():
                pass
        except (OSError, BadRequest, ValueError) as e:
            log("connection ended: %r" % e)

    def one(self):
        """Serves one request; False when the connection is done."""
        msg = read_head(self.rfile)
        if msg is None:
            return False
        line, headers = msg
        parts = line.split()
        if len(parts) != 3:
            self.reply(400, "Bad Request", close=True)
            return False
        method, target, version = parts
        log("%s %s" % (method, target))
        if method == "CONNECT":
            return self.tunnel(target)
        if target.startswith("http://"):
            return self.forward(method, target, version, headers)
        read_body(self.rfile, headers)            # a control request's body is not used
        path = target.partition("?")[0]
        if path == "/__proxy/stats" and method == "GET":
            self.reply(200, "OK", json.dumps(STATS.snapshot()).encode())
        elif path == "/__proxy/reset" and method == "POST":
            STATS.reset(keep=self.connection)
            self.reply(200, "OK", b'{"ok":true}')
        else:
            self.reply(400, "Bad Request", b'{"Code":"NotAProxyRequest"}')
        return True

    def connect(self, host, port):
        addr = loopback(host)
        if addr is None:
            STATS.add("refused", "%s:%s" % (host, port))
            self.reply(403, "Forbidden", b'{"Code":"OnlyLoopback"}', close=True)
            return None
        try:
            return socket.create_connection((addr, int(port)), timeout=10)
        except (OSError, ValueError):
            self.reply(502, "Bad Gateway", b'{"Code":"UpstreamUnreachable"}', close=True)
            return None

    def tunnel(self, target):
        host, _, port = target.rpartition(":")
        up = self.connect(host, port or 443)
        if up is None:
            return False
        STATS.add("tunnels", target)
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self.wfile.flush()
        up.settimeout(None)
        client = self.connection
        try:
            while True:
                readable, _, _ = select.select([client, up], [], [], 60)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return False
                    (client if s is up else up).sendall(data)
        finally:
            up.close()

    def forward(self, method, target, version, headers):
        url = urlsplit(target)
        body = read_body(self.rfile, headers)
        up = self.connect(url.hostname or "", url.port or 80)
        if up is None:
            return False
        STATS.add("forwarded", "%s:%d" % (url.hostname, url.port or 80))
        path = (url.path or "/") + ("?" + url.query if url.query else "")
        out = ["%s %s %s" % (method, path, version)]
        out += ["%s: %s" % (k, v) for k, v in headers
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        out += ["Content-Length: %d" % len(body), "Connection: close", "", ""]
        try:
            up.sendall("\r\n".join(out).encode("latin-1") + body)
            ufile = up.makefile("rb")
            msg = read_head(ufile)
            if msg is None:
                raise OSError("upstream closed without a response")
            status_line, rheaders = msg
            length = header(rheaders, "content-length")
            rbody = ufile.read(int(length)) if length is not None else ufile.read()
            ufile.close()
        except (OSError, ValueError, BadRequest) as e:
            log("upstream failed: %r" % e)
            self.reply(502, "Bad Gateway", b'{"Code":"UpstreamFailed"}', close=True)
            return False
        finally:
            up.close()
        keep = length is not None and len(rbody) == int(length)
        resp = [status_line]
        resp += ["%s: %s" % (k, v) for k, v in rheaders
                 if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        resp += ["Content-Length: %d" % len(rbody)]
        if not keep:
            resp += ["Connection: close"]
        self.wfile.write("\r\n".join(resp + ["", ""]).encode("latin-1") + rbody)
        self.wfile.flush()
        return keep


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if VERBOSE:
            super().handle_error(request, client_address)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(description="Loopback-only HTTP proxy for the alicloud specs.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--parent-pid", type=int)
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose

    srv = Server(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]
    if args.port_file:
        tmp = "%s.%d.tmp" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    try:
        print("READY %d" % port, flush=True)
    except OSError:
        pass
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    deadline = time.monotonic() + args.lifetime
    while not stop.wait(0.5):
        if time.monotonic() > deadline or (args.parent_pid and not alive(args.parent_pid)):
            break
    srv.shutdown()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
