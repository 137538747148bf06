"""prom_check.py -- exits 0 when FILE is valid Prometheus text exposition format, as the
Prometheus client library's own parser reads it, with every sample of a family declared
by a TYPE line, every value a finite number, the procedure families labelled namespace
and procedure (and outcome, le or quantile where they are by), the families of the
contract present (docs/operations.md "Live counters"), and each procedure's duration
histogram cumulative: buckets never decreasing with le, a +Inf bucket, _count equal to
it; else prints why and exits 1.  Then prints one line per procedure: NAMESPACE/PROCEDURE
CALLS (the calls of every outcome, for the shell test to compare).
Options: settled -- the writer has ended, so every histogram's _count equals the
procedure's calls; engine -- the output of an open engine (the service's /metrics): the
stuck transactions, the queue's jobs by state and the process's figures are there too.
usage: python3 prom_check.py FILE [settled] [engine]"""
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

ALWAYS = {"provost_counters_writer_live", "provost_procedure_calls", "provost_procedure_executing",
          "provost_procedure_duration_seconds", "provost_rollbacks", "provost_journal_syncs", "provost_failures"}
ENGINE = {"provost_transactions_stuck", "provost_queue_jobs", "process_cpu_seconds", "process_resident_memory_bytes",
          "process_open_fds", "process_start_time_seconds"}
BY = {"provost_procedure_calls_total": "outcome", "provost_procedure_duration_seconds_bucket": "le",
      "provost_procedure_latency_seconds": "quantile"}


def histogram(fam, calls, settled):
    """Checks each procedure's buckets; returns nothing, exits on a fault."""
    per = {}
    for s in fam.samples:
        key = "%s/%s" % (s.labels["namespace"], s.labels["procedure"])
        h = per.setdefault(key, {"buckets": [], "count": None, "sum": None})
        if s.name.endswith("_bucket"):
            le = s.labels["le"]
            h["buckets"].append((math.inf if le == "+Inf" else float(le), s.value))
        elif s.name.endswith("_count"):
            h["count"] = s.value
        elif s.name.endswith("_sum"):
            h["sum"] = s.value
    for key, h in per.items():
        b = h["buckets"]
        if len(b) < 2 or b[-1][0] != math.inf or [x for x, _ in b] != sorted(x for x, _ in b):
            sys.exit("%s %s: buckets %r" % (fam.name, key, b))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            sys.exit("%s %s: not cumulative: %r" % (fam.name, key, b))
        if h["count"] != b[-1][1] or h["sum"] is None or h["sum"] < 0:
            sys.exit("%s %s: _count %r, +Inf %r, _sum %r" % (fam.name, key, h["count"], b[-1][1], h["sum"]))
        if settled and h["count"] != calls.get(key):
            sys.exit("%s %s: _count %r, calls %r" % (fam.name, key, h["count"], calls.get(key)))


def main(path, opts):
    text = open(path, encoding="utf-8").read()
    declared = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
    calls = {}
    families = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
        for s in fam.samples:
            if not any(s.name == d or s.name.startswith(d + "_") for d in declared):
                sys.exit("undeclared sample " + s.name)
            if not math.isfinite(s.value):
                sys.exit("not a finite value: %s %r" % (s.name, s.value))
            if s.name.startswith("provost_procedure_"):
                want = {"namespace", "procedure"} | ({BY[s.name]} if s.name in BY else set())
                if set(s.labels) != want:
                    sys.exit("labels of %s: %r" % (s.name, s.labels))
            if s.name == "provost_procedure_calls_total":
                if s.labels["outcome"] not in ("succeeded", "failed", "in_doubt"):
                    sys.exit("outcome %r" % s.labels["outcome"])
                key = "%s/%s" % (s.labels["namespace"], s.labels["procedure"])
                calls[key] = calls.get(key, 0) + int(s.value)
            if s.name == "provost_queue_jobs" and set(s.labels) != {"state"}:
                sys.exit("labels of %s: %r" % (s.name, s.labels))
        if fam.type == "summary":
            quantiles = {s.labels.get("quantile") for s in fam.samples if "quantile" in s.labels}
            if calls and quantiles != {"0.5", "0.9", "0.99", "0.999"}:
                sys.exit("summary %s quantiles %r" % (fam.name, quantiles))
    want = ALWAYS | (ENGINE if "engine" in opts else set())
    if want - set(families):
        sys.exit("families missing: %r" % sorted(want - set(families)))
    if families["provost_procedure_duration_seconds"].type != "histogram":
        sys.exit("provost_procedure_duration_seconds is a %s" % families["provost_procedure_duration_seconds"].type)
    histogram(families["provost_procedure_duration_seconds"], calls, "settled" in opts)
    for k in sorted(calls):
        print(k, calls[k])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
