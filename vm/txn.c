/*
 * txn.c -- the end of a transaction (SPEC §6), journaled: on success every twoPhase call is
 * prepared (PREPARED), the decision is made durable (COMMIT), each is committed
 * (COMMITTED); on failure every successful write/twoPhase call is rolled back newest
 * first (ROLLED-BACK), never the one that failed.  A compensation or commit that keeps
 * failing after its retries parks the transaction as stuck (STUCK) instead of ending it.
 * Recovery runs the same steps on the transactions the journal still holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "provost/compiler.h"
#include "counters.h"
#include "vm.h"

#define ATTEMPTS 3

static const long backoff_ms[ATTEMPTS] = {0, 20, 200};

static void pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (ms && nanosleep(&ts, &ts) != 0)
        ;
}

/* How the compensations or commits of a transaction end. */
enum settle {
    SETTLED, /* all made: the transaction can end */
    STUCK,   /* one kept failing: parked for an operator */
    LEFT     /* the journal cannot be written: the rest is left to recovery */
};

/* A record that must be durable before anything else is done: tried again like a
 * provider call (a transient error passes), 0 or -1. */
static int mark_durably(pvm_req *r, int type, uint32_t seq)
{
    char why[300];
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        pause_ms(backoff_ms[attempt]);
        if (pvm_journal_mark(r->e->journal, &r->jt, type, seq, why, sizeof why) == 0)
            return 0;
    }
    return -1;
}

/* One phase with its retries; 0, or the last failure's code (description in *desc). */
static uint32_t with_retries(pvm_req *r, pvm_txn_call *t, int phase, char **desc)
{
    uint32_t code = 0;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        pause_ms(backoff_ms[attempt]);
        free(*desc);
        *desc = NULL;
        if (pvm_provider_phase(r, t, phase, &code, desc) == 0)
            return 0;
    }
    return code ? code : PROVOST_E_FAIL;
}

/* What a keyed submission records: "committed|failed|stuck CODE TXID". */
static void outcome_text(const pvm_req *r, const char *status, char *out, size_t cap)
{
    uint32_t code = strcmp(status, "committed") ? r->err.code : 0u;
    size_t ls = strlen(status), lt = strlen(r->txid);
    if (ls + lt + 13 > cap) {
        snprintf(out, cap, "%s 0x%08X %s", status, code, r->txid);
        return;
    }
    /* by hand: snprintf's set-up is most of what ending a short transaction costs */
    memcpy(out, status, ls);
    char *o = out + ls;
    *o++ = ' ';
    *o++ = '0';
    *o++ = 'x';
    for (int shift = 28; shift >= 0; shift -= 4)
        *o++ = "0123456789ABCDEF"[(code >> shift) & 0xF];
    *o++ = ' ';
    memcpy(o, r->txid, lt + 1);
}

/* The transaction stays for an operator; a keyed submission is finished (stuck) in the same
 * write, so that it is never submitted again. */
static void park(pvm_req *r, const pvm_txn_call *t, const char *what, uint32_t code, const char *desc, bool *stuck)
{
    char reason[600], why[300], outcome[80];
    snprintf(reason, sizeof reason, "%s of %s/%s failed %d times: 0x%08X %s", what, t->ns, t->proc, ATTEMPTS, code,
             desc ? desc : "");
    outcome_text(r, "stuck", outcome, sizeof outcome);
    pvm_journal_stuck(r->e->journal, &r->jt, reason, outcome, why, sizeof why);
    *stuck = true;
}

/* Roll back every logged call not rolled back yet, newest first.  A call whose compensation
 * keeps failing holds back every older one: an older step is never undone while a newer
 * one's effect is still there (it may depend on the older one).
 *
 * Each compensation is recorded (ROLLED-BACK) before the next one starts, and none starts
 * while the journal cannot be written: after a failed write of this transaction, only once
 * a ROLLBACK record has gone through.  Otherwise recovery, which cannot know of a
 * compensation the journal never recorded, would make it again.  A record that keeps
 * failing right after a compensation leaves the rest to recovery, which makes that one
 * compensation again -- as after a crash at that moment. */
static enum settle rollback_calls(pvm_req *r)
{
    if (r->jt.broken && mark_durably(r, PVM_J_ROLLBACK, 0) != 0)
        return LEFT;
    for (size_t i = r->ncalls; i-- > 0;) {
        pvm_txn_call *t = &r->calls[i];
        if (t->rolled_back)
            continue;
        char *desc = NULL;
        uint32_t code = with_retries(r, t, PROVOST_PHASE_ROLLBACK, &desc);
        bool stuck = false;
        if (code != 0)
            park(r, t, "rollback", code, desc, &stuck);
        free(desc);
        if (stuck)
            return STUCK;
        t->rolled_back = true;
        if (mark_durably(r, PVM_J_ROLLEDBACK, t->seq) != 0)
            return LEFT;
    }
    return SETTLED;
}

/* Commit every prepared twoPhase call not committed yet, in call order; each commit is
 * recorded before the next, as compensations are. */
static enum settle commit_calls(pvm_req *r)
{
    bool stuck = false;
    for (size_t i = 0; i < r->ncalls; i++) {
        pvm_txn_call *t = &r->calls[i];
        if (t->type != PROVOST_TYPE_TWOPHASE || t->committed)
            continue;
        char *desc = NULL;
        uint32_t code = with_retries(r, t, PROVOST_PHASE_COMMIT, &desc);
        if (code == 0) {
            t->committed = true;
            if (mark_durably(r, PVM_J_COMMITTED, t->seq) != 0) {
                free(desc);
                return LEFT;
            }
        } else {
            park(r, t, "commit", code, desc, &stuck);
        }
        free(desc);
    }
    return stuck ? STUCK : SETTLED;
}

/* The transaction's end, its audit records (audit.c) in the same write. */
static int journal_end(pvm_req *r, bool ok, const char *outcome, char *why, size_t whylen)
{
    pvm_audit_seal(r, ok);
    int rc = pvm_journal_end(r->e->journal, &r->jt, outcome, why, whylen);
    pvm_audit_sealed(r, rc);
    return rc;
}

/* Prepare every twoPhase call in order; false (error raised) when one fails. */
static bool prepare_calls(pvm_req *r)
{
    char why[300];
    for (size_t i = 0; i < r->ncalls; i++) {
        pvm_txn_call *t = &r->calls[i];
        if (t->type != PROVOST_TYPE_TWOPHASE)
            continue;
        uint32_t code = 0;
        char *desc = NULL;
        if (pvm_provider_phase(r, t, PROVOST_PHASE_PREPARE, &code, &desc)) {
            pvm_fail(r, code, "%s", desc ? desc : "prepare failed");
            r->err.seqno = t->exec_id; /* executeSeqNo: the call whose prepare failed */
            pvm_error_push_source(&r->err, t->ns, t->proc);
            free(desc);
            return false;
        }
        t->prepared = true;
        if (pvm_journal_mark(r->e->journal, &r->jt, PVM_J_PREPARED, t->seq, why, sizeof why) != 0) {
            pvm_fail(r, PROVOST_E_JOURNAL, "%s", why);
            return false;
        }
    }
    return true;
}

int pvm_finish(pvm_req *r, bool ok)
{
    char why[300], outcome[80];
    enum settle end;
    bool two = false;
    if (ok)
        ok = prepare_calls(r);
    if (ok) {
        for (size_t i = 0; i < r->ncalls && !two; i++)
            two = r->calls[i].type == PROVOST_TYPE_TWOPHASE;
        if (two && pvm_journal_mark(r->e->journal, &r->jt, PVM_J_COMMIT, 0, why, sizeof why) != 0) {
            pvm_fail(r, PROVOST_E_JOURNAL, "%s", why);
            ok = false;
        }
    }
    if (ok) {
        end = commit_calls(r); /* a commit that keeps failing leaves the transaction in doubt */
        /* nothing is acknowledged before its end is durable */
        outcome_text(r, "committed", outcome, sizeof outcome);
        if (end == SETTLED)
            pvm_queue_finish(r, true); /* before the end: a crash in between repeats it */
        if (end == SETTLED && journal_end(r, true, outcome, why, sizeof why) != 0) {
            if (two) {
                /* the COMMIT decision is durable: the transaction is committed (never rolled
                 * back after its commits); its records stay and recovery ends it */
                end = LEFT;
            } else {
                pvm_fail(r, PROVOST_E_JOURNAL, "the transaction's end could not be journaled: %s", why);
                ok = false;
                end = rollback_calls(r);
                pvm_counters_rolled_back(r->e->counters);
                outcome_text(r, "failed", outcome, sizeof outcome);
                if (end == SETTLED)
                    journal_end(r, false, outcome, why, sizeof why);
            }
        }
    } else {
        end = rollback_calls(r);
        if (r->ncalls)
            pvm_counters_rolled_back(r->e->counters);
        outcome_text(r, "failed", outcome, sizeof outcome);
        pvm_queue_finish(r, false); /* a rolled-back transaction's suspended jobs go */
        if (end == SETTLED)
            journal_end(r, false, outcome, why, sizeof why); /* if lost, recovery ends it */
    }
    /* not settled: stuck (its outcome went with STUCK), or left to recovery, which ends it
     * and records the outcome from the key in BEGIN */
    pvm_deactivate_all(r);
    return ok ? 0 : -1;
}

void pvm_txn_clear(pvm_req *r)
{
    for (size_t i = 0; i < r->ncalls; i++) {
        pvm_txn_call *t = &r->calls[i];
        for (size_t k = 0; k < t->nkv; k++)
            free(t->kv[k]);
        free(t->kv);
        free(t->ns);
        free(t->proc);
        free(t->source);
        if (t->saved)
            xmlFreeDoc(t->saved);
    }
    free(r->calls);
    free(r->active);
    pvm_audit_clear(&r->audit);
    r->calls = NULL;
    r->active = NULL;
    r->ncalls = r->capcalls = r->nactive = r->capactive = 0;
}

/* ---- recovery ------------------------------------------------------------------------ */

/* The failure code a keyed submission ended by recovery records: the one it was parked
 * with (a stuck transaction resolved), else PROVOST_E_ABORTED (the request's own code is
 * not journaled). */
static uint32_t recovered_code(provost_engine *e, const char *key)
{
    char *o = NULL;
    unsigned code = 0;
    if (key && provost_outcome(e, key, &o) == 1 && sscanf(o, "%*s 0x%x", &code) == 1 && code) {
        free(o);
        return code;
    }
    free(o);
    return PROVOST_E_ABORTED;
}

/* Rebuild a journaled transaction as a request whose end is to be run again. */
static int recover_one(provost_engine *e, pvm_catalog *cat, const pvm_jview *v, pvm_recovery *out)
{
    pvm_req r = {.e = e, .cat = cat};
    memcpy(r.txid, v->txid, sizeof r.txid);
    pvm_journal_resume(v, &r.jt);
    if (!v->commit_decided || v->rollback_decided)
        r.err.code = recovered_code(e, r.jt.outcome_key);
    r.calls = calloc(v->ncalls ? v->ncalls : 1, sizeof *r.calls);
    if (!r.calls)
        return -1;
    for (size_t i = 0; i < v->ncalls; i++) {
        const pvm_jcall *c = &v->calls[i];
        if (c->failed)
            continue; /* never rolled back: it did not happen */
        pvm_txn_call *t = &r.calls[r.ncalls++];
        *t = (pvm_txn_call){.provider = pvm_provider_get(e, c->provider), .ns = strdup(c->ns), .proc = strdup(c->proc),
                            .source = strdup(c->provider),
                            .type = c->type, .seq = c->seq, .exec_id = c->exec_id, .in_doubt = !c->done,
                            .prepared = c->prepared, .committed = c->committed, .rolled_back = c->rolled_back};
        if (c->data) {
            provost_xml_error pe;
            t->saved = provost_xml_read(c->data, strlen(c->data), "executeData", NULL, 0, &pe);
        }
        if (c->nkv) {
            t->kv = calloc(c->nkv, sizeof *t->kv);
            for (size_t k = 0; t->kv && k < c->nkv; k++)
                t->kv[t->nkv++] = strdup(c->kv[k]);
        }
        pvm_ns *ns = pvm_catalog_find(cat, c->ns, NULL);
        if (ns && ns->bundle->ns->provider_context != PROVOST_NONE)
            t->provider_context = pvm_literal_doc(ns, ns->bundle->ns->provider_context);
    }
    /* a ROLLBACK after COMMIT: the COMMIT's write was reported failed and the request
     * rolled back, so it never counted */
    bool commit = v->commit_decided && !v->rollback_decided;
    bool settled = (commit ? commit_calls(&r) : rollback_calls(&r)) == SETTLED;
    /* the suspended jobs follow the transaction */
    r.queued = v->nqueued ? calloc(v->nqueued, sizeof *r.queued) : NULL;
    for (size_t i = 0; r.queued && i < v->nqueued; i++)
        if ((r.queued[r.nqueued] = strdup(v->queued[i])))
            r.nqueued++;
    if (settled || !commit)
        pvm_queue_finish(&r, commit);
    pvm_queue_forget(&r);
    char why[300], outcome[80];
    outcome_text(&r, commit ? "committed" : "failed", outcome, sizeof outcome);
    pvm_audit_recovered(&r, cat, v, commit);
    if (settled && journal_end(&r, commit, outcome, why, sizeof why) != 0)
        settled = false;
    pvm_deactivate_all(&r);
    if (!settled)
        out->stuck++;
    else if (commit)
        out->committed++;
    else
        out->rolled_back++;
    pvm_txn_clear(&r);
    return 0;
}

int pvm_recover(provost_engine *e, const char *only_txid, pvm_recovery *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    pvm_jview *v;
    size_t n;
    if (pvm_journal_scan(e->journal, &v, &n, err, errlen) != 0)
        return -1;
    pvm_catalog *cat = pvm_catalog_get(e);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (only_txid ? strcmp(only_txid, v[i].txid) != 0 : v[i].stuck != NULL)
            continue; /* stuck ones wait for an operator (provost txn resolve) */
        if (v[i].error) {
            /* never compensate without the data the compensation needs: the records stay */
            out->stuck++;
            continue;
        }
        rc = recover_one(e, cat, &v[i], out);
    }
    pvm_catalog_put(cat);
    pvm_journal_views_free(v, n);
    if (rc != 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* ---- the operator's view ------------------------------------------------------------ */

int provost_recover(provost_engine *e, provost_recovery *out, provost_error *err)
{
    pvm_recovery r;
    char why[300];
    if (pvm_recover(e, NULL, &r, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (out)
        *out = (provost_recovery){.rolled_back = r.rolled_back, .committed = r.committed, .stuck = r.stuck};
    return 0;
}

int provost_txn_list(provost_engine *e, provost_txn_info **out, size_t *n, provost_error *err)
{
    pvm_jview *v;
    size_t nv;
    char why[300];
    *out = NULL;
    *n = 0;
    if (pvm_journal_scan(e->journal, &v, &nv, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    provost_txn_info *t = calloc(nv ? nv : 1, sizeof *t);
    if (!t) {
        pvm_journal_views_free(v, nv);
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    for (size_t i = 0; i < nv; i++) {
        memcpy(t[i].id, v[i].txid, sizeof t[i].id);
        t[i].client = v[i].client ? strdup(v[i].client) : NULL;
        t[i].began = v[i].began;
        t[i].commit_decided = v[i].commit_decided && !v[i].rollback_decided;
        t[i].stuck = v[i].stuck ? strdup(v[i].stuck) : v[i].error ? strdup(v[i].error) : NULL;
        t[i].steps = calloc(v[i].ncalls ? v[i].ncalls : 1, sizeof *t[i].steps);
        for (size_t k = 0; t[i].steps && k < v[i].ncalls; k++) {
            const pvm_jcall *c = &v[i].calls[k];
            int state = c->rolled_back ? PROVOST_CALL_ROLLEDBACK
                        : c->committed ? PROVOST_CALL_COMMITTED
                        : c->prepared  ? PROVOST_CALL_PREPARED
                        : c->failed    ? PROVOST_CALL_FAILED
                        : c->done      ? PROVOST_CALL_DONE
                                       : PROVOST_CALL_INTENDED;
            t[i].steps[t[i].nsteps++] = (provost_txn_step){.ns = strdup(c->ns), .proc = strdup(c->proc),
                                                           .type = c->type, .exec_id = c->exec_id, .state = state};
        }
    }
    pvm_journal_views_free(v, nv);
    *out = t;
    *n = nv;
    return 0;
}

void provost_txn_info_free(provost_txn_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        for (size_t k = 0; k < v[i].nsteps; k++) {
            free(v[i].steps[k].ns);
            free(v[i].steps[k].proc);
        }
        free(v[i].steps);
        free(v[i].client);
        free(v[i].stuck);
    }
    free(v);
}

int provost_txn_resolve(provost_engine *e, const char *id, int how, provost_error *err)
{
    pvm_jview *v;
    size_t nv;
    char why[300];
    if (pvm_journal_scan(e->journal, &v, &nv, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    bool found = false;
    char unreadable[300] = "", outcome[80];
    int rc = 0;
    for (size_t i = 0; i < nv; i++)
        if (strcmp(v[i].txid, id) == 0) {
            found = true;
            if (how == PROVOST_RESOLVE_ROLLEDBACK) {
                /* compensated by hand: the end, and a keyed submission's outcome with it */
                pvm_req r = {.e = e};
                memcpy(r.txid, v[i].txid, sizeof r.txid);
                pvm_journal_resume(&v[i], &r.jt);
                r.err.code = recovered_code(e, r.jt.outcome_key);
                outcome_text(&r, "failed", outcome, sizeof outcome);
                pvm_audit_recovered(&r, NULL, &v[i], false);
                rc = journal_end(&r, false, outcome, why, sizeof why);
                pvm_audit_clear(&r.audit);
            }
            if (v[i].error)
                snprintf(unreadable, sizeof unreadable,
                         "cannot retry without the journaled data the compensation needs (%s): the records are "
                         "kept; restore the database's own master.key, or compensate by hand and resolve "
                         "--rolled-back",
                         v[i].error);
        }
    pvm_journal_views_free(v, nv);
    if (!found)
        return pvm_api_fail(err, PROVOST_E_NOTFOUND, "no such transaction in the journal");
    if (how == PROVOST_RESOLVE_ROLLEDBACK)
        return rc == 0 ? 0 : pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (unreadable[0])
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", unreadable);
    pvm_recovery r;
    if (pvm_recover(e, id, &r, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (r.stuck)
        return pvm_api_fail(err, PROVOST_E_FAIL, "the retry failed again: the transaction is still stuck");
    return 0;
}
