/*
 * principals.c -- changing and listing principals and rights (provost/rights.h): users,
 * groups, memberships, entries and procedure settings, kept in the config column family
 * under the keys rights.h lists.  Every change needs admin, runs under the engine's change
 * lock and ends by reading the snapshot again (rights.c), so the next request sees it.
 *
 * Removing a principal deletes the entries and memberships naming it first and the
 * principal last: interrupted, the principal is still there, and removing it again
 * finishes the job; nothing is ever left naming a principal that does not exist.
 */
#define _GNU_SOURCE /* memrchr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/rights.h"
#include "util/str.h"
#include "util/vec.h"
#include "db.h"
#include "rights.h"
#include "vm.h"

#define NAME_MAX_LEN 128
#define KEY_MAX 1200

static int principal_ok(const char *name, provost_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "a principal name must have 1 to %d characters", NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '@'))
            return pvm_api_fail(err, PROVOST_E_INVALIDARG,
                                "principal name '%s': only letters, digits, '.', '_', '-' and '@' are allowed", name);
    }
    return 0;
}

/* Namespace and procedure names as the language allows them (SPEC §1). */
static int place_ok(const char *what, const char *name, provost_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > 256)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "a %s name must have 1 to 256 characters", what);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == ' '))
            return pvm_api_fail(err, PROVOST_E_INVALIDARG,
                                "%s name '%s': only letters, digits, '_', '-', '.' and space are allowed", what, name);
    }
    return 0;
}

/* PREFIX + the parts, each without case, joined by '/'. */
static void make_key(char *key, const char *prefix, const char *a, const char *b, const char *c, const char *d)
{
    const char *parts[] = {a, b, c, d};
    size_t n = (size_t)snprintf(key, KEY_MAX, "%s", prefix);
    for (int i = 0; i < 4 && parts[i]; i++) {
        if (i > 0 && n + 1 < KEY_MAX)
            key[n++] = '/';
        for (const char *p = parts[i]; *p && n + 1 < KEY_MAX; p++)
            key[n++] = (char)pu_lower((unsigned char)*p);
    }
    key[n] = 0;
}

/* 1 when KEY exists, 0 when not, -1 (err set) when it cannot be read. */
static int exists(provost_engine *e, const char *key, provost_error *err)
{
    char why[512] = "";
    size_t n = 0;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, key, strlen(key), &n, why, sizeof why);
    free(v);
    if (!v && why[0])
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return v != NULL;
}

static int put(provost_engine *e, const char *key, const char *val, provost_error *err)
{
    char why[512];
    if (pvm_db_put(e->db, PVM_CF_CONFIG, key, strlen(key), val, strlen(val), why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return 0;
}

static int del(provost_engine *e, const char *key, provost_error *err)
{
    char why[512];
    if (pvm_db_delete(e->db, PVM_CF_CONFIG, key, strlen(key), why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return 0;
}

/* Begins a change: admin checked, the change lock taken (0), or -1 with err. */
static int begin(provost_engine *e, const char *what, provost_error *err)
{
    if (pvm_rights_admin(e, what, err) != 0)
        return -1;
    pvm_rights_lock(e);
    return 0;
}

/* Ends it: the snapshot read again when the change was made. */
static int end(provost_engine *e, int rc, provost_error *err)
{
    if (rc == 0)
        rc = pvm_rights_reload(e, err);
    pvm_rights_unlock(e);
    return rc;
}

/* 'u' a user, 'g' a group, 0 neither, -1 error. */
static int kind(provost_engine *e, const char *name, provost_error *err)
{
    char key[KEY_MAX];
    make_key(key, PVM_RK_USER, name, NULL, NULL, NULL);
    int u = exists(e, key, err);
    if (u != 0)
        return u < 0 ? -1 : 'u';
    make_key(key, PVM_RK_GROUP, name, NULL, NULL, NULL);
    int g = exists(e, key, err);
    return g < 0 ? -1 : g ? 'g' : 0;
}

static int need_kind(provost_engine *e, const char *name, int want, provost_error *err)
{
    int k = kind(e, name, err);
    if (k < 0)
        return -1;
    if (k != want)
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "unknown %s '%s'%s", want == 'u' ? "user" : "group", name,
                            k ? (want == 'u' ? " (it is a group)" : " (it is a user)") : "");
    return 0;
}

static int add_principal(provost_engine *e, const char *name, int what, provost_error *err)
{
    int k = kind(e, name, err);
    if (k < 0)
        return -1;
    if (k)
        return pvm_api_fail(err, PROVOST_E_EXISTS, "%s '%s' exists", k == 'u' ? "user" : "group", name);
    char key[KEY_MAX];
    make_key(key, what == 'u' ? PVM_RK_USER : PVM_RK_GROUP, name, NULL, NULL, NULL);
    return put(e, key, name, err);
}

static int set_member(provost_engine *e, const char *user, const char *group, bool add, provost_error *err)
{
    if (need_kind(e, group, 'g', err) != 0)
        return -1;
    char key[KEY_MAX], val[2 * NAME_MAX_LEN + 2];
    make_key(key, PVM_RK_MEMBER, user, group, NULL, NULL);
    if (add) {
        snprintf(val, sizeof val, "%s\t%s", user, group);
        return put(e, key, val, err);
    }
    int x = exists(e, key, err);
    if (x <= 0)
        return x < 0 ? -1 : pvm_api_fail(err, PROVOST_E_NOTFOUND, "user '%s' is not a member of group '%s'", user, group);
    return del(e, key, err);
}

int provost_user_add(provost_engine *e, const char *name, const char *group, provost_error *err)
{
    if (principal_ok(name, err) != 0 || (group && principal_ok(group, err) != 0) || begin(e, "user add", err) != 0)
        return -1;
    int rc = 0;
    int k = group ? kind(e, name, err) : 0;
    if (k < 0)
        rc = -1;
    else if (k == 'g')
        rc = pvm_api_fail(err, PROVOST_E_EXISTS, "'%s' is a group, not a user", name);
    else if (k == 0)
        rc = add_principal(e, name, 'u', err);
    if (rc == 0 && group)
        rc = set_member(e, name, group, true, err);
    return end(e, rc, err);
}

/* Deletes every key of the config family that names principal LC (lowered): its
 * memberships (as user or as group) and its entries. */
typedef struct sweep {
    const char *lc;
    PU_VEC(char *) keys;
    bool oom;
} sweep;

static int sweep_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    sweep *s = ud;
    char k[KEY_MAX];
    snprintf(k, sizeof k, "%.*s", (int)klen, key);
    char *parts[6] = {0};
    int n = 0;
    for (char *p = k, *slash; n < 6; p = slash + 1) {
        parts[n++] = p;
        if (!(slash = strchr(p, '/')))
            break;
        *slash = 0;
    }
    bool hit = false;
    if (n == 3 && strcmp(parts[0], "member") == 0)
        hit = strcmp(parts[1], s->lc) == 0 || strcmp(parts[2], s->lc) == 0;
    else if (n == 5 && strcmp(parts[0], "acl") == 0)
        hit = strcmp(parts[3], s->lc) == 0;
    if (hit) {
        char **slot = PU_VEC_PUSH(s->keys);
        if (!slot || !(*slot = strndup(key, klen)))
            return s->oom = true;
    }
    return 0;
}

static int remove_principal(provost_engine *e, const char *name, int what, provost_error *err)
{
    if (need_kind(e, name, what, err) != 0)
        return -1;
    char key[KEY_MAX], why[512] = "";
    make_key(key, "", name, NULL, NULL, NULL);
    sweep s = {.lc = key};
    int rc = pvm_db_each(e->db, PVM_CF_CONFIG, sweep_one, &s, why, sizeof why) < 0 ? -1 : 0;
    if (rc != 0 || s.oom)
        rc = pvm_api_fail(err, s.oom ? PROVOST_E_OUTOFMEMORY : PROVOST_E_JOURNAL, "%s", s.oom ? "out of memory" : why);
    for (size_t i = 0; i < s.keys.n; i++) {
        if (rc == 0)
            rc = del(e, s.keys.v[i], err);
        free(s.keys.v[i]);
    }
    PU_VEC_FREE(s.keys);
    if (rc == 0) {
        make_key(key, what == 'u' ? PVM_RK_USER : PVM_RK_GROUP, name, NULL, NULL, NULL);
        rc = del(e, key, err);
    }
    return rc;
}

int provost_user_remove(provost_engine *e, const char *name, const char *group, provost_error *err)
{
    if (principal_ok(name, err) != 0 || (group && principal_ok(group, err) != 0) || begin(e, "user remove", err) != 0)
        return -1;
    int rc = need_kind(e, name, 'u', err);
    if (rc == 0)
        rc = group ? set_member(e, name, group, false, err) : remove_principal(e, name, 'u', err);
    return end(e, rc, err);
}

int provost_group_add(provost_engine *e, const char *name, provost_error *err)
{
    if (principal_ok(name, err) != 0 || begin(e, "group add", err) != 0)
        return -1;
    return end(e, add_principal(e, name, 'g', err), err);
}

int provost_group_remove(provost_engine *e, const char *name, provost_error *err)
{
    if (principal_ok(name, err) != 0 || begin(e, "group remove", err) != 0)
        return -1;
    return end(e, remove_principal(e, name, 'g', err), err);
}

/* ---- entries -------------------------------------------------------------------------- */

static int place_check(int right, const char *ns, const char *proc, provost_error *err)
{
    if (!provost_right_name(right))
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "unknown right %d", right);
    if (proc && !ns)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "a procedure needs its namespace");
    if (ns && right != PROVOST_RIGHT_EXECUTE && right != PROVOST_RIGHT_EXECUTE_PRIVATE)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "the right %s is global: it takes no namespace or procedure",
                            provost_right_name(right));
    if ((ns && place_ok("namespace", ns, err) != 0) || (proc && place_ok("procedure", proc, err) != 0))
        return -1;
    return 0;
}

int provost_grant(provost_engine *e, const char *principal, int right, const char *ns, const char *proc, int deny,
                  provost_error *err)
{
    if (principal_ok(principal, err) != 0 || place_check(right, ns, proc, err) != 0 || begin(e, "grant", err) != 0)
        return -1;
    int k = kind(e, principal, err), rc = 0;
    if (k <= 0) {
        rc = k < 0 ? -1 : pvm_api_fail(err, PROVOST_E_NOTFOUND, "unknown principal '%s' (provost user add %s)",
                                       principal, principal);
    } else {
        char key[KEY_MAX], val[KEY_MAX];
        make_key(key, PVM_RK_ACL, ns ? ns : "", proc ? proc : "", principal, provost_right_name(right));
        snprintf(val, sizeof val, "%c\t%s\t%s\t%s", deny ? 'D' : 'A', principal, ns ? ns : "", proc ? proc : "");
        rc = put(e, key, val, err);
    }
    return end(e, rc, err);
}

int provost_revoke(provost_engine *e, const char *principal, int right, const char *ns, const char *proc,
                   provost_error *err)
{
    if (principal_ok(principal, err) != 0 || place_check(right, ns, proc, err) != 0 || begin(e, "revoke", err) != 0)
        return -1;
    char key[KEY_MAX];
    make_key(key, PVM_RK_ACL, ns ? ns : "", proc ? proc : "", principal, provost_right_name(right));
    int rc = exists(e, key, err);
    if (rc == 0)
        rc = pvm_api_fail(err, PROVOST_E_NOTFOUND, "'%s' holds no entry for %s %s%s%s%s", principal,
                          provost_right_name(right), ns ? "on " : "globally", ns ? ns : "", proc ? "/" : "",
                          proc ? proc : "");
    else if (rc > 0)
        rc = del(e, key, err);
    return end(e, rc, err);
}

/* ---- procedure settings --------------------------------------------------------------- */

/* Reads PROC of NS's setting (defaults when none), sets inherit (unless -1) and the
 * credential (when set_cred), writes it back, or deletes it when back to the defaults. */
static int change_proc(provost_engine *e, const char *ns, const char *proc, int inherit, const char *cred,
                       bool set_cred, provost_error *err)
{
    if (place_ok("namespace", ns, err) != 0 || place_ok("procedure", proc, err) != 0 ||
        begin(e, "procedure setting", err) != 0)
        return -1;
    char key[KEY_MAX], why[512] = "";
    make_key(key, PVM_RK_PROC, ns, proc, NULL, NULL);
    size_t n = 0;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, key, strlen(key), &n, why, sizeof why);
    if (!v && why[0])
        return end(e, pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why), err);
    int cur_inherit = 1;
    char cur_cred[NAME_MAX_LEN + 1] = "";
    if (v) {
        const char *tab = memrchr(v, '\t', n);
        cur_inherit = n > 0 && v[0] != '0';
        if (tab)
            snprintf(cur_cred, sizeof cur_cred, "%.*s", (int)(n - (size_t)(tab + 1 - v)), tab + 1);
        free(v);
    }
    if (inherit >= 0)
        cur_inherit = inherit;
    if (set_cred)
        snprintf(cur_cred, sizeof cur_cred, "%s", cred ? cred : "");
    int rc;
    if (cur_inherit && !cur_cred[0]) {
        rc = del(e, key, err);
    } else {
        char val[KEY_MAX];
        snprintf(val, sizeof val, "%d\t%s\t%s\t%s", cur_inherit, ns, proc, cur_cred);
        rc = put(e, key, val, err);
    }
    return end(e, rc, err);
}

int provost_acl_inherit(provost_engine *e, const char *ns, const char *proc, int inherit, provost_error *err)
{
    if (!ns || !proc)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "inheritance is set on a procedure of a namespace");
    return change_proc(e, ns, proc, inherit != 0, NULL, false, err);
}

int provost_acl_execute_as(provost_engine *e, const char *ns, const char *proc, const char *credential,
                           provost_error *err)
{
    if (!ns || !proc)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "\"execute as\" is set on a procedure of a namespace");
    if (credential) {
        provost_credential *v;
        size_t n;
        if (provost_credential_list(e, &v, &n, err) != 0)
            return -1;
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(v[i].name, credential) == 0;
        provost_credential_list_free(v, n);
        if (!found)
            return pvm_api_fail(err, PROVOST_E_NOTFOUND, "credential '%s' not found (provost credential set %s ...)",
                                credential, credential);
    }
    return change_proc(e, ns, proc, -1, credential, true, err);
}

/* ---- listing -------------------------------------------------------------------------- */

typedef struct reading {
    const char *ns;  /* provost_acl_get's filter, or NULL */
    int groups;      /* provost_principal_list: 1 groups, 0 users */
    PU_VEC(provost_principal) principals;
    PU_VEC(char *) pairs; /* memberships: user, group, user, group, ... */
    PU_VEC(provost_ace) aces;
    PU_VEC(provost_proc_setting) procs;
    bool enforced, oom;
} reading;

/* The value's tab-separated fields, in place in buf (at most 4). */
static int split(const char *val, size_t vlen, char *buf, size_t size, char **f)
{
    snprintf(buf, size, "%.*s", (int)vlen, val);
    int n = 0;
    for (char *p = buf, *t; n < 4; p = t + 1) {
        f[n++] = p;
        if (!(t = strchr(p, '\t')))
            break;
        *t = 0;
    }
    return n;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s[0])
        return NULL;
    char *d = strdup(s);
    *oom |= !d;
    return d;
}

static int read_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    reading *r = ud;
    char buf[KEY_MAX], *f[4];
    size_t pl = r->groups ? strlen(PVM_RK_GROUP) : strlen(PVM_RK_USER);
    if (klen > pl && memcmp(key, r->groups ? PVM_RK_GROUP : PVM_RK_USER, pl) == 0) {
        provost_principal *p = PU_VEC_PUSH(r->principals);
        if (!p || !(p->name = strndup(val, vlen)))
            return r->oom = true;
        p->group = r->groups;
        p->related = NULL;
        p->nrelated = 0;
    } else if (klen > 7 && memcmp(key, PVM_RK_MEMBER, 7) == 0 && split(val, vlen, buf, sizeof buf, f) == 2) {
        for (int i = 0; i < 2; i++) {
            char **slot = PU_VEC_PUSH(r->pairs);
            if (!slot || !(*slot = strdup(f[i])))
                return r->oom = true;
        }
    } else if (klen > 4 && memcmp(key, PVM_RK_ACL, 4) == 0 && split(val, vlen, buf, sizeof buf, f) == 4) {
        r->enforced = true;
        if (r->ns && f[2][0] && !pu_strieq(f[2], r->ns))
            return 0;
        const char *right = memrchr(key, '/', klen) + 1;
        char rn[32];
        snprintf(rn, sizeof rn, "%.*s", (int)(klen - (size_t)(right - key)), right);
        provost_ace *a = PU_VEC_PUSH(r->aces);
        if (!a)
            return r->oom = true;
        *a = (provost_ace){.right = provost_right_parse(rn), .deny = f[0][0] == 'D'};
        a->principal = strdup(f[1]);
        a->ns = dup_or_null(f[2], &r->oom);
        a->proc = dup_or_null(f[3], &r->oom);
        r->oom |= !a->principal;
    } else if (klen > 10 && memcmp(key, PVM_RK_PROC, 10) == 0 && split(val, vlen, buf, sizeof buf, f) == 4) {
        if (r->ns && !pu_strieq(f[1], r->ns))
            return 0;
        provost_proc_setting *p = PU_VEC_PUSH(r->procs);
        if (!p)
            return r->oom = true;
        *p = (provost_proc_setting){.inherit = f[0][0] != '0'};
        p->ns = strdup(f[1]);
        p->proc = strdup(f[2]);
        p->execute_as = dup_or_null(f[3], &r->oom);
        r->oom |= !p->ns || !p->proc;
    }
    return r->oom;
}

/* Frees what the caller did not take (provost_principal_list takes the principals,
 * provost_acl_get the entries and settings, and leaves them empty). */
static void reading_free(reading *r)
{
    for (size_t i = 0; i < r->pairs.n; i++)
        free(r->pairs.v[i]);
    PU_VEC_FREE(r->pairs);
    provost_acl rest = {r->aces.v, r->aces.n, r->procs.v, r->procs.n, 0};
    provost_acl_free(&rest);
}

static int read_all(provost_engine *e, reading *r, provost_error *err)
{
    char why[512] = "";
    if (pvm_db_each(e->db, PVM_CF_CONFIG, read_one, r, why, sizeof why) < 0 && !r->oom)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return r->oom ? pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory") : 0;
}

int provost_principal_list(provost_engine *e, int groups, provost_principal **out, size_t *n, provost_error *err)
{
    reading r = {.groups = groups != 0};
    *out = NULL;
    *n = 0;
    int rc = read_all(e, &r, err);
    for (size_t i = 0; rc == 0 && i < r.principals.n; i++) {
        provost_principal *p = &r.principals.v[i];
        size_t cap = 0;
        for (size_t j = 0; j + 1 < r.pairs.n; j += 2) {
            const char *self = r.pairs.v[j + (groups ? 1 : 0)], *other = r.pairs.v[j + (groups ? 0 : 1)];
            if (!pu_strieq(self, p->name))
                continue;
            if (PU_GROW(p->related, cap, p->nrelated + 1) != 0 || !(p->related[p->nrelated] = strdup(other))) {
                rc = pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
                break;
            }
            p->nrelated++;
        }
    }
    reading_free(&r);
    if (rc != 0) {
        provost_principal_list_free(r.principals.v, r.principals.n);
        return -1;
    }
    *out = r.principals.v;
    *n = r.principals.n;
    return 0;
}

void provost_principal_list_free(provost_principal *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i].nrelated; j++)
            free(v[i].related[j]);
        free(v[i].related);
        free(v[i].name);
    }
    free(v);
}

int provost_acl_get(provost_engine *e, const char *ns, provost_acl *out, provost_error *err)
{
    reading r = {.ns = ns, .groups = -1};
    memset(out, 0, sizeof *out);
    int rc = read_all(e, &r, err);
    provost_principal_list_free(r.principals.v, r.principals.n);
    out->entries = r.aces.v;
    out->nentries = r.aces.n;
    out->procs = r.procs.v;
    out->nprocs = r.procs.n;
    out->enforced = r.enforced;
    r.aces.v = NULL;
    r.aces.n = 0;
    r.procs.v = NULL;
    r.procs.n = 0;
    reading_free(&r);
    if (rc != 0)
        provost_acl_free(out);
    return rc;
}

void provost_acl_free(provost_acl *a)
{
    for (size_t i = 0; i < a->nentries; i++) {
        free(a->entries[i].principal);
        free(a->entries[i].ns);
        free(a->entries[i].proc);
    }
    for (size_t i = 0; i < a->nprocs; i++) {
        free(a->procs[i].ns);
        free(a->procs[i].proc);
        free(a->procs[i].execute_as);
    }
    free(a->entries);
    free(a->procs);
    memset(a, 0, sizeof *a);
}
