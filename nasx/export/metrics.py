"""What ``metrics.json`` of an export holds: accuracy, cost per device and execution mode,
verification, latency measured on this machine beside the predicted one; and the terminal
summary of ``nasx export``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from nasx import __version__
from nasx.data import SequenceSet
from nasx.data.batches import take_batch
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.export.net import ExportedNet
from nasx.export.pick import Pick
from nasx.export.verify import FormatCheck
from nasx.predictors import MODES, CostModel, load_device
from nasx.predictors.devices.registry import load_run_device
from nasx.search_spaces import describe_arch

DEFAULT_DEVICE = "host-cpu"
EVAL_BATCH = 256


@torch.no_grad()
def batched_logits(fn: Callable[[Tensor, Tensor], Tensor], data: SequenceSet | LazySequenceSet,
                   min_length: int = 1) -> Tensor:
    """``fn`` over ``data`` in batches, zero-padded to ``min_length`` steps -> ``(N, K)``
    (a :class:`~nasx.data.lazy_sequences.LazySequenceSet` is read one batch at a time)."""
    outs = []
    for start in range(0, len(data), EVAL_BATCH):
        if isinstance(data, LazySequenceSet):
            x = take_batch(data, torch.arange(start, min(start + EVAL_BATCH, len(data)))).x
        else:
            x = data.x[start:start + EVAL_BATCH]
        if x.shape[-1] < min_length:
            x = torch.nn.functional.pad(x, (0, min_length - x.shape[-1]))
        outs.append(fn(x, data.lengths[start:start + EVAL_BATCH]).float())
    return torch.cat(outs)


def accuracy(logits: Tensor, y: Tensor) -> float:
    """Share of rows of ``logits (N, K)`` whose argmax is ``y (N,)``."""
    return int((logits.argmax(dim=1) == y).sum()) / len(y)


def device_costs(run: Any, arch: dict[str, Any], devices: Sequence[str]) -> dict[str, Any]:
    """Cost-model figures of ``arch`` per device and execution mode, at the data's length."""
    splits = run.splits
    out: dict[str, Any] = {}
    for name in devices:  # an MCU's fitted profile where the run has one (nasx profile)
        profile, _ = load_run_device(run.run_dir, name, splits.channels, splits.num_classes,
                                     splits.max_length)
        per_mode = {}
        for mode in MODES:
            c = CostModel(run.space, splits.channels, splits.num_classes,
                          length=splits.max_length, mode=mode, device=profile).cost(arch)
            per_mode[mode] = {"latency_ms": c.latency_s * 1e3, "latency_label": c.latency_label,
                              "latency_per": "frame" if mode == "streaming" else "sequence",
                              "sram_kb": c.sram_bytes / 1024, "peak_sram_kb":
                              c.peak_sram_bytes / 1024, "flash_kb": c.flash_bytes / 1024,
                              "macs": c.macs, "params": c.params, "supported": c.supported}
        out[name] = per_mode
    return out


def predicted_latency(run: Any, arch: dict[str, Any], device: str,
                       cost: dict[str, Any]) -> dict[str, Any]:
    """The latency predictor's estimate where the run has one for ``device`` in the runtime its
    profile names (onnxruntime on ``host-cpu``), else the cost model's (labelled); ``runtime``
    says which runtime the figure is for."""
    from nasx.predictors.latency.model import find_latency_predictor
    from nasx.search_spaces import GenomeCodec

    splits = run.splits
    runtime = load_device(device).runtime
    predictor = find_latency_predictor(run.run_dir, device, run.space, runtime,
                                       channels=splits.channels, classes=splits.num_classes,
                                       length=splits.max_length)
    if predictor is not None:
        genome = GenomeCodec(run.space).encode(arch)[None, :]
        return {"latency_ms": float(predictor.predict(genome)[0]) * 1e3, "runtime": runtime,
                "label": f"latency predictor ({predictor.device}, {runtime}, batch "
                         f"{predictor.batch}, length {predictor.length})"}
    whole = cost[device]["whole-sequence"]
    return {"latency_ms": whole["latency_ms"], "label": whole["latency_label"],
            "runtime": runtime}


def measure_ms(modules: dict[str, nn.Module], channels: int, length: int) -> dict[str, float]:
    """Median ms of one call per module on this machine: 1 thread, batch 1, ``length`` steps."""
    from nasx.predictors.latency.measure import measure_latency_s

    x = torch.randn(1, channels, length, generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([length])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            return {name: measure_latency_s(m, x, lengths, warmup=5, repeats=30) * 1e3
                    for name, m in modules.items()}
    finally:
        torch.set_num_threads(threads)


def build_metrics(run: Any, raw: Any, pick: Pick, net: ExportedNet, ref: Any,
                  devices: Sequence[str], checks: list[FormatCheck],
                  facts: dict[str, Any], runnable: dict[str, nn.Module],
                  folder: Path) -> dict[str, Any]:
    """The ``metrics.json`` document.

    Args:
        run: the loaded training run (``TrainedRun``).
        raw: its data as the user gave it (``DatasetSplits``, not normalised): the exported
            module's accuracy is measured on it, as users will run it.
        pick: the picked subnet; ``net``: its exported module.
        ref: the :class:`~nasx.export.reference.Reference` the formats were checked against
            (the supernet's accuracies, the refit).
        devices: device profiles to cost; checks, facts: the verification results.
        runnable: modules to time (name -> ``module(x, lengths)``).
        folder: where the files were written (their sizes are listed).
    """
    splits, arch = run.splits, net.spec.arch
    val_logits, test_logits = batched_logits(net, raw.val), batched_logits(net, raw.test)
    cost = device_costs(run, arch, devices)
    verification = {c.format: c.as_json() for c in checks}
    for fmt, extra in facts.items():
        verification.setdefault(fmt, {}).update(extra)
    host_cost = cost if DEFAULT_DEVICE in cost else device_costs(run, arch, [DEFAULT_DEVICE])
    predicted = {DEFAULT_DEVICE: predicted_latency(run, arch, DEFAULT_DEVICE, host_cost)}
    measured = measure_ms(runnable, splits.channels, splits.max_length)
    entry = pick.pareto_entry or {}
    return {
        "nasx_export": 1, "nasx": __version__, "id": net.spec.id, "arch": arch,
        "describe": describe_arch(arch), "run": str(run.run_dir), "weights": run.weights,
        "pick": {"source": pick.source, "budget": pick.budget, "constraints": pick.constraints,
                 "predicted": entry.get("predicted"), "validated": entry.get("validated")},
        "data": {"name": splits.name, "val": len(splits.val), "test": len(splits.test),
                 "length": splits.max_length, "sha256": splits.fingerprint.get("all")},
        "input": net.spec.input.to_json(),
        "accuracy": {"val": accuracy(val_logits, raw.val.y),
                     "test": accuracy(test_logits, raw.test.y),
                     "val_held_out": ref.refit is None,
                     "supernet_val": ref.supernet_val, "supernet_test": ref.supernet_test},
        "refit": ref.refit,
        "files": {p.relative_to(folder).as_posix(): p.stat().st_size
                  for p in sorted(folder.rglob("*")) if p.is_file()},
        "cost": cost,
        "verification": verification,
        "latency": {"measured_ms": measured,
                    "measured_on": f"this machine, 1 thread, batch 1, length "
                                   f"{splits.max_length}, median of 30",
                    "predicted": predicted},
    }


def print_summary(m: dict[str, Any], target: Path, say: Callable[[str], None]) -> None:
    """The terminal summary of an export's metrics (``say`` prints one line)."""
    acc, refit = m["accuracy"], m.get("refit")
    if refit:
        say(f"  accuracy: test {acc['test']:.4f} after a refit of {refit['steps']} steps on "
            f"train + val ({refit['sequences']} sequences); before it, val "
            f"{acc['supernet_val']:.4f}, test {acc['supernet_test']:.4f}")
    else:
        say(f"  accuracy: val {acc['val']:.4f} (supernet {acc['supernet_val']:.4f}), "
            f"test {acc['test']:.4f}")
    lat = m["latency"]
    measured = ", ".join(f"{k} {v:.3f} ms" for k, v in lat["measured_ms"].items())
    for dev, p in lat["predicted"].items():
        say(f"  latency ({lat['measured_on']}): {measured}; predicted {dev} "
            f"{p['latency_ms']:.3f} ms ({p['label']})")
    for dev, modes in m["cost"].items():
        for mode, c in modes.items():
            say(f"  {dev} {mode}: latency {c['latency_ms']:.3f} ms per {c['latency_per']} "
                f"({c['latency_label']}), "
                f"SRAM {c['sram_kb']:.1f} KB, flash {c['flash_kb']:.1f} KB"
                + ("" if c["supported"] else " (unsupported bit-widths)"))
    stream = m["verification"].get("streaming", {})
    if not stream.get("streamable", False):
        say(f"  streaming: {stream.get('reason')}")
    written = sorted(p.name for p in target.iterdir())
    say(f"  wrote {target}/ ({', '.join(written)})")
