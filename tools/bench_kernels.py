"""Benchmarks of the nasx fused kernels against their pure-torch twins; prints markdown tables.

    python tools/bench_kernels.py --cpu             # SSM block scan: FFT path vs per-step loop
    python tools/bench_kernels.py --gpu             # Triton kernels vs torch (needs CUDA)
    python tools/bench_kernels.py --cpu --repeats 21 --threads 2

Every figure is a median over ``--repeats`` timed runs after ``--warmup`` untimed ones; the two
sides of a row are timed interleaved (one run of each per repeat), so drifting machine load
hits both alike. GPU timings use CUDA events after a synchronisation.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nasx.kernels import (
    fake_quant_weight,
    fake_quant_weight_ref,
    ssm_scan,
    ssm_scan_ref,
)


@dataclass
class Row:
    """One side-by-side measurement: fused vs baseline, milliseconds (medians)."""

    case: str
    fused_label: str
    base_label: str
    fused_ms: float
    base_ms: float
    max_abs_diff: float

    @property
    def speedup(self) -> float:
        """Baseline time over fused time."""
        return self.base_ms / self.fused_ms


def _timer(cuda: bool) -> Callable[[Callable[[], object]], float]:
    def run(fn: Callable[[], object]) -> float:
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end)
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3

    return run


def compare(
    case: str,
    fused: tuple[str, Callable[[], torch.Tensor]],
    base: tuple[str, Callable[[], torch.Tensor]],
    repeats: int,
    warmup: int,
    cuda: bool = False,
) -> Row:
    """Median times of two callables, timed interleaved, and the max |difference| of outputs."""
    timer = _timer(cuda)
    with torch.no_grad():
        diff = (fused[1]().float() - base[1]().float()).abs().max().item()
    for _ in range(warmup):
        fused[1]()
        base[1]()
    ft, bt = [], []
    for _ in range(repeats):
        ft.append(timer(fused[1]))
        bt.append(timer(base[1]))
    return Row(case, fused[0], base[0], statistics.median(ft), statistics.median(bt), diff)


def _ssm_inputs(bt: int, e: int, n: int, length: int, selective: bool, device: str):
    g = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g).to(device)

    x, z, D = randn(bt, e, length), randn(bt, e, length), randn(e)
    A = -torch.rand(e, n, generator=g).to(device) - 0.1
    if selective:
        dt = torch.rand(bt, e, length, generator=g).to(device) * 0.1 + 0.01
        B, C = randn(bt, n, length), randn(bt, n, length)
    else:
        dt = torch.rand(e, generator=g).to(device) * 0.1 + 0.01
        B, C = randn(e, n), randn(e, n)
    return x, dt, A, B, C, D, z


def cpu_rows(repeats: int, warmup: int) -> list[Row]:
    """SSM block scan on CPU: the custom op (FFT path, time-invariant) vs the per-step loop."""
    bt, e, n, length = 8, 64, 16, 1024
    args = _ssm_inputs(bt, e, n, length, selective=False, device="cpu")
    case = f"ssm_scan fwd, time-invariant, B={bt} E={e} N={n} T={length}"
    fused = ("ssm_scan (FFT)", lambda: ssm_scan(*args))
    rows = [compare(case, fused, ("ssm_scan_ref (loop)", lambda: ssm_scan_ref(*args)), repeats,
                    warmup)]  # fmt: skip

    def fwd_bwd(fn: Callable[..., torch.Tensor]) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            leaves = [a.detach().requires_grad_() for a in args]
            with torch.enable_grad():
                fn(*leaves).square().sum().backward()
            return leaves[0].grad

        return run

    case = f"ssm_scan fwd+bwd, time-invariant, B={bt} E={e} N={n} T={length}"
    rows.append(compare(case, ("ssm_scan (FFT)", fwd_bwd(ssm_scan)),
                        ("ssm_scan_ref (loop)", fwd_bwd(ssm_scan_ref)),
                        max(3, repeats // 3), 1))  # fmt: skip
    return rows


def gpu_rows(repeats: int, warmup: int) -> list[Row]:
    """Triton kernels vs torch on CUDA: SSM scan, fake quant."""
    rows = []
    bt, e, n, length = 8, 64, 16, 1024
    for selective in (False, True):
        args = _ssm_inputs(bt, e, n, length, selective, "cuda")
        kind = "selective" if selective else "time-invariant"
        rows.append(compare(f"ssm_scan fwd, {kind}, B={bt} D={e} N={n} T={length}",
                            ("ssm_scan (Triton)", lambda a=args: ssm_scan(*a)),
                            ("per-step torch loop", lambda a=args: ssm_scan_ref(*a)),
                            max(3, repeats // 4), 1, cuda=True))  # fmt: skip
    g = torch.Generator().manual_seed(0)
    big = torch.randn(2048, 2048, generator=g).cuda()
    w = big[:1536, :1024]
    rows.append(compare("fake_quant_weight 8-bit, w[:1536, :1024] of 2048x2048",
                        ("fused (Triton)", lambda: fake_quant_weight(w, 8)),
                        ("torch twin", lambda: fake_quant_weight_ref(w, 8)),
                        repeats, warmup, cuda=True))  # fmt: skip
    return rows


def markdown(rows: list[Row], title: str) -> str:
    """Rows as a markdown table."""
    out = [title, "", "| case | fused | ms | baseline | ms | speed-up | max abs diff |",
           "|---|---|---:|---|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        out.append(f"| {r.case} | {r.fused_label} | {r.fused_ms:.2f} | {r.base_label} | "
                   f"{r.base_ms:.2f} | {r.speedup:.1f}x | {r.max_abs_diff:.1e} |")  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu", action="store_true", help="CPU benchmark (SSM scan)")
    p.add_argument("--gpu", action="store_true", help="CUDA benchmark (all Triton kernels)")
    p.add_argument("--repeats", type=int, default=11, help="timed runs per side (median)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per side")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if not (args.cpu or args.gpu):
        p.error("choose --cpu and/or --gpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    env = (f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
           f"{torch.get_num_threads()} threads")  # fmt: skip
    cmd = "python tools/bench_kernels.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.cpu:
        print(markdown(cpu_rows(args.repeats, args.warmup), f"### CPU ({env})\n\n`{cmd}`"))
    if args.gpu:
        if not torch.cuda.is_available():
            print(
                "--gpu needs a CUDA device: torch.cuda.is_available() is False here "
                "(CPU-only torch build or no GPU/driver); nothing measured.",
                file=sys.stderr,
            )
            return 2
        name = torch.cuda.get_device_name()
        print(markdown(gpu_rows(args.repeats, args.warmup), f"### GPU ({name}, {env})\n\n`{cmd}`"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
