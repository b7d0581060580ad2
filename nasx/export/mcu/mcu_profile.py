"""``nasx profile --device <mcu> --run R``: build sampled subnets of a trained run for the
Cortex-M7, run each on QEMU, and fit the MCU cost model to what they measure.

1. The subnets: the largest, the smallest and ``samples`` distinct random ones (seeded, as
   ``nasx profile`` draws them for host-cpu). A subnet whose quantizers never trained (no
   range to export) is skipped and counted.
2. Each is exported from the run's supernet (eval mode; BatchNorm statistics do not change
   sizes or instruction counts), written as C with one golden input (the longest training
   sequence, zero-padded to the data's longest length, so the count is for the length the cost
   model uses), cross-compiled and run on QEMU ``mps2-an500``
   (:mod:`nasx.export.mcu.cortex_m7`): flash and SRAM from the ELF, executed instructions.
3. The analytic model without a fit costs each subnet;
   :func:`nasx.predictors.devices.mcu_fit.fit_mcu`
   fits flash, SRAM and instructions to it. The profile with its fit goes to
   ``R/predictors/device-<name>.yaml`` (``nasx search`` on the run uses it), the measurements to
   ``R/predictors/mcu-<name>-data.json``.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from nasx.data.batches import take_batch
from nasx.errors import NasxError
from nasx.export.convert import ExportError, export_static, spec_for
from nasx.export.mcu.build import write_c_export
from nasx.export.mcu.cortex_m7 import missing_tools, run_m7
from nasx.export.preprocess import Preprocessing, raw_splits
from nasx.export.verify import has_act_quant
from nasx.predictors import CostModel, DeviceProfile, profile_to_dict
from nasx.predictors.devices.mcu_fit import McuFit, fit_mcu, fitted_profile_file
from nasx.runs import atomic_write_text
from nasx.runs.layout import PREDICTORS_DIR
from nasx.search_spaces import arch_id


def data_file(folder: Path, device: str) -> Path:
    """Where the Cortex-M7 measurements of ``device`` go."""
    return folder / f"mcu-{device}-data.json"


@dataclass(frozen=True)
class McuProfileReport:
    """What :func:`profile_mcu` did."""

    fit: McuFit
    rows: list[dict[str, Any]]
    skipped: int
    profile_path: Path
    data_path: Path
    seconds: float


def _golden_input(raw: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The longest training sequence zero-padded to the data's longest length: ``x (1, C,
    L)``, ``lengths (1,)`` with ``L = raw.max_length``."""
    train = raw.train
    i = int(train.lengths.argmax())
    x = torch.zeros(1, raw.channels, raw.max_length)
    n = min(int(train.lengths[i]), raw.max_length)
    x[0, :, :n] = take_batch(train, torch.tensor([i])).x[0, :, :n]
    return x, torch.tensor([raw.max_length])


def profile_mcu(run_dir: Path, device: DeviceProfile, *, samples: int, seed: int = 0,
                progress: Callable[[int, int], Any] | None = None) -> McuProfileReport:
    """Measure, fit and save (see the module docstring).

    Raises:
        NasxError: the cross toolchain or QEMU missing, or no subnet could be exported.
    """
    from nasx.predictors.latency.profile import profile_archs
    from nasx.runs.trained import load_trained_run

    reason = missing_tools()
    if reason:
        raise NasxError(f"cannot profile {device.name} on an emulated Cortex-M7: {reason}")
    start = time.perf_counter()
    run = load_trained_run(run_dir)
    run.net.cpu().eval()
    raw = raw_splits(run.cfg)
    pre = Preprocessing.of_splits(run.splits)
    model = CostModel(run.space, raw.channels, raw.num_classes, length=raw.max_length,
                      device=dataclasses.replace(device, fit=None))
    x, lengths = _golden_input(raw)
    archs = profile_archs(run.space, samples, seed)
    rows: list[dict[str, Any]] = []
    skipped = 0
    for done, arch in enumerate(archs, 1):
        try:
            with torch.no_grad():
                static = run.net.extract(arch).eval()
            net = export_static(static, spec_for(run.space, static.arch, raw.channels,
                                                 raw.num_classes, pre))
        except ExportError:
            skipped += 1
            continue
        with torch.no_grad():
            logits = net(x, lengths)
        with tempfile.TemporaryDirectory() as tmp:
            write_c_export(Path(tmp), net, raw.max_length, x, lengths, logits,
                           not has_act_quant(net.spec.arch))
            m7 = run_m7(Path(tmp), raw.num_classes)
        cost = model.cost(arch)
        rows.append({"id": arch_id(arch), "flash_bytes": m7.flash_bytes,
                     "sram_bytes": m7.sram_bytes, "stack_bytes": m7.stack_bytes,
                     "instructions": m7.instructions[0],
                     "cost_weight_bytes": cost.weight_bytes,
                     "cost_peak_sram_bytes": cost.peak_sram_bytes,
                     "cost_latency_s": cost.latency_s})
        if progress is not None:
            progress(done, len(archs))
    if not rows:
        raise NasxError(f"none of the {len(archs)} subnets could be exported (their "
                        "quantizers never trained); train the supernet longer")
    fit = fit_mcu(rows, device.clock_hz, raw.channels, raw.num_classes, raw.max_length)
    folder = run_dir / PREDICTORS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    data = data_file(folder, device.name)
    atomic_write_text(data, json.dumps({"device": device.name, "space": run.space.name,
                                        "length": raw.max_length, "seed": seed,
                                        "skipped": skipped, "rows": rows}, indent=1) + "\n")
    fitted = profile_to_dict(dataclasses.replace(device, fit=fit))
    path = fitted_profile_file(folder, device.name)
    atomic_write_text(path, f"# {device.name} fitted by nasx profile to {len(rows)} subnets of "
                      f"{run.space.name} run on QEMU mps2-an500 (Cortex-M7); see "
                      f"{data.name}.\n" + yaml.safe_dump(fitted, sort_keys=False))
    return McuProfileReport(fit, rows, skipped, path, data, time.perf_counter() - start)
