/*
 * provost.h -- the engine's public API: open a database, manage namespaces, submit
 * requests, read counters.  One engine may be used by many threads at once.  Nothing in
 * the library exits or aborts: every failure comes back as a code and a message.
 */
#ifndef PROVOST_H
#define PROVOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libxml/tree.h>

#include "provost/codes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct provost_engine provost_engine;

/* A failure: an HRESULT-style code and a one-line message. */
typedef struct provost_error {
    uint32_t code;
    char message[1024];
} provost_error;

/* Failure codes (SPEC §7): provost/codes.h. */

/* Journal durability (SPEC §6): group (default) syncs every record and lets concurrent
 * transactions share fsyncs; always syncs each record on its own; none never syncs
 * (survives a process crash, not a power loss). */
enum provost_sync { PROVOST_SYNC_GROUP = 0, PROVOST_SYNC_ALWAYS = 1, PROVOST_SYNC_NONE = 2 };

#define PROVOST_DEFAULT_STEP_BUDGET 100000000u /* see docs/semantics.md */

typedef struct provost_options {
    const char *db_path;        /* database directory (created when missing) */
    int sync;                   /* provost_sync */
    const char *error_map_file; /* Error Provider lookup file (setting errorMapFile) */
    const char *caller;         /* identity of the caller (default: the Unix user) */
    int validate;               /* check executeData against procedures' XSD Schemas (MPF's
                                   "Enable Schema Validation"); failures are 0xC00CE014 */
    uint64_t step_budget;       /* instructions one request may run before it fails with
                                   PROVOST_E_BUDGET (0: PROVOST_DEFAULT_STEP_BUDGET) */
    int salvage;                /* open a database whose write-ahead log is damaged: keep every
                                   record that can be read, finish nothing, and park every
                                   transaction in the journal as stuck for the operator */
    const char *act_as;         /* an administrator acts as this user (provost/rights.h:
                                   provost_act_as); opening fails for anyone else */
    int audit_level;            /* provost_audit_level (provost/audit.h); 0: the database's setting */
    int read_only;              /* read the database as it is now, without taking its lock,
                                   while another process (a worker) has it open: nothing is
                                   recovered, and a change fails */
} provost_options;

/* Opens (creating when missing) the database and recovers every unfinished transaction
 * the journal holds: rolled back newest first, or committed when its commit was decided. */
int provost_open(const provost_options *opts, provost_engine **out, provost_error *err);
void provost_close(provost_engine *e);
/* What an operator should know about the database just opened, as one line (transactions
 * left in the journal because they need a master key that is missing or was changed, a
 * master key other users can read); NULL when nothing.  Valid until provost_close. */
const char *provost_warning(provost_engine *e);
/* 0 while the database directory opened is still in place; -1 (PROVOST_E_JOURNAL) once
 * it was removed or replaced, when nothing written since is durable.  Long runs check it
 * before they report success. */
int provost_check(provost_engine *e, provost_error *err);

/* ---- namespaces ----------------------------------------------------------------------- */

typedef struct provost_ns_info {
    char *name;
    char *version;      /* the namespace's version attribute, or NULL */
    char *provider;     /* providerSource, or NULL */
    char *description;  /* or NULL */
    uint64_t revision;  /* 1 when first registered, +1 on every replacement */
    unsigned procedures;
    int read_only;
} provost_ns_info;

typedef struct provost_proc_info {
    char *name;
    char *description;
    int type;   /* provost_proc_type (bytecode.h): 1 read, 2 write, 3 twoPhase */
    int access; /* 0 private, 1 public */
    unsigned flags; /* PROVOST_PROC_* (bytecode.h) */
} provost_proc_info;

/* Register a namespace from its XML or a compiled bundle (by content).  Replacing an
 * existing namespace is atomic and bumps its revision; a read-only one cannot be
 * replaced.  Compile errors come back as PROVOST_E_INVALIDARG with the diagnostics. */
int provost_register(provost_engine *e, const char *filename, const void *buf, size_t len,
                     provost_ns_info *info, provost_error *err);
int provost_unregister(provost_engine *e, const char *name, provost_error *err);
/* The same for PRINCIPAL (NULL: the engine's principal), who must be a user of the
 * database holding admin, as a front end serving many principals needs.  EXPECT (NULL:
 * any) is the name the namespace must have (without case): another is refused with
 * PROVOST_E_INVALIDARG and info->name set to the name it has. */
int provost_register_as(provost_engine *e, const char *principal, const char *expect, const char *filename,
                        const void *buf, size_t len, provost_ns_info *info, provost_error *err);
int provost_unregister_as(provost_engine *e, const char *principal, const char *name, provost_error *err);
int provost_list(provost_engine *e, provost_ns_info **out, size_t *n, provost_error *err);
int provost_list_procedures(provost_engine *e, const char *ns, provost_proc_info **out, size_t *n,
                            provost_error *err);
/* The original XML the namespace was registered from (malloc'd). */
int provost_export(provost_engine *e, const char *name, char **xml, size_t *len, provost_error *err);
void provost_ns_info_free(provost_ns_info *v, size_t n);
void provost_proc_info_free(provost_proc_info *v, size_t n);

/* ---- requests ------------------------------------------------------------------------- */

typedef struct provost_response {
    char *xml;     /* the response document, serialised (malloc'd) */
    size_t len;
    int failed;    /* the request (or one part of a batch) failed */
    uint32_t code; /* the first failure's code, 0 on success */
    char txid[40]; /* the (last part's) transaction id, "" when none began */
} provost_response;

enum provost_format { PROVOST_COMPACT = 0, PROVOST_PRETTY = 1 };

/* A trusted request (it may carry its own procedure) as XML text.  Returns 0 when the
 * request ran -- resp tells whether it succeeded --, or -1 when it could not run at all
 * (malformed XML: err holds LINE:COL and the reason; resp holds an errorContext). */
int provost_submit(provost_engine *e, const char *xml, size_t len, int format,
                   provost_response *resp, provost_error *err);
int provost_submit_doc(provost_engine *e, xmlDocPtr request, int format, provost_response *resp,
                       provost_error *err);

/* A simple request: call a public procedure.  data is a <data> element or a <request>
 * without <procedure> (so context can be given); NULL/empty means empty data. */
int provost_call(provost_engine *e, const char *ns, const char *proc, const char *data, size_t len,
                 int format, provost_response *resp, provost_error *err);

/* Exactly-once submission (resumable batches): the request's outcome is recorded under key
 * atomically with its transaction's end, whoever ends it (recovery records "failed" with
 * PROVOST_E_ABORTED for a request that was running when its process died).  If key already has an outcome, nothing runs:
 * the call returns 1 with resp->failed and resp->code from it and resp->xml NULL.  A
 * request with several data records each part under "KEY#N" (N from 1), but only KEY is
 * checked before it runs: give such a request one key per part by splitting it (as
 * provost batch does). */
int provost_submit_keyed(provost_engine *e, const char *key, const char *xml, size_t len, int format,
                         provost_response *resp, provost_error *err);
int provost_submit_doc_keyed(provost_engine *e, const char *key, xmlDocPtr request, int format,
                             provost_response *resp, provost_error *err);
int provost_call_keyed(provost_engine *e, const char *key, const char *ns, const char *proc, const char *data,
                       size_t len, int format, provost_response *resp, provost_error *err);
/* The recorded outcome of key ("committed|failed|stuck 0xCODE {TXID}", malloc'd):
 * 1 found, 0 none, -1 error. */
int provost_outcome(provost_engine *e, const char *key, char **outcome);

/* How one request runs, for a front end serving many principals on one engine (the HTTP
 * service): the request runs for PRINCIPAL -- its rights decide what it may do, and the
 * audit trail names it -- instead of the engine's principal (provost_principal_name).
 * A principal that is not a user of the database is refused with PROVOST_E_ACCESSDENIED,
 * as a request, even while no right is enforced.  KEY, when not NULL, makes the
 * submission exactly-once as provost_submit_keyed does (returning 1 when KEY already has
 * an outcome).  FORMAT is a provost_format. */
typedef struct provost_request_opts {
    const char *principal; /* NULL: the engine's principal, as provost_submit */
    const char *key;
    int format;
    int fresh; /* the key was never used before: run without looking for its outcome */
} provost_request_opts;
int provost_submit_as(provost_engine *e, const provost_request_opts *o, const char *xml, size_t len,
                      provost_response *resp, provost_error *err);
int provost_call_as(provost_engine *e, const provost_request_opts *o, const char *ns, const char *proc,
                    const char *data, size_t len, provost_response *resp, provost_error *err);

void provost_response_free(provost_response *r);

/* ---- transactions (SPEC §6) ------------------------------------------------------------ */

typedef struct provost_txn_step {
    char *ns, *proc;
    int type;            /* provost_proc_type */
    uint32_t exec_id;    /* procedureExecId */
    int state;           /* provost_call_state */
} provost_txn_step;

enum provost_call_state {
    PROVOST_CALL_INTENDED = 0,  /* journaled; the call's outcome is unknown */
    PROVOST_CALL_DONE = 1,
    PROVOST_CALL_FAILED = 2,
    PROVOST_CALL_PREPARED = 3,
    PROVOST_CALL_COMMITTED = 4,
    PROVOST_CALL_ROLLEDBACK = 5
};

typedef struct provost_txn_info {
    char id[40];
    char *client;        /* clientTransactionId, or NULL */
    uint64_t began;      /* ns since the epoch */
    int commit_decided;
    char *stuck;         /* why it is stuck, or NULL */
    provost_txn_step *steps;
    size_t nsteps;
} provost_txn_info;

typedef struct provost_recovery {
    size_t rolled_back, committed, stuck;
} provost_recovery;

/* Finish every unfinished transaction again (what opening does); stuck ones are left. */
int provost_recover(provost_engine *e, provost_recovery *out, provost_error *err);
/* The transactions the journal holds (running, or stuck). */
int provost_txn_list(provost_engine *e, provost_txn_info **out, size_t *n, provost_error *err);
void provost_txn_info_free(provost_txn_info *v, size_t n);
/* An operator finishes a stuck transaction: retry its compensation (or commit), or declare
 * it rolled back by hand (its records are removed). */
enum provost_resolution { PROVOST_RESOLVE_RETRY = 0, PROVOST_RESOLVE_ROLLEDBACK = 1 };
int provost_txn_resolve(provost_engine *e, const char *id, int how, provost_error *err);

/* ---- counters (SPEC §9) --------------------------------------------------------------- */

/* The bounds (ns) of the histogram every procedure's call durations are counted in, exactly
 * (not derived from the percentile histogram): 100 us .. 60 s.  A call of exactly a bound's
 * duration counts in that bound's bucket, as Prometheus' `le` says. */
#define PROVOST_LATENCY_BOUNDS 12
extern const uint64_t provost_latency_bounds_ns[PROVOST_LATENCY_BOUNDS];

typedef struct provost_proc_stats {
    char *ns, *proc;
    int perf_enabled;
    uint64_t count, succeeded, failed, in_doubt;
    int64_t executing;
    double rate; /* calls per second over the last 10 s */
    /* latency in microseconds */
    double p50, p90, p99, p999, max, mean;
    /* calls by duration: latency[i] took at most provost_latency_bounds_ns[i] and more than
     * the bound before (not cumulative); the last, longer than every bound */
    uint64_t latency[PROVOST_LATENCY_BOUNDS + 1];
    uint64_t latency_sum_ns; /* the durations of the calls counted, summed */
} provost_proc_stats;

/* Every procedure that has run since the engine opened (nested calls included). */
int provost_stats(provost_engine *e, provost_proc_stats **out, size_t *n, provost_error *err);
void provost_stats_free(provost_proc_stats *v, size_t n);
/* Syncs of the journal's log (fsyncs; with PROVOST_GROUP_COMMIT=rocksdb, synced writes,
 * which RocksDB may merge) and journal writes made since the engine opened: what a
 * request's durability costs (docs/transactions.md says which records are synced). */
uint64_t provost_journal_syncs(provost_engine *e);
uint64_t provost_journal_writes(provost_engine *e);

/* ---- credentials (SPEC §8) ----------------------------------------------------------- */

/* A credential as listed: never its secret. */
typedef struct provost_credential {
    char *name, *user;
    int64_t updated; /* seconds since the epoch */
} provost_credential;

/* Stores (or replaces) credential NAME (letters, digits, '.', '_', '-'; at most 128) for
 * USER, its SECRET sealed under the database's master key.  Providers receive it through
 * provost_secret when their providerContext says credential="NAME".  No function returns
 * the secret, and no message carries it. */
int provost_credential_set(provost_engine *e, const char *name, const char *user, const char *secret,
                           provost_error *err);
int provost_credential_remove(provost_engine *e, const char *name, provost_error *err);
/* Every credential, in name order. */
int provost_credential_list(provost_engine *e, provost_credential **out, size_t *n, provost_error *err);
void provost_credential_list_free(provost_credential *v, size_t n);

/* ---- bundles (no engine needed) ------------------------------------------------------- */

/* Does BUF (LEN bytes) start as a bundle does (by its magic)? */
int provost_is_bundle(const void *buf, size_t len);

/* Checks the bundle in BUF and prints every procedure to OUT the way EXPLAIN prints a
 * program; EXPLAIN set adds each opcode's meaning under it.  Returns 0, or -1 with a
 * one-line reason in ERR when BUF is not a bundle this engine can load. */
int provost_disasm_bundle(const void *buf, size_t len, int explain, FILE *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
