/*
 * audit.h -- what a transaction gathers for the audit trail while it runs, and how its
 * records join the end of the transaction (vm/audit.c).  The records are encoded just
 * before the end is written and go in the same atomic write (pvm_jtxn.extra), so a crash
 * never leaves an ended transaction without its records, or records of one that did not
 * end.
 */
#ifndef PVM_AUDIT_H
#define PVM_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

struct pvm_req;
struct pvm_ns;
struct pvm_target;
struct pvm_jview;
struct pvm_catalog;
struct pvm_db_op;
struct provost_engine;

/* A call of an auditEnabled procedure inside the transaction. */
typedef struct pvm_acall {
    uint64_t start, duration; /* ns: since the epoch, and how long */
    const char *ns, *proc;    /* the bundle's strings: the request holds its catalog */
    bool failed;
    uint32_t code;
    char *data;               /* level full: its executeData as it was called */
} pvm_acall;

typedef struct pvm_audit_txn {
    int level;                /* the engine's when the transaction began */
    uint64_t start;
    const char *ns, *proc;    /* the transaction's procedure (ns NULL: a request's own) */
    bool audited;             /* that procedure is auditEnabled */
    bool withhold;            /* level full: the request reaches sensitive data, no data kept */
    bool recovered;           /* the record is recovery's */
    const char *client;       /* recovery: the client id the journal kept */
    char *data;               /* level full: the request's data */
    pvm_acall *calls;
    size_t ncalls, cap;
    struct pvm_db_op *kv;     /* encoded, for the end's write */
    size_t nkv;
} pvm_audit_txn;

/* At open: the level in force (forced by the options, else the database's setting). */
int pvm_audit_open(struct provost_engine *e, int forced, char *err, size_t errlen);

/* The transaction's procedure (links: its calls', for the sensitive check of level full). */
void pvm_audit_begin(struct pvm_req *r, const struct pvm_ns *ns, uint32_t proc, const struct pvm_target *links);
/* A nested call begins: a handle for pvm_audit_called (0 when it leaves no record). */
size_t pvm_audit_call(struct pvm_req *r, const struct pvm_ns *ns, uint32_t proc, xmlNodePtr exec, int sensitive);
void pvm_audit_called(struct pvm_req *r, size_t handle, int rc);

/* Just before the transaction's end is written (ok: it committed): its records, encoded
 * into r->jt.extra.  After the write (rc its result): a transaction that journaled nothing
 * has its records written alone; the encoded records are freed. */
void pvm_audit_seal(struct pvm_req *r, bool ok);
void pvm_audit_sealed(struct pvm_req *r, int rc);
/* Recovery (or an operator) ends a journaled transaction: its one record. */
void pvm_audit_recovered(struct pvm_req *r, struct pvm_catalog *cat, const struct pvm_jview *v, bool committed);
void pvm_audit_clear(pvm_audit_txn *a);

/* The stored form (audit.c): a key is the record's time (ns, big-endian: keys sort by time),
 * the transaction id and the sequence number; the value, its other fields.  encode fills
 * kv (one allocation, freed through kv->key); decode's strings live in *scratch. */
#define PVM_AUDIT_KEYLEN 48
struct provost_audit_record;
int pvm_audit_encode(const struct provost_audit_record *r, struct pvm_db_op *kv);
int pvm_audit_decode(const char *key, size_t klen, const char *val, size_t vlen, struct provost_audit_record *r,
                     char **scratch, size_t *cap);
void pvm_audit_time_key(uint64_t t, char out[8]);

#endif
