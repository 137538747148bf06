/*
 * provost/service.h -- the HTTP service (`provost serve`): one engine shared by every
 * request, each request run for the principal its bearer token maps to.  The endpoints,
 * status codes and limits are described in docs/service.md.
 */
#ifndef PROVOST_SERVICE_H
#define PROVOST_SERVICE_H

#include <stddef.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of the options left 0. */
#define PROVOST_SERVE_LISTEN "127.0.0.1:8080"
#define PROVOST_SERVE_MAX_BODY (16u << 20)
#define PROVOST_SERVE_IDLE_TIMEOUT 30u     /* seconds a connection may stay silent */
#define PROVOST_SERVE_REQUEST_TIMEOUT 60u  /* seconds to receive one request whole */
#define PROVOST_SERVE_DRAIN_TIMEOUT 30u    /* seconds running requests get to finish on SIGTERM */

typedef struct provost_serve_options {
    provost_options engine;      /* how to open the engine (db_path, sync, validate, ...) */
    const char *listen;          /* ADDR:PORT, [ADDR6]:PORT; port 0 picks a free one */
    const char *tls_cert;        /* PEM certificate and key: HTTPS (both or neither) */
    const char *tls_key;
    unsigned threads;            /* the connection thread pool (0: the number of cores) */
    size_t max_body;             /* largest request body (0: PROVOST_SERVE_MAX_BODY) */
    unsigned max_inflight;       /* requests in the engine at once, running or waiting for an
                                    engine thread (0: 4 x threads) */
    unsigned idle_timeout;       /* seconds (0: the default) */
    unsigned request_timeout;    /* seconds (0: the default) */
    unsigned drain_timeout;      /* seconds (0: the default) */
    const char *allow_anonymous; /* a request without a token runs as this principal */
    int public_metrics;          /* /metrics and /healthz answer without a token */
    unsigned batch_jobs;         /* threads running one posted batch (0: 1); one batch runs
                                    at a time, the others wait */
    int worker;                  /* run the queue worker in the service (else jobs wait for one) */
    unsigned worker_threads;     /* its threads (0: 1) */
    /* Where the service says what it does: one line each, without a newline (the first is
     * "listening on http://ADDR:PORT" once it serves).  NULL: silent. */
    void (*log)(void *ud, const char *line);
    void *ud;
} provost_serve_options;

/* Opens the engine, serves until SIGTERM or SIGINT, then drains (no new connection,
 * running requests finish up to the drain timeout) and closes the engine.  SIGHUP reloads
 * the tokens.  The three signals are blocked in the calling thread and in every thread the
 * service starts; the service waits for them itself.  Returns 0 after a clean stop, -1
 * with ERR when it could not start, and 1 when requests were still running at the drain
 * deadline: the engine is then left open -- the caller should _exit at once, and the
 * journal finishes those requests when the database is next opened. */
int provost_serve(const provost_serve_options *o, provost_error *err);

#ifdef __cplusplus
}
#endif
#endif
