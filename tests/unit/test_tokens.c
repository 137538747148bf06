/*
 * test_tokens.c -- the bearer tokens of DB/tokens (provost/tokens.h): a created token
 * verifies as its user; a wrong secret, an unknown id, a malformed text, an expired or a
 * revoked token does not, with a one-line reason that never holds the secret; the file
 * holds no secret, is owner-only, and is refused whole when a line was tampered with, when
 * others may read it or when another user owns it; one loaded set checked from several
 * threads at once (as the service's are), and writers in several threads losing nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "provost/tokens.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/provost-tokens-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokens", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static char *create(const char *user, int64_t expires)
{
    char *tok = NULL;
    provost_error err;
    assert_int_equal(provost_token_create(dir, user, expires, &tok, &err), 0);
    assert_non_null(tok);
    return tok;
}

/* verify TOKEN against a fresh load of the file at NOW: 0 with *USER copied, or -1 with
 * the reason in WHY. */
static int verify(const char *token, int64_t now, char *user, char *why)
{
    provost_tokens *t;
    provost_error err;
    assert_int_equal(provost_tokens_load(dir, &t, &err), 0);
    const char *u = NULL;
    int rc = provost_tokens_verify(t, token, now, &u, &err);
    if (rc == 0)
        strcpy(user, u);
    else
        strcpy(why, err.message);
    provost_tokens_free(t);
    return rc;
}

static char *slurp(void)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void spill(const char *content)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
}

static void created_token_verifies_and_only_its_hash_is_kept(void **state)
{
    int64_t now = (int64_t)time(NULL);
    char *tok = create("alice", 0), *tok2 = create("bob", now + 3600);
    assert_int_equal(strncmp(tok, "pvt_", 4), 0);
    const char *secret = strrchr(tok, '_') + 1;
    assert_true(strlen(secret) >= 32); /* at least 128 bits in hex */
    char user[256], why[1024];
    assert_int_equal(verify(tok, now, user, why), 0);
    assert_string_equal(user, "alice");
    assert_int_equal(verify(tok2, now, user, why), 0);
    assert_string_equal(user, "bob");
    assert_null(strstr(slurp(), secret));
    assert_null(strstr(slurp(), strrchr(tok2, '_') + 1));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    provost_token_info *v;
    size_t n;
    provost_error err;
    assert_int_equal(provost_token_list(dir, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].user, "alice");
    assert_int_equal(v[0].expires, 0);
    assert_int_equal(strncmp(tok + 4, v[0].id, strlen(v[0].id)), 0);
    assert_int_equal(v[1].expires, now + 3600);
    assert_false(v[1].revoked);
    provost_token_list_free(v, n);
    free(tok);
    free(tok2);
}

static void wrong_secret_unknown_and_malformed_are_refused(void **state)
{
    char *tok = create("alice", 0), user[256], why[1024];
    int64_t now = (int64_t)time(NULL);
    char bad[256];
    snprintf(bad, sizeof bad, "%s", tok);
    size_t last = strlen(bad) - 1;
    bad[last] = bad[last] == '0' ? '1' : '0';
    assert_int_equal(verify(bad, now, user, why), -1);
    assert_non_null(strstr(why, "unknown token"));
    assert_null(strstr(why, strrchr(bad, '_') + 1));
    snprintf(bad, sizeof bad, "pvt_000000000000%s", strrchr(tok, '_'));
    assert_int_equal(verify(bad, now, user, why), -1);
    assert_non_null(strstr(why, "unknown token pvt_000000000000"));
    const char *malformed[] = {"", "pvt_", "Bearer x", "pvt_abc_def", "PVT_000000000000_00", NULL};
    for (int i = 0; malformed[i]; i++) {
        assert_int_equal(verify(malformed[i], now, user, why), -1);
        assert_non_null(strstr(why, "malformed token"));
    }
    /* one character too many, or an uppercase secret: the shape is exact */
    snprintf(bad, sizeof bad, "%sa", tok);
    assert_int_equal(verify(bad, now, user, why), -1);
    assert_non_null(strstr(why, "malformed token"));
    assert_null(strstr(why, strrchr(tok, '_') + 1));
    assert_int_equal(verify(NULL, now, user, why), -1);
    free(tok);
}

static void expired_and_revoked_tokens_are_refused(void **state)
{
    int64_t now = (int64_t)time(NULL);
    char *tok = create("alice", now + 100), *other = create("carol", 0), user[256], why[1024];
    assert_int_equal(verify(tok, now + 99, user, why), 0);
    assert_int_equal(verify(tok, now + 100, user, why), -1);
    assert_non_null(strstr(why, "expired at"));
    char id[13];
    snprintf(id, sizeof id, "%s", other + 4);
    provost_error err;
    assert_int_equal(provost_token_revoke(dir, id, &err), 0);
    assert_int_equal(provost_token_revoke(dir, id, &err), 0); /* again: nothing changes */
    assert_int_equal(verify(other, now, user, why), -1);
    assert_non_null(strstr(why, "was revoked at"));
    assert_int_equal(verify(tok, now, user, why), 0); /* the other token is untouched */
    assert_int_equal(provost_token_revoke(dir, "0123456789ab", &err), -1);
    assert_int_equal(err.code, PROVOST_E_NOTFOUND);
    assert_int_equal(provost_token_create(dir, "bad\tname", 0, &(char *){NULL}, &err), -1);
    assert_int_equal(err.code, PROVOST_E_INVALIDARG);
    free(tok);
    free(other);
}

/* The file's text with its first occurrence of FROM replaced by TO. */
static void tamper(const char *from, const char *to)
{
    char *s = strdup(slurp()), *at = strstr(s, from);
    assert_non_null(at);
    char out[8192];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    spill(out);
    free(s);
}

static void a_tampered_file_is_refused_whole(void **state)
{
    char *tok = create("alice", 0), *tok2 = create("bob", 0);
    char *good = strdup(slurp());
    provost_tokens *t = NULL;
    provost_error err;
    char *tab = strchr(strchr(good, '\n') + 1, '\t'); /* the first token's hash */
    char hash[16];
    snprintf(hash, sizeof hash, "\t%.8s", tab + 1);
    tamper(hash, "\tZZZZZZZZ");
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_null(t);
    assert_non_null(strstr(err.message, "tokens:2: malformed token line"));
    assert_null(strchr(err.message, '\n'));
    /* a writer refuses it too, and leaves it as it is */
    char *x = NULL;
    assert_int_equal(provost_token_create(dir, "carol", 0, &x, &err), -1);
    assert_null(x);
    assert_non_null(strstr(slurp(), "ZZZZZZZZ"));
    spill(good);
    tamper("\talice\t", "\tal\nice\t");
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_non_null(strstr(err.message, "tokens:2: malformed token line"));
    spill(good);
    tamper("provost-tokens 1", "provost-tokens 2");
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_non_null(strstr(err.message, "tokens:1: not a tokens file of version 1"));
    char cut[8192];
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(good) - 1, good);
    spill(cut);
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_non_null(strstr(err.message, "tokens:3: the line is cut short"));
    /* the same id twice */
    char twice[8192];
    const char *second = strchr(strchr(good, '\n') + 1, '\n') + 1;
    snprintf(twice, sizeof twice, "%s%.*s", good, (int)(second - strchr(good, '\n') - 1), strchr(good, '\n') + 1);
    spill(twice);
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_non_null(strstr(err.message, "a second line for the same id"));
    spill(good);
    assert_int_equal(provost_tokens_load(dir, &t, &err), 0);
    provost_tokens_free(t);
    free(good);
    free(tok);
    free(tok2);
}

static void permissions_and_owner_are_checked(void **state)
{
    provost_tokens *t = NULL;
    provost_error err;
    const char *u;
    /* no file yet: no token */
    assert_int_equal(provost_tokens_load(dir, &t, &err), 0);
    assert_int_equal(provost_tokens_verify(t, "pvt_000000000000_000000000000000000000000000000000000000000000000", 0,
                                           &u, &err),
                     -1);
    assert_int_equal(provost_tokens_changed(dir, t), 0);
    char *tok = create("alice", 0);
    assert_int_equal(provost_tokens_changed(dir, t), 1); /* it appeared */
    provost_tokens_free(t);
    assert_int_equal(provost_tokens_load(dir, &t, &err), 0);
    assert_int_equal(provost_tokens_changed(dir, t), 0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(provost_tokens_load(dir, &(provost_tokens *){NULL}, &err), -1);
    assert_non_null(strstr(err.message, "group or others may use it (mode 0640)"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(provost_token_list(dir, &(provost_token_info *){NULL}, &(size_t){0}, &err), -1);
    assert_int_equal(chmod(path, 0600), 0);
    char *x = create("bob", 0);
    assert_int_equal(provost_tokens_changed(dir, t), 1); /* replaced by the writer */
    provost_tokens_free(t);
    if (geteuid() == 0) { /* only root can give the file away */
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
        assert_non_null(strstr(err.message, "owned by uid 65534"));
        assert_int_equal(chown(path, 0, 0), 0);
    }
    char link[160];
    snprintf(link, sizeof link, "%s/real", dir);
    assert_int_equal(rename(path, link), 0);
    assert_int_equal(symlink(link, path), 0);
    assert_int_equal(provost_tokens_load(dir, &t, &err), -1);
    assert_non_null(strstr(err.message, "symbolic link"));
    free(tok);
    free(x);
}

typedef struct checker {
    const provost_tokens *t;
    const char *good, *bad;
    int wrong; /* verdicts that were not the expected ones */
} checker;

static void *check_many(void *arg)
{
    checker *c = arg;
    for (int i = 0; i < 300; i++) {
        const char *u = NULL;
        provost_error err;
        c->wrong += provost_tokens_verify(c->t, c->good, 0, &u, &err) != 0 || !u || strcmp(u, "alice") != 0;
        c->wrong += provost_tokens_verify(c->t, c->bad, 0, &u, &err) != -1;
    }
    return NULL;
}

static void *create_some(void *arg)
{
    for (int i = 0; i < 5; i++) {
        char *tok = NULL;
        provost_error err;
        if (provost_token_create(dir, "bob", 0, &tok, &err) != 0)
            ++*(int *)arg;
        free(tok);
    }
    return NULL;
}

static void threads_share_a_set_and_writers_lose_nothing(void **state)
{
    char *tok = create("alice", 0), bad[256];
    snprintf(bad, sizeof bad, "%s", tok);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == 'a' ? 'b' : 'a';
    provost_tokens *t;
    provost_error err;
    assert_int_equal(provost_tokens_load(dir, &t, &err), 0);
    pthread_t th[8];
    checker c[4];
    int failed[4] = {0};
    for (int i = 0; i < 4; i++) {
        c[i] = (checker){t, tok, bad, 0};
        assert_int_equal(pthread_create(&th[i], NULL, check_many, &c[i]), 0);
        assert_int_equal(pthread_create(&th[4 + i], NULL, create_some, &failed[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c[i].wrong, 0);
        assert_int_equal(failed[i], 0);
    }
    provost_tokens_free(t);
    provost_token_info *v;
    size_t n;
    assert_int_equal(provost_token_list(dir, &v, &n, &err), 0);
    assert_int_equal(n, 21);
    provost_token_list_free(v, n);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(created_token_verifies_and_only_its_hash_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_secret_unknown_and_malformed_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_and_revoked_tokens_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_tampered_file_is_refused_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(permissions_and_owner_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(threads_share_a_set_and_writers_lose_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
