/*
 * test_hardening.c - the seven weaknesses of issue 18, each probed on a real
 * mtgan-server on 127.0.0.1 (real requests, a real socket flood, a real zlib
 * bomb, a real checkpoint): every test here failed on the server before the
 * fix. Wall time stays in seconds: small limits, small models, except the
 * one checkpoint that must be wider than the old fixed 64 Mi-value limit.
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/status.h"
#include "proc.h"
#include "server/http.h"
#include "wire/blob.h"

#define TOKEN "hardening-T0ken"
#define AUTH "Authorization: Bearer " TOKEN

static struct tp_server srv;
static char dir[256], cfg[320];

/* A server with a token, digit-0 only, a long round deadline (nothing trains: no edge runs). */
static void start_with(const char *extra)
{
    char tok[320], text[1536];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(tok, sizeof tok, "%s/token", dir);
    cr_assert_eq(tp_write_file(tok, TOKEN "\n"), 0);
    snprintf(text, sizeof text,
             "{\"log_level\": \"info\", \"state_dir\": \"%s/state\", \"checkpoint_every\": 0,\n"
             " \"auth\": {\"token_file\": \"%s\"},\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0]},\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 5, \"round_deadline_ms\": 60000}},\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": 1000000}%s}\n",
             dir, tok, extra);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    cr_assert_eq(tp_server_start(&srv, cfg, dir, NULL), 0, "server did not start (see %s)", srv.log);
}

static void start(void) { start_with(""); }

static void stop(void)
{
    if (srv.pid > 0)
        tp_stop(srv.pid, SIGTERM, 10000);
    srv.pid = 0;
    tp_cleanup();
}

static int call(const char *method, const char *path, int with_token, const char *json, struct tp_resp *r)
{
    const char *hdr[3] = {"Content-Type: application/json", with_token ? AUTH : NULL, NULL};
    cr_assert_eq(tp_http(srv.port, method, path, hdr, json, json ? strlen(json) : 0, r), 0, "%s %s", method, path);
    return r->status;
}

static int status_of(const char *method, const char *path, int with_token, const char *json)
{
    struct tp_resp r;
    int st = call(method, path, with_token, json, &r);
    tp_resp_free(&r);
    return st;
}

static void register_edge(const char *id, const char *task)
{
    char body[256];
    snprintf(body, sizeof body, "{\"id\": \"%s\", \"tasks\": [{\"id\": \"%s\", \"samples\": 50}]}", id, task);
    cr_assert_eq(status_of("POST", "/v1/edges", 1, body), 201, "registering %s", id);
}

TestSuite(hardening, .init = start, .fini = stop, .timeout = 120);

/* Finding 1: an edge's own polls mark it alive and (async) replace its assignment, so they need the token. */
Test(hardening, edge_polls_need_the_token)
{
    register_edge("e1", "digit-0");
    static const char *const paths[] = {"/v1/edges/e1/assignment?wait_ms=0", "/v1/edges/e1/fakes?wait_ms=0",
                                        "/v1/edges/e1/fakes/digit-0?wait_ms=0"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        cr_expect_eq(status_of("GET", paths[i], 0, NULL), 401, "tokenless GET %s", paths[i]);
        cr_expect_eq(status_of("HEAD", paths[i], 0, NULL), 401, "tokenless HEAD %s", paths[i]);
    }
    cr_expect_eq(status_of("GET", paths[0], 1, NULL), 200, "the edge's own poll with the token");
    /* Reads that change nothing stay open. */
    cr_expect_eq(status_of("GET", "/v1/tasks/digit-0", 0, NULL), 200);
}

static int status_as(const char *tok, const char *method, const char *path, const char *json)
{
    char auth[160];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
    const char *hdr[3] = {"Content-Type: application/json", auth, NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(srv.port, method, path, hdr, json, json ? strlen(json) : 0, &r), 0, "%s %s", method, path);
    int st = r.status;
    tp_resp_free(&r);
    return st;
}

/* Per-edge tokens: an edge given only its own token (mtgan edge-token) acts as itself and as nothing else. */
Test(hardening, an_edge_token_acts_for_its_edge_only)
{
    char t1[MTG_HTTP_EDGE_TOKEN_LEN + 1];
    cr_assert_eq(mtg_http_edge_token(TOKEN, "tokedge", t1, sizeof t1, NULL), MTG_OK);
    register_edge("other", "digit-0");
    const char *me = "{\"id\": \"tokedge\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 50}]}";
    const char *them = "{\"id\": \"other\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 50}]}";
    cr_expect_eq(status_as(t1, "POST", "/v1/edges", me), 201, "its own registration");
    cr_expect_eq(status_as(t1, "POST", "/v1/edges/tokedge/heartbeat", NULL), 200);
    cr_expect_eq(status_as(t1, "GET", "/v1/edges/tokedge/assignment?wait_ms=0", NULL), 200);
    cr_expect_eq(status_as(t1, "POST", "/v1/edges", them), 401, "registering as another edge");
    cr_expect_eq(status_as(t1, "POST", "/v1/edges/other/heartbeat", NULL), 401, "another edge's heartbeat");
    cr_expect_eq(status_as(t1, "GET", "/v1/edges/other/assignment?wait_ms=0", NULL), 401);
    cr_expect_eq(status_as(t1, "PUT", "/v1/tasks/x", "{}"), 401, "an operator route");
    cr_expect_eq(status_as(t1, "DELETE", "/v1/tasks/digit-0", NULL), 401);
    cr_expect_eq(status_as(t1, "PUT", "/v1/scheduler", "{\"local_steps\": 9}"), 401);

    /* A real mtgan-edge with nothing but its token trains. */
    char tf[400], tf_arg[420];
    snprintf(tf, sizeof tf, "%s/tokedge.token", dir);
    cr_assert_eq(tp_write_file(tf, t1), 0);
    snprintf(tf_arg, sizeof tf_arg, "--token-file=%s", tf);
    char *args[] = {tf_arg, NULL};
    pid_t edge = tp_edge_start(cfg, srv.port, dir, "tokedge", 0, 1, args);
    cr_assert_gt(edge, 0);
    double t0 = tp_now_s(), accepted = 0;
    while (tp_now_s() - t0 < 60 && tp_alive(edge) &&
           !((accepted = tp_metric(srv.port, "mtgan_updates_total{outcome=\"accepted\"}")) > 0))
        tp_sleep_ms(200);
    cr_expect_gt(accepted, 0, "the edge with its own token pushed no accepted update (see %s/tokedge.log)", dir);
    tp_stop(edge, SIGTERM, 5000);
}

/* A connection from src (an address of 127.0.0.0/8) that sends part of a request's headers, then waits. */
static int slow_socket(const char *src, unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET}, to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, src, &me.sin_addr);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char part[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0 ||
        send(fd, part, sizeof part - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof part - 1)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 once the server has closed fd (EOF or reset), waiting at most ms. */
static int closed_by_server(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/*
 * Finding 2: 520 partial-header connections from one address (127.0.0.2) took
 * all 512 connections. With the per-address limit (default 128) most are
 * refused at once, and /healthz and /readyz from another address answer.
 */
Test(hardening, one_address_cannot_take_every_connection)
{
    enum { FLOOD = 520 };
    int fds[FLOOD], opened = 0;
    for (int i = 0; i < FLOOD; i++)
        if ((fds[i] = slow_socket("127.0.0.2", srv.port)) >= 0)
            opened++;
    cr_assert_gt(opened, 200, "could not open the flood (%d sockets)", opened);
    tp_sleep_ms(300);
    int held = 0;
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0 && !closed_by_server(fds[i], 0))
            held++;
    cr_expect_leq(held, 128, "one address holds %d connections (limits.per_ip_connections is 128)", held);
    cr_expect_eq(status_of("GET", "/healthz", 0, NULL), 200, "/healthz under the flood");
    cr_expect_eq(status_of("GET", "/readyz", 0, NULL), 200, "/readyz under the flood");
    for (int i = 0; i < FLOOD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

struct dl {
    char *body;
    size_t len;
    int status;
};

static void *download(void *arg)
{
    struct dl *d = arg;
    struct tp_resp r;
    if (tp_get(srv.port, "/v1/tasks/wide/models/gan?zlib=1", &r) == 0) {
        d->status = r.status;
        d->body = r.body;
        d->len = r.len;
        r.body = NULL;
    }
    tp_resp_free(&r);
    return NULL;
}

/*
 * Finding 3: each download encoded (and zlib'd) the model under the server
 * lock. Now four concurrent downloads of one version cost one encoding made
 * outside the lock (mtgan_model_encodings_total), and get the same bytes.
 */
Test(hardening, model_downloads_share_one_encoding)
{
    const char *wide = "{\"generator\": {\"layers\": [1024, 1024]}, \"discriminator\": {\"layers\": [1024, 1024]}}";
    cr_assert_eq(status_of("PUT", "/v1/tasks/wide", 1, wide), 201);
    double enc0 = tp_metric(srv.port, "mtgan_model_encodings_total");
    cr_assert(!isnan(enc0), "no mtgan_model_encodings_total in /metrics");
    enum { N = 4 };
    pthread_t th[N];
    struct dl d[N];
    memset(d, 0, sizeof d);
    for (int i = 0; i < N; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, download, &d[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        cr_expect_eq(d[i].status, 200, "download %d -> %d", i, d[i].status);
        cr_expect(d[i].len == d[0].len && d[i].body && memcmp(d[i].body, d[0].body, d[0].len) == 0,
                  "download %d differs", i);
    }
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    cr_expect_eq(mtg_blob_decode((const uint8_t *)d[0].body, d[0].len, NULL, &b, &err), MTG_OK, "%s", err.msg);
    cr_expect(b && mtg_blob_find(b, "g") && mtg_blob_find(b, "d"), "the download is not a gan blob");
    mtg_blob_free(b);
    for (int i = 0; i < N; i++)
        free(d[i].body);
    cr_expect_eq(tp_metric(srv.port, "mtgan_model_encodings_total") - enc0, 1, "%d downloads of one version", N);
    /* Another codec is another encoding; the first one stays cached. */
    cr_expect_eq(status_of("GET", "/v1/tasks/wide/models/gan?zlib=0", 0, NULL), 200);
    cr_expect_eq(status_of("GET", "/v1/tasks/wide/models/gan?zlib=1", 0, NULL), 200);
    cr_expect_eq(tp_metric(srv.port, "mtgan_model_encodings_total") - enc0, 2);
    cr_expect_eq(status_of("GET", "/readyz", 0, NULL), 200);
}

static double peak_rss(void)
{
    double v = tp_status_number(srv.port, "peak_rss_bytes");
    cr_assert(!isnan(v));
    return v;
}

/*
 * Finding 4: a 65 KB update decompressed to 64 MiB of f16 (128 MiB as f32)
 * before the edge or task was checked. Now the inflated size is refused
 * against the task's model size before anything is allocated.
 */
Test(hardening, zlib_bomb_is_refused_before_inflating)
{
    register_edge("e1", "digit-0");
    /* 16 Mi zeros as f16: 32 MiB raw, 64 MiB decoded, about 32 KB with zlib; under the 64 MiB body limit. */
    struct mtg_blob *b = mtg_blob_new(NULL);
    uint32_t big = 16u << 20, one = 1;
    cr_assert_not_null(mtg_blob_add_alloc(b, "g", 1, &big, MTG_DTYPE_F16, NULL));
    cr_assert_not_null(mtg_blob_add_alloc(b, "d", 1, &one, MTG_DTYPE_F16, NULL));
    uint8_t *bomb = NULL;
    size_t len = 0;
    cr_assert_eq(mtg_blob_encode(b, MTG_BLOB_ZLIB, &bomb, &len, NULL), MTG_OK);
    mtg_blob_free(b);
    cr_assert_lt(len, 1u << 20, "the bomb is %zu bytes", len);
    const char *hdr[] = {"Content-Type: " "application/x-mtgan-blob", AUTH, NULL};
    double before = peak_rss();
    for (int i = 0; i < 4; i++) {
        struct tp_resp r;
        cr_assert_eq(tp_http(srv.port, "POST", "/v1/edges/e1/updates/digit-0?round=1&steps=1", hdr, bomb, len, &r), 0);
        char msg[512] = "";
        cr_expect_eq(r.status, 413, "bomb %d -> %d %s", i, r.status, r.body);
        cr_expect(tp_is_error(&r, msg, sizeof msg) && strstr(msg, "limit"), "message: %s", msg);
        tp_resp_free(&r);
        /* An unknown edge gets its 404 without the body being inflated at all. */
        cr_assert_eq(tp_http(srv.port, "POST", "/v1/edges/nobody/updates/digit-0?round=1", hdr, bomb, len, &r), 0);
        cr_expect_eq(r.status, 404);
        tp_resp_free(&r);
    }
    free(bomb);
    double grew = peak_rss() - before;
    cr_log_info("peak RSS %.1f MiB before, +%.1f MiB after 8 bombs", before / (1 << 20), grew / (1 << 20));
    cr_expect_lt(grew, 32.0 * (1 << 20), "peak RSS grew by %.0f MiB over 8 bombs", grew / (1 << 20));
}

static int n_tasks(void)
{
    cJSON *o = tp_get_json(srv.port, "/v1/tasks");
    cr_assert_not_null(o);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "tasks"));
    cJSON_Delete(o);
    return n;
}

/*
 * Finding 6: every unknown task id in a registration created a task (32 per
 * request), and deleted tasks were never freed. Now edges create no task
 * unless lifelong.edges_may_create_tasks, and DELETE frees the models.
 */
Test(hardening, registration_creates_no_tasks_and_delete_frees)
{
    char body[4096] = "{\"id\": \"junk\", \"tasks\": [";
    for (int i = 0; i < 32; i++) {
        size_t l = strlen(body);
        snprintf(body + l, sizeof body - l, "%s{\"id\": \"made-up-%d\", \"samples\": 5}", i ? ", " : "", i);
    }
    strncat(body, "]}", sizeof body - strlen(body) - 1);
    int before = n_tasks();
    double bytes0 = tp_metric(srv.port, "mtgan_model_bytes");
    struct tp_resp r;
    cr_expect_eq(call("POST", "/v1/edges", 1, body, &r), 404, "registration with 32 unknown tasks: %s", r.body);
    cr_expect(strstr(r.body, "edges_may_create_tasks"), "the refusal does not say why: %s", r.body);
    tp_resp_free(&r);
    cr_expect_eq(n_tasks(), before, "tasks were created by a registration");
    cr_expect_eq(tp_metric(srv.port, "mtgan_model_bytes"), bytes0);

    const char *big = "{\"generator\": {\"layers\": [512, 512]}, \"discriminator\": {\"layers\": [512, 512]}}";
    cr_assert_eq(status_of("PUT", "/v1/tasks/big", 1, big), 201);
    double bytes1 = tp_metric(srv.port, "mtgan_model_bytes");
    cr_assert_gt(bytes1 - bytes0, 2e6, "the new task's models take %g bytes", bytes1 - bytes0);
    cr_assert_eq(status_of("DELETE", "/v1/tasks/big", 1, NULL), 200);
    cr_expect_eq(tp_metric(srv.port, "mtgan_model_bytes"), bytes0, "DELETE did not free the task's models");
    cr_expect_eq(status_of("GET", "/v1/tasks/big/models/gan", 0, NULL), 404);
    cr_expect_eq(status_of("PUT", "/v1/tasks/big", 1, big), 409, "a deleted id was reused");
}

/* Also found: the edge's own sample count (its weight) was trusted up to 1e9; samples?n=4096 cost seconds. */
Test(hardening, samples_and_n_are_capped)
{
    struct tp_resp r;
    const char *body = "{\"id\": \"heavy\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 1000000000}]}";
    cr_assert_eq(call("POST", "/v1/edges", 1, body, &r), 201);
    cJSON *o = tp_json(&r);
    cJSON *t0 = o ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "tasks"), 0) : NULL;
    cr_expect_eq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t0, "samples")), 1000000,
                 "samples kept: %s", r.body);
    cJSON_Delete(o);
    tp_resp_free(&r);
    cr_expect_eq(status_of("GET", "/v1/tasks/digit-0/samples?n=4096&format=blob", 0, NULL), 400,
                 "n above limits.max_sample_rows (2048)");
    cr_expect_eq(status_of("GET", "/v1/tasks/digit-0/samples?n=16&format=blob", 0, NULL), 200);
}

/* Finding 7: 1024 slots and expired edges never removed. A short expiry, 1024 junk edges, then a real one. */
static void start_expiring(void) { start_with(",\n \"limits\": {\"edge_expiry_ms\": 200}"); }

TestSuite(hardening_edges, .init = start_expiring, .fini = stop, .timeout = 120);

Test(hardening_edges, expired_edges_give_up_their_slots)
{
    char body[160], id[32];
    for (int i = 0; i < 1024; i++) {
        snprintf(id, sizeof id, "junk-%d", i);
        snprintf(body, sizeof body, "{\"id\": \"%s\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 1}]}", id);
        cr_assert_eq(status_of("POST", "/v1/edges", 1, body), 201, "junk edge %d", i);
    }
    double t0 = tp_now_s();
    while (tp_metric(srv.port, "mtgan_edges_alive") != 0 && tp_now_s() - t0 < 30)
        tp_sleep_ms(100);
    cr_assert_eq(tp_metric(srv.port, "mtgan_edges_alive"), 0, "the junk edges never expired");
    struct tp_resp r;
    cr_expect_eq(call("POST", "/v1/edges", 1, "{\"id\": \"real\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 9}]}", &r),
                 201, "a real edge after 1024 expired ones: %s", r.body);
    tp_resp_free(&r);
    cr_expect_eq(status_of("POST", "/v1/edges/real/heartbeat", 1, NULL), 200);
    /* An evicted edge that comes back registers again. */
    cr_expect_eq(status_of("POST", "/v1/edges", 1, "{\"id\": \"junk-0\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 1}]}"),
                 201);
}

/* Header timeout: a connection that never finishes its headers is closed well before the idle timeout (60 s). */
static void start_short_headers(void) { start_with(",\n \"limits\": {\"header_timeout_s\": 1}"); }

TestSuite(hardening_conn, .init = start_short_headers, .fini = stop, .timeout = 60);

Test(hardening_conn, slow_headers_are_cut_off)
{
    int fd = slow_socket("127.0.0.3", srv.port);
    cr_assert_geq(fd, 0);
    cr_expect(closed_by_server(fd, 20000), "a connection without its headers is still open after 20 s");
    close(fd);
    cr_expect_eq(status_of("GET", "/healthz", 0, NULL), 200);
}

/* ---- finding 5: checkpoints ---- */

static void fini_only(void) { stop(); }

TestSuite(hardening_ckpt, .fini = fini_only, .timeout = 240);

static void ckpt_server(const char *tasks_json)
{
    char text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"log_level\": \"info\", \"state_dir\": \"%s/state\", \"checkpoint_every\": 0,\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0]}%s,\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": 1000000}}\n",
             dir, tasks_json);
    cr_assert_eq(tp_write_file(cfg, text), 0);
}

static void restart(void)
{
    if (srv.pid > 0) {
        int st = tp_stop(srv.pid, SIGTERM, 120000);
        cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status %#x (see %s)", st, srv.log);
    }
    cr_assert_eq(tp_server_start(&srv, cfg, dir, NULL), 0, "server did not start (see %s)", srv.log);
}

/*
 * Saving had no cap, loading a fixed 64 Mi values: a checkpoint over that was
 * written at SIGTERM and refused at restart, which started fresh. Now both
 * use the limit the tasks' configured sizes give. The cheapest model over the
 * old limit: sgda keeps only G, saved with its Adam moments and EMA (4 x 17.2 M
 * values, 275 MB).
 */
Test(hardening_ckpt, wide_checkpoint_is_written_and_resumed)
{
    ckpt_server(",\n \"protocol\": \"sgda\", \"tasks\": [{\"id\": \"digit-0\", \"generator\": {\"layers\": [4100, 4100]}}]");
    restart();
    /* Only a resumed server knows this task: it exists nowhere in the config. */
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(srv.port, "PUT", "/v1/tasks/marker", hdr, "{}", 2, &r), 0);
    cr_assert_eq(r.status, 201);
    tp_resp_free(&r);
    restart();
    cr_expect_eq(status_of("GET", "/v1/tasks/marker", 0, NULL), 200, "the wide checkpoint was not resumed (see %s)",
                 srv.log);
    char *log = tp_read_file(srv.log, NULL);
    cr_expect(log && strstr(log, "resumed from") && !strstr(log, "NO USABLE CHECKPOINT"), "see %s", srv.log);
    free(log);
}

static char *read_state(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/state/%s", dir, name);
    return tp_read_file(path, len);
}

/*
 * A load that failed started fresh at generation 1: it overwrote ckpt-1.blob
 * and rotated the unusable state.json away. Now the unusable files stay,
 * byte for byte, and the new run writes a new generation beside them.
 */
Test(hardening_ckpt, failed_load_keeps_every_checkpoint)
{
    ckpt_server("");
    restart();
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(srv.port, "PUT", "/v1/tasks/marker", hdr, "{}", 2, &r), 0);
    tp_resp_free(&r);
    restart(); /* ckpt-1.blob + state.json written at SIGTERM; resumed */
    cr_assert_eq(status_of("GET", "/v1/tasks/marker", 0, NULL), 200);
    cr_assert_eq(tp_stop(srv.pid, SIGTERM, 60000) != -1, 1);
    srv.pid = 0;
    /* Break the newest blob (its CRC no longer matches) and keep what the files hold. */
    size_t blob_len = 0, state_len = 0;
    char *blob = read_state("ckpt-2.blob", &blob_len), *state = read_state("state.json", &state_len);
    cr_assert(blob && state && blob_len > 64, "no ckpt-2.blob / state.json after two runs");
    blob[blob_len / 2] ^= 0x5a;
    char path[512];
    snprintf(path, sizeof path, "%s/state/ckpt-2.blob", dir);
    cr_assert_eq(tp_write_bytes(path, blob, blob_len), 0);
    /* The older checkpoint (state.prev.json) would be resumed instead: break its blob too, so that nothing loads. */
    size_t prev_len = 0, l1 = 0;
    char *prev = read_state("state.prev.json", &prev_len), *b1 = read_state("ckpt-1.blob", &l1);
    cr_assert(prev && b1 && l1 > 64, "no state.prev.json / ckpt-1.blob after two runs");
    b1[l1 / 2] ^= 0x5a;
    snprintf(path, sizeof path, "%s/state/ckpt-1.blob", dir);
    cr_assert_eq(tp_write_bytes(path, b1, l1), 0);
    restart(); /* nothing loads: a fresh start */
    cr_expect_eq(status_of("GET", "/v1/tasks/marker", 0, NULL), 404);
    restart(); /* the fresh run's checkpoint at SIGTERM, then resumed */
    size_t l2 = 0;
    char *blob_after = read_state("ckpt-2.blob", &l2);
    cr_expect(blob_after && l2 == blob_len && memcmp(blob_after, blob, blob_len) == 0,
              "the unusable ckpt-2.blob was overwritten or deleted");
    size_t l1b = 0;
    char *b1_after = read_state("ckpt-1.blob", &l1b);
    cr_expect(b1_after && l1b == l1 && memcmp(b1_after, b1, l1) == 0, "the unusable ckpt-1.blob was overwritten or deleted");
    size_t lp = 0;
    char *prev_kept = read_state("state.prev.json.unusable-2", &lp);
    cr_expect(prev_kept && lp == prev_len && memcmp(prev_kept, prev, prev_len) == 0,
              "the unusable state.prev.json was not kept");
    free(b1_after);
    free(prev_kept);
    free(b1);
    char name[64];
    snprintf(name, sizeof name, "state.json.unusable-2");
    size_t ls = 0;
    char *kept = read_state(name, &ls);
    cr_expect(kept && ls == state_len && memcmp(kept, state, state_len) == 0, "the unusable state.json was not kept");
    char *log = tp_read_file(srv.log, NULL);
    cr_expect(log && strstr(log, "NO USABLE CHECKPOINT"), "the fresh start was not logged loudly (see %s)", srv.log);
    free(log);
    free(blob);
    free(blob_after);
    free(state);
    free(prev);
    free(kept);
}
