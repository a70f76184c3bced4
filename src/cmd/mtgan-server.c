/* mtgan-server - the cloud worker. All logic lives in src/server; this is flags and signals. */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/process.h"
#include "core/status.h"
#include "k8s/job.h"
#include "k8s/k8s.h"
#include "k8s/reporter.h"
#include "sedna/sedna.h"
#include "sedna/stage.h"
#include "server/server.h"

static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

/* The reporter's view of the server: one status snapshot per tick. */
static int job_poll(void *user, struct mtg_k8s_job_status *st, struct mtg_k8s_task_status *tasks, int max)
{
    static _Thread_local struct mtg_srv_task_status ts[MTG_K8S_MAX_TASKS];
    struct mtg_srv_status ss;
    mtg_srv_status(user, &ss, ts, MTG_K8S_MAX_TASKS);
    int n = ss.n_tasks < max ? ss.n_tasks : max;
    st->round = (int64_t)ss.round;
    st->edges_alive = ss.edges_alive;
    st->n_tasks = n;
    for (int i = 0; i < n; i++) {
        struct mtg_k8s_task_status *t = &tasks[i];
        _Static_assert(sizeof t->id == sizeof ts[i].id, "task id sizes differ");
        memcpy(t->id, ts[i].id, sizeof t->id);
        t->steps = (int64_t)ts[i].steps;
        t->round = (int64_t)ss.round;
        t->evaluated = ts[i].evaluated;
        t->fidelity = ts[i].fidelity;
        t->fd = ts[i].fd;
        t->recall = ts[i].recall;
        t->reached = ts[i].reached_s >= 0;
    }
    return ss.done;
}

/* --job NAME: the MultiTaskGANJob is the config's lowest layer under file, env and flags. */
static int job_load(struct mtg_cfg *cfg, int argc, char **argv, struct mtg_k8s_client **kc,
                    struct mtg_k8s_job *job, struct mtg_err *err)
{
    if (mtg_k8s_client_new(NULL, kc, err) != MTG_OK)
        return err->code;
    if (mtg_k8s_job_resolve(*kc, cfg->job, cfg, MTG_CFG_BIN_SERVER, argc, argv, NULL, job, err) != MTG_OK)
        return err->code;
    if (job->note[0])
        mtg_log(MTG_LOG_WARN, "server", "MultiTaskGANJob %s/%s: %s", job->namespace, job->name, job->note);
    mtg_log(MTG_LOG_INFO, "server", "configured from MultiTaskGANJob %s/%s (%d tasks)", job->namespace,
            job->name, job->n_tasks);
    return MTG_OK;
}

/* A job that cannot start says why in its status, not only in the pod's log. */
static void job_failed(struct mtg_k8s_client *kc, const char *name, struct mtg_k8s_job *job, const char *why)
{
    struct mtg_k8s_job_status st = {.phase = MTG_K8S_PHASE_FAILED, .edges_alive = -1, .message = why,
                                    .observed_generation = job->generation};
    struct mtg_err e = {0};
    if (mtg_k8s_patch_status(kc, name, &st, &job->track, &e) != MTG_OK)
        mtg_log(MTG_LOG_WARN, "server", "could not report the failure in the job's status: %s", e.msg);
}

/* Builds and runs the server; with kc, keeps the job's status current and reports the end. */
static int serve(const struct mtg_cfg *cfg, struct mtg_k8s_client *kc, const struct mtg_k8s_job *job,
                 struct mtg_err *err)
{
    struct mtg_srv *srv;
    if (mtg_srv_new(cfg, &srv, err) != MTG_OK)
        return err->code;
    /* A launcher reading stdout learns the bound port (useful with --port 0). */
    printf("mtgan-server listening on port %u\n", mtg_srv_port(srv));
    fflush(stdout);
    struct mtg_k8s_reporter *rep = NULL;
    if (kc) {
        struct mtg_k8s_reporter_opts o = {.poll = job_poll, .user = srv, .stop = &stop_flag};
        if (mtg_k8s_reporter_start(kc, job, &o, &rep, err) != MTG_OK) {
            mtg_srv_free(srv);
            return err->code;
        }
    }
    int rc = mtg_srv_run(srv, &stop_flag, cfg->exit_when_done, err);
    if (rep) {
        struct mtg_err e2 = {0};
        if (mtg_k8s_reporter_finish(rep, rc == MTG_OK ? NULL : err->msg, &e2) != MTG_OK)
            mtg_log(MTG_LOG_WARN, "server", "final job status: %s", e2.msg);
    }
    mtg_srv_free(srv); /* final checkpoint */
    return rc;
}

int main(int argc, char **argv)
{
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    mtg_cfg_defaults(cfg);
    struct mtg_cfg_args extra;
    struct mtg_err err = {0};
    mtg_sedna_argv_switch(argc, argv); /* bare --sedna, as Sedna manifests write it */
    int rc = mtg_cfg_cli(cfg, MTG_CFG_BIN_SERVER, argc, argv, &extra, 0);
    if (rc >= 0) {
        free(cfg);
        return rc;
    }
    mtg_process_single_blas();
    mtg_process_on_stop(on_signal);
    /*
     * One malloc arena: with a thread per connection glibc would otherwise
     * give each connection thread its own arena, and the freed request
     * buffers left behind in each of them add up to peak RSS (measured on
     * the quick loopback bench: mtgan 26.6 -> 23.7 MiB, sgda 32.1 -> 31.0).
     */
    mallopt(M_ARENA_MAX, 1);

    if (cfg->sedna) {
        /* LifelongLearningJob worker: train or deploy from the Sedna env (src/sedna/stage.h). */
        rc = mtg_sedna_server_main(cfg, &stop_flag);
        free(cfg);
        return rc;
    }

    struct mtg_k8s_client *kc = NULL;
    struct mtg_k8s_job job = {0};
    rc = cfg->job[0] ? job_load(cfg, argc, argv, &kc, &job, &err) : MTG_OK;
    if (rc == MTG_OK)
        rc = serve(cfg, kc, &job, &err);
    else if (kc)
        job_failed(kc, cfg->job, &job, err.msg);
    mtg_k8s_client_free(kc);
    free(cfg);
    if (rc != MTG_OK) {
        fprintf(stderr, "mtgan-server: %s\n", err.msg);
        return 1;
    }
    return 0;
}
