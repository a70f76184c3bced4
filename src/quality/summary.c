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

int mtg_summary_count_fidelity(const struct mtg_summary *s, double threshold)
{
    int n = 0;
    for (int i = 0; i < s->n_tasks; i++)
        n += s->tasks[i].fidelity >= threshold;
    return n;
}

void mtg_summary_print(FILE *f, const struct mtg_summary *s)
{
    fprintf(f, "\n%-12s %9s %8s %9s %7s %9s %10s\n", "task", "fidelity", "FD", "precision", "recall", "steps",
            "target_s");
    for (int i = 0; i < s->n_tasks; i++) {
        const struct mtg_summary_task *t = &s->tasks[i];
        char reached[32] = "-";
        if (t->reached_s >= 0)
            snprintf(reached, sizeof reached, "%.1f", t->reached_s);
        fprintf(f, "%-12s %9.3f %8.2f %9.3f %7.3f %9llu %10s\n", t->id, t->fidelity, t->fd, t->precision, t->recall,
                (unsigned long long)t->steps, reached);
    }
    fprintf(f, "protocol %s: %d/%d tasks with fidelity >= 0.9, wall %.1f s", s->protocol,
            mtg_summary_count_fidelity(s, 0.9), s->n_tasks, s->wall_s);
    if (s->server_peak_rss_bytes >= 0)
        fprintf(f, ", server peak RSS %.1f MiB", (double)s->server_peak_rss_bytes / (1024.0 * 1024.0));
    if (s->bytes_sent || s->bytes_received)
        fprintf(f, ", edges sent %.2f MB, received %.2f MB", (double)s->bytes_sent / 1e6,
                (double)s->bytes_received / 1e6);
    fprintf(f, "\n");
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
        cJSON_AddNumberToObject(tj, "steps", (double)t->steps);
        if (t->reached_s >= 0)
            cJSON_AddNumberToObject(tj, "reached_s", t->reached_s);
        if (t->fd_ref > 0) {
            cJSON_AddNumberToObject(tj, "fd_ref", t->fd_ref);
            cJSON_AddNumberToObject(tj, "recall_ref", t->recall_ref);
        }
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
