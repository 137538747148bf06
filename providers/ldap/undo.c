/*
 * undo.c -- the undo entries of the ldap provider's value changes (ModifyEntry, AddMember,
 * RemoveMember, SetPassword), which let a rollback in doubt undo them.
 *
 * A value change journals its inverse as rollback data, which the engine writes in the
 * call's DONE record -- after the change.  A process killed between the two leaves the
 * call in doubt with no rollback data, and the values the change replaced would be lost.
 * So, before it changes anything, the call also adds an undo entry
 * ou=TXID.EXECID.undo,quarantineDN, named after the transaction and the call so that a
 * rollback in doubt finds it from the call alone.  It holds the same keys and values as
 * the rollback data, each as one description value "KEY TAB VALUE"; SetPassword's
 * previous userPassword values are that entry's own userPassword values, exactly as the
 * directory returned them, so the directory's access rules for passwords cover them
 * there as they did in the user's entry.
 *
 * An undo entry that is there says the change may have been made and how to undo it; none
 * says nothing was changed.  It goes when the call is rolled back, or at the end of the
 * transaction (lp_deactivate), when the DONE record of every call is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* The undo entries this transaction wrote and has not removed yet. */
typedef struct pending {
    lp_config cfg;
    char *dn;
    struct pending *next;
} pending;

void lp_record_free(lp_record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int record_push(lp_record *r, char *line)
{
    char **grown = line ? realloc(r->v, (r->n + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(line);
        r->failed = 1;
        return -1;
    }
    r->v = grown;
    r->v[r->n++] = line;
    return 0;
}

int lp_record_set(lp_call *k, lp_record *r, const char *key, const char *value)
{
    if (record_push(r, lp_fmt("%s\t%s", key, value)) != 0)
        return -1;
    if (provost_set_rollback_data(k->c, key, value) != 0) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

const char *lp_record_get(const lp_record *r, const char *key)
{
    size_t len = strlen(key);
    for (size_t i = 0; i < r->n; i++)
        if (strncmp(r->v[i], key, len) == 0 && r->v[i][len] == '\t')
            return r->v[i] + len + 1;
    return NULL;
}

/* ou=TXID.EXECID.undo,quarantineDN for this call (malloc'd); *VALUE, when asked, the ou. */
static char *undo_dn(lp_call *k, char **value)
{
    xmlNodePtr ec = provost_child(provost_child(xmlDocGetRootElement(k->doc), "context"), "executeContext");
    xmlChar *id = ec ? xmlGetProp(ec, BAD_CAST "procedureExecId") : NULL;
    char *v = lp_fmt("%s.%s.undo", provost_pcall_transaction(k->c), id ? (const char *)id : "0");
    char *rdn = v ? lp_make_rdn("ou", v) : NULL;
    char *dn = rdn ? lp_fmt("%s,%s", rdn, k->cfg.quarantine_dn) : NULL;
    xmlFree(id);
    free(rdn);
    if (value && dn)
        *value = v;
    else
        free(v);
    return dn;
}

/* Remembers DN for the end of the transaction (0, or -1 out of memory). */
static int note(lp_call *k, const char *dn)
{
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->dn = strdup(dn)) || lp_config_copy(&p->cfg, &k->cfg) != 0) {
        if (p)
            free(p->dn);
        free(p);
        return -1;
    }
    p->next = provost_txn_state(k->c);
    provost_set_txn_state(k->c, p);
    return 0;
}

static void unnote(lp_call *k, const char *dn)
{
    pending *head = provost_txn_state(k->c), **at = &head;
    while (*at && strcmp((*at)->dn, dn) != 0)
        at = &(*at)->next;
    if (!*at)
        return;
    pending *gone = *at;
    *at = gone->next;
    provost_set_txn_state(k->c, head);
    lp_config_free(&gone->cfg);
    free(gone->dn);
    free(gone);
}

uint32_t lp_undo_save(lp_call *k, const lp_record *r, struct berval **passwords)
{
    char *value = NULL, *dn = undo_dn(k, &value);
    struct berval *dv = calloc(r->n + 1, sizeof *dv), **de = calloc(r->n + 1, sizeof *de);
    if (!dn || !dv || !de) {
        free(dn);
        free(value);
        free(dv);
        free(de);
        return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    for (size_t i = 0; i < r->n; i++) {
        dv[i] = (struct berval){strlen(r->v[i]), r->v[i]};
        de[i] = &dv[i];
    }
    struct berval oc_v = {18, "organizationalUnit"}, *oc[2] = {&oc_v, NULL};
    struct berval ou_v = {strlen(value), value}, *ou[2] = {&ou_v, NULL};
    LDAPMod m1 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "objectClass", .mod_bvalues = oc};
    LDAPMod m2 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "ou", .mod_bvalues = ou};
    LDAPMod m3 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "description", .mod_bvalues = de};
    LDAPMod m4 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "userPassword", .mod_bvalues = passwords};
    LDAPMod *mods[5] = {&m1, &m2, &m3, passwords && passwords[0] ? &m4 : NULL, NULL};
    int rc = ldap_add_ext_s(k->ld, dn, mods, NULL, NULL);
    if (rc == LDAP_NO_SUCH_OBJECT && lp_make_quarantine(k) == LDAP_SUCCESS)
        rc = ldap_add_ext_s(k->ld, dn, mods, NULL, NULL);
    if (rc == LDAP_ALREADY_EXISTS) { /* left by an earlier attempt of this very call */
        rc = ldap_delete_ext_s(k->ld, dn, NULL, NULL);
        if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
            rc = ldap_add_ext_s(k->ld, dn, mods, NULL, NULL);
    }
    uint32_t code = PROVOST_S_OK;
    if (rc != LDAP_SUCCESS) {
        code = lp_fail_ld(k, rc, "write the undo entry", dn);
    } else if (note(k, dn) != 0) {
        ldap_delete_ext_s(k->ld, dn, NULL, NULL);
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    free(dn);
    free(value);
    free(dv);
    free(de);
    return code;
}

int lp_undo_load(lp_call *k, lp_record *r, struct berval ***passwords)
{
    char *dn = undo_dn(k, NULL), *want[] = {"description", "userPassword", NULL};
    LDAPMessage *res = NULL;
    memset(r, 0, sizeof *r);
    if (passwords)
        *passwords = NULL;
    int rc = dn ? lp_read(k, dn, want, &res) : LDAP_NO_MEMORY;
    if (rc == LDAP_SUCCESS) {
        LDAPMessage *e = ldap_first_entry(k->ld, res);
        struct berval **d = ldap_get_values_len(k->ld, e, "description");
        for (size_t i = 0; d && d[i] && rc == LDAP_SUCCESS; i++)
            if (record_push(r, strndup(d[i]->bv_val, d[i]->bv_len)) != 0)
                rc = LDAP_NO_MEMORY;
        ldap_value_free_len(d);
        if (passwords && rc == LDAP_SUCCESS)
            *passwords = ldap_get_values_len(k->ld, e, "userPassword");
    }
    if (rc != LDAP_SUCCESS)
        lp_record_free(r);
    ldap_msgfree(res);
    free(dn);
    return rc;
}

void lp_values_wipe(struct berval **v)
{
    for (size_t i = 0; v && v[i]; i++)
        explicit_bzero(v[i]->bv_val, v[i]->bv_len);
    ldap_value_free_len(v);
}

void lp_undo_forget(lp_call *k)
{
    char *dn = undo_dn(k, NULL);
    if (!dn)
        return;
    /* one that cannot be removed now is removed at the end of the transaction */
    int rc = ldap_delete_ext_s(k->ld, dn, NULL, NULL);
    if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
        unnote(k, dn);
    free(dn);
}

void lp_deactivate(provost_pcall *c)
{
    pending *p = provost_txn_state(c);
    provost_set_txn_state(c, NULL);
    while (p) {
        pending *next = p->next;
        lp_call k = {.c = c, .proc = "end of transaction", .cfg = p->cfg};
        /* not removable now (the server is away): the entry stays, harmless -- it only
         * describes a finished call -- until an operator deletes it */
        if (lp_connect(&k) == PROVOST_S_OK)
            ldap_delete_ext_s(k.ld, p->dn, NULL, NULL);
        lp_end(&k); /* frees the configuration */
        free(p->dn);
        free(p);
        p = next;
    }
}
