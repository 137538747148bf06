/*
 * schema.c -- a procedure's Schema element.  Its content is stored as it is; when it is
 * an XSD (xs:schema), it is also compiled by libxml2 here, so a broken schema is a
 * compile error rather than a validation failure on some later request.
 */
#include <string.h>

#include <libxml/xmlschemas.h>

#include "compiler/internal.h"

typedef struct schema_err {
    char msg[300];
    bool have;
    xmlNodePtr node; /* the element of the copy it is about, when libxml2 says */
} schema_err;

static void on_schema_error(void *uctx, xmlErrorPtr err)
{
    schema_err *e = uctx;
    if (e->have || !err || err->level < XML_ERR_ERROR)
        return;
    e->have = true;
    e->node = err->node && ((xmlNodePtr)err->node)->type == XML_ELEMENT_NODE ? err->node : NULL;
    snprintf(e->msg, sizeof e->msg, "%s", err->message ? err->message : "invalid schema");
    size_t n = strlen(e->msg);
    while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
        e->msg[--n] = 0;
}

/* The source element a node of its deep copy was made from. */
static xmlNodePtr source_of(xmlNodePtr copy, xmlNodePtr src, xmlNodePtr want)
{
    if (copy == want)
        return src;
    for (xmlNodePtr c = copy->children, s = src->children; c && s; c = c->next, s = s->next) {
        xmlNodePtr r = source_of(c, s, want);
        if (r)
            return r;
    }
    return NULL;
}

uint32_t pvc_schema(pvc_ctx *ctx, xmlNodePtr node)
{
    xmlNodePtr xsd = NULL;
    int n = 0;
    for (xmlNodePtr c = pvc_first_child(node); c; c = pvc_next(c), n++)
        if (c->ns && c->ns->href && strcmp((const char *)c->ns->href, PVC_XSD_URI) == 0 &&
            strcmp((const char *)c->name, "schema") == 0)
            xsd = c;
    if (n == 0) {
        pvc_warning(ctx, node, "<Schema> is empty: no validation will be done");
        return pvc_literal(ctx, node);
    }
    if (!xsd || n > 1) {
        pvc_warning(ctx, node, "<Schema> does not hold one xs:schema (XSD): it is stored but not used "
                               "for validation");
        return pvc_literal(ctx, node);
    }

    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = doc ? xmlDocCopyNode(xsd, doc, 1) : NULL;
    if (!copy) {
        xmlFreeDoc(doc);
        longjmp(ctx->oom, 1);
    }
    xmlDocSetRootElement(doc, copy);
    xmlNsPtr *list = xmlGetNsList(xsd->doc, xsd);
    for (xmlNsPtr *ns = list; ns && *ns; ns++)
        if ((*ns)->prefix && !xmlSearchNs(doc, copy, (*ns)->prefix))
            xmlNewNs(copy, (*ns)->href, (*ns)->prefix);
    if (list)
        xmlFree(list);

    schema_err e = {0};
    xmlSetStructuredErrorFunc(&e, on_schema_error);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(doc);
    xmlSchemaPtr schema = NULL;
    if (pc) {
        xmlSchemaSetParserStructuredErrors(pc, on_schema_error, &e);
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    xmlSetStructuredErrorFunc(NULL, NULL);
    bool ok = schema != NULL && !e.have;
    if (schema)
        xmlSchemaFree(schema);
    xmlNodePtr at = e.node ? source_of(copy, xsd, e.node) : NULL;
    xmlFreeDoc(doc);
    if (!ok) {
        pvc_error(ctx, at ? at : xsd, "invalid XSD in <Schema name=\"%s\">: %s", pvc_attr(node, "name"),
                  e.have ? e.msg : "libxml2 could not compile it");
    }
    return pvc_literal(ctx, node);
}
