/*
 * vm.h -- what the VM's modules share: loaded namespaces, the linked catalog, a request
 * and its frames, errors, and provider calls.  Module prefix: pvm_.
 */
#ifndef PVM_VM_H
#define PVM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxslt/xsltInternals.h>

#include "provost/bytecode.h"
#include "provost/provider.h"
#include "provost/provost.h"
#include "audit.h"
#include "bundle.h"
#include "journal.h"

#define PVM_MAX_DEPTH 64 /* nested calls (SPEC §7) */

/* ---- providers ------------------------------------------------------------------------ */

typedef struct pvm_provider {
    char *name;                   /* providerSource as written */
    const provost_provider *desc; /* NULL when it could not be loaded */
    void *state;                  /* from init */
    void *dl;                     /* dlopen handle, or NULL for a built-in */
    bool builtin;                 /* the engine's own: reads its context, never changes it */
    char *load_error;             /* why it could not be loaded */
    struct pvm_provider *next;
} pvm_provider;

/* ---- namespaces and the catalog ---------------------------------------------------- */

typedef struct pvm_literal {
    uint32_t off;  /* string-pool offset */
    xmlDocPtr doc; /* parsed once; copied per use */
} pvm_literal;

/* A registered namespace (or a trusted request's procedure): the bundle and what was
 * prepared from it once -- stylesheets, XPath, literals -- shared by every thread. */
typedef struct pvm_ns {
    atomic_int refs;
    char *name; /* NULL for a request's procedure */
    uint64_t revision;
    pvm_bundle *bundle;
    xsltStylesheetPtr *xsl;     /* per stylesheet of the bundle */
    struct pvm_xslpool *xslpool; /* idle transform contexts, per stylesheet (xslctx.c) */
    xmlXPathCompExprPtr *xpath; /* per path; NULL for simple paths */
    pvm_literal *lits;          /* sorted by off */
    size_t nlits;
    pvm_provider *provider;     /* NULL if the namespace names none */
    uint32_t *by_name;          /* procedure indexes sorted by name without case */
    struct _xmlSchema **schemas; /* per procedure: [2i] input, [2i+1] output XSD, or NULL */
    uint32_t counter_base;      /* counter id of procedure 0 */
} pvm_ns;

/* Where a call goes, resolved when the catalog is built: never looked up per call. */
typedef struct pvm_target {
    pvm_ns *ns;   /* NULL: no such namespace or procedure */
    uint32_t proc;
    const struct pvm_target *links; /* the target namespace's own links */
} pvm_target;

/* An immutable view of the registered namespaces with every call linked.  Requests take
 * a reference for their whole run, so re-registering never changes a running request. */
typedef struct pvm_catalog {
    atomic_int refs;
    size_t nns;
    pvm_ns **ns;         /* sorted by name, without case */
    pvm_target **links;  /* links[i][call] for ns[i] */
} pvm_catalog;

/* ---- the engine ----------------------------------------------------------------------- */

struct provost_engine {
    struct pvm_db *db;
    struct pvm_rcache *rcache; /* compiled request procedures */
    pthread_mutex_t lock;     /* registration */
    pthread_mutex_t plock;    /* provider loading */
    pvm_catalog *catalog;     /* guarded by catalog_lock for get+ref */
    pthread_mutex_t catalog_lock;
    pvm_provider *providers;
    char *error_map_file;
    char *caller;
    bool validate;            /* check executeData against procedures' XSD Schemas */
    uint64_t step_budget;     /* instructions one request may run */
    atomic_uint next_counter;
    struct pvm_counters *counters;
    struct pvm_journal *journal;
    struct pvm_rightsbox *rights; /* principals and rights (rights.c) */
    atomic_int audit_level;   /* provost_audit_level in force (vm/audit.c) */
    int audit_forced;         /* the level the engine was opened with, or 0 */
};

/* ---- errors --------------------------------------------------------------------------- */

typedef struct pvm_source {
    char *ns, *proc;
} pvm_source;

typedef struct pvm_error {
    uint32_t code;
    char *description;
    xmlDocPtr detail;  /* errorDescription content (root element), or NULL */
    pvm_source *stack; /* innermost first */
    size_t nstack, capstack;
    uint32_t seqno;    /* executeSeqNo */
    bool fatal;        /* not catchable (journal failures, resource exhaustion) */
} pvm_error;

void pvm_error_clear(pvm_error *e);
void pvm_error_move(pvm_error *to, pvm_error *from);
/* A failure of the public API: fills ERR (when not NULL) with CODE and the message, and
 * returns -1, so that `return pvm_api_fail(err, …);` ends a provost_* function. */
int pvm_api_fail(provost_error *err, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int pvm_error_copy(pvm_error *to, const pvm_error *from);
void pvm_error_push_source(pvm_error *e, const char *ns, const char *proc);
/* The error as an errorContext element appended under parent. */
xmlNodePtr pvm_error_node(const pvm_error *e, xmlNodePtr parent);

/* ---- a request in flight ------------------------------------------------------------- */

typedef struct pvm_txn_call {
    pvm_provider *provider;
    char *ns, *proc;       /* as registered */
    char *source;          /* the namespace's providerSource, as written */
    int type;              /* provost_proc_type */
    xmlDocPtr saved;       /* executeData saved for rollback, or NULL */
    char **kv;             /* rollback key/values: k0, v0, k1, v1, ... */
    size_t nkv;
    bool prepared, committed, rolled_back;
    bool in_doubt;         /* recovery: the call's outcome is unknown */
    uint32_t seq;          /* its INTENT record */
    uint32_t exec_id;      /* its procedureExecId */
    xmlDocPtr provider_context; /* the namespace's providerContext, or NULL (not owned) */
} pvm_txn_call;

typedef struct pvm_active {
    pvm_provider *provider;
    void *state;
} pvm_active;

typedef struct pvm_req {
    provost_engine *e;
    pvm_catalog *cat;
    xmlDocPtr doc;        /* the request: data and context live here */
    xmlNodePtr data;      /* the request's data */
    xmlNodePtr context;   /* the request's context */
    char txid[40];        /* {UUID} */
    uint32_t exec_id;     /* provider calls made so far */
    bool simple;          /* a simple request: public procedures only at the top */
    pvm_error err;        /* the error being raised */
    pvm_jtxn jt;          /* the transaction's journal */
    pvm_error *handling;  /* the error a catch is handling (context/errorContext), or NULL */
    /* transaction, in memory (the journal makes it durable) */
    pvm_txn_call *calls;
    size_t ncalls, capcalls;
    pvm_active *active;
    size_t nactive, capactive;
    /* security: inherited step flags and credentials */
    const char *basic_user; /* securityContext/authentication/basic/@username */
    int root_impersonate, root_trusted, root_sensitive;
    /* rights.c: the principal the request runs for (what audit records name), the rights
     * snapshot it is checked against (NULL: nothing defined), and the "execute as"
     * credential of the provider call being made, if any */
    const char *principal;
    struct pvm_rights *rights;
    bool admin;
    const char *execute_as;
    xmlXPathContextPtr xp;  /* reused for every XPath evaluation */
    char **queued;          /* ids of jobs queued suspended by this transaction */
    size_t nqueued;
    xmlNodePtr *grave;      /* nodes removed by transforms, freed when the request ends */
    size_t ngrave, capgrave;
    int depth;
    uint64_t steps;         /* instructions run so far, against the engine's step budget */
    pvm_audit_txn audit;    /* the records it will leave (audit.h) */
} pvm_req;

/* The principal request r runs for (rights.c sets it when the request begins). */
static inline const char *pvm_req_principal(const pvm_req *r)
{
    return r->principal ? r->principal : r->e->caller;
}

/* One call of a provider, as provider.h's services see it. */
struct provost_pcall {
    pvm_req *req;
    pvm_provider *provider;
    pvm_active *active;
    const char *ns, *proc;
    int phase;
    bool in_doubt;
    const char *identity;
    const pvm_txn_call *logged; /* prepare/commit/rollback: the call's journal entry */
    char **kv;                  /* process: rollback key/values being set */
    size_t nkv, capkv;
    uint32_t code;
    char *desc;
    xmlDocPtr detail;
};

/* A procedure invocation. */
typedef struct pvm_loop {
    xmlNodePtr *nodes;
    size_t n, i, cap;
    bool unbound; /* ifNull="ignore" on an empty set: run once, bound to nothing */
} pvm_loop;

typedef struct pvm_frame {
    pvm_req *req;
    pvm_ns *ns;
    const pvm_bundle *b;
    const provost_proc *proc;
    const pvm_target *links;
    xmlNodePtr data;          /* this invocation's data scope */
    xmlDocPtr procdata_doc;   /* this invocation's procedureData, or NULL until needed */
    xmlNodePtr exec;          /* current executeData */
    xmlDocPtr exec_doc;       /* the executeXml document holding it */
    uint32_t cases[PROVOST_MAX_SELECTS];
    pvm_loop loops[PROVOST_MAX_SLOTS];
    uint32_t repeat_left;
    int impersonate, trusted, sensitive; /* effective, inherited from the caller */
    const char *identity;
} pvm_frame;

/* interp.c */
int pvm_run_proc(pvm_req *r, pvm_ns *ns, uint32_t proc, const pvm_target *links, xmlNodePtr data,
                 int impersonate, int trusted, int sensitive, const char *identity);

/* queue.c */
int pvm_queue(pvm_frame *f, const provost_callref *c, const pvm_target *t);
void pvm_queue_finish(pvm_req *r, bool committed);
void pvm_queue_forget(pvm_req *r);

/* request.c */
void pvm_uuid(char out[40]); /* {XXXXXXXX-XXXX-4XXX-YXXX-XXXXXXXXXXXX} */

/* reqcache.c: trusted requests' procedures, compiled once per distinct procedure */
/* A request's procedure linked against one catalog.  A request holds a reference while it
 * runs; so does the cache's entry until the catalog changes or the entry is evicted. */
typedef struct pvm_rlink {
    atomic_int refs;
    pvm_ns *ns;        /* one reference */
    pvm_catalog *cat;  /* one reference: links point into it */
    pvm_target links[]; /* per call of the procedure's bundle */
} pvm_rlink;
typedef struct pvm_rcache_stats_t {
    unsigned long compiles; /* procedures compiled since the engine opened */
    size_t entries;         /* procedures held now */
} pvm_rcache_stats_t;
struct pvm_rcache *pvm_rcache_new(void);
void pvm_rcache_free(struct pvm_rcache *c);
/* The procedure proc (a child of the request's root) linked against cat: from the cache,
 * or compiled, prepared and entered.  NULL with err set when it does not compile. */
pvm_rlink *pvm_rcache_get(provost_engine *e, pvm_catalog *cat, xmlNodePtr proc, provost_error *err);
void pvm_rlink_put(pvm_rlink *l);
/* A new catalog is published: entries drop the links that hold the old one. */
void pvm_rcache_unlink(struct pvm_rcache *c);
void pvm_rcache_stats(struct pvm_rcache *c, pvm_rcache_stats_t *out);

/* scope.c: scopes, paths and values */
xmlNodePtr pvm_scope(pvm_frame *f, unsigned ref);
/* Select path p on node: appends to *out (n, cap).  Returns -1 on an evaluation error. */
int pvm_select(pvm_frame *f, uint32_t path, xmlNodePtr node, xmlNodePtr **out, size_t *n, size_t *cap);
int pvm_path_bool(pvm_frame *f, uint32_t path, xmlNodePtr node, bool *out);
/* The string value of what path selects (malloc'd), or *out NULL when it selects nothing. */
int pvm_path_value(pvm_frame *f, uint32_t path, xmlNodePtr node, char **out);

/* xform.c */
typedef enum { PVM_XF_OK = 0, PVM_XF_SKIP = 1, PVM_XF_ERROR = -1 } pvm_xf_result;
pvm_xf_result pvm_xform(pvm_frame *f, const provost_xform *x);

/* xslctx.c: transform contexts used again.  take gives a context bound to the input (an
 * idle one of stylesheet i, or a new one); after a successful transform, unbind before
 * the input is freed (NULL: it was freed, not fit for reuse); rebind to run it again;
 * give back only once the results are freed (they share its dictionary). */
typedef struct pvm_xslpool pvm_xslpool;
pvm_xslpool *pvm_xslpool_new(size_t nstyles);
void pvm_xslpool_free(pvm_xslpool *p);
xsltTransformContextPtr pvm_xslctx_take(pvm_xslpool *p, size_t i, xsltStylesheetPtr style, xmlDocPtr in);
int pvm_xslctx_rebind(xsltTransformContextPtr c, xmlDocPtr in);
xsltTransformContextPtr pvm_xslctx_unbind(xsltTransformContextPtr c);
void pvm_xslctx_give(pvm_xslpool *p, size_t i, xsltTransformContextPtr c);

/* call.c: a step's call */
int pvm_call(pvm_frame *f, const provost_callref *c, const pvm_target *t);

/* provider.c: the provider-call protocol */
pvm_provider *pvm_provider_get(provost_engine *e, const char *name);
void pvm_providers_free(provost_engine *e);
int pvm_provider_call(pvm_req *r, pvm_ns *ns, uint32_t procidx, xmlDocPtr doc, int trusted, int sensitive,
                      const char *identity, xmlNodePtr *exec);
/* A later phase (prepare, commit, rollback) of a logged call: 0, or the provider's failure
 * with its code in *code and its description (malloc'd) in *desc. */
uint32_t pvm_provider_phase(pvm_req *r, const pvm_txn_call *t, int phase, uint32_t *code, char **desc);
void pvm_deactivate_all(pvm_req *r);
xmlNodePtr pvm_execute_data(xmlDocPtr doc); /* the executeData child of the executeXml root, or NULL */
/* execxml.c: executeXml{executeData (a copy of DATA, or empty)}, *exec its executeData */
xmlDocPtr pvm_execute_xml(xmlNodePtr data, xmlNodePtr *exec);
void pvm_execute_xml_free(xmlDocPtr doc);
/* reqdoc.c: the thread's request skeleton of a call without data,
 * <request><data/><context><transactionContext transactionId/></context></request>, or
 * NULL when it is in use; pvm_reqdoc_set_txid writes its transactionId (false when DOC is
 * not the skeleton); pvm_reqdoc_free gives it back, or frees any other request document */
xmlDocPtr pvm_reqdoc_take(void);
bool pvm_reqdoc_is(xmlDocPtr doc);
bool pvm_reqdoc_set_txid(xmlDocPtr doc, const char *txid);
void pvm_reqdoc_free(xmlDocPtr doc);

/* pctx.c: the context of a provider call, put first under DOC's root for the call */
typedef struct pvm_ctx_args {
    const char *ns, *proc, *source;
    int type;                   /* provost_type */
    xmlDocPtr provider_context; /* the namespace's, or NULL */
    uint32_t exec_id;
    int trusted;
    bool in_doubt;
    bool builtin; /* for a built-in provider: lent as it is and not checked after */
} pvm_ctx_args;
xmlNodePtr pvm_context_lend(pvm_req *r, xmlDocPtr doc, const pvm_ctx_args *a); /* NULL: out of memory */
void pvm_context_return(xmlNodePtr ctx); /* after the call: out of its document again */

/* txn.c: the end of a transaction */
int pvm_finish(pvm_req *r, bool ok); /* prepare/commit or roll back (journaled), then deactivate */
void pvm_txn_clear(pvm_req *r);
/* Recovery: finish every transaction the journal holds (SPEC §6). */
typedef struct pvm_recovery {
    size_t rolled_back, committed, stuck;
} pvm_recovery;
int pvm_recover(provost_engine *e, const char *only_txid, pvm_recovery *out, char *err, size_t errlen);

/* error.c */
int pvm_fail(pvm_req *r, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* catalog.c */
pvm_catalog *pvm_catalog_get(provost_engine *e);
void pvm_catalog_put(pvm_catalog *c);
pvm_ns *pvm_catalog_find(pvm_catalog *c, const char *name, size_t *index);
pvm_ns *pvm_ns_prepare(provost_engine *e, pvm_bundle *b, char *err, size_t errlen);
void pvm_ns_put(pvm_ns *ns);
uint32_t pvm_find_proc(const pvm_ns *ns, const char *name); /* PROVOST_NONE if absent */
void pvm_link(pvm_catalog *cat, const pvm_ns *ns, pvm_target *links);
/* A catalog of these namespaces (each gains a reference), linked; NULL if out of memory. */
pvm_catalog *pvm_catalog_build(pvm_ns **ns, size_t n);

/* The literal at string-pool offset off, parsed once when the namespace was prepared (not
 * owned), or NULL.  Inline, so that reading a namespace's literals does not tie provider.c
 * to catalog.c, which depends on provider.c for its providers. */
static inline xmlDocPtr pvm_literal_doc(const pvm_ns *ns, uint32_t off)
{
    size_t lo = 0, hi = ns->nlits;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ns->lits[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ns->nlits && ns->lits[lo].off == off ? ns->lits[lo].doc : NULL;
}

#endif
