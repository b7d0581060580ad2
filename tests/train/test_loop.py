"""The training recipe end to end on the tiny preset: run files, TensorBoard scalars, exact
resume after a crash, config checks on resume, and stopping after non-finite steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

from nasx.config import RunConfig, load_config
from nasx.errors import RunError
from nasx.runs.checkpoint import load_checkpoint
from nasx.search_spaces import arch_id, load_space
from nasx.train import loop
from nasx.train.loop import TrainingDivergedError, train_supernet
from nasx.train.sandwich import StepResult
from nasx.train.subnets import monitor_archs

TINY = ["space=tiny", "train.epochs=2", "train.batches_per_epoch=2", "data.batch_size=16",
        "train.delay=0.25", "train.eps_warmup=0.5", "train.calib_batches=1",
        "train.eval_random=1"]


def _cfg(*extra: str) -> RunConfig:
    return load_config(RunConfig, None, [*TINY, *extra])


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "supernet.safetensors")


def test_a_run_writes_its_files_and_scalars(tmp_path: Path) -> None:
    run = tmp_path / "run"
    lines: list[str] = []
    result = train_supernet(_cfg(), run, log=lines.append)
    assert sorted(p.name for p in run.iterdir()) == [
        ".nasx-run", "archs.json", "checkpoints", "config.yaml", "data.json", "history.json",
        "space.yaml", "supernet.safetensors", "tb"]
    assert (result.start_epoch, result.epochs, result.steps) == (0, 2, 4)
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    archs = json.loads((run / "archs.json").read_text())
    want = monitor_archs(load_space("tiny"), 0, 1, "sample")
    assert {k: v["arch"] for k, v in archs.items()} == dict(want)
    assert all(v["id"] == arch_id(v["arch"]) for v in archs.values())
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and [h["step"] for h in history] == [2, 4]
    assert [v["name"] for v in history[-1]["val"]] == ["largest", "smallest", "random-1"]
    assert [(v["accuracy"], v["loss"]) for v in history[-1]["val"]] == [
        (e.accuracy, e.loss) for e in result.final]
    ckpt = load_checkpoint(run / "checkpoints" / "last.pt")
    assert (ckpt["epoch"], ckpt["step"]) == (2, 4)
    assert json.loads(ckpt["history"]) == history
    # tb/train holds the step scalars; tb/subnets/<name> one run per subnet with shared tags
    assert sorted(p.relative_to(run / "tb").as_posix() for p in (run / "tb").glob("*/*")
                  if p.is_dir()) == ["subnets/largest", "subnets/random-1",
                                     "subnets/random-median", "subnets/smallest"]
    assert sorted(
        p.name for p in (run / "tb").iterdir()) == ["subnets", "train"]  # no run "."
    events = EventAccumulator(str(run / "tb" / "train"))
    events.Reload()
    assert set(events.Tags()["scalars"]) == {"train/loss_largest", "train/lr", "train/eps",
                                             "train/loss_distill", "train/grad_norm",
                                             "train/skipped"}
    assert events.SummaryMetadata("train/lr").summary_description == \
        "learning rate of the optimizer at this step (no unit)"
    eps = [(e.step, e.value) for e in events.Scalars("train/eps")]
    # 4 steps, delay floor(0.25 * 4) = 1, ramp 0.5 epoch = 1 step
    assert eps == [(0, 0.0), (1, 1.0), (2, 1.0), (3, 1.0)]
    for i, name in enumerate(["largest", "smallest", "random-1"]):
        sub = EventAccumulator(str(run / "tb" / "subnets" / name))
        sub.Reload()
        assert set(sub.Tags()["scalars"]) == {"val/accuracy (%)", "val/loss"}
        acc = [(e.step, e.value) for e in sub.Scalars("val/accuracy (%)")]
        assert acc == [(2, pytest.approx(100 * history[0]["val"][i]["accuracy"])),
                       (4, pytest.approx(100 * history[1]["val"][i]["accuracy"]))]
        assert sub.SummaryMetadata("val/accuracy (%)").summary_description.startswith(
            "val accuracy of the subnet after BatchNorm recalibration, % of sequences")
    median = EventAccumulator(str(run / "tb" / "subnets" / "random-median"))
    median.Reload()
    assert [e.value for e in median.Scalars("val/loss")] == pytest.approx(
        [h["val"][2]["loss"] for h in history])  # one random subnet: its own loss
    lr = [e.value for e in events.Scalars("train/lr")]
    # warm-up of 1 epoch = 2 steps, then cosine over the other 2
    assert lr == pytest.approx([1.5e-3, 3e-3, 3e-3, 1.5e-3])


def test_crash_then_resume_gives_the_weights_of_an_uninterrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = tmp_path / "full"
    train_supernet(_cfg(), full)
    crashed = tmp_path / "crashed"
    real_save = loop.save_checkpoint

    def save_then_crash(path: Path, state: dict) -> None:
        real_save(path, state)
        raise KeyboardInterrupt  # the process dies right after the first checkpoint

    monkeypatch.setattr(loop, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_supernet(_cfg(), crashed)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    assert not (crashed / "supernet.safetensors").exists()
    lines: list[str] = []
    result = train_supernet(_cfg(), crashed, resume=True, log=lines.append)
    assert lines[0] == f"resuming {crashed} at epoch 1/2 (step 2)"
    assert result.start_epoch == 1
    a, b = _weights(full), _weights(crashed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    hist_a = json.loads((full / "history.json").read_text())
    hist_b = json.loads((crashed / "history.json").read_text())
    assert [h["val"] for h in hist_a] == [h["val"] for h in hist_b]
    # the resumed curves: each step once (the redone steps purged), in the same runs
    train_ea = EventAccumulator(str(crashed / "tb" / "train"))
    train_ea.Reload()
    assert [e.step for e in train_ea.Scalars("train/eps")] == [0, 1, 2, 3]
    largest = EventAccumulator(str(crashed / "tb" / "subnets" / "largest"))
    largest.Reload()
    assert [(e.step, e.value) for e in largest.Scalars("val/accuracy (%)")] == [
        (h["step"], pytest.approx(100 * h["val"][0]["accuracy"])) for h in hist_b]
    files = sorted((crashed / "tb").rglob("events.out.tfevents.*"))
    # a finished run resumes to nothing, and leaves no events file without events
    again = train_supernet(_cfg(), crashed, resume=True)
    assert (again.start_epoch, again.epochs) == (2, 2)
    assert sorted((crashed / "tb").rglob("events.out.tfevents.*")) == files
    assert all(any(e.summary.value for e in EventFileLoader(str(f)).Load()) for f in files)


def test_resume_refuses_a_changed_config(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_supernet(_cfg("train.epochs=1"), run)
    with pytest.raises(RunError) as err:
        train_supernet(_cfg("train.epochs=1", "train.lr=0.1"), run, resume=True)
    assert str(err.value) == (
        f"--resume continues '{run}' with its saved config, but 'train.lr' is 0.1 here and "
        "0.003 there; drop that override, or start a new run (--out) or --overwrite")


def test_three_non_finite_steps_stop_the_run_and_keep_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_step = loop.sandwich_step
    calls = {"n": 0}

    def nan_from_step_2(*args, **kwargs) -> StepResult:
        calls["n"] += 1
        if calls["n"] >= 2:  # what sandwich_step reports for a NaN loss: nothing changed
            return StepResult(float("nan"), skipped=True)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "sandwich_step", nan_from_step_2)
    run = tmp_path / "run"
    lines: list[str] = []
    with pytest.raises(TrainingDivergedError) as err:
        train_supernet(_cfg("train.epochs=3"), run, log=lines.append)
    ckpt = run / "checkpoints" / "last.pt"
    assert str(err.value) == (
        f"training stopped at step 4: 3 consecutive steps had a non-finite loss or gradient; "
        f"{ckpt} keeps the state after epoch 1; lower train.lr or set train.grad_clip, "
        "then --overwrite")
    assert [line for line in lines if "skipped" in line] == [
        f"step {s}: non-finite loss or gradient (loss nan, grad norm nan); step skipped"
        for s in (2, 3, 4)]
    state = load_checkpoint(ckpt)
    assert (state["epoch"], state["step"], state["bad_steps"]) == (1, 2, 1)
    assert json.loads(state["history"])[0]["skipped_steps"] == 1
    assert not (run / "supernet.safetensors").exists()


def test_no_checkpoint_yet_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.setattr(loop, "sandwich_step",
                        lambda *a, **k: StepResult(float("inf"), skipped=True))
    with pytest.raises(TrainingDivergedError, match="; no checkpoint was written yet; "):
        train_supernet(_cfg("train.batches_per_epoch=4"), tmp_path / "run")


def test_evaluating_less_often_trains_the_same_weights(tmp_path: Path) -> None:
    every = train_supernet(_cfg("train.epochs=4", "train.eval_every=1"), tmp_path / "a")
    sparse = train_supernet(_cfg("train.epochs=4", "train.eval_every=3"), tmp_path / "b")
    assert (every.epochs, sparse.epochs, every.steps, sparse.steps) == (4, 4, 8, 8)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    history = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [(h["epoch"], h["step"]) for h in history] == [(3, 6), (4, 8)]
    assert load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["epoch"] == 4


def test_on_ready_sees_the_written_folder_before_the_first_step(tmp_path: Path) -> None:
    run = tmp_path / "run"
    seen: list[tuple[Path, list[str], int, int]] = []

    def ready(run_dir: Path, cfg: RunConfig, splits) -> None:  # type: ignore[no-untyped-def]
        seen.append((run_dir, sorted(p.name for p in run_dir.iterdir()),
                     cfg.train.calib_batches, splits.channels))

    train_supernet(_cfg(), run, on_ready=ready)
    assert seen == [(run, [".nasx-run", "archs.json", "checkpoints", "config.yaml", "data.json",
                           "space.yaml"], 1, 12)]  # resolved config; no step taken yet
