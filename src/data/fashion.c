#include "data/fashion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/idx.h"

#define FASHION_PATH_MAX 4096

/* The order of the labels in the files (Fashion-MNIST README, "Labels"). */
static const char *const label_names[MTG_DATA_FASHION_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

/* File stems of each split, images then labels, as published and as Debian ships them (+ ".gz"). */
static const char *const stems[2][2] = {
    [MTG_DATA_TRAIN] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
    [MTG_DATA_TEST] = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
};

/* The two names a file may have: dir/stem.gz and dir/stem. */
static int file_names(const char *dir, const char *stem, char *gz, char *plain, struct mtg_err *err)
{
    int n1 = snprintf(gz, FASHION_PATH_MAX, "%s/%s.gz", dir, stem);
    int n2 = snprintf(plain, FASHION_PATH_MAX, "%s/%s", dir, stem);
    if (n1 < 0 || n1 >= FASHION_PATH_MAX || n2 < 0 || n2 >= FASHION_PATH_MAX)
        return mtg_err_set(err, MTG_ERANGE, "fashion-mnist: directory name too long (data.path)");
    return MTG_OK;
}

static int missing(const char *gz, struct mtg_err *err)
{
    return mtg_err_set(err, MTG_ENOTFOUND,
                       "%s: no such file: install the Debian package " MTG_DATA_FASHION_PACKAGE
                       " or set data.path to the directory of the Fashion-MNIST IDX files",
                       gz);
}

/*
 * Reads dir/stem.gz, or dir/stem when there is no .gz (someone unpacked the
 * files). A missing file is reported under its .gz name with the way to get it.
 */
static int read_one(const char *dir, const char *stem, int rank, struct mtg_idx *out,
                    struct mtg_err *err)
{
    char gz[FASHION_PATH_MAX], plain[FASHION_PATH_MAX];
    int rc = file_names(dir, stem, gz, plain, err);
    if (rc != MTG_OK)
        return rc;
    rc = mtg_data_idx_read(gz, rank, out, err);
    if (rc != MTG_ENOTFOUND)
        return rc;
    rc = mtg_data_idx_read(plain, rank, out, err);
    if (rc != MTG_ENOTFOUND)
        return rc;
    return missing(gz, err);
}

int mtg_data_fashion_check(const char *dir, struct mtg_err *err)
{
    if (!dir || !dir[0])
        dir = MTG_DATA_FASHION_DIR;
    for (int split = 0; split < 2; split++)
        for (int k = 0; k < 2; k++) {
            char gz[FASHION_PATH_MAX], plain[FASHION_PATH_MAX];
            int rc = file_names(dir, stems[split][k], gz, plain, err);
            if (rc != MTG_OK)
                return rc;
            if (access(gz, R_OK) != 0 && access(plain, R_OK) != 0)
                return missing(gz, err);
        }
    return MTG_OK;
}

/*
 * Keeps the first limit rows of each class, moving kept rows down in place
 * (kept row k comes from row i >= k, so nothing is overwritten before it is
 * read). Returns the number of rows kept.
 */
static int keep_first_per_class(unsigned char *px, unsigned char *labels, int n, int limit)
{
    int seen[MTG_DATA_FASHION_CLASSES] = {0};
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (seen[labels[i]]++ >= limit)
            continue;
        if (k != i) {
            memmove(px + (size_t)k * MTG_DATA_FASHION_DIM, px + (size_t)i * MTG_DATA_FASHION_DIM,
                    MTG_DATA_FASHION_DIM);
            labels[k] = labels[i];
        }
        k++;
    }
    return k;
}

int mtg_data_fashion_load(const char *dir, int split, int limit_per_class,
                          struct mtg_dataset **out, struct mtg_err *err)
{
    struct mtg_idx img = {0}, lab = {0};
    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: NULL argument");
    *out = NULL;
    if (split != MTG_DATA_TRAIN && split != MTG_DATA_TEST)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: split %d is neither train nor test",
                           split);
    if (limit_per_class < 0)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: per-class limit %d, need >= 0",
                           limit_per_class);
    if (!dir || !dir[0])
        dir = MTG_DATA_FASHION_DIR;
    const char *img_stem = stems[split][0], *lab_stem = stems[split][1];

    /* Labels first: they are small, and a missing package shows up before a 26 MB read. */
    int rc = read_one(dir, lab_stem, 1, &lab, err);
    if (rc == MTG_OK)
        rc = read_one(dir, img_stem, 3, &img, err);
    if (rc != MTG_OK)
        goto done;
    if (img.dims[1] != MTG_DATA_FASHION_SIDE || img.dims[2] != MTG_DATA_FASHION_SIDE) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: images are %dx%d, expected %dx%d", img_stem,
                         img.dims[1], img.dims[2], MTG_DATA_FASHION_SIDE, MTG_DATA_FASHION_SIDE);
        goto done;
    }
    int n = img.dims[0];
    if (lab.dims[0] != n) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: %d labels for %d images in %s", lab_stem,
                         lab.dims[0], n, img_stem);
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (lab.data[i] >= MTG_DATA_FASHION_CLASSES) {
            rc = mtg_err_set(err, MTG_EFORMAT, "%s: label %d of item %d outside [0, %d)",
                             lab_stem, lab.data[i], i, MTG_DATA_FASHION_CLASSES);
            goto done;
        }
    if (limit_per_class > 0)
        n = keep_first_per_class(img.data, lab.data, n, limit_per_class);
    rc = mtg_data_from_u8(img.data, lab.data, n, MTG_DATA_FASHION_DIM, MTG_DATA_FASHION_CLASSES,
                          255.0f, out, err);
done:
    mtg_data_idx_deinit(&img);
    mtg_data_idx_deinit(&lab);
    return rc;
}

static int check_split(int split, struct mtg_err *err)
{
    if (split != MTG_DATA_TRAIN && split != MTG_DATA_TEST)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: split %d is neither train nor test", split);
    return MTG_OK;
}

/* Every label in 0..9 (the label file is data: it is checked, not trusted). */
static int check_labels(const struct mtg_idx *lab, const char *stem, struct mtg_err *err)
{
    for (int i = 0; i < lab->dims[0]; i++)
        if (lab->data[i] >= MTG_DATA_FASHION_CLASSES)
            return mtg_err_set(err, MTG_EFORMAT, "%s: label %d of item %d outside [0, %d)", stem,
                               lab->data[i], i, MTG_DATA_FASHION_CLASSES);
    return MTG_OK;
}

int mtg_data_fashion_labels(const char *dir, int split, unsigned char **labels, int *n,
                            struct mtg_err *err)
{
    struct mtg_idx lab = {0};
    if (!labels || !n)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: NULL argument");
    *labels = NULL;
    *n = 0;
    int rc = check_split(split, err);
    if (rc != MTG_OK)
        return rc;
    if (!dir || !dir[0])
        dir = MTG_DATA_FASHION_DIR;
    rc = read_one(dir, stems[split][1], 1, &lab, err);
    if (rc == MTG_OK)
        rc = check_labels(&lab, stems[split][1], err);
    if (rc != MTG_OK) {
        mtg_data_idx_deinit(&lab);
        return rc;
    }
    *labels = lab.data; /* ownership passes to the caller */
    *n = lab.dims[0];
    return MTG_OK;
}

int mtg_data_fashion_load_rows(const char *dir, int split, const unsigned char *keep, int n_keep,
                               struct mtg_dataset **out, struct mtg_err *err)
{
    struct mtg_idx img = {0}, lab = {0};
    if (!out || !keep)
        return mtg_err_set(err, MTG_EINVAL, "fashion-mnist: NULL argument");
    *out = NULL;
    int rc = check_split(split, err);
    if (rc != MTG_OK)
        return rc;
    if (!dir || !dir[0])
        dir = MTG_DATA_FASHION_DIR;
    const char *img_stem = stems[split][0], *lab_stem = stems[split][1];
    rc = read_one(dir, lab_stem, 1, &lab, err);
    if (rc == MTG_OK)
        rc = check_labels(&lab, lab_stem, err);
    if (rc == MTG_OK && lab.dims[0] != n_keep)
        rc = mtg_err_set(err, MTG_EINVAL, "fashion-mnist: %d keep flags for the %d items of %s", n_keep,
                         lab.dims[0], lab_stem);
    if (rc == MTG_OK)
        rc = read_one(dir, img_stem, 3, &img, err);
    if (rc != MTG_OK)
        goto done;
    if (img.dims[0] != n_keep || img.dims[1] != MTG_DATA_FASHION_SIDE || img.dims[2] != MTG_DATA_FASHION_SIDE) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: %d images of %dx%d, expected %d of %dx%d", img_stem,
                         img.dims[0], img.dims[1], img.dims[2], n_keep, MTG_DATA_FASHION_SIDE,
                         MTG_DATA_FASHION_SIDE);
        goto done;
    }
    /* Kept rows move down in place (row k comes from item i >= k), as in keep_first_per_class. */
    int k = 0;
    for (int i = 0; i < n_keep; i++) {
        if (!keep[i])
            continue;
        if (k != i) {
            memmove(img.data + (size_t)k * MTG_DATA_FASHION_DIM, img.data + (size_t)i * MTG_DATA_FASHION_DIM,
                    MTG_DATA_FASHION_DIM);
            lab.data[k] = lab.data[i];
        }
        k++;
    }
    rc = mtg_data_from_u8(img.data, lab.data, k, MTG_DATA_FASHION_DIM, MTG_DATA_FASHION_CLASSES, 255.0f,
                          out, err);
done:
    mtg_data_idx_deinit(&img);
    mtg_data_idx_deinit(&lab);
    return rc;
}

const char *mtg_data_fashion_label_name(int label)
{
    return label >= 0 && label < MTG_DATA_FASHION_CLASSES ? label_names[label] : NULL;
}

int mtg_data_fashion_task_id(int label, char *buf, size_t n)
{
    if (label < 0 || label >= MTG_DATA_FASHION_CLASSES || !buf)
        return MTG_ERANGE;
    int w = snprintf(buf, n, "%s-%d", MTG_DATA_FASHION_TASK_PREFIX, label);
    return w < 0 || (size_t)w >= n ? MTG_ERANGE : MTG_OK;
}

int mtg_data_fashion_task_label(const char *task_id)
{
    static const char prefix[] = MTG_DATA_FASHION_TASK_PREFIX "-";
    size_t p = sizeof prefix - 1;
    if (!task_id || strncmp(task_id, prefix, p) != 0)
        return -1;
    /* One decimal digit and nothing after: "fashion-03" and "fashion-3x" are not task ids. */
    char c = task_id[p];
    if (c < '0' || c > '9' || task_id[p + 1] != '\0')
        return -1;
    return c - '0';
}
