/*
 * fed.h - server side of protocol mtgan: global G_t and D_t per task, edge
 * registry, rounds planned by a scheduler, and streaming aggregation of the
 * deltas edges push (FedAvg, McMahan et al. 2017, weights = samples x steps).
 *
 * Each arriving delta is folded straight into the global, scaled by its
 * planned share w_e / sum(w) of the round, so memory is one copy of the
 * model per task however many edges report (no per-edge copies, no second
 * accumulator). Versions change only when a round closes. `sync`
 * rounds close when every assigned update arrived or the deadline passed;
 * `async` applies each delta on arrival, damped by 1/(1 + staleness) and
 * rejected beyond the staleness bound (FedAsync, Xie et al. 2019).
 *
 *     struct mtg_fed *fed = mtg_fed_new(&opts, sched, &err);
 *     mtg_fed_add_task(fed, "digit-3", &gan_cfg, seed, &err);
 *     int e = mtg_fed_register_edge(fed, "edge-0", 2, ids, samples, now, &err);
 *     mtg_fed_tick(fed, now);                       // opens a round
 *     mtg_fed_get_assignment(fed, e, &a);           // what edge 0 trains
 *     mtg_fed_submit(fed, e, task, a.round, &upd, &err);
 *     mtg_fed_tick(fed, now);                       // closes it, bumps versions
 *
 * Memory budget: with opts.memory_budget > 0 the globals of cold tasks
 * (least recently used, not in the open sync round) are spilled to
 * opts.spill_dir (proto/spill.h) and freed once the resident model bytes
 * exceed the budget, and reloaded on demand. Every access to a task's
 * arrays goes through mtg_fed_task_resident(); a task in the open round is
 * never spilled, so the budget is soft while a round needs more tasks.
 *
 * Not thread-safe: the server holds one lock around every call.
 */
#ifndef MTG_PROTO_FED_H
#define MTG_PROTO_FED_H

#include <stddef.h>
#include <stdint.h>

#include "core/gan.h"
#include "sched/sched.h"

struct mtg_err;
struct mtg_fed;

#define MTG_FED_ID_MAX 64

struct mtg_fed_opts {
    int round_deadline_ms;
    int async;              /* 0 = sync rounds, 1 = apply on arrival */
    int staleness_bound;    /* async: max versions an update may lag */
    float server_lr;        /* 1 = plain FedAvg */
    int edge_expiry_ms;     /* no heartbeat for this long -> edge is dead */
    float max_delta_norm;   /* reject deltas whose L2 norm exceeds this (poisoning guard); 0 = off */
    uint64_t max_steps;     /* a task at this many steps leaves the plan; 0 = no budget */
    size_t memory_budget;   /* resident bytes of task globals before cold tasks spill; 0 = unlimited */
    const char *spill_dir;  /* where spilled tasks go; copied; required when memory_budget > 0 */
    /*
     * Deterministic mode (DESIGN §4): rounds have no deadline and open only
     * once min_edges edges are alive; each task's deltas are summed into a
     * round accumulator in edge-id order whatever their arrival order (an
     * early delta from a later edge waits in a copy), and the globals move
     * only when the round closes. A round that takes a task across a
     * multiple of eval_every steps holds the next round until the caller
     * has judged the models and called mtg_fed_eval_done().
     */
    int deterministic;
    int min_edges;
    uint64_t eval_every;
    /*
     * Protocol fedd (Ren, Liu, Yu & Guo 2021, arXiv 2107.08681): edges
     * train only their local D_t^e, on their real data and fakes from the
     * round's G_t, and send D deltas (dg NULL, ng 0), averaged into D_t+1.
     * The server trains G with its own Adam state, from latents seeded by
     * (seed, task, round): parallel schedule, during the round against D_t
     * on a background thread; serial, at the close against D_t+1
     * (fed_fedd.c). Memory: one extra G+D network per task (the trainer),
     * counted in mtg_fed_bytes.
     */
    int fedd;
    int fedd_parallel;
    uint64_t seed;
};

/* Residency of the tasks' globals under the memory budget (mtg_fed_memory). */
struct mtg_fed_mem {
    int resident;          /* tasks whose G and D are in RAM */
    int spilled;           /* tasks whose G and D live only in their spill file */
    size_t resident_bytes; /* bytes of resident G and D */
    uint64_t spills;       /* spill files written */
    uint64_t reloads;      /* spill files read back */
    uint64_t failures;     /* spill writes or reloads that failed */
};

struct mtg_fed_item {
    int task;
    int steps;
    uint64_t g_version;
    uint64_t d_version;
    int done;
};

struct mtg_fed_assignment {
    uint64_t round;       /* echo it back with the update (async: the base version) */
    int n_items;
    struct mtg_fed_item item[MTG_SCHED_MAX_EDGE_TASKS];
    int64_t deadline_ms;  /* absolute, same clock as `now` */
};

/* One pushed update: deltas of G and D (flat, same layout as mtg_net_params); fedd: dg NULL, ng 0. */
struct mtg_fed_update {
    const float *dg;
    size_t ng;
    const float *dd;
    size_t nd;
    int steps;
    double compute_s;
    double transfer_s;
    float loss_d;
    float loss_g;
};

struct mtg_fed_task_info {
    const char *id;
    uint64_t version;
    uint64_t rounds;
    uint64_t steps;         /* local steps folded into the global so far */
    int active;
    double quality_gap;
    float loss_d;
    float loss_g;
    const struct mtg_gan_cfg *cfg;
    int spilled;            /* its globals live in the spill file (memory budget), not in RAM */
};

enum mtg_fed_submit_result {
    MTG_FED_APPLIED = 0,
    MTG_FED_DUPLICATE = 1, /* the same (edge, task, round) was already folded in: ignored */
};

/* sched is borrowed and must outlive fed. Caller frees with mtg_fed_free(). */
struct mtg_fed *mtg_fed_new(const struct mtg_fed_opts *opts, struct mtg_sched *sched, struct mtg_err *err);
void mtg_fed_free(struct mtg_fed *fed);
void mtg_fed_set_sched(struct mtg_fed *fed, struct mtg_sched *sched);

/* Adds a task with freshly initialised globals; returns its index or < 0. */
int mtg_fed_add_task(struct mtg_fed *fed, const char *id, const struct mtg_gan_cfg *cfg, uint64_t seed,
                     struct mtg_err *err);
/* Adds a task whose globals start as a copy of task `from` (warm start). */
int mtg_fed_add_task_from(struct mtg_fed *fed, const char *id, int from, struct mtg_err *err);
int mtg_fed_find_task(const struct mtg_fed *fed, const char *id);
int mtg_fed_n_tasks(const struct mtg_fed *fed);
void mtg_fed_task_info(const struct mtg_fed *fed, int task, struct mtg_fed_task_info *out);
/*
 * The one gate to a task's arrays: reloads them from the spill file when the
 * task was spilled, marks it most recently used, and may spill other cold
 * tasks to stay within the budget (so pointers to *other* tasks' globals
 * taken earlier become invalid). MTG_OK, or MTG_EUNAVAIL naming the task and
 * the spill file when it cannot be reloaded (missing, CRC, wrong shape); the
 * task then stays spilled and leaves the plan.
 */
int mtg_fed_task_resident(struct mtg_fed *fed, int task, struct mtg_err *err);
/*
 * Global parameters of a task (owned by fed; valid until the next mutating
 * call). NULL when the task is spilled: call mtg_fed_task_resident() first.
 * *n is always set.
 */
float *mtg_fed_task_g(struct mtg_fed *fed, int task, size_t *n);
float *mtg_fed_task_d(struct mtg_fed *fed, int task, size_t *n);
/*
 * The EMA of the global G (recipe.ema > 0), what is sampled, served and
 * exported; NULL when the task keeps none or is spilled. Updated when a
 * round closes, by decay^k with k the round's mean local steps per update.
 */
float *mtg_fed_task_g_ema(struct mtg_fed *fed, int task, size_t *n);
/* Restarts the EMA at G (after G was overwritten by an import or checkpoint without one). */
void mtg_fed_task_ema_reset(struct mtg_fed *fed, int task);
void mtg_fed_memory(const struct mtg_fed *fed, struct mtg_fed_mem *out);
/*
 * Deletes a task's globals for good (DELETE /v1/tasks): frees them (and any
 * round buffers), takes the task out of the open round (its items count as
 * done, so the round does not wait for them) and out of every plan. The
 * index and id stay taken; mtg_fed_task_resident() answers MTG_EUNAVAIL.
 */
void mtg_fed_task_drop(struct mtg_fed *fed, int task);
/* Bytes of G, its EMA and D of every task not dropped, resident or spilled. */
size_t mtg_fed_live_bytes(const struct mtg_fed *fed);
void mtg_fed_set_task_state(struct mtg_fed *fed, int task, uint64_t version, uint64_t rounds, uint64_t steps);
void mtg_fed_set_task_quality(struct mtg_fed *fed, int task, int active, double quality_gap);

/*
 * Registers (or re-registers) an edge holding n tasks given by id with
 * their local sample counts. Unknown task ids fail with MTG_ENOTFOUND.
 * Returns the edge index or < 0.
 */
int mtg_fed_register_edge(struct mtg_fed *fed, const char *id, int n, const char *const *task_ids,
                          const int *samples, int64_t now_ms, struct mtg_err *err);
int mtg_fed_find_edge(const struct mtg_fed *fed, const char *id);
int mtg_fed_n_edges(const struct mtg_fed *fed);
int mtg_fed_n_alive(const struct mtg_fed *fed);
const char *mtg_fed_edge_id(const struct mtg_fed *fed, int edge);
struct mtg_proto_edge;
/* Edge `edge`'s registry entry (id, tasks, liveness) and current assignment, owned by fed; edge < n_edges. */
const struct mtg_proto_edge *mtg_fed_edge(const struct mtg_fed *fed, int edge);
const struct mtg_fed_assignment *mtg_fed_edge_assignment(const struct mtg_fed *fed, int edge);
int mtg_fed_heartbeat(struct mtg_fed *fed, int edge, int64_t now_ms);

/*
 * The edge's work for the current round: MTG_OK with n_items >= 0 (0 = no
 * work for it this round), or MTG_EUNAVAIL when no round is open yet.
 */
int mtg_fed_get_assignment(struct mtg_fed *fed, int edge, int64_t now_ms, struct mtg_fed_assignment *out);

/*
 * Folds an update for (edge, task) of `round` into the running sum. Returns
 * MTG_FED_APPLIED or MTG_FED_DUPLICATE (>= 0), or < 0: MTG_ECONFLICT for a
 * closed round / unassigned task / staleness beyond the bound, MTG_EINVAL
 * for wrong sizes, MTG_ENOTFINITE for NaN/Inf, MTG_ERANGE for an outlier
 * norm. A rejected update changes nothing.
 */
int mtg_fed_submit(struct mtg_fed *fed, int edge, int task, uint64_t round, const struct mtg_fed_update *u,
                   int64_t now_ms, struct mtg_err *err);

/*
 * Advances time: expires silent edges, closes the round when complete or
 * past its deadline (applying the averaged deltas), and opens the next one.
 * Returns 1 when a round closed, else 0.
 */
int mtg_fed_tick(struct mtg_fed *fed, int64_t now_ms);

/* Deterministic mode: 1 while a closed round waits for the caller's quality check. */
int mtg_fed_eval_pending(const struct mtg_fed *fed);
/* The check is done: the next tick may open a round. */
void mtg_fed_eval_done(struct mtg_fed *fed);

uint64_t mtg_fed_round(const struct mtg_fed *fed);
int mtg_fed_round_open(const struct mtg_fed *fed);
/* Bytes held by resident globals and aggregation buffers right now. */
size_t mtg_fed_bytes(const struct mtg_fed *fed);
uint64_t mtg_fed_updates_accepted(const struct mtg_fed *fed);
uint64_t mtg_fed_updates_rejected(const struct mtg_fed *fed);

#endif
