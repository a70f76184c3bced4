#include "wire/f16.h"

#include <string.h>

/*
 * Bit patterns used below (binary32 magnitudes):
 *   0x7f800000 = Inf          0x477ff000 = 65520, the tie between 65504
 *   0x38800000 = 2^-14        (largest half) and 2^16; ties go to even = Inf
 *   0x33000000 = 2^-25        (half of the smallest half subnormal 2^-24)
 */
static inline uint16_t half_from_bits(uint32_t x)
{
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & 0x7fffffffu;
    uint32_t h;

    if (a >= 0x7f800000u) {
        h = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (a >= 0x477ff000u) {
        h = 0x7c00u;
    } else if (a >= 0x38800000u) {
        /* Rebias the exponent (127 -> 15) and drop 13 mantissa bits; adding
         * 0xfff plus the kept lsb rounds ties to even, and a mantissa carry
         * correctly bumps the exponent. */
        h = (a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13;
    } else if (a > 0x33000000u) {
        /* Half subnormal: value = q * 2^-24 with q = m * 2^(e-150) / 2^-24,
         * i.e. the 24-bit significand shifted right by 126 - e (14..24). */
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7fffffu) | 0x800000u;
        uint32_t s = 126u - e;
        uint32_t q = m >> s;
        uint32_t rem = m & ((1u << s) - 1u);
        uint32_t halfway = 1u << (s - 1u);
        q += (rem > halfway) | ((rem == halfway) & q & 1u);
        h = q; /* q may reach 0x400: the smallest normal, which is right */
    } else {
        h = 0;
    }
    return (uint16_t)(sign | h);
}

static inline float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    uint32_t bits;
    float f;

    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (m << 13); /* Inf, or NaN keeping its payload */
    } else if (e != 0) {
        bits = sign | ((e + 112u) << 23) | (m << 13);
    } else {
        /* Zero or subnormal: m * 2^-24 is exact in binary32. */
        f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t mtg_f16_from_f32(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    return half_from_bits(x);
}

float mtg_f16_to_f32(uint16_t h)
{
    return half_to_float(h);
}

void mtg_f16_from_f32_n(const float *src, uint16_t *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, &src[i], sizeof x);
        dst[i] = half_from_bits(x);
    }
}

void mtg_f16_to_f32_n(const uint16_t *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = half_to_float(src[i]);
}
