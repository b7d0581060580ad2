"""The report of ``tools/bench_supernet.py``: per-arch results, summaries over archs, the machine
it ran on, and the markdown and JSON it writes (a module of the tool, imported from ``tools/``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MIXED = "mixed"
TARGET_RATIO = 1.25


@dataclass
class ArchResult:
    """Raw timings (ms) of one arch on one dataset, both sides, and their ratio of medians."""

    dataset: str
    group: str
    index: int
    arch_id: str
    arch: str
    ops: dict[str, int]
    max_abs_diff: float
    supernet_ms: list[float]
    extracted_ms: list[float]
    supernet_median_ms: float = 0.0
    extracted_median_ms: float = 0.0
    ratio: float = 0.0

    def __post_init__(self) -> None:
        self.supernet_median_ms = statistics.median(self.supernet_ms)
        self.extracted_median_ms = statistics.median(self.extracted_ms)
        self.ratio = self.supernet_median_ms / self.extracted_median_ms


@dataclass
class Summary:
    """Aggregate of several :class:`ArchResult` (median over archs of the per-arch figures)."""

    group: str
    dataset: str
    archs: int
    median_ratio: float
    p25_ratio: float
    p75_ratio: float
    min_ratio: float
    max_ratio: float
    supernet_median_ms: float
    extracted_median_ms: float


@dataclass
class BenchReport:
    """Everything a run measured, with the settings and the machine it ran on."""

    command: str
    date: str
    torch_version: str
    threads: int
    cpu_model: str
    cpu_count: int
    loadavg_start: list[float]
    loadavg_end: list[float]
    settings: dict[str, Any]
    results: list[ArchResult] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)

    def summary(self, group: str, dataset: str = "pooled") -> Summary:
        """The summary of ``group`` (``mixed`` or an op type) for ``dataset`` or ``pooled``."""
        for s in self.summaries:
            if s.group == group and s.dataset == dataset:
                return s
        raise KeyError(f"no summary for group {group!r}, dataset {dataset!r}")

    @property
    def overall_median_ratio(self) -> float:
        """Median per-arch ratio of the ``mixed`` group, both datasets pooled."""
        return self.summary(MIXED).median_ratio


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (or :func:`platform.processor` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where the platform has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - platforms without getloadavg
        return []


def _quantile(values: Sequence[float], q: float) -> float:
    return float(np.quantile(np.asarray(values, dtype=np.float64), q))


def summarize(results: Sequence[ArchResult], group: str, dataset: str) -> Summary:
    """Median (and quartiles, extremes) over archs of the per-arch ratios and median times."""
    ratios = [r.ratio for r in results]
    return Summary(
        group=group,
        dataset=dataset,
        archs=len(results),
        median_ratio=statistics.median(ratios),
        p25_ratio=_quantile(ratios, 0.25),
        p75_ratio=_quantile(ratios, 0.75),
        min_ratio=min(ratios),
        max_ratio=max(ratios),
        supernet_median_ms=statistics.median(r.supernet_median_ms for r in results),
        extracted_median_ms=statistics.median(r.extracted_median_ms for r in results),
    )


def render_markdown(report: BenchReport) -> str:
    """The report as markdown: header (command, machine), the overall and per-op tables."""
    s = report.settings
    lines = [
        "# Supernet vs extracted subnet: forward + backward time",
        "",
        f"- command: `{report.command}`",
        f"- date: {report.date}",
        f"- torch {report.torch_version}, {report.threads} thread(s); CPU: {report.cpu_model} "
        f"({report.cpu_count} logical cores visible); load average at start "
        f"{report.loadavg_start}, at end {report.loadavg_end}",
        f"- space `{s['space']}`, batch {s['batch_size']}, training mode, cross-entropy + "
        f"backward; {s['archs']} random archs per dataset (mixed), {s['op_archs']} per op type "
        f"per dataset; {s['repeats']} timed repeats after {s['warmup']} warm-up, interleaved; "
        f"seed {s['seed']}",
        "- ratio = median supernet time / median extracted time, per arch; tables give the "
        "median over archs (p25-p75, max); ms = median over archs of per-arch medians",
        f"- equivalence: all {len(report.results)} (arch, dataset) pairs matched in eval mode, "
        f"max |diff| {max((r.max_abs_diff for r in report.results), default=0.0):.2e} "
        f"(tolerance {s['equiv_tol']:g})",
        "",
    ]
    header = (
        "| group | dataset | archs | median ratio | p25-p75 | max | supernet ms | extracted ms |"
    )
    rule = "|---|---|---:|---:|---:|---:|---:|---:|"

    def row(x: Summary) -> str:
        ds = "**pooled**" if x.dataset == "pooled" else x.dataset
        ratio = f"**{x.median_ratio:.3f}**" if x.dataset == "pooled" else f"{x.median_ratio:.3f}"
        return (
            f"| {x.group} | {ds} | {x.archs} | {ratio} | {x.p25_ratio:.2f}-{x.p75_ratio:.2f} "
            f"| {x.max_ratio:.2f} | {x.supernet_median_ms:.2f} | {x.extracted_median_ms:.2f} |"
        )

    groups = s["groups"]
    if MIXED in groups:
        lines += ["## Overall (all ops)", "", header, rule]
        lines += [row(x) for x in report.summaries if x.group == MIXED]
        lines.append("")
    ops = [g for g in groups if g != MIXED]
    if ops:
        lines += ["## Per op type (every stage allows only that op)", "", header, rule]
        lines += [row(x) for g in ops for x in report.summaries if x.group == g]
        lines.append("")
    if MIXED in groups:
        verdict = "PASS" if report.overall_median_ratio <= TARGET_RATIO else "FAIL"
        lines.append(
            f"**Overall median ratio: {report.overall_median_ratio:.3f}** "
            f"(target <= {TARGET_RATIO}: {verdict})"
        )
    if ops:
        per_op = ", ".join(f"{g} {report.summary(g).median_ratio:.3f}" for g in ops)
        lines.append(f"Per-op median ratios (pooled): {per_op}")
    return "\n".join(lines) + "\n"


def report_json(report: BenchReport) -> str:
    """All raw figures and summaries as JSON text."""
    data = asdict(report)
    if MIXED in report.settings["groups"]:
        data["overall_median_ratio"] = report.overall_median_ratio
    return json.dumps(data, indent=2)
