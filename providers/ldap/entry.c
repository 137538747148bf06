/*
 * entry.c -- AddEntry, RenameEntry and SetPassword of the ldap provider, and their undo.
 *
 * AddEntry reads back the entryUUID the server gave the new entry, and its rollback
 * deletes the entry at dn only while it still has that entryUUID (an assertion control
 * makes the check and the delete one operation).  An entry already at dn that is exactly
 * the one asked for, made by the provider's own bindDN, is an earlier attempt of the same
 * request: the call succeeds without a second add and its rollback leaves the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ops.h"

/* executeData's attr@name values, grouped by name (case ignored). */
typedef struct attrs {
    char **name;
    struct berval ***vals; /* NULL-terminated per name */
    size_t n;
} attrs;

static void attrs_free(attrs *a)
{
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; a->vals[i] && a->vals[i][j]; j++) {
            free(a->vals[i][j]->bv_val);
            free(a->vals[i][j]);
        }
        free(a->vals[i]);
        free(a->name[i]);
    }
    free(a->name);
    free(a->vals);
    memset(a, 0, sizeof *a);
}

/* 0, -1 out of memory, -2 an attr without a name. */
static int attrs_collect(xmlNodePtr data, attrs *a)
{
    for (xmlNodePtr e = data->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "attr") != 0)
            continue;
        xmlChar *name = xmlGetProp(e, BAD_CAST "name");
        if (!name || !*name) {
            xmlFree(name);
            return -2;
        }
        size_t i = 0;
        while (i < a->n && strcasecmp(a->name[i], (const char *)name) != 0)
            i++;
        if (i == a->n) {
            char **nn = realloc(a->name, (a->n + 1) * sizeof *nn);
            if (nn)
                a->name = nn;
            struct berval ***nv = realloc(a->vals, (a->n + 1) * sizeof *nv);
            if (nv)
                a->vals = nv;
            if (!nn || !nv || !(a->name[a->n] = strdup((const char *)name))) {
                xmlFree(name);
                return -1;
            }
            a->vals[a->n++] = NULL;
        }
        xmlFree(name);
        size_t m = 0;
        while (a->vals[i] && a->vals[i][m])
            m++;
        struct berval **grown = realloc(a->vals[i], (m + 2) * sizeof *grown);
        struct berval *bv = malloc(sizeof *bv);
        if (grown)
            a->vals[i] = grown;
        if (!grown || !bv) {
            free(bv);
            return -1;
        }
        bv->bv_val = provost_text(e);
        bv->bv_len = strlen(bv->bv_val);
        grown[m] = bv;
        grown[m + 1] = NULL;
    }
    return 0;
}

static int has_value(struct berval **set, const struct berval *v)
{
    for (size_t i = 0; set && set[i]; i++)
        if (set[i]->bv_len == v->bv_len && strncasecmp(set[i]->bv_val, v->bv_val, v->bv_len) == 0)
            return 1;
    return 0;
}

/* Whether entry E holds exactly the attributes and values of A (operational attributes
 * asked for besides are skipped). */
static int same_entry(LDAP *ld, LDAPMessage *e, const attrs *a)
{
    static const char *const operational[] = {"entryUUID", "creatorsName", "createTimestamp", "modifyTimestamp", NULL};
    BerElement *ber = NULL;
    int same = 1;
    /* the next attribute is fetched only while the entry still matches: one fetched after a
     * mismatch would end the loop unfreed */
    for (char *at = ldap_first_attribute(ld, e, &ber); at; at = same ? ldap_next_attribute(ld, e, ber) : NULL) {
        int skip = 0;
        for (int i = 0; operational[i]; i++)
            skip |= strcasecmp(at, operational[i]) == 0;
        if (!skip) {
            size_t i = 0;
            while (i < a->n && strcasecmp(a->name[i], at) != 0)
                i++;
            struct berval **have = ldap_get_values_len(ld, e, at);
            size_t nh = 0, nw = 0;
            while (have && have[nh])
                nh++;
            while (i < a->n && a->vals[i][nw])
                nw++;
            same = i < a->n && nh == nw;
            for (size_t j = 0; same && j < nw; j++)
                same = has_value(have, a->vals[i][j]);
            ldap_value_free_len(have);
        }
        ldap_memfree(at);
    }
    ber_free(ber, 0);
    return same;
}

/* The first value of ATTR in E, malloc'd, or NULL. */
static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
    struct berval **v = e ? ldap_get_values_len(ld, e, attr) : NULL;
    char *out = v && v[0] ? strndup(v[0]->bv_val, v[0]->bv_len) : NULL;
    ldap_value_free_len(v);
    return out;
}

/* executeData/dn, or rdn@name + parent made into one with the value escaped. */
static char *entry_dn(lp_call *k)
{
    char *dn = provost_child_text(k->data, "dn");
    xmlNodePtr rdn = provost_child(k->data, "rdn");
    if (dn || !rdn)
        return dn;
    xmlChar *type = xmlGetProp(rdn, BAD_CAST "name");
    char *value = provost_text(rdn), *parent = provost_child_text(k->data, "parent");
    char *r = type && *type && *value ? lp_make_rdn((const char *)type, value) : NULL;
    dn = r && parent && *parent ? lp_fmt("%s,%s", r, parent) : NULL;
    xmlFree(type);
    free(value);
    free(parent);
    free(r);
    return dn;
}

/* Deletes DN if its entryUUID is still UUID: absent, or another entry, is success. */
static uint32_t delete_if_uuid(lp_call *k, const char *dn, const char *uuid)
{
    struct berval in = {strlen(uuid), (char *)uuid}, esc = {0, NULL};
    LDAPControl *ctrl = NULL;
    if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
        return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    char *filter = lp_fmt("(entryUUID=%s)", esc.bv_val);
    ber_memfree(esc.bv_val);
    int rc = filter ? ldap_create_assertion_control(k->ld, filter, 1, &ctrl) : LDAP_NO_MEMORY;
    free(filter);
    if (rc != LDAP_SUCCESS)
        return lp_fail_ld(k, rc, "rollback: delete", dn);
    LDAPControl *ctrls[2] = {ctrl, NULL};
    rc = ldap_delete_ext_s(k->ld, dn, ctrls, NULL);
    ldap_control_free(ctrl);
    if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_ASSERTION_FAILED)
        return PROVOST_S_OK;
    return lp_fail_ld(k, rc, "rollback: delete", dn);
}

static uint32_t add_new(lp_call *k, const char *dn, attrs *a)
{
    LDAPMod *mods = calloc(a->n, sizeof *mods), **list = calloc(a->n + 1, sizeof *list);
    if (!mods || !list) {
        free(mods);
        free(list);
        return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    for (size_t i = 0; i < a->n; i++) {
        mods[i].mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
        mods[i].mod_type = a->name[i];
        mods[i].mod_bvalues = a->vals[i];
        list[i] = &mods[i];
    }
    int rc = ldap_add_ext_s(k->ld, dn, list, NULL, NULL);
    free(mods);
    free(list);
    if (rc != LDAP_SUCCESS)
        return lp_fail_ld(k, rc, "add", dn);
    char *want[] = {"entryUUID", NULL};
    LDAPMessage *res = NULL;
    rc = lp_read(k, dn, want, &res);
    char *uuid = rc == LDAP_SUCCESS ? first_value(k->ld, ldap_first_entry(k->ld, res), "entryUUID") : NULL;
    ldap_msgfree(res);
    uint32_t code = PROVOST_S_OK;
    if (!uuid)
        code = rc != LDAP_SUCCESS ? lp_fail_ld(k, rc, "read back the entryUUID of", dn)
                                  : lp_failf(k, PROVOST_E_FAIL, "%s: %s: the server gave no entryUUID", k->proc, dn);
    else if (provost_set_rollback_data(k->c, "dn", dn) != 0 || provost_set_rollback_data(k->c, "entryUUID", uuid) != 0)
        code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn);
    else if (!xmlNewTextChild(k->data, NULL, BAD_CAST "entryUUID", BAD_CAST uuid))
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    if (code != PROVOST_S_OK) { /* a call that fails undoes its own work */
        if (uuid)
            delete_if_uuid(k, dn, uuid);
        else
            ldap_delete_ext_s(k->ld, dn, NULL, NULL);
    }
    free(uuid);
    return code;
}

uint32_t lp_add_entry(lp_call *k)
{
    char *dn = entry_dn(k);
    attrs a = {0};
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    int bad = code == PROVOST_S_OK ? attrs_collect(k->data, &a) : 0;
    if (bad == -2)
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: an attr element has no name attribute", k->proc, dn);
    else if (bad)
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    else if (code == PROVOST_S_OK && a.n == 0)
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: executeData has no attr", k->proc, dn);
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        /* look before writing: a retry after a crash finds its own entry */
        char *want[] = {"*", "entryUUID", "creatorsName", NULL};
        LDAPMessage *res = NULL;
        int rc = lp_read(k, dn, want, &res);
        LDAPMessage *e = rc == LDAP_SUCCESS ? ldap_first_entry(k->ld, res) : NULL;
        if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
            code = lp_fail_ld(k, rc, "read", dn);
        } else if (e) {
            char *creator = first_value(k->ld, e, "creatorsName"), *uuid = first_value(k->ld, e, "entryUUID");
            if (creator && uuid && k->cfg.bind_dn && lp_dn_equal(creator, k->cfg.bind_dn) && same_entry(k->ld, e, &a)) {
                if (provost_set_rollback_data(k->c, "existed", dn) != 0 ||
                    !xmlNewTextChild(k->data, NULL, BAD_CAST "entryUUID", BAD_CAST uuid))
                    code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn);
            } else {
                code = lp_failf(k, LP_E_EXISTS, "%s: add %s at %s: Already exists (LDAP result 68): an entry with "
                                "other attributes is there", k->proc, dn, k->cfg.uri);
            }
            free(creator);
            free(uuid);
        } else {
            code = add_new(k, dn, &a);
        }
        ldap_msgfree(res);
    }
    attrs_free(&a);
    free(dn);
    return code;
}

/* In doubt nothing says whether the add happened: the entry at dn is removed only when it
 * is exactly what the call would have made, made by our bindDN and never modified since. */
static uint32_t undo_add_in_doubt(lp_call *k)
{
    char *dn = entry_dn(k);
    attrs a = {0};
    uint32_t code = PROVOST_S_OK;
    if (!dn) {
        free(dn);
        return lp_failf(k, PROVOST_E_FAIL, "%s: in doubt, and its executeData was not journaled (declare the "
                        "procedure saveDataForRollback=\"1\"): check the directory by hand", k->proc);
    }
    char *want[] = {"*", "entryUUID", "creatorsName", "createTimestamp", "modifyTimestamp", NULL};
    LDAPMessage *res = NULL;
    int rc = lp_read(k, dn, want, &res);
    LDAPMessage *e = rc == LDAP_SUCCESS ? ldap_first_entry(k->ld, res) : NULL;
    if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
        code = lp_fail_ld(k, rc, "rollback: read", dn);
    } else if (e && attrs_collect(k->data, &a) == 0) {
        char *creator = first_value(k->ld, e, "creatorsName"), *uuid = first_value(k->ld, e, "entryUUID");
        char *made = first_value(k->ld, e, "createTimestamp"), *changed = first_value(k->ld, e, "modifyTimestamp");
        if (creator && uuid && made && changed && k->cfg.bind_dn && lp_dn_equal(creator, k->cfg.bind_dn) &&
            strcmp(made, changed) == 0 && same_entry(k->ld, e, &a))
            code = delete_if_uuid(k, dn, uuid);
        free(creator);
        free(uuid);
        free(made);
        free(changed);
    }
    ldap_msgfree(res);
    attrs_free(&a);
    free(dn);
    return code;
}

uint32_t lp_undo_add(lp_call *k)
{
    if (provost_pcall_in_doubt(k->c))
        return undo_add_in_doubt(k);
    const char *dn = provost_get_rollback_data(k->c, "dn"), *uuid = provost_get_rollback_data(k->c, "entryUUID");
    if (!dn || !uuid)
        return PROVOST_S_OK; /* an entry that was there already is not ours */
    return delete_if_uuid(k, dn, uuid);
}

/* ---- RenameEntry ---- */

/* Whether entry DN already holds every value of RDN (then renaming back must keep them). */
static int rdn_values_present(lp_call *k, const char *dn, const char *rdn)
{
    LDAPRDN r = NULL;
    char *next = NULL;
    if (ldap_str2rdn(rdn, &r, &next, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !r)
        return 0;
    int all = 1;
    for (int i = 0; r[i] && all; i++) {
        char *type = strndup(r[i]->la_attr.bv_val, r[i]->la_attr.bv_len);
        int rc = type ? ldap_compare_ext_s(k->ld, dn, type, &r[i]->la_value, NULL, NULL) : LDAP_NO_MEMORY;
        all = rc == LDAP_COMPARE_TRUE;
        free(type);
    }
    ldap_rdnfree(r);
    return all;
}

uint32_t lp_rename_entry(lp_call *k)
{
    char *dn = provost_child_text(k->data, "dn"), *rdn = provost_child_text(k->data, "newRDN");
    char *sup = provost_child_text(k->data, "newSuperior"), *parent = NULL, *old_rdn = NULL, *newdn = NULL;
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    LDAPRDN r = NULL;
    char *next = NULL;
    if (code == PROVOST_S_OK && (!rdn || ldap_str2rdn(rdn, &r, &next, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
                                 (next && *next)))
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: newRDN \"%.300s\" is not one RDN", k->proc, dn,
                        rdn ? rdn : "(missing)");
    ldap_rdnfree(r);
    if (code == PROVOST_S_OK && sup && *sup)
        code = lp_check_dn(k, sup, "executeData/newSuperior");
    if (code == PROVOST_S_OK) {
        parent = lp_dn_parent(dn);
        old_rdn = lp_dn_rdn(dn);
        newdn = parent && old_rdn ? lp_fmt("%s%s%s", rdn, *(sup && *sup ? sup : parent) ? "," : "",
                                           sup && *sup ? sup : parent)
                                  : NULL;
        if (!newdn)
            code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        int keep = rdn_values_present(k, dn, rdn);
        if (provost_set_rollback_data(k->c, "dn", newdn) != 0 || provost_set_rollback_data(k->c, "oldRDN", old_rdn) != 0 ||
            provost_set_rollback_data(k->c, "oldParent", parent) != 0 ||
            provost_set_rollback_data(k->c, "keepNewRDN", keep ? "1" : "0") != 0) {
            code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn);
        } else {
            int rc = ldap_rename_s(k->ld, dn, rdn, sup && *sup ? sup : NULL, 1, NULL, NULL);
            if (rc != LDAP_SUCCESS)
                code = lp_fail_ld(k, rc, "rename", dn);
            else { /* the new DN replaces the old as text (xmlNodeSetContent would read '&' as markup) */
                xmlNodePtr out = provost_child(k->data, "dn");
                xmlNodeSetContent(out, NULL);
                xmlNodeAddContent(out, BAD_CAST newdn);
            }
        }
    }
    free(dn);
    free(rdn);
    free(sup);
    free(parent);
    free(old_rdn);
    free(newdn);
    return code;
}

static uint32_t rename_back(lp_call *k, const char *newdn, const char *old_rdn, const char *old_parent, int keep)
{
    int rc = ldap_rename_s(k->ld, newdn, old_rdn, old_parent, keep ? 0 : 1, NULL, NULL);
    if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
        return PROVOST_S_OK; /* renamed back, or gone */
    return lp_fail_ld(k, rc, "rollback: rename back", newdn);
}

uint32_t lp_undo_rename(lp_call *k)
{
    if (!provost_pcall_in_doubt(k->c)) {
        const char *dn = provost_get_rollback_data(k->c, "dn"), *rdn = provost_get_rollback_data(k->c, "oldRDN");
        const char *parent = provost_get_rollback_data(k->c, "oldParent"), *keep = provost_get_rollback_data(k->c, "keepNewRDN");
        if (!dn || !rdn || !parent)
            return PROVOST_S_OK;
        return rename_back(k, dn, rdn, parent, keep && strcmp(keep, "1") == 0);
    }
    /* in doubt: ours when the new DN exists and the old one does not */
    char *dn = provost_child_text(k->data, "dn"), *rdn = provost_child_text(k->data, "newRDN");
    char *sup = provost_child_text(k->data, "newSuperior");
    char *parent = dn ? lp_dn_parent(dn) : NULL, *old_rdn = dn ? lp_dn_rdn(dn) : NULL;
    const char *where = sup && *sup ? sup : parent;
    char *newdn = rdn && where && old_rdn ? lp_fmt("%s%s%s", rdn, *where ? "," : "", where) : NULL;
    uint32_t code = PROVOST_S_OK;
    if (!newdn) {
        code = lp_failf(k, PROVOST_E_FAIL, "%s: in doubt, and its executeData was not journaled (declare the "
                        "procedure saveDataForRollback=\"1\"): check the directory by hand", k->proc);
    } else {
        char *none[] = {"1.1", NULL};
        LDAPMessage *r1 = NULL, *r2 = NULL;
        int at_old = lp_read(k, dn, none, &r1), at_new = lp_read(k, newdn, none, &r2);
        ldap_msgfree(r1);
        ldap_msgfree(r2);
        if (at_old != LDAP_SUCCESS && at_old != LDAP_NO_SUCH_OBJECT)
            code = lp_fail_ld(k, at_old, "rollback: read", dn);
        else if (at_old == LDAP_NO_SUCH_OBJECT && at_new == LDAP_SUCCESS)
            code = rename_back(k, newdn, old_rdn, parent, 0);
    }
    free(dn);
    free(rdn);
    free(sup);
    free(parent);
    free(old_rdn);
    free(newdn);
    return code;
}

/* ---- SetPassword: the Password Modify extended operation; the old values are journaled
 * (sealed: the procedure is sensitive) and kept in the undo entry (undo.c), and put back
 * by rollback ---- */

/* Records the previous values OLD (N of them) of DN, then writes the undo entry. */
static uint32_t password_undo(lp_call *k, const char *dn, struct berval **old)
{
    lp_record r = {0};
    size_t n = 0;
    lp_record_set(k, &r, "dn", dn);
    for (; !r.failed && old && old[n]; n++) {
        char key[32], *enc = lp_encode(old[n]);
        snprintf(key, sizeof key, "old.%zu", n);
        if (!enc || provost_set_rollback_data(k->c, key, enc) != 0)
            r.failed = 1;
        if (enc)
            explicit_bzero(enc, strlen(enc));
        free(enc);
    }
    char count[32];
    snprintf(count, sizeof count, "%zu", n);
    lp_record_set(k, &r, "n", count);
    uint32_t code = r.failed ? lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn)
                             : lp_undo_save(k, &r, old);
    lp_record_free(&r);
    return code;
}

uint32_t lp_set_password(lp_call *k)
{
    char *dn = provost_child_text(k->data, "dn"), *pw = provost_child_text(k->data, "password");
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    if (code == PROVOST_S_OK && (!pw || !*pw))
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: executeData/password is missing", k->proc, dn);
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    if (code == PROVOST_S_OK) {
        char *want[] = {"userPassword", NULL};
        LDAPMessage *res = NULL;
        int rc = lp_read(k, dn, want, &res);
        struct berval **old = rc == LDAP_SUCCESS ? ldap_get_values_len(k->ld, ldap_first_entry(k->ld, res), "userPassword") : NULL;
        ldap_msgfree(res);
        if (rc != LDAP_SUCCESS)
            code = lp_fail_ld(k, rc, "read", dn);
        else
            code = password_undo(k, dn, old);
        lp_values_wipe(old);
        if (code == PROVOST_S_OK) {
            struct berval user = {strlen(dn), dn}, newpw = {strlen(pw), pw}, gen = {0, NULL};
            rc = ldap_passwd_s(k->ld, &user, NULL, &newpw, &gen, NULL, NULL);
            ber_memfree(gen.bv_val);
            if (rc != LDAP_SUCCESS) {
                code = lp_fail_ld(k, rc, "Password Modify for", dn);
                if (rc > 0) /* refused by the server: nothing changed */
                    lp_undo_forget(k);
            }
        }
    }
    /* the new password is not handed back in the response */
    xmlNodePtr p = provost_child(k->data, "password");
    if (p) {
        xmlUnlinkNode(p);
        xmlFreeNode(p);
    }
    if (pw)
        explicit_bzero(pw, strlen(pw));
    free(pw);
    free(dn);
    return code;
}

/* Puts back the N values VALS as DN's userPassword (none: removes it). */
static uint32_t restore_password(lp_call *k, const char *dn, struct berval **vals, size_t n)
{
    LDAPMod mod = {.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES, .mod_type = "userPassword", .mod_bvalues = vals};
    LDAPMod *mods[2] = {&mod, NULL};
    int rc = ldap_modify_ext_s(k->ld, dn, mods, NULL, NULL);
    if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT && !(rc == LDAP_NO_SUCH_ATTRIBUTE && n == 0))
        return lp_fail_ld(k, rc, "rollback: restore the password of", dn);
    return PROVOST_S_OK;
}

/* Whether the new password PW of DN took, binding with it on a connection of its own:
 * *TOOK 1 yes, 0 no (refused, or no such entry); a failure when it cannot be told. */
static uint32_t password_took(lp_call *k, const char *dn, char *pw, int *took)
{
    LDAP *ld = NULL;
    if (ldap_initialize(&ld, k->cfg.uri) != LDAP_SUCCESS || !ld)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: providerContext uri \"%.300s\" is not an LDAP URI", k->proc,
                        k->cfg.uri);
    int v3 = LDAP_VERSION3;
    struct timeval tv = {k->cfg.timeout_ms / 1000, (k->cfg.timeout_ms % 1000) * 1000};
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    struct berval cred = {strlen(pw), pw};
    int rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    ldap_unbind_ext_s(ld, NULL, NULL);
    *took = rc == LDAP_SUCCESS;
    if (rc != LDAP_SUCCESS && rc != LDAP_INVALID_CREDENTIALS && rc != LDAP_NO_SUCH_OBJECT)
        return lp_fail_ld(k, rc, "rollback: check the password of", dn);
    return PROVOST_S_OK;
}

/* In doubt: no undo entry, the password was not touched.  One there: if the new password
 * took (a bind with it succeeds), the old values come back from the entry; if it did not
 * (never set, or changed by someone else since), the password is left as it is. */
static uint32_t undo_password_in_doubt(lp_call *k)
{
    lp_record r;
    struct berval **old = NULL;
    int rc = lp_undo_load(k, &r, &old);
    if (rc == LDAP_NO_SUCH_OBJECT)
        return PROVOST_S_OK;
    if (rc != LDAP_SUCCESS)
        return lp_fail_ld(k, rc, "rollback in doubt: read the undo entry in", k->cfg.quarantine_dn);
    const char *dn = lp_record_get(&r, "dn");
    char *pw = provost_child_text(k->data, "password");
    size_t n = 0;
    while (old && old[n])
        n++;
    /* without the journaled executeData it cannot be told: the old values come back */
    int took = dn != NULL;
    uint32_t code = dn && pw && *pw ? password_took(k, dn, pw, &took) : PROVOST_S_OK;
    if (code == PROVOST_S_OK && took)
        code = restore_password(k, dn, old, n);
    if (code == PROVOST_S_OK)
        lp_undo_forget(k);
    if (pw)
        explicit_bzero(pw, strlen(pw));
    free(pw);
    lp_values_wipe(old);
    lp_record_free(&r);
    return code;
}

uint32_t lp_undo_password(lp_call *k)
{
    if (provost_pcall_in_doubt(k->c))
        return undo_password_in_doubt(k);
    const char *dn = provost_get_rollback_data(k->c, "dn"), *ns = provost_get_rollback_data(k->c, "n");
    if (!dn || !ns)
        return PROVOST_S_OK;
    size_t n = (size_t)strtoul(ns, NULL, 10);
    struct berval *vals = calloc(n + 1, sizeof *vals), **list = calloc(n + 1, sizeof *list);
    uint32_t code = PROVOST_S_OK;
    for (size_t i = 0; vals && list && i < n && code == PROVOST_S_OK; i++) {
        char key[32];
        snprintf(key, sizeof key, "old.%zu", i);
        const char *enc = provost_get_rollback_data(k->c, key);
        if (!enc || lp_decode(enc, &vals[i]) != 0)
            code = lp_failf(k, PROVOST_E_FAIL, "%s: rollback data %s of %s is damaged", k->proc, key, dn);
        list[i] = &vals[i];
    }
    if (!vals || !list)
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    if (code == PROVOST_S_OK)
        code = restore_password(k, dn, list, n);
    if (code == PROVOST_S_OK)
        lp_undo_forget(k);
    for (size_t i = 0; vals && i < n; i++)
        if (vals[i].bv_val) {
            explicit_bzero(vals[i].bv_val, vals[i].bv_len);
            free(vals[i].bv_val);
        }
    free(vals);
    free(list);
    return code;
}
