"""The accuracy dataset keeps what its records were measured with and refuses to mix: other
weights, calibration or split are one-line errors that leave the records untouched."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from nasx.cli import main
from nasx.errors import NasxError
from nasx.predictors.accuracy import data as ad
from nasx.predictors.accuracy.stamp import (
    FORMAT,
    evaluation_settings,
    settings_path,
    weights_digest,
)
from nasx.runs.trained import TrainedRun
from nasx.train.evaluate import calibration_batches, evaluate_subnets


def _with(run: TrainedRun, **train: object) -> TrainedRun:
    cfg = dataclasses.replace(run.cfg, train=dataclasses.replace(run.cfg.train, **train))
    return dataclasses.replace(run, cfg=cfg)


def test_the_settings_are_written_with_the_first_records_then_checked(run: TrainedRun) -> None:
    archs = ad.sample_archs(run.space, 3, seed=0, stream=ad.TRAIN_STREAM)
    ad.build_records(run, archs[:2], progress=False)
    path = settings_path(ad.data_path(run.run_dir))
    saved = json.loads(path.read_text())
    assert saved == {"format": FORMAT, "weights_sha256": weights_digest(run.net),
                     "weights_from": "supernet.safetensors", "dataset": "japanese-vowels",
                     "data_sha256": run.splits.fingerprint["all"], "val_fraction": 0.2,
                     "normalize": "channel", "seed": 0, "calib_batches": 1,
                     "calib_batch_size": 16}
    assert re.fullmatch(r"[0-9a-f]{64}", saved["weights_sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", saved["data_sha256"])
    assert len(ad.build_records(run, archs, progress=False)) == 3  # same settings: extends
    # the weights source is only informative: the same weights from elsewhere still match
    assert ad.build_records(dataclasses.replace(run, weights="checkpoints/last.pt (epoch 3)"),
                            archs, progress=False)


def test_other_calibration_is_refused_and_the_records_stay(run: TrainedRun) -> None:
    archs = ad.sample_archs(run.space, 2, seed=0, stream=ad.TRAIN_STREAM)
    ad.build_records(run, archs[:1], progress=False)
    data = ad.data_path(run.run_dir)
    before = data.read_bytes()
    with pytest.raises(NasxError) as err:
        ad.build_records(_with(run, calib_batches=0), archs, progress=False)
    assert str(err.value) == (
        f"{data} was measured with other settings than the run has now (calib_batches 1 -> 0; "
        "calib_batch_size 16 -> None); move it and accuracy-data.settings.json away to "
        "evaluate the subnets again, or restore the earlier settings")
    assert data.read_bytes() == before
    # with the whole split as one batch the batch size plays no part, so it is not compared
    shutil.move(data, data.with_suffix(".old"))
    settings_path(data).unlink()
    whole = _with(run, calib_batches=0)
    ad.build_records(whole, archs[:1], progress=False)
    bigger = dataclasses.replace(whole, cfg=dataclasses.replace(
        whole.cfg, data=dataclasses.replace(whole.cfg.data, batch_size=64)))
    assert len(ad.build_records(bigger, archs, progress=False)) == 2


def test_other_weights_are_refused(run: TrainedRun) -> None:
    archs = ad.sample_archs(run.space, 2, seed=0, stream=ad.TRAIN_STREAM)
    ad.build_records(run, archs[:1], progress=False)
    net = copy.deepcopy(run.net)
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] += 1e-3  # trained a little further
    old, new = weights_digest(run.net), weights_digest(net)
    assert old != new
    with pytest.raises(NasxError) as err:
        ad.evaluate_archs(dataclasses.replace(run, net=net), archs, progress=False)
    assert str(err.value).startswith(
        f"{ad.data_path(run.run_dir)} was measured with other settings than the run has now "
        f"(weights_sha256 {old[:12]} -> {new[:12]}); move it")


def test_the_digest_is_stable_across_evaluations(run: TrainedRun) -> None:
    before = weights_digest(run.net)
    calib = calibration_batches(run.splits.train, 16, 1, 0, "cpu")
    archs = ad.sample_archs(run.space, 2, seed=3, stream=ad.TRAIN_STREAM)
    evaluate_subnets(run.net, [(str(k), a) for k, a in enumerate(archs)], run.splits.val, calib)
    assert weights_digest(run.net) == before  # BatchNorm recalibration is undone


def test_a_file_from_before_is_adopted_and_a_damaged_settings_file_is_named(
        run: TrainedRun) -> None:
    archs = ad.sample_archs(run.space, 2, seed=0, stream=ad.TRAIN_STREAM)
    ad.build_records(run, archs[:1], progress=False)
    data = ad.data_path(run.run_dir)
    stamp = settings_path(data)
    stamp.unlink()  # a dataset written before the settings file existed
    assert len(ad.build_records(run, archs, progress=False)) == 2
    assert json.loads(stamp.read_text()) == evaluation_settings(run)
    stamp.write_text("{")
    with pytest.raises(NasxError, match=re.escape(f"{stamp}: not readable as evaluation "
                                                  "settings (") +
                       r".*\); delete it to accept the records in accuracy-data\.jsonl as "
                       r"measured with the run's current settings$"):
        ad.build_records(run, archs, progress=False)


def test_the_cli_exits_2_with_one_line_when_the_config_changed(
        tiny_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_dir = tmp_path / "run"
    shutil.copytree(tiny_run, copy_dir)
    fit = ["predictor", "fit", "--run", str(copy_dir), "--samples", "10", "--holdout", "10"]
    assert main(fit) == 0
    data = ad.data_path(copy_dir)
    before = data.read_bytes()
    config = copy_dir / "config.yaml"
    text = config.read_text()
    assert "calib_batches: 1\n" in text
    config.write_text(text.replace("calib_batches: 1\n", "calib_batches: 2\n"))
    capsys.readouterr()
    assert main([*fit[:-4], "--samples", "20", "--holdout", "10"]) == 2
    err = capsys.readouterr().err
    assert err == (f"nasx: error: {data} was measured with other settings than the run has "
                   "now (calib_batches 1 -> 2); move it and accuracy-data.settings.json away "
                   "to evaluate the subnets again, or restore the earlier settings\n")
    assert data.read_bytes() == before
