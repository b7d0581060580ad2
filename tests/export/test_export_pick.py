"""--pick: arch JSON, index, arch id, budget name, bare device; and the errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasx.errors import ArchError
from nasx.export import PickError, resolve_pick
from nasx.search_spaces import GenomeCodec, arch_id, load_space, random_arch

SPACE = load_space("tiny")
PREDICTED = {"accuracy": 0.9, "accuracy_std": 0.01, "latency_ms": 1.0, "sram_kb": 8.0,
             "flash_kb": 32.0, "latency_label": "analytic"}


@pytest.fixture
def run_dir(tmp_path: Path) -> tuple[Path, list[dict]]:
    rng = np.random.default_rng(0)
    archs = [random_arch(SPACE, rng) for _ in range(5)]
    run = tmp_path / "run"
    (run / "search").mkdir(parents=True)
    pareto = {
        "nasx_pareto": 1, "run": str(run),
        "subnets": [{"index": i, "id": arch_id(a), "arch": a, "device": d,
                     "predicted": PREDICTED, "validated": None}
                    for i, (a, d) in enumerate(zip(archs[:3], ["stm32f746", "stm32f746",
                                                                 "host-cpu"], strict=True))],
        "budgets": [
            {"name": "stm32f746: sram<=256KB, flash<=1MB", "device": "stm32f746",
             "constraints": {"latency_ms": None, "sram_kb": 256, "flash_kb": 1024}, "best": 1},
            {"name": "stm32f746: sram<=16KB", "device": "stm32f746",
             "constraints": {"latency_ms": None, "sram_kb": 16, "flash_kb": None}, "best": 0},
            {"name": "host-cpu: latency<=0.5ms", "device": "host-cpu",
             "constraints": {"latency_ms": 0.5, "sram_kb": None, "flash_kb": None}, "best": 2},
            {"name": "nrf52840: sram<=1KB", "device": "nrf52840",
             "constraints": {"latency_ms": None, "sram_kb": 1, "flash_kb": None}, "best": None},
        ]}
    (run / "search" / "pareto.json").write_text(json.dumps(pareto))
    (run / "archs.json").write_text(json.dumps({"largest": {"id": arch_id(archs[3]),
                                                            "arch": archs[3]}}))
    (run / "predictors").mkdir()
    genome = GenomeCodec(SPACE).encode(archs[4]).tolist()
    (run / "predictors" / "accuracy-data.jsonl").write_text(
        json.dumps({"id": arch_id(archs[4]), "genome": genome, "val_acc": 0.5,
                    "val_loss": 1.0}) + "\n{\"id\": \"torn")
    return run, archs


def test_each_kind_of_pick(run_dir: tuple[Path, list[dict]], tmp_path: Path) -> None:
    run, archs = run_dir
    p = resolve_pick(run, SPACE, "2")
    assert p.arch == archs[2] and p.devices == ("host-cpu",) and p.pareto_entry["index"] == 2
    p = resolve_pick(run, SPACE, "stm32f746: sram<=256KB, flash<=1MB")
    assert p.arch == archs[1] and p.budget == "stm32f746: sram<=256KB, flash<=1MB"
    assert p.constraints["sram_kb"] == 256 and p.devices == ("stm32f746",)
    assert resolve_pick(run, SPACE, "STM32F746:  SRAM<=16KB").arch == archs[0]  # case, spaces
    assert resolve_pick(run, SPACE, "host-cpu").arch == archs[2]  # the device's only budget
    assert resolve_pick(run, SPACE, arch_id(archs[0])).source.endswith("subnets[0]")
    p = resolve_pick(run, SPACE, arch_id(archs[3]))
    assert p.arch == archs[3] and p.source.endswith("archs.json (largest)")
    p = resolve_pick(run, SPACE, arch_id(archs[4]))
    assert p.arch == archs[4] and p.source.endswith("accuracy-data.jsonl")
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"id": "ignored", "arch": archs[1]}))
    assert resolve_pick(run, SPACE, str(f)).arch == archs[1]


def test_pick_errors(run_dir: tuple[Path, list[dict]], tmp_path: Path) -> None:
    run, _ = run_dir
    pareto = run / "search" / "pareto.json"
    cases = {
        "7": f"--pick 7: index out of range; {pareto} has 3 subnets (0..2)",
        "stm32f746": "--pick stm32f746: 2 budgets are for device 'stm32f746' ('stm32f746: "
                     "sram<=256KB, flash<=1MB'; 'stm32f746: sram<=16KB'); give the budget name "
                     "in quotes",
        "nrf52840": f"--pick nrf52840: budget 'nrf52840: sram<=1KB' has no feasible subnet in "
                    f"{pareto}; relax the budget and rerun nasx search, or pick another",
        "fast": f"--pick 'fast': not an arch JSON file, an index, an arch id or a budget of "
                f"{pareto} (budgets: 'stm32f746: sram<=256KB, flash<=1MB'; 'stm32f746: "
                "sram<=16KB'; 'host-cpu: latency<=0.5ms'; 'nrf52840: sram<=1KB')",
        "0123456789ab": f"--pick 0123456789ab: no arch with this id in {pareto}, "
                        f"{run / 'archs.json'} or {run / 'predictors' / 'accuracy-data.jsonl'}; "
                        "give an arch JSON file instead",
        "missing.json": "--pick missing.json: arch file not found",
    }
    for spec, message in cases.items():
        with pytest.raises(PickError) as err:
            resolve_pick(run, SPACE, spec)
        assert str(err.value) == message
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stem": {}, "stages": []}))
    with pytest.raises(ArchError, match=r"bad\.json: "):
        resolve_pick(run, SPACE, str(bad))


def test_without_or_with_a_broken_pareto_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "search").mkdir(parents=True)
    with pytest.raises(PickError, match=r"^--pick 3: an index needs .*pareto\.json; run nasx "
                                        r"search first"):
        resolve_pick(run, SPACE, "3")
    other = random_arch(load_space("hybrid-mcu"), np.random.default_rng(0))
    foreign = {"index": 0, "id": arch_id(other), "arch": other, "device": "stm32f746",
               "predicted": PREDICTED, "validated": None}
    (run / "search" / "pareto.json").write_text(json.dumps(
        {"nasx_pareto": 1, "subnets": [foreign], "budgets": []}))
    with pytest.raises(PickError, match=r"pareto\.json: subnets\[0\]: .*the file is from "
                                        r"another run's search space"):
        resolve_pick(run, SPACE, "0")
    (run / "search" / "pareto.json").write_text('{"subnets": []}')
    with pytest.raises(PickError, match=r"not a nasx pareto file"):
        resolve_pick(run, SPACE, "0")
    (run / "search" / "pareto.json").write_text(
        '{"nasx_pareto": 1, "subnets": [], "budgets": [{"name": "b", "device": "d", "best": 4}]}')
    with pytest.raises(PickError, match=r"budgets\[0\]\.best: 4 is not an index into subnets"):
        resolve_pick(run, SPACE, "b")
