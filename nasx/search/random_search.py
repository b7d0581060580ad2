"""Random search over the genome: the baseline NSGA-II is measured against.

Uniformly random genomes (every gene uniform, then repaired; duplicates of earlier draws
skipped), evaluated in batches of ``batch`` into an :class:`Archive` (generation = batch index).
"""

from __future__ import annotations

import numpy as np

from nasx.search.archive import Archive
from nasx.search.operators import genome_key
from nasx.search.repair import GenomeRepair
from nasx.search.task import SearchTask


def run_random(task: SearchTask, repair: GenomeRepair, *, n_evals: int, seed: int = 0,
               batch: int = 1000, archive: Archive | None = None) -> Archive:
    """Evaluate ``n_evals`` distinct uniformly random archs and return the archive."""
    if archive is None:
        archive = Archive(task.device.name, task.device.latency_label)
    rng = np.random.default_rng(seed)
    upper = repair.codec.upper
    generation, start, stale = 0, len(archive), 0
    while len(archive) - start < n_evals and stale < 100:
        want = min(batch, n_evals - (len(archive) - start))
        draw = repair(np.floor(rng.random((want, len(upper))) * (upper + 1)).astype(np.int64))
        keep, keys = [], set()
        for i, g in enumerate(draw):
            k = genome_key(g)
            if k not in archive.seen and k not in keys:
                keys.add(k)
                keep.append(i)
        stale = stale + 1 if not keep else 0
        if keep:
            archive.add(task.evaluate(draw[keep]), generation)
            generation += 1
    return archive
