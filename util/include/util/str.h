/*
 * str.h -- names compared without case, as the language matches them: ASCII letters
 * only, whatever the locale (a process that sets a Turkish locale must still find
 * "ITEM" under "item").  The order is strcasecmp's in the C locale, so a list sorted
 * with one is searched with the other.
 */
#ifndef PU_STR_H
#define PU_STR_H

#include <stdbool.h>
#include <stddef.h>

static inline unsigned char pu_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* <0, 0 or >0 as a sorts before, with or after b, ASCII case ignored. */
int pu_stricmp(const char *a, const char *b);
/* The same over at most n bytes. */
int pu_strnicmp(const char *a, const char *b, size_t n);
/* Equal but for ASCII case; false when either is NULL. */
bool pu_strieq(const char *a, const char *b);

#endif
