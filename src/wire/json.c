#include "wire/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

cJSON *mtg_json_parse(const char *buf, size_t len, size_t max_len, struct mtg_err *err)
{
    if (!buf && len > 0) {
        mtg_err_set(err, MTG_EINVAL, "json: no buffer");
        return NULL;
    }
    if (len > max_len) {
        mtg_err_set(err, MTG_ETOOBIG, "json: %zu bytes over the limit of %zu", len, max_len);
        return NULL;
    }
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", buf[i]) && buf[i] != '\0')
        i++;
    if (i == len) {
        mtg_err_set(err, MTG_EFORMAT, "json: empty document");
        return NULL;
    }
    /* Not require_null_terminated: cJSON would then demand a NUL inside len.
     * We check what follows the value ourselves. */
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    size_t off = end ? (size_t)(end - buf) : 0;
    if (root) {
        while (off < len && buf[off] != '\0' && strchr(" \t\r\n", buf[off]))
            off++;
        if (off == len)
            return root;
        cJSON_Delete(root);
        root = NULL;
    }
    if (off > len)
        off = len;
    size_t line = 1, col = 1;
    for (size_t k = 0; k < off; k++) {
        if (buf[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    mtg_err_set(err, MTG_EFORMAT, "json: syntax error at line %zu column %zu (offset %zu)%s",
                line, col, off, off >= len ? ": unexpected end of input" : "");
    return NULL;
}

/*
 * Whole-path syntax check, done up front so that a typo is reported even
 * when an earlier key happens to be absent: key ('.' key | '[' digits ']')*
 * where a path may also start with an index.
 */
static bool path_valid(const char *p)
{
    if (!*p)
        return false;
    while (*p) {
        if (*p == '[') {
            p++;
            if (*p < '0' || *p > '9')
                return false;
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p++ != ']')
                return false;
        } else {
            if (*p == '.' || *p == ']')
                return false;
            while (*p && *p != '.' && *p != '[' && *p != ']')
                p++;
            if (*p == ']')
                return false;
        }
        if (*p == '.') {
            p++;
            if (!*p || *p == '.' || *p == '[' || *p == ']')
                return false;
        }
    }
    return true;
}

int mtg_json_lookup(const cJSON *root, const char *path, const cJSON **out, struct mtg_err *err)
{
    char key[MTG_JSON_PATH_MAX];
    const cJSON *cur = root;
    const char *p = path;

    *out = NULL;
    if (!root || !path)
        return mtg_err_set(err, MTG_EINVAL, "json: lookup needs a document and a path");
    if (strlen(path) >= MTG_JSON_PATH_MAX)
        return mtg_err_set(err, MTG_EINVAL, "json: key path longer than %d bytes",
                           MTG_JSON_PATH_MAX - 1);
    if (!path_valid(path))
        return mtg_err_set(err, MTG_EINVAL, "json: malformed key path \"%s\"", path);
    while (*p) {
        if (*p == '[') {
            char *endp;
            if (p[1] < '0' || p[1] > '9')
                return mtg_err_set(err, MTG_EINVAL, "json: bad index in key path \"%s\"", path);
            unsigned long idx = strtoul(p + 1, &endp, 10);
            if (*endp != ']' || idx > (unsigned long)INT32_MAX)
                return mtg_err_set(err, MTG_EINVAL, "json: bad index in key path \"%s\"", path);
            if (!cJSON_IsArray(cur))
                return mtg_err_set(err, MTG_EINVAL, "json: key \"%.*s\" must be an array", (int)(p - path),
                                   path);
            cur = cJSON_GetArrayItem(cur, (int)idx);
            if (!cur)
                return MTG_OK;
            p = endp + 1;
            if (*p == '.')
                p++;
            else if (*p && *p != '[')
                return mtg_err_set(err, MTG_EINVAL, "json: bad key path \"%s\"", path);
            continue;
        }
        size_t n = strcspn(p, ".[");
        if (n == 0)
            return mtg_err_set(err, MTG_EINVAL, "json: empty key in path \"%s\"", path);
        memcpy(key, p, n);
        key[n] = '\0';
        if (!cJSON_IsObject(cur))
            return p == path ? mtg_err_set(err, MTG_EINVAL, "json: document must be an object")
                             : mtg_err_set(err, MTG_EINVAL, "json: key \"%.*s\" must be an object",
                                           (int)(p - 1 - path), path);
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        if (!cur)
            return MTG_OK;
        p += n;
        if (*p == '.') {
            p++;
            if (!*p)
                return mtg_err_set(err, MTG_EINVAL, "json: key path \"%s\" ends with '.'", path);
        }
    }
    *out = cur;
    return MTG_OK;
}

/* Lookup + required check shared by the typed getters; *item NULL = absent. */
static int get(const cJSON *root, const char *path, bool required, const cJSON **item,
               struct mtg_err *err)
{
    int rc = mtg_json_lookup(root, path, item, err);
    if (rc != MTG_OK)
        return rc;
    if (!*item && required)
        return mtg_err_set(err, MTG_EINVAL, "json: missing key \"%s\"", path);
    return MTG_OK;
}

static const char *type_name(const cJSON *it)
{
    if (cJSON_IsNull(it))
        return "null";
    if (cJSON_IsBool(it))
        return "a boolean";
    if (cJSON_IsNumber(it))
        return "a number";
    if (cJSON_IsString(it))
        return "a string";
    if (cJSON_IsArray(it))
        return "an array";
    if (cJSON_IsObject(it))
        return "an object";
    return "invalid";
}

int mtg_json_int(const cJSON *root, const char *path, long lo, long hi, long *out, bool required,
                 struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    double d = it->valuedouble;
    /* cJSON keeps numbers as doubles: integers are exact up to 2^53. */
    if (!cJSON_IsNumber(it) || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be an integer, got %s", path,
                           cJSON_IsNumber(it) ? "a fraction" : type_name(it));
    if (d < (double)lo || d > (double)hi)
        return mtg_err_set(err, MTG_ERANGE, "json: key \"%s\" = %.0f outside [%ld, %ld]", path, d,
                           lo, hi);
    *out = (long)d;
    return MTG_OK;
}

int mtg_json_double(const cJSON *root, const char *path, double lo, double hi, double *out,
                    bool required, struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be a number, got %s", path,
                           type_name(it));
    if (!(it->valuedouble >= lo && it->valuedouble <= hi))
        return mtg_err_set(err, MTG_ERANGE, "json: key \"%s\" = %g outside [%g, %g]", path,
                           it->valuedouble, lo, hi);
    *out = it->valuedouble;
    return MTG_OK;
}

int mtg_json_string(const cJSON *root, const char *path, size_t max_len, const char **out,
                    bool required, struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    if (!cJSON_IsString(it) || !it->valuestring)
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be a string, got %s", path,
                           type_name(it));
    size_t n = strlen(it->valuestring);
    if (max_len && n > max_len)
        return mtg_err_set(err, MTG_ERANGE, "json: key \"%s\" is %zu bytes, over the limit of %zu",
                           path, n, max_len);
    *out = it->valuestring;
    return MTG_OK;
}

int mtg_json_bool(const cJSON *root, const char *path, bool *out, bool required,
                  struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    if (!cJSON_IsBool(it))
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be true or false, got %s", path,
                           type_name(it));
    *out = cJSON_IsTrue(it);
    return MTG_OK;
}

int mtg_json_array(const cJSON *root, const char *path, size_t min, size_t max,
                   const cJSON **out, size_t *n, bool required, struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    if (!cJSON_IsArray(it))
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be an array, got %s", path,
                           type_name(it));
    size_t size = (size_t)cJSON_GetArraySize(it);
    if (size < min || size > max)
        return mtg_err_set(err, MTG_ERANGE, "json: key \"%s\" has %zu items, want %zu..%zu", path,
                           size, min, max);
    *out = it;
    if (n)
        *n = size;
    return MTG_OK;
}

int mtg_json_object(const cJSON *root, const char *path, const cJSON **out, bool required,
                    struct mtg_err *err)
{
    const cJSON *it;
    int rc = get(root, path, required, &it, err);
    if (rc != MTG_OK || !it)
        return rc;
    if (!cJSON_IsObject(it))
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be an object, got %s", path,
                           type_name(it));
    *out = it;
    return MTG_OK;
}

int mtg_json_check_keys(const cJSON *obj, const char *path, const char *const *allowed,
                        struct mtg_err *err)
{
    if (!cJSON_IsObject(obj))
        return mtg_err_set(err, MTG_EINVAL, "json: key \"%s\" must be an object",
                           path ? path : "");
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        bool ok = false;
        for (size_t i = 0; allowed && allowed[i] && !ok; i++)
            ok = it->string && strcmp(it->string, allowed[i]) == 0;
        if (!ok)
            return mtg_err_set(err, MTG_EINVAL, "json: unknown key \"%s%s%s\"",
                               path && *path ? path : "", path && *path ? "." : "",
                               it->string ? it->string : "");
    }
    return MTG_OK;
}

int mtg_json_print(const cJSON *item, bool pretty, char **out, size_t *len, struct mtg_err *err)
{
    if (!item || !out)
        return mtg_err_set(err, MTG_EINVAL, "json: print needs an item and an output");
    /* cJSON's print takes a non-const pointer but does not modify the item. */
    cJSON *mut = (cJSON *)(uintptr_t)item;
    char *s = pretty ? cJSON_Print(mut) : cJSON_PrintUnformatted(mut);
    if (!s)
        return mtg_err_set(err, MTG_ENOMEM, "json: out of memory printing");
    *out = s;
    if (len)
        *len = strlen(s);
    return MTG_OK;
}

char *mtg_json_error_body(const char *code, const char *message)
{
    char *s = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *e = root ? cJSON_AddObjectToObject(root, "error") : NULL;
    if (e && cJSON_AddStringToObject(e, "code", code ? code : "internal") &&
        cJSON_AddStringToObject(e, "message", message ? message : ""))
        s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}
