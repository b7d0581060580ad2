/* Weights and activation quantization as nasx trains them (symmetric, zero point 0).
 *
 * A weight of wbits < 32 is an integer code times its output row's scale; codes of 2..4 bits
 * are packed two per byte (low nibble first, 4-bit two's complement), 5..8 bits are int8,
 * 9..16 bits int16. An input of abits < 32 is rounded to the grid of act_scale:
 * q = clamp(round_half_even(x / s), -qmax, qmax), qmax = 2^(abits-1) - 1. */
#include <math.h>
#include "nasx_rt.h"

static size_t row_size(const nasx_layer_t *l) {
  return (size_t)(l->in / l->groups) * l->kernel;
}

int32_t nasx_code(const nasx_layer_t *l, size_t index) {
  if (l->wbits <= 4) {
    uint8_t byte = ((const uint8_t *)l->weight)[index / 2];
    int32_t nib = (index % 2) ? (byte >> 4) : (byte & 0x0F);
    return nib >= 8 ? nib - 16 : nib;
  }
  if (l->wbits <= 8) return ((const int8_t *)l->weight)[index];
  return ((const int16_t *)l->weight)[index];
}

float nasx_weight(const nasx_layer_t *l, size_t index) {
  if (l->wbits >= 32) return ((const float *)l->weight)[index];
  return (float)nasx_code(l, index) * l->scale[index / row_size(l)];
}

int nasx_int_path(const nasx_layer_t *l) {
  return l->wbits <= 8 && l->abits <= 8;
}

int32_t nasx_act_qmax(const nasx_layer_t *l) {
  return ((int32_t)1 << (l->abits - 1)) - 1;
}

static float grid(const nasx_layer_t *l, float x) {
  float q = rintf(x / l->act_scale); /* round half to even, as torch.round */
  float qmax = (float)nasx_act_qmax(l);
  return q > qmax ? qmax : (q < -qmax ? -qmax : q);
}

float nasx_fake_quant(const nasx_layer_t *l, float x) {
  if (l->abits >= 32) return x;
  return grid(l, x) * l->act_scale;
}

int8_t nasx_quant_int8(const nasx_layer_t *l, float x) {
  return (int8_t)grid(l, x);
}

void nasx_quantize(const nasx_layer_t *l, const float *x, size_t n, int8_t *q) {
  size_t i;
  for (i = 0; i < n; ++i) q[i] = (int8_t)grid(l, x[i]);
}

int8_t nasx_requantize(int32_t acc, const nasx_requant_t *rq, int o, int relu) {
  const int n = 31 + rq->shift[o];
  const int64_t v = (int64_t)acc * rq->mult[o] + rq->bias[o];
  const int64_t half = (int64_t)1 << (n - 1);
  /* round half away from zero on the magnitude (arithmetic shifts round towards -inf) */
  int64_t q = v >= 0 ? (v + half) >> n : -((-v + half) >> n);
  const int64_t lo = relu ? 0 : -rq->qmax;
  if (q > rq->qmax) q = rq->qmax;
  if (q < lo) q = lo;
  return (int8_t)q;
}
