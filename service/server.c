/*
 * server.c -- the HTTP service on libmicrohttpd: its thread pool accepts and reads
 * connections; a request is routed and authenticated as soon as its headers are in (so a
 * request that will be refused never has its body read), its body is gathered up to the
 * maximum, and its handler runs on the pool thread once the body is whole.  Every failure
 * is answered with a status and a one-line error; the limits (body size, requests in the
 * engine, idle and slow clients) are kept here.  provost_serve waits for the signals
 * itself: SIGTERM and SIGINT drain and stop, SIGHUP reloads the tokens.
 */
#define _GNU_SOURCE /* open_memstream */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "provost/sdnotify.h"

#include "util/json.h"
#include "svc.h"

#define SVC_HEADER_MEMORY (64u * 1024) /* per connection: request line and headers */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void svc_log(svc_server *s, const char *fmt, ...)
{
    if (!s->o.log)
        return;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->o.log(s->o.ud, line);
}

/* ---- responses ------------------------------------------------------------------------ */

void svc_resp_set(svc_resp *p, int status, const char *type, char *body, size_t len)
{
    free(p->body);
    p->status = status;
    p->type = type;
    p->body = body;
    p->len = body ? len : 0;
}

void svc_resp_text(svc_resp *p, int status, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    svc_resp_set(p, status, SVC_TEXT, n < 0 ? NULL : s, n < 0 ? 0 : (size_t)n);
}

void svc_resp_verror(svc_resp *p, int status, const char *fmt, va_list ap)
{
    char msg[1200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    svc_json j;
    if (svc_json_open(&j) != 0) {
        svc_resp_set(p, status, SVC_JSON, NULL, 0);
        return;
    }
    fputs("{\"error\": ", j.f);
    pu_json_string(j.f, msg);
    fputs("}\n", j.f);
    svc_json_close(&j, p);
    p->status = status;
}

void svc_resp_error(svc_resp *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svc_resp_verror(p, status, fmt, ap);
    va_end(ap);
}

void svc_resp_header(svc_resp *p, const char *name, const char *value)
{
    if (p->nheaders >= SVC_MAX_HEADERS)
        return;
    char *v = strdup(value);
    if (!v)
        return;
    p->hname[p->nheaders] = name;
    p->hvalue[p->nheaders++] = v;
}

void svc_resp_clear(svc_resp *p)
{
    free(p->body);
    if (p->stream_ctx && p->stream_free)
        p->stream_free(p->stream_ctx);
    for (size_t i = 0; i < p->nheaders; i++)
        free(p->hvalue[i]);
    memset(p, 0, sizeof *p);
}

int svc_json_open(svc_json *j)
{
    j->buf = NULL;
    j->len = 0;
    j->f = open_memstream(&j->buf, &j->len);
    return j->f ? 0 : -1;
}

void svc_json_close(svc_json *j, svc_resp *p)
{
    int bad = ferror(j->f);
    if (fclose(j->f) != 0 || bad) {
        free(j->buf);
        svc_resp_set(p, 500, SVC_JSON, NULL, 0);
        return;
    }
    svc_resp_set(p, 200, SVC_JSON, j->buf, j->len);
}

const char *svc_header(const svc_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *svc_query(const svc_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Queues p on c (p is emptied). */
static enum MHD_Result answer(svc_server *s, struct MHD_Connection *c, svc_resp *p)
{
    if (!p->status)
        svc_resp_error(p, 500, "the request was not answered");
    struct MHD_Response *r;
    if (p->stream) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, p->stream, p->stream_ctx, p->stream_free);
        if (r)
            p->stream_ctx = NULL; /* MHD frees it */
    } else if (p->body && p->len) {
        r = MHD_create_response_from_buffer_with_free_callback(p->len, p->body, free);
        if (r)
            p->body = NULL; /* MHD frees it */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) {
        svc_resp_clear(p);
        return MHD_NO;
    }
    if (p->type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, p->type);
    for (size_t i = 0; i < p->nheaders; i++)
        MHD_add_response_header(r, p->hname[i], p->hvalue[i]);
    if (p->status >= 500 && p->status != 503)
        svc_log(s, "answered %d", p->status);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)p->status, r);
    MHD_destroy_response(r);
    svc_resp_clear(p);
    return rc;
}

static enum MHD_Result answer_error(svc_server *s, struct MHD_Connection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum MHD_Result answer_error(svc_server *s, struct MHD_Connection *c, int status, const char *fmt, ...)
{
    svc_resp p = {0};
    va_list ap;
    va_start(ap, fmt);
    svc_resp_verror(&p, status, fmt, ap);
    va_end(ap);
    return answer(s, c, &p);
}

/* ---- one request ---------------------------------------------------------------------- */

/* What the server keeps about a request between libmicrohttpd's calls. */
typedef struct svc_conn {
    const svc_route *route;
    char *principal;
    char *body;
    size_t len, cap;
    bool too_big;
    uint64_t started;
    char path[2048];
    const char *seg[SVC_MAX_SEGS];
    size_t nseg;
    /* a request run by the engine's threads (work.c) while its connection is suspended */
    svc_server *srv;
    svc_req req;
    svc_resp resp;
    bool queued;
    atomic_bool done;
} svc_conn;

/* Splits PATH into x's segments (decoded by libmicrohttpd); -1 when there are too many. */
static int split(svc_conn *x, const char *path)
{
    snprintf(x->path, sizeof x->path, "%s", path);
    x->nseg = 0;
    for (char *p = x->path, *save = NULL, *t; (t = strtok_r(p, "/", &save)); p = NULL) {
        if (x->nseg == SVC_MAX_SEGS)
            return -1;
        x->seg[x->nseg++] = t;
    }
    return 0;
}

/* The headers are in: route, authenticate, check the announced length.  An answer queued
 * here means the body is never read. */
static enum MHD_Result begin(svc_server *s, struct MHD_Connection *c, svc_conn *x, const char *url,
                             const char *method)
{
    int status = 404;
    char allow[64] = "";
    if (strlen(url) >= sizeof x->path || split(x, url) != 0 ||
        !(x->route = svc_route_find(method, x->seg, x->nseg, &status, allow, sizeof allow))) {
        if (status == 405) {
            svc_resp p = {0};
            svc_resp_error(&p, 405, "method %s is not allowed on %s (allowed: %s)", method, url, allow);
            svc_resp_header(&p, MHD_HTTP_HEADER_ALLOW, allow);
            return answer(s, c, &p);
        }
        return answer_error(s, c, 404, "no such endpoint: %s", url);
    }
    svc_resp p = {0};
    if (svc_authenticate(s, c, x->route, &x->principal, &p) != 0)
        return answer(s, c, &p);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || end == cl || *end || n > s->o.max_body)
            return answer_error(s, c, 413, "the body is larger than the service takes (%zu bytes)", s->o.max_body);
    }
    return MHD_YES;
}

/* A piece of the body: kept while under the maximum, dropped after it. */
static enum MHD_Result gather(svc_server *s, svc_conn *x, const char *data, size_t n)
{
    if (now_ms() - x->started > (uint64_t)s->o.request_timeout * 1000u) {
        svc_log(s, "a request's body took longer than %u s: connection closed", s->o.request_timeout);
        return MHD_NO; /* the client is too slow to be answered: cut off */
    }
    if (x->too_big)
        return MHD_YES;
    if (n > s->o.max_body - x->len) {
        x->too_big = true; /* answered 413 once the client stops sending */
        free(x->body);
        x->body = NULL;
        x->len = x->cap = 0;
        return MHD_YES;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1)
            cap *= 2;
        if (cap > s->o.max_body + 1)
            cap = s->o.max_body + 1;
        char *b = realloc(x->body, cap);
        if (!b)
            return MHD_NO;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    x->body[x->len] = 0;
    return MHD_YES;
}

/* A request for the engine, on one of work.c's threads: its answer is kept, and its
 * connection resumed for libmicrohttpd to send it. */
static void run_job(void *job)
{
    svc_conn *x = job;
    svc_server *s = x->srv;
    x->route->fn(&x->req, &x->resp);
    atomic_fetch_sub(&s->inflight, 1);
    atomic_store(&x->done, true);
    MHD_resume_connection(x->req.conn);
}

/* The request is whole: run its handler, here or (the engine's) on a work thread. */
static enum MHD_Result dispatch(svc_server *s, struct MHD_Connection *c, svc_conn *x, const char *url,
                                const char *method)
{
    if (x->queued) /* called again once resumed */
        return atomic_load(&x->done) ? answer(s, c, &x->resp) : MHD_YES;
    if (x->too_big)
        return answer_error(s, c, 413, "the body is larger than the service takes (%zu bytes)", s->o.max_body);
    svc_req r = {.srv = s, .conn = c, .method = method, .path = url, .nseg = x->nseg,
                 .body = x->body ? x->body : "", .body_len = x->len, .principal = x->principal};
    memcpy(r.seg, x->seg, sizeof r.seg);
    r.idem_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    svc_resp p = {0};
    if (!(x->route->flags & SVC_ENGINE)) {
        x->route->fn(&r, &p);
        return answer(s, c, &p);
    }
    if (atomic_load(&s->draining)) {
        svc_resp_error(&p, 503, "the service is stopping");
        svc_resp_header(&p, MHD_HTTP_HEADER_CONNECTION, "close");
        return answer(s, c, &p);
    }
    if (atomic_fetch_add(&s->inflight, 1) >= (int)s->o.max_inflight) {
        atomic_fetch_sub(&s->inflight, 1);
        svc_resp_error(&p, 503, "too many requests in flight (%u): retry later", s->o.max_inflight);
        svc_resp_header(&p, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return answer(s, c, &p);
    }
    x->srv = s;
    x->req = r;
    x->queued = true;
    MHD_suspend_connection(c); /* before the job can resume it */
    if (svc_work_push(s->work, x) != 0) {
        /* cannot happen while inflight bounds the queue; answered all the same */
        atomic_fetch_sub(&s->inflight, 1);
        svc_resp_error(&x->resp, 503, "too many requests in flight (%u): retry later", s->o.max_inflight);
        atomic_store(&x->done, true);
        MHD_resume_connection(c);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    svc_server *s = cls;
    svc_conn *x = *con_cls;
    if (!x) {
        x = calloc(1, sizeof *x);
        if (!x)
            return MHD_NO;
        x->started = now_ms();
        *con_cls = x;
        atomic_fetch_add(&s->active, 1);
        return begin(s, c, x, url, method);
    }
    if (*upload_size) {
        enum MHD_Result rc = gather(s, x, upload, *upload_size);
        *upload_size = 0;
        return rc;
    }
    return dispatch(s, c, x, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    svc_server *s = cls;
    svc_conn *x = *con_cls;
    if (!x)
        return;
    svc_resp_clear(&x->resp);
    free(x->body);
    free(x->principal);
    free(x);
    *con_cls = NULL;
    atomic_fetch_sub(&s->active, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    svc_server *s = cls;
    if (!s->o.log)
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    s->o.log(s->o.ud, line);
}

/* ---- health --------------------------------------------------------------------------- */

void svc_health(svc_req *r, svc_resp *p)
{
    (void)r;
    svc_resp_text(p, 200, "ok\n");
}

void svc_ready(svc_req *r, svc_resp *p)
{
    if (atomic_load(&r->srv->ready))
        svc_resp_text(p, 200, "ready\n");
    else
        svc_resp_text(p, 503, "%s\n", atomic_load(&r->srv->draining) ? "draining" : "starting");
}

/* ---- starting and stopping ------------------------------------------------------------ */

static int fail(provost_error *err, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(provost_error *err, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return -1;
}

/* ADDR:PORT or [ADDR6]:PORT into sa. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, provost_error *err)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return fail(err, PROVOST_E_INVALIDARG, "--listen takes ADDR:PORT, not '%s'", listen);
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return fail(err, PROVOST_E_INVALIDARG, "--listen: '%s' is not a port (0 to 65535)", colon + 1);
    memset(sa, 0, sizeof *sa);
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = 0;
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return fail(err, PROVOST_E_INVALIDARG, "--listen: '%s' is not an IPv6 address", host + 1);
        return 0;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return fail(err, PROVOST_E_INVALIDARG, "--listen: '%s' is not an IPv4 address (or [IPv6])", host);
    return 0;
}

static char *slurp(const char *path, provost_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, PROVOST_E_NOTFOUND, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                fail(err, PROVOST_E_OUTOFMEMORY, "%s: out of memory", path);
                return NULL;
            }
            buf = b;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) {
        fail(err, PROVOST_E_INVALIDARG, "%s: empty", path);
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

static void defaults(provost_serve_options *o)
{
    if (!o->listen)
        o->listen = PROVOST_SERVE_LISTEN;
    if (!o->threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->threads = n > 0 ? (unsigned)n : 1;
    }
    if (!o->max_body)
        o->max_body = PROVOST_SERVE_MAX_BODY;
    /* a few requests may wait for an engine thread: clients with more connections than
     * the service has threads (a portal's pool) queue briefly instead of being refused */
    if (!o->max_inflight)
        o->max_inflight = 4 * o->threads;
    if (!o->idle_timeout)
        o->idle_timeout = PROVOST_SERVE_IDLE_TIMEOUT;
    if (!o->request_timeout)
        o->request_timeout = PROVOST_SERVE_REQUEST_TIMEOUT;
    if (!o->drain_timeout)
        o->drain_timeout = PROVOST_SERVE_DRAIN_TIMEOUT;
}

static int start_daemon(svc_server *s, char *cert, char *key, provost_error *err)
{
    struct sockaddr_storage sa;
    if (parse_listen(s->o.listen, &sa, err) != 0)
        return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                              MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, /* first: all its messages */
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                              MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.threads,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.idle_timeout,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SVC_HEADER_MEMORY,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                              MHD_OPTION_ARRAY, cert ? tls : tls + 2,
                              MHD_OPTION_END);
    if (!s->mhd)
        return fail(err, PROVOST_E_FAIL, "cannot listen on %s%s", s->o.listen,
                    cert ? " (or the TLS certificate and key do not load)" : " (in use, or not an address of this host)");
    const union MHD_DaemonInfo *fd = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (fd && getsockname(fd->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    s->tls = cert != NULL;
    return 0;
}

/* SIGTERM: no new connection; requests received finish, up to the drain deadline. */
static int drain(svc_server *s)
{
    atomic_store(&s->draining, true);
    atomic_store(&s->ready, false);
    svc_batches_stop(s);
    svc_worker_stop(s);
    MHD_socket l = MHD_quiesce_daemon(s->mhd);
    if (l != MHD_INVALID_SOCKET)
        close(l);
    int running = atomic_load(&s->active);
    if (running)
        svc_log(s, "stopping: %d request%s to finish (up to %u s)", running, running == 1 ? "" : "s",
                s->o.drain_timeout);
    uint64_t deadline = now_ms() + (uint64_t)s->o.drain_timeout * 1000u;
    while (atomic_load(&s->active) > 0 && now_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->inflight) > 0) {
        /* a request still runs in the engine, and no thread can be stopped inside it:
         * leave it to the journal, which finishes it when the database is next opened */
        svc_log(s, "stopped with %d request%s still running: the next open of the database finishes %s",
                atomic_load(&s->inflight), atomic_load(&s->inflight) == 1 ? "" : "s",
                atomic_load(&s->inflight) == 1 ? "it" : "them");
        return 1;
    }
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    return 0;
}

/* Waits for the signals; 0 after a clean stop, 1 when requests were abandoned. */
static int serve_loop(svc_server *s, const sigset_t *set)
{
    for (;;) {
        struct timespec tick = {1, 0};
        int sig = sigtimedwait(set, NULL, &tick);
        if (sig == SIGHUP) {
            provost_notify("RELOADING=1");
            svc_auth_reload(s, true);
            provost_notify("READY=1");
        } else if (sig == SIGTERM || sig == SIGINT) {
            provost_notify("STOPPING=1");
            svc_log(s, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return drain(s);
        } else {
            svc_auth_reload(s, false); /* the tokens file changed? */
        }
    }
}

int provost_serve(const provost_serve_options *opts, provost_error *err)
{
    memset(err, 0, sizeof *err);
    if (!opts->tls_cert != !opts->tls_key)
        return fail(err, PROVOST_E_INVALIDARG, "--tls-cert and --tls-key go together");
    svc_server *s = calloc(1, sizeof *s);
    if (!s)
        return fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    s->o = *opts;
    defaults(&s->o);
    s->started_ms = now_ms();
    snprintf(s->db_dir, sizeof s->db_dir, "%s", s->o.engine.db_path ? s->o.engine.db_path : "provost.db");
    char *cert = NULL, *key = NULL;
    if (s->o.tls_cert && (!(cert = slurp(s->o.tls_cert, err)) || !(key = slurp(s->o.tls_key, err)))) {
        free(cert);
        free(s);
        return -1;
    }
    /* the signals are waited for here, never delivered to a thread: every thread the
     * engine and the server start inherits this mask */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    if (provost_notify_init() < 0)
        svc_log(s, "NOTIFY_SOCKET names no usable socket: the service manager is not told when the service is ready");
    int rc = -1;
    if (provost_open(&s->o.engine, &s->engine, err) != 0)
        goto out;
    if (provost_warning(s->engine))
        svc_log(s, "%s", provost_warning(s->engine));
    if (!(s->auth = svc_auth_open(s, err)))
        goto out;
    if (!(s->idem = svc_idem_open(s)) || !(s->work = svc_work_start(s->o.threads, s->o.max_inflight, run_job))) {
        fail(err, PROVOST_E_OUTOFMEMORY, "cannot start the service's threads");
        goto out;
    }
    if (svc_batches_open(s, err) != 0 || svc_worker_start(s, err) != 0)
        goto out;
    if (start_daemon(s, cert, key, err) != 0)
        goto out;
    atomic_store(&s->ready, true);
    provost_notify("READY=1"); /* a service manager's Type=notify start completes here */
    svc_log(s, "listening on %s://%.*s:%u", s->tls ? "https" : "http",
            (int)(strrchr(s->o.listen, ':') - s->o.listen), s->o.listen, s->port);
    rc = serve_loop(s, &set);
    if (rc == 1) {
        /* the engine stays open under the running requests; the caller exits at once */
        svc_batches_abandon(s);
        svc_worker_abandon(s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return 1;
    }
out:
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    svc_batches_stop(s);
    svc_worker_stop(s);
    svc_work_stop(s->work); /* nothing waits in it: the drain saw no request in flight */
    svc_batches_close(s);
    svc_worker_close(s);
    svc_auth_close(s->auth);
    svc_idem_close(s->idem);
    if (s->engine)
        provost_close(s->engine);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(cert);
    free(key);
    free(s);
    return rc;
}
