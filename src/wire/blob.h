/*
 * blob.h - named float tensors in one self-checking binary record: a whole
 * model, a delta or a batch, on the wire (application/x-mtgan-blob) and on
 * disk (checkpoints). In memory every tensor is float32; the wire dtype
 * (f32 or f16) is chosen per tensor when it is added and applied on encode.
 *
 *     struct mtg_blob *b = mtg_blob_new(&err);
 *     uint32_t dims[2] = {64, 256};
 *     mtg_blob_add(b, "g.0.w", 2, dims, w, MTG_DTYPE_F16, &err);
 *     mtg_blob_encode(b, MTG_BLOB_ZLIB, &buf, &len, &err);   // free(buf)
 *     mtg_blob_free(b);
 *     mtg_blob_decode(buf, len, NULL, &b, &err);             // validated
 *     const struct mtg_blob_tensor *t = mtg_blob_find(b, "g.0.w");
 *
 * Byte layout (format version 1, all integers little-endian; docs/blob.md):
 *
 *   off  size  field
 *   0    4     magic "MTGB"
 *   4    2     u16 format version = 1
 *   6    2     u16 flags: bit0 MTG_BLOB_ZLIB; every other bit must be 0
 *   8    4     u32 tensor count
 *   12   ...   BODY
 *   end-4 4    u32 CRC-32 (zlib crc32) of every byte before it
 *
 *   BODY without zlib = TABLE then PAYLOADS, stored as is.
 *   BODY with zlib    = u64 raw_len, u64 comp_len, then comp_len bytes of
 *                       one zlib stream (RFC 1950) that inflates to exactly
 *                       raw_len bytes of TABLE then PAYLOADS.
 *   TABLE    = per tensor, in order: u16 name_len (1..255), name bytes
 *              (no NUL, no control chars, unique in the blob), u8 dtype,
 *              u8 rank (1..4), u32 dims[rank] (each >= 1), u64 payload_len
 *              (= product(dims) * dtype size).
 *   PAYLOADS = per tensor, in table order, no padding: the elements
 *              row-major, f32 as IEEE binary32, f16 as IEEE binary16.
 *
 * Not thread-safe for writers; a blob that is only read may be shared.
 */
#ifndef MTG_WIRE_BLOB_H
#define MTG_WIRE_BLOB_H

#include <stddef.h>
#include <stdint.h>

struct mtg_err;

#define MTG_BLOB_VERSION 1
#define MTG_BLOB_MAX_RANK 4
#define MTG_BLOB_MAX_NAME 255

/* Wire dtypes appear in stored blobs: only ever append new values. */
enum mtg_dtype {
    MTG_DTYPE_F32 = 0,
    MTG_DTYPE_F16 = 1,
};

/* Encode flags (the u16 flags field). Only ever append bits. */
enum {
    MTG_BLOB_ZLIB = 1u << 0,
};

/*
 * One tensor as seen by readers. The blob owns name and (unless added with
 * mtg_blob_add_ref) data; both stay valid until the blob is freed or
 * truncated below this tensor. dtype is the wire dtype: what decode found,
 * or what encode will write. data always holds n float32 values.
 */
struct mtg_blob_tensor {
    const char *name;
    enum mtg_dtype dtype;
    int rank;
    uint32_t dims[MTG_BLOB_MAX_RANK];
    size_t n; /* product of dims */
    const float *data;
};

/* Decode limits: a blob from the network or a file must fit all three. */
struct mtg_blob_limits {
    size_t max_bytes;   /* encoded length, and the inflated body length with zlib */
    size_t max_tensors; /* tensor count */
    size_t max_elems;   /* elements summed over all tensors */
};

/* What the fixed header of an encoded blob says (see mtg_blob_peek). */
struct mtg_blob_info {
    unsigned version;
    unsigned flags;
    uint32_t count;
    size_t bytes;     /* encoded length */
    size_t raw_bytes; /* TABLE + PAYLOADS length: stored, or inflated with zlib */
};

struct mtg_blob;

/* 256 MiB, 4096 tensors, 64 Mi elements: roomy for models, batches, deltas. */
struct mtg_blob_limits mtg_blob_limits_default(void);

/* Empty blob; caller frees with mtg_blob_free(). NULL + err on out of memory. */
struct mtg_blob *mtg_blob_new(struct mtg_err *err);
/* Frees the blob, its names and owned data. Accepts NULL. */
void mtg_blob_free(struct mtg_blob *b);

/*
 * Appends a tensor of rank 1..4 with dims[i] >= 1, copying the
 * product(dims) floats at data. name is copied; it must be 1..255 bytes of
 * printable characters and not already in b. MTG_EINVAL, MTG_ERANGE (element
 * count over SIZE_MAX/4) or MTG_ENOMEM with b unchanged on failure.
 */
int mtg_blob_add(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                 const float *data, enum mtg_dtype wire_dtype, struct mtg_err *err);

/*
 * Same as mtg_blob_add but borrows data: the caller keeps it alive and
 * unchanged until b is freed (typically right after encoding a big model
 * without copying it).
 */
int mtg_blob_add_ref(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                     const float *data, enum mtg_dtype wire_dtype, struct mtg_err *err);

/*
 * Appends a zero-filled tensor owned by b and returns its data for the
 * caller to fill in place (valid until b is freed); NULL + err on failure.
 */
float *mtg_blob_add_alloc(struct mtg_blob *b, const char *name, int rank, const uint32_t *dims,
                          enum mtg_dtype wire_dtype, struct mtg_err *err);

/* Drops the tensors at index >= count (no-op if count >= the count). */
void mtg_blob_truncate(struct mtg_blob *b, size_t count);

/* "[a,b,...]" of t's dims into buf (truncated to cap), for messages and listings. */
void mtg_blob_shape_str(char *buf, size_t cap, const struct mtg_blob_tensor *t);

size_t mtg_blob_count(const struct mtg_blob *b);
/* Tensor i (< count), owned by b; NULL when i is out of range. */
const struct mtg_blob_tensor *mtg_blob_at(const struct mtg_blob *b, size_t i);
/* Tensor by exact name, owned by b; NULL when absent. O(1) on average. */
const struct mtg_blob_tensor *mtg_blob_find(const struct mtg_blob *b, const char *name);

/*
 * Encodes b with flags (0 or MTG_BLOB_ZLIB). On success *out is a new
 * malloc'd buffer of *out_len bytes that the caller frees with free().
 * Without zlib this is one allocation and, for f32 tensors on a
 * little-endian host, one memcpy per tensor.
 */
int mtg_blob_encode(const struct mtg_blob *b, unsigned flags, uint8_t **out, size_t *out_len,
                    struct mtg_err *err);

/*
 * Decodes and fully validates buf (lim NULL = mtg_blob_limits_default()).
 * The CRC is checked before the table is parsed. On success *out is a new
 * blob that the caller frees with mtg_blob_free(); it does not point into
 * buf. On failure *out is NULL and the code is one of MTG_EFORMAT,
 * MTG_EVERSION, MTG_ECRC, MTG_ETOOBIG, MTG_ENOMEM.
 */
int mtg_blob_decode(const uint8_t *buf, size_t len, const struct mtg_blob_limits *lim,
                    struct mtg_blob **out, struct mtg_err *err);

/*
 * Reads the fixed header (and with zlib the raw length) without checking
 * the CRC or the table: for tools that describe a blob. MTG_EFORMAT when
 * buf is too short or the magic is wrong; any version is reported.
 */
int mtg_blob_peek(const uint8_t *buf, size_t len, struct mtg_blob_info *out, struct mtg_err *err);

/*
 * Encodes b and writes it to path atomically: path.tmp, fsync, rename over
 * path, fsync of the directory. A crash leaves the old file or the new one,
 * never a mix. MTG_EIO naming the path and the failing call.
 */
int mtg_blob_write_file(const struct mtg_blob *b, const char *path, unsigned flags,
                        struct mtg_err *err);

/* Reads and decodes path (size checked against lim before reading); as decode. */
int mtg_blob_read_file(const char *path, const struct mtg_blob_limits *lim,
                       struct mtg_blob **out, struct mtg_err *err);

/* MTG_ENOTFINITE naming the first tensor and flat index holding NaN or Inf. */
int mtg_blob_check_finite(const struct mtg_blob *b, struct mtg_err *err);

/* Wire size of one element of dtype in bytes, 0 for an unknown dtype. */
size_t mtg_dtype_size(enum mtg_dtype dtype);
/* "f32" / "f16" / "unknown". */
const char *mtg_dtype_name(enum mtg_dtype dtype);

#endif
