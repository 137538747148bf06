/*
 * fsint.h -- the fs provider's internal interface, shared by its files: the root and the
 * paths beneath it (path.c), what a call needs to be undone and how it is undone (undo.c),
 * the procedures (ops.c), the descriptor and life-cycle (fs.c).  Nothing here is exported
 * from libprovost-fs.so.
 */
#ifndef FSP_FSINT_H
#define FSP_FSINT_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libxml/tree.h>

#include "provost/provider.h"

/* Win32 errors as HRESULTs. */
#define FSP_E_NOT_FOUND      0x80070002u /* ENOENT */
#define FSP_E_PATH_NOT_FOUND 0x80070003u /* ENOTDIR */
#define FSP_E_ACCESS_DENIED  0x80070005u /* EACCES, EPERM, a path leaving the root */
#define FSP_E_WRITE_PROTECT  0x80070013u /* EROFS */
#define FSP_E_NOT_SAME_DEV   0x80070011u /* EXDEV between two places beneath the root */
#define FSP_E_DISK_FULL      0x80070070u /* ENOSPC, EDQUOT */
#define FSP_E_DIR_NOT_EMPTY  0x80070091u /* ENOTEMPTY */
#define FSP_E_ALREADY_EXISTS 0x800700B7u /* EEXIST */
#define FSP_E_NAME_TOO_LONG  0x800700CEu /* ENAMETOOLONG */
#define FSP_E_FILE_TOO_LARGE 0x800700DFu /* EFBIG, and our own size limits */
#define FSP_E_NO_MAPPING     0x80070534u /* an owner or group name that is not known */
#define FSP_E_CANT_RESOLVE   0x80070781u /* ELOOP */
#define FSP_E_NO_PROCEDURE   0x80070002u

/* The largest existing file WriteFile replaces: its old content is journaled for undo. */
#define FSP_MAX_PREIMAGE (1u << 20)
/* The largest file ReadFile returns. */
#define FSP_MAX_READ (16u << 20)

/* Where Delete puts what it deletes until commit, and where every write keeps the record
 * an in-doubt rollback reads: a directory in the root, reserved (no path may name it). */
#define FSP_QUARANTINE ".provost-quarantine"

/* ---- errors (path.c) ------------------------------------------------------------------- */
uint32_t fsp_hresult(int err);
/* "PROC PATH: strerror" with the errno's HRESULT. */
uint32_t fsp_fail_errno(provost_pcall *c, const char *proc, const char *path, int err);

/* ---- the root and paths beneath it (path.c) -------------------------------------------- */
typedef struct fsp_root {
    char *root; /* providerContext/@root, absolute */
    int fd;     /* O_PATH of it */
} fsp_root;

/* Opens providerContext/@root of EXECUTE_XML; fails the call (0x80070057 for a missing or
 * relative root, the errno's code for one that cannot be opened). */
uint32_t fsp_root_open(provost_pcall *c, xmlDocPtr execute_xml, const char *proc, fsp_root *r);
void fsp_root_close(fsp_root *r);

/* openat2 beneath DIRFD (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), -1 with errno. */
int fsp_openat2(int dirfd, const char *path, int flags, mode_t mode);

/* A path split into the directory holding it (opened beneath the root) and its last name. */
typedef struct fsp_path {
    const char *given; /* as in executeData */
    int dirfd;         /* O_PATH|O_DIRECTORY of the parent, beneath the root */
    char *leaf;        /* the last name: never "", "." or ".." */
} fsp_path;

/* Resolves GIVEN's parent beneath the root.  Fails the call with 0x80070005 naming the path
 * when it leaves the root (.., absolute, a symlink leading outside) or names the quarantine,
 * 0x80070057 when it is empty or does not end in a name, else the errno's code. */
uint32_t fsp_path_open(provost_pcall *c, const fsp_root *r, const char *proc, const char *given,
                       fsp_path *p);
/* The same without failing the call: 0, an errno, or one of these. */
#define FSP_R_OUTSIDE  (-1) /* leaves the root */
#define FSP_R_DOTDOT   (-2) /* ends in ".." */
#define FSP_R_NONAME   (-3) /* empty, or ends in "." */
#define FSP_R_RESERVED (-4) /* names the quarantine */
#define FSP_R_NOMEM    (-5)
int fsp_path_resolve(const fsp_root *r, const char *given, fsp_path *p);
uint32_t fsp_path_fail(provost_pcall *c, const fsp_root *r, const char *proc, const char *given, int why);
void fsp_path_close(fsp_path *p);
/* lstat of the leaf: 0, or -1 with errno. */
int fsp_lstat(const fsp_path *p, struct stat *st);
/* The failure for a leaf that is a symbolic link which a write will not follow: where it
 * leads outside the root, says so. */
uint32_t fsp_fail_symlink(provost_pcall *c, const fsp_root *r, const char *proc, const fsp_path *p);
/* Sets owner/group (-1: unchanged) then mode of the leaf, never through a symbolic link. */
int fsp_set_attrs(const fsp_path *p, long uid, long gid, long mode);
/* Writes LEN bytes to a temporary file beside the leaf, with the owner/group/mode given
 * (-1: the process's / 0644), synced, then renamed over the leaf; TMPNAME is the temporary
 * name (removed on failure). */
int fsp_replace_file(const fsp_path *p, const char *tmpname, const void *data, size_t len, long uid,
                     long gid, long mode);
/* fsync of the parent directory (best effort: a directory we may not read is skipped). */
void fsp_sync_dir(int dirfd);
/* Opens (creating, mode 0700) the quarantine directory of the root, readable, not through
 * a symbolic link. */
int fsp_quarantine_open(const fsp_root *r);
/* Removes NAME beneath DIRFD and everything under it, never following a symbolic link;
 * absent is success.  0, or -1 with errno. */
int fsp_remove_tree(int dirfd, const char *name);
/* All N bytes of DATA to FD, across short writes and EINTR: 0, or -1 with errno. */
int fsp_write_all(int fd, const void *data, size_t n);

/* ---- input (path.c; the executeData helpers are provider.h's) -------------------------- */
/* "0644" -> 0644; -1 when not 1 to 4 octal digits. */
long fsp_parse_mode(const char *s);
/* A user or group by name or number into *ID; fails the call naming FIELD. */
uint32_t fsp_parse_owner(provost_pcall *c, const char *proc, const char *field, const char *s, int group,
                         long *id);
/* Base64 (RFC 4648, whitespace ignored): malloc'd bytes and *LEN, NULL when malformed. */
unsigned char *fsp_base64_decode(const char *s, size_t *len);
char *fsp_base64_encode(const unsigned char *p, size_t n);

/* ---- undo (undo.c) --------------------------------------------------------------------- */
/* What one write did, enough to undo it: journaled as rollback data, and kept as a record
 * in the quarantine directory from before the change until the transaction ends, for an
 * in-doubt rollback (which gets no rollback data). */
typedef struct fsp_undo {
    const char *op;  /* "mkdir", "write", "chmod", "move", "delete" */
    char *path;      /* the object as given (Move: from) */
    char *to;        /* Move: the destination */
    int existed;     /* write: the target existed (its pre-image is below) */
    long mode, uid, gid; /* the pre-image's (-1: none) */
    char *content;   /* write: the old content, base64 */
} fsp_undo;

void fsp_undo_clear(fsp_undo *u);
/* Names derived from the transaction and the call, so that an in-doubt rollback finds
 * them without rollback data: "TX.N.undo", "TX.N.deleted", ".provost-TX-N.tmp". */
int fsp_call_name(provost_pcall *c, xmlDocPtr execute_xml, const char *suffix, char *out, size_t n);
/* Writes U as the call's record (durably, before the change it describes). */
uint32_t fsp_undo_save(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, const char *proc,
                       const fsp_undo *u);
/* Hands U to the engine as rollback data. */
uint32_t fsp_undo_journal(provost_pcall *c, const char *proc, const fsp_undo *u);
/* Undoes the call: from its rollback data, else (in doubt) its record; removes the record. */
uint32_t fsp_undo_run(provost_pcall *c, xmlDocPtr execute_xml);
/* Undoes U (a failed process cleaning up after itself, or a rollback). */
uint32_t fsp_undo_apply(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, const fsp_undo *u);
/* Removes the call's record (absent is success). */
void fsp_undo_forget(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml);
/* Commit of a Delete: removes what it quarantined, then its record. */
uint32_t fsp_delete_commit(provost_pcall *c, xmlDocPtr execute_xml);

/* ---- per-transaction state (fs.c) ------------------------------------------------------ */
/* Remembers a record written in this transaction, removed at its end if still there. */
void fsp_txn_note(provost_pcall *c, const char *root, const char *record);

/* ---- the procedures (ops.c) ------------------------------------------------------------ */
uint32_t fsp_process(provost_pcall *c, xmlDocPtr execute_xml);

#endif
