/* test_export.c - server models -> files -> server (src/server/export.c) and generator blobs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
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

    /* Without the spec tensors (train-local's blobs): DESIGN §4 activations. */
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
