/* config_keys.c - the key tables: one row per setting (see config_internal.h). */
#include "config/config_internal.h"

#include <string.h>

#include "data/dataset.h"
#include "data/fashion.h"

_Static_assert(MTG_ACT_NONE == 0 && MTG_ACT_RELU == 1 && MTG_ACT_LEAKY_RELU == 2 &&
                   MTG_ACT_SIGMOID == 3 && MTG_ACT_TANH == 4,
               "act_names must follow enum mtg_act");
_Static_assert(MTG_LOG_DEBUG == 0 && MTG_LOG_OFF == 4, "log_names must follow enum mtg_log_level");
_Static_assert((int)MTG_CFG_DATA_DIGITS == MTG_DATA_KIND_DIGITS && (int)MTG_CFG_DATA_RING == MTG_DATA_KIND_RING &&
                   (int)MTG_CFG_DATA_FASHION == MTG_DATA_KIND_FASHION,
               "dataset_names and enum mtg_cfg_dataset must follow enum mtg_data_kind");

static const char *const protocol_names[] = {"mtgan", "sgda", "fedd", NULL}; /* enum mtg_cfg_protocol */
static const char *const fedd_schedule_names[] = {"parallel", "serial", NULL}; /* enum mtg_cfg_fedd_schedule */
static const char *const log_names[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const sharing_names[] = {"none", "trunk", NULL};
static const char *const loss_names[] = {"ns", "hinge", NULL}; /* enum mtg_gan_loss */
static const char *const preset_names[] = {"mlp", "dcgan", "auto", NULL};  /* enum mtg_cfg_preset */
static const char *const norm_names[] = {"batch", "none", NULL};   /* enum mtg_cfg_norm */
static const char *const dataset_names[] = {"digits", "ring", "fashion-mnist", NULL}; /* enum mtg_data_kind */
static const char *const spol_names[] = {"fixed", "profiled", "async", NULL};
static const char *const epol_names[] = {"round-robin", "loss-weighted", NULL};
static const char *const agg_names[] = {"sync", "async", NULL};
static const char *const compress_names[] = {"none", "f16", "zlib", "f16+zlib", NULL};
static const char *const act_names[] = {"none", "relu", "leaky_relu", "sigmoid", "tanh", NULL};
static const char *const sedna_stage_names[] = {"auto", "train", "deploy", NULL};
static const char *const unknown_names[] = {"off", "ask", "auto", NULL};
static const char *const detector_names[] = {"d", "mean", "d+mean", NULL};

#define BIN(x) (1u << MTG_CFG_BIN_##x)
#define ALL_BINS ((1u << MTG_CFG_BIN_COUNT) - 1u)
/* Programs that run or embed a server, train, or write a --json summary. */
#define SRV_BINS (BIN(SERVER) | BIN(DEMO) | BIN(BENCH))
#define RUN_BINS (BIN(SERVER) | BIN(EDGE) | BIN(DEMO) | BIN(BENCH) | BIN(TRAIN_LOCAL))
#define JSON_BINS (BIN(DEMO) | BIN(BENCH) | BIN(TRAIN_LOCAL) | BIN(EVAL) | BIN(EDGE))
/* Programs that load the dataset (train or judge on it). */
#define DATA_BINS (RUN_BINS | BIN(EVAL))

#define C_OFF(m) offsetof(struct mtg_cfg, m)
#define C_SZ(m) sizeof(((struct mtg_cfg *)0)->m)
#define OBJ(p) {.path = p, .kind = MTG_CFG_K_OBJ}
#define ENUM(p, m, nm) .path = p, .kind = MTG_CFG_K_ENUM, .off = C_OFF(m), .names = nm
#define INT(p, m, l, h) .path = p, .kind = MTG_CFG_K_INT, .off = C_OFF(m), .lo = l, .hi = h
#define I64(p, m, l, h) .path = p, .kind = MTG_CFG_K_I64, .off = C_OFF(m), .lo = l, .hi = h
#define DBL(p, m, l, h) .path = p, .kind = MTG_CFG_K_DBL, .off = C_OFF(m), .lo = l, .hi = h
#define STR(p, m) .path = p, .kind = MTG_CFG_K_STR, .off = C_OFF(m), .size = C_SZ(m)
#define BOOL(p, m) .path = p, .kind = MTG_CFG_K_BOOL, .off = C_OFF(m)
#define U64(p, m) .path = p, .kind = MTG_CFG_K_U64, .off = C_OFF(m)

static const struct mtg_cfg_key top_keys[] = {
    {ENUM("protocol", protocol, protocol_names), .env = "MTGAN_PROTOCOL", .flag = "protocol",
     .bins = BIN(SERVER) | BIN(EDGE) | BIN(DEMO) | BIN(BENCH),
     .help = "training protocol (bench runs both unless given)"},
    {U64("seed", seed), .env = "MTGAN_SEED", .flag = "seed", .bins = ALL_BINS & ~BIN(INSPECT),
     .meta = "N", .help = "seed of every random stream"},
    {ENUM("log_level", log_level, log_names), .env = "MTGAN_LOG_LEVEL", .flag = "log-level",
     .bins = ALL_BINS, .help = "lowest level logged to stderr"},
    {STR("state_dir", state_dir), .flags = MTG_CFG_F_NONEMPTY, .env = "MTGAN_STATE_DIR",
     .flag = "state-dir", .bins = RUN_BINS | BIN(EVAL) | BIN(SAMPLE), .meta = "DIR",
     .help = "checkpoints and spilled tasks"},
    {INT("checkpoint_every", checkpoint_every, 0, 1e6), .help = "rounds between checkpoints; 0 = at exit only"},
    {INT("port", port, 0, 65535), .env = "MTGAN_PORT", .flag = "port", .bins = SRV_BINS, .meta = "N",
     .help = "HTTP port of the server; 0 = ephemeral"},
    {STR("bind", bind), .flags = MTG_CFG_F_NONEMPTY, .env = "MTGAN_BIND", .flag = "bind",
     .bins = SRV_BINS, .meta = "ADDR", .help = "address the server listens on"},
    {STR("server_url", server_url), .flags = MTG_CFG_F_URL | MTG_CFG_F_NONEMPTY,
     .env = "MTGAN_SERVER", .flag = "server", .bins = BIN(EDGE), .meta = "URL",
     .help = "server the edge talks to"},
    {STR("edge_id", edge_id), .flags = MTG_CFG_F_ID, .env = "MTGAN_EDGE_ID", .flag = "edge-id",
     .bins = BIN(EDGE), .meta = "ID", .help = "id of this edge; empty = from the host name"},
    {INT("edge_index", edge_index, 0, 4095), .env = "MTGAN_EDGE_INDEX", .flag = "edge-index",
     .bins = BIN(EDGE), .meta = "N",
     .help = "which shard of the seeded data partition this edge holds (0 .. n_edges-1)"},
    {INT("exit_when_done", exit_when_done, 0, 1), .env = "MTGAN_EXIT_WHEN_DONE", .flag = "exit-when-done",
     .bins = BIN(SERVER), .meta = "0|1",
     .help = "1: the server exits once every task reached its target or budget"},
    {BOOL("serve", serve), .flag = "serve", .bins = BIN(DEMO), .meta = "[true|false]",
     .help = "demo: keep the server (and its dashboard) up after training until Ctrl-C"},
    {STR("json_out", json_out), .flag = "json", .bins = JSON_BINS, .meta = "FILE",
     .help = "also write the summary as JSON to FILE"},
    {INT("n_edges", n_edges, 1, 4096), .env = "MTGAN_EDGES", .flag = "edges",
     .bins = BIN(DEMO) | BIN(BENCH) | BIN(EDGE) | BIN(SERVER), .meta = "N",
     .help = "edge processes to start (edge: shards in the data partition; a deterministic server: edges it "
             "waits for before the first round)"},
    OBJ("auth"),
    {STR("auth.token_file", token_file), .env = "MTGAN_TOKEN_FILE", .flag = "token-file",
     .bins = BIN(SERVER) | BIN(EDGE) | BIN(DEMO), .meta = "FILE",
     .help = "bearer token file; empty = no auth"},
    OBJ("model"),
    {INT("model.batch", model.batch, 1, 65536), .help = "real samples per step"},
    {ENUM("model.sharing", model.sharing, sharing_names), .help = "none: one G/D pair per task"},
    {INT("model.width_mult", model.width_mult, 1, 64), .help = "multiplies every hidden width"},
    {ENUM("model.loss", model.recipe.loss, loss_names), .env = "MTGAN_LOSS",
     .help = "GAN loss: ns = non-saturating BCE, hinge"},
    {DBL("model.ema", model.recipe.ema, 0, 1), .flags = MTG_CFG_F_HI_OPEN, .env = "MTGAN_EMA",
     .help = "per-step decay of the EMA of G's weights, which is what is sampled, served and exported; 0 = off"},
    {DBL("model.instance_noise", model.recipe.noise, 0, 10), .env = "MTGAN_INSTANCE_NOISE",
     .help = "std of Gaussian noise added to D's real and fake inputs; 0 = off"},
    {DBL("model.real_label", model.recipe.real_label, 0.5, 1), .flags = MTG_CFG_F_LO_OPEN,
     .env = "MTGAN_REAL_LABEL", .help = "ns loss: D's target for real rows (one-sided label smoothing); 1 = off"},
    {INT("model.pack", model.recipe.pack, 1, 16), .env = "MTGAN_PACK",
     .help = "PacGAN: D judges this many samples at once (model.batch must be a multiple); 1 = off"},
    {.path = "tasks", .kind = MTG_CFG_K_ARRAY, .help = "per-task networks (see tasks[].*)"},
    OBJ("data"),
    {ENUM("data.dataset", data.dataset, dataset_names), .env = "MTGAN_DATASET", .flag = "dataset",
     .bins = DATA_BINS,
     .help = "8x8 digits, the 2-D ring, or 28x28 Fashion-MNIST (Debian package dataset-fashion-mnist)"},
    {STR("data.dir", data.dir), .flags = MTG_CFG_F_NONEMPTY, .env = "MTGAN_DATA_DIR",
     .help = "directory of the default data files"},
    {STR("data.path", data.path),
     .help = "digits: the csv.gz file, empty = <data.dir>/digits.csv.gz; fashion-mnist: the directory of "
             "the IDX files, empty = " MTG_DATA_FASHION_DIR " (the Debian package's)"},
    {INT("data.limit_per_class", data.limit_per_class, 0, MTG_DATA_MAX_ROWS), .env = "MTGAN_LIMIT_PER_CLASS",
     .flag = "limit-per-class", .bins = DATA_BINS, .meta = "N",
     .help = "most rows of each class read from the train split (edges, train-local, the fashion-mnist "
             "ceiling); 0 = all"},
    OBJ("data.partition"),
    {INT("data.partition.tasks_per_edge_min", data.partition.tasks_per_edge_min, 1, 256),
     .help = "fewest tasks an edge holds (clamped to the task count)"},
    {INT("data.partition.tasks_per_edge_max", data.partition.tasks_per_edge_max, 1, 256),
     .help = "most tasks an edge holds"},
    {U64("data.partition.seed", data.partition.seed), .help = "seed of the non-IID partition"},
    {.path = "data.tasks", .kind = MTG_CFG_K_IDS, .off = C_OFF(data.tasks), .lo = 0, .hi = 255,
     .flags = MTG_CFG_F_ALL, .env = "MTGAN_TASKS", .flag = "tasks",
     .bins = ALL_BINS & ~BIN(INSPECT), .meta = "LIST", .help = "\"all\" or class ids, e.g. 0,3,8"},
    {.path = "data.unlabelled", .kind = MTG_CFG_K_IDS, .off = C_OFF(data.unlabelled), .lo = 0, .hi = 255,
     .env = "MTGAN_UNLABELLED", .flag = "unlabelled", .bins = BIN(EDGE), .meta = "LIST",
     .help = "edge: digit classes held without a label and scored for unknown-task detection; [] = none"},
    {BOOL("data.holdout", data.holdout),
     .help = "digits: hold every 5th row of data.path out of training; false = train on every row"},
    {.path = "edges", .kind = MTG_CFG_K_ARRAY, .help = "demo/bench edge profile (see edges[].*)"},
    OBJ("scheduler"),
    OBJ("scheduler.server"),
    {ENUM("scheduler.server.policy", scheduler.server.policy, spol_names),
     .help = "server scheduler (sgda always runs fixed)"},
    {INT("scheduler.server.round_deadline_ms", scheduler.server.round_deadline_ms, 1, 3600000),
     .help = "a sync round closes at this deadline"},
    {INT("scheduler.server.staleness_bound", scheduler.server.staleness_bound, 0, 1e6),
     .help = "async: deltas older than this many versions are rejected"},
    {INT("scheduler.server.memory_budget_mb", scheduler.server.memory_budget_mb, 0, 1 << 20),
     .help = "mtgan: spill least recently used tasks' globals to <state_dir>/spill above this many MiB; 0 = unlimited"},
    {INT("scheduler.server.local_steps", scheduler.server.local_steps, 1, 1e6),
     .help = "local steps per task per round (fixed; the base for profiled)"},
    {BOOL("scheduler.server.priority", scheduler.server.priority),
     .help = "more budget to worse or newer tasks"},
    OBJ("scheduler.edge"),
    {ENUM("scheduler.edge.policy", scheduler.edge.policy, epol_names), .help = "task order on an edge"},
    {BOOL("scheduler.edge.overlap", scheduler.edge.overlap),
     .help = "overlap transfers with the next task's compute (mtgan edge)"},
    {INT("scheduler.edge.memory_budget_mb", scheduler.edge.memory_budget_mb, 0, 1 << 20),
     .help = "most MB of local models an mtgan edge holds; 0 = unlimited"},
    OBJ("scheduler.sgda"),
    {BOOL("scheduler.sgda.pipeline", scheduler.sgda.pipeline),
     .help = "sgda: every task's step in flight at once; false = lock-step round-robin"},
    OBJ("scheduler.fedd"),
    {ENUM("scheduler.fedd.schedule", scheduler.fedd.schedule, fedd_schedule_names),
     .help = "fedd: the server trains G during the round against D_t (parallel) or after it against D_t+1 (serial)"},
    OBJ("emulation"),
    {DBL("emulation.speed_factor", emulation.speed_factor, 1, 1000), .env = "MTGAN_SPEED_FACTOR",
     .flag = "speed-factor", .bins = BIN(EDGE), .meta = "F",
     .help = "stretch compute by F (waits (F-1) x CPU time after each step)"},
    {DBL("emulation.link_mbps", emulation.link_mbps, 0, 1e6), .env = "MTGAN_LINK_MBPS",
     .flag = "link-mbps", .bins = BIN(EDGE), .meta = "X", .help = "link bandwidth; 0 = unlimited"},
    {DBL("emulation.link_latency_ms", emulation.link_latency_ms, 0, 60000),
     .env = "MTGAN_LINK_LATENCY_MS", .flag = "link-latency-ms", .bins = BIN(EDGE), .meta = "X",
     .help = "one-way latency added to each transfer"},
    OBJ("aggregation"),
    {ENUM("aggregation.mode", aggregation.mode, agg_names), .help = "mtgan: sync rounds or async deltas"},
    {ENUM("aggregation.compress", aggregation.compress, compress_names), .help = "delta encoding"},
    {DBL("aggregation.server_momentum", aggregation.server_momentum, 0, 1), .flags = MTG_CFG_F_HI_OPEN,
     .help = "momentum of the global update; 0 = plain FedAvg"},
    OBJ("train"),
    {I64("train.max_steps", train.max_steps, 1, 1e9), .env = "MTGAN_STEPS", .flag = "steps",
     .bins = RUN_BINS, .meta = "N", .help = "step budget per task"},
    {DBL("train.max_wall_s", train.max_wall_s, 0, 1e7), .help = "wall-clock budget; 0 = none"},
    {DBL("train.target_fidelity", train.target_fidelity, 0, 1), .help = "quality target (DESIGN 11)"},
    {DBL("train.target_fd_ratio", train.target_fd_ratio, 0, 1e6), .flags = MTG_CFG_F_LO_OPEN,
     .help = "FD target as a multiple of the centralised FD"},
    {DBL("train.target_recall_ratio", train.target_recall_ratio, 0, 10),
     .help = "full target: recall >= this x the task's real-vs-real ceiling recall (DESIGN 11); 0 = off"},
    {DBL("train.target_coverage_ratio", train.target_coverage_ratio, 0, 10),
     .help = "full target: coverage >= this x the task's real-vs-real ceiling coverage; 0 = off"},
    {STR("train.reference", train.reference), .env = "MTGAN_REFERENCE", .flag = "reference",
     .bins = BIN(SERVER) | BIN(DEMO) | BIN(BENCH), .meta = "FILE",
     .help = "train-local --json summary whose fd_ref turns on each task's full quality target (FD, recall, "
             "coverage), by task id (tasks added later too); empty = fidelity only"},
    {INT("train.eval_every", train.eval_every, 0, 1e9), .help = "steps between quality checks; 0 = end only"},
    {BOOL("train.deterministic", train.deterministic), .env = "MTGAN_DETERMINISTIC", .flag = "deterministic",
     .bins = RUN_BINS,
     .help = "same seed => bit-identical models under any load: streams from (seed, task, edge, round), "
             "deltas folded in edge-id order, rounds wait for every edge, quality checked at fixed steps"},
    OBJ("lifelong"),
    {ENUM("lifelong.unknown_tasks", lifelong.unknown_tasks, unknown_names), .env = "MTGAN_UNKNOWN_TASKS",
     .flag = "unknown-tasks", .bins = BIN(SERVER),
     .help = "candidate new tasks reported by edges: auto = create (warm-started), ask = list on GET "
             "/v1/candidates, off = refuse"},
    {ENUM("lifelong.detector", lifelong.detector, detector_names),
     .help = "edge: per-row test; mean = distance to the task's data mean (measured best, see README), d = "
             "the task's discriminator, d+mean = both"},
    {DBL("lifelong.min_new", lifelong.min_new, 0, 1), .flags = MTG_CFG_F_LO_OPEN,
     .help = "edge: an unlabelled batch is a candidate when this share of its rows fits no known task"},
    {BOOL("lifelong.edges_may_create_tasks", lifelong.edges_may_create_tasks), .env = "MTGAN_EDGES_MAY_CREATE_TASKS",
     .help = "server: a task id no one declared in an edge's registration creates that task (warm-started); "
             "false = the registration is refused (404) and operators create tasks"},
    {INT("lifelong.max_task_mb", lifelong.max_task_mb, 1, 1 << 20),
     .help = "server: edges (registration or candidates) create no task once the task models (G and D of "
             "every live task) would pass this many MiB"},
    OBJ("limits"),
    {I64("limits.max_body_bytes", limits.max_body_bytes, 1024, 17179869184.0),
     .help = "largest HTTP request body"},
    {INT("limits.edge_expiry_ms", limits.edge_expiry_ms, 100, 86400000),
     .help = "an edge silent this long is dropped (and its slot may go to a new edge)"},
    {INT("limits.max_connections", limits.max_connections, 4, 65536),
     .help = "open HTTP connections the server accepts in all"},
    {INT("limits.per_ip_connections", limits.per_ip_connections, 1, 65536),
     .help = "open HTTP connections from one client address (at most limits.max_connections)"},
    {INT("limits.header_timeout_s", limits.header_timeout_s, 1, 3600),
     .help = "a new connection that has not sent its request headers within this is closed"},
    {INT("limits.idle_timeout_s", limits.idle_timeout_s, 35, 86400),
     .help = "a connection idle this long is closed (above the 30 s long-poll maximum)"},
    {INT("limits.max_sample_rows", limits.max_sample_rows, 1, 4096),
     .help = "largest n of GET /v1/tasks/{task}/samples"},
    {INT("limits.max_edge_samples", limits.max_edge_samples, 1, 1000000000),
     .help = "an edge's sample count per task (its weight in the average) is clamped to this"},
    {INT("limits.model_cache_mb", limits.model_cache_mb, 0, 1 << 20),
     .help = "MiB of encoded models kept for downloads (one encoding serves every edge pulling that "
             "version); 0 = encode per download"},
    OBJ("server"),
    {INT("server.history", server.history, 16, 1 << 20), .env = "MTGAN_HISTORY",
     .help = "points per task the dashboard's history keeps (64 B each; a full series halves its density, "
             "so it always spans the whole run)"},
    {STR("job", job), .env = "MTGAN_JOB", .flag = "job", .bins = BIN(SERVER), .meta = "NAME",
     .help = "MultiTaskGANJob to read the config from and patch status on (in a cluster; see "
             "docs/kubernetes.md); empty = none"},
    {BOOL("sedna", sedna), .env = "MTGAN_SEDNA", .flag = "sedna",
     .bins = BIN(SERVER) | BIN(EVAL), .meta = "[true|false]",
     .help = "run as a Sedna LifelongLearningJob worker: stage env in, LC report out (docs/sedna.md)"},
    {ENUM("sedna_stage", sedna_stage, sedna_stage_names), .env = "MTGAN_SEDNA_STAGE",
     .flag = "sedna-stage", .bins = BIN(SERVER),
     .help = "server --sedna stage; auto: train if TRAIN_DATASET_URL is set, else deploy if MODEL_URLS is"},
    {INT("sedna_edges", sedna_edges, 0, 64), .env = "MTGAN_SEDNA_EDGES", .flag = "sedna-edges",
     .bins = BIN(SERVER), .meta = "N",
     .help = "server --sedna train: mtgan-edge processes run in the pod on the training split; 0 = none"},
};

#define T_OFF(m) offsetof(struct mtg_cfg_task, m)
#define NET_KEYS(pre, m)                                                                           \
    OBJ(pre),                                                                                      \
    {.path = pre ".layers", .kind = MTG_CFG_K_LAYERS, .off = T_OFF(m.layers), .lo = 1,            \
     .hi = MTG_NET_MAX_DIM, .help = "hidden layer widths"},                                      \
    {.path = pre ".activation", .kind = MTG_CFG_K_ENUM, .off = T_OFF(m.activation),              \
     .names = act_names, .help = "hidden activation"},                                            \
    {.path = pre ".lr", .kind = MTG_CFG_K_DBL, .off = T_OFF(m.lr), .lo = 0, .hi = 1,              \
     .flags = MTG_CFG_F_LO_OPEN, .help = "Adam learning rate"},                                    \
    {.path = pre ".betas", .kind = MTG_CFG_K_BETAS, .off = T_OFF(m.betas), .lo = 0, .hi = 1,      \
     .flags = MTG_CFG_F_HI_OPEN, .help = "Adam [beta1, beta2]"},                                   \
    {.path = pre ".leaky_slope", .kind = MTG_CFG_K_DBL, .off = T_OFF(m.leaky_slope), .lo = 0,    \
     .hi = 1, .flags = MTG_CFG_F_HI_OPEN, .help = "negative slope of leaky_relu"},                 \
    {.path = pre ".preset", .kind = MTG_CFG_K_ENUM, .off = T_OFF(m.preset), .names = preset_names, \
     .help = "architecture: mlp (layers, activation), dcgan (DCGAN-28, 28x28 images), "          \
             "auto (dcgan on 28x28 images, else mlp)"},                                           \
    {.path = pre ".width", .kind = MTG_CFG_K_INT, .off = T_OFF(m.width), .lo = 1, .hi = 4096,     \
     .help = "dcgan: base channels (G 2w->w->1, D w->2w)"}

static const struct mtg_cfg_key task_keys[] = {
    {.path = "id", .kind = MTG_CFG_K_STR, .off = T_OFF(id), .size = MTG_CFG_ID_MAX,
     .flags = MTG_CFG_F_ID | MTG_CFG_F_NONEMPTY, .help = "task id (required)"},
    NET_KEYS("generator", generator),
    {.path = "generator.output_activation", .kind = MTG_CFG_K_ENUM,
     .off = T_OFF(generator.output_activation), .names = act_names,
     .help = "G output activation (data in [0,1]: sigmoid)"},
    {.path = "generator.latent_dim", .kind = MTG_CFG_K_INT, .off = T_OFF(generator.latent_dim),
     .lo = 0, .hi = MTG_NET_MAX_DIM, .help = "z dimension; 0 = the preset's (mlp 32, dcgan 64)"},
    {.path = "generator.norm", .kind = MTG_CFG_K_ENUM, .off = T_OFF(generator.norm), .names = norm_names,
     .help = "dcgan G: batch norm after its dense and first convT layer, or none"},
    NET_KEYS("discriminator", discriminator),
    {.path = "discriminator.mbstd", .kind = MTG_CFG_K_INT, .off = T_OFF(discriminator.mbstd), .lo = -1,
     .hi = 1024, .help = "dcgan D: minibatch-stddev group size before its dense layer; 0 = off, -1 = whole batch"},
};

#define E_OFF(m) offsetof(struct mtg_cfg_edge, m)
static const struct mtg_cfg_key edge_keys[] = {
    {.path = "id", .kind = MTG_CFG_K_STR, .off = E_OFF(id), .size = MTG_CFG_ID_MAX,
     .flags = MTG_CFG_F_ID | MTG_CFG_F_NONEMPTY, .help = "edge id; edge-<index> when absent"},
    {.path = "speed_factor", .kind = MTG_CFG_K_DBL, .off = E_OFF(speed_factor), .lo = 1, .hi = 1000,
     .help = "as emulation.speed_factor"},
    {.path = "link_mbps", .kind = MTG_CFG_K_DBL, .off = E_OFF(link_mbps), .lo = 0, .hi = 1e6,
     .help = "as emulation.link_mbps"},
    {.path = "link_latency_ms", .kind = MTG_CFG_K_DBL, .off = E_OFF(link_latency_ms), .lo = 0,
     .hi = 60000, .help = "as emulation.link_latency_ms"},
    {.path = "tasks", .kind = MTG_CFG_K_IDS, .off = E_OFF(tasks), .lo = 0, .hi = 255,
     .help = "class ids held; absent = from data.partition"},
};

const struct mtg_cfg_key *mtg_cfg_keys(enum mtg_cfg_table t, size_t *n)
{
    switch (t) {
    case MTG_CFG_TABLE_TASK:
        *n = sizeof task_keys / sizeof task_keys[0];
        return task_keys;
    case MTG_CFG_TABLE_EDGE:
        *n = sizeof edge_keys / sizeof edge_keys[0];
        return edge_keys;
    case MTG_CFG_TABLE_TOP:
    default:
        *n = sizeof top_keys / sizeof top_keys[0];
        return top_keys;
    }
}

const struct mtg_cfg_key *mtg_cfg_key_find(enum mtg_cfg_table t, const char *path)
{
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(t, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}
