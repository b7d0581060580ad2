"""The op registry (issue 19): one module per op, and no other code names an op."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from nasx.export import export_static, spec_for
from nasx.ops import OP_MODULES, OPS, get_op, hooks_of, op_of
from nasx.search_spaces import (
    OP_CHOICE_KEYS,
    OP_TYPES,
    load_space,
    smallest_arch,
    space_from_dict,
    space_to_dict,
)
from nasx.supernet import Supernet

ROOT = Path(__file__).resolve().parents[2]
HOOKS = ("to_export", "read", "blocker", "stream_state", "stream_step", "graph_state",
         "graph_step", "c_rows", "c_arrays")
# The one line outside nasx/ops where an op's name is written: the device op classes
# (predictors/devices/*.yaml efficiency keys), a different vocabulary that shares "conv",
# "lstm" and "ssm", written once and used everywhere else by name (CONV, LSTM, ...).
DEVICE_CLASS_LINES = {"predictors/devices/profile.py": 1}


def test_registry_order_is_the_op_order_everywhere() -> None:
    assert tuple(OPS) == OP_MODULES == OP_TYPES
    assert {k: v.choice_keys for k, v in OPS.items()} == OP_CHOICE_KEYS


@pytest.mark.parametrize("name", OP_MODULES)
def test_op_module_declares_everything(name: str) -> None:
    op = get_op(name)
    assert op.name == name
    assert set(op.choice_keys) <= set(op.yaml_keys) == set(op.defaults)
    assert set(op.kernel_keys) <= set(op.choice_keys)
    for what in ("elastic", "static", "export"):
        assert issubclass(op.load(what), nn.Module), what
    for what in ("steps", "c_emit", "c_emit_step"):
        assert callable(op.load(what)), what
    hooks = op.load("hooks")
    assert [h for h in HOOKS if not callable(getattr(hooks, h, None))] == []


def test_unknown_op_lookup_names_the_known_ops() -> None:
    with pytest.raises(KeyError,
                       match="unknown op 'tcn' \\(known: conv, lstm, ssm, attn, gru, mamba\\)"):
        get_op("tcn")


def test_every_block_maps_back_to_its_op() -> None:
    raw = space_to_dict(load_space("tiny"))
    for st in raw["stages"]:
        st["ops"] = list(OP_MODULES)
    space = space_from_dict(raw)
    torch.manual_seed(0)
    net = Supernet(space, 3, 2).eval()
    for name in OP_MODULES:
        spec = space.ops[name]
        arch = smallest_arch(space)
        for st in arch["stages"]:
            st["blocks"] = [{"op": name, **{k: getattr(spec, k)[0] for k in OPS[name].choice_keys},
                             "wbits": 32, "abits": 32} for _ in st["blocks"]]
        with torch.no_grad():
            net.train()(torch.randn(2, 3, 12), arch=arch)  # every quantizer sees a range
        static = net.eval().extract(copy.deepcopy(arch)).eval()
        exported = export_static(static, spec_for(space, static.arch, 3, 2))
        elastic = net.slots[0][0][name]
        assert op_of(elastic) is op_of(static.stages[0].blocks[0]) is OPS[name]
        assert op_of(exported.stages[0].blocks[0]) is OPS[name]
        assert hooks_of(exported.stages[0].blocks[0]) is OPS[name].load("hooks")
    with pytest.raises(TypeError, match="Linear is no op's block"):
        op_of(nn.Linear(2, 2))


def op_literal_lines(text: str) -> list[str]:
    """The lines of ``text`` that write an op's name as a string literal."""
    names = "|".join(re.escape(n) for n in OPS)
    pattern = re.compile(rf"[\"']({names})[\"']")
    return [ln for ln in text.splitlines() if pattern.search(ln)]


def test_the_op_literal_check_finds_each_op() -> None:
    text = "\n".join([*(f"if b['op'] == {n!r}:" for n in OP_MODULES), 'x = f("{n}.conv")',
                      'k = "convbn"', "OPS[\"gru\"]", "# an lstm block"])
    assert op_literal_lines(text) == [*(f"if b['op'] == {n!r}:" for n in OP_MODULES),
                                      "OPS[\"gru\"]"]


def test_no_op_name_literal_outside_the_op_modules() -> None:
    found: dict[str, int] = {}
    for folder in ("nasx", "search_spaces", "predictors", "kernels", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("nasx/ops/"):
                continue
            lines = op_literal_lines(path.read_text())
            if lines:
                found[rel] = len(lines)
    assert found == DEVICE_CLASS_LINES


def test_op_weight_classes_are_device_weight_classes() -> None:
    from nasx.predictors.devices.profile import WEIGHT_OP_CLASSES

    assert {n: [c for c in op.weight_classes if c not in WEIGHT_OP_CLASSES]
            for n, op in OPS.items()} == {n: [] for n in OPS}


def test_c_runtime_buffers_are_an_op_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    # every op has a C kernel and declares its arena words
    assert [n for n, op in OPS.items() if op.c_words is None] == []
    from nasx.predictors import CostModel, load_device
    from nasx.predictors.cost.runtime_memory import FLOAT_ACT, WORD

    raw = space_to_dict(load_space("tiny"))
    for st in raw["stages"]:
        st["ops"] = list(OP_MODULES)
    space = space_from_dict(raw)
    mcu = CostModel(space, 3, 2, length=20, device=load_device("stm32f746"))
    # lstm, W = 16, H = 8, float, L = 20: cur + t1, t1 + gates + cur (the peak: 1280 words),
    # gates + out + hc + cur (1136), out + cur
    lstm = mcu.unit_summary(("lstm", 16, 8, 32, 32), FLOAT_ACT, 20)
    assert lstm.peak == WORD * (20 * 16 + 20 * 4 * 8 + 20 * 16)
    # an op without a C kernel (c_words None) keeps the schedule's peak (its largest step)
    monkeypatch.setitem(OPS, "mamba", dataclasses.replace(OPS["mamba"], c_words=None))
    mcu = CostModel(space, 3, 2, length=20, device=load_device("stm32f746"))
    unit = ("mamba", 16, 16, 8, 8, 8)
    steps = mcu._unit_steps(unit, FLOAT_ACT, 20, "")
    assert mcu.unit_summary(unit, FLOAT_ACT, 20).peak == max(s.live_bytes for s in steps)
