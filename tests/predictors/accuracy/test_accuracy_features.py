"""Depth-masked one-hot / ordinal features of genomes: a hand-checked vector, masking of
inactive genes, and agreement with GenomeCodec.active_mask on random archs of every preset."""

from __future__ import annotations

import numpy as np
import pytest

from nasx.errors import ArchError
from nasx.predictors.accuracy.features import ArchFeatures
from nasx.search_spaces import GenomeCodec, load_space, random_arch

HAND_ARCH = {
    "stem": {"width": 16, "kernel": 3, "stride": 1, "wbits": 8, "abits": 32},
    "stages": [
        {"depth": 1, "width": 8, "stride": 1, "wbits": 32, "abits": 8,
         "blocks": [{"op": "lstm", "hidden": 1.0, "wbits": 4, "abits": 32}]},
        {"depth": 2, "width": 24, "stride": 2, "wbits": 8, "abits": 8,
         "blocks": [{"op": "ssm", "state": 8, "expand": 1, "wbits": 32, "abits": 8},
                    {"op": "attn", "heads": 2, "ffn": 1, "wbits": 8, "abits": 32}]},
    ],
}

# Every non-zero feature of HAND_ARCH in the tiny space, worked out by hand: ordinal genes are
# index / (choices - 1) (bits [4, 8, 32] -> 0, 0.5, 1; act bits [8, 32] -> 0, 1), ops one-hot.
HAND_NONZERO = {
    "stem.width": 1.0, "stem.wbits": 0.5, "stem.abits": 1.0,
    "stages[0].wbits": 1.0,
    "stages[0].blocks[0].op=lstm": 1.0, "stages[0].blocks[0].lstm.hidden": 1.0,
    "stages[0].blocks[0].abits": 1.0,
    "stages[1].depth": 1.0, "stages[1].width": 1.0, "stages[1].stride": 1.0,
    "stages[1].wbits": 0.5,
    "stages[1].blocks[0].op=ssm": 1.0, "stages[1].blocks[0].ssm.state": 1.0,
    "stages[1].blocks[0].wbits": 1.0,
    "stages[1].blocks[1].op=attn": 1.0, "stages[1].blocks[1].attn.heads": 1.0,
    "stages[1].blocks[1].wbits": 0.5, "stages[1].blocks[1].abits": 1.0,
    # Summary columns: only stage 1 strides (x2); convolutions: stem kernel 3, stage 1's entry
    # kernel 3 at stride 1 -> receptive field 5; LSTM at stride 1 (log2 0), SSM and attention at
    # 2; weight bits: LSTM 4, stem, stage 1 and attention 8; act bits 8: stages 0, 1 and SSM.
    "summary.log2_stride[stages[1]]": 1.0, "summary.log2_receptive_field": float(np.log2(5)),
    "summary.global_blocks": 3.0, "summary.blocks": 3.0, "summary.blocks[lstm]": 1.0,
    "summary.blocks[ssm]": 1.0, "summary.blocks[attn]": 1.0, "summary.log2_stride[ssm]": 1.0,
    "summary.log2_stride[attn]": 1.0, "summary.units[wbits=4]": 1.0,
    "summary.units[wbits=8]": 3.0, "summary.units[abits=8]": 3.0,
    "summary.log2_min_wbits": 2.0,
}


def test_hand_checked_vector_of_a_tiny_arch() -> None:
    space = load_space("tiny")
    feats = ArchFeatures(space)
    # 4 stem columns (stride has one choice), stage 0: 4 + 2 slots x (4 ops + 7 choices + 2
    # bits), stage 1: 5 + 2 slots x (3 ops + 6 choices + 2 bits); then 15 summary columns
    # (no stage 0 stride and no LSTM resolution column: both are constant in this space).
    assert feats.size == 4 + 4 + 2 * 13 + 5 + 2 * 11 + 15 == 76
    assert feats.names[:8] == ["stem.width", "stem.kernel", "stem.wbits", "stem.abits",
                               "stages[0].depth", "stages[0].width", "stages[0].wbits",
                               "stages[0].abits"]
    assert feats.names[8:12] == [f"stages[0].blocks[0].op={op}"
                                 for op in ("conv", "lstm", "ssm", "attn")]
    x = feats.transform(GenomeCodec(space).encode(HAND_ARCH)[None])
    assert x.shape == (1, 76) and x.dtype == np.float32
    got = {n: float(v) for n, v in zip(feats.names, x[0], strict=True) if v != 0}
    assert got == pytest.approx(HAND_NONZERO)
    assert feats.names[61:] == [
        "summary.log2_stride[stages[1]]", "summary.log2_receptive_field",
        "summary.global_blocks", "summary.blocks", "summary.blocks[conv]",
        "summary.blocks[lstm]", "summary.blocks[ssm]", "summary.blocks[attn]",
        "summary.log2_stride[conv]", "summary.log2_stride[ssm]", "summary.log2_stride[attn]",
        "summary.units[wbits=4]", "summary.units[wbits=8]", "summary.units[abits=8]",
        "summary.log2_min_wbits"]
    # The inactive second slot of stage 0 has all 13 columns zero.
    slot = [i for i, n in enumerate(feats.names) if n.startswith("stages[0].blocks[1].")]
    assert len(slot) == 13 and not x[0, slot].any()


@pytest.mark.parametrize("preset", ["tiny", "hybrid-mcu", "hybrid-gpu"])
def test_inactive_genes_are_zero_and_ignored(preset: str) -> None:
    space = load_space(preset)
    feats, codec = ArchFeatures(space), GenomeCodec(space)
    rng = np.random.default_rng(0)
    genomes = np.stack([codec.encode(random_arch(space, rng)) for _ in range(200)])
    x = feats.transform(genomes)
    noisy = genomes.copy()
    index = {gene.name: n for n, gene in enumerate(codec.genes)}
    genes = [name for name in feats.names if not name.startswith("summary.")]
    gene_of_column = np.array([index[name.split("=")[0]] for name in genes])
    for i, g in enumerate(genomes):
        mask = codec.active_mask(g)
        # every column of an inactive gene is 0
        assert not x[i, : len(genes)][~mask[gene_of_column]].any()
        # ordinal columns of active genes hold index / (choices - 1)
        for col, name in enumerate(genes):
            n = gene_of_column[col]
            if "=" not in name and mask[n]:
                assert x[i, col] == pytest.approx(g[n] / codec.upper[n])
        noise = rng.integers(0, codec.upper + 1)
        noisy[i, ~mask] = noise[~mask]
    assert np.array_equal(feats.transform(noisy), x)  # garbage in inactive genes changes nothing
    # exactly one op column per active slot is 1
    op_cols = [c for c, nm in enumerate(feats.names) if ".op=" in nm]
    assert set(np.unique(x[:, op_cols])) <= {0.0, 1.0}
    active_slots = sum(
        int(codec.active_mask(g)[[k for k, gn in enumerate(codec.genes) if gn.key == "op"]].sum())
        for g in genomes)
    assert int(x[:, op_cols].sum()) == active_slots


def test_bad_genomes_are_refused() -> None:
    feats = ArchFeatures(load_space("tiny"))
    with pytest.raises(ArchError, match=r"^genomes: expected shape \(n, 53\), got \(53,\)$"):
        feats.transform(np.zeros(53, dtype=np.int64))
    g = np.zeros((2, 53), dtype=np.int64)
    g[1, 0] = 2
    with pytest.raises(ArchError, match=r"^genomes: row 1, gene 0 \(stem.width\) = 2 is out of "
                       r"range 0..1$"):
        feats.transform(g)
