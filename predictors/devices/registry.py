"""Load and validate device profiles: the presets in ``predictors/devices/*.yaml`` or a user's file.

Every problem is one :class:`DeviceError` line naming the file, the key and the fix, e.g.
``my.yaml: memory.flash_bytes: expected an integer >= 0, got '1 MB'``. The schema (every key
required unless marked)::

    name: str                      class: mcu | cpu | gpu         description: str
    clock_hz: number > 0
    memory: {sram: [{name: str, bytes: int}, ...], activation_region: str | null,
             flash_bytes: int, dram_bytes: int, bandwidth_bytes_per_s: number > 0}
    peak_macs_per_s: {int8: number, fp32: number, int4: number (optional)}
    efficiency: {<op class>: {int8: number, fp32: number, int4: number (optional)}, ...}
    overhead: {engine_flash_bytes: int, engine_sram_bytes: int, per_op_s: number >= 0}
    bits: {weights: {conv: [..], dwconv: [..], linear: [..], lstm: [..]}, activations: [..]}
    provenance: str
    runtime: onnxruntime | torch | pt2 | c   (optional; default: c on an mcu, else onnxruntime)
    batch: int >= 1                         (optional; default 1)
    fit: {flash_scale, flash_offset_bytes, sram_scale, ...} (optional; written by
         ``nasx profile --device <mcu>``, see :mod:`nasx.predictors.devices.mcu_fit`)

``runtime`` and ``batch`` say what the profile's latency is for (the runtime that runs the
deployed model, the sequences per call); ``nasx profile`` measures them and ``--runtime``
overrides the runtime.
``efficiency`` needs every op class of :data:`OP_CLASSES`: MACs (elements for ``norm`` and
``pool``) per cycle on an ``mcu``, a fraction of the peak in (0, 1] on a ``cpu``/``gpu``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from nasx.errors import DeviceError
from nasx.predictors.devices.mcu_fit import fit_from_dict, fit_to_dict, fitted_profile_file
from nasx.predictors.devices.profile import (
    DEFAULT_RUNTIME,
    DEVICE_CLASSES,
    DTYPES,
    OP_CLASSES,
    REQUIRED_DTYPES,
    RUNTIMES,
    WEIGHT_OP_CLASSES,
    DeviceProfile,
    MemoryRegion,
)
from nasx.runs.layout import PREDICTORS_DIR
from nasx.yamlfiles import parse_yaml, shipped_yaml_names

_TOP = ("name", "class", "description", "clock_hz", "memory", "peak_macs_per_s", "efficiency",
        "overhead", "bits", "provenance")
_OPTIONAL_TOP = ("runtime", "batch")
_MEMORY = ("sram", "activation_region", "flash_bytes", "dram_bytes", "bandwidth_bytes_per_s")
_OVERHEAD = ("engine_flash_bytes", "engine_sram_bytes", "per_op_s")
_BITS = ("weights", "activations")
_ALLOWED_BITS = (*range(2, 17), 32)


class _Checker:
    """Validates one parsed profile, prefixing every error with the file name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> DeviceError:
        return DeviceError(f"{self.source}: {key}: {problem}")

    def mapping(self, value: Any, key: str, keys: tuple[str, ...],
                optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
        """A mapping with exactly ``keys``, and maybe ``optional`` ones (unknown and missing
        keys are errors)."""
        where = key or "top level"
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping with keys {', '.join(keys)}")
        for k in value:
            if k not in keys and k not in optional:
                raise self.fail(f"{key}.{k}" if key else str(k),
                                f"unknown key (allowed: {', '.join((*keys, *optional))})")
        for k in keys:
            if k not in value:
                raise self.fail(f"{key}.{k}" if key else k, "missing (add it to the file)")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def integer(self, value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"expected an integer >= 0, got {value!r}")
        return value

    def number(self, value: Any, key: str, *, positive: bool = True, at_most: float = 0.0) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and (value > 0 if positive else value >= 0) and (not at_most or value <= at_most)
        if not ok:
            rule = "> 0" if positive else ">= 0"
            rule += f" and <= {at_most:g}" if at_most else ""
            raise self.fail(key, f"expected a number {rule}, got {value!r}")
        return float(value)

    def per_dtype(self, value: Any, key: str, at_most: float = 0.0) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected a mapping of dtype -> number ({', '.join(DTYPES)})")
        for k in value:
            if k not in DTYPES:
                raise self.fail(f"{key}.{k}", f"unknown dtype (allowed: {', '.join(DTYPES)})")
        for k in REQUIRED_DTYPES:
            if k not in value:
                raise self.fail(f"{key}.{k}", "missing (int8 and fp32 are required)")
        return {k: self.number(v, f"{key}.{k}", at_most=at_most) for k, v in value.items()}

    def bits(self, value: Any, key: str) -> tuple[int, ...]:
        items = value if isinstance(value, list) else [value]
        if not items or any(isinstance(b, bool) or b not in _ALLOWED_BITS for b in items):
            raise self.fail(key, f"expected a list of bit-widths 2..16 or 32, got {value!r}")
        return tuple(sorted(set(items)))


def _memory(c: _Checker, raw: Any) -> tuple[tuple[MemoryRegion, ...], str, dict[str, float]]:
    m = c.mapping(raw, "memory", _MEMORY)
    if not isinstance(m["sram"], list):
        raise c.fail("memory.sram", "expected a list of {name: ..., bytes: ...} regions")
    regions = []
    for i, r in enumerate(m["sram"]):
        r = c.mapping(r, f"memory.sram[{i}]", ("name", "bytes"))
        regions.append(MemoryRegion(c.text(r["name"], f"memory.sram[{i}].name"),
                                    c.integer(r["bytes"], f"memory.sram[{i}].bytes")))
    region = m["activation_region"]
    names = [r.name for r in regions]
    if region is not None and region not in names:
        raise c.fail("memory.activation_region",
                     f"{region!r} is not a region of memory.sram (allowed: {', '.join(names)}, "
                     "or null when activations live in DRAM)")
    sizes = {
        "flash_bytes": c.integer(m["flash_bytes"], "memory.flash_bytes"),
        "dram_bytes": c.integer(m["dram_bytes"], "memory.dram_bytes"),
        "bandwidth_bytes_per_s": c.number(m["bandwidth_bytes_per_s"],
                                          "memory.bandwidth_bytes_per_s"),
    }
    return tuple(regions), region or "", sizes


def profile_from_dict(raw: Any, source: str = "<memory>") -> DeviceProfile:
    """Validate a parsed profile (a dict as ``yaml.safe_load`` gives it).

    Raises:
        DeviceError: one line naming ``source``, the key and the fix.
    """
    c = _Checker(source)
    fit = None
    if isinstance(raw, Mapping) and "fit" in raw:
        fit = fit_from_dict(raw["fit"], c.fail)
        raw = {k: v for k, v in raw.items() if k != "fit"}
    top = c.mapping(raw, "", _TOP, _OPTIONAL_TOP)
    cls = top["class"]
    if cls not in DEVICE_CLASSES:
        raise c.fail("class",
                     f"{cls!r} is not a device class (allowed: {', '.join(DEVICE_CLASSES)})")
    runtime = top.get("runtime", DEFAULT_RUNTIME[cls])
    if runtime not in RUNTIMES:
        raise c.fail("runtime", f"{runtime!r} is not a runtime (allowed: {', '.join(RUNTIMES)})")
    batch = top.get("batch", 1)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise c.fail("batch", f"expected an integer >= 1, got {batch!r}")
    regions, region, sizes = _memory(c, top["memory"])
    eff_raw = c.mapping(top["efficiency"], "efficiency", OP_CLASSES)
    cap = 1.0 if cls != "mcu" else 0.0  # a fraction of the peak on cpu/gpu
    efficiency = {op: c.per_dtype(eff_raw[op], f"efficiency.{op}", cap) for op in OP_CLASSES}
    over = c.mapping(top["overhead"], "overhead", _OVERHEAD)
    bits = c.mapping(top["bits"], "bits", _BITS)
    wbits_raw = c.mapping(bits["weights"], "bits.weights", WEIGHT_OP_CLASSES)
    return DeviceProfile(
        name=c.text(top["name"], "name"),
        device_class=cls,
        description=c.text(top["description"], "description"),
        clock_hz=c.number(top["clock_hz"], "clock_hz"),
        sram=regions,
        activation_region=region,
        flash_bytes=int(sizes["flash_bytes"]),
        dram_bytes=int(sizes["dram_bytes"]),
        bandwidth_bytes_per_s=sizes["bandwidth_bytes_per_s"],
        peak_macs_per_s=c.per_dtype(top["peak_macs_per_s"], "peak_macs_per_s"),
        efficiency=efficiency,
        engine_flash_bytes=c.integer(over["engine_flash_bytes"], "overhead.engine_flash_bytes"),
        engine_sram_bytes=c.integer(over["engine_sram_bytes"], "overhead.engine_sram_bytes"),
        per_op_s=c.number(over["per_op_s"], "overhead.per_op_s", positive=False),
        weight_bits={op: c.bits(wbits_raw[op], f"bits.weights.{op}") for op in WEIGHT_OP_CLASSES},
        act_bits=c.bits(bits["activations"], "bits.activations"),
        provenance=c.text(top["provenance"], "provenance"),
        source=source,
        runtime=runtime,
        batch=batch,
        fit=fit,
    )


def device_names() -> list[str]:
    """Names of the profiles shipped with nasx (``nasx/predictors/devices/*.yaml``)."""
    return shipped_yaml_names("nasx.predictors", "devices")


def _parse(text: str, source: str) -> DeviceProfile:
    return profile_from_dict(parse_yaml(text, source, DeviceError), source)


def load_device(name_or_path: str | Path) -> DeviceProfile:
    """Load a shipped profile by name (``nasx devices`` lists them) or a YAML file by path.

    Example:
        >>> load_device("stm32h743").clock_hz
        480000000.0
    """
    text_arg = str(name_or_path)
    path = Path(text_arg)
    if not (isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") or "/" in text_arg):
        if text_arg not in device_names():
            raise DeviceError(f"unknown device {text_arg!r} (profiles: {', '.join(device_names())};"
                              " or give a path to a .yaml file)")
        folder = resources.files("nasx.predictors") / "devices"
        return _parse((folder / f"{text_arg}.yaml").read_text(), f"device {text_arg}")
    if not path.is_file():
        raise DeviceError(
            f"{path}: device profile not found (profiles: {', '.join(device_names())})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DeviceError(f"{path}: cannot read the file ({exc.__class__.__name__})") from None
    return _parse(text, str(path))


def profile_to_dict(profile: DeviceProfile) -> dict[str, Any]:
    """The profile as plain YAML-able data in the file's layout (``profile_from_dict`` reads it)."""
    return {
        "name": profile.name,
        "class": profile.device_class,
        "description": profile.description,
        "clock_hz": profile.clock_hz,
        "memory": {
            "sram": [{"name": r.name, "bytes": r.bytes} for r in profile.sram],
            "activation_region": profile.activation_region or None,
            "flash_bytes": profile.flash_bytes,
            "dram_bytes": profile.dram_bytes,
            "bandwidth_bytes_per_s": profile.bandwidth_bytes_per_s,
        },
        "peak_macs_per_s": dict(profile.peak_macs_per_s),
        "efficiency": {op: dict(row) for op, row in profile.efficiency.items()},
        "overhead": {
            "engine_flash_bytes": profile.engine_flash_bytes,
            "engine_sram_bytes": profile.engine_sram_bytes,
            "per_op_s": profile.per_op_s,
        },
        "bits": {"weights": {op: list(b) for op, b in profile.weight_bits.items()},
                 "activations": list(profile.act_bits)},
        "provenance": profile.provenance,
        "runtime": profile.runtime,
        "batch": profile.batch,
        **({"fit": fit_to_dict(profile.fit)} if profile.fit is not None else {}),
    }


def load_run_device(run_dir: Path, name: str, channels: int, classes: int,
                    length: int) -> tuple[DeviceProfile, str | None]:
    """The profile ``name`` for the run ``run_dir``: its fitted profile
    (``predictors/device-<name>.yaml``, from ``nasx profile --device <mcu> --run``) when it
    was fitted for this data shape, else the shipped one / the file. The second item says
    which fit was taken or why one was ignored (None: no fit in the run)."""
    profile = load_device(name)
    path = fitted_profile_file(run_dir / PREDICTORS_DIR, profile.name)
    if not profile.is_mcu or not path.is_file():
        return profile, None
    fitted = load_device(path)
    f = fitted.fit
    if f is None or fitted.name != profile.name:
        return profile, None
    if not f.matches(channels, classes, length):
        return profile, (f"ignoring {path}: fitted for {f.channels} channels, {f.classes} "
                         f"classes, length {f.length}, the run has {channels}, {classes}, "
                         f"{length}")
    return fitted, (f"{profile.name} flash, SRAM and latency from the fitted profile {path} "
                    f"({f.samples} subnets; {f.measured}, assumed {f.assumed})")
