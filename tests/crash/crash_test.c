/*
 * crash_test.c -- crash tests of the transaction journal (SPEC §6).  Requests run in a
 * child process (crash_child) that is killed with SIGKILL at chosen moments; recovery then
 * runs, and the test provider's trace (PROVOST_TEST_TRACE: one line per process, prepare,
 * commit and rollback call) must show every transaction all-or-nothing.
 *
 *   crash_test sweep      every journal point of several request shapes, and a crash of
 *                         recovery itself at every one of its journal points
 *   crash_test faults     a failing journal write (disk full) at every write, a disk that
 *                         stays full from every write on, a failing sync at every write
 *   crash_test stuck      a compensation that keeps failing: parked, listed, resolved
 *   crash_test sensitive  sensitive executeData never reaches the database files in clear,
 *                         nor the stdout or stderr of any command (in-process recovery too)
 *   crash_test random     kills at random moments during a multi-threaded batch
 *
 * How a trace is judged.  Every provider call of a shape carries a unique marker in its
 * executeData, or has a procedure name of its own, so each trace line names one call.  A
 * kill at journal point p leaves the run's trace R(p); R(p) minus R(p-1) are the calls made
 * after the last journal write before the kill: their outcome is unknown to the journal
 * ("in doubt"), so recovery may legitimately repeat them (a rollback or commit made once
 * more for each kill that left it in doubt, a failed call rolled back).  Nothing else may
 * be repeated.  With the recovery's trace C
 * appended, a shape is either complete (the trace of an undisturbed run, no rollback) or
 * rolled back: every call whose process succeeded is rolled back exactly once after it,
 * newest first, a call that failed never is, and the only call rolled back without having
 * run is the one right after the last that ran (its INTENT was written, the call was not
 * made).  The random kills cannot know their journal point, so there "in doubt" is read
 * off the trace instead: the call in doubt is the last one the request's thread made
 * before the kill, and its repetition comes from recovery.
 *
 * Databases live under PROVOST_CRASH_DIR, else /dev/shm, else TMPDIR, else /tmp (a SIGKILL
 * loses nothing the process wrote, so a memory file system proves as much as a disk and is
 * faster).  The directory is removed at the end unless PROVOST_CRASH_KEEP is set.
 */
#define _GNU_SOURCE /* vasprintf, memmem, nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provost/provost.h"
#include "vm/db.h"

#ifndef CRASH_CHILD
#error "CRASH_CHILD must name the crash_child program"
#endif
#ifndef PROVOST_CLI
#error "PROVOST_CLI must name the provost command"
#endif

#define MAX_POINTS 400   /* a shape has far fewer journal points: the sweep stops by itself */
#define MAX_CALLS 32
#define EXIT_REQUEST_FAILED 10

static char base[PATH_MAX];

/* ---- small helpers ---------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        assert_true(got >= 0);
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A database directory is flat: copy its regular files, modes kept. */
static void copy_dir(const char *from, const char *to)
{
    rm_rf(to);
    assert_int_equal(mkdir(to, 0700), 0);
    DIR *d = opendir(from);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char *src = fmt("%s/%s", from, e->d_name), *dst = fmt("%s/%s", to, e->d_name);
        struct stat st;
        assert_int_equal(lstat(src, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        size_t len;
        char *data = read_file(src, &len);
        assert_non_null(data);
        int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
        free(data);
        free(src);
        free(dst);
    }
    closedir(d);
}

/* Whether any file under dir holds needle (bytes, anywhere). */
static bool dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char *path = fmt("%s/%s", dir, e->d_name);
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            found = dir_contains(path, needle);
        } else if (S_ISREG(st.st_mode)) {
            size_t len;
            char *data = read_file(path, &len);
            assert_non_null(data);
            found = memmem(data, len, needle, strlen(needle)) != NULL;
            free(data);
        }
        free(path);
    }
    closedir(d);
    return found;
}

/* ---- lines ------------------------------------------------------------------------------ */

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_push(lines *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n] = strdup(s);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (lines){0};
}

static void lines_append(lines *to, const lines *from, size_t start)
{
    for (size_t i = start; i < from->n; i++)
        lines_push(to, from->v[i]);
}

/* The complete lines of a file (a missing file has none).  A last line without its line
 * feed was cut by a kill in the middle of its write: it is not there. */
static lines read_lines(const char *path)
{
    lines l = {0};
    char *text = read_file(path, NULL);
    if (!text)
        return l;
    for (char *p = text, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        lines_push(&l, p);
    }
    free(text);
    return l;
}

static bool lines_has(const lines *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static bool lines_equal(const lines *a, const lines *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return false;
    return true;
}

static bool lines_prefix(const lines *a, const lines *b)
{
    if (a->n > b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return false;
    return true;
}

static void lines_print(const char *title, const lines *l)
{
    fprintf(stderr, "  %s (%zu lines):\n", title, l->n);
    for (size_t i = 0; i < l->n; i++)
        fprintf(stderr, "    %3zu %s\n", i, l->v[i]);
}

/* ---- processes -------------------------------------------------------------------------- */

/* While a sensitive test runs, its password: no command's stdout or stderr may hold it. */
static const char *secret;

/* Fails when the file at path (a command's output) holds the secret. */
static void no_secret(const char *what, const char *path)
{
    size_t len;
    char *text = secret && path ? read_file(path, &len) : NULL;
    if (text && memmem(text, len, secret, strlen(secret)))
        fail_msg("the password reached the %s of a command (%s):\n%s", what, path, text);
    free(text);
}

/* A child's stderr while a secret is looked for. */
static char *child_err(void)
{
    return fmt("%s/child.err", base);
}

typedef struct hooks {
    long crash_point;  /* PROVOST_CRASH_POINT, 0 for none */
    long journal_fail; /* PROVOST_JOURNAL_FAIL, 0 for none */
    long journal_full; /* PROVOST_JOURNAL_FULL, 0 for none */
    long sync_fail;    /* PROVOST_JOURNAL_SYNC_FAIL, 0 for none */
    const char *trace; /* PROVOST_TEST_TRACE, NULL for none */
} hooks;

extern char **environ;

/* Starts argv with the hooks in its environment; its stdout goes to file out (or
 * /dev/null), or to out_fd when that is >= 0.  posix_spawn, not fork: copying the page
 * tables of a sanitized test process for every child would cost more than the child. */
static pid_t spawn(char *const argv[], const hooks *h, const char *out, int out_fd, int close_fd)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 6, sizeof *envp), *owned[5] = {NULL, NULL, NULL, NULL, NULL};
    assert_non_null(envp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PROVOST_CRASH_POINT=", 20) != 0 &&
            strncmp(environ[i], "PROVOST_JOURNAL_FAIL=", 21) != 0 &&
            strncmp(environ[i], "PROVOST_JOURNAL_FULL=", 21) != 0 &&
            strncmp(environ[i], "PROVOST_JOURNAL_SYNC_FAIL=", 26) != 0 &&
            strncmp(environ[i], "PROVOST_TEST_TRACE=", 19) != 0)
            envp[m++] = environ[i];
    if (h->crash_point > 0)
        envp[m++] = owned[0] = fmt("PROVOST_CRASH_POINT=%ld", h->crash_point);
    if (h->journal_fail > 0)
        envp[m++] = owned[1] = fmt("PROVOST_JOURNAL_FAIL=%ld", h->journal_fail);
    if (h->trace)
        envp[m++] = owned[2] = fmt("PROVOST_TEST_TRACE=%s", h->trace);
    if (h->journal_full > 0)
        envp[m++] = owned[3] = fmt("PROVOST_JOURNAL_FULL=%ld", h->journal_full);
    if (h->sync_fail > 0)
        envp[m++] = owned[4] = fmt("PROVOST_JOURNAL_SYNC_FAIL=%ld", h->sync_fail);
    envp[m] = NULL;
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    if (close_fd >= 0)
        assert_int_equal(posix_spawn_file_actions_addclose(&fa, close_fd), 0);
    char *err = secret ? child_err() : NULL;
    if (err)
        assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    free(err);
    if (out_fd >= 0) {
        assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out_fd, 1), 0);
        assert_int_equal(posix_spawn_file_actions_addclose(&fa, out_fd), 0);
    } else {
        assert_int_equal(
            posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < 5; i++)
        free(owned[i]);
    free(envp);
    if (rc != 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(rc));
    return pid;
}

static int wait_for(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    return st;
}

static int run_child(char *const argv[], const hooks *h, const char *out)
{
    int st = wait_for(spawn(argv, h, out, -1, -1));
    if (secret) {
        char *err = child_err(), *text = read_file(err, NULL);
        if (text)
            fputs(text, stderr); /* what it said still shows */
        free(text);
        no_secret("standard output", out);
        no_secret("standard error", err);
        free(err);
    }
    return st;
}

/* This process's stderr into a file while the engine runs in it (recovery), so that the
 * secret can be looked for there too: returns the saved descriptor for stderr_back. */
static int stderr_to(const char *path)
{
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved, const char *path)
{
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    char *text = read_file(path, NULL);
    if (text)
        fputs(text, stderr);
    free(text);
    no_secret("standard error", path);
}

static bool killed(int st)
{
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static char *describe_status(int st)
{
    if (WIFEXITED(st))
        return fmt("exit %d", WEXITSTATUS(st));
    if (WIFSIGNALED(st))
        return fmt("signal %d", WTERMSIG(st));
    return fmt("status 0x%x", st);
}

/* The failure code of a response, 0 for success. */
static uint32_t response_code(const char *path)
{
    char *xml = read_file(path, NULL);
    assert_non_null(xml);
    uint32_t code = 0;
    const char *c = strstr(xml, "<errorContext code=\"0x");
    if (c)
        code = (uint32_t)strtoul(c + strlen("<errorContext code=\"0x"), NULL, 16);
    free(xml);
    return code;
}

/* ---- the engine in this process -------------------------------------------------------- */

static provost_engine *open_engine(const char *db, const char *trace)
{
    if (trace)
        setenv("PROVOST_TEST_TRACE", trace, 1);
    else
        unsetenv("PROVOST_TEST_TRACE");
    provost_options o = {.db_path = db, .caller = "crash-test", .sync = PROVOST_SYNC_NONE};
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        fprintf(stderr, "open %s: 0x%08X %s\n", db, err.code, err.message);
    assert_non_null(e);
    return e;
}

static size_t journal_size(provost_engine *e, size_t *stuck)
{
    provost_txn_info *v;
    size_t n;
    provost_error err;
    assert_int_equal(provost_txn_list(e, &v, &n, &err), 0);
    *stuck = 0;
    for (size_t i = 0; i < n; i++)
        *stuck += v[i].stuck != NULL;
    provost_txn_info_free(v, n);
    return n;
}

/* Recovery: opening the engine recovers.  Then a second recovery (an explicit
 * provost_recover, which reads the journal again; with reopen, in a new engine, after the
 * first is closed) must add no trace line: recovery is idempotent.  The journal must then
 * hold exactly `stuck` transactions, all stuck.  Returns the recovery's trace. */
static lines recover_check_how(const char *db, const char *trace, size_t stuck, bool reopen)
{
    unlink(trace);
    provost_engine *e = open_engine(db, trace);
    size_t nstuck, n = journal_size(e, &nstuck);
    lines first = read_lines(trace);
    if (n != stuck || nstuck != stuck)
        lines_print("recovery trace", &first);
    assert_int_equal(n, stuck);
    assert_int_equal(nstuck, stuck);
    if (reopen) {
        provost_close(e);
        e = open_engine(db, trace);
    }
    provost_recovery rec;
    provost_error err;
    assert_int_equal(provost_recover(e, &rec, &err), 0);
    assert_int_equal(rec.rolled_back, 0);
    assert_int_equal(rec.committed, 0);
    provost_close(e);
    unsetenv("PROVOST_TEST_TRACE");
    lines again = read_lines(trace);
    if (!lines_equal(&first, &again)) {
        lines_print("first recovery", &first);
        lines_print("after a second recovery", &again);
        fail_msg("a second recovery repeated calls");
    }
    lines_free(&again);
    return first;
}

static lines recover_check(const char *db, const char *trace, size_t stuck)
{
    return recover_check_how(db, trace, stuck, true);
}

/* ---- trace lines of a shape ------------------------------------------------------------ */

typedef struct tline {
    char phase;      /* p process, P prepare, c commit, r rollback */
    char nsproc[128];
    const char *data;
} tline;

/* PHASE<TAB>NS/PROC<TAB>EXECUTEDATA; false when s is not that. */
static bool parse_line(const char *s, tline *t)
{
    const char *tab1 = strchr(s, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
    if (!tab2 || strchr(tab2 + 1, '\t') || (size_t)(tab2 - tab1 - 1) >= sizeof t->nsproc)
        return false;
    size_t plen = (size_t)(tab1 - s);
    t->phase = plen == 7 && !strncmp(s, "process", 7)    ? 'p'
               : plen == 7 && !strncmp(s, "prepare", 7)  ? 'P'
               : plen == 6 && !strncmp(s, "commit", 6)   ? 'c'
               : plen == 8 && !strncmp(s, "rollback", 8) ? 'r'
                                                          : 0;
    memcpy(t->nsproc, tab1 + 1, (size_t)(tab2 - tab1 - 1));
    t->nsproc[tab2 - tab1 - 1] = 0;
    t->data = tab2 + 1;
    return t->phase != 0;
}

static void parse(const char *s, tline *t)
{
    if (!parse_line(s, t))
        fail_msg("not a trace line: %s", s);
}

static const char *proc_of(const char *nsproc)
{
    const char *slash = strrchr(nsproc, '/');
    return slash ? slash + 1 : nsproc;
}

typedef struct call {
    char nsproc[128];
    const char *data;
    bool fails;  /* the test provider's Fail: its process fails */
    bool read;   /* a read call (the shapes name them Read...): never journaled */
    int prepares, commits; /* in the undisturbed run */
} call;

typedef struct calls {
    call v[MAX_CALLS];
    size_t n;
} calls;

/* The call a trace line is about: same procedure and executeData, or, for the later phases
 * of a call that does not save its executeData (they get an empty one), the only call of
 * that procedure. */
static int match(const calls *c, const tline *t)
{
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->v[k].nsproc, t->nsproc) == 0 && strcmp(c->v[k].data, t->data) == 0)
            return (int)k;
    if (t->phase == 'p' || strcmp(t->data, "<executeData/>") != 0)
        return -1;
    int found = -1;
    for (size_t k = 0; k < c->n; k++)
        if (strcmp(c->v[k].nsproc, t->nsproc) == 0) {
            if (found >= 0)
                return -1;
            found = (int)k;
        }
    return found;
}

/* The calls of a shape, in call order, from the trace of an undisturbed run. */
static void calls_of(const lines *N, calls *c)
{
    c->n = 0;
    for (size_t i = 0; i < N->n; i++) {
        tline t = {0};
        parse(N->v[i], &t);
        if (t.phase != 'p')
            continue;
        assert_true(c->n < MAX_CALLS);
        call *k = &c->v[c->n++];
        memset(k, 0, sizeof *k);
        strcpy(k->nsproc, t.nsproc);
        k->data = t.data;
        k->fails = strcasecmp(proc_of(t.nsproc), "Fail") == 0;
        k->read = strncasecmp(proc_of(t.nsproc), "Read", 4) == 0;
    }
    for (size_t i = 0; i < N->n; i++) {
        tline t = {0};
        parse(N->v[i], &t);
        int k = match(c, &t);
        if (k < 0)
            fail_msg("an undisturbed run's trace line of no call: %s", N->v[i]);
        c->v[k].prepares += t.phase == 'P';
        c->v[k].commits += t.phase == 'c';
    }
}

enum outcome { NOTHING, COMPLETE, ROLLED_BACK };

/* How many times call k's PHASE (r or c) was made just before a kill, unknown to the
 * journal: each time, the next recovery may make it once more. */
static int in_doubt(const calls *c, const lines *doubt, size_t k, char phase)
{
    int n = 0;
    for (size_t i = 0; i < doubt->n; i++) {
        tline t = {0};
        parse(doubt->v[i], &t);
        n += t.phase == phase && match(c, &t) == (int)k;
    }
    return n;
}

static const char *outcome_name[] = {"nothing", "complete", "rolled back"};

static const char *judging;
static const lines *judged, *judged_doubt;

static void verdict(const char *why, ...) __attribute__((format(printf, 1, 2)));
static void verdict(const char *why, ...)
{
    va_list ap;
    va_start(ap, why);
    fprintf(stderr, "ALL-OR-NOTHING VIOLATED (%s): ", judging);
    vfprintf(stderr, why, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    lines_print("trace: run, then recovery", judged);
    lines_print("calls in doubt at the kill", judged_doubt);
    fail_msg("all-or-nothing violated (%s)", judging);
}

#define JUDGE(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond))                                                                            \
            verdict(__VA_ARGS__);                                                               \
    } while (0)

/* Judges trace T (the run's nrun lines, then recovery's) against N, the trace of an
 * undisturbed run; doubt holds the lines made after the last journal write before a kill. */
static enum outcome judge(const char *what, const lines *N, const lines *T, size_t nrun, const lines *doubt)
{
    judging = what;
    judged = T;
    judged_doubt = doubt;
    calls c;
    calls_of(N, &c);
    bool request_fails = false;
    for (size_t i = 0; i < N->n; i++)
        request_fails |= strncmp(N->v[i], "rollback\t", 9) == 0;
    int proc[MAX_CALLS] = {0}, prep[MAX_CALLS] = {0}, com[MAX_CALLS] = {0}, rb[MAX_CALLS] = {0};
    size_t processed = 0;
    int last_rb = INT_MAX;
    bool any_rb = false, any_commit = false;
    for (size_t i = 0; i < T->n; i++) {
        tline t = {0};
        parse(T->v[i], &t);
        int k = match(&c, &t);
        JUDGE(k >= 0, "line %zu is no call of the request", i);
        bool doubtful = lines_has(doubt, T->v[i]);
        switch (t.phase) {
        case 'p':
            JUDGE(i < nrun, "recovery called process (line %zu)", i);
            JUDGE(!proc[k], "a call was processed twice (line %zu)", i);
            JUDGE((size_t)k == processed, "calls out of order (line %zu)", i);
            JUDGE(!any_rb, "a call was processed after a rollback (line %zu)", i);
            proc[k] = 1;
            processed++;
            break;
        case 'P':
            JUDGE(proc[k] && !c.v[k].read, "prepare of a call that did not run (line %zu)", i);
            JUDGE(++prep[k] == 1, "a call was prepared twice (line %zu)", i);
            break;
        case 'c':
            JUDGE(proc[k] && prep[k], "commit of a call that was not prepared (line %zu)", i);
            JUDGE(++com[k] <= 1 + in_doubt(&c, doubt, (size_t)k, 'c'), "a call was committed again, and not in doubt "
                  "(line %zu)", i);
            any_commit = true;
            break;
        case 'r':
            JUDGE(!c.v[k].read, "a read call was rolled back (line %zu)", i);
            JUDGE(k < last_rb || (k == last_rb && doubtful), "rollbacks not newest first (line %zu)", i);
            last_rb = k;
            rb[k]++;
            any_rb = true;
            break;
        }
    }
    if (!any_rb) {
        if (processed == 0) {
            JUDGE(!any_commit, "commit without any call");
            return NOTHING;
        }
        JUDGE(!request_fails, "a failing request's calls were not rolled back");
        JUDGE(processed == c.n, "only %zu of the %zu calls ran and nothing was rolled back", processed, c.n);
        for (size_t k = 0; k < c.n; k++) {
            JUDGE(prep[k] == c.v[k].prepares, "call %zu prepared %d times, %d expected", k, prep[k], c.v[k].prepares);
            /* more than once only in doubt, checked above */
            JUDGE(com[k] == c.v[k].commits || (c.v[k].commits == 1 && com[k] > 1), "call %zu committed %d times, %d "
                  "expected", k, com[k], c.v[k].commits);
        }
        return COMPLETE;
    }
    JUDGE(!any_commit, "a transaction was both committed and rolled back");
    for (size_t k = 0; k < c.n; k++) {
        if (c.v[k].read)
            continue;
        if (proc[k] && c.v[k].fails) {
            /* only when the kill came before the journal knew it failed */
            char *line = fmt("process\t%s\t%s", c.v[k].nsproc, c.v[k].data);
            JUDGE(rb[k] == 0 || (lines_has(doubt, line) && rb[k] <= 1 + in_doubt(&c, doubt, k, 'r')),
                  "a call that failed was rolled back %d times (call %zu)", rb[k], k);
            free(line);
        } else if (proc[k]) {
            JUDGE(rb[k] >= 1, "call %zu succeeded and was not rolled back", k);
            JUDGE(rb[k] <= 1 + in_doubt(&c, doubt, k, 'r'), "call %zu was rolled back %d times, and not in doubt", k,
                  rb[k]);
        } else {
            /* its INTENT was written, the call not made: rolled back in doubt */
            JUDGE(rb[k] == 0 || (k == processed && rb[k] <= 1 + in_doubt(&c, doubt, k, 'r')),
                  "call %zu never ran and was rolled back %d times", k, rb[k]);
        }
    }
    return ROLLED_BACK;
}

/* ---- shapes ----------------------------------------------------------------------------- */

/* The provider namespace of every shape: test provider procedures whose names say what
 * they do (any name the test provider does not know behaves as Echo). */
static const char *const ns_c =
    "<namespace name=\"C\" providerSource=\"test\">"
    "<procedure name=\"W1\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"W2\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"W3\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"H\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"X1\" type=\"write\"/>"
    "<procedure name=\"X2\" type=\"write\"/>"
    "<procedure name=\"Y1\" type=\"twoPhase\"/>"
    "<procedure name=\"T1\" type=\"twoPhase\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"T2\" type=\"twoPhase\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"FailPrepare\" type=\"twoPhase\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"FailRollback\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"Fail\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"Crash\" type=\"write\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"Read1\" type=\"read\"/>"
    "</namespace>";

/* Namespace procedures calling provider procedures, two levels deep. */
static const char *const ns_outer =
    "<namespace name=\"Outer\">"
    "<procedure name=\"Provision\" type=\"write\">"
    "<execute namespace=\"C\" procedure=\"W1\"><executeData><m>nested-w1</m></executeData></execute>"
    "<execute namespace=\"Outer\" procedure=\"Inner\"/>"
    "</procedure>"
    "<procedure name=\"Inner\" type=\"write\">"
    "<execute namespace=\"C\" procedure=\"T1\"><executeData><m>nested-t1</m></executeData></execute>"
    "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>nested-w2</m></executeData></execute>"
    "</procedure>"
    "</namespace>";

#define STEP(proc, marker)                                                                                   \
    "<execute namespace=\"C\" procedure=\"" proc "\"><executeData><m>" marker "</m></executeData></execute>"
#define REQUEST(steps) "<request><data/><procedure>" steps "</procedure></request>"

typedef struct shape {
    const char *name;
    const char *request;
    bool outer;  /* registers Outer too */
} shape;

static const shape shapes[] = {
    {"three-writes", REQUEST(STEP("W1", "tw-1") STEP("W2", "tw-2") STEP("W3", "tw-3")), false},
    {"fail-after-two", REQUEST(STEP("W1", "fa-1") STEP("W2", "fa-2") STEP("Fail", "fa-3")), false},
    {"two-phase", REQUEST(STEP("T1", "tp-1") STEP("W1", "tp-2") STEP("T2", "tp-3")), false},
    {"fail-prepare", REQUEST(STEP("T1", "fp-1") STEP("FailPrepare", "fp-2") STEP("T2", "fp-3")), false},
    {"nested",
     REQUEST("<execute namespace=\"Outer\" procedure=\"Provision\"/>" STEP("Read1", "ne-r") STEP("W3", "ne-3")),
     true},
    {"try-catch", REQUEST("<try>" STEP("W1", "tc-1") STEP("Fail", "tc-f") "</try><catch>" STEP("H", "tc-h")
                          "</catch>" STEP("W2", "tc-2") STEP("W3", "tc-3")), false},
    {"no-saved-data", REQUEST(STEP("X1", "ns-1") STEP("W1", "ns-2") STEP("Y1", "ns-3") STEP("X2", "ns-4")), false},
};

typedef struct place {
    char *dir, *template_db, *db, *request, *run_trace, *rec_trace, *out;
} place;

/* A directory for one case: the request, and a database with the namespaces registered
 * that every run starts from a copy of. */
static place prepare_place(const char *name, const char *request, bool outer)
{
    place p;
    p.dir = fmt("%s/%s", base, name);
    rm_rf(p.dir);
    assert_int_equal(mkdir(p.dir, 0700), 0);
    p.template_db = fmt("%s/template", p.dir);
    p.db = fmt("%s/db", p.dir);
    p.request = fmt("%s/request.xml", p.dir);
    p.run_trace = fmt("%s/run.trace", p.dir);
    p.rec_trace = fmt("%s/recovery.trace", p.dir);
    p.out = fmt("%s/response.xml", p.dir);
    write_file(p.request, request);
    provost_engine *e = open_engine(p.template_db, NULL);
    provost_error err;
    assert_int_equal(provost_register(e, "c.xml", ns_c, strlen(ns_c), NULL, &err), 0);
    if (outer && provost_register(e, "outer.xml", ns_outer, strlen(ns_outer), NULL, &err) != 0)
        fail_msg("register Outer: %s", err.message);
    provost_close(e);
    return p;
}

static void place_free(place *p)
{
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(p->dir);
    free(p->dir);
    free(p->template_db);
    free(p->db);
    free(p->request);
    free(p->run_trace);
    free(p->rec_trace);
    free(p->out);
}

/* Runs the request on a fresh copy of the template database. */
static int run_request(const place *p, const char *db, const hooks *h_in)
{
    hooks h = *h_in;
    h.trace = p->run_trace;
    unlink(p->run_trace);
    copy_dir(p->template_db, db);
    /* sync group: the kills land around the journal's own shared syncs, as in production
     * (the points are the same in every mode; on a memory file system a sync costs little) */
    char *argv[] = {CRASH_CHILD, (char *)db, "group", "run", p->request, NULL};
    return run_child(argv, &h, p->out);
}

/* The undisturbed run: its trace, its exit status (0 or 10), its failure code. */
static lines reference_run(const place *p, int *status, uint32_t *code)
{
    hooks h = {0};
    int st = run_request(p, p->db, &h);
    if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != EXIT_REQUEST_FAILED))
        fail_msg("the undisturbed run ended with %s", describe_status(st));
    *status = WEXITSTATUS(st);
    *code = response_code(p->out);
    lines N = read_lines(p->run_trace);
    assert_true(N.n > 0);
    lines C = recover_check(p->db, p->rec_trace, 0);
    if (C.n) {
        lines_print("recovery after a finished request", &C);
        fail_msg("recovery after a finished request called providers");
    }
    lines_free(&C);
    return N;
}

/* ---- sweep: a kill at every journal point ----------------------------------------------- */

/* A crash of recovery itself: the run killed at point p (trace R, in doubt D, the full
 * recovery's trace Cfull), then recovery killed at each of its own journal points, then a
 * recovery to the end. */
static void crash_recovery(const place *p, const char *name, long point, const lines *N, const lines *R,
                           const lines *D, const lines *Cfull)
{
    char *snap = fmt("%s/snapshot", p->dir), *rec1 = fmt("%s/recovery1.trace", p->dir);
    hooks h = {.crash_point = point};
    int st = run_request(p, snap, &h);
    assert_true(killed(st));
    lines again = read_lines(p->run_trace);
    assert_true(lines_equal(&again, R)); /* the run is deterministic */
    lines_free(&again);
    lines prev = {0};
    long q;
    for (q = 1; q <= MAX_POINTS; q++) {
        copy_dir(snap, p->db);
        unlink(rec1);
        hooks hq = {.crash_point = q, .trace = rec1};
        st = run_child((char *[]){CRASH_CHILD, p->db, "none", "recover", NULL}, &hq, NULL);
        lines C1 = read_lines(rec1);
        if (!lines_prefix(&C1, Cfull) || C1.n < prev.n) {
            lines_print("recovery killed", &C1);
            lines_print("recovery to the end", Cfull);
            fail_msg("%s: recovery killed at point %ld did not do a prefix of the same work", name, q);
        }
        lines C2 = recover_check_how(p->db, p->rec_trace, 0, false); /* C2 is the second recovery */
        if (!killed(st)) {
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("%s: recovery ended with %s", name, describe_status(st));
            assert_true(lines_equal(&C1, Cfull));
            assert_int_equal(C2.n, 0);
            lines_free(&C1);
            lines_free(&C2);
            break;
        }
        lines T = {0}, doubt = {0};
        lines_append(&T, R, 0);
        lines_append(&T, &C1, 0);
        lines_append(&T, &C2, 0);
        lines_append(&doubt, D, 0);
        lines_append(&doubt, &C1, prev.n);
        char *what = fmt("%s, run killed at point %ld, recovery killed at point %ld", name, point, q);
        judge(what, N, &T, R->n, &doubt);
        free(what);
        lines_free(&T);
        lines_free(&doubt);
        lines_free(&C2);
        lines_free(&prev);
        prev = C1;
    }
    if (q > MAX_POINTS)
        fail_msg("%s: recovery still killed at point %d", name, MAX_POINTS);
    assert_true(q > 2 && q % 2 == 1);
    printf("  %s: run killed at point %ld, then recovery (%zu calls) killed at each of its %ld journal points\n",
           name, point, Cfull->n, q - 1);
    lines_free(&prev);
    rm_rf(snap);
    free(snap);
    free(rec1);
}

static void sweep(const shape *s)
{
    place p = prepare_place(s->name, s->request, s->outer);
    int n_status;
    uint32_t n_code;
    lines N = reference_run(&p, &n_status, &n_code);
    calls c;
    calls_of(&N, &c);
    size_t nwrites = 0;
    for (size_t k = 0; k < c.n; k++)
        nwrites += !c.v[k].read;
    /* where recovery has the most to do, rolling back and committing (rather where a call
     * was in doubt at the run's kill): kill it there too */
    lines prev = {0}, best_R[2] = {{0}}, best_D[2] = {{0}}, best_C[2] = {{0}};
    long best_point[2] = {0, 0}, point;
    int counts[3] = {0};
    for (point = 1; point <= MAX_POINTS; point++) {
        hooks h = {.crash_point = point};
        int st = run_request(&p, p.db, &h);
        lines R = read_lines(p.run_trace);
        if (!lines_prefix(&R, &N) || R.n < prev.n) {
            lines_print("undisturbed run", &N);
            lines_print("run killed", &R);
            fail_msg("%s: the run killed at point %ld did not do a prefix of the same work", s->name, point);
        }
        if (!killed(st)) {
            /* past the last journal point: the request ran to its end */
            if (!WIFEXITED(st) || WEXITSTATUS(st) != n_status)
                fail_msg("%s: with a crash point past the end, the run ended with %s", s->name, describe_status(st));
            assert_true(lines_equal(&R, &N));
            lines C = recover_check(p.db, p.rec_trace, 0);
            assert_int_equal(C.n, 0);
            lines_free(&C);
            lines_free(&R);
            break;
        }
        lines D = {0}, T = {0};
        lines_append(&D, &R, prev.n);
        lines C = recover_check(p.db, p.rec_trace, 0);
        lines_append(&T, &R, 0);
        lines_append(&T, &C, 0);
        char *what = fmt("%s, killed at point %ld", s->name, point);
        counts[judge(what, &N, &T, R.n, &D)]++;
        free(what);
        int commits = C.n && strncmp(C.v[0], "commit\t", 7) == 0;
        if (C.n > best_C[commits].n || (C.n && C.n == best_C[commits].n && D.n && !best_D[commits].n)) {
            lines_free(&best_R[commits]);
            lines_free(&best_D[commits]);
            lines_free(&best_C[commits]);
            lines_append(&best_R[commits], &R, 0);
            lines_append(&best_D[commits], &D, 0);
            lines_append(&best_C[commits], &C, 0);
            best_point[commits] = point;
        }
        lines_free(&D);
        lines_free(&T);
        lines_free(&C);
        lines_free(&prev);
        prev = R;
    }
    if (point > MAX_POINTS)
        fail_msg("%s: still killed at point %d", s->name, MAX_POINTS);
    long writes = (point - 1) / 2;
    assert_true(point % 2 == 1);
    assert_true((size_t)writes >= nwrites + 1); /* an INTENT per write call and the end at least */
    printf("  %s: %ld journal writes; killed at each of the %ld points: %d complete, %d rolled back, %d nothing "
           "done\n",
           s->name, writes, point - 1, counts[COMPLETE], counts[ROLLED_BACK], counts[NOTHING]);
    for (int i = 0; i < 2; i++) {
        if (best_point[i])
            crash_recovery(&p, s->name, best_point[i], &N, &best_R[i], &best_D[i], &best_C[i]);
        lines_free(&best_R[i]);
        lines_free(&best_D[i]);
        lines_free(&best_C[i]);
    }
    lines_free(&prev);
    lines_free(&N);
    place_free(&p);
}

static void test_sweep(void **state)
{
    sweep((const shape *)*state);
}

/* The test provider's Crash ends the process in the middle of a call, after its INTENT. */
static void test_crash_procedure(void **state)
{
    (void)state;
    place p = prepare_place("crash-procedure",
                            REQUEST(STEP("W1", "cp-1") STEP("T1", "cp-2") STEP("Crash", "cp-3") STEP("W2", "cp-4")),
                            false);
    hooks h = {0};
    int st = run_request(&p, p.db, &h);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 86)
        fail_msg("Crash: the child ended with %s, not exit 86", describe_status(st));
    lines R = read_lines(p.run_trace), C = recover_check(p.db, p.rec_trace, 0), T = {0}, N = {0}, D = {0};
    lines_append(&T, &R, 0);
    lines_append(&T, &C, 0);
    /* what would have run; the Crash call is in doubt */
    lines_append(&N, &R, 0);
    lines_push(&N, "process\tC/W2\t<executeData><m>cp-4</m></executeData>");
    lines_push(&D, R.v[R.n - 1]);
    assert_int_equal(judge("Crash", &N, &T, R.n, &D), ROLLED_BACK);
    assert_true(lines_has(&C, "rollback\tC/W1\t<executeData><m>cp-1</m></executeData>"));
    assert_true(lines_has(&C, "rollback\tC/T1\t<executeData><m>cp-2</m></executeData>"));
    lines_free(&R);
    lines_free(&C);
    lines_free(&T);
    lines_free(&N);
    lines_free(&D);
    place_free(&p);
}

/* ---- faults: a journal write that fails ------------------------------------------------- */

/* How many journal writes the undisturbed request makes: crash point p kills it exactly
 * when p <= 2W (binary search; the request is deterministic). */
static long count_writes(const place *p)
{
    long lo = 0, hi = MAX_POINTS; /* killed at 2*lo (or lo = 0), not at hi */
    hooks h0 = {.crash_point = hi};
    assert_false(killed(run_request(p, p->db, &h0)));
    while (hi - lo > 1) {
        long mid = (lo + hi) / 2;
        hooks h = {.crash_point = mid};
        if (killed(run_request(p, p->db, &h)))
            lo = mid;
        else
            hi = mid;
    }
    assert_true(lo % 2 == 0 && lo > 0);
    return lo / 2;
}

static int cli(const char *db, const char *trace, const char *out, const char *a1, const char *a2, const char *a3,
               const char *a4);

/* `provost txn list` says the journal is empty. */
static void journal_empty_cli(const place *p)
{
    char *out = fmt("%s/cli.out", p->dir);
    assert_int_equal(cli(p->db, NULL, out, "txn", "list", NULL, NULL), 0);
    char *text = read_file(out, NULL);
    if (!strstr(text, "no transaction in the journal"))
        fail_msg("provost txn list: %s", text);
    free(text);
    free(out);
}

static void faults(const char *name, const char *request, const char *must_not_run)
{
    place p = prepare_place(name, request, false);
    int n_status;
    uint32_t n_code;
    lines N = reference_run(&p, &n_status, &n_code);
    long writes = count_writes(&p);
    calls c;
    calls_of(&N, &c);
    /* once its commit is decided (journaled), a transaction is committed whatever fails */
    bool decides = false;
    for (size_t i = 0; i < N.n; i++)
        decides |= strncmp(N.v[i], "commit\t", 7) == 0;
    for (long k = 1; k <= writes; k++) {
        hooks h = {.journal_fail = k};
        int st = run_request(&p, p.db, &h);
        lines R = read_lines(p.run_trace);
        if (decides && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            lines C = recover_check(p.db, p.rec_trace, 0), T = {0}, none = {0};
            lines_append(&T, &R, 0);
            lines_append(&T, &C, 0);
            char *what = fmt("%s, journal write %ld failing", name, k);
            if (judge(what, &N, &T, R.n, &none) != COMPLETE || !lines_equal(&R, &N) || C.n)
                fail_msg("%s: the request succeeded and its calls are not all committed once", what);
            if (k == writes) /* recover_check saw it empty through the API every time */
                journal_empty_cli(&p);
            printf("  %s: succeeded (its commit was decided), committed\n", what);
            free(what);
            lines_free(&R);
            lines_free(&C);
            lines_free(&T);
            continue;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != EXIT_REQUEST_FAILED)
            fail_msg("%s: journal write %ld failing, the request ended with %s, not as a failure", name, k,
                     describe_status(st));
        uint32_t code = response_code(p.out);
        size_t processed = 0;
        for (size_t i = 0; i < R.n; i++)
            processed += strncmp(R.v[i], "process\t", 8) == 0;
        /* the journal failure, unless the request had already failed on its own */
        uint32_t want = n_status == 0 || processed < c.n ? PROVOST_E_JOURNAL : n_code;
        if (code != want)
            fail_msg("%s: journal write %ld failing: the response's code is 0x%08X, not 0x%08X", name, k, code, want);
        if (must_not_run)
            for (size_t i = 0; i < R.n; i++)
                if (strstr(R.v[i], must_not_run))
                    fail_msg("%s: journal write %ld failing: a catch handled the journal failure", name, k);
        lines C = recover_check(p.db, p.rec_trace, 0), T = {0}, none = {0};
        lines_append(&T, &R, 0);
        lines_append(&T, &C, 0);
        char *what = fmt("%s, journal write %ld failing", name, k);
        enum outcome o = judge(what, &N, &T, R.n, &none);
        if (o == COMPLETE)
            fail_msg("%s: a failed request's effects were kept", what);
        if (C.n) {
            lines_print("run", &R);
            lines_print("recovery", &C);
            fail_msg("%s: the request's own rollback was not final: recovery called providers again", what);
        }
        if (k == writes)
            journal_empty_cli(&p);
        printf("  %s: 0x%08X, %zu calls made, %s\n", what, code, processed, outcome_name[o]);
        free(what);
        lines_free(&R);
        lines_free(&C);
        lines_free(&T);
    }
    lines_free(&N);
    place_free(&p);
}

static void test_faults_three_writes(void **state)
{
    (void)state;
    faults("faults-three-writes", REQUEST(STEP("W1", "jf-1") STEP("W2", "jf-2") STEP("W3", "jf-3")), NULL);
}

static void test_faults_failing_request(void **state)
{
    (void)state;
    faults("faults-failing", REQUEST(STEP("W1", "jg-1") STEP("W2", "jg-2") STEP("Fail", "jg-3")), NULL);
}

static void test_faults_two_phase(void **state)
{
    (void)state;
    faults("faults-two-phase", REQUEST(STEP("T1", "jp-1") STEP("W1", "jp-2") STEP("T2", "jp-3")), NULL);
}

/* A journal failure is not catchable: the catch never runs. */
static void test_faults_not_caught(void **state)
{
    (void)state;
    faults("faults-try",
           REQUEST("<try>" STEP("W1", "jt-1") STEP("W2", "jt-2") "</try><catch>" STEP("H", "jt-h") "</catch>"
                       STEP("W3", "jt-3")),
           "C/H");
}

/* A disk that fills up at journal write k and stays full until the process ends (it has
 * room again for recovery, in a new process); with sync_fail, the kth write reaches the
 * log but its sync fails instead, once.  Whatever the request's own end did, recovery
 * finishes it, and no step is compensated or committed twice: the one repetition allowed
 * is of the run's very last call, when the write recording it was the one that failed (as
 * after a crash at that moment). */
static void faults_full(const char *name, const char *request, bool sync_fail)
{
    place p = prepare_place(name, request, false);
    int n_status;
    uint32_t n_code;
    lines N = reference_run(&p, &n_status, &n_code);
    long writes = count_writes(&p);
    for (long k = 1; k <= writes; k++) {
        hooks h = {.journal_full = sync_fail ? 0 : k, .sync_fail = sync_fail ? k : 0};
        int st = run_request(&p, p.db, &h);
        if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != EXIT_REQUEST_FAILED))
            fail_msg("%s: write %ld failing, the request ended with %s", name, k, describe_status(st));
        lines R = read_lines(p.run_trace), C = recover_check(p.db, p.rec_trace, 0), T = {0}, doubt = {0};
        lines_append(&T, &R, 0);
        lines_append(&T, &C, 0);
        if (R.n) /* no call is made after the first failed write: only the last is in doubt */
            lines_push(&doubt, R.v[R.n - 1]);
        char *what = fmt("%s, %s %ld", name, sync_fail ? "sync failing at write" : "disk full from write", k);
        enum outcome o = judge(what, &N, &T, R.n, &doubt);
        if (WEXITSTATUS(st) == EXIT_REQUEST_FAILED && o == COMPLETE)
            fail_msg("%s: a failed request's effects were kept", what);
        printf("  %s: %s, %zu calls in the run, %zu by recovery, %s\n", what,
               WEXITSTATUS(st) ? "failed" : "succeeded", R.n, C.n, outcome_name[o]);
        free(what);
        lines_free(&R);
        lines_free(&C);
        lines_free(&T);
        lines_free(&doubt);
    }
    lines_free(&N);
    place_free(&p);
}

static void test_full_failing_request(void **state)
{
    (void)state;
    faults_full("full-failing", REQUEST(STEP("W1", "ff-1") STEP("W2", "ff-2") STEP("W3", "ff-3") STEP("Fail", "ff-4")),
                false);
}

static void test_full_two_phase(void **state)
{
    (void)state;
    faults_full("full-two-phase", REQUEST(STEP("T1", "fq-1") STEP("W1", "fq-2") STEP("T2", "fq-3")), false);
}

static void test_sync_failing_request(void **state)
{
    (void)state;
    faults_full("sync-failing", REQUEST(STEP("W1", "sf-1") STEP("W2", "sf-2") STEP("Fail", "sf-3")), true);
}

static void test_sync_two_phase(void **state)
{
    (void)state;
    faults_full("sync-two-phase", REQUEST(STEP("T1", "sq-1") STEP("W1", "sq-2") STEP("T2", "sq-3")), true);
}

/* ---- stuck: a compensation that keeps failing ------------------------------------------- */

static int cli(const char *db, const char *trace, const char *out, const char *a1, const char *a2, const char *a3,
               const char *a4)
{
    hooks h = {.trace = trace};
    char *argv[] = {PROVOST_CLI, "--db", (char *)db, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int st = run_child(argv, &h, out);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static size_t count_line(const lines *l, const char *s)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        n += strcmp(l->v[i], s) == 0;
    return n;
}

static void test_stuck(void **state)
{
    (void)state;
    place p = prepare_place(
        "stuck",
        "<request><data/><context><clientContext clientTransactionId=\"client-stuck\"/></context><procedure>" STEP(
            "W1", "st-1") STEP("FailRollback", "st-2")
            "<execute namespace=\"C\" procedure=\"Fail\"><executeData><code>0x80071234</code>"
            "<description>the original failure</description></executeData></execute></procedure></request>",
        false);
    const char *rb_w1 = "rollback\tC/W1\t<executeData><m>st-1</m></executeData>",
               *rb_fr = "rollback\tC/FailRollback\t<executeData><m>st-2</m></executeData>";
    hooks h = {0};
    int st = run_request(&p, p.db, &h);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_REQUEST_FAILED);
    /* the response carries the original error, not the compensation's */
    char *resp = read_file(p.out, NULL);
    assert_non_null(strstr(resp, "code=\"0x80071234\""));
    assert_non_null(strstr(resp, "description=\"the original failure\""));
    free(resp);
    lines R = read_lines(p.run_trace);
    size_t tries = count_line(&R, rb_fr);
    assert_true(tries >= 1); /* with its retries */
    /* the older step waits: compensations run newest first, and a newer one is pending */
    assert_int_equal(count_line(&R, rb_w1), 0);
    for (size_t i = 0; i < R.n; i++)
        assert_null(strstr(R.v[i], "rollback\tC/Fail\t"));

    /* recovery leaves a stuck transaction to the operator */
    lines C = recover_check(p.db, p.rec_trace, 1);
    assert_int_equal(C.n, 0);
    lines_free(&C);
    provost_engine *e = open_engine(p.db, p.rec_trace);
    provost_txn_info *v;
    size_t n;
    provost_error err;
    assert_int_equal(provost_txn_list(e, &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_non_null(v[0].stuck);
    assert_non_null(strstr(v[0].stuck, "FailRollback"));
    assert_string_equal(v[0].client, "client-stuck");
    assert_false(v[0].commit_decided);
    assert_int_equal(v[0].nsteps, 3);
    assert_string_equal(v[0].steps[0].proc, "W1");
    assert_int_equal(v[0].steps[0].state, PROVOST_CALL_DONE);
    assert_string_equal(v[0].steps[1].proc, "FailRollback");
    assert_int_equal(v[0].steps[1].state, PROVOST_CALL_DONE);
    assert_string_equal(v[0].steps[2].proc, "Fail");
    assert_int_equal(v[0].steps[2].state, PROVOST_CALL_FAILED);
    char id[40];
    memcpy(id, v[0].id, sizeof id);
    provost_txn_info_free(v, n);

    /* a retry fails again: still stuck, and only the failing compensation is tried again */
    assert_int_not_equal(provost_txn_resolve(e, id, PROVOST_RESOLVE_RETRY, &err), 0);
    assert_int_equal(journal_size(e, &n), 1);
    assert_int_equal(n, 1);
    provost_close(e);
    unsetenv("PROVOST_TEST_TRACE");
    C = read_lines(p.rec_trace);
    assert_int_equal(C.n, tries);
    assert_int_equal(count_line(&C, rb_fr), tries);
    lines_free(&C);

    /* the command line shows it with its steps */
    char *out = fmt("%s/cli.out", p.dir);
    assert_int_equal(cli(p.db, p.rec_trace, out, "txn", "list", "--stuck", NULL), 0);
    char *text = read_file(out, NULL);
    assert_non_null(strstr(text, id));
    assert_non_null(strstr(text, "STUCK"));
    assert_non_null(strstr(text, "C/W1: done"));
    assert_non_null(strstr(text, "C/FailRollback: done"));
    assert_non_null(strstr(text, "C/Fail: failed"));
    free(text);
    assert_int_equal(cli(p.db, p.rec_trace, out, "recover", NULL, NULL, NULL), 1); /* 1: some are stuck */
    assert_int_equal(cli(p.db, p.rec_trace, out, "txn", "resolve", id, "--retry"), 1);
    assert_int_equal(cli(p.db, p.rec_trace, out, "txn", "resolve", id, "--rolled-back"), 0);
    assert_int_equal(cli(p.db, p.rec_trace, out, "txn", "list", "--stuck", NULL), 0);
    text = read_file(out, NULL);
    assert_null(strstr(text, id));
    free(text);
    free(out);

    /* gone: nothing left, nothing more rolled back; the command line's retry tried the
     * failing compensation (only it, never the older W1 behind it) once more */
    e = open_engine(p.db, p.rec_trace);
    assert_int_equal(journal_size(e, &n), 0);
    assert_int_not_equal(provost_txn_resolve(e, id, PROVOST_RESOLVE_RETRY, &err), 0);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    provost_close(e);
    unsetenv("PROVOST_TEST_TRACE");
    C = read_lines(p.rec_trace);
    assert_int_equal(C.n, 2 * tries);
    assert_int_equal(count_line(&C, rb_fr), 2 * tries);
    lines_free(&C);
    lines_free(&R);
    place_free(&p);
}

/* Spoils the sealed executeData of the first INTENT naming proc: its last byte (the
 * AES-GCM tag) flipped, as a bit flip on the disk would. */
typedef struct spoil {
    pvm_db *db;
    const char *proc;
    bool done;
} spoil;

static int spoil_record(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    spoil *s = ud;
    if (s->done || klen != 42 || vlen < 2 || val[0] != 2 || !memmem(val, vlen, s->proc, strlen(s->proc)))
        return 0;
    char *copy = malloc(vlen);
    assert_non_null(copy);
    memcpy(copy, val, vlen);
    copy[vlen - 1] ^= 0x01;
    char err[256];
    assert_int_equal(pvm_db_append(s->db, PVM_CF_JOURNAL, key, klen, copy, vlen, 1, err, sizeof err), 0);
    free(copy);
    s->done = true;
    return 0;
}

/* `txn resolve --retry` of a transaction whose sealed data cannot be opened: refused, the
 * records kept, no compensation made without its data. */
static void test_retry_unreadable(void **state)
{
    (void)state;
    place p = prepare_place("retry-unreadable",
                            "<request><data/><context><securityContext sensitive=\"1\"/></context><procedure>" STEP(
                                "W1", "ru-1") STEP("Crash", "ru-2") "</procedure></request>",
                            false);
    hooks h = {0};
    int st = run_request(&p, p.db, &h);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 86)
        fail_msg("Crash: the child ended with %s, not exit 86", describe_status(st));
    bool created;
    char err[256];
    pvm_db *db = pvm_db_open(p.db, &created, err, sizeof err);
    assert_non_null(db);
    spoil s = {.db = db, .proc = "W1"};
    assert_int_equal(pvm_db_each(db, PVM_CF_JOURNAL, spoil_record, &s, err, sizeof err), 0);
    assert_true(s.done);
    pvm_db_close(db);

    /* opening leaves it to the operator */
    unlink(p.rec_trace);
    provost_engine *e = open_engine(p.db, p.rec_trace);
    provost_txn_info *v;
    size_t n;
    provost_error perr;
    assert_int_equal(provost_txn_list(e, &v, &n, &perr), 0);
    assert_int_equal(n, 1);
    assert_non_null(v[0].stuck);
    char id[40];
    memcpy(id, v[0].id, sizeof id);
    provost_txn_info_free(v, n);
    provost_close(e);
    unsetenv("PROVOST_TEST_TRACE");

    char *out = fmt("%s/cli.out", p.dir);
    assert_int_equal(cli(p.db, p.rec_trace, out, "txn", "resolve", id, "--retry"), 1);
    lines C = read_lines(p.rec_trace);
    if (C.n) {
        lines_print("retry", &C);
        fail_msg("the retry compensated without the sealed data it could not open");
    }
    lines_free(&C);
    e = open_engine(p.db, NULL);
    assert_int_equal(journal_size(e, &n), 1); /* the records are kept */
    assert_int_not_equal(provost_txn_resolve(e, id, PROVOST_RESOLVE_RETRY, &perr), 0);
    if (!strstr(perr.message, "the records are kept"))
        fail_msg("the refusal does not say why: %s", perr.message);
    assert_int_equal(journal_size(e, &n), 1);
    provost_close(e);
    free(out);
    place_free(&p);
}

/* ---- sensitive data --------------------------------------------------------------------- */

static void sensitive(const char *name, const char *context_value, const char *execute_value, bool clear)
{
    char marker[64];
    unsigned char r[12];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, r, sizeof r), (ssize_t)sizeof r);
    close(fd);
    strcpy(marker, "SECRET-");
    for (size_t i = 0; i < sizeof r; i++)
        sprintf(marker + strlen(marker), "%02x", r[i]);
    char *request = fmt("<request><data/><context><securityContext%s%s%s/></context><procedure>"
                        "<execute namespace=\"C\" procedure=\"W1\"%s%s%s>"
                        "<executeData><secret>%s</secret></executeData></execute>"
                        "<execute namespace=\"C\" procedure=\"W2\"><executeData><m>after</m></executeData></execute>"
                        "</procedure></request>",
                        context_value ? " sensitive=\"" : "", context_value ? context_value : "",
                        context_value ? "\"" : "", execute_value ? " sensitive=\"" : "",
                        execute_value ? execute_value : "", execute_value ? "\"" : "", marker);
    place p = prepare_place(name, request, false);
    free(request);
    secret = marker;
    char *process = fmt("process\tC/W1\t<executeData><secret>%s</secret></executeData>", marker),
         *rollback = fmt("rollback\tC/W1\t<executeData><secret>%s</secret></executeData>", marker);
    /* kill at the first journal point after the call: its INTENT is in the journal */
    long point;
    for (point = 1; point <= MAX_POINTS; point++) {
        hooks h = {.crash_point = point};
        int st = run_request(&p, p.db, &h);
        assert_true(killed(st));
        lines R = read_lines(p.run_trace);
        bool called = lines_has(&R, process);
        lines_free(&R);
        if (called)
            break;
    }
    assert_true(point <= MAX_POINTS);
    bool found = dir_contains(p.db, marker);
    if (found != clear)
        fail_msg("%s: the marker is %s the database files after a kill", name, found ? "in" : "not in");
    char *key = fmt("%s/master.key", p.db);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    free(key);
    /* the operator's commands on the journal holding it (a copy: they recover too) */
    char *copy = fmt("%s/copy", p.dir), *out = fmt("%s/cli.out", p.dir), *err = fmt("%s/engine.err", p.dir);
    copy_dir(p.db, copy);
    assert_int_equal(cli(copy, NULL, out, "txn", "list", NULL, NULL), 0);
    assert_int_equal(cli(copy, NULL, out, "recover", NULL, NULL, NULL), 0);
    assert_int_equal(cli(copy, NULL, out, "txn", "list", "--stuck", NULL), 0);
    rm_rf(copy);
    /* recovery opens the sealed executeData: the rollback gets it in clear (and in this
     * process: its stderr is searched as well) */
    int saved = stderr_to(err);
    lines C = recover_check(p.db, p.rec_trace, 0);
    stderr_back(saved, err);
    assert_int_equal(count_line(&C, rollback), 1);
    lines_free(&C);
    free(copy);
    free(out);
    free(err);
    if (!clear)
        assert_false(dir_contains(p.db, marker));
    secret = NULL;
    printf("  %s: killed at point %ld; marker %s the database files, in no command's output\n", name, point,
           found ? "found in" : "not in");
    free(process);
    free(rollback);
    place_free(&p);
}

static void test_sensitive(void **state)
{
    (void)state;
    sensitive("sensitive-context", "1", NULL, false);
    sensitive("sensitive-execute", NULL, "1", false);
    sensitive("sensitive-clear", "1", "2", true); /* the step overrides: proves the search works */
    sensitive("sensitive-default", NULL, NULL, true);
}

/* ---- random kills during a multi-threaded batch ------------------------------------------ */

/* The Batch namespace of crash_child's batch: three steps, and Fail. */
static const char *const ns_batch = "<namespace name=\"Batch\" providerSource=\"test\">"
                                    "<procedure name=\"Step1\" type=\"write\" saveDataForRollback=\"1\"/>"
                                    "<procedure name=\"Step2\" type=\"write\" saveDataForRollback=\"1\"/>"
                                    "<procedure name=\"Step3\" type=\"write\" saveDataForRollback=\"1\"/>"
                                    "<procedure name=\"Fail\" type=\"write\" saveDataForRollback=\"1\"/>"
                                    "</namespace>";

#define THREADS 4
#define PER_THREAD 50
#define BATCH (THREADS * PER_THREAD)
#define MAX_EVENTS 16

typedef struct event {
    char phase;
    int step;
    bool from_run;
    const char *text;
} event;

typedef struct request_log {
    event ev[MAX_EVENTS];
    int n;
    int last_run; /* index of the last event from the run, -1 for none */
    int reported; /* 0 none, 1 committed, 2 failed */
    uint32_t code;
} request_log;

typedef struct random_totals {
    long rounds, killed, finished, complete, rolled_back, nothing, reported, in_doubt, cut;
} random_totals;

static void random_fail(long round, const char *tag, int k, const request_log *q, const char *why)
{
    fprintf(stderr, "ALL-OR-NOTHING VIOLATED (random round %ld, request %s-%04d): %s\n", round, tag, k, why);
    for (int i = 0; i < q->n; i++)
        fprintf(stderr, "    %s %s\n", q->ev[i].from_run ? "run     " : "recovery", q->ev[i].text);
    fail_msg("random round %ld: %s", round, why);
}

/* Reads a batch trace line strictly: PHASE, Batch/PROC, executeData{id TAG-K, step S}.
 * False for anything else. */
static bool batch_line(const char *line, const char *tag, tline *t, int *k, int *s)
{
    if (!parse_line(line, t))
        return false;
    int used = 0;
    unsigned kk = 0, ss = 0;
    size_t taglen = strlen(tag);
    if (strncmp(t->data, "<executeData><id>", 17) != 0 || strncmp(t->data + 17, tag, taglen) != 0)
        return false;
    if (sscanf(t->data + 17 + taglen, "-%4u</id><step>%1u</step></executeData>%n", &kk, &ss, &used) != 2 ||
        t->data[17 + taglen + used] != 0)
        return false;
    *k = (int)kk;
    *s = (int)ss;
    return (t->phase == 'p' || t->phase == 'r') && *k < BATCH && *s >= 1 && *s <= 3;
}

/* Adds a trace's lines to the requests' logs.  A kill can cut a line's single write short
 * (when it crosses a page); another thread's line then follows it on the same line.  So a
 * killed run may have, per thread, one line that is not a trace line: it is counted and
 * left out (the call it was about is then as if not made, which recovery treats alike). */
static void log_lines(long round, const char *tag, request_log *log, const lines *l, bool from_run, int *cut)
{
    for (size_t i = 0; i < l->n; i++) {
        tline t = {0};
        int k = 0, s = 0;
        if (!batch_line(l->v[i], tag, &t, &k, &s)) {
            /* a cut line joined to another is never a whole trace line: a whole line of
             * another round is a transaction recovered twice */
            bool other_round = parse_line(l->v[i], &t) && strncmp(t.data, "<executeData><id>r", 18) == 0 &&
                               strstr(t.data, "</id><step>") != NULL;
            if (cut && !other_round && (*cut)++ < THREADS)
                continue;
            fail_msg("random round %ld: not a trace line of a request of this round: %s", round, l->v[i]);
        }
        int kind = k % 5, fail_step = kind == 2 ? 3 : kind == 4 ? 2 : 0;
        char want[32];
        snprintf(want, sizeof want, s == fail_step ? "Batch/Fail" : "Batch/Step%d", s);
        if (strcmp(t.nsproc, want) != 0)
            fail_msg("random round %ld: an unexpected trace line: %s", round, l->v[i]);
        request_log *q = &log[k];
        if (q->n == MAX_EVENTS)
            random_fail(round, tag, k, q, "too many trace lines");
        q->ev[q->n] = (event){.phase = t.phase, .step = s, .from_run = from_run, .text = l->v[i]};
        if (from_run)
            q->last_run = q->n;
        q->n++;
    }
}

static void judge_request(long round, const char *tag, int k, const request_log *q, random_totals *tot)
{
    int fail_step = k % 5 == 2 ? 3 : k % 5 == 4 ? 2 : 0;
    int proc[4] = {0}, rb[4] = {0}, processed = 0, last_rb = 4;
    bool any_rb = false, doubled = false;
    for (int i = 0; i < q->n; i++) {
        const event *e = &q->ev[i];
        if (e->phase == 'p') {
            if (!e->from_run)
                random_fail(round, tag, k, q, "recovery called process");
            if (e->step != processed + 1 || any_rb)
                random_fail(round, tag, k, q, "calls out of order");
            proc[e->step] = 1;
            processed++;
            continue;
        }
        /* a rollback: newest first; a repetition only of the call in doubt */
        rb[e->step]++;
        any_rb = true;
        bool repeat = e->step == last_rb;
        if (e->step > last_rb)
            random_fail(round, tag, k, q, "rollbacks not newest first");
        last_rb = e->step;
        if (repeat) {
            /* the first was the run's last act before the kill; recovery repeats it */
            if (e->from_run || i == 0 || !q->ev[i - 1].from_run || i - 1 != q->last_run || doubled)
                random_fail(round, tag, k, q, "a call was rolled back twice, and not in doubt");
            doubled = true;
        }
    }
    enum outcome o;
    if (!any_rb) {
        if (processed == 0) {
            o = NOTHING;
        } else {
            if (fail_step || processed != 3)
                random_fail(round, tag, k, q, "calls made and not rolled back");
            o = COMPLETE;
        }
    } else {
        o = ROLLED_BACK;
        for (int s = 1; s <= 3; s++) {
            const event *p = NULL;
            for (int i = 0; i < q->n; i++)
                if (q->ev[i].phase == 'p' && q->ev[i].step == s)
                    p = &q->ev[i];
            bool process_last = p && p == &q->ev[q->last_run];
            if (proc[s] && s == fail_step) {
                /* a call that failed is rolled back only when the kill came before the
                 * journal knew: right after it, by recovery */
                if (rb[s] > 1 || (rb[s] == 1 && !process_last))
                    random_fail(round, tag, k, q, "a call that failed was rolled back");
                if (rb[s] == 1)
                    tot->in_doubt++;
            } else if (proc[s]) {
                if (rb[s] < 1)
                    random_fail(round, tag, k, q, "a call that succeeded was not rolled back");
            } else if (rb[s] > 0) {
                /* never ran: only the call after the last one that ran (INTENT written, call
                 * not made), by recovery */
                if (rb[s] > 1 || s != processed + 1)
                    random_fail(round, tag, k, q, "a call that never ran was rolled back, and it was not in doubt");
                for (int i = 0; i < q->n; i++)
                    if (q->ev[i].step == s && q->ev[i].from_run)
                        random_fail(round, tag, k, q, "the run rolled back a call it never made");
                tot->in_doubt++;
            }
        }
        if (doubled)
            tot->in_doubt++;
    }
    bool recovered = false;
    for (int i = 0; i < q->n; i++)
        recovered |= !q->ev[i].from_run;
    if (q->reported) {
        tot->reported++;
        if (recovered)
            random_fail(round, tag, k, q, "recovery touched a request whose response was returned");
        if (q->reported == 1 && o != COMPLETE)
            random_fail(round, tag, k, q, "reported committed, and not complete");
        if (q->reported == 2 && (o != ROLLED_BACK || q->code != 0x80004005u))
            random_fail(round, tag, k, q, "reported failed, and not rolled back");
        if (q->reported == 1 && fail_step)
            random_fail(round, tag, k, q, "a request with a Fail was reported committed");
    }
    tot->complete += o == COMPLETE;
    tot->rolled_back += o == ROLLED_BACK;
    tot->nothing += o == NOTHING;
}

/* One round: the batch in a child, killed delay_us after it is ready (never, with a
 * negative delay: then it must run to its end), recovery, and the judgement of every
 * request.  Returns how long the batch ran, in microseconds. */
static long random_round(const char *db, const char *dir, long round, long delay_us, random_totals *tot)
{
    char tag[32];
    snprintf(tag, sizeof tag, "r%03ld", round);
    char *run_trace = fmt("%s/run-%s.trace", dir, tag), *rec_trace = fmt("%s/recovery-%s.trace", dir, tag),
         *out = fmt("%s/out-%s.txt", dir, tag), threads[8], per[8];
    snprintf(threads, sizeof threads, "%d", THREADS);
    snprintf(per, sizeof per, "%d", PER_THREAD);
    char *argv[] = {CRASH_CHILD, (char *)db, "group", "batch", out, threads, per, tag, NULL}; /* shared syncs */
    hooks h = {.trace = run_trace};
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = spawn(argv, &h, NULL, pfd[1], pfd[0]);
    close(pfd[1]);
    /* wait for the engine to be open, so that the kill lands in the batch */
    char ready[8] = {0};
    size_t got = 0;
    while (got < 6) {
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        int pr = poll(&pf, 1, 60000);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            kill(pid, SIGKILL);
            wait_for(pid);
            fail_msg("random round %ld: the child did not start within a minute", round);
        }
        ssize_t n = read(pfd[0], ready + got, 6 - got);
        if (n <= 0) {
            int st = wait_for(pid);
            fail_msg("random round %ld: the child ended before it was ready: %s", round, describe_status(st));
        }
        got += (size_t)n;
    }
    close(pfd[0]);
    assert_string_equal(ready, "ready\n");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (delay_us >= 0) {
        struct timespec ts = {.tv_sec = (time_t)(delay_us / 1000000), .tv_nsec = (delay_us % 1000000) * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        kill(pid, SIGKILL);
    }
    int st = wait_for(pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bool was_killed = killed(st);
    if (was_killed)
        tot->killed++;
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        tot->finished++; /* the whole batch ran before the kill */
    else
        fail_msg("random round %ld: the batch ended with %s", round, describe_status(st));

    /* the next round's child opens the database again: a transaction recovered twice would
     * show there, as a line of this round */
    lines C = recover_check_how(db, rec_trace, 0, false), R = read_lines(run_trace), O = read_lines(out);
    request_log *log = calloc(BATCH, sizeof *log);
    assert_non_null(log);
    for (int k = 0; k < BATCH; k++)
        log[k].last_run = -1;
    int cut_trace = 0, cut_out = 0;
    log_lines(round, tag, log, &R, true, was_killed ? &cut_trace : NULL);
    log_lines(round, tag, log, &C, false, NULL);
    for (size_t i = 0; i < O.n; i++) {
        /* "TAG-K committed" or "TAG-K failed 0xCODE", read strictly (a cut line is left out) */
        size_t taglen = strlen(tag);
        unsigned k = 0, code = 0;
        int used = 0;
        const char *rest = strncmp(O.v[i], tag, taglen) == 0 ? O.v[i] + taglen : "";
        bool committed = sscanf(rest, "-%4u committed%n", &k, &used) == 1 && !rest[used];
        bool failed = !committed && sscanf(rest, "-%4u failed 0x%8x%n", &k, &code, &used) == 2 && !rest[used];
        if ((!committed && !failed) || k >= BATCH) {
            if (was_killed && cut_out++ < THREADS)
                continue;
            fail_msg("random round %ld: a bad output line: %s", round, O.v[i]);
        }
        if (log[k].reported)
            fail_msg("random round %ld: %s-%04u reported twice", round, tag, k);
        log[k].reported = committed ? 1 : 2;
        log[k].code = code;
    }
    tot->cut += cut_trace + cut_out;
    long reported_before = tot->reported;
    for (int k = 0; k < BATCH; k++)
        judge_request(round, tag, k, &log[k], tot);
    if (!was_killed && tot->reported - reported_before != BATCH)
        fail_msg("random round %ld: the batch ran to its end and not every request was answered", round);
    tot->rounds++;
    free(log);
    lines_free(&C);
    lines_free(&R);
    lines_free(&O);
    if (!getenv("PROVOST_CRASH_KEEP")) {
        unlink(run_trace);
        unlink(rec_trace);
        unlink(out);
    }
    free(run_trace);
    free(rec_trace);
    free(out);
    return (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
}

static void test_random(void **state)
{
    (void)state;
    unsigned long seed = getenv("PROVOST_CRASH_SEED") ? strtoul(getenv("PROVOST_CRASH_SEED"), NULL, 10)
                                                      : (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
    long rounds = getenv("PROVOST_CRASH_ROUNDS") ? atol(getenv("PROVOST_CRASH_ROUNDS")) : 200;
    /* One database and one namespace registration for every round: recovery then works on a
     * database that went through every earlier kill and recovery (its WAL replayed again and
     * again, memtables flushed, files compacted), as a real one does after many crashes.
     * Each round's request ids carry the round's tag, so a line of an earlier round showing
     * up again (a transaction recovered twice) is caught too.  The sync mode is none: a
     * SIGKILL loses nothing written to the WAL, synced or not, and the rounds stay short. */
    char *dir = fmt("%s/random", base), *db = fmt("%s/random/db", base);
    rm_rf(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    provost_engine *e = open_engine(db, NULL);
    provost_error err;
    assert_int_equal(provost_register(e, "batch.xml", ns_batch, strlen(ns_batch), NULL, &err), 0);
    provost_close(e);
    random_totals tot = {0};
    /* an undisturbed batch first: it is judged too, and its length bounds the delays, so
     * that the kills land inside a batch however fast this machine is (and at most 40 ms
     * after its start on a slow one, where many requests are in flight by then too) */
    long full_us = random_round(db, dir, 0, -1, &tot);
    long max_delay_us = full_us * 3 / 4;
    max_delay_us = max_delay_us < 2000 ? 2000 : max_delay_us > 40000 ? 40000 : max_delay_us;
    printf("  random: seed %lu, %ld rounds, %d threads x %d requests, kills 0-%ld ms after the start (an "
           "undisturbed batch took %ld ms); PROVOST_CRASH_SEED and PROVOST_CRASH_ROUNDS repeat or change them\n",
           seed, rounds, THREADS, PER_THREAD, max_delay_us / 1000, full_us / 1000);
    fflush(stdout);
    unsigned int rs = (unsigned int)seed;
    for (long round = 1; round <= rounds; round++)
        random_round(db, dir, round, (long)((unsigned long)rand_r(&rs) % (unsigned long)(max_delay_us + 1)), &tot);
    printf("  random: %ld killed, %ld finished before the kill; requests: %ld complete, %ld rolled back, %ld never "
           "started, %ld answered before the kill; %ld calls in doubt at a kill, %ld lines cut by a kill\n",
           tot.killed, tot.finished, tot.complete, tot.rolled_back, tot.nothing, tot.reported, tot.in_doubt, tot.cut);
    assert_true(tot.killed > 0);
    /* and after the last round, a recovery in a new engine finds nothing to do */
    char *trace = fmt("%s/final.trace", dir);
    lines C = recover_check(db, trace, 0);
    if (C.n) {
        lines_print("recovery after the last round's recovery", &C);
        fail_msg("random: a transaction was recovered twice");
    }
    lines_free(&C);
    free(trace);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(dir);
    free(dir);
    free(db);
}

/* ---- main ------------------------------------------------------------------------------- */

static bool usable_dir(const char *d)
{
    struct stat st;
    return d && *d && stat(d, &st) == 0 && S_ISDIR(st.st_mode) && access(d, W_OK | X_OK) == 0;
}

int main(int argc, char **argv)
{
    /* the hooks are for the children only */
    unsetenv("PROVOST_CRASH_POINT");
    unsetenv("PROVOST_JOURNAL_FAIL");
    unsetenv("PROVOST_JOURNAL_FULL");
    unsetenv("PROVOST_JOURNAL_SYNC_FAIL");
    unsetenv("PROVOST_TEST_TRACE");
    const char *where = getenv("PROVOST_CRASH_DIR");
    if (!usable_dir(where))
        where = usable_dir("/dev/shm") ? "/dev/shm" : usable_dir(getenv("TMPDIR")) ? getenv("TMPDIR") : "/tmp";
    snprintf(base, sizeof base, "%s/provost-crash-XXXXXX", where);
    if (!mkdtemp(base)) {
        perror(base);
        return 2;
    }
    const char *group = argc > 1 ? argv[1] : "all";
    bool all = strcmp(group, "all") == 0;
    int failures = 0, ran = 0;

    struct CMUnitTest sweep_tests[sizeof shapes / sizeof shapes[0] + 1];
    size_t ns = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        sweep_tests[ns++] = (struct CMUnitTest){.name = shapes[i].name, .test_func = test_sweep,
                                                .initial_state = (void *)&shapes[i]};
    sweep_tests[ns++] = (struct CMUnitTest)cmocka_unit_test(test_crash_procedure);
    const struct CMUnitTest fault_tests[] = {
        cmocka_unit_test(test_faults_three_writes),
        cmocka_unit_test(test_faults_failing_request),
        cmocka_unit_test(test_faults_two_phase),
        cmocka_unit_test(test_faults_not_caught),
        cmocka_unit_test(test_full_failing_request),
        cmocka_unit_test(test_full_two_phase),
        cmocka_unit_test(test_sync_failing_request),
        cmocka_unit_test(test_sync_two_phase),
    };
    const struct CMUnitTest stuck_tests[] = {cmocka_unit_test(test_stuck), cmocka_unit_test(test_retry_unreadable)};
    const struct CMUnitTest sensitive_tests[] = {cmocka_unit_test(test_sensitive)};
    const struct CMUnitTest random_tests[] = {cmocka_unit_test(test_random)};

    if (all || strcmp(group, "sweep") == 0)
        ran++, failures += _cmocka_run_group_tests("crash sweep", sweep_tests, ns, NULL, NULL);
    if (all || strcmp(group, "faults") == 0)
        ran++, failures += cmocka_run_group_tests_name("journal faults", fault_tests, NULL, NULL);
    if (all || strcmp(group, "stuck") == 0)
        ran++, failures += cmocka_run_group_tests_name("stuck transactions", stuck_tests, NULL, NULL);
    if (all || strcmp(group, "sensitive") == 0)
        ran++, failures += cmocka_run_group_tests_name("sensitive data", sensitive_tests, NULL, NULL);
    if (all || strcmp(group, "random") == 0)
        ran++, failures += cmocka_run_group_tests_name("random kills", random_tests, NULL, NULL);
    if (!getenv("PROVOST_CRASH_KEEP"))
        rm_rf(base);
    else
        printf("kept %s\n", base);
    if (!ran) {
        fprintf(stderr, "usage: crash_test [all|sweep|faults|stuck|sensitive|random]\n");
        return 2;
    }
    return failures ? 1 : 0;
}
