"""``load_dataset``: a dataset name to normalised train/val/test splits."""

from __future__ import annotations

from pathlib import Path

import torch

from nasx.data.fingerprint import data_fingerprint
from nasx.data.folder_loading import load_npy_folder
from nasx.data.labels import class_order, encode_labels
from nasx.data.normalize import channel_stats, mode_of, series_standardize, standardize
from nasx.data.raw import RawSplit
from nasx.data.registry import read_dataset
from nasx.data.sequences import SequenceSet
from nasx.data.splits import DatasetSplits
from nasx.data.stratify import fixed_sample, group_split, stratified_split
from nasx.errors import DataError


def _to_set(raw: RawSplit, classes: list[str]) -> SequenceSet:
    return SequenceSet.from_numpy(raw.x, raw.lengths, encode_labels(raw.labels, classes))


def load_dataset(
    name: str, *, val_fraction: float = 0.2, seed: int = 0, normalize: str | bool = True,
    val_sample: int | None = None,
) -> DatasetSplits:
    """Load dataset ``name`` and split it into train, val and test.

    Names: ``japanese-vowels`` (the default), ``ucr:<Name>`` for a UCR/UEA dataset
    bundled with aeon (offline; nothing is downloaded), ``npz:<path>`` for your own
    data (see :func:`nasx.data.npz_source.load_npz`; without test arrays, a stratified
    20% test split is carved from the file's data with ``seed``), ``npy:<folder>`` for data
    too large for memory (:func:`nasx.data.folder_loading.load_npy_folder`: the splits are
    :class:`~nasx.data.lazy_sequences.LazySequenceSet` s, read one batch at a time).

    - Class names map to ``0..K-1`` in sorted order (numerically if all are numbers).
    - ``val`` is a stratified ``val_fraction`` of the *training* data: per class
      ``round(val_fraction * n)`` samples, at least 1 and never the whole class (a
      class of one sample stays in train), drawn by a ``numpy.random.Generator``
      seeded with ``seed``; when the data has ``groups`` (npz), whole groups are held out
      instead (:func:`nasx.data.stratify.group_split`). The test split is left as the source
      gives it.
    - ``normalize`` (see :mod:`nasx.data.normalize`): ``channel`` (or ``True``) standardises
      each channel with the mean and std of the valid steps of ``train`` (after the val split;
      std floored at 1e-6), the same statistics applied to val and test; ``series``
      z-normalises each sequence and channel over its own valid steps; ``none`` (or
      ``False``) keeps the data as given; ``auto`` picks ``series`` or ``channel`` from the
      training split (:func:`nasx.data.normalize.auto_mode`). Padded steps stay exactly 0.
    - ``val_sample``: validate on a fixed sample of that many sequences of the validation split
      (:func:`nasx.data.stratify.fixed_sample`, seeded; the rest of it is left out, never moved
      to training); ``None`` or a number at least the split's size: all of it.

    Raises:
        DataError: an unknown or non-bundled name, a malformed npz file, a bad
            ``val_fraction`` or ``seed``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    if seed < 0:
        raise DataError(f"seed must be a non-negative int, got {seed}")
    kind, sep, rest = name.partition(":")
    if sep and kind == "npy":
        if not rest:
            raise DataError("dataset 'npy:' needs a folder, e.g. npy:data/kws")
        return load_npy_folder(Path(rest), name, val_fraction=val_fraction, seed=seed,
                               normalize=normalize, val_sample=val_sample)
    raw = read_dataset(name, seed)
    classes = class_order(raw.train.labels.tolist())
    unseen = sorted(set(raw.test.labels.tolist()) - set(classes))
    if unseen:
        raise DataError(
            f"dataset '{name}': test class '{unseen[0]}' does not occur in the training data; "
            "every test class needs training samples"
        )
    if raw.train.groups is not None:
        try:
            train_index, val_index = group_split(raw.train.labels, raw.train.groups,
                                                 val_fraction, seed)
        except ValueError as err:
            raise DataError(f"dataset '{name}': {err}") from None
    else:
        train_index, val_index = stratified_split(raw.train.labels, val_fraction, seed)
    val_pool = len(val_index)
    val_index = fixed_sample(val_index, val_sample, seed)
    train = _to_set(raw.train.take(train_index), classes)
    val = _to_set(raw.train.take(val_index), classes)
    test = _to_set(raw.test, classes)
    channels = train.channels
    mode = mode_of(normalize, train)
    mean, std = torch.zeros(channels), torch.ones(channels)
    if mode == "channel":
        mean, std = channel_stats(train)
        train, val, test = (standardize(s, mean, std) for s in (train, val, test))
    elif mode == "series":
        train, val, test = (series_standardize(s) for s in (train, val, test))
    return DatasetSplits(
        name=name,
        train=train,
        val=val,
        test=test,
        classes=classes,
        channels=channels,
        max_length=max(s.max_length for s in (train, val, test)),
        mean=mean,
        std=std,
        normalization=mode,
        val_split="group" if raw.train.groups is not None else "stratified",
        val_pool=val_pool,
        fingerprint=data_fingerprint(raw),
    )
