/*
 * model.h - MLP parameters <-> blob tensors. Each dense layer i of a
 * network becomes two tensors, "<prefix>.<i>.w" [in, out] and
 * "<prefix>.<i>.b" [out], so one blob can carry several networks
 * ("g" and "d") and a reader can check every shape by name.
 *
 *     mtg_model_to_blob(gen, "g", MTG_DTYPE_F32, blob, &err);      // copies
 *     mtg_model_from_blob(gen, "g", blob, &err);                   // all or nothing
 *     // Deltas: flat arrays laid out like mtg_mlp_params(gen).
 *     mtg_model_flat_to_blob(gen, delta, "g", MTG_DTYPE_F16, false, blob, &err);
 *     mtg_model_flat_from_blob(gen, delta, "g", blob, &err);
 *
 * The mlp passed to the flat variants only supplies the layout (layer
 * sizes and offsets); its own parameters are not touched.
 */
#ifndef MTG_WIRE_MODEL_H
#define MTG_WIRE_MODEL_H

#include <stdbool.h>

#include "wire/blob.h"

struct mtg_err;
struct mtg_mlp;

/*
 * Adds copies of m's parameters to b as "<prefix>.<i>.w" / ".b" with the
 * given wire dtype. prefix: 1..200 printable bytes. On failure b is left
 * as it was (tensors added so far are removed).
 */
int mtg_model_to_blob(const struct mtg_mlp *m, const char *prefix, enum mtg_dtype dtype,
                      struct mtg_blob *b, struct mtg_err *err);

/*
 * Copies "<prefix>.*" tensors of b into m's parameters. Validates first
 * that every layer's w and b are present with the right shape and that no
 * other "<prefix>." tensor exists; only then copies, so on failure m is
 * unchanged. MTG_ENOTFOUND (missing tensor) or MTG_EFORMAT (wrong shape,
 * unexpected tensor), naming the tensor and both shapes.
 */
int mtg_model_from_blob(struct mtg_mlp *m, const char *prefix, const struct mtg_blob *b,
                        struct mtg_err *err);

/*
 * As mtg_model_to_blob, for a flat array with the layout of
 * mtg_mlp_params(shape) (mtg_mlp_param_count(shape) floats). With borrow
 * the blob points into flat (no copy) and the caller keeps flat alive and
 * unchanged until b is freed.
 */
int mtg_model_flat_to_blob(const struct mtg_mlp *shape, const float *flat, const char *prefix,
                           enum mtg_dtype dtype, bool borrow, struct mtg_blob *b,
                           struct mtg_err *err);

/*
 * As mtg_model_from_blob, into a caller-owned flat array of
 * mtg_mlp_param_count(shape) floats; all or nothing.
 */
int mtg_model_flat_from_blob(const struct mtg_mlp *shape, float *flat, const char *prefix,
                             const struct mtg_blob *b, struct mtg_err *err);

#endif
