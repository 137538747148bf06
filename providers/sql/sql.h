/*
 * sql.h -- the sql provider's internals, shared by its files: the configuration a call
 * reads from providerContext, the connection pool, the per-transaction database
 * transactions, and the two backends (SQLite, PostgreSQL) behind one small interface.
 */
#ifndef SQL_H
#define SQL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "provost/provider.h"

/* HRESULTs the provider reports (docs/providers/sql.md has the table). */
#define SQ_E_NOTFOUND      0x80070002u /* no such procedure / table / column */
#define SQ_E_PATH          0x80070003u /* the SQLite file's directory does not exist */
#define SQ_E_ACCESS        0x80070005u
#define SQ_E_INVALIDDATA   0x8007000Du /* not null, check, foreign key, bad value */
#define SQ_E_OUTOFMEMORY   0x8007000Eu
#define SQ_E_DISKFULL      0x80070070u
#define SQ_E_EXISTS        0x800700B7u /* unique violation */
#define SQ_E_IO            0x8007045Du
#define SQ_E_DEADLOCK      0x8007046Bu /* deadlock, serialization failure */
#define SQ_E_UNREACHABLE   0x800704CFu
#define SQ_E_CORRUPT       0x80070570u
#define SQ_E_TIMEOUT       0x800705B4u

enum sq_driver { SQ_SQLITE = 1, SQ_PG = 2 };

/* providerContext, read for each call. */
typedef struct sq_conf {
    int driver;
    char *target;        /* path (SQLite) or conninfo (PostgreSQL) */
    char *credential;    /* names a secret, never holds one */
    char *password_file;
    int timeout_ms;
    int pool_size;
    char *key;           /* what identifies a pool of connections: all of the above */
} sq_conf;

/* A statement's parameters, from executeData/param@name (values may be secret). */
typedef struct sq_param {
    char *name;
    char *value; /* NULL: SQL NULL */
} sq_param;

typedef struct sq_params {
    sq_param *v;
    size_t n;
} sq_params;

/* What one call is: for messages (never with parameter values) and the services. */
typedef struct sq_call {
    provost_pcall *c;
    const char *proc;
    sq_conf conf;
    const sq_params *params; /* redacted from backend messages */
    const char *also;        /* ExecuteWithUndo's undo: params it takes are not unused */
    char what[200];          /* the statement, shortened, for messages */
    int quiet;               /* a clean-up after a failure: keep the failure's description */
} sq_call;

/* One connection, owned by the pool or lent to one call or one database transaction. */
typedef struct sq_conn {
    struct sq_conn *next;
    struct sq_target *target;
    void *handle;  /* sqlite3 * or PGconn * */
    int broken;    /* closed instead of going back to the pool */
    int locked;    /* PostgreSQL: holds the advisory lock of a Provost transaction */
} sq_conn;

/* The pool of connections to one database. */
typedef struct sq_target {
    struct sq_target *next;
    char *key;
    int driver;
    int open;       /* connections that exist, idle or lent */
    sq_conn *idle;
} sq_target;

typedef struct sq_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sq_target *targets;
} sq_pool;

/* One database transaction of a Provost transaction (calls of Execute on one database
 * share it), kept in the provider's per-transaction state. */
enum sq_open_state { SQ_OPEN, SQ_PREPARED, SQ_COMMITTED, SQ_ENDED, SQ_BROKEN };

typedef struct sq_open {
    struct sq_open *next;
    char *key;
    int driver;
    sq_conn *conn; /* NULL once ended */
    char gid[96];  /* provost:<txid>:<n> */
    int state;
} sq_open;

typedef struct sq_txn {
    sq_open *opens;
} sq_txn;

/* A statement's rows and counts, as the procedures need them. */
typedef struct sq_first {
    int want;       /* capture the first row */
    int have;
    size_t n;
    char **names;
    char **values;  /* NULL entries: SQL NULL */
} sq_first;

/* ---- sql.c: helpers ---- */
uint32_t sq_fail(sq_call *k, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A backend's message, with every parameter value of four characters or more masked. */
void sq_redact(const sq_call *k, const char *msg, char *out, size_t outlen);
/* Add a <row> with <col name=…> children under PARENT. */
int sq_add_row(xmlNodePtr parent, size_t ncols, const char *const *names, const char *const *values,
               const size_t *lens);
int sq_first_set(sq_first *f, size_t ncols, const char *const *names, const char *const *values);
void sq_first_free(sq_first *f);
/* The length of the quoted string, comment or dollar-quoted text starting at P, or 0. */
size_t sq_skip_quoted(const char *sql, const char *p);
/* The next :name at or after *P outside quotes and comments (a :: cast is not one): the
 * name (after the colon) and its length, *P moved past it; NULL at the end. */
const char *sq_next_name(const char *sql, const char **p, size_t *len);
/* Is NAME a :name of k->also? */
int sq_used_elsewhere(const sq_call *k, const char *name);
/* Is the statement (after leading space and comments) transaction control? */
int sq_is_txn_control(const char *sql);

/* ---- pool (sql_pool.c) ---- */
int sq_pool_init(sq_pool *p);
void sq_pool_fini(sq_pool *p);
uint32_t sq_acquire(sq_call *k, sq_conn **out, int *reused);
void sq_release(sq_call *k, sq_conn *conn);

/* ---- backends ---- */
/* Open a connection (handle in conn->handle); the code after sq_fail on failure. */
uint32_t sq_lite_connect(sq_call *k, sq_conn *conn);
void sq_lite_close(sq_conn *conn);
/* Run one statement; rows under ROWS (when not NULL), the first captured in FIRST. */
uint32_t sq_lite_exec(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                      long long *affected);
uint32_t sq_lite_simple(sq_call *k, sq_conn *conn, const char *sql);
int sq_lite_in_txn(sq_conn *conn);

uint32_t sq_pg_connect(sq_call *k, sq_conn *conn);
void sq_pg_close(sq_conn *conn);
uint32_t sq_pg_exec(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                    long long *affected);
uint32_t sq_pg_simple(sq_call *k, sq_conn *conn, const char *sql);
/* The Provost transaction's advisory lock: taken while a connection works for it, so that
 * recovery waits for a session that died mid-command before it looks at what is prepared. */
uint32_t sq_pg_lock(sq_call *k, sq_conn *conn, const char *txid, int lock);
/* The lock of TXID (NULL: none), BEGIN and the first statement of a database transaction,
 * in one round trip; *BEGUN when the transaction is open (to be ended). */
uint32_t sq_pg_begin_exec(sq_call *k, sq_conn *conn, const char *txid, const char *sql, xmlNodePtr rows,
                          long long *affected, int *begun);
/* SAVEPOINT, the statement, RELEASE SAVEPOINT in one round trip: the statement inside an
 * open transaction, which a failure leaves to be rolled back to the savepoint. */
uint32_t sq_pg_exec_saved(sq_call *k, sq_conn *conn, const char *sql, xmlNodePtr rows, sq_first *first,
                          long long *affected);
/* ROLLBACK (when ROLLBACK) and the release of TXID's lock (when held), in one round trip. */
uint32_t sq_pg_end(sq_call *k, sq_conn *conn, const char *txid, int rollback);
/* PREPARE TRANSACTION GID and the release of TXID's lock (when held), in one round trip. */
uint32_t sq_pg_prepare(sq_call *k, sq_conn *conn, const char *gid, const char *txid);
uint32_t sq_pg_finish_prepared(sq_call *k, sq_conn *conn, const char *gid, int commit);
/* Commit or roll back every transaction prepared for TXID in this database by this user. */
uint32_t sq_pg_resolve(sq_call *k, sq_conn *conn, const char *txid, int commit);
int sq_pg_conn_lost(sq_conn *conn);

/* ---- procedures (sql_proc.c) ---- */
uint32_t sq_process(sq_call *k, xmlDocPtr execute_xml);
uint32_t sq_phase(sq_call *k, xmlDocPtr execute_xml, int phase);
void sq_txn_free(sq_txn *t);

#endif
