/*
 * fs.c -- the fs provider (libprovost-fs.so): files and directories beneath the
 * namespace's providerContext/@root.  The descriptor, the two-phase callbacks of Delete,
 * rollback, and the per-transaction list of undo records to remove when the transaction
 * ends.  The procedures are in ops.c, their undo in undo.c, paths in path.c.
 *
 * No global mutable state: what a transaction needs is in its txn state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsint.h"

/* The undo records this transaction wrote: "ROOT\0NAME". */
typedef struct fsp_txn {
    char **recs;
    size_t *rootlen;
    size_t n, cap;
} fsp_txn;

void fsp_txn_note(provost_pcall *c, const char *root, const char *record)
{
    fsp_txn *t = provost_txn_state(c);
    if (!t) {
        if (!(t = calloc(1, sizeof *t)))
            return; /* the record then stays until a rollback removes it: harmless */
        provost_set_txn_state(c, t);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char **r = realloc(t->recs, cap * sizeof *r);
        if (r)
            t->recs = r;
        size_t *l = r ? realloc(t->rootlen, cap * sizeof *l) : NULL;
        if (!l)
            return;
        t->rootlen = l;
        t->cap = cap;
    }
    size_t a = strlen(root), b = strlen(record);
    char *s = malloc(a + b + 2);
    if (!s)
        return;
    memcpy(s, root, a + 1);
    memcpy(s + a + 1, record, b + 1);
    t->recs[t->n] = s;
    t->rootlen[t->n++] = a;
}

/* The end of the transaction: every call of it that is still to be undone has its rollback
 * data journaled by now, so the records an in-doubt rollback would need go.  (A process
 * killed before this point leaves them for recovery's in-doubt rollback.) */
static void fs_deactivate(provost_pcall *c)
{
    fsp_txn *t = provost_txn_state(c);
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        const char *root = t->recs[i], *name = t->recs[i] + t->rootlen[i] + 1;
        int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int qfd = rfd >= 0 ? fsp_openat2(rfd, FSP_QUARANTINE, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0) : -1;
        if (qfd >= 0) {
            unlinkat(qfd, name, 0);
            close(qfd);
        }
        if (rfd >= 0)
            close(rfd);
        free(t->recs[i]);
    }
    free(t->recs);
    free(t->rootlen);
    free(t);
    provost_set_txn_state(c, NULL);
}

static uint32_t fs_rollback(provost_pcall *c, xmlDocPtr execute_xml)
{
    return fsp_undo_run(c, execute_xml);
}

/* Only Delete is twoPhase: its commit removes what process quarantined. */
static uint32_t fs_commit(provost_pcall *c, xmlDocPtr execute_xml)
{
    const char *proc = provost_pcall_procedure(c);
    if (!proc || strcasecmp(proc, "Delete") != 0)
        return PROVOST_S_OK;
    return fsp_delete_commit(c, execute_xml);
}

__attribute__((visibility("default"))) const provost_provider provost_provider_v1 = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "fs",
    .deactivate = fs_deactivate,
    .process = fsp_process,
    .commit = fs_commit,
    .rollback = fs_rollback,
};
