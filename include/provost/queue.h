/*
 * queue.h -- the engine's queue of jobs (SPEC §11): requests submitted to run later,
 * retried by their queueContext's policy, ordered by priority class and due time, with
 * dependencies, suspension and an operator's queue; and the worker primitives that run
 * them (claim the next due job, run it, settle it), which provost/worker.h drives from
 * threads.  Jobs live in the engine's database; every change of a job is one atomic write.
 */
#ifndef PROVOST_QUEUE_H
#define PROVOST_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A job's state: MPF's status codes. */
enum provost_job_state {
    PROVOST_JOB_SUCCESS = 0,
    PROVOST_JOB_ERROR = 1,             /* the request could not run (malformed, not compilable) */
    PROVOST_JOB_FAILURE = 2,           /* it ran and failed, and its retries are used up */
    PROVOST_JOB_ERROR_AND_FAILURE = 3, /* it failed and its rollback is stuck (provost txn) */
    PROVOST_JOB_PENDING = 4,
    PROVOST_JOB_STARTED = 5,
    PROVOST_JOB_QUEUED_FOR_RETRY = 10,
    PROVOST_JOB_WITH_INCOMPLETE_PREREQ = 11,
    PROVOST_JOB_WITH_COMPLETE_PREREQ = 12,
    PROVOST_JOB_SUSPENDED = 13,
    PROVOST_JOB_SUSPENDED_WITH_WAITS = 14,
    PROVOST_JOB_FAILED_AWAITING_OPERATOR = 15
};

/* MPF's name of a state ("PENDING", ...), or NULL; and back (-1 when unknown). */
const char *provost_job_state_name(int state);
int provost_job_state_parse(const char *name);

/* Priority classes: priority <= -50 high, -50 < priority <= 0 medium, > 0 low. */
int provost_job_class(int priority);

typedef struct provost_job {
    char id[48];               /* 1:{UUID} */
    int state;                 /* provost_job_state */
    int priority;
    int64_t due_ms;            /* when it may run next (ms since the epoch) */
    int64_t created_ms, finished_ms;
    unsigned attempts;         /* runs started so far */
    unsigned retry_count;      /* queueContext/@retryCount */
    unsigned retry_interval_ms;
    int exponential;           /* retryType="exponential" */
    int to_operator;           /* onFailure="queueToOperator" */
    uint32_t stop_code;        /* retryStopOnFailure, or 0 */
    uint32_t code;             /* the last attempt's failure code, 0 */
    char *description;         /* the last attempt's failure, or NULL */
    char *what;                /* "NS/PROC" of a queue step, "request" of a submitted request */
    char *owner;               /* the worker that claimed it (state 5), or NULL */
    unsigned waits;            /* prerequisites not yet complete */
    char **parents;            /* the jobs it waits for */
    size_t nparents;
} provost_job;

void provost_job_free(provost_job *j);
void provost_jobs_free(provost_job *v, size_t n);

typedef struct provost_queue_options {
    int64_t due_ms;            /* not before (ms since the epoch); 0: now */
    int priority;              /* used when has_priority, else queueContext/@priority, else 0 */
    int has_priority;
    const char *const *after;  /* jobs it waits for, besides queueContext/parentQueue */
    size_t nafter;
    int suspended;             /* stored SUSPENDED: runs after provost_queue_activate */
    int sync;                  /* provost_sync: PROVOST_SYNC_NONE skips the fsync */
    const char *id;            /* the job's id chosen beforehand (a spooled submit), or NULL;
                                  when a job with it is stored already, nothing changes */
    const char *principal;     /* submitted for this principal (its trusted right is checked,
                                  the job records it), NULL: the engine's */
} provost_queue_options;

/* Stores the trusted request xml (one <data> at most) as a job, and writes its id to id.
 * Its retry policy is its context/queueContext's.  0, or -1 (PROVOST_E_INVALIDARG for a
 * bad request or option, PROVOST_E_NOTFOUND for an unknown prerequisite). */
int provost_queue_submit(provost_engine *e, const char *xml, size_t len, const provost_queue_options *o,
                         char id[48], provost_error *err);
/* A fresh queue id, 1:{UUID}. */
void provost_queue_new_id(char id[48]);
/* Submits to a database another process (a running worker) holds: writes the request and
 * its options into DB/queue-spool/ (mode 0600, complete or not at all) under a new id,
 * written to id, which that worker stores as a job (provost_queue_ingest).  The request
 * is checked when it is stored: one refused then is moved to DB/queue-spool/rejected/. */
int provost_queue_spool_submit(const char *db_path, const char *xml, size_t len, const provost_queue_options *o,
                               char id[48], provost_error *err);
/* Stores every spooled submit of the database at db_path as a job, once (by its id, so a
 * file left by a crash after its job was stored makes no second one), and removes its
 * file; a file that does not parse, or whose request is refused, is moved to
 * queue-spool/rejected/ and on_reject told why.  *n: files stored.  0, or -1 (a database
 * error: the file stays for the next look). */
int provost_queue_ingest(provost_engine *e, const char *db_path, int sync,
                         void (*on_reject)(void *ud, const char *file, const char *why), void *ud, size_t *n,
                         provost_error *err);

/* 0, or -1 (PROVOST_E_NOTFOUND when there is no such job). */
int provost_queue_status(provost_engine *e, const char *id, provost_job *out, provost_error *err);
/* The response of the job's last run (malloc'd, NULL when it has not run). */
int provost_queue_results(provost_engine *e, const char *id, char **xml, provost_error *err);
/* Every job (state -1) or those in one state, in id order. */
int provost_queue_list(provost_engine *e, int state, provost_job **out, size_t *n, provost_error *err);
/* How many jobs are in each state (counts[state], 0..15; 6..9 are no state): the first
 * call after the database opens reads every job once, later ones read counts the engine
 * keeps as jobs change. */
int provost_queue_counts(provost_engine *e, uint64_t counts[16], provost_error *err);
/* SUSPENDED -> PENDING (or WITH_COMPLETE_PREREQ), SUSPENDED_WITH_WAITS -> WITH_INCOMPLETE_PREREQ. */
int provost_queue_activate(provost_engine *e, const char *id, provost_error *err);
/* Removes a job that is not running; jobs waiting for it stop waiting for it. */
int provost_queue_delete(provost_engine *e, const char *id, provost_error *err);
/* The operator's retry of a FAILED_AWAITING_OPERATOR job: due now, with its retries anew. */
int provost_queue_retry(provost_engine *e, const char *id, provost_error *err);

/* ---- running jobs ------------------------------------------------------------------- */

/* One worker's identity.  A job it claims is STARTED under its name; a STARTED job whose
 * worker is not alive in this process (only one process opens a database) was left by a
 * worker that died, and provost_queue_recover settles it. */
typedef struct provost_queue_worker provost_queue_worker;

/* sync (provost_sync): how the worker's changes of jobs reach the disk, as the engine's
 * journal does (PROVOST_SYNC_NONE: they survive a crash of the process, not of the machine). */
provost_queue_worker *provost_queue_worker_new(provost_engine *e, int sync, provost_error *err);
void provost_queue_worker_free(provost_queue_worker *w);
const char *provost_queue_worker_name(const provost_queue_worker *w);

/* Settles every STARTED job whose worker is gone: success when its run committed (its
 * outcome is in the journal), else a failed attempt (retried per its policy).  *n: how many. */
int provost_queue_recover(provost_queue_worker *w, int64_t now_ms, size_t *n, provost_error *err);

typedef struct provost_queue_ran {
    char id[48];
    unsigned attempt;
    int state;        /* after the run */
    uint32_t code;
} provost_queue_ran;

/* Claims the due job first in priority order (then due time) at now_ms, runs it and
 * settles it.  1: ran (ran filled); 0: nothing due, *next_due_ms the earliest due time
 * (-1: none queued); -1: error.  Thread-safe: a job is claimed by one caller only. */
int provost_queue_run_next(provost_queue_worker *w, int64_t now_ms, provost_queue_ran *ran, int64_t *next_due_ms,
                           provost_error *err);

/* Jobs queued for a retry (state 10) or running (5): 1 some, 0 none, -1 error. */
int provost_queue_busy(provost_engine *e, provost_error *err);

/* A count of the times a job became runnable in this process (submitted, activated, its
 * prerequisites complete, due for a retry): take it before looking at the queue. */
uint64_t provost_queue_generation(void);
/* Waits until a job became runnable since generation was taken, or until until_ms (ms
 * since the epoch), whichever comes first. */
void provost_queue_wait(provost_engine *e, uint64_t generation, int64_t until_ms);
/* Wakes every provost_queue_wait (a worker being stopped). */
void provost_queue_wake(void);

/* Keys of the due index read so far by this process (the cost of finding due jobs). */
uint64_t provost_queue_keys_read(void);

/* Milliseconds since the epoch. */
int64_t provost_now_ms(void);
/* A time a job is due, as the command and the service take it: @SECONDS since the epoch,
 * or YYYY-MM-DDTHH:MM[:SS][Z] in UTC.  0 with *ms, or -1 when V is neither. */
int provost_parse_due(const char *v, int64_t *ms);

/* ---- the worker (run/worker.c) -------------------------------------------------------- */

enum provost_worker_mode {
    PROVOST_WORKER_FOREVER = 0, /* run jobs as they fall due, until provost_worker_stop */
    PROVOST_WORKER_ONCE = 1,    /* run the jobs due now, then return */
    PROVOST_WORKER_DRAIN = 2    /* run until no job is due, running or waiting for a retry */
};

typedef struct provost_worker_options {
    unsigned threads;  /* jobs run at once (default 1, at most 256) */
    int mode;          /* provost_worker_mode */
    int sync;          /* provost_sync of the worker's job changes */
    unsigned poll_ms;  /* the longest sleep between looks at the queue (default 250): how
                          late a stop is noticed; a job made runnable in this process wakes
                          the worker at once, and a due time is slept until exactly */
    /* called after each job ran, from the thread that ran it, one call at a time */
    void (*on_job)(void *ud, const provost_queue_ran *ran);
    void *ud;
    /* the database's directory: when set, submits spooled there (provost_queue_spool_submit)
       are stored at each look for due work, so within poll_ms of being written */
    const char *spool_db;
    /* a spool file refused (moved to queue-spool/rejected/), with why; one call at a time */
    void (*on_reject)(void *ud, const char *file, const char *why);
    /* called once, from the calling thread, when what dead workers left is settled and the
       job threads run: the worker is ready (a service reports it to its manager) */
    void (*on_ready)(void *ud);
} provost_worker_options;

typedef struct provost_worker_summary {
    size_t ran, succeeded, retried, failed; /* failed: ended in state 1, 2, 3 or 15 */
    size_t recovered;                       /* left STARTED by a worker that died */
} provost_worker_summary;

/* Settles what dead workers left, then runs jobs from o->threads threads until o->mode
 * says to stop or provost_worker_stop is called.  0, or -1 with err. */
int provost_worker_run(provost_engine *e, const provost_worker_options *o, provost_worker_summary *s,
                       provost_error *err);
/* Asks every running provost_worker_run to stop after the jobs it is running (safe from a
 * signal handler). */
void provost_worker_stop(void);

#ifdef __cplusplus
}
#endif
#endif
