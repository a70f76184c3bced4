/*
 * plot_svg.h - a line chart as a standalone SVG file: title, axes with
 * labels (units included by the caller), ticks at round values, one
 * coloured line per series and a legend naming them. Small on purpose:
 * the bench draws quality versus seconds, one line per protocol.
 *
 *     struct mtg_plot_series s[2] = {{"mtgan", xs0, ys0, n0}, {"sgda", xs1, ys1, n1}};
 *     mtg_plot_svg_write("q.svg", "Quality vs time", "wall seconds", "mean FD", s, 2, &err);
 */
#ifndef MTG_LAUNCH_PLOT_SVG_H
#define MTG_LAUNCH_PLOT_SVG_H

struct mtg_err;

struct mtg_plot_series {
    const char *name;  /* legend text (XML-escaped on output) */
    const float *x;    /* borrowed, n values */
    const float *y;
    int n;
};

/* Writes the chart to path (overwritten). MTG_OK, or MTG_EIO / MTG_EINVAL with err naming why. */
int mtg_plot_svg_write(const char *path, const char *title, const char *xlabel, const char *ylabel,
                       const struct mtg_plot_series *s, int n_series, struct mtg_err *err);

#endif
