/*
 * dashboard.c -- GET / and the page's assets: the operator's dashboard, embedded in the
 * binary at build time (service/dashboard/, embed.cmake).  The page needs no token (it
 * holds no data; a browser cannot send a bearer token when it opens a page); what it shows
 * comes from GET /stats, which does.  Its script and style are files of their own so the
 * Content-Security-Policy can forbid inline code and every other origin.
 */
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"

/* Only this origin's script, style and /stats; the favicon is an empty data: URL (no
 * request, so no 404 in the console); no framing, no form posts, no <base>. */
#define SVC_DASHBOARD_CSP                                                                                      \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "     \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const svc_asset *svc_dashboard_find(const char *path)
{
    for (size_t i = 0; i < svc_dashboard_nassets; i++)
        if (strcmp(svc_dashboard_assets[i].path, path) == 0)
            return &svc_dashboard_assets[i];
    return NULL;
}

/* Does an If-None-Match value name ETAG (or "*")? */
static int etag_matches(const char *inm, const char *etag)
{
    size_t n = strlen(etag);
    for (const char *p = inm; p && *p;) {
        p += strspn(p, " \t,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*' || strncmp(p, etag, n) == 0)
            return 1;
        p = strchr(p, ',');
    }
    return 0;
}

void svc_dashboard(svc_req *r, svc_resp *p)
{
    /* the route table sends "/" and "/NAME" here; the segments say which */
    char path[256] = "/";
    if (r->nseg == 1 && strlen(r->seg[0]) < sizeof path - 1)
        strcat(path, r->seg[0]);
    const svc_asset *a = r->nseg <= 1 ? svc_dashboard_find(path) : NULL;
    if (!a) {
        svc_resp_error(p, 404, "no such page");
        return;
    }
    svc_resp_header(p, "Content-Security-Policy", SVC_DASHBOARD_CSP);
    /* kept, but asked for again each time: a new binary's page is seen at once, and the
     * ETag makes asking cheap */
    svc_resp_header(p, "Cache-Control", "no-cache");
    svc_resp_header(p, "X-Content-Type-Options", "nosniff");
    svc_resp_header(p, "ETag", a->etag);
    const char *inm = svc_header(r, "If-None-Match");
    if (inm && etag_matches(inm, a->etag)) {
        svc_resp_set(p, 304, NULL, NULL, 0);
        return;
    }
    char *body = malloc(a->len);
    if (!body) {
        svc_resp_clear(p);
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    memcpy(body, a->data, a->len);
    svc_resp_set(p, 200, a->type, body, a->len);
}
