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

    def active(self, genomes: np.ndarray) -> np.ndarray:
        """Boolean ``(n, G)``: which genes take part in each genome's arch."""
        return self.codec.active_masks(genomes)

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """Canonical copies ``(n, G)`` int64 of ``genomes`` (clipped into range, inactive 0)."""
        g = np.clip(np.asarray(genomes).round().astype(np.int64), 0, self.codec.upper)
        return np.where(self.active(g), g, 0)
