"""``npz:<path>`` datasets: round trips and every malformed-file message."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

from nasx.data import load_dataset
from nasx.errors import DataError


def _load_error(path, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        load_dataset(f"npz:{path}", **kwargs)
    return str(err.value)


def _balanced(n_per_class: int, classes: list, channels: int = 2, length: int = 5):
    n = n_per_class * len(classes)
    x = np.arange(n * channels * length, dtype=np.float64).reshape(n, channels, length)
    y = np.array([c for c in classes for _ in range(n_per_class)])
    return x, y


def test_round_trip_3d_with_test_arrays(write_npz):
    x, y = _balanced(5, [3, 7])
    x_test, y_test = x[:4] + 0.5, np.array([7, 3, 3, 7])
    path = write_npz(X=x, y=y, X_test=x_test, y_test=y_test)
    ds = load_dataset(f"npz:{path}", normalize=False, seed=0)
    assert ds.name == f"npz:{path}"
    assert ds.classes == ["3", "7"]
    assert (ds.channels, ds.max_length) == (2, 5)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (8, 2, 4)
    assert ds.val.y.tolist() == [0, 1]
    # the given test split comes back unchanged, in its order
    assert torch.equal(ds.test.x, torch.from_numpy(x_test.astype(np.float32)))
    assert ds.test.y.tolist() == [1, 0, 0, 1]
    assert ds.test.lengths.tolist() == [5, 5, 5, 5]
    # every training row is one of X's rows, with its own label
    rows = {tuple(r.ravel()): int(label) for r, label in zip(x.astype(np.float32), y, strict=True)}
    for split in (ds.train, ds.val):
        for r, label in zip(split.x.numpy(), split.y.tolist(), strict=True):
            assert ds.classes[label] == str(rows[tuple(r.ravel())])


def test_round_trip_padded_with_lengths_and_string_labels(write_npz):
    x, y = _balanced(10, ["dog", "cat"], channels=3, length=6)
    lengths = np.tile(np.array([6, 2, 3, 4, 5]), 4)
    x[:, :, 5][lengths < 6] = np.nan  # junk in the padding is ignored
    path = write_npz(X=x, y=y, lengths=lengths)
    ds = load_dataset(f"npz:{path}", normalize=False, seed=0)
    assert ds.classes == ["cat", "dog"]
    # test carved first: 2 of each class's 10; val: 2 of each class's remaining 8
    assert (len(ds.train), len(ds.val), len(ds.test)) == (12, 4, 4)
    assert torch.bincount(ds.test.y).tolist() == [2, 2]
    assert torch.bincount(ds.val.y).tolist() == [2, 2]
    total = sorted(torch.cat([ds.train.lengths, ds.val.lengths, ds.test.lengths]).tolist())
    assert total == sorted(lengths.tolist())
    for split in (ds.train, ds.val, ds.test):
        assert not torch.isnan(split.x).any()
        for row, n in zip(split.x, split.lengths.tolist(), strict=True):
            assert torch.equal(row[:, n:], torch.zeros(3, split.max_length - n))


def test_bytes_labels_become_str_class_names(write_npz):
    x, _ = _balanced(4, [0, 1])
    y = np.array([b"yes"] * 4 + [b"no"] * 4)
    ds = load_dataset(f"npz:{write_npz(X=x, y=y)}")
    assert ds.classes == ["no", "yes"]


def test_carved_test_split_depends_on_the_seed(write_npz):
    x, y = _balanced(10, [0, 1])
    path = write_npz(X=x, y=y)
    first = load_dataset(f"npz:{path}", seed=0, normalize=False).test.x
    again = load_dataset(f"npz:{path}", seed=0, normalize=False).test.x
    other = load_dataset(f"npz:{path}", seed=5, normalize=False).test.x
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_two_dimensional_x_is_one_channel(write_npz):
    x = np.arange(40, dtype=np.float32).reshape(8, 5)
    y = np.array([2, 10] * 4)
    ds = load_dataset(f"npz:{write_npz(X=x, y=y)}", normalize=False)
    assert ds.channels == 1
    assert ds.classes == ["2", "10"]  # numeric labels sort as numbers
    assert ds.train.x.shape[1:] == (1, 5)


def test_normalisation_uses_the_npz_train_part(write_npz):
    x, y = _balanced(10, [0, 1])
    ds = load_dataset(f"npz:{write_npz(X=x, y=y)}")
    flat = ds.train.x.double().permute(1, 0, 2).reshape(2, -1)
    torch.testing.assert_close(flat.mean(1), torch.zeros(2, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(flat.std(1, unbiased=False), torch.ones(2, dtype=torch.float64))


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    assert _load_error(path) == f"npz file '{path}' not found; check the path after 'npz:'"


def test_not_an_npz(tmp_path):
    text = tmp_path / "data.csv"
    text.write_text("1,2,3\n")
    npy = tmp_path / "data.npy"
    np.save(npy, np.zeros(3))
    for path in (text, npy):
        assert _load_error(path) == (
            f"'{path}' is not an npz file (a zip of .npy arrays); write it with numpy.savez"
        )


def test_member_that_is_not_npy(tmp_path):
    path = tmp_path / "data.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X.npy", b"not an array")
        z.writestr("y.npy", b"not an array")
    assert _load_error(path) == (
        f"npz file '{path}': X is not a .npy array; write the file with numpy.savez"
    )


def test_missing_x_or_y(write_npz):
    only_y = write_npz("a.npz", y=np.array([0, 1]))
    assert _load_error(only_y) == (
        f"npz file '{only_y}' has no 'X' array (it has: y); "
        "save the features as X and the labels as y"
    )
    only_x = write_npz("b.npz", X=np.zeros((2, 3)), labels=np.array([0, 1]))
    assert _load_error(only_x) == (
        f"npz file '{only_x}' has no 'y' array (it has: X, labels); "
        "save the features as X and the labels as y"
    )


def test_object_arrays_are_refused_without_unpickling(write_npz):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.zeros((2, 3)), np.zeros((2, 4))
    path = write_npz("x.npz", X=ragged, y=np.array([0, 1]))
    assert _load_error(path) == (
        f"npz file '{path}': X is an object array (needs pickle); "
        "save ragged data as padded X with a 'lengths' array"
    )
    labels = np.array(["a", 1], dtype=object)
    path = write_npz("y.npz", X=np.zeros((2, 3)), y=labels)
    assert _load_error(path) == (
        f"npz file '{path}': y is an object array (needs pickle); "
        "save labels as an int or str array"
    )


@pytest.mark.parametrize(
    ("x", "shape", "dtype"),
    [
        (np.zeros(5), "(5,)", "float64"),
        (np.zeros((2, 1, 3, 4)), "(2, 1, 3, 4)", "float64"),
        (np.array([["a", "b"], ["c", "d"]]), "(2, 2)", "<U1"),
        (np.zeros((2, 3), dtype=bool), "(2, 3)", "bool"),
    ],
)
def test_x_must_be_numeric_2d_or_3d(write_npz, x, shape, dtype):
    path = write_npz(X=x, y=np.array([0, 1]))
    assert _load_error(path) == (
        f"npz file '{path}': X must be a numeric array of shape [N, C, L] or [N, L], "
        f"got shape {shape} and dtype {dtype}"
    )


def test_x_must_not_be_empty(write_npz):
    path = write_npz(X=np.zeros((2, 3, 0)), y=np.array([0, 1]))
    assert _load_error(path) == (
        f"npz file '{path}': X has shape (2, 3, 0); it needs at least one sample and time step"
    )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(write_npz, bad):
    x, y = _balanced(4, [0, 1])
    x[3, 1, 2] = bad
    x[5, 0, 0] = bad
    path = write_npz(X=x, y=y)
    assert _load_error(path) == (
        f"npz file '{path}': X has 2 NaN/inf values inside the valid lengths; "
        "fill or drop them before saving"
    )


def test_label_count_must_match(write_npz):
    path = write_npz(X=np.zeros((4, 2, 3)), y=np.array([0, 1, 0]))
    assert _load_error(path) == (
        f"npz file '{path}': y has 3 labels but X has 4 samples; save one label per sample"
    )


def test_labels_must_be_1d_ints_or_strings(write_npz):
    path = write_npz(X=np.zeros((2, 3)), y=np.zeros((2, 2), dtype=np.int64))
    assert _load_error(path) == (
        f"npz file '{path}': y must be a 1-D array of ints or strings, "
        "got shape (2, 2) and dtype int64"
    )
    path = write_npz("nan.npz", X=np.zeros((2, 3)), y=np.array([0.0, np.nan]))
    assert (
        _load_error(path) == f"npz file '{path}': y has NaN/inf labels; give every sample a class"
    )


@pytest.mark.parametrize(
    ("lengths", "shape", "dtype"),
    [
        (np.array([3, 3, 3]), "(3,)", "int64"),
        (np.array([[3, 3, 3, 3]]), "(1, 4)", "int64"),
        (np.array([3.0, 3.0, 3.0, 3.0]), "(4,)", "float64"),
    ],
)
def test_lengths_shape_and_dtype(write_npz, lengths, shape, dtype):
    path = write_npz(X=np.ones((4, 1, 3)), y=np.array([0, 1, 0, 1]), lengths=lengths)
    assert _load_error(path) == (
        f"npz file '{path}': lengths must be an int array of shape (4,) (one per sample), "
        f"got shape {shape} and dtype {dtype}"
    )


@pytest.mark.parametrize(("lengths", "low", "high"), [([0, 1, 2, 3], 0, 3), ([1, 4, 2, 3], 1, 4)])
def test_lengths_range(write_npz, lengths, low, high):
    path = write_npz(X=np.ones((4, 1, 3)), y=np.array([0, 1, 0, 1]), lengths=np.array(lengths))
    assert _load_error(path) == (
        f"npz file '{path}': lengths must be in 1..3 (the padded length of X), "
        f"got min {low} and max {high}"
    )


def test_class_with_one_sample_cannot_be_stratified(write_npz):
    path = write_npz(X=np.ones((5, 1, 3)), y=np.array(["a", "a", "b", "b", "c"]))
    assert _load_error(path) == (
        f"npz file '{path}': class 'c' has 1 sample; each class needs at least 2 to carve a "
        "stratified test split (or save X_test and y_test)"
    )


def test_one_class_is_not_classification(write_npz):
    path = write_npz(X=np.ones((4, 1, 3)), y=np.array([5, 5, 5, 5]))
    assert _load_error(path) == (
        f"npz file '{path}': y has only 1 class ('5'); classification needs at least 2"
    )


def test_test_arrays_come_in_pairs(write_npz):
    x, y = _balanced(3, [0, 1])
    path = write_npz("a.npz", X=x, y=y, X_test=x)
    assert _load_error(path) == (
        f"npz file '{path}': it has X_test but no y_test; save both or neither"
    )
    path = write_npz("b.npz", X=x, y=y, y_test=y)
    assert _load_error(path) == (
        f"npz file '{path}': it has y_test but no X_test; save both or neither"
    )
    path = write_npz("c.npz", X=x, y=y, lengths_test=np.array([5] * 6))
    assert _load_error(path) == (
        f"npz file '{path}': it has lengths_test but no X_test; save X_test and y_test too"
    )


def test_test_arrays_are_checked_like_train(write_npz):
    x, y = _balanced(3, [0, 1])
    path = write_npz("a.npz", X=x, y=y, X_test=x[:, :1], y_test=y)
    assert _load_error(path) == (
        f"npz file '{path}': X_test has 1 channels but X has 2; save both with the same channels"
    )
    path = write_npz("b.npz", X=x, y=y, X_test=x, y_test=y[:5])
    assert _load_error(path) == (
        f"npz file '{path}': y_test has 5 labels but X_test has 6 samples; "
        "save one label per sample"
    )
    path = write_npz("c.npz", X=x, y=y, X_test=x, y_test=y, lengths_test=np.array([9] * 6))
    assert _load_error(path) == (
        f"npz file '{path}': lengths_test must be in 1..5 (the padded length of X_test), "
        "got min 9 and max 9"
    )


def test_test_class_must_occur_in_training(write_npz):
    x, y = _balanced(3, [0, 1])
    path = write_npz(X=x, y=y, X_test=x[:2], y_test=np.array([0, 2]))
    assert _load_error(path) == (
        f"dataset 'npz:{path}': test class '2' does not occur in the training data; "
        "every test class needs training samples"
    )
