#include "core/rng.h"

#include <math.h>

/* splitmix64 (Steele, Lea & Flood 2014): expands one seed into xoshiro state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mtg_rng_seed(struct mtg_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

void mtg_rng_fork(const struct mtg_rng *parent, uint64_t stream, struct mtg_rng *child)
{
    uint64_t x = parent->s[0] ^ rotl(parent->s[1], 17) ^ rotl(parent->s[2], 31) ^ parent->s[3];
    x ^= splitmix64(&stream);
    mtg_rng_seed(child, x);
}

/* FNV-1a over a string, then splitmix64 to spread it: cheap and stable across platforms. */
static uint64_t mix_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= 0xff; /* separator, so ("ab", "c") and ("a", "bc") differ */
    return splitmix64(&h);
}

uint64_t mtg_rng_key(uint64_t seed, const char *a, const char *b, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    h = mix_str(h, a);
    h = mix_str(h, b);
    h ^= n;
    return splitmix64(&h);
}

/* xoshiro256** (Blackman & Vigna 2018). */
uint64_t mtg_rng_u64(struct mtg_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mtg_rng_uniform(struct mtg_rng *rng) { return (double)(mtg_rng_u64(rng) >> 11) * 0x1.0p-53; }

uint64_t mtg_rng_below(struct mtg_rng *rng, uint64_t n)
{
    /* Rejection keeps the result unbiased for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = mtg_rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

float mtg_rng_normal(struct mtg_rng *rng)
{
    double u1 = mtg_rng_uniform(rng);
    double u2 = mtg_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void mtg_rng_fill_normal(struct mtg_rng *rng, float *out, size_t n, float mean, float std)
{
    /* Box-Muller yields pairs; use both halves. Single precision is plenty for latents. */
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        float u1 = (float)((mtg_rng_u64(rng) >> 40) + 1) * 0x1.0p-24f; /* (0, 1] */
        float u2 = (float)(mtg_rng_u64(rng) >> 40) * 0x1.0p-24f;
        float r = sqrtf(-2.0f * logf(u1));
        float a = 6.2831853f * u2;
        out[i] = mean + std * r * cosf(a);
        out[i + 1] = mean + std * r * sinf(a);
    }
    if (i < n)
        out[i] = mean + std * mtg_rng_normal(rng);
}

void mtg_rng_fill_uniform(struct mtg_rng *rng, float *out, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)(mtg_rng_u64(rng) >> 40) * 0x1.0p-24f;
}

void mtg_rng_shuffle(struct mtg_rng *rng, int *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mtg_rng_below(rng, i);
        int t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}
