"""Dataset names: the registry and how each name is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nasx.data.aeon_source import bundled_classification_names, load_bundled
from nasx.data.npz_source import load_npz
from nasx.data.raw import RawDataset
from nasx.errors import DataError

DEFAULT_DATASET = "japanese-vowels"


@dataclass(frozen=True)
class DatasetEntry:
    """One kind of dataset name, for ``nasx data list``."""

    pattern: str
    description: str


REGISTRY: tuple[DatasetEntry, ...] = (
    DatasetEntry(
        "japanese-vowels",
        "(default) UEA JapaneseVowels bundled with aeon: 12 channels, lengths 7..29, 9 classes, "
        "270 train / 370 test",
    ),
    DatasetEntry("ucr:<Name>", "a UCR/UEA classification dataset bundled with aeon (offline)"),
    DatasetEntry(
        "npz:<path>",
        "your own data: X [N, C, L] (or padded + lengths), y, optional X_test/y_test",
    ),
    DatasetEntry(
        "npy:<folder>",
        "your own data too large for memory: X.npy [N, C, L], y.npy, optional lengths.npy, "
        "groups.npy, X_test.npy/y_test.npy; read lazily, one batch at a time",
    ),
)

_ALIASES = {"japanese-vowels": "JapaneseVowels"}


def dataset_names() -> list[str]:
    """Every dataset name that loads offline: the aliases, then ``ucr:<Name>`` for each
    classification dataset aeon bundles (``npz:<path>`` takes any path and is not listed)."""
    return [*_ALIASES, *(f"ucr:{n}" for n in bundled_classification_names())]


def read_dataset(name: str, seed: int) -> RawDataset:
    """Read dataset ``name`` as numpy arrays (``seed`` only carves an npz test split)."""
    if name in _ALIASES:
        return load_bundled(_ALIASES[name], name)
    kind, sep, rest = name.partition(":")
    if sep and kind == "ucr":
        if not rest:
            raise DataError("dataset 'ucr:' needs a name, e.g. ucr:OSULeaf (see 'nasx data list')")
        return load_bundled(rest, name)
    if sep and kind == "npz":
        if not rest:
            raise DataError("dataset 'npz:' needs a path, e.g. npz:data/train.npz")
        return load_npz(Path(rest), name, seed)
    raise DataError(
        f"unknown dataset '{name}'; use japanese-vowels, ucr:<Name> (see 'nasx data list'), "
        "npz:<path> or npy:<folder>"
    )
