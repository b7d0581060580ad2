"""Users' own data from an ``.npz`` file (read without unpickling anything).

Arrays (see :func:`load_npz`):

- ``X``: ``[N, C, L]`` or ``[N, L]`` (one channel) numbers; ragged data is saved padded,
  with ``lengths``.
- ``y``: ``(N,)`` labels, ints or strings.
- ``lengths`` (optional): ``(N,)`` ints in ``1..L``, the valid steps of each padded row.
- ``X_test``, ``y_test``, ``lengths_test`` (optional): a test split in the same format.
- ``groups`` (optional): ``(N,)`` ints or strings, the subject (speaker, patient, user,
  session) of each training sample; the validation split (and a carved test split) then hold
  out whole groups, so that selection measures generalisation to new subjects.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from nasx.data.labels import class_order
from nasx.data.raw import RawDataset, RawSplit, label_names
from nasx.data.stratify import group_split, stratified_split
from nasx.errors import DataError

TEST_FRACTION = 0.2
_LABEL_KINDS = "biufUS"


class _NpzReader:
    """Reads arrays out of one npz file and raises one-line ``DataError`` s about it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise DataError(f"npz file '{path}' not found; check the path after 'npz:'")
        not_npz = f"'{path}' is not an npz file (a zip of .npy arrays); write it with numpy.savez"
        if not zipfile.is_zipfile(path):
            raise DataError(not_npz)
        try:
            self.npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile):
            raise DataError(not_npz) from None
        if not isinstance(self.npz, np.lib.npyio.NpzFile):
            raise DataError(not_npz)
        self.keys = sorted(self.npz.files)

    def fail(self, problem: str) -> DataError:
        """A ``DataError`` that names the file."""
        return DataError(f"npz file '{self.path}': {problem}")

    def has(self, key: str) -> bool:
        """Whether the file holds an array called ``key``."""
        return key in self.npz.files

    def read(self, key: str, pickle_fix: str) -> np.ndarray:
        """Array ``key``; ``pickle_fix`` says how to save it when it is an object array."""
        try:
            value = self.npz[key]
        except ValueError:
            raise self.fail(f"{key} is an object array (needs pickle); {pickle_fix}") from None
        except (OSError, zipfile.BadZipFile, EOFError):
            raise self.fail(
                f"{key} cannot be read; write the file again with numpy.savez"
            ) from None
        if not isinstance(value, np.ndarray):
            raise self.fail(f"{key} is not a .npy array; write the file with numpy.savez")
        return value

    def require(self, key: str) -> np.ndarray:
        """Array ``key``, which the file must have."""
        if not self.has(key):
            found = ", ".join(self.keys) or "nothing"
            raise DataError(
                f"npz file '{self.path}' has no '{key}' array (it has: {found}); "
                "save the features as X and the labels as y"
            )
        fix = (
            "save ragged data as padded X with a 'lengths' array"
            if key.startswith("X")
            else "save labels as an int or str array"
        )
        return self.read(key, fix)


def _read_split(npz: _NpzReader, suffix: str) -> RawSplit:
    """Read and check ``X{suffix}``, ``y{suffix}`` and ``lengths{suffix}``."""
    xk, yk, lk = f"X{suffix}", f"y{suffix}", f"lengths{suffix}"
    x = npz.require(xk)
    if x.dtype.kind not in "iuf" or x.ndim not in (2, 3):
        raise npz.fail(
            f"{xk} must be a numeric array of shape [N, C, L] or [N, L], "
            f"got shape {x.shape} and dtype {x.dtype}"
        )
    if 0 in x.shape:
        raise npz.fail(f"{xk} has shape {x.shape}; it needs at least one sample and time step")
    x = x.astype(np.float64)  # a copy: padding is zeroed below
    if x.ndim == 2:
        x = x[:, None, :]  # (N, L) -> (N, 1, L)
    n, _, length = x.shape

    y = npz.require(yk)
    if y.ndim != 1 or y.dtype.kind not in _LABEL_KINDS:
        raise npz.fail(
            f"{yk} must be a 1-D array of ints or strings, got shape {y.shape} and dtype {y.dtype}"
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise npz.fail(f"{yk} has NaN/inf labels; give every sample a class")
    if y.shape[0] != n:
        raise npz.fail(
            f"{yk} has {y.shape[0]} labels but {xk} has {n} samples; save one label per sample"
        )

    if npz.has(lk):
        lengths = npz.read(lk, "save lengths as an int array")
        if lengths.dtype.kind not in "iu" or lengths.shape != (n,):
            raise npz.fail(
                f"{lk} must be an int array of shape ({n},) (one per sample), "
                f"got shape {lengths.shape} and dtype {lengths.dtype}"
            )
        if lengths.min() < 1 or lengths.max() > length:
            raise npz.fail(
                f"{lk} must be in 1..{length} (the padded length of {xk}), "
                f"got min {lengths.min()} and max {lengths.max()}"
            )
        lengths = lengths.astype(np.int64)
    else:
        lengths = np.full(n, length, dtype=np.int64)

    valid = np.arange(length)[None, None, :] < lengths[:, None, None]  # (N, 1, L)
    bad = int((~np.isfinite(x) & valid).sum())
    if bad:
        raise npz.fail(
            f"{xk} has {bad} NaN/inf values inside the valid lengths; "
            "fill or drop them before saving"
        )
    x = np.where(valid, x, 0.0)  # (N, C, L), padding exactly 0
    return RawSplit(x=x, lengths=lengths, labels=label_names(y))


def _with_groups(npz: _NpzReader, data: RawSplit) -> RawSplit:
    """``data`` with the file's ``groups`` array (checked), if it has one."""
    if not npz.has("groups"):
        return data
    groups = npz.read("groups", "save groups as an int or string array")
    if groups.shape != (len(data),) or groups.dtype.kind not in "iuUS":
        raise npz.fail(f"groups must be a 1-D array of ints or strings, one per sample of X "
                       f"({len(data)}), got shape {groups.shape} and dtype {groups.dtype}")
    return RawSplit(x=data.x, lengths=data.lengths, labels=data.labels,
                    groups=label_names(groups))


def _carve_test(npz: _NpzReader, data: RawSplit, seed: int) -> tuple[RawSplit, RawSplit]:
    """Split ``data`` into ``(train, test)`` with a stratified test fraction of 0.2."""
    names, counts = np.unique(data.labels, return_counts=True)
    for name in class_order(names.tolist()):
        count = int(counts[names.tolist().index(name)])
        if count < 2:
            raise npz.fail(
                f"class '{name}' has {count} sample; each class needs at least 2 to carve a "
                "stratified test split (or save X_test and y_test)"
            )
    if data.groups is not None:
        try:
            train_index, test_index = group_split(data.labels, data.groups, TEST_FRACTION, seed)
        except ValueError as err:
            raise npz.fail(f"{err}; save X_test and y_test, or more groups") from None
    else:
        train_index, test_index = stratified_split(data.labels, TEST_FRACTION, seed)
    return data.take(train_index), data.take(test_index)


def load_npz(path: Path, display_name: str, seed: int) -> RawDataset:
    """Read a dataset from an npz file; never unpickles.

    When the file has no ``X_test``/``y_test``, a stratified test split of 20% of each
    class (at least one sample, never the whole class) is carved out of ``X``/``y`` with
    a ``numpy.random.Generator`` seeded with ``seed``; every class then needs at least 2
    samples.

    Raises:
        DataError: a one-line message for a missing or malformed file.
    """
    npz = _NpzReader(path)
    with npz.npz:
        data = _with_groups(npz, _read_split(npz, ""))
        classes = np.unique(data.labels)
        if classes.size < 2:
            raise npz.fail(f"y has only 1 class ('{classes[0]}'); classification needs at least 2")
        has_test = [k for k in ("X_test", "y_test") if npz.has(k)]
        if len(has_test) == 1:
            other = "y_test" if has_test[0] == "X_test" else "X_test"
            raise npz.fail(f"it has {has_test[0]} but no {other}; save both or neither")
        if npz.has("lengths_test") and not has_test:
            raise npz.fail("it has lengths_test but no X_test; save X_test and y_test too")
        if not has_test:
            train, test = _carve_test(npz, data, seed)
            return RawDataset(name=display_name, train=train, test=test)
        test = _read_split(npz, "_test")
        if test.x.shape[1] != data.x.shape[1]:
            raise npz.fail(
                f"X_test has {test.x.shape[1]} channels but X has {data.x.shape[1]}; "
                "save both with the same channels"
            )
        return RawDataset(name=display_name, train=data, test=test)
