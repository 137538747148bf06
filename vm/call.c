/*
 * call.c -- calls.  A call to a namespace procedure runs its code with the step's
 * executeData as its data; a call to a provider procedure builds the executeXml context
 * (SPEC §10) around the step's executeData and hands it to the provider.  The
 * transaction's provider life-cycle (SPEC §6) is kept here: activation on first use,
 * the log of successful write/twoPhase calls, and at the end prepare/commit or rollback
 * newest first, then deactivation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm/counters.h"
#include "vm/vm.h"

struct provost_pcall {
    pvm_req *req;
    pvm_provider *provider;
    pvm_active *active;
    const char *ns, *proc;
    int phase;
    bool in_doubt;
    const char *identity;
    const pvm_txn_call *logged; /* prepare/commit/rollback: the call's journal entry */
    char **kv;                  /* process: rollback key/values being set */
    size_t nkv, capkv;
    uint32_t code;
    char *desc;
    xmlDocPtr detail;
};

/* ---- services for providers (provider.h) -------------------------------------------- */

const char *provost_pcall_namespace(const provost_pcall *c) { return c->ns; }
const char *provost_pcall_procedure(const provost_pcall *c) { return c->proc; }
const char *provost_pcall_transaction(const provost_pcall *c) { return c->req->txid; }
int provost_pcall_phase(const provost_pcall *c) { return c->phase; }
int provost_pcall_in_doubt(const provost_pcall *c) { return c->in_doubt; }
const char *provost_pcall_identity(const provost_pcall *c) { return c->identity ? c->identity : "engine"; }
void *provost_provider_state(const provost_pcall *c) { return c->provider->state; }
void *provost_txn_state(const provost_pcall *c) { return c->active ? c->active->state : NULL; }

void provost_set_txn_state(provost_pcall *c, void *state)
{
    if (c->active)
        c->active->state = state;
}

const char *provost_pcall_setting(const provost_pcall *c, const char *name)
{
    if (name && strcmp(name, "errorMapFile") == 0)
        return c->req->e->error_map_file;
    return NULL;
}

int provost_set_rollback_data(provost_pcall *c, const char *key, const char *value)
{
    if (c->phase != PROVOST_PHASE_PROCESS || !key || !value)
        return -1;
    for (size_t i = 0; i < c->nkv; i += 2)
        if (strcmp(c->kv[i], key) == 0) {
            char *v = strdup(value);
            if (!v)
                return -1;
            free(c->kv[i + 1]);
            c->kv[i + 1] = v;
            return 0;
        }
    if (c->nkv + 2 > c->capkv) {
        size_t cap = c->capkv ? c->capkv * 2 : 8;
        char **kv = realloc(c->kv, cap * sizeof *kv);
        if (!kv)
            return -1;
        c->kv = kv;
        c->capkv = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    c->kv[c->nkv++] = k;
    c->kv[c->nkv++] = v;
    return 0;
}

const char *provost_get_rollback_data(const provost_pcall *c, const char *key)
{
    char *const *kv = c->logged ? c->logged->kv : c->kv;
    size_t n = c->logged ? c->logged->nkv : c->nkv;
    for (size_t i = 0; key && i + 1 < n; i += 2)
        if (strcmp(kv[i], key) == 0)
            return kv[i + 1];
    return NULL;
}

static uint32_t as_failure(uint32_t code)
{
    return (code & 0x80000000u) ? code : PROVOST_E_FAIL;
}

uint32_t provost_fail(provost_pcall *c, uint32_t code, const char *description)
{
    free(c->desc);
    c->desc = description ? strdup(description) : NULL;
    c->code = as_failure(code);
    return c->code;
}

uint32_t provost_fail_xml(provost_pcall *c, uint32_t code, xmlNodePtr error_description)
{
    c->code = as_failure(code);
    if (!error_description)
        return c->code;
    xmlChar *d = xmlGetNoNsProp(error_description, BAD_CAST "description");
    free(c->desc);
    c->desc = d ? strdup((const char *)d) : NULL;
    xmlFree(d);
    if (c->detail)
        xmlFreeDoc(c->detail);
    c->detail = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = c->detail ? xmlDocCopyNode(error_description, c->detail, 1) : NULL;
    if (copy) {
        xmlDocSetRootElement(c->detail, copy);
        xmlUnsetProp(copy, BAD_CAST "description"); /* lifted to errorContext/@description */
        xmlNodeSetName(copy, BAD_CAST "errorDescription");
    }
    return c->code;
}

static void pcall_clear(provost_pcall *c)
{
    for (size_t i = 0; i < c->nkv; i++)
        free(c->kv[i]);
    free(c->kv);
    free(c->desc);
    if (c->detail)
        xmlFreeDoc(c->detail);
}

/* ---- executeXml ------------------------------------------------------------------------ */

static xmlNodePtr copy_child(xmlNodePtr to, xmlNodePtr from_parent, const char *name)
{
    for (xmlNodePtr c = from_parent ? from_parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name)) {
            xmlNodePtr copy = xmlDocCopyNode(c, to->doc, 1);
            if (copy)
                xmlAddChild(to, copy);
            return copy;
        }
    return NULL;
}

static const char *const type_name[] = {"", "read", "write", "twoPhase"};

/* The context of one provider call, inserted as the first child of executeXml. */
static xmlNodePtr build_context(pvm_req *r, xmlDocPtr doc, const pvm_ns *ns, const provost_proc *proc,
                                int trusted, bool in_doubt)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr ctx = xmlNewDocNode(doc, NULL, BAD_CAST "context", NULL);
    if (!ctx)
        return NULL;
    if (root->children)
        xmlAddPrevSibling(root->children, ctx);
    else
        xmlAddChild(root, ctx);
    xmlNodePtr tc = xmlNewChild(ctx, NULL, BAD_CAST "transactionContext", NULL);
    if (tc)
        xmlNewProp(tc, BAD_CAST "transactionId", BAD_CAST r->txid);
    xmlNodePtr sc = copy_child(ctx, r->context, "securityContext");
    if (sc && trusted != 1)
        for (xmlNodePtr a = sc->children, next; a; a = next) {
            next = a->next;
            if (a->type == XML_ELEMENT_NODE && xmlStrEqual(a->name, BAD_CAST "authentication")) {
                xmlUnlinkNode(a);
                xmlFreeNode(a);
            }
        }
    const provost_bundle *b = ns->bundle;
    if (b->ns->provider_context != PROVOST_NONE) {
        xmlDocPtr lit = pvm_literal_doc(ns, b->ns->provider_context);
        if (lit && xmlDocGetRootElement(lit)) {
            xmlNodePtr pc = xmlDocCopyNode(xmlDocGetRootElement(lit), doc, 1);
            if (pc)
                xmlAddChild(ctx, pc);
        }
    }
    xmlNodePtr ec = xmlNewChild(ctx, NULL, BAD_CAST "executeContext", NULL);
    if (ec) {
        char id[16];
        snprintf(id, sizeof id, "%u", r->exec_id);
        xmlNewProp(ec, BAD_CAST "namespace", BAD_CAST ns->name);
        xmlNewProp(ec, BAD_CAST "procedure", BAD_CAST provost_bundle_str(b, proc->name));
        xmlNewProp(ec, BAD_CAST "providerSource", BAD_CAST provost_bundle_str(b, b->ns->provider));
        xmlNewProp(ec, BAD_CAST "procedureExecId", BAD_CAST id);
        xmlNewProp(ec, BAD_CAST "type", BAD_CAST type_name[proc->type]);
        if (in_doubt)
            xmlNewProp(ec, BAD_CAST "inDoubt", BAD_CAST "1");
    }
    copy_child(ctx, r->context, "clientContext");
    copy_child(ctx, r->context, "queueContext");
    if (r->handling)
        pvm_error_node(r->handling, ctx);
    return ctx;
}

static pvm_active *activate(pvm_req *r, pvm_provider *p, provost_pcall *pc)
{
    for (size_t i = 0; i < r->nactive; i++)
        if (r->active[i].provider == p)
            return &r->active[i];
    if (r->nactive == r->capactive) {
        size_t cap = r->capactive ? r->capactive * 2 : 4;
        pvm_active *a = realloc(r->active, cap * sizeof *a);
        if (!a)
            return NULL;
        r->active = a;
        r->capactive = cap;
    }
    pvm_active *a = &r->active[r->nactive];
    *a = (pvm_active){.provider = p};
    pc->active = a;
    pc->phase = PROVOST_PHASE_ACTIVATE;
    if (p->desc->activate) {
        uint32_t rc = p->desc->activate(pc);
        if (rc) {
            pc->code = as_failure(rc);
            return NULL;
        }
    }
    r->nactive++;
    return a;
}

/* Call a provider procedure with the executeData element exec of document doc
 * (root executeXml). */
int pvm_provider_call(pvm_req *r, pvm_ns *ns, uint32_t procidx, xmlDocPtr doc, int trusted,
                      const char *identity)
{
    const provost_proc *proc = &ns->bundle->procs_v[procidx];
    const char *pname = provost_bundle_str(ns->bundle, proc->name);
    pvm_provider *p = ns->provider;
    r->exec_id++;
    if (!p || !p->desc) {
        pvm_fail(r, PROVOST_E_NOPROVIDER, "provider '%s' of namespace '%s' is not loaded: %s",
                 p ? p->name : "", ns->name, p && p->load_error ? p->load_error : "no providerSource");
        pvm_error_push_source(&r->err, ns->name, pname);
        return -1;
    }
    provost_pcall pc = {.req = r, .provider = p, .ns = ns->name, .proc = pname, .identity = identity};
    pvm_active *a = activate(r, p, &pc);
    if (!a) {
        pvm_fail(r, pc.code ? pc.code : PROVOST_E_OUTOFMEMORY, "provider '%s' could not be activated%s%s",
                 p->name, pc.desc ? ": " : "", pc.desc ? pc.desc : "");
        pvm_error_push_source(&r->err, ns->name, pname);
        pcall_clear(&pc);
        return -1;
    }
    pc.active = a;
    pc.phase = PROVOST_PHASE_PROCESS;
    xmlNodePtr ctx = build_context(r, doc, ns, proc, trusted, false);
    if (!ctx) {
        pcall_clear(&pc);
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    uint32_t rc = p->desc->process(&pc, doc);
    xmlUnlinkNode(ctx);
    xmlFreeNode(ctx);
    if (rc != 0) {
        uint32_t code = pc.code ? pc.code : as_failure(rc);
        const char *desc = pc.desc;
        if (r->handling && r->handling->code == code) /* MPF: the same code keeps its description */
            desc = r->handling->description;
        pvm_fail(r, code, "%s", desc ? desc : "the provider failed");
        r->err.seqno = r->exec_id;
        if (pc.detail && !(r->handling && r->handling->code == code)) {
            r->err.detail = pc.detail;
            pc.detail = NULL;
        }
        pvm_error_push_source(&r->err, ns->name, pname);
        pcall_clear(&pc);
        return -1;
    }
    if (proc->type != PROVOST_TYPE_READ) {
        if (r->ncalls == r->capcalls) {
            size_t cap = r->capcalls ? r->capcalls * 2 : 8;
            pvm_txn_call *v = realloc(r->calls, cap * sizeof *v);
            if (!v) {
                pcall_clear(&pc);
                return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
            }
            r->calls = v;
            r->capcalls = cap;
        }
        pvm_txn_call *t = &r->calls[r->ncalls++];
        *t = (pvm_txn_call){.provider = p, .ns = strdup(ns->name), .proc = strdup(pname), .type = proc->type,
                            .kv = pc.kv, .nkv = pc.nkv, .ns_rt = ns, .procidx = procidx};
        pc.kv = NULL;
        pc.nkv = 0;
        if (proc->flags & PROVOST_PROC_SAVEDATA) {
            xmlNodePtr root = xmlDocGetRootElement(doc);
            for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "executeData")) {
                    t->saved = xmlNewDoc(BAD_CAST "1.0");
                    xmlNodePtr cp = t->saved ? xmlDocCopyNode(c, t->saved, 1) : NULL;
                    if (cp)
                        xmlDocSetRootElement(t->saved, cp);
                }
        }
    }
    pcall_clear(&pc);
    return 0;
}

/* A later phase of a logged call: executeXml{context, executeData (saved or empty)}. */
static uint32_t phase_call(pvm_req *r, const pvm_txn_call *t, int phase, uint32_t *code, char **desc)
{
    const provost_provider *d = t->provider->desc;
    uint32_t (*fn)(provost_pcall *, xmlDocPtr) =
        phase == PROVOST_PHASE_PREPARE ? d->prepare : phase == PROVOST_PHASE_COMMIT ? d->commit : d->rollback;
    if (!fn)
        return 0;
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "executeXml", NULL) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        *code = PROVOST_E_OUTOFMEMORY;
        return *code;
    }
    xmlDocSetRootElement(doc, root);
    xmlNodePtr ed = t->saved && xmlDocGetRootElement(t->saved) ? xmlDocCopyNode(xmlDocGetRootElement(t->saved), doc, 1)
                                                               : xmlNewDocNode(doc, NULL, BAD_CAST "executeData", NULL);
    if (ed)
        xmlAddChild(root, ed);
    const provost_proc *proc = &t->ns_rt->bundle->procs_v[t->procidx];
    build_context(r, doc, t->ns_rt, proc, 2, false);
    provost_pcall pc = {.req = r, .provider = t->provider, .ns = t->ns, .proc = t->proc, .phase = phase,
                        .logged = t};
    for (size_t i = 0; i < r->nactive; i++)
        if (r->active[i].provider == t->provider)
            pc.active = &r->active[i];
    uint32_t rc = fn(&pc, doc);
    xmlFreeDoc(doc);
    if (rc) {
        *code = pc.code ? pc.code : as_failure(rc);
        *desc = pc.desc;
        pc.desc = NULL;
    }
    pcall_clear(&pc);
    return rc;
}

static void rollback_all(pvm_req *r)
{
    for (size_t i = r->ncalls; i-- > 0;) {
        uint32_t code = 0;
        char *desc = NULL;
        phase_call(r, &r->calls[i], PROVOST_PHASE_ROLLBACK, &code, &desc);
        free(desc); /* a failed compensation is the journal's business (stuck transactions) */
    }
}

int pvm_finish(pvm_req *r, bool ok)
{
    int rc = ok ? 0 : -1;
    if (ok) {
        for (size_t i = 0; i < r->ncalls && rc == 0; i++) {
            pvm_txn_call *t = &r->calls[i];
            if (t->type != PROVOST_TYPE_TWOPHASE)
                continue;
            uint32_t code = 0;
            char *desc = NULL;
            if (phase_call(r, t, PROVOST_PHASE_PREPARE, &code, &desc)) {
                pvm_fail(r, code, "%s", desc ? desc : "prepare failed");
                pvm_error_push_source(&r->err, t->ns, t->proc);
                rc = -1;
            } else {
                t->prepared = true;
            }
            free(desc);
        }
        for (size_t i = 0; i < r->ncalls && rc == 0; i++) {
            pvm_txn_call *t = &r->calls[i];
            if (t->type != PROVOST_TYPE_TWOPHASE)
                continue;
            uint32_t code = 0;
            char *desc = NULL;
            for (int attempt = 0; attempt < 3; attempt++) {
                free(desc);
                desc = NULL;
                if (phase_call(r, t, PROVOST_PHASE_COMMIT, &code, &desc) == 0) {
                    code = 0;
                    break;
                }
            }
            free(desc); /* a commit that keeps failing leaves the transaction in doubt */
        }
    }
    if (rc != 0)
        rollback_all(r);
    for (size_t i = r->nactive; i-- > 0;) {
        pvm_active *a = &r->active[i];
        if (!a->provider->desc->deactivate)
            continue;
        provost_pcall pc = {.req = r, .provider = a->provider, .active = a, .phase = PROVOST_PHASE_DEACTIVATE};
        a->provider->desc->deactivate(&pc);
        pcall_clear(&pc);
    }
    return rc;
}

void pvm_txn_clear(pvm_req *r)
{
    for (size_t i = 0; i < r->ncalls; i++) {
        pvm_txn_call *t = &r->calls[i];
        for (size_t k = 0; k < t->nkv; k++)
            free(t->kv[k]);
        free(t->kv);
        free(t->ns);
        free(t->proc);
        if (t->saved)
            xmlFreeDoc(t->saved);
    }
    free(r->calls);
    free(r->active);
    r->calls = NULL;
    r->active = NULL;
    r->ncalls = r->capcalls = r->nactive = r->capactive = 0;
}

/* ---- a step's call ------------------------------------------------------------------- */

static const char *identity_for(pvm_req *r, int impersonate)
{
    if (impersonate != 1)
        return "engine";
    if (r->basic_user)
        return r->basic_user;
    return r->e->caller;
}

int pvm_call(pvm_frame *f, const provost_callref *c, const pvm_target *t)
{
    pvm_req *r = f->req;
    if (!t->ns)
        return pvm_fail(r, PROVOST_E_NOTFOUND, "procedure '%s' of namespace '%s' is not registered",
                        provost_bundle_str(f->b, c->proc), provost_bundle_str(f->b, c->ns));
    if (r->depth >= PVM_MAX_DEPTH)
        return pvm_fail(r, PROVOST_E_DEPTH, "calls nest more than %d deep (calling %s/%s)", PVM_MAX_DEPTH,
                        t->ns->name, provost_bundle_str(t->ns->bundle, t->ns->bundle->procs_v[t->proc].name));
    int imp = c->impersonate ? c->impersonate : f->impersonate;
    int trusted = c->trusted ? c->trusted : f->trusted;
    const char *identity = identity_for(r, imp);
    const provost_proc *proc = &t->ns->bundle->procs_v[t->proc];
    uint32_t id = t->ns->counter_base == PROVOST_NONE ? PROVOST_NONE : t->ns->counter_base + t->proc;
    pvm_counters_begin(r->e->counters, id);
    uint64_t t0 = pvm_now_ns();
    int rc;
    r->depth++;
    if (proc->flags & PROVOST_PROC_PROVIDER)
        rc = pvm_provider_call(r, t->ns, t->proc, f->exec_doc, trusted, identity);
    else {
        rc = pvm_run_proc(r, t->ns, t->proc, t->links, f->exec, imp, trusted, identity);
        if (rc != 0)
            pvm_error_push_source(&r->err, t->ns->name, provost_bundle_str(t->ns->bundle, proc->name));
    }
    r->depth--;
    pvm_counters_end(r->e->counters, id, rc == 0 ? PVM_OUTCOME_OK : PVM_OUTCOME_FAILED, pvm_now_ns() - t0);
    return rc;
}
