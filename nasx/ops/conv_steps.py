"""The deployment schedule of the ``conv`` op (declared in :mod:`nasx.ops.conv`): ``pw1``
(conv), ``dw`` (dwconv), ``pw2`` (conv, residual add fused); BatchNorm folded.

Imported on first use by the registry (it reads the cost model's step primitives, whose package
imports the registry).
"""

from __future__ import annotations

from nasx.predictors.cost.schedule import Step, act_bytes, layer_flash, weight_step
from nasx.predictors.devices.profile import CONV, DWCONV


def mbconv_steps(name: str, width: int, hidden: int, k: int, wbits: int, abits: int,
                 in_elem: int, length: int, streaming: bool) -> list[Step]:
    """MBConv: ``pw1 (W -> H)``, ``dw (H, k)``, ``pw2 (H -> W)`` + residual; BN folded."""
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    h = hidden * t * ab
    ring = (k - 1) * hidden * ab if streaming else 0
    return [
        weight_step(f"{name}.pw1", CONV, hidden * width * t, x, h, 0,
                     layer_flash((hidden * width,), hidden, wbits, abits),
                     hidden * width + 2 * hidden, wbits, abits),
        weight_step(f"{name}.dw", DWCONV, hidden * k * t, h, h, x,
                     layer_flash((hidden * k,), hidden, wbits, abits),
                     hidden * k + 2 * hidden, wbits, abits, state_bytes=ring),
        weight_step(f"{name}.pw2", CONV, width * hidden * t, h, width * t * ab, x,
                     layer_flash((width * hidden,), width, wbits, abits),
                     width * hidden + 2 * width, wbits, abits),
    ]
