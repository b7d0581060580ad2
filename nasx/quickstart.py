"""The end-to-end job on the embedded default data: what ``nasx quickstart`` (and ``make demo``)
runs.

Stages, each into the same run folder and each what the matching command does:

1. ``train``: the supernet of ``cfg`` (``nasx train``); then the largest, the smallest and
   ``n_random`` fixed random subnets are reported (validation and test accuracy after BatchNorm
   recalibration) with the check that each extracted static module computes what the supernet
   computes on the validation split.
2. ``profile``: this machine's measured latency predictor (``nasx profile --device host-cpu
   --run``), saved in ``predictors/``.
3. ``predictor``: the accuracy predictor (``nasx predictor fit``).
4. ``search``: NSGA-II for ``stm32f746`` (SRAM <= 256 KB, flash <= 1 MB) and ``host-cpu`` under
   a latency budget (``nasx search``; by default half-way between the fastest sampled and the
   largest subnet's predicted host latency, so the budget means the same on any machine).
5. ``export``: the best subnet of each budget (``nasx export``), verified against the supernet.

``until`` stops after a stage. Every stage resumes: the profile and predictor datasets are
cached by arch id, and a resumed quickstart replaces its own earlier search and exports.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasx.errors import NasxError
from nasx.runs.layout import PREDICTORS_DIR

if TYPE_CHECKING:  # torch and the training code load when a stage runs (fast `nasx --help`)
    from nasx.config import RunConfig
    from nasx.predictors.latency.prefetch import GraphJob, GraphPrefetch
    from nasx.runs.trained import TrainedRun

STAGES: tuple[str, ...] = ("train", "profile", "predictor", "search", "export")
MCU_BUDGET = "stm32f746: sram<=256KB, flash<=1MB"
HOST = "host-cpu"
Log = Callable[[str], None]


@dataclass(frozen=True)
class SubnetReport:
    """One subnet: id, summary, size, accuracies and how far its extracted copy is off."""

    name: str
    arch_id: str
    summary: str
    params: int
    val_accuracy: float
    test_accuracy: float
    max_abs_diff: float


@dataclass(frozen=True)
class BudgetReport:
    """The exported best subnet of one budget, with its validated figures and costs.

    ``val_accuracy`` is the supernet subnet's (the held-out figure the search chose by);
    ``test_accuracy`` the exported model's, after ``refit_steps`` steps of refit on train + val
    (0: no refit).
    """

    budget: str
    device: str
    arch_id: str
    summary: str
    val_accuracy: float
    test_accuracy: float
    latency_ms: float
    latency_label: str
    sram_kb: float
    flash_kb: float
    onnx_ms: float | None
    folder: Path
    refit_steps: int = 0


@dataclass(frozen=True)
class PipelineSettings:
    """Sizes of the stages after training (defaults: what ``make demo`` runs)."""

    until: str = "export"
    profile_samples: int = 60
    profile_rounds: int = 6
    predictor_samples: int = 100
    predictor_holdout: int = 30
    evaluations: int = 4000
    search_rounds: int = 2
    validate: int = 8
    budgets: str | None = None  # None: MCU_BUDGET + a host-cpu latency budget
    host_fraction: float = 0.5
    runtime: str | None = None  # host-cpu latency: None is the profile's (onnxruntime)
    formats: tuple[str, ...] = ("torch", "pt2", "onnx", "c")
    progress: bool = False  # tqdm bars on stderr for every stage
    prefetch: bool = True  # export the onnxruntime profile's graphs on a spare core in training

    def check(self) -> None:
        """Raise :class:`NasxError` on a value out of range (one line naming the option)."""
        if self.until not in STAGES:
            raise NasxError(f"--until {self.until}: expected one of {', '.join(STAGES)}")
        if not 0 < self.host_fraction <= 1:
            raise NasxError(f"--host-fraction {self.host_fraction}: give a number in (0, 1]")


@dataclass
class QuickstartResult:
    """What :func:`run_quickstart` wrote and measured."""

    run_dir: Path
    train_seconds: float
    reports: list[SubnetReport]
    seconds: float
    budgets: list[BudgetReport] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)


def subnet_reports(run: TrainedRun, cfg: RunConfig, n_random: int) -> list[SubnetReport]:
    """Largest, smallest and ``n_random`` fixed random subnets: accuracies after BN
    recalibration and the extracted module's max |diff| on the validation split."""
    import torch

    from nasx.data import SequenceSet, iterate_batches
    from nasx.search_spaces import arch_id, describe_arch
    from nasx.train.bn_recal import preserved_bn_state, recalibrate_bn
    from nasx.train.evaluate import EVAL_BATCH_SIZE, calibration_batches, score_active
    from nasx.train.run_eval import resolve_arch_specs

    specs = ["largest", "smallest"] + ([f"random:{n_random}"] if n_random > 0 else [])
    device = next(run.net.parameters()).device
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    val, test = run.splits.val.to(device), run.splits.test.to(device)
    reports = []
    net = run.net.eval()
    with preserved_bn_state(net), torch.no_grad():
        for name, arch in resolve_arch_specs(run, specs):
            recalibrate_bn(net, arch, calib)  # once per subnet, for all three checks
            net.eval()
            val_eval, test_eval = score_active(net, name, val), score_active(net, name, test)
            static = net.extract(arch)
            # the whole split at once, or one batch at a time when it is read lazily (npy:)
            parts = ([val] if isinstance(val, SequenceSet)
                     else iterate_batches(val, EVAL_BATCH_SIZE, shuffle=False))
            diff = max((static(b.x, b.lengths) - net(b.x, b.lengths)).abs().max().item()
                       for b in parts)  # (B, classes) each
            reports.append(SubnetReport(
                name, arch_id(net.active_arch), describe_arch(arch),
                sum(p.numel() for p in static.parameters()), val_eval.accuracy,
                test_eval.accuracy, diff))
    return reports


def host_budget(run: TrainedRun, fraction: float, *, runtime: str = "onnxruntime",
                samples: int = 2000) -> str:
    """``host-cpu: latency<=X ms``: X = lo + ``fraction`` x (hi - lo), where hi is the largest
    subnet's latency as the run's measured host-cpu predictor predicts it and lo the lowest
    predicted latency among the smallest subnet and ``samples`` random ones (so X is always
    achievable, whatever the space), rounded up to 3 significant digits."""
    import math

    import numpy as np

    from nasx.predictors.latency.model import LatencyPredictor, predictor_file
    from nasx.search_spaces import GenomeCodec, random_arch
    from nasx.train.run_eval import resolve_arch_specs

    pred = LatencyPredictor.load(predictor_file(run.run_dir / PREDICTORS_DIR, HOST, runtime),
                                 run.space)
    codec = GenomeCodec(run.space)
    fixed = dict(resolve_arch_specs(run, ["largest", "smallest"]))
    rng = np.random.default_rng(run.cfg.seed)
    others = [random_arch(run.space, rng) for _ in range(samples)]
    genomes = np.stack([codec.encode(a) for a in [fixed["largest"], fixed["smallest"], *others]])
    ms = 1e3 * pred.predict(genomes)  # (2 + samples,)
    hi, lo = float(ms[0]), float(ms[1:].min())
    x = lo + fraction * max(hi - lo, 0.0)
    digits = 2 - math.floor(math.log10(x))
    return f"{HOST}: latency<={math.ceil(x * 10**digits) / 10**digits:g}ms"


def _profile(run: TrainedRun, s: PipelineSettings) -> str:
    from tqdm import tqdm

    from nasx.predictors import load_device
    from nasx.predictors.latency.profile import profile_latency

    sp = run.splits
    bar = tqdm(total=s.profile_rounds * (s.profile_samples + 2), desc="profile", unit="subnet",
               disable=not s.progress, file=sys.stderr, dynamic_ncols=True, leave=False)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    with bar:
        report = profile_latency(run.space, device=load_device(HOST), channels=sp.channels,
                                 classes=sp.num_classes, length=sp.max_length,
                                 folder=run.run_dir / PREDICTORS_DIR, samples=s.profile_samples,
                                 runtime=s.runtime,
                                 rounds=s.profile_rounds, seed=run.cfg.seed,
                                 data_sha256=sp.fingerprint["all"], progress=progress)
    held = report.holdout
    fit = (f"held-out MAPE {held['mape']:.1f}%, {100 * held['within_10']:.0f}% within +-10%"
           if held else "no held-out subnets")
    return (f"host-cpu {report.predictor.runtime} latency predictor: {report.n_train} "
            f"subnets, {fit} "
            f"({report.seconds:.0f} s)")


def prefetch_job(run_dir: Path, cfg: RunConfig, splits: Any, s: PipelineSettings,
                 stages: tuple[str, ...], cores: int) -> GraphJob | None:
    """The :class:`~nasx.predictors.latency.prefetch.GraphJob` of the host profile's graphs,
    to export while the supernet trains: when the profile runs in onnxruntime and one of the
    ``cores`` this process may use is spare (training on CPU takes ``train.threads``, all of
    them when null; on a GPU one); else None."""
    from nasx.predictors import load_device
    from nasx.predictors.latency.prefetch import GraphJob
    from nasx.runs.layout import SPACE_FILE

    runtime = s.runtime or load_device(HOST).runtime
    busy = 1 if cfg.train.device.startswith("cuda") else (cfg.train.threads or cores)
    if not s.prefetch or "profile" not in stages or runtime != "onnxruntime" or busy >= cores:
        return None
    return GraphJob(
        space_file=str(run_dir / SPACE_FILE), folder=str(run_dir / PREDICTORS_DIR), device=HOST,
        runtime=runtime, channels=splits.channels, classes=splits.num_classes,
        length=splits.max_length, samples=s.profile_samples, seed=cfg.seed)


def start_prefetch(job: GraphJob, say: Log) -> GraphPrefetch | None:
    """The started :class:`~nasx.predictors.latency.prefetch.GraphPrefetch` of ``job``, or None
    (with a warning) when it cannot start: it only saves time, the profile exports what is
    missing."""
    from nasx.predictors.latency.prefetch import GraphPrefetch

    try:
        return GraphPrefetch(job)
    except (OSError, NasxError) as exc:
        say(f"warning: the profile's graphs are not exported during training ({exc}); the "
            "profile stage exports them")
        return None


def _cores() -> int:
    """CPU cores this process may run on."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _predictor(run: TrainedRun, s: PipelineSettings) -> str:
    from nasx.predictors.accuracy.fit import fit_run_predictor

    _, rep = fit_run_predictor(run, samples=s.predictor_samples, holdout=s.predictor_holdout,
                               seed=run.cfg.seed, progress=s.progress)
    tau = rep.get("kendall_tau")
    return (f"accuracy predictor ({rep['model']}): {rep['n_train']} subnets, held-out "
            f"Kendall tau {'n/a' if tau is None else f'{tau:.3f}'}, RMSE {rep['rmse']:.4f}")


def _search(run: TrainedRun, s: PipelineSettings, budgets: str, log: Log) -> Any:
    from nasx.search.api import search_run
    from nasx.search.runner import SearchSettings

    settings = SearchSettings(evaluations=s.evaluations, rounds=s.search_rounds,
                              validate=s.validate, seed=run.cfg.seed,
                              predictor_samples=s.predictor_samples,
                              predictor_holdout=s.predictor_holdout, progress=s.progress)
    return search_run(run.run_dir, settings, budgets=budgets, runtime=s.runtime, overwrite=True,
                      log=log)


def _export(run_dir: Path, doc: dict[str, Any], s: PipelineSettings,
            log: Log) -> list[BudgetReport]:
    """Export each budget's best subnet once (two budgets may pick the same one: it is then
    exported with the devices and formats of both) and report a row per budget."""
    from nasx.export.exporter import export_subnet

    # arch id -> the budgets it is best for (pareto.json lists an arch once per device, so two
    # devices' budgets can pick the same arch at two indices: one export folder, both devices)
    picks: dict[str, list[dict[str, Any]]] = {}
    for b in doc["budgets"]:
        if b["best"] is None:
            log(f"{b['name']}: no subnet meets it; nothing to export")
        else:
            picks.setdefault(doc["subnets"][b["best"]]["id"], []).append(b)
    exported: dict[str, Any] = {}  # budget name -> its ExportResult
    for budgets in picks.values():
        devices = list(dict.fromkeys(b["device"] for b in budgets))
        formats = s.formats if any(d != HOST for d in devices) else tuple(
            f for f in s.formats if f != "c")  # the C header is for MCUs
        res = export_subnet(run_dir, budgets[0]["name"], formats=formats, devices=devices,
                            overwrite=True, say=lambda line: None)
        exported.update({b["name"]: res for b in budgets})
    reports = []
    for b in doc["budgets"]:
        if b["name"] not in exported:
            continue
        device, res = b["device"], exported[b["name"]]
        m = res.metrics
        cost = m["cost"][device]["whole-sequence"]
        latency_ms, label = cost["latency_ms"], cost["latency_label"]
        if device == HOST:
            latency_ms, label = _host_latency(doc["subnets"][b["best"]], b,
                                              m["latency"]["predicted"][HOST])
        onnx = m["latency"]["measured_ms"].get("onnxruntime")
        reports.append(BudgetReport(
            b["name"], device, m["id"], m["describe"], m["accuracy"]["supernet_val"],
            m["accuracy"]["test"], latency_ms, label, cost["sram_kb"], cost["flash_kb"],
            onnx, res.folder, (m.get("refit") or {}).get("steps", 0)))
    return reports


def _host_latency(entry: dict[str, Any], budget: dict[str, Any], predicted: dict[str, Any]
                  ) -> tuple[float, str]:
    """A host-cpu pick's latency for the table and its label: the search's measurement when
    it validated the pick (saying so when it breaks the budget), else the latency predictor's."""
    measured = (entry.get("validated") or {}).get("latency_ms")
    if measured is None:
        return predicted["latency_ms"], predicted["label"]
    label = (f"measured when the search validated it; {predicted['label']}: "
             f"{predicted['latency_ms']:.3f} ms")
    limit = (budget.get("constraints") or {}).get("latency_ms")
    if limit is not None and measured > limit:
        label += f"; OVER the {limit:g} ms budget when measured (see the search log)"
    return measured, label


def _check_inputs(cfg: RunConfig) -> None:
    """Raise the ``NasxError`` of a bad config, search space or data set."""
    from nasx.config import validate_config
    from nasx.data import load_dataset
    from nasx.search_spaces import load_space

    validate_config(cfg)
    load_space(cfg.space)
    load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                 normalize=cfg.data.normalize)


def run_quickstart(cfg: RunConfig, out: Path, *, overwrite: bool, resume: bool,
                   n_random: int = 5, settings: PipelineSettings | None = None,
                   log: Log | None = None) -> QuickstartResult:
    """Run the quickstart stages into ``out`` (see the module docstring)."""
    from nasx.runs import run_lock
    from nasx.runs.trained import load_trained_run
    from nasx.train import train_supernet

    s = settings or PipelineSettings()
    s.check()
    say = log or (lambda _line: None)
    start = time.perf_counter()
    _check_inputs(cfg)  # bad input is refused before any file or lock is made
    out.parent.mkdir(parents=True, exist_ok=True)
    stages = STAGES[1: STAGES.index(s.until) + 1]
    prefetch: list[GraphPrefetch] = []  # started once the run folder is ready

    def ready(run_dir: Path, resolved: RunConfig, splits: Any) -> None:
        job = prefetch_job(run_dir, resolved, splits, s, stages, _cores())
        if job is not None and (started := start_prefetch(job, say)) is not None:
            prefetch.append(started)

    with run_lock(out, "quickstart"), contextlib.ExitStack() as cleanup:
        cleanup.callback(lambda: [p.cancel() for p in prefetch])
        trained = train_supernet(cfg, out, overwrite=overwrite, resume=resume, log=log,
                                 progress=s.progress, on_ready=ready)
        run = load_trained_run(out)
        result = QuickstartResult(out, trained.seconds, subnet_reports(run, cfg, n_random), 0.0)
        result.stage_seconds["train"] = time.perf_counter() - start
        budgets = s.budgets
        for stage in stages:
            t0 = time.perf_counter()
            if stage == "profile":
                for p in prefetch:  # its remaining graphs from both ends, then time them
                    p.finish()
                say(f"[profile] {_profile(run, s)}")
            elif stage == "predictor":
                say(f"[predictor] {_predictor(run, s)}")
            elif stage == "search":
                if budgets is None:
                    from nasx.predictors import load_device

                    runtime = s.runtime or load_device(HOST).runtime
                    budgets = (f"{MCU_BUDGET}; "
                               f"{host_budget(run, s.host_fraction, runtime=runtime)}")
                say(f"[search] budgets: {budgets}")
                doc = _search(run, s, budgets, say).document
            else:
                result.budgets = _export(out, doc, s, say)
            result.stage_seconds[stage] = time.perf_counter() - t0
    result.seconds = time.perf_counter() - start
    return result
