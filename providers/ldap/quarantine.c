/*
 * quarantine.c -- DeleteEntry, the ldap provider's two-phase procedure.  process moves the
 * entry into a container of its own under quarantineDN, named after the transaction and
 * the call (ou=TXID.EXECID) and holding the entry's old DN in its description; commit
 * deletes entry and container; rollback moves the entry back.  Because the container's
 * name follows from the call alone, a rollback in doubt (no rollback data) still finds
 * what the call moved, and only that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

/* ou=TXID.EXECID,quarantineDN for this call (malloc'd). */
static char *container_dn(lp_call *k, xmlDocPtr doc)
{
    xmlNodePtr ec = provost_child(provost_child(xmlDocGetRootElement(doc), "context"), "executeContext");
    xmlChar *id = ec ? xmlGetProp(ec, BAD_CAST "procedureExecId") : NULL;
    char *value = lp_fmt("%s.%s", provost_pcall_transaction(k->c), id ? (const char *)id : "0");
    char *rdn = value ? lp_make_rdn("ou", value) : NULL;
    char *dn = rdn ? lp_fmt("%s,%s", rdn, k->cfg.quarantine_dn) : NULL;
    xmlFree(id);
    free(value);
    free(rdn);
    return dn;
}

/* quarantineDN itself, made on first use when it is an ou= under an existing entry. */
int lp_make_quarantine(lp_call *k)
{
    LDAPDN d = NULL;
    int rc = ldap_str2dn(k->cfg.quarantine_dn, &d, LDAP_DN_FORMAT_LDAPV3);
    if (rc != LDAP_SUCCESS || !d || !d[0] || d[0][1] || strncasecmp(d[0][0]->la_attr.bv_val, "ou", 2) != 0 ||
        d[0][0]->la_attr.bv_len != 2) {
        ldap_dnfree(d);
        return LDAP_NO_SUCH_OBJECT;
    }
    struct berval *ou[2] = {&d[0][0]->la_value, NULL};
    struct berval oc_v = {18, "organizationalUnit"}, *oc[2] = {&oc_v, NULL};
    LDAPMod m1 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "objectClass", .mod_bvalues = oc};
    LDAPMod m2 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "ou", .mod_bvalues = ou};
    LDAPMod *mods[3] = {&m1, &m2, NULL};
    rc = ldap_add_ext_s(k->ld, k->cfg.quarantine_dn, mods, NULL, NULL);
    ldap_dnfree(d);
    return rc == LDAP_ALREADY_EXISTS ? LDAP_SUCCESS : rc;
}

static int add_container(lp_call *k, const char *cdn, const char *dn)
{
    char *rdn_value = NULL;
    LDAPDN d = NULL;
    if (ldap_str2dn(cdn, &d, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && d && d[0])
        rdn_value = strndup(d[0][0]->la_value.bv_val, d[0][0]->la_value.bv_len);
    ldap_dnfree(d);
    if (!rdn_value)
        return LDAP_NO_MEMORY;
    struct berval oc_v = {18, "organizationalUnit"}, *oc[2] = {&oc_v, NULL};
    struct berval ou_v = {strlen(rdn_value), rdn_value}, *ou[2] = {&ou_v, NULL};
    struct berval de_v = {strlen(dn), (char *)dn}, *de[2] = {&de_v, NULL};
    LDAPMod m1 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "objectClass", .mod_bvalues = oc};
    LDAPMod m2 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "ou", .mod_bvalues = ou};
    LDAPMod m3 = {.mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES, .mod_type = "description", .mod_bvalues = de};
    LDAPMod *mods[4] = {&m1, &m2, &m3, NULL};
    int rc = ldap_add_ext_s(k->ld, cdn, mods, NULL, NULL);
    if (rc == LDAP_NO_SUCH_OBJECT && lp_make_quarantine(k) == LDAP_SUCCESS)
        rc = ldap_add_ext_s(k->ld, cdn, mods, NULL, NULL);
    free(rdn_value);
    return rc == LDAP_ALREADY_EXISTS ? LDAP_SUCCESS : rc;
}

uint32_t lp_delete_entry(lp_call *k, xmlDocPtr doc)
{
    char *dn = provost_child_text(k->data, "dn"), *cdn = NULL, *rdn = NULL;
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    if (code == PROVOST_S_OK && lp_dn_equal(dn, k->cfg.base_dn))
        code = lp_failf(k, LP_E_ACCESS_DENIED, "%s: %s is the baseDN itself", k->proc, dn);
    if (code == PROVOST_S_OK && !((cdn = container_dn(k, doc)) && (rdn = lp_dn_rdn(dn))))
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        /* only a leaf: a subtree would have to be moved and restored whole */
        struct timeval tv = {k->cfg.timeout_ms / 1000, (k->cfg.timeout_ms % 1000) * 1000};
        char *none[] = {"1.1", NULL};
        LDAPMessage *res = NULL;
        int rc = lp_read(k, dn, none, &res);
        ldap_msgfree(res);
        res = NULL;
        if (rc == LDAP_SUCCESS) {
            rc = ldap_search_ext_s(k->ld, dn, LDAP_SCOPE_ONELEVEL, "(objectClass=*)", none, 0, NULL, NULL, &tv, 1, &res);
            if (rc == LDAP_SIZELIMIT_EXCEEDED || (rc == LDAP_SUCCESS && ldap_count_entries(k->ld, res) > 0))
                rc = LDAP_NOT_ALLOWED_ON_NONLEAF;
            ldap_msgfree(res);
        }
        if (rc != LDAP_SUCCESS)
            code = lp_fail_ld(k, rc, "delete", dn);
        else if ((rc = add_container(k, cdn, dn)) != LDAP_SUCCESS)
            code = lp_fail_ld(k, rc, "make the quarantine container", cdn);
        else if (provost_set_rollback_data(k->c, "dn", dn) != 0 || provost_set_rollback_data(k->c, "container", cdn) != 0) {
            ldap_delete_ext_s(k->ld, cdn, NULL, NULL);
            code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn);
        } else if ((rc = ldap_rename_s(k->ld, dn, rdn, cdn, 0, NULL, NULL)) != LDAP_SUCCESS) {
            code = lp_fail_ld(k, rc, "move into quarantine", dn);
            ldap_delete_ext_s(k->ld, cdn, NULL, NULL);
        }
    }
    free(dn);
    free(cdn);
    free(rdn);
    return code;
}

/* The container of this call and the DN its entry came from (from rollback data, else
 * from the container itself). LDAP_NO_SUCH_OBJECT: no container, nothing of ours. */
static int find_moved(lp_call *k, xmlDocPtr doc, char **cdn, char **dn)
{
    const char *c = provost_get_rollback_data(k->c, "container"), *d = provost_get_rollback_data(k->c, "dn");
    *cdn = c ? strdup(c) : container_dn(k, doc);
    *dn = NULL;
    if (!*cdn)
        return LDAP_NO_MEMORY;
    if (d) {
        *dn = strdup(d);
        return *dn ? LDAP_SUCCESS : LDAP_NO_MEMORY;
    }
    char *want[] = {"description", NULL};
    LDAPMessage *res = NULL;
    int rc = lp_read(k, *cdn, want, &res);
    if (rc == LDAP_SUCCESS) {
        struct berval **v = ldap_get_values_len(k->ld, ldap_first_entry(k->ld, res), "description");
        *dn = v && v[0] ? strndup(v[0]->bv_val, v[0]->bv_len) : NULL;
        ldap_value_free_len(v);
        if (!*dn)
            rc = LDAP_NO_SUCH_OBJECT;
    }
    ldap_msgfree(res);
    return rc;
}

static uint32_t finish(lp_call *k, xmlDocPtr doc, int restore)
{
    char *cdn = NULL, *dn = NULL, *rdn = NULL, *moved = NULL, *parent = NULL;
    uint32_t code = PROVOST_S_OK;
    int rc = find_moved(k, doc, &cdn, &dn);
    if (rc == LDAP_SUCCESS && !((rdn = lp_dn_rdn(dn)) && (parent = lp_dn_parent(dn)) &&
                                (moved = lp_fmt("%s,%s", rdn, cdn))))
        rc = LDAP_NO_MEMORY;
    const char *what = restore ? "rollback: move back" : "commit: delete";
    if (rc == LDAP_SUCCESS) {
        rc = restore ? ldap_rename_s(k->ld, moved, rdn, parent, 0, NULL, NULL) : ldap_delete_ext_s(k->ld, moved, NULL, NULL);
        if (rc == LDAP_NO_SUCH_OBJECT) /* already moved back, or deleted */
            rc = LDAP_SUCCESS;
        if (rc == LDAP_SUCCESS) {
            rc = ldap_delete_ext_s(k->ld, cdn, NULL, NULL);
            if (rc == LDAP_NO_SUCH_OBJECT)
                rc = LDAP_SUCCESS;
            what = "remove the quarantine container";
        }
    } else if (rc == LDAP_NO_SUCH_OBJECT) {
        rc = LDAP_SUCCESS; /* no container: nothing was moved, or all is done */
    }
    if (rc != LDAP_SUCCESS)
        code = lp_fail_ld(k, rc, what, moved ? moved : cdn ? cdn : dn);
    free(cdn);
    free(dn);
    free(rdn);
    free(moved);
    free(parent);
    return code;
}

uint32_t lp_delete_commit(lp_call *k, xmlDocPtr doc)
{
    return finish(k, doc, 0);
}

uint32_t lp_delete_rollback(lp_call *k, xmlDocPtr doc)
{
    return finish(k, doc, 1);
}
