/*
 * loss.h - losses with their gradients, numerically stable.
 *
 * BCE with logits uses  l(x, y) = max(x, 0) - x y + log1p(exp(-|x|)),
 * which never overflows, and  dl/dx = sigmoid(x) - y.
 */
#ifndef MTG_CORE_LOSS_H
#define MTG_CORE_LOSS_H

/*
 * Mean BCE-with-logits over n logits against a constant target y.
 * If grad is non-NULL, writes grad[i] = scale * (sigmoid(x_i) - y) / n.
 */
float mtg_loss_bce_logits(const float *logits, int n, float target, float *grad, float scale);

/*
 * Mean hinge loss relu(1 - sign x) over n logits (sign +1: real rows of D,
 * -1: fake rows). If grad is non-NULL, writes its gradient scaled by scale / n.
 */
float mtg_loss_hinge(const float *logits, int n, float sign, float *grad, float scale);

/* Numerically stable logistic function. */
float mtg_sigmoid(float x);

/*
 * Mean softmax cross-entropy over n rows of logits [n, classes] against
 * integer labels. If grad is non-NULL, writes (softmax - onehot) / n.
 */
float mtg_loss_softmax_xent(const float *logits, const int *labels, int n, int classes, float *grad);

/* Row-wise softmax of logits [n, classes] into probs (may alias logits). */
void mtg_softmax(const float *logits, int n, int classes, float *probs);

#endif
