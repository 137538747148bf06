/*
 * cmd_batch.c -- `provost batch`: the command line of the batch runner (provost/batch.h).
 * The runner does the work; this file turns the arguments into its options, opens the
 * engine the way every command does, catches SIGINT and SIGTERM (the first stops the batch
 * so that it can be resumed, the second quits at once), and prints the progress, the
 * requests that could not be run, and the summary.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/batch.h"
#include "tools.h"

#define SHOW_INVALID 20 /* requests that could not be run, shown one by one */

typedef struct args {
    provost_batch_options run;
    int sync; /* provost_sync, or -1 */
    bool quiet;
    double progress_every;
} args;

/* What the callbacks print with (the runner calls them one at a time). */
typedef struct screen {
    bool tty;
    unsigned long invalid_shown;
} screen;

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
    if (signals++ == 0) {
        __atomic_store_n(&interrupted, sig, __ATOMIC_RELAXED); /* read by the runner's threads */
        static const char msg[] = "\nprovost batch: stopping: no new requests; waiting for the running ones (press "
                                  "Ctrl-C again to quit at once: they will be rolled back)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ---- the command line ----------------------------------------------------------------- */

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

/* An option that takes a value: 1 taken, 0 not one of them, or die()'s status (2). */
static int value_option(int argc, char **argv, int *i, args *a)
{
    provost_batch_options *o = &a->run;
    const char *v = NULL;
    int m;
    if ((m = value_of(argc, argv, i, "--jobs", "-j", &v))) {
        char *end;
        long n = m > 0 ? strtol(v, &end, 10) : 0;
        if (m < 0 || *end || n < 1 || n > 1024)
            return die("batch: --jobs takes a number of worker threads from 1 to 1024");
        o->jobs = (int)n;
    } else if ((m = value_of(argc, argv, i, "--sync", NULL, &v))) {
        if (m < 0 || (a->sync = parse_sync(v)) < 0)
            return die("batch: --sync takes always, group or none");
    } else if ((m = value_of(argc, argv, i, "--out", "-o", &v))) {
        if (m < 0)
            return die("batch: --out needs a file or a directory");
        o->out = v;
    } else if ((m = value_of(argc, argv, i, "--rows", NULL, &v))) {
        if (m < 0)
            return die("batch: --rows needs a CSV or JSON Lines file (or - for standard input)");
        o->rows = v;
    } else if ((m = value_of(argc, argv, i, "--format", NULL, &v))) {
        if (m < 0 || (strcmp(v, "csv") != 0 && strcmp(v, "jsonl") != 0))
            return die("batch: --format takes csv or jsonl");
        o->format = strcmp(v, "csv") == 0 ? PROVOST_BATCH_CSV : PROVOST_BATCH_JSONL;
    } else if ((m = value_of(argc, argv, i, "--progress-every", NULL, &v))) {
        char *end;
        double d = m > 0 ? strtod(v, &end) : -1;
        if (m < 0 || *end || d < 0 || d > 86400)
            return die("batch: --progress-every takes a number of seconds (0: no progress lines)");
        a->progress_every = d;
    } else {
        return 0;
    }
    return 1;
}

/* The options that go together, and the default number of workers. */
static int check_options(args *a)
{
    provost_batch_options *o = &a->run;
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

/* 0, or the exit status after a one-line error.  inputs: room for argc names. */
static int parse_options(int argc, char **argv, args *a, const char **inputs)
{
    provost_batch_options *o = &a->run;
    *a = (args){.run = {.format = -1, .inputs = inputs}, .sync = -1, .progress_every = 10};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int m = value_option(argc, argv, &i, a);
        if (m > 1)
            return m;
        if (m == 1)
            continue;
        if (strcmp(arg, "--call") == 0) {
            if (i + 2 >= argc)
                return die("batch: --call needs a namespace and a procedure (--call NAMESPACE PROCEDURE)");
            o->ns = argv[++i];
            o->proc = argv[++i];
        } else if (strcmp(arg, "--responses") == 0) {
            o->responses = true;
        } else if (strcmp(arg, "--continue") == 0) {
            o->stop_on_error = false;
        } else if (strcmp(arg, "--stop-on-error") == 0) {
            o->stop_on_error = true;
        } else if (strcmp(arg, "--resume") == 0) {
            o->resume = true;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            a->quiet = true;
        } else if (arg[0] == '-' && arg[1]) {
            return die("batch: unknown option '%s' (see provost batch --help)", arg);
        } else {
            inputs[o->ninputs++] = arg;
        }
    }
    return check_options(a);
}

/* ---- what the runner reports ---------------------------------------------------------- */

static void clear_bar(const screen *sc)
{
    if (sc->tty)
        fputs("\r\033[K", stderr);
}

static void on_progress(void *ctx, const provost_batch_progress *p)
{
    batch_print_progress(stderr, p, ((screen *)ctx)->tty);
}

static void on_message(void *ctx, int kind, const char *text)
{
    screen *sc = ctx;
    if (kind == PROVOST_BATCH_SAY_NOTE) {
        fprintf(stderr, "provost batch: %s\n", text);
        return;
    }
    if (kind == PROVOST_BATCH_SAY_INVALID && sc->invalid_shown++ >= SHOW_INVALID)
        return;
    clear_bar(sc);
    fprintf(stderr, kind == PROVOST_BATCH_SAY_ERROR ? "provost: batch: %s\n" : "provost: %s\n", text);
}

static provost_engine *open_engine(void *ctx, const provost_options *o)
{
    int status = 0;
    return tool_open_with(o, &status);
}

/* ---- the command ---------------------------------------------------------------------- */

int cmd_batch(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "forget") == 0)
        return cmd_batch_forget(argc - 1, argv + 1);
    if (argc > 2 && strcmp(argv[1], "--cluster") == 0)
        return cmd_cluster_batch(argv[2], argc - 2, argv + 2);
    if (tool_cluster_given())
        return cmd_cluster_batch(tool_cluster_given(), argc, argv);
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    args a;
    if (!inputs)
        return die("batch: out of memory");
    if (parse_options(argc, argv, &a, inputs)) {
        free(inputs);
        return 2;
    }
    screen sc = {.tty = !a.quiet && isatty(2)};
    provost_batch_options *o = &a.run;
    o->engine = tool_engine_options(a.sync);
    o->open_engine = open_engine;
    o->results_to = stdout;
    o->progress_every = a.quiet ? 0 : sc.tty ? 0.25 : a.progress_every;
    o->progress = on_progress;
    o->message = on_message;
    o->ctx = &sc;
    o->interrupt = &interrupted;
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    provost_batch_summary s;
    char err[1400] = "";
    int status;
    if (provost_batch_run(o, &s, err, sizeof err) != 0) {
        status = err[0] ? die("batch: %s", err) : 2;
    } else {
        clear_bar(&sc);
        batch_print_summary(stderr, &s, o->out);
        bool ok = s.finished && s.by_status[PROVOST_BATCH_SUCCEEDED] == s.requests;
        status = s.errors                                 ? 2
                 : s.stop == SIGINT || s.stop == SIGTERM ? 128 + s.stop
                 : ok                                     ? 0
                                                          : 1;
        provost_batch_summary_free(&s);
    }
    free(inputs);
    return status;
}
