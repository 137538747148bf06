/*
 * journal.h -- the write-ahead transaction journal (SPEC §6), in the database's journal
 * column family.  A record's key is the transaction id followed by a big-endian sequence
 * number, so appending never reads or copies earlier records and a transaction's records
 * are contiguous: finishing it deletes one key range.
 */
#ifndef PVM_JOURNAL_H
#define PVM_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provost/provost.h" /* enum provost_sync: the journal syncs as the engine was opened */

struct pvm_db;

enum pvm_jtype {
    PVM_J_BEGIN = 1,
    PVM_J_INTENT = 2,      /* before a write/twoPhase call: durable before it */
    PVM_J_DONE = 3,        /* the call succeeded: its rollback key/values */
    PVM_J_FAILED = 4,      /* the call failed: never rolled back */
    PVM_J_PREPARED = 5,
    PVM_J_COMMIT = 6,      /* every prepare succeeded: the transaction commits */
    PVM_J_COMMITTED = 7,
    PVM_J_ROLLEDBACK = 8,
    PVM_J_STUCK = 9,       /* compensation or commit failed after its retries */
    PVM_J_QUEUED = 10,     /* a job queued suspended: activated on commit, deleted on rollback */
    PVM_J_ROLLBACK = 11    /* the decision to roll back after a failed write (it overrides COMMIT) */
};

typedef struct pvm_journal pvm_journal;

/* The journal of one transaction as the engine writes it. */
typedef struct pvm_jtxn {
    char txid[40];
    uint32_t next;       /* next sequence number */
    bool begun;          /* BEGIN written */
    bool sensitive_key;  /* key holds a per-transaction key */
    unsigned char key[32];
    bool broken;         /* a write failed: compensations wait until the journal takes one again */
    bool decided;        /* COMMIT is durable: the END need not be (recovery finishes the commit) */
    const char *client;  /* clientTransactionId, or NULL */
    const char *outcome_key; /* journaled in BEGIN, recorded with the end or with STUCK
                              * (exactly-once submission), or NULL */
    const struct pvm_db_op *extra; /* put in the end's write too (audit records), or NULL */
    size_t nextra;
} pvm_jtxn;

/* A call as recovery and `txn list` see it. */
typedef struct pvm_jcall {
    uint32_t seq, exec_id;
    int type;                 /* provost_proc_type */
    char *ns, *proc, *provider;
    char *data;               /* executeData saved for rollback (decrypted), or NULL */
    char **kv;                /* rollback key/values (decrypted) */
    size_t nkv;
    bool done, failed, prepared, committed, rolled_back;
} pvm_jcall;

typedef struct pvm_jview {
    char txid[40];
    char *client;
    char *outcome_key;        /* the submission's key (its outcome is recorded with the end), or NULL */
    uint64_t began;           /* ns since the epoch */
    pvm_jcall *calls;         /* in call order */
    size_t ncalls;
    bool commit_decided;
    bool rollback_decided;    /* ROLLBACK: a COMMIT whose write was reported failed does not count */
    char *stuck;              /* why it is stuck, or NULL */
    char *error;              /* a record that could not be read, or NULL */
    char **queued;            /* ids of jobs queued suspended */
    size_t nqueued;
    uint32_t next;            /* the sequence number a new record would get */
    bool has_key;
    unsigned char key[32];    /* the transaction key, unwrapped */
} pvm_jview;

/* Continue writing a transaction found by pvm_journal_scan (recovery, resolve). */
void pvm_journal_resume(const pvm_jview *v, pvm_jtxn *t);

pvm_journal *pvm_journal_open(struct pvm_db *db, int sync, char *err, size_t errlen);
/* The database's master key, as the journal read (or made) it at open. */
const struct pvm_masterkey *pvm_journal_masterkey(const pvm_journal *j);
void pvm_journal_close(pvm_journal *j);
void pvm_journal_set_sync(pvm_journal *j, int sync);
/* Syncs of the log made since the journal opened (fsyncs, or with RocksDB's write groups
 * synced writes), and journal writes. */
unsigned long pvm_journal_syncs(pvm_journal *j);
unsigned long pvm_journal_writes(pvm_journal *j);
/* From now on the journal's syncs and writes are also published in c's engine-wide
 * counters (provost_journal_syncs_total, provost_journal_writes_total), which
 * `provost stats` reads from another process. */
struct pvm_counters;
void pvm_journal_publish(pvm_journal *j, struct pvm_counters *c);
/* What an operator should know about the master key after a scan (transactions that need
 * another key, a key missing or readable by others), one line; NULL when nothing.  The
 * text lives until the next call. */
const char *pvm_journal_warning(pvm_journal *j);

/* From now on records and outcomes go to s (provost/jstore.h), while nothing runs. */
struct provost_jstore;
void pvm_journal_attach(pvm_journal *j, const struct provost_jstore *s);
bool pvm_journal_external(const pvm_journal *j);
/* With a store attached: the outcome under key, as provost_outcome. */
int pvm_journal_outcome(pvm_journal *j, const char *key, char **val);

/* Appends (0, or -1 with err): each follows the sync mode except where said. */
int pvm_journal_intent(pvm_journal *j, pvm_jtxn *t, bool sensitive, uint32_t exec_id, int type, const char *ns,
                       const char *proc, const char *provider, const char *data, uint32_t *seq, char *err,
                       size_t errlen);
int pvm_journal_done(pvm_journal *j, pvm_jtxn *t, uint32_t intent, char *const *kv, size_t nkv, char *err,
                     size_t errlen);
int pvm_journal_mark(pvm_journal *j, pvm_jtxn *t, int type, uint32_t intent, char *err, size_t errlen);
/* STUCK and (with an outcome key) the outcome, in one atomic write: the transaction stays
 * for an operator, its submission is finished. */
int pvm_journal_stuck(pvm_journal *j, pvm_jtxn *t, const char *reason, const char *outcome, char *err,
                      size_t errlen);
int pvm_journal_queued(pvm_journal *j, pvm_jtxn *t, const char *job, char *err, size_t errlen);
/* The transaction is finished: its records go, and (with an outcome key) its outcome is
 * recorded in the same atomic write, with t's extra puts.  Nothing is written for a
 * transaction that journaled nothing and has no outcome key (its extra puts included). */
int pvm_journal_end(pvm_journal *j, pvm_jtxn *t, const char *outcome, char *err, size_t errlen);

/* Every unfinished transaction, oldest first.  Free with pvm_journal_views_free. */
int pvm_journal_scan(pvm_journal *j, pvm_jview **out, size_t *n, char *err, size_t errlen);
void pvm_journal_views_free(pvm_jview *v, size_t n);

#endif
