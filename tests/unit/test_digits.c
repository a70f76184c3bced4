/* Tests for src/data: the digits loader, dataset views, split and batch samplers. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "data/digits.h"

/* Class sizes of scikit-learn's digits.csv.gz (np.bincount of the labels). */
static const int class_counts[10] = {178, 182, 177, 183, 181, 182, 181, 179, 174, 180};

static void digits_path(char *buf, size_t n)
{
    const char *dir = getenv("MTGAN_DATA_DIR");
    snprintf(buf, n, "%s/%s", dir ? dir : "data", MTG_DATA_DIGITS_FILE);
}

static struct mtg_dataset *load_digits(void)
{
    char path[4096];
    digits_path(path, sizeof path);
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;
    int rc = mtg_data_digits_load(path, &ds, &err);
    cr_assert_eq(rc, MTG_OK, "load %s: %s", path, err.msg);
    return ds;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mtgan-test-digits-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmp(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    unlink(p);
}

/* Writes len bytes of text as a gzip file tmpdir/name; returns the path in out. */
static void write_gz(const char *name, const char *text, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
    gzFile f = gzopen(out, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(gzwrite(f, text, (unsigned)strlen(text)), (int)strlen(text));
    cr_assert_eq(gzclose(f), Z_OK);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *len = (size_t)sz;
    return buf;
}

static void write_raw(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* A valid CSV line: 64 pixels equal to v, then label. */
static void csv_line(char *out, size_t n, int v, int label)
{
    size_t k = 0;
    for (int i = 0; i < 64; i++)
        k += (size_t)snprintf(out + k, n - k, "%d,", v);
    snprintf(out + k, n - k, "%d\n", label);
}

Test(digits, loads_1797_rows_10_classes)
{
    struct mtg_dataset *ds = load_digits();
    cr_assert_eq(mtg_data_n(ds), 1797);
    cr_assert_eq(mtg_data_dim(ds), 64);
    cr_assert_eq(mtg_data_n_classes(ds), 10);
    for (int c = 0; c < 10; c++)
        cr_assert_eq(mtg_data_class_count(ds, c), class_counts[c], "class %d", c);
    const float *x = mtg_data_x(ds);
    float lo = 1.0f, hi = 0.0f;
    for (size_t i = 0; i < 1797u * 64u; i++) {
        cr_assert(x[i] >= 0.0f && x[i] <= 1.0f);
        /* Pixels are counts 0..16 scaled by 1/16: exact in float. */
        cr_assert_float_eq(x[i] * 16.0f, (float)(int)(x[i] * 16.0f), 0.0f);
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    cr_assert_eq(lo, 0.0f);
    cr_assert_eq(hi, 1.0f);
    /* First row of the file: 0,0,5,13,9,1,0,0,... label 0. */
    cr_assert_eq(mtg_data_labels(ds)[0], 0);
    cr_assert_float_eq(mtg_data_row(ds, 0)[2], 5.0f / 16.0f, 1e-7f);
    cr_assert_float_eq(mtg_data_row(ds, 0)[3], 13.0f / 16.0f, 1e-7f);
    cr_assert_eq(mtg_data_labels(ds)[1], 1);
    mtg_data_free(ds);
}

Test(digits, split_is_per_class_disjoint_and_deterministic)
{
    struct mtg_dataset *ds = load_digits();
    struct mtg_err err = {0};
    struct mtg_dataset *tr, *ho, *tr2, *ho2;
    cr_assert_eq(mtg_data_split(ds, MTG_DATA_HELDOUT_EVERY, &tr, &ho, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_split(ds, MTG_DATA_HELDOUT_EVERY, &tr2, &ho2, &err), MTG_OK);
    cr_assert_eq(mtg_data_n(tr) + mtg_data_n(ho), 1797);
    cr_assert_eq(mtg_data_n(tr), mtg_data_n(tr2));
    cr_assert_eq(memcmp(mtg_data_x(tr), mtg_data_x(tr2), (size_t)mtg_data_n(tr) * 64 * 4), 0);
    cr_assert_eq(memcmp(mtg_data_x(ho), mtg_data_x(ho2), (size_t)mtg_data_n(ho) * 64 * 4), 0);
    for (int c = 0; c < 10; c++) {
        struct mtg_dataset *all_c, *tr_c, *ho_c;
        cr_assert_eq(mtg_data_class_subset(ds, c, &all_c, &err), MTG_OK);
        cr_assert_eq(mtg_data_class_subset(tr, c, &tr_c, &err), MTG_OK);
        cr_assert_eq(mtg_data_class_subset(ho, c, &ho_c, &err), MTG_OK);
        cr_assert_eq(mtg_data_n(ho_c), class_counts[c] / 5, "class %d", c);
        cr_assert_eq(mtg_data_n(tr_c) + mtg_data_n(ho_c), class_counts[c]);
        /* Sample k of the class goes to held-out iff k % 5 == 4: each row lands in exactly one part. */
        int it = 0, ih = 0;
        for (int k = 0; k < class_counts[c]; k++) {
            const float *want = mtg_data_row(all_c, k);
            const float *got = k % 5 == 4 ? mtg_data_row(ho_c, ih++) : mtg_data_row(tr_c, it++);
            cr_assert_eq(memcmp(want, got, 64 * sizeof(float)), 0, "class %d sample %d", c, k);
        }
        for (int i = 0; i < mtg_data_n(ho_c); i++)
            cr_assert_eq(mtg_data_labels(ho_c)[i], c);
        mtg_data_free(all_c);
        mtg_data_free(tr_c);
        mtg_data_free(ho_c);
    }
    mtg_data_free(tr);
    mtg_data_free(ho);
    mtg_data_free(tr2);
    mtg_data_free(ho2);
    mtg_data_free(ds);
}

Test(digits, split_rejects_bad_every)
{
    struct mtg_dataset *ds = load_digits();
    struct mtg_err err = {0};
    struct mtg_dataset *tr, *ho;
    cr_assert_eq(mtg_data_split(ds, 1, &tr, &ho, &err), MTG_EINVAL);
    cr_assert_null(tr);
    cr_assert_null(ho);
    mtg_data_free(ds);
}

Test(digits, class_indices_and_subset_bounds)
{
    struct mtg_dataset *ds = load_digits();
    struct mtg_err err = {0};
    int *idx, n;
    cr_assert_eq(mtg_data_class_indices(ds, 8, &idx, &n, &err), MTG_OK);
    cr_assert_eq(n, 174);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(mtg_data_labels(ds)[idx[i]], 8);
        if (i > 0)
            cr_assert_gt(idx[i], idx[i - 1]);
    }
    free(idx);
    cr_assert_eq(mtg_data_class_indices(ds, 10, &idx, &n, &err), MTG_ERANGE);
    int bad[2] = {0, 1797};
    struct mtg_dataset *sub;
    cr_assert_eq(mtg_data_subset(ds, bad, 2, &sub, &err), MTG_ERANGE);
    cr_assert(strstr(err.msg, "1797") != NULL, "%s", err.msg);
    cr_assert_null(sub);
    mtg_data_free(ds);
}

Test(digits, truncated_gzip_is_rejected)
{
    make_tmpdir();
    char path[4096], bad[256];
    digits_path(path, sizeof path);
    size_t len;
    char *gz = read_file(path, &len);
    snprintf(bad, sizeof bad, "%s/truncated.csv.gz", tmpdir);
    write_raw(bad, gz, len / 2);
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;
    int rc = mtg_data_digits_load(bad, &ds, &err);
    cr_assert_eq(rc, MTG_EIO, "rc %d: %s", rc, err.msg);
    cr_assert_null(ds);
    cr_assert(strstr(err.msg, "truncated.csv.gz") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "corrupt or truncated gzip") != NULL, "%s", err.msg);
    free(gz);
    rm_tmp("truncated.csv.gz");
    rmdir(tmpdir);
}

Test(digits, corrupt_gzip_is_rejected)
{
    make_tmpdir();
    char path[4096], bad[256];
    digits_path(path, sizeof path);
    size_t len;
    char *gz = read_file(path, &len);
    /* Flip bytes inside the deflate stream: either inflate or the CRC check fails. */
    for (size_t i = len / 3; i < len / 3 + 16; i++)
        gz[i] = (char)(gz[i] ^ 0x5a);
    snprintf(bad, sizeof bad, "%s/corrupt.csv.gz", tmpdir);
    write_raw(bad, gz, len);
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;
    int rc = mtg_data_digits_load(bad, &ds, &err);
    cr_assert(rc == MTG_EIO || rc == MTG_EFORMAT, "rc %d: %s", rc, err.msg);
    cr_assert_null(ds);
    cr_assert(strstr(err.msg, "corrupt.csv.gz") != NULL, "%s", err.msg);
    free(gz);
    rm_tmp("corrupt.csv.gz");
    rmdir(tmpdir);
}

Test(digits, bad_csv_names_the_line)
{
    make_tmpdir();
    char l1[512], l2[512], text[2048], path[256];
    csv_line(l1, sizeof l1, 3, 7);
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;

    /* Line 2 has 64 columns. */
    csv_line(l2, sizeof l2, 1, 2);
    *strrchr(l2, ',') = '\n';
    *(strrchr(l2, '\n') + 1) = '\0';
    snprintf(text, sizeof text, "%s%s%s", l1, l2, l1);
    write_gz("short.csv.gz", text, path, sizeof path);
    cr_assert_eq(mtg_data_digits_load(path, &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "short.csv.gz:2:") != NULL, "%s", err.msg);
    cr_assert_null(ds);

    /* Pixel 17 on line 3. */
    csv_line(l2, sizeof l2, 17, 2);
    snprintf(text, sizeof text, "%s%s%s", l1, l1, l2);
    write_gz("range.csv.gz", text, path, sizeof path);
    cr_assert_eq(mtg_data_digits_load(path, &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "range.csv.gz:3: column 1: value 17") != NULL, "%s", err.msg);

    /* Label 10. */
    csv_line(l2, sizeof l2, 0, 10);
    write_gz("label.csv.gz", l2, path, sizeof path);
    cr_assert_eq(mtg_data_digits_load(path, &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "label.csv.gz:1: column 65") != NULL, "%s", err.msg);

    /* Non-numeric and signed fields, extra columns. */
    const char *bad_fields[] = {"x", "-1", "+1", " 1", "1.5", ""};
    for (size_t i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
        csv_line(l2, sizeof l2, 0, 1);
        snprintf(text, sizeof text, "%s,%s", bad_fields[i], l2 + 2);
        cr_assert_eq(mtg_data_digits_parse(text, strlen(text), "t", &ds, &err), MTG_EFORMAT,
                     "field '%s' accepted", bad_fields[i]);
        cr_assert(strstr(err.msg, "t:1:") != NULL, "%s", err.msg);
    }
    csv_line(l2, sizeof l2, 0, 1);
    *strrchr(l2, '\n') = '\0';
    snprintf(text, sizeof text, "%s,4\n", l2);
    cr_assert_eq(mtg_data_digits_parse(text, strlen(text), "t", &ds, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "more than 65") != NULL, "%s", err.msg);

    /* Empty input, and an embedded NUL. */
    cr_assert_eq(mtg_data_digits_parse("", 0, "t", &ds, &err), MTG_EFORMAT);
    csv_line(l2, sizeof l2, 0, 1);
    l2[5] = '\0';
    cr_assert_eq(mtg_data_digits_parse(l2, 100, "t", &ds, &err), MTG_EFORMAT);

    rm_tmp("short.csv.gz");
    rm_tmp("range.csv.gz");
    rm_tmp("label.csv.gz");
    rmdir(tmpdir);
}

Test(digits, good_csv_variants_parse)
{
    char l1[512], text[2048];
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;
    csv_line(l1, sizeof l1, 16, 9);
    /* No final newline, and CRLF line ends. */
    snprintf(text, sizeof text, "%s", l1);
    text[strlen(text) - 1] = '\0';
    cr_assert_eq(mtg_data_digits_parse(text, strlen(text), "t", &ds, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(ds), 1);
    cr_assert_eq(mtg_data_labels(ds)[0], 9);
    cr_assert_eq(mtg_data_row(ds, 0)[63], 1.0f);
    mtg_data_free(ds);
    char crlf[512];
    snprintf(crlf, sizeof crlf, "%s", l1);
    crlf[strlen(crlf) - 1] = '\0';
    snprintf(text, sizeof text, "%s\r\n%s\r\n", crlf, crlf);
    cr_assert_eq(mtg_data_digits_parse(text, strlen(text), "t", &ds, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_n(ds), 2);
    mtg_data_free(ds);
}

Test(digits, missing_file_is_not_found)
{
    struct mtg_err err = {0};
    struct mtg_dataset *ds = NULL;
    cr_assert_eq(mtg_data_digits_load("/nonexistent/digits.csv.gz", &ds, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "/nonexistent/digits.csv.gz") != NULL, "%s", err.msg);
}

Test(batch, with_replacement_draws_rows_of_the_pool)
{
    float pool[5 * 3];
    for (int i = 0; i < 15; i++)
        pool[i] = (float)(i / 3);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 7);
    float out[200 * 3];
    mtg_data_batch(pool, 5, 3, 200, &rng, out);
    int seen[5] = {0};
    for (int i = 0; i < 200; i++) {
        int r = (int)out[3 * i];
        cr_assert(r >= 0 && r < 5);
        cr_assert_eq(out[3 * i + 1], (float)r);
        cr_assert_eq(out[3 * i + 2], (float)r);
        seen[r]++;
    }
    for (int r = 0; r < 5; r++)
        cr_assert_gt(seen[r], 20, "row %d drawn %d times", r, seen[r]);
}

Test(batch, epoch_sampler_visits_each_row_once_per_epoch)
{
    struct mtg_err err = {0};
    struct mtg_data_epoch *ep, *ep2;
    cr_assert_eq(mtg_data_epoch_new(10, 3, &ep, &err), MTG_OK);
    cr_assert_eq(mtg_data_epoch_new(10, 3, &ep2, &err), MTG_OK);
    int idx[4], idx2[4], count[10] = {0};
    /* 5 batches of 4 = exactly 2 epochs. */
    for (int b = 0; b < 5; b++) {
        mtg_data_epoch_next(ep, 4, idx);
        mtg_data_epoch_next(ep2, 4, idx2);
        cr_assert_eq(memcmp(idx, idx2, sizeof idx), 0);
        for (int i = 0; i < 4; i++)
            count[idx[i]]++;
    }
    for (int r = 0; r < 10; r++)
        cr_assert_eq(count[r], 2, "row %d", r);
    cr_assert_eq(mtg_data_epoch_count(ep), 1);
    mtg_data_epoch_free(ep2);
    struct mtg_data_epoch *none;
    cr_assert_eq(mtg_data_epoch_new(0, 3, &none, &err), MTG_EINVAL);
    cr_assert_null(none);
    mtg_data_epoch_free(ep);
    mtg_data_epoch_free(NULL);
    float pool[3 * 2] = {0, 1, 2, 3, 4, 5}, out[2 * 2];
    int g[2] = {2, 0};
    mtg_data_gather(pool, 2, g, 2, out);
    cr_assert_eq(out[0], 4.0f);
    cr_assert_eq(out[3], 1.0f);
}
