/*
 * hist.c -- the log-linear histogram (see hist.h).  Bucket b < 2^subbits holds the value
 * b; above, each power of two [2^m, 2^(m+1)) is cut into 2^subbits equal buckets.
 */
#include <stdlib.h>
#include <string.h>

#include "util/hist.h"

size_t pu_hist_bucket(unsigned subbits, uint64_t v)
{
    uint64_t subs = 1ull << subbits;
    if (v < subs)
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    return (size_t)(msb - subbits + 1) * subs + (size_t)((v >> (msb - subbits)) & (subs - 1));
}

void pu_hist_bucket_range(unsigned subbits, size_t b, uint64_t *low, uint64_t *high)
{
    uint64_t subs = 1ull << subbits;
    if (b < subs) {
        *low = *high = b;
        return;
    }
    unsigned shift = (unsigned)(b >> subbits) - 1;
    *low = (subs + (b & (subs - 1))) << shift;
    *high = *low + ((1ull << shift) - 1);
}

size_t pu_hist_rank(const uint64_t *counts, size_t nbuckets, uint64_t total, double q)
{
    if (!total)
        return nbuckets;
    /* the conversion is kept inside uint64's range: (double)total may round above it */
    uint64_t want = 1;
    double x = q * (double)total + 0.5;
    if (x >= (double)total)
        want = total;
    else if (x >= 1.0)
        want = (uint64_t)x;
    uint64_t seen = 0;
    for (size_t b = 0; b < nbuckets; b++) {
        seen += counts[b];
        if (seen >= want)
            return b;
    }
    return nbuckets;
}

int pu_hist_init(pu_hist *h, unsigned subbits)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
    if (subbits > PU_HIST_MAX_SUBBITS)
        return -1;
    h->subbits = subbits;
    h->nbuckets = PU_HIST_NBUCKETS(subbits);
    h->counts = calloc(h->nbuckets, sizeof *h->counts);
    return h->counts ? 0 : -1;
}

void pu_hist_free(pu_hist *h)
{
    free(h->counts);
    h->counts = NULL;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

void pu_hist_add(pu_hist *h, uint64_t v)
{
    h->counts[pu_hist_bucket(h->subbits, v)]++;
    h->total++;
    h->sum = add_sat(h->sum, v);
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

int pu_hist_merge(pu_hist *to, const pu_hist *from)
{
    if (to->subbits != from->subbits)
        return -1;
    if (!from->total)
        return 0;
    for (size_t b = 0; b < from->nbuckets; b++)
        to->counts[b] += from->counts[b];
    to->total += from->total;
    to->sum = add_sat(to->sum, from->sum);
    if (from->min < to->min)
        to->min = from->min;
    if (from->max > to->max)
        to->max = from->max;
    return 0;
}

uint64_t pu_hist_quantile(const pu_hist *h, double q)
{
    size_t b = pu_hist_rank(h->counts, h->nbuckets, h->total, q);
    if (b == h->nbuckets)
        return h->max;
    uint64_t low, high;
    pu_hist_bucket_range(h->subbits, b, &low, &high);
    return high < h->max ? high : h->max;
}
