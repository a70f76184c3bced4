/*
 * fed_internal.h - the state behind struct mtg_fed, shared by fed.c (rounds,
 * aggregation) and fed_memory.c (the server memory budget: spilling cold
 * tasks' globals and reloading them). Not for use outside src/proto.
 */
#ifndef MTG_PROTO_FED_INTERNAL_H
#define MTG_PROTO_FED_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "proto/fed.h"
#include "proto/registry.h"

struct fed_task {
    char id[MTG_FED_ID_MAX];
    struct mtg_gan_cfg cfg;
    float *g;               /* [ng + ng_ema]: G, then (recipe.ema) the EMA of G that is sampled and served */
    float *d;
    size_t ng;
    size_t ng_ema;          /* ng when the task keeps an EMA of G, else 0 */
    size_t nd;
    uint64_t pending_updates; /* updates folded into the open round (its mean local steps set the EMA's step) */
    uint64_t version;
    uint64_t rounds;
    uint64_t steps;
    int active;
    double gap;
    float loss_d;
    float loss_g;
    /* fedd: the server's G trainer (G, D, G's Adam state) and its dL/dfake workspace; NULL until first used. */
    struct mtg_gan *trainer;
    float *trainer_dfake;
    int fedd_k;             /* parallel schedule: G steps the background trainer takes this round */
    int fedd_trained;       /* parallel schedule: the trainer holds this round's G */
    float fedd_loss_g;
    /*
     * Sync aggregation folds each delta straight into g/d, scaled by its share
     * w_e / w_planned of the round: no second copy of the model exists, so the
     * server holds exactly one O(model) buffer per task (DESIGN §5.2).
     */
    double w_planned;
    double w_recv;
    uint64_t pending_steps;
    int in_round;
    /* Deterministic mode: the round's sum, and its planned edges in id order (fed_det.c). */
    float *acc;                 /* [ng + nd], NULL outside a round */
    struct fed_slot *slots;
    int n_slots;
    int next_slot;              /* the first slot not folded into acc yet */
    /* Memory budget: g/d are NULL while !resident; last_used orders spilling (least recent first). */
    int resident;
    int unloadable;         /* the last reload failed: keep it out of the plan until one succeeds */
    int dropped;            /* deleted: g/d freed for good, the index (and id) stay taken */
    uint64_t last_used;
};

/* Deterministic mode: one planned (edge, task) of the round, in edge-id order. */
struct fed_slot {
    int edge;
    int arrived;
    float scale;    /* its share of the round, w_e / w_planned x server_lr */
    float *held;    /* [ng + nd] copy of a delta that arrived before an earlier slot's, else NULL */
};

/* An edge's work, beside its entry in the shared edge table (fed->edges, same index). */
struct fed_work {
    struct mtg_fed_assignment asg;
    /* The assignment of the round that closed last: a retried upload of it is a duplicate, not an error. */
    struct mtg_fed_assignment prev;
};

struct mtg_fed {
    struct mtg_fed_opts opts;
    struct mtg_sched *sched;
    struct fed_task *tasks;
    int n_tasks;
    struct mtg_proto_edge *edges;       /* [MTG_SCHED_MAX_EDGES], n_edges in use */
    struct fed_work *work;              /* [MTG_SCHED_MAX_EDGES], parallel to edges */
    int n_edges;
    uint64_t round;
    uint64_t async_seq;
    int open;
    int64_t deadline;
    uint64_t accepted;
    uint64_t rejected;
    struct mtg_plan *plan;              /* scratch, reused every round */
    struct mtg_sched_edge *view_edges;  /* scratch [MTG_SCHED_MAX_EDGES] */
    struct mtg_sched_task *view_tasks;  /* scratch [MTG_SCHED_MAX_TASKS] */
    char *spill_dir;                    /* owned copy of opts.spill_dir, NULL without a budget */
    size_t resident_bytes;
    uint64_t clock;                     /* advanced by every access and tick: the LRU order */
    uint64_t spill_retry_at;            /* clock before which a failed spill is not retried */
    uint64_t spills;
    uint64_t reloads;
    uint64_t spill_failures;
    int eval_pending;                   /* deterministic: a closed round waits for the quality check */
    size_t det_bytes;                   /* deterministic: accumulators and held deltas right now */
    size_t trainer_bytes;               /* fedd: the server's G trainers */
    pthread_t fedd_thread;              /* fedd parallel schedule: trains the round's Gs while edges train Ds */
    int fedd_running;
    int fedd_n;                         /* tasks the thread looks at (a task added meanwhile is not one) */
    atomic_int fedd_done;
};

static inline size_t fed_task_bytes(const struct fed_task *t) { return (t->ng + t->ng_ema + t->nd) * sizeof(float); }

/* fed_det.c: the deterministic mode's ordered fold. */
int fed_det_open(struct mtg_fed *fed, struct fed_task *t, int task);
void fed_det_submit(struct mtg_fed *fed, struct fed_task *t, int edge, float scale, const float *dg,
                    const float *dd);
/* Folds what is held in slot order and applies the sum to the globals; frees the round's buffers. */
void fed_det_close(struct mtg_fed *fed, struct fed_task *t);
void fed_det_free(struct mtg_fed *fed, struct fed_task *t);

/*
 * fed_fedd.c: protocol fedd's G training on the server (fed.h). open: at a
 * round's opening, the parallel schedule copies each task's G_t and D_t into
 * its trainer and starts training G on a background thread. ready: 0 while
 * that thread runs (the round cannot close). close_task: serial schedule,
 * k G steps now against the averaged D; parallel, installs the G trained
 * during the round. free: joins the thread.
 */
void fedd_open(struct mtg_fed *fed);
int fedd_ready(struct mtg_fed *fed);
void fedd_close_task(struct mtg_fed *fed, struct fed_task *t, int k);
void fedd_free(struct mtg_fed *fed);

/* Spills least recently used tasks, never `keep` (-1 = none), until the budget holds (fed_memory.c). */
void fed_enforce_budget(struct mtg_fed *fed, int keep);

#endif
