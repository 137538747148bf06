/*
 * str.c -- ASCII case-insensitive comparison (see str.h).
 */
#include "util/str.h"

int pu_strnicmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = pu_lower((unsigned char)a[i]), y = pu_lower((unsigned char)b[i]);
        if (x != y)
            return x < y ? -1 : 1;
        if (!x)
            return 0;
    }
    return 0;
}

int pu_stricmp(const char *a, const char *b)
{
    return pu_strnicmp(a, b, (size_t)-1);
}

bool pu_strieq(const char *a, const char *b)
{
    return a && b && pu_stricmp(a, b) == 0;
}
