/*
 * edge_profiles.c - the scheduler's per-edge measurements across restarts.
 *
 * The profiled policy sizes each edge's local steps from its measured step
 * and transfer times (sched/profiled.c). Those live in the scheduler's slot
 * for the edge, and slots are handed out in registration order, which a
 * restart reshuffles: so the checkpoint keeps them by edge id, and a
 * restored profile seeds the edge's new slot when it registers again. A
 * restarted server then plans its first round as it planned the last one,
 * instead of giving every edge the plain budget to measure it anew.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server_internal.h"

/* At most one entry per edge the protocol can hold. */
#define MAX_SAVED MTG_SCHED_MAX_EDGES

static cJSON *profile_json(const char *edge, const struct mtg_sched_edge_profile *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "edge", edge);
    cJSON_AddNumberToObject(o, "step_s", p->step_s);
    cJSON_AddNumberToObject(o, "transfer_s", p->transfer_s);
    return o;
}

cJSON *srv_profiles_json(struct mtg_srv *s)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr || s->sgda)
        return arr;
    for (int e = 0; e < mtg_fed_n_edges(s->fed); e++) {
        struct mtg_sched_edge_profile p;
        if (mtg_sched_get_profile(s->sched, e, &p))
            cJSON_AddItemToArray(arr, profile_json(mtg_fed_edge_id(s->fed, e), &p));
    }
    for (int i = 0; i < s->n_saved_prof; i++)
        cJSON_AddItemToArray(arr, profile_json(s->saved_prof[i].edge, &s->saved_prof[i].p));
    return arr;
}

int srv_profiles_restore(struct mtg_srv *s, const cJSON *arr, struct mtg_err *err)
{
    if (!arr)
        return MTG_OK; /* a checkpoint from before profiles were kept */
    int n = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || n > MAX_SAVED)
        return mtg_err_set(err, MTG_EFORMAT, "checkpoint: edge_profiles must be an array of at most %d", MAX_SAVED);
    struct srv_saved_profile *v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        return mtg_err_set(err, MTG_ENOMEM, "out of memory");
    int k = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *edge = cJSON_GetObjectItemCaseSensitive(o, "edge");
        const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step_s");
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "transfer_s");
        if (!cJSON_IsString(edge) || !srv_valid_id(edge->valuestring) || !cJSON_IsNumber(step) ||
            !cJSON_IsNumber(tr) || !(step->valuedouble > 0) || !(tr->valuedouble >= 0) ||
            !isfinite(step->valuedouble) || !isfinite(tr->valuedouble)) {
            free(v);
            return mtg_err_set(err, MTG_EFORMAT, "checkpoint: edge profile %d is malformed", k);
        }
        snprintf(v[k].edge, sizeof v[k].edge, "%s", edge->valuestring);
        v[k].p = (struct mtg_sched_edge_profile){step->valuedouble, tr->valuedouble};
        k++;
    }
    free(s->saved_prof);
    s->saved_prof = v;
    s->n_saved_prof = k;
    return MTG_OK;
}

void srv_profiles_apply(struct mtg_srv *s, int e, const char *edge)
{
    for (int i = 0; i < s->n_saved_prof; i++) {
        if (strcmp(s->saved_prof[i].edge, edge) != 0)
            continue;
        struct mtg_sched_edge_profile have;
        if (!mtg_sched_get_profile(s->sched, e, &have)) {
            mtg_sched_set_profile(s->sched, e, &s->saved_prof[i].p);
            mtg_log(MTG_LOG_INFO, "server", "edge %s: restored scheduler profile (%.3g s/step, %.3g s transfer)", edge,
                    s->saved_prof[i].p.step_s, s->saved_prof[i].p.transfer_s);
        }
        s->saved_prof[i] = s->saved_prof[--s->n_saved_prof];
        return;
    }
}

void srv_profiles_carry(struct mtg_srv *s, struct mtg_sched *from, struct mtg_sched *to)
{
    for (int e = 0; !s->sgda && e < mtg_fed_n_edges(s->fed); e++) {
        struct mtg_sched_edge_profile p;
        if (mtg_sched_get_profile(from, e, &p))
            mtg_sched_set_profile(to, e, &p);
    }
}
