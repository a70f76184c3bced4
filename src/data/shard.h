/*
 * shard.h - one edge's share of an image dataset's train split: the rows
 * that the seeded non-IID partition (partition.h) deals to edge `shard`,
 * for the classes the edge is asked to train. Every process computes the
 * same partition from the same settings, so nothing is shipped.
 *
 *     struct mtg_data_shard_cfg sc = {.kind = MTG_DATA_KIND_FASHION, .path = NULL,
 *                                     .limit_per_class = 100, .shard = 1};
 *     mtg_data_partition_cfg_default(&sc.part);        // 4 edges, 4..6 classes each
 *     struct mtg_dataset *mine;
 *     mtg_data_shard_load(&sc, &mine, &err);            // rows of edge 1, labels = classes
 *     ... mtg_data_class_subset(mine, c, &task, &err) for each class with rows ...
 *     mtg_data_free(mine);
 *
 * The universe that is partitioned is the first limit_per_class rows of each
 * class of the train split (all with 0), so a limit makes every edge's share
 * smaller alike. Within a class, samples are numbered by their order in the
 * split, and the partition deals those numbers: the result is the one
 * mtg_data_partition_by_class gives on that universe as a dataset. For
 * Fashion-MNIST only the label file is read to decide, and then only the
 * shard's images are converted: an edge never holds the 60k-image split.
 */
#ifndef MTG_DATA_SHARD_H
#define MTG_DATA_SHARD_H

#include "data/partition.h"

struct mtg_err;
struct mtg_dataset;

struct mtg_data_shard_cfg {
    int kind;                     /* enum mtg_data_kind: digits or fashion-mnist */
    const char *path;             /* as mtg_data_load's path */
    int limit_per_class;          /* >= 0; 0 = every row */
    struct mtg_partition_cfg part; /* over all classes of the kind */
    int shard;                    /* 0 <= shard < part.n_edges */
    const int *classes;           /* classes wanted (NULL with n_classes 0 = all) */
    int n_classes;
    int split;                    /* MTG_DATA_TRAIN (0) or, digits only, MTG_DATA_ALL */
};

/*
 * The shard's rows of the wanted classes that the edge holds, in split
 * order; labels are the classes. An edge holding none of the wanted classes gets an empty
 * dataset. Caller frees *out with mtg_data_free(). Errors from loading
 * (naming the file) or partitioning; MTG_EINVAL for a kind without files.
 */
int mtg_data_shard_load(const struct mtg_data_shard_cfg *cfg, struct mtg_dataset **out,
                        struct mtg_err *err);

#endif
