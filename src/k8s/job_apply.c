/*
 * job_apply.c - a translated MultiTaskGANJob merged into struct mtg_cfg:
 * config-layer errors mapped back to spec paths, the edges.localModel
 * check, and the resolve chain defaults < CR < file < env < flags.
 */
#include "k8s/job.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "k8s/job_internal.h"
#include "k8s/k8s.h"

/* ---- config errors back to spec paths ---- */

/* The spec path whose config key is cfg ("tasks[2].generator.latent_dim" included), or 0. */
static int spec_path_of(const char *cfg, char *buf, size_t cap)
{
    if (strncmp(cfg, "tasks[", 6) == 0) {
        const char *close = strchr(cfg, ']');
        if (!close)
            return 0;
        if (close[1] == '\0') {
            snprintf(buf, cap, "spec.%.*s", (int)(close + 1 - cfg), cfg);
            return 1;
        }
        for (size_t i = 0; i < mtg_k8s_n_task_fields && close[1] == '.'; i++)
            if (mtg_k8s_task_fields[i].cfg && strcmp(mtg_k8s_task_fields[i].cfg, close + 2) == 0) {
                snprintf(buf, cap, "spec.%.*s.%s", (int)(close + 1 - cfg), cfg, mtg_k8s_task_fields[i].spec);
                return 1;
            }
        return 0;
    }
    for (size_t i = 0; i < mtg_k8s_n_spec_fields; i++)
        if ((mtg_k8s_spec_fields[i].cfg && strcmp(mtg_k8s_spec_fields[i].cfg, cfg) == 0) ||
            (mtg_k8s_spec_fields[i].cfg2 && strcmp(mtg_k8s_spec_fields[i].cfg2, cfg) == 0)) {
            snprintf(buf, cap, "spec.%s", mtg_k8s_spec_fields[i].spec);
            return 1;
        }
    if (strcmp(cfg, "data.tasks") == 0 || strcmp(cfg, "tasks") == 0) {
        snprintf(buf, cap, "spec.tasks");
        return 1;
    }
    return 0;
}

/*
 * err holds "config K8S: <config path>: <what>" from mtg_cfg_load_string;
 * rewrites it to "<who>: <spec path> (config <config path>): <what>".
 */
static int remap(struct mtg_err *err, const char *who)
{
    static const char tag[] = "config " "MultiTaskGANJob: ";
    char rest[MTG_ERR_MSG_MAX];
    const char *m = err->msg;
    if (strncmp(m, tag, sizeof tag - 1) == 0)
        m += sizeof tag - 1;
    snprintf(rest, sizeof rest, "%s", m);
    char *colon = strstr(rest, ": ");
    char spec[PATH_TEXT];
    if (colon && !memchr(rest, ' ', (size_t)(colon - rest))) {
        *colon = '\0';
        if (spec_path_of(rest, spec, sizeof spec))
            return mtg_err_set(err, err->code, "%s: %s: %s", who, spec, colon + 2);
        *colon = ':';
    }
    return mtg_err_set(err, err->code, "%s: %s", who, rest);
}

/* As remap, for a value of edges.localModel that was overlaid on every tasks[] entry. */
static int remap_local(struct mtg_err *err, const char *who)
{
    static const char tag[] = "config " "MultiTaskGANJob: ";
    const char *m = err->msg;
    if (strncmp(m, tag, sizeof tag - 1) == 0)
        m += sizeof tag - 1;
    const char *close = strncmp(m, "tasks[", 6) == 0 ? strstr(m, "].") : NULL;
    const char *colon = close ? strstr(close, ": ") : NULL;
    char rest[MTG_ERR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", colon ? colon + 2 : m);
    for (size_t i = 0; colon && i < mtg_k8s_n_task_fields; i++) {
        size_t len = strlen(mtg_k8s_task_fields[i].spec);
        if (mtg_k8s_task_fields[i].cfg && strlen(mtg_k8s_task_fields[i].cfg) == (size_t)(colon - close - 2) &&
            strncmp(mtg_k8s_task_fields[i].cfg, close + 2, (size_t)(colon - close - 2)) == 0 && len)
            return mtg_err_set(err, err->code, "%s: spec.edges.localModel.%s: %s", who,
                               mtg_k8s_task_fields[i].spec, rest);
    }
    return mtg_err_set(err, err->code, "%s: spec.edges.localModel: %s", who, rest);
}

static int net_diff(const struct mtg_cfg_net *a, const struct mtg_cfg_net *b, const char **what)
{
    if (a->layers.n != b->layers.n ||
        memcmp(a->layers.width, b->layers.width, sizeof a->layers.width[0] * (size_t)a->layers.n))
        *what = "layers";
    else if (a->activation != b->activation)
        *what = "activation";
    else if (a->latent_dim != b->latent_dim)
        *what = "latentDim";
    else if (a->lr != b->lr)
        *what = "lr";
    else if (a->betas[0] != b->betas[0] || a->betas[1] != b->betas[1])
        *what = "betas";
    else if (a->preset != b->preset)
        *what = "preset";
    else if (a->width != b->width)
        *what = "width";
    else if (a->norm != b->norm || a->mbstd != b->mbstd)
        *what = a->norm != b->norm ? "norm" : "mbstd";
    else
        return 0;
    return 1;
}

/*
 * mtgan averages each edge's local G/D into the global ones (FedAvg), and the
 * fairness rule of DESIGN §4 keeps sgda on the same networks, so edges always
 * train their task's global network. The CRD allows edges.localModel to
 * differ; that is not an error (the Helm chart's Sedna example does it) but
 * it cannot be honoured, so job->note says so and the caller logs it.
 * Ill-typed or out-of-range values are still errors.
 */
static int check_local(const struct mtg_cfg *base, const struct mtg_cfg *cfg, cJSON *out,
                       const cJSON *local, const char *who, struct mtg_k8s_job *job,
                       struct mtg_err *err)
{
    if (!local->child)
        return MTG_OK;
    int rc = MTG_OK;
    char *txt = NULL;
    struct mtg_cfg *over = malloc(sizeof *over);
    if (!over)
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", who);
    *over = *base;
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(out, "tasks");
    cJSON *t;
    cJSON_ArrayForEach(t, tasks)
    {
        const cJSON *net;
        cJSON_ArrayForEach(net, local)
        {
            const cJSON *kv;
            cJSON_ArrayForEach(kv, net)
            {
                char path[PATH_TEXT];
                snprintf(path, sizeof path, "%s.%s", net->string, kv->string);
                if (mtg_k8s_json_put_dup(t, path, kv) != MTG_OK) {
                    rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", who);
                    goto done;
                }
            }
        }
    }
    if (!(txt = mtg_k8s_json_print(out))) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", who);
        goto done;
    }
    if ((rc = mtg_cfg_load_string(over, txt, "MultiTaskGANJob", err)) != MTG_OK) {
        remap_local(err, who);
        goto done;
    }
    for (int i = 0; i < cfg->n_tasks; i++) {
        const char *what;
        int g = net_diff(&cfg->tasks[i].generator, &over->tasks[i].generator, &what);
        if (g || net_diff(&cfg->tasks[i].discriminator, &over->tasks[i].discriminator, &what)) {
            const char *net = g ? "generator" : "discriminator";
            snprintf(job->note, sizeof job->note,
                     "spec.edges.localModel.%s.%s differs from spec.tasks[%d].%s.%s: ignored, "
                     "edges train the task's global network (FedAvg needs equal shapes)", net,
                     what, i, net, what);
            goto done;
        }
    }
done:
    free(txt);
    free(over);
    return rc;
}

int mtg_k8s_job_apply(struct mtg_cfg *cfg, const char *cr_json, struct mtg_k8s_job *job,
                      struct mtg_err *err)
{
    struct mtg_k8s_job local_job;
    if (!job)
        job = &local_job;
    mtg_k8s_track_init(&job->track);
    cJSON *out = NULL, *local = NULL;
    char *txt = NULL;
    struct mtg_cfg *base = NULL;
    int rc = mtg_k8s_translate(cr_json, job, &out, &local, err);
    if (rc != MTG_OK)
        return rc;
    char who[352];
    snprintf(who, sizeof who, "MultiTaskGANJob %s/%s", job->namespace, job->name);
    if (!(txt = mtg_k8s_json_print(out)) || !(base = malloc(sizeof *base))) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", who);
        goto done;
    }
    *base = *cfg;
    /* The name is fixed so remap() can strip exactly the prefix load_string adds. */
    if ((rc = mtg_cfg_load_string(cfg, txt, "MultiTaskGANJob", err)) != MTG_OK) {
        remap(err, who);
        goto done;
    }
    if ((rc = check_local(base, cfg, out, local, who, job, err)) != MTG_OK)
        goto done;
    rc = mtg_k8s_track_load(&job->track, cr_json, err);
done:
    free(base);
    free(txt);
    cJSON_Delete(out);
    cJSON_Delete(local);
    return rc;
}

int mtg_k8s_job_resolve(struct mtg_k8s_client *kc, const char *name, struct mtg_cfg *cfg,
                        enum mtg_cfg_binary bin, int argc, char **argv, char *const *envp,
                        struct mtg_k8s_job *job, struct mtg_err *err)
{
    char *cr = NULL;
    struct mtg_cfg *c = NULL;
    int rc = mtg_k8s_get_job(kc, name, &cr, err);
    if (rc != MTG_OK)
        return rc;
    if (!(c = malloc(sizeof *c))) {
        rc = mtg_err_set(err, MTG_ENOMEM, "MultiTaskGANJob: out of memory");
        goto done;
    }
    mtg_cfg_defaults(c);
    if ((rc = mtg_k8s_job_apply(c, cr, job, err)) != MTG_OK)
        goto done;
    if (strcmp(job->name, name) != 0) {
        rc = mtg_err_set(err, MTG_EINVAL, "MultiTaskGANJob %s: the API server returned \"%s\"",
                         name, job->name);
        goto done;
    }
    /* Config file, env and flags over the CR, then derived values and validation. */
    rc = mtg_cfg_resolve(c, bin, argc, argv, envp, NULL, err);
    if (rc == MTG_CFG_HELP)
        rc = MTG_OK;
    if (rc != MTG_OK) {
        mtg_err_wrap(err, "MultiTaskGANJob %s/%s with flags and env", job->namespace, job->name);
        goto done;
    }
    /* PacGAN splits every batch into groups of model.pack. Checked on the final layers (a
     * --config file may set model.batch, which the CRD lacks); otherwise the server would only
     * fail when it builds its models, without naming the CR's field. */
    if (c->model.batch % c->model.recipe.pack != 0) {
        rc = mtg_err_set(err, MTG_EINVAL,
                         "MultiTaskGANJob %s/%s: spec.model.pack: %d does not divide model.batch %d "
                         "(PacGAN groups whole batches): use a divisor of it", job->namespace,
                         job->name, c->model.recipe.pack, c->model.batch);
        goto done;
    }
    if (job->auth && !c->token_file[0]) {
        rc = mtg_err_set(err, MTG_EINVAL,
                         "MultiTaskGANJob %s/%s: spec.auth.tokenSecretRef names Secret \"%s\" but "
                         "the server has no --token-file (mount the Secret and pass its path)",
                         job->namespace, job->name, job->auth_secret);
        goto done;
    }
    *cfg = *c;
done:
    free(c);
    free(cr);
    return rc;
}
