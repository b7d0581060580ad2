"""Users' data too large for memory: a folder of ``.npy`` files, read lazily (``npy:<folder>``).

Files (each written with ``numpy.save``; :mod:`tools/make_synthetic.py` writes them in chunks):

- ``X.npy``: ``[N, C, L]`` numbers (float32 keeps it small), zero-padded ragged data with
- ``lengths.npy`` (optional): ``(N,)`` ints in ``1..L``, the valid steps of each row;
- ``y.npy``: ``(N,)`` labels, ints or strings;
- ``groups.npy`` (optional): ``(N,)`` ints or strings, the subject of each row;
- ``X_test.npy``, ``y_test.npy``, ``lengths_test.npy`` (optional): a test split.

Only the per-sequence files (labels, lengths, groups) are read whole. The features are read
once in chunks when the data set is opened (:mod:`nasx.data.folder_pass`: fingerprint, a check
for NaN/inf, normalisation statistics) and afterwards row by row, one batch at a time
(:class:`~nasx.data.lazy_sequences.LazySequenceSet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasx.data.npy_rows import NpyRows
from nasx.data.raw import label_names
from nasx.errors import DataError

KNOWN_FILES = ("X", "y", "lengths", "groups", "X_test", "y_test", "lengths_test")
_LABEL_KINDS = "biufUS"


@dataclass(frozen=True, eq=False)
class FolderSplit:
    """One split of a folder as stored: features file, lengths, label names, groups."""

    x: NpyRows
    lengths: np.ndarray  # (N,) int64
    labels: np.ndarray  # (N,) str
    groups: np.ndarray | None = None  # (N,) str


class NpyFolder:
    """The ``.npy`` files of a data folder, checked; raises one-line ``DataError`` s."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_dir():
            raise DataError(f"npy folder '{path}' not found; give a folder of .npy files after "
                            "'npy:' (X.npy, y.npy, ...; see 'nasx data list')")
        names = sorted(p.stem for p in path.glob("*.npy"))
        unknown = [n for n in names if n not in KNOWN_FILES]
        if unknown:
            raise self.fail(f"unknown file {unknown[0]}.npy; the files are "
                            f"{', '.join(k + '.npy' for k in KNOWN_FILES)} (rename or move it)")
        self.names = names

    def fail(self, problem: str) -> DataError:
        """A ``DataError`` that names the folder."""
        return DataError(f"npy folder '{self.path}': {problem}")

    def has(self, key: str) -> bool:
        """Whether the folder has ``key.npy``."""
        return key in self.names

    def rows(self, key: str) -> NpyRows:
        """The header of ``key.npy``, which must exist."""
        if not self.has(key):
            found = ", ".join(n + ".npy" for n in self.names) or "no .npy files"
            raise self.fail(f"no {key}.npy (it has: {found}); save the features as X.npy and "
                            "the labels as y.npy with numpy.save")
        return NpyRows(self.path / f"{key}.npy", f"write {key}.npy again with numpy.save")

    def small(self, key: str, n: int, kinds: str, what: str) -> np.ndarray:
        """``key.npy`` read whole: a ``(n,)`` array of dtype kind in ``kinds``."""
        rows = self.rows(key)
        if rows.shape != (n,) or rows.dtype.kind not in kinds:
            raise self.fail(f"{key}.npy must be {what} of shape ({n},) (one per row of X), got "
                            f"shape {rows.shape} and dtype {rows.dtype}")
        return rows.read_all()

    def split(self, suffix: str) -> FolderSplit:
        """Read and check ``X{suffix}``, ``y{suffix}``, ``lengths{suffix}`` (and ``groups``)."""
        xk, yk, lk = f"X{suffix}", f"y{suffix}", f"lengths{suffix}"
        x = self.rows(xk)
        if x.dtype.kind not in "iuf" or len(x.shape) != 3 or 0 in x.shape:
            raise self.fail(f"{xk}.npy must be a numeric array of shape [N, C, L] with N, C, "
                            f"L >= 1, got shape {x.shape} and dtype {x.dtype}")
        n, _, length = x.shape
        y = self.small(yk, n, _LABEL_KINDS, "an int or string array")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise self.fail(f"{yk}.npy has NaN/inf labels; give every sample a class")
        if self.has(lk):
            lengths = self.small(lk, n, "iu", "an int array").astype(np.int64)
            if lengths.min() < 1 or lengths.max() > length:
                raise self.fail(f"{lk}.npy must be in 1..{length} (the padded length of "
                                f"{xk}.npy), got min {lengths.min()} and max {lengths.max()}")
        else:
            lengths = np.full(n, length, dtype=np.int64)
        groups = None
        if not suffix and self.has("groups"):
            groups = label_names(self.small("groups", n, "iuUS", "an int or string array"))
        return FolderSplit(x=x, lengths=lengths, labels=label_names(y), groups=groups)

    def test_split(self, train: FolderSplit) -> FolderSplit | None:
        """The folder's test split, or None when it has none (then one is carved)."""
        present = [k for k in ("X_test", "y_test") if self.has(k)]
        if len(present) == 1:
            other = "y_test" if present[0] == "X_test" else "X_test"
            raise self.fail(f"it has {present[0]}.npy but no {other}.npy; save both or neither")
        if self.has("lengths_test") and not present:
            raise self.fail("it has lengths_test.npy but no X_test.npy; save X_test.npy and "
                            "y_test.npy too")
        if not present:
            return None
        test = self.split("_test")
        if test.x.shape[1] != train.x.shape[1]:
            raise self.fail(f"X_test.npy has {test.x.shape[1]} channels but X.npy has "
                            f"{train.x.shape[1]}; save both with the same channels")
        return test
