/*
 * hist.h -- the one latency histogram of the house: log-linear (HDR-style), 2^subbits
 * buckets per power of two, so a value is kept within 1/2^subbits of itself (exactly
 * below 2^subbits); min, max and the sum are exact.  Values are plain uint64 in whatever
 * unit the caller uses.
 *
 * The bucket mapping is exposed on its own so that a caller keeping its counts elsewhere
 * (per-thread atomic cells, say) buckets and ranks exactly as pu_hist does.
 */
#ifndef PU_HIST_H
#define PU_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Finer than this costs megabytes per histogram for no use. */
#define PU_HIST_MAX_SUBBITS 16

/* Buckets needed to hold every uint64 at subbits (a constant expression). */
#define PU_HIST_NBUCKETS(subbits) ((size_t)(65u - (unsigned)(subbits)) << (subbits))

/* ---- the mapping --------------------------------------------------------------------- */

/* The bucket v falls in: below PU_HIST_NBUCKETS(subbits). */
size_t pu_hist_bucket(unsigned subbits, uint64_t v);
/* The values bucket b holds: [*low, *high].  b must be below PU_HIST_NBUCKETS(subbits). */
void pu_hist_bucket_range(unsigned subbits, size_t b, uint64_t *low, uint64_t *high);
/* The bucket holding the value of rank round(q * total) (at least 1, at most total) among
 * counts[0..nbuckets), or nbuckets when total is 0 or the counts hold fewer values.  Any q
 * is accepted: below 0 (and NaN) ranks the first value, above 1 the last. */
size_t pu_hist_rank(const uint64_t *counts, size_t nbuckets, uint64_t total, double q);

/* ---- the histogram ------------------------------------------------------------------- */

typedef struct pu_hist {
    unsigned subbits;
    size_t nbuckets;
    uint64_t *counts;
    uint64_t total;
    uint64_t min, max; /* min is UINT64_MAX and max 0 while empty */
    uint64_t sum;      /* stays at UINT64_MAX rather than wrap */
} pu_hist;

/* -1 when out of memory or subbits is above PU_HIST_MAX_SUBBITS. */
int pu_hist_init(pu_hist *h, unsigned subbits);
void pu_hist_free(pu_hist *h);
void pu_hist_add(pu_hist *h, uint64_t v);
/* -1 (and to unchanged) when the two differ in subbits. */
int pu_hist_merge(pu_hist *to, const pu_hist *from);
/* The value at quantile q (0..1): the top of the bucket it falls in, at most max; 0 when
 * empty. */
uint64_t pu_hist_quantile(const pu_hist *h, double q);

#endif
