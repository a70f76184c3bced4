/*
 * fed_det.c - deterministic aggregation for protocol mtgan (DESIGN §4,
 * train.deterministic). Float addition is not associative, so the same
 * deltas summed in another order give other bits. Here each task's round
 * sum is built in one fixed order, the planned edges sorted by id: a delta
 * that is next in that order is folded at once (streaming, as in the
 * default mode), one that arrives early waits in a copy until the slots
 * before it are in. The sum goes into a round accumulator, not into the
 * globals, so every edge that pulls during the round gets the round's start
 * model. Cost: one accumulator per task in the round, plus a copy per early
 * delta (worst case, all but one edge of a task early: O(edges x model)).
 */
#include "proto/fed_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t model_floats(const struct fed_task *t) { return t->ng + t->nd; }

int fed_det_open(struct mtg_fed *fed, struct fed_task *t, int task)
{
    int n = 0;
    for (int e = 0; e < fed->n_edges; e++)
        for (int k = 0; k < fed->work[e].asg.n_items; k++)
            n += fed->work[e].asg.item[k].task == task;
    struct fed_slot *slots = calloc((size_t)(n > 0 ? n : 1), sizeof *slots);
    float *acc = calloc(model_floats(t), sizeof(float));
    if (!slots || !acc) {
        free(slots);
        free(acc);
        return -1;
    }
    t->slots = slots;
    t->acc = acc;
    t->n_slots = 0;
    t->next_slot = 0;
    /* Insertion by edge id: the fold order must not depend on registration order. */
    for (int e = 0; e < fed->n_edges; e++) {
        for (int k = 0; k < fed->work[e].asg.n_items; k++) {
            if (fed->work[e].asg.item[k].task != task)
                continue;
            int i = t->n_slots++;
            while (i > 0 && strcmp(fed->edges[slots[i - 1].edge].id, fed->edges[e].id) > 0) {
                slots[i] = slots[i - 1];
                i--;
            }
            memset(&slots[i], 0, sizeof slots[i]);
            slots[i].edge = e;
        }
    }
    fed->det_bytes += model_floats(t) * sizeof(float);
    return 0;
}

static void fold(float *acc, float scale, const float *dg, size_t ng, const float *dd, size_t nd)
{
    for (size_t j = 0; dg && j < ng; j++) /* fedd sends no G delta */
        acc[j] += scale * dg[j];
    for (size_t j = 0; j < nd; j++)
        acc[ng + j] += scale * dd[j];
}

/* Folds every slot from next_slot on whose delta is held, stopping at the first one still missing. */
static void fold_ready(struct mtg_fed *fed, struct fed_task *t)
{
    while (t->next_slot < t->n_slots && t->slots[t->next_slot].arrived) {
        struct fed_slot *sl = &t->slots[t->next_slot++];
        if (!sl->held)
            continue;
        fold(t->acc, sl->scale, sl->held, t->ng, sl->held + t->ng, t->nd);
        free(sl->held);
        sl->held = NULL;
        fed->det_bytes -= model_floats(t) * sizeof(float);
    }
}

void fed_det_submit(struct mtg_fed *fed, struct fed_task *t, int edge, float scale, const float *dg,
                    const float *dd)
{
    struct fed_slot *sl = NULL;
    for (int i = 0; i < t->n_slots && !sl; i++)
        if (t->slots[i].edge == edge)
            sl = &t->slots[i];
    if (!sl || sl->arrived)
        return; /* fed.c checked the assignment; a duplicate never reaches here */
    sl->scale = scale;
    if (sl == &t->slots[t->next_slot]) {
        fold(t->acc, scale, dg, t->ng, dd, t->nd);
        sl->arrived = 1;
        t->next_slot++;
        fold_ready(fed, t);
        return;
    }
    sl->held = malloc(model_floats(t) * sizeof(float));
    if (sl->held) {
        if (dg)
            memcpy(sl->held, dg, t->ng * sizeof(float));
        else
            memset(sl->held, 0, t->ng * sizeof(float));
        memcpy(sl->held + t->ng, dd, t->nd * sizeof(float));
        fed->det_bytes += model_floats(t) * sizeof(float);
    }
    /* Out of memory for the copy: the delta counts as missing, like a dead edge's. */
    sl->arrived = 1;
}

void fed_det_close(struct mtg_fed *fed, struct fed_task *t)
{
    if (!t->acc)
        return;
    /* Slots that never arrived (an edge died) are skipped; the rest keep their order. */
    for (int i = t->next_slot; i < t->n_slots; i++)
        t->slots[i].arrived = 1;
    fold_ready(fed, t);
    for (size_t j = 0; j < t->ng; j++)
        t->g[j] += t->acc[j];
    for (size_t j = 0; j < t->nd; j++)
        t->d[j] += t->acc[t->ng + j];
    fed_det_free(fed, t);
}

void fed_det_free(struct mtg_fed *fed, struct fed_task *t)
{
    for (int i = 0; t->slots && i < t->n_slots; i++) {
        if (t->slots[i].held)
            fed->det_bytes -= model_floats(t) * sizeof(float);
        free(t->slots[i].held);
    }
    if (t->acc)
        fed->det_bytes -= model_floats(t) * sizeof(float);
    free(t->slots);
    free(t->acc);
    t->slots = NULL;
    t->acc = NULL;
    t->n_slots = 0;
    t->next_slot = 0;
}
