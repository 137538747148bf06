/*
 * db.c -- opening the engine's RocksDB database with all its column families (creating
 * the database and any missing family), and the few operations the rest of the VM needs.
 * Configuration writes are synced: a registered namespace survives a power loss.
 *
 * The write-ahead log is replayed whole or not at all (absolute consistency): RocksDB's
 * default would stop at the first damaged record and silently drop every later one, and
 * a journal record lost that way is a step never compensated.  Errors come back as
 * sentences an operator can act on, naming the damaged file.
 *
 * The database holds journaled executeData and namespace sources: its directory is 0700
 * and its files 0600 whatever the process's umask.  RocksDB creates its files with the
 * umask, so the umask is narrowed while it opens (when it makes most of them), and the
 * files it made since are narrowed again at open and close.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "db.h"

static const char *const cf_names[PVM_CF__COUNT] = {"namespaces", "journal", "audit", "queue", "config", "outcomes",
                                                    "queue_index"};

struct pvm_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wsync;
    rocksdb_writeoptions_t *wnosync;
    char *path;
    dev_t dev; /* the directory opened: still there at the end? */
    ino_t ino;
    rocksdb_readoptions_t *ropts;
    rocksdb_column_family_handle_t **handles; /* all families opened, ours mapped below */
    size_t nhandles;
    rocksdb_column_family_handle_t *cf[PVM_CF__COUNT];
    uint64_t serial; /* this open's number in the process */
    bool read_only;  /* pvm_db_open_read_only: no lock, no writes, files left as they are */
};

/* The write-ahead logs of the database, for naming the damaged one: RocksDB's message
 * about a bad WAL record does not. */
static void wal_names(const char *path, char *out, size_t cap)
{
    out[0] = 0;
    DIR *d = opendir(path);
    if (!d)
        return;
    size_t k = 0;
    for (struct dirent *e; (e = readdir(d)) && k < cap;) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".log") == 0)
            k += (size_t)snprintf(out + k, cap - k, "%s%s/%s", k ? ", " : "", path, e->d_name);
    }
    closedir(d);
}

/* RocksDB's reason rerr (freed) for what failed, as a sentence about the database. */
static void set_err_at(char *err, size_t errlen, const char *path, const char *what, char *rerr)
{
    const char *r = rerr ? rerr : "unknown error";
    path = path ? path : "the database";
    if (strncmp(r, "Corruption: ", 12) == 0) {
        char wals[1024] = "";
        if (!strstr(r, ".sst") && !strstr(r, "MANIFEST"))
            wal_names(path, wals, sizeof wals);
        /* a log can be read around its damaged records (salvage); a table file cannot */
        snprintf(err, errlen,
                 "the database %s is damaged (%s%s%s): nothing was recovered or changed; keep a copy of it, %s", path,
                 r + 12, wals[0] ? " in its write-ahead log " : "", wals,
                 wals[0] ? "then run provost recover --salvage" : "then restore it from a copy");
    } else if (strstr(r, "LOCK") && strstr(r, "lock hold by current process")) {
        snprintf(err, errlen, "the database %s is in use: this process has it open already", path);
    } else if (strstr(r, "LOCK") && strstr(r, "While lock file")) {
        snprintf(err, errlen, "the database %s is in use by another process (one process at a time opens it)", path);
    } else if (strstr(r, "Read-only file system") || strstr(r, "Permission denied")) {
        snprintf(err, errlen, "the database %s cannot be written (%s): it needs a writable directory owned by its user",
                 path, strstr(r, "Read-only file system") ? "read-only file system" : "permission denied");
    } else {
        snprintf(err, errlen, "%s: %s", what, r);
    }
    free(rerr);
}

/* Whether another process holds the database's lock (RocksDB takes a POSIX lock on LOCK). */
static bool lock_held(const char *path)
{
    char lock[4096];
    snprintf(lock, sizeof lock, "%s/LOCK", path);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool held = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return held;
}

/* A file RocksDB makes.  Not master.key: the journal warns about a key others could read
 * rather than hide that it was exposed. */
static bool ours(const char *name)
{
    static const char *const exact[] = {"CURRENT", "IDENTITY", "LOCK", "LOG"};
    static const char *const prefix[] = {"LOG.old.", "MANIFEST-", "OPTIONS-"};
    static const char *const suffix[] = {".log", ".sst", ".blob", ".dbtmp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(name, exact[i]) == 0)
            return true;
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
        if (strncmp(name, prefix[i], strlen(prefix[i])) == 0)
            return true;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
        if (n > strlen(suffix[i]) && strcmp(name + n - strlen(suffix[i]), suffix[i]) == 0)
            return true;
    return false;
}

/* Takes group and other permissions away from the database directory (when it holds a
 * database: never from a directory it was merely put in) and from the files in it. */
static void make_private(const char *path)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", path);
    struct stat st;
    if (stat(current, &st) != 0 || stat(path, &st) != 0)
        return;
    if (st.st_mode & 077)
        chmod(path, st.st_mode & 0700);
    DIR *d = opendir(path);
    if (!d)
        return;
    int fd = dirfd(d);
    for (struct dirent *e; (e = readdir(d));)
        if (ours(e->d_name) && fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mode & 077))
            fchmodat(fd, e->d_name, st.st_mode & 0700, 0);
    closedir(d);
}

static _Atomic uint64_t db_opens; /* a number for each open in the process */

pvm_db *pvm_db_open(const char *path, bool *created, char *err, size_t errlen)
{
    return pvm_db_open_ex(path, false, created, err, errlen);
}

pvm_db *pvm_db_open_ex(const char *path, bool salvage, bool *created, char *err, size_t errlen)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", path);
    struct stat st;
    *created = stat(current, &st) != 0;
    if (*created && mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the database directory %s: %s", path, strerror(errno));
        return NULL;
    }
    /* RocksDB would take some damaged records for the end of the log (see walcheck.c); a
     * log another process is writing is not judged: the open reports it in use */
    if (!*created && !salvage && pvm_wal_check(path, err, errlen) != 0 && !lock_held(path))
        return NULL;

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
    rocksdb_options_set_paranoid_checks(d->opts, 1);
    /* 0: a log's tail cut short by a killed write is dropped, any other damaged record
     * fails the open (walcheck.c has already refused every tail that is not a torn write);
     * 3: skip the damaged records and keep every other (the operator's salvage) */
    rocksdb_options_set_wal_recovery_mode(d->opts, salvage ? 3 : 0);
    /* Small memtables (the default is 64 MiB per column family): journal records live for one
     * transaction and outcomes are small, so big ones only hold memory, and a long batch
     * would fill several.  4 MiB keeps an engine's memory flat whatever it has run. */
    rocksdb_options_set_write_buffer_size(d->opts, (size_t)4 << 20);

    /* Open every family the database has, plus ours. */
    char *rerr = NULL;
    size_t nexisting = 0;
    mode_t umask_was = umask(077); /* process-wide: briefly, while the files are made */
    char **existing = *created ? NULL : rocksdb_list_column_families(d->opts, path, &nexisting, &rerr);
    if (rerr) {
        umask(umask_was);
        set_err_at(err, errlen, path, path, rerr);
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
        umask(umask_was);
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
    umask(umask_was);
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
        set_err_at(err, errlen, path, path, rerr);
        pvm_db_close(d);
        return NULL;
    }
    d->wsync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(d->wsync, 1);
    d->wnosync = rocksdb_writeoptions_create();
    d->path = strdup(path);
    d->serial = atomic_fetch_add(&db_opens, 1) + 1;
    d->ropts = rocksdb_readoptions_create();
    make_private(path);
    if (stat(path, &st) == 0) {
        d->dev = st.st_dev;
        d->ino = st.st_ino;
    }
    return d;
}

pvm_db *pvm_db_open_read_only(const char *path, char *err, size_t errlen)
{
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", path);
    struct stat st;
    if (stat(current, &st) != 0) {
        snprintf(err, errlen, "there is no database at %s", path);
        return NULL;
    }
    pvm_db *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->opts = rocksdb_options_create();
    rocksdb_options_set_info_log_level(d->opts, 4);
    rocksdb_options_set_paranoid_checks(d->opts, 1);
    char *rerr = NULL;
    size_t n = 0;
    char **names = rocksdb_list_column_families(d->opts, path, &n, &rerr);
    const rocksdb_options_t **copts = calloc(n + 1, sizeof *copts);
    d->handles = calloc(n + 1, sizeof *d->handles);
    if (!rerr && copts && d->handles) {
        for (size_t i = 0; i < n; i++)
            copts[i] = d->opts;
        /* the read-only open takes no LOCK and replays the live log into memory only */
        d->db = rocksdb_open_for_read_only_column_families(d->opts, path, (int)n, (const char *const *)names, copts,
                                                           d->handles, 0, &rerr);
    }
    d->nhandles = d->db ? n : 0;
    for (int c = 0; c < PVM_CF__COUNT && d->db; c++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(names[i], cf_names[c]) == 0)
                d->cf[c] = d->handles[i];
    int missing = -1;
    for (int c = 0; c < PVM_CF__COUNT && d->db && missing < 0; c++)
        if (!d->cf[c])
            missing = c;
    free(copts);
    if (names)
        rocksdb_list_column_families_destroy(names, n);
    if (!d->db || missing >= 0) {
        if (d->db)
            snprintf(err, errlen, "the database %s has no %s yet: open it once for writing first", path,
                     cf_names[missing]);
        else if (rerr)
            set_err_at(err, errlen, path, path, rerr);
        else
            snprintf(err, errlen, "out of memory");
        pvm_db_close(d);
        return NULL;
    }
    d->path = strdup(path);
    d->serial = atomic_fetch_add(&db_opens, 1) + 1;
    d->ropts = rocksdb_readoptions_create();
    d->wsync = rocksdb_writeoptions_create(); /* a write is refused by RocksDB, not a crash */
    d->wnosync = rocksdb_writeoptions_create();
    d->read_only = true;
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
    if (d->db && d->path && !d->read_only)
        make_private(d->path); /* what RocksDB made since the open, with the process's umask */
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
        set_err_at(err, errlen, d->path, "database write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_delete(pvm_db *d, int cf, const char *key, size_t klen, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_delete_cf(d->db, d->wsync, d->cf[cf], key, klen, &rerr);
    if (rerr) {
        set_err_at(err, errlen, d->path, "database delete failed", rerr);
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
        set_err_at(err, errlen, d->path, "database read failed", rerr);
        return NULL;
    }
    return v;
}

int pvm_db_each(pvm_db *d, int cf, pvm_db_each_fn fn, void *ud, char *err, size_t errlen)
{
    return pvm_db_range(d, cf, NULL, 0, NULL, 0, fn, ud, err, errlen);
}

int pvm_db_range(pvm_db *d, int cf, const char *from, size_t flen, const char *to, size_t tlen, pvm_db_each_fn fn,
                 void *ud, char *err, size_t errlen)
{
    /* the upper bound stops the iterator itself: no key past the range is read */
    rocksdb_readoptions_t *ro = to ? rocksdb_readoptions_create() : NULL;
    if (to)
        rocksdb_readoptions_set_iterate_upper_bound(ro, to, tlen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(d->db, to ? ro : d->ropts, d->cf[cf]);
    int rc = 0;
    if (from)
        rocksdb_iter_seek(it, from, flen);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        rc = fn(ud, k, kl, v, vl);
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (ro)
        rocksdb_readoptions_destroy(ro);
    if (rerr) {
        set_err_at(err, errlen, d->path, "database read failed", rerr);
        return -1;
    }
    return rc;
}

int pvm_db_delete_range(pvm_db *d, int cf, const char *from, size_t flen, const char *to, size_t tlen, char *err,
                        size_t errlen)
{
    char *rerr = NULL;
    rocksdb_delete_range_cf(d->db, d->wsync, d->cf[cf], from, flen, to, tlen, &rerr);
    if (rerr) {
        set_err_at(err, errlen, d->path, "database delete failed", rerr);
        return -1;
    }
    rocksdb_compact_range_cf(d->db, d->cf[cf], from, flen, to, tlen);
    return 0;
}

int pvm_db_append(pvm_db *d, int cf, const char *key, size_t klen, const void *val, size_t vlen, int sync,
                  char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_put_cf(d->db, sync ? d->wsync : d->wnosync, d->cf[cf], key, klen, val, vlen, &rerr);
    if (rerr) {
        set_err_at(err, errlen, d->path, "journal write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_sync_wal(pvm_db *d, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_flush_wal(d->db, 1, &rerr); /* FlushWAL(true): the log's buffer written and synced */
    if (rerr) {
        set_err_at(err, errlen, d->path, "journal sync failed", rerr);
        return -1;
    }
    return 0;
}

/* Writes b atomically and destroys it. */
static int write_batch(pvm_db *d, rocksdb_writebatch_t *b, int sync, char *err, size_t errlen)
{
    char *rerr = NULL;
    rocksdb_write(d->db, sync ? d->wsync : d->wnosync, b, &rerr);
    rocksdb_writebatch_destroy(b);
    if (rerr) {
        set_err_at(err, errlen, d->path, "journal write failed", rerr);
        return -1;
    }
    return 0;
}

int pvm_db_end(pvm_db *d, int cf_range, const char *from, size_t flen, const char *to, size_t tlen, int cf_put,
               const char *okey, size_t oklen, const char *oval, size_t ovlen, const pvm_db_op *extra, size_t nextra,
               int sync, char *err, size_t errlen)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    if (from)
        rocksdb_writebatch_delete_range_cf(b, d->cf[cf_range], from, flen, to, tlen);
    if (okey)
        rocksdb_writebatch_put_cf(b, d->cf[cf_put], okey, oklen, oval, ovlen);
    for (size_t i = 0; i < nextra; i++)
        rocksdb_writebatch_put_cf(b, d->cf[extra[i].cf], extra[i].key, extra[i].klen, extra[i].val, extra[i].vlen);
    return write_batch(d, b, sync, err, errlen);
}

int pvm_db_append_with(pvm_db *d, int cf, const char *key, size_t klen, const void *val, size_t vlen, int cf_put,
                       const char *okey, size_t oklen, const char *oval, size_t ovlen, int sync, char *err,
                       size_t errlen)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    rocksdb_writebatch_put_cf(b, d->cf[cf], key, klen, val, vlen);
    if (okey)
        rocksdb_writebatch_put_cf(b, d->cf[cf_put], okey, oklen, oval, ovlen);
    return write_batch(d, b, sync, err, errlen);
}

int pvm_db_check(pvm_db *d, char *err, size_t errlen)
{
    /* RocksDB goes on writing to files whose directory is gone, and every write succeeds */
    char current[4096];
    snprintf(current, sizeof current, "%s/CURRENT", d->path ? d->path : ".");
    struct stat st;
    if (!d->path || stat(d->path, &st) != 0 || st.st_dev != d->dev || st.st_ino != d->ino || stat(current, &st) != 0) {
        snprintf(err, errlen,
                 "the database directory %s was removed or replaced while it was open: nothing written to it since "
                 "is durable",
                 d->path ? d->path : "?");
        return -1;
    }
    return 0;
}

const char *pvm_db_path(const pvm_db *d)
{
    return d->path;
}

int pvm_db_write(pvm_db *d, const pvm_db_op *ops, size_t n, int sync, char *err, size_t errlen)
{
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    for (size_t i = 0; i < n; i++) {
        if (ops[i].val)
            rocksdb_writebatch_put_cf(b, d->cf[ops[i].cf], ops[i].key, ops[i].klen, ops[i].val, ops[i].vlen);
        else
            rocksdb_writebatch_delete_cf(b, d->cf[ops[i].cf], ops[i].key, ops[i].klen);
    }
    return write_batch(d, b, sync, err, errlen);
}

struct pvm_db_iter {
    pvm_db *db;
    rocksdb_iterator_t *it;
};

pvm_db_iter *pvm_db_iter_new(pvm_db *d, int cf)
{
    pvm_db_iter *i = malloc(sizeof *i);
    if (i) {
        i->db = d;
        i->it = rocksdb_create_iterator_cf(d->db, d->ropts, d->cf[cf]);
    }
    return i;
}

int pvm_db_iter_seek(pvm_db_iter *i, const char *from, size_t flen, const char **key, size_t *klen, char *err,
                     size_t errlen)
{
    rocksdb_iter_seek(i->it, from, flen);
    if (rocksdb_iter_valid(i->it)) {
        *key = rocksdb_iter_key(i->it, klen);
        return 1;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(i->it, &rerr);
    if (rerr) {
        set_err_at(err, errlen, i->db->path, "database read failed", rerr);
        return -1;
    }
    return 0;
}

void pvm_db_iter_free(pvm_db_iter *i)
{
    if (i) {
        rocksdb_iter_destroy(i->it);
        free(i);
    }
}

uint64_t pvm_db_serial(const pvm_db *d)
{
    return d->serial;
}
