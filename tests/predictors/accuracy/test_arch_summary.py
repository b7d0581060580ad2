"""Whole-arch summary features: a vectorised computation checked against a plain per-arch
walk over decoded archs of every preset, and the columns a space keeps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasx.ops import OP_MODULES
from nasx.predictors.accuracy.arch_summary import ArchSummary
from nasx.search_spaces import GenomeCodec, load_space, random_arch

PRESETS = ["tiny", "hybrid-mcu", "hybrid-long", "hybrid-gpu"]


def reference(space, arch: dict) -> dict[str, float]:
    """Every summary quantity of one decoded arch, walked block by block."""
    out: dict[str, float] = {}
    cum, rf = arch["stem"]["stride"], arch["stem"]["kernel"]
    units = [(arch["stem"]["wbits"], arch["stem"]["abits"])]
    runs: dict[str, list[float]] = {op: [] for op in OP_MODULES}
    for i, (st, a) in enumerate(zip(space.stages, arch["stages"], strict=True)):
        rf += ((3 if max(st.stride) > 1 else 1) - 1) * cum
        cum *= a["stride"]
        out[f"summary.log2_stride[stages[{i}]]"] = math.log2(cum)
        units.append((a["wbits"], a["abits"]))
        for b in a["blocks"][: a["depth"]]:
            runs[b["op"]].append(math.log2(cum))
            if b["op"] == "conv":
                rf += (b["kernel"] - 1) * cum
            units.append((b["wbits"], b["abits"]))
    out["summary.log2_receptive_field"] = math.log2(rf)
    out["summary.blocks"] = sum(len(v) for v in runs.values())
    out["summary.global_blocks"] = out["summary.blocks"] - len(runs["conv"])
    for op, v in runs.items():
        out[f"summary.blocks[{op}]"] = len(v)
        out[f"summary.log2_stride[{op}]"] = sum(v) / len(v) if v else 0.0
    for b in space.quant.weight_bits:
        out[f"summary.units[wbits={b}]"] = sum(w == b for w, _ in units)
    for b in space.quant.act_bits:
        out[f"summary.units[abits={b}]"] = sum(x == b for _, x in units)
    out["summary.log2_min_wbits"] = math.log2(min(w for w, _ in units))
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_matches_a_per_arch_walk(preset: str) -> None:
    space = load_space(preset)
    codec = GenomeCodec(space)
    summary = ArchSummary(codec)
    rng = np.random.default_rng(1)
    archs = [random_arch(space, rng) for _ in range(300)]
    x = summary.transform(np.stack([codec.encode(a) for a in archs]))  # (300, K)
    assert x.shape == (300, len(summary.names))
    for row, arch in zip(x, archs, strict=True):
        want = reference(space, codec.decode(codec.encode(arch)))
        assert dict(zip(summary.names, row.tolist(), strict=True)) == pytest.approx(
            {n: want[n] for n in summary.names})


def test_hybrid_long_columns_and_largest_arch() -> None:
    from nasx.search_spaces import largest_arch, smallest_arch

    space = load_space("hybrid-long")
    codec = GenomeCodec(space)
    summary = ArchSummary(codec)
    assert len(summary.names) == 19 and summary.names[:3] == [  # blocks, stride per op (5)
        "summary.log2_stride[stages[0]]", "summary.log2_stride[stages[1]]",
        "summary.log2_receptive_field"]
    x = summary.transform(np.stack([codec.encode(largest_arch(space)),
                                    codec.encode(smallest_arch(space))]))
    got = [dict(zip(summary.names, r.tolist(), strict=True)) for r in x]
    # Largest: stem stride 2 x stage strides 1, 2 -> 4. Receptive field: stem kernel 9; stage 0
    # entry kernel 3 at stride 2 (+4) and two conv kernels 9 at 2 (+16 each); stage 1 entry at 2
    # (+4), then three conv kernels 9 at 4 (+32 each) -> 145.
    assert got[0]["summary.log2_stride[stages[0]]"] == 1.0
    assert got[0]["summary.log2_stride[stages[1]]"] == 2.0
    assert got[0]["summary.log2_receptive_field"] == pytest.approx(math.log2(145))
    assert got[0]["summary.log2_stride[conv]"] == pytest.approx((2 * 1 + 3 * 2) / 5)
    # Smallest: 4 x 2 x 2 -> 16; 5 + 2 x 4 + 2 x 8 + 2 x 8 + 2 x 16 = 77; all 4-bit weights.
    assert got[1]["summary.log2_stride[stages[1]]"] == 4.0
    assert got[1]["summary.log2_receptive_field"] == pytest.approx(math.log2(77))
    assert got[0]["summary.blocks"] == 5.0 and got[1]["summary.blocks"] == 2.0
    assert got[1]["summary.units[wbits=4]"] == 5.0 and got[1]["summary.log2_min_wbits"] == 2.0
    assert got[0]["summary.units[wbits=4]"] == 0.0 and got[0]["summary.log2_min_wbits"] == 5.0
