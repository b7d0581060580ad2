"""The op registry (issue 19): one module per op, and no other code names an op."""

from __future__ import annotations

import copy
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
# Files where an op's name is a *device* op class (predictors/devices/*.yaml efficiencies and
# bit-width support), a different vocabulary that happens to share "conv" and "lstm", or a
# docstring example; with how many lines each.
# predictors/cost/runtime_memory.py (the C runtime's buffers per op, from issue 17) still branches
# on op names: it belongs in a per-op hook, which is open work.
DEVICE_CLASS_LINES = {"predictors/cost/model.py": 1, "predictors/devices/profile.py": 1,
                      "predictors/devices/registry.py": 1, "predictors/cost/schedule.py": 5,
                      "search_spaces/arch.py": 2,
                      "predictors/cost/runtime_memory.py": 3}


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
    with pytest.raises(KeyError, match="unknown op 'tcn' \\(known: conv, lstm, ssm, attn, gru"):
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


def test_no_op_name_literal_outside_the_op_modules() -> None:
    names = "|".join(re.escape(n) for n in OPS)
    pattern = re.compile(rf"[\"']({names})[\"']")
    found: dict[str, int] = {}
    for folder in ("nasx", "search_spaces", "predictors", "kernels", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("nasx/ops/"):
                continue
            lines = [ln for ln in path.read_text().splitlines() if pattern.search(ln)]
            if lines:
                found[rel] = len(lines)
    assert found == DEVICE_CLASS_LINES
