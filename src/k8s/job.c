/*
 * job.c - MultiTaskGANJob spec -> mtgan config-file JSON.
 *
 * One table row per spec field (crds/mtgan.sedna.io_multitaskganjobs.yaml),
 * naming the config key it becomes. The walk checks JSON types and rejects
 * unknown fields with their spec path; ranges and enum values are left to
 * mtg_cfg_load_string (job_apply.c), whose messages are mapped back to spec
 * paths through the same table, so the CRD, the config keys and the error
 * text cannot drift apart silently.
 */
#include "k8s/job.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset.h"
#include "k8s/job_internal.h"
#include "k8s/k8s.h"

const struct field mtg_k8s_spec_fields[] = {
    {"protocol", F_STR, "protocol", NULL},
    /* The CRD's one seed covers initialisation and the data partition. */
    {"seed", F_INT, "seed", "data.partition.seed"},
    {"deterministic", F_BOOL, "train.deterministic", NULL},
    {"maxRounds", F_MAXROUNDS, NULL, NULL},
    {"model", F_OBJ, NULL, NULL},
    {"model.sharing", F_STR, "model.sharing", NULL},
    /* The GAN recipe: the server sends the whole model object to its edges at registration. */
    {"model.loss", F_STR, "model.loss", NULL},
    {"model.ema", F_NUM, "model.ema", NULL},
    {"model.instanceNoise", F_NUM, "model.instance_noise", NULL},
    {"model.realLabel", F_NUM, "model.real_label", NULL},
    {"model.pack", F_INT, "model.pack", NULL},
    {"tasks", F_TASKS, "tasks", NULL},
    {"server", F_OBJ, NULL, NULL},
    {"server.image", F_POD, NULL, NULL},
    {"server.imagePullPolicy", F_POD, NULL, NULL},
    {"server.port", F_INT, "port", NULL},
    {"server.logLevel", F_STR, "log_level", NULL},
    {"server.resources", F_POD, NULL, NULL},
    {"server.nodeSelector", F_POD, NULL, NULL},
    {"server.stateVolume", F_POD, NULL, NULL},
    {"edges", F_OBJ, NULL, NULL},
    /* Only deterministic mode reads it on the server: the first round waits for this many edges. */
    {"edges.count", F_INT, "n_edges", NULL},
    {"edges.image", F_POD, NULL, NULL},
    {"edges.imagePullPolicy", F_POD, NULL, NULL},
    {"edges.logLevel", F_POD, NULL, NULL},
    {"edges.nodeSelector", F_POD, NULL, NULL},
    {"edges.tolerations", F_POD, NULL, NULL},
    {"edges.resources", F_POD, NULL, NULL},
    {"edges.localModel", F_OBJ, NULL, NULL},
    {"edges.localModel.generator", F_LOCAL, "generator", NULL},
    {"edges.localModel.discriminator", F_LOCAL, "discriminator", NULL},
    {"edges.localModel.localSteps", F_INT, "scheduler.server.local_steps", NULL},
    {"edges.emulation", F_OBJ, NULL, NULL},
    {"edges.emulation.speedFactor", F_NUM, "emulation.speed_factor", NULL},
    {"edges.emulation.linkMbps", F_NUM, "emulation.link_mbps", NULL},
    {"edges.emulation.linkLatencyMs", F_NUM, "emulation.link_latency_ms", NULL},
    {"scheduler", F_OBJ, NULL, NULL},
    {"scheduler.server", F_OBJ, NULL, NULL},
    {"scheduler.server.policy", F_POLICY, "scheduler.server.policy", NULL},
    {"scheduler.server.roundDeadlineMs", F_INT, "scheduler.server.round_deadline_ms", NULL},
    {"scheduler.server.stalenessBound", F_INT, "scheduler.server.staleness_bound", NULL},
    {"scheduler.server.memoryBudgetMb", F_INT, "scheduler.server.memory_budget_mb", NULL},
    {"scheduler.server.priority", F_PRIORITY, "scheduler.server.priority", NULL},
    {"scheduler.edge", F_OBJ, NULL, NULL},
    {"scheduler.edge.policy", F_STR, "scheduler.edge.policy", NULL},
    {"scheduler.edge.overlap", F_BOOL, "scheduler.edge.overlap", NULL},
    {"scheduler.edge.memoryBudgetMb", F_INT, "scheduler.edge.memory_budget_mb", NULL},
    {"scheduler.sgda", F_OBJ, NULL, NULL},
    {"scheduler.sgda.pipeline", F_BOOL, "scheduler.sgda.pipeline", NULL},
    {"data", F_OBJ, NULL, NULL},
    {"data.dataset", F_STR, "data.dataset", NULL},
    {"data.path", F_STR, "data.path", NULL},
    {"data.limitPerClass", F_INT, "data.limit_per_class", NULL},
    {"data.partition", F_OBJ, NULL, NULL},
    {"data.partition.mode", F_MODE, NULL, NULL},
    {"data.partition.tasksPerEdgeMin", F_INT, "data.partition.tasks_per_edge_min", NULL},
    {"data.partition.tasksPerEdgeMax", F_INT, "data.partition.tasks_per_edge_max", NULL},
    {"auth", F_OBJ, NULL, NULL},
    {"auth.tokenSecretRef", F_OBJ, NULL, NULL},
    {"auth.tokenSecretRef.name", F_SECRET, NULL, NULL},
    {"auth.tokenSecretRef.key", F_POD, NULL, NULL},
    {"qualityTarget", F_OBJ, NULL, NULL},
    {"qualityTarget.fidelity", F_NUM, "train.target_fidelity", NULL},
    {"qualityTarget.fdRatio", F_NUM, "train.target_fd_ratio", NULL},
    {"qualityTarget.recallRatio", F_NUM, "train.target_recall_ratio", NULL},
};

/* One tasks[] entry; edges.localModel uses the generator/discriminator rows. */
const struct field mtg_k8s_task_fields[] = {
    {"id", F_STR, "id", NULL},
    {"generator", F_OBJ, NULL, NULL},
    {"generator.layers", F_INTS, "generator.layers", NULL},
    {"generator.activation", F_STR, "generator.activation", NULL},
    {"generator.latentDim", F_INT, "generator.latent_dim", NULL},
    {"generator.lr", F_NUM, "generator.lr", NULL},
    {"generator.betas", F_NUMS, "generator.betas", NULL},
    {"generator.preset", F_STR, "generator.preset", NULL},
    {"generator.width", F_INT, "generator.width", NULL},
    {"generator.norm", F_STR, "generator.norm", NULL},
    {"discriminator", F_OBJ, NULL, NULL},
    {"discriminator.layers", F_INTS, "discriminator.layers", NULL},
    {"discriminator.activation", F_STR, "discriminator.activation", NULL},
    {"discriminator.lr", F_NUM, "discriminator.lr", NULL},
    {"discriminator.betas", F_NUMS, "discriminator.betas", NULL},
    {"discriminator.preset", F_STR, "discriminator.preset", NULL},
    {"discriminator.width", F_INT, "discriminator.width", NULL},
    {"discriminator.mbstd", F_INT, "discriminator.mbstd", NULL},
};

const size_t mtg_k8s_n_spec_fields = sizeof mtg_k8s_spec_fields / sizeof mtg_k8s_spec_fields[0];
const size_t mtg_k8s_n_task_fields = sizeof mtg_k8s_task_fields / sizeof mtg_k8s_task_fields[0];

struct walk {
    cJSON *out;   /* config JSON being built */
    cJSON *local; /* {"generator": {...}, "discriminator": {...}} from edges.localModel */
    struct mtg_k8s_job *job;
    int mode;     /* data.partition.mode: 0 unset, 1 iid, 2 noniid */
    int64_t max_rounds; /* spec.maxRounds; 0 unset */
    char who[352]; /* "MultiTaskGANJob ns/name", prefixes every message */
};

static int fail(const struct walk *w, struct mtg_err *err, int code, const char *path,
                const char *fmt, const char *arg)
{
    char what[160];
    snprintf(what, sizeof what, fmt, arg);
    return mtg_err_set(err, code, "%s: %s: %s", w->who, path, what);
}

/* "string \"fast\"", "number 1.5", ... for type errors. */
static void describe(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsString(v))
        snprintf(buf, cap, "string \"%.40s\"", v->valuestring);
    else if (cJSON_IsNumber(v))
        snprintf(buf, cap, "number %.17g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v))
        snprintf(buf, cap, "an array");
    else if (cJSON_IsObject(v))
        snprintf(buf, cap, "an object");
    else
        snprintf(buf, cap, "null");
}

static int is_int(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble;
}

static int type_error(const struct walk *w, struct mtg_err *err, const char *path, const char *want,
                      const cJSON *got)
{
    char g[80], what[140];
    describe(got, g, sizeof g);
    snprintf(what, sizeof what, "expected %s, got %s", want, g);
    return fail(w, err, MTG_EINVAL, path, "%s", what);
}

/* Checks v against a leaf kind; MTG_OK or a type error naming path. */
static int check_type(const struct walk *w, enum field_kind k, const cJSON *v, const char *path,
                      struct mtg_err *err)
{
    switch (k) {
    case F_INT:
    case F_MAXROUNDS:
        return is_int(v) ? MTG_OK : type_error(w, err, path, "integer", v);
    case F_NUM:
        return cJSON_IsNumber(v) ? MTG_OK : type_error(w, err, path, "number", v);
    case F_STR:
    case F_POLICY:
    case F_PRIORITY:
    case F_MODE:
    case F_SECRET:
        return cJSON_IsString(v) ? MTG_OK : type_error(w, err, path, "string", v);
    case F_BOOL:
        return cJSON_IsBool(v) ? MTG_OK : type_error(w, err, path, "boolean", v);
    case F_INTS:
    case F_NUMS: {
        const char *want = k == F_INTS ? "array of integers" : "array of numbers";
        if (!cJSON_IsArray(v))
            return type_error(w, err, path, want, v);
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
        {
            if (k == F_INTS ? !is_int(e) : !cJSON_IsNumber(e)) {
                char ep[PATH_TEXT + 16];
                snprintf(ep, sizeof ep, "%.180s[%d]", path, i);
                return type_error(w, err, ep, k == F_INTS ? "integer" : "number", e);
            }
            i++;
        }
        return MTG_OK;
    }
    default:
        return MTG_OK;
    }
}

/* The object at dotted path under root, created on the way; NULL on no memory. */
static cJSON *object_at(cJSON *root, const char *path, int parent_only, const char **leaf)
{
    char seg[PATH_TEXT];
    cJSON *cur = root;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (!dot && parent_only) {
            *leaf = p;
            return cur;
        }
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
        if (!next && !(next = cJSON_AddObjectToObject(cur, seg)))
            return NULL;
        cur = next;
        if (!dot)
            return cur;
        p = dot + 1;
    }
}

/* Sets dotted key path in root to v (owned by this call: added or deleted). */
static int put(cJSON *root, const char *path, cJSON *v)
{
    const char *leaf = NULL;
    cJSON *parent = v ? object_at(root, path, 1, &leaf) : NULL;
    if (!parent) {
        cJSON_Delete(v);
        return MTG_ENOMEM;
    }
    if (cJSON_GetObjectItemCaseSensitive(parent, leaf))
        return cJSON_ReplaceItemInObjectCaseSensitive(parent, leaf, v) ? MTG_OK : MTG_ENOMEM;
    return cJSON_AddItemToObject(parent, leaf, v) ? MTG_OK : MTG_ENOMEM;
}

int mtg_k8s_json_put_dup(cJSON *root, const char *path, const cJSON *v)
{
    return put(root, path, cJSON_Duplicate(v, 1));
}

static const struct field *find(const struct field *tab, size_t n, const char *spec)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].spec, spec) == 0)
            return &tab[i];
    return NULL;
}

static int walk_tasks(struct walk *w, const cJSON *arr, const char *shown, struct mtg_err *err);

/*
 * Walks the members of obj against tab. rel is obj's path within the table
 * ("" at its root), shown the path in messages ("spec.tasks[2]"); leaves go
 * into out under their config keys.
 */
static int walk_object(struct walk *w, const struct field *tab, size_t n, const cJSON *obj,
                       const char *rel, const char *shown, cJSON *out, struct mtg_err *err)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        char r[PATH_TEXT], s[PATH_TEXT + 64];
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "." : "", m->string);
        snprintf(s, sizeof s, "%s.%s", shown, r);
        const struct field *f = strchr(m->string, '.') ? NULL : find(tab, n, r);
        if (!f)
            return fail(w, err, MTG_EINVAL, s, "%s", "unknown field");
        for (const cJSON *p = obj->child; p != m; p = p->next)
            if (strcmp(p->string, m->string) == 0)
                return fail(w, err, MTG_EINVAL, s, "%s", "appears twice");
        int rc = check_type(w, f->kind, m, s, err);
        if (rc != MTG_OK)
            return rc;
        switch (f->kind) {
        case F_OBJ:
            if (!cJSON_IsObject(m))
                return type_error(w, err, s, "object", m);
            rc = walk_object(w, tab, n, m, r, shown, out, err);
            break;
        case F_POD:
            break;
        case F_TASKS:
            rc = walk_tasks(w, m, s, err);
            break;
        case F_LOCAL: {
            if (!cJSON_IsObject(m))
                return type_error(w, err, s, "object", m);
            /* Reuse the tasks[] rows: the local network has the same fields. */
            rc = walk_object(w, mtg_k8s_task_fields, mtg_k8s_n_task_fields, m, f->cfg, "spec.edges.localModel", w->local,
                             err);
            break;
        }
        case F_MAXROUNDS:
            if (m->valuedouble < 0)
                return fail(w, err, MTG_EINVAL, s, "%s", "must be >= 0");
            w->max_rounds = (int64_t)m->valuedouble;
            if (w->job)
                w->job->max_rounds = w->max_rounds;
            break;
        case F_POLICY:
            rc = mtg_k8s_json_put_dup(out, f->cfg, m);
            /* The async policy applies deltas on arrival, which is async aggregation; the CRD
             * has no separate aggregation field, so the policy implies it. */
            if (rc == MTG_OK && strcmp(m->valuestring, "async") == 0)
                rc = put(out, "aggregation.mode", cJSON_CreateString("async"));
            break;
        case F_PRIORITY:
            if (strcmp(m->valuestring, "none") != 0 && strcmp(m->valuestring, "quality") != 0)
                return fail(w, err, MTG_EINVAL, s, "expected \"none\" or \"quality\", got \"%.40s\"",
                            m->valuestring);
            rc = put(out, f->cfg, cJSON_CreateBool(strcmp(m->valuestring, "quality") == 0));
            break;
        case F_MODE:
            if (strcmp(m->valuestring, "iid") != 0 && strcmp(m->valuestring, "noniid") != 0)
                return fail(w, err, MTG_EINVAL, s, "expected \"iid\" or \"noniid\", got \"%.40s\"",
                            m->valuestring);
            w->mode = strcmp(m->valuestring, "iid") == 0 ? 1 : 2;
            break;
        case F_SECRET:
            if (w->job) {
                w->job->auth = true;
                snprintf(w->job->auth_secret, sizeof w->job->auth_secret, "%s", m->valuestring);
            }
            break;
        default:
            rc = mtg_k8s_json_put_dup(out, f->cfg, m);
            if (rc == MTG_OK && f->cfg2)
                rc = mtg_k8s_json_put_dup(out, f->cfg2, m);
            break;
        }
        if (rc == MTG_ENOMEM)
            return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
        if (rc != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

static int walk_tasks(struct walk *w, const cJSON *arr, const char *shown, struct mtg_err *err)
{
    if (!cJSON_IsArray(arr))
        return type_error(w, err, shown, "array of objects", arr);
    cJSON *tasks = cJSON_CreateArray();
    if (!tasks || !cJSON_AddItemToObject(w->out, "tasks", tasks)) {
        cJSON_Delete(tasks);
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
    }
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, arr)
    {
        char s[PATH_TEXT];
        snprintf(s, sizeof s, "%.160s[%d]", shown, i);
        if (!cJSON_IsObject(t))
            return type_error(w, err, s, "object", t);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(tasks, o)) {
            cJSON_Delete(o);
            return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
        }
        int rc = walk_object(w, mtg_k8s_task_fields, mtg_k8s_n_task_fields, t, "", s, o, err);
        if (rc != MTG_OK)
            return rc;
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "id"))) {
            char ids[PATH_TEXT + 4];
            snprintf(ids, sizeof ids, "%s.id", s);
            return fail(w, err, MTG_EINVAL, ids, "%s", "required");
        }
        const char *id = cJSON_GetObjectItemCaseSensitive(o, "id")->valuestring;
        for (int j = 0; j < i; j++)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tasks, j), "id")
                           ->valuestring, id) == 0) {
                char ids[PATH_TEXT + 4], what[96];
                snprintf(ids, sizeof ids, "%s.id", s);
                snprintf(what, sizeof what, "\"%.40s\" already used by spec.tasks[%d]", id, j);
                return fail(w, err, MTG_EINVAL, ids, "%s", what);
            }
        i++;
    }
    if (w->job)
        w->job->n_tasks = i;
    return MTG_OK;
}

/*
 * The server creates its tasks from the dataset (digits and fashion-mnist:
 * data.tasks, as class ids; ring: one task "ring") and takes each one's
 * networks from tasks[] by id, so spec.tasks must name tasks the dataset has.
 */
static int derive_data_tasks(struct walk *w, struct mtg_err *err)
{
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(w->out, "data"), "dataset");
    const char *dataset = cJSON_IsString(ds) ? ds->valuestring : "digits";
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(w->out, "tasks");
    int n = cJSON_GetArraySize(tasks);
    if (n == 0)
        return fail(w, err, MTG_EINVAL, "spec.tasks", "%s", "at least one task is required");
    int kind = -1;
    const struct mtg_data_kind_info *info = NULL;
    if (mtg_data_kind_parse(dataset, &kind, NULL) == MTG_OK)
        info = mtg_data_kind_info(kind);
    if (info && info->side > 0) {
        cJSON *ids = cJSON_CreateArray();
        if (!ids || put(w->out, "data.tasks", ids) != MTG_OK)
            return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
        for (int i = 0; i < n; i++) {
            const char *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tasks, i), "id")
                                 ->valuestring;
            int k = mtg_data_kind_task_label(kind, id);
            char s[64];
            snprintf(s, sizeof s, "spec.tasks[%d].id", i);
            if (k < 0) {
                char what[160];
                snprintf(what, sizeof what, "\"%.64s\" is not a %s task (%s-0 .. %s-%d)", id, info->name,
                         info->task_prefix, info->task_prefix, info->n_classes - 1);
                return fail(w, err, MTG_EINVAL, s, "%s", what);
            }
            cJSON *num = cJSON_CreateNumber(k);
            if (!num || !cJSON_AddItemToArray(ids, num)) {
                cJSON_Delete(num);
                return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
            }
        }
    } else if (strcmp(dataset, "ring") == 0) {
        const char *id = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(tasks, 0), "id")
                             ->valuestring;
        if (n != 1 || strcmp(id, "ring") != 0)
            return fail(w, err, MTG_EINVAL, "spec.tasks", "%s",
                        "the ring dataset has exactly one task, with id \"ring\"");
    }
    if (w->mode == 1) {
        /* iid: every edge holds every task. tasksPerEdgeMin/Max are documented as noniid-only
         * and the Helm chart always renders them, so iid overrides them. */
        int k = n < 256 ? n : 256;
        if (put(w->out, "data.partition.tasks_per_edge_min", cJSON_CreateNumber(k)) != MTG_OK ||
            put(w->out, "data.partition.tasks_per_edge_max", cJSON_CreateNumber(k)) != MTG_OK)
            return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w->who);
    }
    return MTG_OK;
}

/*
 * What spec.deterministic rules out, checked on the spec because only the
 * spec knows the names to give: the async policy is what sets async
 * aggregation (the config layer would name aggregation.mode, which the CRD
 * does not have), and spec.maxRounds is enforced by the status reporter's
 * poll, a wall-clock stop like the train.max_wall_s the config layer refuses.
 */
static int check_deterministic(const struct walk *w, struct mtg_err *err)
{
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(w->out, "train"), "deterministic");
    if (!cJSON_IsTrue(det))
        return MTG_OK;
    const cJSON *server = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(w->out, "scheduler"), "server");
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(server, "policy");
    if (cJSON_IsString(policy) && strcmp(policy->valuestring, "async") == 0)
        return mtg_err_set(err, MTG_EINVAL,
                           "%s: spec.deterministic: true rules out spec.scheduler.server.policy "
                           "\"async\" (it implies aggregation.mode \"async\", which applies deltas in "
                           "arrival order): use \"fixed\" or \"profiled\"", w->who);
    if (w->max_rounds > 0)
        return mtg_err_set(err, MTG_EINVAL,
                           "%s: spec.deterministic: true rules out spec.maxRounds %lld (a status poll "
                           "every 5 s stops the server, so the last round depends on timing): set it "
                           "to 0", w->who, (long long)w->max_rounds);
    return MTG_OK;
}

int mtg_k8s_translate(const char *cr_json, struct mtg_k8s_job *job, cJSON **out, cJSON **local,
                     struct mtg_err *err)
{
    int rc;
    struct walk w = {.job = job};
    *out = *local = NULL;
    snprintf(w.who, sizeof w.who, "MultiTaskGANJob");
    cJSON *root = cJSON_Parse(cr_json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mtg_err_set(err, MTG_EFORMAT, "MultiTaskGANJob: the API server's answer is not a "
                           "JSON object");
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    snprintf(w.who, sizeof w.who, "MultiTaskGANJob %s/%s",
             cJSON_IsString(ns) ? ns->valuestring : "?",
             cJSON_IsString(name) ? name->valuestring : "?");
    if (job) {
        struct mtg_k8s_track keep = job->track;
        memset(job, 0, sizeof *job);
        job->track = keep;
        snprintf(job->namespace, sizeof job->namespace, "%s", cJSON_IsString(ns) ? ns->valuestring : "");
        snprintf(job->name, sizeof job->name, "%s", cJSON_IsString(name) ? name->valuestring : "");
        job->generation = is_int(gen) ? (int64_t)gen->valuedouble : 0;
    }
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "MultiTaskGANJob") != 0) {
        rc = fail(&w, err, MTG_EINVAL, "kind", "\"%.64s\" is not MultiTaskGANJob", kind->valuestring);
        goto done;
    }
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(root, "spec");
    if (!cJSON_IsObject(spec)) {
        rc = fail(&w, err, MTG_EINVAL, "spec", "%s", "missing or not an object");
        goto done;
    }
    w.out = cJSON_CreateObject();
    w.local = cJSON_CreateObject();
    if (!w.out || !w.local) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", w.who);
        goto done;
    }
    rc = walk_object(&w, mtg_k8s_spec_fields, mtg_k8s_n_spec_fields, spec, "", "spec", w.out, err);
    if (rc == MTG_OK && !cJSON_GetObjectItemCaseSensitive(w.out, "tasks"))
        rc = fail(&w, err, MTG_EINVAL, "spec.tasks", "%s", "required");
    if (rc == MTG_OK)
        rc = derive_data_tasks(&w, err);
    if (rc == MTG_OK)
        rc = check_deterministic(&w, err);
done:
    cJSON_Delete(root);
    if (rc != MTG_OK) {
        cJSON_Delete(w.out);
        cJSON_Delete(w.local);
        return rc;
    }
    *out = w.out;
    *local = w.local;
    return MTG_OK;
}

char *mtg_k8s_json_print(const cJSON *o)
{
    char *txt = cJSON_PrintUnformatted(o);
    if (!txt)
        return NULL;
    size_t n = strlen(txt);
    char *copy = malloc(n + 1);
    if (copy)
        memcpy(copy, txt, n + 1);
    cJSON_free(txt);
    return copy;
}

int mtg_k8s_job_to_config(const char *cr_json, char **cfg_json, struct mtg_k8s_job *job,
                          struct mtg_err *err)
{
    cJSON *out, *local;
    *cfg_json = NULL;
    int rc = mtg_k8s_translate(cr_json, job, &out, &local, err);
    if (rc != MTG_OK)
        return rc;
    *cfg_json = mtg_k8s_json_print(out);
    cJSON_Delete(out);
    cJSON_Delete(local);
    return *cfg_json ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "MultiTaskGANJob: out of memory");
}
