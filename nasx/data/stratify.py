"""Seeded splits: stratified by class, or holding out whole groups (subjects)."""

from __future__ import annotations

import math

import numpy as np


def holdout_count(n: int, fraction: float) -> int:
    """Samples a class of ``n`` gives to the held-out part.

    ``round(fraction * n)`` (halves up), clamped to ``1..n-1`` so that both parts keep the
    class; a class of one sample stays whole in the kept part.
    """
    if n < 2:
        return 0
    return min(max(math.floor(fraction * n + 0.5), 1), n - 1)


def stratified_split(
    labels: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``0..N-1`` into ``(kept, held_out)`` index arrays, class by class.

    Each class (in sorted label order) is permuted by one ``numpy.random.Generator``
    seeded with ``seed`` and gives its first :func:`holdout_count` members to
    ``held_out``. Both index arrays are sorted; the split is a function of
    ``(labels, fraction, seed)`` alone.

    Args:
        labels: ``(N,)`` class labels (any sortable dtype).
        fraction: share of each class to hold out, in ``(0, 1)``.
        seed: seed of the generator.
    """
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_held = holdout_count(members.size, fraction)
        held.append(members[:n_held])
        kept.append(members[n_held:])
    empty = np.zeros(0, dtype=np.int64)
    return (
        np.sort(np.concatenate([empty, *kept])).astype(np.int64),
        np.sort(np.concatenate([empty, *held])).astype(np.int64),
    )


def group_split(
    labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``0..N-1`` into ``(kept, held_out)`` so that no group is on both sides.

    The groups are permuted by a ``numpy.random.Generator`` seeded with ``seed`` and moved to
    ``held_out`` in that order until it holds at least ``fraction`` of the samples; a group is
    skipped when moving it would leave a class with no kept sample. Both index arrays are
    sorted; the split is a function of ``(labels, groups, fraction, seed)`` alone.

    Raises:
        ValueError: fewer than 2 groups, or no group can be held out without taking a class
            away from the kept part.
    """
    names = np.unique(groups)
    if names.size < 2:
        raise ValueError(f"groups: {names.size} group; holding out whole groups needs at least 2")
    rng = np.random.default_rng(seed)
    kept_per_class = {c: int(n) for c, n in zip(*np.unique(labels, return_counts=True),
                                               strict=True)}
    held = np.zeros(labels.shape[0], dtype=bool)
    target = fraction * labels.shape[0]
    for g in rng.permutation(names):
        if held.sum() >= target:
            break
        members = groups == g
        counts = dict(zip(*np.unique(labels[members], return_counts=True), strict=True))
        if any(kept_per_class[c] - n < 1 for c, n in counts.items()):
            continue
        held |= members
        for c, n in counts.items():
            kept_per_class[c] -= int(n)
    if not held.any():
        raise ValueError("groups: every group holds the last samples of some class; "
                         "no group can be held out")
    return (np.flatnonzero(~held).astype(np.int64), np.flatnonzero(held).astype(np.int64))


_SAMPLE_STREAM = 0x5A17


def fixed_sample(index: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """``size`` entries of ``index`` drawn without replacement by a generator seeded with
    ``(seed, 0x5A17)``, in their original order; all of ``index`` when ``size`` is None or not
    smaller."""
    if size is None or size >= index.size:
        return index
    rng = np.random.default_rng([seed, _SAMPLE_STREAM])
    return index[np.sort(rng.choice(index.size, size=size, replace=False))]
