/*
 * wrun.h -- a cluster worker's local side (wrun.c): the namespaces it loaded from the
 * cluster, and running one claimed job through its engine.
 */
#ifndef PCL_WRUN_H
#define PCL_WRUN_H

#include "pcl.h"

typedef struct wrun_bundles {
    char **ns;
    uint64_t *rev;
    size_t n;
} wrun_bundles;

/* Registers in o->engine every namespace whose revision in the cluster is newer than the
 * one known (and remembers it); *loaded counts them.  0, or -1 with err. */
int wrun_load_bundles(PGconn *pg, const provost_cluster_worker_options *o, wrun_bundles *known, size_t *loaded,
                      provost_error *err);
void wrun_bundles_free(wrun_bundles *b);
/* Runs the job through the engine and fills its outcome (status, code, description,
 * response, txid); cluster: the cluster's id, part of the job's outcome key. */
void wrun_job(provost_engine *e, const char *cluster, pcl_job *j);
/* A job whose transaction was left unfinished (j->left: its journal write failed): the
 * engine's recovery finishes it now, and the job's outcome is the one recovery recorded.
 * 0, or -1 (the journal still fails: try again later, or leave it to a takeover). */
int wrun_settle(provost_engine *e, const char *cluster, pcl_job *j, provost_error *err);

#endif
