/*
 * test_unknown_task.c - unknown-task detection end to end (issue 6 item 3).
 * The server knows digit-0 and digit-3 and trains them to their budget.
 * An edge arrives holding unlabelled digit-0 rows: they fit a known task,
 * so no task may appear. Another arrives holding unlabelled digit-7 rows (a
 * class no task was trained on): under policy auto the server must create a
 * task for them, warm-started, which that edge then trains; under ask the
 * candidate must wait on GET /v1/candidates until an operator PUTs it.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(unknown_task, .fini = fini, .timeout = 120);

static const char *common = "\"log_level\": \"info\", \"n_edges\": 1,\n"
                            " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 100}},\n"
                            " \"train\": {\"eval_every\": 0, \"max_steps\": 600}";

static void write_cfg(const char *path, const char *dir, const char *state, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/%s\", %s, %s}\n", dir, state, extra, common);
    cr_assert_eq(tp_write_file(path, text), 0);
}

static void wait_done(unsigned port, int want, double timeout_s)
{
    cr_assert_eq(tp_wait_status(port, "done", want, timeout_s), 0, "server did not reach done=%d within %.0f s",
                 want, timeout_s);
}

static int wait_log(const char *path, const char *needle, double timeout_s)
{
    double t0 = tp_now_s();
    while (tp_now_s() - t0 < timeout_s) {
        char *log = tp_read_file(path, NULL);
        int hit = log && strstr(log, needle);
        free(log);
        if (hit)
            return 1;
        tp_sleep_ms(200);
    }
    return 0;
}

/* Number of candidates, and the status of the first in status (may be NULL). */
static int candidates(unsigned port, char *status, size_t n)
{
    cJSON *o = tp_get_json(port, "/v1/candidates");
    cr_assert_not_null(o, "GET /v1/candidates");
    cJSON *arr = cJSON_GetObjectItem(o, "candidates");
    int k = cJSON_GetArraySize(arr);
    if (status && k > 0)
        snprintf(status, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "status")));
    cJSON_Delete(o);
    return k;
}

static int task_status(unsigned port, const char *task)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", task);
    struct tp_resp r;
    cr_assert_eq(tp_get(port, path, &r), 0);
    int st = r.status;
    tp_resp_free(&r);
    return st;
}

/* Server with digit-0 and digit-3 trained to budget; cfg written to dir/config.json. */
static void start_known(struct tp_server *s, char *dir, size_t n, const char *policy)
{
    char cfg[320], extra[128];
    cr_assert_eq(tp_tmpdir(dir, n), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(extra, sizeof extra, "\"data\": {\"tasks\": [0, 3]}, \"lifelong\": {\"unknown_tasks\": \"%s\"}", policy);
    write_cfg(cfg, dir, "state", extra);
    cr_assert_eq(tp_server_start(s, cfg, dir, NULL), 0, "server did not start (see %s)", s->log);
    cr_assert_geq(tp_edge_start(cfg, s->port, dir, "labelled", 0, 1, NULL), 0);
    wait_done(s->port, 1, 60);
}

static void start_unlabelled(unsigned port, const char *dir, const char *id, int digit)
{
    char cfg[320], extra[128];
    snprintf(cfg, sizeof cfg, "%s/%s.json", dir, id);
    snprintf(extra, sizeof extra, "\"data\": {\"tasks\": [0], \"unlabelled\": [%d]}", digit);
    write_cfg(cfg, dir, id, extra);
    cr_assert_geq(tp_edge_start(cfg, port, dir, id, 0, 1, NULL), 0);
}

Test(unknown_task, auto_creates_a_task_for_a_new_digit_and_none_for_a_known_one)
{
    char dir[256], log[320];
    struct tp_server s;
    start_known(&s, dir, sizeof dir, "auto");

    /* Unlabelled digit-0: a known class. */
    start_unlabelled(s.port, dir, "edge-u0", 0);
    snprintf(log, sizeof log, "%s/edge-u0.log", dir);
    cr_assert(wait_log(log, "vs 2 known tasks", 30), "edge-u0 never scored its unlabelled data (see %s)", log);
    cr_assert(wait_log(log, "-> known", 1), "unlabelled digit-0 was not recognised as known (see %s)", log);
    cr_assert_eq(candidates(s.port, NULL, 0), 0, "a known class produced a candidate");
    cr_assert_eq(task_status(s.port, "new-1"), 404);

    /* Unlabelled digit-7: no task was trained on it. */
    start_unlabelled(s.port, dir, "edge-u7", 7);
    double t0 = tp_now_s();
    while (task_status(s.port, "new-1") != 200 && tp_now_s() - t0 < 30)
        tp_sleep_ms(200);
    cr_assert_eq(task_status(s.port, "new-1"), 200, "digit-7 data did not become task new-1");
    char st[32] = "";
    cr_assert_eq(candidates(s.port, st, sizeof st), 1);
    cr_assert_str_eq(st, "created");
    cr_assert(wait_log(s.log, "new task new-1 warm-started from digit-", 1), "no warm start recorded in %s", s.log);
    /* The reporting edge trains the new task on its formerly unlabelled rows. */
    t0 = tp_now_s();
    while (!(tp_status_number(s.port, "tasks.new-1.steps") > 0) && tp_now_s() - t0 < 30)
        tp_sleep_ms(200);
    cr_assert_gt(tp_status_number(s.port, "tasks.new-1.steps"), 0, "nobody trained new-1");
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
}

Test(unknown_task, ask_lists_the_candidate_until_an_operator_accepts_it)
{
    char dir[256];
    struct tp_server s;
    start_known(&s, dir, sizeof dir, "ask");
    start_unlabelled(s.port, dir, "edge-u7", 7);
    char st[32] = "";
    double t0 = tp_now_s();
    while (candidates(s.port, st, sizeof st) == 0 && tp_now_s() - t0 < 30)
        tp_sleep_ms(200);
    cr_assert_str_eq(st, "pending", "digit-7 data did not produce a pending candidate");
    cr_assert_eq(task_status(s.port, "new-1"), 404, "ask must not create the task by itself");
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(s.port, "PUT", "/v1/tasks/new-1", hdr, "{}", 2, &r), 0);
    cr_assert_eq(r.status, 201, "operator PUT -> %d", r.status);
    tp_resp_free(&r);
    cr_assert_eq(candidates(s.port, st, sizeof st), 1);
    cr_assert_str_eq(st, "created");
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
}

Test(unknown_task, bad_reports_are_refused)
{
    char dir[256], cfg[320];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    write_cfg(cfg, dir, "state", "\"data\": {\"tasks\": [0]}, \"lifelong\": {\"unknown_tasks\": \"off\"}");
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    char good[2048];
    int n = snprintf(good, sizeof good, "{\"edge\": \"e1\", \"samples\": 30, \"new_frac\": 0.9, \"radius\": 2, \"mean\": [");
    for (int j = 0; j < 64; j++)
        n += snprintf(good + n, sizeof good - (size_t)n, "%s0.1", j ? "," : "");
    snprintf(good + n, sizeof good - (size_t)n, "]}");
    static const char *const bad[] = {
        "not json",
        "{\"edge\": \"../x\", \"samples\": 30, \"new_frac\": 0.9, \"radius\": 2, \"mean\": []}",
        "{\"edge\": \"e1\", \"samples\": 0, \"new_frac\": 0.9, \"radius\": 2, \"mean\": []}",
        "{\"edge\": \"e1\", \"samples\": 30, \"new_frac\": 0.9, \"radius\": 2, \"mean\": [1, 2]}",
    };
    struct tp_resp r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(tp_http(s.port, "POST", "/v1/candidates", hdr, bad[i], strlen(bad[i]), &r), 0);
        cr_assert_eq(r.status, 400, "%s -> %d", bad[i], r.status);
        cr_assert(tp_is_error(&r, NULL, 0));
        tp_resp_free(&r);
    }
    cr_assert_eq(tp_http(s.port, "POST", "/v1/candidates", hdr, good, strlen(good), &r), 0);
    cr_assert_eq(r.status, 409, "policy off -> %d", r.status);
    cr_assert(tp_is_error(&r, NULL, 0));
    tp_resp_free(&r);
    cr_assert_eq(candidates(s.port, NULL, 0), 0);
    cr_assert_eq(tp_get(s.port, "/v1/tasks/digit-0/profile", &r), 0);
    cr_assert_eq(r.status, 404, "no edge reported a profile yet -> %d", r.status);
    tp_resp_free(&r);
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
}
