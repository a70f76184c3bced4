/* Tests for src/wire/blob.h and f16.h: round trips, every decode rejection, fuzzing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/status.h"
#include "wire/blob.h"
#include "wire/f16.h"

/* ---- helpers ---- */

static float bits_f(uint32_t x)
{
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    return x;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    /* splitmix64: deterministic across runs so failures reproduce. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A hand-built byte buffer, for crafting blobs the encoder would never write. */
struct raw {
    uint8_t b[4096];
    size_t n;
};

static void r_u8(struct raw *r, unsigned v) { r->b[r->n++] = (uint8_t)v; }
static void r_u16(struct raw *r, unsigned v) { r_u8(r, v & 0xff); r_u8(r, (v >> 8) & 0xff); }
static void r_u32(struct raw *r, uint32_t v) { for (int i = 0; i < 4; i++) r_u8(r, (v >> (8 * i)) & 0xff); }
static void r_u64(struct raw *r, uint64_t v) { for (int i = 0; i < 8; i++) r_u8(r, (unsigned)(v >> (8 * i)) & 0xff); }
static void r_bytes(struct raw *r, const void *p, size_t n) { memcpy(r->b + r->n, p, n); r->n += n; }

static void r_header(struct raw *r, unsigned version, unsigned flags, uint32_t count)
{
    r->n = 0;
    r_bytes(r, "MTGB", 4);
    r_u16(r, version);
    r_u16(r, flags);
    r_u32(r, count);
}

/* Table entry with name, dtype, rank, dims and payload length. */
static void r_entry(struct raw *r, const char *name, size_t nlen, unsigned dtype, unsigned rank,
                    const uint32_t *dims, uint64_t plen)
{
    r_u16(r, (unsigned)nlen);
    r_bytes(r, name, nlen);
    r_u8(r, dtype);
    r_u8(r, rank);
    for (unsigned i = 0; i < rank; i++)
        r_u32(r, dims[i]);
    r_u64(r, plen);
}

static void r_zeros(struct raw *r, size_t n)
{
    memset(r->b + r->n, 0, n);
    r->n += n;
}

static void r_crc(struct raw *r)
{
    r_u32(r, (uint32_t)crc32(0, r->b, (uInt)r->n));
}

/* Decodes r and asserts the code and that the message contains want. */
static void expect_fail(const struct raw *r, const struct mtg_blob_limits *lim, int code,
                        const char *want)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = (struct mtg_blob *)0x1;
    int rc = mtg_blob_decode(r->b, r->n, lim, &b, &err);
    cr_assert_eq(rc, code, "rc %d (%s), want %d; msg: %s", rc, mtg_status_str(rc), code, err.msg);
    cr_assert_eq(err.code, code);
    cr_assert_null(b);
    cr_assert(strstr(err.msg, want) != NULL, "message \"%s\" lacks \"%s\"", err.msg, want);
    cr_assert(strncmp(err.msg, "blob: ", 6) == 0, "message \"%s\" lacks the blob: prefix", err.msg);
}

static struct mtg_blob *sample_blob(enum mtg_dtype dt)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_not_null(b);
    float w[6] = {1, -2, 3.5f, 0.25f, -0.0f, 1e-3f};
    float v[5] = {10, 20, 30, 40, 50};
    uint32_t d2[2] = {2, 3}, d1[1] = {5};
    cr_assert_eq(mtg_blob_add(b, "g.0.w", 2, d2, w, dt, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_add(b, "g.0.b", 1, d1, v, dt, &err), MTG_OK, "%s", err.msg);
    return b;
}

/* ---- f16 ---- */

Test(f16, all_halves_round_trip)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mtg_f16_to_f32((uint16_t)h);
        uint16_t back = mtg_f16_from_f32(f);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            cr_assert(isnan(f), "h=%04x should be NaN", h);
            cr_assert((back & 0x7c00) == 0x7c00 && (back & 0x3ff), "NaN stays NaN");
            cr_assert_eq(back & 0x8000, h & 0x8000, "NaN keeps its sign");
        } else {
            cr_assert_eq(back, h, "h=%04x -> %a -> %04x", h, (double)f, back);
        }
    }
}

Test(f16, edge_cases)
{
    cr_assert_eq(mtg_f16_from_f32(0.0f), 0x0000);
    cr_assert_eq(mtg_f16_from_f32(-0.0f), 0x8000);
    cr_assert_eq(mtg_f16_from_f32(1.0f), 0x3c00);
    cr_assert_eq(mtg_f16_from_f32(-2.0f), 0xc000);
    cr_assert_eq(mtg_f16_from_f32(65504.0f), 0x7bff);
    cr_assert_eq(mtg_f16_from_f32(65519.99f), 0x7bff, "below the tie rounds down");
    cr_assert_eq(mtg_f16_from_f32(65520.0f), 0x7c00, "tie to even is Inf");
    cr_assert_eq(mtg_f16_from_f32(1e10f), 0x7c00);
    cr_assert_eq(mtg_f16_from_f32(-1e10f), 0xfc00);
    cr_assert_eq(mtg_f16_from_f32(INFINITY), 0x7c00);
    cr_assert_eq(mtg_f16_from_f32(-INFINITY), 0xfc00);
    cr_assert_eq(mtg_f16_from_f32(NAN) & 0x7e00, 0x7e00);
    cr_assert(isnan(mtg_f16_to_f32(0x7e00)));
    cr_assert(isinf(mtg_f16_to_f32(0xfc00)) && mtg_f16_to_f32(0xfc00) < 0);
    /* subnormals: smallest 2^-24, largest 0x3ff * 2^-24, smallest normal 2^-14 */
    cr_assert_eq(mtg_f16_from_f32(0x1p-24f), 0x0001);
    cr_assert_eq(mtg_f16_from_f32(0x1p-25f), 0x0000, "exact half of min subnormal ties to 0");
    cr_assert_eq(mtg_f16_from_f32(0x1.000002p-25f), 0x0001, "just above the tie rounds up");
    cr_assert_eq(mtg_f16_from_f32(0x3p-25f), 0x0002, "1.5 ulp ties to even (2)");
    cr_assert_eq(mtg_f16_from_f32(-0x1p-24f), 0x8001);
    cr_assert_eq(mtg_f16_from_f32(0x1p-14f), 0x0400);
    cr_assert_eq(mtg_f16_from_f32(0x1.ffcp-15f), 0x0400, "tie at max subnormal + half ulp rounds to even: into the normals");
    cr_assert_eq(mtg_f16_from_f32(1e-40f), 0x0000, "float subnormal -> 0");
    cr_assert_eq(mtg_f16_to_f32(0x0001), 0x1p-24f);
    cr_assert_eq(mtg_f16_to_f32(0x03ff), 0x3ffp-24f);
    /* normal ties: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 -> even (1) */
    cr_assert_eq(mtg_f16_from_f32(1.0f + 0x1p-11f), 0x3c00);
    cr_assert_eq(mtg_f16_from_f32(1.0f + 3 * 0x1p-11f), 0x3c02, "tie rounds to even mantissa 2");
    cr_assert_eq(mtg_f16_from_f32(0.1f), 0x2e66);
}

/* Reference: the nearest half by exhaustive comparison with its neighbours. */
Test(f16, random_floats_round_to_nearest_even)
{
    for (int i = 0; i < 1000000; i++) {
        float f = bits_f((uint32_t)rnd());
        if (isnan(f) || fabsf(f) >= 65520.0f)
            continue;
        uint16_t h = mtg_f16_from_f32(f);
        double x = f, got = mtg_f16_to_f32(h);
        double e = fabs(got - x);
        for (int d = -1; d <= 1; d += 2) {
            uint16_t nb = (uint16_t)(h + d);
            if ((nb & 0x7c00) == 0x7c00 || ((h & 0x7fff) == 0 && d < 0))
                continue;
            double alt = mtg_f16_to_f32(nb);
            double ea = fabs(alt - x);
            cr_assert(e <= ea, "f=%a -> %04x (%a) but %04x (%a) is nearer", x, h, got, nb, alt);
            if (e == ea)
                cr_assert((h & 1) == 0, "tie at f=%a must pick even, got %04x", x, h);
        }
    }
}

Test(f16, bulk_matches_scalar)
{
    float src[3000];
    uint16_t dst[3000];
    float back[3000];
    for (int i = 0; i < 3000; i++)
        src[i] = bits_f((uint32_t)rnd());
    mtg_f16_from_f32_n(src, dst, 3000);
    mtg_f16_to_f32_n(dst, back, 3000);
    for (int i = 0; i < 3000; i++) {
        cr_assert_eq(dst[i], mtg_f16_from_f32(src[i]));
        cr_assert_eq(f_bits(back[i]), f_bits(mtg_f16_to_f32(dst[i])));
    }
}

/* ---- round trips ---- */

static void round_trip(enum mtg_dtype dt, unsigned flags)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = sample_blob(dt), *d = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(mtg_blob_encode(b, flags, &buf, &len, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(memcmp(buf, "MTGB", 4), 0);
    cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_count(d), 2);
    for (size_t i = 0; i < 2; i++) {
        const struct mtg_blob_tensor *x = mtg_blob_at(b, i), *y = mtg_blob_at(d, i);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(y->dtype, dt);
        cr_assert_eq(x->rank, y->rank);
        cr_assert_eq(x->n, y->n);
        for (int k = 0; k < x->rank; k++)
            cr_assert_eq(x->dims[k], y->dims[k]);
        for (size_t k = 0; k < x->n; k++) {
            float want = dt == MTG_DTYPE_F16 ? mtg_f16_to_f32(mtg_f16_from_f32(x->data[k])) : x->data[k];
            cr_assert_eq(f_bits(y->data[k]), f_bits(want), "%s[%zu]", x->name, k);
        }
    }
    cr_assert_eq(mtg_blob_find(d, "g.0.b"), mtg_blob_at(d, 1));
    cr_assert_null(mtg_blob_find(d, "g.0"));
    struct mtg_blob_info info;
    cr_assert_eq(mtg_blob_peek(buf, len, &info, &err), MTG_OK);
    cr_assert_eq(info.version, 1);
    cr_assert_eq(info.flags, flags);
    cr_assert_eq(info.count, 2);
    cr_assert_eq(info.bytes, len);
    free(buf);
    mtg_blob_free(b);
    mtg_blob_free(d);
}

Test(blob, round_trip_f32) { round_trip(MTG_DTYPE_F32, 0); }
Test(blob, round_trip_f16) { round_trip(MTG_DTYPE_F16, 0); }
Test(blob, round_trip_f32_zlib) { round_trip(MTG_DTYPE_F32, MTG_BLOB_ZLIB); }
Test(blob, round_trip_f16_zlib) { round_trip(MTG_DTYPE_F16, MTG_BLOB_ZLIB); }

Test(blob, exact_layout)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    float v[2] = {1.0f, -2.0f};
    uint32_t d[1] = {2};
    cr_assert_eq(mtg_blob_add(b, "ab", 1, d, v, MTG_DTYPE_F32, &err), MTG_OK);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(mtg_blob_encode(b, 0, &buf, &len, &err), MTG_OK);
    struct raw r;
    r_header(&r, 1, 0, 1);
    r_entry(&r, "ab", 2, 0, 1, d, 8);
    r_bytes(&r, v, 8); /* host is little-endian here */
    r_crc(&r);
    cr_assert_eq(len, r.n);
    cr_assert_eq(memcmp(buf, r.b, len), 0, "encoder output differs from the documented layout");
    free(buf);
    mtg_blob_free(b);
}

Test(blob, empty_blob_round_trips)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err), *d = NULL;
    uint8_t *buf;
    size_t len;
    for (unsigned flags = 0; flags <= MTG_BLOB_ZLIB; flags++) {
        cr_assert_eq(mtg_blob_encode(b, flags, &buf, &len, &err), MTG_OK, "%s", err.msg);
        cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK, "%s", err.msg);
        cr_assert_eq(mtg_blob_count(d), 0);
        mtg_blob_free(d);
        free(buf);
    }
    mtg_blob_free(b);
}

Test(blob, add_ref_alloc_truncate_and_many_tensors)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err), *d = NULL;
    float big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (float)i;
    uint32_t d1[1] = {100}, d4[4] = {1, 2, 3, 4};
    cr_assert_eq(mtg_blob_add_ref(b, "ref", 1, d1, big, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_blob_at(b, 0)->data, big, "add_ref borrows");
    float *p = mtg_blob_add_alloc(b, "alloc", 4, d4, MTG_DTYPE_F16, &err);
    cr_assert_not_null(p);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(p[i], 0.0f);
    p[23] = 7.0f;
    char name[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(mtg_blob_add(b, name, 1, d1, big, MTG_DTYPE_F16, &err), MTG_OK, "%s", err.msg);
    }
    cr_assert_eq(mtg_blob_count(b), 3002);
    cr_assert_eq(mtg_blob_find(b, "t2999"), mtg_blob_at(b, 3001));
    uint8_t *buf;
    size_t len;
    cr_assert_eq(mtg_blob_encode(b, MTG_BLOB_ZLIB, &buf, &len, &err), MTG_OK);
    cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_find(d, "alloc")->data[23], 7.0f);
    cr_assert_eq(mtg_blob_find(d, "t1234")->data[99], 99.0f);
    free(buf);
    mtg_blob_free(d);
    mtg_blob_truncate(b, 2);
    cr_assert_eq(mtg_blob_count(b), 2);
    cr_assert_null(mtg_blob_find(b, "t0"));
    cr_assert_eq(mtg_blob_add(b, "t0", 1, d1, big, MTG_DTYPE_F32, &err), MTG_OK, "name reusable");
    mtg_blob_free(b);
}

Test(blob, add_rejects_bad_arguments)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = sample_blob(MTG_DTYPE_F32);
    float v[4] = {0};
    uint32_t d1[1] = {4}, d0[1] = {0}, huge[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, 2};
    char longname[300];
    memset(longname, 'a', 299);
    longname[299] = '\0';
    cr_assert_eq(mtg_blob_add(b, "g.0.w", 1, d1, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "duplicate tensor name \"g.0.w\""), "%s", err.msg);
    cr_assert_eq(mtg_blob_add(b, "", 1, d1, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, longname, 1, d1, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "a\tb", 1, d1, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "x", 0, d1, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "rank 0"), "%s", err.msg);
    cr_assert_eq(mtg_blob_add(b, "x", 5, huge, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "x", 1, d0, v, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "x", 4, huge, v, MTG_DTYPE_F32, &err), MTG_ERANGE);
    cr_assert_eq(mtg_blob_add(b, "x", 1, d1, v, (enum mtg_dtype)7, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "x", 1, d1, NULL, MTG_DTYPE_F32, &err), MTG_EINVAL);
    cr_assert_eq(mtg_blob_add(b, "x", 1, d1, v, MTG_DTYPE_F32, NULL), MTG_OK, "err may be NULL");
    cr_assert_eq(mtg_blob_count(b), 3, "failed adds leave the blob unchanged");
    mtg_blob_free(b);
}

Test(blob, check_finite_names_tensor_and_index)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = sample_blob(MTG_DTYPE_F32);
    cr_assert_eq(mtg_blob_check_finite(b, &err), MTG_OK);
    float v[3] = {1, 2, NAN};
    uint32_t d[1] = {3};
    mtg_blob_add(b, "d.1.b", 1, d, v, MTG_DTYPE_F32, &err);
    cr_assert_eq(mtg_blob_check_finite(b, &err), MTG_ENOTFINITE);
    cr_assert(strstr(err.msg, "\"d.1.b\"") && strstr(err.msg, "NaN at index 2"), "%s", err.msg);
    mtg_blob_free(b);
}

Test(blob, file_round_trip_is_atomic)
{
    struct mtg_err err = {0};
    char dir[] = "/tmp/mtg_blob_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], tmp[300];
    snprintf(path, sizeof path, "%s/model.blob", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    struct mtg_blob *b = sample_blob(MTG_DTYPE_F16), *d = NULL;
    cr_assert_eq(mtg_blob_write_file(b, path, MTG_BLOB_ZLIB, &err), MTG_OK, "%s", err.msg);
    cr_assert_neq(access(tmp, F_OK), 0, "tmp file renamed away");
    cr_assert_eq(mtg_blob_read_file(path, NULL, &d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_count(d), 2);
    mtg_blob_free(d);
    struct mtg_blob_limits lim = mtg_blob_limits_default();
    lim.max_bytes = 10;
    cr_assert_eq(mtg_blob_read_file(path, &lim, &d, &err), MTG_ETOOBIG);
    cr_assert(strstr(err.msg, path), "%s", err.msg);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope.blob", dir);
    cr_assert_eq(mtg_blob_read_file(missing, NULL, &d, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "nope.blob"), "%s", err.msg);
    cr_assert_eq(mtg_blob_write_file(b, "/nonexistent-dir/x.blob", 0, &err), MTG_EIO);
    cr_assert(strstr(err.msg, "/nonexistent-dir/x.blob.tmp"), "%s", err.msg);
    unlink(path);
    rmdir(dir);
    mtg_blob_free(b);
}

/* ---- every rejection ---- */

static const uint32_t D4[1] = {4};

Test(reject, too_short) { struct raw r = {.n = 10}; memcpy(r.b, "MTGB", 4); expect_fail(&r, NULL, MTG_EFORMAT, "truncated"); }

Test(reject, bad_magic)
{
    struct raw r;
    r_header(&r, 1, 0, 0);
    r.b[0] = 'X';
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "bad magic");
}

Test(reject, wrong_version)
{
    struct raw r;
    r_header(&r, 2, 0, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EVERSION, "version 2");
}

Test(reject, unknown_flags)
{
    struct raw r;
    r_header(&r, 1, 0x8000, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "unknown flags 0x8000");
}

Test(reject, crc_mismatch)
{
    struct raw r;
    r_header(&r, 1, 0, 1);
    r_entry(&r, "x", 1, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    r.b[r.n - 1] ^= 0x40;
    expect_fail(&r, NULL, MTG_ECRC, "CRC mismatch");
}

Test(reject, unknown_dtype)
{
    struct raw r;
    r_header(&r, 1, 0, 1);
    r_entry(&r, "g.0.w", 5, 9, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "tensor \"g.0.w\" has unknown dtype 9");
}

Test(reject, rank_zero_and_five)
{
    struct raw r;
    uint32_t d5[5] = {1, 1, 1, 1, 4};
    r_header(&r, 1, 0, 1);
    r_entry(&r, "g.0.w", 5, 0, 0, D4, 0);
    r_zeros(&r, 8);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "tensor \"g.0.w\" has rank 0");
    r_header(&r, 1, 0, 1);
    r_entry(&r, "g.0.w", 5, 0, 5, d5, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "rank 5");
}

Test(reject, name_empty_long_nul_control)
{
    struct raw r;
    char longname[300];
    memset(longname, 'n', sizeof longname);
    r_header(&r, 1, 0, 1);
    r_entry(&r, "", 0, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "name length 0");
    r_header(&r, 1, 0, 1);
    r_entry(&r, longname, 256, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "name length 256");
    r_header(&r, 1, 0, 1);
    r_entry(&r, "ab\0c", 4, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "control byte 0x00 at 2");
    r_header(&r, 1, 0, 1);
    r_entry(&r, "ab\nc", 4, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "control byte 0x0a");
}

Test(reject, duplicate_names)
{
    struct raw r;
    r_header(&r, 1, 0, 2);
    r_entry(&r, "g.0.b", 5, 0, 1, D4, 16);
    r_entry(&r, "g.0.b", 5, 0, 1, D4, 16);
    r_zeros(&r, 32);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "duplicate tensor name \"g.0.b\"");
}

Test(reject, zero_dim)
{
    struct raw r;
    uint32_t d[2] = {3, 0};
    r_header(&r, 1, 0, 1);
    r_entry(&r, "z", 1, 0, 2, d, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "tensor \"z\" has dim 1 = 0");
}

Test(reject, payload_length_mismatch)
{
    struct raw r;
    r_header(&r, 1, 0, 1);
    r_entry(&r, "g.0.w", 5, 1, 1, D4, 16); /* f16: 4 elems need 8 bytes */
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "tensor \"g.0.w\" payload length 16 != 4 f16 elements * 2");
}

Test(reject, truncated_payload_and_table)
{
    struct raw r;
    uint32_t d[1] = {1024};
    r_header(&r, 1, 0, 1);
    r_entry(&r, "g.0.w", 5, 0, 1, d, 4096);
    r_zeros(&r, 1024);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "tensor \"g.0.w\" claims 4096 bytes but 1024 remain");
    /* table cut inside the dims */
    r_header(&r, 1, 0, 1);
    r_u16(&r, 5);
    r_bytes(&r, "g.0.w", 5);
    r_u8(&r, 0);
    r_u8(&r, 4);
    r_zeros(&r, 8);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "needs 4 dims and a payload length but 8 bytes remain");
    /* count says more tensors than there are bytes */
    r_header(&r, 1, 0, 3);
    r_entry(&r, "a", 1, 0, 1, D4, 16);
    r_zeros(&r, 16);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "truncated");
}

Test(reject, trailing_garbage)
{
    struct raw r;
    r_header(&r, 1, 0, 1);
    r_entry(&r, "x", 1, 0, 1, D4, 16);
    r_zeros(&r, 16 + 3);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "3 bytes of trailing garbage");
}

Test(reject, over_limits)
{
    struct mtg_blob_limits lim = mtg_blob_limits_default();
    struct raw r;
    r_header(&r, 1, 0, 2);
    r_entry(&r, "a", 1, 0, 1, D4, 16);
    r_entry(&r, "b", 1, 0, 1, D4, 16);
    r_zeros(&r, 32);
    r_crc(&r);
    lim.max_bytes = r.n - 1;
    expect_fail(&r, &lim, MTG_ETOOBIG, "over the limit");
    lim = mtg_blob_limits_default();
    lim.max_tensors = 1;
    expect_fail(&r, &lim, MTG_ETOOBIG, "2 tensors over the limit of 1");
    lim = mtg_blob_limits_default();
    lim.max_elems = 7;
    expect_fail(&r, &lim, MTG_ETOOBIG, "tensor \"b\" takes the blob over the limit of 7 elements");
}

Test(reject, dims_product_overflow)
{
    struct raw r;
    uint32_t d[4] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
    r_header(&r, 1, 0, 1);
    r_entry(&r, "huge", 4, 0, 4, d, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_ETOOBIG, "tensor \"huge\"");
}

/* Wraps table+payload bytes in a zlib body with the given raw_len / comp_len. */
static void r_zlib(struct raw *r, uint32_t count, const uint8_t *body, size_t blen,
                   int64_t raw_delta, int64_t comp_delta, int corrupt)
{
    uint8_t z[2048];
    uLongf zlen = sizeof z;
    cr_assert_eq(compress2(z, &zlen, body, blen, 6), Z_OK);
    if (corrupt)
        z[zlen / 2] ^= 0xff, z[zlen / 2 + 1] ^= 0x55;
    r_header(r, 1, MTG_BLOB_ZLIB, count);
    r_u64(r, (uint64_t)((int64_t)blen + raw_delta));
    r_u64(r, (uint64_t)((int64_t)zlen + comp_delta));
    r_bytes(r, z, zlen);
}

Test(reject, zlib_errors)
{
    struct raw t;
    t.n = 0;
    r_entry(&t, "x", 1, 0, 1, D4, 16);
    for (int i = 0; i < 16; i++)
        r_u8(&t, (unsigned)i * 7);
    struct raw r;

    r_zlib(&r, 1, t.b, t.n, 0, 0, 0);
    r_crc(&r);
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_blob_decode(r.b, r.n, NULL, &b, &err), MTG_OK, "control case: %s", err.msg);
    mtg_blob_free(b);

    r_zlib(&r, 1, t.b, t.n, -4, 0, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "raw_len");
    r_zlib(&r, 1, t.b, t.n, +4, 0, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "raw_len");
    r_zlib(&r, 1, t.b, t.n, 0, 0, 1);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "zlib");
    r_zlib(&r, 1, t.b, t.n, 0, +5, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "zlib stream claims");
    r_zlib(&r, 1, t.b, t.n, 0, 0, 0);
    r_u8(&r, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "trailing garbage after the zlib stream");
    r_zlib(&r, 1, t.b, t.n, (int64_t)300 << 20, 0, 0);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_ETOOBIG, "inflated size");
    r_header(&r, 1, MTG_BLOB_ZLIB, 1);
    r_u64(&r, 5);
    r_crc(&r);
    expect_fail(&r, NULL, MTG_EFORMAT, "zlib header needs 16 bytes");
}

/* ---- fuzzing ---- */

static void fuzz(unsigned flags)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = sample_blob(MTG_DTYPE_F16), *d;
    uint32_t d3[3] = {2, 2, 2};
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mtg_blob_add(b, "third", 3, d3, v, MTG_DTYPE_F32, &err);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(mtg_blob_encode(b, flags, &buf, &len, &err), MTG_OK);
    uint8_t *m = malloc(len + 16);
    int crc_fail = 0, parsed_ok = 0;

    /* 1. Byte flips and truncations with the original trailer: all must fail. */
    for (int it = 0; it < 3000; it++) {
        memcpy(m, buf, len);
        size_t mlen = len;
        if (it % 3 == 0) {
            mlen = (size_t)(rnd() % len);
        } else {
            int k = 1 + (int)(rnd() % 4);
            for (int j = 0; j < k; j++)
                m[rnd() % len] ^= (uint8_t)(1 + rnd() % 255);
            if (memcmp(m, buf, len) == 0)
                continue;
        }
        d = (struct mtg_blob *)0x1;
        int rc = mtg_blob_decode(m, mlen, NULL, &d, &err);
        cr_assert_neq(rc, MTG_OK, "mutation %d decoded", it);
        cr_assert_null(d);
        crc_fail += rc == MTG_ECRC;
    }
    cr_assert_gt(crc_fail, 1000);

    /* 2. Same mutations with a recomputed CRC: exercises the parser itself.
     *    Must never crash; a decode that succeeds must be self-consistent. */
    for (int it = 0; it < 3000; it++) {
        memcpy(m, buf, len);
        size_t mlen = len - 4;
        int k = 1 + (int)(rnd() % 3);
        for (int j = 0; j < k; j++)
            m[4 + rnd() % (mlen - 4)] ^= (uint8_t)(1 + rnd() % 255);
        if (it % 5 == 0)
            mlen = 12 + (size_t)(rnd() % (mlen - 12));
        uint32_t c = (uint32_t)crc32(0, m, (uInt)mlen);
        for (int i = 0; i < 4; i++)
            m[mlen + (size_t)i] = (uint8_t)(c >> (8 * i));
        d = NULL;
        int rc = mtg_blob_decode(m, mlen + 4, NULL, &d, &err);
        if (rc == MTG_OK) {
            parsed_ok++;
            for (size_t i = 0; i < mtg_blob_count(d); i++) {
                const struct mtg_blob_tensor *t = mtg_blob_at(d, i);
                volatile float s = 0;
                for (size_t e = 0; e < t->n; e++)
                    s += t->data[e];
                (void)s;
            }
            mtg_blob_free(d);
        } else {
            cr_assert_null(d);
            cr_assert_neq(rc, MTG_ECRC);
            cr_assert(err.msg[0] != '\0');
        }
    }
    cr_log_info("fuzz flags=%u: %d of 3000 CRC-fixed mutants still decoded", flags, parsed_ok);
    free(m);
    free(buf);
    mtg_blob_free(b);
}

Test(fuzz, mutations_plain) { fuzz(0); }
Test(fuzz, mutations_zlib) { fuzz(MTG_BLOB_ZLIB); }
