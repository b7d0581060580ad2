"""Config machinery: defaults <- YAML file <- overrides, type checks, ranges, dumping."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from nasx.config import (
    DataConfig,
    RunConfig,
    TrainConfig,
    at_least,
    checked,
    config_to_dict,
    dump_config,
    load_config,
    validate_config,
)
from nasx.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    widths: list[int] = field(default_factory=lambda: [16, 24])
    ratios: list[float] = field(default_factory=lambda: [0.5])
    mode: Literal["fast", "slow"] = "fast"
    limit: float | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Outer:
    steps: int = checked(10, at_least(1))
    names: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=lambda: Inner(mode="slow"))


def _error(cls, path=None, overrides=()) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(cls, path, list(overrides))
    return str(err.value)


def test_defaults():
    cfg = load_config(RunConfig, None, [])
    assert cfg == RunConfig(seed=0, space="auto", data=DataConfig())
    assert cfg.data == DataConfig("japanese-vowels", 0.2, "auto", "auto")
    assert (cfg.train.epochs, cfg.train.eps_warmup, cfg.train.eval_every) == ("auto",) * 3
    assert (cfg.data.augment.crop, cfg.data.augment.scale, cfg.data.augment.noise) == ("auto",) * 3


def test_file_then_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("seed: 3\ndata:\n  batch_size: 8\n  val_fraction: 0.3\n")
    cfg = load_config(RunConfig, path, ["data.val_fraction=0.1", "space=tiny"])
    assert cfg == RunConfig(seed=3, space="tiny", data=DataConfig(val_fraction=0.1, batch_size=8))


def test_later_overrides_win_and_sections_merge():
    cfg = load_config(RunConfig, None, ["seed=1", "seed=2", "data={name: x, batch_size: 4}"])
    assert (cfg.seed, cfg.data.name, cfg.data.batch_size) == (2, "x", 4)
    assert cfg.data.val_fraction == 0.2


def test_int_widens_to_float():
    cfg = load_config(RunConfig, None, ["data.val_fraction=1e-1"])  # YAML 1.1 reads a str
    assert cfg.data.val_fraction == 0.1
    assert load_config(Outer, None, ["inner.ratios=[2E-1, 1]"]).inner.ratios == [0.2, 1.0]
    cfg = load_config(Outer, None, ["inner.limit=3"])
    assert cfg.inner.limit == 3.0 and isinstance(cfg.inner.limit, float)


def test_str_field_takes_the_override_text_as_written():
    cfg = load_config(RunConfig, None, ["space=123", "data.name=npz:/data/x.npz"])
    assert (cfg.space, cfg.data.name) == ("123", "npz:/data/x.npz")


def test_optional_literal_and_list_types():
    cfg = load_config(
        Outer,
        None,
        ["inner.widths=[8, 32]", "inner.ratios=[1, 0.25]", "inner.mode=fast", "names=[a, b]"],
    )
    assert cfg.inner == Inner(widths=[8, 32], ratios=[1.0, 0.25], mode="fast")
    assert cfg.names == ["a", "b"]
    assert load_config(Outer, None, ["inner.tag=null"]).inner.tag is None
    assert load_config(Outer, None, ["inner.tag=v1"]).inner.tag == "v1"
    assert load_config(Outer, None, []).inner.mode == "slow"  # the parent's default factory


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=abc", "config key 'seed' expects int, got 'abc' (str)"),
        ("seed=1.5", "config key 'seed' expects int, got 1.5 (float)"),
        ("seed=true", "config key 'seed' expects int, got True (bool)"),
        ("data.normalize=1", "config key 'data.normalize' expects one of 'auto', 'channel', "
         "'series', 'none' or bool, got 1 (int)"),
        ("train.epochs=lots", "config key 'train.epochs' expects one of 'auto' or int, "
         "got 'lots' (str)"),
        ("data.val_fraction=x", "config key 'data.val_fraction' expects float, got 'x' (str)"),
        ("data=3", "config key 'data' expects a mapping, got 3 (int)"),
    ],
)
def test_wrong_types(override, message):
    assert _error(RunConfig, overrides=[override]) == message


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "inner.mode=medium",
            "config key 'inner.mode' expects one of 'fast', 'slow', got 'medium' (str)",
        ),
        (
            "inner.widths=[8, x]",
            "config key 'inner.widths' expects a list of int, got [8, 'x'] (list)",
        ),
        ("inner.widths=8", "config key 'inner.widths' expects a list of int, got 8 (int)"),
        ("inner.limit=big", "config key 'inner.limit' expects float or null, got 'big' (str)"),
    ],
)
def test_wrong_types_of_generic_fields(override, message):
    assert _error(Outer, overrides=[override]) == message


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "data.val_frac=0.3",
            "unknown config key 'data.val_frac' (valid keys under 'data': "
            "augment, batch_size, name, normalize, val_fraction, val_sample, workers)",
        ),
        ("sed=1", "unknown config key 'sed' (valid keys: data, refit, seed, space, train)"),
        ("seed.x=1", "unknown config key 'seed.x' ('seed' is int, not a section)"),
        (
            "data={batch: 3}",
            "unknown config key 'data.batch' (valid keys under 'data': "
            "augment, batch_size, name, normalize, val_fraction, val_sample, workers)",
        ),
    ],
)
def test_unknown_keys(override, message):
    assert _error(RunConfig, overrides=[override]) == message


@pytest.mark.parametrize("override", ["seed", "=3", " =3"])
def test_malformed_override(override):
    assert _error(RunConfig, overrides=[override]) == (
        f"override '{override}' is not key=value (e.g. seed=1)"
    )


def test_ranges_from_field_metadata():
    assert _error(RunConfig, overrides=["data.val_fraction=1.5"]) == (
        "config key 'data.val_fraction' must be in (0, 1), got 1.5"
    )
    assert _error(RunConfig, overrides=["data.val_fraction=0"]) == (
        "config key 'data.val_fraction' must be in (0, 1), got 0.0"
    )
    assert _error(RunConfig, overrides=["data.batch_size=0"]) == (
        "config key 'data.batch_size' must be auto or >= 1, got 0"
    )
    assert _error(RunConfig, overrides=["seed=-1"]) == "config key 'seed' must be >= 0, got -1"
    with pytest.raises(ConfigError, match=r"^config key 'steps' must be >= 1, got 0$"):
        validate_config(Outer(steps=0))


def test_file_errors(tmp_path):
    missing = tmp_path / "missing.yaml"
    assert _error(RunConfig, missing) == f"config file '{missing}' not found"
    broken = tmp_path / "broken.yaml"
    broken.write_text("seed: 1\ndata:\n  name: [a\n")
    assert _error(RunConfig, broken).startswith(f"config file '{broken}' is not valid YAML (line ")
    bad_indent = tmp_path / "indent.yaml"
    bad_indent.write_text("seed: 1\n  space: x\n")
    assert _error(RunConfig, bad_indent) == (
        f"config file '{bad_indent}' is not valid YAML "
        "(line 2: mapping values are not allowed here)"
    )
    listing = tmp_path / "list.yaml"
    listing.write_text("- seed\n- 1\n")
    assert _error(RunConfig, listing) == (
        f"config file '{listing}' must be a mapping of config keys (e.g. 'seed: 1'), got a list"
    )


def test_errors_inside_a_file_name_the_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("data:\n  val_frac: 0.3\n")
    assert _error(RunConfig, path) == (
        "unknown config key 'data.val_frac' (valid keys under 'data': augment, batch_size, name, "
        f"normalize, val_fraction, val_sample, workers) in config file '{path}'"
    )
    path.write_text("seed: abc\n")
    assert _error(RunConfig, path) == (
        f"config key 'seed' expects int, got 'abc' (str) in config file '{path}'"
    )
    path.write_text("space: 123\n")  # no override text to fall back on in a file
    assert _error(RunConfig, path) == (
        f"config key 'space' expects str, got 123 (int) in config file '{path}'"
    )


def test_empty_file_is_the_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing set\n")
    assert load_config(RunConfig, path, []) == RunConfig()


def test_dump_is_yaml_in_field_order_and_reads_back(tmp_path):
    cfg = load_config(RunConfig, None, ["seed=4", "data.name=npz:/tmp/a b.npz"])
    text = dump_config(cfg)
    assert text == (
        "seed: 4\nspace: auto\ndata:\n  name: npz:/tmp/a b.npz\n  val_fraction: 0.2\n"
        "  normalize: auto\n  batch_size: auto\n  augment:\n    crop: auto\n    scale: auto\n"
        "    noise: auto\n  val_sample: null\n  workers: 0\ntrain:\n  epochs: auto\n  lr: 0.003\n"
        "  weight_decay: 0.01\n  optimizer: adamw\n  warmup_epochs: 1.0\n  grad_clip: 1.0\n"
        "  label_smoothing: 0.1\n  num_random: 2\n  kd_temperature: 1.0\n  delay: 0.25\n"
        "  eps_warmup: auto\n  shrink: deps\n  op_choice: sample\n  eval_random: 3\n"
        "  eval_every: auto\n  calib_batches: auto\n  batches_per_epoch: null\n  device: cpu\n"
        "  threads: 1\n  sync_bn: true\n  arch: null\n"
        "refit:\n  steps: auto\n  lr: 0.001\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert load_config(RunConfig, path, []) == cfg


def test_lists_dump_on_one_line_and_round_trip(tmp_path):
    cfg = load_config(Outer, None, ["inner.widths=[8, 32]", "names=[a]"])
    text = dump_config(cfg)
    assert "widths: [8, 32]\n" in text and "names: [a]\n" in text
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert load_config(Outer, path, []) == cfg


def test_config_to_dict():
    assert config_to_dict(RunConfig()) == {
        "seed": 0,
        "space": "auto",
        "data": {
            "name": "japanese-vowels",
            "val_fraction": 0.2,
            "normalize": "auto",
            "batch_size": "auto",
            "augment": {"crop": "auto", "scale": "auto", "noise": "auto"},
            "val_sample": None,
            "workers": 0,
        },
        "train": config_to_dict(TrainConfig()),
        "refit": {"steps": "auto", "lr": 0.001},
    }
    assert list(config_to_dict(Outer())) == ["steps", "names", "inner"]
    assert yaml.safe_load(dump_config(Outer())) == config_to_dict(Outer())


def test_train_defaults_and_overrides():
    cfg = load_config(RunConfig, None, ["train.shrink=sandwich", "train.lr=1e-3",
                                        "train.batches_per_epoch=2"])
    assert cfg.train == TrainConfig(shrink="sandwich", lr=0.001, batches_per_epoch=2)
    assert TrainConfig() == TrainConfig(
        epochs="auto", lr=3e-3, weight_decay=0.01, optimizer="adamw", warmup_epochs=1.0,
        grad_clip=1.0, label_smoothing=0.1, num_random=2, kd_temperature=1.0, delay=0.25,
        eps_warmup="auto", shrink="deps", op_choice="sample", eval_random=3, eval_every="auto",
        calib_batches="auto",
        batches_per_epoch=None, device="cpu", threads=1, sync_bn=True, arch=None,
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.delay=1", "config key 'train.delay' must be in [0, 1), got 1.0"),
        ("train.lr=0", "config key 'train.lr' must be > 0, got 0.0"),
        ("train.kd_temperature=-1", "config key 'train.kd_temperature' must be > 0, got -1.0"),
        ("train.batches_per_epoch=0",
         "config key 'train.batches_per_epoch' must be null or >= 1, got 0"),
        ("train.shrink=ofa",
         "config key 'train.shrink' expects one of 'deps', 'sandwich', 'progressive', "
         "got 'ofa' (str)"),
        ("train.label_smoothing=1",
         "config key 'train.label_smoothing' must be in [0, 1), got 1.0"),
        ("train.calib_batches=-1",
         "config key 'train.calib_batches' must be auto or >= 0, got -1"),
        ("train.epochs=0", "config key 'train.epochs' must be auto or >= 1, got 0"),
    ],
)
def test_train_ranges(override, message):
    assert _error(RunConfig, overrides=[override]) == message
