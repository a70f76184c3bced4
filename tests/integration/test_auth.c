/*
 * test_auth.c - bearer-token auth (DESIGN §7) on a real mtgan-server
 * started with auth.token_file: mutating routes answer 401 without a token
 * or with a wrong one and change nothing, succeed with the right one; GETs
 * need no token; an mtgan-edge with the right --token-file trains, one
 * with a wrong token fails to register and exits non-zero.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"

#define TOKEN "it-s3cret-T0ken"

static struct tp_server srv;
static char dir[256], cfg[320], good_tok[320], bad_tok[320];

static void start(void)
{
    char text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(good_tok, sizeof good_tok, "%s/token", dir);
    snprintf(bad_tok, sizeof bad_tok, "%s/wrong-token", dir);
    /* A trailing newline, as a mounted k8s Secret has. */
    cr_assert_eq(tp_write_file(good_tok, TOKEN "\n"), 0);
    cr_assert_eq(tp_write_file(bad_tok, "not-" TOKEN "\n"), 0);
    snprintf(text, sizeof text,
             "{\"log_level\": \"warn\", \"state_dir\": \"%s/state\", \"checkpoint_every\": 0,\n"
             " \"auth\": {\"token_file\": \"%s\"},\n"
             " \"data\": {\"dataset\": \"digits\", \"tasks\": [0]},\n"
             " \"n_edges\": 1, \"edges\": [{\"speed_factor\": 1, \"link_mbps\": 0, \"link_latency_ms\": 0}],\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 5, \"round_deadline_ms\": 5000}},\n"
             " \"train\": {\"eval_every\": 0, \"max_steps\": 1000000}}\n",
             dir, good_tok);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    cr_assert_eq(tp_server_start(&srv, cfg, dir, NULL), 0, "server did not start (see %s)", srv.log);
}

static void stop(void)
{
    if (srv.pid > 0)
        tp_stop(srv.pid, SIGTERM, 5000);
    tp_cleanup();
}

TestSuite(auth, .init = start, .fini = stop, .timeout = 90);

enum tok { NONE, WRONG, RIGHT, NOT_BEARER };

static struct tp_resp call(enum tok tok, const char *method, const char *path, const char *json)
{
    const char *hdr[3] = {"Content-Type: application/json", NULL, NULL};
    hdr[1] = tok == WRONG   ? "Authorization: Bearer not-" TOKEN
             : tok == RIGHT ? "Authorization: Bearer " TOKEN
             : tok == NOT_BEARER ? "Authorization: Basic " TOKEN
                                 : NULL;
    struct tp_resp r;
    cr_assert_eq(tp_http(srv.port, method, path, hdr, json, json ? strlen(json) : 0, &r), 0, "%s %s", method, path);
    return r;
}

static void expect_401(enum tok tok, const char *method, const char *path, const char *json)
{
    struct tp_resp r = call(tok, method, path, json);
    static const char *const names[] = {"no token", "a wrong token", "", "a Basic credential"};
    cr_expect_eq(r.status, 401, "%s %s with %s: HTTP %d %s", method, path, names[tok], r.status, r.body);
    cr_expect(tp_is_error(&r, NULL, 0), "%s %s: 401 body is not an error object: %s", method, path, r.body);
    tp_resp_free(&r);
}

static int status_of(enum tok tok, const char *method, const char *path, const char *json)
{
    struct tp_resp r = call(tok, method, path, json);
    int s = r.status;
    tp_resp_free(&r);
    return s;
}

Test(auth, mutating_routes_need_the_token)
{
    const char *task = "{\"generator\": {\"layers\": [32]}}";
    const char *reg = "{\"id\": \"probe\", \"tasks\": [{\"id\": \"digit-0\", \"samples\": 10}]}";
    const char *sched = "{\"policy\": \"fixed\", \"local_steps\": 9}";
    for (enum tok t = NONE; t <= NOT_BEARER; t++) {
        if (t == RIGHT)
            continue;
        expect_401(t, "PUT", "/v1/tasks/x", task);
        expect_401(t, "POST", "/v1/edges", reg);
        expect_401(t, "PUT", "/v1/scheduler", sched);
        expect_401(t, "DELETE", "/v1/tasks/digit-0", NULL);
        expect_401(t, "POST", "/v1/edges/probe/heartbeat", NULL);
    }
    /* The refused requests changed nothing. */
    cr_expect_eq(status_of(NONE, "GET", "/v1/tasks/x", NULL), 404, "task x exists after 401s");
    cr_expect_eq(status_of(NONE, "GET", "/v1/tasks/digit-0", NULL), 200, "digit-0 deleted by a 401 DELETE");
    cJSON *s = tp_get_json(srv.port, "/v1/scheduler");
    cr_assert_not_null(s);
    cr_expect_neq(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "local_steps")), 9);
    cJSON_Delete(s);
    cr_expect_eq(status_of(RIGHT, "POST", "/v1/edges/probe/heartbeat", NULL), 404, "probe registered by a 401");

    /* The right token works. */
    cr_expect_eq(status_of(RIGHT, "PUT", "/v1/tasks/x", task), 201);
    cr_expect_eq(status_of(RIGHT, "POST", "/v1/edges", reg), 201);
    cr_expect_eq(status_of(RIGHT, "PUT", "/v1/scheduler", sched), 200);
    cr_expect_eq(status_of(RIGHT, "POST", "/v1/edges/probe/heartbeat", NULL), 200);
    cr_expect_eq(status_of(RIGHT, "DELETE", "/v1/tasks/x", NULL), 200);
}

Test(auth, reads_need_no_token)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/metrics", "/v1/status", "/v1/tasks",
                                        "/v1/tasks/digit-0", "/v1/tasks/digit-0/models/generator",
                                        "/v1/tasks/digit-0/samples?n=4&format=png", "/v1/scheduler"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        cr_expect_eq(status_of(NONE, "GET", paths[i], NULL), 200, "GET %s without a token", paths[i]);
}

Test(auth, edges_with_right_and_wrong_tokens)
{
    char tf_good[400], tf_bad[400];
    snprintf(tf_good, sizeof tf_good, "--token-file=%s", good_tok);
    snprintf(tf_bad, sizeof tf_bad, "--token-file=%s", bad_tok);
    char *good_args[] = {tf_good, NULL}, *bad_args[] = {tf_bad, NULL};
    pid_t good = tp_edge_start(cfg, srv.port, dir, "edge-good", 0, 1, good_args);
    pid_t bad = tp_edge_start(cfg, srv.port, dir, "edge-bad", 0, 1, bad_args);
    cr_assert(good > 0 && bad > 0);

    double t0 = tp_now_s(), accepted = 0;
    while (tp_now_s() - t0 < 40) {
        accepted = tp_metric(srv.port, "mtgan_updates_total{outcome=\"accepted\"}");
        if (accepted > 0 || !tp_alive(good))
            break;
        tp_sleep_ms(200);
    }
    cr_expect(accepted > 0, "edge with the right token pushed no accepted update in %.0f s (%g)",
              tp_now_s() - t0, accepted);
    cr_expect(tp_alive(good), "edge with the right token exited (status %#x)", tp_exit_status(good));

    int st = tp_wait(bad, 20000);
    cr_expect_neq(st, -1, "edge with a wrong token still runs after 20 s");
    cr_expect(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0, "edge with a wrong token: status %#x", st);
    char logp[400];
    snprintf(logp, sizeof logp, "%s/edge-bad.log", dir);
    char *log = tp_read_file(logp, NULL);
    cr_expect(log && (strstr(log, "401") || strstr(log, "nauthorized") || strstr(log, "token")),
              "edge-bad's log does not say why: %s", log ? log : "(none)");
    free(log);
    /* The server never learned of it. */
    cr_expect_eq(status_of(RIGHT, "POST", "/v1/edges/edge-bad/heartbeat", NULL), 404);
    cr_expect_eq(status_of(RIGHT, "POST", "/v1/edges/edge-good/heartbeat", NULL), 200);
    tp_stop(good, SIGTERM, 5000);
    tp_stop(bad, SIGKILL, 1000);
}
