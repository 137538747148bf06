/*
 * test_secret.c -- provost_secret, the provider service that reads the secret a
 * providerContext names: a password file's first line, and every way it is refused (a file
 * group or others may read, a missing or relative path, a directory, an empty first line,
 * both or neither source named); a credential of the engine's store, its user with it, and a
 * missing one -- never with the secret in the description.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/vm.h"

static char dir[] = "/tmp/provost-secret-XXXXXX";

static const char *file(const char *name, const char *content, mode_t mode)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* The code provost_secret returns for the arguments, its description in DESC. */
static uint32_t secret(const char *cred, const char *path, char **out, char *desc, size_t n)
{
    provost_pcall c;
    memset(&c, 0, sizeof c);
    uint32_t rc = provost_secret(&c, cred, path, out, NULL);
    snprintf(desc, n, "%s", c.desc ? c.desc : "");
    free(c.desc);
    return rc;
}

static void first_line_of_an_owner_only_file(void **state)
{
    char *s = NULL, d[1024];
    assert_int_equal(secret(NULL, file("pw", "s3cret\r\nsecond line\n", 0600), &s, d, sizeof d), 0);
    assert_string_equal(s, "s3cret");
    provost_secret_free(s);
    assert_int_equal(secret("", file("pw2", "no newline", 0400), &s, d, sizeof d), 0);
    assert_string_equal(s, "no newline");
    provost_secret_free(s);
}

static void refusals_name_the_file_never_the_secret(void **state)
{
    char *s = (char *)1, d[1024];
    const char *p = file("open", "s3cret\n", 0640);
    assert_int_equal(secret(NULL, p, &s, d, sizeof d), 0x80070005u);
    assert_null(s);
    assert_non_null(strstr(d, p));
    assert_null(strstr(d, "s3cret"));
    assert_int_equal(secret(NULL, file("other", "s3cret\n", 0604), &s, d, sizeof d), 0x80070005u);
    assert_int_equal(secret(NULL, file("empty", "\nsecond\n", 0600), &s, d, sizeof d), PROVOST_E_INVALIDARG);
    assert_int_equal(secret(NULL, "/nonexistent/provost-pw", &s, d, sizeof d), 0x80070002u);
    assert_int_equal(secret(NULL, "relative/pw", &s, d, sizeof d), PROVOST_E_INVALIDARG);
    assert_int_equal(secret(NULL, dir, &s, d, sizeof d), PROVOST_E_INVALIDARG);
    assert_int_equal(secret("ldapadmin", p, &s, d, sizeof d), PROVOST_E_INVALIDARG);
    assert_int_equal(secret(NULL, NULL, &s, d, sizeof d), PROVOST_E_INVALIDARG);
    assert_null(s);
}

static void a_credential_of_the_store(void **state)
{
    char db[300];
    snprintf(db, sizeof db, "%s/db", dir);
    provost_options o = {.db_path = db};
    provost_error err;
    provost_engine *e = NULL;
    assert_int_equal(provost_open(&o, &e, &err), 0);
    assert_int_equal(provost_credential_set(e, "ldapadmin", "cn=admin", "s3cret", &err), 0);
    pvm_req r;
    memset(&r, 0, sizeof r);
    r.e = e;
    provost_pcall c;
    memset(&c, 0, sizeof c);
    c.req = &r;
    char *s = NULL, *user = NULL;
    assert_int_equal(provost_secret(&c, "ldapadmin", NULL, &s, &user), 0);
    assert_string_equal(s, "s3cret");
    assert_string_equal(user, "cn=admin");
    provost_secret_free(s);
    free(user);
    assert_int_equal(provost_secret(&c, "nosuch", NULL, &s, &user), 0x80070490u);
    assert_null(s);
    assert_null(user);
    assert_non_null(strstr(c.desc, "credential \"nosuch\" not found"));
    free(c.desc);
    c.desc = NULL;
    assert_int_equal(provost_secret(&c, "bad/name", NULL, &s, NULL), PROVOST_E_ACCESSDENIED);
    free(c.desc);
    provost_close(e);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_line_of_an_owner_only_file),
        cmocka_unit_test(refusals_name_the_file_never_the_secret),
        cmocka_unit_test(a_credential_of_the_store),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
