/*
 * registry.h - the edge table both protocols' servers keep, and what they
 * check when an edge registers: a sane edge id, a bounded task list, known
 * task ids, positive sample counts, no task twice. One table and one rule
 * set, so sgda and mtgan accept, refuse and expire edges the same way.
 *
 *     struct mtg_proto_edge *edges = calloc(MTG_SCHED_MAX_EDGES, sizeof *edges);
 *     int n = 0;
 *     int e = mtg_proto_edges_register(edges, &n, "edge-0", 1, ids, samples, find_task, state, now, &err);
 *     ...
 *     mtg_proto_edges_expire(edges, n, now, expiry_ms);
 */
#ifndef MTG_PROTO_REGISTRY_H
#define MTG_PROTO_REGISTRY_H

#include <stdint.h>

#include "sched/sched.h"

#define MTG_PROTO_ID_MAX 64

struct mtg_err;

/*
 * One registered edge. Entries are never removed, but once the table is full
 * a new edge takes the slot of the expired edge silent the longest: callers
 * keeping per-edge state by index reset it when mtg_proto_edges_find did not
 * know the id before registering.
 */
struct mtg_proto_edge {
    char id[MTG_PROTO_ID_MAX];
    int n_tasks;
    int task[MTG_SCHED_MAX_EDGE_TASKS];    /* task indices */
    int samples[MTG_SCHED_MAX_EDGE_TASKS]; /* local samples of each, >= 1 */
    int64_t last_seen;                     /* ms, the caller's clock */
    int alive;
};

/*
 * Validates the registration of edge id holding n tasks, and resolves each
 * task id through find(ctx, task_id) (< 0 = unknown) into idx[0..n).
 * 0, or MTG_EINVAL / MTG_ERANGE / MTG_ENOTFOUND naming the edge and task.
 */
int mtg_proto_resolve_tasks(const char *id, int n, const char *const *task_ids, const int *samples,
                            int (*find)(const void *ctx, const char *task_id), const void *ctx, int *idx,
                            struct mtg_err *err);


/* Index of edge id in edges[0..n), or -1. */
int mtg_proto_edges_find(const struct mtg_proto_edge *edges, int n, const char *id);

/*
 * Validates (as mtg_proto_resolve_tasks) and records edge id's tasks, adding
 * it at edges[*n] when new (edges holds MTG_SCHED_MAX_EDGES entries; when
 * they are all used, in the slot of the expired edge silent longest). The edge
 * is alive and seen at now_ms. Returns its index, or a negative MTG_E* code
 * with err set; the table is unchanged on error.
 */
int mtg_proto_edges_register(struct mtg_proto_edge *edges, int *n, const char *id, int n_tasks,
                             const char *const *task_ids, const int *samples,
                             int (*find)(const void *ctx, const char *task_id), const void *ctx, int64_t now_ms,
                             struct mtg_err *err);

/* Marks edge alive and seen at now_ms; MTG_ENOTFOUND for an index outside [0, n). */
int mtg_proto_edges_seen(struct mtg_proto_edge *edges, int n, int edge, int64_t now_ms);

/* Marks dead every edge not seen for more than expiry_ms. */
void mtg_proto_edges_expire(struct mtg_proto_edge *edges, int n, int64_t now_ms, int64_t expiry_ms);

int mtg_proto_edges_alive(const struct mtg_proto_edge *edges, int n);

/* Samples e holds of task, 0 when it does not hold the task. */
int mtg_proto_edge_samples(const struct mtg_proto_edge *e, int task);

#endif
