/*
 * xsl.c -- stylesheets of before/after.  The xsl:* children of a before/after become one
 * XSLT 1.0 stylesheet (a child xsl:stylesheet is taken as it is), with every namespace
 * prefix in scope at the element.  The assembled text is parsed back and compiled by
 * libxslt here, exactly as the VM will, so a bad stylesheet is a compile error.
 */
#include <string.h>

#include <libexslt/exslt.h>
#include <libxml/parser.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

#include "internal.h"
#include "util/xmlerr.h"
#include "util/xmlout.h"

void pvc_xsl_init(void)
{
    static int done;
    if (!done) {
        done = 1;
        exsltRegisterAll();
    }
}

typedef struct xsl_err {
    char msg[512];
    size_t n;
} xsl_err;

/* libxslt reports through a printf-style function, a piece at a time. */
static void on_xsl_error(void *uctx, const char *fmt, ...)
{
    xsl_err *e = uctx;
    if (e->n >= sizeof e->msg - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(e->msg + e->n, sizeof e->msg - e->n, fmt, ap);
    va_end(ap);
    if (k > 0)
        e->n = e->n + (size_t)k < sizeof e->msg ? e->n + (size_t)k : sizeof e->msg - 1;
}

static void on_xml_error(void *uctx, xmlErrorPtr err)
{
    if (err && err->message)
        on_xsl_error(uctx, "%s", err->message);
}

/* The interesting part of libxslt's report: its lines without the "compilation error"
 * preambles, joined. */
static void summarise(const char *raw, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    const char *p = raw;
    while (*p && n + 1 < cap) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && strncmp(p, "compilation error", 17) != 0 && strncmp(p, "xsltParseStylesheet", 19) != 0) {
            if (n && n + 2 < cap) {
                out[n++] = ';';
                out[n++] = ' ';
            }
            size_t k = len < cap - n - 1 ? len : cap - n - 1;
            memcpy(out + n, p, k);
            n += k;
            out[n] = 0;
        }
        p = e ? e + 1 : p + len;
    }
    if (!n)
        snprintf(out, cap, "libxslt rejected it");
}

static const char *const top_level[] = {
    "template", "param", "variable", "key", "output", "decimal-format", "namespace-alias",
    "attribute-set", "strip-space", "preserve-space", NULL};

static const char *const xslt_elements[] = {
    "apply-imports", "apply-templates", "attribute", "attribute-set", "call-template", "choose",
    "comment", "copy", "copy-of", "decimal-format", "element", "fallback", "for-each", "if",
    "import", "include", "key", "message", "namespace-alias", "number", "otherwise", "output",
    "param", "preserve-space", "processing-instruction", "sort", "strip-space", "stylesheet",
    "template", "text", "transform", "value-of", "variable", "when", "with-param", NULL};

static bool xslt_element(const char *name)
{
    for (const char *const *k = xslt_elements; *k; k++)
        if (strcmp(*k, name) == 0)
            return true;
    return false;
}

/* An xsl: element XSLT 1.0 does not define is an error (libxslt only warns, and the
 * transform would then fail or skip it at run time); so is an import or include at any
 * depth (the direct children of the before/after are checked by the caller). */
static bool unknown_xsl(pvc_ctx *ctx, xmlNodePtr node, xmlNodePtr xform)
{
    bool bad = false;
    for (xmlNodePtr c = pvc_first_child(node); c; c = pvc_next(c)) {
        const char *name = (const char *)c->name;
        if (pvc_is_xsl(c) && node != xform && (strcmp(name, "import") == 0 || strcmp(name, "include") == 0)) {
            pvc_error(ctx, c, "xsl:%s is not supported inside <%s>: a stylesheet must be self-contained",
                      name, (const char *)xform->name);
            bad = true;
            continue;
        }
        if (!pvc_is_xsl(c) || xslt_element(name)) {
            bad = unknown_xsl(ctx, c, xform) || bad;
            continue;
        }
        const char *near = pvc_nearest(name, xslt_elements);
        if (near)
            pvc_error(ctx, c, "unknown XSL element xsl:%s in <%s> (did you mean xsl:%s?)", name,
                      (const char *)xform->name, near);
        else
            pvc_error(ctx, c, "unknown XSL element xsl:%s in <%s>: XSLT 1.0 has no such element", name,
                      (const char *)xform->name);
        bad = true;
    }
    return bad;
}

/* Elements are numbered in document order in their line field before libxslt compiles
 * the stylesheet, so that the "line N" of its reports names the element at fault. */
static void number_elements(xmlNodePtr node, long *n)
{
    node->line = (unsigned short)(++*n < 65535 ? *n : 0);
    for (xmlNodePtr c = pvc_first_child(node); c; c = pvc_next(c))
        number_elements(c, n);
}

static xmlNodePtr nth_element(xmlNodePtr node, long *n)
{
    if (--*n == 0)
        return node;
    for (xmlNodePtr c = pvc_first_child(node); c; c = pvc_next(c)) {
        xmlNodePtr r = nth_element(c, n);
        if (r)
            return r;
    }
    return NULL;
}

/* The element of the source a libxslt report is about (its first "line N" context). */
static xmlNodePtr reported_element(const char *report, xmlNodePtr source)
{
    const char *at = strstr(report, "compilation error: file ");
    long n = 0;
    if (!at || sscanf(at, "compilation error: file %*s line %ld", &n) != 1 || n <= 0)
        return NULL;
    return nth_element(source, &n);
}

uint32_t pvc_xsl(pvc_ctx *ctx, xmlNodePtr xform, bool *bad)
{
    *bad = false;
    xmlNodePtr sheet = NULL;
    int nxsl = 0;
    for (xmlNodePtr c = pvc_first_child(xform); c; c = pvc_next(c)) {
        if (!pvc_is_xsl(c)) {
            pvc_error(ctx, c, "<%s> is not allowed inside <%s>: only xsl:template, xsl:param, "
                              "xsl:variable, xsl:key, xsl:output or one xsl:stylesheet",
                      (const char *)c->name, (const char *)xform->name);
            *bad = true;
            continue;
        }
        const char *name = (const char *)c->name;
        if (strcmp(name, "stylesheet") == 0 || strcmp(name, "transform") == 0) {
            sheet = c;
        } else if (strcmp(name, "import") == 0 || strcmp(name, "include") == 0) {
            pvc_error(ctx, c, "xsl:%s is not supported inside <%s>: a stylesheet must be self-contained",
                      name, (const char *)xform->name);
            *bad = true;
        } else {
            bool ok = !xslt_element(name); /* an unknown name is reported with the others below */
            for (const char *const *t = top_level; *t && !ok; t++)
                ok = strcmp(*t, name) == 0;
            if (!ok) {
                pvc_error(ctx, c, "xsl:%s cannot be a top-level element of the stylesheet of <%s>: "
                                  "wrap it in an xsl:template",
                          name, (const char *)xform->name);
                *bad = true;
            }
        }
        nxsl++;
    }
    const char *version = sheet ? pvc_attr(sheet, "version") : NULL;
    if (!version || strcmp(version, "1.0") == 0) /* else forwards-compatible: xsl:fallback */
        *bad = unknown_xsl(ctx, sheet ? sheet : xform, xform) || *bad;
    if (sheet && nxsl > 1) {
        pvc_error(ctx, sheet, "xsl:%s must be the only XSL child of <%s>", (const char *)sheet->name,
                  (const char *)xform->name);
        *bad = true;
    }
    if (*bad || nxsl == 0)
        return PROVOST_NONE;

    /* Assemble: a copy of the before/after (or of the xsl:stylesheet) turned into the
     * stylesheet element, keeping every prefix in scope for XPath in match/select. */
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlDocCopyNode(sheet ? sheet : xform, doc, 1) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        longjmp(ctx->oom, 1);
    }
    xmlDocSetRootElement(doc, root);
    pvc_strip_mpf(root);
    xmlNsPtr *list = xmlGetNsList(xform->doc, sheet ? sheet : xform);
    PVC_VEC(char) exclude = {0};
    for (xmlNsPtr *ns = list; ns && *ns; ns++) {
        if (!(*ns)->prefix)
            continue; /* the default namespace: only the MPF one is ever in scope here, and dropped */
        if (!xmlSearchNs(doc, root, (*ns)->prefix))
            xmlNewNs(root, (*ns)->href, (*ns)->prefix);
        if (strcmp((const char *)(*ns)->href, PVC_XSL_URI) != 0) {
            size_t pl = strlen((const char *)(*ns)->prefix);
            pvc_reserve(ctx, &exclude.v, &exclude.cap, exclude.n + pl + 2, 1);
            if (exclude.n)
                exclude.v[exclude.n++] = ' ';
            memcpy(exclude.v + exclude.n, (*ns)->prefix, pl);
            exclude.n += pl;
            exclude.v[exclude.n] = 0;
        }
    }
    if (list)
        xmlFree(list);
    if (!sheet) {
        xmlNsPtr xslns = xmlSearchNsByHref(doc, root, BAD_CAST PVC_XSL_URI);
        if (!xslns)
            xslns = xmlNewNs(root, BAD_CAST PVC_XSL_URI, BAD_CAST "xsl");
        xmlNodeSetName(root, BAD_CAST "stylesheet");
        xmlSetNs(root, xslns);
        while (root->properties)
            xmlRemoveProp(root->properties);
        xmlNewProp(root, BAD_CAST "version", BAD_CAST "1.0");
        if (exclude.n)
            xmlNewProp(root, BAD_CAST "exclude-result-prefixes", BAD_CAST exclude.v);
        /* only the XSL children belong to the stylesheet: drop text and comments */
        for (xmlNodePtr c = root->children, next; c; c = next) {
            next = c->next;
            if (c->type != XML_ELEMENT_NODE) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
    }
    free(exclude.v);
    size_t len = 0;
    char *text = pu_xml_string((xmlNodePtr)doc, PU_XML_DECL | PU_XML_AS_XML, &len);
    xmlFreeDoc(doc);
    if (!text || len > INT32_MAX) {
        free(text);
        longjmp(ctx->oom, 1);
    }
    uint32_t off = pvc_strn(ctx, text, len);
    uint64_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        hash = (hash ^ (unsigned char)text[i]) * 1099511628211ull;

    for (size_t i = 0; i < ctx->xsls.n; i++)
        if (ctx->xsls.v[i].text == off) {
            free(text);
            return (uint32_t)i; /* the same stylesheet text: checked already */
        }

    /* Compile it the way the VM will. */
    xsl_err e = {0};
    /* captured here, then back to what was there (NULL would be libxslt's stderr printer) */
    xmlGenericErrorFunc saved_xsl = xsltGenericError;
    void *saved_xsl_ctx = xsltGenericErrorContext;
    xsltSetGenericErrorFunc(&e, on_xsl_error);
    pu_xmlerr_saved saved_xml = pu_xmlerr_set(on_xml_error, &e);
    xmlDocPtr back = xmlReadMemory(text, (int)len, "stylesheet", NULL,
                                   XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    long count = 0;
    if (back && xmlDocGetRootElement(back))
        number_elements(xmlDocGetRootElement(back), &count);
    xsltStylesheetPtr style = back ? xsltParseStylesheetDoc(back) : NULL;
    bool ok = style && style->errors == 0;
    if (style)
        xsltFreeStylesheet(style);
    else if (back)
        xmlFreeDoc(back);
    xsltSetGenericErrorFunc(saved_xsl_ctx, saved_xsl);
    pu_xmlerr_restore(saved_xml);
    xmlFree(text);
    if (!ok) {
        char detail[400];
        summarise(e.msg, detail, sizeof detail);
        xmlNodePtr at = reported_element(e.msg, sheet ? sheet : xform);
        pvc_error(ctx, at ? at : xform, "invalid XSL in <%s>: %s", (const char *)xform->name, detail);
        *bad = true;
        return PROVOST_NONE;
    }
    unsigned line, col;
    pvc_node_loc(ctx, xform, &line, &col);
    *PVC_PUSH(ctx, ctx->xsls) = (provost_xsl){.text = off, .line = line, .hash = hash};
    return (uint32_t)ctx->xsls.n - 1;
}
