"""The deployment schedule of the ``gru`` op (declared in :mod:`nasx.ops.gru`): ``ln`` (norm),
``gru`` (runs as the lstm device class), ``proj`` (linear, residual add fused).

Imported on first use by the registry, as :mod:`nasx.ops.conv_steps`.
"""

from __future__ import annotations

from nasx.ops.gru import GATES
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


def gru_steps(name: str, width: int, hidden: int, wbits: int, abits: int, in_elem: int,
              length: int, streaming: bool) -> list[Step]:
    """GRU block: ``ln``, ``gru (W -> H)``, ``proj (H -> W)`` + residual.

    Scratch: the input and recurrent gate pre-activations (``3H`` each, kept apart because
    ``n = tanh(x_n + r * h_n)``); ``h[t-1]`` is the previous output column. Streaming: ``h``
    (``H`` words) is persistent state. Both biases are stored (``6H``).
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    n, o = width * t * ab, hidden * t * ab
    gru = weight_step(
        f"{name}.gru", LSTM, GATES * hidden * (width + hidden) * t, n, o, x,
        layer_flash((GATES * hidden * width, GATES * hidden * hidden), GATES * hidden, wbits,
                    abits, bias=2 * GATES * hidden),
        GATES * hidden * (width + hidden) + 2 * GATES * hidden, wbits, abits,
        scratch_bytes=WORD * 2 * GATES * hidden, state_bytes=WORD * hidden if streaming else 0)
    return [norm_step(f"{name}.ln", width, t, x, ab), gru,
            linear_step(f"{name}.proj", hidden, width, t, ab, o, x, wbits, abits)]
