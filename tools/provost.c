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

#include "provost/compiler.h"
#include "provost/bytecode.h"
#include "tools.h"

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
     "is an error, and an existing bundle is replaced only by a complete new one; a\n"
     "destination that is not a regular file (a device, a directory, a link) is refused.\n"
     "\n"
     "  -o, --output FILE  write the bundle to FILE (default: NS.pvb beside NS.xml)\n"
     "  --check            check only: write nothing\n"
     "  -q, --quiet        do not print warnings\n"
     "  --werror           treat warnings as errors (exit 2 if there is any)\n"
     "  NS.xml may be - for standard input (then -o or --check is needed).\n"
     "\n"
     "Exit status: 0 compiled, 2 errors in the input or the command line.\n"},
    {"disasm", cmd_disasm, "print the bytecode of a bundle or a namespace file",
     "usage: provost disasm [--explain] NS.pvb|NS.xml\n"
     "\n"
     "Prints each procedure: its attributes, then one instruction per line with its\n"
     "operands decoded (scopes, paths, transforms, calls, selects, cases, jump targets)\n"
     "and the source line it came from; then the stylesheets the bundle holds.  An XML\n"
     "file is compiled first (its diagnostics go to standard error).  FILE may be - .\n"
     "\n"
     "  --explain   follow each instruction with what its opcode does (the opcode\n"
     "              list of include/provost/bytecode.h)\n"
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
     "usage: provost [--db DIR] recover [--salvage]\n"
     "\n"
     "Rolls back, newest step first, every transaction the journal holds unfinished (a step\n"
     "journaled but never confirmed is rolled back in doubt, with inDoubt=\"1\"), and\n"
     "commits those whose commit was decided.  Opening the database does the same; this\n"
     "command does only that.  A compensation that keeps failing parks its transaction as\n"
     "stuck.\n"
     "\n"
     "A database whose write-ahead log is damaged is refused by every command.  Keep a copy\n"
     "of its directory, then --salvage keeps every record that can be read, finishes\n"
     "nothing, and parks every transaction of the journal as stuck, for txn list and txn\n"
     "resolve.\n"
     "\n"
     "Exit status: 0 nothing left, 1 some transactions are stuck, 2 the database cannot be\n"
     "opened (in use, damaged, not writable).\n"},
    {"txn", cmd_txn, "list the journal's transactions, resolve stuck ones",
     "usage: provost [--db DIR] txn list [--stuck]\n"
     "       provost [--db DIR] txn resolve ID --rolled-back|--retry\n"
     "\n"
     "list shows every transaction the journal holds, with each journaled step and its\n"
     "state; --stuck only those parked after failed compensations or commits.\n"
     "resolve finishes a stuck transaction: --retry runs its compensation (or commit)\n"
     "again; --rolled-back tells Provost an operator compensated it by hand, and removes it.\n"},
    {"audit", cmd_audit, "query, export and purge the audit trail; set its level",
     "usage: provost [--db DIR] audit [--since T] [--until T] [--procedure NS/P] [--outcome ok|failed]\n"
     "                                [--principal P] [--json]\n"
     "       provost [--db DIR] audit export --jsonl [the same filters]\n"
     "       provost [--db DIR] audit purge --before T\n"
     "       provost [--db DIR] audit level [none|failures|enabled|full|default]\n"
     "\n"
     "The trail holds a record per failed transaction and (level enabled or full) per call\n"
     "of an auditEnabled procedure: time, transaction, client transaction id, principal,\n"
     "procedure, outcome, code, duration, and at level full the request data (never that of\n"
     "a sensitive request).  The query prints the records in time order, as a table or (--json)\n"
     "a JSON array; export writes one JSON object per line.\n"
     "\n"
     "  --since T, --until T   records from T on, records before T.  T is RFC 3339\n"
     "                         (2026-12-05T08:00:00Z, +01:00 offsets), a date (midnight\n"
     "                         UTC), now, or relative: -30s, -30m, -1h, -7d, -2w\n"
     "  --procedure NS/P       one procedure (NS/* every procedure of NS); names without case\n"
     "  --outcome ok|failed    only succeeded, or only failed, records\n"
     "  --principal P          only the requests run for P\n"
     "\n"
     "purge deletes every record older than T.  level shows the level in force, or stores the\n"
     "database's own (default: failures; default removes the setting); the global option\n"
     "--audit-level overrides it for one command.\n"},
    {"credential", cmd_credential, "store the user names and secrets providers sign in with",
     "usage: provost [--db DIR] credential set NAME --user U (--password-file F | --password-stdin)\n"
     "       provost [--db DIR] credential list\n"
     "       provost [--db DIR] credential remove NAME ...\n"
     "\n"
     "set stores (or replaces) credential NAME for user U; its secret is the first line of F\n"
     "or of standard input, sealed under the database's master key (master.key). A\n"
     "provider's providerContext names it with credential=\"NAME\". list shows names, users\n"
     "and when each was set, never a secret. NAME: letters, digits, '.', '_', '-'.\n"},
    {"user", cmd_user, "add, remove and list users (principals), and their groups",
     "usage: provost [--db DIR] user add NAME [--group G]\n"
     "       provost [--db DIR] user remove NAME [--group G]\n"
     "       provost [--db DIR] user list\n"
     "\n"
     "add makes NAME a user; with --group G (an existing group) it also makes the user a\n"
     "member of G (adding the user first if needed).  remove deletes the user with its\n"
     "memberships and every right granted to it; with --group G only its membership of G.\n"
     "NAME: letters, digits, '.', '_', '-', '@'.  Changes need the admin right.\n"},
    {"group", cmd_group, "add, remove and list groups of users",
     "usage: provost [--db DIR] group add NAME\n"
     "       provost [--db DIR] group remove NAME\n"
     "       provost [--db DIR] group list\n"
     "\n"
     "A right granted to a group applies to each of its members (provost user add U --group G).\n"},
    {"grant", cmd_grant, "grant (or deny) a right to a user or group",
     "usage: provost [--db DIR] grant PRINCIPAL RIGHT [--namespace NS [--procedure P]] [--deny]\n"
     "\n"
     "RIGHT: execute or executePrivate (everywhere, on namespace NS, or on procedure P of\n"
     "NS), trusted (submit trusted requests), callerCredentials (basic credentials in simple\n"
     "requests), admin (register, unregister, credentials, users, grants).  --deny refuses\n"
     "the right; a deny beats every allow.  Until the first grant nothing is enforced.\n"},
    {"revoke", cmd_revoke, "remove a grant or a deny",
     "usage: provost [--db DIR] revoke PRINCIPAL RIGHT [--namespace NS [--procedure P]]\n"},
    {"acl", cmd_acl, "show the rights granted; set a procedure's inheritance or execute-as",
     "usage: provost [--db DIR] acl [NS]\n"
     "       provost [--db DIR] acl NS PROCEDURE [--inherit|--no-inherit]\n"
     "                                          [--execute-as CREDENTIAL|--no-execute-as]\n"
     "\n"
     "Prints every entry (or the global ones and those of NS), then the procedure settings.\n"
     "--no-inherit: only the procedure's own entries apply to it, not its namespace's or\n"
     "the global ones.  --execute-as: calls made from the procedure with an effective\n"
     "impersonate=\"1\" run as the stored credential's user (provost credential set).\n"},
    {"token", cmd_token, "create, list and revoke the bearer tokens of the HTTP service",
     "usage: provost [--db DIR] token create --user NAME [--expires D]\n"
     "       provost [--db DIR] token list [--json]\n"
     "       provost [--db DIR] token revoke ID\n"
     "\n"
     "A token (pvt_ID_SECRET) stands for a user in requests to `provost serve`\n"
     "(Authorization: Bearer TOKEN).  create prints a new token for NAME, a user of the\n"
     "database, on standard output: the only time it is shown, as DIR/tokens keeps only a\n"
     "hash of its secret.  D: 30d, 12h, 90m, 3600s, or a date YYYY-MM-DD[THH:MM[:SS]Z] (UTC);\n"
     "without it the token never expires.  list shows each token's id, user, creation,\n"
     "expiry and state (active, expired, revoked), never a secret; revoke ID ends a token\n"
     "for good.  create and revoke need the admin right; all three work while a service\n"
     "holds the database, which reads DIR/tokens again when it changes.\n"
     "\n"
     "Exit status: 0 done, 2 bad usage, an unknown user or token, access denied, or a\n"
     "tokens file that is damaged or that others may read.\n"},
    {"batch", cmd_batch, "run many requests (files, a file of many, CSV/JSONL rows) on worker threads",
     "usage: provost [--db DIR] batch [OPTIONS] INPUT...\n"
     "       provost [--db DIR] batch [OPTIONS] --call NAMESPACE PROCEDURE --rows FILE\n"
     "       provost [--db DIR] batch --resume --out FILE|DIR [OPTIONS] [INPUT...]\n"
     "       provost [--db DIR] batch forget BATCH\n"
     "       provost batch --cluster CONNINFO ... (a batch in a cluster: provost help cluster)\n"
     "\n"
     "Runs many requests through one engine from worker threads, each request its own\n"
     "transaction, and writes one result line per request (JSON Lines), then a summary.\n"
     "Memory does not grow with the input: requests are read one at a time and wait in a\n"
     "bounded queue (4 per worker).\n"
     "\n"
     "INPUT is a request file, a directory (its .xml files, in name order), or - for\n"
     "standard input (copied to a temporary file first).  A request with several <data>\n"
     "is one request per data (with its globalData, context and procedure); a file whose\n"
     "root is not <request> holds many <request> elements, read one at a time.  Every\n"
     "request is numbered by its position in the inputs (from 1).\n"
     "\n"
     "  --call NAMESPACE PROCEDURE\n"
     "                    call a public procedure with each input as its data: INPUTs\n"
     "                    are <data> documents (or files of many), or use --rows\n"
     "  --rows FILE       CSV (a header row, RFC 4180 quoting) or JSON Lines (one flat\n"
     "                    object per line): each row is <data><COLUMN>value</COLUMN>...\n"
     "                    </data>.  A column is an XML name, or a path: user/@name,\n"
     "                    user/address.  An empty field (not \"\") or a null adds nothing.\n"
     "  --format csv|jsonl  the rows' format (default: from the name, .csv or .jsonl,\n"
     "                    else from the first character)\n"
     "  -j, --jobs N      worker threads (default: the number of cores); with --sync\n"
     "                    group, more jobs share more fsyncs\n"
     "  --sync MODE       journal durability: group (default), always or none\n"
     "  -o, --out FILE|DIR  write the result lines to FILE (default: standard output), and\n"
     "                    keep the batch's state in FILE.state, which makes it\n"
     "                    resumable; a DIR (an existing directory, or a name ending in\n"
     "                    /) gets DIR/results.jsonl and DIR/batch.state\n"
     "  --responses       put each full response (XML) in its result line\n"
     "  --continue        go on after a failed request (the default)\n"
     "  --stop-on-error   stop taking new requests at the first failure; the running\n"
     "                    ones finish, the batch can be resumed\n"
     "  --resume          continue the unfinished batch recorded beside --out: requests\n"
     "                    with a result line are skipped, those that finished without\n"
     "                    one get it (nothing runs twice), the rest run.  The inputs are\n"
     "                    those recorded (or give the same ones again)\n"
     "  --progress-every SECONDS\n"
     "                    when standard error is not a terminal, a progress line this\n"
     "                    often (default 10; 0: none).  On a terminal: a progress bar\n"
     "  -q, --quiet       no progress display (the summary is still printed)\n"
     "\n"
     "A result line: {\"position\", \"input\", \"line\", \"clientTransactionId\",\n"
     "\"transactionId\", \"status\" (succeeded, failed, stuck, invalid), \"code\",\n"
     "\"description\", \"durationMs\"}, in completion order (sort by position).  A line\n"
     "written on resume for a request that finished before the interruption has\n"
     "\"resumed\": true and the recorded code and transaction id, no description or\n"
     "duration.  Ctrl-C or SIGTERM stops taking requests, lets the running ones finish\n"
     "and prints the summary; a second Ctrl-C quits at once (the running ones are rolled\n"
     "back when the batch is resumed).\n"
     "\n"
     "The engine records each request's outcome (about 50 bytes) under its key until\n"
     "`batch forget BATCH` (the id the summary shows) removes a finished batch's, in one\n"
     "range delete; it is refused while a transaction of the batch is stuck in the journal.\n"
     "After it, --resume of that batch would run again what its results file lacks.\n"
     "\n"
     "Exit status: 0 every request succeeded, 1 some failed (or the batch stopped at a\n"
     "failure), 2 bad usage or unreadable input, 130/143 interrupted by SIGINT/SIGTERM.\n"},
    {"bench", cmd_bench, "run a procedure over and over: throughput, latency percentiles, errors",
     "usage: provost [--db DIR] bench NAMESPACE PROCEDURE [DATA.xml] [options]\n"
     "       provost [--db DIR] bench --request REQUEST.xml [options]\n"
     "\n"
     "Calls a registered public procedure (with DATA.xml as its data, as `provost call`\n"
     "does), or submits a trusted request, again and again from N threads, and reports the\n"
     "throughput, the latency of a request (p50, p90, p99, p99.9, max: a log-linear\n"
     "histogram, exact to 0.1%), the failures by error code, and the counters of every\n"
     "procedure that ran, nested calls included (as `provost stats` shows them).  A\n"
     "progress line is shown on a terminal.  The engine is opened again after the warmup,\n"
     "so the counters hold the measured requests only.  Requests change the database\n"
     "as any request would: bench a namespace whose provider may be called this often.\n"
     "\n"
     "  -t, --threads N     threads submitting requests (default 1, at most 64)\n"
     "  -n, --requests N    stop after N requests in all\n"
     "  -d, --duration S    stop after S seconds (default 10, when --requests is not given)\n"
     "  --warmup S          run S seconds first, unmeasured (default 1; 0 for none)\n"
     "  --sync MODE         journal durability: group, always or none (as the global option)\n"
     "  --request FILE      submit this trusted request instead of calling a procedure\n"
     "  --json FILE         write the figures as JSON (- for standard output): percentiles,\n"
     "                      errors, the histogram's buckets, the series over time, procedures\n"
     "  --svg FILE          draw the latency histogram, latency over time (p50, p99, max)\n"
     "                      and throughput over time as an SVG picture\n"
     "\n"
     "Exit status: 0 every request succeeded, 1 some failed (see the errors), 2 bad input\n"
     "(unknown or private procedure, malformed data or request, bad option).\n"},
    {"queue", cmd_queue, "queue requests to run later, look at jobs, activate, delete, retry",
     "usage: provost [--db DIR] queue submit REQUEST.xml [--at T | --delay D] [--priority N]\n"
     "                                 [--after QUEUEID...] [--suspended]\n"
     "       provost [--db DIR] queue status|results QUEUEID\n"
     "       provost [--db DIR] queue list [--state STATE]\n"
     "       provost [--db DIR] queue activate|delete|retry QUEUEID...\n"
     "\n"
     "submit stores a trusted request (one <data> at most) as a job for `provost worker`\n"
     "and prints its queue id, 1:{UUID}.  Its context/queueContext gives its retries\n"
     "(retryCount, retryInterval in ms, retryType fixed|exponential, retryStopOnFailure,\n"
     "onFailure continue|queueToOperator), priority and parentQueue prerequisites.\n"
     "  --at T         not before T: YYYY-MM-DDTHH:MM[:SS][Z] (UTC), or @SECONDS\n"
     "  --delay D      not before D from now: 30, 30s, 500ms, 5m, 2h\n"
     "  --priority N   <= -50 high, -50..0 medium (default 0), > 0 low\n"
     "  --after ID...  run only when these jobs have finished (succeeded or failed)\n"
     "  --suspended    stored SUSPENDED (13): runs once activated\n"
     "status prints a job's state (MPF's codes), attempts, policy and last error; results\n"
     "its last run's response; list every job, or those in one state (code or name).\n"
     "activate: a suspended job (13, 14) becomes runnable.  delete: a job not running is\n"
     "removed; jobs waiting for it stop waiting.  retry: a job awaiting the operator (15)\n"
     "runs again with its retries anew.\n"
     "\n"
     "Exit status: 0 done, 2 bad usage, bad request, or no such job (or not in a state\n"
     "that allows it).\n"},
    {"worker", cmd_worker, "run queued jobs as they fall due",
     "usage: provost [--db DIR] worker [--threads N] [--once | --drain] [--sync MODE] [--quiet]\n"
     "       provost [--db DIR] worker --cluster CONNINFO ... (a cluster's worker: provost help cluster)\n"
     "\n"
     "Runs queued jobs, the due ones first by priority class and then by due time, each\n"
     "as its own transaction, and retries failed ones by their queueContext.  Prints a\n"
     "line per run (queue id, attempt, state after it) and a summary on standard error.\n"
     "Jobs a worker left running when it died are settled first: a run whose transaction\n"
     "committed counts as a success, any other as a failed attempt.  Under systemd\n"
     "(Type=notify, $NOTIFY_SOCKET) it reports READY=1 once it runs jobs and STOPPING=1\n"
     "on SIGTERM (provost-worker.service, docs/deploy.md).\n"
     "  -t, --threads N  jobs run at once (default 1)\n"
     "  --once           run the jobs due now, then exit\n"
     "  --drain          run until no job is due, running or waiting for a retry\n"
     "  (neither)        run forever: sleep until the next due time; SIGINT or SIGTERM\n"
     "                   stops it after the jobs it is running\n"
     "  --sync MODE      durability of the journal and of the jobs' changes\n"
     "  -q, --quiet      no line per run\n"
     "\n"
     "The worker holds the database while it runs: one process opens it at a time.\n"
     "Exit status: 0 done, 2 the database cannot be opened or a job cannot be changed,\n"
     "130/143 stopped by SIGINT/SIGTERM.\n"},
    {"serve", cmd_serve, "serve the engine over HTTP: requests, calls, namespaces, health",
     "usage: provost [--db DIR] serve [--listen ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
     "                                [--threads N] [--max-inflight N] [--max-body SIZE]\n"
     "                                [--idle-timeout S] [--request-timeout S] [--drain-timeout S]\n"
     "                                [--allow-anonymous PRINCIPAL] [--public-metrics] [--sync MODE]\n"
     "\n"
     "Serves the engine over HTTP (docs/service.md): POST /request (a trusted request),\n"
     "POST /call/NAMESPACE/PROCEDURE (the body is the data document), GET /namespaces,\n"
     "GET /namespaces/NAME, GET /healthz, GET /readyz.  Every request needs\n"
     "Authorization: Bearer TOKEN (provost token create) and runs for the token's user,\n"
     "whose rights decide what it may do.  Prints `listening on http://ADDR:PORT` on\n"
     "standard error once it serves.  SIGTERM or SIGINT: stop accepting, let running\n"
     "requests finish (up to --drain-timeout), close the database, exit 0.  SIGHUP: read\n"
     "the tokens again (they are also read again when their file changes).\n"
     "  --listen ADDR:PORT      where to listen (default 127.0.0.1:8080; port 0: any free\n"
     "                          port, printed); [ADDR6]:PORT for IPv6\n"
     "  --tls-cert/--tls-key F  serve HTTPS with this PEM certificate and key\n"
     "  --threads N             connection threads, and as many running requests in the\n"
     "                          engine (default: the number of cores)\n"
     "  --max-inflight N        requests in the engine at once, running or waiting for an\n"
     "                          engine thread; more are answered 503 with Retry-After\n"
     "                          (default: 4 x --threads)\n"
     "  --max-body SIZE         largest body, e.g. 512K, 16M (default 16M); larger: 413\n"
     "  --idle-timeout S        a connection silent this long is closed (default 30)\n"
     "  --request-timeout S     a request must arrive whole within S (default 60)\n"
     "  --drain-timeout S       how long running requests get on SIGTERM (default 30)\n"
     "  --allow-anonymous P     a request without a token runs as principal P\n"
     "  --public-metrics        /metrics and /healthz answer without a token\n"
     "  --batch-jobs N          threads running a batch posted to /batch (default 1)\n"
     "  --worker                run the queue's jobs in the service (provost worker cannot\n"
     "                          run beside it); --worker-threads N of them at once\n"
     "\n"
     "Exit status: 0 stopped cleanly, 1 requests still ran at the drain deadline (the\n"
     "next open of the database finishes them), 2 bad usage or the service could not start.\n"},
    {"config", cmd_config, "the engine's settings kept in the database",
     "usage: provost [--db DIR] config set outcome-retention DURATION\n"
     "       provost [--db DIR] config get outcome-retention\n"
     "\n"
     "outcome-retention: how long the outcomes of a batch's requests are kept (they let\n"
     "batch --resume run nothing twice).  A batch started longer ago than that is\n"
     "forgotten, as by `provost batch forget`, when an engine next opens the database;\n"
     "one with a transaction stuck in the journal is kept until it is resolved.\n"
     "DURATION: 30d, 12h, 90m, 3600s, or forever (the default).\n"
     "\n"
     "Exit status: 0 done, 2 an unknown setting or a bad value.\n"},
    {"stats", cmd_stats, "the counters of the engine running on the database, from another process",
     "usage: provost [--db DIR] stats [--json|--prometheus] [--watch SECONDS]\n"
     "\n"
     "Prints the per-procedure counters (count, succeeded, failed, in doubt, executing,\n"
     "rate per second over the last 10 s, latency percentiles and max) and the engine-wide\n"
     "counters of the engine that runs on the database -- provost batch, bench, or any\n"
     "other -- or of the last one that ran, with whether its process still runs.  They are\n"
     "read from DIR/counters, which the engine updates as it runs: the database is not\n"
     "opened, its lock is not needed, and the engine is not slowed down.\n"
     "\n"
     "  --json          one JSON document (one line per snapshot with --watch)\n"
     "  --prometheus    the Prometheus text exposition format\n"
     "  --watch S       print again every S seconds, until interrupted\n"
     "\n"
     "Exit status: 0 printed (also when nothing has run yet), 2 the counters file is damaged\n"
     "or is not one this version reads, or a bad option.\n"},
    {"cluster", cmd_cluster, "a cluster of workers on PostgreSQL: create its schema, show its state",
     "usage: provost [--cluster CONNINFO] cluster init|status\n"
     "       provost [--cluster CONNINFO] cluster prune --older-than DURATION [--chunk ROWS]\n"
     "       provost --cluster CONNINFO register NS.xml|NS.pvb ...\n"
     "       provost worker --cluster CONNINFO [--threads N] [--lease MS] [--name NAME] [--drain] [--quiet]\n"
     "       provost batch --cluster CONNINFO [--detach] [--quiet] (INPUT... | --call NS PROC --rows FILE)\n"
     "       provost batch --cluster CONNINFO status|results|wait|delete ID\n"
     "\n"
     "A cluster is a PostgreSQL database (CONNINFO: a libpq connection string or URI; the\n"
     "cluster command also reads $PROVOST_CLUSTER).  init creates its schema \"provost\"\n"
     "(again: nothing changes); status shows the workers and their leases, jobs by state,\n"
     "the last minute's throughput and the batches.  register stores namespaces for every\n"
     "worker, which loads a new revision without restarting.  A worker claims due jobs\n"
     "under a lease it renews (default 10000 ms, renewed every third of it); one whose\n"
     "lease ran out is fenced and its jobs re-driven by the others, per their retry policy.\n"
     "It runs the jobs through a local engine: --db DIR, else a directory of its own under\n"
     "$XDG_RUNTIME_DIR (or /tmp).  batch enqueues a batch and waits for it, or prints its\n"
     "id at once (--detach); results prints its result lines by position; delete drops a\n"
     "finished batch's results.  prune deletes every finished batch whose last result is\n"
     "older than DURATION (7d, 12h, 30m, 45s), ROWS (default 10000) per statement.  See\n"
     "docs/cluster.md.\n"
     "\n"
     "Exit status: 0 done (batch: every request succeeded), 1 some requests did not\n"
     "succeed (delete: the batch still has jobs queued or running), 2 an error (a bad\n"
     "option, no server, no cluster, an unknown batch), 3 batch\n"
     "status of a batch still running; a worker that was fenced exits 2.\n"},
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
          "  --validate     check executeData against procedures' XSD Schemas (input\n"
          "                 before each call, output after); also $PROVOST_VALIDATE=1\n"
          "  --as NAME      act as user NAME (administrators only)\n"
          "  --audit-level L  none, failures, enabled or full: what this command's engine\n"
          "                 records in the audit trail (default: the database's setting)\n"
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
    provost_compiler_init(); /* before any document is read, in any thread */
    int bad = tool_global_options(&argc, &argv);
    if (bad)
        return bad;
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
