"""The MCU cost model fitted to Cortex-M7 measurements: the least-squares lines, the profile's
``fit`` key (round trip, one-line errors), the cost model and the search's cheapest subnet
using it, and the run's fitted profile replacing the shipped one in ``nasx search``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from nasx.errors import DeviceError
from nasx.predictors import CostModel, load_device, profile_from_dict, profile_to_dict
from nasx.predictors.devices.mcu_fit import LABEL, McuFit, fit_mcu, fitted_profile_file
from nasx.search.api import _fitted_profiles
from nasx.search.cheapest import extreme_cost
from nasx.search.objectives import DeviceObjective
from nasx.search_spaces import GenomeCodec, largest_arch, load_space, smallest_arch

FIT = McuFit(1.01, 9000.0, 1.0, 2500.0, 3.5, 1e-4, 5, 12, 9, 29)


def _rows() -> list[dict[str, float]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(6):
        w, p, lat = (float(v) for v in rng.integers(1000, 90000, 3))
        lat *= 1e-7
        out.append({"cost_weight_bytes": w, "cost_peak_sram_bytes": p, "cost_latency_s": lat,
                    "flash_bytes": 1.004 * w + 9600, "sram_bytes": p + 3000,
                    "instructions": 2.5 * lat * 216e6 + 40000})
    return out


def test_fit_recovers_the_lines() -> None:
    fit = fit_mcu(_rows(), 216e6, 12, 9, 29)
    assert fit.flash_scale == pytest.approx(1.004) and fit.flash_offset_bytes == pytest.approx(9600)
    assert fit.sram_scale == pytest.approx(1.0) and fit.sram_offset_bytes == pytest.approx(3000)
    assert fit.latency_scale == pytest.approx(2.5)
    assert fit.latency_offset_s == pytest.approx(40000 / 216e6)
    assert fit.samples == 6 and fit.matches(12, 9, 29) and not fit.matches(12, 9, 30)
    with pytest.raises(ValueError, match="no measured subnets"):
        fit_mcu([], 216e6, 12, 9, 29)


def test_the_fit_round_trips_through_the_profile_and_bad_values_are_one_line() -> None:
    stock = load_device("stm32f746")
    raw = profile_to_dict(dataclasses.replace(stock, fit=FIT))
    assert raw["fit"]["measured"] == "qemu cortex-m7 instructions"
    again = profile_from_dict(yaml.safe_load(yaml.safe_dump(raw)), "f.yaml")
    assert again.fit == FIT and "fit" not in profile_to_dict(stock)
    raw["fit"]["sram_scale"] = -1.0
    with pytest.raises(DeviceError, match=r"^f\.yaml: fit\.sram_scale: invalid value -1\.0$"):
        profile_from_dict(raw, "f.yaml")
    del raw["fit"]["sram_scale"]
    with pytest.raises(DeviceError, match=r"^f\.yaml: fit: expected a mapping with keys "):
        profile_from_dict(raw, "f.yaml")


def test_cost_model_and_cheapest_subnet_use_the_fit() -> None:
    space = load_space("hybrid-mcu")
    stock = load_device("stm32f746")
    fitted = dataclasses.replace(stock, fit=FIT)
    arch = largest_arch(space)
    plain = CostModel(space, 12, 9, length=29, device=stock).cost(arch)
    got = CostModel(space, 12, 9, length=29, device=fitted).cost(arch)
    assert got.flash_bytes == round(1.01 * plain.weight_bytes + 9000)
    assert got.sram_bytes == round(plain.peak_sram_bytes + 2500)
    assert got.latency_s == pytest.approx(3.5 * plain.latency_s + 1e-4)
    assert got.latency_label == LABEL and LABEL.startswith("measured: qemu cortex-m7 instructions")
    stream = CostModel(space, 12, 9, length=29, mode="streaming", device=fitted).cost(arch)
    assert stream.latency_label == "analytic"  # measured whole-sequence only
    model = CostModel(space, 12, 9, length=29, device=fitted)
    for metric in ("sram", "flash", "latency"):
        best = extreme_cost(model, metric)
        c = model.cost(best.arch)
        value = {"sram": c.sram_bytes / 1024, "flash": c.flash_bytes / 1024,
                 "latency": c.latency_s * 1e3}[metric]
        assert best.value == pytest.approx(value)
        small = CostModel(space, 12, 9, length=29, device=fitted).cost(smallest_arch(space))
        assert value <= {"sram": small.sram_bytes / 1024, "flash": small.flash_bytes / 1024,
                         "latency": small.latency_s * 1e3}[metric] + 1e-9
    objective = DeviceObjective(fitted, model)
    genome = GenomeCodec(space).encode(arch)[None]
    costs = objective.costs(genome)
    assert objective.latency_label == "measured"
    assert costs.sram_kb[0] == pytest.approx(got.sram_bytes / 1024)


def test_search_takes_the_runs_fitted_profile(tmp_path: Path) -> None:
    stock = load_device("stm32f746")
    folder = tmp_path / "predictors"
    folder.mkdir()
    fitted_profile_file(folder, "stm32f746").write_text(
        yaml.safe_dump(profile_to_dict(dataclasses.replace(stock, fit=FIT))))
    lines: list[str] = []
    trained = SimpleNamespace(splits=SimpleNamespace(channels=12, num_classes=9, max_length=29))
    host = load_device("host-cpu")
    got = _fitted_profiles(tmp_path, trained, {"stm32f746": stock, "host-cpu": host},
                           lines.append)
    assert got["stm32f746"].fit == FIT and got["host-cpu"] is host
    assert "stm32f746 flash, SRAM and latency from the fitted profile" in lines[0]
    other = SimpleNamespace(splits=SimpleNamespace(channels=12, num_classes=9, max_length=30))
    assert _fitted_profiles(tmp_path, other, {"x": stock}, lines.append)["x"] is stock
    assert lines[-1].endswith("fitted for 12 channels, 9 classes, length 29, the run has 12, "
                              "9, 30")
