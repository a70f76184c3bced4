#include "proto/sgda.h"
#include "proto/registry.h"
#include "core/status.h"
#include "sched/sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SGDA_ID_MAX 64

struct sgda_task {
    char id[SGDA_ID_MAX];
    struct mtg_gan_cfg cfg;
    struct mtg_gan *gan; /* role G, g_max_batch = batch x participants */
    uint64_t steps;
    int active;
    double gap;
    float loss_d;
    float loss_g;
};

struct mtg_sgda {
    struct mtg_sgda_opts opts;
    struct sgda_task *tasks;
    int n_tasks;
    struct mtg_proto_edge *edges; /* [MTG_SCHED_MAX_EDGES], n_edges in use */
    int n_edges;
    /* The one step in flight. */
    int running;
    int cur_task;
    int cursor;            /* round-robin position */
    uint64_t step;         /* global step counter (all tasks) */
    int64_t deadline;
    int n_part;
    int *part;             /* participating edge indices [MTG_SCHED_MAX_EDGES] */
    unsigned char *got;    /* feedback received per participant */
    const float *fake;     /* G's output for all participants [n_part x batch, dim] */
    float *dfake;          /* their feedback, same shape */
    size_t dfake_cap;
    uint64_t accepted;
    uint64_t rejected;
    int eval_pending;
};

struct mtg_sgda *mtg_sgda_new(const struct mtg_sgda_opts *opts, struct mtg_err *err)
{
    if (opts->step_deadline_ms < 1 || opts->edge_expiry_ms < 1) {
        mtg_err_set(err, MTG_EINVAL, "sgda: step_deadline_ms and edge_expiry_ms must be >= 1");
        return NULL;
    }
    struct mtg_sgda *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->opts = *opts;
    s->tasks = calloc(MTG_SCHED_MAX_TASKS, sizeof *s->tasks);
    s->edges = calloc(MTG_SCHED_MAX_EDGES, sizeof *s->edges);
    s->part = calloc(MTG_SCHED_MAX_EDGES, sizeof *s->part);
    s->got = calloc(MTG_SCHED_MAX_EDGES, 1);
    if (!s->tasks || !s->edges || !s->part || !s->got)
        goto oom;
    return s;
oom:
    mtg_sgda_free(s);
    mtg_err_set(err, MTG_ENOMEM, "sgda: out of memory");
    return NULL;
}

void mtg_sgda_free(struct mtg_sgda *s)
{
    if (!s)
        return;
    for (int i = 0; s->tasks && i < s->n_tasks; i++)
        mtg_gan_free(s->tasks[i].gan);
    free(s->tasks);
    free(s->edges);
    free(s->part);
    free(s->got);
    free(s->dfake);
    free(s);
}

int mtg_sgda_add_task(struct mtg_sgda *s, const char *id, const struct mtg_gan_cfg *cfg, uint64_t seed,
                      struct mtg_err *err)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len >= SGDA_ID_MAX)
        return mtg_err_set(err, MTG_EINVAL, "task id must be 1..%d characters", SGDA_ID_MAX - 1);
    if (mtg_sgda_find_task(s, id) >= 0)
        return mtg_err_set(err, MTG_ECONFLICT, "task \"%s\" already exists", id);
    if (s->n_tasks >= MTG_SCHED_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "task limit %d reached", MTG_SCHED_MAX_TASKS);
    struct sgda_task *t = &s->tasks[s->n_tasks];
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->cfg.g_max_batch = cfg->batch;
    t->gan = mtg_gan_new(&t->cfg, MTG_GAN_G, seed, err);
    if (!t->gan)
        return mtg_err_wrap(err, "task \"%s\"", id);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->active = 1;
    t->gap = 1.0;
    return s->n_tasks++;
}

int mtg_sgda_find_task(const struct mtg_sgda *s, const char *id)
{
    for (int i = 0; i < s->n_tasks; i++)
        if (strcmp(s->tasks[i].id, id) == 0)
            return i;
    return -1;
}

int mtg_sgda_n_tasks(const struct mtg_sgda *s) { return s->n_tasks; }

void mtg_sgda_task_info(const struct mtg_sgda *s, int task, struct mtg_sgda_task_info *out)
{
    const struct sgda_task *t = &s->tasks[task];
    out->id = t->id;
    out->steps = t->steps;
    out->active = t->active;
    out->quality_gap = t->gap;
    out->loss_d = t->loss_d;
    out->loss_g = t->loss_g;
    out->cfg = &t->cfg;
}

/* Enforced here so the step started right after a task's last one never includes it. */
static void retire_if_spent(const struct mtg_sgda *s, struct sgda_task *t)
{
    if (s->opts.max_steps > 0 && t->steps >= s->opts.max_steps)
        t->active = 0;
}

void mtg_sgda_set_task_quality(struct mtg_sgda *s, int task, int active, double gap)
{
    s->tasks[task].active = active;
    retire_if_spent(s, &s->tasks[task]);
    s->tasks[task].gap = gap;
}

struct mtg_gan *mtg_sgda_task_gan(struct mtg_sgda *s, int task) { return s->tasks[task].gan; }
void mtg_sgda_set_task_steps(struct mtg_sgda *s, int task, uint64_t steps)
{
    s->tasks[task].steps = steps;
    retire_if_spent(s, &s->tasks[task]);
}

int mtg_sgda_find_edge(const struct mtg_sgda *s, const char *id)
{
    return mtg_proto_edges_find(s->edges, s->n_edges, id);
}

static int find_task(const void *s, const char *id) { return mtg_sgda_find_task(s, id); }

int mtg_sgda_register_edge(struct mtg_sgda *s, const char *id, int n, const char *const *task_ids,
                           const int *samples, int64_t now_ms, struct mtg_err *err)
{
    return mtg_proto_edges_register(s->edges, &s->n_edges, id, n, task_ids, samples, find_task, s, now_ms, err);
}

int mtg_sgda_n_edges(const struct mtg_sgda *s) { return s->n_edges; }
const struct mtg_proto_edge *mtg_sgda_edge(const struct mtg_sgda *s, int edge) { return &s->edges[edge]; }
int mtg_sgda_n_alive(const struct mtg_sgda *s) { return mtg_proto_edges_alive(s->edges, s->n_edges); }

int mtg_sgda_heartbeat(struct mtg_sgda *s, int edge, int64_t now_ms)
{
    return mtg_proto_edges_seen(s->edges, s->n_edges, edge, now_ms);
}

/* Grows G's workspace to rows = batch x participants, keeping weights and Adam state. */
static int ensure_capacity(struct sgda_task *t, int rows)
{
    if (mtg_gan_get_cfg(t->gan)->g_max_batch >= rows)
        return MTG_OK;
    struct mtg_gan_cfg c = t->cfg;
    c.g_max_batch = rows;
    struct mtg_gan *g = mtg_gan_new(&c, MTG_GAN_G, 0, NULL);
    if (!g)
        return MTG_ENOMEM;
    struct mtg_net *a = mtg_gan_generator(t->gan), *b = mtg_gan_generator(g);
    size_t n = mtg_net_param_count(a);
    memcpy(mtg_net_params(b), mtg_net_params(a), n * sizeof(float));
    if (mtg_gan_generator_ema(t->gan))
        memcpy(mtg_net_params(mtg_gan_generator_ema(g)), mtg_net_params(mtg_gan_generator_ema(t->gan)),
               n * sizeof(float));
    struct mtg_adam *oa = mtg_gan_g_opt(t->gan), *ob = mtg_gan_g_opt(g);
    memcpy(mtg_adam_m(ob), mtg_adam_m(oa), n * sizeof(float));
    memcpy(mtg_adam_v(ob), mtg_adam_v(oa), n * sizeof(float));
    mtg_adam_set_steps(ob, mtg_adam_steps(oa));
    mtg_gan_free(t->gan);
    t->gan = g;
    t->cfg.g_max_batch = rows;
    return MTG_OK;
}

static void start_step(struct mtg_sgda *s, int64_t now_ms)
{
    for (int k = 0; k < s->n_tasks; k++) {
        int t = (s->cursor + k) % s->n_tasks;
        if (!s->tasks[t].active)
            continue;
        int n = 0;
        for (int e = 0; e < s->n_edges; e++) {
            if (!s->edges[e].alive || mtg_proto_edge_samples(&s->edges[e], t) <= 0)
                continue;
            /* Participants in edge-id order: who gets which fake rows must not depend on registration order. */
            int i = n++;
            while (s->opts.deterministic && i > 0 && strcmp(s->edges[s->part[i - 1]].id, s->edges[e].id) > 0) {
                s->part[i] = s->part[i - 1];
                i--;
            }
            s->part[i] = e;
        }
        if (n == 0)
            continue;
        struct sgda_task *task = &s->tasks[t];
        const int b = task->cfg.batch, dim = mtg_gan_data_dim(task->gan);
        size_t need = (size_t)n * b * dim;
        if (ensure_capacity(task, n * b) != MTG_OK)
            continue;
        if (need > s->dfake_cap) {
            float *p = realloc(s->dfake, need * sizeof(float));
            if (!p)
                continue;
            s->dfake = p;
            s->dfake_cap = need;
        }
        memset(s->dfake, 0, need * sizeof(float));
        memset(s->got, 0, (size_t)n);
        s->n_part = n;
        s->cur_task = t;
        s->fake = mtg_gan_g_forward(task->gan, n * b);
        s->step++;
        s->deadline = s->opts.deterministic ? INT64_MAX : now_ms + s->opts.step_deadline_ms;
        s->running = 1;
        s->cursor = (t + 1) % s->n_tasks;
        return;
    }
}

static void finish_step(struct mtg_sgda *s)
{
    struct sgda_task *t = &s->tasks[s->cur_task];
    int got = 0;
    for (int i = 0; i < s->n_part; i++)
        got += s->got[i];
    if (got > 0) {
        /* Missing edges' rows are zero; average over the edges that answered. */
        mtg_gan_g_apply(t->gan, s->dfake, s->n_part * t->cfg.batch, 1.0f / (float)got);
        t->steps++;
        retire_if_spent(s, t);
        uint64_t every = s->opts.eval_every;
        if (s->opts.deterministic && (!t->active || (every > 0 && t->steps % every == 0)))
            s->eval_pending = 1;
    }
    s->running = 0;
    s->fake = NULL;
}

int mtg_sgda_tick(struct mtg_sgda *s, int64_t now_ms)
{
    mtg_proto_edges_expire(s->edges, s->n_edges, now_ms, s->opts.edge_expiry_ms);
    int closed = 0;
    if (s->running && now_ms >= s->deadline) {
        finish_step(s);
        closed = 1;
    }
    if (!s->running && !s->eval_pending &&
        (!s->opts.deterministic || mtg_sgda_n_alive(s) >= s->opts.min_edges))
        start_step(s, now_ms);
    return closed;
}

static int slot_of(const struct mtg_sgda *s, int edge)
{
    for (int i = 0; i < s->n_part; i++)
        if (s->part[i] == edge)
            return i;
    return -1;
}

int mtg_sgda_take_fakes(struct mtg_sgda *s, int edge, int64_t now_ms, struct mtg_sgda_fakes *out)
{
    if (mtg_proto_edges_seen(s->edges, s->n_edges, edge, now_ms) != MTG_OK)
        return MTG_ENOTFOUND;
    int slot = s->running ? slot_of(s, edge) : -1;
    if (slot < 0 || s->got[slot])
        return MTG_EUNAVAIL;
    const struct sgda_task *t = &s->tasks[s->cur_task];
    out->task = s->cur_task;
    out->step = s->step;
    out->rows = t->cfg.batch;
    out->dim = mtg_gan_data_dim(t->gan);
    out->fake = s->fake + (size_t)slot * out->rows * out->dim;
    return MTG_OK;
}

int mtg_sgda_feedback(struct mtg_sgda *s, int edge, int task, uint64_t step, const float *dfake, size_t n,
                      const struct mtg_sgda_feedback_stats *st, int64_t now_ms, struct mtg_err *err)
{
    if (edge < 0 || edge >= s->n_edges) {
        s->rejected++;
        return mtg_err_set(err, MTG_ENOTFOUND, "unknown edge");
    }
    s->edges[edge].last_seen = now_ms;
    int slot = s->running ? slot_of(s, edge) : -1;
    if (!s->running || step != s->step || task != s->cur_task || slot < 0) {
        s->rejected++;
        return mtg_err_set(err, MTG_ECONFLICT, "feedback for step %llu is not for the current step %llu",
                           (unsigned long long)step, (unsigned long long)s->step);
    }
    if (s->got[slot])
        return 1;
    struct sgda_task *t = &s->tasks[task];
    const size_t rows = (size_t)t->cfg.batch * (size_t)mtg_gan_data_dim(t->gan);
    if (n != rows) {
        s->rejected++;
        return mtg_err_set(err, MTG_EINVAL, "feedback has %zu values, expected %zu", n, rows);
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(dfake[i])) {
            s->rejected++;
            return mtg_err_set(err, MTG_ENOTFINITE, "feedback value %zu is not finite", i);
        }
    }
    memcpy(s->dfake + (size_t)slot * rows, dfake, rows * sizeof(float));
    s->got[slot] = 1;
    s->accepted++;
    if (st) {
        t->loss_d = t->loss_d == 0 ? st->loss_d : 0.9f * t->loss_d + 0.1f * st->loss_d;
        t->loss_g = t->loss_g == 0 ? st->loss_g : 0.9f * t->loss_g + 0.1f * st->loss_g;
    }
    int all = 1;
    for (int i = 0; i < s->n_part; i++)
        all &= s->got[i];
    if (all) {
        finish_step(s);
        if (!s->eval_pending)
            start_step(s, now_ms);
    }
    return 0;
}

uint64_t mtg_sgda_step(const struct mtg_sgda *s) { return s->step; }
int mtg_sgda_eval_pending(const struct mtg_sgda *s) { return s->eval_pending; }
void mtg_sgda_eval_done(struct mtg_sgda *s) { s->eval_pending = 0; }
uint64_t mtg_sgda_feedback_accepted(const struct mtg_sgda *s) { return s->accepted; }
uint64_t mtg_sgda_feedback_rejected(const struct mtg_sgda *s) { return s->rejected; }

size_t mtg_sgda_bytes(const struct mtg_sgda *s)
{
    size_t n = sizeof *s + s->dfake_cap * sizeof(float);
    for (int i = 0; i < s->n_tasks; i++)
        n += mtg_gan_bytes(s->tasks[i].gan);
    return n;
}
