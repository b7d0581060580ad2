"""Write the C export of a subnet and, where a C compiler is installed, build and run its
``main.c`` on this machine (``-std=c99 -Wall -Wextra -pedantic -Werror``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from nasx.export.mcu.emit import ModelSource, model_source, runtime_files
from nasx.export.mcu.golden import golden_header, main_source
from nasx.export.net import ExportedNet
from nasx.runs.layout import EXPORT_C_FILE

CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2")
RUNTIME_SUBDIR = "runtime"
GOLDEN_MAX = 256  # validation samples in golden.h


@dataclass(frozen=True)
class GoldenRun:
    """``main.c``'s output: the C logits ``(N, K)``, its summary and exit status.

    Attributes:
        command: the build command (as run, paths relative to the export folder).
        logits: what the C model computed for each golden input.
        max_abs_diff: max |C - torch| over all logits.
        argmax_agreement: share of samples whose argmax equals torch's.
        ticks: SysTick counts per sample (Cortex-M builds only, else empty).
        stream_max_diff: max |step - run| after every streamed frame (None: not causal).
        returncode: ``main``'s exit status (0: its rule held).
    """

    command: str
    logits: Tensor
    max_abs_diff: float
    argmax_agreement: float
    ticks: tuple[int, ...]
    returncode: int
    stream_max_diff: float | None = None


def stream_diff(text: str) -> float | None:
    """``main.c``'s streaming line: max |step - run| (None without one)."""
    m = re.search(r"^stream frames=\d+ max_abs_diff=(\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def write_c_export(folder: Path, net: ExportedNet, max_length: int, x: Tensor, lengths: Tensor,
                   logits: Tensor, exact: bool) -> ModelSource:
    """Write ``model.h``, ``model.c``, ``runtime/``, ``golden.h`` (``x (N, C, L)`` raw inputs,
    ``lengths``, expected ``logits (N, K)``) and ``main.c`` into ``folder``."""
    src = model_source(net, max_length)
    (folder / EXPORT_C_FILE).write_text(src.header, encoding="utf-8")
    (folder / "model.c").write_text(src.source, encoding="utf-8")
    rt = folder / RUNTIME_SUBDIR
    rt.mkdir(exist_ok=True)
    for path in runtime_files():
        shutil.copyfile(path, rt / path.name)
    (folder / "golden.h").write_text(golden_header(x, lengths, logits, exact), encoding="utf-8")
    (folder / "main.c").write_text(main_source(net.spec.id), encoding="utf-8")
    return src


def sources(folder: Path) -> list[str]:
    """The C files of a C export, relative to its folder."""
    return ["main.c", "model.c", *sorted(f"{RUNTIME_SUBDIR}/{p.name}"
                                        for p in (folder / RUNTIME_SUBDIR).glob("*.c"))]


def parse_output(text: str, classes: int) -> tuple[Tensor, float, int, tuple[int, ...]]:
    """``main.c``'s stdout -> (logits ``(N, K)``, max |diff|, agreeing samples, ticks)."""
    rows = [line.split() for line in text.splitlines() if line.startswith("golden ")]
    logits = torch.tensor([[float(v) for v in r[3:3 + classes]] for r in rows],
                          dtype=torch.float32).reshape(len(rows), classes)
    m = re.search(r"summary n=(\d+) max_abs_diff=(\S+) argmax_agree=(\d+)", text)
    if m is None:
        raise RuntimeError(f"main.c printed no summary: {text[-300:]!r}")
    ticks = tuple(int(line.split()[2]) for line in text.splitlines()
                  if line.startswith("ticks "))
    return logits, float(m.group(2)), int(m.group(3)), ticks


def host_compiler() -> str | None:
    """``cc`` on PATH, or None."""
    return shutil.which("cc")


def build_and_run_host(folder: Path, classes: int, timeout: float = 300.0) -> GoldenRun:
    """Compile the C export in ``folder`` with ``cc`` (:data:`CFLAGS`), run it, parse it.

    Raises:
        RuntimeError: no compiler, a compile error (first line quoted) or no summary.
    """
    cc = host_compiler()
    if cc is None:
        raise RuntimeError("no C compiler (cc) on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "golden"
        cmd = [cc, *CFLAGS, "-I.", *sources(folder), "-lm", "-o", str(exe)]
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no output"])[0]
            raise RuntimeError(f"does not compile ({first})")
        ran = subprocess.run([str(exe)], capture_output=True, text=True, timeout=timeout,
                             check=False)
    logits, diff, agree, ticks = parse_output(ran.stdout, classes)
    command = " ".join(["cc", *cmd[1:-2], "-o", "golden"])
    n = max(len(logits), 1)
    return GoldenRun(command, logits, diff, agree / n, ticks, ran.returncode,
                     stream_diff(ran.stdout))
