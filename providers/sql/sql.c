/*
 * sql.c -- the sql provider (libprovost-sql.so): SQL statements against SQLite (the
 * embedded default) and PostgreSQL, with bound parameters, two-phase commit and undo
 * (docs/providers/sql.md).  This file is the descriptor and what every call shares: the
 * configuration from providerContext, messages that never carry a parameter's value, and
 * the XML of rows.  The procedures are in sql_proc.c, the pool in sql_pool.c, the
 * backends in sql_sqlite.c and sql_pg.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlstring.h>

#include "sql.h"

#define SQ_DEFAULT_TIMEOUT_MS 10000
#define SQ_DEFAULT_POOL       8

void sq_redact(const sq_call *k, const char *msg, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", msg ? msg : "");
    /* one line: backends end messages with a line feed, PostgreSQL's may hold several */
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    for (size_t e = strlen(out); e > 0 && out[e - 1] == ' ';)
        out[--e] = '\0';
    for (size_t i = 0; k && k->params && i < k->params->n; i++) {
        const char *v = k->params->v[i].value;
        size_t vl = v ? strlen(v) : 0;
        if (vl < 4)
            continue; /* too short to be a secret, too common to mask */
        char *hit;
        while ((hit = strstr(out, v)) != NULL) {
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + vl, strlen(hit + vl) + 1);
        }
    }
}

uint32_t sq_fail(sq_call *k, uint32_t code, const char *fmt, ...)
{
    char msg[900], full[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k->quiet)
        return code;
    if (k->what[0])
        snprintf(full, sizeof full, "%s (%s): %s", k->proc, k->what, msg);
    else
        snprintf(full, sizeof full, "%s: %s", k->proc, msg);
    return provost_fail(k->c, code, full);
}

/* The statement for messages: whitespace collapsed, cut at 80 characters. */
static void describe_statement(sq_call *k, const char *sql)
{
    size_t o = 0;
    int space = 0;
    for (const char *p = sql; *p && o < 80; p++) {
        if (isspace((unsigned char)*p)) {
            space = o > 0;
            continue;
        }
        if (space)
            k->what[o++] = ' ';
        space = 0;
        if (o < 80)
            k->what[o++] = *p;
    }
    k->what[o] = '\0';
    if (o >= 80)
        snprintf(k->what + o, sizeof k->what - o, "...");
}

int sq_add_row(xmlNodePtr parent, size_t ncols, const char *const *names, const char *const *values,
               const size_t *lens)
{
    xmlNodePtr row = xmlNewChild(parent, NULL, BAD_CAST "row", NULL);
    if (!row)
        return -1;
    for (size_t i = 0; i < ncols; i++) {
        xmlNodePtr col;
        if (!values[i]) {
            col = xmlNewChild(row, NULL, BAD_CAST "col", NULL);
            if (col && !xmlNewProp(col, BAD_CAST "null", BAD_CAST "1"))
                return -1;
        } else if (xmlCheckUTF8(BAD_CAST values[i]) && strlen(values[i]) == lens[i]) {
            col = xmlNewTextChild(row, NULL, BAD_CAST "col", BAD_CAST values[i]);
        } else { /* bytes that are not text: hexadecimal */
            char *hex = malloc(lens[i] * 2 + 1);
            if (!hex)
                return -1;
            for (size_t b = 0; b < lens[i]; b++)
                snprintf(hex + 2 * b, 3, "%02x", (unsigned char)values[i][b]);
            hex[lens[i] * 2] = '\0';
            col = xmlNewTextChild(row, NULL, BAD_CAST "col", BAD_CAST hex);
            free(hex);
            if (col && !xmlNewProp(col, BAD_CAST "encoding", BAD_CAST "hex"))
                return -1;
        }
        if (!col || !xmlNewProp(col, BAD_CAST "name", BAD_CAST names[i]))
            return -1;
    }
    return 0;
}

int sq_first_set(sq_first *f, size_t ncols, const char *const *names, const char *const *values)
{
    f->names = calloc(ncols ? ncols : 1, sizeof *f->names);
    f->values = calloc(ncols ? ncols : 1, sizeof *f->values);
    if (!f->names || !f->values)
        return -1;
    f->n = ncols;
    f->have = 1;
    for (size_t i = 0; i < ncols; i++) {
        f->names[i] = strdup(names[i]);
        f->values[i] = values[i] ? strdup(values[i]) : NULL;
        if (!f->names[i] || (values[i] && !f->values[i]))
            return -1;
    }
    return 0;
}

void sq_first_free(sq_first *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names ? f->names[i] : NULL);
        free(f->values ? f->values[i] : NULL);
    }
    free(f->names);
    free(f->values);
    f->names = f->values = NULL;
    f->n = 0;
    f->have = 0;
}

int sq_is_txn_control(const char *sql)
{
    static const char *const words[] = {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE",
                                        "PREPARE", "START", "ABORT", "VACUUM", NULL};
    const char *p = sql;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            break;
        }
    }
    size_t n = 0;
    while (isalpha((unsigned char)p[n]))
        n++;
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncasecmp(p, words[i], n) == 0)
            return 1;
    return 0;
}

/* The length of a quoted string, comment or dollar-quoted body starting at P, or 0. */
size_t sq_skip_quoted(const char *sql, const char *p)
{
    if (*p == '\'' || *p == '"') {
        int esc = *p == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                  (p - 1 == sql || !(isalnum((unsigned char)p[-2]) || p[-2] == '_'));
        const char *q = p + 1;
        for (; *q; q++) {
            if (esc && *q == '\\' && q[1]) {
                q++;
            } else if (*q == *p) {
                if (q[1] == *p) { /* a doubled quote */
                    q++;
                    continue;
                }
                return (size_t)(q + 1 - p);
            }
        }
        return (size_t)(q - p);
    }
    if (p[0] == '-' && p[1] == '-')
        return strcspn(p, "\n");
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? (size_t)(e + 2 - p) : strlen(p);
    }
    if (p[0] == '$' && (p[1] == '$' || isalpha((unsigned char)p[1]) || p[1] == '_')) {
        size_t tl = 1;
        while (isalnum((unsigned char)p[tl]) || p[tl] == '_')
            tl++;
        if (p[tl] != '$')
            return 0;
        tl++;
        char tag[64];
        if (tl >= sizeof tag)
            return 0;
        memcpy(tag, p, tl);
        tag[tl] = '\0';
        const char *e = strstr(p + tl, tag);
        return e ? (size_t)(e + tl - p) : strlen(p);
    }
    return 0;
}

const char *sq_next_name(const char *sql, const char **p, size_t *len)
{
    while (**p) {
        size_t q = sq_skip_quoted(sql, *p);
        if (q) {
            *p += q;
        } else if ((*p)[0] == ':' && (*p)[1] == ':') {
            *p += 2;
        } else if ((*p)[0] == ':' && (isalpha((unsigned char)(*p)[1]) || (*p)[1] == '_')) {
            const char *name = *p + 1;
            size_t l = 1;
            while (isalnum((unsigned char)name[l]) || name[l] == '_')
                l++;
            *len = l;
            *p = name + l;
            return name;
        } else {
            (*p)++;
        }
    }
    return NULL;
}

int sq_used_elsewhere(const sq_call *k, const char *name)
{
    const char *p = k->also, *n;
    size_t len;
    while (p && (n = sq_next_name(k->also, &p, &len)) != NULL)
        if (strlen(name) == len && strncmp(name, n, len) == 0)
            return 1;
    return 0;
}

/* ---- configuration -------------------------------------------------------------------- */

static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = n ? xmlGetProp(n, BAD_CAST name) : NULL;
    char *s = v && *v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

static void conf_free(sq_conf *f)
{
    free(f->target);
    free(f->credential);
    free(f->password_file);
    free(f->key);
    memset(f, 0, sizeof *f);
}

static int whole_number(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static uint32_t conf_read(sq_call *k, xmlDocPtr execute_xml)
{
    xmlNodePtr top = xmlDocGetRootElement(execute_xml);
    xmlNodePtr pc = provost_child(provost_child(top, "context"), "providerContext");
    sq_conf *f = &k->conf;
    char *driver = prop(pc, "driver"), *timeout = prop(pc, "timeoutMs"), *pool = prop(pc, "poolSize");
    uint32_t rc = 0;
    f->timeout_ms = SQ_DEFAULT_TIMEOUT_MS;
    f->pool_size = SQ_DEFAULT_POOL;
    if (!driver || strcmp(driver, "sqlite") == 0) {
        f->driver = SQ_SQLITE; /* the embedded default */
        f->target = prop(pc, "path");
        if (!f->target)
            rc = sq_fail(k, PROVOST_E_INVALIDARG, "the namespace's providerContext needs path, the SQLite file");
    } else if (strcmp(driver, "postgresql") == 0) {
        f->driver = SQ_PG;
        f->target = prop(pc, "conninfo");
        f->credential = prop(pc, "credential");
        f->password_file = prop(pc, "passwordFile");
        if (!f->target)
            rc = sq_fail(k, PROVOST_E_INVALIDARG, "the namespace's providerContext needs conninfo");
        else if (f->credential && f->password_file)
            rc = sq_fail(k, PROVOST_E_INVALIDARG,
                         "the namespace's providerContext names both a credential and a passwordFile");
    } else {
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "providerContext driver \"%.40s\": use sqlite or postgresql", driver);
    }
    if (!rc && timeout && whole_number(timeout, 1, 3600000, &f->timeout_ms) != 0)
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "providerContext timeoutMs \"%.40s\": a whole number of milliseconds, "
                     "1 to 3600000", timeout);
    if (!rc && pool && whole_number(pool, 1, 256, &f->pool_size) != 0)
        rc = sq_fail(k, PROVOST_E_INVALIDARG, "providerContext poolSize \"%.40s\": 1 to 256", pool);
    if (!rc) {
        size_t n = strlen(f->target) + (f->credential ? strlen(f->credential) : 0) +
                   (f->password_file ? strlen(f->password_file) : 0) + 64;
        f->key = malloc(n);
        if (!f->key)
            rc = sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
        else
            snprintf(f->key, n, "%d\n%s\n%s\n%s\n%d\n%d", f->driver, f->target, f->credential ? f->credential : "",
                     f->password_file ? f->password_file : "", f->timeout_ms, f->pool_size);
    }
    free(driver);
    free(timeout);
    free(pool);
    return rc;
}

/* ---- the descriptor ------------------------------------------------------------------- */

static uint32_t sql_init(void **state)
{
    sq_pool *p = calloc(1, sizeof *p);
    if (!p || sq_pool_init(p) != 0) {
        free(p);
        return SQ_E_OUTOFMEMORY;
    }
    *state = p;
    return 0;
}

static void sql_fini(void *state)
{
    if (state) {
        sq_pool_fini(state);
        free(state);
    }
}

static uint32_t run(provost_pcall *c, xmlDocPtr execute_xml, int phase)
{
    sq_call k = {.c = c, .proc = provost_pcall_procedure(c)};
    uint32_t rc = conf_read(&k, execute_xml);
    if (!rc) {
        xmlNodePtr data = provost_child(xmlDocGetRootElement(execute_xml), "executeData");
        xmlNodePtr st = provost_child(data, "statement");
        xmlChar *s = st ? xmlNodeGetContent(st) : NULL;
        if (s)
            describe_statement(&k, (const char *)s);
        xmlFree(s);
        rc = phase == PROVOST_PHASE_PROCESS ? sq_process(&k, execute_xml) : sq_phase(&k, execute_xml, phase);
    }
    conf_free(&k.conf);
    return rc;
}

static uint32_t sql_process(provost_pcall *c, xmlDocPtr x)
{
    return run(c, x, PROVOST_PHASE_PROCESS);
}

static uint32_t sql_prepare(provost_pcall *c, xmlDocPtr x)
{
    return run(c, x, PROVOST_PHASE_PREPARE);
}

static uint32_t sql_commit(provost_pcall *c, xmlDocPtr x)
{
    return run(c, x, PROVOST_PHASE_COMMIT);
}

static uint32_t sql_rollback(provost_pcall *c, xmlDocPtr x)
{
    return run(c, x, PROVOST_PHASE_ROLLBACK);
}

static void sql_deactivate(provost_pcall *c)
{
    sq_txn *t = provost_txn_state(c);
    if (!t)
        return;
    sq_call k = {.c = c, .proc = "deactivate"};
    for (sq_open *o = t->opens; o; o = o->next) {
        if (!o->conn)
            continue;
        /* A database transaction still open here was left to recovery (the journal could
         * not be written) or is stuck: closing the connection ends an unprepared one, a
         * prepared one stays for recovery to resolve as the journal decided. */
        o->conn->broken = 1;
        sq_release(&k, o->conn);
        o->conn = NULL;
    }
    sq_txn_free(t);
    provost_set_txn_state(c, NULL);
}

__attribute__((visibility("default"))) const provost_provider provost_provider_v1 = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "sql",
    .init = sql_init,
    .fini = sql_fini,
    .deactivate = sql_deactivate,
    .process = sql_process,
    .prepare = sql_prepare,
    .commit = sql_commit,
    .rollback = sql_rollback,
};
