/* Unidirectional GRU (gate order r, z, n, as torch): per step, with gi = W_ih x + b_ih
 * (precomputed for every step) and gh = W_hh h + b_hh:
 *   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r gh_n),
 *   h = (1 - z) n + z h.
 * gh is kept apart from gi because r multiplies only the recurrent part of n. The recurrent
 * input h stays float; W_hh may be quantized (dequantized per element). */
#include <math.h>
#include "nasx_rt.h"

void nasx_gru_step(const nasx_layer_t *hh, const float *gi, float *gh, float *h) {
  const int hid = hh->in;
  int r, j;
  for (r = 0; r < 3 * hid; ++r) {
    float acc = hh->bias ? hh->bias[r] : 0.0f;
    for (j = 0; j < hid; ++j) acc += nasx_weight(hh, (size_t)r * hid + j) * h[j];
    gh[r] = acc;
  }
  for (j = 0; j < hid; ++j) {
    const float reset = nasx_sigmoid(gi[j] + gh[j]);
    const float update = nasx_sigmoid(gi[hid + j] + gh[hid + j]);
    const float cand = tanhf(gi[2 * hid + j] + reset * gh[2 * hid + j]);
    h[j] = (1.0f - update) * cand + update * h[j];
  }
}

void nasx_gru(const nasx_layer_t *hh, const float *gates, int length, float *out, float *h,
              float *gh) {
  const int hid = hh->in;
  int t, j;
  for (j = 0; j < hid; ++j) h[j] = 0.0f;
  for (t = 0; t < length; ++t) {
    nasx_gru_step(hh, gates + (size_t)t * 3 * hid, gh, h);
    for (j = 0; j < hid; ++j) out[(size_t)t * hid + j] = h[j];
  }
}
