/*
 * conn.c -- connecting to a cluster's database, and the statement helpers every file of
 * the library uses: one-line errors whatever PostgreSQL said.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcl.h"
#include "util/vec.h"

static _Thread_local char last_state[6];

int pcl_fail(provost_error *err, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return -1;
}

/* PostgreSQL's message up to its first line break. */
static void first_line(char *to, size_t n, const char *msg)
{
    if (!msg || !*msg)
        msg = "unknown error";
    size_t len = strcspn(msg, "\n");
    if (len >= n)
        len = n - 1;
    memcpy(to, msg, len);
    to[len] = 0;
}

/* r when it is a statement's success, else NULL with err. */
static PGresult *checked(PGconn *pg, const char *what, PGresult *r, provost_error *err)
{
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        last_state[0] = 0;
        return r;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(last_state, sizeof last_state, "%s", state ? state : "");
    char line[600];
    first_line(line, sizeof line, r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r) : PQerrorMessage(pg));
    pcl_fail(err, PROVOST_E_FAIL, "%s: %s", what, line);
    PQclear(r);
    return NULL;
}

PGresult *pcl_query(PGconn *pg, const char *what, const char *sql, int n, const char *const *params,
                    provost_error *err)
{
    /* without parameters, one string may hold several statements */
    return checked(pg, what, n ? PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0) : PQexec(pg, sql), err);
}

PGresult *pcl_query_named(PGconn *pg, const char *name, const char *what, const char *sql, int n,
                          const char *const *params, provost_error *err)
{
    PGresult *r = PQexecPrepared(pg, name, n, params, NULL, NULL, 0);
    const char *state = PQresultStatus(r) == PGRES_FATAL_ERROR ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && strcmp(state, "26000") == 0) { /* not prepared on this connection yet */
        PQclear(r);
        r = checked(pg, what, PQprepare(pg, name, sql, n, NULL), err);
        if (!r)
            return NULL;
        PQclear(r);
        r = PQexecPrepared(pg, name, n, params, NULL, NULL, 0);
    }
    return checked(pg, what, r, err);
}

int pcl_exec(PGconn *pg, const char *what, const char *sql, int n, const char *const *params, provost_error *err)
{
    PGresult *r = pcl_query(pg, what, sql, n, params, err);
    PQclear(r);
    return r ? 0 : -1;
}

const char *pcl_sqlstate(void)
{
    return last_state;
}

bool pcl_lost(PGconn *pg)
{
    /* class 08: connection exceptions; 57P01..57P03: the server shuts down, crashed, or is
       not yet accepting connections -- a restart, as opposed to a statement's own error */
    const char *st = last_state;
    return PQstatus(pg) != CONNECTION_OK || strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
           strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0;
}

PGconn *pcl_reconnect(const char *conninfo, bool (*give_up)(void *), void *ud, provost_error *err)
{
    long wait_ms = 100;
    for (;;) {
        struct timespec nap = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
        nanosleep(&nap, NULL);
        PGconn *pg = pcl_connect(conninfo, true, err);
        if (pg || give_up(ud))
            return pg;
        wait_ms = wait_ms * 2 < 2000 ? wait_ms * 2 : 2000;
    }
}

/* The conninfo to show in a message: what it sets, secrets (libpq's "*" options, such as
 * password) left out, whether it was given as key=value or as a URI. */
static void shown_conninfo(char *to, size_t n, const PQconninfoOption *opts)
{
    size_t len = 0;
    to[0] = 0;
    for (const PQconninfoOption *o = opts; o->keyword && len < n; o++) {
        if (!o->val || (o->dispchar && o->dispchar[0] == '*'))
            continue;
        int k = snprintf(to + len, n - len, "%s%s=%s", len ? " " : "", o->keyword, o->val);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

PGconn *pcl_connect(const char *conninfo, bool need_schema, provost_error *err)
{
    if (!conninfo || !*conninfo) {
        pcl_fail(err, PROVOST_E_INVALIDARG, "which cluster? (--cluster CONNINFO, or $PROVOST_CLUSTER)");
        return NULL;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        char line[600];
        first_line(line, sizeof line, perr ? perr : "cannot be parsed");
        /* not parsed, so where a password is in it is unknown: not shown */
        pcl_fail(err, PROVOST_E_INVALIDARG, "cluster conninfo: %s", line);
        PQfreemem(perr);
        return NULL;
    }
    char shown[400];
    shown_conninfo(shown, sizeof shown, opts);
    PQconninfoFree(opts);
    /* defaults the conninfo may override (its options come after them): a dead server or
       a lost peer found in seconds, not after the kernel's hours */
    static const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", "dbname", NULL};
    const char *vals[] = {"10", "1", "30", "10", "3", conninfo, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char line[600];
        first_line(line, sizeof line, PQerrorMessage(pg));
        pcl_fail(err, PROVOST_E_FAIL, "cluster '%s': cannot connect: %s", shown, line);
        PQfinish(pg);
        return NULL;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (!need_schema)
        return pg;
    provost_error qerr;
    PGresult *r =
        pcl_query(pg, "schema", "SELECT value FROM provost.meta WHERE key = 'schema_version'", 0, NULL, &qerr);
    if (!r) {
        if (strcmp(pcl_sqlstate(), "42P01") == 0 || strcmp(pcl_sqlstate(), "3F000") == 0)
            pcl_fail(err, PROVOST_E_NOTFOUND, "cluster '%s' is not initialised (provost cluster init)", shown);
        else
            pcl_fail(err, qerr.code, "cluster '%s': %s", shown, qerr.message);
        PQfinish(pg);
        return NULL;
    }
    long v = PQntuples(r) == 1 ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    if (v != PROVOST_CLUSTER_SCHEMA) {
        if (v > PROVOST_CLUSTER_SCHEMA)
            pcl_fail(err, PROVOST_E_FAIL,
                     "cluster '%s' has schema version %ld, newer than this provost's %d: upgrade provost", shown,
                     v, PROVOST_CLUSTER_SCHEMA);
        else
            pcl_fail(err, PROVOST_E_FAIL,
                     v > 0 ? "cluster '%s' has schema version %ld, older than this provost's: run provost cluster init"
                             " to upgrade it"
                           : "cluster '%s' has no schema version this provost knows (%ld)",
                     shown, v);
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

int provost_cluster_open(const char *conninfo, int need_schema, provost_cluster **out, provost_error *err)
{
    *out = NULL;
    PGconn *pg = pcl_connect(conninfo, need_schema != 0, err);
    if (!pg)
        return -1;
    provost_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        PQfinish(pg);
        return pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    c->pg = pg;
    *out = c;
    return 0;
}

void provost_cluster_close(provost_cluster *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    free(c);
}

int pcl_arr_add(pcl_arr *a, const char *s)
{
    bool first = !a->buf;
    /* room for the element quoted and escaped, its comma, and the closing brace */
    if (PU_GROW(a->buf, a->cap, a->len + 2 * strlen(s ? s : "") + 8) != 0)
        return -1;
    char *p = a->buf + a->len;
    if (first)
        *p++ = '{';
    else
        *p++ = ',';
    if (!s) {
        memcpy(p, "NULL", 4);
        p += 4;
    } else {
        *p++ = '"';
        for (; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p = 0;
    a->len = (size_t)(p - a->buf);
    return 0;
}

const char *pcl_arr_text(pcl_arr *a)
{
    if (!a->buf)
        return "{}";
    if (!a->closed) {
        a->buf[a->len++] = '}'; /* pcl_arr_add left room */
        a->buf[a->len] = 0;
        a->closed = true;
    }
    return a->buf;
}

void pcl_arr_free(pcl_arr *a)
{
    free(a->buf);
    *a = (pcl_arr){0};
}
