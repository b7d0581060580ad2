"""Device profiles: the shipped files, their sources, and one-line validation errors."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from nasx.predictors import (
    DeviceError,
    device_names,
    load_device,
    profile_from_dict,
    profile_to_dict,
)


def test_shipped_profiles() -> None:
    assert device_names() == ["h100", "host-cpu", "jetson-orin-nano", "nrf52840", "rpi4",
                              "stm32f746", "stm32h743"]
    f7, h7, nrf = load_device("stm32f746"), load_device("stm32h743"), load_device("nrf52840")
    assert (f7.clock_hz, f7.activation_sram_bytes, f7.flash_bytes) == (216e6, 320 * 1024, 2**20)
    assert (h7.clock_hz, h7.activation_sram_bytes, h7.flash_bytes) == (480e6, 512 * 1024, 2**21)
    assert (nrf.clock_hz, nrf.activation_sram_bytes, nrf.flash_bytes) == (64e6, 256 * 1024, 2**20)
    assert h7.efficiency["conv"]["int8"] == 0.5  # the TinyEngine figure
    assert {load_device(n).device_class for n in ("rpi4", "host-cpu")} == {"cpu"}
    assert {load_device(n).device_class for n in ("h100", "jetson-orin-nano")} == {"gpu"}
    # the runtime each latency is for: what users deploy there, one sequence per call
    assert {n: (load_device(n).runtime, load_device(n).batch) for n in device_names()} == {
        "h100": ("onnxruntime", 1), "host-cpu": ("onnxruntime", 1),
        "jetson-orin-nano": ("onnxruntime", 1), "nrf52840": ("c", 1), "rpi4": ("onnxruntime", 1),
        "stm32f746": ("c", 1), "stm32h743": ("c", 1)}


def test_runtime_and_batch_are_optional_with_class_defaults() -> None:
    for name, runtime in (("stm32h743", "c"), ("rpi4", "onnxruntime")):
        raw = profile_to_dict(load_device(name))
        del raw["runtime"], raw["batch"]
        p = profile_from_dict(raw, "x.yaml")
        assert (p.runtime, p.batch) == (runtime, 1)
    raw = {**profile_to_dict(load_device("rpi4")), "runtime": "torch", "batch": 8}
    assert (profile_from_dict(raw, "x.yaml").runtime, profile_from_dict(raw, "x.yaml").batch) \
        == ("torch", 8)


NUMBER = re.compile(r"(^|[\s\[{,:])-?\d+(\.\d+)?(e[+-]?\d+)?\s*([,}\]]|$)")


@pytest.mark.parametrize("name", device_names())
def test_every_number_has_a_source_comment(name: str) -> None:
    """A line holding a number has a comment, follows a comment line, or its parent key has one."""
    text = (resources.files("nasx.predictors") / "devices" / f"{name}.yaml").read_text()
    lines = text.split("provenance:")[0].splitlines()  # provenance is prose
    indent = [len(x) - len(x.lstrip()) for x in lines]
    for i, line in enumerate(lines):
        body = line.split("#")[0]
        if not NUMBER.search(body) or body.lstrip().startswith("description:"):
            continue
        parent = next((lines[j] for j in range(i - 1, -1, -1)
                       if lines[j].strip() and indent[j] < indent[i]), "")
        previous = lines[i - 1].strip() if i else ""
        assert "#" in line or previous.startswith("#") or "#" in parent, (
            f"{name}.yaml line {i + 1} has a number without a source: {line!r}")
    assert "assumption" in text


@pytest.mark.parametrize("name", device_names())
def test_profile_round_trips_through_dict(name: str) -> None:
    p = load_device(name)
    assert profile_from_dict(profile_to_dict(p), p.source) == p


def _raw() -> dict:
    return profile_to_dict(load_device("stm32h743"))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(colour="red"), "x.yaml: colour: unknown key (allowed: name, class,"),
        (lambda d: d.pop("clock_hz"), "x.yaml: clock_hz: missing (add it to the file)"),
        (lambda d: d["memory"].update(flash_bytes="1 MB"),
         "x.yaml: memory.flash_bytes: expected an integer >= 0, got '1 MB'"),
        (lambda d: d.update({"class": "fpga"}),
         "x.yaml: class: 'fpga' is not a device class (allowed: mcu, cpu, gpu)"),
        (lambda d: d["memory"].update(activation_region="sdram"),
         "x.yaml: memory.activation_region: 'sdram' is not a region of memory.sram"),
        (lambda d: d["efficiency"]["lstm"].pop("fp32"),
         "x.yaml: efficiency.lstm.fp32: missing (int8 and fp32 are required)"),
        (lambda d: d["efficiency"]["conv"].update(bf16=1.0),
         "x.yaml: efficiency.conv.bf16: unknown dtype (allowed: int4, int8, fp32)"),
        (lambda d: d["bits"]["weights"].update(conv=[1, 8]),
         "x.yaml: bits.weights.conv: expected a list of bit-widths 2..16 or 32, got [1, 8]"),
        (lambda d: d["overhead"].update(per_op_s=-1),
         "x.yaml: overhead.per_op_s: expected a number >= 0, got -1"),
        (lambda d: d.update(runtime="tflite"),
         "x.yaml: runtime: 'tflite' is not a runtime (allowed: onnxruntime, torch, pt2, c)"),
        (lambda d: d.update(batch=0), "x.yaml: batch: expected an integer >= 1, got 0"),
    ],
)
def test_validation_errors_name_file_and_key(edit, message: str) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(DeviceError) as err:
        profile_from_dict(raw, "x.yaml")
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_gpu_efficiency_is_a_fraction_of_peak() -> None:
    raw = profile_to_dict(load_device("h100"))
    raw["efficiency"]["conv"]["fp32"] = 1.5  # fine as MACs/cycle on an MCU, not here
    with pytest.raises(DeviceError, match=r"^x.yaml: efficiency.conv.fp32: expected a number "
                                          r"> 0 and <= 1, got 1.5$"):
        profile_from_dict(raw, "x.yaml")
    raw["class"] = "mcu"
    assert profile_from_dict(raw, "x.yaml").efficiency["conv"]["fp32"] == 1.5


def test_user_file_and_bad_names(tmp_path: Path) -> None:
    raw = _raw()
    raw["name"], raw["clock_hz"] = "my-board", 100e6
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump(raw))
    p = load_device(str(path))
    assert (p.name, p.clock_hz, p.source) == ("my-board", 100e6, str(path))
    with pytest.raises(DeviceError, match=r"^unknown device 'esp32' \(profiles: h100, "):
        load_device("esp32")
    with pytest.raises(DeviceError, match=r"missing\.yaml: device profile not found"):
        load_device(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(DeviceError, match=r"bad.yaml: invalid YAML at line 2"):
        load_device(bad)
