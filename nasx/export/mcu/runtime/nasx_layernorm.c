/* LayerNorm over the channels of each step: (x - mean) / sqrt(var + 1e-5) * gamma + beta,
 * population variance (as torch). aux[0] gamma, aux[1] beta. */
#include <math.h>
#include "nasx_rt.h"

void nasx_layernorm(const nasx_layer_t *l, const float *x, int length, float *y) {
  const int w = l->in;
  int t, c;
  for (t = 0; t < length; ++t) {
    const float *row = x + (size_t)t * w;
    float *dst = y + (size_t)t * w;
    float mean = 0.0f, var = 0.0f, inv;
    for (c = 0; c < w; ++c) mean += row[c];
    mean /= (float)w;
    for (c = 0; c < w; ++c) var += (row[c] - mean) * (row[c] - mean);
    var /= (float)w;
    inv = 1.0f / sqrtf(var + 1e-5f);
    for (c = 0; c < w; ++c) dst[c] = (row[c] - mean) * inv * l->aux[0][c] + l->aux[1][c];
  }
}
