"""The deployment schedules of the recurrent ops (``lstm``: :mod:`nasx.ops.lstm`, ``gru``:
:mod:`nasx.ops.gru`): ``ln`` (norm), the recurrence (the ``lstm`` device class), ``proj``
(linear, residual add fused). The two differ in gate count, stored biases, scratch and state.

Imported on first use by the registry (it reads the cost model's step primitives, whose package
imports the registry).
"""

from __future__ import annotations

from nasx.ops.gru import GATES as GRU_GATES
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

LSTM_GATES = 4  # i, f, g, o


def gated_rnn_steps(name: str, kernel: str, width: int, hidden: int, wbits: int, abits: int,
                    in_elem: int, length: int, streaming: bool, *, gates: int, bias_sets: int,
                    scratch: int, state: int) -> list[Step]:
    """``ln``, ``<kernel>`` (``W -> H``, ``gates`` gate blocks), ``proj (H -> W)`` + residual.

    ``bias_sets``: how many ``gates x H`` biases are stored (the parameters count both);
    ``scratch`` and ``state``: 4-byte words of the recurrence's scratch and, when streaming, of
    its persistent state.
    """
    t = 1 if streaming else length
    ab, x = act_bytes(abits), width * t * in_elem
    n, o = width * t * ab, hidden * t * ab
    rows = gates * hidden
    rnn = weight_step(
        f"{name}.{kernel}", LSTM, rows * (width + hidden) * t, n, o, x,
        layer_flash((rows * width, rows * hidden), rows, wbits, abits, bias=bias_sets * rows),
        rows * (width + hidden) + 2 * rows, wbits, abits,
        scratch_bytes=WORD * scratch, state_bytes=WORD * state if streaming else 0)
    return [norm_step(f"{name}.ln", width, t, x, ab), rnn,
            linear_step(f"{name}.proj", hidden, width, t, ab, o, x, wbits, abits)]


def lstm_steps(name: str, width: int, hidden: int, wbits: int, abits: int, in_elem: int,
               length: int, streaming: bool) -> list[Step]:
    """LSTM block: ``ln``, ``lstm (W -> H)``, ``proj (H -> W)`` + residual.

    Scratch: the 4H gate pre-activations; whole-sequence also ``c`` (H), since ``h[t-1]`` is the
    previous column of the output. Streaming: ``h`` and ``c`` (2H) are persistent state.
    ``b_ih + b_hh`` are stored as one bias.
    """
    return gated_rnn_steps(name, "lstm", width, hidden, wbits, abits, in_elem, length,
                           streaming, gates=LSTM_GATES, bias_sets=1,
                           scratch=(4 if streaming else 5) * hidden, state=2 * hidden)


def gru_steps(name: str, width: int, hidden: int, wbits: int, abits: int, in_elem: int,
              length: int, streaming: bool) -> list[Step]:
    """GRU block: ``ln``, ``gru (W -> H)``, ``proj (H -> W)`` + residual.

    Scratch: the input and recurrent gate pre-activations (``3H`` each, kept apart because
    ``n = tanh(x_n + r * h_n)``); ``h[t-1]`` is the previous output column. Streaming: ``h``
    (``H`` words) is persistent state. Both biases are stored (``6H``).
    """
    return gated_rnn_steps(name, "gru", width, hidden, wbits, abits, in_elem, length,
                           streaming, gates=GRU_GATES, bias_sets=2,
                           scratch=2 * GRU_GATES * hidden, state=hidden)
