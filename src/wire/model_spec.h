/*
 * model_spec.h - a network's architecture (struct mtg_net_spec) as one blob
 * tensor, so a blob of parameters says how to rebuild the net that reads
 * them: a conv generator round-trips through a file like a dense one.
 *
 *     mtg_model_spec_to_blob(mtg_net_get_spec(g), "g", blob, &err);   // "spec.g.net"
 *     struct mtg_net_spec s;
 *     int rc = mtg_model_spec_from_blob(blob, "g", &s, &err);  // MTG_ENOTFOUND: an older blob
 *
 * Tensor "spec.<prefix>.net", f32 (every value below is exact in f32),
 * shape [1 + n_layers, MTG_MODEL_SPEC_COLS]:
 *   row 0:      format (MTG_MODEL_SPEC_FORMAT), in C, in H, in W, n_layers,
 *               leaky_slope, bn_momentum, bn_eps, 0, 0
 *   row 1 + i:  layer i: op, out, kernel, stride, pad, shape C, shape H,
 *               shape W, act, group
 * (enum mtg_op and enum mtg_act values, which are only ever appended to).
 * A future format adds a new version number; this reader refuses versions
 * it does not know, by name.
 */
#ifndef MTG_WIRE_MODEL_SPEC_H
#define MTG_WIRE_MODEL_SPEC_H

#include "wire/blob.h"

struct mtg_err;
struct mtg_net_spec;

#define MTG_MODEL_SPEC_FORMAT 1
#define MTG_MODEL_SPEC_COLS 10

/*
 * Adds "spec.<prefix>.net" for spec as given (a zero setting stays zero,
 * which means the default; mtg_net_get_spec() of a net gives the resolved
 * values). prefix: 1..200 bytes. MTG_EINVAL when a value would not be exact
 * in f32; on failure b is unchanged.
 */
int mtg_model_spec_to_blob(const struct mtg_net_spec *spec, const char *prefix, struct mtg_blob *b,
                           struct mtg_err *err);

/*
 * Reads "spec.<prefix>.net" into *out. MTG_ENOTFOUND when b has no such
 * tensor; MTG_EFORMAT naming the tensor, row and column for a wrong shape,
 * an unknown format, a non-integer where an integer belongs, or a spec
 * that mtg_net_spec_validate() refuses (its message included).
 */
int mtg_model_spec_from_blob(const struct mtg_blob *b, const char *prefix, struct mtg_net_spec *out,
                             struct mtg_err *err);

#endif
