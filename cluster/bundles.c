/*
 * bundles.c -- the namespaces of a cluster: `provost --cluster C register` stores a
 * compiled bundle as the namespace's next revision and notifies the channel
 * provost_bundles, which workers listen on to load it between claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcl.h"

int provost_cluster_put_bundle(provost_cluster *c, const char *ns, const void *buf, size_t len, uint64_t *revision,
                               provost_error *err)
{
    const char *params[2] = {ns, (const char *)buf};
    int lens[2] = {(int)strlen(ns), (int)len};
    int fmts[2] = {0, 1};
    if (len > 0x7fffffff)
        return pcl_fail(err, PROVOST_E_INVALIDARG, "the bundle of %s is too large", ns);
    PGresult *r = PQexecParams(c->pg,
                               "WITH s AS (INSERT INTO provost.bundles (namespace, revision, bytes) VALUES ($1, 1, $2)"
                               " ON CONFLICT (namespace) DO UPDATE SET revision = provost.bundles.revision + 1,"
                               " bytes = EXCLUDED.bytes, registered = now() RETURNING revision)"
                               " SELECT revision, pg_notify('provost_bundles', $1) FROM s",
                               2, NULL, params, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        const char *m = PQresultErrorMessage(r);
        pcl_fail(err, PROVOST_E_FAIL, "register %s: %.*s", ns, (int)strcspn(m, "\n"), m);
        PQclear(r);
        return -1;
    }
    *revision = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return 0;
}
