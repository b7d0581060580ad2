"""tools/bench_recipe.py: variant parsing, and one tiny variant trained alone and scored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from tool_loader import load_tool

from nasx.config import RunConfig, dump_config, load_config
from nasx.runs import layout
from nasx.search_spaces import load_space, smallest_arch


def test_variants_parse_and_bad_ones_name_the_fix() -> None:
    parse = load_tool("bench_recipe").parse_variant
    assert parse("base:") == ("base", [])
    assert parse("crop8:data.augment.crop=0.8,seed=3") == (
        "crop8", ["data.augment.crop=0.8", "seed=3"])
    with pytest.raises(argparse.ArgumentTypeError,
                       match=r"^--variant 'crop8': expected NAME:KEY=VALUE,\.\.\. "):
        parse("crop8")
    with pytest.raises(argparse.ArgumentTypeError,
                       match=r"^--variant 'x:crop': 'crop' is not KEY=VALUE$"):
        parse("x:crop")


def test_a_variant_is_trained_alone_scored_and_reused(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(RunConfig, None, ["space=tiny", "train.epochs=1",
                                        "train.batches_per_epoch=2", "train.calib_batches=1"])
    config = tmp_path / "config.yaml"
    config.write_text(dump_config(cfg))
    arch = tmp_path / "small.arch.json"
    arch.write_text(json.dumps(smallest_arch(load_space("tiny"))))
    bench = load_tool("bench_recipe")
    argv = ["--config", str(config), "--arch", str(arch), "--out", str(tmp_path / "out"),
            "--seeds", "0", "--variant", "noaug:data.augment.scale=0,data.augment.noise=0"]
    assert bench.main(argv) == 0
    run = tmp_path / "out" / "noaug-s0"
    assert (run / layout.SUPERNET_FILE).is_file()
    first = capsys.readouterr().out.splitlines()[-1]
    assert first.startswith("| noaug | data.augment.scale=0 data.augment.noise=0 | ")
    stamp = (run / layout.SUPERNET_FILE).stat().st_mtime_ns
    assert bench.main(argv) == 0  # reused: not trained again, same scores
    assert (run / layout.SUPERNET_FILE).stat().st_mtime_ns == stamp
    again = capsys.readouterr().out.splitlines()[-1]
    assert again.rsplit("|", 2)[0] == first.rsplit("|", 2)[0]  # all but the seconds
