/*
 * error.c -- the `error` provider: MPF's Error Provider (SPEC §7, mpf-schema.md §5.3).
 *
 *   SetError                    executeData{hr, desc}: raises that error.
 *   TranslateProvisioningError  the error being handled (context/errorContext, so only
 *                               inside a catch) -> the lookup file's error, if mapped.
 *   TranslateUserError          the same for an error given in executeData{hr, desc} --
 *                               the element names of SetError, so a SetError step can be
 *                               turned into a translated one by renaming the procedure.
 *
 * Both translations read executeData{errorMessageContext, locId?, errorSet?,
 * mustHandleError?} and the lookup file named by the engine setting errorMapFile:
 *
 *   <Items><Item name="CONTEXT|0xCODE"><message>…</message><errorCode>…</errorCode></Item></Items>
 *
 * The key is errorMessageContext, '|', the code: the context compares exactly, the code
 * as a hexadecimal number (so 0x8210139a, 0X8210139A and 8210139A are one key).  The
 * file is parsed on every call (translations happen on error paths only), never from
 * the network.  Every procedure is read-only: nothing to roll back, no state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "builtin.h"

#define ERROR_E_NOTFOUND 0x80070002u /* no such procedure */
#define ERROR_MAP_MAX    (64u << 20) /* bytes of lookup file */

static uint32_t failf(provost_pcall *c, uint32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* provost_fail with a formatted description. */
static uint32_t failf(provost_pcall *c, uint32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!msg)
        return provost_fail(c, code, "Error Provider: out of memory");
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    uint32_t rc = provost_fail(c, code, msg);
    free(msg);
    return rc;
}

/* A failure code has the high bit set; anything else is a success (HRESULT rule). */
static int is_failure(uint32_t code)
{
    return (code & 0x80000000u) != 0;
}

/* executeData/hr -> *code.  Returns 0, or the failure already reported. */
static uint32_t read_hr(provost_pcall *c, const char *proc, xmlNodePtr exec, uint32_t *code)
{
    char *hr = pvp_child_text(exec, "hr", 1);
    uint32_t rc = PROVOST_S_OK;
    if (!hr || !*hr)
        rc = failf(c, PROVOST_E_INVALIDARG,
                   "%s: executeData/hr is missing: give the error code, 0x followed by hex digits "
                   "or a decimal number",
                   proc);
    else if (pvp_parse_code(hr, code) != 0)
        rc = failf(c, PROVOST_E_INVALIDARG,
                   "%s: executeData/hr \"%.60s\" is not an error code (0x followed by up to 8 hex "
                   "digits, or a decimal number)",
                   proc, hr);
    free(hr);
    return rc;
}

/* ---- SetError ------------------------------------------------------------------------- */

static uint32_t set_error(provost_pcall *c, xmlNodePtr exec)
{
    uint32_t code = 0, rc = read_hr(c, "SetError", exec, &code);
    if (rc != PROVOST_S_OK)
        return rc;
    if (!is_failure(code)) /* a success code raises nothing */
        return PROVOST_S_OK;
    char *desc = pvp_child_text(exec, "desc", 0);
    if (desc && *desc)
        rc = provost_fail(c, code, desc);
    else
        rc = failf(c, code, "Error 0x%08X", (unsigned)code);
    free(desc);
    return rc;
}

/* ---- the lookup file ------------------------------------------------------------------ */

typedef struct mapping {
    int found;
    int has_code;
    uint32_t code;
    char *message; /* NULL when the item has none */
} mapping;

/* The code part of a key: hex digits, with or without 0x, any case. */
static int parse_key_code(const char *s, uint32_t *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    uint64_t v = 0;
    size_t digits = 0;
    for (; *s; s++, digits++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        v = v * 16 + (uint64_t)d;
        if (v > 0xFFFFFFFFu)
            return -1;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (!digits || *s)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int key_matches(const char *name, const char *context, uint32_t code)
{
    const char *bar = strrchr(name, '|');
    uint32_t key_code;
    return bar && (size_t)(bar - name) == strlen(context) &&
           strncmp(name, context, (size_t)(bar - name)) == 0 &&
           parse_key_code(bar + 1, &key_code) == 0 && key_code == code;
}

/* The whole file in memory (NUL-terminated), or NULL with the reason in ERR. */
static char *read_map(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    const char *bad = fstat(fileno(f), &st) != 0             ? strerror(errno)
                      : !S_ISREG(st.st_mode)                 ? "not a regular file"
                      : (uint64_t)st.st_size > ERROR_MAP_MAX ? "larger than 64 MiB"
                                                             : NULL;
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    if (!buf || ferror(f)) {
        snprintf(err, errlen, "%s", buf ? "read error" : "out of memory");
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *text_of(xmlNodePtr n)
{
    xmlChar *s = xmlNodeGetContent(n);
    char *out = strdup(s ? (const char *)s : "");
    xmlFree(s);
    return out;
}

/* Looks CONTEXT|CODE up in the file at PATH.  Returns 0 (M filled), or -1 with the reason
 * in ERR: the file cannot be read or parsed, or the matching item is malformed. */
static int lookup(const char *path, const char *context, uint32_t code, mapping *m, char *err,
                  size_t errlen)
{
    memset(m, 0, sizeof *m);
    size_t len = 0;
    char *text = read_map(path, &len, err, errlen);
    if (!text)
        return -1;
    int rc = -1;
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    xmlDocPtr doc = pc ? xmlCtxtReadMemory(pc, text, (int)len, path, NULL,
                                           XML_PARSE_NONET | XML_PARSE_NOERROR |
                                               XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)
                       : NULL;
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!doc) {
        xmlErrorPtr e = pc ? xmlCtxtGetLastError(pc) : NULL;
        snprintf(err, errlen, "not well-formed XML at line %d: %s", e ? e->line : 0,
                 e && e->message ? e->message : "parse error");
        for (char *p = err; *p; p++)
            if (*p == '\n')
                *p = *(p + 1) ? ' ' : '\0';
    } else if (doc->intSubset || doc->extSubset) {
        /* as everywhere documents enter (docs/semantics.md): entities are never expanded */
        snprintf(err, errlen, "a DTD (<!DOCTYPE>) is not allowed");
    } else if (!root || strcmp((const char *)root->name, "Items") != 0) {
        snprintf(err, errlen, "the root element is <%s>, not <Items>",
                 root ? (const char *)root->name : "");
    } else {
        rc = 0;
        for (xmlNodePtr item = root->children; item && !m->found; item = item->next) {
            if (item->type != XML_ELEMENT_NODE || strcmp((const char *)item->name, "Item") != 0)
                continue;
            xmlChar *name = xmlGetProp(item, BAD_CAST "name");
            if (name && key_matches((const char *)name, context, code)) {
                xmlNodePtr msg = pvp_child(item, "message");
                char *ec = pvp_child_text(item, "errorCode", 1);
                m->found = 1;
                m->message = msg ? text_of(msg) : NULL;
                if (ec && *ec) {
                    m->has_code = 1;
                    if (pvp_parse_code(ec, &m->code) != 0) {
                        snprintf(err, errlen,
                                 "item \"%.100s\" has errorCode \"%.40s\", not an error code",
                                 (const char *)name, ec);
                        rc = -1;
                    }
                }
                free(ec);
            }
            xmlFree(name);
        }
    }
    if (doc)
        xmlFreeDoc(doc);
    if (pc)
        xmlFreeParserCtxt(pc);
    free(text);
    if (rc != 0) {
        free(m->message);
        m->message = NULL;
    }
    return rc;
}

/* ---- the translations ----------------------------------------------------------------- */

/* Translates (CODE, DESC) for procedure PROC; what it returns is the translated error. */
static uint32_t translate(provost_pcall *c, const char *proc, xmlNodePtr exec, uint32_t code,
                          const char *desc)
{
    char *context = pvp_child_text(exec, "errorMessageContext", 1);
    char *must = pvp_child_text(exec, "mustHandleError", 1);
    uint32_t rc;
    int must_handle = 1;
    if (must && *must) {
        if (pvp_eq_nocase(must, "0") || pvp_eq_nocase(must, "false"))
            must_handle = 0;
        else if (!pvp_eq_nocase(must, "1") && !pvp_eq_nocase(must, "true"))
            must_handle = -1;
    }
    const char *file = provost_pcall_setting(c, "errorMapFile");
    mapping m = {0};
    char why[300] = "";

    if (!context) {
        rc = failf(c, PROVOST_E_INVALIDARG,
                   "%s: executeData/errorMessageContext is missing: it is the first part of the "
                   "lookup key CONTEXT|0xCODE",
                   proc);
    } else if (must_handle < 0) {
        rc = failf(c, PROVOST_E_INVALIDARG,
                   "%s: executeData/mustHandleError \"%.40s\" is not 0 or 1", proc, must);
    } else if (file && *file && lookup(file, context, code, &m, why, sizeof why) != 0) {
        rc = failf(c, PROVOST_E_FAIL, "%s: cannot translate error 0x%08X: error map file %s: %s",
                   proc, (unsigned)code, file, why);
    } else if (m.found) {
        uint32_t to = m.has_code ? m.code : code;
        const char *message = m.message && *m.message ? m.message : desc;
        if (!is_failure(to)) /* mapped to a success code: the error is handled */
            rc = PROVOST_S_OK;
        else
            rc = provost_fail(c, to, message);
    } else if (must_handle) {
        rc = failf(c, PROVOST_E_FAIL, "Unexpected error 0x%08X (no translation for \"%s|0x%08X\")",
                   (unsigned)code, context, (unsigned)code);
    } else {
        rc = provost_fail(c, code, desc);
    }
    free(m.message);
    free(context);
    free(must);
    return rc;
}

static uint32_t translate_provisioning_error(provost_pcall *c, xmlDocPtr execute_xml,
                                             xmlNodePtr exec)
{
    static const char proc[] = "TranslateProvisioningError";
    xmlNodePtr ectx = pvp_context_child(execute_xml, "errorContext");
    if (!ectx)
        return failf(c, PROVOST_E_INVALIDARG,
                     "%s: there is no error to translate (context/errorContext is missing): call "
                     "it inside a catch, or use TranslateUserError",
                     proc);
    xmlChar *code_text = xmlGetProp(ectx, BAD_CAST "code");
    xmlChar *desc = xmlGetProp(ectx, BAD_CAST "description");
    uint32_t code = 0, rc;
    if (!code_text || pvp_parse_code((const char *)code_text, &code) != 0)
        rc =
            failf(c, PROVOST_E_INVALIDARG, "%s: context/errorContext has no valid code (\"%.40s\")",
                  proc, code_text ? (const char *)code_text : "");
    else
        rc = translate(c, proc, exec, code, desc ? (const char *)desc : "");
    xmlFree(code_text);
    xmlFree(desc);
    return rc;
}

static uint32_t translate_user_error(provost_pcall *c, xmlNodePtr exec)
{
    static const char proc[] = "TranslateUserError";
    uint32_t code = 0, rc = read_hr(c, proc, exec, &code);
    if (rc != PROVOST_S_OK)
        return rc;
    if (!is_failure(code)) /* no error to translate */
        return PROVOST_S_OK;
    char *desc = pvp_child_text(exec, "desc", 0);
    rc = translate(c, proc, exec, code, desc ? desc : "");
    free(desc);
    return rc;
}

/* ---- the provider --------------------------------------------------------------------- */

static uint32_t error_process(provost_pcall *c, xmlDocPtr execute_xml)
{
    const char *proc = provost_pcall_procedure(c);
    xmlNodePtr exec = pvp_execute_data(execute_xml);
    if (pvp_eq_nocase(proc, "SetError"))
        return set_error(c, exec);
    if (pvp_eq_nocase(proc, "TranslateProvisioningError"))
        return translate_provisioning_error(c, execute_xml, exec);
    if (pvp_eq_nocase(proc, "TranslateUserError"))
        return translate_user_error(c, exec);
    return failf(c, ERROR_E_NOTFOUND,
                 "Error Provider has no procedure \"%s\" (it has SetError, "
                 "TranslateProvisioningError and TranslateUserError)",
                 proc ? proc : "");
}

const provost_provider provost_error_provider = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "error",
    .process = error_process,
};
