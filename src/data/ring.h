/*
 * ring.h - the 2-D "8-Gaussian ring": a mixture of 8 equally weighted
 * isotropic Gaussians with means on a circle of radius 2 and standard
 * deviation 0.02: the mode-collapse benchmark of Metz et al. 2017, "Unrolled
 * Generative Adversarial Networks" (ICLR), Appendix A, with the same numbers
 * as VEEGAN (Srivastava et al. 2017, §5.1) so results compare. Rows are
 * [x, y] float32; its quality metrics live in quality/ring.h.
 *
 *     float pts[2 * 512];
 *     int modes[512];
 *     mtg_data_ring_sample_modes(&rng, 512, pts, modes);
 *     float c[2];
 *     mtg_data_ring_centre(modes[0], c);
 */
#ifndef MTG_DATA_RING_H
#define MTG_DATA_RING_H

struct mtg_rng;

#define MTG_DATA_RING_MODES 8
#define MTG_DATA_RING_RADIUS 2.0f
#define MTG_DATA_RING_SIGMA 0.02f
#define MTG_DATA_RING_DIM 2

/* Centre of mode k (0 <= k < 8): radius * (cos 2πk/8, sin 2πk/8). */
void mtg_data_ring_centre(int mode, float out[2]);

/* n points into out [n, 2]; the mode of each point is uniform over the 8. */
void mtg_data_ring_sample(struct mtg_rng *rng, int n, float *out);

/* Same, and records each point's mode in modes[n] (may be NULL). */
void mtg_data_ring_sample_modes(struct mtg_rng *rng, int n, float *out, int *modes);

#endif
