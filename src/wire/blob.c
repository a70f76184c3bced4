#include "wire/blob.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/status.h"
#include "wire/blob_internal.h"
#include "wire/f16.h"

struct mtg_blob_limits mtg_blob_limits_default(void)
{
    struct mtg_blob_limits l = {
        .max_bytes = (size_t)256 << 20,
        .max_tensors = 4096,
        .max_elems = (size_t)64 << 20,
    };
    return l;
}

size_t mtg_dtype_size(enum mtg_dtype dtype)
{
    switch (dtype) {
    case MTG_DTYPE_F32:
        return 4;
    case MTG_DTYPE_F16:
        return 2;
    }
    return 0;
}

const char *mtg_dtype_name(enum mtg_dtype dtype)
{
    switch (dtype) {
    case MTG_DTYPE_F32:
        return "f32";
    case MTG_DTYPE_F16:
        return "f16";
    }
    return "unknown";
}

/* zlib's crc32 takes uInt lengths: feed big buffers in 1 GiB pieces. */
uint32_t mtg_blob_crc(const uint8_t *p, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

/* ---- name index ---- */

static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Slot holding name, or the empty slot where it would go. */
size_t mtg_blob_index_probe(const struct mtg_blob *b, const char *name, size_t len)
{
    size_t mask = b->n_slots - 1;
    size_t i = (size_t)name_hash(name, len) & mask;
    while (b->slots[i] != 0) {
        const char *other = b->e[b->slots[i] - 1].name;
        if (strncmp(other, name, len) == 0 && other[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

int mtg_blob_index_rebuild(struct mtg_blob *b, size_t want, struct mtg_err *err)
{
    size_t n_slots = 16;
    while (n_slots < 2 * want)
        n_slots *= 2;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for a %zu-slot name index",
                           n_slots);
    free(b->slots);
    b->slots = slots;
    b->n_slots = n_slots;
    for (size_t k = 0; k < b->n; k++) {
        const char *nm = b->e[k].name;
        b->slots[mtg_blob_index_probe(b, nm, strlen(nm))] = (uint32_t)(k + 1);
    }
    return MTG_OK;
}

/* ---- construction ---- */

struct mtg_blob *mtg_blob_new(struct mtg_err *err)
{
    struct mtg_blob *b = calloc(1, sizeof *b);
    if (!b) {
        mtg_err_set(err, MTG_ENOMEM, "blob: out of memory");
        return NULL;
    }
    if (mtg_blob_index_rebuild(b, 0, err) != MTG_OK) {
        free(b);
        return NULL;
    }
    return b;
}

static void entry_release(struct mtg_blob_entry *e)
{
    free(e->name);
    free(e->owned);
}

void mtg_blob_free(struct mtg_blob *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        entry_release(&b->e[i]);
    free(b->e);
    free(b->slots);
    free(b);
}

void mtg_blob_shape_str(char *buf, size_t cap, const struct mtg_blob_tensor *t)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->rank && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%u", i ? "," : "[", t->dims[i]);
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
}

void mtg_blob_truncate(struct mtg_blob *b, size_t count)
{
    if (!b || count >= b->n)
        return;
    for (size_t i = count; i < b->n; i++)
        entry_release(&b->e[i]);
    b->n = count;
    /* Shrinking never needs memory: clear and reinsert into the same table. */
    memset(b->slots, 0, b->n_slots * sizeof *b->slots);
    for (size_t k = 0; k < b->n; k++) {
        const char *nm = b->e[k].name;
        b->slots[mtg_blob_index_probe(b, nm, strlen(nm))] = (uint32_t)(k + 1);
    }
}

/*
 * Appends an entry; data is copied (copy), borrowed (!copy) or, when copy
 * and data is NULL, zero-filled. On success *out is the new entry.
 */
static int blob_append(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                       const float *data, bool copy, enum mtg_dtype dtype, struct mtg_blob_entry **out,
                       struct mtg_err *err)
{
    char *nm = NULL;
    float *owned = NULL;
    uint64_t n = 0;
    int rc;

    if (!b || !name || !dims || (!copy && !data))
        return mtg_err_set(err, MTG_EINVAL, "blob: add needs a blob, a name, dims and data");
    size_t len = strlen(name);
    if (mtg_blob_check_name(name, len, err) != MTG_OK)
        return mtg_err_set(err, MTG_EINVAL, "blob: bad tensor name \"%.*s\" (1..%d printable bytes)",
                           len > 64 ? 64 : (int)len, name, MTG_BLOB_MAX_NAME);
    if (rank < 1 || rank > MTG_BLOB_MAX_RANK)
        return mtg_err_set(err, MTG_EINVAL, "blob: tensor \"%s\" has rank %d, want 1..%d", name,
                           rank, MTG_BLOB_MAX_RANK);
    if (mtg_dtype_size(dtype) == 0)
        return mtg_err_set(err, MTG_EINVAL, "blob: tensor \"%s\" has unknown dtype %d", name,
                           (int)dtype);
    rc = mtg_blob_dims_product(name, rank, dims, SIZE_MAX / sizeof(float), &n, err);
    if (rc != MTG_OK) {
        if (err)
            err->code = rc == MTG_EFORMAT ? MTG_EINVAL : MTG_ERANGE;
        return rc == MTG_EFORMAT ? MTG_EINVAL : MTG_ERANGE;
    }
    if (b->slots[mtg_blob_index_probe(b, name, len)] != 0)
        return mtg_err_set(err, MTG_EINVAL, "blob: duplicate tensor name \"%s\"", name);
    if (b->n >= UINT32_MAX - 1)
        return mtg_err_set(err, MTG_ERANGE, "blob: too many tensors");
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        struct mtg_blob_entry *e = realloc(b->e, cap * sizeof *e);
        if (!e)
            goto oom;
        b->e = e;
        b->cap = cap;
    }
    if (2 * (b->n + 1) > b->n_slots && (rc = mtg_blob_index_rebuild(b, b->n + 1, err)) != MTG_OK)
        return rc;
    nm = malloc(len + 1);
    if (!nm)
        goto oom;
    memcpy(nm, name, len + 1);
    if (copy) {
        owned = data ? malloc((size_t)n * sizeof(float)) : calloc((size_t)n, sizeof(float));
        if (!owned)
            goto oom;
        if (data)
            memcpy(owned, data, (size_t)n * sizeof(float));
    }

    struct mtg_blob_entry *e = &b->e[b->n];
    memset(e, 0, sizeof *e);
    e->name = nm;
    e->owned = owned;
    e->pub.name = nm;
    e->pub.dtype = dtype;
    e->pub.rank = rank;
    memcpy(e->pub.dims, dims, (size_t)rank * sizeof dims[0]);
    e->pub.n = (size_t)n;
    e->pub.data = copy ? owned : data;
    b->slots[mtg_blob_index_probe(b, nm, len)] = (uint32_t)(b->n + 1);
    b->n++;
    if (out)
        *out = e;
    return MTG_OK;

oom:
    free(nm);
    free(owned);
    return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory adding tensor \"%s\"", name);
}

int mtg_blob_add(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                 const float *data, enum mtg_dtype wire_dtype, struct mtg_err *err)
{
    if (!data)
        return mtg_err_set(err, MTG_EINVAL, "blob: add of \"%s\" without data",
                           name ? name : "(null)");
    return blob_append(b, name, rank, dims, data, true, wire_dtype, NULL, err);
}

int mtg_blob_add_ref(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                     const float *data, enum mtg_dtype wire_dtype, struct mtg_err *err)
{
    return blob_append(b, name, rank, dims, data, false, wire_dtype, NULL, err);
}

float *mtg_blob_add_alloc(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                          enum mtg_dtype wire_dtype, struct mtg_err *err)
{
    struct mtg_blob_entry *e = NULL;
    if (blob_append(b, name, rank, dims, NULL, true, wire_dtype, &e, err) != MTG_OK)
        return NULL;
    return e->owned;
}

size_t mtg_blob_count(const struct mtg_blob *b)
{
    return b ? b->n : 0;
}

const struct mtg_blob_tensor *mtg_blob_at(const struct mtg_blob *b, size_t i)
{
    return b && i < b->n ? &b->e[i].pub : NULL;
}

const struct mtg_blob_tensor *mtg_blob_find(const struct mtg_blob *b, const char *name)
{
    if (!b || !name)
        return NULL;
    uint32_t s = b->slots[mtg_blob_index_probe(b, name, strlen(name))];
    return s ? &b->e[s - 1].pub : NULL;
}

/* Names are printable ASCII/UTF-8 bytes so that they are safe in logs and JSON. */
int mtg_blob_check_name(const char *name, size_t len, struct mtg_err *err)
{
    if (len == 0 || len > MTG_BLOB_MAX_NAME)
        return mtg_err_set(err, MTG_EFORMAT, "blob: tensor name length %zu outside 1..%d", len,
                           MTG_BLOB_MAX_NAME);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            return mtg_err_set(err, MTG_EFORMAT,
                               "blob: tensor name \"%.*s\" has control byte 0x%02x at %zu",
                               (int)i, name, c, i);
    }
    return MTG_OK;
}

/*
 * Element count of dims, failing if it exceeds max. Each partial product is
 * checked before multiplying, so the u64 arithmetic cannot wrap.
 */
int mtg_blob_dims_product(const char *name, int rank, const uint32_t *dims, uint64_t max,
                        uint64_t *out, struct mtg_err *err)
{
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0)
            return mtg_err_set(err, MTG_EFORMAT, "blob: tensor \"%s\" has dim %d = 0", name, i);
        if (n > max / dims[i])
            return mtg_err_set(err, MTG_ETOOBIG,
                               "blob: tensor \"%s\" has more than %llu elements", name,
                               (unsigned long long)max);
        n *= dims[i];
    }
    *out = n;
    return MTG_OK;
}

/* ---- encode ---- */

/* Bytes of TABLE + PAYLOADS. Sizes were bounded when tensors were added. */
static int body_size(const struct mtg_blob *b, size_t *out, struct mtg_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct mtg_blob_tensor *t = &b->e[i].pub;
        size_t ds = mtg_dtype_size(t->dtype);
        size_t entry = 2 + strlen(t->name) + 2 + 4 * (size_t)t->rank + 8;
        if (t->n > (SIZE_MAX - total - entry) / ds)
            return mtg_err_set(err, MTG_ETOOBIG, "blob: encoding overflows size_t at \"%s\"",
                               t->name);
        total += entry + t->n * ds;
    }
    *out = total;
    return MTG_OK;
}

static uint8_t *write_payload(uint8_t *p, const struct mtg_blob_tensor *t)
{
    if (t->dtype == MTG_DTYPE_F32) {
        if (MTG_BLOB_HOST_LE) {
            memcpy(p, t->data, t->n * 4);
        } else {
            for (size_t i = 0; i < t->n; i++) {
                uint32_t x;
                memcpy(&x, &t->data[i], 4);
                put_u32(p + 4 * i, x);
            }
        }
        return p + t->n * 4;
    }
    /* f16: convert through a small stack buffer so the loop stays simple and
     * the output pointer needs no alignment. */
    uint16_t tmp[1024];
    for (size_t i = 0; i < t->n; i += 1024) {
        size_t k = t->n - i < 1024 ? t->n - i : 1024;
        mtg_f16_from_f32_n(t->data + i, tmp, k);
        if (MTG_BLOB_HOST_LE) {
            memcpy(p + 2 * i, tmp, 2 * k);
        } else {
            for (size_t j = 0; j < k; j++)
                put_u16(p + 2 * (i + j), tmp[j]);
        }
    }
    return p + t->n * 2;
}

static void write_body(const struct mtg_blob *b, uint8_t *p)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct mtg_blob_tensor *t = &b->e[i].pub;
        size_t len = strlen(t->name);
        put_u16(p, (uint16_t)len);
        memcpy(p + 2, t->name, len);
        p += 2 + len;
        p[0] = (uint8_t)t->dtype;
        p[1] = (uint8_t)t->rank;
        p += 2;
        for (int d = 0; d < t->rank; d++, p += 4)
            put_u32(p, t->dims[d]);
        put_u64(p, (uint64_t)t->n * mtg_dtype_size(t->dtype));
        p += 8;
    }
    for (size_t i = 0; i < b->n; i++)
        p = write_payload(p, &b->e[i].pub);
}

static void write_header(uint8_t *p, unsigned flags, uint32_t count)
{
    memcpy(p, "MTGB", 4);
    put_u16(p + 4, MTG_BLOB_VERSION);
    put_u16(p + 6, (uint16_t)flags);
    put_u32(p + 8, count);
}

int mtg_blob_encode(const struct mtg_blob *b, unsigned flags, uint8_t **out, size_t *out_len,
                    struct mtg_err *err)
{
    uint8_t *buf = NULL;
    uint8_t *raw = NULL;
    size_t body = 0;
    int rc;

    if (!b || !out || !out_len)
        return mtg_err_set(err, MTG_EINVAL, "blob: encode needs a blob and outputs");
    *out = NULL;
    *out_len = 0;
    if (flags & ~(unsigned)MTG_BLOB_ZLIB)
        return mtg_err_set(err, MTG_EINVAL, "blob: unknown encode flags 0x%x", flags);
    if ((rc = body_size(b, &body, err)) != MTG_OK)
        return rc;

    if (!(flags & MTG_BLOB_ZLIB)) {
        if (body > SIZE_MAX - MTG_BLOB_HDR_LEN - MTG_BLOB_CRC_LEN)
            return mtg_err_set(err, MTG_ETOOBIG, "blob: %zu body bytes overflow size_t", body);
        size_t total = MTG_BLOB_HDR_LEN + body + MTG_BLOB_CRC_LEN;
        buf = malloc(total);
        if (!buf)
            return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for %zu bytes", total);
        write_header(buf, flags, (uint32_t)b->n);
        write_body(b, buf + MTG_BLOB_HDR_LEN);
        put_u32(buf + total - MTG_BLOB_CRC_LEN, mtg_blob_crc(buf, total - MTG_BLOB_CRC_LEN));
        *out = buf;
        *out_len = total;
        return MTG_OK;
    }

    /* zlib: build the raw body, then deflate it straight into the output. */
    if ((uint64_t)body > (uint64_t)ULONG_MAX)
        return mtg_err_set(err, MTG_ETOOBIG, "blob: %zu body bytes too big for zlib", body);
    raw = malloc(body ? body : 1);
    if (!raw)
        return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for %zu bytes", body);
    write_body(b, raw);
    uLong bound = compressBound((uLong)body);
    if ((uint64_t)bound > SIZE_MAX - MTG_BLOB_HDR_LEN - MTG_BLOB_ZHDR_LEN - MTG_BLOB_CRC_LEN) {
        rc = mtg_err_set(err, MTG_ETOOBIG, "blob: compressed bound overflows size_t");
        goto fail;
    }
    buf = malloc(MTG_BLOB_HDR_LEN + MTG_BLOB_ZHDR_LEN + (size_t)bound + MTG_BLOB_CRC_LEN);
    if (!buf) {
        rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for the zlib buffer");
        goto fail;
    }
    uLongf comp = bound;
    /* Level 1: float mantissas are close to random, so higher levels cost
     * several times the CPU for a few percent; the win is zeros and f16. */
    int zrc = compress2(buf + MTG_BLOB_HDR_LEN + MTG_BLOB_ZHDR_LEN, &comp, raw, (uLong)body, 1);
    if (zrc != Z_OK) {
        rc = mtg_err_set(err, zrc == Z_MEM_ERROR ? MTG_ENOMEM : MTG_EIO,
                         "blob: zlib compress failed (%d)", zrc);
        goto fail;
    }
    free(raw);
    raw = NULL;
    write_header(buf, flags, (uint32_t)b->n);
    put_u64(buf + MTG_BLOB_HDR_LEN, (uint64_t)body);
    put_u64(buf + MTG_BLOB_HDR_LEN + 8, (uint64_t)comp);
    size_t total = MTG_BLOB_HDR_LEN + MTG_BLOB_ZHDR_LEN + (size_t)comp + MTG_BLOB_CRC_LEN;
    put_u32(buf + total - MTG_BLOB_CRC_LEN, mtg_blob_crc(buf, total - MTG_BLOB_CRC_LEN));
    uint8_t *shrunk = realloc(buf, total);
    *out = shrunk ? shrunk : buf;
    *out_len = total;
    return MTG_OK;

fail:
    free(raw);
    free(buf);
    return rc;
}

