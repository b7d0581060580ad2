"""``npy:<folder>`` data sets: read lazily, the same splits and values as the same arrays in an
npz file, and a one-line message for every malformed folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasx.cli import main
from nasx.data import iterate_batches, load_dataset
from nasx.data.lazy_sequences import LazySequenceSet
from nasx.errors import DataError


def _arrays(n: int = 60, channels: int = 3, length: int = 12, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(4, length + 1, size=n)
    x = rng.standard_normal((n, channels, length)) * np.array([1.0, 5.0, 0.2])[:, None] + 3.0
    x *= np.arange(length)[None, None, :] < lengths[:, None, None]
    y = np.array(["ab", "cd", "ef"])[np.arange(n) % 3]
    return {"X": x.astype(np.float32), "y": y, "lengths": lengths}


def _folder(tmp_path, name: str = "d", **arrays) -> str:
    folder = tmp_path / name
    folder.mkdir()
    for key, value in arrays.items():
        np.save(folder / f"{key}.npy", value, allow_pickle=value.dtype.hasobject)
    return str(folder)


def _error(path: str) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(f"npy:{path}", seed=0)
    return str(err.value)


@pytest.mark.parametrize("normalize", ["channel", "series", "none"])
def test_the_same_splits_and_batches_as_the_npz_file(tmp_path, normalize) -> None:
    arrays = _arrays()
    np.savez(tmp_path / "d.npz", **arrays)
    folder = _folder(tmp_path, **arrays)
    mem = load_dataset(f"npz:{tmp_path / 'd.npz'}", seed=1, normalize=normalize)
    lazy = load_dataset(f"npy:{folder}", seed=1, normalize=normalize)
    assert isinstance(lazy.train, LazySequenceSet)
    assert lazy.classes == mem.classes and lazy.normalization == normalize
    assert torch.allclose(lazy.mean, mem.mean, atol=1e-6)
    assert torch.allclose(lazy.std, mem.std, atol=1e-6)
    for split in ("train", "val", "test"):
        a, b = mem.split(split), lazy.split(split)
        assert a.lengths.equal(b.lengths) and a.y.equal(b.y)
        gen_a, gen_b = (torch.Generator().manual_seed(5) for _ in range(2))
        for ba, bb in zip(iterate_batches(a, 7, shuffle=True, generator=gen_a),
                          iterate_batches(b, 7, shuffle=True, generator=gen_b), strict=True):
            assert ba.x.shape == bb.x.shape and ba.y.equal(bb.y)
            assert torch.allclose(ba.x, bb.x, atol=1e-5)
            assert (bb.x[:, :, -1] == 0).all() or bb.lengths.max() == bb.x.shape[2]


def test_dataloader_workers_give_the_same_batches(tmp_path) -> None:
    lazy = load_dataset(f"npy:{_folder(tmp_path, **_arrays())}", seed=0)
    plain = list(iterate_batches(lazy.train, 8, shuffle=True,
                                 generator=torch.Generator().manual_seed(2)))
    workers = list(iterate_batches(lazy.train, 8, shuffle=True, workers=2,
                                   generator=torch.Generator().manual_seed(2)))
    assert len(plain) == len(workers) == -(-len(lazy.train) // 8)
    for a, b in zip(plain, workers, strict=True):
        assert a.x.equal(b.x) and a.lengths.equal(b.lengths) and a.y.equal(b.y)


def test_given_test_arrays_and_groups(tmp_path) -> None:
    arrays = _arrays()
    test = _arrays(n=9, seed=4)
    groups = np.arange(60) % 10
    folder = _folder(tmp_path, **arrays, groups=groups, X_test=test["X"], y_test=test["y"],
                     lengths_test=test["lengths"])
    ds = load_dataset(f"npy:{folder}", seed=0)
    assert len(ds.test) == 9 and ds.val_split == "group"
    assert ds.test.lengths.tolist() == test["lengths"].tolist()
    assert len(ds.train) + len(ds.val) == 60


def test_the_fingerprint_sees_a_changed_label_and_a_changed_value(tmp_path) -> None:
    arrays = _arrays()
    base = load_dataset(f"npy:{_folder(tmp_path, 'a', **arrays)}", seed=0).fingerprint
    y = arrays["y"].copy()
    y[0] = "cd"
    relabelled = load_dataset(f"npy:{_folder(tmp_path, 'b', **{**arrays, 'y': y})}",
                              seed=0).fingerprint
    x = arrays["X"].copy()
    x[5, 1, 2] += 1
    moved = load_dataset(f"npy:{_folder(tmp_path, 'c', **{**arrays, 'X': x})}",
                         seed=0).fingerprint
    assert relabelled["y"] != base["y"] and relabelled["X"] == base["X"]
    assert moved["X"] != base["X"] and moved["y"] == base["y"]
    assert len({base["all"], relabelled["all"], moved["all"]}) == 3


def test_malformed_folders_get_one_line_each(tmp_path) -> None:
    a = _arrays()
    folder = _folder(tmp_path, "no_y", X=a["X"])
    assert _error(folder) == (f"npy folder '{folder}': no y.npy (it has: X.npy); save the "
                              "features as X.npy and the labels as y.npy with numpy.save")
    folder = _folder(tmp_path, "extra", **a, labels=a["y"])
    assert _error(folder).endswith("unknown file labels.npy; the files are X.npy, y.npy, "
                                   "lengths.npy, groups.npy, X_test.npy, y_test.npy, "
                                   "lengths_test.npy (rename or move it)")
    folder = _folder(tmp_path, "obj", **{**a, "y": a["y"].astype(object)})
    assert _error(folder) == (f"'{folder}/y.npy' is an object array (needs pickle); write "
                              "y.npy again with numpy.save")
    folder = _folder(tmp_path, "cut", **a)
    with open(f"{folder}/X.npy", "r+b") as f:
        f.truncate(1000)
    assert "is truncated: its header says (60, 3, 12) (8768 bytes) but the file has 1000 " \
        "bytes; write X.npy again with numpy.save" in _error(folder)
    x = a["X"].copy()
    x[3, 0, 0] = np.nan
    folder = _folder(tmp_path, "nan", **{**a, "X": x})
    assert _error(folder).endswith("X.npy has 1 NaN/inf values inside the valid lengths; fill "
                                   "or drop them before saving")
    folder = _folder(tmp_path, "len", **{**a, "lengths": a["lengths"] + 5})
    assert "lengths.npy must be in 1..12 (the padded length of X.npy)" in _error(folder)
    folder = _folder(tmp_path, "2d", **{**a, "X": a["X"][:, 0]})
    assert "X.npy must be a numeric array of shape [N, C, L]" in _error(folder)
    folder = _folder(tmp_path, "pair", **a, X_test=a["X"][:3])
    assert _error(folder).endswith("it has X_test.npy but no y_test.npy; save both or neither")
    assert _error(str(tmp_path / "nowhere")).startswith(f"npy folder '{tmp_path}/nowhere' "
                                                        "not found")


def test_the_cli_says_it_in_one_line(tmp_path, capsys) -> None:
    folder = _folder(tmp_path, "no_y", X=_arrays()["X"])
    assert main(["data", "show", f"npy:{folder}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nasx: error: npy folder '{folder}': no y.npy (it has: X.npy); save the "
                   "features as X.npy and the labels as y.npy with numpy.save"]
