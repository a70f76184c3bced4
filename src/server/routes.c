/*
 * routes.c - the server's route table and the task, scheduler, health and
 * status handlers. Every handler locks s->mu around proto/ calls and does
 * encoding, decoding and sampling outside it where it can.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/process.h"
#include "data/dataset.h"
#include "data/image.h"
#include "quality/summary.h"
#include "server/server_internal.h"
#include "wire/blob.h"

int srv_blob_reply(struct mtg_http_resp *resp, struct mtg_blob *b, unsigned flags, const char *etag)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct mtg_err err = {0};
    int rc = mtg_blob_encode(b, flags, &bytes, &len, &err);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        return mtg_http_resp_err(resp, &err);
    if (etag)
        mtg_http_resp_header(resp, "ETag", etag);
    return mtg_http_resp_blob(resp, 200, bytes, len, 1);
}

int srv_decode_body(struct mtg_srv *s, const struct mtg_http_req *req, struct mtg_blob **out,
                    struct mtg_http_resp *resp)
{
    return srv_decode_body_for(s, req, 0, 0, out, resp);
}

int srv_decode_body_for(struct mtg_srv *s, const struct mtg_http_req *req, size_t max_elems, size_t max_tensors,
                        struct mtg_blob **out, struct mtg_http_resp *resp)
{
    size_t len = 0;
    const void *body = mtg_http_body(req, &len);
    if (!body || len == 0)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "request body must be a blob");
    struct mtg_blob_limits lim = mtg_blob_limits_default();
    lim.max_bytes = (size_t)s->cfg->limits.max_body_bytes;
    if (max_elems > 0) {
        /*
         * What the route can legitimately receive: its tensors as f32 plus a table entry each (and a
         * little room, so a wrong shape is answered by the handler's own 400/422, not taken for a bomb).
         * The blob decoder refuses an inflated size (raw_len) above this before allocating or
         * inflating, so a small zlib body cannot make the server hold more than about one upload
         * (f16 payloads: twice that once decoded).
         */
        size_t want = max_elems * sizeof(float) + (max_tensors + 8) * (MTG_BLOB_MAX_NAME + 32) + 4096;
        lim.max_bytes = want < lim.max_bytes ? want : lim.max_bytes;
    }
    struct mtg_err err = {0};
    if (mtg_blob_decode(body, len, &lim, out, &err) != MTG_OK) {
        mtg_http_resp_error(resp, err.code == MTG_ETOOBIG ? 413 : 422, "bad_blob", "%s", err.msg);
        return err.code;
    }
    return MTG_OK;
}

int srv_query_double(const struct mtg_http_req *req, const char *name, double lo, double hi, double def,
                     double *out, struct mtg_http_resp *resp)
{
    const char *v = mtg_http_query(req, name);
    *out = def;
    if (!v)
        return MTG_OK;
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
        mtg_http_resp_error(resp, 400, "invalid_argument", "query %s=\"%s\": expected a number in [%g, %g]",
                            name, v, lo, hi);
        return MTG_EINVAL;
    }
    *out = d;
    return MTG_OK;
}

cJSON *srv_task_json(struct mtg_srv *s, int t)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", srv_task_id(s, t));
    cJSON_AddNumberToObject(o, "version", (double)srv_task_version(s, t));
    cJSON_AddNumberToObject(o, "steps", (double)srv_task_steps(s, t));
    struct srv_task_view v;
    srv_task_view(s, t, &v);
    cJSON_AddBoolToObject(o, "active", v.active);
    cJSON_AddBoolToObject(o, "spilled", v.spilled);
    cJSON_AddNumberToObject(o, "loss_d", v.loss_d);
    cJSON_AddNumberToObject(o, "loss_g", v.loss_g);
    const struct srv_quality *q = &s->q[t];
    if (q->evaluated) {
        cJSON *qj = cJSON_AddObjectToObject(o, "quality");
        cJSON_AddNumberToObject(qj, "fidelity", q->fidelity);
        cJSON_AddNumberToObject(qj, "fd", q->fd);
        cJSON_AddNumberToObject(qj, "precision", q->precision);
        cJSON_AddNumberToObject(qj, "recall", q->recall);
        cJSON_AddNumberToObject(qj, "coverage", q->coverage);
        cJSON_AddNumberToObject(qj, "version", (double)q->version);
        cJSON_AddNumberToObject(qj, "steps", (double)q->steps);
    }
    if (q->reached_s >= 0)
        cJSON_AddNumberToObject(o, "reached_s", q->reached_s);
    /* What the task's real images score (quality.h): the scale recall and coverage are read on. */
    const struct mtg_quality_task *ce = mtg_quality_ceiling(s->quality, srv_task_label(s, t));
    if (ce)
        mtg_summary_ceiling_json(o, ce);
    return o;
}

static int h_healthz(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx, (void)req;
    return mtg_http_resp_json_str(resp, 200, "{\"status\":\"ok\"}");
}

static int h_readyz(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    pthread_mutex_lock(&s->mu);
    int n = srv_n_tasks(s);
    pthread_mutex_unlock(&s->mu);
    if (n == 0 || atomic_load(&s->stopping))
        return mtg_http_resp_error(resp, 503, "unavailable", "no tasks configured yet or shutting down");
    return mtg_http_resp_json_str(resp, 200, "{\"status\":\"ready\"}");
}

static int h_metrics(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)req;
    char *text = NULL;
    size_t len = 0;
    if (srv_metrics_text(ctx, &text, &len) != MTG_OK)
        return MTG_ENOMEM;
    return mtg_http_resp_bytes(resp, 200, MTG_HTTP_CT_METRICS, text, len, 1);
}

static int h_status(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    struct mtg_srv_status st;
    mtg_srv_status(s, &st, NULL, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "protocol", mtg_cfg_protocol_name(s->cfg->protocol));
    cJSON_AddNumberToObject(o, "round", (double)st.round);
    cJSON_AddBoolToObject(o, "done", st.done);
    cJSON_AddNumberToObject(o, "elapsed_s", st.elapsed_s);
    cJSON_AddNumberToObject(o, "edges_alive", st.edges_alive);
    cJSON_AddNumberToObject(o, "bytes_in", (double)st.bytes_in);
    cJSON_AddNumberToObject(o, "bytes_out", (double)st.bytes_out);
    cJSON_AddNumberToObject(o, "updates_accepted", (double)st.updates_accepted);
    cJSON_AddNumberToObject(o, "updates_rejected", (double)st.updates_rejected);
    cJSON_AddNumberToObject(o, "model_bytes", (double)st.model_bytes);
    cJSON_AddNumberToObject(o, "rss_bytes", (double)mtg_process_mem_bytes(0, "VmRSS"));
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)mtg_process_mem_bytes(0, "VmHWM"));
    cJSON *tasks = cJSON_AddObjectToObject(o, "tasks");
    pthread_mutex_lock(&s->mu);
    for (int t = 0; t < srv_n_tasks(s); t++)
        if (!s->deleted[t])
            cJSON_AddItemToObject(tasks, srv_task_id(s, t), srv_task_json(s, t));
    pthread_mutex_unlock(&s->mu);
    return mtg_http_resp_json(resp, 200, o);
}

static int h_tasks(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
    pthread_mutex_lock(&s->mu);
    for (int t = 0; t < srv_n_tasks(s); t++)
        if (!s->deleted[t])
            cJSON_AddItemToArray(arr, srv_task_json(s, t));
    pthread_mutex_unlock(&s->mu);
    return mtg_http_resp_json(resp, 200, o);
}

static int h_task_get(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task");
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    cJSON *o = t >= 0 ? srv_task_json(s, t) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!o)
        return mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", id);
    return mtg_http_resp_json(resp, 200, o);
}

/*
 * PUT /v1/tasks/{task}: body {"generator": {...}, "discriminator": {...}}
 * in config-file syntax. Parsed by the config module so validation and
 * messages are exactly those of a config file's tasks[] entry.
 */
static int h_task_put(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task");
    size_t len = 0;
    const char *body = mtg_http_body(req, &len);
    cJSON *spec = body ? cJSON_ParseWithLength(body, len) : cJSON_CreateObject();
    if (!spec || !cJSON_IsObject(spec)) {
        cJSON_Delete(spec);
        return mtg_http_resp_error(resp, 400, "invalid_argument", "body must be a JSON object");
    }
    cJSON_DeleteItemFromObject(spec, "id");
    cJSON_AddStringToObject(spec, "id", id);
    cJSON *wrap = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(wrap, "tasks");
    cJSON_AddItemToArray(arr, spec);
    char *text = cJSON_PrintUnformatted(wrap);
    cJSON_Delete(wrap);
    struct mtg_cfg *tmp = malloc(sizeof *tmp);
    struct mtg_err err = {0};
    int rc = MTG_ENOMEM;
    if (tmp && text) {
        mtg_cfg_defaults(tmp);
        rc = mtg_cfg_load_string(tmp, text, "PUT /v1/tasks", &err);
        if (rc == MTG_OK)
            rc = mtg_cfg_validate(tmp, &err);
    }
    free(text);
    if (rc != MTG_OK) {
        free(tmp);
        return rc == MTG_ENOMEM ? rc : mtg_http_resp_error(resp, 400, "invalid_argument", "%s", err.msg);
    }
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    cJSON *o = NULL;
    int was_deleted = 0;
    for (int i = 0; t < 0 && i < srv_n_tasks(s); i++)
        was_deleted |= s->deleted[i] && strcmp(srv_task_id(s, i), id) == 0;
    if (was_deleted) {
        /* Edges may still hold versions of the old task: a reused id would mix two models. */
        mtg_err_set(&err, MTG_ECONFLICT, "task \"%s\" was deleted; ids of deleted tasks cannot be reused", id);
    } else if (t < 0 && (t = srv_add_task(s, &tmp->tasks[0], &err)) >= 0) {
        o = srv_task_json(s, t);
        pthread_cond_broadcast(&s->changed);
    } else if (t >= 0) {
        mtg_err_set(&err, MTG_ECONFLICT, "task \"%s\" already exists", id);
    }
    pthread_mutex_unlock(&s->mu);
    free(tmp);
    if (!o)
        return mtg_http_resp_err(resp, &err);
    mtg_log(MTG_LOG_INFO, "server", "task %s created through the API", id);
    return mtg_http_resp_json(resp, 201, o);
}

static int h_task_delete(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task");
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    if (t >= 0) {
        /* Indices stay stable (edges refer to them); the task stops training, disappears and (mtgan) its
         * globals are freed. sgda keeps its generator: its in-flight step may still point into it. */
        s->deleted[t] = 1;
        srv_set_task_quality(s, t, 0, 0);
        if (!s->sgda)
            mtg_fed_task_drop(s->fed, t);
    }
    pthread_mutex_unlock(&s->mu);
    if (t < 0)
        return mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", id);
    return mtg_http_resp_json_str(resp, 200, "{\"status\":\"deleted\"}");
}

static int wire_flags(const struct mtg_http_req *req, enum mtg_dtype *dtype, unsigned *flags)
{
    const char *dt = mtg_http_query(req, "dtype"), *z = mtg_http_query(req, "zlib");
    *dtype = dt && strcmp(dt, "f16") == 0 ? MTG_DTYPE_F16 : MTG_DTYPE_F32;
    *flags = z && strcmp(z, "1") == 0 ? MTG_BLOB_ZLIB : 0;
    if ((dt && strcmp(dt, "f16") != 0 && strcmp(dt, "f32") != 0) || (z && strcmp(z, "0") != 0 && strcmp(z, "1") != 0))
        return MTG_EINVAL;
    return MTG_OK;
}

enum model_kind { KIND_GENERATOR = 0, KIND_DISCRIMINATOR = 1, KIND_GAN = 2 };

/* srv_mcache_snapshot_fn: copies the parameters a download encodes (mu held). */
static int model_snapshot(void *ctx, const struct srv_mcache_key *k, struct mtg_blob *b, struct mtg_err *err)
{
    struct mtg_srv *s = ctx;
    size_t n;
    uint32_t dim;
    int rc = srv_task_resident(s, k->task, err); /* a spilled task comes back, or 503 naming its spill file */
    if (rc == MTG_OK && k->kind != KIND_DISCRIMINATOR) {
        /* Edges train from G itself ("gan"); users get the generator that is served ("generator"). */
        const float *g = k->kind == KIND_GAN ? srv_task_g(s, k->task, &n, err) : srv_task_g_served(s, k->task, &n, err);
        dim = (uint32_t)n;
        rc = g ? mtg_blob_add(b, "g", 1, &dim, g, k->dtype, err) : err->code;
    }
    if (rc == MTG_OK && k->kind != KIND_GENERATOR) {
        const float *d = mtg_fed_task_d(s->fed, k->task, &n);
        dim = (uint32_t)n;
        rc = mtg_blob_add(b, "d", 1, &dim, d, k->dtype, err);
    }
    return rc;
}

static int h_model(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task"), *kind = mtg_http_param(req, "kind");
    int want_g = strcmp(kind, "generator") == 0 || strcmp(kind, "gan") == 0;
    int want_d = strcmp(kind, "discriminator") == 0 || strcmp(kind, "gan") == 0;
    if (!want_g && !want_d)
        return mtg_http_resp_error(resp, 404, "not_found", "model kind \"%s\": use generator, discriminator or gan",
                                   kind);
    if (want_d && s->sgda)
        return mtg_http_resp_error(resp, 404, "not_found",
                                   "protocol sgda keeps discriminators on the edges; the server has none");
    struct srv_mcache_key key = {.kind = want_g && want_d ? KIND_GAN : want_g ? KIND_GENERATOR : KIND_DISCRIMINATOR};
    if (wire_flags(req, &key.dtype, &key.flags) != MTG_OK)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "dtype must be f32|f16 and zlib 0|1");
    char etag[64];
    struct mtg_err err = {0};
    struct srv_mcache_entry *e = NULL;
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    int rc = MTG_OK;
    if (t >= 0) {
        key.task = t;
        key.version = srv_task_version(s, t);
        snprintf(etag, sizeof etag, "\"%s-v%llu\"", kind, (unsigned long long)key.version);
        if (mtg_http_etag_matches(req, etag)) {
            pthread_mutex_unlock(&s->mu);
            return mtg_http_resp_not_modified(resp, etag);
        }
        /* Parameters are copied under the lock, encoded outside it, once per version (model_cache.h). */
        rc = srv_mcache_get(s->mcache, &s->mu, &s->changed, &key, model_snapshot, s, &e, &err);
    }
    pthread_mutex_unlock(&s->mu);
    if (t < 0)
        return mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", id);
    if (rc != MTG_OK)
        return mtg_http_resp_err(resp, &err);
    size_t len;
    const uint8_t *bytes = srv_mcache_bytes(e, &len);
    rc = mtg_http_resp_blob(resp, 200, (void *)bytes, len, 0);
    pthread_mutex_lock(&s->mu);
    srv_mcache_release(s->mcache, e);
    pthread_mutex_unlock(&s->mu);
    if (rc != MTG_OK)
        return rc;
    return mtg_http_resp_header(resp, "ETag", etag);
}

static int h_samples(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task"), *format = mtg_http_query(req, "format");
    double n, seed;
    const int max_rows = s->cfg->limits.max_sample_rows;
    if (srv_query_double(req, "n", 1, max_rows, max_rows < 64 ? max_rows : 64, &n, resp) != MTG_OK ||
        srv_query_double(req, "seed", 0, 4294967295.0, 1, &seed, resp) != MTG_OK)
        return MTG_EINVAL;
    if (format && strcmp(format, "png") != 0 && strcmp(format, "blob") != 0)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "format must be png or blob");
    /* Images come as a grid of side x side cells; the ring's 2-D points only as a blob
     * (the default format then falls back to blob, an explicit png is refused). */
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)s->cfg->data.dataset);
    int side = kind && kind->side > 0 && kind->dim == s->data_dim ? kind->side : 0;
    if (format && strcmp(format, "png") == 0 && side == 0)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "dataset %s has no images: use format=blob",
                                   kind ? kind->name : "?");
    int png = side > 0 && (!format || strcmp(format, "png") == 0);
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    struct mtg_gan_cfg gc;
    struct mtg_err gerr = {0};
    size_t np = 0;
    float *params = NULL;
    if (t >= 0) {
        gc = *srv_task_cfg(s, t);
        const float *g = srv_task_g_served(s, t, &np, &gerr);
        params = g ? malloc(np * sizeof(float)) : NULL;
        if (params)
            memcpy(params, g, np * sizeof(float));
    }
    pthread_mutex_unlock(&s->mu);
    if (t < 0)
        return mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", id);
    if (gerr.code != MTG_OK)
        return mtg_http_resp_err(resp, &gerr);
    if (!params)
        return MTG_ENOMEM;
    /* A private generator: sampling must not disturb sgda's in-flight activations. */
    int rows = (int)n, dim = s->data_dim;
    gc.g_max_batch = rows < 256 ? rows : 256;
    gc.recipe.ema = 0.0f; /* params already are the served (EMA) generator */
    if (gc.g_max_batch < gc.batch)
        gc.batch = gc.g_max_batch;
    struct mtg_err err = {0};
    struct mtg_gan *g = mtg_gan_new(&gc, MTG_GAN_G, 0, &err);
    float *x = malloc((size_t)rows * dim * sizeof(float));
    int rc = MTG_ENOMEM;
    if (g && x) {
        memcpy(mtg_net_params(mtg_gan_generator(g)), params, np * sizeof(float));
        mtg_gan_sample(g, x, rows, (uint64_t)seed);
        rc = MTG_OK;
    }
    mtg_gan_free(g);
    free(params);
    if (rc != MTG_OK) {
        free(x);
        return rc;
    }
    if (png) {
        unsigned char *img = NULL;
        size_t len = 0;
        rc = mtg_image_grid_png_mem(x, rows, side, side, rows < 16 ? rows : 16, mtg_image_scale_for_side(side),
                                    &img, &len, &err);
        free(x);
        if (rc != MTG_OK)
            return mtg_http_resp_err(resp, &err);
        return mtg_http_resp_png(resp, 200, img, len, 1);
    }
    struct mtg_blob *b = mtg_blob_new(NULL);
    uint32_t dims[2] = {(uint32_t)rows, (uint32_t)dim};
    rc = b ? mtg_blob_add(b, "samples", 2, dims, x, MTG_DTYPE_F32, &err) : MTG_ENOMEM;
    free(x);
    if (rc != MTG_OK) {
        mtg_blob_free(b);
        return rc;
    }
    return srv_blob_reply(resp, b, 0, NULL);
}

static cJSON *sched_json(struct mtg_srv *s)
{
    cJSON *o = cJSON_CreateObject();
    const struct mtg_sched_params *p = mtg_sched_get_params(s->sched);
    cJSON_AddStringToObject(o, "policy", s->sgda ? "fixed" : mtg_sched_name(s->sched));
    cJSON_AddNumberToObject(o, "local_steps", p->local_steps);
    cJSON_AddNumberToObject(o, "round_deadline_ms", p->round_deadline_ms);
    cJSON_AddBoolToObject(o, "priority", p->priority);
    /* What the policy measured per edge (profiled), restored ones included: see edge_profiles.c. */
    cJSON_AddItemToObject(o, "edges", srv_profiles_json(s));
    return o;
}

static int h_sched_get(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    pthread_mutex_lock(&s->mu);
    cJSON *o = sched_json(s);
    pthread_mutex_unlock(&s->mu);
    return mtg_http_resp_json(resp, 200, o);
}

/* PUT /v1/scheduler {"policy", "local_steps", "round_deadline_ms", "priority"}: takes effect next round. */
static int h_sched_put(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    size_t len = 0;
    const char *body = mtg_http_body(req, &len);
    cJSON *o = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return mtg_http_resp_error(resp, 400, "invalid_argument", "body must be a JSON object");
    }
    static const char *const keys[] = {"policy", "local_steps", "round_deadline_ms", "priority"};
    for (cJSON *it = o->child; it; it = it->next) {
        int ok = 0;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            ok |= strcmp(it->string, keys[k]) == 0;
        if (!ok) {
            int r = mtg_http_resp_error(resp, 400, "invalid_argument", "unknown key \"%s\"", it->string);
            cJSON_Delete(o);
            return r;
        }
    }
    pthread_mutex_lock(&s->mu);
    struct mtg_sched_params p = *mtg_sched_get_params(s->sched);
    const char *policy = mtg_sched_name(s->sched);
    cJSON *it;
    int bad = 0;
    if ((it = cJSON_GetObjectItemCaseSensitive(o, "policy")))
        bad |= !cJSON_IsString(it) ? 1 : (policy = it->valuestring, 0);
    if ((it = cJSON_GetObjectItemCaseSensitive(o, "local_steps")))
        bad |= !cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1e6 ? 2 : (p.local_steps = it->valueint, 0);
    if ((it = cJSON_GetObjectItemCaseSensitive(o, "round_deadline_ms")))
        bad |= !cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 3.6e6
                   ? 4
                   : (p.round_deadline_ms = it->valueint, 0);
    if ((it = cJSON_GetObjectItemCaseSensitive(o, "priority")))
        bad |= !cJSON_IsBool(it) ? 8 : (p.priority = cJSON_IsTrue(it), 0);
    struct mtg_err err = {0};
    struct mtg_sched *ns = NULL;
    if (bad)
        mtg_err_set(&err, MTG_EINVAL, "%s has the wrong type or range",
                    bad & 1 ? "policy" : bad & 2 ? "local_steps" : bad & 4 ? "round_deadline_ms" : "priority");
    else if (s->sgda && strcmp(policy, "fixed") != 0)
        mtg_err_set(&err, MTG_ECONFLICT, "protocol sgda schedules round-robin lock-step: only policy fixed");
    else
        ns = mtg_sched_new(policy, &p, &err);
    cJSON *out = NULL;
    if (ns) {
        srv_profiles_carry(s, s->sched, ns);
        if (s->fed)
            mtg_fed_set_sched(s->fed, ns);
        mtg_sched_free(s->sched);
        s->sched = ns;
        out = sched_json(s);
    }
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(o);
    if (!out)
        return mtg_http_resp_error(resp, mtg_http_status_for(err.code), mtg_http_code_for(err.code), "%s", err.msg);
    mtg_log(MTG_LOG_INFO, "server", "scheduler set to %s", policy);
    return mtg_http_resp_json(resp, 200, out);
}

/* Routes an edge calls for itself: the server token or that edge's own (mtg_http_edge_token). */
#define EDGE_AUTH (MTG_HTTP_MUTATING | MTG_HTTP_EDGE)

const struct mtg_http_route *srv_routes(struct mtg_srv *s, size_t *n)
{
    const size_t blob_max = (size_t)s->cfg->limits.max_body_bytes;
    const struct mtg_http_route table[] = {
        {"GET", "/", srv_h_page, s, 0, 0},
        {"GET", "/dashboard.js", srv_h_page, s, 0, 0},
        {"GET", "/dashboard.css", srv_h_page, s, 0, 0},
        {"GET", "/v1/history", srv_h_history, s, 0, 0},
        {"GET", "/v1/edges", srv_h_edges, s, 0, 0},
        {"GET", "/healthz", h_healthz, s, 0, 0},
        {"GET", "/readyz", h_readyz, s, 0, 0},
        {"GET", "/metrics", h_metrics, s, 0, 0},
        {"GET", "/v1/status", h_status, s, 0, 0},
        {"GET", "/v1/tasks", h_tasks, s, 0, 0},
        {"GET", "/v1/tasks/{task}", h_task_get, s, 0, 0},
        {"PUT", "/v1/tasks/{task}", h_task_put, s, MTG_HTTP_MUTATING, 0},
        {"DELETE", "/v1/tasks/{task}", h_task_delete, s, MTG_HTTP_MUTATING, 0},
        {"GET", "/v1/tasks/{task}/models/{kind}", h_model, s, 0, 0},
        {"GET", "/v1/tasks/{task}/samples", h_samples, s, 0, 0},
        {"GET", "/v1/tasks/{task}/profile", srv_h_profile, s, 0, 0},
        {"GET", "/v1/candidates", srv_h_candidates, s, 0, 0},
        /* Edge routes also take that edge's own token (http.h, MTG_HTTP_EDGE). */
        {"POST", "/v1/candidates", srv_h_candidate_post, s, EDGE_AUTH, 0},
        {"POST", "/v1/edges", srv_h_register, s, EDGE_AUTH, 0},
        {"POST", "/v1/edges/{edge}/heartbeat", srv_h_heartbeat, s, EDGE_AUTH, 0},
        /* An edge's own polls mark it alive and (async) replace its assignment: they change state. */
        {"GET", "/v1/edges/{edge}/assignment", srv_h_assignment, s, EDGE_AUTH, 0},
        {"POST", "/v1/edges/{edge}/updates/{task}", srv_h_update, s, EDGE_AUTH, blob_max},
        {"GET", "/v1/edges/{edge}/fakes", srv_h_fakes, s, EDGE_AUTH, 0},
        {"GET", "/v1/edges/{edge}/fakes/{task}", srv_h_fakes, s, EDGE_AUTH, 0},
        {"POST", "/v1/edges/{edge}/feedback/{task}", srv_h_feedback, s, EDGE_AUTH, blob_max},
        {"GET", "/v1/scheduler", h_sched_get, s, 0, 0},
        {"PUT", "/v1/scheduler", h_sched_put, s, MTG_HTTP_MUTATING, 0},
    };
    _Static_assert(sizeof table <= sizeof s->routes, "struct mtg_srv routes[] is too small for the route table");
    memcpy(s->routes, table, sizeof table);
    *n = sizeof table / sizeof table[0];
    return s->routes;
}
