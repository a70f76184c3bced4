/* config_value.c - typed get/set/check/to-JSON of one key's field, driven by its table row. */
#include "config/config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* Enum fields are read and written as int: their values are their index in names. */
_Static_assert(sizeof(enum mtg_act) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum mtg_cfg_protocol) == sizeof(int), "enum fields are stored as int");

/* Fields are copied with memcpy so that no access depends on the field's declared type. */
static int get_int(const void *base, size_t off)
{
    int v;
    memcpy(&v, (const char *)base + off, sizeof v);
    return v;
}

static void put(void *base, size_t off, const void *v, size_t n) { memcpy((char *)base + off, v, n); }

static size_t n_names(const char *const *names)
{
    size_t n = 0;
    while (names[n])
        n++;
    return n;
}

static bool in_range(const struct mtg_cfg_key *k, double v)
{
    if (!isfinite(v))
        return false;
    bool lo_ok = (k->flags & MTG_CFG_F_LO_OPEN) ? v > k->lo : v >= k->lo;
    bool hi_ok = (k->flags & MTG_CFG_F_HI_OPEN) ? v < k->hi : v <= k->hi;
    return lo_ok && hi_ok;
}

static bool is_integral(double v) { return isfinite(v) && v == trunc(v); }

/* Ids become file names, metric labels and URL path segments, so no "..", "/" or leading "-". */
bool mtg_cfg_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MTG_CFG_ID_MAX || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-')
            return false;
    }
    return true;
}

/* Every string may end up in a log line or an HTTP header: no control characters. */
static bool str_ok(const struct mtg_cfg_key *k, const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    if (*s == '\0')
        return !(k->flags & MTG_CFG_F_NONEMPTY);
    if ((k->flags & MTG_CFG_F_ID) && !mtg_cfg_id_valid(s))
        return false;
    if (k->flags & MTG_CFG_F_URL) {
        size_t skip = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
        if (skip == 0 || s[skip] == '\0' || strchr(s, ' '))
            return false;
    }
    return true;
}

static void fmt_bound(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.15g", v);
}

void mtg_cfg_key_expect(const struct mtg_cfg_key *k, char *buf, size_t n)
{
    char lo[32], hi[32];
    fmt_bound(lo, sizeof lo, k->lo);
    fmt_bound(hi, sizeof hi, k->hi);
    const char *lb = (k->flags & MTG_CFG_F_LO_OPEN) ? "(" : "[";
    const char *hb = (k->flags & MTG_CFG_F_HI_OPEN) ? ")" : "]";
    switch (k->kind) {
    case MTG_CFG_K_INT:
    case MTG_CFG_K_I64:
        snprintf(buf, n, "integer in [%s, %s]", lo, hi);
        break;
    case MTG_CFG_K_U64:
        snprintf(buf, n, "unsigned 64-bit integer");
        break;
    case MTG_CFG_K_DBL:
        snprintf(buf, n, "number in %s%s, %s%s", lb, lo, hi, hb);
        break;
    case MTG_CFG_K_BOOL:
        snprintf(buf, n, "true or false");
        break;
    case MTG_CFG_K_STR:
        if (k->flags & MTG_CFG_F_ID)
            snprintf(buf, n, "%sid of 1-%d characters [A-Za-z0-9._-] starting with a letter or digit",
                     (k->flags & MTG_CFG_F_NONEMPTY) ? "" : "empty or ", MTG_CFG_ID_MAX - 1);
        else if (k->flags & MTG_CFG_F_URL)
            snprintf(buf, n, "http:// or https:// URL");
        else
            snprintf(buf, n, "%sstring of at most %zu bytes without control characters",
                     (k->flags & MTG_CFG_F_NONEMPTY) ? "non-empty " : "", k->size - 1);
        break;
    case MTG_CFG_K_ENUM: {
        size_t used = (size_t)snprintf(buf, n, "one of");
        for (size_t i = 0; k->names[i] && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s \"%s\"", i ? "," : "", k->names[i]);
        break;
    }
    case MTG_CFG_K_LAYERS:
        snprintf(buf, n, "list of at most %d integers in [%s, %s]", MTG_CFG_MAX_HIDDEN, lo, hi);
        break;
    case MTG_CFG_K_BETAS:
        snprintf(buf, n, "[beta1, beta2], each a number in %s%s, %s%s", lb, lo, hi, hb);
        break;
    case MTG_CFG_K_IDS:
        snprintf(buf, n, "%slist of at most %d distinct integers in [%s, %s]",
                 (k->flags & MTG_CFG_F_ALL) ? "\"all\" or a non-empty " : "", MTG_CFG_MAX_IDS, lo,
                 hi);
        break;
    case MTG_CFG_K_OBJ:
        snprintf(buf, n, "object");
        break;
    case MTG_CFG_K_ARRAY:
        snprintf(buf, n, "array of objects");
        break;
    }
}

static int fail_expect(const struct mtg_cfg_key *k, const char *shown, const char *got,
                       struct mtg_err *err)
{
    char expect[160];
    mtg_cfg_key_expect(k, expect, sizeof expect);
    return mtg_err_set(err, MTG_EINVAL, "%s: expected %s, got %s", shown, expect, got);
}

/* "got ..." text of a JSON value: its compact JSON, shortened. */
static int fail_json(const struct mtg_cfg_key *k, const char *shown, const cJSON *v,
                     struct mtg_err *err)
{
    char got[64] = "?";
    char *txt = cJSON_PrintUnformatted(v);
    if (txt) {
        size_t len = strlen(txt);
        if (len >= sizeof got)
            snprintf(got, sizeof got, "%.56s...", txt);
        else
            snprintf(got, sizeof got, "%s", txt);
        free(txt);
    }
    return fail_expect(k, shown, got, err);
}

static int fail_text(const struct mtg_cfg_key *k, const char *shown, const char *s,
                     struct mtg_err *err)
{
    char got[72];
    snprintf(got, sizeof got, "\"%.60s%s\"", s, strlen(s) > 60 ? "..." : "");
    return fail_expect(k, shown, got, err);
}

static bool ids_distinct(const struct mtg_cfg_ids *ids)
{
    for (int i = 0; i < ids->n; i++)
        for (int j = 0; j < i; j++)
            if (ids->id[i] == ids->id[j])
                return false;
    return true;
}

static bool ids_ok(const struct mtg_cfg_key *k, const struct mtg_cfg_ids *ids)
{
    if (ids->n < 0 || ids->n > MTG_CFG_MAX_IDS)
        return false;
    for (int i = 0; i < ids->n; i++)
        if (!in_range(k, ids->id[i]))
            return false;
    return ids_distinct(ids);
}

/* The stored value is well-formed and in range. */
static bool field_ok(const struct mtg_cfg_key *k, const void *base)
{
    const char *p = (const char *)base + k->off;
    switch (k->kind) {
    case MTG_CFG_K_INT:
        return in_range(k, get_int(base, k->off));
    case MTG_CFG_K_I64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return in_range(k, (double)v);
    }
    case MTG_CFG_K_DBL: {
        double v;
        memcpy(&v, p, sizeof v);
        return in_range(k, v);
    }
    case MTG_CFG_K_ENUM: {
        int v = get_int(base, k->off);
        return v >= 0 && (size_t)v < n_names(k->names);
    }
    case MTG_CFG_K_STR:
        return memchr(p, '\0', k->size) != NULL && str_ok(k, p);
    case MTG_CFG_K_LAYERS: {
        struct mtg_cfg_layers l;
        memcpy(&l, p, sizeof l);
        if (l.n < 0 || l.n > MTG_CFG_MAX_HIDDEN)
            return false;
        for (int i = 0; i < l.n; i++)
            if (!in_range(k, l.width[i]))
                return false;
        return true;
    }
    case MTG_CFG_K_BETAS: {
        double b[2];
        memcpy(b, p, sizeof b);
        return in_range(k, b[0]) && in_range(k, b[1]);
    }
    case MTG_CFG_K_IDS: {
        struct mtg_cfg_ids ids;
        memcpy(&ids, p, sizeof ids);
        return ids_ok(k, &ids);
    }
    case MTG_CFG_K_U64:
    case MTG_CFG_K_BOOL:
    case MTG_CFG_K_OBJ:
    case MTG_CFG_K_ARRAY:
        return true;
    }
    return false;
}

int mtg_cfg_key_check(const struct mtg_cfg_key *k, const void *base, const char *shown,
                      struct mtg_err *err)
{
    if (field_ok(k, base))
        return MTG_OK;
    cJSON *v = mtg_cfg_key_to_json(k, base);
    if (!v)
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", shown);
    int rc = fail_json(k, shown, v, err);
    cJSON_Delete(v);
    return rc;
}

/* An integer list from a JSON array into out[0..max); false if not all integers or too long. */
static bool json_int_list(const cJSON *v, int *out, int max, int *n)
{
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > max)
        return false;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsNumber(it) || !is_integral(it->valuedouble) || fabs(it->valuedouble) > 1e9)
            return false;
        out[i++] = (int)it->valuedouble;
    }
    *n = i;
    return true;
}

/* Decimal text to uint64; rejects signs, spaces and overflow (strtoull accepts "-1"). */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

int mtg_cfg_key_set_json(const struct mtg_cfg_key *k, void *base, const cJSON *v, const char *shown,
                         struct mtg_err *err)
{
    switch (k->kind) {
    case MTG_CFG_K_INT:
    case MTG_CFG_K_I64:
        if (!cJSON_IsNumber(v) || !is_integral(v->valuedouble) || !in_range(k, v->valuedouble))
            return fail_json(k, shown, v, err);
        if (k->kind == MTG_CFG_K_INT) {
            int x = (int)v->valuedouble;
            put(base, k->off, &x, sizeof x);
        } else {
            int64_t x = (int64_t)v->valuedouble;
            put(base, k->off, &x, sizeof x);
        }
        return MTG_OK;
    case MTG_CFG_K_U64: {
        uint64_t x;
        /* Numbers above 2^53 lost precision in the parser, so big seeds must be strings. */
        if (cJSON_IsNumber(v) && is_integral(v->valuedouble) && v->valuedouble >= 0 &&
            v->valuedouble <= 9007199254740992.0)
            x = (uint64_t)v->valuedouble;
        else if (!cJSON_IsString(v) || !parse_u64(v->valuestring, &x))
            return fail_json(k, shown, v, err);
        put(base, k->off, &x, sizeof x);
        return MTG_OK;
    }
    case MTG_CFG_K_DBL:
        if (!cJSON_IsNumber(v) || !in_range(k, v->valuedouble))
            return fail_json(k, shown, v, err);
        put(base, k->off, &v->valuedouble, sizeof(double));
        return MTG_OK;
    case MTG_CFG_K_BOOL: {
        if (!cJSON_IsBool(v))
            return fail_json(k, shown, v, err);
        bool b = cJSON_IsTrue(v);
        put(base, k->off, &b, sizeof b);
        return MTG_OK;
    }
    case MTG_CFG_K_STR:
    case MTG_CFG_K_ENUM:
        if (!cJSON_IsString(v))
            return fail_json(k, shown, v, err);
        return mtg_cfg_key_set_string(k, base, v->valuestring, shown, err);
    case MTG_CFG_K_LAYERS: {
        struct mtg_cfg_layers l = {0};
        if (!json_int_list(v, l.width, MTG_CFG_MAX_HIDDEN, &l.n))
            return fail_json(k, shown, v, err);
        for (int i = 0; i < l.n; i++)
            if (!in_range(k, l.width[i]))
                return fail_json(k, shown, v, err);
        put(base, k->off, &l, sizeof l);
        return MTG_OK;
    }
    case MTG_CFG_K_BETAS: {
        double b[2];
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
            return fail_json(k, shown, v, err);
        for (int i = 0; i < 2; i++) {
            const cJSON *e = cJSON_GetArrayItem(v, i);
            if (!cJSON_IsNumber(e) || !in_range(k, e->valuedouble))
                return fail_json(k, shown, v, err);
            b[i] = e->valuedouble;
        }
        put(base, k->off, b, sizeof b);
        return MTG_OK;
    }
    case MTG_CFG_K_IDS: {
        struct mtg_cfg_ids ids = {0};
        if ((k->flags & MTG_CFG_F_ALL) && cJSON_IsString(v) && strcmp(v->valuestring, "all") == 0) {
            put(base, k->off, &ids, sizeof ids);
            return MTG_OK;
        }
        if (!json_int_list(v, ids.id, MTG_CFG_MAX_IDS, &ids.n))
            return fail_json(k, shown, v, err);
        /* n == 0 means "all" for data.tasks, so an empty list there would silently mean all. */
        if (((k->flags & MTG_CFG_F_ALL) && ids.n == 0) || !ids_ok(k, &ids))
            return fail_json(k, shown, v, err);
        put(base, k->off, &ids, sizeof ids);
        return MTG_OK;
    }
    case MTG_CFG_K_OBJ:
    case MTG_CFG_K_ARRAY:
        break;
    }
    return mtg_err_set(err, MTG_EINVAL, "%s: cannot be set directly", shown);
}

/* "0,3,8" -> ids; false on any malformed entry. */
static bool parse_id_list(const char *s, struct mtg_cfg_ids *ids)
{
    ids->n = 0;
    const char *p = s;
    for (;;) {
        if (!isdigit((unsigned char)*p) || ids->n >= MTG_CFG_MAX_IDS)
            return false;
        errno = 0;
        char *end;
        long v = strtol(p, &end, 10);
        if (errno || v > 1000000000L)
            return false;
        ids->id[ids->n++] = (int)v;
        if (*end == '\0')
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

int mtg_cfg_key_set_string(const struct mtg_cfg_key *k, void *base, const char *s,
                           const char *label, struct mtg_err *err)
{
    char *end;
    switch (k->kind) {
    case MTG_CFG_K_INT:
    case MTG_CFG_K_I64: {
        if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
            return fail_text(k, label, s, err);
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end != '\0' || !in_range(k, (double)v))
            return fail_text(k, label, s, err);
        if (k->kind == MTG_CFG_K_INT) {
            int x = (int)v;
            put(base, k->off, &x, sizeof x);
        } else {
            int64_t x = (int64_t)v;
            put(base, k->off, &x, sizeof x);
        }
        return MTG_OK;
    }
    case MTG_CFG_K_U64: {
        uint64_t x;
        if (!parse_u64(s, &x))
            return fail_text(k, label, s, err);
        put(base, k->off, &x, sizeof x);
        return MTG_OK;
    }
    case MTG_CFG_K_DBL: {
        if (s[0] == '\0' || isspace((unsigned char)s[0]))
            return fail_text(k, label, s, err);
        errno = 0;
        double v = strtod(s, &end);
        if (errno || *end != '\0' || !in_range(k, v))
            return fail_text(k, label, s, err);
        put(base, k->off, &v, sizeof v);
        return MTG_OK;
    }
    case MTG_CFG_K_BOOL: {
        static const char *const yes[] = {"true", "1", "yes", "on"};
        static const char *const no[] = {"false", "0", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
                bool b = strcmp(s, yes[i]) == 0;
                put(base, k->off, &b, sizeof b);
                return MTG_OK;
            }
        }
        return fail_text(k, label, s, err);
    }
    case MTG_CFG_K_STR: {
        size_t len = strlen(s);
        if (len >= k->size || !str_ok(k, s))
            return fail_text(k, label, s, err);
        memcpy((char *)base + k->off, s, len + 1);
        return MTG_OK;
    }
    case MTG_CFG_K_ENUM:
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(s, k->names[i]) == 0) {
                put(base, k->off, &i, sizeof i);
                return MTG_OK;
            }
        }
        return fail_text(k, label, s, err);
    case MTG_CFG_K_IDS: {
        struct mtg_cfg_ids ids = {0};
        bool all = (k->flags & MTG_CFG_F_ALL) && strcmp(s, "all") == 0;
        if (!all && (!parse_id_list(s, &ids) || !ids_ok(k, &ids)))
            return fail_text(k, label, s, err);
        put(base, k->off, &ids, sizeof ids);
        return MTG_OK;
    }
    case MTG_CFG_K_LAYERS:
    case MTG_CFG_K_BETAS:
    case MTG_CFG_K_OBJ:
    case MTG_CFG_K_ARRAY:
        break;
    }
    return mtg_err_set(err, MTG_EINVAL, "%s: cannot be set from text", label);
}

/*
 * A number as the shortest text that reads back to the same double. cJSON
 * prints 15 significant digits, which loses the last bit of values such as
 * (double)2e-4f, and to_json must round-trip exactly.
 */
static cJSON *exact_number(double v)
{
    char buf[40];
    if (!isfinite(v))
        return cJSON_CreateNull();
    /* Whole numbers as integers: %g would print 50 as "5e+01". */
    if (v == trunc(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", v);
        return cJSON_CreateRaw(buf);
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

cJSON *mtg_cfg_key_to_json(const struct mtg_cfg_key *k, const void *base)
{
    const char *p = (const char *)base + k->off;
    switch (k->kind) {
    case MTG_CFG_K_INT:
        return cJSON_CreateNumber(get_int(base, k->off));
    case MTG_CFG_K_I64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return cJSON_CreateNumber((double)v);
    }
    case MTG_CFG_K_U64: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        if (v <= 9007199254740992ull)
            return cJSON_CreateNumber((double)v);
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        return cJSON_CreateString(buf);
    }
    case MTG_CFG_K_DBL: {
        double v;
        memcpy(&v, p, sizeof v);
        return exact_number(v);
    }
    case MTG_CFG_K_BOOL: {
        bool b;
        memcpy(&b, p, sizeof b);
        return cJSON_CreateBool(b);
    }
    case MTG_CFG_K_STR: {
        /* Bounded copy: to_json also formats invalid structs for error messages. */
        char buf[MTG_CFG_PATH_MAX];
        size_t n = k->size < sizeof buf ? k->size : sizeof buf;
        memcpy(buf, p, n);
        buf[n - 1] = '\0';
        return cJSON_CreateString(buf);
    }
    case MTG_CFG_K_ENUM: {
        int v = get_int(base, k->off);
        if (v >= 0 && (size_t)v < n_names(k->names))
            return cJSON_CreateString(k->names[v]);
        return cJSON_CreateNumber(v);
    }
    case MTG_CFG_K_LAYERS: {
        struct mtg_cfg_layers l;
        memcpy(&l, p, sizeof l);
        int n = l.n < 0 ? 0 : l.n > MTG_CFG_MAX_HIDDEN ? MTG_CFG_MAX_HIDDEN : l.n;
        return cJSON_CreateIntArray(l.width, n);
    }
    case MTG_CFG_K_BETAS: {
        double b[2];
        memcpy(b, p, sizeof b);
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; arr && i < 2; i++) {
            cJSON *e = exact_number(b[i]);
            if (!e || !cJSON_AddItemToArray(arr, e)) {
                cJSON_Delete(e);
                cJSON_Delete(arr);
                arr = NULL;
            }
        }
        return arr;
    }
    case MTG_CFG_K_IDS: {
        struct mtg_cfg_ids ids;
        memcpy(&ids, p, sizeof ids);
        if (ids.n == 0 && (k->flags & MTG_CFG_F_ALL))
            return cJSON_CreateString("all");
        int n = ids.n < 0 ? 0 : ids.n > MTG_CFG_MAX_IDS ? MTG_CFG_MAX_IDS : ids.n;
        return cJSON_CreateIntArray(ids.id, n);
    }
    case MTG_CFG_K_OBJ:
    case MTG_CFG_K_ARRAY:
        break;
    }
    return NULL;
}
