/*
 * fashion.h - loader for Fashion-MNIST (Xiao, Rasul and Vollgraf 2017,
 * Zalando; MIT licence): 28x28 grayscale article images in 10 classes,
 * 60,000 for training and 10,000 for testing. mtgan reads the IDX files of
 * the Debian package dataset-fashion-mnist (idx.h), so nothing is fetched at
 * run time. Pixels 0..255 are scaled to [0, 1] by /255 so they match G's
 * sigmoid output; class c is task "fashion-c".
 *
 *     struct mtg_dataset *test;
 *     if (mtg_data_fashion_load(NULL, MTG_DATA_TEST, 0, &test, &err) != MTG_OK)
 *         fprintf(stderr, "%s\n", err.msg);   // names the package if it is missing
 *     // mtg_data_n(test) == 10000, mtg_data_dim(test) == 784, 1000 per class
 *     mtg_data_fashion_label_name(mtg_data_labels(test)[0]);   // "Ankle boot"
 *     mtg_data_free(test);
 */
#ifndef MTG_DATA_FASHION_H
#define MTG_DATA_FASHION_H

#include <stddef.h>

#include "data/dataset.h" /* enum mtg_data_split */

struct mtg_err;
struct mtg_dataset;

/* Where the Debian package puts the files, and its name (for error messages). */
#define MTG_DATA_FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define MTG_DATA_FASHION_PACKAGE "dataset-fashion-mnist"
#define MTG_DATA_FASHION_SIDE 28
#define MTG_DATA_FASHION_DIM (MTG_DATA_FASHION_SIDE * MTG_DATA_FASHION_SIDE)
#define MTG_DATA_FASHION_CLASSES 10
#define MTG_DATA_FASHION_TASK_PREFIX "fashion"

/*
 * Loads split (MTG_DATA_TRAIN: train-*-ubyte, MTG_DATA_TEST: t10k-*-ubyte)
 * from dir (NULL or "" = MTG_DATA_FASHION_DIR); each file is taken as
 * <name>.gz or, failing that, uncompressed <name>. limit_per_class > 0 keeps
 * the first that many images of each class in file order (0 = all). The
 * image and label files must agree on the count, images must be 28x28 and
 * labels in 0..9. Caller frees *out with mtg_data_free(). Errors as
 * mtg_data_idx_read(); a missing file is MTG_ENOTFOUND with a message that
 * names the package and data.path.
 */
int mtg_data_fashion_load(const char *dir, int split, int limit_per_class,
                          struct mtg_dataset **out, struct mtg_err *err);

/*
 * The labels of split alone (one small file), for deciding which images
 * to keep before reading them: *labels is malloc'd (caller free()s it),
 * *n items, each in 0..9. Errors as mtg_data_fashion_load.
 */
int mtg_data_fashion_labels(const char *dir, int split, unsigned char **labels, int *n,
                            struct mtg_err *err);

/*
 * Loads the items i of split with keep[i] != 0, in file order; keep has one
 * entry per item (n_keep must equal the split's item count, as
 * mtg_data_fashion_labels reports it, else MTG_EINVAL). Only the kept rows
 * are converted to float: an edge holding a few classes of the 60k-image
 * train split never holds the whole split as floats. Caller frees *out.
 */
int mtg_data_fashion_load_rows(const char *dir, int split, const unsigned char *keep, int n_keep,
                               struct mtg_dataset **out, struct mtg_err *err);

/*
 * Checks, without reading them, that the four IDX files of both splits are
 * readable in dir (NULL or "" = MTG_DATA_FASHION_DIR), as <name>.gz or
 * <name>: a configuration check a program runs before it starts work.
 * 0, or MTG_ENOTFOUND with the message mtg_data_fashion_load would give
 * (naming the file, the package and data.path).
 */
int mtg_data_fashion_check(const char *dir, struct mtg_err *err);

/* English name of class label ("T-shirt/top" ... "Ankle boot"); NULL outside 0..9. */
const char *mtg_data_fashion_label_name(int label);

/*
 * Writes the task id of label, "fashion-<label>", into buf[n]. 0, or
 * MTG_ERANGE for a label outside 0..9 or a buf too small.
 */
int mtg_data_fashion_task_id(int label, char *buf, size_t n);

/* Label of a task id "fashion-0" .. "fashion-9"; -1 for anything else. */
int mtg_data_fashion_task_label(const char *task_id);

#endif
