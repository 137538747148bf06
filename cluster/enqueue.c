/*
 * enqueue.c -- a batch into the cluster: its jobs spooled to an unlinked temporary file
 * while the input is read, then one short transaction that makes its batches row and
 * streams them with COPY (the fastest way in), each with the retry policy of its
 * context/queueContext as the local queue reads it; requests that could not be read, or
 * whose policy the local queue would refuse, become results at once.  The commit
 * notifies provost_jobs, which wakes idle workers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "pcl.h"
#include "util/vec.h"
#include "provost/compiler.h"

typedef struct invalid {
    uint64_t pos;
    unsigned long line;
    char *input, *why;
} invalid;

struct provost_cluster_batch {
    provost_cluster *c;
    char id[32];
    char *ns, *proc; /* of every call of the batch, or NULL */
    uint64_t n;
    char *buf; /* one COPY line */
    size_t len, cap;
    invalid *bad;
    size_t nbad, capbad;
    char *inputs;
    FILE *spool; /* the COPY lines, unlinked: no transaction stays open while input is read */
    bool copying;
};

typedef struct policy {
    unsigned long count, interval, stop;
    bool expo, op;
} policy;

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

/* One unsigned attribute, as the local queue reads it: 0 absent, 1 read, -1 malformed
 * or past max. */
static int num(xmlNodePtr qc, const char *attr, unsigned long max, int base, unsigned long *out)
{
    xmlChar *v = xmlGetNoNsProp(qc, BAD_CAST attr);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    unsigned long x = strtoul((const char *)v, &end, base);
    int rc = *v && *v != '-' && !*end && !errno && x <= max ? 1 : -1;
    xmlFree(v);
    *out = x;
    return rc;
}

/* A word attribute that takes A (the default) or B: 0 absent or A, 1 B, -1 anything else
 * (why says so). */
static int word(xmlNodePtr qc, const char *attr, const char *a, const char *b, char *why, size_t n)
{
    xmlChar *v = xmlGetNoNsProp(qc, BAD_CAST attr);
    int rc = !v || strcmp((const char *)v, a) == 0 ? 0 : strcmp((const char *)v, b) == 0 ? 1 : -1;
    if (rc < 0)
        snprintf(why, n, "queueContext/@%s is '%.60s': it takes %s or %s", attr, (const char *)v, a, b);
    xmlFree(v);
    return rc;
}

/* Reads qc into p, refusing what the local queue's submit refuses, in its words: 0, or -1
 * with why. */
static int check_policy(xmlNodePtr qc, policy *p, char *why, size_t n)
{
    static const struct {
        const char *attr;
        unsigned long max;
        int base;
    } nums[] = {{"retryCount", 65535, 10}, {"retryInterval", 4294967295ul, 10}, {"retryStopOnFailure", 0xFFFFFFFFul, 16}};
    unsigned long *to[] = {&p->count, &p->interval, &p->stop};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        unsigned long v = 0;
        int got = num(qc, nums[i].attr, nums[i].max, nums[i].base, &v);
        if (got < 0) {
            snprintf(why, n, "queueContext/@%s is not a number from 0 to %lu%s", nums[i].attr, nums[i].max,
                     nums[i].base == 16 ? " (an HRESULT such as 0x80070057)" : "");
            return -1;
        }
        if (got > 0)
            *to[i] = v;
    }
    int expo = word(qc, "retryType", "fixed", "exponential", why, n);
    int op = expo < 0 ? -1 : word(qc, "onFailure", "continue", "queueToOperator", why, n);
    if (op < 0)
        return -1;
    p->expo = expo > 0;
    p->op = op > 0;
    /* the cluster has no priorities, but a request the local queue refuses is refused here */
    xmlChar *pr = xmlGetNoNsProp(qc, BAD_CAST "priority");
    if (!pr)
        return 0;
    char *end;
    long v = strtol((const char *)pr, &end, 10);
    int rc = *pr && !*end && v >= -32768 && v <= 32767 ? 0 : -1;
    if (rc)
        snprintf(why, n, "queueContext/@priority is '%.40s': it takes a number from -32768 to 32767", (const char *)pr);
    xmlFree(pr);
    return rc;
}

/* The policy of a request's context/queueContext (where the local queue reads it), with
 * the local queue's defaults (retryInterval 1000 ms) and bounds.  0, or -1 with why. */
static int read_policy(const char *text, size_t len, policy *p, char *why, size_t n)
{
    *p = (policy){.interval = 1000};
    if (!strstr(text, "queueContext"))
        return 0;
    provost_xml_error xerr;
    xmlDocPtr d = provost_xml_read(text, len, "request", NULL, 0, &xerr);
    xmlNodePtr qc = d ? child(child(xmlDocGetRootElement(d), "context"), "queueContext") : NULL;
    int rc = qc ? check_policy(qc, p, why, n) : 0;
    xmlFreeDoc(d);
    return rc;
}

static int grow(provost_cluster_batch *b, size_t more)
{
    return PU_GROW(b->buf, b->cap, b->len + more + 1);
}

/* A field of COPY's text format: NULL as \N, the separators escaped. */
static int field(provost_cluster_batch *b, const char *s, size_t n, bool last)
{
    if (grow(b, s ? 2 * n + 3 : 4) != 0)
        return -1;
    char *p = b->buf + b->len;
    if (!s) {
        memcpy(p, "\\N", 2);
        p += 2;
    }
    for (size_t i = 0; s && i < n; i++) {
        char ch = s[i];
        if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
            *p++ = '\\';
            ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
        }
        *p++ = ch;
    }
    *p++ = last ? '\n' : '\t';
    b->len = (size_t)(p - b->buf);
    return 0;
}

static int fieldz(provost_cluster_batch *b, const char *s)
{
    return field(b, s, s ? strlen(s) : 0, false);
}

static void free_batch(provost_cluster_batch *b)
{
    for (size_t i = 0; i < b->nbad; i++) {
        free(b->bad[i].input);
        free(b->bad[i].why);
    }
    free(b->bad);
    free(b->buf);
    free(b->ns);
    free(b->proc);
    free(b->inputs);
    if (b->spool)
        fclose(b->spool);
    free(b);
}

provost_cluster_batch *provost_cluster_batch_begin(provost_cluster *c, const char *ns, const char *proc,
                                                   const char *inputs, provost_error *err)
{
    provost_cluster_batch *b = calloc(1, sizeof *b);
    if (!b) {
        pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        return NULL;
    }
    b->c = c;
    b->ns = ns ? strdup(ns) : NULL;
    b->proc = proc ? strdup(proc) : NULL;
    b->inputs = strdup(inputs ? inputs : "");
    if ((ns && !b->ns) || (proc && !b->proc) || !b->inputs) {
        pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        free_batch(b);
        return NULL;
    }
    if (!(b->spool = tmpfile())) {
        pcl_fail(err, PROVOST_E_FAIL, "enqueue: cannot make a temporary file: %s", strerror(errno));
        free_batch(b);
        return NULL;
    }
    /* the id now (the COPY lines carry it), the batch's row at commit: an id left unused
       by a batch never committed is only a gap */
    PGresult *r = pcl_query(c->pg, "enqueue", "SELECT nextval(pg_get_serial_sequence('provost.batches', 'id'))", 0,
                            NULL, err);
    if (!r) {
        free_batch(b);
        return NULL;
    }
    snprintf(b->id, sizeof b->id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return b;
}

static int add_invalid(provost_cluster_batch *b, uint64_t pos, const char *input, unsigned long line, const char *why)
{
    if (PU_GROW(b->bad, b->capbad, b->nbad + 1) != 0)
        return -1;
    invalid *v = &b->bad[b->nbad++];
    v->pos = pos;
    v->line = line;
    v->input = strdup(input ? input : "");
    v->why = strdup(why ? why : "");
    return v->input && v->why ? 0 : -1;
}

int provost_cluster_batch_add(provost_cluster_batch *b, uint64_t pos, const char *input, unsigned long line,
                              const char *client, int kind, const char *text, size_t len, provost_error *err)
{
    b->n++;
    if (kind == 'i')
        return add_invalid(b, pos, input, line, text) == 0 ? 0 : pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    policy p = {.interval = 1000}; /* a call's data has no context: the defaults */
    char why[300];
    if (kind == 'r' && read_policy(text, len, &p, why, sizeof why) != 0)
        return add_invalid(b, pos, input, line, why) == 0 ? 0 : pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    char num[5][32], k[2] = {(char)kind, 0};
    snprintf(num[0], sizeof num[0], "%" PRIu64, pos);
    snprintf(num[1], sizeof num[1], "%lu", line);
    snprintf(num[2], sizeof num[2], "%lu", p.count);
    snprintf(num[3], sizeof num[3], "%lu", p.interval);
    snprintf(num[4], sizeof num[4], "%lu", p.stop);
    b->len = 0;
    if (fieldz(b, b->id) || fieldz(b, num[0]) || fieldz(b, input ? input : "") || fieldz(b, num[1]) ||
        fieldz(b, client) || fieldz(b, k) || fieldz(b, kind == 'c' ? b->ns : NULL) ||
        fieldz(b, kind == 'c' ? b->proc : NULL) || field(b, text, len, false) ||
        fieldz(b, num[2]) || fieldz(b, num[3]) || fieldz(b, p.expo ? "t" : "f") || fieldz(b, p.op ? "t" : "f") ||
        field(b, num[4], strlen(num[4]), true))
        return pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    if (fwrite(b->buf, 1, b->len, b->spool) != b->len)
        return pcl_fail(err, PROVOST_E_FAIL, "enqueue: cannot write a temporary file: %s", strerror(errno));
    return 0;
}

void provost_cluster_batch_abort(provost_cluster_batch *b)
{
    if (!b)
        return;
    free_batch(b); /* nothing was sent */
}

/* In one transaction: the batch's row, then its jobs from the spool with COPY. */
static int send_spool(provost_cluster_batch *b, provost_error *err)
{
    if (fflush(b->spool) != 0 || fseek(b->spool, 0, SEEK_SET) != 0)
        return pcl_fail(err, PROVOST_E_FAIL, "enqueue: cannot read back a temporary file: %s", strerror(errno));
    const char *p[4] = {b->id, b->ns, b->proc, b->inputs};
    if (pcl_exec(b->c->pg, "enqueue", "BEGIN", 0, NULL, err) != 0 ||
        pcl_exec(b->c->pg, "enqueue", "INSERT INTO provost.batches (id, ns, proc, inputs) VALUES ($1, $2, $3, $4)",
                 4, p, err) != 0)
        return -1;
    PGresult *r = PQexec(b->c->pg, "COPY provost.jobs (batch, position, input, line, client, kind, ns, proc, request,"
                                   " retry_count, retry_interval_ms, exponential, to_operator, stop_code) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        const char *m = PQerrorMessage(b->c->pg);
        pcl_fail(err, PROVOST_E_FAIL, "enqueue: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        return -1;
    }
    PQclear(r);
    b->copying = true;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, b->spool)) > 0)
        if (PQputCopyData(b->c->pg, chunk, (int)got) != 1)
            return pcl_fail(err, PROVOST_E_FAIL, "enqueue: %.*s", (int)strcspn(PQerrorMessage(b->c->pg), "\n"),
                            PQerrorMessage(b->c->pg));
    if (ferror(b->spool))
        return pcl_fail(err, PROVOST_E_FAIL, "enqueue: cannot read back a temporary file: %s", strerror(errno));
    return 0;
}

static int end_copy(provost_cluster_batch *b, provost_error *err)
{
    b->copying = false;
    if (PQputCopyEnd(b->c->pg, NULL) != 1)
        return pcl_fail(err, PROVOST_E_FAIL, "enqueue: %.*s", (int)strcspn(PQerrorMessage(b->c->pg), "\n"),
                        PQerrorMessage(b->c->pg));
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(b->c->pg))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
            const char *m = PQresultErrorMessage(r);
            rc = pcl_fail(err, PROVOST_E_FAIL, "enqueue: %.*s", (int)strcspn(m, "\n"), m);
        }
        PQclear(r);
    }
    return rc;
}

int provost_cluster_batch_commit(provost_cluster_batch *b, int64_t *id, provost_error *err)
{
    if (send_spool(b, err) != 0 || end_copy(b, err) != 0)
        goto fail;
    for (size_t i = 0; i < b->nbad; i++) {
        char pos[32], line[32];
        snprintf(pos, sizeof pos, "%" PRIu64, b->bad[i].pos);
        snprintf(line, sizeof line, "%lu", b->bad[i].line);
        const char *p[5] = {b->id, pos, b->bad[i].input, line, b->bad[i].why};
        if (pcl_exec(b->c->pg, "enqueue",
                     "INSERT INTO provost.results (batch, position, input, line, status, state, code, description,"
                     " attempts) VALUES ($1, $2, $3, $4, 'invalid', 1, x'80070057'::bigint, $5, 0)",
                     5, p, err) != 0)
            goto fail;
    }
    char total[32];
    snprintf(total, sizeof total, "%" PRIu64, b->n);
    const char *p[2] = {b->id, total};
    if (pcl_exec(b->c->pg, "enqueue", "UPDATE provost.batches SET total = $2 WHERE id = $1", 2, p, err) != 0 ||
        pcl_exec(b->c->pg, "enqueue", "NOTIFY provost_jobs", 0, NULL, err) != 0 ||
        pcl_exec(b->c->pg, "enqueue", "COMMIT", 0, NULL, err) != 0)
        goto fail;
    *id = strtoll(b->id, NULL, 10);
    free_batch(b);
    return 0;
fail:
    if (b->copying) {
        PQputCopyEnd(b->c->pg, "aborted");
        PQclear(PQgetResult(b->c->pg));
    }
    PQclear(PQexec(b->c->pg, "ROLLBACK"));
    free_batch(b);
    return -1;
}
