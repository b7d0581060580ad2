"""``nasx data list`` and ``nasx data show``, in-process and once as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasx.cli import main
from nasx.config import RunConfig, load_config
from nasx.data import bundled_classification_names, load_dataset

JV_TABLE = """\
dataset     japanese-vowels
channels    12
classes     9: 1, 2, 3, 4, 5, 6, 7, 8, 9
normalized  per channel, mean/std of train
val split   stratified by class
val noise   54 sequences: an accuracy on them has a standard error of up to 6.80 points

split    n  len min  len median  len max
train  216        7          15       26
val     54        9          16       23
test   370        7          15       29

class  train  val  test
1         24    6    31
2         24    6    35
3         24    6    88
4         24    6    44
5         24    6    29
6         24    6    24
7         24    6    40
8         24    6    50
9         24    6    29
"""


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_table(capsys):
    assert _run(capsys, "data", "show", "japanese-vowels") == (0, JV_TABLE, "")


def test_show_defaults_to_the_config_dataset(capsys):
    assert _run(capsys, "data", "show") == (0, JV_TABLE, "")


def test_show_json_is_the_summary(capsys):
    code, out, err = _run(
        capsys, "data", "show", "ucr:ArrowHead", "--format", "json", "--seed", "2"
    )
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert summary == load_dataset("ucr:ArrowHead", seed=2).summary()
    assert [summary["splits"][s]["n"] for s in ("train", "val", "test")] == [
        30,
        6,
        175,
    ]  # 12 per class: 2 to val


def test_flags_and_overrides_in_any_order(capsys):
    code, out, _ = _run(
        capsys, "data", "show", "--format", "json", "data.val_fraction=0.5", "--val-fraction", "0.1"
    )
    assert code == 0
    assert json.loads(out)["splits"]["val"]["class_counts"] == {str(c): 3 for c in range(1, 10)}
    code, out, _ = _run(capsys, "data", "show", "--format", "json", "data.val_fraction=0.5")
    assert json.loads(out)["splits"]["val"]["n"] == 135


def test_print_config_reads_back(capsys, tmp_path):
    code, out, err = _run(
        capsys,
        "data",
        "show",
        "ucr:GunPoint",
        "--print-config",
        "seed=5",
        "--seed",
        "7",
        "data.batch_size=8",
    )
    assert (code, err) == (0, "")
    path = tmp_path / "printed.yaml"
    path.write_text(out)
    expected = load_config(
        RunConfig, None, ["seed=7", "data.name=ucr:GunPoint", "data.batch_size=8"]
    )
    assert load_config(RunConfig, path, []) == expected


def test_config_file_is_used(capsys, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("seed: 3\ndata:\n  name: ucr:GunPoint\n  val_fraction: 0.5\n")
    code, out, _ = _run(capsys, "data", "show", "--config", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out) == load_dataset("ucr:GunPoint", seed=3, val_fraction=0.5).summary()


def test_list_table(capsys):
    code, out, err = _run(capsys, "data", "list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "dataset names:"
    assert lines[1].startswith("  japanese-vowels  (default) UEA JapaneseVowels")
    assert lines[2].startswith("  ucr:<Name>       ")
    assert lines[3].startswith("  npz:<path>       ")
    assert lines[4].startswith("  npy:<folder>     your own data too large for memory")
    assert lines[5:] == [
        "bundled with aeon (use as ucr:<Name>):",
        "  " + ", ".join(bundled_classification_names()),
    ]


def test_list_json(capsys):
    code, out, _ = _run(capsys, "data", "list", "--format", "json")
    listing = json.loads(out)
    assert code == 0
    assert [e["name"] for e in listing["registry"]] == [
        "japanese-vowels",
        "ucr:<Name>",
        "npz:<path>",
        "npy:<folder>",
    ]
    assert listing["bundled"] == list(bundled_classification_names())


def test_malformed_npz(capsys, write_npz):
    path = write_npz(X=np.zeros((4, 2, 3)), y=np.array([0, 1, 0]))
    assert _run(capsys, "data", "show", f"npz:{path}") == (
        2,
        "",
        f"nasx: error: npz file '{path}': y has 3 labels but X has 4 samples; "
        "save one label per sample\n",
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["mnist"],
            "unknown dataset 'mnist'; use japanese-vowels, ucr:<Name> (see 'nasx data list'), "
            "npz:<path> or npy:<folder>",
        ),
        (["seed=abc"], "config key 'seed' expects int, got 'abc' (str)"),
        (
            ["data.val_frac=0.3"],
            "unknown config key 'data.val_frac' (valid keys under 'data': augment, batch_size, "
            "name, normalize, val_fraction, val_sample, workers)",
        ),
        (["--val-fraction", "1.5"], "config key 'data.val_fraction' must be in (0, 1), got 1.5"),
        (
            ["japanese-vowels", "ucr:OSULeaf"],
            "give one dataset name, got 'japanese-vowels', 'ucr:OSULeaf' (overrides are key=value)",
        ),
        (["--config", "missing.yaml"], "config file 'missing.yaml' not found"),
    ],
)
def test_errors_exit_2_with_one_line(capsys, argv, message):
    assert _run(capsys, "data", "show", *argv) == (2, "", f"nasx: error: {message}\n")


def test_real_process_exit_code():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "nasx", "data", "show", "japanese-vowels"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, JV_TABLE, "")


def test_a_fixed_validation_sample_and_its_noise_floor(capsys):
    code, out, _ = _run(capsys, "data", "show", "data.val_sample=25", "--format", "json")
    summary = json.loads(out)
    assert code == 0 and summary["splits"]["val"]["n"] == 25
    assert summary["val_sample"] == {"n": 25, "of": 54, "noise_floor_points": 10.0}  # 50/5
    whole = load_dataset("japanese-vowels", seed=0)
    sample = load_dataset("japanese-vowels", seed=0, val_sample=25)
    assert sample.train.x.equal(whole.train.x)  # training is untouched
    rows = {tuple(r.ravel().tolist()) for r in whole.val.x}
    assert all(tuple(r.ravel().tolist()) in rows for r in sample.val.x)
    again = load_dataset("japanese-vowels", seed=0, val_sample=25)
    assert again.val.x.equal(sample.val.x)  # fixed: the same sample every time
    assert not load_dataset("japanese-vowels", seed=1, val_sample=25).val.x.equal(sample.val.x)
    _, text, _ = _run(capsys, "data", "show", "data.val_sample=25")
    assert ("val noise   25 sequences (a fixed sample of 54): an accuracy on them has a "
            "standard error of up to 10.00 points") in text
