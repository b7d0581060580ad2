"""Ahead-of-time compile gate for the nasx Triton kernels; needs no GPU and no driver.

Every kernel instantiation listed by the ``compile_specs()`` of the ``nasx.kernels.*_triton``
modules is compiled for an sm_90 (H100) target with the ptxas bundled in the triton wheel; the
resulting cubin's resource usage is read with the bundled ``cuobjdump``. The gate fails on a
compile error, on shared memory above the sm_90 per-block limit (227 KB), or on register
spills (local memory / stack use).

    python tools/compile_gate.py            # markdown table, exit 1 on any failure
    python tools/compile_gate.py --json     # one JSON object per kernel

Exit status: 0 all kernels pass, 1 a kernel failed, 2 ptxas/cuobjdump unavailable.
"""

from __future__ import annotations

import os

os.environ.pop("TRITON_INTERPRET", None)  # the gate compiles real kernels, never the interpreter

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

SMEM_LIMIT_BYTES = 227 * 1024  # sm_90 max dynamic shared memory per block
TARGET_ARCH = 90
KERNEL_MODULES = ("ssm_scan_triton", "causal_dwconv_triton", "fake_quant_triton")  # fmt: skip


@dataclass
class GateResult:
    """Resource usage of one compiled kernel and whether it passes the gate."""

    name: str
    ok: bool
    registers: int = -1
    shared_bytes: int = -1
    local_bytes: int = -1
    stack_bytes: int = -1
    num_warps: int = -1
    error: str = ""


def tool_paths() -> tuple[str, str]:
    """Paths of the ptxas (for sm_90) and cuobjdump bundled with triton.

    Raises:
        FileNotFoundError: when triton or either tool is missing.
    """
    try:
        import triton
        from triton.backends.nvidia.compiler import get_ptxas
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise FileNotFoundError(f"triton (NVIDIA backend) is not importable: {exc}") from exc
    ptxas = get_ptxas(TARGET_ARCH).path
    cuobjdump = triton.knobs.nvidia.cuobjdump.path
    for tool in (ptxas, cuobjdump):
        if not tool or not os.access(tool, os.X_OK):
            raise FileNotFoundError(f"{tool!r} is not an executable file")
    return ptxas, cuobjdump


def _resource_usage(cubin: bytes, cuobjdump: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kernel.cubin"
        path.write_bytes(cubin)
        text = subprocess.run([cuobjdump, "--dump-resource-usage", str(path)], check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
    usage = {}
    for key in ("REG", "SHARED", "LOCAL", "STACK"):
        found = re.search(rf"\b{key}:(\d+)", text)
        if found is None:
            raise RuntimeError(f"no {key} in cuobjdump output:\n{text}")
        usage[key] = int(found.group(1))
    return usage


def compile_one(spec, cuobjdump: str) -> GateResult:
    """Compile one :class:`nasx.kernels._backend.KernelSpec` for sm_90 and check its resources."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    try:
        src = ASTSource(spec.fn, spec.signature, spec.constexprs)
        kernel = triton.compile(src, target=GPUTarget("cuda", TARGET_ARCH, 32),
                                options=dict(spec.options))  # fmt: skip
        usage = _resource_usage(kernel.asm["cubin"], cuobjdump)
    except Exception as exc:  # a compile error fails the gate, with its message
        return GateResult(spec.name, False, error=f"{type(exc).__name__}: {exc}"[:2000])
    shared = max(kernel.metadata.shared, usage["SHARED"])
    problems = []
    if shared > SMEM_LIMIT_BYTES:
        problems.append(f"shared memory {shared} B > {SMEM_LIMIT_BYTES} B")
    if usage["LOCAL"] or usage["STACK"]:
        problems.append(f"register spills (local {usage['LOCAL']} B, stack {usage['STACK']} B)")
    return GateResult(spec.name, not problems, usage["REG"], shared, usage["LOCAL"],
                      usage["STACK"], kernel.metadata.num_warps, "; ".join(problems))  # fmt: skip


def run_module(module: str) -> list[GateResult]:
    """Compile every kernel spec of ``nasx.kernels.<module>`` in this process."""
    import importlib

    _, cuobjdump = tool_paths()
    mod = importlib.import_module(f"nasx.kernels.{module}")
    return [compile_one(spec, cuobjdump) for spec in mod.compile_specs()]


def _run_isolated(module: str) -> list[GateResult]:
    # One process per module: an LLVM assertion aborts the whole process, and is then reported
    # as a failure of that module instead of killing the gate.
    cmd = [sys.executable, str(Path(__file__).resolve()), "--module", module, "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
    results = [GateResult(**json.loads(line)) for line in proc.stdout.splitlines()
               if line.startswith("{")]  # fmt: skip
    if proc.returncode not in (0, 1) or not results:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        error = f"exit {proc.returncode}: {' | '.join(tail)}"
        results.append(GateResult(module, False, error=error))
    return results


def run_gate(jobs: int = 2) -> list[GateResult]:
    """Compile every kernel of every Triton module in ``nasx.kernels``, ``jobs`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    tool_paths()  # fail early, with the reason, when the toolchain is missing
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        per_module = list(pool.map(_run_isolated, KERNEL_MODULES))
    return [r for results in per_module for r in results]


def markdown(results: list[GateResult]) -> str:
    """The gate's results as a markdown table."""
    lines = [f"Compile gate: sm_{TARGET_ARCH}, fp32 instantiations, smem limit "
             f"{SMEM_LIMIT_BYTES // 1024} KB", "",
             "| kernel | warps | registers/thread | shared (B) | spills (local+stack B) | ok |",
             "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in results:
        spill = r.local_bytes + r.stack_bytes if r.registers >= 0 else "-"
        status = "yes" if r.ok else f"**NO**: {r.error}"
        lines.append(f"| {r.name} | {r.num_warps} | {r.registers} | {r.shared_bytes} | {spill} "
                     f"| {status} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--module", choices=KERNEL_MODULES, help="only this module, in-process")
    parser.add_argument("--jobs", type=int, default=2, help="modules compiled in parallel")
    args = parser.parse_args(argv)
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    try:
        results = run_module(args.module) if args.module else run_gate(args.jobs)
    except FileNotFoundError as exc:
        print(f"compile gate unavailable: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for r in results:
            print(json.dumps(asdict(r)))
    else:
        print(markdown(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
