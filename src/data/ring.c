#include "data/ring.h"

#include <math.h>
#include <stddef.h>

#include "core/rng.h"

void mtg_data_ring_centre(int mode, float out[2])
{
    /* Angle in double, so the centres are exact to float precision. */
    double a = 2.0 * M_PI * (double)mode / (double)MTG_DATA_RING_MODES;
    out[0] = (float)(MTG_DATA_RING_RADIUS * cos(a));
    out[1] = (float)(MTG_DATA_RING_RADIUS * sin(a));
}

void mtg_data_ring_sample_modes(struct mtg_rng *rng, int n, float *out, int *modes)
{
    for (int i = 0; i < n; i++) {
        int k = (int)mtg_rng_below(rng, MTG_DATA_RING_MODES);
        float c[2];
        mtg_data_ring_centre(k, c);
        out[2 * (size_t)i] = c[0] + MTG_DATA_RING_SIGMA * mtg_rng_normal(rng);
        out[2 * (size_t)i + 1] = c[1] + MTG_DATA_RING_SIGMA * mtg_rng_normal(rng);
        if (modes)
            modes[i] = k;
    }
}

void mtg_data_ring_sample(struct mtg_rng *rng, int n, float *out)
{
    mtg_data_ring_sample_modes(rng, n, out, NULL);
}
