/*
 * pool_check.c -- the ldap provider's connection pool inside one engine, which the
 * provost command (one process per request) cannot show: many threads sharing a pool
 * smaller than themselves, and a server that restarts or goes away between calls.
 *
 * usage: pool_check DB NAMESPACE.xml DN THREADS CMD...
 * Registers NAMESPACE (the ldap reference namespace, named LDAP), has THREADS threads call
 * LDAP GetEntry of DN ten times each at once, then for each CMD runs it with system() and
 * calls GetEntry once more.  Prints "threads: OK/FAILED" and, per CMD, "CMD: 0xCODE".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <provost/provost.h>

static provost_engine *engine;
static char data[2048];

static uint32_t get_entry(void)
{
    provost_response r = {0};
    provost_error err = {0};
    uint32_t code = 0x80004005u;
    if (provost_call(engine, "LDAP", "GetEntry", data, strlen(data), PROVOST_COMPACT, &r, &err) == 0)
        code = r.failed ? r.code : 0;
    if (code)
        fprintf(stderr, "%s\n", r.xml ? r.xml : err.message);
    provost_response_free(&r);
    return code;
}

static void *worker(void *arg)
{
    int *failed = arg;
    for (int i = 0; i < 10; i++)
        if (get_entry() != 0)
            *failed = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: pool_check DB NAMESPACE.xml DN THREADS CMD...\n");
        return 2;
    }
    provost_options opts = {.db_path = argv[1], .sync = PROVOST_SYNC_NONE};
    provost_error err = {0};
    static char ns[65536];
    FILE *f = fopen(argv[2], "r");
    size_t len = f ? fread(ns, 1, sizeof ns - 1, f) : 0;
    if (f)
        fclose(f);
    if (provost_open(&opts, &engine, &err) != 0 || provost_register(engine, argv[2], ns, len, NULL, &err) != 0) {
        fprintf(stderr, "pool_check: %s\n", err.message);
        return 1;
    }
    snprintf(data, sizeof data, "<data><dn>%s</dn></data>", argv[3]);
    int n = atoi(argv[4]), failed = 0;
    pthread_t *t = calloc((size_t)(n > 0 ? n : 1), sizeof *t);
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, worker, &failed);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
    printf("threads: %s\n", failed ? "FAILED" : "OK");
    for (int i = 5; i < argc; i++) {
        if (system(argv[i]) != 0)
            fprintf(stderr, "pool_check: %s failed\n", argv[i]);
        printf("%s: 0x%08X\n", argv[i], (unsigned)get_entry());
    }
    provost_close(engine);
    return 0;
}
