/*
 * corebench.c - `mtgan bench core`: GAN training steps per second of both
 * DESIGN §4 networks (the digits MLP and DCGAN-28; batch 64, 1 thread)
 * against the same step in PyTorch (bench/torch_core.py, when Debian's
 * python3-torch is installed), and each step's GEMM work against the sgemm
 * bound: the GFLOP/s raw cblas_sgemm reaches on one large square product.
 * Everything is measured in this one run. Rates count the timing thread's
 * CPU time as well as wall time: on a shared machine the first is what the
 * step costs, the second what preemption left of it.
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

#define BATCH 64
#define SGEMM_N 512

struct rate {
    double wall, cpu; /* steps (or reps) per second of wall time / of this thread's CPU time */
};

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* GEMM-equivalent FLOPs of one forward of spec on `batch` samples (bench/torch_core.py's count). */
static double forward_flops(const struct mtg_net_spec *spec, int batch)
{
    double f = 0;
    int in[3] = {spec->in_shape[0], spec->in_shape[1], spec->in_shape[2]};
    for (int i = 0; i < spec->n_layers; i++) {
        struct mtg_net_spec upto = *spec;
        int out[3];
        upto.n_layers = i + 1;
        if (mtg_net_spec_out_shape(&upto, out) != MTG_OK)
            return 0;
        const struct mtg_layer_spec *l = &spec->layer[i];
        double k2 = (double)l->kernel * l->kernel;
        if (l->op == MTG_OP_DENSE)
            f += 2.0 * batch * in[0] * in[1] * in[2] * l->out;
        else if (l->op == MTG_OP_CONV2D)
            f += 2.0 * batch * out[0] * out[1] * out[2] * in[0] * k2;
        else if (l->op == MTG_OP_CONVT2D)
            f += 2.0 * batch * in[0] * in[1] * in[2] * out[0] * k2;
        memcpy(in, out, sizeof in);
    }
    return f;
}

/* One step: G(B), D on [real; fake] (2B), D on fake (B); backward costs twice the forward. */
static double step_flops(const struct mtg_gan_cfg *cfg)
{
    return 3.0 * (forward_flops(&cfg->g, BATCH) + forward_flops(&cfg->d, 2 * BATCH) + forward_flops(&cfg->d, BATCH));
}

static struct rate gan_rate(const struct mtg_gan_cfg *cfg, int warmup, int n)
{
    struct rate r = {0, 0};
    struct mtg_gan *g = mtg_gan_new(cfg, MTG_GAN_FULL, 1, NULL);
    int dim = 1;
    for (int i = 0; i < 3; i++)
        dim *= cfg->d.in_shape[i];
    float *real = malloc((size_t)BATCH * dim * sizeof(float));
    if (g && real) {
        struct mtg_rng rng;
        mtg_rng_seed(&rng, 3);
        mtg_rng_fill_uniform(&rng, real, (size_t)BATCH * dim, 0.0f, 1.0f);
        for (int i = 0; i < warmup; i++)
            mtg_gan_step(g, real, NULL);
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < n; i++)
            mtg_gan_step(g, real, NULL);
        r.cpu = n / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0);
        r.wall = n / (clock_s(CLOCK_MONOTONIC) - w0);
    }
    mtg_gan_free(g);
    free(real);
    return r;
}

/* GFLOP/s of cblas_sgemm on SGEMM_N^3, 1 thread: the most this machine's BLAS gives any step. */
static struct rate sgemm_bound(int reps)
{
    struct rate r = {0, 0};
    const size_t n = SGEMM_N;
    float *a = malloc(n * n * sizeof(float)), *b = malloc(n * n * sizeof(float)), *c = malloc(n * n * sizeof(float));
    if (a && b && c) {
        struct mtg_rng rng;
        mtg_rng_seed(&rng, 5);
        mtg_rng_fill_uniform(&rng, a, n * n, -1, 1);
        mtg_rng_fill_uniform(&rng, b, n * n, -1, 1);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, SGEMM_N, SGEMM_N, SGEMM_N, 1, a, SGEMM_N, b,
                    SGEMM_N, 0, c, SGEMM_N);
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        for (int i = 0; i < reps; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, SGEMM_N, SGEMM_N, SGEMM_N, 1, a, SGEMM_N, b,
                        SGEMM_N, 0, c, SGEMM_N);
        double flops = 2.0 * (double)n * n * n * reps;
        r.cpu = flops / (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
        r.wall = flops / (clock_s(CLOCK_MONOTONIC) - w0) / 1e9;
    }
    free(a), free(b), free(c);
    return r;
}

/* Runs bench/torch_core.py (both architectures) with Debian's python3; its JSON, or {"skipped": why}. */
static cJSON *torch_peer(void)
{
    const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    char cmd[256];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s bench/torch_core.py --arch both --json - 2>/dev/null", py);
    FILE *p = popen(cmd, "r");
    size_t len = 0, cap = 1 << 16;
    char *text = malloc(cap);
    if (p && text) {
        size_t got;
        while ((got = fread(text + len, 1, cap - 1 - len, p)) > 0)
            len += got; /* a line longer than cap - 1 stops at cap - 1 and fails to parse: "skipped" */
        text[len] = '\0';
    }
    if (p)
        pclose(p);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!o) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "skipped", "bench/torch_core.py did not run (not in the repo root, or "
                                              "python3-torch missing: build/deps.sh --bench)");
    }
    return o;
}

static double number_at(const cJSON *o, const char *arch, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, arch), key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static cJSON *arch_row(const char *name, const struct mtg_gan_cfg *cfg, int warmup, int steps, struct rate bound,
                       const cJSON *peer)
{
    struct rate c = gan_rate(cfg, warmup, steps);
    double flops = step_flops(cfg), t = number_at(peer, name, "torch_steps_s"),
           t_cpu = number_at(peer, name, "torch_steps_per_cpu_s");
    double frac = bound.cpu > 0 ? c.cpu * flops / 1e9 / bound.cpu : 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "c_steps_s", c.wall);
    cJSON_AddNumberToObject(o, "c_steps_per_cpu_s", c.cpu);
    cJSON_AddNumberToObject(o, "flops_per_step", flops);
    cJSON_AddNumberToObject(o, "c_gflops_per_cpu_s", c.cpu * flops / 1e9);
    cJSON_AddNumberToObject(o, "fraction_of_sgemm_bound", frac);
    printf("  %-5s C:       %9.2f steps/s (%9.2f per CPU-s)  %8.1f MFLOP/step  %6.1f GFLOP/CPU-s = %.2f of the "
           "sgemm bound\n",
           name, c.wall, c.cpu, flops / 1e6, c.cpu * flops / 1e9, frac);
    if (t > 0) {
        cJSON_AddNumberToObject(o, "torch_steps_s", t);
        cJSON_AddNumberToObject(o, "torch_steps_per_cpu_s", t_cpu);
        cJSON_AddNumberToObject(o, "c_over_torch", c.wall / t);
        cJSON_AddNumberToObject(o, "c_over_torch_cpu", t_cpu > 0 ? c.cpu / t_cpu : 0);
        printf("  %-5s PyTorch: %9.2f steps/s (%9.2f per CPU-s); C / PyTorch = %.2f (%.2f per CPU-s)\n", name, t,
               t_cpu, c.wall / t, t_cpu > 0 ? c.cpu / t_cpu : 0);
    }
    return o;
}

cJSON *mtg_bench_core(int steps)
{
    openblas_set_num_threads(1);
    const int dcgan_steps = steps / 100 > 10 ? steps / 100 : 10;
    struct rate bound = sgemm_bound(40);
    printf("  sgemm bound: cblas_sgemm %dx%dx%d, 1 thread: %.1f GFLOP/s (%.1f per CPU-s)\n", SGEMM_N, SGEMM_N,
           SGEMM_N, bound.wall, bound.cpu);
    cJSON *peer = torch_peer();
    const char *skipped = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(peer, "skipped"));
    if (skipped)
        printf("  PyTorch peer skipped: %s\n", skipped);
    struct mtg_gan_cfg mlp, dcgan;
    mtg_gan_cfg_default(&mlp, 64);
    mtg_gan_cfg_default(&dcgan, 28 * 28);
    mtg_net_spec_dcgan28_g(&dcgan.g, 64, 64);
    mtg_net_spec_dcgan28_d(&dcgan.d, 64, 0);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sgemm_gflops", bound.wall);
    cJSON_AddNumberToObject(o, "sgemm_gflops_per_cpu_s", bound.cpu);
    cJSON_AddItemToObject(o, "mlp", arch_row("mlp", &mlp, 200, steps, bound, peer));
    cJSON_AddItemToObject(o, "dcgan", arch_row("dcgan", &dcgan, 3, dcgan_steps, bound, peer));
    cJSON_AddItemToObject(o, "pytorch", peer);
    return o;
}
