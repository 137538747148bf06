/*
 * svc.h -- what the files of the HTTP service share: the server's state, the request a
 * handler sees, the response it fills, and the route table (route.c) that maps a method
 * and a path to a handler.  A handler runs once the request was received whole and its
 * principal authenticated: on a connection thread, or -- for routes flagged SVC_ENGINE --
 * on one of work.c's threads while its connection waits suspended.  It fills the response
 * and returns.  Adding an endpoint is one line in route.c's table and a handler anywhere
 * in service/ (declared below).
 */
#ifndef SVC_H
#define SVC_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "provost/provost.h"
#include "provost/service.h"

struct MHD_Connection;
struct MHD_Daemon;
typedef struct svc_auth svc_auth;
typedef struct svc_idem svc_idem;
typedef struct svc_work svc_work;
typedef struct svc_batches svc_batches;
typedef struct svc_worker svc_worker;

/* The server: options as given (defaults filled in), the engine, the limits' counters. */
typedef struct svc_server {
    provost_serve_options o;
    provost_engine *engine;
    struct MHD_Daemon *mhd;
    char db_dir[4096];       /* where the tokens file lives */
    unsigned port;           /* bound */
    bool tls;
    atomic_int inflight;     /* requests running in the engine (routes flagged SVC_ENGINE) */
    atomic_int active;       /* requests received and not yet answered */
    atomic_bool ready;       /* the engine is open and recovered, and not draining */
    atomic_bool draining;
    svc_auth *auth;          /* auth.c */
    svc_idem *idem;          /* idem.c */
    svc_work *work;          /* work.c: the threads running requests in the engine */
    svc_batches *batches;    /* batch.c */
    svc_worker *worker;      /* queue.c, with --worker */
    uint64_t started_ms;
} svc_server;

#define SVC_MAX_SEGS 8
#define SVC_MAX_HEADERS 4

/* What a handler sees. */
typedef struct svc_req {
    svc_server *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;              /* as received, decoded */
    const char *seg[SVC_MAX_SEGS]; /* the path split at '/', empty segments dropped */
    size_t nseg;
    const char *body;              /* the body received (NUL-terminated), or "" */
    size_t body_len;
    const char *principal;         /* whom the request runs for; NULL on public routes
                                      answered without a token */
    const char *idem_key;          /* the Idempotency-Key header, or NULL */
} svc_req;

/* A request header or query argument (case ignored for headers), or NULL. */
const char *svc_header(const svc_req *r, const char *name);
const char *svc_query(const svc_req *r, const char *name);

/* What a handler fills.  body is malloc'd (the server frees it); type is a static string. */
typedef struct svc_resp {
    int status;
    const char *type;
    char *body;
    size_t len;
    /* Or a body read piece by piece as it is sent (libmicrohttpd's content reader: bytes
     * written to buf, or -1 at the end), its context freed by stream_free. */
    ssize_t (*stream)(void *ctx, uint64_t pos, char *buf, size_t max);
    void *stream_ctx;
    void (*stream_free)(void *ctx);
    const char *hname[SVC_MAX_HEADERS]; /* extra headers: static names, malloc'd values */
    char *hvalue[SVC_MAX_HEADERS];
    size_t nheaders;
} svc_resp;

#define SVC_JSON "application/json"
#define SVC_XML "application/xml; charset=utf-8"
#define SVC_TEXT "text/plain; charset=utf-8"

/* The body, taken over (malloc'd) */
void svc_resp_set(svc_resp *p, int status, const char *type, char *body, size_t len);
/* A text body */
void svc_resp_text(svc_resp *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The one-line JSON error {"error": "MESSAGE"} every failure outside the engine answers */
void svc_resp_error(svc_resp *p, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void svc_resp_verror(svc_resp *p, int status, const char *fmt, va_list ap);
/* An extra header (value copied); ignored past SVC_MAX_HEADERS */
void svc_resp_header(svc_resp *p, const char *name, const char *value);
void svc_resp_clear(svc_resp *p);

/* A JSON body written to a memory stream: svc_json_open, write, svc_json_close. */
typedef struct svc_json {
    FILE *f;
    char *buf;
    size_t len;
} svc_json;
int svc_json_open(svc_json *j);
/* Ends it: 200 with the JSON (a 500 error when memory ran out). */
void svc_json_close(svc_json *j, svc_resp *p);

typedef void (*svc_handler)(svc_req *r, svc_resp *p);

/* Route flags */
#define SVC_PUBLIC 1u  /* answered without a token (health and readiness) */
#define SVC_METRICS 2u /* answered without a token when --public-metrics is given */
#define SVC_ENGINE 4u  /* runs a request in the engine: counted against --max-inflight */

typedef struct svc_route {
    const char *method;  /* "GET", "POST" */
    const char *pattern; /* segments; "*" matches any one segment: "/call/ * / *" */
    svc_handler fn;
    unsigned flags;
} svc_route;

/* route.c: the route for METHOD and the path's segments.  NULL with *status 404 (no route
 * has this path) or 405 (some have, with other methods: their names, comma separated, in
 * allow). */
const svc_route *svc_route_find(const char *method, const char *const *seg, size_t nseg, int *status, char *allow,
                                size_t allowlen);

/* auth.c: the principal of a request (malloc'd in *principal), or an answer in p (401).
 * Public routes pass without a token (principal NULL). */
svc_auth *svc_auth_open(svc_server *s, provost_error *err);
void svc_auth_close(svc_auth *a);
int svc_authenticate(svc_server *s, struct MHD_Connection *c, const svc_route *rt, char **principal, svc_resp *p);
/* Read the tokens again now (SIGHUP), or when their file changed (at most once a second). */
void svc_auth_reload(svc_server *s, bool force);

/* work.c: THREADS threads calling FN on each job pushed, in order; at most CAP jobs wait
 * (svc_work_push: -1 when full or stopping).  svc_work_stop runs the jobs waiting, then
 * joins the threads. */
typedef void (*svc_work_fn)(void *job);
svc_work *svc_work_start(unsigned threads, size_t cap, svc_work_fn fn);
int svc_work_push(svc_work *w, void *job);
void svc_work_stop(svc_work *w);

/* idem.c: the Idempotency-Keys running, and the answers of those that ran (stored in
 * DB/service-keys/).  svc_idem_begin: 0 (now running), 1 (p holds the stored answer),
 * 409 (running), 422 (used with another payload), 503 (too many keys running);
 * svc_idem_end when the request is over, with the answer to store (NULL: none). */
svc_idem *svc_idem_open(svc_server *s);
void svc_idem_close(svc_idem *m);
void svc_idem_hash(const svc_req *r, unsigned char hash[32]);
int svc_idem_begin(svc_idem *m, const char *key, const unsigned char hash[32], svc_resp *p);
void svc_idem_end(svc_idem *m, const char *key, const unsigned char hash[32], const svc_resp *p);

/* The handlers (call.c, ns.c, server.c) */
void svc_health(svc_req *r, svc_resp *p);
void svc_ready(svc_req *r, svc_resp *p);
void svc_call(svc_req *r, svc_resp *p);
void svc_request(svc_req *r, svc_resp *p);
void svc_namespaces(svc_req *r, svc_resp *p);
void svc_namespace(svc_req *r, svc_resp *p);
void svc_ns_put(svc_req *r, svc_resp *p), svc_ns_delete(svc_req *r, svc_resp *p); /* deploy, remove */
void svc_metrics(svc_req *r, svc_resp *p); /* metrics.c */
void svc_stats(svc_req *r, svc_resp *p);   /* stats.c */

/* batch.c: POST /batch, GET /batch/{id}, GET /batch/{id}/results; batches run in the
 * background on the service's engine.  open resumes what an earlier run left unfinished;
 * stop (SIGTERM) lets the running requests finish and keeps the batch resumable; close
 * waits for that. */
int svc_batches_open(svc_server *s, provost_error *err);
void svc_batches_stop(svc_server *s);
void svc_batches_close(svc_server *s);
/* The process is about to _exit with requests still running (the drain's deadline
 * passed): the runner is left to end with it, detached, never joined. */
void svc_batches_abandon(svc_server *s);
void svc_batch_post(svc_req *r, svc_resp *p);
void svc_batch_get(svc_req *r, svc_resp *p);
void svc_batch_results(svc_req *r, svc_resp *p);

/* queue.c: /queue and its jobs; with --worker, the queue worker in the service's process. */
int svc_worker_start(svc_server *s, provost_error *err);
void svc_worker_stop(svc_server *s);
void svc_worker_close(svc_server *s);
void svc_worker_abandon(svc_server *s); /* as svc_batches_abandon */
void svc_queue_submit(svc_req *r, svc_resp *p);
void svc_queue_list(svc_req *r, svc_resp *p);
void svc_queue_job(svc_req *r, svc_resp *p);
void svc_queue_results(svc_req *r, svc_resp *p);
void svc_queue_activate(svc_req *r, svc_resp *p);
void svc_queue_retry(svc_req *r, svc_resp *p);
void svc_queue_delete(svc_req *r, svc_resp *p);

/* Logging through the options' log function */
void svc_log(svc_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
