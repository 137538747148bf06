/*
 * builtin.c -- the registry of built-in providers, and the small XML and number helpers
 * they share.
 */
#include <stdlib.h>
#include <string.h>

#include "builtin.h"

/* Defined in test.c and error.c, each written as a plug-in would be. */
extern const provost_provider provost_test_provider;
extern const provost_provider provost_error_provider;

static const provost_provider *const builtins[] = {
    &provost_test_provider,
    &provost_error_provider,
};

const provost_provider *provost_builtin_provider(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (pvp_eq_nocase(builtins[i]->name, name))
            return builtins[i];
    return NULL;
}

/* ---- helpers -------------------------------------------------------------------------- */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

int pvp_eq_nocase(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

xmlNodePtr pvp_child(xmlNodePtr parent, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNodePtr n = parent->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

xmlNodePtr pvp_context_child(xmlDocPtr execute_xml, const char *name)
{
    xmlNodePtr root = execute_xml ? xmlDocGetRootElement(execute_xml) : NULL;
    return pvp_child(pvp_child(root, "context"), name);
}

xmlNodePtr pvp_execute_data(xmlDocPtr execute_xml)
{
    xmlNodePtr root = execute_xml ? xmlDocGetRootElement(execute_xml) : NULL;
    return pvp_child(root, "executeData");
}

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

char *pvp_child_text(xmlNodePtr parent, const char *name, int trim)
{
    xmlNodePtr n = pvp_child(parent, name);
    if (!n)
        return NULL;
    xmlChar *content = xmlNodeGetContent(n);
    const char *s = content ? (const char *)content : "";
    size_t len = strlen(s);
    if (trim) {
        while (len && is_space((unsigned char)s[len - 1]))
            len--;
        while (len && is_space((unsigned char)*s))
            s++, len--;
    }
    char *out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    xmlFree(content);
    return out;
}

int pvp_parse_code(const char *text, uint32_t *out)
{
    if (!text)
        return -1;
    while (is_space((unsigned char)*text))
        text++;
    const char *p = text;
    unsigned long long v = 0;
    int negative = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        size_t digits = 0;
        for (; *p; p++, digits++) {
            int ch = lower((unsigned char)*p), d;
            if (ch >= '0' && ch <= '9')
                d = ch - '0';
            else if (ch >= 'a' && ch <= 'f')
                d = ch - 'a' + 10;
            else
                break;
            v = v * 16 + (unsigned)d;
            if (v > 0xFFFFFFFFull)
                return -1;
        }
        if (digits == 0)
            return -1;
    } else {
        if (*p == '-')
            negative = 1, p++;
        else if (*p == '+')
            p++;
        size_t digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            v = v * 10 + (unsigned)(*p - '0');
            if (v > 0xFFFFFFFFull)
                return -1;
        }
        if (digits == 0 || (negative && v > 0x80000000ull))
            return -1;
    }
    while (is_space((unsigned char)*p))
        p++;
    if (*p)
        return -1;
    *out = negative ? (uint32_t)(0u - (uint32_t)v) : (uint32_t)v;
    return 0;
}
