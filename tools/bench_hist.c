/*
 * bench_hist.c -- the latency histogram of `provost bench` and its series over time.
 */
#include <stdlib.h>
#include <string.h>

#include "tools/bench.h"

int bhist_init(bhist *h, unsigned subbits)
{
    memset(h, 0, sizeof *h);
    h->subbits = subbits;
    h->nbuckets = (size_t)(65 - subbits) << subbits;
    h->counts = calloc(h->nbuckets, sizeof *h->counts);
    h->min = UINT64_MAX;
    return h->counts ? 0 : -1;
}

void bhist_free(bhist *h)
{
    free(h->counts);
    h->counts = NULL;
}

static size_t bucket_of(unsigned subbits, uint64_t v)
{
    uint64_t subs = 1ull << subbits;
    if (v < subs)
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    return (size_t)(msb - subbits + 1) * subs + (size_t)((v >> (msb - subbits)) & (subs - 1));
}

void bhist_bucket_range(const bhist *h, size_t b, uint64_t *low, uint64_t *high)
{
    uint64_t subs = 1ull << h->subbits;
    if (b < subs) {
        *low = *high = b;
        return;
    }
    unsigned msb = (unsigned)(b >> h->subbits) + h->subbits - 1;
    unsigned shift = msb - h->subbits;
    *low = (subs + (b & (subs - 1))) << shift;
    *high = *low + ((1ull << shift) - 1);
}

void bhist_add(bhist *h, uint64_t ns)
{
    h->counts[bucket_of(h->subbits, ns)]++;
    h->total++;
    h->sum += ns;
    if (ns < h->min)
        h->min = ns;
    if (ns > h->max)
        h->max = ns;
}

void bhist_merge(bhist *to, const bhist *from)
{
    if (!from->total)
        return;
    for (size_t b = 0; b < from->nbuckets; b++)
        to->counts[b] += from->counts[b];
    to->total += from->total;
    to->sum += from->sum;
    if (from->min < to->min)
        to->min = from->min;
    if (from->max > to->max)
        to->max = from->max;
}

uint64_t bhist_quantile(const bhist *h, double q)
{
    if (!h->total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->total + 0.5), seen = 0;
    if (want == 0)
        want = 1;
    for (size_t b = 0; b < h->nbuckets; b++) {
        seen += h->counts[b];
        if (seen >= want) {
            uint64_t low, high;
            bhist_bucket_range(h, b, &low, &high);
            return high < h->max ? high : h->max;
        }
    }
    return h->max;
}

/* ---- the series ------------------------------------------------------------------- */

void bseries_init(bseries *s, uint64_t width_ns)
{
    memset(s, 0, sizeof *s);
    s->width_ns = width_ns;
}

void bseries_free(bseries *s)
{
    for (size_t i = 0; i < BSERIES_MAX; i++)
        bhist_free(&s->iv[i]);
    s->n = 0;
}

/* Halve the number of intervals: (0,1) -> 0, (2,3) -> 1, ... */
static void coarsen(bseries *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i += 2, n++) {
        bhist a = s->iv[i];
        if (i + 1 < s->n) {
            bhist *b = &s->iv[i + 1];
            if (b->counts && !a.counts) {
                a = *b;
                b->counts = NULL;
            } else if (b->counts) {
                bhist_merge(&a, b);
            }
            bhist_free(b);
        }
        s->iv[i].counts = NULL;
        s->iv[n] = a;
    }
    for (size_t i = n; i < BSERIES_MAX; i++)
        if (s->iv[i].counts && i >= n)
            bhist_free(&s->iv[i]);
    s->n = n;
    s->width_ns *= 2;
}

static int slot(bseries *s, size_t i)
{
    while (i >= BSERIES_MAX) {
        coarsen(s);
        i /= 2;
    }
    if (!s->iv[i].counts && bhist_init(&s->iv[i], BSERIES_SUBBITS) != 0)
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
    bhist_add(&s->iv[i], latency_ns);
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
        bhist_merge(&to->iv[k], &from->iv[i]);
    }
    return 0;
}
