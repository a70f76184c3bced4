/* config_json.c - JSON config files in (merge over a struct) and out (effective config). */
#include "config/config_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define PATH_TEXT 192 /* longest key path shown in a message */

/* "prefix.key" (or "key" without a prefix) into buf; false if it had to be truncated. */
static bool join(char *buf, size_t n, const char *prefix, const char *key)
{
    size_t used = 0;
    const char *parts[3] = {prefix && prefix[0] ? prefix : "", prefix && prefix[0] ? "." : "", key};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(parts[i]);
        if (used + len >= n) {
            memcpy(buf + used, parts[i], n - 1 - used);
            buf[n - 1] = '\0';
            return false;
        }
        memcpy(buf + used, parts[i], len);
        used += len;
    }
    buf[used] = '\0';
    return true;
}

/* cJSON keeps both copies of a repeated key and lookups see the first, so refuse it. */
static bool repeated_key(const cJSON *obj, const cJSON *item)
{
    for (const cJSON *p = obj->child; p && p != item; p = p->next)
        if (p->string && strcmp(p->string, item->string) == 0)
            return true;
    return false;
}

/*
 * Applies the members of obj over base with table t. rel is obj's path within
 * the table ("" for the table's root), shown the prefix used in messages
 * ("tasks[2]"). The tasks and edges arrays are returned, not applied,
 * so that the caller applies them after emulation{} of the same file.
 */
static int apply_object(enum mtg_cfg_table t, void *base, const cJSON *obj, const char *rel,
                        const char *shown, const cJSON **tasks, const cJSON **edges,
                        struct mtg_err *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        char rel_path[PATH_TEXT], shown_path[PATH_TEXT];
        bool fits = join(rel_path, sizeof rel_path, rel, item->string);
        join(shown_path, sizeof shown_path, shown, rel_path);
        /* A dotted or empty member name would otherwise alias a nested key ("model.batch"). */
        const struct mtg_cfg_key *k = (fits && item->string[0] && !strchr(item->string, '.'))
                                          ? mtg_cfg_key_find(t, rel_path)
                                          : NULL;
        if (!k)
            return mtg_err_set(err, MTG_EINVAL, "unknown key \"%s\"", shown_path);
        if (repeated_key(obj, item))
            return mtg_err_set(err, MTG_EINVAL, "key \"%s\" appears twice", shown_path);
        int rc;
        switch (k->kind) {
        case MTG_CFG_K_OBJ:
            if (!cJSON_IsObject(item))
                return mtg_err_set(err, MTG_EINVAL, "%s: expected object", shown_path);
            rc = apply_object(t, base, item, rel_path, shown, tasks, edges, err);
            break;
        case MTG_CFG_K_ARRAY:
            if (!cJSON_IsArray(item))
                return mtg_err_set(err, MTG_EINVAL, "%s: expected array of objects", shown_path);
            *(strcmp(k->path, "tasks") == 0 ? tasks : edges) = item;
            rc = MTG_OK;
            break;
        default:
            rc = mtg_cfg_key_set_json(k, base, item, shown_path, err);
            break;
        }
        if (rc != MTG_OK)
            return rc;
    }
    return MTG_OK;
}

static int apply_tasks(struct mtg_cfg *c, const cJSON *arr, struct mtg_err *err)
{
    int n = cJSON_GetArraySize(arr);
    if (n > MTG_CFG_MAX_TASKS)
        return mtg_err_set(err, MTG_ERANGE, "tasks: %d entries, at most %d", n, MTG_CFG_MAX_TASKS);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        char shown[32];
        snprintf(shown, sizeof shown, "tasks[%d]", i);
        if (!cJSON_IsObject(item))
            return mtg_err_set(err, MTG_EINVAL, "%s: expected object", shown);
        struct mtg_cfg_task *t = &c->tasks[i];
        mtg_cfg_task_defaults(t, "");
        int rc = apply_object(MTG_CFG_TABLE_TASK, t, item, "", shown, NULL, NULL, err);
        if (rc != MTG_OK)
            return rc;
        if (t->id[0] == '\0')
            return mtg_err_set(err, MTG_EINVAL, "%s: missing key \"id\"", shown);
        i++;
    }
    c->n_tasks = n;
    return MTG_OK;
}

static int apply_edges(struct mtg_cfg *c, const cJSON *arr, struct mtg_err *err)
{
    int n = cJSON_GetArraySize(arr);
    if (n > MTG_CFG_MAX_EDGES)
        return mtg_err_set(err, MTG_ERANGE, "edges: %d entries, at most %d", n, MTG_CFG_MAX_EDGES);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        char shown[32];
        snprintf(shown, sizeof shown, "edges[%d]", i);
        if (!cJSON_IsObject(item))
            return mtg_err_set(err, MTG_EINVAL, "%s: expected object", shown);
        struct mtg_cfg_edge *e = &c->edges[i];
        memset(e, 0, sizeof *e);
        snprintf(e->id, sizeof e->id, "edge-%d", i);
        e->speed_factor = c->emulation.speed_factor;
        e->link_mbps = c->emulation.link_mbps;
        e->link_latency_ms = c->emulation.link_latency_ms;
        int rc = apply_object(MTG_CFG_TABLE_EDGE, e, item, "", shown, NULL, NULL, err);
        if (rc != MTG_OK)
            return rc;
        i++;
    }
    c->n_edge_profiles = n;
    return MTG_OK;
}

/* 1-based line and column of byte offset off in text, for parse errors. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int load_json(struct mtg_cfg *c, const char *json, struct mtg_err *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
    if (!root) {
        size_t off = (end && end >= json) ? (size_t)(end - json) : 0;
        int line, col;
        line_col(json, off, &line, &col);
        return mtg_err_set(err, MTG_EFORMAT, "malformed JSON at line %d, column %d (byte %zu)", line,
                           col, off);
    }
    int rc = MTG_OK;
    const cJSON *tasks = NULL, *edges = NULL;
    if (!cJSON_IsObject(root)) {
        rc = mtg_err_set(err, MTG_EINVAL, "top level: expected object");
        goto fail;
    }
    rc = apply_object(MTG_CFG_TABLE_TOP, c, root, "", "", &tasks, &edges, err);
    if (rc == MTG_OK && tasks)
        rc = apply_tasks(c, tasks, err);
    if (rc == MTG_OK && edges) {
        rc = apply_edges(c, edges, err);
        /* A listed profile without an explicit count means "these edges". */
        if (rc == MTG_OK && c->n_edge_profiles > 0 &&
            !cJSON_GetObjectItemCaseSensitive(root, "n_edges"))
            c->n_edges = c->n_edge_profiles;
    }
fail:
    cJSON_Delete(root);
    return rc;
}

int mtg_cfg_load_string(struct mtg_cfg *c, const char *json, const char *name, struct mtg_err *err)
{
    int rc = load_json(c, json, err);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "config %s", name);
    return rc;
}

int mtg_cfg_load_file(struct mtg_cfg *c, const char *path, struct mtg_err *err)
{
    int rc;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mtg_err_set(err, errno == ENOENT ? MTG_ENOTFOUND : MTG_EIO, "config %s: %s", path,
                           strerror(errno));
    buf = malloc(MTG_CFG_MAX_FILE_BYTES + 1);
    if (!buf) {
        rc = mtg_err_set(err, MTG_ENOMEM, "config %s: out of memory", path);
        goto fail;
    }
    size_t n = fread(buf, 1, MTG_CFG_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        rc = mtg_err_set(err, MTG_EIO, "config %s: read failed", path);
        goto fail;
    }
    if (n > MTG_CFG_MAX_FILE_BYTES) {
        rc = mtg_err_set(err, MTG_ETOOBIG, "config %s: larger than %d bytes", path,
                         MTG_CFG_MAX_FILE_BYTES);
        goto fail;
    }
    if (memchr(buf, '\0', n)) {
        rc = mtg_err_set(err, MTG_EFORMAT, "config %s: contains a NUL byte", path);
        goto fail;
    }
    buf[n] = '\0';
    rc = mtg_cfg_load_string(c, buf, path, err);
fail:
    free(buf);
    fclose(f);
    return rc;
}

/* The object at dotted path under root, creating objects on the way; NULL on no memory. */
static cJSON *object_at(cJSON *root, const char *path)
{
    char seg[PATH_TEXT];
    cJSON *cur = root;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, p, len);
        seg[len] = '\0';
        cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
        if (!next && !(next = cJSON_AddObjectToObject(cur, seg)))
            return NULL;
        cur = next;
        p += len + (dot ? 1 : 0);
    }
    return cur;
}

/* Adds the field of k under its dotted path in root. */
static int add_key(cJSON *root, const struct mtg_cfg_key *k, const void *base)
{
    const char *leaf = strrchr(k->path, '.');
    cJSON *parent = root;
    if (leaf) {
        char parent_path[PATH_TEXT];
        size_t len = (size_t)(leaf - k->path);
        if (len >= sizeof parent_path)
            return MTG_ERANGE;
        memcpy(parent_path, k->path, len);
        parent_path[len] = '\0';
        parent = object_at(root, parent_path);
        leaf++;
    } else {
        leaf = k->path;
    }
    if (!parent)
        return MTG_ENOMEM;
    if (k->kind == MTG_CFG_K_OBJ)
        return object_at(parent, leaf) ? MTG_OK : MTG_ENOMEM;
    cJSON *v = mtg_cfg_key_to_json(k, base);
    if (!v)
        return MTG_ENOMEM;
    if (!cJSON_AddItemToObject(parent, leaf, v)) {
        cJSON_Delete(v);
        return MTG_ENOMEM;
    }
    return MTG_OK;
}

/* Every non-array key of table t from base, as a new object; NULL on no memory. */
static cJSON *table_to_json(enum mtg_cfg_table t, const void *base)
{
    cJSON *obj = cJSON_CreateObject();
    size_t n;
    const struct mtg_cfg_key *keys = mtg_cfg_keys(t, &n);
    for (size_t i = 0; obj && i < n; i++) {
        if (keys[i].kind == MTG_CFG_K_ARRAY)
            continue;
        if (add_key(obj, &keys[i], base) != MTG_OK) {
            cJSON_Delete(obj);
            obj = NULL;
        }
    }
    return obj;
}

int mtg_cfg_to_json(const struct mtg_cfg *c, char **out)
{
    int rc = MTG_ENOMEM;
    char *txt = NULL;
    *out = NULL;
    cJSON *root = table_to_json(MTG_CFG_TABLE_TOP, c);
    cJSON *tasks = cJSON_CreateArray();
    cJSON *edges = cJSON_CreateArray();
    if (!root || !tasks || !edges)
        goto fail;
    for (int i = 0; i < c->n_tasks && i < MTG_CFG_MAX_TASKS; i++) {
        cJSON *t = table_to_json(MTG_CFG_TABLE_TASK, &c->tasks[i]);
        if (!t || !cJSON_AddItemToArray(tasks, t)) {
            cJSON_Delete(t);
            goto fail;
        }
    }
    for (int i = 0; i < c->n_edge_profiles && i < MTG_CFG_MAX_EDGES; i++) {
        cJSON *e = table_to_json(MTG_CFG_TABLE_EDGE, &c->edges[i]);
        if (!e || !cJSON_AddItemToArray(edges, e)) {
            cJSON_Delete(e);
            goto fail;
        }
    }
    if (!cJSON_AddItemToObject(root, "tasks", tasks))
        goto fail;
    tasks = NULL;
    if (!cJSON_AddItemToObject(root, "edges", edges))
        goto fail;
    edges = NULL;
    txt = cJSON_Print(root);
    if (!txt)
        goto fail;
    /* Copied so that callers free with plain free() whatever cJSON's allocator hooks are. */
    size_t len = strlen(txt);
    *out = malloc(len + 1);
    if (!*out)
        goto fail;
    memcpy(*out, txt, len + 1);
    rc = MTG_OK;
fail:
    cJSON_free(txt);
    cJSON_Delete(tasks);
    cJSON_Delete(edges);
    cJSON_Delete(root);
    return rc;
}
