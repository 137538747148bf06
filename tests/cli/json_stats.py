"""json_stats.py -- checks the shape of `provost stats --json`: exits 0 when FILE holds
one JSON document per line, each with the fields and types docs/operations.md gives, and
WRITER (none, live, exited, died) is the last one's writer state; else prints why, exits 1.
usage: python3 json_stats.py FILE WRITER"""
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


def main(path, want):
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
