/*
 * sched.h - the scheduling API: one ops table that every policy fills, so a
 * new algorithm plugs in without touching protocol code (the redis adlist
 * idea: behaviour through function pointers).
 *
 *     struct mtg_sched *s = mtg_sched_new("profiled", &params, &err);
 *     mtg_sched_plan_round(s, &view, &plan);      // who trains what, how long
 *     ... edges report ...
 *     mtg_sched_observe(s, &report);               // step times, losses, bytes
 *     mtg_sched_free(s);
 *
 * A plan assigns each edge a list of (task, local steps). The server side of
 * protocol mtgan calls plan_round at each round open; sgda uses `fixed`.
 * Plans and views are plain structs, so policies run in unit tests with no
 * network at all.
 */
#ifndef MTG_SCHED_SCHED_H
#define MTG_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct mtg_err;
struct mtg_sched;

#define MTG_SCHED_MAX_EDGES 1024
#define MTG_SCHED_MAX_TASKS 256
#define MTG_SCHED_MAX_EDGE_TASKS 32

/* What the server knows about one edge when it plans a round. */
struct mtg_sched_edge {
    int alive;
    int n_tasks;
    int task[MTG_SCHED_MAX_EDGE_TASKS];     /* indices into the view's tasks */
    int samples[MTG_SCHED_MAX_EDGE_TASKS];  /* local samples of that task */
};

struct mtg_sched_task {
    int active;          /* 0 = finished or paused: plan no work for it */
    double quality_gap;  /* 0 = at target, 1 = far away (priority input) */
    uint64_t rounds;     /* rounds trained so far (new tasks have few) */
};

struct mtg_cluster_view {
    int n_edges;
    const struct mtg_sched_edge *edges;
    int n_tasks;
    const struct mtg_sched_task *tasks;
    uint64_t round;
};

struct mtg_plan_item {
    int task;
    int steps;
};

struct mtg_plan_edge {
    int n_items;
    struct mtg_plan_item item[MTG_SCHED_MAX_EDGE_TASKS];
};

struct mtg_plan {
    int n_edges;
    struct mtg_plan_edge edge[MTG_SCHED_MAX_EDGES];
    int deadline_ms; /* the round closes at this deadline even if edges are missing */
};

/* One edge's report after a round (or a task within it). */
struct mtg_report {
    int edge;
    int task;
    int steps;
    double compute_s;   /* wall seconds spent computing those steps (incl. emulated slowdown) */
    double transfer_s;  /* seconds spent moving models/updates */
    double loss_d;
    double loss_g;
    uint64_t bytes;
};

struct mtg_sched_params {
    int local_steps;        /* steps per task per round for `fixed`; budget unit for others */
    int round_deadline_ms;
    int priority;           /* 1 = tasks further from target get more steps */
    int min_steps;          /* never assign fewer steps than this to an alive edge's task */
};

/* What a policy has measured about one edge; the server checkpoints it by edge id. */
struct mtg_sched_edge_profile {
    double step_s;     /* seconds per local step */
    double transfer_s; /* seconds of transfer per task per round */
};

struct mtg_sched_ops {
    const char *name;
    int (*init)(struct mtg_sched *s);
    int (*plan_round)(struct mtg_sched *s, const struct mtg_cluster_view *view, struct mtg_plan *out);
    void (*observe)(struct mtg_sched *s, const struct mtg_report *r);
    void (*deinit)(struct mtg_sched *s);
    /* Optional (NULL for a policy that measures nothing): edge's profile
     * into *out, returning 1, or 0 when the edge is not profiled yet. */
    int (*get_profile)(struct mtg_sched *s, int edge, struct mtg_sched_edge_profile *out);
    /* Optional: seeds edge's profile (a restarted server's). */
    void (*set_profile)(struct mtg_sched *s, int edge, const struct mtg_sched_edge_profile *p);
};

/* Policy names known to mtg_sched_new ("fixed", "profiled", ...); NULL-terminated. */
extern const char *const mtg_sched_policy_names[];

/* Caller frees with mtg_sched_free(). Unknown policy -> NULL + MTG_EINVAL naming it. */
struct mtg_sched *mtg_sched_new(const char *policy, const struct mtg_sched_params *params,
                                struct mtg_err *err);
void mtg_sched_free(struct mtg_sched *s);
const char *mtg_sched_name(const struct mtg_sched *s);
const struct mtg_sched_params *mtg_sched_get_params(const struct mtg_sched *s);
void mtg_sched_set_params(struct mtg_sched *s, const struct mtg_sched_params *params);

int mtg_sched_plan_round(struct mtg_sched *s, const struct mtg_cluster_view *view, struct mtg_plan *out);
void mtg_sched_observe(struct mtg_sched *s, const struct mtg_report *r);

/* Edge's measured profile into *out: 1, or 0 when the policy keeps none or has not profiled it. */
int mtg_sched_get_profile(struct mtg_sched *s, int edge, struct mtg_sched_edge_profile *out);
/* Seeds edge's profile where the policy keeps one (ignored otherwise, and for
 * non-finite or negative times); a later observation refines it as usual. */
void mtg_sched_set_profile(struct mtg_sched *s, int edge, const struct mtg_sched_edge_profile *p);

/* For policies: their private state pointer. */
void *mtg_sched_state(struct mtg_sched *s);
void mtg_sched_set_state(struct mtg_sched *s, void *state);

#endif
