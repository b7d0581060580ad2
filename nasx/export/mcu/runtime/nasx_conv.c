/* conv1d and linear layers (a linear layer is a conv of kernel 1), BatchNorm folded.
 *
 * Padding: 'same' (k / 2 steps each side, odd k) or causal (k - 1 steps on the left); steps
 * outside [0, lin) read as zero. Output length ceil(lin / stride).
 *
 * Int path (wbits <= 8 and abits <= 8): the input is quantized once to int8 codes, each
 * output is an int32 sum of code products, then either rescaled by act_scale * scale[o] and
 * biased (float out), or requantised in fixed point straight into the next layer's int8 grid
 * (nasx_conv1d_int8 with a nasx_requant_t: int8 out, no float in between).
 * Float path: fake-quantized input times the dequantized weight (code * scale[o]). */
#include "nasx_rt.h"

static float finish(const nasx_layer_t *l, float v, const float *residual, size_t at) {
  if (l->flags & NASX_RELU) v = v > 0.0f ? v : 0.0f;
  if (l->flags & NASX_GELU) v = nasx_gelu(v);
  if (residual) v += residual[at];
  return v;
}

/* One output of the int path: the int32 sum of code products of output o at step t. */
static int32_t int_sum(const nasx_layer_t *l, const int8_t *xq, int lin, int t, int o) {
  const int k = l->kernel, in = l->in, ipg = in / l->groups, opg = l->out / l->groups;
  const int left = (l->flags & NASX_CAUSAL) ? k - 1 : k / 2;
  const int g0 = (o / opg) * ipg;
  const size_t row = (size_t)o * ipg * k;
  int32_t acc = 0;
  int j, c;
  for (j = 0; j < k; ++j) {
    const int ti = t * l->stride - left + j;
    if (ti < 0 || ti >= lin) continue;
    for (c = 0; c < ipg; ++c)
      acc += (int32_t)xq[(size_t)ti * in + g0 + c] * nasx_code(l, row + (size_t)c * k + j);
  }
  return acc;
}

int nasx_conv1d_int8(const nasx_layer_t *l, const int8_t *xq, int lin, void *y,
                     const nasx_requant_t *rq, const float *residual) {
  const int out = l->out, lout = (lin + l->stride - 1) / l->stride;
  int t, o;
  for (t = 0; t < lout; ++t) {
    for (o = 0; o < out; ++o) {
      const int32_t acc = int_sum(l, xq, lin, t, o);
      const size_t at = (size_t)t * out + o;
      if (rq) {
        ((int8_t *)y)[at] = nasx_requantize(acc, rq, o, (l->flags & NASX_RELU) != 0);
      } else {
        float v = (float)acc * (l->act_scale * l->scale[o]);
        if (l->bias) v += l->bias[o];
        ((float *)y)[at] = finish(l, v, residual, at);
      }
    }
  }
  return lout;
}

int nasx_conv1d(const nasx_layer_t *l, const float *x, int lin, float *y,
                const float *residual, nasx_scratch_t s) {
  const int k = l->kernel, stride = l->stride, in = l->in, out = l->out;
  const int ipg = in / l->groups, opg = out / l->groups;
  const int left = (l->flags & NASX_CAUSAL) ? k - 1 : k / 2;
  const int lout = (lin + stride - 1) / stride;
  size_t n = (size_t)lin * in, i;
  int t, o, j, c;
  if (nasx_int_path(l)) {
    for (i = 0; i < n; ++i) s.q[i] = nasx_quant_int8(l, x[i]);
    return nasx_conv1d_int8(l, s.q, lin, y, NULL, residual);
  }
  if (l->abits < 32) {
    for (i = 0; i < n; ++i) s.f[i] = nasx_fake_quant(l, x[i]);
    x = s.f;
  }
  for (t = 0; t < lout; ++t) {
    for (o = 0; o < out; ++o) {
      const int g0 = (o / opg) * ipg;
      const size_t row = (size_t)o * ipg * k;
      float acc = 0.0f;
      for (j = 0; j < k; ++j) {
        const int ti = t * stride - left + j;
        if (ti < 0 || ti >= lin) continue;
        for (c = 0; c < ipg; ++c)
          acc += x[(size_t)ti * in + g0 + c] * nasx_weight(l, row + (size_t)c * k + j);
      }
      if (l->bias) acc += l->bias[o];
      y[(size_t)t * out + o] = finish(l, acc, residual, (size_t)t * out + o);
    }
  }
  return lout;
}

void nasx_window_push(float *window, int kernel, int in, const float *frame) {
  size_t i, n = (size_t)(kernel - 1) * in;
  for (i = 0; i < n; ++i) window[i] = window[i + in];
  for (i = 0; i < (size_t)in; ++i) window[n + i] = frame[i];
}

void nasx_conv1d_window(const nasx_layer_t *l, const float *window, float *y,
                        const float *residual, nasx_scratch_t s) {
  /* the window is a causal conv's whole receptive field: one output at its last frame */
  nasx_layer_t one = *l;
  float *full = s.f; /* (kernel, out): outputs at every window position, the last one kept */
  int o;
  one.stride = 1;
  one.flags = (uint8_t)((l->flags & ~NASX_RESIDUAL) | NASX_CAUSAL);
  s.f = full + (size_t)l->kernel * l->out;
  (void)nasx_conv1d(&one, window, l->kernel, full, NULL, s);
  for (o = 0; o < l->out; ++o)
    y[o] = full[(size_t)(l->kernel - 1) * l->out + o] + (residual ? residual[o] : 0.0f);
}
