/*
 * uploader.c - see uploader.h. A fixed table of job slots guarded by one
 * mutex; the thread takes the queued slot with the lowest sequence number,
 * so requests leave in submission order (a prefetch queued before a push
 * is not overtaken by it, and pushes of one assignment stay ordered).
 */
#include "edge/uploader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"

enum slot_state { SLOT_FREE = 0, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct slot {
    enum slot_state state;
    uint64_t seq;
    char method[8];
    char path[512];
    char header[160];
    char tag[96];
    uint8_t *body;
    size_t len;
    struct edge_xfer_result res;
};

struct edge_xfer {
    struct mtg_client *client; /* borrowed; used by the thread only */
    char edge_id[64];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on submit, on job completion and on quit */
    int quit;
    uint64_t next_seq;
    struct slot slot[EDGE_XFER_MAX_JOBS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The queued slot submitted first, or NULL. Called with mu held. */
static struct slot *next_queued(struct edge_xfer *x)
{
    struct slot *best = NULL;
    for (int i = 0; i < EDGE_XFER_MAX_JOBS; i++)
        if (x->slot[i].state == SLOT_QUEUED && (!best || x->slot[i].seq < best->seq))
            best = &x->slot[i];
    return best;
}

static void *xfer_main(void *arg)
{
    struct edge_xfer *x = arg;
    pthread_mutex_lock(&x->mu);
    for (;;) {
        struct slot *s = NULL;
        while (!x->quit && !(s = next_queued(x)))
            pthread_cond_wait(&x->cv, &x->mu);
        if (x->quit)
            break;
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&x->mu);

        /* The slot is ours while RUNNING: the submitter only touches QUEUED-free or DONE slots. */
        const char *hdrs[] = {s->header, NULL};
        double t0 = now_s();
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: %s begin (background)", x->edge_id, s->tag);
        s->res.rc = mtg_client_request(x->client, s->method, s->path, s->body, s->len,
                                       s->body ? "application/x-mtgan-blob" : NULL, s->header[0] ? hdrs : NULL,
                                       &s->res.resp, &s->res.err);
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: %s end (background, %.3f s, rc %d)", x->edge_id, s->tag, now_s() - t0,
                s->res.rc);
        free(s->body);
        s->body = NULL;

        pthread_mutex_lock(&x->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

int edge_xfer_new(struct mtg_client *c, const char *edge_id, struct edge_xfer **out, struct mtg_err *err)
{
    *out = NULL;
    struct edge_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory for the uploader");
    x->client = c;
    snprintf(x->edge_id, sizeof x->edge_id, "%s", edge_id);
    if (pthread_mutex_init(&x->mu, NULL) != 0) {
        free(x);
        return mtg_err_set(err, MTG_EIO, "edge: cannot create the uploader's mutex");
    }
    if (pthread_cond_init(&x->cv, NULL) != 0) {
        pthread_mutex_destroy(&x->mu);
        free(x);
        return mtg_err_set(err, MTG_EIO, "edge: cannot create the uploader's condition variable");
    }
    if (pthread_create(&x->thread, NULL, xfer_main, x) != 0) {
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
        free(x);
        return mtg_err_set(err, MTG_EIO, "edge: cannot start the uploader thread");
    }
    *out = x;
    return MTG_OK;
}

void edge_xfer_free(struct edge_xfer *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    x->quit = 1;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    pthread_join(x->thread, NULL);
    for (int i = 0; i < EDGE_XFER_MAX_JOBS; i++) {
        free(x->slot[i].body);
        mtg_client_resp_deinit(&x->slot[i].res.resp);
    }
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

int edge_xfer_submit(struct edge_xfer *x, const char *method, const char *path, const char *header,
                     uint8_t *body, size_t len, const char *tag)
{
    pthread_mutex_lock(&x->mu);
    int id = -1;
    for (int i = 0; i < EDGE_XFER_MAX_JOBS && id < 0; i++)
        if (x->slot[i].state == SLOT_FREE)
            id = i;
    if (id < 0) {
        pthread_mutex_unlock(&x->mu);
        return MTG_ERANGE;
    }
    struct slot *s = &x->slot[id];
    memset(s, 0, sizeof *s);
    snprintf(s->method, sizeof s->method, "%s", method);
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->header, sizeof s->header, "%s", header ? header : "");
    snprintf(s->tag, sizeof s->tag, "%s", tag);
    s->body = body;
    s->len = body ? len : 0;
    s->seq = x->next_seq++;
    s->state = SLOT_QUEUED;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return id;
}

void edge_xfer_wait(struct edge_xfer *x, int id, struct edge_xfer_result *out)
{
    double t0 = now_s();
    pthread_mutex_lock(&x->mu);
    struct slot *s = &x->slot[id];
    while (s->state != SLOT_DONE)
        pthread_cond_wait(&x->cv, &x->mu);
    *out = s->res;
    memset(&s->res, 0, sizeof s->res);
    s->state = SLOT_FREE;
    pthread_mutex_unlock(&x->mu);
    out->blocked_s = now_s() - t0;
}
