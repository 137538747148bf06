/*
 * bench_out.c -- what `provost bench` reports: a text summary, a JSON document, and an SVG
 * picture (the latency histogram, latency over time, throughput over time), drawn here
 * with nothing but fprintf.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "rbench.h"

static double us(uint64_t ns) { return (double)ns / 1000.0; }

static double mean_us(const pu_hist *h) { return h->total ? (double)h->sum / (double)h->total / 1000.0 : 0; }

static void name_of(const breport *r, char *out, size_t cap)
{
    if (r->request)
        snprintf(out, cap, "request %s", r->request);
    else
        snprintf(out, cap, "%s/%s", r->ns, r->proc);
}

/* ---- text --------------------------------------------------------------------------- */

void bench_print_text(const breport *r, FILE *to)
{
    char name[600];
    name_of(r, name, sizeof name);
    const pu_hist *h = r->hist;
    fprintf(to, "%s: %d thread%s, sync %s, %.1f s (after %.1f s of warmup)\n", name, r->threads,
            r->threads == 1 ? "" : "s", r->sync, r->elapsed_s, r->warmup_s);
    fprintf(to, "requests     %llu (%llu succeeded, %llu failed)\n", (unsigned long long)r->requests,
            (unsigned long long)(r->requests - r->failed), (unsigned long long)r->failed);
    fprintf(to, "throughput   %.1f requests/s\n", r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0);
    fprintf(to, "latency (us) p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (min %.1f, mean %.1f)\n",
            us(pu_hist_quantile(h, 0.50)), us(pu_hist_quantile(h, 0.90)), us(pu_hist_quantile(h, 0.99)),
            us(pu_hist_quantile(h, 0.999)), us(h->max), us(h->total ? h->min : 0), mean_us(h));
    fprintf(to, "journal      %llu syncs (%.2f per request), %llu writes\n", (unsigned long long)r->journal_syncs,
            r->requests ? (double)r->journal_syncs / (double)r->requests : 0, (unsigned long long)r->journal_writes);
    for (size_t i = 0; i < r->nerrors; i++)
        fprintf(to, "%s 0x%08X x %llu: %s\n", i ? "            " : "errors      ", r->errors[i].code,
                (unsigned long long)r->errors[i].count, r->errors[i].sample);
    if (!r->nprocs)
        return;
    fprintf(to, "\n%-40s %9s %9s %7s %7s %10s %10s %10s %10s %10s\n", "PROCEDURE (provost_stats)", "COUNT", "OK",
            "FAILED", "INDOUBT", "P50(us)", "P90(us)", "P99(us)", "P99.9(us)", "MAX(us)");
    for (size_t i = 0; i < r->nprocs; i++) {
        const provost_proc_stats *p = &r->procs[i];
        char pn[512];
        snprintf(pn, sizeof pn, "%s/%s", p->ns, p->proc);
        fprintf(to, "%-40s %9llu %9llu %7llu %7llu %10.1f %10.1f %10.1f %10.1f %10.1f\n", pn,
                (unsigned long long)p->count, (unsigned long long)p->succeeded, (unsigned long long)p->failed,
                (unsigned long long)p->in_doubt, p->p50, p->p90, p->p99, p->p999, p->max);
    }
}

/* ---- JSON --------------------------------------------------------------------------- */

/* Numbers without exponents or non-finite values. */
static void jnum(FILE *to, double v)
{
    if (!isfinite(v))
        v = 0;
    fprintf(to, "%.3f", v);
}

/* The non-empty buckets: [low_us, high_us, count]. */
static void json_histogram(FILE *to, const pu_hist *h)
{
    fputs("  \"histogram\": [", to);
    int first = 1;
    for (size_t b = 0; b < h->nbuckets; b++) {
        if (!h->counts[b])
            continue;
        uint64_t lo, hi;
        pu_hist_bucket_range(h->subbits, b, &lo, &hi);
        fprintf(to, "%s[", first ? "" : ", ");
        jnum(to, us(lo));
        fputs(", ", to);
        jnum(to, us(hi));
        fprintf(to, ", %llu]", (unsigned long long)h->counts[b]);
        first = 0;
    }
    fputs("],\n", to);
}

static void json_series(FILE *to, const bseries *s)
{
    fputs("  \"series\": {\"interval_s\": ", to);
    jnum(to, (double)s->width_ns / 1e9);
    fputs(", \"points\": [", to);
    for (size_t i = 0; i < s->n; i++) {
        const pu_hist *iv = &s->iv[i];
        uint64_t n = iv->counts ? iv->total : 0;
        fprintf(to, "%s\n    {\"t_s\": ", i ? "," : "");
        jnum(to, (double)(i * s->width_ns) / 1e9);
        fprintf(to, ", \"requests\": %llu, \"p50_us\": ", (unsigned long long)n);
        jnum(to, n ? us(pu_hist_quantile(iv, 0.5)) : 0);
        fputs(", \"p99_us\": ", to);
        jnum(to, n ? us(pu_hist_quantile(iv, 0.99)) : 0);
        fputs(", \"max_us\": ", to);
        jnum(to, n ? us(iv->max) : 0);
        fputc('}', to);
    }
    fputs(s->n ? "\n  ]},\n" : "]},\n", to);
}

static void json_procedures(FILE *to, const breport *r)
{
    fputs("  \"procedures\": [", to);
    for (size_t i = 0; i < r->nprocs; i++) {
        const provost_proc_stats *p = &r->procs[i];
        fputs(i ? ",\n    {\"namespace\": " : "\n    {\"namespace\": ", to);
        pu_json_string(to, p->ns);
        fputs(", \"procedure\": ", to);
        pu_json_string(to, p->proc);
        fprintf(to, ", \"count\": %llu, \"succeeded\": %llu, \"failed\": %llu, \"in_doubt\": %llu",
                (unsigned long long)p->count, (unsigned long long)p->succeeded, (unsigned long long)p->failed,
                (unsigned long long)p->in_doubt);
        const double v[] = {p->p50, p->p90, p->p99, p->p999, p->max, p->mean};
        const char *k[] = {"p50_us", "p90_us", "p99_us", "p999_us", "max_us", "mean_us"};
        for (int j = 0; j < 6; j++) {
            fprintf(to, ", \"%s\": ", k[j]);
            jnum(to, v[j]);
        }
        fputc('}', to);
    }
}

int bench_write_json(const breport *r, FILE *to)
{
    const pu_hist *h = r->hist;
    fputs("{\n  \"namespace\": ", to);
    pu_json_string(to, r->ns);
    fputs(",\n  \"procedure\": ", to);
    pu_json_string(to, r->proc);
    fputs(",\n  \"request\": ", to);
    pu_json_string(to, r->request);
    fputs(",\n  \"data\": ", to);
    pu_json_string(to, r->data);
    fprintf(to, ",\n  \"threads\": %d,\n  \"sync\": ", r->threads);
    pu_json_string(to, r->sync);
    fputs(",\n  \"warmup_s\": ", to);
    jnum(to, r->warmup_s);
    fputs(",\n  \"elapsed_s\": ", to);
    jnum(to, r->elapsed_s);
    fprintf(to, ",\n  \"requests\": %llu,\n  \"succeeded\": %llu,\n  \"failed\": %llu,\n  \"throughput_rps\": ",
            (unsigned long long)r->requests, (unsigned long long)(r->requests - r->failed),
            (unsigned long long)r->failed);
    jnum(to, r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0);
    fprintf(to, ",\n  \"journal_syncs\": %llu,\n  \"journal_writes\": %llu,\n  \"journal_syncs_per_request\": ",
            (unsigned long long)r->journal_syncs, (unsigned long long)r->journal_writes);
    jnum(to, r->requests ? (double)r->journal_syncs / (double)r->requests : 0);
    fputs(",\n  \"latency_us\": {\"p50\": ", to);
    jnum(to, us(pu_hist_quantile(h, 0.50)));
    fputs(", \"p90\": ", to);
    jnum(to, us(pu_hist_quantile(h, 0.90)));
    fputs(", \"p99\": ", to);
    jnum(to, us(pu_hist_quantile(h, 0.99)));
    fputs(", \"p999\": ", to);
    jnum(to, us(pu_hist_quantile(h, 0.999)));
    fputs(", \"max\": ", to);
    jnum(to, us(h->max));
    fputs(", \"min\": ", to);
    jnum(to, us(h->total ? h->min : 0));
    fputs(", \"mean\": ", to);
    jnum(to, mean_us(h));
    fputs("},\n  \"errors\": [", to);
    for (size_t i = 0; i < r->nerrors; i++) {
        fprintf(to, "%s\n    {\"code\": \"0x%08X\", \"count\": %llu, \"message\": ", i ? "," : "", r->errors[i].code,
                (unsigned long long)r->errors[i].count);
        pu_json_string(to, r->errors[i].sample);
        fputc('}', to);
    }
    fputs(r->nerrors ? "\n  ],\n" : "],\n", to);
    json_histogram(to, h);
    json_series(to, r->series);
    json_procedures(to, r);
    fputs(r->nprocs ? "\n  ]\n}\n" : "]\n}\n", to);
    return ferror(to) ? -1 : 0;
}

/* ---- SVG ---------------------------------------------------------------------------- */

#define W 960
#define LEFT 90
#define RIGHT 40
#define PW (W - LEFT - RIGHT)

static const char *const C_BAR = "#4c78a8", *const C_P50 = "#2b6cb0", *const C_P99 = "#dd6b20",
                         *const C_MAX = "#c53030", *const C_GRID = "#e2e8f0", *const C_TEXT = "#1a202c",
                         *const C_MUTED = "#4a5568";

static void esc(FILE *to, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", to);
        else if (*s == '>')
            fputs("&gt;", to);
        else if (*s == '&')
            fputs("&amp;", to);
        else if (*s == '"')
            fputs("&quot;", to);
        else
            fputc(*s, to);
    }
}

/* "850 µs", "1.2 ms", "3 s" */
static void fmt_time(double v_us, char *out, size_t cap)
{
    if (v_us < 1)
        snprintf(out, cap, "%.2g \xC2\xB5s", v_us);
    else if (v_us < 1000)
        snprintf(out, cap, "%.3g \xC2\xB5s", v_us);
    else if (v_us < 1e6)
        snprintf(out, cap, "%.3g ms", v_us / 1000);
    else
        snprintf(out, cap, "%.3g s", v_us / 1e6);
}

static void text(FILE *to, double x, double y, const char *anchor, int size, const char *color, const char *s)
{
    fprintf(to, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" fill=\"%s\">", x, y, anchor, size,
            color);
    esc(to, s);
    fputs("</text>\n", to);
}

/* A log10 axis of time (µs) across the plot width: decades from lo to hi. */
typedef struct logaxis {
    double lo, hi; /* log10 of µs */
} logaxis;

static logaxis log_range(double min_us, double max_us)
{
    if (min_us <= 0)
        min_us = 0.1;
    if (max_us < min_us)
        max_us = min_us;
    logaxis a = {floor(log10(min_us)), ceil(log10(max_us))};
    if (a.hi <= a.lo)
        a.hi = a.lo + 1;
    return a;
}

static double log_pos(const logaxis *a, double v_us, double from, double len)
{
    if (v_us <= 0)
        v_us = pow(10, a->lo);
    return from + (log10(v_us) - a->lo) / (a->hi - a->lo) * len;
}

/* Horizontal log axis under a plot at y, with labelled decades and 2, 5 between. */
static void x_log_axis(FILE *to, const logaxis *a, double top, double y)
{
    for (int d = (int)a->lo; d <= (int)a->hi; d++) {
        for (int m = 1; m < 10; m++) {
            double v = pow(10, d) * m;
            if (log10(v) > a->hi + 1e-9)
                break;
            double x = log_pos(a, v, LEFT, PW);
            if (m == 1) {
                fprintf(to, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, top, x, y,
                        C_GRID);
                char l[32];
                fmt_time(v, l, sizeof l);
                text(to, x, y + 16, "middle", 12, C_MUTED, l);
            } else if (m == 2 || m == 5) {
                fprintf(to, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, y, x, y + 4,
                        C_MUTED);
            }
        }
    }
    fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, y, LEFT + PW, y, C_MUTED);
}

/* A "nice" step for a linear axis reaching max in about n ticks. */
static double nice_step(double max, int n)
{
    if (max <= 0)
        return 1;
    double raw = max / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void panel_title(FILE *to, double y, const char *title, const char *note)
{
    text(to, LEFT, y, "start", 15, C_TEXT, title);
    if (note)
        text(to, LEFT + PW, y, "end", 12, C_MUTED, note);
}

static void histogram_panel(FILE *to, const breport *r, double top, double height)
{
    const pu_hist *h = r->hist;
    panel_title(to, top - 12, "Latency distribution", "share of requests per latency band (10 per decade)");
    double bottom = top + height;
    logaxis a = log_range(us(h->min), us(h->max));
    int nbins = (int)((a.hi - a.lo) * 10 + 0.5);
    double *bins = calloc((size_t)nbins + 1, sizeof *bins);
    if (!bins)
        return;
    for (size_t b = 0; b < h->nbuckets; b++) {
        if (!h->counts[b])
            continue;
        uint64_t lo, hi;
        pu_hist_bucket_range(h->subbits, b, &lo, &hi);
        double mid = (us(lo) + us(hi)) / 2;
        int k = (int)floor((log10(mid > 0 ? mid : 1e-3) - a.lo) * 10);
        k = k < 0 ? 0 : k >= nbins ? nbins - 1 : k;
        bins[k] += (double)h->counts[b];
    }
    double peak = 0;
    for (int k = 0; k < nbins; k++) {
        bins[k] = h->total ? 100.0 * bins[k] / (double)h->total : 0;
        if (bins[k] > peak)
            peak = bins[k];
    }
    double step = nice_step(peak, 4), ymax = step * ceil(peak / step);
    if (ymax <= 0)
        ymax = 1;
    for (double v = 0; v <= ymax + 1e-9; v += step) {
        double y = bottom - v / ymax * height;
        fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, y, LEFT + PW, y, C_GRID);
        char l[32];
        snprintf(l, sizeof l, "%g%%", v);
        text(to, LEFT - 8, y + 4, "end", 12, C_MUTED, l);
    }
    double bw = (double)PW / nbins;
    for (int k = 0; k < nbins; k++) {
        if (bins[k] <= 0)
            continue;
        double bh = bins[k] / ymax * height;
        if (bh < 1)
            bh = 1;
        fprintf(to, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", LEFT + k * bw + 1,
                bottom - bh, bw - 2 > 1 ? bw - 2 : 1, bh, C_BAR);
    }
    free(bins);
    x_log_axis(to, &a, top, bottom);
    /* the percentiles, labelled along the top */
    struct {
        const char *name;
        double q;
        const char *color;
    } marks[] = {{"p50", 0.5, C_P50}, {"p99", 0.99, C_P99}, {"p99.9", 0.999, C_P99}, {"max", 1, C_MAX}};
    double last_x = -1e9;
    int row = 0;
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        double v = marks[i].q >= 1 ? us(h->max) : us(pu_hist_quantile(h, marks[i].q));
        double x = log_pos(&a, v, LEFT, PW);
        fprintf(to,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"5,3\"/>\n",
                x, top, x, bottom, marks[i].color);
        char t[32], l[64];
        fmt_time(v, t, sizeof t);
        snprintf(l, sizeof l, "%s %s", marks[i].name, t);
        row = x - last_x < 120 ? row + 1 : 0;
        last_x = x;
        bool right = x > LEFT + PW - 120; /* near the right edge: the label goes on the left */
        text(to, right ? x - 4 : x + 4, top + 14 + 14 * row, right ? "end" : "start", 12, marks[i].color, l);
    }
}

/* Seconds of the run interval i covers: the last one may be cut short. */
static double covered(const breport *r, size_t i)
{
    double w = (double)r->series->width_ns / 1e9, left = r->elapsed_s - (double)i * w;
    return left > 0 && left < w ? (left > w / 20 ? left : w / 20) : w;
}

/* Latency (p50, p99, max) per interval on a log scale, then throughput per interval. */
/* Requests per second, per interval, as an area. */
static void throughput_panel(FILE *to, const breport *r, double span, double peak_rps, double top2, double height2)
{
    const bseries *s = r->series;
    panel_title(to, top2 - 12, "Throughput", "requests per second, per interval");
    double bottom2 = top2 + height2;
    double step = nice_step(peak_rps, 3), ymax = step * ceil(peak_rps / step);
    if (ymax <= 0)
        ymax = 1;
    for (double v = 0; v <= ymax + 1e-9; v += step) {
        double y = bottom2 - v / ymax * height2;
        fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, y, LEFT + PW, y, C_GRID);
        char l[32];
        snprintf(l, sizeof l, "%g", v);
        text(to, LEFT - 8, y + 4, "end", 12, C_MUTED, l);
    }
    fprintf(to, "<polygon fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%d,%.1f ", C_BAR,
            C_BAR, LEFT, bottom2);
    for (size_t i = 0; i < s->n; i++) {
        const pu_hist *iv = &s->iv[i];
        double rps = iv->counts ? (double)iv->total / covered(r, i) : 0;
        double w = (double)s->width_ns / 1e9 / span * PW;
        double y = bottom2 - rps / ymax * height2;
        fprintf(to, "%.1f,%.1f %.1f,%.1f ", LEFT + (double)i * w, y, LEFT + ((double)i + 1) * w, y);
    }
    fprintf(to, "%d,%.1f\"/>\n", LEFT + PW, bottom2);
    fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, bottom2, LEFT + PW, bottom2,
            C_MUTED);
    text(to, LEFT + PW / 2.0, bottom2 + 36, "middle", 12, C_MUTED, "time since the start of the measured run");
}

/* p50, p99 and max of each interval, on the log axis a, with their legend. */
static void latency_lines(FILE *to, const bseries *s, const logaxis *ap, double span, double top, double height)
{
    const logaxis a = *ap;
    double bottom = top + height;
    struct {
        const char *name;
        double q;
        const char *color;
        double width;
    } lines[] = {{"p50", 0.5, C_P50, 2.2}, {"p99", 0.99, C_P99, 1.8}, {"max", 1, C_MAX, 1.2}};
    for (size_t k = 0; k < sizeof lines / sizeof lines[0]; k++) {
        fprintf(to,
                "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\"%s "
                "points=\"",
                lines[k].color, lines[k].width, lines[k].q >= 1 ? " stroke-dasharray=\"4,3\"" : "");
        for (size_t i = 0; i < s->n; i++) {
            const pu_hist *iv = &s->iv[i];
            if (!iv->counts || !iv->total)
                continue;
            double v = lines[k].q >= 1 ? us(iv->max) : us(pu_hist_quantile(iv, lines[k].q));
            double x = LEFT + ((double)i + 0.5) * (double)s->width_ns / 1e9 / span * PW;
            double y = bottom - (log10(v > 0 ? v : 1e-3) - a.lo) / (a.hi - a.lo) * height;
            fprintf(to, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>\n", to);
        /* legend */
        double lx = LEFT + PW - 250 + 85 * (double)k;
        fprintf(to, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n", lx,
                top + 12, lx + 22, top + 12, lines[k].color);
        text(to, lx + 27, top + 16, "start", 12, C_TEXT, lines[k].name);
    }
}

static void series_panels(FILE *to, const breport *r, double top, double height, double top2, double height2)
{
    const bseries *s = r->series;
    char note[96];
    snprintf(note, sizeof note, "per %.3g s interval", (double)s->width_ns / 1e9);
    panel_title(to, top - 12, "Latency over time", note);
    double bottom = top + height, span = (double)s->n * (double)s->width_ns / 1e9;
    if (span <= 0)
        span = 1;
    double lo = 1e300, hi = 0, peak_rps = 0;
    for (size_t i = 0; i < s->n; i++) {
        const pu_hist *iv = &s->iv[i];
        if (!iv->counts || !iv->total)
            continue;
        double p50 = us(pu_hist_quantile(iv, 0.5));
        if (p50 < lo)
            lo = p50;
        if (us(iv->max) > hi)
            hi = us(iv->max);
        double rps = (double)iv->total / covered(r, i);
        if (rps > peak_rps)
            peak_rps = rps;
    }
    if (hi <= 0)
        lo = hi = 1;
    logaxis a = log_range(lo, hi);
    /* y: log latency */
    for (int d = (int)a.lo; d <= (int)a.hi; d++) {
        double y = bottom - (d - a.lo) / (a.hi - a.lo) * height;
        fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, y, LEFT + PW, y, C_GRID);
        char l[32];
        fmt_time(pow(10, d), l, sizeof l);
        text(to, LEFT - 8, y + 4, "end", 12, C_MUTED, l);
    }
    double tstep = nice_step(span, 8);
    for (double t = 0; t <= span + 1e-9; t += tstep) {
        double x = LEFT + t / span * PW;
        fprintf(to, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, top, x, bottom, C_GRID);
        fprintf(to, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, top2, x,
                top2 + height2, C_GRID);
        char l[32];
        snprintf(l, sizeof l, "%g s", t);
        text(to, x, top2 + height2 + 16, "middle", 12, C_MUTED, l);
    }
    fprintf(to, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>\n", LEFT, bottom, LEFT + PW, bottom,
            C_MUTED);
    latency_lines(to, s, &a, span, top, height);

    throughput_panel(to, r, span, peak_rps, top2, height2);
}

int bench_write_svg(const breport *r, FILE *to)
{
    const pu_hist *h = r->hist;
    const int height = 860;
    fprintf(to,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, height, W, height);
    char name[600], line[900], a[32], b[32], c[32], d[32], e[32];
    name_of(r, name, sizeof name);
    snprintf(line, sizeof line, "provost bench %s", name);
    text(to, LEFT, 34, "start", 20, C_TEXT, line);
    snprintf(line, sizeof line,
             "%d thread%s, sync %s: %llu requests in %.1f s = %.1f requests/s, %llu failed", r->threads,
             r->threads == 1 ? "" : "s", r->sync, (unsigned long long)r->requests, r->elapsed_s,
             r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s : 0, (unsigned long long)r->failed);
    text(to, LEFT, 58, "start", 14, C_MUTED, line);
    fmt_time(us(pu_hist_quantile(h, 0.5)), a, sizeof a);
    fmt_time(us(pu_hist_quantile(h, 0.9)), b, sizeof b);
    fmt_time(us(pu_hist_quantile(h, 0.99)), c, sizeof c);
    fmt_time(us(pu_hist_quantile(h, 0.999)), d, sizeof d);
    fmt_time(us(h->max), e, sizeof e);
    snprintf(line, sizeof line, "latency  p50 %s   p90 %s   p99 %s   p99.9 %s   max %s", a, b, c, d, e);
    text(to, LEFT, 80, "start", 14, C_TEXT, line);
    histogram_panel(to, r, 130, 250);
    series_panels(to, r, 460, 200, 712, 90);
    fputs("</svg>\n", to);
    return ferror(to) ? -1 : 0;
}
