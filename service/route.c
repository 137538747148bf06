/*
 * route.c -- the service's endpoints: which handler answers which method and path, and
 * which need no token.  One line per endpoint; "*" stands for any one path segment.  A
 * path no route has is 404; a path some route has with another method is 405 with Allow.
 */
#include <stdio.h>
#include <string.h>

#include "dashboard.h"
#include "svc.h"

static const svc_route routes[] = {
    {"GET", "/", svc_dashboard, SVC_PUBLIC}, /* the page holds no data: /stats needs the token */
    {"GET", "/dashboard.js", svc_dashboard, SVC_PUBLIC},
    {"GET", "/dashboard.css", svc_dashboard, SVC_PUBLIC},
    {"GET", "/healthz", svc_health, SVC_PUBLIC},
    {"GET", "/readyz", svc_ready, SVC_PUBLIC},
    {"POST", "/request", svc_request, SVC_ENGINE},
    {"POST", "/call/*/*", svc_call, SVC_ENGINE},
    {"GET", "/namespaces", svc_namespaces, 0},
    {"GET", "/namespaces/*", svc_namespace, 0},
    {"PUT", "/namespaces/*", svc_ns_put, 0}, /* the engine asks for admin */
    {"DELETE", "/namespaces/*", svc_ns_delete, 0},
    {"GET", "/metrics", svc_metrics, SVC_METRICS},
    {"GET", "/stats", svc_stats, 0},
    {"POST", "/batch", svc_batch_post, 0},
    {"GET", "/batch/*", svc_batch_get, 0},
    {"GET", "/batch/*/results", svc_batch_results, 0},
    {"POST", "/queue", svc_queue_submit, SVC_ENGINE},
    {"GET", "/queue", svc_queue_list, 0},
    {"GET", "/queue/*", svc_queue_job, 0},
    {"DELETE", "/queue/*", svc_queue_delete, SVC_ENGINE},
    {"GET", "/queue/*/results", svc_queue_results, 0},
    {"POST", "/queue/*/activate", svc_queue_activate, SVC_ENGINE},
    {"POST", "/queue/*/retry", svc_queue_retry, SVC_ENGINE},
};

/* Does PATTERN match the segments? */
static int matches(const char *pattern, const char *const *seg, size_t nseg)
{
    const char *p = pattern;
    size_t i = 0;
    while (*p == '/')
        p++;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (i >= nseg)
            return 0;
        if (!(n == 1 && *p == '*') && (strlen(seg[i]) != n || memcmp(seg[i], p, n) != 0))
            return 0;
        i++;
        p += n;
        while (*p == '/')
            p++;
    }
    return i == nseg;
}

const svc_route *svc_route_find(const char *method, const char *const *seg, size_t nseg, int *status, char *allow,
                                size_t allowlen)
{
    size_t used = 0;
    allow[0] = 0;
    *status = 404;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!matches(routes[i].pattern, seg, nseg))
            continue;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
        if (!strstr(allow, routes[i].method)) {
            int n = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", routes[i].method);
            if (n > 0 && (size_t)n < allowlen - used)
                used += (size_t)n;
        }
        *status = 405;
    }
    /* HEAD is answered as GET would be, without the body (the server drops it) */
    if (strcmp(method, "HEAD") == 0)
        return svc_route_find("GET", seg, nseg, status, allow, allowlen);
    return NULL;
}
