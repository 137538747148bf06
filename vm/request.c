/*
 * request.c -- requests in, responses out (SPEC §10).  A trusted request carries its own
 * procedure, compiled once and cached (reqcache.c); a simple request names one public
 * procedure.  Several data elements make a batch: one transaction per data, each with
 * globalData's children prepended, answered by <responses>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <libxml/parser.h>

#include "provost/compiler.h"
#include "util/xmlerr.h"
#include "util/xmlout.h"
#include "counters.h"
#include "db.h"
#include "rights.h"
#include "vm.h"

void pvm_uuid(char out[40])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy source: a time-and-address id is still unique enough to tell apart */
        uint64_t t = pvm_now_ns(), a = (uint64_t)(uintptr_t)out;
        memcpy(b, &t, 8);
        memcpy(b + 8, &a, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    /* {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}, by hand: one per request, and snprintf with
     * sixteen conversions cost more than the rest of a small request's bookkeeping */
    static const char hex[] = "0123456789ABCDEF";
    char *o = out;
    *o++ = '{';
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o++ = '}';
    *o = 0;
}

/* ---- one transaction ---------------------------------------------------------------- */

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

static int flag(xmlNodePtr n, const char *name, int def)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
    int r = def;
    if (v && (v[0] == '0' || v[0] == '1' || v[0] == '2') && !v[1])
        r = v[0] - '0';
    xmlFree(v);
    return r;
}

/* What a part runs: the request's own procedure, or one procedure by name (simple). */
typedef struct target {
    pvm_ns *ns;
    uint32_t proc;
    bool simple;
    const pvm_target *links; /* a request's procedure: linked by the cache */
} target;

/* Where the parts' responses go: each a <response> under <responses> in a document made
 * when first needed; or, for a request of one part answered compactly, its response
 * written straight to text when it is plain (util/xmlout.h), with no tree built for it --
 * most responses are, and building, copying and freeing that tree cost more than the
 * rest of a small request's own work. */
typedef struct answer {
    bool direct;       /* one part, compact */
    bool written;      /* text holds the response */
    char *text;
    size_t len;
    xmlDocPtr doc;     /* or NULL */
    xmlNodePtr holder; /* <responses>, its root */
    char txid[40];     /* the last part's transaction */
} answer;

static xmlNodePtr answer_holder(answer *a)
{
    if (a->holder)
        return a->holder;
    if (!a->doc && !(a->doc = xmlNewDoc(BAD_CAST "1.0")))
        return NULL;
    a->holder = xmlNewDocNode(a->doc, NULL, BAD_CAST "responses", NULL);
    if (a->holder)
        xmlDocSetRootElement(a->doc, a->holder);
    return a->holder;
}

/* Runs one transaction on the request document doc (root <request>, owned by the
 * caller), answering it in ans.  Errors met while it runs become its errorContext;
 * libxml2's own report of them (XPath type errors and the like) would only be noise on
 * the engine's stderr. */
static int run_part(provost_engine *e, pvm_catalog *cat, const target *t, xmlDocPtr doc, answer *ans,
                    const char *key, const char *as, uint32_t *failed_code)
{
    xmlSetStructuredErrorFunc(NULL, pu_xmlerr_drop); /* per thread */
    xmlNodePtr root = xmlDocGetRootElement(doc);
    pvm_req r = {.e = e, .cat = cat, .doc = doc, .simple = t->simple, .principal = as};
    r.data = child(root, "data");
    if (!r.data)
        r.data = xmlNewChild(root, NULL, BAD_CAST "data", NULL);
    r.context = child(root, "context");
    if (!r.context)
        r.context = xmlNewChild(root, NULL, BAD_CAST "context", NULL);
    if (!r.data || !r.context)
        return -1;
    pvm_uuid(r.txid);
    memcpy(r.jt.txid, r.txid, sizeof r.jt.txid);
    memcpy(ans->txid, r.txid, sizeof ans->txid);
    r.jt.outcome_key = key;
    /* a thread's request skeleton (reqdoc.c) has its transactionContext, and only that */
    if (!pvm_reqdoc_set_txid(doc, r.txid)) {
        /* the engine owns these parts of the context */
        for (xmlNodePtr c = r.context->children, next; c; c = next) {
            next = c->next;
            if (c->type == XML_ELEMENT_NODE &&
                (xmlStrEqual(c->name, BAD_CAST "transactionContext") ||
                 xmlStrEqual(c->name, BAD_CAST "executeContext") || xmlStrEqual(c->name, BAD_CAST "errorContext"))) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
        xmlNodePtr tc = xmlNewDocNode(doc, NULL, BAD_CAST "transactionContext", NULL);
        if (!tc)
            return -1;
        xmlNewProp(tc, BAD_CAST "transactionId", BAD_CAST r.txid);
        if (r.context->children)
            xmlAddPrevSibling(r.context->children, tc);
        else
            xmlAddChild(r.context, tc);
    }
    xmlNodePtr sc = child(r.context, "securityContext");
    r.root_impersonate = flag(sc, "impersonate", 0);
    r.root_trusted = flag(sc, "trusted", 1);
    if (!r.root_trusted)
        r.root_trusted = 1;
    r.root_sensitive = flag(sc, "sensitive", 0);
    xmlChar *client = xmlGetNoNsProp(child(r.context, "clientContext"), BAD_CAST "clientTransactionId");
    r.jt.client = (const char *)client;
    xmlChar *user = xmlGetNoNsProp(child(child(sc, "authentication"), "basic"), BAD_CAST "username");
    r.basic_user = (const char *)user;

    const provost_proc *proc = &t->ns->bundle->procs_v[t->proc];
    xmlNodePtr result = r.data;
    xmlDocPtr exec_doc = NULL;
    int rc;
    uint32_t id = t->simple && t->ns->counter_base != PROVOST_NONE ? t->ns->counter_base + t->proc : PROVOST_NONE;
    pvm_counters_begin(e->counters, id);
    uint64_t t0 = pvm_now_ns();
    const char *identity = r.root_impersonate == 1 ? (r.basic_user ? r.basic_user : pvm_req_principal(&r)) : "engine";
    pvm_audit_begin(&r, t->ns, t->proc, t->simple ? NULL : t->links);
    if (pvm_rights_begin(&r, t->simple, t->ns, t->proc, user != NULL) != 0) {
        rc = -1;
    } else if (t->simple && (proc->flags & PROVOST_PROC_PROVIDER)) {
        /* a provider procedure called directly: executeData = the data's children */
        xmlNodePtr ed;
        exec_doc = pvm_execute_xml(NULL, &ed);
        if (!exec_doc) {
            rc = pvm_fail(&r, PROVOST_E_OUTOFMEMORY, "out of memory");
        } else {
            for (xmlNodePtr c = r.data->children; c; c = c->next)
                xmlAddChild(ed, xmlDocCopyNode(c, exec_doc, 1));
            rc = pvm_provider_call(&r, t->ns, t->proc, exec_doc, r.root_trusted, r.root_sensitive, identity, &result);
        }
    } else {
        pvm_target none = {0};
        const pvm_target *links = t->simple ? NULL : t->links;
        size_t nc = t->ns->bundle->ncalls;
        if (t->simple)
            for (size_t i = 0; i < cat->nns; i++)
                if (cat->ns[i] == t->ns)
                    links = cat->links[i];
        if (nc && !links) {
            rc = pvm_fail(&r, PROVOST_E_OUTOFMEMORY, "out of memory");
        } else {
            r.depth = t->simple ? 1 : 0;
            rc = pvm_run_proc(&r, t->ns, t->proc, links ? links : &none, r.data, r.root_impersonate,
                              r.root_trusted, r.root_sensitive, identity);
            if (rc != 0 && t->simple)
                pvm_error_push_source(&r.err, t->ns->name, pvm_bundle_str(t->ns->bundle, proc->name));
        }
    }
    if (pvm_finish(&r, rc == 0) != 0)
        rc = -1;
    pvm_queue_forget(&r); /* jobs of a stuck transaction wait for it to be resolved */
    pvm_counters_end(e->counters, id, rc == 0 ? PVM_OUTCOME_OK : PVM_OUTCOME_FAILED, pvm_now_ns() - t0);

    int answered = 0;
    if (rc == 0 && result && ans->direct)
        ans->text = pu_xml_plain_wrapped("response", result, "data", &ans->len, &ans->written);
    if (!ans->written) {
        xmlNodePtr holder = answer_holder(ans);
        xmlNodePtr response = holder ? xmlNewChild(holder, NULL, BAD_CAST "response", NULL) : NULL;
        if (!response)
            answered = -1;
        if (rc == 0 && response) {
            xmlNodePtr d = result ? xmlDocCopyNode(result, response->doc, 1) : NULL;
            if (!d)
                d = xmlNewDocNode(response->doc, NULL, BAD_CAST "data", NULL);
            xmlNodeSetName(d, BAD_CAST "data");
            xmlAddChild(response, d);
        } else if (rc != 0) {
            if (!r.err.code)
                pvm_fail(&r, PROVOST_E_FAIL, "the request failed");
            pvm_counters_failed(e->counters, r.err.code, pvm_req_principal(&r), t->simple ? t->ns->name : "",
                                pvm_bundle_str(t->ns->bundle, proc->name), r.err.description);
            if (response)
                pvm_error_node(&r.err, response);
            if (failed_code && !*failed_code)
                *failed_code = r.err.code;
        }
    }
    pvm_error_clear(&r.err);
    pvm_rights_end(&r);
    pvm_txn_clear(&r);
    for (size_t i = 0; i < r.ngrave; i++)
        xmlFreeNode(r.grave[i]);
    free(r.grave);
    if (r.xp)
        xmlXPathFreeContext(r.xp);
    if (exec_doc)
        pvm_execute_xml_free(exec_doc);
    xmlFree(user);
    xmlFree(client);
    xmlSetStructuredErrorFunc(NULL, NULL);
    return answered ? answered : rc == 0 ? 0 : 1;
}

/* ---- requests ------------------------------------------------------------------------ */

static int bad_input(provost_response *resp, provost_error *err, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad_input(provost_response *resp, provost_error *err, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    char codes[16];
    snprintf(codes, sizeof codes, "0x%08X", code);
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr r = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "response", NULL) : NULL;
    xmlNodePtr ec = r ? xmlNewChild(r, NULL, BAD_CAST "errorContext", NULL) : NULL;
    if (ec) {
        xmlDocSetRootElement(doc, r);
        xmlNewProp(ec, BAD_CAST "code", BAD_CAST codes);
        xmlNewProp(ec, BAD_CAST "description", BAD_CAST err->message);
        xmlNewProp(ec, BAD_CAST "executeSeqNo", BAD_CAST "0");
        resp->xml = pu_xml_string(r, 0, &resp->len);
    }
    xmlFreeDoc(doc);
    resp->failed = 1;
    resp->code = code;
    return -1;
}

/* Parse request text; NULL after filling resp/err with LINE:COL when it is not XML. */
static xmlDocPtr parse(const char *xml, size_t len, provost_response *resp, provost_error *err)
{
    provost_xml_error pe;
    xmlDocPtr doc = provost_xml_read(xml, len, "request", NULL, 0, &pe);
    if (!doc)
        bad_input(resp, err, PROVOST_E_INVALIDARG, "%d:%d: malformed XML: %s", pe.line > 0 ? pe.line : 1,
                  pe.col > 0 ? pe.col : 1, pe.msg);
    return doc;
}

static bool is_request_elem(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !n->ns && xmlStrEqual(n->name, BAD_CAST name);
}

/* Split into parts and run each; doc is consumed. */
static int run_request(provost_engine *e, pvm_catalog *cat, xmlDocPtr doc, const target *t, const char *key,
                       const char *as, int format, provost_response *resp)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr global = NULL, context = NULL;
    size_t ndata = 0;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (is_request_elem(c, "data"))
            ndata++;
        else if (is_request_elem(c, "globalData"))
            global = c;
        else if (is_request_elem(c, "context"))
            context = c;
    }
    answer ans = {.direct = ndata <= 1 && !format};
    int failed = 0;
    uint32_t code = 0;
    {
        xmlNodePtr d = root->children;
        for (size_t part = 0; part < (ndata ? ndata : 1); part++) {
            while (d && !is_request_elem(d, "data"))
                d = d->next;
            xmlDocPtr pd;
            xmlNodePtr pr, data;
            if (ndata <= 1 && !global && pvm_reqdoc_is(doc)) {
                /* a thread's request skeleton: its data and context already */
                pd = doc;
                pr = root;
                data = d;
                context = NULL;
                d = NULL;
            } else if (ndata <= 1 && !global) {
                /* one part: the request's document (ours, freed below) becomes the part's,
                 * holding only its data and then its context, as a copy would: nothing is
                 * copied */
                pd = doc;
                pr = root;
                xmlFreePropList(root->properties);
                root->properties = NULL;
                for (xmlNodePtr c = root->children, next; c; c = next) {
                    next = c->next;
                    xmlUnlinkNode(c);
                    if (c != d && c != context)
                        xmlFreeNode(c);
                }
                data = d ? d : xmlNewDocNode(pd, NULL, BAD_CAST "data", NULL);
                if (!data || !xmlAddChild(pr, data)) {
                    xmlFreeNode(data);
                    if (context)
                        xmlAddChild(pr, context);
                    failed = 1;
                    break;
                }
                if (context)
                    xmlAddChild(pr, context);
                context = NULL; /* in place: not copied below */
                d = NULL;
            } else {
                /* one document per part: its own data and context */
                pd = xmlNewDoc(BAD_CAST "1.0");
                pr = pd ? xmlNewDocNode(pd, NULL, BAD_CAST "request", NULL) : NULL;
                if (!pr) {
                    xmlFreeDoc(pd);
                    failed = 1;
                    break;
                }
                xmlDocSetRootElement(pd, pr);
                data = d ? xmlDocCopyNode(d, pd, 1) : xmlNewDocNode(pd, NULL, BAD_CAST "data", NULL);
                xmlAddChild(pr, data);
            }
            if (global) {
                xmlNodePtr first = data->children;
                for (xmlNodePtr g = global->children; g; g = g->next) {
                    xmlNodePtr cp = xmlDocCopyNode(g, pd, 1);
                    if (cp) {
                        if (first)
                            xmlAddPrevSibling(first, cp);
                        else
                            xmlAddChild(data, cp);
                    }
                }
            }
            if (context)
                xmlAddChild(pr, xmlDocCopyNode(context, pd, 1));
            char partkey[1100];
            if (key && ndata > 1)
                snprintf(partkey, sizeof partkey, "%s#%zu", key, part + 1);
            failed |= run_part(e, cat, t, pd, &ans, key ? (ndata > 1 ? partkey : key) : NULL, as, &code);
            if (pd != doc)
                xmlFreeDoc(pd);
            if (d)
                d = d->next;
        }
    }
    pvm_reqdoc_free(doc);
    if (ans.written) {
        resp->xml = ans.text;
        resp->len = ans.len;
    } else if (ans.holder) {
        xmlNodePtr shown = ndata > 1 ? ans.holder : ans.holder->children;
        resp->xml = shown ? pu_xml_string(shown, format ? PU_XML_FORMAT : 0, &resp->len) : NULL;
    }
    xmlFreeDoc(ans.doc);
    resp->failed = failed;
    resp->code = code;
    memcpy(resp->txid, ans.txid, sizeof resp->txid);
    if (!resp->xml) {
        resp->failed = 1;
        resp->code = PROVOST_E_OUTOFMEMORY;
    }
    return resp->xml ? 0 : -1;
}

/* Runs a request document it takes over (and frees). */
static int submit_owned(provost_engine *e, const char *key, const char *as, xmlDocPtr doc, int format,
                        provost_response *resp, provost_error *err)
{
    memset(resp, 0, sizeof *resp);
    memset(err, 0, sizeof *err);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root)
        provost_strip_mpf(root);
    if (!root || !is_request_elem(root, "request")) {
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", root && root->ns ? (const char *)root->ns->href : "",
                 root && root->ns ? " " : "", root ? (const char *)root->name : "");
        xmlFreeDoc(doc);
        return bad_input(resp, err, PROVOST_E_INVALIDARG, "the document is <%s>, not a <request>", name);
    }
    xmlNodePtr proc = NULL;
    for (xmlNodePtr c = root->children; c; c = c->next)
        if (is_request_elem(c, "procedure"))
            proc = c;
    if (!proc) {
        xmlFreeDoc(doc);
        return bad_input(resp, err, PROVOST_E_INVALIDARG,
                         "the request has no <procedure>: call a procedure by name with provost call");
    }
    pvm_catalog *cat = pvm_catalog_get(e);
    pvm_rlink *l = pvm_rcache_get(e, cat, proc, err);
    if (!l) {
        pvm_catalog_put(cat);
        xmlFreeDoc(doc);
        char why[sizeof err->message]; /* bad_input writes err->message: not from itself */
        snprintf(why, sizeof why, "%s", err->message);
        return bad_input(resp, err, err->code, "%s", why);
    }
    target t = {.ns = l->ns, .proc = 0, .simple = false, .links = l->ns->bundle->ncalls ? l->links : NULL};
    int rc = run_request(e, cat, doc, &t, key, as, format, resp);
    pvm_rlink_put(l);
    pvm_catalog_put(cat);
    if (rc != 0)
        return bad_input(resp, err, PROVOST_E_OUTOFMEMORY, "out of memory");
    return 0;
}

/* The caller keeps its document: the engine works on a copy. */
static int submit_doc(provost_engine *e, const char *key, xmlDocPtr request, int format, provost_response *resp,
                      provost_error *err)
{
    xmlDocPtr doc = xmlCopyDoc(request, 1);
    if (!doc) {
        memset(resp, 0, sizeof *resp);
        memset(err, 0, sizeof *err);
        return bad_input(resp, err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    return submit_owned(e, key, NULL, doc, format, resp, err);
}

int provost_submit_doc(provost_engine *e, xmlDocPtr request, int format, provost_response *resp, provost_error *err)
{
    return submit_doc(e, NULL, request, format, resp, err);
}

static int already_done(provost_engine *e, const char *key, provost_response *resp, provost_error *err);

int provost_submit_doc_keyed(provost_engine *e, const char *key, xmlDocPtr request, int format,
                             provost_response *resp, provost_error *err)
{
    memset(resp, 0, sizeof *resp);
    memset(err, 0, sizeof *err);
    int done = key ? already_done(e, key, resp, err) : 0;
    return done ? done : submit_doc(e, key, request, format, resp, err);
}

/* A keyed request that already finished: its outcome, and nothing runs. */
static int already_done(provost_engine *e, const char *key, provost_response *resp, provost_error *err)
{
    char *o = NULL;
    int found = provost_outcome(e, key, &o);
    if (found <= 0)
        return found;
    memset(resp, 0, sizeof *resp);
    unsigned code = 0;
    char status[16] = "";
    sscanf(o, "%15s 0x%x", status, &code);
    resp->failed = strcmp(status, "committed") != 0;
    resp->code = code;
    free(o);
    (void)err;
    return 1;
}

static int submit_text(provost_engine *e, const char *key, bool lookup, const char *as, const char *xml, size_t len, int format,
                       provost_response *resp, provost_error *err)
{
    memset(resp, 0, sizeof *resp);
    memset(err, 0, sizeof *err);
    int done = key && lookup ? already_done(e, key, resp, err) : 0;
    if (done)
        return done;
    xmlDocPtr doc = parse(xml, len, resp, err);
    if (!doc)
        return -1;
    return submit_owned(e, key, as, doc, format, resp, err); /* parsed here: no copy needed */
}

int provost_submit(provost_engine *e, const char *xml, size_t len, int format, provost_response *resp,
                   provost_error *err)
{
    return submit_text(e, NULL, false, NULL, xml, len, format, resp, err);
}

int provost_submit_keyed(provost_engine *e, const char *key, const char *xml, size_t len, int format,
                         provost_response *resp, provost_error *err)
{
    return submit_text(e, key, true, NULL, xml, len, format, resp, err);
}

int provost_submit_as(provost_engine *e, const provost_request_opts *o, const char *xml, size_t len,
                      provost_response *resp, provost_error *err)
{
    return submit_text(e, o->key, !o->fresh, o->principal, xml, len, o->format, resp, err);
}

int provost_outcome(provost_engine *e, const char *key, char **outcome)
{
    size_t len = 0;
    char why[256] = "";
    *outcome = NULL;
    if (pvm_journal_external(e->journal))
        return pvm_journal_outcome(e->journal, key, outcome);
    char *v = pvm_db_get(e->db, PVM_CF_OUTCOMES, key, strlen(key), &len, why, sizeof why);
    if (!v)
        return len == 0 && !why[0] ? 0 : -1;
    char *o = malloc(len + 1);
    if (o) {
        memcpy(o, v, len);
        o[len] = 0;
    }
    free(v);
    *outcome = o;
    return o ? 1 : -1;
}

int provost_call(provost_engine *e, const char *nsname, const char *procname, const char *data, size_t len,
                 int format, provost_response *resp, provost_error *err)
{
    return provost_call_keyed(e, NULL, nsname, procname, data, len, format, resp, err);
}

static int call_as(provost_engine *e, const char *key, bool lookup, const char *as, const char *nsname, const char *procname,
                   const char *data, size_t len, int format, provost_response *resp, provost_error *err);

int provost_call_keyed(provost_engine *e, const char *key, const char *nsname, const char *procname,
                       const char *data, size_t len, int format, provost_response *resp, provost_error *err)
{
    return call_as(e, key, true, NULL, nsname, procname, data, len, format, resp, err);
}

int provost_call_as(provost_engine *e, const provost_request_opts *o, const char *nsname, const char *procname,
                    const char *data, size_t len, provost_response *resp, provost_error *err)
{
    return call_as(e, o->key, !o->fresh, o->principal, nsname, procname, data, len, o->format, resp, err);
}

static int call_as(provost_engine *e, const char *key, bool lookup, const char *as, const char *nsname, const char *procname,
                   const char *data, size_t len, int format, provost_response *resp, provost_error *err)
{
    memset(resp, 0, sizeof *resp);
    memset(err, 0, sizeof *err);
    int done = key && lookup ? already_done(e, key, resp, err) : 0;
    if (done)
        return done;
    xmlDocPtr doc;
    if (data && len) {
        doc = parse(data, len, resp, err);
        if (!doc)
            return -1;
    } else if (!(doc = pvm_reqdoc_take())) { /* the thread's is in use */
        doc = xmlNewDoc(BAD_CAST "1.0");
        if (doc)
            xmlDocSetRootElement(doc, xmlNewDocNode(doc, NULL, BAD_CAST "data", NULL));
    }
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        pvm_reqdoc_free(doc);
        return bad_input(resp, err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    provost_strip_mpf(root);
    if (is_request_elem(root, "data")) {
        /* wrap it: <request><data/></request> */
        xmlNodePtr req = xmlNewDocNode(doc, NULL, BAD_CAST "request", NULL);
        if (!req) {
            pvm_reqdoc_free(doc);
            return bad_input(resp, err, PROVOST_E_OUTOFMEMORY, "out of memory");
        }
        xmlUnlinkNode(root);
        xmlDocSetRootElement(doc, req);
        xmlAddChild(req, root);
        root = req;
    } else if (!is_request_elem(root, "request")) {
        char name[128];
        snprintf(name, sizeof name, "%s", (const char *)root->name);
        pvm_reqdoc_free(doc);
        return bad_input(resp, err, PROVOST_E_INVALIDARG, "the data document is <%s>: expected <data> or <request>",
                         name);
    }
    size_t ndata = 0;
    for (xmlNodePtr c = root->children; c; c = c->next) {
        if (is_request_elem(c, "procedure")) {
            pvm_reqdoc_free(doc);
            return bad_input(resp, err, PROVOST_E_INVALIDARG,
                             "a simple request cannot carry a <procedure>: submit it as a trusted request (provost run)");
        }
        ndata += is_request_elem(c, "data");
    }
    if (ndata > 1) {
        pvm_reqdoc_free(doc);
        return bad_input(resp, err, PROVOST_E_INVALIDARG, "a simple request has at most one <data>");
    }
    pvm_catalog *cat = pvm_catalog_get(e);
    pvm_ns *ns = pvm_catalog_find(cat, nsname, NULL);
    uint32_t p = ns ? pvm_find_proc(ns, procname) : PROVOST_NONE;
    int rc = 0;
    if (p == PROVOST_NONE) {
        pvm_catalog_put(cat);
        pvm_reqdoc_free(doc);
        bad_input(resp, err, PROVOST_E_NOTFOUND, ns ? "namespace '%s' has no procedure '%s'" : "no namespace '%s' is registered%.0s",
                  nsname, procname);
        return 0; /* the request ran, and failed */
    }
    if (ns->bundle->procs_v[p].access != PROVOST_ACCESS_PUBLIC) {
        pvm_catalog_put(cat);
        pvm_reqdoc_free(doc);
        bad_input(resp, err, PROVOST_E_ACCESSDENIED,
                  "procedure '%s' of namespace '%s' is private: a simple request can only call public procedures",
                  procname, nsname);
        return 0;
    }
    target t = {.ns = ns, .proc = p, .simple = true};
    rc = run_request(e, cat, doc, &t, key, as, format, resp);
    pvm_catalog_put(cat);
    if (rc != 0)
        return bad_input(resp, err, PROVOST_E_OUTOFMEMORY, "out of memory");
    return 0;
}

void provost_response_free(provost_response *r)
{
    if (r) {
        free(r->xml);
        memset(r, 0, sizeof *r);
    }
}
