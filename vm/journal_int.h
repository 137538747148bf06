/*
 * journal_int.h -- what the journal's writer (journal.c) and its reader (journal_read.c)
 * share: the journal itself, and the one look the open makes into the records.
 */
#ifndef PVM_JOURNAL_INT_H
#define PVM_JOURNAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "gsync.h"
#include "journal.h"
#include "provost/jstore.h"
#include "seal.h"

struct pvm_counters;

struct pvm_journal {
    pvm_db *db;
    int sync;
    pthread_mutex_t serial; /* sync=always: one write at a time */
    pvm_masterkey mk;
    atomic_size_t need_key;   /* transactions the last scan found sealed under another key */
    char warning[8600];
    atomic_ulong writes;    /* for the test hooks */
    atomic_ulong synced;    /* writes synced on their own (always, or RocksDB's groups) */
    bool rocksdb_groups;    /* group: synced writes grouped by RocksDB, not gsync */
    pvm_gsync gs;           /* group: shared syncs */
    unsigned long crash_point, fail_at, full_from, sync_fail_at;
    struct pvm_counters *pub; /* where the syncs and writes are published, or NULL */
    atomic_bool pub_taken;    /* their slots are taken (at the first write: taking them makes
                               * the counters file, which an engine that writes nothing
                               * leaves as the last one that did) */
    atomic_int pub_syncs, pub_writes;
    bool external;          /* records and outcomes go to store, not to db */
    provost_jstore store;
};

/* pvm_db_each: stops (1) at the first BEGIN that carries a sealed transaction key, setting
 * *(bool *)ud. */
int pvm_jr_is_sealed(void *ud, const char *key, size_t klen, const char *val, size_t vlen);

#endif
