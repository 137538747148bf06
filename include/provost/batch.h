/*
 * provost/batch.h -- many requests through one engine, from worker threads: the batch
 * runner behind `provost batch`, for any front end (the command, a service, a queue worker).
 *
 * The inputs are request files (or directories of them), or one CSV / JSON Lines file of
 * rows, each row the data of one call.  Each request is submitted with the key
 * "batch:ID:POSITION", so the engine records its outcome with its transaction and never
 * runs it twice: with results written to a file, a batch interrupted in any way can be
 * resumed (options.resume), and what already finished is not run again.
 *
 * The runner never writes to the terminal and never exits: it reports through the
 * callbacks (called one at a time, from any of its threads), returns its errors as
 * messages, and leaves the wording of the summary to the front end.
 */
#ifndef PROVOST_BATCH_H
#define PROVOST_BATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/provost.h"

enum provost_batch_format { PROVOST_BATCH_XML = 0, PROVOST_BATCH_CSV = 1, PROVOST_BATCH_JSONL = 2 };

/* What became of a request (the "status" of its result line). */
enum provost_batch_status {
    PROVOST_BATCH_SUCCEEDED = 0,
    PROVOST_BATCH_FAILED = 1,  /* rolled back */
    PROVOST_BATCH_STUCK = 2,   /* parked for an operator (provost txn list --stuck) */
    PROVOST_BATCH_INVALID = 3, /* could not be read or refused: never ran */
    PROVOST_BATCH_STATUSES
};
extern const char *const provost_batch_status_names[PROVOST_BATCH_STATUSES];

/* Why a batch stopped early (provost_batch_summary.stop), besides a signal number. */
#define PROVOST_BATCH_STOP_ERROR 1000 /* stop_on_error, at the first failure */
#define PROVOST_BATCH_STOP_WRITE 1001 /* the results could not be written */

/* A snapshot for a progress display. */
typedef struct provost_batch_progress {
    uint64_t done, total, failed; /* the whole batch; total 0: not known yet */
    uint64_t done_this_run;
    double elapsed; /* seconds since this run started */
    double rate;    /* requests per second */
} provost_batch_progress;

/* What the runner has to say besides progress (the text has no newline). */
enum provost_batch_message {
    PROVOST_BATCH_SAY_INVALID, /* "INPUT:LINE: request POS: why": a request that never ran */
    PROVOST_BATCH_SAY_NOTE,    /* "RESULTS: N incomplete lines dropped ...", when resuming */
    PROVOST_BATCH_SAY_ERROR    /* after the run: the engine or the results failed (see errors) */
};

typedef struct provost_batch_options {
    const char *const *inputs; /* request files or directories of .xml files; "-": stdin */
    int ninputs;
    const char *rows; /* or a CSV / JSON Lines file of rows (with ns and proc) */
    int format;       /* PROVOST_BATCH_CSV or _JSONL, else (0, -1) from its name or content */
    const char *ns, *proc; /* call this public procedure with each input as its data */
    const char *out;  /* results file, or a directory (results.jsonl and batch.state in it);
                         NULL or "-": the result lines go to results_to, not resumable */
    FILE *results_to;
    bool responses;     /* result lines carry the whole response */
    bool stop_on_error; /* no new request after the first that did not succeed */
    bool resume;        /* go on with the batch recorded beside out */
    int jobs;           /* worker threads, >= 1 */
    /* The database.  The runner opens it itself, once its checks passed (opening recovers
     * what an interruption left running), with open_engine if given -- it returns NULL after
     * reporting why -- else provost_open; and closes it. */
    provost_options engine;
    provost_engine *(*open_engine)(void *ctx, const provost_options *o);
    /* Or an engine already open (a service's): the batch runs on it and leaves it open.
     * engine.db_path must still name its database (the batch's state records it). */
    provost_engine *use_engine;
    /* Each request runs for this principal (provost_submit_as), NULL: the engine's. */
    const char *principal;
    /* Progress: every progress_every seconds (0: never; the total is then not counted). */
    double progress_every;
    void (*progress)(void *ctx, const provost_batch_progress *p);
    void (*message)(void *ctx, int kind, const char *text); /* provost_batch_message */
    void *ctx;
    /* Set non-zero (a signal number, from a handler) to stop: no new request starts, the
     * running ones finish and are written; the batch stays resumable.  Read atomically
     * (__atomic_load_n): store to it the same way. */
    volatile sig_atomic_t *interrupt;
} provost_batch_options;

typedef struct provost_batch_code {
    uint32_t code;
    uint64_t n;
} provost_batch_code;

typedef struct provost_batch_summary {
    uint64_t by_status[PROVOST_BATCH_STATUSES]; /* the whole batch, earlier runs included */
    uint64_t requests;                          /* their sum */
    provost_batch_code *codes;                  /* failures by code, most frequent first */
    size_t ncodes;
    double seconds;     /* this run's */
    uint64_t run;       /* requests run by this run */
    uint64_t recorded;  /* finished before an interruption, their line written now */
    uint64_t seen;      /* already in the results */
    uint64_t total;     /* in the inputs, or 0: not counted */
    uint64_t timed;     /* requests whose latency this run measured */
    double p50_ms, p99_ms, max_ms;
    bool finished;      /* every input read and every result written */
    int stop;           /* why not: a signal number, or PROVOST_BATCH_STOP_* */
    int errors;         /* errors reported after the run (PROVOST_BATCH_SAY_ERROR) */
    char id[33];
    char *results;      /* the results file, or NULL */
} provost_batch_summary;

/* Runs a batch.  -1 when it could not start (nothing ran): err says why, or is empty when
 * open_engine already reported it.  Else 0 with the summary filled (free it). */
int provost_batch_run(const provost_batch_options *o, provost_batch_summary *s, char *err, size_t errlen);
void provost_batch_summary_free(provost_batch_summary *s);

/* Whether a batch of INPUT could start, before anything is stored or run (a service
 * answering a batch posted to it): rows (FORMAT PROVOST_BATCH_CSV or _JSONL) have a usable
 * header, and NS/PROC (when NS is given) is a public procedure of E.  0, or -1 with err;
 * -2 when the procedure is the problem. */
int provost_batch_check(provost_engine *e, const char *input, int format, const char *ns, const char *proc, char *err,
                        size_t errlen);

/* One request of a batch's inputs, as provost_batch_each hands it over. */
typedef struct provost_batch_request {
    uint64_t pos;         /* from 1, in input order */
    const char *input;    /* the input file, as given */
    unsigned long line;   /* where the request (or row) starts */
    int kind;             /* 'r' a request document, 'c' the data of a call of NS, 'i' invalid */
    const char *text;     /* the request or data as XML text; for 'i' why it is not one */
    size_t len;
    const char *client;   /* clientTransactionId, or NULL */
} provost_batch_request;

/* Reads the inputs (or the ROWS file, FORMAT as in the options) as a batch reads them and
 * calls each with every request, in order, without running anything; NS non-NULL: each
 * input is the data of a call (--call).  each returns 0 to go on.  0, or -1 with err (an
 * input that cannot be used at all, or each stopped). */
int provost_batch_each(const char *const *inputs, int ninputs, const char *rows, int format, const char *ns,
                       int (*each)(void *ud, const provost_batch_request *r), void *ud, char *err, size_t errlen);

/* Writes data to a temporary file beside path, then renames it: the file is complete or
 * not there at all (the batch's state; the command's own outputs too).  Only a regular
 * file (or nothing) is replaced.  0, or -1 with err. */
int provost_write_atomically(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
