/*
 * server.h - mtgan-server: the cloud worker. Holds the per-task global
 * models of the configured protocol (mtgan: G_t and D_t, sgda: G_t only),
 * plans rounds through the scheduler, aggregates edge updates, evaluates
 * quality, checkpoints to state_dir, and serves the HTTP API of DESIGN §7.
 *
 *     struct mtg_srv *srv;
 *     if (mtg_srv_new(&cfg, &srv, &err) != MTG_OK) die(err.msg);
 *     printf("listening on %u\n", mtg_srv_port(srv));
 *     mtg_srv_run(srv, &stop_flag);    // until *stop_flag or completion
 *     mtg_srv_free(srv);               // final checkpoint, then frees
 */
#ifndef MTG_SERVER_SERVER_H
#define MTG_SERVER_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"
#include "quality/quality.h"

struct mtg_err;
struct mtg_srv;

struct mtg_srv_task_status {
    char id[64];
    uint64_t version;
    uint64_t steps;
    int active;
    int evaluated;
    double fidelity;
    double fd;
    double precision;
    double recall;
    double coverage;
    struct mtg_quality_task ceiling; /* the task's real-vs-real ceiling (quality.h); n = 0 = unknown */
    double reached_s; /* seconds from start to the quality target; < 0 = not yet */
    float loss_d;
    float loss_g;
};

struct mtg_srv_status {
    int protocol;          /* enum mtg_cfg_protocol */
    uint64_t round;        /* mtgan: rounds; sgda: steps */
    int n_tasks;
    int edges_alive;
    int done;
    double elapsed_s;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t updates_accepted;
    uint64_t updates_rejected;
    uint64_t updates_duplicate;  /* retries of an update (or feedback) already folded in: answered, ignored */
    size_t model_bytes;    /* models, optimiser state, in-flight buffers held by the protocol */
    int tasks_resident;    /* tasks whose globals are in RAM (all of them without a memory budget) */
    int tasks_spilled;     /* tasks whose globals are in state_dir/spill (scheduler.server.memory_budget_mb) */
};

/*
 * Builds the server from cfg (copied): restores state_dir's checkpoint if
 * one exists, else creates the configured tasks; loads the quality
 * classifier when train.eval_every > 0; binds cfg->bind:cfg->port.
 * *out is owned by the caller (mtg_srv_free).
 */
int mtg_srv_new(const struct mtg_cfg *cfg, struct mtg_srv **out, struct mtg_err *err);

/* Port actually bound. */
unsigned mtg_srv_port(const struct mtg_srv *srv);

/*
 * Runs the control loop (rounds, deadlines, expiry, evaluation,
 * checkpoints) until *stop becomes non-zero, or, when exit_when_done is
 * set, until every task reached its target or budget. Returns MTG_OK or
 * the error that stopped it.
 */
int mtg_srv_run(struct mtg_srv *srv, const atomic_int *stop, int exit_when_done, struct mtg_err *err);

/* Snapshot of progress, safe from any thread. tasks may be NULL; else it has room for max entries. */
void mtg_srv_status(struct mtg_srv *srv, struct mtg_srv_status *st, struct mtg_srv_task_status *tasks, int max);

/* Writes a checkpoint now (atomic). */
int mtg_srv_checkpoint(struct mtg_srv *srv, struct mtg_err *err);

/* Stops HTTP, writes a final checkpoint when state_dir is set, frees. NULL is fine. */
void mtg_srv_free(struct mtg_srv *srv);

#endif
