#include "core/loss.h"

#include <math.h>
#include <stddef.h>

float mtg_sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

float mtg_loss_bce_logits(const float *logits, int n, float target, float *grad, float scale)
{
    double sum = 0.0;
    float g = scale / (float)n;
    for (int i = 0; i < n; i++) {
        float x = logits[i];
        /* max(x,0) - x*y + log1p(exp(-|x|)): finite for every finite x. */
        sum += (double)(fmaxf(x, 0.0f) - x * target + log1pf(expf(-fabsf(x))));
        if (grad)
            grad[i] = g * (mtg_sigmoid(x) - target);
    }
    return (float)(sum / n);
}

float mtg_loss_hinge(const float *logits, int n, float sign, float *grad, float scale)
{
    double sum = 0.0;
    float g = scale / (float)n;
    for (int i = 0; i < n; i++) {
        float m = 1.0f - sign * logits[i];
        sum += m > 0.0f ? m : 0.0f;
        if (grad)
            grad[i] = m > 0.0f ? -sign * g : 0.0f;
    }
    return (float)(sum / n);
}

void mtg_softmax(const float *logits, int n, int classes, float *probs)
{
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * classes;
        float *p = probs + (size_t)r * classes;
        float mx = x[0];
        for (int c = 1; c < classes; c++)
            mx = fmaxf(mx, x[c]);
        float s = 0.0f;
        for (int c = 0; c < classes; c++) {
            p[c] = expf(x[c] - mx);
            s += p[c];
        }
        for (int c = 0; c < classes; c++)
            p[c] /= s;
    }
}

float mtg_loss_softmax_xent(const float *logits, const int *labels, int n, int classes, float *grad)
{
    double sum = 0.0;
    for (int r = 0; r < n; r++) {
        const float *x = logits + (size_t)r * classes;
        float mx = x[0];
        for (int c = 1; c < classes; c++)
            mx = fmaxf(mx, x[c]);
        double s = 0.0;
        for (int c = 0; c < classes; c++)
            s += exp((double)(x[c] - mx));
        double lse = (double)mx + log(s);
        sum += lse - (double)x[labels[r]];
        if (grad) {
            float *g = grad + (size_t)r * classes;
            for (int c = 0; c < classes; c++)
                g[c] = (float)(exp((double)x[c] - lse) - (c == labels[r] ? 1.0 : 0.0)) / (float)n;
        }
    }
    return (float)(sum / n);
}
