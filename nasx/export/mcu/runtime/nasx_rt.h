/* nasx C runtime (C99, no malloc): kernels over time-major buffers x[t * channels + c].
 *
 * Every kernel works on the valid steps of one sequence only; steps outside [0, length) read
 * as zeros (the zero padding of 'same' and causal convolutions). Buffers come from the model's
 * static arena (model.c); nothing here allocates. */
#ifndef NASX_RT_H
#define NASX_RT_H
#include "nasx_types.h"

/* Scratch a kernel may use for its quantized input: q holds int8 codes (int path), f floats
 * (fake-quantized float path); each at least length * in elements of the largest layer. */
typedef struct {
  int8_t *q;
  float *f;
} nasx_scratch_t;

/* nasx_quant.c: weights and activation quantization. */
float nasx_weight(const nasx_layer_t *l, size_t index);     /* code * scale[row] or float */
int32_t nasx_code(const nasx_layer_t *l, size_t index);     /* integer code (wbits <= 16) */
int nasx_int_path(const nasx_layer_t *l);                   /* int8 x int8 -> int32 */
int32_t nasx_act_qmax(const nasx_layer_t *l);
float nasx_fake_quant(const nasx_layer_t *l, float x);      /* round to the input grid */
int8_t nasx_quant_int8(const nasx_layer_t *l, float x);     /* the int8 code of x */
void nasx_quantize(const nasx_layer_t *l, const float *x, size_t n, int8_t *q);

/* Fixed-point requantisation of an int32 accumulator into the next layer's int8 grid:
 * q = clamp(round((acc * mult[o] + bias[o]) / 2^(31 + shift[o])), lo, qmax), lo = 0 after a
 * ReLU, else -qmax; mult[o] in [2^30, 2^31) (Q31), bias[o] the bias over the next layer's
 * scale on the same 2^(31 + shift[o]) scale (int64). */
typedef struct {
  const int32_t *mult;
  const int8_t *shift;
  const int64_t *bias;
  int32_t qmax;
} nasx_requant_t;
int8_t nasx_requantize(int32_t acc, const nasx_requant_t *rq, int o, int relu);

/* nasx_conv.c: conv1d / linear (kernel 1), BatchNorm folded; ReLU / GELU / residual flags.
 * x (lin, in) -> y (lout, out), lout = ceil(lin / stride); residual (lout, out) or NULL
 * (may alias y). Returns lout. */
int nasx_conv1d(const nasx_layer_t *l, const float *x, int lin, float *y,
                const float *residual, nasx_scratch_t s);
/* The int path on input codes xq (lin, in) already in l's grid: with rq, y is int8_t codes in
 * the next layer's grid (requantised, ReLU as the lower clamp); without, float as above. */
int nasx_conv1d_int8(const nasx_layer_t *l, const int8_t *xq, int lin, void *y,
                     const nasx_requant_t *rq, const float *residual);

/* Streaming: window (kernel, in) holds the last kernel input frames, oldest first; shift it by
 * one frame and append frame (in). nasx_conv1d_window computes the causal conv's output at the
 * newest frame into y (out); residual (out) or NULL. */
void nasx_window_push(float *window, int kernel, int in, const float *frame);
void nasx_conv1d_window(const nasx_layer_t *l, const float *window, float *y,
                        const float *residual, nasx_scratch_t s);

/* nasx_layernorm.c: per step over l->in channels (eps 1e-5); y may alias x. */
void nasx_layernorm(const nasx_layer_t *l, const float *x, int length, float *y);

/* nasx_lstm.c: gates (length, 4H) hold W_ih x + b_ih on entry; h, c (H) the state.
 * out (length, H). nasx_lstm_step advances one step from the gate row g (4H). */
void nasx_lstm(const nasx_layer_t *hh, float *gates, int length, float *out, float *h,
               float *c);
void nasx_lstm_step(const nasx_layer_t *hh, float *g, float *h, float *c);

/* nasx_gru.c: gates (length, 3H) hold W_ih x + b_ih on entry; h (H) the state, gh (3H)
 * scratch for W_hh h + b_hh. out (length, H). nasx_gru_step advances one step from gi (3H). */
void nasx_gru(const nasx_layer_t *hh, const float *gates, int length, float *out, float *h,
              float *gh);
void nasx_gru_step(const nasx_layer_t *hh, const float *gi, float *gh, float *h);

/* nasx_ssm.c: uz (length, 2E) -> y (length, E), state h (E * N). */
void nasx_ssm(const nasx_layer_t *l, const float *uz, int length, float *y, float *h);
void nasx_ssm_step(const nasx_layer_t *l, const float *uz, float *y, float *h); /* one step */

/* nasx_mamba.c: the selective SSM after the in-projection: uz (length, 2E) -> y (length, E),
 * state h (E * N), scratch 2E + R + 2N floats; kernel the causal conv's K. The step reads the
 * conv window (K, E) of the last K signal frames (oldest first) and the gate z (E). */
void nasx_mamba(const nasx_layer_t *mix, const nasx_layer_t *dt, int kernel, const float *uz,
                int length, float *y, float *h, float *scratch);
void nasx_mamba_step(const nasx_layer_t *mix, const nasx_layer_t *dt, int kernel,
                     const float *window, const float *z, float *y, float *h, float *scratch);

/* nasx_attention.c: qkv (length, 3 * heads * d) -> out (length, heads * d); scores (length).
 * Keys are the valid steps (the valid-length mask); causal layers see keys <= the query. */
void nasx_attention(const nasx_layer_t *l, const float *qkv, int length, float *out,
                    float *scores);
/* One query row q (heads * d) against cached keys/values (count, heads * d) of stride ld. */
void nasx_attention_row(const nasx_layer_t *l, const float *q, const float *keys,
                        const float *values, int ld, int count, float *out, float *scores);

/* nasx_pool.c: mean over the length valid steps of x (length, width) -> out (width). */
void nasx_mean_pool(const float *x, int length, int width, float *out);

/* nasx_normalize.c: the raw input's preprocessing; mode 0 none, 1 per channel, 2 per series.
 * x (length, channels) -> y (length, channels). */
void nasx_normalize(int mode, const float *mean, const float *std, const float *x,
                    int length, int channels, float *y);

/* nasx_activations.c */
float nasx_gelu(float x);
float nasx_silu(float x);
float nasx_sigmoid(float x);
#endif
