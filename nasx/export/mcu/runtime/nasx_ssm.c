/* Diagonal state-space scan (S4D-style), recurrent form: per inner channel e and state n,
 * h = exp(dt A) h + dt B u;  y = (sum_n C h + D u) * silu(z).
 * aux[0] exp(dt A) (E, N), aux[1] dt B (E, N), aux[2] C (E, N), aux[3] D (E). */
#include "nasx_rt.h"

void nasx_ssm_step(const nasx_layer_t *l, const float *uz, float *y, float *h) {
  const int e_n = l->in, n_n = l->kernel;
  int e, n;
  for (e = 0; e < e_n; ++e) {
    const float u = uz[e], z = uz[e_n + e];
    float acc = 0.0f;
    for (n = 0; n < n_n; ++n) {
      const size_t at = (size_t)e * n_n + n;
      h[at] = l->aux[0][at] * h[at] + l->aux[1][at] * u;
      acc += l->aux[2][at] * h[at];
    }
    y[e] = (acc + l->aux[3][e] * u) * nasx_silu(z);
  }
}

void nasx_ssm(const nasx_layer_t *l, const float *uz, int length, float *y, float *h) {
  const int e_n = l->in;
  int t, i;
  for (i = 0; i < e_n * l->kernel; ++i) h[i] = 0.0f;
  for (t = 0; t < length; ++t)
    nasx_ssm_step(l, uz + (size_t)t * 2 * e_n, y + (size_t)t * e_n, h);
}
