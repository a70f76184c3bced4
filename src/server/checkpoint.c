/*
 * checkpoint.c - the server's durable state in state_dir:
 *
 *   ckpt-<gen>.blob   every task's globals (mtgan: g, d; sgda: g + Adam m, v),
 *                     written tmp + fsync + rename; the blob's CRC covers it.
 *   state.json        {format, protocol, gen, blob, round, tasks[...], config}
 *                     naming the blob; replaced atomically after the blob.
 *   state.prev.json   the previous state.json, kept with its blob, so a
 *                     corrupt or truncated latest checkpoint falls back to
 *                     the one before it.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "data/dataset.h"
#include "server/server_internal.h"
#include "wire/blob.h"

#define CKPT_FORMAT 1

static int write_atomic(const char *path, const char *text, struct mtg_err *err)
{
    char tmp[MTG_CFG_PATH_MAX + 128];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0)
        return mtg_err_set(err, MTG_EIO, "checkpoint: open %s: %s", tmp, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return mtg_err_set(err, MTG_EIO, "checkpoint: write %s: %s", tmp, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return mtg_err_set(err, MTG_EIO, "checkpoint: fsync %s: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0)
        return mtg_err_set(err, MTG_EIO, "checkpoint: rename %s: %s", tmp, strerror(errno));
    return MTG_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int add_vec(struct mtg_blob *b, const char *task, const char *what, const float *v, size_t n)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", task, what);
    uint32_t dim = (uint32_t)n;
    return mtg_blob_add(b, name, 1, &dim, v, MTG_DTYPE_F32, NULL);
}

/* Builds the blob and the state document under the lock; file I/O happens after. */
static int snapshot(struct mtg_srv *s, struct mtg_blob *b, cJSON *state, struct mtg_err *err)
{
    int rc = MTG_OK;
    cJSON *tasks = cJSON_AddArrayToObject(state, "tasks");
    for (int t = 0; t < srv_n_tasks(s) && rc == MTG_OK; t++) {
        const char *id = srv_task_id(s, t);
        cJSON *tj = cJSON_CreateObject();
        cJSON_AddStringToObject(tj, "id", id);
        cJSON_AddBoolToObject(tj, "deleted", s->deleted[t]);
        cJSON_AddNumberToObject(tj, "version", (double)srv_task_version(s, t));
        cJSON_AddNumberToObject(tj, "steps", (double)srv_task_steps(s, t));
        if (s->sgda) {
            struct mtg_gan *g = mtg_sgda_task_gan(s->sgda_state, t);
            struct mtg_net *m = mtg_gan_generator(g);
            struct mtg_adam *o = mtg_gan_g_opt(g);
            size_t n = mtg_net_param_count(m);
            rc = add_vec(b, id, "g", mtg_net_params(m), n);
            if (rc == MTG_OK)
                rc = add_vec(b, id, "g.adam_m", mtg_adam_m(o), n);
            if (rc == MTG_OK)
                rc = add_vec(b, id, "g.adam_v", mtg_adam_v(o), n);
            if (rc == MTG_OK && mtg_gan_generator_ema(g))
                rc = add_vec(b, id, "g_ema", mtg_net_params(mtg_gan_generator_ema(g)), n);
            cJSON_AddNumberToObject(tj, "adam_steps", (double)mtg_adam_steps(o));
        } else {
            /*
             * A spilled task is reloaded (one at a time: each reload may spill
             * another cold task, and add_vec copies before that can happen).
             * A task that cannot be reloaded fails the checkpoint rather than
             * silently writing one without it.
             */
            size_t ng, nd;
            rc = mtg_fed_task_resident(s->fed, t, err);
            if (rc != MTG_OK) {
                cJSON_AddItemToArray(tasks, tj);
                break;
            }
            float *g = mtg_fed_task_g(s->fed, t, &ng), *d = mtg_fed_task_d(s->fed, t, &nd);
            struct mtg_fed_task_info fi;
            mtg_fed_task_info(s->fed, t, &fi);
            cJSON_AddNumberToObject(tj, "rounds", (double)fi.rounds);
            rc = add_vec(b, id, "g", g, ng);
            if (rc == MTG_OK)
                rc = add_vec(b, id, "d", d, nd);
            size_t ne;
            const float *ema = mtg_fed_task_g_ema(s->fed, t, &ne);
            if (rc == MTG_OK && ema)
                rc = add_vec(b, id, "g_ema", ema, ne);
        }
        cJSON_AddItemToArray(tasks, tj);
    }
    return rc;
}

int srv_ckpt_save(struct mtg_srv *s, struct mtg_err *err)
{
    const char *dir = s->cfg->state_dir;
    if (!dir[0])
        return MTG_OK;
    struct mtg_blob *b = mtg_blob_new(err);
    cJSON *state = cJSON_CreateObject();
    if (!b || !state) {
        mtg_blob_free(b);
        cJSON_Delete(state);
        return mtg_err_set(err, MTG_ENOMEM, "checkpoint: out of memory");
    }
    pthread_mutex_lock(&s->mu);
    uint64_t gen = ++s->ckpt_gen;
    int rc = snapshot(s, b, state, err);
    cJSON_AddNumberToObject(state, "format", CKPT_FORMAT);
    cJSON_AddStringToObject(state, "protocol", mtg_cfg_protocol_name(s->cfg->protocol));
    cJSON_AddStringToObject(state, "dataset", mtg_data_kind_info((int)s->cfg->data.dataset)->name);
    cJSON_AddNumberToObject(state, "gen", (double)gen);
    cJSON_AddNumberToObject(state, "round", (double)(s->sgda ? mtg_sgda_step(s->sgda_state) : mtg_fed_round(s->fed)));
    char *cfg_text = NULL;
    if (mtg_cfg_to_json(s->cfg, &cfg_text) == MTG_OK) {
        cJSON *all = cJSON_Parse(cfg_text);
        cJSON *cfg = cJSON_CreateObject();
        if (all) {
            cJSON_AddItemToObject(cfg, "model", cJSON_DetachItemFromObject(all, "model"));
            cJSON_AddItemToObject(cfg, "tasks", cJSON_DetachItemFromObject(all, "tasks"));
        }
        cJSON_AddItemToObject(state, "config", cfg);
        cJSON_Delete(all);
    }
    free(cfg_text);
    pthread_mutex_unlock(&s->mu);

    char blob_name[64], path[MTG_CFG_PATH_MAX + 80], prev[MTG_CFG_PATH_MAX + 80];
    snprintf(blob_name, sizeof blob_name, "ckpt-%llu.blob", (unsigned long long)gen);
    cJSON_AddStringToObject(state, "blob", blob_name);
    char *text = rc == MTG_OK ? cJSON_Print(state) : NULL;
    cJSON_Delete(state);
    if (rc == MTG_OK && !text)
        rc = mtg_err_set(err, MTG_ENOMEM, "checkpoint: out of memory");
    if (rc == MTG_OK) {
        snprintf(path, sizeof path, "%s/%s", dir, blob_name);
        rc = mtg_blob_write_file(b, path, 0, err);
    }
    mtg_blob_free(b);
    if (rc == MTG_OK) {
        /* Keep the old state (and its blob) until the new one is durable. */
        snprintf(path, sizeof path, "%s/state.json", dir);
        snprintf(prev, sizeof prev, "%s/state.prev.json", dir);
        if (access(path, F_OK) == 0)
            rename(path, prev);
        rc = write_atomic(path, text, err);
        fsync_dir(dir);
    }
    free(text);
    if (rc == MTG_OK && gen > 2) {
        /* Blobs older than the one state.prev.json names are no longer needed. */
        snprintf(path, sizeof path, "%s/ckpt-%llu.blob", dir, (unsigned long long)(gen - 2));
        unlink(path);
    }
    if (rc == MTG_OK)
        mtg_log(MTG_LOG_DEBUG, "server", "checkpoint %llu written", (unsigned long long)gen);
    return rc;
}

static cJSON *read_json(const char *path, struct mtg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mtg_err_set(err, MTG_ENOTFOUND, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 22);
    size_t n = buf ? fread(buf, 1, (1 << 22) - 1, f) : 0;
    fclose(f);
    cJSON *o = buf ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    if (!o)
        mtg_err_set(err, MTG_EFORMAT, "%s: not valid JSON (truncated or corrupt)", path);
    return o;
}

static int copy_vec(const struct mtg_blob *b, const char *task, const char *what, float *dst, size_t n,
                    struct mtg_err *err)
{
    char name[128];
    snprintf(name, sizeof name, "%s/%s", task, what);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, name);
    if (!t || t->n != n)
        return mtg_err_set(err, MTG_EFORMAT, "checkpoint: tensor \"%s\" missing or has %zu values, want %zu",
                           name, t ? t->n : 0, n);
    memcpy(dst, t->data, n * sizeof(float));
    return MTG_OK;
}

/* Restores from one state file; on any error the server's task set is left as it was (empty). */
static int load_state(struct mtg_srv *s, const char *state_path, struct mtg_err *err)
{
    cJSON *st = read_json(state_path, err);
    if (!st)
        return err->code;
    int rc = MTG_OK;
    struct mtg_blob *b = NULL;
    cJSON *proto = cJSON_GetObjectItemCaseSensitive(st, "protocol");
    cJSON *blob = cJSON_GetObjectItemCaseSensitive(st, "blob");
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
    cJSON *cfg = cJSON_GetObjectItemCaseSensitive(st, "config");
    cJSON *fmt = cJSON_GetObjectItemCaseSensitive(st, "format");
    cJSON *dataset = cJSON_GetObjectItemCaseSensitive(st, "dataset");
    if (!cJSON_IsNumber(fmt) || fmt->valueint != CKPT_FORMAT) {
        rc = mtg_err_set(err, MTG_EVERSION, "%s: unsupported checkpoint format", state_path);
        goto out;
    }
    if (!cJSON_IsString(proto) || strcmp(proto->valuestring, mtg_cfg_protocol_name(s->cfg->protocol)) != 0) {
        rc = mtg_err_set(err, MTG_ECONFLICT, "%s: checkpoint is for protocol %s, server runs %s", state_path,
                         cJSON_IsString(proto) ? proto->valuestring : "?", mtg_cfg_protocol_name(s->cfg->protocol));
        goto out;
    }
    /* Models of another dataset have other shapes: refuse, as for another protocol (older
     * checkpoints carry no dataset; their shapes are checked tensor by tensor below). */
    const char *running = mtg_data_kind_info((int)s->cfg->data.dataset)->name;
    if (cJSON_IsString(dataset) && strcmp(dataset->valuestring, running) != 0) {
        rc = mtg_err_set(err, MTG_ECONFLICT, "%s: checkpoint is for dataset %s, server runs %s (use another state_dir)",
                         state_path, dataset->valuestring, running);
        goto out;
    }
    if (!cJSON_IsString(blob) || strchr(blob->valuestring, '/') || !cJSON_IsArray(tasks)) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: missing blob or tasks", state_path);
        goto out;
    }
    char path[MTG_CFG_PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", s->cfg->state_dir, blob->valuestring);
    rc = mtg_blob_read_file(path, NULL, &b, err);
    if (rc != MTG_OK)
        goto out;
    if (cJSON_IsObject(cfg)) {
        char *text = cJSON_PrintUnformatted(cfg);
        rc = text ? mtg_cfg_load_string(s->cfg, text, state_path, err) : MTG_ENOMEM;
        free(text);
        if (rc != MTG_OK)
            goto out;
    }
    for (cJSON *tj = tasks->child; tj && rc == MTG_OK; tj = tj->next) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(tj, "id");
        if (!cJSON_IsString(id)) {
            rc = mtg_err_set(err, MTG_EFORMAT, "%s: task without id", state_path);
            break;
        }
        struct mtg_cfg_task tc;
        mtg_cfg_task_for(s->cfg, id->valuestring, &tc);
        int t = srv_add_task(s, &tc, err);
        if (t < 0) {
            rc = t;
            break;
        }
        double version = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "version"));
        double steps = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "steps"));
        s->deleted[t] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tj, "deleted"));
        if (s->sgda) {
            struct mtg_gan *g = mtg_sgda_task_gan(s->sgda_state, t);
            struct mtg_net *m = mtg_gan_generator(g);
            struct mtg_adam *o = mtg_gan_g_opt(g);
            size_t n = mtg_net_param_count(m);
            rc = copy_vec(b, id->valuestring, "g", mtg_net_params(m), n, err);
            if (rc == MTG_OK)
                rc = copy_vec(b, id->valuestring, "g.adam_m", mtg_adam_m(o), n, err);
            if (rc == MTG_OK)
                rc = copy_vec(b, id->valuestring, "g.adam_v", mtg_adam_v(o), n, err);
            /* A checkpoint from before model.ema was on has no EMA: it restarts at G. */
            if (rc == MTG_OK && mtg_gan_generator_ema(g) &&
                copy_vec(b, id->valuestring, "g_ema", mtg_net_params(mtg_gan_generator_ema(g)), n, NULL) != MTG_OK)
                mtg_gan_ema_reset(g);
            double at = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "adam_steps"));
            mtg_adam_set_steps(o, at > 0 ? (uint64_t)at : 0);
            mtg_sgda_set_task_steps(s->sgda_state, t, steps > 0 ? (uint64_t)steps : 0);
        } else {
            size_t ng, nd;
            rc = mtg_fed_task_resident(s->fed, t, err); /* just added: resident unless a budget bug */
            if (rc != MTG_OK)
                break;
            float *g = mtg_fed_task_g(s->fed, t, &ng), *d = mtg_fed_task_d(s->fed, t, &nd);
            rc = copy_vec(b, id->valuestring, "g", g, ng, err);
            if (rc == MTG_OK)
                rc = copy_vec(b, id->valuestring, "d", d, nd, err);
            size_t ne;
            float *ema = mtg_fed_task_g_ema(s->fed, t, &ne);
            if (rc == MTG_OK && ema && copy_vec(b, id->valuestring, "g_ema", ema, ne, NULL) != MTG_OK)
                mtg_fed_task_ema_reset(s->fed, t);
            double rounds = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "rounds"));
            mtg_fed_set_task_state(s->fed, t, version > 0 ? (uint64_t)version : 0, rounds > 0 ? (uint64_t)rounds : 0,
                                   steps > 0 ? (uint64_t)steps : 0);
        }
        if (s->deleted[t])
            srv_set_task_quality(s, t, 0, 0);
    }
    if (rc == MTG_OK) {
        double gen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "gen"));
        s->ckpt_gen = gen > 0 ? (uint64_t)gen : 0;
    }
out:
    mtg_blob_free(b);
    cJSON_Delete(st);
    return rc;
}

/*
 * After resuming from state.prev.json, the unusable state.json must not stay
 * where it is: the next save rotates state.json into state.prev.json, which
 * would replace the one good checkpoint with the broken one (and a crash
 * before the new state.json is written would then leave nothing to resume).
 * It is kept as state.json.unusable for inspection.
 */
static void set_aside_unusable(const char *dir)
{
    char from[MTG_CFG_PATH_MAX + 32], to[MTG_CFG_PATH_MAX + 48];
    snprintf(from, sizeof from, "%s/state.json", dir);
    snprintf(to, sizeof to, "%s/state.json.unusable", dir);
    if (access(from, F_OK) == 0 && rename(from, to) == 0) {
        fsync_dir(dir);
        mtg_log(MTG_LOG_WARN, "server", "moved the unusable %s to %s", from, to);
    }
}

int srv_ckpt_load(struct mtg_srv *s, int *loaded, struct mtg_err *err)
{
    *loaded = 0;
    static const char *const names[] = {"state.json", "state.prev.json"};
    char path[MTG_CFG_PATH_MAX + 32];
    int any = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", s->cfg->state_dir, names[i]);
        if (access(path, F_OK) != 0)
            continue;
        any = 1;
        struct mtg_err e = {0};
        if (load_state(s, path, &e) == MTG_OK) {
            *loaded = 1;
            mtg_log(MTG_LOG_INFO, "server", "resumed from %s (%d tasks)", path, srv_n_tasks(s));
            if (i > 0)
                set_aside_unusable(s->cfg->state_dir);
            return MTG_OK;
        }
        mtg_log(MTG_LOG_WARN, "server", "checkpoint %s unusable: %s", path, e.msg);
        if (e.code == MTG_ECONFLICT)
            return mtg_err_set(err, e.code, "%s", e.msg);
        int rc = srv_protocol_new(s, err);
        if (rc != MTG_OK)
            return rc;
        memset(s->deleted, 0, sizeof s->deleted);
    }
    if (any)
        mtg_log(MTG_LOG_WARN, "server", "no usable checkpoint in %s: starting fresh", s->cfg->state_dir);
    return MTG_OK;
}
