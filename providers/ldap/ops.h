/*
 * ops.h -- the ldap provider's procedures, one function each, and the pieces of ops.c the
 * other procedure files reuse.  Private to providers/ldap/.
 */
#ifndef LP_OPS_H
#define LP_OPS_H

#include "lp.h"

/* ops.c: value-level changes */
uint32_t lp_modify_entry(lp_call *k);
uint32_t lp_members(lp_call *k, int add);
/* rollback of ModifyEntry, AddMember, RemoveMember (in doubt too: undo.c) */
uint32_t lp_undo_values(lp_call *k);

/* entry.c: entries */
uint32_t lp_add_entry(lp_call *k);
uint32_t lp_undo_add(lp_call *k);
uint32_t lp_rename_entry(lp_call *k);
uint32_t lp_undo_rename(lp_call *k);
uint32_t lp_set_password(lp_call *k);
uint32_t lp_undo_password(lp_call *k);

/* quarantine.c: DeleteEntry, two-phase */
uint32_t lp_delete_entry(lp_call *k, xmlDocPtr doc);
uint32_t lp_delete_commit(lp_call *k, xmlDocPtr doc);
uint32_t lp_delete_rollback(lp_call *k, xmlDocPtr doc);
int lp_make_quarantine(lp_call *k); /* quarantineDN itself, when it is missing */

/* undo.c: the undo entry a value change writes before it changes anything.  A record is
 * the call's rollback data as "KEY TAB VALUE" lines. */
typedef struct lp_record {
    char **v;
    size_t n;
    int failed;
} lp_record;
/* KEY=VALUE as rollback data and in R (0, or -1 with R->failed set). */
int lp_record_set(lp_call *k, lp_record *r, const char *key, const char *value);
const char *lp_record_get(const lp_record *r, const char *key);
void lp_record_free(lp_record *r);
/* Adds this call's undo entry holding R (and PASSWORDS as its userPassword, if any). */
uint32_t lp_undo_save(lp_call *k, const lp_record *r, struct berval **passwords);
/* This call's undo entry: LDAP_SUCCESS with R (and *PASSWORDS, for lp_values_wipe),
 * LDAP_NO_SUCH_OBJECT when there is none, else the LDAP result code. */
int lp_undo_load(lp_call *k, lp_record *r, struct berval ***passwords);
void lp_undo_forget(lp_call *k);
void lp_values_wipe(struct berval **v); /* wipes and frees values of ldap_get_values_len */
void lp_deactivate(provost_pcall *c);  /* removes the transaction's undo entries left */

/* read.c */
uint32_t lp_get_entry(lp_call *k);
uint32_t lp_search(lp_call *k);
/* Appends <entry dn=""><attr name="">value</attr>...</entry> for E to PARENT. */
int lp_entry_xml(LDAP *ld, LDAPMessage *e, xmlNodePtr parent);

#endif
