/*
 * crash_child.c -- the process the crash tests kill.  It opens an engine on a database
 * (opening recovers whatever the journal holds), registers namespaces when asked, and then
 * does one thing:
 *
 *   crash_child DB SYNC [--register NS.xml]... run REQUEST.xml
 *       one request; the response goes to stdout.
 *   crash_child DB SYNC [--register NS.xml]... batch OUT THREADS PER_THREAD TAG
 *       THREADS threads each submit PER_THREAD write requests of three steps.  Request k
 *       (0-based, over all threads) has the id TAG-k in the executeData of every step; its
 *       kind is k % 5: 2 makes step 3 a Fail, 4 makes step 2 a Fail, any other succeeds.
 *       "ready" is written to stdout once the engine is open, just before the threads start;
 *       after each response one line "ID committed" or "ID failed 0xCODE" is appended to
 *       OUT with a single write(2).
 *   crash_child DB SYNC recover
 *       open (which recovers) and close.
 *
 * SYNC is always, group or none.  The journal's test hooks (PROVOST_CRASH_POINT,
 * PROVOST_JOURNAL_FAIL) and the test provider's trace (PROVOST_TEST_TRACE) come from the
 * environment.
 *
 * Exit status: 0 the request (or the whole batch) ran and succeeded or the recovery ended,
 * 10 the request failed, 2 a usage or engine error.  A sanitizer's report gives yet another
 * status, so a failure of the child is never mistaken for a request's failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/provost.h"

#define EXIT_OK 0
#define EXIT_REQUEST_FAILED 10
#define EXIT_USAGE 2

static provost_engine *engine;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        char *more = realloc(buf, cap + 1);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int do_run(const char *request)
{
    size_t len;
    char *xml = slurp(request, &len);
    if (!xml) {
        fprintf(stderr, "crash_child: cannot read %s: %s\n", request, strerror(errno));
        return EXIT_USAGE;
    }
    provost_response resp;
    provost_error err;
    int rc = provost_submit(engine, xml, len, PROVOST_COMPACT, &resp, &err);
    free(xml);
    if (rc != 0) {
        fprintf(stderr, "crash_child: the request did not run: %s\n", err.message);
        return EXIT_USAGE;
    }
    int status = resp.failed ? EXIT_REQUEST_FAILED : EXIT_OK;
    if (write_all(1, resp.xml, resp.len) != 0 || write_all(1, "\n", 1) != 0)
        status = EXIT_USAGE;
    provost_response_free(&resp);
    return status;
}

/* ---- batch ----------------------------------------------------------------------------- */

static const char *batch_tag;
static int batch_out = -1;
static int per_thread;
static int batch_errors;
static pthread_mutex_t batch_lock = PTHREAD_MUTEX_INITIALIZER;

static int batch_request(char *buf, size_t size, const char *id, int kind)
{
    const char *step2 = kind == 4 ? "Fail" : "Step2";
    const char *step3 = kind == 2 ? "Fail" : "Step3";
    return snprintf(buf, size,
                    "<request><data/><procedure>"
                    "<execute namespace=\"Batch\" procedure=\"Step1\">"
                    "<executeData><id>%s</id><step>1</step></executeData></execute>"
                    "<execute namespace=\"Batch\" procedure=\"%s\">"
                    "<executeData><id>%s</id><step>2</step></executeData></execute>"
                    "<execute namespace=\"Batch\" procedure=\"%s\">"
                    "<executeData><id>%s</id><step>3</step></executeData></execute>"
                    "</procedure></request>",
                    id, step2, id, step3, id);
}

static void *batch_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < per_thread; i++) {
        int k = t * per_thread + i;
        char id[96], xml[1024], line[160];
        snprintf(id, sizeof id, "%s-%04d", batch_tag, k);
        int len = batch_request(xml, sizeof xml, id, k % 5);
        provost_response resp;
        provost_error err;
        if (provost_submit(engine, xml, (size_t)len, PROVOST_COMPACT, &resp, &err) != 0) {
            fprintf(stderr, "crash_child: request %s did not run: %s\n", id, err.message);
            pthread_mutex_lock(&batch_lock);
            batch_errors++;
            pthread_mutex_unlock(&batch_lock);
            continue;
        }
        int n = resp.failed ? snprintf(line, sizeof line, "%s failed 0x%08X\n", id, resp.code)
                            : snprintf(line, sizeof line, "%s committed\n", id);
        provost_response_free(&resp);
        if (write_all(batch_out, line, (size_t)n) != 0) {
            pthread_mutex_lock(&batch_lock);
            batch_errors++;
            pthread_mutex_unlock(&batch_lock);
        }
    }
    return NULL;
}

static int do_batch(const char *out, int threads, int n, const char *tag)
{
    if (threads < 1 || threads > 64 || n < 1 || n > 100000)
        return EXIT_USAGE;
    batch_out = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (batch_out < 0) {
        fprintf(stderr, "crash_child: cannot open %s: %s\n", out, strerror(errno));
        return EXIT_USAGE;
    }
    batch_tag = tag;
    per_thread = n;
    pthread_t tid[64];
    if (write_all(1, "ready\n", 6) != 0)
        return EXIT_USAGE;
    int started = 0;
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, batch_thread, (void *)(intptr_t)t) != 0)
            break;
        started++;
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    close(batch_out);
    return started == threads && batch_errors == 0 ? EXIT_OK : EXIT_USAGE;
}

/* ---- main ------------------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr, "usage: crash_child DB always|group|none [--register NS.xml]... run REQUEST.xml\n"
                    "       crash_child DB always|group|none [--register NS.xml]... batch OUT THREADS PER_THREAD TAG\n"
                    "       crash_child DB always|group|none recover\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    provost_options o = {.db_path = argv[1], .caller = "crash-test"};
    if (strcmp(argv[2], "always") == 0)
        o.sync = PROVOST_SYNC_ALWAYS;
    else if (strcmp(argv[2], "group") == 0)
        o.sync = PROVOST_SYNC_GROUP;
    else if (strcmp(argv[2], "none") == 0)
        o.sync = PROVOST_SYNC_NONE;
    else
        return usage();
    provost_error err;
    if (provost_open(&o, &engine, &err) != 0) {
        fprintf(stderr, "crash_child: cannot open %s: 0x%08X %s\n", argv[1], err.code, err.message);
        return EXIT_USAGE;
    }
    int i = 3, status = EXIT_USAGE;
    for (; i + 1 < argc && strcmp(argv[i], "--register") == 0; i += 2) {
        size_t len;
        char *xml = slurp(argv[i + 1], &len);
        if (!xml || provost_register(engine, argv[i + 1], xml, len, NULL, &err) != 0) {
            fprintf(stderr, "crash_child: cannot register %s: %s\n", argv[i + 1], xml ? err.message : strerror(errno));
            free(xml);
            provost_close(engine);
            return EXIT_USAGE;
        }
        free(xml);
    }
    if (i < argc && strcmp(argv[i], "run") == 0 && argc == i + 2)
        status = do_run(argv[i + 1]);
    else if (i < argc && strcmp(argv[i], "batch") == 0 && argc == i + 5)
        status = do_batch(argv[i + 1], atoi(argv[i + 2]), atoi(argv[i + 3]), argv[i + 4]);
    else if (i < argc && strcmp(argv[i], "recover") == 0 && argc == i + 1)
        status = EXIT_OK;
    else
        status = usage();
    provost_close(engine);
    return status;
}
