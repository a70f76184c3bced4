#include "data/image.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define BORDER_GRAY 128

/* An 8-bit grayscale canvas, row-major. */
struct canvas {
    int w;
    int h;
    unsigned char *pix;
};

/* Growable output buffer for png_set_write_fn. */
struct membuf {
    unsigned char *p;
    size_t len;
    size_t cap;
};

/*
 * Everything libpng touches lives here, not in locals of the function that
 * calls setjmp: after png_error() longjmps back, the cleanup reads these
 * through a pointer, so no register-cached local can be stale (C11 7.13.2.1).
 */
struct png_job {
    png_structp png;
    png_infop info;
    const struct canvas *cv;
    FILE *fp;            /* exactly one of fp and mem is set */
    struct membuf *mem;
    char msg[160];       /* libpng's error text */
};

static void on_png_error(png_structp png, png_const_charp msg)
{
    struct png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

/* Warnings (e.g. about ancillary chunks) do not affect the image; drop them. */
static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void mem_write(png_structp png, png_bytep data, png_size_t n)
{
    struct png_job *job = png_get_io_ptr(png);
    struct membuf *b = job->mem;
    if (n > SIZE_MAX / 2 - b->len)
        png_error(png, "output too large");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p)
            png_error(png, "out of memory for the PNG buffer");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* The libpng calls proper; may longjmp out through on_png_error. */
static void png_encode_body(struct png_job *job)
{
    if (job->fp)
        png_init_io(job->png, job->fp);
    else
        png_set_write_fn(job->png, job, mem_write, mem_flush);
    png_set_IHDR(job->png, job->info, (png_uint_32)job->cv->w, (png_uint_32)job->cv->h, 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(job->png, job->info);
    for (int y = 0; y < job->cv->h; y++)
        png_write_row(job->png, job->cv->pix + (size_t)y * (size_t)job->cv->w);
    png_write_end(job->png, NULL);
}

/* Encodes cv to fp or mem; what names the destination in messages. */
static int png_encode(const struct canvas *cv, FILE *fp, struct membuf *mem, const char *what,
                      struct mtg_err *err)
{
    struct png_job job = {.cv = cv, .fp = fp, .mem = mem};
    struct png_job *j = &job;
    j->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, j, on_png_error, on_png_warning);
    if (!j->png)
        return mtg_err_set(err, MTG_ENOMEM, "%s: cannot create a libpng writer", what);
    j->info = png_create_info_struct(j->png);
    if (!j->info) {
        png_destroy_write_struct(&j->png, NULL);
        return mtg_err_set(err, MTG_ENOMEM, "%s: cannot create libpng info", what);
    }
    if (setjmp(png_jmpbuf(j->png))) {
        png_destroy_write_struct(&j->png, &j->info);
        return mtg_err_set(err, MTG_EIO, "%s: libpng: %s", what, j->msg);
    }
    png_encode_body(j);
    png_destroy_write_struct(&j->png, &j->info);
    return MTG_OK;
}

/*
 * Writes to path.tmp and renames it over path, so a reader (or a crash)
 * never sees half a PNG, and a failed write never clobbers the old file.
 */
static int write_canvas_file(const struct canvas *cv, const char *path, struct mtg_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return mtg_err_set(err, MTG_EINVAL, "%.64s...: path too long", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp)
        return mtg_err_set(err, MTG_EIO, "%s: cannot open for writing", tmp);
    int rc = png_encode(cv, fp, NULL, path, err);
    /* fclose flushes: a full disk shows up here, not in fwrite. */
    if (fclose(fp) != 0 && rc == MTG_OK)
        rc = mtg_err_set(err, MTG_EIO, "%s: write failed", tmp);
    if (rc == MTG_OK && rename(tmp, path) != 0)
        rc = mtg_err_set(err, MTG_EIO, "%s: cannot rename into place", path);
    if (rc != MTG_OK)
        remove(tmp);
    return rc;
}

static unsigned char to_gray(float v)
{
    if (!(v > 0.0f)) /* also catches NaN */
        return 0;
    if (v >= 1.0f)
        return 255;
    return (unsigned char)lrintf(v * 255.0f);
}

/* Lays out the grid into a new canvas; the caller frees cv->pix. */
static int grid_canvas(const float *data, int n, int h, int w, int cols, int scale,
                       struct canvas *cv, struct mtg_err *err)
{
    cv->pix = NULL;
    if (!data || n < 1 || h < 1 || w < 1 || cols < 1 || scale < 1)
        return mtg_err_set(err, MTG_EINVAL,
                           "image grid: need data, n, h, w, cols, scale >= 1 (got n=%d h=%d w=%d "
                           "cols=%d scale=%d)",
                           n, h, w, cols, scale);
    if (h > MTG_IMAGE_MAX_SIDE || w > MTG_IMAGE_MAX_SIDE || scale > MTG_IMAGE_MAX_SIDE)
        return mtg_err_set(err, MTG_ERANGE, "image grid: %dx%d x%d exceeds %d pixels", h, w,
                           scale, MTG_IMAGE_MAX_SIDE);
    if (cols > n)
        cols = n;
    int rows = (n + cols - 1) / cols;
    /* Each image is surrounded by a border one source pixel wide. */
    int64_t cw = (int64_t)w * scale, ch = (int64_t)h * scale;
    int64_t W = (int64_t)cols * cw + (int64_t)(cols + 1) * scale;
    int64_t H = (int64_t)rows * ch + (int64_t)(rows + 1) * scale;
    if (W > MTG_IMAGE_MAX_SIDE || H > MTG_IMAGE_MAX_SIDE)
        return mtg_err_set(err, MTG_ERANGE, "image grid: canvas %lldx%lld exceeds %d pixels",
                           (long long)W, (long long)H, MTG_IMAGE_MAX_SIDE);
    cv->w = (int)W;
    cv->h = (int)H;
    cv->pix = malloc((size_t)W * (size_t)H);
    if (!cv->pix)
        return mtg_err_set(err, MTG_ENOMEM, "image grid: out of memory for %lldx%lld",
                           (long long)W, (long long)H);
    memset(cv->pix, BORDER_GRAY, (size_t)W * (size_t)H);
    for (int i = 0; i < n; i++) {
        int gx = i % cols, gy = i / cols;
        size_t x0 = (size_t)scale + (size_t)gx * (size_t)(cw + scale);
        size_t y0 = (size_t)scale + (size_t)gy * (size_t)(ch + scale);
        const float *img = data + (size_t)i * (size_t)h * (size_t)w;
        for (int y = 0; y < h * scale; y++) {
            unsigned char *dst = cv->pix + (y0 + (size_t)y) * (size_t)W + x0;
            const float *src = img + (size_t)(y / scale) * (size_t)w;
            for (int x = 0; x < w * scale; x++)
                dst[x] = to_gray(src[x / scale]);
        }
    }
    return MTG_OK;
}

int mtg_image_scale_for_side(int side)
{
    return side <= 8 ? 4 : side < 64 ? 2 : 1;
}

int mtg_image_write_grid_png(const char *path, const float *data, int n, int h, int w, int cols,
                             int scale, struct mtg_err *err)
{
    if (!path)
        return mtg_err_set(err, MTG_EINVAL, "image grid: NULL path");
    struct canvas cv;
    int rc = grid_canvas(data, n, h, w, cols, scale, &cv, err);
    if (rc != MTG_OK)
        return mtg_err_wrap(err, "%s", path);
    rc = write_canvas_file(&cv, path, err);
    free(cv.pix);
    return rc;
}

int mtg_image_grid_png_mem(const float *data, int n, int h, int w, int cols, int scale,
                           unsigned char **png, size_t *len, struct mtg_err *err)
{
    if (!png || !len)
        return mtg_err_set(err, MTG_EINVAL, "image grid: NULL output");
    *png = NULL;
    *len = 0;
    struct canvas cv;
    int rc = grid_canvas(data, n, h, w, cols, scale, &cv, err);
    if (rc != MTG_OK)
        return rc;
    struct membuf mb = {0};
    rc = png_encode(&cv, NULL, &mb, "png buffer", err);
    free(cv.pix);
    if (rc != MTG_OK) {
        free(mb.p);
        return rc;
    }
    *png = mb.p;
    *len = mb.len;
    return MTG_OK;
}

static void plot_dot(struct canvas *cv, int cx, int cy, int radius, unsigned char v)
{
    for (int y = cy - radius; y <= cy + radius; y++)
        for (int x = cx - radius; x <= cx + radius; x++)
            if (x >= 0 && x < cv->w && y >= 0 && y < cv->h)
                cv->pix[(size_t)y * (size_t)cv->w + (size_t)x] = v;
}

static void plot_cross(struct canvas *cv, int cx, int cy, int arm, unsigned char v)
{
    for (int d = -arm; d <= arm; d++) {
        plot_dot(cv, cx + d, cy, 0, v);
        plot_dot(cv, cx, cy + d, 0, v);
    }
}

/* Maps a coordinate in [-extent, extent] to a pixel index; -1 when outside. */
static int to_px(float v, float extent, int side)
{
    float u = (v + extent) / (2.0f * extent);
    if (!(u >= 0.0f && u <= 1.0f))
        return -1;
    return (int)lrintf(u * (float)(side - 1));
}

int mtg_image_write_scatter_png(const char *path, const float *points, int n,
                                const float *centres, int n_centres, float extent, int side,
                                struct mtg_err *err)
{
    if (!path || (n > 0 && !points) || (n_centres > 0 && !centres) || n < 0 || n_centres < 0)
        return mtg_err_set(err, MTG_EINVAL, "scatter: NULL or negative argument");
    if (!(extent > 0.0f) || !isfinite(extent) || side < 8 || side > MTG_IMAGE_MAX_SIDE)
        return mtg_err_set(err, MTG_EINVAL, "%s: scatter needs extent > 0 and side in [8, %d]",
                           path, MTG_IMAGE_MAX_SIDE);
    struct canvas cv = {.w = side, .h = side};
    cv.pix = malloc((size_t)side * (size_t)side);
    if (!cv.pix)
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory for %dx%d", path, side, side);
    memset(cv.pix, 255, (size_t)side * (size_t)side);
    for (int i = 0; i < n_centres; i++) {
        int x = to_px(centres[2 * (size_t)i], extent, side);
        int y = to_px(-centres[2 * (size_t)i + 1], extent, side); /* y up */
        if (x >= 0 && y >= 0)
            plot_cross(&cv, x, y, side / 64 + 3, 160);
    }
    for (int i = 0; i < n; i++) {
        int x = to_px(points[2 * (size_t)i], extent, side);
        int y = to_px(-points[2 * (size_t)i + 1], extent, side);
        if (x >= 0 && y >= 0)
            plot_dot(&cv, x, y, 1, 0);
    }
    int rc = write_canvas_file(&cv, path, err);
    free(cv.pix);
    return rc;
}

/* Bresenham line; dash > 0 skips every other run of `dash` pixels. */
static void plot_line(struct canvas *cv, int x0, int y0, int x1, int y1, unsigned char v, int dash)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int e = dx + dy, k = 0;
    for (;;) {
        if (x0 >= 0 && y0 >= 0 && x0 < cv->w && y0 < cv->h && (dash == 0 || (k / dash) % 2 == 0)) {
            cv->pix[(size_t)y0 * cv->w + x0] = v;
            if (y0 + 1 < cv->h)
                cv->pix[(size_t)(y0 + 1) * cv->w + x0] = v; /* 2 px thick: readable when scaled down */
        }
        k++;
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

int mtg_image_write_lines_png(const char *path, const float *const *xs, const float *const *ys, const int *ns,
                              int n_series, int w, int h, struct mtg_err *err)
{
    if (!path || n_series < 1 || n_series > 4 || w < 64 || h < 64 || w > MTG_IMAGE_MAX_SIDE || h > MTG_IMAGE_MAX_SIDE)
        return mtg_err_set(err, MTG_EINVAL, "lines: bad arguments (1..4 series, side 64..%d)", MTG_IMAGE_MAX_SIDE);
    float xmax = 0, ymax = 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < ns[s]; i++) {
            if (isfinite(xs[s][i]) && xs[s][i] > xmax)
                xmax = xs[s][i];
            if (isfinite(ys[s][i]) && ys[s][i] > ymax)
                ymax = ys[s][i];
        }
    if (!(xmax > 0))
        xmax = 1;
    if (!(ymax > 0))
        ymax = 1;
    struct canvas cv = {.w = w, .h = h};
    cv.pix = malloc((size_t)w * (size_t)h);
    if (!cv.pix)
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", path);
    memset(cv.pix, 255, (size_t)w * (size_t)h);
    const int m = 24; /* margin; axes along the left and bottom */
    plot_line(&cv, m, h - m, w - m, h - m, 0, 0);
    plot_line(&cv, m, m, m, h - m, 0, 0);
    static const unsigned char shade[] = {0, 120, 60, 180};
    static const int dash[] = {0, 6, 2, 10};
    for (int s = 0; s < n_series; s++) {
        int px = -1, py = -1;
        for (int i = 0; i < ns[s]; i++) {
            if (!isfinite(xs[s][i]) || !isfinite(ys[s][i]))
                continue;
            int x = m + (int)((float)(w - 2 * m) * xs[s][i] / xmax);
            int y = h - m - (int)((float)(h - 2 * m) * ys[s][i] / ymax);
            if (px >= 0)
                plot_line(&cv, px, py, x, y, shade[s], dash[s]);
            px = x, py = y;
        }
    }
    int rc = write_canvas_file(&cv, path, err);
    free(cv.pix);
    return rc;
}
