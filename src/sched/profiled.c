/*
 * profiled - EDDL-style work sizing (Hao et al., "EDDL: A Distributed Deep
 * Learning System for Resource-limited Edge Computing Environment", 2021):
 * each edge's per-step compute time and per-round transfer time are profiled
 * at runtime (exponentially weighted), and its local steps are sized so that
 * every edge's predicted round time equals the fastest edge's time at the
 * full local_steps. Stragglers therefore get fewer steps instead of holding
 * the round back; the deadline still bounds a round if a prediction is wrong.
 *
 * With priority on, an edge's step budget is split across its tasks in
 * proportion to (0.25 + quality_gap), so tasks further from the quality
 * target, and new tasks (gap 1), get more of it, while finished tasks get none.
 * The round deadline grows to twice the slowest edge's predicted round when
 * the configured one is shorter.
 */
#include "sched/sched.h"
#include "core/status.h"

#include <math.h>
#include <stdlib.h>

#define EWMA_ALPHA 0.5

struct profile {
    double step_s[MTG_SCHED_MAX_EDGES];     /* seconds per local step, 0 = unknown */
    double transfer_s[MTG_SCHED_MAX_EDGES]; /* seconds of transfer per task per round */
};

static int profiled_init(struct mtg_sched *s)
{
    struct profile *p = calloc(1, sizeof *p);
    if (!p)
        return MTG_ENOMEM;
    mtg_sched_set_state(s, p);
    return MTG_OK;
}

static void profiled_deinit(struct mtg_sched *s) { free(mtg_sched_state(s)); }

static void profiled_observe(struct mtg_sched *s, const struct mtg_report *r)
{
    struct profile *p = mtg_sched_state(s);
    if (r->edge < 0 || r->edge >= MTG_SCHED_MAX_EDGES || r->steps <= 0 || !(r->compute_s >= 0))
        return;
    double step = r->compute_s / r->steps;
    p->step_s[r->edge] = p->step_s[r->edge] > 0 ? (1 - EWMA_ALPHA) * p->step_s[r->edge] + EWMA_ALPHA * step
                                                : step;
    if (r->transfer_s >= 0)
        p->transfer_s[r->edge] = p->transfer_s[r->edge] > 0
                                     ? (1 - EWMA_ALPHA) * p->transfer_s[r->edge] + EWMA_ALPHA * r->transfer_s
                                     : r->transfer_s;
}

static int count_active(const struct mtg_cluster_view *v, const struct mtg_sched_edge *ed)
{
    int n = 0;
    for (int k = 0; k < ed->n_tasks; k++)
        n += v->tasks[ed->task[k]].active ? 1 : 0;
    return n;
}

static int profiled_plan(struct mtg_sched *s, const struct mtg_cluster_view *v, struct mtg_plan *out)
{
    const struct mtg_sched_params *prm = mtg_sched_get_params(s);
    struct profile *p = mtg_sched_state(s);
    const int min_steps = prm->min_steps > 0 ? prm->min_steps : 1;

    /* Target round time: the fastest profiled edge doing local_steps on each of its tasks. */
    double target = INFINITY;
    for (int e = 0; e < v->n_edges && e < MTG_SCHED_MAX_EDGES; e++) {
        int n = count_active(v, &v->edges[e]);
        if (!v->edges[e].alive || n == 0 || p->step_s[e] <= 0)
            continue;
        double t = n * (prm->local_steps * p->step_s[e] + p->transfer_s[e]);
        if (t < target)
            target = t;
    }
    double slowest_s = 0;
    for (int e = 0; e < v->n_edges && e < MTG_SCHED_MAX_EDGES; e++) {
        const struct mtg_sched_edge *ed = &v->edges[e];
        struct mtg_plan_edge *pe = &out->edge[e];
        int n = count_active(v, ed);
        double planned_s = 0;
        if (!ed->alive || n == 0)
            continue;
        /* Unprofiled edges (first round) get the plain budget so they can be measured. */
        long budget = (long)prm->local_steps * n;
        if (isfinite(target) && p->step_s[e] > 0) {
            double compute = target - n * p->transfer_s[e];
            budget = compute > 0 ? (long)(compute / p->step_s[e]) : 0;
        }
        double wsum = 0;
        for (int k = 0; k < ed->n_tasks; k++) {
            const struct mtg_sched_task *t = &v->tasks[ed->task[k]];
            if (t->active)
                wsum += prm->priority ? 0.25 + t->quality_gap : 1.0;
        }
        for (int k = 0; k < ed->n_tasks; k++) {
            const struct mtg_sched_task *t = &v->tasks[ed->task[k]];
            if (!t->active)
                continue;
            double w = prm->priority ? 0.25 + t->quality_gap : 1.0;
            long steps = (long)((double)budget * w / wsum);
            if (steps < min_steps)
                steps = min_steps;
            if (steps > 100L * prm->local_steps)
                steps = 100L * prm->local_steps;
            pe->item[pe->n_items].task = ed->task[k];
            pe->item[pe->n_items].steps = (int)steps;
            pe->n_items++;
            planned_s += (double)steps * p->step_s[e] + p->transfer_s[e];
        }
        if (planned_s > slowest_s)
            slowest_s = planned_s;
    }
    /* A deadline shorter than the work it bounds closes every round empty (conv nets on slow edges
     * did exactly that at the default 30 s): give the slowest planned edge twice its prediction. */
    if (2e3 * slowest_s > (double)out->deadline_ms)
        out->deadline_ms = 2e3 * slowest_s < (double)INT32_MAX ? (int)(2e3 * slowest_s) : INT32_MAX;
    return MTG_OK;
}

static int profiled_get(struct mtg_sched *s, int edge, struct mtg_sched_edge_profile *out)
{
    const struct profile *p = mtg_sched_state(s);
    if (edge < 0 || edge >= MTG_SCHED_MAX_EDGES || p->step_s[edge] <= 0)
        return 0;
    out->step_s = p->step_s[edge];
    out->transfer_s = p->transfer_s[edge];
    return 1;
}

static void profiled_set(struct mtg_sched *s, int edge, const struct mtg_sched_edge_profile *in)
{
    struct profile *p = mtg_sched_state(s);
    if (edge < 0 || edge >= MTG_SCHED_MAX_EDGES)
        return;
    p->step_s[edge] = in->step_s;
    p->transfer_s[edge] = in->transfer_s;
}

const struct mtg_sched_ops mtg_sched_profiled_ops = {
    .name = "profiled",
    .init = profiled_init,
    .plan_round = profiled_plan,
    .observe = profiled_observe,
    .deinit = profiled_deinit,
    .get_profile = profiled_get,
    .set_profile = profiled_set,
};
