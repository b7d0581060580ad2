"""What the search optimises: predicted accuracy and per-device cost, through two Protocols.

- :class:`AccuracyModel`: ``predict(genomes (n, G)) -> (mean (n,), std (n,))``, validation
  accuracy as a fraction (``nasx.predictors.accuracy.predictor.AccuracyPredictor`` is one);
- :class:`LatencyModel`: ``predict(genomes (n, G)) -> seconds (n,)``
  (``nasx.predictors.latency.model.LatencyPredictor`` is one).

:class:`DeviceObjective` turns genomes into one device's latency, SRAM and flash. SRAM and flash
always come from the analytic :class:`~nasx.predictors.CostModel`; latency comes from a
measured latency predictor when one is given (label ``measured``), else from the cost model:
``analytic`` on an MCU, a roofline ``estimate`` on a CPU or GPU; an MCU profile fitted to
Cortex-M7 measurements (``nasx profile --device stm32f746``) gives ``measured`` costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasx.predictors import CostModel, DeviceProfile
from nasx.search.cheapest import Extreme, extreme_cost
from nasx.search.repair import GenomeRepair
from nasx.search_spaces import GenomeCodec

LATENCY_LABELS: tuple[str, ...] = ("measured", "estimate", "analytic")


@runtime_checkable
class AccuracyModel(Protocol):
    """Predicts validation accuracy (a fraction) of genomes, with an uncertainty."""

    def predict(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mean (n,), std (n,))`` for integer genomes ``(n, G)``."""
        ...


@runtime_checkable
class LatencyModel(Protocol):
    """Predicts the latency in seconds of genomes on one device."""

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Seconds ``(n,)`` for integer genomes ``(n, G)``."""
        ...


@runtime_checkable
class UnitLatencyModel(Protocol):
    """A latency model that is a constant plus a sum of per-unit times (as the measured
    ``LatencyPredictor``): the search can then find its fastest subnet exactly."""

    length: int

    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Seconds ``(n,)`` for integer genomes ``(n, G)``."""
        ...

    def unit_latency_s(self, unit: Any, length: int) -> float:
        """Seconds of one cost-model unit with input length ``length``."""
        ...


@dataclass(frozen=True)
class DeviceCosts:
    """One device's costs of a batch of genomes, arrays of length ``n``."""

    latency_ms: np.ndarray  # float64
    sram_kb: np.ndarray  # float64: peak activation/state SRAM + engine SRAM, in KB (1024 B)
    flash_kb: np.ndarray  # float64: packed weights + engine flash, in KB
    supported: np.ndarray  # bool: every layer's bit-widths run on the device

    def metric(self, name: str) -> np.ndarray:
        """The array of budget metric ``name`` (``latency``, ``sram`` or ``flash``)."""
        return {"latency": self.latency_ms, "sram": self.sram_kb, "flash": self.flash_kb}[name]


class DeviceObjective:
    """Latency, SRAM and flash of genomes on one device (see the module docstring)."""

    def __init__(self, device: DeviceProfile, cost_model: CostModel,
                 latency_model: LatencyModel | None = None) -> None:
        if cost_model.device is not device:
            raise ValueError("cost_model must be built for the same device profile")
        self.device = device
        self.cost_model = cost_model
        self.latency_model = latency_model
        fitted = device.fit is not None and not cost_model.streaming  # Cortex-M7 on QEMU
        if latency_model is not None or fitted:
            self.latency_label = "measured"
        else:
            self.latency_label = "analytic" if device.is_mcu else "estimate"

    @property
    def name(self) -> str:
        """The device profile's name."""
        return self.device.name

    def extreme(self, metric: str, *, largest: bool = False, seed: int = 0) -> Extreme:
        """The smallest (``largest``: the largest) ``metric`` over the space on this device.

        Exact for the analytic costs and for a :class:`UnitLatencyModel`; for any other latency
        model, the best of the analytic extreme subnet and 5,000 seeded random subnets
        (``exact`` is then False).
        """
        model, lm = self.cost_model, self.latency_model
        if metric != "latency" or lm is None:
            return extreme_cost(model, metric, largest=largest)
        codec = GenomeCodec(model.space)
        if isinstance(lm, UnitLatencyModel):
            chain = model if lm.length == model.length else CostModel(
                model.space, model.in_channels, model.num_classes, length=lm.length,
                mode=model.mode, device=self.device)
            found = extreme_cost(chain, metric, largest=largest, unit_latency=lm.unit_latency_s)
            if found.arch is None:
                return found
            value = float(lm.predict(codec.encode(found.arch)[None])[0]) * 1e3
            return Extreme(metric, value, found.arch)
        repair = GenomeRepair(codec)
        rng = np.random.default_rng([seed, 0x6D696E])
        genomes = repair(np.floor(rng.random((5000, codec.length)) * (codec.upper + 1)))
        analytic = extreme_cost(model, metric, largest=largest)
        if analytic.arch is not None:
            genomes = np.vstack([genomes, codec.encode(analytic.arch)[None]])
        costs = self.costs(genomes)
        ok = np.flatnonzero(costs.supported)
        if len(ok) == 0:
            return Extreme(metric, float("nan"), None, exact=False)
        pick = ok[np.argmax(costs.latency_ms[ok]) if largest else np.argmin(costs.latency_ms[ok])]
        return Extreme(metric, float(costs.latency_ms[pick]), codec.decode(genomes[pick]),
                       exact=False)

    def costs(self, genomes: np.ndarray) -> DeviceCosts:
        """Costs of integer genomes ``(n, G)``."""
        c = self.cost_model.costs(genomes)
        if self.latency_model is not None:
            latency_s = np.asarray(self.latency_model.predict(genomes), dtype=np.float64)
        else:
            latency_s = c["latency_s"]
        return DeviceCosts(latency_ms=latency_s * 1e3, sram_kb=c["sram_bytes"] / 1024.0,
                           flash_kb=c["flash_bytes"] / 1024.0, supported=c["supported"])
