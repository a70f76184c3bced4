#include "sched/sched.h"
#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mtg_sched {
    const struct mtg_sched_ops *ops;
    struct mtg_sched_params params;
    void *state;
};

extern const struct mtg_sched_ops mtg_sched_fixed_ops;
extern const struct mtg_sched_ops mtg_sched_profiled_ops;

static const struct mtg_sched_ops *const policies[] = {
    &mtg_sched_fixed_ops,
    &mtg_sched_profiled_ops,
};

const char *const mtg_sched_policy_names[] = {"fixed", "profiled", NULL};

struct mtg_sched *mtg_sched_new(const char *policy, const struct mtg_sched_params *params,
                                struct mtg_err *err)
{
    const struct mtg_sched_ops *ops = NULL;
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
        if (policy && strcmp(policy, policies[i]->name) == 0)
            ops = policies[i];
    if (!ops) {
        mtg_err_set(err, MTG_EINVAL, "scheduler: unknown policy \"%s\" (known: fixed, profiled)",
                    policy ? policy : "(null)");
        return NULL;
    }
    if (params->local_steps < 1 || params->round_deadline_ms < 1) {
        mtg_err_set(err, MTG_EINVAL, "scheduler: local_steps and round_deadline_ms must be >= 1");
        return NULL;
    }
    struct mtg_sched *s = calloc(1, sizeof *s);
    if (!s) {
        mtg_err_set(err, MTG_ENOMEM, "scheduler: out of memory");
        return NULL;
    }
    s->ops = ops;
    s->params = *params;
    if (ops->init && ops->init(s) != MTG_OK) {
        free(s);
        mtg_err_set(err, MTG_ENOMEM, "scheduler %s: init failed", ops->name);
        return NULL;
    }
    return s;
}

void mtg_sched_free(struct mtg_sched *s)
{
    if (!s)
        return;
    if (s->ops->deinit)
        s->ops->deinit(s);
    free(s);
}

const char *mtg_sched_name(const struct mtg_sched *s) { return s->ops->name; }
const struct mtg_sched_params *mtg_sched_get_params(const struct mtg_sched *s) { return &s->params; }
void mtg_sched_set_params(struct mtg_sched *s, const struct mtg_sched_params *p) { s->params = *p; }
void *mtg_sched_state(struct mtg_sched *s) { return s->state; }
void mtg_sched_set_state(struct mtg_sched *s, void *state) { s->state = state; }

int mtg_sched_plan_round(struct mtg_sched *s, const struct mtg_cluster_view *view, struct mtg_plan *out)
{
    memset(out, 0, sizeof *out);
    out->n_edges = view->n_edges;
    out->deadline_ms = s->params.round_deadline_ms;
    return s->ops->plan_round(s, view, out);
}

void mtg_sched_observe(struct mtg_sched *s, const struct mtg_report *r)
{
    if (s->ops->observe)
        s->ops->observe(s, r);
}

int mtg_sched_get_profile(struct mtg_sched *s, int edge, struct mtg_sched_edge_profile *out)
{
    return s->ops->get_profile ? s->ops->get_profile(s, edge, out) : 0;
}

void mtg_sched_set_profile(struct mtg_sched *s, int edge, const struct mtg_sched_edge_profile *p)
{
    if (s->ops->set_profile && isfinite(p->step_s) && isfinite(p->transfer_s) && p->step_s > 0 &&
        p->transfer_s >= 0)
        s->ops->set_profile(s, edge, p);
}
