/*
 * rights.h -- the VM's side of principals and rights (rights.c reads and decides,
 * principals.c changes them).  The engine holds an immutable snapshot of every user,
 * membership, entry and procedure setting; a request takes a reference for its whole run,
 * so a grant never changes a running request, and deciding never reads the database.
 */
#ifndef PVM_RIGHTS_H
#define PVM_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "provost/provost.h"

struct pvm_req;
struct pvm_frame;
struct pvm_ns;
struct pvm_target;
typedef struct pvm_rights pvm_rights;
typedef struct pvm_rightsbox pvm_rightsbox;

/* Database keys (config column family), every name part without case:
 *   user/U -> U as written          group/G -> G as written
 *   member/U/G -> "U\tG"            acl/NS/PROC/WHO/RIGHT -> "A|D\tWHO\tNS\tPROC"
 *   procedure/NS/PROC -> "1|0\tNS\tPROC\tCREDENTIAL"   (1: inherits)
 * NS and PROC are empty for global and namespace entries. */
#define PVM_RK_USER "user/"
#define PVM_RK_GROUP "group/"
#define PVM_RK_MEMBER "member/"
#define PVM_RK_ACL "acl/"
#define PVM_RK_PROC "procedure/"

/* Loads the snapshot; NULL with why on failure. */
pvm_rightsbox *pvm_rights_open(provost_engine *e, char *why, size_t whylen);
void pvm_rights_close(pvm_rightsbox *b);
/* Reads the database again after a change (principals.c, credential.c). */
int pvm_rights_reload(provost_engine *e, provost_error *err);
/* The current snapshot, a reference (NULL when it holds nothing at all). */
pvm_rights *pvm_rights_get(provost_engine *e);
void pvm_rights_put(pvm_rights *s);
/* 0 when the engine's principal may administer (WHAT names the action in the refusal),
 * else -1 with PROVOST_E_ACCESSDENIED in err. */
int pvm_rights_admin(provost_engine *e, const char *what, provost_error *err);
/* The same for PRINCIPAL (NULL: the engine's), who must be a user of the database. */
int pvm_rights_admin_as(provost_engine *e, const char *principal, const char *what, provost_error *err);
/* 0 when the engine's principal holds the global RIGHT (always while nothing is enforced),
 * else -1 with PROVOST_E_ACCESSDENIED naming the principal, the right and WHAT. */
int pvm_rights_need(provost_engine *e, int right, const char *what, provost_error *err);
/* The same for PRINCIPAL (NULL: the engine's), as a front end serving many checks. */
int pvm_rights_need_as(provost_engine *e, const char *principal, int right, const char *what, provost_error *err);
/* Serialises changes (principals.c): lock, change the database, reload, unlock. */
void pvm_rights_lock(provost_engine *e);
void pvm_rights_unlock(provost_engine *e);

/* A request begins (request.c): who it runs for, its snapshot, and the request's own
 * right -- execute on a simple request's procedure (and callerCredentials when it carries
 * basic credentials), trusted for a trusted request.  0, or -1 with the request's error
 * set (PROVOST_E_ACCESSDENIED). */
int pvm_rights_begin(struct pvm_req *r, bool simple, const struct pvm_ns *ns, uint32_t proc, bool basic);
void pvm_rights_end(struct pvm_req *r);
/* A step calls target t (call.c): a call into a namespace from outside it needs execute,
 * and a private procedure called by a trusted request's own procedure executePrivate. */
int pvm_rights_call(struct pvm_frame *f, const struct pvm_target *t);
/* The "execute as" credential of the procedure running in f (its name in *credential),
 * and the user it names; NULL when none is set. */
const char *pvm_rights_execute_as(const struct pvm_frame *f, const char **credential);

#endif
