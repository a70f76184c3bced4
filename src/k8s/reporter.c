/* reporter.c - periodic status patches on a thread of their own. */
#include "k8s/reporter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/status.h"
#include "k8s/k8s.h"

#define DEF_INTERVAL_MS 5000

struct mtg_k8s_reporter {
    struct mtg_k8s_client *kc;
    struct mtg_k8s_job job;
    struct mtg_k8s_reporter_opts o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;          /* under mu */
    int hit_max;       /* reporter thread, then finish after join */
    char last_err[MTG_ERR_MSG_MAX]; /* the last logged failure, to log a repeat once */
    struct mtg_k8s_task_status tasks[MTG_K8S_MAX_TASKS];
};

/* Polls the caller and builds the status; returns the poll's "done". */
static int sample(struct mtg_k8s_reporter *r, struct mtg_k8s_job_status *st)
{
    memset(st, 0, sizeof *st);
    st->edges_alive = -1;
    int done = r->o.poll(r->o.user, st, r->tasks, MTG_K8S_MAX_TASKS);
    if (st->n_tasks < 0)
        st->n_tasks = 0;
    if (st->n_tasks > MTG_K8S_MAX_TASKS)
        st->n_tasks = MTG_K8S_MAX_TASKS;
    st->tasks = r->tasks;
    st->observed_generation = r->job.generation;
    if (r->job.max_rounds > 0 && st->round >= r->job.max_rounds) {
        if (!r->hit_max)
            mtg_log(MTG_LOG_INFO, "k8s", "job %s: round %lld reached spec.maxRounds %lld, stopping",
                    r->job.name, (long long)st->round, (long long)r->job.max_rounds);
        r->hit_max = 1;
        if (r->o.stop)
            atomic_store(r->o.stop, 1);
    }
    if (done || r->hit_max) {
        st->phase = MTG_K8S_PHASE_COMPLETED;
        st->reason = r->hit_max && !done ? "MaxRoundsReached" : NULL;
    } else if (st->round == 0 && st->edges_alive == 0) {
        st->phase = MTG_K8S_PHASE_WAITING;
    } else {
        st->phase = MTG_K8S_PHASE_RUNNING;
    }
    return done;
}

static void patch(struct mtg_k8s_reporter *r, const struct mtg_k8s_job_status *st)
{
    struct mtg_err err = {0};
    if (mtg_k8s_patch_status(r->kc, r->job.name, st, &r->job.track, &err) == MTG_OK) {
        if (r->last_err[0])
            mtg_log(MTG_LOG_INFO, "k8s", "job %s: status patches work again", r->job.name);
        r->last_err[0] = '\0';
        return;
    }
    if (strcmp(err.msg, r->last_err) != 0)
        mtg_log(MTG_LOG_WARN, "k8s", "job %s: status not updated: %s", r->job.name, err.msg);
    snprintf(r->last_err, sizeof r->last_err, "%s", err.msg);
}

static void *run(void *arg)
{
    struct mtg_k8s_reporter *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->quit) {
        pthread_mutex_unlock(&r->mu);
        struct mtg_k8s_job_status st;
        sample(r, &st);
        patch(r, &st);
        pthread_mutex_lock(&r->mu);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long ms = r->o.interval_ms;
        until.tv_sec += ms / 1000;
        until.tv_nsec += (ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->quit && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int mtg_k8s_reporter_start(struct mtg_k8s_client *kc, const struct mtg_k8s_job *job,
                           const struct mtg_k8s_reporter_opts *o, struct mtg_k8s_reporter **out,
                           struct mtg_err *err)
{
    *out = NULL;
    if (!kc || !job || !o || !o->poll)
        return mtg_err_set(err, MTG_EINVAL, "k8s: reporter needs a client, a job and a poll function");
    if (o->interval_ms < 0)
        return mtg_err_set(err, MTG_EINVAL, "k8s: reporter interval %d ms is negative", o->interval_ms);
    struct mtg_k8s_reporter *r = calloc(1, sizeof *r);
    if (!r)
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
    r->kc = kc;
    r->job = *job;
    r->o = *o;
    if (r->o.interval_ms == 0)
        r->o.interval_ms = DEF_INTERVAL_MS;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return mtg_err_set(err, MTG_ENOMEM, "k8s: cannot start the status reporter thread");
    }
    *out = r;
    return MTG_OK;
}

int mtg_k8s_reporter_finish(struct mtg_k8s_reporter *r, const char *failure, struct mtg_err *err)
{
    if (!r)
        return MTG_OK;
    pthread_mutex_lock(&r->mu);
    r->quit = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);

    struct mtg_k8s_job_status st;
    int done = sample(r, &st);
    if (failure) {
        st.phase = MTG_K8S_PHASE_FAILED;
        st.reason = "ServerError";
        st.message = failure;
    } else if (!done && !r->hit_max) {
        st.phase = MTG_K8S_PHASE_WAITING;
        st.reason = "ServerStopped";
        st.message = "mtgan-server stopped before training completed; a restarted server resumes "
                     "from its checkpoint";
    }
    int rc = mtg_k8s_patch_status(r->kc, r->job.name, &st, &r->job.track, err);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return rc;
}
