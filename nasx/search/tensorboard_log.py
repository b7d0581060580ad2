"""TensorBoard output of a search (``R/tb/search/``).

- ``search/<device>/front`` (figure, step = round): every evaluated subnet (grey; infeasible
  ones lighter), the feasible front, latency budget lines, each budget's best subnet (star) and
  the validated accuracies of the validated subnets (open circles, joined to their prediction);
- ``search/<device>/hypervolume/round<r>`` (scalar, step = generation): the normalised
  hypervolume of everything evaluated so far (:mod:`nasx.search.hypervolume`);
- one ``add_hparams`` run per front subnet of the last round (``hparams/<device>-<id>``):
  hyperparameters are the arch's choices by gene name (``-`` for genes the arch does not
  use) plus the device, metrics the predicted (and validated) numbers, so the HParams tab's
  parallel coordinates and scatter plots show the front.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasx.search.archive import Archive
from nasx.search.budgets import Budget
from nasx.search.pareto import SubnetEntry
from nasx.search.repair import GenomeRepair

TB_SUBDIR = Path("tb") / "search"


def front_figure(device: str, archive: Archive, front: np.ndarray,
                 budgets: Sequence[tuple[Budget, int | None]],
                 validated: dict[int, float]) -> Any:
    """A matplotlib figure of one device's search (see the module docstring).

    Args:
        device: the device name (title).
        archive: everything evaluated.
        front: archive rows on the front.
        budgets: this device's budgets with their best archive row.
        validated: archive row -> validated accuracy.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lat = archive.cost("latency_ms")
    acc = archive.accuracy * 100
    feasible = archive.feasible
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.scatter(lat[~feasible], acc[~feasible], s=4, c="0.85", label="infeasible", lw=0)
    ax.scatter(lat[feasible], acc[feasible], s=4, c="0.6", label="evaluated", lw=0)
    if len(front):
        ax.plot(lat[front], acc[front], "-o", c="tab:blue", ms=3, lw=1, label="front")
    colors = ("tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")
    for k, (b, best) in enumerate(budgets):
        c = colors[k % len(colors)]
        if b.latency_ms is not None:
            ax.axvline(b.latency_ms, c=c, ls="--", lw=0.8)
        if best is not None:
            ax.plot(lat[best], acc[best], "*", c=c, ms=12, label=f"best: {b.name}")
    if validated:
        rows = np.array(sorted(validated))
        vals = np.array([validated[r] for r in rows]) * 100
        ax.scatter(lat[rows], vals, s=28, facecolors="none", edgecolors="k",
                   label="validated", zorder=3)
        for r, v in zip(rows, vals, strict=True):
            ax.plot([lat[r], lat[r]], [acc[r], v], c="k", lw=0.5, alpha=0.5)
    ax.set_xscale("log")
    ax.set_xlabel(f"latency (ms, {archive.latency_label})")
    ax.set_ylabel("validation accuracy (%): dots predicted, circles validated")
    ax.set_title(f"{device}: {len(archive)} evaluated, {len(front)} on the front", fontsize=9)
    ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return fig


def hparams_of(repair: GenomeRepair, genome: np.ndarray) -> dict[str, str]:
    """The arch choices of ``genome`` by gene name, as strings (``-`` where inactive)."""
    active = repair.active(genome[None])[0]
    return {g.name: (str(g.choices[int(v)]) if on else "-")
            for g, v, on in zip(repair.codec.genes, genome, active, strict=True)}


def log_round(run_dir: Path, round_: int, device: str, archive: Archive, front: np.ndarray,
              budgets: Sequence[tuple[Budget, int | None]], validated: dict[int, float],
              hv_curve: Sequence[tuple[int, float]]) -> None:
    """Write one device's front figure and hypervolume curve for ``round_``."""
    import matplotlib.pyplot as plt
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(Path(run_dir) / TB_SUBDIR))
    try:
        fig = front_figure(device, archive, front, budgets, validated)
        writer.add_figure(f"search/{device}/front", fig, global_step=round_)
        plt.close(fig)
        for generation, hv in hv_curve:
            writer.add_scalar(f"search/{device}/hypervolume/round{round_}", hv, generation)
    finally:
        writer.close()


def log_hparams(run_dir: Path, repair: GenomeRepair, entries: Sequence[SubnetEntry],
                genomes: Sequence[np.ndarray]) -> None:
    """One ``add_hparams`` run per front subnet in ``entries`` (with its genome)."""
    from torch.utils.tensorboard import SummaryWriter

    folder = Path(run_dir) / TB_SUBDIR
    writer = SummaryWriter(str(folder))
    try:
        for entry, genome in zip(entries, genomes, strict=True):
            if not entry.on_front:
                continue
            hp: dict[str, Any] = {"device": entry.device, "arch_id": entry.id,
                                  **hparams_of(repair, genome)}
            p = entry.predicted
            metrics = {"hparam/accuracy": p["accuracy"], "hparam/latency_ms": p["latency_ms"],
                       "hparam/sram_kb": p["sram_kb"], "hparam/flash_kb": p["flash_kb"]}
            if entry.validated is not None:
                metrics["hparam/validated_accuracy"] = entry.validated["accuracy"]
            writer.add_hparams(hp, metrics, run_name=f"hparams/{entry.device}-{entry.id}")
    finally:
        writer.close()
