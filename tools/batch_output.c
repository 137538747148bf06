/*
 * batch_output.c -- what `provost batch` writes: one JSON line per request, the tallies and
 * latency histogram behind the summary, the progress display, and the scan of an existing
 * results file when a batch is resumed.
 */
#define _GNU_SOURCE /* pread, pwrite */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tools/batch.h"

const char *const batch_status_names[BS__COUNT] = {"succeeded", "failed", "stuck", "invalid"};

/* ---- JSON ----------------------------------------------------------------------------- */

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (*len + n + 1 > c)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static int puts_(char **buf, size_t *len, size_t *cap, const char *s)
{
    return put(buf, len, cap, s, strlen(s));
}

int batch_json_escape(const char *s, size_t n, char **buf, size_t *len, size_t *cap)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc[2] = 0;
        } else if (c == '\n') {
            strcpy(esc, "\\n");
        } else if (c == '\t') {
            strcpy(esc, "\\t");
        } else if (c == '\r') {
            strcpy(esc, "\\r");
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
        } else {
            continue;
        }
        if (put(buf, len, cap, s + from, i - from) || puts_(buf, len, cap, esc))
            return -1;
        from = i + 1;
    }
    return put(buf, len, cap, s + from, n - from);
}

static int put_string(char **buf, size_t *len, size_t *cap, const char *s)
{
    if (!s)
        return puts_(buf, len, cap, "null");
    return puts_(buf, len, cap, "\"") || batch_json_escape(s, strlen(s), buf, len, cap) ||
                   puts_(buf, len, cap, "\"")
               ? -1
               : 0;
}

int batch_result_format(const batch_result *r, char **buf, size_t *len, size_t *cap)
{
    char num[96];
    snprintf(num, sizeof num, "{\"position\":%" PRIu64 ",\"input\":", r->pos);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->input))
        return -1;
    snprintf(num, sizeof num, ",\"line\":%lu,\"clientTransactionId\":", r->line);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->client) ||
        puts_(buf, len, cap, ",\"transactionId\":") || put_string(buf, len, cap, r->txid) ||
        puts_(buf, len, cap, ",\"status\":") || put_string(buf, len, cap, batch_status_names[r->status]))
        return -1;
    snprintf(num, sizeof num, ",\"code\":\"0x%08X\",\"description\":", r->code);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->description))
        return -1;
    if (r->ms >= 0)
        snprintf(num, sizeof num, ",\"durationMs\":%.3f", r->ms);
    else
        snprintf(num, sizeof num, ",\"durationMs\":null");
    if (puts_(buf, len, cap, num))
        return -1;
    if (r->resumed && puts_(buf, len, cap, ",\"resumed\":true"))
        return -1;
    if (r->response) {
        if (puts_(buf, len, cap, ",\"response\":\"") ||
            batch_json_escape(r->response, r->response_len, buf, len, cap) || puts_(buf, len, cap, "\""))
            return -1;
    }
    return puts_(buf, len, cap, "}\n");
}

/* ---- latencies ------------------------------------------------------------------------ */

static size_t bucket_of(uint64_t us)
{
    if (us < 128)
        return (size_t)us;
    int msb = 63 - __builtin_clzll(us);
    int shift = msb - 6;
    size_t b = (size_t)(shift + 1) * 64 + (size_t)((us >> shift) - 64);
    return b < BATCH_HIST_BUCKETS ? b : BATCH_HIST_BUCKETS - 1;
}

/* The middle of a bucket's range, in microseconds. */
static double bucket_value(size_t b)
{
    if (b < 128)
        return (double)b;
    size_t shift = b / 64 - 1;
    uint64_t lo = (uint64_t)(64 + b % 64) << shift;
    return (double)lo + (double)((uint64_t)1 << shift) / 2.0;
}

void batch_hist_add(batch_hist *h, uint64_t us)
{
    h->n[bucket_of(us)]++;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
}

void batch_hist_merge(batch_hist *into, const batch_hist *from)
{
    for (size_t i = 0; i < BATCH_HIST_BUCKETS; i++)
        into->n[i] += from->n[i];
    into->count += from->count;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

double batch_hist_quantile(const batch_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < BATCH_HIST_BUCKETS; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            double v = bucket_value(i);
            return v > (double)h->max_us ? (double)h->max_us : v;
        }
    }
    return (double)h->max_us;
}

/* ---- tallies -------------------------------------------------------------------------- */

static int add_code(batch_tally *t, uint32_t code, uint64_t n)
{
    for (size_t i = 0; i < t->ncodes; i++)
        if (t->codes[i].code == code) {
            t->codes[i].n += n;
            return 0;
        }
    if (t->ncodes == t->capcodes) {
        size_t c = t->capcodes ? t->capcodes * 2 : 8;
        batch_code_count *nc = realloc(t->codes, c * sizeof *nc);
        if (!nc)
            return -1;
        t->codes = nc;
        t->capcodes = c;
    }
    t->codes[t->ncodes++] = (batch_code_count){code, n};
    return 0;
}

int batch_tally_add(batch_tally *t, int status, uint32_t code, uint64_t n)
{
    t->by_status[status] += n;
    return status == BS_SUCCEEDED ? 0 : add_code(t, code, n);
}

int batch_tally_merge(batch_tally *into, const batch_tally *from)
{
    for (int s = 0; s < BS__COUNT; s++)
        into->by_status[s] += from->by_status[s];
    for (size_t i = 0; i < from->ncodes; i++)
        if (add_code(into, from->codes[i].code, from->codes[i].n) != 0)
            return -1;
    return 0;
}

void batch_tally_free(batch_tally *t)
{
    free(t->codes);
    memset(t, 0, sizeof *t);
}

uint64_t batch_tally_total(const batch_tally *t)
{
    uint64_t n = 0;
    for (int s = 0; s < BS__COUNT; s++)
        n += t->by_status[s];
    return n;
}

/* ---- positions already done ----------------------------------------------------------- */

bool batch_seen_has(const batch_seen *s, uint64_t pos)
{
    uint64_t byte = pos / 8;
    return byte < s->nbytes && (s->bits[byte] >> (pos % 8)) & 1;
}

int batch_seen_set(batch_seen *s, uint64_t pos)
{
    uint64_t byte = pos / 8;
    if (byte >= s->nbytes) {
        size_t n = s->nbytes ? s->nbytes : 4096;
        while (n <= byte)
            n *= 2;
        uint8_t *b = realloc(s->bits, n);
        if (!b)
            return -1;
        memset(b + s->nbytes, 0, n - s->nbytes);
        s->bits = b;
        s->nbytes = n;
    }
    if ((s->bits[byte] >> (pos % 8)) & 1)
        return 0;
    s->bits[byte] |= (uint8_t)(1u << (pos % 8));
    s->count++;
    return 1;
}

void batch_seen_free(batch_seen *s)
{
    free(s->bits);
    memset(s, 0, sizeof *s);
}

/* One results line: its position, status and code; false when it is not one of ours. */
static bool parse_line(const char *line, size_t len, uint64_t *pos, int *status, uint32_t *code)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    if (!o)
        return false;
    bool ok = false;
    json_t *p = json_object_get(o, "position"), *s = json_object_get(o, "status"), *c = json_object_get(o, "code");
    if (json_is_integer(p) && json_integer_value(p) > 0 && json_is_string(s) && json_is_string(c)) {
        *pos = (uint64_t)json_integer_value(p);
        *status = -1;
        for (int i = 0; i < BS__COUNT; i++)
            if (strcmp(json_string_value(s), batch_status_names[i]) == 0)
                *status = i;
        unsigned v = 0;
        char extra;
        ok = *status >= 0 && sscanf(json_string_value(c), "0x%8x%c", &v, &extra) == 1;
        *code = v;
    }
    json_decref(o);
    return ok;
}

int batch_results_scan(int fd, batch_seen *seen, batch_tally *tally, uint64_t *dropped, char *err, size_t errlen)
{
    *dropped = 0;
    char *buf = malloc(65536), *line = NULL;
    size_t linelen = 0, linecap = 0;
    off_t rd = 0, wr = 0, line_at = 0;
    int rc = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Complete, valid, first-seen lines are kept, moved down over the dropped ones. */
    for (bool eof = false; !eof && rc == 0;) {
        ssize_t n = pread(fd, buf, 65536, rd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot be read: %s", strerror(errno));
            rc = -1;
            break;
        }
        eof = n == 0;
        for (ssize_t i = 0; i < n && rc == 0; i++) {
            if (linelen + 2 > linecap) {
                size_t c = linecap ? linecap * 2 : 1024;
                char *nl = realloc(line, c);
                if (!nl) {
                    snprintf(err, errlen, "out of memory");
                    rc = -1;
                    break;
                }
                line = nl;
                linecap = c;
            }
            line[linelen++] = buf[i];
            if (buf[i] != '\n')
                continue;
            uint64_t pos;
            int status;
            uint32_t code;
            int fresh = 0;
            if (parse_line(line, linelen, &pos, &status, &code) && (fresh = batch_seen_set(seen, pos)) > 0 &&
                batch_tally_add(tally, status, code, 1) == 0) {
                if (wr != line_at && pwrite(fd, line, linelen, wr) != (ssize_t)linelen) {
                    snprintf(err, errlen, "cannot be rewritten: %s", strerror(errno));
                    rc = -1;
                }
                wr += (off_t)linelen;
            } else if (fresh < 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else {
                ++*dropped;
            }
            line_at += (off_t)linelen;
            linelen = 0;
        }
        rd += n;
    }
    if (rc == 0 && linelen) /* a torn last line */
        ++*dropped;
    if (rc == 0 && *dropped && (ftruncate(fd, wr) != 0 || fsync(fd) != 0)) {
        snprintf(err, errlen, "cannot be rewritten: %s", strerror(errno));
        rc = -1;
    }
    free(buf);
    free(line);
    return rc;
}

/* ---- the summary --------------------------------------------------------------------- */

static int by_count(const void *a, const void *b)
{
    const batch_code_count *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : x->code < y->code ? -1 : x->code > y->code;
}

void batch_summary_print(FILE *f, const batch_summary *s)
{
    const batch_tally *all = s->all;
    uint64_t total = batch_tally_total(all), ok = all->by_status[BS_SUCCEEDED], bad = total - ok;
    fprintf(f, "provost batch: %" PRIu64 " request%s: %" PRIu64 " succeeded, %" PRIu64 " failed", total,
            total == 1 ? "" : "s", ok, bad);
    if (bad) {
        qsort(all->codes, all->ncodes, sizeof *all->codes, by_count);
        fputs(" (", f);
        for (size_t i = 0; i < all->ncodes; i++)
            fprintf(f, "%s0x%08X: %" PRIu64, i ? ", " : "", all->codes[i].code, all->codes[i].n);
        fputs(")", f);
    }
    fputc('\n', f);
    if (bad)
        fprintf(f, "  failed: %" PRIu64 " rolled back, %" PRIu64 " invalid (never ran), %" PRIu64 " stuck\n",
                all->by_status[BS_FAILED], all->by_status[BS_INVALID], all->by_status[BS_STUCK]);
    fprintf(f, "  this run: %" PRIu64 " request%s in %.2f s (%.0f requests/s)", s->run, s->run == 1 ? "" : "s",
            s->seconds, s->seconds > 0 ? (double)s->run / s->seconds : 0.0);
    if (s->h->count)
        fprintf(f, "; latency p50 %.3f ms, p99 %.3f ms, max %.3f ms", batch_hist_quantile(s->h, 0.50) / 1000.0,
                batch_hist_quantile(s->h, 0.99) / 1000.0, (double)s->h->max_us / 1000.0);
    fputc('\n', f);
    if (s->seen || s->recorded)
        fprintf(f, "  resumed: %" PRIu64 " already in the results; %" PRIu64 " finished before the interruption "
                   "(outcome recorded, result line written now)\n",
                s->seen, s->recorded);
    if (!s->finished) {
        const char *why = s->stop == BATCH_STOP_ERROR   ? "stopped at the first failure (--stop-on-error)"
                          : s->stop == BATCH_STOP_WRITE ? "stopped: the results could not be written"
                          : s->stop == SIGINT           ? "interrupted (SIGINT)"
                          : s->stop == SIGTERM          ? "interrupted (SIGTERM)"
                                                        : "stopped";
        if (s->total > total)
            fprintf(f, "  %s: %" PRIu64 " request%s not run", why, s->total - total, s->total - total == 1 ? "" : "s");
        else
            fprintf(f, "  %s: the rest was not run", why);
        if (s->results)
            fprintf(f, "; continue with: provost batch --resume --out %s\n", s->out);
        else
            fprintf(f, "; without --out the batch cannot be resumed\n");
    }
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

void batch_progress_print(FILE *to, const batch_progress_view *v, bool tty)
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
