/* The bench's SVG line chart: a well-formed file with title, axis labels, ticks, a line and legend per series. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "launch/plot_svg.h"
#include "proc.h"

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

Test(plot, writes_title_axes_ticks_lines_and_legend)
{
    char dir[256], path[320];
    cr_assert_eq(tp_tmpdir(dir, sizeof dir), 0);
    snprintf(path, sizeof path, "%s/q.svg", dir);
    const float x0[] = {0, 10, 20, 30}, y0[] = {40, 20, 8, 5}, x1[] = {0, 50, 100}, y1[] = {45, 30, 12};
    const struct mtg_plot_series s[] = {{"mtgan", x0, y0, 4}, {"sgda <pipelined>", x1, y1, 3}};
    struct mtg_err err = {0};
    cr_assert_eq(mtg_plot_svg_write(path, "Quality vs time", "wall time (s)", "mean FD", s, 2, &err), MTG_OK, "%s",
                 err.msg);
    char *svg = tp_read_file(path, NULL);
    cr_assert(svg);
    cr_expect(strncmp(svg, "<?xml", 5) == 0);
    cr_expect(strstr(svg, "</svg>") != NULL);
    cr_expect(strstr(svg, ">Quality vs time<") && strstr(svg, ">wall time (s)<") && strstr(svg, ">mean FD<"));
    cr_expect_eq(count(svg, "<polyline"), 2, "one line per series");
    cr_expect(strstr(svg, ">mtgan<") && strstr(svg, ">sgda &lt;pipelined&gt;<"), "legend names, escaped");
    cr_expect(strstr(svg, ">100<") && strstr(svg, ">0<"), "x ticks at round values up to the last x");
    free(svg);
    cr_expect_neq(mtg_plot_svg_write("/nonexistent-dir/q.svg", "t", "x", "y", s, 2, &err), MTG_OK);
}
