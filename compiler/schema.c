/*
 * schema.c -- a procedure's Schema element.  Its content is stored as it is; when it is
 * an XSD (xs:schema), it is also compiled by libxml2 here, so a broken schema is a
 * compile error rather than a validation failure on some later request.
 */
#include <string.h>

#include <libxml/xmlschemas.h>

#include "internal.h"
#include "util/xmlerr.h"

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

    pu_xmlerr e = {0};
    pu_xmlerr_saved saved = pu_xmlerr_capture(&e);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(doc);
    xmlSchemaPtr schema = NULL;
    if (pc) {
        xmlSchemaSetParserStructuredErrors(pc, pu_xmlerr_handler, &e);
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
    }
    pu_xmlerr_restore(saved);
    bool ok = schema != NULL && !e.have;
    if (schema)
        xmlSchemaFree(schema);
    xmlNodePtr about = e.node && ((xmlNodePtr)e.node)->type == XML_ELEMENT_NODE ? e.node : NULL;
    xmlNodePtr at = about ? source_of(copy, xsd, about) : NULL;
    xmlFreeDoc(doc);
    if (!ok) {
        pvc_error(ctx, at ? at : xsd, "invalid XSD in <Schema name=\"%s\">: %s", pvc_attr(node, "name"),
                  pu_xmlerr_text(&e, e.have ? "invalid schema" : "libxml2 could not compile it"));
    }
    return pvc_literal(ctx, node);
}
