"""Seeds derived from the run seed, one per purpose, so streams never overlap."""

from __future__ import annotations

import numpy as np


def derived_seed(*keys: int) -> int:
    """A 63-bit seed determined by the integers ``keys`` (e.g. ``(seed, epoch, stream)``)."""
    state = np.random.SeedSequence(list(keys)).generate_state(2, dtype=np.uint32)  # (2,)
    return (int(state[0]) << 31) ^ int(state[1])
