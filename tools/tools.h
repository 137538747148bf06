/*
 * tools.h -- shared by the files of the provost command.
 */
#ifndef PROVOST_TOOLS_H
#define PROVOST_TOOLS_H

#include <stddef.h>

/* io.c */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* prints, returns 2 */
char *read_input(const char *path, size_t *len, char *err, size_t errlen); /* "-" = stdin */
int write_atomically(const char *path, const void *data, size_t len, char *err, size_t errlen);
int wants_help(int argc, char **argv);

/* the database the engine commands use: --db, else $PROVOST_DB, else ./provost.db */
extern const char *tool_db;
extern int tool_validate; /* --validate, or $PROVOST_VALIDATE=1 */
extern int tool_sync; /* provost_sync: --sync, else $PROVOST_SYNC, else group */
int parse_sync(const char *v); /* -1 if not a mode */

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
int cmd_batch(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
