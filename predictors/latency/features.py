"""Per-unit features of the measured-latency model.

A subnet runs as units (stem conv, per stage an entry conv and its blocks, the head; see
:meth:`CostModel.units <nasx.predictors.cost.model.CostModel.units>`). Eager PyTorch on a CPU spends
a fixed time per dispatched op (so per unit type and per fake-quantized weight or activation)
plus time that grows with the work: multiply-accumulates, elements touched, weights quantized at
every call, sequential LSTM steps, attention scores. Each unit gets a vector of such terms; a
subnet's vector is the sum over its units, and the latency model is linear (non-negative) in it,
so the fitted model is a lookup table of per-unit latencies.

Feature names are ``<kind>.<term>``; kinds are ``convbn`` (stem and entry convs), every op of
:mod:`nasx.ops` in registry order (``conv`` is MBConv) and ``head``; an op's own terms and its
work come from its ``OpDef`` (``latency_terms``, ``latency_work``). Terms (per unit, ``L`` its
input length):

- ``count``: 1; ``wq`` / ``aq``: 1 when the weights / activations are fake-quantized (< 32 bits);
- ``macs``: multiply-accumulates of its linear and conv layers (millions);
- ``elems``: activation elements it reads and writes (thousands); ``aq_elems``: the same when
  activations are quantized; ``wq_numel``: weights quantized per call (thousands);
- ``steps`` (lstm): ``L``, the sequential recurrence steps; ``scan`` (ssm): ``E x L x L``
  (thousands), the causal-convolution scan (FFT beyond 128 steps: ``E x 2L x log2 2L``);
  ``kernel`` (ssm): ``E x N x L`` (thousands), the convolution kernel built every call;
  ``scores`` (attn): ``heads x L x L`` (thousands).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasx.ops import OPS

Unit = tuple[Any, ...]

_COMMON = ("count", "wq", "aq", "macs", "elems", "aq_elems", "wq_numel")
KIND_TERMS: dict[str, tuple[str, ...]] = {
    "convbn": _COMMON,
    **{name: (*_COMMON, *op.latency_terms) for name, op in OPS.items()},
    "head": ("elems",),
}
FEATURE_NAMES: tuple[str, ...] = (
    "intercept", *(f"{kind}.{term}" for kind, terms in KIND_TERMS.items() for term in terms))
# Position of each kind's first term in a feature vector (after the intercept).
_OFFSET: dict[str, int] = {
    kind: 1 + sum(len(t) for t in list(KIND_TERMS.values())[:n])
    for n, kind in enumerate(KIND_TERMS)}


def unit_out_length(unit: Unit, length: int) -> int:
    """Sequence length after ``unit`` (only the stride of a conv-bn unit changes it)."""
    return -(-length // unit[4]) if unit[0] == "convbn" else length


def unit_terms(unit: Unit, length: int) -> tuple[str, tuple[float, ...]]:
    """``(kind, terms)`` of ``unit`` with input length ``length``, in :data:`KIND_TERMS` order."""
    kind, *c = unit
    if kind == "head":
        width, _classes = c
        return kind, (width * length / 1e3,)
    wb, ab = c[-2], c[-1]
    wq, aq = float(wb < 32), float(ab < 32)
    extra: tuple[float, ...] = ()
    if kind == "convbn":
        cin, cout, k, stride = c[:4]
        lo = -(-length // stride)
        macs, elems, numel = cout * cin * k * lo, cin * length + cout * lo, cout * cin * k
    elif kind in OPS:
        work = OPS[kind].latency_work(tuple(c[:-2]), length)
        macs, elems, numel, extra = work.macs, work.elems, work.numel, work.extra
    else:
        raise ValueError(f"unknown unit kind {kind!r}")
    common = (1.0, wq, aq, macs / 1e6, elems / 1e3, aq * elems / 1e3, wq * numel / 1e3)
    return kind, common + extra


def unit_vector(unit: Unit, length: int) -> np.ndarray:
    """The unit's terms placed in a full-length ``(len(FEATURE_NAMES),)`` float64 vector."""
    kind, terms = unit_terms(unit, length)
    v = np.zeros(len(FEATURE_NAMES))
    v[_OFFSET[kind]:_OFFSET[kind] + len(terms)] = terms
    return v


def units_with_lengths(units: list[Unit], length: int) -> list[tuple[Unit, int]]:
    """Pair every unit of a subnet with its input length, the input being ``length`` long."""
    out = []
    for u in units:
        out.append((u, length))
        length = unit_out_length(u, length)
    return out


def subnet_vector(units: list[Unit], length: int) -> np.ndarray:
    """The subnet's feature vector: the intercept 1 plus the sum of its units' vectors."""
    v = np.zeros(len(FEATURE_NAMES))
    v[0] = 1.0
    for u, n in units_with_lengths(units, length):
        v += unit_vector(u, n)
    return v
