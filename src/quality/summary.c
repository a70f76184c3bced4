#include "quality/summary.h"
#include "core/status.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mtg_summary_add(struct mtg_summary *s, const struct mtg_summary_task *t)
{
    if (s->n_tasks < MTG_SUMMARY_MAX_TASKS)
        s->tasks[s->n_tasks++] = *t;
}

void mtg_summary_task_set_quality(struct mtg_summary_task *row, const struct mtg_quality_task *r,
                                  const struct mtg_quality_task *ceiling)
{
    row->fidelity = r->fidelity;
    row->fd = r->fd;
    row->precision = r->precision;
    row->recall = r->recall;
    row->coverage = r->coverage;
    if (ceiling)
        row->ceiling = *ceiling;
    else
        memset(&row->ceiling, 0, sizeof row->ceiling);
}

int mtg_summary_count_fidelity(const struct mtg_summary *s, double threshold)
{
    int n = 0;
    for (int i = 0; i < s->n_tasks; i++)
        n += s->tasks[i].fidelity >= threshold;
    return n;
}

/* "model/ceiling" with prec decimals, "model/-" when the ceiling is unknown. */
static const char *pair(char *buf, size_t n, double model, int known, double ceiling, int prec)
{
    if (known)
        snprintf(buf, n, "%.*f/%.*f", prec, model, prec, ceiling);
    else
        snprintf(buf, n, "%.*f/-", prec, model);
    return buf;
}

void mtg_summary_print(FILE *f, const struct mtg_summary *s)
{
    int any_ceiling = 0;
    for (int i = 0; i < s->n_tasks; i++)
        any_ceiling |= s->tasks[i].ceiling.n > 0;
    fprintf(f, "\n%-12s %11s %13s %11s %11s %11s %9s %10s\n", "task", "fidelity", "FD", "precision", "recall",
            "coverage", "steps", "target_s");
    for (int i = 0; i < s->n_tasks; i++) {
        const struct mtg_summary_task *t = &s->tasks[i];
        const struct mtg_quality_task *c = &t->ceiling;
        int k = c->n > 0;
        char reached[32] = "-", fid[48], fd[48], p[48], r[48], cov[48];
        if (t->reached_s >= 0)
            snprintf(reached, sizeof reached, "%.1f", t->reached_s);
        fprintf(f, "%-12s %11s %13s %11s %11s %11s %9llu %10s\n", t->id,
                pair(fid, sizeof fid, t->fidelity, k, c->fidelity, 3), pair(fd, sizeof fd, t->fd, k, c->fd, 2),
                pair(p, sizeof p, t->precision, k, c->precision, 3), pair(r, sizeof r, t->recall, k, c->recall, 3),
                pair(cov, sizeof cov, t->coverage, k, c->coverage, 3), (unsigned long long)t->steps, reached);
    }
    if (any_ceiling)
        fprintf(f, "(model/ceiling: the ceiling scores the task's real train images the same way, DESIGN §11)\n");
    fprintf(f, "protocol %s: %d/%d tasks with fidelity >= 0.9, wall %.1f s", s->protocol,
            mtg_summary_count_fidelity(s, 0.9), s->n_tasks, s->wall_s);
    if (s->server_peak_rss_bytes >= 0)
        fprintf(f, ", server peak RSS %.1f MiB", (double)s->server_peak_rss_bytes / (1024.0 * 1024.0));
    if (s->bytes_sent || s->bytes_received)
        fprintf(f, ", edges sent %.2f MB, received %.2f MB", (double)s->bytes_sent / 1e6,
                (double)s->bytes_received / 1e6);
    fprintf(f, "\n");
}

cJSON *mtg_summary_ceiling_json(cJSON *parent, const struct mtg_quality_task *c)
{
    cJSON *o = cJSON_AddObjectToObject(parent, "ceiling");
    cJSON_AddNumberToObject(o, "precision", c->precision);
    cJSON_AddNumberToObject(o, "recall", c->recall);
    cJSON_AddNumberToObject(o, "coverage", c->coverage);
    cJSON_AddNumberToObject(o, "fd", c->fd);
    cJSON_AddNumberToObject(o, "fidelity", c->fidelity);
    cJSON_AddNumberToObject(o, "n", c->n);
    return o;
}

int mtg_summary_write_json(const struct mtg_summary *s, const char *path, struct mtg_err *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "protocol", s->protocol);
    cJSON_AddNumberToObject(o, "wall_s", s->wall_s);
    cJSON_AddNumberToObject(o, "server_peak_rss_bytes", (double)s->server_peak_rss_bytes);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)s->bytes_sent);
    cJSON_AddNumberToObject(o, "bytes_received", (double)s->bytes_received);
    cJSON *tasks = cJSON_AddObjectToObject(o, "tasks");
    for (int i = 0; i < s->n_tasks; i++) {
        const struct mtg_summary_task *t = &s->tasks[i];
        cJSON *tj = cJSON_AddObjectToObject(tasks, t->id);
        cJSON_AddNumberToObject(tj, "fidelity", t->fidelity);
        cJSON_AddNumberToObject(tj, "fd", t->fd);
        cJSON_AddNumberToObject(tj, "precision", t->precision);
        cJSON_AddNumberToObject(tj, "recall", t->recall);
        cJSON_AddNumberToObject(tj, "coverage", t->coverage);
        cJSON_AddNumberToObject(tj, "steps", (double)t->steps);
        if (t->reached_s >= 0)
            cJSON_AddNumberToObject(tj, "reached_s", t->reached_s);
        if (t->fd_ref > 0) {
            cJSON_AddNumberToObject(tj, "fd_ref", t->fd_ref);
            cJSON_AddNumberToObject(tj, "recall_ref", t->recall_ref);
        }
        if (t->ceiling.n > 0)
            mtg_summary_ceiling_json(tj, &t->ceiling);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return mtg_err_set(err, MTG_ENOMEM, "summary: out of memory");
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return mtg_err_set(err, MTG_EIO, "summary: cannot write %s: %s", path, strerror(e));
    }
    return MTG_OK;
}
