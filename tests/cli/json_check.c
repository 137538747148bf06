/*
 * json_check.c -- exits 0 when each file named is one well-formed JSON document (RFC 8259),
 * else prints where it is not and exits 1.  A test helper: no JSON library is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct in {
    const char *s;
    size_t i, n;
    int depth;
} in;

static void ws(in *p)
{
    while (p->i < p->n && strchr(" \t\r\n", p->s[p->i]))
        p->i++;
}

static int lit(in *p, const char *w)
{
    size_t k = strlen(w);
    if (p->n - p->i < k || memcmp(p->s + p->i, w, k) != 0)
        return -1;
    p->i += k;
    return 0;
}

static int string(in *p)
{
    if (p->i >= p->n || p->s[p->i] != '"')
        return -1;
    for (p->i++; p->i < p->n; p->i++) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (++p->i >= p->n)
                return -1;
            c = (unsigned char)p->s[p->i];
            if (c == 'u') {
                for (int k = 0; k < 4; k++)
                    if (++p->i >= p->n || !strchr("0123456789abcdefABCDEF", p->s[p->i]))
                        return -1;
            } else if (!strchr("\"\\/bfnrt", c)) {
                return -1;
            }
        }
    }
    return -1;
}

static int digits(in *p)
{
    size_t from = p->i;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        p->i++;
    return p->i > from ? 0 : -1;
}

static int number(in *p)
{
    if (p->s[p->i] == '-')
        p->i++;
    if (p->i < p->n && p->s[p->i] == '0')
        p->i++;
    else if (digits(p))
        return -1;
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (digits(p))
            return -1;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (digits(p))
            return -1;
    }
    return 0;
}

static int value(in *p)
{
    ws(p);
    if (p->i >= p->n || ++p->depth > 512)
        return -1;
    int rc = 0;
    char c = p->s[p->i];
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p->i++;
        ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
        } else {
            for (;;) {
                if (c == '{') {
                    ws(p);
                    if (string(p))
                        return -1;
                    ws(p);
                    if (p->i >= p->n || p->s[p->i++] != ':')
                        return -1;
                }
                if (value(p))
                    return -1;
                ws(p);
                if (p->i >= p->n)
                    return -1;
                if (p->s[p->i] == ',') {
                    p->i++;
                    continue;
                }
                if (p->s[p->i++] != close)
                    return -1;
                break;
            }
        }
    } else if (c == '"') {
        rc = string(p);
    } else if (c == 't') {
        rc = lit(p, "true");
    } else if (c == 'f') {
        rc = lit(p, "false");
    } else if (c == 'n') {
        rc = lit(p, "null");
    } else {
        rc = number(p);
    }
    p->depth--;
    return rc;
}

int main(int argc, char **argv)
{
    int status = 0;
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            perror(argv[a]);
            return 1;
        }
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        size_t got;
        while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
            if ((n += got) == cap)
                buf = realloc(buf, cap *= 2);
        fclose(f);
        if (!buf)
            return 1;
        in p = {.s = buf, .n = n};
        int rc = value(&p);
        ws(&p);
        if (rc != 0 || p.i != p.n) {
            fprintf(stderr, "%s: not well-formed JSON at byte %zu\n", argv[a], p.i);
            status = 1;
        }
        free(buf);
    }
    return status;
}
