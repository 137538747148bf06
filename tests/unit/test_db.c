/*
 * test_db.c -- the engine's RocksDB database (vm/db.c): creation and the `created` flag,
 * the column families and their independence, put/get/delete, iteration in key order
 * with an early stop, data kept across a reopen (also when the database has a family
 * this version does not know), paths that cannot be opened, a database already open
 * (a sentence, not RocksDB's message), files private to their user whatever the umask,
 * and a directory removed while open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "vm/db.h"

static char root[] = "/tmp/provost-db-XXXXXX";
static int seq;

static void fresh_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/db%d", root, seq++);
}

static pvm_db *open_ok(const char *path, bool *created)
{
    char err[512] = "";
    pvm_db *db = pvm_db_open(path, created, err, sizeof err);
    if (!db)
        fail_msg("open %s: %s", path, err);
    return db;
}

static void put(pvm_db *db, int cf, const char *k, const char *v)
{
    char err[512] = "";
    int rc = pvm_db_put(db, cf, k, strlen(k), v, strlen(v), err, sizeof err);
    if (rc != 0)
        fail_msg("put %s: %s", k, err);
}

/* The value of k in cf as a string, or NULL when absent (the caller frees it). */
static char *get(pvm_db *db, int cf, const char *k)
{
    char err[512] = "";
    size_t len = 99;
    char *v = pvm_db_get(db, cf, k, strlen(k), &len, err, sizeof err);
    assert_string_equal(err, ""); /* absent is not an error */
    if (!v) {
        assert_int_equal(len, 0);
        return NULL;
    }
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, v, len);
    s[len] = 0;
    free(v);
    return s;
}

static void assert_value(pvm_db *db, int cf, const char *k, const char *want)
{
    char *v = get(db, cf, k);
    if (!want) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_create_and_reopen(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created = false;
    pvm_db *db = open_ok(path, &created);
    assert_true(created);
    put(db, PVM_CF_NAMESPACES, "ns", "bundle");
    put(db, PVM_CF_CONFIG, "setting", "on");
    pvm_db_close(db);

    created = true;
    db = open_ok(path, &created);
    assert_false(created);
    assert_value(db, PVM_CF_NAMESPACES, "ns", "bundle");
    assert_value(db, PVM_CF_CONFIG, "setting", "on");
    pvm_db_close(db);
    pvm_db_close(NULL); /* harmless */
}

/* Every family exists, and the same key in two families holds two values. */
static void test_families_independent(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    for (int cf = 0; cf < PVM_CF__COUNT; cf++) {
        char v[32];
        snprintf(v, sizeof v, "value of family %d", cf);
        put(db, cf, "same-key", v);
    }
    for (int cf = 0; cf < PVM_CF__COUNT; cf++) {
        char v[32];
        snprintf(v, sizeof v, "value of family %d", cf);
        assert_value(db, cf, "same-key", v);
    }
    /* deleting in one family leaves the others */
    char err[512] = "";
    assert_int_equal(pvm_db_delete(db, PVM_CF_JOURNAL, "same-key", 8, err, sizeof err), 0);
    assert_value(db, PVM_CF_JOURNAL, "same-key", NULL);
    assert_value(db, PVM_CF_AUDIT, "same-key", "value of family 2");
    assert_value(db, PVM_CF_NAMESPACES, "same-key", "value of family 0");
    pvm_db_close(db);

    /* and they are real column families of the database, under their names */
    rocksdb_options_t *o = rocksdb_options_create();
    char *rerr = NULL;
    size_t n = 0;
    char **names = rocksdb_list_column_families(o, path, &n, &rerr);
    assert_null(rerr);
    const char *want[] = {"namespaces", "journal", "audit", "queue", "config"};
    for (size_t w = 0; w < 5; w++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(names[i], want[w]) == 0;
        if (!found)
            fail_msg("no column family '%s'", want[w]);
    }
    rocksdb_list_column_families_destroy(names, n);
    rocksdb_options_destroy(o);
}

static void test_put_get_delete(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    char err[512] = "";
    /* absent */
    assert_value(db, PVM_CF_QUEUE, "missing", NULL);
    /* overwrite */
    put(db, PVM_CF_QUEUE, "k", "one");
    put(db, PVM_CF_QUEUE, "k", "two");
    assert_value(db, PVM_CF_QUEUE, "k", "two");
    /* binary keys and values, embedded NULs included, and an empty value */
    const char key[] = {'a', 0, 'b'}, val[] = {0, 1, 2, 0, (char)0xFF};
    assert_int_equal(pvm_db_put(db, PVM_CF_AUDIT, key, sizeof key, val, sizeof val, err, sizeof err), 0);
    size_t len = 0;
    char *v = pvm_db_get(db, PVM_CF_AUDIT, key, sizeof key, &len, err, sizeof err);
    assert_non_null(v);
    assert_int_equal(len, sizeof val);
    assert_memory_equal(v, val, sizeof val);
    free(v);
    v = pvm_db_get(db, PVM_CF_AUDIT, "a", 1, &len, err, sizeof err); /* a prefix is another key */
    assert_null(v);
    assert_int_equal(pvm_db_put(db, PVM_CF_AUDIT, "empty", 5, "", 0, err, sizeof err), 0);
    v = pvm_db_get(db, PVM_CF_AUDIT, "empty", 5, &len, err, sizeof err);
    assert_non_null(v); /* present, with no bytes */
    assert_int_equal(len, 0);
    free(v);
    /* delete, and delete of what is absent */
    assert_int_equal(pvm_db_delete(db, PVM_CF_QUEUE, "k", 1, err, sizeof err), 0);
    assert_value(db, PVM_CF_QUEUE, "k", NULL);
    assert_int_equal(pvm_db_delete(db, PVM_CF_QUEUE, "never", 5, err, sizeof err), 0);
    assert_string_equal(err, "");
    pvm_db_close(db);
}

typedef struct seen {
    char keys[16][16];
    char vals[16][16];
    int n, stop_after, stop_with;
} seen;

static int collect(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    seen *s = ud;
    assert_true(s->n < 16);
    snprintf(s->keys[s->n], sizeof s->keys[0], "%.*s", (int)klen, key);
    snprintf(s->vals[s->n], sizeof s->vals[0], "%.*s", (int)vlen, val);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? s->stop_with : 0;
}

/* A batch of puts and deletes is applied whole; seek starts at the first key >= from. */
static void test_write_and_seek(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    char err[512] = "";
    put(db, PVM_CF_QUEUE, "gone", "x");
    pvm_db_op ops[] = {{PVM_CF_QUEUE, "b1", 2, "one", 3}, {PVM_CF_QUEUE, "b3", 2, "three", 5},
                       {PVM_CF_QUEUE, "a9", 2, "", 0},    {PVM_CF_QUEUE, "gone", 4, NULL, 0},
                       {PVM_CF_CONFIG, "b2", 2, "c", 1}};
    assert_int_equal(pvm_db_write(db, ops, 5, 1, err, sizeof err), 0);
    assert_value(db, PVM_CF_QUEUE, "gone", NULL);
    assert_value(db, PVM_CF_CONFIG, "b2", "c");
    seen s = {0};
    assert_int_equal(pvm_db_range(db, PVM_CF_QUEUE, "b", 1, NULL, 0, collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 2); /* b1, b3: not a9 before it, nor b2 of another family */
    assert_string_equal(s.keys[0], "b1");
    assert_string_equal(s.vals[1], "three");
    seen t = {.stop_after = 1, .stop_with = 5};
    assert_int_equal(pvm_db_range(db, PVM_CF_QUEUE, "b2", 2, NULL, 0, collect, &t, err, sizeof err), 5);
    assert_string_equal(t.keys[0], "b3");
    seen u = {0};
    assert_int_equal(pvm_db_range(db, PVM_CF_QUEUE, "c", 1, NULL, 0, collect, &u, err, sizeof err), 0);
    assert_int_equal(u.n, 0);
    pvm_db_close(db);
}

static void test_each(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    char err[512] = "";
    /* empty family: no call */
    seen s = {0};
    assert_int_equal(pvm_db_each(db, PVM_CF_CONFIG, collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    /* inserted out of order, read back in byte order; other families not visited */
    const char *keys[] = {"m", "b", "ab", "z", "a", "B"};
    for (int i = 0; i < 6; i++)
        put(db, PVM_CF_CONFIG, keys[i], keys[i]);
    put(db, PVM_CF_JOURNAL, "0-other-family", "x");
    assert_int_equal(pvm_db_each(db, PVM_CF_CONFIG, collect, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 6);
    const char *order[] = {"B", "a", "ab", "b", "m", "z"};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(s.keys[i], order[i]);
        assert_string_equal(s.vals[i], order[i]);
    }
    /* an early stop returns the callback's value and visits no more */
    seen t = {.stop_after = 3, .stop_with = 42};
    assert_int_equal(pvm_db_each(db, PVM_CF_CONFIG, collect, &t, err, sizeof err), 42);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.keys[2], "ab");
    seen u = {.stop_after = 1, .stop_with = -7};
    assert_int_equal(pvm_db_each(db, PVM_CF_CONFIG, collect, &u, err, sizeof err), -7);
    assert_int_equal(u.n, 1);
    /* deleted keys are not visited */
    assert_int_equal(pvm_db_delete(db, PVM_CF_CONFIG, "ab", 2, err, sizeof err), 0);
    seen w = {0};
    assert_int_equal(pvm_db_each(db, PVM_CF_CONFIG, collect, &w, err, sizeof err), 0);
    assert_int_equal(w.n, 5);
    assert_string_equal(w.keys[2], "b");
    pvm_db_close(db);
}

/* A database holding a family this version does not know still opens, keeps it, and
 * gains any of ours that are missing. */
static void test_foreign_family(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    const char *names[] = {"default", "journal", "future"};
    const rocksdb_options_t *opts[] = {o, o, o};
    rocksdb_column_family_handle_t *h[3];
    char *rerr = NULL;
    rocksdb_t *raw = rocksdb_open_column_families(o, path, 3, names, opts, h, &rerr);
    assert_null(rerr);
    assert_non_null(raw);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(raw, wo, h[1], "old", 3, "record", 6, &rerr);
    assert_null(rerr);
    rocksdb_put_cf(raw, wo, h[2], "f", 1, "kept", 4, &rerr);
    assert_null(rerr);
    rocksdb_writeoptions_destroy(wo);
    for (int i = 0; i < 3; i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(raw);
    rocksdb_options_destroy(o);

    bool created = true;
    pvm_db *db = open_ok(path, &created);
    assert_false(created);
    assert_value(db, PVM_CF_JOURNAL, "old", "record");
    put(db, PVM_CF_QUEUE, "new", "family");
    pvm_db_close(db);
    db = open_ok(path, &created);
    assert_value(db, PVM_CF_QUEUE, "new", "family");
    pvm_db_close(db);

    /* the unknown family and its data are still there */
    o = rocksdb_options_create();
    size_t n = 0;
    char **list = rocksdb_list_column_families(o, path, &n, &rerr);
    assert_null(rerr);
    bool future = false;
    for (size_t i = 0; i < n; i++)
        future |= strcmp(list[i], "future") == 0;
    assert_true(future);
    rocksdb_list_column_families_destroy(list, n);
    rocksdb_options_destroy(o);
}

static void assert_open_fails(const char *path)
{
    char err[512];
    memset(err, 0, sizeof err);
    bool created = false;
    pvm_db *db = pvm_db_open(path, &created, err, sizeof err);
    if (db) {
        pvm_db_close(db);
        fail_msg("%s opened", path);
    }
    assert_true(strlen(err) > 0);
    assert_non_null(strstr(err, path)); /* the message says which path */
}

static void test_unopenable(void **state)
{
    (void)state;
    /* a regular file */
    char file[256];
    snprintf(file, sizeof file, "%s/plain-file", root);
    int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a database\n", 15), 15);
    close(fd);
    assert_open_fails(file);
    /* a path below a regular file */
    char below[300];
    snprintf(below, sizeof below, "%s/db", file);
    assert_open_fails(below);
    /* a directory nobody may write into: /proc refuses even root */
    assert_open_fails("/proc/provost-db");
    /* a directory without write permission (meaningful when not root) */
    char ro[256];
    snprintf(ro, sizeof ro, "%s/read-only", root);
    assert_int_equal(mkdir(ro, 0500), 0);
    char inside[300];
    snprintf(inside, sizeof inside, "%s/db", ro);
    if (access(ro, W_OK) != 0)
        assert_open_fails(inside);
    chmod(ro, 0700);
    /* a database directory that holds something else than a database */
    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk", root);
    assert_int_equal(mkdir(junk, 0700), 0);
    char current[300];
    snprintf(current, sizeof current, "%s/CURRENT", junk);
    fd = open(current, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "MANIFEST-000099\n", 16), 16);
    close(fd);
    assert_open_fails(junk);
}

/* Opened twice in one process: the second is told, in a sentence naming the database. */
static void test_in_use(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    char err[1024] = "";
    pvm_db *again = pvm_db_open(path, &created, err, sizeof err);
    assert_null(again);
    if (!strstr(err, "in use") || !strstr(err, path) || strstr(err, "IO error") || strstr(err, "LOCK"))
        fail_msg("a database opened twice: %s", err);
    pvm_db_close(db);
}

/* Every file is private under the usual umask 022, and one made 0644 by hand is narrowed at
 * the next open. */
static void test_private(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    mode_t old = umask(022);
    bool created;
    pvm_db *db = open_ok(path, &created);
    put(db, PVM_CF_JOURNAL, "k", "v");
    pvm_db_close(db);
    char file[300 + sizeof path];
    snprintf(file, sizeof file, "%s/CURRENT", path);
    assert_int_equal(chmod(file, 0644), 0);
    db = open_ok(path, &created);
    pvm_db_close(db);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        assert_int_equal(stat(file, &st), 0);
        if (st.st_mode & 077)
            fail_msg("%s has mode %04o", e->d_name, (unsigned)(st.st_mode & 07777));
    }
    closedir(d);
}

/* Removed while open: writes still succeed, the check does not. */
static void test_removed(void **state)
{
    (void)state;
    char path[256];
    fresh_path(path, sizeof path);
    bool created;
    pvm_db *db = open_ok(path, &created);
    char err[1024] = "";
    assert_int_equal(pvm_db_check(db, err, sizeof err), 0);
    char cmd[300 + sizeof path];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
    put(db, PVM_CF_JOURNAL, "k", "v"); /* what makes the check needed */
    assert_int_equal(pvm_db_check(db, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "removed"));
    pvm_db_close(db);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_reopen), cmocka_unit_test(test_families_independent),
        cmocka_unit_test(test_put_get_delete),    cmocka_unit_test(test_each),
        cmocka_unit_test(test_foreign_family),    cmocka_unit_test(test_unopenable),
        cmocka_unit_test(test_in_use),            cmocka_unit_test(test_private),
        cmocka_unit_test(test_removed),           cmocka_unit_test(test_write_and_seek),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
