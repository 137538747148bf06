/*
 * ns.c -- GET /namespaces (every registered namespace) and GET /namespaces/{ns} (its
 * procedures), as JSON, for a portal to learn what it may call; PUT and DELETE
 * /namespaces/{ns} to deploy and remove one while the service holds the database.
 */
#include <stdio.h>
#include <stdlib.h>

#include "util/json.h"
#include "svc.h"

static void engine_error(svc_resp *p, const provost_error *err)
{
    svc_resp_error(p, err->code == PROVOST_E_NOTFOUND ? 404 : err->code == PROVOST_E_ACCESSDENIED ? 403 : 500, "%s",
                   err->message);
}

void svc_namespaces(svc_req *r, svc_resp *p)
{
    provost_ns_info *v = NULL;
    size_t n = 0;
    provost_error err;
    if (provost_list(r->srv->engine, &v, &n, &err) != 0) {
        engine_error(p, &err);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) != 0) {
        provost_ns_info_free(v, n);
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fputs("{\"namespaces\": [", j.f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", {\"name\": " : "{\"name\": ", j.f);
        pu_json_string(j.f, v[i].name);
        fputs(", \"version\": ", j.f);
        pu_json_string(j.f, v[i].version);
        fputs(", \"provider\": ", j.f);
        pu_json_string(j.f, v[i].provider);
        fputs(", \"description\": ", j.f);
        pu_json_string(j.f, v[i].description);
        fprintf(j.f, ", \"revision\": %llu, \"procedures\": %u, \"read_only\": %s}",
                (unsigned long long)v[i].revision, v[i].procedures, v[i].read_only ? "true" : "false");
    }
    fputs("]}\n", j.f);
    provost_ns_info_free(v, n);
    svc_json_close(&j, p);
}

static const char *type_name(int type)
{
    return type == 1 ? "read" : type == 2 ? "write" : type == 3 ? "twoPhase" : "unknown";
}

void svc_namespace(svc_req *r, svc_resp *p)
{
    provost_proc_info *v = NULL;
    size_t n = 0;
    provost_error err;
    if (provost_list_procedures(r->srv->engine, r->seg[1], &v, &n, &err) != 0) {
        engine_error(p, &err);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) != 0) {
        provost_proc_info_free(v, n);
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fputs("{\"name\": ", j.f);
    pu_json_string(j.f, r->seg[1]);
    fputs(", \"procedures\": [", j.f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", {\"name\": " : "{\"name\": ", j.f);
        pu_json_string(j.f, v[i].name);
        fprintf(j.f, ", \"type\": \"%s\", \"access\": \"%s\", \"description\": ", type_name(v[i].type),
                v[i].access ? "public" : "private");
        pu_json_string(j.f, v[i].description);
        fputc('}', j.f);
    }
    fputs("]}\n", j.f);
    provost_proc_info_free(v, n);
    svc_json_close(&j, p);
}

static void info_clear(provost_ns_info *i)
{
    free(i->name);
    free(i->version);
    free(i->provider);
    free(i->description);
}

/* PUT /namespaces/{ns}: deploys a namespace (its XML, or a bundle of provost compile) on
 * the engine the service holds, which no other process can open meanwhile.  The next
 * request sees it: the engine swaps its catalogue whole. */
void svc_ns_put(svc_req *r, svc_resp *p)
{
    if (!r->body_len) {
        svc_resp_error(p, 400, "PUT /namespaces/%s takes the namespace's XML or bundle as its body", r->seg[1]);
        return;
    }
    provost_ns_info info;
    provost_error err;
    if (provost_register_as(r->srv->engine, r->principal, r->seg[1], "body", r->body, r->body_len, &info, &err) != 0) {
        int status = err.code == PROVOST_E_ACCESSDENIED ? 403
                     : err.code == PROVOST_E_READONLY || (err.code == PROVOST_E_INVALIDARG && info.name) ? 409
                     : err.code == PROVOST_E_INVALIDARG ? 400
                                                        : 500;
        info_clear(&info);
        svc_resp_error(p, status, "%s", err.message);
        return;
    }
    svc_log(r->srv, "namespace %s revision %llu deployed by %s", info.name, (unsigned long long)info.revision,
            r->principal ? r->principal : "?");
    svc_json j;
    if (svc_json_open(&j) != 0) {
        info_clear(&info);
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fputs("{\"name\": ", j.f);
    pu_json_string(j.f, info.name);
    fprintf(j.f, ", \"revision\": %llu, \"procedures\": %u}\n", (unsigned long long)info.revision, info.procedures);
    svc_json_close(&j, p);
    if (p->status == 200 && info.revision == 1)
        p->status = 201; /* a namespace of that name was not registered */
    info_clear(&info);
}

/* DELETE /namespaces/{ns} */
void svc_ns_delete(svc_req *r, svc_resp *p)
{
    provost_error err;
    if (provost_unregister_as(r->srv->engine, r->principal, r->seg[1], &err) != 0) {
        svc_resp_error(p, err.code == PROVOST_E_READONLY ? 409 : err.code == PROVOST_E_NOTFOUND ? 404
                       : err.code == PROVOST_E_ACCESSDENIED ? 403 : 500, "%s", err.message);
        return;
    }
    svc_log(r->srv, "namespace %s removed by %s", r->seg[1], r->principal ? r->principal : "?");
    svc_resp_set(p, 204, SVC_TEXT, NULL, 0);
}
