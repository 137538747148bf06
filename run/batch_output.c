/*
 * batch_output.c -- what a batch writes: one JSON line per request, the tallies behind the
 * summary, and the scan of an existing results file when a batch is resumed.
 */
#define _GNU_SOURCE /* pread, pwrite */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "rbatch.h"

const char *const provost_batch_status_names[BS__COUNT] = {"succeeded", "failed", "stuck", "invalid"};

/* ---- JSON ----------------------------------------------------------------------------- */

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (*len + n + 1 > c)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static int puts_(char **buf, size_t *len, size_t *cap, const char *s)
{
    return put(buf, len, cap, s, strlen(s));
}

int batch_json_escape(const char *s, size_t n, char **buf, size_t *len, size_t *cap)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            esc[2] = 0;
        } else if (c == '\n') {
            strcpy(esc, "\\n");
        } else if (c == '\t') {
            strcpy(esc, "\\t");
        } else if (c == '\r') {
            strcpy(esc, "\\r");
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
        } else {
            continue;
        }
        if (put(buf, len, cap, s + from, i - from) || puts_(buf, len, cap, esc))
            return -1;
        from = i + 1;
    }
    return put(buf, len, cap, s + from, n - from);
}

static int put_string(char **buf, size_t *len, size_t *cap, const char *s)
{
    if (!s)
        return puts_(buf, len, cap, "null");
    return puts_(buf, len, cap, "\"") || batch_json_escape(s, strlen(s), buf, len, cap) ||
                   puts_(buf, len, cap, "\"")
               ? -1
               : 0;
}

int batch_result_format(const batch_result *r, char **buf, size_t *len, size_t *cap)
{
    char num[96];
    snprintf(num, sizeof num, "{\"position\":%" PRIu64 ",\"input\":", r->pos);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->input))
        return -1;
    snprintf(num, sizeof num, ",\"line\":%lu,\"clientTransactionId\":", r->line);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->client) ||
        puts_(buf, len, cap, ",\"transactionId\":") || put_string(buf, len, cap, r->txid) ||
        puts_(buf, len, cap, ",\"status\":") || put_string(buf, len, cap, provost_batch_status_names[r->status]))
        return -1;
    snprintf(num, sizeof num, ",\"code\":\"0x%08X\",\"description\":", r->code);
    if (puts_(buf, len, cap, num) || put_string(buf, len, cap, r->description))
        return -1;
    if (r->ms >= 0)
        snprintf(num, sizeof num, ",\"durationMs\":%.3f", r->ms);
    else
        snprintf(num, sizeof num, ",\"durationMs\":null");
    if (puts_(buf, len, cap, num))
        return -1;
    if (r->resumed && puts_(buf, len, cap, ",\"resumed\":true"))
        return -1;
    if (r->response) {
        if (puts_(buf, len, cap, ",\"response\":\"") ||
            batch_json_escape(r->response, r->response_len, buf, len, cap) || puts_(buf, len, cap, "\""))
            return -1;
    }
    return puts_(buf, len, cap, "}\n");
}

/* ---- tallies -------------------------------------------------------------------------- */

static int add_code(batch_tally *t, uint32_t code, uint64_t n)
{
    for (size_t i = 0; i < t->ncodes; i++)
        if (t->codes[i].code == code) {
            t->codes[i].n += n;
            return 0;
        }
    if (t->ncodes == t->capcodes) {
        size_t c = t->capcodes ? t->capcodes * 2 : 8;
        batch_code_count *nc = realloc(t->codes, c * sizeof *nc);
        if (!nc)
            return -1;
        t->codes = nc;
        t->capcodes = c;
    }
    t->codes[t->ncodes++] = (batch_code_count){code, n};
    return 0;
}

int batch_tally_add(batch_tally *t, int status, uint32_t code, uint64_t n)
{
    t->by_status[status] += n;
    return status == BS_SUCCEEDED ? 0 : add_code(t, code, n);
}

int batch_tally_merge(batch_tally *into, const batch_tally *from)
{
    for (int s = 0; s < BS__COUNT; s++)
        into->by_status[s] += from->by_status[s];
    for (size_t i = 0; i < from->ncodes; i++)
        if (add_code(into, from->codes[i].code, from->codes[i].n) != 0)
            return -1;
    return 0;
}

void batch_tally_free(batch_tally *t)
{
    free(t->codes);
    memset(t, 0, sizeof *t);
}

uint64_t batch_tally_total(const batch_tally *t)
{
    uint64_t n = 0;
    for (int s = 0; s < BS__COUNT; s++)
        n += t->by_status[s];
    return n;
}

/* ---- positions already done ----------------------------------------------------------- */

bool batch_seen_has(const batch_seen *s, uint64_t pos)
{
    uint64_t byte = pos / 8;
    return byte < s->nbytes && (s->bits[byte] >> (pos % 8)) & 1;
}

int batch_seen_set(batch_seen *s, uint64_t pos)
{
    uint64_t byte = pos / 8;
    if (byte >= s->nbytes) {
        size_t n = s->nbytes ? s->nbytes : 4096;
        while (n <= byte)
            n *= 2;
        uint8_t *b = realloc(s->bits, n);
        if (!b)
            return -1;
        memset(b + s->nbytes, 0, n - s->nbytes);
        s->bits = b;
        s->nbytes = n;
    }
    if ((s->bits[byte] >> (pos % 8)) & 1)
        return 0;
    s->bits[byte] |= (uint8_t)(1u << (pos % 8));
    s->count++;
    return 1;
}

void batch_seen_free(batch_seen *s)
{
    free(s->bits);
    memset(s, 0, sizeof *s);
}

/* One results line: its position, status and code; false when it is not one of ours. */
static bool parse_line(const char *line, size_t len, uint64_t *pos, int *status, uint32_t *code)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, 0, &je);
    if (!o)
        return false;
    bool ok = false;
    json_t *p = json_object_get(o, "position"), *s = json_object_get(o, "status"), *c = json_object_get(o, "code");
    if (json_is_integer(p) && json_integer_value(p) > 0 && json_is_string(s) && json_is_string(c)) {
        *pos = (uint64_t)json_integer_value(p);
        *status = -1;
        for (int i = 0; i < BS__COUNT; i++)
            if (strcmp(json_string_value(s), provost_batch_status_names[i]) == 0)
                *status = i;
        unsigned v = 0;
        char extra;
        ok = *status >= 0 && sscanf(json_string_value(c), "0x%8x%c", &v, &extra) == 1;
        *code = v;
    }
    json_decref(o);
    return ok;
}

int batch_results_scan(int fd, batch_seen *seen, batch_tally *tally, uint64_t *dropped, char *err, size_t errlen)
{
    *dropped = 0;
    char *buf = malloc(65536), *line = NULL;
    size_t linelen = 0, linecap = 0;
    off_t rd = 0, wr = 0, line_at = 0;
    int rc = 0;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* Complete, valid, first-seen lines are kept, moved down over the dropped ones. */
    for (bool eof = false; !eof && rc == 0;) {
        ssize_t n = pread(fd, buf, 65536, rd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot be read: %s", strerror(errno));
            rc = -1;
            break;
        }
        eof = n == 0;
        for (ssize_t i = 0; i < n && rc == 0; i++) {
            if (linelen + 2 > linecap) {
                size_t c = linecap ? linecap * 2 : 1024;
                char *nl = realloc(line, c);
                if (!nl) {
                    snprintf(err, errlen, "out of memory");
                    rc = -1;
                    break;
                }
                line = nl;
                linecap = c;
            }
            line[linelen++] = buf[i];
            if (buf[i] != '\n')
                continue;
            uint64_t pos;
            int status;
            uint32_t code;
            int fresh = 0;
            if (parse_line(line, linelen, &pos, &status, &code) && (fresh = batch_seen_set(seen, pos)) > 0 &&
                batch_tally_add(tally, status, code, 1) == 0) {
                if (wr != line_at && pwrite(fd, line, linelen, wr) != (ssize_t)linelen) {
                    snprintf(err, errlen, "cannot be rewritten: %s", strerror(errno));
                    rc = -1;
                }
                wr += (off_t)linelen;
            } else if (fresh < 0) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else {
                ++*dropped;
            }
            line_at += (off_t)linelen;
            linelen = 0;
        }
        rd += n;
    }
    if (rc == 0 && linelen) /* a torn last line */
        ++*dropped;
    if (rc == 0 && *dropped && (ftruncate(fd, wr) != 0 || fsync(fd) != 0)) {
        snprintf(err, errlen, "cannot be rewritten: %s", strerror(errno));
        rc = -1;
    }
    free(buf);
    free(line);
    return rc;
}
