/* Tests for src/quality/cnn_judge: cache key, cache trust, and the judge behind the Fashion-MNIST evaluator. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/fashion.h"
#include "quality/cnn_judge.h"
#include "quality/quality.h"

/* 8x8 images of two classes: a horizontal bar (0) or a vertical one (1) at a random place, plus noise. */
static struct mtg_dataset *bars(int n, uint64_t seed)
{
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed);
    float *x = calloc((size_t)n * 64, sizeof *x);
    int *y = calloc((size_t)n, sizeof *y);
    cr_assert(x && y);
    for (int i = 0; i < n; i++) {
        y[i] = i % 2;
        int at = (int)mtg_rng_below(&rng, 8);
        for (int k = 0; k < 8; k++)
            x[i * 64 + (y[i] ? k * 8 + at : at * 8 + k)] = 1.0f;
        for (int k = 0; k < 64; k++)
            x[i * 64 + k] = x[i * 64 + k] * 0.8f + 0.2f * (float)mtg_rng_uniform(&rng);
    }
    struct mtg_dataset *ds = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_from_array(x, y, n, 64, 2, &ds, &err), MTG_OK, "%s", err.msg);
    free(x);
    free(y);
    return ds;
}

static void tiny_cfg(struct mtg_cnn_judge_cfg *cfg)
{
    mtg_cnn_judge_cfg_default(cfg);
    cfg->conv = 4;
    cfg->hidden = 8;
    cfg->epochs = 2;
    cfg->batch = 16;
}

static void tmp_file(char *dir, size_t dcap, char *path, size_t pcap)
{
    snprintf(dir, dcap, "/tmp/mtgan-judge-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, pcap, "%s/judge.blob", dir);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    cr_assert_gt(len, 0);
    unsigned char *buf = malloc((size_t)len);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return buf;
}

TestSuite(cnn_judge);

Test(cnn_judge, spec_puts_the_features_before_the_logits)
{
    struct mtg_cnn_judge_cfg cfg;
    mtg_cnn_judge_cfg_default(&cfg);
    struct mtg_net *net = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_cnn_judge_new(&cfg, 28, 10, &net, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_net_in_dim(net), 784);
    cr_expect_eq(mtg_net_out_dim(net), 10);
    cr_expect_eq(mtg_net_n_layers(net), MTG_CNN_JUDGE_FEATURE_LAYER + 2, "the feature layer is the penultimate one");
    int s[3];
    mtg_net_layer_shape(net, 0, s);
    cr_expect(s[0] == 32 && s[1] == 14 && s[2] == 14, "conv output %dx%dx%d", s[0], s[1], s[2]);
    mtg_net_layer_shape(net, MTG_CNN_JUDGE_FEATURE_LAYER, s);
    cr_expect_eq(s[0] * s[1] * s[2], 128);
    cr_expect_eq(mtg_net_train(net), 0, "a judge only ever predicts");
    mtg_net_free(net);
    cr_expect_eq(mtg_cnn_judge_new(&cfg, 7, 10, &net, &err), MTG_EINVAL, "odd side");
    cfg.epochs = 0;
    cr_expect_eq(mtg_cnn_judge_cfg_validate(&cfg, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "epochs"), "%s", err.msg);
}

Test(cnn_judge, key_changes_with_every_setting_and_with_the_data)
{
    struct mtg_cnn_judge_cfg base, c;
    mtg_cnn_judge_cfg_default(&base);
    uint64_t k0 = mtg_cnn_judge_key(&base, 28, 10, 42);
    cr_expect_eq(mtg_cnn_judge_key(&base, 28, 10, 42), k0, "deterministic");
    uint64_t seen[16];
    int n = 0;
    seen[n++] = k0;
#define CHANGED(stmt)                                                                                            \
    do {                                                                                                         \
        c = base;                                                                                                \
        stmt;                                                                                                    \
        seen[n++] = mtg_cnn_judge_key(&c, 28, 10, 42);                                                           \
    } while (0)
    CHANGED(c.conv++);
    CHANGED(c.hidden++);
    CHANGED(c.per_class = 3000);
    CHANGED(c.epochs++);
    CHANGED(c.batch++);
    CHANGED(c.lr *= 1.0001f);
    CHANGED(c.seed++);
#undef CHANGED
    seen[n++] = mtg_cnn_judge_key(&base, 32, 10, 42);
    seen[n++] = mtg_cnn_judge_key(&base, 28, 9, 42);
    seen[n++] = mtg_cnn_judge_key(&base, 28, 10, 43);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            cr_expect_neq(seen[i], seen[j], "keys %d and %d collide", i, j);

    /* The data key sees one pixel and one label. */
    struct mtg_dataset *a = bars(40, 1), *b = bars(40, 1);
    cr_expect_eq(mtg_cnn_judge_data_key(a), mtg_cnn_judge_data_key(b));
    float *x = malloc(40 * 64 * sizeof *x);
    int *y = malloc(40 * sizeof *y);
    memcpy(x, mtg_data_x(a), 40 * 64 * sizeof *x);
    memcpy(y, mtg_data_labels(a), 40 * sizeof *y);
    x[777] += 1e-6f;
    struct mtg_dataset *px = NULL, *lab = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_from_array(x, y, 40, 64, 2, &px, &err), MTG_OK);
    memcpy(x, mtg_data_x(a), 40 * 64 * sizeof *x);
    y[5] = 1 - y[5];
    cr_assert_eq(mtg_data_from_array(x, y, 40, 64, 2, &lab, &err), MTG_OK);
    cr_expect_neq(mtg_cnn_judge_data_key(a), mtg_cnn_judge_data_key(px), "one pixel changed");
    cr_expect_neq(mtg_cnn_judge_data_key(a), mtg_cnn_judge_data_key(lab), "one label changed");
    free(x);
    free(y);
    mtg_data_free(a);
    mtg_data_free(b);
    mtg_data_free(px);
    mtg_data_free(lab);
}

/* The Fashion-MNIST data key reads the train files as the loader finds them: .gz first, else plain. */
Test(cnn_judge, fashion_data_key_follows_the_train_files)
{
    char dir[64], p[128];
    snprintf(dir, sizeof dir, "/tmp/mtgan-judge-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    uint64_t k1, k2, k3, k4;
    struct mtg_err err = {0};
    cr_expect_eq(mtg_cnn_judge_fashion_data_key(dir, &k1, &err), MTG_ENOTFOUND);
    cr_expect_not_null(strstr(err.msg, MTG_DATA_FASHION_PACKAGE), "%s", err.msg);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    write_bytes(p, "images", 6);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    write_bytes(p, "labels", 6);
    cr_assert_eq(mtg_cnn_judge_fashion_data_key(dir, &k1, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cnn_judge_fashion_data_key(dir, &k2, &err), MTG_OK);
    cr_expect_eq(k1, k2);
    write_bytes(p, "labelz", 6);
    cr_assert_eq(mtg_cnn_judge_fashion_data_key(dir, &k3, &err), MTG_OK);
    cr_expect_neq(k1, k3, "a changed label file");
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", dir);
    write_bytes(p, "images", 6);
    cr_assert_eq(mtg_cnn_judge_fashion_data_key(dir, &k4, &err), MTG_OK);
    cr_expect_neq(k3, k4, "the .gz file is the one read, as the loader does");
    unlink(p);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", dir);
    unlink(p);
    rmdir(dir);
}

Test(cnn_judge, corrupt_stale_or_foreign_caches_are_retrained)
{
    char dir[64], path[128];
    tmp_file(dir, sizeof dir, path, sizeof path);
    struct mtg_dataset *train = bars(64, 7);
    struct mtg_cnn_judge_cfg cfg;
    tiny_cfg(&cfg);
    struct mtg_err err = {0};
    struct mtg_net *first = NULL, *m = NULL;
    int trained = -1;
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &cfg, &first, &trained, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(trained, 1, "no cache yet");
    cr_assert_eq(access(path, R_OK), 0, "cache written");
    size_t np = mtg_net_param_count(first);
    const float *want = mtg_net_params_const(first);

    /* A good cache is used as it is. */
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &cfg, &m, &trained, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(trained, 0, "the cache was used");
    cr_expect_eq(memcmp(mtg_net_params_const(m), want, np * sizeof *want), 0);
    mtg_net_free(m);

    /* One flipped bit: the blob CRC refuses it, the judge is retrained and the cache rewritten. */
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    bytes[len / 2] ^= 0x10;
    write_bytes(path, bytes, len);
    uint64_t key = mtg_cnn_judge_key(&cfg, 8, 2, mtg_cnn_judge_data_key(train));
    cr_assert_eq(mtg_cnn_judge_new(&cfg, 8, 2, &m, &err), MTG_OK);
    cr_expect_eq(mtg_cnn_judge_load(m, key, path, &err), MTG_ECRC, "%s", err.msg);
    mtg_net_free(m);
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &cfg, &m, &trained, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(trained, 1, "a corrupt cache is never trusted");
    cr_expect_eq(memcmp(mtg_net_params_const(m), want, np * sizeof *want), 0, "same cfg and data, same weights");
    mtg_net_free(m);
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &cfg, &m, &trained, &err), MTG_OK);
    cr_expect_eq(trained, 0, "the rewritten cache is good");
    mtg_net_free(m);

    /* Truncated: retrained. */
    write_bytes(path, bytes, len / 3);
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &cfg, &m, &trained, &err), MTG_OK);
    cr_expect_eq(trained, 1, "a truncated cache is retrained");
    mtg_net_free(m);

    /* Stale: other settings or other data under the same path. */
    struct mtg_cnn_judge_cfg other = cfg;
    other.epochs++;
    cr_assert_eq(mtg_cnn_judge_new(&other, 8, 2, &m, &err), MTG_OK);
    cr_expect_eq(mtg_cnn_judge_load(m, mtg_cnn_judge_key(&other, 8, 2, mtg_cnn_judge_data_key(train)), path, &err),
                 MTG_ECONFLICT, "%s", err.msg);
    mtg_net_free(m);
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train, &other, &m, &trained, &err), MTG_OK);
    cr_expect_eq(trained, 1, "other settings");
    mtg_net_free(m);
    struct mtg_dataset *train2 = bars(64, 8);
    cr_assert_eq(mtg_cnn_judge_load_or_train(path, train2, &other, &m, &trained, &err), MTG_OK);
    cr_expect_eq(trained, 1, "other data");
    mtg_net_free(m);

    /* The right key over tensors of another shape, or over a NaN, is refused and leaves the net as it was. */
    other = cfg;
    other.hidden = 16;
    cr_assert_eq(mtg_cnn_judge_save(first, key, path, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_cnn_judge_new(&other, 8, 2, &m, &err), MTG_OK);
    cr_expect_eq(mtg_cnn_judge_load(m, key, path, &err), MTG_EFORMAT, "%s", err.msg);
    mtg_net_free(m);
    mtg_net_params(first)[3] = NAN;
    cr_assert_eq(mtg_cnn_judge_save(first, key, path, &err), MTG_OK);
    cr_assert_eq(mtg_cnn_judge_new(&cfg, 8, 2, &m, &err), MTG_OK);
    cr_expect_eq(mtg_cnn_judge_load(m, key, path, &err), MTG_ENOTFINITE, "%s", err.msg);
    for (size_t i = 0; i < mtg_net_param_count(m); i++)
        cr_assert_eq(mtg_net_params_const(m)[i], 0.0f, "a failed load touched the net");
    mtg_net_free(m);

    free(bytes);
    mtg_net_free(first);
    mtg_data_free(train);
    mtg_data_free(train2);
    unlink(path);
    rmdir(dir);
}

Test(cnn_judge, cache_path_prefers_the_machine_cache)
{
    char dir[64], sub[128], buf[1100];
    snprintf(dir, sizeof dir, "/tmp/mtgan-judge-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    struct mtg_err err = {0};
    setenv("MTGAN_CACHE_DIR", dir, 1);
    cr_assert_eq(mtg_cnn_judge_cache_path("state", buf, sizeof buf, &err), MTG_OK, "%s", err.msg);
    char want[256];
    snprintf(want, sizeof want, "%s/" MTG_CNN_JUDGE_CACHE_FILE, dir);
    cr_expect_str_eq(buf, want);
    /* Unusable cache dirs fall through to XDG, then HOME, then the state dir. */
    setenv("MTGAN_CACHE_DIR", "/proc/no-such-dir", 1);
    setenv("XDG_CACHE_HOME", dir, 1);
    cr_assert_eq(mtg_cnn_judge_cache_path("state", buf, sizeof buf, &err), MTG_OK);
    snprintf(want, sizeof want, "%s/mtgan/" MTG_CNN_JUDGE_CACHE_FILE, dir);
    cr_expect_str_eq(buf, want);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/proc/no-such-home", 1);
    cr_assert_eq(mtg_cnn_judge_cache_path("my-state", buf, sizeof buf, &err), MTG_OK);
    cr_expect_str_eq(buf, "my-state/" MTG_CNN_JUDGE_CACHE_FILE);
    cr_expect_eq(mtg_cnn_judge_cache_path(NULL, buf, sizeof buf, &err), MTG_ENOTFOUND);
    cr_expect_str_eq(buf, "");
    snprintf(sub, sizeof sub, "%s/mtgan", dir);
    rmdir(sub);
    rmdir(dir);
}

/*
 * A judge trained for a second on a small Fashion-MNIST slice, plugged into
 * the evaluator: real held-out images of a class pass, a collapsed
 * "generator" (one image repeated) covers far less than the ceiling.
 */
Test(cnn_judge, fashion_judge_passes_real_images_and_sees_collapse, .timeout = 120)
{
    if (access(MTG_DATA_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("package " MTG_DATA_FASHION_PACKAGE " not installed (" MTG_DATA_FASHION_DIR ")");
    enum { FIT = 200, HELD = 200, LABEL = 1 /* trousers */ };
    struct mtg_err err = {0};
    struct mtg_dataset *train = NULL, *fit = NULL, *cls = NULL, *test = NULL;
    cr_assert_eq(mtg_data_fashion_load(NULL, MTG_DATA_TRAIN, FIT + HELD, &train, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_first_per_class(train, FIT, &fit, &err), MTG_OK);
    cr_assert_eq(mtg_data_fashion_load(NULL, MTG_DATA_TEST, 200, &test, &err), MTG_OK, "%s", err.msg);
    struct mtg_cnn_judge_cfg cfg;
    mtg_cnn_judge_cfg_default(&cfg);
    cfg.conv = 8;
    cfg.hidden = 32;
    cfg.epochs = 4;
    cfg.batch = 32;
    struct mtg_net *judge = NULL;
    cr_assert_eq(mtg_cnn_judge_train(fit, &cfg, &judge, &err), MTG_OK, "%s", err.msg);
    double acc = mtg_cnn_judge_accuracy(judge, test);
    cr_expect_geq(acc, 0.70, "test accuracy %.3f", acc);

    struct mtg_quality *q = NULL;
    cr_assert_eq(mtg_quality_new(judge, test, &q, &err), MTG_OK, "%s", err.msg); /* takes judge */
    cr_expect_eq(mtg_quality_feature_dim(q), 32);
    cr_assert_eq(mtg_quality_set_ceiling(q, fit, &err), MTG_OK, "%s", err.msg);
    const struct mtg_quality_task *ce = mtg_quality_ceiling(q, LABEL);
    cr_assert_not_null(ce);
    cr_expect_eq(ce->n, FIT);

    /* Real trousers the judge never saw (rows FIT.. of the class in the train split). */
    cr_assert_eq(mtg_data_class_subset(train, LABEL, &cls, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(cls), FIT + HELD);
    const float *held = mtg_data_row(cls, FIT);
    struct mtg_quality_task real, collapsed;
    cr_assert_eq(mtg_quality_eval_task(q, LABEL, held, HELD, &real, &err), MTG_OK, "%s", err.msg);
    cr_expect_geq(real.fidelity, 0.85, "real held-out trousers: fidelity %.3f", real.fidelity);
    cr_expect_geq(real.coverage, 0.7 * ce->coverage, "real coverage %.3f vs ceiling %.3f", real.coverage,
                  ce->coverage);

    /* One trouser image, HELD times. */
    float *same = malloc((size_t)HELD * MTG_DATA_FASHION_DIM * sizeof *same);
    cr_assert_not_null(same);
    for (int i = 0; i < HELD; i++)
        memcpy(same + (size_t)i * MTG_DATA_FASHION_DIM, held, MTG_DATA_FASHION_DIM * sizeof *same);
    cr_assert_eq(mtg_quality_eval_task(q, LABEL, same, HELD, &collapsed, &err), MTG_OK, "%s", err.msg);
    cr_expect_leq(collapsed.coverage, 0.2 * ce->coverage, "collapsed coverage %.3f vs ceiling %.3f",
                  collapsed.coverage, ce->coverage);
    cr_expect_leq(collapsed.recall, 0.2 * ce->recall, "collapsed recall %.3f vs ceiling %.3f", collapsed.recall,
                  ce->recall);
    cr_expect_gt(collapsed.fd, 2.0 * real.fd, "FD collapsed %.2f vs real %.2f", collapsed.fd, real.fd);
    cr_log_info("tiny judge: test accuracy %.3f; trousers real F %.2f FD %.2f C %.2f, collapsed C %.2f R %.2f FD %.2f, "
                "ceiling F %.2f FD %.2f P %.2f R %.2f C %.2f",
                acc, real.fidelity, real.fd, real.coverage, collapsed.coverage, collapsed.recall, collapsed.fd,
                ce->fidelity, ce->fd, ce->precision, ce->recall, ce->coverage);
    free(same);
    mtg_quality_free(q);
    mtg_data_free(cls);
    mtg_data_free(fit);
    mtg_data_free(train);
    mtg_data_free(test);
}
