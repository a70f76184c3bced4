/*
 * model.h - network parameters <-> blob tensors. Each parameter tensor of
 * a network (core/net.h: mtg_net_tensor) becomes one blob tensor named
 * "<prefix>.<layer>.<name>" with the tensor's own shape: a dense layer i
 * gives "<prefix>.<i>.w" [in, out] and "<prefix>.<i>.b" [out], a conv layer
 * "<prefix>.<i>.w" [out_c, in_c, k, k] (convT [in_c, out_c, k, k]) and
 * ".b", a batch norm ".gamma", ".beta", ".rmean", ".rvar" [C]. So one blob
 * can carry several networks ("g" and "d") and a reader can check every
 * shape by name. A dense net converted from an mlp spec has its dense
 * layers at indices 0..n-1, so blobs written before mtg_net read as ever.
 *
 *     mtg_model_to_blob(gen, "g", MTG_DTYPE_F32, blob, &err);      // copies
 *     mtg_model_from_blob(gen, "g", blob, &err);                   // all or nothing
 *     // Deltas: flat arrays laid out like mtg_net_params(gen).
 *     mtg_model_flat_to_blob(gen, delta, "g", MTG_DTYPE_F16, false, blob, &err);
 *     mtg_model_flat_from_blob(gen, delta, "g", blob, &err);
 *
 * The net passed to the flat variants only supplies the layout (tensor
 * shapes and offsets); its own parameters are not touched.
 */
#ifndef MTG_WIRE_MODEL_H
#define MTG_WIRE_MODEL_H

#include <stdbool.h>

#include "wire/blob.h"

struct mtg_err;
struct mtg_net;

/*
 * Adds copies of net's parameters to b as "<prefix>.<layer>.<name>" with
 * the given wire dtype. prefix: 1..200 printable bytes. On failure b is
 * left as it was (tensors added so far are removed).
 */
int mtg_model_to_blob(const struct mtg_net *net, const char *prefix, enum mtg_dtype dtype,
                      struct mtg_blob *b, struct mtg_err *err);

/*
 * Copies "<prefix>.*" tensors of b into net's parameters. Validates first
 * that every parameter tensor is present with the right shape and that no
 * other "<prefix>." tensor exists; only then copies, so on failure net is
 * unchanged. MTG_ENOTFOUND (missing tensor) or MTG_EFORMAT (wrong shape,
 * unexpected tensor), naming the tensor and both shapes.
 */
int mtg_model_from_blob(struct mtg_net *net, const char *prefix, const struct mtg_blob *b,
                        struct mtg_err *err);

/*
 * As mtg_model_to_blob, for a flat array with the layout of
 * mtg_net_params(shape) (mtg_net_param_count(shape) floats). With borrow
 * the blob points into flat (no copy) and the caller keeps flat alive and
 * unchanged until b is freed.
 */
int mtg_model_flat_to_blob(const struct mtg_net *shape, const float *flat, const char *prefix,
                           enum mtg_dtype dtype, bool borrow, struct mtg_blob *b,
                           struct mtg_err *err);

/*
 * As mtg_model_from_blob, into a caller-owned flat array of
 * mtg_net_param_count(shape) floats; all or nothing.
 */
int mtg_model_flat_from_blob(const struct mtg_net *shape, float *flat, const char *prefix,
                             const struct mtg_blob *b, struct mtg_err *err);

#endif
