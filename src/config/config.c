/* config.c - defaults, validation, the resolve chain and the mapping to core GAN configs. */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "core/gan.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/fashion.h"

/* The double nearest the shortest decimal that reads back as f, so a float default of 2e-4f
 * shows up as 0.0002 in to_json and --help, and (float) of it is f again. */
static double pretty_float(float f)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    return f;
}

/* Hidden part of a dense core spec (all layers but the output one) into a config net. */
static void net_from_spec(struct mtg_cfg_net *net, const struct mtg_net_spec *spec,
                          const struct mtg_adam_cfg *opt)
{
    struct mtg_mlp_spec mlp, *s = &mlp;
    memset(net, 0, sizeof *net);
    /* The core defaults are dense stacks (mtg_gan_cfg_default), which tasks[] describes. */
    if (mtg_net_spec_to_mlp(spec, &mlp) != MTG_OK)
        memset(&mlp, 0, sizeof mlp);
    net->layers.n = s->n_layers - 1;
    for (int i = 0; i < s->n_layers - 1 && i < MTG_CFG_MAX_HIDDEN; i++)
        net->layers.width[i] = s->width[i];
    net->activation = s->n_layers > 1 ? s->act[0] : MTG_ACT_RELU;
    net->output_activation = s->act[s->n_layers - 1];
    net->latent_dim = 0; /* the preset's own: mlp s->in_dim, dcgan DESIGN §4's 64 */
    net->lr = pretty_float(opt->lr);
    net->betas[0] = pretty_float(opt->beta1);
    net->betas[1] = pretty_float(opt->beta2);
    net->leaky_slope = pretty_float(s->leaky_slope);
    net->preset = MTG_CFG_PRESET_AUTO;
    net->width = 64;
    net->norm = MTG_CFG_NORM_BATCH;
}

void mtg_cfg_task_defaults(struct mtg_cfg_task *t, const char *id)
{
    /* The networks come from core's DESIGN §4 defaults so there is one source of truth. */
    struct mtg_gan_cfg g;
    mtg_gan_cfg_default(&g, 64);
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    net_from_spec(&t->generator, &g.g, &g.g_opt);
    net_from_spec(&t->discriminator, &g.d, &g.d_opt);
    /* D has no latent input and always ends in a logit; keep the unused fields neutral. */
    t->discriminator.latent_dim = 0;
    t->discriminator.output_activation = MTG_ACT_NONE;
}

void mtg_cfg_defaults(struct mtg_cfg *c)
{
    /* Zeroing first also keeps the unused tail of every string deterministic. */
    memset(c, 0, sizeof *c);
    struct mtg_gan_cfg g;
    mtg_gan_cfg_default(&g, 64);
    c->protocol = MTG_CFG_PROTO_MTGAN;
    c->seed = 42;
    c->log_level = MTG_LOG_INFO;
    snprintf(c->state_dir, sizeof c->state_dir, "mtgan-state");
    c->checkpoint_every = 10;
    c->port = 8080;
    snprintf(c->bind, sizeof c->bind, "127.0.0.1");
    snprintf(c->server_url, sizeof c->server_url, "http://127.0.0.1:8080");
    c->n_edges = 4;
    c->sedna_edges = 2;
    c->model.batch = g.batch;
    c->model.sharing = MTG_CFG_SHARE_NONE;
    c->model.width_mult = 1;
    c->model.recipe.loss = (int)g.recipe.loss;
    c->model.recipe.ema = g.recipe.ema;
    c->model.recipe.noise = g.recipe.noise;
    c->model.recipe.real_label = g.recipe.real_label;
    c->model.recipe.pack = g.recipe.pack;
    c->data.dataset = MTG_CFG_DATA_DIGITS;
    c->data.holdout = true;
    snprintf(c->data.dir, sizeof c->data.dir, "data");
    c->data.partition.tasks_per_edge_min = 4;
    c->data.partition.tasks_per_edge_max = 6;
    c->data.partition.seed = 1;
    c->lifelong.unknown_tasks = MTG_CFG_UNKNOWN_AUTO;
    c->lifelong.min_new = 0.5;
    c->lifelong.detector = MTG_CFG_DETECT_MEAN;
    c->emulation.speed_factor = 1.0;
    /* DESIGN §10 bench profile: 4 edges, speeds 1,1,2,4, 20 ms one-way, 50 Mbit/s. */
    static const double speeds[] = {1, 1, 2, 4};
    c->n_edge_profiles = 4;
    for (int i = 0; i < 4; i++) {
        struct mtg_cfg_edge *e = &c->edges[i];
        snprintf(e->id, sizeof e->id, "edge-%d", i);
        e->speed_factor = speeds[i];
        e->link_mbps = 50;
        e->link_latency_ms = 20;
    }
    c->scheduler.server.policy = MTG_CFG_SPOL_PROFILED;
    c->scheduler.server.round_deadline_ms = 30000;
    c->scheduler.server.staleness_bound = 4;
    c->scheduler.server.local_steps = 200;
    c->scheduler.server.priority = true;
    c->scheduler.edge.policy = MTG_CFG_EPOL_ROUND_ROBIN;
    c->scheduler.edge.overlap = true;
    c->scheduler.sgda.pipeline = true;
    c->aggregation.mode = MTG_CFG_AGG_SYNC;
    c->aggregation.compress = MTG_CFG_COMPRESS_F16_ZLIB;
    c->train.max_steps = 5000;
    c->train.target_fidelity = 0.9;
    c->train.target_fd_ratio = 1.2;
    c->train.target_recall_ratio = 0.6; /* DESIGN §11: recall and coverage >= 0.6x the ceiling */
    c->train.target_coverage_ratio = 0.6;
    c->train.eval_every = 100;
    c->limits.max_body_bytes = 64ll << 20;
    c->limits.edge_expiry_ms = 30000;
    c->limits.max_connections = 512;
    c->limits.per_ip_connections = 128;
    c->limits.header_timeout_s = 10;
    c->limits.idle_timeout_s = 60;
    c->limits.max_sample_rows = 2048;
    c->limits.max_edge_samples = 1000000;
    c->limits.model_cache_mb = 256;
    c->lifelong.max_task_mb = 1024;
    c->server.history = 2048;
}

/* Range/format check of every key of table t in base; shown prefixes the paths. */
static int check_table(enum mtg_cfg_table t, const void *base, const char *shown,
                       struct mtg_err *err)
{
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(t, &n);
    for (size_t i = 0; i < n; i++) {
        char path[160];
        if (shown[0])
            snprintf(path, sizeof path, "%s.%s", shown, keys[i].path);
        else
            snprintf(path, sizeof path, "%s", keys[i].path);
        int rc = mtg_cfg_key_check(&keys[i], base, path, err);
        if (rc != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

/* Digits and fashion-mnist have classes 0..9; the ring's tasks are not numbered by the config. */
static int check_class_ids(const struct mtg_cfg *c, const struct mtg_cfg_ids *ids, const char *what,
                           struct mtg_err *err)
{
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)c->data.dataset);
    for (int i = 0; i < ids->n; i++) {
        if (kind && kind->side > 0 && ids->id[i] >= kind->n_classes)
            return mtg_err_set(err, MTG_EINVAL, "%s: class %d does not exist in %s (0-%d)", what,
                               ids->id[i], kind->name, kind->n_classes - 1);
        if (ids != &c->data.tasks && c->data.tasks.n > 0) {
            bool found = false;
            for (int j = 0; j < c->data.tasks.n; j++)
                found = found || c->data.tasks.id[j] == ids->id[i];
            if (!found)
                return mtg_err_set(err, MTG_EINVAL, "%s: class %d is not in data.tasks", what,
                                   ids->id[i]);
        }
    }
    return MTG_OK;
}

int mtg_cfg_validate(const struct mtg_cfg *c, struct mtg_err *err)
{
    int rc = check_table(MTG_CFG_TABLE_TOP, c, "", err);
    if (rc != MTG_OK)
        return rc;
    if (c->n_tasks < 0 || c->n_tasks > MTG_CFG_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "tasks: %d entries, at most %d", c->n_tasks,
                           MTG_CFG_MAX_TASKS);
    if (c->edge_index >= c->n_edges)
        return mtg_err_set(err, MTG_ERANGE, "edge_index %d must be below n_edges %d (--edges)",
                           c->edge_index, c->n_edges);
    for (int i = 0; i < c->n_tasks; i++) {
        char shown[32];
        snprintf(shown, sizeof shown, "tasks[%d]", i);
        if ((rc = check_table(MTG_CFG_TABLE_TASK, &c->tasks[i], shown, err)) != MTG_OK)
            return rc;
        for (int j = 0; j < i; j++)
            if (strcmp(c->tasks[i].id, c->tasks[j].id) == 0)
                return mtg_err_set(err, MTG_EINVAL, "tasks[%d].id: \"%s\" already used by tasks[%d]",
                                   i, c->tasks[i].id, j);
    }
    if (c->n_edge_profiles < 0 || c->n_edge_profiles > MTG_CFG_MAX_EDGES)
        return mtg_err_set(err, MTG_ERANGE, "edges: %d entries, at most %d", c->n_edge_profiles,
                           MTG_CFG_MAX_EDGES);
    for (int i = 0; i < c->n_edge_profiles; i++) {
        char shown[32];
        snprintf(shown, sizeof shown, "edges[%d]", i);
        if ((rc = check_table(MTG_CFG_TABLE_EDGE, &c->edges[i], shown, err)) != MTG_OK)
            return rc;
        for (int j = 0; j < i; j++)
            if (strcmp(c->edges[i].id, c->edges[j].id) == 0)
                return mtg_err_set(err, MTG_EINVAL, "edges[%d].id: \"%s\" already used by edges[%d]",
                                   i, c->edges[i].id, j);
        char what[48];
        snprintf(what, sizeof what, "edges[%d].tasks", i);
        if ((rc = check_class_ids(c, &c->edges[i].tasks, what, err)) != MTG_OK)
            return rc;
    }
    if ((rc = check_class_ids(c, &c->data.tasks, "data.tasks", err)) != MTG_OK)
        return rc;
    /* Unlabelled classes are by nature outside the labelled tasks: only their range is checked. */
    for (int i = 0; i < c->data.unlabelled.n; i++)
        if (c->data.dataset != MTG_CFG_DATA_DIGITS || c->data.unlabelled.id[i] > 9)
            return mtg_err_set(err, MTG_EINVAL,
                               "data.unlabelled: class %d: only digits classes 0-9 can be unlabelled "
                               "(unknown-task detection is implemented for data.dataset digits)",
                               c->data.unlabelled.id[i]);
    if (c->data.partition.tasks_per_edge_min > c->data.partition.tasks_per_edge_max)
        return mtg_err_set(err, MTG_EINVAL,
                           "data.partition.tasks_per_edge_min (%d) exceeds tasks_per_edge_max (%d)",
                           c->data.partition.tasks_per_edge_min,
                           c->data.partition.tasks_per_edge_max);
    /*
     * Spilled tasks go to <state_dir>/spill (state_dir's own key type refuses
     * "" too; this names the key that needs it). sgda is refused: its server
     * steps every generator and its Adam state on every step, so no task is cold.
     */
    if (c->scheduler.server.memory_budget_mb > 0 && !c->state_dir[0])
        return mtg_err_set(err, MTG_EINVAL,
                           "scheduler.server.memory_budget_mb > 0 spills tasks to state_dir/spill: set state_dir");
    if (c->scheduler.server.memory_budget_mb > 0 && c->protocol != MTG_CFG_PROTO_MTGAN)
        return mtg_err_set(err, MTG_EINVAL,
                           "scheduler.server.memory_budget_mb is implemented for protocol mtgan only; "
                           "set it to 0 with protocol %s", mtg_cfg_protocol_name(c->protocol));
    /* fedd's server trains G against the D a round averaged: it needs rounds that close. */
    if (c->protocol == MTG_CFG_PROTO_FEDD &&
        (c->aggregation.mode == MTG_CFG_AGG_ASYNC || c->scheduler.server.policy == MTG_CFG_SPOL_ASYNC))
        return mtg_err_set(err, MTG_EINVAL,
                           "protocol fedd averages the edges' discriminators in sync rounds: set aggregation.mode "
                           "\"sync\" and a scheduler.server.policy other than \"async\"");
    if (c->model.batch % c->model.recipe.pack != 0)
        return mtg_err_set(err, MTG_EINVAL, "model.pack %d does not divide model.batch %d", c->model.recipe.pack,
                           c->model.batch);
    /* Arrival order and wall-clock stops are exactly what deterministic mode rules out. */
    if (c->train.deterministic && c->aggregation.mode == MTG_CFG_AGG_ASYNC)
        return mtg_err_set(err, MTG_EINVAL,
                           "aggregation.mode \"async\" applies deltas in arrival order, which train.deterministic "
                           "forbids: use \"sync\" or turn train.deterministic off");
    if (c->train.deterministic && c->scheduler.server.policy == MTG_CFG_SPOL_ASYNC)
        return mtg_err_set(err, MTG_EINVAL,
                           "scheduler.server.policy \"async\" plans by arrival time, which train.deterministic "
                           "forbids: use \"fixed\" or \"profiled\"");
    if (c->train.deterministic && c->train.max_wall_s > 0)
        return mtg_err_set(err, MTG_EINVAL,
                           "train.max_wall_s stops training at a wall-clock time, which train.deterministic "
                           "forbids: set it to 0 and bound training with train.max_steps");
    if (!c->data.holdout && c->data.dataset != MTG_CFG_DATA_DIGITS)
        return mtg_err_set(err, MTG_EINVAL,
                           "data.holdout false reads a digits file whole; the other datasets have fixed splits");
    /* The async policy applies deltas on arrival: a sync round would never be planned. */
    if (c->scheduler.server.policy == MTG_CFG_SPOL_ASYNC && c->aggregation.mode != MTG_CFG_AGG_ASYNC)
        return mtg_err_set(err, MTG_EINVAL,
                           "scheduler.server.policy \"async\" needs aggregation.mode \"async\"");
    return MTG_OK;
}

/* An edge id from the host name: k8s pod and node names are already valid ids. */
static void edge_id_from_host(struct mtg_cfg *c)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "edge");
    host[sizeof host - 1] = '\0';
    size_t n = 0;
    for (const char *p = host; *p && n + 1 < sizeof c->edge_id; p++) {
        unsigned char ch = (unsigned char)*p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ((ch == '.' || ch == '_' || ch == '-') && n > 0);
        if (ok)
            c->edge_id[n++] = (char)ch;
    }
    c->edge_id[n] = '\0';
    if (n == 0)
        snprintf(c->edge_id, sizeof c->edge_id, "edge");
}

/* data.path left empty: the dataset's default file or directory. */
static int default_data_path(struct mtg_cfg *c, struct mtg_err *err)
{
    if (c->data.path[0] != '\0')
        return MTG_OK;
    if (c->data.dataset == MTG_CFG_DATA_FASHION) {
        snprintf(c->data.path, sizeof c->data.path, "%s", MTG_DATA_FASHION_DIR);
        return MTG_OK;
    }
    if (c->data.dataset != MTG_CFG_DATA_DIGITS)
        return MTG_OK;
    int n = snprintf(c->data.path, sizeof c->data.path, "%s/digits.csv.gz", c->data.dir);
    if (n < 0 || (size_t)n >= sizeof c->data.path)
        return mtg_err_set(err, MTG_ERANGE, "data.dir: too long to hold digits.csv.gz");
    return MTG_OK;
}

int mtg_cfg_resolve(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv,
                    char *const *envp, struct mtg_cfg_args *extra, struct mtg_err *err)
{
    struct mtg_cfg_args local;
    if (!extra)
        extra = &local;
    /* Flags are parsed twice: once on a scratch copy, to learn --config and --help before
     * the file and env layers, and once over them, so that flags win. */
    struct mtg_cfg *scratch = malloc(sizeof *scratch);
    if (!scratch)
        return mtg_err_set(err, MTG_ENOMEM, "config: out of memory");
    *scratch = *c;
    int rc = mtg_cfg_parse_args(scratch, bin, argc, argv, extra, err);
    free(scratch);
    if (rc != MTG_OK)
        return rc;
    if (extra->help)
        return MTG_CFG_HELP;
    const char *path = extra->config_path;
    if (!path) {
        path = envp ? NULL : getenv("MTGAN_CONFIG");
        for (char *const *e = envp; e && *e; e++)
            if (strncmp(*e, "MTGAN_CONFIG=", 13) == 0)
                path = *e + 13;
        if (path && !path[0])
            path = NULL;
    }
    if (path && (rc = mtg_cfg_load_file(c, path, err)) != MTG_OK)
        return rc;
    if ((rc = mtg_cfg_load_env(c, envp, err)) != MTG_OK)
        return rc;
    if ((rc = mtg_cfg_parse_args(c, bin, argc, argv, extra, err)) != MTG_OK)
        return rc;
    if ((rc = default_data_path(c, err)) != MTG_OK)
        return rc;
    if (bin == MTG_CFG_BIN_EDGE && c->edge_id[0] == '\0')
        edge_id_from_host(c);
    if ((rc = mtg_cfg_validate(c, err)) != MTG_OK)
        return rc;
    /* Fashion-MNIST comes from a package that may be missing: say so before any work starts,
     * in every program that reads the data (sample and inspect do not). */
    if (c->data.dataset == MTG_CFG_DATA_FASHION && bin != MTG_CFG_BIN_SAMPLE && bin != MTG_CFG_BIN_INSPECT &&
        (rc = mtg_data_fashion_check(c->data.path, err)) != MTG_OK)
        return mtg_err_wrap(err, "data.dataset fashion-mnist");
    return MTG_OK;
}

const struct mtg_cfg_task *mtg_cfg_find_task(const struct mtg_cfg *c, const char *id)
{
    for (int i = 0; i < c->n_tasks && i < MTG_CFG_MAX_TASKS; i++)
        if (strcmp(c->tasks[i].id, id) == 0)
            return &c->tasks[i];
    return NULL;
}

void mtg_cfg_task_for(const struct mtg_cfg *c, const char *id, struct mtg_cfg_task *out)
{
    const struct mtg_cfg_task *t = mtg_cfg_find_task(c, id);
    if (t)
        *out = *t;
    else
        mtg_cfg_task_defaults(out, id);
}

void mtg_cfg_edge_at(const struct mtg_cfg *c, int i, struct mtg_cfg_edge *out)
{
    int n = c->n_edge_profiles;
    if (i >= 0 && i < n) {
        *out = c->edges[i];
        return;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "edge-%d", i);
    if (n > 0 && i >= 0) {
        const struct mtg_cfg_edge *src = &c->edges[i % n];
        out->speed_factor = src->speed_factor;
        out->link_mbps = src->link_mbps;
        out->link_latency_ms = src->link_latency_ms;
    } else {
        out->speed_factor = c->emulation.speed_factor;
        out->link_mbps = c->emulation.link_mbps;
        out->link_latency_ms = c->emulation.link_latency_ms;
    }
}

/* Dense hidden layers of net followed by one output layer of width out_w and activation out_act. */
/* auto: convolutional nets for 28x28 images, dense stacks for everything smaller. */
static enum mtg_cfg_preset resolve_preset(int preset, int data_dim)
{
    if (preset != MTG_CFG_PRESET_AUTO)
        return (enum mtg_cfg_preset)preset;
    return data_dim == 28 * 28 ? MTG_CFG_PRESET_DCGAN : MTG_CFG_PRESET_MLP;
}

/* DCGAN-28 (DESIGN §4) for a G (latent > 0) or a D, with the config's overrides. */
static int dcgan_spec(const struct mtg_cfg_net *net, int latent, int data_dim, struct mtg_net_spec *out,
                      const char *what, struct mtg_err *err)
{
    if (data_dim != 28 * 28)
        return mtg_err_set(err, MTG_EINVAL, "%s.preset dcgan: needs 28x28 images (784 features), the data has %d",
                           what, data_dim);
    if (latent > 0) {
        mtg_net_spec_dcgan28_g(out, latent, net->width);
        /* norm none: the BN layers become plain activations (their relu stays). */
        for (int i = 0; net->norm == MTG_CFG_NORM_NONE && i < out->n_layers; i++)
            if (out->layer[i].op == MTG_OP_BATCHNORM)
                out->layer[i].op = MTG_OP_ACT;
    } else {
        mtg_net_spec_dcgan28_d(out, net->width, net->mbstd);
    }
    int rc = mtg_net_spec_validate(out, err);
    return rc == MTG_OK ? MTG_OK : mtg_err_wrap(err, "%s", what);
}

static int net_to_spec(const struct mtg_cfg_net *net, int in_dim, int out_w, enum mtg_act out_act,
                       struct mtg_net_spec *out, const char *what, struct mtg_err *err)
{
    if (net->layers.n < 0 || net->layers.n > MTG_CFG_MAX_HIDDEN)
        return mtg_err_set(err, MTG_ERANGE, "%s.layers: %d hidden layers, at most %d", what,
                           net->layers.n, MTG_CFG_MAX_HIDDEN);
    struct mtg_mlp_spec mlp = {0}, *s = &mlp;
    s->in_dim = in_dim;
    s->n_layers = net->layers.n + 1;
    for (int i = 0; i < net->layers.n; i++) {
        s->width[i] = net->layers.width[i];
        s->act[i] = net->activation;
    }
    s->width[net->layers.n] = out_w;
    s->act[net->layers.n] = out_act;
    s->leaky_slope = (float)net->leaky_slope;
    return mtg_net_spec_from_mlp(&mlp, out); /* n_layers is in range: cannot fail */
}

static void net_to_opt(const struct mtg_cfg_net *net, struct mtg_adam_cfg *opt)
{
    opt->lr = (float)net->lr;
    opt->beta1 = (float)net->betas[0];
    opt->beta2 = (float)net->betas[1];
}

int mtg_cfg_task_gan(const struct mtg_cfg_task *t, int data_dim, struct mtg_gan_cfg *out,
                     struct mtg_err *err)
{
    if (data_dim < 1 || data_dim > MTG_NET_MAX_DIM)
        return mtg_err_set(err, MTG_EINVAL, "task %s: data_dim %d outside [1, %d]", t->id, data_dim,
                           MTG_NET_MAX_DIM);
    mtg_gan_cfg_default(out, data_dim);
    bool g_conv = resolve_preset(t->generator.preset, data_dim) == MTG_CFG_PRESET_DCGAN;
    int latent = t->generator.latent_dim > 0 ? t->generator.latent_dim
                 : g_conv                    ? MTG_CFG_DCGAN_LATENT
                                             : out->g.in_shape[0];
    int rc = g_conv ? dcgan_spec(&t->generator, latent, data_dim, &out->g, "generator", err)
                    : net_to_spec(&t->generator, latent, data_dim, t->generator.output_activation, &out->g,
                                  "generator", err);
    if (rc == MTG_OK)
        rc = resolve_preset(t->discriminator.preset, data_dim) == MTG_CFG_PRESET_DCGAN
                 ? dcgan_spec(&t->discriminator, 0, data_dim, &out->d, "discriminator", err)
                 : net_to_spec(&t->discriminator, data_dim, 1, MTG_ACT_NONE, &out->d, "discriminator", err);
    if (rc != MTG_OK)
        return mtg_err_wrap(err, "task %s", t->id);
    net_to_opt(&t->generator, &out->g_opt);
    net_to_opt(&t->discriminator, &out->d_opt);
    if ((rc = mtg_gan_cfg_validate(out, err)) != MTG_OK)
        return mtg_err_wrap(err, "task %s", t->id);
    return MTG_OK;
}

int mtg_cfg_gan(const struct mtg_cfg *c, const char *task_id, int data_dim, struct mtg_gan_cfg *out,
                struct mtg_err *err)
{
    struct mtg_cfg_task t;
    mtg_cfg_task_for(c, task_id, &t);
    int rc = mtg_cfg_task_gan(&t, data_dim, out, err);
    if (rc != MTG_OK)
        return rc;
    out->batch = c->model.batch;
    out->recipe = (struct mtg_gan_recipe){.loss = (enum mtg_gan_loss)c->model.recipe.loss,
                                          .ema = (float)c->model.recipe.ema,
                                          .noise = (float)c->model.recipe.noise,
                                          .real_label = (float)c->model.recipe.real_label,
                                          .pack = c->model.recipe.pack};
    out->d.in_shape[0] *= out->recipe.pack; /* pack samples side by side: pack times the channels */
    if (out->g_max_batch != 0 && out->g_max_batch < out->batch)
        out->g_max_batch = out->batch;
    if (c->model.width_mult > 1)
        mtg_gan_cfg_scale_width(out, c->model.width_mult);
    if ((rc = mtg_gan_cfg_validate(out, err)) != MTG_OK)
        return mtg_err_wrap(err, "task %s", task_id);
    return MTG_OK;
}

void mtg_cfg_codec(const struct mtg_cfg *c, int *f16, int *zlib)
{
    enum mtg_cfg_compress k = c->aggregation.compress;
    *f16 = k == MTG_CFG_COMPRESS_F16 || k == MTG_CFG_COMPRESS_F16_ZLIB;
    *zlib = k == MTG_CFG_COMPRESS_ZLIB || k == MTG_CFG_COMPRESS_F16_ZLIB;
}

int mtg_cfg_cli(struct mtg_cfg *c, enum mtg_cfg_binary bin, int argc, char **argv, struct mtg_cfg_args *extra,
                int max_pos)
{
    struct mtg_err err = {0};
    int rc = mtg_cfg_resolve(c, bin, argc, argv, NULL, extra, &err);
    if (rc == MTG_CFG_HELP) {
        mtg_cfg_print_help(stdout, bin);
        return 0;
    }
    if (rc != MTG_OK) {
        fprintf(stderr, "%s: %s\n", mtg_cfg_binary_name(bin), err.msg);
        return 2;
    }
    if (extra->n_pos > max_pos) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", mtg_cfg_binary_name(bin),
                extra->pos[max_pos]);
        return 2;
    }
    mtg_log_set_level(c->log_level);
    return -1;
}

const char *mtg_cfg_protocol_name(enum mtg_cfg_protocol p)
{
    return p == MTG_CFG_PROTO_SGDA ? "sgda" : p == MTG_CFG_PROTO_FEDD ? "fedd" : "mtgan";
}
