/*
 * outcomes.h -- the recorded outcomes of keyed submissions (docs/transactions.md, "Keyed
 * requests"): every request of `provost batch` leaves one, about 50 bytes, kept until it
 * is forgotten here (docs/operations.md, "Outcome retention").
 */
#ifndef PROVOST_OUTCOMES_H
#define PROVOST_OUTCOMES_H

#include <stdint.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deletes every outcome of batch BATCH_ID (32 hex digits: the keys batch:ID:POSITION) in
 * one range delete, and sets *removed to how many there were.  Refused (-1,
 * PROVOST_E_ACCESSDENIED) while a transaction of the batch is still in the journal (stuck,
 * waiting for provost txn resolve): its outcome is yet to be recorded.  A batch with no
 * outcome is PROVOST_E_NOTFOUND.  After it, `provost batch --resume` of that batch would
 * run again every request its results file does not list. */
int provost_batch_forget(provost_engine *e, const char *batch_id, uint64_t *removed, provost_error *err);

/* Retention: batches whose outcomes are older than a setting are forgotten (as by
 * provost_batch_forget) when an engine opens the database.  The clock of a batch starts
 * when it starts (provost_batch_started, which the batch runner calls for every new
 * batch); batches that never recorded a start are kept until forgotten by hand.  SECONDS
 * 0 keeps outcomes forever (the default). */
int provost_outcome_retention_set(provost_engine *e, int64_t seconds, provost_error *err);
int provost_outcome_retention_get(provost_engine *e, int64_t *seconds, provost_error *err);
int provost_batch_started(provost_engine *e, const char *batch_id, provost_error *err);
/* Forgets every batch started before NOW minus the retention (none when it is 0), except
 * those with a transaction still in the journal; counts what it removed. */
int provost_outcomes_expire(provost_engine *e, int64_t now, uint64_t *batches, uint64_t *removed,
                            provost_error *err);

#ifdef __cplusplus
}
#endif
#endif
