"""pymoo operators over canonical integer genomes (pymoo 0.6: randomness through ``random_state``).

- :class:`GenomeSampling`: every gene uniform over its choices, then repaired;
- :class:`GenomeCrossover`: uniform crossover; each parent's inactive genes are first filled
  with random choices, so a child that activates a slot or an op inherits random choices there,
  not the canonical zeros (which would bias the search towards the first choice);
- :class:`GenomeMutation`: the inactive genes are filled at random the same way, then each
  active gene is redrawn (uniformly among its other choices) with probability ``prob_var``
  (pymoo's per-variable probability; default ``1 / number of active genes``), and a child for
  which no gene was drawn gets one (at least one change per child, so fewer children repeat an
  evaluated arch); pymoo's ``prob`` stays the per-individual probability (1.0);
- :class:`GenomeRepairOperator`: :class:`~nasx.search.repair.GenomeRepair` as a pymoo Repair;
- :class:`ArchiveDuplicates`: removes children equal to each other, to the population, or to
  any genome evaluated before in this search (a hash set of genome bytes), so every evaluation
  is a new arch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.mutation import Mutation
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling

from nasx.search.repair import GenomeRepair


def genome_key(row: np.ndarray) -> bytes:
    """Hashable key of one canonical genome."""
    return np.ascontiguousarray(row, dtype=np.int64).tobytes()


def fill_inactive(repair: GenomeRepair, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copy of genomes ``X (n, G)`` with every inactive gene redrawn uniformly."""
    upper = repair.codec.upper
    X = np.asarray(X, dtype=np.int64)
    draw = np.floor(rng.random(X.shape) * (upper + 1)).astype(np.int64)  # (n, G)
    return np.where(repair.active(X), X, draw)


class GenomeSampling(Sampling):
    """Uniform random genomes, repaired to canonical form."""

    def __init__(self, repair: GenomeRepair) -> None:
        super().__init__()
        self.canon = repair

    def _do(self, problem: Any, n_samples: int, *args: Any,
            random_state: np.random.Generator | None = None, **kwargs: Any) -> np.ndarray:
        assert random_state is not None
        upper = self.canon.codec.upper
        X = np.floor(random_state.random((n_samples, len(upper))) * (upper + 1))
        return self.canon(X.astype(np.int64))


class GenomeCrossover(Crossover):
    """Uniform crossover of two parents into two children (see the module docstring)."""

    def __init__(self, repair: GenomeRepair, prob: float = 0.9) -> None:
        super().__init__(2, 2, prob=prob)
        self.canon = repair

    def _do(self, problem: Any, X: np.ndarray, *args: Any,
            random_state: np.random.Generator | None = None, **kwargs: Any) -> np.ndarray:
        assert random_state is not None
        _, n_matings, n_var = X.shape  # X: (2 parents, n_matings, G)
        a = fill_inactive(self.canon, X[0], random_state)
        b = fill_inactive(self.canon, X[1], random_state)
        swap = random_state.random((n_matings, n_var)) < 0.5  # (n_matings, G)
        return np.stack([np.where(swap, b, a), np.where(swap, a, b)])


class GenomeMutation(Mutation):
    """Redraws active genes with probability ``prob_var`` (see the module docstring)."""

    def __init__(self, repair: GenomeRepair, prob: float = 1.0,
                 prob_var: float | None = None) -> None:
        super().__init__(prob=prob, prob_var=prob_var)
        self.canon = repair
        self.fixed_prob_var = prob_var

    def _do(self, problem: Any, X: np.ndarray, *args: Any,
            random_state: np.random.Generator | None = None, **kwargs: Any) -> np.ndarray:
        assert random_state is not None
        upper = self.canon.codec.upper
        X = np.asarray(X, dtype=np.int64)
        active = self.canon.active(X) & (upper > 0)  # (n, G) genes that can change
        Xf = fill_inactive(self.canon, X, random_state)
        if self.fixed_prob_var is None:
            p = 1.0 / np.maximum(active.sum(axis=1, keepdims=True), 1)  # (n, 1)
        else:
            p = np.full((len(X), 1), self.fixed_prob_var)
        hit = active & (random_state.random(X.shape) < p)  # (n, G)
        # a child no gene was drawn for gets one random active gene redrawn: an unchanged
        # child mostly repeats an evaluated arch and is thrown away by duplicate elimination
        none = ~hit.any(axis=1) & active.any(axis=1)
        if none.any():
            score = random_state.random(X.shape) * active  # (n, G); 0 where inactive
            pick = score[none].argmax(axis=1)
            hit[np.flatnonzero(none), pick] = True
        # a different choice: current + 1 + uniform(0 .. upper - 1), modulo (upper + 1)
        step = 1 + np.floor(random_state.random(X.shape) * np.maximum(upper, 1)).astype(np.int64)
        moved = (Xf + step) % (upper + 1)
        return np.where(hit, moved, Xf)


class GenomeRepairOperator(Repair):
    """pymoo Repair that canonicalises genomes."""

    def __init__(self, repair: GenomeRepair) -> None:
        super().__init__()
        self.canon = repair

    def _do(self, problem: Any, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.canon(X)


class ArchiveDuplicates(DuplicateElimination):
    """Duplicate elimination by genome bytes, against the population, each other and ``seen``
    (the keys of every genome evaluated so far in this search; the caller keeps it up to date).
    """

    def __init__(self, seen: set[bytes]) -> None:
        super().__init__()
        self.seen = seen

    def _do(self, pop: Any, other: Any, is_duplicate: np.ndarray) -> np.ndarray:
        X = np.asarray(pop.get("X"), dtype=np.int64)
        if other is None:
            local: set[bytes] = set()
            for i, row in enumerate(X):
                k = genome_key(row)
                if k in self.seen or k in local:
                    is_duplicate[i] = True
                local.add(k)
            return is_duplicate
        others = {genome_key(r) for r in np.asarray(other.get("X"), dtype=np.int64)}
        for i, row in enumerate(X):
            if genome_key(row) in others:
                is_duplicate[i] = True
        return is_duplicate
