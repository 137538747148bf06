/*
 * provider.c -- the provider-call protocol (SPEC §6, §10), and the only vm file that knows
 * how providers are found: the engine's providers, loaded once; the services provider.h
 * offers them; the executeXml document (made here for every step and call), with the context
 * of pctx.c put in it for each call; the transaction's provider life-cycle -- activation
 * on first use, the process call (journaled INTENT before and DONE after a write or
 * twoPhase call, which is logged for the end of the transaction), the prepare, commit or
 * rollback call of a logged one, deactivation.  When and how often those are made is
 * txn.c's.
 */
#define _GNU_SOURCE /* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "provost/providers.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xmlout.h"
#include "vm.h"

/* ---- the engine's providers ----------------------------------------------------------- */

/* The provider named NAME (a providerSource), loaded and initialised on first use and kept
 * for the engine's life; one that cannot be loaded is kept too, with why. */
pvm_provider *pvm_provider_get(provost_engine *e, const char *name)
{
    const provost_provider *builtin = provost_builtin_provider(name);
    pthread_mutex_lock(&e->plock);
    for (pvm_provider *p = e->providers; p; p = p->next)
        /* a built-in by any case; a plug-in's name or path is a file name: exactly */
        if (strcmp(p->name, name) == 0 || (builtin && pu_strieq(p->name, name))) {
            pthread_mutex_unlock(&e->plock);
            return p;
        }
    pvm_provider *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name))) {
        free(p);
        pthread_mutex_unlock(&e->plock);
        return NULL;
    }
    p->desc = builtin;
    p->builtin = builtin != NULL;
    if (!p->desc) {
        char why[512] = "";
        p->desc = provost_load_provider(name, &p->dl, why, sizeof why);
        if (!p->desc)
            p->load_error = strdup(why);
    }
    if (p->desc && p->desc->init) {
        uint32_t rc = p->desc->init(&p->state);
        if (rc) {
            char why[128];
            snprintf(why, sizeof why, "its init failed with 0x%08X", rc);
            p->load_error = strdup(why);
            p->desc = NULL;
            provost_unload_provider(p->dl);
            p->dl = NULL;
        }
    }
    p->next = e->providers;
    e->providers = p;
    pthread_mutex_unlock(&e->plock);
    return p;
}

void pvm_providers_free(provost_engine *e)
{
    for (pvm_provider *p = e->providers, *next; p; p = next) {
        next = p->next;
        if (p->desc && p->desc->fini)
            p->desc->fini(p->state);
        if (p->dl)
            provost_unload_provider(p->dl);
        free(p->name);
        free(p->load_error);
        free(p);
    }
    e->providers = NULL;
}

/* ---- services for providers (provider.h) -------------------------------------------- */

const char *provost_pcall_namespace(const provost_pcall *c) { return c->ns; }
const char *provost_pcall_procedure(const provost_pcall *c) { return c->proc; }
const char *provost_pcall_transaction(const provost_pcall *c) { return c->req->txid; }
int provost_pcall_phase(const provost_pcall *c) { return c->phase; }
int provost_pcall_in_doubt(const provost_pcall *c) { return c->in_doubt; }
const char *provost_pcall_identity(const provost_pcall *c) { return c->identity ? c->identity : "engine"; }
const char *provost_pcall_credential(const provost_pcall *c) { return c->req ? c->req->execute_as : NULL; }
void *provost_provider_state(const provost_pcall *c) { return c->provider->state; }
void *provost_txn_state(const provost_pcall *c) { return c->active ? c->active->state : NULL; }

/* Services defined in files of their own that no engine code calls: named here so that an
 * executable linking the static vm library keeps them for the plug-ins that bind to them
 * when they are loaded. */
const void *const pvm_plugin_services[] = {(const void *)provost_secret, (const void *)provost_secret_free};

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
    if (PU_GROW(c->kv, c->capkv, c->nkv + 2) != 0)
        return -1;
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

uint32_t provost_failf(provost_pcall *c, uint32_t code, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return provost_fail(c, code, "out of memory describing a failure");
    for (char *p = msg; *p; p++) /* one line, whatever a name or a server's message holds */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    uint32_t rc = provost_fail(c, code, msg);
    free(msg);
    return rc;
}

xmlNodePtr provost_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

char *provost_text(xmlNodePtr n)
{
    if (!n)
        return NULL;
    xmlChar *s = xmlNodeGetContent(n);
    char *out = strdup(s ? (const char *)s : "");
    xmlFree(s);
    return out;
}

char *provost_child_text(xmlNodePtr parent, const char *name)
{
    return provost_text(provost_child(parent, name));
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

static pvm_active *activate(pvm_req *r, pvm_provider *p, provost_pcall *pc)
{
    if (!p->desc)
        return NULL;
    for (size_t i = 0; i < r->nactive; i++)
        if (r->active[i].provider == p)
            return &r->active[i];
    if (PU_GROW(r->active, r->capactive, r->nactive + 1) != 0)
        return NULL;
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

xmlNodePtr pvm_execute_data(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "executeData"))
            return c;
    return NULL;
}

/* Call a provider procedure on executeXml document doc.  A write or twoPhase call is
 * journaled (INTENT, durable) before the provider sees it, and DONE after.  On success *exec
 * is doc's executeData as the provider left it (it may have put a new element in place of
 * the old one), or NULL when it left none. */
int pvm_provider_call(pvm_req *r, pvm_ns *ns, uint32_t procidx, xmlDocPtr doc, int trusted, int sensitive,
                      const char *identity, xmlNodePtr *exec)
{
    *exec = NULL;
    const pvm_bundle *b = ns->bundle;
    const provost_proc *proc = &b->procs_v[procidx];
    const char *pname = pvm_bundle_str(b, proc->name);
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
    xmlDocPtr pctx = b->ns->provider_context != PROVOST_NONE ? pvm_literal_doc(ns, b->ns->provider_context) : NULL;
    const char *source = pvm_bundle_str(b, b->ns->provider); /* as the namespace writes it */

    bool writes = proc->type != PROVOST_TYPE_READ;
    uint32_t seq = 0;
    xmlDocPtr saved = NULL;
    if (writes) {
        char *data = NULL;
        xmlNodePtr ed = pvm_execute_data(doc);
        if ((proc->flags & PROVOST_PROC_SAVEDATA) && ed) {
            data = pu_xml_string(ed, 0, NULL);
            saved = xmlNewDoc(BAD_CAST "1.0");
            xmlNodePtr cp = saved ? xmlDocCopyNode(ed, saved, 1) : NULL;
            if (!data || !cp) {
                free(data);
                xmlFreeNode(cp);
                xmlFreeDoc(saved);
                pcall_clear(&pc);
                return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
            }
            xmlDocSetRootElement(saved, cp);
        }
        char why[300];
        int jrc = pvm_journal_intent(r->e->journal, &r->jt, sensitive == 1, r->exec_id, proc->type, ns->name, pname,
                                     source, data, &seq, why, sizeof why);
        free(data);
        if (jrc != 0) {
            xmlFreeDoc(saved);
            pvm_fail(r, PROVOST_E_JOURNAL, "the call was not made: %s", why);
            pvm_error_push_source(&r->err, ns->name, pname);
            pcall_clear(&pc);
            return -1;
        }
    }
    pvm_ctx_args ca = {.ns = ns->name, .proc = pname, .source = source, .type = proc->type,
                       .provider_context = pctx, .exec_id = r->exec_id, .trusted = trusted,
                       .builtin = p->builtin};
    xmlNodePtr ctx = pvm_context_lend(r, doc, &ca);
    if (!ctx) {
        xmlFreeDoc(saved);
        pcall_clear(&pc);
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    uint32_t rc = p->desc->process(&pc, doc);
    pvm_context_return(ctx);
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
        if (writes) {
            char why[300];
            pvm_journal_mark(r->e->journal, &r->jt, PVM_J_FAILED, seq, why, sizeof why);
        }
        xmlFreeDoc(saved);
        pcall_clear(&pc);
        return -1;
    }
    if (!writes) {
        pcall_clear(&pc);
        *exec = pvm_execute_data(doc);
        return 0;
    }
    if (PU_GROW(r->calls, r->capcalls, r->ncalls + 1) != 0) {
        /* the call happened but cannot be remembered: its INTENT without DONE makes
         * recovery roll it back in doubt */
        xmlFreeDoc(saved);
        pcall_clear(&pc);
        pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
        return -1;
    }
    pvm_txn_call *t = &r->calls[r->ncalls++];
    *t = (pvm_txn_call){.provider = p, .ns = strdup(ns->name), .proc = strdup(pname), .source = strdup(source),
                        .type = proc->type,
                        .saved = saved, .kv = pc.kv, .nkv = pc.nkv, .seq = seq, .exec_id = r->exec_id,
                        .provider_context = pctx};
    pc.kv = NULL;
    pc.nkv = 0;
    pcall_clear(&pc);
    char why[300];
    if (!t->ns || !t->proc || !t->source)
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    if (pvm_journal_done(r->e->journal, &r->jt, seq, t->kv, t->nkv, why, sizeof why) != 0) {
        pvm_fail(r, PROVOST_E_JOURNAL, "%s", why);
        pvm_error_push_source(&r->err, ns->name, pname);
        return -1;
    }
    *exec = pvm_execute_data(doc);
    return 0;
}

/* ---- the end of a transaction --------------------------------------------------------- */

/* A later phase of a logged call: executeXml{context, executeData (saved or empty)}. */
uint32_t pvm_provider_phase(pvm_req *r, const pvm_txn_call *t, int phase, uint32_t *code, char **desc)
{
    *desc = NULL;
    if (!t->provider || !t->provider->desc) {
        *code = PROVOST_E_NOPROVIDER;
        *desc = strdup(t->provider && t->provider->load_error ? t->provider->load_error : "the provider is not loaded");
        return *code;
    }
    const provost_provider *d = t->provider->desc;
    uint32_t (*fn)(provost_pcall *, xmlDocPtr) =
        phase == PROVOST_PHASE_PREPARE ? d->prepare : phase == PROVOST_PHASE_COMMIT ? d->commit : d->rollback;
    if (!fn)
        return 0;
    xmlNodePtr ed;
    xmlDocPtr doc = pvm_execute_xml(t->saved ? xmlDocGetRootElement(t->saved) : NULL, &ed);
    if (!doc) {
        *code = PROVOST_E_OUTOFMEMORY;
        return *code;
    }
    pvm_ctx_args ca = {.ns = t->ns, .proc = t->proc, .source = t->source, .type = t->type,
                       .provider_context = t->provider_context, .exec_id = t->exec_id, .trusted = 2,
                       .in_doubt = t->in_doubt && phase == PROVOST_PHASE_ROLLBACK,
                       .builtin = t->provider->builtin};
    xmlNodePtr ctx = pvm_context_lend(r, doc, &ca);
    provost_pcall pc = {.req = r, .provider = t->provider, .ns = t->ns, .proc = t->proc, .phase = phase,
                        .logged = t, .in_doubt = t->in_doubt};
    pc.active = activate(r, t->provider, &pc); /* recovery activates here; a request already has */
    pc.phase = phase;
    uint32_t rc = 0;
    if (!pc.active) {
        rc = pc.code ? pc.code : PROVOST_E_OUTOFMEMORY;
    } else {
        pc.code = 0;
        rc = fn(&pc, doc);
    }
    pvm_context_return(ctx);
    pvm_execute_xml_free(doc);
    if (rc) {
        *code = pc.code ? pc.code : ((rc & 0x80000000u) ? rc : PROVOST_E_FAIL);
        *desc = pc.desc;
        pc.desc = NULL;
    }
    pcall_clear(&pc);
    return rc;
}

/* The end of a transaction (or of recovering one): every activated provider, newest first. */
void pvm_deactivate_all(pvm_req *r)
{
    for (size_t i = r->nactive; i-- > 0;) {
        pvm_active *a = &r->active[i];
        if (!a->provider->desc || !a->provider->desc->deactivate)
            continue;
        provost_pcall pc = {.req = r, .provider = a->provider, .active = a, .phase = PROVOST_PHASE_DEACTIVATE};
        a->provider->desc->deactivate(&pc);
        pcall_clear(&pc);
    }
}
