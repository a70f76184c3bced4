/*
 * sgda.h - server side of the baseline protocol (DESIGN §5.1): the
 * generator G_t lives only on the server, discriminators only on the
 * edges. Each step of a task t, the server runs G_t once over P x B latents for the
 * P edges holding t, keeps the activations, hands each edge its B fake
 * rows, waits for every edge's error feedback dL_G/dfake, averages it and
 * backpropagates through G_t with one Adam step. Running G once over all
 * P batches (one sgemm per layer) is the efficient form of the same
 * computation: the baseline is not handicapped.
 *
 * Pipelined (opts.pipeline, the default): every task keeps one step open
 * at once, since tasks' G and Ds are independent, so T tasks share the
 * links instead of taking turns. Lock-step (pipeline off, the seed's
 * "SGDA and its scheduling"): one step open at a time, round-robin over
 * tasks. Each task's own sequence of G and D updates is the same in both.
 *
 *     struct mtg_sgda *s = mtg_sgda_new(&opts, &err);
 *     mtg_sgda_add_task(s, "digit-3", &cfg, seed, &err);
 *     mtg_sgda_register_edge(s, "edge-0", 1, ids, samples, now, &err);
 *     mtg_sgda_tick(s, now);                        // starts a step
 *     mtg_sgda_take_fakes(s, edge, now, &f);        // edge's fake rows
 *     mtg_sgda_feedback(s, edge, f.task, f.step, dfake, n, &fb, now, &err);
 *
 * Not thread-safe: the server holds one lock around every call.
 */
#ifndef MTG_PROTO_SGDA_H
#define MTG_PROTO_SGDA_H

#include <stddef.h>
#include <stdint.h>

#include "core/gan.h"

struct mtg_err;
struct mtg_sgda;

struct mtg_sgda_opts {
    int step_deadline_ms; /* a step closes without a silent edge after this long */
    int edge_expiry_ms;
    uint64_t max_steps;   /* a task at this many steps leaves the rotation; 0 = no budget */
    int pipeline;         /* 1 = one open step per task; 0 = lock-step, one open step in all */
    /*
     * Deterministic mode (DESIGN §4): steps have no deadline and start only
     * once min_edges edges are alive; participants take their fake rows in
     * edge-id order (so the feedback is summed in that order); a step that
     * takes its task across a multiple of eval_every G steps holds the next
     * step until mtg_sgda_eval_done(). Pipelined, tasks instead wait at
     * each multiple of eval_every until all active tasks are there, so the
     * check sees every task at the same step.
     */
    int deterministic;
    int min_edges;
    uint64_t eval_every;
};

struct mtg_sgda_fakes {
    int task;
    uint64_t step;     /* the step id to echo back: lock-step a global count, pipelined the task's own */
    const float *fake; /* [rows, dim], owned by the sgda state, valid until the step closes */
    int rows;
    int dim;
};

struct mtg_sgda_feedback_stats {
    float loss_d;
    float loss_g;
    double compute_s;
};

struct mtg_sgda_task_info {
    const char *id;
    uint64_t steps;   /* G updates so far; also the model version */
    int active;
    double quality_gap;
    float loss_d;
    float loss_g;
    const struct mtg_gan_cfg *cfg;
};

struct mtg_sgda *mtg_sgda_new(const struct mtg_sgda_opts *opts, struct mtg_err *err);
void mtg_sgda_free(struct mtg_sgda *s);

int mtg_sgda_add_task(struct mtg_sgda *s, const char *id, const struct mtg_gan_cfg *cfg, uint64_t seed,
                      struct mtg_err *err);
int mtg_sgda_find_task(const struct mtg_sgda *s, const char *id);
int mtg_sgda_n_tasks(const struct mtg_sgda *s);
void mtg_sgda_task_info(const struct mtg_sgda *s, int task, struct mtg_sgda_task_info *out);
void mtg_sgda_set_task_quality(struct mtg_sgda *s, int task, int active, double gap);
/* The server-side generator and its optimiser (for serving, sampling, checkpoints). */
struct mtg_gan *mtg_sgda_task_gan(struct mtg_sgda *s, int task);
void mtg_sgda_set_task_steps(struct mtg_sgda *s, int task, uint64_t steps);

int mtg_sgda_register_edge(struct mtg_sgda *s, const char *id, int n, const char *const *task_ids,
                           const int *samples, int64_t now_ms, struct mtg_err *err);
int mtg_sgda_find_edge(const struct mtg_sgda *s, const char *id);
int mtg_sgda_n_edges(const struct mtg_sgda *s);
struct mtg_proto_edge;
/* Edge `edge`'s registry entry (id, tasks, liveness), owned by s; edge < n_edges. */
const struct mtg_proto_edge *mtg_sgda_edge(const struct mtg_sgda *s, int edge);
int mtg_sgda_n_alive(const struct mtg_sgda *s);
int mtg_sgda_heartbeat(struct mtg_sgda *s, int edge, int64_t now_ms);

/*
 * The fake rows this edge must judge in an open step (the first task, in
 * task order, that waits for its feedback): MTG_OK, or MTG_EUNAVAIL when
 * no open step involves it (or it already answered them all). Taking
 * twice in one step returns the same rows (idempotent).
 */
int mtg_sgda_take_fakes(struct mtg_sgda *s, int edge, int64_t now_ms, struct mtg_sgda_fakes *out);
/* The same for one task's open step only. */
int mtg_sgda_take_task_fakes(struct mtg_sgda *s, int edge, int task, int64_t now_ms, struct mtg_sgda_fakes *out);

/*
 * The edge's feedback dL_G/dfake [rows, dim] for (task, step). Returns 0
 * (applied), 1 (duplicate, ignored) or < 0: MTG_ECONFLICT (not the
 * task's open step), MTG_EINVAL (wrong size), MTG_ENOTFINITE. When the last
 * participant reports, G takes its Adam step and the next step starts
 * (pipelined: the same task's next step, so its rows can ride on the reply).
 */
int mtg_sgda_feedback(struct mtg_sgda *s, int edge, int task, uint64_t step, const float *dfake, size_t n,
                      const struct mtg_sgda_feedback_stats *st, int64_t now_ms, struct mtg_err *err);

/* Expires edges, closes steps past their deadline, starts the next. 1 if a step closed. */
int mtg_sgda_tick(struct mtg_sgda *s, int64_t now_ms);

uint64_t mtg_sgda_step(const struct mtg_sgda *s);
/* Deterministic mode: 1 while a finished step waits for the caller's quality check. */
int mtg_sgda_eval_pending(const struct mtg_sgda *s);
void mtg_sgda_eval_done(struct mtg_sgda *s);
size_t mtg_sgda_bytes(const struct mtg_sgda *s);
uint64_t mtg_sgda_feedback_accepted(const struct mtg_sgda *s);
uint64_t mtg_sgda_feedback_rejected(const struct mtg_sgda *s);

#endif
