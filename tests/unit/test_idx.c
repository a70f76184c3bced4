/*
 * Tests for src/data/idx.c and src/data/fashion.c: IDX files written here
 * (gzip and plain) with every kind of damage, the Fashion-MNIST loader on
 * small synthetic directories, the dataset-kind selection, and, when the
 * Debian package dataset-fashion-mnist is installed, its real test split.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/status.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "data/fashion.h"
#include "data/idx.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mtgan-test-idx-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

/* The directory holds plain files only (and one level of subdirectories). */
static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static void cleanup(void) { rm_tree(tmpdir); }

TestSuite(idx, .init = make_tmpdir, .fini = cleanup);
TestSuite(fashion, .init = make_tmpdir, .fini = cleanup);

static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/*
 * An IDX image in memory: magic, rank sizes, then payload bytes; payload is
 * filled with (i * 7 + 3) % 256 so a wrong offset shows. Caller frees.
 */
static unsigned char *idx_bytes(unsigned magic, int rank, const unsigned *dims, size_t payload,
                                size_t *len)
{
    size_t hdr = 4 + 4 * (size_t)rank;
    unsigned char *b = malloc(hdr + payload + 1);
    cr_assert_not_null(b);
    put_be32(b, magic);
    for (int d = 0; d < rank; d++)
        put_be32(b + 4 + 4 * d, dims[d]);
    for (size_t i = 0; i < payload; i++)
        b[hdr + i] = (unsigned char)((i * 7 + 3) % 256);
    *len = hdr + payload;
    return b;
}

static void path_of(const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_plain(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const unsigned char *b, size_t len)
{
    gzFile f = gzopen(path, "wb");
    cr_assert_not_null(f);
    if (len > 0)
        cr_assert_eq(gzwrite(f, b, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(f), Z_OK);
}

/* Writes an IDX file tmpdir/name (gzip when name ends in .gz) and returns its path in out. */
static void write_idx(const char *name, unsigned magic, int rank, const unsigned *dims,
                      size_t payload, char *out, size_t n)
{
    size_t len;
    unsigned char *b = idx_bytes(magic, rank, dims, payload, &len);
    path_of(name, out, n);
    size_t nl = strlen(name);
    if (nl > 3 && strcmp(name + nl - 3, ".gz") == 0)
        write_gz(out, b, len);
    else
        write_plain(out, b, len);
    free(b);
}

/* Reads path expecting failure with code; returns the message for further checks. */
static const char *expect_fail(const char *path, int rank, int code, struct mtg_err *err)
{
    struct mtg_idx idx;
    int rc = mtg_data_idx_read(path, rank, &idx, err);
    cr_assert_eq(rc, code, "%s: rc %d (%s), want %d", path, rc, err->msg, code);
    cr_assert_eq(err->code, code);
    cr_assert_null(idx.data, "failed read leaves no data");
    cr_assert_eq(idx.len, 0);
    return err->msg;
}

/* ---- idx ---- */

static void check_valid_images(const char *name)
{
    char path[256];
    unsigned dims[3] = {5, 3, 4};
    write_idx(name, 0x803, 3, dims, 60, path, sizeof path);
    struct mtg_idx idx;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_idx_read(path, 3, &idx, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(idx.rank, 3);
    cr_assert_eq(idx.dims[0], 5);
    cr_assert_eq(idx.dims[1], 3);
    cr_assert_eq(idx.dims[2], 4);
    cr_assert_eq(idx.len, 60);
    for (size_t i = 0; i < 60; i++)
        cr_assert_eq(idx.data[i], (unsigned char)((i * 7 + 3) % 256), "byte %zu", i);
    mtg_data_idx_deinit(&idx);
    cr_assert_null(idx.data);
    mtg_data_idx_deinit(&idx); /* twice is harmless */
}

Test(idx, reads_plain_images) { check_valid_images("img-idx3-ubyte"); }
Test(idx, reads_gzip_images) { check_valid_images("img-idx3-ubyte.gz"); }

Test(idx, reads_labels_rank_1)
{
    char path[256];
    unsigned dims[1] = {300};
    write_idx("lab.gz", 0x801, 1, dims, 300, path, sizeof path);
    struct mtg_idx idx;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_idx_read(path, 1, &idx, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(idx.rank, 1);
    cr_assert_eq(idx.dims[0], 300);
    cr_assert_eq(idx.dims[1], 0);
    cr_assert_eq(idx.len, 300);
    cr_assert_eq(idx.data[299], (unsigned char)((299 * 7 + 3) % 256));
    mtg_data_idx_deinit(&idx);
}

Test(idx, truncated_payload_names_file_and_byte_counts)
{
    const char *names[] = {"short-idx3-ubyte", "short-idx3-ubyte.gz"};
    for (int k = 0; k < 2; k++) {
        char path[256];
        unsigned dims[3] = {10, 28, 28};
        write_idx(names[k], 0x803, 3, dims, 7000, path, sizeof path);
        struct mtg_err err = {0};
        const char *msg = expect_fail(path, 3, MTG_EFORMAT, &err);
        cr_assert(strstr(msg, names[k]), "%s", msg);
        cr_assert(strstr(msg, "truncated"), "%s", msg);
        cr_assert(strstr(msg, "7840"), "promised bytes: %s", msg);
        cr_assert(strstr(msg, "7000"), "bytes present: %s", msg);
    }
}

Test(idx, truncated_header)
{
    char path[256];
    path_of("hdr.gz", path, sizeof path);
    unsigned char b[6] = {0, 0, 8, 3, 0, 0};
    write_gz(path, b, sizeof b);
    struct mtg_err err = {0};
    const char *msg = expect_fail(path, 3, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "hdr.gz: truncated header: 6 of 16 bytes"), "%s", msg);

    /* An empty file has no header at all. */
    write_plain(path, b, 0);
    msg = expect_fail(path, 1, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "0 of 8 bytes"), "%s", msg);
}

Test(idx, cut_gzip_stream_is_truncation)
{
    char path[256];
    unsigned dims[3] = {50, 28, 28};
    /* Random bytes do not compress, so cutting the file in half cuts the payload. */
    size_t len;
    unsigned char *b = idx_bytes(0x803, 3, dims, 50 * 784, &len);
    unsigned s = 12345;
    for (size_t i = 16; i < len; i++) {
        s = s * 1103515245u + 12345u;
        b[i] = (unsigned char)(s >> 16);
    }
    path_of("cut.gz", path, sizeof path);
    write_gz(path, b, len);
    free(b);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
    struct mtg_err err = {0};
    const char *msg = expect_fail(path, 3, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "cut.gz: truncated payload"), "%s", msg);
    cr_assert(strstr(msg, "of 39200 bytes"), "%s", msg);

    /* Cut inside the 8-byte gzip trailer: every payload byte is there, the CRC is not. */
    write_idx("trailer.gz", 0x803, 3, dims, 50 * 784, path, sizeof path);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size - 3), 0);
    msg = expect_fail(path, 3, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "trailer.gz: truncated"), "%s", msg);
}

Test(idx, corrupt_gzip_is_eio)
{
    char path[256];
    unsigned dims[3] = {50, 28, 28};
    write_idx("bad.gz", 0x803, 3, dims, 50 * 784, path, sizeof path);
    /* Flip a bit of the stored CRC-32 (the trailer's first 4 bytes). */
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, -8, SEEK_END), 0);
    int c = fgetc(f);
    cr_assert_eq(fseek(f, -8, SEEK_END), 0);
    fputc(c ^ 1, f);
    fclose(f);
    struct mtg_err err = {0};
    const char *msg = expect_fail(path, 3, MTG_EIO, &err);
    cr_assert(strstr(msg, "bad.gz: corrupt gzip data"), "%s", msg);
}

Test(idx, bad_magic)
{
    char path[256];
    unsigned dims[3] = {2, 2, 2};
    struct mtg_err err = {0};
    /* Labels magic where images are wanted, a float32 type byte, a little-endian writer, rank 4. */
    unsigned magics[] = {0x801, 0x0d03, 0x03080000u, 0x00000804u};
    for (int k = 0; k < 4; k++) {
        write_idx("m-idx3-ubyte", magics[k], 3, dims, 8, path, sizeof path);
        const char *msg = expect_fail(path, 3, MTG_EFORMAT, &err);
        cr_assert(strstr(msg, "m-idx3-ubyte: bad IDX magic"), "%s", msg);
        cr_assert(strstr(msg, "expected 0x00000803"), "%s", msg);
    }
    /* An images file read as labels. */
    write_idx("i.gz", 0x803, 3, dims, 8, path, sizeof path);
    const char *msg = expect_fail(path, 1, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "bad IDX magic 0x00000803, expected 0x00000801"), "%s", msg);
}

Test(idx, dims_and_length_mismatch)
{
    char path[256];
    struct mtg_err err = {0};
    /* The header claims 3x4x5 = 60 bytes, 48 follow (a 3x4x4 payload). */
    unsigned big[3] = {3, 4, 5};
    write_idx("big.gz", 0x803, 3, big, 48, path, sizeof path);
    const char *msg = expect_fail(path, 3, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "60-byte payload, only 48 bytes follow"), "%s", msg);
    /* The header claims 3x4x4 = 48, 60 follow. */
    unsigned small[3] = {3, 4, 4};
    write_idx("small", 0x803, 3, small, 60, path, sizeof path);
    msg = expect_fail(path, 3, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "small: 12 trailing bytes after the 48-byte payload"), "%s", msg);
}

Test(idx, trailing_bytes)
{
    char path[256];
    unsigned dims[1] = {100};
    write_idx("lab-trail.gz", 0x801, 1, dims, 101, path, sizeof path);
    struct mtg_err err = {0};
    const char *msg = expect_fail(path, 1, MTG_EFORMAT, &err);
    cr_assert(strstr(msg, "lab-trail.gz: 1 trailing bytes after the 100-byte payload"), "%s", msg);
}

Test(idx, sizes_outside_limits)
{
    char path[256];
    struct mtg_err err = {0};
    unsigned zero_items[3] = {0, 28, 28}, zero_side[3] = {10, 0, 28}, wide[3] = {1, 28, 4097},
             many[1] = {1000001}, huge[3] = {1000000, 28, 28}, neg[1] = {0xffffffffu};
    write_idx("z", 0x803, 3, zero_items, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 3, MTG_ERANGE, &err), "dimension 0 is 0, outside [1, 1000000]"),
              "%s", err.msg);
    write_idx("z", 0x803, 3, zero_side, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 3, MTG_ERANGE, &err), "dimension 1 is 0, outside [1, 4096]"),
              "%s", err.msg);
    write_idx("z", 0x803, 3, wide, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 3, MTG_ERANGE, &err), "dimension 2 is 4097"), "%s", err.msg);
    write_idx("z", 0x801, 1, many, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 1, MTG_ERANGE, &err), "dimension 0 is 1000001"), "%s", err.msg);
    write_idx("z", 0x801, 1, neg, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 1, MTG_ERANGE, &err), "dimension 0 is 4294967295"), "%s",
              err.msg);
    /* Each size within its limit, the product over the byte limit: rejected before any allocation. */
    write_idx("z", 0x803, 3, huge, 0, path, sizeof path);
    cr_assert(strstr(expect_fail(path, 3, MTG_ERANGE, &err), "payload of 784000000 bytes over the limit"),
              "%s", err.msg);
}

Test(idx, missing_file_and_bad_arguments)
{
    char path[256];
    path_of("nope.gz", path, sizeof path);
    struct mtg_err err = {0};
    const char *msg = expect_fail(path, 3, MTG_ENOTFOUND, &err);
    cr_assert(strstr(msg, path), "%s", msg);
    cr_assert(strstr(msg, "no such file"), "%s", msg);
    /* A directory opens but cannot be read. */
    cr_assert_neq(mtg_data_idx_read(tmpdir, 3, &(struct mtg_idx){0}, &err), MTG_OK);
    cr_assert_eq(mtg_data_idx_read(path, 0, &(struct mtg_idx){0}, &err), MTG_EINVAL);
    cr_assert_eq(mtg_data_idx_read(path, 4, &(struct mtg_idx){0}, &err), MTG_EINVAL);
    cr_assert_eq(mtg_data_idx_read(NULL, 3, &(struct mtg_idx){0}, &err), MTG_EINVAL);
    cr_assert_eq(mtg_data_idx_read(path, 3, NULL, &err), MTG_EINVAL);
    mtg_data_idx_deinit(NULL);
}

/* ---- fashion on synthetic directories ---- */

/*
 * Writes a split into dir: n images 28x28 whose every pixel of image i is
 * (i * 5) % 256, labels i % 10 unless labels is given; gz or plain files.
 */
static void write_split(const char *dir, const char *prefix, int n, int n_labels,
                        const unsigned char *labels, int side, int gz)
{
    char path[512];
    size_t npx = (size_t)n * (size_t)side * (size_t)side;
    size_t hdr = 16;
    unsigned char *b = malloc(hdr + npx + 1);
    cr_assert_not_null(b);
    put_be32(b, 0x803);
    put_be32(b + 4, (unsigned)n);
    put_be32(b + 8, (unsigned)side);
    put_be32(b + 12, (unsigned)side);
    for (int i = 0; i < n; i++)
        memset(b + hdr + (size_t)i * (size_t)side * (size_t)side, (i * 5) % 256,
               (size_t)side * (size_t)side);
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    (gz ? write_gz : write_plain)(path, b, hdr + npx);
    put_be32(b, 0x801);
    put_be32(b + 4, (unsigned)n_labels);
    for (int i = 0; i < n_labels; i++)
        b[8 + i] = labels ? labels[i] : (unsigned char)(i % 10);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    (gz ? write_gz : write_plain)(path, b, 8 + (size_t)n_labels);
    free(b);
}

Test(fashion, loads_synthetic_splits_gz_and_plain)
{
    write_split(tmpdir, "train", 40, 40, NULL, 28, 1);
    write_split(tmpdir, "t10k", 20, 20, NULL, 28, 0);
    struct mtg_err err = {0};
    struct mtg_dataset *tr, *te;
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 0, &tr, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TEST, 0, &te, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(tr), 40);
    cr_assert_eq(mtg_data_n(te), 20);
    cr_assert_eq(mtg_data_dim(tr), 784);
    cr_assert_eq(mtg_data_n_classes(tr), 10);
    for (int i = 0; i < 40; i++) {
        cr_assert_eq(mtg_data_labels(tr)[i], i % 10);
        const float *r = mtg_data_row(tr, i);
        float want = (float)((i * 5) % 256) / 255.0f;
        cr_assert_float_eq(r[0], want, 1e-7f, "row %d", i);
        cr_assert_float_eq(r[783], want, 1e-7f, "row %d", i);
    }
    mtg_data_free(tr);
    mtg_data_free(te);
}

Test(fashion, per_class_limit_keeps_first_rows_in_order)
{
    write_split(tmpdir, "train", 40, 40, NULL, 28, 1);
    struct mtg_err err = {0};
    struct mtg_dataset *ds;
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 3, &ds, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(ds), 30);
    for (int i = 0; i < 30; i++) {
        /* Rows 0..29 of the file are the first three of each class. */
        cr_assert_eq(mtg_data_labels(ds)[i], i % 10);
        cr_assert_float_eq(mtg_data_row(ds, i)[400], (float)((i * 5) % 256) / 255.0f, 1e-7f);
    }
    mtg_data_free(ds);
    /* A limit above every class count keeps everything. */
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 100, &ds, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(ds), 40);
    mtg_data_free(ds);
}

Test(fashion, rejects_inconsistent_files)
{
    struct mtg_err err = {0};
    struct mtg_dataset *ds = (struct mtg_dataset *)&err; /* must be reset to NULL */
    write_split(tmpdir, "train", 10, 9, NULL, 28, 1);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 0, &ds, &err), MTG_EFORMAT);
    cr_assert_null(ds);
    cr_assert(strstr(err.msg, "9 labels for 10 images"), "%s", err.msg);

    write_split(tmpdir, "train", 10, 10, NULL, 27, 1);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 0, &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "images are 27x27, expected 28x28"), "%s", err.msg);

    unsigned char labels[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10};
    write_split(tmpdir, "train", 10, 10, labels, 28, 1);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 0, &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "label 10 of item 9 outside [0, 10)"), "%s", err.msg);

    cr_assert_eq(mtg_data_fashion_load(tmpdir, 2, 0, &ds, &err), MTG_EINVAL);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, -1, &ds, &err), MTG_EINVAL);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TRAIN, 0, NULL, &err), MTG_EINVAL);
}

Test(fashion, missing_file_names_the_package_and_data_path)
{
    char dir[256];
    path_of("no-such-dir", dir, sizeof dir);
    struct mtg_err err = {0};
    struct mtg_dataset *ds;
    cr_assert_eq(mtg_data_fashion_load(dir, MTG_DATA_TEST, 0, &ds, &err), MTG_ENOTFOUND);
    cr_assert_null(ds);
    cr_assert(strstr(err.msg, "no-such-dir/t10k-labels-idx1-ubyte.gz"), "%s", err.msg);
    cr_assert(strstr(err.msg, "Debian package dataset-fashion-mnist"), "%s", err.msg);
    cr_assert(strstr(err.msg, "data.path"), "%s", err.msg);

    /* Labels present, images missing: the images file is the one named. */
    write_split(tmpdir, "t10k", 10, 10, NULL, 28, 1);
    char p[512];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", tmpdir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mtg_data_fashion_load(tmpdir, MTG_DATA_TEST, 0, &ds, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "t10k-images-idx3-ubyte.gz: no such file"), "%s", err.msg);
    cr_assert(strstr(err.msg, "dataset-fashion-mnist"), "%s", err.msg);

    /* The default directory's message is the same whether or not the package is installed here. */
    cr_assert_str_eq(MTG_DATA_FASHION_DIR, "/usr/share/datasets/fashion-mnist");
}

Test(fashion, labels_and_task_ids)
{
    const char *want[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    char id[16];
    for (int c = 0; c < 10; c++) {
        cr_assert_str_eq(mtg_data_fashion_label_name(c), want[c]);
        cr_assert_eq(mtg_data_fashion_task_id(c, id, sizeof id), MTG_OK);
        char expect[16];
        snprintf(expect, sizeof expect, "fashion-%d", c);
        cr_assert_str_eq(id, expect);
        cr_assert_eq(mtg_data_fashion_task_label(id), c);
    }
    cr_assert_null(mtg_data_fashion_label_name(-1));
    cr_assert_null(mtg_data_fashion_label_name(10));
    cr_assert_eq(mtg_data_fashion_task_id(10, id, sizeof id), MTG_ERANGE);
    cr_assert_eq(mtg_data_fashion_task_id(3, id, 9), MTG_ERANGE); /* "fashion-3" needs 10 */
    const char *bad[] = {"fashion-10", "fashion-", "fashion-3x", "fashion-03", "digit-3", "Fashion-3", ""};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_eq(mtg_data_fashion_task_label(bad[k]), -1, "%s", bad[k]);
    cr_assert_eq(mtg_data_fashion_task_label(NULL), -1);
}

/* ---- dataset-kind selection ---- */

Test(fashion, kind_selection)
{
    struct mtg_err err = {0};
    int k = -1;
    cr_assert_eq(mtg_data_kind_parse("fashion-mnist", &k, &err), MTG_OK);
    cr_assert_eq(k, MTG_DATA_KIND_FASHION);
    cr_assert_eq(mtg_data_kind_parse("digits", &k, &err), MTG_OK);
    cr_assert_eq(k, MTG_DATA_KIND_DIGITS);
    cr_assert_eq(mtg_data_kind_parse("ring", &k, &err), MTG_OK);
    cr_assert_eq(k, MTG_DATA_KIND_RING);
    cr_assert_eq(mtg_data_kind_parse("mnist", &k, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "fashion-mnist"), "%s", err.msg);

    const struct mtg_data_kind_info *fi = mtg_data_kind_info(MTG_DATA_KIND_FASHION);
    cr_assert_str_eq(fi->name, "fashion-mnist");
    cr_assert_str_eq(fi->task_prefix, "fashion");
    cr_assert_eq(fi->side, 28);
    cr_assert_eq(fi->dim, 784);
    cr_assert_eq(fi->n_classes, 10);
    cr_assert_eq(mtg_data_kind_info(MTG_DATA_KIND_DIGITS)->dim, 64);
    cr_assert_str_eq(mtg_data_kind_info(MTG_DATA_KIND_DIGITS)->task_prefix, "digit");
    cr_assert_eq(mtg_data_kind_info(MTG_DATA_KIND_RING)->dim, 2);
    cr_assert_null(mtg_data_kind_info(3));
    cr_assert_null(mtg_data_kind_info(-1));

    /* Fashion through the selector. */
    write_split(tmpdir, "t10k", 30, 30, NULL, 28, 1);
    struct mtg_dataset *ds;
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_FASHION, tmpdir, MTG_DATA_TEST, 2, &ds, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(mtg_data_n(ds), 20);
    mtg_data_free(ds);
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_RING, NULL, MTG_DATA_TRAIN, 0, &ds, &err), MTG_EINVAL);
    cr_assert_null(ds);
}

Test(fashion, digits_through_the_selector)
{
    const char *dir = getenv("MTGAN_DATA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "data", MTG_DATA_DIGITS_FILE);
    struct mtg_err err = {0};
    struct mtg_dataset *tr, *te, *lim;
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, path, MTG_DATA_TRAIN, 0, &tr, &err), MTG_OK,
                 "%s", err.msg);
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, path, MTG_DATA_TEST, 0, &te, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(tr) + mtg_data_n(te), 1797);
    /* The held-out part is every 5th of each class: 178/5 = 35 zeros. */
    cr_assert_eq(mtg_data_class_count(te, 0), 35);
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, path, MTG_DATA_TRAIN, 7, &lim, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(lim), 70);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(mtg_data_class_count(lim, c), 7);
    /* The first rows of a class are kept, in order. */
    cr_assert_eq(memcmp(mtg_data_row(lim, 0), mtg_data_row(tr, 0), 64 * sizeof(float)), 0);
    mtg_data_free(lim);
    mtg_data_free(tr);
    mtg_data_free(te);
    cr_assert_eq(mtg_data_load(MTG_DATA_KIND_DIGITS, "", MTG_DATA_TRAIN, 0, &tr, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "data.path"), "%s", err.msg);
}

Test(fashion, from_u8_and_first_per_class)
{
    unsigned char px[6] = {0, 51, 255, 102, 0, 255}, lab[3] = {1, 0, 1};
    struct mtg_err err = {0};
    struct mtg_dataset *ds, *first;
    cr_assert_eq(mtg_data_from_u8(px, lab, 3, 2, 2, 255.0f, &ds, &err), MTG_OK, "%s", err.msg);
    cr_assert_float_eq(mtg_data_row(ds, 0)[1], 0.2f, 1e-7f);
    cr_assert_eq(mtg_data_row(ds, 1)[0], 1.0f);
    cr_assert_eq(mtg_data_row(ds, 1)[1], 102.0f / 255.0f);
    cr_assert_eq(mtg_data_row(ds, 2)[0], 0.0f);
    cr_assert_eq(mtg_data_first_per_class(ds, 1, &first, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(first), 2);
    cr_assert_eq(mtg_data_labels(first)[0], 1);
    cr_assert_eq(mtg_data_labels(first)[1], 0);
    mtg_data_free(first);
    cr_assert_eq(mtg_data_first_per_class(ds, -1, &first, &err), MTG_EINVAL);
    mtg_data_free(ds);
    cr_assert_eq(mtg_data_from_u8(px, lab, 3, 2, 1, 255.0f, &ds, &err), MTG_ERANGE);
    cr_assert_eq(mtg_data_from_u8(px, lab, 3, 2, 2, 0.0f, &ds, &err), MTG_EINVAL);
}

/* ---- the real files, when the Debian package is installed ---- */

static int have_package(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", MTG_DATA_FASHION_DIR);
    return access(p, R_OK) == 0;
}

Test(fashion, real_test_split)
{
    if (!have_package())
        cr_skip_test("package " MTG_DATA_FASHION_PACKAGE " not installed");
    struct mtg_err err = {0};
    struct mtg_dataset *ds;
    cr_assert_eq(mtg_data_fashion_load(NULL, MTG_DATA_TEST, 0, &ds, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(ds), 10000);
    cr_assert_eq(mtg_data_dim(ds), 784);
    cr_assert_eq(mtg_data_n_classes(ds), 10);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(mtg_data_class_count(ds, c), 1000, "class %d", c);
    const float *x = mtg_data_x(ds);
    float lo = 1.0f, hi = 0.0f;
    for (size_t i = 0; i < 10000u * 784u; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    cr_assert_eq(lo, 0.0f);
    cr_assert_eq(hi, 1.0f);
    /* The first test image is an ankle boot, the second a pullover (as published). */
    cr_assert_str_eq(mtg_data_fashion_label_name(mtg_data_labels(ds)[0]), "Ankle boot");
    cr_assert_str_eq(mtg_data_fashion_label_name(mtg_data_labels(ds)[1]), "Pullover");

    /* "" is the default directory too, and a per-class limit keeps the first images of each class. */
    struct mtg_dataset *lim;
    cr_assert_eq(mtg_data_fashion_load("", MTG_DATA_TEST, 25, &lim, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(lim), 250);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(mtg_data_class_count(lim, c), 25, "class %d", c);
    cr_assert_eq(memcmp(mtg_data_row(lim, 0), mtg_data_row(ds, 0), 784 * sizeof(float)), 0);
    mtg_data_free(lim);
    mtg_data_free(ds);
}
