"""`nasx space` and `nasx quickstart` through the CLI: outputs, exit statuses, one-line errors,
and that bad input never touches an existing run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nasx.cli import main
from nasx.errors import NasxError
from nasx.search_spaces import arch_id, canonical_arch, load_space, random_arch, space_to_dict
from nasx.supernet.io import load_supernet, save_supernet


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _space_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return str(path)


GOOD = """name: s
stem: {width: [8]}
stages:
  - {depth: [1], width: [8], ops: [conv]}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: s\nstem: {width: [8]\n", "invalid YAML at line 3: "),
        (
            GOOD.replace("[conv]", "[conv, tcn]"),
            "stages[0].ops: unknown op 'tcn' (allowed: conv, lstm, ssm, attn, gru, mamba)",
        ),
        (
            GOOD.replace("width: [8]}\nstages", "width: []}\nstages"),
            "stem.width: empty choice list (give at least one integers >= 1)",
        ),
        (
            GOOD + "ops: {conv: {kernel: [2]}}\n",
            "ops.conv.kernel: 2 is not allowed (allowed: odd integers >= 1)",
        ),
    ],
)
def test_bad_space_files_exit_2_with_one_line(
    capsys, tmp_path: Path, text: str, message: str
) -> None:
    path = _space_file(tmp_path, text)
    code, out, err = _run(capsys, "space", "show", path)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"nasx: error: {path}: {message}")


def test_space_show_counts_subnets(capsys) -> None:
    code, out, _ = _run(capsys, "space", "show", "tiny")
    assert code == 0
    assert "  subnets   259,392,430,080 (2.59e+11)\n" in out
    assert "  stage 1   depth 1, 2 | width 16, 24 | stride 1, 2 | ops conv, ssm, attn\n" in out
    code, out, _ = _run(capsys, "space", "show", "tiny", "--format", "json")
    data = json.loads(out)
    assert (data["subnets"], data["genome_length"], data["space"]["name"]) == (
        259392430080,
        53,
        "tiny",
    )
    code, out, _ = _run(capsys, "space", "show", "hybrid-mcu", "--format", "yaml")
    assert yaml.safe_load(out)["stem"]["width"] == [8, 16, 24]


def test_space_sample_prints_valid_reproducible_json_lines(capsys) -> None:
    space = load_space("hybrid-mcu")
    _, out, _ = _run(capsys, "space", "sample", "hybrid-mcu", "--random", "4", "--seed", "9")
    lines = [json.loads(line) for line in out.splitlines()]
    rng = np.random.default_rng(9)
    assert [d["arch"] for d in lines] == [random_arch(space, rng) for _ in range(4)]
    assert all(d["id"] == arch_id(canonical_arch(space, d["arch"])) for d in lines)
    _, out, _ = _run(capsys, "space", "sample", "tiny", "--largest")
    assert json.loads(out)["arch"]["stem"]["width"] == 16
    code, _, err = _run(capsys, "space", "sample", "tiny", "--random", "0")
    assert (code, err) == (2, "nasx: error: --random 0: give a count of at least 1\n")
    code, _, err = _run(capsys, "space", "sample", "tiny", "--seed", "-1")
    assert code == 2 and err.count("\n") == 1
    assert "argument --seed: invalid seed '-1': give an integer >= 0" in err


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    cmd = f"{sys.executable} -m nasx space sample tiny --random 3000 | head -1"
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False)
    assert json.loads(done.stdout)["id"]
    assert done.stderr == ""


def test_sampled_lines_load_as_arch_files(capsys, tmp_path: Path) -> None:
    _, out, _ = _run(capsys, "space", "sample", "tiny", "--smallest")
    path = tmp_path / "a.json"
    path.write_text(out)
    from nasx.search_spaces import load_arch

    assert arch_id(load_arch(load_space("tiny"), path)) == json.loads(out)["id"]
    path.write_text(json.dumps({"arch": {"stem": {}, "stages": []}}))
    with pytest.raises(NasxError) as info:
        load_arch(load_space("tiny"), path)
    assert str(info.value) == f"{path}: stem.width: missing (allowed: 8, 16)"


# A quickstart short enough for a test: 1 epoch of 2 batches on the tiny space, training only.
FAST = ("--until", "train", "space=tiny", "train.epochs=1", "train.batches_per_epoch=2")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_quickstart_trains_reports_and_checks_subnets(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    code, out, err = _run(capsys, "quickstart", "--out", str(out_dir), "--archs", "2", "seed=3",
                          *FAST)
    assert (code, err) == (0, "")
    assert "extracted subnets match the supernet on the validation split" in out
    assert out.splitlines()[-1] == f"tensorboard --logdir {out_dir / 'tb'}"
    assert {".nasx-run", "config.yaml", "data.json", "space.yaml", "supernet.safetensors",
            "archs.json", "history.json", "checkpoints", "tb"} == \
        {p.name for p in out_dir.iterdir()}
    assert not list(out_dir.parent.glob(".*nasx-lock"))  # the lock is gone with the command
    written = yaml.safe_load((out_dir / "config.yaml").read_text())
    assert written["seed"] == 3 and written["space"] == "tiny"
    assert written["train"]["epochs"] == 1 and written["train"]["batches_per_epoch"] == 2
    space = load_space(out_dir / "space.yaml")
    assert space_to_dict(space) == space_to_dict(load_space("tiny"))
    net = load_supernet(out_dir / "supernet.safetensors", space)
    assert (net.in_channels, net.num_classes) == (12, 9)
    # rows: largest, smallest, 2 random, each with an id from archs.json and within 1e-5
    archs = json.loads((out_dir / "archs.json").read_text())
    rows = [line for line in out.splitlines() if line.startswith(("largest", "smallest", "random"))]
    assert [r.split()[0] for r in rows] == ["largest", "smallest", "random-1", "random-2"]
    for r in rows:
        name, ident, params, val_acc, test_acc, diff = r.split()[:6]
        assert ident == archs[name]["id"]
        assert int(params.replace(",", "")) > 0 and float(diff) <= 1e-5
        assert 0 <= float(val_acc) <= 1 and 0 <= float(test_acc) <= 1


def test_existing_run_folder_is_never_overwritten_silently(capsys, tmp_path: Path) -> None:
    out_dir = tmp_path / "run"
    assert _run(capsys, "quickstart", "--out", str(out_dir), "--archs", "0", *FAST)[0] == 0
    before = _files(out_dir)
    code, out, err = _run(capsys, "quickstart", "--out", str(out_dir), *FAST)
    assert (code, out) == (2, "")
    assert err == (
        f"nasx: error: run folder '{out_dir}' already exists; pass --resume to "
        "continue it or --overwrite to replace it\n"
    )
    assert _files(out_dir) == before
    # --resume of a finished run reads its saved config (no overrides needed), trains nothing
    # more and keeps the weights
    code, out, _ = _run(capsys, "quickstart", "--out", str(out_dir), "--resume", "--archs", "0",
                        "--until", "train")
    assert code == 0
    assert (out_dir / "supernet.safetensors").read_bytes() == before["supernet.safetensors"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["seed=abc"], "config key 'seed' expects int, got 'abc' (str)"),
        (
            ["data.colour=1"],
            "unknown config key 'data.colour' (valid keys under 'data': "
            "augment, batch_size, name, normalize, val_fraction, val_sample, workers)",
        ),
        (
            ["space=nope"],
            "unknown search space 'nope' (presets: hybrid-gpu, hybrid-long, hybrid-mcu, tiny; "
            "or give a path to a .yaml file)",
        ),
    ],
)
def test_bad_input_exits_2_and_leaves_earlier_results(
    capsys, tmp_path: Path, overrides: list, message: str
) -> None:
    out_dir = tmp_path / "run"
    assert _run(capsys, "quickstart", "--out", str(out_dir), "--archs", "0", *FAST)[0] == 0
    before = _files(out_dir)
    code, out, err = _run(capsys, "quickstart", "--out", str(out_dir), "--overwrite", *FAST,
                          *overrides)
    assert (code, out, err) == (2, "", f"nasx: error: {message}\n")
    assert _files(out_dir) == before


def test_malformed_npz_and_bad_space_file_exit_2_without_a_run_folder(
    capsys, tmp_path: Path, write_npz
) -> None:
    bad = write_npz("bad.npz", X=np.zeros((4, 2, 5)), y=np.zeros(3))
    out_dir = tmp_path / "never"
    code, _, err = _run(capsys, "quickstart", "--out", str(out_dir), f"data.name=npz:{bad}")
    assert code == 2 and err.startswith("nasx: error: npz file ") and err.count("\n") == 1
    space = _space_file(tmp_path, GOOD.replace("[conv]", "[]"))
    code, _, err = _run(capsys, "quickstart", "--out", str(out_dir), f"space={space}")
    assert (code, err) == (
        2,
        f"nasx: error: {space}: stages[0].ops: empty choice list "
        "(allowed: conv, lstm, ssm, attn, gru, mamba)\n",
    )
    assert not out_dir.exists()


def test_supernet_file_round_trip_and_corrupt_files(tmp_path: Path) -> None:
    from nasx.supernet import Supernet

    space = load_space("tiny")
    net = Supernet(space, 5, 3)
    path = tmp_path / "w.safetensors"
    save_supernet(net, path)
    again = load_supernet(path, space)
    assert all(
        torch_equal(a, b)
        for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True)
    )
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(NasxError, match=r"w.safetensors: not a readable safetensors file \("):
        load_supernet(path, space)
    save_supernet(net, path)
    with pytest.raises(NasxError) as info:
        load_supernet(path, load_space("hybrid-mcu"))
    assert str(info.value) == (
        f"{path}: weights do not fit the search space 'hybrid-mcu' "
        "(saved for 'tiny'); use the space.yaml saved with them"
    )


def torch_equal(a, b) -> bool:
    import torch

    return torch.equal(a, b)
