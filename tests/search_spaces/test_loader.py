"""Search-space YAML: presets, round trips and the exact one-line validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nasx.errors import SpaceError
from nasx.search_spaces import load_space, preset_names, space_from_dict, space_to_dict

MINIMAL = {
    "name": "m",
    "stem": {"width": [8], "kernel": [3], "stride": [1]},
    "stages": [{"depth": [1, 2], "width": [8, 16], "stride": 1, "ops": ["conv", "attn"]}],
}


def test_presets_are_listed_and_load() -> None:
    assert preset_names() == ["hybrid-gpu", "hybrid-long", "hybrid-mcu", "tiny"]
    mcu = load_space("hybrid-mcu")
    assert mcu.stem.width == (8, 16, 24)
    assert [s.width for s in mcu.stages] == [(16, 24, 32), (32, 48, 64)]
    assert mcu.quant.weight_bits == (4, 8, 32)
    assert mcu.ops["conv"].kernel_transform is True
    gpu = load_space("hybrid-gpu")
    assert min(gpu.stem.width) == 64 and max(s.width[-1] for s in gpu.stages) == 256


def test_round_trip_through_dict_and_yaml(tmp_path: Path) -> None:
    for name in preset_names():
        space = load_space(name)
        again = space_from_dict(space_to_dict(space), space.source)
        assert again == space
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(space_to_dict(space)))
        assert space_to_dict(load_space(path)) == space_to_dict(space)


def test_defaults_fill_unmentioned_ops_and_sort_choices() -> None:
    raw = {**MINIMAL, "stem": {"width": [16, 8], "kernel": 5}}
    space = space_from_dict(raw)
    assert space.stem.width == (8, 16) and space.stem.kernel == (5,) and space.stem.stride == (1,)
    assert set(space.ops) == {"conv", "attn"}
    assert space.ops["attn"].heads == (1, 2, 4) and space.ops["attn"].head_dim == 16
    assert space.quant.weight_bits == (32,) and space.causal is False


def _err(raw: object, source: str = "s.yaml") -> str:
    with pytest.raises(SpaceError) as info:
        space_from_dict(raw, source)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"colour": 1},
            "s.yaml: colour: unknown key (allowed: name, causal, stem, stages, ops, "
            "quant, head, sampling)",
        ),
        (
            {"stages": [{"depth": [1], "width": [8], "ops": ["conv", "tcn"]}]},
            "s.yaml: stages[0].ops: unknown op 'tcn' (allowed: conv, lstm, ssm, attn, gru, mamba)",
        ),
        (
            {"stages": [{"depth": [], "width": [8], "ops": ["conv"]}]},
            "s.yaml: stages[0].depth: empty choice list (give at least one integers >= 1)",
        ),
        (
            {"stages": [{"depth": [1], "width": [8], "ops": []}]},
            "s.yaml: stages[0].ops: empty choice list (allowed: conv, lstm, ssm, attn, gru, mamba)",
        ),
        (
            {"stem": {"width": [8], "kernel": [4]}},
            "s.yaml: stem.kernel: 4 is not allowed (allowed: odd integers >= 1)",
        ),
        (
            {"stem": {"width": [8, True]}},
            "s.yaml: stem.width: True is not an integer (allowed: integers >= 1)",
        ),
        ({"stem": {"width": [8, 8]}}, "s.yaml: stem.width: duplicate choices in [8, 8]"),
        ({"stages": []}, "s.yaml: stages: expected a non-empty list of stages"),
        (
            {"quant": {"weight_bits": [1, 8]}},
            "s.yaml: quant.weight_bits: 1 is not allowed (allowed: 2..16, or 32 for float)",
        ),
        (
            {"ops": {"attn": {"head_dim": [8, 16]}}},
            "s.yaml: ops.attn.head_dim: must be a single integer (heads are elastic, not head_dim)",
        ),
        (
            {"ops": {"conv": {"kernels": [3]}}},
            "s.yaml: ops.conv.kernels: unknown key (allowed: kernel, expand, kernel_transform)",
        ),
        ({"head": {"pool": "max"}}, "s.yaml: head.pool: 'max' is not allowed (allowed: mean)"),
        ({"causal": "yes"}, "s.yaml: causal: 'yes' is not a boolean (allowed: true, false)"),
        (
            {"ops": {"lstm": {"hidden": ["big"]}}},
            "s.yaml: ops.lstm.hidden: 'big' is not a number (allowed: numbers in (0, 64])",
        ),
    ],
)
def test_validation_errors_name_file_key_and_allowed_values(patch: dict, message: str) -> None:
    assert _err({**MINIMAL, **patch}) == message


def test_missing_required_key() -> None:
    raw = dict(MINIMAL)
    del raw["stem"]
    assert _err(raw) == "s.yaml: stem: missing required key"
    assert _err([1, 2]) == (
        "s.yaml: : expected a mapping with keys name, causal, stem, stages, "
        "ops, quant, head, sampling"
    )


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nstem: {width: [8\n")
    with pytest.raises(SpaceError, match=r"bad.yaml: invalid YAML at line 3: "):
        load_space(bad)
    with pytest.raises(SpaceError) as info:
        load_space("nope")
    assert str(info.value) == (
        "unknown search space 'nope' (presets: hybrid-gpu, hybrid-long, hybrid-mcu, tiny; "
        "or give a path to a .yaml file)"
    )
    with pytest.raises(SpaceError, match=r"missing.yaml: search-space file not found"):
        load_space(tmp_path / "missing.yaml")
