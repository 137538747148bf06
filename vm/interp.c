/*
 * interp.c -- the interpreter: one loop over a procedure's instructions.  Each opcode's
 * meaning is documented once, in the opcode list of bytecode.h; this file is its
 * implementation, in the same order.  Errors unwind to the innermost try of this
 * invocation, else out of the procedure to its caller's step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>

#include "util/vec.h"
#include "vm.h"

typedef struct handler {
    uint32_t catch_pc;
    size_t ncatches; /* catches active when the try began */
} handler;

typedef struct caught {
    pvm_error *err;
    pvm_error *prev;       /* the error handled around this catch */
    xmlNodePtr node;       /* context/errorContext while the catch runs */
    xmlNodePtr hidden;     /* the outer catch's errorContext, set aside */
} caught;

typedef struct unwind {
    handler *h;
    size_t nh, caph;
    caught *c;
    size_t nc, capc;
} unwind;

static xmlNodePtr context_error(pvm_req *r, xmlNodePtr *hidden)
{
    *hidden = NULL;
    for (xmlNodePtr c = r->context->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "errorContext")) {
            *hidden = c;
            xmlUnlinkNode(c);
            break;
        }
    return NULL;
}

/* Enter a catch: the error being raised becomes the one handled. */
static int catch_push(pvm_req *r, unwind *u)
{
    if (PU_GROW(u->c, u->capc, u->nc + 1) != 0)
        return -1;
    pvm_error *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    pvm_error_move(e, &r->err);
    caught *c = &u->c[u->nc++];
    c->err = e;
    c->prev = r->handling;
    context_error(r, &c->hidden);
    c->node = pvm_error_node(e, r->context);
    r->handling = e;
    return 0;
}

static void catch_pop(pvm_req *r, unwind *u)
{
    caught *c = &u->c[--u->nc];
    r->handling = c->prev;
    if (c->node) {
        xmlUnlinkNode(c->node);
        xmlFreeNode(c->node);
    }
    if (c->hidden)
        xmlAddChild(r->context, c->hidden);
    pvm_error_clear(c->err);
    free(c->err);
}

static void frame_free(pvm_frame *f, unwind *u)
{
    while (u->nc)
        catch_pop(f->req, u);
    free(u->h);
    free(u->c);
    for (unsigned i = 0; i < f->proc->nslots; i++)
        free(f->loops[i].nodes);
    if (f->exec_doc)
        pvm_execute_xml_free(f->exec_doc);
    if (f->procdata_doc)
        xmlFreeDoc(f->procdata_doc);
}

static const char *path_text(const pvm_frame *f, uint32_t path)
{
    const provost_path *p = &f->b->paths_v[path];
    return p->kind == PROVOST_PATH_SELF ? "." : pvm_bundle_str(f->b, p->text);
}

int pvm_run_proc(pvm_req *r, pvm_ns *ns, uint32_t procidx, const pvm_target *links, xmlNodePtr data,
                 int impersonate, int trusted, int sensitive, const char *identity)
{
    pvm_frame fr, *f = &fr;
    memset(f, 0, offsetof(pvm_frame, loops));
    const pvm_bundle *b = ns->bundle;
    f->req = r;
    f->ns = ns;
    f->b = b;
    f->proc = &b->procs_v[procidx];
    f->links = links;
    f->data = data;
    f->impersonate = impersonate;
    f->trusted = trusted;
    f->sensitive = sensitive;
    f->identity = identity;
    for (unsigned i = 0; i < f->proc->nslots; i++)
        f->loops[i] = (pvm_loop){0};
    for (unsigned i = 0; i < f->proc->nselects; i++)
        f->cases[i] = PROVOST_NONE;
    bool fixed[PROVOST_MAX_SLOTS] = {0}; /* scope-rooted inner loops: snapshot taken this step */

    unwind u = {0};
    const provost_insn *code = &b->code_v[f->proc->code];
    uint32_t pc = 0;
    for (;;) {
        const provost_insn *in = &code[pc];
        if (++r->steps > r->e->step_budget) {
            pvm_fail(r, PROVOST_E_BUDGET, "the request ran more than %llu steps, the engine's step budget",
                     (unsigned long long)r->e->step_budget);
            goto error;
        }
        switch (in->op) {
        case PROVOST_OP_STEP:
            memset(fixed, 0, sizeof fixed);
            f->repeat_left = 0;
            pc++;
            continue;

        case PROVOST_OP_FOREACH: {
            pvm_loop *l = &f->loops[in->p1];
            l->i = 0;
            if (in->p2 < PROVOST_SCOPE_SLOT0 && fixed[in->p1]) { /* computed once per step */
                pc = l->n == 0 ? in->p5 : pc + 1; /* still empty: ifNull="skip" skips again */
                continue;
            }
            l->n = 0;
            l->unbound = false;
            xmlNodePtr root = pvm_scope(f, in->p2);
            if (root && pvm_select(f, in->p4, root, &l->nodes, &l->n, &l->cap) != 0)
                goto error;
            fixed[in->p1] = true;
            if (l->n == 0) {
                if (in->p3 == PROVOST_IFNULL_SKIP) {
                    pc = in->p5;
                    continue;
                }
                if (in->p3 == PROVOST_IFNULL_FAIL) {
                    pvm_fail(r, PROVOST_E_NONODE, "forEach path \"%s\" selected nothing (ifNull=\"fail\")",
                             path_text(f, in->p4));
                    goto error;
                }
                l->unbound = true; /* ignore: run once, bound to nothing */
                l->n = 1;
            }
            pc++;
            continue;
        }

        case PROVOST_OP_NEXT: {
            pvm_loop *l = &f->loops[in->p1];
            pc = ++l->i < l->n ? in->p5 : pc + 1;
            continue;
        }

        case PROVOST_OP_WHEN: {
            bool holds = false;
            xmlNodePtr node = pvm_scope(f, in->p2);
            if (node && pvm_path_bool(f, in->p4, node, &holds) != 0)
                goto error;
            pc = holds ? pc + 1 : in->p5;
            continue;
        }

        case PROVOST_OP_WHENCASE:
            pc = f->cases[in->p2] == in->p4 ? pc + 1 : in->p5;
            continue;

        case PROVOST_OP_REPEAT: {
            char *v = NULL;
            xmlNodePtr node = pvm_scope(f, in->p2);
            if (node && pvm_path_value(f, in->p4, node, &v) != 0)
                goto error;
            double n = 1;
            if (!v) {
                if (in->p3 == PROVOST_IFNULL_SKIP) {
                    pc = in->p5;
                    continue;
                }
                if (in->p3 == PROVOST_IFNULL_FAIL) {
                    pvm_fail(r, PROVOST_E_NONODE, "repeat count \"%s\" selected nothing (ifNull=\"fail\")",
                             path_text(f, in->p4));
                    goto error;
                }
            } else {
                n = xmlXPathCastStringToNumber(BAD_CAST v);
                if (isnan(n) || n < 0 || n > 1000000 || n != floor(n)) {
                    pvm_fail(r, PROVOST_E_INVALIDARG, "repeat count \"%s\" is not an integer from 0 to 1000000", v);
                    free(v);
                    goto error;
                }
                free(v);
            }
            if (n == 0) {
                pc = in->p5;
                continue;
            }
            f->repeat_left = (uint32_t)n;
            pc++;
            continue;
        }

        case PROVOST_OP_AGAIN: /* never below zero: the count only goes down, so the loop ends */
            if (f->repeat_left <= 1) {
                f->repeat_left = 0;
                pc = in->p5;
            } else {
                f->repeat_left--;
                pc++;
            }
            continue;

        case PROVOST_OP_EXECDATA: {
            if (f->exec_doc)
                pvm_execute_xml_free(f->exec_doc);
            xmlDocPtr lit = in->p4 == PROVOST_NONE ? NULL : pvm_literal_doc(ns, in->p4);
            f->exec_doc = pvm_execute_xml(lit ? xmlDocGetRootElement(lit) : NULL, &f->exec);
            if (!f->exec_doc) {
                pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                goto error;
            }
            pc++;
            continue;
        }

        case PROVOST_OP_XFORM:
            switch (pvm_xform(f, &b->xforms_v[in->p4])) {
            case PVM_XF_OK: pc++; continue;
            case PVM_XF_SKIP: pc = in->p5; continue;
            default: goto error;
            }

        case PROVOST_OP_CALL:
            if (pvm_call(f, &b->calls_v[in->p4], &links[in->p4]) != 0) /* moves f->exec along */
                goto error;
            pc++;
            continue;

        case PROVOST_OP_QUEUE:
            if (pvm_queue(f, &b->calls_v[in->p4], &links[in->p4]) != 0)
                goto error;
            pc++;
            continue;

        case PROVOST_OP_SELECT: {
            const provost_select *s = &b->selects_v[in->p4];
            char *v = NULL;
            xmlNodePtr node = pvm_scope(f, s->source);
            if (node && s->path != PROVOST_NONE && pvm_path_value(f, s->path, node, &v) != 0)
                goto error;
            if (node && s->path == PROVOST_NONE) {
                xmlChar *c = xmlNodeGetContent(node);
                v = strdup(c ? (const char *)c : "");
                xmlFree(c);
            }
            uint32_t kase = s->null_case;
            if (v) {
                kase = s->def_case;
                for (uint16_t w = 0; w < s->nwhere; w++)
                    if (strcmp(pvm_bundle_str(b, b->wheres_v[s->first + w].value), v) == 0) {
                        kase = b->wheres_v[s->first + w].kase;
                        break;
                    }
                free(v);
            }
            f->cases[in->p2] = kase;
            pc++;
            continue;
        }

        case PROVOST_OP_TRY:
            if (PU_GROW(u.h, u.caph, u.nh + 1) != 0) {
                pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                goto error;
            }
            u.h[u.nh++] = (handler){.catch_pc = in->p5, .ncatches = u.nc};
            pc++;
            continue;

        case PROVOST_OP_ENDTRY:
            u.nh--;
            pc = in->p5;
            continue;

        case PROVOST_OP_CATCH:
            if (catch_push(r, &u) != 0) {
                pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                goto error;
            }
            pc++;
            continue;

        case PROVOST_OP_ENDCATCH:
            catch_pop(r, &u);
            pc++;
            continue;

        case PROVOST_OP_JUMP:
            pc = in->p5;
            continue;

        case PROVOST_OP_ENDSTEP:
            pc++;
            continue;

        case PROVOST_OP_RET:
            frame_free(f, &u);
            return 0;
        }
        pvm_fail(r, PROVOST_E_INVALIDARG, "unknown instruction %u", in->op); /* the loader forbids it */
    error:
        if (r->err.fatal || u.nh == 0) {
            frame_free(f, &u);
            return -1;
        }
        handler h = u.h[--u.nh];
        while (u.nc > h.ncatches)
            catch_pop(r, &u);
        pc = h.catch_pc;
    }
}
