/*
 * metrics.c -- GET /metrics: the engine's counters in the Prometheus text format (0.0.4),
 * as run/ renders them for an open engine (provost_stats_prometheus_engine): the
 * counters file this engine writes, and what only the engine knows (stuck transactions,
 * jobs by state, the process).  Open without a token when --public-metrics is given.
 * Rendered into memory first (open_memstream), so an answer is whole or a 500.
 */
#include <stdio.h>
#include <stdlib.h>

#include "provost/stats.h"
#include "svc.h"

#define PROM_TEXT "text/plain; version=0.0.4; charset=utf-8"

void svc_metrics(svc_req *r, svc_resp *p)
{
    provost_live_stats s;
    char why[600];
    /* a file this version cannot read (an older provost's, until this engine counts its
     * first call and replaces it) leaves the engine's own figures: they are still answered */
    provost_live_stats_read(r->srv->db_dir, &s, why, sizeof why);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    provost_error err = {0};
    int rc = f ? provost_stats_prometheus_engine(f, r->srv->engine, &s, &err) : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    provost_live_stats_free(&s);
    if (rc != 0) {
        free(buf);
        svc_resp_error(p, 500, "metrics: %s", err.message[0] ? err.message : "out of memory");
        return;
    }
    svc_resp_set(p, 200, PROM_TEXT, buf, len);
    svc_resp_header(p, "Cache-Control", "no-store");
}
