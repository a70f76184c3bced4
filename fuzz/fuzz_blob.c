/*
 * fuzz_blob.c - the blob decoder (src/wire/blob_decode.c) on arbitrary
 * bytes with the default limits. Whatever decodes must survive a round
 * trip: encode it again with the same flags, decode that, and get the same
 * tensors (names, dtypes, shapes, values bit for bit, f16 NaNs compared as
 * NaN). Without zlib the re-encoding must also be byte-identical to the
 * input, since the format has exactly one encoding per blob.
 * An input whose CRC does not match is decoded as is (must fail cleanly)
 * and then again with its CRC rewritten, so mutations reach the parser.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "wire/blob.h"

static int same_float(float a, float b, enum mtg_dtype dt)
{
    if (memcmp(&a, &b, sizeof a) == 0)
        return 1;
    /* f16 NaN payloads widen into f32; the quiet bit may be set on the way. */
    return dt == MTG_DTYPE_F16 && isnan(a) && isnan(b);
}

static void check_same(const struct mtg_blob *a, const struct mtg_blob *b)
{
    FUZZ_CHECK(mtg_blob_count(a) == mtg_blob_count(b));
    for (size_t i = 0; i < mtg_blob_count(a); i++) {
        const struct mtg_blob_tensor *x = mtg_blob_at(a, i), *y = mtg_blob_at(b, i);
        FUZZ_CHECK(x && y);
        FUZZ_CHECK(strcmp(x->name, y->name) == 0);
        FUZZ_CHECK(mtg_blob_find(b, x->name) == y);
        FUZZ_CHECK(x->dtype == y->dtype && x->rank == y->rank && x->n == y->n);
        size_t n = 1;
        for (int r = 0; r < x->rank; r++) {
            FUZZ_CHECK(x->dims[r] == y->dims[r] && x->dims[r] >= 1);
            n *= x->dims[r];
        }
        FUZZ_CHECK(n == x->n);
        for (size_t k = 0; k < x->n; k++)
            FUZZ_CHECK(same_float(x->data[k], y->data[k], x->dtype));
    }
}

static int has_f16_nan(const struct mtg_blob *b)
{
    for (size_t i = 0; i < mtg_blob_count(b); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
        if (t->dtype != MTG_DTYPE_F16)
            continue;
        for (size_t k = 0; k < t->n; k++)
            if (isnan(t->data[k]))
                return 1;
    }
    return 0;
}

FUZZ_QUIET_INIT()

static void one(uint8_t *buf, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_memdup(data, size);
    struct mtg_blob *b = NULL;
    struct mtg_err err = {0};
    int rc = mtg_blob_decode(buf, size, NULL, &b, &err);
    mtg_blob_free(b);
    if (rc == MTG_ECRC)
        fuzz_fix_blob_crc(buf, size);
    one(buf, size);
    free(buf);
    return 0;
}

static void one(uint8_t *buf, size_t size)
{
    struct mtg_err err = {0};
    struct mtg_blob_info info;
    if (mtg_blob_peek(buf, size, &info, &err) != MTG_OK)
        fuzz_check_err(&err);
    struct mtg_blob *b = NULL;
    int rc = mtg_blob_decode(buf, size, NULL, &b, &err);
    if (rc != MTG_OK) {
        FUZZ_CHECK(b == NULL && rc < 0);
        fuzz_check_err(&err);
        return;
    }
    FUZZ_CHECK(mtg_blob_peek(buf, size, &info, &err) == MTG_OK);
    FUZZ_CHECK(info.count == mtg_blob_count(b) && info.bytes == size);
    (void)mtg_blob_check_finite(b, &err);

    uint8_t *enc = NULL;
    size_t enc_len = 0;
    FUZZ_CHECK(mtg_blob_encode(b, info.flags, &enc, &enc_len, &err) == MTG_OK);
    if (!(info.flags & MTG_BLOB_ZLIB) && !has_f16_nan(b))
        FUZZ_CHECK(enc_len == size && memcmp(enc, buf, size) == 0);
    struct mtg_blob *b2 = NULL;
    FUZZ_CHECK(mtg_blob_decode(enc, enc_len, NULL, &b2, &err) == MTG_OK);
    check_same(b, b2);
    mtg_blob_free(b2);
    free(enc);
    mtg_blob_free(b);
}
