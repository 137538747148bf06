/*
 * jobs.c -- the queue's job records and their state machine (SPEC §11): loading and
 * saving a job with its index keys in one atomic write (jobs.h has the key layout),
 * claiming the next due job, and settling an attempt by the job's retry policy.
 *
 * A job is a <job> element: its state and policy as attributes, its payload (a submitted
 * <request>, or a queue step's <context> and <executeData>), <parent>/<child> links of
 * dependencies, and the <result> of its last run.
 *
 * Every read-modify-write of a job happens under one process-wide lock: with the claim's
 * check of the state, two threads never claim the same job, and only one process can
 * open the database (RocksDB's LOCK), so no other process changes it meanwhile.
 */
#define _GNU_SOURCE /* strptime, timegm */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/compiler.h"
#include "util/xmlout.h"
#include "db.h"
#include "jobs.h"
#include "vm.h"

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
_Atomic uint64_t pvm_jobs_keys_read;

void pvm_jobs_lock(void)
{
    pthread_mutex_lock(&qlock);
}

void pvm_jobs_unlock(void)
{
    pthread_mutex_unlock(&qlock);
}

/* Counted, so that a worker that looked at the queue before a job became runnable does
 * not sleep past it (provost_queue_generation, then provost_queue_wait). */
static atomic_uint_fast64_t signals;

void pvm_jobs_signal(void)
{
    atomic_fetch_add(&signals, 1);
    pthread_cond_broadcast(&qcond);
}

int64_t provost_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int provost_parse_due(const char *v, int64_t *ms)
{
    char *end;
    if (v[0] == '@') {
        long long s = strtoll(v + 1, &end, 10);
        if (!v[1] || *end || s < 0)
            return -1;
        *ms = s * 1000;
        return 0;
    }
    struct tm tm = {0};
    end = strptime(v, "%Y-%m-%dT%H:%M", &tm);
    if (end && *end == ':')
        end = strptime(end, ":%S", &tm);
    if (end && *end == 'Z')
        end++;
    if (!end || *end)
        return -1;
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

uint64_t provost_queue_generation(void)
{
    return atomic_load(&signals);
}

void provost_queue_wait(provost_engine *e, uint64_t generation, int64_t until_ms)
{
    (void)e;
    /* every signal of a runnable job is made under the lock: none falls between this
     * check and the wait */
    pthread_mutex_lock(&qlock);
    if (atomic_load(&signals) == generation) {
        struct timespec ts = {.tv_sec = until_ms / 1000, .tv_nsec = (long)(until_ms % 1000) * 1000000};
        pthread_cond_timedwait(&qcond, &qlock, &ts);
    }
    pthread_mutex_unlock(&qlock);
}

void provost_queue_wake(void)
{
    pvm_jobs_lock();
    pvm_jobs_signal();
    pvm_jobs_unlock();
}

uint64_t provost_queue_keys_read(void)
{
    return atomic_load(&pvm_jobs_keys_read);
}

/* ---- live owners ---------------------------------------------------------------------- */

static char *owners[64];

bool pvm_jobs_owner_alive(const char *owner)
{
    bool alive = false;
    pvm_jobs_lock();
    for (size_t i = 0; i < sizeof owners / sizeof *owners && !alive; i++)
        alive = owners[i] && strcmp(owners[i], owner) == 0;
    pvm_jobs_unlock();
    return alive;
}

int pvm_jobs_owner_add(const char *owner)
{
    pvm_jobs_lock();
    int rc = -1;
    for (size_t i = 0; i < sizeof owners / sizeof *owners && rc; i++)
        if (!owners[i] && (owners[i] = strdup(owner)))
            rc = 0;
    pvm_jobs_unlock();
    return rc;
}

void pvm_jobs_owner_remove(const char *owner)
{
    pvm_jobs_lock();
    for (size_t i = 0; i < sizeof owners / sizeof *owners; i++)
        if (owners[i] && strcmp(owners[i], owner) == 0) {
            free(owners[i]);
            owners[i] = NULL;
        }
    pvm_jobs_unlock();
}

/* ---- the earliest due time of each class ------------------------------------------------ */

/* What the first key of each class of the due index is, while known: so a worker that
 * finds nothing due reads no key at all until a job is added or the first one goes.  Only
 * this process writes the database (one process opens it), and every write of the index
 * passes through pvm_job_save under the lock, which keeps this up to date; it is valid for
 * one open of one database (its serial). */
static struct {
    uint64_t serial;
    bool known[3], empty[3];
    int64_t first[3];
} due_cache;

static void cache_for(provost_engine *e)
{
    if (due_cache.serial != pvm_db_serial(e->db)) {
        memset(&due_cache, 0, sizeof due_cache);
        due_cache.serial = pvm_db_serial(e->db);
    }
}

static void cache_forget(provost_engine *e, int cls)
{
    cache_for(e);
    due_cache.known[cls] = false;
}

static void cache_added(provost_engine *e, int cls, int64_t due)
{
    cache_for(e);
    if (!due_cache.known[cls])
        return;
    if (due_cache.empty[cls] || due < due_cache.first[cls])
        due_cache.first[cls] = due;
    due_cache.empty[cls] = false;
}

static void cache_removed(provost_engine *e, int cls, int64_t due)
{
    cache_for(e);
    if (!due_cache.empty[cls] && due <= due_cache.first[cls])
        due_cache.known[cls] = false; /* the first one may have gone: looked up again */
}

/* ---- jobs by state ------------------------------------------------------------------------ */

/* How many jobs are in each state, for the metrics: counted on the first ask after the
 * database opens (one read of every job, under the lock), then kept by pvm_job_save, the
 * one writer of jobs, so that a scrape every few seconds reads 16 numbers and not the
 * queue.  Valid for one open of one database (its serial), as the due cache. */
static struct {
    uint64_t serial;
    bool known;
    uint64_t n[16];
} state_counts;

static void counts_moved(provost_engine *e, int from, int to)
{
    if (!state_counts.known || state_counts.serial != pvm_db_serial(e->db))
        return;
    if (from >= 0 && from < 16 && state_counts.n[from])
        state_counts.n[from]--;
    if (to >= 0 && to < 16)
        state_counts.n[to]++;
}

static int count_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    uint64_t *n = ud;
    if (klen < 2 || memcmp(key, "1:", 2) != 0)
        return 1; /* past the jobs */
    provost_xml_error pe;
    pvm_job j = {.doc = provost_xml_read(val, vlen, "job", NULL, 0, &pe)};
    j.root = j.doc ? xmlDocGetRootElement(j.doc) : NULL;
    long long s = j.root ? pvm_job_int(&j, "state", -1) : -1;
    if (s >= 0 && s < 16)
        n[s]++;
    xmlFreeDoc(j.doc);
    return 0;
}

int provost_queue_counts(provost_engine *e, uint64_t counts[16], provost_error *err)
{
    pvm_jobs_lock();
    if (!state_counts.known || state_counts.serial != pvm_db_serial(e->db)) {
        uint64_t n[16] = {0};
        char why[300];
        if (pvm_db_range(e->db, PVM_CF_QUEUE, "1:", 2, NULL, 0, count_one, n, why, sizeof why) < 0) {
            pvm_jobs_unlock();
            return pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
        }
        memcpy(state_counts.n, n, sizeof n);
        state_counts.serial = pvm_db_serial(e->db);
        state_counts.known = true;
    }
    memcpy(counts, state_counts.n, sizeof state_counts.n);
    pvm_jobs_unlock();
    return 0;
}

/* ---- states and classes --------------------------------------------------------------- */

static const char *const state_names[16] = {
    "SUCCESS", "ERROR", "FAILURE", "ERROR_AND_FAILURE", "PENDING", "STARTED", NULL, NULL, NULL, NULL,
    "QUEUED_FOR_RETRY", "WITH_INCOMPLETE_PREREQ", "WITH_COMPLETE_PREREQ", "SUSPENDED", "SUSPENDED_WITH_WAITS",
    "FAILED_AWAITING_OPERATOR"};

const char *provost_job_state_name(int state)
{
    return state >= 0 && state < 16 ? state_names[state] : NULL;
}

int provost_job_state_parse(const char *name)
{
    char *end;
    long v = strtol(name, &end, 10);
    if (*name && !*end)
        return provost_job_state_name((int)v) ? (int)v : -1;
    for (int s = 0; s < 16; s++)
        if (state_names[s] && strcasecmp(state_names[s], name) == 0)
            return s;
    return -1;
}

int provost_job_class(int priority)
{
    return priority <= -50 ? 0 : priority <= 0 ? 1 : 2;
}

static bool due_indexed(int state)
{
    return state == PROVOST_JOB_PENDING || state == PROVOST_JOB_QUEUED_FOR_RETRY ||
           state == PROVOST_JOB_WITH_COMPLETE_PREREQ;
}

/* ---- attributes ----------------------------------------------------------------------- */

long long pvm_job_int(const pvm_job *j, const char *name, long long def)
{
    xmlChar *v = xmlGetNoNsProp(j->root, BAD_CAST name);
    long long r = def;
    if (v) {
        char *end;
        long long x = strtoll((const char *)v, &end, 0);
        if (*v && !*end)
            r = x;
    }
    xmlFree(v);
    return r;
}

void pvm_job_set_int(pvm_job *j, const char *name, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    xmlSetProp(j->root, BAD_CAST name, BAD_CAST b);
}

static int64_t job_due(const pvm_job *j)
{
    return pvm_job_int(j, "due", 0);
}

static int job_class(const pvm_job *j)
{
    return provost_job_class((int)pvm_job_int(j, "priority", 0));
}

/* Reads one unsigned attribute of a queueContext: 0 absent, 1 read, -1 malformed. */
static int policy_uint(xmlNodePtr qc, const char *name, unsigned long max, unsigned long *out, int base)
{
    xmlChar *v = xmlGetNoNsProp(qc, BAD_CAST name);
    if (!v)
        return 0;
    char *end;
    const char *s = (const char *)v;
    unsigned long x = strtoul(s, &end, base);
    int rc = *s && *s != '-' && !*end && x <= max ? 1 : -1;
    *out = x;
    xmlFree(v);
    return rc;
}

int pvm_job_policy(pvm_job *j, xmlNodePtr qc, bool strict, char *why, size_t whylen)
{
    static const struct {
        const char *attr, *stored;
        unsigned long max;
        int base;
    } nums[] = {{"retryCount", "retryCount", 65535, 10},
                {"retryInterval", "retryInterval", 4294967295ul, 10},
                {"retryStopOnFailure", "stopCode", 0xFFFFFFFFul, 16}};
    for (size_t i = 0; qc && i < sizeof nums / sizeof *nums; i++) {
        unsigned long v = 0;
        int got = policy_uint(qc, nums[i].attr, nums[i].max, &v, nums[i].base);
        if (got < 0 && strict) {
            snprintf(why, whylen, "queueContext/@%s is not a number from 0 to %lu%s", nums[i].attr, nums[i].max,
                     nums[i].base == 16 ? " (an HRESULT such as 0x80070057)" : "");
            return -1;
        }
        if (got > 0)
            pvm_job_set_int(j, nums[i].stored, (long long)v);
    }
    static const struct {
        const char *attr, *a, *b;
    } words[] = {{"retryType", "fixed", "exponential"}, {"onFailure", "continue", "queueToOperator"}};
    for (size_t i = 0; qc && i < sizeof words / sizeof *words; i++) {
        xmlChar *v = xmlGetNoNsProp(qc, BAD_CAST words[i].attr);
        if (v && strcmp((const char *)v, words[i].a) != 0 && strcmp((const char *)v, words[i].b) != 0 && strict) {
            snprintf(why, whylen, "queueContext/@%s is '%.60s': it takes %s or %s", words[i].attr, (const char *)v,
                     words[i].a, words[i].b);
            xmlFree(v);
            return -1;
        }
        if (v && (strcmp((const char *)v, words[i].a) == 0 || strcmp((const char *)v, words[i].b) == 0))
            xmlSetProp(j->root, BAD_CAST words[i].attr, v);
        xmlFree(v);
    }
    xmlChar *p = qc ? xmlGetNoNsProp(qc, BAD_CAST "priority") : NULL;
    if (p) {
        char *end;
        long v = strtol((const char *)p, &end, 10);
        bool ok = *p && !*end && v >= -32768 && v <= 32767;
        if (!ok && strict) {
            snprintf(why, whylen, "queueContext/@priority is '%.40s': it takes a number from -32768 to 32767",
                     (const char *)p);
            xmlFree(p);
            return -1;
        }
        if (ok)
            pvm_job_set_int(j, "priority", v);
        xmlFree(p);
    }
    return 0;
}

int pvm_job_new(pvm_job *j, int state, int64_t now_ms, provost_error *err)
{
    memset(j, 0, sizeof *j);
    j->state0 = -1;
    j->doc = xmlNewDoc(BAD_CAST "1.0");
    j->root = j->doc ? xmlNewDocNode(j->doc, NULL, BAD_CAST "job", NULL) : NULL;
    if (!j->root) {
        xmlFreeDoc(j->doc);
        j->doc = NULL;
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    xmlDocSetRootElement(j->doc, j->root);
    char uuid[40];
    pvm_uuid(uuid);
    snprintf(j->id, sizeof j->id, "1:%s", uuid);
    xmlNewProp(j->root, BAD_CAST "queueId", BAD_CAST j->id);
    pvm_job_set_int(j, "state", state);
    pvm_job_set_int(j, "created", now_ms);
    pvm_job_set_int(j, "due", now_ms);
    return 0;
}

/* ---- load and save -------------------------------------------------------------------- */

int pvm_job_load(provost_engine *e, const char *id, pvm_job *j, provost_error *err)
{
    memset(j, 0, sizeof *j);
    char why[300] = "";
    size_t len = 0;
    char *text = pvm_db_get(e->db, PVM_CF_QUEUE, id, strlen(id), &len, why, sizeof why);
    if (!text)
        return why[0] ? pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why) : 1;
    provost_xml_error pe;
    j->doc = provost_xml_read(text, len, "job", NULL, 0, &pe);
    free(text);
    j->root = j->doc ? xmlDocGetRootElement(j->doc) : NULL;
    if (!j->root) {
        xmlFreeDoc(j->doc);
        j->doc = NULL;
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: the record of job %s cannot be read", id);
    }
    snprintf(j->id, sizeof j->id, "%s", id);
    j->state0 = (int)pvm_job_int(j, "state", -1);
    j->class0 = job_class(j);
    j->due0 = job_due(j);
    return 0;
}

void pvm_job_release(pvm_job *j)
{
    xmlFreeDoc(j->doc);
    j->doc = NULL;
    j->root = NULL;
}

/* The index keys of a job in state s: due (4, 10, 12), started (5), retry (10). */
typedef struct ikeys {
    char due[3 + 8 + 48], started[2 + 48], retry[2 + 48];
    size_t ndue, nstarted, nretry;
} ikeys;

static void index_keys(const char *id, int state, int cls, int64_t due, ikeys *k)
{
    size_t idl = strlen(id);
    k->ndue = k->nstarted = k->nretry = 0;
    if (due_indexed(state)) {
        k->due[0] = '~';
        k->due[1] = 'd';
        k->due[2] = (char)('0' + cls);
        uint64_t u = due < 0 ? 0 : (uint64_t)due;
        for (int i = 0; i < 8; i++)
            k->due[3 + i] = (char)(u >> (56 - 8 * i));
        memcpy(k->due + 11, id, idl);
        k->ndue = 11 + idl;
    }
    if (state == PROVOST_JOB_STARTED) {
        memcpy(k->started, "~s", 2);
        memcpy(k->started + 2, id, idl);
        k->nstarted = 2 + idl;
    }
    if (state == PROVOST_JOB_QUEUED_FOR_RETRY) {
        memcpy(k->retry, "~r", 2);
        memcpy(k->retry + 2, id, idl);
        k->nretry = 2 + idl;
    }
}

static bool same(const char *a, size_t na, const char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

int pvm_job_save(provost_engine *e, pvm_job *j, bool delete_job, int sync, provost_error *err)
{
    ikeys old, now;
    index_keys(j->id, j->state0, j->class0, j->due0, &old);
    if (delete_job)
        index_keys(j->id, -1, 0, 0, &now);
    else
        index_keys(j->id, (int)pvm_job_int(j, "state", -1), job_class(j), job_due(j), &now);
    pvm_db_op ops[7];
    size_t n = 0;
    static const char empty[] = "";
    const char *ok[3] = {old.due, old.started, old.retry}, *nk[3] = {now.due, now.started, now.retry};
    size_t ol[3] = {old.ndue, old.nstarted, old.nretry}, nl[3] = {now.ndue, now.nstarted, now.nretry};
    for (int i = 0; i < 3; i++) {
        if (same(ok[i], ol[i], nk[i], nl[i]))
            continue;
        if (ol[i])
            ops[n++] = (pvm_db_op){PVM_CF_QUEUE_INDEX, ok[i], ol[i], NULL, 0};
        if (nl[i])
            ops[n++] = (pvm_db_op){PVM_CF_QUEUE_INDEX, nk[i], nl[i], empty, 0};
    }
    char *text = NULL;
    size_t len = 0;
    if (!delete_job && !(text = pu_xml_string(j->root, 0, &len)))
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    ops[n++] = (pvm_db_op){PVM_CF_QUEUE, j->id, strlen(j->id), delete_job ? NULL : text, len};
    char why[300];
    int rc = pvm_db_write(e->db, ops, n, sync != PROVOST_SYNC_NONE, why, sizeof why);
    free(text);
    if (rc != 0) {
        for (int c = 0; c < 3; c++)
            cache_forget(e, c); /* whatever reached the disk: looked up again */
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
    }
    if (old.ndue && !same(old.due, old.ndue, now.due, now.ndue))
        cache_removed(e, j->class0, j->due0);
    if (now.ndue && !same(old.due, old.ndue, now.due, now.ndue))
        cache_added(e, job_class(j), job_due(j));
    int state = delete_job ? -1 : (int)pvm_job_int(j, "state", -1);
    counts_moved(e, j->state0, state);
    j->state0 = state;
    j->class0 = job_class(j);
    j->due0 = job_due(j);
    if (due_indexed(j->state0))
        pvm_jobs_signal();
    return 0;
}

/* ---- dependencies --------------------------------------------------------------------- */

int pvm_jobs_release_children(provost_engine *e, pvm_job *parent, int sync, provost_error *err)
{
    for (xmlNodePtr c = parent->root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !xmlStrEqual(c->name, BAD_CAST "child"))
            continue;
        xmlChar *id = xmlGetNoNsProp(c, BAD_CAST "queueId");
        pvm_job k;
        int rc = id ? pvm_job_load(e, (const char *)id, &k, err) : 1;
        xmlFree(id);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue; /* deleted meanwhile */
        long long waits = pvm_job_int(&k, "waits", 0);
        if (waits > 0) {
            pvm_job_set_int(&k, "waits", --waits);
            int s = (int)pvm_job_int(&k, "state", 0);
            if (waits == 0 && s == PROVOST_JOB_WITH_INCOMPLETE_PREREQ)
                pvm_job_set_int(&k, "state", PROVOST_JOB_WITH_COMPLETE_PREREQ);
            else if (waits == 0 && s == PROVOST_JOB_SUSPENDED_WITH_WAITS)
                pvm_job_set_int(&k, "state", PROVOST_JOB_SUSPENDED);
            rc = pvm_job_save(e, &k, false, sync, err);
        }
        pvm_job_release(&k);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- claiming ------------------------------------------------------------------------- */

/* The first due job: the first key of each class (three seeks, whatever the queue holds). */
static int first_due(provost_engine *e, int64_t now_ms, char id[48], int *cls_out, int64_t *due_out, int64_t *next_due,
                     provost_error *err)
{
    *next_due = -1;
    pvm_db_iter *it = NULL; /* made at the first read: most looks need none */
    int rc = 0;
    cache_for(e);
    for (int cls = 0; cls < 3 && rc == 0; cls++) {
        if (due_cache.known[cls] && (due_cache.empty[cls] || due_cache.first[cls] > now_ms)) {
            if (!due_cache.empty[cls] && (*next_due < 0 || due_cache.first[cls] < *next_due))
                *next_due = due_cache.first[cls];
            continue; /* nothing of this class is due: known without a read */
        }
        const char prefix[3] = {'~', 'd', (char)('0' + cls)};
        if (!it && !(it = pvm_db_iter_new(e->db, PVM_CF_QUEUE_INDEX))) {
            rc = pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
            break;
        }
        const char *key;
        size_t klen;
        char why[300];
        int got = pvm_db_iter_seek(it, prefix, 3, &key, &klen, why, sizeof why);
        if (got < 0) {
            rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
            break;
        }
        if (got)
            atomic_fetch_add(&pvm_jobs_keys_read, 1);
        if (!got || klen < 11 || memcmp(key, prefix, 3) != 0 || klen - 11 >= 48) {
            due_cache.known[cls] = due_cache.empty[cls] = true; /* no job of this class */
            continue;
        }
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | (unsigned char)key[3 + i];
        int64_t due = (int64_t)u;
        due_cache.known[cls] = true;
        due_cache.empty[cls] = false;
        due_cache.first[cls] = due;
        if (due <= now_ms) {
            memcpy(id, key + 11, klen - 11);
            id[klen - 11] = 0;
            *cls_out = cls;
            *due_out = due;
            rc = 1;
        } else if (*next_due < 0 || due < *next_due) {
            *next_due = due;
        }
    }
    pvm_db_iter_free(it);
    return rc;
}

int pvm_jobs_claim(provost_engine *e, const char *owner, int64_t now_ms, int sync, pvm_job *j, int64_t *next_due,
                   provost_error *err)
{
    pvm_jobs_lock();
    int rc;
    for (;;) {
        char id[48];
        int stale_class = 0;
        int64_t stale_due = 0;
        rc = first_due(e, now_ms, id, &stale_class, &stale_due, next_due, err);
        if (rc <= 0)
            break;
        rc = pvm_job_load(e, id, j, err);
        if (rc < 0)
            break;
        if (rc == 0 && due_indexed(j->state0)) {
            pvm_job_set_int(j, "state", PROVOST_JOB_STARTED);
            pvm_job_set_int(j, "attempts", pvm_job_int(j, "attempts", 0) + 1);
            pvm_job_set_int(j, "claimed", now_ms);
            xmlSetProp(j->root, BAD_CAST "owner", BAD_CAST owner);
            rc = pvm_job_save(e, j, false, sync, err);
            if (rc == 0)
                rc = 1;
            else
                pvm_job_release(j);
            break;
        }
        /* an index key whose job is gone or not due (a database changed by hand): dropped,
         * and the next one looked at */
        if (rc == 0)
            pvm_job_release(j);
        ikeys k;
        index_keys(id, PROVOST_JOB_PENDING, stale_class, stale_due, &k);
        char why[300];
        cache_forget(e, stale_class);
        if (pvm_db_delete(e->db, PVM_CF_QUEUE_INDEX, k.due, k.ndue, why, sizeof why) != 0) {
            rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "queue: %s", why);
            break;
        }
    }
    pvm_jobs_unlock();
    return rc;
}

/* ---- settling an attempt -------------------------------------------------------------- */

static void set_result(pvm_job *j, const pvm_attempt *a)
{
    for (xmlNodePtr c = j->root->children, next; c; c = next) {
        next = c->next;
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "result")) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
    pvm_job_set_int(j, "code", a->ok ? 0 : a->code);
    if (a->ok || !a->description)
        xmlUnsetProp(j->root, BAD_CAST "description");
    else
        xmlSetProp(j->root, BAD_CAST "description", BAD_CAST a->description);
    if (!a->response)
        return;
    xmlNodePtr r = xmlNewChild(j->root, NULL, BAD_CAST "result", NULL);
    if (r)
        xmlNodeAddContent(r, BAD_CAST a->response); /* as text: kept verbatim */
}

/* The delay before retry number n (from 1). */
static int64_t retry_delay(const pvm_job *j, unsigned n)
{
    int64_t d = pvm_job_int(j, "retryInterval", 1000);
    xmlChar *t = xmlGetNoNsProp(j->root, BAD_CAST "retryType");
    bool expo = t && strcmp((const char *)t, "exponential") == 0;
    xmlFree(t);
    for (unsigned i = 1; expo && i < n && d < 86400000; i++)
        d *= 2;
    return d < 86400000 ? d : 86400000;
}

static int next_state(pvm_job *j, const pvm_attempt *a, int64_t now_ms)
{
    if (a->ok)
        return PROVOST_JOB_SUCCESS;
    unsigned attempts = (unsigned)pvm_job_int(j, "attempts", 1);
    unsigned retries = (unsigned)pvm_job_int(j, "retryCount", 0);
    uint32_t stop = (uint32_t)pvm_job_int(j, "stopCode", 0);
    bool stopped = stop && a->code == stop;
    if (!stopped && attempts <= retries) {
        pvm_job_set_int(j, "due", now_ms + retry_delay(j, attempts));
        return PROVOST_JOB_QUEUED_FOR_RETRY;
    }
    xmlChar *of = xmlGetNoNsProp(j->root, BAD_CAST "onFailure");
    bool op = of && strcmp((const char *)of, "queueToOperator") == 0;
    xmlFree(of);
    if (op)
        return PROVOST_JOB_FAILED_AWAITING_OPERATOR;
    return a->invalid ? PROVOST_JOB_ERROR : a->stuck ? PROVOST_JOB_ERROR_AND_FAILURE : PROVOST_JOB_FAILURE;
}

int pvm_jobs_settle(provost_engine *e, const char *id, const char *owner, unsigned attempt, int64_t now_ms,
                    int sync, const pvm_attempt *a, int *state, provost_error *err)
{
    pvm_jobs_lock();
    pvm_job j;
    int rc = pvm_job_load(e, id, &j, err);
    if (rc != 0) {
        pvm_jobs_unlock();
        return rc < 0 ? -1 : pvm_api_fail(err, PROVOST_E_NOTFOUND, "queue: job %s is gone", id);
    }
    xmlChar *o = xmlGetNoNsProp(j.root, BAD_CAST "owner");
    bool mine = j.state0 == PROVOST_JOB_STARTED && o && strcmp((const char *)o, owner) == 0 &&
                (unsigned)pvm_job_int(&j, "attempts", 0) == attempt;
    xmlFree(o);
    if (!mine) {
        *state = j.state0;
        pvm_job_release(&j);
        pvm_jobs_unlock();
        return 0; /* settled already (by recovery) */
    }
    set_result(&j, a);
    int s = next_state(&j, a, now_ms);
    pvm_job_set_int(&j, "state", s);
    xmlUnsetProp(j.root, BAD_CAST "owner");
    if (s <= PROVOST_JOB_ERROR_AND_FAILURE)
        pvm_job_set_int(&j, "finished", now_ms);
    rc = pvm_job_save(e, &j, false, sync, err);
    if (rc == 0 && s <= PROVOST_JOB_ERROR_AND_FAILURE)
        rc = pvm_jobs_release_children(e, &j, sync, err);
    *state = s;
    pvm_job_release(&j);
    pvm_jobs_unlock();
    return rc;
}
