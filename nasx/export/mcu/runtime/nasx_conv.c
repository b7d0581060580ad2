/* conv1d and linear layers (a linear layer is a conv of kernel 1), BatchNorm folded.
 *
 * Padding: 'same' (k / 2 steps each side, odd k) or causal (k - 1 steps on the left); steps
 * outside [0, lin) read as zero. Output length ceil(lin / stride).
 *
 * Int path (wbits <= 8 and abits <= 8): the input is quantized once to int8 codes, each
 * output is an int32 sum of code products, rescaled by act_scale * scale[o] and biased.
 * Float path: fake-quantized input times the dequantized weight (code * scale[o]). */
#include "nasx_rt.h"

static float finish(const nasx_layer_t *l, float v, const float *residual, size_t at) {
  if (l->flags & NASX_RELU) v = v > 0.0f ? v : 0.0f;
  if (l->flags & NASX_GELU) v = nasx_gelu(v);
  if (residual) v += residual[at];
  return v;
}

int nasx_conv1d(const nasx_layer_t *l, const float *x, int lin, float *y,
                const float *residual, nasx_scratch_t s) {
  const int k = l->kernel, stride = l->stride, in = l->in, out = l->out;
  const int ipg = in / l->groups, opg = out / l->groups;
  const int left = (l->flags & NASX_CAUSAL) ? k - 1 : k / 2;
  const int lout = (lin + stride - 1) / stride;
  const int use_int = nasx_int_path(l);
  size_t n = (size_t)lin * in, i;
  int t, o, j, c;
  if (use_int) {
    for (i = 0; i < n; ++i) s.q[i] = nasx_quant_int8(l, x[i]);
  } else if (l->abits < 32) {
    for (i = 0; i < n; ++i) s.f[i] = nasx_fake_quant(l, x[i]);
    x = s.f;
  }
  for (t = 0; t < lout; ++t) {
    for (o = 0; o < out; ++o) {
      const int g0 = (o / opg) * ipg;
      const size_t row = (size_t)o * ipg * k;
      float acc = 0.0f;
      int32_t iacc = 0;
      for (j = 0; j < k; ++j) {
        const int ti = t * stride - left + j;
        if (ti < 0 || ti >= lin) continue;
        for (c = 0; c < ipg; ++c) {
          const size_t w = row + (size_t)c * k + j, at = (size_t)ti * in + g0 + c;
          if (use_int) iacc += (int32_t)s.q[at] * nasx_code(l, w);
          else acc += x[at] * nasx_weight(l, w);
        }
      }
      if (use_int) acc = (float)iacc * (l->act_scale * l->scale[o]);
      if (l->bias) acc += l->bias[o];
      y[(size_t)t * out + o] = finish(l, acc, residual, (size_t)t * out + o);
    }
  }
  return lout;
}
