/*
 * db.c -- opening the engine's RocksDB database with all its column families (creating
 * the database and any missing family), and the few operations the rest of the VM needs.
 * Configuration writes are synced: a registered namespace survives a power loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rocksdb/c.h>

#include "vm/db.h"

static const char *const cf_names[PVM_CF__COUNT] = {"namespaces", "journal", "audit", "queue", "config", "outcomes"};

struct pvm_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wsync;
    rocksdb_writeoptions_t *wnosync;
    char *path;
    rocksdb_readoptions_t *ropts;
    rocksdb_column_family_handle_t **handles; /* all families opened, ours mapped below */
    size_t nhandles;
    rocksdb_column_family_handle_t *cf[PVM_CF__COUNT];
};

static void set_err(char *err, size_t errlen, const char *what, char *rerr)
{
    snprintf(err, errlen, "%s: %s", what, rerr ? rerr : "unknown error");
    free(rerr);
}

pvm_db *pvm_db_open(const char *path, bool *created, char *err, size_t errlen)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", path);
    struct stat st;
    *created = stat(current, &st) != 0;

    pvm_db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(d->opts, 1);
    rocksdb_options_set_create_missing_column_families(d->opts, 1);
    rocksdb_options_set_info_log_level(d->opts, 4 /* fatal only: no LOG chatter */);
    rocksdb_options_set_keep_log_file_num(d->opts, 2);
    /* Small memtables (the default is 64 MiB per column family): journal records live for one
     * transaction and outcomes are small, so big ones only hold memory, and a long batch
     * would fill several.  4 MiB keeps an engine's memory flat whatever it has run. */
    rocksdb_options_set_write_buffer_size(d->opts, (size_t)4 << 20);

    /* Open every family the database has, plus ours. */
    char *rerr = NULL;
    size_t nexisting = 0;
    char **existing = *created ? NULL : rocksdb_list_column_families(d->opts, path, &nexisting, &rerr);
    if (rerr) {
        set_err(err, errlen, path, rerr);
        if (existing) /* an empty list, allocated even on failure */
            rocksdb_list_column_families_destroy(existing, nexisting);
        pvm_db_close(d);
        return NULL;
    }
    size_t cap = nexisting + PVM_CF__COUNT + 1;
    const char **names = calloc(cap, sizeof *names);
    const rocksdb_options_t **copts = calloc(cap, sizeof *copts);
    d->handles = calloc(cap, sizeof *d->handles);
    if (!names || !copts || !d->handles) {
        snprintf(err, errlen, "out of memory");
        free(names);
        free(copts);
        if (existing)
            rocksdb_list_column_families_destroy(existing, nexisting);
        pvm_db_close(d);
        return NULL;
    }
    size_t n = 0;
    names[n++] = "default";
    for (size_t i = 0; i < nexisting; i++)
        if (strcmp(existing[i], "default") != 0)
            names[n++] = existing[i];
    for (int c = 0; c < PVM_CF__COUNT; c++) {
        bool have = false;
        for (size_t i = 0; i < n && !have; i++)
            have = strcmp(names[i], cf_names[c]) == 0;
        if (!have)
            names[n++] = cf_names[c];
    }
    for (size_t i = 0; i < n; i++)
        copts[i] = d->opts;
    d->db = rocksdb_open_column_families(d->opts, path, (int)n, names, copts, d->handles, &rerr);
    d->nhandles = d->db ? n : 0;
    if (d->db)
        for (int c = 0; c < PVM_CF__COUNT; c++)
            for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], cf_names[c]) == 0)
                    d->cf[c] = d->handles[i];
    free(names);
    free(copts);
    if (existing)
        rocksdb_list_column_families_destroy(existing, nexisting);
    if (!d->db) {
        set_err(err, errlen, path, rerr);
        pvm_db_close(d);
        return NULL;
    }
    d->wsync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wsync, 1);
    d->wnosync = rocksdb_writeoptions_create();
    d->path = strdup(path);
    d->ropts = rocksdb_readoptions_create();
    return d;
}

void pvm_db_close(pvm_db *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->nhandles; i++)
        rocksdb_column_family_handle_destroy(d->handles[i]);
    free(d->handles);
    if (d->db)
        rocksdb_close(d->db);
    if (d->wsync)
        rocksdb_writeoptions_destroy(d->wsync);
    if (d->wnosync)
        rocksdb_writeoptions_destroy(d->wnosync);
    free(d->path);
    if (d->ropts)
        rocksdb_readoptions_destroy(d->ropts);
    if (d->opts)
        rocksdb_options_destroy(d->opts);
    free(d);
}

int pvm_db_put(pvm_db *d, int cf, const char *key, size_t klen, const void *val, size_t vlen, char *err,
               size_t errlen)
{
    char *rerr = NULL;
    rocksdb_put_cf(d->db, d->wsync, d->cf[cf], key, klen, val, vlen, &rerr);
    if (rerr) {
        set_err(err, errlen, "database write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_delete(pvm_db *d, int cf, const char *key, size_t klen, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_delete_cf(d->db, d->wsync, d->cf[cf], key, klen, &rerr);
    if (rerr) {
        set_err(err, errlen, "database delete failed", rerr);
        return -1;
    }
    return 0;
}

char *pvm_db_get(pvm_db *d, int cf, const char *key, size_t klen, size_t *vlen, char *err, size_t errlen)
{
    char *rerr = NULL;
    *vlen = 0;
    char *v = rocksdb_get_cf(d->db, d->ropts, d->cf[cf], key, klen, vlen, &rerr);
    if (rerr) {
        set_err(err, errlen, "database read failed", rerr);
        return NULL;
    }
    return v;
}

int pvm_db_each(pvm_db *d, int cf, pvm_db_each_fn fn, void *ud, char *err, size_t errlen)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(d->db, d->ropts, d->cf[cf]);
    int rc = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        rc = fn(ud, k, kl, v, vl);
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) {
        set_err(err, errlen, "database read failed", rerr);
        return -1;
    }
    return rc;
}

int pvm_db_append(pvm_db *d, int cf, const char *key, size_t klen, const void *val, size_t vlen, int sync,
                  char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_put_cf(d->db, sync ? d->wsync : d->wnosync, d->cf[cf], key, klen, val, vlen, &rerr);
    if (rerr) {
        set_err(err, errlen, "journal write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_end(pvm_db *d, int cf_range, const char *from, size_t flen, const char *to, size_t tlen, int cf_put,
               const char *okey, size_t oklen, const char *oval, size_t ovlen, int sync, char *err, size_t errlen)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    if (from)
        rocksdb_writebatch_delete_range_cf(b, d->cf[cf_range], from, flen, to, tlen);
    if (okey)
        rocksdb_writebatch_put_cf(b, d->cf[cf_put], okey, oklen, oval, ovlen);
    char *rerr = NULL;
    rocksdb_write(d->db, sync ? d->wsync : d->wnosync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        set_err(err, errlen, "journal write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_append_with(pvm_db *d, int cf, const char *key, size_t klen, const void *val, size_t vlen, int cf_put,
                       const char *okey, size_t oklen, const char *oval, size_t ovlen, int sync, char *err,
                       size_t errlen)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(b, d->cf[cf], key, klen, val, vlen);
    if (okey)
        rocksdb_writebatch_put_cf(b, d->cf[cf_put], okey, oklen, oval, ovlen);
    char *rerr = NULL;
    rocksdb_write(d->db, sync ? d->wsync : d->wnosync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        set_err(err, errlen, "journal write failed", rerr);
        return -1;
    }
    return 0;
}

const char *pvm_db_path(const pvm_db *d)
{
    return d->path;
}
