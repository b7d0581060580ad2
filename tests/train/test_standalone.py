"""Standalone training (``train.arch``): one subnet trained alone on the labels, through the
supernet's own training loop, as the baseline of the one-shot comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nasx.cli import main
from nasx.config import RunConfig, load_config
from nasx.data import load_dataset
from nasx.errors import ArchError
from nasx.recipe import resolve_recipe
from nasx.runs.trained import build_supernet
from nasx.search_spaces import arch_id, canonical_arch, load_space, random_arch
from nasx.train.loop import train_supernet
from nasx.train.plan import RunPlan

TINY = ["space=tiny", "train.epochs=2", "train.batches_per_epoch=2", "data.batch_size=16",
        "train.calib_batches=1"]


@pytest.fixture
def arch_file(tmp_path: Path) -> tuple[Path, dict]:
    space = load_space("tiny")
    arch = canonical_arch(space, random_arch(space, np.random.default_rng(4)))
    path = tmp_path / "arch.json"
    path.write_text(json.dumps({"id": arch_id(arch), "arch": arch}))
    return path, arch


def test_the_plan_trains_only_the_fixed_arch(arch_file: tuple[Path, dict]) -> None:
    _, arch = arch_file
    cfg = resolve_recipe(load_config(RunConfig, None, TINY))
    plan = RunPlan.from_config(cfg, 216, fixed_arch=arch)
    assert all(plan.archs(load_space("tiny"), step) == [("standalone", arch)]
               for step in (0, 1, 50, 400))


def test_a_standalone_run_trains_one_subnet_and_evaluates_it(
        tmp_path: Path, arch_file: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    path, arch = arch_file
    run = tmp_path / "run"
    lines: list[str] = []
    cfg = load_config(RunConfig, None, [*TINY, f"train.arch={path}"])
    result = train_supernet(cfg, run, log=lines.append)
    assert [e.name for e in result.final] == ["standalone"]
    assert lines[-1].startswith("epoch 2/2  step 4  loss ")
    assert " val acc standalone " in lines[-1]
    assert json.loads((run / "archs.json").read_text()) == {
        "standalone": {"id": arch_id(arch), "arch": arch}}
    # Only the arch's weights moved: the slot modules of ops it does not use are untouched.
    init = build_supernet(cfg, load_space("tiny"), load_dataset("japanese-vowels"))
    final = load_file(run / "supernet.safetensors")
    used = {(i, j, b["op"]) for i, st in enumerate(arch["stages"])
            for j, b in enumerate(st["blocks"])}
    for name, p in init.named_parameters():
        if name.startswith("slots."):
            i, j, op = name.split(".")[1:4]
            assert torch.equal(final[name], p.detach()) != ((int(i), int(j), op) in used), name

    assert main(["eval", "--run", str(run), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["id"]) for r in rows] == [("standalone", arch_id(arch))]
    assert rows[0]["accuracy"] == pytest.approx(result.final[0].accuracy)
    assert main(["eval", "--run", str(run), "--arch", "largest"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"nasx: error: --arch largest: '{run}' trained one subnet standalone (train.arch); "
        "evaluate it with --arch standalone")


def test_a_bad_arch_file_stops_before_the_run_folder_exists(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"stem": {}}')
    cfg = load_config(RunConfig, None, [*TINY, f"train.arch={bad}"])
    with pytest.raises(ArchError, match=f"^{bad}: "):
        train_supernet(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
