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

#ifdef __cplusplus
}
#endif
#endif
