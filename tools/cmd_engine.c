/*
 * cmd_engine.c -- the commands that open the engine's database: register, unregister,
 * list, export, run and call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/audit.h"
#include "provost/bytecode.h"
#include "provost/provost.h"
#include "tools.h"

/* The global options, as given before the command name. */
static struct {
    const char *db;
    int validate;
    int sync; /* -1: not given */
    const char *as; /* --as NAME: an administrator acts as another principal */
    int audit_level; /* provost_audit_level; 0: the database's */
    const char *cluster; /* --cluster CONNINFO */
} global = {NULL, 0, -1, NULL, 0, NULL};

const char *tool_cluster_given(void)
{
    return global.cluster;
}

const char *tool_db_given(void)
{
    return global.db ? global.db : getenv("PROVOST_DB");
}

int parse_sync(const char *v)
{
    if (!v)
        return -1;
    if (strcmp(v, "group") == 0)
        return PROVOST_SYNC_GROUP;
    if (strcmp(v, "always") == 0)
        return PROVOST_SYNC_ALWAYS;
    if (strcmp(v, "none") == 0)
        return PROVOST_SYNC_NONE;
    return -1;
}

int tool_global_options(int *argc, char ***argv)
{
    for (;;) {
        int n = *argc;
        char **a = *argv;
        int used = 0;
        if (n > 2 && strcmp(a[1], "--db") == 0) {
            global.db = a[2];
            used = 2;
        } else if (n > 2 && strcmp(a[1], "--as") == 0) {
            if (global.as)
                return die("--as is given twice ('%s' and '%s')", global.as, a[2]);
            global.as = a[2];
            used = 2;
        } else if (n > 2 && strcmp(a[1], "--cluster") == 0) {
            global.cluster = a[2];
            used = 2;
        } else if (n > 1 && strcmp(a[1], "--validate") == 0) {
            global.validate = 1;
            used = 1;
        } else if (n > 2 && strcmp(a[1], "--sync") == 0) {
            if ((global.sync = parse_sync(a[2])) < 0)
                return die("--sync takes always, group or none (not '%s')", a[2]);
            used = 2;
        } else if (n > 2 && strcmp(a[1], "--audit-level") == 0) {
            if ((global.audit_level = provost_audit_level_parse(a[2])) < 0)
                return die("--audit-level takes none, failures, enabled or full (not '%s')", a[2]);
            used = 2;
        } else if (n > 1 && strncmp(a[1], "--sync=", 7) == 0) {
            if ((global.sync = parse_sync(a[1] + 7)) < 0)
                return die("--sync takes always, group or none (not '%s')", a[1] + 7);
            used = 1;
        } else {
            return 0;
        }
        *argv += used;
        *argc -= used;
    }
}

provost_options tool_engine_options(int sync)
{
    const char *db = global.db ? global.db : getenv("PROVOST_DB");
    const char *validate = getenv("PROVOST_VALIDATE");
    if (sync < 0)
        sync = global.sync >= 0 ? global.sync : parse_sync(getenv("PROVOST_SYNC"));
    return (provost_options){.db_path = db && *db ? db : "provost.db",
                             .error_map_file = getenv("PROVOST_ERROR_MAP"),
                             .sync = sync >= 0 ? sync : PROVOST_SYNC_GROUP,
                             .act_as = global.as,
                             .audit_level = global.audit_level,
                             .validate = global.validate || (validate && strcmp(validate, "1") == 0)};
}

provost_engine *tool_open_engine(int sync, int *status)
{
    provost_options o = tool_engine_options(sync);
    return tool_open_with(&o, status);
}

provost_engine *tool_open_with(const provost_options *o, int *status)
{
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(o, &e, &err) != 0) {
        *status = die("%s: %s", o->db_path, err.message);
        return NULL;
    }
    const char *warning = provost_warning(e);
    if (warning)
        fprintf(stderr, "provost: warning: %s\n", warning);
    return e;
}

/* Options shared by run and call; returns the index of the first non-option, or -1. */
typedef struct req_opts {
    int pretty, stats;
} req_opts;

static int req_options(int argc, char **argv, req_opts *o, const char **pos, int maxpos, int *npos,
                       const char *cmd)
{
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pretty") == 0)
            o->pretty = 1;
        else if (strcmp(argv[i], "--stats") == 0)
            o->stats = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return die("%s: unknown option '%s' (see provost %s --help)", cmd, argv[i], cmd);
        else if (*npos == maxpos)
            return die("%s: too many arguments ('%s')", cmd, argv[i]);
        else
            pos[(*npos)++] = argv[i];
    }
    return 0;
}

static void print_stats(provost_engine *e)
{
    provost_proc_stats *v;
    size_t n;
    provost_error err;
    if (provost_stats(e, &v, &n, &err) != 0)
        return;
    fprintf(stderr, "%-40s %8s %8s %8s %8s %8s %10s %10s %10s %10s\n", "PROCEDURE", "COUNT", "OK", "FAILED",
            "INDOUBT", "RATE/s", "P50(us)", "P99(us)", "P99.9(us)", "MAX(us)");
    for (size_t i = 0; i < n; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s/%s", v[i].ns, v[i].proc);
        fprintf(stderr, "%-40s %8llu %8llu %8llu %8llu %8.1f %10.1f %10.1f %10.1f %10.1f\n", name,
                (unsigned long long)v[i].count, (unsigned long long)v[i].succeeded,
                (unsigned long long)v[i].failed, (unsigned long long)v[i].in_doubt, v[i].rate, v[i].p50, v[i].p99,
                v[i].p999, v[i].max);
    }
    provost_stats_free(v, n);
    fprintf(stderr, "journal: %llu syncs, %llu writes\n", (unsigned long long)provost_journal_syncs(e),
            (unsigned long long)provost_journal_writes(e));
}

/* Prints a response and turns it into an exit status. */
static int finish(provost_engine *e, int rc, const char *shown, provost_response *resp, provost_error *err,
                  const req_opts *o)
{
    int status;
    if (rc != 0) {
        /* malformed input: no request ran */
        if (err->message[0] >= '0' && err->message[0] <= '9')
            fprintf(stderr, "%s:%s\n", shown, err->message);
        else
            fprintf(stderr, "provost: %s: %s\n", shown, err->message);
        status = 2;
    } else {
        if (resp->xml)
            fwrite(resp->xml, 1, resp->len, stdout);
        if (!o->pretty)
            fputc('\n', stdout);
        status = resp->failed ? 1 : 0;
    }
    if (o->stats)
        print_stats(e);
    provost_response_free(resp);
    provost_close(e);
    if (fflush(stdout) != 0)
        status = 2;
    return status;
}

int cmd_run(int argc, char **argv)
{
    req_opts o = {0};
    const char *pos[1];
    int npos;
    if (req_options(argc, argv, &o, pos, 1, &npos, "run"))
        return 2;
    if (npos != 1)
        return die("run: which request? (usage: provost run REQUEST.xml)");
    char err[256] = "";
    size_t len = 0;
    char *src = read_input(pos[0], &len, err, sizeof err);
    if (!src)
        return die("%s: %s", pos[0], err);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e) {
        free(src);
        return status;
    }
    provost_response resp;
    provost_error perr;
    int rc = provost_submit(e, src, len, o.pretty ? PROVOST_PRETTY : PROVOST_COMPACT, &resp, &perr);
    free(src);
    return finish(e, rc, strcmp(pos[0], "-") ? pos[0] : "<stdin>", &resp, &perr, &o);
}

int cmd_call(int argc, char **argv)
{
    req_opts o = {0};
    const char *pos[3];
    int npos;
    if (req_options(argc, argv, &o, pos, 3, &npos, "call"))
        return 2;
    if (npos < 2)
        return die("call: usage: provost call NAMESPACE PROCEDURE [DATA.xml]");
    char err[256] = "";
    size_t len = 0;
    char *src = NULL;
    if (npos == 3 && !(src = read_input(pos[2], &len, err, sizeof err)))
        return die("%s: %s", pos[2], err);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e) {
        free(src);
        return status;
    }
    provost_response resp;
    provost_error perr;
    int rc = provost_call(e, pos[0], pos[1], src, len, o.pretty ? PROVOST_PRETTY : PROVOST_COMPACT, &resp, &perr);
    free(src);
    const char *shown = npos == 3 ? (strcmp(pos[2], "-") ? pos[2] : "<stdin>") : "data";
    return finish(e, rc, shown, &resp, &perr, &o);
}

int cmd_register(int argc, char **argv)
{
    if (tool_cluster_given())
        return cmd_cluster_register(argc, argv);
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return die("register: unknown option '%s' (see provost register --help)", argv[i]);
        nfiles++;
    }
    if (!nfiles)
        return die("register: which namespace? (usage: provost register NS.xml|NS.pvb ...)");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    for (int i = 1; i < argc; i++) {
        char err[256] = "";
        size_t len = 0;
        char *src = read_input(argv[i], &len, err, sizeof err);
        if (!src) {
            status = die("%s: %s", argv[i], err);
            continue;
        }
        provost_ns_info info;
        provost_error perr;
        if (provost_register(e, argv[i], src, len, &info, &perr) != 0) {
            if (strchr(perr.message, '\n') || strncmp(perr.message, argv[i], strlen(argv[i])) == 0)
                fprintf(stderr, "%s\n", perr.message);
            else
                fprintf(stderr, "provost: %s: %s\n", argv[i], perr.message);
            status = 2;
        } else {
            printf("registered %s (revision %llu, %u procedure%s)\n", info.name, (unsigned long long)info.revision,
                   info.procedures, info.procedures == 1 ? "" : "s");
            free(info.name);
            free(info.version);
            free(info.provider);
            free(info.description);
        }
        free(src);
    }
    provost_close(e);
    return status;
}

int cmd_unregister(int argc, char **argv)
{
    if (argc < 2)
        return die("unregister: which namespace? (usage: provost unregister NAME ...)");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    for (int i = 1; i < argc; i++) {
        provost_error err;
        if (provost_unregister(e, argv[i], &err) != 0)
            status = die("unregister: %s", err.message);
        else
            printf("unregistered %s\n", argv[i]);
    }
    provost_close(e);
    return status;
}

static const char *const type_names[] = {"?", "read", "write", "twoPhase"};

int cmd_list(int argc, char **argv)
{
    if (argc > 2)
        return die("list: usage: provost list [NAMESPACE]");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    if (argc == 2) {
        provost_proc_info *v;
        size_t n;
        if (provost_list_procedures(e, argv[1], &v, &n, &err) != 0) {
            provost_close(e);
            return die("list: %s", err.message);
        }
        printf("%-32s %-9s %-8s %s\n", "PROCEDURE", "TYPE", "ACCESS", "FLAGS");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-9s %-8s%s%s%s%s\n", v[i].name, type_names[v[i].type & 3],
                   v[i].access ? "public" : "private", (v[i].flags & PROVOST_PROC_PROVIDER) ? " provider" : "",
                   (v[i].flags & PROVOST_PROC_AUDIT) ? " auditEnabled" : "",
                   (v[i].flags & PROVOST_PROC_PERF) ? " perfEnabled" : "",
                   (v[i].flags & PROVOST_PROC_SAVEDATA) ? " saveDataForRollback" : "");
        provost_proc_info_free(v, n);
    } else {
        provost_ns_info *v;
        size_t n;
        if (provost_list(e, &v, &n, &err) != 0) {
            provost_close(e);
            return die("list: %s", err.message);
        }
        printf("%-32s %-8s %-8s %-10s %-16s %s\n", "NAMESPACE", "VERSION", "REVISION", "PROCEDURES", "PROVIDER",
               "FLAGS");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-8s %-8llu %-10u %-16s %s\n", v[i].name, v[i].version ? v[i].version : "-",
                   (unsigned long long)v[i].revision, v[i].procedures, v[i].provider ? v[i].provider : "-",
                   v[i].read_only ? "read-only" : "");
        provost_ns_info_free(v, n);
    }
    provost_close(e);
    return 0;
}

int cmd_export(int argc, char **argv)
{
    if (argc != 2)
        return die("export: usage: provost export NAMESPACE");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    char *xml;
    size_t len;
    provost_error err;
    if (provost_export(e, argv[1], &xml, &len, &err) != 0) {
        provost_close(e);
        return die("export: %s", err.message);
    }
    fwrite(xml, 1, len, stdout);
    free(xml);
    provost_close(e);
    return fflush(stdout) == 0 ? 0 : 2;
}

int cmd_recover(int argc, char **argv)
{
    int salvage = argc == 2 && strcmp(argv[1], "--salvage") == 0;
    if (argc > 2 || (argc == 2 && !salvage))
        return die("recover: usage: provost recover [--salvage]");
    int status = 0;
    provost_options o = tool_engine_options(-1);
    o.salvage = salvage;
    provost_engine *e = tool_open_with(&o, &status); /* opening recovers (or salvages) */
    if (!e)
        return status;
    provost_txn_info *v;
    size_t n;
    provost_error err;
    size_t stuck = 0;
    if (provost_txn_list(e, &v, &n, &err) != 0) {
        provost_close(e);
        return die("recover: %s", err.message);
    }
    for (size_t i = 0; i < n; i++)
        stuck += v[i].stuck != NULL;
    provost_txn_info_free(v, n);
    if (salvage)
        printf("salvaged: every record that could be read is kept; %zu transaction%s parked as stuck for you to "
               "check (provost txn list --stuck)\n",
               stuck, stuck == 1 ? "" : "s");
    else
        printf("recovered: every unfinished transaction is rolled back or committed; %zu stuck%s\n", stuck,
               stuck ? " (see provost txn list --stuck)" : "");
    provost_close(e);
    return stuck ? 1 : 0;
}

static const char *const state_names[] = {"intended (outcome unknown)", "done", "failed", "prepared", "committed",
                                          "rolled back"};

int cmd_txn(int argc, char **argv)
{
    if (argc < 2)
        return die("txn: usage: provost txn list [--stuck] | provost txn resolve ID --rolled-back|--retry");
    int status = 0;
    if (strcmp(argv[1], "list") == 0) {
        int only_stuck = argc == 3 && strcmp(argv[2], "--stuck") == 0;
        if (argc > 3 || (argc == 3 && !only_stuck))
            return die("txn list: usage: provost txn list [--stuck]");
        provost_engine *e = tool_open_engine(-1, &status);
        if (!e)
            return status;
        provost_txn_info *v;
        size_t n;
        provost_error err;
        if (provost_txn_list(e, &v, &n, &err) != 0) {
            provost_close(e);
            return die("txn list: %s", err.message);
        }
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
            if (only_stuck && !v[i].stuck)
                continue;
            shown++;
            printf("%s%s%s%s%s\n", v[i].id, v[i].client ? " client=" : "", v[i].client ? v[i].client : "",
                   v[i].commit_decided ? " commit-decided" : "", v[i].stuck ? " STUCK" : "");
            if (v[i].stuck)
                printf("  why: %s\n", v[i].stuck);
            for (size_t k = 0; k < v[i].nsteps; k++)
                printf("  step %u %s/%s: %s\n", v[i].steps[k].exec_id, v[i].steps[k].ns, v[i].steps[k].proc,
                       state_names[v[i].steps[k].state]);
        }
        if (!shown)
            printf("no %stransaction in the journal\n", only_stuck ? "stuck " : "");
        provost_txn_info_free(v, n);
        provost_close(e);
        return 0;
    }
    if (strcmp(argv[1], "resolve") == 0) {
        if (argc != 4 || (strcmp(argv[3], "--rolled-back") != 0 && strcmp(argv[3], "--retry") != 0))
            return die("txn resolve: usage: provost txn resolve ID --rolled-back|--retry");
        provost_engine *e = tool_open_engine(-1, &status);
        if (!e)
            return status;
        provost_error err;
        int how = strcmp(argv[3], "--retry") == 0 ? PROVOST_RESOLVE_RETRY : PROVOST_RESOLVE_ROLLEDBACK;
        if (provost_txn_resolve(e, argv[2], how, &err) != 0) {
            provost_close(e);
            fprintf(stderr, "provost: txn resolve: %s: %s\n", argv[2], err.message);
            return err.code == PROVOST_E_NOTFOUND ? 2 : 1;
        }
        printf("%s: %s\n", argv[2], how == PROVOST_RESOLVE_RETRY ? "finished" : "marked rolled back and removed");
        provost_close(e);
        return 0;
    }
    return die("txn: unknown subcommand '%s' (list or resolve)", argv[1]);
}
