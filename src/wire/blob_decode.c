/* Blob decoding: every length is validated against the buffer before use. */
#include "wire/blob.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/status.h"
#include "wire/blob_internal.h"
#include "wire/f16.h"

int mtg_blob_peek(const uint8_t *buf, size_t len, struct mtg_blob_info *out, struct mtg_err *err)
{
    if (!buf || !out)
        return mtg_err_set(err, MTG_EINVAL, "blob: peek needs a buffer and an output");
    if (len < MTG_BLOB_HDR_LEN + MTG_BLOB_CRC_LEN)
        return mtg_err_set(err, MTG_EFORMAT, "blob: truncated: %zu bytes, a blob has at least %u",
                           len, MTG_BLOB_HDR_LEN + MTG_BLOB_CRC_LEN);
    if (memcmp(buf, "MTGB", 4) != 0)
        return mtg_err_set(err, MTG_EFORMAT,
                           "blob: bad magic %02x %02x %02x %02x (want \"MTGB\")", buf[0], buf[1],
                           buf[2], buf[3]);
    memset(out, 0, sizeof *out);
    out->version = get_u16(buf + 4);
    out->flags = get_u16(buf + 6);
    out->count = get_u32(buf + 8);
    out->bytes = len;
    out->raw_bytes = len - MTG_BLOB_HDR_LEN - MTG_BLOB_CRC_LEN;
    if ((out->flags & MTG_BLOB_ZLIB) && len >= MTG_BLOB_HDR_LEN + MTG_BLOB_ZHDR_LEN + MTG_BLOB_CRC_LEN) {
        uint64_t raw = get_u64(buf + MTG_BLOB_HDR_LEN);
        out->raw_bytes = raw > SIZE_MAX ? SIZE_MAX : (size_t)raw;
    }
    return MTG_OK;
}

/* Payload length of each table entry, kept until the payloads are read. */
struct pending {
    uint64_t payload_len;
};

static void decode_payload(struct mtg_blob_entry *e, const uint8_t *p)
{
    struct mtg_blob_tensor *t = &e->pub;
    float *d = e->owned;
    if (t->dtype == MTG_DTYPE_F32) {
        if (MTG_BLOB_HOST_LE) {
            memcpy(d, p, t->n * 4);
        } else {
            for (size_t i = 0; i < t->n; i++) {
                uint32_t x = get_u32(p + 4 * i);
                memcpy(&d[i], &x, 4);
            }
        }
        return;
    }
    uint16_t tmp[1024];
    for (size_t i = 0; i < t->n; i += 1024) {
        size_t k = t->n - i < 1024 ? t->n - i : 1024;
        if (MTG_BLOB_HOST_LE) {
            memcpy(tmp, p + 2 * i, 2 * k);
        } else {
            for (size_t j = 0; j < k; j++)
                tmp[j] = get_u16(p + 2 * (i + j));
        }
        mtg_f16_to_f32_n(tmp, d + i, k);
    }
}

/*
 * Parses TABLE + PAYLOADS in body[0..len) into b. Every read is preceded
 * by a check against the bytes that remain.
 */
static int decode_body(struct mtg_blob *b, uint32_t count, const uint8_t *body, size_t len,
                       const struct mtg_blob_limits *lim, struct mtg_err *err)
{
    size_t off = 0;
    uint64_t total_elems = 0;
    uint64_t payload_total = 0;
    struct pending *pend = NULL;
    int rc;

    if (count > 0) {
        pend = calloc(count, sizeof *pend);
        if (!pend)
            return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for %u tensors", count);
    }
    if ((rc = mtg_blob_index_rebuild(b, count, err)) != MTG_OK)
        goto fail;
    b->e = calloc(count ? count : 1, sizeof *b->e);
    if (!b->e) {
        rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for %u tensors", count);
        goto fail;
    }
    b->cap = count ? count : 1;

    for (uint32_t i = 0; i < count; i++) {
        if (len - off < 2) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: truncated table: tensor %u of %u needs a name length but %zu "
                             "bytes remain", i, count, len - off);
            goto fail;
        }
        size_t nlen = get_u16(body + off);
        off += 2;
        if (nlen == 0 || nlen > MTG_BLOB_MAX_NAME) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: tensor %u has name length %zu, want 1..%d",
                             i, nlen, MTG_BLOB_MAX_NAME);
            goto fail;
        }
        if (len - off < nlen) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: truncated table: tensor %u claims a %zu-byte name but %zu "
                             "bytes remain", i, nlen, len - off);
            goto fail;
        }
        const char *nm = (const char *)body + off;
        if ((rc = mtg_blob_check_name(nm, nlen, err)) != MTG_OK)
            goto fail;
        off += nlen;

        char *name = malloc(nlen + 1);
        if (!name) {
            rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory");
            goto fail;
        }
        memcpy(name, nm, nlen);
        name[nlen] = '\0';
        size_t slot = mtg_blob_index_probe(b, name, nlen);
        if (b->slots[slot] != 0) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: duplicate tensor name \"%s\"", name);
            free(name);
            goto fail;
        }
        /* Own the name right away so the fail path frees it. */
        struct mtg_blob_entry *e = &b->e[b->n];
        e->name = name;
        e->pub.name = name;
        b->slots[slot] = (uint32_t)(b->n + 1);
        b->n++;

        if (len - off < 2) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: truncated table: tensor \"%s\" needs dtype and rank but %zu "
                             "bytes remain", name, len - off);
            goto fail;
        }
        unsigned dtype = body[off];
        unsigned rank = body[off + 1];
        off += 2;
        if (mtg_dtype_size((enum mtg_dtype)dtype) == 0) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: tensor \"%s\" has unknown dtype %u", name,
                             dtype);
            goto fail;
        }
        if (rank < 1 || rank > MTG_BLOB_MAX_RANK) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: tensor \"%s\" has rank %u, want 1..%d",
                             name, rank, MTG_BLOB_MAX_RANK);
            goto fail;
        }
        if (len - off < 4 * (size_t)rank + 8) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: truncated table: tensor \"%s\" needs %u dims and a payload "
                             "length but %zu bytes remain", name, rank, len - off);
            goto fail;
        }
        e->pub.dtype = (enum mtg_dtype)dtype;
        e->pub.rank = (int)rank;
        for (unsigned d = 0; d < rank; d++, off += 4)
            e->pub.dims[d] = get_u32(body + off);
        uint64_t n = 0;
        uint64_t elems_left = lim->max_elems - total_elems;
        if ((rc = mtg_blob_dims_product(name, (int)rank, e->pub.dims, elems_left, &n, err)) != MTG_OK) {
            if (rc == MTG_ETOOBIG)
                mtg_err_set(err, MTG_ETOOBIG,
                            "blob: tensor \"%s\" takes the blob over the limit of %zu elements",
                            name, lim->max_elems);
            goto fail;
        }
        total_elems += n;
        e->pub.n = (size_t)n; /* n <= max_elems, a size_t */
        uint64_t plen = get_u64(body + off);
        off += 8;
        /* n <= SIZE_MAX, so n * 2 or n * 4 cannot wrap a u64 on 64-bit hosts;
         * compare by division to stay exact everywhere. */
        size_t ds = mtg_dtype_size(e->pub.dtype);
        if (plen % ds != 0 || plen / ds != n) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: tensor \"%s\" payload length %llu != %llu %s elements * %zu",
                             name, (unsigned long long)plen, (unsigned long long)n,
                             mtg_dtype_name(e->pub.dtype), ds);
            goto fail;
        }
        pend[i].payload_len = plen;
    }

    /* Check that every payload fits before allocating any of them. */
    size_t remain = len - off;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t plen = pend[i].payload_len;
        if (plen > (uint64_t)remain - payload_total) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: tensor \"%s\" claims %llu bytes but %llu remain",
                             b->e[i].name, (unsigned long long)plen,
                             (unsigned long long)((uint64_t)remain - payload_total));
            goto fail;
        }
        payload_total += plen;
    }
    if (payload_total != remain) {
        rc = mtg_err_set(err, MTG_EFORMAT, "blob: %llu bytes of trailing garbage after the payloads",
                         (unsigned long long)(remain - payload_total));
        goto fail;
    }

    for (uint32_t i = 0; i < count; i++) {
        struct mtg_blob_entry *e = &b->e[i];
        e->owned = malloc(e->pub.n * sizeof(float));
        if (!e->owned) {
            rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for tensor \"%s\" (%zu floats)",
                             e->name, e->pub.n);
            goto fail;
        }
        e->pub.data = e->owned;
        decode_payload(e, body + off);
        off += (size_t)pend[i].payload_len;
    }
    free(pend);
    return MTG_OK;

fail:
    free(pend);
    return rc;
}

int mtg_blob_decode(const uint8_t *buf, size_t len, const struct mtg_blob_limits *lim,
                    struct mtg_blob **out, struct mtg_err *err)
{
    struct mtg_blob_limits deflim = mtg_blob_limits_default();
    struct mtg_blob_info info;
    struct mtg_blob *b = NULL;
    uint8_t *raw = NULL;
    int rc;

    if (!out)
        return mtg_err_set(err, MTG_EINVAL, "blob: decode needs an output");
    *out = NULL;
    if (!lim)
        lim = &deflim;
    if (len > lim->max_bytes)
        return mtg_err_set(err, MTG_ETOOBIG, "blob: %zu bytes over the limit of %zu", len,
                           lim->max_bytes);
    if ((rc = mtg_blob_peek(buf, len, &info, err)) != MTG_OK)
        return rc;
    /* Version before CRC: a newer writer may change what the trailer covers,
     * and "unsupported version" is the message that helps the operator. */
    if (info.version != MTG_BLOB_VERSION)
        return mtg_err_set(err, MTG_EVERSION, "blob: format version %u, this build reads %d",
                           info.version, MTG_BLOB_VERSION);
    uint32_t want = get_u32(buf + len - MTG_BLOB_CRC_LEN);
    uint32_t got = mtg_blob_crc(buf, len - MTG_BLOB_CRC_LEN);
    if (want != got)
        return mtg_err_set(err, MTG_ECRC, "blob: CRC mismatch: trailer says %08x, content is %08x",
                           want, got);
    if (info.flags & ~(unsigned)MTG_BLOB_ZLIB)
        return mtg_err_set(err, MTG_EFORMAT, "blob: unknown flags 0x%04x", info.flags);
    if (info.count > lim->max_tensors)
        return mtg_err_set(err, MTG_ETOOBIG, "blob: %u tensors over the limit of %zu", info.count,
                           lim->max_tensors);
    const uint8_t *body = buf + MTG_BLOB_HDR_LEN;
    size_t body_len = len - MTG_BLOB_HDR_LEN - MTG_BLOB_CRC_LEN;

    if (info.flags & MTG_BLOB_ZLIB) {
        if (body_len < MTG_BLOB_ZHDR_LEN)
            return mtg_err_set(err, MTG_EFORMAT,
                               "blob: truncated: zlib header needs %u bytes but %zu remain",
                               MTG_BLOB_ZHDR_LEN, body_len);
        uint64_t raw_len = get_u64(body);
        uint64_t comp_len = get_u64(body + 8);
        size_t have = body_len - MTG_BLOB_ZHDR_LEN;
        if (comp_len > have)
            return mtg_err_set(err, MTG_EFORMAT,
                               "blob: zlib stream claims %llu bytes but %zu remain",
                               (unsigned long long)comp_len, have);
        if (comp_len < have)
            return mtg_err_set(err, MTG_EFORMAT,
                               "blob: %llu bytes of trailing garbage after the zlib stream",
                               (unsigned long long)(have - comp_len));
        if (raw_len > lim->max_bytes)
            return mtg_err_set(err, MTG_ETOOBIG,
                               "blob: inflated size %llu over the limit of %zu bytes",
                               (unsigned long long)raw_len, lim->max_bytes);
        raw = malloc(raw_len ? (size_t)raw_len : 1);
        if (!raw)
            return mtg_err_set(err, MTG_ENOMEM, "blob: out of memory for %llu inflated bytes",
                               (unsigned long long)raw_len);
        uLongf dlen = (uLongf)raw_len;
        uLong slen = (uLong)comp_len;
        int zrc = uncompress2(raw, &dlen, body + MTG_BLOB_ZHDR_LEN, &slen);
        if (zrc != Z_OK) {
            /* Z_BUF_ERROR: the stream wants more output than raw_len, or ends early. */
            rc = mtg_err_set(err, zrc == Z_MEM_ERROR ? MTG_ENOMEM : MTG_EFORMAT,
                             "blob: zlib inflate failed (%s) with raw_len %llu",
                             zrc == Z_DATA_ERROR  ? "corrupt stream"
                             : zrc == Z_BUF_ERROR ? "stream longer than raw_len or cut short"
                                                  : "error",
                             (unsigned long long)raw_len);
            goto fail;
        }
        if (dlen != raw_len) {
            rc = mtg_err_set(err, MTG_EFORMAT, "blob: zlib stream inflates to %lu bytes, raw_len says %llu",
                             (unsigned long)dlen, (unsigned long long)raw_len);
            goto fail;
        }
        if (slen != comp_len) {
            rc = mtg_err_set(err, MTG_EFORMAT,
                             "blob: zlib stream ends after %lu of %llu bytes",
                             (unsigned long)slen, (unsigned long long)comp_len);
            goto fail;
        }
        body = raw;
        body_len = (size_t)raw_len;
    }

    /* Each tensor needs at least 17 table bytes (2 + 1 name + 2 + 4 + 8):
     * rejects a huge count before anything is sized by it. */
    if ((uint64_t)info.count * 17u > body_len) {
        rc = mtg_err_set(err, MTG_EFORMAT,
                         "blob: truncated: %u tensors need at least %llu table bytes but %zu remain",
                         info.count, (unsigned long long)info.count * 17u, body_len);
        goto fail;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        rc = mtg_err_set(err, MTG_ENOMEM, "blob: out of memory");
        goto fail;
    }
    if ((rc = decode_body(b, info.count, body, body_len, lim, err)) != MTG_OK)
        goto fail;
    free(raw);
    *out = b;
    return MTG_OK;

fail:
    free(raw);
    mtg_blob_free(b);
    return rc;
}

int mtg_blob_check_finite(const struct mtg_blob *b, struct mtg_err *err)
{
    for (size_t i = 0; b && i < b->n; i++) {
        const struct mtg_blob_tensor *t = &b->e[i].pub;
        for (size_t k = 0; k < t->n; k++) {
            /* Exponent all ones <=> Inf or NaN; bit test avoids isfinite() on
             * every element and is immune to -ffinite-math-only. */
            uint32_t x;
            memcpy(&x, &t->data[k], 4);
            if ((x & 0x7f800000u) == 0x7f800000u)
                return mtg_err_set(err, MTG_ENOTFINITE, "blob: tensor \"%s\" has %s at index %zu",
                                   t->name, (x & 0x7fffffu) ? "NaN" : "Inf", k);
        }
    }
    return MTG_OK;
}
