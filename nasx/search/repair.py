"""Canonical genomes: every inactive gene set to 0, so equal archs have equal genomes.

A gene is inactive when its block slot lies beyond its stage's depth, or when it is one op's
choice and the slot holds another op (:meth:`GenomeCodec.active_mask`). Variation operators
leave junk there; :class:`GenomeRepair` zeroes it (and clips genes into range), which makes
``decode(repair(g))`` the arch ``g`` stands for and duplicates real duplicates.
"""

from __future__ import annotations

import numpy as np

from nasx.search_spaces import GenomeCodec


class GenomeRepair:
    """Vectorised canonicalisation of integer genomes ``(n, G)`` of one space.

    Example:
        >>> from nasx.search_spaces import load_space
        >>> codec = GenomeCodec(load_space("tiny"))
        >>> rep = GenomeRepair(codec)
        >>> g = rep(np.array([codec.upper]))
        >>> bool((rep(g) == g).all())
        True
    """

    def __init__(self, codec: GenomeCodec) -> None:
        self.codec = codec
        genes = codec.genes
        index = {g.name: n for n, g in enumerate(genes)}
        stages = codec.space.stages
        self._depth_gene = np.array([index[f"stages[{i}].depth"] for i in range(len(stages))])
        most = max(len(st.depth) for st in stages)
        self._depth_values = np.zeros((len(stages), most), dtype=np.int64)  # (S, choices)
        for i, st in enumerate(stages):
            self._depth_values[i, : len(st.depth)] = st.depth
        block = [n for n, g in enumerate(genes) if g.slot >= 0]
        self._block = np.array(block, dtype=np.int64)  # (B,) genes of block slots
        self._stage = np.array([genes[n].stage for n in block], dtype=np.int64)  # (B,)
        self._slot = np.array([genes[n].slot for n in block], dtype=np.int64)  # (B,)
        op_gene, op_index = [], []
        for n in block:
            g = genes[n]
            if g.op:
                k = index[f"stages[{g.stage}].blocks[{g.slot}].op"]
                op_gene.append(k)
                op_index.append(genes[k].choices.index(g.op))
            else:
                op_gene.append(0)
                op_index.append(-1)
        self._op_gene = np.array(op_gene, dtype=np.int64)  # (B,)
        self._op_index = np.array(op_index, dtype=np.int64)  # (B,) -1: not an op choice

    def active(self, genomes: np.ndarray) -> np.ndarray:
        """Boolean ``(n, G)``: which genes take part in each genome's arch."""
        g = np.asarray(genomes, dtype=np.int64)
        stage_idx = np.arange(len(self._depth_gene))
        depth = self._depth_values[stage_idx, g[:, self._depth_gene]]  # (n, S)
        block_on = self._slot < depth[:, self._stage]  # (n, B)
        is_choice = self._op_index >= 0
        op_ok = ~is_choice | (g[:, self._op_gene] == self._op_index)  # (n, B)
        mask = np.ones(g.shape, dtype=bool)
        mask[:, self._block] = block_on & op_ok
        return mask

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """Canonical copies ``(n, G)`` int64 of ``genomes`` (clipped into range, inactive 0)."""
        g = np.clip(np.asarray(genomes).round().astype(np.int64), 0, self.codec.upper)
        return np.where(self.active(g), g, 0)
