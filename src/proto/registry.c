#include "proto/registry.h"
#include "core/status.h"
#include "sched/sched.h"

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
