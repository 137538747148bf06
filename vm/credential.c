/*
 * credential.c -- the engine's credential store (SPEC §8): a user name and a secret under a
 * name, kept in the config column family with the secret sealed under the database's master
 * key.  Operators set them (provost credential set); providers receive one through
 * provost_secret (provider.h) when their providerContext says credential="NAME".  No public
 * function returns a secret: it leaves this file only for a provider call.
 *
 * A record: "credential/" + name -> version byte 1, 8 bytes of update time (seconds since
 * the epoch, little-endian), 4 bytes of user length, the user, then the sealed secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "db.h"
#include "journal.h"
#include "seal.h"
#include "util/vec.h"
#include "credential.h"
#include "rights.h"
#include "vm.h"

#define PREFIX "credential/"
#define PREFIX_LEN (sizeof PREFIX - 1)
#define NAME_MAX_LEN 128
#define SECRET_MAX_LEN 4096

/* Names are keys and appear in namespaces: letters, digits, '.', '_', '-'; 1..128. */
static int name_ok(const char *name, provost_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "credential name must have 1 to %d characters", NAME_MAX_LEN);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return pvm_api_fail(err, PROVOST_E_INVALIDARG,
                        "credential name '%s': only letters, digits, '.', '_' and '-' are allowed", name);
    }
    return 0;
}

static const pvm_masterkey *usable_key(provost_engine *e, provost_error *err)
{
    const pvm_masterkey *mk = pvm_journal_masterkey(e->journal);
    if (!mk->ok) {
        pvm_api_fail(err, PROVOST_E_JOURNAL, "credentials cannot be sealed or opened: %s", mk->problem);
        return NULL;
    }
    return mk;
}

int provost_credential_set(provost_engine *e, const char *name, const char *user, const char *secret,
                           provost_error *err)
{
    if (name_ok(name, err) != 0 || pvm_rights_admin(e, "credential set", err) != 0)
        return -1;
    size_t ulen = user ? strlen(user) : 0, slen = secret ? strlen(secret) : 0;
    if (ulen == 0 || ulen > 1024 || memchr(user, '\n', ulen))
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "credential '%s': the user must be one line of 1 to 1024 bytes", name);
    if (slen == 0 || slen > SECRET_MAX_LEN)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "credential '%s': the secret must have 1 to %d bytes", name,
                    SECRET_MAX_LEN);
    const pvm_masterkey *mk = usable_key(e, err);
    if (!mk)
        return -1;
    unsigned char *sealed = NULL;
    size_t sn = 0;
    if (pvm_seal(mk->key, (const unsigned char *)secret, slen, &sealed, &sn) != 0)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "credential '%s': cannot seal the secret", name);
    size_t n = 13 + ulen + sn;
    unsigned char *v = malloc(n);
    char key[PREFIX_LEN + NAME_MAX_LEN + 1];
    int rc = 0;
    if (!v) {
        rc = pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    } else {
        uint64_t now = (uint64_t)time(NULL);
        v[0] = 1;
        for (int i = 0; i < 8; i++)
            v[1 + i] = (unsigned char)(now >> (8 * i));
        for (int i = 0; i < 4; i++)
            v[9 + i] = (unsigned char)((uint32_t)ulen >> (8 * i));
        memcpy(v + 13, user, ulen);
        memcpy(v + 13 + ulen, sealed, sn);
        snprintf(key, sizeof key, PREFIX "%s", name);
        char why[512];
        if (pvm_db_put(e->db, PVM_CF_CONFIG, key, strlen(key), v, n, why, sizeof why) != 0)
            rc = pvm_api_fail(err, PROVOST_E_JOURNAL, "credential '%s': %s", name, why);
    }
    free(v);
    free(sealed);
    return rc == 0 ? pvm_rights_reload(e, err) : rc; /* an "execute as" may name it */
}

/* A record's parts; -1 when it is not a record this version wrote. */
static int parse(const unsigned char *v, size_t n, uint64_t *updated, const unsigned char **user, size_t *ulen,
                 const unsigned char **sealed, size_t *sn)
{
    if (n < 13 || v[0] != 1)
        return -1;
    *updated = 0;
    for (int i = 0; i < 8; i++)
        *updated |= (uint64_t)v[1 + i] << (8 * i);
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)v[9 + i] << (8 * i);
    if (u > n - 13)
        return -1;
    *user = v + 13;
    *ulen = u;
    *sealed = v + 13 + u;
    *sn = n - 13 - u;
    return 0;
}

int pvm_credential_get(provost_engine *e, const char *name, char **user, char **secret, char *why, size_t whylen)
{
    *secret = NULL;
    if (user)
        *user = NULL;
    provost_error err;
    if (name_ok(name, &err) != 0) {
        snprintf(why, whylen, "%s", err.message);
        return -1;
    }
    char key[PREFIX_LEN + NAME_MAX_LEN + 1];
    snprintf(key, sizeof key, PREFIX "%s", name);
    size_t n = 0;
    char dberr[512] = "";
    unsigned char *v = (unsigned char *)pvm_db_get(e->db, PVM_CF_CONFIG, key, strlen(key), &n, dberr, sizeof dberr);
    if (!v) {
        if (dberr[0]) {
            snprintf(why, whylen, "credential \"%s\": %s", name, dberr);
            return -1;
        }
        snprintf(why, whylen, "credential \"%s\" not found (provost credential set %s …)", name, name);
        return 1;
    }
    uint64_t updated;
    const unsigned char *u, *s;
    size_t ulen, sn;
    int rc = -1;
    const pvm_masterkey *mk = pvm_journal_masterkey(e->journal);
    unsigned char *plain = NULL;
    size_t pn = 0;
    if (parse(v, n, &updated, &u, &ulen, &s, &sn) != 0)
        snprintf(why, whylen, "credential \"%s\": its record is damaged (set it again)", name);
    else if (!mk->ok)
        snprintf(why, whylen, "credential \"%s\" cannot be opened: %s", name, mk->problem);
    else if (pvm_unseal(mk->key, s, sn, &plain, &pn) != 0)
        snprintf(why, whylen, "credential \"%s\" cannot be opened: it was sealed under another master key than %s "
                 "(restore that key, or set the credential again)", name, mk->path);
    else if (user && !(*user = strndup((const char *)u, ulen)))
        snprintf(why, whylen, "out of memory");
    else {
        *secret = (char *)plain;
        plain = NULL;
        rc = 0;
    }
    if (plain) {
        OPENSSL_cleanse(plain, pn);
        free(plain);
    }
    free(v);
    return rc;
}

int pvm_credential_user(pvm_db *db, const char *name, char **user)
{
    *user = NULL;
    char key[PREFIX_LEN + NAME_MAX_LEN + 1], why[512] = "";
    if (name_ok(name, NULL) != 0)
        return -1;
    snprintf(key, sizeof key, PREFIX "%s", name);
    size_t n = 0;
    unsigned char *v = (unsigned char *)pvm_db_get(db, PVM_CF_CONFIG, key, strlen(key), &n, why, sizeof why);
    uint64_t updated;
    const unsigned char *u, *s;
    size_t ulen, sn;
    if (v && parse(v, n, &updated, &u, &ulen, &s, &sn) == 0)
        *user = strndup((const char *)u, ulen);
    free(v);
    return *user ? 0 : -1;
}

int provost_credential_remove(provost_engine *e, const char *name, provost_error *err)
{
    if (name_ok(name, err) != 0 || pvm_rights_admin(e, "credential remove", err) != 0)
        return -1;
    char key[PREFIX_LEN + NAME_MAX_LEN + 1], why[512] = "";
    snprintf(key, sizeof key, PREFIX "%s", name);
    size_t n;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, key, strlen(key), &n, why, sizeof why);
    if (!v)
        return why[0] ? pvm_api_fail(err, PROVOST_E_JOURNAL, "credential '%s': %s", name, why)
                      : pvm_api_fail(err, PROVOST_E_NOTFOUND, "credential '%s' not found", name);
    free(v);
    if (pvm_db_delete(e->db, PVM_CF_CONFIG, key, strlen(key), why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "credential '%s': %s", name, why);
    return pvm_rights_reload(e, err);
}

typedef struct listing {
    PU_VEC(provost_credential) all;
    bool oom;
} listing;

static int list_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    listing *l = ud;
    if (klen <= PREFIX_LEN || memcmp(key, PREFIX, PREFIX_LEN) != 0)
        return 0;
    uint64_t updated = 0;
    const unsigned char *u = NULL, *s;
    size_t ulen = 0, sn;
    bool damaged = parse((const unsigned char *)val, vlen, &updated, &u, &ulen, &s, &sn) != 0;
    provost_credential *c = PU_VEC_PUSH(l->all);
    if (!c) {
        l->oom = true;
        return 1;
    }
    c->name = strndup(key + PREFIX_LEN, klen - PREFIX_LEN);
    c->user = damaged ? strdup("(damaged record)") : strndup((const char *)u, ulen);
    c->updated = (int64_t)updated;
    if (!c->name || !c->user) {
        l->oom = true;
        return 1;
    }
    return 0;
}

int provost_credential_list(provost_engine *e, provost_credential **out, size_t *n, provost_error *err)
{
    listing l = {0};
    char why[512] = "";
    int rc = pvm_db_each(e->db, PVM_CF_CONFIG, list_one, &l, why, sizeof why);
    if (rc < 0 || l.oom) {
        provost_credential_list_free(l.all.v, l.all.n);
        *out = NULL;
        *n = 0;
        return l.oom ? pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory") : pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    }
    *out = l.all.v;
    *n = l.all.n;
    return 0;
}

void provost_credential_list_free(provost_credential *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].user);
    }
    free(v);
}

static int is_credential(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    *(bool *)ud = klen > PREFIX_LEN && memcmp(key, PREFIX, PREFIX_LEN) == 0;
    return *(bool *)ud;
}

int pvm_credential_any(pvm_db *db, bool *any, char *err, size_t errlen)
{
    *any = false;
    return pvm_db_each(db, PVM_CF_CONFIG, is_credential, any, err, errlen) < 0 ? -1 : 0;
}
