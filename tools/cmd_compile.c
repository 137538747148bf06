/*
 * cmd_compile.c -- `provost compile` and `provost disasm`: namespace files to bundles,
 * and bundles (or files) to listings.  Neither needs a database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/compiler.h"
#include "provost/provost.h"
#include "provost/batch.h"
#include "tools.h"

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

int cmd_compile(int argc, char **argv)
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
        if (!path || provost_write_atomically(path, c.bundle, c.size, err, sizeof err) != 0) {
            fprintf(stderr, "provost: %s: cannot write: %s\n", path ? path : "output", path ? err : "out of memory");
            status = 2;
        }
        free(def);
    }
    provost_compiled_free(&c);
    return status;
}

int cmd_disasm(int argc, char **argv)
{
    const char *in = NULL;
    int explain = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--explain") == 0) {
            explain = 1;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return die("disasm: unknown option '%s' (see provost disasm --help)", argv[i]);
        if (in)
            return die("disasm: one file at a time ('%s' and '%s')", in, argv[i]);
        in = argv[i];
    }
    if (!in)
        return die("disasm: no input file (usage: provost disasm [--explain] NS.pvb|NS.xml)");
    char err[256] = "";
    size_t len = 0;
    char *src = read_input(in, &len, err, sizeof err);
    if (!src)
        return die("%s: %s", in, err);
    const char *shown = strcmp(in, "-") == 0 ? "<stdin>" : in;
    int rc = 0;
    if (provost_is_bundle(src, len)) {
        if (provost_disasm_bundle(src, len, explain, stdout, err, sizeof err) != 0)
            rc = die("%s: %s", shown, err);
    } else {
        provost_compiled c = {0};
        int crc = provost_compile(shown, src, len, &c);
        provost_compiled_print(&c, shown, stderr);
        if (crc != 0)
            rc = 2;
        else if (provost_disasm_bundle(c.bundle, c.size, explain, stdout, err, sizeof err) != 0)
            rc = die("%s: internal error: %s", shown, err);
        provost_compiled_free(&c);
    }
    free(src);
    if (rc)
        return rc;
    return fflush(stdout) == 0 ? 0 : 2;
}

