/*
 * routes_lifelong.c - unknown-task detection over HTTP (issue 6 item 3):
 *   GET  /v1/tasks/{task}/profile  {"id", "samples", "radius", "mean": [...]}
 *   POST /v1/candidates            {"edge", "samples", "new_frac", "radius", "mean": [...]}
 *        -> 201 {"candidate": {...}} (new; status "created" under auto, "pending" under ask),
 *           200 for a repeated report, 409 when lifelong.unknown_tasks is off
 *   GET  /v1/candidates            {"policy", "candidates": [...]}
 * An operator accepts a pending candidate with PUT /v1/tasks/{its task}.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static const char *policy_name(const struct mtg_srv *s)
{
    switch (s->cfg->lifelong.unknown_tasks) {
    case MTG_CFG_UNKNOWN_OFF:
        return "off";
    case MTG_CFG_UNKNOWN_ASK:
        return "ask";
    case MTG_CFG_UNKNOWN_AUTO:
        break;
    }
    return "auto";
}

int srv_h_profile(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    const char *id = mtg_http_param(req, "task");
    float *mean = malloc((size_t)s->data_dim * sizeof(float));
    if (!mean)
        return MTG_ENOMEM;
    double radius = 0;
    int samples = 0, have = 0;
    pthread_mutex_lock(&s->mu);
    int t = srv_find_task(s, id);
    if (t >= 0)
        have = srv_ll_profile(s, t, mean, &radius, &samples);
    pthread_mutex_unlock(&s->mu);
    if (!have) {
        free(mean);
        return mtg_http_resp_error(resp, 404, "not_found",
                                   t < 0 ? "unknown task \"%s\"" : "task \"%s\" has no data profile: no edge reported one",
                                   id);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddNumberToObject(o, "samples", samples);
    cJSON_AddNumberToObject(o, "radius", radius);
    cJSON *arr = cJSON_AddArrayToObject(o, "mean");
    for (int j = 0; j < s->data_dim; j++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(mean[j]));
    free(mean);
    return mtg_http_resp_json(resp, 200, o);
}

int srv_h_candidates(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    struct srv_candidate c[SRV_MAX_CANDIDATES];
    pthread_mutex_lock(&s->mu);
    int n = srv_ll_candidates(s, c, SRV_MAX_CANDIDATES);
    pthread_mutex_unlock(&s->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "policy", policy_name(s));
    cJSON *arr = cJSON_AddArrayToObject(o, "candidates");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, srv_candidate_json(&c[i]));
    return mtg_http_resp_json(resp, 200, o);
}

int srv_h_candidate_post(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    size_t len = 0;
    const char *body = mtg_http_body(req, &len);
    cJSON *o = body ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *edge = cJSON_GetObjectItemCaseSensitive(o, "edge");
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(o, "samples");
    const cJSON *frac = cJSON_GetObjectItemCaseSensitive(o, "new_frac");
    const cJSON *radius = cJSON_GetObjectItemCaseSensitive(o, "radius");
    float *mean = malloc((size_t)s->data_dim * sizeof(float));
    if (!mean) {
        cJSON_Delete(o);
        return MTG_ENOMEM;
    }
    const char *bad =
        !cJSON_IsObject(o) ? "body must be a JSON object"
        : !cJSON_IsString(edge) || !srv_valid_id(edge->valuestring)
            ? "\"edge\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}"
        : !cJSON_IsNumber(samples) || !(samples->valuedouble >= 1 && samples->valuedouble <= 1e9)
            ? "\"samples\" must be an integer in [1, 1e9]"
        : !cJSON_IsNumber(frac) || !(frac->valuedouble >= 0 && frac->valuedouble <= 1)
            ? "\"new_frac\" must be a number in [0, 1]"
        : !cJSON_IsNumber(radius) || !(radius->valuedouble >= 0 && radius->valuedouble <= 1e9)
            ? "\"radius\" must be a number in [0, 1e9]"
        : !srv_json_vector(cJSON_GetObjectItemCaseSensitive(o, "mean"), mean, s->data_dim)
            ? "\"mean\" must be an array of one finite number per data feature"
            : NULL;
    if (bad) {
        free(mean);
        cJSON_Delete(o);
        return mtg_http_resp_error(resp, 400, "invalid_argument", "candidate: %s", bad);
    }
    if (!mtg_http_authorized_edge(req, edge->valuestring)) {
        free(mean);
        int r = mtg_http_resp_error(resp, 401, "unauthorized", "candidate: the token is neither the server's nor edge "
                                    "\"%s\"'s own", edge->valuestring);
        cJSON_Delete(o);
        return r;
    }
    struct srv_candidate c;
    struct mtg_err err = {0};
    int fresh = 0;
    pthread_mutex_lock(&s->mu);
    int rc = srv_ll_report(s, edge->valuestring, (int)samples->valuedouble, frac->valuedouble, mean,
                           radius->valuedouble, &c, &fresh, &err);
    if (rc == MTG_OK && fresh)
        pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    free(mean);
    cJSON_Delete(o);
    if (rc != MTG_OK)
        return mtg_http_resp_err(resp, &err);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "policy", policy_name(s));
    cJSON_AddItemToObject(out, "candidate", srv_candidate_json(&c));
    return mtg_http_resp_json(resp, fresh ? 201 : 200, out);
}
