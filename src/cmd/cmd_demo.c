/*
 * mtgan demo - an embedded server and N edge processes on 127.0.0.1, on
 * data.dataset (the bundled digits by default; --dataset fashion-mnist or
 * ring), with the configured heterogeneity profile. Prints progress, then a
 * per-task table; writes sample PNGs (image grids, or a scatter plot for the
 * ring) and (with --json) the summary. It prints the dashboard's URL at
 * start; with --serve the server (and the page) stays up after training
 * until Ctrl-C or SIGTERM. Ctrl-C stops everything cleanly.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmds.h"
#include "config/config.h"
#include "core/log.h"
#include "core/process.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/ring.h"
#include "edge/client.h"
#include "launch/launch.h"
#include "quality/summary.h"
#include "server/export.h"
#include "server/server.h"
#include "wire/blob.h"

static atomic_int demo_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&demo_stop, 1);
}

struct run_ctx {
    struct mtg_srv *srv;
    atomic_int stop;
};

static void *server_thread(void *p)
{
    struct run_ctx *c = p;
    struct mtg_err err = {0};
    mtg_srv_run(c->srv, &c->stop, 0, &err);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress(const struct mtg_srv_status *st, const struct mtg_srv_task_status *ts, double t0,
                     const struct mtg_cfg *cfg)
{
    int reached = 0, evaluated = 0;
    double fid = 0, fd = 0, budget = 0;
    for (int t = 0; t < st->n_tasks; t++) {
        reached += ts[t].reached_s >= 0 || !ts[t].active;
        if (ts[t].evaluated) {
            evaluated++;
            fid += ts[t].fidelity;
            fd += ts[t].fd;
        }
        double b = cfg->train.max_steps > 0 ? (double)ts[t].steps / (double)cfg->train.max_steps : 0;
        budget += (ts[t].reached_s >= 0 || !ts[t].active) ? 1.0 : (b > 1 ? 1 : b);
    }
    double elapsed = now_s() - t0, frac = st->n_tasks ? budget / st->n_tasks : 0;
    char eta[32] = "?";
    if (frac > 0.02)
        snprintf(eta, sizeof eta, "%.0fs", elapsed * (1 - frac) / frac);
    printf("[%6.1fs] %s %-5s %6llu | done %2d/%d | fidelity %.3f | FD %7.2f | edges %d | in %.1f MB out %.1f MB | ETA %s\n",
           elapsed, st->protocol ? "step " : "round", st->protocol ? "" : "", (unsigned long long)st->round, reached,
           st->n_tasks, evaluated ? fid / evaluated : 0, evaluated ? fd / evaluated : 0, st->edges_alive,
           (double)st->bytes_in / 1e6, (double)st->bytes_out / 1e6, eta);
    fflush(stdout);
}

/* The ring's samples are points: drawn as a scatter plot over the 8 mode centres. */
static void write_ring_plot(const struct mtg_client_resp *r, const char *file)
{
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    if (mtg_blob_decode(r->body, r->len, NULL, &b, &err) != MTG_OK)
        return;
    const struct mtg_blob_tensor *x = mtg_blob_find(b, "samples");
    float centres[2 * MTG_DATA_RING_MODES];
    for (int k = 0; k < MTG_DATA_RING_MODES; k++)
        mtg_data_ring_centre(k, centres + 2 * k);
    if (x && x->rank == 2 && x->dims[1] == 2)
        mtg_image_write_scatter_png(file, x->data, (int)x->dims[0], centres, MTG_DATA_RING_MODES, 3.0f, 512, &err);
    mtg_blob_free(b);
}

static void write_samples(unsigned port, const struct mtg_srv_task_status *ts, int n, const char *dir, int images)
{
    struct mtg_client_opts co = {.base_url = "http://127.0.0.1", .max_attempts = 2};
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u", port);
    co.base_url = base;
    struct mtg_client *c;
    struct mtg_err err = {0};
    if (mtg_client_new(&co, &c, &err) != MTG_OK)
        return;
    for (int t = 0; t < n; t++) {
        char path[256], file[1200];
        snprintf(path, sizeof path, "/v1/tasks/%s/samples?n=%d&format=%s", ts[t].id, images ? 64 : 1000,
                 images ? "png" : "blob");
        struct mtg_client_resp r = {0};
        snprintf(file, sizeof file, "%s/%s.png", dir, ts[t].id);
        int ok = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &r, &err) == MTG_OK && r.status == 200;
        if (ok && !images) {
            write_ring_plot(&r, file);
        } else if (ok) {
            FILE *f = fopen(file, "wb");
            if (f) {
                fwrite(r.body, 1, r.len, f);
                fclose(f);
            }
        }
        mtg_client_resp_deinit(&r);
    }
    mtg_client_free(c);
}

/* The URL a browser on this machine opens: a wildcard bind is reached on loopback. */
static void dashboard_url(const struct mtg_cfg *cfg, unsigned port, char *out, size_t n)
{
    const char *host = cfg->bind[0] ? cfg->bind : "127.0.0.1";
    if (strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    snprintf(out, n, strchr(host, ':') ? "http://[%s]:%u/" : "http://%s:%u/", host, port);
}

/* --serve: training is over, the page stays up until Ctrl-C or SIGTERM. */
static void serve_until_stopped(const char *url)
{
    printf("mtgan demo: training finished; the dashboard stays up at %s until Ctrl-C\n", url);
    fflush(stdout);
    while (!atomic_load(&demo_stop)) {
        struct timespec pause = {0, 100000000L};
        nanosleep(&pause, NULL);
    }
}

int mtg_cmd_demo(int argc, char **argv)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    struct mtg_srv_task_status *ts = calloc(MTG_SUMMARY_MAX_TASKS, sizeof *ts);
    struct mtg_summary *sum = calloc(1, sizeof *sum);
    if (!cfg || !ts || !sum)
        return 1;
    mtg_cfg_defaults(cfg);
    cfg->port = 0;
    struct mtg_cfg_args extra;
    struct mtg_err err = {0};
    int rc = mtg_cfg_cli(cfg, MTG_CFG_BIN_DEMO, argc, argv, &extra, 0);
    if (rc >= 0) {
        free(cfg), free(ts), free(sum);
        return rc;
    }
    rc = MTG_OK;
    mtg_process_single_blas();
    const char *proto = mtg_cfg_protocol_name(cfg->protocol);
    char run_dir[256];
    snprintf(run_dir, sizeof run_dir, "runs/demo-%s", proto);
    mkdir("runs", 0755);
    mkdir(run_dir, 0755);
    if (strcmp(cfg->state_dir, "mtgan-state") == 0)
        snprintf(cfg->state_dir, sizeof cfg->state_dir, "%s/state", run_dir);
    mkdir(cfg->state_dir, 0755);
    mtg_launch_clear_checkpoints(cfg->state_dir);
    /* A committed centralised reference (train-local --json) makes the target FD-aware (DESIGN §11). */
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)cfg->data.dataset);
    if (!cfg->train.reference[0] && kind->side > 0) {
        char ref[MTG_CFG_PATH_MAX + 48];
        int n = snprintf(ref, sizeof ref, "%s/reference-%s.json", cfg->data.dir, kind->name);
        if (n > 0 && (size_t)n < sizeof cfg->train.reference && access(ref, R_OK) == 0)
            memcpy(cfg->train.reference, ref, (size_t)n + 1);
    }
    mtg_process_on_stop(on_signal);

    printf("mtgan demo: protocol %s, dataset %s, %d edges, output in %s/\n", proto, kind->name, cfg->n_edges,
           run_dir);
    if (!cfg->train.reference[0])
        printf("mtgan demo: no train.reference: tasks are done at fidelity >= %.2f or their step budget\n",
               cfg->train.target_fidelity);
    struct run_ctx ctx = {0};
    struct mtg_launch *l = NULL;
    pthread_t th;
    int have_thread = 0;
    rc = mtg_srv_new(cfg, &ctx.srv, &err);
    if (rc == MTG_OK) {
        rc = mtg_launch_new(cfg, run_dir, &l, &err);
        have_thread = pthread_create(&th, NULL, server_thread, &ctx) == 0;
    }
    unsigned port = rc == MTG_OK ? mtg_srv_port(ctx.srv) : 0;
    char url[128] = "";
    int served = 0;
    if (rc == MTG_OK) {
        dashboard_url(cfg, port, url, sizeof url);
        printf("mtgan demo: dashboard at %s\n", url);
        fflush(stdout);
        rc = mtg_launch_edges(l, port, &err);
    }
    double t0 = now_s(), last = 0;
    struct mtg_srv_status st = {0};
    while (rc == MTG_OK && !atomic_load(&demo_stop)) {
        struct timespec pause = {0, 200000000L};
        nanosleep(&pause, NULL);
        mtg_srv_status(ctx.srv, &st, ts, MTG_SUMMARY_MAX_TASKS);
        if (now_s() - last >= 2.0 || st.done) {
            progress(&st, ts, t0, cfg);
            last = now_s();
        }
        if (st.done)
            break;
        if (mtg_launch_edges_alive(l) == 0) {
            rc = mtg_err_set(&err, MTG_EIO, "every edge process exited (see %s/edge-*.log)", run_dir);
            break;
        }
    }
    double wall = now_s() - t0;
    if (rc == MTG_OK) {
        write_samples(port, ts, st.n_tasks, run_dir, kind->side > 0);
        /* The final globals, for anyone's own judge: `mtgan sample --model`, `mtgan eval --model-dir`. */
        /* Absolute, so index.json's paths resolve from anywhere (mtgan eval --model-dir runs/demo-...). */
        char abs_dir[PATH_MAX];
        rc = mtg_srv_export(ctx.srv, realpath(run_dir, abs_dir) ? abs_dir : run_dir, NULL, &err);
        snprintf(sum->protocol, sizeof sum->protocol, "%s", proto);
        sum->wall_s = wall;
        /* Embedded server: this process's VmHWM (it also holds the demo driver; mtgan bench measures a bare server). */
        sum->server_peak_rss_bytes = mtg_process_mem_bytes(0, "VmHWM");
        sum->bytes_sent = st.bytes_in;
        sum->bytes_received = st.bytes_out;
        for (int t = 0; t < st.n_tasks; t++) {
            struct mtg_summary_task row = {.fidelity = ts[t].fidelity, .fd = ts[t].fd, .precision = ts[t].precision,
                                           .recall = ts[t].recall, .coverage = ts[t].coverage,
                                           .ceiling = ts[t].ceiling, .steps = ts[t].steps,
                                           .reached_s = ts[t].reached_s};
            snprintf(row.id, sizeof row.id, "%s", ts[t].id);
            mtg_summary_add(sum, &row);
        }
        mtg_summary_print(stdout, sum);
        printf("sample grids: %s/<task>.png; generators: %s/<task>.generator.blob; logs: %s/edge-*.log\n", run_dir,
               run_dir, run_dir);
        if (cfg->json_out[0])
            rc = mtg_summary_write_json(sum, cfg->json_out, &err);
        if (cfg->serve && !atomic_load(&demo_stop) && rc == MTG_OK) {
            serve_until_stopped(url);
            served = 1;
        }
    }
    atomic_store(&ctx.stop, 1);
    if (have_thread)
        pthread_join(th, NULL);
    mtg_launch_free(l);
    mtg_srv_free(ctx.srv);
    if (atomic_load(&demo_stop))
        printf(served ? "mtgan demo: stopped\n" : "mtgan demo: interrupted\n");
    if (rc != MTG_OK)
        fprintf(stderr, "mtgan demo: %s\n", err.msg);
    free(cfg);
    free(ts);
    free(sum);
    return rc == MTG_OK ? 0 : 1;
}
