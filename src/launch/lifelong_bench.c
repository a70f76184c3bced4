/*
 * lifelong_bench.c - `mtgan bench lifelong`: a new task's time to the
 * quality target when it warm-starts from the nearest known task (the
 * server's default for data it has never seen, src/server/lifelong.c)
 * versus from scratch. Each arm: a server and one edge train the known
 * tasks to target; then an edge holding only the new digit arrives. The
 * scratch arm first creates the task with PUT /v1/tasks/{task}, which
 * initialises it from scratch, so the edge's registration finds it known.
 * Time is the server's clock from the task's creation to its target.
 */
#include "launch/bench.h"
#include "core/log.h"
#include "core/status.h"
#include "edge/client.h"
#include "launch/launch.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POLL_MS 250
#define NEW_DIGIT 7
#define ARM_BUDGET_S 150.0

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

struct arm {
    double created_s;  /* server clock */
    double reached_s;  /* server clock; -1 = not within the budget */
    double steps;      /* new task's steps at the first poll that saw it at target */
    double known_s;    /* known tasks' time to target */
};

static int run_arm(const struct mtg_cfg *base, const char *dir, int scratch, struct arm *a, struct mtg_err *err)
{
    *a = (struct arm){.created_s = -1, .reached_s = -1, .steps = -1, .known_s = -1};
    struct mtg_cfg *cfg = malloc(sizeof *cfg), *ncfg = malloc(sizeof *ncfg);
    char sub[800], task[32];
    snprintf(task, sizeof task, "digit-%d", NEW_DIGIT);
    struct mtg_launch *l = NULL, *ln = NULL;
    struct mtg_client *c = NULL;
    unsigned port = 0;
    int rc = cfg && ncfg ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "bench: out of memory");
    if (rc == MTG_OK) {
        *cfg = *base;
        mkdir(dir, 0755);
        if ((size_t)snprintf(cfg->state_dir, sizeof cfg->state_dir, "%.400s/state", dir) >= sizeof cfg->state_dir)
            rc = mtg_err_set(err, MTG_ERANGE, "bench: run dir too long");
        mkdir(cfg->state_dir, 0755);
        mtg_launch_clear_checkpoints(cfg->state_dir);
        *ncfg = *cfg;
        ncfg->data.tasks = (struct mtg_cfg_ids){.n = 1, .id = {NEW_DIGIT}};
        snprintf(sub, sizeof sub, "%s/new-edge", dir);
        mkdir(sub, 0755);
        if (rc == MTG_OK)
            rc = mtg_launch_new(cfg, dir, &l, err);
    }
    if (rc == MTG_OK)
        rc = mtg_launch_server(l, &port, err);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    struct mtg_client_opts co = {.base_url = url, .max_attempts = 3};
    if (rc == MTG_OK)
        rc = mtg_client_new(&co, &c, err);
    if (rc == MTG_OK)
        rc = mtg_launch_edges(l, port, err);
    /* Phase 1: the known tasks reach their target. */
    int phase = 1;
    double prev_elapsed = 0;
    for (int polls = 0; rc == MTG_OK; polls++) {
        sleep_ms(POLL_MS);
        cJSON *st = mtg_client_get_json(c, "/v1/status", NULL, NULL);
        if (!st) {
            rc = mtg_err_set(err, MTG_EIO, "bench lifelong: server stopped answering (see %s)", dir);
            break;
        }
        cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
        cJSON *nt = cJSON_GetObjectItemCaseSensitive(tasks, task);
        double elapsed = num(st, "elapsed_s");
        if (phase == 1) {
            int all = 1;
            double last = 0;
            for (cJSON *t = tasks ? tasks->child : NULL; t; t = t->next) {
                double r = num(t, "reached_s");
                all &= r >= 0;
                last = r > last ? r : last;
            }
            if (all || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "done"))) {
                a->known_s = all ? last : -1;
                phase = 2;
                if (scratch) {
                    struct mtg_client_resp r;
                    char path[64];
                    snprintf(path, sizeof path, "/v1/tasks/%s", task);
                    rc = mtg_client_request(c, "PUT", path, "{}", 2, "application/json", NULL, &r, err);
                    mtg_client_resp_deinit(&r);
                }
                if (rc == MTG_OK)
                    rc = mtg_launch_new(ncfg, sub, &ln, err);
                if (rc == MTG_OK)
                    rc = mtg_launch_edge(ln, 0, port, err);
            }
        } else if (nt) {
            /* Created after the previous poll, which did not see it: that poll's time is the
             * lower bound, so time to target is never understated (or negative). */
            if (a->created_s < 0)
                a->created_s = prev_elapsed;
            if (num(nt, "reached_s") >= 0) {
                a->reached_s = num(nt, "reached_s");
                a->steps = num(nt, "steps");
                cJSON_Delete(st);
                break;
            }
        }
        cJSON_Delete(st);
        prev_elapsed = elapsed;
        if (elapsed > ARM_BUDGET_S)
            break;
    }
    if (ln)
        mtg_launch_stop(ln, 5000);
    if (l)
        mtg_launch_stop(l, 5000);
    mtg_launch_free(ln);
    mtg_launch_free(l);
    mtg_client_free(c);
    free(cfg);
    free(ncfg);
    return rc;
}

cJSON *mtg_bench_lifelong(const struct mtg_cfg *base, const char *run_dir, struct mtg_err *err)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg) {
        mtg_err_set(err, MTG_ENOMEM, "bench: out of memory");
        return NULL;
    }
    *cfg = *base;
    /* Known digits that look unlike and like a 7; one edge, plain loopback, so only init differs. */
    cfg->data.tasks = (struct mtg_cfg_ids){.n = 3, .id = {0, 1, 9}};
    cfg->n_edges = 1;
    cfg->n_edge_profiles = 0;
    cfg->emulation.speed_factor = 1;
    cfg->emulation.link_mbps = 0;
    cfg->emulation.link_latency_ms = 0;
    cfg->scheduler.server.policy = MTG_CFG_SPOL_FIXED;
    cfg->scheduler.server.local_steps = 100;
    cfg->train.max_steps = 20000;
    cfg->train.eval_every = 20; /* fine enough to tell a few hundred steps apart */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "known", "digit-0, digit-1, digit-9");
    cJSON_AddStringToObject(out, "new", "digit-7");
    struct arm arms[2];
    int rc = MTG_OK;
    for (int scratch = 0; rc == MTG_OK && scratch < 2; scratch++) {
        char dir[700];
        snprintf(dir, sizeof dir, "%s/lifelong-%s", run_dir, scratch ? "scratch" : "warm");
        struct arm *a = &arms[scratch];
        rc = run_arm(cfg, dir, scratch, a, err);
        if (rc != MTG_OK)
            break;
        double tt = a->reached_s >= 0 && a->created_s >= 0 ? a->reached_s - a->created_s : -1;
        printf("  %-8s new task digit-7: time to target %7.1f s, %6.0f steps (known tasks reached target at %.1f s)\n",
               scratch ? "scratch" : "warm", tt, a->steps, a->known_s);
        cJSON *o = cJSON_AddObjectToObject(out, scratch ? "scratch" : "warm");
        cJSON_AddNumberToObject(o, "time_to_target_s", tt);
        cJSON_AddNumberToObject(o, "steps_to_target", a->steps);
        cJSON_AddNumberToObject(o, "known_tasks_to_target_s", a->known_s);
    }
    free(cfg);
    if (rc != MTG_OK) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
