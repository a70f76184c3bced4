/*
 * test_api.c - the server's HTTP API (DESIGN §7) against one real
 * mtgan-server process (digits, tasks digit-0 and digit-3, no edges):
 * health, readiness, /metrics, the task registry and its config round
 * trip, the scheduler, model blobs with ETags, samples, and deletion.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/status.h"
#include "proc.h"
#include "wire/blob.h"

static struct tp_server srv;
static char dir[256];

static void start(void)
{
    char cfg[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"log_level\": \"warn\", \"state_dir\": \"%s/state\", \"checkpoint_every\": 0,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0, 3]},\n"
             " \"train\": {\"eval_every\": 0}}\n",
             dir);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    cr_assert_eq(tp_server_start(&srv, cfg, dir, NULL), 0, "server did not start (see %s)", srv.log);
}

static void stop(void)
{
    if (srv.pid > 0) {
        int st = tp_stop(srv.pid, SIGTERM, 5000);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x", st);
    }
    tp_cleanup();
}

TestSuite(api, .init = start, .fini = stop, .timeout = 60);

static struct tp_resp req(const char *method, const char *path, const char *json)
{
    struct tp_resp r;
    const char *hdr[] = {"Content-Type: application/json", NULL};
    cr_assert_eq(tp_http(srv.port, method, path, json ? hdr : NULL, json, json ? strlen(json) : 0, &r), 0,
                 "%s %s: no HTTP response", method, path);
    return r;
}

static void expect_error(struct tp_resp *r, int status, const char *what)
{
    char msg[512];
    cr_expect_eq(r->status, status, "%s: HTTP %d, want %d: %s", what, r->status, status, r->body);
    cr_expect(tp_is_error(r, msg, sizeof msg), "%s: body is not {\"error\":{code,message}}: %s", what, r->body);
}

static int has_task(const char *id)
{
    cJSON *o = tp_get_json(srv.port, "/v1/tasks");
    cr_assert_not_null(o, "GET /v1/tasks");
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "tasks");
    cr_assert(cJSON_IsArray(arr));
    int found = 0;
    for (cJSON *t = arr->child; t; t = t->next) {
        cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
        cr_assert(cJSON_IsString(tid));
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(t, "version")));
        found |= strcmp(tid->valuestring, id) == 0;
    }
    cJSON_Delete(o);
    return found;
}

static struct mtg_blob *decode(const struct tp_resp *r)
{
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_blob_decode((const uint8_t *)r->body, r->len, NULL, &b, &err), MTG_OK, "blob: %s", err.msg);
    return b;
}

Test(api, health_ready_and_metrics)
{
    struct tp_resp r = req("GET", "/healthz", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect(strstr(r.body, "\"ok\"") != NULL, "%s", r.body);
    tp_resp_free(&r);
    r = req("GET", "/readyz", NULL);
    cr_expect_eq(r.status, 200, "readyz with 2 tasks: %d %s", r.status, r.body);
    tp_resp_free(&r);
    r = req("GET", "/metrics", NULL);
    cr_assert_eq(r.status, 200);
    cr_expect(strncmp(r.ctype, "text/plain", 10) == 0, "metrics content type %s", r.ctype);
    static const char *const want[] = {
        "# TYPE mtgan_rounds_total counter",
        "mtgan_rounds_total{protocol=\"mtgan\"} ",
        "mtgan_bytes_in_total ",
        "mtgan_bytes_out_total ",
        "mtgan_updates_total{outcome=\"accepted\"} 0",
        "mtgan_updates_total{outcome=\"rejected\"} 0",
        "mtgan_edges_alive 0",
        "mtgan_process_resident_memory_bytes ",
        "mtgan_task_version{task=\"digit-0\"} 0",
        "mtgan_task_version{task=\"digit-3\"} 0",
        "mtgan_task_loss{task=\"digit-0\",net=\"d\"} ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(r.body, want[i]) != NULL, "/metrics lacks \"%s\"", want[i]);
    tp_resp_free(&r);
    double rss = tp_metric(srv.port, "mtgan_process_resident_memory_bytes");
    cr_expect(rss > 1e6, "RSS %g", rss);
    cJSON *st = tp_get_json(srv.port, "/v1/status");
    cr_assert_not_null(st);
    cJSON *proto = cJSON_GetObjectItemCaseSensitive(st, "protocol");
    cr_expect(cJSON_IsString(proto) && strcmp(proto->valuestring, "mtgan") == 0);
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(st, "done")));
    cJSON_Delete(st);
}

Test(api, tasks_list_and_put_round_trip)
{
    cr_expect(has_task("digit-0") && has_task("digit-3"), "configured tasks missing from GET /v1/tasks");
    cr_expect(!has_task("digit-1"));
    struct tp_resp r = req("GET", "/v1/tasks/digit-0", NULL);
    cr_expect_eq(r.status, 200);
    tp_resp_free(&r);

    const char *spec = "{\"generator\": {\"layers\": [64], \"latent_dim\": 16, \"lr\": 0.0005},"
                       " \"discriminator\": {\"layers\": [32, 16]}}";
    r = req("PUT", "/v1/tasks/shoes", spec);
    cr_assert_eq(r.status, 201, "PUT /v1/tasks/shoes: %d %s", r.status, r.body);
    cJSON *o = tp_json(&r);
    cr_assert_not_null(o);
    cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    cr_expect(cJSON_IsString(id) && strcmp(id->valuestring, "shoes") == 0);
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "version")), 0);
    cJSON_Delete(o);
    tp_resp_free(&r);

    r = req("GET", "/v1/tasks/shoes", NULL);
    cr_expect_eq(r.status, 200, "GET after PUT: %d", r.status);
    tp_resp_free(&r);
    cr_expect(has_task("shoes"));

    /* The configured networks are what the server built: G 16 -> 64 -> 64, D 64 -> 32 -> 16 -> 1. */
    r = req("GET", "/v1/tasks/shoes/models/gan", NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    struct mtg_blob *b = decode(&r);
    tp_resp_free(&r);
    const struct mtg_blob_tensor *g = mtg_blob_find(b, "g"), *d = mtg_blob_find(b, "d");
    cr_assert(g && d);
    cr_expect_eq(g->n, (size_t)(16 * 64 + 64 + 64 * 64 + 64), "G has %zu parameters", g->n);
    cr_expect_eq(d->n, (size_t)(64 * 32 + 32 + 32 * 16 + 16 + 16 + 1), "D has %zu parameters", d->n);
    mtg_blob_free(b);

    r = req("PUT", "/v1/tasks/shoes", spec);
    expect_error(&r, 409, "PUT of an existing task");
    tp_resp_free(&r);
    /* An empty body creates a task with the default networks. */
    r = req("PUT", "/v1/tasks/hats", NULL);
    cr_expect_eq(r.status, 201, "PUT without body: %d %s", r.status, r.body);
    tp_resp_free(&r);
    r = req("GET", "/readyz", NULL);
    cr_expect_eq(r.status, 200);
    tp_resp_free(&r);
}

Test(api, put_task_rejects_bad_json_and_unknown_keys)
{
    struct tp_resp r = req("PUT", "/v1/tasks/bad1", "{\"generator\": {\"layers\": [64],");
    expect_error(&r, 400, "PUT with truncated JSON");
    tp_resp_free(&r);
    r = req("PUT", "/v1/tasks/bad2", "[1, 2, 3]");
    expect_error(&r, 400, "PUT with a JSON array");
    tp_resp_free(&r);
    r = req("PUT", "/v1/tasks/bad3", "{\"generator\": {\"layerz\": [64]}}");
    expect_error(&r, 400, "PUT with an unknown key");
    char msg[512];
    tp_is_error(&r, msg, sizeof msg);
    cr_expect(strstr(msg, "layerz") != NULL, "the message does not name the unknown key: %s", msg);
    tp_resp_free(&r);
    r = req("PUT", "/v1/tasks/bad4", "{\"generator\": {\"lr\": \"fast\"}}");
    expect_error(&r, 400, "PUT with an ill-typed value");
    tp_is_error(&r, msg, sizeof msg);
    cr_expect(strstr(msg, "lr") != NULL, "the message does not name the key: %s", msg);
    tp_resp_free(&r);
    for (int i = 1; i <= 4; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/tasks/bad%d", i);
        r = req("GET", path, NULL);
        cr_expect_eq(r.status, 404, "%s exists after a rejected PUT", path);
        tp_resp_free(&r);
    }
}

Test(api, scheduler_get_put_round_trip)
{
    cJSON *o = tp_get_json(srv.port, "/v1/scheduler");
    cr_assert_not_null(o, "GET /v1/scheduler");
    cr_expect(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "policy")));
    cr_expect(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "local_steps")));
    cJSON_Delete(o);

    struct tp_resp r = req("PUT", "/v1/scheduler", "{\"policy\": \"fixed\", \"local_steps\": 7}");
    cr_assert_eq(r.status, 200, "PUT /v1/scheduler: %d %s", r.status, r.body);
    tp_resp_free(&r);
    o = tp_get_json(srv.port, "/v1/scheduler");
    cr_assert_not_null(o);
    cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "policy");
    cr_expect(cJSON_IsString(p) && strcmp(p->valuestring, "fixed") == 0, "policy after PUT");
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "local_steps")), 7);
    cJSON_Delete(o);

    r = req("PUT", "/v1/scheduler", "{\"policy\": \"telepathic\"}");
    expect_error(&r, 400, "PUT /v1/scheduler with an unknown policy");
    tp_resp_free(&r);
    r = req("PUT", "/v1/scheduler", "{\"local_steps\": -3}");
    expect_error(&r, 400, "PUT /v1/scheduler with local_steps -3");
    tp_resp_free(&r);
    r = req("PUT", "/v1/scheduler", "{\"local_stepz\": 3}");
    expect_error(&r, 400, "PUT /v1/scheduler with an unknown key");
    char msg[512];
    tp_is_error(&r, msg, sizeof msg);
    cr_expect(strstr(msg, "local_stepz") != NULL, "message does not name the key: %s", msg);
    tp_resp_free(&r);
    r = req("PUT", "/v1/scheduler", "not json");
    expect_error(&r, 400, "PUT /v1/scheduler with bad JSON");
    tp_resp_free(&r);

    /* Nothing rejected changed the scheduler. */
    o = tp_get_json(srv.port, "/v1/scheduler");
    cr_assert_not_null(o);
    p = cJSON_GetObjectItemCaseSensitive(o, "policy");
    cr_expect(cJSON_IsString(p) && strcmp(p->valuestring, "fixed") == 0);
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "local_steps")), 7);
    cJSON_Delete(o);
}

Test(api, model_blobs_and_etags)
{
    struct tp_resp r = req("GET", "/v1/tasks/digit-0/models/generator", NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_expect(strcmp(r.ctype, "application/x-mtgan-blob") == 0, "content type %s", r.ctype);
    cr_expect(r.etag[0] != '\0', "no ETag");
    struct mtg_blob *b = decode(&r);
    const struct mtg_blob_tensor *g = mtg_blob_find(b, "g");
    cr_assert_not_null(g, "no tensor \"g\"");
    cr_expect_eq(g->rank, 1);
    /* DESIGN §4 default G: 32 -> 128 -> 256 -> 64. */
    cr_expect_eq(g->n, (size_t)(32 * 128 + 128 + 128 * 256 + 256 + 256 * 64 + 64), "G has %zu params", g->n);
    cr_expect_eq(mtg_blob_count(b), 1u);
    mtg_blob_free(b);

    char inm[192];
    snprintf(inm, sizeof inm, "If-None-Match: %s", r.etag);
    const char *hdr[] = {inm, NULL};
    struct tp_resp r2;
    cr_assert_eq(tp_http(srv.port, "GET", "/v1/tasks/digit-0/models/generator", hdr, NULL, 0, &r2), 0);
    cr_expect_eq(r2.status, 304, "If-None-Match with the current ETag: %d", r2.status);
    cr_expect_eq(r2.len, 0u, "a 304 carries no body");
    tp_resp_free(&r2);
    const char *stale[] = {"If-None-Match: \"generator-v999\"", NULL};
    cr_assert_eq(tp_http(srv.port, "GET", "/v1/tasks/digit-0/models/generator", stale, NULL, 0, &r2), 0);
    cr_expect_eq(r2.status, 200, "If-None-Match with another ETag: %d", r2.status);
    cr_expect_eq(r2.len, r.len);
    cr_expect(memcmp(r2.body, r.body, r.len) == 0, "same version, different bytes");
    tp_resp_free(&r2);
    tp_resp_free(&r);

    r = req("GET", "/v1/tasks/digit-3/models/discriminator?dtype=f16&zlib=1", NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    b = decode(&r);
    const struct mtg_blob_tensor *d = mtg_blob_find(b, "d");
    cr_assert_not_null(d, "no tensor \"d\"");
    cr_expect_eq(d->dtype, MTG_DTYPE_F16);
    mtg_blob_free(b);
    tp_resp_free(&r);

    r = req("GET", "/v1/tasks/digit-0/models/generator?dtype=f64", NULL);
    expect_error(&r, 400, "dtype=f64");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-0/models/encoder", NULL);
    expect_error(&r, 404, "model kind encoder");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-7/models/generator", NULL);
    expect_error(&r, 404, "model of an unknown task");
    tp_resp_free(&r);
}

Test(api, samples_png_and_blob)
{
    struct tp_resp r = req("GET", "/v1/tasks/digit-0/samples?n=16&format=png", NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    cr_expect(strcmp(r.ctype, "image/png") == 0, "content type %s", r.ctype);
    cr_assert_gt(r.len, 8u);
    cr_expect(memcmp(r.body, "\x89PNG\r\n\x1a\n", 8) == 0, "no PNG signature");
    tp_resp_free(&r);

    r = req("GET", "/v1/tasks/digit-3/samples?n=10&format=blob&seed=5", NULL);
    cr_assert_eq(r.status, 200, "%d %s", r.status, r.body);
    struct mtg_blob *b = decode(&r);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, "samples");
    cr_assert_not_null(t);
    cr_expect_eq(t->rank, 2);
    cr_expect_eq(t->dims[0], 10u);
    cr_expect_eq(t->dims[1], 64u);
    for (size_t i = 0; i < t->n; i++)
        cr_assert(t->data[i] >= 0 && t->data[i] <= 1, "pixel %zu = %g outside [0, 1]", i, (double)t->data[i]);
    mtg_blob_free(b);
    /* Same seed, same samples. */
    struct tp_resp again = req("GET", "/v1/tasks/digit-3/samples?n=10&format=blob&seed=5", NULL);
    cr_expect(again.len == r.len && memcmp(again.body, r.body, r.len) == 0, "samples with one seed differ");
    tp_resp_free(&again);
    tp_resp_free(&r);

    r = req("GET", "/v1/tasks/digit-3/samples?n=0", NULL);
    expect_error(&r, 400, "n=0");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-3/samples?n=abc", NULL);
    expect_error(&r, 400, "n=abc");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-3/samples?format=gif", NULL);
    expect_error(&r, 400, "format=gif");
    tp_resp_free(&r);
}

Test(api, delete_task)
{
    struct tp_resp r = req("DELETE", "/v1/tasks/digit-3", NULL);
    cr_assert_eq(r.status, 200, "DELETE: %d %s", r.status, r.body);
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-3", NULL);
    expect_error(&r, 404, "GET of a deleted task");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-3/models/generator", NULL);
    expect_error(&r, 404, "model of a deleted task");
    tp_resp_free(&r);
    r = req("GET", "/v1/tasks/digit-3/samples?n=4&format=blob", NULL);
    expect_error(&r, 404, "samples of a deleted task");
    tp_resp_free(&r);
    r = req("DELETE", "/v1/tasks/digit-3", NULL);
    expect_error(&r, 404, "DELETE twice");
    tp_resp_free(&r);
    cr_expect(!has_task("digit-3"), "GET /v1/tasks still lists the deleted task");
    cr_expect(has_task("digit-0"));
    /* Edges may still cache the old task's models: a deleted id is never reused, and PUT says why. */
    r = req("PUT", "/v1/tasks/digit-3", "{}");
    cr_expect_eq(r.status, 409, "PUT of a deleted task id: %d %s", r.status, r.body);
    cr_expect(r.body && strstr(r.body, "was deleted"), "409 must say the id was deleted: %s", r.body);
    tp_resp_free(&r);
}
