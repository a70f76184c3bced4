/*
 * sedna_pod_edges.c - the train stage's own edges (sedna_pod_edges.h).
 *
 * Sedna creates one train pod per round, with hostNetwork and a random
 * name, and tells nobody else about it: an edge DaemonSet cannot find it
 * without a per-round Service, and the samples the LC split out for the
 * round are mounted into this pod only. So the pod trains them itself, as
 * `mtgan demo` does: mtgan-edge processes on 127.0.0.1, each holding a
 * share of the split (the seeded non-IID partition every process computes
 * alike), against the server in this process.
 */
#include "sedna/sedna_pod_edges.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "data/dataset.h"
#include "launch/launch.h"

/* The split as a digits file (64 pixels 0..16, label), what data.path reads. */
static int write_split(const struct mtg_dataset *ds, const char *path, struct mtg_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mtg_err_set(err, MTG_EIO, "sedna edges: cannot create %s: %s", path, strerror(errno));
    int dim = mtg_data_dim(ds);
    for (int i = 0; i < mtg_data_n(ds); i++) {
        const float *x = mtg_data_row(ds, i);
        for (int j = 0; j < dim; j++)
            fprintf(f, "%d,", (int)lrintf(x[j] * 16.0f)); /* the loader scaled by 1/16: exact */
        fprintf(f, "%d\n", mtg_data_labels(ds)[i]);
    }
    if (ferror(f) | (fclose(f) != 0))
        return mtg_err_set(err, MTG_EIO, "sedna edges: cannot write %s", path);
    return MTG_OK;
}

int mtg_sedna_pod_edges_start(const struct mtg_cfg *cfg, const struct mtg_dataset *split,
                              const char *work_dir, unsigned port, struct mtg_launch **out,
                              struct mtg_err *err)
{
    *out = NULL;
    if (cfg->sedna_edges < 1)
        return mtg_err_set(err, MTG_EINVAL, "sedna edges: sedna_edges is %d", cfg->sedna_edges);
    struct mtg_cfg *ec = malloc(sizeof *ec);
    if (!ec)
        return mtg_err_set(err, MTG_ENOMEM, "sedna edges: out of memory");
    *ec = *cfg;
    ec->sedna = false;
    ec->n_edges = cfg->sedna_edges;
    ec->n_edge_profiles = 0; /* every edge at full speed: they share the pod's CPUs */
    ec->data.holdout = false; /* the LC already kept its eval samples apart */
    ec->data.limit_per_class = 0;
    /* Every edge holds every task of the split: they share one node, the
     * point is parallel compute, not non-IID placement. */
    ec->data.partition.tasks_per_edge_min = 256;
    ec->data.partition.tasks_per_edge_max = 256;
    int rc = MTG_OK;
    if (snprintf(ec->data.path, sizeof ec->data.path, "%s/train-split.csv", work_dir) >=
        (int)sizeof ec->data.path)
        rc = mtg_err_set(err, MTG_ERANGE, "sedna edges: work dir %s is too long", work_dir);
    if (rc == MTG_OK)
        rc = write_split(split, ec->data.path, err);
    struct mtg_launch *l = NULL;
    if (rc == MTG_OK)
        rc = mtg_launch_new(ec, work_dir, &l, err);
    if (rc == MTG_OK)
        rc = mtg_launch_edges(l, port, err);
    if (rc == MTG_OK) {
        mtg_log(MTG_LOG_INFO, "sedna", "%d in-pod edges on %d training rows (logs %s/edge-*.log)",
                ec->n_edges, mtg_data_n(split), work_dir);
        *out = l;
    } else {
        mtg_launch_free(l);
    }
    free(ec);
    return rc;
}
