/*
 * batch_setup.c -- what a batch needs checked before anything runs: where the results and
 * the state go, the inputs' absolute names, the called procedure.
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provost/provost.h"
#include "rbatch.h"
#include "util/str.h"

static char *joined(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 2);
    if (s)
        sprintf(s, "%s%s", a, b);
    return s;
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

int batch_out_paths(const char *out, char **results, char **statep, char *err, size_t errlen)
{
    struct stat st;
    size_t n = strlen(out);
    bool dir = (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) || out[n - 1] == '/';
    if (dir && mkdir(out, 0777) != 0 && errno != EEXIST)
        return FAIL("%s: %s", out, strerror(errno));
    const char *sep = out[n - 1] == '/' ? "" : "/";
    if (dir) {
        char *d = joined(out, sep);
        *results = d ? joined(d, "results.jsonl") : NULL;
        *statep = d ? joined(d, "batch.state") : NULL;
        free(d);
    } else {
        *results = strdup(out);
        *statep = joined(out, ".state");
    }
    return *results && *statep ? 0 : FAIL("out of memory");
}

int batch_resolve(const char *given, char **abs, char *err, size_t errlen)
{
    if (strcmp(given, "-") == 0) {
        *abs = strdup("-");
        return *abs ? 0 : FAIL("out of memory");
    }
    *abs = realpath(given, NULL);
    return *abs ? 0 : FAIL("%s: %s", given, strerror(errno));
}

int run_find_proc(provost_engine *e, const char *ns, const char *proc, char *err, size_t errlen)
{
    provost_proc_info *v;
    size_t n;
    provost_error perr;
    if (provost_list_procedures(e, ns, &v, &n, &perr) != 0)
        return snprintf(err, errlen, "%s", perr.message), -2;
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (pu_strieq(v[i].name, proc))
            found = v[i].access ? 1 : -1;
    provost_proc_info_free(v, n);
    return found;
}

int batch_check_call(provost_engine *e, const char *ns, const char *proc, char *err, size_t errlen)
{
    char why[300];
    int found = run_find_proc(e, ns, proc, why, sizeof why);
    if (found == -2)
        return FAIL("--call: %s", why);
    if (!found)
        return FAIL("--call: namespace '%s' has no procedure '%s'", ns, proc);
    if (found < 0)
        return FAIL("--call: procedure '%s' of namespace '%s' is private: a batch calls public procedures", proc,
                    ns);
    return 0;
}

int provost_batch_check(provost_engine *e, const char *input, int format, const char *ns, const char *proc, char *err,
                        size_t errlen)
{
    if (format == BATCH_CSV || format == BATCH_JSONL) {
        char why[1200];
        batch_rows *r = batch_rows_open(input, 0, format, true, why, sizeof why);
        if (!r)
            return FAIL("rows:%s%s", why[0] >= '0' && why[0] <= '9' ? "" : " ", why);
        batch_rows_close(r);
    }
    if (ns && batch_check_call(e, ns, proc, err, errlen) != 0)
        return -2;
    return 0;
}
