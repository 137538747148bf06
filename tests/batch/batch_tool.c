/*
 * batch_tool.c -- what the batch tests need besides a shell: inputs with the results they
 * must give, results put in a comparable form, the test provider's trace judged, the
 * maximum resident memory of a command, and a wait for a file to reach a number of lines.
 *
 *   batch_tool rows csv|jsonl N OUT EXPECTED [SLOW]
 *                                              N rows for Batch/Write3, failures and bad
 *                                              rows mixed in; EXPECTED: normalised results;
 *                                              row SLOW sleeps 3 s in a write step
 *   batch_tool requests N OUT EXPECTED         N trusted requests in one XML file, the same
 *                                              mix, with malformed requests and batch
 *                                              requests (several data) among them
 *   batch_tool normalise RESULTS               results sorted by position, transaction ids
 *                                              masked, durations and "resumed" dropped
 *   batch_tool compare RESULTS EXPECTED        the two normalised and compared
 *   batch_tool trace TRACE RESULTS N MAXROLLED every position 1..N has one result; a
 *                                              succeeded one's write steps ran exactly once
 *                                              and were never rolled back; one rolled back
 *                                              by recovery (at most MAXROLLED) never ran
 *                                              again; a failed one ends rolled back
 *   batch_tool sweep-rows OUT                  the rows of the crash sweep (Sweep/Row)
 *   batch_tool sweep-judge RUN AFTER RESULTS KILLED STUCK
 *                                              the sweep's rows judged by the trace of the
 *                                              killed run and of what came after it (the
 *                                              resumed batch): each row's provider effects
 *                                              happened once, as its result says; STUCK
 *                                              stuck transactions are in the journal
 *   batch_tool maxrss OUTFILE CMD ARGS...      runs CMD, writes its maximum RSS in KiB to
 *                                              OUTFILE, exits with its status
 *   batch_tool wait-lines FILE N               waits until FILE has N lines (or 300 s)
 *   batch_tool wait-text FILE TEXT             waits until FILE holds TEXT (or 300 s)
 *
 * Which rows fail is a function of the position p: p % 97 == 0 is malformed (a short CSV
 * row, a JSON line that is not an object, a request with a mismatched tag), p % 13 == 0
 * fails with 0x80004005 in its third step, p % 31 == 0 with 0x80070005 and a description
 * holding a comma, quotes and a line break; the others succeed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("batch_tool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static FILE *open_or_die(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f)
        fail("%s: %s", path, strerror(errno));
    return f;
}

enum kind { OK, FAIL_GENERIC, FAIL_ACCESS, BAD };

#define E_ABORT 0x80004004u /* a request recovery rolled back: it was running when the process died */

static enum kind kind_of(long p)
{
    return p % 97 == 0 ? BAD : p % 13 == 0 ? FAIL_GENERIC : p % 31 == 0 ? FAIL_ACCESS : OK;
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

/* One normalised result line. */
static void expect(FILE *f, long pos, const char *input, long line, const char *client, enum kind k,
                   const char *desc)
{
    fprintf(f, "{\"position\":%ld,\"input\":", pos);
    json_str(f, input);
    fprintf(f, ",\"line\":%ld,\"clientTransactionId\":", line);
    if (client)
        json_str(f, client);
    else
        fputs("null", f);
    fprintf(f, ",\"transactionId\":%s,\"status\":\"%s\",\"code\":\"%s\",\"description\":",
            k == BAD ? "null" : "\"X\"", k == OK ? "succeeded" : k == BAD ? "invalid" : "failed",
            k == OK ? "0x00000000" : k == FAIL_GENERIC ? "0x80004005" : k == FAIL_ACCESS ? "0x80070005" : "0x80070057");
    if (desc)
        json_str(f, desc);
    else
        fputs("null", f);
    fputs("}\n", f);
}

static void access_desc(char *buf, size_t cap, long p)
{
    snprintf(buf, cap, "no \"access\", row %ld\nsee the log", p);
}

static int cmd_rows(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        fail("usage: batch_tool rows csv|jsonl N OUT EXPECTED [SLOW]");
    bool csv = strcmp(argv[2], "csv") == 0;
    long n = atol(argv[3]), slow = argc == 7 ? atol(argv[6]) : 0;
    FILE *out = open_or_die(argv[4], "w"), *exp = open_or_die(argv[5], "w");
    const char *name = strrchr(argv[4], '/') ? strrchr(argv[4], '/') + 1 : argv[4];
    long line = 1;
    if (csv) {
        fputs("n,user/@name,code,description,ms\r\n", out);
        line = 2;
    }
    for (long p = 1; p <= n; p++) {
        enum kind k = kind_of(p);
        char desc[128] = "";
        if (k == FAIL_GENERIC)
            snprintf(desc, sizeof desc, "failed, row %ld", p);
        else if (k == FAIL_ACCESS)
            access_desc(desc, sizeof desc, p);
        long lines = 1;
        if (csv) {
            if (k == BAD) {
                fprintf(out, "%ld\r\n", p);
                expect(exp, p, name, line, NULL, BAD, "the row has 1 field, the header 5");
            } else {
                /* a quoted name with a comma; descriptions quoted (commas, quotes, a line break) */
                fprintf(out, "%ld,\"u%ld, jr\",%s,", p, p, k == FAIL_GENERIC ? "0x80004005" : k == FAIL_ACCESS ? "0x80070005" : "");
                if (k == FAIL_ACCESS) {
                    fprintf(out, "\"no \"\"access\"\", row %ld\nsee the log\"", p);
                    lines = 2;
                } else if (k == FAIL_GENERIC) {
                    fprintf(out, "\"failed, row %ld\"", p);
                }
                fprintf(out, ",%s\r\n", p == slow ? "3000" : "");
                expect(exp, p, name, line, NULL, k, k == OK ? NULL : desc);
            }
        } else {
            if (k == BAD) {
                fprintf(out, "[%ld]\n", p);
                expect(exp, p, name, line, NULL, BAD,
                       "the line is not a JSON object: a row is one flat object per line");
            } else {
                fprintf(out, "{\"n\":%ld,\"user/@name\":\"u%ld, jr\"", p, p);
                if (k != OK) {
                    fprintf(out, ",\"code\":\"%s\",\"description\":", k == FAIL_GENERIC ? "0x80004005" : "0x80070005");
                    json_str(out, desc);
                } else {
                    fputs(",\"code\":null", out);
                }
                if (p == slow)
                    fputs(",\"ms\":3000", out);
                fputs("}\n", out);
                if (p % 10 == 0)
                    fputs("\n", out), lines = 2; /* blank lines are skipped */
                expect(exp, p, name, line, NULL, k, k == OK ? NULL : desc);
            }
        }
        line += lines;
    }
    fclose(out);
    fclose(exp);
    return 0;
}

static const char *PROC = "<procedure><execute namespace=\"Batch\" procedure=\"Write3\">"
                          "<before source=\"data\" destination=\"executeData\" mode=\"merge\"/></execute></procedure>";

static void data_of(FILE *out, long p, enum kind k)
{
    fprintf(out, "<data><n>%ld</n>", p);
    if (k == FAIL_GENERIC)
        fprintf(out, "<code>0x80004005</code><description>failed, row %ld</description>", p);
    else if (k == FAIL_ACCESS)
        fprintf(out, "<code>0x80070005</code><description>no &quot;access&quot;, row %ld\nsee the log</description>",
                p);
    fputs("</data>", out);
}

static int cmd_requests(int argc, char **argv)
{
    if (argc != 5)
        fail("usage: batch_tool requests N OUT EXPECTED");
    long n = atol(argv[2]);
    FILE *out = open_or_die(argv[3], "w"), *exp = open_or_die(argv[4], "w");
    const char *name = strrchr(argv[3], '/') ? strrchr(argv[3], '/') + 1 : argv[3];
    fputs("<?xml version=\"1.0\"?>\n<requests xmlns=\"http://maps/specs/prov.xml\">\n", out);
    long line = 2;
    for (long p = 1; p <= n; p++) {
        line++;
        enum kind k = kind_of(p);
        char desc[160] = "", client[32];
        snprintf(client, sizeof client, "c%ld", p);
        if (k == BAD) {
            fprintf(out, "<request><data><n>%ld</n></dta>%s</request>\n", p, PROC);
            snprintf(desc, sizeof desc,
                     "malformed XML at line %ld, column %d: Opening and ending tag mismatch: data and dta", line,
                     (int)(strlen("<request><data><n></n></dta>") + 1 + snprintf(NULL, 0, "%ld", p)));
            expect(exp, p, name, line, NULL, BAD, desc);
            continue;
        }
        if (p % 50 == 1 && p < n && kind_of(p + 1) == OK && kind_of(p) == OK) {
            /* a batch request: two data, one context, one procedure: two positions */
            fputs("<request>", out);
            data_of(out, p, OK);
            fputs("\n", out);
            data_of(out, p + 1, OK);
            fprintf(out, "<context><clientContext clientTransactionId=\"%s\"/></context>%s</request>\n", client,
                    PROC);
            expect(exp, p, name, line, client, OK, NULL);
            line++;
            expect(exp, p + 1, name, line, client, OK, NULL);
            p++;
            continue;
        }
        fputs("<request>", out);
        data_of(out, p, k);
        fprintf(out, "<context><clientContext clientTransactionId=\"%s\"/></context>%s</request>\n", client, PROC);
        if (k == FAIL_GENERIC)
            snprintf(desc, sizeof desc, "failed, row %ld", p);
        else if (k == FAIL_ACCESS)
            access_desc(desc, sizeof desc, p);
        expect(exp, p, name, line, client, k, k == OK ? NULL : desc);
        if (k == FAIL_ACCESS)
            line++;
    }
    fputs("</requests>\n", out);
    fclose(out);
    fclose(exp);
    return 0;
}

/* ---- reading results ------------------------------------------------------------------ */

typedef struct row {
    long pos;
    char *text;
    char status[16];
    unsigned code;
    bool resumed;
} row;

static int by_pos(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static row *read_results(const char *path, size_t *n)
{
    FILE *f = open_or_die(path, "r");
    row *v = NULL;
    size_t cap = 0;
    *n = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        if (!o)
            fail("%s: not a JSON line: %s", path, line);
        json_t *tx = json_object_get(o, "transactionId");
        if (json_is_string(tx))
            json_object_set_new(o, "transactionId", json_string("X"));
        json_object_del(o, "durationMs");
        bool resumed = json_is_true(json_object_get(o, "resumed"));
        json_object_del(o, "resumed");
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            v = realloc(v, cap * sizeof *v);
            if (!v)
                fail("out of memory");
        }
        row *r = &v[(*n)++];
        r->pos = (long)json_integer_value(json_object_get(o, "position"));
        r->resumed = resumed;
        snprintf(r->status, sizeof r->status, "%s", json_string_value(json_object_get(o, "status")));
        const char *code = json_string_value(json_object_get(o, "code"));
        r->code = code ? (unsigned)strtoul(code, NULL, 16) : 0;
        r->text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
        json_decref(o);
    }
    free(line);
    fclose(f);
    qsort(v, *n, sizeof *v, by_pos);
    return v;
}

static int cmd_normalise(int argc, char **argv)
{
    if (argc != 3)
        fail("usage: batch_tool normalise RESULTS");
    size_t n;
    row *v = read_results(argv[2], &n);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", v[i].text);
        free(v[i].text);
    }
    free(v);
    return 0;
}

/* Results against the expected ones, both normalised.  A line written on resume for a
 * request that finished before the interruption has its outcome's code and transaction id
 * but no description: its description is not compared.  A request that was running when
 * the batch was killed was rolled back by recovery, and says so (failed, 0x80004004): the
 * trace check judges it; here it stands for whatever was expected. */
static int cmd_compare(int argc, char **argv)
{
    if (argc != 4)
        fail("usage: batch_tool compare RESULTS EXPECTED");
    size_t na, ne;
    row *a = read_results(argv[2], &na), *e = read_results(argv[3], &ne);
    long diffs = 0, aborted = 0;
    for (size_t i = 0; i < na || i < ne; i++) {
        const char *at = i < na ? a[i].text : "(nothing)", *et = i < ne ? e[i].text : "(nothing)";
        char *masked = NULL;
        if (i < na && i < ne && a[i].resumed && a[i].code == E_ABORT) {
            aborted++;
            continue;
        }
        if (i < na && i < ne && a[i].resumed) {
            json_t *o = json_loads(et, 0, NULL);
            json_object_set_new(o, "description", json_null());
            et = masked = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
            json_decref(o);
        }
        if (strcmp(at, et) != 0 && diffs++ < 10)
            fprintf(stderr, "line %zu:\n  got      %s\n  expected %s\n", i + 1, at, et);
        free(masked);
    }
    printf("compare: %zu results, %zu expected, %ld different, %ld rolled back by recovery\n", na, ne, diffs,
           aborted);
    for (size_t i = 0; i < na; i++)
        free(a[i].text);
    for (size_t i = 0; i < ne; i++)
        free(e[i].text);
    free(a);
    free(e);
    return diffs ? 1 : 0;
}

/* ---- the trace ------------------------------------------------------------------------ */

typedef struct event {
    char phase; /* p process, r rollback */
    char step;  /* 1, 2, 3, F (Fail) */
} event;

typedef struct history {
    event *e;
    size_t n, cap;
} history;

static int cmd_trace(int argc, char **argv)
{
    if (argc != 6)
        fail("usage: batch_tool trace TRACE RESULTS N MAXROLLED");
    long n = atol(argv[4]), maxrolled = atol(argv[5]);
    history *h = calloc((size_t)n + 1, sizeof *h);
    FILE *f = open_or_die(argv[2], "r");
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char phase[16], proc[64];
        if (sscanf(line, "%15[^\t]\t%63[^\t]", phase, proc) != 2)
            fail("trace: bad line: %s", line);
        char *np = strstr(line, "<n>");
        if (!np)
            continue; /* not one of ours */
        long p = atol(np + 3);
        if (p < 1 || p > n)
            fail("trace: position %ld out of range: %s", p, line);
        char step = strcmp(proc, "Batch/W1") == 0   ? '1'
                    : strcmp(proc, "Batch/W2") == 0 ? '2'
                    : strcmp(proc, "Batch/W3") == 0 ? '3'
                    : strcmp(proc, "Batch/Fail") == 0 ? 'F'
                                                      : 0;
        if (!step)
            continue;
        history *x = &h[p];
        if (x->n == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 8;
            x->e = realloc(x->e, x->cap * sizeof *x->e);
        }
        x->e[x->n++] = (event){phase[0] == 'r' ? 'r' : 'p', step};
    }
    free(line);
    fclose(f);
    size_t nr;
    row *res = read_results(argv[3], &nr);
    long bad = 0, rolled = 0, once = 0, failed = 0;
    if ((long)nr != n) {
        fprintf(stderr, "trace: %zu result lines for %ld requests\n", nr, n);
        bad++;
    }
    for (size_t i = 0; i < nr; i++)
        if (res[i].pos != (long)i + 1) {
            fprintf(stderr, "trace: result %zu is position %ld (a position missing or repeated)\n", i + 1,
                    res[i].pos);
            bad++;
            break;
        }
    for (long p = 1; p <= n && (size_t)(p - 1) < nr; p++) {
        history *x = &h[p];
        const char *status = res[p - 1].status;
        enum kind k = kind_of(p);
        size_t last_rb = 0; /* index after the last rollback of an earlier attempt */
        bool any_rb = false;
        if (k == BAD) {
            if (strcmp(status, "invalid") != 0 || x->n) {
                fprintf(stderr, "trace: position %ld should be invalid and never run (%s, %zu calls)\n", p, status,
                        x->n);
                bad++;
            }
            continue;
        }
        if (res[p - 1].code == E_ABORT && strcmp(status, "failed") == 0) {
            /* running at a kill: rolled back by recovery, never submitted again */
            bool again = false, ran = false;
            for (size_t i = 0; i < x->n; i++) {
                ran |= x->e[i].phase == 'p';
                any_rb |= x->e[i].phase == 'r';
                again |= any_rb && x->e[i].phase == 'p';
            }
            if ((ran && !any_rb) || again) {
                fprintf(stderr, "trace: position %ld was rolled back by recovery: it %s:", p,
                        again ? "ran again after its rollback" : "has no rollback");
                for (size_t i = 0; i < x->n; i++)
                    fprintf(stderr, " %c%c", x->e[i].phase, x->e[i].step);
                fputc('\n', stderr);
                bad++;
            }
            rolled++;
            continue;
        }
        if (k == OK) {
            for (size_t i = 0; i < x->n; i++)
                if (x->e[i].phase == 'r') {
                    last_rb = i + 1;
                    any_rb = true;
                }
            bool good = strcmp(status, "succeeded") == 0 && x->n - last_rb == 3 && x->e[last_rb].phase == 'p' &&
                        x->e[last_rb].step == '1' && x->e[last_rb + 1].phase == 'p' && x->e[last_rb + 1].step == '2' &&
                        x->e[last_rb + 2].phase == 'p' && x->e[last_rb + 2].step == '3';
            if (!good) {
                fprintf(stderr, "trace: position %ld (%s): its write steps did not run exactly once after its last "
                                "rollback:",
                        p, status);
                for (size_t i = 0; i < x->n; i++)
                    fprintf(stderr, " %c%c", x->e[i].phase, x->e[i].step);
                fputc('\n', stderr);
                bad++;
            }
            if (any_rb) { /* a rolled-back request is never submitted again */
                fprintf(stderr, "trace: position %ld succeeded after a rollback: it was submitted twice\n", p);
                bad++;
            }
            once++;
            continue;
        }
        /* a failure: the last attempt is W1, W2, Fail, rollback W2, rollback W1 */
        static const event tail[] = {{'p', '1'}, {'p', '2'}, {'p', 'F'}, {'r', '2'}, {'r', '1'}};
        bool good = strcmp(status, "failed") == 0 && x->n >= 5;
        for (size_t i = 0; good && i < 5; i++)
            good = x->e[x->n - 5 + i].phase == tail[i].phase && x->e[x->n - 5 + i].step == tail[i].step;
        if (!good) {
            fprintf(stderr, "trace: position %ld (%s) should have failed and been rolled back:", p, status);
            for (size_t i = 0; i < x->n; i++)
                fprintf(stderr, " %c%c", x->e[i].phase, x->e[i].step);
            fputc('\n', stderr);
            bad++;
        }
        failed++;
    }
    if (rolled > maxrolled) {
        fprintf(stderr, "trace: %ld succeeded requests were rolled back at some point: at most %ld could have "
                        "been running when the batch was killed\n",
                rolled, maxrolled);
        bad++;
    }
    printf("trace: %ld requests: %ld ran once, %ld rolled back by recovery (not run again), %ld failed and "
           "rolled back\n",
           n, once, rolled, failed);
    for (size_t i = 0; i < nr; i++)
        free(res[i].text);
    free(res);
    for (long p = 0; p <= n; p++)
        free(h[p].e);
    free(h);
    return bad ? 1 : 0;
}

/* ---- the crash sweep of a batch -------------------------------------------------------- */

/* The rows of Sweep/Row (tests/batch/sweep.xml), by position p: what runs, what it ends as.
 * Steps are indexed in the procedure's order: T1 W1 FailRollback W2 T2 Fail. */
enum { S_T1, S_W1, S_FR, S_W2, S_T2, S_FAIL, S_N };
static const char *const sweep_step[S_N] = {"Sweep/T1", "Sweep/W1", "Sweep/FailRollback",
                                            "Sweep/W2", "Sweep/T2", "Sweep/Fail"};
#define SWEEP_ROWS 6

typedef struct sweep_kind {
    const char *csv;        /* the row after n */
    bool steps[S_N];
    const char *ends;       /* succeeded, failed or stuck */
    unsigned code;          /* its own failure code */
} sweep_kind;

static const sweep_kind sweep_kinds[SWEEP_ROWS] = {
    {"1,,", {1, 1, 0, 1, 1, 0}, "succeeded", 0},                       /* twoPhase */
    {",,0x80070005", {0, 1, 0, 1, 0, 1}, "failed", 0x80070005u},       /* write then fail */
    {",1,0x80004005", {0, 1, 1, 1, 0, 1}, "stuck", 0x80004005u},       /* FailRollback */
    {"1,,0x80070005", {1, 1, 0, 1, 1, 1}, "failed", 0x80070005u},      /* twoPhase then fail */
    {",,", {0, 1, 0, 1, 0, 0}, "succeeded", 0},                        /* writes */
    {"1,,", {1, 1, 0, 1, 1, 0}, "succeeded", 0},                       /* twoPhase */
};

static int cmd_sweep_rows(int argc, char **argv)
{
    if (argc != 3)
        fail("usage: batch_tool sweep-rows OUT");
    FILE *f = open_or_die(argv[2], "w");
    fputs("n,tp,fr,code\n", f);
    for (int p = 1; p <= SWEEP_ROWS; p++)
        fprintf(f, "%d,%s\n", p, sweep_kinds[p - 1].csv);
    fclose(f);
    return 0;
}

typedef struct sweep_ev {
    char phase; /* p process, P prepare, c commit, r rollback */
    int step;
    bool after; /* after the kill: recovery or the resumed batch */
} sweep_ev;

typedef struct sweep_row {
    sweep_ev ev[64];
    int n;
    int last_before; /* index of the last event before the kill, -1 for none */
} sweep_row;

static void sweep_read(const char *path, sweep_row *rows, bool after)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return; /* nothing was called */
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        char phase[16], proc[64];
        const char *np = strstr(line, "<n>");
        if (sscanf(line, "%15[^\t]\t%63[^\t]", phase, proc) != 2 || !np)
            fail("sweep: bad trace line: %s", line);
        long p = atol(np + 3);
        int step = -1;
        for (int i = 0; i < S_N; i++)
            if (strcmp(proc, sweep_step[i]) == 0)
                step = i;
        if (p < 1 || p > SWEEP_ROWS || step < 0)
            fail("sweep: a trace line of no row: %s", line);
        sweep_row *r = &rows[p - 1];
        if (r->n == 64)
            fail("sweep: row %ld has too many calls", p);
        if (!after)
            r->last_before = r->n;
        r->ev[r->n++] = (sweep_ev){strcmp(phase, "prepare") == 0 ? 'P' : phase[0], step, after};
    }
    free(line);
    fclose(f);
}

/* Row p judged by its trace and its result: its provider effects happened once, as its
 * outcome says.  The one repetition allowed is of the row's last call before the kill
 * (the journal could not know it had been made), made once more after the kill.  Returns
 * a reason, or NULL. */
static const char *sweep_judge_row(int p, const sweep_row *r, const char *status, unsigned code, bool killed)
{
    const sweep_kind *k = &sweep_kinds[p - 1];
    int proc[S_N] = {0}, prep[S_N] = {0}, com[S_N] = {0}, rb[S_N] = {0}, last = -1, last_rb = S_N;
    bool before = false, any_rb = false;
    const sweep_ev *doubt = r->last_before >= 0 ? &r->ev[r->last_before] : NULL;
    for (int i = 0; i < r->n; i++) {
        const sweep_ev *e = &r->ev[i];
        before |= !e->after;
        bool repeat = doubt && e->after && e->phase == doubt->phase && e->step == doubt->step;
        switch (e->phase) {
        case 'p':
            if (!k->steps[e->step] || proc[e->step]++ || e->step <= last || any_rb)
                return "a step ran twice, out of order, or after a rollback";
            if (e->after && before)
                return "the row ran again after the kill: it was submitted twice";
            last = e->step;
            break;
        case 'P':
            if (!proc[e->step] || prep[e->step]++)
                return "a step prepared twice, or without having run";
            break;
        case 'c':
            if (!prep[e->step] || (com[e->step]++ && !repeat))
                return "a step committed twice, and not in doubt, or without its prepare";
            break;
        case 'r':
            if (e->step > last_rb || (e->step == last_rb && !repeat && e->step != S_FR))
                return "rollbacks not newest first, or one repeated and not in doubt";
            last_rb = e->step;
            rb[e->step]++;
            any_rb = true;
            break;
        default:
            return "an unknown phase";
        }
    }
    if (strcmp(status, "succeeded") == 0) {
        if (strcmp(k->ends, "succeeded") != 0 || any_rb)
            return "succeeded, and not a row that succeeds, or rolled back";
        for (int s = 0; s < S_N; s++)
            if (k->steps[s] && (!proc[s] || ((s == S_T1 || s == S_T2) && (!prep[s] || !com[s]))))
                return "succeeded, and a step did not run, prepare or commit";
        return NULL;
    }
    for (int s = 0; s < S_N; s++)
        if (com[s])
            return "failed or stuck, and a step was committed";
    bool stuck = strcmp(status, "stuck") == 0;
    if (!stuck && strcmp(status, "failed") != 0)
        return "neither succeeded, failed nor stuck";
    if (stuck && (strcmp(k->ends, "stuck") != 0 || !rb[S_FR] || !(code == k->code || (code == E_ABORT && killed))))
        return "stuck, and not the FailRollback row with its code, or its compensation never tried";
    if (!stuck && !(code == k->code && k->code) && !(code == E_ABORT && killed))
        return "failed with a code that is neither its own nor that of a recovery's rollback";
    for (int s = 0; s < S_N; s++) {
        bool doubtful = doubt && doubt->step == s;
        if (s == S_FR || !k->steps[s])
            continue;
        if (stuck && s < S_FR) {
            if (rb[s])
                return "an older step rolled back while a newer one's compensation is stuck";
        } else if (proc[s] && s != S_FAIL) {
            if (rb[s] < 1 || rb[s] > 1 + (doubtful && doubt->phase == 'r'))
                return "a step that ran was not rolled back exactly once";
        } else if (rb[s]) {
            /* in doubt: the call that failed when the kill came before the journal knew it,
             * or the step after the last that ran (its INTENT written, the call not made) */
            bool next = !proc[s] && killed && s > last;
            for (int t = last + 1; next && t < s; t++)
                next = !k->steps[t];
            if (rb[s] > 1 || !(next || (proc[s] && doubtful && doubt->phase == 'p')))
                return "a step that failed or never ran was rolled back, and it was not in doubt";
        }
    }
    return NULL;
}

static int cmd_sweep_judge(int argc, char **argv)
{
    if (argc != 7)
        fail("usage: batch_tool sweep-judge RUN_TRACE AFTER_TRACE RESULTS KILLED STUCK_COUNT");
    sweep_row rows[SWEEP_ROWS];
    for (int p = 0; p < SWEEP_ROWS; p++)
        rows[p] = (sweep_row){.n = 0, .last_before = -1};
    sweep_read(argv[2], rows, false);
    sweep_read(argv[3], rows, true);
    bool killed = atoi(argv[5]) != 0;
    size_t nr;
    row *res = read_results(argv[4], &nr);
    int bad = 0, stuck = 0;
    if (nr != SWEEP_ROWS) {
        fprintf(stderr, "sweep: %zu result lines for %d rows\n", nr, SWEEP_ROWS);
        bad++;
    }
    for (size_t i = 0; i < nr; i++) {
        long p = res[i].pos;
        if (p != (long)i + 1) {
            fprintf(stderr, "sweep: result %zu is position %ld (a position missing or repeated)\n", i + 1, p);
            bad++;
            break;
        }
        json_t *o = json_loads(res[i].text, 0, NULL);
        const char *c = o ? json_string_value(json_object_get(o, "code")) : NULL;
        unsigned code = c ? (unsigned)strtoul(c, NULL, 16) : 0;
        json_decref(o);
        stuck += strcmp(res[i].status, "stuck") == 0;
        const char *why = sweep_judge_row((int)p, &rows[p - 1], res[i].status, code, killed);
        if (why) {
            fprintf(stderr, "sweep: row %ld (%s 0x%08X): %s:", p, res[i].status, code, why);
            for (int e = 0; e < rows[p - 1].n; e++)
                fprintf(stderr, " %s%c%s", rows[p - 1].ev[e].after ? "+" : "", rows[p - 1].ev[e].phase,
                        sweep_step[rows[p - 1].ev[e].step] + 6);
            fputc('\n', stderr);
            bad++;
        }
    }
    if (stuck != atoi(argv[6])) {
        fprintf(stderr, "sweep: %d rows stuck, %s stuck transactions in the journal\n", stuck, argv[6]);
        bad++;
    }
    for (size_t i = 0; i < nr; i++)
        free(res[i].text);
    free(res);
    return bad ? 1 : 0;
}

/* ---- processes ------------------------------------------------------------------------ */

static int cmd_maxrss(int argc, char **argv)
{
    if (argc < 4)
        fail("usage: batch_tool maxrss OUTFILE CMD ARGS...");
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(argv[3], argv + 3);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) < 0)
        fail("wait4: %s", strerror(errno));
    FILE *f = open_or_die(argv[2], "w");
    fprintf(f, "%ld\n", ru.ru_maxrss);
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static int cmd_wait_lines(int argc, char **argv)
{
    if (argc != 4)
        fail("usage: batch_tool wait-lines FILE N");
    long want = atol(argv[3]);
    for (int i = 0; i < 300 * 50; i++) {
        if (count_lines(argv[2]) >= want)
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail("%s never reached %ld lines", argv[2], want);
}

static int cmd_wait_text(int argc, char **argv)
{
    if (argc != 4)
        fail("usage: batch_tool wait-text FILE TEXT");
    for (int i = 0; i < 300 * 50; i++) {
        FILE *f = fopen(argv[2], "r");
        if (f) {
            char *line = NULL;
            size_t cap = 0;
            bool found = false;
            while (!found && getline(&line, &cap, f) > 0)
                found = strstr(line, argv[3]) != NULL;
            free(line);
            fclose(f);
            if (found)
                return 0;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail("%s never held '%s'", argv[2], argv[3]);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        fail("usage: batch_tool rows|requests|normalise|compare|trace|maxrss|wait-lines|wait-text ...");
    if (strcmp(argv[1], "rows") == 0)
        return cmd_rows(argc, argv);
    if (strcmp(argv[1], "requests") == 0)
        return cmd_requests(argc, argv);
    if (strcmp(argv[1], "normalise") == 0)
        return cmd_normalise(argc, argv);
    if (strcmp(argv[1], "compare") == 0)
        return cmd_compare(argc, argv);
    if (strcmp(argv[1], "trace") == 0)
        return cmd_trace(argc, argv);
    if (strcmp(argv[1], "sweep-rows") == 0)
        return cmd_sweep_rows(argc, argv);
    if (strcmp(argv[1], "sweep-judge") == 0)
        return cmd_sweep_judge(argc, argv);
    if (strcmp(argv[1], "maxrss") == 0)
        return cmd_maxrss(argc, argv);
    if (strcmp(argv[1], "wait-lines") == 0)
        return cmd_wait_lines(argc, argv);
    if (strcmp(argv[1], "wait-text") == 0)
        return cmd_wait_text(argc, argv);
    fail("unknown subcommand '%s'", argv[1]);
}
