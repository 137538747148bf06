/*
 * schema.c -- `provost cluster init`: the tables of a cluster in their own PostgreSQL
 * schema "provost" (docs/cluster.md describes each).  Idempotent, one transaction under an
 * advisory lock so two inits at once make one schema, and a version row that a newer
 * provost's schema is refused by.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcl.h"

#define PCL_STR_(x) #x
#define PCL_STR(x) PCL_STR_(x)

static const char schema_sql[] =
    "CREATE SCHEMA IF NOT EXISTS provost;"
    "CREATE TABLE IF NOT EXISTS provost.meta (key text PRIMARY KEY, value text NOT NULL);"
    /* every start and every takeover draws a new epoch: one never comes back */
    "CREATE SEQUENCE IF NOT EXISTS provost.epochs;"
    "CREATE TABLE IF NOT EXISTS provost.workers ("
    " id bigserial PRIMARY KEY, name text NOT NULL, host text NOT NULL, pid integer NOT NULL,"
    " epoch bigint NOT NULL DEFAULT nextval('provost.epochs'), threads integer NOT NULL,"
    " lease_ms integer NOT NULL, started timestamptz NOT NULL DEFAULT now(),"
    " heartbeat timestamptz NOT NULL DEFAULT now(), lease_until timestamptz NOT NULL,"
    " done bigint NOT NULL DEFAULT 0, failed bigint NOT NULL DEFAULT 0, retried bigint NOT NULL DEFAULT 0,"
    " ended text);"
    "CREATE TABLE IF NOT EXISTS provost.batches ("
    " id bigserial PRIMARY KEY, created timestamptz NOT NULL DEFAULT now(), total bigint NOT NULL DEFAULT 0,"
    " ns text, proc text, inputs text NOT NULL DEFAULT '');"
    /* the hot table: only jobs queued or running; a finished one moves to results */
    "CREATE TABLE IF NOT EXISTS provost.jobs ("
    " id bigserial PRIMARY KEY, batch bigint NOT NULL, position bigint NOT NULL,"
    " input text NOT NULL DEFAULT '', line bigint NOT NULL DEFAULT 0, client text,"
    " kind \"char\" NOT NULL, ns text, proc text, request text NOT NULL,"
    " attempt integer NOT NULL DEFAULT 0, due timestamptz NOT NULL DEFAULT now(),"
    " worker bigint, epoch bigint, claimed timestamptz,"
    " retry_count integer NOT NULL DEFAULT 0, retry_interval_ms bigint NOT NULL DEFAULT 1000,"
    " exponential boolean NOT NULL DEFAULT false, to_operator boolean NOT NULL DEFAULT false,"
    " stop_code bigint NOT NULL DEFAULT 0, last_code bigint NOT NULL DEFAULT 0, last_description text,"
    " UNIQUE (batch, position));"
    "CREATE INDEX IF NOT EXISTS jobs_due ON provost.jobs (due, id) WHERE worker IS NULL;"
    "CREATE INDEX IF NOT EXISTS jobs_worker ON provost.jobs (worker) WHERE worker IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS provost.results ("
    " batch bigint NOT NULL, position bigint NOT NULL, input text, line bigint, client text, txid text,"
    " status text NOT NULL, state integer NOT NULL, code bigint NOT NULL, description text, response text,"
    " attempts integer NOT NULL, worker bigint, epoch bigint, finished timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (batch, position));"
    "CREATE INDEX IF NOT EXISTS results_finished ON provost.results (finished);"
    "CREATE TABLE IF NOT EXISTS provost.bundles ("
    " namespace text PRIMARY KEY, revision bigint NOT NULL, bytes bytea NOT NULL,"
    " registered timestamptz NOT NULL DEFAULT now());"
    /* version 2: the journal of the workers' transactions, and the outcomes their ends
       record, until the job's completion (or a takeover) carries them to results */
    "CREATE TABLE IF NOT EXISTS provost.journal ("
    " worker bigint NOT NULL, txid text COLLATE \"C\" NOT NULL, seq integer NOT NULL, rec bytea NOT NULL,"
    " PRIMARY KEY (txid, seq));"
    "CREATE INDEX IF NOT EXISTS journal_worker ON provost.journal (worker);"
    "CREATE TABLE IF NOT EXISTS provost.outcomes (key text PRIMARY KEY, value text NOT NULL);"
    /* a worker taken over is settled once its journal is finished by the one who took it */
    "ALTER TABLE provost.workers ADD COLUMN IF NOT EXISTS taken_by bigint;"
    "ALTER TABLE provost.workers ADD COLUMN IF NOT EXISTS settled boolean NOT NULL DEFAULT true;"
    /* every row of the hot tables is short-lived: each claim, completion and journal end
       leaves dead rows (and index entries the next claim walks over) that a vacuum after a
       fixed number of them keeps few, however large the tables have grown */
    "ALTER TABLE provost.jobs SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,"
    " autovacuum_vacuum_cost_delay = 0);"
    "ALTER TABLE provost.journal SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,"
    " autovacuum_vacuum_cost_delay = 0);"
    "ALTER TABLE provost.outcomes SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,"
    " autovacuum_vacuum_cost_delay = 0);";

int provost_cluster_init(provost_cluster *c, int *created, provost_error *err)
{
    *created = 0;
    if (pcl_exec(c->pg, "init", "BEGIN; SELECT pg_advisory_xact_lock(7260837)", 0, NULL, err) != 0)
        return -1;
    PGresult *r = pcl_query(c->pg, "init",
                            "SELECT value FROM provost.meta WHERE key = 'schema_version'", 0, NULL, err);
    bool fresh = false;
    if (!r) {
        if (strcmp(pcl_sqlstate(), "42P01") != 0 && strcmp(pcl_sqlstate(), "3F000") != 0)
            goto fail;
        /* the failed statement ended the transaction's usefulness: start it again */
        PQclear(PQexec(c->pg, "ROLLBACK"));
        if (pcl_exec(c->pg, "init", "BEGIN; SELECT pg_advisory_xact_lock(7260837)", 0, NULL, err) != 0)
            return -1;
        fresh = true;
    } else {
        long v = PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        PQclear(r);
        if (v > PROVOST_CLUSTER_SCHEMA) {
            pcl_fail(err, PROVOST_E_FAIL,
                     "the cluster has schema version %ld, newer than this provost's %d: upgrade provost", v,
                     PROVOST_CLUSTER_SCHEMA);
            goto fail;
        }
        fresh = v == 0;
    }
    if (pcl_exec(c->pg, "init", schema_sql, 0, NULL, err) != 0 ||
        pcl_exec(c->pg, "init",
                 "INSERT INTO provost.meta VALUES ('schema_version', '" PCL_STR(PROVOST_CLUSTER_SCHEMA) "')"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", 0, NULL,
                 err) != 0 ||
        pcl_cluster_id(c->pg, NULL, 0, err) != 0 ||
        pcl_exec(c->pg, "init", "COMMIT", 0, NULL, err) != 0)
        goto fail;
    *created = fresh;
    return 0;
fail:
    PQclear(PQexec(c->pg, "ROLLBACK"));
    return -1;
}

int pcl_cluster_id(PGconn *pg, char *id, size_t n, provost_error *err)
{
    /* random, so a cluster made again (or another on the same server) is another cluster;
       made here too for a cluster initialised before it had one */
    PGresult *r = pcl_query(pg, "cluster id",
                            "INSERT INTO provost.meta VALUES ('cluster_id', gen_random_uuid()::text)"
                            " ON CONFLICT (key) DO NOTHING;"
                            " SELECT value FROM provost.meta WHERE key = 'cluster_id'",
                            0, NULL, err);
    if (!r)
        return -1;
    if (id)
        snprintf(id, n, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return 0;
}
