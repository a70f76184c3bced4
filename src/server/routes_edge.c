/*
 * routes_edge.c - what edges call: registration, heartbeats, the
 * assignment long-poll and update upload (mtgan), the fake-batch long-poll
 * and feedback upload (sgda). Long-polls wait on s->changed, which the
 * control loop and every accepted upload broadcast.
 */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "server/server_internal.h"
#include "wire/blob.h"

#define WAIT_DEFAULT_MS 10000
#define WAIT_MAX_MS 30000

/* Waits on s->changed until deadline_ms; returns 0 on timeout. Call with mu held. */
static int wait_change(struct mtg_srv *s, int64_t deadline_ms)
{
    int64_t now = mtg_srv_now_ms();
    if (now >= deadline_ms)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = deadline_ms - now;
    if (left > 50)
        left = 50; /* re-check the stop flag at least every 50 ms */
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->changed, &s->mu, &ts);
    return 1;
}

static int wait_budget(const struct mtg_http_req *req, struct mtg_http_resp *resp, int64_t *deadline)
{
    double w;
    if (srv_query_double(req, "wait_ms", 0, WAIT_MAX_MS, WAIT_DEFAULT_MS, &w, resp) != MTG_OK)
        return MTG_EINVAL;
    *deadline = mtg_srv_now_ms() + (int64_t)w;
    return MTG_OK;
}

/* Fake batches use the same codec as mtgan's models and deltas (aggregation.compress): a fair wire. */
static enum mtg_dtype srv_wire_dtype(const struct mtg_srv *s)
{
    int f16, zlib;
    mtg_cfg_codec(s->cfg, &f16, &zlib);
    return f16 ? MTG_DTYPE_F16 : MTG_DTYPE_F32;
}

static unsigned srv_wire_flags(const struct mtg_srv *s)
{
    int f16, zlib;
    mtg_cfg_codec(s->cfg, &f16, &zlib);
    return zlib ? MTG_BLOB_ZLIB : 0;
}

static int edge_index(struct mtg_srv *s, const char *id)
{
    return s->sgda ? mtg_sgda_find_edge(s->sgda_state, id) : mtg_fed_find_edge(s->fed, id);
}

static int unknown_edge(struct mtg_http_resp *resp, const char *id)
{
    return mtg_http_resp_error(resp, 404, "not_found", "unknown edge \"%s\": register with POST /v1/edges first", id);
}

/* {"model": {...}, "tasks": [...]} of the server config: everything an edge needs to build its nets. */
static cJSON *nets_json(struct mtg_srv *s)
{
    char *text = NULL;
    if (mtg_cfg_to_json(s->cfg, &text) != MTG_OK)
        return NULL;
    cJSON *all = cJSON_Parse(text);
    free(text);
    if (!all)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *model = cJSON_DetachItemFromObject(all, "model");
    cJSON *tasks = cJSON_DetachItemFromObject(all, "tasks");
    if (model)
        cJSON_AddItemToObject(o, "model", model);
    if (tasks)
        cJSON_AddItemToObject(o, "tasks", tasks);
    cJSON_Delete(all);
    return o;
}

/* POST /v1/edges {"id": "edge-0", "tasks": [{"id": "digit-3", "samples": 120}, ...]} */
int srv_h_register(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    size_t len = 0;
    const char *body = mtg_http_body(req, &len);
    cJSON *o = body ? cJSON_ParseWithLength(body, len) : NULL;
    cJSON *id = o ? cJSON_GetObjectItemCaseSensitive(o, "id") : NULL;
    cJSON *tasks = o ? cJSON_GetObjectItemCaseSensitive(o, "tasks") : NULL;
    const char *bad = !o ? "body is not valid JSON"
                      : !cJSON_IsString(id) || !srv_valid_id(id->valuestring)
                          ? "\"id\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}"
                      : !cJSON_IsArray(tasks) || cJSON_GetArraySize(tasks) > MTG_SCHED_MAX_EDGE_TASKS
                          ? "\"tasks\" must be an array of at most 32 {id, samples}"
                          : NULL;
    const char *ids[MTG_SCHED_MAX_EDGE_TASKS];
    int samples[MTG_SCHED_MAX_EDGE_TASKS], n = 0;
    for (cJSON *t = bad ? NULL : tasks->child; t && !bad; t = t->next, n++) {
        cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
        cJSON *ts = cJSON_GetObjectItemCaseSensitive(t, "samples");
        if (!cJSON_IsString(tid) || !srv_valid_id(tid->valuestring) || !cJSON_IsNumber(ts) || ts->valuedouble < 1 ||
            ts->valuedouble > 1e9)
            bad = "each task needs \"id\" ([A-Za-z0-9][A-Za-z0-9._-]{0,62}) and \"samples\" (integer >= 1)";
        else {
            /* The count is the edge's weight in the average: an edge must not buy influence with a big number. */
            double cap = s->cfg->limits.max_edge_samples;
            ids[n] = tid->valuestring;
            samples[n] = (int)(ts->valuedouble < cap ? ts->valuedouble : cap);
        }
    }
    if (bad) {
        cJSON_Delete(o);
        return mtg_http_resp_error(resp, 400, "invalid_argument", "register: %s", bad);
    }
    if (!mtg_http_authorized_edge(req, id->valuestring)) {
        int r = mtg_http_resp_error(resp, 401, "unauthorized", "register: the token is neither the server's nor edge "
                                    "\"%s\"'s own", id->valuestring);
        cJSON_Delete(o);
        return r;
    }
    struct mtg_err err = {0};
    pthread_mutex_lock(&s->mu);
    /* Lifelong learning: data for a task nobody declared makes it a new task, warm-started. */
    int k = 0;
    for (cJSON *t = tasks->child; t; t = t->next, k++) {
        if (srv_find_task(s, ids[k]) >= 0)
            continue;
        float mean[SRV_MAX_DIM];
        int have_mean = srv_json_vector(cJSON_GetObjectItemCaseSensitive(t, "mean"), mean, s->data_dim);
        if (srv_edge_may_create_task(s, ids[k], &err) != MTG_OK ||
            srv_new_task(s, ids[k], have_mean ? mean : NULL, &err) < 0) {
            pthread_mutex_unlock(&s->mu);
            cJSON_Delete(o);
            return mtg_http_resp_err(resp, &err);
        }
    }
    int64_t now = mtg_srv_now_ms();
    int e = s->sgda ? mtg_sgda_register_edge(s->sgda_state, id->valuestring, n, ids, samples, now, &err)
                    : mtg_fed_register_edge(s->fed, id->valuestring, n, ids, samples, now, &err);
    if (e >= 0 && !s->sgda)
        srv_profiles_apply(s, e, id->valuestring);
    cJSON *out = NULL;
    k = 0;
    for (cJSON *t = e >= 0 ? tasks->child : NULL; t; t = t->next, k++) {
        /* Data profiles let other edges tell this task's data from unknown data (novelty.h). */
        float mean[SRV_MAX_DIM];
        cJSON *radius = cJSON_GetObjectItemCaseSensitive(t, "radius");
        if (cJSON_IsNumber(radius) && srv_json_vector(cJSON_GetObjectItemCaseSensitive(t, "mean"), mean, s->data_dim))
            srv_ll_note_profile(s, srv_find_task(s, ids[k]), mean, radius->valuedouble, samples[k]);
    }
    if (e >= 0) {
        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "edge", id->valuestring);
        cJSON_AddStringToObject(out, "protocol", mtg_cfg_protocol_name(s->cfg->protocol));
        cJSON_AddBoolToObject(out, "deterministic", s->cfg->train.deterministic);
        if (s->sgda)
            cJSON_AddBoolToObject(out, "pipeline", s->cfg->scheduler.sgda.pipeline);
        cJSON_AddNumberToObject(out, "batch", s->cfg->model.batch);
        cJSON *kept = cJSON_AddArrayToObject(out, "tasks");
        for (int j = 0; j < n; j++) {
            cJSON *tj = cJSON_CreateObject();
            cJSON_AddStringToObject(tj, "id", ids[j]);
            cJSON_AddNumberToObject(tj, "samples", samples[j]);
            cJSON_AddItemToArray(kept, tj);
        }
        cJSON_AddItemToObject(out, "config", nets_json(s));
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->mu);
    if (!out) {
        cJSON_Delete(o);
        return mtg_http_resp_err(resp, &err);
    }
    mtg_log(MTG_LOG_INFO, "server", "edge %s registered with %d tasks", id->valuestring, n);
    cJSON_Delete(o);
    return mtg_http_resp_json(resp, 201, out);
}

int srv_h_heartbeat(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "edge");
    pthread_mutex_lock(&s->mu);
    int e = edge_index(s, id);
    if (e >= 0) {
        int64_t now = mtg_srv_now_ms();
        if (s->sgda)
            mtg_sgda_heartbeat(s->sgda_state, e, now);
        else
            mtg_fed_heartbeat(s->fed, e, now);
    }
    int done = s->done;
    pthread_mutex_unlock(&s->mu);
    if (e < 0)
        return unknown_edge(resp, id);
    return mtg_http_resp_json_str(resp, 200, done ? "{\"done\":true}" : "{\"done\":false}");
}

static int has_open_item(const struct mtg_fed_assignment *a)
{
    for (int k = 0; k < a->n_items; k++)
        if (!a->item[k].done)
            return 1;
    return 0;
}

/* GET /v1/edges/{edge}/assignment?wait_ms=: long-polls until this edge has work, the job is done, or time is up. */
int srv_h_assignment(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "edge");
    int64_t deadline;
    if (wait_budget(req, resp, &deadline) != MTG_OK)
        return MTG_EINVAL;
    if (s->sgda)
        return mtg_http_resp_json_str(resp, 200, "{\"protocol\":\"sgda\",\"done\":false,\"items\":[]}");
    struct mtg_fed_assignment a;
    int found = 0, e, done = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        e = edge_index(s, id);
        done = s->done || atomic_load(&s->stopping);
        if (e < 0 || done)
            break;
        int rc = mtg_fed_get_assignment(s->fed, e, mtg_srv_now_ms(), &a);
        if (rc == MTG_OK && has_open_item(&a)) {
            found = 1;
            break;
        }
        if (!wait_change(s, deadline))
            break;
    }
    cJSON *o = NULL;
    if (e >= 0) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "protocol", "mtgan");
        cJSON_AddBoolToObject(o, "done", done);
        cJSON *items = cJSON_AddArrayToObject(o, "items");
        if (found) {
            cJSON_AddNumberToObject(o, "round", (double)a.round);
            cJSON_AddNumberToObject(o, "deadline_ms", (double)(a.deadline_ms - mtg_srv_now_ms()));
            for (int k = 0; k < a.n_items; k++) {
                if (a.item[k].done)
                    continue;
                cJSON *it = cJSON_CreateObject();
                cJSON_AddStringToObject(it, "task", srv_task_id(s, a.item[k].task));
                cJSON_AddNumberToObject(it, "steps", a.item[k].steps);
                cJSON_AddNumberToObject(it, "version", (double)a.item[k].g_version);
                cJSON_AddItemToArray(items, it);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!o)
        return unknown_edge(resp, id);
    return mtg_http_resp_json(resp, 200, o);
}

static const struct mtg_blob_tensor *flat_tensor(const struct mtg_blob *b, const char *name)
{
    const struct mtg_blob_tensor *t = mtg_blob_find(b, name);
    return t && t->rank == 1 ? t : NULL;
}

/* POST /v1/edges/{edge}/updates/{task}?round=&steps=&compute_s=&transfer_s=&loss_d=&loss_g= ; blob {g, d} deltas */
int srv_h_update(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *eid = mtg_http_param(req, "edge"), *tid = mtg_http_param(req, "task");
    if (s->sgda)
        return mtg_http_resp_error(resp, 409, "conflict", "protocol sgda takes feedback, not model updates");
    double round, steps, cs, ts, ld, lg;
    if (srv_query_double(req, "round", 0, 1e15, -1, &round, resp) != MTG_OK ||
        srv_query_double(req, "steps", 1, 1e9, 1, &steps, resp) != MTG_OK ||
        srv_query_double(req, "compute_s", 0, 1e9, 0, &cs, resp) != MTG_OK ||
        srv_query_double(req, "transfer_s", 0, 1e9, 0, &ts, resp) != MTG_OK ||
        srv_query_double(req, "loss_d", -1e9, 1e9, 0, &ld, resp) != MTG_OK ||
        srv_query_double(req, "loss_g", -1e9, 1e9, 0, &lg, resp) != MTG_OK)
        return MTG_EINVAL;
    if (round < 0)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "query round= is required");
    /* Edge and task first, then a decode bounded by that task's model: nobody else makes the server inflate. */
    size_t ng = 0, nd = 0;
    pthread_mutex_lock(&s->mu);
    int e0 = mtg_fed_find_edge(s->fed, eid), t0 = srv_find_task(s, tid);
    if (e0 >= 0 && t0 >= 0) {
        mtg_fed_task_g(s->fed, t0, &ng);
        mtg_fed_task_d(s->fed, t0, &nd);
    }
    pthread_mutex_unlock(&s->mu);
    if (e0 < 0 || t0 < 0)
        return e0 < 0 ? unknown_edge(resp, eid) : mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", tid);
    struct mtg_blob *b = NULL;
    if (srv_decode_body_for(s, req, ng + nd, 2, &b, resp) != MTG_OK)
        return MTG_EINVAL;
    /* fedd's edges train D only: their updates carry no G delta. */
    const int fedd = s->cfg->protocol == MTG_CFG_PROTO_FEDD;
    const struct mtg_blob_tensor *g = flat_tensor(b, "g"), *d = flat_tensor(b, "d");
    if (fedd ? (g || !d || mtg_blob_count(b) != 1) : (!g || !d || mtg_blob_count(b) != 2)) {
        mtg_blob_free(b);
        return mtg_http_resp_error(resp, 422, "bad_blob", fedd ? "a fedd update blob holds exactly the rank-1 tensor \"d\""
                                   : "an update blob holds exactly the rank-1 tensors \"g\" and \"d\"");
    }
    struct mtg_fed_update u = {.dg = g ? g->data : NULL, .ng = g ? g->n : 0, .dd = d->data, .nd = d->n, .steps = (int)steps,
                               .compute_s = cs, .transfer_s = ts, .loss_d = (float)ld, .loss_g = (float)lg};
    struct mtg_err err = {0};
    pthread_mutex_lock(&s->mu);
    int e = mtg_fed_find_edge(s->fed, eid), t = srv_find_task(s, tid), rc;
    if (e < 0 || t < 0) {
        rc = mtg_err_set(&err, MTG_ENOTFOUND, "unknown %s \"%s\"", e < 0 ? "edge" : "task", e < 0 ? eid : tid);
    } else {
        int64_t now = mtg_srv_now_ms();
        rc = mtg_fed_submit(s->fed, e, t, (uint64_t)round, &u, now, &err);
        s->updates_duplicate += rc == MTG_FED_DUPLICATE;
        if (rc == MTG_FED_APPLIED) {
            size_t len = 0;
            mtg_http_body(req, &len);
            srv_dash_upload(s, e, len, u.steps, u.compute_s);
        }
        if (rc >= 0) {
            mtg_fed_tick(s->fed, now);
            pthread_cond_broadcast(&s->changed);
        }
    }
    pthread_mutex_unlock(&s->mu);
    mtg_blob_free(b);
    if (rc < 0)
        return mtg_http_resp_err(resp, &err);
    return mtg_http_resp_json_str(resp, 200, rc == MTG_FED_DUPLICATE ? "{\"status\":\"duplicate\"}"
                                                                      : "{\"status\":\"applied\"}");
}

/* A fake batch handed to an edge: the blob and the headers that name its task and step. */
struct fakes_reply {
    struct mtg_blob *blob;
    char task[64];
    char step[32];
};

/*
 * Long-polls, with mu held, for this edge's fake rows of an open step of
 * `task` (-1: any task) until deadline. Returns 1 with *out filled, 0 on
 * timeout, -1 when the job is done, MTG_ENOTFOUND for an unknown edge,
 * MTG_ENOMEM.
 */
static int wait_fakes(struct mtg_srv *s, const char *edge_id, int task, int64_t deadline, struct fakes_reply *out)
{
    struct mtg_sgda_fakes f;
    for (;;) {
        int e = mtg_sgda_find_edge(s->sgda_state, edge_id);
        if (e < 0)
            return MTG_ENOTFOUND;
        if (s->done || atomic_load(&s->stopping))
            return -1;
        if (mtg_sgda_take_task_fakes(s->sgda_state, e, task, mtg_srv_now_ms(), &f) == MTG_OK)
            break;
        if (!wait_change(s, deadline))
            return 0;
    }
    uint32_t dims[2] = {(uint32_t)f.rows, (uint32_t)f.dim};
    out->blob = mtg_blob_new(NULL);
    if (!out->blob || mtg_blob_add(out->blob, "fake", 2, dims, f.fake, srv_wire_dtype(s), NULL) != MTG_OK) {
        mtg_blob_free(out->blob);
        out->blob = NULL;
        return MTG_ENOMEM;
    }
    snprintf(out->task, sizeof out->task, "%s", srv_task_id(s, f.task));
    snprintf(out->step, sizeof out->step, "%llu", (unsigned long long)f.step);
    return 1;
}

static int fakes_resp(struct mtg_srv *s, struct mtg_http_resp *resp, struct fakes_reply *f)
{
    mtg_http_resp_header(resp, "X-Mtgan-Task", f->task);
    mtg_http_resp_header(resp, "X-Mtgan-Step", f->step);
    return srv_blob_reply(resp, f->blob, srv_wire_flags(s), NULL);
}

/* GET /v1/edges/{edge}/fakes[/{task}]?wait_ms=: long-polls for this edge's fake rows of an open sgda step. */
int srv_h_fakes(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "edge"), *want = mtg_http_param(req, "task");
    if (!s->sgda)
        return mtg_http_resp_error(resp, 409, "conflict", "protocol mtgan has no fake batches; use assignment");
    int64_t deadline;
    if (wait_budget(req, resp, &deadline) != MTG_OK)
        return MTG_EINVAL;
    struct fakes_reply f = {0};
    pthread_mutex_lock(&s->mu);
    int t = want ? srv_find_task(s, want) : -1;
    int rc = want && t < 0 ? 0 : wait_fakes(s, id, t, deadline, &f);
    pthread_mutex_unlock(&s->mu);
    if (want && t < 0)
        return mtg_http_resp_error(resp, 404, "not_found", "unknown task \"%s\"", want);
    if (rc == MTG_ENOTFOUND)
        return unknown_edge(resp, id);
    if (rc == -1)
        return mtg_http_resp_json_str(resp, 200, "{\"done\":true}");
    if (rc == 0)
        return mtg_http_resp_bytes(resp, 204, MTG_HTTP_CT_JSON, NULL, 0, 0);
    if (rc < 0)
        return MTG_ENOMEM;
    return fakes_resp(s, resp, &f);
}

/*
 * POST /v1/edges/{edge}/feedback/{task}?step=&loss_d=&loss_g=&compute_s=[&wait_ms=] ; blob {dfake [rows, dim]}
 * With wait_ms, an applied feedback's reply long-polls for the edge's rows
 * of the task's next step and carries them as GET .../fakes/{task} would:
 * one round trip per step. Without (or on timeout) it is {"status": ...}.
 */
int srv_h_feedback(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *eid = mtg_http_param(req, "edge"), *tid = mtg_http_param(req, "task");
    if (!s->sgda)
        return mtg_http_resp_error(resp, 409, "conflict", "protocol mtgan takes model updates, not feedback");
    double step, ld, lg, cs, wait;
    if (srv_query_double(req, "step", 0, 1e15, -1, &step, resp) != MTG_OK ||
        srv_query_double(req, "loss_d", -1e9, 1e9, 0, &ld, resp) != MTG_OK ||
        srv_query_double(req, "loss_g", -1e9, 1e9, 0, &lg, resp) != MTG_OK ||
        srv_query_double(req, "compute_s", 0, 1e9, 0, &cs, resp) != MTG_OK ||
        srv_query_double(req, "wait_ms", 0, WAIT_MAX_MS, 0, &wait, resp) != MTG_OK)
        return MTG_EINVAL;
    if (step < 0)
        return mtg_http_resp_error(resp, 400, "invalid_argument", "query step= is required");
    struct mtg_blob *b = NULL;
    /* One edge's slice of the fake batch: batch rows of data_dim. */
    if (srv_decode_body_for(s, req, (size_t)s->cfg->model.batch * (size_t)s->data_dim, 1, &b, resp) != MTG_OK)
        return MTG_EINVAL;
    const struct mtg_blob_tensor *fb = mtg_blob_find(b, "dfake");
    if (!fb || fb->rank != 2 || mtg_blob_count(b) != 1) {
        mtg_blob_free(b);
        return mtg_http_resp_error(resp, 422, "bad_blob", "a feedback blob holds exactly the rank-2 tensor \"dfake\"");
    }
    struct mtg_sgda_feedback_stats st = {.loss_d = (float)ld, .loss_g = (float)lg, .compute_s = cs};
    struct mtg_err err = {0};
    pthread_mutex_lock(&s->mu);
    int e = mtg_sgda_find_edge(s->sgda_state, eid), t = srv_find_task(s, tid), rc;
    if (e < 0 || t < 0) {
        rc = mtg_err_set(&err, MTG_ENOTFOUND, "unknown %s \"%s\"", e < 0 ? "edge" : "task", e < 0 ? eid : tid);
    } else {
        rc = mtg_sgda_feedback(s->sgda_state, e, t, (uint64_t)step, fb->data, fb->n, &st, mtg_srv_now_ms(), &err);
        s->updates_duplicate += rc == 1;
        if (rc == 0) {
            size_t len = 0;
            mtg_http_body(req, &len);
            srv_dash_upload(s, e, len, 1, cs); /* one sgda step per feedback */
        }
        if (rc >= 0)
            pthread_cond_broadcast(&s->changed);
    }
    mtg_blob_free(b);
    struct fakes_reply f = {0};
    int next = rc >= 0 && wait > 0 ? wait_fakes(s, eid, t, mtg_srv_now_ms() + (int64_t)wait, &f) : 0;
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        return mtg_http_resp_err(resp, &err);
    if (next == 1)
        return fakes_resp(s, resp, &f);
    return mtg_http_resp_json_str(resp, 200, rc == 1 ? "{\"status\":\"duplicate\"}" : "{\"status\":\"applied\"}");
}
