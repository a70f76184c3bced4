/*
 * f16.h - IEEE 754 binary16 <-> binary32 conversion, the f16 wire dtype of
 * blobs (half the bytes of f32 for deltas and batches). Pure integer bit
 * manipulation, so results do not depend on the FPU rounding mode or on
 * flush-to-zero settings.
 *
 *     uint16_t h = mtg_f16_from_f32(0.1f);     // 0x2e66
 *     float back = mtg_f16_to_f32(h);           // 0.0999755859375f
 *     mtg_f16_from_f32_n(src, dst, n);          // bulk, same rounding
 *
 * Float to half rounds to nearest, ties to even; magnitudes >= 65520 give
 * +-Inf, values below the smallest half subnormal give +-0, NaN stays a
 * quiet NaN with its sign. Half to float is exact.
 */
#ifndef MTG_WIRE_F16_H
#define MTG_WIRE_F16_H

#include <stddef.h>
#include <stdint.h>

uint16_t mtg_f16_from_f32(float f);
float mtg_f16_to_f32(uint16_t h);
void mtg_f16_from_f32_n(const float *src, uint16_t *dst, size_t n);
void mtg_f16_to_f32_n(const uint16_t *src, float *dst, size_t n);

#endif
