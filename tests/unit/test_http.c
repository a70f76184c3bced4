/*
 * test_http.c - the HTTP plumbing end to end on 127.0.0.1: a real
 * mtg_http server on a free port, driven by mtg_client (and by a raw
 * socket where the client would hide what is under test).
 */
#include <arpa/inet.h>
#include <cJSON.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "edge/client.h"
#include "server/http.h"

/* ---- test routes ---- */

struct fixture {
    atomic_int put_calls;
    atomic_int flaky_left; /* 503s still to serve */
};

static struct fixture fx;

static int h_health(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    (void)req;
    return mtg_http_resp_json_str(resp, 200, "{\"ok\":true}");
}

static int h_model(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    const char *kind = mtg_http_param(req, "kind");
    if (strcmp(kind, "blob") == 0) {
        if (mtg_http_etag_matches(req, "\"v7\""))
            return mtg_http_resp_not_modified(resp, "\"v7\"");
        static const char bytes[] = "MTGB\x01\x00\x02";
        int rc = mtg_http_resp_blob(resp, 200, (void *)bytes, sizeof bytes - 1, 0);
        return rc ? rc : mtg_http_resp_header(resp, "ETag", "\"v7\"");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", mtg_http_param(req, "task"));
    cJSON_AddStringToObject(o, "kind", kind);
    const char *n = mtg_http_query(req, "n");
    cJSON_AddStringToObject(o, "n", n ? n : "(none)");
    const char *f = mtg_http_query(req, "flag");
    cJSON_AddStringToObject(o, "flag", f ? (f[0] ? f : "(empty)") : "(none)");
    cJSON_AddStringToObject(o, "remote", mtg_http_remote(req));
    return mtg_http_resp_json(resp, 200, o);
}

static int h_put_task(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct fixture *f = ctx;
    atomic_fetch_add(&f->put_calls, 1);
    size_t len;
    mtg_http_body(req, &len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "len", (double)len);
    return mtg_http_resp_json(resp, 200, o);
}

static int h_flaky(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct fixture *f = ctx;
    (void)req;
    if (atomic_fetch_sub(&f->flaky_left, 1) > 0)
        return mtg_http_resp_error(resp, 503, "unavailable", "warming up");
    return mtg_http_resp_json_str(resp, 200, "{\"ok\":true}");
}

static int h_big(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    const char *q = mtg_http_query(req, "n");
    char *end = NULL;
    long n = q ? strtol(q, &end, 10) : -1;
    if (!q || *end || n < 0 || n > (16 << 20))
        return mtg_http_resp_error(resp, 400, "invalid_argument", "bad n=%s", q ? q : "");
    unsigned char *b = malloc((size_t)n + 1);
    if (!b)
        return MTG_ENOMEM;
    memset(b, 'x', (size_t)n);
    return mtg_http_resp_blob(resp, 200, b, (size_t)n, 1);
}

static int h_echo(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    size_t len;
    const void *b = mtg_http_body(req, &len);
    return mtg_http_resp_blob(resp, 200, (void *)b, len, 0);
}

static int h_fail(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return MTG_ENOTFOUND;
}

static int h_metrics(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    (void)req;
    static const char t[] = "# TYPE x counter\nx 1\n";
    return mtg_http_resp_text(resp, 200, t, sizeof t - 1);
}

static const struct mtg_http_route routes[] = {
    {"GET", "/healthz", h_health, NULL, 0, 0},
    {"GET", "/metrics", h_metrics, NULL, 0, 0},
    {"GET", "/v1/tasks/{task}/models/{kind}", h_model, NULL, 0, 0},
    {"PUT", "/v1/tasks/{task}", h_put_task, &fx, MTG_HTTP_MUTATING, 1024},
    {"DELETE", "/v1/tasks/{task}", h_put_task, &fx, MTG_HTTP_MUTATING, 0},
    {"GET", "/v1/flaky", h_flaky, &fx, 0, 0},
    {"GET", "/v1/big", h_big, NULL, 0, 0},
    {"POST", "/v1/echo", h_echo, NULL, MTG_HTTP_MUTATING, 1u << 20},
    {"GET", "/v1/fail", h_fail, NULL, 0, 0},
};

#define TOKEN "s3cret-token"

static struct mtg_http_server *start(const char *token_file)
{
    struct mtg_http_config cfg = {.bind = "127.0.0.1", .port = 0, .token_file = token_file,
                                  .timeout_s = 5};
    struct mtg_http_server *srv = NULL;
    struct mtg_err err = {0};
    atomic_store(&fx.put_calls, 0);
    atomic_store(&fx.flaky_left, 0);
    int rc = mtg_http_server_new(&cfg, routes, sizeof routes / sizeof routes[0], &srv, &err);
    cr_assert_eq(rc, MTG_OK, "server: %s", err.msg);
    cr_assert_gt(mtg_http_server_port(srv), 0u);
    return srv;
}

static struct mtg_client *client_for(unsigned port, const char *token, const atomic_int *stop)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    struct mtg_client_opts o = {.base_url = url, .token = token, .stop = stop, .max_attempts = 1,
                                .seed = 7};
    struct mtg_client *c = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK, "client: %s", err.msg);
    return c;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *write_token_file(void)
{
    static char path[] = "/tmp/mtg_http_token_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char body[] = "  " TOKEN "\n";
    cr_assert_eq(write(fd, body, sizeof body - 1), (ssize_t)(sizeof body - 1));
    close(fd);
    return path;
}

/* Sends raw bytes and reads the whole reply (the request asks to close). */
static char *raw_http(unsigned port, const char *req, size_t req_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t off = 0;
    while (off < req_len) {
        ssize_t n = send(fd, req + off, req_len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap + 1);
    ssize_t n;
    while (len < cap && (n = recv(fd, buf + len, cap - len, 0)) > 0)
        len += (size_t)n;
    close(fd);
    return buf;
}

/* Tests log errors only, unless MTGAN_LOG_LEVEL asks for more while debugging. */
static void quiet(void)
{
    enum mtg_log_level lv = MTG_LOG_ERROR;
    const char *env = getenv("MTGAN_LOG_LEVEL");
    if (env)
        mtg_log_parse_level(env, &lv);
    mtg_log_set_level(lv);
}

/* ---- tests ---- */

TestSuite(http, .timeout = 30);

Test(http, routing_params_and_query)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    struct mtg_client *c = client_for(mtg_http_server_port(srv), NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};

    cr_assert_eq(mtg_client_request(c, "GET", "/healthz", NULL, 0, NULL, NULL, &r, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq((char *)r.body, "{\"ok\":true}");
    cr_assert_str_eq(r.content_type, "application/json");
    mtg_client_resp_deinit(&r);

    cr_assert_eq(mtg_client_request(c, "GET", "/v1/tasks/digit-3/models/generator?n=64%2B1&flag",
                                    NULL, 0, NULL, NULL, &r, &err),
                 MTG_OK, "%s", err.msg);
    cJSON *o = cJSON_Parse((char *)r.body);
    cr_assert_not_null(o);
    cr_assert_str_eq(cJSON_GetObjectItem(o, "task")->valuestring, "digit-3");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "kind")->valuestring, "generator");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "n")->valuestring, "64+1");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "flag")->valuestring, "(empty)");
    cr_assert_str_eq(cJSON_GetObjectItem(o, "remote")->valuestring, "127.0.0.1");
    cJSON_Delete(o);
    mtg_client_resp_deinit(&r);

    /* Metrics content type. */
    cr_assert_eq(mtg_client_request(c, "GET", "/metrics", NULL, 0, NULL, NULL, &r, &err), MTG_OK);
    cr_assert_str_eq(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    mtg_client_resp_deinit(&r);

    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, not_found_method_and_json_error_shape)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    unsigned port = mtg_http_server_port(srv);
    struct mtg_client *c = client_for(port, NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};

    cr_assert_eq(mtg_client_request(c, "GET", "/nope", NULL, 0, NULL, NULL, &r, &err),
                 MTG_ENOTFOUND);
    cr_assert_eq(r.status, 404);
    cJSON *o = cJSON_Parse((char *)r.body);
    cJSON *e = cJSON_GetObjectItem(o, "error");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "code")));
    cr_assert_str_eq(cJSON_GetObjectItem(e, "code")->valuestring, "not_found");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    cJSON_Delete(o);
    cr_assert(strstr(err.msg, "not_found"), "err: %s", err.msg);
    cr_assert(strstr(err.msg, "/nope"), "err: %s", err.msg);
    mtg_client_resp_deinit(&r);

    /* Trailing slash and empty segments are not the same path. */
    cr_assert_eq(mtg_client_request(c, "GET", "/healthz/", NULL, 0, NULL, NULL, &r, &err),
                 MTG_ENOTFOUND);
    mtg_client_resp_deinit(&r);

    cr_assert_eq(mtg_client_request(c, "POST", "/healthz", "{}", 2, "application/json", NULL, &r,
                                    &err),
                 MTG_EINVAL);
    cr_assert_eq(r.status, 405);
    cr_assert(strstr((char *)r.body, "method_not_allowed"));
    mtg_client_resp_deinit(&r);

    const char req[] = "POST /v1/tasks/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                       "Content-Length: 0\r\n\r\n";
    char *raw = raw_http(port, req, sizeof req - 1);
    cr_assert(strstr(raw, "405"), "%s", raw);
    cr_assert(strstr(raw, "Allow: PUT, DELETE"), "%s", raw);
    free(raw);

    /* A handler returning an MTG_E* code without a response. */
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/fail", NULL, 0, NULL, NULL, &r, &err),
                 MTG_ENOTFOUND);
    cr_assert(strstr((char *)r.body, "\"code\":\"not_found\""), "%s", (char *)r.body);
    mtg_client_resp_deinit(&r);

    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, path_tricks_rejected)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    struct mtg_client *c = client_for(mtg_http_server_port(srv), NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};
    char longp[200];
    snprintf(longp, sizeof longp, "/v1/tasks/%064d/models/generator", 1);
    char okp[200];
    snprintf(okp, sizeof okp, "/v1/tasks/%063d/models/generator", 1);
    const char *bad[] = {
        "/v1/tasks/../models/generator",   "/v1/tasks/%2e%2e/models/generator",
        "/v1/tasks/./models/generator",    "/v1/tasks/%2E/models/generator",
        "/v1/tasks/a%20b/models/generator", "/v1/tasks/a%00/models/generator",
        "/v1/tasks/%c3%a9/models/generator", longp,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = mtg_client_request(c, "GET", bad[i], NULL, 0, NULL, NULL, &r, &err);
        cr_assert_eq(rc, MTG_EINVAL, "%s -> %d", bad[i], rc);
        cr_assert_eq(r.status, 400, "%s -> %ld", bad[i], r.status);
        cr_assert(strstr((char *)r.body, "invalid_argument"));
        mtg_client_resp_deinit(&r);
    }
    /* An encoded slash changes the segment count: no such route. */
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/tasks/a%2F..%2Fb/models/generator", NULL, 0,
                                    NULL, NULL, &r, &err),
                 MTG_ENOTFOUND);
    mtg_client_resp_deinit(&r);
    cr_assert_eq(mtg_client_request(c, "GET", okp, NULL, 0, NULL, NULL, &r, &err), MTG_OK, "%s",
                 err.msg);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, body_limits)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    unsigned port = mtg_http_server_port(srv);
    struct mtg_client *c = client_for(port, NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};
    size_t big = 3u << 20;
    char *body = malloc(big);
    memset(body, 'a', big);

    cr_assert_eq(mtg_client_request(c, "PUT", "/v1/tasks/t1", body, 1024, "application/json",
                                    NULL, &r, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_str_eq((char *)r.body, "{\"len\":1024}");
    mtg_client_resp_deinit(&r);
    cr_assert_eq(atomic_load(&fx.put_calls), 1);

    cr_assert_eq(mtg_client_request(c, "PUT", "/v1/tasks/t1", body, 1025, "application/json",
                                    NULL, &r, &err),
                 MTG_ETOOBIG, "%s", err.msg);
    cr_assert_eq(r.status, 413);
    cr_assert(strstr((char *)r.body, "\"too_large\""));
    mtg_client_resp_deinit(&r);

    /* Large enough that the client asks for 100-continue and never uploads. */
    cr_assert_eq(mtg_client_request(c, "POST", "/v1/echo", body, big, "application/x-mtgan-blob",
                                    NULL, &r, &err),
                 MTG_ETOOBIG, "%s", err.msg);
    mtg_client_resp_deinit(&r);

    /* A body where none is expected. */
    cr_assert_eq(mtg_client_request(c, "DELETE", "/v1/tasks/t1", body, 4096, NULL, NULL, &r, &err),
                 MTG_ETOOBIG, "%s", err.msg);
    mtg_client_resp_deinit(&r);
    cr_assert_eq(atomic_load(&fx.put_calls), 1, "a handler ran for a rejected body");

    /* Under the limit, the echo round-trips the bytes. */
    cr_assert_eq(mtg_client_request(c, "POST", "/v1/echo", body, 600000, "application/x-mtgan-blob",
                                    NULL, &r, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(r.len, 600000u);
    cr_assert_str_eq(r.content_type, "application/x-mtgan-blob");
    mtg_client_resp_deinit(&r);

    /* Chunked upload of unknown length: refused once it passes the limit. */
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "PUT /v1/tasks/t2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        n += snprintf(req + n, sizeof req - (size_t)n, "258\r\n");
        memset(req + n, 'b', 600);
        n += 600;
        n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    }
    n += snprintf(req + n, sizeof req - (size_t)n, "0\r\n\r\n");
    char *raw = raw_http(port, req, (size_t)n);
    cr_assert(strncmp(raw, "HTTP/1.1 413", 12) == 0, "%s", raw);
    free(raw);
    cr_assert_eq(atomic_load(&fx.put_calls), 1);

    struct mtg_http_stats st;
    mtg_http_server_stats(srv, &st);
    cr_assert_geq(st.rejected, 4u);
    cr_assert_geq(st.requests[4], 4u);

    free(body);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, auth)
{
    quiet();
    char *tf = write_token_file();
    struct mtg_http_server *srv = start(tf);
    unsigned port = mtg_http_server_port(srv);
    struct mtg_client_resp r;
    struct mtg_err err = {0};

    struct mtg_client *none = client_for(port, NULL, NULL);
    cr_assert_eq(mtg_client_request(none, "PUT", "/v1/tasks/t", "{}", 2, "application/json", NULL,
                                    &r, &err),
                 MTG_EAUTH);
    cr_assert_eq(r.status, 401);
    cr_assert(strstr((char *)r.body, "\"unauthorized\""));
    mtg_client_resp_deinit(&r);
    /* Reads need no token. */
    cr_assert_eq(mtg_client_request(none, "GET", "/healthz", NULL, 0, NULL, NULL, &r, &err),
                 MTG_OK);
    mtg_client_resp_deinit(&r);
    mtg_client_free(none);

    struct mtg_client *wrong = client_for(port, TOKEN "x", NULL);
    cr_assert_eq(mtg_client_request(wrong, "PUT", "/v1/tasks/t", "{}", 2, "application/json",
                                    NULL, &r, &err),
                 MTG_EAUTH);
    mtg_client_resp_deinit(&r);
    mtg_client_free(wrong);

    struct mtg_client *shorter = client_for(port, "s3cret", NULL);
    cr_assert_eq(mtg_client_request(shorter, "PUT", "/v1/tasks/t", "{}", 2, "application/json",
                                    NULL, &r, &err),
                 MTG_EAUTH);
    mtg_client_resp_deinit(&r);
    mtg_client_free(shorter);

    struct mtg_client *good = client_for(port, TOKEN, NULL);
    cr_assert_eq(mtg_client_request(good, "PUT", "/v1/tasks/t", "{}", 2, "application/json", NULL,
                                    &r, &err),
                 MTG_OK, "%s", err.msg);
    cr_assert_eq(r.status, 200);
    mtg_client_resp_deinit(&r);
    mtg_client_free(good);
    cr_assert_eq(atomic_load(&fx.put_calls), 1);

    const char req[] = "PUT /v1/tasks/t HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                       "Content-Length: 0\r\n\r\n";
    char *raw = raw_http(port, req, sizeof req - 1);
    cr_assert(strstr(raw, "HTTP/1.1 401"), "%s", raw);
    cr_assert(strstr(raw, "WWW-Authenticate: Bearer realm=\"mtgan\""), "%s", raw);
    free(raw);
    const char req2[] = "PUT /v1/tasks/t HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                        "Authorization: Bearer nope\r\nContent-Length: 0\r\n\r\n";
    raw = raw_http(port, req2, sizeof req2 - 1);
    cr_assert(strstr(raw, "error=\"invalid_token\""), "%s", raw);
    free(raw);

    mtg_http_server_free(srv);
    unlink(tf);
}

Test(http, blob_etag_304)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    struct mtg_client *c = client_for(mtg_http_server_port(srv), NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};

    cr_assert_eq(mtg_client_request(c, "GET", "/v1/tasks/t/models/blob", NULL, 0, NULL, NULL, &r,
                                    &err),
                 MTG_OK);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, 7u);
    cr_assert_eq(memcmp(r.body, "MTGB\x01\x00\x02", 7), 0);
    cr_assert_str_eq(r.content_type, "application/x-mtgan-blob");
    cr_assert_str_eq(r.etag, "\"v7\"");
    char inm[160];
    snprintf(inm, sizeof inm, "If-None-Match: W/\"v6\", %s", r.etag);
    mtg_client_resp_deinit(&r);

    const char *hdr[] = {inm, NULL};
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/tasks/t/models/blob", NULL, 0, NULL, hdr, &r,
                                    &err),
                 MTG_OK);
    cr_assert_eq(r.status, 304);
    cr_assert_eq(r.len, 0u);
    cr_assert_str_eq(r.etag, "\"v7\"");
    mtg_client_resp_deinit(&r);

    const char *stale[] = {"If-None-Match: \"v6\"", NULL};
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/tasks/t/models/blob", NULL, 0, NULL, stale, &r,
                                    &err),
                 MTG_OK);
    cr_assert_eq(r.status, 200);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, response_cap)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", mtg_http_server_port(srv));
    struct mtg_client_opts o = {.base_url = url, .max_response = 1000, .max_attempts = 3};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    struct mtg_client_resp r;
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/big?n=1000", NULL, 0, NULL, NULL, &r, &err),
                 MTG_OK, "%s", err.msg);
    mtg_client_resp_deinit(&r);
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/big?n=1001", NULL, 0, NULL, NULL, &r, &err),
                 MTG_ETOOBIG, "%s", err.msg);
    cr_assert_eq(r.attempts, 1);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd); /* nothing listens there now */
    return ntohs(a.sin_port);
}

Test(http, retry_connection_refused)
{
    quiet();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", dead_port());
    struct mtg_client_opts o = {.base_url = url, .max_attempts = 4, .retry_base_ms = 40,
                                .retry_max_ms = 80, .seed = 1};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    struct mtg_client_resp r;
    double t0 = now_s();
    int rc = mtg_client_request(c, "POST", "/v1/edges", "{}", 2, "application/json", NULL, &r,
                                &err);
    double dt = now_s() - t0;
    cr_assert_eq(rc, MTG_ENET, "%d %s", rc, err.msg);
    cr_assert_eq(r.attempts, 4);
    /* Waits: [20,40] + [40,80] + [40,80] ms with equal jitter. */
    cr_assert_geq(dt, 0.100, "dt=%f", dt);
    cr_assert_lt(dt, 1.5, "dt=%f", dt);
    struct mtg_client_stats s;
    mtg_client_stats(c, &s);
    cr_assert_eq(s.requests, 4u);
    cr_assert_eq(s.retries, 3u);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
}

Test(http, retry_503_then_ok)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    atomic_store(&fx.flaky_left, 2);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", mtg_http_server_port(srv));
    struct mtg_client_opts o = {.base_url = url, .max_attempts = 5, .retry_base_ms = 10,
                                .retry_max_ms = 50};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    struct mtg_client_resp r;
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/flaky", NULL, 0, NULL, NULL, &r, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.attempts, 3);
    mtg_client_resp_deinit(&r);

    /* Out of attempts: the last 503 is reported with the server's message. */
    atomic_store(&fx.flaky_left, 10);
    o.max_attempts = 2;
    struct mtg_client *c2;
    cr_assert_eq(mtg_client_new(&o, &c2, &err), MTG_OK);
    cr_assert_eq(mtg_client_request(c2, "GET", "/v1/flaky", NULL, 0, NULL, NULL, &r, &err),
                 MTG_EUNAVAIL);
    cr_assert(strstr(err.msg, "warming up"), "%s", err.msg);
    cr_assert_eq(r.attempts, 2);
    mtg_client_resp_deinit(&r);

    struct mtg_http_stats st;
    mtg_http_server_stats(srv, &st);
    cr_assert_eq(st.requests[5], 4u);
    cr_assert_eq(st.requests[2], 1u);
    cr_assert_gt(st.bytes_out, 0u);
    mtg_client_free(c2);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

static atomic_int stop_flag;

static void *raise_stop(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&stop_flag, 1);
    return NULL;
}

Test(http, stop_aborts_backoff)
{
    quiet();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", dead_port());
    atomic_store(&stop_flag, 0);
    struct mtg_client_opts o = {.base_url = url, .max_attempts = 10, .retry_base_ms = 5000,
                                .retry_max_ms = 5000, .stop = &stop_flag};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    pthread_t th;
    pthread_create(&th, NULL, raise_stop, NULL);
    struct mtg_client_resp r;
    double t0 = now_s();
    int rc = mtg_client_request(c, "GET", "/healthz", NULL, 0, NULL, NULL, &r, &err);
    double dt = now_s() - t0;
    pthread_join(th, NULL);
    cr_assert_eq(rc, MTG_ESTOPPED, "%d %s", rc, err.msg);
    cr_assert_lt(dt, 0.6, "stop took %f s", dt);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
}

Test(http, link_emulation)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", mtg_http_server_port(srv));
    /* 8 Mbit/s = 1 MB/s: 200 kB down costs 0.2 s, plus 2 x 30 ms latency. */
    struct mtg_client_opts o = {.base_url = url, .link_mbps = 8, .link_latency_ms = 30};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    struct mtg_client_resp r;
    double t0 = now_s();
    cr_assert_eq(mtg_client_request(c, "GET", "/v1/big?n=200000", NULL, 0, NULL, NULL, &r, &err),
                 MTG_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert_eq(r.len, 200000u);
    mtg_client_resp_deinit(&r);
    struct mtg_client_stats s;
    mtg_client_stats(c, &s);
    double link = (double)s.link_ns / 1e9;
    /* The link carries whole messages (a few hundred bytes of headers); the counters hold bodies only. */
    double body = 0.060 + 200000.0 * 8 / 8e6;
    cr_assert_geq(link, body, "link %f", link);
    cr_assert_lt(link, body + 1000.0 * 8 / 8e6, "link %f", link);
    cr_assert_geq(dt, 0.26, "dt=%f", dt);
    cr_assert_lt(dt, 2.0, "dt=%f", dt);
    cr_assert_eq(s.bytes_received, 200000u);
    cr_assert_eq(s.bytes_sent, 0u);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

/* Bytes are counted once, as bodies, on both ends: a small POST (sent with its headers) is not counted twice. */
Test(http, client_and_server_count_the_same_body_bytes)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", mtg_http_server_port(srv));
    struct mtg_client_opts o = {.base_url = url};
    struct mtg_client *c;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    static char body[100000];
    const size_t sizes[] = {1000, 70000, 100000};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct mtg_client_resp r;
        cr_assert_eq(mtg_client_request(c, "POST", "/v1/echo", body, sizes[i], "application/x-mtgan-blob", NULL, &r,
                                        &err), MTG_OK, "%s", err.msg);
        total += sizes[i];
        mtg_client_resp_deinit(&r);
    }
    struct mtg_client_stats s;
    mtg_client_stats(c, &s);
    struct mtg_http_stats hs;
    mtg_http_server_stats(srv, &hs);
    cr_assert_eq(s.bytes_sent, total, "client counted %llu of %zu", (unsigned long long)s.bytes_sent, total);
    cr_assert_eq(hs.bytes_in, s.bytes_sent);
    cr_assert_eq(hs.bytes_out, s.bytes_received);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, counters_and_keepalive)
{
    quiet();
    struct mtg_http_server *srv = start(NULL);
    struct mtg_client *c = client_for(mtg_http_server_port(srv), NULL, NULL);
    struct mtg_client_resp r;
    struct mtg_err err = {0};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(mtg_client_request(c, "POST", "/v1/echo", "hello", 5, "text/plain", NULL, &r,
                                        &err),
                     MTG_OK, "%s", err.msg);
        mtg_client_resp_deinit(&r);
    }
    struct mtg_http_stats st;
    mtg_http_server_stats(srv, &st);
    cr_assert_eq(st.requests[2], 5u);
    cr_assert_eq(st.bytes_in, 25u);
    cr_assert_eq(st.bytes_out, 25u);
    /* One kept-alive connection served all five. */
    cr_assert_eq(st.connections, 1u);
    struct mtg_client_stats cs;
    mtg_client_stats(c, &cs);
    cr_assert_eq(cs.requests, 5u);
    cr_assert_eq(cs.retries, 0u);
    cr_assert_eq(cs.link_ns, 0u);
    mtg_client_free(c);
    mtg_http_server_free(srv);
}

Test(http, config_errors)
{
    mtg_log_set_level(MTG_LOG_OFF);
    struct mtg_http_server *srv = NULL;
    struct mtg_err err = {0};
    struct mtg_http_config cfg = {.bind = "localhost"};
    cr_assert_eq(mtg_http_server_new(&cfg, routes, 1, &srv, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "localhost"), "%s", err.msg);
    struct mtg_http_config cfg2 = {.token_file = "/nonexistent/token"};
    cr_assert_eq(mtg_http_server_new(&cfg2, routes, 1, &srv, &err), MTG_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/token"), "%s", err.msg);
    struct mtg_http_config cfg4 = {.token = "REPLACE-ME-with-a-random-token"};
    cr_assert_eq(mtg_http_server_new(&cfg4, routes, 1, &srv, &err), MTG_EINVAL, "the manifests' placeholder token");
    cr_assert(strstr(err.msg, "placeholder"), "%s", err.msg);
    struct mtg_http_route bad = {"GET", "/v1/{a}x", h_health, NULL, 0, 0};
    struct mtg_http_config cfg3 = {0};
    cr_assert_eq(mtg_http_server_new(&cfg3, &bad, 1, &srv, &err), MTG_EINVAL);
    cr_assert_null(srv);
    struct mtg_client *c = NULL;
    struct mtg_client_opts o = {.base_url = "ftp://x"};
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_EINVAL);
}

/* Key generation is slow under valgrind (which traces openssl too). */
Test(http, tls_round_trip, .timeout = 120)
{
    quiet();
    char dir[] = "/tmp/mtg_tls_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cmd[512], cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    if (system(cmd) != 0)
        cr_skip_test("openssl not available to make a test certificate");
    struct mtg_http_config cfg = {.tls_cert_file = cert, .tls_key_file = key};
    struct mtg_http_server *srv = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_http_server_new(&cfg, routes, sizeof routes / sizeof routes[0], &srv, &err),
                 MTG_OK, "%s", err.msg);
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%u", mtg_http_server_port(srv));
    struct mtg_client_opts o = {.base_url = url, .ca_file = cert, .max_attempts = 1};
    struct mtg_client *c;
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    struct mtg_client_resp r;
    cr_assert_eq(mtg_client_request(c, "GET", "/healthz", NULL, 0, NULL, NULL, &r, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(r.status, 200);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    /* Without the CA the server is not trusted. */
    o.ca_file = NULL;
    cr_assert_eq(mtg_client_new(&o, &c, &err), MTG_OK);
    cr_assert_eq(mtg_client_request(c, "GET", "/healthz", NULL, 0, NULL, NULL, &r, &err), MTG_ENET);
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    mtg_http_server_free(srv);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}
