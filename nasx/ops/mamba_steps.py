"""The deployment schedule of the ``mamba`` op (declared in :mod:`nasx.ops.mamba`): ``ln``
(norm), ``in_proj`` (linear), ``mix`` (one fp32 kernel, the ssm device class), ``out_proj``
(linear, residual add fused).

Imported on first use by the registry, as :mod:`nasx.ops.conv_steps`.
"""

from __future__ import annotations

from nasx.ops.mamba import CONV_KERNEL, dt_rank, mix_macs, mix_params
from nasx.predictors.cost.schedule import WORD, Step, act_bytes, linear_step, norm_step
from nasx.predictors.devices.profile import SSM


def mamba_steps(name: str, width: int, inner: int, state: int, wbits: int, abits: int,
                in_elem: int, length: int, streaming: bool) -> list[Step]:
    """Mamba block: ``ln``, ``in_proj (W -> 2E)``, ``mix``, ``out_proj (E -> W)`` + residual.

    ``mix`` is one fp32 kernel that walks the sequence (convolution, ``x_proj``, ``dt_proj``,
    scan and gate per step; :func:`~nasx.ops.mamba.mix_macs`). Scratch words: the convolved
    column and ``dt`` (``E`` each), ``dt|B|C`` (``R + 2N``) and the state ``h`` (``E x N``;
    persistent when streaming, as is the convolution's window of ``K - 1`` signal columns).
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    r, h = dt_rank(width), WORD * inner * state
    per_step = WORD * (2 * inner + r + 2 * state)
    window = (CONV_KERNEL - 1) * inner * ab
    macs, params = mix_macs(inner, state, r) * t, mix_params(inner, state, r)
    mix = Step(f"{name}.mix", SSM, "fp32", macs, macs, 2 * inner * t * ab, inner * t * ab,
               scratch_bytes=per_step + (0 if streaming else h), pinned_bytes=x,
               state_bytes=h + window if streaming else 0, flash_bytes=WORD * params,
               params=params)
    return [
        norm_step(f"{name}.ln", width, t, x, ab),
        linear_step(f"{name}.in_proj", width, 2 * inner, t, ab, width * t * ab, x, wbits, abits),
        mix,
        linear_step(f"{name}.out_proj", inner, width, t, ab, inner * t * ab, x, wbits, abits),
    ]
