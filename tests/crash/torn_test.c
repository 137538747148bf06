/*
 * torn_test.c -- a write-ahead log whose last record was cut short by a killed write.
 *
 * A process killed while it writes a log record leaves the record's first part: the kernel
 * stops a write() at a page boundary, and RocksDB writes a record larger than its buffer
 * in pieces, flushing between a fragment's header and its payload.  Such a write never
 * returned, so nothing acted on it: the database must open and recover as if the record
 * had never been written.  A record cut anywhere else is damage, and is refused as such.
 *
 * The log is the one a run killed just after its second write step's INTENT leaves, that
 * INTENT holding 120 KB of executeData (a record of four fragments over four 32 KiB
 * blocks).  Each case cuts a copy of it at one offset inside that record and runs
 * `provost recover`: a torn write rolls back the first step only (the second was never
 * journaled, so never called); damage is refused and nothing is called.
 */
#define _GNU_SOURCE /* vasprintf, memmem */
#include "cli_harness.h"

#define BLOCK 32768
#define HEADER 7

static const char ns[] = "<namespace name=\"C\" providerSource=\"test\">"
                         "<procedure name=\"W1\" type=\"write\" saveDataForRollback=\"1\"/>"
                         "<procedure name=\"W2\" type=\"write\" saveDataForRollback=\"1\"/>"
                         "</namespace>";

/* The offset of the last record's first fragment in log data d[0..n) (the type byte of a
 * header: 1 full, 2 first, 3 middle, 4 last). */
static size_t last_record(const unsigned char *d, size_t n)
{
    size_t last = n, pos = 0;
    while (pos + HEADER <= n) {
        size_t in = pos % BLOCK;
        if (BLOCK - in < HEADER) {
            pos += BLOCK - in;
            continue;
        }
        size_t len = (size_t)d[pos + 4] | (size_t)d[pos + 5] << 8;
        unsigned type = d[pos + 6];
        if (type == 0)
            break;
        if (type == 1 || type == 2)
            last = pos;
        pos += HEADER + len;
    }
    assert_true(last < n);
    return last;
}

typedef struct cut {
    const char *what;
    size_t at;
    bool torn; /* opens and recovers, or refused as damaged */
} cut;

static void test_torn_tail(void **state)
{
    (void)state;
    char *dir = fmt("%s/torn", base), *db = fmt("%s/db", dir), *snap = fmt("%s/snapshot", dir),
         *trace = fmt("%s/trace", dir), *nsf = fmt("%s/c.xml", dir), *reqf = fmt("%s/request.xml", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_bytes(nsf, ns, sizeof ns - 1, 0600);
    size_t big = 120000;
    char *filler = malloc(big + 1);
    assert_non_null(filler);
    memset(filler, 'x', big);
    filler[big] = 0;
    char *req = fmt("<request><data/><procedure>"
                    "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>torn-w1</m></executeData></execute>"
                    "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>torn-w2 %s</m></executeData></execute>"
                    "</procedure></request>",
                    filler);
    write_bytes(reqf, req, strlen(req), 0600);
    free(req);
    free(filler);
    result r = provost(db, 0, NULL, "register", nsf, NULL);
    assert_int_equal(r.status, 0);
    result_free(&r);
    /* points 2k are just after the kth write: BEGIN, INTENT W1, DONE W1, INTENT W2 */
    r = provost(db, 8, trace, "run", reqf, NULL);
    assert_int_equal(r.status, -1);
    result_free(&r);
    assert_int_equal(unlink(trace), 0);
    char *wal = file_holding(db, ".log", "torn-w2");
    assert_non_null(wal);
    const char *name = strrchr(wal, '/') + 1;
    size_t len;
    unsigned char *data = (unsigned char *)read_file(wal, &len);
    assert_non_null(data);
    size_t start = last_record(data, len);
    assert_int_equal(data[start + 6], 2); /* W2's INTENT is a fragmented record */
    free(data);
    copy_dir(db, snap);

    size_t next_block = (start / BLOCK + 1) * BLOCK, page = 4096;
    assert_true(next_block + 2 * BLOCK < len); /* the record fills whole blocks after it */
    const cut cuts[] = {
        {"after its first fragment", next_block, true},
        {"just after a middle fragment's header", next_block + HEADER, true},
        {"at a page boundary inside a fragment", next_block + 3 * page, true},
        {"inside a fragment, off a page boundary", next_block + HEADER + 1000, false},
        {"inside a header, off a page boundary", next_block + 3, false},
    };
    char *copy = fmt("%s/%s", db, name);
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        const cut *c = &cuts[i];
        copy_dir(snap, db);
        assert_int_equal(truncate(copy, (off_t)c->at), 0);
        unlink(trace);
        r = provost(db, 0, trace, "recover", NULL);
        char *t = read_file(trace, NULL);
        if (c->torn) {
            if (r.status != 0 || !t || strcmp(t, "rollback\tC/W1\t<executeData><m>torn-w1</m></executeData>\n") != 0)
                fail_msg("%s cut %s (byte %zu): recover ended with %d, calls:\n%s%s%s", name, c->what, c->at, r.status,
                         t ? t : "(none)\n", r.out, r.err);
        } else {
            if (r.status != 2 || !strstr(r.err, "is damaged") || !strstr(r.err, "cut short") || t)
                fail_msg("%s cut %s (byte %zu): recover ended with %d, not refused as damaged\n%s%s", name, c->what,
                         c->at, r.status, r.out, r.err);
        }
        printf("  %s cut %s: %s\n", name, c->what, c->torn ? "recovered as never written" : "refused as damaged");
        free(t);
        result_free(&r);
        /* a recovered database stays whole: the next command opens it and finds nothing */
        if (c->torn) {
            r = provost(db, 0, trace, "txn", "list", NULL);
            assert_int_equal(r.status, 0);
            result_free(&r);
        }
    }
    free(copy);
    free(wal);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
    free(snap);
    free(trace);
    free(nsf);
    free(reqf);
}

int main(void)
{
    unsetenv("PROVOST_CRASH_POINT");
    unsetenv("PROVOST_JOURNAL_FAIL");
    unsetenv("PROVOST_TEST_TRACE");
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/provost-torn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror(base);
        return 2;
    }
    strcpy(secret, "no-secret-in-this-test");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torn_tail),
    };
    int failures = cmocka_run_group_tests_name("a write-ahead log cut short by a killed write", tests, NULL, NULL);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(base);
    return failures ? 1 : 0;
}
