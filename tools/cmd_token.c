/*
 * cmd_token.c -- `provost token create|list|revoke`: the operator's side of the bearer
 * tokens the HTTP service checks requests against (provost/tokens.h).  The database is
 * opened read-only, without its lock, to ask who the caller is and whether the user
 * exists: tokens are made and revoked while a service holds the database.
 */
#define _GNU_SOURCE /* timegm, strptime */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "provost/provost.h"
#include "provost/rights.h"
#include "provost/tokens.h"
#include "tools.h"

/* --expires: 30d, 12h, 90m, 3600s from now, or a date 2027-01-31 (midnight UTC), or
 * 2027-01-31T12:00[:SS][Z] (UTC).  0, or -1 when it is neither. */
static int parse_expires(const char *v, int64_t now, int64_t *at)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end != v && v[0] >= '0' && v[0] <= '9' && end[0] && !end[1] && n > 0 && n < 100000000) {
        int64_t unit = end[0] == 'd' ? 86400 : end[0] == 'h' ? 3600 : end[0] == 'm' ? 60 : end[0] == 's' ? 1 : 0;
        if (!unit)
            return -1;
        *at = now + n * unit;
        return 0;
    }
    struct tm tm = {0};
    end = strptime(v, "%Y-%m-%d", &tm);
    if (end && *end == 'T') {
        end = strptime(end, "T%H:%M", &tm);
        if (end && *end == ':')
            end = strptime(end, ":%S", &tm);
        if (end && *end == 'Z')
            end++;
    }
    if (!end || *end)
        return -1;
    *at = (int64_t)timegm(&tm);
    return 0;
}

static void when(int64_t s, char *buf, size_t n)
{
    time_t t = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "@%lld", (long long)s);
}

/* The engine, read-only, when its principal is an administrator; else NULL, said why. */
static provost_engine *open_as_admin(const char *cmd, const char **db_path)
{
    provost_options o = tool_engine_options(-1);
    o.read_only = 1;
    *db_path = o.db_path;
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0) {
        die("%s: %s: %s", cmd, o.db_path, err.message);
        return NULL;
    }
    if (!provost_is_admin(e)) {
        die("%s: access denied: principal '%s' lacks the right admin (tokens)", cmd, provost_principal_name(e));
        provost_close(e);
        return NULL;
    }
    return e;
}

/* USER as the database spells it (malloc'd), or NULL when it has no such user. */
static char *known_user(provost_engine *e, const char *user, provost_error *err)
{
    provost_principal *v;
    size_t n;
    if (provost_principal_list(e, 0, &v, &n, err) != 0)
        return NULL;
    char *name = NULL;
    for (size_t i = 0; i < n && !name; i++)
        if (strcasecmp(v[i].name, user) == 0)
            name = strdup(v[i].name);
    provost_principal_list_free(v, n);
    if (!name)
        snprintf(err->message, sizeof err->message, "unknown user '%s' (provost user add %s)", user, user);
    return name;
}

static int token_create(int argc, char **argv)
{
    const char *user = NULL, *expires = NULL;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "--user") == 0 || strcmp(argv[i], "--expires") == 0) && i + 1 >= argc)
            return die("token create: %s needs a value", argv[i]);
        if (strcmp(argv[i], "--user") == 0)
            user = argv[++i];
        else if (strcmp(argv[i], "--expires") == 0)
            expires = argv[++i];
        else
            return die("token create: unexpected '%s' (usage: provost token create --user NAME [--expires D])",
                       argv[i]);
    }
    if (!user)
        return die("token create: for which user? (usage: provost token create --user NAME [--expires D])");
    int64_t now = (int64_t)time(NULL), at = 0;
    if (expires && parse_expires(expires, now, &at) != 0)
        return die("token create: --expires takes 30d, 12h, 90m, 3600s or a date YYYY-MM-DD[THH:MM[:SS]Z], not '%s'",
                   expires);
    if (expires && at <= now)
        return die("token create: --expires %s is not in the future", expires);
    const char *db;
    provost_engine *e = open_as_admin("token create", &db);
    if (!e)
        return 2;
    provost_error err;
    char *name = known_user(e, user, &err);
    provost_close(e);
    if (!name)
        return die("token create: %s", err.message);
    char *token = NULL;
    int status = 0;
    if (provost_token_create(db, name, at, &token, &err) != 0) {
        status = die("token create: %s", err.message);
    } else {
        char until[40] = "never";
        if (at)
            when(at, until, sizeof until);
        printf("%s\n", token);
        fflush(stdout);
        /* the id is the part between the prefix and the secret */
        fprintf(stderr, "provost: token %.*s for user %s, expires %s: shown only this once, keep it secret\n",
                (int)strcspn(token + 4, "_"), token + 4, name, until);
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    }
    free(name);
    return status;
}

static const char *state(const provost_token_info *t, int64_t now)
{
    return t->revoked ? "revoked" : t->expires && now >= t->expires ? "expired" : "active";
}

static int token_list(int argc, char **argv)
{
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return die("token list: unexpected '%s' (usage: provost token list [--json])", argv[i]);
    }
    const char *db = tool_engine_options(-1).db_path;
    struct stat st;
    if (stat(db, &st) != 0 || !S_ISDIR(st.st_mode)) /* a mistyped --db lists nothing silently otherwise */
        return die("token list: %s: no database there", db);
    provost_token_info *v;
    size_t n;
    provost_error err;
    if (provost_token_list(db, &v, &n, &err) != 0)
        return die("token list: %s", err.message);
    int64_t now = (int64_t)time(NULL);
    if (json)
        putchar('[');
    else
        printf("%-12s  %-24s  %-20s  %-20s  %s\n", "ID", "USER", "CREATED", "EXPIRES", "STATE");
    for (size_t i = 0; i < n; i++) {
        char created[40], expires[40] = "never";
        when(v[i].created, created, sizeof created);
        if (v[i].expires)
            when(v[i].expires, expires, sizeof expires);
        /* ids are hex and user names letters, digits and ".-_@": nothing to escape */
        if (json)
            printf("%s{\"id\":\"%s\",\"user\":\"%s\",\"created\":\"%s\",\"expires\":%s%s%s,\"state\":\"%s\"}",
                   i ? "," : "", v[i].id, v[i].user, created, v[i].expires ? "\"" : "",
                   v[i].expires ? expires : "null", v[i].expires ? "\"" : "", state(&v[i], now));
        else
            printf("%-12s  %-24s  %-20s  %-20s  %s\n", v[i].id, v[i].user, created, expires, state(&v[i], now));
    }
    if (json)
        puts("]");
    provost_token_list_free(v, n);
    return 0;
}

static int token_revoke(int argc, char **argv)
{
    if (argc < 3)
        return die("token revoke: which token? (usage: provost token revoke ID)");
    if (argc > 3)
        return die("token revoke: one token at a time ('%s')", argv[3]);
    const char *db;
    provost_engine *e = open_as_admin("token revoke", &db);
    if (!e)
        return 2;
    provost_close(e);
    provost_error err;
    if (provost_token_revoke(db, argv[2], &err) != 0)
        return die("token revoke: %s", err.message);
    printf("token %s revoked\n", argv[2]);
    return 0;
}

int cmd_token(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "create") == 0)
        return token_create(argc, argv);
    if (strcmp(sub, "list") == 0)
        return token_list(argc, argv);
    if (strcmp(sub, "revoke") == 0)
        return token_revoke(argc, argv);
    return die("token: create, list or revoke? (see provost help token)");
}
