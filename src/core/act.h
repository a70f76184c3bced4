/*
 * act.h - the activation functions a network layer can apply (DESIGN §4),
 * as ids that appear in configs, specs and blobs, and their names.
 *
 *     enum mtg_act a;
 *     if (mtg_act_parse("leaky_relu", &a) != MTG_OK) ...   // config value
 *     printf("%s\n", mtg_act_name(a));                      // "leaky_relu"
 *
 * The arithmetic lives with the network (core/net.h: fused into every
 * layer, or standalone as MTG_OP_ACT).
 */
#ifndef MTG_CORE_ACT_H
#define MTG_CORE_ACT_H

/* Activation ids appear in configs and blobs: only ever append. */
enum mtg_act {
    MTG_ACT_NONE = 0,
    MTG_ACT_RELU = 1,
    MTG_ACT_LEAKY_RELU = 2,
    MTG_ACT_SIGMOID = 3,
    MTG_ACT_TANH = 4,
};

/* The last id: valid ids are 0..MTG_ACT_LAST. */
#define MTG_ACT_LAST MTG_ACT_TANH

/* "none|relu|leaky_relu|sigmoid|tanh" <-> enum; parse returns 0 (MTG_OK) or MTG_EINVAL. */
int mtg_act_parse(const char *name, enum mtg_act *out);
/* The name of act, or "unknown" for an id outside the enum. */
const char *mtg_act_name(enum mtg_act act);

#endif
