/*
 * image.h - PNG output for samples: a grid of n grayscale h×w images with
 * values in [0, 1] (0 = black), each upscaled by an integer factor so 8×8
 * digits are visible, and a scatter plot of 2-D points for the ring. Written
 * with libpng to a file or to a malloc'd buffer (for the HTTP endpoint
 * GET /v1/tasks/{task}/samples?format=png).
 *
 *     mtg_image_write_grid_png("digits.png", x, 64, 8, 8, 8, 4, &err);  // 8 columns, 4x
 *     unsigned char *png; size_t len;
 *     mtg_image_grid_png_mem(x, 64, 8, 8, 8, 4, &png, &len, &err);
 *     ... send png ...; free(png);
 *
 * Images are separated by a 1-pixel (before scaling) mid-gray border. Files
 * are written to path.tmp and renamed into place: never seen half-written.
 */
#ifndef MTG_DATA_IMAGE_H
#define MTG_DATA_IMAGE_H

#include <stddef.h>

struct mtg_err;

/* Largest canvas side in pixels: bounds memory (16384² bytes = 256 MiB). */
#define MTG_IMAGE_MAX_SIDE 16384

/*
 * Upscale factor that makes a side x side sample big enough to see in a
 * grid: 4 for 8x8 digits (32 px), 2 for 28x28 Fashion-MNIST (56 px), 1 from
 * 64 up. The server's sample PNGs, `mtgan sample` and train-local use it.
 */
int mtg_image_scale_for_side(int side);

/*
 * Writes data [n, h*w] (row-major images, values clamped to [0, 1]; NaN is
 * drawn black) as a grid with cols columns, each pixel a scale×scale block.
 * 0 or MTG_EINVAL (bad sizes) / MTG_ERANGE (canvas too large) / MTG_EIO /
 * MTG_ENOMEM, err naming the path.
 */
int mtg_image_write_grid_png(const char *path, const float *data, int n, int h, int w, int cols,
                             int scale, struct mtg_err *err);

/* Same PNG into *png (malloc'd, *len bytes); the caller free()s it. */
int mtg_image_grid_png_mem(const float *data, int n, int h, int w, int cols, int scale,
                           unsigned char **png, size_t *len, struct mtg_err *err);

/*
 * Scatter plot of points [n, 2] on a side×side white canvas covering
 * [-extent, extent]² (y up), points drawn black as 3×3 dots, and the
 * optional centres [n_centres, 2] as gray crosses. Points outside are
 * skipped. Written as PNG to path.
 */
int mtg_image_write_scatter_png(const char *path, const float *points, int n,
                                const float *centres, int n_centres, float extent, int side,
                                struct mtg_err *err);

/*
 * A line plot of up to 4 series (x, y >= 0; axes from 0 to the maxima),
 * series 0 solid black, 1 dashed grey, 2 dotted dark, 3 long-dashed light.
 * No text: captions belong in the document that shows the plot.
 */
int mtg_image_write_lines_png(const char *path, const float *const *xs, const float *const *ys, const int *ns,
                              int n_series, int w, int h, struct mtg_err *err);

#endif
