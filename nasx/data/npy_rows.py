"""Rows of a ``.npy`` file read by position, never loaded whole and never memory-mapped.

A row is ``array[i]`` of a C-order array: ``(C, L)`` numbers of a features file, one value of a
labels or lengths file. :class:`NpyRows` reads the header once and then copies only the bytes of
the rows asked for (``os.pread``), so resident memory is the rows read, however large the file:
pages of a memory mapping would count as resident once touched, and a training epoch touches
every page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nasx.errors import DataError

CHUNK_BYTES = 16 << 20  # rows per sequential pass: about 16 MiB at a time


class NpyRows:
    """The header of a C-order ``.npy`` file and positional reads of its rows.

    Attributes:
        path: the file.
        shape: the array's shape; ``shape[0]`` rows.
        dtype: the array's dtype.
        offset: where the data starts (after the header).
    """

    def __init__(self, path: Path, fix: str) -> None:
        """Read and check the header of ``path``; ``fix`` ends each error message.

        Raises:
            DataError: not a ``.npy`` file, an object or Fortran-order array, or a file shorter
                than its header says.
        """
        self.path = path
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                self.offset = f.tell()
        except (OSError, ValueError) as err:
            raise DataError(f"'{path}' is not a .npy array ({err}); {fix}") from None
        if dtype.hasobject:
            raise DataError(f"'{path}' is an object array (needs pickle); {fix}")
        if fortran and len(shape) > 1:
            raise DataError(f"'{path}' is in Fortran order; save it with numpy.save in C order "
                            "(numpy.ascontiguousarray)")
        self.shape: tuple[int, ...] = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.row_items = int(np.prod(self.shape[1:], dtype=np.int64))
        self.row_bytes = self.row_items * self.dtype.itemsize
        want = self.offset + self.rows * self.row_bytes
        size = path.stat().st_size
        if size < want:
            raise DataError(f"'{path}' is truncated: its header says {self.shape} "
                            f"({want} bytes) but the file has {size} bytes; {fix}")

    @property
    def rows(self) -> int:
        """Number of rows ``shape[0]``."""
        return self.shape[0] if self.shape else 1

    def read_all(self) -> np.ndarray:
        """The whole array (for the small per-sequence files: labels, lengths, groups)."""
        return self.read_range(0, self.rows).reshape(self.shape)

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start .. stop-1``, ``(stop - start, *shape[1:])``, a fresh array."""
        count = max(stop - start, 0)
        buf = bytearray(count * self.row_bytes)
        with open(self.path, "rb", buffering=0) as f:
            _pread_into(f.fileno(), buf, self.offset + start * self.row_bytes)
        return np.frombuffer(buf, dtype=self.dtype).reshape(count, *self.shape[1:])

    def read_rows(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` (``(B,)`` ints, any order, repeats allowed), ``(B, *shape[1:])``.

        Reads each run of consecutive rows once, in file order.
        """
        order = np.unique(index)  # sorted (U,)
        out = np.empty((order.size, *self.shape[1:]), dtype=self.dtype)  # (U, ...)
        flat = out.reshape(order.size, -1).view(np.uint8).reshape(-1)
        breaks = np.flatnonzero(np.diff(order) != 1) + 1
        with open(self.path, "rb", buffering=0) as f:
            for run in np.split(np.arange(order.size), breaks):
                if run.size == 0:
                    continue
                first = int(order[run[0]])
                view = memoryview(flat)[run[0] * self.row_bytes:(run[-1] + 1) * self.row_bytes]
                _pread_into(f.fileno(), view, self.offset + first * self.row_bytes)
        return out[np.searchsorted(order, index)]

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, rows)`` over the whole file in order, about :data:`CHUNK_BYTES` at a time."""
        step = max(1, CHUNK_BYTES // max(self.row_bytes, 1))
        for start in range(0, self.rows, step):
            yield start, self.read_range(start, min(start + step, self.rows))


def _pread_into(fd: int, buf: bytearray | memoryview, offset: int) -> None:
    """Fill ``buf`` from file ``fd`` at ``offset`` (``os.preadv`` until full)."""
    view = memoryview(buf).cast("B")
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            raise DataError(f"a data file ended early (at byte {offset + done}); it was "
                            "truncated or replaced while nasx read it; write it again")
        done += got
