/*
 * engine.c -- the engine: its database, the registered namespaces and the catalog that
 * links them, the providers it has loaded.  Registration is serialised by one lock and
 * publishes a new catalog; requests never wait for it.
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>

#include "provost/compiler.h"
#include "provost/rights.h"
#include "provost/jstore.h"
#include "provost/outcomes.h"
#include "util/str.h"
#include "util/vec.h"
#include "counters.h"
#include "db.h"
#include "journal.h"
#include "rights.h"
#include "vm.h"

/* The Error Provider namespace every new database holds (SPEC §7). */
static const char error_provider_ns[] =
    "<namespace name=\"Error Provider\" providerSource=\"error\" readOnly=\"1\" version=\"1\""
    " description=\"Raises and translates errors (MPF's Error Provider)\">"
    "<procedure name=\"SetError\" type=\"read\" access=\"public\" description=\"Raise executeData/hr with executeData/desc\"/>"
    "<procedure name=\"TranslateProvisioningError\" type=\"read\" access=\"public\""
    " description=\"Translate the error being handled with the errorMapFile lookup\"/>"
    "<procedure name=\"TranslateUserError\" type=\"read\" access=\"public\""
    " description=\"Translate the error given in executeData with the errorMapFile lookup\"/>"
    "</namespace>";

/* A stored namespace: this header, then the bundle. */
typedef struct ns_record {
    char magic[4]; /* "PVNS" */
    uint32_t format;
    uint64_t revision;
    uint32_t read_only;
    uint32_t pad;
} ns_record;

/* The database key of a namespace: its whole name without case (malloc'd, NULL when out
 * of memory).  Never cut short: two names sharing a prefix must not share a key. */
static char *lower_key(const char *name)
{
    size_t n = strlen(name);
    char *key = malloc(n + 1);
    for (size_t i = 0; key && i <= n; i++)
        key[i] = (char)pu_lower((unsigned char)name[i]);
    return key;
}

/* ---- namespaces ----------------------------------------------------------------------- */

static pvm_ns *load_record(provost_engine *e, const char *val, size_t len, char *why, size_t whylen)
{
    if (len < sizeof(ns_record) || memcmp(val, "PVNS", 4) != 0) {
        snprintf(why, whylen, "the stored record is not a namespace");
        return NULL;
    }
    ns_record h;
    memcpy(&h, val, sizeof h);
    if (h.format != 1) {
        snprintf(why, whylen, "the stored record has format %u", h.format);
        return NULL;
    }
    pvm_bundle *b = pvm_bundle_load(val + sizeof h, len - sizeof h, 1, why, whylen);
    if (!b)
        return NULL;
    pvm_ns *ns = pvm_ns_prepare(e, b, why, whylen);
    if (ns)
        ns->revision = h.revision;
    return ns;
}

typedef struct loading {
    provost_engine *e;
    pvm_ns **v;
    size_t n, cap;
    char why[600];
} loading;

static int load_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    loading *l = ud;
    char why[512];
    pvm_ns *ns = load_record(l->e, val, vlen, why, sizeof why);
    if (!ns) {
        snprintf(l->why, sizeof l->why, "namespace '%.*s': %s", (int)(klen > 200 ? 200 : klen), key, why);
        return 1;
    }
    if (PU_GROW(l->v, l->cap, l->n + 1) != 0) {
        pvm_ns_put(ns);
        snprintf(l->why, sizeof l->why, "out of memory");
        return 1;
    }
    l->v[l->n++] = ns;
    return 0;
}

/* Publish a catalog made of ns (n of them); takes no references away from the caller. */
static int publish(provost_engine *e, pvm_ns **ns, size_t n)
{
    pvm_catalog *c = pvm_catalog_build(ns, n);
    if (!c)
        return -1;
    pthread_mutex_lock(&e->catalog_lock);
    pvm_catalog *old = e->catalog;
    e->catalog = c;
    pthread_mutex_unlock(&e->catalog_lock);
    pvm_rcache_unlink(e->rcache);
    pvm_catalog_put(old);
    return 0;
}

static int compile_or_load(provost_engine *e, const char *filename, const void *buf, size_t len,
                           pvm_bundle **out, provost_error *err)
{
    char why[512];
    if (provost_is_bundle(buf, len)) {
        *out = pvm_bundle_load(buf, len, 1, why, sizeof why);
        return *out ? 0 : pvm_api_fail(err, PROVOST_E_INVALIDARG, "%s: %s", filename, why);
    }
    provost_compiled c;
    if (provost_compile(filename, buf, len, &c) != 0) {
        size_t k = 0;
        err->code = PROVOST_E_INVALIDARG;
        err->message[0] = 0;
        for (size_t i = 0; i < c.ndiags && k + 1 < sizeof err->message; i++)
            if (c.diags[i].severity == PROVOST_ERROR)
                k += (size_t)snprintf(err->message + k, sizeof err->message - k, "%s%s:%u:%u: error: %s",
                                      k ? "\n" : "", filename, c.diags[i].line, c.diags[i].col, c.diags[i].message);
        if (!k)
            snprintf(err->message, sizeof err->message, "%s: does not compile", filename);
        provost_compiled_free(&c);
        return -1;
    }
    *out = pvm_bundle_load(c.bundle, c.size, 1, why, sizeof why);
    provost_compiled_free(&c);
    return *out ? 0 : pvm_api_fail(err, PROVOST_E_INVALIDARG, "%s: %s", filename, why);
    (void)e;
}

static void fill_info(const pvm_ns *ns, provost_ns_info *info)
{
    const pvm_bundle *b = ns->bundle;
    const char *v = pvm_bundle_str(b, b->ns->version), *p = pvm_bundle_str(b, b->ns->provider),
               *d = pvm_bundle_str(b, b->ns->description);
    *info = (provost_ns_info){.name = strdup(ns->name), .version = v ? strdup(v) : NULL,
                              .provider = p ? strdup(p) : NULL, .description = d ? strdup(d) : NULL,
                              .revision = ns->revision, .procedures = (unsigned)b->nprocs,
                              .read_only = b->ns->read_only};
}

/* Store and publish a prepared namespace (replacing one of the same name). */
static int install(provost_engine *e, pvm_ns *ns, bool force, provost_ns_info *info, provost_error *err)
{
    if (strlen(ns->name) > PROVOST_MAX_NAME) /* a bundle this compiler would not write */
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "the namespace name is %zu characters long: at most %d are allowed",
                    strlen(ns->name), PROVOST_MAX_NAME);
    pthread_mutex_lock(&e->lock);
    pvm_catalog *cat = e->catalog;
    size_t at = 0;
    pvm_ns *old = pvm_catalog_find(cat, ns->name, &at);
    if (old && old->bundle->ns->read_only && !force) {
        pthread_mutex_unlock(&e->lock);
        return pvm_api_fail(err, PROVOST_E_READONLY, "namespace '%s' is read-only: it cannot be replaced", old->name);
    }
    ns->revision = old ? old->revision + 1 : 1;
    size_t blen = ns->bundle->size;
    char *rec = malloc(sizeof(ns_record) + blen);
    if (!rec) {
        pthread_mutex_unlock(&e->lock);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    ns_record h = {.magic = {'P', 'V', 'N', 'S'}, .format = 1, .revision = ns->revision,
                   .read_only = ns->bundle->ns->read_only};
    memcpy(rec, &h, sizeof h);
    memcpy(rec + sizeof h, ns->bundle->base, blen);
    char why[512];
    char *key = lower_key(ns->name);
    int rc = key ? pvm_db_put(e->db, PVM_CF_NAMESPACES, key, strlen(key), rec, sizeof h + blen, why, sizeof why)
                 : (snprintf(why, sizeof why, "out of memory"), -1);
    free(key);
    free(rec);
    if (rc != 0) {
        pthread_mutex_unlock(&e->lock);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    }
    pvm_ns **v = malloc((cat->nns + 1) * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&e->lock);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory (the namespace is stored; reopen to use it)");
    }
    size_t n = 0;
    for (size_t i = 0; i < cat->nns; i++)
        if (cat->ns[i] != old)
            v[n++] = cat->ns[i];
    v[n++] = ns;
    rc = publish(e, v, n);
    free(v);
    pthread_mutex_unlock(&e->lock);
    if (rc != 0)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory (the namespace is stored; reopen to use it)");
    if (info)
        fill_info(ns, info);
    return 0;
}

int provost_register_as(provost_engine *e, const char *principal, const char *expect, const char *filename,
                        const void *buf, size_t len, provost_ns_info *info, provost_error *err)
{
    if (info)
        memset(info, 0, sizeof *info);
    if (pvm_rights_admin_as(e, principal, "register", err) != 0)
        return -1;
    pvm_bundle *b;
    if (compile_or_load(e, filename ? filename : "namespace", buf, len, &b, err) != 0)
        return -1;
    if (b->ns->kind != PROVOST_BUNDLE_NAMESPACE) {
        pvm_bundle_close(b);
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "%s holds a request, not a namespace: run it with provost run",
                    filename ? filename : "the input");
    }
    const char *name = pvm_bundle_str(b, b->ns->name);
    if (expect && (!name || !pu_strieq(name, expect))) {
        if (info)
            info->name = name ? strdup(name) : NULL;
        pvm_api_fail(err, PROVOST_E_INVALIDARG, "%s holds namespace '%s', not '%s'", filename ? filename : "the input",
                     name ? name : "", expect);
        pvm_bundle_close(b);
        return -1;
    }
    char why[512];
    pvm_ns *ns = pvm_ns_prepare(e, b, why, sizeof why);
    if (!ns)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "%s", why);
    int rc = install(e, ns, false, info, err);
    pvm_ns_put(ns);
    return rc;
}

int provost_register(provost_engine *e, const char *filename, const void *buf, size_t len, provost_ns_info *info,
                     provost_error *err)
{
    return provost_register_as(e, NULL, NULL, filename, buf, len, info, err);
}

int provost_unregister_as(provost_engine *e, const char *principal, const char *name, provost_error *err)
{
    if (pvm_rights_admin_as(e, principal, "unregister", err) != 0)
        return -1;
    pthread_mutex_lock(&e->lock);
    pvm_catalog *cat = e->catalog;
    pvm_ns *old = pvm_catalog_find(cat, name, NULL);
    int rc = 0;
    if (!old) {
        rc = pvm_api_fail(err, PROVOST_E_NOTFOUND, "no namespace '%s' is registered", name);
    } else if (old->bundle->ns->read_only) {
        rc = pvm_api_fail(err, PROVOST_E_READONLY, "namespace '%s' is read-only: it cannot be removed", old->name);
    } else {
        char why[512];
        char *key = lower_key(old->name);
        int drc = key ? pvm_db_delete(e->db, PVM_CF_NAMESPACES, key, strlen(key), why, sizeof why)
                      : (snprintf(why, sizeof why, "out of memory"), -1);
        free(key);
        if (drc != 0) {
            rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
        } else {
            pvm_ns **v = malloc((cat->nns ? cat->nns : 1) * sizeof *v);
            size_t n = 0;
            for (size_t i = 0; v && i < cat->nns; i++)
                if (cat->ns[i] != old)
                    v[n++] = cat->ns[i];
            if (!v || publish(e, v, n) != 0)
                rc = pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory (the namespace is removed; reopen)");
            free(v);
        }
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int provost_unregister(provost_engine *e, const char *name, provost_error *err)
{
    return provost_unregister_as(e, NULL, name, err);
}

int provost_list(provost_engine *e, provost_ns_info **out, size_t *n, provost_error *err)
{
    pvm_catalog *c = pvm_catalog_get(e);
    *out = calloc(c->nns ? c->nns : 1, sizeof **out);
    if (!*out) {
        pvm_catalog_put(c);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    for (size_t i = 0; i < c->nns; i++)
        fill_info(c->ns[i], &(*out)[i]);
    *n = c->nns;
    pvm_catalog_put(c);
    return 0;
}

int provost_list_procedures(provost_engine *e, const char *name, provost_proc_info **out, size_t *n,
                            provost_error *err)
{
    pvm_catalog *c = pvm_catalog_get(e);
    pvm_ns *ns = pvm_catalog_find(c, name, NULL);
    if (!ns) {
        pvm_catalog_put(c);
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "no namespace '%s' is registered", name);
    }
    const pvm_bundle *b = ns->bundle;
    *out = calloc(b->nprocs ? b->nprocs : 1, sizeof **out);
    if (!*out) {
        pvm_catalog_put(c);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    for (size_t i = 0; i < b->nprocs; i++) {
        const provost_proc *p = &b->procs_v[i];
        const char *d = pvm_bundle_str(b, p->description);
        (*out)[i] = (provost_proc_info){.name = strdup(pvm_bundle_str(b, p->name)),
                                        .description = d ? strdup(d) : NULL, .type = p->type,
                                        .access = p->access, .flags = p->flags};
    }
    *n = b->nprocs;
    pvm_catalog_put(c);
    return 0;
}

int provost_export(provost_engine *e, const char *name, char **xml, size_t *len, provost_error *err)
{
    pvm_catalog *c = pvm_catalog_get(e);
    pvm_ns *ns = pvm_catalog_find(c, name, NULL);
    if (!ns) {
        pvm_catalog_put(c);
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "no namespace '%s' is registered", name);
    }
    const char *src = pvm_bundle_str(ns->bundle, ns->bundle->ns->source);
    *len = src ? strlen(src) : 0;
    *xml = malloc(*len + 1);
    if (*xml)
        memcpy(*xml, src ? src : "", *len + 1);
    pvm_catalog_put(c);
    return *xml ? 0 : pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
}

void provost_ns_info_free(provost_ns_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].version);
        free(v[i].provider);
        free(v[i].description);
    }
    free(v);
}

void provost_proc_info_free(provost_proc_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].description);
    }
    free(v);
}

int provost_stats(provost_engine *e, provost_proc_stats **out, size_t *n, provost_error *err)
{
    return pvm_counters_read(e->counters, out, n) == 0 ? 0 : pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
}

int provost_recent_failures(provost_engine *e, provost_failure_event **out, size_t *n, provost_error *err)
{
    return pvm_counters_recent(e->counters, out, n) == 0 ? 0
                                                         : pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
}

uint64_t provost_journal_syncs(provost_engine *e)
{
    return pvm_journal_syncs(e->journal);
}

uint64_t provost_journal_writes(provost_engine *e)
{
    return pvm_journal_writes(e->journal);
}

void provost_stats_free(provost_proc_stats *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].ns);
        free(v[i].proc);
    }
    free(v);
}

/* ---- open and close ------------------------------------------------------------------ */

/* After a salvage the journal may lack records (a lost INTENT is a step that ran, a lost
 * end a transaction that finished), so nothing in it is finished automatically: every
 * transaction waits, stuck, for the operator's decision. */
static int park_all(provost_engine *e, char *why, size_t whylen)
{
    pvm_jview *v;
    size_t n;
    if (pvm_journal_scan(e->journal, &v, &n, why, whylen) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (v[i].stuck)
            continue;
        pvm_jtxn t;
        pvm_journal_resume(&v[i], &t);
        /* a keyed submission is finished (stuck) with it, never submitted again */
        char outcome[80];
        snprintf(outcome, sizeof outcome, "stuck 0x%08X %s", PROVOST_E_ABORTED, v[i].txid);
        rc = pvm_journal_stuck(e->journal, &t,
                               "salvaged from a damaged journal: records of it may be lost; check its steps by hand, "
                               "then provost txn resolve",
                               outcome, why, whylen);
        OPENSSL_cleanse(t.key, sizeof t.key);
    }
    pvm_journal_views_free(v, n);
    return rc;
}

int provost_journal_attach(provost_engine *e, const provost_jstore *s, provost_error *err)
{
    if (!e->journal)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "a read-only engine has no journal");
    if (!s) {
        pvm_journal_attach(e->journal, NULL);
        return 0;
    }
    pvm_jview *v;
    size_t n;
    char why[300];
    if (pvm_journal_scan(e->journal, &v, &n, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    pvm_journal_views_free(v, n);
    /* what the old journal holds would be finished by nobody */
    if (n)
        return pvm_api_fail(err, PROVOST_E_JOURNAL,
                            "the journal of %s holds %zu unfinished transaction%s: run provost recover there first",
                            pvm_db_path(e->db), n, n == 1 ? "" : "s");
    pvm_journal_attach(e->journal, s);
    return 0;
}

/* Loads the registered namespaces; on failure closes e. */
static int load_namespaces(provost_engine *e, provost_error *err)
{
    char why[600];
    loading l = {.e = e};
    int rc = pvm_db_each(e->db, PVM_CF_NAMESPACES, load_one, &l, why, sizeof why);
    if (rc == 0 && publish(e, l.v, l.n) != 0) {
        rc = -1;
        snprintf(l.why, sizeof l.why, "out of memory");
    }
    for (size_t i = 0; i < l.n; i++)
        pvm_ns_put(l.v[i]);
    free(l.v);
    if (rc != 0) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "cannot load the database: %s", rc < 0 && !l.why[0] ? why : l.why);
    }
    return 0;
}

int provost_open(const provost_options *opts, provost_engine **out, provost_error *err)
{
    *out = NULL;
    if (err)
        memset(err, 0, sizeof *err);
    if (!opts || !opts->db_path || !*opts->db_path)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "no database directory given");
    provost_compiler_init();
    provost_engine *e = calloc(1, sizeof *e);
    if (!e)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->plock, NULL);
    pthread_mutex_init(&e->catalog_lock, NULL);
    e->counters = pvm_counters_new();
    e->rcache = pvm_rcache_new();
    if (opts->error_map_file)
        e->error_map_file = strdup(opts->error_map_file);
    e->validate = opts->validate != 0;
    e->step_budget = opts->step_budget ? opts->step_budget : PROVOST_DEFAULT_STEP_BUDGET;
    const char *caller = opts->caller;
    struct passwd *pw = caller ? NULL : getpwuid(geteuid());
    e->caller = strdup(caller ? caller : pw && pw->pw_name ? pw->pw_name : "unknown");
    e->catalog = pvm_catalog_build(NULL, 0);
    if (!e->counters || !e->rcache || !e->caller || !e->catalog) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    bool created = false;
    char why[600];
    e->db = opts->read_only ? pvm_db_open_read_only(opts->db_path, why, sizeof why)
                            : pvm_db_open_ex(opts->db_path, opts->salvage != 0, &created, why, sizeof why);
    if (!e->db) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot open the database: %s", why);
    }
    if (opts->read_only) { /* for looking only: no journal (its key), no recovery, no writes */
        if (load_namespaces(e, err) != 0)
            return -1;
        /* the principals and rights too, so that a look can tell who is an administrator */
        if (!(e->rights = pvm_rights_open(e, why, sizeof why))) {
            provost_close(e);
            return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot open the database: %s", why);
        }
        if (opts->act_as && provost_act_as(e, opts->act_as, err) != 0) {
            provost_close(e);
            return -1;
        }
        *out = e;
        return 0;
    }
    /* this process holds the database now: its counters file is ours to write */
    if (pvm_counters_set_dir(e->counters, opts->db_path) != 0) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    e->journal = pvm_journal_open(e->db, opts->sync, why, sizeof why);
    if (!e->journal) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot open the journal: %s", why);
    }
    pvm_journal_publish(e->journal, e->counters);
    if (pvm_audit_open(e, opts->audit_level, why, sizeof why) != 0) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "cannot open the database: %s", why);
    }
    if (load_namespaces(e, err) != 0)
        return -1;
    if (!pvm_catalog_find(e->catalog, "Error Provider", NULL)) {
        pvm_bundle *b;
        provost_error ignored;
        pvm_ns *ns = NULL;
        if (compile_or_load(e, "Error Provider", error_provider_ns, sizeof error_provider_ns - 1, &b, &ignored) == 0)
            ns = pvm_ns_prepare(e, b, why, sizeof why);
        if (!ns || install(e, ns, true, NULL, err) != 0) {
            pvm_ns_put(ns);
            provost_close(e);
            return err && err->code ? -1 : pvm_api_fail(err, PROVOST_E_INVALIDARG, "cannot register the Error Provider namespace");
        }
        pvm_ns_put(ns);
    }
    if (!(e->rights = pvm_rights_open(e, why, sizeof why))) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot open the database: %s", why);
    }
    if (opts->act_as && provost_act_as(e, opts->act_as, err) != 0) {
        provost_close(e);
        return -1;
    }
    if (opts->salvage) {
        if (park_all(e, why, sizeof why) != 0) {
            provost_close(e);
            return pvm_api_fail(err, PROVOST_E_JOURNAL, "salvage failed: %s", why);
        }
        *out = e;
        return 0;
    }
    /* finish what a crash left unfinished before anything new starts */
    pvm_recovery rec;
    if (pvm_recover(e, NULL, &rec, why, sizeof why) != 0) {
        provost_close(e);
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "recovery failed: %s", why);
    }
    /* then forget the batches older than the outcome retention (docs/operations.md) */
    uint64_t expired, forgotten;
    provost_error ignored;
    provost_outcomes_expire(e, (int64_t)time(NULL), &expired, &forgotten, &ignored);
    *out = e;
    return 0;
}

const char *provost_warning(provost_engine *e)
{
    return e->journal ? pvm_journal_warning(e->journal) : NULL; /* read-only: no journal opened */
}

int provost_check(provost_engine *e, provost_error *err)
{
    char why[4300];
    if (pvm_db_check(e->db, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return 0;
}

void provost_close(provost_engine *e)
{
    if (!e)
        return;
    pvm_catalog_put(e->catalog);
    pvm_rcache_free(e->rcache);
    pvm_rights_close(e->rights);
    pvm_providers_free(e);
    pvm_journal_close(e->journal);
    pvm_db_close(e->db);
    pvm_counters_free(e->counters);
    free(e->error_map_file);
    free(e->caller);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->plock);
    pthread_mutex_destroy(&e->catalog_lock);
    free(e);
}
