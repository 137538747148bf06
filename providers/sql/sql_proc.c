/*
 * sql_proc.c -- the sql provider's procedures and their life-cycle: Execute (twoPhase;
 * the calls of one Provost transaction on one database share one database transaction,
 * prepared with PREPARE TRANSACTION on PostgreSQL), ExecuteWithUndo (write; its undo
 * statement journaled as rollback data) and Query (read).  What happens after a crash,
 * record by record, is in docs/providers/sql.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql.h"

#define KEY_GID    "gid"    /* Execute, and ExecuteWithUndo run inside Execute's transaction */
#define KEY_JOINED "joined"
#define KEY_UNDO   "undo"   /* ExecuteWithUndo on its own: the undo statement and its values */

/* ---- executeData ------------------------------------------------------------------------ */

static void params_free(sq_params *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->v[i].name);
        free(ps->v[i].value);
    }
    free(ps->v);
    ps->v = NULL;
    ps->n = 0;
}

static int param_add(sq_params *ps, const char *name, size_t nl, const char *value)
{
    sq_param *v = realloc(ps->v, (ps->n + 1) * sizeof *v);
    if (!v)
        return -1;
    ps->v = v;
    v[ps->n].name = strndup(name, nl);
    v[ps->n].value = value ? strdup(value) : NULL;
    if (!v[ps->n].name || (value && !v[ps->n].value)) {
        free(v[ps->n].name);
        free(v[ps->n].value);
        return -1;
    }
    ps->n++;
    return 0;
}

/* executeData/param@name, each name once; null="1" is SQL NULL. */
static uint32_t read_params(sq_call *k, xmlNodePtr data, sq_params *ps)
{
    for (xmlNodePtr n = data ? data->children : NULL; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "param") != 0)
            continue;
        xmlChar *name = xmlGetProp(n, BAD_CAST "name"), *null = xmlGetProp(n, BAD_CAST "null");
        xmlChar *value = xmlNodeGetContent(n);
        uint32_t rc = 0;
        int isnull = null && (strcmp((const char *)null, "1") == 0 || strcmp((const char *)null, "true") == 0);
        if (!name || !*name) {
            rc = sq_fail(k, PROVOST_E_INVALIDARG, "a param without a name attribute");
        } else {
            for (size_t i = 0; i < ps->n && !rc; i++)
                if (strcmp(ps->v[i].name, (const char *)name) == 0)
                    rc = sq_fail(k, PROVOST_E_INVALIDARG, "param name=\"%.100s\" given twice", name);
            if (!rc && param_add(ps, (const char *)name, strlen((const char *)name),
                                 isnull ? NULL : value ? (const char *)value : "") != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        }
        xmlFree(name);
        xmlFree(null);
        xmlFree(value);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *exec_id(xmlDocPtr execute_xml)
{
    xmlNodePtr ec = provost_child(provost_child(xmlDocGetRootElement(execute_xml), "context"), "executeContext");
    for (xmlAttrPtr a = ec ? ec->properties : NULL; a; a = a->next)
        if (strcmp((const char *)a->name, "procedureExecId") == 0 && a->children && a->children->content)
            return (const char *)a->children->content;
    return "0";
}

/* ---- backends behind one face ------------------------------------------------------------ */

static uint32_t exec_sql(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                         long long *affected)
{
    if (conn->target->driver == SQ_SQLITE)
        return sq_lite_exec(k, conn, sql, rows, first, affected);
    return sq_pg_exec(k, conn, sql, rows, first, affected);
}

static uint32_t simple(sq_call *k, sq_conn *conn, const char *sql)
{
    return conn->target->driver == SQ_SQLITE ? sq_lite_simple(k, conn, sql) : sq_pg_simple(k, conn, sql);
}

static int lost(sq_conn *conn)
{
    return conn->broken || (conn->target->driver == SQ_PG && sq_pg_conn_lost(conn));
}

/* A connection with BEGIN done.  A pooled connection that turns out dead is replaced once:
 * nothing was sent on it that could have done anything. */
static uint32_t acquire_begun(sq_call *k, sq_conn **out)
{
    for (int attempt = 0;; attempt++) {
        int reused;
        sq_conn *conn;
        uint32_t rc = sq_acquire(k, &conn, &reused);
        if (rc)
            return rc;
        rc = simple(k, conn, conn->target->driver == SQ_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN");
        if (!rc) {
            *out = conn;
            return 0;
        }
        int dead = lost(conn);
        conn->broken |= dead || conn->locked;
        sq_release(k, conn);
        if (!dead || !reused || attempt > 0)
            return rc;
    }
}

/* Lend a connection for one autocommitted statement, replacing a dead pooled one once. */
static uint32_t run_alone(sq_call *k, const char *sql, xmlNodePtr rows, long long *affected)
{
    for (int attempt = 0;; attempt++) {
        int reused;
        sq_conn *conn;
        uint32_t rc = sq_acquire(k, &conn, &reused);
        if (rc)
            return rc;
        rc = exec_sql(k, conn, sql, rows, NULL, affected);
        int dead = rc && lost(conn);
        conn->broken |= dead;
        sq_release(k, conn);
        if (!dead || !reused || attempt > 0 || !rows)
            return rc; /* only a read is sent again */
    }
}

/* ---- per-transaction state --------------------------------------------------------------- */

void sq_txn_free(sq_txn *t)
{
    for (sq_open *o = t->opens, *next; o; o = next) {
        next = o->next;
        free(o->key);
        free(o);
    }
    free(t);
}

static sq_open *find_open(sq_call *k)
{
    sq_txn *t = provost_txn_state(k->c);
    for (sq_open *o = t ? t->opens : NULL; o; o = o->next)
        if (strcmp(o->key, k->conf.key) == 0)
            return o;
    return NULL;
}

static sq_open *new_open(sq_call *k, sq_conn *conn, const char *id)
{
    sq_txn *t = provost_txn_state(k->c);
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            return NULL;
        provost_set_txn_state(k->c, t);
    }
    sq_open *o = calloc(1, sizeof *o);
    if (!o || !(o->key = strdup(k->conf.key))) {
        free(o);
        return NULL;
    }
    o->driver = k->conf.driver;
    o->conn = conn;
    o->state = SQ_OPEN;
    snprintf(o->gid, sizeof o->gid, "provost:%s:%s", provost_pcall_transaction(k->c), id);
    o->next = t->opens;
    t->opens = o;
    return o;
}

/* The database transaction is over: its connection goes back (closed when it failed). */
static void end_open(sq_call *k, sq_open *o, int state)
{
    sq_call quiet = *k; /* releasing never changes what the call reports */
    quiet.quiet = 1;
    if (o->conn) {
        if (o->conn->locked &&
            (lost(o->conn) || sq_pg_lock(&quiet, o->conn, provost_pcall_transaction(k->c), 0) != 0))
            o->conn->broken = 1;
        sq_release(k, o->conn);
        o->conn = NULL;
    }
    o->state = state;
}

/* Run SQL inside the open transaction.  On PostgreSQL a savepoint keeps a failing
 * statement from aborting the earlier calls' work; on SQLite a failing statement undoes
 * only itself, unless SQLite ended the whole transaction (then it is lost). */
static uint32_t exec_joined(sq_call *k, sq_open *o, const char *sql, xmlNodePtr rows, sq_first *first,
                            long long *affected)
{
    int pg = o->driver == SQ_PG;
    uint32_t rc = pg ? sq_pg_exec_saved(k, o->conn, sql, rows, first, affected)
                     : exec_sql(k, o->conn, sql, rows, first, affected);
    if (rc) {
        sq_call quiet = *k; /* the first failure is the one reported */
        quiet.quiet = 1;
        if (pg ? lost(o->conn) || simple(&quiet, o->conn, "ROLLBACK TO SAVEPOINT provost_call") != 0
               : !sq_lite_in_txn(o->conn)) {
            o->conn->broken = 1;
            end_open(k, o, SQ_BROKEN);
        }
    }
    return rc;
}

/* Move the rows gathered under TMP into executeData, with rowsAffected. */
static uint32_t deliver(sq_call *k, xmlNodePtr data, xmlNodePtr tmp, long long affected, int with_count)
{
    for (xmlNodePtr n = tmp->children, next; n; n = next) {
        next = n->next;
        xmlUnlinkNode(n);
        xmlAddChild(data, n);
    }
    char num[32];
    snprintf(num, sizeof num, "%lld", affected);
    if (with_count && !xmlNewTextChild(data, NULL, BAD_CAST "rowsAffected", BAD_CAST num))
        return sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    return 0;
}

/* ---- the procedures ---------------------------------------------------------------------- */

/* The statement of the call; transaction control is the provider's, never the caller's. */
static uint32_t statement_of(sq_call *k, xmlNodePtr data, char **sql)
{
    *sql = provost_child_text(data, "statement");
    if (!*sql || !**sql)
        return sq_fail(k, PROVOST_E_INVALIDARG, "executeData/statement is missing");
    if (sq_is_txn_control(*sql))
        return sq_fail(k, PROVOST_E_INVALIDARG,
                       "the statement controls the transaction: the provider begins, prepares and ends it");
    return 0;
}

/* The first Execute of a transaction on a PostgreSQL database: the transaction's lock,
 * BEGIN and the statement in one round trip.  A pooled connection found dead is replaced
 * once: what was sent on it, never prepared, ended with its session. */
static uint32_t execute_first_pg(sq_call *k, xmlDocPtr execute_xml, const char *txid, const char *sql,
                                 xmlNodePtr tmp, long long *affected)
{
    for (int attempt = 0;; attempt++) {
        int reused, begun;
        sq_conn *conn;
        uint32_t rc = sq_acquire(k, &conn, &reused);
        if (rc)
            return rc;
        rc = sq_pg_begin_exec(k, conn, txid, sql, tmp, affected, &begun);
        sq_open *o = rc ? NULL : new_open(k, conn, exec_id(execute_xml));
        if (o)
            return 0;
        if (!rc) {
            conn->broken = 1; /* closing it ends the transaction and its lock */
            sq_release(k, conn);
            return sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        }
        /* the connection gone, not merely given up on (a statement that timed out is not
         * sent again) */
        int dead = sq_pg_conn_lost(conn);
        sq_call quiet = *k; /* the first failure is the one reported */
        quiet.quiet = 1;
        if (!dead && !conn->broken && sq_pg_end(&quiet, conn, txid, begun) != 0)
            conn->broken = 1;
        conn->broken |= dead || conn->locked;
        sq_release(k, conn);
        if (!dead || !reused || attempt > 0)
            return rc;
        for (xmlNodePtr n = tmp->children, next; n; n = next) { /* rows of the lost attempt */
            next = n->next;
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
}

/* Execute: inside the Provost transaction's database transaction on this database,
 * begun by the first call. */
static uint32_t execute(sq_call *k, xmlDocPtr execute_xml, xmlNodePtr data, const char *sql, xmlNodePtr tmp,
                        long long *affected)
{
    sq_open *o = find_open(k);
    uint32_t rc;
    if (o && o->state == SQ_OPEN)
        return exec_joined(k, o, sql, tmp, NULL, affected);
    (void)data;
    if (o && o->state == SQ_BROKEN)
        return sq_fail(k, SQ_E_UNREACHABLE, "this transaction's database transaction was lost by an earlier failure");
    if (o)
        return sq_fail(k, PROVOST_E_FAIL, "this transaction's database transaction has ended");
    const char *txid = provost_pcall_transaction(k->c);
    sq_conn *conn;
    if (k->conf.driver == SQ_PG)
        return execute_first_pg(k, execute_xml, txid, sql, tmp, affected);
    if ((rc = acquire_begun(k, &conn)) != 0)
        return rc;
    if (!(o = new_open(k, conn, exec_id(execute_xml)))) {
        conn->broken = 1;
        sq_release(k, conn);
        return sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    }
    rc = exec_sql(k, conn, sql, tmp, NULL, affected);
    if (rc) { /* the only work in it: the whole database transaction goes */
        sq_call quiet = *k;
        quiet.quiet = 1;
        if (!lost(conn) && simple(&quiet, conn, "ROLLBACK") != 0)
            conn->broken = 1;
        end_open(k, o, SQ_ENDED);
        o->key[0] = '\0'; /* forgotten: a later Execute begins anew */
    }
    return rc;
}

/* The values the undo statement takes: a column of the first row returned, else the
 * param of that name. */
static uint32_t undo_values(sq_call *k, const char *undo, const sq_first *first, const sq_params *ps, int record)
{
    const char *p = undo, *name;
    size_t len;
    while ((name = sq_next_name(undo, &p, &len)) != NULL) {
        const char *value = NULL;
        int found = 0;
        for (size_t i = 0; first && i < first->n && !found; i++)
            if (strlen(first->names[i]) == len && strncmp(first->names[i], name, len) == 0)
                found = 1, value = first->values[i];
        for (size_t i = 0; ps && i < ps->n && !found; i++)
            if (strlen(ps->v[i].name) == len && strncmp(ps->v[i].name, name, len) == 0)
                found = 1, value = ps->v[i].value;
        if (!found)
            return sq_fail(k, PROVOST_E_INVALIDARG,
                           "the undo's parameter :%.*s is neither a column of the first row returned nor a param",
                           (int)(len > 100 ? 100 : len), name);
        if (record) {
            char key[200];
            snprintf(key, sizeof key, "%s:%.*s", value ? "u" : "z", (int)(len > 150 ? 150 : len), name);
            if (provost_set_rollback_data(k->c, key, value ? value : "") != 0)
                return sq_fail(k, SQ_E_OUTOFMEMORY, "cannot record rollback data");
        }
    }
    return 0;
}

/* ExecuteWithUndo: inside Execute's open transaction when there is one (its fate is that
 * transaction's), else a database transaction of its own, committed once its undo is
 * recorded. */
static uint32_t execute_with_undo(sq_call *k, xmlNodePtr data, const char *sql, const sq_params *ps, xmlNodePtr tmp,
                                  long long *affected)
{
    char *undo = provost_child_text(data, "undo");
    sq_first first = {.want = 1};
    uint32_t rc = 0;
    if (!undo || !*undo)
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "executeData/undo is missing: the statement that undoes this one");
    else if (sq_is_txn_control(undo))
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "the undo statement controls the transaction");
    k->also = undo;
    sq_open *o = rc ? NULL : find_open(k);
    if (rc) {
    } else if (o && o->state == SQ_OPEN) {
        rc = exec_joined(k, o, sql, tmp, &first, affected);
        if (!rc && provost_set_rollback_data(k->c, KEY_JOINED, o->gid) != 0)
            rc = sq_fail(k, SQ_E_OUTOFMEMORY, "cannot record rollback data");
    } else {
        sq_conn *conn;
        if ((rc = acquire_begun(k, &conn)) == 0) {
            rc = exec_sql(k, conn, sql, tmp, &first, affected);
            if (!rc)
                rc = undo_values(k, undo, &first, ps, 1);
            if (!rc && provost_set_rollback_data(k->c, KEY_UNDO, undo) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "cannot record rollback data");
            if (!rc)
                rc = simple(k, conn, "COMMIT");
            if (rc) { /* nothing of it stays */
                sq_call quiet = *k;
                quiet.quiet = 1;
                if (!lost(conn) && simple(&quiet, conn, "ROLLBACK") != 0)
                    conn->broken = 1;
            }
            conn->broken |= lost(conn);
            sq_release(k, conn);
        }
    }
    sq_first_free(&first);
    k->also = NULL;
    free(undo);
    return rc;
}

static uint32_t query(sq_call *k, const char *sql, xmlNodePtr tmp)
{
    long long affected;
    sq_open *o = find_open(k);
    if (o && o->state == SQ_OPEN) /* sees this transaction's own changes */
        return exec_joined(k, o, sql, tmp, NULL, &affected);
    return run_alone(k, sql, tmp, &affected);
}

uint32_t sq_process(sq_call *k, xmlDocPtr execute_xml)
{
    xmlNodePtr data = provost_child(xmlDocGetRootElement(execute_xml), "executeData");
    const char *proc = k->proc;
    int which = strcasecmp(proc, "Execute") == 0           ? 1
                : strcasecmp(proc, "ExecuteWithUndo") == 0 ? 2
                : strcasecmp(proc, "Query") == 0           ? 3
                                                           : 0;
    if (!which)
        return sq_fail(k, SQ_E_NOTFOUND, "no such procedure in the sql provider (Execute, ExecuteWithUndo, Query)");
    sq_params ps = {0};
    char *sql = NULL;
    long long affected = 0;
    xmlNodePtr tmp = xmlNewDocNode(execute_xml, NULL, BAD_CAST "rows", NULL);
    uint32_t rc = tmp ? 0 : sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    if (!rc && !data)
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "executeData/statement is missing");
    if (!rc)
        rc = statement_of(k, data, &sql);
    if (!rc)
        rc = read_params(k, data, &ps);
    k->params = &ps;
    if (!rc)
        rc = which == 1   ? execute(k, execute_xml, data, sql, tmp, &affected)
             : which == 2 ? execute_with_undo(k, data, sql, &ps, tmp, &affected)
                          : query(k, sql, tmp);
    if (!rc && which == 1 && k->conf.driver == SQ_PG) {
        sq_open *o = find_open(k);
        if (o && provost_set_rollback_data(k->c, KEY_GID, o->gid) != 0)
            rc = sq_fail(k, SQ_E_OUTOFMEMORY, "cannot record rollback data");
    }
    if (!rc)
        rc = deliver(k, data, tmp, affected, which != 3);
    if (tmp)
        xmlFreeNode(tmp);
    k->params = NULL;
    params_free(&ps);
    free(sql);
    return rc;
}

/* ---- prepare, commit, rollback ------------------------------------------------------------ */

/* Recovery, or a connection lost: settle on a fresh connection every transaction prepared
 * for this Provost transaction in this database. */
static uint32_t resolve(sq_call *k, int commit)
{
    int reused;
    sq_conn *conn;
    uint32_t rc = sq_acquire(k, &conn, &reused);
    if (rc)
        return rc;
    rc = sq_pg_resolve(k, conn, provost_pcall_transaction(k->c), commit);
    if (rc && lost(conn) && reused) { /* a dead pooled connection: once more on a new one */
        conn->broken = 1;
        sq_release(k, conn);
        if ((rc = sq_acquire(k, &conn, &reused)) != 0)
            return rc;
        rc = sq_pg_resolve(k, conn, provost_pcall_transaction(k->c), commit);
    }
    conn->broken |= lost(conn);
    sq_release(k, conn);
    return rc;
}

static uint32_t prepare_execute(sq_call *k)
{
    sq_open *o = find_open(k);
    if (!o || o->state == SQ_ENDED || o->state == SQ_BROKEN)
        return sq_fail(k, o && o->state == SQ_BROKEN ? SQ_E_UNREACHABLE : PROVOST_E_FAIL,
                       "prepare: this transaction's database transaction was lost");
    if (o->state != SQ_OPEN)
        return 0; /* prepared by an earlier call of the same database transaction */
    uint32_t rc;
    if (o->driver == SQ_SQLITE) {
        /* SQLite has no prepared state: the open transaction, still holding its lock, is it */
        rc = sq_lite_in_txn(o->conn) ? 0 : sq_fail(k, PROVOST_E_FAIL, "prepare: SQLite ended the transaction");
    } else {
        rc = sq_pg_prepare(k, o->conn, o->gid, provost_pcall_transaction(k->c));
    }
    if (rc) {
        end_open(k, o, SQ_ENDED); /* a failed PREPARE TRANSACTION leaves nothing prepared */
        return rc;
    }
    o->state = SQ_PREPARED;
    return 0;
}

static uint32_t commit_execute(sq_call *k)
{
    sq_open *o = find_open(k);
    if (o && o->state == SQ_COMMITTED)
        return 0;
    if (o && o->state == SQ_PREPARED && o->driver == SQ_SQLITE) {
        uint32_t rc = simple(k, o->conn, "COMMIT"); /* a busy reader: failed, and the engine retries */
        if (!rc)
            end_open(k, o, SQ_COMMITTED);
        return rc;
    }
    if (o && o->state == SQ_PREPARED && !lost(o->conn)) {
        uint32_t rc = sq_pg_finish_prepared(k, o->conn, o->gid, 1);
        if (!rc || !lost(o->conn)) {
            if (rc == SQ_E_NOTFOUND)
                rc = 0; /* committed by an attempt whose answer was lost: absent is success */
            if (!rc)
                end_open(k, o, SQ_COMMITTED);
            return rc;
        }
    }
    if (k->conf.driver == SQ_SQLITE)
        return sq_fail(k, PROVOST_E_FAIL,
                       "commit after a crash: SQLite has no prepared transactions, so whether this call's "
                       "statements reached %s before the crash cannot be told; check the database, then resolve "
                       "the transaction by hand",
                       k->conf.target);
    if (o && o->conn)
        end_open(k, o, SQ_BROKEN);
    uint32_t rc = resolve(k, 1);
    if (!rc && o)
        o->state = SQ_COMMITTED;
    return rc;
}

static uint32_t rollback_execute(sq_call *k)
{
    sq_open *o = find_open(k);
    if (o && o->state == SQ_ENDED)
        return 0;
    if (o && o->state == SQ_COMMITTED)
        return sq_fail(k, PROVOST_E_FAIL, "rollback: the database transaction was already committed");
    if (o && o->conn && !lost(o->conn) && (o->state == SQ_OPEN || o->driver == SQ_SQLITE)) {
        /* PostgreSQL: the lock goes in the same round trip */
        uint32_t rc = o->driver == SQ_SQLITE ? simple(k, o->conn, "ROLLBACK")
                                             : sq_pg_end(k, o->conn, provost_pcall_transaction(k->c), 1);
        if (!rc || o->driver == SQ_SQLITE) {
            if (rc)
                o->conn->broken = 1; /* closing it rolls back */
            end_open(k, o, SQ_ENDED);
            return 0;
        }
    } else if (o && o->conn && !lost(o->conn) && o->state == SQ_PREPARED) {
        uint32_t rc = sq_pg_finish_prepared(k, o->conn, o->gid, 0);
        if (!rc || rc == SQ_E_NOTFOUND) {
            end_open(k, o, SQ_ENDED);
            return 0;
        }
    }
    /* after a crash (nothing of it in this process), or a connection lost: SQLite's own
     * journal rolled back what was not committed; PostgreSQL ended an unprepared
     * transaction with its session, and what is prepared is rolled back here */
    if (o && o->conn)
        end_open(k, o, SQ_BROKEN);
    if (k->conf.driver == SQ_SQLITE)
        return 0;
    uint32_t rc = resolve(k, 0);
    if (!rc && o)
        o->state = SQ_ENDED;
    return rc;
}

/* The undo of ExecuteWithUndo, from its rollback data, or in doubt from the journaled
 * executeData (saveDataForRollback) when every value it takes is a param there. */
static uint32_t rollback_with_undo(sq_call *k, xmlDocPtr execute_xml)
{
    int in_doubt = provost_pcall_in_doubt(k->c);
    const char *joined = provost_get_rollback_data(k->c, KEY_JOINED);
    if (joined) {
        /* it ran inside Execute's database transaction, never committed since we are rolling
         * back: that transaction's rollback discards it */
        sq_open *o = find_open(k);
        if (o && o->conn && (o->state == SQ_OPEN || o->state == SQ_PREPARED))
            return 0;
        return k->conf.driver == SQ_PG ? resolve(k, 0) : 0;
    }
    sq_params ps = {0};
    char *undo = NULL;
    uint32_t rc = 0;
    if (in_doubt) {
        if (k->conf.driver == SQ_PG && (rc = resolve(k, 0)) != 0)
            return rc;
        xmlNodePtr data = provost_child(xmlDocGetRootElement(execute_xml), "executeData");
        undo = provost_child_text(data, "undo");
        if (!undo || !*undo)
            rc = sq_fail(k, PROVOST_E_FAIL,
                         "rollback in doubt: the call may have run, and its undo statement was not journaled "
                         "(give the procedure saveDataForRollback=\"1\"); check the database by hand");
        sq_params all = {0};
        if (!rc)
            rc = read_params(k, data, &all);
        for (size_t i = 0; !rc && i < all.n; i++) { /* the undo takes only some of them */
            const char *q = undo, *name;
            size_t len;
            int used = 0;
            while (!used && (name = sq_next_name(undo, &q, &len)) != NULL)
                used = strlen(all.v[i].name) == len && strncmp(all.v[i].name, name, len) == 0;
            if (used && param_add(&ps, all.v[i].name, len, all.v[i].value) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        }
        params_free(&all);
        k->params = &ps;
        if (!rc && (rc = undo_values(k, undo, NULL, &ps, 0)) != 0)
            rc = sq_fail(k, PROVOST_E_FAIL,
                         "rollback in doubt: the undo needs a column of the row the statement returned, "
                         "which was never journaled; check the database by hand");
    } else {
        const char *u = provost_get_rollback_data(k->c, KEY_UNDO);
        undo = u ? strdup(u) : NULL;
        if (!undo)
            rc = sq_fail(k, PROVOST_E_FAIL, "rollback: the undo statement is missing from the rollback data");
        const char *p = undo, *name;
        size_t len;
        while (!rc && (name = sq_next_name(undo, &p, &len)) != NULL) {
            char key[200];
            snprintf(key, sizeof key, "u:%.*s", (int)(len > 150 ? 150 : len), name);
            const char *v = provost_get_rollback_data(k->c, key);
            int known = v != NULL;
            key[0] = 'z';
            known |= provost_get_rollback_data(k->c, key) != NULL;
            int dup = 0;
            for (size_t i = 0; i < ps.n; i++)
                dup |= strlen(ps.v[i].name) == len && strncmp(ps.v[i].name, name, len) == 0;
            if (!known)
                rc = sq_fail(k, PROVOST_E_FAIL, "rollback: the undo's value :%.*s is missing from the rollback data",
                             (int)(len > 100 ? 100 : len), name);
            else if (!dup && param_add(&ps, name, len, v) != 0)
                rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        }
        k->params = &ps;
    }
    if (!rc) {
        long long affected; /* no row to undo is success: absent */
        rc = run_alone(k, undo, NULL, &affected);
    }
    k->params = NULL;
    params_free(&ps);
    free(undo);
    return rc;
}

uint32_t sq_phase(sq_call *k, xmlDocPtr execute_xml, int phase)
{
    if (strcasecmp(k->proc, "ExecuteWithUndo") == 0)
        return phase == PROVOST_PHASE_ROLLBACK ? rollback_with_undo(k, execute_xml) : 0;
    if (strcasecmp(k->proc, "Execute") != 0)
        return 0;
    if (phase == PROVOST_PHASE_PREPARE)
        return prepare_execute(k);
    if (phase == PROVOST_PHASE_COMMIT)
        return commit_execute(k);
    return rollback_execute(k);
}
