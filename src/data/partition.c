#include "data/partition.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/dataset.h"

/* K × T cells; each cell (e, t) is a slice of one shared id array. */
struct mtg_partition {
    int n_edges;
    int n_tasks;
    int *count;   /* [K * T]: samples of t on e; -1 when e does not hold t */
    size_t *off;  /* [K * T]: start of the slice in ids */
    int *ids;     /* [sum of task_n] */
    int *cover;   /* [T]: edges holding t */
    int *n_held;  /* [K]: tasks held by e */
    int *held;    /* [K * T]: ascending task ids of e in held[e*T .. e*T + n_held[e]) */
};

/* Seeds of the independent decisions, so changing one stage leaves the others alone. */
enum { STREAM_SIZES = 1, STREAM_ASSIGN = 2, STREAM_SPLIT = 3 };

void mtg_data_partition_cfg_default(struct mtg_partition_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n_edges = 4;
    cfg->tasks_min = 4;
    cfg->tasks_max = 6;
    cfg->seed = 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static size_t cell(const struct mtg_partition *p, int e, int t)
{
    return (size_t)e * (size_t)p->n_tasks + (size_t)t;
}

static int check_cfg(const struct mtg_partition_cfg *cfg, int n_tasks, struct mtg_err *err)
{
    if (cfg->n_edges < 1 || cfg->n_edges > MTG_DATA_PARTITION_MAX_EDGES)
        return mtg_err_set(err, MTG_ERANGE, "partition: %d edges outside [1, %d]", cfg->n_edges,
                           MTG_DATA_PARTITION_MAX_EDGES);
    if (n_tasks < 1 || n_tasks > MTG_DATA_PARTITION_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "partition: %d tasks outside [1, %d]", n_tasks,
                           MTG_DATA_PARTITION_MAX_TASKS);
    if (cfg->tasks_min < 1 || cfg->tasks_max < cfg->tasks_min)
        return mtg_err_set(err, MTG_EINVAL,
                           "partition: tasks per edge [%d, %d] is empty or below 1",
                           cfg->tasks_min, cfg->tasks_max);
    return MTG_OK;
}

/*
 * Step 1: how many tasks each edge holds. Uniform in [min, max] (clamped to
 * T); if the total cannot cover T tasks, grow the smallest edges one task at
 * a time - the bound yields to coverage (K = 1 holds everything).
 */
static void draw_sizes(const struct mtg_partition_cfg *cfg, int T, struct mtg_rng *rng, int *m)
{
    int lo = cfg->tasks_min < T ? cfg->tasks_min : T;
    int hi = cfg->tasks_max < T ? cfg->tasks_max : T;
    long total = 0;
    for (int e = 0; e < cfg->n_edges; e++) {
        m[e] = lo + (int)mtg_rng_below(rng, (uint64_t)(hi - lo + 1));
        total += m[e];
    }
    while (total < T) {
        int best = 0;
        for (int e = 1; e < cfg->n_edges; e++)
            if (m[e] < m[best])
                best = e;
        m[best]++;
        total++;
    }
}

/*
 * Step 2: fill the edges' task slots round by round (every edge's first
 * slot, then every second slot, ...), each slot taking a least-covered task
 * the edge does not hold yet, ties broken at random. While some task is
 * uncovered it is a least-covered one and no edge holds it, so the first T
 * slots cover all T tasks; later slots raise coverage evenly, which gives
 * every task two edges whenever there are enough slots (and the edges'
 * sets allow it).
 */
static void assign_tasks(struct mtg_partition *p, const int *m, struct mtg_rng *rng,
                         int *edge_order, int *task_order)
{
    int K = p->n_edges, T = p->n_tasks;
    int rounds = 0;
    for (int e = 0; e < K; e++) {
        rounds = m[e] > rounds ? m[e] : rounds;
        edge_order[e] = e;
    }
    for (int t = 0; t < T; t++)
        task_order[t] = t;
    for (int r = 0; r < rounds; r++) {
        mtg_rng_shuffle(rng, edge_order, (size_t)K);
        for (int i = 0; i < K; i++) {
            int e = edge_order[i];
            if (r >= m[e])
                continue;
            mtg_rng_shuffle(rng, task_order, (size_t)T);
            int pick = -1;
            for (int j = 0; j < T; j++) {
                int t = task_order[j];
                if (p->count[cell(p, e, t)] >= 0)
                    continue;
                if (pick < 0 || p->cover[t] < p->cover[pick])
                    pick = t;
            }
            /* m[e] <= T, so an edge with a free slot always lacks some task. */
            p->count[cell(p, e, pick)] = 0;
            p->cover[pick]++;
        }
    }
}

void mtg_data_partition_free(struct mtg_partition *p)
{
    if (!p)
        return;
    free(p->count);
    free(p->off);
    free(p->ids);
    free(p->cover);
    free(p->n_held);
    free(p->held);
    free(p);
}

int mtg_data_partition_new(const struct mtg_partition_cfg *cfg, int n_tasks,
                           const int *const *task_idx, const int *task_n,
                           struct mtg_partition **out, struct mtg_err *err)
{
    int rc;
    struct mtg_partition *p = NULL;
    int *m = NULL, *edge_order = NULL, *task_order = NULL, *holders = NULL;
    if (!cfg || !task_idx || !task_n || !out)
        return mtg_err_set(err, MTG_EINVAL, "partition: NULL argument");
    *out = NULL;
    rc = check_cfg(cfg, n_tasks, err);
    if (rc != MTG_OK)
        return rc;
    int K = cfg->n_edges, T = n_tasks;
    size_t total = 0;
    for (int t = 0; t < T; t++) {
        if (task_n[t] < 1 || task_n[t] > MTG_DATA_MAX_ROWS || !task_idx[t])
            return mtg_err_set(err, MTG_ERANGE, "partition: task %d has %d samples, need 1..%d",
                               t, task_n[t], MTG_DATA_MAX_ROWS);
        total += (size_t)task_n[t];
    }
    if ((size_t)K * (size_t)T > (size_t)MTG_DATA_MAX_ROWS)
        return mtg_err_set(err, MTG_ERANGE, "partition: %d edges x %d tasks is too many cells", K,
                           T);

    rc = MTG_ENOMEM;
    p = calloc(1, sizeof *p);
    if (!p)
        goto fail;
    p->n_edges = K;
    p->n_tasks = T;
    size_t cells = (size_t)K * (size_t)T;
    p->count = malloc(cells * sizeof *p->count);
    p->off = calloc(cells, sizeof *p->off);
    p->ids = malloc(total * sizeof *p->ids);
    p->cover = calloc((size_t)T, sizeof *p->cover);
    p->n_held = calloc((size_t)K, sizeof *p->n_held);
    p->held = malloc(cells * sizeof *p->held);
    m = malloc((size_t)K * sizeof *m);
    edge_order = malloc((size_t)K * sizeof *edge_order);
    task_order = malloc((size_t)T * sizeof *task_order);
    holders = malloc((size_t)K * sizeof *holders);
    if (!p->count || !p->off || !p->ids || !p->cover || !p->n_held || !p->held || !m ||
        !edge_order || !task_order || !holders)
        goto fail;
    for (size_t c = 0; c < cells; c++)
        p->count[c] = -1;

    struct mtg_rng root, rng;
    mtg_rng_seed(&root, cfg->seed);
    mtg_rng_fork(&root, STREAM_SIZES, &rng);
    draw_sizes(cfg, T, &rng, m);
    mtg_rng_fork(&root, STREAM_ASSIGN, &rng);
    assign_tasks(p, m, &rng, edge_order, task_order);

    for (int t = 0; t < T; t++)
        if (task_n[t] < p->cover[t]) {
            rc = mtg_err_set(err, MTG_ERANGE, "partition: task %d has %d samples but %d edges",
                             t, task_n[t], p->cover[t]);
            goto fail_set;
        }

    /* Step 3: shuffle each task's samples and deal contiguous, near-equal shares. */
    mtg_rng_fork(&root, STREAM_SPLIT, &rng);
    size_t pos = 0;
    for (int t = 0; t < T; t++) {
        int *ids = p->ids + pos;
        memcpy(ids, task_idx[t], (size_t)task_n[t] * sizeof *ids);
        mtg_rng_shuffle(&rng, ids, (size_t)task_n[t]);
        int c = 0;
        for (int e = 0; e < K; e++)
            if (p->count[cell(p, e, t)] >= 0)
                holders[c++] = e;
        int base = task_n[t] / c, extra = task_n[t] % c, start = 0;
        for (int i = 0; i < c; i++) {
            int share = base + (i < extra);
            size_t k = cell(p, holders[i], t);
            p->off[k] = pos + (size_t)start;
            p->count[k] = share;
            qsort(ids + start, (size_t)share, sizeof *ids, cmp_int);
            start += share;
        }
        pos += (size_t)task_n[t];
    }
    for (int e = 0; e < K; e++)
        for (int t = 0; t < T; t++)
            if (p->count[cell(p, e, t)] >= 0)
                p->held[(size_t)e * (size_t)T + (size_t)p->n_held[e]++] = t;

    free(m);
    free(edge_order);
    free(task_order);
    free(holders);
    *out = p;
    return MTG_OK;
fail:
    mtg_err_set(err, MTG_ENOMEM, "partition: out of memory for %d edges x %d tasks", K, T);
fail_set:
    mtg_data_partition_free(p);
    free(m);
    free(edge_order);
    free(task_order);
    free(holders);
    return rc;
}

int mtg_data_partition_by_class(const struct mtg_dataset *ds, const struct mtg_partition_cfg *cfg,
                                struct mtg_partition **out, struct mtg_err *err)
{
    if (!ds || !cfg || !out)
        return mtg_err_set(err, MTG_EINVAL, "partition: NULL argument");
    *out = NULL;
    int T = mtg_data_n_classes(ds);
    int rc = MTG_OK;
    int **idx = calloc((size_t)T, sizeof *idx);
    int *n = calloc((size_t)T, sizeof *n);
    if (!idx || !n) {
        rc = mtg_err_set(err, MTG_ENOMEM, "partition: out of memory");
        goto done;
    }
    for (int t = 0; t < T; t++) {
        rc = mtg_data_class_indices(ds, t, &idx[t], &n[t], err);
        if (rc != MTG_OK)
            goto done;
    }
    rc = mtg_data_partition_new(cfg, T, (const int *const *)idx, n, out, err);
done:
    for (int t = 0; idx && t < T; t++)
        free(idx[t]);
    free(idx);
    free(n);
    return rc;
}

int mtg_data_partition_n_edges(const struct mtg_partition *p) { return p->n_edges; }
int mtg_data_partition_n_tasks(const struct mtg_partition *p) { return p->n_tasks; }
int mtg_data_partition_edge_n_tasks(const struct mtg_partition *p, int e) { return p->n_held[e]; }

int mtg_data_partition_edge_task(const struct mtg_partition *p, int e, int j)
{
    return p->held[(size_t)e * (size_t)p->n_tasks + (size_t)j];
}

int mtg_data_partition_has(const struct mtg_partition *p, int e, int t)
{
    if (e < 0 || e >= p->n_edges || t < 0 || t >= p->n_tasks)
        return 0;
    return p->count[cell(p, e, t)] >= 0;
}

int mtg_data_partition_task_edges(const struct mtg_partition *p, int t)
{
    return p->cover[t];
}

const int *mtg_data_partition_samples(const struct mtg_partition *p, int e, int t, int *n)
{
    if (!mtg_data_partition_has(p, e, t)) {
        *n = 0;
        return NULL;
    }
    size_t k = cell(p, e, t);
    *n = p->count[k];
    return p->ids + p->off[k];
}
