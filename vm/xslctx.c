/*
 * xslctx.c -- libxslt transform contexts, kept per stylesheet and used again.
 *
 * A transform context costs more to build than a small transform costs to run: libxslt
 * registers every XSLT element and XPath function in new hash tables each time
 * (xsltNewTransformContext is half of what a one-template transform costs).  So a
 * namespace keeps, per stylesheet, a few idle contexts that any thread may take, use for
 * one step, and give back.
 *
 * libxslt has no "reset" for a context, so what a finished transform leaves in one is
 * undone here, field by field, from what libxslt 1.1.35 keeps there:
 *   - the input document: ctxt->document (with its key tables) and the XPath context's
 *     doc point at it; the next input takes their place;
 *   - global variables and the result tree fragments they hold, whose node-sets point
 *     into the input: freed before the input is;
 *   - the compiled patterns' per-context caches (ctxt->extras: a positional pattern
 *     keeps the last document and a node list of it): freed, or a new document at the
 *     same address would meet a stale list;
 *   - the text-coalescing pointer (ctxt->lasttext, into the last output's text node): a
 *     new text node at the same address would be written past its end;
 *   - generate-id()'s counter, restarted so that ids are the same as from a new context;
 *   - the error handler, pointing at the caller's stack.
 * A context is used again only if the transform left it in a state we know: no error,
 * its stacks empty, no document other than the input loaded (document()), no extension
 * module data, no tree fragment alive; and while its dictionary (a child of the
 * stylesheet's, holding the names of what it output) stays small: otherwise it is freed
 * and the next transform builds a new one.  The results of a transform share the
 * context's dictionary, so a context goes back to the pool only after they are freed:
 * another thread may take it at once.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libxslt/extensions.h>
#include <libxslt/keys.h>
#include <libxslt/transform.h>
#include <libxslt/variables.h>

#include "vm.h"

#define SLOTS 4            /* idle contexts kept per stylesheet: about the threads in use */
#define DICT_GROWTH 4096   /* names a context may add to its dictionary before it is dropped */

struct pvm_xslpool {
    size_t n;
    _Atomic(xsltTransformContextPtr) (*slot)[SLOTS];
};

pvm_xslpool *pvm_xslpool_new(size_t nstyles)
{
    pvm_xslpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = nstyles;
    p->slot = calloc(nstyles ? nstyles : 1, sizeof *p->slot);
    if (!p->slot) {
        free(p);
        return NULL;
    }
    for (size_t i = 0; i < nstyles; i++)
        for (size_t s = 0; s < SLOTS; s++)
            atomic_init(&p->slot[i][s], NULL);
    return p;
}

/* Before the stylesheets are freed: a context points at its stylesheet. */
void pvm_xslpool_free(pvm_xslpool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        for (size_t s = 0; s < SLOTS; s++)
            xsltFreeTransformContext(atomic_load(&p->slot[i][s]));
    free(p->slot);
    free(p);
}

/* An idle context made ready for the input, as xsltNewTransformContext makes a new one. */
static int bind(xsltTransformContextPtr c, xmlDocPtr in)
{
    c->document->doc = in;
    c->xpathCtxt->doc = in;
    c->state = XSLT_STATE_OK;
    return xsltInitCtxtExts(c) < 0 ? -1 : 0;
}

xsltTransformContextPtr pvm_xslctx_take(pvm_xslpool *p, size_t i, xsltStylesheetPtr style, xmlDocPtr in)
{
    for (size_t s = 0; p && i < p->n && s < SLOTS; s++) {
        xsltTransformContextPtr c = atomic_exchange(&p->slot[i][s], NULL);
        if (!c)
            continue;
        if (bind(c, in) == 0)
            return c;
        xsltFreeTransformContext(c);
        break;
    }
    return xsltNewTransformContext(style, in);
}

int pvm_xslctx_rebind(xsltTransformContextPtr c, xmlDocPtr in)
{
    return bind(c, in);
}

static bool reusable(xsltTransformContextPtr c)
{
    return c->state == XSLT_STATE_OK && c->templNr == 0 && c->varsNr == 0 && c->depth == 0 &&
           c->document && c->docList == c->document && !c->document->next && !c->styleList &&
           !c->extInfos && !c->localRVT && !c->tmpRVT && c->dict &&
           xmlDictSize(c->dict) <= xmlDictSize(c->style->dict) + DICT_GROWTH;
}

xsltTransformContextPtr pvm_xslctx_unbind(xsltTransformContextPtr c)
{
    if (!c)
        return NULL;
    if (!reusable(c)) {
        xsltFreeTransformContext(c);
        return NULL;
    }
    xsltFreeGlobalVariables(c);
    c->globalVars = NULL;
    xsltFreeRVTs(c);
    for (int k = 0; k < c->extrasNr; k++) {
        if (c->extras[k].deallocate && c->extras[k].info)
            c->extras[k].deallocate(c->extras[k].info);
        c->extras[k].info = NULL;
        c->extras[k].deallocate = NULL;
        c->extras[k].val.ptr = NULL;
    }
    xsltFreeDocumentKeys(c->document);
    c->document->keys = NULL;
    c->document->nbKeysComputed = 0;
    c->document->doc = NULL;
    xmlXPathContextPtr x = c->xpathCtxt;
    x->doc = NULL;
    x->node = NULL;
    x->namespaces = NULL;
    x->nsNr = 0;
    c->node = c->insert = c->inst = c->initialContextNode = NULL;
    c->output = c->initialContextDoc = NULL;
    c->nodeList = NULL;
    c->templ = c->currentTemplateRule = NULL;
    c->vars = NULL;
    c->contextVariable = NULL;
    c->mode = c->modeURI = NULL;
    c->lasttext = NULL;
    c->lasttsize = c->lasttuse = 0;
    c->currentId = 0;
    c->sourceDocDirty = 0;
    c->opCount = 0;
    c->keyInitLevel = 0;
    c->error = NULL;
    c->errctx = NULL;
    return c;
}

void pvm_xslctx_give(pvm_xslpool *p, size_t i, xsltTransformContextPtr c)
{
    if (!c)
        return;
    for (size_t s = 0; p && i < p->n && s < SLOTS; s++) {
        xsltTransformContextPtr none = NULL;
        if (atomic_compare_exchange_strong(&p->slot[i][s], &none, c))
            return;
    }
    xsltFreeTransformContext(c);
}
