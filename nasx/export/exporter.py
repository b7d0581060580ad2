"""``nasx export``: write one subnet of a trained run to ``R/exports/<archid>/``, verified.

Steps: resolve ``--pick``; recalibrate BatchNorm for the subnet on the run's calibration
batches; extract it and convert it (:func:`~nasx.export.convert.export_static`); write the
formats into a temporary folder next to the target; run every written format on the
validation split against the supernet subnet (:mod:`~nasx.export.verify`); add accuracy, cost
per device and measured latency to ``metrics.json``; only then move the folder into place in
one rename, and add the test accuracy to the search's HParams table (display only). A failed
check removes the temporary folder: nothing half written remains, and an earlier export is
replaced only with ``overwrite``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from nasx.data import SequenceSet
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.errors import NasxError, RunError
from nasx.export.convert import ExportError
from nasx.export.files import load_exported, weights_bytes
from nasx.export.graph_formats import (
    QDQ_OPS,
    export_onnx,
    export_pt2,
    load_pt2_program,
    onnx_op_counts,
    onnx_session,
    pt2_min_length,
    run_onnx,
)
from nasx.export.layers import QDQ_MAX_BITS
from nasx.export.metrics import DEFAULT_DEVICE, batched_logits, build_metrics, print_summary
from nasx.export.net import ExportedNet
from nasx.export.pick import resolve_pick
from nasx.export.preprocess import raw_splits
from nasx.export.reference import reference
from nasx.export.streaming import streaming_blocker
from nasx.export.verify import (
    C_FLOAT_TOL,
    FormatCheck,
    check_c_header,
    check_logits,
    has_act_quant,
    streaming_logits,
)
from nasx.predictors import load_device
from nasx.runs import atomic_write_text, fsync_folder, run_lock
from nasx.runs.layout import (
    EXPORT_ARCH_FILE,
    EXPORT_C_FILE,
    EXPORT_METRICS_FILE,
    EXPORT_ONNX_FILE,
    EXPORT_ONNX_STEP_FILE,
    EXPORT_PT2_FILE,
    EXPORT_WEIGHTS_FILE,
    EXPORTS_DIR,
    LATEST_PARETO,
)
from nasx.runs.readers import read_pareto
from nasx.search_spaces import describe_arch

FORMATS = ("torch", "pt2", "onnx", "c")
LAZY_STEP_CHECK = 512  # sequences of lazily read data checked frame by frame


@dataclass
class ExportResult:
    """What ``nasx export`` wrote: the folder, the metrics, the checks, the summary lines."""

    folder: Path
    metrics: dict[str, Any]
    checks: list[FormatCheck] = field(default_factory=list)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"torch,pt2"`` -> ``("torch", "pt2")`` in canonical order; ``torch`` is always written.

    Raises:
        NasxError: an unknown format.
    """
    wanted = [f.strip() for f in text.split(",") if f.strip()]
    bad = [f for f in wanted if f not in FORMATS]
    if bad:
        raise NasxError(f"--format {bad[0]!r}: unknown format (allowed: {', '.join(FORMATS)})")
    return tuple(f for f in FORMATS if f in wanted or f == "torch")


class OnnxRuntimeModule(nn.Module):
    """An onnxruntime session callable like the torch modules: ``(x, lengths) -> logits``."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.session = onnx_session(path)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits ``(B, K)``."""
        return run_onnx(self.session, x, lengths)


class _Pt2Module(nn.Module):
    """A loaded ``model.pt2`` for timing (torch does not support ``eval()`` on its module)."""

    def __init__(self, module: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self._module = (module,)  # a tuple: not registered as a submodule

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Logits ``(B, K)``."""
        return self._module[0](x, lengths)


def _write_formats(tmp: Path, net: ExportedNet, formats: Sequence[str], length: int,
                   ref_val: Tensor, val: SequenceSet | LazySequenceSet,
                   say: Callable[[str], None]
                   ) -> tuple[list[FormatCheck], dict[str, Any], dict[str, nn.Module]]:
    """Write and check every format on the raw validation data ``val`` (as the user gave it)
    against the supernet's logits ``ref_val`` on the normalised data; returns the checks, extra
    facts and runnable modules. Whole-sequence formats are checked on all of ``val``, in
    batches; for data read lazily (``npy:``) the frame-by-frame checks (streaming, ONNX step)
    and the C golden vectors take its first :data:`LAZY_STEP_CHECK` sequences."""
    exact = not has_act_quant(net.spec.arch)
    checks = [check_logits("torch", ref_val, batched_logits(net, val), exact=exact)]
    facts: dict[str, Any] = {}
    runnable: dict[str, nn.Module] = {"torch": net}
    if "pt2" in formats:
        say("  writing model.pt2 (torch.export, dynamic batch and length)")
        export_pt2(net, tmp / EXPORT_PT2_FILE, length)
        program = load_pt2_program(tmp / EXPORT_PT2_FILE)
        min_len = pt2_min_length(program)
        module = program.module()
        checks.append(check_logits("pt2", ref_val, batched_logits(module, val, min_len),
                                   exact=exact))
        facts["pt2"] = {"min_length": min_len}
        runnable["pt2"] = _Pt2Module(module)
    if "onnx" in formats:
        say("  writing model.onnx (dynamo exporter, dynamic batch and length, QDQ)")
        export_onnx(net, tmp / EXPORT_ONNX_FILE, length, qdq=True)
        counts = onnx_op_counts(tmp / EXPORT_ONNX_FILE)
        qdq = {op: counts.get(op, 0) for op in QDQ_OPS}
        check_qdq(net.spec.arch, qdq)
        ort_module = OnnxRuntimeModule(tmp / EXPORT_ONNX_FILE)
        checks.append(check_logits("onnx", ref_val, batched_logits(ort_module, val),
                                   exact=exact))
        facts["onnx"] = {"qdq_nodes": qdq, "opset": _opset(tmp / EXPORT_ONNX_FILE)}
        runnable["onnxruntime"] = ort_module
    blocker = streaming_blocker(net)
    if isinstance(val, LazySequenceSet):  # frame-by-frame checks on the first sequences
        n = min(len(val), LAZY_STEP_CHECK)
        val, ref_val = val.take(np.arange(n)).materialize(), ref_val[:n]
    if blocker is None and "onnx" in formats:
        from nasx.export.onnx_step import check_onnx_step, export_onnx_step

        say("  writing model_step.onnx (streaming: frame, state -> logits, state)")
        export_onnx_step(net, tmp / EXPORT_ONNX_STEP_FILE, length)
        got, want = check_onnx_step(net, tmp / EXPORT_ONNX_STEP_FILE, val.x, val.lengths)
        checks.append(check_logits("onnx-step", want, got, exact=exact))
    if blocker is None:
        checks.append(check_logits("streaming", ref_val,
                                   streaming_logits(net, val.x, val.lengths), exact=exact))
    facts["streaming"] = {"streamable": blocker is None,
                          **({"reason": f"not streamable: {blocker}"} if blocker else {})}
    if "c" in formats:
        c_checks, facts["c"] = _write_c(tmp, net, length, val, exact, say)
        checks += c_checks
    return checks, facts, runnable


def _write_c(tmp: Path, net: ExportedNet, length: int, val: SequenceSet, exact: bool,
             say: Callable[[str], None]) -> tuple[list[FormatCheck], dict[str, Any]]:
    """Write the C export (model.h, model.c, runtime/, golden.h, main.c), check the header's
    arrays, and build and run it on this machine when there is a C compiler."""
    from nasx.export.mcu import build

    say("  writing model.h, model.c, runtime/, golden.h, main.c (C99 runtime, static arena)")
    n = min(len(val), build.GOLDEN_MAX)
    gold = SequenceSet(x=val.x[:n], lengths=val.lengths[:n], y=val.y[:n])  # val is in memory
    ref = batched_logits(net, gold)  # the exported torch module on raw inputs
    src = build.write_c_export(tmp, net, length, gold.x, gold.lengths, ref, exact)
    checks = [check_c_header((tmp / EXPORT_C_FILE).read_text(encoding="utf-8"), net)]
    facts: dict[str, Any] = {"arena_bytes": src.arena_bytes, "max_length": src.max_length,
                             "run_peak_bytes": src.run_peak_bytes, "golden": len(gold)}
    if build.host_compiler() is None:
        facts["host"] = "not built: no C compiler (cc) on PATH"
        return checks, facts
    try:
        ran = build.build_and_run_host(tmp, net.spec.num_classes)
    except RuntimeError as exc:
        raise ExportError(f"c: {exc}; report this as a bug") from None
    checks.append(check_logits("c-host", ref, ran.logits, exact=exact, tol=C_FLOAT_TOL,
                               slack=1))
    facts["compiler"] = ran.command
    if ran.stream_max_diff is not None:  # causal: step() after every frame against run()
        facts["stream_step_max_abs_diff"] = ran.stream_max_diff
        if exact and not ran.stream_max_diff <= C_FLOAT_TOL:
            raise ExportError(f"c: the streaming step differs from the whole-sequence run by "
                              f"{ran.stream_max_diff:.2e}; report this as a bug")
    m7_check, facts["cortex-m7"] = _run_cortex_m7(tmp, net, ran.logits, say)
    checks += m7_check
    return checks, facts


def _run_cortex_m7(tmp: Path, net: ExportedNet, host: Tensor, say: Callable[[str], None]
                   ) -> tuple[list[FormatCheck], dict[str, Any]]:
    """Where the Cortex-M7 toolchain and QEMU are installed: build the C export for the M7,
    run it on the emulated mps2-an500 and check its argmax against the host build's."""
    from nasx.export.mcu import cortex_m7

    reason = cortex_m7.missing_tools()
    if reason:
        return [], {"measured": False, "reason": reason}
    say("  building for Cortex-M7 and running on qemu-system-arm mps2-an500")
    try:
        m7 = cortex_m7.run_m7(tmp, net.spec.num_classes)
    except RuntimeError as exc:
        raise ExportError(f"c: {exc}; report this as a bug") from None
    finally:
        (tmp / "model.elf").unlink(missing_ok=True)
    agree = float((m7.logits.argmax(1) == host.argmax(1)).float().mean()) if len(host) else 1.0
    diff = float((m7.logits - host).abs().max()) if len(host) else 0.0
    check = FormatCheck("c-m7", diff, agree, len(host), "argmax equals the host build's on "
                        "every golden input", agree == 1.0 and m7.returncode in (0, 1))
    facts = {"measured": True, "build": m7.command, "flash_bytes": m7.flash_bytes,
             "flash_label": "ELF .text + .rodata + .data less the golden vectors (with the "
                            "startup code and newlib's printf)",
             "sram_bytes": m7.sram_bytes, "stack_bytes": m7.stack_bytes,
             "instructions_median": int(torch.tensor(m7.instructions).median())
             if m7.instructions else None,
             "instructions_label": "measured: qemu cortex-m7 instructions (-icount shift=0, "
                                   "SysTick), not cycles"}
    return [check], facts


def check_qdq(arch: dict[str, Any], qdq: dict[str, int]) -> None:
    """Check the ONNX graph's QDQ node counts ``qdq`` (op type -> count) against ``arch``.

    Weights of <= 8 bits are int8 initializers behind a ``DequantizeLinear``, so they need
    that op; activations of <= 8 bits are a ``QuantizeLinear`` + ``DequantizeLinear`` pair, so
    they need both. A weight-only quantized subnet (activations at 32 bits) has no
    ``QuantizeLinear`` at all, and that is right.

    Raises:
        ExportError: an op the quantized layers need is missing (a bug in the exporter).
    """
    units = [arch["stem"], *arch["stages"], *(b for s in arch["stages"] for b in s["blocks"])]
    int8 = [kind for kind, bits in (("weights", "wbits"), ("activations", "abits"))
            if any(u[bits] <= QDQ_MAX_BITS for u in units)]
    need = {"DequantizeLinear"} if int8 else set()
    if "activations" in int8:
        need.add("QuantizeLinear")
    missing = [op for op in QDQ_OPS if op in need and not qdq.get(op)]
    if missing:
        raise ExportError(f"onnx: the subnet has int8 {' and '.join(int8)} but the graph has "
                          f"no {' or '.join(missing)} node; report this as a bug")


def _opset(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
               default=0)


def _install(tmp: Path, target: Path, overwrite: bool) -> None:
    """Move ``tmp`` to ``target`` in one rename (replacing an earlier export with
    ``overwrite``: the old folder leaves first, then is deleted)."""
    if target.exists():
        if not overwrite:
            raise RunError(f"{target} already exists; pass --overwrite to replace it")
        trash = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        target.rename(trash / target.name)
        tmp.rename(target)
        shutil.rmtree(trash)
    else:
        tmp.rename(target)
    fsync_folder(target.parent)


def _log_test_accuracy(run_dir: Path, subnet_id: str, accuracy: float,
                       say: Callable[[str], None]) -> None:
    """The exported model's test accuracy in the latest search's HParams sessions of this
    subnet, if any (display only: no search selects by it). A damaged ``pareto.json`` (an
    export by arch file or name does not read it) is said, not raised: the export is done."""
    path = run_dir / LATEST_PARETO
    if not path.is_file():
        return
    from nasx.search.tb_hparams import log_test_accuracy

    try:
        doc = read_pareto(path).document
    except NasxError as err:
        say(f"  note: test accuracy not added to TensorBoard's HParams table ({err})")
        return
    log_test_accuracy(run_dir, doc, subnet_id, accuracy)


def export_subnet(run_dir: Path, pick_spec: str, *, formats: Sequence[str] = FORMATS,
                  devices: Sequence[str] = (), overwrite: bool = False,
                  say: Callable[[str], None] = print) -> ExportResult:
    """Export the subnet ``pick_spec`` names from the run in ``run_dir`` (see the module
    docstring) and return what was written.

    Raises:
        NasxError: a bad run, pick, format or device; an existing export without
            ``overwrite``; a format that does not match the supernet subnet.
    """
    from nasx.runs.trained import load_trained_run

    formats = parse_formats(",".join(formats))
    run = load_trained_run(run_dir)
    with run_lock(run_dir, "export"):
        return _export_locked(run, run_dir, pick_spec, formats, devices, overwrite, say)


def _export_locked(run: Any, run_dir: Path, pick_spec: str, formats: tuple[str, ...],
                   devices: Sequence[str], overwrite: bool,
                   say: Callable[[str], None]) -> ExportResult:
    run.net.cpu()
    pick = resolve_pick(run_dir, run.space, pick_spec)
    names = list(dict.fromkeys([*(devices or [*pick.devices, DEFAULT_DEVICE])]))
    for name in names:
        load_device(name)  # a bad name stops here, before any work
    exports = run_dir / EXPORTS_DIR
    target = exports / pick.id
    if target.exists() and not overwrite:
        raise RunError(f"{target} already exists (an earlier export of this subnet); pass "
                       "--overwrite to replace it")
    say(f"nasx export: subnet {pick.id} from {pick.source}")
    say(f"  {describe_arch(pick.arch)}")
    ref = reference(pick, run, say)
    net, ref_val = ref.net, ref.val
    exports.mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=exports, prefix=f".{pick.id}.tmp-"))
    try:
        atomic_write_text(tmp / EXPORT_ARCH_FILE, json.dumps(net.spec.to_json(), indent=1) + "\n")
        (tmp / EXPORT_WEIGHTS_FILE).write_bytes(weights_bytes(net))
        loaded = load_exported(tmp)  # what users get: rebuilt from the files just written
        length = run.splits.max_length
        raw = raw_splits(run.cfg)  # exports take raw data: every check feeds it
        checks, facts, runnable = _write_formats(tmp, loaded, formats, length, ref_val,
                                                 raw.val, say)
        for c in checks:
            say(f"  verify {c.line()}")
        failed = [c for c in checks if not c.passed]
        if failed:
            raise ExportError(
                f"export of {pick.id} does not match the supernet subnet: "
                + "; ".join(f"{c.format}: max|diff| {c.max_abs_diff:.2e}, argmax agreement "
                            f"{100 * c.argmax_agreement:.2f}% (needs {c.rule})" for c in failed)
                + "; nothing was written")
        metrics = build_metrics(run, raw, pick, loaded, ref, names, checks, facts, runnable,
                                tmp)
        atomic_write_text(tmp / EXPORT_METRICS_FILE, json.dumps(metrics, indent=1) + "\n")
        _install(tmp, target, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _log_test_accuracy(run_dir, pick.id, metrics["accuracy"]["test"], say)
    print_summary(metrics, target, say)
    return ExportResult(target, metrics, checks)
