/*
 * lp.h -- what the ldap provider's files share: conn.c (configuration, the connection
 * pool, error mapping, DN and value helpers) offers it to the procedures (ops.h).
 * Private to providers/ldap/.
 */
#ifndef LP_H
#define LP_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include <ldap.h>
#include <libxml/tree.h>

#include "provost/provider.h"

/* The HRESULTs this provider reports (docs/providers/ldap.md has the table). */
#define LP_E_NOT_FOUND      0x80070002u
#define LP_E_ACCESS_DENIED  0x80070005u
#define LP_E_INVALID_DATA   0x8007000Du
#define LP_E_OUTOFMEMORY    0x8007000Eu
#define LP_E_NOT_SUPPORTED  0x80070032u
#define LP_E_NOT_EMPTY      0x80070091u
#define LP_E_EXISTS         0x800700B7u
#define LP_E_MORE_DATA      0x800700EAu
#define LP_E_ELEMENT_NOT_FOUND 0x80070490u
#define LP_E_UNREACHABLE    0x800704CFu
#define LP_E_TIMEOUT        0x800705B4u

/* A namespace's providerContext. */
typedef struct lp_config {
    char *uri, *bind_dn, *credential, *password_file, *base_dn, *quarantine_dn;
    int timeout_ms, pool_size;
} lp_config;

typedef struct lp_pool lp_pool;

/* One provider call: its configuration, executeData and, once lp_connect succeeded, a
 * bound connection of the pool that lp_end gives back. */
typedef struct lp_call {
    provost_pcall *c;
    const char *proc;
    xmlDocPtr doc;   /* executeXml: its context names the call (procedureExecId) */
    xmlNodePtr data; /* executeData (never NULL after lp_begin) */
    lp_config cfg;
    lp_pool *pool;
    LDAP *ld;
    int broken;     /* the connection failed: close it instead of pooling it */
    sigset_t oldmask;
    int pipe_pending; /* SIGPIPE was already pending when the call began */
} lp_call;

/* ---- conn.c ---- */
uint32_t lp_init(void **state);
void lp_fini(void *state);
uint32_t lp_begin(lp_call *k, provost_pcall *c, xmlDocPtr doc);
uint32_t lp_connect(lp_call *k);
void lp_end(lp_call *k);
/* A copy of SRC for later (0, or -1 out of memory with DST empty); lp_config_free frees it. */
int lp_config_copy(lp_config *dst, const lp_config *src);
void lp_config_free(lp_config *cfg);
uint32_t lp_failf(lp_call *k, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The failure of an LDAP operation WHAT on DN, with the server's own message. */
uint32_t lp_fail_ld(lp_call *k, int rc, const char *what, const char *dn);
uint32_t lp_map(int rc);

/* DNs: syntax check and "at or under baseDN" (0, or the failure described). */
uint32_t lp_check_dn(lp_call *k, const char *dn, const char *field);
int lp_dn_equal(const char *a, const char *b);
char *lp_dn_parent(const char *dn); /* malloc'd; "" for a one-RDN DN; NULL if not a DN */
char *lp_dn_rdn(const char *dn);    /* malloc'd first RDN */
char *lp_make_rdn(const char *type, const char *value); /* "type=escaped value" */

/* A base-scope read of DN: LDAP_SUCCESS with *res, or the LDAP result code. */
int lp_read(lp_call *k, const char *dn, char **attrs, LDAPMessage **res);

/* Values of rollback data: "=" text or ":" base64 (values read back may be binary). */
char *lp_encode(const struct berval *v);
int lp_decode(const char *s, struct berval *out); /* 0 ok; out->bv_val malloc'd */
int lp_is_text(const struct berval *v);
char *lp_b64(const struct berval *v);

char *lp_strdup(const char *s);
char *lp_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
