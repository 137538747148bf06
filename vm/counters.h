/*
 * counters.h -- per-procedure performance counters (SPEC §9), kept in per-thread shards
 * that only their own thread writes, summed when read; once the engine has a database,
 * the shards live in its counters file (cfile.h), where other processes read them.
 */
#ifndef PVM_COUNTERS_H
#define PVM_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "provost/provost.h"
#include "provost/stats.h"
#include "bundle.h"
#include "cfile.h"

typedef struct pvm_counters pvm_counters;

pvm_counters *pvm_counters_new(void);
void pvm_counters_free(pvm_counters *c);
/* The database directory whose counters file this set writes (created on first use);
 * without it, or when the file cannot be made, the counters live in memory only. */
int pvm_counters_set_dir(pvm_counters *c, const char *dir);
/* Ids for every procedure of a bundle (named ns/proc); returns the id of procedure 0. */
uint32_t pvm_counters_reserve(pvm_counters *c, const char *ns, const pvm_bundle *b);
void pvm_counters_begin(pvm_counters *c, uint32_t id);
void pvm_counters_end(pvm_counters *c, uint32_t id, int outcome, uint64_t elapsed_ns);
int pvm_counters_read(pvm_counters *c, provost_proc_stats **out, size_t *n);

/* Engine-wide counters (not per procedure), published beside the procedures' in the
 * counters file: a slot per NAME (a Prometheus metric name, such as
 * "provost_journal_syncs_total"; at most 47 bytes), found or made once, then added to or
 * set from any thread (an atomic add: meant for events far rarer than calls).  -1 when
 * all PVM_CF_ENGINE_SLOTS are taken.  Ask for slots after the directory is set. */
enum { PVM_ENGINE_COUNTER = 0, PVM_ENGINE_GAUGE = 1 };
int pvm_counters_engine_slot(pvm_counters *c, const char *name, int kind);
void pvm_counters_engine_add(pvm_counters *c, int slot, uint64_t by);
void pvm_counters_engine_set(pvm_counters *c, int slot, uint64_t value);

/* A request failed with CODE: counted by code beside the engine-wide counters (in the
 * file), and kept among the last PVM_RECENT failures (in memory, for the dashboard). */
#define PVM_RECENT 20
void pvm_counters_failed(pvm_counters *c, uint32_t code, const char *principal, const char *ns, const char *proc,
                         const char *message);
/* A transaction was rolled back (provost_rollbacks_total). */
void pvm_counters_rolled_back(pvm_counters *c);
/* The last failures, most recent first (provost_recent_failures). */
int pvm_counters_recent(pvm_counters *c, provost_failure_event **out, size_t *n);

enum { PVM_OUTCOME_OK = 0, PVM_OUTCOME_FAILED = 1, PVM_OUTCOME_INDOUBT = 2 };

uint64_t pvm_now_ns(void);

/* cfile.c: the writer's side of the file (the caller serialises every call but close). */
typedef struct pvm_cfile pvm_cfile;
pvm_cfile *pvm_cfile_create(const char *dir, char *why, size_t whylen);
void pvm_cfile_close(pvm_cfile *f);
bool pvm_cfile_owns(const pvm_cfile *f, const void *p);
pvm_cf_engine *pvm_cfile_engine(pvm_cfile *f);
pvm_cf_fails *pvm_cfile_fails(pvm_cfile *f);
int pvm_cfile_names(pvm_cfile *f, uint32_t first, const pvm_named *names, size_t n);
pvm_cell *pvm_cfile_cells(pvm_cfile *f, uint32_t shard, uint32_t first); /* NULL when full */

#endif
