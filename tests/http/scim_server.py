#!/usr/bin/env python3
"""A small SCIM-like JSON service for the http provider's tests, on 127.0.0.1.

    scim_server.py --port-file F --log F [--token T] [--tls CERT KEY]

Listens on a free port (written to the port file once it accepts connections), over TLS
with --tls, and serves:

    POST   /Users        201, Location and the user with a new "id"; 409 when the userName exists
    GET    /Users        {"totalResults": n, "Resources": [...]}, ordered by id
    GET    /Users/ID     200 or 404
    PATCH  /Users/ID     merges the JSON object given; 200 or 404
    DELETE /Users/ID     204 or 404
    *      /echo         200 with the request's method, path, headers and body as JSON
    *      /hang         never answers (until the server stops)
    *      /fail500      500 with a body naming the failure; /big500 with 604 bytes of body
    *      /gone         410
    *      /conflict     409, /unauthorized 401, /notjson 200 text/plain, /binary 200 bytes

With --token every request must carry "Authorization: Bearer T", or Basic with password T
(else 401).  A request carrying Idempotency-Key that was seen before gets the first
response again, without acting twice.  A request with "X-Delay-First: MS" is carried out
at once but answered MS milliseconds late, unless it repeats an earlier one: a client that
gave up and sends it again with the same key gets the answer at once.

Every request is appended to the log as one JSON line: method, path, the Idempotency-Key,
whether the Authorization was right ("ok", "ok basic USER", "none", "wrong" -- never its
value), the other headers, the body, the client's port, and the answer's status and
Location ("replayed" when it repeated an earlier one).
"""
import argparse
import base64
import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
USERS = {}          # id -> user
SEEN = {}           # Idempotency-Key -> (status, headers, body)
NEXT = [1]
STOP = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None, headers=None, raw=None, ctype="application/scim+json"):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        hdrs = dict(headers or {})
        if body:
            hdrs["Content-Type"] = ctype
        return status, hdrs, body

    def send(self, status, hdrs, body):
        try:
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (X-Delay-First)

    def auth_state(self):
        got = self.headers.get("Authorization")
        if got is None:
            return "none"
        if got.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(got[6:]).decode().partition(":")
            except ValueError:
                return "wrong"
            return "ok basic " + user if password == self.server.token else "wrong"
        return "ok" if got == "Bearer " + self.server.token else "wrong"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        key = self.headers.get("Idempotency-Key")
        auth = self.auth_state()
        record = {
            "method": self.command,
            "path": self.path,
            "key": key,
            "auth": auth,
            "headers": {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"},
            "body": body.decode("utf-8", "replace"),
            "peer": self.client_address[1],
        }
        if self.path == "/hang":
            self.log_record(record)
            STOP.wait(3600)
            self.close_connection = True
            return
        with LOCK:
            if self.server.token and not auth.startswith("ok"):
                out = self.reply(401, {"detail": "authentication required", "status": "401"})
            elif key and key in SEEN:
                out = SEEN[key]
                record["replayed"] = True
            else:
                out = self.act(body)
                if key:
                    SEEN[key] = out
            record["status"] = out[0]
            record["location"] = out[1].get("Location")
            self.log_record(record)
        delay = self.headers.get("X-Delay-First")
        if delay and not record.get("replayed"):
            STOP.wait(int(delay) / 1000)  # done, but answered too late: the client gave up
        self.send(*out)

    def log_record(self, record):
        with open(self.server.log, "a") as f:
            f.write(json.dumps(record) + "\n")

    def act(self, body):
        path, method = self.path, self.command
        if path == "/fail500":
            return self.reply(500, raw=b"database exploded: table users is locked\r\nretry later", ctype="text/plain")
        if path == "/big500":
            return self.reply(500, raw=b"A" * 600 + b"TAIL", ctype="text/plain")
        if path == "/gone":
            return self.reply(410, {"detail": "gone for good"})
        if path == "/conflict":
            return self.reply(409, {"detail": "already exists"})
        if path == "/unauthorized":
            return self.reply(401, {"detail": "no"})
        if path == "/notjson":
            return self.reply(200, raw=b"plain <text> & more", ctype="text/plain")
        if path == "/binary":
            return self.reply(200, raw=b"\x00\x01\xfe\xff", ctype="application/octet-stream")
        if path.split("?")[0] == "/echo":
            return self.reply(200, {
                "method": method, "path": path, "body": body.decode("utf-8", "replace"),
                "headers": {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"},
            }, ctype="application/json")
        if path == "/Users" and method == "POST":
            try:
                user = json.loads(body)
            except ValueError:
                return self.reply(400, {"detail": "not JSON"})
            name = user.get("userName")
            if any(u.get("userName") == name for u in USERS.values()):
                return self.reply(409, {"detail": "userName %s exists" % name})
            uid = "u%d" % NEXT[0]
            NEXT[0] += 1
            user["id"] = uid
            USERS[uid] = user
            host = "127.0.0.1:%d" % self.server.server_address[1]
            return self.reply(201, user, {"Location": "http://%s/Users/%s" % (host, uid), "ETag": 'W/"1"'})
        if path == "/Users" and method == "GET":
            res = [USERS[k] for k in sorted(USERS)]
            return self.reply(200, {"totalResults": len(res), "Resources": res})
        if path.startswith("/Users/"):
            uid = path[len("/Users/"):]
            if uid not in USERS:
                return self.reply(404, {"detail": "no user %s" % uid})
            if method == "GET":
                return self.reply(200, USERS[uid])
            if method == "DELETE":
                del USERS[uid]
                return self.reply(204)
            if method == "PATCH":
                USERS[uid].update(json.loads(body or b"{}"))
                return self.reply(200, USERS[uid])
        return self.reply(404, {"detail": "no route %s %s" % (method, path)})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*a.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.log, srv.token = a.log, a.token
    open(a.log, "a").close()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        STOP.set()


if __name__ == "__main__":
    main()
