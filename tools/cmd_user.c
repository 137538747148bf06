/*
 * cmd_user.c -- `provost user|group|grant|revoke|acl`: the operator's side of principals
 * and rights (provost/rights.h).  Parsing and printing only; what may be changed, and by
 * whom, the engine decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/provost.h"
#include "provost/rights.h"
#include "tools.h"

/* Opens the engine, runs fn, prints its error as CMD: MESSAGE; returns the exit status. */
typedef int (*change_fn)(provost_engine *e, const char **a, provost_error *err);

static int with_engine(const char *cmd, change_fn fn, const char **a)
{
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    if (fn(e, a, &err) != 0)
        status = die("%s: %s", cmd, err.message);
    provost_close(e);
    return status;
}

/* NAME [--group G]: a[0] the name, a[1] the group or NULL. */
static int name_and_group(int argc, char **argv, const char *cmd, const char **a)
{
    a[0] = a[1] = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            a[1] = argv[++i];
        else if (argv[i][0] == '-')
            return die("%s: unknown option '%s' (see provost help %.*s)", cmd, argv[i], (int)strcspn(cmd, " "), cmd);
        else if (a[0])
            return die("%s: one name at a time ('%s' and '%s')", cmd, a[0], argv[i]);
        else
            a[0] = argv[i];
    }
    if (!a[0])
        return die("%s: which name? (see provost help %.*s)", cmd, (int)strcspn(cmd, " "), cmd);
    return 0;
}

static int do_user_add(provost_engine *e, const char **a, provost_error *err)
{
    if (provost_user_add(e, a[0], a[1], err) != 0)
        return -1;
    if (a[1])
        printf("user %s is a member of group %s\n", a[0], a[1]);
    else
        printf("user %s added\n", a[0]);
    return 0;
}

static int do_user_remove(provost_engine *e, const char **a, provost_error *err)
{
    if (provost_user_remove(e, a[0], a[1], err) != 0)
        return -1;
    if (a[1])
        printf("user %s is no longer a member of group %s\n", a[0], a[1]);
    else
        printf("user %s removed\n", a[0]);
    return 0;
}

static int do_group_add(provost_engine *e, const char **a, provost_error *err)
{
    if (provost_group_add(e, a[0], err) != 0)
        return -1;
    printf("group %s added\n", a[0]);
    return 0;
}

static int do_group_remove(provost_engine *e, const char **a, provost_error *err)
{
    if (provost_group_remove(e, a[0], err) != 0)
        return -1;
    printf("group %s removed\n", a[0]);
    return 0;
}

static int list(const char *cmd, int groups, int argc, char **argv)
{
    if (argc > 2)
        return die("%s: no arguments expected ('%s')", cmd, argv[2]);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_principal *v;
    size_t n;
    provost_error err;
    if (provost_principal_list(e, groups, &v, &n, &err) != 0) {
        status = die("%s: %s", cmd, err.message);
    } else {
        for (size_t i = 0; i < n; i++) {
            printf("%s\t%s=", v[i].name, groups ? "members" : "groups");
            for (size_t j = 0; j < v[i].nrelated; j++)
                printf("%s%s", j ? "," : "", v[i].related[j]);
            putchar('\n');
        }
        provost_principal_list_free(v, n);
    }
    provost_close(e);
    return status;
}

int cmd_user(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "", *a[2];
    if (strcmp(sub, "list") == 0)
        return list("user list", 0, argc, argv);
    if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
        const char *cmd = sub[0] == 'a' ? "user add" : "user remove";
        int bad = name_and_group(argc, argv, cmd, a);
        return bad ? bad : with_engine(cmd, sub[0] == 'a' ? do_user_add : do_user_remove, a);
    }
    return die("user: add, remove or list? (see provost help user)");
}

int cmd_group(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "", *a[2];
    if (strcmp(sub, "list") == 0)
        return list("group list", 1, argc, argv);
    if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
        const char *cmd = sub[0] == 'a' ? "group add" : "group remove";
        int bad = name_and_group(argc, argv, cmd, a);
        if (!bad && a[1])
            bad = die("%s: --group is for users (provost user add NAME --group G)", cmd);
        return bad ? bad : with_engine(cmd, sub[0] == 'a' ? do_group_add : do_group_remove, a);
    }
    return die("group: add, remove or list? (see provost help group)");
}

/* ---- grant and revoke ----------------------------------------------------------------- */

typedef struct grant_args {
    const char *principal, *ns, *proc;
    int right, deny;
} grant_args;

static int parse_grant(int argc, char **argv, const char *cmd, grant_args *g)
{
    *g = (grant_args){.right = -1};
    const char *pos[2] = {0};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--namespace") == 0 && i + 1 < argc)
            g->ns = argv[++i];
        else if (strcmp(argv[i], "--procedure") == 0 && i + 1 < argc)
            g->proc = argv[++i];
        else if (strcmp(argv[i], "--deny") == 0 && cmd[0] == 'g')
            g->deny = 1;
        else if (argv[i][0] == '-')
            return die("%s: unknown option '%s' (see provost help %s)", cmd, argv[i], cmd);
        else if (npos == 2)
            return die("%s: too many arguments ('%s')", cmd, argv[i]);
        else
            pos[npos++] = argv[i];
    }
    if (npos < 2)
        return die("%s: usage: provost %s PRINCIPAL RIGHT [--namespace NS [--procedure P]]%s", cmd, cmd,
                   cmd[0] == 'g' ? " [--deny]" : "");
    g->principal = pos[0];
    if ((g->right = provost_right_parse(pos[1])) < 0)
        return die("%s: unknown right '%s' (execute, executePrivate, trusted, callerCredentials, admin)", cmd, pos[1]);
    if (g->proc && !g->ns)
        return die("%s: --procedure needs --namespace", cmd);
    return 0;
}

static void place(char *buf, size_t size, const grant_args *g)
{
    if (!g->ns)
        snprintf(buf, size, "everywhere");
    else
        snprintf(buf, size, "on %s%s%s", g->ns, g->proc ? "/" : "", g->proc ? g->proc : "");
}

static int grant_or_revoke(int argc, char **argv, int revoke)
{
    const char *cmd = revoke ? "revoke" : "grant";
    grant_args g;
    int bad = parse_grant(argc, argv, cmd, &g);
    if (bad)
        return bad;
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    int rc = revoke ? provost_revoke(e, g.principal, g.right, g.ns, g.proc, &err)
                    : provost_grant(e, g.principal, g.right, g.ns, g.proc, g.deny, &err);
    char where[600];
    place(where, sizeof where, &g);
    if (rc != 0)
        status = die("%s: %s", cmd, err.message);
    else if (revoke)
        printf("%s: entry for %s %s removed\n", g.principal, provost_right_name(g.right), where);
    else
        printf("%s: %s %s %s\n", g.principal, g.deny ? "denied" : "allowed", provost_right_name(g.right), where);
    provost_close(e);
    return status;
}

int cmd_grant(int argc, char **argv)
{
    return grant_or_revoke(argc, argv, 0);
}

int cmd_revoke(int argc, char **argv)
{
    return grant_or_revoke(argc, argv, 1);
}

/* ---- acl ------------------------------------------------------------------------------ */

static void print_acl(const provost_acl *a)
{
    if (!a->enforced)
        printf("# no right is granted: nothing is enforced, everyone may do everything\n");
    printf("%-24s %-18s %-6s %s\n", "PRINCIPAL", "RIGHT", "ACCESS", "ON");
    for (size_t i = 0; i < a->nentries; i++) {
        const provost_ace *x = &a->entries[i];
        char on[600];
        if (!x->ns)
            snprintf(on, sizeof on, "*");
        else
            snprintf(on, sizeof on, "%s%s%s", x->ns, x->proc ? "/" : "", x->proc ? x->proc : "");
        const char *right = provost_right_name(x->right);
        printf("%-24s %-18s %-6s %s\n", x->principal, right ? right : "?", x->deny ? "deny" : "allow", on);
    }
    for (size_t i = 0; i < a->nprocs; i++) {
        const provost_proc_setting *p = &a->procs[i];
        printf("procedure %s/%s: inherit=%s execute-as=%s\n", p->ns, p->proc, p->inherit ? "yes" : "no",
               p->execute_as ? p->execute_as : "-");
    }
}

int cmd_acl(int argc, char **argv)
{
    const char *pos[2] = {0}, *cred = NULL;
    int npos = 0, inherit = -1, set_cred = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--inherit") == 0 || strcmp(argv[i], "--no-inherit") == 0) {
            inherit = argv[i][2] == 'i';
        } else if (strcmp(argv[i], "--execute-as") == 0 && i + 1 < argc) {
            cred = argv[++i];
            set_cred = 1;
        } else if (strcmp(argv[i], "--no-execute-as") == 0) {
            set_cred = 1;
        } else if (argv[i][0] == '-') {
            return die("acl: unknown option '%s' (see provost help acl)", argv[i]);
        } else if (npos == 2) {
            return die("acl: too many arguments ('%s')", argv[i]);
        } else {
            pos[npos++] = argv[i];
        }
    }
    if ((inherit >= 0 || set_cred) && npos != 2)
        return die("acl: --inherit, --no-inherit and --execute-as set a procedure: provost acl NS PROCEDURE ...");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_error err;
    int rc = 0;
    if (inherit >= 0)
        rc = provost_acl_inherit(e, pos[0], pos[1], inherit, &err);
    if (rc == 0 && set_cred)
        rc = provost_acl_execute_as(e, pos[0], pos[1], cred, &err);
    provost_acl a;
    if (rc == 0 && (rc = provost_acl_get(e, pos[0], &a, &err)) == 0) {
        print_acl(&a);
        provost_acl_free(&a);
    }
    if (rc != 0)
        status = die("acl: %s", err.message);
    provost_close(e);
    return status;
}
