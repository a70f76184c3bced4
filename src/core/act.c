/* Activation names (act.h); the functions themselves are in net_ops_act.c. */
#include "core/act.h"
#include "core/status.h"

#include <string.h>

static const char *const act_names[] = {
    [MTG_ACT_NONE] = "none",
    [MTG_ACT_RELU] = "relu",
    [MTG_ACT_LEAKY_RELU] = "leaky_relu",
    [MTG_ACT_SIGMOID] = "sigmoid",
    [MTG_ACT_TANH] = "tanh",
};
#define N_ACTS ((int)(sizeof act_names / sizeof act_names[0]))

int mtg_act_parse(const char *name, enum mtg_act *out)
{
    for (int i = 0; name && i < N_ACTS; i++) {
        if (strcmp(name, act_names[i]) == 0) {
            *out = (enum mtg_act)i;
            return MTG_OK;
        }
    }
    return MTG_EINVAL;
}

const char *mtg_act_name(enum mtg_act act)
{
    return (int)act >= 0 && (int)act < N_ACTS ? act_names[act] : "unknown";
}
