/*
 * jobs.h -- the queue's records inside the VM (jobs.c, jobs_run.c, queue.c).
 *
 * The queue column family holds the jobs under their ids, 1:{UUID}: an XML record, <job>
 * with its state, policy and payload (see jobs.c).  The queue_index family holds, apart
 * from the big records so that its seeks stay cheap whatever they weigh:
 *   ~d CLASS DUE(8, big-endian) ID    due index: jobs that may run (4, 10, 12), by
 *                                     priority class ('0' high .. '2' low), then due time
 *   ~s ID                             STARTED jobs (5), for recovery after a crash
 *   ~r ID                             jobs waiting for a retry (10), for worker --drain
 * Every change of a job rewrites it and its index keys in one atomic batch.
 */
#ifndef PVM_JOBS_H
#define PVM_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "provost/provost.h"
#include "provost/queue.h"

typedef struct pvm_job {
    xmlDocPtr doc;
    xmlNodePtr root;
    char id[48];
    int state0, class0; /* as loaded (state0 -1: a new job), for its old index keys */
    int64_t due0;
} pvm_job;

/* All changes of jobs in this process are made under this lock. */
void pvm_jobs_lock(void);
void pvm_jobs_unlock(void);
/* A job may have become runnable: wake waiting workers (with the lock held or not). */
void pvm_jobs_signal(void);

/* 0 loaded, 1 no such job, -1 error (err). */
int pvm_job_load(provost_engine *e, const char *id, pvm_job *j, provost_error *err);
void pvm_job_release(pvm_job *j);
/* Writes the job and its index keys (delete_job: removes them all). */
int pvm_job_save(provost_engine *e, pvm_job *j, bool delete_job, int sync, provost_error *err);

long long pvm_job_int(const pvm_job *j, const char *name, long long def);
void pvm_job_set_int(pvm_job *j, const char *name, long long v);
/* Reads a queueContext's policy into the job's attributes: 0, or -1 with why. */
int pvm_job_policy(pvm_job *j, xmlNodePtr queue_context, bool strict, char *why, size_t whylen);
/* A new job record (doc owned by j) with its id, state and created/due times. */
int pvm_job_new(pvm_job *j, int state, int64_t now_ms, provost_error *err);

/* The job finished (states 0-3, or deleted): jobs waiting for it wait for one less. */
int pvm_jobs_release_children(provost_engine *e, pvm_job *parent, int sync, provost_error *err);

/* Claims the first due job at now_ms for owner (state 5, attempts + 1): 1 claimed (j
 * loaded), 0 none due (*next_due: earliest due time, -1 none), -1 error. */
int pvm_jobs_claim(provost_engine *e, const char *owner, int64_t now_ms, int sync, pvm_job *j, int64_t *next_due,
                   provost_error *err);

/* How an attempt ended. */
typedef struct pvm_attempt {
    bool ok;
    bool invalid;        /* the request could not run */
    bool stuck;          /* its rollback is stuck */
    uint32_t code;
    const char *description;
    const char *response; /* the response XML, or NULL */
} pvm_attempt;

/* Settles attempt `attempt` of job id claimed by owner: success, a retry, or a final
 * failure per its policy.  The new state goes to *state. */
int pvm_jobs_settle(provost_engine *e, const char *id, const char *owner, unsigned attempt, int64_t now_ms,
                    int sync, const pvm_attempt *a, int *state, provost_error *err);

/* The worker names alive in this process. */
bool pvm_jobs_owner_alive(const char *owner);
int pvm_jobs_owner_add(const char *owner);
void pvm_jobs_owner_remove(const char *owner);

extern _Atomic uint64_t pvm_jobs_keys_read;

#endif
