"""The smaller points of issue 20 (item 8), each checked on real output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasx.cli import main
from nasx.predictors import CostModel, load_device
from nasx.search_spaces import load_space, random_arch


def test_devices_show_keeps_a_long_sram_region_apart_from_its_size(
        capsys: pytest.CaptureFixture[str]) -> None:
    # before: "sram dtcm+sram1+sram2327,680 B  <- activations"
    assert main(["devices", "show", "stm32f746"]) == 0
    lines = capsys.readouterr().out.splitlines()
    i = lines.index("  sram dtcm+sram1+sram2")
    assert lines[i + 1] == f"  {'':<16}327,680 B  <- activations"


def test_cost_names_the_layers_with_unsupported_bit_widths(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: "some layers use bit-widths stm32f746 does not run"
    from nasx.cli.cost_cmd import unsupported_layers

    space, device = load_space("tiny"), load_device("stm32f746")
    model = CostModel(space, 12, 9, length=29, device=device)
    rng = np.random.default_rng(0)
    arch = next(a for a in (random_arch(space, rng) for _ in range(500))
                if not model.cost(a).supported)
    layers = unsupported_layers(model.schedule(arch), device)
    assert layers and all(": lstm weights at 4 bits (it runs 8, 32)" in x for x in layers)
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(arch))
    assert main(["cost", "--space", "tiny", "--arch", str(path), "--device", "stm32f746"]) == 0
    out = capsys.readouterr().out
    assert f"  bits       stm32f746 does not run {'; '.join(layers)} (see `nasx devices show " \
           "stm32f746`)\n" in out


def test_quickstart_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quickstart", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("run folder (default: runs/quickstart)", "report (default: 5)",
                    "predictor (default: 60)", "fitted on (default: 100)",
                    "round (default: 4000)", "default: auto)",
                    "default: japanese- vowels)"):
        assert default in text, default


@pytest.mark.parametrize(("argv", "hint"), [
    (["train", "--out", "runs/a", "--overwrite", "seed=1"],
     "continue from the last checkpoint with: nasx train --out runs/a seed=1 --resume"),
    (["quickstart", "--resume"], "continue from the last checkpoint with: nasx quickstart "
                                 "--resume"),
    (["predictor", "fit", "--run", "runs/a"], "run the same command again: what was measured "
                                              "is kept and reused"),
    (["search", "--run", "runs/a", "--device", "h100"],
     "nothing was written; run the same command again"),
])
def test_interrupted_says_how_to_continue(argv: list[str], hint: str,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # before: "nasx: interrupted" and nothing else
    import nasx.cli as cli

    real = cli.build_parser

    def interrupting_parser() -> object:
        parser = real()
        args_of = parser.parse_known_args

        def parse_known_args(words):  # noqa: ANN001, ANN202
            args, extra = args_of(words)

            def interrupt(_args: object) -> int:
                raise KeyboardInterrupt

            args.func = interrupt
            return args, extra

        parser.parse_known_args = parse_known_args
        return parser

    monkeypatch.setattr(cli, "build_parser", interrupting_parser)
    assert main(argv) == 130
    assert capsys.readouterr().err == f"nasx: interrupted; {hint}\n"


def test_a_stride_longer_than_the_data_is_warned_about(tmp_path: Path, write_npz: object,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # tiny reaches a total stride of 2: sequences of one step are shorter
    rng = np.random.default_rng(0)
    data = write_npz("short.npz", X=rng.standard_normal((12, 2, 1)), y=np.arange(12) % 2)
    assert main(["train", "--out", str(tmp_path / "run"), "--space", "tiny",
                 f"data.name=npz:{data}", "train.epochs=1", "train.batches_per_epoch=1",
                 "data.batch_size=4", "train.calib_batches=1", "train.eval_random=1"]) == 0
    out = capsys.readouterr().out
    assert ("warning: subnets of space tiny reach a total stride of 2, more than the data's "
            "longest sequence (1 steps): their last strided stages see a single step; use a "
            "space with smaller strides for this data\n") in out
    assert main(["train", "--out", str(tmp_path / "jv"), "--space", "tiny", "train.epochs=1",
                 "train.batches_per_epoch=1", "train.calib_batches=1",
                 "train.eval_random=1"]) == 0
    assert "total stride" not in capsys.readouterr().out  # JapaneseVowels: 29 steps
