/*
 * edge_mem.c - the edge memory budget (scheduler.edge.memory_budget_mb; see
 * edge_internal.h). Evicting a task loses nothing the protocol needs: an
 * mtgan edge starts every assignment from the server's current globals
 * (edge_fed.c pull() overwrites the local G/D from start_*, downloaded or
 * cached), so a reloaded task simply downloads them in full. What is lost
 * is the local Adam state, which then restarts from zero (documented in
 * docs/config.md).
 */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"
#include "edge/edge_internal.h"

size_t edge_task_bytes(const struct edge_task *t)
{
    if (!t->gan)
        return 0;
    size_t n = mtg_gan_bytes(t->gan);
    if (t->role == MTG_GAN_FULL)
        n += 2 * (mtg_net_param_count(mtg_gan_generator(t->gan)) + mtg_net_param_count(mtg_gan_discriminator(t->gan))) *
             sizeof(float);
    return n;
}

void edge_task_unload(struct edge_task *t)
{
    mtg_gan_free(t->gan);
    free(t->start_g), free(t->start_d), free(t->delta_g), free(t->delta_d);
    t->gan = NULL;
    t->start_g = t->start_d = t->delta_g = t->delta_d = NULL;
    t->have = UINT64_MAX; /* start_* are gone: the next pull must download, never answer 304 */
}

int edge_task_load(struct mtg_edge *e, struct edge_task *t, struct mtg_err *err)
{
    edge_task_unload(t);
    t->gan = mtg_gan_new(&t->gc, t->role, t->gan_seed, err);
    if (!t->gan)
        return err->code;
    if (t->role == MTG_GAN_FULL) {
        size_t ng = mtg_net_param_count(mtg_gan_generator(t->gan));
        size_t nd = mtg_net_param_count(mtg_gan_discriminator(t->gan));
        t->start_g = malloc(ng * sizeof(float));
        t->start_d = malloc(nd * sizeof(float));
        t->delta_g = malloc(ng * sizeof(float));
        t->delta_d = malloc(nd * sizeof(float));
        if (!t->start_g || !t->start_d || !t->delta_g || !t->delta_d) {
            edge_task_unload(t);
            return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory for task %s", t->id);
        }
    }
    e->st.model_loads++;
    return MTG_OK;
}

int edge_task_make_resident(struct mtg_edge *e, struct edge_task *t, struct mtg_err *err)
{
    t->last_used = ++e->use_clock;
    if (t->gan)
        return MTG_OK;
    int rc = edge_task_load(e, t, err);
    if (rc != MTG_OK)
        return rc;
    size_t budget = (size_t)e->cfg->scheduler.edge.memory_budget_mb << 20; /* 0 = unlimited */
    /* Measure after loading: the exact size of this task's model is only known once built. */
    for (;;) {
        size_t held = 0;
        struct edge_task *lru = NULL;
        for (int i = 0; i < e->n_tasks; i++) {
            struct edge_task *o = &e->task[i];
            held += edge_task_bytes(o);
            if (o != t && o->gan && (!lru || o->last_used < lru->last_used))
                lru = o;
        }
        if (held > e->st.model_bytes_peak)
            e->st.model_bytes_peak = held;
        if (budget == 0 || held <= budget || !lru) {
            if (budget > 0 && held > budget)
                mtg_log(MTG_LOG_WARN, "edge", "%s: task %s alone needs %zu bytes, over the %d MB budget", e->id,
                        t->id, held, e->cfg->scheduler.edge.memory_budget_mb);
            return MTG_OK;
        }
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: memory budget: evicting task %s (%zu bytes) for %s", e->id, lru->id,
                edge_task_bytes(lru), t->id);
        edge_task_unload(lru);
        e->st.model_evictions++;
    }
}
