/*
 * test_bad_input.c - hostile and malformed requests against a real
 * mtgan-server (protocol mtgan, digits tasks digit-0 and digit-3 with small
 * networks, limits.max_body_bytes 65536). The test registers its own edge
 * over HTTP and reads its assignment, so an update can be accepted; every
 * bad request must get the right 4xx with a {"error":{"code","message"}}
 * body and leave the server as it was: task versions (/v1/status), the
 * accepted-updates counter (/metrics; the rejected counter may count the
 * refusal) and the bytes of both model blobs. A good update then changes
 * exactly what it should.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "proc.h"
#include "wire/blob.h"

#define EDGE "it-edge"
#define BODY_LIMIT 65536

static struct tp_server srv;
static char dir[256];

static void start(void)
{
    char cfg[320], text[2048];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"log_level\": \"warn\", \"state_dir\": \"%s/state\", \"checkpoint_every\": 0,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0, 3]},\n"
             " \"limits\": {\"max_body_bytes\": %d},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 5,\n"
             "                             \"round_deadline_ms\": 120000}},\n"
             " \"train\": {\"eval_every\": 0},\n"
             " \"tasks\": [{\"id\": \"digit-0\", \"generator\": {\"layers\": [32]}, \"discriminator\": {\"layers\": [32]}},\n"
             "           {\"id\": \"digit-3\", \"generator\": {\"layers\": [32]}, \"discriminator\": {\"layers\": [32]}}]}\n",
             dir, BODY_LIMIT);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    cr_assert_eq(tp_server_start(&srv, cfg, dir, NULL), 0, "server did not start (see %s)", srv.log);
}

static void stop(void)
{
    if (srv.pid > 0)
        tp_stop(srv.pid, SIGTERM, 5000);
    tp_cleanup();
}

TestSuite(bad_input, .init = start, .fini = stop, .timeout = 60);

/* ---- server state ---- */

struct snap {
    double version[2];
    double accepted, rejected;
    struct tp_resp model[2]; /* GET models/gan of digit-0, digit-3 */
};

static const char *const task_ids[2] = {"digit-0", "digit-3"};

static void take(struct snap *s)
{
    for (int t = 0; t < 2; t++) {
        char p[64], path[96];
        snprintf(p, sizeof p, "tasks.%s.version", task_ids[t]);
        s->version[t] = tp_status_number(srv.port, p);
        cr_assert(!isnan(s->version[t]), "no %s in /v1/status", p);
        snprintf(path, sizeof path, "/v1/tasks/%s/models/gan", task_ids[t]);
        cr_assert_eq(tp_get(srv.port, path, &s->model[t]), 0);
        cr_assert_eq(s->model[t].status, 200, "GET %s: %d", path, s->model[t].status);
    }
    s->accepted = tp_metric(srv.port, "mtgan_updates_total{outcome=\"accepted\"}");
    s->rejected = tp_metric(srv.port, "mtgan_updates_total{outcome=\"rejected\"}");
    cr_assert(!isnan(s->accepted) && !isnan(s->rejected), "no mtgan_updates_total in /metrics");
}

static void drop(struct snap *s)
{
    tp_resp_free(&s->model[0]);
    tp_resp_free(&s->model[1]);
}

static void expect_unchanged(const struct snap *a, const char *what)
{
    struct snap b;
    take(&b);
    for (int t = 0; t < 2; t++) {
        cr_expect_eq(b.version[t], a->version[t], "%s changed %s's version %g -> %g", what, task_ids[t],
                     a->version[t], b.version[t]);
        cr_expect(b.model[t].len == a->model[t].len && memcmp(b.model[t].body, a->model[t].body, b.model[t].len) == 0,
                  "%s changed %s's model bytes", what, task_ids[t]);
    }
    cr_expect_eq(b.accepted, a->accepted, "%s changed the accepted count %g -> %g", what, a->accepted, b.accepted);
    cr_expect(b.rejected == a->rejected || b.rejected == a->rejected + 1, "%s: rejected count %g -> %g", what,
              a->rejected, b.rejected);
    drop(&b);
}

/* ---- requests ---- */

static struct tp_resp post(const char *path, const void *body, size_t len, const char *ctype)
{
    char h[128];
    snprintf(h, sizeof h, "Content-Type: %s", ctype);
    const char *hdr[] = {h, NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(srv.port, "POST", path, hdr, body, len, &r), 0, "POST %s: no response", path);
    return r;
}

/* Sends a request that must be refused with one of the statuses in want[] and change nothing. */
static void refused(const char *what, const char *method, const char *path, const void *body, size_t len,
                    const char *ctype, const int *want, int n_want)
{
    struct snap before;
    take(&before);
    struct tp_resp r;
    char h[128];
    snprintf(h, sizeof h, "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdr[] = {h, NULL};
    cr_assert_eq(tp_http(srv.port, method, path, hdr, body, len, &r), 0, "%s: no response", what);
    int ok = 0;
    for (int i = 0; i < n_want; i++)
        ok |= r.status == want[i];
    cr_expect(ok, "%s: %s %s answered HTTP %d (want %d%s): %.300s", what, method, path, r.status, want[0],
              n_want > 1 ? " or similar" : "", r.body ? r.body : "");
    cr_expect(tp_is_error(&r, NULL, 0), "%s: body is not {\"error\":{code,message}}: %.300s", what,
              r.body ? r.body : "");
    tp_resp_free(&r);
    expect_unchanged(&before, what);
    drop(&before);
}

#define REFUSED(what, method, path, body, len, ctype, ...)                                                    \
    do {                                                                                                        \
        const int want_[] = {__VA_ARGS__};                                                                      \
        refused(what, method, path, body, len, ctype, want_, (int)(sizeof want_ / sizeof want_[0]));            \
    } while (0)

/* ---- blobs ---- */

struct sizes {
    size_t ng, nd;
};

static struct sizes model_sizes(int t)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/tasks/%s/models/gan", task_ids[t]);
    struct tp_resp r;
    cr_assert_eq(tp_get(srv.port, path, &r), 0);
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_blob_decode((const uint8_t *)r.body, r.len, NULL, &b, &err), MTG_OK, "%s", err.msg);
    struct sizes s = {mtg_blob_find(b, "g")->n, mtg_blob_find(b, "d")->n};
    mtg_blob_free(b);
    tp_resp_free(&r);
    return s;
}

/* An update blob {g[ng], d[nd]} filled with `value`, plus an optional third tensor. */
static uint8_t *update_blob(size_t ng, size_t nd, float value, int extra, size_t *len)
{
    struct mtg_blob *b = mtg_blob_new(NULL);
    cr_assert_not_null(b);
    size_t n = ng > nd ? ng : nd;
    float *v = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        v[i] = value;
    uint32_t dg = (uint32_t)ng, dd = (uint32_t)nd;
    if (ng)
        cr_assert_eq(mtg_blob_add(b, "g", 1, &dg, v, MTG_DTYPE_F32, NULL), MTG_OK);
    if (nd)
        cr_assert_eq(mtg_blob_add(b, "d", 1, &dd, v, MTG_DTYPE_F32, NULL), MTG_OK);
    if (extra) {
        uint32_t one = 1;
        cr_assert_eq(mtg_blob_add(b, "x", 1, &one, v, MTG_DTYPE_F32, NULL), MTG_OK);
    }
    free(v);
    uint8_t *bytes = NULL;
    cr_assert_eq(mtg_blob_encode(b, 0, &bytes, len, NULL), MTG_OK);
    mtg_blob_free(b);
    return bytes;
}

/* Registers EDGE for both tasks and returns the open round. */
static uint64_t register_and_get_round(int *n_items, char items[][32])
{
    const char *reg = "{\"id\": \"" EDGE "\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 100},"
                      " {\"id\": \"digit-3\", \"samples\": 100}]}";
    struct tp_resp r = post("/v1/edges", reg, strlen(reg), "application/json");
    cr_assert_eq(r.status, 201, "register: %d %s", r.status, r.body);
    tp_resp_free(&r);
    cJSON *a = NULL;
    double t0 = tp_now_s();
    cJSON *arr = NULL;
    while (tp_now_s() - t0 < 10) {
        a = tp_get_json(srv.port, "/v1/edges/" EDGE "/assignment?wait_ms=2000");
        cr_assert_not_null(a, "GET assignment");
        arr = cJSON_GetObjectItemCaseSensitive(a, "items");
        if (cJSON_GetArraySize(arr) > 0)
            break;
        cJSON_Delete(a);
        a = NULL;
    }
    cr_assert_not_null(a, "no assignment within 10 s");
    double round = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "round"));
    cr_assert(round >= 1, "assignment without a round");
    *n_items = 0;
    for (cJSON *it = arr->child; it && *n_items < 2; it = it->next)
        snprintf(items[(*n_items)++], 32, "%s", cJSON_GetObjectItemCaseSensitive(it, "task")->valuestring);
    cJSON_Delete(a);
    return (uint64_t)round;
}

static int task_index(const char *id) { return strcmp(id, "digit-0") == 0 ? 0 : 1; }

Test(bad_input, hostile_requests_change_nothing_and_a_good_update_does)
{
    int n_items;
    char items[2][32];
    uint64_t round = register_and_get_round(&n_items, items);
    cr_assert_gt(n_items, 0);
    const char *task = items[0];
    struct sizes sz = model_sizes(task_index(task));
    char path[256];
    size_t len;

    /* Registration. */
    REFUSED("bad JSON on POST /v1/edges", "POST", "/v1/edges", "{\"id\": \"e2\", \"tasks\": [", 24, NULL, 400);
    REFUSED("empty body on POST /v1/edges", "POST", "/v1/edges", "", 0, NULL, 400);
    /* An unknown but valid task id is a new task (lifelong learning, test_lifelong.c); a path trick is not. */
    const char *unk = "{\"id\": \"e2\", \"tasks\": [{\"id\": \"../digit-9\", \"samples\": 5}]}";
    REFUSED("registration with a path-trick task id", "POST", "/v1/edges", unk, strlen(unk), NULL, 400);
    const char *bad_edge = "{\"id\": \"../e2\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 5}]}";
    REFUSED("registration with a path-trick edge id", "POST", "/v1/edges", bad_edge, strlen(bad_edge), NULL, 400);
    const char *neg = "{\"id\": \"e2\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": -5}]}";
    REFUSED("registration with negative samples", "POST", "/v1/edges", neg, strlen(neg), NULL, 400, 422);
    struct tp_resp hb;
    cr_assert_eq(tp_http(srv.port, "POST", "/v1/edges/e2/heartbeat", NULL, NULL, 0, &hb), 0);
    cr_expect_eq(hb.status, 404, "a refused registration registered e2 anyway");
    tp_resp_free(&hb);

    /* Updates. */
    uint8_t *good = update_blob(sz.ng, sz.nd, 1e-3f, 0, &len);
    snprintf(path, sizeof path, "/v1/edges/nobody/updates/%s?round=%llu&steps=5", task, (unsigned long long)round);
    REFUSED("update for an unknown edge", "POST", path, good, len, "application/x-mtgan-blob", 404);
    snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/digit-5?round=%llu&steps=5", (unsigned long long)round);
    REFUSED("update for an unknown task", "POST", path, good, len, "application/x-mtgan-blob", 404);
    snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/%s?round=%llu&steps=5", task,
             (unsigned long long)round + 7);
    REFUSED("update for a round that is not open", "POST", path, good, len, "application/x-mtgan-blob", 409);
    snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/%s?steps=5", task);
    REFUSED("update without round=", "POST", path, good, len, "application/x-mtgan-blob", 400);
    snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/%s?round=abc&steps=5", task);
    REFUSED("update with round=abc", "POST", path, good, len, "application/x-mtgan-blob", 400);
    snprintf(path, sizeof path, "/v1/edges/" EDGE "/feedback/%s?step=1", task);
    REFUSED("sgda feedback on an mtgan server", "POST", path, good, len, "application/x-mtgan-blob", 409);

    char upd[256];
    snprintf(upd, sizeof upd, "/v1/edges/" EDGE "/updates/%s?round=%llu&steps=5", task, (unsigned long long)round);
    REFUSED("update with an empty body", "POST", upd, "", 0, "application/x-mtgan-blob", 400, 422);
    REFUSED("update with a JSON body", "POST", upd, "{\"g\": [1, 2]}", 13, "application/json", 400, 422);

    size_t blen;
    uint8_t *b = update_blob(sz.ng - 1, sz.nd, 1e-3f, 0, &blen);
    REFUSED("update with one G parameter too few", "POST", upd, b, blen, "application/x-mtgan-blob", 400, 422);
    free(b);
    b = update_blob(sz.ng, sz.nd + 3, 1e-3f, 0, &blen);
    REFUSED("update with three D parameters too many", "POST", upd, b, blen, "application/x-mtgan-blob", 400, 422);
    free(b);
    b = update_blob(sz.ng, 0, 1e-3f, 0, &blen);
    REFUSED("update without tensor d", "POST", upd, b, blen, "application/x-mtgan-blob", 400, 422);
    free(b);
    b = update_blob(sz.ng, sz.nd, 1e-3f, 1, &blen);
    REFUSED("update with an extra tensor", "POST", upd, b, blen, "application/x-mtgan-blob", 400, 422);
    free(b);

    b = malloc(len);
    memcpy(b, good, len);
    b[len / 2] ^= 0x40; /* a payload byte: only the CRC notices */
    REFUSED("update with a flipped byte (CRC)", "POST", upd, b, len, "application/x-mtgan-blob", 400, 422);
    memcpy(b, good, len);
    b[0] = 'X';
    REFUSED("update with a bad magic", "POST", upd, b, len, "application/x-mtgan-blob", 400, 422);
    free(b);
    REFUSED("truncated update", "POST", upd, good, len - 9, "application/x-mtgan-blob", 400, 422);
    REFUSED("update cut to its header", "POST", upd, good, 12, "application/x-mtgan-blob", 400, 422);

    {
        /* One NaN in the middle of G's delta; the blob itself is well formed. */
        struct mtg_blob *nb = mtg_blob_new(NULL);
        float *v = calloc(sz.ng, sizeof(float));
        v[sz.ng / 2] = NAN;
        uint32_t dg = (uint32_t)sz.ng, dd = (uint32_t)sz.nd;
        cr_assert_eq(mtg_blob_add(nb, "g", 1, &dg, v, MTG_DTYPE_F32, NULL), MTG_OK);
        free(v);
        v = calloc(sz.nd, sizeof(float));
        cr_assert_eq(mtg_blob_add(nb, "d", 1, &dd, v, MTG_DTYPE_F32, NULL), MTG_OK);
        free(v);
        uint8_t *nbytes = NULL;
        size_t nlen = 0;
        cr_assert_eq(mtg_blob_encode(nb, 0, &nbytes, &nlen, NULL), MTG_OK);
        mtg_blob_free(nb);
        REFUSED("update with a NaN", "POST", upd, nbytes, nlen, "application/x-mtgan-blob", 422, 400);
        free(nbytes);
    }
    b = update_blob(sz.ng, sz.nd, 1e6f, 0, &blen);
    REFUSED("update with an outlier norm", "POST", upd, b, blen, "application/x-mtgan-blob", 400, 422);
    free(b);

    /* Oversized bodies: the blob route's limit is limits.max_body_bytes, JSON routes have their own. */
    b = update_blob(BODY_LIMIT / 4 + 100, 10, 0.0f, 0, &blen);
    cr_assert_gt(blen, (size_t)BODY_LIMIT);
    REFUSED("update over limits.max_body_bytes", "POST", upd, b, blen, "application/x-mtgan-blob", 413);
    free(b);
    size_t big = 2u << 20;
    char *junk = malloc(big);
    memset(junk, ' ', big);
    junk[0] = '{';
    junk[big - 1] = '}';
    REFUSED("2 MiB registration body", "POST", "/v1/edges", junk, big, NULL, 413);
    REFUSED("2 MiB task body", "PUT", "/v1/tasks/huge", junk, big, NULL, 413);
    free(junk);

    /* Paths: never 200 or 500. */
    static const char *const tricks[] = {
        "/v1/tasks/..%2F..%2Fetc/models/generator",
        "/v1/tasks/%2e%2e",
        "/v1/tasks/%2e%2e/models/generator",
        "/v1/tasks/.",
        "/v1/tasks/digit-0%00/models/generator",
        "/v1/tasks/digit-0%2F..%2Fdigit-3/models/generator",
        "/v1/tasks/%252e%252e",
        "/v1/tasks/dígit",
        "/v1/tasks/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "/v1/tasks/digit-0/models/..%2F..%2F..%2Fstate",
        "/v1//tasks",
        "/v1/tasks/digit-0/samples/../../../../etc/passwd",
    };
    for (size_t i = 0; i < sizeof tricks / sizeof tricks[0]; i++)
        REFUSED(tricks[i], "GET", tricks[i], NULL, 0, NULL, 400, 404);

    REFUSED("unknown route", "GET", "/v2/everything", NULL, 0, NULL, 404);
    REFUSED("unknown route under /v1", "GET", "/v1/tasks/digit-0/weights", NULL, 0, NULL, 404);
    {
        struct snap before;
        take(&before);
        struct tp_resp r;
        cr_assert_eq(tp_http(srv.port, "POST", "/v1/tasks", NULL, "{}", 2, &r), 0);
        cr_expect_eq(r.status, 405, "POST /v1/tasks: %d", r.status);
        cr_expect(tp_is_error(&r, NULL, 0), "405 body: %s", r.body);
        cr_expect(strstr(r.allow, "GET") != NULL, "Allow: \"%s\"", r.allow);
        tp_resp_free(&r);
        expect_unchanged(&before, "POST /v1/tasks");
        drop(&before);
    }
    REFUSED("DELETE /healthz", "DELETE", "/healthz", NULL, 0, NULL, 405);
    REFUSED("PUT on a model", "PUT", "/v1/tasks/digit-0/models/generator", "{}", 2, NULL, 405);

    /* The good updates go through and change exactly the assigned tasks. */
    struct snap before;
    take(&before);
    for (int k = 0; k < n_items; k++) {
        struct sizes s = model_sizes(task_index(items[k]));
        uint8_t *ok = update_blob(s.ng, s.nd, 1e-3f, 0, &blen);
        snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/%s?round=%llu&steps=5&loss_d=1.2&loss_g=0.8",
                 items[k], (unsigned long long)round);
        struct tp_resp r = post(path, ok, blen, "application/x-mtgan-blob");
        cr_expect_eq(r.status, 200, "good update for %s: %d %s", items[k], r.status, r.body);
        cr_expect(strstr(r.body, "applied") != NULL, "%s", r.body);
        tp_resp_free(&r);
        if (k + 1 < n_items) {
            /* A retry while the round is open is acknowledged, not folded in twice. */
            r = post(path, ok, blen, "application/x-mtgan-blob");
            cr_expect_eq(r.status, 200, "retried update: %d %s", r.status, r.body);
            cr_expect(strstr(r.body, "duplicate") != NULL, "retry: %s", r.body);
            tp_resp_free(&r);
        }
        free(ok);
    }
    /* Every assigned item reported: the round closes and versions move by one. */
    double t0 = tp_now_s();
    struct snap after;
    take(&after);
    while (tp_now_s() - t0 < 5 && after.version[task_index(items[0])] == before.version[task_index(items[0])]) {
        drop(&after);
        tp_sleep_ms(50);
        take(&after);
    }
    for (int t = 0; t < 2; t++) {
        int assigned = 0;
        for (int k = 0; k < n_items; k++)
            assigned |= task_index(items[k]) == t;
        cr_expect_eq(after.version[t], before.version[t] + (assigned ? 1 : 0), "%s version %g -> %g", task_ids[t],
                     before.version[t], after.version[t]);
        int same = after.model[t].len == before.model[t].len &&
                   memcmp(after.model[t].body, before.model[t].body, after.model[t].len) == 0;
        cr_expect(assigned ? !same : same, "%s model bytes %s", task_ids[t], same ? "unchanged" : "changed");
    }
    cr_expect_eq(after.accepted, before.accepted + n_items, "accepted %g -> %g", before.accepted, after.accepted);
    cr_expect_eq(after.rejected, before.rejected);
    drop(&after);
    drop(&before);
    free(good);
}

/*
 * Edge ids end up in URL paths (/v1/edges/{edge}/...), which accept only
 * 1-63 characters of [A-Za-z0-9._-] and not "." or "..". An id that no
 * route can address must be refused at registration: otherwise the edge is
 * counted alive and assigned work it can never fetch or report, and a sync
 * round waits for it until the deadline.
 */
Test(bad_input, registration_refuses_ids_no_route_can_address)
{
    static const char *const ids[] = {"../e2", "a/b", "sp ace", "quo\\\"te", "tab\\there", ".."};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char body[256], what[128];
        snprintf(body, sizeof body, "{\"id\": \"%s\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 5}]}", ids[i]);
        snprintf(what, sizeof what, "registration with id %s", ids[i]);
        REFUSED(what, "POST", "/v1/edges", body, strlen(body), NULL, 400, 422);
    }
    cr_expect_eq(tp_status_number(srv.port, "edges_alive"), 0, "edges with unusable ids count as alive");
}

/*
 * The edge client retries POSTs after timeouts (retry_unsafe: "every POST
 * carries a round id the server deduplicates on"). The retry of the update
 * that completed a round arrives after the round closed; it must still be
 * acknowledged as a duplicate, not refused as a conflict and counted as a
 * rejected update.
 */
Test(bad_input, retry_of_the_round_closing_update_is_a_duplicate)
{
    int n_items;
    char items[2][32];
    uint64_t round = register_and_get_round(&n_items, items);
    char path[256];
    struct tp_resp r;
    for (int k = 0; k < n_items; k++) {
        struct sizes s = model_sizes(task_index(items[k]));
        size_t blen;
        uint8_t *ok = update_blob(s.ng, s.nd, 1e-3f, 0, &blen);
        snprintf(path, sizeof path, "/v1/edges/" EDGE "/updates/%s?round=%llu&steps=5", items[k],
                 (unsigned long long)round);
        r = post(path, ok, blen, "application/x-mtgan-blob");
        cr_assert_eq(r.status, 200, "update for %s: %d %s", items[k], r.status, r.body);
        tp_resp_free(&r);
        if (k + 1 == n_items) {
            double rejected = tp_metric(srv.port, "mtgan_updates_total{outcome=\"rejected\"}");
            r = post(path, ok, blen, "application/x-mtgan-blob");
            cr_expect_eq(r.status, 200, "retry of the round-closing update: %d %s", r.status, r.body);
            cr_expect(r.body && strstr(r.body, "duplicate") != NULL, "retry: %s", r.body);
            tp_resp_free(&r);
            cr_expect_eq(tp_metric(srv.port, "mtgan_updates_total{outcome=\"rejected\"}"), rejected,
                         "the retry was counted as a rejected update");
        }
        free(ok);
    }
}
