"""Static arena planning for ``model.c``: each buffer's lifetime over the op sequence, then
offsets from a greedy-by-size planner, so the arena is (close to) the peak of live buffers.

The method is the one memory planners for microcontroller runtimes document (TensorFlow Lite
Micro's greedy planner, MCUNet's in-place/patch planning papers): a buffer is live from the op
that first names it to the op that last names it; buffers are placed largest first, each at
the lowest offset where it overlaps no already-placed buffer whose lifetime overlaps its own.
Sizes are in 4-byte words (int8 buffers are rounded up to whole words), so every buffer is
4-byte aligned.

The peak of live buffers (:func:`peak_words`) is a lower bound of any plan; the cost model
counts it (:mod:`nasx.predictors.cost.runtime_memory`), and a test checks that the plan reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Buffer:
    """One arena buffer: ``words`` 4-byte words, live from op ``first`` to op ``last``."""

    name: str
    words: int
    first: int
    last: int

    def overlaps(self, other: Buffer) -> bool:
        """Whether the two lifetimes share an op."""
        return self.first <= other.last and other.first <= self.last


def lifetimes(ops: Sequence[str], sizes: Mapping[str, int]) -> list[Buffer]:
    """The buffers of ``sizes`` (name -> words) with the first and last op (index into
    ``ops``, C statements) that names each as a whole word. A buffer no op names is left
    out."""
    out = []
    for name, words in sizes.items():
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        hits = [i for i, op in enumerate(ops) if pattern.search(op)]
        if hits:
            out.append(Buffer(name, max(int(words), 1), hits[0], hits[-1]))
    return out


def peak_words(buffers: Sequence[Buffer]) -> int:
    """The most words live at once over the op sequence (a lower bound of any plan)."""
    if not buffers:
        return 0
    last = max(b.last for b in buffers)
    live = [0] * (last + 1)
    for b in buffers:
        for i in range(b.first, b.last + 1):
            live[i] += b.words
    return max(live)


def _place(order: Sequence[Buffer]) -> tuple[dict[str, int], int]:
    """First fit in ``order``: each buffer at the lowest offset free over its lifetime."""
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[str, int] = {}
    for b in order:
        busy = sorted((off, off + o.words) for off, o in placed if o.overlaps(b))
        at = 0
        for lo, hi in busy:
            if at + b.words <= lo:
                break
            at = max(at, hi)
        offsets[b.name] = at
        placed.append((at, b))
    return offsets, max((off + b.words for off, b in placed), default=0)


def _busy(b: Buffer, placed: list[tuple[int, Buffer]]) -> list[tuple[int, int]]:
    """The ``(lo, hi)`` address ranges taken during ``b``'s lifetime, sorted."""
    return sorted((off, off + o.words) for off, o in placed if o.overlaps(b))


def _lowest(b: Buffer, busy: list[tuple[int, int]]) -> int:
    at = 0
    for lo, hi in busy:
        if at + b.words <= lo:
            break
        at = max(at, hi)
    return at


def _highest(b: Buffer, busy: list[tuple[int, int]], cap: int) -> int | None:
    top = cap
    for lo, hi in reversed(busy):
        if hi <= top - b.words:
            break
        top = min(top, lo)
    return top - b.words if top - b.words >= 0 else None


def _two_ended(buffers: Sequence[Buffer], cap: int) -> tuple[dict[str, int], int]:
    """In op order within ``cap`` words: a buffer goes to the end of the arena opposite to the
    live buffer that dies first before it (so consecutive tensors of a chain, ``t1 -> t2 ->
    t3``, ping-pong between the two ends and the space each frees joins the middle), else to
    the lowest free offset; past ``cap`` it takes the lowest free offset."""
    placed: list[tuple[int, Buffer]] = []
    side: dict[str, str] = {}
    offsets: dict[str, int] = {}
    for b in sorted(buffers, key=lambda b: (b.first, -(b.last - b.first), -b.words, b.name)):
        busy = _busy(b, placed)
        dying = [o for _, o in placed if o.overlaps(b) and o.last < b.last]
        want = "low"
        if dying:
            first = min(dying, key=lambda o: (o.last, o.name))
            want = "high" if side[first.name] == "low" else "low"
        high = _highest(b, busy, cap)
        low = _lowest(b, busy)
        if want == "high" and high is not None:
            at = high
        elif low + b.words <= cap or high is None:
            at, want = low, "low"
        else:
            at, want = high, "high"
        offsets[b.name], side[b.name] = at, want
        placed.append((at, b))
    return offsets, max((off + b.words for off, b in placed), default=0)


# First-fit orders tried after the two-ended plan (the smallest arena wins; ties go to the
# first): greedy by size (the TFLite Micro order), by lifetime x size, by lifetime, op order.
ORDERS = (
    lambda b: (-b.words, b.first, b.name),
    lambda b: (-b.words * (b.last - b.first + 1), b.first, b.name),
    lambda b: (-(b.last - b.first), -b.words, b.first, b.name),
    lambda b: (b.first, -b.words, b.name),
)


def plan(buffers: Sequence[Buffer]) -> tuple[dict[str, int], int]:
    """``(name -> offset in words, arena words)``: the two-ended plan within the peak of live
    buffers, else the smallest of first-fit placements in each of :data:`ORDERS`;
    deterministic."""
    peak = peak_words(buffers)
    best = _two_ended(buffers, peak)
    for key in ORDERS:
        if best[1] <= peak:
            break
        got = _place(sorted(buffers, key=key))
        if got[1] < best[1]:
            best = got
    return best
