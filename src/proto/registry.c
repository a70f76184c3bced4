#include "proto/registry.h"
#include "core/status.h"
#include "sched/sched.h"

#include <stdio.h>
#include <string.h>

int mtg_proto_resolve_tasks(const char *id, int n, const char *const *task_ids, const int *samples,
                            int (*find)(const void *ctx, const char *task_id), const void *ctx, int *idx,
                            struct mtg_err *err)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len >= MTG_PROTO_ID_MAX)
        return mtg_err_set(err, MTG_EINVAL, "edge id must be 1..%d characters", MTG_PROTO_ID_MAX - 1);
    if (n < 0 || n > MTG_SCHED_MAX_EDGE_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "edge \"%s\": %d tasks outside [0, %d]", id, n,
                           MTG_SCHED_MAX_EDGE_TASKS);
    for (int k = 0; k < n; k++) {
        idx[k] = find(ctx, task_ids[k]);
        if (idx[k] < 0)
            return mtg_err_set(err, MTG_ENOTFOUND, "edge \"%s\": unknown task \"%s\"", id, task_ids[k]);
        if (samples[k] < 1)
            return mtg_err_set(err, MTG_EINVAL, "edge \"%s\": task \"%s\" has %d samples (need >= 1)", id,
                               task_ids[k], samples[k]);
        for (int j = 0; j < k; j++)
            if (idx[j] == idx[k])
                return mtg_err_set(err, MTG_EINVAL, "edge \"%s\": task \"%s\" listed twice", id, task_ids[k]);
    }
    return MTG_OK;
}

int mtg_proto_edges_find(const struct mtg_proto_edge *edges, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(edges[i].id, id) == 0)
            return i;
    return -1;
}

int mtg_proto_edges_register(struct mtg_proto_edge *edges, int *n, const char *id, int n_tasks,
                             const char *const *task_ids, const int *samples,
                             int (*find)(const void *ctx, const char *task_id), const void *ctx, int64_t now_ms,
                             struct mtg_err *err)
{
    int idx[MTG_SCHED_MAX_EDGE_TASKS];
    int rc = mtg_proto_resolve_tasks(id, n_tasks, task_ids, samples, find, ctx, idx, err);
    if (rc != MTG_OK)
        return rc;
    int e = mtg_proto_edges_find(edges, *n, id);
    if (e < 0 && *n >= MTG_SCHED_MAX_EDGES) {
        /* Full: the edge silent the longest among the expired ones gives up its slot. */
        for (int i = 0; i < *n; i++)
            if (!edges[i].alive && (e < 0 || edges[i].last_seen < edges[e].last_seen))
                e = i;
        if (e < 0)
            return mtg_err_set(err, MTG_ERANGE, "edge limit %d reached (none expired)", MTG_SCHED_MAX_EDGES);
        memset(&edges[e], 0, sizeof edges[e]);
        snprintf(edges[e].id, sizeof edges[e].id, "%s", id);
    } else if (e < 0) {
        e = (*n)++;
        memset(&edges[e], 0, sizeof edges[e]);
        snprintf(edges[e].id, sizeof edges[e].id, "%s", id);
    }
    struct mtg_proto_edge *ed = &edges[e];
    ed->n_tasks = n_tasks;
    for (int k = 0; k < n_tasks; k++) {
        ed->task[k] = idx[k];
        ed->samples[k] = samples[k];
    }
    ed->alive = 1;
    ed->last_seen = now_ms;
    return e;
}

int mtg_proto_edges_seen(struct mtg_proto_edge *edges, int n, int edge, int64_t now_ms)
{
    if (edge < 0 || edge >= n)
        return MTG_ENOTFOUND;
    edges[edge].last_seen = now_ms;
    edges[edge].alive = 1;
    return MTG_OK;
}

void mtg_proto_edges_expire(struct mtg_proto_edge *edges, int n, int64_t now_ms, int64_t expiry_ms)
{
    for (int e = 0; e < n; e++)
        if (edges[e].alive && now_ms - edges[e].last_seen > expiry_ms)
            edges[e].alive = 0;
}

int mtg_proto_edges_alive(const struct mtg_proto_edge *edges, int n)
{
    int alive = 0;
    for (int i = 0; i < n; i++)
        alive += edges[i].alive;
    return alive;
}

int mtg_proto_edge_samples(const struct mtg_proto_edge *e, int task)
{
    for (int k = 0; k < e->n_tasks; k++)
        if (e->task[k] == task)
            return e->samples[k];
    return 0;
}
