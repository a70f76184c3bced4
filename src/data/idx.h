/*
 * idx.h - reader for IDX files of unsigned bytes, the format of MNIST and
 * Fashion-MNIST (LeCun's "THE IDX FILE FORMAT"): a 4-byte big-endian magic
 * 0x0000 08 <rank> (0x08 = unsigned byte), <rank> big-endian uint32 sizes,
 * then the payload, row-major. Images files are rank 3 (0x00000803: n, rows,
 * cols), label files rank 1 (0x00000801: n). Files are read with zlib, so
 * the Debian *-ubyte.gz files and plain, uncompressed ones both work.
 *
 * Validation is strict: the magic, every size (limits below) and the payload
 * length must match exactly; a truncated file or trailing bytes after the
 * payload are errors naming the file and the byte counts.
 *
 *     struct mtg_idx img;
 *     if (mtg_data_idx_read("t10k-images-idx3-ubyte.gz", 3, &img, &err) != MTG_OK)
 *         fprintf(stderr, "%s\n", err.msg);
 *     // img.dims = {10000, 28, 28}, img.data has 7,840,000 bytes
 *     mtg_data_idx_deinit(&img);
 */
#ifndef MTG_DATA_IDX_H
#define MTG_DATA_IDX_H

#include <stddef.h>

struct mtg_err;

#define MTG_DATA_IDX_MAX_RANK 3
/* Sanity limits: far above MNIST-like sets, far below what overflows or exhausts memory. */
#define MTG_DATA_IDX_MAX_ITEMS 1000000 /* dims[0] */
#define MTG_DATA_IDX_MAX_SIDE 4096     /* dims[1..] */
#define MTG_DATA_IDX_MAX_BYTES (256u << 20)

/* One IDX file in memory; caller-owned, filled by mtg_data_idx_read(). */
struct mtg_idx {
    int rank;                         /* 1 .. MTG_DATA_IDX_MAX_RANK */
    int dims[MTG_DATA_IDX_MAX_RANK];  /* dims[0] = items; unused entries are 0 */
    size_t len;                       /* payload bytes = product of dims */
    unsigned char *data;              /* [len], malloc'd; freed by mtg_data_idx_deinit() */
};

/*
 * Reads path (gzip or plain) into *out, which must then hold an IDX file of
 * unsigned bytes with exactly rank dimensions (1 for labels, 3 for images).
 * On success the caller owns out->data (release with mtg_data_idx_deinit());
 * on failure *out is zeroed and nothing needs freeing. Errors, all naming
 * path: MTG_ENOTFOUND (no such file), MTG_EIO (cannot read; corrupt gzip),
 * MTG_EFORMAT (bad magic, truncated header or payload, trailing bytes),
 * MTG_ERANGE (a size outside the limits), MTG_ENOMEM, MTG_EINVAL.
 */
int mtg_data_idx_read(const char *path, int rank, struct mtg_idx *out, struct mtg_err *err);

/* Frees idx->data and zeroes *idx; NULL and a zeroed idx are no-ops. */
void mtg_data_idx_deinit(struct mtg_idx *idx);

#endif
