/* Selective state-space block (Mamba-style), the part after the in-projection, in float.
 * Per step, from the signal u and the gate z of uz (2E):
 *   v   = silu(sum_k conv_w[e, k] u[t - K + 1 + k, e] + conv_b[e])    causal depthwise conv
 *   dbc = x_proj v                                                    (R + 2N): dt | B | C
 *   dt  = softplus(dt_w dbc[0:R] + dt_b)                              (E)
 *   h   = exp(dt A) h + (dt B) v,  y = (sum_n C h + D v) * silu(z)
 * Rows: mix (in = E, kernel = N, weight x_proj (R + 2N, E) float, aux[0] conv_w (E, K),
 * aux[1] conv_b (E), aux[2] A = -exp(A_log) (E, N), aux[3] D (E)); dt the dt_proj row
 * (out E, in R, float weight and bias). scratch: 2E + R + 2N floats. */
#include <math.h>
#include "nasx_rt.h"

static float softplus(float x) { /* torch's: beta 1, threshold 20 */
  return x > 20.0f ? x : log1pf(expf(x));
}

/* From the convolved column v (E) at scratch[0]: the scan step into y (E) and h (E, N). */
static void mamba_scan_step(const nasx_layer_t *mix, const nasx_layer_t *dt, const float *z,
                            float *y, float *h, float *scratch) {
  const int e_n = mix->in, n_n = mix->kernel, r_n = dt->in;
  const float *xp = (const float *)mix->weight, *dw = (const float *)dt->weight;
  const float *v = scratch;
  float *dbc = scratch + e_n, *dtv = dbc + r_n + 2 * n_n;
  int e, n, r;
  for (r = 0; r < r_n + 2 * n_n; ++r) {
    float acc = 0.0f;
    for (e = 0; e < e_n; ++e) acc += xp[(size_t)r * e_n + e] * v[e];
    dbc[r] = acc;
  }
  for (e = 0; e < e_n; ++e) {
    float acc = dt->bias[e];
    for (r = 0; r < r_n; ++r) acc += dw[(size_t)e * r_n + r] * dbc[r];
    dtv[e] = softplus(acc);
  }
  for (e = 0; e < e_n; ++e) {
    float acc = 0.0f;
    for (n = 0; n < n_n; ++n) {
      const size_t at = (size_t)e * n_n + n;
      h[at] = expf(dtv[e] * mix->aux[2][at]) * h[at] + dtv[e] * dbc[r_n + n] * v[e];
      acc += dbc[r_n + n_n + n] * h[at];
    }
    y[e] = (acc + mix->aux[3][e] * v[e]) * nasx_silu(z[e]);
  }
}

void nasx_mamba(const nasx_layer_t *mix, const nasx_layer_t *dt, int kernel, const float *uz,
                int length, float *y, float *h, float *scratch) {
  const int e_n = mix->in;
  int t, e, k;
  for (e = 0; e < e_n * mix->kernel; ++e) h[e] = 0.0f;
  for (t = 0; t < length; ++t) {
    for (e = 0; e < e_n; ++e) {
      float acc = mix->aux[1][e];
      for (k = 0; k < kernel; ++k) {
        const int s = t - kernel + 1 + k;
        if (s >= 0) acc += mix->aux[0][(size_t)e * kernel + k] * uz[(size_t)s * 2 * e_n + e];
      }
      scratch[e] = nasx_silu(acc);
    }
    mamba_scan_step(mix, dt, uz + (size_t)t * 2 * e_n + e_n, y + (size_t)t * e_n, h, scratch);
  }
}

void nasx_mamba_step(const nasx_layer_t *mix, const nasx_layer_t *dt, int kernel,
                     const float *window, const float *z, float *y, float *h, float *scratch) {
  const int e_n = mix->in;
  int e, k;
  for (e = 0; e < e_n; ++e) {
    float acc = mix->aux[1][e];
    for (k = 0; k < kernel; ++k)
      acc += mix->aux[0][(size_t)e * kernel + k] * window[(size_t)k * e_n + e];
    scratch[e] = nasx_silu(acc);
  }
  mamba_scan_step(mix, dt, z, y, h, scratch);
}
