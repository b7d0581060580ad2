/* Multi-head scaled dot-product attention over the valid steps (the valid-length mask):
 * softmax(q k^T / sqrt(d)) v per head; causal layers see keys t' <= t. qkv rows hold
 * [q | k | v], each heads * d wide, head h at columns h * d .. h * d + d - 1. */
#include <math.h>
#include "nasx_rt.h"

void nasx_attention_row(const nasx_layer_t *l, const float *q, const float *keys,
                        const float *values, int ld, int count, float *out, float *scores) {
  const int heads = l->out, d = l->kernel;
  const float scale = 1.0f / sqrtf((float)d);
  int hd, j, c;
  for (hd = 0; hd < heads; ++hd) {
    const float *qh = q + hd * d;
    float top = -INFINITY, total = 0.0f;
    for (j = 0; j < count; ++j) {
      const float *kh = keys + (size_t)j * ld + hd * d;
      float dot = 0.0f;
      for (c = 0; c < d; ++c) dot += qh[c] * kh[c];
      scores[j] = dot * scale;
      if (scores[j] > top) top = scores[j];
    }
    for (j = 0; j < count; ++j) {
      scores[j] = expf(scores[j] - top);
      total += scores[j];
    }
    for (c = 0; c < d; ++c) {
      float acc = 0.0f;
      for (j = 0; j < count; ++j) acc += scores[j] * values[(size_t)j * ld + hd * d + c];
      out[hd * d + c] = acc / total;
    }
  }
}

void nasx_attention(const nasx_layer_t *l, const float *qkv, int length, float *out,
                    float *scores) {
  const int inner = l->out * l->kernel, ld = 3 * inner;
  int t;
  for (t = 0; t < length; ++t) {
    const int count = (l->flags & NASX_CAUSAL) ? t + 1 : length;
    nasx_attention_row(l, qkv + (size_t)t * ld, qkv + inner, qkv + 2 * inner, ld, count,
                       out + (size_t)t * inner, scores);
  }
}
