/*
 * tools.h -- shared by the files of the provost command.
 */
#ifndef PROVOST_TOOLS_H
#define PROVOST_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* io.c */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* prints, returns 2 */
char *read_input(const char *path, size_t *len, char *err, size_t errlen); /* "-" = stdin */
/* provost_write_atomically (provost/batch.h) writes files whole. */
int wants_help(int argc, char **argv);

/* cmd_engine.c: the global options (--db, --validate, --sync, --as, --audit-level) before the command name.
 * tool_global_options consumes them from argc and argv (returns 0, or die()'s status);
 * tool_engine_options is the one place every command gets its provost_options from:
 *   db_path   --db, else $PROVOST_DB, else ./provost.db
 *   validate  --validate, or $PROVOST_VALIDATE=1
 *   sync      the command's own sync when >= 0, else --sync, else $PROVOST_SYNC, else group
 *   audit_level  --audit-level, else 0 (the database's setting)
 * tool_open_engine opens with them, tool_open_with with options a command adjusted (recover's
 * salvage); both print the engine's error (status set) on failure and its warning. */
struct provost_options;
struct provost_engine;
int tool_global_options(int *argc, char ***argv);
struct provost_options tool_engine_options(int sync);
struct provost_engine *tool_open_engine(int sync, int *status);
struct provost_engine *tool_open_with(const struct provost_options *o, int *status);
int parse_sync(const char *v); /* -1 if not a mode */
const char *tool_cluster_given(void); /* --cluster CONNINFO before the command, or NULL */
const char *tool_db_given(void);      /* --db, else $PROVOST_DB, else NULL */

/* batch_print.c: what `provost batch` prints (out: --out as given, for "--resume --out"). */
struct provost_batch_summary;
struct provost_batch_progress;
void batch_print_summary(FILE *f, const struct provost_batch_summary *s, const char *out);
void batch_print_progress(FILE *to, const struct provost_batch_progress *v, bool tty);

int cmd_compile(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_unregister(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_call(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_txn(int argc, char **argv);
int cmd_credential(int argc, char **argv);
int cmd_user(int argc, char **argv); /* cmd_user.c: user, group, grant, revoke, acl */
int cmd_group(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_acl(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_batch(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_batch_forget(int argc, char **argv); /* provost batch forget */
int cmd_config(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* cmd_serve.c: the HTTP service */
int cmd_token(int argc, char **argv);
/* cmd_cluster.c: provost cluster, and register, worker and batch on a cluster */
int cmd_cluster(int argc, char **argv);
int cmd_cluster_register(int argc, char **argv);
int cmd_cluster_worker(const char *conninfo, int argc, char **argv);
int cmd_cluster_batch(const char *conninfo, int argc, char **argv);

#endif
