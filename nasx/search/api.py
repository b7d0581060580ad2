"""``search_run``: what ``nasx search`` does, as a function (``nasx quickstart`` calls it too).

Loads the trained run, finds the measured latency predictors that fit its data (the run's
``predictors/`` first, then the user cache), fits the accuracy predictor when the run has none,
checks every budget against the cheapest subnet, then runs the search rounds and writes a new
numbered ``search/NNNN/`` (``history.csv``, ``pareto.json``), its copies ``search/history.csv``
and ``search/pareto.json`` (the latest) and ``tb/search/`` under the run-folder lock; a budget
no evaluated subnet meets writes none of them (:mod:`nasx.search.results`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from nasx.runs.layout import PREDICTORS_DIR
from nasx.search.runner import SearchResult, SearchSettings

Log = Callable[[str], None]


def _say(log: Log, line: str) -> None:
    log(f"nasx search: {line}")


def runtime_of(profile: Any, override: str | None) -> str:
    """The runtime a device's latency is for: ``override`` (``--runtime``) on a CPU or GPU,
    else the profile's (an MCU's is always its C runtime)."""
    return override if override is not None and not profile.is_mcu else profile.runtime


def _latency_models(run_dir: Path, trained: Any, devices: dict[str, str], log: Log
                    ) -> dict[str, tuple[Any, Path]]:
    """Measured latency predictors of ``devices`` (profile name -> runtime) that match the run's
    data, with the folder each came from (the run's ``predictors/`` first, then the user
    cache)."""
    from nasx.predictors.latency.model import LatencyPredictor, cache_folder, predictor_file

    s = trained.splits
    folders = [run_dir / PREDICTORS_DIR,
               cache_folder(trained.space, s.channels, s.num_classes, s.max_length)]
    out = {}
    for name, runtime in devices.items():
        found = [f for f in folders if predictor_file(f, name, runtime).is_file()]
        old = [f / f"latency-{name}.json" for f in folders
               if (f / f"latency-{name}.json").is_file()]
        if not found and old:
            _say(log, f"ignoring {old[0]}: it was measured before runtimes were recorded (eager "
                 f"torch); rename it and its -data.jsonl to latency-{name}-torch.* to use it "
                 f"with --runtime torch, or profile {runtime} with nasx profile")
        if not found:
            continue
        pred = LatencyPredictor.load(predictor_file(found[0], name, runtime), trained.space)
        if (pred.channels, pred.classes, pred.length) != (s.channels, s.num_classes,
                                                          s.max_length):
            _say(log, f"ignoring the {name} {runtime} latency predictor: measured for "
                 f"{pred.channels} channels, {pred.classes} classes, length {pred.length}, "
                 f"the run has {s.channels}, {s.num_classes}, {s.max_length}")
            continue
        out[name] = (pred, found[0])
    return out


def _fitted_profiles(run_dir: Path, trained: Any, profiles: dict[str, Any], log: Log
                     ) -> dict[str, Any]:
    """``profiles`` with each MCU profile replaced by the run's fitted one
    (``predictors/device-<name>.yaml``, written by ``nasx profile --device <name> --run``)
    when it was fitted for the run's data shape (:func:`~nasx.predictors.load_run_device`)."""
    from nasx.predictors.devices.registry import load_run_device

    s = trained.splits
    out = dict(profiles)
    for key, p in profiles.items():
        if not p.is_mcu:
            continue
        fitted, note = load_run_device(run_dir, p.source if p.source.endswith((".yaml", ".yml"))
                                       else p.name, s.channels, s.num_classes, s.max_length)
        if note is not None:
            _say(log, note)
        if fitted.fit is not None:
            out[key] = fitted
    return out


def _accuracy_model(trained: Any, settings: SearchSettings, log: Log) -> tuple[Any, Any]:
    """The run's accuracy predictor (fitted first if there is none) and its refit function."""
    from nasx.predictors.accuracy.fit import fit_run_predictor, load_run_predictor, predictor_dir
    from nasx.predictors.accuracy.predictor import KINDS

    pred = load_run_predictor(trained.run_dir, trained.space)
    if pred is None:
        _say(log, f"no accuracy predictor in {predictor_dir(trained.run_dir)}; fitting one "
             f"on {settings.predictor_samples} + {settings.predictor_holdout} held-out "
             "evaluated subnets (as nasx predictor fit)")
        pred, report = fit_run_predictor(trained, samples=settings.predictor_samples,
                                         holdout=settings.predictor_holdout, seed=settings.seed,
                                         progress=settings.progress)
        tau = report.get("kendall_tau")
        _say(log, f"accuracy predictor {report['model']}: held-out Kendall tau "
             f"{'n/a' if tau is None else f'{tau:.3f}'}")
    info = pred.info
    samples = int(info.get("samples", settings.predictor_samples))
    holdout = int(info.get("holdout_size", settings.predictor_holdout))
    seed = int(info.get("seed", settings.seed))
    saved = info.get("kinds")  # a family the user pinned stays pinned
    kinds = tuple(saved) if isinstance(saved, list) and saved and set(saved) <= set(KINDS) \
        else KINDS

    def refit(validated: Sequence[str]) -> Any:
        return fit_run_predictor(trained, samples=samples, holdout=holdout, seed=seed,
                                 progress=False, kinds=kinds, emphasis=validated)[0]

    return pred, refit


def search_run(run_dir: Path, settings: SearchSettings, *, devices: list[str] | None = None,
               budgets: str | None = None, max_latency_ms: float | None = None,
               max_sram_kb: float | None = None, max_flash_kb: float | None = None,
               runtime: str | None = None, overwrite: bool = False,
               log: Log = print) -> SearchResult:
    """Search the trained run in ``run_dir`` for ``devices`` under the budgets (see
    :func:`nasx.search.budgets.collect_budgets` for how ``devices``, ``budgets`` and the
    ``max_*`` limits combine) and write its outputs. ``runtime`` (``--runtime``): what the
    latency of CPU and GPU devices is for (default: each profile's, onnxruntime).

    Raises:
        NasxError: bad budgets or settings, an unknown device, an impossible budget, a run
            folder in use or an earlier search without ``overwrite``.
    """
    from nasx.predictors import load_device
    from nasx.runs import run_lock
    from nasx.runs.trained import load_trained_run
    from nasx.search.budgets import collect_budgets
    from nasx.search.host_latency import HostLatency
    from nasx.search.runner import SearchRunner, check_outputs_free
    from nasx.search.validate import HOST_DEVICE

    names, parsed = collect_budgets(list(devices or []), budgets, max_latency_ms=max_latency_ms,
                                    max_sram_kb=max_sram_kb, max_flash_kb=max_flash_kb)
    settings.check()
    if settings.storage is not None:
        from nasx.search.optuna_backend import open_storage

        open_storage(settings.storage)
    # an unknown device is an error before anything is loaded; budgets name profiles
    profiles = {d: load_device(d) for d in names}
    parsed = [replace(b, device=profiles[b.device].name) for b in parsed]
    runtimes = {p.name: runtime_of(p, runtime) for p in profiles.values()}
    if runtimes.get(HOST_DEVICE) is not None:
        from nasx.predictors.latency.runtimes import check_runtime

        check_runtime(runtimes[HOST_DEVICE])
    check_outputs_free(run_dir, overwrite)
    with run_lock(run_dir, "search"):
        trained = load_trained_run(run_dir)
        profiles = _fitted_profiles(run_dir, trained, profiles, log)
        found = _latency_models(run_dir, trained, runtimes, log)
        latency = {name: pred for name, (pred, _) in found.items()}
        host = HostLatency(trained, *found.get(HOST_DEVICE, (None, None)),
                           runtime=runtimes.get(HOST_DEVICE, "onnxruntime"))
        for name, (_, folder) in found.items():
            _say(log, f"{name} {runtimes[name]} latency from the measured predictor {folder}")
        unique = list({p.name: p for p in profiles.values()}.values())
        runner = SearchRunner(trained, unique, parsed, settings, accuracy=None,
                              latency_models=latency, host=host, runtimes=runtimes,
                              log=lambda line: _say(log, line))
        runner.check_budgets()
        runner.accuracy, runner.refit = _accuracy_model(trained, settings, log)
        return runner.write(runner.run_rounds())


def check_budgets_before_training(cfg: Any, budgets: str) -> None:
    """Refuse budgets that no subnet of ``cfg``'s space can meet, before anything is trained.

    The limits known exactly without a trained supernet are checked: SRAM and flash on every
    device and latency on MCU devices (analytic); a CPU/GPU latency limit is checked by the
    search, against the measured or estimated latency.

    Raises:
        NasxError: a malformed spec, an unknown device, or a budget no subnet meets (see
            :func:`~nasx.search.feasibility.check_budgets`).
    """
    from nasx.data import load_dataset
    from nasx.predictors import CostModel, load_device
    from nasx.search.budgets import collect_budgets
    from nasx.search.feasibility import check_budgets
    from nasx.search.objectives import DeviceObjective
    from nasx.search.runner import SearchSettings
    from nasx.search_spaces import load_space

    _, parsed = collect_budgets([], budgets)
    profiles = {b.device: load_device(b.device) for b in parsed}
    space = load_space(cfg.space)
    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                          normalize=cfg.data.normalize)
    mode = SearchSettings.mode
    objectives = {
        p.name: DeviceObjective(p, CostModel(space, splits.channels, splits.num_classes,
                                             length=splits.max_length, mode=mode, device=p))
        for p in profiles.values()}
    exact = [replace(b, device=profiles[b.device].name,
                     latency_ms=b.latency_ms if profiles[b.device].is_mcu else None)
             for b in parsed]
    check_budgets(exact, objectives, space_name=space.name, mode=mode,
                  length=splits.max_length)
