"""Training-step cost of weight sharing: a subnet inside the supernet vs the same subnet extracted.

For each dataset shape (JapaneseVowels: a real batch of 32 train sequences, 12 channels, their
real lengths; OSULeaf: 32 train sequences, 1 channel, length 427) and a number of seeded random
archs, one training step (forward + cross-entropy on the real labels + ``backward``, both models
in ``train()`` mode) is timed for

* **supernet**: the :class:`~nasx.supernet.Supernet` with the arch active (``set_active``), and
* **extracted**: ``net.extract(arch)``, the same subnet as plain torch layers.

Before any timing, each arch's extracted module must give the supernet's eval-mode output on the
benchmark batch within ``1e-5`` (max abs difference); otherwise the run aborts
(:class:`EquivalenceError`). The two sides are timed interleaved (A B B A A B ...: the order flips
every repeat so drift and cache effects hit both alike) after warm-up steps, gradients set to
``None`` before every step (outside the timed region), with a fixed ``torch`` thread count. The
per-arch figure is ``ratio = median(supernet) / median(extracted)``.

Groups: ``mixed`` is the space as given (all ops); then one group per op type, whose space allows
only that op in every stage. The report gives median ratios (and quartiles, max) per dataset and
pooled, and the median absolute times of both sides.

    python tools/bench_supernet.py                       # full run (~10 min on 2 CPU cores)
    python tools/bench_supernet.py --quick               # 3 archs, 3 repeats, all groups
    python tools/bench_supernet.py --out bench.md --json bench.json

Exit status: 0 done (whatever the ratios), 1 an extracted subnet differed from the supernet.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import gc
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from supernet_report import (
    MIXED,
    ArchResult,
    BenchReport,
    cpu_model,
    loadavg,
    render_markdown,
    report_json,
    summarize,
)
from torch import Tensor, nn

from nasx.data import iterate_batches, load_dataset
from nasx.search_spaces import (
    OP_TYPES,
    Arch,
    SearchSpace,
    arch_id,
    describe_arch,
    load_space,
    random_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet

DATASETS: tuple[str, ...] = ("japanese-vowels", "ucr:OSULeaf")
OP_GROUPS: tuple[str, ...] = OP_TYPES  # every op of the registry (nasx.ops)
EQUIV_TOL = 1e-5

DEFAULTS: dict[str, int] = {"archs": 20, "op_archs": 20, "repeats": 7, "warmup": 2}
QUICK: dict[str, int] = {"archs": 3, "op_archs": 3, "repeats": 3, "warmup": 1}


class EquivalenceError(RuntimeError):
    """An extracted subnet's eval-mode output differs from the supernet's by more than 1e-5."""


@dataclass(frozen=True, eq=False)
class BenchBatch:
    """One fixed batch of a dataset: ``x (B, C, L)``, ``lengths (B,)``, ``y (B,)``."""

    dataset: str
    x: Tensor
    lengths: Tensor
    y: Tensor
    channels: int
    num_classes: int


# ---------------------------------------------------------------------------------------------
# Inputs


def load_batch(dataset: str, batch_size: int, seed: int) -> BenchBatch:
    """A seeded random batch of ``batch_size`` train sequences of ``dataset``, as they are."""
    ds = load_dataset(dataset, val_fraction=0.2, seed=seed)
    g = torch.Generator().manual_seed(seed)
    batch = next(iterate_batches(ds.train, batch_size, shuffle=True, generator=g))
    return BenchBatch(
        dataset=dataset,
        x=batch.x.contiguous(),
        lengths=batch.lengths.clone(),
        y=batch.y.clone(),
        channels=ds.channels,
        num_classes=len(ds.classes),
    )


def op_only_space(space: SearchSpace, op: str) -> SearchSpace:
    """``space`` with every stage allowing only ``op`` (all other choices unchanged)."""
    raw = copy.deepcopy(space_to_dict(space))
    for stage in raw["stages"]:
        stage["ops"] = [op]
    raw["name"] = f"{space.name}-{op}-only"
    return space_from_dict(raw)


def sample_archs(space: SearchSpace, n: int, seed: int) -> list[Arch]:
    """``n`` random archs of ``space`` from a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    return [random_arch(space, rng) for _ in range(n)]


# ---------------------------------------------------------------------------------------------
# Measurement


def check_equivalent(net: Supernet, static: nn.Module, batch: BenchBatch) -> float:
    """Max abs difference of the eval-mode outputs of ``net`` (active arch) and ``static``.

    Both are put in eval mode (and left there).

    Raises:
        EquivalenceError: when the difference exceeds ``EQUIV_TOL`` or is not finite.
    """
    net.eval()
    static.eval()
    with torch.no_grad():
        ref = net(batch.x, batch.lengths)
        out = static(batch.x, batch.lengths)
    diff = (ref - out).abs().max().item()
    if not diff <= EQUIV_TOL:  # also catches NaN
        raise EquivalenceError(
            f"{batch.dataset}: extracted subnet differs from the supernet by {diff:.3g} "
            f"(> {EQUIV_TOL:g}) for arch {arch_id(net.active_arch)} "
            f"[{describe_arch(net.active_arch)}]"
        )
    return diff


def train_step_seconds(model: nn.Module, batch: BenchBatch) -> float:
    """Seconds of one forward + cross-entropy + backward of ``model`` on ``batch``.

    Gradients are set to None first, outside the timed region.
    """
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    loss = F.cross_entropy(model(batch.x, batch.lengths), batch.y)
    loss.backward()
    return time.perf_counter() - start


def time_pair(
    a: nn.Module, b: nn.Module, batch: BenchBatch, repeats: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Interleaved timings (ms) of ``a`` and ``b``: ``warmup`` untimed rounds, then ``repeats``.

    The order inside a round alternates (a b, b a, a b, ...). The garbage collector is off while
    timing.
    """
    times: tuple[list[float], list[float]] = ([], [])
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(warmup + repeats):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for side in order:
                sec = train_step_seconds((a, b)[side], batch)
                if r >= warmup:
                    times[side].append(sec * 1e3)
    finally:
        if was_enabled:
            gc.enable()
    return times


def _op_counts(arch: Arch) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stage in arch["stages"]:
        for block in stage["blocks"]:
            counts[block["op"]] = counts.get(block["op"], 0) + 1
    return counts


def bench_group(
    space: SearchSpace,
    group: str,
    batch: BenchBatch,
    archs: Sequence[Arch],
    *,
    repeats: int,
    warmup: int,
    seed: int,
    log: Any = None,
) -> list[ArchResult]:
    """Check then time every arch of ``archs`` on ``batch`` with one supernet of ``space``."""
    torch.manual_seed(seed)
    net = Supernet(space, batch.channels, batch.num_classes)
    results = []
    for i, raw in enumerate(archs):
        arch = net.set_active(raw)
        net.eval()
        static = net.extract(arch)
        diff = check_equivalent(net, static, batch)
        net.train()
        static.train()
        sup, ext = time_pair(net, static, batch, repeats, warmup)
        res = ArchResult(
            dataset=batch.dataset,
            group=group,
            index=i,
            arch_id=arch_id(arch),
            arch=describe_arch(arch),
            ops=_op_counts(arch),
            max_abs_diff=diff,
            supernet_ms=sup,
            extracted_ms=ext,
        )
        results.append(res)
        if log is not None:
            print(
                f"  [{group:5s} {batch.dataset:15s} {i + 1:2d}/{len(archs)}] "
                f"supernet {res.supernet_median_ms:8.2f} ms  extracted "
                f"{res.extracted_median_ms:8.2f} ms  ratio {res.ratio:5.2f}  {res.arch}",
                file=log,
                flush=True,
            )
    return results


def run_benchmark(
    *,
    space_name: str = "hybrid-mcu",
    datasets: Sequence[str] = DATASETS,
    groups: Sequence[str] = (MIXED, *OP_GROUPS),
    archs: int = DEFAULTS["archs"],
    op_archs: int = DEFAULTS["op_archs"],
    repeats: int = DEFAULTS["repeats"],
    warmup: int = DEFAULTS["warmup"],
    threads: int = 1,
    batch_size: int = 32,
    seed: int = 0,
    command: str = "",
    log: Any = None,
) -> BenchReport:
    """Run the benchmark and return every raw figure with the summaries.

    The same archs (seeded per group) are used on every dataset.

    Raises:
        EquivalenceError: an extracted subnet's eval output differs from the supernet's.
        ValueError: bad counts or an unknown group.
    """
    if min(archs, op_archs, repeats) < 1 or warmup < 0 or threads < 1 or batch_size < 1:
        raise ValueError("archs, op_archs, repeats, threads, batch_size >= 1 and warmup >= 0")
    unknown = [g for g in groups if g not in (MIXED, *OP_GROUPS)]
    if unknown:
        raise ValueError(f"unknown group {unknown[0]!r} (allowed: {MIXED}, {', '.join(OP_GROUPS)})")
    torch.set_num_threads(threads)
    base = load_space(space_name)
    report = BenchReport(
        command=command,
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        torch_version=torch.__version__,
        threads=torch.get_num_threads(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count() or 0,
        loadavg_start=loadavg(),
        loadavg_end=[],
        settings={
            "space": space_name,
            "datasets": list(datasets),
            "groups": list(groups),
            "archs": archs,
            "op_archs": op_archs,
            "repeats": repeats,
            "warmup": warmup,
            "batch_size": batch_size,
            "seed": seed,
            "equiv_tol": EQUIV_TOL,
        },
    )
    batches = [load_batch(name, batch_size, seed) for name in datasets]
    for gi, group in enumerate(groups):
        space = base if group == MIXED else op_only_space(base, group)
        group_archs = sample_archs(space, archs if group == MIXED else op_archs, seed + 1000 * gi)
        for batch in batches:
            report.results += bench_group(
                space, group, batch, group_archs, repeats=repeats, warmup=warmup, seed=seed,
                log=log,
            )  # fmt: skip
    for group in groups:
        rows = [r for r in report.results if r.group == group]
        for name in datasets:
            report.summaries.append(summarize([r for r in rows if r.dataset == name], group, name))
        report.summaries.append(summarize(rows, group, "pooled"))
    report.loadavg_end = loadavg()
    return report


def _command_line(argv: Sequence[str] | None) -> str:
    if argv is None:
        return shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    return shlex.join(["python", "tools/bench_supernet.py", *argv])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options; ``--quick`` changes the defaults of the counts, explicit ones win."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="hybrid-mcu", help="search space preset (hybrid-mcu)")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), help="dataset names")
    p.add_argument(
        "--groups",
        nargs="+",
        default=[MIXED, *OP_GROUPS],
        choices=[MIXED, *OP_GROUPS],
        help="mixed (the space as is) and/or op types",
    )
    p.add_argument("--archs", type=int, help=f"archs per dataset, mixed ({DEFAULTS['archs']})")
    p.add_argument("--op-archs", type=int, help=f"archs per op type ({DEFAULTS['op_archs']})")
    p.add_argument("--repeats", type=int, help=f"timed repeats per arch ({DEFAULTS['repeats']})")
    p.add_argument("--warmup", type=int, help=f"untimed warm-up rounds ({DEFAULTS['warmup']})")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="3 archs, 3 repeats, 1 warm-up")
    p.add_argument("--out", type=Path, help="also write the markdown here")
    p.add_argument("--json", type=Path, help="write every raw figure as JSON here")
    p.add_argument("--quiet", action="store_true", help="no per-arch progress on stderr")
    args = p.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run from the command line; print the markdown table. Returns the exit status."""
    args = parse_args(argv)
    try:
        report = run_benchmark(
            space_name=args.space,
            datasets=args.datasets,
            groups=args.groups,
            archs=args.archs,
            op_archs=args.op_archs,
            repeats=args.repeats,
            warmup=args.warmup,
            threads=args.threads,
            batch_size=args.batch_size,
            seed=args.seed,
            command=_command_line(argv),
            log=None if args.quiet else sys.stderr,
        )
    except EquivalenceError as exc:
        print(f"bench_supernet: aborted: {exc}", file=sys.stderr)
        return 1
    text = render_markdown(report)
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    if args.json is not None:
        args.json.write_text(report_json(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
