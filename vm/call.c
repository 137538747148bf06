/*
 * call.c -- a step's call (SPEC §7): one call level deeper, executeData checked against the
 * callee's input and output XSD when validation is on, counted per procedure.  A namespace
 * procedure runs here with the step's executeData as its data (back into interp.c); a
 * provider procedure is handed to provider.c.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/xmlschemas.h>

#include "util/xmlerr.h"
#include "counters.h"
#include "rights.h"
#include "vm.h"

/* With schema validation on, executeData must match the procedure's input (before the
 * call) or output (after a provider call) XSD: else 0xC00CE014 (SPEC §7). */
static int validate(pvm_req *r, const pvm_ns *ns, uint32_t proc, int which, xmlNodePtr exec)
{
    xmlSchemaPtr schema = r->e->validate && exec ? ns->schemas[2 * proc + which] : NULL;
    if (!schema)
        return 0;
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt(schema);
    if (!v)
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    pu_xmlerr e = {0};
    xmlSchemaSetValidStructuredErrors(v, pu_xmlerr_handler, &e);
    int rc = xmlSchemaValidateOneElement(v, exec);
    xmlSchemaFreeValidCtxt(v);
    if (rc == 0)
        return 0;
    const char *pname = pvm_bundle_str(ns->bundle, ns->bundle->procs_v[proc].name);
    pvm_fail(r, PROVOST_E_SCHEMA, "executeData does not match the %s schema of %s/%s: %s",
             which ? "output" : "input", ns->name, pname, pu_xmlerr_text(&e, "invalid"));
    pvm_error_push_source(&r->err, ns->name, pname);
    return -1;
}

/* Who a call runs as (SPEC §8, the truth table of mpf-schema.md §6.2): the engine unless
 * impersonating; else the "execute as" credential of the procedure making the call, the
 * request's basic credentials, or the caller. */
static const char *identity_for(pvm_frame *f, int impersonate, const char **credential)
{
    pvm_req *r = f->req;
    *credential = NULL;
    if (impersonate != 1)
        return "engine";
    const char *as = pvm_rights_execute_as(f, credential);
    if (as)
        return as;
    if (r->basic_user)
        return r->basic_user;
    return r->e->caller;
}

int pvm_call(pvm_frame *f, const provost_callref *c, const pvm_target *t)
{
    pvm_req *r = f->req;
    if (!t->ns)
        return pvm_fail(r, PROVOST_E_NOTFOUND, "procedure '%s' of namespace '%s' is not registered",
                        pvm_bundle_str(f->b, c->proc), pvm_bundle_str(f->b, c->ns));
    if (r->depth >= PVM_MAX_DEPTH)
        return pvm_fail(r, PROVOST_E_DEPTH, "calls nest more than %d deep (calling %s/%s)", PVM_MAX_DEPTH,
                        t->ns->name, pvm_bundle_str(t->ns->bundle, t->ns->bundle->procs_v[t->proc].name));
    int imp = c->impersonate ? c->impersonate : f->impersonate;
    int trusted = c->trusted ? c->trusted : f->trusted;
    int sensitive = c->sensitive ? c->sensitive : f->sensitive;
    if (pvm_rights_call(f, t) != 0)
        return -1;
    const char *credential;
    const char *identity = identity_for(f, imp, &credential);
    const provost_proc *proc = &t->ns->bundle->procs_v[t->proc];
    uint32_t id = t->ns->counter_base == PROVOST_NONE ? PROVOST_NONE : t->ns->counter_base + t->proc;
    pvm_counters_begin(r->e->counters, id);
    uint64_t t0 = pvm_now_ns();
    int rc;
    xmlNodePtr out = NULL;
    size_t audit = pvm_audit_call(r, t->ns, t->proc, f->exec, sensitive);
    r->depth++;
    if (validate(r, t->ns, t->proc, 0, f->exec) != 0) {
        rc = -1;
    } else if (proc->flags & PROVOST_PROC_PROVIDER) {
        r->execute_as = credential;
        rc = pvm_provider_call(r, t->ns, t->proc, f->exec_doc, trusted, sensitive, identity, &out);
        r->execute_as = NULL;
        if (rc == 0)
            rc = validate(r, t->ns, t->proc, 1, out);
    } else {
        rc = pvm_run_proc(r, t->ns, t->proc, t->links, f->exec, imp, trusted, sensitive, identity);
        if (rc != 0)
            pvm_error_push_source(&r->err, t->ns->name, pvm_bundle_str(t->ns->bundle, proc->name));
        else
            rc = validate(r, t->ns, t->proc, 1, f->exec);
        /* the callee's transforms may have put a new element in place of its data */
        out = pvm_execute_data(f->exec_doc);
    }
    r->depth--;
    pvm_audit_called(r, audit, rc);
    if (rc == 0 && out) /* the afters see the executeData the call left */
        f->exec = out;
    pvm_counters_end(r->e->counters, id, rc == 0 ? PVM_OUTCOME_OK : PVM_OUTCOME_FAILED, pvm_now_ns() - t0);
    return rc;
}
