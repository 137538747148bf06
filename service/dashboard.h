/*
 * dashboard.h -- the dashboard's handler, and its files as the build embeds them
 * (service/dashboard/embed.cmake writes the table) for dashboard.c to serve.
 */
#ifndef SVC_DASHBOARD_H
#define SVC_DASHBOARD_H

#include <stddef.h>

#include "svc.h"

typedef struct svc_asset {
    const char *path;          /* served at: "/", "/dashboard.js", ... */
    const char *type;          /* Content-Type */
    const char *etag;          /* quoted, from the file's SHA-256 */
    const unsigned char *data;
    size_t len;
} svc_asset;

extern const svc_asset svc_dashboard_assets[];
extern const size_t svc_dashboard_nassets;

/* The asset served at PATH, or NULL */
const svc_asset *svc_dashboard_find(const char *path);

/* GET / and GET /NAME of the page's other files; no token needed */
void svc_dashboard(svc_req *r, svc_resp *p);

#endif
