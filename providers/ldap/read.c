/*
 * read.c -- GetEntry and Search, the ldap provider's read procedures, and the XML form of
 * an entry: <entry dn="..."><attr name="cn">value</attr>...</entry>, one attr per value;
 * a value that is not text XML can carry comes base64-encoded with encoding="base64".
 * Filter parameters: {name} in a Search filter is replaced by executeData's param@name,
 * escaped as a filter value, so a value never changes the filter's structure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

int lp_entry_xml(LDAP *ld, LDAPMessage *e, xmlNodePtr parent)
{
    char *dn = ldap_get_dn(ld, e);
    xmlNodePtr entry = xmlNewChild(parent, NULL, BAD_CAST "entry", NULL);
    if (!entry || !xmlNewProp(entry, BAD_CAST "dn", BAD_CAST(dn ? dn : ""))) {
        ldap_memfree(dn);
        return -1;
    }
    ldap_memfree(dn);
    BerElement *ber = NULL;
    int rc = 0;
    for (char *at = ldap_first_attribute(ld, e, &ber); at; at = ldap_next_attribute(ld, e, ber)) {
        struct berval **v = ldap_get_values_len(ld, e, at);
        for (size_t i = 0; v && v[i] && rc == 0; i++) {
            int text = lp_is_text(v[i]);
            char *s = text ? strndup(v[i]->bv_val, v[i]->bv_len) : lp_b64(v[i]);
            xmlNodePtr a = s ? xmlNewTextChild(entry, NULL, BAD_CAST "attr", BAD_CAST s) : NULL;
            if (!a || !xmlNewProp(a, BAD_CAST "name", BAD_CAST at) ||
                (!text && !xmlNewProp(a, BAD_CAST "encoding", BAD_CAST "base64")))
                rc = -1;
            free(s);
        }
        ldap_value_free_len(v);
        ldap_memfree(at);
    }
    ber_free(ber, 0);
    return rc;
}

/* The attribute names executeData selects (attr@name, or attr's text), NULL-terminated;
 * NULL when none is named (all user attributes). */
static char **selected(xmlNodePtr data)
{
    size_t n = 0;
    char **list = NULL;
    for (xmlNodePtr e = data->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "attr") != 0)
            continue;
        xmlChar *name = xmlGetProp(e, BAD_CAST "name");
        char *s = name ? strdup((const char *)name) : provost_text(e);
        xmlFree(name);
        char **grown = s && *s ? realloc(list, (n + 2) * sizeof *grown) : NULL;
        if (!grown) {
            free(s);
            continue;
        }
        list = grown;
        list[n++] = s;
        list[n] = NULL;
    }
    return list;
}

static void list_free(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

uint32_t lp_get_entry(lp_call *k)
{
    char *dn = provost_child_text(k->data, "dn");
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        char **attrs = selected(k->data);
        LDAPMessage *res = NULL;
        int rc = lp_read(k, dn, attrs, &res);
        if (rc != LDAP_SUCCESS)
            code = lp_fail_ld(k, rc, "read", dn);
        else if (lp_entry_xml(k->ld, ldap_first_entry(k->ld, res), k->data) != 0)
            code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
        ldap_msgfree(res);
        list_free(attrs);
    }
    free(dn);
    return code;
}

/* FILTER with each {name} replaced by the escaped value of param@name (malloc'd), or NULL
 * with *BAD naming the placeholder that has no parameter. */
static char *bind_filter(xmlNodePtr data, const char *filter, char **bad)
{
    size_t cap = strlen(filter) + 1, len = 0;
    char *out = malloc(cap);
    *bad = NULL;
    for (const char *p = filter; out && *p;) {
        const char *piece = p, *close = NULL;
        size_t plen = 1;
        char *esc = NULL;
        if (*p == '{' && (close = strchr(p, '}'))) {
            char *name = strndup(p + 1, (size_t)(close - p - 1));
            xmlNodePtr v = NULL;
            for (xmlNodePtr e = data->children; e && name && !v; e = e->next) {
                xmlChar *n = e->type == XML_ELEMENT_NODE && strcmp((const char *)e->name, "param") == 0
                                 ? xmlGetProp(e, BAD_CAST "name") : NULL;
                if (n && strcmp((const char *)n, name) == 0)
                    v = e;
                xmlFree(n);
            }
            if (!v) {
                *bad = name;
                free(out);
                return NULL;
            }
            free(name);
            char *text = provost_text(v);
            struct berval in = {strlen(text), text}, o = {0, NULL};
            if (ldap_bv2escaped_filter_value(&in, &o) == 0)
                esc = o.bv_val;
            free(text);
            if (!esc) {
                free(out);
                return NULL;
            }
            piece = esc;
            plen = strlen(esc);
            p = close + 1;
        } else {
            p++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                out = NULL;
                ber_memfree(esc);
                break;
            }
            out = grown;
        }
        memcpy(out + len, piece, plen);
        len += plen;
        ber_memfree(esc);
    }
    if (out)
        out[len] = 0;
    return out;
}

uint32_t lp_search(lp_call *k)
{
    char *base = provost_child_text(k->data, "base"), *filter = provost_child_text(k->data, "filter");
    char *scope_s = provost_child_text(k->data, "scope"), *limit_s = provost_child_text(k->data, "sizeLimit");
    char *bound = NULL, *bad = NULL, *end = NULL;
    int scope = LDAP_SCOPE_SUBTREE;
    long limit = limit_s && *limit_s ? strtol(limit_s, &end, 10) : 0;
    uint32_t code = lp_check_dn(k, base && *base ? base : k->cfg.base_dn, "executeData/base");
    if (code == PROVOST_S_OK && scope_s && *scope_s) {
        if (strcasecmp(scope_s, "base") == 0)
            scope = LDAP_SCOPE_BASE;
        else if (strcasecmp(scope_s, "one") == 0 || strcasecmp(scope_s, "onelevel") == 0)
            scope = LDAP_SCOPE_ONELEVEL;
        else if (strcasecmp(scope_s, "sub") != 0 && strcasecmp(scope_s, "subtree") != 0)
            code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: scope \"%.40s\" is not base, one or sub", k->proc, scope_s);
    }
    if (code == PROVOST_S_OK && ((end && *end) || limit < 0 || limit > 1000000000))
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: sizeLimit \"%.40s\" is not a whole number", k->proc, limit_s);
    if (code == PROVOST_S_OK && !(bound = bind_filter(k->data, filter && *filter ? filter : "(objectClass=*)", &bad)))
        code = bad ? lp_failf(k, PROVOST_E_INVALIDARG, "%s: filter placeholder {%.100s} has no param", k->proc, bad)
                   : lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        char **attrs = selected(k->data);
        struct timeval tv = {k->cfg.timeout_ms / 1000, (k->cfg.timeout_ms % 1000) * 1000};
        LDAPMessage *res = NULL;
        const char *b = base && *base ? base : k->cfg.base_dn;
        int rc = ldap_search_ext_s(k->ld, b, scope, bound, attrs, 0, NULL, NULL, &tv, (int)limit, &res);
        if (rc == LDAP_SUCCESS || (rc == LDAP_SIZELIMIT_EXCEEDED && limit > 0)) {
            for (LDAPMessage *e = ldap_first_entry(k->ld, res); e && code == PROVOST_S_OK; e = ldap_next_entry(k->ld, e))
                if (lp_entry_xml(k->ld, e, k->data) != 0)
                    code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
            if (rc == LDAP_SIZELIMIT_EXCEEDED && !xmlNewChild(k->data, NULL, BAD_CAST "truncated", BAD_CAST "1"))
                code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
        } else {
            code = lp_fail_ld(k, rc, "search", b);
        }
        ldap_msgfree(res);
        list_free(attrs);
    }
    free(bad);
    free(bound);
    free(base);
    free(filter);
    free(scope_s);
    free(limit_s);
    return code;
}
