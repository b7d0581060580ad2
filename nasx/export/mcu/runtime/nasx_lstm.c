/* Unidirectional LSTM (gate order i, f, g, o, as torch): per step
 * gates = W_ih x + b_ih (precomputed) + W_hh h + b_hh; c = f c + i g; h = o tanh(c).
 * The recurrent input h stays float; W_hh may be quantized (dequantized per element). */
#include <math.h>
#include "nasx_rt.h"

void nasx_lstm_step(const nasx_layer_t *hh, float *g, float *h, float *c) {
  const int hid = hh->in;
  int r, j;
  for (r = 0; r < 4 * hid; ++r) {
    float acc = hh->bias ? hh->bias[r] : 0.0f;
    for (j = 0; j < hid; ++j) acc += nasx_weight(hh, (size_t)r * hid + j) * h[j];
    g[r] += acc;
  }
  for (j = 0; j < hid; ++j) {
    const float i = nasx_sigmoid(g[j]), f = nasx_sigmoid(g[hid + j]);
    const float cell = tanhf(g[2 * hid + j]), o = nasx_sigmoid(g[3 * hid + j]);
    c[j] = f * c[j] + i * cell;
    h[j] = o * tanhf(c[j]);
  }
}

void nasx_lstm(const nasx_layer_t *hh, float *gates, int length, float *out, float *h,
               float *c) {
  const int hid = hh->in;
  int t, j;
  for (j = 0; j < hid; ++j) h[j] = c[j] = 0.0f;
  for (t = 0; t < length; ++t) {
    nasx_lstm_step(hh, gates + (size_t)t * 4 * hid, h, c);
    for (j = 0; j < hid; ++j) out[(size_t)t * hid + j] = h[j];
  }
}
