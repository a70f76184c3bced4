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
#include <dirent.h>
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

/*
 * The one limit checkpoint save and load share: what the tasks' models take
 * by their config (G, its EMA or sgda's Adam moments, D), nothing fixed. A
 * save checks its blob against it and a load reads with it, so a checkpoint
 * that is written can be loaded by the same config, however wide the models.
 * Call with the tasks the checkpoint holds in place (mu held on save).
 */
static struct mtg_blob_limits ckpt_limits(const struct mtg_srv *s)
{
    struct mtg_blob_limits lim = {0};
    for (int t = 0; t < srv_n_tasks(s); t++) {
        const struct mtg_gan_cfg *c = srv_task_cfg(s, t);
        size_t g = mtg_net_spec_param_count(&c->g), d = mtg_net_spec_param_count(&c->d);
        /* sgda: g, g.adam_m, g.adam_v, g_ema; mtgan: g, g_ema, d. Both at most 4 tensors. */
        lim.max_elems += s->sgda ? 4 * g : 2 * g + d;
        lim.max_tensors += 4;
    }
    /* A table entry is at most 2 + 255 + 2 + 16 + 8 bytes; plus the header, zlib header and CRC. */
    lim.max_bytes = lim.max_elems * sizeof(float) + lim.max_tensors * 288 + 64;
    if (lim.max_tensors == 0)
        lim.max_tensors = 1;
    return lim;
}

static size_t blob_elems(const struct mtg_blob *b)
{
    size_t n = 0;
    for (size_t i = 0; i < mtg_blob_count(b); i++)
        n += mtg_blob_at(b, i)->n;
    return n;
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
        if (s->deleted[t] && !s->sgda) {
            /* Only its id is kept (ids of deleted tasks are never reused); its globals are gone. */
        } else if (s->sgda) {
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
    struct mtg_blob_limits lim = ckpt_limits(s);
    if (rc == MTG_OK && (blob_elems(b) > lim.max_elems || mtg_blob_count(b) > lim.max_tensors))
        rc = mtg_err_set(err, MTG_ETOOBIG,
                         "checkpoint: %zu values in %zu tensors, over what a load of these tasks accepts (%zu in %zu); "
                         "not written, the previous checkpoint stays",
                         blob_elems(b), mtg_blob_count(b), lim.max_elems, lim.max_tensors);
    cJSON_AddNumberToObject(state, "format", CKPT_FORMAT);
    cJSON_AddStringToObject(state, "protocol", mtg_cfg_protocol_name(s->cfg->protocol));
    cJSON_AddStringToObject(state, "dataset", mtg_data_kind_info((int)s->cfg->data.dataset)->name);
    cJSON_AddNumberToObject(state, "gen", (double)gen);
    cJSON_AddNumberToObject(state, "round", (double)(s->sgda ? mtg_sgda_step(s->sgda_state) : mtg_fed_round(s->fed)));
    /* What a restart must not forget beyond the models: the scheduler's edge
     * measurements and the candidate tasks (waiting or created). */
    cJSON_AddItemToObject(state, "edge_profiles", srv_profiles_json(s));
    cJSON_AddItemToObject(state, "candidates", srv_ll_checkpoint_json(s));
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
    if (rc == MTG_OK && gen > s->ckpt_base_gen + 2) {
        /* Blobs older than the one state.prev.json names are no longer needed; never one this run did not write
         * (base_gen: an unusable checkpoint found at start is kept for inspection). */
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
    if (cJSON_IsObject(cfg)) {
        char *text = cJSON_PrintUnformatted(cfg);
        rc = text ? mtg_cfg_load_string(s->cfg, text, state_path, err) : MTG_ENOMEM;
        free(text);
        if (rc != MTG_OK)
            goto out;
    }
    /* The tasks first: their configured sizes are the limit the blob is read with (ckpt_limits). */
    for (cJSON *tj = tasks->child; tj && rc == MTG_OK; tj = tj->next) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(tj, "id");
        if (!cJSON_IsString(id) || !srv_valid_id(id->valuestring)) {
            rc = mtg_err_set(err, MTG_EFORMAT, "%s: task without a valid id", state_path);
            break;
        }
        struct mtg_cfg_task tc;
        mtg_cfg_task_for(s->cfg, id->valuestring, &tc);
        int t = srv_add_task(s, &tc, err);
        if (t < 0)
            rc = t;
    }
    if (rc != MTG_OK)
        goto out;
    char path[MTG_CFG_PATH_MAX + 80];
    snprintf(path, sizeof path, "%s/%s", s->cfg->state_dir, blob->valuestring);
    struct mtg_blob_limits lim = ckpt_limits(s);
    rc = mtg_blob_read_file(path, &lim, &b, err);
    if (rc != MTG_OK)
        goto out;
    int t = 0;
    for (cJSON *tj = tasks->child; tj && rc == MTG_OK; tj = tj->next, t++) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(tj, "id");
        double version = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "version"));
        double steps = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(tj, "steps"));
        s->deleted[t] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tj, "deleted"));
        if (s->deleted[t] && !s->sgda) {
            mtg_fed_task_drop(s->fed, t);
        } else if (s->sgda) {
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
    if (rc == MTG_OK)
        rc = srv_profiles_restore(s, cJSON_GetObjectItemCaseSensitive(st, "edge_profiles"), err);
    if (rc == MTG_OK)
        rc = srv_ll_restore(s, cJSON_GetObjectItemCaseSensitive(st, "candidates"), err);
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

/* Highest N of the ckpt-N.blob files in dir (0 when none). */
static uint64_t newest_blob_gen(const char *dir)
{
    uint64_t best = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        unsigned long long g;
        int end = 0;
        if (sscanf(de->d_name, "ckpt-%llu.blob%n", &g, &end) == 1 && de->d_name[end] == '\0' && g > best)
            best = g;
    }
    if (d)
        closedir(d);
    return best;
}

/*
 * Nothing could be resumed although checkpoints exist: keep every one of
 * them. The state files move to state*.json.unusable-<gen> (the next save
 * would rotate state.json away), and the new run numbers its blobs past the
 * newest one on disk, so none is overwritten or deleted.
 */
static void keep_unusable(struct mtg_srv *s)
{
    const char *dir = s->cfg->state_dir;
    static const char *const names[] = {"state.json", "state.prev.json"};
    for (int i = 0; i < 2; i++) {
        char from[MTG_CFG_PATH_MAX + 32], to[MTG_CFG_PATH_MAX + 64];
        snprintf(from, sizeof from, "%s/%s", dir, names[i]);
        snprintf(to, sizeof to, "%s/%s.unusable-%llu", dir, names[i], (unsigned long long)s->ckpt_gen);
        if (access(from, F_OK) == 0 && rename(from, to) != 0)
            mtg_log(MTG_LOG_ERROR, "server", "cannot move %s aside: %s", from, strerror(errno));
    }
    fsync_dir(dir);
    mtg_log(MTG_LOG_ERROR, "server",
            "NO USABLE CHECKPOINT in %s: starting fresh at generation %llu; the unusable checkpoints are kept "
            "(state*.json.unusable-%llu and their ckpt-*.blob files) for inspection",
            dir, (unsigned long long)s->ckpt_gen + 1, (unsigned long long)s->ckpt_gen);
}

int srv_ckpt_load(struct mtg_srv *s, int *loaded, struct mtg_err *err)
{
    *loaded = 0;
    /* After a failed load, new blobs are numbered past every one on disk and never replace one. */
    uint64_t on_disk = newest_blob_gen(s->cfg->state_dir);
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
            if (i > 0 && s->ckpt_gen < on_disk)
                s->ckpt_gen = on_disk; /* the unusable state.json's blob is newer: keep it */
            s->ckpt_base_gen = i > 0 ? s->ckpt_gen : 0;
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
        s->ckpt_gen = 0;
        /* Nothing of the unusable file may survive into the fallback. */
        free(s->saved_prof);
        s->saved_prof = NULL;
        s->n_saved_prof = 0;
        srv_ll_forget_candidates(s);
    }
    if (any) {
        s->ckpt_gen = s->ckpt_base_gen = on_disk;
        keep_unusable(s);
    }
    return MTG_OK;
}
