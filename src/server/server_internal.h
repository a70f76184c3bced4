/*
 * server_internal.h - state shared by the server's files (lifecycle,
 * routes, checkpoints, metrics). Everything in struct mtg_srv below `mu`
 * is guarded by it; handlers lock, call into proto/, unlock.
 */
#ifndef MTG_SERVER_INTERNAL_H
#define MTG_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "config/config.h"
#include "proto/fed.h"
#include "proto/sgda.h"
#include "sched/sched.h"
#include "server/http.h"
#include "server/model_cache.h"
#include "server/server.h"
#include "wire/blob.h"

struct mtg_quality;
struct srv_lifelong;
struct srv_dash;

/* One task's row of the train.reference file (a train-local --json summary). */
struct srv_reference {
    char id[64];
    double fd;
};

#define SRV_MAX_TASKS MTG_SCHED_MAX_TASKS
#define SRV_MAX_DIM 4096

struct srv_quality {
    int evaluated;
    uint64_t version;   /* model version last evaluated */
    uint64_t steps;     /* the task's global steps at that version */
    double fidelity;
    double fd;
    double precision;
    double recall;
    double coverage;
    double reached_s;
};

struct mtg_srv {
    struct mtg_cfg *cfg;             /* owned copy; tasks[] grows with PUT /v1/tasks */
    int sgda;                        /* protocol */
    int data_dim;
    struct mtg_http_server *http;
    struct mtg_quality *quality;     /* NULL when evaluation is off */
    double ref_fd[SRV_MAX_TASKS];    /* centralised FD per task from train-local, 0 = unknown */
    struct srv_reference *refs;      /* train.reference by task id, so tasks that join later get theirs */
    int n_refs;
    int64_t start_ms;
    atomic_int stopping;

    pthread_mutex_t mu;
    pthread_cond_t changed;          /* broadcast on every state change long-polls wait for */
    struct mtg_sched *sched;
    struct mtg_fed *fed;
    struct mtg_sgda *sgda_state;
    struct srv_quality q[SRV_MAX_TASKS];
    int deleted[SRV_MAX_TASKS];
    int done;
    uint64_t updates_duplicate;      /* replayed (edge, task, round/step) uploads, answered "duplicate" */
    uint64_t last_ckpt_round;
    uint64_t ckpt_gen;
    uint64_t ckpt_base_gen;          /* generations up to this were found on disk at start: never deleted */
    struct srv_lifelong *ll;          /* task data profiles, candidate new tasks; lifelong.c */
    struct srv_mcache *mcache;        /* encoded model downloads, one encoding per version; model_cache.h */
    struct srv_saved_profile *saved_prof; /* restored edge profiles not yet applied; edge_profiles.c */
    int n_saved_prof;
    struct srv_dash *dash;            /* history and edge stats the dashboard shows; dashboard.c */
    struct mtg_http_route routes[48]; /* ctx = this server */
};

/* Shared by the route files. */
struct cJSON;
int srv_blob_reply(struct mtg_http_resp *resp, struct mtg_blob *b, unsigned flags, const char *etag);
int srv_decode_body(struct mtg_srv *s, const struct mtg_http_req *req, struct mtg_blob **out,
                    struct mtg_http_resp *resp);
/* Same, bounded by what the route expects, max_tensors tensors of max_elems f32 elements in all: a blob
 * whose (inflated) size is over that, with a little room, is refused (413) before it is decompressed or
 * allocated; the handler checks the exact shapes. max_elems 0 = the general limits. */
int srv_decode_body_for(struct mtg_srv *s, const struct mtg_http_req *req, size_t max_elems, size_t max_tensors,
                        struct mtg_blob **out, struct mtg_http_resp *resp);
int srv_query_double(const struct mtg_http_req *req, const char *name, double lo, double hi, double def,
                     double *out, struct mtg_http_resp *resp);
struct cJSON *srv_task_json(struct mtg_srv *s, int t);

int64_t mtg_srv_now_ms(void);

/* Protocol-neutral views (call with mu held). */
struct srv_task_view {
    const char *id;
    uint64_t version; /* model version (sgda: generator steps) */
    uint64_t steps;
    int active;
    float loss_d;
    float loss_g;
    const struct mtg_gan_cfg *cfg;
    int spilled;
};
void srv_task_view(const struct mtg_srv *s, int t, struct srv_task_view *v);
int srv_n_tasks(const struct mtg_srv *s);
int srv_find_task(const struct mtg_srv *s, const char *id);
const char *srv_task_id(const struct mtg_srv *s, int t);
uint64_t srv_task_version(const struct mtg_srv *s, int t);
uint64_t srv_task_steps(const struct mtg_srv *s, int t);
const struct mtg_gan_cfg *srv_task_cfg(const struct mtg_srv *s, int t);
/*
 * Makes task t's globals resident (mtgan under a memory budget reloads a
 * spilled task; may spill other cold tasks, invalidating pointers to theirs).
 * MTG_OK or MTG_EUNAVAIL with err naming the task and spill file.
 */
int srv_task_resident(struct mtg_srv *s, int t, struct mtg_err *err);
/*
 * Global generator parameters (flat) of task t, made resident first; *n
 * receives the count. NULL with err set when a spilled task cannot be reloaded.
 */
const float *srv_task_g(struct mtg_srv *s, int t, size_t *n, struct mtg_err *err);
/*
 * The generator that is sampled, served to users, evaluated and exported:
 * the EMA of G's weights when the recipe keeps one (model.ema), else G.
 * Same layout and ownership as srv_task_g. Samplers built from it must have
 * recipe.ema = 0 (it already is the average).
 */
const float *srv_task_g_served(struct mtg_srv *s, int t, size_t *n, struct mtg_err *err);
void srv_set_task_quality(struct mtg_srv *s, int t, int active, double gap);
int srv_task_label(const struct mtg_srv *s, int t); /* class of the dataset's task ("fashion-3" -> 3), -1 for none */
int srv_add_task(struct mtg_srv *s, const struct mtg_cfg_task *tc, struct mtg_err *err);
/* Sets task t's quality reference (ref_fd) from train.reference by its id; 0 when absent. */
void srv_task_reference(struct mtg_srv *s, int t);
/* Forgets task t's measured quality (new or replaced parameters) and looks up its target again. */
void srv_task_reset_quality(struct mtg_srv *s, int t);
/* lifelong.c: a task first seen at runtime, warm-started from the nearest known task when a data
 * mean is given (protocol mtgan), else from scratch. Returns its index or < 0. Call with mu held. */
int srv_new_task(struct mtg_srv *s, const char *id, const float *data_mean, struct mtg_err *err);
/*
 * lifelong.c: may an edge make task id exist (registration naming it, a
 * candidate report)? MTG_OK, or MTG_ENOTFOUND when edges may not create
 * tasks (lifelong.edges_may_create_tasks), MTG_ETOOBIG when the task models
 * would pass lifelong.max_task_mb, with err saying so. Call with mu held.
 */
int srv_edge_may_create_task(struct mtg_srv *s, const char *id, struct mtg_err *err);
/*
 * Task and edge ids become file, tensor and path names: the config's rule,
 * [A-Za-z0-9][A-Za-z0-9._-]{0,62}. 1 when id is acceptable.
 */
int srv_valid_id(const char *id);
/* Reads a JSON array of exactly n numbers into out; 1 on success. */
int srv_json_vector(const struct cJSON *arr, float *out, int n);
/*
 * lifelong.c: a task's data profile (mean row, radius: see src/edge/novelty.h)
 * as the edges holding its data report it at registration; merged over
 * edges by sample count (radius: the largest). Call with mu held.
 */
int srv_ll_note_profile(struct mtg_srv *s, int t, const float *mean, double radius, int samples);
/* Task t's profile into mean [data_dim] and *radius; 1 when one was reported, else 0. Call with mu held. */
int srv_ll_profile(struct mtg_srv *s, int t, float *mean, double *radius, int *samples);

#define SRV_MAX_CANDIDATES 64
enum srv_cand_status { SRV_CAND_PENDING = 0, SRV_CAND_CREATED = 1 };
/* A candidate new task: unlabelled data an edge found no known task accepts. */
struct srv_candidate {
    int id;                   /* 1, 2, ... in order of arrival */
    char edge[64];
    char task[64];            /* the task it becomes: "new-<id>" */
    int samples;              /* rows no known task accepted */
    double new_frac;          /* their share of the edge's unlabelled batch */
    enum srv_cand_status status;
};
/*
 * An edge's report (lifelong.unknown_tasks must not be off). One candidate
 * per edge: a repeated report returns the first (*fresh = 0). With auto the
 * task is created at once, warm-started from mean, and given the profile
 * (mean, radius) so the same data is known from then on. Call with mu held.
 */
int srv_ll_report(struct mtg_srv *s, const char *edge, int samples, double new_frac, const float *mean, double radius,
                  struct srv_candidate *out, int *fresh, struct mtg_err *err);
/* Copies up to max candidates into out; returns how many. A pending one whose task an operator
 * created (PUT /v1/tasks/{task}) is reported created. Call with mu held. */
int srv_ll_candidates(struct mtg_srv *s, struct srv_candidate *out, int max);
void srv_ll_free(struct srv_lifelong *ll);
/* A candidate as GET /v1/candidates and the checkpoint show it; caller owns the object. */
struct cJSON *srv_candidate_json(const struct srv_candidate *c);
/* Every candidate, for the checkpoint (mu held); caller owns the array. */
struct cJSON *srv_ll_checkpoint_json(struct mtg_srv *s);
/* Restores the candidates a checkpoint lists (NULL = none kept); MTG_EFORMAT names a bad one. */
int srv_ll_restore(struct mtg_srv *s, const struct cJSON *arr, struct mtg_err *err);
/* Drops every candidate (a checkpoint that failed to load half-way). */
void srv_ll_forget_candidates(struct mtg_srv *s);

/*
 * edge_profiles.c: what the scheduler measured about each edge (sched.h
 * mtg_sched_edge_profile), kept by edge id across restarts. A restored
 * profile waits until its edge registers again, then seeds that edge's slot
 * (unless the scheduler measured it already). Call with mu held.
 */
struct srv_saved_profile {
    char edge[64];
    struct mtg_sched_edge_profile p;
};
/* [{"edge", "step_s", "transfer_s"}]: measured ones, then restored ones still waiting. */
struct cJSON *srv_profiles_json(struct mtg_srv *s);
/* Keeps a checkpoint's list (NULL = none) until the edges register. */
int srv_profiles_restore(struct mtg_srv *s, const struct cJSON *arr, struct mtg_err *err);
/* Edge slot e (id edge) registered: seeds its profile from the restored list. */
void srv_profiles_apply(struct mtg_srv *s, int e, const char *edge);
/* The scheduler is being replaced (PUT /v1/scheduler): carries the edges' profiles over. */
void srv_profiles_carry(struct mtg_srv *s, struct mtg_sched *from, struct mtg_sched *to);
/* routes_lifelong.c: GET /v1/tasks/{task}/profile, GET|POST /v1/candidates */
int srv_h_profile(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_candidates(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_candidate_post(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);

/* routes.c */
const struct mtg_http_route *srv_routes(struct mtg_srv *s, size_t *n);
/* routes_edge.c: handlers for the edge protocol routes */
int srv_h_register(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_heartbeat(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_assignment(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_update(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_fakes(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_feedback(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);

/*
 * dashboard.c: the live page and the read-only routes it polls. The
 * history has its own lock (taken after mu, never before); edge stats are
 * guarded by mu; per-task recording state belongs to the control loop.
 */
int srv_dash_new(struct mtg_srv *s, struct mtg_err *err); /* sets s->dash (server.history points per task) */
void srv_dash_free(struct srv_dash *d);
/* Records a history point per task that trained (at most 1/s) or was just evaluated; does nothing
 * within 100 ms of its last call. Call without mu, from the control loop only. */
void srv_dash_tick(struct mtg_srv *s, int64_t now);
/* Appends an event to the history's log (task added, target reached, unknown data ...). Any lock state. */
void srv_dash_event(struct mtg_srv *s, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An edge's upload (update or feedback) of bytes covering steps local steps. Call with mu held. */
void srv_dash_upload(struct mtg_srv *s, int edge, size_t bytes, int steps, double compute_s);
int srv_h_page(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_history(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
int srv_h_edges(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp);
/* dashboard_assets.c: a file of src/server/dashboard/, embedded in the binary. */
struct srv_asset {
    const char *ctype; /* static */
    const unsigned char *data;
    size_t len;
};
/* 1 and *out filled when name ("index.html", "dashboard.js", "dashboard.css") is embedded, else 0. */
int srv_dash_asset(const char *name, struct srv_asset *out);

/* checkpoint.c */
int srv_protocol_new(struct mtg_srv *s, struct mtg_err *err);
int srv_ckpt_save(struct mtg_srv *s, struct mtg_err *err);
int srv_ckpt_load(struct mtg_srv *s, int *loaded, struct mtg_err *err);

/* metrics.c */
int srv_metrics_text(struct mtg_srv *s, char **out, size_t *len);

#endif
