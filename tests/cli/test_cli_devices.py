"""`nasx devices` and `nasx cost` through the CLI: tables, JSON, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from nasx.cli import main
from nasx.predictors import CostModel, load_device, profile_to_dict
from nasx.search_spaces import largest_arch, load_space

# the conv arch of tests/predictors/cost/hand_archs.py
HAND_CONV = {"stem": {"width": 4, "kernel": 3, "stride": 1, "wbits": 8, "abits": 8},
             "stages": [{"depth": 1, "width": 8, "stride": 1, "wbits": 8, "abits": 8,
                         "blocks": [{"op": "conv", "kernel": 3, "expand": 2, "wbits": 4,
                                     "abits": 8}]}]}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_lists_every_profile_with_key_numbers(capsys) -> None:
    code, out, _ = _run(capsys, "devices")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("stm32h743 "))
    assert row.split() == ["stm32h743", "mcu", "480", "512", "2048", "0.96", "0.48", "analytic"]
    assert "roofline estimate" in next(x for x in out.splitlines() if x.startswith("h100 "))
    code, out, _ = _run(capsys, "devices", "--format", "json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["nrf52840"]["activation_sram_bytes"] == 262144
    assert rows["rpi4"]["latency"] == "roofline estimate"
    assert (rows["rpi4"]["runtime"], rows["stm32h743"]["runtime"], rows["rpi4"]["batch"]) == (
        "onnxruntime", "c", 1)


def test_devices_show_name_and_path(capsys, tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "devices", "show", "stm32f746")
    assert code == 0 and "327,680 B  <- activations" in out and "assumption" in out
    assert "  runtime         c, batch 1 (what its latency is for)\n" in out
    raw = profile_to_dict(load_device("stm32f746"))
    raw["name"] = "my-f7"
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(raw))
    code, out, _ = _run(capsys, "devices", "show", str(path), "--format", "json")
    assert code == 0 and json.loads(out)["name"] == "my-f7"
    raw["memory"]["flash"] = 1
    path.write_text(yaml.safe_dump(raw))
    code, out, err = _run(capsys, "devices", "show", str(path))
    assert code == 2 and out == ""
    assert err == (f"nasx: error: {path}: memory.flash: unknown key (allowed: sram, "
                   "activation_region, flash_bytes, dram_bytes, bandwidth_bytes_per_s)\n")


def test_cost_of_a_hand_arch_matches_the_hand_numbers(capsys, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({
        "name": "hand-conv", "stem": {"width": [4], "kernel": [3]},
        "stages": [{"depth": [1], "width": [8], "ops": ["conv"]}],
        "ops": {"conv": {"kernel": [3], "expand": [2]}},
        "quant": {"weight_bits": [4, 8, 32], "act_bits": [8, 32]}}))
    arch = tmp_path / "arch.json"
    arch.write_text(json.dumps({"id": "x", "arch": HAND_CONV}))  # a `space sample` line
    argv = ["cost", "--space", str(space), "--arch", str(arch), "--device", "stm32h743",
            "--length", "10", "--channels", "2", "--classes", "3"]
    code, out, _ = _run(capsys, *argv, "--format", "json")
    got = json.loads(out)
    assert code == 0
    # see tests/predictors/cost/test_cost_hand.py for the arithmetic (an MCU: SRAM is the C
    # runtime's arena, 640 bytes)
    assert (got["macs"], got["params"], got["weight_bytes"], got["peak_sram_bytes"]) == (
        3624, 491, 752, 640)
    assert got["flash_bytes"] == 752 + 32768 and got["latency_kind"] == "analytic"
    code, out, _ = _run(capsys, *argv, "--steps")
    assert code == 0 and "  MACs       3,624" in out and "stages[0].blocks[0].dw" in out
    assert "(analytic: MACs / (efficiency x clock) + per-op overhead)" in out


def test_cost_largest_on_a_gpu_is_labelled_an_estimate(capsys) -> None:
    code, out, _ = _run(capsys, "cost", "--space", "tiny", "--arch", "largest", "--device",
                        "h100", "--mode", "streaming", "--format", "json")
    got = json.loads(out)
    model = CostModel(load_space("tiny"), 12, 9, length=29, mode="streaming",
                      device=load_device("h100"))
    want = model.cost(largest_arch(load_space("tiny"), np.random.default_rng(0)))
    assert code == 0 and got["latency_kind"] == "roofline estimate"
    assert (got["peak_sram_bytes"], got["macs"]) == (want.peak_sram_bytes, want.macs)
    code, out, _ = _run(capsys, "cost", "--space", "tiny", "--arch", "smallest", "--device",
                        "rpi4")
    assert "roofline ESTIMATE, not measured" in out


def test_cost_errors_are_one_line(capsys, tmp_path: Path) -> None:
    base = ["cost", "--space", "tiny", "--device", "stm32h743", "--arch"]
    code, _, err = _run(capsys, *base, str(tmp_path / "none.json"))
    assert code == 2 and err == (f"nasx: error: {tmp_path / 'none.json'}: arch file not found "
                                 "(or give 'largest' / 'smallest')\n")
    code, _, err = _run(capsys, "cost", "--space", "tiny", "--arch", "largest", "--device",
                        "esp32")
    assert code == 2 and err.startswith("nasx: error: unknown device 'esp32' (profiles: h100,")
    code, _, err = _run(capsys, *base, "largest", "--length", "0")
    assert code == 2 and err == "nasx: error: --length 0: give a positive integer\n"
