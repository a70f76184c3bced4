/*
 * test_lifelong.c - lifelong learning on a running server: tasks digit-0
 * and digit-3 train to their budget; then an edge arrives holding data of
 * digit-7, which the server has never seen. The task must join without a
 * restart, be warm-started from a known task, train, and leave the old
 * tasks' global models byte-for-byte untouched (no forgetting).
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

static void fini(void) { tp_cleanup(); }

TestSuite(lifelong, .fini = fini, .timeout = 120);

static char *model(unsigned port, const char *task, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/models/gan", task);
    struct tp_resp r;
    cr_assert_eq(tp_get(port, path, &r), 0);
    cr_assert_eq(r.status, 200, "GET %s -> %d", path, r.status);
    *len = r.len;
    char *body = r.body;
    r.body = NULL;
    tp_resp_free(&r);
    return body;
}

static void wait_done(unsigned port, int want, double timeout_s)
{
    double t0 = tp_now_s();
    while (tp_now_s() - t0 < timeout_s) {
        if ((int)tp_status_number(port, "done") == want)
            return;
        tp_sleep_ms(200);
    }
    cr_assert_fail("server did not reach done=%d within %.0f s", want, timeout_s);
}

Test(lifelong, new_task_joins_warm_and_old_tasks_are_not_forgotten)
{
    char dir[256], cfg[320], cfg_new[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(cfg_new, sizeof cfg_new, "%s/new-edge.json", dir);
    const char *common = "\"log_level\": \"info\", \"n_edges\": 1,\n"
                         " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 50}},\n"
                         " \"train\": {\"eval_every\": 0, \"max_steps\": 300}";
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/state\", \"data\": {\"tasks\": [0, 3]}, %s}\n", dir, common);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/state2\", \"data\": {\"tasks\": [7]}, %s}\n", dir, common);
    cr_assert_eq(tp_write_file(cfg_new, text), 0);

    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start (see %s)", s.log);
    cr_assert_geq(tp_edge_start(cfg, s.port, dir, "old-edge", 0, 1, NULL), 0);
    wait_done(s.port, 1, 60);

    size_t l0, l3;
    char *m0 = model(s.port, "digit-0", &l0), *m3 = model(s.port, "digit-3", &l3);
    struct tp_resp r;
    cr_assert_eq(tp_get(s.port, "/v1/tasks/digit-7", &r), 0);
    cr_assert_eq(r.status, 404, "digit-7 must not exist before its edge arrives");
    tp_resp_free(&r);

    /* The new edge's data is the only thing that declares digit-7. */
    cr_assert_geq(tp_edge_start(cfg_new, s.port, dir, "new-edge", 0, 1, NULL), 0);
    double t0 = tp_now_s();
    while (tp_now_s() - t0 < 30) {
        cr_assert_eq(tp_get(s.port, "/v1/tasks/digit-7", &r), 0);
        int ok = r.status == 200;
        tp_resp_free(&r);
        if (ok)
            break;
        tp_sleep_ms(100);
    }
    wait_done(s.port, 0, 10);
    wait_done(s.port, 1, 60);
    cJSON *t7 = tp_get_json(s.port, "/v1/tasks/digit-7");
    cr_assert_not_null(t7);
    cr_assert_geq(cJSON_GetNumberValue(cJSON_GetObjectItem(t7, "steps")), 300, "digit-7 trained to its budget");
    cJSON_Delete(t7);

    char *log = tp_read_file(s.log, NULL);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "new task digit-7 warm-started from digit-"), "server log: no warm start recorded");
    free(log);

    size_t n0, n3;
    char *a0 = model(s.port, "digit-0", &n0), *a3 = model(s.port, "digit-3", &n3);
    cr_assert(n0 == l0 && memcmp(a0, m0, n0) == 0, "digit-0's global changed while digit-7 trained");
    cr_assert(n3 == l3 && memcmp(a3, m3, n3) == 0, "digit-3's global changed while digit-7 trained");
    free(m0), free(m3), free(a0), free(a3);
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
}

Test(lifelong, bad_new_task_id_is_refused)
{
    char dir[256], cfg[320], text[512];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/state\", \"data\": {\"tasks\": [0]}, \"train\": {\"eval_every\": 0}}\n",
             dir);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0);
    const char *body = "{\"id\": \"e1\", \"tasks\": [{\"id\": \"../../etc\", \"samples\": 5}]}";
    const char *hdr[] = {"Content-Type: application/json", NULL};
    struct tp_resp r;
    cr_assert_eq(tp_http(s.port, "POST", "/v1/edges", hdr, body, strlen(body), &r), 0);
    cr_assert_eq(r.status, 400, "path trick as a new task id -> %d", r.status);
    tp_resp_free(&r);
    cr_assert_eq(tp_get(s.port, "/v1/tasks", &r), 0);
    cr_assert_null(strstr(r.body, "etc"), "no task was created");
    tp_resp_free(&r);
}
