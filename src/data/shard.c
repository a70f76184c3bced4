#include "data/shard.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/fashion.h"

/* The wanted-class test of cfg: every class when the list is empty. */
static int wanted(const struct mtg_data_shard_cfg *cfg, int c)
{
    if (cfg->n_classes == 0)
        return 1;
    for (int i = 0; i < cfg->n_classes; i++)
        if (cfg->classes[i] == c)
            return 1;
    return 0;
}

/*
 * keep[i] = 1 for the rows of the shard, given the labels [n] of the whole
 * train split: numbers each class's rows in split order, keeps the first
 * limit of them as the universe, partitions those numbers, and marks the
 * rows behind the shard's numbers of each wanted class.
 */
static int select_rows(const struct mtg_data_shard_cfg *cfg, int n_classes, const int *labels, int n,
                       unsigned char *keep, struct mtg_err *err)
{
    int rc = MTG_OK;
    struct mtg_partition *p = NULL;
    int *count = calloc((size_t)n_classes, sizeof *count);
    int *seen = calloc((size_t)n_classes, sizeof *seen);
    int *off = calloc((size_t)n_classes + 1, sizeof *off);
    int *row_of = malloc(((size_t)n + 1) * sizeof *row_of);
    int *iota = malloc(((size_t)n + 1) * sizeof *iota);
    const int **task_idx = calloc((size_t)n_classes, sizeof *task_idx);
    int *pos = calloc((size_t)n_classes, sizeof *pos);
    int *present_count = calloc((size_t)n_classes, sizeof *present_count);
    if (!count || !seen || !off || !row_of || !iota || !task_idx || !pos || !present_count) {
        rc = mtg_err_set(err, MTG_ENOMEM, "shard: out of memory for %d rows", n);
        goto done;
    }
    for (int i = 0; i < n; i++)
        count[labels[i]]++;
    for (int c = 0; c < n_classes; c++) {
        if (cfg->limit_per_class > 0 && count[c] > cfg->limit_per_class)
            count[c] = cfg->limit_per_class;
        off[c + 1] = off[c] + count[c];
    }
    /* row_of[off[c] + k] = the row of the k-th sample of class c (within the universe). */
    for (int i = 0; i < n; i++) {
        int c = labels[i];
        if (seen[c] < count[c])
            row_of[off[c] + seen[c]++] = i;
    }
    for (int i = 0; i < n; i++)
        iota[i] = i;
    /* Only the classes the file has rows of are dealt (all of them in a
     * whole dataset; a Sedna training split may hold a few): pos[c] is
     * class c's task in the partition, -1 when absent. */
    int n_present = 0;
    for (int c = 0; c < n_classes; c++) {
        pos[c] = count[c] > 0 ? n_present : -1;
        if (count[c] > 0) {
            task_idx[n_present] = iota;
            present_count[n_present++] = count[c];
        }
    }
    if (n_present == 0) {
        rc = mtg_err_set(err, MTG_EINVAL, "shard: the data has no rows");
        goto done;
    }
    rc = mtg_data_partition_new(&cfg->part, n_present, task_idx, present_count, &p, err);
    if (rc != MTG_OK) {
        mtg_err_wrap(err, "shard");
        goto done;
    }
    memset(keep, 0, (size_t)n);
    for (int c = 0; c < n_classes; c++) {
        if (!wanted(cfg, c) || pos[c] < 0)
            continue;
        int m = 0;
        const int *ks = mtg_data_partition_samples(p, cfg->shard, pos[c], &m);
        for (int j = 0; j < m; j++)
            keep[row_of[off[c] + ks[j]]] = 1;
    }
done:
    mtg_data_partition_free(p);
    free(count);
    free(seen);
    free(off);
    free(row_of);
    free(iota);
    free(task_idx);
    free(pos);
    free(present_count);
    return rc;
}

int mtg_data_shard_load(const struct mtg_data_shard_cfg *cfg, struct mtg_dataset **out,
                        struct mtg_err *err)
{
    if (!cfg || !out || (cfg->n_classes > 0 && !cfg->classes))
        return mtg_err_set(err, MTG_EINVAL, "shard: NULL argument");
    *out = NULL;
    const struct mtg_data_kind_info *info = mtg_data_kind_info(cfg->kind);
    if (!info || info->side == 0)
        return mtg_err_set(err, MTG_EINVAL, "shard: dataset %s is not a file-backed image set",
                           info ? info->name : "(unknown)");
    if (cfg->shard < 0 || cfg->shard >= cfg->part.n_edges)
        return mtg_err_set(err, MTG_ERANGE, "shard: edge index %d outside [0, %d)", cfg->shard,
                           cfg->part.n_edges);
    if (cfg->limit_per_class < 0)
        return mtg_err_set(err, MTG_EINVAL, "shard: per-class limit %d, need >= 0", cfg->limit_per_class);
    if (cfg->split != MTG_DATA_TRAIN && (cfg->split != MTG_DATA_ALL || cfg->kind != MTG_DATA_KIND_DIGITS))
        return mtg_err_set(err, MTG_EINVAL, "shard: split %d; only digits may be read whole", cfg->split);
    struct mtg_dataset *train = NULL;
    unsigned char *lab8 = NULL, *keep = NULL;
    int *labels = NULL, *idx = NULL, n = 0, rc;
    if (cfg->kind == MTG_DATA_KIND_FASHION) {
        rc = mtg_data_fashion_labels(cfg->path, MTG_DATA_TRAIN, &lab8, &n, err);
        if (rc == MTG_OK && !(labels = malloc(((size_t)n + 1) * sizeof *labels)))
            rc = mtg_err_set(err, MTG_ENOMEM, "shard: out of memory for %d labels", n);
        for (int i = 0; rc == MTG_OK && i < n; i++)
            labels[i] = lab8[i];
    } else {
        /* Digits are small (1,797 rows): the split is loaded whole, then subset. */
        rc = mtg_data_load(cfg->kind, cfg->path, cfg->split, 0, &train, err);
        n = rc == MTG_OK ? mtg_data_n(train) : 0;
    }
    if (rc == MTG_OK && !(keep = malloc((size_t)n + 1)))
        rc = mtg_err_set(err, MTG_ENOMEM, "shard: out of memory for %d rows", n);
    if (rc == MTG_OK)
        rc = select_rows(cfg, info->n_classes, train ? mtg_data_labels(train) : labels, n, keep, err);
    if (rc == MTG_OK && cfg->kind == MTG_DATA_KIND_FASHION) {
        rc = mtg_data_fashion_load_rows(cfg->path, MTG_DATA_TRAIN, keep, n, out, err);
    } else if (rc == MTG_OK) {
        int k = 0;
        if (!(idx = malloc(((size_t)n + 1) * sizeof *idx)))
            rc = mtg_err_set(err, MTG_ENOMEM, "shard: out of memory for %d rows", n);
        for (int i = 0; rc == MTG_OK && i < n; i++)
            if (keep[i])
                idx[k++] = i;
        if (rc == MTG_OK)
            rc = mtg_data_subset(train, idx, k, out, err);
    }
    mtg_data_free(train);
    free(lab8);
    free(labels);
    free(keep);
    free(idx);
    return rc;
}
