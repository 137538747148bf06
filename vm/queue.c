/*
 * queue.c -- queue steps (SPEC §6, §11).  A job is stored in the database's queue column
 * family with its executeData, the call it makes and MPF's state code; its id (1:{UUID})
 * is written to context/queueContext/@queueId.  queueSuspended="1" stores it SUSPENDED
 * (13) until the transaction commits, when it becomes PENDING (4), and deletes it if the
 * transaction rolls back; queueSuspended="0" stores it PENDING at once, whatever happens.
 * The record and its index keys are jobs.c's; running jobs is jobs_run.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/compiler.h"
#include "jobs.h"
#include "rights.h"
#include "vm.h"

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

int pvm_queue(pvm_frame *f, const provost_callref *c, const pvm_target *t)
{
    pvm_req *r = f->req;
    if (!t->ns)
        return pvm_fail(r, PROVOST_E_NOTFOUND, "procedure '%s' of namespace '%s' is not registered",
                        pvm_bundle_str(f->b, c->proc), pvm_bundle_str(f->b, c->ns));
    if (pvm_rights_call(f, t) != 0) /* queueing a call needs what making it does */
        return -1;
    pvm_job j;
    provost_error err;
    if (pvm_job_new(&j, c->suspended ? PROVOST_JOB_SUSPENDED : PROVOST_JOB_PENDING, provost_now_ms(), &err) != 0)
        return pvm_fail(r, err.code, "%s", err.message);
    const char *id = j.id;
    xmlSetProp(j.root, BAD_CAST "kind", BAD_CAST "step");
    xmlNewProp(j.root, BAD_CAST "namespace", BAD_CAST t->ns->name);
    xmlNewProp(j.root, BAD_CAST "procedure",
               BAD_CAST pvm_bundle_str(t->ns->bundle, t->ns->bundle->procs_v[t->proc].name));
    xmlNewProp(j.root, BAD_CAST "transactionId", BAD_CAST r->txid);
    xmlNodePtr ctx = xmlDocCopyNode(r->context, j.doc, 1);
    if (ctx)
        xmlAddChild(j.root, ctx);
    xmlNodePtr data = xmlDocCopyNode(f->exec, j.doc, 1);
    if (data)
        xmlAddChild(j.root, data);
    /* the request's queueContext gives the job its retries and priority; its parentQueue
     * does not (a queue step builds no dependencies) */
    char why[300];
    pvm_job_policy(&j, child_named(ctx, "queueContext"), false, why, sizeof why);
    pvm_jobs_lock();
    int rc = pvm_job_save(r->e, &j, false, PROVOST_SYNC_GROUP, &err);
    pvm_jobs_unlock();
    if (rc != 0) {
        pvm_job_release(&j);
        return pvm_fail(r, PROVOST_E_JOURNAL, "%s", err.message);
    }
    if (c->suspended) {
        /* journaled, so that a crash before the end still settles the job */
        if (pvm_journal_queued(r->e->journal, &r->jt, id, why, sizeof why) != 0) {
            pvm_jobs_lock();
            pvm_job_save(r->e, &j, true, PROVOST_SYNC_GROUP, &err);
            pvm_jobs_unlock();
            pvm_job_release(&j);
            return pvm_fail(r, PROVOST_E_JOURNAL, "queue: %s", why);
        }
        char **v = realloc(r->queued, (r->nqueued + 1) * sizeof *v);
        char *copy = strdup(id);
        if (!v || !copy) {
            free(copy);
            if (v)
                r->queued = v;
            pvm_job_release(&j);
            return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
        }
        r->queued = v;
        r->queued[r->nqueued++] = copy;
    }
    /* the id, where a later step's after can read it */
    xmlNodePtr qc = NULL;
    for (xmlNodePtr n = r->context->children; n && !qc; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "queueContext"))
            qc = n;
    if (!qc)
        qc = xmlNewChild(r->context, NULL, BAD_CAST "queueContext", NULL);
    rc = !qc || !xmlSetProp(qc, BAD_CAST "queueId", BAD_CAST id) ? pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory") : 0;
    pvm_job_release(&j);
    return rc;
}

/* The transaction's outcome decides its suspended jobs. */
void pvm_queue_finish(pvm_req *r, bool committed)
{
    provost_error err;
    pvm_jobs_lock();
    for (size_t i = 0; i < r->nqueued; i++) {
        pvm_job j;
        if (pvm_job_load(r->e, r->queued[i], &j, &err) != 0)
            continue; /* gone already (a repeated finish after a crash) */
        if (!committed) {
            pvm_job_save(r->e, &j, true, PROVOST_SYNC_GROUP, &err);
        } else if (j.state0 == PROVOST_JOB_SUSPENDED) {
            pvm_job_set_int(&j, "state", PROVOST_JOB_PENDING);
            pvm_job_save(r->e, &j, false, PROVOST_SYNC_GROUP, &err);
        }
        pvm_job_release(&j);
    }
    pvm_jobs_unlock();
    pvm_queue_forget(r);
}

/* Drop the list, leaving the jobs as they are (a stuck transaction's wait for it). */
void pvm_queue_forget(pvm_req *r)
{
    for (size_t i = 0; i < r->nqueued; i++)
        free(r->queued[i]);
    free(r->queued);
    r->queued = NULL;
    r->nqueued = 0;
}
