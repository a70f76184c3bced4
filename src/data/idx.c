#include "data/idx.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/status.h"

/* IDX type byte of unsigned 8-bit data (the only type MNIST-like files use). */
#define IDX_TYPE_U8 0x08
/* gzread takes an unsigned count; read in slices well below UINT_MAX. */
#define IDX_READ_SLICE (1u << 30)
/* A larger zlib input buffer than the 8 KiB default: fewer read() calls on 26 MB files. */
#define IDX_GZ_BUFFER (256u << 10)

/* Last path component, so content errors stay short and keep their byte counts. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Reads up to n bytes into buf, looping over gzread's short reads; *got is
 * what arrived. Returns 0 at a clean end of data or when n bytes were read,
 * -1 when zlib recorded an error (the reason is left in gzerror). A gzip
 * stream cut short is such an error (Z_BUF_ERROR) even though gzread then
 * returns 0, not -1: zlib hands over what it could inflate first.
 */
static int read_full(gzFile f, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t want = n - *got;
        int r = gzread(f, buf + *got, want > IDX_READ_SLICE ? IDX_READ_SLICE : (unsigned)want);
        if (r <= 0)
            break;
        *got += (size_t)r;
    }
    if (*got == n)
        return 0; /* an error zlib met reading ahead belongs to a later read */
    int zerr = Z_OK;
    gzerror(f, &zerr);
    return zerr == Z_OK || zerr == Z_STREAM_END ? 0 : -1;
}

/*
 * Turns a zlib failure into a status. Z_BUF_ERROR is zlib's "unexpected end
 * of file": a truncated gzip stream, reported like any other short file.
 */
static int zlib_failure(gzFile f, const char *name, const char *what, size_t got, size_t want,
                        struct mtg_err *err)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(f, &zerr);
    if (!zmsg)
        zmsg = "unknown zlib error";
    if (zerr == Z_BUF_ERROR)
        return mtg_err_set(err, MTG_EFORMAT,
                           "%s: truncated %s: %zu of %zu bytes, then the gzip stream ends (%s)",
                           name, what, got, want, zmsg);
    if (zerr == Z_ERRNO)
        return mtg_err_set(err, MTG_EIO, "%s: read error: %s", name, strerror(errno));
    return mtg_err_set(err, MTG_EIO, "%s: corrupt gzip data: %s", name, zmsg);
}

/* Validates the magic and sizes in hdr (4 + 4 * rank bytes) and fills out's dims and len. */
static int parse_header(const unsigned char *hdr, int rank, const char *name, struct mtg_idx *out,
                        struct mtg_err *err)
{
    uint32_t magic = be32(hdr);
    uint32_t want = (uint32_t)IDX_TYPE_U8 << 8 | (uint32_t)rank;
    if (magic != want)
        return mtg_err_set(err, MTG_EFORMAT,
                           "%s: bad IDX magic 0x%08x, expected 0x%08x (unsigned bytes, rank %d)",
                           name, (unsigned)magic, (unsigned)want, rank);
    uint64_t total = 1;
    for (int d = 0; d < rank; d++) {
        uint32_t v = be32(hdr + 4 + 4 * d);
        uint32_t max = d == 0 ? MTG_DATA_IDX_MAX_ITEMS : MTG_DATA_IDX_MAX_SIDE;
        if (v < 1 || v > max)
            return mtg_err_set(err, MTG_ERANGE, "%s: dimension %d is %u, outside [1, %u]", name, d,
                               (unsigned)v, (unsigned)max);
        out->dims[d] = (int)v;
        total *= v; /* <= 1e6 * 4096 * 4096 < 2^64 */
    }
    if (total > MTG_DATA_IDX_MAX_BYTES)
        return mtg_err_set(err, MTG_ERANGE, "%s: payload of %llu bytes over the limit of %u", name,
                           (unsigned long long)total, MTG_DATA_IDX_MAX_BYTES);
    out->rank = rank;
    out->len = (size_t)total;
    return MTG_OK;
}

/*
 * After the payload the stream must end. Counts what follows (reading on
 * also makes zlib check the gzip CRC and length trailer, which it does only
 * at the end of the member).
 */
static int check_end(gzFile f, const char *name, size_t payload, struct mtg_err *err)
{
    unsigned char scratch[4096];
    size_t extra = 0;
    for (;;) {
        int r = gzread(f, scratch, sizeof scratch);
        if (r <= 0)
            break;
        extra += (size_t)r;
        if (extra > MTG_DATA_IDX_MAX_BYTES)
            break;
    }
    int zerr = Z_OK;
    gzerror(f, &zerr);
    if (zerr == Z_BUF_ERROR)
        return mtg_err_set(err, MTG_EFORMAT,
                           "%s: truncated: the gzip stream ends inside its trailer, after the "
                           "%zu-byte payload", name, payload);
    if (zerr != Z_OK && zerr != Z_STREAM_END)
        return zlib_failure(f, name, "trailer", 0, 0, err);
    if (extra > MTG_DATA_IDX_MAX_BYTES)
        return mtg_err_set(err, MTG_EFORMAT,
                           "%s: more than %u trailing bytes after the %zu-byte payload", name,
                           MTG_DATA_IDX_MAX_BYTES, payload);
    if (extra > 0)
        return mtg_err_set(err, MTG_EFORMAT, "%s: %zu trailing bytes after the %zu-byte payload",
                           name, extra, payload);
    return MTG_OK;
}

int mtg_data_idx_read(const char *path, int rank, struct mtg_idx *out, struct mtg_err *err)
{
    int rc = MTG_OK;
    gzFile f = NULL;
    if (out)
        memset(out, 0, sizeof *out);
    if (!path || !out)
        return mtg_err_set(err, MTG_EINVAL, "idx: NULL argument");
    if (rank < 1 || rank > MTG_DATA_IDX_MAX_RANK)
        return mtg_err_set(err, MTG_EINVAL, "idx: rank %d outside [1, %d]", rank,
                           MTG_DATA_IDX_MAX_RANK);
    const char *name = base_name(path);
    errno = 0;
    f = gzopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT)
            return mtg_err_set(err, MTG_ENOTFOUND, "%s: no such file", path);
        return mtg_err_set(err, e ? MTG_EIO : MTG_ENOMEM, "%s: cannot open: %s", path,
                           e ? strerror(e) : "out of memory");
    }
    gzbuffer(f, IDX_GZ_BUFFER);

    unsigned char hdr[4 + 4 * MTG_DATA_IDX_MAX_RANK];
    size_t hdr_len = 4 + 4 * (size_t)rank, got = 0;
    if (read_full(f, hdr, hdr_len, &got) != 0) {
        rc = zlib_failure(f, name, "header", got, hdr_len, err);
        goto fail;
    }
    if (got < hdr_len) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: truncated header: %zu of %zu bytes", name, got,
                         hdr_len);
        goto fail;
    }
    if ((rc = parse_header(hdr, rank, name, out, err)) != MTG_OK)
        goto fail;

    out->data = malloc(out->len);
    if (!out->data) {
        rc = mtg_err_set(err, MTG_ENOMEM, "%s: out of memory for %zu bytes", name, out->len);
        goto fail;
    }
    if (read_full(f, out->data, out->len, &got) != 0) {
        rc = zlib_failure(f, name, "payload", got, out->len, err);
        goto fail;
    }
    if (got < out->len) {
        rc = mtg_err_set(err, MTG_EFORMAT,
                         "%s: truncated: the header promises a %zu-byte payload, "
                         "only %zu bytes follow", name, out->len, got);
        goto fail;
    }
    if ((rc = check_end(f, name, out->len, err)) != MTG_OK)
        goto fail;
    if (gzclose(f) != Z_OK) {
        f = NULL;
        rc = mtg_err_set(err, MTG_EIO, "%s: error closing the file", name);
        goto fail;
    }
    return MTG_OK;
fail:
    if (f)
        gzclose(f);
    mtg_data_idx_deinit(out);
    return rc;
}

void mtg_data_idx_deinit(struct mtg_idx *idx)
{
    if (!idx)
        return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
