#!/usr/bin/env python3
"""A stand-in for provost serve with the dashboard's endpoints only: the page's assets
from the source tree with the headers the service sends, GET /stats from counters that
POST /call/NS/PROC moves, and an optional bearer token.  The dashboard test uses it to
show the page states the real service cannot be put in on demand (every table filled,
an empty or broken answer), and to develop the page without building the service.

Usage: dashboard_stub.py ASSET_DIR [--token T] [--port N]; prints
"listening on http://127.0.0.1:PORT" on stderr when ready."""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ASSETS = {"/": ("index.html", "text/html; charset=utf-8"),
          "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
          "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8")}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.procs = {}
        self.failures = {}
        self.audit = []
        self.started = int(time.time() * 1000)
        self.mode = "normal"

    def call(self, ns, proc, fail):
        with self.lock:
            p = self.procs.setdefault((ns, proc), {"calls": 0, "failed": 0, "times": []})
            p["calls"] += 1
            p["times"].append(time.time())
            if fail:
                p["failed"] += 1
                code = "0x80070005"
                self.failures[code] = self.failures.get(code, 0) + 1
                self.audit.insert(0, {"time_ms": int(time.time() * 1000), "principal": "alice",
                                      "namespace": ns, "procedure": proc, "code": code,
                                      "message": "Access is denied."})
                del self.audit[20:]

    def stats(self):
        now = time.time()
        with self.lock:
            procs = []
            for (ns, proc), p in sorted(self.procs.items()):
                recent = [t for t in p["times"] if now - t < 10]
                procs.append({"namespace": ns, "procedure": proc, "calls": p["calls"],
                              "succeeded": p["calls"] - p["failed"], "failed": p["failed"],
                              "in_doubt": 0, "executing": 0, "rate": len(recent) / 10.0,
                              "p50_ms": 1.5 + len(proc), "p99_ms": 12.0 + len(proc)})
            failures = [{"code": c, "count": n}
                        for c, n in sorted(self.failures.items(), key=lambda kv: -kv[1])]
            stuck = [{"id": "t-%d" % i, "namespace": ns, "procedure": proc,
                      "since": self.started - 60000}
                     for i, ((ns, proc), p) in enumerate(sorted(self.procs.items())) if p["failed"]]
            return {"time_ms": int(now * 1000),
                    "writer": {"state": "running", "pid": os.getpid(), "started": self.started},
                    "procedures": procs, "failures": failures,
                    "stuck": {"count": len(stuck), "recent": stuck},
                    "queue": {"pending": 0, "running": 0, "succeeded": 0, "failed": 0},
                    "audit_failures": list(self.audit),
                    "engine": {"provost_journal_syncs_total": sum(p["calls"] for p in self.procs.values())}}


def handler(asset_dir, token, state):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, ctype, body, extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def authorised(self):
            if token is None or self.headers.get("Authorization") == "Bearer " + token:
                return True
            self.answer(401, "application/json", b'{"error":"a valid bearer token is needed"}\n',
                        [("WWW-Authenticate", "Bearer")])
            return False

        def do_GET(self):
            if self.path in ASSETS:
                name, ctype = ASSETS[self.path]
                with open(os.path.join(asset_dir, name), "rb") as f:
                    body = f.read()
                self.answer(200, ctype, body, [("Content-Security-Policy", CSP),
                                               ("Cache-Control", "no-cache"),
                                               ("X-Content-Type-Options", "nosniff")])
            elif self.path == "/stats":
                if self.authorised():
                    # /stub/empty: a document with nothing the page knows; /stub/garbage: not JSON
                    body = {"normal": lambda: json.dumps(state.stats()).encode(),
                            "empty": lambda: b"{}", "garbage": lambda: b"<html>proxy error</html>"}[state.mode]()
                    self.answer(200, "application/json", body, [("Cache-Control", "no-store")])
            else:
                self.answer(404, "text/plain", b"not found\n")

        def do_POST(self):
            parts = self.path.split("/")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path in ("/stub/normal", "/stub/empty", "/stub/garbage"):
                state.mode = parts[2]
                self.answer(200, "text/plain", b"ok\n")
                return
            if len(parts) == 4 and parts[1] == "call" and self.authorised():
                fail = parts[3].startswith("Fail")
                state.call(parts[2], parts[3], fail)
                self.answer(422 if fail else 200, "application/xml", b"<response/>\n")
            elif len(parts) != 4:
                self.answer(404, "text/plain", b"not found\n")
    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("asset_dir")
    ap.add_argument("--token")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(args.asset_dir, args.token, State()))
    print("listening on http://127.0.0.1:%d" % server.server_address[1], file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
