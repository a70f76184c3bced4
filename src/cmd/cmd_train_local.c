/*
 * mtgan train-local - the centralised single-process reference: one G/D
 * pair per class of the image dataset (digits, fashion-mnist) trained on
 * all of that class's training data (up to data.limit_per_class) with the
 * default networks. Distributed runs are judged against its FD and recall.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/cmds.h"
#include "config/config.h"
#include "core/gan.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/process.h"
#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/shard.h"
#include "quality/evaluator.h"
#include "quality/quality.h"
#include "quality/summary.h"
#include "server/export.h"
#include "wire/blob.h"

#define EVAL_SAMPLES 500
#define REF_EVALS 5 /* the reference is the median of this many last evaluations: one is too noisy */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int train_task(const struct mtg_cfg *cfg, const struct mtg_dataset *train, const struct mtg_quality *q,
                      int label, const char *out_dir, struct mtg_summary_task *row, struct mtg_err *err)
{
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)cfg->data.dataset);
    const int dim = kind->dim;
    char id[32];
    if (mtg_data_kind_task_id((int)cfg->data.dataset, label, id, sizeof id) != MTG_OK)
        return mtg_err_set(err, MTG_ERANGE, "train-local: %s has no class %d", kind->name, label);
    struct mtg_dataset *sub = NULL;
    int rc = mtg_data_class_subset(train, label, &sub, err);
    if (rc != MTG_OK)
        return rc;
    struct mtg_gan_cfg gc;
    rc = mtg_cfg_gan(cfg, id, dim, &gc, err);
    struct mtg_gan *gan = NULL;
    float *real = NULL, *x = NULL;
    if (rc == MTG_OK) {
        uint64_t h = 1469598103934665603ULL;
        for (const char *p = id; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        gan = mtg_gan_new(&gc, MTG_GAN_FULL, cfg->seed ^ h, err);
        real = malloc((size_t)gc.batch * (size_t)dim * sizeof(float));
        x = malloc((size_t)EVAL_SAMPLES * (size_t)dim * sizeof(float));
        if (!gan || !real || !x)
            rc = gan ? mtg_err_set(err, MTG_ENOMEM, "train-local: out of memory") : err->code;
    }
    struct mtg_rng rng;
    mtg_rng_seed(&rng, cfg->seed + (uint64_t)label);
    memset(row, 0, sizeof *row);
    snprintf(row->id, sizeof row->id, "%s", id);
    row->reached_s = -1;
    double t0 = now_s();
    const int64_t steps = cfg->train.max_steps;
    const int every = cfg->train.eval_every > 0 ? cfg->train.eval_every : (int)steps;
    struct mtg_gan_stats st = {0};
    double fds[REF_EVALS], recalls[REF_EVALS];
    int n_ref = 0;
    for (int64_t s = 1; rc == MTG_OK && s <= steps; s++) {
        mtg_data_batch(mtg_data_x(sub), mtg_data_n(sub), dim, gc.batch, &rng, real);
        mtg_gan_step(gan, real, &st);
        if (s % every != 0 && s != steps)
            continue;
        struct mtg_quality_task r;
        mtg_gan_sample(gan, x, EVAL_SAMPLES, 12345);
        rc = mtg_quality_eval_task(q, label, x, EVAL_SAMPLES, &r, err);
        if (rc != MTG_OK)
            break;
        mtg_summary_task_set_quality(row, &r, mtg_quality_ceiling(q, label));
        row->steps = (uint64_t)s;
        fds[n_ref % REF_EVALS] = r.fd;
        recalls[n_ref % REF_EVALS] = r.recall;
        n_ref++;
        if (row->reached_s < 0 && r.fidelity >= cfg->train.target_fidelity)
            row->reached_s = now_s() - t0;
        mtg_log(MTG_LOG_INFO, "train-local",
                "%s step %lld d_loss %.3f g_loss %.3f fidelity %.3f fd %.2f P %.2f R %.2f C %.2f", id, (long long)s,
                (double)st.d_loss, (double)st.g_loss, r.fidelity, r.fd, r.precision, r.recall, r.coverage);
    }
    if (rc == MTG_OK) {
        int k = n_ref < REF_EVALS ? n_ref : REF_EVALS;
        row->fd_ref = median(fds, k);
        row->recall_ref = median(recalls, k);
    }
    if (rc == MTG_OK && out_dir) {
        char path[1024];
        struct mtg_blob *b = mtg_blob_new(err);
        /* The generator that is sampled (the EMA with model.ema) is the one exported. */
        struct mtg_net *served = mtg_gan_generator_ema(gan) ? mtg_gan_generator_ema(gan) : mtg_gan_generator(gan);
        /* With its spec tensors, so `mtgan sample --model` rebuilds any architecture. */
        rc = b ? mtg_srv_net_to_blob(served, "g", b, err) : MTG_ENOMEM;
        snprintf(path, sizeof path, "%s/%s.generator.blob", out_dir, id);
        if (rc == MTG_OK)
            rc = mtg_blob_write_file(b, path, 0, err);
        mtg_blob_free(b);
        snprintf(path, sizeof path, "%s/%s.png", out_dir, id);
        mtg_gan_sample(gan, x, 64, 7);
        if (rc == MTG_OK)
            rc = mtg_image_write_grid_png(path, x, 64, kind->side, kind->side, 8, mtg_image_scale_for_side(kind->side),
                                          err);
    }
    mtg_gan_free(gan);
    mtg_data_free(sub);
    free(real);
    free(x);
    return rc;
}

int mtg_cmd_train_local(int argc, char **argv)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    mtg_cfg_defaults(cfg);
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "runs/train-local");
    struct mtg_cfg_args extra;
    struct mtg_err err = {0};
    int rc = mtg_cfg_cli(cfg, MTG_CFG_BIN_TRAIN_LOCAL, argc, argv, &extra, 0);
    if (rc >= 0) {
        free(cfg);
        return rc;
    }
    const struct mtg_data_kind_info *kind = mtg_data_kind_info((int)cfg->data.dataset);
    if (kind->side == 0) {
        fprintf(stderr, "mtgan train-local: data.dataset %s has no classes to train one by one; it trains with "
                        "mtgan demo --dataset %s (or mtgan-server + mtgan-edge)\n", kind->name, kind->name);
        free(cfg);
        return 2;
    }
    mtg_process_single_blas();
    mkdir("runs", 0755);
    if (mkdir(cfg->state_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mtgan train-local: cannot create %s: %s\n", cfg->state_dir, strerror(errno));
        free(cfg);
        return 1;
    }
    struct mtg_dataset *train = NULL;
    struct mtg_quality *q = NULL;
    struct mtg_summary *sum = calloc(1, sizeof *sum);
    /* One edge holding every class: the train split's rows of the wanted classes only (shard.h). */
    struct mtg_data_shard_cfg all_of_them = {.kind = (int)cfg->data.dataset,
                                             .path = cfg->data.path,
                                             .limit_per_class = cfg->data.limit_per_class,
                                             .part = {.n_edges = 1, .tasks_min = 1, .tasks_max = kind->n_classes},
                                             .classes = cfg->data.tasks.id,
                                             .n_classes = cfg->data.tasks.n};
    rc = sum ? mtg_data_shard_load(&all_of_them, &train, &err) : MTG_ENOMEM;
    if (rc == MTG_OK)
        rc = mtg_quality_new_for_dataset((int)cfg->data.dataset, cfg->data.path, cfg->data.limit_per_class,
                                         cfg->state_dir, &q, &err);
    if (rc == MTG_OK)
        printf("%s: %d training images; classifier held-out accuracy %.2f %%\n", kind->name, mtg_data_n(train),
               100.0 * mtg_quality_ref_accuracy(q));
    double t0 = now_s();
    int n = cfg->data.tasks.n ? cfg->data.tasks.n : kind->n_classes;
    for (int i = 0; rc == MTG_OK && i < n; i++) {
        struct mtg_summary_task row;
        rc = train_task(cfg, train, q, cfg->data.tasks.n ? cfg->data.tasks.id[i] : i, cfg->state_dir, &row, &err);
        if (rc == MTG_OK)
            mtg_summary_add(sum, &row);
    }
    if (rc == MTG_OK) {
        snprintf(sum->protocol, sizeof sum->protocol, "local");
        sum->wall_s = now_s() - t0;
        sum->server_peak_rss_bytes = -1;
        mtg_summary_print(stdout, sum);
        printf("generators and sample grids written to %s/\n", cfg->state_dir);
        if (cfg->json_out[0])
            rc = mtg_summary_write_json(sum, cfg->json_out, &err);
    }
    if (rc != MTG_OK)
        fprintf(stderr, "mtgan train-local: %s\n", err.msg);
    mtg_quality_free(q);
    mtg_data_free(train);
    free(sum);
    free(cfg);
    return rc == MTG_OK ? 0 : 1;
}
