/* status.c - MultiTaskGANJob status: condition bookkeeping and the merge-patch body. */
#include "k8s/status.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "k8s/k8s.h"

static const char *const cond_names[MTG_K8S_COND_COUNT] = {
    "Waiting", "Starting", "Running", "Completed", "Failed", "QualityReached", "Ready", "Succeeded",
};

/* Default reason and message of the phase conditions while True (Sedna uses CamelCase reasons). */
static const char *const phase_reason[] = {
    "WaitingForEdges", "ServerStarting", "RoundsProgressing", "TrainingCompleted", "ServerError",
};

const char *mtg_k8s_cond_str(int cond)
{
    return cond >= 0 && cond < MTG_K8S_COND_COUNT ? cond_names[cond] : "Unknown";
}

void mtg_k8s_track_init(struct mtg_k8s_track *t)
{
    memset(t, 0, sizeof *t);
}

void mtg_k8s_time_str(int64_t t, char *buf, unsigned long cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "1970-01-01T00:00:00Z");
}

/* n decimal digits at *p into *v, advancing *p; -1 if any is not a digit. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return 0;
}

static int expect(const char **p, char c)
{
    if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
        return -1;
    (*p)++;
    return 0;
}

int mtg_k8s_time_parse(const char *s, int64_t *out)
{
    const char *p = s;
    int y, mo, d, h, mi, se;
    if (!s || digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') ||
        digits(&p, 2, &d) || expect(&p, 'T') || digits(&p, 2, &h) || expect(&p, ':') ||
        digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600L + om * 60L);
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = se};
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

int mtg_k8s_track_load(struct mtg_k8s_track *t, const char *cr_json, struct mtg_err *err)
{
    mtg_k8s_track_init(t);
    cJSON *root = cJSON_Parse(cr_json);
    if (!root)
        return mtg_err_set(err, MTG_EFORMAT, "k8s: MultiTaskGANJob is not valid JSON");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "status");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "startTime");
    if (cJSON_IsString(v) && mtg_k8s_time_parse(v->valuestring, &t->start_time) != 0)
        t->start_time = 0;
    v = cJSON_GetObjectItemCaseSensitive(st, "completionTime");
    if (cJSON_IsString(v) && mtg_k8s_time_parse(v->valuestring, &t->completion_time) != 0)
        t->completion_time = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(st, "conditions"))
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(c, "status");
        const cJSON *since = cJSON_GetObjectItemCaseSensitive(c, "lastTransitionTime");
        if (!cJSON_IsString(type) || !cJSON_IsString(status))
            continue;
        for (int k = 0; k < MTG_K8S_COND_COUNT; k++) {
            if (strcmp(type->valuestring, cond_names[k]) != 0)
                continue;
            int64_t when = 0;
            if (!cJSON_IsString(since) || mtg_k8s_time_parse(since->valuestring, &when) != 0)
                break; /* no usable transition time: treat as unknown, stamp it anew */
            t->cond[k].known = 1;
            t->cond[k].status = strcmp(status->valuestring, "True") == 0;
            t->cond[k].since = when;
        }
    }
    cJSON_Delete(root);
    return MTG_OK;
}

/* ---- the body ---- */

static int add_time(cJSON *o, const char *key, int64_t t)
{
    char buf[32];
    mtg_k8s_time_str(t, buf, sizeof buf);
    return cJSON_AddStringToObject(o, key, buf) != NULL;
}

/* Appends condition k with status on at now, keeping its transition time if it did not flip. */
static int add_cond(cJSON *arr, struct mtg_k8s_track *tr, int k, int on, int64_t now, int64_t gen,
                    const char *reason, const char *message)
{
    if (!tr->cond[k].known || tr->cond[k].status != on) {
        tr->cond[k].known = 1;
        tr->cond[k].status = on;
        tr->cond[k].since = now;
    }
    cJSON *c = cJSON_CreateObject();
    if (!c || !cJSON_AddItemToArray(arr, c)) {
        cJSON_Delete(c);
        return 0;
    }
    return cJSON_AddStringToObject(c, "type", cond_names[k]) &&
           cJSON_AddStringToObject(c, "status", on ? "True" : "False") &&
           add_time(c, "lastHeartbeatTime", now) && add_time(c, "lastTransitionTime", tr->cond[k].since) &&
           cJSON_AddStringToObject(c, "reason", reason) &&
           cJSON_AddStringToObject(c, "message", message ? message : "") &&
           (gen <= 0 || cJSON_AddNumberToObject(c, "observedGeneration", (double)gen));
}

static int add_finite(cJSON *o, const char *key, double v)
{
    return !isfinite(v) || cJSON_AddNumberToObject(o, key, v) != NULL;
}

static int add_tasks(cJSON *status, const struct mtg_k8s_job_status *st)
{
    cJSON *arr = cJSON_AddArrayToObject(status, "tasks");
    if (!arr)
        return 0;
    for (int i = 0; i < st->n_tasks; i++) {
        const struct mtg_k8s_task_status *t = &st->tasks[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return 0;
        }
        char id[sizeof t->id];
        snprintf(id, sizeof id, "%s", t->id);
        if (!cJSON_AddStringToObject(o, "id", id) ||
            !cJSON_AddNumberToObject(o, "steps", (double)t->steps) ||
            !cJSON_AddNumberToObject(o, "round", (double)t->round))
            return 0;
        if (t->evaluated && (!add_finite(o, "fidelity", t->fidelity) || !add_finite(o, "fd", t->fd) ||
                             !add_finite(o, "recall", t->recall)))
            return 0;
    }
    return 1;
}

static cJSON *build(const struct mtg_k8s_job_status *st, struct mtg_k8s_track *tr, int64_t now)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *s = root ? cJSON_AddObjectToObject(root, "status") : NULL;
    if (!s)
        goto oom;
    int phase = (int)st->phase;
    int terminal = phase == MTG_K8S_PHASE_COMPLETED || phase == MTG_K8S_PHASE_FAILED;
    if (tr->start_time == 0)
        tr->start_time = now;
    if (!cJSON_AddStringToObject(s, "phase", cond_names[phase]) ||
        !cJSON_AddNumberToObject(s, "round", (double)(st->round > 0 ? st->round : 0)) ||
        !add_time(s, "startTime", tr->start_time))
        goto oom;
    if (st->observed_generation > 0 &&
        !cJSON_AddNumberToObject(s, "observedGeneration", (double)st->observed_generation))
        goto oom;
    if (terminal) {
        if (tr->completion_time == 0)
            tr->completion_time = now;
        if (!add_time(s, "completionTime", tr->completion_time))
            goto oom;
    } else if (tr->completion_time != 0) {
        /* Running again after a Failed run (a restarted pod): null deletes the field. */
        tr->completion_time = 0;
        if (!cJSON_AddNullToObject(s, "completionTime"))
            goto oom;
    }

    int reached = 0;
    for (int i = 0; i < st->n_tasks; i++)
        reached += st->tasks[i].reached != 0;
    char msg[256];
    const char *message = st->message;
    if (!message) {
        switch (phase) {
        case MTG_K8S_PHASE_WAITING:
            snprintf(msg, sizeof msg, "no edge has joined yet");
            break;
        case MTG_K8S_PHASE_STARTING:
            snprintf(msg, sizeof msg, "loading the job and building the task models");
            break;
        case MTG_K8S_PHASE_RUNNING:
            if (st->edges_alive >= 0)
                snprintf(msg, sizeof msg, "round %lld, %d edges alive", (long long)st->round,
                         st->edges_alive);
            else
                snprintf(msg, sizeof msg, "round %lld", (long long)st->round);
            break;
        case MTG_K8S_PHASE_COMPLETED:
            snprintf(msg, sizeof msg, "round %lld: %d of %d tasks reached the quality target",
                     (long long)st->round, reached, st->n_tasks);
            break;
        default:
            snprintf(msg, sizeof msg, "see the mtgan-server log");
            break;
        }
        message = msg;
    }

    cJSON *conds = cJSON_AddArrayToObject(s, "conditions");
    if (!conds)
        goto oom;
    /* One entry per phase type that is True now or was ever reported, so `kubectl wait
     * --for condition=Completed` and a look at the history both work. */
    const int64_t gen = st->observed_generation;
    for (int k = 0; k <= MTG_K8S_COND_FAILED; k++) {
        int on = k == phase;
        if (!on && !tr->cond[k].known && k != MTG_K8S_COND_FAILED)
            continue;
        char off_msg[64];
        snprintf(off_msg, sizeof off_msg, "phase is %s", cond_names[phase]);
        const char *reason = on ? (st->reason ? st->reason : phase_reason[k]) : "PhaseChanged";
        if (!add_cond(conds, tr, k, on, now, gen, reason, on ? message : off_msg))
            goto oom;
    }
    if (phase != MTG_K8S_PHASE_STARTING || tr->cond[MTG_K8S_COND_QUALITY].known) {
        int all = st->n_tasks > 0 && reached == st->n_tasks;
        char qmsg[96];
        snprintf(qmsg, sizeof qmsg, "%d of %d tasks meet spec.qualityTarget", reached, st->n_tasks);
        if (!add_cond(conds, tr, MTG_K8S_COND_QUALITY, all, now, gen, all ? "TargetMet" : "BelowTarget",
                      qmsg))
            goto oom;
    }
    int ready = phase == MTG_K8S_PHASE_RUNNING || phase == MTG_K8S_PHASE_COMPLETED;
    char pmsg[64];
    snprintf(pmsg, sizeof pmsg, "phase is %s", cond_names[phase]);
    if (!add_cond(conds, tr, MTG_K8S_COND_READY, ready, now, gen, ready ? "ServerUp" : cond_names[phase],
                  pmsg) ||
        !add_cond(conds, tr, MTG_K8S_COND_SUCCEEDED, phase == MTG_K8S_PHASE_COMPLETED, now, gen,
                  phase == MTG_K8S_PHASE_COMPLETED ? phase_reason[MTG_K8S_PHASE_COMPLETED] : "NotCompleted",
                  phase == MTG_K8S_PHASE_COMPLETED ? message : pmsg))
        goto oom;
    if (!add_tasks(s, st))
        goto oom;
    return root;
oom:
    cJSON_Delete(root);
    return NULL;
}

int mtg_k8s_status_body(const struct mtg_k8s_job_status *st, struct mtg_k8s_track *track,
                        int64_t now, char **out, struct mtg_err *err)
{
    *out = NULL;
    if ((int)st->phase < 0 || st->phase > MTG_K8S_PHASE_FAILED)
        return mtg_err_set(err, MTG_EINVAL, "k8s: status phase %d out of range", (int)st->phase);
    if (st->n_tasks < 0 || st->n_tasks > MTG_K8S_MAX_TASKS || (st->n_tasks > 0 && !st->tasks))
        return mtg_err_set(err, MTG_EINVAL, "k8s: status has %d tasks (at most %d, with an array)",
                           st->n_tasks, MTG_K8S_MAX_TASKS);
    if (st->reason && !st->reason[0])
        return mtg_err_set(err, MTG_EINVAL, "k8s: status reason is empty");
    cJSON *root = build(st, track, now);
    if (!root)
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory building the status patch");
    char *txt = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!txt)
        return mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory printing the status patch");
    /* Copied so callers free with plain free() whatever cJSON's allocator hooks are. */
    size_t n = strlen(txt);
    *out = malloc(n + 1);
    if (*out)
        memcpy(*out, txt, n + 1);
    cJSON_free(txt);
    return *out ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "k8s: out of memory");
}

int mtg_k8s_patch_status(struct mtg_k8s_client *kc, const char *name,
                         const struct mtg_k8s_job_status *st, struct mtg_k8s_track *track,
                         struct mtg_err *err)
{
    char *body;
    int rc = mtg_k8s_status_body(st, track, (int64_t)time(NULL), &body, err);
    if (rc != MTG_OK)
        return rc;
    rc = mtg_k8s_patch_job_status(kc, name, body, err);
    free(body);
    return rc;
}
