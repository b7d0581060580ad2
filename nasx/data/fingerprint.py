"""The fingerprint of a data set: SHA-256 digests of its arrays as loaded, before
normalisation.

A run records its data set's fingerprint when it is trained (``data.json``) and the files
measured on the data record it too, so that a later command on data that changed since (a file
rewritten with shifted labels, flipped channels, other samples) stops with one line naming
what changed instead of mixing results of two data sets.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from nasx.data.raw import RawDataset, RawSplit

# The arrays a fingerprint covers, and how a message names each.
ARRAY_NAMES = {"X": "the training features (X)", "y": "the training labels (y)",
               "lengths": "the training lengths", "X_test": "the test features (X_test)",
               "y_test": "the test labels (y_test)", "lengths_test": "the test lengths",
               "groups": "the training groups (groups)"}
OPTIONAL_ARRAYS = ("groups",)  # digested only when the data has them


def _array_digest(values: np.ndarray) -> str:
    """SHA-256 (hex) of an array's dtype, shape and bytes (C order)."""
    digest = hashlib.sha256(f"{values.dtype.str}|{values.shape}|".encode())
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def labels_digest(labels: np.ndarray) -> str:
    """SHA-256 (hex) of the class names, as a JSON list."""
    return hashlib.sha256(json.dumps([str(v) for v in labels.tolist()]).encode()).hexdigest()


def _split_digests(split: RawSplit, suffix: str) -> dict[str, str]:
    return {f"X{suffix}": _array_digest(split.x), f"y{suffix}": labels_digest(split.labels),
            f"lengths{suffix}": _array_digest(split.lengths)}


def data_fingerprint(raw: RawDataset) -> dict[str, str]:
    """Per array of ``raw`` (see :data:`ARRAY_NAMES`), the SHA-256 of its values, and under
    ``"all"`` one digest of them together."""
    parts = {**_split_digests(raw.train, ""), **_split_digests(raw.test, "_test")}
    if raw.train.groups is not None:  # they decide the validation split
        parts["groups"] = labels_digest(raw.train.groups)
    joined = "|".join(f"{k}={parts[k]}" for k in ARRAY_NAMES if k in parts)
    return {**parts, "all": hashlib.sha256(joined.encode()).hexdigest()}


def fingerprint_changes(saved: dict[str, str], now: dict[str, str]) -> list[str]:
    """How the arrays of ``now`` differ from ``saved`` (descriptions, in
    :data:`ARRAY_NAMES` order; empty when they are the same)."""
    changed = [ARRAY_NAMES[k] for k in ARRAY_NAMES if saved.get(k) != now.get(k)]
    if not changed and saved.get("all") != now.get("all"):
        changed = ["the arrays"]
    return changed
