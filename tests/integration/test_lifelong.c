/*
 * test_lifelong.c - lifelong learning on a running server: tasks digit-0
 * and digit-3 train to their budget; then an edge arrives holding data of
 * digit-7, which the server has never seen. The task must join without a
 * restart, be warm-started from a known task, train, and leave the old
 * tasks' global models byte-for-byte untouched (no forgetting). And the
 * warm start must pay: from the same known models, warm-started digit-7 has
 * a lower FD early in training than from scratch, and reaches the full
 * quality target.
 *
 * Every server runs in deterministic mode (train.deterministic): quality is
 * judged at fixed step counts while training waits, so which evaluations
 * exist, what they say and when a task stops are functions of the seed,
 * never of the machine's load. The wall-clock limits below only catch hangs.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "launch/launch.h"
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
    cr_assert_eq(tp_wait_status(port, "done", want, timeout_s), 0, "server did not reach done=%d within %.0f s",
                 want, timeout_s);
}

Test(lifelong, new_task_joins_warm_and_old_tasks_are_not_forgotten)
{
    char dir[256], cfg[320], cfg_new[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(cfg_new, sizeof cfg_new, "%s/new-edge.json", dir);
    const char *common = "\"log_level\": \"info\", \"n_edges\": 1,\n"
                         " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": 50}},\n"
                         " \"train\": {\"eval_every\": 0, \"max_steps\": 300},\n"
                         " \"lifelong\": {\"edges_may_create_tasks\": true}";
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

/* One server + one edge on loopback, fixed rounds, judged by the full target (train-local reference). */
static void write_cfg(const char *path, const char *state_dir, const char *tasks, int local_steps, int max_steps)
{
    const char *data = getenv("MTGAN_DATA_DIR");
    char text[1024];
    snprintf(text, sizeof text,
             "{\"state_dir\": \"%s\", \"data\": {\"tasks\": [%s]}, \"log_level\": \"info\", \"n_edges\": 1,\n"
             " \"scheduler\": {\"server\": {\"policy\": \"fixed\", \"local_steps\": %d}},\n"
             " \"train\": {\"eval_every\": 20, \"max_steps\": %d, \"deterministic\": true,\n"
             "            \"reference\": \"%s/reference-digits.json\"},\n"
             " \"lifelong\": {\"edges_may_create_tasks\": true}}\n",
             state_dir, tasks, local_steps, max_steps, data ? data : "data");
    cr_assert_eq(tp_write_file(path, text), 0);
}

#define NEW_MAX_STEPS 8000
/*
 * The window of the new task's steps whose evaluations the test compares: early, where warm start pays
 * most, and wide enough for several evaluations (one per >= 300 ms) on a fast machine too.
 */
#define WIN_LO 250
#define WIN_HI 1500

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct arm {
    double steps;     /* steps of the evaluation that met the target; -1 = stopped before */
    double fd_median; /* median FD of the evaluations in (WIN_LO, WIN_HI] */
    int n;            /* those evaluations */
};

/*
 * One arm: a server restored from the known tasks' checkpoint (copied into
 * <dir>/<name>), then an edge holding only digit-7, followed until digit-7
 * meets its target or its evaluations pass until_steps.
 */
static struct arm run_arm(const char *dir, const char *known, const char *name, int scratch, double until_steps)
{
    char sub[320], edge_state[340], cfg[400], cfg_new[400];
    snprintf(sub, sizeof sub, "%s/%s", dir, name);
    snprintf(edge_state, sizeof edge_state, "%s/edge", sub);
    cr_assert_eq(mkdir(sub, 0755), 0);
    struct mtg_err err = {0};
    cr_assert_eq(mtg_launch_copy_files(known, sub, &err), MTG_OK, "%s", err.msg);
    snprintf(cfg, sizeof cfg, "%s/config.json", sub);
    write_cfg(cfg, sub, "0, 1, 9", 25, NEW_MAX_STEPS);
    snprintf(cfg_new, sizeof cfg_new, "%s/new-edge.json", sub);
    write_cfg(cfg_new, edge_state, "7", 25, NEW_MAX_STEPS);

    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, sub, NULL), 0, "server did not start (see %s)", s.log);
    if (scratch) {
        const char *hdr[] = {"Content-Type: application/json", NULL};
        struct tp_resp r;
        cr_assert_eq(tp_http(s.port, "PUT", "/v1/tasks/digit-7", hdr, "{}", 2, &r), 0);
        cr_assert_eq(r.status, 201, "PUT /v1/tasks/digit-7 -> %d", r.status);
        tp_resp_free(&r);
    }
    pid_t edge = tp_edge_start(cfg_new, s.port, sub, "new-edge", 0, 1, NULL);
    cr_assert_geq(edge, 0);
    struct arm a = {.steps = -1};
    double fd[256], last = -1, last_fd = -1, t0 = tp_now_s();
    int done = 0;
    while (!done && tp_now_s() - t0 < 400 * tp_time_scale()) {
        tp_sleep_ms(50);
        cJSON *t = tp_get_json(s.port, "/v1/tasks/digit-7");
        cJSON *q = t ? cJSON_GetObjectItem(t, "quality") : NULL;
        double qsteps = q ? cJSON_GetNumberValue(cJSON_GetObjectItem(q, "steps")) : -1;
        /* A poll every 50 ms, an evaluation at most every 300 ms: each one is seen once. */
        if (q && qsteps != last) {
            last = qsteps;
            last_fd = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "fd"));
            if (qsteps > WIN_LO && qsteps <= WIN_HI && a.n < 256)
                fd[a.n++] = cJSON_GetNumberValue(cJSON_GetObjectItem(q, "fd"));
            /* The task stops training at its target, so this evaluation is the one that met it. */
            if (cJSON_GetObjectItem(t, "reached_s"))
                a.steps = qsteps;
            done = a.steps >= 0 || qsteps >= until_steps; /* max_steps retires the task at exactly that */
        }
        cJSON_Delete(t);
    }
    cr_assert(done, "%s: digit-7 did not get past %.0f steps in time (see %s)", name, until_steps, sub);
    /* Met the target before the window opened: the evaluation that met it stands for the window. */
    if (a.n == 0 && a.steps >= 0 && a.steps <= WIN_LO)
        fd[a.n++] = last_fd;
    /* A median needs a few evaluations, unless the task met its target inside the window. */
    cr_assert_geq(a.n, a.steps >= 0 && a.steps <= WIN_HI ? 1 : 3, "%s: %d evaluations between %d and %d steps (see %s)",
                  name, a.n, WIN_LO, WIN_HI, sub);
    qsort(fd, (size_t)a.n, sizeof fd[0], cmp_double);
    a.fd_median = a.n % 2 ? fd[a.n / 2] : 0.5 * (fd[a.n / 2 - 1] + fd[a.n / 2]);
    char *log = tp_read_file(s.log, NULL);
    cr_assert_not_null(log);
    if (scratch)
        cr_assert_null(strstr(log, "new task digit-7 warm-started"), "the scratch arm was warm-started");
    else
        cr_assert(strstr(log, "new task digit-7 warm-started from digit-"), "server log: no warm start recorded");
    free(log);
    tp_stop(edge, SIGTERM, 5000);
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0);
    cr_log_info("%s: median FD %.1f over %d evaluations in steps (%d, %d]; %s %.0f steps", name, a.fd_median, a.n,
                WIN_LO, WIN_HI, a.steps >= 0 ? "full target after" : "stopped short of the target at",
                a.steps >= 0 ? a.steps : last);
    return a;
}

/*
 * Warm start must pay where it matters: early. Over 15 runs per arm of
 * `mtgan bench lifelong` (bench/results/2026-11-23T140921Z.json, T142132Z,
 * T142616Z) the median FD of a run's evaluations in steps (250, 1500] was
 * 27-40 warm-started and 74-129 from scratch, so one pair decides. Steps to
 * the full target favour warm too (1,275-2,550 vs 3,875-5,375 there), but
 * seven runs of an earlier version of this test gave 1,725-3,400 vs
 * 3,250-4,725: the tails overlap, so the test only requires warm to get
 * there. Steps, not seconds: machine load cannot flip it.
 */
Test(lifelong, warm_start_beats_scratch_early_and_reaches_the_full_target, .timeout = 1500)
{
    char dir[256], known[320], cfg[320];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(known, sizeof known, "%s/known", dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    write_cfg(cfg, known, "0, 1, 9", 100, 20000);

    /* The known tasks train to their full target once; both arms start from the checkpoint. */
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start (see %s)", s.log);
    pid_t edge = tp_edge_start(cfg, s.port, dir, "old-edge", 0, 1, NULL);
    cr_assert_geq(edge, 0);
    double t0 = tp_now_s();
    int all = 0;
    while (!all && tp_now_s() - t0 < 400 * tp_time_scale()) {
        tp_sleep_ms(250);
        all = !isnan(tp_status_number(s.port, "tasks.digit-0.reached_s")) &&
              !isnan(tp_status_number(s.port, "tasks.digit-1.reached_s")) &&
              !isnan(tp_status_number(s.port, "tasks.digit-9.reached_s"));
    }
    cr_assert(all, "the known tasks did not reach their target (see %s)", s.log);
    tp_stop(edge, SIGTERM, 5000);
    cr_assert_eq(tp_stop(s.pid, SIGTERM, 5000) & 0xff7f, 0, "the server must checkpoint on SIGTERM");

    struct arm warm = run_arm(dir, known, "warm", 0, NEW_MAX_STEPS);
    struct arm scratch = run_arm(dir, known, "scratch", 1, WIN_HI);
    cr_assert_lt(warm.fd_median, scratch.fd_median,
                 "median FD in steps (%d, %d]: warm-started %.1f, from scratch %.1f", WIN_LO, WIN_HI, warm.fd_median,
                 scratch.fd_median);
    cr_assert_geq(warm.steps, 0, "warm-started digit-7 did not reach the full target in %d steps", NEW_MAX_STEPS);
}
