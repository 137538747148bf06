/*
 * vec.h -- the one growable array: capacity doubled as it fills, so appending is
 * amortised constant time.  Works on any (pointer, capacity) pair, or on a PU_VEC.
 */
#ifndef PU_VEC_H
#define PU_VEC_H

#include <stddef.h>
#include <stdlib.h>

/* Makes room for need elements of elem bytes in the array whose pointer is at *pptr and
 * whose capacity is *cap: 0, or -1 with both unchanged when out of memory (or when the
 * size would not fit in a size_t). */
int pu_grow(void *pptr, size_t *cap, size_t need, size_t elem);
#define PU_GROW(ptr, cap, need) pu_grow(&(ptr), &(cap), (need), sizeof *(ptr))

/* An array of T with its length and capacity; zeroed, it is empty. */
#define PU_VEC(T) struct { T *v; size_t n, cap; }
/* A pointer to a new last element (not initialised), or NULL when out of memory. */
#define PU_VEC_PUSH(vec) (PU_GROW((vec).v, (vec).cap, (vec).n + 1) == 0 ? &(vec).v[(vec).n++] : NULL)
#define PU_VEC_FREE(vec) (free((vec).v), (vec).v = NULL, (vec).n = (vec).cap = 0)

#endif
