/*
 * jobs_api.c -- the queue's operations for clients and operators (provost/queue.h):
 * submit a request as a job (with its policy, priority, due time and prerequisites),
 * look at jobs, activate, delete, and retry a job parked for the operator.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/compiler.h"
#include "provost/rights.h"
#include "db.h"
#include "jobs.h"
#include "rights.h"
#include "vm.h"

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !c->ns && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

static bool finished(int state)
{
    return state >= PROVOST_JOB_SUCCESS && state <= PROVOST_JOB_ERROR_AND_FAILURE;
}

/* The ids a request's queueContext names in parentQueue (queueId, or queueID). */
static size_t context_parents(xmlNodePtr qc, char **out, size_t cap)
{
    size_t n = 0;
    for (xmlNodePtr c = qc ? qc->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, BAD_CAST "parentQueue"))
            continue;
        xmlChar *v = xmlGetNoNsProp(c, BAD_CAST "queueId");
        if (!v)
            v = xmlGetNoNsProp(c, BAD_CAST "queueID");
        if (v && n < cap)
            out[n++] = strdup((const char *)v);
        xmlFree(v);
    }
    return n;
}

/* Links the new job j to its parents (each gets a <child>), counting those not finished.
 * Parents are written first: a crash before the job is stored leaves only a link to a job
 * that does not exist, which releasing skips. */
static int link_parents(provost_engine *e, pvm_job *j, char **parents, size_t n, int sync, provost_error *err)
{
    long long waits = 0;
    for (size_t i = 0; i < n; i++) {
        pvm_job p;
        int rc = pvm_job_load(e, parents[i], &p, err);
        if (rc > 0)
            return pvm_api_fail(err, PROVOST_E_NOTFOUND, "queue: no job %s to wait for", parents[i]);
        if (rc < 0)
            return -1;
        xmlNodePtr pe = xmlNewChild(j->root, NULL, BAD_CAST "parent", NULL);
        xmlNewProp(pe, BAD_CAST "queueId", BAD_CAST parents[i]);
        if (!finished(p.state0)) {
            waits++;
            xmlNodePtr ce = xmlNewChild(p.root, NULL, BAD_CAST "child", NULL);
            xmlNewProp(ce, BAD_CAST "queueId", BAD_CAST j->id);
            rc = pvm_job_save(e, &p, false, sync, err);
        }
        pvm_job_release(&p);
        if (rc != 0)
            return -1;
    }
    pvm_job_set_int(j, "waits", waits);
    return 0;
}

static int bad(provost_error *err, const char *fmt, const char *arg)
{
    return pvm_api_fail(err, PROVOST_E_INVALIDARG, fmt, arg);
}

/* The request document, checked: <request> with a <procedure> and one <data> at most. */
static xmlDocPtr read_request(const char *xml, size_t len, provost_error *err)
{
    provost_xml_error pe;
    xmlDocPtr doc = provost_xml_read(xml, len, "request", NULL, 0, &pe);
    if (!doc) {
        pvm_api_fail(err, PROVOST_E_INVALIDARG, "%d:%d: %s", pe.line, pe.col, pe.msg[0] ? pe.msg : "not XML");
        return NULL;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    provost_strip_mpf(root);
    const char *why = NULL;
    size_t ndata = 0;
    for (xmlNodePtr c = root->children; c; c = c->next)
        ndata += c->type == XML_ELEMENT_NODE && !c->ns && xmlStrEqual(c->name, BAD_CAST "data");
    if (root->ns || !xmlStrEqual(root->name, BAD_CAST "request"))
        why = "the document is not a <request>";
    else if (!child_named(root, "procedure"))
        why = "the request has no <procedure>: the queue takes trusted requests";
    else if (ndata > 1)
        why = "a queued request has one <data> at most: submit one request per data";
    if (why) {
        bad(err, "%s", why);
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

int provost_queue_submit(provost_engine *e, const char *xml, size_t len, const provost_queue_options *o,
                         char id[48], provost_error *err)
{
    provost_queue_options none = {0};
    o = o ? o : &none;
    id[0] = 0;
    /* the worker runs the job as a trusted request, with its own identity: queueing one
     * needs what submitting it directly would */
    if (pvm_rights_need_as(e, o->principal, PROVOST_RIGHT_TRUSTED, "queue submit", err) != 0)
        return -1;
    xmlDocPtr req = read_request(xml, len, err);
    if (!req)
        return -1;
    int64_t now = provost_now_ms();
    pvm_job j;
    if (pvm_job_new(&j, PROVOST_JOB_PENDING, now, err) != 0) {
        xmlFreeDoc(req);
        return -1;
    }
    xmlNodePtr qc = child_named(child_named(xmlDocGetRootElement(req), "context"), "queueContext");
    char why[300];
    int rc = pvm_job_policy(&j, qc, true, why, sizeof why);
    if (rc != 0)
        bad(err, "%s", why);
    if (o->has_priority)
        pvm_job_set_int(&j, "priority", o->priority);
    if (o->due_ms > now)
        pvm_job_set_int(&j, "due", o->due_ms);
    xmlSetProp(j.root, BAD_CAST "kind", BAD_CAST "request");
    xmlSetProp(j.root, BAD_CAST "principal", BAD_CAST(o->principal ? o->principal : provost_principal_name(e)));
    char *parents[256];
    size_t np = context_parents(qc, parents, 256);
    xmlAddChild(j.root, xmlDocCopyNode(xmlDocGetRootElement(req), j.doc, 1));
    xmlFreeDoc(req);
    for (size_t i = 0; i < o->nafter && np < 256; i++)
        parents[np++] = strdup(o->after[i]);
    for (size_t i = 0; i < np && rc == 0; i++)
        if (!parents[i])
            rc = pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    if (rc == 0 && o->id && !(strlen(o->id) == 40 && strncmp(o->id, "1:{", 3) == 0 && o->id[39] == '}'))
        rc = bad(err, "'%s' is not a queue id (1:{UUID})", o->id);
    if (rc == 0 && o->id) {
        snprintf(j.id, sizeof j.id, "%s", o->id);
        xmlSetProp(j.root, BAD_CAST "queueId", BAD_CAST j.id);
    }
    pvm_jobs_lock();
    bool stored = false;
    if (rc == 0 && o->id) { /* a spooled submit stored before: once only */
        char why2[300] = "";
        size_t vl = 0;
        char *v = pvm_db_get(e->db, PVM_CF_QUEUE, j.id, strlen(j.id), &vl, why2, sizeof why2);
        stored = v != NULL;
        free(v);
        if (!v && why2[0])
            rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why2);
    }
    if (rc == 0 && !stored)
        rc = link_parents(e, &j, parents, np, o->sync, err);
    if (rc == 0) {
        bool waits = pvm_job_int(&j, "waits", 0) > 0;
        int s = o->suspended ? (waits ? PROVOST_JOB_SUSPENDED_WITH_WAITS : PROVOST_JOB_SUSPENDED)
                             : (waits ? PROVOST_JOB_WITH_INCOMPLETE_PREREQ
                                      : np ? PROVOST_JOB_WITH_COMPLETE_PREREQ : PROVOST_JOB_PENDING);
        pvm_job_set_int(&j, "state", s);
        rc = stored ? 0 : pvm_job_save(e, &j, false, o->sync, err);
    }
    pvm_jobs_unlock();
    for (size_t i = 0; i < np; i++)
        free(parents[i]);
    if (rc == 0)
        snprintf(id, 48, "%s", j.id);
    pvm_job_release(&j);
    return rc;
}

/* ---- looking at jobs ------------------------------------------------------------------ */

static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    char *s = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static void fill(const pvm_job *j, provost_job *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", j->id);
    out->state = (int)pvm_job_int(j, "state", -1);
    out->priority = (int)pvm_job_int(j, "priority", 0);
    out->due_ms = pvm_job_int(j, "due", 0);
    out->created_ms = pvm_job_int(j, "created", 0);
    out->finished_ms = pvm_job_int(j, "finished", 0);
    out->attempts = (unsigned)pvm_job_int(j, "attempts", 0);
    out->retry_count = (unsigned)pvm_job_int(j, "retryCount", 0);
    out->retry_interval_ms = (unsigned)pvm_job_int(j, "retryInterval", 1000);
    out->stop_code = (uint32_t)pvm_job_int(j, "stopCode", 0);
    out->code = (uint32_t)pvm_job_int(j, "code", 0);
    out->waits = (unsigned)pvm_job_int(j, "waits", 0);
    char *t = prop(j->root, "retryType"), *f = prop(j->root, "onFailure");
    out->exponential = t && strcmp(t, "exponential") == 0;
    out->to_operator = f && strcmp(f, "queueToOperator") == 0;
    free(t);
    free(f);
    out->description = prop(j->root, "description");
    out->owner = prop(j->root, "owner");
    char *ns = prop(j->root, "namespace"), *proc = prop(j->root, "procedure");
    if (ns && proc) {
        size_t n = strlen(ns) + strlen(proc) + 2;
        if ((out->what = malloc(n)))
            snprintf(out->what, n, "%s/%s", ns, proc);
    } else {
        out->what = strdup("request");
    }
    free(ns);
    free(proc);
    for (xmlNodePtr c = j->root->children; c; c = c->next)
        out->nparents += c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "parent");
    out->parents = out->nparents ? calloc(out->nparents, sizeof *out->parents) : NULL;
    size_t k = 0;
    for (xmlNodePtr c = j->root->children; c && out->parents; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "parent"))
            out->parents[k++] = prop(c, "queueId");
    if (!out->parents)
        out->nparents = 0;
}

void provost_job_free(provost_job *j)
{
    if (!j)
        return;
    free(j->description);
    free(j->what);
    free(j->owner);
    for (size_t i = 0; i < j->nparents; i++)
        free(j->parents[i]);
    free(j->parents);
    memset(j, 0, sizeof *j);
}

void provost_jobs_free(provost_job *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        provost_job_free(&v[i]);
    free(v);
}

/* Loads job id, or fails with PROVOST_E_NOTFOUND. */
static int load(provost_engine *e, const char *id, pvm_job *j, provost_error *err)
{
    int rc = pvm_job_load(e, id, j, err);
    if (rc > 0)
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "queue: no job %s", id);
    return rc;
}

int provost_queue_status(provost_engine *e, const char *id, provost_job *out, provost_error *err)
{
    pvm_job j;
    if (load(e, id, &j, err) != 0)
        return -1;
    fill(&j, out);
    pvm_job_release(&j);
    return 0;
}

int provost_queue_results(provost_engine *e, const char *id, char **xml, provost_error *err)
{
    *xml = NULL;
    pvm_job j;
    if (load(e, id, &j, err) != 0)
        return -1;
    xmlNodePtr r = child_named(j.root, "result");
    xmlChar *text = r ? xmlNodeGetContent(r) : NULL;
    if (text)
        *xml = strdup((const char *)text);
    xmlFree(text);
    pvm_job_release(&j);
    return 0;
}

typedef struct lister {
    int state;
    provost_job *v;
    size_t n, cap;
    bool oom;
} lister;

static int list_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    lister *l = ud;
    if (klen < 2 || memcmp(key, "1:", 2) != 0 || klen >= 48)
        return 1; /* past the jobs */
    provost_xml_error pe;
    pvm_job j = {.doc = provost_xml_read(val, vlen, "job", NULL, 0, &pe)};
    j.root = j.doc ? xmlDocGetRootElement(j.doc) : NULL;
    if (!j.root) {
        xmlFreeDoc(j.doc);
        return 0;
    }
    memcpy(j.id, key, klen);
    j.id[klen] = 0;
    if (l->state < 0 || pvm_job_int(&j, "state", -1) == l->state) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            provost_job *v = realloc(l->v, cap * sizeof *v);
            if (!v) {
                l->oom = true;
                pvm_job_release(&j);
                return 1;
            }
            l->v = v;
            l->cap = cap;
        }
        fill(&j, &l->v[l->n++]);
    }
    pvm_job_release(&j);
    return 0;
}

int provost_queue_list(provost_engine *e, int state, provost_job **out, size_t *n, provost_error *err)
{
    lister l = {.state = state};
    char why[300];
    int rc = pvm_db_range(e->db, PVM_CF_QUEUE, "1:", 2, NULL, 0, list_one, &l, why, sizeof why);
    if (rc < 0 || l.oom) {
        provost_jobs_free(l.v, l.n);
        return rc < 0 ? pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why)
                      : pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    *out = l.v;
    *n = l.n;
    return 0;
}

/* ---- operators' changes --------------------------------------------------------------- */

static int wrong_state(provost_error *err, const pvm_job *j, const char *what)
{
    const char *name = provost_job_state_name(j->state0);
    return pvm_api_fail(err, PROVOST_E_INVALIDARG, "queue: job %s is %s (%d): %s", j->id, name ? name : "?",
                        j->state0, what);
}

typedef int (*change_fn)(provost_engine *e, pvm_job *j, provost_error *err);

/* Loads job id, applies fn and saves it, under the queue's lock. */
static int change(provost_engine *e, const char *id, change_fn fn, provost_error *err)
{
    pvm_jobs_lock();
    pvm_job j;
    int rc = load(e, id, &j, err);
    if (rc == 0) {
        rc = fn(e, &j, err);
        pvm_job_release(&j);
    }
    pvm_jobs_unlock();
    return rc;
}

static int activate(provost_engine *e, pvm_job *j, provost_error *err)
{
    bool parents = child_named(j->root, "parent") != NULL;
    if (j->state0 == PROVOST_JOB_SUSPENDED)
        pvm_job_set_int(j, "state", parents ? PROVOST_JOB_WITH_COMPLETE_PREREQ : PROVOST_JOB_PENDING);
    else if (j->state0 == PROVOST_JOB_SUSPENDED_WITH_WAITS)
        pvm_job_set_int(j, "state", PROVOST_JOB_WITH_INCOMPLETE_PREREQ);
    else
        return wrong_state(err, j, "only a suspended job can be activated");
    return pvm_job_save(e, j, false, PROVOST_SYNC_GROUP, err);
}

static int delete(provost_engine *e, pvm_job *j, provost_error *err)
{
    if (j->state0 == PROVOST_JOB_STARTED)
        return wrong_state(err, j, "a running job cannot be deleted");
    if (pvm_job_save(e, j, true, PROVOST_SYNC_GROUP, err) != 0)
        return -1;
    /* a finished job released its children already; an unfinished one never will */
    return finished((int)pvm_job_int(j, "state", 0)) ? 0 : pvm_jobs_release_children(e, j, PROVOST_SYNC_GROUP, err);
}

static int retry(provost_engine *e, pvm_job *j, provost_error *err)
{
    if (j->state0 != PROVOST_JOB_FAILED_AWAITING_OPERATOR)
        return wrong_state(err, j, "only a job awaiting the operator (15) can be retried");
    pvm_job_set_int(j, "state", PROVOST_JOB_QUEUED_FOR_RETRY);
    pvm_job_set_int(j, "attempts", 0);
    pvm_job_set_int(j, "round", pvm_job_int(j, "round", 0) + 1); /* new keys for the new attempts */
    pvm_job_set_int(j, "due", provost_now_ms());
    return pvm_job_save(e, j, false, PROVOST_SYNC_GROUP, err);
}

int provost_queue_activate(provost_engine *e, const char *id, provost_error *err)
{
    return change(e, id, activate, err);
}

int provost_queue_delete(provost_engine *e, const char *id, provost_error *err)
{
    return change(e, id, delete, err);
}

int provost_queue_retry(provost_engine *e, const char *id, provost_error *err)
{
    return change(e, id, retry, err);
}

static int any(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    atomic_fetch_add(&pvm_jobs_keys_read, 1);
    *(bool *)ud = klen >= 2 && memcmp(key, ((bool *)ud)[1] ? "~s" : "~r", 2) == 0;
    return 1;
}

int provost_queue_busy(provost_engine *e, provost_error *err)
{
    static const char *const prefixes[] = {"~r", "~s"};
    for (int i = 0; i < 2; i++) {
        bool found[2] = {false, i == 1};
        char why[300];
        if (pvm_db_range(e->db, PVM_CF_QUEUE_INDEX, prefixes[i], 2, NULL, 0, any, found, why, sizeof why) < 0)
            return pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
        if (found[0])
            return 1;
    }
    return 0;
}
