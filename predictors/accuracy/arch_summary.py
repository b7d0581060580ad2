"""Whole-arch summary features of genomes: what the per-gene columns express only jointly.

Accuracy on long sequences depends on quantities that no single gene holds: the *product* of
the strides (how far the sequence is down-sampled before each stage), the receptive field of
the convolutional path, how many blocks of each op type run and at what resolution, and how
many units are quantised to each bit-width. Trees and linear models over one column per gene
need many samples to rebuild such products and counts, so :class:`ArchSummary` computes them
directly, vectorised over genomes, from the genome alone (no data shape, no torch):

- ``summary.log2_stride[stages[i]]``: log2 of the total down-sampling after stage ``i``'s
  entry convolution (stem stride times the strides of stages ``0..i``);
- ``summary.log2_receptive_field``: log2 of the receptive field, in input steps, of the
  convolutions alone (stem kernel, each stage's entry kernel, each active conv block's kernel,
  each widened by the down-sampling it runs at); recurrent, state-space and attention blocks
  see the whole sequence, which ``summary.global_blocks`` counts;
- ``summary.blocks[<op>]``: active blocks of each op type the space offers, and
  ``summary.blocks`` all active blocks;
- ``summary.log2_stride[<op>]``: mean log2 down-sampling at which that op's blocks run (0 when
  there is none);
- ``summary.units[wbits=<b>]`` / ``summary.units[abits=<b>]``: active units (stem, stage entry
  convolutions, blocks) with weights / activations at each bit-width below the widest choice,
  and ``summary.log2_min_wbits``.

Only columns that can vary within the space are kept (a space with one stride choice everywhere
gets no stride columns).
"""

from __future__ import annotations

import numpy as np

from nasx.ops import OPS
from nasx.search_spaces import OP_TYPES, GenomeCodec, entry_kernel


class ArchSummary:
    """Maps integer genomes ``(n, G)`` of ``codec``'s space (in range) to summary features
    ``(n, K)`` float64.

    Example:
        >>> from nasx.search_spaces import load_space, largest_arch
        >>> space = load_space("hybrid-long")
        >>> codec = GenomeCodec(space)
        >>> s = ArchSummary(codec)
        >>> g = codec.encode(largest_arch(space))[None]
        >>> float(s.transform(g)[0, s.names.index("summary.log2_stride[stages[1]]")])
        2.0
    """

    def __init__(self, codec: GenomeCodec) -> None:
        space = codec.space
        self.codec = codec
        # Per gene: the numeric value of each choice (0 for non-numeric choices such as ops).
        most = int(codec.upper.max()) + 1
        values = np.zeros((codec.length, most))  # (G, choices)
        for n, g in enumerate(codec.genes):
            if g.key != "op":
                values[n, : len(g.choices)] = [float(c) for c in g.choices]
        self._values = values
        self._ops = tuple(op for op in OP_TYPES if any(op in st.ops for st in space.stages))
        self._wbits = tuple(sorted(space.quant.weight_bits))
        self._abits = tuple(sorted(space.quant.act_bits))
        self._entry = np.array([entry_kernel(st.stride) for st in space.stages], dtype=float)
        names = [f"summary.log2_stride[stages[{i}]]" for i in range(len(space.stages))]
        names += ["summary.log2_receptive_field", "summary.global_blocks", "summary.blocks"]
        names += [f"summary.blocks[{op}]" for op in self._ops]
        names += [f"summary.log2_stride[{op}]" for op in self._ops]
        names += [f"summary.units[wbits={b}]" for b in self._wbits[:-1]]
        names += [f"summary.units[abits={b}]" for b in self._abits[:-1]]
        names.append("summary.log2_min_wbits")
        self._all_names = names
        self._keep = self._varying()
        self.names: list[str] = [n for n, k in zip(names, self._keep, strict=True) if k]

    def _varying(self) -> np.ndarray:
        """Which columns differ between the smallest and largest choice of every gene and a
        few random genomes (a constant column carries nothing)."""
        rng = np.random.default_rng(0)
        upper = self.codec.upper
        probe = np.vstack([np.zeros_like(upper), upper,
                           rng.integers(0, upper + 1, size=(64, len(upper)))])  # (66, G)
        full = self._compute(probe)
        return np.ptp(full, axis=0) > 0

    def _value(self, g: np.ndarray, name: str) -> np.ndarray:
        """Numeric value ``(n,)`` of gene ``name`` in each genome."""
        n = self.codec.gene_index(name)
        return self._values[n, g[:, n]]

    def _compute(self, g: np.ndarray) -> np.ndarray:
        """Every summary column ``(n, len(self._all_names))`` of genomes ``g`` ``(n, G)``."""
        space = self.codec.space
        n = len(g)
        cum = self._value(g, "stem.stride")  # (n,) down-sampling so far
        rf = self._value(g, "stem.kernel")  # (n,) receptive field in input steps
        wbits = [self._value(g, "stem.wbits")]
        abits = [self._value(g, "stem.abits")]
        active = [np.ones(n, dtype=bool)]
        strides, count = [], {op: np.zeros(n) for op in self._ops}
        at = {op: np.zeros(n) for op in self._ops}
        for i, st in enumerate(space.stages):
            rf = rf + (self._entry[i] - 1) * cum
            cum = cum * self._value(g, f"stages[{i}].stride")
            strides.append(np.log2(cum))
            wbits.append(self._value(g, f"stages[{i}].wbits"))
            abits.append(self._value(g, f"stages[{i}].abits"))
            active.append(np.ones(n, dtype=bool))
            depth = self._value(g, f"stages[{i}].depth")
            for j in range(st.max_depth):
                pre = f"stages[{i}].blocks[{j}]"
                on = depth > j  # (n,)
                op_gene = g[:, self.codec.gene_index(f"{pre}.op")]
                for k, op in enumerate(st.ops):
                    here = on & (op_gene == k)
                    count[op] += here
                    at[op] += here * np.log2(cum)
                    if OPS[op].local:  # a kernel-sized receptive field
                        rf = rf + here * (self._value(g, f"{pre}.{op}.kernel") - 1) * cum
                wbits.append(self._value(g, f"{pre}.wbits"))
                abits.append(self._value(g, f"{pre}.abits"))
                active.append(on)
        on = np.stack(active, axis=1)  # (n, U) which units take part
        wb, ab = np.stack(wbits, axis=1), np.stack(abits, axis=1)  # (n, U)
        blocks = sum(count.values(), np.zeros(n))
        local = sum((count[op] for op in self._ops if OPS[op].local), np.zeros(n))
        cols = [*strides, np.log2(rf), blocks - local, blocks]
        cols += [count[op] for op in self._ops]
        cols += [at[op] / np.maximum(count[op], 1) for op in self._ops]
        cols += [((wb == b) & on).sum(axis=1) for b in self._wbits[:-1]]
        cols += [((ab == b) & on).sum(axis=1) for b in self._abits[:-1]]
        cols.append(np.log2(np.where(on, wb, np.inf).min(axis=1)))
        return np.stack(cols, axis=1).astype(np.float64)

    def transform(self, genomes: np.ndarray) -> np.ndarray:
        """Summary features ``(n, K)`` of integer genomes ``(n, G)`` (already range-checked)."""
        g = np.asarray(genomes, dtype=np.int64)
        return self._compute(g)[:, self._keep]
