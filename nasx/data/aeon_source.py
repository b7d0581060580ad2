"""UCR/UEA classification datasets bundled inside the aeon wheel (read offline only).

aeon's ``load_classification`` downloads from Zenodo when it cannot find a dataset
locally. nasx never lets it: a name is loaded only after its ``<Name>_TRAIN.ts`` and
``<Name>_TEST.ts`` files were found under aeon's ``datasets/data/<Name>/`` folder, and
that folder is passed as ``extract_path`` so aeon looks nowhere else.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from nasx.data.raw import RawDataset, RawSplit, split_from_padded, split_from_ragged
from nasx.errors import DataError


@functools.cache
def bundled_data_root() -> Path:
    """The folder of datasets shipped inside the installed aeon package."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or spec.origin is None:
        raise DataError("aeon is not installed; install it with 'pip install aeon'")
    return Path(spec.origin).parent / "datasets" / "data"


def _is_classification(train_file: Path) -> bool:
    """True when a ``.ts`` header declares class labels (``@classLabel true``)."""
    with train_file.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.strip().lower().split()
            if words[:1] == ["@data"]:
                return False
            if words[:2] == ["@classlabel", "true"]:
                return True
    return False


@functools.cache
def bundled_classification_names() -> tuple[str, ...]:
    """Names of the classification datasets aeon bundles, sorted (found on disk, offline)."""
    root = bundled_data_root()
    if not root.is_dir():
        return ()
    names = []
    for folder in sorted(root.iterdir()):
        train = folder / f"{folder.name}_TRAIN.ts"
        test = folder / f"{folder.name}_TEST.ts"
        if train.is_file() and test.is_file() and _is_classification(train):
            names.append(folder.name)
    return tuple(names)


def _read_split(name: str, split: str) -> RawSplit:
    from aeon.datasets import load_classification  # slow import, only when needed

    try:
        x, y = load_classification(name, split=split, extract_path=str(bundled_data_root()))
    except (OSError, ValueError) as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"aeon could not read bundled dataset '{name}' ({detail})") from None
    if isinstance(x, np.ndarray):
        raw = split_from_padded(x, y)  # (N, C, L)
    else:
        raw = split_from_ragged(x, y)  # list of (C, L_i)
    for array in (raw.x, raw.lengths, raw.labels):
        array.setflags(write=False)  # shared through the cache
    return raw


@functools.cache
def load_bundled(name: str, display_name: str) -> RawDataset:
    """Read the train and test splits of bundled dataset ``name`` (cached per process).

    The arrays are read-only: they are shared by every caller.
    """
    if name not in bundled_classification_names():
        bundled = bundled_classification_names()
        hint = next((b for b in bundled if b.lower() == name.lower()), None)
        if hint is not None:
            raise DataError(
                f"dataset 'ucr:{name}' is not bundled with aeon; did you mean 'ucr:{hint}'?"
            )
        raise DataError(
            f"dataset 'ucr:{name}' is not bundled with aeon and nasx does not download "
            f"(bundled: {', '.join(bundled)}); for other data save an npz file and use "
            "'npz:<path>'"
        )
    return RawDataset(
        name=display_name, train=_read_split(name, "train"), test=_read_split(name, "test")
    )
