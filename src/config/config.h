/*
 * config.h - the configuration of every mtgan binary (mtgan-server,
 * mtgan-edge, the mtgan subcommands), resolved in one place with the
 * precedence of DESIGN §9: command-line flags > MTGAN_* environment >
 * JSON config file (--config FILE or MTGAN_CONFIG) > defaults. Every key is
 * validated at start; an error names the source, the key path and the value:
 *   config /etc/mtgan.json: scheduler.server.round_deadline_ms: expected
 *   integer in [1, 3600000], got "fast"
 *
 *     static struct mtg_cfg cfg;            // ~85 KB: static or heap, not a small stack
 *     struct mtg_cfg_args args;
 *     mtg_cfg_defaults(&cfg);               // a binary may tweak defaults here
 *     int rc = mtg_cfg_resolve(&cfg, MTG_CFG_BIN_SERVER, argc, argv, NULL, &args, &err);
 *     if (rc == MTG_CFG_HELP) { mtg_cfg_print_help(stdout, MTG_CFG_BIN_SERVER); return 0; }
 *     if (rc != MTG_OK) { fprintf(stderr, "mtgan-server: %s\n", err.msg); return 2; }
 *
 * struct mtg_cfg is a plain value type: all arrays are fixed-size inside it,
 * nothing is heap-owned, so it may be copied with = and needs no deinit.
 * docs/config.md lists every key with its type, default, env var and flag.
 */
#ifndef MTG_CONFIG_CONFIG_H
#define MTG_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "core/net.h"

struct mtg_err;
struct mtg_gan_cfg;

#define MTG_CFG_HELP 1             /* mtg_cfg_resolve/parse_args: --help was given */
#define MTG_CFG_MAX_TASKS 256      /* tasks[] entries with their own networks */
#define MTG_CFG_MAX_EDGES 64       /* edges[] profile entries (n_edges may be larger) */
#define MTG_CFG_MAX_IDS 64         /* entries of data.tasks and edges[].tasks */
#define MTG_CFG_MAX_HIDDEN (MTG_MLP_MAX_LAYERS - 1) /* hidden layers; +1 output layer */
#define MTG_CFG_ID_MAX 64          /* task and edge ids: [A-Za-z0-9._-]{1,63} */
#define MTG_CFG_PATH_MAX 512
#define MTG_CFG_MAX_POSITIONAL 16
#define MTG_CFG_MAX_FILE_BYTES (4 << 20)

/* Which program is being configured: selects the flags it accepts and --help. */
enum mtg_cfg_binary {
    MTG_CFG_BIN_SERVER = 0,
    MTG_CFG_BIN_EDGE = 1,
    MTG_CFG_BIN_DEMO = 2,
    MTG_CFG_BIN_BENCH = 3,
    MTG_CFG_BIN_TRAIN_LOCAL = 4,
    MTG_CFG_BIN_EVAL = 5,
    MTG_CFG_BIN_SAMPLE = 6,
    MTG_CFG_BIN_INSPECT = 7,
    MTG_CFG_BIN_COUNT
};

/* Enum values are their index in the key's list of names: only ever append. */
enum mtg_cfg_protocol { MTG_CFG_PROTO_MTGAN = 0, MTG_CFG_PROTO_SGDA = 1, MTG_CFG_PROTO_FEDD = 2 };
/* fedd's server: G trains while the edges train D (parallel) or after their Ds are averaged (serial). */
enum mtg_cfg_fedd_schedule { MTG_CFG_FEDD_PARALLEL = 0, MTG_CFG_FEDD_SERIAL = 1 };
enum mtg_cfg_sharing { MTG_CFG_SHARE_NONE = 0, MTG_CFG_SHARE_TRUNK = 1 };
/* Same values as enum mtg_data_kind (data/dataset.h): the config names the data kind. */
enum mtg_cfg_dataset { MTG_CFG_DATA_DIGITS = 0, MTG_CFG_DATA_RING = 1, MTG_CFG_DATA_FASHION = 2 };
enum mtg_cfg_server_policy { MTG_CFG_SPOL_FIXED = 0, MTG_CFG_SPOL_PROFILED = 1, MTG_CFG_SPOL_ASYNC = 2 };
enum mtg_cfg_edge_policy { MTG_CFG_EPOL_ROUND_ROBIN = 0, MTG_CFG_EPOL_LOSS_WEIGHTED = 1 };
enum mtg_cfg_agg_mode { MTG_CFG_AGG_SYNC = 0, MTG_CFG_AGG_ASYNC = 1 };
enum mtg_cfg_compress {
    MTG_CFG_COMPRESS_NONE = 0,
    MTG_CFG_COMPRESS_F16 = 1,
    MTG_CFG_COMPRESS_ZLIB = 2,
    MTG_CFG_COMPRESS_F16_ZLIB = 3,
};

/* lifelong.unknown_tasks: what the server does with a candidate new task an edge reports. */
enum mtg_cfg_unknown_tasks {
    MTG_CFG_UNKNOWN_OFF = 0,  /* refuse reports (409) */
    MTG_CFG_UNKNOWN_ASK = 1,  /* list them on GET /v1/candidates for an operator to PUT */
    MTG_CFG_UNKNOWN_AUTO = 2, /* create the task at once, warm-started */
};

/* lifelong.detector: the per-row test of unknown-task detection (values = enum mtg_novelty_method). */
enum mtg_cfg_detector { MTG_CFG_DETECT_D = 0, MTG_CFG_DETECT_MEAN = 1, MTG_CFG_DETECT_D_AND_MEAN = 2 };

/* mtgan-server --sedna: the LifelongLearningJob stage it runs. auto picks
 * train when TRAIN_DATASET_URL is set, else deploy when MODEL_URLS is. */
enum mtg_cfg_sedna_stage {
    MTG_CFG_SEDNA_AUTO = 0,
    MTG_CFG_SEDNA_TRAIN = 1,
    MTG_CFG_SEDNA_DEPLOY = 2,
};

/* A list of integer task ids (class labels of the dataset). n == 0 means "all" for
 * data.tasks and "decided by data.partition" for edges[].tasks. */
struct mtg_cfg_ids {
    int n;
    int id[MTG_CFG_MAX_IDS];
};

/* Hidden layer widths; the output layer is added by mtg_cfg_task_gan(). */
struct mtg_cfg_layers {
    int n;
    int width[MTG_CFG_MAX_HIDDEN];
};

struct mtg_cfg_net {
    struct mtg_cfg_layers layers;
    enum mtg_act activation;        /* hidden layers */
    enum mtg_act output_activation; /* G only; D always outputs a logit */
    int latent_dim;                 /* G only */
    double lr;
    double betas[2];
    double leaky_slope;
    /* Architecture preset (DESIGN §4): mlp = layers/activation above; dcgan = the DCGAN-28 nets;
     * auto = dcgan on 28x28 images, mlp otherwise (what a user of each dataset expects). */
    int preset;                     /* enum mtg_cfg_preset */
    int width;                      /* dcgan: base channels (G 2w -> w -> 1, D w -> 2w) */
    int norm;                       /* dcgan G: enum mtg_cfg_norm */
    int mbstd;                      /* dcgan D: minibatch-stddev group (0 off, -1 whole batch, >= 2) */
};

enum mtg_cfg_preset { MTG_CFG_PRESET_MLP = 0, MTG_CFG_PRESET_DCGAN = 1, MTG_CFG_PRESET_AUTO = 2 };
#define MTG_CFG_DCGAN_LATENT 64 /* DESIGN §4: DCGAN-28's z */
enum mtg_cfg_norm { MTG_CFG_NORM_BATCH = 0, MTG_CFG_NORM_NONE = 1 };

struct mtg_cfg_task {
    char id[MTG_CFG_ID_MAX];
    struct mtg_cfg_net generator;
    struct mtg_cfg_net discriminator;
};

/* One edge of the demo/bench heterogeneity profile (DESIGN §10). */
struct mtg_cfg_edge {
    char id[MTG_CFG_ID_MAX];
    double speed_factor;    /* >= 1: compute stretched by this factor */
    double link_mbps;       /* > 0, or 0 = unlimited */
    double link_latency_ms; /* one-way, >= 0 */
    struct mtg_cfg_ids tasks;
};

struct mtg_cfg {
    enum mtg_cfg_protocol protocol;
    uint64_t seed;
    enum mtg_log_level log_level;
    char state_dir[MTG_CFG_PATH_MAX];
    int checkpoint_every; /* rounds; 0 = only at exit */
    int port;             /* 0 = ephemeral */
    char bind[MTG_CFG_PATH_MAX];
    char server_url[MTG_CFG_PATH_MAX];
    char edge_id[MTG_CFG_ID_MAX]; /* "" = derived from the host name by mtg_cfg_resolve (edge) */
    char token_file[MTG_CFG_PATH_MAX]; /* key auth.token_file; "" = no auth */
    char json_out[MTG_CFG_PATH_MAX];   /* --json FILE; "" = none */
    int n_edges;                       /* demo/bench; see mtg_cfg_edge_at() */
    int edge_index;                    /* edge: its shard of the data partition */
    int exit_when_done;                /* server: exit once training is complete */
    bool serve;                        /* demo: keep the server and its dashboard up after training until Ctrl-C */

    struct {
        int batch;
        enum mtg_cfg_sharing sharing;
        int width_mult;
        struct {
            int loss;            /* enum mtg_gan_loss */
            double ema;
            double noise;
            double real_label;
            int pack;
        } recipe;
    } model;

    int n_tasks;
    struct mtg_cfg_task tasks[MTG_CFG_MAX_TASKS];

    struct {
        enum mtg_cfg_dataset dataset;
        char dir[MTG_CFG_PATH_MAX];  /* env MTGAN_DATA_DIR */
        /* digits: the csv.gz ("" = <dir>/digits.csv.gz); fashion-mnist: the directory of the
         * IDX files ("" = the Debian package's); filled in by resolve. */
        char path[MTG_CFG_PATH_MAX];
        /* Most rows of each class read from the train split (edges' shards, train-local, and
         * the fashion-mnist ceiling's slice); 0 = every row. Keeps tests and demos small. */
        int limit_per_class;
        struct {
            int tasks_per_edge_min;
            int tasks_per_edge_max;
            uint64_t seed;
        } partition;
        struct mtg_cfg_ids tasks; /* n == 0: all tasks of the dataset */
        /* Edge: classes whose held-out rows it holds without a label, scored
         * for unknown-task detection (src/edge/novelty.h); n == 0: none. */
        struct mtg_cfg_ids unlabelled;
        /* digits: every 5th row of data.path is held out of training (the
         * judge's reference); false = the file is already a training split
         * (the Sedna train stage's in-pod edges) and every row trains. */
        bool holdout;
    } data;

    int n_edge_profiles;
    struct mtg_cfg_edge edges[MTG_CFG_MAX_EDGES];

    struct {
        struct {
            enum mtg_cfg_server_policy policy;
            int round_deadline_ms;
            int staleness_bound;
            int memory_budget_mb; /* 0 = unlimited */
            int local_steps;
            bool priority;
        } server;
        struct {
            enum mtg_cfg_edge_policy policy;
            bool overlap;
            int memory_budget_mb;
        } edge;
        struct {
            bool pipeline; /* one open step per task (true) or one in all, round-robin (false) */
        } sgda;
        struct {
            enum mtg_cfg_fedd_schedule schedule;
        } fedd;
    } scheduler;

    struct {
        double speed_factor;
        double link_mbps;
        double link_latency_ms;
    } emulation;

    struct {
        enum mtg_cfg_agg_mode mode;
        enum mtg_cfg_compress compress;
        double server_momentum;
    } aggregation;

    struct {
        int64_t max_steps;  /* step budget per task */
        double max_wall_s;  /* 0 = no wall-clock budget */
        double target_fidelity;
        double target_fd_ratio;     /* FD <= ratio x centralised FD (DESIGN §11) */
        double target_recall_ratio; /* recall >= ratio x the task's real-vs-real ceiling recall */
        double target_coverage_ratio; /* coverage >= ratio x the ceiling coverage */
        char reference[MTG_CFG_PATH_MAX]; /* train-local JSON with fd_ref per task: the full target */
        int eval_every;             /* steps; 0 = only at the end */
        bool deterministic;         /* DESIGN §4 reproducibility: no decision reads the wall clock */
    } train;

    struct {
        enum mtg_cfg_unknown_tasks unknown_tasks; /* server */
        enum mtg_cfg_detector detector; /* edge */
        double min_new; /* edge: share of unlabelled rows no task accepts that makes a candidate */
        bool edges_may_create_tasks; /* server: an unknown task id in POST /v1/edges creates the task */
        int max_task_mb;             /* server: edges create no task past this many MiB of task models */
    } lifelong;

    struct {
        int64_t max_body_bytes;
        int edge_expiry_ms;
        int max_connections;    /* open HTTP connections in all */
        int per_ip_connections; /* open HTTP connections from one client address */
        int header_timeout_s;   /* a new connection must send its request headers within this */
        int idle_timeout_s;     /* a connection idle this long is closed */
        int max_sample_rows;    /* n of GET /v1/tasks/{task}/samples */
        int max_edge_samples;   /* an edge's per-task sample count (its averaging weight) is clamped here */
        int model_cache_mb;     /* encoded models kept for downloads */
    } limits;

    struct {
        int history; /* points kept per task for the dashboard (GET /v1/history); src/server/history.h */
    } server;

    /* --job NAME: the MultiTaskGANJob (Kubernetes object name, <= 253 chars) the server reads
     * its config from and patches status on, through src/k8s; "" = not run from a CR. */
    char job[256];

    /* Sedna worker mode (docs/sedna.md "Running under Sedna"): the stage env
     * supplies data, models and output; the worker reports to the LC. */
    bool sedna;
    enum mtg_cfg_sedna_stage sedna_stage; /* server: which LL stage; auto = from the env */
    /* server --sedna train: edges it runs in its own pod on the LC's
     * training split (docs/sedna.md); 0 = none, edges connect from outside. */
    int sedna_edges;
};

/* What the command line held besides settings. Pointers point into argv (not owned). */
struct mtg_cfg_args {
    bool help;
    const char *config_path; /* --config, or NULL */
    int n_pos;
    const char *pos[MTG_CFG_MAX_POSITIONAL];
};

/* "mtgan", "sgda", "fedd": the name the protocol key, the CLI and the API use. */
const char *mtg_cfg_protocol_name(enum mtg_cfg_protocol p);

/* "mtgan-server", "mtgan demo", ...; never NULL. */
const char *mtg_cfg_binary_name(enum mtg_cfg_binary bin);

/* Fills every field with its default (DESIGN §4 networks, §10 bench profile). */
void mtg_cfg_defaults(struct mtg_cfg *c);
/* The §4 default networks for a task called id (id is copied, truncated if too long). */
void mtg_cfg_task_defaults(struct mtg_cfg_task *t, const char *id);

/*
 * Merges the JSON file at path over c: objects merge key by key, arrays
 * (tasks, edges, layers, ...) replace. tasks[] entries start from
 * mtg_cfg_task_defaults, edges[] entries from the emulation values. If the
 * file sets edges but not n_edges, n_edges becomes the number of entries.
 * On error c may be partly updated; errors name the file and the key path.
 */
int mtg_cfg_load_file(struct mtg_cfg *c, const char *path, struct mtg_err *err);
/* As load_file, from a NUL-terminated buffer; name is used in messages. */
int mtg_cfg_load_string(struct mtg_cfg *c, const char *json, const char *name, struct mtg_err *err);

/*
 * Applies MTGAN_* variables from envp (a NULL-terminated "NAME=value" array,
 * like environ; NULL means the process environment). Empty values are
 * ignored, so `MTGAN_PORT= mtgan-server` keeps the configured port.
 */
int mtg_cfg_load_env(struct mtg_cfg *c, char *const *envp, struct mtg_err *err);

/*
 * Applies the flags of bin from argv[1..argc-1] (argv[0] is the program or
 * subcommand name) and records --help, --config and positional arguments in
 * extra (may be NULL). Accepts --flag=value and --flag value; "--" ends flags.
 * Returns MTG_OK (also when --help is seen; check extra->help) or MTG_EINVAL
 * naming the flag.
 */
int mtg_cfg_parse_args(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv,
                       struct mtg_cfg_args *extra, struct mtg_err *err);

/*
 * The whole chain over c (which holds the caller's defaults, normally from
 * mtg_cfg_defaults): config file (--config, else MTGAN_CONFIG from envp),
 * env, flags; then fills derived values (data.path, edge_id of an edge) and
 * validates. envp as in load_env; extra may be NULL. Returns MTG_OK,
 * MTG_CFG_HELP (print help, exit 0: c is then left at its defaults), or a
 * negative MTG_E* code.
 */
int mtg_cfg_resolve(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv,
                    char *const *envp, struct mtg_cfg_args *extra, struct mtg_err *err);

/*
 * The command-line front door the binaries share: mtg_cfg_resolve on c
 * (already holding defaults, plus any binary-specific ones), then --help
 * printed to stdout, or the error (or more than max_pos positional
 * arguments) to stderr prefixed with the binary's name, and the log level
 * set. Returns -1 to carry on, else the exit code: 0 after --help, 2 for
 * a usage or configuration error.
 */
int mtg_cfg_cli(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv, struct mtg_cfg_args *extra,
                int max_pos);

/* Every field in range plus cross-field checks (unique ids, partition min <= max, ...). */
int mtg_cfg_validate(const struct mtg_cfg *c, struct mtg_err *err);

/* True when s is a valid task or edge id, [A-Za-z0-9][A-Za-z0-9._-]{0,62}: safe as a file name, path segment
 * and metric label. Every id read from outside (config, requests, checkpoints, a Sedna KB index) passes it. */
bool mtg_cfg_id_valid(const char *s);

/* --help text of bin: flags, environment variables and config keys with defaults. */
void mtg_cfg_print_help(FILE *f, enum mtg_cfg_binary bin);

/*
 * The effective config as pretty JSON that mtg_cfg_load_string accepts back
 * unchanged. *out is heap-allocated; the caller frees it with free().
 */
int mtg_cfg_to_json(const struct mtg_cfg *c, char **out);

/*
 * The wire codec of aggregation.compress, used alike by mtgan's models and
 * deltas and sgda's fake and feedback batches (so the comparison is fair).
 * *f16: 1 = half precision on the wire; *zlib: 1 = compress the blob.
 */
void mtg_cfg_codec(const struct mtg_cfg *c, int *f16, int *zlib);

/* The tasks[] entry called id, or NULL. Points into c. */
const struct mtg_cfg_task *mtg_cfg_find_task(const struct mtg_cfg *c, const char *id);
/* The tasks[] entry called id, else the defaults for id; copied to *out. */
void mtg_cfg_task_for(const struct mtg_cfg *c, const char *id, struct mtg_cfg_task *out);

/*
 * Edge i (0 <= i < n_edges) of the demo/bench profile: edges[i] if listed,
 * otherwise id "edge-<i>" with the links and speed of edges[i % n] (the
 * profile repeats, so --edges 16 keeps the heterogeneity of the 4-edge
 * default) or of emulation{} when edges[] is empty.
 */
void mtg_cfg_edge_at(const struct mtg_cfg *c, int i, struct mtg_cfg_edge *out);

/*
 * Core GAN config of a task for data of data_dim features: hidden layers
 * from t, then an output layer of width data_dim (G) or 1 logit (D); other
 * fields from mtg_gan_cfg_default. Validated with mtg_gan_cfg_validate.
 */
int mtg_cfg_task_gan(const struct mtg_cfg_task *t, int data_dim, struct mtg_gan_cfg *out,
                     struct mtg_err *err);
/* As mtg_cfg_task_gan for task id (mtg_cfg_task_for), plus model.batch and model.width_mult. */
int mtg_cfg_gan(const struct mtg_cfg *c, const char *task_id, int data_dim, struct mtg_gan_cfg *out,
                struct mtg_err *err);

#endif
