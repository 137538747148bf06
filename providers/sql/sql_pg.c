/*
 * sql_pg.c -- the sql provider's PostgreSQL backend (libpq): connections with the
 * namespace's secret and timeouts, statements whose :name parameters become $n of
 * PQexecParams' protocol (bound, never spliced), waits bounded on the client side too
 * (a server that stops answering is a timeout, not a hang), two-phase commit with
 * PREPARE TRANSACTION, and SQLSTATEs mapped to HRESULTs.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "sql.h"

#define PG_LOCK_CLASS_S "1886547830" /* "prov": the advisory locks of Provost transactions */
#define PG_GRACE_MS   2000       /* past statement_timeout, the client stops waiting */

static uint32_t map_state(const char *s)
{
    if (!s || strlen(s) != 5)
        return PROVOST_E_FAIL;
    if (strcmp(s, "23505") == 0)
        return SQ_E_EXISTS;
    if (strcmp(s, "57014") == 0 || strcmp(s, "55P03") == 0)
        return SQ_E_TIMEOUT;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return SQ_E_DEADLOCK;
    if (strcmp(s, "42P01") == 0 || strcmp(s, "42703") == 0 || strcmp(s, "42883") == 0 || strcmp(s, "42704") == 0)
        return SQ_E_NOTFOUND;
    if (strcmp(s, "42501") == 0 || strncmp(s, "28", 2) == 0)
        return SQ_E_ACCESS;
    if (strcmp(s, "53100") == 0)
        return SQ_E_DISKFULL;
    if (strcmp(s, "53200") == 0)
        return SQ_E_OUTOFMEMORY;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "53300") == 0 || strncmp(s, "57P", 3) == 0)
        return SQ_E_UNREACHABLE;
    if (strncmp(s, "XX00", 4) == 0)
        return SQ_E_CORRUPT;
    if (strncmp(s, "58", 2) == 0)
        return SQ_E_IO;
    if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
        return SQ_E_INVALIDDATA;
    if (strncmp(s, "42", 2) == 0)
        return PROVOST_E_INVALIDARG;
    return PROVOST_E_FAIL;
}

static uint32_t pg_error(sq_call *k, sq_conn *conn, const PGresult *r, const char *doing)
{
    PGconn *pg = conn->handle;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *table = r ? PQresultErrorField(r, PG_DIAG_TABLE_NAME) : NULL;
    if (!msg)
        msg = pg ? PQerrorMessage(pg) : "no connection";
    char clean[600], where[200] = "";
    sq_redact(k, msg, clean, sizeof clean);
    uint32_t code = map_state(state);
    if (!state && (!pg || PQstatus(pg) != CONNECTION_OK)) {
        code = SQ_E_UNREACHABLE; /* the connection went away */
        conn->broken = 1;
    }
    if (code == SQ_E_UNREACHABLE)
        conn->broken = 1;
    if (table)
        snprintf(where, sizeof where, ", table %.100s", table);
    return sq_fail(k, code, "PostgreSQL database %s%s: %s: %s%s%s%s", pg && PQdb(pg) ? PQdb(pg) : "?", where, doing,
                   clean, state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

uint32_t sq_pg_connect(sq_call *k, sq_conn *conn)
{
    char *secret = NULL, *user = NULL, timeout[16];
    if (k->conf.credential || k->conf.password_file) {
        uint32_t rc = provost_secret(k->c, k->conf.credential, k->conf.password_file, &secret, &user);
        if (rc)
            return rc;
    }
    snprintf(timeout, sizeof timeout, "%d", k->conf.timeout_ms < 2000 ? 2 : (k->conf.timeout_ms + 999) / 1000);
    const char *keys[8], *vals[8];
    int n = 0;
    keys[n] = "connect_timeout", vals[n++] = timeout;
    keys[n] = "application_name", vals[n++] = "provost";
    keys[n] = "dbname", vals[n++] = k->conf.target; /* expanded: the conninfo overrides the two above */
    if (user)
        keys[n] = "user", vals[n++] = user;
    if (secret)
        keys[n] = "password", vals[n++] = secret;
    keys[n] = NULL, vals[n] = NULL;
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    provost_secret_free(secret);
    free(user);
    if (!pg)
        return sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    if (PQstatus(pg) != CONNECTION_OK) {
        char clean[600];
        sq_redact(k, PQerrorMessage(pg), clean, sizeof clean);
        uint32_t code = strstr(clean, "authentication failed") || strstr(clean, "password")
                            ? SQ_E_ACCESS
                            : strstr(clean, "timeout expired") ? SQ_E_TIMEOUT : SQ_E_UNREACHABLE;
        PQfinish(pg);
        return sq_fail(k, code, "PostgreSQL: cannot connect: %s", clean);
    }
    conn->handle = pg;
    char set[80];
    snprintf(set, sizeof set, "SET statement_timeout = %d", k->conf.timeout_ms);
    return sq_pg_simple(k, conn, set);
}

void sq_pg_close(sq_conn *conn)
{
    PQfinish(conn->handle);
    conn->handle = NULL;
}

int sq_pg_conn_lost(sq_conn *conn)
{
    return !conn->handle || PQstatus(conn->handle) != CONNECTION_OK;
}

static long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Wait for the whole answer, at most DEADLINE; the last result, or NULL with *TIMED_OUT
 * or the connection lost. */
static PGresult *await(PGconn *pg, long deadline, int *timed_out, PGresult **failed)
{
    PGresult *last = NULL, *r;
    *timed_out = 0;
    *failed = NULL;
    for (;;) {
        while (PQisBusy(pg)) {
            long left = deadline - now_ms();
            struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
            int n = left > 0 ? poll(&p, 1, (int)left) : 0;
            if (n == 0) {
                *timed_out = 1;
                PQclear(last);
                return NULL;
            }
            if ((n < 0 && errno != EINTR) || !PQconsumeInput(pg)) {
                PQclear(last);
                return NULL;
            }
        }
        if (!(r = PQgetResult(pg)))
            return last;
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_FATAL_ERROR || s == PGRES_BAD_RESPONSE || s == PGRES_NONFATAL_ERROR) {
            if (!*failed)
                *failed = r;
            else
                PQclear(r);
            continue;
        }
        PQclear(last);
        last = r;
    }
}

/* ---- :name parameters to $n ------------------------------------------------------------ */

typedef struct pg_text {
    char *s;
    size_t n, cap;
} pg_text;

static int put(pg_text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = (t->n + n + 1) * 2;
        char *v = realloc(t->s, cap);
        if (!v)
            return -1;
        t->s = v;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
    return 0;
}

/* SQL with $1..$n in place of :name, and the values in that order.  Every :name needs a
 * param; every param must be used. */
static uint32_t rewrite(sq_call *k, const char *sql, char **out, const char ***values, int *nvals)
{
    pg_text t = {0};
    size_t np = k->params ? k->params->n : 0;
    int *pos = calloc(np + 1, sizeof *pos); /* param index -> $n, 0 unused */
    const char **vals = calloc(np + 1, sizeof *vals);
    int n = 0;
    uint32_t rc = 0;
    if (!pos || !vals || put(&t, "", 0) != 0) {
        rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    for (const char *p = sql; *p && !rc;) {
        size_t q = sq_skip_quoted(sql, p);
        if (q) {
            if (put(&t, p, q) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
            p += q;
        } else if (p[0] == ':' && p[1] == ':') {
            if (put(&t, p, 2) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
            p += 2;
        } else if (p[0] == '$' && isdigit((unsigned char)p[1])) {
            rc = sq_fail(k, PROVOST_E_INVALIDARG, "the statement has a positional parameter $%c: use :name parameters",
                         p[1]);
        } else if (p[0] == ':' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            size_t l = 1;
            while (isalnum((unsigned char)p[1 + l]) || p[1 + l] == '_')
                l++;
            size_t j = 0;
            while (j < np && !(strlen(k->params->v[j].name) == l && strncmp(k->params->v[j].name, p + 1, l) == 0))
                j++;
            if (j == np) {
                rc = sq_fail(k, PROVOST_E_INVALIDARG, "the statement's parameter :%.*s has no param name=\"%.*s\"",
                             (int)(l > 100 ? 100 : l), p + 1, (int)(l > 100 ? 100 : l), p + 1);
                break;
            }
            if (!pos[j]) {
                pos[j] = ++n;
                vals[n - 1] = k->params->v[j].value;
            }
            char num[16];
            snprintf(num, sizeof num, "$%d", pos[j]);
            if (put(&t, num, strlen(num)) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
            p += 1 + l;
        } else {
            if (put(&t, p, 1) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
            p++;
        }
    }
    for (size_t j = 0; !rc && j < np; j++)
        if (!pos[j] && !sq_used_elsewhere(k, k->params->v[j].name))
            rc = sq_fail(k, PROVOST_E_INVALIDARG, "param name=\"%.100s\" is not a parameter of the statement",
                         k->params->v[j].name);
out:
    free(pos);
    if (rc) {
        free(t.s);
        free(vals);
        return rc;
    }
    *out = t.s;
    *values = vals;
    *nvals = n;
    return 0;
}

/* ---- running statements ----------------------------------------------------------------- */

static uint32_t take_rows(sq_call *k, const PGresult *r, xmlNodePtr rows, sq_first *first)
{
    int nc = PQnfields(r), nr = PQntuples(r);
    const char **names = calloc((size_t)nc + 1, sizeof *names);
    const char **values = calloc((size_t)nc + 1, sizeof *values);
    size_t *lens = calloc((size_t)nc + 1, sizeof *lens);
    uint32_t rc = 0;
    if (!names || !values || !lens)
        rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    for (int i = 0; !rc && i < nc; i++)
        names[i] = PQfname(r, i);
    for (int row = 0; !rc && row < nr; row++) {
        for (int i = 0; i < nc; i++) {
            values[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
            lens[i] = (size_t)PQgetlength(r, row, i);
        }
        if (rows && sq_add_row(rows, (size_t)nc, names, values, lens) != 0)
            rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        else if (first && first->want && !first->have && sq_first_set(first, (size_t)nc, names, values) != 0)
            rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    }
    free(names);
    free(values);
    free(lens);
    return rc;
}

/* The server did not answer: cancel, and never lend this connection again. */
static uint32_t no_answer(sq_call *k, sq_conn *conn, const char *doing)
{
    PGconn *pg = conn->handle;
    PGcancel *cancel = PQgetCancel(pg);
    char buf[256];
    if (cancel) {
        PQcancel(cancel, buf, sizeof buf);
        PQfreeCancel(cancel);
    }
    conn->broken = 1;
    return sq_fail(k, SQ_E_TIMEOUT, "PostgreSQL database %s: %s: no answer within %d ms", PQdb(pg), doing,
                   k->conf.timeout_ms);
}

/* Send SQL with VALUES and wait, at most the timeout and a grace. */
static uint32_t run(sq_call *k, sq_conn *conn, const char *sql, int n, const char *const *values, xmlNodePtr rows,
                    sq_first *first, long long *affected, const char *doing)
{
    PGconn *pg = conn->handle;
    if (affected)
        *affected = 0;
    if (!PQsendQueryParams(pg, sql, n, NULL, values, NULL, NULL, 0))
        return pg_error(k, conn, NULL, doing);
    int timed_out;
    PGresult *failed;
    PGresult *r = await(pg, now_ms() + k->conf.timeout_ms + PG_GRACE_MS, &timed_out, &failed);
    if (timed_out)
        return no_answer(k, conn, doing);
    uint32_t rc = 0;
    if (failed)
        rc = pg_error(k, conn, failed, doing);
    else if (!r)
        rc = pg_error(k, conn, NULL, doing);
    else if (PQresultStatus(r) == PGRES_TUPLES_OK)
        rc = take_rows(k, r, rows, first);
    if (!rc && r && affected) {
        const char *t = PQcmdTuples(r);
        *affected = t && *t ? atoll(t) : 0;
    }
    PQclear(failed);
    PQclear(r);
    return rc;
}

uint32_t sq_pg_exec(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                    long long *affected)
{
    char *text = NULL;
    const char **values = NULL;
    int n = 0;
    uint32_t rc = rewrite(k, sql, &text, &values, &n);
    if (!rc)
        rc = run(k, conn, text, n, values, rows, first, affected, "the statement failed");
    free(text);
    free(values);
    return rc;
}

uint32_t sq_pg_simple(sq_call *k, sq_conn *conn, const char *sql)
{
    return run(k, conn, sql, 0, NULL, NULL, NULL, NULL, sql);
}

/* ---- pipelines: several statements sent together, answered in one round trip ------------ */

typedef struct pg_step {
    const char *sql;
    int n;
    const char *const *values;
    const char *doing;
    int sync;  /* a Sync follows: the steps after it run even if this one fails */
    int quiet; /* its failure is not the call's (a clean-up): counted, not described */
    xmlNodePtr rows;
    sq_first *first;
    long long *affected;
    int ok; /* set: it ran and succeeded */
} pg_step;

/* The next result as it is, at most DEADLINE: a Sync's answer is one result, not a list. */
static PGresult *await_one(PGconn *pg, long deadline, int *timed_out)
{
    *timed_out = 0;
    while (PQisBusy(pg)) {
        long left = deadline - now_ms();
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        int n = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (n == 0) {
            *timed_out = 1;
            return NULL;
        }
        if ((n < 0 && errno != EINTR) || !PQconsumeInput(pg))
            return NULL;
    }
    return PQgetResult(pg);
}

/* Sends the N steps, a Sync after each marked one and after the last, then reads every
 * answer in order.  Until a Sync, a failing step makes the server skip the rest; the
 * failure reported is the first. */
static uint32_t pipeline(sq_call *k, sq_conn *conn, pg_step *s, int n)
{
    PGconn *pg = conn->handle;
    int sent = PQenterPipelineMode(pg);
    for (int i = 0; sent && i < n; i++) {
        sent = PQsendQueryParams(pg, s[i].sql, s[i].n, NULL, s[i].values, NULL, NULL, 0);
        if (sent && (s[i].sync || i == n - 1))
            sent = PQpipelineSync(pg);
    }
    if (!sent || PQflush(pg) != 0) {
        conn->broken = 1;
        return pg_error(k, conn, NULL, s[0].doing);
    }
    long deadline = now_ms() + k->conf.timeout_ms + PG_GRACE_MS;
    uint32_t rc = 0;
    for (int i = 0; i < n; i++) {
        int timed_out;
        PGresult *failed, *r = await(pg, deadline, &timed_out, &failed);
        if (timed_out)
            return no_answer(k, conn, s[i].doing);
        if (!r && !failed) { /* the connection is gone */
            conn->broken = 1;
            return rc ? rc : pg_error(k, conn, NULL, s[i].doing);
        }
        if (failed && !rc) {
            sq_call quiet = *k;
            quiet.quiet = 1;
            rc = pg_error(s[i].quiet ? &quiet : k, conn, failed, s[i].doing);
        } else if (!failed && PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
            s[i].ok = 1;
            if (!rc && PQresultStatus(r) == PGRES_TUPLES_OK)
                rc = take_rows(k, r, s[i].rows, s[i].first);
            if (s[i].affected) {
                const char *t = PQcmdTuples(r);
                *s[i].affected = t && *t ? atoll(t) : 0;
            }
        }
        PQclear(failed);
        PQclear(r);
        if (s[i].sync || i == n - 1) {
            PGresult *y = await_one(pg, deadline, &timed_out);
            if (timed_out)
                return no_answer(k, conn, s[i].doing);
            int synced = y && PQresultStatus(y) == PGRES_PIPELINE_SYNC;
            PQclear(y);
            if (!synced) {
                conn->broken = 1;
                return rc ? rc : pg_error(k, conn, NULL, s[i].doing);
            }
        }
    }
    if (!PQexitPipelineMode(pg)) {
        conn->broken = 1;
        if (!rc)
            rc = pg_error(k, conn, NULL, s[n - 1].doing);
    }
    return rc;
}

/* ---- two-phase commit ------------------------------------------------------------------- */

static void lock_key(const char *txid, char *out, size_t outlen)
{
    uint32_t h = 2166136261u; /* FNV-1a: any stable spread will do, collisions only wait */
    for (const char *p = txid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    snprintf(out, outlen, "%d", (int32_t)h);
}

/* The statement taking (LOCK) or releasing the transaction's advisory lock, its key in KEY. */
static pg_step lock_step(const char *txid, int lock, char *key, size_t keylen, const char **v)
{
    lock_key(txid, key, keylen);
    v[0] = key;
    return (pg_step){.sql = lock ? "SELECT pg_advisory_lock(" PG_LOCK_CLASS_S ", $1::int)"
                                 : "SELECT pg_advisory_unlock(" PG_LOCK_CLASS_S ", $1::int)",
                     .n = 1,
                     .values = v,
                     .doing = lock ? "cannot take the transaction's lock" : "cannot release the transaction's lock"};
}

uint32_t sq_pg_lock(sq_call *k, sq_conn *conn, const char *txid, int lock)
{
    char key[16];
    const char *v[1];
    pg_step s = lock_step(txid, lock, key, sizeof key, v);
    uint32_t rc = run(k, conn, s.sql, s.n, s.values, NULL, NULL, NULL, s.doing);
    if (!rc)
        conn->locked = lock;
    return rc;
}

uint32_t sq_pg_begin_exec(sq_call *k, sq_conn *conn, const char *txid, const char *sql, xmlNodePtr rows,
                          long long *affected, int *begun)
{
    char *text = NULL, key[16];
    const char **values = NULL, *v[1];
    int n = 0;
    *begun = 0;
    uint32_t rc = rewrite(k, sql, &text, &values, &n);
    if (rc)
        return rc;
    pg_step s[3] = {lock_step(txid ? txid : "", 1, key, sizeof key, v),
                    {.sql = "BEGIN", .doing = "BEGIN"},
                    {.sql = text, .n = n, .values = values, .doing = "the statement failed", .rows = rows,
                     .affected = affected}};
    int from = txid ? 0 : 1;
    if (affected)
        *affected = 0;
    rc = pipeline(k, conn, s + from, 3 - from);
    if (txid && s[0].ok)
        conn->locked = 1;
    *begun = s[1].ok;
    free(text);
    free(values);
    return rc;
}

uint32_t sq_pg_exec_saved(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                          long long *affected)
{
    char *text = NULL;
    const char **values = NULL;
    int n = 0;
    uint32_t rc = rewrite(k, sql, &text, &values, &n);
    if (rc)
        return rc;
    pg_step s[3] = {{.sql = "SAVEPOINT provost_call", .doing = "SAVEPOINT provost_call"},
                    {.sql = text, .n = n, .values = values, .doing = "the statement failed", .rows = rows,
                     .first = first, .affected = affected},
                    {.sql = "RELEASE SAVEPOINT provost_call", .doing = "RELEASE SAVEPOINT provost_call"}};
    if (affected)
        *affected = 0;
    rc = pipeline(k, conn, s, 3);
    free(text);
    free(values);
    return rc;
}

uint32_t sq_pg_end(sq_call *k, sq_conn *conn, const char *txid, int rollback)
{
    char key[16];
    const char *v[1];
    pg_step s[2] = {{.sql = "ROLLBACK", .doing = "ROLLBACK", .sync = 1}, lock_step(txid, 0, key, sizeof key, v)};
    int from = rollback ? 0 : 1, to = conn->locked ? 2 : 1;
    if (from >= to)
        return 0;
    uint32_t rc = pipeline(k, conn, s + from, to - from);
    if (conn->locked && s[1].ok)
        conn->locked = 0;
    return rc;
}

/* A gid is made by the provider of a {UUID} and a number: checked anyway, since it is
 * the one value written into a statement's text (PREPARE TRANSACTION takes no parameter). */
static int gid_ok(const char *gid)
{
    for (const char *p = gid; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("{}-:", *p))
            return 0;
    return *gid != '\0';
}

uint32_t sq_pg_prepare(sq_call *k, sq_conn *conn, const char *gid, const char *txid)
{
    char sql[160], key[16];
    const char *v[1];
    if (!gid_ok(gid))
        return sq_fail(k, PROVOST_E_FAIL, "bad transaction name %.100s", gid);
    snprintf(sql, sizeof sql, "PREPARE TRANSACTION '%s'", gid);
    /* once PREPARE TRANSACTION has answered, recovery would see what it prepared: the lock,
     * which only makes recovery wait for a PREPARE in flight, goes in the same round trip */
    pg_step s[2] = {{.sql = sql, .doing = sql, .sync = 1}, lock_step(txid, 0, key, sizeof key, v)};
    s[1].quiet = 1;
    uint32_t rc = pipeline(k, conn, s, conn->locked ? 2 : 1);
    if (!s[0].ok)
        return rc;
    if (conn->locked && s[1].ok)
        conn->locked = 0;
    else if (conn->locked)
        conn->broken = 1; /* prepared all the same; closing the connection releases the lock */
    return 0;
}

uint32_t sq_pg_finish_prepared(sq_call *k, sq_conn *conn, const char *gid, int commit)
{
    char sql[160];
    if (!gid_ok(gid))
        return sq_fail(k, PROVOST_E_FAIL, "bad transaction name %.100s", gid);
    snprintf(sql, sizeof sql, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", gid);
    return sq_pg_simple(k, conn, sql);
}

uint32_t sq_pg_resolve(sq_call *k, sq_conn *conn, const char *txid, int commit)
{
    char prefix[96];
    snprintf(prefix, sizeof prefix, "provost:%s:", txid);
    /* the lock waits for a session of this transaction that died in the middle of a command
     * (a PREPARE TRANSACTION the server still finishes): then the list below is complete */
    uint32_t rc = sq_pg_lock(k, conn, txid, 1);
    if (rc)
        return rc;
    const char *v[] = {prefix};
    PGresult *r = NULL;
    PGconn *pg = conn->handle;
    if (!PQsendQueryParams(pg,
                           "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() "
                           "AND left(gid, length($1)) = $1 ORDER BY prepared",
                           1, NULL, v, NULL, NULL, 0)) {
        rc = pg_error(k, conn, NULL, "cannot list prepared transactions");
    } else {
        int timed_out;
        PGresult *failed;
        r = await(pg, now_ms() + k->conf.timeout_ms + PG_GRACE_MS, &timed_out, &failed);
        if (timed_out) {
            conn->broken = 1;
            rc = sq_fail(k, SQ_E_TIMEOUT, "PostgreSQL: listing prepared transactions: no answer within %d ms",
                         k->conf.timeout_ms);
        } else if (failed || !r || PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_error(k, conn, failed, "cannot list prepared transactions");
        }
        PQclear(failed);
    }
    for (int i = 0; !rc && r && i < PQntuples(r); i++) {
        rc = sq_pg_finish_prepared(k, conn, PQgetvalue(r, i, 0), commit);
        if (rc == SQ_E_NOTFOUND) /* finished meanwhile by someone else: absent is success */
            rc = 0;
    }
    PQclear(r);
    if (!conn->broken && sq_pg_lock(k, conn, txid, 0) != 0)
        conn->broken = 1;
    return rc;
}
