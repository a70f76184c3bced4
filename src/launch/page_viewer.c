/*
 * page_viewer.c - the dashboard's request pattern without a browser
 * (page_viewer.h). Rates are dashboard.js's POLL_MS and SAMPLE_MS; keep
 * them in step when the page changes.
 */
#include "launch/page_viewer.h"

#include <cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "edge/client.h"

#define POLL_MS 2000
#define SAMPLE_MS 5000
#define MAX_TASKS 256

struct viewer_task {
    char id[64];
    double version;
    double grid_at;
};

struct mtg_page_viewer {
    struct mtg_client *c;
    pthread_t th;
    atomic_int stop;
    struct mtg_page_viewer_stats st;
    double since;
    int n_tasks;
    struct viewer_task task[MAX_TASKS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One GET; the body is returned parsed when want_json, else dropped. */
static cJSON *get(struct mtg_page_viewer *v, const char *path, int want_json)
{
    struct mtg_client_resp r = {0};
    struct mtg_err err = {0};
    v->st.requests++;
    int rc = mtg_client_request(v->c, "GET", path, NULL, 0, NULL, NULL, &r, &err);
    cJSON *o = NULL;
    if (rc != MTG_OK || (r.status != 200 && r.status != 304)) {
        v->st.errors++;
    } else {
        v->st.bytes += r.len;
        if (want_json)
            o = cJSON_ParseWithLength((const char *)r.body, r.len);
    }
    mtg_client_resp_deinit(&r);
    return o;
}

static struct viewer_task *task_slot(struct mtg_page_viewer *v, const char *id)
{
    for (int i = 0; i < v->n_tasks; i++)
        if (strcmp(v->task[i].id, id) == 0)
            return &v->task[i];
    if (v->n_tasks == MAX_TASKS)
        return NULL;
    struct viewer_task *t = &v->task[v->n_tasks++];
    snprintf(t->id, sizeof t->id, "%s", id);
    t->version = -1;
    t->grid_at = -1e9;
    return t;
}

static void poll_once(struct mtg_page_viewer *v)
{
    char path[160];
    cJSON *st = get(v, "/v1/status", 1);
    snprintf(path, sizeof path, "/v1/history?since=%.0f", v->since);
    cJSON *h = get(v, path, 1);
    cJSON_Delete(get(v, "/v1/edges", 1));
    cJSON_Delete(get(v, "/v1/scheduler", 1));
    v->st.polls++;
    cJSON *seq = h ? cJSON_GetObjectItemCaseSensitive(h, "seq") : NULL;
    if (cJSON_IsNumber(seq))
        v->since = seq->valuedouble;
    cJSON *tasks = st ? cJSON_GetObjectItemCaseSensitive(st, "tasks") : NULL;
    double now = now_s();
    for (cJSON *t = cJSON_IsObject(tasks) ? tasks->child : NULL; t; t = t->next) {
        cJSON *ver = cJSON_GetObjectItemCaseSensitive(t, "version");
        struct viewer_task *vt = t->string ? task_slot(v, t->string) : NULL;
        if (!vt || !cJSON_IsNumber(ver) || ver->valuedouble == vt->version || now - vt->grid_at < SAMPLE_MS / 1000.0)
            continue;
        vt->version = ver->valuedouble;
        vt->grid_at = now;
        snprintf(path, sizeof path, "/v1/tasks/%s/samples?n=48&format=png&seed=1", vt->id);
        get(v, path, 0);
        v->st.grids++;
    }
    cJSON_Delete(st);
    cJSON_Delete(h);
}

static void *viewer_main(void *arg)
{
    struct mtg_page_viewer *v = arg;
    static const char *const files[] = {"/", "/dashboard.js", "/dashboard.css"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        get(v, files[i], 0);
    while (!atomic_load(&v->stop)) {
        double t0 = now_s();
        poll_once(v);
        /* Sleep the rest of the period in short steps, so stop is prompt. */
        while (!atomic_load(&v->stop) && now_s() - t0 < POLL_MS / 1000.0) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

int mtg_page_viewer_start(const char *base_url, struct mtg_page_viewer **out, struct mtg_err *err)
{
    *out = NULL;
    struct mtg_page_viewer *v = calloc(1, sizeof *v);
    if (!v)
        return mtg_err_set(err, MTG_ENOMEM, "page viewer: out of memory");
    struct mtg_client_opts co = {.base_url = base_url, .max_attempts = 1, .timeout_ms = 30000};
    int rc = mtg_client_new(&co, &v->c, err);
    if (rc == MTG_OK && pthread_create(&v->th, NULL, viewer_main, v) != 0)
        rc = mtg_err_set(err, MTG_ENOMEM, "page viewer: cannot start its thread");
    if (rc != MTG_OK) {
        mtg_client_free(v->c);
        free(v);
        return rc;
    }
    *out = v;
    return MTG_OK;
}

void mtg_page_viewer_stop(struct mtg_page_viewer *v, struct mtg_page_viewer_stats *st)
{
    if (!v)
        return;
    atomic_store(&v->stop, 1);
    pthread_join(v->th, NULL);
    if (st)
        *st = v->st;
    mtg_client_free(v->c);
    free(v);
}
