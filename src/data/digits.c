#include "data/digits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/status.h"
#include "data/dataset.h"

#define DIGITS_COLS (MTG_DATA_DIGITS_DIM + 1)

/* Last path component, so messages stay short: "digits.csv.gz:17: ...". */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Counts data lines: every '\n'-terminated line plus a final unterminated one. */
static long count_lines(const char *s, size_t len)
{
    long lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += s[i] == '\n';
    if (len > 0 && s[len - 1] != '\n')
        lines++;
    return lines;
}

/*
 * Parses NUL-terminated text s of length len. The terminator matters: strtol
 * stops at it, so a field at the very end cannot read past the buffer.
 */
static int parse_text(const char *s, size_t len, const char *name, struct mtg_dataset **out,
                      struct mtg_err *err)
{
    int rc = MTG_OK;
    float *x = NULL;
    int *labels = NULL;
    long n_lines = count_lines(s, len);
    if (n_lines < 1)
        return mtg_err_set(err, MTG_EFORMAT, "%s: no rows", name);
    if (n_lines > MTG_DATA_MAX_ROWS)
        return mtg_err_set(err, MTG_ETOOBIG, "%s: %ld lines, limit %d", name, n_lines,
                           MTG_DATA_MAX_ROWS);
    x = malloc((size_t)n_lines * MTG_DATA_DIGITS_DIM * sizeof *x);
    labels = malloc((size_t)n_lines * sizeof *labels);
    if (!x || !labels) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory for %ld rows", name, n_lines);
        goto fail;
    }
    const char *p = s;
    const char *end_of_text = s + len;
    int n = 0;
    for (long line = 1; p < end_of_text; line++) {
        for (int col = 1; col <= DIGITS_COLS; col++) {
            /* strtol alone would accept " 5", "+5" and "0x5": require a plain digit. */
            if (*p < '0' || *p > '9') {
                rc = mtg_err_set(err, MTG_EFORMAT,
                                 "%s:%ld: column %d: expected an integer, found %s", name, line,
                                 col,
                                 *p == '\n' || *p == '\r' || *p == '\0' ? "end of line"
                                                                        : "a non-digit");
                goto fail;
            }
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            long max = col <= MTG_DATA_DIGITS_DIM ? MTG_DATA_DIGITS_MAX_PIXEL
                                                  : MTG_DATA_DIGITS_CLASSES - 1;
            if (errno == ERANGE || v > max) {
                rc = mtg_err_set(err, MTG_EFORMAT, "%s:%ld: column %d: value %ld outside [0, %ld]",
                                 name, line, col, v, max);
                goto fail;
            }
            p = end;
            if (col < DIGITS_COLS) {
                if (*p != ',') {
                    rc = mtg_err_set(err, MTG_EFORMAT,
                                     "%s:%ld: %d columns, expected %d (or junk after column %d)",
                                     name, line, col, DIGITS_COLS, col);
                    goto fail;
                }
                p++;
                x[(size_t)n * MTG_DATA_DIGITS_DIM + (size_t)(col - 1)] =
                    (float)v / (float)MTG_DATA_DIGITS_MAX_PIXEL;
            } else {
                labels[n] = (int)v;
            }
        }
        if (*p == '\r')
            p++;
        if (*p == '\n') {
            p++;
        } else if (p != end_of_text) {
            rc = mtg_err_set(err, MTG_EFORMAT, "%s:%ld: more than %d columns", name, line,
                             DIGITS_COLS);
            goto fail;
        }
        n++;
    }
    rc = mtg_data_from_array(x, labels, n, MTG_DATA_DIGITS_DIM, MTG_DATA_DIGITS_CLASSES, out, err);
fail:
    free(x);
    free(labels);
    return rc;
}

int mtg_data_digits_parse(const char *buf, size_t len, const char *name,
                          struct mtg_dataset **out, struct mtg_err *err)
{
    if (!buf || !out)
        return mtg_err_set(err, MTG_EINVAL, "digits: NULL argument");
    *out = NULL;
    if (!name)
        name = "digits";
    if (len > MTG_DATA_DIGITS_MAX_BYTES)
        return mtg_err_set(err, MTG_ETOOBIG, "%s: %zu bytes, limit %u", name, len,
                           MTG_DATA_DIGITS_MAX_BYTES);
    /* An embedded NUL would end strtol early and hide the rest: reject it. */
    if (memchr(buf, '\0', len))
        return mtg_err_set(err, MTG_EFORMAT, "%s: contains a NUL byte", name);
    char *s = malloc(len + 1);
    if (!s)
        return mtg_err_set(err, MTG_ENOMEM, "%s: out of memory for %zu bytes", name, len);
    memcpy(s, buf, len);
    s[len] = '\0';
    int rc = parse_text(s, len, name, out, err);
    free(s);
    return rc;
}

int mtg_data_digits_load(const char *path, struct mtg_dataset **out, struct mtg_err *err)
{
    int rc = MTG_OK;
    char *buf = NULL;
    gzFile f = NULL;
    if (!path || !out)
        return mtg_err_set(err, MTG_EINVAL, "digits: NULL argument");
    *out = NULL;
    const char *name = base_name(path);
    f = gzopen(path, "rb");
    if (!f) {
        rc = mtg_err_set(err, errno == ENOENT ? MTG_ENOTFOUND : MTG_EIO, "%s: cannot open: %s",
                         path, strerror(errno));
        goto fail;
    }
    size_t cap = 1u << 20, len = 0;
    buf = malloc(cap + 1);
    if (!buf) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", name);
        goto fail;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= MTG_DATA_DIGITS_MAX_BYTES) {
                rc = mtg_err_set(err, MTG_ETOOBIG, "%s: more than %u bytes uncompressed", name,
                                 MTG_DATA_DIGITS_MAX_BYTES);
                goto fail;
            }
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory", name);
                goto fail;
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len;
        int got = gzread(f, buf + len, want > (1u << 30) ? (1u << 30) : (unsigned)want);
        if (got < 0)
            break; /* reported below through gzerror */
        if (got == 0)
            break;
        len += (size_t)got;
    }
    /*
     * gzread returns the data it could inflate and leaves the reason it
     * stopped in gzerror: Z_DATA_ERROR for a corrupt stream or bad CRC,
     * Z_BUF_ERROR for a truncated file. Either way the rows are not trusted.
     */
    int zerr = Z_OK;
    const char *zmsg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        rc = mtg_err_set(err, MTG_EIO, "%s: corrupt or truncated gzip data: %s", name,
                         zmsg ? zmsg : "unknown zlib error");
        goto fail;
    }
    if (memchr(buf, '\0', len)) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: contains a NUL byte (not a CSV file?)", name);
        goto fail;
    }
    buf[len] = '\0';
    rc = parse_text(buf, len, name, out, err);
fail:
    if (f)
        gzclose(f);
    free(buf);
    return rc;
}
