/* mtgan inspect FILE [--values N] [--json]: describe the tensors of a blob file. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cmd/cmds.h"
#include "core/status.h"
#include "wire/blob.h"
#include "wire/json.h"

struct stats {
    double min, max, mean, std;
    size_t finite, nonfinite;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mtgan inspect FILE [--values N] [--json]\n\n"
               "Prints a blob's header (version, flags, tensor count, bytes) and, per tensor,\n"
               "name, wire dtype, shape, min/max/mean/std of the finite values and the number\n"
               "of NaN/Inf values.\n\n"
               "  --values N   also print the first N values of each tensor\n"
               "  --json       print one JSON document instead of a table\n"
               "  --help       this text\n");
}

/* Mean and population std in double, over finite values only, so one NaN
 * does not hide the scale of the rest. */
static void tensor_stats(const struct mtg_blob_tensor *t, struct stats *s)
{
    double sum = 0, sq = 0;
    memset(s, 0, sizeof *s);
    s->min = INFINITY;
    s->max = -INFINITY;
    for (size_t i = 0; i < t->n; i++) {
        double v = t->data[i];
        if (!isfinite(v)) {
            s->nonfinite++;
            continue;
        }
        s->finite++;
        sum += v;
        if (v < s->min)
            s->min = v;
        if (v > s->max)
            s->max = v;
    }
    if (s->finite == 0)
        return;
    s->mean = sum / (double)s->finite;
    for (size_t i = 0; i < t->n; i++) {
        double v = t->data[i];
        if (isfinite(v))
            sq += (v - s->mean) * (v - s->mean);
    }
    s->std = sqrt(sq / (double)s->finite);
}

/* Reads the whole file, refusing anything over the decode limit up front. */
static int read_all(const char *path, size_t max, uint8_t **out, size_t *len, struct mtg_err *err)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return mtg_err_set(err, errno == ENOENT ? MTG_ENOTFOUND : MTG_EIO, "%s: %s", path,
                           strerror(errno));
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                fclose(f);
                free(buf);
                return mtg_err_set(err, MTG_ETOOBIG, "%s: over the limit of %zu bytes", path, max);
            }
            size_t ncap = cap ? 2 * cap : 65536;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                fclose(f);
                free(buf);
                return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mtg_err_set(err, MTG_EIO, "%s: read error", path);
    }
    *out = buf;
    *len = n;
    return MTG_OK;
}

static void print_table(const char *path, const struct mtg_blob_info *info,
                        const struct mtg_blob *b, long nvalues)
{
    printf("file     %s\nversion  %u\nflags    0x%04x%s\ntensors  %u\nbytes    %zu (body %zu%s)\n\n",
           path, info->version, info->flags, (info->flags & MTG_BLOB_ZLIB) ? " (zlib)" : "",
           info->count, info->bytes, info->raw_bytes,
           (info->flags & MTG_BLOB_ZLIB) ? " inflated" : "");
    printf("%-24s %-5s %-20s %12s %12s %12s %12s %9s\n", "name", "dtype", "shape", "min", "max",
           "mean", "std", "nonfinite");
    for (size_t i = 0; i < mtg_blob_count(b); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
        struct stats s;
        char shape[64];
        tensor_stats(t, &s);
        mtg_blob_shape_str(shape, sizeof shape, t);
        printf("%-24s %-5s %-20s %12.5g %12.5g %12.5g %12.5g %9zu\n", t->name,
               mtg_dtype_name(t->dtype), shape, s.finite ? s.min : NAN, s.finite ? s.max : NAN,
               s.finite ? s.mean : NAN, s.finite ? s.std : NAN, s.nonfinite);
        if (nvalues > 0) {
            size_t k = t->n < (size_t)nvalues ? t->n : (size_t)nvalues;
            printf("    values:");
            for (size_t j = 0; j < k; j++)
                printf(" %.6g", (double)t->data[j]);
            printf("%s\n", k < t->n ? " ..." : "");
        }
    }
}

/* Non-finite numbers are not JSON: they become null. */
static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int print_json(const char *path, const struct mtg_blob_info *info,
                      const struct mtg_blob *b, long nvalues)
{
    struct mtg_err err = {0};
    cJSON *root = cJSON_CreateObject();
    cJSON *tensors = NULL;
    bool ok = root && cJSON_AddStringToObject(root, "file", path) &&
              cJSON_AddNumberToObject(root, "version", info->version) &&
              cJSON_AddNumberToObject(root, "flags", info->flags) &&
              cJSON_AddBoolToObject(root, "zlib", (info->flags & MTG_BLOB_ZLIB) != 0) &&
              cJSON_AddNumberToObject(root, "count", info->count) &&
              cJSON_AddNumberToObject(root, "bytes", (double)info->bytes) &&
              cJSON_AddNumberToObject(root, "raw_bytes", (double)info->raw_bytes) &&
              (tensors = cJSON_AddArrayToObject(root, "tensors"));
    for (size_t i = 0; ok && i < mtg_blob_count(b); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
        struct stats s;
        tensor_stats(t, &s);
        cJSON *o = cJSON_CreateObject();
        cJSON *shape = cJSON_CreateArray();
        ok = o && shape && cJSON_AddItemToArray(tensors, o) &&
             cJSON_AddStringToObject(o, "name", t->name) &&
             cJSON_AddStringToObject(o, "dtype", mtg_dtype_name(t->dtype)) &&
             cJSON_AddItemToObject(o, "shape", shape);
        if (!ok) {
            cJSON_Delete(shape);
            break;
        }
        for (int d = 0; ok && d < t->rank; d++)
            ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber(t->dims[d]));
        ok = ok && cJSON_AddNumberToObject(o, "elems", (double)t->n) &&
             cJSON_AddItemToObject(o, "min", num_or_null(s.finite ? s.min : NAN)) &&
             cJSON_AddItemToObject(o, "max", num_or_null(s.finite ? s.max : NAN)) &&
             cJSON_AddItemToObject(o, "mean", num_or_null(s.finite ? s.mean : NAN)) &&
             cJSON_AddItemToObject(o, "std", num_or_null(s.finite ? s.std : NAN)) &&
             cJSON_AddNumberToObject(o, "nonfinite", (double)s.nonfinite);
        if (ok && nvalues > 0) {
            cJSON *vals = cJSON_AddArrayToObject(o, "values");
            size_t k = t->n < (size_t)nvalues ? t->n : (size_t)nvalues;
            ok = vals != NULL;
            for (size_t j = 0; ok && j < k; j++)
                ok = cJSON_AddItemToArray(vals, num_or_null(t->data[j]));
        }
    }
    char *s = NULL;
    if (ok && mtg_json_print(root, true, &s, NULL, &err) == MTG_OK)
        printf("%s\n", s);
    else
        ok = false;
    free(s);
    cJSON_Delete(root);
    if (!ok)
        fprintf(stderr, "mtgan inspect: out of memory building JSON\n");
    return ok ? 0 : 1;
}

int mtg_cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    long nvalues = 0;
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--values") == 0) {
            char *end;
            if (i + 1 >= argc) {
                fprintf(stderr, "mtgan inspect: --values needs a number\n");
                return 2;
            }
            errno = 0;
            nvalues = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || nvalues < 0 || nvalues > 1000000) {
                fprintf(stderr, "mtgan inspect: --values wants 0..1000000, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mtgan inspect: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (path) {
            fprintf(stderr, "mtgan inspect: one FILE only ('%s' and '%s')\n", path, argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }

    struct mtg_err err = {0};
    struct mtg_blob_limits lim = mtg_blob_limits_default();
    struct mtg_blob_info info;
    struct mtg_blob *b = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = 1;

    if (read_all(path, lim.max_bytes, &buf, &len, &err) != MTG_OK)
        goto fail;
    if (mtg_blob_peek(buf, len, &info, &err) != MTG_OK ||
        mtg_blob_decode(buf, len, &lim, &b, &err) != MTG_OK) {
        mtg_err_wrap(&err, "%s", path);
        goto fail;
    }
    rc = json ? print_json(path, &info, b, nvalues) : (print_table(path, &info, b, nvalues), 0);
    free(buf);
    mtg_blob_free(b);
    return rc;

fail:
    fprintf(stderr, "mtgan inspect: %s (%s)\n", err.msg, mtg_status_str(err.code));
    free(buf);
    mtg_blob_free(b);
    return 1;
}
