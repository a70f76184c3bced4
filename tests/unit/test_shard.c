/*
 * Tests for src/data/shard: an edge's share of the train split is the one
 * mtg_data_partition_by_class deals on the same universe (digits), shards
 * are disjoint and cover the per-class slice, wanted classes filter, and
 * Fashion-MNIST shards read only their rows (when the package is installed).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "data/fashion.h"
#include "data/partition.h"
#include "data/shard.h"

static char digits_path[4096];

static void setup(void)
{
    const char *dir = getenv("MTGAN_DATA_DIR");
    snprintf(digits_path, sizeof digits_path, "%s/%s", dir ? dir : "data", MTG_DATA_DIGITS_FILE);
}

TestSuite(shard, .init = setup);

static struct mtg_dataset *shard(int kind, const char *path, int limit, int k, int lo, int hi, int e,
                                 const int *classes, int n_classes)
{
    struct mtg_data_shard_cfg sc = {.kind = kind, .path = path, .limit_per_class = limit, .shard = e,
                                    .classes = classes, .n_classes = n_classes};
    sc.part = (struct mtg_partition_cfg){.n_edges = k, .tasks_min = lo, .tasks_max = hi, .seed = 1};
    struct mtg_dataset *ds = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_shard_load(&sc, &ds, &err), MTG_OK, "edge %d: %s", e, err.msg);
    return ds;
}

/* Index of row x in ds (dim floats), or -1. */
static int find_row(const struct mtg_dataset *ds, const float *x)
{
    size_t bytes = (size_t)mtg_data_dim(ds) * sizeof(float);
    for (int i = 0; i < mtg_data_n(ds); i++)
        if (memcmp(mtg_data_row(ds, i), x, bytes) == 0)
            return i;
    return -1;
}

/* The shards of k edges cover universe exactly once: every row found, none twice, labels agree. */
static void expect_cover(struct mtg_dataset *const *shards, int k, const struct mtg_dataset *universe)
{
    int n = mtg_data_n(universe), total = 0;
    int *hits = calloc((size_t)n + 1, sizeof *hits);
    cr_assert_not_null(hits);
    for (int e = 0; e < k; e++) {
        for (int i = 0; i < mtg_data_n(shards[e]); i++) {
            int j = find_row(universe, mtg_data_row(shards[e], i));
            cr_assert_geq(j, 0, "edge %d row %d is not in the universe", e, i);
            cr_assert_eq(mtg_data_labels(shards[e])[i], mtg_data_labels(universe)[j]);
            hits[j]++;
        }
        total += mtg_data_n(shards[e]);
    }
    /* Digits hold a few duplicate images, so count rows, not distinct matches. */
    cr_expect_eq(total, n, "shards hold %d rows, the universe %d", total, n);
    int missing = 0;
    for (int j = 0; j < n; j++)
        missing += hits[j] == 0;
    cr_expect_eq(missing, 0, "%d universe rows in no shard", missing);
    free(hits);
}

Test(shard, digits_shard_is_partition_by_class)
{
    struct mtg_dataset *train = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, digits_path, MTG_DATA_TRAIN, 0, &train, &err), MTG_OK,
                 "%s", err.msg);
    struct mtg_partition_cfg pc = {.n_edges = 4, .tasks_min = 4, .tasks_max = 6, .seed = 1};
    struct mtg_partition *p = NULL;
    cr_assert_eq(mtg_data_partition_by_class(train, &pc, &p, &err), MTG_OK, "%s", err.msg);
    for (int e = 0; e < 4; e++) {
        struct mtg_dataset *mine = shard(MTG_DATA_KIND_DIGITS, digits_path, 0, 4, 4, 6, e, NULL, 0);
        int at = 0;
        for (int c = 0; c < 10; c++) {
            int n = 0;
            const int *rows = mtg_data_partition_samples(p, e, c, &n);
            cr_expect_eq(mtg_data_class_count(mine, c), n, "edge %d class %d", e, c);
            /* Same rows, in split order: the shard's rows of class c are partition's rows of c. */
            for (int i = 0, k = 0; i < mtg_data_n(mine) && k < n; i++) {
                if (mtg_data_labels(mine)[i] != c)
                    continue;
                cr_assert_eq(memcmp(mtg_data_row(mine, i), mtg_data_row(train, rows[k]), 64 * sizeof(float)), 0,
                             "edge %d class %d sample %d", e, c, k);
                k++;
            }
            at += n;
        }
        cr_expect_eq(mtg_data_n(mine), at);
        mtg_data_free(mine);
    }
    mtg_data_partition_free(p);
    mtg_data_free(train);
}

Test(shard, limit_and_wanted_classes)
{
    struct mtg_err err = {0};
    struct mtg_dataset *universe = NULL, *s[3];
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, digits_path, MTG_DATA_TRAIN, 12, &universe, &err), MTG_OK);
    for (int e = 0; e < 3; e++)
        s[e] = shard(MTG_DATA_KIND_DIGITS, digits_path, 12, 3, 4, 6, e, NULL, 0);
    expect_cover(s, 3, universe);
    for (int e = 0; e < 3; e++)
        mtg_data_free(s[e]);

    /* Only classes 1 and 7: an edge keeps its rows of those, nothing else. */
    static const int want[] = {7, 1};
    int total = 0;
    for (int e = 0; e < 3; e++) {
        s[e] = shard(MTG_DATA_KIND_DIGITS, digits_path, 12, 3, 4, 6, e, want, 2);
        for (int c = 0; c < 10; c++)
            if (c != 1 && c != 7)
                cr_expect_eq(mtg_data_class_count(s[e], c), 0, "edge %d holds class %d", e, c);
        total += mtg_data_n(s[e]);
        mtg_data_free(s[e]);
    }
    cr_expect_eq(total, 24, "classes 1 and 7 have 12 rows each across the edges");
    mtg_data_free(universe);

    /* Bad settings are errors, not empty shards. */
    struct mtg_data_shard_cfg sc = {.kind = MTG_DATA_KIND_RING, .part = {.n_edges = 2, .tasks_min = 1, .tasks_max = 1}};
    struct mtg_dataset *ds = NULL;
    cr_expect_eq(mtg_data_shard_load(&sc, &ds, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "ring"), "%s", err.msg);
    sc.kind = MTG_DATA_KIND_DIGITS;
    sc.path = digits_path;
    sc.shard = 2;
    cr_expect_eq(mtg_data_shard_load(&sc, &ds, &err), MTG_ERANGE);
    cr_expect_null(ds);
}

static int have_package(void)
{
    return access(MTG_DATA_FASHION_DIR "/train-labels-idx1-ubyte.gz", R_OK) == 0 &&
           access(MTG_DATA_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0;
}

Test(shard, fashion_shards_cover_the_slice, .timeout = 120)
{
    if (!have_package())
        cr_skip_test("package " MTG_DATA_FASHION_PACKAGE " not installed (" MTG_DATA_FASHION_DIR ")");
    struct mtg_err err = {0};
    unsigned char *labels = NULL;
    int n = 0;
    cr_assert_eq(mtg_data_fashion_labels(NULL, MTG_DATA_TRAIN, &labels, &n, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(n, 60000);
    free(labels);

    struct mtg_dataset *universe = NULL, *s[3];
    cr_assert_eq(mtg_data_fashion_load(NULL, MTG_DATA_TRAIN, 20, &universe, &err), MTG_OK, "%s", err.msg);
    for (int e = 0; e < 3; e++) {
        s[e] = shard(MTG_DATA_KIND_FASHION, NULL, 20, 3, 4, 4, e, NULL, 0);
        cr_expect_eq(mtg_data_dim(s[e]), 784);
        cr_expect_lt(mtg_data_n(s[e]), 200, "edge %d holds %d rows: more than its classes", e, mtg_data_n(s[e]));
    }
    expect_cover(s, 3, universe);
    for (int e = 0; e < 3; e++)
        mtg_data_free(s[e]);
    mtg_data_free(universe);

    unsigned char keep[3] = {1, 0, 1};
    struct mtg_dataset *ds = NULL;
    cr_expect_eq(mtg_data_fashion_load_rows(NULL, MTG_DATA_TEST, keep, 3, &ds, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "keep flags"), "%s", err.msg);
    cr_expect_null(ds);
}

/* Task ids of each kind: "<prefix>-<class>", strictly. */
Test(kind, task_ids_and_labels)
{
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_DIGITS, "digit-3"), 3);
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_FASHION, "fashion-9"), 9);
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_FASHION, "fashion-0"), 0);
    static const char *const bad[] = {"digit-3", "fashion-10", "fashion-03", "fashion--1", "fashion-", "fashion",
                                      "fashion-3x", "fashion-+3", "new-fashion-3", "ring", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_FASHION, bad[i]), -1, "\"%s\"", bad[i]);
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_DIGITS, "fashion-3"), -1);
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_RING, "ring"), -1);
    cr_expect_eq(mtg_data_kind_task_label(MTG_DATA_KIND_DIGITS, NULL), -1);
    char id[16];
    cr_expect_eq(mtg_data_kind_task_id(MTG_DATA_KIND_FASHION, 7, id, sizeof id), MTG_OK);
    cr_expect_str_eq(id, "fashion-7");
    cr_expect_eq(mtg_data_kind_task_id(MTG_DATA_KIND_DIGITS, 0, id, sizeof id), MTG_OK);
    cr_expect_str_eq(id, "digit-0");
    cr_expect_eq(mtg_data_kind_task_id(MTG_DATA_KIND_FASHION, 10, id, sizeof id), MTG_ERANGE);
    cr_expect_eq(mtg_data_kind_task_id(MTG_DATA_KIND_FASHION, 1, id, 4), MTG_ERANGE);
    cr_expect_eq(mtg_data_kind_task_id(MTG_DATA_KIND_RING, 0, id, sizeof id), MTG_ERANGE);
}

/* A Sedna training split: a digits file with rows of a few classes only,
 * read whole (MTG_DATA_ALL), every row dealt to the edges exactly once. */
Test(shard, a_split_with_few_classes_read_whole)
{
    struct mtg_dataset *all = NULL, *two = NULL, *train = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_digits_load(digits_path, &all, &err), MTG_OK, "%s", err.msg);
    int idx[100], n = 0;
    for (int i = 0; i < mtg_data_n(all) && n < 100; i++)
        if (mtg_data_labels(all)[i] == 3 || mtg_data_labels(all)[i] == 8)
            idx[n++] = i;
    cr_assert_eq(mtg_data_subset(all, idx, n, &two, &err), MTG_OK, "%s", err.msg);
    char path[] = "/tmp/mtg-shard-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 64; j++)
            fprintf(f, "%d,", (int)(mtg_data_row(two, i)[j] * 16.0f + 0.5f));
        fprintf(f, "%d\n", mtg_data_labels(two)[i]);
    }
    fclose(f);
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, path, MTG_DATA_ALL, 0, &train, &err), MTG_OK, "%s",
                 err.msg);
    cr_expect_eq(mtg_data_n(train), n, "MTG_DATA_ALL holds nothing out");
    struct mtg_dataset *shards[2];
    for (int e = 0; e < 2; e++) {
        struct mtg_data_shard_cfg sc = {.kind = MTG_DATA_KIND_DIGITS, .path = path, .shard = e,
                                        .split = MTG_DATA_ALL};
        sc.part = (struct mtg_partition_cfg){.n_edges = 2, .tasks_min = 256, .tasks_max = 256, .seed = 1};
        cr_assert_eq(mtg_data_shard_load(&sc, &shards[e], &err), MTG_OK, "edge %d: %s", e, err.msg);
        cr_expect_gt(mtg_data_class_count(shards[e], 3), 0, "edge %d holds every task", e);
        cr_expect_gt(mtg_data_class_count(shards[e], 8), 0, "edge %d holds every task", e);
    }
    expect_cover(shards, 2, train);
    struct mtg_data_shard_cfg bad = {.kind = MTG_DATA_KIND_FASHION, .split = MTG_DATA_ALL};
    bad.part = (struct mtg_partition_cfg){.n_edges = 1, .tasks_min = 1, .tasks_max = 1, .seed = 1};
    struct mtg_dataset *none = NULL;
    cr_expect_eq(mtg_data_shard_load(&bad, &none, &err), MTG_EINVAL);
    cr_expect(strstr(err.msg, "only digits"), "%s", err.msg);
    for (int e = 0; e < 2; e++)
        mtg_data_free(shards[e]);
    unlink(path);
    mtg_data_free(train);
    mtg_data_free(two);
    mtg_data_free(all);
}
