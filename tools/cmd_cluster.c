/*
 * cmd_cluster.c -- `provost cluster init|status|prune`, and the cluster's side of
 * `provost --cluster C register` and `provost worker --cluster C` (docs/cluster.md).
 */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/cluster.h"
#include "provost/compiler.h"
#include "provost/provost.h"
#include "tools.h"

/* The cluster a `provost cluster` command works on: --cluster, else $PROVOST_CLUSTER. */
static const char *conninfo_of(int *argc, char ***argv)
{
    const char *c = tool_cluster_given();
    for (int i = 1; i + 1 < *argc; i++)
        if (strcmp((*argv)[i], "--cluster") == 0) {
            c = (*argv)[i + 1];
            memmove(&(*argv)[i], &(*argv)[i + 2], (size_t)(*argc - i - 2) * sizeof **argv);
            *argc -= 2;
            break;
        }
    return c ? c : getenv("PROVOST_CLUSTER");
}

static provost_cluster *open_cluster(const char *conninfo, int need_schema, int *status)
{
    provost_cluster *c = NULL;
    provost_error err;
    if (!conninfo || !*conninfo) {
        *status = die("which cluster? (--cluster CONNINFO, or $PROVOST_CLUSTER)");
        return NULL;
    }
    if (provost_cluster_open(conninfo, need_schema, &c, &err) != 0)
        *status = die("%s", err.message);
    return c;
}

/* A duration such as 7d, 12h, 30m or 45s, in seconds: 0, or die()'s status. */
static int duration(const char *v, uint64_t *secs)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    const char *units = "smhd";
    static const uint64_t scale[] = {1, 60, 3600, 86400};
    const char *u = *end && !end[1] ? strchr(units, *end) : NULL;
    /* at most a hundred years: a bigger one is a typo, and now() minus it must not overflow */
    if (!isdigit((unsigned char)*v) || errno || !u || n > 36500ull * 86400 / scale[u - units])
        return die("cluster prune: --older-than takes a duration such as 7d, 12h, 30m or 45s (at most 36500d),"
                   " not '%s'", v);
    *secs = n * scale[u - units];
    return 0;
}

static void on_pruned(void *ud, int64_t id, uint64_t n)
{
    (void)ud;
    printf("deleted batch %" PRId64 ": %" PRIu64 " result%s\n", id, n, n == 1 ? "" : "s");
    fflush(stdout);
}

/* `cluster prune --older-than D [--chunk ROWS]`, read before any connection: 0, or
 * die()'s status. */
static int prune_args(int argc, char **argv, uint64_t *secs, unsigned *chunk)
{
    bool have = false;
    *chunk = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--older-than") == 0 && i + 1 < argc) {
            if (duration(argv[++i], secs))
                return 2;
            have = true;
        } else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (!isdigit((unsigned char)argv[i][0]) || *end || errno || n < 1 || n > 1000000)
                return die("cluster prune: --chunk takes a number of rows from 1 to 1000000, not '%s'", argv[i]);
            *chunk = (unsigned)n;
        } else {
            return die("cluster prune: usage: provost cluster prune --older-than DURATION [--chunk ROWS]");
        }
    }
    return have ? 0 : die("cluster prune: how old? (--older-than DURATION, such as 7d, 12h or 30m)");
}

static int prune(const char *conninfo, int argc, char **argv)
{
    uint64_t secs = 0;
    unsigned chunk = 0;
    int status = prune_args(argc, argv, &secs, &chunk);
    provost_cluster *c = status ? NULL : open_cluster(conninfo, 1, &status);
    if (!c)
        return status;
    uint64_t batches = 0, results = 0;
    provost_error err;
    int rc = provost_cluster_prune(c, secs, chunk, on_pruned, NULL, &batches, &results, &err);
    provost_cluster_close(c);
    printf("pruned %" PRIu64 " batch%s, %" PRIu64 " result%s\n", batches, batches == 1 ? "" : "es", results,
           results == 1 ? "" : "s");
    return rc == 0 ? 0 : die("cluster prune: %s", err.message);
}

int cmd_cluster(int argc, char **argv)
{
    const char *conninfo = conninfo_of(&argc, &argv);
    if (argc >= 2 && strcmp(argv[1], "prune") == 0)
        return prune(conninfo, argc, argv);
    if (argc != 2 || (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "status") != 0))
        return die("cluster: usage: provost cluster [--cluster CONNINFO] init|status|prune --older-than DURATION");
    bool init = strcmp(argv[1], "init") == 0;
    int status = 0;
    provost_cluster *c = open_cluster(conninfo, !init, &status);
    if (!c)
        return status;
    provost_error err;
    int created = 0;
    if (init) {
        if (provost_cluster_init(c, &created, &err) != 0)
            status = die("cluster init: %s", err.message);
        else
            printf("cluster %s (schema provost, version %d)\n", created ? "initialised" : "already initialised",
                   PROVOST_CLUSTER_SCHEMA);
    } else if (provost_cluster_status(c, stdout, &err) != 0) {
        status = die("cluster status: %s", err.message);
    }
    provost_cluster_close(c);
    return status;
}

/* ---- register ------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

/* The namespace's name and bundle, as a scratch engine loads it (so a bundle the workers
 * could not load is refused here).  0, or die()'s status. */
static int compile_one(provost_engine *scratch, const char *file, unsigned char **bundle, size_t *len, char **name)
{
    char err[256] = "";
    size_t n = 0;
    char *src = read_input(file, &n, err, sizeof err);
    if (!src)
        return die("%s: %s", file, err);
    if (provost_is_bundle(src, n)) {
        *bundle = (unsigned char *)src;
        *len = n;
    } else {
        provost_compiled c;
        int rc = provost_compile(file, src, n, &c);
        free(src);
        if (rc != 0 || !c.bundle) {
            provost_compiled_print(&c, file, stderr);
            provost_compiled_free(&c);
            return 2;
        }
        *bundle = c.bundle;
        *len = c.size;
        c.bundle = NULL;
        provost_compiled_free(&c);
    }
    provost_ns_info info;
    provost_error perr;
    if (provost_register(scratch, file, *bundle, *len, &info, &perr) != 0) {
        free(*bundle);
        return die("%s: %s", file, perr.message);
    }
    *name = strdup(info.name);
    free(info.name);
    free(info.version);
    free(info.provider);
    free(info.description);
    return 0;
}

int cmd_cluster_register(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1])
            return die("register: unknown option '%s' (see provost register --help)", argv[i]);
    if (argc < 2)
        return die("register: which namespace? (usage: provost --cluster C register NS.xml|NS.pvb ...)");
    int status = 0;
    provost_cluster *c = open_cluster(tool_cluster_given(), 1, &status);
    if (!c)
        return status;
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/provost-register-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    provost_engine *scratch = NULL;
    provost_error err;
    provost_options eo = {.db_path = dir, .sync = PROVOST_SYNC_NONE};
    if (!mkdtemp(dir) || provost_open(&eo, &scratch, &err) != 0) {
        provost_cluster_close(c);
        return die("register: cannot make a scratch database in %s: %s", dir, errno ? strerror(errno) : err.message);
    }
    for (int i = 1; i < argc; i++) {
        unsigned char *bundle = NULL;
        size_t len = 0;
        char *name = NULL;
        int rc = compile_one(scratch, argv[i], &bundle, &len, &name);
        if (rc) {
            status = rc;
            continue;
        }
        uint64_t rev = 0;
        if (provost_cluster_put_bundle(c, name, bundle, len, &rev, &err) != 0)
            status = die("%s: %s", argv[i], err.message);
        else
            printf("registered %s in the cluster (revision %" PRIu64 ")\n", name, rev);
        free(bundle);
        free(name);
    }
    provost_close(scratch);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    provost_cluster_close(c);
    return status;
}

/* ---- worker --------------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    provost_cluster_worker_stop();
}

static void print_job(void *ud, int64_t batch, int64_t pos, int attempt, const char *status, uint32_t code)
{
    if (*(int *)ud)
        return;
    if (code)
        printf("%" PRId64 ":%" PRId64 " attempt %d: %s (0x%08X)\n", batch, pos, attempt, status, code);
    else
        printf("%" PRId64 ":%" PRId64 " attempt %d: %s\n", batch, pos, attempt, status);
    fflush(stdout);
}

static void on_ready(void *ud, int64_t id, int64_t epoch)
{
    (void)ud;
    fprintf(stderr, "provost worker: worker %" PRId64 ", epoch %" PRId64 "\n", id, epoch);
}

static void on_bundle(void *ud, const char *ns, uint64_t rev)
{
    (void)ud;
    fprintf(stderr, "provost worker: namespace %s revision %" PRIu64 " loaded\n", ns, rev);
}

static void on_takeover(void *ud, size_t workers, size_t txns, size_t jobs)
{
    (void)ud;
    fprintf(stderr,
            "provost worker: took over %zu expired worker%s, %zu transaction%s finished, %zu job%s re-driven\n",
            workers, workers == 1 ? "" : "s", txns, txns == 1 ? "" : "s", jobs, jobs == 1 ? "" : "s");
}

static void on_stuck(void *ud, const char *txid, const char *why)
{
    (void)ud;
    fprintf(stderr, "provost worker: transaction %s taken over stays stuck: %s\n", txid, why);
}

static void on_reconnect(void *ud, const char *why)
{
    (void)ud;
    fprintf(stderr, "provost worker: reconnected to the cluster after: %s\n", why);
}

static int number(const char *what, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi)
        return die("worker: %s takes a number from %ld to %ld, not '%s'", what, lo, hi, v);
    *out = n;
    return 0;
}

int cmd_cluster_worker(const char *conninfo, int argc, char **argv)
{
    int quiet = 0;
    provost_cluster_worker_options o = {.conninfo = conninfo, .threads = 1, .lease_ms = 10000, .on_job = print_job,
                                        .on_ready = on_ready, .on_bundle = on_bundle, .on_takeover = on_takeover,
                                        .on_stuck = on_stuck, .on_reconnect = on_reconnect, .ud = &quiet};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long n = 0;
        if ((strcmp(a, "--threads") == 0 || strcmp(a, "-t") == 0) && i + 1 < argc) {
            if (number("--threads", argv[++i], 1, 256, &n))
                return 2;
            o.threads = (unsigned)n;
        } else if (strcmp(a, "--lease") == 0 && i + 1 < argc) {
            if (number("--lease (milliseconds)", argv[++i], 300, 3600000, &n))
                return 2;
            o.lease_ms = (unsigned)n;
        } else if (strcmp(a, "--name") == 0 && i + 1 < argc) {
            o.name = argv[++i];
        } else if (strcmp(a, "--drain") == 0) {
            o.drain = 1;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
        } else {
            return die("worker: unknown argument '%s' (see provost worker --help)", a);
        }
    }
    /* the engine that runs the jobs: --db, else a private directory of this process */
    char scratch[4096];
    provost_options eo = tool_engine_options(-1);
    if (!tool_db_given()) {
        const char *run = getenv("XDG_RUNTIME_DIR");
        snprintf(scratch, sizeof scratch, "%s/provost-worker-%ld", run && *run ? run : "/tmp", (long)getpid());
        eo.db_path = scratch;
    }
    int status = 0;
    provost_engine *e = tool_open_with(&eo, &status);
    if (!e)
        return status;
    o.engine = e;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    provost_cluster_worker_summary s;
    provost_error err;
    int rc = provost_cluster_worker_run(&o, &s, &err);
    provost_close(e);
    if (rc != 0 && !s.ran && !s.fenced)
        return die("worker: %s", err.message);
    fprintf(stderr, "provost worker: %zu runs: %zu succeeded, %zu to retry, %zu failed", s.ran, s.succeeded,
            s.retried, s.failed);
    if (s.taken_over)
        fprintf(stderr, "; took over %zu expired worker%s", s.taken_over, s.taken_over == 1 ? "" : "s");
    if (s.reconnects)
        fprintf(stderr, "; reconnected %zu time%s", s.reconnects, s.reconnects == 1 ? "" : "s");
    fputc('\n', stderr);
    if (rc != 0)
        return die("worker: %s", err.message);
    return 0;
}
