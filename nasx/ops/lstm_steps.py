"""The deployment schedule of the ``lstm`` op (declared in :mod:`nasx.ops.lstm`): ``ln``
(norm), ``lstm``, ``proj`` (linear, residual add fused). ``b_ih + b_hh`` are stored as one
bias.

Imported on first use by the registry, as :mod:`nasx.ops.conv_steps`.
"""

from __future__ import annotations

from nasx.predictors.cost.schedule import (
    WORD,
    Step,
    act_bytes,
    layer_flash,
    linear_step,
    norm_step,
    weight_step,
)
from nasx.predictors.devices.profile import LSTM


def lstm_steps(name: str, width: int, hidden: int, wbits: int, abits: int, in_elem: int,
               length: int, streaming: bool) -> list[Step]:
    """LSTM block: ``ln``, ``lstm (W -> H)``, ``proj (H -> W)`` + residual.

    Scratch: the 4H gate pre-activations; whole-sequence also ``c`` (H), since ``h[t-1]`` is the
    previous column of the output. Streaming: ``h`` and ``c`` (2H) are persistent state.
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    n, o = width * t * ab, hidden * t * ab
    scratch = WORD * 4 * hidden if streaming else WORD * 5 * hidden
    lstm = weight_step(
        f"{name}.lstm", LSTM, 4 * hidden * (width + hidden) * t, n, o, x,
        layer_flash((4 * hidden * width, 4 * hidden * hidden), 4 * hidden, wbits, abits,
                    bias=4 * hidden),
        4 * hidden * (width + hidden) + 8 * hidden, wbits, abits,
        scratch_bytes=scratch, state_bytes=WORD * 2 * hidden if streaming else 0)
    return [norm_step(f"{name}.ln", width, t, x, ab), lstm,
            linear_step(f"{name}.proj", hidden, width, t, ab, o, x, wbits, abits)]
