/*
 * fixed - every alive edge trains every active task it holds for
 * local_steps steps each round. The baseline policy, and what sgda's
 * round-robin lock-step corresponds to.
 */
#include "sched/sched.h"
#include "core/status.h"

static int fixed_plan(struct mtg_sched *s, const struct mtg_cluster_view *v, struct mtg_plan *out)
{
    const int steps = mtg_sched_get_params(s)->local_steps;
    for (int e = 0; e < v->n_edges; e++) {
        const struct mtg_sched_edge *ed = &v->edges[e];
        struct mtg_plan_edge *pe = &out->edge[e];
        if (!ed->alive)
            continue;
        for (int k = 0; k < ed->n_tasks; k++) {
            if (!v->tasks[ed->task[k]].active)
                continue;
            pe->item[pe->n_items].task = ed->task[k];
            pe->item[pe->n_items].steps = steps;
            pe->n_items++;
        }
    }
    return MTG_OK;
}

const struct mtg_sched_ops mtg_sched_fixed_ops = {
    .name = "fixed",
    .plan_round = fixed_plan,
};
