"""The measured-latency dataset: one JSON line per (subnet, round), resumable.

File layout (``latency-<device>-data.jsonl``)::

    {"nasx_latency_data": 1, "settings": {...ProfileSettings...}}
    {"id": "<arch id>", "genome": [...], "round": 0, "samples_s": [s, ...]}
    ...

A subnet's latency is a statistic (:data:`STATISTICS`: the minimum or the median) of the samples
of all its rounds, chosen when a predictor is fitted. Rounds are interleaved (every subnet once
per round, in a seeded order), so a slow spell on a shared machine spreads over all subnets
instead of biasing the few measured during it. Records are appended and flushed one by
one (fsynced after each round), so a killed profile loses at most the record being written; a
truncated last line is dropped when the file is opened again, and the profile goes on with the
(subnet, round) pairs not yet in the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from nasx.errors import NasxError
from nasx.predictors.devices.profile import RUNTIMES
from nasx.search_spaces import Arch, GenomeCodec, SearchSpace, arch_id, space_to_dict

FORMAT_KEY = "nasx_latency_data"
FORMAT_VERSION = 1
# How a subnet's pooled samples become its latency. ``min`` (best of all calls, what Python's
# timeit recommends) is what a shared machine reproduces; ``median`` includes the time other
# processes take from it.
STATISTICS: tuple[str, ...] = ("min", "median")


def pooled_statistic(samples: Sequence[float], statistic: str) -> float:
    """``min`` or ``median`` of ``samples`` (seconds)."""
    if statistic == "min":
        return min(samples)
    if statistic == "median":
        return statistics.median(samples)
    raise ValueError(f"unknown statistic {statistic!r} (allowed: {', '.join(STATISTICS)})")


def space_fingerprint(space: SearchSpace) -> str:
    """12 hex digits identifying ``space``'s choices (and so its genome layout)."""
    text = json.dumps(space_to_dict(space), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class ProfileSettings:
    """What a latency measurement depends on; every record of one dataset shares them.

    ``length`` is the input sequence length (every sequence full length), ``batch`` the number of
    sequences per forward call, ``threads`` the CPU threads (torch's or onnxruntime's intra-op
    threads), ``warmup``/``repeats`` the untimed/timed calls per round, ``runtime`` what ran the
    subnet (:data:`~nasx.predictors.devices.profile.RUNTIMES`; files written before runtimes
    were recorded measured eager ``torch``).
    """

    device: str
    space: str
    space_fingerprint: str
    channels: int
    classes: int
    length: int
    batch: int
    threads: int
    warmup: int
    repeats: int
    torch: str
    runtime: str = "torch"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any, source: str) -> ProfileSettings:
        """Read the dict :meth:`to_dict` wrote.

        Raises:
            NasxError: a missing or unknown key.
        """
        names = [f.name for f in fields(cls)]
        if isinstance(raw, dict) and "runtime" not in raw:
            raw = {**raw, "runtime": "torch"}  # written before runtimes were recorded
        if not isinstance(raw, dict) or sorted(raw) != sorted(names):
            raise NasxError(f"{source}: the settings must have exactly the keys "
                            f"{', '.join(names)}; the file is not a nasx latency file")
        for f in fields(cls):
            value, least = raw[f.name], 0 if f.name == "warmup" else 1
            ok = (isinstance(value, str) if f.type == "str" else
                  isinstance(value, int) and not isinstance(value, bool) and value >= least)
            if not ok:
                kind = "a string" if f.type == "str" else f"an integer >= {least}"
                raise NasxError(f"{source}: settings.{f.name} must be {kind}, got {value!r}; "
                                "profile again")
        if raw["runtime"] not in RUNTIMES:
            raise NasxError(f"{source}: settings.runtime {raw['runtime']!r} is not a runtime "
                            f"(allowed: {', '.join(RUNTIMES)}); profile again")
        return cls(**raw)


def _header_settings(line: str, path: Path) -> ProfileSettings:
    """The settings in a dataset's first ``line``.

    Raises:
        NasxError: the line is not the header of a nasx latency dataset.
    """
    try:
        header = json.loads(line) if line else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get(FORMAT_KEY) != FORMAT_VERSION:
        raise NasxError(f"{path}: not a nasx latency dataset (version {FORMAT_VERSION}); "
                        "move it away or pick another folder")
    return ProfileSettings.from_dict(header.get("settings"), str(path))


def stored_settings(path: Path) -> ProfileSettings:
    """The settings a dataset at ``path`` was measured with (read from its header), e.g. to
    open it with :class:`LatencyDataset` without knowing them.

    Raises:
        NasxError: the file is missing or is not a nasx latency dataset.
    """
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline()
    except OSError as err:
        raise NasxError(f"{path}: cannot read the latency dataset ({err.strerror}); "
                        "give the latency-<device>-data.jsonl that nasx profile wrote") from None
    return _header_settings(first.strip(), path)


@dataclass
class _Record:
    genome: list[int]
    rounds: dict[int, list[float]]


class LatencyDataset:
    """The JSON-lines dataset at ``path`` for ``settings`` (created when missing).

    Raises:
        NasxError: the file exists but was measured with other settings (the message names the
            first setting that differs and the fix), or is not a nasx latency file.
    """

    def __init__(self, path: Path, settings: ProfileSettings) -> None:
        self.path, self.settings = path, settings
        self._records: dict[str, _Record] = {}
        if path.exists():
            self._read()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            header = {FORMAT_KEY: FORMAT_VERSION, "settings": settings.to_dict()}
            with path.open("w", encoding="utf-8") as f:
                f.write(json.dumps(header) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def _read(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # killed mid-write: drop the partial last line
            data = data[: data.rfind(b"\n") + 1]
            with self.path.open("r+b") as f:
                f.truncate(len(data))
        lines = data.decode("utf-8").splitlines()
        stored = _header_settings(lines[0] if lines else "", self.path)
        if stored != self.settings:
            key = next(f.name for f in fields(ProfileSettings)
                       if getattr(stored, f.name) != getattr(self.settings, f.name))
            raise NasxError(
                f"{self.path} was measured with {key}={getattr(stored, key)!r}, not "
                f"{getattr(self.settings, key)!r}; profile with the same settings to extend it, "
                "or move the file away to start a new dataset")
        for n, line in enumerate(lines[1:], start=2):
            try:
                row = json.loads(line)
                rec = self._records.setdefault(row["id"], _Record(list(row["genome"]), {}))
                rec.rounds[int(row["round"])] = [float(s) for s in row["samples_s"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                raise NasxError(f"{self.path}: line {n} is not a latency record; "
                                "move the file away to start a new dataset") from None

    def __len__(self) -> int:
        """Number of subnets with at least one round."""
        return len(self._records)

    def ids(self) -> list[str]:
        """The measured subnets' arch ids, in the order of their first record."""
        return list(self._records)

    def done(self, arch_id_: str, round_: int) -> bool:
        """Whether ``round_`` of subnet ``arch_id_`` is in the file."""
        rec = self._records.get(arch_id_)
        return rec is not None and round_ in rec.rounds

    def samples_by_round(self, arch_id_: str) -> dict[int, list[float]]:
        """Round -> timed samples (seconds) of subnet ``arch_id_`` (a copy)."""
        return {r: list(s) for r, s in self._records[arch_id_].rounds.items()}

    def append(self, records: Sequence[tuple[str, list[int], int, list[float]]],
               sync: bool = False) -> None:
        """Append ``(arch id, genome, round, samples in s)`` records (flushed; fsynced if
        ``sync``)."""
        with self.path.open("a", encoding="utf-8") as f:
            for aid, genome, round_, samples in records:
                f.write(json.dumps({"id": aid, "genome": [int(g) for g in genome],
                                    "round": int(round_), "samples_s": list(samples)}) + "\n")
                rec = self._records.setdefault(aid, _Record([int(g) for g in genome], {}))
                rec.rounds[int(round_)] = list(samples)
            f.flush()
            if sync:
                os.fsync(f.fileno())

    def latency_s(self, arch_id_: str, statistic: str = "median") -> float:
        """The ``statistic`` (:data:`STATISTICS`) of every sample of subnet ``arch_id_`` over all
        its rounds."""
        rec = self._records[arch_id_]
        return pooled_statistic([s for samples in rec.rounds.values() for s in samples],
                                statistic)

    def table(self, ids: Sequence[str], statistic: str = "median"
              ) -> tuple[np.ndarray, np.ndarray]:
        """``(genomes (n, G) int64, latency (n,) float64 seconds)`` of subnets ``ids``."""
        genomes = np.array([self._records[i].genome for i in ids], dtype=np.int64)
        return genomes, np.array([self.latency_s(i, statistic) for i in ids], dtype=np.float64)


def measure_rounds(dataset: LatencyDataset, archs: Sequence[Arch], codec: GenomeCodec,
                   measure: Callable[[Arch], list[float]], *, rounds: int, seed: int,
                   progress: Callable[[int], None] | None = None) -> int:
    """Measure every arch of ``archs`` in each of ``rounds`` interleaved rounds.

    Each round visits the archs in an order drawn from ``seed`` and the round number, skips the
    (arch, round) pairs already in ``dataset`` and appends the others as they are measured.

    Args:
        measure: returns the samples (seconds) of one arch, e.g. extract and
            :func:`~nasx.predictors.latency.measure.measure_samples_s`.
        progress: called with the number of pairs just done (measured or skipped).

    Returns:
        The number of (arch, round) pairs measured by this call.
    """
    ids = [arch_id(a) for a in archs]
    measured = 0
    for r in range(rounds):
        order = np.random.default_rng([seed, r]).permutation(len(archs))
        for n in order:
            if not dataset.done(ids[n], r):
                samples = measure(archs[n])
                dataset.append([(ids[n], codec.encode(archs[n]).tolist(), r, samples)])
                measured += 1
            if progress is not None:
                progress(1)
        dataset.append([], sync=True)  # fsync once per round
    return measured
