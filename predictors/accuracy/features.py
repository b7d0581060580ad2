"""Fixed-length float features of genomes for the accuracy predictor.

Each gene of :class:`~nasx.search_spaces.GenomeCodec` becomes:

- the op gene of a block slot (categorical, no order): a one-hot over the slot's allowed ops,
  one column per op (``stages[i].blocks[j].op=conv``, ...);
- every other gene (width, depth, stride, kernel, expand, hidden, state, heads, ffn, bits: all
  ordered): one column holding its normalised choice index ``index / (choices - 1)`` in [0, 1].
  A gene with a single choice carries no information and gets no column.

Depth masking: every column of a gene that takes no part in the arch (a slot beyond its
stage's depth, the choices of an op the slot did not pick) is 0, so two genomes of the same
arch give the same features whatever their inactive genes hold. The one-hot op columns of an
active slot also tell an active slot whose ordinal genes sit at index 0 from an inactive one.
"""

from __future__ import annotations

import numpy as np

from nasx.errors import ArchError
from nasx.predictors.accuracy.arch_summary import ArchSummary
from nasx.search_spaces import GenomeCodec, SearchSpace


class ArchFeatures:
    """Maps integer genomes ``(n, G)`` of one space to float features ``(n, F)``.

    Vectorised over genomes (no Python loop per genome), so it keeps up with batched
    prediction.

    Example:
        >>> from nasx.search_spaces import load_space, largest_arch
        >>> space = load_space("tiny")
        >>> feats = ArchFeatures(space)
        >>> x = feats.transform(GenomeCodec(space).encode(largest_arch(space))[None])
        >>> x.shape == (1, len(feats.names))
        True
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.codec = GenomeCodec(space)
        genes = self.codec.genes
        names: list[str] = []
        src: list[int] = []  # per column: the gene it reads
        onehot: list[int] = []  # per column: the op index it tests, -1 for an ordinal column
        for n, g in enumerate(genes):
            if g.key == "op":
                for k, op in enumerate(g.choices):
                    names.append(f"{g.name}={op}")
                    src.append(n)
                    onehot.append(k)
            elif len(g.choices) > 1:
                names.append(g.name)
                src.append(n)
                onehot.append(-1)
        self._summary = ArchSummary(self.codec)
        self.names: list[str] = names + self._summary.names
        self._src = np.array(src, dtype=np.int64)  # (F,)
        self._onehot = np.array(onehot, dtype=np.int64)  # (F,)
        self._scale = np.array([1.0 / max(len(genes[s].choices) - 1, 1) for s in src])  # (F,)

    @property
    def gene_columns(self) -> int:
        """Number of per-gene columns; the summary columns follow them."""
        return len(self.names) - len(self._summary.names)

    @property
    def size(self) -> int:
        """Number of feature columns ``F``."""
        return len(self.names)

    def transform(self, genomes: np.ndarray) -> np.ndarray:
        """Features ``(n, F)`` float32 of integer genomes ``(n, G)``.

        Raises:
            ArchError: not a 2-D array of ``G`` genes, or a gene out of its range.
        """
        g = np.asarray(genomes)
        if g.ndim != 2 or g.shape[1] != self.codec.length:
            raise ArchError(f"genomes: expected shape (n, {self.codec.length}), "
                            f"got {tuple(g.shape)}")
        g = g.astype(np.int64, copy=False)
        bad = (g < 0) | (g > self.codec.upper)  # (n, G)
        if bad.any():
            row, n = (int(v[0]) for v in np.nonzero(bad))
            raise ArchError(f"genomes: row {row}, gene {n} ({self.codec.genes[n].name}) = "
                            f"{int(g[row, n])} is out of range 0..{int(self.codec.upper[n])}")
        vals = g[:, self._src]  # (n, F) gene index read by each column
        active = self.codec.active_masks(g)[:, self._src]  # (n, F) is the gene in use
        ordinal = self._onehot < 0
        out = np.where(ordinal, vals * self._scale, (vals == self._onehot).astype(np.float64))
        summary = self._summary.transform(g)  # (n, K)
        return np.hstack([out * active, summary]).astype(np.float32)
