"""What an op (a block type a stage slot can hold) declares: :class:`OpDef`.

An op module (``nasx/ops/<op>.py``) builds one :class:`OpDef` named ``OP``. The search space,
the supernet, the cost model, the latency and accuracy features and every exporter read the op
only through it, so adding a block type never touches their code (README, "Adding a block
type").

The declaration part (choices, YAML keys, defaults, validation, cost unit, latency work) is
plain Python, imported with the search space. The implementation (elastic, static and export
modules, the cost schedule, the C emitters) is named as ``"module:attribute"`` and imported on
first use, since those modules import the search space themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

Number = int | float
# The cost-model key of a block: ``(op, width, *op choices, wbits, abits)``.
Unit = tuple[Any, ...]


class ChoiceChecker(Protocol):
    """The validator the space loader hands to :attr:`OpDef.parse` (errors name file and key)."""

    def fail(self, key: str, problem: str) -> Exception:
        """An error ``<file>: <key>: <problem>`` to raise."""
        ...

    def ints(self, value: Any, key: str, minimum: int = 1) -> tuple[int, ...]:
        """Distinct integers ``>= minimum``, sorted."""
        ...

    def odd(self, value: Any, key: str) -> tuple[int, ...]:
        """Distinct odd integers ``>= 1``, sorted."""
        ...

    def ratios(self, value: Any, key: str) -> tuple[float, ...]:
        """Distinct numbers in ``(0, 64]``, sorted."""
        ...

    def boolean(self, value: Any, key: str) -> bool:
        """A YAML boolean."""
        ...


class BlockBits(TypedDict):
    """What every block of an arch carries besides ``op`` and its op's choices: the weight and
    activation bits. An op's block type (:attr:`OpDef.block_type`) extends it with
    ``op: Literal["<name>"]`` and one key per choice key."""

    wbits: int
    abits: int


@dataclass(frozen=True)
class LatencyWork:
    """What one block costs an eager CPU run: MACs, activation elements read and written,
    weights fake-quantized per call, and the op's own terms (:attr:`OpDef.latency_terms`)."""

    macs: float
    elems: float
    numel: float
    extra: tuple[float, ...] = ()


@dataclass(frozen=True)
class OpDef:
    """Everything nasx knows about one op; see the module docstring.

    Attributes:
        name: the op's name in YAML, archs and genomes (``stages[i].ops``, ``{"op": ...}``).
        space_type: frozen dataclass of its choices (``SearchSpace.ops[name]``).
        block_type: the TypedDict of its blocks in an arch (:class:`BlockBits` with ``op``
            and the choice keys); :data:`nasx.ops.Block` is the union of every op's.
        yaml_keys: keys allowed under ``ops.<name>`` in a space file.
        choice_keys: the choices an arch block carries besides ``op``, ``wbits``, ``abits``, in
            genome order.
        kernel_keys: choice keys in the progressive-shrinking "kernel" group (the others are
            in the "width" group).
        defaults: choices when the space file does not mention the op.
        parse: ``(checker, merged raw mapping, key prefix) -> space_type``.
        unit: ``(op space, stage width, block) -> (width, *choices)`` of the cost model's unit
            key (what its cost depends on besides the bits).
        latency_terms: names of the op's own latency-model terms after the common ones.
        latency_work: ``(unit choices after the op name, without bits, input length) ->``
            :class:`LatencyWork`.
        weight_classes: device op classes its weights run as (device bit-width support).
        local: its receptive field is its ``kernel`` (conv); False for sequence mixers.
        no_decay: parameters of its supernet block that get no weight decay (besides every
            vector, which never does).
        elastic, static, export: ``"module:Class"`` of its supernet block (``(spec, max_width,
            causal)``; ``forward(x, mask, width, block)``, ``extract(width, block)``), of the
            extracted block and of the export block.
        steps: ``"module:function"`` of its deployment schedule
            (``(name, *unit[1:], in_elem, length, streaming) -> list[Step]``).
        c_emit, c_emit_step: ``"module:function"`` of its C emitters (whole sequence, frame).
        hooks: the module (usually the op module itself) with the functions that take its
            export block ``b``: ``to_export(static block, where, head_dim)``,
            ``read(reader, prefix, width, block, spec)``, ``blocker(b)`` (why it cannot
            stream, or None), ``stream_state`` / ``stream_step`` (frame by frame),
            ``graph_state`` / ``graph_step`` (the ONNX step graph), ``c_rows`` (C layer table)
            and ``c_arrays`` (deployed arrays that are not file tensors); see
            :mod:`nasx.ops.conv`.
    """

    name: str
    space_type: type
    yaml_keys: tuple[str, ...]
    choice_keys: tuple[str, ...]
    defaults: Mapping[str, Any]
    parse: Callable[[ChoiceChecker, Mapping[str, Any], str], Any]
    unit: Callable[[Any, int, Any], tuple[Any, ...]]  # (space, width, its block_type)
    latency_work: Callable[[tuple[Any, ...], int], LatencyWork]
    elastic: str
    static: str
    export: str
    steps: str
    c_emit: str
    c_emit_step: str
    hooks: str
    block_type: type | None = None
    kernel_keys: tuple[str, ...] = ()
    latency_terms: tuple[str, ...] = ()
    weight_classes: tuple[str, ...] = ("linear",)
    local: bool = False
    no_decay: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def load(self, what: str) -> Any:
        """The implementation named by attribute ``what`` (``"elastic"``, ``"steps"``, ...),
        imported on first use; ``"hooks"`` gives the module itself."""
        hit = self._cache.get(what)
        if hit is None:
            module, _, attr = getattr(self, what).partition(":")
            hit = importlib.import_module(module)
            if attr:
                hit = getattr(hit, attr)
            self._cache[what] = hit
        return hit

    def block_unit(self, spec: Any, width: int, block: Mapping[str, Any]) -> Unit:
        """The cost model's unit key of ``block`` in a stage of ``width`` channels."""
        return (self.name, *self.unit(spec, width, block), block["wbits"], block["abits"])
