"""One sequential pass over a features file: digest, NaN/inf check, normalisation statistics.

The file is read in chunks of about :data:`~nasx.data.npy_rows.CHUNK_BYTES`, so memory stays at
one chunk however many rows the file has. Statistics are over the valid steps of the training
rows only, in float64: per channel the count, and the sums of ``x - shift`` and its square
(``shift`` the first chunk's channel mean keeps ``E[d^2] - E[d]^2`` accurate), and per training
row and channel its population std (for ``normalize: auto``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from nasx.data.npy_rows import NpyRows

MIN_STD = 1e-6  # as nasx.data.normalize


@dataclass
class PassResult:
    """What one pass over a features file measured.

    Attributes:
        digest: SHA-256 (hex) of the array's dtype, shape and stored bytes.
        bad: NaN/inf values inside the valid lengths.
        mean, std: ``(C,)`` float64 channel statistics of the training rows (population std,
            floored at 1e-6); None when no training rows were given.
        series_std: ``(n_train, C)`` float32, each training row's per-channel std, in the
            order of the training rows given; None likewise.
    """

    digest: str
    bad: int
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    series_std: np.ndarray | None = None


def scan_features(x: NpyRows, lengths: np.ndarray, train_rows: np.ndarray | None) -> PassResult:
    """Read ``x`` (``(N, C, L)``) once; ``lengths (N,)``; statistics over ``train_rows``."""
    channels = x.shape[1]
    digest = hashlib.sha256(f"{x.dtype.str}|{x.shape}|".encode())
    position = np.full(x.rows, -1, dtype=np.int64)  # file row -> training position
    if train_rows is not None:
        position[train_rows] = np.arange(train_rows.size)
        series = np.zeros((train_rows.size, channels), dtype=np.float32)
    shift: np.ndarray | None = None
    s1, s2, count = np.zeros(channels), np.zeros(channels), 0.0
    bad = 0
    for start, chunk in x.chunks():
        digest.update(chunk.tobytes())
        k = chunk.shape[0]
        n = lengths[start:start + k]  # (k,)
        valid = np.arange(chunk.shape[2])[None, None, :] < n[:, None, None]  # (k, 1, L)
        values = chunk.astype(np.float64)  # (k, C, L)
        finite = np.isfinite(values)
        bad += int((~finite & valid).sum())
        pos = position[start:start + k]
        mine = pos >= 0
        if train_rows is None or not mine.any() or bad:
            continue
        v, m = np.where(valid, values, 0.0)[mine], valid[mine]  # (t, C, L), (t, 1, L)
        rows_n = n[mine].astype(np.float64)[:, None]  # (t, 1)
        row_mean = v.sum(axis=2) / rows_n  # (t, C)
        row_var = (((v - row_mean[:, :, None]) ** 2) * m).sum(axis=2) / rows_n  # (t, C)
        series[pos[mine]] = np.sqrt(row_var)
        if shift is None:
            shift = (row_mean * rows_n).sum(axis=0) / rows_n.sum()  # (C,)
        d = (v - shift[None, :, None]) * m  # (t, C, L)
        s1 += d.sum(axis=(0, 2))
        s2 += (d * d).sum(axis=(0, 2))
        count += float(rows_n.sum())
    result = PassResult(digest=digest.hexdigest(), bad=bad)
    if train_rows is not None and shift is not None:
        mean_d = s1 / count
        var = np.maximum(s2 / count - mean_d**2, 0.0)
        result.mean, result.std = shift + mean_d, np.maximum(np.sqrt(var), MIN_STD)
        result.series_std = series
    return result


def series_spread(series_std: np.ndarray) -> float:
    """:func:`nasx.data.normalize.series_scale_spread` of per-row stds ``(N, C)``: per channel
    the 90th over the 10th percentile (linear interpolation, as torch's), median over channels
    (numpy's: the mean of the middle two for an even count of channels, where torch takes the
    lower one; in numpy because torch's quantile refuses more than 2^24 values)."""
    hi = np.quantile(series_std.astype(np.float64), 0.9, axis=0)
    lo = np.maximum(np.quantile(series_std.astype(np.float64), 0.1, axis=0), 1e-12)  # (C,)
    return float(np.median(hi / lo))
