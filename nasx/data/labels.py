"""Class names to class indices."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _as_number(name: str) -> float | None:
    try:
        return float(name)
    except ValueError:
        return None


def class_order(names: Iterable[str]) -> list[str]:
    """Return the distinct class names in index order.

    Names sort by numeric value when every name is a number (so ``'2'`` comes before
    ``'10'``), otherwise as strings.
    """
    unique = sorted(set(names))
    numbers = [_as_number(n) for n in unique]
    if all(v is not None for v in numbers):
        return [n for _, n in sorted(zip(numbers, unique, strict=True))]
    return unique


def encode_labels(labels: np.ndarray, classes: list[str]) -> np.ndarray:
    """Map ``(N,)`` class names to ``(N,)`` int64 indices into ``classes``.

    Every label must be one of ``classes`` (a ``KeyError`` otherwise).
    """
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[str(v)] for v in labels.tolist()], dtype=np.int64)
