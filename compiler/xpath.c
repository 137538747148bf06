/*
 * xpath.c -- paths: every XPath is compiled by libxml2 here, and tried once on an empty
 * document so that unknown functions and undeclared prefixes are compile errors rather
 * than surprises at run time.  Simple paths (a/b, @x, a[@t='v'] and their chains) are
 * also decoded into steps the VM walks without XPath.
 */
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "internal.h"
#include "util/xmlerr.h"

static bool name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static size_t scan_name(const char *s)
{
    size_t n = 0;
    if (!name_start((unsigned char)s[0]))
        return 0;
    while (name_char((unsigned char)s[n]))
        n++;
    return n;
}

/* The functions an expression calls and the prefixes it uses, checked against the
 * context: a trial run meets only what it evaluates, and a predicate on the empty probe
 * never is.  Tokens as in XPath 1.0 section 3.7: a name before '(' is a function (or a
 * node type), before '::' an axis, and right after an operand an operator (and, or...). */
static bool names_known(xmlXPathContextPtr xp, const char *text, char *msg, size_t cap)
{
    bool operand = false; /* the previous token ends an operand */
    for (const char *p = text; *p;) {
        unsigned char c = (unsigned char)*p;
        size_t n = scan_name(p);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
        } else if (c == '"' || c == '\'') {
            const char *q = strchr(p + 1, c);
            if (!q)
                return true; /* reported by the XPath compiler */
            p = q + 1;
            operand = true;
        } else if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9')) {
            while ((*p >= '0' && *p <= '9') || *p == '.')
                p++;
            operand = true;
        } else if (c == '$') {
            p++;
            p += scan_name(p);
            operand = true;
        } else if (!n) {
            operand = c == ')' || c == ']' || c == '.' || (c == '*' && !operand);
            p += c == '.' && p[1] == '.' ? 2 : 1;
        } else if (operand) {
            p += n; /* an operator name */
            operand = false;
        } else {
            const char *name = p, *prefix = NULL;
            size_t plen = 0;
            p += n;
            if (p[0] == ':' && p[1] != ':' && scan_name(p + 1)) {
                prefix = name;
                plen = n;
                name = p + 1;
                n = scan_name(name);
                p = name + n;
            } else if (p[0] == ':' && p[1] == '*') {
                prefix = name;
                plen = n;
                p += 2;
            }
            const char *q = p;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            char pfx[64] = "", fn[128];
            snprintf(pfx, sizeof pfx, "%.*s", (int)plen, prefix ? prefix : "");
            snprintf(fn, sizeof fn, "%.*s", (int)n, name);
            const xmlChar *uri = prefix ? xmlXPathNsLookup(xp, BAD_CAST pfx) : NULL;
            if (prefix && !uri) {
                snprintf(msg, cap, "the namespace prefix '%s' is not declared", pfx);
                return false;
            }
            if (q[0] == ':' && q[1] == ':') {
                p = q + 2; /* an axis */
                operand = false;
            } else if (*q != '(') {
                operand = true; /* a name test */
            } else if (prefix || (strcmp(fn, "node") && strcmp(fn, "text") && strcmp(fn, "comment") &&
                                  strcmp(fn, "processing-instruction"))) {
                if (!(prefix ? xmlXPathFunctionLookupNS(xp, BAD_CAST fn, uri)
                             : xmlXPathFunctionLookup(xp, BAD_CAST fn))) {
                    snprintf(msg, cap, "unknown function %s%s%s()", pfx, prefix ? ":" : "", fn);
                    return false;
                }
                operand = false;
            }
        }
    }
    return true;
}

/* Decodes text into provost_psteps appended to the pool; false if it is not simple. */
static bool decode_simple(pvc_ctx *ctx, const char *text, provost_path *out)
{
    size_t mark = ctx->psteps.n;
    const char *p = text;
    bool creatable = true;
    for (;;) {
        provost_pstep st = {.kind = PROVOST_PSTEP_CHILD, .attr = PROVOST_NONE, .value = PROVOST_NONE};
        size_t n;
        if (*p == '@') {
            n = scan_name(p + 1);
            if (!n || p[1 + n] != 0)
                goto not_simple; /* an attribute must be the last step */
            st.kind = PROVOST_PSTEP_ATTR;
            st.name = pvc_strn(ctx, p + 1, n);
            p += 1 + n;
            creatable = false;
        } else {
            n = scan_name(p);
            if (!n)
                goto not_simple;
            st.name = pvc_strn(ctx, p, n);
            p += n;
            if (*p == '[') {
                size_t an = p[1] == '@' ? scan_name(p + 2) : 0;
                if (!an || p[2 + an] != '=')
                    goto not_simple;
                char q = p[3 + an];
                if (q != '\'' && q != '"')
                    goto not_simple;
                const char *v = p + 4 + an;
                const char *e = strchr(v, q);
                if (!e || e[1] != ']')
                    goto not_simple;
                st.kind = PROVOST_PSTEP_CHILDEQ;
                st.attr = pvc_strn(ctx, p + 2, an);
                st.value = pvc_strn(ctx, v, (size_t)(e - v));
                p = e + 2;
                creatable = false;
            }
        }
        *PVC_PUSH(ctx, ctx->psteps) = st;
        if (*p == 0)
            break;
        if (*p != '/')
            goto not_simple;
        p++;
    }
    if (ctx->psteps.n - mark > UINT16_MAX)
        goto not_simple;
    out->kind = PROVOST_PATH_SIMPLE;
    out->first = (uint32_t)mark;
    out->nsteps = (uint16_t)(ctx->psteps.n - mark);
    out->flags = creatable ? PROVOST_PATH_CREATABLE : 0;
    return true;
not_simple:
    ctx->psteps.n = mark;
    return false;
}

/* The prefixes in scope at node, as "prefix uri prefix uri". */
static uint32_t ns_decls(pvc_ctx *ctx, xmlNodePtr node, xmlXPathContextPtr xp)
{
    xmlNsPtr *list = xmlGetNsList(node->doc, node);
    if (!list)
        return PROVOST_NONE;
    PVC_VEC(char) buf = {0};
    for (xmlNsPtr *ns = list; *ns; ns++) {
        if (!(*ns)->prefix || !(*ns)->href)
            continue;
        size_t pl = strlen((const char *)(*ns)->prefix), hl = strlen((const char *)(*ns)->href);
        pvc_reserve(ctx, &buf.v, &buf.cap, buf.n + pl + hl + 3, 1);
        if (buf.n)
            buf.v[buf.n++] = ' ';
        memcpy(buf.v + buf.n, (*ns)->prefix, pl);
        buf.n += pl;
        buf.v[buf.n++] = ' ';
        memcpy(buf.v + buf.n, (*ns)->href, hl);
        buf.n += hl;
        if (xp)
            xmlXPathRegisterNs(xp, (*ns)->prefix, (*ns)->href);
    }
    xmlFree(list);
    uint32_t off = buf.n ? pvc_strn(ctx, buf.v, buf.n) : PROVOST_NONE;
    free(buf.v);
    return off;
}

static uint32_t intern_path(pvc_ctx *ctx, const provost_path *p)
{
    if (ctx->pathhash.cap == 0 || (ctx->paths.n + 1) * 2 > ctx->pathhash.cap) {
        size_t cap = ctx->pathhash.cap ? ctx->pathhash.cap * 2 : 256;
        free(ctx->pathhash.v);
        ctx->pathhash.v = NULL;
        ctx->pathhash.v = pvc_alloc(ctx, cap * sizeof(uint32_t));
        memset(ctx->pathhash.v, 0, cap * sizeof(uint32_t));
        ctx->pathhash.cap = cap;
        for (size_t i = 0; i < ctx->paths.n; i++) {
            uint64_t h = ((uint64_t)ctx->paths.v[i].text * 0x9E3779B97F4A7C15ull) ^ ctx->paths.v[i].nsdecl;
            size_t j = (size_t)(h * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
            while (ctx->pathhash.v[j])
                j = (j + 1) & (cap - 1);
            ctx->pathhash.v[j] = (uint32_t)i + 1;
        }
    }
    size_t mask = ctx->pathhash.cap - 1;
    uint64_t h = ((uint64_t)p->text * 0x9E3779B97F4A7C15ull) ^ p->nsdecl;
    size_t j = (size_t)(h * 0x9E3779B97F4A7C15ull >> 20) & mask;
    for (; ctx->pathhash.v[j]; j = (j + 1) & mask) {
        const provost_path *q = &ctx->paths.v[ctx->pathhash.v[j] - 1];
        if (q->text == p->text && q->nsdecl == p->nsdecl) {
            ctx->psteps.n -= (p->kind == PROVOST_PATH_SIMPLE ? p->nsteps : 0); /* drop the copy */
            return ctx->pathhash.v[j] - 1;
        }
    }
    *PVC_PUSH(ctx, ctx->paths) = *p;
    ctx->pathhash.v[j] = (uint32_t)ctx->paths.n;
    return (uint32_t)ctx->paths.n - 1;
}

uint32_t pvc_path(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *text)
{
    if (!text)
        return PROVOST_NONE;
    provost_path p = {.text = pvc_str(ctx, text), .nsdecl = PROVOST_NONE, .kind = PROVOST_PATH_XPATH,
                      .first = PROVOST_NONE};
    if (!*text || strcmp(text, ".") == 0) {
        p.kind = PROVOST_PATH_SELF;
        return intern_path(ctx, &p);
    }

    pu_xmlerr e = {0};
    xmlDocPtr probe = xmlNewDoc(BAD_CAST "1.0");
    xmlXPathContextPtr xp = probe ? xmlXPathNewContext(probe) : NULL;
    if (!xp) {
        xmlFreeDoc(probe);
        longjmp(ctx->oom, 1);
    }
    pu_xmlerr_saved saved = pu_xmlerr_capture(&e);
    p.nsdecl = ns_decls(ctx, node, xp);
    xmlXPathCompExprPtr comp = xmlXPathCtxtCompile(xp, BAD_CAST text);
    bool ok = comp != NULL && !e.have;
    if (ok && !names_known(xp, text, e.msg, sizeof e.msg)) {
        ok = false;
        e.have = true;
    }
    if (ok) {
        /* a trial run finds unknown functions, variables and prefixes */
        xmlNodePtr root = xmlNewDocNode(probe, NULL, BAD_CAST "probe", NULL);
        xmlDocSetRootElement(probe, root);
        xp->node = root;
        xmlGenericErrorFunc generic = xmlGenericError; /* libxml2 also prints some to stderr */
        void *generic_ctx = xmlGenericErrorContext;
        xmlSetGenericErrorFunc(NULL, pu_xmlerr_drop_generic);
        xmlXPathObjectPtr r = xmlXPathCompiledEval(comp, xp);
        xmlSetGenericErrorFunc(generic_ctx, generic);
        xmlXPathFreeObject(r);
        /* reported with xmlParserErrors codes (XML_XPATH_*), not xmlXPathError ones */
        if (e.have && (e.code == XML_XPATH_UNKNOWN_FUNC_ERROR || e.code == XML_XPATH_UNDEF_VARIABLE_ERROR ||
                       e.code == XML_XPATH_UNDEF_PREFIX_ERROR || e.code == XML_XPATH_INVALID_ARITY))
            ok = false;
        else
            e = (pu_xmlerr){0};
    }
    pu_xmlerr_restore(saved);
    xmlXPathFreeCompExpr(comp);
    xmlXPathFreeContext(xp);
    xmlFreeDoc(probe);
    if (!ok) {
        pvc_attr_error(ctx, node, attr, "%s=\"%s\" is not a valid XPath 1.0 expression: %s", attr,
                       text, pu_xmlerr_text(&e, "invalid expression"));
        return PROVOST_NONE;
    }
    if (p.nsdecl == PROVOST_NONE || !strchr(text, ':'))
        decode_simple(ctx, text, &p);
    return intern_path(ctx, &p);
}
