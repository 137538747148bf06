/*
 * counters.h -- per-procedure performance counters (SPEC §9), kept in per-thread shards
 * that only their own thread writes, summed when read.
 */
#ifndef PVM_COUNTERS_H
#define PVM_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "provost/provost.h"
#include "bundle.h"

typedef struct pvm_counters pvm_counters;

pvm_counters *pvm_counters_new(void);
void pvm_counters_free(pvm_counters *c);
/* Ids for every procedure of a bundle (named ns/proc); returns the id of procedure 0. */
uint32_t pvm_counters_reserve(pvm_counters *c, const char *ns, const pvm_bundle *b);
void pvm_counters_begin(pvm_counters *c, uint32_t id);
void pvm_counters_end(pvm_counters *c, uint32_t id, int outcome, uint64_t elapsed_ns);
int pvm_counters_read(pvm_counters *c, provost_proc_stats **out, size_t *n);

enum { PVM_OUTCOME_OK = 0, PVM_OUTCOME_FAILED = 1, PVM_OUTCOME_INDOUBT = 2 };

uint64_t pvm_now_ns(void);

#endif
