/*
 * provider.h -- the provider ABI: what a provider (built in, or a plug-in loaded with
 * dlopen) implements, and the engine services it may call.  This is the only Provost
 * header a provider includes.
 *
 * A plug-in is a shared object exporting one descriptor named PROVOST_PROVIDER_SYMBOL:
 *
 *     const provost_provider provost_provider_v1 = {
 *         .abi = PROVOST_PROVIDER_ABI, .name = "files",
 *         .process = files_process, .rollback = files_rollback,
 *     };
 *
 * Life-cycle, per transaction (SPEC §6): activate once before the provider's first call
 * in the transaction -> process per step -> at the end prepare for every successful
 * twoPhase call, then commit for them, in call order -> deactivate.  On failure: rollback
 * once per earlier successful write/twoPhase call, newest first, never for the call that
 * failed -> deactivate.  Every callback is optional except process.
 *
 * Callbacks may run on several threads at once (different transactions): a provider
 * keeps per-transaction state with provost_set_txn_state(), never in globals.
 */
#ifndef PROVOST_PROVIDER_H
#define PROVOST_PROVIDER_H

#include <stdint.h>

#include <libxml/tree.h>

#include "provost/codes.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PROVOST_PROVIDER_ABI    1u
#define PROVOST_PROVIDER_SYMBOL "provost_provider_v1"

/* A callback returns PROVOST_S_OK (0) for success, or a failure code of provost/codes.h
 * (high bit set); any other non-zero value counts as PROVOST_E_FAIL. */

/* One call of a provider: what is being called, for which transaction, and the services
 * below.  Valid only during the callback it is passed to. */
typedef struct provost_pcall provost_pcall;

enum provost_phase {
    PROVOST_PHASE_ACTIVATE = 0,
    PROVOST_PHASE_PROCESS = 1,
    PROVOST_PHASE_PREPARE = 2,
    PROVOST_PHASE_COMMIT = 3,
    PROVOST_PHASE_ROLLBACK = 4,
    PROVOST_PHASE_DEACTIVATE = 5
};

typedef struct provost_provider {
    uint32_t abi;     /* PROVOST_PROVIDER_ABI */
    const char *name; /* for messages */
    /* Once when the engine loads the provider, and when it unloads it. */
    uint32_t (*init)(void **provider_state);
    void (*fini)(void *provider_state);
    /* Once per transaction, before the provider's first call in it / at its end. */
    uint32_t (*activate)(provost_pcall *c);
    void (*deactivate)(provost_pcall *c);
    /* The call itself: read and write executeXml/executeData. */
    uint32_t (*process)(provost_pcall *c, xmlDocPtr execute_xml);
    /* Two-phase and compensation.  executeXml's executeData holds what was journaled
     * under saveDataForRollback (else it is empty); rollback key/values set during
     * process are readable with provost_get_rollback_data(). */
    uint32_t (*prepare)(provost_pcall *c, xmlDocPtr execute_xml);
    uint32_t (*commit)(provost_pcall *c, xmlDocPtr execute_xml);
    uint32_t (*rollback)(provost_pcall *c, xmlDocPtr execute_xml);
} provost_provider;

/* ---- what the call is ----------------------------------------------------------------- */
const char *provost_pcall_namespace(const provost_pcall *c);  /* as registered */
const char *provost_pcall_procedure(const provost_pcall *c);  /* as registered */
const char *provost_pcall_transaction(const provost_pcall *c); /* {UUID} */
int provost_pcall_phase(const provost_pcall *c);               /* provost_phase */
int provost_pcall_in_doubt(const provost_pcall *c); /* rollback of a call whose outcome is unknown */
/* The effective identity the call runs as (SPEC §8): "engine", a user name from the
 * request's basic credentials, an "execute as" name, or the caller's name. */
const char *provost_pcall_identity(const provost_pcall *c);
/* The stored credential the call runs as when its identity comes from an "execute as"
 * setting (provost acl ... --execute-as), for provost_secret; else NULL.  Process only. */
const char *provost_pcall_credential(const provost_pcall *c);
/* An engine setting (e.g. "errorMapFile"), or NULL. */
const char *provost_pcall_setting(const provost_pcall *c, const char *name);

/* ---- state ---------------------------------------------------------------------------- */
void *provost_provider_state(const provost_pcall *c); /* from init */
void *provost_txn_state(const provost_pcall *c);      /* this provider, this transaction */
void provost_set_txn_state(provost_pcall *c, void *state);

/* ---- rollback data: set in process, read back in prepare/commit/rollback ---------------- */
int provost_set_rollback_data(provost_pcall *c, const char *key, const char *value);
const char *provost_get_rollback_data(const provost_pcall *c, const char *key);

/* ---- reading executeXml ---------------------------------------------------------------- */
/* The first element child of PARENT whose name is NAME (data arrives in no namespace), or
 * NULL (also for a NULL PARENT). */
xmlNodePtr provost_child(xmlNodePtr parent, const char *name);
/* The text content of N, malloc'd ("" for an empty element), or NULL when N is NULL. */
char *provost_text(xmlNodePtr n);
/* provost_text(provost_child(PARENT, NAME)): NULL when there is no such child. */
char *provost_child_text(xmlNodePtr parent, const char *name);

/* ---- secrets --------------------------------------------------------------------------- */
/* The secret a provider's configuration names: CREDENTIAL, a name in the engine's credential
 * store, or PASSWORD_FILE, an absolute path to a regular file that neither group nor others
 * may access (its first line, without the line end).  Name exactly one; pass NULL or "" for
 * the other.  On success *secret is a string for provost_secret_free() (which wipes it) and
 * *user, when USER is not NULL, the credential's user name (malloc'd) or NULL.  On failure
 * returns the code after describing it as provost_fail() does -- never with the secret.
 * Keep a secret out of executeData, rollback data and error text. */
uint32_t provost_secret(provost_pcall *c, const char *credential, const char *password_file, char **secret,
                        char **user);
void provost_secret_free(char *secret);

/* ---- errors: set a description (and optionally XML) and return the code --------------- */
uint32_t provost_fail(provost_pcall *c, uint32_t code, const char *description);
/* provost_fail with a printf-style description, made one line (line breaks become spaces). */
uint32_t provost_failf(provost_pcall *c, uint32_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* errorDescription: an element whose 'description' attribute becomes the error's
 * description and whose other content is kept as errorContext/errorDescription. */
uint32_t provost_fail_xml(provost_pcall *c, uint32_t code, xmlNodePtr error_description);

#ifdef __cplusplus
}
#endif
#endif
