"""The refit of a chosen subnet on train + val (nasx.train.refit) and its export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tiny_run import TINY_TRAIN

from nasx.cli import main
from nasx.config import RunConfig, load_config
from nasx.errors import RunError
from nasx.export.metrics import accuracy, batched_logits
from nasx.recipe import AUGMENT_BELOW, REFIT_STEPS, DataProfile, resolve_recipe
from nasx.runs.readers import read_run_config
from nasx.runs.trained import load_trained_run
from nasx.train.refit import refit_path, refit_subnet, train_and_val
from nasx.train.run_eval import resolve_arch_specs

STEPS = 6


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run whose config refits for a few steps."""
    run = tmp_path_factory.mktemp("refit") / "run"
    assert main(["train", "--out", str(run), *TINY_TRAIN, f"refit.steps={STEPS}"]) == 0
    return run


def _profile(n_train: int) -> DataProfile:
    return DataProfile(n_train=n_train, channels=3, median_length=30.0, normalization="channel")


def test_the_recipe_refits_small_training_splits_only_and_keeps_a_set_value():
    small = resolve_recipe(RunConfig(), _profile(AUGMENT_BELOW))
    large = resolve_recipe(RunConfig(), _profile(AUGMENT_BELOW + 1))
    assert (small.refit.steps, large.refit.steps) == (REFIT_STEPS, 0)
    mine = load_config(RunConfig, None, ["refit.steps=7", "refit.lr=0.01"])
    assert resolve_recipe(mine, _profile(10)).refit == mine.refit


def test_train_and_val_pads_both_to_the_longer_length(run_dir: Path):
    run = load_trained_run(run_dir)
    tr, va = run.splits.train, run.splits.val
    both = train_and_val(tr, va)
    assert len(both) == len(tr) + len(va)
    assert both.max_length == max(tr.max_length, va.max_length)
    assert torch.equal(both.x[len(tr):, :, :va.max_length], va.x)
    assert torch.equal(both.y, torch.cat([tr.y, va.y]))


def test_a_refit_trains_the_subnet_leaves_the_supernet_and_is_reused(run_dir: Path):
    run = load_trained_run(run_dir)
    ((_, arch),) = resolve_arch_specs(run, ["largest"])
    before = {k: v.clone() for k, v in run.net.state_dict().items()}
    said: list[str] = []
    first = refit_subnet(run, arch, said.append)
    assert said == [f"  refit: {STEPS} steps on train + val "
                    f"({len(run.splits.train) + len(run.splits.val)} sequences)"]
    assert not first.reused and first.path == refit_path(run_dir, arch) and first.path.is_file()
    after = run.net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the supernet is untouched
    extracted = run.net.extract(arch).state_dict()
    moved = [k for k, v in first.net.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, extracted[k])]
    assert moved  # fine-tuning changed weights
    again = refit_subnet(run, arch, said.append)
    assert again.reused and len(said) == 1
    for k, v in first.net.state_dict().items():
        assert torch.equal(v, again.net.state_dict()[k])


def test_a_refit_is_deterministic_and_redone_when_its_settings_change(run_dir: Path,
                                                                       tmp_path: Path):
    run = load_trained_run(run_dir)
    ((_, arch),) = resolve_arch_specs(run, ["smallest"])
    run.net.dropout.p = 0.5  # the head's dropout draws from torch's global generator
    torch.manual_seed(1)
    a = refit_subnet(run, arch, lambda _line: None)
    other = run.__class__(**{**run.__dict__, "run_dir": tmp_path})  # same run, another folder
    torch.manual_seed(2)  # whatever ran before a refit does not change it
    state = torch.get_rng_state()
    b = refit_subnet(other, arch, lambda _line: None)
    assert torch.equal(torch.get_rng_state(), state)  # and the caller's generator is left as is
    for k, v in a.net.state_dict().items():
        assert torch.equal(v, b.net.state_dict()[k]), k
    cfg = run.cfg.__class__(**{**run.cfg.__dict__,
                               "refit": run.cfg.refit.__class__(steps=STEPS, lr=0.5)})
    changed = run.__class__(**{**run.__dict__, "cfg": cfg})
    c = refit_subnet(changed, arch, lambda _line: None)
    assert not c.reused
    assert any(not torch.equal(v, c.net.state_dict()[k]) for k, v in a.net.state_dict().items()
               if v.is_floating_point())


def test_a_damaged_refit_file_is_a_one_line_error(run_dir: Path, tmp_path: Path):
    run = load_trained_run(run_dir)
    ((_, arch),) = resolve_arch_specs(run, ["random:1"])
    other = run.__class__(**{**run.__dict__, "run_dir": tmp_path})
    path = refit_path(tmp_path, arch)
    path.parent.mkdir()
    path.write_bytes(b"\x00" * 5)
    with pytest.raises(RunError, match=r"not a readable refit file .*; delete it and export "
                                       r"again to refit the subnet$"):
        refit_subnet(other, arch, lambda _line: None)


def test_the_export_holds_the_refit_and_says_so(run_dir: Path,
                                                capsys: pytest.CaptureFixture[str]):
    assert main(["export", "--run", str(run_dir), "--pick", "largest", "--format",
                 "torch,onnx"]) == 0
    out = capsys.readouterr().out
    folder = next((run_dir / "exports").iterdir())
    m = json.loads((folder / "metrics.json").read_text())
    assert m["refit"]["steps"] == STEPS and m["refit"]["trained_on"] == "train+val"
    assert m["accuracy"]["val_held_out"] is False
    run = load_trained_run(run_dir)
    ((_, arch),) = resolve_arch_specs(run, ["largest"])
    refit = refit_subnet(run, arch, lambda _line: None)
    assert refit.reused  # the export made it; this reads it back
    test = run.splits.test
    assert m["accuracy"]["test"] == pytest.approx(accuracy(batched_logits(refit.net, test),
                                                           test.y), abs=1 / len(test))
    assert (f"after a refit of {STEPS} steps on train + val" in out
            and "verify onnx" in out)


def test_refit_steps_zero_exports_the_supernet_weights(tmp_path: Path):
    run_dir = tmp_path / "run"
    assert main(["train", "--out", str(run_dir), *TINY_TRAIN, "refit.steps=0"]) == 0
    assert read_run_config(run_dir).refit.steps == 0
    assert main(["export", "--run", str(run_dir), "--pick", "smallest", "--format",
                 "torch"]) == 0
    m = json.loads(next((run_dir / "exports").iterdir()).joinpath("metrics.json").read_text())
    assert m["refit"] is None and m["accuracy"]["val_held_out"] is True
    assert m["accuracy"]["supernet_test"] == pytest.approx(m["accuracy"]["test"], abs=0.01)
    assert not (run_dir / "refit").exists()


def test_a_refit_file_with_foreign_tensors_is_a_one_line_error(run_dir: Path, tmp_path: Path):
    from safetensors.torch import save

    from nasx.train.refit import _settings

    run = load_trained_run(run_dir)
    ((_, arch),) = resolve_arch_specs(run, ["largest"])
    other = run.__class__(**{**run.__dict__, "run_dir": tmp_path})
    path = refit_path(tmp_path, arch)
    path.parent.mkdir()
    path.write_bytes(save({"w": torch.zeros(2)}, metadata=_settings(other, arch)))
    with pytest.raises(RunError, match=r"its tensors do not fit subnet [0-9a-f]{12}; delete it "
                                       r"and export again to refit the subnet$"):
        refit_subnet(other, arch, lambda _line: None)
