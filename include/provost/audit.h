/*
 * audit.h -- the audit trail (SPEC §9): a record per call of an auditEnabled procedure and
 * per failed transaction, kept in the engine's database in time order, written in the same
 * atomic write as the end of its transaction.  Queried by time range (a seek to the range's
 * start: an hour of a large trail reads that hour only), purged by age.
 */
#ifndef PROVOST_AUDIT_H
#define PROVOST_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What is recorded (the engine setting auditLevel).  provost_options.audit_level 0 takes
 * the database's setting (provost_audit_set_level), else FAILURES. */
enum provost_audit_level {
    PROVOST_AUDIT_DEFAULT = 0,
    PROVOST_AUDIT_NONE = 1,     /* nothing */
    PROVOST_AUDIT_FAILURES = 2, /* a record per failed transaction */
    PROVOST_AUDIT_ENABLED = 3,  /* and one per call of an auditEnabled procedure */
    PROVOST_AUDIT_FULL = 4      /* as ENABLED, with the request data of each record */
};

/* "none", "failures", "enabled", "full" (NULL for anything else); parse: -1 for a bad name. */
const char *provost_audit_level_name(int level);
int provost_audit_level_parse(const char *name);

/* The level the engine records at, and the database's setting (PROVOST_AUDIT_DEFAULT when
 * it has none). */
int provost_audit_level(provost_engine *e, int *stored);
/* Stores the database's setting (PROVOST_AUDIT_DEFAULT removes it); the engine records at it
 * from now on unless it was opened with a level of its own. */
int provost_audit_set_level(provost_engine *e, int level, provost_error *err);

typedef struct provost_audit_record {
    uint64_t time;        /* ns since the epoch: when the call (or transaction) began */
    char txid[40];        /* the transaction's id */
    uint16_t seq;         /* tells the records of one transaction apart */
    const char *client;   /* clientTransactionId, or "" */
    const char *principal;/* whom the engine ran the request for ("" when unknown) */
    const char *ns;       /* namespace ("" for a trusted request's own procedure) */
    const char *proc;     /* procedure */
    int failed;           /* the call failed or its transaction was rolled back */
    uint32_t code;        /* the failure's code, 0 when it succeeded */
    uint64_t duration;    /* ns */
    int recovered;        /* written by recovery, which ended the transaction after a crash */
    const char *data;     /* the request data (level FULL only), or NULL */
} provost_audit_record;

typedef struct provost_audit_filter {
    uint64_t since, until;  /* time in [since, until); 0: unbounded */
    const char *ns;         /* namespace (without case), or NULL for any */
    const char *proc;       /* procedure (without case), or NULL for any */
    int outcome;            /* -1 any, 0 succeeded, 1 failed */
    const char *principal;  /* exactly, or NULL for any */
} provost_audit_filter;

typedef struct provost_audit_stats {
    uint64_t keys_read; /* records the query read from the database */
    uint64_t matched;   /* records it handed to the callback */
} provost_audit_stats;

/* Calls fn for every record the filter takes, in time order (the record and its strings
 * live for the call only); fn returning non-zero stops the query, which then returns that
 * value.  stats (may be NULL) tells how many records were read. */
typedef int (*provost_audit_fn)(void *ud, const provost_audit_record *r);
int provost_audit_query(provost_engine *e, const provost_audit_filter *f, provost_audit_fn fn, void *ud,
                        provost_audit_stats *stats, provost_error *err);
/* Deletes every record older than before (ns since the epoch); *removed (may be NULL) is
 * how many went. */
int provost_audit_purge(provost_engine *e, uint64_t before, uint64_t *removed, provost_error *err);
/* Writes records as given, in one atomic write (imports, benchmarks); the engine's own
 * records are written with their transactions' ends. */
int provost_audit_append(provost_engine *e, const provost_audit_record *v, size_t n, int sync, provost_error *err);

/* A time as an operator writes it: RFC 3339 (2026-12-05T08:00:00Z, with a fraction or an
 * offset), a date (2026-12-05, midnight UTC), "now", or relative to now (-1h, -30m, -45s,
 * -7d, -2w).  0 with *out in ns since the epoch, or -1 with a one-line reason. */
int provost_audit_time(const char *s, uint64_t now, uint64_t *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
