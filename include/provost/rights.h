/*
 * provost/rights.h -- principals and rights (SPEC §8): users and groups kept in the
 * engine's database, the rights granted or denied to them, who the engine acts for, and
 * the per-procedure settings (inheritance, "execute as").  A database where no right was
 * ever granted enforces nothing: everyone may do everything, as before rights existed.
 * The first grant turns enforcement on (docs/semantics.md).
 */
#ifndef PROVOST_RIGHTS_H
#define PROVOST_RIGHTS_H

#include <stddef.h>

#include "provost/provost.h"

#ifdef __cplusplus
extern "C" {
#endif

enum provost_right {
    PROVOST_RIGHT_EXECUTE = 0,         /* call the procedures of a namespace (or one procedure) */
    PROVOST_RIGHT_EXECUTE_PRIVATE = 1, /* call its private procedures from a trusted request */
    PROVOST_RIGHT_TRUSTED = 2,         /* submit trusted requests (carrying a procedure) */
    PROVOST_RIGHT_CALLER_CREDENTIALS = 3, /* put basic credentials in a simple request */
    PROVOST_RIGHT_ADMIN = 4,           /* register, unregister, credentials, principals, grants */
    PROVOST_RIGHT__COUNT
};

/* "execute", "executePrivate", "trusted", "callerCredentials", "admin" (NULL if out of range). */
const char *provost_right_name(int right);
/* The right named (case ignored), or -1. */
int provost_right_parse(const char *name);

/* Principal names: 1 to 128 letters, digits, '.', '_', '-', '@'.  Users and groups share
 * one set of names (compared without case, kept as written).  Changing them needs admin.
 * provost_user_add adds user NAME (PROVOST_E_EXISTS when it exists, unless GROUP is
 * given) and, with GROUP (an existing group), makes it a member. */
int provost_user_add(provost_engine *e, const char *name, const char *group, provost_error *err);
/* Without GROUP: removes the user, its memberships and every entry naming it; with GROUP:
 * only its membership of GROUP. */
int provost_user_remove(provost_engine *e, const char *name, const char *group, provost_error *err);
int provost_group_add(provost_engine *e, const char *name, provost_error *err);
/* Removes the group, its memberships and every entry naming it. */
int provost_group_remove(provost_engine *e, const char *name, provost_error *err);

typedef struct provost_principal {
    char *name;
    int group;       /* 1 a group, 0 a user */
    char **related;  /* a user's groups, or a group's members */
    size_t nrelated;
} provost_principal;
/* Users (groups 0) or groups (groups 1), in name order. */
int provost_principal_list(provost_engine *e, int groups, provost_principal **out, size_t *n, provost_error *err);
void provost_principal_list_free(provost_principal *v, size_t n);

/* Grants (deny 0) or denies (deny 1) RIGHT to PRINCIPAL: on every namespace (ns NULL), on
 * namespace NS, or on procedure PROC of NS.  trusted, callerCredentials and admin are
 * global (ns NULL).  One entry per principal, right and place: granting again replaces it. */
int provost_grant(provost_engine *e, const char *principal, int right, const char *ns, const char *proc, int deny,
                  provost_error *err);
/* Removes that entry, allow or deny (PROVOST_E_NOTFOUND when there is none). */
int provost_revoke(provost_engine *e, const char *principal, int right, const char *ns, const char *proc,
                   provost_error *err);

typedef struct provost_ace {
    char *principal;
    int right;
    int deny;
    char *ns, *proc; /* NULL: every namespace / the whole namespace */
} provost_ace;
typedef struct provost_proc_setting {
    char *ns, *proc;
    int inherit;      /* 0: only the procedure's own entries apply */
    char *execute_as; /* a credential name, or NULL */
} provost_proc_setting;
typedef struct provost_acl {
    provost_ace *entries; /* global first, then by namespace and procedure */
    size_t nentries;
    provost_proc_setting *procs;
    size_t nprocs;
    int enforced;         /* some right was granted */
} provost_acl;
/* Every entry and procedure setting, or those of namespace NS (global entries included). */
int provost_acl_get(provost_engine *e, const char *ns, provost_acl *out, provost_error *err);
void provost_acl_free(provost_acl *a);

/* Procedure PROC of NS inherits the namespace's (and the global) entries (1, the default)
 * or has only its own (0). */
int provost_acl_inherit(provost_engine *e, const char *ns, const char *proc, int inherit, provost_error *err);
/* Calls made from PROC of NS with an effective impersonate of 1 run as the stored
 * credential CREDENTIAL (NULL: no longer): providers see its user as the identity and
 * read its secret with provost_secret (provost_pcall_credential names it). */
int provost_acl_execute_as(provost_engine *e, const char *ns, const char *proc, const char *credential,
                           provost_error *err);

/* The principal the engine acts for: the caller given at open (provost_options.caller),
 * else the Unix user of the process. */
const char *provost_principal_name(provost_engine *e);
/* 1 when the engine's principal is an administrator: the Unix owner of the database
 * directory, a holder of admin, or anyone while nothing is enforced. */
int provost_is_admin(provost_engine *e);
/* 1 when PRINCIPAL (NULL: the engine's) holds the global RIGHT (trusted,
 * callerCredentials, admin; an administrator holds them all), else 0: how a front end
 * serving many principals on one engine (the HTTP service) decides for one of them. */
int provost_principal_has(provost_engine *e, const char *principal, int right);
/* An administrator acts as user NAME from now on (PROVOST_E_ACCESSDENIED for anyone
 * else, PROVOST_E_NOTFOUND for an unknown user).  Call it before any request runs. */
int provost_act_as(provost_engine *e, const char *name, provost_error *err);

#ifdef __cplusplus
}
#endif
#endif
