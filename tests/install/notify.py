#!/usr/bin/env python3
"""The readiness protocol of `provost worker` and `provost serve` as systemd's Type=notify sees it: a datagram
socket named by NOTIFY_SOCKET receives READY=1 once the worker runs jobs, and STOPPING=1
when SIGTERM asks it to stop, after which it exits with 128+15.  Both address forms are
tried: a socket file, and an abstract name ("@...").  Without NOTIFY_SOCKET, and with one
naming nothing, the worker still runs.

usage: notify.py PROVOST"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

provost = sys.argv[1]
# Only a guard against a hang: every datagram comes at once.
GUARD = 120
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def receive(sock, proc, want):
    try:
        data = sock.recv(4096).decode()
    except socket.timeout:
        fail(f"no {want} within {GUARD}s (worker exit status {proc.poll()})")
        return None
    if want not in data.split("\n"):
        fail(f"expected {want}, got {data!r}")
    return data


def run(tmp, db, address, bind_to, command=("worker", "--quiet"), status=128 + 15):
    """COMMAND under a manager listening at ADDRESS: READY=1, (for serve, a SIGHUP's
    RELOADING=1 and READY=1 again), STOPPING=1 on SIGTERM, and exit STATUS."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bind_to)
    sock.settimeout(GUARD)
    env = dict(os.environ, NOTIFY_SOCKET=address)
    proc = subprocess.Popen([provost, "--db", db, *command], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if receive(sock, proc, "READY=1") is not None:
            if command[0] == "serve":
                proc.send_signal(signal.SIGHUP)
                receive(sock, proc, "RELOADING=1")
                receive(sock, proc, "READY=1")
            proc.send_signal(signal.SIGTERM)
            receive(sock, proc, "STOPPING=1")
        out, err = proc.communicate(timeout=GUARD)
        if proc.returncode != status:
            fail(f"{address}: {command[0]} exit status {proc.returncode}, expected {status}; stderr: {err}")
        if "NOTIFY_SOCKET" in err or "service manager" in err:
            fail(f"{address}: the worker complained: {err}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


def main():
    tmp = tempfile.mkdtemp(prefix="provost-notify.")
    try:
        db = os.path.join(tmp, "db")
        path = os.path.join(tmp, "notify.sock")
        run(tmp, db, path, path)
        name = f"provost-notify-test-{os.getpid()}"
        run(tmp, db, "@" + name, "\0" + name)
        run(tmp, db, path + ".serve", path + ".serve", ("serve", "--listen", "127.0.0.1:0"), 0)

        # No manager: nothing is sent, nothing fails.
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        r = subprocess.run([provost, "--db", db, "worker", "--once", "--quiet"], env=env,
                           capture_output=True, text=True, timeout=GUARD)
        if r.returncode != 0:
            fail(f"without NOTIFY_SOCKET: exit status {r.returncode}: {r.stderr}")

        # A socket nobody listens on: the worker says so once and goes on working.
        env["NOTIFY_SOCKET"] = os.path.join(tmp, "nobody.sock")
        r = subprocess.run([provost, "--db", db, "worker", "--once", "--quiet"], env=env,
                           capture_output=True, text=True, timeout=GUARD)
        if r.returncode != 0 or "cannot tell the service manager it is ready" not in r.stderr:
            fail(f"a dead NOTIFY_SOCKET: exit status {r.returncode}, stderr: {r.stderr!r}")

        # A form this side does not speak: one clear line, and the worker still runs.
        env["NOTIFY_SOCKET"] = "relative/notify.sock"
        r = subprocess.run([provost, "--db", db, "worker", "--once", "--quiet"], env=env,
                           capture_output=True, text=True, timeout=GUARD)
        if r.returncode != 0 or r.stderr.count("NOTIFY_SOCKET is not usable") != 1 \
                or "cannot tell" in r.stderr:
            fail(f"a relative NOTIFY_SOCKET: exit status {r.returncode}, stderr: {r.stderr!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit(1)
    print("ok: READY=1 and STOPPING=1 over a socket file and an abstract socket, and from provost serve")


main()
