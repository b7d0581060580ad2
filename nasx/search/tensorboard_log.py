"""TensorBoard output of a search (``R/tb/search/``).

- ``search/<device>/front`` (figure, step = round): accuracy against latency (of the
  device's runtime), SRAM and flash, and latency again zoomed on the feasible region: every
  evaluated subnet (grey; infeasible ones lighter) at its predicted accuracy, the feasible
  front, each budget's limits (dashed), the validated subnets at their validated accuracy and,
  where measured, their measured latency (open circles, joined to their prediction), and each
  budget's pick (star);
- ``search/<device>/hypervolume`` (scalar, step = generation) in run ``search/round<r>``: the
  normalised hypervolume of everything evaluated so far (:mod:`nasx.search.hypervolume`); the
  rounds overlay in one chart;
- the HParams dashboard: :mod:`nasx.search.tb_hparams`.

Every tag has a description with its units (:class:`nasx.tb.TagWriter`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasx.runs.layout import TB_ROUND_PREFIX, TB_SEARCH_DIR
from nasx.search.archive import Archive
from nasx.search.budgets import Budget


def front_figure(device: str, archive: Archive, front: np.ndarray,
                 budgets: Sequence[tuple[Budget, int | None]],
                 validated: dict[int, float], measured_ms: dict[int, float] | None = None,
                 runtime: str = "") -> Any:
    """A matplotlib figure of one device's search (see the module docstring): accuracy against
    latency, SRAM and flash, each with the budgets' limits, and the latency panel again zoomed
    on the feasible region.

    Args:
        device: the device name (title).
        archive: everything evaluated.
        front: archive rows on the front.
        budgets: this device's budgets with their picked archive row.
        validated: archive row -> validated accuracy.
        measured_ms: archive row -> measured latency (validated points are drawn there).
        runtime: what the latency is for (axis label).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured_ms = measured_ms or {}
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    unit = f"ms, {archive.latency_label}" + (f", {runtime}" if runtime else "")
    panels = (("latency_ms", f"latency ({unit})", axes[0, 0], False),
              ("latency_ms", f"latency ({unit}), feasible region", axes[0, 1], True),
              ("sram_kb", "SRAM (KB)", axes[1, 0], False),
              ("flash_kb", "flash (KB)", axes[1, 1], False))
    for key, label, ax, zoom in panels:
        _panel(ax, key, archive, front, budgets, validated,
               measured_ms if key == "latency_ms" else {}, zoom)
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=6, loc="lower right")
    fig.suptitle(f"{device}: {len(archive)} evaluated, {len(front)} on the front; dots "
                 "predicted, circles validated, stars the picks", fontsize=9)
    fig.tight_layout()
    return fig


_COLORS = ("tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _panel(ax: Any, key: str, archive: Archive, front: np.ndarray,
           budgets: Sequence[tuple[Budget, int | None]], validated: dict[int, float],
           measured_ms: dict[int, float], zoom: bool) -> None:
    """One panel of :func:`front_figure`: accuracy (%) against cost ``key``."""
    x = archive.cost(key)
    acc = archive.accuracy * 100
    feasible = archive.feasible
    if not zoom:
        ax.scatter(x[~feasible], acc[~feasible], s=4, c="0.85", label="infeasible", lw=0)
    ax.scatter(x[feasible], acc[feasible], s=4, c="0.6", label="evaluated (predicted)", lw=0)
    if len(front):
        ax.plot(x[front], acc[front], "-o", c="tab:blue", ms=3, lw=1, label="front")
    if validated:
        rows = sorted(validated)
        xv = np.array([measured_ms.get(r, x[r]) for r in rows])
        vals = np.array([validated[r] for r in rows]) * 100
        ax.scatter(xv, vals, s=28, facecolors="none", edgecolors="k", zorder=3,
                   label="validated" + (" (measured latency)" if measured_ms else ""))
        for r, xr, v in zip(rows, xv, vals, strict=True):
            ax.plot([x[r], xr], [acc[r], v], c="k", lw=0.5, alpha=0.5)
    for k, (b, best) in enumerate(budgets):
        c = _COLORS[k % len(_COLORS)]
        limit = b.constraints().get(key)
        if limit is not None:
            ax.axvline(limit, c=c, ls="--", lw=0.8, label=f"limit: {b.name}")
        if best is not None:
            ax.plot(measured_ms.get(best, x[best]), 100 * validated.get(best, acc[best] / 100),
                    "*", c=c, ms=13, mec="k", mew=0.5, zorder=4, label=f"pick: {b.name}")
    if zoom and feasible.any():  # the feasible subnets, the validated points and the picks
        xs = [*x[feasible], *(measured_ms.get(r, x[r]) for r in validated)]
        ys = [*acc[feasible], *(100 * v for v in validated.values())]
        top, low = max(ys), max(min(ys), max(ys) - 15)
        pad = max(0.05 * (top - low), 0.05)
        ax.set_xlim(min(xs) / 1.1, max(xs) * 1.1)
        ax.set_ylim(low - pad, top + pad)
    if np.all(x > 0):
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap


def log_round(run_dir: Path, round_: int, device: str, archive: Archive, front: np.ndarray,
              budgets: Sequence[tuple[Budget, int | None]], validated: dict[int, float],
              hv_curve: Sequence[tuple[int, float]], measured_ms: dict[int, float] | None = None,
              runtime: str = "") -> None:
    """Write one device's front figure and hypervolume curve for ``round_`` (the
    hypervolumes of all rounds share one tag, ``search/<device>/hypervolume``, as runs
    ``search/round<r>``, so they overlay)."""
    from nasx.tb import TagWriter

    unit = f"ms, {archive.latency_label}" + (f", {runtime}" if runtime else "")
    fig = front_figure(device, archive, front, budgets, validated, measured_ms, runtime)
    with TagWriter(Path(run_dir) / TB_SEARCH_DIR) as writer:
        writer.figure(f"search/{device}/front", fig, round_,
                      f"{device}, one image per search round: accuracy (%) against latency "
                      f"({unit}), SRAM (KB) and flash (KB), with each budget's limits (dashed), "
                      "the predicted points, the validated ones (circles, at their measured "
                      "latency where measured) and the picks (stars)")
    with TagWriter(Path(run_dir) / TB_SEARCH_DIR / f"{TB_ROUND_PREFIX}{round_}") as curve:
        for generation, hv in hv_curve:
            curve.scalar(f"search/{device}/hypervolume", hv, generation,
                         f"{device}: hypervolume of everything evaluated so far, normalised "
                         "(no unit, 0 to 1; higher is better), per NSGA-II generation; one "
                         "run per search round (search/round<r>) so the rounds overlay")
