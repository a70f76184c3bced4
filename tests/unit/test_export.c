/* test_export.c - server models -> files -> server (src/server/export.c) and generator blobs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/gan.h"
#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"
#include "sedna/sedna.h"
#include "server/export.h"
#include "server/server_internal.h"
#include "wire/blob.h"

static struct mtg_srv *server_with(const int *labels, int n)
{
    static struct mtg_cfg cfg;
    mtg_cfg_defaults(&cfg);
    cfg.state_dir[0] = '\0';
    cfg.port = 0;
    cfg.train.eval_every = 0;
    cfg.log_level = MTG_LOG_WARN;
    cfg.data.tasks.n = n;
    for (int i = 0; i < n; i++)
        cfg.data.tasks.id[i] = labels[i];
    struct mtg_srv *s = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_srv_new(&cfg, &s, &err), MTG_OK, "%s", err.msg);
    return s;
}

Test(export, round_trip_into_a_fresh_server)
{
    char dir[] = "/tmp/mtgan-export-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct mtg_err err = {0};
    struct mtg_srv *a = server_with((int[]){3, 8}, 2);
    cr_assert_eq(mtg_srv_export(a, dir, NULL, &err), MTG_OK, "%s", err.msg);

    char idx[128];
    snprintf(idx, sizeof idx, "%s/index.json", dir);
    struct mtg_sedna_kb kb;
    cr_assert_eq(mtg_sedna_read_index(idx, NULL, &kb, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(kb.n, 2);
    cr_expect_str_eq(kb.tasks[0].id, "digit-3");
    cr_expect_not_null(kb.tasks[0].discriminator);

    /* A server with other tasks: import adds ours and hides its own. */
    struct mtg_srv *b = server_with((int[]){0}, 1);
    int loaded = 0;
    cr_assert_eq(mtg_srv_import(b, &kb, MTG_SRV_IMPORT_ADD | MTG_SRV_IMPORT_STEPS | MTG_SRV_IMPORT_ONLY,
                                &loaded, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(loaded, 2);
    cr_expect_lt(srv_find_task(b, "digit-0"), 0, "a task outside the index stays hidden");
    for (int k = 0; k < 2; k++) {
        const char *id = k ? "digit-8" : "digit-3";
        int ta = srv_find_task(a, id), tb = srv_find_task(b, id);
        cr_assert(ta >= 0 && tb >= 0);
        size_t na, nb;
        const float *pa = srv_task_g(a, ta, &na, NULL), *pb = srv_task_g(b, tb, &nb, NULL);
        cr_assert_eq(na, nb);
        cr_expect_eq(memcmp(pa, pb, na * sizeof *pa), 0, "%s: generator differs after import", id);
        const float *da = mtg_fed_task_d(a->fed, ta, &na), *db = mtg_fed_task_d(b->fed, tb, &nb);
        cr_expect_eq(memcmp(da, db, na * sizeof *da), 0, "%s: discriminator differs", id);
    }
    mtg_sedna_kb_deinit(&kb);

    /* Models from a directory listing, without the index. */
    remove(idx);
    const char *items[] = {dir};
    cr_assert_eq(mtg_sedna_models_collect(items, 1, NULL, &kb, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(kb.n, 2);
    mtg_sedna_kb_deinit(&kb);

    mtg_srv_free(a);
    mtg_srv_free(b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_expect_eq(system(cmd), 0);
}

Test(export, generator_spec_survives_the_blob)
{
    struct mtg_mlp_spec sp = {.in_dim = 5, .n_layers = 3, .width = {7, 9, 4},
                              .act = {MTG_ACT_TANH, MTG_ACT_LEAKY_RELU, MTG_ACT_NONE},
                              .leaky_slope = 0.1f};
    struct mtg_err err = {0};
    struct mtg_net_spec ns;
    cr_assert_eq(mtg_net_spec_from_mlp(&sp, &ns), MTG_OK);
    struct mtg_net *m = mtg_net_new(&ns, 4, &err);
    cr_assert_not_null(m);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 7);
    mtg_net_init_params(m, &rng);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_srv_net_to_blob(m, "g", b, &err), MTG_OK, "%s", err.msg);
    struct mtg_net *back = NULL;
    cr_assert_eq(mtg_srv_net_from_blob(b, "g", 4, &back, &err), MTG_OK, "%s", err.msg);
    cr_expect(mtg_net_spec_equal(mtg_net_get_spec(back), &ns));
    struct mtg_mlp_spec bm;
    cr_assert_eq(mtg_net_spec_to_mlp(mtg_net_get_spec(back), &bm), MTG_OK);
    const struct mtg_mlp_spec *bs = &bm;
    cr_expect_eq(bs->in_dim, 5);
    cr_expect_eq(bs->n_layers, 3);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(bs->width[i], sp.width[i]);
        cr_expect_eq(bs->act[i], sp.act[i]);
    }
    cr_expect_float_eq(bs->leaky_slope, 0.1f, 1e-7f);
    cr_expect_eq(memcmp(mtg_net_params_const(m), mtg_net_params_const(back),
                        mtg_net_param_count(m) * sizeof(float)), 0);

    /* Dense: the older spec tensors sit beside the full one. */
    cr_assert_eq(mtg_blob_count(b), 9);
    cr_assert_not_null(mtg_blob_find(b, "spec.g.act"));
    cr_assert_not_null(mtg_blob_find(b, "spec.g.net"));
    /* Without "spec.g.net" (exports before it): the activations of "spec.g.act". */
    mtg_blob_truncate(b, 8);
    mtg_net_free(back);
    cr_assert_eq(mtg_srv_net_from_blob(b, "g", 4, &back, &err), MTG_OK, "%s", err.msg);
    cr_expect(mtg_net_spec_equal(mtg_net_get_spec(back), &ns));

    /* Without the spec tensors (older train-local blobs): DESIGN §4 activations. */
    mtg_blob_truncate(b, 6);
    struct mtg_net_spec d;
    cr_assert_eq(mtg_srv_net_spec(b, "g", &d, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(d.n_layers, 3);
    cr_expect_eq(d.layer[0].act, MTG_ACT_RELU);
    cr_expect_eq(d.layer[2].act, MTG_ACT_SIGMOID);
    cr_expect_eq(d.layer[1].out, 9);
    cr_expect_eq(mtg_srv_net_spec(b, "d", &d, &err), MTG_ENOTFOUND);
    mtg_blob_free(b);
    mtg_net_free(m);
    mtg_net_free(back);
}

Test(export, conv_generator_round_trips_through_a_file_and_samples)
{
    char path[] = "/tmp/mtgan-export-conv-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    struct mtg_err err = {0};
    struct mtg_net_spec gs;
    mtg_net_spec_dcgan28_g(&gs, 16, 4);
    struct mtg_net *g = mtg_net_new(&gs, 64, &err);
    cr_assert_not_null(g, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 3);
    mtg_net_init_dcgan(g, &rng);
    float z[64 * 16];
    mtg_rng_fill_normal(&rng, z, 64 * 16, 0.0f, 1.0f);
    mtg_net_forward(g, z, 64); /* running statistics off their init, so they must travel too */
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_srv_net_to_blob(g, "g", b, &err), MTG_OK, "%s", err.msg);
    cr_expect_null(mtg_blob_find(b, "spec.g.act"), "a conv net has no dense-stack spec");
    cr_assert_eq(mtg_blob_write_file(b, path, 0, &err), MTG_OK, "%s", err.msg);
    mtg_blob_free(b);

    struct mtg_net *back = NULL;
    cr_assert_eq(mtg_srv_generator_load(path, 1, &back, &err), MTG_OK, "%s", err.msg);
    cr_expect(mtg_net_spec_equal(mtg_net_get_spec(back), &gs));
    cr_expect_eq(mtg_net_max_batch(back), MTG_GAN_SAMPLE_GROUP, "raised for batch-norm sampling");
    cr_assert_eq(mtg_net_param_count(back), mtg_net_param_count(g));
    cr_expect_eq(memcmp(mtg_net_params(g), mtg_net_params(back), mtg_net_param_count(g) * sizeof(float)), 0);
    float *a = malloc(70 * 784 * sizeof(float)), *c = malloc(70 * 784 * sizeof(float));
    float *zw = malloc(64 * 16 * sizeof(float));
    cr_assert_eq(mtg_srv_generator_sample(back, 70, 9, a, &err), MTG_OK, "%s", err.msg);
    mtg_gan_generate(g, 9, zw, c, 70);
    cr_expect_eq(memcmp(a, c, 70 * 784 * sizeof(float)), 0, "the file samples what the net samples");
    cr_expect_eq(memcmp(mtg_net_params(g), mtg_net_params(back), mtg_net_param_count(g) * sizeof(float)), 0,
                 "sampling left the running statistics alone");

    /* A broken full spec is an error, not a fallback to the dense reading. */
    struct mtg_blob *fb = NULL;
    cr_assert_eq(mtg_blob_read_file(path, NULL, &fb, &err), MTG_OK);
    struct mtg_blob *bad = mtg_blob_new(&err);
    for (size_t i = 0; i < mtg_blob_count(fb); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(fb, i);
        if (strcmp(t->name, "spec.g.net") != 0) {
            mtg_blob_add_ref(bad, t->name, t->rank, t->dims, t->data, MTG_DTYPE_F32, &err);
            continue;
        }
        float v[7 * 10];
        cr_assert_eq(t->n, 70);
        memcpy(v, t->data, sizeof v);
        v[2 * 10 + 5] = 5; /* layer 1 reshape target C */
        mtg_blob_add(bad, t->name, t->rank, t->dims, v, MTG_DTYPE_F32, &err);
    }
    struct mtg_net *none = NULL;
    cr_assert_eq(mtg_srv_net_from_blob(bad, "g", 1, &none, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "\"spec.g.net\" describes no valid network: net: layer 1 (reshape)"), "%s", err.msg);
    cr_assert_null(none);
    mtg_blob_free(bad);
    mtg_blob_free(fb);
    free(a);
    free(c);
    free(zw);
    mtg_net_free(g);
    mtg_net_free(back);
    remove(path);
}
