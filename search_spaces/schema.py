"""The search space as typed, validated, immutable data.

A :class:`SearchSpace` is what a YAML file (a preset or a user's file) becomes after
:func:`nasx.search_spaces.load_space` has checked it. Every choice list is a sorted tuple;
``ops`` holds one entry per op type that some stage allows (each op's choices are declared by
its module in :mod:`nasx.ops`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nasx.ops import OPS, OpSpace

# The op types a block slot can hold, in their canonical order (genome and display order).
OP_TYPES: tuple[str, ...] = tuple(OPS)

# Per op type: the choice keys an arch block carries (besides "op", "wbits", "abits").
OP_CHOICE_KEYS: dict[str, tuple[str, ...]] = {name: op.choice_keys for name, op in OPS.items()}

Number = int | float


@dataclass(frozen=True)
class StemSpace:
    """The input convolution: ``C_in -> width``, kernel centre-cropped, stride a choice."""

    width: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]


@dataclass(frozen=True)
class StageSpace:
    """A stage: an entry convolution (width change, stride) then ``depth`` residual blocks."""

    depth: tuple[int, ...]
    width: tuple[int, ...]
    stride: tuple[int, ...]
    ops: tuple[str, ...]

    @property
    def max_depth(self) -> int:
        """Number of block slots the supernet holds for this stage."""
        return self.depth[-1]


@dataclass(frozen=True)
class QuantSpace:
    """Per-block bit-width choices; 32 means float."""

    weight_bits: tuple[int, ...]
    act_bits: tuple[int, ...]


@dataclass(frozen=True)
class HeadSpace:
    """Classifier head: masked mean pooling, dropout (training only), linear layer."""

    pool: str = "mean"
    dropout: float = 0.0


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space."""

    name: str
    stem: StemSpace
    stages: tuple[StageSpace, ...]
    ops: dict[str, OpSpace]
    quant: QuantSpace
    head: HeadSpace = field(default_factory=HeadSpace)
    causal: bool = False
    op_weights: dict[str, float] = field(default_factory=dict)
    source: str = "<memory>"

    def __hash__(self) -> int:  # dict fields make the default dataclass hash fail
        return hash((self.name, self.source, self.stem, self.stages))

    def op_space(self, op: str) -> OpSpace:
        """The choices of op type ``op`` (which some stage allows)."""
        return self.ops[op]
