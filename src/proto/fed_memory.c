/* fed_memory.c - the server memory budget of protocol mtgan (opts.memory_budget; see fed.h). */
#include "proto/fed_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"
#include "proto/spill.h"

/* After a failed spill write, leave the budget alone for this many clock ticks (~5 s of server loop). */
#define SPILL_RETRY_TICKS 1000

static int spill_task(struct mtg_fed *fed, struct fed_task *t, struct mtg_err *err)
{
    /* "g" holds G and its EMA back to back: one file, one CRC for both. */
    int rc = mtg_spill_write(fed->spill_dir, t->id, t->g, t->ng + t->ng_ema, t->d, t->nd, err);
    if (rc != MTG_OK)
        return rc;
    /* Only a durable file lets the arrays go: a failed write keeps the task in RAM, over budget. */
    free(t->g);
    free(t->d);
    t->g = NULL;
    t->d = NULL;
    t->resident = 0;
    fed->resident_bytes -= fed_task_bytes(t);
    fed->spills++;
    return MTG_OK;
}

/*
 * Spills least recently used tasks until the resident bytes fit the budget.
 * Never a task of the open sync round (edges are folding deltas into its
 * globals) nor `keep` (the caller is about to use it); when only those are
 * left the budget is exceeded until the round closes.
 */
void fed_enforce_budget(struct mtg_fed *fed, int keep)
{
    if (fed->opts.memory_budget == 0 || fed->clock < fed->spill_retry_at)
        return;
    while (fed->resident_bytes > fed->opts.memory_budget) {
        int victim = -1;
        for (int i = 0; i < fed->n_tasks; i++) {
            const struct fed_task *t = &fed->tasks[i];
            if (!t->resident || t->in_round || i == keep)
                continue;
            if (victim < 0 || t->last_used < fed->tasks[victim].last_used)
                victim = i;
        }
        if (victim < 0)
            return;
        struct mtg_err e = {0};
        if (spill_task(fed, &fed->tasks[victim], &e) != MTG_OK) {
            fed->spill_failures++;
            fed->spill_retry_at = fed->clock + SPILL_RETRY_TICKS;
            mtg_log(MTG_LOG_WARN, "fed", "cannot spill task %s, keeping it in memory: %s", fed->tasks[victim].id,
                    e.msg);
            return;
        }
    }
}

int mtg_fed_task_resident(struct mtg_fed *fed, int task, struct mtg_err *err)
{
    if (task < 0 || task >= fed->n_tasks)
        return mtg_err_set(err, MTG_ENOTFOUND, "unknown task %d", task);
    struct fed_task *t = &fed->tasks[task];
    if (t->dropped)
        return mtg_err_set(err, MTG_EUNAVAIL, "task \"%s\" was deleted", t->id);
    t->last_used = ++fed->clock;
    if (t->resident)
        return MTG_OK;
    struct mtg_err e = {0};
    float *g, *d;
    if (mtg_spill_read(fed->spill_dir, t->id, &g, t->ng + t->ng_ema, &d, t->nd, &e) != MTG_OK) {
        fed->spill_failures++;
        t->unloadable = 1;
        return mtg_err_set(err, MTG_EUNAVAIL, "task \"%s\": cannot reload its spilled globals: %s", t->id, e.msg);
    }
    t->g = g;
    t->d = d;
    t->resident = 1;
    t->unloadable = 0;
    fed->resident_bytes += fed_task_bytes(t);
    fed->reloads++;
    fed_enforce_budget(fed, task);
    return MTG_OK;
}

void mtg_fed_memory(const struct mtg_fed *fed, struct mtg_fed_mem *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < fed->n_tasks; i++) {
        if (fed->tasks[i].resident)
            out->resident++;
        else if (!fed->tasks[i].dropped)
            out->spilled++;
    }
    out->resident_bytes = fed->resident_bytes;
    out->spills = fed->spills;
    out->reloads = fed->reloads;
    out->failures = fed->spill_failures;
}

void mtg_fed_task_drop(struct mtg_fed *fed, int task)
{
    if (task < 0 || task >= fed->n_tasks || fed->tasks[task].dropped)
        return;
    struct fed_task *t = &fed->tasks[task];
    fed_det_free(fed, t);
    if (t->resident)
        fed->resident_bytes -= fed_task_bytes(t);
    free(t->g);
    free(t->d);
    t->g = NULL;
    t->d = NULL;
    t->resident = 0;
    t->dropped = 1;
    t->unloadable = 1;
    t->active = 0;
    t->in_round = 0;
    t->w_planned = 0;
    /* Edges may still hold items of it: done, so neither a sync round nor a deterministic one waits. */
    for (int e = 0; e < fed->n_edges; e++)
        for (int k = 0; k < fed->work[e].asg.n_items; k++)
            if (fed->work[e].asg.item[k].task == task)
                fed->work[e].asg.item[k].done = 1;
}

size_t mtg_fed_live_bytes(const struct mtg_fed *fed)
{
    size_t n = 0;
    for (int i = 0; i < fed->n_tasks; i++)
        if (!fed->tasks[i].dropped)
            n += fed_task_bytes(&fed->tasks[i]);
    return n;
}
