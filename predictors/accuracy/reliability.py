"""How precisely a validation split measures subnet accuracy.

A subnet's validation accuracy is the mean of its per-sequence correctness. Two subnets that
differ by a sequence or two on a small split are ordered partly by the accident of which
sequences are in the split. This module estimates how much, from the per-sequence correctness
of a set of subnets, so that ``nasx predictor fit`` can say how far the measured accuracies
themselves can be trusted to rank subnets.

Method (classical test theory): split the sequences into two random halves, correlate the
subnets' accuracies on the two halves (``r``), average ``r`` over many splits, and step it up to
the full split with Spearman-Brown, ``R = 2r / (1 + r)``: the *reliability*, the share of the
variance of the measured accuracies across subnets that would recur on other sequences from the
same source. The measured accuracies then correlate with the subnets' *expected* accuracies
(on new data) at ``sqrt(R)``, which for normal errors is a Kendall tau of
``2/pi * asin(sqrt(R))`` (Greiner's relation): how well the split ranks subnets by what they
would score on new data. The noise standard deviation ``sqrt((1 - R) * var)`` is how far one
subnet's measured accuracy is from its expected one (a mean absolute gap of ``sqrt(2/pi)``
times that).

This is not a bound on a predictor's tau against the *measured* accuracies: subnets that share
parts also share their luck on particular sequences, and a predictor fitted on the same split
learns some of that.

Per-sequence correctness is stored in the predictor's dataset as a hex string of packed bits
(:func:`pack_correct`), about ``n / 4`` characters for ``n`` sequences; per-sequence losses (for
the paired loss comparison of :mod:`nasx.search.noise_pick`) as base64 of float16
(:func:`pack_losses`), about ``2.7 n`` characters.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass

import numpy as np

DEFAULT_SPLITS = 200


def pack_correct(correct: np.ndarray) -> str:
    """Hex string of ``correct`` ``(n,)`` bool packed 8 per byte (first sequence in the most
    significant bit; the last byte zero-padded)."""
    bits = np.asarray(correct, dtype=bool).reshape(-1)
    return np.packbits(bits).tobytes().hex()


def unpack_correct(text: str, n: int) -> np.ndarray:
    """The ``(n,)`` bool vector of :func:`pack_correct`.

    Raises:
        ValueError: ``text`` is not hex, or not ``ceil(n / 8)`` bytes long.
    """
    data = bytes.fromhex(text)
    if len(data) != (n + 7) // 8:
        raise ValueError(f"{len(data)} bytes of correctness for {n} sequences; want "
                         f"{(n + 7) // 8}")
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=n).astype(bool)


def pack_losses(losses: np.ndarray) -> str:
    """Base64 of ``losses`` ``(n,)`` as little-endian float16 (3 significant digits: enough
    to compare two subnets' losses sequence by sequence)."""
    return base64.b64encode(np.asarray(losses, dtype="<f2").reshape(-1).tobytes()).decode()


def unpack_losses(text: str, n: int) -> np.ndarray:
    """The ``(n,)`` float32 vector of :func:`pack_losses`.

    Raises:
        ValueError: ``text`` is not base64, or not ``2 n`` bytes long.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise ValueError(f"losses are not base64 ({err})") from None
    if len(data) != 2 * n:
        raise ValueError(f"{len(data)} bytes of losses for {n} sequences; want {2 * n}")
    return np.frombuffer(data, dtype="<f2").astype(np.float32)


@dataclass(frozen=True)
class Reliability:
    """The precision of a split's accuracy measurement over a set of subnets.

    Attributes:
        subnets: subnets measured.
        sequences: sequences in the split.
        split_half_r: mean Pearson correlation of the subnets' accuracies on two random halves.
        reliability: Spearman-Brown reliability of the full split, in [0, 1].
        tau_expected: Kendall tau between the measured and the expected accuracies (normal
            model): how well the split ranks the subnets by their accuracy on new data.
        noise_sd: standard deviation of the measurement noise of one subnet's accuracy
            (a fraction).
    """

    subnets: int
    sequences: int
    split_half_r: float
    reliability: float
    tau_expected: float
    noise_sd: float

    def as_json(self) -> dict[str, float | int]:
        """A JSON-ready dict of the attributes."""
        return {"subnets": self.subnets, "sequences": self.sequences,
                "split_half_r": self.split_half_r, "reliability": self.reliability,
                "tau_expected": self.tau_expected, "noise_sd": self.noise_sd}


def split_half_reliability(correct: np.ndarray, *, splits: int = DEFAULT_SPLITS,
                           seed: int = 0) -> Reliability | None:
    """Reliability of the accuracies ``correct.mean(axis=1)`` from random half-splits.

    Args:
        correct: ``(subnets, sequences)`` bool or 0/1, each row one subnet's per-sequence
            correctness on the same sequences in the same order (any per-sequence score works
            the same way, e.g. the probability of the true class).
        splits: random half-splits averaged (the halves are ``floor(n/2)`` and ``ceil(n/2)``).
        seed: seeds the splits.

    Returns:
        The estimate, or ``None`` when it is undefined: fewer than 3 subnets or 2 sequences, or
        no split in which both halves vary across subnets.
    """
    m = np.asarray(correct, dtype=np.float64)  # (A, N)
    if m.ndim != 2:
        raise ValueError(f"correct must be (subnets, sequences), got shape {m.shape}")
    a, n = m.shape
    if a < 3 or n < 2:
        return None
    rng = np.random.default_rng(seed)
    rs = []
    for _ in range(splits):
        order = rng.permutation(n)
        first, second = order[: n // 2], order[n // 2:]
        r = _pearson(m[:, first].mean(axis=1), m[:, second].mean(axis=1))
        if r is not None:
            rs.append(r)
    if not rs:
        return None
    r = float(np.mean(rs))
    rel = min(max(2.0 * r / (1.0 + r), 0.0), 1.0) if r > -1.0 else 0.0
    ceiling = 2.0 / math.pi * math.asin(math.sqrt(rel))
    noise = math.sqrt((1.0 - rel) * float(m.mean(axis=1).var()))
    return Reliability(a, n, r, rel, ceiling, noise)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of two ``(A,)`` vectors; ``None`` if either is constant."""
    dx, dy = x - x.mean(), y - y.mean()
    sx, sy = float(np.sqrt((dx * dx).sum())), float(np.sqrt((dy * dy).sum()))
    if sx < 1e-12 or sy < 1e-12:
        return None
    return float((dx * dy).sum() / (sx * sy))
