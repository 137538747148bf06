/*
 * rights.c -- deciding who may do what (SPEC §8).  The engine keeps one immutable snapshot
 * of the database's users, memberships, entries and procedure settings, read again after
 * every change; requests take a reference, so deciding never reads the database and a
 * grant never changes a request already running.
 *
 * The rule: an entry applies to a principal when it names it or a group it belongs to;
 * on a procedure, its own entries apply, and the namespace's and the global ones too unless
 * it is set not to inherit.  A deny that applies refuses, whatever allows; else an allow
 * that applies, or being an administrator, permits.  The Unix owner of the database
 * directory is always an administrator.  Until the first entry exists nothing is enforced.
 */
#define _GNU_SOURCE /* memrchr */
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "provost/rights.h"
#include "util/str.h"
#include "util/vec.h"
#include "credential.h"
#include "db.h"
#include "rights.h"
#include "vm.h"

typedef struct rs_ace {
    char *who, *ns, *proc; /* as written; ns and proc "" when not set */
    int right;
    bool deny;
} rs_ace;

typedef struct rs_member {
    char *user, *group;
} rs_member;

typedef struct rs_proc {
    char *ns, *proc;
    bool inherit;
    char *cred;      /* "execute as" credential, or NULL */
    char *cred_user; /* its user, or NULL when it cannot be read */
} rs_proc;

struct pvm_rights {
    atomic_int refs;
    bool enforced; /* some entry exists */
    PU_VEC(rs_ace) aces;
    PU_VEC(rs_member) members;
    PU_VEC(rs_proc) procs;
    PU_VEC(char *) users;
};

struct pvm_rightsbox {
    pthread_mutex_t lock;   /* the current snapshot */
    pthread_mutex_t change; /* one change at a time */
    pvm_rights *cur;        /* NULL when the database holds nothing */
    char *owner;            /* the Unix owner of the database directory, or NULL */
};

static const char *const right_names[PROVOST_RIGHT__COUNT] = {"execute", "executePrivate", "trusted",
                                                               "callerCredentials", "admin"};

const char *provost_right_name(int right)
{
    return right >= 0 && right < PROVOST_RIGHT__COUNT ? right_names[right] : NULL;
}

int provost_right_parse(const char *name)
{
    for (int i = 0; name && i < PROVOST_RIGHT__COUNT; i++)
        if (pu_strieq(name, right_names[i]))
            return i;
    return -1;
}

/* ---- the snapshot --------------------------------------------------------------------- */

static void snapshot_free(pvm_rights *s)
{
    for (size_t i = 0; i < s->aces.n; i++) {
        free(s->aces.v[i].who);
        free(s->aces.v[i].ns);
        free(s->aces.v[i].proc);
    }
    for (size_t i = 0; i < s->members.n; i++) {
        free(s->members.v[i].user);
        free(s->members.v[i].group);
    }
    for (size_t i = 0; i < s->procs.n; i++) {
        free(s->procs.v[i].ns);
        free(s->procs.v[i].proc);
        free(s->procs.v[i].cred);
        free(s->procs.v[i].cred_user);
    }
    for (size_t i = 0; i < s->users.n; i++)
        free(s->users.v[i]);
    PU_VEC_FREE(s->aces);
    PU_VEC_FREE(s->members);
    PU_VEC_FREE(s->procs);
    PU_VEC_FREE(s->users);
    free(s);
}

void pvm_rights_put(pvm_rights *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

/* Splits a record's value at tabs into at most n fields (malloc'd); -1 when out of memory
 * or when it has fewer fields. */
static int fields(const char *val, size_t vlen, char **out, int n)
{
    const char *p = val, *end = val + vlen;
    for (int i = 0; i < n; i++) {
        const char *t = i + 1 < n ? memchr(p, '\t', (size_t)(end - p)) : NULL;
        const char *stop = t ? t : end;
        if (i + 1 < n && !t) {
            while (i-- > 0)
                free(out[i]);
            return -1;
        }
        out[i] = strndup(p, (size_t)(stop - p));
        if (!out[i]) {
            while (i-- > 0)
                free(out[i]);
            return -1;
        }
        p = stop + 1;
    }
    return 0;
}

typedef struct loading {
    provost_engine *e;
    pvm_rights *s;
    bool bad;
} loading;

static bool has_prefix(const char *key, size_t klen, const char *prefix)
{
    size_t n = strlen(prefix);
    return klen > n && memcmp(key, prefix, n) == 0;
}

static int load_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    loading *l = ud;
    pvm_rights *s = l->s;
    char *f[4];
    if (has_prefix(key, klen, PVM_RK_USER)) {
        char **u = PU_VEC_PUSH(s->users);
        if (!u || !(*u = strndup(val, vlen)))
            return l->bad = true;
    } else if (has_prefix(key, klen, PVM_RK_MEMBER)) {
        rs_member *m = PU_VEC_PUSH(s->members);
        if (!m || fields(val, vlen, f, 2) != 0)
            return l->bad = true;
        *m = (rs_member){f[0], f[1]};
    } else if (has_prefix(key, klen, PVM_RK_ACL)) {
        const char *r = memrchr(key, '/', klen);
        char right[32];
        snprintf(right, sizeof right, "%.*s", (int)(klen - (size_t)(r + 1 - key)), r + 1);
        rs_ace *a = PU_VEC_PUSH(s->aces);
        if (!a || fields(val, vlen, f, 4) != 0)
            return l->bad = true;
        *a = (rs_ace){.who = f[1], .ns = f[2], .proc = f[3], .right = provost_right_parse(right), .deny = f[0][0] == 'D'};
        free(f[0]);
        s->enforced = true;
    } else if (has_prefix(key, klen, PVM_RK_PROC)) {
        rs_proc *p = PU_VEC_PUSH(s->procs);
        if (!p || fields(val, vlen, f, 4) != 0)
            return l->bad = true;
        *p = (rs_proc){.ns = f[1], .proc = f[2], .inherit = f[0][0] != '0'};
        free(f[0]);
        if (f[3][0]) {
            p->cred = f[3];
            pvm_credential_user(l->e->db, p->cred, &p->cred_user);
        } else {
            free(f[3]);
        }
    }
    return 0;
}

static int load(provost_engine *e, pvm_rights **out, char *why, size_t whylen)
{
    pvm_rights *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    atomic_init(&s->refs, 1);
    loading l = {.e = e, .s = s};
    if (pvm_db_each(e->db, PVM_CF_CONFIG, load_one, &l, why, whylen) < 0 || l.bad) {
        if (l.bad)
            snprintf(why, whylen, "cannot read the principals and rights: out of memory");
        snapshot_free(s);
        return -1;
    }
    if (!s->aces.n && !s->procs.n && !s->users.n) {
        snapshot_free(s);
        s = NULL;
    }
    *out = s;
    return 0;
}

pvm_rightsbox *pvm_rights_open(provost_engine *e, char *why, size_t whylen)
{
    pvm_rightsbox *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&b->lock, NULL);
    pthread_mutex_init(&b->change, NULL);
    struct stat st;
    if (stat(pvm_db_path(e->db), &st) == 0) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &res) == 0 && res)
            b->owner = strdup(res->pw_name);
    }
    if (load(e, &b->cur, why, whylen) != 0) {
        pvm_rights_close(b);
        return NULL;
    }
    return b;
}

void pvm_rights_close(pvm_rightsbox *b)
{
    if (!b)
        return;
    pvm_rights_put(b->cur);
    free(b->owner);
    pthread_mutex_destroy(&b->lock);
    pthread_mutex_destroy(&b->change);
    free(b);
}

int pvm_rights_reload(provost_engine *e, provost_error *err)
{
    pvm_rights *s;
    char why[600];
    if (load(e, &s, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    pthread_mutex_lock(&e->rights->lock);
    pvm_rights *old = e->rights->cur;
    e->rights->cur = s;
    pthread_mutex_unlock(&e->rights->lock);
    pvm_rights_put(old);
    return 0;
}

pvm_rights *pvm_rights_get(provost_engine *e)
{
    pthread_mutex_lock(&e->rights->lock);
    pvm_rights *s = e->rights->cur;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&e->rights->lock);
    return s;
}

void pvm_rights_lock(provost_engine *e)
{
    pthread_mutex_lock(&e->rights->change);
}

void pvm_rights_unlock(provost_engine *e)
{
    pthread_mutex_unlock(&e->rights->change);
}

/* ---- deciding ------------------------------------------------------------------------- */

/* Does entry name WHO apply to principal P: P itself, or a group P belongs to? */
static bool applies(const pvm_rights *s, const char *p, const char *who)
{
    if (pu_strieq(p, who))
        return true;
    for (size_t i = 0; i < s->members.n; i++)
        if (pu_strieq(s->members.v[i].user, p) && pu_strieq(s->members.v[i].group, who))
            return true;
    return false;
}

static const rs_proc *find_proc(const pvm_rights *s, const char *ns, const char *proc)
{
    for (size_t i = 0; ns && proc && i < s->procs.n; i++)
        if (pu_strieq(s->procs.v[i].ns, ns) && pu_strieq(s->procs.v[i].proc, proc))
            return &s->procs.v[i];
    return NULL;
}

enum { ALLOWED = 0, NOT_GRANTED = 1, DENIED = 2 };

static bool known_user(const pvm_rights *s, const char *name)
{
    for (size_t i = 0; s && i < s->users.n; i++)
        if (pu_strieq(s->users.v[i], name))
            return true;
    return false;
}

/* RIGHT for principal P on procedure PROC of NS (either NULL for a global right). */
static int decide(const pvm_rights *s, const char *p, bool admin, int right, const char *ns, const char *proc)
{
    const rs_proc *ps = find_proc(s, ns, proc);
    bool inherit = !ps || ps->inherit, allow = false;
    for (size_t i = 0; i < s->aces.n; i++) {
        const rs_ace *a = &s->aces.v[i];
        if (a->right != right)
            continue;
        if (a->proc[0]) {
            if (!proc || !pu_strieq(a->ns, ns) || !pu_strieq(a->proc, proc))
                continue;
        } else if (a->ns[0]) {
            if (!inherit || !ns || !pu_strieq(a->ns, ns))
                continue;
        } else if (!inherit) {
            continue;
        }
        if (!applies(s, p, a->who))
            continue;
        if (a->deny)
            return DENIED;
        allow = true;
    }
    return allow || admin ? ALLOWED : NOT_GRANTED;
}

static bool is_admin(const pvm_rightsbox *b, const pvm_rights *s, const char *p)
{
    if (!s || !s->enforced || (b->owner && p && strcmp(b->owner, p) == 0))
        return true;
    return decide(s, p, false, PROVOST_RIGHT_ADMIN, NULL, NULL) == ALLOWED;
}

const char *provost_principal_name(provost_engine *e)
{
    return e->caller;
}

int provost_is_admin(provost_engine *e)
{
    pvm_rights *s = pvm_rights_get(e);
    bool admin = is_admin(e->rights, s, e->caller);
    pvm_rights_put(s);
    return admin;
}

int pvm_rights_admin(provost_engine *e, const char *what, provost_error *err)
{
    if (provost_is_admin(e))
        return 0;
    return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "access denied: principal '%s' lacks the right admin (%s)",
                        e->caller, what);
}

int pvm_rights_admin_as(provost_engine *e, const char *principal, const char *what, provost_error *err)
{
    if (!principal)
        return pvm_rights_admin(e, what, err);
    pvm_rights *s = pvm_rights_get(e);
    bool known = known_user(s, principal), admin = known && is_admin(e->rights, s, principal);
    pvm_rights_put(s);
    if (!known)
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "access denied: '%s' is not a user of this database",
                            principal);
    if (admin)
        return 0;
    return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "access denied: principal '%s' lacks the right admin (%s)",
                        principal, what);
}

/* The global RIGHT for P: ALLOWED, NOT_GRANTED or DENIED. */
static int global_right(provost_engine *e, const char *p, int right)
{
    pvm_rights *s = pvm_rights_get(e);
    int v = ALLOWED;
    if (s && s->enforced)
        v = right == PROVOST_RIGHT_ADMIN ? (is_admin(e->rights, s, p) ? ALLOWED : NOT_GRANTED)
                                         : decide(s, p, is_admin(e->rights, s, p), right, NULL, NULL);
    pvm_rights_put(s);
    return v;
}

int pvm_rights_need_as(provost_engine *e, const char *principal, int right, const char *what, provost_error *err)
{
    const char *p = principal ? principal : e->caller;
    int v = global_right(e, p, right);
    if (v == ALLOWED)
        return 0;
    return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "access denied: principal '%s' %s the right %s (%s)", p,
                        v == DENIED ? "is denied" : "lacks", right_names[right], what);
}

int pvm_rights_need(provost_engine *e, int right, const char *what, provost_error *err)
{
    return pvm_rights_need_as(e, NULL, right, what, err);
}

int provost_principal_has(provost_engine *e, const char *principal, int right)
{
    if (right < 0 || right >= PROVOST_RIGHT__COUNT)
        return 0;
    return global_right(e, principal ? principal : e->caller, right) == ALLOWED;
}

int provost_act_as(provost_engine *e, const char *name, provost_error *err)
{
    pvm_rights *s = pvm_rights_get(e);
    int rc = 0;
    if (!is_admin(e->rights, s, e->caller))
        rc = pvm_api_fail(err, PROVOST_E_ACCESSDENIED,
                          "access denied: principal '%s' lacks the right admin, which acting as '%s' needs", e->caller,
                          name ? name : "");
    else if (!name || !known_user(s, name))
        rc = pvm_api_fail(err, PROVOST_E_NOTFOUND, "unknown principal '%s' (provost user add %s)", name ? name : "",
                          name ? name : "NAME");
    pvm_rights_put(s);
    if (rc != 0)
        return rc;
    char *as = strdup(name);
    if (!as)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    free(e->caller);
    e->caller = as;
    return 0;
}

/* ---- requests ------------------------------------------------------------------------- */

static int refuse(pvm_req *r, int verdict, int right, const char *ns, const char *proc)
{
    const char *p = pvm_req_principal(r);
    if (!ns)
        return pvm_fail(r, PROVOST_E_ACCESSDENIED, "access denied: principal '%s' %s the right %s", p,
                        verdict == DENIED ? "is denied" : "lacks", right_names[right]);
    return pvm_fail(r, PROVOST_E_ACCESSDENIED, "access denied: principal '%s' %s the right %s on procedure %s/%s", p,
                    verdict == DENIED ? "is denied" : "lacks", right_names[right], ns, proc);
}

static int check(pvm_req *r, int right, const char *ns, const char *proc)
{
    int v = decide(r->rights, pvm_req_principal(r), r->admin, right, ns, proc);
    return v == ALLOWED ? 0 : refuse(r, v, right, ns, proc);
}

int pvm_rights_begin(pvm_req *r, bool simple, const pvm_ns *ns, uint32_t proc, bool basic)
{
    provost_engine *e = r->e;
    /* a principal given with the request (provost_submit_as) must be a user of the
     * database: a front end's mapping to a name nobody created is refused, not trusted */
    bool given = r->principal != NULL;
    if (!given)
        r->principal = e->caller;
    r->rights = pvm_rights_get(e);
    if (given && !known_user(r->rights, r->principal))
        return pvm_fail(r, PROVOST_E_ACCESSDENIED, "access denied: '%s' is not a user of this database",
                        r->principal);
    if (!r->rights || !r->rights->enforced)
        return 0;
    r->admin = is_admin(e->rights, r->rights, r->principal);
    if (!simple)
        return check(r, PROVOST_RIGHT_TRUSTED, NULL, NULL);
    const char *pname = pvm_bundle_str(ns->bundle, ns->bundle->procs_v[proc].name);
    if (check(r, PROVOST_RIGHT_EXECUTE, ns->name, pname) != 0)
        return -1;
    return basic ? check(r, PROVOST_RIGHT_CALLER_CREDENTIALS, NULL, NULL) : 0;
}

void pvm_rights_end(pvm_req *r)
{
    pvm_rights_put(r->rights);
    r->rights = NULL;
}

int pvm_rights_call(pvm_frame *f, const pvm_target *t)
{
    pvm_req *r = f->req;
    if (!r->rights || !r->rights->enforced)
        return 0;
    bool from_request = !f->ns->name;
    if (!from_request && pu_strieq(f->ns->name, t->ns->name))
        return 0; /* inside a namespace, its procedures call each other freely */
    const provost_proc *p = &t->ns->bundle->procs_v[t->proc];
    const char *pname = pvm_bundle_str(t->ns->bundle, p->name);
    if (check(r, PROVOST_RIGHT_EXECUTE, t->ns->name, pname) != 0)
        return -1;
    if (from_request && p->access != PROVOST_ACCESS_PUBLIC)
        return check(r, PROVOST_RIGHT_EXECUTE_PRIVATE, t->ns->name, pname);
    return 0;
}

const char *pvm_rights_execute_as(const pvm_frame *f, const char **credential)
{
    const pvm_rights *s = f->req->rights;
    *credential = NULL;
    if (!s || !s->procs.n || !f->ns->name)
        return NULL;
    const rs_proc *ps = find_proc(s, f->ns->name, pvm_bundle_str(f->b, f->proc->name));
    if (!ps || !ps->cred)
        return NULL;
    *credential = ps->cred;
    return ps->cred_user ? ps->cred_user : ps->cred;
}
