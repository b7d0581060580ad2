"""The ``mamba`` op (issue 19: a selective SSM added as an op module): extract equals the
supernet, streaming equals the whole sequence, every export format agrees (pt2 and ONNX with
the scan as a while_loop, the C runtime's ``nasx_mamba`` built with the host's cc and for a
Cortex-M7), and the analytic cost equals the independent counts on the extracted module and
the C runtime's arena (the checks are in :mod:`op_helpers`)."""

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
    exported,
    op_space,
    skip_without,
    two_stage_arch,
    warmed,
)

from nasx.export.c_header import c_header
from nasx.export.mcu.cortex_m7 import missing_tools
from nasx.export.verify import check_c_header
from nasx.predictors.latency.features import FEATURE_NAMES, unit_vector
from nasx.search_spaces import SearchSpace


def mamba_space(causal: bool = False) -> SearchSpace:
    """``tiny`` with ``mamba`` allowed in both stages and drawn 3x as often as each other op."""
    return op_space("mamba", {"state": [4, 8], "expand": [1, 2]}, causal)


def mamba_arch(space: SearchSpace, wbits: int = 32, abits: int = 32) -> dict[str, Any]:
    """Stem + two stages (the second strided by 2) of one mamba block each: ``N = 8, E = 2W``
    (E 32, dt rank 1), then ``N = 4, E = W`` (E 24, dt rank 2)."""
    blocks = [{"op": "mamba", "state": n, "expand": e} for n, e in ((8, 2), (4, 1))]
    return two_stage_arch(space, blocks, wbits, abits)


def test_extract_equals_supernet_on_100_random_archs() -> None:
    check_extract_on_100_archs(mamba_space(), "mamba")


@pytest.mark.parametrize("bits", [32, 8])
def test_export_and_safetensors_round_trip_equal_the_supernet(bits: int) -> None:
    space = mamba_space()
    tensors = check_export_round_trip(space, mamba_arch(space, bits, bits))
    assert tensors["stages.0.blocks.0.in_proj.weight" if bits == 32 else
                   "stages.0.blocks.0.in_proj.weight_i8"].shape == (64, 16)  # (2E, W)
    assert tensors["stages.0.blocks.0.x_proj"].shape == (1 + 2 * 8, 32)  # (R + 2N, E), fp32
    assert tensors["stages.1.blocks.0.dt_w"].shape == (24, 2)  # (E, R): R = ceil(24 / 16)


def test_streaming_equals_whole_sequence_at_every_step() -> None:
    space = mamba_space(causal=True)
    state = check_streaming(space, mamba_arch(space))  # stage 2 runs on every other frame
    assert state["stages.1.blocks.0.h"].shape == (2, 24, 4)  # (B, E, N)
    assert state["stages.1.blocks.0.window"].shape == (2, 24, 3)  # (B, E, K - 1)


def test_pt2_and_onnx_match_the_supernet_at_other_lengths(tmp_path: Path) -> None:
    space = mamba_space()
    check_graph_formats(tmp_path, space, mamba_arch(space))


def test_onnx_step_graph_equals_whole_sequence(tmp_path: Path) -> None:
    space = mamba_space(causal=True)
    check_onnx_step_graph(tmp_path, space, mamba_arch(space))


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on PATH")
@pytest.mark.parametrize(("causal", "wbits", "abits"), C_CASES)
def test_c_runtime_matches_the_torch_module(tmp_path: Path, causal: bool, wbits: int,
                                            abits: int) -> None:
    space = mamba_space(causal=causal)
    check_c_runtime(tmp_path, space, mamba_arch(space, wbits, abits), "nasx_mamba")


def test_c_header_holds_every_tensor_and_the_deployed_a() -> None:
    space = mamba_space()
    arch = mamba_arch(space)
    ex = exported(warmed(space, [arch]), arch)
    text = c_header(ex, max_length=19)
    check = check_c_header(text, ex)
    assert check.passed and check.max_abs_diff == 0.0, check
    assert "_stages_0_blocks_0_A[" in text  # the deployed -exp(A_log), not A_log
    assert "_stages_0_blocks_0_A_log[" not in text


@skip_without(missing_tools, "Cortex-M7 checks")
def test_cortex_m7_logits_equal_the_host_build(tmp_path: Path) -> None:
    space = mamba_space()
    check_cortex_m7(tmp_path, space, mamba_arch(space, 8, 8))  # int8 projections, float scan


def test_cost_model_sram_is_the_runtime_arena_with_mamba_blocks() -> None:
    check_runtime_arena(mamba_space(), "mamba")


@pytest.mark.parametrize("mode", ["whole-sequence", "streaming"])
def test_cost_equals_the_module_counts_on_50_archs(mode: str) -> None:
    check_cost_on_50_archs(mamba_space(causal=True), mode)


def test_latency_features_of_a_mamba_unit() -> None:
    # W = 16, E = 32, N = 8 (dt rank 1), 8-bit weights, float activations, 10 steps
    v = dict(zip(FEATURE_NAMES, unit_vector(("mamba", 16, 32, 8, 8, 32), 10), strict=True))
    numel = 3 * 16 * 32  # in_proj + out_proj: the quantized weights
    mix = 32 * (4 + 2 * 1 + 2 * 8 + 4 * 8 + 3)  # conv, x_proj, dt_proj, scan per step
    assert v["mamba.count"] == 1 and v["mamba.wq"] == 1 and v["mamba.aq"] == 0
    assert v["mamba.macs"] == (numel + mix) * 10 / 1e6 and v["mamba.wq_numel"] == numel / 1e3
    assert v["mamba.elems"] == (2 * 16 + 5 * 32) * 10 / 1e3 and v["mamba.steps"] == 10
    assert v["mamba.scan"] == 32 * 8 * 10 / 1e3
    assert sum(abs(x) for k, x in v.items() if not k.startswith("mamba.")) == 0
