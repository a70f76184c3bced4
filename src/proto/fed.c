#include "proto/fed.h"
#include "proto/fed_internal.h"
#include "proto/registry.h"
#include "core/log.h"
#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mtg_fed *mtg_fed_new(const struct mtg_fed_opts *opts, struct mtg_sched *sched, struct mtg_err *err)
{
    if (opts->round_deadline_ms < 1 || opts->edge_expiry_ms < 1 || !(opts->server_lr > 0.0f) ||
        (opts->async && opts->staleness_bound < 0)) {
        mtg_err_set(err, MTG_EINVAL, "fed: bad options (deadline, expiry, server_lr, staleness_bound)");
        return NULL;
    }
    if (opts->memory_budget > 0 && (!opts->spill_dir || !opts->spill_dir[0])) {
        mtg_err_set(err, MTG_EINVAL, "fed: a memory budget needs a spill directory");
        return NULL;
    }
    struct mtg_fed *fed = calloc(1, sizeof *fed);
    if (!fed)
        goto oom;
    fed->opts = *opts;
    fed->opts.spill_dir = NULL; /* borrowed by the caller; fed keeps its own copy below */
    fed->sched = sched;
    if (opts->memory_budget > 0) {
        size_t len = strlen(opts->spill_dir) + 1;
        fed->spill_dir = malloc(len);
        if (!fed->spill_dir)
            goto oom;
        memcpy(fed->spill_dir, opts->spill_dir, len);
    }
    fed->tasks = calloc(MTG_SCHED_MAX_TASKS, sizeof *fed->tasks);
    fed->edges = calloc(MTG_SCHED_MAX_EDGES, sizeof *fed->edges);
    fed->work = calloc(MTG_SCHED_MAX_EDGES, sizeof *fed->work);
    fed->plan = calloc(1, sizeof *fed->plan);
    fed->view_edges = calloc(MTG_SCHED_MAX_EDGES, sizeof *fed->view_edges);
    fed->view_tasks = calloc(MTG_SCHED_MAX_TASKS, sizeof *fed->view_tasks);
    if (!fed->tasks || !fed->edges || !fed->work || !fed->plan || !fed->view_edges || !fed->view_tasks)
        goto oom;
    return fed;
oom:
    mtg_fed_free(fed);
    mtg_err_set(err, MTG_ENOMEM, "fed: out of memory");
    return NULL;
}

static void end_task_round(struct fed_task *t)
{
    t->in_round = 0;
    t->w_planned = 0;
    t->w_recv = 0;
    t->pending_steps = 0;
    t->pending_updates = 0;
}

void mtg_fed_free(struct mtg_fed *fed)
{
    if (!fed)
        return;
    fedd_free(fed);
    for (int i = 0; fed->tasks && i < fed->n_tasks; i++) {
        fed_det_free(fed, &fed->tasks[i]);
        free(fed->tasks[i].g);
        free(fed->tasks[i].d);
    }
    free(fed->tasks);
    free(fed->edges);
    free(fed->work);
    free(fed->plan);
    free(fed->view_edges);
    free(fed->view_tasks);
    free(fed->spill_dir);
    free(fed);
}

void mtg_fed_set_sched(struct mtg_fed *fed, struct mtg_sched *sched) { fed->sched = sched; }

static int new_task_slot(struct mtg_fed *fed, const char *id, struct mtg_err *err)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len >= MTG_FED_ID_MAX)
        return mtg_err_set(err, MTG_EINVAL, "task id must be 1..%d characters", MTG_FED_ID_MAX - 1);
    if (mtg_fed_find_task(fed, id) >= 0)
        return mtg_err_set(err, MTG_ECONFLICT, "task \"%s\" already exists", id);
    if (fed->n_tasks >= MTG_SCHED_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "task limit %d reached", MTG_SCHED_MAX_TASKS);
    return fed->n_tasks;
}

/* g holds ng + (cfg->recipe.ema > 0 ? ng : 0) floats: G, then its EMA. */
static int commit_task(struct mtg_fed *fed, int idx, const char *id, const struct mtg_gan_cfg *cfg,
                       float *g, size_t ng, float *d, size_t nd)
{
    struct fed_task *t = &fed->tasks[idx];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->cfg = *cfg;
    t->g = g;
    t->ng = ng;
    t->ng_ema = cfg->recipe.ema > 0.0f ? ng : 0;
    t->d = d;
    t->nd = nd;
    t->active = 1;
    t->gap = 1.0;
    t->resident = 1;
    t->last_used = ++fed->clock;
    fed->resident_bytes += fed_task_bytes(t);
    fed->n_tasks++;
    /* Spill as tasks are created, so that startup with many tasks never holds them all at once. */
    fed_enforce_budget(fed, idx);
    return idx;
}

int mtg_fed_add_task(struct mtg_fed *fed, const char *id, const struct mtg_gan_cfg *cfg, uint64_t seed,
                     struct mtg_err *err)
{
    int idx = new_task_slot(fed, id, err);
    if (idx < 0)
        return idx;
    /* Build a throwaway FULL gan to get exactly the initial weights an edge would. */
    struct mtg_gan_cfg c = *cfg;
    c.g_max_batch = c.batch;
    struct mtg_gan *gan = mtg_gan_new(&c, MTG_GAN_FULL, seed, err);
    if (!gan)
        return mtg_err_wrap(err, "task \"%s\"", id);
    size_t ng = mtg_net_param_count(mtg_gan_generator(gan));
    size_t nd = mtg_net_param_count(mtg_gan_discriminator(gan));
    size_t ng_ema = cfg->recipe.ema > 0.0f ? ng : 0;
    float *g = malloc((ng + ng_ema) * sizeof(float));
    float *d = malloc(nd * sizeof(float));
    if (!g || !d) {
        free(g);
        free(d);
        mtg_gan_free(gan);
        return mtg_err_set(err, MTG_ENOMEM, "task \"%s\": out of memory", id);
    }
    memcpy(g, mtg_net_params(mtg_gan_generator(gan)), ng * sizeof(float));
    if (ng_ema)
        memcpy(g + ng, g, ng * sizeof(float)); /* the EMA starts at G */
    memcpy(d, mtg_net_params(mtg_gan_discriminator(gan)), nd * sizeof(float));
    mtg_gan_free(gan);
    return commit_task(fed, idx, id, cfg, g, ng, d, nd);
}

int mtg_fed_add_task_from(struct mtg_fed *fed, const char *id, int from, struct mtg_err *err)
{
    if (from < 0 || from >= fed->n_tasks)
        return mtg_err_set(err, MTG_ENOTFOUND, "warm-start source task %d does not exist", from);
    int idx = new_task_slot(fed, id, err);
    if (idx < 0)
        return idx;
    int rc = mtg_fed_task_resident(fed, from, err);
    if (rc != MTG_OK)
        return rc;
    const struct fed_task *s = &fed->tasks[from];
    float *g = malloc((s->ng + s->ng_ema) * sizeof(float));
    float *d = malloc(s->nd * sizeof(float));
    if (!g || !d) {
        free(g);
        free(d);
        return mtg_err_set(err, MTG_ENOMEM, "task \"%s\": out of memory", id);
    }
    memcpy(g, s->g, (s->ng + s->ng_ema) * sizeof(float));
    memcpy(d, s->d, s->nd * sizeof(float));
    return commit_task(fed, idx, id, &s->cfg, g, s->ng, d, s->nd);
}

int mtg_fed_find_task(const struct mtg_fed *fed, const char *id)
{
    for (int i = 0; i < fed->n_tasks; i++)
        if (strcmp(fed->tasks[i].id, id) == 0)
            return i;
    return -1;
}

int mtg_fed_n_tasks(const struct mtg_fed *fed) { return fed->n_tasks; }

void mtg_fed_task_info(const struct mtg_fed *fed, int task, struct mtg_fed_task_info *out)
{
    const struct fed_task *t = &fed->tasks[task];
    out->id = t->id;
    out->version = t->version;
    out->rounds = t->rounds;
    out->steps = t->steps;
    out->active = t->active;
    out->quality_gap = t->gap;
    out->loss_d = t->loss_d;
    out->loss_g = t->loss_g;
    out->cfg = &t->cfg;
    out->spilled = !t->resident;
}

float *mtg_fed_task_g(struct mtg_fed *fed, int task, size_t *n)
{
    *n = fed->tasks[task].ng;
    return fed->tasks[task].resident ? fed->tasks[task].g : NULL;
}

float *mtg_fed_task_g_ema(struct mtg_fed *fed, int task, size_t *n)
{
    const struct fed_task *t = &fed->tasks[task];
    *n = t->ng;
    return t->resident && t->ng_ema ? t->g + t->ng : NULL;
}

void mtg_fed_task_ema_reset(struct mtg_fed *fed, int task)
{
    struct fed_task *t = &fed->tasks[task];
    if (t->resident && t->ng_ema)
        memcpy(t->g + t->ng, t->g, t->ng * sizeof(float));
}

/*
 * ema <- a ema + (1 - a) g with a = decay^k: one FedAvg round moves G as far
 * as k local steps do, so the EMA forgets at the same rate per step as
 * centralised training's (DESIGN §4: the same recipe in every protocol).
 */
static void ema_update(struct fed_task *t, double k)
{
    if (!t->ng_ema || !(k > 0))
        return;
    const float a = (float)pow((double)t->cfg.recipe.ema, k);
    float *e = t->g + t->ng;
    for (size_t j = 0; j < t->ng; j++)
        e[j] = a * e[j] + (1.0f - a) * t->g[j];
}

float *mtg_fed_task_d(struct mtg_fed *fed, int task, size_t *n)
{
    *n = fed->tasks[task].nd;
    return fed->tasks[task].resident ? fed->tasks[task].d : NULL;
}

/*
 * The budget is enforced here, not by the server's loop, so that the round
 * opened right after this one never includes a task that has just finished:
 * a finished task's globals must not move again.
 */
static void retire_if_spent(const struct mtg_fed *fed, struct fed_task *t)
{
    if (fed->opts.max_steps > 0 && t->steps >= fed->opts.max_steps)
        t->active = 0;
}

void mtg_fed_set_task_state(struct mtg_fed *fed, int task, uint64_t version, uint64_t rounds, uint64_t steps)
{
    fed->tasks[task].version = version;
    fed->tasks[task].rounds = rounds;
    fed->tasks[task].steps = steps;
    retire_if_spent(fed, &fed->tasks[task]);
}

void mtg_fed_set_task_quality(struct mtg_fed *fed, int task, int active, double gap)
{
    fed->tasks[task].active = active;
    retire_if_spent(fed, &fed->tasks[task]);
    fed->tasks[task].gap = gap < 0 ? 0 : gap > 1 ? 1 : gap;
}

int mtg_fed_find_edge(const struct mtg_fed *fed, const char *id)
{
    return mtg_proto_edges_find(fed->edges, fed->n_edges, id);
}

static int find_task(const void *fed, const char *id) { return mtg_fed_find_task(fed, id); }

int mtg_fed_register_edge(struct mtg_fed *fed, const char *id, int n, const char *const *task_ids,
                          const int *samples, int64_t now_ms, struct mtg_err *err)
{
    int known = mtg_fed_find_edge(fed, id) >= 0;
    int e = mtg_proto_edges_register(fed->edges, &fed->n_edges, id, n, task_ids, samples, find_task, fed, now_ms,
                                     err);
    /* A re-registering edge (restart) loses its old assignment; the round will not wait for it. A new edge in an
     * expired edge's slot inherits nothing of it, not even the last round's answers. */
    if (e >= 0 && known)
        memset(&fed->work[e].asg, 0, sizeof fed->work[e].asg);
    else if (e >= 0)
        memset(&fed->work[e], 0, sizeof fed->work[e]);
    return e;
}

int mtg_fed_n_edges(const struct mtg_fed *fed) { return fed->n_edges; }

int mtg_fed_n_alive(const struct mtg_fed *fed) { return mtg_proto_edges_alive(fed->edges, fed->n_edges); }

const char *mtg_fed_edge_id(const struct mtg_fed *fed, int edge) { return fed->edges[edge].id; }

const struct mtg_proto_edge *mtg_fed_edge(const struct mtg_fed *fed, int edge) { return &fed->edges[edge]; }

const struct mtg_fed_assignment *mtg_fed_edge_assignment(const struct mtg_fed *fed, int edge)
{
    return &fed->work[edge].asg;
}

int mtg_fed_heartbeat(struct mtg_fed *fed, int edge, int64_t now_ms)
{
    return mtg_proto_edges_seen(fed->edges, fed->n_edges, edge, now_ms);
}

static void build_view(struct mtg_fed *fed, struct mtg_cluster_view *v)
{
    for (int e = 0; e < fed->n_edges; e++) {
        const struct mtg_proto_edge *ed = &fed->edges[e];
        struct mtg_sched_edge *ve = &fed->view_edges[e];
        ve->alive = ed->alive;
        ve->n_tasks = ed->n_tasks;
        memcpy(ve->task, ed->task, sizeof ve->task);
        memcpy(ve->samples, ed->samples, sizeof ve->samples);
    }
    for (int t = 0; t < fed->n_tasks; t++) {
        fed->view_tasks[t].active = fed->tasks[t].active && !fed->tasks[t].unloadable;
        fed->view_tasks[t].quality_gap = fed->tasks[t].gap;
        fed->view_tasks[t].rounds = fed->tasks[t].rounds;
    }
    v->n_edges = fed->n_edges;
    v->edges = fed->view_edges;
    v->n_tasks = fed->n_tasks;
    v->tasks = fed->view_tasks;
    v->round = fed->round;
}

static void fill_assignment(struct mtg_fed *fed, int e, const struct mtg_plan_edge *pe, uint64_t round,
                            int64_t deadline)
{
    struct mtg_fed_assignment *a = &fed->work[e].asg;
    memset(a, 0, sizeof *a);
    a->round = round;
    a->deadline_ms = deadline;
    for (int k = 0; k < pe->n_items && k < MTG_SCHED_MAX_EDGE_TASKS; k++) {
        const struct fed_task *t = &fed->tasks[pe->item[k].task];
        a->item[k].task = pe->item[k].task;
        a->item[k].steps = pe->item[k].steps;
        a->item[k].g_version = t->version;
        a->item[k].d_version = t->version;
    }
    a->n_items = pe->n_items < MTG_SCHED_MAX_EDGE_TASKS ? pe->n_items : MTG_SCHED_MAX_EDGE_TASKS;
}

/* Sync only: record each task's planned total weight, the denominator of every share. */
static int open_round(struct mtg_fed *fed, int64_t now_ms)
{
    struct mtg_cluster_view v;
    build_view(fed, &v);
    if (mtg_sched_plan_round(fed->sched, &v, fed->plan) != MTG_OK)
        return 0;
    int work = 0;
    for (int e = 0; e < fed->n_edges; e++)
        work += fed->plan->edge[e].n_items;
    if (work == 0)
        return 0;
    fed->round++;
    /* Deterministic rounds wait for every edge: a deadline would make the models depend on load. */
    fed->deadline = fed->opts.deterministic ? INT64_MAX : now_ms + fed->plan->deadline_ms;
    for (int e = 0; e < fed->n_edges; e++) {
        fill_assignment(fed, e, &fed->plan->edge[e], fed->round, fed->deadline);
        for (int k = 0; k < fed->work[e].asg.n_items; k++) {
            const struct mtg_fed_item *it = &fed->work[e].asg.item[k];
            struct fed_task *t = &fed->tasks[it->task];
            t->in_round = 1;
            t->w_planned += (double)mtg_proto_edge_samples(&fed->edges[e], it->task) * (double)it->steps;
        }
    }
    for (int i = 0; fed->opts.deterministic && i < fed->n_tasks; i++) {
        if (fed->tasks[i].in_round && fed_det_open(fed, &fed->tasks[i], i) != 0) {
            /* Out of memory for the accumulators: undo, and try again at the next tick. */
            for (int j = 0; j < fed->n_tasks; j++) {
                fed_det_free(fed, &fed->tasks[j]);
                end_task_round(&fed->tasks[j]);
            }
            for (int e = 0; e < fed->n_edges; e++)
                fed->work[e].asg.n_items = 0;
            fed->round--;
            mtg_log(MTG_LOG_WARN, "fed", "round %llu: no memory for the deterministic accumulators",
                    (unsigned long long)fed->round + 1);
            return 0;
        }
    }
    if (fed->opts.fedd)
        fedd_open(fed);
    fed->open = 1;
    return 1;
}

static void close_round(struct mtg_fed *fed)
{
    for (int i = 0; i < fed->n_tasks; i++) {
        struct fed_task *t = &fed->tasks[i];
        if (!t->in_round)
            continue;
        /* The deltas are already in g/d (deterministic: in acc, applied now); a missing edge's share acted
         * as a zero update. */
        fed_det_close(fed, t);
        uint64_t before = t->steps;
        if (t->w_recv > 0 && fed->opts.fedd)
            fedd_close_task(fed, t, (int)(t->pending_steps / (t->pending_updates ? t->pending_updates : 1)));
        if (t->w_recv > 0) {
            t->version++;
            t->rounds++;
            t->steps += t->pending_steps;
            ema_update(t, t->pending_updates ? (double)t->pending_steps / (double)t->pending_updates : 0);
        }
        end_task_round(t);
        retire_if_spent(fed, t);
        uint64_t every = fed->opts.eval_every;
        if (fed->opts.deterministic && t->steps != before && (!t->active || (every > 0 && t->steps / every != before / every)))
            fed->eval_pending = 1;
    }
    for (int e = 0; e < fed->n_edges; e++) {
        fed->work[e].prev = fed->work[e].asg;
        fed->work[e].asg.n_items = 0;
    }
    fed->open = 0;
}

static int round_complete(const struct mtg_fed *fed)
{
    for (int e = 0; e < fed->n_edges; e++) {
        const struct fed_work *w = &fed->work[e];
        if (!fed->edges[e].alive || w->asg.round != fed->round)
            continue;
        for (int k = 0; k < w->asg.n_items; k++)
            if (!w->asg.item[k].done)
                return 0;
    }
    return 1;
}

int mtg_fed_tick(struct mtg_fed *fed, int64_t now_ms)
{
    fed->clock++;
    mtg_proto_edges_expire(fed->edges, fed->n_edges, now_ms, fed->opts.edge_expiry_ms);
    int closed = 0;
    if (!fed->opts.async && fed->open && (round_complete(fed) || now_ms >= fed->deadline) && fedd_ready(fed)) {
        close_round(fed);
        closed = 1;
    }
    if (!fed->opts.async && !fed->open && !fed->eval_pending &&
        (!fed->opts.deterministic || mtg_fed_n_alive(fed) >= fed->opts.min_edges))
        open_round(fed, now_ms);
    /* Tasks that just left the round are the ones that may have to go. */
    fed_enforce_budget(fed, -1);
    return closed;
}

int mtg_fed_get_assignment(struct mtg_fed *fed, int edge, int64_t now_ms, struct mtg_fed_assignment *out)
{
    if (mtg_proto_edges_seen(fed->edges, fed->n_edges, edge, now_ms) != MTG_OK)
        return MTG_ENOTFOUND;
    struct fed_work *ed = &fed->work[edge];
    if (fed->opts.async) {
        /* Each request plans afresh for this edge: it asks only when its last work is done. */
        struct mtg_cluster_view v;
        build_view(fed, &v);
        if (mtg_sched_plan_round(fed->sched, &v, fed->plan) != MTG_OK)
            return MTG_EUNAVAIL;
        fill_assignment(fed, edge, &fed->plan->edge[edge], ++fed->async_seq,
                        now_ms + fed->plan->deadline_ms);
        *out = ed->asg;
        return out->n_items > 0 ? MTG_OK : MTG_EUNAVAIL;
    }
    if (!fed->open)
        return MTG_EUNAVAIL;
    if (ed->asg.round != fed->round) {
        memset(out, 0, sizeof *out);
        out->round = fed->round;
        out->deadline_ms = fed->deadline;
        return MTG_OK;
    }
    *out = ed->asg;
    return MTG_OK;
}

static int check_update(const struct mtg_fed *fed, const struct fed_task *t, const struct mtg_fed_update *u,
                        struct mtg_err *err)
{
    if (fed->opts.fedd && (u->dg || u->ng))
        return mtg_err_set(err, MTG_EINVAL, "task \"%s\": protocol fedd takes a D delta only, not G", t->id);
    if ((!fed->opts.fedd && u->ng != t->ng) || u->nd != t->nd)
        return mtg_err_set(err, MTG_EINVAL, "task \"%s\": delta has %zu+%zu parameters, model has %zu+%zu",
                           t->id, u->ng, u->nd, t->ng, t->nd);
    double ss = 0;
    for (size_t j = 0; u->dg && j < u->ng; j++)
        ss += (double)u->dg[j] * u->dg[j];
    for (size_t j = 0; j < u->nd; j++)
        ss += (double)u->dd[j] * u->dd[j];
    if (!isfinite(ss))
        return mtg_err_set(err, MTG_ENOTFINITE, "task \"%s\": delta contains NaN or Inf", t->id);
    if (fed->opts.max_delta_norm > 0 && sqrt(ss) > fed->opts.max_delta_norm)
        return mtg_err_set(err, MTG_ERANGE, "task \"%s\": delta norm %.3g exceeds the limit %.3g", t->id,
                           sqrt(ss), (double)fed->opts.max_delta_norm);
    if (u->steps < 1)
        return mtg_err_set(err, MTG_EINVAL, "task \"%s\": update reports %d steps", t->id, u->steps);
    return MTG_OK;
}

int mtg_fed_submit(struct mtg_fed *fed, int edge, int task, uint64_t round, const struct mtg_fed_update *u,
                   int64_t now_ms, struct mtg_err *err)
{
    if (edge < 0 || edge >= fed->n_edges || task < 0 || task >= fed->n_tasks) {
        fed->rejected++;
        return mtg_err_set(err, MTG_ENOTFOUND, "unknown edge or task");
    }
    struct fed_work *ed = &fed->work[edge];
    struct fed_task *t = &fed->tasks[task];
    fed->edges[edge].last_seen = now_ms;
    for (int k = 0; round != ed->asg.round && round == ed->prev.round && k < ed->prev.n_items; k++)
        if (ed->prev.item[k].task == task && ed->prev.item[k].done)
            return MTG_FED_DUPLICATE;
    struct mtg_fed_item *item = NULL;
    for (int k = 0; k < ed->asg.n_items; k++)
        if (ed->asg.item[k].task == task)
            item = &ed->asg.item[k];
    if (ed->asg.round != round || !item) {
        /* Too late to count, but its timing is still the best profile of this edge: without it a
         * deadline shorter than the edge's work would reject every round the same way. */
        if (round == ed->prev.round && u->steps > 0) {
            struct mtg_report late = {.edge = edge, .task = task, .steps = u->steps, .compute_s = u->compute_s,
                                      .transfer_s = u->transfer_s, .loss_d = u->loss_d, .loss_g = u->loss_g};
            mtg_sched_observe(fed->sched, &late);
        }
        fed->rejected++;
        return mtg_err_set(err, MTG_ECONFLICT, "edge \"%s\": no open assignment for task \"%s\" in round %llu",
                           fed->edges[edge].id, t->id, (unsigned long long)round);
    }
    if (item->done)
        return MTG_FED_DUPLICATE;
    int rc = mtg_fed_task_resident(fed, task, err);
    if (rc == MTG_OK)
        rc = check_update(fed, t, u, err);
    if (rc != MTG_OK) {
        fed->rejected++;
        return rc;
    }
    /* Weight by what the server planned, not what the edge claims: an edge cannot buy influence. */
    double w = (double)mtg_proto_edge_samples(&fed->edges[edge], task) * (double)item->steps;
    if (fed->opts.async) {
        uint64_t staleness = t->version - item->g_version;
        if (staleness > (uint64_t)fed->opts.staleness_bound) {
            fed->rejected++;
            return mtg_err_set(err, MTG_ECONFLICT,
                               "task \"%s\": update is %llu versions stale (bound %d)", t->id,
                               (unsigned long long)staleness, fed->opts.staleness_bound);
        }
        double wall = 0;
        for (int e = 0; e < fed->n_edges; e++)
            if (fed->edges[e].alive)
                wall += (double)mtg_proto_edge_samples(&fed->edges[e], task) * item->steps;
        float a = (float)(fed->opts.server_lr * (wall > 0 ? w / wall : 1.0) / (1.0 + (double)staleness));
        for (size_t j = 0; j < t->ng; j++)
            t->g[j] += a * u->dg[j];
        for (size_t j = 0; j < t->nd; j++)
            t->d[j] += a * u->dd[j];
        t->version++;
        t->rounds++;
        t->steps += (uint64_t)u->steps;
        ema_update(t, (double)u->steps);
        retire_if_spent(fed, t);
    } else {
        if (!t->in_round || !(t->w_planned > 0)) {
            fed->rejected++;
            return mtg_err_set(err, MTG_ECONFLICT, "task \"%s\": round %llu is closed", t->id,
                               (unsigned long long)round);
        }
        const float a = (float)(fed->opts.server_lr * w / t->w_planned);
        if (fed->opts.deterministic) {
            fed_det_submit(fed, t, edge, a, u->dg, u->dd);
        } else {
            for (size_t j = 0; u->dg && j < t->ng; j++)
                t->g[j] += a * u->dg[j];
            for (size_t j = 0; j < t->nd; j++)
                t->d[j] += a * u->dd[j];
        }
        t->w_recv += w;
        t->pending_steps += (uint64_t)u->steps;
        t->pending_updates++;
    }
    item->done = 1;
    t->loss_d = t->loss_d == 0 ? u->loss_d : 0.7f * t->loss_d + 0.3f * u->loss_d;
    t->loss_g = t->loss_g == 0 ? u->loss_g : 0.7f * t->loss_g + 0.3f * u->loss_g;
    fed->accepted++;
    struct mtg_report r = {.edge = edge, .task = task, .steps = u->steps, .compute_s = u->compute_s,
                           .transfer_s = u->transfer_s, .loss_d = u->loss_d, .loss_g = u->loss_g};
    mtg_sched_observe(fed->sched, &r);
    return MTG_FED_APPLIED;
}

int mtg_fed_eval_pending(const struct mtg_fed *fed) { return fed->eval_pending; }
void mtg_fed_eval_done(struct mtg_fed *fed) { fed->eval_pending = 0; }
uint64_t mtg_fed_round(const struct mtg_fed *fed) { return fed->round; }
int mtg_fed_round_open(const struct mtg_fed *fed) { return fed->open; }
uint64_t mtg_fed_updates_accepted(const struct mtg_fed *fed) { return fed->accepted; }
uint64_t mtg_fed_updates_rejected(const struct mtg_fed *fed) { return fed->rejected; }

size_t mtg_fed_bytes(const struct mtg_fed *fed)
{
    return sizeof *fed + fed->resident_bytes + fed->det_bytes + fed->trainer_bytes;
}
