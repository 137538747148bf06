/*
 * queue.c -- queue steps (SPEC §6, §11).  A job is stored in the database's queue column
 * family with its executeData, the call it makes and MPF's state code; its id (1:{UUID})
 * is written to context/queueContext/@queueId.  queueSuspended="1" stores it SUSPENDED
 * (13) until the transaction commits, when it becomes PENDING (4), and deletes it if the
 * transaction rolls back; queueSuspended="0" stores it PENDING at once, whatever happens.
 * Running jobs is the queue worker's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "provost/compiler.h"
#include "util/xmlout.h"
#include "db.h"
#include "rights.h"
#include "vm.h"

enum { JOB_PENDING = 4, JOB_SUSPENDED = 13 };

static int store(pvm_req *r, const char *id, xmlNodePtr job)
{
    size_t len = 0;
    char *text = pu_xml_string(job, 0, &len);
    if (!text)
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    char err[256];
    int rc = pvm_db_put(r->e->db, PVM_CF_QUEUE, id, strlen(id), text, len, err, sizeof err);
    free(text);
    return rc == 0 ? 0 : pvm_fail(r, PROVOST_E_JOURNAL, "queue: %s", err);
}

int pvm_queue(pvm_frame *f, const provost_callref *c, const pvm_target *t)
{
    pvm_req *r = f->req;
    if (!t->ns)
        return pvm_fail(r, PROVOST_E_NOTFOUND, "procedure '%s' of namespace '%s' is not registered",
                        pvm_bundle_str(f->b, c->proc), pvm_bundle_str(f->b, c->ns));
    if (pvm_rights_call(f, t) != 0) /* queueing a call needs what making it does */
        return -1;
    char uuid[40], id[48];
    pvm_uuid(uuid);
    snprintf(id, sizeof id, "1:%s", uuid);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr job = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "job", NULL) : NULL;
    if (!job) {
        xmlFreeDoc(doc);
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    xmlDocSetRootElement(doc, job);
    char state[8];
    snprintf(state, sizeof state, "%d", c->suspended ? JOB_SUSPENDED : JOB_PENDING);
    xmlNewProp(job, BAD_CAST "queueId", BAD_CAST id);
    xmlNewProp(job, BAD_CAST "state", BAD_CAST state);
    xmlNewProp(job, BAD_CAST "namespace", BAD_CAST t->ns->name);
    xmlNewProp(job, BAD_CAST "procedure",
               BAD_CAST pvm_bundle_str(t->ns->bundle, t->ns->bundle->procs_v[t->proc].name));
    xmlNewProp(job, BAD_CAST "transactionId", BAD_CAST r->txid);
    xmlNodePtr ctx = xmlDocCopyNode(r->context, doc, 1);
    if (ctx)
        xmlAddChild(job, ctx);
    xmlNodePtr data = xmlDocCopyNode(f->exec, doc, 1);
    if (data)
        xmlAddChild(job, data);
    int rc = store(r, id, job);
    xmlFreeDoc(doc);
    if (rc != 0)
        return rc;
    if (c->suspended) {
        /* journaled, so that a crash before the end still settles the job */
        char why[300];
        if (pvm_journal_queued(r->e->journal, &r->jt, id, why, sizeof why) != 0) {
            pvm_db_delete(r->e->db, PVM_CF_QUEUE, id, strlen(id), why, sizeof why);
            return pvm_fail(r, PROVOST_E_JOURNAL, "queue: %s", why);
        }
        char **v = realloc(r->queued, (r->nqueued + 1) * sizeof *v);
        char *copy = strdup(id);
        if (!v || !copy) {
            free(copy);
            if (v)
                r->queued = v;
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
    if (!qc || !xmlSetProp(qc, BAD_CAST "queueId", BAD_CAST id))
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    return 0;
}

/* The transaction's outcome decides its suspended jobs. */
void pvm_queue_finish(pvm_req *r, bool committed)
{
    char err[256];
    for (size_t i = 0; i < r->nqueued; i++) {
        const char *id = r->queued[i];
        if (!committed) {
            pvm_db_delete(r->e->db, PVM_CF_QUEUE, id, strlen(id), err, sizeof err);
            continue;
        }
        size_t len = 0;
        char *text = pvm_db_get(r->e->db, PVM_CF_QUEUE, id, strlen(id), &len, err, sizeof err);
        provost_xml_error pe;
        xmlDocPtr doc = text ? provost_xml_read(text, len, "job", NULL, 0, &pe) : NULL;
        free(text);
        if (!doc)
            continue;
        char state[8];
        snprintf(state, sizeof state, "%d", JOB_PENDING);
        xmlSetProp(xmlDocGetRootElement(doc), BAD_CAST "state", BAD_CAST state);
        size_t n = 0;
        char *out = pu_xml_string(xmlDocGetRootElement(doc), 0, &n);
        if (out)
            pvm_db_put(r->e->db, PVM_CF_QUEUE, id, strlen(id), out, n, err, sizeof err);
        free(out);
        xmlFreeDoc(doc);
    }
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
