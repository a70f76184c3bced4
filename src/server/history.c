/*
 * history.c - the dashboard's bounded per-task series and event log
 * (history.h). A series thins itself instead of dropping its oldest
 * points: the start of training is what a late viewer most wants to
 * compare against.
 */
#include "server/history.h"

#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define ID_MAX 64
#define KIND_MAX 24
#define TEXT_MAX 160
/* What malloc adds to each chunk (glibc: 8-16 bytes of header, 16-byte rounding); generous. */
#define MALLOC_SLACK 64

struct hist_series {
    char id[ID_MAX];
    int n;
    int stride; /* recorded points per stored point; doubles at each thinning */
    int fill;   /* records folded into the newest stored point */
    struct mtg_srv_hist_point pts[];
};

struct hist_event {
    uint64_t seq;
    double t_s;
    char kind[KIND_MAX];
    char text[TEXT_MAX];
};

struct mtg_srv_history {
    pthread_mutex_t mu;
    int capacity;
    uint64_t seq;
    int n_series;
    struct hist_series *series[MTG_SRV_HIST_TASKS];
    uint64_t n_events; /* ever appended; the newest MTG_SRV_HIST_EVENTS are kept */
    struct hist_event events[MTG_SRV_HIST_EVENTS];
};

static size_t series_bytes(int capacity)
{
    return sizeof(struct hist_series) + (size_t)capacity * sizeof(struct mtg_srv_hist_point);
}

size_t mtg_srv_history_bound(int capacity, int tasks)
{
    return sizeof(struct mtg_srv_history) + MALLOC_SLACK + (size_t)tasks * (series_bytes(capacity) + MALLOC_SLACK);
}

struct mtg_srv_history *mtg_srv_history_new(int capacity, struct mtg_err *err)
{
    if (capacity < MTG_SRV_HIST_MIN || capacity > MTG_SRV_HIST_MAX) {
        mtg_err_set(err, MTG_ERANGE, "history: capacity %d outside [%d, %d]", capacity, MTG_SRV_HIST_MIN,
                    MTG_SRV_HIST_MAX);
        return NULL;
    }
    struct mtg_srv_history *h = calloc(1, sizeof *h);
    if (!h) {
        mtg_err_set(err, MTG_ENOMEM, "history: out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    h->capacity = capacity;
    return h;
}

void mtg_srv_history_free(struct mtg_srv_history *h)
{
    if (!h)
        return;
    for (int i = 0; i < MTG_SRV_HIST_TASKS; i++)
        free(h->series[i]);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* Keeps the points at even indices: the series spans the same time at half the density. */
static void thin(struct hist_series *s)
{
    int k = 0;
    for (int i = 0; i < s->n; i += 2)
        s->pts[k++] = s->pts[i];
    s->n = k;
    s->stride *= 2;
}

int mtg_srv_history_record(struct mtg_srv_history *h, int task, const char *id, const struct mtg_srv_hist_point *p)
{
    if (task < 0 || task >= MTG_SRV_HIST_TASKS)
        return MTG_ERANGE;
    pthread_mutex_lock(&h->mu);
    struct hist_series *s = h->series[task];
    if (!s) {
        s = calloc(1, series_bytes(h->capacity));
        if (!s) {
            pthread_mutex_unlock(&h->mu);
            return MTG_ENOMEM;
        }
        snprintf(s->id, sizeof s->id, "%s", id ? id : "");
        s->stride = 1;
        h->series[task] = s;
        h->n_series++;
    }
    struct mtg_srv_hist_point q = *p;
    q.seq = ++h->seq;
    if (s->n > 0 && s->fill < s->stride) {
        /* Still inside the newest point's window: it moves forward, so the curve always ends now. */
        s->pts[s->n - 1] = q;
        s->fill++;
    } else {
        if (s->n == h->capacity)
            thin(s);
        s->pts[s->n++] = q;
        s->fill = 1;
    }
    pthread_mutex_unlock(&h->mu);
    return MTG_OK;
}

void mtg_srv_history_event(struct mtg_srv_history *h, double t_s, const char *kind, const char *text)
{
    pthread_mutex_lock(&h->mu);
    struct hist_event *e = &h->events[h->n_events++ % MTG_SRV_HIST_EVENTS];
    e->seq = ++h->seq;
    e->t_s = t_s;
    snprintf(e->kind, sizeof e->kind, "%s", kind);
    snprintf(e->text, sizeof e->text, "%s", text);
    pthread_mutex_unlock(&h->mu);
}

/* Index of the first point with seq > since (points are in seq order). */
static int first_after(const struct hist_series *s, uint64_t since)
{
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->pts[mid].seq <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int mtg_srv_history_points(struct mtg_srv_history *h, int task, uint64_t since, struct mtg_srv_hist_point *out,
                           int max)
{
    if (task < 0 || task >= MTG_SRV_HIST_TASKS)
        return 0;
    pthread_mutex_lock(&h->mu);
    const struct hist_series *s = h->series[task];
    int k = 0;
    for (int i = s ? first_after(s, since) : 0; s && i < s->n && k < max; i++)
        out[k++] = s->pts[i];
    pthread_mutex_unlock(&h->mu);
    return k;
}

size_t mtg_srv_history_bytes(struct mtg_srv_history *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = sizeof *h + (size_t)h->n_series * series_bytes(h->capacity);
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* A float as the shortest text that reads back close enough for a chart; null when not finite. */
static int put_num(char *buf, size_t n, double v)
{
    return isfinite(v) ? snprintf(buf, n, ",%.6g", v) : snprintf(buf, n, ",null");
}

static cJSON *point_json(const struct mtg_srv_hist_point *p)
{
    char buf[320];
    size_t len = (size_t)snprintf(buf, sizeof buf, "[%llu,%.3f,%llu", (unsigned long long)p->seq, p->t_s,
                                  (unsigned long long)p->step);
    len += (size_t)put_num(buf + len, sizeof buf - len, p->loss_d);
    len += (size_t)put_num(buf + len, sizeof buf - len, p->loss_g);
    if (p->q_step == 0) {
        snprintf(buf + len, sizeof buf - len, ",null,null,null,null,null,null]");
    } else {
        len += (size_t)snprintf(buf + len, sizeof buf - len, ",%llu", (unsigned long long)p->q_step);
        const float q[] = {p->fidelity, p->fd, p->precision, p->recall, p->coverage};
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
            len += (size_t)put_num(buf + len, sizeof buf - len, q[i]);
        snprintf(buf + len, sizeof buf - len, "]");
    }
    return cJSON_CreateRaw(buf);
}

static int add_series(cJSON *tasks, const struct hist_series *s, uint64_t since)
{
    cJSON *o = cJSON_AddObjectToObject(tasks, s->id);
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "points") : NULL;
    if (!arr || !cJSON_AddNumberToObject(o, "stride", s->stride))
        return 0;
    for (int i = first_after(s, since); i < s->n; i++) {
        cJSON *p = point_json(&s->pts[i]);
        if (!p)
            return 0;
        cJSON_AddItemToArray(arr, p);
    }
    return 1;
}

static int add_events(cJSON *root, const struct mtg_srv_history *h, uint64_t since)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "events");
    if (!arr)
        return 0;
    uint64_t kept = h->n_events < MTG_SRV_HIST_EVENTS ? h->n_events : MTG_SRV_HIST_EVENTS;
    for (uint64_t i = h->n_events - kept; i < h->n_events; i++) {
        const struct hist_event *e = &h->events[i % MTG_SRV_HIST_EVENTS];
        if (e->seq <= since)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return 0;
        cJSON_AddItemToArray(arr, o);
        if (!cJSON_AddNumberToObject(o, "seq", (double)e->seq) || !cJSON_AddNumberToObject(o, "t_s", e->t_s) ||
            !cJSON_AddStringToObject(o, "kind", e->kind) || !cJSON_AddStringToObject(o, "text", e->text))
            return 0;
    }
    return 1;
}

cJSON *mtg_srv_history_json(struct mtg_srv_history *h, uint64_t since, const char *only_task)
{
    static const char *const columns[] = {"seq",    "t_s", "step",      "loss_d", "loss_g",  "q_step",
                                          "fidelity", "fd", "precision", "recall", "coverage"};
    cJSON *root = cJSON_CreateObject();
    cJSON *cols = root ? cJSON_CreateStringArray(columns, (int)(sizeof columns / sizeof columns[0])) : NULL;
    if (!cols) {
        cJSON_Delete(root);
        return NULL;
    }
    cJSON_AddItemToObject(root, "columns", cols);
    pthread_mutex_lock(&h->mu);
    int ok = cJSON_AddNumberToObject(root, "seq", (double)h->seq) != NULL &&
             cJSON_AddNumberToObject(root, "capacity", h->capacity) != NULL;
    cJSON *tasks = ok ? cJSON_AddObjectToObject(root, "tasks") : NULL;
    ok = tasks != NULL;
    for (int i = 0; ok && i < MTG_SRV_HIST_TASKS; i++) {
        const struct hist_series *s = h->series[i];
        if (s && (!only_task || strcmp(only_task, s->id) == 0))
            ok = add_series(tasks, s, since);
    }
    ok = ok && add_events(root, h, since);
    pthread_mutex_unlock(&h->mu);
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}
