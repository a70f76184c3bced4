/*
 * blob_internal.h - what blob.c (build, encode) and blob_decode.c share:
 * the in-memory layout, the name index, little-endian byte access and the
 * validation helpers. Not part of the public API.
 */
#ifndef MTG_WIRE_BLOB_INTERNAL_H
#define MTG_WIRE_BLOB_INTERNAL_H

#include <stdint.h>

#include "wire/blob.h"

/* Fixed header, zlib sub-header and trailer sizes (see the layout in blob.h). */
#define MTG_BLOB_HDR_LEN 12u
#define MTG_BLOB_ZHDR_LEN 16u
#define MTG_BLOB_CRC_LEN 4u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MTG_BLOB_HOST_LE 1
#else
#define MTG_BLOB_HOST_LE 0
#endif

struct mtg_blob_entry {
    struct mtg_blob_tensor pub; /* first, so &entry->pub is what readers see */
    char *name;                 /* owned copy behind pub.name */
    float *owned;               /* NULL when pub.data is borrowed */
};

/*
 * Tensors in insertion order plus an open-addressing index over names
 * (slot = entry index + 1, 0 = empty; capacity a power of two kept at
 * least twice the count) so that find and the duplicate check on decode
 * stay O(1) even for adversarial blobs with thousands of tensors.
 */
struct mtg_blob {
    struct mtg_blob_entry *e;
    size_t n;
    size_t cap;
    uint32_t *slots;
    size_t n_slots;
};

/* ---- little-endian byte access ---- */

static inline void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

/* CRC-32 (zlib's) of len bytes; any length. */
uint32_t mtg_blob_crc(const uint8_t *p, size_t len);

/* Slot of name[0..len) in the index, or the empty slot where it would go. */
size_t mtg_blob_index_probe(const struct mtg_blob *b, const char *name, size_t len);
/* Reallocates the index for at least want names and reinserts the current ones. */
int mtg_blob_index_rebuild(struct mtg_blob *b, size_t want, struct mtg_err *err);

/* MTG_EFORMAT unless name[0..len) is 1..255 bytes without control characters. */
int mtg_blob_check_name(const char *name, size_t len, struct mtg_err *err);
/*
 * Element count of dims into *out: MTG_EFORMAT for a zero dim, MTG_ETOOBIG
 * when the product exceeds max (checked before each multiply, so u64
 * arithmetic never wraps).
 */
int mtg_blob_dims_product(const char *name, int rank, const uint32_t *dims, uint64_t max,
                          uint64_t *out, struct mtg_err *err);

#endif
