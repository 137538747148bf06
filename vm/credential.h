/*
 * credential.h -- the credential store's side of the VM (credential.c): a secret for a
 * provider call, and whether the database holds any sealed credential (the journal makes a
 * new master key only when nothing sealed under a lost one remains).
 */
#ifndef PVM_CREDENTIAL_H
#define PVM_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "provost/provost.h"

struct pvm_db;

/* Credential NAME's secret (for provost_secret_free) and, when USER is not NULL, its user
 * (malloc'd).  0; 1 when there is no such credential; -1 when it cannot be read or opened.
 * WHY says which, naming the credential, never holding the secret. */
int pvm_credential_get(provost_engine *e, const char *name, char **user, char **secret, char *why, size_t whylen);
/* Credential NAME's user alone (malloc'd, in *user), without opening its secret: 0, or -1
 * with *user NULL when there is no such credential or it cannot be read. */
int pvm_credential_user(struct pvm_db *db, const char *name, char **user);
int pvm_credential_any(struct pvm_db *db, bool *any, char *err, size_t errlen);

#endif
