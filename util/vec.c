/*
 * vec.c -- the growable array's one allocation (see vec.h).
 */
#include <stdint.h>
#include <string.h>

#include "util/vec.h"

int pu_grow(void *pptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return -1;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return -1;
    /* the pointer is read and written as bytes: it may be any object pointer type */
    void *old;
    memcpy(&old, pptr, sizeof old);
    size_t bytes = ncap * elem;
    void *p = realloc(old, bytes ? bytes : 1);
    if (!p)
        return -1;
    memcpy(pptr, &p, sizeof p);
    *cap = ncap;
    return 0;
}
