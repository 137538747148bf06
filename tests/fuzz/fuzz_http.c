/*
 * fuzz_http.c -- any bytes as what a client sends to `provost serve`: a live service (in a
 * temporary database, with a namespace of test-provider procedures and an anonymous
 * principal) runs in this process on a loopback port, and each input is written to a new
 * connection, whose answer is read before the connection is reset.  Whatever
 * arrives -- a request line, headers, a body, or none of them well formed -- the service
 * answers or closes without crashing, hanging or leaking, through libmicrohttpd's parser,
 * the routes, authentication, the limits and the engine behind them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provost/rights.h"
#include "provost/service.h"

static const char ns[] =
    "<namespace name='T' providerSource='test'>"
    "<procedure name='Echo' type='read' access='public'/>"
    "<procedure name='Write' type='write' saveDataForRollback='1'/>"
    "<procedure name='Fail' type='write'/>"
    "<procedure name='Inner' type='write' access='public'><execute namespace='T' procedure='Write'>"
    "<before source='data' destination='executeData' mode='merge' ifNull='ignore'/>"
    "<after source='executeData' destination='data' mode='merge'/></execute></procedure>"
    "</namespace>";

static char dir[] = "/tmp/provost-fuzz-http-XXXXXX";
static pthread_t server;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t listening = PTHREAD_COND_INITIALIZER;
static unsigned port; /* 0 until the service listens */
static int stopped;   /* the service returned */
static provost_serve_options opts;

static void on_log(void *ud, const char *line)
{
    (void)ud;
    const char *p = strstr(line, "listening on http://");
    const char *colon = p ? strrchr(p, ':') : NULL;
    if (!colon)
        return;
    pthread_mutex_lock(&lock);
    port = (unsigned)strtoul(colon + 1, NULL, 10);
    pthread_cond_signal(&listening);
    pthread_mutex_unlock(&lock);
}

static void *serve(void *arg)
{
    (void)arg;
    provost_error err;
    if (provost_serve(&opts, &err) < 0)
        fprintf(stderr, "fuzz_http: %s\n", err.message);
    pthread_mutex_lock(&lock);
    stopped = 1;
    pthread_cond_signal(&listening);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* At exit the service drains and closes its engine, so nothing runs under the exit. */
static void stop(void)
{
    pthread_kill(server, SIGTERM);
    pthread_join(server, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!mkdtemp(dir))
        abort();
    unsetenv("PROVOST_TEST_TRACE");
    provost_options o = {.db_path = dir, .sync = PROVOST_SYNC_NONE};
    provost_engine *e;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0 || provost_register(e, "t.xml", ns, sizeof ns - 1, NULL, &err) != 0 ||
        provost_user_add(e, "fuzzer", NULL, &err) != 0) {
        fprintf(stderr, "fuzz_http: %s\n", err.message);
        abort();
    }
    provost_close(e);
    opts.engine = o;
    opts.engine.step_budget = 100000; /* an inline procedure with long loops ends quickly */
    opts.listen = "127.0.0.1:0";
    opts.threads = 2;
    opts.max_body = 64 * 1024; /* 413 is reachable */
    opts.idle_timeout = 2;     /* a request the input leaves unfinished ends soon */
    opts.request_timeout = 2;
    opts.drain_timeout = 30;
    opts.allow_anonymous = "fuzzer";
    opts.log = on_log;
    if (pthread_create(&server, NULL, serve, NULL) != 0)
        abort();
    pthread_mutex_lock(&lock);
    while (!port && !stopped)
        pthread_cond_wait(&listening, &lock);
    pthread_mutex_unlock(&lock);
    if (!port)
        abort();
    atexit(stop);
    return 0;
}

/* Reads what the service answers: until it closes, or nothing more came for a moment.  A
 * request the input leaves unfinished gets no answer, and the service would wait for the
 * rest until its idle timeout; the wait here is short, and the reset that ends the
 * connection tells the service at once that the client has gone. */
static void drain_answer(int fd)
{
    char buf[8192];
    int wait_ms = 300; /* for the first byte: the engine may be running the request */
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait_ms) <= 0)
            return;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return;
        wait_ms = 30;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        abort();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("fuzz_http: connect");
        abort();
    }
    size_t off = 0;
    while (off < size) { /* the service may answer (413) and close before it has read all */
        ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    drain_answer(fd);
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);
    return 0;
}
