/*
 * wrun.c -- what a cluster worker does on its own machine: load the cluster's namespaces
 * into its engine, and run a claimed job there.  A job runs keyed by its batch, position
 * and attempt, so the engine records its outcome (and transaction id) with the
 * transaction's end, as a local batch's request.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "provost/compiler.h"
#include "wrun.h"

void wrun_bundles_free(wrun_bundles *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->ns[i]);
    free(b->ns);
    free(b->rev);
    memset(b, 0, sizeof *b);
}

static uint64_t *known_rev(wrun_bundles *b, const char *ns)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ns[i], ns) == 0)
            return &b->rev[i];
    char **nn = realloc(b->ns, (b->n + 1) * sizeof *nn);
    if (nn)
        b->ns = nn;
    uint64_t *nr = nn ? realloc(b->rev, (b->n + 1) * sizeof *nr) : NULL;
    if (nr)
        b->rev = nr;
    char *name = nr ? strdup(ns) : NULL;
    if (!name)
        return NULL;
    b->ns[b->n] = name;
    b->rev[b->n] = 0;
    return &b->rev[b->n++];
}

int wrun_load_bundles(PGconn *pg, const provost_cluster_worker_options *o, wrun_bundles *known, size_t *loaded,
                      provost_error *err)
{
    PGresult *r = PQexecParams(pg, "SELECT namespace, revision, bytes FROM provost.bundles ORDER BY namespace", 0, NULL,
                               NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(r);
        pcl_fail(err, PROVOST_E_FAIL, "load the namespaces: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *ns = PQgetvalue(r, i, 0);
        uint64_t rev = 0;
        for (int k = 0; k < PQgetlength(r, i, 1); k++) /* int8, network order */
            rev = rev << 8 | (unsigned char)PQgetvalue(r, i, 1)[k];
        uint64_t *have = known_rev(known, ns);
        if (!have) {
            rc = pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
            break;
        }
        if (*have >= rev)
            continue;
        char shown[300];
        snprintf(shown, sizeof shown, "cluster:%s", ns);
        provost_ns_info info;
        provost_error perr;
        if (provost_register(o->engine, shown, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), &info, &perr) != 0) {
            rc = pcl_fail(err, perr.code, "namespace %s revision %" PRIu64 ": %s", ns, rev, perr.message);
            break;
        }
        free(info.name);
        free(info.version);
        free(info.provider);
        free(info.description);
        *have = rev;
        (*loaded)++;
        if (o->on_bundle)
            o->on_bundle(o->ud, ns, rev);
    }
    PQclear(r);
    return rc;
}

/* The description of a failed response's first errorContext (malloc'd), or NULL. */
static char *description(const char *xml, size_t len)
{
    if (!xml || !strstr(xml, "errorContext"))
        return NULL;
    provost_xml_error xerr;
    xmlDocPtr d = provost_xml_read(xml, len, "response", NULL, 0, &xerr);
    char *out = NULL;
    for (xmlNodePtr n = d ? xmlDocGetRootElement(d) : NULL; n && !out;) {
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "errorContext")) {
            xmlChar *v = xmlGetNoNsProp(n, BAD_CAST "description");
            out = v ? strdup((const char *)v) : NULL;
            xmlFree(v);
            break;
        }
        /* depth first */
        if (n->children)
            n = n->children;
        else {
            while (n && !n->next)
                n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
            n = n ? n->next : NULL;
        }
    }
    xmlFreeDoc(d);
    return out;
}

/* PCL_OUTCOME_KEY in SQL */
static void job_key(const char *cluster, const pcl_job *j, char *key, size_t n)
{
    snprintf(key, n, "cluster:%s:%" PRId64 ":%" PRId64 ":%d", cluster, j->batch, j->pos, j->attempt);
}

int wrun_settle(provost_engine *e, const char *cluster, pcl_job *j, provost_error *err)
{
    if (j->left[0] && provost_txn_resolve(e, j->left, PROVOST_RESOLVE_RETRY, err) != 0 && err->code != PROVOST_E_NOTFOUND)
        return -1;
    char key[192], *outcome = NULL, status[16] = "", txid[64] = "";
    job_key(cluster, j, key, sizeof key);
    if (provost_outcome(e, key, &outcome) != 1) {
        snprintf(err->message, sizeof err->message, "transaction %s has no outcome yet", j->left);
        return -1;
    }
    unsigned code = 0;
    sscanf(outcome, "%15s 0x%x %63s", status, &code, txid);
    free(outcome);
    free(j->txid);
    j->txid = txid[0] ? strdup(txid) : NULL;
    /* the outcome is the truth: a decided commit is committed whatever the response said */
    j->status = strcmp(status, "committed") == 0 ? "succeeded" : strcmp(status, "stuck") == 0 ? "stuck" : "failed";
    j->code = strcmp(status, "committed") == 0 ? 0 : code;
    free(j->left);
    j->left = NULL;
    return 0;
}

void wrun_job(provost_engine *e, const char *cluster, pcl_job *j)
{
    char key[192];
    job_key(cluster, j, key, sizeof key);
    provost_response resp = {0};
    provost_error perr = {0};
    const char *text = j->request ? j->request : "";
    if (j->kind == 'c' && (!j->ns || !j->proc)) {
        j->status = "invalid";
        j->code = PROVOST_E_INVALIDARG;
        j->description = strdup("a call without its namespace or procedure");
        return;
    }
    size_t len = strlen(text);
    /* the attempt is in the key, and each attempt is claimed once: nothing to look up */
    provost_request_opts ro = {.key = key, .format = PROVOST_COMPACT, .fresh = 1};
    int rc = j->kind == 'c' ? provost_call_as(e, &ro, j->ns, j->proc, text, len, &resp, &perr)
                            : provost_submit_as(e, &ro, text, len, &resp, &perr);
    if (rc < 0) {
        j->status = "invalid";
        j->code = perr.code ? perr.code : PROVOST_E_INVALIDARG;
        j->description = strdup(perr.message);
        provost_response_free(&resp);
        return;
    }
    char *outcome = NULL, status[16] = "", txid[64] = "";
    if (provost_outcome(e, key, &outcome) == 1)
        sscanf(outcome, "%15s %*s %63s", status, txid);
    else if (resp.txid[0] && !(j->left = strdup(resp.txid)))
        j->left = strdup(""); /* not even that: recovery is left to a takeover */
    free(outcome);
    j->txid = txid[0] ? strdup(txid) : NULL;
    j->code = resp.failed ? resp.code : 0;
    j->status = !resp.failed ? "succeeded" : strcmp(status, "stuck") == 0 ? "stuck" : "failed";
    if (resp.failed)
        j->description = description(resp.xml, resp.len);
    j->response = resp.xml;
    resp.xml = NULL;
    provost_response_free(&resp);
}
