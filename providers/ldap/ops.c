/*
 * ops.c -- the ldap provider's write procedures and their undo (docs/providers/ldap.md):
 * AddEntry, ModifyEntry, AddMember/RemoveMember, RenameEntry, SetPassword, and the
 * value-level changes they share.  Every undo is idempotent: what is already undone, or
 * was never done, is success.  The undo entries that let a value change be undone in
 * doubt are in undo.c, DeleteEntry (two-phase) in quarantine.c, the reads in read.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lp.h"
#include "ops.h"

/* ---- value-level changes and their inverse ------------------------------------------- */

enum { CH_ADD, CH_DEL, CH_DELALL, CH_REP };

typedef struct change {
    int op;
    char *attr;
    char **vals;
    size_t n;
} change;

typedef struct vset {
    struct berval *v;
    size_t n, cap;
} vset;

static void vset_free(vset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].bv_val);
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int vset_add(vset *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct berval *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, p, len);
    copy[len] = 0;
    s->v[s->n].bv_val = copy;
    s->v[s->n++].bv_len = len;
    return 0;
}

/* Index of a value equal to P (ASCII case ignored, as most matching rules do), or -1. */
static long vset_find(const vset *s, const char *p, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].bv_len == len && strncasecmp(s->v[i].bv_val, p, len) == 0)
            return (long)i;
    return -1;
}

static void vset_remove(vset *s, size_t i)
{
    free(s->v[i].bv_val);
    s->v[i] = s->v[--s->n];
}

/* The rollback list: "dn", "n" and "op.I" = "a|d TAB attr TAB encoded value", applied in
 * reverse order by undo_ops; kept as rollback data and in the record of the undo entry. */
typedef struct undo_list {
    lp_call *k;
    lp_record rec;
    size_t n;
} undo_list;

static void undo_push(undo_list *u, char kind, const char *attr, const struct berval *v)
{
    char *enc = lp_encode(v), key[32], *val = enc ? lp_fmt("%c\t%s\t%s", kind, attr, enc) : NULL;
    snprintf(key, sizeof key, "op.%zu", u->n++);
    if (!val)
        u->rec.failed = 1;
    else
        lp_record_set(u->k, &u->rec, key, val);
    free(enc);
    free(val);
}

static int undo_finish(undo_list *u, const char *dn)
{
    char n[32];
    snprintf(n, sizeof n, "%zu", u->n);
    lp_record_set(u->k, &u->rec, "dn", dn);
    lp_record_set(u->k, &u->rec, "n", n);
    return u->rec.failed ? -1 : 0;
}

typedef const char *(*undo_get)(const void *from, const char *key);

static const char *from_rollback(const void *c, const char *key)
{
    return provost_get_rollback_data(c, key);
}

static const char *from_record(const void *r, const char *key)
{
    return lp_record_get(r, key);
}

/* Applies the rollback list GET finds in FROM, newest first, one value at a time. */
static uint32_t undo_ops(lp_call *k, undo_get get, const void *from)
{
    const char *dn = get(from, "dn"), *ns = get(from, "n");
    if (!dn || !ns)
        return PROVOST_S_OK; /* nothing was changed */
    long n = strtol(ns, NULL, 10);
    for (long i = n - 1; i >= 0; i--) {
        char key[32];
        snprintf(key, sizeof key, "op.%ld", i);
        const char *op = get(from, key);
        const char *t1 = op ? strchr(op, '\t') : NULL, *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        struct berval v;
        if (!t2 || lp_decode(t2 + 1, &v) != 0)
            return lp_failf(k, PROVOST_E_FAIL, "%s: rollback data %s of %s is damaged", k->proc, key, dn);
        char *attr = strndup(t1 + 1, (size_t)(t2 - t1 - 1));
        struct berval *vals[2] = {&v, NULL};
        LDAPMod mod = {.mod_op = (op[0] == 'a' ? LDAP_MOD_ADD : LDAP_MOD_DELETE) | LDAP_MOD_BVALUES,
                       .mod_type = attr, .mod_bvalues = vals};
        LDAPMod *mods[2] = {&mod, NULL};
        int rc = attr ? ldap_modify_ext_s(k->ld, dn, mods, NULL, NULL) : LDAP_NO_MEMORY;
        free(attr);
        free(v.bv_val);
        if (rc == LDAP_NO_SUCH_OBJECT)
            return PROVOST_S_OK; /* the entry is gone: nothing left to restore */
        /* a value already back, or already gone, is undone */
        if (rc != LDAP_SUCCESS && rc != LDAP_TYPE_OR_VALUE_EXISTS && rc != LDAP_NO_SUCH_ATTRIBUTE)
            return lp_fail_ld(k, rc, "rollback: restore a value of", dn);
    }
    return PROVOST_S_OK;
}

/* The modify MODS of DN, the undo entry written first when there is anything to undo.  A
 * modify the server refused (atomic: nothing of it applied) takes its undo entry back; one
 * whose answer never came leaves it to the end of the transaction. */
static uint32_t modify_undoable(lp_call *k, undo_list *u, const char *dn, LDAPMod **mods)
{
    uint32_t code = u->n > 0 ? lp_undo_save(k, &u->rec, NULL) : PROVOST_S_OK;
    if (code != PROVOST_S_OK)
        return code;
    int rc = ldap_modify_ext_s(k->ld, dn, mods, NULL, NULL);
    if (rc == LDAP_SUCCESS)
        return PROVOST_S_OK;
    code = lp_fail_ld(k, rc, "modify", dn);
    if (u->n > 0 && rc > 0)
        lp_undo_forget(k);
    return code;
}

/* Collects executeData's ELEMENT@name children as changes of kind OP: consecutive
 * elements naming the same attribute are the values of one change. */
static int collect(xmlNodePtr data, const char *element, int op, change **chs, size_t *n)
{
    for (xmlNodePtr e = data->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, element) != 0)
            continue;
        xmlChar *name = xmlGetProp(e, BAD_CAST "name");
        if (!name || !*name) {
            xmlFree(name);
            return -2;
        }
        char *text = provost_text(e);
        change *last = *n ? &(*chs)[*n - 1] : NULL;
        if (!last || last->op != op || strcasecmp(last->attr, (const char *)name) != 0) {
            change *grown = realloc(*chs, (*n + 1) * sizeof *grown);
            if (!grown) {
                xmlFree(name);
                free(text);
                return -1;
            }
            *chs = grown;
            last = &grown[(*n)++];
            memset(last, 0, sizeof *last);
            last->op = op;
            last->attr = strdup((const char *)name);
        }
        xmlFree(name);
        if (op == CH_DEL && !*text) {
            last->op = CH_DELALL;
            free(text);
            continue;
        }
        if (op == CH_REP && !*text) { /* replace with nothing: the attribute goes */
            free(text);
            continue;
        }
        char **vals = realloc(last->vals, (last->n + 1) * sizeof *vals);
        if (!vals) {
            free(text);
            return -1;
        }
        last->vals = vals;
        vals[last->n++] = text;
    }
    return 0;
}

static void changes_free(change *chs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < chs[i].n; j++)
            free(chs[i].vals[j]);
        free(chs[i].vals);
        free(chs[i].attr);
    }
    free(chs);
}

/* The pre-image of ATTR in the entry RES (its values, copied). */
static int preimage(LDAP *ld, LDAPMessage *res, const char *attr, vset *out)
{
    LDAPMessage *e = ldap_first_entry(ld, res);
    struct berval **vals = e ? ldap_get_values_len(ld, e, attr) : NULL;
    int rc = 0;
    for (size_t i = 0; vals && vals[i] && rc == 0; i++)
        rc = vset_add(out, vals[i]->bv_val, vals[i]->bv_len);
    ldap_value_free_len(vals);
    return rc;
}

/* One LDAPMod being built: its values point into the change (no copies). */
typedef struct modbuf {
    LDAPMod **mods;
    size_t n;
} modbuf;

static LDAPMod *mod_new(modbuf *m, int op, char *attr)
{
    LDAPMod **grown = realloc(m->mods, (m->n + 2) * sizeof *grown);
    LDAPMod *mod = calloc(1, sizeof *mod);
    if (grown)
        m->mods = grown;
    if (!grown || !mod) {
        free(mod);
        return NULL;
    }
    mod->mod_op = op | LDAP_MOD_BVALUES;
    mod->mod_type = attr;
    m->mods[m->n++] = mod;
    m->mods[m->n] = NULL;
    return mod;
}

static int mod_value(LDAPMod *mod, const char *p, size_t len)
{
    size_t n = 0;
    while (mod->mod_bvalues && mod->mod_bvalues[n])
        n++;
    struct berval **grown = realloc(mod->mod_bvalues, (n + 2) * sizeof *grown);
    struct berval *bv = malloc(sizeof *bv);
    if (grown)
        mod->mod_bvalues = grown;
    if (!grown || !bv) {
        free(bv);
        return -1;
    }
    bv->bv_val = (char *)p;
    bv->bv_len = len;
    grown[n] = bv;
    grown[n + 1] = NULL;
    return 0;
}

static void mods_free(modbuf *m)
{
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; m->mods[i]->mod_bvalues && m->mods[i]->mod_bvalues[j]; j++)
            free(m->mods[i]->mod_bvalues[j]);
        free(m->mods[i]->mod_bvalues);
        free(m->mods[i]);
    }
    free(m->mods);
}

/* Turns one change into the modification that really changes something given the current
 * values CUR (updated), and pushes its inverse. */
static int plan_change(change *ch, vset *cur, modbuf *m, undo_list *u)
{
    LDAPMod *mod = NULL;
    int rc = 0;
    switch (ch->op) {
    case CH_ADD:
        for (size_t j = 0; j < ch->n && rc == 0; j++) {
            size_t len = strlen(ch->vals[j]);
            if (vset_find(cur, ch->vals[j], len) >= 0)
                continue; /* already there: not ours to remove on rollback */
            if (!mod && !(mod = mod_new(m, LDAP_MOD_ADD, ch->attr)))
                return -1;
            struct berval bv = {len, ch->vals[j]};
            rc = mod_value(mod, ch->vals[j], len) | vset_add(cur, ch->vals[j], len);
            undo_push(u, 'd', ch->attr, &bv);
        }
        return rc;
    case CH_DEL:
        for (size_t j = 0; j < ch->n && rc == 0; j++) {
            long at = vset_find(cur, ch->vals[j], strlen(ch->vals[j]));
            if (at < 0)
                continue; /* already absent */
            if (!mod && !(mod = mod_new(m, LDAP_MOD_DELETE, ch->attr)))
                return -1;
            rc = mod_value(mod, ch->vals[j], strlen(ch->vals[j]));
            undo_push(u, 'a', ch->attr, &cur->v[at]);
            vset_remove(cur, (size_t)at);
        }
        return rc;
    case CH_DELALL:
        if (cur->n == 0)
            return 0;
        if (!mod_new(m, LDAP_MOD_DELETE, ch->attr))
            return -1;
        for (size_t j = 0; j < cur->n; j++)
            undo_push(u, 'a', ch->attr, &cur->v[j]);
        vset_free(cur);
        return 0;
    default: { /* CH_REP */
        if (!(mod = mod_new(m, LDAP_MOD_REPLACE, ch->attr)))
            return -1;
        vset next = {0};
        for (size_t j = 0; j < ch->n && rc == 0; j++)
            rc = mod_value(mod, ch->vals[j], strlen(ch->vals[j])) | vset_add(&next, ch->vals[j], strlen(ch->vals[j]));
        /* inverse, applied in reverse: the new values go first, then the old come back */
        for (size_t j = 0; j < cur->n; j++)
            if (vset_find(&next, cur->v[j].bv_val, cur->v[j].bv_len) < 0)
                undo_push(u, 'a', ch->attr, &cur->v[j]);
        for (size_t j = 0; j < next.n; j++)
            if (vset_find(cur, next.v[j].bv_val, next.v[j].bv_len) < 0)
                undo_push(u, 'd', ch->attr, &next.v[j]);
        vset_free(cur);
        *cur = next;
        return rc;
    }
    }
}

/* Applies CHS to DN in one modify, after reading the pre-image of the attributes they
 * name; records the value-level inverse as rollback data first. */
static uint32_t apply_changes(lp_call *k, const char *dn, change *chs, size_t nch)
{
    char **attrs = calloc(nch + 1, sizeof *attrs);
    vset *cur = calloc(nch + 1, sizeof *cur);
    modbuf m = {0};
    undo_list u = {.k = k};
    LDAPMessage *res = NULL;
    uint32_t code = PROVOST_S_OK;
    if (!attrs || !cur) {
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
        goto out;
    }
    for (size_t i = 0; i < nch; i++)
        attrs[i] = chs[i].attr;
    int rc = lp_read(k, dn, attrs, &res);
    if (rc != LDAP_SUCCESS) {
        code = lp_fail_ld(k, rc, "read", dn);
        goto out;
    }
    for (size_t i = 0; i < nch; i++) {
        /* the values of this attribute as left by the earlier changes of the request */
        size_t first = i;
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(chs[j].attr, chs[i].attr) == 0) {
                first = j;
                break;
            }
        if (first == i && preimage(k->ld, res, chs[i].attr, &cur[i]) != 0) {
            code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
            goto out;
        }
        if (plan_change(&chs[i], &cur[first], &m, &u) != 0) {
            code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
            goto out;
        }
    }
    if (undo_finish(&u, dn) != 0) {
        code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, dn);
        goto out;
    }
    if (m.n > 0)
        code = modify_undoable(k, &u, dn, m.mods);
out:
    lp_record_free(&u.rec);
    ldap_msgfree(res);
    for (size_t i = 0; cur && i < nch; i++)
        vset_free(&cur[i]);
    free(cur);
    free(attrs);
    mods_free(&m);
    return code;
}

uint32_t lp_modify_entry(lp_call *k)
{
    char *dn = provost_child_text(k->data, "dn");
    change *chs = NULL;
    size_t n = 0;
    uint32_t code = lp_check_dn(k, dn, "executeData/dn");
    int bad = 0;
    if (code == PROVOST_S_OK && !((bad = collect(k->data, "add", CH_ADD, &chs, &n)) ||
                                  (bad = collect(k->data, "replace", CH_REP, &chs, &n)) ||
                                  (bad = collect(k->data, "delete", CH_DEL, &chs, &n)))) {
        if (n == 0)
            code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: executeData has no add, replace or delete", k->proc, dn);
        else if ((code = lp_connect(k)) == PROVOST_S_OK)
            code = apply_changes(k, dn, chs, n);
    } else if (bad == -2) {
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: an add, replace or delete element has no name attribute",
                        k->proc, dn);
    } else if (bad) {
        code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    changes_free(chs, n);
    free(dn);
    return code;
}

/* ---- members: the server's own matching rule decides what is present ---------------- */

uint32_t lp_members(lp_call *k, int add)
{
    char *group = provost_child_text(k->data, "group");
    char *attr = provost_child_text(k->data, "memberAttribute");
    const char *at = attr && *attr ? attr : "member";
    uint32_t code = lp_check_dn(k, group, "executeData/group");
    modbuf m = {0};
    undo_list u = {.k = k};
    LDAPMod *mod = NULL;
    int any = 0;
    if (code == PROVOST_S_OK)
        code = lp_connect(k);
    for (xmlNodePtr e = k->data->children; e && code == PROVOST_S_OK; e = e->next) {
        if (e->type != XML_ELEMENT_NODE || strcmp((const char *)e->name, "member") != 0)
            continue;
        any = 1;
        char *member = provost_text(e);
        LDAPDN d = NULL;
        if (strcasecmp(at, "memberUid") != 0 &&
            (ldap_str2dn(member, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !d || !*member)) {
            code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: member \"%.300s\" is not a DN", k->proc, group, member);
        } else {
            struct berval bv = {strlen(member), member};
            int rc = ldap_compare_ext_s(k->ld, group, at, &bv, NULL, NULL);
            int present = rc == LDAP_COMPARE_TRUE;
            if (rc != LDAP_COMPARE_TRUE && rc != LDAP_COMPARE_FALSE && rc != LDAP_NO_SUCH_ATTRIBUTE)
                code = lp_fail_ld(k, rc, "compare", group);
            else if (present != add) {
                if (!mod)
                    mod = mod_new(&m, add ? LDAP_MOD_ADD : LDAP_MOD_DELETE, (char *)at);
                char *keep = strdup(member);
                if (!mod || !keep || mod_value(mod, keep, bv.bv_len) != 0) {
                    free(keep);
                    code = lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
                } else {
                    undo_push(&u, add ? 'd' : 'a', at, &bv);
                }
            }
        }
        ldap_dnfree(d);
        free(member);
    }
    if (code == PROVOST_S_OK && !any)
        code = lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s: executeData has no member", k->proc, group);
    if (code == PROVOST_S_OK && undo_finish(&u, group) != 0)
        code = lp_failf(k, PROVOST_E_FAIL, "%s: %s: cannot record rollback data", k->proc, group);
    if (code == PROVOST_S_OK && m.n > 0)
        code = modify_undoable(k, &u, group, m.mods);
    lp_record_free(&u.rec);
    for (size_t i = 0; i < m.n; i++)
        for (size_t j = 0; m.mods[i]->mod_bvalues && m.mods[i]->mod_bvalues[j]; j++)
            free(m.mods[i]->mod_bvalues[j]->bv_val);
    mods_free(&m);
    free(attr);
    free(group);
    return code;
}

/* ---- rollback: from the rollback data; in doubt (none was journaled) from the undo
 * entry, written before the change: none there, nothing was changed ---- */

uint32_t lp_undo_values(lp_call *k)
{
    if (!provost_pcall_in_doubt(k->c)) {
        uint32_t code = undo_ops(k, from_rollback, k->c);
        const char *n = provost_get_rollback_data(k->c, "n");
        if (code == PROVOST_S_OK && n && strtol(n, NULL, 10) > 0)
            lp_undo_forget(k);
        return code;
    }
    lp_record r;
    int rc = lp_undo_load(k, &r, NULL);
    if (rc == LDAP_NO_SUCH_OBJECT)
        return PROVOST_S_OK;
    if (rc != LDAP_SUCCESS)
        return lp_fail_ld(k, rc, "rollback in doubt: read the undo entry in", k->cfg.quarantine_dn);
    uint32_t code = undo_ops(k, from_record, &r);
    if (code == PROVOST_S_OK)
        lp_undo_forget(k);
    lp_record_free(&r);
    return code;
}
