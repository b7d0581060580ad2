"""``golden.h`` and ``main.c``: validation inputs with the logits the exported torch module
gives them, and a program that runs the C model on each and checks the result.

``main.c`` prints one line per sample, ``golden <i> <argmax> <logit 0> ... <logit K-1>``
(``%.9g``), then ``summary n=<N> max_abs_diff=<d> argmax_agree=<A>``; for a causal subnet
then ``stream frames=<F> max_abs_diff=<d>``: ``step`` after every frame of the first
``NASX_STREAM_CHECKS`` samples against ``run`` on the frames so far. It exits 0 when the
rule holds (``NASX_GOLDEN_EXACT``: max |diff| <= 1e-4; else argmax agreement >= 99%), else 1.
Built with ``-DNASX_BOARD_TICKS`` it also prints ``ticks <i> <count>`` per sample from the
board's ``nasx_board_ticks()`` (the Cortex-M7 image's SysTick count, ``board/startup_cm7.c``).
"""

from __future__ import annotations

from torch import Tensor

from nasx.export.c_header import cfloat

FLOAT_TOL = 1e-4
MIN_AGREEMENT = 0.99


def _floats(name: str, values: list[float]) -> str:
    body = ",\n".join("  " + ", ".join(cfloat(v) for v in values[i:i + 8])
                      for i in range(0, len(values), 8))
    return f"static const float {name}[{max(len(values), 1)}] = {{\n{body or '  0.0f'}\n}};"


def _ints(name: str, values: list[int]) -> str:
    body = ", ".join(map(str, values)) or "0"
    return f"static const int {name}[{max(len(values), 1)}] = {{{body}}};"


def golden_header(x: Tensor, lengths: Tensor, logits: Tensor, exact: bool) -> str:
    """``golden.h``: raw inputs ``x (N, C, L)`` (written time-major, valid steps only), their
    ``lengths (N,)`` and expected ``logits (N, K)``; ``exact`` picks the check's rule."""
    flat, offsets = [], []
    for i, n in enumerate(lengths.tolist()):
        offsets.append(len(flat))
        flat += x[i, :, :n].t().reshape(-1).tolist()  # (n, C) time-major
    n, k = logits.shape
    return "\n".join([
        "/* nasx golden vectors: validation inputs (raw, time-major) and the logits of the",
        " * exported torch module. Generated file. */",
        "#ifndef NASX_GOLDEN_H", "#define NASX_GOLDEN_H",
        f"#define NASX_GOLDEN_N {n}", f"#define NASX_GOLDEN_K {k}",
        f"#define NASX_GOLDEN_EXACT {int(exact)}",
        f"#define NASX_GOLDEN_TOL {cfloat(FLOAT_TOL)}",
        _ints("nasx_golden_length", lengths.tolist()),
        _ints("nasx_golden_offset", offsets),
        _floats("nasx_golden_x", flat),
        _floats("nasx_golden_logits", logits.reshape(-1).tolist()),
        "#endif", ""])


def main_source(arch_id: str) -> str:
    """``main.c`` for the model ``nasx_<arch_id>``."""
    p = f"nasx_{arch_id}"
    return f"""/* Runs {p} on the golden inputs and checks its logits. Generated file. */
#include <math.h>
#include <stdio.h>
#include "model.h"
#include "golden.h"

#ifndef NASX_STREAM_CHECKS /* golden samples streamed frame by frame (causal subnets) */
#define NASX_STREAM_CHECKS 8
#endif
#ifdef NASX_BOARD_TICKS /* a monotonic tick count the board provides */
unsigned long nasx_board_ticks(void);
#endif

int main(void) {{
  static float logits[NASX_GOLDEN_K];
  float worst = 0.0f;
  int agree = 0, i, j;
  for (i = 0; i < NASX_GOLDEN_N; ++i) {{
    const float *want = nasx_golden_logits + (size_t)i * NASX_GOLDEN_K;
    int best = 0, ref = 0;
#ifdef NASX_BOARD_TICKS
    unsigned long t0 = nasx_board_ticks(), t1;
#endif
    if ({p}_run(nasx_golden_x + nasx_golden_offset[i], nasx_golden_length[i], logits) != 0) {{
      printf("error: sample %d: length %d refused\\n", i, nasx_golden_length[i]);
      return 2;
    }}
#ifdef NASX_BOARD_TICKS
    t1 = nasx_board_ticks();
    printf("ticks %d %lu\\n", i, t1 - t0);
#endif
    for (j = 0; j < NASX_GOLDEN_K; ++j) {{
      const float d = fabsf(logits[j] - want[j]);
      if (!(d <= worst)) worst = d; /* NaN makes worst NaN */
      if (logits[j] > logits[best]) best = j;
      if (want[j] > want[ref]) ref = j;
    }}
    agree += best == ref;
    printf("golden %d %d", i, best);
    for (j = 0; j < NASX_GOLDEN_K; ++j) printf(" %.9g", (double)logits[j]);
    printf("\\n");
  }}
  printf("summary n=%d max_abs_diff=%.9g argmax_agree=%d\\n", NASX_GOLDEN_N, (double)worst,
         agree);
#ifdef {p.upper()}_STREAMING
  {{ /* step() after every frame against run() on the frames so far */
    static float whole[NASX_GOLDEN_K];
    float sworst = 0.0f;
    int frames = 0, t;
    for (i = 0; i < NASX_GOLDEN_N && i < NASX_STREAM_CHECKS; ++i) {{
      const float *x = nasx_golden_x + nasx_golden_offset[i];
      {p}_reset();
      for (t = 0; t < nasx_golden_length[i]; ++t) {{
        if ({p}_step(x + (size_t)t * {p.upper()}_IN_CHANNELS, logits) != 0 ||
            {p}_run(x, t + 1, whole) != 0) {{
          printf("error: sample %d frame %d refused\\n", i, t);
          return 2;
        }}
        for (j = 0; j < NASX_GOLDEN_K; ++j) {{
          const float d = fabsf(logits[j] - whole[j]);
          if (!(d <= sworst)) sworst = d;
        }}
        ++frames;
      }}
    }}
    printf("stream frames=%d max_abs_diff=%.9g\\n", frames, (double)sworst);
  }}
#endif
  if (NASX_GOLDEN_EXACT) return worst <= NASX_GOLDEN_TOL ? 0 : 1;
  return agree * 100 >= NASX_GOLDEN_N * 99 ? 0 : 1;
}}
"""
