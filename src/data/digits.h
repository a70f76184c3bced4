/*
 * digits.h - loader for the 8x8 handwritten digits (UCI optdigits, as
 * shipped by scikit-learn in digits.csv.gz; licence in data/LICENSE-digits.md).
 * Each line holds 64 pixels in 0..16 then the label 0..9, comma-separated.
 * The file is read with zlib (plain, uncompressed CSV is accepted too) and
 * validated strictly: a bad field is reported with its line and column.
 * Pixels are scaled to [0, 1] by /16 so they match G's sigmoid output.
 *
 *     struct mtg_dataset *ds;
 *     if (mtg_data_digits_load("data/digits.csv.gz", &ds, &err) != MTG_OK)
 *         fprintf(stderr, "%s\n", err.msg);   // "digits.csv.gz:17: column 65: ..."
 *     // mtg_data_n(ds) == 1797, mtg_data_dim(ds) == 64, 10 classes
 */
#ifndef MTG_DATA_DIGITS_H
#define MTG_DATA_DIGITS_H

#include <stddef.h>

struct mtg_err;
struct mtg_dataset;

#define MTG_DATA_DIGITS_SIDE 8
#define MTG_DATA_DIGITS_DIM 64
#define MTG_DATA_DIGITS_CLASSES 10
#define MTG_DATA_DIGITS_MAX_PIXEL 16
/* The file has 1797 rows (about 0.5 MB as text); anything far bigger is not it. */
#define MTG_DATA_DIGITS_MAX_BYTES (64u << 20)
/* File name under MTGAN_DATA_DIR / the repo's data/ directory. */
#define MTG_DATA_DIGITS_FILE "digits.csv.gz"

/*
 * Loads path into a new dataset (caller frees with mtg_data_free()).
 * Errors: MTG_EIO (cannot open/read, or a corrupt/truncated gzip stream),
 * MTG_EFORMAT (bad CSV: field count, non-integer, value out of range; the
 * message names path, line and column), MTG_ETOOBIG, MTG_ENOMEM.
 */
int mtg_data_digits_load(const char *path, struct mtg_dataset **out, struct mtg_err *err);

/*
 * Parses CSV text buf[0..len) (need not be NUL-terminated) the same way;
 * name is used in error messages. For tests and for data that arrive over
 * the network (Sedna TRAIN_DATASET_URL).
 */
int mtg_data_digits_parse(const char *buf, size_t len, const char *name,
                          struct mtg_dataset **out, struct mtg_err *err);

#endif
