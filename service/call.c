/*
 * call.c -- POST /request (a trusted request document) and POST /call/{ns}/{proc} (a
 * simple request: the body is its data document, empty for empty data), each run in the
 * engine for the request's principal.  The answer is the response document, its status
 * saying how it went: 200 succeeded, 422 failed, 403 refused, 404 no such namespace or
 * procedure, 400 not a request at all.  An Idempotency-Key makes the submission
 * exactly-once, per principal; a repeat answers what the first was answered (idem.c keeps
 * it; 409 while it runs, 422 when its payload differs), or, when that was never stored,
 * from the outcome the engine recorded for the key.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "svc.h"

#define SVC_MAX_KEY 200

/* Is procedure PROC of NS (or NS itself) unknown to the engine? */
static bool unknown(provost_engine *e, const char *ns, const char *proc)
{
    provost_proc_info *v = NULL;
    size_t n = 0;
    provost_error err;
    if (provost_list_procedures(e, ns, &v, &n, &err) != 0)
        return err.code == PROVOST_E_NOTFOUND;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strcasecmp(v[i].name, proc) == 0;
    provost_proc_info_free(v, n);
    return !found;
}

/* The status of a request that ran and failed with CODE. */
static int failed_status(svc_req *r, uint32_t code, bool simple)
{
    if (code == PROVOST_E_ACCESSDENIED)
        return 403;
    if (code == PROVOST_E_NOTFOUND && simple && unknown(r->srv->engine, r->seg[1], r->seg[2]))
        return 404;
    return 422;
}

/* A key is 1 to SVC_MAX_KEY printable ASCII characters. */
static bool good_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > SVC_MAX_KEY)
        return false;
    for (const char *p = k; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

/* A repeat of a keyed request: nothing ran; the outcome recorded for the key answers. */
static void replay(svc_req *r, svc_resp *p, const provost_response *resp, bool simple)
{
    char *body = NULL;
    int n;
    if (!resp->failed)
        n = asprintf(&body, "<response replayed=\"1\"/>");
    else
        n = asprintf(&body,
                     "<response replayed=\"1\"><errorContext code=\"0x%08X\" description=\"the request with "
                     "this Idempotency-Key ran before and failed\" executeSeqNo=\"0\"/></response>",
                     resp->code);
    svc_resp_set(p, resp->failed ? failed_status(r, resp->code, simple) : 200, SVC_XML, n < 0 ? NULL : body,
                 n < 0 ? 0 : (size_t)n);
    svc_resp_header(p, "Idempotent-Replayed", "true");
}

static void run(svc_req *r, svc_resp *p, bool simple)
{
    provost_request_opts o = {.principal = r->principal, .format = PROVOST_COMPACT};
    char key[SVC_MAX_KEY + 300];
    if (r->idem_key) {
        if (!good_key(r->idem_key)) {
            svc_resp_error(p, 400, "Idempotency-Key takes 1 to %d printable characters, without spaces", SVC_MAX_KEY);
            return;
        }
        /* keys are the principal's own: another principal's key of the same text is another */
        snprintf(key, sizeof key, "http/%s/%s", r->principal ? r->principal : "", r->idem_key);
        o.key = key;
    }
    unsigned char hash[32];
    if (o.key) {
        svc_idem_hash(r, hash);
        int busy = svc_idem_begin(r->srv->idem, key, hash, p);
        if (busy == 1)
            return; /* the answer stored for the key */
        if (busy) {
            svc_resp_error(p, busy,
                           busy == 409   ? "a request with this Idempotency-Key is still running"
                           : busy == 422 ? "this Idempotency-Key was used with another request"
                                         : "too many requests with an Idempotency-Key are running: retry later");
            if (busy == 503)
                svc_resp_header(p, "Retry-After", "1");
            return;
        }
    }
    provost_response resp;
    provost_error err;
    int rc = simple ? provost_call_as(r->srv->engine, &o, r->seg[1], r->seg[2], r->body, r->body_len, &resp, &err)
                    : provost_submit_as(r->srv->engine, &o, r->body, r->body_len, &resp, &err);
    if (rc == 1) {
        replay(r, p, &resp, simple); /* ran before the answers were stored, or not stored */
    } else if (rc != 0) {
        int status = err.code == PROVOST_E_OUTOFMEMORY ? 500 : 400;
        if (resp.xml)
            svc_resp_set(p, status, SVC_XML, resp.xml, resp.len);
        else
            svc_resp_error(p, status, "%s", err.message);
        resp.xml = NULL;
    } else {
        svc_resp_set(p, resp.failed ? failed_status(r, resp.code, simple) : 200, SVC_XML, resp.xml, resp.len);
        resp.xml = NULL;
    }
    /* only an answer of a request that ran is kept: a repeat of one refused before it
     * ran is refused again, and one answered from the outcome has nothing more to keep */
    if (o.key)
        svc_idem_end(r->srv->idem, key, hash, rc == 0 ? p : NULL);
    provost_response_free(&resp);
}

void svc_call(svc_req *r, svc_resp *p)
{
    run(r, p, true);
}

void svc_request(svc_req *r, svc_resp *p)
{
    if (!r->body_len) {
        svc_resp_error(p, 400, "POST /request takes a request document as its body");
        return;
    }
    run(r, p, false);
}
