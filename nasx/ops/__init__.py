"""The op registry: one module per block type a stage slot can hold.

Every layer that needs to know about ops (space loading and sampling, the supernet, the cost
model, the latency and accuracy features, every exporter) loops over :data:`OPS` or looks an op
up here, and never names one. To add a block type, write ``nasx/ops/<op>.py`` with an ``OP``
(:class:`~nasx.ops.base.OpDef`) and its block TypedDict, and add its module name to
:data:`OP_MODULES` and its block type to :data:`Block` (README, "Adding a block type").

A block of an arch (:data:`Block`) carries its op's name, its op's choices and the bits::

    {"op": "conv", "kernel": 5, "expand": 2, "wbits": 8, "abits": 8}
    {"op": "lstm", "hidden": 0.5, "wbits": 32, "abits": 32}
"""

from __future__ import annotations

import importlib
from typing import Any, Union

from nasx.ops.attn import AttnBlock
from nasx.ops.base import BlockBits, ChoiceChecker, LatencyWork, OpDef, Unit
from nasx.ops.conv import ConvBlock
from nasx.ops.gru import GRUBlock
from nasx.ops.lstm import LSTMBlock
from nasx.ops.mamba import MambaBlock
from nasx.ops.ssm import SSMBlock

# The op modules, in canonical order (genome, feature and display order).
OP_MODULES: tuple[str, ...] = ("conv", "lstm", "ssm", "attn", "gru", "mamba")
# A block of an arch: one of the ops' block types (``OpDef.block_type``), told apart by "op".
Block = Union[ConvBlock, LSTMBlock, SSMBlock, AttnBlock, GRUBlock, MambaBlock]  # noqa: UP007

OPS: dict[str, OpDef] = {
    m: importlib.import_module(f"{__name__}.{m}").OP for m in OP_MODULES
}
# An op's space: the frozen dataclass of its choices (``OpDef.space_type``).
OpSpace = Any


def get_op(name: str) -> OpDef:
    """The op called ``name``; KeyError naming the known ops otherwise."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r} (known: {', '.join(OPS)})") from None


def op_of(module: object) -> OpDef:
    """The op whose supernet, static or export block ``module`` is."""
    for op in OPS.values():
        if isinstance(module, (op.load("export"), op.load("static"), op.load("elastic"))):
            return op
    raise TypeError(f"{type(module).__name__} is no op's block")


def hooks_of(block: object) -> Any:
    """The hooks module (streaming, ONNX step, C rows) of an export ``block``'s op."""
    return op_of(block).load("hooks")


__all__ = ["OPS", "OP_MODULES", "AttnBlock", "Block", "BlockBits", "ChoiceChecker", "ConvBlock",
           "GRUBlock", "LSTMBlock", "LatencyWork", "OpDef", "OpSpace", "SSMBlock", "Unit",
           "get_op", "hooks_of", "op_of"]
