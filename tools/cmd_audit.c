/*
 * cmd_audit.c -- `provost audit`: the audit trail queried (a table, JSON), exported (JSON
 * Lines), purged by age, and its level set.  Parsing and printing only: the trail is the
 * engine's (provost/audit.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/audit.h"
#include "provost/provost.h"
#include "util/json.h"
#include "tools.h"

typedef struct args {
    provost_audit_filter f;
    const char *since, *until, *procedure;
    char ns[512];
    int json, jsonl;
} args;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_time(const char *opt, const char *v, uint64_t now, uint64_t *out)
{
    char why[300];
    if (provost_audit_time(v, now, out, why, sizeof why) != 0)
        return die("audit: %s %s", opt, why);
    return 0;
}

/* The query's options (export's too); 0, or die()'s status. */
static int parse_filter(int argc, char **argv, int first, args *a, const char *cmd)
{
    a->f.outcome = -1;
    for (int i = first; i < argc; i++) {
        const char *o = argv[i];
        bool valued = strcmp(o, "--since") == 0 || strcmp(o, "--until") == 0 || strcmp(o, "--procedure") == 0 ||
                      strcmp(o, "--outcome") == 0 || strcmp(o, "--principal") == 0;
        if (valued && i + 1 >= argc)
            return die("%s: %s needs a value", cmd, o);
        if (strcmp(o, "--since") == 0) {
            a->since = argv[++i];
        } else if (strcmp(o, "--until") == 0) {
            a->until = argv[++i];
        } else if (strcmp(o, "--procedure") == 0) {
            a->procedure = argv[++i];
        } else if (strcmp(o, "--principal") == 0) {
            a->f.principal = argv[++i];
        } else if (strcmp(o, "--outcome") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "ok") != 0 && strcmp(v, "failed") != 0)
                return die("%s: --outcome takes ok or failed (not '%s')", cmd, v);
            a->f.outcome = strcmp(v, "failed") == 0;
        } else if (strcmp(o, "--json") == 0 && strcmp(cmd, "audit") == 0) {
            a->json = 1;
        } else if (strcmp(o, "--jsonl") == 0 && strcmp(cmd, "audit export") == 0) {
            a->jsonl = 1;
        } else if (o[0] == '-' && o[1]) {
            return die("%s: unknown option '%s' (see provost audit --help)", cmd, o);
        } else {
            return die("%s: unexpected argument '%s' (see provost audit --help)", cmd, o);
        }
    }
    uint64_t now = now_ns();
    int bad = (a->since && parse_time("--since", a->since, now, &a->f.since)) ||
              (a->until && parse_time("--until", a->until, now, &a->f.until));
    if (bad)
        return 2;
    if (a->since && a->until && a->f.since >= a->f.until)
        return die("%s: --since %s is not before --until %s", cmd, a->since, a->until);
    if (a->procedure) {
        const char *slash = strrchr(a->procedure, '/');
        if (!slash || (size_t)(slash - a->procedure) >= sizeof a->ns)
            return die("%s: --procedure takes NAMESPACE/PROCEDURE (or NAMESPACE/*), not '%s'", cmd, a->procedure);
        memcpy(a->ns, a->procedure, (size_t)(slash - a->procedure));
        a->ns[slash - a->procedure] = 0;
        a->f.ns = a->ns;
        a->f.proc = slash[1] && strcmp(slash + 1, "*") != 0 ? slash + 1 : NULL;
    }
    return 0;
}

/* ---- printing ------------------------------------------------------------------------- */

static void rfc3339(uint64_t ns, char *out, size_t cap)
{
    time_t s = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t k = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, cap - k, ".%06uZ", (unsigned)(ns % 1000000000u / 1000u));
}

static void print_json(FILE *f, const provost_audit_record *r)
{
    char t[64];
    rfc3339(r->time, t, sizeof t);
    fprintf(f, "{\"time\":\"%s\",\"timeNs\":%" PRIu64 ",\"transaction\":", t, r->time);
    pu_json_string(f, r->txid);
    fputs(",\"client\":", f);
    pu_json_string(f, r->client);
    fputs(",\"principal\":", f);
    pu_json_string(f, r->principal);
    fputs(",\"namespace\":", f);
    pu_json_string(f, r->ns);
    fputs(",\"procedure\":", f);
    pu_json_string(f, r->proc);
    fprintf(f, ",\"outcome\":\"%s\",\"code\":\"0x%08X\",\"durationUs\":%.3f,\"recovered\":%s", r->failed ? "failed" : "ok",
            r->code, (double)r->duration / 1000.0, r->recovered ? "true" : "false");
    if (r->data) {
        fputs(",\"data\":", f);
        pu_json_string(f, r->data);
    }
    fputc('}', f);
}

typedef struct printer {
    const args *a;
    uint64_t n;
} printer;

static int print_one(void *ud, const provost_audit_record *r)
{
    printer *p = ud;
    if (p->a->jsonl) {
        print_json(stdout, r);
        fputc('\n', stdout);
    } else if (p->a->json) {
        fputs(p->n ? ",\n  " : "[\n  ", stdout);
        print_json(stdout, r);
    } else {
        char t[64], proc[1200];
        rfc3339(r->time, t, sizeof t);
        if (r->ns[0])
            snprintf(proc, sizeof proc, "%s/%s", r->ns, r->proc);
        else /* a trusted request's own procedure */
            snprintf(proc, sizeof proc, "(request)%s%s", r->proc[0] ? "/" : "", r->proc);
        printf("%-27s %-7s 0x%08X %12.3f  %-12s %-40s %s%s%s%s\n", t, r->failed ? "failed" : "ok", r->code,
               (double)r->duration / 1e6, r->principal[0] ? r->principal : "-", proc, r->txid,
               r->client[0] ? " " : "", r->client, r->recovered ? " (recovered)" : "");
    }
    p->n++;
    return 0;
}

static int query(int argc, char **argv, int first, const char *cmd)
{
    args a = {0};
    int bad = parse_filter(argc, argv, first, &a, cmd);
    if (bad)
        return bad;
    if (strcmp(cmd, "audit export") == 0 && !a.jsonl)
        return die("audit export: give --jsonl (the one format it writes)");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    printer p = {.a = &a};
    if (!a.json && !a.jsonl)
        printf("%-27s %-7s %-10s %12s  %-12s %-40s %s\n", "TIME", "OUTCOME", "CODE", "DURATION(ms)", "PRINCIPAL",
               "PROCEDURE", "TRANSACTION CLIENT");
    provost_error err;
    int rc = provost_audit_query(e, &a.f, print_one, &p, NULL, &err);
    if (a.json)
        fputs(p.n ? "\n]\n" : "[]\n", stdout);
    provost_close(e);
    if (rc < 0)
        return die("%s: %s", cmd, err.message);
    return 0;
}

static int purge(int argc, char **argv)
{
    const char *before = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--before") == 0 && i + 1 < argc)
            before = argv[++i];
        else if (strcmp(argv[i], "--before") == 0)
            return die("audit purge: --before needs a time");
        else
            return die("audit purge: unexpected argument '%s' (see provost audit --help)", argv[i]);
    }
    if (!before)
        return die("audit purge: give --before TIME (the records older than it are deleted)");
    uint64_t t;
    if (parse_time("--before", before, now_ns(), &t))
        return 2;
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    uint64_t n = 0;
    int rc = provost_audit_purge(e, t, &n, &err);
    provost_close(e);
    if (rc != 0)
        return die("audit purge: %s", err.message);
    char shown[64];
    rfc3339(t, shown, sizeof shown);
    printf("removed %" PRIu64 " record%s older than %s\n", n, n == 1 ? "" : "s", shown);
    return 0;
}

static int level(int argc, char **argv)
{
    if (argc > 3)
        return die("audit level: too many arguments ('%s')", argv[3]);
    int want = 0;
    if (argc == 3 && strcmp(argv[2], "default") != 0 && (want = provost_audit_level_parse(argv[2])) < 0)
        return die("audit level: '%s' is not a level: none, failures, enabled, full or default", argv[2]);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    if (argc == 3 && provost_audit_set_level(e, want, &err) != 0) {
        provost_close(e);
        return die("audit level: %s", err.message);
    }
    int stored = 0, now = provost_audit_level(e, &stored);
    if (stored && stored != now)
        printf("%s (the database's setting is %s; this command was given another)\n", provost_audit_level_name(now),
               provost_audit_level_name(stored));
    else
        printf("%s (%s)\n", provost_audit_level_name(now), stored ? "the database's setting" : "the default");
    provost_close(e);
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "purge") == 0)
        return purge(argc, argv);
    if (argc > 1 && strcmp(argv[1], "level") == 0)
        return level(argc, argv);
    if (argc > 1 && strcmp(argv[1], "export") == 0)
        return query(argc, argv, 2, "audit export");
    return query(argc, argv, 1, "audit");
}
