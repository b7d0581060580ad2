"""The ``gru`` op (issue 19: a block type added as one op module): extract equals the
supernet, streaming equals the whole sequence, every export format agrees (the C runtime's
``nasx_gru`` included, built with the host's cc and for a Cortex-M7), and the analytic cost
equals the independent counts on the extracted module and the C runtime's arena (the checks
are in :mod:`op_helpers`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from op_helpers import (
    C_CASES,
    check_c_runtime,
    check_cortex_m7,
    check_cost_on_50_archs,
    check_export_round_trip,
    check_extract_on_100_archs,
    check_graph_formats,
    check_onnx_step_graph,
    check_runtime_arena,
    check_streaming,
    op_space,
    skip_without,
    two_stage_arch,
)

from nasx.export.mcu.cortex_m7 import missing_tools
from nasx.predictors.latency.features import FEATURE_NAMES, unit_vector
from nasx.search_spaces import SearchSpace


def gru_space(causal: bool = False) -> SearchSpace:
    """``tiny`` with ``gru`` allowed in both stages and drawn 3x as often as each other op."""
    return op_space("gru", {"hidden": [0.5, 1.0]}, causal)


def gru_arch(space: SearchSpace, wbits: int = 32, abits: int = 32) -> dict[str, Any]:
    """Stem + two stages (the second strided by 2) of one GRU block each (hidden 1.0, 0.5)."""
    return two_stage_arch(space, [{"op": "gru", "hidden": h} for h in (1.0, 0.5)], wbits, abits)


def test_extract_equals_supernet_on_100_random_archs() -> None:
    check_extract_on_100_archs(gru_space(), "gru")


@pytest.mark.parametrize("bits", [32, 8])
def test_export_and_safetensors_round_trip_equal_the_supernet(bits: int) -> None:
    space = gru_space()
    tensors = check_export_round_trip(space, gru_arch(space, bits, bits))
    assert tensors["stages.0.blocks.0.hh.weight" if bits == 32 else
                   "stages.0.blocks.0.hh.weight_i8"].shape == (48, 16)  # (3H, H)


def test_streaming_equals_whole_sequence_at_every_step() -> None:
    space = gru_space(causal=True)
    state = check_streaming(space, gru_arch(space))  # stage 2 runs on every other frame
    assert state["stages.1.blocks.0.h"].shape == (1, 2, 12)


def test_pt2_and_onnx_match_the_supernet_at_other_lengths(tmp_path: Path) -> None:
    space = gru_space()
    check_graph_formats(tmp_path, space, gru_arch(space))


def test_onnx_step_graph_equals_whole_sequence(tmp_path: Path) -> None:
    space = gru_space(causal=True)
    check_onnx_step_graph(tmp_path, space, gru_arch(space))


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on PATH")
@pytest.mark.parametrize(("causal", "wbits", "abits"), C_CASES)
def test_c_runtime_matches_the_torch_module(tmp_path: Path, causal: bool, wbits: int,
                                            abits: int) -> None:
    space = gru_space(causal=causal)
    check_c_runtime(tmp_path, space, gru_arch(space, wbits, abits), "nasx_gru")


@skip_without(missing_tools, "Cortex-M7 checks")
def test_cortex_m7_logits_equal_the_host_build(tmp_path: Path) -> None:
    space = gru_space()
    check_cortex_m7(tmp_path, space, gru_arch(space, 8, 8))  # the int8 input gates and proj


def test_cost_model_sram_is_the_runtime_arena_with_gru_blocks() -> None:
    check_runtime_arena(gru_space(), "gru")


@pytest.mark.parametrize("mode", ["whole-sequence", "streaming"])
def test_cost_equals_the_module_counts_on_50_archs(mode: str) -> None:
    check_cost_on_50_archs(gru_space(causal=True), mode)


def test_latency_features_of_a_gru_unit() -> None:
    # W = 16, H = 8, 8-bit weights, float activations, 10 steps
    v = dict(zip(FEATURE_NAMES, unit_vector(("gru", 16, 8, 8, 32), 10), strict=True))
    numel = 3 * 8 * (16 + 8) + 8 * 16
    assert v["gru.count"] == 1 and v["gru.wq"] == 1 and v["gru.aq"] == 0
    assert v["gru.macs"] == numel * 10 / 1e6 and v["gru.wq_numel"] == numel / 1e3
    assert v["gru.elems"] == (2 * 16 + 4 * 8) * 10 / 1e3 and v["gru.steps"] == 10
    assert sum(abs(x) for k, x in v.items() if not k.startswith("gru.")) == 0
