"""Layout rules shared by the supernet and the cost model (pure Python, no torch).

They turn an arch's choices into layer sizes: both sides must agree exactly, so the rules live
here once.
"""

from __future__ import annotations

from collections.abc import Sequence


def inner_width(width: int, ratio: float) -> int:
    """A block's inner width, ``round(ratio * width)`` and at least 1 (expand, hidden, FFN)."""
    return max(1, round(ratio * width))


def entry_kernel(strides: Sequence[int]) -> int:
    """Kernel of a stage's entry conv: 3 when the stage may stride, else 1 (pointwise)."""
    return 3 if max(strides) > 1 else 1
