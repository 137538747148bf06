"""json_stats.py -- checks the shape of `provost stats --json`: exits 0 when FILE holds
one JSON document per line, each with the fields and types docs/operations.md gives, and
WRITER (none, live, exited, died) is the last one's writer state; else prints why, exits 1.
With WRITER "dashboard", FILE is the service's GET /stats instead: exactly the dashboard's
keys and types, failures most frequent first, audit failures most recent first.
usage: python3 json_stats.py FILE WRITER|dashboard"""
import json
import sys

PROC = {"namespace": str, "procedure": str, "perfEnabled": bool, "count": int, "succeeded": int,
        "failed": int, "inDoubt": int, "executing": int, "rate": (int, float), "latencyUs": dict}
LATENCY = ("p50", "p90", "p99", "p999", "max", "mean")
WRITER = {"pid": int, "started": str, "generation": int, "formatVersion": int, "incomplete": bool}


def check(doc):
    if set(doc) != {"database", "writer", "procedures", "engine"}:
        sys.exit("top-level keys: %r" % sorted(doc))
    w = doc["writer"]
    if w["state"] not in ("none", "live", "exited", "died"):
        sys.exit("writer state %r" % w["state"])
    if w["state"] != "none":
        for k, t in WRITER.items():
            if not isinstance(w.get(k), t):
                sys.exit("writer.%s: %r" % (k, w.get(k)))
    for p in doc["procedures"]:
        if set(p) != set(PROC):
            sys.exit("procedure keys: %r" % sorted(p))
        for k, t in PROC.items():
            if not isinstance(p[k], t) or (t is int and isinstance(p[k], bool)):
                sys.exit("procedure.%s: %r" % (k, p[k]))
        if set(p["latencyUs"]) != set(LATENCY) or p["succeeded"] + p["failed"] + p["inDoubt"] != p["count"]:
            sys.exit("procedure %r" % p)
    if not all(isinstance(v, int) for v in doc["engine"].values()):
        sys.exit("engine: %r" % doc["engine"])
    return w["state"]


NUM = (int, float)
DASH = {"time_ms": int, "writer": dict, "procedures": list, "failures": list, "stuck": dict, "queue": dict,
        "audit_failures": list, "engine": dict}
DASH_WRITER = {"state": str, "pid": int, "started": int}
DASH_PROC = {"namespace": str, "procedure": str, "calls": int, "succeeded": int, "failed": int, "in_doubt": int,
             "executing": int, "rate": NUM, "p50_ms": NUM, "p99_ms": NUM}
DASH_FAILURE = {"code": str, "count": int}
DASH_STUCK = {"id": str, "namespace": str, "procedure": str, "since": int}
DASH_AUDIT = {"time_ms": int, "principal": str, "namespace": str, "procedure": str, "code": str, "message": str}
JOB_STATES = {"success", "error", "failure", "error_and_failure", "pending", "started", "queued_for_retry",
              "with_incomplete_prereq", "with_complete_prereq", "suspended", "suspended_with_waits",
              "failed_awaiting_operator", "running"}


def exactly(what, obj, shape):
    if not isinstance(obj, dict) or set(obj) != set(shape):
        sys.exit("%s keys: %r" % (what, sorted(obj) if isinstance(obj, dict) else obj))
    for k, t in shape.items():
        if not isinstance(obj[k], t) or (t is int and isinstance(obj[k], bool)):
            sys.exit("%s.%s: %r" % (what, k, obj[k]))


def check_dashboard(doc):
    exactly("stats", doc, DASH)
    exactly("writer", doc["writer"], DASH_WRITER)
    if doc["writer"]["state"] not in ("running", "exited", "died", "none"):
        sys.exit("writer state %r" % doc["writer"]["state"])
    for p in doc["procedures"]:
        exactly("procedure", p, DASH_PROC)
        if p["succeeded"] + p["failed"] + p["in_doubt"] != p["calls"]:
            sys.exit("procedure %r" % p)
    for f in doc["failures"]:
        exactly("failure", f, DASH_FAILURE)
    counts = [f["count"] for f in doc["failures"]]
    if counts != sorted(counts, reverse=True):
        sys.exit("failures not most frequent first: %r" % doc["failures"])
    exactly("stuck", doc["stuck"], {"count": int, "recent": list})
    for s in doc["stuck"]["recent"]:
        exactly("stuck transaction", s, DASH_STUCK)
    if set(doc["queue"]) != JOB_STATES or not all(isinstance(v, int) for v in doc["queue"].values()):
        sys.exit("queue: %r" % doc["queue"])
    if len(doc["audit_failures"]) > 20:
        sys.exit("%d audit failures" % len(doc["audit_failures"]))
    for a in doc["audit_failures"]:
        exactly("audit failure", a, DASH_AUDIT)
    times = [a["time_ms"] for a in doc["audit_failures"]]
    if times != sorted(times, reverse=True):
        sys.exit("audit failures not most recent first: %r" % times)
    if not all(isinstance(v, int) for v in doc["engine"].values()):
        sys.exit("engine: %r" % doc["engine"])


def main(path, want):
    if want == "dashboard":
        text = open(path, encoding="utf-8").read()
        if text.count("\n") != 1 or not text.endswith("\n"):
            sys.exit("not one line")
        check_dashboard(json.loads(text))
        return
    lines = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
    if not lines:
        sys.exit("empty")
    state = None
    for l in lines:
        state = check(json.loads(l))
    if state != want:
        sys.exit("writer %s, expected %s" % (state, want))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
