/*
 * mtgan sample - samples of a trained generator (generative replay, DESIGN
 * §7 / issue 6): from a generator blob on disk, or from a running server.
 *
 *   mtgan sample --model digit-3.generator.blob [--n 64] [--out grid.png | --blob s.blob] [--seed N]
 *   mtgan sample --server http://host:8080 --task digit-3 [--n 64] [--out grid.png | --blob s.blob]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd_flags.h"
#include "cmd/cmds.h"
#include "config/config.h"
#include "core/net.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/image.h"
#include "edge/client.h"
#include "server/export.h"
#include "wire/blob.h"

#define MAX_SAMPLES 100000

struct opts {
    const char *model, *server, *task, *out, *blob, *n;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mtgan sample --model FILE.generator.blob [--n 64] [--out grid.png | --blob out.blob] [--seed N]\n"
            "       mtgan sample --server URL --task ID [--n 64] [--out grid.png | --blob out.blob] [--seed N]\n"
            "  --model FILE  generator blob (mtgan train-local, mtgan-server --sedna export)\n"
            "  --server URL  a running mtgan-server: GET /v1/tasks/{task}/samples\n"
            "  --task ID     task to sample from the server, e.g. digit-3 or fashion-7\n"
            "  --n N         samples (default 64)\n"
            "  --out FILE    PNG grid of the images, 8x8 digits or 28x28 Fashion-MNIST, values in [0, 1]\n"
            "                drawn 0 = black .. 1 = white, upscaled (default samples.png)\n"
            "  --blob FILE   the samples as a blob (tensor \"samples\" [n, dim]) instead\n\n");
}

static int from_server(const struct opts *o, int n, unsigned long long seed, struct mtg_err *err)
{
    for (const char *p = o->task; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return mtg_err_set(err, MTG_EINVAL, "--task \"%s\": ids are [A-Za-z0-9._-]", o->task);
    struct mtg_client_opts co = {.base_url = o->server, .max_attempts = 3};
    struct mtg_client *c = NULL;
    int rc = mtg_client_new(&co, &c, err);
    if (rc != MTG_OK)
        return rc;
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/samples?n=%d&seed=%llu&format=%s", o->task, n, seed,
             o->blob ? "blob" : "png");
    struct mtg_client_resp r = {0};
    rc = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &r, err);
    if (rc == MTG_OK && r.status != 200)
        rc = mtg_err_set(err, r.status == 404 ? MTG_ENOTFOUND : MTG_ENET, "%s%s: HTTP %ld: %.200s",
                         o->server, path, r.status, r.body ? (const char *)r.body : "");
    const char *dst = o->blob ? o->blob : o->out;
    if (rc == MTG_OK) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", dst);
        FILE *f = fopen(tmp, "wb");
        if (!f || fwrite(r.body, 1, r.len, f) != r.len || fclose(f) != 0 || rename(tmp, dst) != 0) {
            rc = mtg_err_set(err, MTG_EIO, "cannot write %s", dst);
            remove(tmp);
        }
    }
    mtg_client_resp_deinit(&r);
    mtg_client_free(c);
    return rc;
}

/* Side of the square images of the dataset whose samples have dim features; 0 for none. */
static int image_side(int dim)
{
    const struct mtg_data_kind_info *k;
    for (int kind = 0; (k = mtg_data_kind_info(kind)) != NULL; kind++)
        if (k->side > 0 && k->dim == dim)
            return k->side;
    return 0;
}

static int from_model(const struct opts *o, int n, unsigned long long seed, struct mtg_err *err)
{
    struct mtg_net *g = NULL;
    int rc = mtg_srv_generator_load(o->model, n < 256 ? n : 256, &g, err);
    if (rc != MTG_OK)
        return rc;
    int dim = mtg_net_out_dim(g);
    float *x = malloc((size_t)n * (size_t)dim * sizeof *x);
    rc = x ? mtg_srv_generator_sample(g, n, seed, x, err) : mtg_err_set(err, MTG_ENOMEM, "out of memory");
    mtg_net_free(g);
    if (rc == MTG_OK && o->blob) {
        struct mtg_blob *b = mtg_blob_new(err);
        uint32_t dims[2] = {(uint32_t)n, (uint32_t)dim};
        rc = b ? mtg_blob_add(b, "samples", 2, dims, x, MTG_DTYPE_F32, err) : MTG_ENOMEM;
        if (rc == MTG_OK)
            rc = mtg_blob_write_file(b, o->blob, 0, err);
        mtg_blob_free(b);
    } else if (rc == MTG_OK) {
        int side = image_side(dim);
        if (side == 0)
            rc = mtg_err_set(err, MTG_EINVAL,
                             "%s makes %d features, not the images of a dataset (8x8 digits: 64, 28x28 "
                             "fashion-mnist: 784): use --blob",
                             o->model, dim);
        else
            rc = mtg_image_write_grid_png(o->out, x, n, side, side, n < 16 ? n : 16, mtg_image_scale_for_side(side),
                                          err);
    }
    free(x);
    return rc;
}

int mtg_cmd_sample(int argc, char **argv)
{
    struct opts o = {0};
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    int n_rest = 0, code = 2;
    if (!rest || !cfg) {
        free(rest);
        free(cfg);
        return 1;
    }
    mtg_cfg_defaults(cfg);
    struct mtg_err err = {0};
    static const char *const names[] = {"model", "server", "task", "out", "blob", "n"};
    const char **slots[] = {&o.model, &o.server, &o.task, &o.out, &o.blob, &o.n};
    if (mtg_cmd_take_flags("mtgan sample", argc, argv, names, slots, 6, rest, &n_rest) != 0)
        goto done;
    int cli = mtg_cmd_config("mtgan sample", MTG_CFG_BIN_SAMPLE, cfg, n_rest, rest, usage);
    if (cli >= 0) {
        code = cli;
        goto done;
    }
    char *end = NULL;
    long n = o.n ? strtol(o.n, &end, 10) : 64;
    if (o.n && (*end != '\0' || end == o.n || n < 1 || n > MAX_SAMPLES)) {
        fprintf(stderr, "mtgan sample: --n must be an integer in [1, %d], got \"%s\"\n", MAX_SAMPLES, o.n);
        goto done;
    }
    if (!o.model == !o.server || (o.server && !o.task) || (o.task && !o.server) || (o.out && o.blob)) {
        fprintf(stderr, "mtgan sample: give either --model FILE or --server URL --task ID, and at "
                        "most one of --out / --blob\n");
        usage(stderr);
        goto done;
    }
    if (!o.out && !o.blob)
        o.out = "samples.png";
    int rc = o.model ? from_model(&o, (int)n, (unsigned long long)cfg->seed, &err)
                     : from_server(&o, (int)n, (unsigned long long)cfg->seed, &err);
    if (rc != MTG_OK) {
        fprintf(stderr, "mtgan sample: %s\n", err.msg);
        code = 1;
        goto done;
    }
    printf("wrote %ld samples to %s\n", n, o.blob ? o.blob : o.out);
    code = 0;
done:
    free(rest);
    free(cfg);
    return code;
}
