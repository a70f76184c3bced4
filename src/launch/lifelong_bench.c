/*
 * lifelong_bench.c - `mtgan bench lifelong`: what a new task gains from
 * warm-starting from the nearest known task (the server's default for data
 * it has never seen, src/server/lifelong.c) over starting from scratch.
 *
 * Phase 1: a server and one edge train the known digits (--tasks without
 * 7; default 0, 1 and 9) to their target, or until KNOWN_BUDGET_S; the
 * server's exit checkpoint is kept. Phase 2, REPS times per arm, each
 * repetition with its own seed: a server restored from that checkpoint (so
 * both arms start from the same known models) and an edge holding only
 * digit 7. Warm: the edge's registration creates digit-7 from
 * the nearest known task. Scratch: PUT /v1/tasks/digit-7 comes first, so
 * the registration finds it known. The target is the full one: fidelity,
 * FD against the train-local reference, recall and coverage against the
 * real-vs-real ceiling (a collapsed generator meets fidelity alone within
 * 50 steps either way). Each run
 * records every evaluation of the new task (steps, fidelity, FD, recall),
 * its steps to target, and server-clock seconds from the new edge's
 * registration to the target, which includes the warm start's cost.
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

#define NEW_DIGIT 7
#define REPS 5
#define KNOWN_BUDGET_S 150.0
#define RUN_BUDGET_S 60.0
#define NEW_MAX_STEPS 8000
#define NEW_LOCAL_STEPS 25 /* the server evaluates every >= 300 ms: every 150-200 steps here */
#define POLL_MS 50
#define MAX_EVALS 1024

/*
 * The quality-vs-steps curve: per window of the new task's steps, the median
 * of every evaluation of every run in it (single evaluations swing by 2x).
 * Runs stop at their target, so late windows hold only the slower runs.
 */
static const int window_end[] = {250, 500, 1000, 2000, 3000, 5000};
#define N_WIN (int)(sizeof window_end / sizeof window_end[0])

/* A ratio for printing: "-" when there is none (an arm missed its target, or a window is empty). */
struct ratio_text {
    char s[16];
};

static struct ratio_text ratio_str(double r)
{
    struct ratio_text t = {"-"};
    if (r >= 0)
        snprintf(t.s, sizeof t.s, "%.3f", r);
    return t;
}

static void add_ratio(cJSON *o, const char *key, double r)
{
    if (r >= 0)
        cJSON_AddNumberToObject(o, key, r);
    else
        cJSON_AddNullToObject(o, key);
}

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

struct eval {
    double steps, fidelity, fd, recall;
};

struct run {
    double anchor_s;  /* server clock at the last poll before the new edge registered */
    double reached_s; /* server clock; -1 = not within the budget */
    double steps;     /* steps of the evaluation that reached the target; -1 = not reached */
    int n;
    struct eval ev[MAX_EVALS];
};

static double run_time(const struct run *r) { return r->reached_s >= 0 ? r->reached_s - r->anchor_s : -1; }

/* The known task the server warm-started the new one from, per its log; "" when none. */
static void warm_source(const char *dir, char *out, size_t n)
{
    char path[800], line[512];
    snprintf(path, sizeof path, "%s/server.log", dir);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "warm-started from ");
        if (p)
            snprintf(out, n, "%.*s", (int)strcspn(p + 18, " \n"), p + 18);
    }
    if (f)
        fclose(f);
}

/*
 * Phase 1: trains the known tasks towards their target; their models stay
 * in cfg->state_dir. *n_reached of them made it, the last after *known_s.
 */
static int train_known(const struct mtg_cfg *cfg, const char *dir, int *n_reached, double *known_s,
                       struct mtg_err *err)
{
    *n_reached = 0;
    *known_s = -1;
    struct mtg_launch *l = NULL;
    struct mtg_client *c = NULL;
    unsigned port = 0;
    int rc = mtg_launch_new(cfg, dir, &l, err);
    if (rc == MTG_OK)
        rc = mtg_launch_server_client(l, NULL, &port, &c, err);
    if (rc == MTG_OK)
        rc = mtg_launch_edges(l, port, err);
    while (rc == MTG_OK) {
        sleep_ms(250);
        cJSON *st = mtg_client_get_json(c, "/v1/status", NULL, NULL);
        if (!st) {
            rc = mtg_err_set(err, MTG_EIO, "bench lifelong: server stopped answering (see %s)", dir);
            break;
        }
        cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
        int n = 0, reached = 0;
        double last = -1;
        for (cJSON *t = tasks ? tasks->child : NULL; t; t = t->next, n++) {
            double r = num(t, "reached_s");
            reached += r >= 0;
            last = r > last ? r : last;
        }
        int stop = reached == n || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "done")) ||
                   num(st, "elapsed_s") > KNOWN_BUDGET_S;
        cJSON_Delete(st);
        if (stop) {
            *n_reached = reached;
            *known_s = last;
            break;
        }
    }
    /* SIGTERM: the server writes its checkpoint on the way out. */
    if (l)
        mtg_launch_stop(l, 5000);
    mtg_launch_free(l);
    mtg_client_free(c);
    return rc;
}

/* Follows the new task from the new edge's registration to its target (or the budget). */
static int follow(struct mtg_client *c, const char *task, const char *dir, struct run *r, struct mtg_err *err)
{
    double prev_elapsed = 0, last_steps = -1;
    for (;;) {
        sleep_ms(POLL_MS);
        cJSON *st = mtg_client_get_json(c, "/v1/status", NULL, NULL);
        if (!st)
            return mtg_err_set(err, MTG_EIO, "bench lifelong: server stopped answering (see %s)", dir);
        double elapsed = num(st, "elapsed_s");
        /* The edge registered after the previous poll, which did not see it: that poll's time is a lower
         * bound, so a time to target is never understated. */
        if (r->anchor_s < 0 && num(st, "edges_alive") >= 1)
            r->anchor_s = prev_elapsed;
        cJSON *nt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "tasks"), task);
        cJSON *q = cJSON_GetObjectItemCaseSensitive(nt, "quality");
        if (r->anchor_s < 0 && elapsed > 30) {
            cJSON_Delete(st);
            return mtg_err_set(err, MTG_EIO, "bench lifelong: the new edge did not register (see %s)", dir);
        }
        int stop = r->anchor_s >= 0 && elapsed - r->anchor_s > RUN_BUDGET_S;
        if (q && num(q, "steps") != last_steps && r->n < MAX_EVALS) {
            /* A poll every POLL_MS and an evaluation at most every 300 ms: no evaluation goes unseen. */
            last_steps = num(q, "steps");
            r->ev[r->n++] = (struct eval){last_steps, num(q, "fidelity"), num(q, "fd"), num(q, "recall")};
            if (num(nt, "reached_s") >= 0) {
                r->reached_s = num(nt, "reached_s");
                r->steps = last_steps;
                stop = 1;
            }
            stop |= last_steps >= NEW_MAX_STEPS;
        }
        cJSON_Delete(st);
        prev_elapsed = elapsed;
        if (stop)
            return MTG_OK;
    }
}

/* Phase 2, one run: restores the known tasks from known_state, then the new edge arrives. */
static int run_new(const struct mtg_cfg *base, const char *known_state, const char *dir, int scratch, char *src,
                   size_t src_n, struct run *r, struct mtg_err *err)
{
    memset(r, 0, sizeof *r);
    r->anchor_s = r->reached_s = r->steps = -1;
    struct mtg_cfg *cfg = malloc(sizeof *cfg), *ncfg = malloc(sizeof *ncfg);
    char sub[800], task[32];
    snprintf(task, sizeof task, "digit-%d", NEW_DIGIT);
    struct mtg_launch *l = NULL, *ln = NULL;
    struct mtg_client *c = NULL;
    unsigned port = 0;
    int rc = cfg && ncfg ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "bench: out of memory");
    if (rc == MTG_OK) {
        *cfg = *base;
        /* The server names the warm start's source at info level (warm_source reads it). */
        if (cfg->log_level > MTG_LOG_INFO)
            cfg->log_level = MTG_LOG_INFO;
        cfg->lifelong.edges_may_create_tasks = true; /* the warm arm: the new edge's registration creates digit-7 */
        mkdir(dir, 0755);
        if ((size_t)snprintf(cfg->state_dir, sizeof cfg->state_dir, "%.400s/state", dir) >= sizeof cfg->state_dir)
            rc = mtg_err_set(err, MTG_ERANGE, "bench: run dir too long");
        mkdir(cfg->state_dir, 0755);
        mtg_launch_clear_checkpoints(cfg->state_dir);
        if (rc == MTG_OK)
            rc = mtg_launch_copy_files(known_state, cfg->state_dir, err);
        *ncfg = *cfg;
        ncfg->data.tasks = (struct mtg_cfg_ids){.n = 1, .id = {NEW_DIGIT}};
        snprintf(sub, sizeof sub, "%s/new-edge", dir);
        mkdir(sub, 0755);
        if (rc == MTG_OK)
            rc = mtg_launch_new(cfg, dir, &l, err);
    }
    if (rc == MTG_OK)
        rc = mtg_launch_server_client(l, NULL, &port, &c, err);
    if (rc == MTG_OK && scratch) {
        struct mtg_client_resp resp;
        char path[64];
        snprintf(path, sizeof path, "/v1/tasks/%s", task);
        rc = mtg_client_request(c, "PUT", path, "{}", 2, "application/json", NULL, &resp, err);
        if (rc == MTG_OK && resp.status != 201)
            rc = mtg_err_set(err, MTG_EIO, "bench lifelong: PUT %s -> %ld (see %s)", path, (long)resp.status, dir);
        mtg_client_resp_deinit(&resp);
    }
    if (rc == MTG_OK)
        rc = mtg_launch_new(ncfg, sub, &ln, err);
    if (rc == MTG_OK)
        rc = mtg_launch_edge(ln, 0, port, err);
    if (rc == MTG_OK)
        rc = follow(c, task, dir, r, err);
    if (ln)
        mtg_launch_stop(ln, 5000);
    if (l)
        mtg_launch_stop(l, 5000);
    mtg_launch_free(ln);
    mtg_launch_free(l);
    mtg_client_free(c);
    free(cfg);
    free(ncfg);
    if (rc == MTG_OK)
        warm_source(dir, src, src_n);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) with unreached runs (< 0) counted as +infinity; -1 when that is the median. */
static double median_reached(const double *v, int n)
{
    double s[REPS];
    for (int i = 0; i < n; i++)
        s[i] = v[i] < 0 ? 1e300 : v[i];
    qsort(s, (size_t)n, sizeof s[0], cmp_double);
    double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    return m >= 1e299 ? -1 : m;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n == 0 ? -1 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One arm's summary: medians over its runs, printed and as JSON; *steps_out / *time_out: the medians. */
static cJSON *arm_json(const char *name, struct run *const *runs, char src[][64], double *steps_out, double *time_out,
                       double *fd_out)
{
    double steps[REPS], secs[REPS];
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "runs");
    for (int k = 0; k < REPS; k++) {
        const struct run *r = runs[k];
        steps[k] = r->steps;
        secs[k] = run_time(r);
        cJSON *rj = cJSON_CreateObject();
        cJSON_AddNumberToObject(rj, "steps_to_target", r->steps);
        cJSON_AddNumberToObject(rj, "time_to_target_s", secs[k]);
        if (src[k][0])
            cJSON_AddStringToObject(rj, "warm_started_from", src[k]);
        cJSON *ev = cJSON_AddArrayToObject(rj, "evals"); /* [steps, fidelity, fd, recall] */
        for (int i = 0; i < r->n; i++) {
            double row[4] = {r->ev[i].steps, r->ev[i].fidelity, r->ev[i].fd, r->ev[i].recall};
            cJSON_AddItemToArray(ev, cJSON_CreateDoubleArray(row, 4));
        }
        cJSON_AddItemToArray(arr, rj);
    }
    *steps_out = median_reached(steps, REPS);
    *time_out = median_reached(secs, REPS);
    cJSON_AddNumberToObject(o, "median_steps_to_target", *steps_out);
    cJSON_AddNumberToObject(o, "median_time_to_target_s", *time_out);
    printf("  %-8s steps to target (median of %d) %6.0f  [", name, REPS, *steps_out);
    for (int k = 0; k < REPS; k++)
        printf("%s%.0f", k ? " " : "", steps[k]);
    printf("]  seconds %5.1f  [", *time_out);
    for (int k = 0; k < REPS; k++)
        printf("%s%.1f", k ? " " : "", secs[k]);
    printf("]\n  %-8s FD, median of the evaluations at steps:", "");
    cJSON *curve = cJSON_AddArrayToObject(o, "curve");
    for (int w = 0; w < N_WIN; w++) {
        double lo = w ? window_end[w - 1] : 0, hi = window_end[w];
        double *fd = malloc(REPS * MAX_EVALS * sizeof *fd), *fid = malloc(REPS * MAX_EVALS * sizeof *fid),
               *rec = malloc(REPS * MAX_EVALS * sizeof *rec);
        int n = 0;
        for (int k = 0; fd && fid && rec && k < REPS; k++)
            for (int i = 0; i < runs[k]->n; i++)
                if (runs[k]->ev[i].steps > lo && runs[k]->ev[i].steps <= hi)
                    fd[n] = runs[k]->ev[i].fd, fid[n] = runs[k]->ev[i].fidelity, rec[n] = runs[k]->ev[i].recall, n++;
        fd_out[w] = median(fd, n);
        cJSON *pj = cJSON_CreateObject();
        cJSON_AddNumberToObject(pj, "steps_from", lo);
        cJSON_AddNumberToObject(pj, "steps_to", hi);
        cJSON_AddNumberToObject(pj, "evals", n);
        cJSON_AddNumberToObject(pj, "fd", fd_out[w]);
        cJSON_AddNumberToObject(pj, "fidelity", median(fid, n));
        cJSON_AddNumberToObject(pj, "recall", median(rec, n));
        cJSON_AddItemToArray(curve, pj);
        free(fd), free(fid), free(rec);
        if (n)
            printf("  %.0f-%.0f: %.0f (%d)", lo, hi, fd_out[w], n);
        else
            printf("  %.0f-%.0f: -", lo, hi);
    }
    printf("\n");
    return o;
}

cJSON *mtg_bench_lifelong(const struct mtg_cfg *base, const char *run_dir, struct mtg_err *err)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    struct run *runs = calloc(2 * REPS, sizeof *runs);
    char(*src)[64] = calloc(2 * REPS, sizeof *src);
    cJSON *out = cJSON_CreateObject();
    if (!cfg || !runs || !src || !out) {
        free(cfg), free(runs), free(src), cJSON_Delete(out);
        mtg_err_set(err, MTG_ENOMEM, "bench: out of memory");
        return NULL;
    }
    *cfg = *base;
    /* Known digits: by default some that look unlike and like a 7. One edge, plain loopback, so only the init
     * differs between the arms. */
    if (base->data.tasks.n > 0) {
        cfg->data.tasks.n = 0;
        for (int i = 0; i < base->data.tasks.n; i++)
            if (base->data.tasks.id[i] != NEW_DIGIT)
                cfg->data.tasks.id[cfg->data.tasks.n++] = base->data.tasks.id[i];
    } else {
        cfg->data.tasks = (struct mtg_cfg_ids){.n = 3, .id = {0, 1, 9}};
    }
    char known[160] = "";
    for (int i = 0; i < cfg->data.tasks.n; i++) {
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%sdigit-%d", i ? ", " : "", cfg->data.tasks.id[i]);
    }
    cfg->n_edges = 1;
    cfg->n_edge_profiles = 0;
    cfg->emulation.speed_factor = 1;
    cfg->emulation.link_mbps = 0;
    cfg->emulation.link_latency_ms = 0;
    cfg->scheduler.server.policy = MTG_CFG_SPOL_FIXED;
    cfg->scheduler.server.local_steps = 100;
    cfg->train.max_steps = 20000;
    cfg->train.eval_every = 20;
    char dir[700], known_state[800];
    snprintf(dir, sizeof dir, "%s/lifelong-known", run_dir);
    mkdir(dir, 0755);
    snprintf(known_state, sizeof known_state, "%.400s/state", dir);
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%.400s", known_state);
    mkdir(known_state, 0755);
    mtg_launch_clear_checkpoints(known_state);
    double known_s = -1;
    int n_known = 0;
    int rc = cfg->data.tasks.n > 0 ? MTG_OK : mtg_err_set(err, MTG_EINVAL, "bench lifelong: no known task but digit-7");
    if (rc == MTG_OK)
        rc = train_known(cfg, dir, &n_known, &known_s, err);
    if (rc == MTG_OK)
        printf("  known %s: %d of %d at target, the last after %.1f s (%s)\n", known, n_known, cfg->data.tasks.n,
               known_s, dir);
    /* Phase 2: small rounds, so evaluations land a few rounds apart; the budget counts the new task's steps. */
    cfg->scheduler.server.local_steps = NEW_LOCAL_STEPS;
    cfg->train.max_steps = NEW_MAX_STEPS;
    const uint64_t seed0 = cfg->seed;
    for (int k = 0; rc == MTG_OK && k < REPS; k++) {
        for (int scratch = 0; rc == MTG_OK && scratch < 2; scratch++) {
            struct run *r = &runs[scratch * REPS + k];
            cfg->seed = seed0 + 1 + (uint64_t)k; /* the same seed for both arms of a repetition */
            snprintf(dir, sizeof dir, "%s/lifelong-%d-%s", run_dir, k, scratch ? "scratch" : "warm");
            rc = run_new(cfg, known_state, dir, scratch, src[scratch * REPS + k], sizeof src[0], r, err);
            if (rc == MTG_OK)
                printf("  run %d %-7s %5.0f steps, %5.1f s to target%s%s\n", k, scratch ? "scratch" : "warm", r->steps,
                       run_time(r), src[scratch * REPS + k][0] ? ", warm-started from " : "",
                       src[scratch * REPS + k]);
        }
    }
    if (rc != MTG_OK) {
        free(cfg), free(runs), free(src), cJSON_Delete(out);
        return NULL;
    }
    cJSON_AddStringToObject(out, "known", known);
    cJSON_AddStringToObject(out, "new", "digit-7");
    cJSON_AddNumberToObject(out, "known_tasks_at_target", n_known);
    cJSON_AddNumberToObject(out, "known_tasks_to_target_s", known_s);
    cJSON_AddStringToObject(out, "target",
                            "full: fidelity, FD against the train-local reference, recall and coverage against the "
                            "real-vs-real ceiling");
    cJSON_AddNumberToObject(out, "local_steps", NEW_LOCAL_STEPS);
    cJSON_AddNumberToObject(out, "max_steps", NEW_MAX_STEPS);
    double sw, tw, ss, ts, fdw[N_WIN], fds[N_WIN];
    struct run *wr[REPS], *sr[REPS];
    for (int k = 0; k < REPS; k++)
        wr[k] = &runs[k], sr[k] = &runs[REPS + k];
    cJSON_AddItemToObject(out, "warm", arm_json("warm", wr, src, &sw, &tw, fdw));
    cJSON_AddItemToObject(out, "scratch", arm_json("scratch", sr, src + REPS, &ss, &ts, fds));
    cJSON *ra = cJSON_AddObjectToObject(out, "ratios"); /* warm / scratch; null when an arm has no value */
    double rs = sw > 0 && ss > 0 ? sw / ss : -1, rt = tw > 0 && ts > 0 ? tw / ts : -1;
    add_ratio(ra, "steps_to_target", rs);
    add_ratio(ra, "time_to_target", rt);
    cJSON *rf = cJSON_AddArrayToObject(ra, "fd_per_window"); /* the curve's windows */
    printf("  => warm/scratch: steps to target %s, time to target %s; FD per window", ratio_str(rs).s,
           ratio_str(rt).s);
    for (int w = 0; w < N_WIN; w++) {
        double r = fdw[w] > 0 && fds[w] > 0 ? fdw[w] / fds[w] : -1;
        cJSON_AddItemToArray(rf, r >= 0 ? cJSON_CreateNumber(r) : cJSON_CreateNull());
        printf(" %s", ratio_str(r).s);
    }
    printf("\n");
    free(cfg);
    free(runs);
    free(src);
    return out;
}
