/*
 * job_internal.h - what job.c (spec -> config JSON) shares with job_apply.c
 * (config JSON -> struct mtg_cfg). Only src/k8s includes this header.
 */
#ifndef MTG_K8S_JOB_INTERNAL_H
#define MTG_K8S_JOB_INTERNAL_H

#include <stddef.h>

#include <cJSON.h>

struct mtg_err;
struct mtg_k8s_job;

#define PATH_TEXT 192 /* longest field path shown in a message */

enum field_kind {
    F_OBJ,       /* nested object of further rows */
    F_INT,       /* integer -> cfg (and cfg2) */
    F_NUM,       /* number -> cfg */
    F_STR,       /* string -> cfg */
    F_BOOL,      /* boolean -> cfg */
    F_INTS,      /* array of integers -> cfg */
    F_NUMS,      /* array of numbers -> cfg */
    F_POD,       /* shapes the pod (Deployment/DaemonSet), not the server: any value accepted */
    F_TASKS,     /* spec.tasks[] */
    F_LOCAL,     /* edges.localModel.generator / .discriminator */
    F_MAXROUNDS, /* integer kept in struct mtg_k8s_job */
    F_POLICY,    /* scheduler.server.policy; "async" also selects async aggregation */
    F_PRIORITY,  /* "none" | "quality" -> bool */
    F_MODE,      /* data.partition.mode "iid" | "noniid" */
    F_SECRET,    /* auth.tokenSecretRef.name: remembered, mounted by the Deployment */
};

struct field {
    const char *spec; /* dotted path under spec (or under one tasks[] entry) */
    enum field_kind kind;
    const char *cfg;  /* dotted config key, or NULL */
    const char *cfg2; /* a second config key set to the same value, or NULL */
};

/* The spec rows, and the rows of one tasks[] entry (also edges.localModel). */
extern const struct field mtg_k8s_spec_fields[];
extern const size_t mtg_k8s_n_spec_fields;
extern const struct field mtg_k8s_task_fields[];
extern const size_t mtg_k8s_n_task_fields;

/*
 * Parses the CR, fills job's identity (its track is kept), walks spec into
 * *out (config-file JSON) and *local (edges.localModel's generator and
 * discriminator in config names). Both are the caller's (cJSON_Delete).
 */
int mtg_k8s_translate(const char *cr_json, struct mtg_k8s_job *job, cJSON **out, cJSON **local,
                      struct mtg_err *err);

/* Sets dotted key path under root to a copy of v, creating objects on the way. */
int mtg_k8s_json_put_dup(cJSON *root, const char *path, const cJSON *v);

/* o as compact JSON text, malloc'd (free with free()); NULL on no memory. */
char *mtg_k8s_json_print(const cJSON *o);

#endif
