/* Tests for src/data/image: PNG grids and scatter plots, read back with libpng. */
#include <criterion/criterion.h>

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/image.h"
#include "data/ring.h"

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mtgan-test-image-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

/* Decodes a PNG from memory to 8-bit gray (png_image, libpng >= 1.6). */
static unsigned char *decode(const void *buf, size_t len, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    cr_assert(png_image_begin_read_from_memory(&img, buf, len), "libpng: %s", img.message);
    img.format = PNG_FORMAT_GRAY;
    unsigned char *pix = malloc(PNG_IMAGE_SIZE(img));
    cr_assert_not_null(pix);
    cr_assert(png_image_finish_read(&img, NULL, pix, 0, NULL), "libpng: %s", img.message);
    *w = (int)img.width;
    *h = (int)img.height;
    return pix;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

TestSuite(image, .init = setup);

Test(image, grid_file_has_png_signature_and_size)
{
    /* 10 gradient 8x8 images, 4 columns, 4x: 3 rows; border one source pixel. */
    float x[10 * 64];
    for (int i = 0; i < 10; i++)
        for (int p = 0; p < 64; p++)
            x[i * 64 + p] = (float)p / 63.0f;
    char path[128];
    snprintf(path, sizeof path, "%s/grid.png", tmpdir);
    struct mtg_err err = {0};
    cr_assert_eq(mtg_image_write_grid_png(path, x, 10, 8, 8, 4, 4, &err), MTG_OK, "%s", err.msg);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "temporary file left behind");
    size_t len;
    unsigned char *buf = slurp(path, &len);
    cr_assert_gt(len, 8u);
    cr_assert_eq(memcmp(buf, png_sig, 8), 0);
    int w, h;
    unsigned char *pix = decode(buf, len, &w, &h);
    cr_assert_eq(w, 4 * 32 + 5 * 4);
    cr_assert_eq(h, 3 * 32 + 4 * 4);
    /* Top-left pixel of image 0 is value 0 -> black; its bottom-right block is 1 -> white. */
    cr_assert_eq(pix[4 * w + 4], 0);
    cr_assert_eq(pix[(4 + 31) * w + 4 + 31], 255);
    cr_assert_eq(pix[0], 128, "border is mid-gray");
    free(pix);
    free(buf);
    unlink(path);
    rmdir(tmpdir);
}

Test(image, grid_in_memory_matches_file)
{
    float x[3 * 6 * 5];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 1);
    mtg_rng_fill_uniform(&rng, x, sizeof x / sizeof x[0], -0.5f, 1.5f); /* clamped */
    char path[128];
    snprintf(path, sizeof path, "%s/mem.png", tmpdir);
    struct mtg_err err = {0};
    unsigned char *png;
    size_t len, flen;
    cr_assert_eq(mtg_image_grid_png_mem(x, 3, 6, 5, 8, 1, &png, &len, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_image_write_grid_png(path, x, 3, 6, 5, 8, 1, &err), MTG_OK);
    unsigned char *fbuf = slurp(path, &flen);
    cr_assert_eq(len, flen);
    cr_assert_eq(memcmp(png, fbuf, len), 0);
    int w, h;
    unsigned char *pix = decode(png, len, &w, &h);
    /* cols > n: one row of 3. */
    cr_assert_eq(w, 3 * 5 + 4);
    cr_assert_eq(h, 6 + 2);
    free(pix);
    free(png);
    free(fbuf);
    unlink(path);
    rmdir(tmpdir);
}

Test(image, rejects_bad_sizes_and_paths)
{
    float x[64] = {0};
    struct mtg_err err = {0};
    unsigned char *png;
    size_t len;
    cr_assert_eq(mtg_image_grid_png_mem(x, 0, 8, 8, 1, 1, &png, &len, &err), MTG_EINVAL);
    cr_assert_null(png);
    cr_assert_eq(mtg_image_grid_png_mem(x, 1, 8, 8, 1, 0, &png, &len, &err), MTG_EINVAL);
    cr_assert_eq(mtg_image_grid_png_mem(x, 1, 8, 8, 1, 5000, &png, &len, &err), MTG_ERANGE);
    cr_assert_eq(mtg_image_write_grid_png("/nonexistent/dir/x.png", x, 1, 8, 8, 1, 1, &err),
                 MTG_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/dir/x.png") != NULL, "%s", err.msg);
    rmdir(tmpdir);
}

Test(image, ring_scatter_png)
{
    enum { N = 500 };
    float pts[2 * N], centres[2 * 8];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 4);
    mtg_data_ring_sample(&rng, N, pts);
    for (int k = 0; k < 8; k++)
        mtg_data_ring_centre(k, centres + 2 * k);
    char path[128];
    snprintf(path, sizeof path, "%s/ring.png", tmpdir);
    struct mtg_err err = {0};
    cr_assert_eq(mtg_image_write_scatter_png(path, pts, N, centres, 8, 2.5f, 256, &err), MTG_OK,
                 "%s", err.msg);
    size_t len;
    unsigned char *buf = slurp(path, &len);
    int w, h;
    unsigned char *pix = decode(buf, len, &w, &h);
    cr_assert_eq(w, 256);
    cr_assert_eq(h, 256);
    /* Mode 0 sits at (2, 0): pixel column (2 + 2.5) / 5 * 255, middle row; it is inked. */
    int cx = (int)(4.5 / 5.0 * 255 + 0.5), cy = (int)(2.5 / 5.0 * 255 + 0.5);
    cr_assert_eq(pix[cy * w + cx], 0);
    cr_assert_eq(pix[cy * w + w / 2], 255, "the centre of the ring is empty");
    free(pix);
    free(buf);
    unlink(path);
    rmdir(tmpdir);
}
