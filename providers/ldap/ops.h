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
uint32_t lp_undo_ops(lp_call *k);
/* rollback of ModifyEntry (MEMBERS 0) or AddMember/RemoveMember (MEMBERS 1, ADD which) */
uint32_t lp_undo_values(lp_call *k, int members, int add);

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

/* read.c */
uint32_t lp_get_entry(lp_call *k);
uint32_t lp_search(lp_call *k);
/* Appends <entry dn=""><attr name="">value</attr>...</entry> for E to PARENT. */
int lp_entry_xml(LDAP *ld, LDAPMessage *e, xmlNodePtr parent);

#endif
