"""The accuracy predictor's dataset: subnets of a trained supernet and their validation scores.

One JSON line per evaluated subnet in ``R/predictors/accuracy-data.jsonl``::

    {"id": "3f2a...", "genome": [0, 2, ...], "val_acc": 0.8125, "val_loss": 0.61,
     "val_n": 16, "val_correct": "f7bf", "val_losses": "ADwAOA..."}

``val_correct`` packs which validation sequences the subnet got right (hex, see
:func:`~nasx.predictors.accuracy.reliability.pack_correct`) and feeds the measurement-precision
estimate of :mod:`~nasx.predictors.accuracy.reliability`; ``val_losses`` each sequence's
cross-entropy (:func:`~nasx.predictors.accuracy.reliability.pack_losses`), for the search's
paired loss comparison (:mod:`nasx.search.noise_pick`). The three keys are optional (files
written before they existed lack them).

Each subnet is evaluated on the run's validation split after BatchNorm recalibration on the
run's calibration batches (as ``nasx eval``), and its line is appended and fsynced at once, so a
build killed at any point keeps every finished subnet and a rerun evaluates only the missing
ids (a torn last line is dropped). Lines are keyed by arch id; an id is never evaluated twice.
What the records were measured with (weights digest, split, calibration) is kept in
``accuracy-data.settings.json`` beside the file; a build under other settings is refused
(:mod:`.stamp`), so records of two measurements never mix.

Under ``torchrun`` every rank loads the run and evaluates a share: the pending subnets are dealt
round-robin (rank ``r`` takes subnets ``r, r + world, ...``); after each round rank 0 gathers
the round's results and alone writes them. Subnets are sampled from seeded streams:
:func:`sample_archs` draws uniformly random archs with distinct ids, prefix-stable (asking for
more returns the same first ones), so ``--samples 300`` extends an earlier ``--samples 100``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch.distributed as dist
from tqdm import tqdm

from nasx.errors import NasxError
from nasx.predictors.accuracy.reliability import (
    Reliability,
    pack_correct,
    pack_losses,
    split_half_reliability,
    unpack_correct,
    unpack_losses,
)
from nasx.predictors.accuracy.stamp import stamp_problem
from nasx.runs.layout import ACCURACY_DATA
from nasx.runs.trained import TrainedRun
from nasx.search_spaces import Arch, GenomeCodec, SearchSpace, arch_id, count_subnets, random_arch
from nasx.train.distributed import Ranks, gather_to_main, ranks_from_env
from nasx.train.evaluate import calibration_batches, evaluate_subnets

TRAIN_STREAM, HOLDOUT_STREAM = 0, 1
_SAMPLE_TAG = 0x61636375  # keeps these draws apart from training's and nasx eval's streams


@dataclass(frozen=True)
class SubnetRecord:
    """One evaluated subnet (a line of the dataset file)."""

    id: str
    genome: tuple[int, ...]
    val_acc: float
    val_loss: float
    val_n: int | None = None
    val_correct: str | None = None
    val_losses: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON line's object (``val_n``, ``val_correct``, ``val_losses`` only when
        known)."""
        out: dict[str, Any] = {"id": self.id, "genome": list(self.genome),
                               "val_acc": self.val_acc, "val_loss": self.val_loss}
        if self.val_correct is not None:
            out.update(val_n=self.val_n, val_correct=self.val_correct)
        if self.val_losses is not None:
            out.update(val_losses=self.val_losses)
        return out

    def correct(self) -> np.ndarray | None:
        """Per-sequence correctness ``(val_n,)`` bool, or ``None`` when not recorded."""
        if self.val_correct is None or self.val_n is None:
            return None
        return unpack_correct(self.val_correct, self.val_n)

    def losses(self) -> np.ndarray | None:
        """Per-sequence validation losses ``(val_n,)`` float32, or ``None`` when not recorded."""
        if self.val_losses is None or self.val_n is None:
            return None
        return unpack_losses(self.val_losses, self.val_n)


def data_path(run_dir: Path) -> Path:
    """``run_dir/predictors/accuracy-data.jsonl``."""
    return Path(run_dir) / ACCURACY_DATA


def read_records(path: Path, genome_length: int | None = None) -> dict[str, SubnetRecord]:
    """The records of a dataset file by arch id, in file order (empty if there is no file).

    A last line without its newline (a write cut short by a kill) is ignored; the first record
    of an id wins.

    Raises:
        NasxError: a complete line that is not a valid record (or has a genome of another
            length than ``genome_length``).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete = lines[:-1]  # the part after the last newline is '' or a torn line
    out: dict[str, SubnetRecord] = {}
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            rec = SubnetRecord(str(obj["id"]), tuple(int(v) for v in obj["genome"]),
                               float(obj["val_acc"]), float(obj["val_loss"]))
            if "val_correct" in obj:
                rec = dataclasses.replace(rec, val_n=int(obj["val_n"]),
                                          val_correct=str(obj["val_correct"]))
                rec.correct()  # checks the hex and its length
                if "val_losses" in obj:
                    rec = dataclasses.replace(rec, val_losses=str(obj["val_losses"]))
                    rec.losses()  # checks the base64 and its length
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise NasxError(f"{path}:{number}: not a subnet record ({type(err).__name__}: "
                            f"{err}); delete the line or the file to re-evaluate") from None
        if genome_length is not None and len(rec.genome) != genome_length:
            raise NasxError(f"{path}:{number}: genome of {len(rec.genome)} genes, the run's "
                            f"space has {genome_length}; the file belongs to another space")
        out.setdefault(rec.id, rec)
    return out


class RecordWriter:
    """Appends records to a dataset file, one fsynced line each.

    Opening it cuts a torn last line (left by a kill mid-write) so the next line starts clean.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            data = self.path.read_bytes()
            keep = data.rfind(b"\n") + 1
            if keep < len(data):
                with open(self.path, "r+b") as f:
                    f.truncate(keep)
                    os.fsync(f.fileno())
        self._file = open(self.path, "a", encoding="utf-8")

    def append(self, record: SubnetRecord) -> None:
        """Write one line and make it durable."""
        self._file.write(json.dumps(record.as_json()) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def sample_archs(space: SearchSpace, count: int, seed: int, stream: int,
                 exclude: frozenset[str] = frozenset()) -> list[Arch]:
    """``count`` uniformly random archs with distinct ids not in ``exclude``.

    Drawn from a generator seeded by ``(seed, stream)``; the first ``k`` of a longer draw are
    the draw of ``k`` (with the same ``exclude``).

    Raises:
        NasxError: the space has fewer than ``count`` subnets outside ``exclude``.
    """
    total = count_subnets(space)
    if count > total - len(exclude):
        raise NasxError(f"space {space.name!r} has {total} subnets; cannot sample {count} "
                        f"distinct ones besides {len(exclude)} others; ask for fewer")
    rng = np.random.default_rng([seed, _SAMPLE_TAG, stream])
    out: list[Arch] = []
    seen = set(exclude)
    while len(out) < count:
        arch = random_arch(space, rng)
        key = arch_id(arch)
        if key not in seen:
            seen.add(key)
            out.append(arch)
    return out


def round_robin(count: int, ranks: Ranks) -> list[int]:
    """Indices of ``count`` pending subnets this rank evaluates: ``rank, rank + world, ...``."""
    return list(range(ranks.rank, count, ranks.world))


def _default_ranks() -> Ranks:
    """The torchrun ranks when a process group is up, else a single process."""
    return ranks_from_env() if dist.is_available() and dist.is_initialized() else Ranks()


def _broadcast(ranks: Ranks, value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not ranks.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def build_records(
    run: TrainedRun,
    archs: Sequence[Arch],
    *,
    progress: bool = True,
    ranks: Ranks | None = None,
    gather: Callable[[Ranks, Any], list[Any] | None] = gather_to_main,
) -> dict[str, SubnetRecord]:
    """Evaluate the archs of ``archs`` not yet in the run's dataset file and append them.

    Args:
        run: the trained run.
        archs: subnets wanted (duplicates are evaluated once).
        progress: show a tqdm bar on rank 0 (only when stderr is a terminal).
        ranks: this process's place in a torchrun job (default: from the environment when a
            process group is initialised, else a single process).
        gather: collects one value per rank on rank 0 (tests replace it).

    Returns:
        Every record of the file after the build, by id (on every rank).

    Raises:
        NasxError: the file's records were measured with other weights, data or calibration
            than the run has now (see :mod:`.stamp`), or a line is damaged.
    """
    ranks = ranks or _default_ranks()
    codec = GenomeCodec(run.space)
    path = data_path(run.run_dir)
    pending: list[Arch] | None = None
    problem: str | None = None
    if ranks.main:
        problem = stamp_problem(run, path)
        if problem is None:
            done = read_records(path, codec.length)
            unique = {arch_id(a): a for a in archs}
            pending = [a for key, a in unique.items() if key not in done]
    problem, pending = _broadcast(ranks, (problem, pending))  # every rank raises together
    if problem is not None:
        raise NasxError(problem)
    assert pending is not None
    if pending:
        _evaluate_rounds(run, pending, codec, path, ranks, gather, progress)
    records = read_records(path, codec.length) if ranks.main else None
    return _broadcast(ranks, records)


def _evaluate_rounds(run: TrainedRun, pending: Sequence[Arch], codec: GenomeCodec, path: Path,
                     ranks: Ranks, gather: Callable[[Ranks, Any], list[Any] | None],
                     progress: bool) -> None:
    """Evaluate ``pending`` round-robin over the ranks; rank 0 appends each round's records."""
    cfg = run.cfg
    device = next(run.net.parameters()).device
    calib = calibration_batches(run.splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, device)
    val = run.splits.val.to(device)
    writer = RecordWriter(path) if ranks.main else None
    bar = tqdm(total=len(pending), desc="evaluating subnets", unit="subnet",
               disable=None if progress and ranks.main else True)
    try:
        mine = round_robin(len(pending), ranks)
        for k in range(math.ceil(len(pending) / ranks.world)):  # lockstep rounds
            rec = evaluate_subnet(run, pending[mine[k]], codec, val, calib) if k < len(mine) \
                else None
            results = gather(ranks, rec)
            if writer is not None and results is not None:
                for got in results:
                    if got is not None:
                        writer.append(got)
                        bar.update()
    finally:
        bar.close()
        if writer is not None:
            writer.close()


def evaluate_subnet(run: TrainedRun, arch: Arch, codec: GenomeCodec, val: Any,
                    calib: Sequence[Any]) -> SubnetRecord:
    """Validation accuracy, loss and per-sequence correctness of one subnet after BatchNorm
    recalibration."""
    key = arch_id(arch)
    (result,) = evaluate_subnets(run.net, [(key, arch)], val, calib)
    packed = None if result.correct is None else pack_correct(result.correct)
    losses = None if result.losses is None else pack_losses(result.losses)
    return SubnetRecord(key, tuple(int(v) for v in codec.encode(arch)), result.accuracy,
                        result.loss, result.n, packed, losses)


def evaluate_archs(run: TrainedRun, archs: Sequence[Arch], *, progress: bool = True
                   ) -> list[SubnetRecord]:
    """The validation records of ``archs``, in order, evaluating and appending to the run's
    dataset file only the ids not yet in it (the search's predictor-in-the-loop calls this).
    Under ``torchrun`` call it on every rank; the evaluations are shared."""
    records = build_records(run, archs, progress=progress)
    return [records[arch_id(a)] for a in archs]


def records_arrays(records: Sequence[SubnetRecord]) -> tuple[np.ndarray, np.ndarray]:
    """Genomes ``(n, G)`` int64 and validation accuracies ``(n,)`` float64 of ``records``."""
    if not records:
        return np.zeros((0, 0), dtype=np.int64), np.zeros(0)
    genomes = np.array([r.genome for r in records], dtype=np.int64)
    acc = np.array([r.val_acc for r in records], dtype=np.float64)
    return genomes, acc


def measurement_reliability(records: Sequence[SubnetRecord], seed: int = 0
                            ) -> Reliability | None:
    """How precisely the validation split measures the accuracy of ``records``' subnets (see
    :mod:`~nasx.predictors.accuracy.reliability`), from those records that carry per-sequence
    correctness on the most common validation size; ``None`` when fewer than 3 do."""
    rows = [(r.val_n, r.correct()) for r in records if r.val_correct is not None]
    if not rows:
        return None
    sizes = [n for n, _ in rows]
    common = max(set(sizes), key=sizes.count)
    matrix = np.array([c for n, c in rows if n == common])  # (A, N)
    return split_half_reliability(matrix, seed=seed)


def split_sizes_ok(samples: int, holdout: int) -> None:
    """Check the sample counts asked of a build.

    Raises:
        NasxError: fewer than 10 training or held-out subnets.
    """
    if samples < 10:
        raise NasxError(f"--samples {samples}: give at least 10 training subnets")
    if holdout < 10:
        raise NasxError(f"--holdout {holdout}: give at least 10 held-out subnets")

