/*
 * reporter.h - a thread that keeps a MultiTaskGANJob's status current while
 * mtgan-server trains: every interval it asks the caller for progress
 * (round, edges, per-task quality) through a poll function, derives the
 * phase (Waiting until an edge joins, Running, Completed once training is
 * done or spec.maxRounds is reached) and PATCHes status. It knows nothing of
 * src/server: the poll function is the only link.
 *
 *     static int poll(void *srv, struct mtg_k8s_job_status *st,
 *                     struct mtg_k8s_task_status *tasks, int max);  // fills round, tasks, ...
 *     struct mtg_k8s_reporter *rep;
 *     struct mtg_k8s_reporter_opts o = {.poll = poll, .user = srv, .stop = &stop_flag};
 *     mtg_k8s_reporter_start(kc, &job, &o, &rep, &err);
 *     ... mtg_srv_run(...) ...
 *     mtg_k8s_reporter_finish(rep, rc == MTG_OK ? NULL : err.msg, &err2);  // final patch
 *
 * Patch failures while running are logged and retried at the next tick:
 * losing the API server must never stop training.
 */
#ifndef MTG_K8S_REPORTER_H
#define MTG_K8S_REPORTER_H

#include <stdatomic.h>

#include "k8s/job.h"
#include "k8s/status.h"

struct mtg_err;
struct mtg_k8s_client;
struct mtg_k8s_reporter;

struct mtg_k8s_reporter_opts {
    int interval_ms; /* between patches; 0 = 5000 */
    /*
     * Fills st->round, st->edges_alive, st->n_tasks and tasks[0 .. max-1]
     * (the reporter points st->tasks at them); returns 1 once training is
     * complete (every task reached its target or budget), else 0. Called on
     * the reporter thread, and once more on the caller's thread in finish.
     */
    int (*poll)(void *user, struct mtg_k8s_job_status *st, struct mtg_k8s_task_status *tasks,
                int max);
    void *user;
    atomic_int *stop; /* raised once round >= job->max_rounds (spec.maxRounds); may be NULL */
};

/*
 * Patches the first status at once, then every interval. kc and the poll
 * target must outlive the reporter; job is copied. *out is owned by the
 * caller and released by mtg_k8s_reporter_finish.
 */
int mtg_k8s_reporter_start(struct mtg_k8s_client *kc, const struct mtg_k8s_job *job,
                           const struct mtg_k8s_reporter_opts *o, struct mtg_k8s_reporter **out,
                           struct mtg_err *err);

/*
 * Stops the thread, polls once more and patches the final status: Failed
 * with failure as the message when failure is not NULL; else Completed when
 * training was done or maxRounds was reached; else Waiting with reason
 * ServerStopped (a SIGTERM before the end: the next pod resumes from the
 * checkpoint, so the job has not failed). Frees rep (NULL is fine) and
 * returns the result of the final patch.
 */
int mtg_k8s_reporter_finish(struct mtg_k8s_reporter *rep, const char *failure, struct mtg_err *err);

#endif
