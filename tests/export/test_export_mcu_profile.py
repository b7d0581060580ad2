"""``nasx profile --device stm32f746 --run R``: subnets of a trained run built for a Cortex-M7
and run on QEMU, the MCU cost model fitted to them and stored in the run's device profile,
which then changes the SRAM and flash the search predicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_run import train_tiny_run

from nasx.cli import main
from nasx.export.mcu.cortex_m7 import missing_tools
from nasx.predictors import CostModel, load_device
from nasx.predictors.devices.mcu_fit import LABEL, fitted_profile_file
from nasx.runs.trained import load_trained_run
from nasx.search_spaces import largest_arch, smallest_arch

REASON = missing_tools()


def test_an_mcu_profile_needs_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "--device", "stm32f746", "--space", "tiny"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("nasx: error: --device stm32f746 profiles the subnets of a trained run on "
                   "an emulated Cortex-M7: give --run R (the folder of nasx train)")


@pytest.mark.skipif(REASON is not None, reason=f"Cortex-M7 profile: {REASON}")
def test_profile_fits_the_mcu_model_and_the_search_uses_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = train_tiny_run(tmp_path / "run")
    capsys.readouterr()
    assert main(["profile", "--device", "stm32f746", "--run", str(run), "--samples", "1",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["measured"] == "qemu cortex-m7 instructions"
    assert out["assumed"] == "1 cycle per executed instruction at the profile clock"
    assert out["subnets"] + out["skipped"] == 3 and out["subnets"] >= 2
    data = json.loads((run / "predictors" / "mcu-stm32f746-data.json").read_text())
    rows = data["rows"]
    assert len(rows) == out["subnets"]
    for r in rows:  # the runtime's arena is the cost model's peak: SRAM = peak + a constant
        assert r["sram_bytes"] - r["cost_peak_sram_bytes"] == pytest.approx(
            rows[0]["sram_bytes"] - rows[0]["cost_peak_sram_bytes"], abs=256)
        assert r["flash_bytes"] > r["cost_weight_bytes"] and r["instructions"] > 0
    fitted = load_device(fitted_profile_file(run / "predictors", "stm32f746"))
    assert fitted.fit is not None and fitted.fit.samples == len(rows)
    trained = load_trained_run(run)
    s = trained.splits
    assert fitted.fit.matches(s.channels, s.num_classes, s.max_length)
    stock = load_device("stm32f746")
    for arch in (largest_arch(trained.space), smallest_arch(trained.space)):
        before = CostModel(trained.space, s.channels, s.num_classes, length=s.max_length,
                           device=stock).cost(arch)
        after = CostModel(trained.space, s.channels, s.num_classes, length=s.max_length,
                          device=fitted).cost(arch)
        assert after.latency_label == LABEL
        assert (after.sram_bytes, after.flash_bytes) != (before.sram_bytes, before.flash_bytes)
        measured = {r["id"]: r for r in rows}
        from nasx.search_spaces import arch_id

        row = measured.get(arch_id(arch))
        if row is not None:  # the fit is close to what it was fitted on
            assert abs(after.flash_bytes - row["flash_bytes"]) <= 0.1 * row["flash_bytes"]
            assert abs(after.sram_bytes - row["sram_bytes"]) <= 0.1 * row["sram_bytes"]
    # the search on this run reads the fitted profile
    from types import SimpleNamespace

    from nasx.search.api import _fitted_profiles

    lines: list[str] = []
    got = _fitted_profiles(run, SimpleNamespace(splits=s), {"stm32f746": stock}, lines.append)
    assert got["stm32f746"].fit == fitted.fit and "fitted profile" in lines[0]
    # and so do the cost figures nasx export writes into metrics.json
    from nasx.export.metrics import device_costs

    costs = device_costs(trained, smallest_arch(trained.space), ["stm32f746"])["stm32f746"]
    assert costs["whole-sequence"]["latency_label"] == LABEL
    assert costs["streaming"]["latency_label"] == "analytic"
