/*
 * jstore.h -- where an engine's write-ahead journal lives.  An engine journals in its own
 * database (RocksDB) unless a store is attached: a cluster worker attaches one that keeps
 * the journal in the cluster's PostgreSQL, so that a worker that dies forever leaves its
 * transactions where another worker can finish them.  A store keeps opaque records and
 * outcomes; the engine encodes and reads them (vm/journal.c, vm/journal_read.c), so both
 * stores hold the same records and recovery reads either the same way.
 */
#ifndef PROVOST_JSTORE_H
#define PROVOST_JSTORE_H

#include <stddef.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A record's key: the transaction's 38-character id, then its sequence number (4 bytes,
 * big-endian).  A transaction's records are appended in sequence order. */
#define PROVOST_JSTORE_KEY 42

typedef int (*provost_jstore_each_fn)(void *ud, const char *key, size_t klen, const char *val, size_t vlen);

typedef struct provost_jstore {
    void *ctx;
    /* Appends a record; with okey, puts the outcome okey = oval in the same atomic write.
     * durable: on 0 the record, and every record appended before it, survives a crash of
     * the process and of the machine.  A record appended without it may be lost with a
     * crash, but never survives while an earlier record is lost.  0, or -1 with err. */
    int (*append)(void *ctx, const char *key, size_t klen, const char *val, size_t vlen, const char *okey,
                  const char *oval, int durable, char *err, size_t errlen);
    /* Ends transaction txid (38 characters; NULL: it journaled nothing): its records go
     * and, with okey, okey = oval is put -- in one atomic write. */
    int (*end)(void *ctx, const char *txid, const char *okey, const char *oval, int durable, char *err,
               size_t errlen);
    /* Calls fn for every record the engine owns, transaction by transaction in sequence
     * order; stops when fn returns non-zero.  0, or -1 with err. */
    int (*each)(void *ctx, provost_jstore_each_fn fn, void *ud, char *err, size_t errlen);
    /* The outcome put under key: 1 with *val (malloc'd), 0 when there is none, -1 error. */
    int (*outcome)(void *ctx, const char *key, char **val, char *err, size_t errlen);
    /* Durable writes made so far (the journal's syncs), for the counters. */
    unsigned long (*syncs)(void *ctx);
} provost_jstore;

/* From now on e journals in s (which must stay until it is detached: s NULL), and keyed
 * outcomes are read there.
 * Only while nothing runs, and only when e's own journal holds no unfinished transaction
 * (else PROVOST_E_JOURNAL: recover it first).  Audit records of a transaction are still
 * written to e's database, right after its end.  0, or -1 with err. */
int provost_journal_attach(provost_engine *e, const provost_jstore *s, provost_error *err);

#ifdef __cplusplus
}
#endif

#endif
