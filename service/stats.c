/*
 * stats.c -- GET /stats: the dashboard's JSON (its shape in docs/operations.md "Live
 * counters"), rendered by run/ from the open engine and the counters file it writes
 * (provost_stats_dashboard); the page polls it every 2 s, so nothing in it reads more
 * than counters and the journal's few unfinished transactions.
 */
#include <stdio.h>
#include <stdlib.h>

#include "provost/stats.h"
#include "svc.h"

void svc_stats(svc_req *r, svc_resp *p)
{
    provost_live_stats s;
    char why[600];
    /* a file this version cannot read (an older provost's, until this engine counts its
     * first call and replaces it) leaves the engine's own figures: they are still answered */
    provost_live_stats_read(r->srv->db_dir, &s, why, sizeof why);
    svc_json j;
    if (svc_json_open(&j) != 0) {
        provost_live_stats_free(&s);
        svc_resp_error(p, 500, "stats: out of memory");
        return;
    }
    provost_error err = {0};
    int rc = provost_stats_dashboard(j.f, r->srv->engine, &s, &err);
    provost_live_stats_free(&s);
    if (rc != 0) {
        fclose(j.f);
        free(j.buf);
        svc_resp_error(p, 500, "stats: %s", err.message);
        return;
    }
    svc_json_close(&j, p);
    svc_resp_header(p, "Cache-Control", "no-store");
}
