/*
 * test_determinism.c - train.deterministic end to end: a real mtgan-server
 * and 2 mtgan-edge processes on 127.0.0.1 train two digit tasks twice with
 * the same seed. The second run starts the edges in the other order, half a
 * second apart, with emulated link latency on one of them, so updates arrive
 * in another order and rounds take other times. The global models must be
 * bit-identical (both protocols); a different seed must give other models
 * (so the comparison can fail); and a deterministic config with an
 * arrival-order policy must be refused before anything starts.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "proc.h"

#define N_EDGES 2
#define TIMEOUT_S 120.0

static void fini(void) { tp_cleanup(); }

TestSuite(determinism, .fini = fini, .timeout = 600);

static const char *const tasks[] = {"digit-0", "digit-3"};

static void write_config(const char *path, const char *dir, const char *protocol, int seed, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"protocol\": \"%s\", \"seed\": %d, \"log_level\": \"warn\",\n"
             " \"state_dir\": \"%s/state\", \"exit_when_done\": 0, \"n_edges\": %d,\n"
             " \"data\": {\"tasks\": [0, 3],\n"
             "          \"partition\": {\"tasks_per_edge_min\": 2, \"tasks_per_edge_max\": 2}},\n"
             " \"train\": {\"max_steps\": %d, \"eval_every\": 100, \"deterministic\": true}%s%s}\n",
             protocol, seed, dir, N_EDGES, strcmp(protocol, "sgda") == 0 ? 120 : 600, extra ? ",\n " : "",
             extra ? extra : "");
    cr_assert_eq(tp_write_file(path, text), 0, "cannot write %s", path);
}

struct models {
    struct tp_resp kind[2][2]; /* [task][generator, discriminator] */
};

/*
 * One training run to the step budget; fills m with each task's final global
 * models (f32, no zlib). sched (may be NULL) holds more "scheduler" keys.
 */
static void run(const char *protocol, int seed, int shuffled, const char *sched, struct models *m)
{
    char dir[256], cfg[320], extra[256];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(extra, sizeof extra, "\"scheduler\": {\"edge\": {\"policy\": \"%s\"}%s%s}",
             shuffled ? "loss-weighted" : "round-robin", sched ? ", " : "", sched ? sched : "");
    write_config(cfg, dir, protocol, seed, extra);
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "%s: server did not start", protocol);
    pid_t edges[N_EDGES];
    for (int k = 0; k < N_EDGES; k++) {
        int i = shuffled ? N_EDGES - 1 - k : k;
        char id[32];
        snprintf(id, sizeof id, "edge-%d", i);
        char *lat[] = {"--link-latency-ms", "15", NULL};
        edges[i] = tp_edge_start(cfg, s.port, dir, id, i, N_EDGES, shuffled && i == 0 ? lat : NULL);
        cr_assert_gt(edges[i], 0, "cannot start %s", id);
        if (shuffled)
            tp_sleep_ms(500);
    }
    double t0 = tp_now_s();
    int done = 0;
    while (!done && tp_now_s() - t0 < TIMEOUT_S * tp_time_scale()) {
        tp_sleep_ms(100);
        done = tp_status_number(s.port, "done") > 0;
    }
    cr_assert(done, "%s seed %d: not done after %.0f s", protocol, seed, TIMEOUT_S * tp_time_scale());
    for (int t = 0; t < 2; t++) {
        for (int k = 0; k < 2; k++) {
            char path[160];
            int sgda = strcmp(protocol, "sgda") == 0;
            if (k == 1 && sgda) {
                memset(&m->kind[t][k], 0, sizeof m->kind[t][k]); /* sgda's Ds are the edges' own */
                continue;
            }
            snprintf(path, sizeof path, "/v1/tasks/%s/models/%s?dtype=f32&zlib=0", tasks[t],
                     k ? "discriminator" : "generator");
            cr_assert_eq(tp_get(s.port, path, &m->kind[t][k]), 0);
            cr_assert_eq(m->kind[t][k].status, 200, "GET %s: %d", path, m->kind[t][k].status);
        }
    }
    for (int i = 0; i < N_EDGES; i++)
        tp_stop(edges[i], SIGTERM, 5000);
    tp_stop(s.pid, SIGTERM, 5000);
}

static void models_free(struct models *m)
{
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 2; k++)
            tp_resp_free(&m->kind[t][k]);
}

static int same(const struct tp_resp *a, const struct tp_resp *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->body, b->body, a->len) == 0);
}

static void check_protocol(const char *protocol, const char *sched)
{
    struct models a, b, c;
    run(protocol, 11, 0, sched, &a);
    run(protocol, 11, 1, sched, &b);
    for (int t = 0; t < 2; t++) {
        cr_expect(same(&a.kind[t][0], &b.kind[t][0]), "%s: %s generator differs between runs (%zu vs %zu bytes)",
                  protocol, tasks[t], a.kind[t][0].len, b.kind[t][0].len);
        cr_expect(same(&a.kind[t][1], &b.kind[t][1]), "%s: %s discriminator differs between runs", protocol, tasks[t]);
    }
    /* The comparison must be able to fail: another seed gives another model. */
    run(protocol, 12, 0, sched, &c);
    cr_expect(!same(&a.kind[0][0], &c.kind[0][0]), "%s: seeds 11 and 12 gave the same generator", protocol);
    models_free(&a);
    models_free(&b);
    models_free(&c);
}

Test(determinism, mtgan_same_seed_same_models_whatever_the_arrival_order) { check_protocol("mtgan", NULL); }

/* Pipelined (the default): both tasks' steps are in flight at once, over one connection per task and edge. */
Test(determinism, sgda_same_seed_same_generator_whatever_the_arrival_order) { check_protocol("sgda", NULL); }

/* fedd's parallel schedule trains G on a server thread while edges train D: still bit-identical. */
Test(determinism, fedd_same_seed_same_models_whatever_the_arrival_order) { check_protocol("fedd", NULL); }

Test(determinism, sgda_lockstep_same_seed_same_generator_whatever_the_arrival_order)
{
    check_protocol("sgda", "\"sgda\": {\"pipeline\": false}");
}

Test(determinism, arrival_order_policies_are_refused)
{
    char dir[256], cfg[320];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    write_config(cfg, dir, "mtgan", 1, "\"aggregation\": {\"mode\": \"async\"}");
    struct tp_server s;
    cr_assert_neq(tp_server_start(&s, cfg, dir, NULL), 0, "a deterministic async server started");
    char *log = tp_read_file(s.log, NULL);
    cr_assert(log && strstr(log, "aggregation.mode") && strstr(log, "train.deterministic"),
              "the error does not name the keys: %s", log ? log : "(no log)");
    free(log);
}
