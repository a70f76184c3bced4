/*
 * partition.h - seeded non-IID partition of tasks and their samples across
 * K edges (DESIGN §10: each edge holds 4-6 of the 10 digit tasks). Each edge
 * gets a subset of the tasks; every task is held by at least one edge (by
 * two or more whenever the edges' task slots allow it); the samples of a
 * task are divided disjointly among the edges that hold it. The same seed
 * gives the same partition on every machine, so a server and its edges can
 * each compute it instead of shipping it.
 *
 *     struct mtg_partition_cfg cfg;
 *     mtg_data_partition_cfg_default(&cfg);           // 4 edges, 4..6 tasks, seed 1
 *     struct mtg_partition *p;
 *     mtg_data_partition_by_class(train, &cfg, &p, &err);
 *     int n;
 *     const int *rows = mtg_data_partition_samples(p, edge, task, &n);  // rows of train
 *     mtg_data_partition_free(p);
 */
#ifndef MTG_DATA_PARTITION_H
#define MTG_DATA_PARTITION_H

#include <stdint.h>

struct mtg_err;
struct mtg_dataset;
struct mtg_partition;

#define MTG_DATA_PARTITION_MAX_EDGES 100000
#define MTG_DATA_PARTITION_MAX_TASKS 4096

struct mtg_partition_cfg {
    int n_edges;   /* K >= 1 */
    int tasks_min; /* tasks per edge, lower bound (>= 1) */
    int tasks_max; /* upper bound (>= tasks_min) */
    uint64_t seed;
};

/* K = 4, 4..6 tasks per edge, seed 1 (DESIGN §10's benchmark profile). */
void mtg_data_partition_cfg_default(struct mtg_partition_cfg *cfg);

/*
 * Partitions n_tasks tasks; task t's samples are task_idx[t][0..task_n[t])
 * (any integers, typically row indices of a dataset; copied, not retained).
 *
 * Bounds are clamped to n_tasks (an edge cannot hold more tasks than exist).
 * When K × tasks_max < n_tasks the tasks cannot all be covered within the
 * bound, and coverage wins: the smallest edges get extra tasks until every
 * task is held (so K = 1 gets every task). Each task needs at least as many
 * samples as edges holding it. Caller frees *out with
 * mtg_data_partition_free(). 0 or MTG_EINVAL / MTG_ERANGE / MTG_ENOMEM.
 */
int mtg_data_partition_new(const struct mtg_partition_cfg *cfg, int n_tasks,
                           const int *const *task_idx, const int *task_n,
                           struct mtg_partition **out, struct mtg_err *err);

/* Tasks = the classes of ds (task t = label t); sample ids are row indices of ds. */
int mtg_data_partition_by_class(const struct mtg_dataset *ds, const struct mtg_partition_cfg *cfg,
                                struct mtg_partition **out, struct mtg_err *err);

void mtg_data_partition_free(struct mtg_partition *p);

int mtg_data_partition_n_edges(const struct mtg_partition *p);
int mtg_data_partition_n_tasks(const struct mtg_partition *p);
/* Number of tasks edge e holds. */
int mtg_data_partition_edge_n_tasks(const struct mtg_partition *p, int e);
/* The j-th task (ascending ids) of edge e, 0 <= j < edge_n_tasks(e). */
int mtg_data_partition_edge_task(const struct mtg_partition *p, int e, int j);
/* 1 if edge e holds task t, else 0. */
int mtg_data_partition_has(const struct mtg_partition *p, int e, int t);
/* Number of edges that hold task t. */
int mtg_data_partition_task_edges(const struct mtg_partition *p, int t);
/*
 * Sample ids of task t on edge e (ascending), *n of them; owned by p and
 * valid until mtg_data_partition_free(p). NULL with *n = 0 when e lacks t.
 */
const int *mtg_data_partition_samples(const struct mtg_partition *p, int e, int t, int *n);

#endif
