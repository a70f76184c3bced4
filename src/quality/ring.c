#include "quality/ring.h"

#include <string.h>

#include "core/status.h"

int mtg_quality_ring_eval(const float *samples, int n, int min_count, struct mtg_quality_ring *out,
                          struct mtg_err *err)
{
    if (!samples || !out)
        return mtg_err_set(err, MTG_EINVAL, "ring quality: NULL argument");
    if (n < 1)
        return mtg_err_set(err, MTG_EINVAL, "ring quality: %d samples, need >= 1", n);
    if (min_count <= 0)
        min_count = n / 100 > 1 ? n / 100 : 1;
    memset(out, 0, sizeof *out);
    float centre[MTG_DATA_RING_MODES][2];
    for (int k = 0; k < MTG_DATA_RING_MODES; k++)
        mtg_data_ring_centre(k, centre[k]);
    const float lim = 3.0f * MTG_DATA_RING_SIGMA;
    long hq = 0;
    for (int i = 0; i < n; i++) {
        float x = samples[2 * (size_t)i], y = samples[2 * (size_t)i + 1];
        int best = -1;
        float best_d2 = 0.0f;
        for (int k = 0; k < MTG_DATA_RING_MODES; k++) {
            float dx = x - centre[k][0], dy = y - centre[k][1];
            float d2 = dx * dx + dy * dy;
            if (best < 0 || d2 < best_d2) {
                best = k;
                best_d2 = d2;
            }
        }
        /* A NaN distance fails this comparison, so NaN samples are never high quality. */
        if (best_d2 <= lim * lim) {
            hq++;
            out->per_mode[best]++;
        }
    }
    for (int k = 0; k < MTG_DATA_RING_MODES; k++)
        out->modes_covered += out->per_mode[k] >= min_count;
    out->high_quality = (double)hq / (double)n;
    return MTG_OK;
}
