/*
 * cmd_serve.c -- `provost serve`: parses the options and prints what the service says,
 * one line each on standard error; the service itself is service/ (provost/service.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/provost.h"
#include "provost/service.h"
#include "tools.h"

static void print_line(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "provost serve: %s\n", line);
    fflush(stderr);
}

/* A whole number from 1 to max, or -1. */
static long number(const char *s, long max)
{
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n >= 1 && n <= max ? n : -1;
}

/* A size: N, NK, NM (KiB, MiB), from 1 byte to 4 GiB; 0 when it is not one. */
static size_t size_arg(const char *s)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s || s[0] == '-')
        return 0;
    if (*end == 'K' || *end == 'k')
        n <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        n <<= 20, end++;
    return *end || n == 0 || n > (4ull << 30) ? 0 : (size_t)n;
}

int cmd_serve(int argc, char **argv)
{
    provost_serve_options o = {.log = print_line};
    int sync = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--listen") == 0 && v) {
            o.listen = argv[++i];
        } else if (strcmp(a, "--tls-cert") == 0 && v) {
            o.tls_cert = argv[++i];
        } else if (strcmp(a, "--tls-key") == 0 && v) {
            o.tls_key = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && v) {
            if ((n = number(argv[++i], 256)) < 0)
                return die("serve: --threads takes a number from 1 to 256, not '%s'", v);
            o.threads = (unsigned)n;
        } else if (strcmp(a, "--max-inflight") == 0 && v) {
            if ((n = number(argv[++i], 100000)) < 0)
                return die("serve: --max-inflight takes a number from 1 to 100000, not '%s'", v);
            o.max_inflight = (unsigned)n;
        } else if (strcmp(a, "--max-body") == 0 && v) {
            if (!(o.max_body = size_arg(argv[++i])))
                return die("serve: --max-body takes a size (bytes, or with K or M) up to 4G, not '%s'", v);
        } else if ((strcmp(a, "--idle-timeout") == 0 || strcmp(a, "--request-timeout") == 0 ||
                    strcmp(a, "--drain-timeout") == 0) && v) {
            if ((n = number(argv[++i], 86400)) < 0)
                return die("serve: %s takes seconds from 1 to 86400, not '%s'", a, v);
            *(a[2] == 'i' ? &o.idle_timeout : a[2] == 'r' ? &o.request_timeout : &o.drain_timeout) = (unsigned)n;
        } else if (strcmp(a, "--allow-anonymous") == 0 && v) {
            o.allow_anonymous = argv[++i];
        } else if (strcmp(a, "--public-metrics") == 0) {
            o.public_metrics = 1;
        } else if ((strcmp(a, "--batch-jobs") == 0 || strcmp(a, "--worker-threads") == 0) && v) {
            if ((n = number(argv[++i], 256)) < 0)
                return die("serve: %s takes a number from 1 to 256, not '%s'", a, v);
            *(a[2] == 'b' ? &o.batch_jobs : &o.worker_threads) = (unsigned)n;
        } else if (strcmp(a, "--worker") == 0) {
            o.worker = 1;
        } else if (strcmp(a, "--sync") == 0 && v) {
            if ((sync = parse_sync(argv[++i])) < 0)
                return die("serve: --sync takes always, group or none (not '%s')", v);
        } else {
            return die("serve: unknown argument '%s' (see provost serve --help)", a);
        }
    }
    o.engine = tool_engine_options(sync);
    provost_error err;
    int rc = provost_serve(&o, &err);
    if (rc < 0)
        return die("serve: %s", err.message);
    if (rc == 1) {
        fflush(NULL);
        _exit(1); /* requests still run in the engine: the journal finishes them on next open */
    }
    fprintf(stderr, "provost serve: stopped\n");
    return 0;
}
