/*
 * corebench.c - `mtgan bench core`: GAN training steps per second of the
 * default network (batch 64, 1 thread) against the same step in PyTorch
 * (bench/peer_torch.py, when Debian's python3-torch is installed), and a
 * dense layer's forward+backward GFLOP/s against raw cblas_sgemm on the
 * same shapes. Everything is measured in this one run.
 */
#include "launch/bench.h"
#include "core/gan.h"
#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"

#include <cJSON.h>
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double gan_steps_per_s(int n)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 64);
    struct mtg_gan *g = mtg_gan_new(&cfg, MTG_GAN_FULL, 1, NULL);
    float *real = malloc(64 * 64 * sizeof(float));
    if (!g || !real) {
        mtg_gan_free(g);
        free(real);
        return 0;
    }
    struct mtg_rng r;
    mtg_rng_seed(&r, 3);
    mtg_rng_fill_uniform(&r, real, 64 * 64, 0.0f, 1.0f);
    for (int i = 0; i < 200; i++)
        mtg_gan_step(g, real, NULL);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        mtg_gan_step(g, real, NULL);
    double dt = now_s() - t0;
    mtg_gan_free(g);
    free(real);
    return n / dt;
}

/* Dense 64 x 256 -> 256 (ReLU): forward + backward with parameter and input gradients. */
static void dense_vs_sgemm(int reps, double *layer_gflops, double *sgemm_gflops)
{
    const int b = 64, k = 256, n = 256;
    const struct mtg_net_spec s = {.in_shape = {k, 1, 1}, .n_layers = 1,
                                   .layer = {{.op = MTG_OP_DENSE, .out = n, .act = MTG_ACT_RELU}}};
    struct mtg_net *m = mtg_net_new(&s, b, NULL);
    float *x = malloc((size_t)b * k * sizeof(float)), *dy = malloc((size_t)b * n * sizeof(float));
    float *w = malloc((size_t)k * n * sizeof(float)), *y = malloc((size_t)b * n * sizeof(float));
    float *dw = malloc((size_t)k * n * sizeof(float)), *dx = malloc((size_t)b * k * sizeof(float));
    struct mtg_rng r;
    mtg_rng_seed(&r, 5);
    if (m && x && dy && w && y && dw && dx) {
        mtg_net_init_params(m, &r);
        mtg_rng_fill_uniform(&r, x, (size_t)b * k, -1, 1);
        mtg_rng_fill_uniform(&r, dy, (size_t)b * n, -1, 1);
        mtg_rng_fill_uniform(&r, w, (size_t)k * n, -1, 1);
        const double flops = 3.0 * 2.0 * b * k * n;
        double t0 = now_s();
        for (int i = 0; i < reps; i++) {
            mtg_net_forward(m, x, b);
            mtg_net_backward(m, dy, b, MTG_NET_PARAM_GRAD | MTG_NET_INPUT_GRAD);
        }
        *layer_gflops = flops * reps / (now_s() - t0) / 1e9;
        t0 = now_s();
        for (int i = 0; i < reps; i++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, n, k, 1, x, k, w, n, 0, y, n);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, b, 1, x, k, dy, n, 1, dw, n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, k, n, 1, dy, n, w, n, 0, dx, k);
        }
        *sgemm_gflops = flops * reps / (now_s() - t0) / 1e9;
    }
    mtg_net_free(m);
    free(x), free(dy), free(w), free(y), free(dw), free(dx);
}

/* Runs bench/peer_torch.py with Debian's python3 and parses its JSON line. */
static cJSON *torch_peer(int steps)
{
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s bench/peer_torch.py %d 2>/dev/null", py, steps);
    FILE *p = popen(cmd, "r");
    char line[1024] = "";
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = '\0';
        pclose(p);
    }
    cJSON *o = cJSON_Parse(line);
    if (!o) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "skipped", "bench/peer_torch.py did not run (not in the repo root, or python3 missing)");
    }
    return o;
}

cJSON *mtg_bench_core(int steps)
{
    openblas_set_num_threads(1);
    cJSON *o = cJSON_CreateObject();
    double c = gan_steps_per_s(steps), layer = 0, raw = 0;
    dense_vs_sgemm(steps, &layer, &raw);
    cJSON_AddNumberToObject(o, "c_steps_per_s", c);
    cJSON_AddNumberToObject(o, "dense_gflops", layer);
    cJSON_AddNumberToObject(o, "sgemm_gflops", raw);
    cJSON_AddNumberToObject(o, "dense_fraction_of_sgemm", raw > 0 ? layer / raw : 0);
    printf("  C GAN step (batch 64, 1 thread): %8.0f steps/s\n", c);
    printf("  dense 64x256x256 fwd+bwd: %6.1f GFLOP/s; raw cblas_sgemm same shapes: %6.1f GFLOP/s; fraction %.2f\n",
           layer, raw, raw > 0 ? layer / raw : 0);
    cJSON *peer = torch_peer(steps);
    cJSON *sps = cJSON_GetObjectItemCaseSensitive(peer, "steps_per_s");
    if (cJSON_IsNumber(sps) && sps->valuedouble > 0) {
        printf("  PyTorch %s same step: %8.0f steps/s; C / PyTorch = %.2f\n",
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(peer, "version")), sps->valuedouble,
               c / sps->valuedouble);
        cJSON_AddNumberToObject(o, "c_over_pytorch", c / sps->valuedouble);
    } else {
        printf("  PyTorch peer skipped: %s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(peer, "skipped")));
    }
    cJSON_AddItemToObject(o, "pytorch", peer);
    return o;
}
