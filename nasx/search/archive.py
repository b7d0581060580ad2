"""Every genome a search evaluated, with its generation (pymoo's result keeps only the last
population), and the ``search/history.csv`` it is written to.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nasx.search.operators import genome_key
from nasx.search.task import Evaluation
from nasx.search_spaces import GenomeCodec, arch_id

HISTORY_COLUMNS: tuple[str, ...] = (
    "round", "device", "generation", "id", "genome", "accuracy", "accuracy_std", "error",
    "latency_ms", "sram_kb", "flash_kb", "supported", "feasible", "latency_label",
)


@dataclass
class Archive:
    """The evaluations of one search (one device, one round), in evaluation order."""

    device: str
    latency_label: str
    round: int = 1
    batches: list[tuple[int, Evaluation]] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)

    def add(self, evaluation: Evaluation, generation: int) -> None:
        """Record a batch evaluated in ``generation`` (0: the initial population)."""
        self.batches.append((generation, evaluation))
        self.seen.update(genome_key(r) for r in evaluation.genomes)

    def __len__(self) -> int:
        return sum(len(e) for _, e in self.batches)

    def _cat(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(e, name) for _, e in self.batches])

    @property
    def genomes(self) -> np.ndarray:
        """``(N, G)`` every evaluated genome."""
        return self._cat("genomes")

    @property
    def objectives(self) -> np.ndarray:
        """``(N, n_obj)`` objectives (the ``F`` of every evaluation)."""
        return self._cat("F")

    @property
    def constraints(self) -> np.ndarray:
        """``(N, 2)`` constraints (the ``G`` of every evaluation)."""
        return self._cat("G")

    @property
    def feasible(self) -> np.ndarray:
        """``(N,)`` bool."""
        return (self.constraints <= 0).all(axis=1)

    @property
    def meets(self) -> np.ndarray:
        """``(N, n_budgets)`` bool: meets budget b."""
        return self._cat("meets")

    @property
    def accuracy(self) -> np.ndarray:
        """``(N,)`` predicted accuracy."""
        return self._cat("accuracy")

    @property
    def accuracy_std(self) -> np.ndarray:
        """``(N,)`` predicted accuracy's ensemble std."""
        return self._cat("accuracy_std")

    def cost(self, name: str) -> np.ndarray:
        """``(N,)`` cost array ``latency_ms``, ``sram_kb``, ``flash_kb`` or ``supported``."""
        return np.concatenate([getattr(e.costs, name) for _, e in self.batches])

    @property
    def generation(self) -> np.ndarray:
        """``(N,)`` the generation each genome was evaluated in."""
        return np.concatenate([np.full(len(e), g, dtype=np.int64) for g, e in self.batches])

    def rows(self, codec: GenomeCodec) -> Iterable[list[str]]:
        """CSV rows in :data:`HISTORY_COLUMNS` order."""
        ids = {}
        for gen, e in self.batches:
            feasible = e.feasible
            for i, g in enumerate(e.genomes):
                key = genome_key(g)
                if key not in ids:
                    ids[key] = arch_id(codec.decode(g))
                yield [str(self.round), self.device, str(gen), ids[key],
                       " ".join(str(int(v)) for v in g), _num(e.accuracy[i]),
                       _num(e.accuracy_std[i]), _num(e.F[i, 0]), _num(e.costs.latency_ms[i]),
                       _num(e.costs.sram_kb[i]), _num(e.costs.flash_kb[i]),
                       str(bool(e.costs.supported[i])).lower(), str(bool(feasible[i])).lower(),
                       self.latency_label]


def _num(x: float) -> str:
    return f"{float(x):.6g}"


def history_csv(archives: Sequence[Archive], codec: GenomeCodec) -> str:
    """The text of ``search/history.csv`` for ``archives`` (header + one row per evaluation)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HISTORY_COLUMNS)
    for a in archives:
        w.writerows(a.rows(codec))
    return buf.getvalue()


def read_history(text: str) -> list[dict[str, str]]:
    """Rows of a ``history.csv`` text as dicts (for ``nasx inspect`` and tests)."""
    return list(csv.DictReader(io.StringIO(text)))
