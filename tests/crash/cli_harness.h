/*
 * cli_harness.h -- the provost command as the integrity tests run it: small file helpers,
 * and commands run in a child process whose stdout and stderr are kept and searched for
 * sanitizer reports and for the test's password.  Included by one test program: the test
 * defines nothing else with these names.
 */
#ifndef PROVOST_CLI_HARNESS_H
#define PROVOST_CLI_HARNESS_H

/* _GNU_SOURCE (vasprintf, memmem) comes first, in the includer */
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
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PROVOST_CLI
#error "PROVOST_CLI must name the provost command"
#endif

extern char **environ;

static char base[PATH_MAX]; /* the test's temporary directory */
static char secret[64]; /* the password of the sensitive request, random per run */

/* ---- files ------------------------------------------------------------------------------ */

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

static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    assert_non_null(buf);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
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
        if (e->d_name[0] == '.')
            continue;
        char *src = fmt("%s/%s", from, e->d_name), *dst = fmt("%s/%s", to, e->d_name);
        struct stat st;
        assert_int_equal(lstat(src, &st), 0);
        size_t len;
        char *data = read_file(src, &len);
        assert_non_null(data);
        write_bytes(dst, data, len, st.st_mode & 07777);
        free(data);
        free(src);
        free(dst);
    }
    closedir(d);
}

/* The file of dir whose name ends with suffix and that holds needle (the caller frees
 * it), or NULL. */
static char *file_holding(const char *dir, const char *suffix, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *found = NULL;
    for (struct dirent *e; !found && (e = readdir(d));) {
        size_t n = strlen(e->d_name), m = strlen(suffix), len;
        if (n <= m || strcmp(e->d_name + n - m, suffix) != 0)
            continue;
        char *path = fmt("%s/%s", dir, e->d_name), *data = read_file(path, &len);
        assert_non_null(data);
        if (memmem(data, len, needle, strlen(needle)))
            found = path;
        else
            free(path);
        free(data);
    }
    closedir(d);
    return found;
}

/* Flips one bit of the byte `at` bytes into the first occurrence of needle in path.
 * (inline: not every includer flips bits) */
static inline void flip(const char *path, const char *needle, size_t at)
{
    size_t len;
    char *data = read_file(path, &len);
    assert_non_null(data);
    char *p = memmem(data, len, needle, strlen(needle));
    assert_non_null(p);
    p[at] ^= 0x04;
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    write_bytes(path, data, len, st.st_mode & 07777);
    free(data);
}

/* ---- commands --------------------------------------------------------------------------- */

typedef struct result {
    int status;  /* exit status; a signal fails the test */
    char *out, *err;
} result;

static void result_free(result *r)
{
    free(r->out);
    free(r->err);
    *r = (result){0};
}

/* Starts argv (NULL-terminated) with PROVOST_CRASH_POINT=crash (0: none) and
 * PROVOST_TEST_TRACE=trace (NULL: none), its stdout and stderr going to files out and err. */
static pid_t start(char *const argv[], long crash, const char *trace, const char *out, const char *err)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 3, sizeof *envp), *cp = fmt("PROVOST_CRASH_POINT=%ld", crash),
         *tr = trace ? fmt("PROVOST_TEST_TRACE=%s", trace) : NULL;
    assert_non_null(envp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "PROVOST_CRASH_POINT=", 20) != 0 && strncmp(environ[i], "PROVOST_TEST_TRACE=", 19) != 0)
            envp[m++] = environ[i];
    if (crash)
        envp[m++] = cp;
    if (tr)
        envp[m++] = tr;
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    free(cp);
    free(tr);
    assert_int_equal(rc, 0);
    return pid;
}

/* Waits for a command started with start(): killed by its crash point is status -1; any
 * other signal, and any sanitizer report or sight of the secret, fails the test. */
static result finish(pid_t pid, char *const argv[], bool crash, const char *out, const char *err)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    result r = {.out = read_file(out, NULL), .err = read_file(err, NULL)};
    assert_non_null(r.out);
    assert_non_null(r.err);
    char shown[200] = "";
    for (size_t i = 3; argv[i]; i++)
        snprintf(shown + strlen(shown), sizeof shown - strlen(shown), " %s", argv[i]);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && crash)
        r.status = -1;
    else if (!WIFEXITED(st))
        fail_msg("provost%s: ended by signal %d\n%s", shown, WTERMSIG(st), r.err);
    else
        r.status = WEXITSTATUS(st);
    if (strstr(r.err, "Sanitizer") || strstr(r.err, "runtime error:"))
        fail_msg("provost%s: a sanitizer report:\n%s", shown, r.err);
    if (strstr(r.out, secret) || strstr(r.err, secret))
        fail_msg("provost%s: the password reached its output:\n%s%s", shown, r.out, r.err);
    return r;
}

/* `provost --db DB ARGS...` (NULL-terminated), as start() and finish() run it. */
static result provost(const char *db, long crash, const char *trace, ...)
{
    char *argv[16] = {PROVOST_CLI, "--db", (char *)db};
    size_t argc = 3;
    va_list ap;
    va_start(ap, trace);
    for (char *a; (a = va_arg(ap, char *));) {
        assert_true(argc + 1 < sizeof argv / sizeof argv[0]);
        argv[argc++] = a;
    }
    va_end(ap);
    char *out = fmt("%s/cmd.out", base), *err = fmt("%s/cmd.err", base);
    result r = finish(start(argv, crash, trace, out, err), argv, crash != 0, out, err);
    free(out);
    free(err);
    return r;
}

#endif
