/*
 * bench_series.c -- the latency of a bench run over time: one coarse histogram per interval.
 */
#include <stdlib.h>
#include <string.h>

#include "rbench.h"

/* ---- the series ------------------------------------------------------------------- */

void bseries_init(bseries *s, uint64_t width_ns)
{
    memset(s, 0, sizeof *s);
    s->width_ns = width_ns;
}

void bseries_free(bseries *s)
{
    for (size_t i = 0; i < BSERIES_MAX; i++)
        pu_hist_free(&s->iv[i]);
    s->n = 0;
}

/* Halve the number of intervals: (0,1) -> 0, (2,3) -> 1, ... */
static void coarsen(bseries *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i += 2, n++) {
        pu_hist a = s->iv[i];
        if (i + 1 < s->n) {
            pu_hist *b = &s->iv[i + 1];
            if (b->counts && !a.counts) {
                a = *b;
                b->counts = NULL;
            } else if (b->counts) {
                pu_hist_merge(&a, b);
            }
            pu_hist_free(b);
        }
        s->iv[i].counts = NULL;
        s->iv[n] = a;
    }
    for (size_t i = n; i < BSERIES_MAX; i++)
        if (s->iv[i].counts && i >= n)
            pu_hist_free(&s->iv[i]);
    s->n = n;
    s->width_ns *= 2;
}

static int slot(bseries *s, size_t i)
{
    while (i >= BSERIES_MAX) {
        coarsen(s);
        i /= 2;
    }
    if (!s->iv[i].counts && pu_hist_init(&s->iv[i], BSERIES_SUBBITS) != 0)
        return -1;
    if (i + 1 > s->n)
        s->n = i + 1;
    return (int)i;
}

int bseries_add(bseries *s, uint64_t at_ns, uint64_t latency_ns)
{
    int i = slot(s, (size_t)(at_ns / s->width_ns));
    if (i < 0)
        return -1;
    pu_hist_add(&s->iv[i], latency_ns);
    return 0;
}

int bseries_merge(bseries *to, bseries *from)
{
    while (from->width_ns < to->width_ns)
        coarsen(from);
    while (to->width_ns < from->width_ns)
        coarsen(to);
    for (size_t i = 0; i < from->n; i++) {
        if (!from->iv[i].counts)
            continue;
        int k = slot(to, i);
        if (k < 0)
            return -1;
        pu_hist_merge(&to->iv[k], &from->iv[i]);
    }
    return 0;
}
