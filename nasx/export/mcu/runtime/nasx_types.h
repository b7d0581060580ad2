/* nasx C runtime: the layer table type shared by model.h and the runtime (C99). */
#ifndef NASX_TYPES_DEFINED
#define NASX_TYPES_DEFINED
#include <stdint.h>
#include <stddef.h>
enum { NASX_CONV, NASX_LINEAR, NASX_LAYERNORM, NASX_LSTM_INPUT, NASX_LSTM_RECURRENT,
       NASX_SSM, NASX_ATTENTION, NASX_MEAN_POOL };
enum { NASX_RELU = 1, NASX_GELU = 2, NASX_RESIDUAL = 4, NASX_CAUSAL = 8 };
typedef struct {
  const char *name;    /* tensor prefix in model.safetensors */
  uint8_t kind;        /* NASX_CONV ... */
  uint8_t flags;       /* NASX_RELU | NASX_GELU | NASX_RESIDUAL | NASX_CAUSAL */
  uint8_t wbits;       /* 2..16: integer codes, w = code * scale[out]; 32: float32 */
  uint8_t abits;       /* input bits: q = clamp(round(x / act_scale), +-(2^(abits-1)-1)) */
  uint16_t out, in, kernel, stride, groups;
  float act_scale;     /* 0 when the input stays float */
  const void *weight;  /* float, int8_t, int16_t, or uint8_t (4-bit pairs, low nibble first) */
  const float *scale;  /* per output channel; NULL for float weights */
  const float *bias;
  const float *aux[4]; /* kind-specific float arrays (see model.h) */
} nasx_layer_t;
#endif
