/*
 * db.h -- the engine's RocksDB database: one database per engine, one column family per
 * concern (namespaces, journal, audit, queue, config).
 */
#ifndef PVM_DB_H
#define PVM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pvm_db pvm_db;

enum pvm_cf {
    PVM_CF_NAMESPACES = 0,
    PVM_CF_JOURNAL,
    PVM_CF_AUDIT,
    PVM_CF_QUEUE,
    PVM_CF_CONFIG,
    PVM_CF_OUTCOMES, /* outcomes of requests submitted with a key (exactly-once batches) */
    PVM_CF_QUEUE_INDEX, /* the queue's due, started and retry indexes (vm/jobs.h) */
    PVM_CF__COUNT
};

pvm_db *pvm_db_open(const char *path, bool *created, char *err, size_t errlen);
/* Every record of the database's write-ahead logs whole (vm/walcheck.c): 0, or -1 with a
 * sentence naming the damaged log. */
int pvm_wal_check(const char *path, char *err, size_t errlen);
/* salvage: replay the write-ahead log around damaged records instead of refusing it. */
pvm_db *pvm_db_open_ex(const char *path, bool salvage, bool *created, char *err, size_t errlen);
/* The database as it is at this moment, for reading only, without its lock: another
 * process may hold it open and keep writing (what it writes later is not seen).  Every
 * write fails. */
pvm_db *pvm_db_open_read_only(const char *path, char *err, size_t errlen);
void pvm_db_close(pvm_db *db);

/* Durable writes (synced): 0 or -1 with a reason. */
int pvm_db_put(pvm_db *db, int cf, const char *key, size_t klen, const void *val, size_t vlen,
               char *err, size_t errlen);
int pvm_db_delete(pvm_db *db, int cf, const char *key, size_t klen, char *err, size_t errlen);
/* Returns a malloc'd value (or NULL with *vlen 0 when absent, NULL with err set on failure). */
char *pvm_db_get(pvm_db *db, int cf, const char *key, size_t klen, size_t *vlen, char *err, size_t errlen);

/* Journal writes: sync 1 waits for the WAL to reach the disk (concurrent writers share the
 * fsync: RocksDB's write groups), 0 does not. */
int pvm_db_append(pvm_db *db, int cf, const char *key, size_t klen, const void *val, size_t vlen, int sync,
                  char *err, size_t errlen);
/* Syncs the write-ahead log: every write that returned before the call is on disk after it
 * (0), or -1 with a reason.  Writes made meanwhile by other threads may or may not be. */
int pvm_db_sync_wal(pvm_db *db, char *err, size_t errlen);
/* One write of a batch: val NULL deletes key. */
typedef struct pvm_db_op {
    int cf;
    const char *key;
    size_t klen;
    const void *val;
    size_t vlen;
} pvm_db_op;
/* A transaction's end: delete [from, to) of cf_range, when okey is given put okey = oval in
 * cf_put, and put every one of extra -- in one atomic write. */
int pvm_db_end(pvm_db *db, int cf_range, const char *from, size_t flen, const char *to, size_t tlen, int cf_put,
               const char *okey, size_t oklen, const char *oval, size_t ovlen, const pvm_db_op *extra, size_t nextra,
               int sync, char *err, size_t errlen);
/* A journal record (key = val in cf) and, when okey is given, okey = oval in cf_put -- in
 * one atomic write. */
int pvm_db_append_with(pvm_db *db, int cf, const char *key, size_t klen, const void *val, size_t vlen, int cf_put,
                       const char *okey, size_t oklen, const char *oval, size_t ovlen, int sync, char *err,
                       size_t errlen);
/* 0 while the database's directory is the one opened, -1 with a reason once it was removed
 * or replaced (RocksDB's writes to the unlinked files go on succeeding). */
int pvm_db_check(pvm_db *db, char *err, size_t errlen);
/* A number no other open of a database in this process has: what a cache of its contents
 * is valid for. */
uint64_t pvm_db_serial(const pvm_db *db);
/* Where the database lives (for files beside it, such as the master key). */
const char *pvm_db_path(const pvm_db *db);

typedef int (*pvm_db_each_fn)(void *ud, const char *key, size_t klen, const char *val, size_t vlen);
/* Calls fn for every key of cf in order; stops early when fn returns non-zero (returned). */
int pvm_db_each(pvm_db *db, int cf, pvm_db_each_fn fn, void *ud, char *err, size_t errlen);
/* The same for the keys in [from, to) only: it seeks to from (NULL: the first key) and reads
 * nothing at or past to (NULL: the last key). */
int pvm_db_range(pvm_db *db, int cf, const char *from, size_t flen, const char *to, size_t tlen, pvm_db_each_fn fn,
                 void *ud, char *err, size_t errlen);
/* Deletes the keys in [from, to) of cf (synced) and compacts that range, so that the space
 * they took is given back. */
int pvm_db_delete_range(pvm_db *db, int cf, const char *from, size_t flen, const char *to, size_t tlen, char *err,
                        size_t errlen);

/* The n writes in one atomic batch (synced when sync): 0 or -1 with a reason. */
int pvm_db_write(pvm_db *db, const pvm_db_op *ops, size_t n, int sync, char *err, size_t errlen);

/* An iterator over cf, for several seeks on one view of the database (creating one costs
 * more than a seek). */
typedef struct pvm_db_iter pvm_db_iter;
pvm_db_iter *pvm_db_iter_new(pvm_db *db, int cf);
/* The first key >= from: 1 found (*key and *klen valid until the next call), 0 none,
 * -1 error (err). */
int pvm_db_iter_seek(pvm_db_iter *it, const char *from, size_t flen, const char **key, size_t *klen, char *err,
                     size_t errlen);
void pvm_db_iter_free(pvm_db_iter *it);
#endif
