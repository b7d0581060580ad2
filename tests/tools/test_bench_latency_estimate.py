"""tools/bench_latency_estimate.py: the analytic latency against a real ``nasx profile`` file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tool_loader import load_tool

from nasx.cli import main
from nasx.predictors import CostModel, load_device
from nasx.search_spaces import load_space


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host-cpu measurement file of 4 random + the largest and smallest ``tiny`` subnets."""
    out = tmp_path_factory.mktemp("profile")
    assert main(["profile", "--space", "tiny", "--samples", "4", "--rounds", "1", "--warmup",
                 "0", "--repeats", "2", "--length", "16", "--runtime", "torch",
                 "--out", str(out)]) == 0
    return out / "latency-host-cpu-torch-data.jsonl"


def test_rows_match_the_analytic_model_and_the_file(capsys, measured: Path) -> None:
    tool = load_tool("bench_latency_estimate")
    assert tool.main(["--space", "tiny", "--data", str(measured), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    settings, genomes, stats = tool.read_measurements(measured)
    assert genomes.shape[0] == 6 and doc["device"] == "host-cpu"
    model = CostModel(load_space("tiny"), settings.channels, settings.classes,
                      length=16, device=load_device("host-cpu"))
    analytic = model.costs(genomes)["latency_s"]
    row = next(r for r in doc["rows"] if r["statistic"] == "min" and r["subset"] == "all")
    ape = np.abs(analytic / stats["min"] - 1.0) * 100.0
    assert row["n"] == 6
    assert row["mape"] == pytest.approx(ape.mean())
    assert row["median_ape"] == pytest.approx(np.median(ape))
    assert row["ratio_geomean"] == pytest.approx(np.exp(np.log(analytic / stats["min"]).mean()))
    assert row["analytic_ms"][0] == pytest.approx(1e3 * analytic.min())
    # every subnet's min is the smallest of its pooled timed calls, never above its median
    assert (stats["min"] <= stats["median"]).all() and (stats["min"] > 0).all()


def test_a_file_of_another_space_is_refused(capsys, measured: Path) -> None:
    tool = load_tool("bench_latency_estimate")
    assert tool.main(["--space", "hybrid-mcu", "--data", str(measured)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hybrid-mcu: not the space {measured} was measured on (tiny, ")


def test_a_file_that_is_not_a_latency_dataset_is_refused(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "latency-host-cpu-data.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    tool = load_tool("bench_latency_estimate")
    assert tool.main(["--space", "tiny", "--data", str(bad)]) == 2
    assert capsys.readouterr().err == (f"{bad}: not a nasx latency dataset (version 1); move it "
                                       "away or pick another folder\n")
    assert tool.main(["--space", "tiny", "--data", str(tmp_path / "none.jsonl")]) == 2
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'none.jsonl'}: cannot read the "
                                              "latency dataset (No such file or directory)")
