/*
 * batch_print.c -- what `provost batch` prints on stderr: the progress (a bar that redraws
 * itself on a terminal, else a line every so often) and the summary at the end.
 */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>

#include "provost/batch.h"
#include "tools.h"

static void print_stopped(FILE *f, const provost_batch_summary *s, uint64_t total, const char *out)
{
    const char *why = s->stop == PROVOST_BATCH_STOP_ERROR   ? "stopped at the first failure (--stop-on-error)"
                      : s->stop == PROVOST_BATCH_STOP_WRITE ? "stopped: the results could not be written"
                      : s->stop == SIGINT                   ? "interrupted (SIGINT)"
                      : s->stop == SIGTERM                  ? "interrupted (SIGTERM)"
                                                            : "stopped";
    if (s->total > total)
        fprintf(f, "  %s: %" PRIu64 " request%s not run", why, s->total - total, s->total - total == 1 ? "" : "s");
    else
        fprintf(f, "  %s: the rest was not run", why);
    if (s->results)
        fprintf(f, "; continue with: provost batch --resume --out %s\n", out);
    else
        fprintf(f, "; without --out the batch cannot be resumed\n");
}

/* The summary, on f (stderr), worded as it always was. */
void batch_print_summary(FILE *f, const provost_batch_summary *s, const char *out)
{
    uint64_t total = s->requests, ok = s->by_status[PROVOST_BATCH_SUCCEEDED], bad = total - ok;
    fprintf(f, "provost batch: %" PRIu64 " request%s: %" PRIu64 " succeeded, %" PRIu64 " failed", total,
            total == 1 ? "" : "s", ok, bad);
    if (bad) {
        fputs(" (", f);
        for (size_t i = 0; i < s->ncodes; i++)
            fprintf(f, "%s0x%08X: %" PRIu64, i ? ", " : "", s->codes[i].code, s->codes[i].n);
        fputs(")", f);
    }
    fputc('\n', f);
    if (bad)
        fprintf(f, "  failed: %" PRIu64 " rolled back, %" PRIu64 " invalid (never ran), %" PRIu64 " stuck\n",
                s->by_status[PROVOST_BATCH_FAILED], s->by_status[PROVOST_BATCH_INVALID],
                s->by_status[PROVOST_BATCH_STUCK]);
    fprintf(f, "  this run: %" PRIu64 " request%s in %.2f s (%.0f requests/s)", s->run, s->run == 1 ? "" : "s",
            s->seconds, s->seconds > 0 ? (double)s->run / s->seconds : 0.0);
    if (s->timed)
        fprintf(f, "; latency p50 %.3f ms, p99 %.3f ms, max %.3f ms", s->p50_ms, s->p99_ms, s->max_ms);
    fputc('\n', f);
    if (s->seen || s->recorded)
        fprintf(f, "  resumed: %" PRIu64 " already in the results; %" PRIu64 " finished before the interruption "
                   "(outcome recorded, result line written now)\n",
                s->seen, s->recorded);
    if (!s->finished)
        print_stopped(f, s, total, out);
    if (s->results)
        fprintf(f, "  results: %s (batch %s)\n", s->results, s->id);
}

/* ---- progress ------------------------------------------------------------------------- */

static void duration(char *out, size_t cap, double s)
{
    if (s < 0 || s > 360000 || isnan(s))
        snprintf(out, cap, "?");
    else if (s < 60)
        snprintf(out, cap, "%.0fs", s);
    else if (s < 3600)
        snprintf(out, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void batch_print_progress(FILE *to, const provost_batch_progress *v, bool tty)
{
    char eta[32] = "?";
    uint64_t left = v->total > v->done ? v->total - v->done : 0;
    if (v->total && v->rate > 0)
        duration(eta, sizeof eta, (double)left / v->rate);
    else if (v->total && !left)
        snprintf(eta, sizeof eta, "0s");
    char count[64];
    if (v->total)
        snprintf(count, sizeof count, "%" PRIu64 "/%" PRIu64, v->done, v->total);
    else
        snprintf(count, sizeof count, "%" PRIu64 "/?", v->done);
    if (tty) {
        char bar[31];
        int width = 30, full = v->total ? (int)((double)v->done * width / (double)v->total) : 0;
        if (full > width)
            full = width;
        for (int i = 0; i < width; i++)
            bar[i] = i < full ? '#' : '.';
        bar[width] = 0;
        char pct[8] = "  ?%";
        if (v->total)
            snprintf(pct, sizeof pct, "%3.0f%%", 100.0 * (double)v->done / (double)v->total);
        fprintf(to, "\r%s [%s] %s  %.0f/s  ETA %s  failed %" PRIu64 "\033[K", pct, bar, count, v->rate, eta,
                v->failed);
    } else {
        char took[32];
        duration(took, sizeof took, v->elapsed);
        fprintf(to, "provost batch: %s done, %.0f/s, ETA %s, %" PRIu64 " failed (%s)\n", count, v->rate, eta,
                v->failed, took);
    }
    fflush(to);
}
