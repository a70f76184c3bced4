/* Tests for src/data/partition: coverage, disjointness, determinism, bounds. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/partition.h"

enum { T = 10, ID_STRIDE = 1000 };

/* Task t has 40 + 3t samples with ids t * 1000 + i. */
static int *task_idx[T];
static int task_n[T];

static void setup(void)
{
    for (int t = 0; t < T; t++) {
        task_n[t] = 40 + 3 * t;
        task_idx[t] = malloc((size_t)task_n[t] * sizeof(int));
        cr_assert_not_null(task_idx[t]);
        for (int i = 0; i < task_n[t]; i++)
            task_idx[t][i] = t * ID_STRIDE + i;
    }
}

static void teardown(void)
{
    for (int t = 0; t < T; t++)
        free(task_idx[t]);
}

static struct mtg_partition *make(int k, int lo, int hi, uint64_t seed)
{
    struct mtg_partition_cfg cfg = {.n_edges = k, .tasks_min = lo, .tasks_max = hi, .seed = seed};
    struct mtg_partition *p = NULL;
    struct mtg_err err = {0};
    int rc = mtg_data_partition_new(&cfg, T, (const int *const *)task_idx, task_n, &p, &err);
    cr_assert_eq(rc, MTG_OK, "K=%d [%d,%d] seed %llu: %s", k, lo, hi, (unsigned long long)seed,
                 err.msg);
    return p;
}

/* Checks every invariant; returns the minimum coverage over tasks. */
static int check(const struct mtg_partition *p, int lo, int hi)
{
    int K = mtg_data_partition_n_edges(p);
    cr_assert_eq(mtg_data_partition_n_tasks(p), T);
    int min_cover = K;
    for (int t = 0; t < T; t++) {
        char *seen = calloc((size_t)task_n[t], 1);
        cr_assert_not_null(seen);
        int holders = 0, total = 0;
        for (int e = 0; e < K; e++) {
            int n;
            const int *ids = mtg_data_partition_samples(p, e, t, &n);
            if (!mtg_data_partition_has(p, e, t)) {
                cr_assert_null(ids);
                cr_assert_eq(n, 0);
                continue;
            }
            holders++;
            cr_assert_gt(n, 0, "edge %d holds task %d with no samples", e, t);
            for (int i = 0; i < n; i++) {
                int local = ids[i] - t * ID_STRIDE;
                cr_assert(local >= 0 && local < task_n[t], "foreign id %d in task %d", ids[i], t);
                cr_assert_eq(seen[local], 0, "sample %d of task %d on two edges", local, t);
                seen[local] = 1;
                if (i > 0)
                    cr_assert_gt(ids[i], ids[i - 1]);
            }
            total += n;
        }
        /* Disjoint shares that together are exactly the task's samples. */
        cr_assert_eq(total, task_n[t], "task %d: %d of %d samples dealt", t, total, task_n[t]);
        cr_assert_eq(holders, mtg_data_partition_task_edges(p, t));
        cr_assert_geq(holders, 1, "task %d uncovered", t);
        min_cover = holders < min_cover ? holders : min_cover;
        free(seen);
    }
    for (int e = 0; e < K; e++) {
        int m = mtg_data_partition_edge_n_tasks(p, e);
        if (lo > 0) {
            cr_assert_geq(m, lo, "edge %d has %d tasks", e, m);
            cr_assert_leq(m, hi, "edge %d has %d tasks", e, m);
        }
        for (int j = 0; j < m; j++) {
            int t = mtg_data_partition_edge_task(p, e, j);
            cr_assert(mtg_data_partition_has(p, e, t));
            if (j > 0)
                cr_assert_gt(t, mtg_data_partition_edge_task(p, e, j - 1));
        }
    }
    return min_cover;
}

TestSuite(partition, .init = setup, .fini = teardown);

Test(partition, default_profile_bounds_coverage_disjoint)
{
    struct mtg_partition_cfg def;
    mtg_data_partition_cfg_default(&def);
    cr_assert_eq(def.n_edges, 4);
    cr_assert_eq(def.tasks_min, 4);
    cr_assert_eq(def.tasks_max, 6);
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct mtg_partition *p = make(4, 4, 6, seed);
        check(p, 4, 6);
        mtg_data_partition_free(p);
    }
}

Test(partition, two_edges_per_task_when_slots_allow)
{
    /* 5 edges x >= 4 tasks = >= 20 slots for 10 tasks: everyone can have two holders. */
    for (uint64_t seed = 1; seed <= 300; seed++) {
        struct mtg_partition *p = make(5, 4, 6, seed);
        cr_assert_geq(check(p, 4, 6), 2, "seed %llu", (unsigned long long)seed);
        mtg_data_partition_free(p);
    }
    for (uint64_t seed = 1; seed <= 100; seed++) {
        struct mtg_partition *p = make(8, 3, 5, seed);
        cr_assert_geq(check(p, 3, 5), 2, "seed %llu", (unsigned long long)seed);
        mtg_data_partition_free(p);
    }
}

Test(partition, deterministic_for_a_seed)
{
    struct mtg_partition *a = make(4, 4, 6, 42), *b = make(4, 4, 6, 42);
    int differs = 0;
    for (uint64_t s = 43; s < 53 && !differs; s++) {
        struct mtg_partition *c = make(4, 4, 6, s);
        for (int e = 0; e < 4; e++)
            for (int t = 0; t < T; t++) {
                int na, nc;
                const int *ia = mtg_data_partition_samples(a, e, t, &na);
                const int *ic = mtg_data_partition_samples(c, e, t, &nc);
                if (na != nc || (na > 0 && memcmp(ia, ic, (size_t)na * sizeof(int)) != 0))
                    differs = 1;
            }
        mtg_data_partition_free(c);
    }
    cr_assert(differs, "ten other seeds all gave the same partition");
    for (int e = 0; e < 4; e++)
        for (int t = 0; t < T; t++) {
            int na, nb;
            const int *ia = mtg_data_partition_samples(a, e, t, &na);
            const int *ib = mtg_data_partition_samples(b, e, t, &nb);
            cr_assert_eq(na, nb);
            if (na > 0)
                cr_assert_eq(memcmp(ia, ib, (size_t)na * sizeof(int)), 0);
        }
    mtg_data_partition_free(a);
    mtg_data_partition_free(b);
}

Test(partition, one_edge_gets_everything)
{
    struct mtg_partition *p = make(1, 4, 6, 7);
    check(p, 0, 0);
    cr_assert_eq(mtg_data_partition_edge_n_tasks(p, 0), T);
    for (int t = 0; t < T; t++) {
        int n;
        const int *ids = mtg_data_partition_samples(p, 0, t, &n);
        cr_assert_eq(n, task_n[t]);
        cr_assert_eq(memcmp(ids, task_idx[t], (size_t)n * sizeof(int)), 0);
    }
    mtg_data_partition_free(p);
}

Test(partition, too_few_slots_grow_edges_to_cover)
{
    /* 3 edges x at most 2 tasks cannot cover 10: coverage wins over the bound. */
    struct mtg_partition *p = make(3, 1, 2, 3);
    check(p, 0, 0);
    int total = 0;
    for (int e = 0; e < 3; e++)
        total += mtg_data_partition_edge_n_tasks(p, e);
    cr_assert_eq(total, T);
    mtg_data_partition_free(p);
    /* Bounds above T are clamped: every edge holds every task. */
    p = make(3, 12, 20, 3);
    check(p, T, T);
    mtg_data_partition_free(p);
}

Test(partition, rejects_bad_arguments)
{
    struct mtg_partition *p = NULL;
    struct mtg_err err = {0};
    const int *const *idx = (const int *const *)task_idx;
    struct mtg_partition_cfg cfg = {.n_edges = 0, .tasks_min = 4, .tasks_max = 6, .seed = 1};
    cr_assert_eq(mtg_data_partition_new(&cfg, T, idx, task_n, &p, &err), MTG_ERANGE);
    cfg.n_edges = 4;
    cfg.tasks_min = 5;
    cfg.tasks_max = 4;
    cr_assert_eq(mtg_data_partition_new(&cfg, T, idx, task_n, &p, &err), MTG_EINVAL);
    cfg.tasks_min = 0;
    cr_assert_eq(mtg_data_partition_new(&cfg, T, idx, task_n, &p, &err), MTG_EINVAL);
    cfg.tasks_min = 4;
    cfg.tasks_max = 6;
    cr_assert_eq(mtg_data_partition_new(&cfg, 0, idx, task_n, &p, &err), MTG_ERANGE);
    int n2[T];
    memcpy(n2, task_n, sizeof n2);
    n2[3] = 0;
    cr_assert_eq(mtg_data_partition_new(&cfg, T, idx, n2, &p, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "task 3") != NULL, "%s", err.msg);
    /* 10 edges x 10 tasks: task 3 sits on more edges than it has samples. */
    n2[3] = 2;
    cfg.n_edges = 10;
    cfg.tasks_min = cfg.tasks_max = 10;
    cr_assert_eq(mtg_data_partition_new(&cfg, T, idx, n2, &p, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "task 3 has 2 samples") != NULL, "%s", err.msg);
    cr_assert_null(p);
}

Test(partition, by_class_uses_dataset_rows)
{
    enum { N = 120 };
    float x[N];
    int labels[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i;
        labels[i] = i % 6;
    }
    struct mtg_dataset *ds;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_from_array(x, labels, N, 1, 6, &ds, &err), MTG_OK);
    struct mtg_partition_cfg cfg;
    mtg_data_partition_cfg_default(&cfg);
    struct mtg_partition *p;
    cr_assert_eq(mtg_data_partition_by_class(ds, &cfg, &p, &err), MTG_OK, "%s", err.msg);
    int dealt = 0;
    for (int e = 0; e < 4; e++)
        for (int t = 0; t < 6; t++) {
            int n;
            const int *rows = mtg_data_partition_samples(p, e, t, &n);
            for (int i = 0; i < n; i++)
                cr_assert_eq(mtg_data_labels(ds)[rows[i]], t);
            dealt += n;
        }
    cr_assert_eq(dealt, N);
    mtg_data_partition_free(p);
    mtg_data_free(ds);
}
