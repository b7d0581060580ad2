/* Mean over the valid steps (the head's masked mean pool). */
#include "nasx_rt.h"

void nasx_mean_pool(const float *x, int length, int width, float *out) {
  int t, c;
  for (c = 0; c < width; ++c) out[c] = 0.0f;
  for (t = 0; t < length; ++t)
    for (c = 0; c < width; ++c) out[c] += x[(size_t)t * width + c];
  for (c = 0; c < width; ++c) out[c] /= (float)length;
}
