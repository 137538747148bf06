/*
 * stats.h -- the counters of a database's engine, read from another process: the
 * engine publishes its per-procedure counters (SPEC §9) and its engine-wide ones in
 * <db>/counters, a shared-memory file it updates as it runs (docs/operations.md, "Live
 * counters").  Reading needs neither the engine nor its database lock, and never slows
 * the engine down.
 */
#ifndef PROVOST_STATS_H
#define PROVOST_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The process that writes (or last wrote) the file. */
enum provost_writer_state {
    PROVOST_WRITER_NONE = 0,   /* no counters file: nothing has run on this database yet */
    PROVOST_WRITER_LIVE = 1,   /* running now */
    PROVOST_WRITER_EXITED = 2, /* closed its engine: the counters are its last values */
    PROVOST_WRITER_DIED = 3    /* ended without closing (killed, crashed): its last values */
};

typedef struct provost_engine_counter {
    char *name; /* a Prometheus metric name, e.g. provost_journal_syncs_total */
    int gauge;  /* 0: a counter (only goes up) */
    uint64_t value;
} provost_engine_counter;

/* Failed requests with one failure code (code 0: any code past the file's table of 32). */
typedef struct provost_failure_count {
    uint32_t code;
    uint64_t count;
} provost_failure_count;

typedef struct provost_live_stats {
    int writer;          /* enum provost_writer_state */
    unsigned version;    /* of the file's format */
    uint64_t generation; /* goes up by one with each engine that writes the file */
    int64_t pid;         /* the writer's process id */
    int64_t started;     /* when it began writing, seconds since the epoch */
    int incomplete;      /* the file filled up: some counts are in the writer's memory only */
    provost_proc_stats *procs; /* every procedure that has run (as provost_stats gives) */
    size_t nprocs;
    provost_engine_counter *engine;
    size_t nengine;
    provost_failure_count *failures; /* requests that failed, by code, most frequent first */
    size_t nfailures;
} provost_live_stats;

/* A request that failed, as the engine that ran it keeps the last 20 (in memory: since it
 * opened).  Strings are never NULL. */
typedef struct provost_failure_event {
    int64_t time_ms; /* when it ended, ms since the epoch */
    char *principal, *ns, *proc;
    uint32_t code;
    char *message; /* the failure's description, cut at 200 bytes */
} provost_failure_event;

/* The engine's last failed requests (at most 20), most recent first.  0, or -1 (out of
 * memory, ERR set). */
int provost_recent_failures(provost_engine *e, provost_failure_event **out, size_t *n, provost_error *err);
void provost_failure_events_free(provost_failure_event *v, size_t n);

/* Reads DB_DIR/counters.  0 (writer PROVOST_WRITER_NONE and nothing else set when there
 * is no file), or -1 with a one-line reason in ERR when the file is not a counters file
 * this version reads, or is truncated or damaged. */
int provost_live_stats_read(const char *db_dir, provost_live_stats *out, char *err, size_t errlen);
void provost_live_stats_free(provost_live_stats *s);

/* ---- renderings (run/, for `provost stats` and the service) ---------------------------- */

/* S as one line of JSON (docs/operations.md "Live counters"), DB naming the database.
 * 0, or -1 when writing to F failed. */
int provost_stats_json(FILE *f, const char *db, const provost_live_stats *s);
/* S in the Prometheus text exposition format (version 0.0.4).  0, or -1 when writing to F
 * failed. */
int provost_stats_prometheus(FILE *f, const provost_live_stats *s);
/* As provost_stats_prometheus, with what the open engine E (whose counters S are) adds:
 * stuck transactions, the queue's jobs by state, the process's own figures.  0, or -1 with
 * ERR (the journal or the queue could not be read, or writing to F failed). */
int provost_stats_prometheus_engine(FILE *f, provost_engine *e, const provost_live_stats *s, provost_error *err);
/* The dashboard's JSON (GET /stats; the shape docs/operations.md gives) from the open
 * engine E and its counters S: one line.  0, or -1 with ERR. */
int provost_stats_dashboard(FILE *f, provost_engine *e, const provost_live_stats *s, provost_error *err);

#ifdef __cplusplus
}
#endif
#endif
