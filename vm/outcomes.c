/*
 * outcomes.c -- forgetting the outcomes of a finished batch (provost/outcomes.h).  Its keys
 * share the prefix "batch:ID:", so one range delete removes them all, in one write; RocksDB
 * drops the range's data at the next compactions of the outcomes family.
 *
 * Retention works by batch, not by key: a batch's start is one config record
 * (batch-started:ID), so the pass at open reads one record per batch, never the outcomes
 * themselves, and forgets each expired batch with one range delete.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/outcomes.h"
#include "db.h"
#include "journal.h"
#include "vm.h"

typedef struct tally {
    const char *prefix;
    size_t plen;
    uint64_t n;
} tally;

static int count_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    tally *t = ud;
    if (klen < t->plen || memcmp(key, t->prefix, t->plen) != 0)
        return 1; /* past the batch's keys */
    t->n++;
    return 0;
}

static bool is_batch_id(const char *id)
{
    size_t i = 0;
    for (; id[i]; i++)
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
            return false;
    return i == 32;
}

int provost_batch_forget(provost_engine *e, const char *batch_id, uint64_t *removed, provost_error *err)
{
    *removed = 0;
    if (!batch_id || !is_batch_id(batch_id))
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "'%s' is not a batch id (32 hex digits)",
                            batch_id ? batch_id : "");
    char from[48], to[48], why[600];
    int plen = snprintf(from, sizeof from, "batch:%s:", batch_id);
    snprintf(to, sizeof to, "batch:%s;", batch_id); /* ';' follows ':': the end of the prefix */

    pvm_jview *v;
    size_t n, open = 0;
    if (pvm_journal_scan(e->journal, &v, &n, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    for (size_t i = 0; i < n; i++)
        open += v[i].outcome_key && strncmp(v[i].outcome_key, from, (size_t)plen) == 0;
    pvm_journal_views_free(v, n);
    if (open)
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED,
                            "batch %s has %zu transaction%s still in the journal (see provost txn list --stuck): "
                            "forget it once they are resolved",
                            batch_id, open, open == 1 ? "" : "s");

    tally t = {.prefix = from, .plen = (size_t)plen};
    int rc = pvm_db_range(e->db, PVM_CF_OUTCOMES, from, (size_t)plen, NULL, 0, count_one, &t, why, sizeof why);
    if (rc < 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (t.n == 0)
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "batch %s has no recorded outcomes", batch_id);
    if (pvm_db_delete_range(e->db, PVM_CF_OUTCOMES, from, (size_t)plen, to, (size_t)plen, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    *removed = t.n;
    return 0;
}

/* ---- retention ------------------------------------------------------------------------- */

#define RETENTION_KEY "outcome-retention"
#define STARTED_PREFIX "batch-started:" /* + ID = seconds since the epoch, in config */

int provost_outcome_retention_set(provost_engine *e, int64_t seconds, provost_error *err)
{
    char why[600], v[32];
    if (seconds < 0)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "a retention cannot be negative");
    int rc = seconds == 0 ? pvm_db_delete(e->db, PVM_CF_CONFIG, RETENTION_KEY, strlen(RETENTION_KEY), why, sizeof why)
                          : pvm_db_put(e->db, PVM_CF_CONFIG, RETENTION_KEY, strlen(RETENTION_KEY), v,
                                       (size_t)snprintf(v, sizeof v, "%lld", (long long)seconds), why, sizeof why);
    return rc == 0 ? 0 : pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
}

int provost_outcome_retention_get(provost_engine *e, int64_t *seconds, provost_error *err)
{
    char why[600] = "";
    size_t n;
    *seconds = 0;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, RETENTION_KEY, strlen(RETENTION_KEY), &n, why, sizeof why);
    if (!v)
        return why[0] ? pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why) : 0;
    char text[32] = "";
    memcpy(text, v, n < sizeof text - 1 ? n : sizeof text - 1);
    free(v);
    char *end;
    long long s = strtoll(text, &end, 10);
    if (*end || s < 0)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "the stored outcome retention '%s' is not a number", text);
    *seconds = s;
    return 0;
}

int provost_batch_started(provost_engine *e, const char *batch_id, provost_error *err)
{
    if (!batch_id || !is_batch_id(batch_id))
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "'%s' is not a batch id (32 hex digits)",
                            batch_id ? batch_id : "");
    char key[64], v[32], why[600];
    int kl = snprintf(key, sizeof key, STARTED_PREFIX "%s", batch_id);
    int vl = snprintf(v, sizeof v, "%lld", (long long)time(NULL));
    if (pvm_db_put(e->db, PVM_CF_CONFIG, key, (size_t)kl, v, (size_t)vl, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return 0;
}

typedef struct expiring {
    int64_t before;
    char (*ids)[33];
    size_t n, cap;
} expiring;

static int collect_one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    expiring *x = ud;
    size_t pl = sizeof STARTED_PREFIX - 1;
    if (klen < pl || memcmp(key, STARTED_PREFIX, pl) != 0)
        return 1; /* past the batches */
    char t[32] = "";
    memcpy(t, val, vlen < sizeof t - 1 ? vlen : sizeof t - 1);
    if (klen != pl + 32 || atoll(t) >= x->before)
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 16;
        void *p = realloc(x->ids, cap * sizeof *x->ids);
        if (!p)
            return -2;
        x->ids = p;
        x->cap = cap;
    }
    memcpy(x->ids[x->n], key + pl, 32);
    x->ids[x->n++][32] = 0;
    return 0;
}

int provost_outcomes_expire(provost_engine *e, int64_t now, uint64_t *batches, uint64_t *removed,
                            provost_error *err)
{
    *batches = *removed = 0;
    int64_t keep;
    if (provost_outcome_retention_get(e, &keep, err) != 0)
        return -1;
    if (keep == 0)
        return 0;
    char why[600];
    expiring x = {.before = now - keep};
    int rc = pvm_db_range(e->db, PVM_CF_CONFIG, STARTED_PREFIX, sizeof STARTED_PREFIX - 1, NULL, 0, collect_one, &x, why,
                              sizeof why);
    if (rc == -2 || rc == -1) {
        free(x.ids);
        return rc == -2 ? pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory")
                        : pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    }
    for (size_t i = 0; i < x.n; i++) {
        uint64_t n = 0;
        provost_error ferr;
        int f = provost_batch_forget(e, x.ids[i], &n, &ferr);
        if (f != 0 && ferr.code != PROVOST_E_NOTFOUND)
            continue; /* a stuck transaction: kept, and tried again at the next open */
        char key[64];
        int kl = snprintf(key, sizeof key, STARTED_PREFIX "%s", x.ids[i]);
        if (pvm_db_delete(e->db, PVM_CF_CONFIG, key, (size_t)kl, why, sizeof why) != 0)
            break;
        *batches += n > 0;
        *removed += n;
    }
    free(x.ids);
    return 0;
}
