"""Analytic cost of a subnet with no torch run: MACs, params, flash, peak SRAM and latency.

:class:`CostModel` is bound to a search space, the data's channel and class counts, a sequence
length, an execution mode and (optionally) a device profile. It splits an arch (or an integer
genome) into units (stem, entry convs, blocks, head), costs each unit once from its
:mod:`~nasx.predictors.cost.schedule` steps and caches the result keyed by the unit's choices, its
input length and its input element size, so costing many archs is a few dictionary look-ups
each (well over 10,000 archs/s on one CPU core; ``tools/bench_cost.py`` measures it).

Definitions (exact; see :mod:`nasx.predictors.cost.schedule` for the per-step rules):

- ``macs``: multiply-accumulates of every step (norm and pool count 0).
- ``params``: parameters of the extracted module (``sum(p.numel())``, before BN folding).
- ``weight_bytes``: weights packed at their bits + biases + scales (BN folded), classifier fp32.
- ``flash_bytes``: ``weight_bytes`` + the device's engine flash overhead.
- ``peak_sram_bytes``: peak live activation/scratch bytes (+ persistent state when streaming).
  On an MCU device in whole-sequence mode it is the peak of the nasx C runtime's arena
  buffers (:mod:`nasx.predictors.cost.runtime_memory`: float activations outside int8 conv chains,
  4-byte words), which the exported ``model.c``'s planned arena reaches.
- ``sram_bytes``: ``peak_sram_bytes`` + the device's engine SRAM overhead.

A device profile with a ``fit`` (``nasx profile --device stm32f746``) replaces, in
whole-sequence mode, flash, SRAM and latency by the lines fitted to the Cortex-M7
measurements (:mod:`nasx.predictors.devices.mcu_fit`), labelled ``measured: qemu cortex-m7
instructions``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasx.ops import OPS
from nasx.predictors.cost.latency import latency_label, schedule_latency_s
from nasx.predictors.cost.runtime_memory import RAW_INPUT, WORD, unit_live_words
from nasx.predictors.cost.schedule import Step, act_bytes, conv_bn_steps, head_steps
from nasx.predictors.devices.mcu_fit import LABEL as FITTED_LABEL
from nasx.predictors.devices.profile import CONV, DeviceProfile
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    Arch,
    GenomeCodec,
    SearchSpace,
    canonical_arch,
    entry_kernel,
)

MODES: tuple[str, ...] = ("whole-sequence", "streaming")
# Which deployment op class each weight-bits choice of a unit lands in (for device support).
_UNIT_WEIGHT_CLASSES: dict[str, tuple[str, ...]] = {
    "convbn": (CONV,), **{name: op.weight_classes for name, op in OPS.items()}, "head": (),
}
Unit = tuple[Any, ...]  # (kind, *choices): the cache key of a unit


@dataclass(frozen=True)
class ArchCost:
    """The cost of one arch (see the module docstring for the definitions)."""

    macs: int
    params: int
    weight_bytes: int
    flash_bytes: int
    peak_sram_bytes: int
    sram_bytes: int
    latency_s: float
    latency_label: str
    supported: bool
    mode: str
    length: int


@dataclass(frozen=True)
class UnitSummary:
    """The cost of one unit at an input element size and length (cached per model)."""

    macs: int
    params: int
    flash: int
    peak: int
    state: int
    latency_s: float
    supported: bool
    out_elem: int
    out_length: int


class CostModel:
    """Analytic cost of archs of ``space`` for ``in_channels`` inputs and ``num_classes`` outputs.

    Example:
        >>> from nasx.search_spaces import load_space, smallest_arch
        >>> model = CostModel(load_space("tiny"), 12, 9, length=29)
        >>> model.cost(smallest_arch(model.space)).params
        1809
    """

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int, *, length: int,
                 mode: str = "whole-sequence", device: DeviceProfile | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        self.space, self.in_channels, self.num_classes = space, in_channels, num_classes
        self.length, self.mode, self.device = length, mode, device
        self.streaming = mode == "streaming"
        # SRAM as the nasx C runtime holds it (whole sequence on a microcontroller)
        self.runtime_memory = device is not None and device.is_mcu and not self.streaming
        self._cache: dict[tuple[Unit, int, int], UnitSummary] = {}
        self._codec = GenomeCodec(space)
        self._genome_plan = self._plan_genome()

    # --- units ------------------------------------------------------------------------------

    def units(self, arch: Arch) -> list[Unit]:
        """The units of a canonical ``arch`` in execution order (stem, per stage entry + blocks,
        head)."""
        s = arch["stem"]
        out: list[Unit] = [("convbn", self.in_channels, s["width"], s["kernel"], s["stride"],
                            s["wbits"], s["abits"])]
        prev = s["width"]
        for st, spec in zip(arch["stages"], self.space.stages, strict=True):
            w = st["width"]
            out.append(("convbn", prev, w, entry_kernel(spec.stride), st["stride"],
                        st["wbits"], st["abits"]))
            out.extend(self.block_unit(w, b) for b in st["blocks"])
            prev = w
        out.append(("head", prev, self.num_classes))
        return out

    def block_unit(self, w: int, b: dict[str, Any]) -> Unit:
        """The unit key of block ``b`` in a stage of width ``w`` (its op declares it)."""
        op = b["op"]
        return OPS[op].block_unit(self.space.ops[op], w, b)

    def _unit_steps(self, unit: Unit, in_elem: int, length: int, name: str) -> list[Step]:
        kind, *c = unit
        st = self.streaming
        if kind == "convbn":
            return conv_bn_steps(name, *c, in_elem, length, st)
        if kind == "head":
            return head_steps(*c, in_elem, length, st)
        return OPS[kind].load("steps")(name, *c, in_elem, length, st)

    def input_elem(self, stem: Unit) -> int:
        """The ``in_elem`` the stem unit is costed with: its activation bytes, or the runtime's
        raw-input marker when SRAM is the C runtime's."""
        return RAW_INPUT if self.runtime_memory else act_bytes(stem[-1])

    def _supported(self, unit: Unit) -> bool:
        d = self.device
        if d is None or unit[0] == "head":
            return True
        wb, ab = unit[-2], unit[-1]
        classes = _UNIT_WEIGHT_CLASSES[unit[0]]
        return ab in d.act_bits and all(wb in d.weight_bits[c] for c in classes)

    def unit_summary(self, unit: Unit, in_elem: int, length: int) -> UnitSummary:
        """The cost of ``unit`` with input elements of ``in_elem`` bytes and ``length`` steps
        (computed once per model and key, then cached)."""
        key = (unit, in_elem, length)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        steps = self._unit_steps(unit, in_elem or act_bytes(unit[-1]), length, "")
        kind = unit[0]
        out_length = -(-length // unit[4]) if kind == "convbn" else length
        out_elem = act_bytes(unit[-1]) if kind != "head" else 4
        peak = max(x.live_bytes for x in steps)
        state = sum(x.state_bytes for x in steps)
        if self.runtime_memory:
            words, out_elem = unit_live_words(unit, in_elem, length, self.in_channels,
                                              self.length)
            if words is not None:  # else no C kernel: the schedule's peak
                peak, state = WORD * max(words), 0
        s = UnitSummary(
            macs=sum(x.macs for x in steps), params=sum(x.params for x in steps),
            flash=sum(x.flash_bytes for x in steps), peak=peak, state=state,
            latency_s=schedule_latency_s(steps, self.device) if self.device else math.nan,
            supported=self._supported(unit), out_elem=out_elem, out_length=out_length)
        self._cache[key] = s
        return s

    # --- costs ------------------------------------------------------------------------------

    def _aggregate(self, units: list[Unit]) -> ArchCost:
        in_elem, length = self.input_elem(units[0]), self.length
        macs = params = flash = peak = state = 0
        latency, supported = 0.0, True
        for u in units:
            s = self.unit_summary(u, in_elem, length)
            macs += s.macs
            params += s.params
            flash += s.flash
            state += s.state
            peak = max(peak, s.peak)
            latency += s.latency_s
            supported = supported and s.supported
            in_elem, length = s.out_elem, s.out_length
        peak += state
        d = self.device
        fit = d.fit if d is not None and not self.streaming else None
        if fit is not None:  # fitted to the Cortex-M7 measurements (predictors/devices/mcu_fit.py)
            return ArchCost(
                macs=macs, params=params, weight_bytes=flash, flash_bytes=fit.flash(flash),
                peak_sram_bytes=peak, sram_bytes=fit.sram(peak),
                latency_s=fit.latency_s(latency), latency_label=FITTED_LABEL,
                supported=supported, mode=self.mode, length=self.length)
        return ArchCost(
            macs=macs, params=params, weight_bytes=flash,
            flash_bytes=flash + (d.engine_flash_bytes if d else 0),
            peak_sram_bytes=peak, sram_bytes=peak + (d.engine_sram_bytes if d else 0),
            latency_s=latency, latency_label=latency_label(d) if d else "no device",
            supported=supported, mode=self.mode, length=self.length)

    def cost(self, arch: Any) -> ArchCost:
        """The cost of ``arch`` (validated against the space first)."""
        return self._aggregate(self.units(canonical_arch(self.space, arch)))

    def schedule(self, arch: Any) -> list[Step]:
        """Every step of ``arch``'s deployment schedule with its name, in execution order."""
        a = canonical_arch(self.space, arch)
        units = self.units(a)
        names = ["stem"]
        for i, st in enumerate(a["stages"]):
            names += [f"stages[{i}].entry"] + [f"stages[{i}].blocks[{j}]"
                                               for j in range(st["depth"])]
        names.append("head")
        steps: list[Step] = []
        in_elem, length = self.input_elem(units[0]), self.length
        for u, name in zip(units, names, strict=True):
            steps += self._unit_steps(u, in_elem or act_bytes(u[-1]), length, name)
            s = self.unit_summary(u, in_elem, length)
            in_elem, length = s.out_elem, s.out_length
        return steps

    # --- genomes ----------------------------------------------------------------------------

    def _plan_genome(self) -> list[tuple[str, Any]]:
        """Gene positions and choice lists to read units straight out of a genome."""
        idx = {g.name: n for n, g in enumerate(self._codec.genes)}
        genes = self._codec.genes

        def at(name: str) -> tuple[int, tuple[Any, ...]]:
            return idx[name], genes[idx[name]].choices

        plan: list[tuple[str, Any]] = [("stem", [at(f"stem.{k}") for k in
                                                  ("width", "kernel", "stride", "wbits", "abits")])]
        for i, st in enumerate(self.space.stages):
            head = [at(f"stages[{i}].{k}") for k in ("depth", "width", "stride", "wbits", "abits")]
            slots = []
            for j in range(st.max_depth):
                pre = f"stages[{i}].blocks[{j}]"
                per_op = {op: [(k, *at(f"{pre}.{op}.{k}")) for k in OP_CHOICE_KEYS[op]]
                          for op in st.ops}
                slots.append((at(f"{pre}.op"), per_op, at(f"{pre}.wbits"), at(f"{pre}.abits")))
            plan.append(("stage", (head, slots, entry_kernel(st.stride))))
        return plan

    def genome_units(self, genome: list[int]) -> list[Unit]:
        """The units of an integer ``genome`` (a list of ints, not range-checked) in execution
        order, as :meth:`units` gives them for the decoded arch."""
        return self._genome_units(genome)

    def _genome_units(self, g: list[int]) -> list[Unit]:
        (_, stem), *stages = self._genome_plan
        w, k, s, wb, ab = (c[g[n]] for n, c in stem)
        units: list[Unit] = [("convbn", self.in_channels, w, k, s, wb, ab)]
        prev = w
        for _, (head, slots, ek) in stages:
            depth, w, s, wb, ab = (c[g[n]] for n, c in head)
            units.append(("convbn", prev, w, ek, s, wb, ab))
            for (on, oc), per_op, (wn, wc), (an, ac) in slots[:depth]:
                op = oc[g[on]]
                b = {k: c[g[n]] for k, n, c in per_op[op]}
                b.update(op=op, wbits=wc[g[wn]], abits=ac[g[an]])
                units.append(self.block_unit(w, b))
            prev = w
        units.append(("head", prev, self.num_classes))
        return units

    def costs(self, genomes: np.ndarray) -> dict[str, np.ndarray]:
        """Costs of a batch of genomes ``(n, genome length)`` as arrays of length ``n``.

        Keys: ``macs``, ``params``, ``weight_bytes``, ``flash_bytes``, ``peak_sram_bytes``,
        ``sram_bytes`` (int64), ``latency_s`` (float64, NaN without a device), ``supported``
        (bool). Genes are not range-checked here; use :meth:`GenomeCodec.decode` for that.
        """
        rows = np.asarray(genomes, dtype=np.int64).tolist()
        keys = ("macs", "params", "weight_bytes", "flash_bytes", "peak_sram_bytes", "sram_bytes")
        ints = np.zeros((len(keys), len(rows)), dtype=np.int64)
        latency = np.zeros(len(rows))
        supported = np.zeros(len(rows), dtype=bool)
        for r, g in enumerate(rows):
            c = self._aggregate(self._genome_units(g))
            ints[:, r] = (c.macs, c.params, c.weight_bytes, c.flash_bytes, c.peak_sram_bytes,
                          c.sram_bytes)
            latency[r], supported[r] = c.latency_s, c.supported
        out = dict(zip(keys, ints, strict=True))
        out.update(latency_s=latency, supported=supported)
        return out

