"""prom_check.py -- exits 0 when FILE is valid Prometheus text exposition format, as the
Prometheus client library's own parser reads it, with every sample of a family declared
by a TYPE line, every value a finite number, and the procedure families labelled
namespace and procedure; else prints why and exits 1.  Then prints one line per
procedure: NAMESPACE/PROCEDURE CALLS (for the shell test to compare).
usage: python3 prom_check.py FILE"""
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main(path):
    text = open(path, encoding="utf-8").read()
    declared = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
    calls = {}
    families = 0
    for fam in text_string_to_metric_families(text):
        families += 1
        for s in fam.samples:
            if not any(s.name == d or s.name.startswith(d + "_") for d in declared):
                sys.exit("undeclared sample " + s.name)
            if not math.isfinite(s.value):
                sys.exit("not a finite value: %s %r" % (s.name, s.value))
            if s.name.startswith("provost_procedure_"):
                if set(s.labels) - {"quantile"} != {"namespace", "procedure"}:
                    sys.exit("labels of %s: %r" % (s.name, s.labels))
            if s.name == "provost_procedure_calls_total":
                calls["%s/%s" % (s.labels["namespace"], s.labels["procedure"])] = int(s.value)
        if fam.type == "summary":
            quantiles = {s.labels.get("quantile") for s in fam.samples if "quantile" in s.labels}
            if calls and quantiles != {"0.5", "0.9", "0.99", "0.999"}:
                sys.exit("summary %s quantiles %r" % (fam.name, quantiles))
    if families < 2:
        sys.exit("too few metric families: %d" % families)
    for k in sorted(calls):
        print(k, calls[k])


if __name__ == "__main__":
    main(sys.argv[1])
