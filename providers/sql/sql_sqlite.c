/*
 * sql_sqlite.c -- the sql provider's SQLite backend: a connection per pooled handle
 * (sqlite3_busy_timeout is the call's timeout, so a locked database is an error, never a
 * hang), one statement per call with its :name parameters bound, never spliced, and
 * SQLite's result codes mapped to HRESULTs.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "sql.h"

static uint32_t map_code(int ext, const char *msg)
{
    switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return SQ_E_EXISTS;
    default:
        break;
    }
    switch (ext & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return SQ_E_INVALIDDATA;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SQ_E_TIMEOUT;
    case SQLITE_CANTOPEN:
        return SQ_E_PATH;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
        return SQ_E_ACCESS;
    case SQLITE_FULL:
        return SQ_E_DISKFULL;
    case SQLITE_IOERR:
        return SQ_E_IO;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SQ_E_CORRUPT;
    case SQLITE_NOMEM:
        return SQ_E_OUTOFMEMORY;
    case SQLITE_ERROR:
        if (msg && (strncmp(msg, "no such table", 13) == 0 || strncmp(msg, "no such column", 14) == 0))
            return SQ_E_NOTFOUND;
        return PROVOST_E_INVALIDARG; /* a syntax error, a statement that does not fit the schema */
    default:
        return PROVOST_E_FAIL;
    }
}

static uint32_t lite_error(sq_call *k, sqlite3 *db, int rc, const char *doing)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    char clean[600];
    sq_redact(k, msg, clean, sizeof clean);
    uint32_t code = map_code(ext, msg);
    if (code == SQ_E_TIMEOUT)
        return sq_fail(k, code, "SQLite %s: %s: still locked after %d ms (%s)", k->conf.target, doing,
                       k->conf.timeout_ms, clean);
    return sq_fail(k, code, "SQLite %s: %s: %s", k->conf.target, doing, clean);
}

uint32_t sq_lite_connect(sq_call *k, sq_conn *conn)
{
    sqlite3 *db = NULL;
    if (k->conf.target[0] != '/')
        return sq_fail(k, PROVOST_E_INVALIDARG, "providerContext path \"%.200s\" must be absolute", k->conf.target);
    int rc = sqlite3_open_v2(k->conf.target, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, k->conf.timeout_ms);
        /* opening is lazy: read the header now, so a file that is not a database fails here */
        rc = sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        uint32_t code = lite_error(k, db, rc, "cannot open the database");
        sqlite3_close(db);
        return code;
    }
    conn->handle = db;
    return 0;
}

void sq_lite_close(sq_conn *conn)
{
    sqlite3_close(conn->handle); /* rolls back a transaction still open */
    conn->handle = NULL;
}

int sq_lite_in_txn(sq_conn *conn)
{
    return conn->handle && !sqlite3_get_autocommit(conn->handle);
}

uint32_t sq_lite_simple(sq_call *k, sq_conn *conn, const char *sql)
{
    int rc = sqlite3_exec(conn->handle, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : lite_error(k, conn->handle, rc, sql);
}

/* Bind every :name of the statement; a parameter without a value, or a value no
 * parameter takes, is bad input. */
static uint32_t bind_all(sq_call *k, sqlite3_stmt *st)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (!name || name[0] != ':')
            return sq_fail(k, PROVOST_E_INVALIDARG, "parameter %d of the statement is %s: use :name parameters", i,
                           name ? name : "?");
        const sq_param *p = NULL;
        for (size_t j = 0; k->params && j < k->params->n && !p; j++)
            if (strcmp(k->params->v[j].name, name + 1) == 0)
                p = &k->params->v[j];
        if (!p)
            return sq_fail(k, PROVOST_E_INVALIDARG, "the statement's parameter %.100s has no param name=\"%.100s\"",
                           name, name + 1);
        int rc = p->value ? sqlite3_bind_text(st, i, p->value, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
        if (rc != SQLITE_OK)
            return lite_error(k, sqlite3_db_handle(st), rc, "cannot bind a parameter");
    }
    for (size_t j = 0; k->params && j < k->params->n; j++) {
        char name[300];
        snprintf(name, sizeof name, ":%s", k->params->v[j].name);
        if (sqlite3_bind_parameter_index(st, name) == 0 && !sq_used_elsewhere(k, k->params->v[j].name))
            return sq_fail(k, PROVOST_E_INVALIDARG, "param name=\"%.100s\" is not a parameter of the statement",
                           k->params->v[j].name);
    }
    return 0;
}

static uint32_t add_row(sq_call *k, sqlite3_stmt *st, xmlNodePtr rows, sq_first *first)
{
    int n = sqlite3_column_count(st);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    const char **values = calloc((size_t)n + 1, sizeof *values);
    size_t *lens = calloc((size_t)n + 1, sizeof *lens);
    uint32_t rc = 0;
    if (!names || !values || !lens) {
        rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        names[i] = sqlite3_column_name(st, i);
        if (sqlite3_column_type(st, i) != SQLITE_NULL) {
            values[i] = (const char *)sqlite3_column_text(st, i);
            lens[i] = (size_t)sqlite3_column_bytes(st, i);
            if (!values[i]) {
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
                goto out;
            }
        }
    }
    if (rows && sq_add_row(rows, (size_t)n, names, values, lens) != 0)
        rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    else if (first && first->want && !first->have && sq_first_set(first, (size_t)n, names, values) != 0)
        rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
out:
    free(names);
    free(values);
    free(lens);
    return rc;
}

uint32_t sq_lite_exec(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                      long long *affected)
{
    sqlite3 *db = conn->handle;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    *affected = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, &tail);
    if (rc != SQLITE_OK)
        return lite_error(k, db, rc, "cannot prepare the statement");
    if (!st)
        return sq_fail(k, PROVOST_E_INVALIDARG, "the statement is empty");
    /* one statement per call: what follows may only be space and comments */
    sqlite3_stmt *more = NULL;
    if (tail && *tail && (sqlite3_prepare_v2(db, tail, -1, &more, NULL) != SQLITE_OK || more)) {
        sqlite3_finalize(more);
        sqlite3_finalize(st);
        return sq_fail(k, PROVOST_E_INVALIDARG, "give one statement per call (more follow the first)");
    }
    sqlite3_int64 before = sqlite3_total_changes64(db); /* sqlite3_changes() keeps the last DML's count */
    uint32_t code = bind_all(k, st);
    while (!code && (rc = sqlite3_step(st)) == SQLITE_ROW)
        code = add_row(k, st, rows, first);
    if (!code && rc != SQLITE_DONE)
        code = lite_error(k, db, rc, "the statement failed");
    if (!code)
        *affected = sqlite3_total_changes64(db) - before;
    sqlite3_finalize(st);
    return code;
}
