"""What the recurrent ops (``lstm``, ``gru``) declare alike: a hidden size as a ratio of the
stage width, its cost-unit key, and the export block built from the extracted block (``ln``; an
input layer ``ih`` with its activation quantizer; a recurrent layer ``hh`` whose input, the
state, stays float; ``proj``). Pure Python: torch is imported inside :func:`recurrent_export`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasx.ops.base import ChoiceChecker, Number
from nasx.ops.layout import inner_width
from nasx.ops.runtime_words import scratch_words, words


@dataclass(frozen=True)
class HiddenSpace:
    """A recurrent block's choices: hidden size = ratio x stage width."""

    hidden: tuple[Number, ...]

    @classmethod
    def parse(cls, c: ChoiceChecker, raw: Mapping[str, Any], key: str) -> HiddenSpace:
        """The space (of this class) from the merged YAML mapping under ``key``."""
        return cls(hidden=c.ratios(raw["hidden"], f"{key}.hidden"))


def hidden_unit(spec: HiddenSpace, width: int, b: Mapping[str, Any]) -> tuple[Any, ...]:
    """Cost-unit choices of a recurrent block: ``(width, hidden size)``."""
    return (width, inner_width(width, b["hidden"]))


def recurrent_c_words(c: tuple[Any, ...], n: int, gates: int, state: int) -> list[int]:
    """C runtime words of a recurrent block with ``gates`` gate blocks and ``state * H`` words
    of recurrent state: ``cur + t1``, ``t1 + gates (G L H) + scr(LW) + cur``, ``gates + out
    (LH) + state + cur``, ``out + cur + scr(LH)`` (``c``: width, hidden, wbits, abits)."""
    w, h, wb, ab = c
    cur, t1, gate_rows, out = words(n * w), words(n * w), words(gates * n * h), words(n * h)
    return [cur + t1, t1 + gate_rows + scratch_words(wb, ab, n * w) + cur,
            gate_rows + out + words(state * h) + cur, out + cur + scratch_words(wb, ab, n * h)]


def recurrent_c_rows(wr: Any, p: str, b: Any) -> None:
    """Its rows of the C layer table: ``ln``, ``ih`` and ``hh`` as the recurrent layer kinds
    (``NASX_LSTM_INPUT``, ``NASX_LSTM_RECURRENT``; a GRU's ``out`` is ``3 x in``, an LSTM's
    ``4 x in``), ``proj`` with the residual."""
    wr.norm(f"{p}.ln", b.ln_weight, b.ln_bias)
    wr.layer(f"{p}.ih", b.ih, "NASX_LSTM_INPUT", ())
    wr.layer(f"{p}.hh", b.hh, "NASX_LSTM_RECURRENT", ())
    wr.layer(f"{p}.proj", b.proj, "NASX_LINEAR", ["NASX_RESIDUAL"])


def recurrent_export(block_type: Any, m: Any, rnn: Any, where: str, label: str) -> Any:
    """The export block (``block_type``) of an extracted recurrent block ``m`` whose torch
    layer is ``rnn`` (``hh`` keeps a float input: the state); ``label`` names the op in
    calibration errors."""
    from nasx.export.convert import deploy_act, deploy_linear, float_act

    wb, ab = m.wbits, m.abits
    return block_type(
        m.ln.weight, m.ln.bias,
        deploy_linear((rnn.weight_ih_l0, rnn.bias_ih_l0), wb,
                      deploy_act(m.aq[0], ab, f"{where} ({label}) input")),
        deploy_linear((rnn.weight_hh_l0, rnn.bias_hh_l0), wb, float_act()),
        deploy_linear(m.proj, wb, deploy_act(m.aq[1], ab, f"{where} ({label}) proj")))
