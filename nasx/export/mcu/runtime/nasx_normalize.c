/* The raw input's preprocessing, as the run's training data had it: 1 per channel
 * (x - mean[c]) / std[c]; 2 per series: each channel z-scored over its own valid steps
 * (population std, floored at 1e-6); 0 none. */
#include <math.h>
#include "nasx_rt.h"

void nasx_normalize(int mode, const float *mean, const float *std, const float *x,
                    int length, int channels, float *y) {
  int t, c;
  for (c = 0; c < channels; ++c) {
    float m = 0.0f, s = 1.0f;
    if (mode == 1) {
      m = mean[c];
      s = std[c];
    } else if (mode == 2) {
      float var = 0.0f;
      for (t = 0; t < length; ++t) m += x[(size_t)t * channels + c];
      m /= (float)length;
      for (t = 0; t < length; ++t) {
        const float d = x[(size_t)t * channels + c] - m;
        var += d * d;
      }
      s = sqrtf(var / (float)length);
      if (s < 1e-6f) s = 1e-6f;
    }
    for (t = 0; t < length; ++t) {
      const size_t at = (size_t)t * channels + c;
      y[at] = mode ? (x[at] - m) / s : x[at];
    }
  }
}
