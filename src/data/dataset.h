/*
 * dataset.h - a labelled dataset held in memory: n rows of dim float32
 * features (row-major [n, dim]) and one integer label in [0, n_classes) per
 * row. Datasets are immutable once made; splits and per-task subsets are
 * new datasets (copies), so each can be freed on its own.
 *
 *     struct mtg_dataset *all, *train, *held, *three;
 *     mtg_data_digits_load("data/digits.csv.gz", &all, &err);         // digits.h
 *     mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, &err);
 *     mtg_data_class_subset(train, 3, &three, &err);                   // task "digit-3"
 *     mtg_data_batch(mtg_data_x(three), mtg_data_n(three), 64, 64, &rng, batch);
 *     mtg_data_free(three); mtg_data_free(held); mtg_data_free(train); mtg_data_free(all);
 */
#ifndef MTG_DATA_DATASET_H
#define MTG_DATA_DATASET_H

#include <stddef.h>

struct mtg_err;
struct mtg_dataset;

/* Held-out share of mtg_data_split(): every 5th sample of each class (≈ 20 %). */
#define MTG_DATA_HELDOUT_EVERY 5
/* Upper bounds that keep n * dim and allocation sizes far from int overflow. */
#define MTG_DATA_MAX_ROWS 10000000
#define MTG_DATA_MAX_DIM 65536
#define MTG_DATA_MAX_CLASSES 4096

/*
 * Copies x [n, dim] and labels [n] (labels may be NULL: all rows get label 0)
 * into a new dataset. Every label must lie in [0, n_classes). n may be 0.
 * Caller frees *out with mtg_data_free(). 0 or MTG_EINVAL / MTG_ERANGE /
 * MTG_ENOMEM with err filled.
 */
int mtg_data_from_array(const float *x, const int *labels, int n, int dim, int n_classes,
                        struct mtg_dataset **out, struct mtg_err *err);
/*
 * Same from bytes, as IDX files hold them: x = px / scale (scale > 0, e.g.
 * 255 for [0, 1]) for px [n, dim], and labels [n] (NULL: all 0) in
 * [0, n_classes). Converts straight into the dataset: no float copy on the side.
 */
int mtg_data_from_u8(const unsigned char *px, const unsigned char *labels, int n, int dim,
                     int n_classes, float scale, struct mtg_dataset **out, struct mtg_err *err);
/* Frees ds and its arrays; NULL is a no-op. */
void mtg_data_free(struct mtg_dataset *ds);

int mtg_data_n(const struct mtg_dataset *ds);
int mtg_data_dim(const struct mtg_dataset *ds);
int mtg_data_n_classes(const struct mtg_dataset *ds);
/* Rows [n, dim] and labels [n], owned by ds and valid until mtg_data_free(ds). */
const float *mtg_data_x(const struct mtg_dataset *ds);
const int *mtg_data_labels(const struct mtg_dataset *ds);
/* Row i (0 <= i < n), owned by ds. */
const float *mtg_data_row(const struct mtg_dataset *ds, int i);
/* Number of rows with label (0 when label is out of range). */
int mtg_data_class_count(const struct mtg_dataset *ds, int label);

/*
 * New dataset of rows idx[0..n) of ds, in that order (indices may repeat).
 * Caller frees *out. MTG_ERANGE names the first index outside [0, n(ds)).
 */
int mtg_data_subset(const struct mtg_dataset *ds, const int *idx, int n,
                    struct mtg_dataset **out, struct mtg_err *err);

/*
 * Indices (into ds, ascending) of the rows with this label: the per-task
 * sample list that mtg_data_partition_new() takes. *idx is malloc'd and
 * owned by the caller (free()); it is NULL when *n is 0.
 */
int mtg_data_class_indices(const struct mtg_dataset *ds, int label, int **idx, int *n,
                           struct mtg_err *err);

/* New dataset of the rows with this label (the per-task view). Caller frees *out. */
int mtg_data_class_subset(const struct mtg_dataset *ds, int label, struct mtg_dataset **out,
                          struct mtg_err *err);

/*
 * Fixed per-class train/held-out split: within each class, in row order, the
 * k-th sample (k = 0, 1, ...) is held out when k % every == every - 1, so
 * every = 5 holds out ≈ 20 % of each class. No randomness: the same file
 * gives the same split on every machine and in every process (server, edges
 * and `mtgan eval` must agree on what "held-out" means). every >= 2.
 * Caller frees *train and *heldout.
 */
int mtg_data_split(const struct mtg_dataset *ds, int every, struct mtg_dataset **train,
                   struct mtg_dataset **heldout, struct mtg_err *err);

/*
 * New dataset of the first limit rows of each class, in row order (all rows
 * of a class that has fewer; limit 0 = every row). Caller frees *out.
 */
int mtg_data_first_per_class(const struct mtg_dataset *ds, int limit, struct mtg_dataset **out,
                             struct mtg_err *err);

/*
 * Dataset selection: the kinds of data.dataset, by the same names. Values
 * follow enum mtg_cfg_dataset (digits 0, ring 1); only ever append.
 */
enum mtg_data_kind { MTG_DATA_KIND_DIGITS = 0, MTG_DATA_KIND_RING = 1, MTG_DATA_KIND_FASHION = 2 };
/* MTG_DATA_ALL (digits only): every row of a file that is already a
 * training split, such as the one a Sedna LocalController writes. */
enum mtg_data_split { MTG_DATA_TRAIN = 0, MTG_DATA_TEST = 1, MTG_DATA_ALL = 2 };

struct mtg_data_kind_info {
    const char *name;        /* "digits", "ring", "fashion-mnist" */
    const char *task_prefix; /* task of class c is "<prefix>-<c>"; the ring's one task is "ring" */
    int side;                /* images are side x side; 0 for the ring */
    int dim;                 /* features per row: 64, 2, 784 */
    int n_classes;           /* tasks: 10, 1, 10 */
};

/* Static description of kind; NULL for an unknown kind. */
const struct mtg_data_kind_info *mtg_data_kind_info(int kind);
/*
 * The class of task id under kind: "<task_prefix>-<c>" with c a decimal
 * class in [0, n_classes) and nothing after ("digit-3" -> 3 for digits,
 * "fashion-3" -> 3 for fashion-mnist); -1 for any other id (the ring's,
 * a lifelong "new-..." task, another dataset's).
 */
int mtg_data_kind_task_label(int kind, const char *task_id);
/* "<task_prefix>-<label>" into buf[n]: 0, or MTG_ERANGE (no such class, buf too small). */
int mtg_data_kind_task_id(int kind, int label, char *buf, size_t n);
/* Kind named name ("fashion-mnist" ...) into *kind; MTG_EINVAL lists the names. */
int mtg_data_kind_parse(const char *name, int *kind, struct mtg_err *err);

/*
 * Loads split of a file-backed image kind, at most limit_per_class rows per
 * class (0 = all; see mtg_data_first_per_class). digits: path is the CSV
 * (digits.h) and the splits are mtg_data_split(MTG_DATA_HELDOUT_EVERY)'s
 * train and held-out parts; fashion-mnist: path is the directory of the IDX
 * files (NULL or "" = the Debian package's, see fashion.h) and the splits
 * are the published 60k/10k. The ring is sampled, not loaded: MTG_EINVAL.
 * Caller frees *out.
 */
int mtg_data_load(int kind, const char *path, int split, int limit_per_class,
                  struct mtg_dataset **out, struct mtg_err *err);

#endif
