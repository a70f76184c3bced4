/*
 * gen_seeds.c - writes the generated seeds of the fuzz corpora: valid blobs
 * (f32, f16, zlib, both; one to many tensors, rank 1..4, special values)
 * for fuzz_blob, and update/feedback requests carrying such blobs for
 * fuzz_routes (sized for its tiny server: G 616 and D 529 parameters,
 * sgda fake batches of 8 x 64), and the default config as JSON for
 * fuzz_config. Hand-written seeds (configs, JSON, CSV)
 * live next to them in fuzz/corpus/ and are not touched.
 *
 *     out-fuzz/bin/gen_seeds fuzz/corpus
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/status.h"
#include "wire/blob.h"

#define G_PARAMS 616
#define D_PARAMS 529

static void die(const char *what, const struct mtg_err *err)
{
    fprintf(stderr, "gen_seeds: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

static void write_file(const char *dir, const char *name, const void *prefix, size_t plen,
                       const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (plen && fwrite(prefix, 1, plen, f) != plen) || (len && fwrite(data, 1, len, f) != len) ||
        fclose(f) != 0)
        die(path, NULL);
}

static void fill(float *v, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        v[i] = scale * sinf((float)i * 0.37f);
}

/* Encodes b with flags and writes it to dir/name, after the request prefix when given. */
static void emit(const char *dir, const char *name, const char *prefix, struct mtg_blob *b, unsigned flags)
{
    struct mtg_err err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    if (mtg_blob_encode(b, flags, &buf, &len, &err) != MTG_OK)
        die(name, &err);
    write_file(dir, name, prefix, prefix ? strlen(prefix) : 0, buf, len);
    free(buf);
}

static struct mtg_blob *blob_new(void)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    if (!b)
        die("blob", &err);
    return b;
}

static void add(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims, float scale,
                enum mtg_dtype dt)
{
    struct mtg_err err = {0};
    float *v = mtg_blob_add_alloc(b, name, rank, dims, dt, &err);
    if (!v)
        die(name, &err);
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    fill(v, n, scale);
}

static void blob_seeds(const char *root)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz_blob", root);

    struct mtg_blob *b = blob_new();
    emit(dir, "empty.blob", NULL, b, 0);
    mtg_blob_free(b);

    b = blob_new();
    uint32_t d1[1] = {4};
    add(b, "w", 1, d1, 1.0f, MTG_DTYPE_F32);
    emit(dir, "f32_small.blob", NULL, b, 0);
    emit(dir, "f32_small_zlib.blob", NULL, b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);

    b = blob_new();
    uint32_t d2[2] = {3, 5};
    add(b, "g.0.w", 2, d2, 100.0f, MTG_DTYPE_F16);
    emit(dir, "f16.blob", NULL, b, 0);
    emit(dir, "f16_zlib.blob", NULL, b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);

    /* Several tensors, every rank, both dtypes. */
    b = blob_new();
    uint32_t r1[1] = {7}, r2[2] = {2, 3}, r3[3] = {2, 2, 2}, r4[4] = {1, 2, 1, 3};
    add(b, "a", 1, r1, 1.0f, MTG_DTYPE_F32);
    add(b, "b.rank2", 2, r2, 0.5f, MTG_DTYPE_F16);
    add(b, "c.rank3", 3, r3, 3.0f, MTG_DTYPE_F32);
    add(b, "d.rank4", 4, r4, 1e-6f, MTG_DTYPE_F16);
    emit(dir, "mixed.blob", NULL, b, 0);
    emit(dir, "mixed_zlib.blob", NULL, b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);

    /* Special values: signed zero, subnormals, f16 overflow, Inf, NaN. */
    static const float special[] = {0.0f, -0.0f, 1e-8f, 6e-5f, 65504.0f, 1e6f, INFINITY, -INFINITY, NAN, 1.0f};
    uint32_t ds[1] = {sizeof special / sizeof special[0]};
    struct mtg_err err = {0};
    b = blob_new();
    if (mtg_blob_add(b, "special.f32", 1, ds, special, MTG_DTYPE_F32, &err) != MTG_OK ||
        mtg_blob_add(b, "special.f16", 1, ds, special, MTG_DTYPE_F16, &err) != MTG_OK)
        die("special", &err);
    emit(dir, "special.blob", NULL, b, 0);
    mtg_blob_free(b);

    /* A model-sized blob, compressible, as a checkpoint or a delta looks. */
    b = blob_new();
    uint32_t dg[1] = {G_PARAMS}, dd[1] = {D_PARAMS};
    add(b, "g", 1, dg, 0.01f, MTG_DTYPE_F32);
    add(b, "d", 1, dd, 0.01f, MTG_DTYPE_F32);
    emit(dir, "delta_zlib.blob", NULL, b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);
}

static void route_seeds(const char *root)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz_routes", root);
    /* Byte 0 is the route index of fuzz_routes.c: 3 = mtgan update, 4 = sgda feedback. */
    uint32_t dg[1] = {G_PARAMS}, dd[1] = {D_PARAMS}, df[2] = {8, 64};

    struct mtg_blob *b = blob_new();
    add(b, "g", 1, dg, 0.01f, MTG_DTYPE_F32);
    add(b, "d", 1, dd, 0.01f, MTG_DTYPE_F32);
    emit(dir, "update_f32", "\x03" "digit-3 edge-0\nround=1&steps=5&loss_d=0.69&loss_g=0.7&compute_s=0.5\n\n", b, 0);
    emit(dir, "update_zlib", "\x03" "digit-7 edge-0\nround=1&steps=2\n\n", b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);

    b = blob_new();
    add(b, "g", 1, dg, 0.01f, MTG_DTYPE_F16);
    add(b, "d", 1, dd, 0.01f, MTG_DTYPE_F16);
    emit(dir, "update_f16_zlib", "\x03" "digit-3 edge-0\nround=1&steps=1&transfer_s=0.1\n\n", b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);

    /* A delta with a huge norm: must be rejected as an outlier. */
    b = blob_new();
    add(b, "g", 1, dg, 1e30f, MTG_DTYPE_F32);
    add(b, "d", 1, dd, 1.0f, MTG_DTYPE_F32);
    emit(dir, "update_outlier", "\x03" "digit-3 edge-0\nround=1\n\n", b, 0);
    mtg_blob_free(b);

    b = blob_new();
    add(b, "dfake", 2, df, 0.1f, MTG_DTYPE_F32);
    emit(dir, "feedback_f32", "\x04" "digit-3 edge-0\nstep=0&loss_d=0.7&loss_g=0.6&compute_s=0.01\n\n", b, 0);
    emit(dir, "feedback_zlib", "\x04" "digit-7 edge-0\nstep=1\n\n", b, MTG_BLOB_ZLIB);
    mtg_blob_free(b);
}

/* The default config as mtg_cfg_to_json prints it: every key, the shape the loader expects. */
static void config_seeds(const char *root)
{
    static struct mtg_cfg c;
    char dir[1024], *json = NULL;
    snprintf(dir, sizeof dir, "%s/fuzz_config", root);
    mtg_cfg_defaults(&c);
    snprintf(c.state_dir, sizeof c.state_dir, "/var/lib/mtgan");
    if (mtg_cfg_to_json(&c, &json) != MTG_OK)
        die("config", NULL);
    write_file(dir, "defaults.json", NULL, 0, json, strlen(json));
    free(json);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds CORPUS_DIR (fuzz/corpus)\n");
        return 2;
    }
    blob_seeds(argv[1]);
    route_seeds(argv[1]);
    config_seeds(argv[1]);
    return 0;
}
