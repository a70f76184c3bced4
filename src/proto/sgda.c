#include "proto/sgda.h"
#include "proto/registry.h"
#include "core/status.h"
#include "sched/sched.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SGDA_ID_MAX 64

/*
 * One task's open step: G's output for every participant, kept with its
 * activations until the feedback is in. Lock-step keeps at most one task's
 * step open; pipelined keeps one per task.
 */
struct sgda_step {
    int open;
    uint64_t id;           /* what the edges echo back (lock-step: the global step; pipelined: the task's) */
    int64_t deadline;
    int n_part;
    int *part;             /* participating edge indices [MTG_SCHED_MAX_EDGES], allocated on first use */
    unsigned char *got;    /* feedback received per participant */
    const float *fake;     /* G's output for all participants [n_part x batch, dim] */
    float *dfake;          /* their feedback, same shape */
    size_t dfake_cap;
};

struct sgda_task {
    char id[SGDA_ID_MAX];
    struct mtg_gan_cfg cfg;
    struct mtg_gan *gan; /* role G, g_max_batch = batch x participants */
    uint64_t steps;
    uint64_t opened;     /* steps opened so far (pipelined step ids) */
    int active;
    double gap;
    float loss_d;
    float loss_g;
    struct sgda_step st;
};

struct mtg_sgda {
    struct mtg_sgda_opts opts;
    struct sgda_task *tasks;
    int n_tasks;
    struct mtg_proto_edge *edges; /* [MTG_SCHED_MAX_EDGES], n_edges in use */
    int n_edges;
    int cursor;            /* lock-step: round-robin position */
    uint64_t step;         /* steps opened, all tasks */
    uint64_t accepted;
    uint64_t rejected;
    int eval_pending;
    /* Pipelined deterministic mode: tasks wait at barrier steps until all have arrived, then one quality check. */
    uint64_t barrier;
    int dirty;             /* a step finished since the last quality check */
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
    s->barrier = opts->eval_every;
    s->tasks = calloc(MTG_SCHED_MAX_TASKS, sizeof *s->tasks);
    s->edges = calloc(MTG_SCHED_MAX_EDGES, sizeof *s->edges);
    if (!s->tasks || !s->edges)
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
    for (int i = 0; s->tasks && i < s->n_tasks; i++) {
        mtg_gan_free(s->tasks[i].gan);
        free(s->tasks[i].st.part);
        free(s->tasks[i].st.got);
        free(s->tasks[i].st.dfake);
    }
    free(s->tasks);
    free(s->edges);
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

/* Opens task t's next step over every alive edge holding its data; 0 if it cannot (no participant, no memory). */
static int open_step(struct mtg_sgda *s, int t, int64_t now_ms)
{
    struct sgda_task *task = &s->tasks[t];
    struct sgda_step *st = &task->st;
    if (!st->part) {
        st->part = calloc(MTG_SCHED_MAX_EDGES, sizeof *st->part);
        st->got = calloc(MTG_SCHED_MAX_EDGES, 1);
        if (!st->part || !st->got)
            return 0;
    }
    int n = 0;
    for (int e = 0; e < s->n_edges; e++) {
        if (!s->edges[e].alive || mtg_proto_edge_samples(&s->edges[e], t) <= 0)
            continue;
        /* Participants in edge-id order: who gets which fake rows must not depend on registration order. */
        int i = n++;
        while (s->opts.deterministic && i > 0 && strcmp(s->edges[st->part[i - 1]].id, s->edges[e].id) > 0) {
            st->part[i] = st->part[i - 1];
            i--;
        }
        st->part[i] = e;
    }
    if (n == 0)
        return 0;
    const int b = task->cfg.batch, dim = mtg_gan_data_dim(task->gan);
    size_t need = (size_t)n * b * dim;
    if (ensure_capacity(task, n * b) != MTG_OK)
        return 0;
    if (need > st->dfake_cap) {
        float *p = realloc(st->dfake, need * sizeof(float));
        if (!p)
            return 0;
        st->dfake = p;
        st->dfake_cap = need;
    }
    memset(st->dfake, 0, need * sizeof(float));
    memset(st->got, 0, (size_t)n);
    st->n_part = n;
    st->fake = mtg_gan_g_forward(task->gan, n * b);
    s->step++;
    task->opened++;
    st->id = s->opts.pipeline ? task->opened : s->step;
    st->deadline = s->opts.deterministic ? INT64_MAX : now_ms + s->opts.step_deadline_ms;
    st->open = 1;
    return 1;
}

static int any_open(const struct mtg_sgda *s)
{
    for (int t = 0; t < s->n_tasks; t++)
        if (s->tasks[t].st.open)
            return 1;
    return 0;
}

/* Lock-step: the next active task in round-robin order that has a participant. */
static void start_lockstep(struct mtg_sgda *s, int64_t now_ms)
{
    for (int k = 0; k < s->n_tasks; k++) {
        int t = (s->cursor + k) % s->n_tasks;
        if (s->tasks[t].active && open_step(s, t, now_ms)) {
            s->cursor = (t + 1) % s->n_tasks;
            return;
        }
    }
}

/*
 * Pipelined: every active task without an open step opens one. In
 * deterministic mode a task stops at the barrier (a multiple of
 * eval_every) until every active task is there and the quality check ran,
 * so the check sees each task at the same step whatever the arrival order.
 */
static void start_pipelined(struct mtg_sgda *s, int64_t now_ms)
{
    const uint64_t every = s->opts.deterministic ? s->opts.eval_every : 0;
    for (;;) {
        for (int t = 0; t < s->n_tasks; t++) {
            struct sgda_task *task = &s->tasks[t];
            if (task->active && !task->st.open && (every == 0 || task->steps < s->barrier))
                open_step(s, t, now_ms);
        }
        if (!s->opts.deterministic || any_open(s))
            return;
        if (s->dirty) {
            s->dirty = 0;
            s->eval_pending = 1;
            return;
        }
        int below = 0, active = 0;
        for (int t = 0; t < s->n_tasks; t++) {
            active += s->tasks[t].active;
            below += s->tasks[t].active && s->tasks[t].steps < s->barrier;
        }
        if (every == 0 || !active || below)
            return; /* nothing to do, or a task below the barrier has no participant yet */
        s->barrier += every;
    }
}

static void start_steps(struct mtg_sgda *s, int64_t now_ms)
{
    if (s->eval_pending || (s->opts.deterministic && mtg_sgda_n_alive(s) < s->opts.min_edges))
        return;
    if (s->opts.pipeline)
        start_pipelined(s, now_ms);
    else if (!any_open(s))
        start_lockstep(s, now_ms);
}

static void finish_step(struct mtg_sgda *s, struct sgda_task *t)
{
    struct sgda_step *st = &t->st;
    int got = 0;
    for (int i = 0; i < st->n_part; i++)
        got += st->got[i];
    if (got > 0) {
        /* Missing edges' rows are zero; average over the edges that answered. */
        mtg_gan_g_apply(t->gan, st->dfake, st->n_part * t->cfg.batch, 1.0f / (float)got);
        t->steps++;
        retire_if_spent(s, t);
        s->dirty = 1;
        uint64_t every = s->opts.eval_every;
        if (s->opts.deterministic && !s->opts.pipeline && (!t->active || (every > 0 && t->steps % every == 0)))
            s->eval_pending = 1;
    }
    st->open = 0;
    st->fake = NULL;
}

int mtg_sgda_tick(struct mtg_sgda *s, int64_t now_ms)
{
    mtg_proto_edges_expire(s->edges, s->n_edges, now_ms, s->opts.edge_expiry_ms);
    int closed = 0;
    for (int t = 0; t < s->n_tasks; t++) {
        if (s->tasks[t].st.open && now_ms >= s->tasks[t].st.deadline) {
            finish_step(s, &s->tasks[t]);
            closed = 1;
        }
    }
    start_steps(s, now_ms);
    return closed;
}

static int slot_of(const struct sgda_step *st, int edge)
{
    for (int i = 0; i < st->n_part; i++)
        if (st->part[i] == edge)
            return i;
    return -1;
}

int mtg_sgda_take_task_fakes(struct mtg_sgda *s, int edge, int task, int64_t now_ms, struct mtg_sgda_fakes *out)
{
    if (mtg_proto_edges_seen(s->edges, s->n_edges, edge, now_ms) != MTG_OK)
        return MTG_ENOTFOUND;
    for (int k = 0; k < s->n_tasks; k++) {
        int i = task >= 0 ? task : k;
        if (i >= s->n_tasks)
            break;
        const struct sgda_task *t = &s->tasks[i];
        int slot = t->st.open ? slot_of(&t->st, edge) : -1;
        if (slot >= 0 && !t->st.got[slot]) {
            out->task = i;
            out->step = t->st.id;
            out->rows = t->cfg.batch;
            out->dim = mtg_gan_data_dim(t->gan);
            out->fake = t->st.fake + (size_t)slot * out->rows * out->dim;
            return MTG_OK;
        }
        if (task >= 0)
            break;
    }
    return MTG_EUNAVAIL;
}

int mtg_sgda_take_fakes(struct mtg_sgda *s, int edge, int64_t now_ms, struct mtg_sgda_fakes *out)
{
    return mtg_sgda_take_task_fakes(s, edge, -1, now_ms, out);
}

int mtg_sgda_feedback(struct mtg_sgda *s, int edge, int task, uint64_t step, const float *dfake, size_t n,
                      const struct mtg_sgda_feedback_stats *st, int64_t now_ms, struct mtg_err *err)
{
    if (edge < 0 || edge >= s->n_edges || task < 0 || task >= s->n_tasks) {
        s->rejected++;
        return mtg_err_set(err, MTG_ENOTFOUND, "unknown edge or task");
    }
    s->edges[edge].last_seen = now_ms;
    struct sgda_task *t = &s->tasks[task];
    struct sgda_step *sp = &t->st;
    int slot = sp->open ? slot_of(sp, edge) : -1;
    if (!sp->open || step != sp->id || slot < 0) {
        s->rejected++;
        return mtg_err_set(err, MTG_ECONFLICT, "feedback for step %llu of task \"%s\" is not its open step",
                           (unsigned long long)step, t->id);
    }
    if (sp->got[slot])
        return 1;
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
    memcpy(sp->dfake + (size_t)slot * rows, dfake, rows * sizeof(float));
    sp->got[slot] = 1;
    s->accepted++;
    if (st) {
        t->loss_d = t->loss_d == 0 ? st->loss_d : 0.9f * t->loss_d + 0.1f * st->loss_d;
        t->loss_g = t->loss_g == 0 ? st->loss_g : 0.9f * t->loss_g + 0.1f * st->loss_g;
    }
    int all = 1;
    for (int i = 0; i < sp->n_part; i++)
        all &= sp->got[i];
    if (all) {
        finish_step(s, t);
        start_steps(s, now_ms);
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
    size_t n = sizeof *s;
    for (int i = 0; i < s->n_tasks; i++)
        n += mtg_gan_bytes(s->tasks[i].gan) + s->tasks[i].st.dfake_cap * sizeof(float);
    return n;
}
