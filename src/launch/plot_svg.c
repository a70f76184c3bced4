#include "launch/plot_svg.h"
#include "core/status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 720
#define H 420
#define LEFT 70
#define RIGHT 150 /* room for the legend */
#define TOP 40
#define BOTTOM 55

static const char *const colours[] = {"#1b6ac9", "#d1495b", "#2e9e5b", "#edae49", "#6b4c9a", "#555555"};

static void put_escaped(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A tick step of 1, 2 or 5 x 10^k giving about 5 ticks over span. */
static double nice_step(double span)
{
    double raw = span / 5.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

int mtg_plot_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                       const struct mtg_plot_series *s, int n_series, struct mtg_err *err)
{
    if (n_series < 0)
        return mtg_err_set(err, MTG_EINVAL, "plot: negative series count");
    double x0 = 0, x1 = 0, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < n_series; k++)
        for (int i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i]))
                continue;
            x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, s[k].y[i]);
            y1 = fmax(y1, s[k].y[i]);
        }
    if (!(y0 <= y1)) /* no finite point: draw empty axes */
        y0 = 0, y1 = 1;
    y0 = fmin(y0, 0); /* quality metrics start at 0: keep it on the chart so lines are read against it */
    if (x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= y0)
        y1 = y0 + 1;
    const double xs = nice_step(x1 - x0), ys = nice_step(y1 - y0);
    x1 = ceil(x1 / xs) * xs;
    y1 = ceil(y1 / ys) * ys;
    const double pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
#define PX(v) (LEFT + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (TOP + ph - ((v) - y0) / (y1 - y0) * ph)
    FILE *f = fopen(path, "w");
    if (!f)
        return mtg_err_set(err, MTG_EIO, "plot: cannot write %s: %s", path, strerror(errno));
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">", W / 2);
    put_escaped(f, title);
    fputs("</text>\n", f);
    for (double v = x0; v <= x1 + xs * 1e-6; v += xs) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", PX(v), TOP, PX(v), TOP + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", PX(v), TOP + ph + 16, v);
    }
    for (double v = y0; v <= y1 + ys * 1e-6; v += ys) {
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", LEFT, PY(v), LEFT + pw, PY(v));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", LEFT - 6, PY(v) + 4, v);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n", LEFT, TOP, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", LEFT + pw / 2, H - 12);
    put_escaped(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">", TOP + ph / 2);
    put_escaped(f, ylabel);
    fputs("</text>\n", f);
    for (int k = 0; k < n_series; k++) {
        const char *c = colours[k % (int)(sizeof colours / sizeof colours[0])];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", c);
        for (int i = 0; i < s[k].n; i++)
            if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                fprintf(f, "%.1f,%.1f ", PX(s[k].x[i]), PY(s[k].y[i]));
        fputs("\"/>\n", f);
        const double ly = TOP + 14 + 20 * k;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                LEFT + pw + 12, ly, LEFT + pw + 36, ly, c);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\">", LEFT + pw + 42, ly + 4);
        put_escaped(f, s[k].name);
        fputs("</text>\n", f);
    }
#undef PX
#undef PY
    fputs("</svg>\n", f);
    if (fclose(f) != 0)
        return mtg_err_set(err, MTG_EIO, "plot: writing %s failed", path);
    return MTG_OK;
}
