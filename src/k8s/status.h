/*
 * status.h - the status of a MultiTaskGANJob as mtgan-server reports it:
 * phase, round, Sedna-style conditions and per-task quality, sent as a JSON
 * merge patch (RFC 7386) to .../multitaskganjobs/NAME/status.
 *
 * Conditions follow Sedna's job conditions (type, status, lastHeartbeatTime,
 * lastTransitionTime, reason, message) plus observedGeneration, with one
 * entry per type, as the CRD's list-map declares; Ready, Succeeded and
 * Failed are always present (the standard trio), the other phase types once
 * they were True. A struct mtg_k8s_track remembers when each condition
 * last changed, so lastTransitionTime stays put while a status holds and
 * survives a server restart (mtg_k8s_track_load seeds it from the CR).
 *
 *     struct mtg_k8s_track track;
 *     mtg_k8s_track_init(&track);
 *     struct mtg_k8s_task_status t[1] = {{.id = "digit-3", .steps = 800, .evaluated = 1,
 *                                         .fidelity = 0.93, .fd = 1.1, .recall = 0.7}};
 *     struct mtg_k8s_job_status st = {.phase = MTG_K8S_PHASE_RUNNING, .round = 42,
 *                                     .edges_alive = 4, .n_tasks = 1, .tasks = t};
 *     rc = mtg_k8s_patch_status(kc, "digits", &st, &track, &err);
 *
 * A merge patch replaces arrays whole, so every patch carries all conditions
 * and all tasks; fields of status it does not mention are left alone.
 */
#ifndef MTG_K8S_STATUS_H
#define MTG_K8S_STATUS_H

#include <stdint.h>

struct mtg_err;
struct mtg_k8s_client;

#define MTG_K8S_MAX_TASKS 256 /* = MTG_CFG_MAX_TASKS */

/* Values are the condition index too: only ever append. */
enum mtg_k8s_phase {
    MTG_K8S_PHASE_WAITING = 0,   /* up, no edge has joined yet */
    MTG_K8S_PHASE_STARTING = 1,  /* loading the job, building models */
    MTG_K8S_PHASE_RUNNING = 2,
    MTG_K8S_PHASE_COMPLETED = 3, /* every task reached its target or budget, or maxRounds */
    MTG_K8S_PHASE_FAILED = 4,
};

enum mtg_k8s_cond {
    MTG_K8S_COND_WAITING = 0,
    MTG_K8S_COND_STARTING = 1,
    MTG_K8S_COND_RUNNING = 2,
    MTG_K8S_COND_COMPLETED = 3,
    MTG_K8S_COND_FAILED = 4,
    MTG_K8S_COND_QUALITY = 5, /* QualityReached: every task meets spec.qualityTarget */
    /* The standard pair (with Failed) tools wait on: Ready while the server
     * runs or serves a completed job, Succeeded once it completed. */
    MTG_K8S_COND_READY = 6,
    MTG_K8S_COND_SUCCEEDED = 7,
    MTG_K8S_COND_COUNT
};

/* "Waiting", ..., "QualityReached"; "Unknown" out of range. */
const char *mtg_k8s_cond_str(int cond);

struct mtg_k8s_task_status {
    char id[64];
    int64_t steps;
    int64_t round;  /* round of the values below */
    int evaluated;  /* 0: fidelity/fd/recall not measured yet, left out of the patch */
    double fidelity;
    double fd;      /* non-finite values are left out */
    double recall;
    int reached;    /* meets the quality target */
};

struct mtg_k8s_job_status {
    enum mtg_k8s_phase phase;
    int64_t round;
    int edges_alive;  /* for the default Running message; < 0 = unknown */
    int n_tasks;
    const struct mtg_k8s_task_status *tasks; /* n_tasks entries; not owned */
    const char *reason;  /* CamelCase reason of the phase condition; NULL = default per phase */
    const char *message; /* NULL = default ("round 42, 4 edges alive") */
    int64_t observed_generation; /* metadata.generation acted on; <= 0 = left out */
};

/* Condition memory between patches. Plain value: zero it or mtg_k8s_track_init. */
struct mtg_k8s_track {
    int64_t start_time;      /* unix seconds; 0 = not set yet (set by the first patch) */
    int64_t completion_time; /* set on Completed/Failed, cleared when the job runs again */
    struct {
        int known;     /* the condition is in the CR */
        int status;    /* 1 True, 0 False */
        int64_t since; /* lastTransitionTime, unix seconds */
    } cond[MTG_K8S_COND_COUNT];
};

void mtg_k8s_track_init(struct mtg_k8s_track *t);

/*
 * Seeds t from status.startTime and status.conditions of a MultiTaskGANJob
 * (JSON of the whole object, as GET returns it). A CR without status
 * leaves t initialised. Malformed times are ignored, not errors: status is
 * ours to rewrite.
 */
int mtg_k8s_track_load(struct mtg_k8s_track *t, const char *cr_json, struct mtg_err *err);

/*
 * The merge-patch body {"status": {...}} for st at now (unix seconds);
 * updates track. *out is malloc'd; the caller frees it.
 */
int mtg_k8s_status_body(const struct mtg_k8s_job_status *st, struct mtg_k8s_track *track,
                        int64_t now, char **out, struct mtg_err *err);

/* mtg_k8s_status_body at the current time, then PATCH .../NAME/status. */
int mtg_k8s_patch_status(struct mtg_k8s_client *kc, const char *name,
                         const struct mtg_k8s_job_status *st, struct mtg_k8s_track *track,
                         struct mtg_err *err);

/* RFC 3339 UTC "2026-01-01T10:00:03Z" of unix seconds t; buf needs 21 bytes. */
void mtg_k8s_time_str(int64_t t, char *buf, unsigned long cap);
/* Parses RFC 3339 (Z or +hh:mm, optional fraction); 0 on success, -1 if malformed. */
int mtg_k8s_time_parse(const char *s, int64_t *out);

#endif
