"""``load_npy_folder``: an ``npy:<folder>`` data set as lazily read train/val/test splits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from nasx.data.fingerprint import ARRAY_NAMES, labels_digest
from nasx.data.folder_pass import scan_features, series_spread
from nasx.data.labels import class_order, encode_labels
from nasx.data.lazy_sequences import LazySequenceSet, Normalization
from nasx.data.normalize import MODES, SERIES_SPREAD
from nasx.data.npy_folder import FolderSplit, NpyFolder
from nasx.data.splits import DatasetSplits
from nasx.data.stratify import fixed_sample, group_split, stratified_split
from nasx.errors import DataError

TEST_FRACTION = 0.2  # as an npz file without test arrays


def _int_digest(*arrays: np.ndarray) -> str:
    """SHA-256 (hex) of the dtypes, shapes and bytes of ``arrays``."""
    digest = hashlib.sha256()
    for values in arrays:
        digest.update(f"{values.dtype.str}|{values.shape}|".encode())
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _carve(folder: NpyFolder, split: FolderSplit, fraction: float, seed: int,
           what: str) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, held_out)`` row positions of ``split``: whole groups, or stratified by class."""
    if split.groups is not None:
        try:
            return group_split(split.labels, split.groups, fraction, seed)
        except ValueError as err:
            raise folder.fail(f"{err}; {what}") from None
    return stratified_split(split.labels, fraction, seed)


def _mode(normalize: str | bool, spread: float) -> str:
    if normalize == "auto":
        return "series" if spread > SERIES_SPREAD else "channel"
    if isinstance(normalize, bool):
        return "channel" if normalize else "none"
    if normalize not in MODES:
        raise ValueError(f"unknown normalisation {normalize!r}; choose from {', '.join(MODES)}")
    return normalize


def load_npy_folder(path: Path, name: str, *, val_fraction: float, seed: int,
                    normalize: str | bool, val_sample: int | None = None) -> DatasetSplits:
    """Open the folder data set ``path`` (see :mod:`nasx.data.npy_folder`) as three lazily
    read splits: ``test`` from ``X_test.npy`` or carved (stratified 20%, whole groups when the
    folder has ``groups.npy``, seeded), ``val`` carved from the rest like any data set.

    Reads the features once (fingerprint, NaN/inf check, statistics of the training rows);
    the splits then read one batch at a time.

    Raises:
        DataError: a missing, malformed or truncated file, with the fix.
    """
    folder = NpyFolder(path)
    data = folder.split("")
    if np.unique(data.labels).size < 2:
        raise folder.fail(f"y.npy has only 1 class ('{data.labels[0]}'); classification needs "
                          "at least 2")
    test = folder.test_split(data)
    rows = np.arange(data.x.rows)
    if test is None:
        names, counts = np.unique(data.labels, return_counts=True)
        if counts.min() < 2:
            raise folder.fail(f"class '{names[counts.argmin()]}' has 1 sample; each class needs "
                              "at least 2 to carve a stratified test split (or save X_test.npy "
                              "and y_test.npy)")
        rows, test_rows = _carve(folder, data, TEST_FRACTION, seed,
                                 "save X_test.npy and y_test.npy, or more groups")
    classes = class_order(data.labels[rows].tolist())
    test_labels = data.labels[test_rows] if test is None else test.labels
    unseen = sorted(set(test_labels.tolist()) - set(classes))
    if unseen:
        raise DataError(f"dataset '{name}': test class '{unseen[0]}' does not occur in the "
                        "training data; every test class needs training samples")
    kept = FolderSplit(x=data.x, lengths=data.lengths[rows], labels=data.labels[rows],
                       groups=None if data.groups is None else data.groups[rows])
    train_pos, val_pos = _carve(folder, kept, val_fraction, seed,
                                "lower data.val_fraction or give more groups")
    train_rows, val_rows = rows[train_pos], rows[fixed_sample(val_pos, val_sample, seed)]

    scan = scan_features(data.x, data.lengths, train_rows)
    test_scan = scan_features(test.x, test.lengths, None) if test is not None else None
    for key, result in (("X", scan), ("X_test", test_scan)):
        if result is not None and result.bad:
            raise folder.fail(f"{key}.npy has {result.bad} NaN/inf values inside the valid "
                              "lengths; fill or drop them before saving")
    assert scan.mean is not None and scan.std is not None and scan.series_std is not None
    auto = "series" if series_spread(scan.series_std) > SERIES_SPREAD else "channel"
    mode = auto if normalize == "auto" else _mode(normalize, 1.0)
    mean = torch.from_numpy(scan.mean).float() if mode == "channel" else torch.zeros(
        data.x.shape[1])
    std = torch.from_numpy(scan.std).float() if mode == "channel" else torch.ones(
        data.x.shape[1])
    norm = Normalization(mode, mean, std) if mode == "channel" else Normalization(mode)

    def lazy(split: FolderSplit, pos: np.ndarray) -> LazySequenceSet:
        y = encode_labels(split.labels[pos], classes)
        return LazySequenceSet(split.x, pos.astype(np.int64),
                               torch.from_numpy(split.lengths[pos].copy()),
                               torch.from_numpy(np.asarray(y, dtype=np.int64)), norm)

    train, val = lazy(data, train_rows), lazy(data, val_rows)
    test_set = lazy(data, test_rows) if test is None else lazy(test, np.arange(test.x.rows))
    if test is not None:
        assert test_scan is not None
        x_test, y_test, lengths_test = test_scan.digest, test.labels, test.lengths
    else:  # the carved rows of X: their positions stand for their values
        x_test = _int_digest(np.frombuffer(scan.digest.encode(), dtype=np.uint8), test_rows)
        y_test, lengths_test = data.labels[test_rows], data.lengths[test_rows]
    parts = {"X": scan.digest, "y": labels_digest(data.labels),
             "lengths": _int_digest(data.lengths), "X_test": x_test,
             "y_test": labels_digest(y_test), "lengths_test": _int_digest(lengths_test)}
    if data.groups is not None:
        parts["groups"] = labels_digest(data.groups)
    joined = "|".join(f"{k}={parts[k]}" for k in ARRAY_NAMES if k in parts)
    return DatasetSplits(
        name=name, train=train, val=val, test=test_set,  # type: ignore[arg-type]
        classes=classes, channels=data.x.shape[1],
        max_length=max(s.max_length for s in (train, val, test_set)), mean=mean, std=std,
        normalization=mode, val_split="group" if data.groups is not None else "stratified",
        val_pool=len(val_pos), auto_normalization=auto,
        fingerprint={**parts, "all": hashlib.sha256(joined.encode()).hexdigest()},
    )
