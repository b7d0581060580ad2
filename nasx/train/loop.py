"""``train_supernet``: the training recipe (setup, epochs of sandwich steps, checkpoints).

One epoch: a seeded shuffle of the training split (seeded by ``(seed, epoch)``), one sandwich
step per batch (subnets drawn with ``(seed, step)``), then the largest, smallest and
``eval_random`` fixed random subnets evaluated on the validation split after BatchNorm
recalibration, TensorBoard scalars, ``history.json`` and an atomic checkpoint. Evaluation leaves
the training state untouched, and the shuffles, draws and schedules depend only on the seed and
the step, so a run resumed from its last checkpoint ends with the weights of an uninterrupted
run (on CPU, same thread count).

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` in the environment) the run is data-parallel
(:mod:`nasx.train.distributed`): ``data.batch_size`` is the *global* batch, split into
contiguous shards, one per rank; all ranks draw the same subnets and hold the same weights;
BatchNorm statistics and activation ranges are those of the global batch (``train.sync_bn``);
rank 0 alone writes files, evaluates and prints while the others wait.

With ``train.arch`` (standalone training) every step trains that one subnet on the labels, no
sandwich and no distillation, and it is the one subnet evaluated every epoch.

A step with a non-finite loss or gradient norm is skipped (the weights do not change) and
logged; :data:`MAX_BAD_STEPS` in a row stop the run with :class:`TrainingDivergedError`, leaving
the last checkpoint (from the end of the last good epoch) in place.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from nasx.config import RunConfig, config_to_dict, dump_config, load_config, validate_config
from nasx.data import Batch, DatasetSplits, iterate_batches, load_dataset
from nasx.data.augment import Augmentation, augment_batch
from nasx.errors import NasxError, RunError
from nasx.recipe import resolve_recipe
from nasx.runs import (
    CONFIG_FILE,
    atomic_write_text,
    prepare_run_dir,
    run_lock,
    write_resolved_config,
)
from nasx.runs.checkpoint import (
    load_resume_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from nasx.runs.data_record import (
    check_data_unchanged,
    portable_data_name,
    write_data_record,
)
from nasx.runs.layout import CHECKPOINT, SPACE_FILE, SUPERNET_FILE
from nasx.runs.trained import build_supernet, resolve_device
from nasx.runs.writers import write_archs, write_history
from nasx.search_spaces import SearchSpace, dump_space_yaml, load_arch, load_space
from nasx.supernet.io import save_supernet
from nasx.supernet.stats_sync import synchronized_stats
from nasx.train import distributed as dd
from nasx.train.bn_recal import recalibrate_bn
from nasx.train.evaluate import SubnetEval, calibration_batches, evaluate_subnets
from nasx.train.history import epoch_line, final_evals, history_entry
from nasx.train.optim import advance, build_optimizer, build_scheduler
from nasx.train.plan import RunPlan
from nasx.train.sandwich import sandwich_step
from nasx.train.seeds import derived_seed
from nasx.train.subnets import STANDALONE, monitor_archs, stride_warning
from nasx.train.tb import TrainBoard

MAX_BAD_STEPS = 3
_SHUFFLE_STREAM = 2
_RANK_STREAM = 3
_AUGMENT_STREAM = 4
# Config keys a resumed run may change (they do not change what is computed on CPU).
RESUME_MAY_CHANGE = ("train.device",)


class TrainingDivergedError(NasxError):
    """Too many consecutive steps with a non-finite loss or gradient norm."""


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_supernet` did.

    Attributes:
        run_dir: the run folder.
        start_epoch: epochs already done when this call started (0 for a new run).
        epochs: epochs done when it returned.
        steps: optimizer steps done (skipped steps included).
        final: the last epoch's validation results (largest, smallest, random-1..K).
        seconds: wall time of this call.
    """

    run_dir: Path
    start_epoch: int
    epochs: int
    steps: int
    final: list[SubnetEval]
    seconds: float


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check_resume_config(run_dir: Path, cfg: RunConfig) -> None:
    """Refuse to resume ``run_dir`` with a config that differs from its saved one.

    Only the keys in :data:`RESUME_MAY_CHANGE` may differ.
    """
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        return
    saved = _flat(config_to_dict(load_config(RunConfig, path, [])))
    given = _flat(config_to_dict(cfg))
    for key, value in given.items():
        if key not in RESUME_MAY_CHANGE and saved.get(key) != value:
            raise RunError(
                f"--resume continues '{run_dir}' with its saved config, but '{key}' is "
                f"{value!r} here and {saved.get(key)!r} there; drop that override, or start a "
                "new run (--out) or --overwrite")


def _load_inputs(cfg: RunConfig) -> tuple[SearchSpace, DatasetSplits, torch.device]:
    validate_config(cfg)
    space = load_space(cfg.space)
    splits = load_dataset(cfg.data.name, val_fraction=cfg.data.val_fraction,
        val_sample=cfg.data.val_sample, seed=cfg.seed,
                          normalize=cfg.data.normalize)
    return space, splits, resolve_device(cfg.train.device)


def _augmented(cfg: RunConfig, batch: Batch, step: int) -> Batch:
    """The global ``batch`` of ``step`` with ``data.augment`` applied (seeded by seed and step,
    so every rank and a resumed run draw the same augmentation)."""
    a = cfg.data.augment
    aug = Augmentation(crop=a.crop, scale=a.scale, noise=a.noise)
    if not aug.active:
        return batch
    gen = torch.Generator().manual_seed(derived_seed(cfg.seed, step, _AUGMENT_STREAM))
    return augment_batch(batch, aug, gen)


def _epoch_batches(cfg: RunConfig, splits: DatasetSplits, epoch: int, steps: int) -> Any:
    gen = torch.Generator().manual_seed(derived_seed(cfg.seed, epoch, _SHUFFLE_STREAM))
    batches = iterate_batches(splits.train, cfg.data.batch_size, shuffle=True, generator=gen,
                              workers=cfg.data.workers)
    return itertools.islice(batches, steps)


def train_supernet(
    cfg: RunConfig,
    out: Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    on_ready: Callable[[Path, RunConfig, DatasetSplits], None] | None = None,
) -> TrainResult:
    """Train the supernet of ``cfg`` into the run folder ``out`` (see the module docstring).

    Args:
        cfg: the run config; ``auto`` values are resolved by :func:`nasx.recipe.resolve_recipe`
            (and written so to ``config.yaml``).
        out: run folder; a new one, or an existing one with ``overwrite`` or ``resume``.
        resume: continue from ``out/checkpoints/last.pt`` (from scratch when there is none);
            the config must equal the saved one but for :data:`RESUME_MAY_CHANGE`.
        log: receives one line per epoch and per skipped step (nothing when ``None``).
        progress: show a tqdm bar per epoch on stderr.
        on_ready: called (on the main rank) with the run folder, the resolved config and the
            data once the folder is written, before the first step (``nasx quickstart``
            starts exporting its latency profile's graphs then).

    Raises:
        NasxError: bad config, space or data (before the folder is touched), a run folder that
            cannot be used, a changed config on resume, or :class:`TrainingDivergedError`.
    """
    start_time = time.perf_counter()
    ranks = dd.ranks_from_env()
    # the run keeps an npz path absolute: later commands work from any folder
    cfg = replace(cfg, data=replace(cfg.data, name=portable_data_name(cfg.data.name)))
    cfg = resolve_recipe(cfg)
    space, splits, device = _load_inputs(cfg)
    device = dd.rank_device(device, ranks)
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    if ranks.main:
        out.parent.mkdir(parents=True, exist_ok=True)  # inputs are valid: the lock needs it
    with run_lock(out, "train") if ranks.main else contextlib.nullcontext():
        if resume and out.is_dir():
            check_resume_config(out, cfg)
            check_data_unchanged(out, cfg.data.name, splits.fingerprint)
        with dd.process_group(ranks, device):
            return _train(cfg, out, space, splits, device, ranks, overwrite=overwrite,
                          resume=resume, say=(log if log is not None and ranks.main else None),
                          progress=progress and ranks.main, start_time=start_time,
                          on_ready=on_ready if ranks.main else None)


def _prepare_run(cfg: RunConfig, out: Path, space: SearchSpace, splits: DatasetSplits,
                 monitors: list[tuple[str, Any]], *, overwrite: bool, resume: bool) -> Path:
    run_dir = prepare_run_dir(out, overwrite=overwrite, resume=resume)
    write_resolved_config(run_dir, cfg)
    write_data_record(run_dir, cfg.data.name, splits.fingerprint)
    atomic_write_text(run_dir / SPACE_FILE, dump_space_yaml(space))
    (run_dir / CHECKPOINT).parent.mkdir(exist_ok=True)
    write_archs(run_dir, monitors)
    return run_dir


def _train(cfg: RunConfig, out: Path, space: SearchSpace, splits: DatasetSplits,
           device: torch.device, ranks: dd.Ranks, *, overwrite: bool, resume: bool,
           say: Callable[[str], None] | None, progress: bool, start_time: float,
           on_ready: Callable[[Path, RunConfig, DatasetSplits], None] | None = None
           ) -> TrainResult:
    say = say or (lambda _line: None)
    t = cfg.train
    if (too_far := stride_warning(space, splits.max_length)) is not None:
        say(f"warning: {too_far}")
    if splits.val_pool is not None and len(splits.val) < splits.val_pool:
        say(f"validation on a fixed sample of {len(splits.val)} of the {splits.val_pool} "
            f"validation sequences (data.val_sample): an accuracy on it has a standard error "
            f"of up to {splits.val_noise_floor:.2f} points")
    fixed = load_arch(space, t.arch) if t.arch is not None else None
    monitors = ([(STANDALONE, fixed)] if fixed is not None
                else monitor_archs(space, cfg.seed, t.eval_random, t.op_choice))
    dd.main_first(ranks, functools.partial(_prepare_run, cfg, out, space, splits, monitors,
                                           overwrite=overwrite, resume=resume))
    run_dir = out
    if on_ready is not None:
        on_ready(run_dir, cfg, splits)

    plan = RunPlan.from_config(cfg, len(splits.train), fixed_arch=fixed)
    net = build_supernet(cfg, space, splits).to(device)
    optimizer = build_optimizer(net, t)
    scheduler = build_scheduler(optimizer, plan.total_steps, plan.warmup_steps)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    if ranks.rank > 0:  # rank 0 keeps the single-process stream; the others get their own
        torch.manual_seed(derived_seed(cfg.seed, ranks.rank, _RANK_STREAM))
    step, epoch, bad, history = 0, 0, 0, []
    ckpt_path = run_dir / CHECKPOINT
    state, _, warning = load_resume_checkpoint(ckpt_path) if resume else (None, None, "")
    if warning:
        say(f"warning: {warning}")
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(_rank_rng(state, ranks))
        step, epoch, bad = int(state["step"]), int(state["epoch"]), int(state["bad_steps"])
        history = json.loads(state["history"])
        say(f"resuming {run_dir} at epoch {epoch}/{t.epochs} (step {step})")
    if ranks.distributed:
        dd.broadcast_state(net, params=True)
    start_epoch = done = epoch
    calib = calibration_batches(splits.train, cfg.data.batch_size, t.calib_batches, cfg.seed,
                                device)
    val = splits.val.to(device)
    board = TrainBoard(run_dir, step) if ranks.main else None
    try:
        epoch_start, epoch_cpu = time.perf_counter(), time.process_time()
        losses, skipped = [], 0
        for epoch in range(start_epoch, t.epochs):
            net.train()
            batches = _epoch_batches(cfg, splits, epoch, plan.steps_per_epoch)
            bar = tqdm(batches, total=plan.steps_per_epoch, desc=f"epoch {epoch + 1}/{t.epochs}",
                       disable=not progress, leave=False, file=sys.stderr, dynamic_ncols=True)
            for batch in bar:
                eps = plan.eps(step)
                lr = optimizer.param_groups[0]["lr"]
                part = dd.shard(_augmented(cfg, batch, step), ranks)
                weight = len(part.y) / len(batch.y)  # this rank's share of the global batch
                sync = (functools.partial(dd.all_reduce_step, weight=weight)
                        if ranks.distributed else None)
                with synchronized_stats(ranks.distributed and t.sync_bn):
                    result = sandwich_step(
                        net, optimizer, part.to(device), plan.archs(space, step), eps=eps,
                        label_smoothing=t.label_smoothing, kd_temperature=t.kd_temperature,
                        grad_clip=t.grad_clip, sync=sync,
                        loss_weight=weight if ranks.distributed else 1.0)
                if ranks.distributed:
                    dd.broadcast_state(net)
                advance(scheduler)
                if board is not None:
                    board.log_step(result, lr, eps, step)
                step += 1
                if result.skipped:
                    bad, skipped = bad + 1, skipped + 1
                    say(f"step {step}: non-finite loss or gradient (loss {result.loss_largest}, "
                        f"grad norm {result.grad_norm}); step skipped")
                    if bad >= MAX_BAD_STEPS:
                        raise TrainingDivergedError(_diverged_message(step, bad, ckpt_path, epoch))
                    continue
                bad = 0
                losses.append(result.loss_largest)
                bar.set_postfix(loss=f"{result.loss_largest:.3f}", eps=f"{eps:.2f}")
            if (epoch + 1) % t.eval_every and epoch + 1 < t.epochs:
                continue  # evaluate and checkpoint every eval_every epochs, and at the end
            evals = evaluate_subnets(net, monitors, val, calib) if ranks.main else []
            rngs = dd.gather_to_main(ranks, rng_state())  # the others wait here for rank 0
            done = epoch + 1
            if ranks.main:
                assert board is not None and rngs is not None
                board.log_evals(evals, step)
                board.flush()
                entry = history_entry(epoch + 1, step, losses, skipped, evals,
                                       time.perf_counter() - epoch_start,
                                       time.process_time() - epoch_cpu)
                history.append(entry)
                save_checkpoint(ckpt_path, {
                    "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": rngs[0], "rng_ranks": rngs,
                    "step": step, "epoch": epoch + 1, "bad_steps": bad,
                    "history": json.dumps(history), "config": dump_config(cfg)})
                write_history(run_dir, history)
                say(epoch_line(entry, t.epochs))
            dd.barrier(ranks)
            epoch_start, epoch_cpu = time.perf_counter(), time.process_time()
            losses, skipped = [], 0
    finally:
        if board is not None:
            board.close()
    final = final_evals(history)
    if ranks.main and (not (run_dir / SUPERNET_FILE).is_file() or start_epoch < t.epochs):
        recalibrate_bn(net, monitors[0][1], calib)  # saved statistics: the largest subnet's
        save_supernet(net.cpu(), run_dir / SUPERNET_FILE)
    dd.barrier(ranks)
    return TrainResult(run_dir, start_epoch, done, step, final if ranks.main else [],
                       time.perf_counter() - start_time)


def _rank_rng(state: dict[str, Any], ranks: dd.Ranks) -> dict[str, Any]:
    """This rank's saved RNG states: its own when the checkpoint was written by a job of the
    same size, otherwise rank 0's (then reseeded per rank, so the resume is not bit-exact)."""
    per_rank = state.get("rng_ranks")
    if per_rank is not None and len(per_rank) == ranks.world:
        return per_rank[ranks.rank]
    if ranks.rank > 0:
        torch.manual_seed(derived_seed(int(state["step"]), ranks.rank, _RANK_STREAM))
        return {**state["rng"], "torch": torch.get_rng_state()}
    return state["rng"]


def _diverged_message(step: int, bad: int, ckpt_path: Path, epochs_done: int) -> str:
    kept = (f"{ckpt_path} keeps the state after epoch {epochs_done}" if epochs_done
            else "no checkpoint was written yet")
    return (f"training stopped at step {step}: {bad} consecutive steps had a non-finite loss "
            f"or gradient; {kept}; lower train.lr or set train.grad_clip, then --overwrite")
