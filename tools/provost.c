/*
 * provost.c -- the `provost` command: one binary, git-style subcommands.  Exit status:
 * 0 success, 1 a failed request, 2 bad input or usage.  Every error is one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler/compiler.h"
#include "vm/bundle.h"

#define MAX_INPUT ((size_t)1 << 30)

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help;
} command;

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A one-line error on stderr; returns the exit status for bad input. */
static int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("provost: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* Reads a whole file ("-" is stdin) into a NUL-terminated, 8-aligned buffer. */
static char *read_input(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = aligned_alloc(8, cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= MAX_INPUT) {
                snprintf(err, errlen, "larger than 1 GiB");
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = aligned_alloc(8, cap * 2);
            if (nb)
                memcpy(nb, buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
            if (!buf)
                break;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            buf[n] = 0;
            *len = n;
            break;
        }
        n += (size_t)r;
    }
    if (!buf && !err[0])
        snprintf(err, errlen, "out of memory");
    if (fd != 0)
        close(fd);
    return buf;
}

/* Writes to a temporary file beside path, then renames it: never a partial bundle. */
static int write_atomically(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return snprintf(err, errlen, "out of memory"), -1;
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    if (rc == 0)
        fchmod(fd, 0644);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

static char *default_output(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(n + 5);
    if (!out)
        return NULL;
    memcpy(out, in, n + 1);
    if (n > 4 && strcmp(in + n - 4, ".xml") == 0)
        out[n - 4] = 0;
    strcat(out, ".pvb");
    return out;
}

static int cmd_compile(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    int check = 0, quiet = 0, werror = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i == argc)
                return die("compile: %s needs a file name", argv[i - 1]);
            out = argv[i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(argv[i], "--werror") == 0) {
            werror = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return die("compile: unknown option '%s' (see provost compile --help)", argv[i]);
        } else if (in) {
            return die("compile: one input file at a time ('%s' and '%s')", in, argv[i]);
        } else {
            in = argv[i];
        }
    }
    if (!in)
        return die("compile: no input file (usage: provost compile NS.xml [-o NS.pvb])");
    if (strcmp(in, "-") == 0 && !out && !check)
        return die("compile: reading standard input needs -o FILE or --check");
    char err[256] = "";
    size_t len = 0;
    char *src = read_input(in, &len, err, sizeof err);
    if (!src)
        return die("%s: %s", in, err);
    const char *shown = strcmp(in, "-") == 0 ? "<stdin>" : in;
    provost_compiled c;
    int rc = provost_compile(shown, src, len, &c);
    free(src);
    if (quiet) { /* drop warnings from the report */
        size_t k = 0;
        for (size_t i = 0; i < c.ndiags; i++) {
            if (c.diags[i].severity == PROVOST_ERROR)
                c.diags[k++] = c.diags[i];
            else
                free(c.diags[i].message);
        }
        c.ndiags = k;
    }
    provost_compiled_print(&c, shown, stderr);
    if (rc != 0 || (werror && c.nwarnings)) {
        if (rc != 0 && c.nerrors == 0)
            fprintf(stderr, "%s: error: out of memory\n", shown);
        else if (c.nerrors > 1)
            fprintf(stderr, "%s: %u errors\n", shown, c.nerrors);
        provost_compiled_free(&c);
        return 2;
    }
    int status = 0;
    if (!check) {
        char *def = out ? NULL : default_output(in);
        const char *path = out ? out : def;
        if (!path || write_atomically(path, c.bundle, c.size, err, sizeof err) != 0) {
            fprintf(stderr, "provost: %s: cannot write: %s\n", path ? path : "output", path ? err : "out of memory");
            status = 2;
        }
        free(def);
    }
    provost_compiled_free(&c);
    return status;
}

static int cmd_disasm(int argc, char **argv)
{
    const char *in = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return die("disasm: unknown option '%s' (see provost disasm --help)", argv[i]);
        if (in)
            return die("disasm: one file at a time ('%s' and '%s')", in, argv[i]);
        in = argv[i];
    }
    if (!in)
        return die("disasm: no input file (usage: provost disasm NS.pvb|NS.xml)");
    char err[256] = "";
    size_t len = 0;
    char *src = read_input(in, &len, err, sizeof err);
    if (!src)
        return die("%s: %s", in, err);
    const char *shown = strcmp(in, "-") == 0 ? "<stdin>" : in;
    provost_bundle *b;
    provost_compiled c = {0};
    if (provost_is_bundle(src, len)) {
        b = provost_bundle_load(src, len, 0, err, sizeof err);
        if (!b) {
            free(src);
            return die("%s: %s", shown, err);
        }
    } else {
        int rc = provost_compile(shown, src, len, &c);
        provost_compiled_print(&c, shown, stderr);
        if (rc != 0) {
            provost_compiled_free(&c);
            free(src);
            return 2;
        }
        b = provost_bundle_load(c.bundle, c.size, 0, err, sizeof err);
        if (!b) {
            provost_compiled_free(&c);
            free(src);
            return die("%s: internal error: %s", shown, err);
        }
    }
    provost_disasm(b, stdout);
    provost_bundle_close(b);
    provost_compiled_free(&c);
    free(src);
    return fflush(stdout) == 0 ? 0 : 2;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("%s (bundle format %u)\n", provost_compiler_version(), PROVOST_BUNDLE_FORMAT);
    return 0;
}

static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"compile", cmd_compile, "compile a namespace (or a request's procedure) into a bundle",
     "usage: provost compile NS.xml [-o NS.pvb] [--check] [--quiet] [--werror]\n"
     "\n"
     "Compiles a namespace file (or a trusted request with an inline <procedure>) into a\n"
     "bundle (.pvb) that `provost register` loads without parsing XML again.  XPath\n"
     "expressions, stylesheets and schemas are all checked here.\n"
     "\n"
     "Errors and warnings go to standard error as FILE:LINE:COL: error: MESSAGE; every\n"
     "error in the file is reported, not just the first.  Nothing is written when there\n"
     "is an error, and an existing bundle is replaced only by a complete new one.\n"
     "\n"
     "  -o, --output FILE  write the bundle to FILE (default: NS.pvb beside NS.xml)\n"
     "  --check            check only: write nothing\n"
     "  -q, --quiet        do not print warnings\n"
     "  --werror           treat warnings as errors (exit 2 if there is any)\n"
     "  NS.xml may be - for standard input (then -o or --check is needed).\n"
     "\n"
     "Exit status: 0 compiled, 2 errors in the input or the command line.\n"},
    {"disasm", cmd_disasm, "print the bytecode of a bundle or a namespace file",
     "usage: provost disasm NS.pvb|NS.xml\n"
     "\n"
     "Prints each procedure: its attributes, then one instruction per line with its\n"
     "operands decoded (scopes, paths, transforms, calls, selects, cases, jump targets)\n"
     "and the source line it came from; then the stylesheets the bundle holds.  An XML\n"
     "file is compiled first (its diagnostics go to standard error).  FILE may be - .\n"
     "\n"
     "Exit status: 0 printed, 2 the file is not a valid bundle or does not compile.\n"},
    {"version", cmd_version, "print the version and the bundle format",
     "usage: provost version\n"},
    {"help", cmd_help, "describe a command", "usage: provost help [COMMAND]\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *to)
{
    fputs("usage: provost COMMAND [ARGS]\n"
          "\n"
          "Provost compiles and runs provisioning procedures written in the MPF namespace\n"
          "language.\n"
          "\n"
          "commands:\n",
          to);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(to, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'provost COMMAND --help' describes a command and every option it takes.\n", to);
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            fputs(commands[i].help, stdout);
            return 0;
        }
    return die("help: unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (wants_help(argc - 1, argv + 1)) {
            fputs(commands[i].help, stdout);
            return 0;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    return die("unknown command '%s' (see provost --help)", argv[1]);
}
