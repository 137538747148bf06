/*
 * provider.c -- the ldap provider's descriptor (libprovost-ldap.so, providerSource="ldap"):
 * which procedure each call is, and which undo its rollback runs.  The procedures are in
 * ops.c, entry.c, quarantine.c and read.c; docs/providers/ldap.md is the reference.
 */
#include <string.h>
#include <strings.h>

#include "ops.h"

enum { P_ADD, P_MODIFY, P_DELETE, P_RENAME, P_ADDMEMBER, P_REMOVEMEMBER, P_PASSWORD, P_GET, P_SEARCH, P_NONE };

static int which(const char *proc)
{
    static const char *const names[] = {"AddEntry",     "ModifyEntry", "DeleteEntry", "RenameEntry", "AddMember",
                                        "RemoveMember", "SetPassword", "GetEntry",    "Search", "PasswordModify"};
    for (int i = 0; i <= P_NONE; i++)
        if (strcasecmp(proc, names[i]) == 0)
            return i == P_NONE ? P_PASSWORD : i; /* PasswordModify: SetPassword's other name */
    return P_NONE;
}

static uint32_t ldap_process(provost_pcall *c, xmlDocPtr doc)
{
    lp_call k;
    uint32_t code = lp_begin(&k, c, doc);
    if (code == PROVOST_S_OK) {
        switch (which(k.proc)) {
        case P_ADD: code = lp_add_entry(&k); break;
        case P_MODIFY: code = lp_modify_entry(&k); break;
        case P_DELETE: code = lp_delete_entry(&k, doc); break;
        case P_RENAME: code = lp_rename_entry(&k); break;
        case P_ADDMEMBER: code = lp_members(&k, 1); break;
        case P_REMOVEMEMBER: code = lp_members(&k, 0); break;
        case P_PASSWORD: code = lp_set_password(&k); break;
        case P_GET: code = lp_get_entry(&k); break;
        case P_SEARCH: code = lp_search(&k); break;
        default:
            code = lp_failf(&k, LP_E_NOT_SUPPORTED, "ldap provider: no procedure \"%.100s\" (it has AddEntry, "
                            "ModifyEntry, DeleteEntry, RenameEntry, AddMember, RemoveMember, SetPassword, GetEntry, "
                            "Search)", k.proc);
        }
    }
    lp_end(&k);
    return code;
}

static uint32_t ldap_finish(provost_pcall *c, xmlDocPtr doc)
{
    lp_call k;
    int phase = provost_pcall_phase(c), proc;
    uint32_t code = lp_begin(&k, c, doc);
    if (code == PROVOST_S_OK) {
        proc = which(k.proc);
        if (phase == PROVOST_PHASE_PREPARE || (phase == PROVOST_PHASE_COMMIT && proc != P_DELETE) ||
            proc == P_GET || proc == P_SEARCH || proc == P_NONE) {
            lp_end(&k);
            return PROVOST_S_OK;
        }
        code = lp_connect(&k);
    }
    if (code == PROVOST_S_OK) {
        switch (proc) {
        case P_ADD: code = lp_undo_add(&k); break;
        case P_DELETE:
            code = phase == PROVOST_PHASE_COMMIT ? lp_delete_commit(&k, doc) : lp_delete_rollback(&k, doc);
            break;
        case P_RENAME: code = lp_undo_rename(&k); break;
        case P_PASSWORD: code = lp_undo_password(&k); break;
        default: code = lp_undo_values(&k); break; /* ModifyEntry, AddMember, RemoveMember */
        }
    }
    lp_end(&k);
    return code;
}

__attribute__((visibility("default"))) const provost_provider provost_provider_v1 = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "ldap",
    .init = lp_init,
    .fini = lp_fini,
    .deactivate = lp_deactivate,
    .process = ldap_process,
    .commit = ldap_finish,
    .rollback = ldap_finish,
};
