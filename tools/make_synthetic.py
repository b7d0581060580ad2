"""A seeded synthetic sequence-classification data set of any size, as an ``npy:`` folder.

    python tools/make_synthetic.py --out data/syn10k --n 10000
    python tools/make_synthetic.py --out data/syn1m --n 1000000 --channels 40 --length 100 \
        --classes 12 --seed 0 [--groups 200] [--dtype float16] [--overwrite]
    nasx train --data npy:data/syn1m --out runs/syn1m ...

Writes ``X.npy`` ``(N, C, L)`` (zero-padded), ``lengths.npy``, ``y.npy`` and, with ``--groups``,
``groups.npy`` into ``--out`` (see the README's Data section), :data:`CHUNK` rows at a time
straight to the file, so writing 1,000,000 sequences never holds more than one chunk. Row ``i``
depends only on ``(seed, i // CHUNK)``: the first 10,000 rows of a 1,000,000-row set are the
10,000-row set.

Each sequence has a length drawn uniformly from ``L/2 .. L`` and Gaussian noise on every
channel; its class ``k`` (uniform over ``--classes``) adds three things a conv, an LSTM or an
attention block can each pick up:

- a sinusoid of a class frequency on a class band of channels (a local, periodic pattern);
- two short bumps on two class channels, the first before the second (order matters: classes
  ``k`` and ``k + K/2`` share the channels and differ in which comes first);
- a slow drift whose sign is the class's parity (a whole-sequence trend).

With ``--groups G`` every row gets a subject ``0..G-1`` whose own gain and offset per channel
scale the signal (a subject effect a group split must generalise over).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

CHUNK = 4096


def _class_tables(classes: int, channels: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 0xC1A55])
    half = max(classes // 2, 1)
    pair = np.arange(classes) % half  # classes k and k + K/2 share channels
    return {
        "freq": 0.04 + 0.16 * rng.random(classes),  # cycles per step
        "band": rng.integers(0, channels, size=(classes, max(channels // 8, 1))),
        "first": rng.integers(0, channels, size=half)[pair],
        "second": rng.integers(1, max(channels, 2), size=half)[pair],  # offset from first
        "order": (np.arange(classes) >= half).astype(np.int64),
    }


def make_chunk(start: int, count: int, *, channels: int, length: int, classes: int,
               groups: int, seed: int) -> dict[str, np.ndarray]:
    """Rows ``start .. start+count-1`` (``start`` a multiple of :data:`CHUNK`, ``count`` at
    most :data:`CHUNK`): ``X`` ``(count, C, L)`` float64, ``lengths``, ``y`` and ``groups``
    ``(count,)``. The whole chunk is drawn and cut, so a row never depends on ``count``."""
    part = _chunk(start, channels=channels, length=length, classes=classes, groups=groups,
                  seed=seed)
    return {k: v[:count] for k, v in part.items()}


def _chunk(start: int, *, channels: int, length: int, classes: int, groups: int,
           seed: int) -> dict[str, np.ndarray]:
    count = CHUNK
    t = _class_tables(classes, channels, seed)
    t["second"] = (t["first"] + t["second"]) % channels  # another channel (C > 1)
    rng = np.random.default_rng([seed, start // CHUNK])
    y = rng.integers(0, classes, size=count)
    lengths = rng.integers(max(length // 2, 1), length + 1, size=count)
    steps = np.arange(length)[None, :]  # (1, L)
    x = 0.8 * rng.standard_normal((count, channels, length))  # (n, C, L)
    phase = rng.random(count)[:, None] * 2 * np.pi
    wave = np.sin(2 * np.pi * t["freq"][y][:, None] * steps + phase)  # (n, L)
    rows = np.arange(count)[:, None]
    x[rows, t["band"][y], :] += wave[:, None, :]
    # two bumps at random times, in the class's order
    a = (rng.random(count) * 0.4 * lengths).astype(np.int64)
    b = a + ((0.2 + 0.3 * rng.random(count)) * lengths).astype(np.int64)
    at_first = np.where(t["order"][y] == 0, a, b)
    at_second = np.where(t["order"][y] == 0, b, a)
    for where, chan in ((at_first, t["first"][y]), (at_second, t["second"][y])):
        bump = 2.0 * np.exp(-0.5 * ((steps - where[:, None]) / 2.0) ** 2)  # (n, L)
        x[np.arange(count), chan, :] += bump
    drift = np.where(y % 2 == 0, 1.0, -1.0)[:, None] * steps / length  # (n, L)
    x += 0.5 * drift[:, None, :]
    g = rng.integers(0, max(groups, 1), size=count)
    if groups > 0:
        grng = np.random.default_rng([seed, 0x6A0])
        gain = np.exp(0.3 * grng.standard_normal((groups, channels)))
        offset = 0.5 * grng.standard_normal((groups, channels))
        x = x * gain[g][:, :, None] + offset[g][:, :, None]
    x *= (steps < lengths[:, None])[:, None, :]  # padding exactly 0
    return {"X": x, "lengths": lengths, "y": y, "groups": g}


def write_synthetic(out: Path, n: int, *, channels: int = 40, length: int = 100,
                    classes: int = 12, groups: int = 0, seed: int = 0,
                    dtype: str = "float32") -> None:
    """Write the data set of ``n`` rows into the folder ``out`` (which must not exist), through
    ``out.tmp`` renamed at the end, so a killed run never leaves a half-written folder."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    kind = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(kind), "fortran_order": False,
              "shape": (n, channels, length)}
    lengths = np.empty(n, dtype=np.int64)
    y = np.empty(n, dtype=np.int64)
    g = np.empty(n, dtype=np.int64)
    with open(tmp / "X.npy", "wb") as f:
        np.lib.format.write_array_header_2_0(f, header)
        for start in range(0, n, CHUNK):
            count = min(CHUNK, n - start)
            part = make_chunk(start, count, channels=channels, length=length, classes=classes,
                              groups=groups, seed=seed)
            f.write(part["X"].astype(kind).tobytes())
            lengths[start:start + count] = part["lengths"]
            y[start:start + count] = part["y"]
            g[start:start + count] = part["groups"]
    np.save(tmp / "lengths.npy", lengths)
    np.save(tmp / "y.npy", y)
    if groups > 0:
        np.save(tmp / "groups.npy", g)
    tmp.rename(out)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and write the folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, required=True, help="number of sequences")
    ap.add_argument("--channels", type=int, default=40)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--classes", type=int, default=12)
    ap.add_argument("--groups", type=int, default=0, help="subjects (0: no groups.npy)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", choices=["float32", "float16", "float64"], default="float32")
    ap.add_argument("--overwrite", action="store_true")
    args = ap.parse_args(argv)
    if args.n < 1 or args.channels < 1 or args.length < 2 or args.classes < 2:
        ap.error("--n, --channels >= 1, --length, --classes >= 2")
    if args.out.exists():
        if not args.overwrite:
            ap.error(f"{args.out} exists; give --overwrite to replace it")
        shutil.rmtree(args.out)
    write_synthetic(args.out, args.n, channels=args.channels, length=args.length,
                    classes=args.classes, groups=args.groups, seed=args.seed, dtype=args.dtype)
    print(f"wrote {args.n} sequences ({args.channels} x <= {args.length}, {args.classes} "
          f"classes) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
