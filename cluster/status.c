/*
 * status.c -- what a cluster is doing: `provost cluster status` (workers and their leases,
 * jobs by state, the last minute's throughput, batches) and one batch's progress and
 * results (`provost batch --cluster C status|results|wait ID`).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcl.h"

static uint64_t u64(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoull(PQgetvalue(r, row, col), NULL, 10);
}

int provost_cluster_batch_status(provost_cluster *c, int64_t id, provost_cluster_batch_info *out, provost_error *err)
{
    memset(out, 0, sizeof *out);
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    PGresult *r = pcl_query(c->pg, "batch",
                            "SELECT b.total, extract(epoch FROM now() - b.created),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id AND r.status = 'succeeded'),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id AND r.status = 'failed'),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id AND r.status = 'stuck'),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id AND r.status = 'invalid'),"
                            " (SELECT count(*) FROM provost.jobs j WHERE j.batch = b.id AND j.worker IS NOT NULL),"
                            " (SELECT count(*) FROM provost.jobs j WHERE j.batch = b.id AND j.worker IS NULL)"
                            " FROM provost.batches b WHERE b.id = $1",
                            1, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return pcl_fail(err, PROVOST_E_NOTFOUND, "batch %" PRId64 ": no such batch in the cluster", id);
    }
    out->id = id;
    out->total = u64(r, 0, 0);
    out->age = strtod(PQgetvalue(r, 0, 1), NULL);
    out->succeeded = u64(r, 0, 2);
    out->failed = u64(r, 0, 3);
    out->stuck = u64(r, 0, 4);
    out->invalid = u64(r, 0, 5);
    out->running = u64(r, 0, 6);
    out->queued = u64(r, 0, 7);
    out->done = out->succeeded + out->failed + out->stuck + out->invalid;
    PQclear(r);
    return 0;
}

int provost_cluster_batch_pending(provost_cluster *c, int64_t id, provost_error *err)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    /* one probe of the (batch, position) key of the hot table: no count, no results */
    PGresult *r = pcl_query(c->pg, "batch", "SELECT EXISTS (SELECT 1 FROM provost.jobs WHERE batch = $1)", 1, p, err);
    if (!r)
        return -1;
    int some = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return some;
}

int provost_cluster_batch_results(provost_cluster *c, int64_t id, FILE *to, provost_error *err)
{
    provost_cluster_batch_info info;
    if (provost_cluster_batch_status(c, id, &info, err) != 0)
        return -1;
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[1] = {ids};
    /* written out key by key: the order and the spacing of a local batch's result lines */
    PGresult *r = pcl_query(c->pg, "results",
                            "SELECT '{\"position\":' || position"
                            " || ',\"input\":' || coalesce(to_json(input)::text, 'null')"
                            " || ',\"line\":' || coalesce(line, 0)"
                            " || ',\"clientTransactionId\":' || coalesce(to_json(client)::text, 'null')"
                            " || ',\"transactionId\":' || coalesce(to_json(txid)::text, 'null')"
                            " || ',\"status\":' || coalesce(to_json(status)::text, 'null')"
                            " || ',\"code\":\"0x' || lpad(upper(to_hex(code)), 8, '0') || '\"'"
                            " || ',\"description\":' || coalesce(to_json(description)::text, 'null')"
                            " || ',\"attempts\":' || attempts || '}'"
                            " FROM provost.results WHERE batch = $1 ORDER BY position",
                            1, p, err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        fputs(PQgetvalue(r, i, 0), to);
        fputc('\n', to);
    }
    PQclear(r);
    return 0;
}

int provost_cluster_batch_codes(provost_cluster *c, int64_t id, uint32_t *codes, uint64_t *counts, size_t max,
                                size_t *n, provost_error *err)
{
    *n = 0;
    char ids[32], lim[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    snprintf(lim, sizeof lim, "%zu", max);
    const char *p[2] = {ids, lim};
    PGresult *r = pcl_query(c->pg, "results",
                            "SELECT code, count(*) FROM provost.results WHERE batch = $1 AND status <> 'succeeded'"
                            " GROUP BY code ORDER BY 2 DESC, 1 LIMIT $2",
                            2, p, err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        codes[i] = (uint32_t)u64(r, i, 0);
        counts[i] = u64(r, i, 1);
    }
    *n = (size_t)PQntuples(r);
    PQclear(r);
    return 0;
}

static int print_workers(provost_cluster *c, FILE *to, provost_error *err)
{
    PGresult *r = pcl_query(c->pg, "status",
                            "SELECT id, name, epoch, threads, CASE WHEN ended IS NOT NULL THEN ended"
                            " WHEN lease_until > now() THEN 'alive' ELSE 'expired' END,"
                            " greatest(0, round(extract(epoch FROM lease_until - now()) * 1000)),"
                            " done, failed, retried, (SELECT count(*) FROM provost.jobs j WHERE j.worker = w.id)"
                            " FROM provost.workers w WHERE ended IS NULL OR heartbeat > now() - interval '1 hour'"
                            " ORDER BY id",
                            0, NULL, err);
    if (!r)
        return -1;
    fprintf(to, "workers: %d\n", PQntuples(r));
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(to, "  %s %s: %s, epoch %s, %s threads, lease %s ms left, %s running, %s done, %s failed, %s retried\n",
                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 4), PQgetvalue(r, i, 2),
                PQgetvalue(r, i, 3), PQgetvalue(r, i, 5), PQgetvalue(r, i, 9), PQgetvalue(r, i, 6),
                PQgetvalue(r, i, 7), PQgetvalue(r, i, 8));
    PQclear(r);
    return 0;
}

static int print_jobs(provost_cluster *c, FILE *to, provost_error *err)
{
    PGresult *r = pcl_query(c->pg, "status",
                            "SELECT (SELECT count(*) FROM provost.jobs WHERE worker IS NULL AND due <= now()),"
                            " (SELECT count(*) FROM provost.jobs WHERE worker IS NULL AND due > now()),"
                            " (SELECT count(*) FROM provost.jobs WHERE worker IS NOT NULL),"
                            " (SELECT count(*) FROM provost.results),"
                            " (SELECT count(*) FROM provost.results WHERE finished > now() - interval '1 minute'),"
                            " (SELECT count(DISTINCT txid) FROM provost.journal)",
                            0, NULL, err);
    if (!r)
        return -1;
    fprintf(to, "jobs: %s due, %s scheduled later, %s running, %s finished\n", PQgetvalue(r, 0, 0),
            PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
    fprintf(to, "throughput: %s jobs in the last minute (%.1f/s)\n", PQgetvalue(r, 0, 4),
            strtod(PQgetvalue(r, 0, 4), NULL) / 60.0);
    /* running, or stuck for an operator, or of a worker not taken over yet */
    fprintf(to, "journal: %s unfinished transactions\n", PQgetvalue(r, 0, 5));
    PQclear(r);
    return 0;
}

static int print_batches(provost_cluster *c, FILE *to, provost_error *err)
{
    PGresult *r = pcl_query(c->pg, "status",
                            "SELECT b.id, b.total, coalesce(nullif(b.ns || '/' || b.proc, '/'), b.inputs),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id),"
                            " (SELECT count(*) FROM provost.results r WHERE r.batch = b.id AND r.status <> 'succeeded')"
                            " FROM provost.batches b ORDER BY b.id DESC LIMIT 20",
                            0, NULL, err);
    if (!r)
        return -1;
    fprintf(to, "batches: %d%s\n", PQntuples(r), PQntuples(r) == 20 ? " (the newest 20)" : "");
    for (int i = 0; i < PQntuples(r); i++)
        fprintf(to, "  %s %s: %s/%s done, %s not succeeded\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
                PQgetvalue(r, i, 3), PQgetvalue(r, i, 1), PQgetvalue(r, i, 4));
    PQclear(r);
    return 0;
}

int provost_cluster_status(provost_cluster *c, FILE *to, provost_error *err)
{
    return print_workers(c, to, err) || print_jobs(c, to, err) || print_batches(c, to, err) ? -1 : 0;
}
