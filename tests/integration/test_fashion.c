/*
 * test_fashion.c - data.dataset fashion-mnist end to end: a real
 * mtgan-server and 2 mtgan-edge processes on 127.0.0.1 train two
 * Fashion-MNIST tasks (T-shirt/top and Trouser) from the Debian package
 * dataset-fashion-mnist with the default preset (auto: DCGAN-28 on 28x28
 * images, at width 8 to stay fast), on a 100-images-per-class slice
 * (--limit-per-class) and a small step budget, in deterministic mode. A
 * train.reference with an unreachable FD keeps both tasks training to the
 * budget, so "done" means the budget was spent. Checks: training completes,
 * GET /v1/tasks/fashion-1/samples?format=png is a grid of 28x28 cells
 * (from the PNG header), the samples as a blob are 784 values in [0, 1],
 * and the task JSON carries the quality fields and the real-vs-real ceiling.
 * A server pointed at a directory without the files refuses to start and
 * names the package and data.path (runs without the package too).
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/fashion.h"
#include "proc.h"
#include "wire/blob.h"

#define N_EDGES 2
#define STEPS 600
#define PER_CLASS 100
#define TRAIN_TIMEOUT_S 120.0

static void fini(void) { tp_cleanup(); }

TestSuite(fashion, .fini = fini, .timeout = 420); /* TRAIN_TIMEOUT_S x tp_time_scale() governs */

static int have_package(void)
{
    static const char *const files[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s", MTG_DATA_FASHION_DIR, files[i]);
        if (access(p, R_OK) != 0)
            return 0;
    }
    return 1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static double number(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "no number \"%s\"", key);
    return v->valuedouble;
}

Test(fashion, two_edges_train_two_tasks_to_the_budget)
{
    if (!have_package())
        cr_skip_test("Fashion-MNIST not installed in " MTG_DATA_FASHION_DIR
                     " (Debian package " MTG_DATA_FASHION_PACKAGE ")");
    char dir[256], cfg[320], ref[320], text[2048];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(ref, sizeof ref, "%s/reference.json", dir);
    /* fd_ref so small that no generator meets 1.2x it: both tasks train to the step budget. */
    cr_assert_eq(tp_write_file(ref, "{\"tasks\": {\"fashion-0\": {\"fd_ref\": 0.001}, "
                                    "\"fashion-1\": {\"fd_ref\": 0.001}}}\n"),
                 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text,
             "{\"seed\": 5, \"log_level\": \"info\", \"state_dir\": \"%s/state\", \"n_edges\": %d,\n"
             " \"data\": {\"dataset\": \"fashion-mnist\", \"tasks\": [0, 1], \"limit_per_class\": %d,\n"
             "          \"partition\": {\"tasks_per_edge_min\": 10, \"tasks_per_edge_max\": 10}},\n"
             " \"tasks\": [{\"id\": \"fashion-0\", \"generator\": {\"width\": 8}, \"discriminator\": {\"width\": 8}},\n"
             "           {\"id\": \"fashion-1\", \"generator\": {\"width\": 8}, \"discriminator\": {\"width\": 8}}],\n"
             " \"scheduler\": {\"server\": {\"local_steps\": 100}},\n"
             " \"train\": {\"max_steps\": %d, \"eval_every\": 200, \"deterministic\": true,\n"
             "           \"reference\": \"%s\"}}\n",
             dir, N_EDGES, PER_CLASS, STEPS, ref);
    cr_assert_eq(tp_write_file(cfg, text), 0);

    double t0 = tp_now_s();
    struct tp_server s;
    cr_assert_eq(tp_server_start(&s, cfg, dir, NULL), 0, "server did not start (see %s)", s.log);
    pid_t edges[N_EDGES];
    for (int i = 0; i < N_EDGES; i++) {
        char id[32];
        snprintf(id, sizeof id, "edge-%d", i);
        edges[i] = tp_edge_start(cfg, s.port, dir, id, i, N_EDGES, NULL);
        cr_assert_gt(edges[i], 0, "cannot start %s", id);
    }
    double limit = TRAIN_TIMEOUT_S * tp_time_scale();
    cr_assert_eq(tp_wait_status(s.port, "done", 1, limit), 0, "not done after %.0f s (logs in %s)", limit, dir);
    cr_log_info("fashion: %d steps of 2 tasks on %d edges in %.1f s", STEPS, N_EDGES, tp_now_s() - t0);

    /* Both tasks spent their budget and were judged by the Fashion-MNIST classifier. */
    static const char *const ids[] = {"fashion-0", "fashion-1"};
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/tasks/%s", ids[k]);
        cJSON *t = tp_get_json(s.port, path);
        cr_assert_not_null(t, "GET %s", path);
        cr_expect_geq(number(t, "steps"), STEPS, "%s", ids[k]);
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(t, "quality");
        cr_assert(cJSON_IsObject(q), "%s has no quality", ids[k]);
        static const char *const unit[] = {"fidelity", "precision", "recall", "coverage"};
        for (size_t i = 0; i < sizeof unit / sizeof unit[0]; i++) {
            double v = number(q, unit[i]);
            cr_expect(v >= 0 && v <= 1, "%s %s = %g", ids[k], unit[i], v);
        }
        double fd = number(q, "fd");
        cr_expect(isfinite(fd) && fd > 0, "%s fd = %g", ids[k], fd);
        cr_expect_geq(number(q, "steps"), STEPS, "%s judged before the end", ids[k]);
        const cJSON *ce = cJSON_GetObjectItemCaseSensitive(t, "ceiling");
        cr_assert(cJSON_IsObject(ce), "%s has no real-vs-real ceiling", ids[k]);
        cr_expect_eq(number(ce, "n"), PER_CLASS, "ceiling of the train slice");
        cr_log_info("%s: fidelity %.3f fd %.2f P %.2f R %.2f C %.2f (ceiling fidelity %.3f fd %.2f R %.2f)", ids[k],
                    number(q, "fidelity"), fd, number(q, "precision"), number(q, "recall"), number(q, "coverage"),
                    number(ce, "fidelity"), number(ce, "fd"), number(ce, "recall"));
        cJSON_Delete(t);
    }
    struct tp_resp r;
    cr_assert_eq(tp_get(s.port, "/v1/tasks/digit-0", &r), 0);
    cr_expect_eq(r.status, 404, "a fashion-mnist server has no digit tasks");
    tp_resp_free(&r);

    /* The PNG grid: 16 cells in one row, each 28x28 pixels times the scale, 1-pixel borders. */
    cr_assert_eq(tp_get(s.port, "/v1/tasks/fashion-1/samples?n=16&format=png", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body ? r.body : "");
    cr_expect_str_eq(r.ctype, "image/png");
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert_geq(r.len, 33u);
    cr_assert_eq(memcmp(r.body, sig, 8), 0, "not a PNG");
    cr_assert_eq(memcmp(r.body + 12, "IHDR", 4), 0);
    uint32_t w = be32((const unsigned char *)r.body + 16), h = be32((const unsigned char *)r.body + 20);
    uint32_t scale = h / 30;
    cr_expect_eq(h, 30 * scale, "height %u is not (28 + 2 borders) x scale", h);
    cr_expect_eq(w, (16 * 29 + 1) * scale, "width %u is not 16 cells of 28 + borders at scale %u", w, scale);
    cr_expect_geq(scale, 2u, "28x28 samples are upscaled to be seen");
    tp_resp_free(&r);

    /* The same samples as numbers: 784 per row, all in [0, 1], not a constant image. */
    cr_assert_eq(tp_get(s.port, "/v1/tasks/fashion-1/samples?n=16&format=blob", &r), 0);
    cr_assert_eq(r.status, 200);
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_blob_decode((const uint8_t *)r.body, r.len, NULL, &b, &err), MTG_OK, "%s", err.msg);
    const struct mtg_blob_tensor *x = mtg_blob_find(b, "samples");
    cr_assert_not_null(x);
    cr_assert_eq(x->rank, 2);
    cr_expect_eq(x->dims[0], 16u);
    cr_expect_eq(x->dims[1], 784u);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < x->n; i++) {
        cr_assert(x->data[i] >= 0.0f && x->data[i] <= 1.0f, "sample value %zu = %g", i, (double)x->data[i]);
        lo = x->data[i] < lo ? x->data[i] : lo;
        hi = x->data[i] > hi ? x->data[i] : hi;
    }
    cr_expect_gt(hi - lo, 0.5f, "samples span [%g, %g]", (double)lo, (double)hi);
    mtg_blob_free(b);
    tp_resp_free(&r);

    for (int i = 0; i < N_EDGES; i++)
        tp_stop(edges[i], SIGTERM, 5000);
    tp_stop(s.pid, SIGTERM, 5000);
}

/* No IDX files where data.path points: the server says which package to install or which key to set. */
Test(fashion, missing_files_are_named_before_start)
{
    char dir[256], cfg[320], text[1024];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(text, sizeof text, "{\"state_dir\": \"%s/state\", \"data\": {\"dataset\": \"fashion-mnist\", \"path\": \"%s\"}}\n",
             dir, dir);
    cr_assert_eq(tp_write_file(cfg, text), 0);
    struct tp_server s;
    cr_assert_neq(tp_server_start(&s, cfg, dir, NULL), 0, "a server without data started");
    char *log = tp_read_file(s.log, NULL);
    cr_assert(log && strstr(log, MTG_DATA_FASHION_PACKAGE) && strstr(log, "data.path"),
              "the error does not name the package and data.path: %s", log ? log : "(no log)");
    free(log);
}
