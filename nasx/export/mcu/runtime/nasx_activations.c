/* Pointwise activations: exact (erf) GELU as torch's default, SiLU, sigmoid. */
#include <math.h>
#include "nasx_rt.h"

float nasx_gelu(float x) {
  return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

float nasx_sigmoid(float x) {
  return 1.0f / (1.0f + expf(-x));
}

float nasx_silu(float x) {
  return x * nasx_sigmoid(x);
}
