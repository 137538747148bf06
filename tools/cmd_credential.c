/*
 * cmd_credential.c -- `provost credential set|list|remove`: the operator's side of the
 * credential store.  A secret comes in from a file or standard input, never from the
 * command line (where ps and shell histories would keep it), and is never printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "provost/provost.h"
#include "tools.h"

#define SECRET_MAX 4096

/* The first line of F (without its end) into buf: 0, or -1 with why. */
static int first_line(FILE *f, char *buf, size_t size, const char *what, char *why, size_t whylen)
{
    if (!fgets(buf, (int)size, f)) {
        snprintf(why, whylen, "%s: %s", what, ferror(f) ? strerror(errno) : "empty: no secret to store");
        return -1;
    }
    size_t n = strcspn(buf, "\r\n");
    if (n == size - 1 && buf[n] == 0) {
        OPENSSL_cleanse(buf, size);
        snprintf(why, whylen, "%s: the secret is longer than %d bytes", what, SECRET_MAX);
        return -1;
    }
    buf[n] = 0;
    if (n == 0) {
        snprintf(why, whylen, "%s: the first line is empty: no secret to store", what);
        return -1;
    }
    return 0;
}

static int credential_set(int argc, char **argv)
{
    const char *name = NULL, *user = NULL, *file = NULL;
    int from_stdin = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = 1;
        else if (argv[i][0] == '-')
            return die("credential set: unknown option '%s' (see provost help credential)", argv[i]);
        else if (name)
            return die("credential set: one name at a time ('%s' and '%s')", name, argv[i]);
        else
            name = argv[i];
    }
    if (!name || !user)
        return die("credential set: usage: provost credential set NAME --user U (--password-file F | "
                   "--password-stdin)");
    if (!!file == from_stdin)
        return die("credential set: give the secret with exactly one of --password-file F and --password-stdin");
    char secret[SECRET_MAX + 2], why[512];
    FILE *f = file ? fopen(file, "r") : stdin;
    if (!f)
        return die("credential set: %s: %s", file, strerror(errno));
    int rc = first_line(f, secret, sizeof secret, file ? file : "standard input", why, sizeof why);
    if (file)
        fclose(f);
    if (rc != 0)
        return die("credential set: %s", why);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (e) {
        provost_error err;
        if (provost_credential_set(e, name, user, secret, &err) != 0)
            status = die("credential set: %s", err.message);
        else
            printf("credential %s set for user %s\n", name, user);
        provost_close(e);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return status;
}

static int credential_list(int argc, char **argv)
{
    if (argc > 2)
        return die("credential list: no arguments expected ('%s')", argv[2]);
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    provost_credential *v;
    size_t n;
    provost_error err;
    if (provost_credential_list(e, &v, &n, &err) != 0) {
        status = die("credential list: %s", err.message);
    } else {
        for (size_t i = 0; i < n; i++) {
            char when[32] = "?";
            time_t t = (time_t)v[i].updated;
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
            printf("%s\tuser=%s\tupdated=%s\n", v[i].name, v[i].user, when);
        }
        provost_credential_list_free(v, n);
    }
    provost_close(e);
    return status;
}

static int credential_remove(int argc, char **argv)
{
    if (argc < 3)
        return die("credential remove: which credential? (usage: provost credential remove NAME ...)");
    int status = 0;
    provost_engine *e = tool_open_engine(-1, &status);
    if (!e)
        return status;
    for (int i = 2; i < argc; i++) {
        provost_error err;
        if (provost_credential_remove(e, argv[i], &err) != 0)
            status = die("credential remove: %s", err.message);
        else
            printf("credential %s removed\n", argv[i]);
    }
    provost_close(e);
    return status;
}

int cmd_credential(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "set") == 0)
        return credential_set(argc, argv);
    if (strcmp(sub, "list") == 0)
        return credential_list(argc, argv);
    if (strcmp(sub, "remove") == 0)
        return credential_remove(argc, argv);
    return die("credential: set, list or remove? (see provost help credential)");
}
