"""The deployment schedule of the ``ssm`` op (declared in :mod:`nasx.ops.ssm`): ``ln`` (norm),
``in_proj`` (linear), ``scan`` (ssm, gate fused), ``out_proj`` (linear, residual add fused).
The scan's flash: ``exp(dt A)``, ``dt B``, ``C`` (``E x N`` each) and ``D`` (``E``), fp32.

Imported on first use by the registry, as :mod:`nasx.ops.conv_steps`.
"""

from __future__ import annotations

from nasx.predictors.cost.schedule import WORD, Step, act_bytes, linear_step, norm_step
from nasx.predictors.devices.profile import SSM


def ssm_steps(name: str, width: int, inner: int, state: int, wbits: int, abits: int,
              in_elem: int, length: int, streaming: bool) -> list[Step]:
    """SSM block: ``ln``, ``in_proj (W -> 2E)``, ``scan``, ``out_proj (E -> W)`` + residual.

    The scan costs ``3N + 2`` MACs per channel and step (``exp(dt A) h + dt B u``, ``C h``,
    ``D u``, the gate) and keeps its ``E x N`` state in 4-byte words (scratch; persistent when
    streaming).
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    uz, y = 2 * inner * t * ab, inner * t * ab
    h = WORD * inner * state
    scan = Step(f"{name}.scan", SSM, "fp32", (3 * state + 2) * inner * t,
                (3 * state + 2) * inner * t, uz, y, scratch_bytes=0 if streaming else h,
                pinned_bytes=x, state_bytes=h if streaming else 0,
                flash_bytes=WORD * (3 * inner * state + inner),
                params=3 * inner * state + 2 * inner)
    return [
        norm_step(f"{name}.ln", width, t, x, ab),
        linear_step(f"{name}.in_proj", width, 2 * inner, t, ab, width * t * ab, x, wbits, abits),
        scan,
        linear_step(f"{name}.out_proj", inner, width, t, ab, y, x, wbits, abits),
    ]
