#include "server/server.h"
#include <cJSON.h>
#include "core/log.h"
#include "core/status.h"
#include "data/dataset.h"
#include "quality/evaluator.h"
#include "quality/quality.h"
#include "server/server_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EVAL_SAMPLES 500
#define EVAL_MIN_INTERVAL_MS 300
#define LOOP_SLEEP_MS 5

int64_t mtg_srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int srv_n_tasks(const struct mtg_srv *s)
{
    return s->sgda ? mtg_sgda_n_tasks(s->sgda_state) : mtg_fed_n_tasks(s->fed);
}

int srv_find_task(const struct mtg_srv *s, const char *id)
{
    int t = s->sgda ? mtg_sgda_find_task(s->sgda_state, id) : mtg_fed_find_task(s->fed, id);
    return (t >= 0 && s->deleted[t]) ? -1 : t;
}

void srv_task_view(const struct mtg_srv *s, int t, struct srv_task_view *v)
{
    if (s->sgda) {
        struct mtg_sgda_task_info ti;
        mtg_sgda_task_info(s->sgda_state, t, &ti);
        *v = (struct srv_task_view){ti.id, ti.steps, ti.steps, ti.active, ti.loss_d, ti.loss_g, ti.cfg, 0};
        return;
    }
    struct mtg_fed_task_info fi;
    mtg_fed_task_info(s->fed, t, &fi);
    *v = (struct srv_task_view){fi.id, fi.version, fi.steps, fi.active, fi.loss_d, fi.loss_g, fi.cfg, fi.spilled};
}

const char *srv_task_id(const struct mtg_srv *s, int t)
{
    struct srv_task_view v;
    srv_task_view(s, t, &v);
    return v.id;
}

uint64_t srv_task_version(const struct mtg_srv *s, int t)
{
    struct srv_task_view v;
    srv_task_view(s, t, &v);
    return v.version;
}

uint64_t srv_task_steps(const struct mtg_srv *s, int t)
{
    struct srv_task_view v;
    srv_task_view(s, t, &v);
    return v.steps;
}

const struct mtg_gan_cfg *srv_task_cfg(const struct mtg_srv *s, int t)
{
    struct srv_task_view v;
    srv_task_view(s, t, &v);
    return v.cfg;
}

int srv_task_resident(struct mtg_srv *s, int t, struct mtg_err *err)
{
    return s->sgda ? MTG_OK : mtg_fed_task_resident(s->fed, t, err);
}

const float *srv_task_g(struct mtg_srv *s, int t, size_t *n, struct mtg_err *err)
{
    if (s->sgda) {
        struct mtg_net *g = mtg_gan_generator(mtg_sgda_task_gan(s->sgda_state, t));
        *n = mtg_net_param_count(g);
        return mtg_net_params(g);
    }
    *n = 0;
    if (mtg_fed_task_resident(s->fed, t, err) != MTG_OK)
        return NULL;
    return mtg_fed_task_g(s->fed, t, n);
}

const float *srv_task_g_served(struct mtg_srv *s, int t, size_t *n, struct mtg_err *err)
{
    if (s->sgda) {
        struct mtg_gan *gan = mtg_sgda_task_gan(s->sgda_state, t);
        struct mtg_net *g = mtg_gan_generator_ema(gan) ? mtg_gan_generator_ema(gan) : mtg_gan_generator(gan);
        *n = mtg_net_param_count(g);
        return mtg_net_params(g);
    }
    const float *g = srv_task_g(s, t, n, err);
    const float *ema = g ? mtg_fed_task_g_ema(s->fed, t, n) : NULL;
    return ema ? ema : g;
}

void srv_set_task_quality(struct mtg_srv *s, int t, int active, double gap)
{
    if (s->sgda)
        mtg_sgda_set_task_quality(s->sgda_state, t, active, gap);
    else
        mtg_fed_set_task_quality(s->fed, t, active, gap);
}

int srv_task_label(const struct mtg_srv *s, int t)
{
    return mtg_data_kind_task_label((int)s->cfg->data.dataset, srv_task_id(s, t));
}

static uint64_t id_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: a stable per-task seed offset */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int srv_add_task(struct mtg_srv *s, const struct mtg_cfg_task *tc, struct mtg_err *err)
{
    /* Record the task's networks first: edges build theirs from this same config. */
    if (!mtg_cfg_find_task(s->cfg, tc->id)) {
        if (s->cfg->n_tasks >= MTG_CFG_MAX_TASKS)
            return mtg_err_set(err, MTG_ERANGE, "task limit %d reached", MTG_CFG_MAX_TASKS);
        s->cfg->tasks[s->cfg->n_tasks++] = *tc;
    }
    struct mtg_gan_cfg gc;
    int rc = mtg_cfg_gan(s->cfg, tc->id, s->data_dim, &gc, err);
    if (rc != MTG_OK)
        return rc;
    uint64_t seed = s->cfg->seed ^ id_hash(tc->id);
    int t = s->sgda ? mtg_sgda_add_task(s->sgda_state, tc->id, &gc, seed, err)
                    : mtg_fed_add_task(s->fed, tc->id, &gc, seed, err);
    if (t >= 0) {
        srv_task_reset_quality(s, t);
        srv_dash_event(s, "task_added", "task %s added", tc->id);
    }
    return t;
}

static int create_configured_tasks(struct mtg_srv *s, struct mtg_err *err)
{
    struct mtg_cfg_task tc;
    if (s->cfg->data.dataset == MTG_CFG_DATA_RING) {
        mtg_cfg_task_for(s->cfg, "ring", &tc);
        /* Ring points lie at radius 2: the digits default (sigmoid into [0,1]) cannot reach them. */
        if (!mtg_cfg_find_task(s->cfg, "ring"))
            tc.generator.output_activation = MTG_ACT_NONE;
        return srv_add_task(s, &tc, err) < 0 ? err->code : MTG_OK;
    }
    int kind = (int)s->cfg->data.dataset;
    int n = s->cfg->data.tasks.n ? s->cfg->data.tasks.n : mtg_data_kind_info(kind)->n_classes;
    for (int i = 0; i < n; i++) {
        char id[32];
        int rc = mtg_data_kind_task_id(kind, s->cfg->data.tasks.n ? s->cfg->data.tasks.id[i] : i, id, sizeof id);
        if (rc != MTG_OK)
            return mtg_err_set(err, rc, "data.tasks: no class %d in %s", s->cfg->data.tasks.id[i],
                               mtg_data_kind_info(kind)->name);
        mtg_cfg_task_for(s->cfg, id, &tc);
        if (srv_add_task(s, &tc, err) < 0)
            return err->code;
    }
    return MTG_OK;
}

static int make_protocol(struct mtg_srv *s, struct mtg_err *err)
{
    const struct mtg_cfg *c = s->cfg;
    static const char *const policy_names[] = {"fixed", "profiled", "fixed"};
    struct mtg_sched_params sp = {
        .local_steps = c->scheduler.server.local_steps,
        .round_deadline_ms = c->scheduler.server.round_deadline_ms,
        .priority = c->scheduler.server.priority,
        .min_steps = 1,
    };
    s->sched = mtg_sched_new(policy_names[c->scheduler.server.policy], &sp, err);
    if (!s->sched)
        return err->code;
    return srv_protocol_new(s, err);
}

/* (Re)creates the protocol state from config; a checkpoint load uses it to drop half-applied state. */
int srv_protocol_new(struct mtg_srv *s, struct mtg_err *err)
{
    const struct mtg_cfg *c = s->cfg;
    if (s->sgda) {
        struct mtg_sgda_opts o = {.step_deadline_ms = c->scheduler.server.round_deadline_ms,
                                  .edge_expiry_ms = c->limits.edge_expiry_ms,
                                  .max_steps = c->train.max_steps > 0 ? (uint64_t)c->train.max_steps : 0,
                                  .pipeline = c->scheduler.sgda.pipeline,
                                  .deterministic = c->train.deterministic,
                                  .min_edges = c->n_edges,
                                  .eval_every = (uint64_t)c->train.eval_every};
        mtg_sgda_free(s->sgda_state);
        s->sgda_state = mtg_sgda_new(&o, err);
        return s->sgda_state ? MTG_OK : err->code;
    }
    /* Config validation guarantees state_dir is set whenever the budget is. */
    char spill_dir[MTG_CFG_PATH_MAX + 16];
    snprintf(spill_dir, sizeof spill_dir, "%s/spill", c->state_dir);
    struct mtg_fed_opts o = {
        .round_deadline_ms = c->scheduler.server.round_deadline_ms,
        .async = c->aggregation.mode == MTG_CFG_AGG_ASYNC || c->scheduler.server.policy == MTG_CFG_SPOL_ASYNC,
        .staleness_bound = c->scheduler.server.staleness_bound,
        .server_lr = 1.0f,
        .edge_expiry_ms = c->limits.edge_expiry_ms,
        .max_delta_norm = 1e4f,
        .max_steps = c->train.max_steps > 0 ? (uint64_t)c->train.max_steps : 0,
        .memory_budget = (size_t)c->scheduler.server.memory_budget_mb << 20,
        .spill_dir = spill_dir,
        .deterministic = c->train.deterministic,
        .min_edges = c->n_edges,
        .eval_every = (uint64_t)c->train.eval_every,
        .fedd = c->protocol == MTG_CFG_PROTO_FEDD,
        .fedd_parallel = c->scheduler.fedd.schedule == MTG_CFG_FEDD_PARALLEL,
        .seed = c->seed,
    };
    mtg_fed_free(s->fed);
    s->fed = mtg_fed_new(&o, s->sched, err);
    return s->fed ? MTG_OK : err->code;
}

static int load_reference(struct mtg_srv *s, struct mtg_err *err);

int mtg_srv_new(const struct mtg_cfg *cfg, struct mtg_srv **out, struct mtg_err *err)
{
    *out = NULL;
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)cfg->data.dataset);
    if (!kind)
        return mtg_err_set(err, MTG_EINVAL, "server: data.dataset %d is unknown", (int)cfg->data.dataset);
    struct mtg_srv *s = calloc(1, sizeof *s);
    if (!s)
        return mtg_err_set(err, MTG_ENOMEM, "server: out of memory");
    s->cfg = malloc(sizeof *s->cfg);
    if (!s->cfg) {
        free(s);
        return mtg_err_set(err, MTG_ENOMEM, "server: out of memory");
    }
    *s->cfg = *cfg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->sgda = cfg->protocol == MTG_CFG_PROTO_SGDA;
    s->data_dim = kind->dim;
    s->start_ms = mtg_srv_now_ms();
    s->mcache = srv_mcache_new((size_t)cfg->limits.model_cache_mb << 20);
    int rc = s->mcache ? srv_dash_new(s, err) : mtg_err_set(err, MTG_ENOMEM, "server: out of memory");
    if (rc != MTG_OK)
        goto fail;
    rc = make_protocol(s, err);
    if (rc != MTG_OK)
        goto fail;
    int loaded = 0;
    if (cfg->state_dir[0]) {
        if (mkdir(cfg->state_dir, 0750) != 0 && errno != EEXIST) {
            rc = mtg_err_set(err, MTG_EIO, "state_dir %s: %s", cfg->state_dir, strerror(errno));
            goto fail;
        }
        rc = srv_ckpt_load(s, &loaded, err);
        if (rc != MTG_OK)
            goto fail;
    }
    if (!loaded && (rc = create_configured_tasks(s, err)) != MTG_OK)
        goto fail;
    if (cfg->train.reference[0] && (rc = load_reference(s, err)) != MTG_OK)
        goto fail;
    /* Image datasets are judged by their classifier (evaluator.h); the ring by tests/tools that read samples. */
    if (cfg->train.eval_every > 0 && kind->side > 0) {
        rc = mtg_quality_new_for_dataset((int)cfg->data.dataset, cfg->data.path, cfg->data.limit_per_class,
                                         cfg->state_dir, &s->quality, err);
        if (rc != MTG_OK) {
            mtg_err_wrap(err, "quality classifier");
            goto fail;
        }
    }
    size_t n_routes;
    const struct mtg_http_route *routes = srv_routes(s, &n_routes);
    struct mtg_http_config hc = {
        .bind = cfg->bind[0] ? cfg->bind : "127.0.0.1",
        .port = (unsigned)cfg->port,
        .max_connections = (unsigned)cfg->limits.max_connections,
        .per_ip_connections = (unsigned)cfg->limits.per_ip_connections,
        .timeout_s = (unsigned)cfg->limits.idle_timeout_s,
        .header_timeout_s = (unsigned)cfg->limits.header_timeout_s,
        .token_file = cfg->token_file[0] ? cfg->token_file : NULL,
    };
    rc = mtg_http_server_new(&hc, routes, n_routes, &s->http, err);
    if (rc != MTG_OK)
        goto fail;
    mtg_log(MTG_LOG_INFO, "server", "listening on %s:%u protocol=%s tasks=%d resumed=%d", hc.bind,
            mtg_http_server_port(s->http), mtg_cfg_protocol_name(s->cfg->protocol), srv_n_tasks(s), loaded);
    *out = s;
    return MTG_OK;
fail:
    mtg_srv_free(s);
    return rc;
}

unsigned mtg_srv_port(const struct mtg_srv *s) { return mtg_http_server_port(s->http); }

/*
 * Quality target (DESIGN §11): fidelity; for a task with a centralised
 * reference (train.reference) the full target also needs FD against that
 * reference, and recall and coverage against the task's real-vs-real
 * ceiling - collapse shows in those two, and the ceiling says what real
 * data itself scores, so the ratios mean the same for every class.
 */
static int reached_target(const struct mtg_srv *s, int t, const struct srv_quality *q)
{
    const struct mtg_cfg *c = s->cfg;
    if (q->fidelity < c->train.target_fidelity)
        return 0;
    if (!(s->ref_fd[t] > 0))
        return 1;
    if (q->fd > c->train.target_fd_ratio * s->ref_fd[t])
        return 0;
    const struct mtg_quality_task *ce = mtg_quality_ceiling(s->quality, srv_task_label(s, t));
    return !ce || (q->recall >= c->train.target_recall_ratio * ce->recall &&
                   q->coverage >= c->train.target_coverage_ratio * ce->coverage);
}

void srv_task_reference(struct mtg_srv *s, int t)
{
    s->ref_fd[t] = 0;
    for (int i = 0; i < s->n_refs; i++) {
        if (strcmp(s->refs[i].id, srv_task_id(s, t)) == 0) {
            s->ref_fd[t] = s->refs[i].fd;
            return;
        }
    }
}

void srv_task_reset_quality(struct mtg_srv *s, int t)
{
    memset(&s->q[t], 0, sizeof s->q[t]);
    s->q[t].reached_s = -1;
    srv_task_reference(s, t);
}

/*
 * Reads fd_ref per task from a train-local --json summary and keeps every
 * row, not just the current tasks': a task that joins later (an edge
 * declaring new data, PUT /v1/tasks) is judged by the same full target,
 * not by fidelity alone. Its recall_ref is no longer read: recall and
 * coverage are judged against the real-vs-real ceiling (reached_target).
 */
static int load_reference(struct mtg_srv *s, struct mtg_err *err)
{
    const char *path = s->cfg->train.reference;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mtg_err_set(err, MTG_ENOTFOUND, "train.reference %s: %s", path, strerror(errno));
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    cJSON *o = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    cJSON *tasks = o ? cJSON_GetObjectItemCaseSensitive(o, "tasks") : NULL;
    if (!cJSON_IsObject(tasks)) {
        cJSON_Delete(o);
        return mtg_err_set(err, MTG_EFORMAT, "train.reference %s: not a train-local --json summary", path);
    }
    int rows = cJSON_GetArraySize(tasks);
    free(s->refs);
    s->n_refs = 0;
    s->refs = rows > 0 ? calloc((size_t)rows, sizeof *s->refs) : NULL;
    if (rows > 0 && !s->refs) {
        cJSON_Delete(o);
        return mtg_err_set(err, MTG_ENOMEM, "train.reference %s: out of memory", path);
    }
    for (cJSON *tj = tasks->child; tj; tj = tj->next) {
        cJSON *fd = cJSON_GetObjectItemCaseSensitive(tj, "fd_ref");
        if (!tj->string || strlen(tj->string) >= sizeof s->refs[0].id || !cJSON_IsNumber(fd) || !(fd->valuedouble > 0))
            continue;
        struct srv_reference *r = &s->refs[s->n_refs++];
        snprintf(r->id, sizeof r->id, "%s", tj->string);
        r->fd = fd->valuedouble;
    }
    cJSON_Delete(o);
    int found = 0;
    for (int t = 0; t < srv_n_tasks(s); t++) {
        srv_task_reference(s, t);
        found += s->ref_fd[t] > 0;
    }
    mtg_log(MTG_LOG_INFO, "server", "quality reference %s: %d of %d tasks (%d rows)", path, found, srv_n_tasks(s),
            s->n_refs);
    return MTG_OK;
}

static void evaluate(struct mtg_srv *s, int64_t now)
{
    int n = srv_n_tasks(s);
    for (int t = 0; t < n; t++) {
        pthread_mutex_lock(&s->mu);
        int label = srv_task_label(s, t);
        uint64_t version = srv_task_version(s, t), steps = srv_task_steps(s, t);
        int skip = s->deleted[t] || label < 0 || version == s->q[t].version || !s->quality;
        struct mtg_gan_cfg gc = *srv_task_cfg(s, t);
        size_t np = 0;
        struct mtg_err gerr = {0};
        const float *g = skip ? NULL : srv_task_g_served(s, t, &np, &gerr);
        if (!skip && !g) {
            /* Logged once per version: retried only when the task trains again. */
            mtg_log(MTG_LOG_WARN, "server", "cannot evaluate task %s: %s", srv_task_id(s, t), gerr.msg);
            s->q[t].version = version;
        }
        float *copy = g ? malloc(np * sizeof(float)) : NULL;
        if (copy)
            memcpy(copy, g, np * sizeof(float));
        pthread_mutex_unlock(&s->mu);
        if (!copy)
            continue;
        /* Evaluate outside the lock so training never waits for it. */
        struct mtg_err err = {0};
        gc.g_max_batch = 250;
        gc.recipe.ema = 0.0f; /* the copied parameters already are the served generator */
        struct mtg_gan *eg = mtg_gan_new(&gc, MTG_GAN_G, 0, &err);
        float *x = malloc((size_t)EVAL_SAMPLES * s->data_dim * sizeof(float));
        struct mtg_quality_task r;
        int rc = MTG_ENOMEM;
        if (eg && x) {
            memcpy(mtg_net_params(mtg_gan_generator(eg)), copy, np * sizeof(float));
            mtg_gan_sample(eg, x, EVAL_SAMPLES, 12345);
            rc = mtg_quality_eval_task(s->quality, label, x, EVAL_SAMPLES, &r, &err);
        }
        mtg_gan_free(eg);
        free(x);
        free(copy);
        if (rc != MTG_OK)
            continue;
        pthread_mutex_lock(&s->mu);
        struct srv_quality *q = &s->q[t];
        q->evaluated = 1;
        q->version = version;
        q->steps = steps;
        q->fidelity = r.fidelity;
        q->fd = r.fd;
        q->precision = r.precision;
        q->recall = r.recall;
        q->coverage = r.coverage;
        int at_target = reached_target(s, t, q);
        if (at_target && q->reached_s < 0) {
            q->reached_s = (double)(now - s->start_ms) / 1000.0;
            mtg_log(MTG_LOG_INFO, "server", "task %s reached target at %.1f s (fidelity %.3f fd %.2f)",
                    srv_task_id(s, t), q->reached_s, q->fidelity, q->fd);
            srv_dash_event(s, "target_reached", "task %s reached its target at %llu steps (fidelity %.3f, FD %.2f)",
                           srv_task_id(s, t), (unsigned long long)q->steps, q->fidelity, q->fd);
        }
        int budget = s->cfg->train.max_steps > 0 && srv_task_steps(s, t) >= (uint64_t)s->cfg->train.max_steps;
        double gap = 1.0 - q->fidelity / (s->cfg->train.target_fidelity > 0 ? s->cfg->train.target_fidelity : 1);
        srv_set_task_quality(s, t, !(q->reached_s >= 0 || budget), gap);
        pthread_mutex_unlock(&s->mu);
    }
}

static int all_done(struct mtg_srv *s)
{
    int n = srv_n_tasks(s), live = 0;
    for (int t = 0; t < n; t++) {
        if (s->deleted[t])
            continue;
        live++;
        int budget = s->cfg->train.max_steps > 0 && srv_task_steps(s, t) >= (uint64_t)s->cfg->train.max_steps;
        if (budget && s->q[t].reached_s < 0)
            srv_set_task_quality(s, t, 0, 1.0);
        if (!(s->q[t].reached_s >= 0 || budget))
            return 0;
    }
    return live > 0;
}

int mtg_srv_run(struct mtg_srv *s, const atomic_int *stop, int exit_when_done, struct mtg_err *err)
{
    int64_t last_eval = 0;
    const int ckpt_every = s->cfg->checkpoint_every;
    while (!atomic_load(stop) && !atomic_load(&s->stopping)) {
        int64_t now = mtg_srv_now_ms();
        pthread_mutex_lock(&s->mu);
        int changed = s->sgda ? mtg_sgda_tick(s->sgda_state, now) : mtg_fed_tick(s->fed, now);
        uint64_t round = s->sgda ? mtg_sgda_step(s->sgda_state) : mtg_fed_round(s->fed);
        int was_done = s->done;
        /* Deterministic mode: not done while the last quality check is still owed. */
        int owed = s->cfg->train.deterministic &&
                   (s->sgda ? mtg_sgda_eval_pending(s->sgda_state) : mtg_fed_eval_pending(s->fed));
        s->done = all_done(s) && !owed;
        if (s->cfg->train.max_wall_s > 0 && (now - s->start_ms) > s->cfg->train.max_wall_s * 1000)
            s->done = 1;
        if (changed || s->done != was_done)
            pthread_cond_broadcast(&s->changed);
        int done = s->done;
        pthread_mutex_unlock(&s->mu);
        srv_dash_tick(s, now);
        if (s->cfg->train.deterministic) {
            /*
             * Quality is judged only where the protocol holds training (a task
             * crossed a multiple of train.eval_every steps, or finished), so
             * which models reach their target, and what trains next, is a
             * function of the models alone, never of when a timer fired.
             */
            pthread_mutex_lock(&s->mu);
            int pending = s->sgda ? mtg_sgda_eval_pending(s->sgda_state) : mtg_fed_eval_pending(s->fed);
            pthread_mutex_unlock(&s->mu);
            if (pending) {
                evaluate(s, now);
                pthread_mutex_lock(&s->mu);
                if (s->sgda)
                    mtg_sgda_eval_done(s->sgda_state);
                else
                    mtg_fed_eval_done(s->fed);
                s->done = all_done(s);
                pthread_cond_broadcast(&s->changed);
                pthread_mutex_unlock(&s->mu);
                continue; /* the next tick opens the next round at once */
            }
        } else if (s->quality && now - last_eval >= EVAL_MIN_INTERVAL_MS) {
            evaluate(s, now);
            last_eval = now;
        }
        if (s->cfg->state_dir[0] && ckpt_every > 0 && round >= s->last_ckpt_round + (uint64_t)ckpt_every) {
            if (srv_ckpt_save(s, err) != MTG_OK)
                mtg_log(MTG_LOG_ERROR, "server", "checkpoint failed: %s", err->msg);
            s->last_ckpt_round = round;
        }
        if (done && exit_when_done)
            break;
        struct timespec ts = {0, LOOP_SLEEP_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return MTG_OK;
}

void mtg_srv_status(struct mtg_srv *s, struct mtg_srv_status *st, struct mtg_srv_task_status *tasks, int max)
{
    struct mtg_http_stats hs;
    mtg_http_server_stats(s->http, &hs);
    pthread_mutex_lock(&s->mu);
    memset(st, 0, sizeof *st);
    st->protocol = s->sgda;
    st->round = s->sgda ? mtg_sgda_step(s->sgda_state) : mtg_fed_round(s->fed);
    st->n_tasks = srv_n_tasks(s);
    st->edges_alive = s->sgda ? mtg_sgda_n_alive(s->sgda_state) : mtg_fed_n_alive(s->fed);
    st->done = s->done;
    st->elapsed_s = (double)(mtg_srv_now_ms() - s->start_ms) / 1000.0;
    st->bytes_in = hs.bytes_in;
    st->bytes_out = hs.bytes_out;
    st->updates_accepted = s->sgda ? mtg_sgda_feedback_accepted(s->sgda_state) : mtg_fed_updates_accepted(s->fed);
    st->updates_rejected = s->sgda ? mtg_sgda_feedback_rejected(s->sgda_state) : mtg_fed_updates_rejected(s->fed);
    st->updates_duplicate = s->updates_duplicate;
    st->model_bytes = s->sgda ? mtg_sgda_bytes(s->sgda_state) : mtg_fed_bytes(s->fed);
    st->tasks_resident = st->n_tasks;
    if (!s->sgda) {
        struct mtg_fed_mem fm;
        mtg_fed_memory(s->fed, &fm);
        st->tasks_resident = fm.resident;
        st->tasks_spilled = fm.spilled;
    }
    for (int t = 0; tasks && t < st->n_tasks && t < max; t++) {
        struct mtg_srv_task_status *o = &tasks[t];
        memset(o, 0, sizeof *o);
        snprintf(o->id, sizeof o->id, "%s", srv_task_id(s, t));
        o->version = srv_task_version(s, t);
        o->steps = srv_task_steps(s, t);
        o->evaluated = s->q[t].evaluated;
        o->fidelity = s->q[t].fidelity;
        o->fd = s->q[t].fd;
        o->precision = s->q[t].precision;
        o->recall = s->q[t].recall;
        o->coverage = s->q[t].coverage;
        const struct mtg_quality_task *ce = mtg_quality_ceiling(s->quality, srv_task_label(s, t));
        if (ce)
            o->ceiling = *ce;
        o->reached_s = s->q[t].reached_s;
        struct srv_task_view v;
        srv_task_view(s, t, &v);
        o->active = v.active;
        o->loss_d = v.loss_d;
        o->loss_g = v.loss_g;
    }
    pthread_mutex_unlock(&s->mu);
}

int mtg_srv_checkpoint(struct mtg_srv *s, struct mtg_err *err) { return srv_ckpt_save(s, err); }

void mtg_srv_free(struct mtg_srv *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, 1);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    mtg_http_server_free(s->http);
    if (s->cfg && s->cfg->state_dir[0] && (s->fed || s->sgda_state)) {
        struct mtg_err err = {0};
        if (srv_ckpt_save(s, &err) != MTG_OK)
            mtg_log(MTG_LOG_ERROR, "server", "final checkpoint failed: %s", err.msg);
    }
    mtg_quality_free(s->quality);
    srv_dash_free(s->dash);
    free(s->refs);
    srv_ll_free(s->ll);
    srv_mcache_free(s->mcache);
    free(s->saved_prof);
    mtg_fed_free(s->fed);
    mtg_sgda_free(s->sgda_state);
    mtg_sched_free(s->sched);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s->cfg);
    free(s);
}
