/*
 * integrity_test.c -- what the provost command does with a database that has been
 * tampered with or damaged after a crash left transactions in its journal:
 *
 *   integrity_test keys    the master key removed, replaced or truncated while the journal
 *                          holds sealed data: no command crashes, each names the key file,
 *                          `txn list` shows the transactions needing it, the key is never
 *                          made anew, and with the right key back recovery finishes them
 *   integrity_test damage  one byte flipped in a write-ahead log or a table file: every
 *                          command fails with a sentence naming the damaged file, nothing
 *                          is recovered from half a journal, and `recover --salvage` keeps
 *                          what can be read and parks it for the operator; then a bit
 *                          flipped at offsets spread over each file, one at a time: every
 *                          run is refused, or ends exactly as without the flip
 *   integrity_test files   the database directory and every file in it private to its
 *                          user, a warning for a master key others can read, a sentence
 *                          for a database in use or on a read-only file system, and a
 *                          batch whose database directory is removed under it does not
 *                          report success
 *
 * Every command runs as the operator runs it (the provost command, in a child process);
 * its stdout and stderr are kept and searched for sanitizer reports and for the request's
 * password, which must never appear.  Databases live under TMPDIR (else /tmp) and are
 * removed at the end unless PROVOST_CRASH_KEEP is set.
 */
#define _GNU_SOURCE /* vasprintf, memmem */
#include "cli_harness.h"

/* ---- the database ----------------------------------------------------------------------- */

static const char ns_c[] = "<namespace name=\"C\" providerSource=\"test\">"
                           "<procedure name=\"W1\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "<procedure name=\"W2\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "</namespace>";

typedef struct place {
    char *dir, *snapshot, *db, *trace, *plain, *sensitive, *key;
    char txid[40];
    unsigned char master[32]; /* the database's own key */
} place;

/* A database whose run of a sensitive request was killed just after its first write
 * step's INTENT (sealed executeData and a sealed transaction key in the journal):
 * p.snapshot, and the same in p.db. */
static place prepare(const char *name)
{
    place p = {.dir = fmt("%s/%s", base, name)};
    assert_int_equal(mkdir(p.dir, 0700), 0);
    p.snapshot = fmt("%s/snapshot", p.dir);
    p.db = fmt("%s/db", p.dir);
    p.trace = fmt("%s/trace", p.dir);
    p.plain = fmt("%s/plain.xml", p.dir);
    p.sensitive = fmt("%s/sensitive.xml", p.dir);
    p.key = fmt("%s/master.key", p.db);
    char *ns = fmt("%s/c.xml", p.dir);
    write_bytes(ns, ns_c, strlen(ns_c), 0600);
    char *req = fmt("<request><data/><context><securityContext sensitive=\"1\"/></context><procedure>"
                    "<execute namespace=\"C\" procedure=\"W1\"><executeData><user>carol</user>"
                    "<password>%s</password></executeData></execute>"
                    "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>after</m></executeData></execute>"
                    "</procedure></request>",
                    secret);
    write_bytes(p.sensitive, req, strlen(req), 0600);
    free(req);
    static const char plain[] = "<request><data/><procedure><execute namespace=\"C\" procedure=\"W2\">"
                                "<executeData><m>plain</m></executeData></execute></procedure></request>";
    write_bytes(p.plain, plain, sizeof plain - 1, 0600);
    result r = provost(p.snapshot, 0, NULL, "register", ns, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    free(ns);
    /* the kill: at the first journal point after the INTENT of W1 (point 2k is just after
     * the kth write: BEGIN, then INTENT) */
    r = provost(p.snapshot, 4, p.trace, "run", p.sensitive, NULL);
    assert_int_equal(r.status, -1);
    result_free(&r);
    char *key = fmt("%s/master.key", p.snapshot);
    size_t len;
    char *k = read_file(key, &len);
    assert_non_null(k);
    assert_int_equal(len, 32);
    memcpy(p.master, k, 32);
    free(k);
    free(key);
    copy_dir(p.snapshot, p.db);
    return p;
}

static void place_free(place *p)
{
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(p->dir);
    free(p->dir);
    free(p->snapshot);
    free(p->db);
    free(p->trace);
    free(p->plain);
    free(p->sensitive);
    free(p->key);
}

/* The id of the one transaction `provost txn list` shows. */
static void one_txid(const char *out, char id[40])
{
    const char *b = strchr(out, '{');
    assert_non_null(b);
    assert_true(strlen(b) >= 38 && b[37] == '}');
    memcpy(id, b, 38);
    id[38] = 0;
    assert_null(strchr(b + 38, '{')); /* only one */
}

/* ---- keys ------------------------------------------------------------------------------- */

enum key_damage { KEY_REMOVED, KEY_REPLACED, KEY_TRUNCATED, KEY_EMPTY };
static const char *const damage_name[] = {"removed", "replaced", "truncated", "empty"};

static void damage_key(const place *p, enum key_damage how)
{
    unsigned char other[32];
    for (size_t i = 0; i < sizeof other; i++)
        other[i] = (unsigned char)(p->master[i] ^ 0x5a);
    switch (how) {
    case KEY_REMOVED:
        assert_int_equal(unlink(p->key), 0);
        break;
    case KEY_REPLACED:
        write_bytes(p->key, other, sizeof other, 0600);
        break;
    case KEY_TRUNCATED:
        assert_int_equal(truncate(p->key, 16), 0);
        break;
    case KEY_EMPTY:
        assert_int_equal(truncate(p->key, 0), 0);
        break;
    }
}

/* The key file is as the damage left it: never made anew, never rewritten. */
static void key_untouched(const place *p, enum key_damage how)
{
    size_t len = 0;
    char *k = read_file(p->key, &len);
    if (how == KEY_REMOVED) {
        if (k)
            fail_msg("key %s: master.key was made anew", damage_name[how]);
        return;
    }
    assert_non_null(k);
    assert_int_equal(len, how == KEY_REPLACED ? 32 : how == KEY_TRUNCATED ? 16 : 0);
    if (how == KEY_REPLACED)
        assert_int_not_equal(memcmp(k, p->master, 32), 0);
    else if (len)
        assert_memory_equal(k, p->master, len);
    free(k);
}

static void names_key(const result *r, const place *p, const char *what)
{
    if (!strstr(r->out, p->key) && !strstr(r->err, p->key))
        fail_msg("%s: %s is not named:\n%s%s", what, p->key, r->out, r->err);
}

static void key_scenario(enum key_damage how)
{
    char *name = fmt("key-%s", damage_name[how]);
    place p = prepare(name);
    damage_key(&p, how);

    /* the operator looks: the transaction is listed, as needing the key */
    result r = provost(p.db, 0, NULL, "txn", "list", NULL);
    assert_int_equal(r.status, 0);
    names_key(&r, &p, "txn list");
    char id[40];
    one_txid(r.out, id);
    assert_non_null(strstr(r.out, "C/W1"));
    assert_non_null(strstr(r.out, "needs the master key"));
    result_free(&r);
    key_untouched(&p, how);

    /* recovery leaves it, says why, and fails */
    r = provost(p.db, 0, p.trace, "recover", NULL);
    assert_int_not_equal(r.status, 0);
    names_key(&r, &p, "recover");
    result_free(&r);
    key_untouched(&p, how);

    /* the other commands that open the database work, and say it */
    r = provost(p.db, 0, NULL, "list", NULL);
    assert_int_equal(r.status, 0);
    names_key(&r, &p, "list");
    result_free(&r);
    r = provost(p.db, 0, p.trace, "run", p.plain, NULL);
    assert_int_equal(r.status, 0);
    names_key(&r, &p, "run (not sensitive)");
    result_free(&r);
    r = provost(p.db, 0, p.trace, "batch", "-q", p.plain, NULL);
    assert_int_equal(r.status, 0);
    names_key(&r, &p, "batch (not sensitive)");
    result_free(&r);
    r = provost(p.db, 0, NULL, "bench", "--request", p.plain, "-n", "3", "--warmup", "0", NULL);
    assert_int_equal(r.status, 0);
    names_key(&r, &p, "bench");
    result_free(&r);
    /* nothing new is sealed under a key the journal's sealed data does not need */
    r = provost(p.db, 0, p.trace, "run", p.sensitive, NULL);
    assert_int_not_equal(r.status, 0);
    names_key(&r, &p, "run (sensitive)");
    result_free(&r);
    key_untouched(&p, how);
    r = provost(p.db, 0, NULL, "txn", "list", NULL);
    assert_int_equal(r.status, 0);
    char again[40];
    one_txid(r.out, again);
    assert_string_equal(again, id);
    result_free(&r);

    /* the right key back: recovery rolls the step back with its data, opened */
    unlink(p.trace);
    write_bytes(p.key, p.master, sizeof p.master, 0600);
    r = provost(p.db, 0, p.trace, "recover", NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    size_t len;
    char *trace = read_file(p.trace, &len);
    assert_non_null(trace);
    char *want = fmt("rollback\tC/W1\t<executeData><user>carol</user><password>%s</password></executeData>\n", secret);
    if (strcmp(trace, want) != 0)
        fail_msg("key %s, then restored: recovery's trace is\n%s", damage_name[how], trace);
    free(want);
    free(trace);
    r = provost(p.db, 0, NULL, "txn", "list", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "no transaction in the journal"));
    assert_string_equal(r.err, "");
    result_free(&r);
    printf("  master.key %s: listed as needing the key, left alone, recovered once the key was back\n",
           damage_name[how]);
    place_free(&p);
    free(name);
}

static void test_key_removed(void **state)
{
    (void)state;
    key_scenario(KEY_REMOVED);
}

static void test_key_replaced(void **state)
{
    (void)state;
    key_scenario(KEY_REPLACED);
}

static void test_key_truncated(void **state)
{
    (void)state;
    key_scenario(KEY_TRUNCATED);
}

static void test_key_empty(void **state)
{
    (void)state;
    key_scenario(KEY_EMPTY);
}

/* A key missing from a journal without sealed data is simply made: nothing needs the old one. */
static void test_key_made_when_nothing_sealed(void **state)
{
    (void)state;
    place p = prepare("key-nothing-sealed");
    result r = provost(p.db, 0, NULL, "recover", NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    assert_int_equal(unlink(p.key), 0);
    r = provost(p.db, 0, p.trace, "run", p.sensitive, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    struct stat st;
    assert_int_equal(stat(p.key, &st), 0);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(st.st_mode & 0777, 0600);
    place_free(&p);
}

/* ---- damage ----------------------------------------------------------------------------- */

static const char ns_d[] = "<namespace name=\"C\" providerSource=\"test\">"
                           "<procedure name=\"W1\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "<procedure name=\"W2\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "<procedure name=\"FailRollback\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "<procedure name=\"Fail\" type=\"write\" saveDataForRollback=\"1\"/>"
                           "<procedure name=\"Sleep\" type=\"write\"/>"
                           "</namespace>";

/* A database with namespace C in dir/db, and request text in dir/request.xml. */
static void damage_setup(const char *dir, const char *request)
{
    assert_int_equal(mkdir(dir, 0700), 0);
    char *ns = fmt("%s/c.xml", dir), *req = fmt("%s/request.xml", dir), *db = fmt("%s/db", dir);
    write_bytes(ns, ns_d, sizeof ns_d - 1, 0600);
    write_bytes(req, request, strlen(request), 0600);
    result r = provost(db, 0, NULL, "register", ns, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    free(ns);
    free(req);
    free(db);
}

/* Every command that opens the database refuses it, naming the damaged file; nothing is
 * called (no trace) and the damaged file is left as it is. */
static void refused(const char *db, const char *trace, const char *file)
{
    size_t before_len, after_len;
    char *before = read_file(file, &before_len);
    assert_non_null(before);
    const char *base_name = strrchr(file, '/') + 1;
    static const char *const cmds[][2] = {{"recover", NULL}, {"txn", "list"}, {"list", NULL}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        result r = provost(db, 0, trace, cmds[i][0], cmds[i][1], NULL);
        if (r.status == 0 || !strstr(r.err, base_name) || !strstr(r.err, "is damaged"))
            fail_msg("provost %s on a damaged database: exit %d\n%s%s", cmds[i][0], r.status, r.out, r.err);
        assert_null(strstr(r.err, "Corruption:")); /* a sentence, not RocksDB's */
        result_free(&r);
    }
    assert_null(read_file(trace, NULL));
    char *after = read_file(file, &after_len);
    assert_non_null(after);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, before, before_len);
    free(before);
    free(after);
}

/* A kill after the second step's INTENT leaves both steps in the write-ahead log; a bit of
 * the second step's record flipped must not make recovery forget that step.  A salvage
 * keeps the records before the damaged one (RocksDB cannot read on past it in its block). */
static void test_wal_flip(void **state)
{
    (void)state;
    char *dir = fmt("%s/wal-flip", base), *db = fmt("%s/db", dir), *trace = fmt("%s/trace", dir),
         *req = fmt("%s/request.xml", dir);
    damage_setup(dir, "<request><data/><procedure>"
                      "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>flip-w1</m></executeData></execute>"
                      "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>flip-w2</m></executeData></execute>"
                      "</procedure></request>");
    /* points 2k are just after the kth write: BEGIN, INTENT W1, DONE W1, INTENT W2 */
    result r = provost(db, 8, trace, "run", req, NULL);
    assert_int_equal(r.status, -1);
    result_free(&r);
    assert_int_equal(unlink(trace), 0);
    char *wal = file_holding(db, ".log", "flip-w2");
    assert_non_null(wal);
    char *same = file_holding(db, ".log", "flip-w1"); /* both steps in one log */
    assert_non_null(same);
    assert_string_equal(same, wal);
    free(same);
    flip(wal, "flip-w2", 3);
    refused(db, trace, wal);

    /* what the operator does next: salvage what can be read, parked for a decision */
    r = provost(db, 0, trace, "recover", "--salvage", NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "salvaged"));
    result_free(&r);
    assert_null(read_file(trace, NULL)); /* nothing rolled back behind the operator's back */
    r = provost(db, 0, trace, "txn", "list", "--stuck", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "STUCK"));
    assert_non_null(strstr(r.out, "damaged"));
    assert_non_null(strstr(r.out, "C/W1: done"));
    assert_null(strstr(r.out, "C/W2"));
    char id[40];
    one_txid(r.out, id);
    result_free(&r);
    r = provost(db, 0, trace, "recover", NULL);
    assert_int_equal(r.status, 1);
    result_free(&r);
    assert_null(read_file(trace, NULL));
    /* the operator's decision: roll back what the journal still knows */
    r = provost(db, 0, trace, "txn", "resolve", id, "--retry", NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    char *t = read_file(trace, NULL);
    assert_non_null(t);
    assert_string_equal(t, "rollback\tC/W1\t<executeData><m>flip-w1</m></executeData>\n");
    free(t);
    printf("  a bit flipped in %s: refused by every command, then salvaged and resolved\n", strrchr(wal, '/') + 1);
    free(wal);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(trace);
    free(req);
}

/* A stuck transaction's records reach a table file when the next open flushes the log; a
 * bit flipped there is found when the journal is read. */
static void test_sst_flip(void **state)
{
    (void)state;
    char *dir = fmt("%s/sst-flip", base), *db = fmt("%s/db", dir), *trace = fmt("%s/trace", dir),
         *req = fmt("%s/request.xml", dir);
    damage_setup(dir, "<request><data/><procedure>"
                      "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>sst-w1</m></executeData></execute>"
                      "<execute namespace=\"C\" procedure=\"FailRollback\"><executeData><m>sst-fr</m></executeData>"
                      "</execute><execute namespace=\"C\" procedure=\"Fail\"/></procedure></request>");
    result r = provost(db, 0, NULL, "run", req, NULL);
    assert_int_equal(r.status, 1);
    result_free(&r);
    r = provost(db, 0, NULL, "txn", "list", "--stuck", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "STUCK"));
    result_free(&r);
    char *sst = file_holding(db, ".sst", "sst-w1");
    assert_non_null(sst);
    flip(sst, "sst-w1", 2);
    refused(db, trace, sst);
    printf("  a bit flipped in %s: refused by every command\n", strrchr(sst, '/') + 1);
    free(sst);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(trace);
    free(req);
}

/* Flips one bit at `runs` offsets spread over the file of snapshot named like file, one at
 * a time in a fresh copy, and runs `provost a1 a2` there: each run refuses the database as
 * damaged (status 2, no provider called), or ends exactly as on the undamaged copy
 * (status, output and provider calls): a flip never changes the outcome in silence. */
static void flip_sweep(const char *snapshot, const char *file, const char *dir, const char *a1, const char *a2,
                       int runs)
{
    char *work = fmt("%s/work", dir), *trace = fmt("%s/sweep.trace", dir);
    const char *name = strrchr(file, '/') + 1;
    char *target = fmt("%s/%s", work, name);
    copy_dir(snapshot, work);
    unlink(trace);
    result ref = provost(work, 0, trace, a1, a2, NULL);
    char *ref_trace = read_file(trace, NULL);
    size_t len;
    char *data = read_file(file, &len);
    assert_non_null(data);
    free(data);
    int refused_n = 0, same = 0;
    for (int i = 0; i < runs; i++) {
        size_t at = len * (size_t)i / (size_t)runs;
        copy_dir(snapshot, work);
        char *bytes = read_file(target, NULL);
        assert_non_null(bytes);
        bytes[at] ^= (char)(1 << (i % 8));
        write_bytes(target, bytes, len, 0600);
        free(bytes);
        unlink(trace);
        result r = provost(work, 0, trace, a1, a2, NULL);
        char *t = read_file(trace, NULL);
        /* the file is named when RocksDB names it: a damaged table property it blames on the
         * MANIFEST that lists the table */
        if (r.status == 2 && strstr(r.err, "is damaged") && !t) {
            refused_n++;
        } else if (r.status == ref.status && strcmp(r.out, ref.out) == 0 &&
                   ((!t && !ref_trace) || (t && ref_trace && strcmp(t, ref_trace) == 0))) {
            same++;
        } else {
            fail_msg("%s, bit %d of byte %zu flipped: provost %s %s ended with %d, not refused and not as without "
                     "the flip (%d)\n%s%s--- calls:\n%s",
                     name, i % 8, at, a1, a2 ? a2 : "", r.status, ref.status, r.out, r.err, t ? t : "(none)\n");
        }
        free(t);
        result_free(&r);
    }
    printf("  %s (%zu bytes): %d bits flipped one at a time: %d refused as damaged, %d without effect\n", name, len,
           runs, refused_n, same);
    assert_true(refused_n > 0);
    result_free(&ref);
    free(ref_trace);
    rm_rf(work);
    free(work);
    free(trace);
    free(target);
}

/* The write-ahead log of a run killed with both steps journaled, flipped all over. */
static void test_wal_flip_sweep(void **state)
{
    (void)state;
    char *dir = fmt("%s/wal-sweep", base), *db = fmt("%s/db", dir), *req = fmt("%s/request.xml", dir);
    damage_setup(dir, "<request><data/><procedure>"
                      "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>sweep-w1</m></executeData></execute>"
                      "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>sweep-w2</m></executeData></execute>"
                      "</procedure></request>");
    result r = provost(db, 8, NULL, "run", req, NULL);
    assert_int_equal(r.status, -1);
    result_free(&r);
    char *wal = file_holding(db, ".log", "sweep-w2");
    assert_non_null(wal);
    flip_sweep(db, wal, dir, "recover", NULL, 48);
    free(wal);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(req);
}

/* The table file holding a stuck transaction's records, flipped all over. */
static void test_sst_flip_sweep(void **state)
{
    (void)state;
    char *dir = fmt("%s/sst-sweep", base), *db = fmt("%s/db", dir), *req = fmt("%s/request.xml", dir);
    damage_setup(dir, "<request><data/><procedure>"
                      "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>sweep-w1</m></executeData></execute>"
                      "<execute namespace=\"C\" procedure=\"FailRollback\"/><execute namespace=\"C\" procedure=\"Fail\"/>"
                      "</procedure></request>");
    result r = provost(db, 0, NULL, "run", req, NULL);
    assert_int_equal(r.status, 1);
    result_free(&r);
    r = provost(db, 0, NULL, "recover", NULL); /* the log flushed into a table */
    assert_int_equal(r.status, 1);
    result_free(&r);
    char *sst = file_holding(db, ".sst", "sweep-w1");
    assert_non_null(sst);
    flip_sweep(db, sst, dir, "txn", "list", 48);
    free(sst);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(req);
}

/* ---- files ------------------------------------------------------------------------------ */

/* Every file of dir is private to its user; false (with the first that is not) otherwise. */
static bool all_private(const char *dir, char *which, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool ok = true;
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char *path = fmt("%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        if (st.st_mode & 077) {
            snprintf(which, cap, "%s (mode %04o)", e->d_name, (unsigned)(st.st_mode & 07777));
            ok = false;
        }
        free(path);
    }
    closedir(d);
    return ok;
}

static void test_files_private(void **state)
{
    (void)state;
    char *dir = fmt("%s/private", base), *db = fmt("%s/db", dir), *req = fmt("%s/request.xml", dir),
         *key = fmt("%s/master.key", db);
    mode_t old = umask(022); /* what most users have: the engine must not rely on it */
    damage_setup(dir, "<request><data/><procedure><execute namespace=\"C\" procedure=\"W1\">"
                      "<executeData><m>private</m></executeData></execute></procedure></request>");
    result r = provost(db, 0, NULL, "run", req, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    r = provost(db, 0, NULL, "txn", "list", NULL); /* a reopen: the log replayed into a table */
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    result_free(&r);
    umask(old);
    struct stat st;
    assert_int_equal(stat(db, &st), 0);
    if (st.st_mode & 077)
        fail_msg("the database directory has mode %04o", (unsigned)(st.st_mode & 07777));
    char which[300];
    if (!all_private(db, which, sizeof which))
        fail_msg("a database file others can read: %s", which);

    /* a master key others can read is named, and still used */
    assert_int_equal(chmod(key, 0644), 0);
    r = provost(db, 0, NULL, "list", NULL);
    assert_int_equal(r.status, 0);
    if (!strstr(r.err, key) || !strstr(r.err, "read by other users"))
        fail_msg("no warning for a master key of mode 0644:\n%s", r.err);
    result_free(&r);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(req);
    free(key);
}

/* On a read-only file system (a read-only bind mount in a mount namespace of its own:
 * skipped where one cannot be made) the database is refused in a sentence. */
static void test_read_only(void **state)
{
    (void)state;
    if (access("/usr/bin/unshare", X_OK) != 0)
        skip();
    char *dir = fmt("%s/read-only", base), *db = fmt("%s/db", dir), *out = fmt("%s/ro.out", dir),
         *err = fmt("%s/ro.err", dir);
    damage_setup(dir, "<request/>");
    char *script = fmt("mount --bind '%s' '%s' && mount -o remount,ro,bind '%s' || exit 77; exec '%s' --db '%s' list",
                       db, db, db, PROVOST_CLI, db);
    char *argv[] = {"/usr/bin/unshare", "-m", "sh", "-c", script, NULL};
    result r = finish(start(argv, 0, NULL, out, err), argv, false, out, err);
    if (r.status == 77) {
        result_free(&r);
        printf("  no mount namespace here: skipped\n");
    } else {
        if (r.status != 2 || !strstr(r.err, "cannot be written (read-only file system)") || !strstr(r.err, db) ||
            strstr(r.err, "IO error"))
            fail_msg("a database on a read-only file system: exit %d\n%s", r.status, r.err);
        result_free(&r);
    }
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(out);
    free(err);
    free(script);
}

/* A batch holds the database: a second command is told so in a sentence; then the
 * database directory is removed under the batch, which must not end as a success. */
static void test_in_use_then_removed(void **state)
{
    (void)state;
    char *dir = fmt("%s/removed", base), *db = fmt("%s/db", dir), *in = fmt("%s/requests.xml", dir),
         *results = fmt("%s/results.jsonl", dir), *trace = fmt("%s/trace", dir), *out = fmt("%s/batch.out", dir),
         *err = fmt("%s/batch.err", dir);
    size_t cap = 8192, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "<requests>");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "<request><data/><procedure><execute namespace=\"C\" procedure=\"Sleep\">"
                              "<executeData><ms>%d</ms></executeData></execute></procedure></request>",
                              i ? 150 : 0);
    snprintf(text + n, cap - n, "</requests>");
    damage_setup(dir, text); /* the requests are dir/request.xml */
    char *req = fmt("%s/request.xml", dir);
    assert_int_equal(rename(req, in), 0);
    free(req);
    free(text);
    char *argv[] = {PROVOST_CLI, "--db", db, "batch", "-q", "-j", "1", "--out", results, in, NULL};
    pid_t pid = start(argv, 0, trace, out, err);
    /* the batch is running once its first call is traced */
    for (;;) {
        char *t = read_file(trace, NULL);
        bool begun = t && strstr(t, "process\t");
        free(t);
        if (begun)
            break;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            fail_msg("the batch ended before its first call");
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    result r = provost(db, 0, NULL, "list", NULL);
    assert_int_equal(r.status, 2);
    if (!strstr(r.err, "in use by another process") || strstr(r.err, "IO error") || strstr(r.err, "LOCK"))
        fail_msg("a database in use:\n%s", r.err);
    result_free(&r);
    rm_rf(db);
    r = finish(pid, argv, false, out, err);
    if (r.status == 0 || !strstr(r.err, "removed"))
        fail_msg("the batch whose database was removed ended with %d:\n%s", r.status, r.err);
    result_free(&r);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(in);
    free(results);
    free(trace);
    free(out);
    free(err);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    unsetenv("PROVOST_CRASH_POINT");
    unsetenv("PROVOST_JOURNAL_FAIL");
    unsetenv("PROVOST_TEST_TRACE");
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/provost-integrity-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror(base);
        return 2;
    }
    unsigned char r[12];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r)
        return 2;
    close(fd);
    strcpy(secret, "pw-");
    for (size_t i = 0; i < sizeof r; i++)
        sprintf(secret + strlen(secret), "%02x", r[i]);

    const char *group = argc > 1 ? argv[1] : "all";
    bool all = strcmp(group, "all") == 0;
    int failures = 0, ran = 0;
    const struct CMUnitTest key_tests[] = {
        cmocka_unit_test(test_key_removed),
        cmocka_unit_test(test_key_replaced),
        cmocka_unit_test(test_key_truncated),
        cmocka_unit_test(test_key_empty),
        cmocka_unit_test(test_key_made_when_nothing_sealed),
    };
    if (all || strcmp(group, "keys") == 0)
        ran++, failures += cmocka_run_group_tests_name("master key lost or changed", key_tests, NULL, NULL);
    const struct CMUnitTest damage_tests[] = {
        cmocka_unit_test(test_wal_flip),
        cmocka_unit_test(test_sst_flip),
        cmocka_unit_test(test_wal_flip_sweep),
        cmocka_unit_test(test_sst_flip_sweep),
    };
    const struct CMUnitTest file_tests[] = {
        cmocka_unit_test(test_files_private),
        cmocka_unit_test(test_in_use_then_removed),
        cmocka_unit_test(test_read_only),
    };
    if (all || strcmp(group, "files") == 0)
        ran++, failures += cmocka_run_group_tests_name("database files", file_tests, NULL, NULL);
    if (all || strcmp(group, "damage") == 0)
        ran++, failures += cmocka_run_group_tests_name("damaged database files", damage_tests, NULL, NULL);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(base);
    else
        printf("kept %s\n", base);
    if (!ran) {
        fprintf(stderr, "usage: integrity_test [all|keys|damage|files]\n");
        return 2;
    }
    return failures ? 1 : 0;
}
