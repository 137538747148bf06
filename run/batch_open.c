/*
 * batch_open.c -- provost_batch_run: a batch set up, run (batch_run.c) and summed up.
 *
 * With results in a file, a state file beside them keeps the batch id, the inputs and
 * whether the batch finished: resume reads it, skips the positions the results file
 * already holds, and submits the others again with the same keys -- those that finished
 * before the interruption (their line may have been lost) come back with their recorded
 * outcome and are not run; those that were running were ended by recovery when the engine
 * opened its database (rolled back, or committed when their commit had been decided),
 * which recorded their outcome too: they are not run again either.
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "provost/outcomes.h"
#include "rbatch.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

static void state_of(const batch_run *b, batch_state *ns, bool finished)
{
    *ns = (batch_state){.db = b->dbabs, .call = b->ns != NULL, .ns = (char *)b->ns, .proc = (char *)b->proc,
                        .format = b->rows ? b->inputs[0].format : BATCH_XML, .inputs = b->abs,
                        .given = (char **)b->given, .ninputs = b->ngiven, .files_hash = b->hash,
                        .nfiles = b->ninputs, .finished = finished};
    memcpy(ns->id, b->id, sizeof ns->id);
}

/* Resuming: the recorded batch must be the one asked for (what it calls, its inputs). */
static int take_recorded(batch_run *b, bool given_here, char *err, size_t errlen)
{
    const batch_state *st = &b->st;
    if (!b->ns && st->call && !given_here) {
        b->ns = st->ns;
        b->proc = st->proc;
    }
    if ((b->ns != NULL) != st->call ||
        (st->call && (strcmp(b->ns, st->ns ? st->ns : "") != 0 || strcmp(b->proc, st->proc ? st->proc : "") != 0)))
        return FAIL("--resume: the batch %s %s%s%s%s", st->call ? "calls" : "runs request files, not",
                    st->call ? st->ns : "a procedure", st->call ? " " : "", st->call ? st->proc : "",
                    st->call ? ": give the same --call (or none)" : ": give no --call");
    if (!given_here) {
        for (int i = 0; i < st->ninputs; i++)
            if (strcmp(st->inputs[i], "-") == 0)
                return FAIL("--resume: the batch read standard input: give it again, as -");
        b->given = (const char *const *)st->given;
        b->ngiven = st->ninputs;
        if (st->call && st->format != BATCH_XML) {
            b->rows = st->given[0];
            b->format = st->format;
        }
    }
    memcpy(b->id, st->id, sizeof b->id);
    return 0;
}

/* The batch: a new one, or the one recorded beside the results. */
static int which_batch(batch_run *b, char *err, size_t errlen)
{
    const provost_batch_options *o = b->o;
    if (o->out && strcmp(o->out, "-") != 0 && batch_out_paths(o->out, &b->results, &b->statep, err, errlen))
        return -1;
    int have = b->statep ? batch_state_read(b->statep, &b->st, err, errlen) : 0;
    if (have < 0)
        return -1;
    b->given = o->inputs;
    b->ngiven = o->ninputs;
    bool given_here = b->ngiven > 0 || o->rows;
    if (o->rows) {
        b->given = &o->rows;
        b->ngiven = 1;
    }
    if (o->resume) {
        if (!have)
            return FAIL("nothing to resume: %s does not exist (start the batch without --resume)",
                        b->statep ? b->statep : "the state file");
        return take_recorded(b, given_here, err, errlen);
    }
    if (have && !b->st.finished)
        return FAIL("%s holds an unfinished batch (%s): continue it with --resume, or remove %s and %s to start again",
                    b->results, b->st.id, b->results, b->statep);
    batch_new_id(b->id);
    return 0;
}

/* The inputs: absolute, the same as recorded when resuming, directories expanded. */
static int find_inputs(batch_run *b, char *err, size_t errlen)
{
    const provost_batch_options *o = b->o;
    const batch_state *st = &b->st;
    bool given_here = o->ninputs > 0 || o->rows;
    if (!(b->abs = calloc((size_t)b->ngiven + 1, sizeof *b->abs)))
        return FAIL("out of memory");
    for (int i = 0; i < b->ngiven; i++)
        if (batch_resolve(b->given[i], &b->abs[i], err, errlen))
            return -1;
    if (o->resume && given_here) {
        bool same = b->ngiven == st->ninputs;
        for (int i = 0; same && i < b->ngiven; i++)
            same = strcmp(b->abs[i], st->inputs[i]) == 0;
        if (!same)
            return FAIL("--resume: these are not the inputs the batch was started with (see %s)", b->statep);
    }
    if (batch_inputs_expand((const char *const *)b->abs, b->given, b->ngiven, b->rows != NULL, b->format, &b->inputs,
                            &b->ninputs, &b->hash, err, errlen) != 0)
        return -1;
    if (o->resume && (b->hash != st->files_hash || b->ninputs != st->nfiles))
        return FAIL("--resume: the files of the input directories changed since the batch started (%lu then, %zu "
                    "now): positions would not match",
                    st->nfiles, b->ninputs);
    char why[1200];
    if (b->rows && batch_source_open(b, &b->first, &b->inputs[0], 0, false, why, sizeof why) != 0)
        return FAIL("%s:%s%s", b->inputs[0].shown, why[0] >= '0' && why[0] <= '9' ? "" : " ", why);
    return 0;
}

/* The engine: opening it rolls back what an interruption left running. */
static int open_engine(batch_run *b, char *err, size_t errlen)
{
    const provost_batch_options *o = b->o;
    const char *db = o->engine.db_path;
    if (o->use_engine) {
        b->e = o->use_engine;
    } else if (o->open_engine) {
        if (!(b->e = o->open_engine(o->ctx, &o->engine)))
            return err[0] = 0, -1;
    } else {
        provost_error perr;
        if (provost_open(&o->engine, &b->e, &perr) != 0)
            return FAIL("%s: %s", db, perr.message);
    }
    b->dbabs = realpath(db, NULL);
    const batch_state *st = &b->st;
    if (o->resume && (!b->dbabs || !st->db || strcmp(b->dbabs, st->db) != 0))
        return FAIL("--resume: the batch ran on the database %s, not %s: its outcomes are there (give --db %s)",
                    st->db ? st->db : "?", b->dbabs ? b->dbabs : db, st->db ? st->db : "?");
    /* a new batch's outcomes age from now (the outcome retention, provost/outcomes.h) */
    provost_error perr;
    if (!o->resume && provost_batch_started(b->e, b->id, &perr) != 0)
        return FAIL("%s: %s", db, perr.message);
    return b->ns ? batch_check_call(b->e, b->ns, b->proc, err, errlen) : 0;
}

/* The results so far (resume) or none, and the state. */
static int open_results(batch_run *b, char *err, size_t errlen)
{
    if (!b->results) {
        b->out = b->o->results_to ? b->o->results_to : stdout;
        return 0;
    }
    uint64_t dropped = 0;
    char why[1200];
    if (b->o->resume) {
        if (batch_results_scan(b->fd, &b->seen, &b->before, &dropped, why, sizeof why) != 0)
            return FAIL("%s: %s", b->results, why);
    } else if (ftruncate(b->fd, 0) != 0) {
        return FAIL("%s: %s", b->results, strerror(errno));
    }
    lseek(b->fd, 0, SEEK_END);
    if (!(b->out = fdopen(b->fd, "w")))
        return FAIL("%s: %s", b->results, strerror(errno));
    b->fd = -1; /* b->out owns it */
    b->out_is_file = true;
    if ((b->outbuf = malloc(1 << 20)))
        setvbuf(b->out, b->outbuf, _IOFBF, 1 << 20);
    batch_state ns;
    state_of(b, &ns, false);
    if (batch_state_write(b->statep, &ns, why, sizeof why) != 0)
        return FAIL("%s: %s", b->statep, why);
    if (dropped)
        batch_say(b, PROVOST_BATCH_SAY_NOTE, "%s: %" PRIu64 " incomplete line%s dropped (written again below)",
                  b->results, dropped, dropped == 1 ? "" : "s");
    return 0;
}

/* Everything before the first request: 0, or -1 with err. */
static int prepare(batch_run *b, char *err, size_t errlen)
{
    if (which_batch(b, err, errlen) || find_inputs(b, err, errlen))
        return -1;
    /* the results file, locked: one batch writes it at a time */
    if (b->results) {
        b->fd = open(b->results, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (b->fd < 0)
            return FAIL("%s: %s", b->results, strerror(errno));
        if (flock(b->fd, LOCK_EX | LOCK_NB) != 0)
            return FAIL("%s is being written by another provost batch", b->results);
    }
    return open_engine(b, err, errlen) || open_results(b, err, errlen) ? -1 : 0;
}

/* ---- after the run -------------------------------------------------------------------- */

/* The results are complete: then the batch is.  Errors go through the message callback. */
static bool finish(batch_run *b, batch_ran *ran, provost_batch_summary *s)
{
    bool finished = ran->finished;
    provost_error gone;
    if (provost_check(b->e, &gone) != 0) {
        batch_say(b, PROVOST_BATCH_SAY_ERROR, "%s", gone.message);
        s->errors++;
        finished = false;
    }
    int write_error = ran->write_error;
    if (fflush(b->out) != 0 || (b->out_is_file && fsync(fileno(b->out)) != 0))
        write_error = errno ? errno : EIO;
    if (write_error) {
        batch_say(b, PROVOST_BATCH_SAY_ERROR, "%s: %s", b->results ? b->results : "standard output",
                  strerror(write_error));
        s->errors++;
        finished = false;
    }
    if (finished && b->results) {
        batch_state ns;
        char err[300];
        state_of(b, &ns, true);
        if (batch_state_write(b->statep, &ns, err, sizeof err) != 0) {
            batch_say(b, PROVOST_BATCH_SAY_ERROR, "%s: %s", b->statep, err);
            s->errors++;
        }
    }
    return finished;
}

static int by_count(const void *a, const void *b)
{
    const batch_code_count *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : x->code < y->code ? -1 : x->code > y->code;
}

static void sum_up(batch_run *b, batch_ran *ran, provost_batch_summary *s)
{
    batch_tally all = {0};
    batch_tally_merge(&all, &b->before);
    batch_tally_merge(&all, &ran->tally);
    memcpy(s->by_status, all.by_status, sizeof s->by_status);
    s->requests = batch_tally_total(&all);
    if (all.ncodes)
        qsort(all.codes, all.ncodes, sizeof *all.codes, by_count);
    if (all.ncodes && (s->codes = calloc(all.ncodes, sizeof *s->codes)))
        for (size_t i = 0; i < all.ncodes; i++)
            s->codes[s->ncodes++] = (provost_batch_code){.code = all.codes[i].code, .n = all.codes[i].n};
    batch_tally_free(&all);
    s->seconds = ran->seconds;
    s->run = atomic_load(&b->done_run);
    s->recorded = atomic_load(&b->done) - s->run;
    s->seen = b->seen.count;
    s->total = atomic_load(&b->total_known) ? atomic_load(&b->total) : 0;
    s->timed = ran->hist.total;
    s->p50_ms = (double)pu_hist_quantile(&ran->hist, 0.50) / 1e6;
    s->p99_ms = (double)pu_hist_quantile(&ran->hist, 0.99) / 1e6;
    s->max_ms = (double)ran->hist.max / 1e6;
    s->stop = batch_stop_reason(b);
    memcpy(s->id, b->id, sizeof s->id);
    s->results = b->results;
    b->results = NULL; /* the summary's now */
}

static void release(batch_run *b)
{
    batch_source_close(&b->first);
    if (b->e && b->e != b->o->use_engine)
        provost_close(b->e);
    if (b->out && b->out_is_file)
        fclose(b->out);
    else if (b->out)
        fflush(b->out);
    if (b->fd >= 0)
        close(b->fd);
    free(b->outbuf);
    batch_tally_free(&b->before);
    batch_seen_free(&b->seen);
    batch_inputs_free(b->inputs, b->ninputs);
    for (int i = 0; b->abs && i < b->ngiven; i++)
        free(b->abs[i]);
    free(b->abs);
    free(b->dbabs);
    free(b->q.items);
    free(b->results);
    free(b->statep);
    batch_state_free(&b->st);
    pthread_mutex_destroy(&b->out_m);
}

int provost_batch_run(const provost_batch_options *o, provost_batch_summary *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    xmlInitParser();
    batch_run *b = calloc(1, sizeof *b);
    if (!b)
        return FAIL("out of memory");
    *b = (batch_run){.o = o, .ns = o->ns, .proc = o->proc, .rows = o->rows, .fd = -1,
                     .format = o->format > 0 ? o->format : -1}; /* XML is no format of rows */
    pthread_mutex_init(&b->out_m, NULL);
    int rc = prepare(b, err, errlen);
    if (rc == 0) {
        batch_ran ran = {0};
        if (batch_run_threads(b, &ran) != 0) {
            rc = FAIL("out of memory");
        } else {
            s->finished = finish(b, &ran, s);
            sum_up(b, &ran, s);
        }
        batch_tally_free(&ran.tally);
        pu_hist_free(&ran.hist);
    }
    release(b);
    free(b);
    return rc;
}

void provost_batch_summary_free(provost_batch_summary *s)
{
    free(s->codes);
    free(s->results);
    memset(s, 0, sizeof *s);
}
