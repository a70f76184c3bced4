/*
 * job.h - a MultiTaskGANJob's spec as mtgan configuration.
 *
 * The spec (camelCase, crds/mtgan.sedna.io_multitaskganjobs.yaml) is
 * translated into the JSON config-file format (snake_case, docs/config.md)
 * and merged with mtg_cfg_load_string, so ranges, enums and messages are
 * the config module's own. docs/kubernetes.md has the mapping table. Fields
 * that only shape pods (images, resources, nodeSelector, tolerations,
 * stateVolume, the token Secret) are accepted and left to the Deployment;
 * an unknown or ill-typed field is an error naming its spec path:
 *   MultiTaskGANJob mtgan/digits: spec.scheduler.server.roundDeadlineMs:
 *   expected integer, got string "fast"
 *
 *     struct mtg_k8s_job job;
 *     rc = mtg_k8s_job_resolve(kc, cfg->job, cfg, MTG_CFG_BIN_SERVER, argc, argv, NULL,
 *                              &job, &err);   // layers: defaults < CR < file < env < flags
 */
#ifndef MTG_K8S_JOB_H
#define MTG_K8S_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "k8s/status.h"

struct mtg_err;
struct mtg_k8s_client;

/* What the server needs from the CR besides its configuration. */
struct mtg_k8s_job {
    char namespace[64];
    char name[256];
    int64_t generation; /* metadata.generation; 0 if absent (observedGeneration in status) */
    int64_t max_rounds; /* spec.maxRounds; 0 = until the quality target */
    bool auth;          /* spec.auth.tokenSecretRef is set: the server must get --token-file */
    char auth_secret[256];
    int n_tasks;               /* entries of spec.tasks */
    char note[256];            /* "" or a spec setting accepted but not honoured; log it */
    struct mtg_k8s_track track; /* seeded from the CR's status (restart-stable conditions) */
};

/*
 * Translates a MultiTaskGANJob (the whole object as JSON, as GET returns it)
 * into config-file JSON (*cfg_json, malloc'd; caller frees) and fills job
 * (may be NULL; its track is not touched). Errors name the spec path.
 * spec.deterministic is refused with the async policy or spec.maxRounds,
 * whose outcome depends on timing.
 */
int mtg_k8s_job_to_config(const char *cr_json, char **cfg_json, struct mtg_k8s_job *job,
                          struct mtg_err *err);

/*
 * Merges the CR's spec over cfg the way a config file would be (no env,
 * flags or validation), and fills job including job->track from the CR's
 * status. A range error of the config layer is reported under the spec
 * path it came from.
 */
int mtg_k8s_job_apply(struct mtg_cfg *cfg, const char *cr_json, struct mtg_k8s_job *job,
                      struct mtg_err *err);

/*
 * GETs the MultiTaskGANJob called name and replaces *cfg with the layers
 * defaults < CR spec < --config file < MTGAN_* env < flags of argv (the same
 * flags mtg_cfg_resolve was given), then validates. Fails when the CR names
 * a token Secret but the server runs without --token-file (auth would
 * silently be off), and when spec.model.pack does not divide model.batch.
 */
int mtg_k8s_job_resolve(struct mtg_k8s_client *kc, const char *name, struct mtg_cfg *cfg,
                        enum mtg_cfg_binary bin, int argc, char **argv, char *const *envp,
                        struct mtg_k8s_job *job, struct mtg_err *err);

#endif
