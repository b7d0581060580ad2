"""``nasx search`` end to end: per device a constrained search, the predictor in the loop, and
the run's ``search/history.csv``, ``search/pareto.json`` and ``tb/search/``.

Rounds (``rounds``, default 2). In each round, for each device: a search (pymoo or optuna) of
``evaluations`` distinct archs on the predicted objectives; its front (feasible,
non-dominated), thinned to at most ``validate`` subnets evenly spread along it, and each
budget's best subnet are evaluated for real (validation accuracy with BatchNorm
recalibration; on ``host-cpu`` also the measured latency). The new evaluations join the
accuracy predictor's data (and the measured latencies the run's ``host-cpu`` latency
predictor's, see :mod:`.host_latency`); before the next round the predictors are refitted on
all of it, the subnets this search validated weighing more in the accuracy predictor's fit
(:data:`~nasx.predictors.accuracy.fit.EMPHASIS_WEIGHT`), and the search repeated from
scratch. ``pareto.json`` holds the last round's fronts with validated numbers next to the
predicted ones; ``history.csv`` every evaluation of every round.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasx.errors import NasxError
from nasx.predictors import CostModel, DeviceProfile
from nasx.runs.trained import TrainedRun
from nasx.search.archive import Archive, history_csv
from nasx.search.budgets import Budget
from nasx.search.feasibility import check_budgets
from nasx.search.gaps import gap_summary
from nasx.search.host_latency import HostLatency
from nasx.search.hypervolume import hypervolume, reference_point
from nasx.search.noise_pick import SE_MULTIPLE, NoisePick, pick_budgets
from nasx.search.nsga import run_nsga2
from nasx.search.objectives import AccuracyModel, DeviceObjective, LatencyModel
from nasx.search.pareto import (
    SubnetEntry,
    best_row,
    front_rows,
    pareto_document,
    predicted_of,
)
from nasx.search.repair import GenomeRepair
from nasx.search.results import (  # noqa: F401  (output_paths, check_outputs_free: re-exported)
    UnmetBudgetError,
    check_outputs_free,
    closest_subnet,
    output_paths,
    write_search,
)
from nasx.search.task import OPTIONAL_OBJECTIVES, SearchTask
from nasx.search.validate import HOST_DEVICE, validated_records
from nasx.search_spaces import GenomeCodec, arch_id

BACKENDS: tuple[str, ...] = ("pymoo", "optuna")
Log = Callable[[str], None]


@dataclass(frozen=True)
class SearchSettings:
    """Settings of ``nasx search`` (see the CLI help for each)."""

    backend: str = "pymoo"
    evaluations: int = 10_000
    population: int = 100
    seed: int = 0
    rounds: int = 2
    validate: int = 20
    objectives: tuple[str, ...] = ()
    mode: str = "whole-sequence"
    storage: str | None = None
    predictor_samples: int = 300
    predictor_holdout: int = 100
    pick_se: float = SE_MULTIPLE
    progress: bool = True

    def check(self) -> None:
        """Raise :class:`NasxError` on a value out of range (one line naming the flag)."""
        if self.backend not in BACKENDS:
            raise NasxError(f"--backend {self.backend}: expected one of {', '.join(BACKENDS)}")
        for flag, value, low in (("--population", self.population, 4),
                                 ("--evaluations", self.evaluations, 1),
                                 ("--rounds", self.rounds, 1), ("--validate", self.validate, 0)):
            if value < low:
                raise NasxError(f"{flag} {value}: give an integer >= {low}")
        if not self.pick_se >= 0:
            raise NasxError(f"--pick-se {self.pick_se}: give a number of standard errors >= 0")
        if self.evaluations < self.population:
            raise NasxError(f"--evaluations {self.evaluations} is below --population "
                            f"{self.population}; give at least one generation's worth")
        bad = [o for o in self.objectives if o not in OPTIONAL_OBJECTIVES]
        if bad:
            raise NasxError(f"--objective {bad[0]}: expected one of "
                            f"{', '.join(OPTIONAL_OBJECTIVES)}")
        if self.storage is not None and self.backend != "optuna":
            raise NasxError("--storage is for --backend optuna; drop it or add --backend optuna")


@dataclass
class DeviceRound:
    """One device's search in one round."""

    device: str
    archive: Archive
    front: np.ndarray
    budgets: list[tuple[Budget, int | None]]
    hv_curve: list[tuple[int, float]]
    validated_acc: dict[int, float] = field(default_factory=dict)
    validated_ms: dict[int, float] = field(default_factory=dict)
    validated_loss: dict[int, float] = field(default_factory=dict)
    # row -> per-sequence validation losses (n,), None where the record has none
    validated_losses: dict[int, np.ndarray | None] = field(default_factory=dict)
    gaps: dict[str, Any] = field(default_factory=lambda: gap_summary([], [], [], None))
    picks: dict[str, NoisePick] = field(default_factory=dict)  # budget name -> its pick


@dataclass
class SearchResult:
    """What ``nasx search`` wrote."""

    document: dict[str, Any]
    pareto_path: Path
    history_path: Path
    rounds: list[list[DeviceRound]]


def thin(rows: np.ndarray, k: int) -> np.ndarray:
    """At most ``k`` of ``rows`` evenly spread along it (both ends kept)."""
    if k <= 0:
        return rows[:0]
    if len(rows) <= k:
        return rows
    if k == 1:
        return rows[:1]
    return rows[np.unique(np.round(np.linspace(0, len(rows) - 1, k)).astype(int))]


def row_id(codec: GenomeCodec, archive: Archive, row: int) -> str:
    """The arch id of ``archive``'s row ``row``."""
    return arch_id(codec.decode(archive.genomes[row]))


class SearchRunner:
    """Runs ``nasx search`` on a trained run (see the module docstring).

    Args:
        run: the trained run (supernet, data, space).
        devices: the device profiles, in order.
        budgets: the budgets (each for one of ``devices``, by profile name).
        settings: search settings.
        accuracy: the accuracy model of round 1 (may be set later, before :meth:`run_rounds`).
        refit: given the arch ids validated so far, returns the refitted accuracy model before
            rounds 2.. (None: keep ``accuracy``).
        latency_models: per device, a measured latency model (absent: analytic costs).
        host: measures ``host-cpu`` candidates (and refits its latency predictor); default:
            plain measurements with the default settings (:mod:`.validate`).
        runtimes: per device, the runtime its latency is for (default: the profile's).
        log: where progress lines go.
    """

    def __init__(self, run: TrainedRun, devices: Sequence[DeviceProfile],
                 budgets: Sequence[Budget], settings: SearchSettings, *,
                 accuracy: AccuracyModel | None,
                 refit: Callable[[Sequence[str]], AccuracyModel] | None = None,
                 latency_models: dict[str, LatencyModel] | None = None,
                 host: HostLatency | None = None, runtimes: dict[str, str] | None = None,
                 log: Log = print) -> None:
        settings.check()
        self.run, self.settings, self.log = run, settings, log
        self.accuracy, self.refit = accuracy, refit
        self.codec = GenomeCodec(run.space)
        self.repair = GenomeRepair(self.codec)
        self.host = host or HostLatency(run, None, None)
        self.runtimes = {p.name: p.runtime for p in devices} | dict(runtimes or {})
        latency_models = latency_models or {}
        splits = run.splits
        self.length = splits.max_length
        self.devices: dict[str, DeviceObjective] = {}
        for profile in devices:
            model = CostModel(run.space, splits.channels, splits.num_classes, length=self.length,
                              mode=settings.mode, device=profile)
            self.devices[profile.name] = DeviceObjective(profile, model,
                                                         latency_models.get(profile.name))
        self.budgets = list(budgets)
        self.pick_json: dict[str, dict[str, Any]] = {}  # budget name -> pareto.json "pick"
        unknown = [b.name for b in self.budgets if b.device not in self.devices]
        if unknown:
            raise ValueError(f"budgets for devices not searched: {unknown}")

    def check_budgets(self) -> None:
        """Raise :class:`~nasx.search.feasibility.ImpossibleBudgetError` on a budget no
        subnet meets."""
        check_budgets(self.budgets, self.devices, space_name=self.run.space.name,
                      mode=self.settings.mode, length=self.length)

    # --- one device, one round ------------------------------------------------------------

    def _search_device(self, name: str, round_: int) -> DeviceRound:
        s = self.settings
        dev = self.devices[name]
        budgets = [b for b in self.budgets if b.device == name]
        if self.accuracy is None:
            raise ValueError("set the accuracy model before running the search")
        task = SearchTask(self.accuracy, dev, budgets, s.objectives)
        archive = Archive(dev.name, dev.latency_label, round=round_)
        ref = reference_point(task, seed=s.seed)
        curve: list[tuple[int, float]] = []

        def on_generation(generation: int, arch: Archive) -> None:
            curve.append((generation, hypervolume(arch.objectives, arch.feasible, ref)))

        seed = s.seed + 1000 * (round_ - 1)
        if s.backend == "pymoo":
            run_nsga2(task, self.repair, n_evals=s.evaluations, pop_size=s.population,
                      seed=seed, archive=archive, on_generation=on_generation)
        else:
            from nasx.search.optuna_backend import run_optuna

            stamp = time.strftime("%Y%m%d-%H%M%S")
            run_optuna(task, self.repair, n_trials=s.evaluations, pop_size=s.population,
                       seed=seed, archive=archive, storage=s.storage,
                       study_name=f"nasx-search {name} round {round_} seed {s.seed} {stamp}",
                       on_generation=on_generation)
        front = front_rows(archive)
        bests = [(b, best_row(archive, budgets.index(b))) for b in budgets]
        self.log(f"round {round_}, {name}: {len(archive)} archs evaluated, "
                 f"{int(archive.feasible.sum())} feasible, {len(front)} on the front, "
                 f"hypervolume {curve[-1][1] if curve else 0.0:.4f}")
        return DeviceRound(name, archive, front, bests, curve)

    def _validate(self, dr: DeviceRound) -> None:
        rows = list(thin(dr.front, self.settings.validate))
        rows += [r for _, r in dr.budgets if r is not None and r not in rows]
        if not rows:
            return
        genomes = dr.archive.genomes
        archs = [self.codec.decode(genomes[r]) for r in rows]
        records = validated_records(self.run, archs, progress=self.settings.progress)
        for r, rec in zip(rows, records, strict=True):
            dr.validated_acc[r], dr.validated_loss[r] = rec.val_acc, rec.val_loss
            dr.validated_losses[r] = rec.losses()
        accs = [rec.val_acc for rec in records]
        if dr.device == HOST_DEVICE:
            dr.validated_ms.update(zip(rows, self.host.measure_ms(archs), strict=True))
        pick_budgets(dr, self.accuracy, self.host.runtime if dr.device == HOST_DEVICE
                     else None, lambda r: row_id(self.codec, dr.archive, r), self.log,
                     self.settings.pick_se)
        # a round's device is validated once, with the predictor that made its predictions
        now = dr.gaps = gap_summary([arch_id(a) for a in archs], dr.archive.accuracy[rows],
                                    accs, self.accuracy)
        text = (f"round {dr.archive.round}, {dr.device}: validated {len(rows)} subnets, mean "
                f"|predicted - validated| accuracy {100 * now['mean_abs_gap']:.2f} points "
                f"(predicted - validated {100 * now['mean_gap']:+.2f} on average")
        if now["mean_abs_gap_unseen"] is not None:
            text += (f"; {100 * now['mean_abs_gap_unseen']:.2f} over the {now['unseen']} the "
                     "predictor was not fitted on")
        if now["noise_abs_gap"] is not None:
            text += (f"; the validation split's noise alone gives about "
                     f"{100 * now['noise_abs_gap']:.2f}")
        self.log(text + ")")

    # --- the whole search -----------------------------------------------------------------

    def run_rounds(self) -> list[list[DeviceRound]]:
        """Every round's per-device searches, validated; refits between rounds."""
        from nasx.search.tensorboard_log import log_round

        rounds: list[list[DeviceRound]] = []
        for r in range(1, self.settings.rounds + 1):
            if r > 1 and self.refit is not None:
                self.log(f"round {r}: refitting the accuracy predictor with the validated "
                         "subnets")
                seen = [row_id(self.codec, dr.archive, row)
                        for this in rounds for dr in this for row in dr.validated_acc]
                self.accuracy = self.refit(list(dict.fromkeys(seen)))
            if r > 1 and HOST_DEVICE in self.devices:
                latency = self.host.refit()
                if latency is not None:
                    held = latency.info.get("holdout") or {}
                    self.log(f"round {r}: refitted the {HOST_DEVICE} latency predictor with "
                             f"{len(self.host.added)} measured candidates (held-out MAPE "
                             f"{held.get('mape', float('nan')):.1f}%)")
                    old = self.devices[HOST_DEVICE]
                    self.devices[HOST_DEVICE] = DeviceObjective(old.device, old.cost_model,
                                                                latency)
            this = []
            for name in self.devices:
                dr = self._search_device(name, r)
                self._validate(dr)
                log_round(self.run.run_dir, r, name, dr.archive, dr.front, dr.budgets,
                          dr.validated_acc, dr.hv_curve, dr.validated_ms, self.runtimes[name])
                this.append(dr)
            rounds.append(this)
        return rounds

    def entries(self, last: Sequence[DeviceRound]
                ) -> tuple[list[SubnetEntry], list[np.ndarray], list[tuple[Budget, int | None]]]:
        """``pareto.json`` subnets (with their genomes) and budgets of the last round."""
        entries: list[SubnetEntry] = []
        genomes: list[np.ndarray] = []
        budget_best: list[tuple[Budget, int | None]] = []
        for dr in last:
            index_of: dict[int, int] = {}
            # every validated subnet (the picks' candidates among them) besides the front
            extra = [r for r in [*dr.validated_acc, *(r for _, r in dr.budgets)]
                     if r is not None and r not in set(dr.front)]
            all_genomes = dr.archive.genomes
            for row in [*dr.front, *dict.fromkeys(extra)]:
                g = all_genomes[row]
                validated = None
                if row in dr.validated_acc:
                    validated = {"accuracy": dr.validated_acc[row],
                                 "loss": dr.validated_loss.get(row),
                                 "latency_ms": dr.validated_ms.get(row)}
                index_of[int(row)] = len(entries)
                arch = self.codec.decode(g)
                entries.append(SubnetEntry(
                    id=arch_id(arch), arch=arch, device=dr.device,
                    on_front=bool(row in set(dr.front)),
                    predicted=predicted_of(dr.archive, row) | {"runtime": self.runtimes[dr.device]},
                    validated=validated))
                genomes.append(g)
            budget_best += [(b, None if r is None else index_of[r]) for b, r in dr.budgets]
            self.pick_json.update({name: p.as_json(index_of) for name, p in dr.picks.items()})
        order = {b.name: k for k, b in enumerate(self.budgets)}
        budget_best.sort(key=lambda x: order[x[0].name])
        return entries, genomes, budget_best

    def settings_json(self) -> dict[str, Any]:
        """The settings as written into ``pareto.json``."""
        s = asdict(self.settings)
        s["objectives"] = ["error", "latency_ms", *(f"{o}_kb" for o in self.settings.objectives)]
        s.pop("progress")
        s["devices"] = {n: {"latency": d.latency_label, "runtime": self.runtimes[n]}
                        for n, d in self.devices.items()}
        s["length"] = self.length
        return s

    def check_met(self, last: Sequence[DeviceRound]) -> None:
        """Raise :class:`UnmetBudgetError` on the first budget no subnet of the last round
        meets, naming the closest subnet found and the fix."""
        for dr in last:
            for budget, row in dr.budgets:
                if row is not None:
                    continue
                near = closest_subnet(dr.archive, budget)
                closest = ("the search evaluated none" if near is None else
                           f"the closest found is {row_id(self.codec, dr.archive, near[0])} "
                           f"({near[1]})")
                raise UnmetBudgetError(
                    f"budget '{budget.name}': no subnet the search evaluated meets it "
                    f"({closest}); relax the budget or search longer (--evaluations); the "
                    "earlier search results are unchanged")

    def write(self, rounds: list[list[DeviceRound]]) -> SearchResult:
        """Write the search into a new numbered folder and make it the latest
        (``search/pareto.json``, ``history.csv``), and the HParams runs; return what was
        written.

        Raises:
            UnmetBudgetError: a budget no subnet meets; nothing is written then.
        """
        from nasx.search.tb_hparams import log_hparams, log_summary

        self.check_met(rounds[-1])
        entries, _, budget_best = self.entries(rounds[-1])
        summary = []
        for r, this in enumerate(rounds, start=1):
            for dr in this:
                summary.append({"round": r, "device": dr.device, "evaluated": len(dr.archive),
                                "front": len(dr.front), "validated": len(dr.validated_acc),
                                **dr.gaps,
                                "hypervolume": dr.hv_curve[-1][1] if dr.hv_curve else 0.0})
        doc = pareto_document(self.run.run_dir, entries, budget_best,
                              settings=self.settings_json(), rounds=summary,
                              picks=self.pick_json)
        text = history_csv([dr.archive for this in rounds for dr in this], self.codec)
        doc, pareto_path, history_path = write_search(self.run.run_dir, doc, text)
        picks: dict[int, list[str]] = {}
        for b, best in budget_best:
            if best is not None:
                picks.setdefault(best, []).append(b.name)
        costs = [self.devices[e.device].cost_model.cost(e.arch) for e in entries]
        log_hparams(self.run.run_dir, entries, picks, len(rounds), len(self.run.space.stages),
                    [{"params": c.params, "macs": c.macs} for c in costs])
        log_summary(self.run.run_dir, doc, getattr(self.accuracy, "info", None) or {})
        return SearchResult(doc, pareto_path, history_path, rounds)
