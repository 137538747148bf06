/*
 * jobs_run.c -- running queued jobs: a worker's identity, claiming the next due job,
 * running it as a request, settling the attempt; and settling the jobs a dead worker left
 * STARTED.
 *
 * Each attempt runs with the submission key queue:ID:ATTEMPT, so its outcome is recorded
 * atomically with its transaction's end, whoever ends it (the worker, or recovery when the
 * worker died).  A job found STARTED under a worker that is gone is settled from that
 * outcome: committed means it succeeded (it never runs again); failed, or no outcome (the
 * worker died before its transaction began), is a failed attempt.  So no job ever
 * succeeds twice, whenever a worker is killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "jobs.h"
#include "vm.h"

struct provost_queue_worker {
    provost_engine *e;
    char name[96];
    int sync;
};

/* ---- databases queued into before the index ------------------------------------------- */

static const char indexed_key[] = "queue.indexed";

typedef struct unindexed {
    char (*ids)[48];
    size_t n, cap;
} unindexed;

static int note_job(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    unindexed *u = ud;
    if (klen < 2 || memcmp(key, "1:", 2) != 0 || klen >= 48)
        return 1;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64;
        char(*v)[48] = realloc(u->ids, cap * sizeof *v);
        if (!v)
            return -1;
        u->ids = v;
        u->cap = cap;
    }
    memcpy(u->ids[u->n], key, klen);
    u->ids[u->n++][klen] = 0;
    return 0;
}

/* Jobs stored before the queue had its index (queue steps of an older engine) are given
 * their index keys, once per database: a config key records that it was done. */
static int index_old_jobs(provost_engine *e, provost_error *err)
{
    char why[300] = "";
    size_t len = 0;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, indexed_key, sizeof indexed_key - 1, &len, why, sizeof why);
    free(v);
    if (v || why[0])
        return why[0] ? pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why) : 0;
    unindexed u = {0};
    pvm_jobs_lock();
    int rc = pvm_db_range(e->db, PVM_CF_QUEUE, "1:", 2, NULL, 0, note_job, &u, why, sizeof why) < 0
                 ? pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why)
                 : 0;
    for (size_t i = 0; i < u.n && rc == 0; i++) {
        pvm_job j;
        int got = pvm_job_load(e, u.ids[i], &j, err);
        if (got < 0)
            rc = -1;
        if (got != 0)
            continue;
        j.state0 = -1; /* as if new: every index key it needs is written */
        rc = pvm_job_save(e, &j, false, PROVOST_SYNC_GROUP, err);
        pvm_job_release(&j);
    }
    if (rc == 0 && pvm_db_put(e->db, PVM_CF_CONFIG, indexed_key, sizeof indexed_key - 1, "1", 1, why, sizeof why))
        rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
    pvm_jobs_unlock();
    free(u.ids);
    return rc;
}

provost_queue_worker *provost_queue_worker_new(provost_engine *e, int sync, provost_error *err)
{
    if (index_old_jobs(e, err) != 0)
        return NULL;
    provost_queue_worker *w = calloc(1, sizeof *w);
    if (!w) {
        pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        return NULL;
    }
    w->e = e;
    w->sync = sync;
    char host[64] = "localhost", uuid[40];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    pvm_uuid(uuid);
    snprintf(w->name, sizeof w->name, "%.40s:%ld:%.8s", host, (long)getpid(), uuid + 1);
    if (pvm_jobs_owner_add(w->name) != 0) {
        free(w);
        pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "queue: too many workers in one process");
        return NULL;
    }
    return w;
}

void provost_queue_worker_free(provost_queue_worker *w)
{
    if (!w)
        return;
    pvm_jobs_owner_remove(w->name);
    free(w);
}

const char *provost_queue_worker_name(const provost_queue_worker *w)
{
    return w->name;
}

/* The key of an attempt: its number, and after each operator's retry (which counts the
 * attempts anew) the number of those retries, so a new attempt never meets the recorded
 * outcome of an earlier one. */
static void attempt_key(char *out, size_t n, const char *id, unsigned round, unsigned attempt)
{
    if (round)
        snprintf(out, n, "queue:%s:r%u:%u", id, round, attempt);
    else
        snprintf(out, n, "queue:%s:%u", id, attempt);
}

/* ---- recovery ------------------------------------------------------------------------- */

typedef struct started {
    char (*ids)[48];
    size_t n, cap;
} started;

static int collect(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    started *s = ud;
    if (klen < 2 || memcmp(key, "~s", 2) != 0 || klen - 2 >= 48)
        return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char(*v)[48] = realloc(s->ids, cap * sizeof *v);
        if (!v)
            return -1;
        s->ids = v;
        s->cap = cap;
    }
    memcpy(s->ids[s->n], key + 2, klen - 2);
    s->ids[s->n++][klen - 2] = 0;
    return 0;
}

/* The attempt of a job whose worker died, from its recorded outcome. */
static void outcome_of(provost_engine *e, const char *id, unsigned round, unsigned attempt, pvm_attempt *a,
                       char *desc, size_t n)
{
    char key[128], *o = NULL;
    attempt_key(key, sizeof key, id, round, attempt);
    memset(a, 0, sizeof *a);
    a->code = PROVOST_E_ABORTED;
    snprintf(desc, n, "the worker running attempt %u stopped before it finished", attempt);
    a->description = desc;
    if (provost_outcome(e, key, &o) == 1) {
        char status[16] = "";
        unsigned code = 0;
        sscanf(o, "%15s 0x%x", status, &code);
        a->ok = strcmp(status, "committed") == 0;
        a->stuck = strcmp(status, "stuck") == 0;
        if (code)
            a->code = code;
        snprintf(desc, n, "attempt %u %s (0x%08X) while its worker stopped: %s", attempt, status, code, o);
    }
    free(o);
}

int provost_queue_recover(provost_queue_worker *w, int64_t now_ms, size_t *n, provost_error *err)
{
    *n = 0;
    started s = {0};
    char why[300];
    pvm_jobs_lock();
    int rc = pvm_db_range(w->e->db, PVM_CF_QUEUE_INDEX, "~s", 2, NULL, 0, collect, &s, why, sizeof why);
    pvm_jobs_unlock();
    if (rc < 0) {
        free(s.ids);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
    }
    for (size_t i = 0; i < s.n && rc >= 0; i++) {
        pvm_job j;
        pvm_jobs_lock();
        int got = pvm_job_load(w->e, s.ids[i], &j, err);
        pvm_jobs_unlock();
        if (got < 0) {
            rc = -1;
            break;
        }
        if (got > 0)
            continue;
        char *owner = (char *)xmlGetNoNsProp(j.root, BAD_CAST "owner");
        unsigned attempt = (unsigned)pvm_job_int(&j, "attempts", 0);
        unsigned round = (unsigned)pvm_job_int(&j, "round", 0);
        bool dead = j.state0 == PROVOST_JOB_STARTED && (!owner || !pvm_jobs_owner_alive(owner));
        pvm_job_release(&j);
        if (dead) {
            pvm_attempt a;
            char desc[600];
            outcome_of(w->e, s.ids[i], round, attempt, &a, desc, sizeof desc);
            int state;
            rc = pvm_jobs_settle(w->e, s.ids[i], owner ? owner : "", attempt, now_ms, w->sync, &a, &state, err);
            (*n)++;
        }
        xmlFree(owner);
    }
    free(s.ids);
    return rc < 0 ? -1 : 0;
}

/* ---- one job -------------------------------------------------------------------------- */

static xmlNodePtr child_named(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

/* The request a job runs: the submitted one, or a queue step's call as a trusted request
 * (<execute> of the procedure with the step's executeData, in the step's context); its
 * context/queueContext/@queueId is the job's id. */
static xmlDocPtr job_request(const pvm_job *j)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    if (!doc)
        return NULL;
    xmlNodePtr req = child_named(j->root, "request"), root;
    if (req) {
        root = xmlDocCopyNode(req, doc, 1);
        xmlDocSetRootElement(doc, root);
    } else {
        root = xmlNewDocNode(doc, NULL, BAD_CAST "request", NULL);
        xmlDocSetRootElement(doc, root);
        xmlNodePtr proc = xmlNewChild(root, NULL, BAD_CAST "procedure", NULL);
        xmlNodePtr ex = proc ? xmlNewChild(proc, NULL, BAD_CAST "execute", NULL) : NULL;
        xmlChar *ns = xmlGetNoNsProp(j->root, BAD_CAST "namespace"), *p = xmlGetNoNsProp(j->root, BAD_CAST "procedure");
        if (ex) {
            xmlNewProp(ex, BAD_CAST "namespace", ns);
            xmlNewProp(ex, BAD_CAST "procedure", p);
            xmlNodePtr data = child_named(j->root, "executeData");
            if (data)
                xmlAddChild(ex, xmlDocCopyNode(data, doc, 1));
        }
        xmlFree(ns);
        xmlFree(p);
        xmlNodePtr ctx = child_named(j->root, "context");
        if (ctx)
            xmlAddChild(root, xmlDocCopyNode(ctx, doc, 1));
    }
    if (!root)
        return xmlFreeDoc(doc), NULL;
    xmlNodePtr ctx = child_named(root, "context");
    if (!ctx)
        ctx = xmlNewChild(root, NULL, BAD_CAST "context", NULL);
    xmlNodePtr qc = child_named(ctx, "queueContext");
    if (!qc && ctx)
        qc = xmlNewChild(ctx, NULL, BAD_CAST "queueContext", NULL);
    if (qc)
        xmlSetProp(qc, BAD_CAST "queueId", BAD_CAST j->id);
    return doc;
}

int provost_queue_run_next(provost_queue_worker *w, int64_t now_ms, provost_queue_ran *ran, int64_t *next_due_ms,
                           provost_error *err)
{
    pvm_job j;
    int rc = pvm_jobs_claim(w->e, w->name, now_ms, w->sync, &j, next_due_ms, err);
    if (rc <= 0)
        return rc;
    memset(ran, 0, sizeof *ran);
    snprintf(ran->id, sizeof ran->id, "%s", j.id);
    ran->attempt = (unsigned)pvm_job_int(&j, "attempts", 1);
    unsigned round = (unsigned)pvm_job_int(&j, "round", 0);
    xmlDocPtr req = job_request(&j);
    pvm_job_release(&j);
    char key[128];
    attempt_key(key, sizeof key, ran->id, round, ran->attempt);
    provost_response resp = {0};
    provost_error e2 = {0};
    int sub = req ? provost_submit_doc_keyed(w->e, key, req, 0, &resp, &e2) : -1;
    xmlFreeDoc(req);
    pvm_attempt a = {.ok = sub >= 0 && !resp.failed,
                     .invalid = sub < 0,
                     .code = sub < 0 ? (e2.code ? e2.code : PROVOST_E_OUTOFMEMORY) : resp.code,
                     .description = sub < 0 ? e2.message : NULL,
                     .response = resp.xml};
    char *o = NULL;
    if (!a.ok && sub >= 0 && provost_outcome(w->e, key, &o) == 1)
        a.stuck = strncmp(o, "stuck", 5) == 0;
    free(o);
    char desc[300];
    if (!a.ok && !a.description && resp.xml) {
        /* the first errorContext's description, for status (the response is ours, so its
         * attribute is always written with double quotes) */
        const char *d = strstr(resp.xml, " description=\"");
        if (d) {
            d += 14;
            snprintf(desc, sizeof desc, "%.*s", (int)strcspn(d, "\""), d);
            a.description = desc;
        }
    }
    int state; /* a retry's delay counts from now_ms, when the attempt was claimed */
    rc = pvm_jobs_settle(w->e, ran->id, w->name, ran->attempt, now_ms, w->sync, &a, &state, err);
    provost_response_free(&resp);
    if (rc != 0)
        return -1;
    ran->state = state;
    ran->code = a.ok ? 0 : a.code;
    return 1;
}
