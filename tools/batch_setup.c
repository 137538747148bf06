/*
 * batch_setup.c -- the command line of `provost batch`, and what it needs checked before
 * anything runs: where the results and the state go, the inputs' absolute names, the
 * called procedure.
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provost/provost.h"
#include "tools/batch.h"
#include "tools/tools.h"

/* "--name VALUE" or "--name=VALUE": 1 matched (*v set), 0 not this option, -1 no value. */
static int value_of(int argc, char **argv, int *i, const char *name, const char *alias, const char **v)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) == 0 && a[n] == '=') {
        *v = a + n + 1;
        return 1;
    }
    if (strcmp(a, name) != 0 && !(alias && strcmp(a, alias) == 0))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *v = argv[++*i];
    return 1;
}

int batch_parse_options(int argc, char **argv, batch_options *o)
{
    memset(o, 0, sizeof *o);
    o->sync = -1;
    o->format = -1;
    o->progress_every = 10;
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    if (!o->inputs)
        return die("batch: out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int m;
        if ((m = value_of(argc, argv, &i, "--jobs", "-j", &v))) {
            char *end;
            long n = m > 0 ? strtol(v, &end, 10) : 0;
            if (m < 0 || *end || n < 1 || n > 1024)
                return die("batch: --jobs takes a number of worker threads from 1 to 1024");
            o->jobs = (int)n;
        } else if ((m = value_of(argc, argv, &i, "--sync", NULL, &v))) {
            if (m < 0 || (o->sync = parse_sync(v)) < 0)
                return die("batch: --sync takes always, group or none");
        } else if ((m = value_of(argc, argv, &i, "--out", "-o", &v))) {
            if (m < 0)
                return die("batch: --out needs a file or a directory");
            o->out = v;
        } else if ((m = value_of(argc, argv, &i, "--rows", NULL, &v))) {
            if (m < 0)
                return die("batch: --rows needs a CSV or JSON Lines file (or - for standard input)");
            o->rows = v;
        } else if ((m = value_of(argc, argv, &i, "--format", NULL, &v))) {
            if (m < 0 || (strcmp(v, "csv") != 0 && strcmp(v, "jsonl") != 0))
                return die("batch: --format takes csv or jsonl");
            o->format = strcmp(v, "csv") == 0 ? BATCH_CSV : BATCH_JSONL;
        } else if ((m = value_of(argc, argv, &i, "--progress-every", NULL, &v))) {
            char *end;
            double d = m > 0 ? strtod(v, &end) : -1;
            if (m < 0 || *end || d < 0 || d > 86400)
                return die("batch: --progress-every takes a number of seconds (0: no progress lines)");
            o->progress_every = d;
        } else if (strcmp(a, "--call") == 0) {
            if (i + 2 >= argc)
                return die("batch: --call needs a namespace and a procedure (--call NAMESPACE PROCEDURE)");
            o->ns = argv[++i];
            o->proc = argv[++i];
        } else if (strcmp(a, "--responses") == 0) {
            o->responses = true;
        } else if (strcmp(a, "--continue") == 0) {
            o->stop_on_error = false;
        } else if (strcmp(a, "--stop-on-error") == 0) {
            o->stop_on_error = true;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = true;
        } else if (a[0] == '-' && a[1]) {
            return die("batch: unknown option '%s' (see provost batch --help)", a);
        } else {
            o->inputs[o->ninputs++] = a;
        }
    }
    if (o->rows && !o->ns)
        return die("batch: --rows needs --call NAMESPACE PROCEDURE: each row is the data of one call");
    if (o->rows && o->ninputs)
        return die("batch: give either --rows FILE or request files, not both");
    if (o->format >= 0 && !o->rows)
        return die("batch: --format is for --rows");
    if (o->resume && (!o->out || strcmp(o->out, "-") == 0))
        return die("batch: --resume needs --out: a batch can be resumed only from the results file and the state "
                   "file beside it, which record what finished and the batch's id");
    if (!o->rows && !o->ninputs && !o->resume)
        return die("batch: which requests? (usage: provost batch [OPTIONS] INPUT... or --call NS PROC --rows FILE)");
    if (o->jobs == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        o->jobs = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    return 0;
}

static char *joined(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 2);
    if (s)
        sprintf(s, "%s%s", a, b);
    return s;
}

int batch_out_paths(const char *out, char **results, char **statep)
{
    struct stat st;
    size_t n = strlen(out);
    bool dir = (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) || out[n - 1] == '/';
    if (dir && mkdir(out, 0777) != 0 && errno != EEXIST)
        return die("batch: %s: %s", out, strerror(errno));
    const char *sep = out[n - 1] == '/' ? "" : "/";
    if (dir) {
        char *d = joined(out, sep);
        *results = d ? joined(d, "results.jsonl") : NULL;
        *statep = d ? joined(d, "batch.state") : NULL;
        free(d);
    } else {
        *results = strdup(out);
        *statep = joined(out, ".state");
    }
    return *results && *statep ? 0 : die("batch: out of memory");
}

int batch_resolve(const char *given, char **abs)
{
    if (strcmp(given, "-") == 0) {
        *abs = strdup("-");
        return *abs ? 0 : die("batch: out of memory");
    }
    *abs = realpath(given, NULL);
    return *abs ? 0 : die("batch: %s: %s", given, strerror(errno));
}

int batch_check_call(provost_engine *e, const char *ns, const char *proc)
{
    provost_proc_info *v;
    size_t n;
    provost_error err;
    if (provost_list_procedures(e, ns, &v, &n, &err) != 0)
        return die("batch: --call: %s", err.message);
    int found = 0; /* 1 public, -1 private */
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i].name, proc) == 0)
            found = v[i].access ? 1 : -1;
    provost_proc_info_free(v, n);
    if (!found)
        return die("batch: --call: namespace '%s' has no procedure '%s'", ns, proc);
    if (found < 0)
        return die("batch: --call: procedure '%s' of namespace '%s' is private: a batch calls public procedures",
                   proc, ns);
    return 0;
}

