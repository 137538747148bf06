/*
 * outcomes.c -- forgetting the outcomes of a finished batch (provost/outcomes.h).  Its keys
 * share the prefix "batch:ID:", so one range delete removes them all, in one write; RocksDB
 * drops the range's data at the next compactions of the outcomes family.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
    int rc = pvm_db_each_from(e->db, PVM_CF_OUTCOMES, from, (size_t)plen, count_one, &t, why, sizeof why);
    if (rc < 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (t.n == 0)
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "batch %s has no recorded outcomes", batch_id);
    if (pvm_db_end(e->db, PVM_CF_OUTCOMES, from, (size_t)plen, to, (size_t)plen, 0, NULL, 0, NULL, 0, 1, why,
                   sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    *removed = t.n;
    return 0;
}
