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
#include "provost/bytecode.h"
#include "tools/tools.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help;
} command;

int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
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
    {"register", cmd_register, "register namespaces (XML or bundles) in the database",
     "usage: provost [--db DIR] register NS.xml|NS.pvb ...\n"
     "\n"
     "Compiles (or loads) each namespace and stores it in the engine's database.  A\n"
     "namespace of the same name (compared without case) is replaced atomically and its\n"
     "revision goes up by one; a read-only namespace cannot be replaced.  Calls between\n"
     "namespaces are linked again at once.\n"
     "\n"
     "Exit status: 0 registered, 2 a file did not compile or could not be stored.\n"},
    {"unregister", cmd_unregister, "remove namespaces from the database",
     "usage: provost [--db DIR] unregister NAME ...\n"
     "\n"
     "Removes the namespaces.  Read-only namespaces (such as Error Provider) stay.\n"
     "Exit status: 0 removed, 2 not registered or read-only.\n"},
    {"list", cmd_list, "list namespaces, or the procedures of one",
     "usage: provost [--db DIR] list [NAMESPACE]\n"
     "\n"
     "Without NAMESPACE: every registered namespace with its version, revision, number of\n"
     "procedures, provider and flags.  With it: its procedures with type, access and flags.\n"},
    {"export", cmd_export, "print the XML a namespace was registered from",
     "usage: provost [--db DIR] export NAMESPACE\n"},
    {"run", cmd_run, "run a trusted request and print its response",
     "usage: provost [--db DIR] run REQUEST.xml [--pretty] [--stats]\n"
     "\n"
     "Runs the request (which carries its own <procedure>) as a transaction -- or one\n"
     "transaction per <data> when it holds several -- and prints the response XML on\n"
     "standard output.  REQUEST.xml may be - for standard input.\n"
     "\n"
     "  --pretty   indent the response\n"
     "  --stats    after the response, print each procedure's counters on standard error\n"
     "\n"
     "Exit status: 0 succeeded, 1 the request (or a part of it) failed, 2 bad input\n"
     "(malformed XML is reported as FILE:LINE:COL).\n"},
    {"call", cmd_call, "call a public procedure (a simple request)",
     "usage: provost [--db DIR] call NAMESPACE PROCEDURE [DATA.xml] [--pretty] [--stats]\n"
     "\n"
     "Runs one public procedure with DATA.xml as its data and prints the response.\n"
     "DATA.xml holds a <data> element, or a <request> without <procedure> (to give a\n"
     "context, e.g. clientContext); without it the data is empty.  It may be - .\n"
     "\n"
     "  --pretty   indent the response\n"
     "  --stats    after the response, print each procedure's counters on standard error\n"
     "\n"
     "Exit status: 0 succeeded, 1 the request failed, 2 bad input.\n"},
    {"recover", cmd_recover, "finish every transaction a crash left unfinished",
     "usage: provost [--db DIR] recover\n"
     "\n"
     "Rolls back, newest step first, every transaction the journal holds unfinished (a step\n"
     "journaled but never confirmed is rolled back in doubt, with inDoubt=\"1\"), and\n"
     "commits those whose commit was decided.  Opening the database does the same; this\n"
     "command does only that.  A compensation that keeps failing parks its transaction as\n"
     "stuck.\n"
     "\n"
     "Exit status: 0 nothing left, 1 some transactions are stuck, 2 the database cannot be\n"
     "opened.\n"},
    {"txn", cmd_txn, "list the journal's transactions, resolve stuck ones",
     "usage: provost [--db DIR] txn list [--stuck]\n"
     "       provost [--db DIR] txn resolve ID --rolled-back|--retry\n"
     "\n"
     "list shows every transaction the journal holds, with each journaled step and its\n"
     "state; --stuck only those parked after failed compensations or commits.\n"
     "resolve finishes a stuck transaction: --retry runs its compensation (or commit)\n"
     "again; --rolled-back tells Provost an operator compensated it by hand, and removes it.\n"},
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
          "options:\n"
          "  --db DIR       the engine's database (default: $PROVOST_DB, else ./provost.db)\n"
          "  --sync MODE    journal durability: group (default: concurrent transactions\n"
          "                 share fsyncs), always (each record synced on its own), none\n"
          "                 (never synced: survives a crash of the process, not of the\n"
          "                 machine); also $PROVOST_SYNC\n"
          "\n"
          "commands:\n",
          to);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(to, "  %-10s %s\n", commands[i].name, commands[i].summary);
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
    for (;;) { /* global options */
        if (argc > 2 && strcmp(argv[1], "--db") == 0) {
            tool_db = argv[2];
        } else if (argc > 2 && strcmp(argv[1], "--sync") == 0) {
            if ((tool_sync = parse_sync(argv[2])) < 0)
                return die("--sync takes always, group or none (not '%s')", argv[2]);
        } else if (argc > 1 && strncmp(argv[1], "--sync=", 7) == 0) {
            if ((tool_sync = parse_sync(argv[1] + 7)) < 0)
                return die("--sync takes always, group or none (not '%s')", argv[1] + 7);
            argv += 1;
            argc -= 1;
            continue;
        } else {
            break;
        }
        argv += 2;
        argc -= 2;
    }
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
