/*
 * registry.h - what both protocols' servers check when an edge registers:
 * a sane edge id, a bounded task list, known task ids, positive sample
 * counts, no task twice. One rule set, so sgda and mtgan accept and refuse
 * exactly the same registrations.
 *
 *     int idx[MTG_SCHED_MAX_EDGE_TASKS];
 *     if (mtg_proto_resolve_tasks(id, n, ids, samples, find_task, state, idx, &err) != MTG_OK) ...
 */
#ifndef MTG_PROTO_REGISTRY_H
#define MTG_PROTO_REGISTRY_H

#define MTG_PROTO_ID_MAX 64

struct mtg_err;

/*
 * Validates the registration of edge id holding n tasks, and resolves each
 * task id through find(ctx, task_id) (< 0 = unknown) into idx[0..n).
 * 0, or MTG_EINVAL / MTG_ERANGE / MTG_ENOTFOUND naming the edge and task.
 */
int mtg_proto_resolve_tasks(const char *id, int n, const char *const *task_ids, const int *samples,
                            int (*find)(const void *ctx, const char *task_id), const void *ctx, int *idx,
                            struct mtg_err *err);

#endif
