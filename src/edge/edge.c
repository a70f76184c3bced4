#include "edge/edge.h"
#include "core/log.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/partition.h"
#include "data/shard.h"
#include "data/ring.h"
#include "edge/edge_internal.h"
#include "edge/novelty.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_SAMPLES_PER_EDGE 2048

double edge_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void edge_emulate(struct mtg_edge *e, double c)
{
    if (e->speed <= 1.0)
        return;
    /* Sleep in >= 2 ms chunks: nanosleep's own overhead would distort sub-ms steps. */
    e->sleep_debt += (e->speed - 1.0) * c;
    e->st.emulated_s += (e->speed - 1.0) * c;
    if (e->sleep_debt < 0.002)
        return;
    struct timespec ts = {(time_t)e->sleep_debt, (long)((e->sleep_debt - (double)(time_t)e->sleep_debt) * 1e9)};
    nanosleep(&ts, NULL);
    e->sleep_debt = 0;
}

void edge_reseed(struct mtg_edge *e, struct edge_task *t, uint64_t n)
{
    uint64_t k = mtg_rng_key(e->cfg->seed, t->id, e->id, n);
    mtg_rng_seed(&e->rng, k);
    if (t->gan)
        mtg_gan_reseed(t->gan, k ^ 0x5851f42d4c957f2dULL);
}

struct edge_task *edge_find_task(struct mtg_edge *e, const char *id)
{
    for (int i = 0; i < e->n_tasks; i++)
        if (strcmp(e->task[i].id, id) == 0)
            return &e->task[i];
    return NULL;
}

int edge_add_task(struct mtg_edge *e, const char *id, int label, const float *rows, int n, struct mtg_err *err)
{
    if (e->n_tasks >= EDGE_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "edge: more than %d tasks", EDGE_MAX_TASKS);
    struct edge_task *t = &e->task[e->n_tasks];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->label = label;
    t->pool = malloc((size_t)n * e->dim * sizeof(float));
    if (!t->pool)
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory for task %s", id);
    memcpy(t->pool, rows, (size_t)n * e->dim * sizeof(float));
    t->pool_n = n;
    t->have = UINT64_MAX;
    e->n_tasks++;
    return MTG_OK;
}

/* This edge's shard: the same seeded partition the server, the demo and every edge compute. */
static int load_shard(struct mtg_edge *e, struct mtg_err *err)
{
    const struct mtg_cfg *c = e->cfg;
    if (c->data.dataset == MTG_CFG_DATA_RING) {
        e->dim = 2;
        float *pts = malloc((size_t)RING_SAMPLES_PER_EDGE * 2 * sizeof(float));
        if (!pts)
            return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
        struct mtg_rng r;
        mtg_rng_seed(&r, c->seed * 1000003ULL + (uint64_t)e->shard);
        mtg_data_ring_sample(&r, RING_SAMPLES_PER_EDGE, pts);
        int rc = edge_add_task(e, "ring", -1, pts, RING_SAMPLES_PER_EDGE, err);
        free(pts);
        return rc;
    }
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)c->data.dataset);
    if (!kind || kind->side == 0)
        return mtg_err_set(err, MTG_EINVAL, "edge: data.dataset %d has no loader", (int)c->data.dataset);
    e->dim = kind->dim;
    /* Only this edge's rows of the wanted classes are read (shard.h): never the whole split. */
    struct mtg_data_shard_cfg sc = {.kind = (int)c->data.dataset,
                                    .path = c->data.path,
                                    .limit_per_class = c->data.limit_per_class,
                                    .part = {.n_edges = c->n_edges,
                                             .tasks_min = c->data.partition.tasks_per_edge_min,
                                             .tasks_max = c->data.partition.tasks_per_edge_max,
                                             .seed = c->data.partition.seed},
                                    .shard = e->shard,
                                    .classes = c->data.tasks.id,
                                    .n_classes = c->data.tasks.n,
                                    .split = c->data.holdout ? MTG_DATA_TRAIN : MTG_DATA_ALL};
    struct mtg_dataset *mine = NULL, *held = NULL;
    int rc = mtg_data_shard_load(&sc, &mine, err);
    for (int label = 0; rc == MTG_OK && label < kind->n_classes; label++) {
        if (mtg_data_class_count(mine, label) == 0)
            continue;
        struct mtg_dataset *sub = NULL;
        char id[32];
        rc = mtg_data_class_subset(mine, label, &sub, err);
        if (rc == MTG_OK && mtg_data_kind_task_id((int)c->data.dataset, label, id, sizeof id) != MTG_OK)
            rc = mtg_err_set(err, MTG_ERANGE, "edge: no task id for class %d", label);
        if (rc == MTG_OK)
            rc = edge_add_task(e, id, label, mtg_data_x(sub), mtg_data_n(sub), err);
        mtg_data_free(sub);
    }
    /* Unlabelled rows (digits only, see config) come from the held-out split: data no labelled edge trains on. */
    if (rc == MTG_OK && c->data.unlabelled.n > 0)
        rc = mtg_data_load((int)c->data.dataset, c->data.path, MTG_DATA_TEST, 0, &held, err);
    for (int k = 0; rc == MTG_OK && k < c->data.unlabelled.n; k++) {
        struct mtg_dataset *sub = NULL;
        rc = mtg_data_class_subset(held, c->data.unlabelled.id[k], &sub, err);
        int n = rc == MTG_OK ? mtg_data_n(sub) : 0;
        float *grown = rc == MTG_OK ? realloc(e->unlabelled, (size_t)(e->n_unlabelled + n) * e->dim * sizeof(float)) : NULL;
        if (rc == MTG_OK && !grown)
            rc = mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
        if (rc == MTG_OK) {
            e->unlabelled = grown;
            memcpy(grown + (size_t)e->n_unlabelled * e->dim, mtg_data_x(sub), (size_t)n * e->dim * sizeof(float));
            e->n_unlabelled += n;
        }
        mtg_data_free(sub);
    }
    mtg_data_free(mine);
    mtg_data_free(held);
    return rc;
}

int mtg_edge_new(const struct mtg_cfg *cfg, int shard, struct mtg_edge **out, struct mtg_err *err)
{
    *out = NULL;
    struct mtg_edge *e = calloc(1, sizeof *e);
    if (!e || !(e->cfg = malloc(sizeof *e->cfg))) {
        free(e);
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
    }
    *e->cfg = *cfg;
    e->shard = shard;
    snprintf(e->id, sizeof e->id, "%s", cfg->edge_id[0] ? cfg->edge_id : "edge");
    e->sgda = cfg->protocol == MTG_CFG_PROTO_SGDA;
    e->speed = cfg->emulation.speed_factor;
    mtg_rng_seed(&e->rng, cfg->seed * 7919ULL + (uint64_t)shard + 1);
    int rc = load_shard(e, err);
    if (rc != MTG_OK)
        goto fail;
    char *token = e->token;
    if (cfg->token_file[0]) {
        FILE *f = fopen(cfg->token_file, "r");
        if (!f || !fgets(token, sizeof e->token, f)) {
            if (f)
                fclose(f);
            rc = mtg_err_set(err, MTG_EAUTH, "edge: cannot read token file %s", cfg->token_file);
            goto fail;
        }
        fclose(f);
        token[strcspn(token, "\r\n \t")] = '\0';
    }
    struct mtg_client_opts co = {
        .base_url = e->cfg->server_url,
        .token = token[0] ? token : NULL,
        .max_attempts = 8,
        .retry_base_ms = 200,
        .retry_max_ms = 5000,
        .retry_unsafe = 1, /* every POST carries a round/step id the server deduplicates on */
        .link_mbps = cfg->emulation.link_mbps,
        .link_latency_ms = cfg->emulation.link_latency_ms,
        .seed = cfg->seed + (uint64_t)shard,
    };
    e->client_opts = co;
    rc = mtg_client_new(&co, &e->client, err);
    if (rc == MTG_OK && cfg->scheduler.edge.overlap && !e->sgda) {
        /* Same link emulation on both clients: the background link is the same emulated wire. */
        co.seed ^= 0x9e3779b97f4a7c15ULL;
        rc = mtg_client_new(&co, &e->up_client, err);
    }
    if (rc != MTG_OK)
        goto fail;
    mtg_log(MTG_LOG_INFO, "edge", "%s: shard %d of %d holds %d tasks", e->id, shard, cfg->n_edges, e->n_tasks);
    *out = e;
    return MTG_OK;
fail:
    mtg_edge_free(e);
    return rc;
}

int edge_build_models(struct mtg_edge *e, const char *config_json, enum mtg_gan_role role, struct mtg_err *err)
{
    struct mtg_cfg *nets = malloc(sizeof *nets);
    if (!nets)
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
    *nets = *e->cfg;
    nets->n_tasks = 0;
    int rc = config_json ? mtg_cfg_load_string(nets, config_json, "server registration reply", err) : MTG_OK;
    e->batch = nets->model.batch; /* an edge with only unlabelled data still needs its buffers */
    for (int i = 0; rc == MTG_OK && i < e->n_tasks; i++) {
        struct edge_task *t = &e->task[i];
        struct mtg_gan_cfg gc;
        rc = mtg_cfg_gan(nets, t->id, e->dim, &gc, err);
        gc.recipe.ema = 0.0f; /* the server keeps the EMA of the global G; local copies never serve samples */
        if (rc != MTG_OK)
            break;
        e->batch = gc.batch;
        if (t->gan && mtg_gan_get_role(t->gan) == role) {
            /* Re-registration after a server restart: keep local state, but not the cached version:
             * a server resumed from an older checkpoint reuses version numbers for other weights. */
            t->have = UINT64_MAX;
            continue;
        }
        edge_task_unload(t);
        /* Same seed as the server uses for this task, so sgda's D starts where mtgan's does. */
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = t->id; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        t->gc = gc;
        t->role = role;
        t->gan_seed = e->cfg->seed ^ h;
        /* Under a memory budget mtgan models are built on first use (edge_task_make_resident),
         * so an edge holding many tasks never holds them all at once. */
        if (role == MTG_GAN_FULL && e->cfg->scheduler.edge.memory_budget_mb > 0)
            continue;
        rc = edge_task_load(e, t, err);
        if (rc != MTG_OK)
            break;
        t->have = UINT64_MAX;
    }
    if (rc == MTG_OK) {
        free(e->real);
        free(e->dfake);
        e->real = malloc((size_t)e->batch * e->dim * sizeof(float));
        e->dfake = malloc((size_t)e->batch * e->dim * sizeof(float));
        if (!e->real || !e->dfake)
            rc = mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
    }
    free(nets);
    return rc;
}

/* POST /v1/edges with our tasks; builds local models from the networks the server reports. */
static int edge_register(struct mtg_edge *e, struct mtg_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", e->id);
    cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
    for (int i = 0; i < e->n_tasks; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "id", e->task[i].id);
        cJSON_AddNumberToObject(t, "samples", e->task[i].pool_n);
        /* The mean sample lets the server warm-start a task it has never seen from the nearest one. */
        /* With the radius it is the task's data profile, which lets edges holding
         * unlabelled data tell this task's data from unknown data (novelty.h). */
        float m[64];
        double radius;
        if (e->dim <= 64 && mtg_novelty_profile(e->task[i].pool, e->task[i].pool_n, e->dim, 0.95, m, &radius) == MTG_OK) {
            cJSON *mean = cJSON_AddArrayToObject(t, "mean");
            for (int j = 0; j < e->dim; j++)
                cJSON_AddItemToArray(mean, cJSON_CreateNumber(m[j]));
            cJSON_AddNumberToObject(t, "radius", radius);
        }
        cJSON_AddItemToArray(arr, t);
    }
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body)
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
    struct mtg_client_resp r;
    int rc;
    /* The server may still be starting (or restarting): keep trying until stopped. */
    for (;;) {
        rc = mtg_client_request(e->client, "POST", "/v1/edges", body, strlen(body), "application/json", NULL, &r, err);
        if (rc != MTG_ENET && rc != MTG_EUNAVAIL)
            break;
        mtg_client_resp_deinit(&r);
        if (atomic_load(e->stop)) {
            rc = MTG_ESTOPPED;
            break;
        }
        mtg_log(MTG_LOG_WARN, "edge", "%s: server unreachable (%s); retrying", e->id, err->msg);
    }
    free(body);
    if (rc != MTG_OK) {
        mtg_client_resp_deinit(&r);
        return rc;
    }
    cJSON *reply = cJSON_ParseWithLength((const char *)r.body, r.len);
    cJSON *cfg = reply ? cJSON_GetObjectItemCaseSensitive(reply, "config") : NULL;
    char *cfg_text = cfg ? cJSON_PrintUnformatted(cfg) : NULL;
    cJSON *proto = reply ? cJSON_GetObjectItemCaseSensitive(reply, "protocol") : NULL;
    if (cJSON_IsString(proto))
        e->sgda = strcmp(proto->valuestring, "sgda") == 0;
    e->pipeline = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "pipeline"));
    e->fedd = cJSON_IsString(proto) && strcmp(proto->valuestring, "fedd") == 0;
    e->det = e->cfg->train.deterministic || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "deterministic"));
    rc = cfg_text ? edge_build_models(e, cfg_text, e->sgda ? MTG_GAN_D : MTG_GAN_FULL, err)
                  : mtg_err_set(err, MTG_EFORMAT, "edge: registration reply has no config");
    free(e->nets_json);
    e->nets_json = cfg_text; /* kept: unknown-task detection builds the known tasks' nets from it */
    cJSON_Delete(reply);
    mtg_client_resp_deinit(&r);
    if (rc == MTG_OK)
        mtg_log(MTG_LOG_INFO, "edge", "%s: registered (%s, batch %d)", e->id, e->sgda ? "sgda" : e->fedd ? "fedd" : "mtgan", e->batch);
    return rc;
}

int mtg_edge_run(struct mtg_edge *e, const atomic_int *stop, struct mtg_err *err)
{
    e->stop = stop;
    /* Lets SIGTERM cut link sleeps, backoffs and transfers short, on both threads' clients. */
    mtg_client_set_stop(e->client, stop);
    if (e->up_client)
        mtg_client_set_stop(e->up_client, stop);
    int rc;
    /* A 404 for our id means the server lost us (restart without checkpoint): register again. */
    do {
        rc = edge_register(e, err);
        if (rc != MTG_OK)
            return rc == MTG_ESTOPPED ? MTG_OK : rc;
        int gained = e->sgda ? 0 : edge_scan_unlabelled(e, err);
        if (gained < 0)
            mtg_log(MTG_LOG_WARN, "edge", "%s: unknown-task detection: %s", e->id, err->msg);
        if (gained > 0) {
            rc = MTG_ENOTFOUND; /* register again, now with the new task */
            continue;
        }
        rc = e->sgda ? edge_run_sgda(e, err) : edge_run_fed(e, err);
    } while (rc == MTG_ENOTFOUND && !atomic_load(stop));
    return rc == MTG_ESTOPPED ? MTG_OK : rc;
}

void mtg_edge_stats(const struct mtg_edge *e, struct mtg_edge_stats *out)
{
    *out = e->st;
    struct mtg_client_stats cs;
    mtg_client_stats(e->client, &cs);
    out->bytes_sent = cs.bytes_sent;
    out->bytes_received = cs.bytes_received;
    out->link_s = (double)cs.link_ns * 1e-9;
    if (e->up_client) {
        mtg_client_stats(e->up_client, &cs);
        out->bytes_sent += cs.bytes_sent;
        out->bytes_received += cs.bytes_received;
        /* Background link time is only a cost where the training thread waited for it. */
        double bg = (double)cs.link_ns * 1e-9;
        double exposed = bg < e->up_blocked_s ? bg : e->up_blocked_s;
        out->link_s += exposed;
        out->link_hidden_s = bg - exposed;
    }
    /*
     * sgda lanes: each lane's link time is in series with its own steps only,
     * and the lanes run side by side, so the edge waited at most as long as
     * its busiest lane's link time (the rest overlapped; see docs/benchmarks.md).
     */
    double lane_max = 0, lane_sum = 0;
    for (int i = 0; i < e->n_lane_clients; i++) {
        mtg_client_stats(e->lane_client[i], &cs);
        out->bytes_sent += cs.bytes_sent;
        out->bytes_received += cs.bytes_received;
        double l = (double)cs.link_ns * 1e-9;
        lane_sum += l;
        lane_max = l > lane_max ? l : lane_max;
    }
    out->link_s += lane_max;
    out->link_hidden_s += lane_sum - lane_max;
}

void mtg_edge_free(struct mtg_edge *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n_tasks; i++) {
        struct edge_task *t = &e->task[i];
        free(t->pool);
        edge_task_unload(t);
    }
    mtg_client_free(e->client);
    mtg_client_free(e->up_client);
    for (int i = 0; i < e->n_lane_clients; i++)
        mtg_client_free(e->lane_client[i]);
    free(e->nets_json);
    free(e->unlabelled);
    free(e->cand_rows);
    free(e->real);
    free(e->dfake);
    free(e->cfg);
    free(e);
}
