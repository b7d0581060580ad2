"""The smallest (and largest) achievable latency, SRAM and flash over a whole search space.

Exact, by dynamic programming over the network's chain of units (stem, per stage its entry
conv and blocks, head), the same units :class:`~nasx.predictors.CostModel` costs: a unit's cost
depends only on its own choices, its input width, its input element size and its input length,
so the chain state after a unit is ``(width, element bytes, length)``. Latency and flash add
up over units; peak SRAM is ``max over units of live bytes + sum of persistent state``, so each
chain state keeps the Pareto set of ``(running max, running sum)`` labels. Only units whose
bit-widths the device runs are used. The minimiser's arch is rebuilt, so the value can be
checked with ``CostModel.cost``.

The cheapest latency, SRAM and flash are usually different subnets (e.g. a strided stem with
int8 everywhere for SRAM, int4 weights for flash, the fewest ops for latency).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nasx.predictors import CostModel
from nasx.search_spaces import OP_CHOICE_KEYS, Arch, entry_kernel

METRIC_UNITS: dict[str, str] = {"latency": "ms", "sram": "KB", "flash": "KB"}

# A label: (running max, running sum, back-pointer); the metric is max + sum.
_Label = tuple[float, float, Any]
_State = tuple[int, int, int]  # (width, element bytes, length) after a unit


@dataclass(frozen=True)
class Extreme:
    """The extreme value of one metric over the space and a subnet that attains it."""

    metric: str
    value: float  # ms for latency, KB for sram and flash
    arch: Arch | None  # None when no subnet runs on the device
    exact: bool = True  # False: the best of a sample (a latency model with no per-unit table)


UnitLatency = Callable[[Any, int], float]  # (unit, input length) -> seconds


def _contribution(model: CostModel, metric: str, unit: Any, elem: int, length: int,
                  unit_latency: UnitLatency | None) -> tuple[float, float, int, int] | None:
    """``(max part, sum part, out elem, out length)`` of a unit, or None if unsupported."""
    s = model.unit_summary(unit, elem, length)  # the cost model's per-unit cache
    if not s.supported:
        return None
    if metric == "sram":
        return float(s.peak), float(s.state), s.out_elem, s.out_length
    if metric == "latency":
        value = float(s.latency_s) if unit_latency is None else unit_latency(unit, length)
    else:
        value = float(s.flash)
    return 0.0, value, s.out_elem, s.out_length


def _prune(labels: list[_Label], sign: float) -> list[_Label]:
    """Keep the labels no other label beats on both parts (``sign`` -1 maximises)."""
    labels = sorted(labels, key=lambda x: (sign * x[0], sign * x[1]))
    kept: list[_Label] = []
    best_sum = float("inf")
    for lab in labels:
        if sign * lab[1] < best_sum:
            kept.append(lab)
            best_sum = sign * lab[1]
    return kept


class _Chain:
    """One DP pass for ``metric`` (``sign`` +1: minimise, -1: maximise)."""

    def __init__(self, model: CostModel, metric: str, sign: float,
                 unit_latency: UnitLatency | None) -> None:
        self.model, self.metric, self.sign = model, metric, sign
        self.space = model.space
        self.unit_latency = unit_latency

    def contribution(self, unit: Any, elem: int, length: int
                     ) -> tuple[float, float, int, int] | None:
        """See :func:`_contribution`."""
        return _contribution(self.model, self.metric, unit, elem, length, self.unit_latency)

    def step(self, states: dict[_State, list[_Label]], options: list[tuple[Any, Any]],
             width_of: Any) -> dict[_State, list[_Label]]:
        """Apply one unit with ``options`` = [(unit-maker, choice record)] to every state."""
        out: dict[_State, list[_Label]] = {}
        for (w_in, elem, length), labels in states.items():
            for make, record in options:
                unit = make(w_in)
                c = self.contribution(unit, elem, length)
                if c is None:
                    continue
                mx, sm, out_elem, out_len = c
                key = (width_of(w_in, record), out_elem, out_len)
                bucket = out.setdefault(key, [])
                for lab in labels:
                    bucket.append((max(lab[0], mx), lab[1] + sm, (lab[2], record)))
        return {k: _prune(v, self.sign) for k, v in out.items()}

    def run(self) -> tuple[float, list[Any]] | None:
        sp, m = self.space, self.model
        q = sp.quant
        bits = list(itertools.product(q.weight_bits, q.act_bits))
        # the stem: its input element size is its own activation size
        states: dict[_State, list[_Label]] = {}
        for w, k, s, (wb, ab) in itertools.product(sp.stem.width, sp.stem.kernel,
                                                   sp.stem.stride, bits):
            unit = ("convbn", m.in_channels, w, k, s, wb, ab)
            c = self.contribution(unit, m.input_elem(unit), m.length)
            if c is None:
                continue
            mx, sm, oe, ol = c
            states.setdefault((w, oe, ol), []).append(
                (mx, sm, (None, ("stem", w, k, s, wb, ab))))
        states = {k: _prune(v, self.sign) for k, v in states.items()}
        for i, st in enumerate(sp.stages):
            ek = entry_kernel(st.stride)
            entry = [((lambda prev, w=w, s=s, wb=wb, ab=ab, ek=ek:
                       ("convbn", prev, w, ek, s, wb, ab)),
                      ("entry", i, w, s, wb, ab))
                     for w, s, (wb, ab) in itertools.product(st.width, st.stride, bits)]
            states = self.step(states, entry, lambda _prev, rec: rec[2])
            blocks = []
            for op in st.ops:
                spec = sp.ops[op]
                keys = OP_CHOICE_KEYS[op]
                for values in itertools.product(*(getattr(spec, k) for k in keys)):
                    for wb, ab in bits:
                        b = {"op": op, **dict(zip(keys, values, strict=True)),
                             "wbits": wb, "abits": ab}
                        blocks.append(((lambda w, b=b: m.block_unit(w, b)), ("block", i, b)))
            done: dict[_State, list[_Label]] = {}
            for d in range(1, max(st.depth) + 1):
                states = self.step(states, blocks, lambda prev, _rec: prev)
                if d in st.depth:  # the stage may end after d blocks
                    for k, v in states.items():
                        done.setdefault(k, []).extend(v)
            states = {k: _prune(v, self.sign) for k, v in done.items()}
        best: tuple[float, Any] | None = None
        for (w, elem, length), labels in states.items():
            c = self.contribution(("head", w, m.num_classes), elem, length)
            if c is None:
                continue
            for lab in labels:
                total = max(lab[0], c[0]) + lab[1] + c[1]
                if best is None or self.sign * total < self.sign * best[0]:
                    best = (total, lab[2])
        if best is None:
            return None
        records: list[Any] = []
        node = best[1]
        while node is not None:
            node, rec = node
            records.append(rec)
        return best[0], records[::-1]


def _arch_from_records(records: list[Any], n_stages: int) -> Arch:
    _, w, k, s, wb, ab = records[0]
    arch: dict[str, Any] = {"stem": {"width": w, "kernel": k, "stride": s, "wbits": wb,
                                     "abits": ab}, "stages": []}
    for rec in records[1:]:
        if rec[0] == "entry":
            _, _i, w, s, wb, ab = rec
            arch["stages"].append({"depth": 0, "width": w, "stride": s, "wbits": wb,
                                   "abits": ab, "blocks": []})
        else:
            st = arch["stages"][-1]
            st["blocks"].append(dict(rec[2]))
            st["depth"] += 1
    assert len(arch["stages"]) == n_stages
    return arch


def extreme_cost(model: CostModel, metric: str, *, largest: bool = False,
                 unit_latency: UnitLatency | None = None) -> Extreme:
    """The smallest (or, with ``largest``, the largest) ``metric`` over ``model``'s space on
    ``model.device``: ``latency`` in ms, ``sram`` (peak + engine SRAM) or ``flash`` (weights +
    engine flash) in KB, with a subnet that attains it.

    With ``unit_latency`` (a measured predictor's per-unit seconds, e.g.
    ``LatencyPredictor.unit_latency_s``), latency is the sum of it over the units instead of
    the analytic model; the value returned then leaves out any constant the predictor adds
    (predict the returned arch for the exact number).

    Raises:
        ValueError: an unknown metric, or a model without a device.
    """
    if metric not in METRIC_UNITS:
        raise ValueError(f"metric {metric!r}: expected one of {', '.join(METRIC_UNITS)}")
    d = model.device
    if d is None:
        raise ValueError("the cost model needs a device")
    found = _Chain(model, metric, -1.0 if largest else 1.0, unit_latency).run()
    if found is None:
        return Extreme(metric, float("nan"), None)
    total, records = found
    if d.fit is not None and not model.streaming:  # fitted lines (positive slopes): the same
        arch = _arch_from_records(records, len(model.space.stages))  # subnet, fitted value
        c = model.cost(arch)
        value = {"latency": c.latency_s * 1e3, "sram": c.sram_bytes / 1024.0,
                 "flash": c.flash_bytes / 1024.0}[metric]
        if metric == "latency" and unit_latency is not None:
            value = total * 1e3
        return Extreme(metric, value, arch)
    if metric == "latency":
        value = total * 1e3
    elif metric == "sram":
        value = (total + d.engine_sram_bytes) / 1024.0
    else:
        value = (total + d.engine_flash_bytes) / 1024.0
    return Extreme(metric, value, _arch_from_records(records, len(model.space.stages)))
