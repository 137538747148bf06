/*
 * batch_each.c -- the requests of a batch's inputs, one at a time, read exactly as
 * `provost batch` reads them (files, directories, a file of many, CSV / JSON Lines rows),
 * for a front end that does not run them here: a cluster enqueues them.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "rbatch.h"

/* Hands one item to each as a request: a document is serialised. */
static int hand(const batch_item *it, const batch_input *in, int (*each)(void *, const provost_batch_request *),
                void *ud)
{
    provost_batch_request r = {.pos = it->pos, .input = in->shown, .line = it->line, .client = it->client};
    xmlChar *xml = NULL;
    if (it->kind == BATCH_INVALID) {
        r.kind = 'i';
        r.text = it->error ? it->error : "out of memory";
        r.len = strlen(r.text);
    } else if (it->kind == BATCH_CALL) {
        r.kind = 'c';
        r.text = it->text;
        r.len = it->len;
    } else {
        int len = 0;
        xmlDocDumpMemory(it->doc, &xml, &len);
        r.kind = xml ? 'r' : 'i';
        r.text = xml ? (const char *)xml : "out of memory";
        r.len = xml ? (size_t)len : strlen(r.text);
    }
    int rc = each(ud, &r);
    xmlFree(xml);
    return rc;
}

int provost_batch_each(const char *const *inputs, int ninputs, const char *rows, int format, const char *ns,
                       int (*each)(void *ud, const provost_batch_request *r), void *ud, char *err, size_t errlen)
{
    const char *one[1] = {rows};
    const char *const *given = rows ? one : inputs;
    int ngiven = rows ? 1 : ninputs;
    batch_input *in = NULL;
    size_t nin = 0;
    uint64_t hash = 0;
    if (batch_inputs_expand(given, given, ngiven, rows != NULL, format, &in, &nin, &hash, err, errlen) != 0)
        return -1;
    batch_run b; /* what opening a source reads of the run: whether it is a call */
    memset(&b, 0, sizeof b);
    b.ns = ns;
    uint64_t pos = 0;
    int rc = 0;
    for (size_t i = 0; i < nin && rc == 0; i++) {
        batch_source s;
        char why[1200];
        batch_item it;
        if (batch_source_open(&b, &s, &in[i], (unsigned)i, false, why, sizeof why) != 0) {
            if (rows) { /* no usable header: nothing of it can be enqueued */
                snprintf(err, errlen, "%s:%s%s", in[i].shown, why[0] >= '0' && why[0] <= '9' ? "" : " ", why);
                rc = -1;
                break;
            }
            it = (batch_item){.pos = ++pos, .input = (unsigned)i, .line = 1};
            batch_item_invalid(&it, "cannot be read: %s", why);
            rc = hand(&it, &in[i], each, ud);
            batch_item_clear(&it);
            continue;
        }
        while (rc == 0 && batch_source_next(&s, &it) > 0) {
            it.pos = ++pos;
            rc = hand(&it, &in[i], each, ud);
            batch_item_clear(&it);
        }
        batch_source_close(&s);
    }
    if (rc > 0)
        snprintf(err, errlen, "stopped");
    batch_inputs_free(in, nin);
    return rc == 0 ? 0 : -1;
}
