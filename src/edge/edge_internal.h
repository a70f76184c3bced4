/* edge_internal.h - state shared by the edge's files (lifecycle, mtgan loop, sgda loop). */
#ifndef MTG_EDGE_INTERNAL_H
#define MTG_EDGE_INTERNAL_H

#include <pthread.h>

#include "core/gan.h"
#include "core/rng.h"
#include "edge/client.h"
#include "edge/edge.h"
#include "wire/blob.h"

#define EDGE_MAX_TASKS 32

struct edge_task {
    char id[64];
    int label;
    float *pool;       /* this edge's real samples of the task [pool_n, dim] */
    int pool_n;
    struct mtg_gan *gan;  /* mtgan: FULL (local G and D); sgda: D only */
    float *start_g;    /* mtgan: the globals last pulled, for deltas and 304s */
    float *start_d;
    float *delta_g;
    float *delta_d;
    uint64_t have;     /* version of start_*; UINT64_MAX = none yet */
    float last_loss_d;
    float last_loss_g;
    /* How to rebuild gan after the memory budget evicted it (edge_mem.c). */
    struct mtg_gan_cfg gc;
    enum mtg_gan_role role;
    uint64_t gan_seed;
    uint64_t last_used; /* LRU clock value of the last assignment that trained it */
};

struct mtg_edge {
    struct mtg_cfg *cfg;
    int shard;
    char id[64];
    int dim;
    int n_tasks;
    struct edge_task task[EDGE_MAX_TASKS];
    struct mtg_client *client;
    struct mtg_client_opts client_opts; /* what every client of this edge is made with (token: below) */
    char token[512];
    /* The uploader thread's own client (scheduler.edge.overlap): curl handles are per thread. */
    struct mtg_client *up_client;
    double up_blocked_s; /* wall seconds the training thread waited for background transfers */
    uint64_t use_clock;  /* LRU clock for the memory budget */
    const atomic_int *stop;
    struct mtg_rng rng;
    float *real;       /* one real batch [batch, dim] */
    float *dfake;      /* sgda feedback [batch, dim] */
    int batch;
    int sgda;
    int fedd;          /* protocol fedd: train D only against the pulled G, push D deltas */
    int pipeline;      /* sgda: the server keeps every task's step open (edge_sgda.c lanes) */
    int lanes;         /* lanes are running: compute_mu guards rng, real, dfake, st and the models */
    pthread_mutex_t compute_mu;
    struct mtg_client *lane_client[EDGE_MAX_TASKS]; /* sgda lanes' connections, one per task */
    int n_lane_clients;
    int det;           /* train.deterministic, ours or the server's: report steps x speed, not seconds */
    double speed;      /* emulation speed factor */
    double sleep_debt; /* seconds of emulated slowness not slept yet */
    char *nets_json;   /* the networks of the last registration reply (config syntax) */
    float *unlabelled; /* data.unlabelled rows [n_unlabelled, dim], scored once after registering */
    int n_unlabelled;
    int scanned;
    float *cand_rows;  /* the rows no known task accepted, waiting for their task (ask) */
    int cand_n;
    char cand_task[64]; /* "" = no candidate pending */
    struct mtg_edge_stats st;
};

/* edge.c */
/*
 * Restarts the data and latent streams of task t from (seed, task, edge, n),
 * n the round (mtgan) or step (sgda), so what an edge trains never depends on
 * what it trained before or in which order (DESIGN §4 reproducibility).
 */
void edge_reseed(struct mtg_edge *e, struct edge_task *t, uint64_t n);
double edge_thread_cpu_s(void);
/* Emulates a device `speed` times slower after c seconds of compute (DESIGN §10). */
void edge_emulate(struct mtg_edge *e, double c);
struct edge_task *edge_find_task(struct mtg_edge *e, const char *id);
/* Adds a task holding a copy of rows [n, dim]. */
int edge_add_task(struct mtg_edge *e, const char *id, int label, const float *rows, int n, struct mtg_err *err);
int edge_build_models(struct mtg_edge *e, const char *config_json, enum mtg_gan_role role, struct mtg_err *err);

/*
 * edge_mem.c: the edge memory budget (scheduler.edge.memory_budget_mb).
 * A task's model (G, D, their Adam state and workspace, and the start and
 * delta copies) is resident when t->gan != NULL. load builds it from
 * t->gc (parameters from the seed, t->have = none, so the next pull
 * downloads the globals); unload frees it. make_resident loads t, first
 * evicting least-recently-trained tasks while the budget would be
 * exceeded; a task bigger than the whole budget is still loaded, alone.
 */
int edge_task_load(struct mtg_edge *e, struct edge_task *t, struct mtg_err *err);
void edge_task_unload(struct edge_task *t);
size_t edge_task_bytes(const struct edge_task *t);
int edge_task_make_resident(struct mtg_edge *e, struct edge_task *t, struct mtg_err *err);

/* edge_fed.c / edge_sgda.c */
/* The configured wire codec for this edge's uploads and downloads. */
void edge_wire_choice(const struct mtg_edge *e, enum mtg_dtype *dtype, unsigned *flags);
int edge_run_fed(struct mtg_edge *e, struct mtg_err *err);
int edge_run_sgda(struct mtg_edge *e, struct mtg_err *err);

/*
 * edge_unknown.c: unknown-task detection on the edge's unlabelled rows
 * (novelty.h). scan scores them once against every known task and reports
 * a candidate; returns 1 when the edge gained a task (re-register), 0 when
 * not, < 0 on error. adopt checks whether a pending candidate's task now
 * exists (an operator accepted it) and takes it on: 1 = re-register.
 */
int edge_scan_unlabelled(struct mtg_edge *e, struct mtg_err *err);
int edge_adopt_candidate(struct mtg_edge *e, struct mtg_err *err);

#endif
